/*
 * Webhooks: audit events POSTed as JSON to the [[webhooks]] targets.
 *
 * Producers (event-loop threads) hand over a finished audit line; the
 * only work they do is an exact-match filter on the event type and a
 * copy into a bounded queue (full: the oldest job is dropped and
 * counted), so a slow or dead receiver never blocks a worker. One
 * dedicated thread renders the bodies, signs them, and delivers them with
 * the libcurl multi interface: timeouts, no redirects, retries with
 * exponential backoff, and a connect-time check that refuses private,
 * loopback and reserved addresses (unless the target allows them), which
 * also catches names that resolve, or re-resolve, to such addresses.
 */
#ifndef SKS5_OBS_WEBHOOK_H
#define SKS5_OBS_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* Default bound of the job queue. */
#define WEBHOOK_QUEUE_MAX	1024
/* Deliveries waiting (in flight or for their next retry) at most. */
#define WEBHOOK_PENDING_MAX	1024
/* Requests in flight at once. */
#define WEBHOOK_INFLIGHT_MAX	16
#define WEBHOOK_CONNECT_TIMEOUT_MS	5000
#define WEBHOOK_TOTAL_TIMEOUT_MS	10000
/* "sha256=" + 64 hex digits + NUL. */
#define WEBHOOK_SIG_LEN		72

/* Body formats (the order of config's enum cfg_whfmt). */
enum webhook_format {
	WEBHOOK_GENERIC = 0, WEBHOOK_SLACK, WEBHOOK_DISCORD, WEBHOOK_CUSTOM,
};

/* One [[webhooks]] entry, borrowed by webhooks_new() (which copies). */
struct webhook_target {
	const char	 *url;
	char *const	 *events;	/* canonical names; none: all */
	size_t		  nevents;
	const char	 *secret;	/* NULL: unsigned */
	int		  format;	/* enum webhook_format */
	const char	 *tpl;		/* WEBHOOK_CUSTOM */
	int		  allow_private;
	uint32_t	  max_retries;
	uint64_t	  retry_delay_ms;
	uint64_t	  max_retry_delay_ms;
};

/*
 * The connect-time destination check: 1 when a delivery may connect to
 * sa, else 0 with the refused range in reason. The management plane
 * passes ip_guard's classifier.
 */
typedef int	(*webhook_guard_fn)(const struct sockaddr *sa, char *reason,
	    size_t rlen);

struct webhooks;

struct webhook_stats {
	uint64_t	queued;		/* jobs accepted */
	uint64_t	dropped;	/* jobs or deliveries dropped: full */
	uint64_t	delivered;	/* 2xx answers */
	uint64_t	retried;	/* attempts after a failure */
	uint64_t	failed;		/* gave up after the last retry */
	uint64_t	blocked;	/* refused: private destination */
};

/*
 * A dispatcher for n targets (copied). queue_max bounds the job queue.
 * guard checks every address of targets without allow_private (NULL:
 * such targets are never connected to). Nothing is sent before
 * webhooks_start().
 */
struct webhooks *webhooks_new(const struct webhook_target *targets,
	    size_t n, size_t queue_max, webhook_guard_fn guard);
/*
 * Adds a target that only webhooks_put_direct() addresses (an alert
 * rule's webhook_url): generic body, no secret, private addresses
 * refused, 3 retries from 1 s to 30 s. Before start only. Returns its id.
 */
int	webhooks_add_direct(struct webhooks *w, const char *url);
/* Starts the delivery thread. 0, or ERR_* (logged). */
int	webhooks_start(struct webhooks *w);
/* Stops the thread (what is still queued or in flight is lost), frees.
 * NULL is a no-op. */
void	webhooks_free(struct webhooks *w);

/*
 * Queues the audit line (a JSON object, copied) of event type for every
 * target whose event list is empty or holds type. Never blocks.
 */
void	webhooks_put(struct webhooks *w, const char *type, const char *line);
/* Queues line for the direct target id only. */
void	webhooks_put_direct(struct webhooks *w, int id, const char *line);

void	webhooks_stats(struct webhooks *w, struct webhook_stats *out);
/* Jobs waiting in the queue, and the line of the i-th oldest (tests;
 * only meaningful before start). */
size_t	webhooks_queued(struct webhooks *w);
const char *webhooks_queued_line(struct webhooks *w, size_t i);

/* ---- pure helpers (unit-tested) ---- */

/*
 * Renders the body for format (enum webhook_format) from an audit line;
 * tpl is the custom template. Returns a malloc'd NUL-terminated string
 * (length in *len when len is not NULL), or NULL when line is no JSON
 * object.
 */
char	*webhook_render(int format, const char *tpl, const char *line,
	    size_t *len);
/* The one-line English summary of an audit event (malloc'd). */
char	*webhook_summary(const char *line);
/* "sha256=" and the lowercase hex HMAC-SHA256 of msg under secret. */
void	webhook_sign(const char *secret, const void *msg, size_t len,
	    char out[WEBHOOK_SIG_LEN]);
/* Delay before retry k (0 = the first retry): min(base * 2^k, cap). */
uint64_t webhook_backoff_ms(uint64_t base, uint64_t cap, unsigned k);
/* "scheme://host:port" of url, without path, query or credentials (what
 * logs show: paths of chat webhooks are secrets). */
void	webhook_url_origin(const char *url, char *out, size_t len);

#endif /* SKS5_OBS_WEBHOOK_H */

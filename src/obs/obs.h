/*
 * Observability: the JSON-lines audit log and the metrics registry.
 *
 * Both are fed from the event bus (policy/events.h) on data-plane threads,
 * so nothing here may block: the audit log hands finished lines to its
 * own writer thread through a bounded queue (a full queue drops the line
 * and counts it), and the metrics registry is a set of atomics plus a
 * small mutex-guarded label table.
 */
#ifndef SKS5_OBS_H
#define SKS5_OBS_H

#include <stddef.h>
#include <stdint.h>

/* ---- audit log ---- */

struct audit;

/* Default bound of the line queue. */
#define AUDIT_QUEUE_MAX	10000

/*
 * Opens (creating the parent directory and the file, mode 0600) path for
 * appending and starts the writer thread. max_bytes 0 never rotates;
 * otherwise, once the file reaches max_bytes, path.N-1 -> path.N ... path
 * -> path.1 and a new path is opened, keeping max_files generations
 * (0: the full file is just truncated). queue_max bounds the lines
 * waiting. NULL (logged) when the file cannot be opened.
 */
struct audit *audit_new(const char *path, uint64_t max_bytes,
	    unsigned max_files, size_t queue_max);
/* Writes what is queued, stops the thread, frees. NULL is a no-op. */
void	audit_free(struct audit *a);

/* Queues one complete JSON object (no newline), taking ownership of line.
 * Never blocks. 0, or ERR_AGAIN when the queue is full (line freed). */
int	audit_put_take(struct audit *a, char *line);
/* Lines dropped because the queue was full. */
uint64_t audit_dropped(const struct audit *a);
/* Lines written so far (tests). */
uint64_t audit_written(const struct audit *a);

/*
 * Building one event: _new sets event_type and timestamp; the setters add
 * members in order (NULL string values are left out; text that is not
 * valid UTF-8 has its non-ASCII bytes replaced by '?'); audit_put_ev
 * serialises, queues (as audit_put_take) and frees the event.
 */
struct audit_ev;

struct audit_ev *audit_ev_new(const char *type);
void	audit_ev_str(struct audit_ev *e, const char *key, const char *val);
void	audit_ev_int(struct audit_ev *e, const char *key, int64_t val);
void	audit_ev_bool(struct audit_ev *e, const char *key, int val);
/* Adds "source_ip": the address of an "ip:port" source. */
void	audit_ev_source(struct audit_ev *e, const char *source);
int	audit_put_ev(struct audit *a, struct audit_ev *e);
/* Frees an event without queueing it. NULL is a no-op. */
void	audit_ev_free(struct audit_ev *e);
/* The event's event_type. */
const char *audit_ev_type(const struct audit_ev *e);
/* The event as one compact JSON line (malloc'd; NULL on OOM); _dump also
 * frees the event. */
char	*audit_ev_line(const struct audit_ev *e);
char	*audit_ev_dump(struct audit_ev *e);

/*
 * Formats an RFC 3339 UTC timestamp with nanoseconds of the realtime
 * clock into out (at least 40 bytes).
 */
void	obs_timestamp(char *out, size_t len);
/* Splits "ip:port" or "[v6]:port" into the address without brackets. */
void	obs_source_ip(const char *source, char *out, size_t len);

/* ---- metrics registry ---- */

struct metrics;
struct mbuf;

/* Labels kept verbatim before further user names fold into "_other". */
struct metrics *metrics_new(uint32_t max_user_labels);
void	metrics_free(struct metrics *m);

/* A proxied stream connected to its target. */
void	metrics_stream_started(struct metrics *m);
/* A stream ended after duration_ms (user: an authenticated name). */
void	metrics_stream_ended(struct metrics *m, const char *user,
	    uint64_t duration_ms);
/* A stream request was refused with a SOCKS5-style reply code. */
void	metrics_stream_refused(struct metrics *m, int code, const char *why);
/* An authentication verdict; the user label is kept for successes only. */
void	metrics_auth(struct metrics *m, int success, const char *user,
	    const char *method);
/* Where audit drops are read from at render time (may be NULL). */
void	metrics_set_audit(struct metrics *m, const struct audit *a);

/*
 * Returns the label for user name: the name itself while the label table
 * has room (or already holds it), else "_other" (and the capped counter
 * grows). The pointer stays valid as long as m.
 */
const char *metrics_user_label(struct metrics *m, const char *name);
/* The same without counting a fold (rendering live gauges). */
const char *metrics_user_label_peek(struct metrics *m, const char *name);

/* Appends the registry's families in the Prometheus text format. */
void	metrics_render(struct metrics *m, struct mbuf *out);

/* A growable text buffer for rendering (aborts on OOM). */
struct mbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void	mbuf_init(struct mbuf *b);
void	mbuf_cleanup(struct mbuf *b);
void	mbuf_printf(struct mbuf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends s as a Prometheus label value (escapes \ " and newline). */
void	mbuf_label(struct mbuf *b, const char *s);

#endif /* SKS5_OBS_H */

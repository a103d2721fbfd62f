/* Internals shared by the files of src/admin. */
#ifndef SKS5_ADMIN_INT_H
#define SKS5_ADMIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admin/admin.h"

struct alert_fire;
struct alerting;
struct admin_event;
struct audit;
struct audit_ev;
struct auth_event;
struct sockaddr;
struct stream_event;
struct webhooks;

/*
 * Where audit events go: the audit file and the webhook dispatcher (each
 * may be NULL), and the alert engine fed by the same bus.
 */
struct admin_sink {
	struct audit	*audit;
	struct webhooks	*wh;
	struct alerting	*alerts;
	int		*alert_hook;	/* per rule: direct webhook id or -1 */
	size_t		 nrules;
};

/* Serialises e once and hands the line to the audit file and to the
 * webhooks whose filter takes its type; frees e. Never blocks. */
void	admin__emit(struct admin_sink *s, struct audit_ev *e);

/* Event-bus subscribers (hooks.c). The audit and alert ones take the
 * struct admin_sink, the metrics ones the struct metrics. */
void	admin__audit_stream(const struct stream_event *ev, void *arg);
void	admin__audit_auth(const struct auth_event *ev, void *arg);
void	admin__alert_stream(const struct stream_event *ev, void *arg);
void	admin__alert_auth(const struct auth_event *ev, void *arg);
void	admin__audit_admin(const struct admin_event *ev, void *arg);
void	admin__metrics_stream(const struct stream_event *ev, void *arg);
void	admin__metrics_auth(const struct auth_event *ev, void *arg);
/* Emits an alert.triggered event (audit, webhooks, the rule's own URL)
 * and logs it. */
void	admin__alert_fired(struct admin_sink *s, const struct alert_fire *f);
/* The webhooks' connect-time check: ip_guard's classifier (1 allowed). */
int	admin__webhook_guard(const struct sockaddr *sa, char *reason,
	    size_t rlen);
/* Appends a config.reload event; a sink with no output is a no-op. */
void	admin__audit_reload(struct admin_sink *s, int success, size_t users,
	    const char *error);

/* Operator actions (ops.c), logged and sent to the admin hook with via
 * "api" or "ws". unban: 0, ERR_INVAL (not an address) or ERR_NOTFOUND
 * (not blocked). kick: 0 with *n the SSH connections marked, or
 * ERR_NOTFOUND for an unknown user; message (at most ADMIN_KICK_MSG_MAX
 * bytes, or NULL) goes to the log and the audit event. quota_reset: 0
 * or ERR_NOTFOUND. */
int	admin__unban(const struct admin_env *env, const char *addr,
	    const char *via);
#define ADMIN_KICK_MSG_MAX	256	/* bytes of a kick's message */
int	admin__kick(const struct admin_env *env, const char *user,
	    const char *via, const char *message, size_t *n);
int	admin__quota_reset(const struct admin_env *env, const char *user,
	    const char *via);

/* ---- data builders shared by the REST API and the live feed (data.c) */

struct policy_snap;
struct policy_user;
struct policy_state;

/* One banned address. */
struct admin_ban {
	char	 ip[48];
	int64_t	 until_ms;	/* wall clock */
};

/* The bans in force at now_ms (array owned by the caller, *n entries),
 * sorted by address text. */
struct admin_ban *admin__bans(struct policy_state *st, int64_t now_ms,
	    size_t *n);
/* [{ip, remaining_secs, expires_at}] (remaining_secs only when remain). */
json_t	*admin__bans_json(const struct admin_ban *b, size_t n, int64_t now_ms,
	    int remain);
/* QuotaSummary of one user (usage and limits), or its compact form. */
json_t	*admin__quota_json(const struct policy_user *u, int64_t now_ms,
	    int compact);
/* GroupStats of every configured group, sorted by name; members lists
 * only when members. */
json_t	*admin__groups_json(struct policy_snap *s, int64_t now_ms,
	    int members);
/* GroupStats of one group, or NULL when there is none of that name. */
json_t	*admin__group_json(struct policy_snap *s, const char *name,
	    int64_t now_ms);
/* RFC 3339 UTC text of a wall-clock time in ms (seconds precision). */
void	admin__rfc3339(int64_t ms, char *out, size_t len);
/* A JSON string of untrusted text (invalid UTF-8 bytes become '?'). */
json_t	*admin__jstr(const char *s);
/* The OpenSSH client block for user and host, or NULL with err set
 * when an input is unsafe. Caller frees. */
char	*admin__ssh_config(const char *ssh_listen, const char *user,
	    const char *host, const char **err);

/* ---- live feed (live.c) */

/* A message queued to live clients (reference-counted, immutable). */
enum live_kind {
	LIVE_SNAPSHOT = 0,	/* the state snapshot */
	LIVE_EVENT,		/* one audit event, with an id */
	LIVE_PING,		/* heartbeat */
	LIVE_REPLY,		/* a WebSocket command reply */
};

struct live_msg {
	int		 refs;		/* atomic */
	enum live_kind	 kind;
	uint64_t	 id;		/* LIVE_EVENT: sequence number */
	size_t		 len;
	char		 text[];	/* JSON, NUL-terminated */
};

/* Concurrent SSE + WebSocket streams, messages and bytes a client may
 * have waiting, and the heartbeat and snapshot periods. */
#define LIVE_STREAMS_MAX	8
#define LIVE_QUEUE_MAX		512
#define LIVE_QUEUE_BYTES	(1024 * 1024)
#define LIVE_RING		100
#define LIVE_BACKLOG		50
#define LIVE_TICK_MS		2000
#define LIVE_SNAPSHOT_MAX_MS	30000
#define LIVE_PING_MS		10000
#define LIVE_SESSIONS_MAX	4096

struct live_client;

/* Wakes a client whose queue got a message. SSE: called without the
 * hub's lock; WS: called with it (must not block). */
typedef void	(*live_wake_fn)(void *arg);

struct admin_live *admin__live_new(const struct admin_env *env);
/* Starts the snapshot thread; 0 or ERR_IO. */
int	admin__live_start(struct admin_live *l);
/* Ends every stream (queued wake-ups run, pops report the end), waits
 * for the WebSocket threads and the snapshot thread. */
void	admin__live_stop(struct admin_live *l);
void	admin__live_free(struct admin_live *l);

/* 1 while another stream may join. */
int	admin__live_room(struct admin_live *l);
/* Joins a stream: queues the latest snapshot and the recent events.
 * NULL when LIVE_STREAMS_MAX streams are open or the feed stops. ws
 * selects which wake convention applies. */
struct live_client *admin__live_join(struct admin_live *l, int ws,
	    live_wake_fn wake, void *arg);
void	admin__live_leave(struct admin_live *l, struct live_client *c);
/*
 * The next message for c (caller drops it with admin__live_unref), or
 * NULL: then *end is 1 when the stream must end (overflow or stop), else
 * the queue is empty and, when park is not NULL, park(arg) was called
 * under the lock and the client will be woken by its wake function.
 */
struct live_msg *admin__live_pop(struct admin_live *l, struct live_client *c,
	    int *end, void (*park)(void *), void *park_arg);
void	admin__live_unref(struct live_msg *m);
/* 1 when c was dropped for a full queue (not for a stop). */
int	admin__live_overflowed(struct admin_live *l, struct live_client *c);
/* Queues a reply to one client only. */
void	admin__live_reply(struct admin_live *l, struct live_client *c,
	    const char *json);
/* WebSocket threads: counted so that stop can wait for them. */
void	admin__live_thread_begin(struct admin_live *l);
void	admin__live_thread_end(struct admin_live *l);

/* Publishes an event object (consumed) to the live feed (NULL l: only
 * frees it). */
void	admin__publish(struct admin_live *l, json_t *ev);
/* maintenance.toggled to the sink (audit file, webhooks; NULL: none) and
 * the live feed. */
void	admin__maint_event(struct admin_live *l, struct admin_sink *s,
	    int enabled, const char *source);
/* A new event object with event_type and timestamp. */
json_t	*admin__event_new(const char *type);
/* Sessions (proxied streams now) as [Session]; user NULL: all. */
json_t	*admin__sessions_json(struct admin_live *l, const char *user,
	    int64_t now_ms, int with_duration);
/* Event-bus subscribers feeding the live feed (arg: struct admin_live). */
void	admin__live_stream(const struct stream_event *ev, void *arg);
void	admin__live_auth(const struct auth_event *ev, void *arg);
/* Sets the manual maintenance flag (WebSocket) or flips it (REST, the
 * signal); records maintenance.toggled when it changed. Returns the
 * flag now. enable < 0 flips. */
int	admin__maintenance(const struct admin_env *env, int enable,
	    const char *source);

/* ---- streams on libmicrohttpd (stream.c) */

struct MHD_Connection;

/* Start an SSE stream or a WebSocket handshake on conn (authenticated
 * already). 1: queued; 0: MHD failure (drop the connection); -1: err is
 * filled with a JSON error to send instead (status and body). */
int	admin__http_sse(struct MHD_Connection *conn, struct admin_live *l,
	    struct admin_resp *err);
int	admin__http_ws(struct MHD_Connection *conn,
	    const struct admin_env *env, struct admin_resp *err);

/* ---- dashboard (dash.c) */

/* The assets (dash_assets.c, generated by scripts/gen-dashboard.py). */
extern const char admin__dash_html[];
extern const char admin__dash_css[];
extern const char admin__dash_js[];

/* The page and its Content-Security-Policy (static, built once). */
const char *admin__dash_page(size_t *len);
const char *admin__dash_csp(void);

#endif /* SKS5_ADMIN_INT_H */

/*
 * The management plane's HTTP side: the Prometheus /metrics listener and
 * the REST API, each a libmicrohttpd daemon with its own internal thread,
 * apart from the data plane. They read policy snapshots and atomics and
 * never touch a connection.
 */
#ifndef SKS5_ADMIN_H
#define SKS5_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct admin_live;
struct admin_sink;
struct metrics;
struct mbuf;
struct webhooks;
struct policy_holder;
struct policy_state;
struct ticket_store;

/* Reloads the configuration (the SIGHUP path). 0 with *users set, or a
 * negative ERR_* with a message for a person in err. */
typedef int	(*admin_reload_fn)(void *arg, size_t *users, char *err,
	    size_t errlen);

/* Kicks a user's SSH connections (sshd_kick()); the count marked. */
typedef size_t	(*admin_kick_fn)(void *arg, const char *user);

/* What the handlers read; everything is borrowed and outlives them. */
struct admin_env {
	struct policy_holder	*policy;
	struct policy_state	*state;
	struct metrics		*metrics;	/* NULL: event series absent */
	struct webhooks		*webhooks;	/* NULL: no webhook series */
	admin_reload_fn		 reload;	/* NULL: reload unavailable */
	void			*reload_arg;	/* also kick's */
	admin_kick_fn		 kick;		/* NULL: no SSH to kick */
	uint64_t		 start_ms;	/* util_mono_ms() at start */
	struct admin_sink	*sink;		/* audit file, webhooks; or NULL */
	struct admin_live	*live;		/* NULL: no live feed */
	struct ticket_store	*tickets;	/* NULL: no tickets */
};

/* What the HTTP side must do besides sending the response. */
enum admin_stream {
	ADMIN_STREAM_NONE = 0,
	ADMIN_STREAM_SSE,	/* authenticated GET /api/events */
	ADMIN_STREAM_WS,	/* authenticated GET /api/ws */
};

/* One HTTP response produced by a handler. */
struct admin_resp {
	unsigned	 status;
	const char	*ctype;		/* static string */
	char		*body;		/* owned (malloc) */
	size_t		 len;
	const char	*location;	/* static; 3xx Location or NULL */
	int		 dashboard;	/* add the dashboard's CSP headers */
	int		 body_static;	/* body is static: do not free */
	enum admin_stream stream;	/* body empty: start a stream */
};

/* One request as the handlers see it: arg() looks up a query argument
 * (NULL when absent); everything is borrowed for the call. */
struct admin_req {
	const char	*method;
	const char	*path;
	const char	*authz;		/* Authorization header or NULL */
	const char	*(*arg)(void *ctx, const char *key);
	void		*ctx;
	const char	*body;		/* request body or NULL; not a string */
	size_t		 body_len;
};

void	admin_resp_cleanup(struct admin_resp *r);

/*
 * Appends the whole /metrics page (registry families, then live gauges
 * from the policy state and the process) to out.
 */
void	admin_render_metrics(const struct admin_env *env, struct mbuf *out);

/* Serves one request of the metrics listener. */
void	admin_metrics_handle(const struct admin_env *env, const char *method,
	    const char *path, struct admin_resp *out);

/*
 * Serves one request of the REST API. token is the configured secret
 * (NUL-terminated), authz the Authorization header or NULL, details the
 * "details" query value or NULL. Never fails; the status says it all.
 */
void	admin_api_handle(const struct admin_env *env, const char *token,
	    const char *method, const char *path, const char *authz,
	    const char *details, struct admin_resp *out);
/* The same with every query argument available. */
void	admin_api_serve(const struct admin_env *env, const char *token,
	    const struct admin_req *rq, struct admin_resp *out);

struct admin_http;

/*
 * Starts a listener on "host:port" serving /metrics (kind ADMIN_METRICS)
 * or the API (ADMIN_API, with token copied and wiped on stop). NULL,
 * logged, when the address cannot be bound.
 */
enum admin_kind {
	ADMIN_METRICS = 0,
	ADMIN_API,
};
struct admin_http *admin_http_start(enum admin_kind kind, const char *listen,
	    const char *token, const struct admin_env *env);
/* Stops the daemon (waiting for its thread) and frees. NULL is a no-op. */
void	admin_http_stop(struct admin_http *h);

/*
 * The whole management plane as the server wires it: the audit log
 * (logging.audit_log_path), the metrics registry and listener ([metrics])
 * and the API listener ([api]), subscribed to the event bus. Start it at
 * start-up before any worker runs; stop it after the workers ended.
 */
struct cfg;
struct admin_plane;

/* 0 with *out set (NULL members for what is disabled), or ERR_IO when a
 * configured file or address cannot be opened (logged). */
int	admin_plane_start(const struct cfg *cfg, struct policy_holder *policy,
	    struct policy_state *state, admin_reload_fn reload,
	    admin_kick_fn kick, void *arg, struct admin_plane **out);
/* Records the outcome of a reload (audit config.reload). */
void	admin_plane_reloaded(struct admin_plane *p, int success, size_t users,
	    const char *error);
/* Records a maintenance flip (audit maintenance.toggled); source is
 * "signal", "api" or "ws". NULL p is a no-op. */
void	admin_plane_maintenance(struct admin_plane *p, int enabled,
	    const char *source);
/* Stops the listeners, clears the event hooks, writes out the audit
 * queue and frees. NULL is a no-op. */
void	admin_plane_stop(struct admin_plane *p);

#endif /* SKS5_ADMIN_H */

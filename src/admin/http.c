/*
 * libmicrohttpd glue: one daemon per listener, with its own internal
 * polling thread, bounded connections, memory, body size and timeouts.
 * Handlers are the pure functions of prom.c and api.c.
 */
#include "admin/admin_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "config/values.h"
#include "core/log.h"
#include "core/util.h"

/* Request bodies larger than this are refused (413). */
#define HTTP_BODY_MAX		(64 * 1024)
#define HTTP_CONN_LIMIT		64
#define HTTP_PER_IP_LIMIT	16
#define HTTP_CONN_MEMORY	(128 * 1024)
#define HTTP_TIMEOUT_S		30

struct admin_http {
	enum admin_kind		 kind;
	struct MHD_Daemon	*d;
	char			*token;		/* secret, API only */
	const struct admin_env	*env;
};

/* Per-request state: the body seen so far (kept up to HTTP_BODY_MAX). */
struct http_req {
	size_t	 body;
	char	*buf;
};

/* Queues r as the response; frees nothing of r (MHD copies). */
static enum MHD_Result
http_send(struct MHD_Connection *conn, struct admin_resp *r)
{
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->len, r->body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (r->location != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    r->location);
	if (r->dashboard) {
		MHD_add_response_header(resp, "Content-Security-Policy",
		    admin__dash_csp());
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	}
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer");
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Fills ss from an IP literal host ("*" or empty: every IPv4 address).
 * 0, or -1 when host is not an address. */
static int
http_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
    int *v6)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*v6 = 0;
	if (host[0] == '\0' || strcmp(host, "*") == 0 ||
	    inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*v6 = 1;
		return 0;
	}
	return -1;
}

/* Query argument lookup for admin_req. */
static const char *
http_arg(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

/* Starts an SSE or WebSocket stream that the API authorised. */
static enum MHD_Result
http_stream(struct admin_http *h, struct MHD_Connection *conn,
    struct admin_resp *r)
{
	struct admin_resp err;
	enum MHD_Result ret;
	int k;

	memset(&err, 0, sizeof(err));
	k = r->stream == ADMIN_STREAM_SSE ?
	    admin__http_sse(conn, h->env->live, &err) :
	    admin__http_ws(conn, h->env, &err);
	if (k >= 0)
		return k == 1 ? MHD_YES : MHD_NO;
	err.ctype = "application/json";
	err.len = strlen(err.body);
	ret = http_send(conn, &err);
	admin_resp_cleanup(&err);
	return ret;
}

/* MHD access handler: collect (and bound) the body, then answer. */
static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct admin_http *h = cls;
	struct http_req *rq = *con_cls;
	struct admin_resp r;
	struct admin_req q;
	enum MHD_Result ret;

	(void)version;
	if (rq == NULL) {
		rq = xcalloc(1, sizeof(*rq));
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (rq->body + *upload_size <= HTTP_BODY_MAX) {
			rq->buf = xrealloc(rq->buf, rq->body + *upload_size);
			memcpy(rq->buf + rq->body, upload_data, *upload_size);
		} else {
			free(rq->buf);
			rq->buf = NULL;
		}
		rq->body += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&r, 0, sizeof(r));
	if (rq->body > HTTP_BODY_MAX) {
		r.status = 413;
		r.ctype = "text/plain";
		r.body = xstrdup("payload too large");
		r.len = strlen(r.body);
	} else if (h->kind == ADMIN_METRICS)
		admin_metrics_handle(h->env, method, url, &r);
	else {
		memset(&q, 0, sizeof(q));
		q.method = method;
		q.path = url;
		q.body = rq->buf;
		q.body_len = rq->buf != NULL ? rq->body : 0;
		q.authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);
		q.arg = http_arg;
		q.ctx = conn;
		admin_api_serve(h->env, h->token, &q, &r);
		if (r.stream != ADMIN_STREAM_NONE) {
			admin_resp_cleanup(&r);
			return http_stream(h, conn, &r);
		}
	}
	ret = http_send(conn, &r);
	admin_resp_cleanup(&r);
	return ret;
}

/* Frees the per-request state. */
static void
http_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	struct http_req *rq = *con_cls;

	(void)toe;
	if (rq != NULL)
		free(rq->buf);
	free(rq);
	*con_cls = NULL;
}

/* Logs libmicrohttpd's own errors at debug level. */
static void
http_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("event=http.error msg=\"%s\"", line);
}

struct admin_http *
admin_http_start(enum admin_kind kind, const char *listen, const char *token,
    const struct admin_env *env)
{
	struct admin_http *h = NULL;
	struct cfg_listen l;
	struct sockaddr_storage ss;
	char err[256];
	const char *what = kind == ADMIN_API ? "api" : "metrics";
	int v6 = 0;

	if (cfg_parse_listen(listen, &l, err, sizeof(err)) != 0) {
		log_error("%s.listen: %s", what, err);
		return NULL;
	}
	if (http_addr(l.host, l.port, &ss, &v6) != 0) {
		log_error("%s.listen: \"%s\" is not an IP address", what,
		    l.host);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->kind = kind;
	h->env = env;
	if (kind == ADMIN_API)
		h->token = xstrdup(token != NULL ? token : "");
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_AUTO | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) |
	    (kind == ADMIN_API ? MHD_ALLOW_SUSPEND_RESUME |
	    MHD_ALLOW_UPGRADE : 0),
	    l.port, NULL, NULL, http_access, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, http_done, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		log_error("cannot listen on %s for %s (address in use?)",
		    listen, what);
		util_free_secret(h->token);
		free(h);
		return NULL;
	}
	log_info("event=listen proto=http service=%s addr=%s", what, listen);
	return h;
}

void
admin_http_stop(struct admin_http *h)
{
	if (h == NULL)
		return;
	/* Stops the thread and closes the listening socket. */
	MHD_stop_daemon(h->d);
	util_free_secret(h->token);
	free(h);
}

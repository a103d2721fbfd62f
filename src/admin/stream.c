/*
 * The two live streams on libmicrohttpd: Server-Sent Events (a response
 * whose content reader pops the client's queue and suspends the
 * connection while it is empty; the hub resumes it) and WebSocket (the
 * upgrade API hands over the socket; one thread per connection moves
 * queued messages out and commands in, with the pure receiver of
 * ws_wire.c). Both are bounded by LIVE_STREAMS_MAX and by the per-client
 * queue of live.c.
 */
#include "admin/admin_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "admin/ws_wire.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* Largest frame and message a client may send (commands are small). */
#define WS_IN_MAX	(16 * 1024)
#define WS_SEND_TIMEOUT_MS	10000

/* ---- SSE ---- */

struct sse {
	struct admin_live	*live;
	struct live_client	*c;
	struct MHD_Connection	*conn;
	char			*out;		/* framed bytes to send */
	size_t			 len, off;
};

/* Called under the hub lock when the queue is empty. */
static void
sse_park(void *arg)
{
	struct sse *s = arg;

	MHD_suspend_connection(s->conn);
}

static void
sse_wake(void *arg)
{
	struct sse *s = arg;

	MHD_resume_connection(s->conn);
}

/* Frames m as an SSE message into s->out. */
static void
sse_frame(struct sse *s, const struct live_msg *m)
{
	free(s->out);
	switch (m->kind) {
	case LIVE_SNAPSHOT:
		s->out = xasprintf("data: %s\n\n", m->text);
		break;
	case LIVE_EVENT:
		s->out = xasprintf("id: %llu\nevent: audit\ndata: %s\n\n",
		    (unsigned long long)m->id, m->text);
		break;
	default:
		s->out = xstrdup(": ping\n\n");
		break;
	}
	s->len = strlen(s->out);
	s->off = 0;
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	struct live_msg *m = NULL;
	size_t n;
	int end = 0;

	(void)pos;
	for (;;) {
		if (s->off < s->len) {
			n = s->len - s->off < max ? s->len - s->off : max;
			memcpy(buf, s->out + s->off, n);
			s->off += n;
			return (ssize_t)n;
		}
		m = admin__live_pop(s->live, s->c, &end, sse_park, s);
		if (m == NULL)
			return end ? MHD_CONTENT_READER_END_OF_STREAM : 0;
		sse_frame(s, m);
		admin__live_unref(m);
	}
}

static void
sse_free(void *cls)
{
	struct sse *s = cls;

	admin__live_leave(s->live, s->c);
	free(s->out);
	free(s);
}

int
admin__http_sse(struct MHD_Connection *conn, struct admin_live *l,
    struct admin_resp *err)
{
	struct MHD_Response *resp = NULL;
	struct sse *s = xcalloc(1, sizeof(*s));
	enum MHD_Result ret;

	s->live = l;
	s->conn = conn;
	if ((s->c = admin__live_join(l, 0, sse_wake, s)) == NULL) {
		free(s);
		err->status = 503;
		err->body = xstrdup("{\"success\":false,\"error\":\"too many "
		    "live streams\"}");
		return -1;
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    sse_read, s, sse_free);
	if (resp == NULL) {
		sse_free(s);
		return 0;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	log_info("event=api.stream.open kind=sse");
	return ret == MHD_YES;
}

/* ---- WebSocket ---- */

struct wsc {
	const struct admin_env		*env;
	struct live_client		*c;
	MHD_socket			 sock;
	struct MHD_UpgradeResponseHandle *urh;
	int				 efd;
	unsigned char			*in;	/* unread client bytes */
	size_t				 inlen;
	struct ws_rx			 rx;
};

/* Called under the hub lock: wakes the thread's poll. */
static void
ws_wake(void *arg)
{
	struct wsc *w = arg;
	uint64_t one = 1;

	(void)!write(w->efd, &one, sizeof(one));
}

static void
ws_park(void *arg)
{
	(void)arg;
}

/* Sends all of p[0..n); 0, or -1 when the client is gone or too slow. */
static int
ws_send_all(struct wsc *w, const void *p, size_t n)
{
	const unsigned char *b = p;
	struct pollfd pfd;
	ssize_t k;

	while (n > 0) {
		k = send(w->sock, b, n, MSG_NOSIGNAL);
		if (k > 0) {
			b += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pfd.fd = w->sock;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, WS_SEND_TIMEOUT_MS) > 0)
				continue;
		}
		return -1;
	}
	return 0;
}

/* Sends one frame. */
static int
ws_send(struct wsc *w, int op, const void *p, size_t n)
{
	unsigned char h[WS_HDR_MAX];
	size_t hl = ws_frame_hdr(h, op, n);

	if (ws_send_all(w, h, hl) != 0)
		return -1;
	return n > 0 ? ws_send_all(w, p, n) : 0;
}

static int
ws_send_close(struct wsc *w, int code)
{
	unsigned char p[2];

	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	return ws_send(w, WS_OP_CLOSE, p, 2);
}

/* Sends a queued message. */
static int
ws_send_msg(struct wsc *w, const struct live_msg *m)
{
	char *t = NULL;
	int r;

	if (m->kind == LIVE_PING)
		return ws_send(w, WS_OP_PING, NULL, 0);
	if (m->kind != LIVE_EVENT)
		return ws_send(w, WS_OP_TEXT, m->text, m->len);
	t = xasprintf("{\"event\":%s}", m->text);
	r = ws_send(w, WS_OP_TEXT, t, strlen(t));
	free(t);
	return r;
}

/* The kick command: {action:"kick", username, message?}. */
static json_t *
ws_kick(struct wsc *w, const char *user, json_t *message)
{
	size_t n = 0;

	if (user == NULL)
		return json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "kick", "error", "username required");
	if (message != NULL && (!json_is_string(message) ||
	    json_string_length(message) > ADMIN_KICK_MSG_MAX ||
	    strlen(json_string_value(message)) !=
	    json_string_length(message)))
		return json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "kick", "error", "message must be a string of at most "
		    "256 bytes");
	if (admin__kick(w->env, user, "ws", json_string_value(message),
	    &n) != 0)
		return json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "kick", "error", "user not found");
	return json_pack("{s:b,s:s,s:o,s:I}", "success", 1, "action", "kick",
	    "username", admin__jstr(user), "sessions_cancelled",
	    (json_int_t)n);
}

/* The unban command: {action:"unban", ip}. An address that was not
 * blocked is a success with unbanned:false, as in the original. */
static json_t *
ws_unban(struct wsc *w, const char *ip)
{
	int rc;

	if (ip == NULL)
		return json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "unban", "error", "ip required");
	rc = admin__unban(w->env, ip, "ws");
	if (rc == ERR_INVAL)
		return json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "unban", "error", "invalid IP");
	return json_pack("{s:b,s:s,s:s,s:b}", "success", 1, "action",
	    "unban", "ip", ip, "unbanned", rc == 0);
}

/* Runs one command; returns the reply (caller frees). */
static char *
ws_command(struct wsc *w, const unsigned char *msg, size_t len)
{
	json_t *v = json_loadb((const char *)msg, len, 0, NULL), *r = NULL;
	json_t *en = NULL;
	const char *action = NULL;
	char *out = NULL;
	int on;

	if (v == NULL || !json_is_object(v)) {
		r = json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "unknown", "error", "invalid command");
	} else if ((action = json_string_value(json_object_get(v,
	    "action"))) == NULL) {
		r = json_pack("{s:b,s:s,s:s}", "success", 0, "action",
		    "unknown", "error", "action required");
	} else if (strcmp(action, "maintenance") == 0) {
		en = json_object_get(v, "enabled");
		if (en != NULL && !json_is_boolean(en))
			r = json_pack("{s:b,s:s,s:s}", "success", 0, "action",
			    action, "error", "enabled must be a boolean");
		else {
			on = admin__maintenance(w->env, en == NULL ||
			    json_is_true(en), "ws");
			r = json_pack("{s:b,s:s,s:b}", "success", 1, "action",
			    action, "maintenance", on);
		}
	} else if (strcmp(action, "kick") == 0) {
		r = ws_kick(w, json_string_value(json_object_get(v,
		    "username")), json_object_get(v, "message"));
	} else if (strcmp(action, "unban") == 0) {
		r = ws_unban(w, json_string_value(json_object_get(v, "ip")));
	} else if (strcmp(action, "broadcast") == 0) {
		r = json_pack("{s:b,s:s,s:s}", "success", 0, "action", action,
		    "error", "not available yet");
	} else {
		r = json_pack("{s:b,s:o,s:s}", "success", 0, "action",
		    admin__jstr(action), "error", "unknown action");
	}
	out = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(r);
	json_decref(v);
	if (out == NULL)
		abort();
	return out;
}

/*
 * Handles every complete frame in w->in. 0 to go on, 1 when the
 * connection ends (close handshake done or protocol error answered).
 */
static int
ws_input(struct wsc *w)
{
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t used = 0, mlen = 0, off = 0;
	char *reply = NULL;
	int r, done = 0;

	while (!done && off < w->inlen) {
		r = ws_rx_feed(&w->rx, w->in + off, w->inlen - off, &used, &ev,
		    &msg, &mlen);
		if (r == ERR_INCOMPLETE)
			break;
		if (r != 0) {
			(void)ws_send_close(w, w->rx.error);
			return 1;
		}
		off += used;
		switch (ev) {
		case WS_EV_TEXT:
			reply = ws_command(w, msg, mlen);
			if (ws_send(w, WS_OP_TEXT, reply, strlen(reply)) != 0)
				done = 1;
			free(reply);
			break;
		case WS_EV_BINARY:
			(void)ws_send_close(w, WS_CLOSE_UNSUPPORTED);
			done = 1;
			break;
		case WS_EV_PING:
			if (ws_send(w, WS_OP_PONG, msg, mlen) != 0)
				done = 1;
			break;
		case WS_EV_CLOSE:
			(void)ws_send_close(w, w->rx.close_code == 1005 ?
			    WS_CLOSE_NORMAL : w->rx.close_code);
			done = 1;
			break;
		default:
			break;
		}
	}
	memmove(w->in, w->in + off, w->inlen - off);
	w->inlen -= off;
	return done;
}

/*
 * Half-closes and reads what the client still sends (bounded in bytes
 * and time), so that closing does not reset the connection and destroy
 * the close frame before the client read it.
 */
static void
ws_linger(struct wsc *w)
{
	unsigned char junk[4096];
	struct pollfd pfd;
	size_t total = 0;
	uint64_t until = util_mono_ms() + 1000;
	ssize_t k;

	(void)shutdown(w->sock, SHUT_WR);
	pfd.fd = w->sock;
	pfd.events = POLLIN;
	while (total < 256 * 1024 && util_mono_ms() < until) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		k = recv(w->sock, junk, sizeof(junk), 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (k > 0)
			total += (size_t)k;
	}
}

static void *
ws_main(void *arg)
{
	struct wsc *w = arg;
	struct admin_live *l = w->env->live;
	struct live_msg *m = NULL;
	struct pollfd pfd[2];
	uint64_t junk;
	ssize_t k;
	int end = 0, done = 0;

	done = ws_input(w);
	while (!done) {
		while ((m = admin__live_pop(l, w->c, &end, ws_park, w)) !=
		    NULL) {
			if (ws_send_msg(w, m) != 0)
				done = 1;
			admin__live_unref(m);
			if (done)
				break;
		}
		if (done)
			break;
		if (end) {
			(void)ws_send_close(w, admin__live_overflowed(l, w->c) ?
			    1008 : WS_CLOSE_GOING_AWAY);
			break;
		}
		pfd[0].fd = w->sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = w->efd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			(void)!read(w->efd, &junk, sizeof(junk));
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			k = recv(w->sock, w->in + w->inlen, WS_IN_MAX + 14 -
			    w->inlen, 0);
			if (k == 0 || (k < 0 && errno != EAGAIN &&
			    errno != EINTR))
				break;
			if (k > 0) {
				w->inlen += (size_t)k;
				done = ws_input(w);
			}
		}
	}
	ws_linger(w);
	log_info("event=api.stream.close kind=ws");
	admin__live_leave(l, w->c);
	MHD_upgrade_action(w->urh, MHD_UPGRADE_ACTION_CLOSE);
	ws_rx_cleanup(&w->rx);
	close(w->efd);
	free(w->in);
	free(w);
	admin__live_thread_end(l);
	return NULL;
}

/* MHD hands over the socket after the 101 went out. */
static void
ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra, size_t extra_len, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	const struct admin_env *env = cls;
	struct wsc *w = xcalloc(1, sizeof(*w));
	pthread_attr_t attr;
	pthread_t th;

	(void)conn;
	(void)con_cls;
	w->env = env;
	w->sock = sock;
	w->urh = urh;
	w->in = xmalloc(WS_IN_MAX + 14);
	ws_rx_init(&w->rx, WS_IN_MAX, WS_IN_MAX);
	if (extra_len > WS_IN_MAX + 14)
		extra_len = WS_IN_MAX + 14;	/* a flood: the rest is cut */
	memcpy(w->in, extra, extra_len);
	w->inlen = extra_len;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0 || (w->c = admin__live_join(env->live, 1, ws_wake, w))
	    == NULL)
		goto fail;
	admin__live_thread_begin(env->live);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, ws_main, w) == 0) {
		pthread_attr_destroy(&attr);
		log_info("event=api.stream.open kind=ws");
		return;
	}
	pthread_attr_destroy(&attr);
	admin__live_thread_end(env->live);
fail:
	/* No room (or no thread): 1013 "try again later". */
	(void)ws_send_close(w, 1013);
	admin__live_leave(env->live, w->c);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	ws_rx_cleanup(&w->rx);
	if (w->efd >= 0)
		close(w->efd);
	free(w->in);
	free(w);
}

/* 1 when the comma-separated header value holds token (any case). */
static int
has_token(const char *v, const char *token)
{
	size_t n = strlen(token);
	const char *p = v;

	if (v == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, token, n) == 0 && (p[n] == '\0' ||
		    p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

int
admin__http_ws(struct MHD_Connection *conn, const struct admin_env *env,
    struct admin_resp *err)
{
	const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Key");
	const char *ver = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Sec-WebSocket-Version");
	char accept[WS_ACCEPT_LEN];
	struct MHD_Response *resp = NULL;
	enum MHD_Result ret;

	if (!has_token(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "Upgrade"), "websocket") || !has_token(MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, "Connection"), "upgrade") ||
	    ws_accept_key(key, accept) != 0) {
		err->status = 400;
		err->body = xstrdup("{\"success\":false,\"error\":\"not a "
		    "WebSocket handshake\"}");
		return -1;
	}
	if (ver == NULL || strcmp(ver, "13") != 0) {
		err->status = 426;
		err->body = xstrdup("{\"success\":false,\"error\":\"WebSocket "
		    "version 13 required\"}");
		return -1;
	}
	if (!admin__live_room(env->live)) {
		err->status = 503;
		err->body = xstrdup("{\"success\":false,\"error\":\"too many "
		    "live streams\"}");
		return -1;
	}
	if ((resp = MHD_create_response_for_upgrade(ws_upgraded,
	    (void *)env)) == NULL)
		return 0;
	/* libmicrohttpd adds "Connection: Upgrade" itself. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return ret == MHD_YES;
}

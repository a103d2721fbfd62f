/*
 * SOCKS5 connections: accept, handshake state machine, policy, connect,
 * relay. See socks5.h for the overall flow.
 */
#include "socks5/socks5.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config/config.h"
#include "config/values.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "net/net.h"
#include "policy/acl.h"
#include "policy/dest.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"
#include "socks5/socks5_udp.h"
#include "socks5/socks5_wire.h"

/* Bytes a client may send before its request is answered. */
#define S5_INBUF_MAX		2048
/* Connections accepted per listener wakeup before yielding. */
#define S5_ACCEPT_BUDGET	64
/* Pause before answering a failed authentication. */
#define S5_AUTH_FAIL_DELAY_MS	1000

enum s5_state {
	S5_GREETING = 0,
	S5_AUTH,
	S5_VERIFYING,	/* Argon2id running on the pool */
	S5_REQUEST,
	S5_RESOLVING,
	S5_CONNECTING,
	S5_RELAYING,
	S5_FAILING,	/* reply queued; close once written or delayed */
	S5_REJECT,	/* banned: answer the greeting with 05 FF, close */
	S5_UDP,		/* control connection of a UDP association */
};

struct s5_conn;

/* A password check running on the pool. The job owns copies of what it
 * needs so that it never touches the connection from the worker thread. */
struct s5_verify {
	struct s5_conn	*conn;		/* NULL once the conn is gone */
	struct policy_snap *snap;	/* keeps hash and user alive */
	const char	*user;		/* NULL for unknown users */
	char		*hash;		/* borrowed from the snapshot */
	uint64_t	 cache_ttl_ms;	/* 0: do not remember */
	char		 pass[256];
	size_t		 plen;
};

struct s5_conn {
	struct socks5_worker	*w;
	struct s5_conn		*next, *prev;	/* worker's list */
	struct s5_conn		*next_dead;	/* deferred-close list */
	int			 fd;
	int			 watched;
	int			 dead;
	enum s5_state		 state;
	struct buf		 in;
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;		/* our end, client side */
	char			 peer_str[NET_ADDRSTRLEN];
	struct policy_snap	*snap;
	const struct policy_user *user;
	int			 counted;	/* holds an active-stream slot */
	struct ev_timer		*timer;		/* handshake or fail delay */
	struct s5_verify	*verify;
	struct net_resolve_req	*rreq;
	struct net_connect	*creq;
	struct net_upstream	*ureq;
	struct net_relay	*relay;
	struct socks5_udp	*udp;
	char			 host[CFG_HOST_MAX + 1];
	int			 host_is_name;
	uint16_t		 port;
	uint64_t		 t_start;
	uint8_t			 fail_rep;
	int			 preauth_held;	/* policy_preauth_release() */
	struct policy_meter	*meter;		/* NULL: unmetered relay */
	struct net_relay_meter	 rmeter;
	uint64_t		 unmetered;	/* bytes moved without meter */
};

struct socks5_worker {
	struct ev		*loop;
	struct socks5_env	 env;
	int			 lfd;
	struct s5_conn		*conns;
	struct s5_conn		*dead;
	_Atomic size_t		 nconns;
	struct net_pipe_cache	*pipes;
	struct ev_timer		*tick;		/* live-session checks */
	struct socks5_udp_scratch *udp_scratch;
	struct net_tls_set	*tls;		/* TLS listener only */
};

static void	conn_on_io(struct ev *, int, unsigned, void *);
static void	conn_process(struct s5_conn *);
static void	conn_emit(struct s5_conn *, enum stream_phase, uint64_t,
		    uint64_t, const char *, int);

/* Flags a connection for freeing at the end of the loop iteration. */
static void
conn_close_later(struct s5_conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	c->next_dead = c->w->dead;
	c->w->dead = c;
}

/* Releases everything a connection holds. */
static void
conn_free(struct s5_conn *c)
{
	struct socks5_worker *w = c->w;

	if (c->timer != NULL)
		ev_timer_cancel(w->loop, c->timer);
	if (c->verify != NULL)
		c->verify->conn = NULL;	/* the job frees itself */
	if (c->rreq != NULL)
		net_resolve_cancel(c->rreq);
	if (c->creq != NULL)
		net_connect_cancel(c->creq);
	net_upstream_cancel(c->ureq);
	if (c->udp != NULL) {
		uint64_t up, down;

		socks5_udp_bytes(c->udp, &up, &down);
		conn_emit(c, STREAM_END, up, down, "closed", 0);
		/* Metered datagrams were charged as they passed. */
		c->unmetered += socks5_udp_unmetered(c->udp);
	}
	socks5_udp_free(c->udp);
	if (c->relay != NULL) {
		net_relay_free(c->relay);	/* closes both fds */
		c->fd = -1;
	}
	if (c->watched)
		ev_del(w->loop, c->fd);
	if (c->fd >= 0)
		close(c->fd);
	if (c->counted)
		policy_stream_release(c->snap, c->user, c->unmetered,
		    policy_now_ms());
	if (c->preauth_held)
		policy_preauth_release(c->snap,
		    (const struct sockaddr *)&c->peer);
	free(c->meter);
	policy_snap_unref(c->snap);
	buf_cleanup(&c->in);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	atomic_fetch_sub(&w->nconns, 1);
	free(c);
}

/* Before-sleep hook: frees the connections closed in this iteration. */
static void
worker_reap(struct ev *loop, void *arg)
{
	struct socks5_worker *w = arg;
	struct s5_conn *c = NULL;

	(void)loop;
	while ((c = w->dead) != NULL) {
		w->dead = c->next_dead;
		conn_free(c);
	}
	net_tls_set_reap(w->tls);
}

/* Writes a small message; replies are tiny and the socket buffer empty,
 * so a short write means the peer is gone or misbehaving. */
static int
conn_send(struct s5_conn *c, struct buf *b)
{
	ssize_t n;

	do {
		n = send(c->fd, buf_ptr(b), buf_len(b), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)buf_len(b))
		return ERR_IO;
	return 0;
}

/* Sends a reply code (with BND.ADDR when given). */
static int
conn_reply(struct s5_conn *c, uint8_t rep, const struct sockaddr *bnd)
{
	unsigned char space[SOCKS5_REPLY_MAX];
	struct buf b;
	int r;

	buf_init(&b, sizeof(space));
	b.data = space;
	b.cap = sizeof(space);
	if ((r = socks5_put_reply(&b, rep, bnd)) == 0)
		r = conn_send(c, &b);
	b.data = NULL;	/* stack memory: nothing to free */
	return r;
}

/*
 * logging.connection_flow_logs: one line per step of a connection, at info
 * level so that the switch alone makes them visible.
 */
#define FLOW(c, ...) do {						\
	if ((c)->snap->cfg->logging.connection_flow_logs)		\
		conn_flow((c), __VA_ARGS__);				\
} while (0)

static void __attribute__((format(printf, 2, 3)))
conn_flow(struct s5_conn *c, const char *fmt, ...)
{
	char step[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(step, sizeof(step), fmt, ap);
	va_end(ap);
	log_info("event=flow proto=socks5 peer=%s ms=%llu %s", c->peer_str,
	    (unsigned long long)(ev_now_ms(c->w->loop) - c->t_start), step);
}

/* Publishes a stream event for this connection. */
static void
conn_emit(struct s5_conn *c, enum stream_phase phase, uint64_t up,
    uint64_t down, const char *outcome, int code)
{
	struct stream_event ev;

	ev.phase = phase;
	ev.proto = c->udp != NULL ? "socks5-udp" : "socks5";
	ev.user = c->user != NULL ? c->user->cfg->username : "-";
	ev.source = c->peer_str;
	ev.host = c->host;
	ev.port = c->port;
	ev.bytes_up = up;
	ev.bytes_down = down;
	ev.duration_ms = ev_now_ms(c->w->loop) - c->t_start;
	ev.outcome = outcome;
	ev.code = code;
	stream_emit(&ev);
}

/* Answers a refused request with rep, logs why, and closes. */
static void
conn_refuse(struct s5_conn *c, uint8_t rep, const char *why)
{
	int logged = c->snap->cfg->logging.log_denied_connections;

	if (c->user != NULL)
		conn_emit(c, STREAM_REFUSED, 0, 0, why, rep);
	if (rep != SOCKS5_REP_NOT_ALLOWED || logged)
		log_info("event=connection.refused proto=socks5 peer=%s "
		    "user=%s target=%s:%u rep=0x%02x reason=\"%s\"",
		    c->peer_str, c->user != NULL ? c->user->cfg->username :
		    "-", c->host, c->port, rep, why);
	(void)conn_reply(c, rep, NULL);
	conn_close_later(c);
}

/* An ACL or anti-SSRF refusal: also feeds the peer's reputation. */
static void
conn_refuse_acl(struct s5_conn *c, const char *why)
{
	policy_acl_denied(c->snap, (const struct sockaddr *)&c->peer,
	    policy_now_ms());
	conn_refuse(c, SOCKS5_REP_NOT_ALLOWED, why);
}

/* Handshake deadline or failure delay reached. */
static void
conn_on_timer(struct ev *loop, struct ev_timer *t, void *arg)
{
	struct s5_conn *c = arg;
	unsigned char st[2] = { SOCKS5_USERPASS_VERSION,
	    SOCKS5_AUTH_STATUS_FAIL };

	(void)loop;
	(void)t;
	c->timer = NULL;
	if (c->state == S5_FAILING) {
		(void)send(c->fd, st, sizeof(st), MSG_NOSIGNAL);
	} else {
		log_info("event=handshake.timeout proto=socks5 peer=%s "
		    "state=%d", c->peer_str, (int)c->state);
	}
	conn_close_later(c);
}

/* The pre-auth gate (policy.h): a banned client gets 05 FF to its
 * greeting, anything else refused is closed at once. */
static void
conn_gate(struct s5_conn *c)
{
	enum policy_pre v = policy_preauth(c->snap,
	    (const struct sockaddr *)&c->peer, policy_now_ms());

	if (v == POLICY_PRE_OK) {
		c->preauth_held = 1;
		return;
	}
	log_info("event=connection.rejected proto=socks5 peer=%s reason=%s",
	    c->peer_str, policy_pre_str(v));
	if (v == POLICY_PRE_BANNED || v == POLICY_PRE_REPUTATION ||
	    v == POLICY_PRE_MAINTENANCE)
		c->state = S5_REJECT;
	else
		conn_close_later(c);
}

/* Accepts one connection. */
static void
worker_accept_one(struct socks5_worker *w, int fd,
    const struct sockaddr_storage *peer)
{
	struct s5_conn *c = xcalloc(1, sizeof(*c));
	socklen_t sl;

	c->w = w;
	c->fd = fd;
	c->peer = *peer;
	sl = sizeof(c->local);
	(void)getsockname(fd, (struct sockaddr *)&c->local, &sl);
	(void)net_sockaddr_format((const struct sockaddr *)peer, c->peer_str,
	    sizeof(c->peer_str));
	buf_init(&c->in, S5_INBUF_MAX);
	c->snap = policy_holder_get(w->env.policy);
	c->t_start = ev_now_ms(w->loop);
	if (w->tls != NULL) {
		/* TLS listener: the pre-auth gate runs before any TLS work,
		 * so a refused client costs no handshake. No SOCKS5 reply
		 * can reach a client before TLS, so every refusal (a ban
		 * included) is a close at accept. */
		enum policy_pre v = policy_preauth(c->snap,
		    (const struct sockaddr *)peer, policy_now_ms());

		if (v != POLICY_PRE_OK) {
			log_info("event=connection.rejected proto=socks5 "
			    "peer=%s tls=1 reason=%s", c->peer_str,
			    policy_pre_str(v));
			close(fd);
			policy_snap_unref(c->snap);
			buf_cleanup(&c->in);
			free(c);
			return;
		}
		c->preauth_held = 1;
		/* The state machine reads the plain side of a terminator
		 * (net/tls.c); its handshake counts against the same
		 * handshake timeout. */
		fd = net_tls_wrap(w->tls, fd,
		    c->snap->cfg->limits.socks5_handshake_timeout * 1000,
		    c->peer_str);
		c->fd = fd;
	}
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	atomic_fetch_add(&w->nconns, 1);
	(void)net_set_nodelay(fd);
	if (fd < 0 || ev_add(w->loop, fd, EV_READ, conn_on_io, c) != 0) {
		conn_close_later(c);
		return;
	}
	c->watched = 1;
	c->timer = ev_timer_add(w->loop,
	    c->snap->cfg->limits.socks5_handshake_timeout * 1000,
	    conn_on_timer, c);
	log_debug("event=accept proto=socks5 peer=%s", c->peer_str);
	FLOW(c, "step=accept tls=%d", w->tls != NULL);
	if (w->tls == NULL)
		conn_gate(c);	/* TLS: done before the terminator */
}

/* The listener is readable: accept up to a budget of connections. */
static void
worker_on_accept(struct ev *loop, int lfd, unsigned revents, void *arg)
{
	struct socks5_worker *w = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, i;

	(void)loop;
	(void)revents;
	for (i = 0; i < S5_ACCEPT_BUDGET; i++) {
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		worker_accept_one(w, fd, &ss);
	}
	/* Budget spent: the edge will not fire again for what is queued,
	 * so come back on the next iteration. */
	(void)ev_mod(loop, lfd, EV_READ | EV_LEVEL);
}

/* Reads what the client sent into the bounded input buffer. Returns 0,
 * or ERR_IO when the peer closed or failed. */
static int
conn_read(struct s5_conn *c)
{
	unsigned char *p = NULL;
	size_t room;
	ssize_t n;

	for (;;) {
		room = c->in.max - buf_len(&c->in);
		if (room == 0)
			return 0;	/* leave the rest in the kernel */
		if ((p = buf_reserve(&c->in, room)) == NULL)
			return ERR_IO;
		n = recv(c->fd, p, room, 0);
		if (n > 0) {
			buf_commit(&c->in, (size_t)n);
			continue;
		}
		if (n == 0)
			return ERR_IO;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return ERR_IO;
	}
}

/* The control connection of a UDP association: nothing is expected on
 * it, so whatever arrives is discarded; its end ends the association. */
static void
conn_udp_control_io(struct s5_conn *c, unsigned revents)
{
	int r;

	do {
		buf_reset(&c->in);
		r = conn_read(c);
	} while (r == 0 && buf_len(&c->in) == c->in.max);
	buf_reset(&c->in);
	if (r != 0 || (revents & EV_ERROR)) {
		log_info("event=udp.control_closed proto=socks5 peer=%s",
		    c->peer_str);
		conn_close_later(c);
	}
}

/* io on the client socket before the relay starts. */
static void
conn_on_io(struct ev *loop, int fd, unsigned revents, void *arg)
{
	struct s5_conn *c = arg;

	(void)loop;
	(void)fd;
	if (c->dead)
		return;
	if (c->state == S5_UDP) {
		conn_udp_control_io(c, revents);
		return;
	}
	if (conn_read(c) != 0 || (revents & EV_ERROR)) {
		log_debug("event=close proto=socks5 peer=%s state=%d "
		    "msg=\"client went away\"", c->peer_str, (int)c->state);
		conn_close_later(c);
		return;
	}
	conn_process(c);
}

static void	auth_verdict(struct s5_conn *, int, int);

/* Runs on a pool thread: the Argon2id check. */
static int
verify_work(void *arg)
{
	struct s5_verify *v = arg;
	int ok;

	ok = crypto_pwhash_str_verify(v->hash, v->pass, v->plen) == 0;
	if (ok && v->user != NULL && v->cache_ttl_ms != 0)
		authcache_put(v->snap->state->auth_cache, v->user, v->hash,
		    v->pass, v->plen, util_mono_ms(), v->cache_ttl_ms);
	util_wipe(v->pass, sizeof(v->pass));
	return ok;
}

/* Back on the loop: act on the verdict. */
static void
verify_done(void *arg, int ok)
{
	struct s5_verify *v = arg;
	struct s5_conn *c = v->conn;

	util_wipe(v->pass, sizeof(v->pass));
	policy_snap_unref(v->snap);
	free(v);
	if (c == NULL)
		return;	/* the connection closed meanwhile */
	c->verify = NULL;
	auth_verdict(c, ok, 0);
}

/* Publishes an auth event; the name is what the client sent. */
static void
conn_emit_auth(struct s5_conn *c, int ok, const char *user,
    const char *method, const char *reason)
{
	struct auth_event ev;

	ev.success = ok;
	ev.proto = "socks5";
	ev.user = user;
	ev.source = c->peer_str;
	ev.method = method;
	ev.reason = reason;
	auth_emit(&ev);
}

/* Acts on a password verdict: the reply, or the failure delay. */
static void
auth_verdict(struct s5_conn *c, int ok, int cached)
{
	unsigned char st[2] = { SOCKS5_USERPASS_VERSION,
	    SOCKS5_AUTH_STATUS_OK };

	conn_emit_auth(c, ok && c->user != NULL, c->host, "password", ok &&
	    c->user != NULL ? NULL : "bad credentials");
	if (!ok || c->user == NULL) {
		if (c->user != NULL)
			atomic_fetch_add(&c->user->state->auth_failures, 1);
		log_info("event=auth.failure proto=socks5 peer=%s user=%s "
		    "method=password", c->peer_str, c->host);
		if (policy_auth_failed(c->snap,
		    (const struct sockaddr *)&c->peer, policy_now_ms()))
			log_info("event=ban.created peer=%s duration_s=%llu",
			    c->peer_str, (unsigned long long)
			    c->snap->cfg->security.ban_duration);
		c->user = NULL;
		c->state = S5_FAILING;
		if (c->timer != NULL)
			ev_timer_cancel(c->w->loop, c->timer);
		c->timer = ev_timer_add(c->w->loop, S5_AUTH_FAIL_DELAY_MS,
		    conn_on_timer, c);
		return;
	}
	log_info("event=auth.success proto=socks5 peer=%s user=%s "
	    "method=password%s", c->peer_str, c->user->cfg->username,
	    cached ? " cached=1" : "");
	FLOW(c, "step=auth result=ok cached=%d", cached);
	policy_auth_succeeded(c->snap, (const struct sockaddr *)&c->peer,
	    policy_now_ms());
	if (c->preauth_held) {
		c->preauth_held = 0;
		policy_preauth_release(c->snap,
		    (const struct sockaddr *)&c->peer);
	}
	c->host[0] = '\0';
	if (send(c->fd, st, sizeof(st), MSG_NOSIGNAL) != sizeof(st)) {
		conn_close_later(c);
		return;
	}
	c->state = S5_REQUEST;
	conn_process(c);
}

/* Starts the password check for a parsed RFC 1929 message. */
static void
conn_start_verify(struct s5_conn *c, struct socks5_userpass *up)
{
	struct s5_verify *v;
	const struct policy_user *u = NULL;
	uint64_t ttl_ms = c->snap->cfg->security.auth_cache_ttl * 1000;

	u = policy_snap_user(c->snap, up->user);
	/* Keep the name for the log line until the request replaces it. */
	snprintf(c->host, sizeof(c->host), "%s", up->user);
	if (u != NULL && u->cfg->password_hash != NULL && up->plen > 0 &&
	    ttl_ms != 0 && authcache_check(c->snap->state->auth_cache,
	    u->cfg->username, u->cfg->password_hash, up->pass, up->plen,
	    util_mono_ms())) {
		socks5_userpass_wipe(up);
		c->user = u;
		auth_verdict(c, 1, 1);
		return;
	}
	v = xcalloc(1, sizeof(*v));
	v->conn = c;
	v->snap = policy_snap_ref(c->snap);
	/* Unknown users and key-only users cost the same Argon2id work. */
	if (u != NULL && u->cfg->password_hash != NULL && up->plen > 0) {
		v->hash = u->cfg->password_hash;
		v->user = u->cfg->username;
		v->cache_ttl_ms = ttl_ms;
		c->user = u;
	} else {
		v->hash = c->snap->dummy_hash;
		c->user = NULL;
	}
	memcpy(v->pass, up->pass, up->plen);
	v->plen = up->plen;
	socks5_userpass_wipe(up);
	c->state = S5_VERIFYING;
	c->verify = v;
	if (pool_submit(c->w->env.pool, verify_work, verify_done, v,
	    c->w->loop) != 0) {
		log_warn("event=auth.busy proto=socks5 peer=%s msg=\"password "
		    "check queue full\"", c->peer_str);
		util_wipe(v->pass, sizeof(v->pass));
		policy_snap_unref(v->snap);
		free(v);
		c->verify = NULL;
		conn_close_later(c);
	}
}

/* Maps a connect outcome to a SOCKS5 reply code. */
static uint8_t
rep_from_outcome(enum net_outcome o)
{
	switch (o) {
	case NET_OK:
		return SOCKS5_REP_SUCCEEDED;
	case NET_REFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case NET_NET_UNREACH:
		return SOCKS5_REP_NET_UNREACHABLE;
	case NET_HOST_UNREACH:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case NET_TIMEOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

/* The relay ended: account and close. */
static void
relay_done(void *arg, uint64_t up, uint64_t down,
    enum net_relay_reason reason)
{
	struct s5_conn *c = arg;
	static const char *const why[] = { "eof", "idle", "client_error",
	    "target_error", "quota" };

	log_info("event=proxy.complete proto=socks5 peer=%s user=%s "
	    "target=%s:%u bytes_up=%llu bytes_down=%llu duration_ms=%llu "
	    "outcome=%s", c->peer_str, c->user->cfg->username, c->host,
	    c->port, (unsigned long long)up, (unsigned long long)down,
	    (unsigned long long)(ev_now_ms(c->w->loop) - c->t_start),
	    why[reason]);
	atomic_fetch_add(&c->snap->state->bytes_total, up + down);
	FLOW(c, "step=relay_end outcome=%s", why[reason]);
	if (reason == NET_RELAY_LIMIT && c->meter != NULL)
		log_info("event=quota.exceeded proto=socks5 peer=%s user=%s "
		    "reason=\"%s\" msg=\"stream cut at the limit\"",
		    c->peer_str, c->user->cfg->username, c->meter->why != NULL ?
		    c->meter->why : "quota");
	if (c->meter == NULL)
		c->unmetered = up + down;
	conn_emit(c, STREAM_END, up, down, why[reason], 0);
	conn_close_later(c);
}

/* Relay meter adapters (policy_meter_grant/settle with the clocks). */
static size_t
meter_grant(void *arg, size_t want, uint64_t *wait_us)
{
	struct s5_conn *c = arg;

	return policy_meter_grant(c->meter, want, policy_mono_us(),
	    policy_now_ms(), wait_us);
}

static void
meter_settle(void *arg, size_t granted, size_t used)
{
	struct s5_conn *c = arg;

	policy_meter_settle(c->meter, granted, used, policy_now_ms());
}

/* The stream's byte meter, or NULL when no limit applies. */
static const struct net_relay_meter *
conn_meter(struct s5_conn *c)
{
	c->meter = xcalloc(1, sizeof(*c->meter));
	if (!policy_meter_init(c->meter, c->snap, c->user, policy_mono_us())) {
		free(c->meter);
		c->meter = NULL;
		return NULL;
	}
	c->rmeter.grant = meter_grant;
	c->rmeter.settle = meter_settle;
	c->rmeter.arg = c;
	return &c->rmeter;
}

/* Reply success, then hand both sockets to the relay. */
static void
conn_start_relay(struct s5_conn *c, int tfd,
    const struct sockaddr_storage *local)
{
	const struct cfg *cfg = c->snap->cfg;
	struct net_relay_opts ro;
	size_t pending;

	if (conn_reply(c, SOCKS5_REP_SUCCEEDED,
	    (const struct sockaddr *)local) != 0) {
		close(tfd);
		conn_close_later(c);
		return;
	}
	/* Bytes the client pipelined after its request go first. */
	pending = buf_len(&c->in);
	if (pending > 0 && send(tfd, buf_ptr(&c->in), pending,
	    MSG_NOSIGNAL) != (ssize_t)pending) {
		close(tfd);
		conn_close_later(c);
		return;
	}
	buf_cleanup(&c->in);
	ev_del(c->w->loop, c->fd);
	c->watched = 0;
	memset(&ro, 0, sizeof(ro));
	ro.idle_timeout_ms = (uint32_t)(cfg->limits.idle_timeout * 1000);
	ro.pipes = c->w->pipes;
	ro.total_a_to_b = &c->user->state->bytes_up;
	ro.total_b_to_a = &c->user->state->bytes_down;
	ro.meter = conn_meter(c);
	policy_stream_connected(c->snap, c->user, policy_now_ms());
	c->relay = net_relay_new(c->w->loop, c->fd, tfd, &ro, relay_done, c);
	if (c->relay == NULL) {
		close(tfd);
		conn_close_later(c);
		return;
	}
	c->state = S5_RELAYING;
	atomic_fetch_add(&c->user->state->streams, 1);
	atomic_fetch_add(&c->snap->state->streams_total, 1);
	log_info("event=connection.open proto=socks5 peer=%s user=%s "
	    "target=%s:%u", c->peer_str, c->user->cfg->username, c->host,
	    c->port);
	conn_emit(c, STREAM_START, 0, 0, "connected", 0);
}

/* Connected (or not). */
static void
connect_done(void *arg, const struct net_connect_result *res)
{
	struct s5_conn *c = arg;

	c->creq = NULL;
	FLOW(c, "step=connect outcome=%s", net_outcome_str(res->outcome));
	if (res->outcome != NET_OK) {
		conn_refuse(c, rep_from_outcome(res->outcome),
		    net_outcome_str(res->outcome));
		return;
	}
	conn_start_relay(c, res->fd, &res->local);
}

/* The upstream proxy opened the tunnel (or not). */
static void
upstream_done(void *arg, const struct net_upstream_result *res)
{
	struct s5_conn *c = arg;

	c->ureq = NULL;
	if (!res->ok) {
		conn_refuse(c, res->rep, res->why);
		return;
	}
	conn_start_relay(c, res->fd, &res->local);
}

/*
 * Connects through the user's upstream proxy to target (the checked
 * address, or the name when the upstream resolves). The URL was
 * validated at load; should it fail to parse now, the request is refused,
 * never sent direct.
 */
static void
conn_via_upstream(struct s5_conn *c, const char *target)
{
	struct cfg_proxy_url pu;
	char err[160];

	memset(&pu, 0, sizeof(pu));
	if (cfg_parse_proxy_url(c->user->cfg->eff.upstream_proxy, &pu, err,
	    sizeof(err)) != 0) {
		cfg_proxy_url_cleanup(&pu);
		conn_refuse(c, SOCKS5_REP_GENERAL_FAILURE,
		    "invalid upstream proxy URL");
		return;
	}
	log_debug("event=upstream.start proto=socks5 peer=%s upstream=%s:%u "
	    "target=%s:%u", c->peer_str, pu.host, pu.port, target, c->port);
	c->state = S5_CONNECTING;
	c->ureq = net_upstream_start(c->w->loop, c->w->env.resolver, pu.host,
	    pu.port, pu.user, pu.pass, target, c->port,
	    (uint32_t)(c->snap->cfg->limits.connection_timeout * 1000),
	    upstream_done, c);
	cfg_proxy_url_cleanup(&pu);
}

/* socks5h:// upstream and a name target: the upstream resolves, so the
 * ACL decides on the name alone (an undecided name gets the default
 * policy, never an implicit allow). Returns 1 when handled here. */
static int
conn_upstream_by_name(struct s5_conn *c)
{
	const char *url = c->user->cfg->eff.upstream_proxy;
	struct acl_match why;
	char text[200];

	if (url == NULL || !c->host_is_name || strncmp(url, "socks5h://",
	    10) != 0)
		return 0;
	if (acl_check_unresolved(&c->user->acl, c->host, c->port, &why) !=
	    ACL_ALLOW) {
		acl_match_format(&why, text, sizeof(text));
		conn_refuse_acl(c, text);
		return 1;
	}
	conn_via_upstream(c, c->host);
	return 1;
}

/* Addresses are known: anti-SSRF and ACL on every one, then connect. */
static void
conn_connect(struct s5_conn *c, struct sockaddr_storage *addrs, size_t n)
{
	const struct cfg *cfg = c->snap->cfg;
	const struct cfg_user_eff *e = &c->user->cfg->eff;
	struct net_connect_opts o;
	char reason[200], text[ACL_ADDRSTRLEN];

	/* Anti-SSRF, GeoIP and the ACL on every address (shared with SSH). */
	if (policy_dest_check(c->snap, c->user, c->host_is_name ? c->host :
	    NULL, addrs, n, c->port, reason, sizeof(reason)) != 0) {
		conn_refuse_acl(c, reason);
		return;
	}
	if (c->user->cfg->eff.upstream_proxy != NULL) {
		/* The upstream gets the address that was checked. */
		if (addrs[0].ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)&addrs[0])->sin6_addr, text,
			    sizeof(text));
		} else {
			inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    (const void *)&addrs[0])->sin_addr, text,
			    sizeof(text));
		}
		conn_via_upstream(c, text);
		return;
	}
	net_connect_opts_init(&o);
	o.timeout_ms = (uint32_t)(cfg->limits.connection_timeout * 1000);
	o.retries = e->connect_retry;
	o.retry_delay_ms = (uint32_t)e->connect_retry_delay_ms;
	FLOW(c, "step=allowed addresses=%zu msg=\"ACL and guard passed; "
	    "connecting\"", n);
	c->state = S5_CONNECTING;
	c->creq = net_connect_start(c->w->loop, addrs, n, &o, connect_done,
	    c);
}

/* The resolver answered. */
static void
resolve_done(void *arg, int status, const struct sockaddr_storage *addrs,
    size_t n)
{
	struct s5_conn *c = arg;
	struct sockaddr_storage copy[NET_RESOLVE_MAX_ADDRS];

	c->rreq = NULL;
	if (status != 0 || n == 0) {
		conn_refuse(c, SOCKS5_REP_HOST_UNREACHABLE,
		    status == ERR_AGAIN ? "name lookup failed temporarily" :
		    "name does not resolve");
		return;
	}
	if (n > NET_RESOLVE_MAX_ADDRS)
		n = NET_RESOLVE_MAX_ADDRS;
	memcpy(copy, addrs, n * sizeof(*addrs));
	FLOW(c, "step=resolved addresses=%zu", n);
	conn_connect(c, copy, n);
}

/* Turns the request's address into host text; v4-mapped becomes IPv4. */
static int
conn_target(struct s5_conn *c, const struct socks5_request *req)
{
	char err[160];
	size_t len;

	c->port = req->port;
	if (req->atyp == SOCKS5_ATYP_IPV6 &&
	    IN6_IS_ADDR_V4MAPPED(&req->addr.v6)) {
		inet_ntop(AF_INET, &req->addr.v6.s6_addr[12], c->host,
		    sizeof(c->host));
		return 0;
	}
	if (socks5_request_target(req, c->host, sizeof(c->host),
	    &c->port) != 0)
		return ERR_INVAL;
	if (req->atyp != SOCKS5_ATYP_DOMAIN)
		return 0;
	if (cfg_check_hostname(c->host, err, sizeof(err)) != 0)
		return ERR_INVAL;
	len = strlen(c->host);
	if (len > 1 && c->host[len - 1] == '.')
		c->host[len - 1] = '\0';
	c->host_is_name = 1;
	return 0;
}

/* Limits that apply before any lookup; 0 or a refusal already sent. */
static int
conn_check_limits(struct s5_conn *c)
{
	int64_t now = policy_now_ms();
	const char *why = NULL;

	why = policy_login_check(c->snap, c->user,
	    (const struct sockaddr *)&c->peer, now);
	if (why == NULL)
		why = policy_stream_admit(c->snap, c->user, now);
	if (why != NULL) {
		conn_refuse(c, SOCKS5_REP_NOT_ALLOWED, why);
		return ERR_DENIED;
	}
	c->counted = 1;
	return 0;
}

/* The association ended by itself: close its control connection. */
static void
conn_udp_end(void *arg, const char *why)
{
	struct s5_conn *c = arg;

	log_info("event=udp.end proto=socks5 peer=%s reason=%s", c->peer_str,
	    why);
	conn_close_later(c);
}

/* UDP ASSOCIATE: open the relay (socks5_udp.c) and answer with its
 * address; the TCP connection then only waits for its own end. */
static void
conn_udp_start(struct s5_conn *c, const struct socks5_request *req)
{
	struct socks5_udp_params p;
	struct sockaddr_storage bnd;
	char why[160];
	uint8_t rep;

	if (c->user->cfg->eff.upstream_proxy != NULL) {
		/* Datagrams would leave directly, around the proxy the
		 * operator chose for this user: refuse instead. */
		conn_refuse(c, SOCKS5_REP_CMD_UNSUPPORTED, "UDP ASSOCIATE is "
		    "not available through an upstream proxy");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.loop = c->w->loop;
	p.resolver = c->w->env.resolver;
	p.snap = c->snap;
	p.user = c->user;
	p.ctrl_peer = c->peer;
	p.ctrl_local = c->local;
	p.peer_str = c->peer_str;
	p.scratch = &c->w->udp_scratch;
	p.end = conn_udp_end;
	p.arg = c;
	if (socks5_udp_new(&p, req, &c->udp, &bnd, &rep, why,
	    sizeof(why)) != 0) {
		conn_refuse(c, rep, why);
		return;
	}
	if (conn_reply(c, SOCKS5_REP_SUCCEEDED,
	    (const struct sockaddr *)&bnd) != 0) {
		conn_close_later(c);
		return;
	}
	buf_reset(&c->in);
	c->state = S5_UDP;
	conn_emit(c, STREAM_START, 0, 0, "udp_associate", 0);
}

/* A complete request was parsed: policy, then resolve or connect. */
static void
conn_on_request(struct s5_conn *c, const struct socks5_request *req)
{
	struct sockaddr_storage ss;
	struct acl_match why;
	char text[200];
	socklen_t sl;

	if (c->timer != NULL) {
		ev_timer_cancel(c->w->loop, c->timer);
		c->timer = NULL;
	}
	if (conn_target(c, req) != 0) {
		conn_refuse(c, SOCKS5_REP_HOST_UNREACHABLE, "invalid name");
		return;
	}
	FLOW(c, "step=request cmd=%u target=%s:%u", (unsigned)req->cmd,
	    c->host, c->port);
	if (req->cmd == SOCKS5_CMD_UDP_ASSOCIATE) {
		/* An association is a stream for the session gate, the
		 * connection limits and the quotas. */
		if (conn_check_limits(c) == 0)
			conn_udp_start(c, req);
		return;
	}
	if (req->cmd != SOCKS5_CMD_CONNECT) {
		conn_refuse(c, SOCKS5_REP_CMD_UNSUPPORTED,
		    "command not supported");
		return;
	}
	if (conn_check_limits(c) != 0)
		return;
	if (conn_upstream_by_name(c))
		return;
	if (!c->host_is_name) {
		if (net_sockaddr_parse_literal(c->host, c->port, &ss,
		    &sl) != 0) {
			conn_refuse(c, SOCKS5_REP_GENERAL_FAILURE,
			    "bad address");
			return;
		}
		conn_connect(c, &ss, 1);
		return;
	}
	if (acl_check_name(&c->user->acl, c->host, c->port, &why) ==
	    ACL_DENY) {
		acl_match_format(&why, text, sizeof(text));
		conn_refuse_acl(c, text);
		return;
	}
	c->state = S5_RESOLVING;
	c->rreq = net_resolve(c->w->env.resolver, c->w->loop, c->host,
	    resolve_done, c);
}

/* Consumes as many complete messages as the current state allows. */
static void
conn_process(struct s5_conn *c)
{
	struct socks5_greeting g;
	struct socks5_userpass up;
	struct socks5_request req;
	uint8_t choice[2] = { SOCKS5_VERSION, SOCKS5_AUTH_USERPASS };
	int r = 0;

	while (!c->dead && r == 0) {
		switch (c->state) {
		case S5_REJECT:
			if ((r = socks5_parse_greeting(&c->in, &g)) != 0)
				break;
			choice[1] = SOCKS5_AUTH_NOACCEPT;
			(void)send(c->fd, choice, 2, MSG_NOSIGNAL);
			conn_close_later(c);
			return;
		case S5_GREETING:
			if ((r = socks5_parse_greeting(&c->in, &g)) != 0)
				break;
			if (!socks5_greeting_has(&g, SOCKS5_AUTH_USERPASS)) {
				choice[1] = SOCKS5_AUTH_NOACCEPT;
				(void)send(c->fd, choice, 2, MSG_NOSIGNAL);
				conn_emit_auth(c, 0, "", "none",
				    "no acceptable method");
				log_info("event=auth.failure proto=socks5 "
				    "peer=%s reason=\"no username/password "
				    "method offered\"", c->peer_str);
				conn_close_later(c);
				return;
			}
			if (send(c->fd, choice, 2, MSG_NOSIGNAL) != 2) {
				conn_close_later(c);
				return;
			}
			c->state = S5_AUTH;
			break;
		case S5_AUTH:
			if ((r = socks5_parse_userpass(&c->in, &up)) != 0) {
				socks5_userpass_wipe(&up);
				break;
			}
			conn_start_verify(c, &up);
			return;
		case S5_REQUEST:
			if ((r = socks5_parse_request(&c->in, &req)) != 0) {
				if (r == ERR_PROTO && req.atyp_unsupported)
					conn_refuse(c,
					    SOCKS5_REP_ATYP_UNSUPPORTED,
					    "address type not supported");
				break;
			}
			conn_on_request(c, &req);
			return;
		default:
			return;	/* waiting for an async step */
		}
	}
	if (r == ERR_PROTO && !c->dead) {
		log_info("event=protocol.error proto=socks5 peer=%s state=%d",
		    c->peer_str, (int)c->state);
		conn_close_later(c);
	} else if (r == ERR_INCOMPLETE && buf_len(&c->in) == c->in.max) {
		conn_close_later(c);	/* a message larger than any valid */
	}
}

/* Every second: close live sessions the policy no longer allows
 * (account expired, time window over, maintenance with disconnect). */
static void
worker_tick(struct ev *loop, struct ev_timer *t, void *arg)
{
	struct socks5_worker *w = arg;
	struct policy_snap *cur = policy_holder_get(w->env.policy);
	int64_t now = policy_now_ms();
	struct s5_conn *c = NULL;
	const char *why = NULL;

	/* The account as the session started; maintenance as it is now. */
	for (c = w->conns; c != NULL; c = c->next) {
		if (c->dead || c->state < S5_REQUEST || c->user == NULL ||
		    c->state == S5_FAILING || c->state == S5_REJECT)
			continue;
		if ((why = policy_session_check(cur, c->user, now)) == NULL)
			continue;
		log_info("event=session.closed proto=socks5 peer=%s user=%s "
		    "reason=\"%s\"", c->peer_str, c->user->cfg->username, why);
		conn_close_later(c);
	}
	policy_snap_unref(cur);
	ev_timer_reset(loop, t, 1000);
}

/* Creates a worker serving listen_fd on loop. */
struct socks5_worker *
socks5_worker_new(struct ev *loop, const struct socks5_env *env,
    int listen_fd)
{
	struct socks5_worker *w = xcalloc(1, sizeof(*w));

	w->loop = loop;
	w->env = *env;
	w->lfd = listen_fd;
	w->pipes = net_pipe_cache_new(64);
	if (env->tls != NULL)
		w->tls = net_tls_set_new(loop, env->tls, 0);
	if (ev_add(loop, listen_fd, EV_READ, worker_on_accept, w) != 0) {
		net_tls_set_free(w->tls);
		net_pipe_cache_free(w->pipes);
		free(w);
		return NULL;
	}
	ev_set_before_sleep(loop, worker_reap, w);
	w->tick = ev_timer_add(loop, 1000, worker_tick, w);
	return w;
}

/* Stops accepting; the listener is closed. */
void
socks5_worker_stop_accepting(struct socks5_worker *w)
{
	if (w->lfd < 0)
		return;
	ev_del(w->loop, w->lfd);
	close(w->lfd);
	w->lfd = -1;
}

/* Live connections; readable from any thread. */
size_t
socks5_worker_active(const struct socks5_worker *w)
{
	return atomic_load(&w->nconns);
}

/* Closes everything and frees the worker. */
void
socks5_worker_free(struct socks5_worker *w)
{
	struct s5_conn *c = NULL;

	if (w == NULL)
		return;
	socks5_worker_stop_accepting(w);
	ev_timer_cancel(w->loop, w->tick);
	for (c = w->conns; c != NULL; c = c->next)
		conn_close_later(c);
	worker_reap(w->loop, w);
	ev_set_before_sleep(w->loop, NULL, NULL);
	net_pipe_cache_free(w->pipes);
	socks5_udp_scratch_free(w->udp_scratch);
	net_tls_set_free(w->tls);
	free(w);
}

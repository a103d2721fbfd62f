/*
 * Client side of SOCKS5 (RFC 1928, RFC 1929) for chaining through an
 * upstream proxy. See net.h.
 *
 * resolve the proxy -> connect (Happy Eyeballs) -> greeting -> [auth]
 * -> CONNECT -> reply. Replies are read with exact lengths, so no byte
 * of the tunnel that follows is consumed here.
 */
#include "net/net.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/util.h"

/* SOCKS5 reply codes we report for local failures. */
#define UP_REP_GENERAL		0x01
#define UP_REP_HOST_UNREACH	0x04
#define UP_REP_REFUSED		0x05
#define UP_REP_TTL		0x06

enum up_state {
	UP_RESOLVING = 0,
	UP_CONNECTING,
	UP_METHOD,	/* greeting sent, 2 bytes expected */
	UP_AUTH,	/* RFC 1929 sent, 2 bytes expected */
	UP_REPLY,	/* CONNECT sent, reading the reply */
};

struct net_upstream {
	struct ev		*loop;
	net_upstream_cb		 cb;
	void			*arg;
	enum up_state		 st;
	struct net_resolve_req	*rreq;
	struct net_connect	*creq;
	struct ev_timer		*timer;
	uint32_t		 timeout_ms;
	int			 fd;
	int			 watched;
	uint16_t		 proxy_port;
	char			 host[256];
	uint16_t		 port;
	char			 user[256];
	char			 pass[256];
	int			 has_user;
	unsigned char		 in[4 + 256 + 2];
	size_t			 have, need;
	struct sockaddr_storage	 local;
};

/* Releases everything; the fd too unless it was handed over. */
static void
up_destroy(struct net_upstream *u)
{
	if (u->timer != NULL)
		ev_timer_cancel(u->loop, u->timer);
	if (u->rreq != NULL)
		net_resolve_cancel(u->rreq);
	if (u->creq != NULL)
		net_connect_cancel(u->creq);
	if (u->watched)
		ev_del(u->loop, u->fd);
	if (u->fd >= 0)
		close(u->fd);
	util_wipe(u->user, sizeof(u->user));
	util_wipe(u->pass, sizeof(u->pass));
	free(u);
}

/* Reports a failure and frees the attempt. */
static void
up_fail(struct net_upstream *u, uint8_t rep, const char *fmt, const char *a)
{
	struct net_upstream_result res;

	memset(&res, 0, sizeof(res));
	res.fd = -1;
	res.rep = rep;
	snprintf(res.why, sizeof(res.why), fmt, a);
	if (u->timer != NULL) {
		ev_timer_cancel(u->loop, u->timer);
		u->timer = NULL;
	}
	u->cb(u->arg, &res);
	up_destroy(u);
}

/* Hands the tunnel over and frees the attempt. */
static void
up_done(struct net_upstream *u)
{
	struct net_upstream_result res;

	memset(&res, 0, sizeof(res));
	res.ok = 1;
	res.fd = u->fd;
	res.local = u->local;
	ev_del(u->loop, u->fd);
	u->watched = 0;
	u->fd = -1;
	if (u->timer != NULL) {
		ev_timer_cancel(u->loop, u->timer);
		u->timer = NULL;
	}
	u->cb(u->arg, &res);
	up_destroy(u);
}

/* Sends a whole small message (a fresh socket takes it at once). */
static int
up_send(struct net_upstream *u, const unsigned char *p, size_t n)
{
	ssize_t w;

	do {
		w = send(u->fd, p, n, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	return w == (ssize_t)n ? 0 : ERR_IO;
}

/* Sends the CONNECT request, with the target as a literal or a name. */
static int
up_send_request(struct net_upstream *u)
{
	unsigned char m[4 + 1 + 255 + 2];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n = 4, hl;

	m[0] = 0x05;
	m[1] = 0x01;
	m[2] = 0x00;
	if (inet_pton(AF_INET, u->host, &a4) == 1) {
		m[3] = 0x01;
		memcpy(m + n, &a4, 4);
		n += 4;
	} else if (inet_pton(AF_INET6, u->host, &a6) == 1) {
		m[3] = 0x04;
		memcpy(m + n, &a6, 16);
		n += 16;
	} else {
		hl = strlen(u->host);
		m[3] = 0x03;
		m[n++] = (unsigned char)hl;
		memcpy(m + n, u->host, hl);
		n += hl;
	}
	m[n++] = (unsigned char)(u->port >> 8);
	m[n++] = (unsigned char)(u->port & 0xff);
	u->st = UP_REPLY;
	u->have = 0;
	u->need = 4;
	return up_send(u, m, n);
}

/* Sends the RFC 1929 request; the copy on the stack is wiped. */
static int
up_send_auth(struct net_upstream *u)
{
	unsigned char m[3 + 255 + 255];
	size_t ul = strlen(u->user), pl = strlen(u->pass), n = 0;
	int r;

	m[n++] = 0x01;
	m[n++] = (unsigned char)ul;
	memcpy(m + n, u->user, ul);
	n += ul;
	m[n++] = (unsigned char)pl;
	memcpy(m + n, u->pass, pl);
	n += pl;
	r = up_send(u, m, n);
	util_wipe(m, sizeof(m));
	util_wipe(u->pass, sizeof(u->pass));
	u->st = UP_AUTH;
	u->have = 0;
	u->need = 2;
	return r;
}

/* A whole message of the current state has arrived. Returns 1 when
 * the attempt has ended (reported), 0 to go on reading. */
static int
up_step(struct net_upstream *u)
{
	unsigned char *b = u->in;

	switch (u->st) {
	case UP_METHOD:
		if (b[0] != 0x05) {
			up_fail(u, UP_REP_GENERAL, "upstream proxy %s: not "
			    "a SOCKS5 server", u->host);
			return 1;
		}
		if (b[1] == 0x02 && u->has_user) {
			if (up_send_auth(u) != 0)
				goto ioerr;
			return 0;
		}
		if (b[1] != 0x00) {
			up_fail(u, UP_REP_GENERAL, "upstream proxy refused "
			    "every authentication method (target %s)",
			    u->host);
			return 1;
		}
		if (up_send_request(u) != 0)
			goto ioerr;
		return 0;
	case UP_AUTH:
		if (b[1] != 0x00) {
			up_fail(u, UP_REP_GENERAL, "upstream proxy "
			    "authentication failed (target %s)", u->host);
			return 1;
		}
		if (up_send_request(u) != 0)
			goto ioerr;
		return 0;
	case UP_REPLY:
		if (u->need == 4) {
			if (b[0] != 0x05) {
				up_fail(u, UP_REP_GENERAL, "upstream proxy: "
				    "bad reply version (target %s)", u->host);
				return 1;
			}
			if (b[1] != 0x00) {
				up_fail(u, b[1], "upstream proxy refused "
				    "the CONNECT to %s", u->host);
				return 1;
			}
			if (b[3] == 0x01)
				u->need = 4 + 4 + 2;
			else if (b[3] == 0x04)
				u->need = 4 + 16 + 2;
			else if (b[3] == 0x03)
				u->need = 5;	/* then the length byte */
			else {
				up_fail(u, UP_REP_GENERAL, "upstream proxy: "
				    "bad reply address type (target %s)",
				    u->host);
				return 1;
			}
			return 0;
		}
		if (u->need == 5 && b[3] == 0x03) {
			u->need = 5 + b[4] + 2;
			if (u->have < u->need)
				return 0;
		}
		up_done(u);
		return 1;
	default:
		return 0;
	}
ioerr:
	up_fail(u, UP_REP_GENERAL, "upstream proxy: write failed (target %s)",
	    u->host);
	return 1;
}

/* Reads exactly what the current state still needs. */
static void
up_on_io(struct ev *loop, int fd, unsigned revents, void *arg)
{
	struct net_upstream *u = arg;
	ssize_t n;

	(void)loop;
	(void)revents;
	for (;;) {
		n = recv(fd, u->in + u->have, u->need - u->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			up_fail(u, UP_REP_GENERAL, "upstream proxy closed the "
			    "connection (target %s)", u->host);
			return;
		}
		u->have += (size_t)n;
		if (u->have == u->need && up_step(u) != 0)
			return;
	}
}

/* Connected to the proxy: send the greeting. */
static void
up_connected(void *arg, const struct net_connect_result *res)
{
	struct net_upstream *u = arg;
	unsigned char g[4] = { 0x05, 0x01, 0x00, 0x00 };
	size_t n = 3;

	u->creq = NULL;
	if (res->outcome != NET_OK) {
		up_fail(u, res->outcome == NET_REFUSED ? UP_REP_REFUSED :
		    res->outcome == NET_TIMEOUT ? UP_REP_TTL :
		    UP_REP_HOST_UNREACH, "cannot connect to the upstream "
		    "proxy: %s", net_outcome_str(res->outcome));
		return;
	}
	u->fd = res->fd;
	u->local = res->local;
	if (u->has_user) {
		g[1] = 0x02;
		g[3] = 0x02;
		n = 4;
	}
	if (ev_add(u->loop, u->fd, EV_READ, up_on_io, u) != 0) {
		up_fail(u, UP_REP_GENERAL, "upstream proxy: %s", "cannot "
		    "watch the socket");
		return;
	}
	u->watched = 1;
	u->st = UP_METHOD;
	u->have = 0;
	u->need = 2;
	if (up_send(u, g, n) != 0)
		up_fail(u, UP_REP_GENERAL, "upstream proxy: write failed "
		    "(target %s)", u->host);
}

/* The proxy's name resolved: connect. */
static void
up_resolved(void *arg, int status, const struct sockaddr_storage *addrs,
    size_t n)
{
	struct net_upstream *u = arg;
	struct sockaddr_storage copy[NET_RESOLVE_MAX_ADDRS];
	struct net_connect_opts o;
	size_t i;

	u->rreq = NULL;
	if (status != 0 || n == 0) {
		up_fail(u, UP_REP_HOST_UNREACH, "upstream proxy name does not "
		    "resolve%s", "");
		return;
	}
	if (n > NET_RESOLVE_MAX_ADDRS)
		n = NET_RESOLVE_MAX_ADDRS;
	memcpy(copy, addrs, n * sizeof(*addrs));
	for (i = 0; i < n; i++)
		net_sockaddr_set_port(&copy[i], u->proxy_port);
	net_connect_opts_init(&o);
	o.timeout_ms = u->timeout_ms;
	u->st = UP_CONNECTING;
	u->creq = net_connect_start(u->loop, copy, n, &o, up_connected, u);
}

/* The whole exchange took too long. */
static void
up_on_timer(struct ev *loop, struct ev_timer *t, void *arg)
{
	struct net_upstream *u = arg;

	(void)loop;
	(void)t;
	u->timer = NULL;
	up_fail(u, UP_REP_TTL, "upstream proxy did not answer in time "
	    "(target %s)", u->host);
}

struct net_upstream *
net_upstream_start(struct ev *loop, struct net_resolver *resolver,
    const char *proxy_host, uint16_t proxy_port, const char *user,
    const char *pass, const char *host, uint16_t port, uint32_t timeout_ms,
    net_upstream_cb cb, void *arg)
{
	struct net_upstream *u = xcalloc(1, sizeof(*u));

	u->loop = loop;
	u->cb = cb;
	u->arg = arg;
	u->fd = -1;
	u->proxy_port = proxy_port;
	u->port = port;
	u->timeout_ms = timeout_ms;
	snprintf(u->host, sizeof(u->host), "%s", host);
	if (user != NULL) {
		u->has_user = 1;
		snprintf(u->user, sizeof(u->user), "%s", user);
		snprintf(u->pass, sizeof(u->pass), "%s",
		    pass != NULL ? pass : "");
	}
	if (timeout_ms > 0)
		u->timer = ev_timer_add(loop, timeout_ms, up_on_timer, u);
	u->st = UP_RESOLVING;
	u->rreq = net_resolve(resolver, loop, proxy_host, up_resolved, u);
	return u;
}

void
net_upstream_cancel(struct net_upstream *u)
{
	if (u != NULL)
		up_destroy(u);
}

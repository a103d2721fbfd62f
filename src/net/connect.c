/*
 * Connector: nonblocking connects raced the Happy Eyeballs way (RFC 8305
 * sections 4-5), with whole-round retries and exponential backoff.
 *
 * One timer (step) drives the rounds: it starts the first attempt (0 ms
 * after net_connect_start, so the callback never runs inside it), the
 * next staggered attempt, and the next round after a backoff. Every
 * attempt in flight has its own socket, EV_WRITE watcher and deadline
 * timer.
 */
#include "net/net.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

struct conn_attempt {
	struct net_connect	*c;
	int			 fd;		/* -1: not in flight */
	struct ev_timer		*deadline;
};

struct net_connect {
	struct ev		*loop;
	net_connect_cb		 cb;
	void			*arg;
	struct net_connect_opts	 o;
	struct sockaddr_storage	*addrs;		/* interleaved order */
	struct conn_attempt	*att;		/* one per address */
	size_t			 n;
	size_t			 next;		/* next address this round */
	size_t			 active;	/* attempts in flight */
	unsigned		 round;		/* rounds started */
	struct ev_timer		*step;
	enum net_outcome	 best;		/* of this round */
	int			 best_errno;
	unsigned		 attempts;
};

static void	conn_step(struct ev *, struct ev_timer *, void *);

/* Fills in the defaults. */
void
net_connect_opts_init(struct net_connect_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 10000;
	o->retries = 0;
	o->retry_delay_ms = 1000;
	o->retry_max_delay_ms = 30000;
	o->he_delay_ms = 250;
	o->keepalive_idle_s = 60;
	o->keepalive_intvl_s = 15;
}

/* Orders addresses: families alternate, starting with the first one's. */
static void
conn_interleave(struct sockaddr_storage *dst,
    const struct sockaddr_storage *src, size_t n)
{
	size_t i, a = 0, b = 0, k = 0;
	sa_family_t first = n > 0 ? src[0].ss_family : AF_UNSPEC;
	int take_first = 1;

	while (k < n) {
		/* a walks the first family, b the others. */
		while (a < n && src[a].ss_family != first) {
			a++;
		}
		while (b < n && src[b].ss_family == first) {
			b++;
		}
		if ((take_first && a < n) || b >= n) {
			i = a++;
		} else {
			i = b++;
		}
		dst[k++] = src[i];
		take_first = !take_first;
	}
}

/* Ranks outcomes: higher says more about the target. */
static int
conn_rank(enum net_outcome o)
{
	switch (o) {
	case NET_REFUSED:
		return 5;
	case NET_HOST_UNREACH:
		return 4;
	case NET_NET_UNREACH:
		return 3;
	case NET_TIMEOUT:
		return 2;
	case NET_FAILED:
		return 1;
	case NET_OK:
		break;
	}
	return 0;
}

/* Records a failed attempt's errno. */
static void
conn_note(struct net_connect *c, enum net_outcome o, int e)
{
	if (conn_rank(o) > conn_rank(c->best)) {
		c->best = o;
		c->best_errno = e;
	}
}

/* Stops one attempt: watcher, timer, socket. */
static void
conn_attempt_close(struct net_connect *c, struct conn_attempt *a)
{
	if (a->fd < 0) {
		return;
	}
	(void)ev_del(c->loop, a->fd);
	close(a->fd);
	a->fd = -1;
	ev_timer_cancel(c->loop, a->deadline);
	a->deadline = NULL;
	c->active--;
}

/* Closes everything and frees the connector. */
static void
conn_destroy(struct net_connect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		conn_attempt_close(c, &c->att[i]);
	}
	ev_timer_cancel(c->loop, c->step);
	free(c->addrs);
	free(c->att);
	free(c);
}

/* Reports a result and frees the connector. */
static void
conn_finish(struct net_connect *c, struct net_connect_result *res)
{
	res->attempts = c->attempts;
	c->cb(c->arg, res);
	conn_destroy(c);
}

/* Hands the connected socket of attempt i to the caller. */
static void
conn_win(struct net_connect *c, size_t i)
{
	struct conn_attempt *a = &c->att[i];
	struct net_connect_result res;
	socklen_t len = sizeof(res.local);

	memset(&res, 0, sizeof(res));
	res.outcome = NET_OK;
	res.fd = a->fd;
	res.peer = c->addrs[i];
	(void)ev_del(c->loop, a->fd);
	ev_timer_cancel(c->loop, a->deadline);
	a->deadline = NULL;
	a->fd = -1;
	c->active--;
	(void)getsockname(res.fd, (struct sockaddr *)&res.local, &len);
	(void)net_set_nodelay(res.fd);
	if (c->o.keepalive_idle_s > 0) {
		(void)net_set_keepalive(res.fd, c->o.keepalive_idle_s,
		    c->o.keepalive_intvl_s);
	}
	conn_finish(c, &res);
}

/* Ends the round: retry after the backoff, or report the failure. */
static void
conn_round_failed(struct net_connect *c)
{
	struct net_connect_result res;
	uint64_t delay;
	unsigned k;

	if (c->n > 0 && c->round <= c->o.retries) {
		delay = c->o.retry_delay_ms;
		for (k = 1; k < c->round && delay < c->o.retry_max_delay_ms;
		    k++) {
			delay *= 2;
		}
		if (delay > c->o.retry_max_delay_ms) {
			delay = c->o.retry_max_delay_ms;
		}
		log_debug("round=%u outcome=%s retry_in_ms=%llu", c->round,
		    net_outcome_str(c->best), (unsigned long long)delay);
		c->next = c->n;	/* step starts a new round */
		c->step = ev_timer_add(c->loop, delay, conn_step, c);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.fd = -1;
	res.outcome = c->n > 0 ? c->best : NET_FAILED;
	res.sys_errno = c->n > 0 ? c->best_errno : EDESTADDRREQ;
	if (res.outcome == NET_OK) {
		res.outcome = NET_FAILED;
	}
	conn_finish(c, &res);
}

/* Fails attempt a with errno e; moves on to the next address. */
static void
conn_attempt_failed(struct net_connect *c, struct conn_attempt *a, int e,
    int timed_out)
{
	conn_note(c, timed_out ? NET_TIMEOUT : net_outcome_from_errno(e), e);
	conn_attempt_close(c, a);
	if (c->next < c->n) {
		/* RFC 8305: a failure starts the next attempt at once. */
		ev_timer_cancel(c->loop, c->step);
		c->step = NULL;
		conn_step(c->loop, NULL, c);
	} else if (c->active == 0) {
		conn_round_failed(c);
	}
}

/* Deadline of one attempt. */
static void
conn_deadline(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct conn_attempt *a = arg;

	(void)ev;
	(void)t;
	a->deadline = NULL;
	conn_attempt_failed(a->c, a, ETIMEDOUT, 1);
}

/* Socket of an attempt became writable or failed. */
static void
conn_io(struct ev *ev, int fd, unsigned revents, void *arg)
{
	struct conn_attempt *a = arg;
	struct net_connect *c = a->c;
	socklen_t len = sizeof(int);
	int e = 0;

	(void)ev;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) {
		e = errno;
	}
	if (e != 0) {
		conn_attempt_failed(c, a, e, 0);
	} else if (revents & EV_WRITE) {
		conn_win(c, (size_t)(a - c->att));
	}
}

/* Opens a socket for address i and binds it if asked. -errno on error. */
static int
conn_socket(struct net_connect *c, size_t i)
{
	const struct sockaddr_storage *ss = &c->addrs[i];
	int fd, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd < 0) {
		return -errno;
	}
	if (c->o.bind_len > 0) {
		if (c->o.bind_addr.ss_family != ss->ss_family) {
			close(fd);
			return -EAFNOSUPPORT;
		}
		if (net_sockaddr_port(&c->o.bind_addr) == 0) {
			/* Pick the port at connect time: no port starvation. */
			e = 1;
			(void)setsockopt(fd, IPPROTO_IP,
			    IP_BIND_ADDRESS_NO_PORT, &e, sizeof(e));
		}
		if (bind(fd, (const struct sockaddr *)&c->o.bind_addr,
		    c->o.bind_len) < 0) {
			e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

/*
 * Starts the attempt on address i. Returns 1 if it connected at once, 0 if
 * it is in flight, or -errno if it failed at once.
 */
static int
conn_attempt_open(struct net_connect *c, size_t i)
{
	struct conn_attempt *a = &c->att[i];
	const struct sockaddr_storage *ss = &c->addrs[i];
	int fd, e;

	c->attempts++;
	if ((fd = conn_socket(c, i)) < 0) {
		return fd;
	}
	a->fd = fd;
	c->active++;
	if (connect(fd, (const struct sockaddr *)ss,
	    net_sockaddr_len(ss)) == 0) {
		return 1;
	}
	e = errno;
	if (e != EINPROGRESS && e != EINTR) {
		goto fail;
	}
	if (ev_add(c->loop, fd, EV_WRITE, conn_io, a) != 0) {
		goto fail;
	}
	if (c->o.timeout_ms > 0) {
		a->deadline = ev_timer_add(c->loop, c->o.timeout_ms,
		    conn_deadline, a);
	}
	return 0;
fail:
	close(fd);
	a->fd = -1;
	c->active--;
	return -e;
}

/* Starts the next attempt (or a new round); arms the stagger timer. */
static void
conn_step(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct net_connect *c = arg;
	size_t i;
	int r;

	(void)ev;
	if (t != NULL) {
		c->step = NULL;	/* fired: the loop frees it */
	}
	if (c->next >= c->n && c->active == 0) {
		/* Start of a round (the first, or a retry). */
		c->round++;
		c->next = 0;
		c->best = NET_OK;
		c->best_errno = 0;
	}
	while (c->next < c->n) {
		i = c->next++;
		r = conn_attempt_open(c, i);
		if (r == 1) {
			conn_win(c, i);
			return;
		}
		if (r == 0) {
			if (c->next < c->n) {
				c->step = ev_timer_add(c->loop,
				    c->o.he_delay_ms, conn_step, c);
			}
			return;
		}
		conn_note(c, net_outcome_from_errno(-r), -r);
	}
	if (c->active == 0) {
		conn_round_failed(c);
	}
}

/* Starts connecting; the first step runs from a 0 ms timer. */
struct net_connect *
net_connect_start(struct ev *loop, const struct sockaddr_storage *addrs,
    size_t naddrs, const struct net_connect_opts *opts, net_connect_cb cb,
    void *arg)
{
	struct net_connect *c = NULL;
	size_t i;

	c = xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->cb = cb;
	c->arg = arg;
	if (opts != NULL) {
		c->o = *opts;
	} else {
		net_connect_opts_init(&c->o);
	}
	if (c->o.retry_max_delay_ms == 0) {
		c->o.retry_max_delay_ms = 30000;
	}
	c->n = naddrs;
	c->next = naddrs;	/* the first step starts round 1 */
	c->addrs = xcalloc(naddrs > 0 ? naddrs : 1, sizeof(*c->addrs));
	c->att = xcalloc(naddrs > 0 ? naddrs : 1, sizeof(*c->att));
	conn_interleave(c->addrs, addrs, naddrs);
	for (i = 0; i < naddrs; i++) {
		c->att[i].c = c;
		c->att[i].fd = -1;
	}
	c->step = ev_timer_add(loop, 0, conn_step, c);
	return c;
}

/* Abandons a connect: no callback. */
void
net_connect_cancel(struct net_connect *c)
{
	if (c != NULL) {
		conn_destroy(c);
	}
}

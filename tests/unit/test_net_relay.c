/*
 * Unit tests for net/relay.c. Both ends of every relay are driven in the
 * same loop by small nonblocking endpoints that send a position-dependent
 * pattern and check every byte they receive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "net/net.h"

/* One end of a test connection. */
struct endp {
	struct ev	*ev;
	int		 fd;
	size_t		 tosend;	/* pattern bytes to send */
	size_t		 sent;
	unsigned	 seed;		/* of what we send */
	unsigned	 rseed;		/* of what we expect */
	int		 reply_after_eof; /* send only after the peer's EOF */
	int		 shut;		/* our SHUT_WR done */
	uint64_t	 rx;
	int		 bad;		/* pattern mismatches */
	int		 eof;
	int		 err;
};

/* What the done callback saw. */
struct done {
	int			 calls;
	uint64_t		 ab;
	uint64_t		 ba;
	enum net_relay_reason	 reason;
	uint64_t		 at_ms;
	struct ev		*ev;
	struct net_relay	*free_me;
};

static unsigned char
pat(unsigned seed, size_t i)
{
	return (unsigned char)((i * 131u + seed + (i >> 9)) & 0xff);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL) {
		n++;
	}
	closedir(d);
	return n;
}

/* Sends what is left; shuts down when everything went out. */
static void
endp_send(struct endp *e)
{
	unsigned char chunk[16384];
	size_t i, n;
	ssize_t w;

	if (e->reply_after_eof && !e->eof) {
		return;
	}
	while (e->sent < e->tosend) {
		n = e->tosend - e->sent;
		if (n > sizeof(chunk)) {
			n = sizeof(chunk);
		}
		for (i = 0; i < n; i++) {
			chunk[i] = pat(e->seed, e->sent + i);
		}
		w = send(e->fd, chunk, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN) {
				e->err = errno;
			}
			return;
		}
		e->sent += (size_t)w;
	}
	if (!e->shut) {
		(void)shutdown(e->fd, SHUT_WR);
		e->shut = 1;
	}
}

/* Reads to EAGAIN, checking the pattern. */
static void
endp_recv(struct endp *e)
{
	unsigned char buf[16384];
	ssize_t n, i;

	while (!e->eof) {
		n = read(e->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno != EAGAIN) {
				e->err = errno;
			}
			return;
		}
		if (n == 0) {
			e->eof = 1;
			return;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] != pat(e->rseed, e->rx + (size_t)i)) {
				e->bad++;
			}
		}
		e->rx += (uint64_t)n;
	}
}

static void
endp_io(struct ev *ev, int fd, unsigned revents, void *arg)
{
	struct endp *e = arg;

	(void)ev;
	(void)fd;
	(void)revents;
	endp_recv(e);
	endp_send(e);
}

static void
endp_start(struct endp *e, struct ev *ev, int fd, size_t tosend,
    unsigned seed, unsigned rseed)
{
	memset(e, 0, sizeof(*e));
	e->ev = ev;
	e->fd = fd;
	e->tosend = tosend;
	e->seed = seed;
	e->rseed = rseed;
	assert_int_equal(net_set_nonblock(fd), 0);
	assert_int_equal(ev_add(ev, fd, EV_READ | EV_WRITE, endp_io, e), 0);
}

static void
endp_stop(struct endp *e)
{
	if (e->fd >= 0) {
		(void)ev_del(e->ev, e->fd);
		close(e->fd);
		e->fd = -1;
	}
}

static void
on_done(void *arg, uint64_t ab, uint64_t ba, enum net_relay_reason reason)
{
	struct done *d = arg;

	d->calls++;
	d->ab = ab;
	d->ba = ba;
	d->reason = reason;
	ev_update_now(d->ev);
	d->at_ms = ev_now_ms(d->ev);
	if (d->free_me != NULL) {
		net_relay_free(d->free_me);
		d->free_me = NULL;
	}
}

/* A connected TCP pair over 127.0.0.1. */
static void
tcp_pair(int sv[2])
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char err[64];
	int lfd;

	lfd = net_listen_tcp("127.0.0.1", 0, 0, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sv[0] >= 0);
	assert_int_equal(connect(sv[0], (struct sockaddr *)&sin, len), 0);
	do {
		sv[1] = accept(lfd, NULL, NULL);
	} while (sv[1] < 0 && errno == EAGAIN);
	assert_true(sv[1] >= 0);
	close(lfd);
}

/* Two connections: client <-> relay side a, relay side b <-> server. */
struct rig {
	struct ev	*ev;
	struct endp	 ca;		/* client, talks to fd_a */
	struct endp	 sb;		/* server, talks to fd_b */
	int		 fd_a;
	int		 fd_b;
	struct done	 d;
	struct net_relay *r;
};

static void
rig_open(struct rig *g, struct ev *ev, int tcp)
{
	int p[2], q[2];

	memset(g, 0, sizeof(*g));
	g->ev = ev;
	g->d.ev = ev;
	if (tcp) {
		tcp_pair(p);
		tcp_pair(q);
	} else {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, q), 0);
	}
	g->ca.fd = p[0];
	g->fd_a = p[1];
	g->fd_b = q[0];
	g->sb.fd = q[1];
}

static void
rig_close(struct rig *g)
{
	endp_stop(&g->ca);
	endp_stop(&g->sb);
	net_relay_free(g->r);
	g->r = NULL;
}

/* Runs until cond(g) holds for every rig (fails after 10 s). */
static void
run_rigs(struct ev *ev, struct rig *g, size_t n, int (*cond)(struct rig *))
{
	size_t i, ok = 0;
	int k;

	for (k = 0; k < 2000; k++) {
		for (ok = 0, i = 0; i < n; i++) {
			ok += cond(&g[i]) ? 1 : 0;
		}
		if (ok == n) {
			return;
		}
		assert_true(ev_run_once(ev, 5) >= 0);
	}
	fail_msg("only %zu of %zu relays finished", ok, n);
}

static int
all_done(struct rig *g)
{
	return g->d.calls > 0 && g->ca.eof && g->sb.eof;
}

/* Echo-style transfer: n1 bytes a->b and n2 bytes b->a at once. */
static void
transfer(struct ev *ev, int tcp, const struct net_relay_opts *o, size_t n1,
    size_t n2)
{
	struct rig g;

	rig_open(&g, ev, tcp);
	endp_start(&g.ca, ev, g.ca.fd, n1, 11, 22);
	endp_start(&g.sb, ev, g.sb.fd, n2, 22, 11);
	g.r = net_relay_new(ev, g.fd_a, g.fd_b, o, on_done, &g.d);
	assert_non_null(g.r);
	assert_int_equal(net_relay_is_copy(g.r), o->copy ? 1 : 0);
	run_rigs(ev, &g, 1, all_done);
	assert_int_equal(g.d.calls, 1);
	assert_int_equal(g.d.reason, NET_RELAY_EOF);
	assert_int_equal(g.d.ab, n1);
	assert_int_equal(g.d.ba, n2);
	assert_int_equal(g.sb.rx, n1);
	assert_int_equal(g.ca.rx, n2);
	assert_int_equal(g.sb.bad, 0);
	assert_int_equal(g.ca.bad, 0);
	assert_int_equal(g.ca.err, 0);
	assert_int_equal(g.sb.err, 0);
	rig_close(&g);
}

struct fixture {
	struct ev	*ev;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if ((f->ev = ev_new(0)) == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ev_free(f->ev);
	free(f);
	return 0;
}

static const size_t sizes[] = { 0, 1, 65536, 1024 * 1024 };

/* All sizes over socketpairs and TCP, in one mode. */
static void
transfer_all(struct ev *ev, int copy)
{
	struct net_relay_opts o;
	size_t i, j;
	int before = count_fds();

	memset(&o, 0, sizeof(o));
	o.copy = copy;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < 2; j++) {
			transfer(ev, (int)j, &o, sizes[i],
			    sizes[sizeof(sizes) / sizeof(sizes[0]) - 1 - i]);
			transfer(ev, (int)j, &o, sizes[i], sizes[i]);
		}
	}
	/* A small budget: the relay must come back by itself. */
	o.read_budget = 4096;
	o.copy_buf_size = 1000;
	o.pipe_size = 4096;
	transfer(ev, 1, &o, 300000, 200000);
	assert_int_equal(count_fds(), before);
}

static void
test_splice_sizes(void **state)
{
	struct fixture *f = *state;

	transfer_all(f->ev, 0);
}

static void
test_copy_sizes(void **state)
{
	struct fixture *f = *state;

	transfer_all(f->ev, 1);
}

/* A sends a request and shuts down; B answers after that EOF. */
static void
half_close(struct ev *ev, int copy)
{
	struct net_relay_opts o;
	struct rig g;

	memset(&o, 0, sizeof(o));
	o.copy = copy;
	rig_open(&g, ev, 1);
	endp_start(&g.ca, ev, g.ca.fd, 1000, 5, 6);
	endp_start(&g.sb, ev, g.sb.fd, 50000, 6, 5);
	g.sb.reply_after_eof = 1;
	g.r = net_relay_new(ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	assert_non_null(g.r);
	run_rigs(ev, &g, 1, all_done);
	assert_int_equal(g.d.reason, NET_RELAY_EOF);
	assert_int_equal(g.d.ab, 1000);
	assert_int_equal(g.d.ba, 50000);
	assert_int_equal(g.sb.rx, 1000);
	assert_int_equal(g.ca.rx, 50000);
	assert_int_equal(g.ca.bad + g.sb.bad, 0);
	rig_close(&g);
}

static void
test_half_close(void **state)
{
	struct fixture *f = *state;

	half_close(f->ev, 0);
	half_close(f->ev, 1);
}

/* Sends one byte from the client every 40 ms, five times. */
struct ticker {
	struct rig	*g;
	int		 left;
	uint64_t	 last_ms;
};

static void
tick(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct ticker *tk = arg;
	unsigned char c = pat(1, tk->g->ca.sent);

	assert_int_equal(send(tk->g->ca.fd, &c, 1, MSG_NOSIGNAL), 1);
	tk->g->ca.sent++;
	tk->last_ms = ev_now_ms(ev);
	if (--tk->left > 0) {
		ev_timer_reset(ev, t, 40);
	}
}

static int
relay_done(struct rig *g)
{
	return g->d.calls > 0;
}

static void
idle(struct ev *ev, int copy)
{
	struct net_relay_opts o;
	struct ticker tk;
	struct rig g;
	uint64_t t0;

	memset(&o, 0, sizeof(o));
	o.copy = copy;
	o.idle_timeout_ms = 100;
	/* Silence: ends after 100 ms. */
	rig_open(&g, ev, 0);
	ev_update_now(ev);
	t0 = ev_now_ms(ev);
	g.r = net_relay_new(ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	run_rigs(ev, &g, 1, relay_done);
	assert_int_equal(g.d.reason, NET_RELAY_IDLE);
	assert_true(g.d.at_ms - t0 >= 100);
	assert_true(g.d.at_ms - t0 < 1000);
	close(g.ca.fd);
	close(g.sb.fd);
	g.ca.fd = g.sb.fd = -1;
	rig_close(&g);
	/* Traffic every 40 ms keeps it alive; it ends 100 ms after. */
	rig_open(&g, ev, 0);
	endp_start(&g.sb, ev, g.sb.fd, 0, 0, 1);
	memset(&tk, 0, sizeof(tk));
	tk.g = &g;
	tk.left = 5;
	g.r = net_relay_new(ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	(void)ev_timer_add(ev, 40, tick, &tk);
	run_rigs(ev, &g, 1, relay_done);
	assert_int_equal(tk.left, 0);
	assert_int_equal(g.d.reason, NET_RELAY_IDLE);
	assert_int_equal(g.d.ab, 5);
	assert_true(g.d.at_ms - tk.last_ms >= 100);
	assert_int_equal(g.sb.rx, 5);
	assert_int_equal(g.sb.bad, 0);
	close(g.ca.fd);
	g.ca.fd = -1;
	rig_close(&g);
}

static void
test_idle_timeout(void **state)
{
	struct fixture *f = *state;

	idle(f->ev, 0);
	idle(f->ev, 1);
}

/* The server goes away while the client still sends. */
static void
peer_gone(struct ev *ev, int copy)
{
	struct net_relay_opts o;
	struct rig g;

	memset(&o, 0, sizeof(o));
	o.copy = copy;
	rig_open(&g, ev, 0);
	endp_start(&g.ca, ev, g.ca.fd, 4 * 1024 * 1024, 1, 2);
	close(g.sb.fd);
	g.sb.fd = -1;
	g.r = net_relay_new(ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	run_rigs(ev, &g, 1, relay_done);
	assert_int_equal(g.d.reason, NET_RELAY_ERR_B);
	assert_true(g.d.ab < 4 * 1024 * 1024);
	rig_close(&g);
}

static void
test_peer_gone(void **state)
{
	struct fixture *f = *state;

	peer_gone(f->ev, 0);
	peer_gone(f->ev, 1);
}

static void
test_free_early_and_in_done(void **state)
{
	struct fixture *f = *state;
	struct net_relay_opts o;
	struct rig g;
	int before = count_fds(), i;

	memset(&o, 0, sizeof(o));
	/* Freed before it ever ran: no callback, fds closed. */
	rig_open(&g, f->ev, 0);
	g.r = net_relay_new(f->ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	assert_non_null(g.r);
	net_relay_free(g.r);
	g.r = NULL;
	close(g.ca.fd);
	close(g.sb.fd);
	g.ca.fd = g.sb.fd = -1;
	assert_int_equal(count_fds(), before);
	/*
	 * Freed mid-transfer (the server does not read, so it cannot end):
	 * no callback, the client sees the close.
	 */
	rig_open(&g, f->ev, 0);
	endp_start(&g.ca, f->ev, g.ca.fd, 64 * 1024 * 1024, 1, 2);
	g.r = net_relay_new(f->ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	for (i = 0; i < 10; i++) {
		(void)ev_run_once(f->ev, 2);
	}
	net_relay_free(g.r);
	g.r = NULL;
	for (i = 0; i < 500 && !(g.ca.eof || g.ca.err); i++) {
		(void)ev_run_once(f->ev, 2);
	}
	assert_true(g.ca.eof || g.ca.err);
	assert_int_equal(g.d.calls, 0);
	assert_true(g.ca.sent > 0);
	close(g.sb.fd);
	g.sb.fd = -1;
	rig_close(&g);
	assert_int_equal(count_fds(), before);
	/* Freed from inside its own done callback. */
	rig_open(&g, f->ev, 0);
	endp_start(&g.ca, f->ev, g.ca.fd, 10, 1, 2);
	endp_start(&g.sb, f->ev, g.sb.fd, 10, 2, 1);
	g.r = net_relay_new(f->ev, g.fd_a, g.fd_b, &o, on_done, &g.d);
	g.d.free_me = g.r;
	run_rigs(f->ev, &g, 1, all_done);
	assert_null(g.d.free_me);
	g.r = NULL;
	rig_close(&g);
	assert_int_equal(count_fds(), before);
	/* Bad arguments. */
	assert_null(net_relay_new(f->ev, -1, 0, &o, on_done, &g.d));
	assert_null(net_relay_new(f->ev, 0, 0, &o, on_done, &g.d));
	net_relay_free(NULL);
}

#define NRIGS	100

static void
many(struct ev *ev, int copy)
{
	static struct rig g[NRIGS];
	struct net_relay_opts o;
	struct net_pipe_cache *pc = net_pipe_cache_new(64);
	_Atomic uint64_t up = 0, down = 0;
	size_t i;
	int before = count_fds();

	memset(&o, 0, sizeof(o));
	o.copy = copy;
	o.pipes = pc;
	o.total_a_to_b = &up;
	o.total_b_to_a = &down;
	for (i = 0; i < NRIGS; i++) {
		rig_open(&g[i], ev, (int)(i % 2));
		endp_start(&g[i].ca, ev, g[i].ca.fd, 20000 + i, (unsigned)i,
		    (unsigned)i + 1000);
		endp_start(&g[i].sb, ev, g[i].sb.fd, 30000 - i,
		    (unsigned)i + 1000, (unsigned)i);
		g[i].r = net_relay_new(ev, g[i].fd_a, g[i].fd_b, &o, on_done,
		    &g[i].d);
		assert_non_null(g[i].r);
	}
	run_rigs(ev, g, NRIGS, all_done);
	for (i = 0; i < NRIGS; i++) {
		assert_int_equal(g[i].d.reason, NET_RELAY_EOF);
		assert_int_equal(g[i].d.ab, 20000 + i);
		assert_int_equal(g[i].d.ba, 30000 - i);
		assert_int_equal(g[i].ca.bad + g[i].sb.bad, 0);
		rig_close(&g[i]);
	}
	assert_int_equal(atomic_load(&up), NRIGS * 20000 +
	    NRIGS * (NRIGS - 1) / 2);
	assert_int_equal(atomic_load(&down), NRIGS * 30000 -
	    NRIGS * (NRIGS - 1) / 2);
	/* Splice relays gave their empty pipes back, up to the cap. */
	assert_int_equal(net_pipe_cache_count(pc), copy ? 0 : 64);
	net_pipe_cache_free(pc);
	assert_int_equal(count_fds(), before);
}

/* Reads exactly n bytes from a nonblocking fd while running the loop. */
static void
pump_read(struct ev *ev, int fd, size_t n)
{
	char buf[4096];
	size_t got = 0;
	ssize_t r;
	int k;

	for (k = 0; k < 2000 && got < n; k++) {
		assert_true(ev_run_once(ev, 5) >= 0);
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			got += (size_t)r;
	}
	assert_int_equal(got, n);
}

/* Tunnels that went quiet hold no pipe: only the cache keeps a few. */
static void
test_idle_relays_hold_no_pipes(void **state)
{
	struct fixture *f = *state;
	static struct rig g[20];
	struct net_relay_opts o;
	struct net_pipe_cache *pc = net_pipe_cache_new(4);
	char msg[1000];
	int before, i, k;

	memset(&o, 0, sizeof(o));
	memset(msg, 'x', sizeof(msg));
	o.pipes = pc;
	for (i = 0; i < 20; i++) {
		rig_open(&g[i], f->ev, i % 2);
		assert_int_equal(fcntl(g[i].ca.fd, F_SETFL, O_NONBLOCK), 0);
		assert_int_equal(fcntl(g[i].sb.fd, F_SETFL, O_NONBLOCK), 0);
	}
	before = count_fds();
	for (i = 0; i < 20; i++) {
		g[i].r = net_relay_new(f->ev, g[i].fd_a, g[i].fd_b, &o,
		    on_done, &g[i].d);
		assert_non_null(g[i].r);
		assert_int_equal(write(g[i].ca.fd, msg, sizeof(msg)),
		    sizeof(msg));
		pump_read(f->ev, g[i].sb.fd, sizeof(msg));
		assert_int_equal(write(g[i].sb.fd, msg, sizeof(msg)),
		    sizeof(msg));
		pump_read(f->ev, g[i].ca.fd, sizeof(msg));
	}
	for (k = 0; k < 20; k++)
		assert_true(ev_run_once(f->ev, 1) >= 0);
	assert_true(net_relay_is_copy(g[0].r) == 0);
	/* the 40 relay sockets are still open; pipes only in the cache */
	assert_true(net_pipe_cache_count(pc) >= 1);
	assert_int_equal(count_fds(), before +
	    2 * (int)net_pipe_cache_count(pc));
	for (i = 0; i < 20; i++) {
		net_relay_free(g[i].r);
		close(g[i].ca.fd);
		close(g[i].sb.fd);
	}
	net_pipe_cache_free(pc);
}

static void
test_many_relays(void **state)
{
	struct fixture *f = *state;

	many(f->ev, 0);
	many(f->ev, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_splice_sizes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_copy_sizes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idle_relays_hold_no_pipes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_early_and_in_done,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_relays, setup,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

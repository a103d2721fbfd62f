/*
 * Unit tests for net/connect.c over loopback: success, refusal, Happy
 * Eyeballs ordering and staggering, timeouts, retries with backoff,
 * cancellation. A "black hole" (a port whose SYNs go unanswered) is a
 * listener with a full accept queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "net/net.h"

struct result {
	int			 calls;
	struct net_connect_result res;
	uint64_t		 at_ms;
};

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

/* Counts open fds of this process. */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de = NULL;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		n++;
	}
	closedir(d);
	return n;
}

static int
have_ipv6(void)
{
	char err[64];
	int fd = net_listen_tcp("::1", 0, 0, 0, err, sizeof(err));

	if (fd < 0) {
		return 0;
	}
	close(fd);
	return 1;
}

/* Builds an address. */
static struct sockaddr_storage
addr(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	assert_int_equal(net_sockaddr_parse_literal(ip, port, &ss, &len), 0);
	return ss;
}

/* A port nobody listens on. */
static uint16_t
closed_port(const char *ip)
{
	char err[64];
	int fd = net_listen_tcp(ip, 0, 0, 0, err, sizeof(err));
	uint16_t port;

	assert_true(fd >= 0);
	port = net_local_port(fd);
	close(fd);
	return port;
}

static void
on_result(void *arg, const struct net_connect_result *res)
{
	struct result *r = arg;

	r->calls++;
	r->res = *res;
}

/* Runs the loop until the callback ran (fails after 5 s). */
static void
wait_result(struct ev *ev, struct result *r)
{
	int i;

	for (i = 0; i < 1000 && r->calls == 0; i++) {
		assert_true(ev_run_once(ev, 5) >= 0);
	}
	assert_int_equal(r->calls, 1);
	ev_update_now(ev);
	r->at_ms = ev_now_ms(ev);
}

/* A black hole on 127.0.0.1: listener plus fillers of its queue. */
struct hole {
	int		 lfd;
	int		 fill[8];
	int		 nfill;
	uint16_t	 port;
};

/* Makes a black hole; returns 0, or -1 if this host will not make one. */
static int
hole_open(struct hole *h)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	char err[64];
	int fd;

	memset(h, 0, sizeof(*h));
	h->lfd = net_listen_tcp("127.0.0.1", 0, 0, 1, err, sizeof(err));
	assert_true(h->lfd >= 0);
	h->port = net_local_port(h->lfd);
	ss = addr("127.0.0.1", h->port);
	while (h->nfill < 8) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fd >= 0);
		(void)connect(fd, (struct sockaddr *)&ss, sizeof(struct
		    sockaddr_in));
		h->fill[h->nfill++] = fd;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 100) == 0) {
			return 0;	/* this one hangs: the queue is full */
		}
	}
	return -1;
}

static void
hole_close(struct hole *h)
{
	int i;

	for (i = 0; i < h->nfill; i++) {
		close(h->fill[i]);
	}
	close(h->lfd);
}

static void
test_success(void **state)
{
	struct fixture *f = *state;
	struct net_connect_opts o;
	struct sockaddr_storage ss;
	struct result r;
	char err[64];
	int lfd, afd, v = 0;
	socklen_t len = sizeof(v);

	memset(&r, 0, sizeof(r));
	lfd = net_listen_tcp("127.0.0.1", 0, 0, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	ss = addr("127.0.0.1", net_local_port(lfd));
	net_connect_opts_init(&o);
	(void)net_connect_start(f->ev, &ss, 1, &o, on_result, &r);
	assert_int_equal(r.calls, 0);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_OK);
	assert_true(r.res.fd >= 0);
	assert_int_equal(r.res.attempts, 1);
	assert_int_equal(r.res.sys_errno, 0);
	assert_int_equal(r.res.local.ss_family, AF_INET);
	assert_true(net_sockaddr_port(&r.res.local) != 0);
	assert_memory_equal(&r.res.peer, &ss, sizeof(ss));
	assert_true((fcntl(r.res.fd, F_GETFL) & O_NONBLOCK) != 0);
	assert_true((fcntl(r.res.fd, F_GETFD) & FD_CLOEXEC) != 0);
	assert_int_equal(getsockopt(r.res.fd, IPPROTO_TCP, TCP_NODELAY, &v,
	    &len), 0);
	assert_true(v != 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(r.res.fd, "x", 1), 1);
	assert_int_equal(read(afd, err, 1), 1);
	close(afd);
	close(r.res.fd);
	close(lfd);
}

static void
test_refused_and_no_addrs(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss = addr("127.0.0.1", closed_port(
	    "127.0.0.1"));
	struct result r;
	int before = count_fds();

	memset(&r, 0, sizeof(r));
	(void)net_connect_start(f->ev, &ss, 1, NULL, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_REFUSED);
	assert_int_equal(r.res.sys_errno, ECONNREFUSED);
	assert_int_equal(r.res.fd, -1);
	assert_int_equal(r.res.attempts, 1);
	assert_int_equal(count_fds(), before);
	memset(&r, 0, sizeof(r));
	(void)net_connect_start(f->ev, NULL, 0, NULL, on_result, &r);
	assert_int_equal(r.calls, 0);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_FAILED);
	assert_int_equal(r.res.sys_errno, EDESTADDRREQ);
	assert_int_equal(r.res.attempts, 0);
	/* An address family that cannot connect. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	memset(&r, 0, sizeof(r));
	(void)net_connect_start(f->ev, &ss, 1, NULL, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_FAILED);
	assert_int_equal(count_fds(), before);
}

static void
test_happy_eyeballs_fallback(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss[3];
	struct net_connect_opts o;
	struct result r;
	char err[64];
	int lfd, lfd6;

	if (!have_ipv6()) {
		skip();
	}
	memset(&r, 0, sizeof(r));
	net_connect_opts_init(&o);
	lfd = net_listen_tcp("127.0.0.1", 0, 0, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	/* [closed ::1, open 127.0.0.1] */
	ss[0] = addr("::1", closed_port("::1"));
	ss[1] = addr("127.0.0.1", net_local_port(lfd));
	(void)net_connect_start(f->ev, ss, 2, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_OK);
	assert_int_equal(r.res.peer.ss_family, AF_INET);
	assert_int_equal(r.res.attempts, 2);
	close(r.res.fd);
	/*
	 * [closed v4, closed v4, open v6]: interleaving tries the v6
	 * address second, so it wins after two attempts, not three.
	 */
	lfd6 = net_listen_tcp("::1", 0, 0, 0, err, sizeof(err));
	assert_true(lfd6 >= 0);
	ss[0] = addr("127.0.0.1", closed_port("127.0.0.1"));
	ss[1] = addr("127.0.0.1", closed_port("127.0.0.1"));
	ss[2] = addr("::1", net_local_port(lfd6));
	memset(&r, 0, sizeof(r));
	(void)net_connect_start(f->ev, ss, 3, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_OK);
	assert_int_equal(r.res.peer.ss_family, AF_INET6);
	assert_int_equal(r.res.local.ss_family, AF_INET6);
	assert_int_equal(r.res.attempts, 2);
	close(r.res.fd);
	close(lfd);
	close(lfd6);
}

static void
test_stagger_and_timeout(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss[2];
	struct net_connect_opts o;
	struct result r;
	struct hole h;
	char err[64];
	uint64_t t0;
	int lfd, before;

	if (hole_open(&h) != 0) {
		hole_close(&h);
		skip();
	}
	before = count_fds();
	memset(&r, 0, sizeof(r));
	net_connect_opts_init(&o);
	o.he_delay_ms = 60;
	o.timeout_ms = 2000;
	lfd = net_listen_tcp("127.0.0.1", 0, 0, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	/* The first address hangs: the second starts after the delay. */
	ss[0] = addr("127.0.0.1", h.port);
	ss[1] = addr("127.0.0.1", net_local_port(lfd));
	ev_update_now(f->ev);
	t0 = ev_now_ms(f->ev);
	(void)net_connect_start(f->ev, ss, 2, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_OK);
	assert_int_equal(net_sockaddr_port(&r.res.peer), net_local_port(lfd));
	assert_true(r.at_ms - t0 >= 60);
	assert_true(r.at_ms - t0 < 1500);
	close(r.res.fd);
	close(lfd);
	/* The hanging attempt was closed with the win. */
	assert_int_equal(count_fds(), before);
	/* Alone, it times out after timeout_ms. */
	memset(&r, 0, sizeof(r));
	o.timeout_ms = 100;
	ev_update_now(f->ev);
	t0 = ev_now_ms(f->ev);
	(void)net_connect_start(f->ev, ss, 1, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_TIMEOUT);
	assert_int_equal(r.res.sys_errno, ETIMEDOUT);
	assert_true(r.at_ms - t0 >= 100);
	assert_int_equal(count_fds(), before);
	/* Refused beats timeout, whatever the order. */
	ss[1] = addr("127.0.0.1", closed_port("127.0.0.1"));
	memset(&r, 0, sizeof(r));
	(void)net_connect_start(f->ev, ss, 2, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_REFUSED);
	assert_int_equal(r.res.attempts, 2);
	hole_close(&h);
}

static void
test_retry_backoff(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss = addr("127.0.0.1", closed_port(
	    "127.0.0.1"));
	struct net_connect_opts o;
	struct result r;
	uint64_t t0, dt;

	memset(&r, 0, sizeof(r));
	net_connect_opts_init(&o);
	o.retries = 2;
	o.retry_delay_ms = 50;
	ev_update_now(f->ev);
	t0 = ev_now_ms(f->ev);
	(void)net_connect_start(f->ev, &ss, 1, &o, on_result, &r);
	wait_result(f->ev, &r);
	dt = r.at_ms - t0;
	assert_int_equal(r.res.outcome, NET_REFUSED);
	assert_int_equal(r.res.attempts, 3);
	assert_true(dt >= 150);		/* 50 + 100 */
	assert_true(dt < 1000);
	/* The cap: 50, then 60, 60 (not 100, 200). */
	memset(&r, 0, sizeof(r));
	o.retries = 3;
	o.retry_max_delay_ms = 60;
	ev_update_now(f->ev);
	t0 = ev_now_ms(f->ev);
	(void)net_connect_start(f->ev, &ss, 1, &o, on_result, &r);
	wait_result(f->ev, &r);
	dt = r.at_ms - t0;
	assert_int_equal(r.res.attempts, 4);
	assert_true(dt >= 170);
	assert_true(dt < 340);
}

static void
test_retry_then_success(void **state)
{
	struct fixture *f = *state;
	uint16_t port = closed_port("127.0.0.1");
	struct sockaddr_storage ss = addr("127.0.0.1", port);
	struct net_connect_opts o;
	struct result r;
	char err[64];
	int i, lfd;

	memset(&r, 0, sizeof(r));
	net_connect_opts_init(&o);
	o.retries = 5;
	o.retry_delay_ms = 100;
	(void)net_connect_start(f->ev, &ss, 1, &o, on_result, &r);
	for (i = 0; i < 5; i++) {
		(void)ev_run_once(f->ev, 5);
	}
	assert_int_equal(r.calls, 0);	/* refused once, backing off */
	lfd = net_listen_tcp("127.0.0.1", port, 0, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_OK);
	assert_true(r.res.attempts >= 2);
	close(r.res.fd);
	close(lfd);
}

static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss[2];
	struct net_connect_opts o;
	struct net_connect *c = NULL;
	struct result r;
	struct hole h;
	int before, i, have_hole;

	memset(&r, 0, sizeof(r));
	have_hole = hole_open(&h) == 0;
	before = count_fds();
	net_connect_opts_init(&o);
	/* Before the first step. */
	ss[0] = addr("127.0.0.1", closed_port("127.0.0.1"));
	c = net_connect_start(f->ev, ss, 1, &o, on_result, &r);
	net_connect_cancel(c);
	/* During the backoff. */
	o.retries = 3;
	o.retry_delay_ms = 200;
	c = net_connect_start(f->ev, ss, 1, &o, on_result, &r);
	for (i = 0; i < 10; i++) {
		(void)ev_run_once(f->ev, 5);
	}
	net_connect_cancel(c);
	/* With an attempt in flight. */
	if (have_hole) {
		ss[1] = addr("127.0.0.1", h.port);
		c = net_connect_start(f->ev, &ss[1], 1, &o, on_result, &r);
		for (i = 0; i < 10; i++) {
			(void)ev_run_once(f->ev, 5);
		}
		assert_int_equal(count_fds(), before + 1);
		net_connect_cancel(c);
	}
	for (i = 0; i < 60; i++) {
		(void)ev_run_once(f->ev, 5);
	}
	assert_int_equal(r.calls, 0);
	assert_int_equal(count_fds(), before);
	net_connect_cancel(NULL);
	if (have_hole) {
		hole_close(&h);
	}
}

static void
test_bind_source(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss;
	struct net_connect_opts o;
	struct result r;
	char err[64];
	int lfd;

	memset(&r, 0, sizeof(r));
	lfd = net_listen_tcp("127.0.0.1", 0, 0, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	ss = addr("127.0.0.1", net_local_port(lfd));
	net_connect_opts_init(&o);
	o.bind_addr = addr("127.0.0.1", 0);
	o.bind_len = sizeof(struct sockaddr_in);
	(void)net_connect_start(f->ev, &ss, 1, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_OK);
	assert_int_equal(ntohl(((struct sockaddr_in *)&r.res.local)->
	    sin_addr.s_addr), 0x7f000001u);
	close(r.res.fd);
	/* A source of the other family cannot reach this target. */
	o.bind_addr = addr("::1", 0);
	o.bind_len = sizeof(struct sockaddr_in6);
	memset(&r, 0, sizeof(r));
	(void)net_connect_start(f->ev, &ss, 1, &o, on_result, &r);
	wait_result(f->ev, &r);
	assert_int_equal(r.res.outcome, NET_FAILED);
	assert_int_equal(r.res.sys_errno, EAFNOSUPPORT);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_and_no_addrs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_happy_eyeballs_fallback,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stagger_and_timeout,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_success, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_source, setup,
		    teardown),
	};

	alarm(30);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for net/upstream.c: the SOCKS5 client used for chaining,
 * against a scripted fake proxy on loopback (one thread, blocking
 * sockets with timeouts). Checks the bytes we send, every reply shape we
 * must accept or refuse, and that no byte after the reply is consumed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ev.h"
#include "core/pool.h"
#include "net/net.h"

/* What the fake proxy answers, and what it saw. */
struct script {
	unsigned char	 method[2];		/* reply to the greeting */
	int		 auth;			/* read RFC 1929, answer */
	unsigned char	 auth_reply[2];
	unsigned char	 reply[300];		/* reply to the request */
	size_t		 reply_len;
	int		 tail;			/* send "TAIL" after */
	/* captured */
	unsigned char	 greeting[8];
	size_t		 greeting_len;
	unsigned char	 authmsg[600];
	size_t		 authmsg_len;
	unsigned char	 request[300];
	size_t		 request_len;
	int		 lfd;
};

struct result {
	int				 calls;
	struct net_upstream_result	 res;
};

struct fixture {
	struct ev		*ev;
	struct pool		*pool;
	struct net_resolver	*resolver;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if ((f->ev = ev_new(0)) == NULL)
		return -1;
	f->pool = pool_new(1, 16);
	f->resolver = net_resolver_new(f->pool, 0, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	net_resolver_free(f->resolver);
	pool_free(f->pool);
	ev_free(f->ev);
	free(f);
	return 0;
}

/* Reads what arrives within a short time (a whole small message). */
static size_t
read_some(int fd, unsigned char *p, size_t cap)
{
	ssize_t n = recv(fd, p, cap, 0);

	return n > 0 ? (size_t)n : 0;
}

static void *
fake_proxy(void *arg)
{
	struct script *s = arg;
	struct timeval tv = { 3, 0 };
	int fd;

	if ((fd = accept(s->lfd, NULL, NULL)) < 0)
		return NULL;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s->greeting_len = read_some(fd, s->greeting, sizeof(s->greeting));
	(void)send(fd, s->method, 2, MSG_NOSIGNAL);
	if (s->method[0] != 0x05 || (s->method[1] != 0x00 &&
	    s->method[1] != 0x02))
		goto out;
	if (s->auth) {
		s->authmsg_len = read_some(fd, s->authmsg,
		    sizeof(s->authmsg));
		(void)send(fd, s->auth_reply, 2, MSG_NOSIGNAL);
		if (s->auth_reply[1] != 0)
			goto out;
	}
	s->request_len = read_some(fd, s->request, sizeof(s->request));
	if (s->reply_len > 0)
		(void)send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
	if (s->tail)
		(void)send(fd, "TAIL", 4, MSG_NOSIGNAL);
	usleep(200 * 1000);
out:
	close(fd);
	return NULL;
}

static int
listen_any(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
on_result(void *arg, const struct net_upstream_result *res)
{
	struct result *r = arg;

	r->calls++;
	r->res = *res;
}

/* Runs one exchange against the script; fills *r. */
static void
run(struct fixture *f, struct script *s, const char *user, const char *pass,
    const char *host, struct result *r)
{
	pthread_t t;
	uint16_t port;
	int i;

	memset(r, 0, sizeof(*r));
	s->lfd = listen_any(&port);
	assert_int_equal(pthread_create(&t, NULL, fake_proxy, s), 0);
	(void)net_upstream_start(f->ev, f->resolver, "127.0.0.1", port, user,
	    pass, host, 443, 3000, on_result, r);
	for (i = 0; i < 500 && r->calls == 0; i++)
		(void)ev_run_once(f->ev, 20);
	assert_int_equal(r->calls, 1);
	pthread_join(t, NULL);
	close(s->lfd);
}

/* Reads the 4 tunnel bytes the fake sends after its reply (bounded). */
static ssize_t
read_tail(int fd, char *buf)
{
	struct timeval tv = { 3, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, buf, 4, MSG_WAITALL);
}

static void
reply_v4(struct script *s, uint8_t rep)
{
	static const unsigned char r[] = { 5, 0, 0, 1, 10, 0, 0, 1, 0x1f,
	    0x90 };

	memcpy(s->reply, r, sizeof(r));
	s->reply[1] = rep;
	s->reply_len = sizeof(r);
}

/* No auth, IPv4 target, reply with an IPv4 BND, then tunnel bytes. */
static void
test_noauth_ok_and_no_overread(void **state)
{
	struct fixture *f = *state;
	struct script s;
	struct result r;
	char buf[8];
	static const unsigned char want[] = { 5, 1, 0, 1, 192, 0, 2, 7, 1,
	    0xbb };

	memset(&s, 0, sizeof(s));
	s.method[0] = 5;
	reply_v4(&s, 0);
	s.tail = 1;
	run(f, &s, NULL, NULL, "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 1);
	assert_int_equal(s.greeting_len, 3);
	assert_memory_equal(s.greeting, "\x05\x01\x00", 3);
	assert_int_equal(s.request_len, sizeof(want));
	assert_memory_equal(s.request, want, sizeof(want));
	assert_int_equal(read_tail(r.res.fd, buf), 4);
	assert_memory_equal(buf, "TAIL", 4);
	close(r.res.fd);
}

/* RFC 1929 credentials go out exactly; a name target is ATYP 3; a
 * domain BND in the reply is consumed exactly. */
static void
test_auth_name_domain_bnd(void **state)
{
	struct fixture *f = *state;
	struct script s;
	struct result r;
	char buf[8];
	static const unsigned char dom[] = { 5, 0, 0, 3, 4, 'h', 'o', 's', 't',
	    0, 80 };

	memset(&s, 0, sizeof(s));
	s.method[0] = 5;
	s.method[1] = 2;
	s.auth = 1;
	s.auth_reply[0] = 1;
	memcpy(s.reply, dom, sizeof(dom));
	s.reply_len = sizeof(dom);
	s.tail = 1;
	run(f, &s, "bob", "pw", "example.test", &r);
	assert_int_equal(r.res.ok, 1);
	assert_int_equal(s.greeting_len, 4);
	assert_memory_equal(s.greeting, "\x05\x02\x00\x02", 4);
	assert_int_equal(s.authmsg_len, 8);
	assert_memory_equal(s.authmsg, "\x01\x03" "bob" "\x02" "pw", 8);
	assert_int_equal(s.request[3], 3);
	assert_int_equal(s.request[4], 12);
	assert_memory_equal(s.request + 5, "example.test", 12);
	assert_int_equal(read_tail(r.res.fd, buf), 4);
	assert_memory_equal(buf, "TAIL", 4);
	close(r.res.fd);
}

/* An IPv6 target is ATYP 4; an IPv6 BND is consumed exactly. */
static void
test_v6_target(void **state)
{
	struct fixture *f = *state;
	struct script s;
	struct result r;
	char buf[8];

	memset(&s, 0, sizeof(s));
	s.method[0] = 5;
	s.reply[0] = 5;
	s.reply[3] = 4;
	s.reply_len = 4 + 16 + 2;
	s.tail = 1;
	run(f, &s, NULL, NULL, "2001:db8::1", &r);
	assert_int_equal(r.res.ok, 1);
	assert_int_equal(s.request[3], 4);
	assert_int_equal(s.request_len, 4 + 16 + 2);
	assert_int_equal(read_tail(r.res.fd, buf), 4);
	assert_memory_equal(buf, "TAIL", 4);
	close(r.res.fd);
}

static void
test_auth_failure_hides_password(void **state)
{
	struct fixture *f = *state;
	struct script s;
	struct result r;

	memset(&s, 0, sizeof(s));
	s.method[0] = 5;
	s.method[1] = 2;
	s.auth = 1;
	s.auth_reply[0] = 1;
	s.auth_reply[1] = 1;
	run(f, &s, "bob", "hunter2-secret", "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 1);
	assert_non_null(strstr(r.res.why, "authentication failed"));
	assert_null(strstr(r.res.why, "hunter2"));
}

/* The upstream's own refusal code is passed on. */
static void
test_upstream_refusal_code(void **state)
{
	struct fixture *f = *state;
	struct script s;
	struct result r;

	memset(&s, 0, sizeof(s));
	s.method[0] = 5;
	reply_v4(&s, 5);
	run(f, &s, NULL, NULL, "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 5);
}

/* Malformed answers are general failures. */
static void
test_malformed(void **state)
{
	struct fixture *f = *state;
	struct script s;
	struct result r;

	memset(&s, 0, sizeof(s));	/* method reply version 0 */
	run(f, &s, NULL, NULL, "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 1);

	memset(&s, 0, sizeof(s));	/* no acceptable method */
	s.method[0] = 5;
	s.method[1] = 0xff;
	run(f, &s, NULL, NULL, "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 1);

	memset(&s, 0, sizeof(s));	/* unknown BND address type */
	s.method[0] = 5;
	reply_v4(&s, 0);
	s.reply[3] = 9;
	run(f, &s, NULL, NULL, "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 1);

	memset(&s, 0, sizeof(s));	/* closed in the middle of the reply */
	s.method[0] = 5;
	reply_v4(&s, 0);
	s.reply_len = 6;
	run(f, &s, NULL, NULL, "192.0.2.7", &r);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 1);
}

/* Nobody listening: refused, reported as 0x05. */
static void
test_proxy_down(void **state)
{
	struct fixture *f = *state;
	struct result r;
	uint16_t port;
	int fd, i;

	fd = listen_any(&port);
	close(fd);
	memset(&r, 0, sizeof(r));
	(void)net_upstream_start(f->ev, f->resolver, "127.0.0.1", port, NULL,
	    NULL, "192.0.2.7", 443, 3000, on_result, &r);
	for (i = 0; i < 500 && r.calls == 0; i++)
		(void)ev_run_once(f->ev, 20);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.res.ok, 0);
	assert_int_equal(r.res.rep, 5);
}

/* Cancel before anything happened: the callback never runs. */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct net_upstream *u = NULL;
	struct result r;
	int i;

	memset(&r, 0, sizeof(r));
	u = net_upstream_start(f->ev, f->resolver, "127.0.0.1", 9, NULL,
	    NULL, "192.0.2.7", 443, 3000, on_result, &r);
	net_upstream_cancel(u);
	for (i = 0; i < 10; i++)
		(void)ev_run_once(f->ev, 10);
	assert_int_equal(r.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_noauth_ok_and_no_overread,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_name_domain_bnd,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6_target, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_auth_failure_hides_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_refusal_code,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxy_down, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

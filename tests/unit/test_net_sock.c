/* Unit tests for net/sock.c: listeners, address text, errno mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "net/net.h"

/* Whether ::1 can be bound here. */
static int
have_ipv6(void)
{
	struct sockaddr_in6 sin6;
	int fd, ok;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
		return 0;
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

/* Connects a blocking client to ip:port; returns 0 on success. */
static int
try_connect(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	assert_int_equal(net_sockaddr_parse_literal(ip, port, &ss, &len), 0);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	rc = connect(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return rc;
}

static void
test_listen_v4_port0(void **state)
{
	char err[128];
	int fd, fl;
	uint16_t port;

	(void)state;
	fd = net_listen_tcp("127.0.0.1", 0, 0, 16, err, sizeof(err));
	assert_true(fd >= 0);
	assert_string_equal(err, "");
	port = net_local_port(fd);
	assert_true(port != 0);
	fl = fcntl(fd, F_GETFL);
	assert_true((fl & O_NONBLOCK) != 0);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	assert_int_equal(try_connect("127.0.0.1", port), 0);
	close(fd);
	/* Nobody listens any more. */
	assert_int_not_equal(try_connect("127.0.0.1", port), 0);
	assert_int_equal(errno, ECONNREFUSED);
}

static void
test_listen_localhost_and_v6(void **state)
{
	char err[128];
	int fd;

	(void)state;
	fd = net_listen_tcp("localhost", 0, 0, 0, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(try_connect("127.0.0.1", net_local_port(fd)), 0);
	close(fd);
	if (!have_ipv6()) {
		skip();
	}
	fd = net_listen_tcp("::1", 0, 0, 0, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(try_connect("::1", net_local_port(fd)), 0);
	close(fd);
}

static void
test_listen_wildcards(void **state)
{
	char err[128];
	int fd, fd4;
	uint16_t port;

	(void)state;
	/* "*" takes IPv4 too (dual stack, or 0.0.0.0 without IPv6). */
	fd = net_listen_tcp("*", 0, 0, 0, err, sizeof(err));
	assert_true(fd >= 0);
	port = net_local_port(fd);
	assert_int_equal(try_connect("127.0.0.1", port), 0);
	close(fd);
	if (!have_ipv6()) {
		skip();
	}
	/* "::" is IPv6 only, so 0.0.0.0 can share the port. */
	fd = net_listen_tcp("::", 0, 0, 0, err, sizeof(err));
	assert_true(fd >= 0);
	port = net_local_port(fd);
	fd4 = net_listen_tcp("0.0.0.0", port, 0, 0, err, sizeof(err));
	assert_true(fd4 >= 0);
	assert_int_equal(try_connect("::1", port), 0);
	assert_int_equal(try_connect("127.0.0.1", port), 0);
	close(fd);
	close(fd4);
}

static void
test_listen_bad_host_and_busy_port(void **state)
{
	static const char *bad[] = { "", "example.com", "1.2.3.4.5",
	    "[::1]", "127.1", " 127.0.0.1", "::1%lo", "300.1.1.1" };
	char err[128];
	size_t i;
	int fd, fd2, fd3;
	uint16_t port;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(net_listen_tcp(bad[i], 0, 0, 0, err,
		    sizeof(err)), ERR_INVAL);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(net_listen_tcp(NULL, 0, 0, 0, NULL, 0), ERR_INVAL);
	/* A port already listened on without SO_REUSEPORT. */
	fd = net_listen_tcp("127.0.0.1", 0, 0, 0, err, sizeof(err));
	assert_true(fd >= 0);
	port = net_local_port(fd);
	assert_int_equal(net_listen_tcp("127.0.0.1", port, 0, 0, err,
	    sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, "cannot listen"));
	close(fd);
	/* Two SO_REUSEPORT listeners share a port. */
	fd2 = net_listen_tcp("127.0.0.1", 0, 1, 0, err, sizeof(err));
	assert_true(fd2 >= 0);
	port = net_local_port(fd2);
	fd3 = net_listen_tcp("127.0.0.1", port, 1, 0, err, sizeof(err));
	assert_true(fd3 >= 0);
	close(fd2);
	close(fd3);
	/* A tiny err buffer is still terminated. */
	assert_int_equal(net_listen_tcp("nope", 0, 0, 0, err, 4), ERR_INVAL);
	assert_int_equal(strlen(err), 3);
}

static void
test_format(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un_like {
		sa_family_t fam;
	} other;
	socklen_t len;
	char out[NET_ADDRSTRLEN];
	char tiny[8];

	(void)state;
	assert_int_equal(net_sockaddr_parse_literal("1.2.3.4", 80, &ss, &len),
	    0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(net_sockaddr_format((struct sockaddr *)&ss, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "1.2.3.4:80");
	assert_int_equal(net_sockaddr_parse_literal("::1", 65535, &ss, &len),
	    0);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(net_sockaddr_format((struct sockaddr *)&ss, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "[::1]:65535");
	assert_int_equal(net_sockaddr_parse_literal("::ffff:10.0.0.1", 1,
	    &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(net_sockaddr_format((struct sockaddr *)&ss, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "[::ffff:10.0.0.1]:1");
	/* The longest form fits NET_ADDRSTRLEN. */
	assert_int_equal(net_sockaddr_parse_literal(
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535, &ss,
	    &len), 0);
	assert_int_equal(net_sockaddr_format((struct sockaddr *)&ss, out,
	    sizeof(out)), 0);
	assert_int_equal(net_sockaddr_format((struct sockaddr *)&ss, tiny,
	    sizeof(tiny)), ERR_TOO_LARGE);
	assert_string_equal(tiny, "");
	memset(&other, 0, sizeof(other));
	other.fam = AF_UNIX;
	assert_int_equal(net_sockaddr_format((struct sockaddr *)&other, out,
	    sizeof(out)), ERR_INVAL);
	assert_int_equal(net_sockaddr_format(NULL, out, sizeof(out)),
	    ERR_INVAL);
}

static void
test_parse_literal(void **state)
{
	static const char *good4[] = { "0.0.0.0", "255.255.255.255",
	    "10.1.2.3" };
	static const char *good6[] = { "::", "::1", "2001:db8::1",
	    "fe80::1:2:3:4", "::ffff:1.2.3.4" };
	static const char *bad[] = { "", "1.2.3", "1.2.3.4.", "1.2.3.256",
	    "01.2.3.4x", "[::1]", "::1]", "fe80::1%eth0", "localhost",
	    "1.2.3.4 ", "::1::2", "0x7f.0.0.1", "127.1", "12345::" };
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good4) / sizeof(good4[0]); i++) {
		assert_int_equal(net_sockaddr_parse_literal(good4[i], 7, &ss,
		    &len), 0);
		assert_int_equal(ss.ss_family, AF_INET);
		assert_int_equal(net_sockaddr_port(&ss), 7);
		assert_int_equal(net_sockaddr_len(&ss), len);
	}
	for (i = 0; i < sizeof(good6) / sizeof(good6[0]); i++) {
		assert_int_equal(net_sockaddr_parse_literal(good6[i], 7, &ss,
		    &len), 0);
		assert_int_equal(ss.ss_family, AF_INET6);
		assert_int_equal(net_sockaddr_port(&ss), 7);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ss.ss_family = AF_INET;
		len = 99;
		assert_int_equal(net_sockaddr_parse_literal(bad[i], 7, &ss,
		    &len), ERR_INVAL);
		assert_int_equal(ss.ss_family, AF_UNSPEC);
		assert_int_equal(len, 0);
	}
	assert_int_equal(net_sockaddr_parse_literal(NULL, 7, &ss, &len),
	    ERR_INVAL);
	/* Port helpers. */
	assert_int_equal(net_sockaddr_parse_literal("::1", 0, &ss, &len), 0);
	net_sockaddr_set_port(&ss, 443);
	assert_int_equal(net_sockaddr_port(&ss), 443);
	assert_int_equal(((struct sockaddr_in6 *)&ss)->sin6_port, htons(443));
	memset(&ss, 0, sizeof(ss));
	net_sockaddr_set_port(&ss, 1);
	assert_int_equal(net_sockaddr_port(&ss), 0);
	assert_int_equal(net_sockaddr_len(&ss), 0);
}

static void
test_outcomes(void **state)
{
	(void)state;
	assert_int_equal(net_outcome_from_errno(0), NET_OK);
	assert_int_equal(net_outcome_from_errno(ECONNREFUSED), NET_REFUSED);
	assert_int_equal(net_outcome_from_errno(ENETUNREACH),
	    NET_NET_UNREACH);
	assert_int_equal(net_outcome_from_errno(ENETDOWN), NET_NET_UNREACH);
	assert_int_equal(net_outcome_from_errno(EHOSTUNREACH),
	    NET_HOST_UNREACH);
	assert_int_equal(net_outcome_from_errno(EHOSTDOWN), NET_HOST_UNREACH);
	assert_int_equal(net_outcome_from_errno(ETIMEDOUT), NET_TIMEOUT);
	assert_int_equal(net_outcome_from_errno(EACCES), NET_FAILED);
	assert_int_equal(net_outcome_from_errno(-1), NET_FAILED);
	assert_string_equal(net_outcome_str(NET_REFUSED), "refused");
	assert_string_equal(net_outcome_str(NET_TIMEOUT), "timeout");
	assert_string_equal(net_outcome_str((enum net_outcome)99), "failed");
}

static void
test_socket_options(void **state)
{
	int sv[2], fd, v = 0;
	socklen_t len = sizeof(v);

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(net_set_nodelay(fd), 0);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len),
	    0);
	assert_true(v != 0);
	assert_int_equal(net_set_keepalive(fd, 60, 15), 0);
	len = sizeof(v);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len),
	    0);
	assert_int_equal(v, 60);
	close(fd);
	assert_int_equal(net_set_nodelay(-1), ERR_IO);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(net_set_nonblock(sv[0]), 0);
	assert_true((fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
	assert_int_equal(net_set_nonblock(sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(net_set_nonblock(-1), ERR_IO);
	assert_int_equal(net_local_port(-1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_v4_port0),
		cmocka_unit_test(test_listen_localhost_and_v6),
		cmocka_unit_test(test_listen_wildcards),
		cmocka_unit_test(test_listen_bad_host_and_busy_port),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_literal),
		cmocka_unit_test(test_outcomes),
		cmocka_unit_test(test_socket_options),
	};

	alarm(20);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the anti-SSRF classifier (policy/ipguard.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "policy/acl.h"

/* Fills ss from an IPv4 or IPv6 literal; fails the test otherwise. */
static const struct sockaddr *
mkaddr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else {
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1) {
			fail_msg("bad literal in test: %s", ip);
		}
		s6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

/* ipguard_is_blocked on a literal with the given allowed ranges. */
static int
blk(const char *ip, const struct cfg_cidr *allowed, size_t n, char *reason,
    size_t rlen)
{
	struct sockaddr_storage	ss;

	return ipguard_is_blocked(mkaddr(ip, &ss), allowed, n, reason, rlen);
}

/* Builds a cidr from text without the config parser. */
static struct cfg_cidr
mkcidr(const char *ip, int prefix)
{
	struct cfg_cidr	c;

	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, ip, c.addr) == 1) {
		c.family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, c.addr), 1);
		c.family = AF_INET6;
	}
	c.prefix = prefix;
	return c;
}

struct vec {
	const char	*ip;
	int		 blocked;
	const char	*reason;	/* substring expected, or NULL */
};

static const struct vec v4_vecs[] = {
	{ "0.0.0.0", 1, "0.0.0.0/8 (this network)" },
	{ "0.255.255.255", 1, "0.0.0.0/8" },
	{ "1.0.0.0", 0, NULL },
	{ "9.255.255.255", 0, NULL },
	{ "10.0.0.0", 1, "10.0.0.0/8 (private)" },
	{ "10.255.255.255", 1, "10.0.0.0/8" },
	{ "11.0.0.0", 0, NULL },
	{ "100.63.255.255", 0, NULL },
	{ "100.64.0.0", 1, "100.64.0.0/10" },
	{ "100.127.255.255", 1, "100.64.0.0/10" },
	{ "100.128.0.0", 0, NULL },
	{ "126.255.255.255", 0, NULL },
	{ "127.0.0.0", 1, "127.0.0.0/8 (loopback)" },
	{ "127.255.255.255", 1, "127.0.0.0/8" },
	{ "128.0.0.0", 0, NULL },
	{ "169.253.255.255", 0, NULL },
	{ "169.254.0.0", 1, "169.254.0.0/16 (link-local)" },
	{ "169.254.255.255", 1, "169.254.0.0/16" },
	{ "169.255.0.0", 0, NULL },
	{ "172.15.255.255", 0, NULL },
	{ "172.16.0.0", 1, "172.16.0.0/12 (private)" },
	{ "172.31.255.255", 1, "172.16.0.0/12" },
	{ "172.32.0.0", 0, NULL },
	{ "191.255.255.255", 0, NULL },
	{ "192.0.0.0", 1, "192.0.0.0/24" },
	{ "192.0.0.255", 1, "192.0.0.0/24" },
	{ "192.0.1.0", 0, NULL },
	{ "192.0.1.255", 0, NULL },
	{ "192.0.2.0", 1, "192.0.2.0/24 (documentation)" },
	{ "192.0.2.255", 1, "192.0.2.0/24" },
	{ "192.0.3.0", 0, NULL },
	{ "192.88.98.255", 0, NULL },
	{ "192.88.99.0", 1, "192.88.99.0/24" },
	{ "192.88.99.255", 1, "192.88.99.0/24" },
	{ "192.88.100.0", 0, NULL },
	{ "192.167.255.255", 0, NULL },
	{ "192.168.0.0", 1, "192.168.0.0/16 (private)" },
	{ "192.168.255.255", 1, "192.168.0.0/16" },
	{ "192.169.0.0", 0, NULL },
	{ "198.17.255.255", 0, NULL },
	{ "198.18.0.0", 1, "198.18.0.0/15 (benchmarking)" },
	{ "198.19.255.255", 1, "198.18.0.0/15" },
	{ "198.20.0.0", 0, NULL },
	{ "198.51.99.255", 0, NULL },
	{ "198.51.100.0", 1, "198.51.100.0/24 (documentation)" },
	{ "198.51.100.255", 1, "198.51.100.0/24" },
	{ "198.51.101.0", 0, NULL },
	{ "203.0.112.255", 0, NULL },
	{ "203.0.113.0", 1, "203.0.113.0/24 (documentation)" },
	{ "203.0.113.255", 1, "203.0.113.0/24" },
	{ "203.0.114.0", 0, NULL },
	{ "223.255.255.255", 0, NULL },
	{ "224.0.0.0", 1, "224.0.0.0/4 (multicast)" },
	{ "239.255.255.255", 1, "224.0.0.0/4" },
	{ "240.0.0.0", 1, "240.0.0.0/4 (reserved)" },
	{ "255.255.255.254", 1, "240.0.0.0/4" },
	{ "255.255.255.255", 1, "broadcast" },
	{ "8.8.8.8", 0, NULL },
	{ "1.1.1.1", 0, NULL },
};

static const struct vec v6_vecs[] = {
	{ "::", 1, "::/128 (unspecified)" },
	{ "::1", 1, "::1/128 (loopback)" },
	{ "1::", 0, NULL },
	/* IPv4-mapped */
	{ "::ffff:0.0.0.0", 1, "::ffff:0:0/96 (IPv4-mapped) carrying "
	    "0.0.0.0/8" },
	{ "::ffff:127.0.0.1", 1, "carrying 127.0.0.0/8 (loopback)" },
	{ "::ffff:10.1.2.3", 1, "10.0.0.0/8" },
	{ "::ffff:255.255.255.255", 1, "broadcast" },
	{ "::ffff:8.8.8.8", 0, NULL },
	{ "::fffe:127.0.0.1", 0, NULL },
	/* IPv4-compatible */
	{ "::127.0.0.1", 1, "::/96 (IPv4-compatible) carrying 127.0.0.0/8" },
	{ "::169.254.169.254", 1, "169.254.0.0/16" },
	{ "::0.0.0.2", 1, "0.0.0.0/8" },
	{ "::8.8.8.8", 0, NULL },
	/* NAT64 well-known prefix */
	{ "64:ff9b::7f00:1", 1, "64:ff9b::/96 (NAT64) carrying 127.0.0.0/8" },
	{ "64:ff9b::a00:1", 1, "10.0.0.0/8" },
	{ "64:ff9b::c612:1", 1, "198.18.0.0/15" },
	{ "64:ff9b::808:808", 0, NULL },
	{ "64:ff9b::1:7f00:1", 0, NULL },
	{ "64:ff9b:0:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	/* NAT64 local use */
	{ "64:ff9b:1::", 1, "64:ff9b:1::/48" },
	{ "64:ff9b:1::808:808", 1, "64:ff9b:1::/48" },
	{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", 1, "64:ff9b:1::/48" },
	{ "64:ff9b:2::", 0, NULL },
	/* discard-only */
	{ "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	{ "100::", 1, "100::/64 (discard-only)" },
	{ "100::ffff:ffff:ffff:ffff", 1, "100::/64" },
	{ "100:0:0:1::", 0, NULL },
	/* IETF protocol assignments and Teredo */
	{ "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	{ "2001::", 1, "2001::/32 (Teredo)" },
	{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", 1, "Teredo" },
	{ "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", 1, "Teredo" },
	{ "2001:1::", 1, "2001::/23 (IETF protocol assignments)" },
	{ "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "2001::/23" },
	{ "2001:200::", 0, NULL },
	/* documentation */
	{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	{ "2001:db8::", 1, "2001:db8::/32 (documentation)" },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1, "2001:db8::/32" },
	{ "2001:db9::", 0, NULL },
	{ "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	{ "3fff::", 1, "3fff::/20" },
	{ "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "3fff::/20" },
	{ "3fff:1000::", 0, NULL },
	/* 6to4 */
	{ "2001:ffff::", 0, NULL },
	{ "2002::", 1, "2002::/16 (6to4) carrying 0.0.0.0/8" },
	{ "2002:7f00:1::1", 1, "127.0.0.0/8" },
	{ "2002:c0a8:101::1", 1, "192.168.0.0/16" },
	{ "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "broadcast" },
	{ "2002:808:808::1", 0, NULL },
	{ "2003::", 0, NULL },
	/* segment routing */
	{ "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	{ "5f00::", 1, "5f00::/16" },
	{ "5f01::", 0, NULL },
	/* unique local */
	{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	{ "fc00::", 1, "fc00::/7 (unique local)" },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "fc00::/7" },
	{ "fe00::", 0, NULL },
	{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, NULL },
	/* link-local, site-local, multicast */
	{ "fe80::", 1, "fe80::/10 (link-local)" },
	{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "fe80::/10" },
	{ "fec0::", 1, "fec0::/10 (site-local)" },
	{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "fec0::/10" },
	{ "ff00::", 1, "ff00::/8 (multicast)" },
	{ "ff02::1", 1, "ff00::/8" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "ff00::/8" },
	/* public */
	{ "2606:4700:4700::1111", 0, NULL },
	{ "2a00:1450:4001::1", 0, NULL },
};

/* Runs a table of vectors and checks verdict and reason. */
static void
run_vecs(const struct vec *v, size_t n)
{
	char	reason[128];
	size_t	i;
	int	r;

	for (i = 0; i < n; i++) {
		memset(reason, 'x', sizeof(reason));
		r = blk(v[i].ip, NULL, 0, reason, sizeof(reason));
		if (r != v[i].blocked) {
			fail_msg("%s: blocked=%d, want %d (%s)", v[i].ip, r,
			    v[i].blocked, reason);
		}
		if (!r) {
			assert_string_equal(reason, "");
		} else if (strstr(reason, v[i].reason) == NULL) {
			fail_msg("%s: reason '%s' lacks '%s'", v[i].ip, reason,
			    v[i].reason);
		}
	}
}

/* Every IPv4 range: first, last and just-outside addresses. */
static void
test_v4_ranges(void **state)
{
	(void)state;
	run_vecs(v4_vecs, sizeof(v4_vecs) / sizeof(v4_vecs[0]));
}

/* Every IPv6 range and embedding. */
static void
test_v6_ranges(void **state)
{
	(void)state;
	run_vecs(v6_vecs, sizeof(v6_vecs) / sizeof(v6_vecs[0]));
}

/* Every IPv4 vector gives the same verdict through each embedding. */
static void
test_embeddings_follow_v4(void **state)
{
	char		ip[80];
	unsigned char	a[4];
	size_t		i;
	int		want;

	(void)state;
	for (i = 0; i < sizeof(v4_vecs) / sizeof(v4_vecs[0]); i++) {
		assert_int_equal(inet_pton(AF_INET, v4_vecs[i].ip, a), 1);
		want = v4_vecs[i].blocked;
		snprintf(ip, sizeof(ip), "::ffff:%s", v4_vecs[i].ip);
		assert_int_equal(blk(ip, NULL, 0, NULL, 0), want);
		snprintf(ip, sizeof(ip), "64:ff9b::%s", v4_vecs[i].ip);
		assert_int_equal(blk(ip, NULL, 0, NULL, 0), want);
		snprintf(ip, sizeof(ip), "2002:%02x%02x:%02x%02x::1", a[0],
		    a[1], a[2], a[3]);
		assert_int_equal(blk(ip, NULL, 0, NULL, 0), want);
		/* ::0.0.0.0 and ::0.0.0.1 are :: and ::1, both blocked. */
		snprintf(ip, sizeof(ip), "::%s", v4_vecs[i].ip);
		assert_int_equal(blk(ip, NULL, 0, NULL, 0), want);
	}
}

/* The explicitly allowed ranges are the only way through. */
static void
test_allowed_ranges(void **state)
{
	struct cfg_cidr	allow[3];
	char		reason[128];

	(void)state;
	allow[0] = mkcidr("10.0.0.0", 8);
	allow[1] = mkcidr("fd00::", 8);
	allow[2] = mkcidr("127.0.0.1", 32);
	assert_int_equal(blk("10.1.2.3", allow, 3, reason, sizeof(reason)),
	    0);
	assert_string_equal(reason, "");
	assert_int_equal(blk("192.168.1.1", allow, 3, NULL, 0), 1);
	assert_int_equal(blk("127.0.0.1", allow, 3, NULL, 0), 0);
	assert_int_equal(blk("127.0.0.2", allow, 3, NULL, 0), 1);
	assert_int_equal(blk("::ffff:10.1.2.3", allow, 3, NULL, 0), 0);
	assert_int_equal(blk("::10.1.2.3", allow, 3, NULL, 0), 0);
	assert_int_equal(blk("64:ff9b::a01:203", allow, 3, NULL, 0), 0);
	assert_int_equal(blk("2002:a01:203::1", allow, 3, NULL, 0), 0);
	assert_int_equal(blk("::ffff:192.168.1.1", allow, 3, NULL, 0), 1);
	assert_int_equal(blk("fd12::1", allow, 3, NULL, 0), 0);
	assert_int_equal(blk("fc00::1", allow, 3, NULL, 0), 1);
	assert_int_equal(blk("::1", allow, 3, NULL, 0), 1);
	/* With no allowed list, the same addresses are blocked. */
	assert_int_equal(blk("10.1.2.3", allow, 0, NULL, 0), 1);
	assert_int_equal(blk("fd12::1", NULL, 3, NULL, 0), 1);
	/* An IPv6 allowance reaches a fully blocked IPv6 range. */
	allow[0] = mkcidr("64:ff9b:1::", 48);
	assert_int_equal(blk("64:ff9b:1::1", allow, 1, NULL, 0), 0);
}

/* Malformed allowed entries never unblock anything. */
static void
test_allowed_malformed(void **state)
{
	struct cfg_cidr	bad[3];

	(void)state;
	memset(bad, 0, sizeof(bad));
	bad[0].family = AF_INET;
	bad[0].prefix = 200;
	bad[1].family = AF_UNIX;
	bad[1].prefix = 0;
	bad[2].family = AF_INET6;
	bad[2].prefix = -1;
	assert_int_equal(blk("127.0.0.1", bad, 3, NULL, 0), 1);
	assert_int_equal(blk("::1", bad, 3, NULL, 0), 1);
	assert_int_equal(blk("8.8.8.8", bad, 3, NULL, 0), 0);
	/* A /0 allowance is honoured, per family only. */
	bad[0] = mkcidr("0.0.0.0", 0);
	assert_int_equal(blk("127.0.0.1", bad, 1, NULL, 0), 0);
	assert_int_equal(blk("::1", bad, 1, NULL, 0), 1);
}

/* NULL, unknown families, truncated reason buffers. */
static void
test_hostile(void **state)
{
	struct sockaddr_un	un;
	char			reason[8];

	(void)state;
	assert_int_equal(ipguard_is_blocked(NULL, NULL, 0, reason,
	    sizeof(reason)), 1);
	assert_true(reason[0] != '\0');
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(ipguard_is_blocked((struct sockaddr *)&un, NULL, 0,
	    reason, sizeof(reason)), 1);
	assert_int_equal(strlen(reason), sizeof(reason) - 1);
	memset(reason, 'x', sizeof(reason));
	assert_int_equal(blk("198.18.0.1", NULL, 0, reason, sizeof(reason)),
	    1);
	assert_string_equal(reason, "198.18.");
	assert_int_equal(blk("198.18.0.1", NULL, 0, reason, 0), 1);
	assert_int_equal(reason[0], '1');
	assert_int_equal(blk("198.18.0.1", NULL, 0, NULL, 55), 1);
}

/* Exact reason texts used in logs and audit events. */
static void
test_reason_texts(void **state)
{
	char	reason[128];

	(void)state;
	blk("198.18.5.5", NULL, 0, reason, sizeof(reason));
	assert_string_equal(reason, "198.18.0.0/15 (benchmarking)");
	blk("::ffff:127.0.0.1", NULL, 0, reason, sizeof(reason));
	assert_string_equal(reason,
	    "::ffff:0:0/96 (IPv4-mapped) carrying 127.0.0.0/8 (loopback)");
	blk("2001::1", NULL, 0, reason, sizeof(reason));
	assert_string_equal(reason, "2001::/32 (Teredo)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_ranges),
		cmocka_unit_test(test_v6_ranges),
		cmocka_unit_test(test_embeddings_follow_v4),
		cmocka_unit_test(test_allowed_ranges),
		cmocka_unit_test(test_allowed_malformed),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_reason_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

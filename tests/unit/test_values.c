/* Unit tests for the configuration value parsers (src/config/values.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/values.h"
#include "core/err.h"

#define ERRLEN	256

/* Asserts a failed parse: ERR_INVAL, a non-empty message containing
 * needle (case-sensitive) and a terminated err buffer. */
static void
check_bad(int r, const char *err, const char *input, const char *needle)
{
	if (r != ERR_INVAL || err[0] == '\0' || strstr(err, needle) == NULL) {
		print_error("input '%s': r=%d err='%s' (wanted '%s')\n",
		    input, r, err, needle);
		fail();
	}
	assert_true(strlen(err) < ERRLEN);
}

/* ---------------------------------------------------------------- listen */

static void
test_listen_good(void **state)
{
	static const struct {
		const char *in, *host;
		unsigned port;
	} v[] = {
		{ "127.0.0.1:2222", "127.0.0.1", 2222 },
		{ "[::1]:2222", "::1", 2222 },
		{ "0.0.0.0:1080", "0.0.0.0", 1080 },
		{ "localhost:1080", "localhost", 1080 },
		{ "*:1080", "*", 1080 },
		{ "[2001:db8::1]:1", "2001:db8::1", 1 },
		{ "host.example.com:65535", "host.example.com", 65535 },
		{ "[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80 },
		{ "my_host:00080", "my_host", 80 },
	};
	struct cfg_listen l;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(cfg_parse_listen(v[i].in, &l, err,
		    sizeof(err)), 0);
		assert_string_equal(l.host, v[i].host);
		assert_int_equal(l.port, v[i].port);
		assert_string_equal(err, "");
	}
}

static void
test_listen_bad(void **state)
{
	static const struct {
		const char *in, *needle;
	} v[] = {
		{ "", "empty" },
		{ "127.0.0.1", "missing port" },
		{ "127.0.0.1:", "missing port" },
		{ "127.0.0.1:0", "1 to 65535" },
		{ "127.0.0.1:65536", "1 to 65535" },
		{ "127.0.0.1:99999999999999999999", "1 to 65535" },
		{ "127.0.0.1:+80", "invalid port" },
		{ "127.0.0.1:8 0", "invalid port" },
		{ "127.0.0.1:-1", "invalid port" },
		{ ":1080", "missing host" },
		{ "::1:22", "brackets" },
		{ "[::1:22", "missing ']'" },
		{ "[::1]22", "after ']'" },
		{ "[::1]", "missing port" },
		{ "[127.0.0.1]:22", "not an IPv6" },
		{ "[]:22", "not an IPv6" },
		{ "[fe80::1%eth0]:22", "not an IPv6" },
		{ "999.1.1.1:22", "IPv4" },
		{ "1.2.3:22", "IPv4" },
		{ "bad host:22", "invalid character" },
		{ "-bad.example:22", "'-'" },
		{ "a..b:22", "empty label" },
		{ "**:22", "invalid character" },
	};
	struct cfg_listen l;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_bad(cfg_parse_listen(v[i].in, &l, err, sizeof(err)),
		    err, v[i].in, v[i].needle);
		assert_int_equal(l.port, 0);
		assert_string_equal(l.host, "");
	}
}

/* ------------------------------------------------------------------ cidr */

static void
test_cidr_good(void **state)
{
	static const struct {
		const char *in;
		int bare, family, prefix;
		const char *text;
	} v[] = {
		{ "10.0.0.0/8", 0, AF_INET, 8, "10.0.0.0/8" },
		{ "0.0.0.0/0", 0, AF_INET, 0, "0.0.0.0/0" },
		{ "192.168.1.77/32", 0, AF_INET, 32, "192.168.1.77/32" },
		{ "192.168.1.77", 1, AF_INET, 32, "192.168.1.77/32" },
		{ "2001:db8::/32", 0, AF_INET6, 32, "2001:db8::/32" },
		{ "2001:DB8:0:0::/64", 0, AF_INET6, 64, "2001:db8::/64" },
		{ "::/0", 0, AF_INET6, 0, "::/0" },
		{ "::1", 1, AF_INET6, 128, "::1/128" },
		{ "::1/128", 0, AF_INET6, 128, "::1/128" },
		{ "::ffff:10.0.0.0/104", 0, AF_INET6, 104,
		    "::ffff:10.0.0.0/104" },
		{ "172.16.0.0/12", 0, AF_INET, 12, "172.16.0.0/12" },
		{ "10.0.0.0/008", 0, AF_INET, 8, "10.0.0.0/8" },
	};
	struct cfg_cidr c;
	char err[ERRLEN], text[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(cfg_parse_cidr(v[i].in, v[i].bare, &c, err,
		    sizeof(err)), 0);
		assert_int_equal(c.family, v[i].family);
		assert_int_equal(c.prefix, v[i].prefix);
		cfg_cidr_format(&c, text, sizeof(text));
		assert_string_equal(text, v[i].text);
	}
	/* Truncating format output stays terminated. */
	assert_int_equal(cfg_parse_cidr("10.0.0.0/8", 0, &c, err,
	    sizeof(err)), 0);
	cfg_cidr_format(&c, text, 4);
	assert_string_equal(text, "10.");
	c.family = 12345;
	cfg_cidr_format(&c, text, sizeof(text));
	assert_string_equal(text, "?");
}

static void
test_cidr_bad(void **state)
{
	static const struct {
		const char *in;
		int bare;
		const char *needle;
	} v[] = {
		{ "", 1, "empty" },
		{ "10.1.2.3/8", 0,
		    "10.1.2.3/8 has host bits set; did you mean 10.0.0.0/8?" },
		{ "2001:db8::1/32", 0, "did you mean 2001:db8::/32?" },
		{ "10.0.0.1/31", 0, "10.0.0.0/31" },
		{ "10.0.0.0/33", 0, "0 to 32" },
		{ "::/129", 0, "0 to 128" },
		{ "10.0.0.0/", 0, "prefix" },
		{ "10.0.0.0/-1", 0, "prefix" },
		{ "10.0.0.0/+8", 0, "prefix" },
		{ "10.0.0.0/8/8", 0, "prefix" },
		{ "10.0.0.0/ 8", 0, "prefix" },
		{ "10.0.0.0", 0, "prefix length" },
		{ "::1", 0, "prefix length" },
		{ "10.0.0", 1, "not an IPv4 or IPv6" },
		{ "010.0.0.0/8", 0, "not an IPv4 or IPv6" },
		{ "example.com/8", 0, "not an IPv4 or IPv6" },
		{ "/8", 0, "not an IPv4 or IPv6" },
		{ "1.2.3.4.5", 1, "not an IPv4 or IPv6" },
		{ "fe80::1%lo/64", 0, "not an IPv4 or IPv6" },
	};
	struct cfg_cidr c;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_bad(cfg_parse_cidr(v[i].in, v[i].bare, &c, err,
		    sizeof(err)), err, v[i].in, v[i].needle);
		assert_int_equal(c.family, 0);
	}
}

/* ------------------------------------------------------------------- acl */

static void
test_acl_good(void **state)
{
	static const struct {
		const char *in;
		int kind;
		const char *what;	/* name, or formatted network */
		unsigned lo, hi;
	} v[] = {
		{ "*", CFG_ACL_ANY, "", 0, 65535 },
		{ "*:443", CFG_ACL_ANY, "", 443, 443 },
		{ "*:*", CFG_ACL_ANY, "", 0, 65535 },
		{ "10.0.0.0/8", CFG_ACL_NET, "10.0.0.0/8", 0, 65535 },
		{ "10.0.0.0/8:22", CFG_ACL_NET, "10.0.0.0/8", 22, 22 },
		{ "192.168.1.1:80-90", CFG_ACL_NET, "192.168.1.1/32", 80, 90 },
		{ "[2001:db8::1]:443", CFG_ACL_NET, "2001:db8::1/128", 443,
		    443 },
		{ "[2001:db8::/32]", CFG_ACL_NET, "2001:db8::/32", 0, 65535 },
		{ "[2001:db8::/32]:1-1024", CFG_ACL_NET, "2001:db8::/32", 1,
		    1024 },
		{ "[::1]:*", CFG_ACL_NET, "::1/128", 0, 65535 },
		{ "*.Example.COM", CFG_ACL_SUFFIX, "example.com", 0, 65535 },
		{ "*.example.com.:443", CFG_ACL_SUFFIX, "example.com", 443,
		    443 },
		{ "Example.com:0", CFG_ACL_EXACT, "example.com", 0, 0 },
		{ "example.com.", CFG_ACL_EXACT, "example.com", 0, 65535 },
		{ "localhost:65535", CFG_ACL_EXACT, "localhost", 65535,
		    65535 },
		{ "a:0-65535", CFG_ACL_EXACT, "a", 0, 65535 },
		{ "x:5-5", CFG_ACL_EXACT, "x", 5, 5 },
		{ "_srv.example", CFG_ACL_EXACT, "_srv.example", 0, 65535 },
	};
	struct cfg_acl_rule a;
	char err[ERRLEN], text[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(cfg_parse_acl_rule(v[i].in, &a, err,
		    sizeof(err)), 0);
		assert_int_equal(a.kind, v[i].kind);
		if (a.kind == CFG_ACL_NET) {
			cfg_cidr_format(&a.net, text, sizeof(text));
			assert_string_equal(text, v[i].what);
		} else {
			assert_string_equal(a.name, v[i].what);
		}
		assert_int_equal(a.port_lo, v[i].lo);
		assert_int_equal(a.port_hi, v[i].hi);
	}
}

static void
test_acl_bad(void **state)
{
	static const char *v6msg = "IPv6 addresses in ACL rules must be "
	    "bracketed, e.g. [2001:db8::1]:443 or [2001:db8::/32]";
	static const struct {
		const char *in, *needle;
	} v[] = {
		{ "", "empty" },
		{ "::1", NULL },
		{ "::1:443", NULL },
		{ "2001:db8::/32", NULL },
		{ "2001:db8::1", NULL },
		{ "fe80::", NULL },
		{ ":443", "missing host" },
		{ "example.com:", "missing port" },
		{ "example.com:65536", "invalid port" },
		{ "example.com:-1", "invalid port" },
		{ "example.com:1-", "invalid port" },
		{ "example.com:-5", "invalid port" },
		{ "example.com:a", "invalid port" },
		{ "example.com:90-80", "backwards" },
		{ "example.com:1-2-3", "invalid port" },
		{ "ex*ample.com", "wildcard" },
		{ "*example.com", "wildcard" },
		{ "*.*.example.com", "wildcard" },
		{ "foo.*", "wildcard" },
		{ "*.", "followed by a domain" },
		{ "**", "wildcard" },
		{ "[2001:db8::1", "missing ']'" },
		{ "[2001:db8::1]443", "after ']'" },
		{ "[10.0.0.1]:80", "only for IPv6" },
		{ "[example.com]:80", "not an IPv4 or IPv6" },
		{ "[2001:db8::1/32]", "host bits" },
		{ "10.1.0.0/8", "did you mean 10.0.0.0/8?" },
		{ "10.0.0.0/40", "0 to 32" },
		{ "300.1.1.1", "not an IPv4" },
		{ "bad_name-.com", "'-'" },
		{ "a b", "invalid character" },
		{ "..", "empty label" },
		{ ".", "just a dot" },
		{ "exa/mple", "not an IPv4 or IPv6" },
	};
	struct cfg_acl_rule a;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_bad(cfg_parse_acl_rule(v[i].in, &a, err, sizeof(err)),
		    err, v[i].in, v[i].needle != NULL ? v[i].needle : v6msg);
		assert_int_equal(a.kind, 0);
	}
}

/* -------------------------------------------------------------- hostname */

static void
test_hostname(void **state)
{
	static const char *good[] = {
		"a", "localhost", "example.com", "example.com.", "a-b.c_d.e",
		"xn--bcher-kva.example", "b\303\274cher.example",
		"\xe6\x97\xa5\xe6\x9c\xac.jp", "\xf0\x9f\x98\x80.example",
		"123.example", "0",
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "", "empty" },
		{ ".", "just a dot" },
		{ "..", "empty label" },
		{ ".a", "empty label" },
		{ "a..b", "empty label" },
		{ "a.b..", "empty label" },
		{ "-a", "'-'" },
		{ "a-", "'-'" },
		{ "a.b-.c", "'-'" },
		{ "a b", "invalid character" },
		{ "a/b", "invalid character" },
		{ "a*b", "invalid character" },
		{ "a:b", "invalid character" },
		{ "\xc3", "UTF-8" },
		{ "\xc3\x28", "UTF-8" },
		{ "\xc0\xaf", "UTF-8" },		/* overlong */
		{ "\xe0\x80\xaf", "UTF-8" },		/* overlong */
		{ "\xed\xa0\x80", "UTF-8" },		/* surrogate */
		{ "\xf4\x90\x80\x80", "UTF-8" },	/* > U+10FFFF */
		{ "\xff", "UTF-8" },
		{ "a\x01", "invalid character" },
	};
	char err[ERRLEN], name[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cfg_check_hostname(good[i], err,
		    sizeof(err)), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_bad(cfg_check_hostname(bad[i].in, err, sizeof(err)),
		    err, bad[i].in, bad[i].needle);
	}
	/* Label of 63 bytes is fine, 64 is not. */
	memset(name, 'a', 64);
	name[63] = '\0';
	assert_int_equal(cfg_check_hostname(name, err, sizeof(err)), 0);
	name[63] = 'a';
	name[64] = '\0';
	check_bad(cfg_check_hostname(name, err, sizeof(err)), err, "64a",
	    "63");
	/* 253 bytes total is fine (254 with a trailing dot); 254 is not. */
	memset(name, 'a', sizeof(name));
	for (i = 63; i < 253; i += 64) {
		name[i] = '.';
	}
	name[253] = '\0';
	assert_int_equal(cfg_check_hostname(name, err, sizeof(err)), 0);
	name[253] = '.';
	name[254] = '\0';
	assert_int_equal(cfg_check_hostname(name, err, sizeof(err)), 0);
	name[253] = 'a';
	check_bad(cfg_check_hostname(name, err, sizeof(err)), err, "254a",
	    "253");
	assert_int_equal(cfg_check_hostname(NULL, err, sizeof(err)),
	    ERR_INVAL);
}

/* -------------------------------------------------------------- rfc3339 */

static void
test_rfc3339_good(void **state)
{
	static const struct {
		const char *in;
		long long t;
	} v[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-12-31T23:59:59Z", 1798761599LL },
		{ "2026-12-31t23:59:59z", 1798761599LL },
		{ "2026-12-31 23:59:59Z", 1798761599LL },
		{ "2026-12-31T23:59:59.123456789Z", 1798761599LL },
		{ "2026-12-31T23:59:59.5+00:00", 1798761599LL },
		{ "2027-01-01T01:59:59+02:00", 1798761599LL },
		{ "2026-12-31T18:29:59-05:30", 1798761599LL },
		{ "2026-12-31T23:59:59-00:00", 1798761599LL },
		{ "2024-02-29T12:00:00Z", 1709208000LL },
		{ "2000-02-29T00:00:00Z", 951782400LL },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "0001-01-01T00:00:00Z", -62135596800LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "1900-03-01T00:00:00Z", -2203891200LL },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
	};
	char err[ERRLEN];
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (cfg_parse_rfc3339(v[i].in, &t, err, sizeof(err)) != 0) {
			print_error("%s: %s\n", v[i].in, err);
			fail();
		}
		assert_int_equal((long long)t, v[i].t);
	}
}

static void
test_rfc3339_bad(void **state)
{
	static const struct {
		const char *in, *needle;
	} v[] = {
		{ "", "RFC 3339" },
		{ "2026-12-31", "RFC 3339" },
		{ "2026-12-31T23:59:59", "zone" },
		{ "2026-12-31T23:59Z", "RFC 3339" },
		{ "2026-13-01T00:00:00Z", "month 13" },
		{ "2026-00-01T00:00:00Z", "month 00" },
		{ "2026-02-29T00:00:00Z", "day 29" },
		{ "1900-02-29T00:00:00Z", "day 29" },
		{ "2026-04-31T00:00:00Z", "day 31" },
		{ "2026-01-00T00:00:00Z", "day 00" },
		{ "2026-01-01T24:00:00Z", "out of range" },
		{ "2026-01-01T23:60:00Z", "out of range" },
		{ "2026-12-31T23:59:60Z", "leap seconds" },
		{ "2026-12-31T23:59:59.Z", "fraction" },
		{ "2026-12-31T23:59:59ZZ", "zone" },
		{ "2026-12-31T23:59:59+2:00", "zone" },
		{ "2026-12-31T23:59:59+0200", "zone" },
		{ "2026-12-31T23:59:59+24:00", "offset" },
		{ "2026-12-31T23:59:59+02:60", "offset" },
		{ "2026-12-31X23:59:59Z", "RFC 3339" },
		{ "2026/12/31T23:59:59Z", "RFC 3339" },
		{ "+026-12-31T23:59:59Z", "RFC 3339" },
		{ "2026-12-31T23:59:59Z ", "zone" },
		{ " 2026-12-31T23:59:59Z", "RFC 3339" },
		{ "2026-1a-31T23:59:59Z", "RFC 3339" },
	};
	char err[ERRLEN];
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_bad(cfg_parse_rfc3339(v[i].in, &t, err, sizeof(err)),
		    err, v[i].in, v[i].needle);
		assert_int_equal((long long)t, 0);
	}
}

/* ------------------------------------------------ hours, day, schedule */

static void
test_hours(void **state)
{
	static const struct {
		const char *in;
		int start, end;
	} good[] = {
		{ "09:00-17:00", 540, 1020 },
		{ "00:00-24:00", 0, 1440 },
		{ "00:00-23:59", 0, 1439 },
		{ "23:59-24:00", 1439, 1440 },
		{ "22:00-06:00", 1320, 360 },
		{ "23:59-00:00", 1439, 0 },
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "", "HH:MM-HH:MM" },
		{ "09:00-09:00", "empty range; use 00:00-24:00 for all day" },
		{ "00:00-00:00", "empty range" },
		{ "24:00-10:00", "HH:MM" },
		{ "9:00-17:00", "HH:MM" },
		{ "09:00-17:0", "HH:MM" },
		{ "09:00 -17:00", "HH:MM" },
		{ "09:60-17:00", "HH:MM" },
		{ "25:00-17:00", "HH:MM" },
		{ "09:00-24:01", "HH:MM" },
		{ "09:00-25:00", "HH:MM" },
		{ "09.00-17.00", "HH:MM" },
		{ "09:00-17:00 ", "HH:MM" },
		{ "-9:00-17:00", "HH:MM" },
		{ "09:00_17:00", "HH:MM" },
	};
	struct cfg_hours h;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cfg_parse_hours(good[i].in, &h, err,
		    sizeof(err)), 0);
		assert_int_equal(h.start, good[i].start);
		assert_int_equal(h.end, good[i].end);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_bad(cfg_parse_hours(bad[i].in, &h, err, sizeof(err)),
		    err, bad[i].in, bad[i].needle);
	}
}

static void
test_day(void **state)
{
	static const struct {
		const char *in;
		int day;
	} good[] = {
		{ "mon", 0 }, { "TUE", 1 }, { "Wed", 2 }, { "thu", 3 },
		{ "fri", 4 }, { "sat", 5 }, { "sun", 6 }, { "Monday", 0 },
		{ "tuesday", 1 }, { "WEDNESDAY", 2 }, { "thursday", 3 },
		{ "friday", 4 }, { "saturday", 5 }, { "sunday", 6 },
	};
	static const char *bad[] = {
		"", "mo", "mond", "monday ", " mon", "sonntag", "weekday",
		"daily", "m\xc3\xb6n",
	};
	char err[ERRLEN];
	size_t i;
	int d;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cfg_parse_day(good[i].in, &d, err,
		    sizeof(err)), 0);
		assert_int_equal(d, good[i].day);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_bad(cfg_parse_day(bad[i], &d, err, sizeof(err)), err,
		    bad[i], "mon, tue, wed, thu, fri, sat, sun");
		assert_int_equal(d, -1);
	}
}

static void
test_schedule(void **state)
{
	static const struct {
		const char *in;
		int day, start, end;
	} good[] = {
		{ "daily 02:00-04:00", -1, 120, 240 },
		{ "DAILY 02:00-04:00", -1, 120, 240 },
		{ "sun 02:00-04:00", 6, 120, 240 },
		{ "Sunday   23:00-01:00", 6, 1380, 60 },
		{ "mon\t00:00-24:00", 0, 0, 1440 },
		{ "  fri 10:00-11:00  ", 4, 600, 660 },
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "", "invalid schedule" },
		{ "daily", "invalid schedule" },
		{ "daily ", "HH:MM-HH:MM" },
		{ "02:00-04:00", "invalid schedule" },
		{ "weekly 02:00-04:00", "unknown day" },
		{ "sun 02:00-02:00", "empty range" },
		{ "sun 2:00-4:00", "HH:MM-HH:MM" },
		{ "sun 02:00-04:00 extra", "invalid schedule" },
		{ "sun,mon 02:00-04:00", "unknown day" },
		{ "averyveryverylongdayname 02:00-04:00", "invalid schedule" },
		{ "sun 02:00-04:00:00:00:00", "invalid schedule" },
	};
	struct cfg_schedule s;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cfg_parse_schedule(good[i].in, &s, err,
		    sizeof(err)), 0);
		assert_int_equal(s.day, good[i].day);
		assert_int_equal(s.hours.start, good[i].start);
		assert_int_equal(s.hours.end, good[i].end);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_bad(cfg_parse_schedule(bad[i].in, &s, err, sizeof(err)),
		    err, bad[i].in, bad[i].needle);
		assert_int_equal(s.day, -1);
	}
}

/* ---------------------------------------------------------------- base32 */

static void
test_base32(void **state)
{
	static const struct {
		const char *raw, *enc;
	} v[] = {	/* RFC 4648 section 10, without padding */
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" },
		{ "foo", "MZXW6" }, { "foob", "MZXW6YQ" },
		{ "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	unsigned char buf[64], all[256];
	char enc[512], err[ERRLEN];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cfg_base32_encode((const unsigned char *)v[i].raw,
		    strlen(v[i].raw), enc);
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(cfg_base32_decode(v[i].enc, buf, sizeof(buf),
		    &n, err, sizeof(err)), 0);
		assert_int_equal(n, strlen(v[i].raw));
		assert_memory_equal(buf, v[i].raw, n);
	}
	/* Padding, spaces and lower case are accepted. */
	assert_int_equal(cfg_base32_decode("mzxw 6yq=", buf, sizeof(buf), &n,
	    err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "foob", 4);
	assert_int_equal(cfg_base32_decode("JBSWY3DPEHPK3PXP", buf,
	    sizeof(buf), &n, err, sizeof(err)), 0);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "Hello!\xde\xad\xbe\xef", 10);
	/* Round trip of every byte value and length. */
	for (i = 0; i < sizeof(all); i++) {
		all[i] = (unsigned char)(255 - i);
	}
	for (i = 0; i <= sizeof(all); i += 7) {
		unsigned char back[256];

		cfg_base32_encode(all, i, enc);
		assert_int_equal(strlen(enc), (i * 8 + 4) / 5);
		assert_int_equal(cfg_base32_decode(enc, back, sizeof(back), &n,
		    err, sizeof(err)), 0);
		assert_int_equal(n, i);
		assert_memory_equal(back, all, i);
	}
	/* Bad characters and overflow. */
	check_bad(cfg_base32_decode("MZXW1", buf, sizeof(buf), &n, err,
	    sizeof(err)), err, "MZXW1", "'1'");
	assert_int_equal(n, 0);
	check_bad(cfg_base32_decode("MZ-XW", buf, sizeof(buf), &n, err,
	    sizeof(err)), err, "MZ-XW", "invalid base32");
	check_bad(cfg_base32_decode("MZ\x80XW", buf, sizeof(buf), &n, err,
	    sizeof(err)), err, "high", "'?'");
	check_bad(cfg_base32_decode("MZXW6YTBOI", buf, 5, &n, err,
	    sizeof(err)), err, "overflow", "more than 5 bytes");
	assert_int_equal(n, 0);
	assert_int_equal(cfg_base32_decode("MZXW6YTB", buf, 5, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 5);
	assert_int_equal(cfg_base32_decode("", NULL, 0, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
}

/* --------------------------------------------------------- authorized_keys */

#define ED_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIMe9OW9JD3hNcu+JBJBElbJn7ig/wgLfP5W0" \
	"jcPGChye"
#define EC_B64 "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAvmz3eE" \
	"lq16RpC3zig65mEnARfA9oGXbPVtGuadXGCMknBjy73WLXwuBj/GC85FUBjX4iJ5" \
	"/GLjjd6wB6KdNxU="
#define RSA_B64 "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDVzyTdw1yymggesqrRIKQJ0+88YRBc" \
	"mHxmq3aUH+wxYxHedS864WGWTS5MzvzS5RtYqbyimrgilVlRrQKZlCt7sEHh0Y+4" \
	"F+5nXMNedx3foxY9MN4mpUkHMwSIWDr8jC0WCYzlVpNj0fL/yXnr+by2QFkYrAMc" \
	"RfI5qdpF2p6gLw=="

static void
test_authkey_good(void **state)
{
	static const struct {
		const char *in, *opts, *type, *b64, *comment;
	} v[] = {
		{ "ssh-ed25519 " ED_B64 " alice@laptop", NULL, "ssh-ed25519",
		    ED_B64, "alice@laptop" },
		{ "ssh-ed25519 " ED_B64, NULL, "ssh-ed25519", ED_B64, NULL },
		{ "  ssh-ed25519\t" ED_B64 "  \r\n", NULL, "ssh-ed25519",
		    ED_B64, NULL },
		{ "ecdsa-sha2-nistp256 " EC_B64 " my key  ", NULL,
		    "ecdsa-sha2-nistp256", EC_B64, "my key" },
		{ "ssh-rsa " RSA_B64 " root@vm", NULL, "ssh-rsa", RSA_B64,
		    "root@vm" },
		{ "from=\"10.0.0.0/8\",no-pty,command=\"echo hi\" ssh-ed25519 "
		    ED_B64 " c",
		    "from=\"10.0.0.0/8\",no-pty,command=\"echo hi\"",
		    "ssh-ed25519", ED_B64, "c" },
		{ "no-pty ssh-ed25519 " ED_B64, "no-pty", "ssh-ed25519",
		    ED_B64, NULL },
		{ "command=\"say \\\"hi\\\", bye\" ssh-ed25519 " ED_B64,
		    "command=\"say \\\"hi\\\", bye\"", "ssh-ed25519", ED_B64,
		    NULL },
		{ "environment=\"A=b c\",permitopen=\"h:1\"  ssh-rsa " RSA_B64
		    " x y z", "environment=\"A=b c\",permitopen=\"h:1\"",
		    "ssh-rsa", RSA_B64, "x y z" },
	};
	struct cfg_authkey k;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (cfg_parse_authorized_key(v[i].in, &k, err,
		    sizeof(err)) != 0) {
			print_error("%zu: %s\n", i, err);
			fail();
		}
		if (v[i].opts == NULL) {
			assert_null(k.options);
		} else {
			assert_string_equal(k.options, v[i].opts);
		}
		assert_string_equal(k.type, v[i].type);
		assert_string_equal(k.blob_b64, v[i].b64);
		if (v[i].comment == NULL) {
			assert_null(k.comment);
		} else {
			assert_string_equal(k.comment, v[i].comment);
		}
		cfg_authkey_cleanup(&k);
		assert_null(k.type);
		cfg_authkey_cleanup(&k);
	}
	cfg_authkey_cleanup(NULL);
}

static void
test_authkey_bad(void **state)
{
	static const struct {
		const char *in, *needle;
	} v[] = {
		{ "", "empty" },
		{ "   ", "empty" },
		{ "# comment", "comment" },
		{ "ssh-ed25519", "missing base64" },
		{ "ssh-ed25519   ", "missing base64" },
		{ "ssh-dss AAAAB3NzaC1kc3M=",
		    "unsupported key type 'ssh-dss'" },
		{ "ssh-ed25519 !!!!", "not valid base64" },
		{ "ssh-ed25519 " ED_B64 "=", "not valid base64" },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5A", "not valid base64" },
		{ "ssh-ed25519 AAA=AAAA", "not valid base64" },
		{ "ssh-rsa " ED_B64, "not a ssh-rsa key" },
		{ "ssh-ed25519 " RSA_B64, "not a ssh-ed25519 key" },
		{ "ssh-ed25519 AAAA", "not a ssh-ed25519 key" },
		{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "not a ssh-ed25519 key" },
		{ "no-pty", "missing key type" },
		{ "no-pty   ", "missing key type" },
		{ "no-pty foo " ED_B64, "unknown key type 'foo'" },
		{ "from=10.0.0.1 ssh-ed25519 " ED_B64, "double quotes" },
		{ "from=\"10.0.0.1 ssh-ed25519 " ED_B64, "closing" },
		{ "from=\"x\\", "closing" },
		{ "no-pty,,x ssh-ed25519 " ED_B64, "option name" },
		{ "no-pty, ssh-ed25519 " ED_B64, "option name" },
		{ ",no-pty ssh-ed25519 " ED_B64, "option name" },
		{ "from=\"x\"y ssh-ed25519 " ED_B64,
		    "unexpected character 'y'" },
		{ "no-pty,x;y ssh-ed25519 " ED_B64,
		    "unexpected character ';'" },
		{ "no;pty ssh-ed25519 " ED_B64, "unknown key type 'no;pty'" },
		{ "no-pty ssh-ed25519x " ED_B64, "unknown key type" },
		{ ED_B64 " alice", "unknown key type 'AAAAC3Nz" },
	};
	struct cfg_authkey k;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_bad(cfg_parse_authorized_key(v[i].in, &k, err,
		    sizeof(err)), err, v[i].in, v[i].needle);
		assert_null(k.options);
		assert_null(k.type);
		assert_null(k.blob_b64);
		assert_null(k.comment);
	}
}

/* ------------------------------------------------------------------ urls */

static void
test_proxy_url_good(void **state)
{
	static const struct {
		const char *in;
		int rdns;
		const char *user, *pass, *host;
		unsigned port;
	} v[] = {
		{ "socks5://proxy.example:1080", 0, NULL, NULL,
		    "proxy.example", 1080 },
		{ "socks5h://proxy.example:1080/", 1, NULL, NULL,
		    "proxy.example", 1080 },
		{ "SOCKS5://alice:s3cret@10.0.0.1:1", 0, "alice", "s3cret",
		    "10.0.0.1", 1 },
		{ "socks5://al%40ce:p%3Ass%25w%2f@[::1]:65535", 0, "al@ce",
		    "p:ss%w/", "::1", 65535 },
		{ "socks5://bob@h:9", 0, "bob", NULL, "h", 9 },
		{ "socks5://bob:@h:9", 0, "bob", "", "h", 9 },
		{ "socks5://a:b@c@h:9", 0, "a", "b@c", "h", 9 },
	};
	struct cfg_proxy_url u;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (cfg_parse_proxy_url(v[i].in, &u, err, sizeof(err)) != 0) {
			print_error("%s: %s\n", v[i].in, err);
			fail();
		}
		assert_int_equal(u.remote_dns, v[i].rdns);
		if (v[i].user == NULL) {
			assert_null(u.user);
		} else {
			assert_string_equal(u.user, v[i].user);
		}
		if (v[i].pass == NULL) {
			assert_null(u.pass);
		} else {
			assert_string_equal(u.pass, v[i].pass);
		}
		assert_string_equal(u.host, v[i].host);
		assert_int_equal(u.port, v[i].port);
		cfg_proxy_url_cleanup(&u);
		assert_null(u.user);
		assert_null(u.pass);
		cfg_proxy_url_cleanup(&u);
	}
	cfg_proxy_url_cleanup(NULL);
}

static void
test_proxy_url_bad(void **state)
{
	static const char *scheme = "only socks5:// and socks5h:// upstream "
	    "proxies are supported";
	static const struct {
		const char *in, *needle;
	} v[] = {
		{ "", NULL },
		{ "http://h:1", NULL },
		{ "socks4://h:1", NULL },
		{ "socks5:/h:1", NULL },
		{ "h:1080", NULL },
		{ "socks5://h", "missing port" },
		{ "socks5://h:", "missing port" },
		{ "socks5://h:0", "1 to 65535" },
		{ "socks5://h:65536", "1 to 65535" },
		{ "socks5://:1080", "missing host" },
		{ "socks5://", "missing host" },
		{ "socks5://h:1/path", "path" },
		{ "socks5://h:1?x=1", "path" },
		{ "socks5://h:1#f", "path" },
		{ "socks5://::1:1080", "brackets" },
		{ "socks5://u:p%zz@h:1", "percent" },
		{ "socks5://u:p%2@h:1", "percent" },
		{ "socks5://u:p%@h:1", "percent" },
		{ "socks5://u%00:p@h:1", "percent" },
		{ "socks5://:p@h:1", "empty user" },
		{ "socks5://u:p@h :1", "space" },
		{ "socks5://u:p\n@h:1", "control" },
		{ "socks5://*:1080", "not allowed" },
		{ "socks5://u:p@:1", "missing host" },
	};
	struct cfg_proxy_url u;
	char err[ERRLEN], big[700];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		check_bad(cfg_parse_proxy_url(v[i].in, &u, err, sizeof(err)),
		    err, v[i].in, v[i].needle != NULL ? v[i].needle : scheme);
		assert_null(u.user);
		assert_null(u.pass);
		assert_string_equal(u.host, "");
	}
	/* A password decoding to 256 bytes is over the SOCKS5 limit. */
	strcpy(big, "socks5://u:");
	memset(big + 11, 'x', 256);
	strcpy(big + 267, "@h:1");
	check_bad(cfg_parse_proxy_url(big, &u, err, sizeof(err)), err, "big",
	    "255");
	big[266] = '@';
	strcpy(big + 267, "h:1");
	assert_int_equal(cfg_parse_proxy_url(big, &u, err, sizeof(err)), 0);
	assert_int_equal(strlen(u.pass), 255);
	cfg_proxy_url_cleanup(&u);
}

static void
test_http_url(void **state)
{
	static const struct {
		const char *in;
		int tls;
		const char *host;
		unsigned port;
	} good[] = {
		{ "http://hooks.example/x", 0, "hooks.example", 80 },
		{ "https://hooks.example", 1, "hooks.example", 443 },
		{ "HTTPS://hooks.example:8443/a/b?c=d#e", 1, "hooks.example",
		    8443 },
		{ "http://[2001:db8::1]:8080/", 0, "2001:db8::1", 8080 },
		{ "https://[::1]/p", 1, "::1", 443 },
		{ "http://127.0.0.1:1?x", 0, "127.0.0.1", 1 },
		{ "http://h#frag", 0, "h", 80 },
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "", "http://" },
		{ "ftp://h/", "http://" },
		{ "http:/h", "http://" },
		{ "httpx://h", "http://" },
		{ "http://", "no host" },
		{ "http:///path", "no host" },
		{ "http://user:pw@h/", "user:password@" },
		{ "http://@h/", "user:password@" },
		{ "http://h:/", "missing port" },
		{ "http://h:0/", "1 to 65535" },
		{ "http://h:65536/", "1 to 65535" },
		{ "http://h:8x/", "invalid port" },
		{ "http://::1/", "brackets" },
		{ "http://[::1/", "missing ']'" },
		{ "http://h/a b", "space" },
		{ "http://h/\x7f", "control" },
		{ "http://bad_-.h/", "'-'" },
		{ "http://*/", "not allowed" },
		{ "http://300.0.0.1/", "IPv4" },
	};
	struct cfg_http_url u;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cfg_parse_http_url(good[i].in, &u, err,
		    sizeof(err)), 0);
		assert_int_equal(u.tls, good[i].tls);
		assert_string_equal(u.host, good[i].host);
		assert_int_equal(u.port, good[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_bad(cfg_parse_http_url(bad[i].in, &u, err, sizeof(err)),
		    err, bad[i].in, bad[i].needle);
		assert_int_equal(u.port, 0);
	}
}

static void
test_redact_url(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "socks5://alice:s3cret@h:1", "socks5://***@h:1" },
		{ "socks5://alice@h:1", "socks5://***@h:1" },
		{ "socks5://a:b@c@h:1", "socks5://***@h:1" },
		{ "socks5://h:1", "socks5://h:1" },
		{ "https://h/path@x", "https://h/path@x" },
		{ "https://u:p@h/q?a=b@c", "https://***@h/q?a=b@c" },
		{ "user:pass@host:1", "user:pass@host:1" },
		{ "", "" },
		{ "://@", "://***@" },
		{ "x://", "x://" },
		{ "socks5://u:p/ss@h:1", "socks5://***@h:1" },
		{ "socks5://u:pa#ss?@h:1", "socks5://***@h:1" },
		{ "socks5h://u:p@h:1/", "socks5h://***@h:1/" },
		{ "HTTP://u:p@h/a@b", "HTTP://***@h/a@b" },
		{ "https://h:8443/a@b", "https://h:8443/a@b" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cfg_redact_url(v[i].in, out, sizeof(out));
		assert_string_equal(out, v[i].out);
	}
	/* Small buffers truncate but stay terminated, and never leak. */
	for (i = 1; i <= 30; i++) {
		memset(out, 'Z', sizeof(out));
		cfg_redact_url("socks5://alice:s3cret@h:1", out, i);
		assert_true(strlen(out) < i);
		assert_int_equal(out[i], 'Z');
		assert_null(strstr(out, "s3c"));
		assert_null(strstr(out, "alice"));
	}
	cfg_redact_url("x", NULL, 0);
	cfg_redact_url(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

static void
test_redact_url_path(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "https://hooks.example/services/T0/B0/tok", "https://hooks.example/***" },
		{ "https://h:8443", "https://h:8443" },
		{ "https://h/", "https://h/" },
		{ "https://h?k=tok", "https://h/***" },
		{ "https://h#x", "https://h/***" },
		{ "no-scheme/path", "no-scheme/path" },
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(out, sizeof(out), "%s", v[i].in);
		cfg_redact_url_path(out, sizeof(out));
		assert_string_equal(out, v[i].out);
	}
	/* No room for the marker: the path is dropped, never kept. */
	snprintf(out, sizeof(out), "%s", "https://h?t");
	cfg_redact_url_path(out, 12);
	assert_string_equal(out, "https://h");
	cfg_redact_url_path(NULL, 0);
}

/* ------------------------------------------------------------------- phc */

#define SALT "c29tZXNhbHRzb21lc2FsdA"
#define HASH "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

static void
test_phc(void **state)
{
	static const char *good[] = {
		"$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" HASH,
		"$argon2i$v=19$m=65536,t=3,p=4$" SALT "$" HASH,
		"$argon2d$v=19$m=8,t=1,p=1$" SALT "$" HASH,
		"$argon2id$v=19$m=4194304,t=64,p=255$" SALT "$" HASH,
		"$argon2id$v=19$m=2040,t=1,p=255$c29tZXNhbHQ$" HASH,
		"$argon2id$v=19$m=19456,t=2,p=1$" SALT
		    "$AAECAwQFBgcICQoLDA0ODw",
	};
	static const struct {
		const char *in, *needle;
	} bad[] = {
		{ "", "not an Argon2" },
		{ "$2b$12$abcdefghijklmnopqrstuv", "not an Argon2" },
		{ "$argon2x$v=19$m=19456,t=2,p=1$" SALT "$" HASH,
		    "not an Argon2" },
		{ "$argon2id$m=19456,t=2,p=1$" SALT "$" HASH, "v=19" },
		{ "$argon2id$v=16$m=19456,t=2,p=1$" SALT "$" HASH, "v=19" },
		{ "$argon2id$v=190$m=19456,t=2,p=1$" SALT "$" HASH, "v=19" },
		{ "$argon2id$v=19$t=2,m=19456,p=1$" SALT "$" HASH,
		    "m=19456,t=2,p=1" },
		{ "$argon2id$v=19$m=19456,t=2$" SALT "$" HASH,
		    "m=19456,t=2,p=1" },
		{ "$argon2id$v=19$m=19456,t=2,p=1,x=2$" SALT "$" HASH,
		    "m=19456,t=2,p=1" },
		{ "$argon2id$v=19$m=,t=2,p=1$" SALT "$" HASH,
		    "m=19456,t=2,p=1" },
		{ "$argon2id$v=19$m=99999999999,t=2,p=1$" SALT "$" HASH,
		    "m=19456,t=2,p=1" },
		{ "$argon2id$v=19$m=4194305,t=2,p=1$" SALT "$" HASH, "m=" },
		{ "$argon2id$v=19$m=7,t=1,p=1$" SALT "$" HASH, "memory" },
		{ "$argon2id$v=19$m=15,t=1,p=2$" SALT "$" HASH, "memory" },
		{ "$argon2id$v=19$m=19456,t=0,p=1$" SALT "$" HASH, "t=0" },
		{ "$argon2id$v=19$m=19456,t=65,p=1$" SALT "$" HASH, "t=65" },
		{ "$argon2id$v=19$m=19456,t=2,p=0$" SALT "$" HASH, "p=0" },
		{ "$argon2id$v=19$m=19456,t=2,p=256$" SALT "$" HASH, "p=256" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT, "missing" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$", "hash value" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" HASH "$",
		    "extra" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$c29tZQ$" HASH, "salt" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "==$" HASH, "salt" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" HASH "=",
		    "hash value" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT
		    "$AAECAwQFBgcICQoLDA0O",
		    "hash value" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" HASH "!",
		    "hash value" },
		{ "$argon2id$v=19$m=19456,t=2,p=1$" SALT "$A", "hash value" },
	};
	char err[ERRLEN], big[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (cfg_check_phc(good[i], err, sizeof(err)) != 0) {
			print_error("%s: %s\n", good[i], err);
			fail();
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		check_bad(cfg_check_phc(bad[i].in, err, sizeof(err)), err,
		    bad[i].in, bad[i].needle);
		/* The message never echoes the hash itself. */
		assert_null(strstr(err, HASH));
		assert_null(strstr(err, "AAECAwQF"));
	}
	/* An absurdly long hash value is refused. */
	snprintf(big, sizeof(big), "$argon2id$v=19$m=19456,t=2,p=1$%s$", SALT);
	i = strlen(big);
	memset(big + i, 'A', 200);
	big[i + 200] = '\0';
	check_bad(cfg_check_phc(big, err, sizeof(err)), err, "long",
	    "hash value");
}

/* ------------------------------------------------------- hostile input */

/* Runs every parser on s with an err buffer of errlen bytes and checks
 * the common contract: 0 or ERR_INVAL, err terminated, nothing leaked. */
static void
run_all_len(const char *s, char *err, size_t errlen)
{
	struct cfg_listen l;
	struct cfg_cidr c;
	struct cfg_acl_rule a;
	struct cfg_hours h;
	struct cfg_schedule sc;
	struct cfg_authkey k;
	struct cfg_proxy_url pu;
	struct cfg_http_url hu;
	unsigned char b32[64];
	char red[128], text[64];
	size_t n;
	time_t t;
	int r[13], d, i;

	r[0] = cfg_parse_listen(s, &l, err, errlen);
	r[1] = cfg_parse_cidr(s, 0, &c, err, errlen);
	r[2] = cfg_parse_cidr(s, 1, &c, err, errlen);
	if (r[2] == 0) {
		cfg_cidr_format(&c, text, sizeof(text));
	}
	r[3] = cfg_parse_acl_rule(s, &a, err, errlen);
	r[4] = cfg_check_hostname(s, err, errlen);
	r[5] = cfg_parse_rfc3339(s, &t, err, errlen);
	r[6] = cfg_parse_hours(s, &h, err, errlen);
	r[7] = cfg_parse_day(s, &d, err, errlen);
	r[8] = cfg_parse_schedule(s, &sc, err, errlen);
	r[9] = cfg_base32_decode(s, b32, sizeof(b32), &n, err, errlen);
	assert_true(n <= sizeof(b32));
	r[10] = cfg_parse_authorized_key(s, &k, err, errlen);
	cfg_authkey_cleanup(&k);
	r[11] = cfg_parse_proxy_url(s, &pu, err, errlen);
	cfg_proxy_url_cleanup(&pu);
	r[12] = cfg_parse_http_url(s, &hu, err, errlen);
	assert_int_equal(cfg_check_phc(s, err, errlen) == 0 ||
	    cfg_check_phc(s, err, errlen) == ERR_INVAL, 1);
	cfg_redact_url(s, red, sizeof(red));
	assert_true(strlen(red) < sizeof(red));
	for (i = 0; i < 13; i++) {
		assert_true(r[i] == 0 || r[i] == ERR_INVAL);
	}
	if (errlen > 0) {
		assert_non_null(memchr(err, '\0', errlen));
	}
}

/* Runs every parser on a private heap copy of s[0..n) so that any read
 * past the terminator is caught by ASan, with several err sizes. */
static void
run_all(const char *s, size_t n)
{
	char *copy = NULL, err[ERRLEN], tiny[1];

	copy = malloc(n + 1);
	assert_non_null(copy);
	memcpy(copy, s, n);
	copy[n] = '\0';
	run_all_len(copy, err, sizeof(err));
	run_all_len(copy, tiny, sizeof(tiny));
	run_all_len(copy, NULL, 0);
	free(copy);
}

static const char *const valid_inputs[] = {
	"127.0.0.1:2222", "[::1]:2222", "*:1080", "localhost:1080",
	"10.0.0.0/8", "2001:db8::/32", "[2001:db8::/32]:1-1024",
	"*.example.com:443", "2026-12-31T23:59:59.25+02:00",
	"09:00-17:00", "sunday 02:00-24:00", "MZXW6YTBOI======",
	"from=\"10.0.0.0/8\",command=\"a \\\"b\\\"\" ssh-ed25519 " ED_B64
	    " alice@laptop",
	"ecdsa-sha2-nistp256 " EC_B64 " e",
	"socks5h://al%40ce:p%3Ass@[2001:db8::1]:1080/",
	"https://hooks.example:8443/x?y=z",
	"$argon2id$v=19$m=19456,t=2,p=1$" SALT "$" HASH,
	"b\303\274cher.example",
};

static void
test_truncations(void **state)
{
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(valid_inputs) / sizeof(valid_inputs[0]); i++) {
		n = strlen(valid_inputs[i]);
		for (j = 0; j <= n; j++) {
			run_all(valid_inputs[i], j);
		}
	}
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64: deterministic pseudo-random numbers for the loops below. */
static unsigned long long
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
test_hostile(void **state)
{
	static const char alphabet[] = ":[]/.*-0123456789abcdefAZz@%$=,\" "
	    "\t\\#?Tt+xv\xc3\xbc\xff";
	static const char fill[] = { 'a', ':', '.', '[', '9', '\xff', 'A',
	    '*', '%', '"', '$', '=', ' ' };
	char buf[512], *big = NULL;
	size_t i, j, n, len;

	(void)state;
	/* Random bytes, and random strings over the parsers' own syntax. */
	for (i = 0; i < 3000; i++) {
		len = rng() % 300;
		for (j = 0; j < len; j++) {
			if (i % 2 == 0) {
				buf[j] = (char)(rng() % 255 + 1);
			} else {
				buf[j] = alphabet[rng() %
				    (sizeof(alphabet) - 1)];
			}
		}
		run_all(buf, len);
	}
	/* Bit flips and byte swaps of valid inputs. */
	for (i = 0; i < 4000; i++) {
		const char *v = valid_inputs[i % (sizeof(valid_inputs) /
		    sizeof(valid_inputs[0]))];

		n = strlen(v);
		memcpy(buf, v, n);
		for (j = 0; j < 1 + rng() % 3; j++) {
			size_t at = rng() % n;

			buf[at] = (char)(buf[at] ^ (1 << (rng() % 8)));
			if (buf[at] == '\0') {
				buf[at] = alphabet[rng() %
				    (sizeof(alphabet) - 1)];
			}
		}
		run_all(buf, n);
	}
	/* Very long strings of one character, and long valid-looking ones. */
	big = malloc(10001);
	assert_non_null(big);
	for (i = 0; i < sizeof(fill); i++) {
		memset(big, fill[i], 10000);
		run_all(big, 10000);
	}
	for (i = 0; i < 10000; i++) {
		big[i] = i % 64 == 63 ? '.' : 'a';
	}
	run_all(big, 10000);
	memcpy(big, "socks5://", 9);
	run_all(big, 10000);
	memcpy(big, "ssh-ed25519 ", 12);
	run_all(big, 10000);
	memcpy(big, "x=\"", 3);
	run_all(big, 10000);
	free(big);
}

/* Error messages must not exceed the caller's buffer, whatever its size. */
static void
test_err_sizes(void **state)
{
	struct cfg_acl_rule a;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 1; i < 40; i++) {
		memset(err, 'Z', sizeof(err));
		assert_int_equal(cfg_parse_acl_rule("::1", &a, err, i),
		    ERR_INVAL);
		assert_int_equal(strlen(err), i - 1);
		assert_int_equal(err[i], 'Z');
	}
	/* Long bad input is quoted only in part. */
	memset(err, 0, sizeof(err));
	{
		char in[600];

		memset(in, 'b', sizeof(in));
		strcpy(in + 500, ":x");
		assert_int_equal(cfg_parse_acl_rule(in, &a, err, sizeof(err)),
		    ERR_INVAL);
		assert_true(strlen(err) < 200);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_good),
		cmocka_unit_test(test_listen_bad),
		cmocka_unit_test(test_cidr_good),
		cmocka_unit_test(test_cidr_bad),
		cmocka_unit_test(test_acl_good),
		cmocka_unit_test(test_acl_bad),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_rfc3339_good),
		cmocka_unit_test(test_rfc3339_bad),
		cmocka_unit_test(test_hours),
		cmocka_unit_test(test_day),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_authkey_good),
		cmocka_unit_test(test_authkey_bad),
		cmocka_unit_test(test_proxy_url_good),
		cmocka_unit_test(test_proxy_url_bad),
		cmocka_unit_test(test_http_url),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_redact_url_path),
		cmocka_unit_test(test_phc),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_err_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

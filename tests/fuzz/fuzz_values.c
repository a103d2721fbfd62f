/*
 * libFuzzer target for the configuration value parsers: the input, made
 * a NUL-terminated string, goes through every parser in values.h. Also
 * checks a few round-trip properties and aborts if one breaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/values.h"
#include "core/err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts unless r is one of the two allowed parser results. */
static void
check_rc(int r, const char *err)
{
	if ((r != 0 && r != ERR_INVAL) || (r != 0 && err[0] == '\0')) {
		abort();
	}
}

/* A network that parsed must format and parse back to itself. */
static void
cidr_roundtrip(const struct cfg_cidr *c)
{
	struct cfg_cidr back;
	char text[64], err[256];

	cfg_cidr_format(c, text, sizeof(text));
	if (cfg_parse_cidr(text, 0, &back, err, sizeof(err)) != 0 ||
	    back.family != c->family || back.prefix != c->prefix ||
	    memcmp(back.addr, c->addr, sizeof(back.addr)) != 0) {
		abort();
	}
}

/* Decoded base32 must encode and decode back to the same bytes. */
static void
base32_roundtrip(const unsigned char *b, size_t n)
{
	unsigned char back[128];
	char enc[128 * 8 / 5 + 2], err[256];
	size_t m;

	cfg_base32_encode(b, n, enc);
	if (cfg_base32_decode(enc, back, sizeof(back), &m, err,
	    sizeof(err)) != 0 || m != n || memcmp(back, b, n) != 0) {
		abort();
	}
}

/* Runs the parsers that produce plain structs. */
static void
run_plain(const char *s, char *err, size_t errlen)
{
	struct cfg_listen l;
	struct cfg_cidr c;
	struct cfg_acl_rule a;
	struct cfg_schedule sc;
	struct cfg_hours h;
	struct cfg_http_url hu;
	time_t t;
	int d, r;

	check_rc(cfg_parse_listen(s, &l, err, errlen), err);
	if ((r = cfg_parse_cidr(s, 1, &c, err, errlen)) == 0) {
		cidr_roundtrip(&c);
	}
	check_rc(r, err);
	check_rc(cfg_parse_cidr(s, 0, &c, err, errlen), err);
	if ((r = cfg_parse_acl_rule(s, &a, err, errlen)) == 0) {
		if (a.port_lo > a.port_hi) {
			abort();
		}
		if (a.kind == CFG_ACL_NET) {
			cidr_roundtrip(&a.net);
		}
	}
	check_rc(r, err);
	check_rc(cfg_check_hostname(s, err, errlen), err);
	check_rc(cfg_parse_rfc3339(s, &t, err, errlen), err);
	if ((r = cfg_parse_hours(s, &h, err, errlen)) == 0 &&
	    (h.start < 0 || h.start > 1439 || h.end < 0 || h.end > 1440 ||
	    h.start == h.end)) {
		abort();
	}
	check_rc(r, err);
	check_rc(cfg_parse_day(s, &d, err, errlen), err);
	check_rc(cfg_parse_schedule(s, &sc, err, errlen), err);
	check_rc(cfg_parse_http_url(s, &hu, err, errlen), err);
	check_rc(cfg_check_phc(s, err, errlen), err);
}

/* Runs the parsers that allocate, and the writers. */
static void
run_heap(const char *s, char *err, size_t errlen)
{
	struct cfg_authkey k;
	struct cfg_proxy_url u;
	unsigned char b[128];
	char red[256];
	size_t n;
	int r;

	if ((r = cfg_base32_decode(s, b, sizeof(b), &n, err, errlen)) == 0) {
		base32_roundtrip(b, n);
	}
	check_rc(r, err);
	check_rc(cfg_parse_authorized_key(s, &k, err, errlen), err);
	cfg_authkey_cleanup(&k);
	check_rc(cfg_parse_proxy_url(s, &u, err, errlen), err);
	cfg_proxy_url_cleanup(&u);
	cfg_redact_url(s, red, sizeof(red));
	cfg_redact_url(s, red, 7);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = NULL, err[256];

	s = malloc(size + 1);
	if (s == NULL) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	run_plain(s, err, sizeof(err));
	run_heap(s, err, sizeof(err));
	free(s);
	return 0;
}

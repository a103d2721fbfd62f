/*
 * Network-flavoured value parsers: listen addresses, CIDR networks, ACL
 * rules, host names, upstream proxy URLs, webhook URLs and URL redaction.
 * Everything here is pure: no logging, no name lookups, no global state.
 */
#include "config/values.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"

#define SNIP_MAX	48	/* longest piece of input quoted in a message */
#define SNIP_BUF	(SNIP_MAX + 4)
#define NUM_BUF		64	/* room for any address text we accept */

/* Host-and-port parsing options. */
#define HP_STAR		0x01	/* "*" is a valid host */
#define HP_NEED_PORT	0x02	/* the port must be present */

static int	seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes a message into err (when there is room) and returns ERR_INVAL. */
static int
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ERR_INVAL;
}

/* Clears err on entry so callers always see a terminated string. */
static void
clearerr_buf(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
}

/* Copies up to SNIP_MAX bytes of s into buf for quoting in a message,
 * replacing anything unprintable with '?'. Returns buf. */
static const char *
snip(const char *s, size_t n, char *buf)
{
	size_t i, m;

	m = n > SNIP_MAX ? SNIP_MAX - 3 : n;
	for (i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (m < n) {
		memcpy(buf + m, "...", 3);
		m += 3;
	}
	buf[m] = '\0';
	return buf;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
to_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Parses n decimal digits (nothing else) into *out; fails above max. */
static int
parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0) {
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i])) {
			return -1;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max) {
			return -1;
		}
	}
	*out = v;
	return 0;
}

/* Parses a port 1..65535 (digits only) with a clear message on failure. */
static int
parse_port(const char *s, size_t n, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v;
	char b[SNIP_BUF];

	if (n == 0) {
		return seterr(err, errlen, "missing port number after ':'");
	}
	if (parse_uint(s, n, 65535, &v) != 0 || v == 0) {
		return seterr(err, errlen,
		    "invalid port '%s': expected a number from 1 to 65535",
		    snip(s, n, b));
	}
	*port = (uint16_t)v;
	return 0;
}

/* Converts s[0..n) with inet_pton for family af into dst. */
static int
pton_n(int af, const char *s, size_t n, unsigned char *dst)
{
	char tmp[NUM_BUF];

	if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n) != NULL) {
		return 0;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, dst) == 1;
}

/* True if s[0..n) holds only digits and dots, with at least one digit
 * (it looks like an IPv4 address, not a name). */
static int
looks_ipv4(const char *s, size_t n)
{
	size_t i;
	int digit = 0;

	for (i = 0; i < n; i++) {
		if (is_digit((unsigned char)s[i])) {
			digit = 1;
		} else if (s[i] != '.') {
			return 0;
		}
	}
	return digit;
}

/* Returns the length of the valid UTF-8 sequence at p (n bytes left),
 * or 0 if it is malformed, overlong, a surrogate or above U+10FFFF. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned long cp;
	size_t len, i;

	if (p[0] < 0x80) {
		return 1;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) {
		return 0;
	}
	if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) {
		return 0;
	}
	return len;
}

/* Checks one label s[0..n) of a host name. */
static int
check_label(const char *s, size_t n, char *err, size_t errlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k;
	char b[SNIP_BUF];

	if (n == 0) {
		return seterr(err, errlen, "host name has an empty label "
		    "(two dots in a row, or a leading dot)");
	}
	if (n > 63) {
		return seterr(err, errlen, "host name label '%s' is longer "
		    "than 63 bytes", snip(s, n, b));
	}
	if (s[0] == '-' || s[n - 1] == '-') {
		return seterr(err, errlen, "host name label '%s' starts or "
		    "ends with '-'", snip(s, n, b));
	}
	for (i = 0; i < n; i += k) {
		k = 1;
		if (u[i] >= 0x80) {
			if ((k = utf8_seq(u + i, n - i)) == 0) {
				return seterr(err, errlen, "host name '%s' "
				    "has bytes that are not valid UTF-8",
				    snip(s, n, b));
			}
		} else if (!is_alnum(u[i]) && u[i] != '-' && u[i] != '_') {
			return seterr(err, errlen, "host name label '%s' "
			    "has an invalid character (allowed: letters, "
			    "digits, '-' and '_')", snip(s, n, b));
		}
	}
	return 0;
}

/* Validates the host name s[0..n); see cfg_check_hostname. */
static int
check_hostname_n(const char *s, size_t n, char *err, size_t errlen)
{
	const char *dot;
	size_t len;
	int r;

	if (n == 0) {
		return seterr(err, errlen, "host name is empty");
	}
	if (s[n - 1] == '.') {
		n--;
	}
	if (n == 0) {
		return seterr(err, errlen, "host name is just a dot");
	}
	if (n > 253) {
		return seterr(err, errlen, "host name is %zu bytes long; "
		    "the limit is 253", n);
	}
	while (n > 0) {
		dot = memchr(s, '.', n);
		len = dot != NULL ? (size_t)(dot - s) : n;
		if ((r = check_label(s, len, err, errlen)) != 0) {
			return r;
		}
		if (dot == NULL) {
			break;
		}
		s += len + 1;
		n -= len + 1;
		if (n == 0) {
			return seterr(err, errlen, "host name ends with "
			    "an empty label");
		}
	}
	return 0;
}

int
cfg_check_hostname(const char *s, char *err, size_t errlen)
{
	clearerr_buf(err, errlen);
	if (s == NULL) {
		return seterr(err, errlen, "host name is empty");
	}
	return check_hostname_n(s, strlen(s), err, errlen);
}

/* Checks an unbracketed host h[0..n): "*" (if allowed), IPv4 or a name. */
static int
check_plain_host(const char *h, size_t n, int flags, char *err,
    size_t errlen)
{
	unsigned char a[4];
	char b[SNIP_BUF];

	if (n == 1 && h[0] == '*') {
		if (!(flags & HP_STAR)) {
			return seterr(err, errlen,
			    "'*' is not allowed as a host here");
		}
		return 0;
	}
	if (looks_ipv4(h, n)) {
		if (!pton_n(AF_INET, h, n, a)) {
			return seterr(err, errlen, "'%s' is not a valid IPv4 "
			    "address", snip(h, n, b));
		}
		return 0;
	}
	return check_hostname_n(h, n, err, errlen);
}

/*
 * Parses "host[:port]" from s[0..n) into host (brackets removed) and
 * *port. "[v6]" needs brackets; a bare IPv6 address is refused because
 * its last group reads like a port. *have_port tells if a port was given.
 */
static int
parse_hostport(const char *s, size_t n, int flags, char *host,
    uint16_t *port, int *have_port, char *err, size_t errlen)
{
	const char *h = s, *close = NULL, *colon = NULL;
	unsigned char a[16];
	size_t hl = n;
	char b[SNIP_BUF];
	int r;

	*have_port = 0;
	if (n > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', n)) == NULL) {
			return seterr(err, errlen, "missing ']' after the "
			    "IPv6 address in '%s'", snip(s, n, b));
		}
		h = s + 1;
		hl = (size_t)(close - h);
		if (!pton_n(AF_INET6, h, hl, a)) {
			return seterr(err, errlen, "'%s' is not an IPv6 "
			    "address", snip(h, hl, b));
		}
		if (close + 1 < s + n && close[1] != ':') {
			return seterr(err, errlen, "unexpected text after "
			    "']' in '%s'; expected ':PORT'", snip(s, n, b));
		}
		colon = close + 1 < s + n ? close + 1 : NULL;
	} else {
		colon = memrchr(s, ':', n);
		hl = colon != NULL ? (size_t)(colon - s) : n;
		if (memchr(h, ':', hl) != NULL) {
			return seterr(err, errlen, "IPv6 addresses must be in "
			    "brackets, e.g. [::1]:1080 (got '%s')",
			    snip(s, n, b));
		}
		if (hl == 0) {
			return seterr(err, errlen, "missing host in '%s'",
			    snip(s, n, b));
		}
		if ((r = check_plain_host(h, hl, flags, err, errlen)) != 0) {
			return r;
		}
	}
	if (hl > CFG_HOST_MAX) {
		return seterr(err, errlen, "host is too long");
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon != NULL) {
		*have_port = 1;
		return parse_port(colon + 1, (size_t)(s + n - colon - 1), port,
		    err, errlen);
	}
	if (flags & HP_NEED_PORT) {
		return seterr(err, errlen, "missing port in '%s'; expected "
		    "HOST:PORT", snip(s, n, b));
	}
	return 0;
}

int
cfg_parse_listen(const char *s, struct cfg_listen *out, char *err,
    size_t errlen)
{
	int have_port, r;

	memset(out, 0, sizeof(*out));
	clearerr_buf(err, errlen);
	if (s == NULL || *s == '\0') {
		return seterr(err, errlen, "listen address is empty; "
		    "expected HOST:PORT, e.g. 127.0.0.1:1080");
	}
	r = parse_hostport(s, strlen(s), HP_STAR | HP_NEED_PORT, out->host,
	    &out->port, &have_port, err, errlen);
	if (r != 0) {
		memset(out, 0, sizeof(*out));
	}
	return r;
}

/* Parses the network text s[0..n); see cfg_parse_cidr. */
static int
parse_cidr_n(const char *s, size_t n, int allow_bare, struct cfg_cidr *out,
    char *err, size_t errlen)
{
	const char *slash;
	unsigned char orig[16];
	unsigned long pfx;
	size_t al, i, nbytes;
	char b[SNIP_BUF], fixed[NUM_BUF];
	int max;

	memset(out, 0, sizeof(*out));
	slash = memchr(s, '/', n);
	al = slash != NULL ? (size_t)(slash - s) : n;
	if (pton_n(AF_INET, s, al, out->addr)) {
		out->family = AF_INET;
		max = 32;
	} else if (pton_n(AF_INET6, s, al, out->addr)) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return seterr(err, errlen, "'%s' is not an IPv4 or IPv6 "
		    "address", snip(s, al, b));
	}
	if (slash == NULL) {
		if (!allow_bare) {
			return seterr(err, errlen, "'%s' needs a prefix "
			    "length, e.g. '%s/%d'", snip(s, n, b),
			    snip(s, n, fixed), max);
		}
		out->prefix = max;
		return 0;
	}
	if (parse_uint(slash + 1, n - al - 1, (unsigned long)max, &pfx) != 0) {
		return seterr(err, errlen, "invalid prefix length in '%s': "
		    "expected a number from 0 to %d", snip(s, n, b), max);
	}
	out->prefix = (int)pfx;
	memcpy(orig, out->addr, sizeof(orig));
	nbytes = out->family == AF_INET ? 4 : 16;
	for (i = 0; i < nbytes; i++) {
		int keep = out->prefix - (int)i * 8;

		if (keep <= 0) {
			out->addr[i] = 0;
		} else if (keep < 8) {
			out->addr[i] &= (unsigned char)(0xff << (8 - keep));
		}
	}
	if (memcmp(orig, out->addr, nbytes) != 0) {
		cfg_cidr_format(out, fixed, sizeof(fixed));
		return seterr(err, errlen, "%s has host bits set; did you "
		    "mean %s?", snip(s, n, b), fixed);
	}
	return 0;
}

int
cfg_parse_cidr(const char *s, int allow_bare, struct cfg_cidr *out,
    char *err, size_t errlen)
{
	int r;

	clearerr_buf(err, errlen);
	if (s == NULL || *s == '\0') {
		memset(out, 0, sizeof(*out));
		return seterr(err, errlen, "network is empty; expected "
		    "e.g. 10.0.0.0/8 or 2001:db8::/32");
	}
	if ((r = parse_cidr_n(s, strlen(s), allow_bare, out, err,
	    errlen)) != 0) {
		memset(out, 0, sizeof(*out));
	}
	return r;
}

void
cfg_cidr_format(const struct cfg_cidr *c, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	if (out == NULL || outlen == 0) {
		return;
	}
	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	snprintf(out, outlen, "%s/%d", a, c->prefix);
}

/* Parses an ACL PORTSPEC ("*", "N" or "LO-HI") from s[0..n). */
static int
parse_portspec(const char *s, size_t n, struct cfg_acl_rule *out,
    char *err, size_t errlen)
{
	const char *dash;
	unsigned long lo, hi;
	char b[SNIP_BUF];

	if (n == 1 && s[0] == '*') {
		return 0;
	}
	if (n == 0) {
		return seterr(err, errlen, "missing port after ':' "
		    "(use '*' for any port)");
	}
	dash = memchr(s, '-', n);
	if (dash == NULL) {
		if (parse_uint(s, n, 65535, &lo) != 0) {
			goto bad;
		}
		hi = lo;
	} else if (parse_uint(s, (size_t)(dash - s), 65535, &lo) != 0 ||
	    parse_uint(dash + 1, (size_t)(s + n - dash - 1), 65535,
	    &hi) != 0) {
		goto bad;
	} else if (lo > hi) {
		return seterr(err, errlen, "port range '%s' is backwards "
		    "(low end above high end)", snip(s, n, b));
	}
	out->port_lo = (uint16_t)lo;
	out->port_hi = (uint16_t)hi;
	return 0;
bad:
	return seterr(err, errlen, "invalid port '%s': expected '*', a "
	    "number 0-65535 or a range LO-HI", snip(s, n, b));
}

/* Classifies and stores an unbracketed ACL host h[0..n). */
static int
acl_host(const char *h, size_t n, struct cfg_acl_rule *out, char *err,
    size_t errlen)
{
	size_t i;
	char b[SNIP_BUF];
	int r;

	if (n == 1 && h[0] == '*') {
		out->kind = CFG_ACL_ANY;
		return 0;
	}
	if (memchr(h, '/', n) != NULL || looks_ipv4(h, n)) {
		out->kind = CFG_ACL_NET;
		return parse_cidr_n(h, n, 1, &out->net, err, errlen);
	}
	out->kind = CFG_ACL_EXACT;
	if (n >= 2 && h[0] == '*' && h[1] == '.') {
		out->kind = CFG_ACL_SUFFIX;
		h += 2;
		n -= 2;
		if (n == 0) {
			return seterr(err, errlen, "'*.' must be followed "
			    "by a domain, e.g. *.example.com");
		}
	}
	if (memchr(h, '*', n) != NULL) {
		return seterr(err, errlen, "invalid wildcard in '%s': only "
		    "'*' alone or a leading '*.' is supported",
		    snip(h, n, b));
	}
	if ((r = check_hostname_n(h, n, err, errlen)) != 0) {
		return r;
	}
	if (h[n - 1] == '.') {
		n--;
	}
	for (i = 0; i < n; i++) {
		out->name[i] = (char)to_lower((unsigned char)h[i]);
	}
	out->name[n] = '\0';
	return 0;
}

/* Parses a bracketed ACL host "[v6]" or "[v6/len]" in s[0..n). */
static int
acl_bracketed(const char *s, size_t n, struct cfg_acl_rule *out,
    const char **rest, char *err, size_t errlen)
{
	const char *close;
	char b[SNIP_BUF];
	int r;

	if ((close = memchr(s, ']', n)) == NULL) {
		return seterr(err, errlen, "missing ']' in '%s'",
		    snip(s, n, b));
	}
	out->kind = CFG_ACL_NET;
	r = parse_cidr_n(s + 1, (size_t)(close - s - 1), 1, &out->net, err,
	    errlen);
	if (r != 0) {
		return r;
	}
	if (out->net.family != AF_INET6) {
		return seterr(err, errlen, "brackets are only for IPv6; "
		    "write IPv4 without them, e.g. 10.0.0.0/8:443");
	}
	*rest = close + 1;
	return 0;
}

int
cfg_parse_acl_rule(const char *s, struct cfg_acl_rule *out, char *err,
    size_t errlen)
{
	const char *colon = NULL, *rest = NULL, *end;
	size_t n;
	char b[SNIP_BUF];
	int r;

	memset(out, 0, sizeof(*out));
	clearerr_buf(err, errlen);
	out->port_hi = 65535;
	if (s == NULL || *s == '\0') {
		return seterr(err, errlen, "ACL rule is empty; expected "
		    "HOST[:PORT], e.g. *.example.com:443");
	}
	n = strlen(s);
	end = s + n;
	if (s[0] == '[') {
		if ((r = acl_bracketed(s, n, out, &rest, err, errlen)) != 0) {
			goto out;
		}
		if (rest < end && *rest != ':') {
			r = seterr(err, errlen, "unexpected text after ']' in "
			    "'%s'; expected ':PORT'", snip(s, n, b));
			goto out;
		}
		colon = rest < end ? rest : NULL;
	} else {
		colon = memrchr(s, ':', n);
		rest = colon != NULL ? colon : end;
		if (memchr(s, ':', (size_t)(rest - s)) != NULL) {
			r = seterr(err, errlen, "IPv6 addresses in ACL rules "
			    "must be bracketed, e.g. [2001:db8::1]:443 or "
			    "[2001:db8::/32]");
			goto out;
		}
		if (rest == s) {
			r = seterr(err, errlen, "missing host in ACL rule "
			    "'%s'", snip(s, n, b));
			goto out;
		}
		if ((r = acl_host(s, (size_t)(rest - s), out, err,
		    errlen)) != 0) {
			goto out;
		}
	}
	r = 0;
	if (colon != NULL) {
		r = parse_portspec(colon + 1, (size_t)(end - colon - 1), out,
		    err, errlen);
	}
out:
	if (r != 0) {
		memset(out, 0, sizeof(*out));
	}
	return r;
}

/* True if a byte may not appear anywhere in a URL we accept. */
static int
url_badbyte(unsigned char c)
{
	return c <= 0x20 || c == 0x7f;
}

/* Finds where the scheme's "://" ends; returns NULL if there is none. */
static const char *
url_after_scheme(const char *s, const char *scheme)
{
	size_t n = strlen(scheme);

	if (strncasecmp(s, scheme, n) != 0 || strncmp(s + n, "://", 3) != 0) {
		return NULL;
	}
	return s + n + 3;
}

static int
hexval(int c)
{
	if (is_digit(c)) {
		return c - '0';
	}
	c = to_lower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new heap string in *out. */
static int
pct_decode(const char *s, size_t n, const char *what, char **out,
    char *err, size_t errlen)
{
	char *d = NULL;
	size_t i, k = 0;
	int hi, lo;

	*out = NULL;
	d = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[k++] = s[i];
			continue;
		}
		if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			util_wipe(d, n + 1);
			free(d);
			return seterr(err, errlen, "invalid percent escape "
			    "in the proxy %s (expected %%XX with two hex "
			    "digits, not %%00)", what);
		}
		d[k++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[k] = '\0';
	if (k > 255) {
		util_wipe(d, n + 1);
		free(d);
		return seterr(err, errlen, "proxy %s is longer than 255 bytes",
		    what);
	}
	*out = d;
	return 0;
}

/* Splits "user[:pass]" s[0..n) into decoded heap strings. */
static int
proxy_userinfo(const char *s, size_t n, struct cfg_proxy_url *u, char *err,
    size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	size_t ul = colon != NULL ? (size_t)(colon - s) : n;
	int r;

	if (ul == 0) {
		return seterr(err, errlen, "proxy URL has credentials but "
		    "an empty user name");
	}
	if ((r = pct_decode(s, ul, "user name", &u->user, err, errlen)) != 0) {
		return r;
	}
	if (colon != NULL) {
		r = pct_decode(colon + 1, (size_t)(s + n - colon - 1),
		    "password", &u->pass, err, errlen);
	}
	return r;
}

int
cfg_parse_proxy_url(const char *s, struct cfg_proxy_url *out, char *err,
    size_t errlen)
{
	const char *a = NULL, *end, *at = NULL, *p;
	int have_port, r = ERR_INVAL;

	memset(out, 0, sizeof(*out));
	clearerr_buf(err, errlen);
	if (s == NULL) {
		return seterr(err, errlen, "proxy URL is empty");
	}
	if ((a = url_after_scheme(s, "socks5")) == NULL) {
		if ((a = url_after_scheme(s, "socks5h")) == NULL) {
			return seterr(err, errlen, "only socks5:// and "
			    "socks5h:// upstream proxies are supported");
		}
		out->remote_dns = 1;
	}
	for (p = s; *p != '\0'; p++) {
		if (url_badbyte((unsigned char)*p)) {
			r = seterr(err, errlen, "proxy URL contains a space or "
			    "control character");
			goto out;
		}
	}
	end = a + strcspn(a, "/?#");
	if (*end != '\0' && strcmp(end, "/") != 0) {
		r = seterr(err, errlen, "proxy URL must not have a path, "
		    "query or fragment; expected socks5://HOST:PORT");
		goto out;
	}
	for (p = a; p < end; p++) {
		if (*p == '@') {
			at = p;
		}
	}
	if (at != NULL) {
		if ((r = proxy_userinfo(a, (size_t)(at - a), out, err,
		    errlen)) != 0) {
			goto out;
		}
		a = at + 1;
	}
	r = parse_hostport(a, (size_t)(end - a), HP_NEED_PORT, out->host,
	    &out->port, &have_port, err, errlen);
out:
	if (r != 0) {
		cfg_proxy_url_cleanup(out);
	}
	return r;
}

void
cfg_proxy_url_cleanup(struct cfg_proxy_url *u)
{
	if (u == NULL) {
		return;
	}
	free(u->user);
	util_free_secret(u->pass);
	memset(u, 0, sizeof(*u));
}

int
cfg_parse_http_url(const char *s, struct cfg_http_url *out, char *err,
    size_t errlen)
{
	const char *a = NULL, *end, *p;
	int have_port = 0, r;

	memset(out, 0, sizeof(*out));
	clearerr_buf(err, errlen);
	if (s == NULL) {
		return seterr(err, errlen, "URL is empty");
	}
	if ((a = url_after_scheme(s, "https")) != NULL) {
		out->tls = 1;
	} else if ((a = url_after_scheme(s, "http")) == NULL) {
		return seterr(err, errlen, "URL must start with http:// "
		    "or https://");
	}
	for (p = s; *p != '\0'; p++) {
		if (url_badbyte((unsigned char)*p)) {
			return seterr(err, errlen, "URL contains a space or "
			    "control character; percent-encode it");
		}
	}
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)) != NULL) {
		return seterr(err, errlen, "user:password@ in the URL is not "
		    "supported; use the webhook secret instead");
	}
	if (end == a) {
		return seterr(err, errlen, "URL has no host");
	}
	r = parse_hostport(a, (size_t)(end - a), 0, out->host, &out->port,
	    &have_port, err, errlen);
	if (r != 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	if (!have_port) {
		out->port = out->tls ? 443 : 80;
	}
	return 0;
}

/* Appends n bytes of s to out (capacity outlen), truncating. */
static void
append(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	size_t room = outlen - 1 - *pos;

	if (n > room) {
		n = room;
	}
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
}

/*
 * Replaces "user:pass@" after "://" with "***@". For http(s) the userinfo
 * ends at the last '@' before the path; for every other scheme (proxy
 * URLs have no path) it ends at the last '@' anywhere, so a password with
 * a raw '/', '?' or '#' in it is still hidden.
 */
void
cfg_redact_url(const char *s, char *out, size_t outlen)
{
	const char *sep, *auth = NULL, *end, *at = NULL, *p;
	size_t pos = 0;

	if (out == NULL || outlen == 0) {
		return;
	}
	out[0] = '\0';
	if (s == NULL) {
		return;
	}
	if ((sep = strstr(s, "://")) != NULL) {
		auth = sep + 3;
		end = auth + strlen(auth);
		if (url_after_scheme(s, "http") != NULL ||
		    url_after_scheme(s, "https") != NULL) {
			end = auth + strcspn(auth, "/?#");
		}
		for (p = auth; p < end; p++) {
			if (*p == '@') {
				at = p;
			}
		}
	}
	if (at == NULL) {
		append(out, outlen, &pos, s, strlen(s));
		return;
	}
	append(out, outlen, &pos, s, (size_t)(auth - s));
	append(out, outlen, &pos, "***", 3);
	append(out, outlen, &pos, at, strlen(at));
}

void
cfg_redact_url_path(char *url, size_t size)
{
	char *auth, *rest;

	if (url == NULL || (auth = strstr(url, "://")) == NULL) {
		return;
	}
	auth += 3;
	rest = auth + strcspn(auth, "/?#");
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		return;
	}
	if ((size_t)(rest - url) + 5 <= size) {
		memcpy(rest, "/***", 5);
	} else {
		*rest = '\0';	/* no room for the marker: drop the rest */
	}
}

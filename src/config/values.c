/*
 * Value parsers for times, schedules, base32, authorized_keys lines and
 * Argon2 PHC strings. The network-flavoured ones are in values_net.c.
 * Everything here is pure: no logging, no time zone, no global state.
 */
#include "config/values.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/util.h"

#define SNIP_MAX	48	/* longest piece of input quoted in a message */
#define SNIP_BUF	(SNIP_MAX + 4)
#define B64_MAX		65536	/* longest base64 key we accept */

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
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads exactly n digits at s into *v; -1 if any is not a digit. */
static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i])) {
			return -1;
		}
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* Number of days from 1970-01-01 to y-m-d in the proleptic Gregorian
 * calendar (negative before 1970). Years are counted from March so the
 * leap day falls at the end of a cycle year. */
static long long
days_since_epoch(long long y, int m, int d)
{
	long long cycle, yoc, doy, doc;

	if (m <= 2) {
		y--;
	}
	cycle = (y >= 0 ? y : y - 399) / 400;
	yoc = y - cycle * 400;				/* 0..399 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;	/* 0..365 */
	doc = yoc * 365 + yoc / 4 - yoc / 100 + doy;	/* 0..146096 */
	return cycle * 146097 + doc - 719468;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dim[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Parses the "Z" or "+HH:MM" / "-HH:MM" tail of an RFC 3339 time. */
static int
rfc3339_offset(const char *p, long *off, char *err, size_t errlen)
{
	int oh, om;

	*off = 0;
	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		return 0;
	}
	if ((p[0] != '+' && p[0] != '-') || strlen(p) != 6 || p[3] != ':' ||
	    digits(p + 1, 2, &oh) != 0 || digits(p + 4, 2, &om) != 0) {
		return seterr(err, errlen, "time needs a zone: 'Z' or an "
		    "offset like +02:00, with nothing after it");
	}
	if (oh > 23 || om > 59) {
		return seterr(err, errlen, "time zone offset is out of range");
	}
	*off = (oh * 60L + om) * 60L * (p[0] == '-' ? -1 : 1);
	return 0;
}

int
cfg_parse_rfc3339(const char *s, time_t *out, char *err, size_t errlen)
{
	int y, mo, d, h, mi, sec, r;
	long off;
	const char *p;
	char b[SNIP_BUF];

	*out = 0;
	clearerr_buf(err, errlen);
	if (s == NULL || strnlen(s, 19) < 19 ||
	    digits(s, 4, &y) != 0 || s[4] != '-' ||
	    digits(s + 5, 2, &mo) != 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d) != 0 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) != 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) != 0) {
		return seterr(err, errlen, "'%s' is not an RFC 3339 time; "
		    "expected e.g. 2026-12-31T23:59:59Z",
		    snip(s != NULL ? s : "", s != NULL ? strlen(s) : 0, b));
	}
	if (mo < 1 || mo > 12) {
		return seterr(err, errlen, "month %02d is out of range", mo);
	}
	if (d < 1 || d > days_in_month(y, mo)) {
		return seterr(err, errlen, "day %02d does not exist in "
		    "%04d-%02d", d, y, mo);
	}
	if (h > 23 || mi > 59) {
		return seterr(err, errlen, "time of day %02d:%02d is out of "
		    "range", h, mi);
	}
	if (sec > 59) {
		return seterr(err, errlen, "seconds value %02d is out of "
		    "range (leap seconds are not supported)", sec);
	}
	p = s + 19;
	if (*p == '.') {
		for (p++; is_digit((unsigned char)*p); p++) {
			continue;
		}
		if (p == s + 20) {
			return seterr(err, errlen, "a fraction of a second "
			    "needs digits after the '.'");
		}
	}
	if ((r = rfc3339_offset(p, &off, err, errlen)) != 0) {
		return r;
	}
	*out = (time_t)(days_since_epoch(y, mo, d) * 86400LL +
	    h * 3600LL + mi * 60LL + sec - off);
	return 0;
}

/* Parses "HH:MM" at s into minutes; max_h is 23 or 24 ("24:00" only). */
static int
parse_hhmm(const char *s, int max_h, int *mins)
{
	int h, m;

	if (digits(s, 2, &h) != 0 || s[2] != ':' || digits(s + 3, 2, &m) != 0 ||
	    h > max_h || m > 59 || (h == 24 && m != 0)) {
		return -1;
	}
	*mins = h * 60 + m;
	return 0;
}

int
cfg_parse_hours(const char *s, struct cfg_hours *out, char *err,
    size_t errlen)
{
	char b[SNIP_BUF];

	memset(out, 0, sizeof(*out));
	clearerr_buf(err, errlen);
	if (s == NULL || strlen(s) != 11 || s[5] != '-' ||
	    parse_hhmm(s, 23, &out->start) != 0 ||
	    parse_hhmm(s + 6, 24, &out->end) != 0) {
		memset(out, 0, sizeof(*out));
		return seterr(err, errlen, "invalid hours '%s': expected "
		    "HH:MM-HH:MM with 00:00..23:59 (the end may be 24:00)",
		    snip(s != NULL ? s : "", s != NULL ? strlen(s) : 0, b));
	}
	if (out->start == out->end) {
		memset(out, 0, sizeof(*out));
		return seterr(err, errlen, "hours '%s' is an empty range; "
		    "use 00:00-24:00 for all day", s);
	}
	return 0;
}

int
cfg_parse_day(const char *s, int *out, char *err, size_t errlen)
{
	static const char *const names[7][2] = {
		{ "mon", "monday" }, { "tue", "tuesday" },
		{ "wed", "wednesday" }, { "thu", "thursday" },
		{ "fri", "friday" }, { "sat", "saturday" },
		{ "sun", "sunday" },
	};
	char b[SNIP_BUF];
	int i;

	*out = -1;
	clearerr_buf(err, errlen);
	for (i = 0; s != NULL && i < 7; i++) {
		if (strcasecmp(s, names[i][0]) == 0 ||
		    strcasecmp(s, names[i][1]) == 0) {
			*out = i;
			return 0;
		}
	}
	return seterr(err, errlen, "unknown day '%s'; expected one of mon, "
	    "tue, wed, thu, fri, sat, sun (or the full names)",
	    snip(s != NULL ? s : "", s != NULL ? strlen(s) : 0, b));
}

int
cfg_parse_schedule(const char *s, struct cfg_schedule *out, char *err,
    size_t errlen)
{
	const char *p, *q;
	char word[16], hours[16], b[SNIP_BUF];
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	out->day = -1;
	clearerr_buf(err, errlen);
	if (s == NULL) {
		s = "";
	}
	for (p = s; *p == ' ' || *p == '\t'; p++) {
		continue;
	}
	for (q = p; *q != '\0' && *q != ' ' && *q != '\t'; q++) {
		continue;
	}
	if ((n = (size_t)(q - p)) == 0 || n >= sizeof(word) || *q == '\0') {
		goto bad;
	}
	memcpy(word, p, n);
	word[n] = '\0';
	for (p = q; *p == ' ' || *p == '\t'; p++) {
		continue;
	}
	for (q = p; *q != '\0' && *q != ' ' && *q != '\t'; q++) {
		continue;
	}
	if ((n = (size_t)(q - p)) >= sizeof(hours) || q[strspn(q, " \t")]) {
		goto bad;
	}
	memcpy(hours, p, n);
	hours[n] = '\0';
	if (strcasecmp(word, "daily") != 0 &&
	    (r = cfg_parse_day(word, &out->day, err, errlen)) != 0) {
		memset(out, 0, sizeof(*out));
		out->day = -1;
		return r;
	}
	if ((r = cfg_parse_hours(hours, &out->hours, err, errlen)) != 0) {
		memset(out, 0, sizeof(*out));
		out->day = -1;
	}
	return r;
bad:
	return seterr(err, errlen, "invalid schedule '%s': expected "
	    "'daily HH:MM-HH:MM' or '<day> HH:MM-HH:MM', e.g. "
	    "'sun 02:00-04:00'", snip(s, strlen(s), b));
}

/* Value of an RFC 4648 base32 character, case-insensitive, or -1. */
static int
b32_val(int c)
{
	if (c >= 'a' && c <= 'z') {
		return c - 'a';
	}
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= '2' && c <= '7') {
		return c - '2' + 26;
	}
	return -1;
}

int
cfg_base32_decode(const char *s, unsigned char *out, size_t outlen,
    size_t *n, char *err, size_t errlen)
{
	unsigned long acc = 0;
	int bits = 0, v;

	*n = 0;
	clearerr_buf(err, errlen);
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '=' || *s == ' ') {
			continue;
		}
		if ((v = b32_val((unsigned char)*s)) < 0) {
			*n = 0;
			return seterr(err, errlen, "invalid base32 character "
			    "'%c' (allowed: A-Z and 2-7)",
			    (*s > 0x20 && *s < 0x7f) ? *s : '?');
		}
		acc = ((acc << 5) | (unsigned long)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (*n >= outlen) {
				*n = 0;
				return seterr(err, errlen, "base32 value "
				    "decodes to more than %zu bytes", outlen);
			}
			out[(*n)++] = (unsigned char)(acc >> bits);
		}
	}
	return 0;
}

void
cfg_base32_encode(const unsigned char *in, size_t len, char *out)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned long acc = 0;
	size_t i, k = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		acc = ((acc << 8) | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[k++] = alpha[(acc >> bits) & 31];
		}
	}
	if (bits > 0) {
		out[k++] = alpha[(acc << (5 - bits)) & 31];
	}
	out[k] = '\0';
}

/* Value of a standard base64 character, or -1. */
static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (is_digit(c)) {
		return c - '0' + 52;
	}
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * Decodes standard base64 s[0..n) into out (room for n*3/4+3 bytes).
 * '=' padding is allowed only when padded is set, and then only as a
 * complete final group. Returns the decoded length or -1.
 */
static long
b64_decode(const char *s, size_t n, int padded, unsigned char *out)
{
	unsigned long acc = 0;
	size_t i, m = n, k = 0;
	int bits = 0, v;

	while (padded && m > 0 && n - m < 2 && s[m - 1] == '=') {
		m--;
	}
	if ((m != n && n % 4 != 0) || m % 4 == 1) {
		return -1;
	}
	for (i = 0; i < m; i++) {
		if ((v = b64_val((unsigned char)s[i])) < 0) {
			return -1;
		}
		acc = ((acc << 6) | (unsigned long)v) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)k;
}

/* Key types accepted in authorized_keys lines. */
static const char *const key_types[] = {
	"ssh-ed25519",
	"ssh-rsa",
	"ecdsa-sha2-nistp256",
	"ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
	"ssh-ed25519-cert-v01@openssh.com",
	"ssh-rsa-cert-v01@openssh.com",
	"ecdsa-sha2-nistp256-cert-v01@openssh.com",
	"ecdsa-sha2-nistp384-cert-v01@openssh.com",
	"ecdsa-sha2-nistp521-cert-v01@openssh.com",
	"sk-ssh-ed25519-cert-v01@openssh.com",
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
};

/* True if s[0..n) is exactly one of key_types. */
static int
is_keytype(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strlen(key_types[i]) == n &&
		    memcmp(s, key_types[i], n) == 0) {
			return 1;
		}
	}
	return 0;
}

/* True if the token s[0..n) has the marks of an options list. */
static int
looks_options(const char *s, size_t n)
{
	return memchr(s, '=', n) != NULL || memchr(s, ',', n) != NULL ||
	    memchr(s, '"', n) != NULL;
}

/* True if s[0..n) reads like a key type we do not support ("ssh-dss"),
 * rather than an options prefix. */
static int
looks_keytype(const char *s, size_t n)
{
	if (looks_options(s, n)) {
		return 0;
	}
	return strncmp(s, "ssh-", 4) == 0 || strncmp(s, "ecdsa-", 6) == 0 ||
	    strncmp(s, "sk-", 3) == 0 || strncmp(s, "rsa-", 4) == 0;
}

static const char *
skip_blank(const char *p)
{
	while (is_blank((unsigned char)*p)) {
		p++;
	}
	return p;
}

static size_t
token_len(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && !is_blank((unsigned char)p[n])) {
		n++;
	}
	return n;
}

static int
is_optchar(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* Checks the syntax of an options prefix at p: name[="value"] separated
 * by commas, values in double quotes with backslash escapes. Sets *len to
 * the prefix length (up to the first unquoted blank). */
static int
scan_options(const char *p, size_t *len, char *err, size_t errlen)
{
	size_t i = 0, start;
	char b[SNIP_BUF];

	for (;;) {
		start = i;
		while (is_optchar((unsigned char)p[i])) {
			i++;
		}
		if (i == start) {
			return seterr(err, errlen, "expected an option name or "
			    "a key type at '%s'", snip(p + i,
			    token_len(p + i), b));
		}
		if (p[i] == '=') {
			if (p[++i] != '"') {
				return seterr(err, errlen, "the value of "
				    "option '%s' must be in double quotes",
				    snip(p + start, i - 1 - start, b));
			}
			for (i++; p[i] != '"'; i++) {
				if (p[i] == '\0') {
					return seterr(err, errlen, "missing "
					    "closing '\"' in the options");
				}
				if (p[i] == '\\' && p[i + 1] != '\0') {
					i++;
				}
			}
			i++;
		}
		if (p[i] == ',') {
			i++;
			continue;
		}
		if (p[i] == '\0' || is_blank((unsigned char)p[i])) {
			break;
		}
		return seterr(err, errlen, "unexpected character '%c' in the "
		    "options (options are separated by commas, no spaces)",
		    ((unsigned char)p[i] > 0x20 && p[i] != 0x7f) ? p[i] : '?');
	}
	*len = i;
	return 0;
}

/* Checks that the decoded key blob starts with the string "type" and
 * has key data after it. */
static int
blob_matches(const unsigned char *blob, long bl, const char *type)
{
	size_t tl = strlen(type);
	unsigned long l;

	if (bl < 4) {
		return 0;
	}
	l = ((unsigned long)blob[0] << 24) | ((unsigned long)blob[1] << 16) |
	    ((unsigned long)blob[2] << 8) | blob[3];
	/* The type string must be followed by at least one more field. */
	return l == tl && (size_t)bl >= 4 + tl + 4 &&
	    memcmp(blob + 4, type, tl) == 0;
}

/* Parses the "[options] TYPE" part at *pp into out and advances *pp. */
static int
authkey_head(const char **pp, struct cfg_authkey *out, char *err,
    size_t errlen)
{
	const char *p = *pp;
	size_t n, olen = 0;
	char b[SNIP_BUF];
	int r;

	n = token_len(p);
	if (!is_keytype(p, n)) {
		if (looks_keytype(p, n)) {
			return seterr(err, errlen, "unsupported key type '%s'; "
			    "use ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp*, "
			    "sk-* or their -cert-v01@openssh.com forms",
			    snip(p, n, b));
		}
		if ((r = scan_options(p, &olen, err, errlen)) != 0) {
			if (!looks_options(p, n)) {
				r = seterr(err, errlen, "unknown key type "
				    "'%s'; expected [options] TYPE BASE64 "
				    "[comment]",
				    snip(p, n, b));
			}
			return r;
		}
		out->options = xstrndup(p, olen);
		p = skip_blank(p + olen);
		if ((n = token_len(p)) == 0) {
			return seterr(err, errlen, "missing key type after "
			    "the options");
		}
		if (!is_keytype(p, n)) {
			return seterr(err, errlen, "unknown key type '%s' "
			    "after the options", snip(p, n, b));
		}
	}
	out->type = xstrndup(p, n);
	*pp = p + n;
	return 0;
}

int
cfg_parse_authorized_key(const char *line, struct cfg_authkey *out,
    char *err, size_t errlen)
{
	const char *p;
	unsigned char *blob = NULL;
	size_t n;
	long bl;
	int r;

	memset(out, 0, sizeof(*out));
	clearerr_buf(err, errlen);
	p = skip_blank(line != NULL ? line : "");
	if (*p == '\0' || *p == '#') {
		return seterr(err, errlen, "line is empty or a comment; "
		    "expected [options] TYPE BASE64 [comment]");
	}
	if ((r = authkey_head(&p, out, err, errlen)) != 0) {
		goto out;
	}
	p = skip_blank(p);
	r = ERR_INVAL;
	if ((n = token_len(p)) == 0) {
		seterr(err, errlen, "missing base64 key data after '%s'",
		    out->type);
		goto out;
	}
	if (n > B64_MAX) {
		seterr(err, errlen, "key data is longer than %d bytes",
		    B64_MAX);
		goto out;
	}
	blob = xmalloc(n / 4 * 3 + 3);
	if ((bl = b64_decode(p, n, 1, blob)) < 0) {
		seterr(err, errlen, "key data is not valid base64");
		goto out;
	}
	if (!blob_matches(blob, bl, out->type)) {
		seterr(err, errlen, "key data is not a %s key (wrong type "
		    "name or damaged key)", out->type);
		goto out;
	}
	out->blob_b64 = xstrndup(p, n);
	p = skip_blank(p + n);
	for (n = strlen(p); n > 0 && is_blank((unsigned char)p[n - 1]); n--) {
		continue;
	}
	if (n > 0) {
		out->comment = xstrndup(p, n);
	}
	r = 0;
out:
	free(blob);
	if (r != 0) {
		cfg_authkey_cleanup(out);
	}
	return r;
}

void
cfg_authkey_cleanup(struct cfg_authkey *k)
{
	if (k == NULL) {
		return;
	}
	free(k->options);
	free(k->type);
	free(k->blob_b64);
	free(k->comment);
	memset(k, 0, sizeof(*k));
}

/* Reads "name=N" (at most 10 digits) at *pp and advances past it. */
static int
phc_param(const char **pp, const char *name, unsigned long *v)
{
	const char *p = *pp;
	size_t nl = strlen(name), k;

	if (strncmp(p, name, nl) != 0 || p[nl] != '=') {
		return -1;
	}
	p += nl + 1;
	*v = 0;
	for (k = 0; is_digit((unsigned char)p[k]); k++) {
		if (k >= 10) {
			return -1;
		}
		*v = *v * 10 + (unsigned long)(p[k] - '0');
	}
	if (k == 0) {
		return -1;
	}
	*pp = p + k;
	return 0;
}

/* Parses "m=..,t=..,p=..$" at *pp and checks the bounds. */
static int
phc_params(const char **pp, char *err, size_t errlen)
{
	const char *p = *pp;
	unsigned long m, t, par;

	if (phc_param(&p, "m", &m) != 0 || *p != ',' ||
	    (p++, phc_param(&p, "t", &t)) != 0 || *p != ',' ||
	    (p++, phc_param(&p, "p", &par)) != 0 || *p != '$') {
		return seterr(err, errlen, "Argon2 parameters must look like "
		    "m=19456,t=2,p=1 followed by '$'");
	}
	if (par < 1 || par > 255) {
		return seterr(err, errlen, "Argon2 parallelism p=%lu is out "
		    "of range (1..255)", par);
	}
	if (m < 8 * par || m > 4194304) {
		return seterr(err, errlen, "Argon2 memory m=%lu KiB is out of "
		    "range (8*p..4194304)", m);
	}
	if (t < 1 || t > 64) {
		return seterr(err, errlen, "Argon2 iterations t=%lu is out of "
		    "range (1..64)", t);
	}
	*pp = p + 1;
	return 0;
}

int
cfg_check_phc(const char *s, char *err, size_t errlen)
{
	const char *p, *dollar;
	unsigned char tmp[192];
	size_t sl, hl;
	int r;

	clearerr_buf(err, errlen);
	if (s == NULL) {
		s = "";
	}
	if (strncmp(s, "$argon2id$", 10) == 0) {
		p = s + 10;
	} else if (strncmp(s, "$argon2i$", 9) == 0 ||
	    strncmp(s, "$argon2d$", 9) == 0) {
		p = s + 9;
	} else {
		return seterr(err, errlen, "password hash is not an Argon2 "
		    "PHC string (expected it to start with $argon2id$)");
	}
	if (strncmp(p, "v=", 2) != 0) {
		return seterr(err, errlen, "Argon2 hash has no version; "
		    "v=19 is required ($argon2id$v=19$...)");
	}
	if (strncmp(p, "v=19$", 5) != 0) {
		return seterr(err, errlen, "unsupported Argon2 version; "
		    "v=19 is required");
	}
	p += 5;
	if ((r = phc_params(&p, err, errlen)) != 0) {
		return r;
	}
	if ((dollar = strchr(p, '$')) == NULL) {
		return seterr(err, errlen, "Argon2 hash is missing the "
		    "'$hash' part after the salt");
	}
	sl = (size_t)(dollar - p);
	hl = strlen(dollar + 1);
	if (strchr(dollar + 1, '$') != NULL) {
		return seterr(err, errlen, "Argon2 hash has an extra '$' "
		    "field after the hash");
	}
	if (sl > 88 || b64_decode(p, sl, 0, tmp) < 8) {
		return seterr(err, errlen, "Argon2 salt must be unpadded "
		    "base64 of 8 to 64 bytes");
	}
	if (hl > 172 || b64_decode(dollar + 1, hl, 0, tmp) < 16) {
		return seterr(err, errlen, "Argon2 hash value must be "
		    "unpadded base64 of 16 to 128 bytes");
	}
	return 0;
}

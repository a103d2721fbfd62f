/*
 * TOML 1.0.0 scalars: the four string forms, integers, floats, booleans
 * and the four date/time forms. The cursor always starts on the first
 * character of the value and is left just after it on success.
 */
#include "config/toml_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Appends n bytes to s, keeping it NUL-terminated. */
static void
str_add(struct toml__str *s, const void *b, size_t n)
{
	if (s->p == NULL || s->cap - s->n <= n) {
		while (s->cap - s->n <= n) {
			s->cap = s->cap == 0 ? 32 : s->cap * 2;
		}
		s->p = xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->n, b, n);
	s->n += n;
	s->p[s->n] = '\0';
}

/* Appends a Unicode scalar value to s, encoded as UTF-8. */
static void
str_add_utf8(struct toml__str *s, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	str_add(s, b, n);
}

/* Returns the value of hex digit c, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* Decodes \uXXXX or \UXXXXXXXX (ndig hex digits) at the cursor. */
static int
parse_unicode(struct toml__parser *p, struct toml__str *s, int ndig)
{
	size_t start = p->pos;
	uint32_t cp = 0;
	int i, h;

	for (i = 0; i < ndig; i++) {
		h = hexval(toml__peek(p, 2 + i));
		if (h < 0) {
			return toml__fail(p, start, ERR_PROTO,
			    "\\%c escape needs %d hex digits", ndig == 4 ?
			    'u' : 'U', ndig);
		}
		cp = cp << 4 | (uint32_t)h;
	}
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
		return toml__fail(p, start, ERR_PROTO,
		    "escape \\%c%0*X is not a Unicode scalar value",
		    ndig == 4 ? 'u' : 'U', ndig, (unsigned)cp);
	}
	str_add_utf8(s, cp);
	p->pos += 2 + ndig;
	return 0;
}

/* Decodes one backslash escape sequence at the cursor. */
static int
parse_escape(struct toml__parser *p, struct toml__str *s)
{
	char buf[16];
	int c = toml__peek(p, 1);
	char out;

	switch (c) {
	case 'b':
		out = '\b';
		break;
	case 't':
		out = '\t';
		break;
	case 'n':
		out = '\n';
		break;
	case 'f':
		out = '\f';
		break;
	case 'r':
		out = '\r';
		break;
	case '"':
		out = '"';
		break;
	case '\\':
		out = '\\';
		break;
	case 'u':
		return parse_unicode(p, s, 4);
	case 'U':
		return parse_unicode(p, s, 8);
	default:
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid escape sequence: backslash followed by %s",
		    toml__desc(p, p->pos + 1, buf, sizeof(buf)));
	}
	str_add(s, &out, 1);
	p->pos += 2;
	return 0;
}

/* Returns 1 if the cursor is on a newline (LF or CRLF). */
static int
at_newline(const struct toml__parser *p, size_t k)
{
	int c = toml__peek(p, k);

	return c == '\n' || (c == '\r' && toml__peek(p, k + 1) == '\n');
}

/* Parses a single-line basic ("...") or literal ('...') string. */
static int
parse_line_string(struct toml__parser *p, struct toml__str *s, int q)
{
	size_t start = p->pos;
	int c, r;

	p->pos++;
	for (;;) {
		c = toml__peek(p, 0);
		if (c == -1) {
			return toml__fail(p, start, ERR_PROTO,
			    "string is not closed before the end of input");
		}
		if (c == '\n' || c == '\r') {
			return toml__fail(p, p->pos, ERR_PROTO,
			    "newline inside a single-line string (missing "
			    "closing %c?)", q);
		}
		if (c == q) {
			p->pos++;
			return 0;
		}
		if (c == '\\' && q == '"') {
			if ((r = parse_escape(p, s)) != 0) {
				return r;
			}
			continue;
		}
		str_add(s, p->s + p->pos, 1);
		p->pos++;
	}
}

/* Skips a line-ending backslash and the whitespace after it, if present. */
static int
skip_line_end_backslash(struct toml__parser *p)
{
	size_t k = 1;
	int c;

	while ((c = toml__peek(p, k)) == ' ' || c == '\t') {
		k++;
	}
	if (!at_newline(p, k)) {
		return 0;
	}
	p->pos += k;
	for (;;) {
		c = toml__peek(p, 0);
		if (c == ' ' || c == '\t' || c == '\n') {
			p->pos++;
		} else if (c == '\r' && toml__peek(p, 1) == '\n') {
			p->pos += 2;
		} else {
			return 1;
		}
	}
}

/* Parses a multi-line basic or literal string; the cursor is on q q q. */
static int
parse_multi_string(struct toml__parser *p, struct toml__str *s, int q)
{
	size_t start = p->pos, run;
	int c, r;

	p->pos += 3;
	if (at_newline(p, 0)) {
		p->pos += toml__peek(p, 0) == '\r' ? 2 : 1;
	}
	for (;;) {
		c = toml__peek(p, 0);
		if (c == -1) {
			return toml__fail(p, start, ERR_PROTO,
			    "multi-line string is not closed before the end "
			    "of input");
		}
		if (c == q) {
			for (run = 1; toml__peek(p, run) == q; run++) {
				;
			}
			if (run < 3) {
				str_add(s, p->s + p->pos, run);
				p->pos += run;
				continue;
			}
			if (run > 5) {
				return toml__fail(p, p->pos, ERR_PROTO,
				    "too many quotes at the end of a "
				    "multi-line string");
			}
			str_add(s, p->s + p->pos, run - 3);
			p->pos += run;
			return 0;
		}
		if (c == '\\' && q == '"') {
			if (skip_line_end_backslash(p)) {
				continue;
			}
			if ((r = parse_escape(p, s)) != 0) {
				return r;
			}
			continue;
		}
		if (c == '\r') {
			/* CRLF (a lone CR was refused up front) becomes LF. */
			p->pos++;
			continue;
		}
		str_add(s, p->s + p->pos, 1);
		p->pos++;
	}
}

int
toml__parse_string(struct toml__parser *p, struct toml__str *out, int multi)
{
	int q = toml__peek(p, 0);
	int r;

	if (toml__peek(p, 1) == q && toml__peek(p, 2) == q) {
		if (!multi) {
			return toml__fail(p, p->pos, ERR_PROTO,
			    "a multi-line string cannot be used as a key");
		}
		r = parse_multi_string(p, out, q);
	} else {
		r = parse_line_string(p, out, q);
	}
	if (r == 0 && out->p == NULL) {
		str_add(out, "", 0);
	}
	if (r != 0) {
		free(out->p);
		memset(out, 0, sizeof(*out));
	}
	return r;
}

/* Returns 1 if c can be part of a number token. */
static int
numchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_' || c == '+' || c == '-' ||
	    c == '.';
}

/* Returns the value of c as a digit in base, or -1. */
static int
digitval(int c, int base)
{
	int d = hexval(c);

	return d >= 0 && d < base ? d : -1;
}

/*
 * Scans digits of base with single underscores between digits, from
 * t[*i] up to n. Returns the number of digits, or -1 if an underscore is
 * misplaced.
 */
static int
scan_digits(const char *t, size_t n, size_t *i, int base)
{
	int count = 0;

	while (*i < n) {
		if (digitval((unsigned char)t[*i], base) >= 0) {
			count++;
			(*i)++;
		} else if (t[*i] == '_') {
			if (count == 0 || *i + 1 >= n ||
			    digitval((unsigned char)t[*i + 1], base) < 0) {
				return -1;
			}
			(*i)++;
		} else {
			break;
		}
	}
	return count;
}

/* Converts digits (underscores skipped) to an int64 with overflow check. */
static int
to_int64(struct toml__parser *p, size_t at, const char *t, size_t n,
    int base, int neg, int64_t *out)
{
	uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
	size_t i;
	int d;

	for (i = 0; i < n; i++) {
		if ((d = digitval((unsigned char)t[i], base)) < 0) {
			continue;
		}
		if (mag > (lim - (uint64_t)d) / (uint64_t)base) {
			return toml__fail(p, at, ERR_PROTO,
			    "integer does not fit in 64 bits");
		}
		mag = mag * (uint64_t)base + (uint64_t)d;
	}
	if (neg) {
		*out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
		    -(int64_t)mag;
	} else {
		*out = (int64_t)mag;
	}
	return 0;
}

/* Parses 0x / 0o / 0b integers; t points at the leading 0. */
static int
parse_radix(struct toml__parser *p, size_t at, const char *t, size_t n,
    struct toml_value *v)
{
	int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
	size_t i = 2;

	if (scan_digits(t, n, &i, base) <= 0 || i != n) {
		return toml__fail(p, at, ERR_PROTO, "invalid base-%d integer",
		    base);
	}
	v->type = TOML_INTEGER;
	return to_int64(p, at, t + 2, n - 2, base, 0, &v->u.i);
}

/* Converts a decimal float token (underscores removed) with strtod. */
static int
to_double(const char *t, size_t n, double *out)
{
	char *buf = xmalloc(n + 1), *end = NULL;
	size_t i, k = 0;
	int r;

	for (i = 0; i < n; i++) {
		if (t[i] != '_') {
			buf[k++] = t[i];
		}
	}
	buf[k] = '\0';
	*out = strtod(buf, &end);
	r = *end == '\0' ? 0 : -1;
	free(buf);
	return r;
}

/* Parses a decimal integer or float token t of n bytes. */
static int
parse_decimal(struct toml__parser *p, size_t at, const char *t, size_t n,
    struct toml_value *v)
{
	size_t i = 0, intstart;
	int neg = 0, isfloat = 0, nd;

	if (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-';
		i++;
	}
	intstart = i;
	if ((nd = scan_digits(t, n, &i, 10)) <= 0) {
		goto bad;
	}
	if (t[intstart] == '0' && nd > 1) {
		return toml__fail(p, at, ERR_PROTO,
		    "leading zeros are not allowed in numbers");
	}
	if (i < n && t[i] == '.') {
		i++;
		if (scan_digits(t, n, &i, 10) <= 0) {
			goto bad;
		}
		isfloat = 1;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-')) {
			i++;
		}
		if (scan_digits(t, n, &i, 10) <= 0) {
			goto bad;
		}
		isfloat = 1;
	}
	if (i != n) {
		goto bad;
	}
	if (!isfloat) {
		v->type = TOML_INTEGER;
		return to_int64(p, at, t + intstart, n - intstart, 10, neg,
		    &v->u.i);
	}
	v->type = TOML_FLOAT;
	if (to_double(t, n, &v->u.f) != 0) {
		goto bad;
	}
	return 0;
bad:
	return toml__fail(p, at, ERR_PROTO, "invalid number '%.*s'",
	    n > 40 ? 40 : (int)n, t);
}

/* Parses an integer or float token at the cursor. */
static int
parse_number(struct toml__parser *p, struct toml_value *v)
{
	size_t at = p->pos, n = 0, k;
	const char *t = (const char *)p->s + at;
	int r;

	while (numchar(toml__peek(p, n))) {
		n++;
	}
	k = (t[0] == '+' || t[0] == '-') ? 1 : 0;
	if (n - k == 3 && (memcmp(t + k, "inf", 3) == 0 ||
	    memcmp(t + k, "nan", 3) == 0)) {
		v->type = TOML_FLOAT;
		v->u.f = t[k] == 'i' ? INFINITY : NAN;
		if (t[0] == '-') {
			v->u.f = -v->u.f;
		}
		r = 0;
	} else if (n >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' ||
	    t[1] == 'b')) {
		r = parse_radix(p, at, t, n, v);
	} else {
		r = parse_decimal(p, at, t, n, v);
	}
	if (r == 0) {
		p->pos += n;
	}
	return r;
}

/* Reads exactly n decimal digits at cursor offset k into *out. */
static int
fixed_digits(const struct toml__parser *p, size_t k, int n, int *out)
{
	int i, c;

	*out = 0;
	for (i = 0; i < n; i++) {
		c = toml__peek(p, k + i);
		if (c < '0' || c > '9') {
			return -1;
		}
		*out = *out * 10 + (c - '0');
	}
	return 0;
}

/* Returns the number of days in month m of year y. */
static int
days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
		return 29;
	}
	return days[m - 1];
}

/* Parses YYYY-MM-DD at the cursor. */
static int
parse_date(struct toml__parser *p, struct toml_datetime *dt)
{
	if (fixed_digits(p, 0, 4, &dt->year) != 0 || toml__peek(p, 4) != '-' ||
	    fixed_digits(p, 5, 2, &dt->month) != 0 ||
	    toml__peek(p, 7) != '-' || fixed_digits(p, 8, 2, &dt->day) != 0) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid date: expected YYYY-MM-DD");
	}
	if (dt->month < 1 || dt->month > 12) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid date: month %02d is out of range", dt->month);
	}
	if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month)) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid date: day %02d does not exist in %04d-%02d",
		    dt->day, dt->year, dt->month);
	}
	p->pos += 10;
	return 0;
}

/* Parses the fraction after the seconds, if any. */
static int
parse_fraction(struct toml__parser *p, struct toml_datetime *dt)
{
	int c, n = 0;

	if (toml__peek(p, 0) != '.') {
		return 0;
	}
	p->pos++;
	while ((c = toml__peek(p, 0)) >= '0' && c <= '9') {
		if (n < 9) {
			dt->nanosecond = dt->nanosecond * 10 + (c - '0');
			n++;
		}
		p->pos++;
		dt->frac_digits++;
	}
	if (dt->frac_digits == 0) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid time: digits expected after '.'");
	}
	dt->frac_digits = n;
	for (; n < 9; n++) {
		dt->nanosecond *= 10;
	}
	return 0;
}

/* Parses HH:MM:SS[.frac] at the cursor. */
static int
parse_time(struct toml__parser *p, struct toml_datetime *dt)
{
	if (fixed_digits(p, 0, 2, &dt->hour) != 0 || toml__peek(p, 2) != ':' ||
	    fixed_digits(p, 3, 2, &dt->minute) != 0) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid time: expected HH:MM:SS");
	}
	if (toml__peek(p, 5) != ':' || fixed_digits(p, 6, 2, &dt->second)) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid time: seconds are required (HH:MM:SS)");
	}
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid time: %02d:%02d:%02d is out of range", dt->hour,
		    dt->minute, dt->second);
	}
	p->pos += 8;
	return parse_fraction(p, dt);
}

/* Parses an offset (Z or +HH:MM / -HH:MM) if present; sets *has. */
static int
parse_offset(struct toml__parser *p, struct toml_datetime *dt, int *has)
{
	int c = toml__peek(p, 0), h, m;

	*has = 0;
	if (c == 'Z' || c == 'z') {
		p->pos++;
		*has = 1;
		return 0;
	}
	if (c != '+' && c != '-') {
		return 0;
	}
	if (fixed_digits(p, 1, 2, &h) != 0 || toml__peek(p, 3) != ':' ||
	    fixed_digits(p, 4, 2, &m) != 0 || h > 23 || m > 59) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "invalid time offset: expected Z or +HH:MM / -HH:MM");
	}
	dt->offset_minutes = (c == '-' ? -1 : 1) * (h * 60 + m);
	p->pos += 6;
	*has = 1;
	return 0;
}

/* Parses a local date, local date-time or offset date-time. */
static int
parse_datetime(struct toml__parser *p, struct toml_value *v)
{
	struct toml_datetime *dt = &v->u.dt;
	int c, r, has;

	if ((r = parse_date(p, dt)) != 0) {
		return r;
	}
	c = toml__peek(p, 0);
	if (c != 'T' && c != 't' && !(c == ' ' && toml__peek(p, 1) >= '0' &&
	    toml__peek(p, 1) <= '9')) {
		v->type = TOML_DATE_LOCAL;
		return 0;
	}
	p->pos++;
	if ((r = parse_time(p, dt)) != 0 ||
	    (r = parse_offset(p, dt, &has)) != 0) {
		return r;
	}
	v->type = has ? TOML_DATETIME : TOML_DATETIME_LOCAL;
	return 0;
}

/* Returns 1 if the n bytes at the cursor are word and not followed by a
 * bare-key character. */
static int
at_word(const struct toml__parser *p, const char *word)
{
	size_t n = strlen(word);

	return p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0 &&
	    !numchar(toml__peek(p, n));
}

int
toml__parse_scalar(struct toml__parser *p, struct toml_value *v)
{
	char buf[16];
	int c = toml__peek(p, 0);
	int d;

	if (at_word(p, "true") || at_word(p, "false")) {
		v->type = TOML_BOOL;
		v->u.b = c == 't';
		p->pos += v->u.b ? 4 : 5;
		return 0;
	}
	if (fixed_digits(p, 0, 4, &d) == 0 && toml__peek(p, 4) == '-') {
		return parse_datetime(p, v);
	}
	if (fixed_digits(p, 0, 2, &d) == 0 && toml__peek(p, 2) == ':') {
		v->type = TOML_TIME_LOCAL;
		return parse_time(p, &v->u.dt);
	}
	if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' ||
	    c == 'n') {
		return parse_number(p, v);
	}
	return toml__fail(p, p->pos, ERR_PROTO, "expected a value, found %s",
	    toml__desc(p, p->pos, buf, sizeof(buf)));
}

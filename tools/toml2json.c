/*
 * toml2json: reads a TOML document on stdin and prints it on stdout as the
 * "tagged JSON" of the toml-test suite: tables become objects, arrays
 * arrays, and every scalar {"type": T, "value": "text"}. On a parse error
 * the message goes to stderr and the exit status is 1.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "core/err.h"
#include "core/util.h"

/* Prints s (n bytes, may hold NUL) as a JSON string literal. */
static void
put_json_string(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	putchar('"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			printf("\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", stdout);
		} else if (c == '\t') {
			fputs("\\t", stdout);
		} else if (c < 0x20 || c == 0x7f) {
			printf("\\u%04x", c);
		} else {
			putchar(c);
		}
	}
	putchar('"');
}

/* Formats a float so that it reads back as the same double. */
static void
fmt_float(double f, char *buf, size_t size)
{
	int prec;

	if (isnan(f)) {
		snprintf(buf, size, "nan");
		return;
	}
	if (isinf(f)) {
		snprintf(buf, size, "%s", f < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, f);
		if (strtod(buf, NULL) == f) {
			break;
		}
	}
	if (strpbrk(buf, ".eEn") == NULL) {
		strncat(buf, ".0", size - strlen(buf) - 1);
	}
}

/* Formats the date, time and offset parts of v as RFC 3339 text. */
static void
fmt_datetime(const struct toml_value *v, char *buf, size_t size)
{
	const struct toml_datetime *dt = &v->u.dt;
	size_t n = 0;
	int off;

	buf[0] = '\0';
	if (v->type != TOML_TIME_LOCAL) {
		n += snprintf(buf + n, size - n, "%04d-%02d-%02d", dt->year,
		    dt->month, dt->day);
	}
	if (v->type == TOML_DATE_LOCAL) {
		return;
	}
	if (v->type != TOML_TIME_LOCAL) {
		n += snprintf(buf + n, size - n, "T");
	}
	n += snprintf(buf + n, size - n, "%02d:%02d:%02d", dt->hour,
	    dt->minute, dt->second);
	if (dt->frac_digits > 0) {
		n += snprintf(buf + n, size - n, ".%09d", dt->nanosecond);
		n -= 9 - dt->frac_digits;
		buf[n] = '\0';
	}
	if (v->type == TOML_DATETIME) {
		off = dt->offset_minutes;
		if (off == 0) {
			snprintf(buf + n, size - n, "Z");
		} else {
			snprintf(buf + n, size - n, "%c%02d:%02d",
			    off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
		}
	}
}

/* Prints a scalar as {"type": T, "value": "text"}. */
static void
put_scalar(const struct toml_value *v)
{
	static const char *tags[] = { "", "string", "integer", "float",
	    "bool", "datetime", "datetime-local", "date-local",
	    "time-local" };
	char buf[64];

	printf("{\"type\":\"%s\",\"value\":", tags[v->type]);
	switch (v->type) {
	case TOML_STRING:
		put_json_string(v->u.str.ptr, v->u.str.len);
		break;
	case TOML_INTEGER:
		printf("\"%" PRId64 "\"", v->u.i);
		break;
	case TOML_FLOAT:
		fmt_float(v->u.f, buf, sizeof(buf));
		printf("\"%s\"", buf);
		break;
	case TOML_BOOL:
		printf("\"%s\"", v->u.b ? "true" : "false");
		break;
	default:
		fmt_datetime(v, buf, sizeof(buf));
		printf("\"%s\"", buf);
		break;
	}
	putchar('}');
}

/* Prints any value; recursion is bounded by the parser's depth limit. */
static void
put_value(const struct toml_value *v)
{
	size_t i;

	if (v->type == TOML_TABLE) {
		putchar('{');
		for (i = 0; i < v->u.tab.n; i++) {
			if (i > 0) {
				putchar(',');
			}
			put_json_string(v->u.tab.kv[i].key,
			    v->u.tab.kv[i].keylen);
			putchar(':');
			put_value(v->u.tab.kv[i].val);
		}
		putchar('}');
	} else if (v->type == TOML_ARRAY) {
		putchar('[');
		for (i = 0; i < v->u.arr.n; i++) {
			if (i > 0) {
				putchar(',');
			}
			put_value(v->u.arr.items[i]);
		}
		putchar(']');
	} else {
		put_scalar(v);
	}
}

int
main(void)
{
	struct toml_value *root = NULL;
	char err[512];
	char *doc = NULL;
	size_t len = 0, cap = TOML_MAX_DOC_SIZE + 1, n;
	int r;

	doc = xmalloc(cap);
	while (len < cap && (n = fread(doc + len, 1, cap - len, stdin)) > 0) {
		len += n;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "toml2json: cannot read stdin\n");
		free(doc);
		return 1;
	}
	r = toml_parse(doc, len, "<stdin>", &root, err, sizeof(err));
	free(doc);
	if (r != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	put_value(root);
	putchar('\n');
	toml_free(root);
	return 0;
}

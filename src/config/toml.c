/*
 * TOML 1.0.0 document parser: encoding checks, keys, tables, arrays of
 * tables, inline tables and arrays, with every redefinition rule of the
 * specification. Scalars are parsed in toml_value.c.
 *
 * Table flags record how a table came to exist, which decides what may
 * later be added to it:
 *   IMPLICIT  created as a parent by a [x.y] header; [x] may still define it
 *   DEFINED   defined by a [header] or as an element of [[header]]
 *   DOTTED    created by a dotted key; only more dotted keys (in the same
 *             section) may add to it, and headers may only pass through
 *   SEALED    an inline table or a static array: nothing may extend it
 * Arrays created by [[header]] carry AOT; all other arrays are static.
 */
#include "config/toml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml_int.h"
#include "core/err.h"
#include "core/util.h"

#define TF_IMPLICIT	0x01u
#define TF_DEFINED	0x02u
#define TF_DOTTED	0x04u
#define TF_SEALED	0x08u
#define TF_AOT		0x10u

/* One entry of the (table, key) -> value index. */
struct toml__ent {
	const struct toml_value	*tab;
	const char		*key;
	size_t			 keylen;
	struct toml_value	*val;
};

/* A parsed key path: a.b."c" gives three parts. */
struct keypath {
	struct toml__str	*part;
	size_t			*pos;	/* byte offset of each part */
	size_t			 n;
	size_t			 cap;
};

static int	parse_value(struct toml__parser *, int, struct toml_value **);

const char *
toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING:
		return "string";
	case TOML_INTEGER:
		return "integer";
	case TOML_FLOAT:
		return "float";
	case TOML_BOOL:
		return "boolean";
	case TOML_DATETIME:
		return "offset date-time";
	case TOML_DATETIME_LOCAL:
		return "local date-time";
	case TOML_DATE_LOCAL:
		return "local date";
	case TOML_TIME_LOCAL:
		return "local time";
	case TOML_ARRAY:
		return "array";
	case TOML_TABLE:
		return "table";
	}
	return "unknown";
}

/*
 * Frees a value and everything below it. Recursion is bounded by
 * TOML_MAX_DEPTH, which the parser enforces.
 */
void
toml_free(struct toml_value *v)
{
	size_t i;

	if (v == NULL) {
		return;
	}
	switch (v->type) {
	case TOML_STRING:
		free(v->u.str.ptr);
		break;
	case TOML_ARRAY:
		for (i = 0; i < v->u.arr.n; i++) {
			toml_free(v->u.arr.items[i]);
		}
		free(v->u.arr.items);
		break;
	case TOML_TABLE:
		for (i = 0; i < v->u.tab.n; i++) {
			free(v->u.tab.kv[i].key);
			toml_free(v->u.tab.kv[i].val);
		}
		free(v->u.tab.kv);
		break;
	default:
		break;
	}
	free(v);
}

const struct toml_value *
toml_get(const struct toml_value *tab, const char *key)
{
	size_t i, n;

	if (tab == NULL || key == NULL || tab->type != TOML_TABLE) {
		return NULL;
	}
	n = strlen(key);
	for (i = 0; i < tab->u.tab.n; i++) {
		if (tab->u.tab.kv[i].keylen == n &&
		    memcmp(tab->u.tab.kv[i].key, key, n) == 0) {
			return tab->u.tab.kv[i].val;
		}
	}
	return NULL;
}

void
toml__where(struct toml__parser *p, size_t pos, int *line, int *col)
{
	if (pos > p->len) {
		pos = p->len;
	}
	if (pos < p->start) {
		pos = p->start;
	}
	if (pos < p->cpos || p->cline == 0) {
		p->cpos = p->start;
		p->cline = 1;
		p->ccol = 1;
	}
	for (; p->cpos < pos; p->cpos++) {
		if (p->s[p->cpos] == '\n') {
			p->cline++;
			p->ccol = 1;
		} else if ((p->s[p->cpos] & 0xc0) != 0x80) {
			p->ccol++;
		}
	}
	*line = p->cline;
	*col = p->ccol;
}

int
toml__fail(struct toml__parser *p, size_t pos, int code, const char *fmt,
    ...)
{
	char msg[256];
	va_list ap;
	int line, col;

	if (p->failed) {
		return code;
	}
	p->failed = 1;
	if (p->err == NULL || p->errlen == 0) {
		return code;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	toml__where(p, pos, &line, &col);
	snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->name, line, col, msg);
	return code;
}

const char *
toml__desc(const struct toml__parser *p, size_t pos, char *buf, size_t size)
{
	size_t n = 1;
	int c = pos < p->len ? p->s[pos] : -1;

	if (c == -1) {
		return "end of input";
	}
	if (c == '\n' || c == '\r') {
		return "end of line";
	}
	if (c == '\t') {
		return "a tab";
	}
	if (c >= 0xc0) {
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	}
	if (n > p->len - pos) {
		n = p->len - pos;
	}
	snprintf(buf, size, "'%.*s'", (int)n, (const char *)p->s + pos);
	return buf;
}

/* Returns the length of the UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len, i;

	if (s[0] < 0x80) {
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n) {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return len;
}

/*
 * Checks the whole document once: valid UTF-8, and no control character
 * other than tab and newline (LF or CRLF) anywhere. A leading byte order
 * mark is skipped.
 */
static int
check_encoding(struct toml__parser *p)
{
	const unsigned char *s = p->s;
	size_t i, n;

	if (p->len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		p->pos = 3;
		p->start = 3;
	}
	for (i = p->pos; i < p->len; i += n) {
		n = 1;
		if (s[i] == '\r' && (i + 1 == p->len || s[i + 1] != '\n')) {
			return toml__fail(p, i, ERR_PROTO,
			    "carriage return not followed by a line feed");
		}
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r') || s[i] == 0x7f) {
			return toml__fail(p, i, ERR_PROTO,
			    "control character U+%04X is not allowed", s[i]);
		}
		if (s[i] >= 0x80 && (n = utf8_len(s + i, p->len - i)) == 0) {
			return toml__fail(p, i, ERR_PROTO,
			    "invalid UTF-8 byte sequence");
		}
	}
	return 0;
}

/* Allocates a value of type t whose position is byte offset pos. */
static struct toml_value *
value_new(struct toml__parser *p, enum toml_type t, unsigned flags,
    size_t pos)
{
	struct toml_value *v = xcalloc(1, sizeof(*v));

	v->type = t;
	v->flags = flags;
	toml__where(p, pos, &v->line, &v->col);
	return v;
}

/* Hashes a (table, key) pair for the index. */
static size_t
ent_hash(const struct toml_value *tab, const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	}
	/* Mix in the table and spread high bits down (murmur3 finaliser). */
	h ^= (uint64_t)(uintptr_t)tab;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h;
}

/* Returns the index slot for (tab, key): the match or an empty slot. */
static struct toml__ent *
ent_slot(struct toml__parser *p, const struct toml_value *tab,
    const char *key, size_t len)
{
	struct toml__ent *e = NULL;
	size_t i = ent_hash(tab, key, len) & (p->idxcap - 1);

	for (;; i = (i + 1) & (p->idxcap - 1)) {
		e = &p->idx[i];
		if (e->tab == NULL || (e->tab == tab && e->keylen == len &&
		    memcmp(e->key, key, len) == 0)) {
			return e;
		}
	}
}

/* Looks up key in table tab through the index. */
static struct toml_value *
tab_find(struct toml__parser *p, const struct toml_value *tab,
    const struct toml__str *key)
{
	if (p->idxcap == 0) {
		return NULL;
	}
	return ent_slot(p, tab, key->p, key->n)->val;
}

/* Doubles the index, rehashing every entry. */
static void
idx_grow(struct toml__parser *p)
{
	struct toml__ent *old = p->idx, *e = NULL;
	size_t i, oldcap = p->idxcap;

	p->idxcap = oldcap == 0 ? 64 : oldcap * 2;
	p->idx = xcalloc(p->idxcap, sizeof(*p->idx));
	for (i = 0; i < oldcap; i++) {
		if (old[i].tab != NULL) {
			e = ent_slot(p, old[i].tab, old[i].key, old[i].keylen);
			*e = old[i];
		}
	}
	free(old);
}

/* Appends key = val to table tab (the key must be new). */
static void
tab_add(struct toml__parser *p, struct toml_value *tab,
    const struct toml__str *key, struct toml_value *val)
{
	struct toml_kv *kv = NULL;
	struct toml__ent *e = NULL;

	if (tab->u.tab.n == tab->cap) {
		tab->cap = tab->cap == 0 ? 8 : tab->cap * 2;
		tab->u.tab.kv = xreallocarray(tab->u.tab.kv, tab->cap,
		    sizeof(*tab->u.tab.kv));
	}
	kv = &tab->u.tab.kv[tab->u.tab.n++];
	kv->key = xmalloc(key->n + 1);
	memcpy(kv->key, key->p, key->n + 1);
	kv->keylen = key->n;
	kv->val = val;
	if ((p->idxn + 1) * 2 > p->idxcap) {
		idx_grow(p);
	}
	e = ent_slot(p, tab, kv->key, kv->keylen);
	e->tab = tab;
	e->key = kv->key;
	e->keylen = kv->keylen;
	e->val = val;
	p->idxn++;
}

/* Appends val to array arr. */
static void
arr_push(struct toml_value *arr, struct toml_value *val)
{
	if (arr->u.arr.n == arr->cap) {
		arr->cap = arr->cap == 0 ? 8 : arr->cap * 2;
		arr->u.arr.items = xreallocarray(arr->u.arr.items, arr->cap,
		    sizeof(*arr->u.arr.items));
	}
	arr->u.arr.items[arr->u.arr.n++] = val;
}

/* Fails with ERR_TOO_LARGE if depth exceeds the bound. */
static int
check_depth(struct toml__parser *p, int depth)
{
	if (depth > TOML_MAX_DEPTH) {
		return toml__fail(p, p->pos, ERR_TOO_LARGE,
		    "nesting is deeper than %d levels", TOML_MAX_DEPTH);
	}
	return 0;
}

/* Skips spaces and tabs. */
static void
skip_ws(struct toml__parser *p)
{
	int c;

	while ((c = toml__peek(p, 0)) == ' ' || c == '\t') {
		p->pos++;
	}
}

/* Skips a comment, if any, up to (not including) the end of the line. */
static void
skip_comment(struct toml__parser *p)
{
	int c;

	if (toml__peek(p, 0) != '#') {
		return;
	}
	while ((c = toml__peek(p, 0)) != -1 && c != '\n' && c != '\r') {
		p->pos++;
	}
}

/* Skips whitespace, newlines and comments (inside arrays). */
static void
skip_ws_nl(struct toml__parser *p)
{
	int c;

	for (;;) {
		skip_ws(p);
		skip_comment(p);
		c = toml__peek(p, 0);
		if (c == '\n' || c == '\r') {
			p->pos += c == '\r' ? 2 : 1;
		} else {
			return;
		}
	}
}

/* Consumes optional whitespace and comment, then a newline or the end. */
static int
end_line(struct toml__parser *p)
{
	char buf[16];
	int c;

	skip_ws(p);
	skip_comment(p);
	c = toml__peek(p, 0);
	if (c == -1) {
		return 0;
	}
	if (c == '\n' || c == '\r') {
		p->pos += c == '\r' ? 2 : 1;
		return 0;
	}
	return toml__fail(p, p->pos, ERR_PROTO,
	    "expected the end of the line, found %s",
	    toml__desc(p, p->pos, buf, sizeof(buf)));
}

/* Returns 1 if c may appear in a bare key. */
static int
bare_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Releases a key path. */
static void
keypath_free(struct keypath *kp)
{
	size_t i;

	for (i = 0; i < kp->n; i++) {
		free(kp->part[i].p);
	}
	free(kp->part);
	free(kp->pos);
	memset(kp, 0, sizeof(*kp));
}

/* Parses one bare or quoted key at the cursor into s (zeroed). */
static int
parse_simple_key(struct toml__parser *p, struct toml__str *s)
{
	char buf[16];
	size_t start = p->pos;
	int c = toml__peek(p, 0);

	if (c == '"' || c == '\'') {
		return toml__parse_string(p, s, 0);
	}
	while (bare_char(toml__peek(p, 0))) {
		p->pos++;
	}
	if (p->pos == start) {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "expected a key, found %s",
		    toml__desc(p, p->pos, buf, sizeof(buf)));
	}
	s->n = p->pos - start;
	s->cap = s->n + 1;
	s->p = xmalloc(s->cap);
	memcpy(s->p, p->s + start, s->n);
	s->p[s->n] = '\0';
	return 0;
}

/* Parses a possibly dotted key (a . "b" . c) at the cursor. */
static int
parse_key(struct toml__parser *p, struct keypath *kp)
{
	int r;

	for (;;) {
		if (kp->n == TOML_MAX_DEPTH) {
			return toml__fail(p, p->pos, ERR_TOO_LARGE,
			    "key has more than %d parts", TOML_MAX_DEPTH);
		}
		if (kp->n == kp->cap) {
			kp->cap = kp->cap == 0 ? 4 : kp->cap * 2;
			kp->part = xreallocarray(kp->part, kp->cap,
			    sizeof(*kp->part));
			kp->pos = xreallocarray(kp->pos, kp->cap,
			    sizeof(*kp->pos));
		}
		kp->pos[kp->n] = p->pos;
		memset(&kp->part[kp->n], 0, sizeof(kp->part[kp->n]));
		if ((r = parse_simple_key(p, &kp->part[kp->n])) != 0) {
			return r;
		}
		kp->n++;
		skip_ws(p);
		if (toml__peek(p, 0) != '.') {
			return 0;
		}
		p->pos++;
		skip_ws(p);
	}
}


/* Describes what kind of value v is, for messages ("an inline table"). */
static const char *
kind(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_TABLE:
		return (v->flags & TF_SEALED) ? "an inline table" : "a table";
	case TOML_ARRAY:
		return (v->flags & TF_AOT) ? "an array of tables" :
		    "a static array";
	case TOML_INTEGER:
		return "an integer";
	case TOML_DATETIME:
		return "an offset date-time";
	case TOML_STRING:
		return "a string";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOL:
		return "a boolean";
	case TOML_DATETIME_LOCAL:
		return "a local date-time";
	case TOML_DATE_LOCAL:
		return "a local date";
	case TOML_TIME_LOCAL:
		return "a local time";
	}
	return "a value";
}

/* Fails at key part i: "key 'x' <why> <kind of v> defined at line N". */
static int
fail_key(struct toml__parser *p, const struct keypath *kp, size_t i,
    const char *why, const struct toml_value *v)
{
	const struct toml__str *k = &kp->part[i];

	return toml__fail(p, kp->pos[i], ERR_PROTO,
	    "key '%.*s' %s %s defined at line %d", k->n > 64 ? 64 :
	    (int)k->n, k->p, why, kind(v), v->line);
}

/* Walks (creating as needed) the tables named by a [header] path. */
static int
open_parents(struct toml__parser *p, struct toml_value *root,
    const struct keypath *kp, struct toml_value **tab, int *depth)
{
	struct toml_value *t = root, *v = NULL;
	size_t i;
	int d = 0, r;

	for (i = 0; i + 1 < kp->n; i++) {
		v = tab_find(p, t, &kp->part[i]);
		if (v == NULL) {
			v = value_new(p, TOML_TABLE, TF_IMPLICIT, kp->pos[i]);
			tab_add(p, t, &kp->part[i], v);
		} else if (v->type == TOML_ARRAY && (v->flags & TF_AOT)) {
			v = v->u.arr.items[v->u.arr.n - 1];
			d++;
		} else if (v->type != TOML_TABLE || (v->flags & TF_SEALED)) {
			return fail_key(p, kp, i, "cannot be extended: it is",
			    v);
		}
		t = v;
		if ((r = check_depth(p, ++d)) != 0) {
			return r;
		}
	}
	*tab = t;
	*depth = d;
	return 0;
}

/* Defines the table (or the next array element) a header names. */
static int
open_header(struct toml__parser *p, struct toml_value *root,
    const struct keypath *kp, int aot, struct toml_value **cur, int *depth)
{
	struct toml_value *t = NULL, *v = NULL, *elem = NULL;
	size_t i = kp->n - 1;
	int r;

	if ((r = open_parents(p, root, kp, &t, depth)) != 0) {
		return r;
	}
	v = tab_find(p, t, &kp->part[i]);
	if (!aot && v == NULL) {
		v = value_new(p, TOML_TABLE, TF_DEFINED, kp->pos[i]);
		tab_add(p, t, &kp->part[i], v);
	} else if (!aot && v->type == TOML_TABLE && v->flags == TF_IMPLICIT) {
		v->flags = TF_DEFINED;
	} else if (!aot) {
		return fail_key(p, kp, i, "cannot be defined again: it is", v);
	} else {
		if (v == NULL) {
			v = value_new(p, TOML_ARRAY, TF_AOT, kp->pos[i]);
			tab_add(p, t, &kp->part[i], v);
		} else if (v->type != TOML_ARRAY || !(v->flags & TF_AOT)) {
			return fail_key(p, kp, i,
			    "cannot be an array of tables: it is", v);
		}
		elem = value_new(p, TOML_TABLE, TF_DEFINED, kp->pos[i]);
		arr_push(v, elem);
		v = elem;
		++*depth;
	}
	*cur = v;
	return check_depth(p, ++*depth);
}

/* Parses a [header] or [[header]] line and makes its table current. */
static int
parse_header(struct toml__parser *p, struct toml_value *root,
    struct toml_value **cur, int *depth)
{
	struct keypath kp;
	char buf[16];
	int aot = toml__peek(p, 1) == '[', r;

	memset(&kp, 0, sizeof(kp));
	p->pos += aot ? 2 : 1;
	skip_ws(p);
	if ((r = parse_key(p, &kp)) != 0) {
		goto out;
	}
	if (toml__peek(p, 0) != ']' || (aot && toml__peek(p, 1) != ']')) {
		r = toml__fail(p, p->pos, ERR_PROTO,
		    "expected '%s' to close the table header, found %s",
		    aot ? "]]" : "]", toml__desc(p, p->pos, buf, sizeof(buf)));
		goto out;
	}
	p->pos += aot ? 2 : 1;
	r = open_header(p, root, &kp, aot, cur, depth);
out:
	keypath_free(&kp);
	return r;
}

/* Parses key = value into table tab (at nesting depth), dotted or not. */
static int
parse_keyval(struct toml__parser *p, struct toml_value *tab, int depth)
{
	struct keypath kp;
	struct toml_value *t = tab, *v = NULL;
	char buf[16];
	size_t i;
	int r;

	memset(&kp, 0, sizeof(kp));
	if ((r = parse_key(p, &kp)) != 0) {
		goto out;
	}
	for (i = 0; i + 1 < kp.n; i++) {
		v = tab_find(p, t, &kp.part[i]);
		if (v == NULL) {
			v = value_new(p, TOML_TABLE, TF_DOTTED, kp.pos[i]);
			tab_add(p, t, &kp.part[i], v);
		} else if (v->type != TOML_TABLE || v->flags != TF_DOTTED) {
			r = fail_key(p, &kp, i,
			    "cannot be extended with a dotted key: it is", v);
			goto out;
		}
		t = v;
		if ((r = check_depth(p, ++depth)) != 0) {
			goto out;
		}
	}
	if ((v = tab_find(p, t, &kp.part[i])) != NULL) {
		r = fail_key(p, &kp, i, "is a duplicate: it is already", v);
		goto out;
	}
	if (toml__peek(p, 0) != '=') {
		r = toml__fail(p, p->pos, ERR_PROTO,
		    "expected '=' after the key, found %s",
		    toml__desc(p, p->pos, buf, sizeof(buf)));
		goto out;
	}
	p->pos++;
	skip_ws(p);
	if ((r = parse_value(p, depth + 1, &v)) != 0) {
		goto out;
	}
	tab_add(p, t, &kp.part[i], v);
out:
	keypath_free(&kp);
	return r;
}

/* Parses an array value [ v, v, ... ] at the cursor. */
static int
parse_array(struct toml__parser *p, int depth, struct toml_value **out)
{
	struct toml_value *arr = value_new(p, TOML_ARRAY, TF_SEALED, p->pos);
	struct toml_value *item = NULL;
	char buf[16];
	int r = 0, c;

	p->pos++;
	for (;;) {
		skip_ws_nl(p);
		if (toml__peek(p, 0) == ']') {
			break;
		}
		if ((r = parse_value(p, depth + 1, &item)) != 0) {
			goto out;
		}
		arr_push(arr, item);
		skip_ws_nl(p);
		if ((c = toml__peek(p, 0)) == ']') {
			break;
		}
		if (c != ',') {
			r = toml__fail(p, p->pos, ERR_PROTO,
			    "expected ',' or ']' after an array element, "
			    "found %s", toml__desc(p, p->pos, buf, sizeof(buf)));
			goto out;
		}
		p->pos++;
	}
	p->pos++;
out:
	if (r != 0) {
		toml_free(arr);
		arr = NULL;
	}
	*out = arr;
	return r;
}

/* Fails unless the cursor may start a key inside an inline table. */
static int
inline_key_ok(struct toml__parser *p)
{
	int c = toml__peek(p, 0);

	if (c == '\n' || c == '\r') {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "an inline table must stay on one line");
	}
	if (c == '}') {
		return toml__fail(p, p->pos, ERR_PROTO,
		    "a trailing comma is not allowed in an inline table");
	}
	return 0;
}

/* Parses an inline table { k = v, ... } at the cursor. */
static int
parse_inline(struct toml__parser *p, int depth, struct toml_value **out)
{
	struct toml_value *tab = value_new(p, TOML_TABLE, 0, p->pos);
	char buf[16];
	int r = 0, c;

	p->pos++;
	skip_ws(p);
	if (toml__peek(p, 0) == '}') {
		goto close;
	}
	for (;;) {
		if ((r = inline_key_ok(p)) != 0 ||
		    (r = parse_keyval(p, tab, depth)) != 0) {
			goto out;
		}
		skip_ws(p);
		if ((c = toml__peek(p, 0)) == '}') {
			break;
		}
		if (c != ',') {
			r = toml__fail(p, p->pos, ERR_PROTO,
			    "expected ',' or '}' in an inline table, found %s",
			    toml__desc(p, p->pos, buf, sizeof(buf)));
			goto out;
		}
		p->pos++;
		skip_ws(p);
	}
close:
	p->pos++;
	tab->flags = TF_SEALED;
out:
	if (r != 0) {
		toml_free(tab);
		tab = NULL;
	}
	*out = tab;
	return r;
}

/* Parses any value at the cursor; depth is the nesting of the value. */
static int
parse_value(struct toml__parser *p, int depth, struct toml_value **out)
{
	struct toml__str s;
	struct toml_value *v = NULL;
	int c = toml__peek(p, 0), r;

	*out = NULL;
	if ((r = check_depth(p, depth)) != 0) {
		return r;
	}
	if (c == '[') {
		return parse_array(p, depth, out);
	}
	if (c == '{') {
		return parse_inline(p, depth, out);
	}
	v = value_new(p, TOML_BOOL, 0, p->pos);
	if (c == '"' || c == '\'') {
		memset(&s, 0, sizeof(s));
		r = toml__parse_string(p, &s, 1);
		v->type = TOML_STRING;
		v->u.str.ptr = s.p;
		v->u.str.len = s.n;
	} else {
		r = toml__parse_scalar(p, v);
	}
	if (r != 0) {
		toml_free(v);
		v = NULL;
	}
	*out = v;
	return r;
}

/* Parses the document: a sequence of headers, key/values and comments. */
static int
parse_document(struct toml__parser *p, struct toml_value *root)
{
	struct toml_value *cur = root;
	int depth = 0, r = 0, c;

	for (;;) {
		skip_ws(p);
		c = toml__peek(p, 0);
		if (c == -1) {
			return 0;
		}
		if (c == '[') {
			r = parse_header(p, root, &cur, &depth);
		} else if (c != '#' && c != '\n' && c != '\r') {
			r = parse_keyval(p, cur, depth);
		}
		if (r != 0 || (r = end_line(p)) != 0) {
			return r;
		}
	}
}

int
toml_parse(const char *text, size_t len, const char *name,
    struct toml_value **out, char *err, size_t errlen)
{
	struct toml__parser p;
	struct toml_value *root = NULL;
	int r;

	*out = NULL;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	memset(&p, 0, sizeof(p));
	p.s = (const unsigned char *)(text != NULL ? text : "");
	p.len = text != NULL ? len : 0;
	p.name = name != NULL ? name : "<toml>";
	p.err = err;
	p.errlen = errlen;
	if (len > TOML_MAX_DOC_SIZE) {
		p.len = 0;
		r = toml__fail(&p, 0, ERR_TOO_LARGE,
		    "document is larger than %d bytes", TOML_MAX_DOC_SIZE);
		goto out;
	}
	if ((r = check_encoding(&p)) != 0) {
		goto out;
	}
	root = value_new(&p, TOML_TABLE, TF_DEFINED, p.pos);
	if ((r = parse_document(&p, root)) != 0) {
		toml_free(root);
		root = NULL;
	}
out:
	free(p.idx);
	*out = root;
	return r;
}

/*
 * Storing values into the model: the TOML document walk, the typed setter
 * shared by the file, the environment and --set, and the origin map used
 * to point messages at the place a value came from.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/toml.h"
#include "core/err.h"
#include "core/util.h"

/* Records (or replaces) where the value at ipath came from. */
void
cfg__origin_add(struct cfg__ld *ld, const char *ipath, const char *where)
{
	size_t i;

	for (i = 0; i < ld->norg; i++) {
		if (strcmp(ld->org[i].path, ipath) == 0) {
			free(ld->org[i].where);
			ld->org[i].where = xstrdup(where);
			return;
		}
	}
	ld->org = xreallocarray(ld->org, ld->norg + 1, sizeof(*ld->org));
	ld->org[ld->norg].path = xstrdup(ipath);
	ld->org[ld->norg].where = xstrdup(where);
	ld->norg++;
}

/* Where ipath (or its nearest recorded parent) was set; else the source. */
const char *
cfg__where(const struct cfg__ld *ld, const char *ipath)
{
	size_t i, len = strlen(ipath);

	while (len > 0) {
		for (i = 0; i < ld->norg; i++) {
			if (strlen(ld->org[i].path) == len &&
			    strncmp(ld->org[i].path, ipath, len) == 0) {
				return ld->org[i].where;
			}
		}
		while (len > 0 && ipath[len - 1] != '.') {
			len--;
		}
		if (len > 0) {
			len--;
		}
	}
	return ld->name;
}

/* Returns a heap copy of ipath without its numeric components. */
char *
cfg__unindex(const char *ipath)
{
	char *out = xmalloc(strlen(ipath) + 1), *o = out;
	const char *p = ipath, *e = NULL;
	size_t n;

	while (*p != '\0') {
		e = strchr(p, '.');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || strspn(p, "0123456789") < n) {
			if (o != out) {
				*o++ = '.';
			}
			memcpy(o, p, n);
			o += n;
		}
		p += n;
		if (*p == '.') {
			p++;
		}
	}
	*o = '\0';
	return out;
}

/* Parses the boolean words accepted from env and --set. */
int
cfg__parse_bool(const char *s, int *out)
{
	static const char *const t[] = { "true", "1", "yes", "on" };
	static const char *const f[] = { "false", "0", "no", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return ERR_INVAL;
}

/* Reports a type mismatch. Returns ERR_INVAL. */
static int
type_error(struct cfg__ld *ld, const struct cfg__key *k,
    const struct toml_value *v, const char *ipath, const char *where)
{
	const char *n = toml_type_name(v->type);

	cfg_diag_error(ld->d, "%s: %s: expected %s, found %s %s", where,
	    ipath, cfg__type_name(k), strchr("aeiou", n[0]) != NULL ? "an" :
	    "a", n);
	return ERR_INVAL;
}

/* Copies a TOML string, refusing embedded NUL bytes. */
static int
get_string(struct cfg__ld *ld, const struct toml_value *v, const char *ipath,
    const char *where, char **out)
{
	if (strlen(v->u.str.ptr) != v->u.str.len) {
		cfg_diag_error(ld->d, "%s: %s: string contains a NUL byte",
		    where, ipath);
		return ERR_INVAL;
	}
	*out = xstrdup(v->u.str.ptr);
	return 0;
}

/* Stores an integer after the bounds check of k. */
static int
set_int(struct cfg__ld *ld, const struct cfg__key *k, void *field,
    int64_t i, const char *ipath, const char *where)
{
	if (i < k->min || i > k->max) {
		if (k->max == INT64_MAX) {
			cfg_diag_error(ld->d, "%s: %s: value %lld is out of "
			    "range (must be at least %lld)", where, ipath,
			    (long long)i, (long long)k->min);
		} else {
			cfg_diag_error(ld->d, "%s: %s: value %lld is out of "
			    "range (%lld..%lld)", where, ipath, (long long)i,
			    (long long)k->min, (long long)k->max);
		}
		return ERR_INVAL;
	}
	switch (k->type) {
	case CK_U32:
		*(uint32_t *)field = (uint32_t)i;
		break;
	case CK_U64:
		*(uint64_t *)field = (uint64_t)i;
		break;
	case CK_I64:
		*(int64_t *)field = i;
		break;
	case CK_OU32:
		((struct cfg_ou32 *)field)->v = (uint32_t)i;
		((struct cfg_ou32 *)field)->set = 1;
		break;
	default:
		((struct cfg_ou64 *)field)->v = (uint64_t)i;
		((struct cfg_ou64 *)field)->set = 1;
		break;
	}
	return 0;
}

/* Stores an enum name as its index. */
static int
set_enum(struct cfg__ld *ld, const struct cfg__key *k, void *field,
    const char *s, const char *ipath, const char *where)
{
	char list[256] = "";
	size_t i;

	for (i = 0; k->enums[i] != NULL; i++) {
		if (strcmp(k->enums[i], s) == 0) {
			if (k->type == CK_ENUM) {
				*(int *)field = (int)i;
			} else {
				((struct cfg_oenum *)field)->v = (int)i;
				((struct cfg_oenum *)field)->set = 1;
			}
			return 0;
		}
		strncat(list, i > 0 ? ", " : "", sizeof(list) - strlen(list) -
		    1);
		strncat(list, k->enums[i], sizeof(list) - strlen(list) - 1);
	}
	cfg_diag_error(ld->d, "%s: %s: invalid value \"%s\" (expected one "
	    "of: %s)", where, ipath, s, list);
	return ERR_INVAL;
}

/* Stores a string or path field (paths resolve against the base dir). */
static int
set_str(struct cfg__ld *ld, const struct cfg__key *k, void *field,
    const struct toml_value *v, const char *ipath, const char *where)
{
	char *s = NULL, **dst = field;
	int r;

	if ((r = get_string(ld, v, ipath, where, &s)) != 0) {
		return r;
	}
	if ((k->type == CK_PATH || k->type == CK_OPATH) && s[0] != '/' &&
	    s[0] != '\0' && ld->base_dir != NULL) {
		char *abs = xasprintf("%s/%s", ld->base_dir, s);

		free(s);
		s = abs;
	}
	if (k->flags & (CFG__F_SECRET | CFG__F_URL)) {
		util_free_secret(*dst);
	} else {
		free(*dst);
	}
	*dst = s;
	return 0;
}

/* Stores an array of strings. */
static int
set_strv(struct cfg__ld *ld, const struct cfg__key *k, void *field,
    const struct toml_value *v, const char *ipath, const char *where)
{
	struct cfg_strv *sv = field, nv = { NULL, 0, 1 };
	size_t i;
	int r = 0;

	if (v->type != TOML_ARRAY) {
		return type_error(ld, k, v, ipath, where);
	}
	nv.v = xcalloc(v->u.arr.n + 1, sizeof(char *));
	for (i = 0; i < v->u.arr.n; i++) {
		if (v->u.arr.items[i]->type != TOML_STRING) {
			cfg_diag_error(ld->d, "%s: %s: expected an array of "
			    "strings, found a %s element", where, ipath,
			    toml_type_name(v->u.arr.items[i]->type));
			r = ERR_INVAL;
			break;
		}
		if ((r = get_string(ld, v->u.arr.items[i], ipath, where,
		    &nv.v[nv.n])) != 0) {
			break;
		}
		nv.n++;
	}
	if (r != 0) {
		cfg__strv_free(&nv, 0);
		return r;
	}
	cfg__strv_free(sv, 0);
	*sv = nv;
	return 0;
}

/* Replaces the value of an existing map key; 1 if it existed. */
static int
map_replace(struct cfg_map *m, const char *key, const char *val)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i], key) == 0) {
			free(m->vals[i]);
			m->vals[i] = xstrdup(val);
			return 1;
		}
	}
	return 0;
}

/* Stores a table of strings (aliases), replacing any previous content. */
static int
set_map(struct cfg__ld *ld, const struct cfg__key *k, void *field,
    const struct toml_value *v, const char *ipath, const char *where)
{
	struct cfg_map *m = field;
	const struct toml_value *e = NULL;
	size_t i;

	if (v->type != TOML_TABLE) {
		return type_error(ld, k, v, ipath, where);
	}
	for (i = 0; i < v->u.tab.n; i++) {
		e = v->u.tab.kv[i].val;
		if (e->type != TOML_STRING ||
		    strlen(e->u.str.ptr) != e->u.str.len ||
		    strlen(v->u.tab.kv[i].key) != v->u.tab.kv[i].keylen) {
			cfg_diag_error(ld->d, "%s: %s.%s: expected a string",
			    where, ipath, v->u.tab.kv[i].key);
			return ERR_INVAL;
		}
	}
	for (i = 0; i < v->u.tab.n; i++) {
		if (map_replace(m, v->u.tab.kv[i].key,
		    v->u.tab.kv[i].val->u.str.ptr)) {
			continue;
		}
		m->keys = xreallocarray(m->keys, m->n + 1, sizeof(char *));
		m->vals = xreallocarray(m->vals, m->n + 1, sizeof(char *));
		m->keys[m->n] = xstrdup(v->u.tab.kv[i].key);
		m->vals[m->n] = xstrdup(v->u.tab.kv[i].val->u.str.ptr);
		m->n++;
	}
	return 0;
}

/* Loads every element of an array of tables. */
static int
set_array(struct cfg__ld *ld, const struct cfg__key *k, void *base,
    const struct toml_value *v, const char *ipath, const char *where)
{
	size_t i, n0 = *(size_t *)(void *)((char *)base + k->off_n);
	char *ip = NULL;
	void *el = NULL;
	int r = 0;

	if (v->type != TOML_ARRAY) {
		return type_error(ld, k, v, ipath, where);
	}
	for (i = 0; i < v->u.arr.n; i++) {
		if (v->u.arr.items[i]->type != TOML_TABLE) {
			return type_error(ld, k, v->u.arr.items[i], ipath,
			    where);
		}
	}
	for (i = 0; i < v->u.arr.n; i++) {
		el = cfg__array_append(ld, k, base);
		ip = xasprintf("%s.%zu", ipath, n0 + i);
		if (v->u.arr.items[i]->line > 0) {
			char *w = xasprintf("%s:%d:%d", ld->name,
			    v->u.arr.items[i]->line, v->u.arr.items[i]->col);

			cfg__origin_add(ld, ip, w);
			free(w);
		}
		if (cfg__load_table(ld, k->sub, el, v->u.arr.items[i], ip,
		    where) != 0) {
			r = ERR_INVAL;
		}
		free(ip);
	}
	return r;
}

/*
 * Stores TOML value v into the field of key k (field points into the
 * struct; for CK_ARRAY it is the struct holding the array). ipath names
 * the key in messages, where says where the value came from.
 */
int
cfg__set_value(struct cfg__ld *ld, const struct cfg__key *k, void *field,
    const struct toml_value *v, const char *ipath, const char *where)
{
	switch (k->type) {
	case CK_BOOL:
	case CK_OBOOL:
		if (v->type != TOML_BOOL) {
			return type_error(ld, k, v, ipath, where);
		}
		if (k->type == CK_BOOL) {
			*(int *)field = v->u.b;
		} else {
			((struct cfg_obool *)field)->v = v->u.b;
			((struct cfg_obool *)field)->set = 1;
		}
		return 0;
	case CK_U32:
	case CK_U64:
	case CK_I64:
	case CK_OU32:
	case CK_OU64:
		if (v->type != TOML_INTEGER) {
			return type_error(ld, k, v, ipath, where);
		}
		return set_int(ld, k, field, v->u.i, ipath, where);
	case CK_ENUM:
	case CK_OENUM:
		if (v->type != TOML_STRING) {
			return type_error(ld, k, v, ipath, where);
		}
		return set_enum(ld, k, field, v->u.str.ptr, ipath, where);
	case CK_STR:
	case CK_OSTR:
	case CK_PATH:
	case CK_OPATH:
		if (v->type != TOML_STRING) {
			return type_error(ld, k, v, ipath, where);
		}
		return set_str(ld, k, field, v, ipath, where);
	case CK_STRV:
		return set_strv(ld, k, field, v, ipath, where);
	case CK_MAP:
		return set_map(ld, k, field, v, ipath, where);
	case CK_TABLE:
		if (v->type != TOML_TABLE) {
			return type_error(ld, k, v, ipath, where);
		}
		return cfg__load_table(ld, k->sub, field, v, ipath, where);
	case CK_ARRAY:
		return set_array(ld, k, field, v, ipath, where);
	}
	return ERR_INVAL;
}

/* Formats "NAME:LINE:COL" for a TOML value; falls back when unknown. */
static char *
pos_of(const struct cfg__ld *ld, const struct toml_value *v,
    const char *fallback)
{
	if (v->line > 0) {
		return xasprintf("%s:%d:%d", ld->name, v->line, v->col);
	}
	return xstrdup(fallback);
}

/*
 * Loads a TOML table into the struct at base described by s. Unknown keys,
 * type errors and pending keys are reported; loading continues so every
 * problem is listed. Returns 0 or ERR_INVAL.
 */
int
cfg__load_table(struct cfg__ld *ld, const struct cfg__sect *s, void *base,
    const struct toml_value *tab, const char *ipath, const char *fallback)
{
	const struct cfg__key *k = NULL;
	const struct toml_kv *kv = NULL;
	const char *sug = NULL;
	char *ip = NULL, *where = NULL;
	void *field = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < tab->u.tab.n; i++) {
		kv = &tab->u.tab.kv[i];
		where = pos_of(ld, kv->val, fallback);
		ip = ipath[0] != '\0' ? xasprintf("%s.%s", ipath, kv->key) :
		    xstrdup(kv->key);
		k = cfg__key_find(s, kv->key, kv->keylen);
		if (k == NULL) {
			sug = cfg__suggest(s, kv->key);
			if (sug != NULL) {
				cfg_diag_error(ld->d, "%s: unknown key '%s'; "
				    "did you mean '%s'?", where, ip, sug);
			} else {
				cfg_diag_error(ld->d, "%s: unknown key '%s'",
				    where, ip);
			}
			r = ERR_INVAL;
		} else if (cfg__pending_check(ld, ip, where) != 0) {
			r = ERR_INVAL;
		} else {
			cfg__origin_add(ld, ip, where);
			field = k->type == CK_ARRAY ? base :
			    (char *)base + k->off;
			if (cfg__set_value(ld, k, field, kv->val, ip,
			    where) != 0) {
				r = ERR_INVAL;
			}
		}
		free(ip);
		free(where);
	}
	return r;
}

/* Parses a whole decimal integer strictly. 0 or ERR_INVAL. */
static int
parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s[0] == '\0' || (s[0] != '-' && !isdigit((unsigned char)s[0]))) {
		return ERR_INVAL;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || (s[0] == '-' && s[1] == '\0')) {
		return ERR_INVAL;
	}
	*out = v;
	return 0;
}

/* Temporary TOML values built from command-line or environment text. */
struct tmpval {
	struct toml_value	 v;
	struct toml_value	*items;		/* CSV elements */
	struct toml_value	**ptrs;
	char			*buf;		/* owned text */
	struct toml_value	*doc;		/* parsed literal */
};

/* Frees what a tmpval owns. */
static void
tmpval_cleanup(struct tmpval *t)
{
	free(t->items);
	free(t->ptrs);
	free(t->buf);
	toml_free(t->doc);
}

/* Parses "[...]" or "{...}" as a TOML value into t. */
static int
tmp_literal(struct cfg__ld *ld, struct tmpval *t, const char *text,
    const char *ipath, const char *where, const struct toml_value **out)
{
	char err[256], *doc = xasprintf("v = %s", text);
	int r;

	r = toml_parse(doc, strlen(doc), where, &t->doc, err, sizeof(err));
	free(doc);
	if (r != 0) {
		cfg_diag_error(ld->d, "%s: %s: invalid TOML value: %s", where,
		    ipath, err);
		return ERR_INVAL;
	}
	*out = toml_get(t->doc, "v");
	return 0;
}

/* Splits a comma-separated list (trimmed, empties dropped) into t->v. */
static void
tmp_csv(struct tmpval *t, const char *text)
{
	char *p = NULL, *tok = NULL, *save = NULL, *e = NULL;
	size_t n = 0;

	t->buf = xstrdup(text);
	t->items = xcalloc(strlen(text) + 1, sizeof(*t->items));
	t->ptrs = xcalloc(strlen(text) + 1, sizeof(*t->ptrs));
	for (p = t->buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		while (isspace((unsigned char)*tok)) {
			tok++;
		}
		e = tok + strlen(tok);
		while (e > tok && isspace((unsigned char)e[-1])) {
			*--e = '\0';
		}
		if (*tok == '\0') {
			continue;
		}
		t->items[n].type = TOML_STRING;
		t->items[n].u.str.ptr = tok;
		t->items[n].u.str.len = strlen(tok);
		t->ptrs[n] = &t->items[n];
		n++;
	}
	t->v.type = TOML_ARRAY;
	t->v.u.arr.items = t->ptrs;
	t->v.u.arr.n = n;
}

/* Converts text to the TOML value key k expects; *out points into t. */
static int
value_from_text(struct cfg__ld *ld, const struct cfg__key *k,
    const char *text, int lower, struct tmpval *t, const char *ipath,
    const char *where, const struct toml_value **out)
{
	size_t i;

	*out = &t->v;
	switch (k->type) {
	case CK_BOOL:
	case CK_OBOOL:
		t->v.type = TOML_BOOL;
		if (cfg__parse_bool(text, &t->v.u.b) != 0) {
			cfg_diag_error(ld->d, "%s: %s: expected a boolean "
			    "(true/false, yes/no, on/off, 1/0), found \"%s\"",
			    where, ipath, text);
			return ERR_INVAL;
		}
		return 0;
	case CK_U32:
	case CK_U64:
	case CK_I64:
	case CK_OU32:
	case CK_OU64:
		t->v.type = TOML_INTEGER;
		if (parse_i64(text, &t->v.u.i) != 0) {
			cfg_diag_error(ld->d, "%s: %s: expected an integer, "
			    "found \"%s\"", where, ipath, text);
			return ERR_INVAL;
		}
		return 0;
	case CK_STRV:
		if (text[0] == '[') {
			return tmp_literal(ld, t, text, ipath, where, out);
		}
		tmp_csv(t, text);
		return 0;
	case CK_MAP:
		return tmp_literal(ld, t, text, ipath, where, out);
	default:
		t->buf = xstrdup(text);
		for (i = 0; lower && t->buf[i] != '\0'; i++) {
			t->buf[i] = (char)tolower((unsigned char)t->buf[i]);
		}
		t->v.type = TOML_STRING;
		t->v.u.str.ptr = t->buf;
		t->v.u.str.len = strlen(t->buf);
		return 0;
	}
}

/* Reports an unknown path component with a suggestion. */
static int
unknown_key(struct cfg__ld *ld, const struct cfg__sect *s, const char *ip,
    const char *comp, const char *where)
{
	const char *sug = cfg__suggest(s, comp);

	if (sug != NULL) {
		cfg_diag_error(ld->d, "%s: unknown key '%s'; did you mean "
		    "'%s'?", where, ip, sug);
	} else {
		cfg_diag_error(ld->d, "%s: unknown key '%s'", where, ip);
	}
	return ERR_INVAL;
}

/* Appends ".comp" (or "comp") to the heap path *ip. */
static void
path_push(char **ip, const char *comp, size_t len)
{
	char *n = **ip != '\0' ? xasprintf("%s.%.*s", *ip, (int)len, comp) :
	    xasprintf("%.*s", (int)len, comp);

	free(*ip);
	*ip = n;
}

/* Steps into array element comp of key k; NULL (reported) if invalid. */
static void *
step_index(struct cfg__ld *ld, const struct cfg__key *k, void *base,
    const char *comp, size_t len, const char *ip, const char *where)
{
	char **arr = (char **)(void *)((char *)base + k->off);
	size_t n = *(size_t *)(void *)((char *)base + k->off_n), idx;
	char buf[24];

	if (len == 0 || len > 9 || strspn(comp, "0123456789") < len) {
		cfg_diag_error(ld->d, "%s: %s: expected an index (as in "
		    "%s.0.KEY)", where, ip, ip);
		return NULL;
	}
	memcpy(buf, comp, len);
	buf[len] = '\0';
	idx = (size_t)strtoul(buf, NULL, 10);
	if (idx > n) {
		cfg_diag_error(ld->d, "%s: %s: index %zu is out of range (%zu "
		    "entries; %zu appends one)", where, ip, idx, n, n);
		return NULL;
	}
	if (idx == n) {
		return cfg__array_append(ld, k, base);
	}
	return *arr + idx * k->sub->size;
}

/*
 * Sets the key at a dotted path ("limits.max_connections",
 * "users.0.acl.allow", "users.1.aliases.ll") from text, converting it to
 * the key's type. lower_enums lower-cases enum values (environment).
 * Returns 0 or ERR_INVAL with the problem reported.
 */
int
cfg__set_path(struct cfg__ld *ld, const char *path, const char *value,
    const char *where, int lower_enums)
{
	const struct cfg__sect *s = &cfg__root;
	const struct cfg__key *k = NULL;
	const struct toml_value *tv = NULL;
	struct toml_value mapv, *mapvp = NULL;
	struct toml_kv mkv;
	struct tmpval t;
	const char *p = path, *e = NULL;
	char *ip = xstrdup(""), *mkey = NULL;
	void *base = ld->c;
	size_t len;
	int r = ERR_INVAL;

	memset(&t, 0, sizeof(t));
	for (;;) {
		e = strchr(p, '.');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		path_push(&ip, p, len);
		if ((k = cfg__key_find(s, p, len)) == NULL) {
			mkey = xstrndup(p, len);
			unknown_key(ld, s, ip, mkey, where);
			goto out;
		}
		p += len + (e != NULL);
		if (k->type == CK_ARRAY && e != NULL) {
			e = strchr(p, '.');
			len = e != NULL ? (size_t)(e - p) : strlen(p);
			if ((base = step_index(ld, k, base, p, len, ip,
			    where)) == NULL) {
				goto out;
			}
			path_push(&ip, p, len);
			p += len + (e != NULL);
			s = k->sub;
			if (e != NULL) {
				continue;
			}
		} else if (k->type == CK_TABLE && e != NULL) {
			base = (char *)base + k->off;
			s = k->sub;
			continue;
		}
		break;
	}
	if (k->type == CK_TABLE || k->type == CK_ARRAY) {
		cfg_diag_error(ld->d, "%s: %s is a table; set one of its keys "
		    "(as in %s.KEY)", where, ip, ip);
		goto out;
	}
	if (e != NULL && k->type != CK_MAP) {
		unknown_key(ld, s, ip, "", where);
		goto out;
	}
	if (cfg__pending_check(ld, ip, where) != 0) {
		goto out;
	}
	if (e != NULL) {
		/* One entry of a map: users.0.aliases.NAME=VALUE. */
		memset(&mapv, 0, sizeof(mapv));
		mkey = xstrdup(p);
		t.buf = xstrdup(value);
		t.items = xcalloc(1, sizeof(*t.items));
		t.items[0].type = TOML_STRING;
		t.items[0].u.str.ptr = t.buf;
		t.items[0].u.str.len = strlen(t.buf);
		mkv.key = mkey;
		mkv.keylen = strlen(mkey);
		mkv.val = &t.items[0];
		mapv.type = TOML_TABLE;
		mapv.u.tab.kv = &mkv;
		mapv.u.tab.n = 1;
		mapvp = &mapv;
		tv = mapvp;
	} else if (value_from_text(ld, k, value, lower_enums, &t, ip, where,
	    &tv) != 0) {
		goto out;
	}
	cfg__origin_add(ld, ip, where);
	r = cfg__set_value(ld, k, (char *)base + k->off, tv, ip, where);
out:
	tmpval_cleanup(&t);
	free(mkey);
	free(ip);
	return r;
}

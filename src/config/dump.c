/*
 * The effective configuration as TOML or JSON, with secrets redacted on
 * request, and the key reference of docs/CONFIG.md, all generated from the
 * schema.
 */
#include "config/config_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/values.h"
#include "core/err.h"
#include "core/util.h"

struct dump {
	FILE		*f;
	int		 redact;
	int		 hide_pending;	/* comment out pending keys */
};

/* Field address helpers. */
#define FLD(base, k, T)	((T *)(void *)((char *)(base) + (k)->off))

/* Returns the value to print for a string key: "***", a redacted URL, or
 * the string itself. *tmp receives any heap copy to free. */
static const char *
shown(const struct dump *dp, const struct cfg__key *k, const char *s,
    char **tmp)
{
	size_t n;

	*tmp = NULL;
	if (!dp->redact || s == NULL) {
		return s;
	}
	if (k->flags & CFG__F_SECRET) {
		return "***";
	}
	if (k->flags & CFG__F_URL) {
		n = strlen(s) + 16;
		*tmp = xmalloc(n);
		cfg_redact_url(s, *tmp, n);
		if (k->flags & CFG__F_URLPATH) {
			cfg_redact_url_path(*tmp, n);
		}
		return *tmp;
	}
	return s;
}

/* Writes s as a TOML basic string. */
static void
toml_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else if (*p == '\t') {
			fputs("\\t", f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04X", *p);
		} else {
			fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Writes one scalar key line (nothing for unset optionals). */
static void
toml_scalar(const struct dump *dp, const struct cfg__key *k,
    const void *base, const char *pfx)
{
	const char *s = NULL;
	char *tmp = NULL;
	size_t i;

	switch (k->type) {
	case CK_BOOL:
		fprintf(dp->f, "%s%s = %s\n", pfx, k->name,
		    *FLD(base, k, const int) ? "true" : "false");
		break;
	case CK_OBOOL:
		if (FLD(base, k, const struct cfg_obool)->set) {
			fprintf(dp->f, "%s%s = %s\n", pfx, k->name,
			    FLD(base, k, const struct cfg_obool)->v ? "true" :
			    "false");
		}
		break;
	case CK_U32:
		fprintf(dp->f, "%s%s = %" PRIu32 "\n", pfx, k->name,
		    *FLD(base, k, const uint32_t));
		break;
	case CK_U64:
		fprintf(dp->f, "%s%s = %" PRIu64 "\n", pfx, k->name,
		    *FLD(base, k, const uint64_t));
		break;
	case CK_I64:
		fprintf(dp->f, "%s%s = %" PRId64 "\n", pfx, k->name,
		    *FLD(base, k, const int64_t));
		break;
	case CK_OU32:
		if (FLD(base, k, const struct cfg_ou32)->set) {
			fprintf(dp->f, "%s%s = %" PRIu32 "\n", pfx, k->name,
			    FLD(base, k, const struct cfg_ou32)->v);
		}
		break;
	case CK_OU64:
		if (FLD(base, k, const struct cfg_ou64)->set) {
			fprintf(dp->f, "%s%s = %" PRIu64 "\n", pfx, k->name,
			    FLD(base, k, const struct cfg_ou64)->v);
		}
		break;
	case CK_ENUM:
		fprintf(dp->f, "%s%s = \"%s\"\n", pfx, k->name,
		    k->enums[*FLD(base, k, const int)]);
		break;
	case CK_OENUM:
		if (FLD(base, k, const struct cfg_oenum)->set) {
			fprintf(dp->f, "%s%s = \"%s\"\n", pfx, k->name,
			    k->enums[FLD(base, k, const struct cfg_oenum)->v]);
		}
		break;
	case CK_STRV:
		fprintf(dp->f, "%s%s = [", pfx, k->name);
		for (i = 0; i < FLD(base, k, const struct cfg_strv)->n; i++) {
			fputs(i > 0 ? ", " : "", dp->f);
			toml_str(dp->f, FLD(base, k, const struct cfg_strv)->v[i]);
		}
		fputs("]\n", dp->f);
		break;
	case CK_MAP:
		fprintf(dp->f, "%s%s = {", pfx, k->name);
		for (i = 0; i < FLD(base, k, const struct cfg_map)->n; i++) {
			fputs(i > 0 ? ", " : " ", dp->f);
			toml_str(dp->f, FLD(base, k, const struct cfg_map)->keys[i]);
			fputs(" = ", dp->f);
			toml_str(dp->f, FLD(base, k, const struct cfg_map)->vals[i]);
		}
		fputs(FLD(base, k, const struct cfg_map)->n > 0 ? " }\n" : "}\n",
		    dp->f);
		break;
	default:
		if ((s = shown(dp, k, *FLD(base, k, char *const), &tmp)) !=
		    NULL) {
			fprintf(dp->f, "%s%s = ", pfx, k->name);
			toml_str(dp->f, s);
			fputc('\n', dp->f);
		}
		free(tmp);
		break;
	}
}

/* Comment prefix for a key at upath: "" or "# " when pending. */
static const char *
prefix_for(const struct dump *dp, const char *upath, int commented)
{
	if (commented || (dp->hide_pending && cfg_key_pending(upath) != 0)) {
		return "# ";
	}
	return "";
}

/* Writes a table: its header, scalars, then sub-tables and arrays. */
static void
toml_table(const struct dump *dp, const struct cfg__sect *s, const void *base,
    const char *upath, int array_elem, int commented)
{
	const struct cfg__key *k = NULL;
	char *sub = NULL;
	const char *pfx = NULL;
	size_t i, j, n;
	int cm;

	if (upath[0] != '\0') {
		fprintf(dp->f, "\n%s%s%s%s\n", commented ? "# " : "",
		    array_elem ? "[[" : "[", upath, array_elem ? "]]" : "]");
	}
	for (i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		if (k->type == CK_TABLE || k->type == CK_ARRAY) {
			continue;
		}
		sub = upath[0] != '\0' ? xasprintf("%s.%s", upath, k->name) :
		    xstrdup(k->name);
		pfx = prefix_for(dp, sub, commented);
		toml_scalar(dp, k, base, pfx);
		free(sub);
	}
	for (i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		if (k->type != CK_TABLE && k->type != CK_ARRAY) {
			continue;
		}
		sub = upath[0] != '\0' ? xasprintf("%s.%s", upath, k->name) :
		    xstrdup(k->name);
		cm = prefix_for(dp, sub, commented)[0] != '\0';
		if (k->type == CK_TABLE) {
			toml_table(dp, k->sub, (const char *)base + k->off, sub,
			    0, cm);
		} else {
			n = *(const size_t *)(const void *)((const char *)base +
			    k->off_n);
			for (j = 0; j < n; j++) {
				toml_table(dp, k->sub, *(char *const *)(const
				    void *)((const char *)base + k->off) +
				    j * k->sub->size, sub, 1, cm);
			}
		}
		free(sub);
	}
}

/* A JSON string, replacing bytes that are not valid UTF-8. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);
	char *c = NULL;
	size_t i;

	if (j != NULL) {
		return j;
	}
	c = xstrdup(s);
	for (i = 0; c[i] != '\0'; i++) {
		if ((unsigned char)c[i] >= 0x80) {
			c[i] = '?';
		}
	}
	j = json_string(c);
	free(c);
	return j;
}

static json_t *json_table(const struct dump *, const struct cfg__sect *,
    const void *);

/* The JSON value of one key. */
static json_t *
json_key(const struct dump *dp, const struct cfg__key *k, const void *base)
{
	json_t *j = NULL;
	const char *s = NULL;
	char *tmp = NULL;
	size_t i, n;

	switch (k->type) {
	case CK_BOOL:
		return json_boolean(*FLD(base, k, const int));
	case CK_OBOOL:
		return FLD(base, k, const struct cfg_obool)->set ? json_boolean(
		    FLD(base, k, const struct cfg_obool)->v) : json_null();
	case CK_U32:
		return json_integer(*FLD(base, k, const uint32_t));
	case CK_U64:
		return json_integer((json_int_t)*FLD(base, k, const uint64_t));
	case CK_I64:
		return json_integer(*FLD(base, k, const int64_t));
	case CK_OU32:
		return FLD(base, k, const struct cfg_ou32)->set ? json_integer(
		    FLD(base, k, const struct cfg_ou32)->v) : json_null();
	case CK_OU64:
		return FLD(base, k, const struct cfg_ou64)->set ? json_integer(
		    (json_int_t)FLD(base, k, const struct cfg_ou64)->v) :
		    json_null();
	case CK_ENUM:
		return json_string(k->enums[*FLD(base, k, const int)]);
	case CK_OENUM:
		return FLD(base, k, const struct cfg_oenum)->set ? json_string(
		    k->enums[FLD(base, k, const struct cfg_oenum)->v]) :
		    json_null();
	case CK_STRV:
		j = json_array();
		for (i = 0; i < FLD(base, k, const struct cfg_strv)->n; i++) {
			json_array_append_new(j, jstr(FLD(base, k,
			    const struct cfg_strv)->v[i]));
		}
		return j;
	case CK_MAP:
		j = json_object();
		for (i = 0; i < FLD(base, k, const struct cfg_map)->n; i++) {
			json_object_set_new(j, FLD(base, k,
			    const struct cfg_map)->keys[i], jstr(FLD(base, k,
			    const struct cfg_map)->vals[i]));
		}
		return j;
	case CK_TABLE:
		return json_table(dp, k->sub, (const char *)base + k->off);
	case CK_ARRAY:
		j = json_array();
		n = *(const size_t *)(const void *)((const char *)base +
		    k->off_n);
		for (i = 0; i < n; i++) {
			json_array_append_new(j, json_table(dp, k->sub,
			    *(char *const *)(const void *)((const char *)base +
			    k->off) + i * k->sub->size));
		}
		return j;
	default:
		s = shown(dp, k, *FLD(base, k, char *const), &tmp);
		j = s != NULL ? jstr(s) : json_null();
		free(tmp);
		return j;
	}
}

/* A JSON object holding every key of a section. */
static json_t *
json_table(const struct dump *dp, const struct cfg__sect *s, const void *base)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		json_object_set_new(o, s->keys[i].name,
		    json_key(dp, &s->keys[i], base));
	}
	return o;
}

int
cfg_dump(const struct cfg *c, enum cfg_format fmt, int redact, FILE *f)
{
	struct dump dp = { f, redact, !c->allow_pending };
	json_t *root = NULL;
	int r = 0;

	if (fmt == CFG_FMT_JSON) {
		root = json_table(&dp, &cfg__root, c);
		if (json_dumpf(root, f, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER) != 0) {
			r = ERR_IO;
		}
		fputc('\n', f);
		json_decref(root);
	} else {
		fprintf(f, "# Effective configuration of sks5 (source: %s).\n"
		    "# Lines starting with \"# \" are keys that are not "
		    "implemented yet.\n", c->source);
		toml_table(&dp, &cfg__root, c, "", 0, 0);
	}
	if (fflush(f) != 0 || ferror(f)) {
		r = ERR_IO;
	}
	return r;
}

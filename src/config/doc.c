/*
 * The key reference of docs/CONFIG.md, generated from the schema so the
 * documentation cannot miss a key.
 */
#include "config/config_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Writes the type column of a key. */
static void
doc_type(FILE *f, const struct cfg__key *k)
{
	static const char *const names[] = {
		[CK_BOOL] = "bool", [CK_U32] = "u32", [CK_U64] = "u64",
		[CK_I64] = "i64", [CK_STR] = "string", [CK_OSTR] = "string?",
		[CK_PATH] = "path", [CK_OPATH] = "path?",
		[CK_STRV] = "[string]", [CK_MAP] = "map string→string",
		[CK_TABLE] = "table", [CK_ARRAY] = "array of tables",
		[CK_OBOOL] = "bool?", [CK_OU32] = "u32?", [CK_OU64] = "u64?",
		[CK_ENUM] = "enum", [CK_OENUM] = "enum?",
	};
	size_t i;

	fputs(names[k->type], f);
	if (k->enums != NULL) {
		fputs(" (", f);
		for (i = 0; k->enums[i] != NULL; i++) {
			fprintf(f, "%s`%s`", i > 0 ? ", " : "", k->enums[i]);
		}
		fputc(')', f);
	}
}

/* Writes the default column of a key. */
static void
doc_default(FILE *f, const struct cfg__key *k)
{
	switch (k->type) {
	case CK_BOOL:
		fputs(k->idef ? "`true`" : "`false`", f);
		break;
	case CK_U32:
	case CK_U64:
	case CK_I64:
		fprintf(f, "`%" PRId64 "`", k->idef);
		break;
	case CK_ENUM:
		fprintf(f, "`%s`", k->enums[k->idef]);
		break;
	case CK_STR:
	case CK_PATH:
		fprintf(f, "`\"%s\"`", k->sdef);
		break;
	case CK_STRV:
		fputs("`[]`", f);
		break;
	case CK_MAP:
		fputs("`{}`", f);
		break;
	case CK_TABLE:
	case CK_ARRAY:
		fputs("—", f);
		break;
	default:
		fputs("unset", f);
		break;
	}
}

/* Writes the bounds of an integer key when it has any. */
static void
doc_range(FILE *f, const struct cfg__key *k)
{
	int64_t top = k->type == CK_U32 ? (int64_t)UINT32_MAX : INT64_MAX;

	if (k->max < top) {
		fprintf(f, " (range %" PRId64 "..%" PRId64 ")", k->min, k->max);
	} else if (k->min > 0) {
		fprintf(f, " (at least %" PRId64 ")", k->min);
	}
}

/* Writes one table row per key of s, then recurses into sub-tables. */
static void
doc_sect(FILE *f, const struct cfg__sect *s, const char *upath)
{
	const struct cfg__key *k = NULL;
	const char *env = NULL;
	char *p = NULL;
	size_t i;
	int issue, rows = 0;

	for (i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		if (k->type == CK_TABLE || k->type == CK_ARRAY) {
			continue;
		}
		if (rows++ == 0) {
			fprintf(f, "\n### `%s`\n\n| Key | Type | Default | "
			    "Env | Status | Description |\n|---|---|---|---|---"
			    "|---|\n", upath);
		}
		p = xasprintf("%s.%s", upath, k->name);
		fprintf(f, "| `%s` | ", p);
		doc_type(f, k);
		fputs(" | ", f);
		doc_default(f, k);
		env = cfg__env_var_for(p);
		fprintf(f, " | %s%s%s | ", env != NULL ? "`" : "",
		    env != NULL ? env : "—", env != NULL ? "`" : "");
		issue = cfg_key_pending(p);
		if (issue > 0) {
			fprintf(f, "pending #%d", issue);
		} else if (issue < 0) {
			fputs("pending (mgmt)", f);
		} else {
			fputs("implemented", f);
		}
		fprintf(f, " | %s", k->help);
		if (k->type == CK_U32 || k->type == CK_U64) {
			doc_range(f, k);
		}
		fputs(k->flags & CFG__F_SECRET ? " Secret: shown as `***`. |\n" :
		    " |\n", f);
		free(p);
	}
	for (i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		if (k->type != CK_TABLE && k->type != CK_ARRAY) {
			continue;
		}
		p = upath[0] != '\0' ? xasprintf("%s.%s", upath, k->name) :
		    xstrdup(k->name);
		doc_sect(f, k->sub, p);
		free(p);
	}
}

int
cfg_doc_markdown(FILE *f)
{
	doc_sect(f, &cfg__root, "");
	return ferror(f) ? ERR_IO : 0;
}

/* Strict reading of the persistence files with jansson; see json.h. */
#include "persist/json.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "persist/persist_int.h"

json_t *
persist__parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = NULL, *f = NULL;

	if (len > PERSIST_STATE_MAX) {
		snprintf(err, errlen, "file larger than %u bytes",
		    PERSIST_STATE_MAX);
		return NULL;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		snprintf(err, errlen, "line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "the top level is not an object");
		goto fail;
	}
	f = json_object_get(doc, "format");
	if (!json_is_integer(f) || json_integer_value(f) < 1) {
		snprintf(err, errlen, "\"format\" is missing or not a positive "
		    "integer");
		goto fail;
	}
	if (json_integer_value(f) > PERSIST_FORMAT) {
		snprintf(err, errlen, "format %lld is newer than this build "
		    "reads (%d)", (long long)json_integer_value(f),
		    PERSIST_FORMAT);
		goto fail;
	}
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

int
persist__jstr(json_t *o, const char *key, size_t max, const char **out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max) {
		snprintf(err, errlen, "\"%s\" must be a string of 1 to %zu "
		    "bytes", key, max);
		return ERR_PROTO;
	}
	*out = json_string_value(v);
	return 0;
}

/* Checks an integer member v (may be NULL when optional). */
static int
int_check(json_t *v, const char *key, int64_t lo, int64_t hi, int opt,
    uint64_t *out, char *err, size_t errlen)
{
	json_int_t x;

	*out = 0;
	if (v == NULL && opt)
		return 0;
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "\"%s\" must be an integer", key);
		return ERR_PROTO;
	}
	x = json_integer_value(v);
	if (x < lo || x > hi) {
		snprintf(err, errlen, "\"%s\" is out of range (%lld)", key,
		    (long long)x);
		return ERR_PROTO;
	}
	*out = (uint64_t)x;
	return 0;
}

int
persist__jint(json_t *o, const char *key, int64_t lo, int64_t hi,
    uint64_t *out, char *err, size_t errlen)
{
	return int_check(json_object_get(o, key), key, lo, hi, 0, out, err,
	    errlen);
}

int
persist__jopt_int(json_t *o, const char *key, int64_t lo, int64_t hi,
    uint64_t *out, char *err, size_t errlen)
{
	return int_check(json_object_get(o, key), key, lo, hi, 1, out, err,
	    errlen);
}

int
persist__jstrings(json_t *v, size_t max_n, size_t max_len, const char *what,
    char *err, size_t errlen)
{
	const char *k = NULL;
	json_t *e = NULL;
	size_t i;

	if (json_is_array(v)) {
		if (json_array_size(v) > max_n)
			goto count;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    json_string_length(e) > max_len)
				goto bad;
		}
		return 0;
	}
	if (json_is_object(v)) {
		if (json_object_size(v) > max_n)
			goto count;
		json_object_foreach(v, k, e) {
			if (k[0] == '\0' || strlen(k) > max_len ||
			    !json_is_string(e) ||
			    json_string_length(e) == 0 ||
			    json_string_length(e) > max_len)
				goto bad;
		}
		return 0;
	}
bad:
	snprintf(err, errlen, "\"%s\" must hold strings of at most %zu bytes",
	    what, max_len);
	return ERR_PROTO;
count:
	snprintf(err, errlen, "\"%s\" holds more than %zu entries", what,
	    max_n);
	return ERR_PROTO;
}

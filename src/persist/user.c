/*
 * Per-user data files and the server.bookmarks_path file. Pure: text in,
 * values out; strict like state.c.
 *
 * users/<file>.json:
 *   {"format":1, "user":"alice", "last_active":SECONDS,
 *    "history":["ls", ...], "bookmarks":{"web":"example.com:443"},
 *    "aliases":{"ll":"ls -l"}}
 * bookmarks_path:
 *   {"format":1, "users":{"alice":{"web":"example.com:443"}, ...}}
 *
 * File names keep [A-Za-z0-9_-] of the user name (at most 64 of them)
 * and replace anything else by '_'; when that changed the name, a hash
 * of the exact name is appended, so two distinct users never share a
 * file. The name inside the file is the authority.
 */
#include "persist/persist_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"
#include "persist/json.h"

#define FILE_NAME_KEEP	64

char *
persist__user_file(const char *user)
{
	char safe[FILE_NAME_KEEP + 1];
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p = NULL;
	size_t i, n = strlen(user);
	int changed = n > FILE_NAME_KEEP || n == 0;

	for (i = 0; i < n && i < FILE_NAME_KEEP; i++) {
		char c = user[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			safe[i] = c;
		} else {
			safe[i] = '_';
			changed = 1;
		}
	}
	safe[i] = '\0';
	if (!changed)
		return xasprintf("%s.json", safe);
	for (p = (const unsigned char *)user; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return xasprintf("%s~%016llx.json", safe, (unsigned long long)h);
}

void
persist__user_clear(struct shell_store_user *u)
{
	size_t i;
	int k;

	free(u->name);
	for (i = 0; i < u->nhist; i++)
		free(u->hist[i]);
	free(u->hist);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < u->kv[k].n; i++) {
			free(u->kv[k].names[i]);
			free(u->kv[k].values[i]);
		}
		free(u->kv[k].names);
		free(u->kv[k].values);
	}
	memset(u, 0, sizeof(*u));
}

/* An object of name -> value from parallel arrays. */
static json_t *
kv_object(char **names, char **values, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, names[i], json_string(values[i]));
	return o;
}

char *
persist__user_encode(const struct shell_store_user *u, int with_bm,
    size_t *len)
{
	json_t *doc = json_object(), *h = json_array();
	size_t i;

	for (i = 0; i < u->nhist; i++)
		json_array_append_new(h, json_string(u->hist[i]));
	json_object_set_new(doc, "format", json_integer(PERSIST_FORMAT));
	json_object_set_new(doc, "user", json_string(u->name));
	json_object_set_new(doc, "last_active", json_integer(u->active));
	json_object_set_new(doc, "history", h);
	if (with_bm)
		json_object_set_new(doc, "bookmarks", kv_object(
		    u->kv[SHELL_STORE_BOOKMARKS].names,
		    u->kv[SHELL_STORE_BOOKMARKS].values,
		    u->kv[SHELL_STORE_BOOKMARKS].n));
	json_object_set_new(doc, "aliases", kv_object(
	    u->kv[SHELL_STORE_ALIASES].names,
	    u->kv[SHELL_STORE_ALIASES].values,
	    u->kv[SHELL_STORE_ALIASES].n));
	return persist__dump(doc, len);
}

/* Copies a checked object of strings into kv k of u. */
static void
kv_take(json_t *o, struct shell_store_user *u, int k)
{
	const char *name = NULL;
	json_t *v = NULL;
	size_t n = json_object_size(o), i = 0;

	u->kv[k].names = xcalloc(n + 1, sizeof(char *));
	u->kv[k].values = xcalloc(n + 1, sizeof(char *));
	json_object_foreach(o, name, v) {
		u->kv[k].names[i] = xstrdup(name);
		u->kv[k].values[i] = xstrdup(json_string_value(v));
		i++;
	}
	u->kv[k].n = i;
}

int
persist__user_decode(const char *text, size_t len,
    struct shell_store_user *out, char *err, size_t errlen)
{
	json_t *doc = NULL, *h = NULL, *bm = NULL, *al = NULL, *e = NULL;
	const char *name = NULL;
	uint64_t active;
	size_t i;
	int r = ERR_PROTO;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if ((doc = persist__parse(text, len, err, errlen)) == NULL)
		return ERR_PROTO;
	h = json_object_get(doc, "history");
	bm = json_object_get(doc, "bookmarks");
	al = json_object_get(doc, "aliases");
	if (persist__jstr(doc, "user", PERSIST_MAX_NAME, &name, err,
	    errlen) != 0 ||
	    persist__jopt_int(doc, "last_active", 0, INT64_MAX / 1000,
	    &active, err, errlen) != 0)
		goto out;
	if ((h != NULL && (!json_is_array(h) || persist__jstrings(h,
	    PERSIST_MAX_HISTORY, PERSIST_MAX_LINE, "history", err,
	    errlen) != 0)) ||
	    (bm != NULL && (!json_is_object(bm) || persist__jstrings(bm,
	    PERSIST_MAX_KV, PERSIST_MAX_LINE, "bookmarks", err,
	    errlen) != 0)) ||
	    (al != NULL && (!json_is_object(al) || persist__jstrings(al,
	    PERSIST_MAX_KV, PERSIST_MAX_LINE, "aliases", err,
	    errlen) != 0))) {
		if (err[0] == '\0')
			snprintf(err, errlen, "\"history\" must be an array, "
			    "\"bookmarks\" and \"aliases\" objects");
		goto out;
	}
	out->name = xstrdup(name);
	out->active = (int64_t)active;
	out->hist = xcalloc(json_array_size(h) + 1, sizeof(char *));
	json_array_foreach(h, i, e)
		out->hist[out->nhist++] = xstrdup(json_string_value(e));
	kv_take(bm, out, SHELL_STORE_BOOKMARKS);
	kv_take(al, out, SHELL_STORE_ALIASES);
	r = 0;
out:
	json_decref(doc);
	return r;
}

char *
persist__bookmarks_encode(const struct shell_store_user *v, size_t n,
    size_t *len)
{
	json_t *doc = json_object(), *users = json_object();
	const struct shell_store_user *u = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		u = &v[i];
		if (u->kv[SHELL_STORE_BOOKMARKS].n == 0)
			continue;
		json_object_set_new(users, u->name, kv_object(
		    u->kv[SHELL_STORE_BOOKMARKS].names,
		    u->kv[SHELL_STORE_BOOKMARKS].values,
		    u->kv[SHELL_STORE_BOOKMARKS].n));
	}
	json_object_set_new(doc, "format", json_integer(PERSIST_FORMAT));
	json_object_set_new(doc, "users", users);
	return persist__dump(doc, len);
}

int
persist__bookmarks_decode(const char *text, size_t len,
    struct shell_store_user **out, size_t *n, char *err, size_t errlen)
{
	struct shell_store_user *v = NULL;
	json_t *doc = NULL, *users = NULL, *o = NULL;
	const char *name = NULL;
	size_t k = 0, i;
	int r = ERR_PROTO;

	*out = NULL;
	*n = 0;
	err[0] = '\0';
	if ((doc = persist__parse(text, len, err, errlen)) == NULL)
		return ERR_PROTO;
	users = json_object_get(doc, "users");
	if (users != NULL && (!json_is_object(users) ||
	    json_object_size(users) > PERSIST_MAX_USERS)) {
		snprintf(err, errlen, "\"users\" must be an object of at most "
		    "%u users", PERSIST_MAX_USERS);
		goto out;
	}
	json_object_foreach(users, name, o) {
		if (name[0] == '\0' || strlen(name) > PERSIST_MAX_NAME ||
		    !json_is_object(o) || persist__jstrings(o, PERSIST_MAX_KV,
		    PERSIST_MAX_LINE, name, err, errlen) != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "each user must map to "
				    "an object of bookmarks");
			goto out;
		}
	}
	v = xcalloc(json_object_size(users) + 1, sizeof(*v));
	json_object_foreach(users, name, o) {
		v[k].name = xstrdup(name);
		kv_take(o, &v[k], SHELL_STORE_BOOKMARKS);
		v[k].kv[SHELL_STORE_ALIASES].names = xcalloc(1,
		    sizeof(char *));
		v[k].kv[SHELL_STORE_ALIASES].values = xcalloc(1,
		    sizeof(char *));
		v[k].hist = xcalloc(1, sizeof(char *));
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
	r = 0;
out:
	for (i = 0; v != NULL && i < k; i++)
		persist__user_clear(&v[i]);
	free(v);
	json_decref(doc);
	return r;
}

void
persist__strv_drop(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i]);
		v[i] = NULL;
	}
}

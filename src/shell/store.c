/*
 * The per-user store: command history, bookmarks and runtime aliases of
 * every user, shared by all sessions of the process. One mutex guards
 * everything; every accessor copies out, so no pointer into the store is
 * ever held without the lock.
 */
#include "shell/shell_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"

struct shell_kv {
	char	**names;	/* sorted by strcmp */
	char	**values;
	size_t	  n;
};

struct shell_udata {
	char		*name;
	char		**hist;		/* oldest first */
	size_t		 nhist;
	struct shell_kv	 kv[2];		/* SHELL_KV_BOOKMARK, SHELL_KV_ALIAS */
	int		 dirty;		/* changed since the last export */
	unsigned	 refs;		/* sessions using it */
	int64_t		 active;	/* last use, seconds since the epoch */
};

struct shell_store {
	pthread_mutex_t		 lock;
	struct shell_udata	**users;
	size_t			 nusers;
	uint32_t		 history_max;
	uint32_t		 kv_max;
};

struct shell_store *
shell_store_new(uint32_t history_max, uint32_t bookmarks_max)
{
	struct shell_store *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->lock, NULL);
	st->history_max = history_max > 0 ? history_max :
	    SHELL_HISTORY_DEFAULT;
	st->kv_max = bookmarks_max > 0 ? bookmarks_max :
	    SHELL_BOOKMARKS_DEFAULT;
	return st;
}

void
shell__strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i]);
	}
	free(v);
}

void
shell_store_free(struct shell_store *st)
{
	struct shell_udata *u = NULL;
	size_t i;
	int k;

	if (st == NULL) {
		return;
	}
	for (i = 0; i < st->nusers; i++) {
		u = st->users[i];
		free(u->name);
		shell__strv_free(u->hist, u->nhist);
		for (k = 0; k < 2; k++) {
			shell__strv_free(u->kv[k].names, u->kv[k].n);
			shell__strv_free(u->kv[k].values, u->kv[k].n);
		}
		free(u);
	}
	free(st->users);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Finds or creates the data of user (lock held). */
static struct shell_udata *
store_find(struct shell_store *st, const char *user)
{
	struct shell_udata *u = NULL;
	size_t i;

	for (i = 0; i < st->nusers; i++) {
		if (strcmp(st->users[i]->name, user) == 0) {
			return st->users[i];
		}
	}
	u = xcalloc(1, sizeof(*u));
	u->name = xstrdup(user);
	st->users = xreallocarray(st->users, st->nusers + 1,
	    sizeof(*st->users));
	st->users[st->nusers++] = u;
	return u;
}

struct shell_udata *
shell__store_user(struct shell_store *st, const char *user)
{
	struct shell_udata *u = NULL;

	pthread_mutex_lock(&st->lock);
	u = store_find(st, user);
	u->refs++;
	u->active = (int64_t)time(NULL);
	u->dirty = 1;
	pthread_mutex_unlock(&st->lock);
	return u;
}

void
shell__store_release(struct shell_store *st, struct shell_udata *u)
{
	pthread_mutex_lock(&st->lock);
	if (u->refs > 0) {
		u->refs--;
	}
	u->active = (int64_t)time(NULL);
	pthread_mutex_unlock(&st->lock);
}

void
shell__hist_add(struct shell_store *st, struct shell_udata *u,
    const char *line)
{
	const char *p = line;

	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (*p == '\0') {
		return;
	}
	pthread_mutex_lock(&st->lock);
	if (u->nhist == 0 || strcmp(u->hist[u->nhist - 1], line) != 0) {
		if (u->nhist >= st->history_max) {
			free(u->hist[0]);
			memmove(u->hist, u->hist + 1,
			    (u->nhist - 1) * sizeof(*u->hist));
			u->nhist--;
		}
		u->hist = xreallocarray(u->hist, u->nhist + 1,
		    sizeof(*u->hist));
		u->hist[u->nhist++] = xstrdup(line);
		u->dirty = 1;
	}
	pthread_mutex_unlock(&st->lock);
}

char **
shell__hist_copy(struct shell_store *st, struct shell_udata *u, size_t *n)
{
	char **v = NULL;
	size_t i;

	pthread_mutex_lock(&st->lock);
	v = xcalloc(u->nhist + 1, sizeof(*v));
	for (i = 0; i < u->nhist; i++) {
		v[i] = xstrdup(u->hist[i]);
	}
	*n = u->nhist;
	pthread_mutex_unlock(&st->lock);
	return v;
}

void
shell__hist_clear(struct shell_store *st, struct shell_udata *u)
{
	pthread_mutex_lock(&st->lock);
	shell__strv_free(u->hist, u->nhist);
	u->hist = NULL;
	u->nhist = 0;
	u->dirty = 1;
	pthread_mutex_unlock(&st->lock);
}

/* Index of name in kv, or where it would go (*found = 0). */
static size_t
kv_find(const struct shell_kv *kv, const char *name, int *found)
{
	size_t lo = 0, hi = kv->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(kv->names[mid], name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

int
shell__kv_set(struct shell_store *st, struct shell_udata *u, int kind,
    const char *name, const char *value)
{
	struct shell_kv *kv = &u->kv[kind];
	size_t i;
	int found, r = 0;

	pthread_mutex_lock(&st->lock);
	i = kv_find(kv, name, &found);
	if (found) {
		free(kv->values[i]);
		kv->values[i] = xstrdup(value);
		r = 1;
	} else if (kv->n >= st->kv_max) {
		r = ERR_TOO_LARGE;
	} else {
		kv->names = xreallocarray(kv->names, kv->n + 1,
		    sizeof(*kv->names));
		kv->values = xreallocarray(kv->values, kv->n + 1,
		    sizeof(*kv->values));
		memmove(kv->names + i + 1, kv->names + i,
		    (kv->n - i) * sizeof(*kv->names));
		memmove(kv->values + i + 1, kv->values + i,
		    (kv->n - i) * sizeof(*kv->values));
		kv->names[i] = xstrdup(name);
		kv->values[i] = xstrdup(value);
		kv->n++;
	}
	if (r >= 0)
		u->dirty = 1;
	pthread_mutex_unlock(&st->lock);
	return r;
}

int
shell__kv_del(struct shell_store *st, struct shell_udata *u, int kind,
    const char *name)
{
	struct shell_kv *kv = &u->kv[kind];
	size_t i;
	int found;

	pthread_mutex_lock(&st->lock);
	i = kv_find(kv, name, &found);
	if (found) {
		free(kv->names[i]);
		free(kv->values[i]);
		memmove(kv->names + i, kv->names + i + 1,
		    (kv->n - i - 1) * sizeof(*kv->names));
		memmove(kv->values + i, kv->values + i + 1,
		    (kv->n - i - 1) * sizeof(*kv->values));
		kv->n--;
		u->dirty = 1;
	}
	pthread_mutex_unlock(&st->lock);
	return found ? 0 : ERR_NOTFOUND;
}

char *
shell__kv_get(struct shell_store *st, struct shell_udata *u, int kind,
    const char *name)
{
	struct shell_kv *kv = &u->kv[kind];
	char *v = NULL;
	size_t i;
	int found;

	pthread_mutex_lock(&st->lock);
	i = kv_find(kv, name, &found);
	if (found) {
		v = xstrdup(kv->values[i]);
	}
	pthread_mutex_unlock(&st->lock);
	return v;
}

size_t
shell__kv_list(struct shell_store *st, struct shell_udata *u, int kind,
    char ***names, char ***values)
{
	struct shell_kv *kv = &u->kv[kind];
	size_t i, n;

	pthread_mutex_lock(&st->lock);
	n = kv->n;
	*names = xcalloc(n + 1, sizeof(char *));
	*values = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		(*names)[i] = xstrdup(kv->names[i]);
		(*values)[i] = xstrdup(kv->values[i]);
	}
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* ----- persistence (src/persist): export and import ----- */

/* Deep copy of one user's data into out (lock held). */
static void
udata_copy(const struct shell_udata *u, struct shell_store_user *out)
{
	size_t i;
	int k;

	memset(out, 0, sizeof(*out));
	out->name = xstrdup(u->name);
	out->active = u->active;
	out->hist = xcalloc(u->nhist + 1, sizeof(char *));
	for (i = 0; i < u->nhist; i++) {
		out->hist[i] = xstrdup(u->hist[i]);
	}
	out->nhist = u->nhist;
	for (k = 0; k < 2; k++) {
		out->kv[k].n = u->kv[k].n;
		out->kv[k].names = xcalloc(u->kv[k].n + 1, sizeof(char *));
		out->kv[k].values = xcalloc(u->kv[k].n + 1, sizeof(char *));
		for (i = 0; i < u->kv[k].n; i++) {
			out->kv[k].names[i] = xstrdup(u->kv[k].names[i]);
			out->kv[k].values[i] = xstrdup(u->kv[k].values[i]);
		}
	}
}

size_t
shell_store_export(struct shell_store *st, int all,
    struct shell_store_user **out)
{
	struct shell_store_user *v = NULL;
	size_t i, n = 0;

	pthread_mutex_lock(&st->lock);
	v = xcalloc(st->nusers + 1, sizeof(*v));
	for (i = 0; i < st->nusers; i++) {
		if (!all && !st->users[i]->dirty) {
			continue;
		}
		udata_copy(st->users[i], &v[n]);
		v[n].dirty = st->users[i]->dirty;
		if (!all) {
			st->users[i]->dirty = 0;
		}
		n++;
	}
	pthread_mutex_unlock(&st->lock);
	*out = v;
	return n;
}

void
shell_store_users_free(struct shell_store_user *v, size_t n)
{
	size_t i;
	int k;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].name);
		shell__strv_free(v[i].hist, v[i].nhist);
		for (k = 0; k < 2; k++) {
			shell__strv_free(v[i].kv[k].names, v[i].kv[k].n);
			shell__strv_free(v[i].kv[k].values, v[i].kv[k].n);
		}
	}
	free(v);
}

void
shell_store_mark_dirty(struct shell_store *st, const char *user)
{
	size_t i;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->nusers; i++) {
		if (strcmp(st->users[i]->name, user) == 0) {
			st->users[i]->dirty = 1;
		}
	}
	pthread_mutex_unlock(&st->lock);
}

void
shell_store_import(struct shell_store *st, const struct shell_store_user *in)
{
	struct shell_udata *u = NULL;
	size_t i, from = 0;
	int k;

	pthread_mutex_lock(&st->lock);
	u = store_find(st, in->name);
	pthread_mutex_unlock(&st->lock);
	if (in->nhist > st->history_max) {
		from = in->nhist - st->history_max;
	}
	for (i = from; i < in->nhist; i++) {
		shell__hist_add(st, u, in->hist[i]);
	}
	for (k = 0; k < 2; k++) {
		for (i = 0; i < in->kv[k].n; i++) {
			(void)shell__kv_set(st, u, k, in->kv[k].names[i],
			    in->kv[k].values[i]);
		}
	}
	pthread_mutex_lock(&st->lock);
	if (in->active > u->active) {
		u->active = in->active;
	}
	u->dirty = 0;
	pthread_mutex_unlock(&st->lock);
}

size_t
shell_store_drop_inactive(struct shell_store *st, int64_t before,
    char ***names)
{
	struct shell_udata *u = NULL;
	size_t i, j = 0, n = 0;
	int k;

	pthread_mutex_lock(&st->lock);
	*names = xcalloc(st->nusers + 1, sizeof(char *));
	for (i = 0; i < st->nusers; i++) {
		u = st->users[i];
		if (u->active >= before || u->refs > 0) {
			st->users[j++] = u;
			continue;
		}
		(*names)[n++] = u->name;
		shell__strv_free(u->hist, u->nhist);
		for (k = 0; k < 2; k++) {
			shell__strv_free(u->kv[k].names, u->kv[k].n);
			shell__strv_free(u->kv[k].values, u->kv[k].n);
		}
		free(u);
	}
	st->nusers = j;
	pthread_mutex_unlock(&st->lock);
	return n;
}

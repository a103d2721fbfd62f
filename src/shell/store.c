/*
 * The per-user store: command history, bookmarks and runtime aliases of
 * every user, shared by all sessions of the process. One mutex guards
 * everything; every accessor copies out, so no pointer into the store is
 * ever held without the lock.
 */
#include "shell/shell_int.h"

#include <stdlib.h>
#include <string.h>

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

struct shell_udata *
shell__store_user(struct shell_store *st, const char *user)
{
	struct shell_udata *u = NULL;
	size_t i;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->nusers; i++) {
		if (strcmp(st->users[i]->name, user) == 0) {
			u = st->users[i];
			break;
		}
	}
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->name = xstrdup(user);
		st->users = xreallocarray(st->users, st->nusers + 1,
		    sizeof(*st->users));
		st->users[st->nusers++] = u;
	}
	pthread_mutex_unlock(&st->lock);
	return u;
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

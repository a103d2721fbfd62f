/*
 * persistence.config_history: a copy of the configuration file each time
 * one is applied (start and every successful reload) and differs from the
 * newest copy, as config-history/config-YYYYMMDDTHHMMSS.mmmZ.toml, at
 * most max_entries of them (the oldest go first). The copies hold what
 * the file holds (password hashes, tokens): mode 0600 in a 0700 dir.
 */
#include "persist/persist_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define PREFIX	"config-"
#define SUFFIX	".toml"

/* 1 if name looks like one of our copies. */
static int
is_copy(const char *name)
{
	size_t n = strlen(name);

	return n > strlen(PREFIX) + strlen(SUFFIX) &&
	    strncmp(name, PREFIX, strlen(PREFIX)) == 0 &&
	    strcmp(name + n - strlen(SUFFIX), SUFFIX) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The copies in dir, sorted oldest first (names sort by time). */
static char **
list_copies(const char *dir, size_t *n)
{
	struct dirent *e = NULL;
	char **v = NULL;
	DIR *d = opendir(dir);

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL && *n < 100000) {
		if (!is_copy(e->d_name))
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

/* 1 if the file at path holds exactly text. */
static int
same(const char *path, const char *text, size_t len)
{
	char *old = NULL;
	size_t olen;
	int r;

	if (persist__read(path, PERSIST_CONFIG_MAX, &old, &olen) != 0)
		return 0;
	r = olen == len && memcmp(old, text, len) == 0;
	free(old);
	return r;
}

/* A new copy's name from the wall clock. */
static char *
copy_name(void)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	return xasprintf(PREFIX "%s.%03ldZ" SUFFIX, stamp,
	    ts.tv_nsec / 1000000L);
}

void
persist__confhist_keep(const char *dir, const char *src, uint32_t max)
{
	char **v = NULL, *text = NULL, *path = NULL, *name = NULL, err[512];
	size_t n = 0, len, i;
	int r;

	if ((r = persist__read(src, PERSIST_CONFIG_MAX, &text, &len)) != 0) {
		/* Absent: a configuration built in memory (quick-start). */
		if (r != ERR_NOTFOUND)
			log_warn("event=persist.config_history file=\"%s\" "
			    "msg=\"cannot read the configuration file: %s\"",
			    src, err_str(r));
		return;
	}
	if (persist__mkdirs(dir, err, sizeof(err)) != 0) {
		log_error("event=persist.config_history error=\"%s\"", err);
		goto out;
	}
	v = list_copies(dir, &n);
	if (n > 0) {
		path = xasprintf("%s/%s", dir, v[n - 1]);
		i = same(path, text, len);
		free(path);
		path = NULL;
		if (i)
			goto out;
	}
	name = copy_name();
	path = xasprintf("%s/%s", dir, name);
	if (n > 0 && strcmp(name, v[n - 1]) <= 0) {
		/* The clock went back, or two copies in one millisecond:
		 * keep the order by name. */
		free(path);
		free(name);
		name = xasprintf("%.*s~%zu" SUFFIX,
		    (int)(strlen(v[n - 1]) - strlen(SUFFIX)), v[n - 1], n);
		path = xasprintf("%s/%s", dir, name);
	}
	if (persist__write(path, text, len, err, sizeof(err)) != 0) {
		log_error("event=persist.config_history error=\"%s\"", err);
		goto out;
	}
	log_info("event=persist.config_history saved=\"%s\"", name);
	v = xreallocarray(v, n + 1, sizeof(*v));
	v[n++] = name;
	name = NULL;
	for (i = 0; n - i > max; i++) {
		free(path);
		path = xasprintf("%s/%s", dir, v[i]);
		(void)unlink(path);
	}
out:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(name);
	free(path);
	if (text != NULL)
		util_wipe(text, len);
	free(text);
}

/*
 * The configuration pipeline: choose the source (file or environment),
 * parse, apply environment and command-line overrides, validate, resolve
 * inheritance. Also the diagnostics list and the small accessors.
 */
#include "config/config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_int.h"
#include "config/toml.h"
#include "core/err.h"
#include "core/util.h"

#define CFG_MAX_FILE	(1024 * 1024)

void
cfg_diag_init(struct cfg_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
cfg_diag_cleanup(struct cfg_diag *d)
{
	size_t i;

	for (i = 0; i < d->nerrors; i++) {
		free(d->errors[i]);
	}
	for (i = 0; i < d->nwarnings; i++) {
		free(d->warnings[i]);
	}
	free(d->errors);
	free(d->warnings);
	memset(d, 0, sizeof(*d));
}

/* Appends a formatted message to a list. */
static void
diag_push(char ***list, size_t *n, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0) {
		abort();
	}
	*list = xreallocarray(*list, *n + 1, sizeof(char *));
	(*list)[(*n)++] = s;
}

void
cfg_diag_error(struct cfg_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(&d->errors, &d->nerrors, fmt, ap);
	va_end(ap);
}

void
cfg_diag_warn(struct cfg_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(&d->warnings, &d->nwarnings, fmt, ap);
	va_end(ap);
}

void
cfg_diag_print(const struct cfg_diag *d, FILE *f)
{
	size_t i;

	for (i = 0; i < d->nerrors; i++) {
		fprintf(f, "error: %s\n", d->errors[i]);
	}
	for (i = 0; i < d->nwarnings; i++) {
		fprintf(f, "warning: %s\n", d->warnings[i]);
	}
}

/* Applies --ssh-listen, --data-dir, --log-level, then each --set. */
static void
apply_cli(struct cfg__ld *ld, const struct cfg_overrides *ov)
{
	const char *eq = NULL;
	char *key = NULL, *where = NULL;
	size_t i;

	if (ov->ssh_listen != NULL) {
		cfg__set_path(ld, "server.ssh_listen", ov->ssh_listen,
		    "--ssh-listen", 0);
	}
	if (ov->data_dir != NULL) {
		cfg__set_path(ld, "persistence.data_dir", ov->data_dir,
		    "--data-dir", 0);
	}
	if (ov->log_level != NULL) {
		cfg__set_path(ld, "logging.level", ov->log_level,
		    "--log-level", 0);
	}
	for (i = 0; i < ov->nsets; i++) {
		if ((eq = strchr(ov->sets[i], '=')) == NULL ||
		    eq == ov->sets[i]) {
			cfg_diag_error(ld->d, "--set %s: expected KEY=VALUE",
			    ov->sets[i]);
			continue;
		}
		key = xstrndup(ov->sets[i], (size_t)(eq - ov->sets[i]));
		where = xasprintf("--set %s", key);
		cfg__set_path(ld, key, eq + 1, where, 0);
		free(where);
		free(key);
	}
}

/* Frees the origin map of a loader. */
static void
ld_cleanup(struct cfg__ld *ld)
{
	size_t i;

	for (i = 0; i < ld->norg; i++) {
		free(ld->org[i].path);
		free(ld->org[i].where);
	}
	free(ld->org);
}

/*
 * The common pipeline. text NULL means "environment only". Returns 0 with
 * *out set, or ERR_INVAL with the problems in d.
 */
static int
pipeline(const char *text, size_t len, const char *name,
    const char *base_dir, const struct cfg_overrides *ov,
    struct cfg **out, struct cfg_diag *d)
{
	static const struct cfg_overrides none;
	struct toml_value *doc = NULL;
	struct cfg__ld ld;
	struct cfg *c = xcalloc(1, sizeof(*c));
	size_t nerr0 = d->nerrors;
	char err[512];

	if (ov == NULL) {
		ov = &none;
	}
	memset(&ld, 0, sizeof(ld));
	ld.c = c;
	ld.d = d;
	ld.name = name;
	ld.base_dir = base_dir;
	ld.allow_pending = ov->allow_pending;
	c->allow_pending = ov->allow_pending;
	c->source = xstrdup(text != NULL ? name : "environment");
	c->base_dir = base_dir != NULL ? xstrdup(base_dir) : NULL;
	cfg__defaults(&ld, &cfg__root, c);
	if (text != NULL) {
		if (toml_parse(text, len, name, &doc, err, sizeof(err)) != 0) {
			cfg_diag_error(d, "%s", err);
		} else {
			cfg__load_table(&ld, &cfg__root, c, doc, "", name);
		}
	}
	/* Paths from the environment and the command line are relative to
	 * the working directory, as with any other command. */
	ld.base_dir = NULL;
	if (text == NULL) {
		cfg__env_apply(&ld, ov->envp, 0);
	} else if (ov->force_env && ov->envp != NULL) {
		cfg__env_apply(&ld, ov->envp, 1);
	}
	apply_cli(&ld, ov);
	if (doc != NULL || text == NULL) {
		cfg__validate(&ld);
	}
	toml_free(doc);
	ld_cleanup(&ld);
	if (d->nerrors > nerr0) {
		cfg_free(c);
		return ERR_INVAL;
	}
	cfg__resolve(c);
	*out = c;
	return 0;
}

int
cfg_load_string(const char *text, size_t len, const char *name,
    const char *base_dir, const struct cfg_overrides *ov, struct cfg **out,
    struct cfg_diag *d)
{
	*out = NULL;
	if (len > CFG_MAX_FILE) {
		cfg_diag_error(d, "%s: the file is larger than 1 MiB", name);
		return ERR_TOO_LARGE;
	}
	return pipeline(text, len, name, base_dir, ov, out, d);
}

/* Reads a whole regular file of at most 1 MiB. Reports problems to d. */
static int
read_file(const char *path, char **text, size_t *len, struct cfg_diag *d)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, r = ERR_IO;

	*text = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return ERR_NOTFOUND;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cfg_diag_error(d, "cannot read %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		cfg_diag_warn(d, "%s: the file is readable or writable by "
		    "group or others (mode %04o); run chmod 600 on it", path,
		    (unsigned)(st.st_mode & 07777));
	}
	buf = xmalloc(CFG_MAX_FILE + 2);
	while ((n = read(fd, buf + got, CFG_MAX_FILE + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			cfg_diag_error(d, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		got += (size_t)n;
		if (got > CFG_MAX_FILE) {
			cfg_diag_error(d, "%s: the file is larger than 1 MiB",
			    path);
			r = ERR_TOO_LARGE;
			goto out;
		}
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* Absolute directory holding path; heap string. */
static char *
dir_of(const char *path)
{
	char *dir = NULL, *abs = NULL, *slash = strrchr(path, '/');

	if (slash == NULL) {
		dir = xstrdup(".");
	} else if (slash == path) {
		dir = xstrdup("/");
	} else {
		dir = xstrndup(path, (size_t)(slash - path));
	}
	if ((abs = realpath(dir, NULL)) != NULL) {
		free(dir);
		return abs;
	}
	return dir;
}

int
cfg_load(const struct cfg_overrides *ov, struct cfg **out,
    struct cfg_diag *d)
{
	const char *path = ov->config_path != NULL ? ov->config_path :
	    "config.toml";
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	int r, e;

	*out = NULL;
	r = read_file(path, &text, &len, d);
	e = errno;
	if (r == 0) {
		dir = dir_of(path);
		r = pipeline(text, len, path, dir, ov, out, d);
		free(dir);
		free(text);
		return r;
	}
	if (r != ERR_NOTFOUND) {
		return r;
	}
	if (e == ENOENT && !ov->config_explicit &&
	    cfg__env_sufficient(ov->envp)) {
		return pipeline(NULL, 0, "environment", NULL, ov, out, d);
	}
	if (e == ENOENT && !ov->config_explicit) {
		cfg_diag_error(d, "cannot read %s: %s; create a configuration "
		    "with `sks5 init` or `sks5 quick-start`, or define one in "
		    "the environment (SKS5_SSH_LISTEN and a user)", path,
		    strerror(e));
	} else {
		cfg_diag_error(d, "cannot read %s: %s", path, strerror(e));
	}
	return e == ENOENT ? ERR_NOTFOUND : ERR_IO;
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL) {
		return;
	}
	cfg__resolve_cleanup(c);
	cfg__free_sect(&cfg__root, c);
	free(c->source);
	free(c->base_dir);
	free(c->motd_text);
	free(c);
}

const struct cfg_user *
cfg_user_find(const struct cfg *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nusers; i++) {
		if (strcmp(c->users[i].username, name) == 0) {
			return &c->users[i];
		}
	}
	return NULL;
}

const struct cfg_user *
cfg_user_at(const struct cfg *c, size_t i)
{
	return i < c->nusers ? &c->users[i] : NULL;
}

const char *
cfg_ssh_listen(const struct cfg *c)
{
	return c->server.ssh_listen;
}

const char *
cfg_socks5_listen(const struct cfg *c)
{
	return c->server.socks5_listen;
}

size_t
cfg_user_count(const struct cfg *c)
{
	return c->nusers;
}

const char *
cfg_source(const struct cfg *c)
{
	return c->source;
}

const char *
cfg_log_level(const struct cfg *c)
{
	static const char *const names[] = {
		"trace", "debug", "info", "warn", "error"
	};

	return names[c->logging.level];
}

const char *
cfg_log_format(const struct cfg *c)
{
	return c->logging.format == CFG_LOGFMT_JSON ? "json" : "pretty";
}

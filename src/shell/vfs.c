/*
 * The virtual filesystem: a handful of directories and files built in
 * memory for one session. It is read-only and shows nothing of the real
 * machine; no other user's home exists.
 */
#include "shell/shell_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/version.h"

/* Adds a node; data is taken (may be NULL for a directory). */
static void
add(struct shell_vfs *fs, char *path, int dir, int own, char *data)
{
	fs->n = xreallocarray(fs->n, fs->count + 1, sizeof(*fs->n));
	fs->n[fs->count].path = path;
	fs->n[fs->count].dir = dir;
	fs->n[fs->count].own = own;
	fs->n[fs->count].data = data;
	fs->count++;
}

void
shell__vfs_init(struct shell_vfs *fs, const char *user, const char *hostname,
    const char *motd)
{
	char *safe = xstrdup(user), *p = NULL;
	const char *h = NULL;

	memset(fs, 0, sizeof(*fs));
	/* A name with '/' or a leading dot must stay one path component. */
	for (p = safe; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '_';
		}
	}
	if (strcmp(safe, ".") == 0 || strcmp(safe, "..") == 0) {
		free(safe);
		safe = xstrdup("user");
	}
	fs->home = xasprintf("/home/%s", safe);
	h = fs->home;
	add(fs, xstrdup("/"), 1, 0, NULL);
	add(fs, xstrdup("/etc"), 1, 0, NULL);
	add(fs, xstrdup("/etc/hostname"), 0, 0, xasprintf("%s\n", hostname));
	add(fs, xstrdup("/etc/motd"), 0, 0, xstrdup(motd != NULL ? motd : ""));
	add(fs, xstrdup("/etc/os-release"), 0, 0, xasprintf(
	    "NAME=\"sks5\"\nVERSION=\"%s\"\nID=sks5\n"
	    "PRETTY_NAME=\"sks5 SSH bastion %s\"\n", SKS5_VERSION,
	    SKS5_VERSION));
	add(fs, xstrdup("/etc/passwd"), 0, 0, xasprintf(
	    "%s:x:1000:1000::%s:/bin/sh\n", user, h));
	add(fs, xstrdup("/home"), 1, 0, NULL);
	add(fs, xstrdup(h), 1, 1, NULL);
	add(fs, xasprintf("%s/.profile", h), 0, 1,
	    xstrdup("# sks5 shell profile\n"));
	add(fs, xasprintf("%s/.ssh", h), 1, 1, NULL);
	add(fs, xstrdup("/tmp"), 1, 0, NULL);
	add(fs, xstrdup("/var"), 1, 0, NULL);
	add(fs, xstrdup("/var/log"), 1, 0, NULL);
	free(safe);
}

void
shell__vfs_cleanup(struct shell_vfs *fs)
{
	size_t i;

	for (i = 0; i < fs->count; i++) {
		free(fs->n[i].path);
		free(fs->n[i].data);
	}
	free(fs->n);
	free(fs->home);
	memset(fs, 0, sizeof(*fs));
}

/* Appends component c[0..n) to out (normalising "." and ".."). */
static int
push(char *out, size_t outlen, const char *c, size_t n)
{
	size_t ol = strlen(out);
	char *slash = NULL;

	if (n == 0 || (n == 1 && c[0] == '.')) {
		return 0;
	}
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		slash = strrchr(out, '/');
		if (slash == out) {
			out[1] = '\0';	/* ".." at "/" stays "/" */
		} else if (slash != NULL) {
			*slash = '\0';
		}
		return 0;
	}
	if (ol + (ol > 1 ? 1 : 0) + n + 1 > outlen) {
		return ERR_TOO_LARGE;
	}
	if (ol > 1) {
		out[ol++] = '/';
	}
	memcpy(out + ol, c, n);
	out[ol + n] = '\0';
	return 0;
}

/* Appends every component of path to out. */
static int
push_all(char *out, size_t outlen, const char *path)
{
	const char *p = path, *e = NULL;
	int r;

	while (*p != '\0') {
		while (*p == '/') {
			p++;
		}
		for (e = p; *e != '\0' && *e != '/'; e++) {
			;
		}
		if ((r = push(out, outlen, p, (size_t)(e - p))) != 0) {
			return r;
		}
		p = e;
	}
	return 0;
}

int
shell__vfs_path(const struct shell_vfs *fs, const char *cwd,
    const char *arg, char *out, size_t outlen)
{
	int r;

	if (outlen < 2) {
		return ERR_TOO_LARGE;
	}
	strcpy(out, "/");
	if (arg[0] == '~' && (arg[1] == '\0' || arg[1] == '/')) {
		if ((r = push_all(out, outlen, fs->home)) != 0) {
			return r;
		}
		arg++;
	} else if (arg[0] != '/') {
		if ((r = push_all(out, outlen, cwd)) != 0) {
			return r;
		}
	}
	return push_all(out, outlen, arg);
}

const struct shell_vnode *
shell__vfs_find(const struct shell_vfs *fs, const char *path)
{
	size_t i;

	for (i = 0; i < fs->count; i++) {
		if (strcmp(fs->n[i].path, path) == 0) {
			return &fs->n[i];
		}
	}
	return NULL;
}

const char *
shell__vfs_base(const char *path)
{
	const char *s = strrchr(path, '/');

	if (s == NULL || (s == path && s[1] == '\0')) {
		return path;
	}
	return s + 1;
}

/* qsort comparator: byte order of the base names. */
static int
cmp_nodes(const void *a, const void *b)
{
	const struct shell_vnode *const *x = a, *const *y = b;

	return strcmp(shell__vfs_base((*x)->path),
	    shell__vfs_base((*y)->path));
}

size_t
shell__vfs_list(const struct shell_vfs *fs, const char *dir,
    const struct shell_vnode ***out)
{
	size_t i, n = 0, dl = strlen(dir);
	const char *p = NULL;

	*out = xcalloc(fs->count + 1, sizeof(**out));
	for (i = 0; i < fs->count; i++) {
		p = fs->n[i].path;
		if (strcmp(p, "/") == 0) {
			continue;
		}
		if (dl == 1) {		/* children of "/" */
			if (strchr(p + 1, '/') == NULL) {
				(*out)[n++] = &fs->n[i];
			}
		} else if (strncmp(p, dir, dl) == 0 && p[dl] == '/' &&
		    strchr(p + dl + 1, '/') == NULL) {
			(*out)[n++] = &fs->n[i];
		}
	}
	qsort(*out, n, sizeof(**out), cmp_nodes);
	return n;
}

/*
 * The data directory on disk: creation, the lock file, atomic writes,
 * bounded reads and setting aside files that cannot be used.
 */
#include "persist/persist_int.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"

int
persist__mkdirs(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path), *s = NULL;
	int r = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			r = ERR_IO;
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", p,
		    strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if (chmod(p, 0700) != 0) {
		snprintf(err, errlen, "cannot chmod 0700 %s: %s", p,
		    strerror(errno));
		r = ERR_IO;
	}
out:
	free(p);
	return r;
}

int
persist__lock(const char *dir, int *fd, char *err, size_t errlen)
{
	char *path = xasprintf("%s/sks5.lock", dir);
	int r = 0;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			snprintf(err, errlen, "another sks5 instance is using "
			    "data directory %s", dir);
			r = ERR_EXISTS;
		} else {
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
			r = ERR_IO;
		}
		close(*fd);
		*fd = -1;
	}
out:
	free(path);
	return r;
}

/* fsync of the directory holding path, so the rename is durable. */
static int
sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd, r = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		r = ERR_IO;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

int
persist__write(const char *path, const void *data, size_t len, char *err,
    size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", path);
	const char *p = data;
	size_t off = 0;
	ssize_t n;
	int fd, r = ERR_IO;

	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot write %s: %s", tmp,
			    n < 0 ? strerror(errno) : "short write");
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "cannot fsync %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "cannot close %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp,
		    strerror(errno));
		goto fail;
	}
	if (sync_dir(path) != 0) {
		snprintf(err, errlen, "cannot fsync the directory of %s: %s",
		    path, strerror(errno));
		goto out;
	}
	r = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
out:
	free(tmp);
	return r;
}

int
persist__read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int fd, r = ERR_IO;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	if ((uint64_t)sb.st_size > max) {
		r = ERR_TOO_LARGE;
		goto out;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;	/* shrank meanwhile: take what is there */
		off += (size_t)n;
	}
	buf[off] = '\0';
	*out = buf;
	*len = off;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int
persist__set_aside(const char *path)
{
	char *to = xasprintf("%s.corrupt", path);
	int r = 0;

	if (rename(path, to) != 0)
		r = ERR_IO;
	free(to);
	return r;
}

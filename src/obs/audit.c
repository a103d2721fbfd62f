/*
 * Audit log: JSON lines appended by one writer thread, with size-based
 * rotation. Producers (event loops) only format a line and queue it.
 */
#include "obs/obs.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* Lines the writer takes per wake-up. */
#define AUDIT_BATCH	64

struct audit {
	char			*path;
	uint64_t		 max_bytes;
	unsigned		 max_files;
	int			 fd;
	uint64_t		 size;		/* bytes in the current file */

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	char			**q;		/* ring of lines */
	size_t			 qmax, qhead, qlen;
	int			 stopping;
	pthread_t		 thread;

	_Atomic uint64_t	 dropped;
	_Atomic uint64_t	 written;
};

void
obs_timestamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%09ldZ", base, (long)ts.tv_nsec);
}

void
obs_source_ip(const char *source, char *out, size_t len)
{
	const char *end = NULL;
	size_t n;

	if (source == NULL) {
		snprintf(out, len, "%s", "");
		return;
	}
	if (source[0] == '[' && (end = strchr(source, ']')) != NULL) {
		n = (size_t)(end - source - 1);
		source++;
	} else if ((end = strrchr(source, ':')) != NULL &&
	    strchr(source, ':') == end) {
		n = (size_t)(end - source);
	} else
		n = strlen(source);
	if (n >= len)
		n = len - 1;
	memcpy(out, source, n);
	out[n] = '\0';
}

/* Creates every missing parent directory of path (mode 0700). */
static void
audit_mkparents(const char *path)
{
	char *dup = xstrdup(path);
	char *p = NULL;

	for (p = dup + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		(void)mkdir(dup, 0700);
		*p = '/';
	}
	free(dup);
}

/* Opens the live file; 0 or ERR_IO. */
static int
audit_open(struct audit *a)
{
	struct stat st;

	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	if (a->fd < 0)
		return ERR_IO;
	a->size = fstat(a->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* Shifts the generations and reopens an empty live file. */
static void
audit_rotate(struct audit *a)
{
	size_t n = strlen(a->path) + 16;
	char *from = xmalloc(n), *to = xmalloc(n);
	unsigned i;

	close(a->fd);
	a->fd = -1;
	if (a->max_files == 0) {
		(void)unlink(a->path);
	} else {
		for (i = a->max_files - 1; i >= 1; i--) {
			snprintf(from, n, "%s.%u", a->path, i);
			snprintf(to, n, "%s.%u", a->path, i + 1);
			(void)rename(from, to);
		}
		snprintf(to, n, "%s.1", a->path);
		if (rename(a->path, to) != 0)
			log_warn("event=audit.rotate path=\"%s\" error=\"%s\"",
			    a->path, strerror(errno));
	}
	free(from);
	free(to);
	if (audit_open(a) != 0)
		log_warn("event=audit.reopen path=\"%s\" error=\"%s\"",
		    a->path, strerror(errno));
}

/* Appends one line (and its newline) to the file, rotating first when
 * the file is already at its size limit. */
static void
audit_write_line(struct audit *a, const char *line)
{
	size_t n = strlen(line), off = 0;
	ssize_t w;
	char nl = '\n';

	if (a->max_bytes != 0 && a->size >= a->max_bytes && a->fd >= 0)
		audit_rotate(a);
	if (a->fd < 0)
		return;
	while (off < n) {
		w = write(a->fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
	while ((w = write(a->fd, &nl, 1)) < 0 && errno == EINTR)
		;
	a->size += n + 1;
	atomic_fetch_add(&a->written, 1);
}

/* Writer thread: takes batches off the queue until stopped and empty. */
static void *
audit_main(void *arg)
{
	struct audit *a = arg;
	char *batch[AUDIT_BATCH];
	size_t n, i;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		while (a->qlen == 0 && !a->stopping)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->qlen == 0 && a->stopping) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		for (n = 0; n < AUDIT_BATCH && a->qlen > 0; n++) {
			batch[n] = a->q[a->qhead];
			a->qhead = (a->qhead + 1) % a->qmax;
			a->qlen--;
		}
		pthread_mutex_unlock(&a->lock);
		for (i = 0; i < n; i++) {
			audit_write_line(a, batch[i]);
			free(batch[i]);
		}
	}
	return NULL;
}

struct audit *
audit_new(const char *path, uint64_t max_bytes, unsigned max_files,
    size_t queue_max)
{
	struct audit *a = xcalloc(1, sizeof(*a));

	a->path = xstrdup(path);
	a->max_bytes = max_bytes;
	a->max_files = max_files;
	a->qmax = queue_max > 0 ? queue_max : 1;
	a->q = xcalloc(a->qmax, sizeof(*a->q));
	audit_mkparents(path);
	if (audit_open(a) != 0) {
		log_error("event=audit.open path=\"%s\" error=\"%s\"", path,
		    strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, audit_main, a) != 0) {
		log_error("event=audit.open msg=\"cannot start the writer\"");
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		close(a->fd);
		goto fail;
	}
	return a;
fail:
	free(a->q);
	free(a->path);
	free(a);
	return NULL;
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	if (a->fd >= 0)
		close(a->fd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a->q);
	free(a->path);
	free(a);
}

int
audit_put_take(struct audit *a, char *line)
{
	int r = 0;

	if (line == NULL)
		return ERR_INVAL;
	pthread_mutex_lock(&a->lock);
	if (a->qlen >= a->qmax || a->stopping) {
		r = ERR_AGAIN;
	} else {
		a->q[(a->qhead + a->qlen) % a->qmax] = line;
		a->qlen++;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	if (r != 0) {
		free(line);
		/* Warn on the first drop and every 1000th after it. */
		if (atomic_fetch_add(&a->dropped, 1) % 1000 == 0)
			log_warn("event=audit.dropped total=%llu msg=\"audit "
			    "queue full\"", (unsigned long long)
			    atomic_load(&a->dropped));
	}
	return r;
}

uint64_t
audit_dropped(const struct audit *a)
{
	return a == NULL ? 0 : atomic_load(&a->dropped);
}

uint64_t
audit_written(const struct audit *a)
{
	return a == NULL ? 0 : atomic_load(&a->written);
}

struct audit_ev {
	json_t	*o;
};

struct audit_ev *
audit_ev_new(const char *type)
{
	struct audit_ev *e = xmalloc(sizeof(*e));
	char ts[48];

	if ((e->o = json_object()) == NULL)
		abort();
	obs_timestamp(ts, sizeof(ts));
	audit_ev_str(e, "event_type", type);
	audit_ev_str(e, "timestamp", ts);
	return e;
}

void
audit_ev_str(struct audit_ev *e, const char *key, const char *val)
{
	json_t *s = NULL;
	char *copy = NULL;
	size_t i;

	if (val == NULL)
		return;
	if ((s = json_string(val)) == NULL) {
		copy = xstrdup(val);
		for (i = 0; copy[i] != '\0'; i++) {
			if ((unsigned char)copy[i] >= 0x80)
				copy[i] = '?';
		}
		s = json_string(copy);
		free(copy);
	}
	if (s != NULL)
		json_object_set_new(e->o, key, s);
}

void
audit_ev_int(struct audit_ev *e, const char *key, int64_t val)
{
	json_object_set_new(e->o, key, json_integer((json_int_t)val));
}

void
audit_ev_bool(struct audit_ev *e, const char *key, int val)
{
	json_object_set_new(e->o, key, json_boolean(val));
}

void
audit_ev_source(struct audit_ev *e, const char *source)
{
	char ip[64];

	obs_source_ip(source, ip, sizeof(ip));
	audit_ev_str(e, "source_ip", ip);
}

void
audit_ev_free(struct audit_ev *e)
{
	if (e == NULL)
		return;
	json_decref(e->o);
	free(e);
}

const char *
audit_ev_type(const struct audit_ev *e)
{
	const char *t = json_string_value(json_object_get(e->o,
	    "event_type"));

	return t != NULL ? t : "";
}

char *
audit_ev_line(const struct audit_ev *e)
{
	return json_dumps(e->o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

char *
audit_ev_dump(struct audit_ev *e)
{
	char *line = audit_ev_line(e);

	audit_ev_free(e);
	return line;
}

int
audit_put_ev(struct audit *a, struct audit_ev *e)
{
	char *line = audit_ev_dump(e);

	if (line == NULL)
		return ERR_NOMEM;
	return audit_put_take(a, line);
}

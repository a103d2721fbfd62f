/*
 * The persistence object: opening and locking the data directory,
 * loading every file at start, the flush thread, and the final write at
 * shutdown. See persist.h for the layout.
 */
#include "persist/persist_int.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/policy.h"
#include "policy/snap.h"

#define MS_PER_DAY	86400000LL

struct persist {
	struct persist_stats	 stats;
	char			*dir;		/* NULL: nothing on disk */
	int			 lockfd;
	int			 state_on, user_on, hist_on;
	char			*bookmarks;	/* server.bookmarks_path */
	uint64_t		 state_ms, rep_ms, user_ms;
	uint32_t		 rep_min;
	uint32_t		 state_days, user_days;
	uint32_t		 hist_max;	/* config_history.max_entries */
	int			 save_history;	/* shell_history_max > 0 */
	struct policy_holder	*policy;
	struct policy_state	*st;
	struct shell_store	*store;
	/* Saved counters of users no longer configured, and since when. */
	char			**orph;
	int64_t			*orph_since;
	size_t			 norph;
	int			 bm_dirty;	/* rewrite the bookmarks file */
	pthread_mutex_t		 flush_lock;	/* one writer at a time */
	pthread_mutex_t		 lock;		/* guards stop */
	pthread_cond_t		 cond;
	int			 stop;
	int			 started;
	pthread_t		 thr;
};

char *
persist_data_dir(const struct cfg *cfg)
{
	char cwd[4096];

	const char *d = cfg->persistence.data_dir;

	if (d != NULL && d[0] == '/')
		return xstrdup(d);
	if (d == NULL && cfg->base_dir != NULL)
		return xasprintf("%s/data", cfg->base_dir);
	/* Relative (--data-dir, the environment) or no file: from the
	 * working directory at start. */
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(d != NULL ? d : "./data");
	return xasprintf("%s/%s", cwd, d != NULL ? d : "data");
}

const struct persist_stats *
persist_stats(const struct persist *p)
{
	return &p->stats;
}

/* A copy of untrusted text fit for a quoted log value: quotes become
 * ' and anything but printable ASCII becomes ?. */
static const char *
log_safe(const char *in, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "%s", in);
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] == '"' || out[i] == '\\')
			out[i] = '\'';
		else if ((unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
	}
	return out;
}

/* Sets a file aside after a failed parse and says so. The reason may
 * quote file contents. */
static void
corrupt(struct persist *p, const char *path, const char *reason)
{
	char why[256];

	(void)log_safe(reason, why, sizeof(why));
	atomic_fetch_add(&p->stats.corrupt, 1);
	if (persist__set_aside(path) == 0)
		log_warn("event=persist.corrupt file=\"%s\" reason=\"%s\" "
		    "moved_to=\"%s.corrupt\" msg=\"starting without it\"",
		    path, why, path);
	else
		log_warn("event=persist.corrupt file=\"%s\" reason=\"%s\" "
		    "msg=\"cannot rename it (%s); it will be overwritten\"",
		    path, why, strerror(errno));
}

/*
 * Reads a file for loading: 0 with text, 1 when there is nothing to
 * load (absent, or set aside as too large), ERR_IO when it exists but
 * cannot be read (logged).
 */
static int
load_text(struct persist *p, const char *path, size_t max, char **text,
    size_t *len)
{
	int r = persist__read(path, max, text, len);

	if (r == 0)
		return 0;
	if (r == ERR_NOTFOUND)
		return 1;
	if (r == ERR_TOO_LARGE) {
		corrupt(p, path, "larger than the size limit");
		return 1;
	}
	log_error("event=persist.load file=\"%s\" error=\"%s\"", path,
	    strerror(errno));
	return ERR_IO;
}

/* Finds name in the orphan list; -1 if absent. */
static ssize_t
orph_find(const struct persist *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->norph; i++) {
		if (strcmp(p->orph[i], name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static void
orph_set(struct persist *p, const char *name, int64_t since)
{
	ssize_t i = orph_find(p, name);

	if (i >= 0) {
		p->orph_since[i] = since;
		return;
	}
	p->orph = xreallocarray(p->orph, p->norph + 1, sizeof(*p->orph));
	p->orph_since = xreallocarray(p->orph_since, p->norph + 1,
	    sizeof(*p->orph_since));
	p->orph[p->norph] = xstrdup(name);
	p->orph_since[p->norph++] = since;
}

static void
orph_del(struct persist *p, const char *name)
{
	ssize_t i = orph_find(p, name);

	if (i < 0)
		return;
	free(p->orph[i]);
	p->orph[i] = p->orph[p->norph - 1];
	p->orph_since[i] = p->orph_since[p->norph - 1];
	p->norph--;
}

/* Loads state.json into the policy state. */
static int
load_state(struct persist *p, const struct cfg *cfg, int64_t now)
{
	struct persist_state_doc d;
	char *path = xasprintf("%s/state.json", p->dir), *text = NULL;
	char err[256];
	size_t len, i;
	int r;

	if ((r = load_text(p, path, PERSIST_STATE_MAX, &text, &len)) != 0)
		goto out;
	if (persist__state_decode(text, len, now, &d, err,
	    sizeof(err)) != 0) {
		corrupt(p, path, err);
		goto out;
	}
	policy_restore_ips(p->st, cfg->security.rate_limit_max_ips, d.bans,
	    d.nbans, now);
	for (i = 0; i < d.nquotas; i++) {
		policy_restore_quota(p->st, &d.quotas[i], now);
		if (d.orphan_since[i] != 0)
			orph_set(p, d.quotas[i].user, d.orphan_since[i]);
	}
	log_info("event=persist.load file=\"%s\" bans=%zu quotas=%zu", path,
	    d.nbans, d.nquotas);
	persist__state_doc_free(&d);
out:
	free(text);
	free(path);
	return r < 0 ? r : 0;
}

/* The score of a saved entry decayed to now. */
static double
decayed(const struct policy_saved_ip *e, uint64_t half_life_ms, int64_t now)
{
	double el = now > e->rep_ms ? (double)(now - e->rep_ms) : 0.0;

	if (half_life_ms == 0)
		return e->rep;
	return e->rep * exp2(-el / (double)half_life_ms);
}

/* Loads reputation.json (scores still at or above the minimum). */
static int
load_rep(struct persist *p, const struct cfg *cfg, int64_t now)
{
	struct policy_saved_ip *v = NULL;
	char *path = xasprintf("%s/reputation.json", p->dir), *text = NULL;
	char err[256];
	size_t len, n = 0, i, k = 0;
	uint64_t hl = cfg->security.ip_reputation_half_life * 1000;
	double min = p->rep_min < 1 ? 1.0 : (double)p->rep_min;
	int r;

	if ((r = load_text(p, path, PERSIST_REP_MAX, &text, &len)) != 0)
		goto out;
	if (persist__rep_decode(text, len, &v, &n, err, sizeof(err)) != 0) {
		corrupt(p, path, err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (decayed(&v[i], hl, now) >= min)
			v[k++] = v[i];
	}
	policy_restore_ips(p->st, cfg->security.rate_limit_max_ips, v, k,
	    now);
	log_info("event=persist.load file=\"%s\" scores=%zu", path, k);
out:
	free(v);
	free(text);
	free(path);
	return r < 0 ? r : 0;
}

/* Loads the server.bookmarks_path file. */
static int
load_bookmarks(struct persist *p, int64_t now)
{
	struct shell_store_user *v = NULL;
	char *text = NULL, err[256];
	size_t len, n = 0, i;
	int r;

	if ((r = load_text(p, p->bookmarks, PERSIST_BOOKMARKS_MAX, &text,
	    &len)) != 0)
		goto out;
	if (persist__bookmarks_decode(text, len, &v, &n, err,
	    sizeof(err)) != 0) {
		corrupt(p, p->bookmarks, err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		v[i].active = now / 1000;
		shell_store_import(p->store, &v[i]);
	}
	log_info("event=persist.load file=\"%s\" users=%zu", p->bookmarks, n);
out:
	shell_store_users_free(v, n);
	free(text);
	return r < 0 ? r : 0;
}

/* Empties one name -> value table of u. */
static void
kv_drop(struct shell_store_user *u, int k)
{
	size_t i;

	for (i = 0; i < u->kv[k].n; i++) {
		free(u->kv[k].names[i]);
		free(u->kv[k].values[i]);
	}
	u->kv[k].n = 0;
}

/* Loads one users/ file; 0, or ERR_IO. */
static int
load_user(struct persist *p, const char *dir, const char *fname,
    int64_t now, size_t *loaded)
{
	struct shell_store_user u;
	char *path = xasprintf("%s/%s", dir, fname), *text = NULL;
	char *want = NULL, err[256];
	size_t len;
	int r;

	memset(&u, 0, sizeof(u));
	if ((r = load_text(p, path, PERSIST_USER_MAX, &text, &len)) != 0)
		goto out;
	if (persist__user_decode(text, len, &u, err, sizeof(err)) != 0) {
		corrupt(p, path, err);
		goto out;
	}
	want = persist__user_file(u.name);
	if (strcmp(want, fname) != 0) {
		corrupt(p, path, "the file name does not match its user");
		goto out;
	}
	if (p->user_days > 0 && (u.active + (int64_t)p->user_days * 86400) *
	    1000 < now) {
		log_info("event=persist.expired file=\"%s\" msg=\"inactive "
		    "for more than %u days\"", path, p->user_days);
		(void)unlink(path);
		goto out;
	}
	if (p->bookmarks != NULL)	/* that file is the authority */
		kv_drop(&u, SHELL_STORE_BOOKMARKS);
	shell_store_import(p->store, &u);
	(*loaded)++;
out:
	persist__user_clear(&u);
	free(want);
	free(text);
	free(path);
	return r < 0 ? r : 0;
}

/* Loads every users/ file. */
static int
load_users(struct persist *p, int64_t now)
{
	char *dir = xasprintf("%s/users", p->dir), err[256];
	struct dirent *e = NULL;
	size_t seen = 0, loaded = 0, n;
	DIR *d = NULL;
	int r = 0;

	if ((r = persist__mkdirs(dir, err, sizeof(err))) != 0) {
		log_error("event=persist.open error=\"%s\"", err);
		goto out;
	}
	if ((d = opendir(dir)) == NULL) {
		log_error("event=persist.open error=\"cannot list %s: %s\"",
		    dir, strerror(errno));
		r = ERR_IO;
		goto out;
	}
	while ((e = readdir(d)) != NULL && seen < PERSIST_MAX_USER_FILES) {
		n = strlen(e->d_name);
		if (n < 6 || e->d_name[0] == '.' ||
		    strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		seen++;
		if ((r = load_user(p, dir, e->d_name, now, &loaded)) != 0)
			break;
	}
	closedir(d);
	if (r == 0)
		log_info("event=persist.load dir=\"%s\" users=%zu", dir,
		    loaded);
out:
	free(dir);
	return r;
}

/* Writes one file, counting and logging the outcome. */
static int
write_file(const char *path, const char *text, size_t len)
{
	char err[512];

	if (persist__write(path, text, len, err, sizeof(err)) != 0) {
		log_error("event=persist.flush file=\"%s\" error=\"%s\"", path,
		    err);
		return ERR_IO;
	}
	return 0;
}

/*
 * Stamps the saved quotas of users no longer configured with the time
 * they were first seen so (0 for configured users), and drops those
 * kept longer than state.inactive_user_retention_days (0: forever).
 */
static int64_t *
orphans_mark(struct persist *p, struct policy_saved_quota *q, size_t *nq,
    int64_t now)
{
	struct policy_snap *s = policy_holder_get(p->policy);
	int64_t *since = xcalloc(*nq + 1, sizeof(*since)), t;
	ssize_t o;
	size_t i, k = 0;

	for (i = 0; i < *nq; i++) {
		t = 0;
		if (cfg_user_find(s->cfg, q[i].user) != NULL) {
			orph_del(p, q[i].user);
		} else {
			if ((o = orph_find(p, q[i].user)) < 0)
				orph_set(p, q[i].user, now);
			t = o < 0 ? now : p->orph_since[o];
			if (p->state_days > 0 &&
			    now - t > (int64_t)p->state_days * MS_PER_DAY) {
				free(q[i].user);
				continue;
			}
		}
		q[k] = q[i];
		since[k++] = t;
	}
	policy_snap_unref(s);
	*nq = k;
	return since;
}

/* Writes state.json. */
static void
flush_state(struct persist *p, int64_t now)
{
	struct policy_saved_ip *ips = NULL;
	struct policy_saved_quota *q = NULL;
	char *path = xasprintf("%s/state.json", p->dir), *text = NULL;
	int64_t *since = NULL;
	size_t nips, nq, len;

	nips = policy_saved_ips(p->st, now, HUGE_VAL, 0, &ips);
	nq = policy_saved_quotas(p->st, now, &q);
	since = orphans_mark(p, q, &nq, now);
	text = persist__state_encode(ips, nips, q, since, nq, now, &len);
	if (write_file(path, text, len) == 0) {
		atomic_fetch_add(&p->stats.state_flush, 1);
		atomic_store(&p->stats.state_bytes, len);
	} else
		atomic_fetch_add(&p->stats.state_flush_errors, 1);
	free(text);
	free(since);
	policy_saved_quotas_free(q, nq);
	free(ips);
	free(path);
}

/* Writes reputation.json. */
static void
flush_rep(struct persist *p, int64_t now)
{
	struct policy_saved_ip *ips = NULL;
	struct policy_snap *s = policy_holder_get(p->policy);
	char *path = xasprintf("%s/reputation.json", p->dir), *text = NULL;
	uint64_t hl = s->cfg->security.ip_reputation_half_life * 1000;
	size_t n, len;

	policy_snap_unref(s);
	n = policy_saved_ips(p->st, now, (double)p->rep_min, hl, &ips);
	text = persist__rep_encode(ips, n, now, &len);
	if (write_file(path, text, len) == 0) {
		atomic_fetch_add(&p->stats.rep_flush, 1);
		atomic_store(&p->stats.rep_bytes, len);
	} else
		atomic_fetch_add(&p->stats.rep_flush_errors, 1);
	free(text);
	free(ips);
	free(path);
}

/* Forgets users inactive for longer than userdata.inactive_retention_days
 * and removes their files. */
static void
expire_users(struct persist *p, int64_t now)
{
	char **names = NULL, *path = NULL, *f = NULL, safe[PERSIST_MAX_NAME];
	size_t n, i;

	if (p->user_days == 0)
		return;
	n = shell_store_drop_inactive(p->store, now / 1000 -
	    (int64_t)p->user_days * 86400, &names);
	for (i = 0; i < n; i++) {
		if (p->user_on) {
			f = persist__user_file(names[i]);
			path = xasprintf("%s/users/%s", p->dir, f);
			(void)unlink(path);
			free(path);
			free(f);
		}
		log_info("event=persist.expired user=\"%s\" msg=\"inactive "
		    "for more than %u days\"", log_safe(names[i], safe,
		    sizeof(safe)), p->user_days);
		free(names[i]);
		p->bm_dirty = 1;
	}
	free(names);
}

/* Writes the users changed since the last flush, and the bookmarks
 * file when anything changed. */
static void
flush_users(struct persist *p, int64_t now)
{
	struct shell_store_user *v = NULL;
	char *path = NULL, *text = NULL, *f = NULL;
	size_t n, i, len;
	int fail = 0;

	expire_users(p, now);
	n = shell_store_export(p->store, 0, &v);
	for (i = 0; p->user_on && i < n; i++) {
		if (!p->save_history) {
			persist__strv_drop(v[i].hist, v[i].nhist);
			v[i].nhist = 0;
		}
		f = persist__user_file(v[i].name);
		path = xasprintf("%s/users/%s", p->dir, f);
		text = persist__user_encode(&v[i], p->bookmarks == NULL, &len);
		if (write_file(path, text, len) != 0) {
			shell_store_mark_dirty(p->store, v[i].name);
			fail = 1;
		}
		free(text);
		free(path);
		free(f);
	}
	if (n > 0)
		p->bm_dirty = 1;
	shell_store_users_free(v, n);
	if (p->bookmarks != NULL && p->bm_dirty) {
		n = shell_store_export(p->store, 1, &v);
		text = persist__bookmarks_encode(v, n, &len);
		if (write_file(p->bookmarks, text, len) != 0)
			fail = 1;
		else
			p->bm_dirty = 0;
		free(text);
		shell_store_users_free(v, n);
	}
	if (fail)
		atomic_fetch_add(&p->stats.user_flush_errors, 1);
	else if (p->user_on || p->bookmarks != NULL)
		atomic_fetch_add(&p->stats.user_flush, 1);
}

enum { DO_STATE = 1, DO_REP = 2, DO_USERS = 4 };

/* Writes what `what` asks for, one writer at a time. */
static void
flush_some(struct persist *p, int what)
{
	int64_t now = policy_now_ms();

	pthread_mutex_lock(&p->flush_lock);
	if ((what & DO_STATE) && p->state_on)
		flush_state(p, now);
	if ((what & DO_REP) && p->state_on)
		flush_rep(p, now);
	if ((what & DO_USERS) && (p->user_on || p->bookmarks != NULL))
		flush_users(p, now);
	pthread_mutex_unlock(&p->flush_lock);
}

void
persist_flush(struct persist *p)
{
	if (p != NULL)
		flush_some(p, DO_STATE | DO_REP | DO_USERS);
}

/* Monotonic time plus ms as an absolute deadline. */
static void
deadline(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* The flush thread: one timer per file, checked every second. */
static void *
flush_main(void *arg)
{
	struct persist *p = arg;
	uint64_t now = util_mono_ms(), next[3];
	struct timespec ts;
	int what;

	next[0] = now + p->state_ms;
	next[1] = now + p->rep_ms;
	next[2] = now + p->user_ms;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		deadline(&ts, 1000);
		(void)pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		if (p->stop)
			break;
		now = util_mono_ms();
		what = 0;
		if (now >= next[0]) {
			what |= DO_STATE;
			next[0] = now + p->state_ms;
		}
		if (now >= next[1]) {
			what |= DO_REP;
			next[1] = now + p->rep_ms;
		}
		if (now >= next[2]) {
			what |= DO_USERS;
			next[2] = now + p->user_ms;
		}
		if (what == 0)
			continue;
		pthread_mutex_unlock(&p->lock);
		flush_some(p, what);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Frees p without writing anything. */
static void
persist_free(struct persist *p)
{
	size_t i;

	for (i = 0; i < p->norph; i++)
		free(p->orph[i]);
	free(p->orph);
	free(p->orph_since);
	if (p->lockfd >= 0)
		close(p->lockfd);
	free(p->dir);
	free(p->bookmarks);
	pthread_mutex_destroy(&p->flush_lock);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* Copies the settings of cfg into p. */
static void
settings(struct persist *p, const struct cfg *cfg)
{
	const struct cfg_persistence *c = &cfg->persistence;

	p->state_on = c->state.enabled;
	p->user_on = c->userdata.enabled;
	p->hist_on = c->config_history.enabled;
	p->state_ms = c->state.flush_interval_secs * 1000;
	p->rep_ms = c->state.ip_reputation_flush_interval_secs * 1000;
	p->user_ms = c->userdata.shell_history_flush_secs * 1000;
	p->rep_min = c->state.ip_reputation_min_score;
	p->state_days = c->state.inactive_user_retention_days;
	p->user_days = c->userdata.inactive_retention_days;
	p->hist_max = c->config_history.max_entries;
	p->save_history = c->userdata.shell_history_max > 0;
	if (cfg->server.bookmarks_path != NULL)
		p->bookmarks = xstrdup(cfg->server.bookmarks_path);
}

int
persist_open(const struct cfg *cfg, struct policy_holder *policy,
    struct policy_state *st, struct shell_store *store, struct persist **out)
{
	struct persist *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t ca;
	int64_t now = policy_now_ms();
	char err[512];
	int r = 0;

	*out = NULL;
	p->lockfd = -1;
	p->policy = policy;
	p->st = st;
	p->store = store;
	pthread_mutex_init(&p->flush_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	settings(p, cfg);
	if (p->state_on || p->user_on || p->hist_on) {
		p->dir = persist_data_dir(cfg);
		if ((r = persist__mkdirs(p->dir, err, sizeof(err))) != 0 ||
		    (r = persist__lock(p->dir, &p->lockfd, err,
		    sizeof(err))) != 0) {
			log_error("event=persist.open data_dir=\"%s\" "
			    "error=\"%s\" msg=\"fix persistence.data_dir (or "
			    "--data-dir, SKS5_DATA_DIR), or disable "
			    "persistence.state, .userdata and "
			    ".config_history\"", p->dir, err);
			goto fail;
		}
		atomic_store(&p->stats.available, 1);
		log_info("event=persist.open data_dir=\"%s\" state=%s "
		    "userdata=%s config_history=%s", p->dir,
		    p->state_on ? "on" : "off", p->user_on ? "on" : "off",
		    p->hist_on ? "on" : "off");
	}
	if (p->state_on && ((r = load_state(p, cfg, now)) != 0 ||
	    (r = load_rep(p, cfg, now)) != 0))
		goto fail;
	if (p->bookmarks != NULL && (r = load_bookmarks(p, now)) != 0)
		goto fail;
	if (p->user_on && (r = load_users(p, now)) != 0)
		goto fail;
	*out = p;
	return 0;
fail:
	persist_free(p);
	return r != 0 ? r : ERR_IO;
}

int
persist_start(struct persist *p)
{
	if (!p->state_on && !p->user_on && p->bookmarks == NULL)
		return 0;
	if (pthread_create(&p->thr, NULL, flush_main, p) != 0)
		return ERR_IO;
	p->started = 1;
	return 0;
}

void
persist_config_applied(struct persist *p, const struct cfg *cfg)
{
	const char *src = cfg_source(cfg);
	char *dir = NULL;

	/* Only a configuration read from a file has one to keep. */
	if (p == NULL || !p->hist_on || p->dir == NULL || src == NULL ||
	    cfg->base_dir == NULL)
		return;
	dir = xasprintf("%s/config-history", p->dir);
	persist__confhist_keep(dir, src, p->hist_max);
	free(dir);
}

void
persist_close(struct persist *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thr, NULL);
	}
	persist_flush(p);
	persist_free(p);
}

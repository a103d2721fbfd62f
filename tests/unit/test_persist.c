/* Unit tests for src/persist: file formats (strict decoding, round
 * trips), atomic files and the lock, config history, and a whole
 * open -> flush -> close -> open cycle over a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"
#include "persist/json.h"
#include "persist/persist.h"
#include "persist/persist_int.h"
#include "policy/policy.h"
#include "policy/saved.h"
#include "policy/snap.h"
#include "shell/shell.h"

#define NOW	1772755200000LL		/* 2026-03-06 00:00:00 UTC */
#define DAY	86400000LL

static char tmpdir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sks5-persist-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

/* Decodes a state document; returns the result code. */
static int
state_try(const char *text, struct persist_state_doc *d)
{
	char err[256];
	int r = persist__state_decode(text, strlen(text), NOW, d, err,
	    sizeof(err));

	if (r != 0)
		assert_true(err[0] != '\0');
	return r;
}

static void
test_state_roundtrip(void **state)
{
	struct policy_saved_ip ips[3];
	struct policy_saved_quota q[1];
	struct persist_state_doc d;
	int64_t orph[1] = { NOW - DAY };
	char *text = NULL, err[256];
	size_t len;

	(void)state;
	memset(ips, 0, sizeof(ips));
	memset(q, 0, sizeof(q));
	assert_int_equal(persist__ip_key("203.0.113.5", ips[0].addr), 0);
	ips[0].ban_until = NOW + 60000;
	assert_int_equal(persist__ip_key("2001:db8::1", ips[1].addr), 0);
	ips[1].ban_until = NOW + 1;
	assert_int_equal(persist__ip_key("198.51.100.1", ips[2].addr), 0);
	ips[2].ban_until = 0;		/* reputation only: not in state */
	ips[2].rep = 50;
	q[0].user = "alice";
	q[0].q.day = NOW / DAY;
	q[0].q.day_bytes = 1000;
	q[0].q.day_conns = 3;
	q[0].q.month = 2026 * 12 + 2;
	q[0].q.month_bytes = 5000;
	q[0].q.month_conns = 9;
	q[0].q.total_bytes = UINT64_MAX;	/* capped, not wrapped */
	q[0].q.min_stamp[7] = NOW / 60000 - 53;
	q[0].q.min_bytes[7] = 77;
	text = persist__state_encode(ips, 3, q, orph, 1, NOW, &len);
	assert_int_equal(strlen(text), len);
	assert_int_equal(persist__state_decode(text, len, NOW, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.nbans, 2);
	assert_memory_equal(d.bans[0].addr, ips[0].addr, 16);
	assert_int_equal(d.bans[0].ban_until, NOW + 60000);
	assert_memory_equal(d.bans[1].addr, ips[1].addr, 16);
	assert_int_equal(d.nquotas, 1);
	assert_string_equal(d.quotas[0].user, "alice");
	assert_int_equal(d.quotas[0].q.day_bytes, 1000);
	assert_int_equal(d.quotas[0].q.day_conns, 3);
	assert_int_equal(d.quotas[0].q.month_conns, 9);
	assert_int_equal(d.quotas[0].q.total_bytes, INT64_MAX);
	assert_int_equal(d.quotas[0].q.min_bytes[7], 77);
	assert_int_equal(d.quotas[0].q.min_stamp[7], NOW / 60000 - 53);
	assert_int_equal(d.orphan_since[0], NOW - DAY);
	persist__state_doc_free(&d);
	/* A minute later the second ban is over and is dropped. */
	assert_int_equal(persist__state_decode(text, len, NOW + 60000 - 1,
	    &d, err, sizeof(err)), 0);
	assert_int_equal(d.nbans, 1);
	persist__state_doc_free(&d);
	free(text);
}

static void
test_state_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"[]",
		"{}",					/* no format */
		"{\"format\":2}",			/* newer */
		"{\"format\":\"1\"}",
		"{\"format\":1,\"format\":1}",		/* duplicate key */
		"{\"format\":1,\"bans\":{}}",
		"{\"format\":1,\"bans\":[{\"ip\":\"1.2.3\",\"until_ms\":1}]}",
		"{\"format\":1,\"bans\":[{\"ip\":\"1.2.3.4\",\"until_ms\":-1}]}",
		"{\"format\":1,\"bans\":[{\"ip\":\"1.2.3.4\"}]}",
		"{\"format\":1,\"bans\":[7]}",
		"{\"format\":1,\"quotas\":[{\"user\":\"a\"}]}",
		"{\"format\":1,\"quotas\":[{\"user\":\"\",\"day\":1,"
		    "\"day_bytes\":0,\"day_connections\":0,\"month\":1,"
		    "\"month_bytes\":0,\"month_connections\":0,"
		    "\"total_bytes\":0}]}",
		"{\"format\":1,\"quotas\":[{\"user\":\"a\",\"day\":1,"
		    "\"day_bytes\":-5,\"day_connections\":0,\"month\":1,"
		    "\"month_bytes\":0,\"month_connections\":0,"
		    "\"total_bytes\":0}]}",
		"{\"format\":1,\"quotas\":[{\"user\":\"a\",\"day\":1,"
		    "\"day_bytes\":0,\"day_connections\":4294967296,"
		    "\"month\":1,\"month_bytes\":0,\"month_connections\":0,"
		    "\"total_bytes\":0}]}",
		"{\"format\":1,\"quotas\":[{\"user\":\"a\",\"day\":1,"
		    "\"day_bytes\":0,\"day_connections\":0,\"month\":1,"
		    "\"month_bytes\":0,\"month_connections\":0,"
		    "\"total_bytes\":0,\"hour\":[[1]]}]}",
		"{\"format\":1,\"quotas\":[{\"user\":\"a\\u0000b\",\"day\":1,"
		    "\"day_bytes\":0,\"day_connections\":0,\"month\":1,"
		    "\"month_bytes\":0,\"month_connections\":0,"
		    "\"total_bytes\":0}]}",
	};
	struct persist_state_doc d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (state_try(bad[i], &d) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(state_try("{\"format\":1}", &d), 0);
	assert_int_equal(d.nbans + d.nquotas, 0);
	persist__state_doc_free(&d);
	/* Unknown keys are ignored (a newer writer's extras). */
	assert_int_equal(state_try("{\"format\":1,\"x\":[1]}", &d), 0);
	persist__state_doc_free(&d);
}

static void
test_rep_roundtrip_and_rejects(void **state)
{
	struct policy_saved_ip ips[2], *v = NULL;
	char *text = NULL, err[256];
	size_t len, n;

	(void)state;
	memset(ips, 0, sizeof(ips));
	assert_int_equal(persist__ip_key("192.0.2.9", ips[0].addr), 0);
	ips[0].rep = 42.5;
	ips[0].rep_ms = NOW - 1000;
	assert_int_equal(persist__ip_key("192.0.2.10", ips[1].addr), 0);
	ips[1].ban_until = NOW + 5;	/* banned, no score: left out */
	text = persist__rep_encode(ips, 2, NOW, &len);
	assert_int_equal(persist__rep_decode(text, len, &v, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(v[0].addr, ips[0].addr, 16);
	assert_true(fabs(v[0].rep - 42.5) < 1e-9);
	assert_int_equal(v[0].rep_ms, NOW - 1000);
	assert_int_equal(v[0].ban_until, 0);
	free(v);
	free(text);
	text = "{\"format\":1,\"scores\":[{\"ip\":\"1.2.3.4\",\"score\":-1,"
	    "\"at_ms\":1}]}";
	assert_int_equal(persist__rep_decode(text, strlen(text), &v, &n, err,
	    sizeof(err)), ERR_PROTO);
	text = "{\"format\":1,\"scores\":[{\"ip\":\"1.2.3.4\",\"score\":\"9\","
	    "\"at_ms\":1}]}";
	assert_int_equal(persist__rep_decode(text, strlen(text), &v, &n, err,
	    sizeof(err)), ERR_PROTO);
	text = "{\"format\":1,\"scores\":[{\"ip\":\"1.2.3.4\",\"score\":1e300,"
	    "\"at_ms\":1}]}";
	assert_int_equal(persist__rep_decode(text, strlen(text), &v, &n, err,
	    sizeof(err)), ERR_PROTO);
}

static void
test_user_file_names(void **state)
{
	char *a = NULL, *b = NULL, *c = NULL, long_name[200];

	(void)state;
	a = persist__user_file("alice");
	assert_string_equal(a, "alice.json");
	free(a);
	a = persist__user_file("../etc/passwd");
	assert_null(strchr(a, '/'));
	assert_true(strncmp(a, "___etc_passwd~", 14) == 0);
	b = persist__user_file("a.b");
	c = persist__user_file("a_b");
	assert_string_equal(c, "a_b.json");
	assert_string_not_equal(b, c);	/* no collision after sanitising */
	free(a);
	free(b);
	free(c);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	a = persist__user_file(long_name);
	assert_true(strlen(a) < 100);
	long_name[150] = 'y';
	b = persist__user_file(long_name);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	a = persist__user_file("\xc3\xa9t\xc3\xa9");	/* UTF-8 */
	assert_non_null(strchr(a, '~'));
	free(a);
}

/* One user with two history lines, a bookmark and an alias. */
static void
user_fill(struct shell_store_user *u)
{
	memset(u, 0, sizeof(*u));
	u->name = xstrdup("bob");
	u->active = NOW / 1000;
	u->nhist = 2;
	u->hist = xcalloc(3, sizeof(char *));
	u->hist[0] = xstrdup("ls /");
	u->hist[1] = xstrdup("echo \"quoted\" \xe2\x9c\x93");
	u->kv[0].n = 1;
	u->kv[0].names = xcalloc(2, sizeof(char *));
	u->kv[0].values = xcalloc(2, sizeof(char *));
	u->kv[0].names[0] = xstrdup("web");
	u->kv[0].values[0] = xstrdup("example.com:443");
	u->kv[1].n = 1;
	u->kv[1].names = xcalloc(2, sizeof(char *));
	u->kv[1].values = xcalloc(2, sizeof(char *));
	u->kv[1].names[0] = xstrdup("ll");
	u->kv[1].values[0] = xstrdup("ls -l");
}

static void
test_user_roundtrip(void **state)
{
	struct shell_store_user u, out, *v = NULL;
	char *text = NULL, err[256];
	size_t len, n;

	(void)state;
	user_fill(&u);
	text = persist__user_encode(&u, 1, &len);
	assert_int_equal(persist__user_decode(text, len, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.name, "bob");
	assert_int_equal(out.active, NOW / 1000);
	assert_int_equal(out.nhist, 2);
	assert_string_equal(out.hist[1], u.hist[1]);
	assert_int_equal(out.kv[0].n, 1);
	assert_string_equal(out.kv[0].values[0], "example.com:443");
	assert_string_equal(out.kv[1].names[0], "ll");
	persist__user_clear(&out);
	free(text);
	/* Without bookmarks (server.bookmarks_path keeps them). */
	text = persist__user_encode(&u, 0, &len);
	assert_null(strstr(text, "bookmarks"));
	free(text);
	text = persist__bookmarks_encode(&u, 1, &len);
	assert_int_equal(persist__bookmarks_decode(text, len, &v, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "bob");
	assert_string_equal(v[0].kv[0].names[0], "web");
	assert_int_equal(v[0].kv[1].n, 0);
	shell_store_users_free(v, n);
	free(text);
	persist__user_clear(&u);
	text = "{\"format\":1,\"user\":\"bob\",\"history\":[1]}";
	assert_int_equal(persist__user_decode(text, strlen(text), &out, err,
	    sizeof(err)), ERR_PROTO);
	text = "{\"format\":1,\"user\":\"bob\",\"bookmarks\":{\"a\":\"\"}}";
	assert_int_equal(persist__user_decode(text, strlen(text), &out, err,
	    sizeof(err)), ERR_PROTO);
	text = "{\"format\":1,\"history\":[]}";
	assert_int_equal(persist__user_decode(text, strlen(text), &out, err,
	    sizeof(err)), ERR_PROTO);
	text = "{\"format\":1,\"users\":{\"bob\":[\"x\"]}}";
	assert_int_equal(persist__bookmarks_decode(text, strlen(text), &v, &n,
	    err, sizeof(err)), ERR_PROTO);
}

static void
test_files_and_lock(void **state)
{
	char *dir = xasprintf("%s/a/b/c", tmpdir), *f = NULL, *text = NULL;
	char err[256];
	struct stat sb;
	size_t len;
	int fd1 = -1, fd2 = -1;

	(void)state;
	assert_int_equal(persist__mkdirs(dir, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	f = xasprintf("%s/x.json", dir);
	assert_int_equal(persist__read(f, 100, &text, &len), ERR_NOTFOUND);
	assert_int_equal(persist__write(f, "hello", 5, err, sizeof(err)), 0);
	assert_int_equal(stat(f, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(persist__write(f, "hello!", 6, err, sizeof(err)), 0);
	assert_int_equal(persist__read(f, 100, &text, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(text, "hello!");
	free(text);
	assert_int_equal(persist__read(f, 5, &text, &len), ERR_TOO_LARGE);
	free(f);
	f = xasprintf("%s/x.json.tmp", dir);
	assert_int_not_equal(stat(f, &sb), 0);	/* no temporary left */
	free(f);
	f = xasprintf("%s/x.json", dir);
	assert_int_equal(persist__set_aside(f), 0);
	assert_int_not_equal(stat(f, &sb), 0);
	free(f);
	f = xasprintf("%s/x.json.corrupt", dir);
	assert_int_equal(stat(f, &sb), 0);
	free(f);
	assert_int_equal(persist__lock(dir, &fd1, err, sizeof(err)), 0);
	assert_int_equal(persist__lock(dir, &fd2, err, sizeof(err)),
	    ERR_EXISTS);
	assert_non_null(strstr(err, "another sks5 instance"));
	close(fd1);
	assert_int_equal(persist__lock(dir, &fd2, err, sizeof(err)), 0);
	close(fd2);
	f = xasprintf("%s/file", tmpdir);
	assert_int_equal(persist__write(f, "x", 1, err, sizeof(err)), 0);
	free(f);
	f = xasprintf("%s/file/sub", tmpdir);
	assert_int_equal(persist__mkdirs(f, err, sizeof(err)), ERR_IO);
	free(f);
	free(dir);
}

/* Entries of a directory. */
static size_t
count_dir(const char *dir)
{
	struct dirent *e = NULL;
	DIR *d = opendir(dir);
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void
test_config_history(void **state)
{
	char *src = xasprintf("%s/config.toml", tmpdir);
	char *dir = xasprintf("%s/hist", tmpdir), err[256], body[32];
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "# version %d\n", i);
		assert_int_equal(persist__write(src, body, strlen(body), err,
		    sizeof(err)), 0);
		persist__confhist_keep(dir, src, 3);
		persist__confhist_keep(dir, src, 3);	/* unchanged: no copy */
	}
	assert_int_equal(count_dir(dir), 3);
	free(src);
	free(dir);
}

/* A configuration with the given [persistence] body, data in tmpdir. */
static struct cfg *
config(const char *extra)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *text = xasprintf("[security]\nban_threshold = 2\n"
	    "ip_reputation_enabled = true\n"
	    "[persistence]\ndata_dir = \"%s/data\"\n%s\n"
	    "[[users]]\nusername = \"alice\"\npassword_hash = \"$argon2id$v=19"
	    "$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Jk7X6w5nJQ1kq5lYf0u4s0a7"
	    "cXkzJ5XoXcH7l4t8jE\"\n", tmpdir, extra);

	memset(&ov, 0, sizeof(ov));
	cfg_diag_init(&d);
	if (cfg_load_string(text, strlen(text), "t.toml", tmpdir, &ov, &c,
	    &d) != 0)
		fail_msg("config: %s", d.nerrors > 0 ? d.errors[0] : "?");
	cfg_diag_cleanup(&d);
	free(text);
	return c;
}

/* The live pieces a persist object works on. */
struct world {
	struct cfg		*cfg;
	struct policy_state	*st;
	struct policy_holder	 h;
	struct shell_store	*store;
	struct persist		*p;
};

static int
world_open(struct world *w, const char *extra)
{
	memset(w, 0, sizeof(*w));
	w->cfg = config(extra);
	w->st = policy_state_new();
	policy_holder_init(&w->h, policy_snap_new(w->cfg, 1, w->st));
	w->store = shell_store_new(100, 50);
	return persist_open(w->cfg, &w->h, w->st, w->store, &w->p);
}

static void
world_close(struct world *w)
{
	persist_close(w->p);
	policy_holder_cleanup(&w->h);
	policy_state_free(w->st);
	shell_store_free(w->store);
}

static void
test_cycle(void **state)
{
	struct world w, w2;
	struct shell_store_user *v = NULL;
	struct policy_user_state *u = NULL;
	unsigned char key[16], key2[16];
	char *path = NULL;
	int64_t now = policy_now_ms();
	size_t n;

	(void)state;
	assert_int_equal(world_open(&w, ""), 0);
	assert_int_equal(persist_stats(w.p)->available, 1);
	/* Second object on the same directory: refused. */
	assert_int_equal(world_open(&w2, ""), ERR_EXISTS);
	assert_null(w2.p);
	world_close(&w2);
	/* A ban, a reputation score, quota usage, shell data. */
	assert_int_equal(persist__ip_key("203.0.113.7", key), 0);
	assert_int_equal(persist__ip_key("203.0.113.8", key2), 0);
	pthread_mutex_lock(&w.st->glock);
	ipt_init(&w.st->ipt, 1000);
	ipt_ban(&w.st->ipt, key, now + 3600000, now);
	ipt_restore(&w.st->ipt, key2, 0, 500.0, now, now);
	pthread_mutex_unlock(&w.st->glock);
	u = policy_state_user(w.st, "alice");
	quota_add_conn(&u->quota, now);
	quota_add_bytes(&u->quota, 1234, now);
	v = xcalloc(1, sizeof(*v));
	user_fill(v);
	v->active = time(NULL);
	shell_store_import(w.store, v);
	shell_store_mark_dirty(w.store, "bob");
	shell_store_users_free(v, 1);
	world_close(&w);

	assert_int_equal(world_open(&w, ""), 0);
	pthread_mutex_lock(&w.st->glock);
	assert_int_equal(ipt_banned_until(&w.st->ipt, key, now),
	    now + 3600000);
	assert_true(w.st->ipt.slots != NULL);
	pthread_mutex_unlock(&w.st->glock);
	u = policy_state_user(w.st, "alice");
	assert_int_equal(u->quota.day_conns, 1);
	assert_int_equal(u->quota.total_bytes, 1234);
	assert_int_equal(quota_hour_bytes(&u->quota, now), 1234);
	n = shell_store_export(w.store, 1, &v);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "bob");
	assert_int_equal(v[0].nhist, 2);
	assert_int_equal(v[0].kv[0].n, 1);
	shell_store_users_free(v, n);
	world_close(&w);
	path = xasprintf("%s/data/reputation.json", tmpdir);
	assert_int_equal(access(path, F_OK), 0);
	free(path);

	/* Corrupt files are set aside; the next open still works. */
	path = xasprintf("%s/data/state.json", tmpdir);
	assert_int_equal(persist__write(path, "{\"format\":1,\"bans\":3}", 21,
	    (char[64]){ 0 }, 64), 0);
	assert_int_equal(world_open(&w, ""), 0);
	assert_int_equal(persist_stats(w.p)->corrupt, 1);
	pthread_mutex_lock(&w.st->glock);
	assert_int_equal(ipt_banned_until(&w.st->ipt, key, now), 0);
	pthread_mutex_unlock(&w.st->glock);
	world_close(&w);
	free(path);
	path = xasprintf("%s/data/state.json.corrupt", tmpdir);
	assert_int_equal(access(path, F_OK), 0);
	free(path);
}

/* A saved quota entry of user with total bytes and an orphan stamp. */
static void
quota_entry(struct policy_saved_quota *q, const char *user, int64_t now)
{
	memset(q, 0, sizeof(*q));
	q->user = (char *)user;
	q->q.day = now / DAY;
	q->q.total_bytes = 99;
}

static void
test_orphan_quota_retention(void **state)
{
	struct policy_saved_quota q[3];
	struct persist_state_doc d;
	struct world w;
	int64_t now = policy_now_ms(), since[3];
	char *path = xasprintf("%s/data/state.json", tmpdir), *text = NULL;
	char err[256];
	size_t len, i;

	(void)state;
	quota_entry(&q[0], "alice", now);	/* configured */
	since[0] = 0;
	quota_entry(&q[1], "ghost", now);	/* gone 40 days: dropped */
	since[1] = now - 40 * DAY;
	quota_entry(&q[2], "shade", now);	/* gone 10 days: kept */
	since[2] = now - 10 * DAY;
	text = persist__state_encode(NULL, 0, q, since, 3, now, &len);
	assert_int_equal(persist__mkdirs(path, err, sizeof(err)), 0);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(persist__write(path, text, len, err, sizeof(err)),
	    0);
	free(text);
	assert_int_equal(world_open(&w, ""), 0);
	world_close(&w);
	assert_int_equal(persist__read(path, 1 << 20, &text, &len), 0);
	assert_int_equal(persist__state_decode(text, len, now, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.nquotas, 2);
	for (i = 0; i < d.nquotas; i++) {
		if (strcmp(d.quotas[i].user, "alice") == 0) {
			assert_int_equal(d.orphan_since[i], 0);
		} else {
			assert_string_equal(d.quotas[i].user, "shade");
			assert_int_equal(d.orphan_since[i], now - 10 * DAY);
		}
		assert_int_equal(d.quotas[i].q.total_bytes, 99);
	}
	persist__state_doc_free(&d);
	free(text);
	free(path);
}

static void
test_inactive_userdata_dropped(void **state)
{
	struct world w;
	struct shell_store_user u, *v = NULL;
	char *path = NULL, *text = NULL, err[128];
	size_t len;

	(void)state;
	user_fill(&u);
	u.active = time(NULL) - 10 * 86400;
	text = persist__user_encode(&u, 1, &len);
	path = xasprintf("%s/data/users", tmpdir);
	assert_int_equal(persist__mkdirs(path, err, sizeof(err)), 0);
	free(path);
	path = xasprintf("%s/data/users/bob.json", tmpdir);
	assert_int_equal(persist__write(path, text, len, err, sizeof(err)),
	    0);
	assert_int_equal(world_open(&w, "[persistence.userdata]\n"
	    "inactive_retention_days = 30\n"), 0);
	assert_int_equal(shell_store_export(w.store, 1, &v), 1);
	shell_store_users_free(v, 1);
	world_close(&w);
	assert_int_equal(world_open(&w, "[persistence.userdata]\n"
	    "inactive_retention_days = 5\n"), 0);
	assert_int_equal(shell_store_export(w.store, 1, &v), 0);
	shell_store_users_free(v, 0);
	world_close(&w);
	assert_int_not_equal(access(path, F_OK), 0);	/* removed */
	free(path);
	free(text);
	persist__user_clear(&u);
}

static void
test_data_dir_default(void **state)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *dir = NULL;
	const char *text = "[[users]]\nusername = \"a\"\npassword_hash = "
	    "\"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Jk7X6w5"
	    "nJQ1kq5lYf0u4s0a7cXkzJ5XoXcH7l4t8jE\"\n";

	(void)state;
	memset(&ov, 0, sizeof(ov));
	cfg_diag_init(&d);
	assert_int_equal(cfg_load_string(text, strlen(text), "t.toml",
	    "/etc/sks5", &ov, &c, &d), 0);
	dir = persist_data_dir(c);
	assert_string_equal(dir, "/etc/sks5/data");
	free(dir);
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_rejects),
		cmocka_unit_test(test_rep_roundtrip_and_rejects),
		cmocka_unit_test(test_user_file_names),
		cmocka_unit_test(test_user_roundtrip),
		cmocka_unit_test_setup_teardown(test_files_and_lock, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config_history, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_quota_retention,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_inactive_userdata_dropped,
		    setup, teardown),
		cmocka_unit_test(test_data_dir_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

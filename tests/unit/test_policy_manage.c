/* Unit tests of the operator actions (policy/manage.c: bans listing,
 * unban, quota reset) and of the config keys behind the admin shell:
 * role and idle_warning_secs (no longer pending, validated). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "policy/policy.h"
#include "test_config_util.h"

/* 2026-03-06 12:00:00 UTC. */
#define NOW	(1772755200000LL + 12 * 3600000LL)

struct fx {
	struct cfg		*cfg;
	struct policy_state	*st;
	struct policy_snap	*snap;
	const struct policy_user *u;
};

static void
fx_load(struct fx *f, const char *pre, const char *post)
{
	struct cfg_diag d;
	char *t = doc(pre, post);

	f->cfg = load(t, 0, &d);
	if (f->cfg == NULL)
		show(&d);
	assert_non_null(f->cfg);
	cfg_diag_cleanup(&d);
	free(t);
	f->st = policy_state_new();
	f->snap = policy_snap_new(f->cfg, 1, f->st);
	f->u = policy_snap_user(f->snap, "alice");
	assert_non_null(f->u);
}

static void
fx_free(struct fx *f)
{
	policy_snap_unref(f->snap);
	policy_state_free(f->st);
}

static struct sockaddr_storage
sa(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

#define SA(x)	((const struct sockaddr *)&(x))

/* Fails auth from ip until it is banned. */
static void
ban(struct fx *f, const char *ip, int64_t now)
{
	struct sockaddr_storage a = sa(ip);
	int i;

	for (i = 0; i < 10; i++) {
		if (policy_auth_failed(f->snap, SA(a), now + i))
			return;
	}
	fail_msg("%s never banned", ip);
}

static void
test_bans_and_unban(void **state)
{
	struct fx f;
	struct policy_ban *b = NULL;
	struct sockaddr_storage a = sa("192.0.2.7"), v6 = sa("2001:db8::5");
	size_t n;

	(void)state;
	fx_load(&f, "[security]\nban_threshold = 2\nban_duration = 60\n"
	    "ip_reputation_enabled = false\n", "");
	/* Empty table (never used): nothing listed, nothing to lift. */
	assert_int_equal(policy_bans(f.snap, NOW, &b), 0);
	free(b);
	assert_int_equal(policy_unban(f.snap, "192.0.2.7", NOW),
	    ERR_NOTFOUND);
	ban(&f, "192.0.2.7", NOW);
	ban(&f, "2001:db8::5", NOW);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW + 100),
	    POLICY_PRE_BANNED);
	n = policy_bans(f.snap, NOW + 100, &b);
	assert_int_equal(n, 2);
	/* Sorted by text; IPv4 shown without the ::ffff: prefix. */
	assert_string_equal(b[0].addr, "192.0.2.7");
	assert_string_equal(b[1].addr, "2001:db8::5");
	assert_int_equal(b[0].until_ms, NOW + 1 + 60000);
	free(b);
	/* Bad input, not banned, then the real thing. */
	assert_int_equal(policy_unban(f.snap, "nope", NOW), ERR_INVAL);
	assert_int_equal(policy_unban(f.snap, "192.0.2.8", NOW + 100),
	    ERR_NOTFOUND);
	assert_int_equal(policy_unban(f.snap, "192.0.2.7", NOW + 100), 0);
	assert_int_equal(policy_unban(f.snap, "192.0.2.7", NOW + 100),
	    ERR_NOTFOUND);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW + 200),
	    POLICY_PRE_OK);
	policy_preauth_release(f.snap, SA(a));
	/* The failure history went too: one more failure does not ban. */
	assert_int_equal(policy_auth_failed(f.snap, SA(a), NOW + 300), 0);
	n = policy_bans(f.snap, NOW + 300, &b);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].addr, "2001:db8::5");
	free(b);
	/* Expired bans are not listed. */
	assert_int_equal(policy_bans(f.snap, NOW + 120000, &b), 0);
	free(b);
	assert_int_equal(policy_preauth(f.snap, SA(v6), NOW + 120000),
	    POLICY_PRE_OK);
	policy_preauth_release(f.snap, SA(v6));
	fx_free(&f);
}

/* An address over the reputation bar is listed and can be let in. */
static void
test_reputation_block(void **state)
{
	struct fx f;
	struct policy_ban *b = NULL;
	struct sockaddr_storage a = sa("198.51.100.4");
	int i;

	(void)state;
	fx_load(&f, "[security]\nban_enabled = false\n"
	    "ip_reputation_enabled = true\nip_reputation_ban_threshold = 20\n",
	    "");
	for (i = 0; i < 3; i++)
		(void)policy_auth_failed(f.snap, SA(a), NOW);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW),
	    POLICY_PRE_REPUTATION);
	assert_int_equal(policy_bans(f.snap, NOW, &b), 1);
	assert_int_equal(b[0].until_ms, 0);
	assert_true(b[0].rep >= 20.0);
	free(b);
	assert_int_equal(policy_unban(f.snap, "198.51.100.4", NOW), 0);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW), POLICY_PRE_OK);
	policy_preauth_release(f.snap, SA(a));
	fx_free(&f);
}

static void
test_quota_reset(void **state)
{
	struct fx f;

	(void)state;
	fx_load(&f, "", "[users.quotas]\ndaily_connection_limit = 1\n"
	    "daily_bandwidth_bytes = 1000\n");
	assert_null(policy_stream_admit(f.snap, f.u, NOW));
	policy_stream_connected(f.snap, f.u, NOW);
	policy_stream_release(f.snap, f.u, 10, NOW);
	assert_string_equal(policy_stream_admit(f.snap, f.u, NOW),
	    "daily connection quota exceeded");
	assert_int_equal(policy_quota_reset(f.snap, "nobody"), ERR_NOTFOUND);
	assert_int_equal(policy_quota_reset(f.snap, "alice"), 0);
	assert_int_equal(f.u->state->quota.total_bytes, 0);
	assert_null(policy_stream_admit(f.snap, f.u, NOW));
	policy_stream_release(f.snap, f.u, 0, NOW);
	fx_free(&f);
}

/* Concurrent listings and lifts while failures pour in: no lost lock,
 * no crash (run under ASan in make test). */
struct race {
	struct fx	*f;
	int		 which;
};

static void *
race_main(void *arg)
{
	struct race *r = arg;
	struct policy_ban *b = NULL;
	struct sockaddr_storage a = sa("192.0.2.50");
	int i;

	for (i = 0; i < 2000; i++) {
		if (r->which == 0) {
			(void)policy_auth_failed(r->f->snap, SA(a), NOW + i);
		} else if (r->which == 1) {
			(void)policy_unban(r->f->snap, "192.0.2.50", NOW + i);
		} else {
			(void)policy_bans(r->f->snap, NOW + i, &b);
			free(b);
			(void)policy_quota_reset(r->f->snap, "alice");
		}
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx f;
	struct race r[3];
	pthread_t t[3];
	int i;

	(void)state;
	fx_load(&f, "[security]\nban_threshold = 3\n", "");
	for (i = 0; i < 3; i++) {
		r[i].f = &f;
		r[i].which = i;
		assert_int_equal(pthread_create(&t[i], NULL, race_main, &r[i]),
		    0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	fx_free(&f);
}

/* role and idle_warning_secs load without allow_pending. */
static void
test_keys_not_pending(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[limits]\nidle_timeout = 600\nidle_warning_secs = 60\n"
	    "[[groups]]\nname = \"ops\"\nrole = \"admin\"\n"
	    "idle_warning_secs = 120\n",
	    "group = \"ops\"\nidle_warning_secs = 30\n"
	    "[[users]]\nusername = \"bob\"\npassword_hash = \"" HASH "\"\n"
	    "role = \"admin\"\n"
	    "[[users]]\nusername = \"carol\"\npassword_hash = \"" HASH "\"\n"
	    "group = \"ops\"\n"
	    "[[users]]\nusername = \"dave\"\npassword_hash = \"" HASH "\"\n");

	(void)state;
	assert_int_equal(cfg_key_pending("users.role"), 0);
	assert_int_equal(cfg_key_pending("groups.role"), 0);
	assert_int_equal(cfg_key_pending("limits.idle_warning_secs"), 0);
	assert_int_equal(cfg_key_pending("users.idle_warning_secs"), 0);
	assert_int_equal(cfg_key_pending("groups.idle_warning_secs"), 0);
	c = load(t, 0, &d);
	if (c == NULL)
		show(&d);
	assert_non_null(c);
	assert_int_equal(cfg_user_find(c, "alice")->eff.role, CFG_ROLE_ADMIN);
	assert_int_equal(cfg_user_find(c, "alice")->eff.idle_warning_secs, 30);
	assert_int_equal(cfg_user_find(c, "bob")->eff.role, CFG_ROLE_ADMIN);
	assert_int_equal(cfg_user_find(c, "bob")->eff.idle_warning_secs, 60);
	assert_int_equal(cfg_user_find(c, "carol")->eff.idle_warning_secs,
	    120);
	assert_int_equal(cfg_user_find(c, "dave")->eff.role, CFG_ROLE_USER);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
}

/* A warning must come before the disconnect it announces. */
static void
test_idle_warning_validation(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = NULL;

	(void)state;
	assert_true(fails_with("[limits]\nidle_timeout = 60\n"
	    "idle_warning_secs = 60\n", "", "limits.idle_warning_secs: must "
	    "be less than limits.idle_timeout (60 s), got 60 s"));
	assert_true(fails_with("[limits]\nidle_warning_secs = 10\n", "",
	    "limits.idle_warning_secs: 10 s warns of an idle disconnect, but "
	    "limits.idle_timeout is 0"));
	assert_true(fails_with("[limits]\nidle_timeout = 60\n",
	    "idle_warning_secs = 90\n", "users.0.idle_warning_secs: must be "
	    "less than limits.idle_timeout (60 s), got 90 s"));
	assert_true(fails_with("[limits]\nidle_timeout = 60\n[[groups]]\n"
	    "name = \"g\"\nidle_warning_secs = 61\n", "",
	    "groups.0.idle_warning_secs: must be less than"));
	/* 0 turns the warning off, whatever the timeout. */
	t = doc("[limits]\nidle_warning_secs = 0\n", "idle_warning_secs = 0\n");
	c = load(t, 0, &d);
	assert_non_null(c);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bans_and_unban),
		cmocka_unit_test(test_reputation_block),
		cmocka_unit_test(test_quota_reset),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_keys_not_pending),
		cmocka_unit_test(test_idle_warning_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the policy API (policy/policy.h) over real configs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "test_config_util.h"

/* 2026-03-06 12:00:00 UTC, a Friday. */
#define NOW	(1772755200000LL + 12 * 3600000LL)

struct fx {
	struct cfg		*cfg;
	struct policy_state	*st;
	struct policy_snap	*snap;
	const struct policy_user *u;
};

/* Loads pre + alice + post into a snapshot. */
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

static struct sockaddr_in
sa4(const char *ip)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

#define SA(x)	((const struct sockaddr *)&(x))

static void
test_preauth(void **state)
{
	struct fx f;
	struct sockaddr_in a = sa4("127.0.0.1"), b = sa4("10.1.1.1");

	(void)state;
	fx_load(&f, "[security]\nallowed_source_ips = [\"127.0.0.0/8\"]\n"
	    "ban_threshold = 2\nban_duration = 60\n"
	    "[limits]\nmax_unauthenticated_connections = 2\n", "");
	assert_int_equal(policy_preauth(f.snap, SA(b), NOW), POLICY_PRE_SOURCE);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW), POLICY_PRE_OK);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW), POLICY_PRE_OK);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW),
	    POLICY_PRE_UNAUTH);
	policy_preauth_release(f.snap, SA(a));
	policy_preauth_release(f.snap, SA(a));
	assert_int_equal(atomic_load(&f.st->unauth), 0);
	assert_int_equal(policy_auth_failed(f.snap, SA(a), NOW), 0);
	assert_int_equal(policy_auth_failed(f.snap, SA(a), NOW + 1), 1);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW + 2),
	    POLICY_PRE_BANNED);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW + 60001),
	    POLICY_PRE_OK);
	policy_preauth_release(f.snap, SA(a));
	assert_string_equal(policy_pre_str(POLICY_PRE_BANNED), "banned");
	fx_free(&f);
}

static void
test_maintenance(void **state)
{
	struct fx f;
	struct sockaddr_in a = sa4("127.0.0.1");
	const char *msg = NULL;
	int disc = 0;

	(void)state;
	fx_load(&f, "[[maintenance_windows]]\nschedule = \"daily 23:00-01:00\"\n"
	    "message = \"back soon\"\ndisconnect_existing = true\n", "");
	assert_int_equal(policy_maintenance(f.snap, NOW, &msg, &disc), 0);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW), POLICY_PRE_OK);
	policy_preauth_release(f.snap, SA(a));
	assert_int_equal(policy_maintenance_toggle(f.st), 1);
	assert_int_equal(policy_maintenance(f.snap, NOW, &msg, &disc), 1);
	assert_string_equal(msg, POLICY_MAINT_MESSAGE);
	assert_int_equal(disc, 0);
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW),
	    POLICY_PRE_MAINTENANCE);
	assert_int_equal(atomic_load(&f.st->unauth), 0);
	/* SSH's gate leaves maintenance to the login (it can show the
	 * message there): admitted, and counted as unauthenticated. */
	assert_int_equal(policy_preauth_gate(f.snap, SA(a), NOW, 0),
	    POLICY_PRE_OK);
	assert_int_equal(atomic_load(&f.st->unauth), 1);
	policy_preauth_release(f.snap, SA(a));
	assert_int_equal(policy_preauth_gate(f.snap, SA(a), NOW, 1),
	    POLICY_PRE_MAINTENANCE);
	assert_int_equal(atomic_load(&f.st->unauth), 0);
	/* Manual maintenance refuses new sessions, keeps live ones. */
	assert_null(policy_session_check(f.snap, f.u, NOW));
	assert_int_equal(policy_maintenance_toggle(f.st), 0);
	/* The window at night: message and disconnect from the window. */
	assert_int_equal(policy_maintenance(f.snap, NOW + 11 * 3600000LL,
	    &msg, &disc), 1);
	assert_string_equal(msg, "back soon");
	assert_int_equal(disc, 1);
	assert_string_equal(policy_session_check(f.snap, f.u,
	    NOW + 11 * 3600000LL), "back soon");
	assert_string_equal(policy_login_check(f.snap, f.u, SA(a),
	    NOW + 11 * 3600000LL), "back soon");
	fx_free(&f);
}

static void
test_login(void **state)
{
	struct fx f;
	struct sockaddr_in a = sa4("127.0.0.1"), b = sa4("127.0.0.2");

	(void)state;
	fx_load(&f, "", "expires_at = \"2026-03-06T13:00:00Z\"\n"
	    "source_ips = [\"127.0.0.1/32\"]\n"
	    "[users.time_access]\naccess_hours = \"08:00-18:00\"\n");
	assert_null(policy_login_check(f.snap, f.u, SA(a), NOW));
	assert_string_equal(policy_login_check(f.snap, f.u, SA(b), NOW),
	    "source address not allowed for this user");
	assert_string_equal(policy_login_check(f.snap, f.u, SA(a),
	    NOW - 5 * 3600000LL), "outside the allowed time window");
	assert_null(policy_session_check(f.snap, f.u, NOW + 3599999));
	fx_free(&f);
	/* The end of the time window closes a live session (end exclusive);
	 * a window crossing midnight keeps it until the morning. */
	fx_load(&f, "", "[users.time_access]\naccess_hours = "
	    "\"08:00-12:30\"\n");
	assert_null(policy_session_check(f.snap, f.u, NOW + 1799999));
	assert_string_equal(policy_session_check(f.snap, f.u, NOW + 1800000),
	    "outside the allowed time window");
	fx_free(&f);
	fx_load(&f, "", "[users.time_access]\naccess_hours = "
	    "\"11:00-06:00\"\n");
	assert_null(policy_session_check(f.snap, f.u, NOW + 17 * 3600000LL));
	assert_string_equal(policy_session_check(f.snap, f.u,
	    NOW + 18 * 3600000LL), "outside the allowed time window");
	fx_free(&f);
	fx_load(&f, "", "expires_at = \"2026-03-06T13:00:00Z\"\n"
	    "source_ips = [\"127.0.0.1/32\"]\n"
	    "[users.time_access]\naccess_hours = \"08:00-18:00\"\n");
	assert_string_equal(policy_session_check(f.snap, f.u, NOW + 3600000),
	    "account expired");
	assert_string_equal(policy_stream_admit(f.snap, f.u, NOW + 3600000),
	    "account expired");
	fx_free(&f);
}

/* One more user with its own rate limit. */
#define RATE_USER(name, rl) "[[users]]\nusername = \"" name "\"\n" \
	"password_hash = \"" HASH "\"\n[users.rate_limits]\n" rl "\n"

/* security.rate_limit_max_users: stale histories go first, then the
 * least recently used; pruning keeps every history a decision needs. */
static void
test_rate_users_cap_and_prune(void **state)
{
	struct fx f;
	struct sockaddr_in a = sa4("127.0.0.1");
	const struct policy_user *b, *c, *d, *h;
	const int64_t idle = POLICY_IDLE_MS;
	size_t ips = 9, users = 9;

	(void)state;
	fx_load(&f, "[security]\nrate_limit_max_users = 2\n",
	    "[users.rate_limits]\nconnections_per_minute = 1\n"
	    RATE_USER("bob", "connections_per_minute = 1")
	    RATE_USER("carol", "connections_per_minute = 1")
	    RATE_USER("dave", "connections_per_minute = 1")
	    RATE_USER("hal", "connections_per_hour = 1")
	    "[[users]]\nusername = \"free\"\npassword_hash = \"" HASH "\"\n");
	b = policy_snap_user(f.snap, "bob");
	c = policy_snap_user(f.snap, "carol");
	d = policy_snap_user(f.snap, "dave");
	h = policy_snap_user(f.snap, "hal");
	assert_null(policy_stream_admit(f.snap, f.u, NOW));
	policy_stream_release(f.snap, f.u, 0, NOW);
	assert_null(policy_stream_admit(f.snap, b, NOW + 1));
	policy_stream_release(f.snap, b, 0, NOW + 1);
	assert_int_equal(atomic_load(&f.st->rate_users), 2);
	/* A user without rate limits holds no history. */
	assert_null(policy_stream_admit(f.snap,
	    policy_snap_user(f.snap, "free"), NOW + 2));
	policy_stream_release(f.snap, policy_snap_user(f.snap, "free"), 0,
	    NOW + 2);
	assert_int_equal(atomic_load(&f.st->rate_users), 2);
	/* At the cap, nothing stale: the least recently used (alice) loses
	 * her window, so she may connect again within the minute. */
	assert_null(policy_stream_admit(f.snap, c, NOW + 3));
	policy_stream_release(f.snap, c, 0, NOW + 3);
	assert_int_equal(atomic_load(&f.st->rate_users), 2);
	assert_int_equal(atomic_load(&f.st->rate_user_evictions), 1);
	assert_false(atomic_load(&f.u->state->rate_tracked));
	assert_string_equal(policy_stream_admit(f.snap, b, NOW + 4),
	    "user connection rate limit (per minute) exceeded");
	/* A minute later bob and carol are stale: they go first, no
	 * eviction counted. */
	assert_null(policy_stream_admit(f.snap, d, NOW + 60004));
	policy_stream_release(f.snap, d, 0, NOW + 60004);
	assert_int_equal(atomic_load(&f.st->rate_users), 1);
	assert_int_equal(atomic_load(&f.st->rate_user_evictions), 1);
	/* hal: one per hour. Pruning after 600 s idle keeps his history
	 * (the window still holds the event): still refused. */
	assert_null(policy_stream_admit(f.snap, h, NOW + 60005));
	policy_stream_release(f.snap, h, 0, NOW + 60005);
	assert_int_equal(atomic_load(&f.st->rate_users), 2);
	policy_prune(f.snap, NOW + 60004 + idle - 1, &ips, &users);
	assert_int_equal(users, 0);
	policy_prune(f.snap, NOW + 60005 + idle, &ips, &users);
	assert_int_equal(users, 1);		/* dave */
	assert_int_equal(atomic_load(&f.st->rate_users), 1);
	assert_true(atomic_load(&h->state->rate_tracked));
	assert_string_equal(policy_stream_admit(f.snap, h,
	    NOW + 60005 + idle + 1),
	    "user connection rate limit (per hour) exceeded");
	policy_prune(f.snap, NOW + 60005 + 3600000, &ips, &users);
	assert_int_equal(users, 1);		/* hal, now stale and idle */
	assert_int_equal(atomic_load(&f.st->rate_users), 0);
	assert_null(policy_stream_admit(f.snap, h, NOW + 60005 + 3600000));
	policy_stream_release(f.snap, h, 0, NOW + 60005 + 3600000);
	/* Per-IP entries are pruned by the same call. */
	assert_int_equal(policy_preauth(f.snap, SA(a), NOW), POLICY_PRE_OK);
	policy_preauth_release(f.snap, SA(a));
	policy_prune(f.snap, NOW + idle - 1, &ips, &users);
	assert_int_equal(ips, 0);
	policy_prune(f.snap, NOW + idle, &ips, &users);
	assert_int_equal(ips, 1);
	assert_int_equal(f.st->ipt.used, 0);
	fx_free(&f);
}

static void
test_stream_limits(void **state)
{
	struct fx f;
	int i;

	(void)state;
	fx_load(&f, "[limits]\nmax_connections = 3\n"
	    "[[groups]]\nname = \"g\"\nmax_connections_per_user = 2\n"
	    "[groups.rate_limits]\nconnections_per_minute = 4\n",
	    "group = \"g\"\n");
	assert_int_equal(f.u->cfg->eff.max_connections, 2);
	assert_null(policy_stream_admit(f.snap, f.u, NOW));
	assert_null(policy_stream_admit(f.snap, f.u, NOW));
	assert_string_equal(policy_stream_admit(f.snap, f.u, NOW),
	    "user connection limit (max_connections)");
	policy_stream_release(f.snap, f.u, 0, NOW);
	policy_stream_release(f.snap, f.u, 0, NOW);
	/* The three requests above used 3 of 4 per minute (attempts). */
	assert_null(policy_stream_admit(f.snap, f.u, NOW + 1));
	policy_stream_release(f.snap, f.u, 0, NOW);
	assert_string_equal(policy_stream_admit(f.snap, f.u, NOW + 59999),
	    "user connection rate limit (per minute) exceeded");
	assert_null(policy_stream_admit(f.snap, f.u, NOW + 60000));
	policy_stream_release(f.snap, f.u, 0, NOW);
	assert_int_equal(atomic_load(&f.st->active_streams), 0);
	fx_free(&f);
	/* Explicit unlimited under a limited group; server-wide rate. */
	fx_load(&f, "[limits]\nmax_new_connections_per_second = 2\n"
	    "[[groups]]\nname = \"g\"\nmax_connections_per_user = 1\n",
	    "group = \"g\"\nmax_connections = 0\n");
	assert_int_equal(f.u->cfg->eff.max_connections, 0);
	for (i = 0; i < 2; i++)
		assert_null(policy_stream_admit(f.snap, f.u, NOW));
	assert_string_equal(policy_stream_admit(f.snap, f.u, NOW + 999),
	    "server connection rate limit (per second) exceeded");
	assert_null(policy_stream_admit(f.snap, f.u, NOW + 1000));
	fx_free(&f);
}

static void
test_meter_quota_cut(void **state)
{
	struct fx f;
	struct policy_meter m;
	uint64_t wait = 0, total = 0;
	size_t g;
	int i;

	(void)state;
	fx_load(&f, "", "[users.quotas]\ndaily_bandwidth_bytes = 100000\n"
	    "daily_connection_limit = 1\n");
	assert_null(policy_stream_admit(f.snap, f.u, NOW));
	policy_stream_connected(f.snap, f.u, NOW);
	assert_int_equal(policy_meter_init(&m, f.snap, f.u, 0), 1);
	for (i = 0; i < 100; i++) {
		g = policy_meter_grant(&m, 65536, 0, NOW, &wait);
		if (g == 0)
			break;
		/* Reads may take less than granted. */
		policy_meter_settle(&m, g, g / 2 + 1, NOW);
		total += g / 2 + 1;
	}
	assert_int_equal(total, 100000);	/* exactly at the limit */
	assert_int_equal(wait, 0);
	assert_string_equal(m.why, "daily bandwidth quota exceeded");
	policy_stream_release(f.snap, f.u, 0, NOW);
	assert_string_equal(policy_stream_admit(f.snap, f.u, NOW),
	    "daily connection quota exceeded");
	fx_free(&f);
}

static void
test_meter_throttle(void **state)
{
	struct fx f;
	struct policy_meter m, m2;
	uint64_t wait = 0, t = 0, moved = 0;
	size_t g;

	(void)state;
	fx_load(&f, "", "max_bandwidth_kbps = 80\n");	/* 10000 B/s */
	assert_int_equal(policy_meter_init(&m, f.snap, f.u, 0), 1);
	while (t <= 10000000) {
		g = policy_meter_grant(&m, 65536, t, NOW, &wait);
		if (g == 0) {
			assert_true(wait > 0);
			t += wait;
			continue;
		}
		policy_meter_settle(&m, g, g, NOW);
		moved += g;
	}
	/* 10 s at 10000 B/s plus the burst, minus at most one grant. */
	assert_true(moved <= 100000 + 1024);
	assert_true(moved >= 100000 - 256);
	fx_free(&f);
	/* No limit: the meter is not needed. */
	fx_load(&f, "", "");
	assert_int_equal(policy_meter_init(&m2, f.snap, f.u, 0), 0);
	fx_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preauth),
		cmocka_unit_test(test_maintenance),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_rate_users_cap_and_prune),
		cmocka_unit_test(test_stream_limits),
		cmocka_unit_test(test_meter_quota_cut),
		cmocka_unit_test(test_meter_throttle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

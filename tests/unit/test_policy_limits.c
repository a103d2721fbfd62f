/* Unit tests for the pure policy pieces (policy/limits.h), fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/values.h"
#include "policy/limits.h"

/* 2026-03-06 00:00:00 UTC, a Friday. */
#define FRI	1772755200000LL
#define MIN	60000LL
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* ----- sliding windows ----- */

static void
test_ratewin_boundary(void **state)
{
	struct ratewin w;

	(void)state;
	ratewin_init(&w, 3, 1000);
	assert_true(ratewin_allows(&w, 0));
	ratewin_add(&w, 0);
	ratewin_add(&w, 100);
	ratewin_add(&w, 200);
	assert_false(ratewin_allows(&w, 200));
	assert_false(ratewin_allows(&w, 999));
	/* The event at 0 leaves the window (t - 1000, t] at t = 1000. */
	assert_true(ratewin_allows(&w, 1000));
	assert_int_equal(ratewin_count(&w, 1000), 2);
	ratewin_add(&w, 1000);
	assert_false(ratewin_allows(&w, 1099));
	assert_true(ratewin_allows(&w, 1100));
	ratewin_cleanup(&w);
}

static void
test_ratewin_grows_and_resets(void **state)
{
	struct ratewin w;
	int i;

	(void)state;
	ratewin_init(&w, 50, 60000);
	for (i = 0; i < 50; i++) {
		assert_true(ratewin_allows(&w, i));
		ratewin_add(&w, i);
	}
	assert_true(w.cap <= 50);
	assert_false(ratewin_allows(&w, 59999));
	assert_true(ratewin_allows(&w, 60000));
	assert_int_equal(ratewin_count(&w, 60010), 39);
	/* A changed limit drops the history; the same limit keeps it. */
	ratewin_set_limit(&w, 50, 60000);
	assert_int_equal(w.n, 50);
	ratewin_set_limit(&w, 10, 60000);
	assert_int_equal(w.n, 0);
	/* Unlimited never refuses and stores nothing. */
	ratewin_set_limit(&w, 0, 1000);
	ratewin_add(&w, 5);
	assert_true(ratewin_allows(&w, 5));
	assert_int_equal(w.n, 0);
	ratewin_cleanup(&w);
}

/* ----- token bucket ----- */

static void
test_tbucket_exact_over_time(void **state)
{
	struct tbucket tb;
	uint64_t t, moved = 0, a;

	(void)state;
	/* 100 kbit/s = 12500 B/s; take everything every 700 us for 10 s. */
	tbucket_init(&tb, tbucket_rate_kbps(100), 1024, 0);
	assert_int_equal(tb.rate, 12500);
	for (t = 0; t <= 10000000; t += 700) {
		a = tbucket_avail(&tb, t);
		tbucket_take(&tb, a);
		moved += a;
	}
	/* burst + rate * elapsed, to the byte (last t = 9999500 us). */
	assert_int_equal(moved, 1024 + 12500ULL * 9999500 / 1000000);
	/* 200 Mbit/s in 64 KiB pieces. */
	tbucket_init(&tb, tbucket_rate_mbps(200), tbucket_burst_for(25000000),
	    0);
	assert_int_equal(tb.rate, 25000000);
	assert_int_equal(tb.burst, 25000000 / TBUCKET_BURST_DIV);
	moved = 0;
	for (t = 0; t <= 1000000; t += 3) {
		a = tbucket_avail(&tb, t);
		if (a > 65536)
			a = 65536;
		tbucket_take(&tb, a);
		moved += a;
	}
	assert_true(moved <= tb.burst + 25000000ULL);
	assert_true(moved >= 25000000ULL);
}

static void
test_tbucket_wait_and_refund(void **state)
{
	struct tbucket tb;

	(void)state;
	tbucket_init(&tb, 1000, 1024, 0);
	assert_int_equal(tbucket_avail(&tb, 0), 1024);
	tbucket_take(&tb, 1024);
	assert_int_equal(tbucket_avail(&tb, 0), 0);
	/* 256 tokens at 1000 B/s: 256 ms. */
	assert_int_equal(tbucket_min_grant(&tb, 65536), 256);
	assert_int_equal(tbucket_min_grant(&tb, 10), 10);
	assert_int_equal(tbucket_wait_us(&tb, 256), 256000);
	assert_int_equal(tbucket_avail(&tb, 255999), 255);
	assert_int_equal(tbucket_wait_us(&tb, 256), 1);
	assert_int_equal(tbucket_avail(&tb, 256000), 256);
	tbucket_refund(&tb, 5000);
	assert_int_equal(tb.tokens, 1024);	/* capped at the burst */
	/* Never more than the burst, even after a long pause. */
	assert_int_equal(tbucket_avail(&tb, 3600000000ULL), 1024);
	/* Unlimited. */
	tbucket_init(&tb, 0, 0, 0);
	assert_true(tbucket_avail(&tb, 5) == UINT64_MAX);
	assert_int_equal(tbucket_wait_us(&tb, 1 << 20), 0);
	assert_int_equal(tbucket_rate_kbps(8), 1000);
	assert_int_equal(tbucket_burst_for(100), TBUCKET_BURST_MIN);
}

/* ----- per-IP table ----- */

static void
key4(const char *ip, unsigned char key[16])
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	assert_int_equal(ipt_key((struct sockaddr *)&sa, key), 0);
}

static void
base_params(struct ipt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->ban_enabled = 1;
	p->ban_threshold = 3;
	p->ban_window_ms = 10000;
	p->ban_duration_ms = 60000;
	p->rep_half_life_ms = 3600000;
	p->rep_threshold = 100;
}

/* Background pruning frees only what no decision needs, after 600 s. */
static void
test_ipt_prune(void **state)
{
	struct ipt t;
	struct ipt_params p;
	unsigned char a[16], b[16], c[16], d[16], e[16];
	const int64_t idle = POLICY_IDLE_MS;

	(void)state;
	base_params(&p);
	p.rep_enabled = 1;
	p.new_per_minute = 10;
	ipt_init(&t, 100);
	key4("10.0.0.1", a);	/* one connection, closed */
	key4("10.0.0.2", b);	/* banned for an hour */
	key4("10.0.0.3", c);	/* holds a live unauthenticated connection */
	key4("10.0.0.4", d);	/* reputation well above 1 */
	key4("10.0.0.5", e);	/* a failure inside ban_window at the end */
	assert_int_equal(ipt_admit(&t, &p, a, 0), IPT_OK);
	ipt_unauth_release(&t, a);
	ipt_ban(&t, b, 3600000, 0);
	assert_int_equal(ipt_admit(&t, &p, c, 0), IPT_OK);
	ipt_rep_add(&t, &p, d, 1000.0, 0);
	assert_int_equal(t.used, 4);
	/* Nothing is idle for 600 s yet. */
	assert_int_equal(ipt_prune(&t, &p, idle - 1, idle), 0);
	assert_int_equal(ipt_prune(&t, &p, idle, idle), 1);	/* a */
	assert_int_equal(t.used, 3);
	assert_int_equal(ipt_rep_score(&t, &p, a, idle), 0.0);
	assert_int_equal(ipt_banned_until(&t, b, idle), 3600000);
	/* A failure inside the window keeps an entry; the same address
	 * is counted again from scratch after a prune otherwise. */
	p.ban_window_ms = 2 * idle;
	p.rep_enabled = 0;	/* no reputation points for this failure */
	assert_int_equal(ipt_auth_failure(&t, &p, e, idle), 0);
	assert_int_equal(ipt_prune(&t, &p, 2 * idle + 5, idle), 0);
	p.ban_window_ms = 10000;
	assert_int_equal(ipt_prune(&t, &p, 2 * idle + 5, idle), 1);	/* e */
	/* The ban ends: b goes (it was last seen at 0). */
	assert_int_equal(ipt_prune(&t, &p, 3600000, idle), 1);
	assert_int_equal(ipt_banned_until(&t, b, 3600000), 0);
	/* The live connection is never pruned; d decays below 1 after
	 * ten half-lives (1000 / 1024). */
	assert_int_equal(ipt_prune(&t, &p, 36000000, idle), 1);	/* d */
	assert_int_equal(t.used, 1);
	ipt_unauth_release(&t, c);
	assert_int_equal(ipt_prune(&t, &p, 36000000, idle), 1);
	assert_int_equal(t.used, 0);
	/* Freed slots are used again. */
	assert_int_equal(ipt_admit(&t, &p, a, 36000001), IPT_OK);
	assert_int_equal(t.used, 1);
	ipt_cleanup(&t);
}

static void
test_ratewin_drop(void **state)
{
	struct ratewin w;

	(void)state;
	ratewin_init(&w, 3, 1000);
	assert_int_equal(ratewin_mem(&w), 0);
	ratewin_add(&w, 0);
	ratewin_add(&w, 1);
	ratewin_add(&w, 2);
	assert_true(ratewin_mem(&w) > 0);
	assert_false(ratewin_allows(&w, 999));
	ratewin_drop(&w);
	assert_int_equal(ratewin_mem(&w), 0);
	assert_int_equal(ratewin_count(&w, 999), 0);
	assert_int_equal(w.limit, 3);
	ratewin_add(&w, 1000);
	assert_int_equal(ratewin_count(&w, 1000), 1);
	ratewin_cleanup(&w);
}

static void
test_ipt_autoban(void **state)
{
	struct ipt t;
	struct ipt_params p;
	unsigned char k[16], k6[16];
	struct sockaddr_in6 s6;

	(void)state;
	base_params(&p);
	ipt_init(&t, 1000);
	key4("192.0.2.7", k);
	/* A v4-mapped IPv6 peer is the same address. */
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr);
	ipt_key((struct sockaddr *)&s6, k6);
	assert_memory_equal(k, k6, 16);
	/* Two failures, then the window slides past the first. */
	assert_int_equal(ipt_auth_failure(&t, &p, k, 0), 0);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 5000), 0);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 10000), 0);
	assert_int_equal(ipt_admit(&t, &p, k, 10000), IPT_OK);
	ipt_unauth_release(&t, k);
	/* Third within 10 s of the second: banned until 12000 + 60000. */
	assert_int_equal(ipt_auth_failure(&t, &p, k, 12000), 1);
	assert_int_equal(ipt_banned_until(&t, k, 12000), 72000);
	assert_int_equal(ipt_admit(&t, &p, k, 71999), IPT_BANNED);
	assert_int_equal(ipt_admit(&t, &p, k, 72000), IPT_OK);
	ipt_unauth_release(&t, k);
	/* The ban cleared the failures: three more are needed. */
	assert_int_equal(ipt_auth_failure(&t, &p, k, 72001), 0);
	/* A success does not reset failures. */
	ipt_auth_success(&t, &p, k, 72002);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 72003), 0);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 72004), 1);
	/* Manual unban and ban. */
	ipt_ban(&t, k, 0, 72005);
	assert_int_equal(ipt_banned_until(&t, k, 72005), 0);
	ipt_ban(&t, k, 80000, 72005);
	assert_int_equal(ipt_admit(&t, &p, k, 79999), IPT_BANNED);
	/* Bans disabled: failures do not ban, existing bans still hold. */
	p.ban_enabled = 0;
	assert_int_equal(ipt_admit(&t, &p, k, 79999), IPT_BANNED);
	key4("192.0.2.8", k);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 0), 0);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 1), 0);
	assert_int_equal(ipt_auth_failure(&t, &p, k, 2), 0);
	assert_int_equal(ipt_banned_until(&t, k, 2), 0);
	ipt_cleanup(&t);
}

static void
test_ipt_whitelist(void **state)
{
	struct ipt t;
	struct ipt_params p;
	struct cfg_cidr wl;
	char err[64];
	unsigned char k[16];
	int i;

	(void)state;
	base_params(&p);
	assert_int_equal(cfg_parse_cidr("198.51.100.0/24", 0, &wl, err,
	    sizeof(err)), 0);
	p.whitelist = &wl;
	p.nwhitelist = 1;
	p.new_per_minute = 1;
	p.rep_enabled = 1;
	ipt_init(&t, 100);
	key4("198.51.100.9", k);
	assert_true(ipt_whitelisted(&p, k));
	for (i = 0; i < 10; i++)
		assert_int_equal(ipt_auth_failure(&t, &p, k, i), 0);
	assert_true(ipt_rep_score(&t, &p, k, 10) == 0.0);
	/* Exempt from the per-IP rate too. */
	for (i = 0; i < 5; i++)
		assert_int_equal(ipt_admit(&t, &p, k, 10), IPT_OK);
	key4("198.51.101.9", k);
	assert_false(ipt_whitelisted(&p, k));
	ipt_cleanup(&t);
}

static void
test_ipt_rate_and_unauth(void **state)
{
	struct ipt t;
	struct ipt_params p;
	unsigned char k[16];
	int i;

	(void)state;
	base_params(&p);
	p.new_per_minute = 6;	/* one token per 10 s, burst 6 */
	p.unauth_per_ip = 100;
	ipt_init(&t, 100);
	key4("203.0.113.1", k);
	for (i = 0; i < 6; i++)
		assert_int_equal(ipt_admit(&t, &p, k, 0), IPT_OK);
	assert_int_equal(ipt_admit(&t, &p, k, 0), IPT_RATE);
	assert_int_equal(ipt_admit(&t, &p, k, 9999), IPT_RATE);
	assert_int_equal(ipt_admit(&t, &p, k, 10000), IPT_OK);
	assert_int_equal(ipt_admit(&t, &p, k, 10001), IPT_RATE);
	/* A minute refills everything, never more than the burst. */
	for (i = 0; i < 6; i++)
		assert_int_equal(ipt_admit(&t, &p, k, 600000), IPT_OK);
	assert_int_equal(ipt_admit(&t, &p, k, 600000), IPT_RATE);
	/* Unauthenticated cap per IP. */
	p.new_per_minute = 0;
	p.unauth_per_ip = 2;
	key4("203.0.113.2", k);
	assert_int_equal(ipt_admit(&t, &p, k, 0), IPT_OK);
	assert_int_equal(ipt_admit(&t, &p, k, 0), IPT_OK);
	assert_int_equal(ipt_admit(&t, &p, k, 0), IPT_UNAUTH_IP);
	ipt_unauth_release(&t, k);
	assert_int_equal(ipt_admit(&t, &p, k, 0), IPT_OK);
	ipt_cleanup(&t);
}

static void
test_ipt_reputation(void **state)
{
	struct ipt t;
	struct ipt_params p;
	unsigned char k[16];
	int i;

	(void)state;
	base_params(&p);
	p.ban_enabled = 0;
	p.rep_enabled = 1;
	p.rep_threshold = 50;
	ipt_init(&t, 100);
	key4("192.0.2.99", k);
	ipt_rep_add(&t, &p, k, 40.0, 0);
	/* One half-life halves the score. */
	assert_true(fabs(ipt_rep_score(&t, &p, k, 3600000) - 20.0) < 1e-9);
	assert_true(fabs(ipt_rep_score(&t, &p, k, 7200000) - 10.0) < 1e-9);
	for (i = 0; i < 5; i++)
		ipt_auth_failure(&t, &p, k, 7200000);
	assert_true(fabs(ipt_rep_score(&t, &p, k, 7200000) - 60.0) < 1e-9);
	assert_int_equal(ipt_admit(&t, &p, k, 7200000), IPT_REPUTATION);
	/* Successes lower it; the floor is 0. */
	ipt_auth_success(&t, &p, k, 7200000);
	ipt_auth_success(&t, &p, k, 7200000);
	assert_true(fabs(ipt_rep_score(&t, &p, k, 7200000) - 50.0) < 1e-9);
	assert_int_equal(ipt_admit(&t, &p, k, 7200000), IPT_REPUTATION);
	ipt_auth_success(&t, &p, k, 7200000);
	assert_int_equal(ipt_admit(&t, &p, k, 7200000), IPT_OK);
	for (i = 0; i < 40; i++)
		ipt_auth_success(&t, &p, k, 7200000);
	assert_true(ipt_rep_score(&t, &p, k, 7200000) == 0.0);
	/* Decays below the threshold by itself. */
	ipt_rep_add(&t, &p, k, 100.0, 0);
	assert_int_equal(ipt_admit(&t, &p, k, 1), IPT_REPUTATION);
	assert_int_equal(ipt_admit(&t, &p, k, 3600001), IPT_OK);
	/* Threshold 0: never rejects. */
	p.rep_threshold = 0;
	ipt_rep_add(&t, &p, k, 1e6, 0);
	assert_int_equal(ipt_admit(&t, &p, k, 1), IPT_OK);
	ipt_cleanup(&t);
}

static void
test_ipt_bounded(void **state)
{
	struct ipt t;
	struct ipt_params p;
	unsigned char k[16], hold[16];
	char ip[32];
	int i, ok = 0;

	(void)state;
	base_params(&p);
	p.unauth_per_ip = 10;
	ipt_init(&t, 64);
	assert_int_equal(t.nslots, 64);
	key4("10.9.9.9", hold);
	assert_int_equal(ipt_admit(&t, &p, hold, 0), IPT_OK);
	assert_int_equal(ipt_auth_failure(&t, &p, hold, 0), 0);
	/* A flood of distinct addresses never grows the table. */
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255,
		    (i >> 8) & 255, i & 255);
		key4(ip, k);
		if (ipt_admit(&t, &p, k, i) == IPT_OK) {
			ok++;
			ipt_unauth_release(&t, k);
		}
		ipt_auth_failure(&t, &p, k, i);
	}
	assert_true(t.used <= t.nslots);
	assert_true(t.evictions > 0);
	assert_int_equal(ok, 20000);
	/* The entry holding a live unauthenticated connection survived. */
	assert_int_equal(ipt_admit(&t, &p, hold, 20000), IPT_OK);
	{
		size_t j;
		int found = 0;

		for (j = 0; j < t.nslots; j++) {
			if (t.slots[j].used &&
			    memcmp(t.slots[j].addr, hold, 16) == 0) {
				assert_int_equal(t.slots[j].unauth, 2);
				found = 1;
			}
		}
		assert_true(found);
	}
	ipt_cleanup(&t);
}

/* ----- quotas ----- */

static void
test_quota_periods(void **state)
{
	struct quota_state q;
	struct cfg_quotas l;
	const char *why = NULL;
	int64_t t = FRI + 23 * HOUR + 59 * MIN;

	(void)state;
	memset(&q, 0, sizeof(q));
	memset(&l, 0, sizeof(l));
	assert_true(quota_bytes_left(&q, &l, t, &why) == UINT64_MAX);
	assert_null(why);
	l.daily_bandwidth_bytes = 1000;
	l.monthly_bandwidth_bytes = 5000;
	quota_add_bytes(&q, 800, t);
	assert_int_equal(quota_bytes_left(&q, &l, t, &why), 200);
	quota_add_bytes(&q, 200, t);
	assert_int_equal(quota_bytes_left(&q, &l, t, &why), 0);
	assert_string_equal(why, "daily bandwidth quota exceeded");
	assert_string_equal(quota_check_stream(&q, &l, t),
	    "daily bandwidth quota exceeded");
	/* Midnight: a fresh day, the month goes on. */
	assert_int_equal(quota_bytes_left(&q, &l, t + MIN, &why), 1000);
	assert_int_equal(q.month_bytes, 1000);
	assert_null(quota_check_stream(&q, &l, t + MIN));
	/* Giving back never wraps. */
	quota_sub_bytes(&q, 5000, t + MIN);
	assert_int_equal(q.day_bytes, 0);
}

static void
test_quota_month_change(void **state)
{
	struct quota_state q;
	struct cfg_quotas l;
	/* 2026-01-31 23:59:59.999 UTC, then 2026-02-01 00:00. */
	int64_t jan = 1769903999999LL, feb = jan + 1;

	(void)state;
	memset(&q, 0, sizeof(q));
	memset(&l, 0, sizeof(l));
	l.monthly_connection_limit = 2;
	l.daily_connection_limit = 5;
	l.total_bandwidth_bytes = 100;
	quota_add_conn(&q, jan);
	quota_add_conn(&q, jan);
	assert_string_equal(quota_check_stream(&q, &l, jan),
	    "monthly connection quota exceeded");
	assert_null(quota_check_stream(&q, &l, feb));
	/* Total never resets. */
	quota_add_bytes(&q, 100, jan);
	assert_string_equal(quota_check_stream(&q, &l, feb + 40 * DAY),
	    "total bandwidth quota exceeded");
	/* Daily connections. */
	memset(&q, 0, sizeof(q));
	l.monthly_connection_limit = 0;
	l.total_bandwidth_bytes = 0;
	l.daily_connection_limit = 1;
	quota_add_conn(&q, feb);
	assert_string_equal(quota_check_stream(&q, &l, feb + DAY - 1),
	    "daily connection quota exceeded");
	assert_null(quota_check_stream(&q, &l, feb + DAY));
}

static void
test_quota_hourly_rolling(void **state)
{
	struct quota_state q;
	struct cfg_quotas l;
	const char *why = NULL;
	int64_t t = FRI + 10 * HOUR;
	int i;

	(void)state;
	memset(&q, 0, sizeof(q));
	memset(&l, 0, sizeof(l));
	l.bandwidth_per_hour_bytes = 600;
	for (i = 0; i < 60; i++)
		quota_add_bytes(&q, 10, t + i * MIN);
	assert_int_equal(quota_hour_bytes(&q, t + 59 * MIN), 600);
	assert_int_equal(quota_bytes_left(&q, &l, t + 59 * MIN, &why), 0);
	assert_string_equal(why, "hourly bandwidth quota exceeded");
	/* The first minute leaves the window an hour later. */
	assert_int_equal(quota_hour_bytes(&q, t + 60 * MIN), 590);
	assert_int_equal(quota_bytes_left(&q, &l, t + 60 * MIN, &why), 10);
	assert_int_equal(quota_hour_bytes(&q, t + 200 * MIN), 0);
}

/* ----- time windows ----- */

static void
test_timewin(void **state)
{
	struct cfg_time_access ta;
	struct cfg_schedule s;
	char err[64];

	(void)state;
	memset(&ta, 0, sizeof(ta));
	assert_true(timewin_allows(&ta, FRI));
	ta.has_hours = 1;
	ta.hours.start = 9 * 60;
	ta.hours.end = 17 * 60;
	assert_false(timewin_allows(&ta, FRI + 9 * HOUR - 1));
	assert_true(timewin_allows(&ta, FRI + 9 * HOUR));
	assert_true(timewin_allows(&ta, FRI + 17 * HOUR - 1));
	assert_false(timewin_allows(&ta, FRI + 17 * HOUR));
	/* Overnight, Fridays only: Fri 22:00 to Sat 06:00. */
	ta.hours.start = 22 * 60;
	ta.hours.end = 6 * 60;
	ta.days = 1u << 4;
	assert_true(timewin_allows(&ta, FRI + 22 * HOUR));
	assert_true(timewin_allows(&ta, FRI + 23 * HOUR + 59 * MIN));
	assert_true(timewin_allows(&ta, FRI + DAY + 2 * HOUR));
	assert_false(timewin_allows(&ta, FRI + DAY + 6 * HOUR));
	assert_false(timewin_allows(&ta, FRI + 2 * HOUR)); /* Thursday's */
	assert_false(timewin_allows(&ta, FRI + DAY + 23 * HOUR));
	assert_false(timewin_allows(&ta, FRI + 12 * HOUR));
	/* Days only. */
	ta.has_hours = 0;
	ta.days = 1u << 0;	/* Monday */
	assert_false(timewin_allows(&ta, FRI));
	assert_true(timewin_allows(&ta, FRI + 3 * DAY));
	assert_false(timewin_allows(&ta, FRI + 4 * DAY));
	/* Maintenance schedules. */
	assert_int_equal(cfg_parse_schedule("daily 23:00-01:00", &s, err,
	    sizeof(err)), 0);
	assert_true(timewin_schedule_active(&s, FRI + 23 * HOUR));
	assert_true(timewin_schedule_active(&s, FRI + 30 * MIN));
	assert_false(timewin_schedule_active(&s, FRI + HOUR));
	assert_int_equal(cfg_parse_schedule("sun 02:00-03:00", &s, err,
	    sizeof(err)), 0);
	assert_true(timewin_schedule_active(&s, FRI + 2 * DAY + 2 * HOUR));
	assert_false(timewin_schedule_active(&s, FRI + DAY + 2 * HOUR));
	assert_int_equal(cfg_parse_schedule("sat 23:30-00:30", &s, err,
	    sizeof(err)), 0);
	assert_true(timewin_schedule_active(&s, FRI + 2 * DAY + 10 * MIN));
	assert_false(timewin_schedule_active(&s, FRI + 10 * MIN));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratewin_boundary),
		cmocka_unit_test(test_ratewin_grows_and_resets),
		cmocka_unit_test(test_tbucket_exact_over_time),
		cmocka_unit_test(test_tbucket_wait_and_refund),
		cmocka_unit_test(test_ratewin_drop),
		cmocka_unit_test(test_ipt_prune),
		cmocka_unit_test(test_ipt_autoban),
		cmocka_unit_test(test_ipt_whitelist),
		cmocka_unit_test(test_ipt_rate_and_unauth),
		cmocka_unit_test(test_ipt_reputation),
		cmocka_unit_test(test_ipt_bounded),
		cmocka_unit_test(test_quota_periods),
		cmocka_unit_test(test_quota_month_change),
		cmocka_unit_test(test_quota_hourly_rolling),
		cmocka_unit_test(test_timewin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The policy API of policy.h: the pure pieces of limits.h put together
 * with the locks and the snapshot's limits.
 *
 * Locks: a user's lock (struct policy_user_state) and the global lock
 * (struct policy_state.glock) are leaves, taken user first when both are
 * needed. Nothing here calls out while holding one.
 */
#include "policy/policy.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "policy/acl.h"
#include "policy/geoip.h"
#include "policy/tzif.h"

int64_t
policy_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
policy_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

const char *
policy_pre_str(enum policy_pre v)
{
	static const char *const names[] = { "ok", "source_not_allowed",
	    "banned", "reputation", "rate", "unauthenticated_cap",
	    "maintenance" };

	return (size_t)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

/* The table's parameters from a configuration. */
static void
params(const struct cfg *c, struct ipt_params *p)
{
	const struct cfg_security *sec = &c->security;

	memset(p, 0, sizeof(*p));
	p->ban_enabled = sec->ban_enabled;
	p->ban_threshold = sec->ban_threshold;
	p->ban_window_ms = sec->ban_window * 1000;
	p->ban_duration_ms = sec->ban_duration * 1000;
	p->whitelist = sec->whitelist_nets;
	p->nwhitelist = sec->nwhitelist_nets;
	p->rep_enabled = sec->ip_reputation_enabled;
	p->rep_threshold = sec->ip_reputation_ban_threshold;
	p->rep_half_life_ms = sec->ip_reputation_half_life * 1000;
	p->new_per_minute = sec->max_new_connections_per_ip_per_minute;
	p->unauth_per_ip = c->limits.max_unauthenticated_connections_per_ip;
}

/* Locks the global state, creating the table on first use. */
static void
glock(struct policy_snap *s)
{
	pthread_mutex_lock(&s->state->glock);
	if (s->state->ipt.slots == NULL)
		ipt_init(&s->state->ipt, s->cfg->security.rate_limit_max_ips);
}

static void
gunlock(struct policy_snap *s)
{
	pthread_mutex_unlock(&s->state->glock);
}

/* 1 if sa is inside one of the networks (n == 0: any). */
static int
in_nets(const struct cfg_cidr *nets, size_t n, const struct sockaddr *sa)
{
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (acl_cidr_match(&nets[i], sa))
			return 1;
	}
	return 0;
}

enum policy_pre
policy_preauth(struct policy_snap *s, const struct sockaddr *peer,
    int64_t now_ms)
{
	return policy_preauth_gate(s, peer, now_ms, 1);
}

enum policy_pre
policy_preauth_gate(struct policy_snap *s, const struct sockaddr *peer,
    int64_t now_ms, int maint)
{
	const struct cfg *c = s->cfg;
	uint32_t cap = c->limits.max_unauthenticated_connections;
	struct ipt_params p;
	unsigned char key[16];
	enum ipt_verdict v;

	if (!in_nets(c->security.source_nets, c->security.nsource_nets, peer))
		return POLICY_PRE_SOURCE;
	if (ipt_key(peer, key) != 0)
		return POLICY_PRE_SOURCE;
	params(c, &p);
	glock(s);
	v = ipt_admit(&s->state->ipt, &p, key, now_ms);
	if (v == IPT_OK && cap > 0 && atomic_load(&s->state->unauth) >= cap) {
		ipt_unauth_release(&s->state->ipt, key);
		v = IPT_UNAUTH_IP;
	}
	if (v == IPT_OK)
		atomic_fetch_add(&s->state->unauth, 1);
	gunlock(s);
	switch (v) {
	case IPT_OK:
		break;
	case IPT_BANNED:
		return POLICY_PRE_BANNED;
	case IPT_REPUTATION:
		return POLICY_PRE_REPUTATION;
	case IPT_RATE:
		return POLICY_PRE_RATE;
	default:
		return POLICY_PRE_UNAUTH;
	}
	if (maint && policy_maintenance(s, now_ms, NULL, NULL)) {
		policy_preauth_release(s, peer);
		return POLICY_PRE_MAINTENANCE;
	}
	return POLICY_PRE_OK;
}

void
policy_preauth_release(struct policy_snap *s, const struct sockaddr *peer)
{
	unsigned char key[16];

	if (ipt_key(peer, key) != 0)
		return;
	glock(s);
	ipt_unauth_release(&s->state->ipt, key);
	atomic_fetch_sub(&s->state->unauth, 1);
	gunlock(s);
}

int
policy_auth_failed(struct policy_snap *s, const struct sockaddr *peer,
    int64_t now_ms)
{
	struct ipt_params p;
	unsigned char key[16];
	int banned;

	if (ipt_key(peer, key) != 0)
		return 0;
	params(s->cfg, &p);
	glock(s);
	banned = ipt_auth_failure(&s->state->ipt, &p, key, now_ms);
	gunlock(s);
	return banned;
}

void
policy_auth_succeeded(struct policy_snap *s, const struct sockaddr *peer,
    int64_t now_ms)
{
	struct ipt_params p;
	unsigned char key[16];

	if (ipt_key(peer, key) != 0)
		return;
	params(s->cfg, &p);
	glock(s);
	ipt_auth_success(&s->state->ipt, &p, key, now_ms);
	gunlock(s);
}

void
policy_acl_denied(struct policy_snap *s, const struct sockaddr *peer,
    int64_t now_ms)
{
	struct ipt_params p;
	unsigned char key[16];

	if (ipt_key(peer, key) != 0 || !s->cfg->security.ip_reputation_enabled)
		return;
	params(s->cfg, &p);
	glock(s);
	ipt_rep_add(&s->state->ipt, &p, key, IPT_REP_ACL_DENY, now_ms);
	gunlock(s);
}

const char *
policy_target_check(struct policy_snap *s, const struct sockaddr *sa,
    char *buf, size_t len)
{
	char cc[3];

	if (s->geo == NULL)
		return NULL;
	if (geoip_country(s->geo, sa, cc) != 0)
		return geoip_decide(&s->cfg->geoip, NULL, buf, len) ? NULL :
		    buf;
	return geoip_decide(&s->cfg->geoip, cc, buf, len) ? NULL : buf;
}

int
policy_maintenance(struct policy_snap *s, int64_t now_ms, const char **msg,
    int *disconnect)
{
	const struct cfg *c = s->cfg;
	size_t i;

	for (i = 0; i < c->nmaintenance_windows; i++) {
		if (timewin_schedule_active(&c->maintenance_windows[i].sched,
		    now_ms)) {
			if (msg != NULL)
				*msg = c->maintenance_windows[i].message;
			if (disconnect != NULL)
				*disconnect =
				    c->maintenance_windows[i].disconnect_existing;
			return 1;
		}
	}
	if (atomic_load(&s->state->maint_manual)) {
		if (msg != NULL)
			*msg = POLICY_MAINT_MESSAGE;
		if (disconnect != NULL)
			*disconnect = 0;
		return 1;
	}
	return 0;
}

int
policy_maintenance_toggle(struct policy_state *st)
{
	return !atomic_fetch_xor(&st->maint_manual, 1);
}

/* Expiry and time window. */
static const char *
account_check(const struct policy_user *u, int64_t now_ms)
{
	const struct cfg_user_eff *e = &u->cfg->eff;
	int64_t local = now_ms;

	if (e->has_expiry && (int64_t)e->expires_at * 1000 <= now_ms)
		return "account expired";
	if (u->tz != NULL)
		local += (int64_t)tz_offset(u->tz, now_ms / 1000) * 1000;
	if (!timewin_allows(&e->time_access, local))
		return "outside the allowed time window";
	return NULL;
}

const char *
policy_login_check(struct policy_snap *s, const struct policy_user *u,
    const struct sockaddr *peer, int64_t now_ms)
{
	const struct cfg_user_eff *e = &u->cfg->eff;
	const char *why = NULL;

	if ((why = account_check(u, now_ms)) != NULL)
		return why;
	if (!in_nets(e->source_nets, e->nsource_nets, peer))
		return "source address not allowed for this user";
	if (policy_maintenance(s, now_ms, &why, NULL))
		return why;
	return NULL;
}

const char *
policy_session_check(struct policy_snap *s, const struct policy_user *u,
    int64_t now_ms)
{
	const char *why = NULL;
	int disc = 0;

	if ((why = account_check(u, now_ms)) != NULL)
		return why;
	if (policy_maintenance(s, now_ms, &why, &disc) && disc)
		return why;
	return NULL;
}

/* Server-wide request rates; 0 or a reason. Global lock held. */
static const char *
server_rates(struct policy_snap *s, int64_t now_ms)
{
	const struct cfg_limits *l = &s->cfg->limits;
	struct ratewin *r = s->state->rate;

	ratewin_set_limit(&r[0], l->max_new_connections_per_second, 1000);
	ratewin_set_limit(&r[1], l->max_new_connections_per_minute, 60000);
	if (!ratewin_allows(&r[0], now_ms))
		return "server connection rate limit (per second) exceeded";
	if (!ratewin_allows(&r[1], now_ms))
		return "server connection rate limit (per minute) exceeded";
	ratewin_add(&r[0], now_ms);
	ratewin_add(&r[1], now_ms);
	return NULL;
}

/* ----- per-user limiter entries (security.rate_limit_max_users) ----- */

/* 1 if the user has a rate window that keeps history. */
static int
user_has_rates(const struct cfg_user_eff *e)
{
	return e->rate_limits.connections_per_second != 0 ||
	    e->rate_limits.connections_per_minute != 0 ||
	    e->rate_limits.connections_per_hour != 0;
}

/* 1 if no window of the user holds an event at now. User lock held. */
static int
user_rates_empty(const struct policy_user_state *us, int64_t now_ms)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (ratewin_count(&us->rate[i], now_ms) != 0)
			return 0;
	}
	return 1;
}

/* Drops a user's history. State lock and user lock held. */
static void
user_untrack(struct policy_state *st, struct policy_user_state *us)
{
	int i;

	for (i = 0; i < 3; i++)
		ratewin_drop(&us->rate[i]);
	if (atomic_exchange(&us->rate_tracked, 0))
		atomic_fetch_sub(&st->rate_users, 1);
}

struct lru {
	struct policy_user_state	*us;
	int64_t				 last;
};

static int
lru_cmp(const void *a, const void *b)
{
	const struct lru *x = a, *y = b;

	return x->last < y->last ? -1 : x->last > y->last;
}

/*
 * Brings the number of users holding a history down to cap: every stale
 * history (no event left in any window: dropping it changes no decision)
 * goes first, then the least recently used ones, whose users lose their
 * windows. self is left alone. State lock held; takes user locks (the
 * state lock is never taken under a user lock). Returns the number
 * dropped.
 */
static size_t
users_shrink(struct policy_state *st, const struct policy_user_state *self,
    uint64_t cap, int64_t now_ms)
{
	struct policy_user_state *us = NULL;
	struct lru *v = NULL;
	size_t i, n = 0, nv = 0;

	if (atomic_load(&st->rate_users) <= cap)
		return 0;
	for (i = 0; i < st->nusers; i++) {
		us = st->users[i];
		if (us == self || !atomic_load(&us->rate_tracked))
			continue;
		pthread_mutex_lock(&us->lock);
		if (user_rates_empty(us, now_ms)) {
			user_untrack(st, us);
			n++;
		}
		pthread_mutex_unlock(&us->lock);
	}
	if (atomic_load(&st->rate_users) <= cap)
		return n;
	v = xcalloc(st->nusers, sizeof(*v));
	for (i = 0; i < st->nusers; i++) {
		us = st->users[i];
		if (us == self || !atomic_load(&us->rate_tracked))
			continue;
		pthread_mutex_lock(&us->lock);
		v[nv].us = us;
		v[nv++].last = us->rate_last_ms;
		pthread_mutex_unlock(&us->lock);
	}
	qsort(v, nv, sizeof(*v), lru_cmp);
	for (i = 0; i < nv && atomic_load(&st->rate_users) > cap; i++) {
		pthread_mutex_lock(&v[i].us->lock);
		user_untrack(st, v[i].us);
		pthread_mutex_unlock(&v[i].us->lock);
		atomic_fetch_add(&st->rate_user_evictions, 1);
		n++;
	}
	free(v);
	return n;
}

/* Before a user starts a history: makes room under the cap. */
static void
user_make_room(struct policy_snap *s, const struct policy_user *u,
    int64_t now_ms)
{
	struct policy_state *st = s->state;
	uint64_t cap = s->cfg->security.rate_limit_max_users;

	if (!user_has_rates(&u->cfg->eff) ||
	    atomic_load(&u->state->rate_tracked) ||
	    atomic_load(&st->rate_users) < cap)
		return;
	pthread_mutex_lock(&st->lock);
	(void)users_shrink(st, u->state, cap > 0 ? cap - 1 : 0, now_ms);
	pthread_mutex_unlock(&st->lock);
}

void
policy_prune(struct policy_snap *s, int64_t now_ms, size_t *ips,
    size_t *users)
{
	struct policy_state *st = s->state;
	struct policy_user_state *us = NULL;
	struct ipt_params p;
	size_t i, ni, nu = 0;

	params(s->cfg, &p);
	glock(s);
	ni = ipt_prune(&st->ipt, &p, now_ms, POLICY_IDLE_MS);
	gunlock(s);
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->nusers; i++) {
		us = st->users[i];
		if (!atomic_load(&us->rate_tracked))
			continue;
		pthread_mutex_lock(&us->lock);
		if (now_ms - us->rate_last_ms >= POLICY_IDLE_MS &&
		    user_rates_empty(us, now_ms)) {
			user_untrack(st, us);
			nu++;
		}
		pthread_mutex_unlock(&us->lock);
	}
	nu += users_shrink(st, NULL, s->cfg->security.rate_limit_max_users,
	    now_ms);
	pthread_mutex_unlock(&st->lock);
	if (ips != NULL)
		*ips = ni;
	if (users != NULL)
		*users = nu;
}

/* The user's rates and quotas; user lock held. */
static const char *
user_rates(struct policy_state *st, const struct policy_user *u,
    int64_t now_ms)
{
	const struct cfg_user_eff *e = &u->cfg->eff;
	struct ratewin *r = u->state->rate;
	const char *why = NULL;

	ratewin_set_limit(&r[0], e->rate_limits.connections_per_second, 1000);
	ratewin_set_limit(&r[1], e->rate_limits.connections_per_minute, 60000);
	ratewin_set_limit(&r[2], e->rate_limits.connections_per_hour,
	    3600000);
	if ((why = quota_check_stream(&u->state->quota, &e->quotas,
	    now_ms)) != NULL)
		return why;
	if (!ratewin_allows(&r[0], now_ms))
		return "user connection rate limit (per second) exceeded";
	if (!ratewin_allows(&r[1], now_ms))
		return "user connection rate limit (per minute) exceeded";
	if (!ratewin_allows(&r[2], now_ms))
		return "user connection rate limit (per hour) exceeded";
	ratewin_add(&r[0], now_ms);
	ratewin_add(&r[1], now_ms);
	ratewin_add(&r[2], now_ms);
	u->state->rate_last_ms = now_ms;
	if (!atomic_load(&u->state->rate_tracked) && ratewin_mem(&r[0]) +
	    ratewin_mem(&r[1]) + ratewin_mem(&r[2]) > 0) {
		atomic_store(&u->state->rate_tracked, 1);
		atomic_fetch_add(&st->rate_users, 1);
	}
	return NULL;
}

const char *
policy_stream_admit(struct policy_snap *s, const struct policy_user *u,
    int64_t now_ms)
{
	uint32_t cap = u->cfg->eff.max_connections;
	const char *why = NULL;

	if ((why = account_check(u, now_ms)) != NULL)
		return why;
	user_make_room(s, u, now_ms);
	pthread_mutex_lock(&u->state->lock);
	why = user_rates(s->state, u, now_ms);
	pthread_mutex_unlock(&u->state->lock);
	if (why != NULL)
		return why;
	glock(s);
	why = server_rates(s, now_ms);
	gunlock(s);
	if (why != NULL)
		return why;
	if (atomic_fetch_add(&s->state->active_streams, 1) >=
	    s->cfg->limits.max_connections) {
		atomic_fetch_sub(&s->state->active_streams, 1);
		return "server connection limit (limits.max_connections)";
	}
	if (atomic_fetch_add(&u->state->active, 1) >= cap && cap > 0) {
		atomic_fetch_sub(&u->state->active, 1);
		atomic_fetch_sub(&s->state->active_streams, 1);
		return "user connection limit (max_connections)";
	}
	return NULL;
}

void
policy_stream_connected(struct policy_snap *s, const struct policy_user *u,
    int64_t now_ms)
{
	(void)s;
	pthread_mutex_lock(&u->state->lock);
	quota_add_conn(&u->state->quota, now_ms);
	pthread_mutex_unlock(&u->state->lock);
}

void
policy_stream_release(struct policy_snap *s, const struct policy_user *u,
    uint64_t unmetered_bytes, int64_t now_ms)
{
	if (unmetered_bytes > 0) {
		pthread_mutex_lock(&u->state->lock);
		quota_add_bytes(&u->state->quota, unmetered_bytes, now_ms);
		pthread_mutex_unlock(&u->state->lock);
	}
	atomic_fetch_sub(&s->state->active_streams, 1);
	atomic_fetch_sub(&u->state->active, 1);
}

/* ----- meter ----- */

/* Re-rates a shared bucket when its limit changed (reload). */
static void
bucket_set(struct tbucket *tb, uint64_t rate, uint64_t now_us)
{
	if (tb->rate != rate)
		tbucket_init(tb, rate, tbucket_burst_for(rate), now_us);
}

int
policy_meter_init(struct policy_meter *m, struct policy_snap *s,
    const struct policy_user *u, uint64_t now_us)
{
	const struct cfg_user_eff *e = &u->cfg->eff;
	const struct cfg_quotas *q = &e->quotas;
	uint64_t r = tbucket_rate_kbps(e->max_bandwidth_kbps);

	memset(m, 0, sizeof(*m));
	m->snap = s;
	m->user = u;
	tbucket_init(&m->conn, r, tbucket_burst_for(r), now_us);
	m->quota = q->daily_bandwidth_bytes != 0 ||
	    q->monthly_bandwidth_bytes != 0 ||
	    q->bandwidth_per_hour_bytes != 0 || q->total_bandwidth_bytes != 0;
	m->user_bw = e->max_aggregate_bandwidth_kbps != 0;
	m->srv_bw = s->cfg->limits.max_bandwidth_mbps != 0;
	return m->quota || m->user_bw || m->srv_bw || r != 0;
}

/* Lowers *n to what b has and *mg to its smallest useful grant. */
static void
bucket_clip(struct tbucket *b, uint64_t want, uint64_t now_us, uint64_t *n,
    uint64_t *mg)
{
	uint64_t a = tbucket_avail(b, now_us), g;

	if (b->rate == 0)
		return;
	if (a < *n)
		*n = a;
	g = tbucket_min_grant(b, want);
	if (g < *mg)
		*mg = g;
}

/* Wait until every limited bucket holds need tokens. */
static uint64_t
bucket_wait(const struct tbucket *b, uint64_t need, uint64_t w)
{
	uint64_t x;

	if (b->rate == 0)
		return w;
	x = tbucket_wait_us(b, need);
	return x > w ? x : w;
}

size_t
policy_meter_grant(struct policy_meter *m, size_t want, uint64_t now_us,
    int64_t now_ms, uint64_t *wait_us)
{
	struct policy_user_state *us = m->user->state;
	struct policy_state *st = m->snap->state;
	const struct cfg_user_eff *e = &m->user->cfg->eff;
	uint64_t n = want, mg = want, left, w = 0;
	const char *why = NULL;

	*wait_us = 0;
	pthread_mutex_lock(&us->lock);
	if (m->quota) {
		left = quota_bytes_left(&us->quota, &e->quotas, now_ms, &why);
		if (left == 0) {
			pthread_mutex_unlock(&us->lock);
			m->why = why;
			return 0;
		}
		if (left < n)
			n = mg = left;
	}
	bucket_clip(&m->conn, mg, now_us, &n, &mg);
	if (m->user_bw) {
		bucket_set(&us->bw,
		    tbucket_rate_kbps(e->max_aggregate_bandwidth_kbps), now_us);
		bucket_clip(&us->bw, mg, now_us, &n, &mg);
	}
	if (m->srv_bw) {
		pthread_mutex_lock(&st->glock);
		bucket_set(&st->bw,
		    tbucket_rate_mbps(m->snap->cfg->limits.max_bandwidth_mbps),
		    now_us);
		bucket_clip(&st->bw, mg, now_us, &n, &mg);
	}
	if (n < mg) {
		w = bucket_wait(&m->conn, mg, 0);
		if (m->user_bw)
			w = bucket_wait(&us->bw, mg, w);
		if (m->srv_bw)
			w = bucket_wait(&st->bw, mg, w);
		*wait_us = w > 0 ? w : 1;
		n = 0;
	} else {
		tbucket_take(&m->conn, n);
		if (m->user_bw)
			tbucket_take(&us->bw, n);
		if (m->srv_bw)
			tbucket_take(&st->bw, n);
		if (m->quota)
			quota_add_bytes(&us->quota, n, now_ms);
	}
	if (m->srv_bw)
		pthread_mutex_unlock(&st->glock);
	pthread_mutex_unlock(&us->lock);
	return (size_t)n;
}

void
policy_meter_settle(struct policy_meter *m, size_t granted, size_t used,
    int64_t now_ms)
{
	struct policy_user_state *us = m->user->state;
	struct policy_state *st = m->snap->state;
	uint64_t back = granted > used ? granted - used : 0;

	pthread_mutex_lock(&us->lock);
	tbucket_refund(&m->conn, back);
	if (m->user_bw)
		tbucket_refund(&us->bw, back);
	if (m->srv_bw) {
		pthread_mutex_lock(&st->glock);
		tbucket_refund(&st->bw, back);
		pthread_mutex_unlock(&st->glock);
	}
	if (m->quota)
		quota_sub_bytes(&us->quota, back, now_ms);
	else
		quota_add_bytes(&us->quota, used, now_ms);
	pthread_mutex_unlock(&us->lock);
}

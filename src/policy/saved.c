/*
 * Export and import of the policy state for persistence; see saved.h.
 * Locks are held only while copying.
 */
#include "policy/saved.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "policy/snap.h"

/* The score of e decayed to now. */
static double
decayed(const struct ipt_entry *e, int64_t now_ms, uint64_t half_life_ms)
{
	double el;

	if (e->rep <= 0.0)
		return 0.0;
	if (half_life_ms == 0)
		return e->rep;
	el = now_ms > e->rep_ms ? (double)(now_ms - e->rep_ms) : 0.0;
	return e->rep * exp2(-el / (double)half_life_ms);
}

size_t
policy_saved_ips(struct policy_state *st, int64_t now_ms, double min_rep,
    uint64_t half_life_ms, struct policy_saved_ip **out)
{
	struct policy_saved_ip *v = NULL;
	const struct ipt_entry *e = NULL;
	size_t i, n = 0, cap = 0;
	int ban, rep;

	*out = NULL;
	if (min_rep < 1.0)
		min_rep = 1.0;	/* what the table's cleanup keeps */
	pthread_mutex_lock(&st->glock);
	for (i = 0; st->ipt.slots != NULL && i < st->ipt.nslots; i++) {
		e = &st->ipt.slots[i];
		if (!e->used)
			continue;
		ban = e->ban_until > now_ms;
		rep = decayed(e, now_ms, half_life_ms) >= min_rep;
		if (!ban && !rep)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		memcpy(v[n].addr, e->addr, 16);
		v[n].ban_until = ban ? e->ban_until : 0;
		v[n].rep = rep ? e->rep : 0.0;
		v[n].rep_ms = rep ? e->rep_ms : 0;
		n++;
	}
	pthread_mutex_unlock(&st->glock);
	*out = v;
	return n;
}

void
policy_restore_ips(struct policy_state *st, uint64_t max_ips,
    const struct policy_saved_ip *v, size_t n, int64_t now_ms)
{
	size_t i;

	pthread_mutex_lock(&st->glock);
	if (st->ipt.slots == NULL)
		ipt_init(&st->ipt, max_ips);
	for (i = 0; i < n; i++)
		ipt_restore(&st->ipt, v[i].addr, v[i].ban_until, v[i].rep,
		    v[i].rep_ms, now_ms);
	pthread_mutex_unlock(&st->glock);
}

int
policy_quota_empty(const struct quota_state *q, int64_t now_ms)
{
	struct quota_state c = *q;

	quota_roll(&c, now_ms);
	return c.day_bytes == 0 && c.day_conns == 0 && c.month_bytes == 0 &&
	    c.month_conns == 0 && c.total_bytes == 0 &&
	    quota_hour_bytes(&c, now_ms) == 0;
}

size_t
policy_saved_quotas(struct policy_state *st, int64_t now_ms,
    struct policy_saved_quota **out)
{
	struct policy_saved_quota *v = NULL;
	struct policy_user_state *u = NULL;
	struct quota_state q;
	size_t i, n = 0;

	pthread_mutex_lock(&st->lock);
	v = xcalloc(st->nusers + 1, sizeof(*v));
	for (i = 0; i < st->nusers; i++) {
		u = st->users[i];
		pthread_mutex_lock(&u->lock);
		quota_roll(&u->quota, now_ms);
		q = u->quota;
		pthread_mutex_unlock(&u->lock);
		if (policy_quota_empty(&q, now_ms))
			continue;
		v[n].user = xstrdup(u->name);
		v[n].q = q;
		n++;
	}
	pthread_mutex_unlock(&st->lock);
	*out = v;
	return n;
}

void
policy_saved_quotas_free(struct policy_saved_quota *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].user);
	free(v);
}

void
policy_restore_quota(struct policy_state *st,
    const struct policy_saved_quota *v, int64_t now_ms)
{
	struct policy_user_state *u = policy_state_user(st, v->user);

	pthread_mutex_lock(&u->lock);
	u->quota = v->q;
	quota_roll(&u->quota, now_ms);
	pthread_mutex_unlock(&u->lock);
}

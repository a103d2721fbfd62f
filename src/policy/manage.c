/*
 * Operator actions on the live policy state: list and lift bans, reset a
 * user's quotas. Each takes the lock that guards what it touches (the
 * global lock for the per-IP table, the user's lock for quotas), like the
 * rest of policy.h, so any thread may call them.
 */
#include "policy/policy.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* The reputation settings of the table (the rest is not needed here). */
static void
rep_params(const struct cfg *c, struct ipt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->rep_enabled = c->security.ip_reputation_enabled;
	p->rep_threshold = c->security.ip_reputation_ban_threshold;
	p->rep_half_life_ms = c->security.ip_reputation_half_life * 1000;
}

/* Text of a table key: IPv4-mapped keys print as IPv4. */
static void
key_text(const unsigned char *key, char *out, size_t len)
{
	static const unsigned char v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (memcmp(key, v4, sizeof(v4)) == 0)
		(void)inet_ntop(AF_INET, key + 12, out, (socklen_t)len);
	else
		(void)inet_ntop(AF_INET6, key, out, (socklen_t)len);
}

/* 1 when e blocks its address at now (ban, or reputation over the bar). */
static int
blocked(struct ipt *t, const struct ipt_params *p, const struct ipt_entry *e,
    int64_t now_ms, double *rep)
{
	*rep = ipt_rep_score(t, p, e->addr, now_ms);
	if (e->ban_until > now_ms)
		return 1;
	return p->rep_enabled && p->rep_threshold > 0.0 &&
	    *rep >= p->rep_threshold;
}

static int
ban_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_ban *)a)->addr,
	    ((const struct policy_ban *)b)->addr);
}

size_t
policy_bans(struct policy_snap *s, int64_t now_ms, struct policy_ban **out)
{
	struct ipt *t = &s->state->ipt;
	struct policy_ban *v = NULL;
	struct ipt_params p;
	const struct ipt_entry *e = NULL;
	size_t i, n = 0, cap = 0;
	double rep;

	*out = NULL;
	rep_params(s->cfg, &p);
	pthread_mutex_lock(&s->state->glock);
	for (i = 0; t->slots != NULL && i < t->nslots; i++) {
		e = &t->slots[i];
		if (!e->used || !blocked(t, &p, e, now_ms, &rep))
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		memset(&v[n], 0, sizeof(v[n]));
		key_text(e->addr, v[n].addr, sizeof(v[n].addr));
		v[n].until_ms = e->ban_until > now_ms ? e->ban_until : 0;
		v[n].rep = rep;
		v[n].failures = e->nfail;
		n++;
	}
	pthread_mutex_unlock(&s->state->glock);
	if (n > 1)
		qsort(v, n, sizeof(*v), ban_cmp);
	*out = v;
	return n;
}

/* Parses an address literal into a table key. 0 or ERR_INVAL. */
static int
addr_key(const char *addr, unsigned char key[16])
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return ipt_key((const struct sockaddr *)&sin, key);
	}
	if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return ipt_key((const struct sockaddr *)&sin6, key);
	}
	return ERR_INVAL;
}

int
policy_unban(struct policy_snap *s, const char *addr, int64_t now_ms)
{
	struct ipt *t = &s->state->ipt;
	struct ipt_entry *e = NULL;
	struct ipt_params p;
	unsigned char key[16];
	size_t i;
	double rep;
	int rc = ERR_NOTFOUND;

	if (addr == NULL || addr_key(addr, key) != 0)
		return ERR_INVAL;
	rep_params(s->cfg, &p);
	pthread_mutex_lock(&s->state->glock);
	for (i = 0; t->slots != NULL && i < t->nslots; i++) {
		e = &t->slots[i];
		if (!e->used || memcmp(e->addr, key, 16) != 0)
			continue;
		if (blocked(t, &p, e, now_ms, &rep))
			rc = 0;
		/* Forget what would ban it again at the next failure. */
		e->ban_until = 0;
		e->nfail = 0;
		e->fhead = 0;
		e->rep = 0.0;
		e->rep_ms = now_ms;
		break;
	}
	pthread_mutex_unlock(&s->state->glock);
	return rc;
}

int
policy_quota_reset(struct policy_snap *s, const char *user)
{
	const struct policy_user *u = policy_snap_user(s, user);
	struct policy_user_state *st = NULL;

	if (u == NULL || (st = u->state) == NULL)
		return ERR_NOTFOUND;
	pthread_mutex_lock(&st->lock);
	memset(&st->quota, 0, sizeof(st->quota));
	pthread_mutex_unlock(&st->lock);
	return 0;
}

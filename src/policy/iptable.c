/*
 * The per-IP table: bans with absolute expiry, recent authentication
 * failures, reputation with exponential decay, the per-IP new-connection
 * bucket and the count of unauthenticated connections.
 *
 * Memory is bounded: a fixed array of slots, an address lives in a window
 * of IPT_PROBE slots starting at its hash, and when that window is full
 * the least useful entry is reused (an idle one first, then the one seen
 * least recently that holds no connection, banned entries last). An entry
 * that counts live unauthenticated connections is never evicted.
 * Pure: no locks, no clock, no log.
 */
#include "policy/limits.h"

#include <sys/socket.h>

#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "policy/acl.h"

/* Per-IP bucket units: one token is 60000 units, refill N units per ms. */
#define TOK_UNIT	60000ULL

void
ipt_init(struct ipt *t, uint64_t max_ips)
{
	size_t n = 64;

	memset(t, 0, sizeof(*t));
	while (n < max_ips && n < ((size_t)1 << 28))
		n <<= 1;
	t->nslots = n;
	t->slots = xcalloc(n, sizeof(*t->slots));
}

void
ipt_cleanup(struct ipt *t)
{
	size_t i;

	for (i = 0; i < t->nslots && t->slots != NULL; i++)
		free(t->slots[i].fails);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* The 16-byte key of an address; IPv4 becomes ::ffff:a.b.c.d. */
int
ipt_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
		return 0;
	}
	return -1;
}

/* The key as a sockaddr (for CIDR matching). */
static void
key_sockaddr(const unsigned char *key, struct sockaddr_in6 *out)
{
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	memcpy(&out->sin6_addr, key, 16);
}

int
ipt_whitelisted(const struct ipt_params *p, const unsigned char *key)
{
	struct sockaddr_in6 sa;
	size_t i;

	key_sockaddr(key, &sa);
	for (i = 0; i < p->nwhitelist; i++) {
		if (acl_cidr_match(&p->whitelist[i],
		    (const struct sockaddr *)&sa))
			return 1;
	}
	return 0;
}

/* FNV-1a of the key. */
static size_t
key_hash(const struct ipt *t, const unsigned char *key)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(uintptr_t)t->slots;
	int i;

	for (i = 0; i < 16; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

/* The entry of key, or NULL. */
static struct ipt_entry *
ipt_find(struct ipt *t, const unsigned char *key)
{
	size_t h = key_hash(t, key), i;
	struct ipt_entry *e = NULL;

	for (i = 0; i < IPT_PROBE; i++) {
		e = &t->slots[(h + i) & (t->nslots - 1)];
		if (e->used && memcmp(e->addr, key, 16) == 0)
			return e;
	}
	return NULL;
}

/* The decayed reputation at now. */
static double
rep_now(const struct ipt_params *p, const struct ipt_entry *e,
    int64_t now_ms)
{
	double el;

	if (e->rep <= 0.0 || p->rep_half_life_ms == 0)
		return e->rep > 0.0 ? e->rep : 0.0;
	el = now_ms > e->rep_ms ? (double)(now_ms - e->rep_ms) : 0.0;
	return e->rep * exp2(-el / (double)p->rep_half_life_ms);
}

/* Newest failure time, or INT64_MIN. */
static int64_t
newest_fail(const struct ipt_entry *e)
{
	if (e->nfail == 0)
		return INT64_MIN;
	return e->fails[(e->fhead + e->nfail - 1) % e->fcap];
}

/* 1 if the entry carries nothing worth keeping at now. */
static int
entry_idle(const struct ipt_params *p, const struct ipt_entry *e,
    int64_t now_ms)
{
	return e->unauth == 0 && e->ban_until <= now_ms &&
	    (e->nfail == 0 ||
	    newest_fail(e) <= now_ms - (int64_t)p->ban_window_ms) &&
	    rep_now(p, e, now_ms) < 1.0 &&
	    (!e->tok_init || now_ms - e->tok_ms >= 60000);
}

/* Eviction rank: lower is evicted first; -1 never. */
static int
evict_rank(const struct ipt_params *p, const struct ipt_entry *e,
    int64_t now_ms)
{
	if (!e->used)
		return 0;
	if (e->unauth > 0)
		return -1;
	if (entry_idle(p, e, now_ms))
		return 1;
	return e->ban_until > now_ms ? 3 : 2;
}

/* Finds or makes the entry of key; NULL only when the whole probe window
 * holds live connections. */
static struct ipt_entry *
ipt_get(struct ipt *t, const struct ipt_params *p, const unsigned char *key,
    int64_t now_ms)
{
	size_t h = key_hash(t, key), i;
	struct ipt_entry *e = NULL, *best = NULL;
	int r, br = 99;

	if ((e = ipt_find(t, key)) != NULL) {
		e->last_ms = now_ms;
		return e;
	}
	for (i = 0; i < IPT_PROBE; i++) {
		e = &t->slots[(h + i) & (t->nslots - 1)];
		r = evict_rank(p, e, now_ms);
		if (r < 0)
			continue;
		if (best == NULL || r < br ||
		    (r == br && e->last_ms < best->last_ms)) {
			best = e;
			br = r;
		}
	}
	if (best == NULL)
		return NULL;
	if (best->used) {
		t->evictions++;
		free(best->fails);
	} else {
		t->used++;
	}
	memset(best, 0, sizeof(*best));
	best->used = 1;
	memcpy(best->addr, key, 16);
	best->last_ms = now_ms;
	best->rep_ms = now_ms;
	return best;
}

/* Adds points with decay; the score never goes below 0. */
static void
rep_add(const struct ipt_params *p, struct ipt_entry *e, double pts,
    int64_t now_ms)
{
	double s = rep_now(p, e, now_ms) + pts;

	e->rep = s > 0.0 ? s : 0.0;
	e->rep_ms = now_ms;
}

/* Takes one token from the per-IP bucket; 0 or -1 when empty. */
static int
bucket_take(const struct ipt_params *p, struct ipt_entry *e, int64_t now_ms)
{
	uint64_t cap = (uint64_t)p->new_per_minute * TOK_UNIT, el;

	if (!e->tok_init) {
		e->tok_init = 1;
		e->tok_milli = cap;
		e->tok_ms = now_ms;
	}
	if (now_ms > e->tok_ms) {
		el = (uint64_t)(now_ms - e->tok_ms);
		if (el > 60000)
			el = 60000;
		e->tok_milli += el * p->new_per_minute;
		if (e->tok_milli > cap)
			e->tok_milli = cap;
		e->tok_ms = now_ms;
	}
	if (e->tok_milli < TOK_UNIT)
		return -1;
	e->tok_milli -= TOK_UNIT;
	return 0;
}

enum ipt_verdict
ipt_admit(struct ipt *t, const struct ipt_params *p,
    const unsigned char *key, int64_t now_ms)
{
	struct ipt_entry *e = ipt_find(t, key);
	int wl = ipt_whitelisted(p, key);

	if (e != NULL && e->ban_until > now_ms)
		return IPT_BANNED;
	if (e != NULL && p->rep_enabled && p->rep_threshold > 0.0 &&
	    rep_now(p, e, now_ms) >= p->rep_threshold)
		return IPT_REPUTATION;
	if ((e = ipt_get(t, p, key, now_ms)) == NULL)
		return IPT_UNAUTH_IP;	/* the window is all live floods */
	if (!wl && p->new_per_minute > 0 && bucket_take(p, e, now_ms) != 0) {
		if (p->rep_enabled)
			rep_add(p, e, IPT_REP_FLOOD, now_ms);
		return IPT_RATE;
	}
	if (!wl && p->unauth_per_ip > 0 && e->unauth >= p->unauth_per_ip) {
		if (p->rep_enabled)
			rep_add(p, e, IPT_REP_FLOOD, now_ms);
		return IPT_UNAUTH_IP;
	}
	e->unauth++;
	return IPT_OK;
}

void
ipt_unauth_release(struct ipt *t, const unsigned char *key)
{
	struct ipt_entry *e = ipt_find(t, key);

	if (e != NULL && e->unauth > 0)
		e->unauth--;
}

int
ipt_auth_failure(struct ipt *t, const struct ipt_params *p,
    const unsigned char *key, int64_t now_ms)
{
	struct ipt_entry *e = NULL;
	int64_t lim = now_ms - (int64_t)p->ban_window_ms;

	if (ipt_whitelisted(p, key) || (e = ipt_get(t, p, key, now_ms)) == NULL)
		return 0;
	if (p->rep_enabled)
		rep_add(p, e, IPT_REP_AUTH_FAILURE, now_ms);
	if (!p->ban_enabled || p->ban_threshold == 0)
		return 0;
	if (e->fcap != p->ban_threshold) {	/* first use, or reloaded */
		free(e->fails);
		e->fcap = p->ban_threshold;
		e->fails = xcalloc(e->fcap, sizeof(*e->fails));
		e->fhead = e->nfail = 0;
	}
	while (e->nfail > 0 && e->fails[e->fhead] <= lim) {
		e->fhead = (e->fhead + 1) % e->fcap;
		e->nfail--;
	}
	if (e->nfail == e->fcap) {	/* cannot happen: a ban clears it */
		e->fhead = (e->fhead + 1) % e->fcap;
		e->nfail--;
	}
	e->fails[(e->fhead + e->nfail) % e->fcap] = now_ms;
	e->nfail++;
	if (e->nfail < p->ban_threshold)
		return 0;
	e->ban_until = now_ms + (int64_t)p->ban_duration_ms;
	e->nfail = e->fhead = 0;
	return 1;
}

void
ipt_auth_success(struct ipt *t, const struct ipt_params *p,
    const unsigned char *key, int64_t now_ms)
{
	struct ipt_entry *e = ipt_find(t, key);

	if (e != NULL && p->rep_enabled)
		rep_add(p, e, IPT_REP_AUTH_SUCCESS, now_ms);
}

void
ipt_rep_add(struct ipt *t, const struct ipt_params *p,
    const unsigned char *key, double pts, int64_t now_ms)
{
	struct ipt_entry *e = NULL;

	if (!p->rep_enabled || ipt_whitelisted(p, key) ||
	    (e = ipt_get(t, p, key, now_ms)) == NULL)
		return;
	rep_add(p, e, pts, now_ms);
}

double
ipt_rep_score(struct ipt *t, const struct ipt_params *p,
    const unsigned char *key, int64_t now_ms)
{
	struct ipt_entry *e = ipt_find(t, key);

	return e == NULL ? 0.0 : rep_now(p, e, now_ms);
}

int64_t
ipt_banned_until(struct ipt *t, const unsigned char *key, int64_t now_ms)
{
	struct ipt_entry *e = ipt_find(t, key);

	return e != NULL && e->ban_until > now_ms ? e->ban_until : 0;
}

void
ipt_ban(struct ipt *t, const unsigned char *key, int64_t until_ms,
    int64_t now_ms)
{
	static const struct ipt_params none;
	struct ipt_entry *e = NULL;

	if (until_ms == 0) {
		if ((e = ipt_find(t, key)) != NULL)
			e->ban_until = 0;
		return;
	}
	if ((e = ipt_get(t, &none, key, now_ms)) != NULL)
		e->ban_until = until_ms;
}

/* ----- persistence (src/persist): restoring saved entries ----- */

void
ipt_restore(struct ipt *t, const unsigned char *key, int64_t ban_until,
    double rep, int64_t rep_ms, int64_t now_ms)
{
	static const struct ipt_params none;
	struct ipt_entry *e = NULL;

	if ((e = ipt_get(t, &none, key, now_ms)) == NULL)
		return;
	if (ban_until > e->ban_until)
		e->ban_until = ban_until;
	if (rep > 0.0 && (e->rep <= 0.0 || rep_ms >= e->rep_ms)) {
		e->rep = rep;
		e->rep_ms = rep_ms;
	}
}

size_t
ipt_prune(struct ipt *t, const struct ipt_params *p, int64_t now_ms,
    uint64_t idle_ms)
{
	struct ipt_entry *e = NULL;
	size_t i, n = 0;

	for (i = 0; i < t->nslots && t->slots != NULL; i++) {
		e = &t->slots[i];
		if (!e->used || !entry_idle(p, e, now_ms) ||
		    now_ms - e->last_ms < (int64_t)idle_ms)
			continue;
		free(e->fails);
		memset(e, 0, sizeof(*e));
		t->used--;
		n++;
	}
	return n;
}

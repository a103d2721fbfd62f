/* Alert rules over the event stream: see alert.h. */
#include "obs/alert.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* One watched key of a rule: a ring of slots and its cooldown. */
struct alert_key {
	char		*name;
	uint64_t	 slots[ALERT_SLOTS];
	uint64_t	 last;		/* absolute slot index of the newest */
	int		 fired;
	uint64_t	 fired_at;	/* seconds */
};

struct alert_rule {
	char		 *name;
	int		  cond;
	uint64_t	  threshold;
	uint64_t	  window;	/* seconds, >= 1 */
	uint64_t	  width;	/* seconds per slot */
	uint64_t	  nslots;	/* slots the window covers (<= 60) */
	char		**users;	/* NULL-terminated; none: everybody */
	size_t		  nusers;
	struct alert_key **keys;
	size_t		  nkeys;
};

struct alerting {
	pthread_mutex_t		 lock;
	struct alert_rule	*r;
	size_t			 nr;
};

const char *
alert_cond_name(int cond)
{
	switch (cond) {
	case ALERT_BANDWIDTH:
		return "bandwidth_exceeded";
	case ALERT_CONNECTIONS:
		return "connections_exceeded";
	case ALERT_MONTHLY_BANDWIDTH:
		return "monthly_bandwidth_exceeded";
	case ALERT_HOURLY_BANDWIDTH:
		return "hourly_bandwidth_exceeded";
	case ALERT_AUTH_FAILURES:
		return "auth_failures";
	}
	return "unknown";
}

uint64_t
alert_window_secs(int cond, uint64_t window_secs)
{
	if (cond == ALERT_HOURLY_BANDWIDTH)
		return ALERT_HOUR_SECS;
	if (cond == ALERT_MONTHLY_BANDWIDTH)
		return ALERT_MONTH_SECS;
	return window_secs > 0 ? window_secs : 1;
}

/* The input a condition counts. */
static enum alert_input
cond_input(int cond)
{
	switch (cond) {
	case ALERT_CONNECTIONS:
		return ALERT_IN_CONN;
	case ALERT_AUTH_FAILURES:
		return ALERT_IN_AUTHFAIL;
	default:
		return ALERT_IN_BYTES;
	}
}

struct alerting *
alerting_new(const struct alert_rule_def *rules, size_t n)
{
	struct alerting *al = xcalloc(1, sizeof(*al));
	const struct alert_rule_def *c = NULL;
	struct alert_rule *r = NULL;
	size_t i, j;

	pthread_mutex_init(&al->lock, NULL);
	al->r = xcalloc(n > 0 ? n : 1, sizeof(*al->r));
	al->nr = n;
	for (i = 0; i < n; i++) {
		c = &rules[i];
		r = &al->r[i];
		r->name = xstrdup(c->name != NULL ? c->name : "");
		r->cond = c->cond;
		r->threshold = c->threshold;
		r->window = alert_window_secs(r->cond, c->window_secs);
		r->width = (r->window + ALERT_SLOTS - 1) / ALERT_SLOTS;
		r->nslots = (r->window + r->width - 1) / r->width;
		r->nusers = c->nusers;
		r->users = xcalloc(r->nusers + 1, sizeof(*r->users));
		for (j = 0; j < r->nusers; j++)
			r->users[j] = xstrdup(c->users[j]);
	}
	return al;
}

void
alerting_free(struct alerting *al)
{
	size_t i, j;

	if (al == NULL)
		return;
	for (i = 0; i < al->nr; i++) {
		for (j = 0; j < al->r[i].nusers; j++)
			free(al->r[i].users[j]);
		free(al->r[i].users);
		for (j = 0; j < al->r[i].nkeys; j++) {
			free(al->r[i].keys[j]->name);
			free(al->r[i].keys[j]);
		}
		free(al->r[i].keys);
		free(al->r[i].name);
	}
	free(al->r);
	pthread_mutex_destroy(&al->lock);
	free(al);
}

/*
 * The key an observation counts under for rule r, or NULL when the rule
 * does not watch it: a listed user, any authenticated user when the rule
 * lists none, and "" for a server-wide auth-failure count.
 */
static const char *
rule_key(const struct alert_rule *r, const char *user)
{
	size_t i;

	if (r->nusers == 0)
		return r->cond == ALERT_AUTH_FAILURES ? "" :
		    (user == NULL || user[0] == '\0' || strcmp(user, "-") == 0 ?
		    NULL : user);
	if (user == NULL)
		return NULL;
	for (i = 0; i < r->nusers; i++) {
		if (strcmp(r->users[i], user) == 0)
			return r->users[i];
	}
	return NULL;
}

/* Finds or adds the state of key; NULL when the table is full. */
static struct alert_key *
rule_state(struct alert_rule *r, const char *key, uint64_t slot)
{
	struct alert_key *k = NULL;
	size_t i;

	for (i = 0; i < r->nkeys; i++) {
		if (strcmp(r->keys[i]->name, key) == 0)
			return r->keys[i];
	}
	if (r->nkeys >= ALERT_KEYS_MAX)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	k->name = xstrdup(key);
	k->last = slot;
	r->keys = xreallocarray(r->keys, r->nkeys + 1, sizeof(*r->keys));
	r->keys[r->nkeys++] = k;
	return k;
}

/* Moves the window of k forward to slot, clearing the slots it left. */
static void
key_advance(struct alert_key *k, uint64_t slot)
{
	uint64_t s;

	if (slot <= k->last)
		return;
	if (slot - k->last >= ALERT_SLOTS) {
		memset(k->slots, 0, sizeof(k->slots));
	} else {
		for (s = k->last + 1; s <= slot; s++)
			k->slots[s % ALERT_SLOTS] = 0;
	}
	k->last = slot;
}

/* The sum of the nslots newest slots of k. */
static uint64_t
key_sum(const struct alert_key *k, uint64_t nslots)
{
	uint64_t sum = 0, v, i;

	for (i = 0; i < nslots && i <= k->last; i++) {
		v = k->slots[(k->last - i) % ALERT_SLOTS];
		sum = sum + v < sum ? UINT64_MAX : sum + v;
	}
	return sum;
}

size_t
alerting_observe(struct alerting *al, enum alert_input in, const char *user,
    uint64_t amount, uint64_t now_s, struct alert_fire *out, size_t max)
{
	struct alert_rule *r = NULL;
	struct alert_key *k = NULL;
	struct alert_fire *f = NULL;
	const char *key = NULL;
	uint64_t slot, value;
	size_t i, n = 0;

	if (al == NULL)
		return 0;
	pthread_mutex_lock(&al->lock);
	for (i = 0; i < al->nr; i++) {
		r = &al->r[i];
		if (cond_input(r->cond) != in ||
		    (key = rule_key(r, user)) == NULL)
			continue;
		slot = now_s / r->width;
		if ((k = rule_state(r, key, slot)) == NULL)
			continue;
		key_advance(k, slot);
		k->slots[slot % ALERT_SLOTS] += amount;
		value = key_sum(k, r->nslots);
		if (value <= r->threshold)
			continue;
		if (k->fired && now_s < k->fired_at + r->window)
			continue;	/* cooldown */
		if (n >= max)
			continue;	/* not reported: stays armed */
		k->fired = 1;
		k->fired_at = now_s;
		f = &out[n++];
		f->rule = i;
		f->name = r->name;
		f->condition = alert_cond_name(r->cond);
		snprintf(f->user, sizeof(f->user), "%s", key);
		f->value = value;
		f->threshold = r->threshold;
		f->window_secs = r->window;
	}
	pthread_mutex_unlock(&al->lock);
	return n;
}

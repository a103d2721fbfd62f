/* Policy snapshots and the live per-user counters. */
#include "policy/snap.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "policy/geoip.h"
#include "policy/tzif.h"

/* Creates the process-wide live state. */
struct policy_state *
policy_state_new(void)
{
	struct policy_state *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->lock, NULL);
	st->auth_cache = authcache_new(4096);
	pthread_mutex_init(&st->glock, NULL);
	return st;
}

/* Frees the live state and every user's counters. */
void
policy_state_free(struct policy_state *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nusers; i++) {
		ratewin_cleanup(&st->users[i]->rate[0]);
		ratewin_cleanup(&st->users[i]->rate[1]);
		ratewin_cleanup(&st->users[i]->rate[2]);
		pthread_mutex_destroy(&st->users[i]->lock);
		free(st->users[i]->name);
		free(st->users[i]);
	}
	ipt_cleanup(&st->ipt);
	ratewin_cleanup(&st->rate[0]);
	ratewin_cleanup(&st->rate[1]);
	pthread_mutex_destroy(&st->glock);
	free(st->users);
	authcache_free(st->auth_cache);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Returns the counters of a user name, creating them on first use. */
struct policy_user_state *
policy_state_user(struct policy_state *st, const char *name)
{
	struct policy_user_state *u = NULL;
	size_t i;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->nusers; i++) {
		if (strcmp(st->users[i]->name, name) == 0) {
			u = st->users[i];
			break;
		}
	}
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->name = xstrdup(name);
		pthread_mutex_init(&u->lock, NULL);
		st->users = xreallocarray(st->users, st->nusers + 1,
		    sizeof(*st->users));
		st->users[st->nusers++] = u;
	}
	pthread_mutex_unlock(&st->lock);
	return u;
}

/* Builds the ACL of one user from its resolved rules. */
static void
snap_user_init(struct policy_user *pu, const struct cfg_user *u,
    struct policy_state *st)
{
	const struct cfg_user_eff *e = &u->eff;

	pu->cfg = u;
	acl_init(&pu->acl, e->acl_policy == CFG_POLICY_ALLOW,
	    e->acl_deny, e->nacl_deny, e->acl_allow, e->nacl_allow);
	pu->state = policy_state_user(st, u->username);
}

/* Loads the zone of a user's time window (none for UTC). */
static void
snap_user_tz(struct policy_snap *s, struct policy_user *pu)
{
	const char *name = pu->cfg->eff.time_access.timezone;
	char err[256];

	if (name == NULL || strcmp(name, "UTC") == 0)
		return;
	pu->tz = xcalloc(1, sizeof(*pu->tz));
	if (tz_load(NULL, name, pu->tz, err, sizeof(err)) != 0) {
		free(pu->tz);
		pu->tz = NULL;
		if (s->load_error == NULL)
			s->load_error = xasprintf("users.%s.time_access."
			    "timezone: %s", pu->cfg->username, err);
	}
}

/* Builds a snapshot of cfg (owned when take is set). */
struct policy_snap *
policy_snap_new(struct cfg *cfg_take, int take, struct policy_state *st)
{
	struct policy_snap *s = xcalloc(1, sizeof(*s));
	size_t i;

	atomic_init(&s->refs, 1);
	s->cfg = cfg_take;
	s->owns_cfg = take;
	s->state = st;
	s->nusers = cfg_take->nusers;
	s->users = xcalloc(s->nusers, sizeof(*s->users));
	for (i = 0; i < s->nusers; i++) {
		snap_user_init(&s->users[i], &cfg_take->users[i], st);
		snap_user_tz(s, &s->users[i]);
	}
	s->guard_allow = cfg_take->security.guard_allow_nets;
	s->nguard_allow = cfg_take->security.nguard_allow_nets;
	return s;
}

/* Takes one more reference. */
struct policy_snap *
policy_snap_ref(struct policy_snap *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

/* Drops a reference; the last one frees the snapshot and its config. */
void
policy_snap_unref(struct policy_snap *s)
{
	size_t i;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (i = 0; i < s->nusers; i++) {
		acl_cleanup(&s->users[i].acl);
		if (s->users[i].tz != NULL)
			tz_cleanup(s->users[i].tz);
		free(s->users[i].tz);
	}
	free(s->load_error);
	free(s->users);
	free(s->dummy_hash);
	geoip_free(s->geo);
	if (s->owns_cfg)
		cfg_free(s->cfg);
	free(s);
}

/* Finds a user by exact name. */
const struct policy_user *
policy_snap_user(const struct policy_snap *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nusers; i++) {
		if (strcmp(s->users[i].cfg->username, name) == 0)
			return &s->users[i];
	}
	return NULL;
}

void
policy_holder_init(struct policy_holder *h, struct policy_snap *s)
{
	pthread_mutex_init(&h->lock, NULL);
	h->cur = s;
}

/* Returns the current snapshot with a new reference. */
struct policy_snap *
policy_holder_get(struct policy_holder *h)
{
	struct policy_snap *s = NULL;

	pthread_mutex_lock(&h->lock);
	s = policy_snap_ref(h->cur);
	pthread_mutex_unlock(&h->lock);
	return s;
}

/* Publishes s and drops the holder's reference to the old snapshot. */
void
policy_holder_set(struct policy_holder *h, struct policy_snap *s)
{
	struct policy_snap *old = NULL;

	pthread_mutex_lock(&h->lock);
	old = h->cur;
	h->cur = s;
	pthread_mutex_unlock(&h->lock);
	policy_snap_unref(old);
}

void
policy_holder_cleanup(struct policy_holder *h)
{
	policy_snap_unref(h->cur);
	h->cur = NULL;
	pthread_mutex_destroy(&h->lock);
}

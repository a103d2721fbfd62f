/*
 * Administration across connections: listing the live SSH sessions,
 * kicking a user, and the shell_admin_ops that the `admin` shell command
 * of a session uses (server figures, users, sessions, bans and the three
 * actions, each logged and sent to the audit log).
 *
 * Locks: d->lock, then a connection's ilock. A connection thread takes
 * only its own ilock (and d->lock alone when it ends), so a listing run
 * from any connection's thread cannot deadlock.
 */
#include "ssh/sshd_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"
#include "shell/shell.h"

uint64_t
sshd_uptime_ms(const struct sshd *d)
{
	return util_mono_ms() - d->start_ms;
}

/* Appends one row to a growing array. */
static struct sshd_session_info *
row_add(struct sshd_session_info **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	return &(*v)[(*n)++];
}

size_t
sshd_sessions(struct sshd *d, struct sshd_session_info **out)
{
	struct sshd_session_info *v = NULL, *r = NULL;
	struct sshd_conn *c = NULL;
	struct sshd_chan *ch = NULL;
	uint64_t now = util_mono_ms();
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&d->lock);
	for (c = d->conns; c != NULL; c = c->next) {
		/* user and t_start are final once authed is set. */
		if (!atomic_load(&c->authed) || atomic_load(&c->stop))
			continue;
		pthread_mutex_lock(&c->ilock);
		r = row_add(&v, &n, &cap);
		snprintf(r->user, sizeof(r->user), "%s", c->user);
		snprintf(r->source, sizeof(r->source), "%s", c->peer_str);
		r->age_ms = now > c->t_start ? now - c->t_start : 0;
		for (ch = c->chans; ch != NULL; ch = ch->next) {
			if (ch->kind != SSHD_CHAN_FWD ||
			    !atomic_load(&ch->shown))
				continue;
			r = row_add(&v, &n, &cap);
			snprintf(r->user, sizeof(r->user), "%s", c->user);
			snprintf(r->source, sizeof(r->source), "%s",
			    c->peer_str);
			snprintf(r->target, sizeof(r->target),
			    strchr(ch->host, ':') != NULL ? "[%s]:%u" :
			    "%s:%u", ch->host, ch->port);
			r->bytes_up = atomic_load(&ch->up);
			r->bytes_down = atomic_load(&ch->down);
			r->age_ms = now > ch->t_start ? now - ch->t_start : 0;
		}
		pthread_mutex_unlock(&c->ilock);
	}
	pthread_mutex_unlock(&d->lock);
	*out = v;
	return n;
}

size_t
sshd_kick(struct sshd *d, const char *user)
{
	struct sshd_conn *c = NULL;
	size_t n = 0;
	int zero;

	pthread_mutex_lock(&d->lock);
	for (c = d->conns; c != NULL; c = c->next) {
		if (!atomic_load(&c->authed) || atomic_load(&c->stop) ||
		    strcmp(c->user, user) != 0)
			continue;
		zero = 0;
		(void)atomic_compare_exchange_strong(&c->kicked, &zero, 1);
		n++;
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* ----- the admin shell command's callbacks (arg: struct sshd_conn) ----- */

/* Sends an operator action to the audit log. */
static void
audit(struct sshd_conn *c, const char *action, const char *target,
    int64_t count)
{
	struct admin_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.action = action;
	ev.actor = c->user;
	ev.source = c->peer_str;
	ev.via = "ssh-shell";
	ev.target = target;
	ev.count = count;
	admin_emit(&ev);
}

static void
a_server(void *arg, struct shell_admin_server *out)
{
	struct sshd_conn *c = arg;
	struct policy_snap *s = policy_holder_get(c->d->env.policy);
	struct policy_state *st = s->state;

	out->uptime_s = sshd_uptime_ms(c->d) / 1000;
	out->ssh_connections = (uint32_t)sshd_active(c->d);
	out->active_streams = atomic_load(&st->active_streams);
	out->handshakes = atomic_load(&st->handshakes);
	out->streams_total = atomic_load(&st->streams_total);
	out->bytes_total = atomic_load(&st->bytes_total);
	out->users = (uint32_t)s->nusers;
	out->maintenance = policy_maintenance(s, policy_now_ms(), NULL,
	    NULL);
	policy_snap_unref(s);
}

static size_t
a_users(void *arg, struct shell_admin_user **out)
{
	struct sshd_conn *c = arg;
	struct policy_snap *s = policy_holder_get(c->d->env.policy);
	struct sshd_session_info *ses = NULL;
	struct shell_admin_user *v = NULL;
	const struct policy_user *pu = NULL;
	size_t i, k, ns;

	ns = sshd_sessions(c->d, &ses);
	v = xcalloc(s->nusers + 1, sizeof(*v));
	for (i = 0; i < s->nusers; i++) {
		pu = &s->users[i];
		snprintf(v[i].name, sizeof(v[i].name), "%s",
		    pu->cfg->username);
		snprintf(v[i].group, sizeof(v[i].group), "%s",
		    pu->cfg->group != NULL ? pu->cfg->group : "");
		v[i].admin = pu->cfg->eff.role == CFG_ROLE_ADMIN;
		if (pu->state != NULL) {
			v[i].streams = atomic_load(&pu->state->active);
			v[i].bytes = atomic_load(&pu->state->bytes_up) +
			    atomic_load(&pu->state->bytes_down);
		}
		for (k = 0; k < ns; k++) {
			if (ses[k].target[0] == '\0' &&
			    strcmp(ses[k].user, v[i].name) == 0)
				v[i].ssh_sessions++;
		}
	}
	free(ses);
	policy_snap_unref(s);
	*out = v;
	return i;
}

static size_t
a_sessions(void *arg, struct shell_admin_session **out)
{
	struct sshd_conn *c = arg;
	struct sshd_session_info *ses = NULL;
	struct shell_admin_session *v = NULL;
	size_t i, n;

	n = sshd_sessions(c->d, &ses);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		snprintf(v[i].user, sizeof(v[i].user), "%s", ses[i].user);
		snprintf(v[i].source, sizeof(v[i].source), "%.*s",
		    (int)sizeof(v[i].source) - 1, ses[i].source);
		snprintf(v[i].target, sizeof(v[i].target), "%s",
		    ses[i].target);
		v[i].bytes_up = ses[i].bytes_up;
		v[i].bytes_down = ses[i].bytes_down;
		v[i].age_s = ses[i].age_ms / 1000;
	}
	free(ses);
	*out = v;
	return n;
}

static size_t
a_bans(void *arg, struct shell_admin_ban **out)
{
	struct sshd_conn *c = arg;
	struct policy_snap *s = policy_holder_get(c->d->env.policy);
	struct policy_ban *b = NULL;
	struct shell_admin_ban *v = NULL;
	size_t i, n;

	n = policy_bans(s, policy_now_ms(), &b);
	policy_snap_unref(s);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		snprintf(v[i].addr, sizeof(v[i].addr), "%s", b[i].addr);
		v[i].until = b[i].until_ms / 1000;
		v[i].rep = b[i].rep;
		v[i].failures = b[i].failures;
	}
	free(b);
	*out = v;
	return n;
}

static int
a_unban(void *arg, const char *addr)
{
	struct sshd_conn *c = arg;
	struct policy_snap *s = policy_holder_get(c->d->env.policy);
	int rc;

	rc = policy_unban(s, addr, policy_now_ms());
	policy_snap_unref(s);
	if (rc != 0)
		return rc;
	log_info("event=admin.unban proto=ssh peer=%s user=%s addr=%s",
	    c->peer_str, c->user, addr);
	audit(c, "unban", addr, -1);
	return 0;
}

static int
a_kick(void *arg, const char *user, size_t *n)
{
	struct sshd_conn *c = arg;
	struct policy_snap *s = policy_holder_get(c->d->env.policy);
	int known = policy_snap_user(s, user) != NULL;

	policy_snap_unref(s);
	*n = 0;
	if (!known)
		return ERR_INVAL;
	*n = sshd_kick(c->d, user);
	log_info("event=admin.kick proto=ssh peer=%s user=%s target=%s "
	    "connections=%zu", c->peer_str, c->user, user, *n);
	audit(c, "kick", user, (int64_t)*n);
	return 0;
}

static int
a_quota_reset(void *arg, const char *user)
{
	struct sshd_conn *c = arg;
	struct policy_snap *s = policy_holder_get(c->d->env.policy);
	int rc;

	rc = policy_quota_reset(s, user);
	policy_snap_unref(s);
	if (rc != 0)
		return rc;
	log_info("event=admin.quota_reset proto=ssh peer=%s user=%s "
	    "target=%s", c->peer_str, c->user, user);
	audit(c, "quota_reset", user, -1);
	return 0;
}

void
sshd__admin_ops(struct sshd_conn *c, struct shell_admin_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->arg = c;
	ops->server = a_server;
	ops->users = a_users;
	ops->sessions = a_sessions;
	ops->bans = a_bans;
	ops->unban = a_unban;
	ops->kick = a_kick;
	ops->quota_reset = a_quota_reset;
}

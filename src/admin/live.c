/*
 * The live feed behind GET /api/events (SSE) and GET /api/ws: a hub that
 * keeps the last LIVE_RING events, the table of proxied streams open now
 * (sessions), and one bounded queue per connected client.
 *
 * Event-bus subscribers run on data-plane threads: they format the event
 * outside the lock, then take the hub's lock only to append it to the
 * ring and to every client queue. A client whose queue is full is marked
 * overflowed and its stream ends; nobody ever waits for a slow client.
 * The hub's own thread wakes parked clients, builds the state snapshot
 * every LIVE_TICK_MS (queued when it changed, or every
 * LIVE_SNAPSHOT_MAX_MS), notices bans appearing and going (ban.created,
 * ban.removed, ban.expired) and sends heartbeats to idle clients.
 */
#include "admin/admin_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "obs/obs.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"

struct live_client {
	struct live_client	*next;
	int			 ws;
	live_wake_fn		 wake;
	void			*wake_arg;
	struct live_msg		*q[LIVE_QUEUE_MAX];
	size_t			 head, n, bytes;
	int			 parked;	/* waits for a wake-up */
	int			 overflow;
	uint64_t		 last_ms;	/* last message queued */
};

/* One proxied stream open now. */
struct live_sess {
	uint64_t	 id;
	char		*user, *host, *source, *proto;
	uint16_t	 port;
	int64_t		 started_ms;
};

struct admin_live {
	const struct admin_env	*env;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct live_client	*clients;
	unsigned		 nclients;
	struct live_msg		*ring[LIVE_RING];
	size_t			 rhead, rn;
	uint64_t		 seq;
	struct live_msg		*snapshot;	/* latest, or NULL */
	char			*snap_key;	/* its text without uptime */
	uint64_t		 snap_ms;
	struct live_sess	*sess;
	size_t			 nsess, capsess;
	uint64_t		 sess_seq;
	struct admin_ban	*bans;		/* as last seen */
	size_t			 nbans;
	int			 stop;
	int			 kick;		/* wake-ups wanted */
	unsigned		 threads;	/* WebSocket threads */
	int			 running;
	pthread_t		 th;
};

static struct live_msg *
msg_new(enum live_kind kind, uint64_t id, const char *text)
{
	size_t n = strlen(text);
	struct live_msg *m = xmalloc(sizeof(*m) + n + 1);

	m->refs = 1;
	m->kind = kind;
	m->id = id;
	m->len = n;
	memcpy(m->text, text, n + 1);
	return m;
}

static struct live_msg *
msg_ref(struct live_msg *m)
{
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

void
admin__live_unref(struct live_msg *m)
{
	if (m != NULL && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(m);
}

/* Appends m (a new reference) to c's queue; marks overflow when full.
 * Caller holds the lock. */
static void
client_push(struct admin_live *l, struct live_client *c, struct live_msg *m)
{
	if (c->overflow)
		return;
	if (c->n == LIVE_QUEUE_MAX || c->bytes + m->len > LIVE_QUEUE_BYTES) {
		c->overflow = 1;
		log_info("event=api.stream.dropped reason=queue_full");
	} else {
		c->q[(c->head + c->n) % LIVE_QUEUE_MAX] = msg_ref(m);
		c->n++;
		c->bytes += m->len;
		c->last_ms = util_mono_ms();
	}
	if (c->parked)
		l->kick = 1;
}

/* Queues m to every client; caller holds the lock. */
static void
push_all(struct admin_live *l, struct live_msg *m)
{
	struct live_client *c = NULL;

	for (c = l->clients; c != NULL; c = c->next)
		client_push(l, c, m);
	if (l->kick)
		pthread_cond_signal(&l->cond);
}

struct admin_live *
admin__live_new(const struct admin_env *env)
{
	struct admin_live *l = xcalloc(1, sizeof(*l));

	l->env = env;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	return l;
}

int
admin__live_room(struct admin_live *l)
{
	int ok;

	pthread_mutex_lock(&l->lock);
	ok = !l->stop && l->nclients < LIVE_STREAMS_MAX;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

struct live_client *
admin__live_join(struct admin_live *l, int ws, live_wake_fn wake, void *arg)
{
	struct live_client *c = NULL;
	size_t i, n, from;

	pthread_mutex_lock(&l->lock);
	if (l->stop || l->nclients >= LIVE_STREAMS_MAX) {
		pthread_mutex_unlock(&l->lock);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->ws = ws;
	c->wake = wake;
	c->wake_arg = arg;
	c->next = l->clients;
	l->clients = c;
	l->nclients++;
	if (l->snapshot != NULL)
		client_push(l, c, l->snapshot);
	n = l->rn < LIVE_BACKLOG ? l->rn : LIVE_BACKLOG;
	from = (l->rhead + l->rn - n) % LIVE_RING;
	for (i = 0; i < n; i++)
		client_push(l, c, l->ring[(from + i) % LIVE_RING]);
	c->last_ms = util_mono_ms();
	pthread_mutex_unlock(&l->lock);
	return c;
}

void
admin__live_leave(struct admin_live *l, struct live_client *c)
{
	struct live_client **pp = NULL;

	if (c == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	for (pp = &l->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			l->nclients--;
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	while (c->n > 0) {
		admin__live_unref(c->q[c->head]);
		c->head = (c->head + 1) % LIVE_QUEUE_MAX;
		c->n--;
	}
	free(c);
}

struct live_msg *
admin__live_pop(struct admin_live *l, struct live_client *c, int *end,
    void (*park)(void *), void *park_arg)
{
	struct live_msg *m = NULL;

	*end = 0;
	pthread_mutex_lock(&l->lock);
	if (c->overflow || l->stop)
		*end = 1;
	else if (c->n > 0) {
		m = c->q[c->head];
		c->head = (c->head + 1) % LIVE_QUEUE_MAX;
		c->n--;
		c->bytes -= m->len;
	} else if (park != NULL) {
		c->parked = 1;
		park(park_arg);
	}
	pthread_mutex_unlock(&l->lock);
	return m;
}

int
admin__live_overflowed(struct admin_live *l, struct live_client *c)
{
	int o;

	pthread_mutex_lock(&l->lock);
	o = c->overflow;
	pthread_mutex_unlock(&l->lock);
	return o;
}

void
admin__live_reply(struct admin_live *l, struct live_client *c,
    const char *json)
{
	struct live_msg *m = msg_new(LIVE_REPLY, 0, json);

	pthread_mutex_lock(&l->lock);
	client_push(l, c, m);
	pthread_mutex_unlock(&l->lock);
	admin__live_unref(m);
}

void
admin__live_thread_begin(struct admin_live *l)
{
	pthread_mutex_lock(&l->lock);
	l->threads++;
	pthread_mutex_unlock(&l->lock);
}

void
admin__live_thread_end(struct admin_live *l)
{
	pthread_mutex_lock(&l->lock);
	l->threads--;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* ---- events ---- */

json_t *
admin__event_new(const char *type)
{
	char ts[48];

	obs_timestamp(ts, sizeof(ts));
	return json_pack("{s:s,s:s}", "event_type", type, "timestamp", ts);
}

/* Appends ev to the ring and every client queue; caller holds lock. */
static void
publish_locked(struct admin_live *l, json_t *ev)
{
	struct live_msg *m = NULL;
	char *text = NULL;

	json_object_set_new(ev, "id", json_integer((json_int_t)++l->seq));
	text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_object_del(ev, "id");
	if (text == NULL)
		abort();
	m = msg_new(LIVE_EVENT, l->seq, text);
	free(text);
	if (l->rn == LIVE_RING) {
		admin__live_unref(l->ring[l->rhead]);
		l->rhead = (l->rhead + 1) % LIVE_RING;
		l->rn--;
	}
	l->ring[(l->rhead + l->rn) % LIVE_RING] = msg_ref(m);
	l->rn++;
	push_all(l, m);
	admin__live_unref(m);
}

void
admin__publish(struct admin_live *l, json_t *ev)
{
	if (l != NULL) {
		pthread_mutex_lock(&l->lock);
		publish_locked(l, ev);
		pthread_mutex_unlock(&l->lock);
	}
	json_decref(ev);
}

void
admin__maint_event(struct admin_live *l, struct admin_sink *s, int enabled,
    const char *source)
{
	struct audit_ev *e = NULL;
	json_t *o = NULL;

	if (s != NULL) {
		e = audit_ev_new("maintenance.toggled");
		audit_ev_bool(e, "enabled", enabled);
		audit_ev_str(e, "source", source);
		admin__emit(s, e);
	}
	o = admin__event_new("maintenance.toggled");
	json_object_set_new(o, "enabled", json_boolean(enabled));
	json_object_set_new(o, "source", json_string(source));
	admin__publish(l, o);
}

/* The address part of "ip:port" as a JSON string. */
static json_t *
ev_source(const char *source)
{
	char ip[64];

	obs_source_ip(source, ip, sizeof(ip));
	return admin__jstr(ip);
}

/* Audit event type of a stream event (as hooks.c names them). */
static const char *
ev_stream_type(const struct stream_event *ev)
{
	switch (ev->phase) {
	case STREAM_START:
		return "proxy.start";
	case STREAM_END:
		return "proxy.complete";
	case STREAM_REFUSED:
		return ev->code == 2 && (ev->outcome == NULL ||
		    strstr(ev->outcome, "limit") == NULL) ? "acl.deny" :
		    "proxy.refused";
	}
	return "proxy.unknown";
}

/* Adds or removes the session of a stream event; caller holds lock. */
static void
sess_update(struct admin_live *l, const struct stream_event *ev)
{
	struct live_sess *s = NULL;
	size_t i;

	if (ev->phase == STREAM_START) {
		if (l->nsess >= LIVE_SESSIONS_MAX)
			return;
		if (l->nsess == l->capsess) {
			l->capsess = l->capsess == 0 ? 32 : l->capsess * 2;
			l->sess = xreallocarray(l->sess, l->capsess,
			    sizeof(*l->sess));
		}
		s = &l->sess[l->nsess++];
		s->id = ++l->sess_seq;
		s->user = xstrdup(ev->user);
		s->host = xstrdup(ev->host != NULL ? ev->host : "");
		s->source = xstrdup(ev->source != NULL ? ev->source : "");
		s->proto = xstrdup(ev->proto != NULL ? ev->proto : "");
		s->port = ev->port;
		s->started_ms = policy_now_ms();
		return;
	}
	/* The oldest entry with the same identity ends (streams that share
	 * all of it cannot be told apart from outside). */
	for (i = 0; i < l->nsess; i++) {
		s = &l->sess[i];
		if (s->port == ev->port && strcmp(s->user, ev->user) == 0 &&
		    strcmp(s->host, ev->host != NULL ? ev->host : "") == 0 &&
		    strcmp(s->source, ev->source != NULL ? ev->source : "") ==
		    0 && strcmp(s->proto, ev->proto != NULL ? ev->proto : "") ==
		    0) {
			free(s->user);
			free(s->host);
			free(s->source);
			free(s->proto);
			memmove(s, s + 1, (l->nsess - i - 1) * sizeof(*s));
			l->nsess--;
			return;
		}
	}
}

void
admin__live_stream(const struct stream_event *ev, void *arg)
{
	struct admin_live *l = arg;
	json_t *o = admin__event_new(ev_stream_type(ev));

	json_object_set_new(o, "username", admin__jstr(ev->user));
	json_object_set_new(o, "protocol", admin__jstr(ev->proto));
	json_object_set_new(o, "source_ip", ev_source(ev->source));
	if (ev->host != NULL)
		json_object_set_new(o, "target_host", admin__jstr(ev->host));
	json_object_set_new(o, "target_port", json_integer(ev->port));
	if (ev->phase == STREAM_END) {
		json_object_set_new(o, "bytes_uploaded",
		    json_integer((json_int_t)ev->bytes_up));
		json_object_set_new(o, "bytes_downloaded",
		    json_integer((json_int_t)ev->bytes_down));
		json_object_set_new(o, "duration_ms",
		    json_integer((json_int_t)ev->duration_ms));
	}
	if (ev->phase != STREAM_START && ev->outcome != NULL)
		json_object_set_new(o, ev->phase == STREAM_END ? "outcome" :
		    "reason", admin__jstr(ev->outcome));
	if (ev->phase != STREAM_REFUSED) {
		pthread_mutex_lock(&l->lock);
		sess_update(l, ev);
		pthread_mutex_unlock(&l->lock);
	}
	admin__publish(l, o);
}

void
admin__live_auth(const struct auth_event *ev, void *arg)
{
	json_t *o = admin__event_new(ev->success ? "auth.success" :
	    "auth.failure");

	json_object_set_new(o, "username", admin__jstr(ev->user));
	json_object_set_new(o, "source_ip", ev_source(ev->source));
	json_object_set_new(o, "protocol", admin__jstr(ev->proto));
	json_object_set_new(o, "method", admin__jstr(ev->method));
	if (!ev->success && ev->reason != NULL)
		json_object_set_new(o, "reason", admin__jstr(ev->reason));
	admin__publish(arg, o);
}

json_t *
admin__sessions_json(struct admin_live *l, const char *user, int64_t now_ms,
    int with_duration)
{
	json_t *a = json_array(), *o = NULL;
	char id[32], ts[40], ip[64];
	size_t i;

	if (l == NULL)
		return a;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->nsess; i++) {
		const struct live_sess *s = &l->sess[i];

		if (user != NULL && strcmp(user, s->user) != 0)
			continue;
		snprintf(id, sizeof(id), "s%llu", (unsigned long long)s->id);
		admin__rfc3339(s->started_ms, ts, sizeof(ts));
		obs_source_ip(s->source, ip, sizeof(ip));
		o = json_pack("{s:s,s:o,s:o,s:i,s:o,s:s,s:o}", "session_id", id,
		    "username", admin__jstr(s->user),
		    "target_host", admin__jstr(s->host),
		    "target_port", (int)s->port,
		    "source_ip", admin__jstr(ip), "started_at", ts,
		    "protocol", admin__jstr(s->proto));
		if (with_duration)
			json_object_set_new(o, "duration_secs", json_integer(
			    (now_ms - s->started_ms) / 1000));
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&l->lock);
	return a;
}

int
admin__maintenance(const struct admin_env *env, int enable,
    const char *source)
{
	int was, now;

	if (enable < 0) {
		now = policy_maintenance_toggle(env->state);
		was = !now;
	} else {
		now = enable != 0;
		was = atomic_exchange(&env->state->maint_manual, now);
	}
	if (was != now) {
		log_info("event=maintenance.toggled source=%s enabled=%s",
		    source, now ? "true" : "false");
		admin__maint_event(env->live, env->sink, now, source);
	}
	return now;
}

/* ---- the hub thread ---- */

/* Publishes ban.created / ban.removed / ban.expired for what changed. */
static void
live_bans(struct admin_live *l, struct admin_ban *now_b, size_t n,
    int64_t now_ms)
{
	size_t i = 0, j = 0;
	json_t *o = NULL;
	char ts[40];
	int c;

	while (i < l->nbans || j < n) {
		c = i == l->nbans ? 1 : j == n ? -1 :
		    strcmp(l->bans[i].ip, now_b[j].ip);
		o = NULL;
		if (c < 0) {		/* gone */
			o = admin__event_new(l->bans[i].until_ms <= now_ms ?
			    "ban.expired" : "ban.removed");
			json_object_set_new(o, "ip", json_string(
			    l->bans[i].ip));
			i++;
		} else if (c > 0 || now_b[j].until_ms != l->bans[i].until_ms) {
			admin__rfc3339(now_b[j].until_ms, ts, sizeof(ts));
			o = admin__event_new("ban.created");
			json_object_set_new(o, "ip", json_string(now_b[j].ip));
			json_object_set_new(o, "duration_secs", json_integer(
			    (now_b[j].until_ms - now_ms + 999) / 1000));
			json_object_set_new(o, "expires_at", json_string(ts));
			if (c == 0)
				i++;
			j++;
		} else {
			i++;
			j++;
		}
		if (o != NULL) {
			publish_locked(l, o);
			json_decref(o);
		}
	}
	free(l->bans);
	l->bans = now_b;
	l->nbans = n;
}

/* The snapshot object, without uptime_secs. */
static json_t *
live_snapshot_json(struct admin_live *l, const struct admin_ban *b,
    size_t nb, int64_t now_ms)
{
	const struct admin_env *env = l->env;
	struct policy_snap *s = policy_holder_get(env->policy);
	json_t *o = NULL, *users = json_array(), *conns = json_object();
	json_t *quotas = json_array(), *sess = NULL;
	uint32_t n;
	size_t i;

	for (i = 0; i < s->nusers; i++) {
		const struct policy_user *u = &s->users[i];

		json_array_append_new(users, json_pack("{s:o,s:b}", "username",
		    admin__jstr(u->cfg->username), "allow_shell",
		    u->cfg->eff.allow_shell));
		if (u->state != NULL && (n = atomic_load(&u->state->active)) > 0)
			json_object_set_new(conns, u->cfg->username,
			    json_integer(n));
		json_array_append_new(quotas, admin__quota_json(u, now_ms, 1));
	}
	sess = admin__sessions_json(l, NULL, now_ms, 0);
	o = json_pack("{s:I,s:I,s:I,s:b,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:o}}",
	    "active_connections",
	    (json_int_t)atomic_load(&env->state->active_streams),
	    "banned_count", (json_int_t)nb,
	    "total_users", (json_int_t)s->nusers,
	    "maintenance", policy_maintenance(s, now_ms, NULL, NULL) != 0,
	    "users", users,
	    "bans", admin__bans_json(b, nb, now_ms, 0),
	    "connections", conns,
	    "quotas", quotas,
	    "groups", admin__groups_json(s, now_ms, 0),
	    "sessions", "total_active", (json_int_t)json_array_size(sess),
	    "sessions", sess);
	policy_snap_unref(s);
	return o;
}

/* Builds the snapshot; queues it when it changed or is due. */
static void
live_tick(struct admin_live *l, uint64_t mono)
{
	int64_t now_ms = policy_now_ms();
	struct admin_ban *b = NULL, *copy = NULL;
	struct live_msg *m = NULL;
	size_t nb = 0;
	json_t *o = NULL;
	char *key = NULL, *text = NULL;

	b = admin__bans(l->env->state, now_ms, &nb);
	o = live_snapshot_json(l, b, nb, now_ms);
	key = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_object_set_new(o, "uptime_secs", json_integer(
	    (json_int_t)((mono - l->env->start_ms) / 1000)));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (key == NULL || text == NULL)
		abort();
	if (nb > 0) {
		copy = xcalloc(nb, sizeof(*copy));
		memcpy(copy, b, nb * sizeof(*b));
	}
	pthread_mutex_lock(&l->lock);
	live_bans(l, copy, nb, now_ms);
	if (l->snap_key == NULL || strcmp(l->snap_key, key) != 0 ||
	    mono - l->snap_ms >= LIVE_SNAPSHOT_MAX_MS) {
		m = msg_new(LIVE_SNAPSHOT, 0, text);
		admin__live_unref(l->snapshot);
		l->snapshot = msg_ref(m);
		free(l->snap_key);
		l->snap_key = key;
		key = NULL;
		l->snap_ms = mono;
		push_all(l, m);
	}
	pthread_mutex_unlock(&l->lock);
	admin__live_unref(m);
	free(key);
	free(text);
	free(b);
}

/* Heartbeats to clients idle for LIVE_PING_MS; caller holds lock. */
static void
live_pings(struct admin_live *l, uint64_t mono)
{
	struct live_client *c = NULL;
	struct live_msg *m = NULL;

	for (c = l->clients; c != NULL; c = c->next) {
		if (mono - c->last_ms < LIVE_PING_MS)
			continue;
		if (m == NULL)
			m = msg_new(LIVE_PING, 0, "");
		client_push(l, c, m);
	}
	admin__live_unref(m);
}

/* Wakes parked clients that have something (or must end). */
static void
live_wake(struct admin_live *l)
{
	struct live_client *c = NULL;
	live_wake_fn fns[LIVE_STREAMS_MAX];
	void *args[LIVE_STREAMS_MAX];
	size_t n = 0, i;

	for (c = l->clients; c != NULL; c = c->next) {
		if (!c->parked || (c->n == 0 && !c->overflow && !l->stop))
			continue;
		c->parked = 0;
		if (c->ws)
			c->wake(c->wake_arg);	/* must not block */
		else if (n < LIVE_STREAMS_MAX) {
			fns[n] = c->wake;
			args[n++] = c->wake_arg;
		}
	}
	l->kick = 0;
	/* SSE clients stay suspended (so alive) until resumed here. */
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < n; i++)
		fns[i](args[i]);
	pthread_mutex_lock(&l->lock);
}

static void *
live_main(void *arg)
{
	struct admin_live *l = arg;
	struct timespec ts;
	uint64_t next = 0, mono;

	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		mono = util_mono_ms();
		if (mono >= next) {
			pthread_mutex_unlock(&l->lock);
			live_tick(l, mono);
			pthread_mutex_lock(&l->lock);
			live_pings(l, mono);
			next = mono + LIVE_TICK_MS;
		}
		live_wake(l);
		if (l->stop || l->kick)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int
admin__live_start(struct admin_live *l)
{
	if (pthread_create(&l->th, NULL, live_main, l) != 0) {
		log_error("cannot start the live feed thread");
		return ERR_IO;
	}
	l->running = 1;
	return 0;
}

void
admin__live_stop(struct admin_live *l)
{
	struct timespec ts;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	l->kick = 1;
	live_wake(l);
	/* WebSocket threads see the stop at their next wake-up. */
	while (l->threads > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (l->running) {
		pthread_join(l->th, NULL);
		l->running = 0;
	}
}

void
admin__live_free(struct admin_live *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->rn; i++)
		admin__live_unref(l->ring[(l->rhead + i) % LIVE_RING]);
	admin__live_unref(l->snapshot);
	free(l->snap_key);
	for (i = 0; i < l->nsess; i++) {
		free(l->sess[i].user);
		free(l->sess[i].host);
		free(l->sess[i].source);
		free(l->sess[i].proto);
	}
	free(l->sess);
	free(l->bans);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

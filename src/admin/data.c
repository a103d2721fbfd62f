/*
 * Data builders shared by the REST API and the live feed: bans, quotas,
 * groups, and the OpenSSH client block. They read the policy state under
 * its locks and copy out; nothing here changes it.
 */
#include "admin/admin_int.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "config/values.h"
#include "core/util.h"
#include "policy/limits.h"
#include "policy/policy.h"
#include "policy/snap.h"

void
admin__rfc3339(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
admin__jstr(const char *s)
{
	json_t *v = NULL;
	char *copy = NULL;
	size_t i;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	copy = xstrdup(s);
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	v = json_string(copy);
	free(copy);
	return v != NULL ? v : json_string("?");
}

/* The text of a 16-byte table key (IPv4-mapped shown as IPv4). */
static void
ban_key_text(const unsigned char *key, char *out, size_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (memcmp(key, mapped, 12) == 0)
		inet_ntop(AF_INET, key + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, key, out, (socklen_t)len);
}

static int
ban_cmp(const void *a, const void *b)
{
	return strcmp(((const struct admin_ban *)a)->ip,
	    ((const struct admin_ban *)b)->ip);
}

struct admin_ban *
admin__bans(struct policy_state *st, int64_t now_ms, size_t *n)
{
	struct admin_ban *out = NULL;
	size_t i, cap = 0;

	*n = 0;
	pthread_mutex_lock(&st->glock);
	for (i = 0; i < st->ipt.nslots; i++) {
		const struct ipt_entry *e = &st->ipt.slots[i];

		if (!e->used || e->ban_until <= now_ms)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out = xreallocarray(out, cap, sizeof(*out));
		}
		ban_key_text(e->addr, out[*n].ip, sizeof(out[*n].ip));
		out[*n].until_ms = e->ban_until;
		(*n)++;
	}
	pthread_mutex_unlock(&st->glock);
	if (*n > 1)
		qsort(out, *n, sizeof(*out), ban_cmp);
	return out;
}

json_t *
admin__bans_json(const struct admin_ban *b, size_t n, int64_t now_ms,
    int remain)
{
	json_t *a = json_array(), *o = NULL;
	char ts[40];
	size_t i;

	for (i = 0; i < n; i++) {
		admin__rfc3339(b[i].until_ms, ts, sizeof(ts));
		o = json_pack("{s:s}", "ip", b[i].ip);
		if (remain)
			json_object_set_new(o, "remaining_secs", json_integer(
			    (b[i].until_ms - now_ms + 999) / 1000));
		json_object_set_new(o, "expires_at", json_string(ts));
		json_array_append_new(a, o);
	}
	return a;
}

/* A copy of the user's quota counters brought to now. */
static void
quota_copy(const struct policy_user *u, int64_t now_ms,
    struct quota_state *q)
{
	memset(q, 0, sizeof(*q));
	if (u->state == NULL)
		return;
	pthread_mutex_lock(&u->state->lock);
	*q = u->state->quota;
	pthread_mutex_unlock(&u->state->lock);
	quota_roll(q, now_ms);
}

json_t *
admin__quota_json(const struct policy_user *u, int64_t now_ms, int compact)
{
	const struct cfg_quotas *l = &u->cfg->eff.quotas;
	struct quota_state q;
	json_t *o = NULL;

	quota_copy(u, now_ms, &q);
	o = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "username", admin__jstr(u->cfg->username),
	    "daily_bytes", (json_int_t)q.day_bytes,
	    "daily_connections", (json_int_t)q.day_conns,
	    "monthly_bytes", (json_int_t)q.month_bytes,
	    "monthly_connections", (json_int_t)q.month_conns,
	    "hourly_bytes", (json_int_t)quota_hour_bytes(&q, now_ms),
	    "total_bytes", (json_int_t)q.total_bytes);
	if (compact)
		return o;
	json_object_set_new(o, "daily_bytes_limit",
	    json_integer((json_int_t)l->daily_bandwidth_bytes));
	json_object_set_new(o, "monthly_bytes_limit",
	    json_integer((json_int_t)l->monthly_bandwidth_bytes));
	json_object_set_new(o, "hourly_bytes_limit",
	    json_integer((json_int_t)l->bandwidth_per_hour_bytes));
	json_object_set_new(o, "total_bytes_limit",
	    json_integer((json_int_t)l->total_bandwidth_bytes));
	json_object_set_new(o, "daily_connections_limit",
	    json_integer((json_int_t)l->daily_connection_limit));
	json_object_set_new(o, "monthly_connections_limit",
	    json_integer((json_int_t)l->monthly_connection_limit));
	return o;
}

/* GroupStats of group g. */
static json_t *
group_json(struct policy_snap *s, const struct cfg_group *g, int64_t now_ms,
    int members)
{
	json_t *m = json_array();
	struct quota_state q;
	uint64_t day = 0, month = 0;
	uint32_t active = 0, act, nmem = 0;
	json_t *o = NULL;
	size_t i;

	for (i = 0; i < s->nusers; i++) {
		const struct policy_user *u = &s->users[i];

		if (u->cfg->group == NULL || strcmp(u->cfg->group, g->name) != 0)
			continue;
		quota_copy(u, now_ms, &q);
		act = u->state != NULL ? atomic_load(&u->state->active) : 0;
		nmem++;
		active += act;
		day += q.day_bytes;
		month += q.month_bytes;
		json_array_append_new(m, json_pack("{s:o,s:I,s:I,s:I}",
		    "username", admin__jstr(u->cfg->username),
		    "active_connections", (json_int_t)act,
		    "daily_bytes", (json_int_t)q.day_bytes,
		    "monthly_bytes", (json_int_t)q.month_bytes));
	}
	o = json_pack("{s:o,s:I,s:I,s:I,s:I}", "name", admin__jstr(g->name),
	    "member_count", (json_int_t)nmem,
	    "active_connections", (json_int_t)active,
	    "total_daily_bytes", (json_int_t)day,
	    "total_monthly_bytes", (json_int_t)month);
	if (members)
		json_object_set_new(o, "members", m);
	else
		json_decref(m);
	return o;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct cfg_group *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

json_t *
admin__groups_json(struct policy_snap *s, int64_t now_ms, int members)
{
	const struct cfg_group **v = NULL;
	json_t *a = json_array();
	size_t i, n = s->cfg->ngroups;

	if (n == 0)
		return a;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = &s->cfg->groups[i];
	qsort(v, n, sizeof(*v), group_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(a, group_json(s, v[i], now_ms, members));
	free(v);
	return a;
}

json_t *
admin__group_json(struct policy_snap *s, const char *name, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < s->cfg->ngroups; i++)
		if (strcmp(s->cfg->groups[i].name, name) == 0)
			return group_json(s, &s->cfg->groups[i], now_ms, 1);
	return NULL;
}

/* 1 when s is 1..max bytes, all from the set allowed, and not starting
 * with '-' (it could read as an option). */
static int
ssh_token_ok(const char *s, size_t max, const char *extra)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '-' || s[i] == '_')
			continue;
		if (strchr(extra, s[i]) == NULL)
			return 0;
	}
	return 1;
}

char *
admin__ssh_config(const char *ssh_listen, const char *user,
    const char *host, const char **err)
{
	const char *port = NULL;

	*err = NULL;
	if (ssh_listen == NULL || (port = strrchr(ssh_listen, ':')) == NULL) {
		*err = "the SSH listener is disabled";
		return NULL;
	}
	port++;
	/* User names: what usernames may hold minus anything the ssh_config
	 * parser treats specially (spaces, quotes, '#', '%' tokens). */
	if (user == NULL || !ssh_token_ok(user, 64, "@")) {
		*err = "user: required; letters, digits, '.', '_', '-', '@'";
		return NULL;
	}
	/* Host names or IP literals (IPv6 without brackets). */
	if (!ssh_token_ok(host, 253, ":")) {
		*err = "host: a host name or an IP address";
		return NULL;
	}
	return xasprintf("Host %s\n    HostName %s\n    Port %s\n"
	    "    User %s\n    DynamicForward 1080\n", host, host, port, user);
}

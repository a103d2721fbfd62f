/*
 * Inheritance: each user's effective settings, resolved user -> group ->
 * global per field (an explicitly set user value, including 0, always
 * wins), plus the parsed forms of values that validation accepted.
 */
#include "config/config_int.h"

#include <stdlib.h>
#include <string.h>

#include "config/values.h"
#include "core/util.h"

/* The user's field if set, else the group's if set, else the default. */
#define OPT(uf, gf, dflt)	((uf).set ? (uf).v : (gf).set ? (gf).v : (dflt))

/* Parses a list of CIDRs (validated already) into an owned array. */
static struct cfg_cidr *
parse_nets(const struct cfg_strv *v, size_t *n)
{
	struct cfg_cidr *out = xcalloc(v->n + 1, sizeof(*out));
	char err[64];
	size_t i;

	*n = 0;
	for (i = 0; i < v->n; i++) {
		if (cfg_parse_cidr(v->v[i], 1, &out[*n], err,
		    sizeof(err)) == 0) {
			(*n)++;
		}
	}
	return out;
}

/* Appends the parsed rules of v to *rules. */
static void
add_rules(struct cfg_acl_rule **rules, size_t *n, const struct cfg_strv *v)
{
	char err[64];
	size_t i;

	*rules = xreallocarray(*rules, *n + v->n + 1, sizeof(**rules));
	for (i = 0; i < v->n; i++) {
		if (cfg_parse_acl_rule(v->v[i], &(*rules)[*n], err,
		    sizeof(err)) == 0) {
			(*n)++;
		}
	}
}

/*
 * ACL: the policy comes from the user, else the group (when inherited),
 * else the global default. Rules are global ++ group ++ user; a user with
 * inherit = false keeps only its own rules; a group with inherit = false
 * drops the global rules for its members.
 */
static void
resolve_acl(const struct cfg *c, const struct cfg_user *u,
    const struct cfg_group *g, struct cfg_user_eff *e)
{
	int with_group = u->acl.inherit && g != NULL;
	int with_global = u->acl.inherit && (g == NULL || g->acl.inherit);
	const struct cfg_strv *lists[3][2] = {
		{ with_global ? &c->acl.allow : NULL,
		  with_global ? &c->acl.deny : NULL },
		{ with_group ? &g->acl.allow : NULL,
		  with_group ? &g->acl.deny : NULL },
		{ &u->acl.allow, &u->acl.deny },
	};
	size_t i;

	if (u->acl.default_policy.set) {
		e->acl_policy = u->acl.default_policy.v;
	} else if (with_group && g->acl.default_policy.set) {
		e->acl_policy = g->acl.default_policy.v;
	} else {
		e->acl_policy = c->acl.default_policy;
	}
	for (i = 0; i < 3; i++) {
		if (lists[i][0] != NULL) {
			add_rules(&e->acl_allow, &e->nacl_allow, lists[i][0]);
			add_rules(&e->acl_deny, &e->nacl_deny, lists[i][1]);
		}
	}
}

/* Shell permissions, per field, default true. */
static void
resolve_perms(const struct cfg_perms_o *u, const struct cfg_perms_o *g,
    struct cfg_perms *e)
{
#define PERM(f)	e->f = OPT(u->f, g->f, 1)
	PERM(show_connections); PERM(show_bandwidth); PERM(show_acl);
	PERM(show_status); PERM(show_history); PERM(show_fingerprint);
	PERM(test_command); PERM(ping_command); PERM(resolve_command);
	PERM(bookmark_command); PERM(alias_command); PERM(show_quota);
	PERM(show_role); PERM(show_group); PERM(show_expires);
	PERM(show_source_ip); PERM(show_auth_method); PERM(show_uptime);
#undef PERM
}

/* MOTD, quotas, time window and rate limits, per field. */
static void
resolve_blocks(const struct cfg *c, const struct cfg_user *u,
    const struct cfg_group *g, struct cfg_user_eff *e)
{
	const struct cfg_time_access_o *ut = &u->time_access;
	const struct cfg_time_access_o *gt = &g->time_access;
	const struct cfg_strv *days = NULL;
	const char *hours = NULL;
	char err[64];
	size_t i;
	int d;

	e->motd.enabled = OPT(u->motd.enabled, g->motd.enabled,
	    c->motd.enabled);
	e->motd.colors = OPT(u->motd.colors, g->motd.colors, c->motd.colors);
	e->motd.template = u->motd.template != NULL ? u->motd.template :
	    g->motd.template != NULL ? g->motd.template :
	    c->motd.template != NULL ? c->motd.template : c->motd_text;
#define Q(f)	e->quotas.f = OPT(u->quotas.f, g->quotas.f, 0)
	Q(daily_bandwidth_bytes); Q(daily_connection_limit);
	Q(monthly_bandwidth_bytes); Q(monthly_connection_limit);
	Q(bandwidth_per_hour_bytes); Q(total_bandwidth_bytes);
#undef Q
#define R(f)	e->rate_limits.f = OPT(u->rate_limits.f, g->rate_limits.f, 0)
	R(connections_per_second); R(connections_per_minute);
	R(connections_per_hour);
#undef R
	/* The legacy per-minute limit and the rate block: stricter wins. */
	if (e->max_new_connections_per_minute != 0 &&
	    (e->rate_limits.connections_per_minute == 0 ||
	    e->max_new_connections_per_minute <
	    e->rate_limits.connections_per_minute)) {
		e->rate_limits.connections_per_minute =
		    e->max_new_connections_per_minute;
	}
	hours = ut->access_hours != NULL ? ut->access_hours : gt->access_hours;
	if (hours != NULL && cfg_parse_hours(hours, &e->time_access.hours,
	    err, sizeof(err)) == 0) {
		e->time_access.has_hours = 1;
	}
	days = ut->access_days.set ? &ut->access_days : &gt->access_days;
	for (i = 0; i < days->n; i++) {
		if (cfg_parse_day(days->v[i], &d, err, sizeof(err)) == 0) {
			e->time_access.days |= 1u << d;
		}
	}
	e->time_access.timezone = ut->timezone != NULL ? ut->timezone :
	    gt->timezone != NULL ? gt->timezone : "UTC";
}

/* Finds a group by name; NULL if none. */
static const struct cfg_group *
group_find(const struct cfg *c, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < c->ngroups; i++) {
		if (strcmp(c->groups[i].name, name) == 0) {
			return &c->groups[i];
		}
	}
	return NULL;
}

/* Fills u->eff. */
static void
resolve_user(const struct cfg *c, struct cfg_user *u)
{
	static const struct cfg_group nogroup;
	struct cfg_user_eff *e = &u->eff;
	const struct cfg_group *g = group_find(c, u->group);
	char err[64];

	memset(e, 0, sizeof(*e));
	e->group = g;
	if (g == NULL) {
		g = &nogroup;
	}
	e->role = OPT(u->role, g->role, CFG_ROLE_USER);
	e->allow_shell = OPT(u->allow_shell, g->allow_shell, 1);
	e->allow_forwarding = u->allow_forwarding.set ?
	    u->allow_forwarding.v : 1;
	e->max_connections = OPT(u->max_connections,
	    g->max_connections_per_user, c->limits.max_connections_per_user);
	e->max_new_connections_per_minute = OPT(
	    u->max_new_connections_per_minute,
	    g->max_new_connections_per_minute, 0);
	e->max_bandwidth_kbps = OPT(u->max_bandwidth_kbps,
	    g->max_bandwidth_kbps, 0);
	e->max_aggregate_bandwidth_kbps = OPT(u->max_aggregate_bandwidth_kbps,
	    g->max_aggregate_bandwidth_kbps, 0);
	e->idle_warning_secs = OPT(u->idle_warning_secs, g->idle_warning_secs,
	    c->limits.idle_warning_secs);
	e->colors = OPT(u->colors, g->colors, c->shell.colors);
	e->connect_retry = OPT(u->connect_retry, g->connect_retry,
	    c->server.connect_retry);
	e->connect_retry_delay_ms = OPT(u->connect_retry_delay_ms,
	    g->connect_retry_delay_ms, c->server.connect_retry_delay_ms);
	e->auth_methods = u->auth_methods.set ? &u->auth_methods :
	    g->auth_methods.set ? &g->auth_methods : &u->auth_methods;
	resolve_perms(&u->shell_permissions, &g->shell_permissions,
	    &e->shell_permissions);
	resolve_blocks(c, u, g, e);
	resolve_acl(c, u, e->group, e);
	e->upstream_proxy = u->upstream_proxy != NULL ? u->upstream_proxy :
	    c->upstream_proxy.url;
	e->source_nets = parse_nets(&u->source_ips, &e->nsource_nets);
	if (u->expires_at != NULL && cfg_parse_rfc3339(u->expires_at,
	    &e->expires_at, err, sizeof(err)) == 0) {
		e->has_expiry = 1;
	}
}

/* Rewrites webhook event names to their canonical dotted form. */
static void
canonical_events(struct cfg *c)
{
	const char *canon = NULL;
	size_t i, j;

	for (i = 0; i < c->nwebhooks; i++) {
		for (j = 0; j < c->webhooks[i].events.n; j++) {
			canon = cfg__event_canonical(c->webhooks[i].events.v[j]);
			if (canon != NULL) {
				free(c->webhooks[i].events.v[j]);
				c->webhooks[i].events.v[j] = xstrdup(canon);
			}
		}
	}
}

/* Fills every derived field of a validated configuration. */
void
cfg__resolve(struct cfg *c)
{
	char err[64];
	size_t i;

	for (i = 0; i < c->nusers; i++) {
		resolve_user(c, &c->users[i]);
	}
	c->security.source_nets = parse_nets(&c->security.allowed_source_ips,
	    &c->security.nsource_nets);
	c->security.whitelist_nets = parse_nets(&c->security.ban_whitelist,
	    &c->security.nwhitelist_nets);
	c->security.guard_allow_nets = parse_nets(&c->security.ip_guard_allow,
	    &c->security.nguard_allow_nets);
	for (i = 0; i < c->nmaintenance_windows; i++) {
		cfg_parse_schedule(c->maintenance_windows[i].schedule,
		    &c->maintenance_windows[i].sched, err, sizeof(err));
	}
	canonical_events(c);
}

/* Frees what cfg__resolve allocated. */
void
cfg__resolve_cleanup(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].eff.acl_allow);
		free(c->users[i].eff.acl_deny);
		free(c->users[i].eff.source_nets);
		memset(&c->users[i].eff, 0, sizeof(c->users[i].eff));
	}
	free(c->security.source_nets);
	free(c->security.whitelist_nets);
	free(c->security.guard_allow_nets);
	c->security.guard_allow_nets = NULL;
	c->security.source_nets = NULL;
	c->security.whitelist_nets = NULL;
}

/* `show <topic>` (live account information) and `history`. */
#include "shell/shell_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/util.h"
#include "policy/acl.h"

const char *const shell__show_topics[] = {
	"acl", "bandwidth", "connections", "fingerprint", "history", "quota",
	"status", NULL,
};

/* One topic: names, its permission flag, the printer. */
struct topic {
	const char	*name;
	const char	*alias;
	size_t		 perm;	/* offsetof(struct cfg_perms, ...) */
	void		(*fn)(struct shell *, const struct shell_stats *);
};

/* "N kbps" or "unlimited". */
static void
fmt_kbps(uint64_t kbps, char *out, size_t len)
{
	if (kbps == 0) {
		snprintf(out, len, "unlimited");
	} else {
		snprintf(out, len, "%llu kbps", (unsigned long long)kbps);
	}
}

/* "used / limit" with "unlimited" for 0. */
static void
used_of(uint64_t used, uint64_t limit, int bytes, char *out, size_t len)
{
	char u[32], l[32];

	if (bytes) {
		shell__fmt_bytes(used, u, sizeof(u));
		shell__fmt_bytes(limit, l, sizeof(l));
	} else {
		snprintf(u, sizeof(u), "%llu", (unsigned long long)used);
		snprintf(l, sizeof(l), "%llu", (unsigned long long)limit);
	}
	snprintf(out, len, "%s / %s", u, limit == 0 ? "unlimited" : l);
}

static void
t_connections(struct shell *sh, const struct shell_stats *st)
{
	if (st->active == 0) {
		shell__printf(sh, "No active proxy connections\n");
	} else {
		shell__printf(sh, "Active connections: %u\n", st->active);
	}
}

static void
t_bandwidth(struct shell *sh, const struct shell_stats *st)
{
	const struct cfg_user_eff *e = &sh->ctx.user->eff;
	char h[32], d[32], m[32], t[32], r[32], l[32], a[32];

	shell__fmt_bytes(st->bytes_hour, h, sizeof(h));
	shell__fmt_bytes(st->bytes_day, d, sizeof(d));
	shell__fmt_bytes(st->bytes_month, m, sizeof(m));
	shell__fmt_bytes(st->bytes_total, t, sizeof(t));
	shell__fmt_rate(st->rate_bps, r, sizeof(r));
	fmt_kbps(e->max_bandwidth_kbps, l, sizeof(l));
	fmt_kbps(e->max_aggregate_bandwidth_kbps, a, sizeof(a));
	shell__printf(sh, "Bandwidth usage:\n"
	    "  Last hour:  %s\n  Today:      %s\n  This month: %s\n"
	    "  Total:      %s\n  Rate now:   %s\n"
	    "  Limit:      %s per connection, %s in total\n",
	    h, d, m, t, r, l, a);
}

static void
t_quota(struct shell *sh, const struct shell_stats *st)
{
	const struct cfg_quotas *q = &sh->ctx.user->eff.quotas;
	char h[80], d[80], m[80], t[80], cd[80], cm[80], r[32];

	used_of(st->bytes_hour, q->bandwidth_per_hour_bytes, 1, h, sizeof(h));
	used_of(st->bytes_day, q->daily_bandwidth_bytes, 1, d, sizeof(d));
	used_of(st->bytes_month, q->monthly_bandwidth_bytes, 1, m, sizeof(m));
	used_of(st->bytes_total, q->total_bandwidth_bytes, 1, t, sizeof(t));
	used_of(st->conns_day, q->daily_connection_limit, 0, cd, sizeof(cd));
	used_of(st->conns_month, q->monthly_connection_limit, 0, cm,
	    sizeof(cm));
	fmt_kbps(sh->ctx.user->eff.max_bandwidth_kbps, r, sizeof(r));
	shell__printf(sh, "Quota usage:\n  Bandwidth:\n"
	    "    Hourly:    %s\n    Daily:     %s\n    Monthly:   %s\n"
	    "    Total:     %s\n  Connections:\n    Daily:     %s\n"
	    "    Monthly:   %s\n  Rate limit:  %s\n", h, d, m, t, cd, cm, r);
}

static void
t_acl(struct shell *sh, const struct shell_stats *st)
{
	const struct cfg_user_eff *e = &sh->ctx.user->eff;
	int allow = e->acl_policy == CFG_POLICY_ALLOW;
	char rule[CFG_HOST_MAX + 64];
	size_t i;

	(void)st;
	shell__printf(sh, "ACL (default policy: %s%s%s)\n",
	    shell__sgr(sh, allow ? "32" : "31"), allow ? "allow" : "deny",
	    shell__rst(sh));
	if (e->nacl_deny == 0 && e->nacl_allow == 0) {
		shell__printf(sh, "  No explicit rules.\n");
		return;
	}
	if (e->nacl_deny > 0) {
		shell__printf(sh, "  Deny rules (checked first):\n");
	}
	for (i = 0; i < e->nacl_deny; i++) {
		acl_rule_format(&e->acl_deny[i], rule, sizeof(rule));
		shell__printf(sh, "    %s%s%s %s\n", shell__sgr(sh, "31"),
		    sh->colors ? "\xe2\x9c\x97" : "-", shell__rst(sh), rule);
	}
	if (e->nacl_allow > 0) {
		shell__printf(sh, "  Allow rules:\n");
	}
	for (i = 0; i < e->nacl_allow; i++) {
		acl_rule_format(&e->acl_allow[i], rule, sizeof(rule));
		shell__printf(sh, "    %s%s%s %s\n", shell__sgr(sh, "32"),
		    sh->colors ? "\xe2\x9c\x93" : "+", shell__rst(sh), rule);
	}
}

static void
t_status(struct shell *sh, const struct shell_stats *st)
{
	const struct cfg_perms *p = shell__perms(sh);
	const struct cfg_user_eff *e = &sh->ctx.user->eff;
	char up[32], ex[40], r[32];

	shell__printf(sh, "Session status\n  User:        %s%s%s\n",
	    shell__sgr(sh, "1;36"), sh->user, shell__rst(sh));
	if (p->show_role) {
		shell__printf(sh, "  Role:        %s\n",
		    e->role == CFG_ROLE_ADMIN ? "admin" : "user");
	}
	if (p->show_group && sh->ctx.user->group != NULL) {
		shell__printf(sh, "  Group:       %s\n", sh->ctx.user->group);
	}
	if (p->show_auth_method) {
		shell__printf(sh, "  Auth:        %s\n", sh->ctx.auth_method);
	}
	if (p->show_source_ip) {
		shell__printf(sh, "  Source IP:   %s\n", sh->ctx.source_ip);
	}
	if (p->show_uptime) {
		shell__fmt_duration(st->uptime_s, up, sizeof(up));
		shell__printf(sh, "  Uptime:      %s (server)\n", up);
	}
	if (p->show_connections) {
		shell__printf(sh, "  Connections: %u active\n", st->active);
	}
	if (p->show_expires) {
		if (e->has_expiry) {
			shell__fmt_time(e->expires_at, ex, sizeof(ex));
		} else {
			snprintf(ex, sizeof(ex), "never");
		}
		shell__printf(sh, "  Expires:     %s\n", ex);
	}
	if (p->show_bandwidth) {
		fmt_kbps(e->max_bandwidth_kbps, r, sizeof(r));
		shell__printf(sh, "  Rate limit:  %s\n", r);
	}
}

static void
t_history(struct shell *sh, const struct shell_stats *st)
{
	char d[32], m[32];

	shell__fmt_bytes(st->bytes_day, d, sizeof(d));
	shell__fmt_bytes(st->bytes_month, m, sizeof(m));
	shell__printf(sh, "Connection summary:\n"
	    "  Today:      %u connections, %s transferred\n"
	    "  This month: %u connections, %s transferred\n",
	    st->conns_day, d, st->conns_month, m);
}

static void
t_fingerprint(struct shell *sh, const struct shell_stats *st)
{
	(void)st;
	if (sh->ctx.key_fingerprint != NULL) {
		shell__printf(sh, "SSH key fingerprint: %s\n",
		    sh->ctx.key_fingerprint);
	} else {
		shell__printf(sh, "No key fingerprint (this session did not "
		    "log in with a key)\n");
	}
}

#define P(f)	offsetof(struct cfg_perms, f)
static const struct topic topics[] = {
	{ "connections", "conn", P(show_connections), t_connections },
	{ "bandwidth", "bw", P(show_bandwidth), t_bandwidth },
	{ "quota", "quotas", P(show_quota), t_quota },
	{ "acl", NULL, P(show_acl), t_acl },
	{ "status", NULL, P(show_status), t_status },
	{ "history", "hist", P(show_history), t_history },
	{ "fingerprint", "fp", P(show_fingerprint), t_fingerprint },
};
#undef P
#define NTOPICS	(sizeof(topics) / sizeof(topics[0]))

/* 1 if the user may see topic t. */
static int
topic_allowed(const struct shell *sh, const struct topic *t)
{
	return *(const int *)((const char *)shell__perms(sh) + t->perm);
}

/* Prints the topics this user may see. */
static void
list_topics(struct shell *sh, const char *lead)
{
	size_t i, n = 0;

	shell__printf(sh, "%s", lead);
	for (i = 0; i < NTOPICS; i++) {
		if (topic_allowed(sh, &topics[i])) {
			shell__printf(sh, "%s%s", n++ > 0 ? ", " : "",
			    topics[i].name);
		}
	}
	shell__printf(sh, "\n");
}

int
shell__cmd_show(struct shell *sh, int argc, char **argv)
{
	struct shell_stats st;
	size_t i;

	if (argc != 2) {
		shell__printf(sh, "Usage: show <topic>\n");
		list_topics(sh, "Topics: ");
		return SHELL_STATUS_FAIL;
	}
	for (i = 0; i < NTOPICS; i++) {
		if (strcmp(argv[1], topics[i].name) == 0 ||
		    (topics[i].alias != NULL &&
		    strcmp(argv[1], topics[i].alias) == 0)) {
			break;
		}
	}
	if (i == NTOPICS) {
		shell__printf(sh, "show: unknown topic '%s'\n", argv[1]);
		list_topics(sh, "Topics: ");
		return SHELL_STATUS_FAIL;
	}
	if (!topic_allowed(sh, &topics[i])) {
		shell__printf(sh, "show %s: permission denied (not allowed "
		    "for your account)\n", topics[i].name);
		return SHELL_STATUS_FAIL;
	}
	shell__stats(sh, &st);
	topics[i].fn(sh, &st);
	return SHELL_STATUS_OK;
}

int
shell__cmd_history(struct shell *sh, int argc, char **argv)
{
	char **v = NULL;
	size_t n = 0, i, from = 0, last = 0;
	const char *p = NULL;

	if (argc > 2) {
		shell__printf(sh, "Usage: history [-c] [n]\n");
		return SHELL_STATUS_FAIL;
	}
	if (argc == 2 && strcmp(argv[1], "-c") == 0) {
		shell__hist_clear(sh->store, sh->ud);
		shell__strv_free(sh->hist, sh->nhist);
		sh->hist = NULL;
		sh->nhist = 0;
		return SHELL_STATUS_OK;
	}
	if (argc == 2) {
		for (p = argv[1]; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || last > 100000) {
				shell__printf(sh, "history: %s: numeric "
				    "argument required\n", argv[1]);
				return SHELL_STATUS_FAIL;
			}
			last = last * 10 + (size_t)(*p - '0');
		}
	}
	if (sh->interactive) {
		v = sh->hist;
		n = sh->nhist;
	} else {
		v = shell__hist_copy(sh->store, sh->ud, &n);
	}
	if (argc == 2 && last < n) {
		from = n - last;
	}
	for (i = from; i < n; i++) {
		shell__printf(sh, "%5zu  %s\n", i + 1, v[i]);
	}
	if (!sh->interactive) {
		shell__strv_free(v, n);
	}
	return SHELL_STATUS_OK;
}

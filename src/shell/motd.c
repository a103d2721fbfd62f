/*
 * The message of the day: a template with {variables}, rendered per user.
 * A variable the user's shell_permissions hide renders empty, and a line
 * whose every variable is hidden disappears; so does a "╠──" section
 * header left without content. Unknown {words} stay as written
 * (check-config reports them). Output lines end with "\r\n".
 */
#include "shell/shell_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/util.h"
#include "core/version.h"
#include "policy/acl.h"

/* The built-in template (no "$ " in it: clients wait for that). */
const char shell__motd_default[] =
    "\xe2\x95\x94\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\n"
    "\xe2\x95\x91  sks5 {version} on {hostname}\n"
    "\xe2\x95\xa0\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\n"
    "\xe2\x95\x91\n"
    "\xe2\x95\x91  Welcome, {user}!\n"
    "\xe2\x95\x91\n"
    "\xe2\x95\x91  Role:        {role}\n"
    "\xe2\x95\x91  Group:       {group}\n"
    "\xe2\x95\x91  Auth:        {auth_method}\n"
    "\xe2\x95\x91  Source:      {source_ip}\n"
    "\xe2\x95\x91  Last login:  {last_login}\n"
    "\xe2\x95\x91  Connections: {connections}\n"
    "\xe2\x95\x91\n"
    "\xe2\x95\xa0\xe2\x94\x80\xe2\x94\x80 ACL \xe2\x94\x80\xe2\x94\x80\xe2\x94\x80"
    "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80"
    "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\n"
    "\xe2\x95\x91  Policy: {acl_policy}\n"
    "\xe2\x95\x91  Allow:  {allowed}\n"
    "\xe2\x95\x91  Deny:   {denied}\n"
    "\xe2\x95\x91\n"
    "\xe2\x95\xa0\xe2\x94\x80\xe2\x94\x80 Quotas \xe2\x94\x80\xe2\x94\x80"
    "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80"
    "\xe2\x94\x80\n"
    "\xe2\x95\x91  Bandwidth today: {bandwidth_used} / {bandwidth_limit}\n"
    "\xe2\x95\x91  Expires:         {expires_at}\n"
    "\xe2\x95\x91\n"
    "\xe2\x95\xa0\xe2\x94\x80\xe2\x94\x80 Server \xe2\x94\x80\xe2\x94\x80"
    "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80"
    "\xe2\x94\x80\n"
    "\xe2\x95\x91  Uptime: {uptime}\n"
    "\xe2\x95\x9a\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\n";

#define BOX_V		"\xe2\x95\x91"		/* ║ */
#define BOX_SECTION	"\xe2\x95\xa0\xe2\x94\x80"	/* ╠─ */
#define BOX_T		"\xe2\x95\xa0"		/* ╠ */
#define BOX_BOTTOM	"\xe2\x95\x9a"		/* ╚ */
#define BOX_TOP		"\xe2\x95\x94"		/* ╔ */

/* Every variable; validate.c keeps the same list for check-config. */
const char *const shell__motd_vars[] = {
	"user", "auth_method", "source_ip", "connections", "acl_policy",
	"allowed", "denied", "expires_at", "bandwidth_used", "bandwidth_limit",
	"last_login", "uptime", "version", "group", "role", "hostname", NULL,
};

/* A growing string. */
struct sb {
	char	*s;
	size_t	 n, cap;
};

static void
sb_add(struct sb *b, const char *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, p, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Rendering state. */
struct motd {
	const struct shell_ctx	*ctx;
	const struct cfg_perms	*p;
	struct shell_stats	 st;
	int			 colors;
};

/* Adds s wrapped in SGR code when colours are on. */
static void
colored(struct motd *m, struct sb *b, const char *code, const char *s)
{
	if (m->colors) {
		sb_str(b, "\033[");
		sb_str(b, code);
		sb_str(b, "m");
	}
	sb_str(b, s);
	if (m->colors) {
		sb_str(b, "\033[0m");
	}
}

/* Appends the rules of one list ("none" when empty). */
static void
rules(struct motd *m, struct sb *b, const struct cfg_acl_rule *r, size_t n,
    const char *code)
{
	char t[CFG_HOST_MAX + 64];
	size_t i;

	if (n == 0) {
		sb_str(b, "none");
	}
	for (i = 0; i < n; i++) {
		acl_rule_format(&r[i], t, sizeof(t));
		if (i > 0) {
			sb_str(b, ", ");
		}
		colored(m, b, code, t);
	}
}

static void
v_user(struct motd *m, struct sb *b)
{
	colored(m, b, "1;36", m->ctx->user->username);
}

static void
v_version(struct motd *m, struct sb *b)
{
	(void)m;
	sb_str(b, SKS5_VERSION);
}

static void
v_hostname(struct motd *m, struct sb *b)
{
	const char *h = m->ctx->cfg->shell.hostname;

	sb_str(b, h != NULL ? h : "");
}

static void
v_auth_method(struct motd *m, struct sb *b)
{
	const char *a = m->ctx->auth_method;

	sb_str(b, a != NULL ? a : "unknown");
}

static void
v_source_ip(struct motd *m, struct sb *b)
{
	const char *ip = m->ctx->source_ip;

	sb_str(b, ip != NULL ? ip : "");
}

static void
v_connections(struct motd *m, struct sb *b)
{
	char t[16];

	snprintf(t, sizeof(t), "%u", m->st.active);
	sb_str(b, t);
}

static void
v_acl_policy(struct motd *m, struct sb *b)
{
	if (m->ctx->user->eff.acl_policy == CFG_POLICY_ALLOW) {
		colored(m, b, "32", "allow");
	} else {
		colored(m, b, "31", "deny");
	}
}

static void
v_allowed(struct motd *m, struct sb *b)
{
	const struct cfg_user_eff *e = &m->ctx->user->eff;

	rules(m, b, e->acl_allow, e->nacl_allow, "32");
}

static void
v_denied(struct motd *m, struct sb *b)
{
	const struct cfg_user_eff *e = &m->ctx->user->eff;

	rules(m, b, e->acl_deny, e->nacl_deny, "31");
}

static void
v_expires_at(struct motd *m, struct sb *b)
{
	const struct cfg_user_eff *e = &m->ctx->user->eff;
	char t[64];

	if (!e->has_expiry) {
		sb_str(b, "never");
		return;
	}
	shell__fmt_time(e->expires_at, t, sizeof(t));
	colored(m, b, e->expires_at - time(NULL) < 7 * 86400 ? "33" : "0", t);
}

static void
v_role(struct motd *m, struct sb *b)
{
	colored(m, b, "1;35", m->ctx->user->eff.role == CFG_ROLE_ADMIN ?
	    "admin" : "user");
}

static void
v_group(struct motd *m, struct sb *b)
{
	const char *g = m->ctx->user->group;

	sb_str(b, g != NULL ? g : "none");
}

static void
v_bandwidth_used(struct motd *m, struct sb *b)
{
	char t[32];

	shell__fmt_bytes(m->st.bytes_day, t, sizeof(t));
	sb_str(b, t);
}

static void
v_bandwidth_limit(struct motd *m, struct sb *b)
{
	uint64_t q = m->ctx->user->eff.quotas.daily_bandwidth_bytes;
	char t[32];

	if (q == 0) {
		sb_str(b, "unlimited");
		return;
	}
	shell__fmt_bytes(q, t, sizeof(t));
	sb_str(b, t);
}

static void
v_last_login(struct motd *m, struct sb *b)
{
	char t[64];

	if (m->ctx->last_login == 0) {
		sb_str(b, "first login");
		return;
	}
	shell__fmt_time(m->ctx->last_login, t, sizeof(t));
	sb_str(b, t);
}

static void
v_uptime(struct motd *m, struct sb *b)
{
	char t[32];

	shell__fmt_duration(m->st.uptime_s, t, sizeof(t));
	sb_str(b, t);
}

#define NOPERM	((size_t)-1)
#define P(f)	offsetof(struct cfg_perms, f)
/* Every variable, the permission that hides it, and its printer. */
static const struct {
	const char	*name;
	size_t		 perm;
	void		(*fn)(struct motd *, struct sb *);
} vars[] = {
	{ "user", NOPERM, v_user },
	{ "version", NOPERM, v_version },
	{ "hostname", NOPERM, v_hostname },
	{ "auth_method", P(show_auth_method), v_auth_method },
	{ "source_ip", P(show_source_ip), v_source_ip },
	{ "connections", P(show_connections), v_connections },
	{ "acl_policy", P(show_acl), v_acl_policy },
	{ "allowed", P(show_acl), v_allowed },
	{ "denied", P(show_acl), v_denied },
	{ "expires_at", P(show_expires), v_expires_at },
	{ "role", P(show_role), v_role },
	{ "group", P(show_group), v_group },
	{ "bandwidth_used", P(show_bandwidth), v_bandwidth_used },
	{ "bandwidth_limit", P(show_bandwidth), v_bandwidth_limit },
	{ "last_login", P(show_history), v_last_login },
	{ "uptime", P(show_uptime), v_uptime },
};
#undef P

/*
 * Appends the value of variable name[0..n). Returns 0 when done, 1 when
 * a permission hid it (nothing appended), -1 when it is unknown.
 */
static int
value(struct motd *m, struct sb *b, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (strlen(vars[i].name) != n ||
		    memcmp(vars[i].name, name, n) != 0) {
			continue;
		}
		if (vars[i].perm != NOPERM &&
		    !*(const int *)((const char *)m->p + vars[i].perm)) {
			return 1;
		}
		vars[i].fn(m, b);
		return 0;
	}
	return -1;
}

/* Renders one line into b; returns 1 if every variable was hidden. */
static int
render_line(struct motd *m, struct sb *b, const char *s, size_t n)
{
	size_t i = 0, j, nvars = 0, nhidden = 0;
	int r;

	while (i < n) {
		if (s[i] == '{') {
			for (j = i + 1; j < n && j - i <= 32 &&
			    ((s[j] >= 'a' && s[j] <= 'z') || s[j] == '_'); j++) {
				;
			}
			if (j < n && s[j] == '}' && j > i + 1) {
				r = value(m, b, s + i + 1, j - i - 1);
				if (r >= 0) {
					nvars++;
					nhidden += r == 1;
					i = j + 1;
					continue;
				}
			}
		}
		if (s[i] == '\033' && !m->colors) {
			/* drop the template's own SGR without colours */
			for (j = i + 1; j < n && j < i + 2 && s[j] == '['; j++) {
				;
			}
			while (j < n && ((s[j] >= '0' && s[j] <= '9') ||
			    s[j] == ';')) {
				j++;
			}
			i = j < n ? j + 1 : n;
			continue;
		}
		sb_add(b, s + i, 1);
		i++;
	}
	return nvars > 0 && nvars == nhidden;
}

/* 1 if the line is a box spacer: "║" and blanks only. */
static int
spacer(const char *s)
{
	if (strncmp(s, BOX_V, strlen(BOX_V)) != 0) {
		return 0;
	}
	for (s += strlen(BOX_V); *s == ' ' || *s == '\t'; s++) {
		;
	}
	return *s == '\0';
}

/* 1 if the line starts a new box part (section, bottom, top). */
static int
boundary(const char *s)
{
	return strncmp(s, BOX_T, strlen(BOX_T)) == 0 ||
	    strncmp(s, BOX_BOTTOM, strlen(BOX_BOTTOM)) == 0 ||
	    strncmp(s, BOX_TOP, strlen(BOX_TOP)) == 0;
}

/* Joins the kept lines with CRLF, dropping empty sections and doubled
 * spacers. */
static char *
assemble(char **lines, size_t n)
{
	struct sb out = { NULL, 0, 0 };
	size_t i, j;
	int content, prev_spacer = 0;

	sb_str(&out, "");
	for (i = 0; i < n; i++) {
		if (lines[i] == NULL) {
			continue;
		}
		if (strncmp(lines[i], BOX_SECTION, strlen(BOX_SECTION)) == 0) {
			for (content = 0, j = i + 1; j < n; j++) {
				if (lines[j] == NULL) {
					continue;
				}
				if (boundary(lines[j])) {
					break;
				}
				content |= !spacer(lines[j]);
			}
			if (!content) {
				continue;
			}
		}
		if (spacer(lines[i]) && prev_spacer) {
			continue;
		}
		prev_spacer = spacer(lines[i]);
		sb_str(&out, lines[i]);
		sb_str(&out, "\r\n");
	}
	return out.s;
}

char *
shell__motd(const struct shell_ctx *ctx, int colors)
{
	const struct cfg_user_eff *e = &ctx->user->eff;
	const char *tpl = e->motd.template != NULL ? e->motd.template :
	    shell__motd_default;
	const char *s = tpl, *nl = NULL;
	struct motd m;
	struct sb line;
	char **lines = NULL, *out = NULL;
	size_t n = 0, len, i;

	if (!e->motd.enabled) {
		return NULL;
	}
	memset(&m, 0, sizeof(m));
	m.ctx = ctx;
	m.p = &e->shell_permissions;
	m.colors = colors;
	if (ctx->ops != NULL && ctx->ops->stats != NULL) {
		ctx->ops->stats(ctx->ops->arg, &m.st);
	}
	while (*s != '\0') {
		nl = strchr(s, '\n');
		len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (len > 0 && s[len - 1] == '\r') {
			len--;
		}
		memset(&line, 0, sizeof(line));
		sb_str(&line, "");
		lines = xreallocarray(lines, n + 1, sizeof(*lines));
		if (render_line(&m, &line, s, len)) {
			free(line.s);
			lines[n++] = NULL;
		} else {
			lines[n++] = line.s;
		}
		s = nl != NULL ? nl + 1 : s + len;
		if (nl == NULL) {
			break;
		}
	}
	out = assemble(lines, n);
	for (i = 0; i < n; i++) {
		free(lines[i]);
	}
	free(lines);
	return out;
}

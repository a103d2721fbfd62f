/*
 * `admin`: server administration from the shell, for users whose
 * resolved role is admin (the command table gates it; others get
 * "permission denied"). Everything it shows or changes goes through the
 * caller's struct shell_admin_ops: the shell only formats.
 */
#include "shell/shell_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"
#include "core/version.h"

const char *const shell__admin_subs[] = {
	"bans", "kick", "quota", "server", "sessions", "unban", "users", NULL,
};

/* Copies s into out with control characters shown as '?'. */
static void
clean(const char *s, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "%s", s);
	for (i = 0; out[i] != '\0'; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) {
			out[i] = '?';
		}
	}
}

static void
usage(struct shell *sh)
{
	shell__printf(sh, "Usage: admin <subcommand>\n"
	    "  server              uptime, version, connection counts\n"
	    "  users               configured users and their live "
	    "connections\n"
	    "  sessions            live SSH sessions and proxied streams\n"
	    "  bans                addresses refused before login\n"
	    "  unban <ip>          lift a ban\n"
	    "  kick <user>         close every SSH session of a user\n"
	    "  quota reset <user>  start a user's quota periods over\n");
}

static int
a_server(struct shell *sh, const struct shell_admin_ops *ops)
{
	struct shell_admin_server s;
	char up[32], tb[32];

	memset(&s, 0, sizeof(s));
	if (ops->server != NULL) {
		ops->server(ops->arg, &s);
	}
	shell__fmt_duration(s.uptime_s, up, sizeof(up));
	shell__fmt_bytes(s.bytes_total, tb, sizeof(tb));
	shell__printf(sh, "%sServer%s\n"
	    "  Version:          sks5 %s\n"
	    "  Uptime:           %s\n"
	    "  SSH connections:  %u\n"
	    "  Proxied streams:  %u active, %llu since start\n"
	    "  SOCKS5 handshakes: %u\n"
	    "  Transferred:      %s (ended streams)\n"
	    "  Users:            %u configured\n"
	    "  Maintenance:      %s\n", shell__sgr(sh, "1"), shell__rst(sh),
	    SKS5_VERSION, up, s.ssh_connections, s.active_streams,
	    (unsigned long long)s.streams_total, s.handshakes, tb, s.users,
	    s.maintenance ? "on" : "off");
	return SHELL_STATUS_OK;
}

/*
 * Width of the widest of n strings laid out stride bytes apart from
 * first (a member of an array of structs), at least min, at most 40.
 */
static size_t
widest(const char *first, size_t n, size_t stride, size_t min)
{
	size_t w = min, k, l;

	for (k = 0; k < n; k++) {
		l = strlen(first + k * stride);
		w = l > w ? l : w;
	}
	return w > 40 ? 40 : w;
}
#define WIDEST(arr, n, field, min)	\
	widest((arr)[0].field, (n), sizeof((arr)[0]), (min))

static int
a_users(struct shell *sh, const struct shell_admin_ops *ops)
{
	struct shell_admin_user *u = NULL;
	size_t n = 0, i, wn, wg;
	char name[256], grp[256], b[32];

	if (ops->users != NULL) {
		n = ops->users(ops->arg, &u);
	}
	if (n == 0) {
		shell__printf(sh, "No users configured\n");
		free(u);
		return SHELL_STATUS_OK;
	}
	wn = WIDEST(u, n, name, 4);
	wg = WIDEST(u, n, group, 5);
	shell__printf(sh, "%-*s  %-5s  %-*s  %4s  %7s  %s\n", (int)wn, "USER",
	    "ROLE", (int)wg, "GROUP", "SSH", "STREAMS", "TRANSFERRED");
	for (i = 0; i < n; i++) {
		clean(u[i].name, name, sizeof(name));
		clean(u[i].group[0] != '\0' ? u[i].group : "-", grp,
		    sizeof(grp));
		shell__fmt_bytes(u[i].bytes, b, sizeof(b));
		shell__printf(sh, "%-*s  %-5s  %-*s  %4u  %7u  %s\n", (int)wn,
		    name, u[i].admin ? "admin" : "user", (int)wg, grp,
		    u[i].ssh_sessions, u[i].streams, b);
	}
	free(u);
	return SHELL_STATUS_OK;
}

static int
a_sessions(struct shell *sh, const struct shell_admin_ops *ops)
{
	struct shell_admin_session *v = NULL;
	size_t n = 0, i, wu, ws, wt;
	char user[256], src[SHELL_ADDRSTRLEN], tgt[300];
	char up[32], down[32], age[32];

	if (ops->sessions != NULL) {
		n = ops->sessions(ops->arg, &v);
	}
	if (n == 0) {
		shell__printf(sh, "No live SSH sessions\n");
		free(v);
		return SHELL_STATUS_OK;
	}
	wu = WIDEST(v, n, user, 4);
	ws = WIDEST(v, n, source, 6);
	wt = WIDEST(v, n, target, 6);
	shell__printf(sh, "%-*s  %-*s  %-*s  %9s  %9s  %s\n", (int)wu, "USER",
	    (int)ws, "SOURCE", (int)wt, "TARGET", "UP", "DOWN", "AGE");
	for (i = 0; i < n; i++) {
		clean(v[i].user, user, sizeof(user));
		clean(v[i].source, src, sizeof(src));
		clean(v[i].target[0] != '\0' ? v[i].target : "(ssh)", tgt,
		    sizeof(tgt));
		shell__fmt_duration(v[i].age_s, age, sizeof(age));
		if (v[i].target[0] != '\0') {
			shell__fmt_bytes(v[i].bytes_up, up, sizeof(up));
			shell__fmt_bytes(v[i].bytes_down, down, sizeof(down));
		} else {
			snprintf(up, sizeof(up), "-");
			snprintf(down, sizeof(down), "-");
		}
		shell__printf(sh, "%-*s  %-*s  %-*s  %9s  %9s  %s\n", (int)wu,
		    user, (int)ws, src, (int)wt, tgt, up, down, age);
	}
	free(v);
	return SHELL_STATUS_OK;
}

static int
a_bans(struct shell *sh, const struct shell_admin_ops *ops)
{
	struct shell_admin_ban *v = NULL;
	size_t n = 0, i;
	char until[80], when[40], left[32];
	time_t now = time(NULL);

	if (ops->bans != NULL) {
		n = ops->bans(ops->arg, &v);
	}
	if (n == 0) {
		shell__printf(sh, "No active bans\n");
		free(v);
		return SHELL_STATUS_OK;
	}
	shell__printf(sh, "%-39s  %-32s  %8s  %s\n", "ADDRESS", "EXPIRES",
	    "FAILURES", "REPUTATION");
	for (i = 0; i < n; i++) {
		if (v[i].until > 0) {
			shell__fmt_time((time_t)v[i].until, when, sizeof(when));
			shell__fmt_duration(v[i].until > now ?
			    (uint64_t)(v[i].until - now) : 0, left,
			    sizeof(left));
			snprintf(until, sizeof(until), "%s (in %s)", when,
			    left);
		} else {
			snprintf(until, sizeof(until), "reputation");
		}
		shell__printf(sh, "%-39s  %-32s  %8u  %.1f\n", v[i].addr, until,
		    v[i].failures, v[i].rep);
	}
	free(v);
	return SHELL_STATUS_OK;
}

static int
a_unban(struct shell *sh, const struct shell_admin_ops *ops, const char *ip)
{
	char a[64];
	int rc;

	clean(ip, a, sizeof(a));
	rc = ops->unban != NULL ? ops->unban(ops->arg, ip) : ERR_INVAL;
	if (rc == ERR_INVAL) {
		shell__printf(sh, "admin unban: '%s' is not an IP address\n",
		    a);
		return SHELL_STATUS_FAIL;
	}
	if (rc != 0) {
		shell__printf(sh, "admin unban: %s is not banned\n", a);
		return SHELL_STATUS_FAIL;
	}
	shell__printf(sh, "Unbanned %s\n", a);
	return SHELL_STATUS_OK;
}

static int
a_kick(struct shell *sh, const struct shell_admin_ops *ops, const char *user)
{
	char u[256];
	size_t n = 0;
	int rc;

	clean(user, u, sizeof(u));
	rc = ops->kick != NULL ? ops->kick(ops->arg, user, &n) : ERR_NOTFOUND;
	if (rc == ERR_INVAL) {
		shell__printf(sh, "admin kick: unknown user '%s'\n", u);
		return SHELL_STATUS_FAIL;
	}
	if (rc != 0 || n == 0) {
		shell__printf(sh, "admin kick: %s has no live SSH session\n",
		    u);
		return SHELL_STATUS_FAIL;
	}
	shell__printf(sh, "Kicked %s: %zu SSH connection%s closing\n", u, n,
	    n == 1 ? "" : "s");
	return SHELL_STATUS_OK;
}

static int
a_quota(struct shell *sh, const struct shell_admin_ops *ops, int argc,
    char **argv)
{
	char u[256];

	if (argc != 4 || strcmp(argv[2], "reset") != 0) {
		shell__printf(sh, "Usage: admin quota reset <user>\n");
		return SHELL_STATUS_FAIL;
	}
	clean(argv[3], u, sizeof(u));
	if (ops->quota_reset == NULL ||
	    ops->quota_reset(ops->arg, argv[3]) != 0) {
		shell__printf(sh, "admin quota: unknown user '%s'\n", u);
		return SHELL_STATUS_FAIL;
	}
	shell__printf(sh, "Quotas of %s reset\n", u);
	return SHELL_STATUS_OK;
}

int
shell__cmd_admin(struct shell *sh, int argc, char **argv)
{
	const struct shell_admin_ops *ops = sh->ctx.admin;
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (ops == NULL) {
		shell__printf(sh, "admin: not available\n");
		return SHELL_STATUS_FAIL;
	}
	if (sub == NULL || strcmp(sub, "help") == 0) {
		usage(sh);
		return sub == NULL ? SHELL_STATUS_FAIL : SHELL_STATUS_OK;
	}
	if (argc == 2 && strcmp(sub, "server") == 0) {
		return a_server(sh, ops);
	}
	if (argc == 2 && strcmp(sub, "users") == 0) {
		return a_users(sh, ops);
	}
	if (argc == 2 && strcmp(sub, "sessions") == 0) {
		return a_sessions(sh, ops);
	}
	if (argc == 2 && strcmp(sub, "bans") == 0) {
		return a_bans(sh, ops);
	}
	if (argc == 3 && strcmp(sub, "unban") == 0) {
		return a_unban(sh, ops, argv[2]);
	}
	if (argc == 3 && strcmp(sub, "kick") == 0) {
		return a_kick(sh, ops, argv[2]);
	}
	if (strcmp(sub, "quota") == 0) {
		return a_quota(sh, ops, argc, argv);
	}
	usage(sh);
	return SHELL_STATUS_FAIL;
}

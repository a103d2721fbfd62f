/*
 * Keys the server does not act on yet. Setting one (in the file, the
 * environment or with --set) is an error naming the key and the issue
 * that will implement it, so nobody believes an inert key is in force.
 * Edit the table as features land.
 */
#include "config/config_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Management-plane keys with no issue filed yet. */
#define MGMT	(-1)

/*
 * Dotted path prefixes (array indexes omitted) and their issue. An entry
 * matches the path itself and every key below it; a trailing '*' matches
 * any continuation of the last component. The longest match wins.
 */
static const struct {
	const char	*prefix;
	int		 issue;
} pending[] = {
	/* #5: SSH */
	{ "server.ssh_listen", 5 },
	{ "server.host_key_path", 5 },
	{ "server.server_id", 5 },
	{ "server.banner", 5 },
	{ "server.allowed_ciphers", 5 },
	{ "server.allowed_kex", 5 },
	{ "server.ssh_keepalive_interval_secs", 5 },
	{ "server.ssh_keepalive_max", 5 },
	{ "server.ssh_auth_timeout", 5 },
	{ "limits.max_auth_attempts", 5 },
	{ "users.authorized_keys", 5 },
	{ "security.trusted_user_ca_keys", 5 },
	{ "security.totp_required_for", 5 },
	{ "users.totp_enabled", 5 },
	{ "users.totp_secret", 5 },
	{ "users.auth_methods", 5 },
	{ "groups.auth_methods", 5 },
	{ "users.allow_shell", 5 },
	{ "groups.allow_shell", 5 },
	{ "users.allow_forwarding", 5 },
	{ "security.argon2_*", 5 },
	/* #6: shell */
	{ "shell", 6 },
	{ "motd", 6 },
	{ "users.motd", 6 },
	{ "groups.motd", 6 },
	{ "users.shell_permissions", 6 },
	{ "groups.shell_permissions", 6 },
	{ "users.aliases", 6 },
	{ "users.colors", 6 },
	{ "groups.colors", 6 },
	{ "server.motd_path", 6 },
	{ "server.bookmarks_path", 6 },
	/* #7: policy. What is left: security.rate_limit_cleanup_interval
	 * and rate_limit_max_users (the per-IP table is bounded by
	 * rate_limit_max_ips, per-user state by the user list), idle
	 * warnings, roles. */
	{ "security.rate_limit_cleanup_interval", 7 },
	{ "security.rate_limit_max_users", 7 },
	{ "groups.role", 7 },
	{ "limits.idle_warning_secs", 7 },
	{ "users.idle_warning_secs", 7 },
	{ "groups.idle_warning_secs", 7 },
	{ "users.role", 7 },
	/* Management plane: no issue filed yet. [api], [metrics] and the
	 * audit log keys of [logging] work (src/admin, src/obs). */
	{ "webhooks", MGMT },
	{ "alerting", MGMT },
	{ "persistence", MGMT },
	{ "connection_pool", MGMT },
};

/* Length of the match of prefix against path, or 0 when it does not. */
static size_t
match(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (n > 0 && prefix[n - 1] == '*') {
		return strncmp(prefix, path, n - 1) == 0 ? n - 1 : 0;
	}
	if (strncmp(prefix, path, n) != 0) {
		return 0;
	}
	return path[n] == '\0' || path[n] == '.' ? n : 0;
}

int
cfg_key_pending(const char *path)
{
	char *up = cfg__unindex(path);
	size_t i, m, best = 0;
	int issue = 0;

	for (i = 0; i < sizeof(pending) / sizeof(pending[0]); i++) {
		m = match(pending[i].prefix, up);
		if (m > best) {
			best = m;
			issue = pending[i].issue;
		}
	}
	free(up);
	return issue;
}

/*
 * Reports ipath as an error when it names a pending key (unless the load
 * allows them). Returns 0, or ERR_INVAL when reported.
 */
int
cfg__pending_check(struct cfg__ld *ld, const char *ipath, const char *where)
{
	int issue;

	if (ld->allow_pending || (issue = cfg_key_pending(ipath)) == 0) {
		return 0;
	}
	if (issue > 0) {
		cfg_diag_error(ld->d, "%s: '%s' is not implemented yet (issue "
		    "#%d); remove it to continue", where, ipath, issue);
	} else {
		cfg_diag_error(ld->d, "%s: '%s' is not implemented yet "
		    "(management plane); remove it to continue", where,
		    ipath);
	}
	return ERR_INVAL;
}

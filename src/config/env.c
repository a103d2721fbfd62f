/*
 * Environment variables (SKS5_*): the env-only configuration, hybrid
 * overrides (--force-env) and secret scrubbing. Values go through the
 * same typed setter as --set, so parsing is strict: an unparsable number,
 * boolean or enum is an error naming the variable.
 */
#include "config/config_int.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"

#define ENV_E		0x01	/* used in env-only mode */
#define ENV_H		0x02	/* also a hybrid (--force-env) override */
#define ENV_FILE	0x04	/* X_FILE names a file holding the value */
#define ENV_LOWER	0x08	/* enum: case-insensitive */
#define ENV_SECRET	0x10	/* scrubbed from the environment */

#define EH	(ENV_E | ENV_H)

static const struct envvar {
	const char	*name;
	const char	*path;
	unsigned	 flags;
} server_vars[] = {
	{ "SKS5_SSH_LISTEN", "server.ssh_listen", EH },
	{ "SKS5_SOCKS5_LISTEN", "server.socks5_listen", EH },
	{ "SKS5_HOST_KEY_PATH", "server.host_key_path", EH },
	{ "SKS5_SERVER_ID", "server.server_id", ENV_E },
	{ "SKS5_BANNER", "server.banner", EH },
	{ "SKS5_MOTD_PATH", "server.motd_path", ENV_E },
	{ "SKS5_ALLOWED_CIPHERS", "server.allowed_ciphers", ENV_E },
	{ "SKS5_ALLOWED_KEX", "server.allowed_kex", ENV_E },
	{ "SKS5_SHUTDOWN_TIMEOUT", "server.shutdown_timeout", ENV_E },
	{ "SKS5_WORKERS", "server.workers", ENV_E | ENV_H },
	{ "SKS5_SOCKS5_TLS_CERT", "server.socks5_tls_cert", ENV_E },
	{ "SKS5_SOCKS5_TLS_KEY", "server.socks5_tls_key", ENV_E },
	{ "SKS5_DNS_CACHE_TTL", "server.dns_cache_ttl", ENV_E },
	{ "SKS5_DNS_CACHE_MAX_ENTRIES", "server.dns_cache_max_entries",
	    ENV_E },
	{ "SKS5_CONNECT_RETRY", "server.connect_retry", ENV_E },
	{ "SKS5_CONNECT_RETRY_DELAY_MS", "server.connect_retry_delay_ms",
	    ENV_E },
	{ "SKS5_BOOKMARKS_PATH", "server.bookmarks_path", ENV_E },
	{ "SKS5_SSH_KEEPALIVE_INTERVAL", "server.ssh_keepalive_interval_secs",
	    ENV_E },
	{ "SKS5_SSH_KEEPALIVE_MAX", "server.ssh_keepalive_max", ENV_E },
	{ "SKS5_SSH_AUTH_TIMEOUT", "server.ssh_auth_timeout", ENV_E },
	{ "SKS5_SHELL_HOSTNAME", "shell.hostname", ENV_E },
	{ "SKS5_SHELL_PROMPT", "shell.prompt", ENV_E },
	{ "SKS5_SHELL_COLORS", "shell.colors", ENV_E },
	{ "SKS5_SHELL_AUTOCOMPLETE", "shell.autocomplete", ENV_E },
	{ "SKS5_MAX_CONNECTIONS", "limits.max_connections", EH },
	{ "SKS5_MAX_CONNECTIONS_PER_USER", "limits.max_connections_per_user",
	    EH },
	{ "SKS5_CONNECTION_TIMEOUT", "limits.connection_timeout", EH },
	{ "SKS5_IDLE_TIMEOUT", "limits.idle_timeout", EH },
	{ "SKS5_MAX_AUTH_ATTEMPTS", "limits.max_auth_attempts", ENV_E },
	{ "SKS5_SOCKS5_HANDSHAKE_TIMEOUT", "limits.socks5_handshake_timeout",
	    EH },
	{ "SKS5_IDLE_WARNING_SECS", "limits.idle_warning_secs", ENV_E },
	{ "SKS5_MAX_BANDWIDTH_MBPS", "limits.max_bandwidth_mbps", EH },
	{ "SKS5_MAX_NEW_CONNECTIONS_PER_SECOND",
	    "limits.max_new_connections_per_second", EH },
	{ "SKS5_MAX_NEW_CONNECTIONS_PER_MINUTE_SERVER",
	    "limits.max_new_connections_per_minute", EH },
	{ "SKS5_UDP_RELAY_TIMEOUT", "limits.udp_relay_timeout", ENV_E },
	{ "SKS5_MAX_UDP_SESSIONS_PER_USER", "limits.max_udp_sessions_per_user",
	    ENV_E },
	{ "SKS5_ALLOWED_SOURCE_IPS", "security.allowed_source_ips", ENV_E },
	{ "SKS5_BAN_ENABLED", "security.ban_enabled", EH },
	{ "SKS5_BAN_THRESHOLD", "security.ban_threshold", EH },
	{ "SKS5_BAN_WINDOW", "security.ban_window", ENV_E },
	{ "SKS5_BAN_DURATION", "security.ban_duration", ENV_E },
	{ "SKS5_BAN_WHITELIST", "security.ban_whitelist", ENV_E },
	{ "SKS5_IP_GUARD_ENABLED", "security.ip_guard_enabled", ENV_E },
	{ "SKS5_IP_GUARD_ALLOW", "security.ip_guard_allow", ENV_E },
	{ "SKS5_AUTH_CACHE_TTL", "security.auth_cache_ttl", ENV_E },
	{ "SKS5_TOTP_REQUIRED_FOR", "security.totp_required_for", ENV_E },
	{ "SKS5_MAX_NEW_CONNECTIONS_PER_IP_PER_MINUTE",
	    "security.max_new_connections_per_ip_per_minute", ENV_E },
	{ "SKS5_IP_REPUTATION_ENABLED", "security.ip_reputation_enabled",
	    ENV_E },
	{ "SKS5_IP_REPUTATION_BAN_THRESHOLD",
	    "security.ip_reputation_ban_threshold", ENV_E },
	{ "SKS5_TRUSTED_USER_CA_KEYS", "security.trusted_user_ca_keys",
	    ENV_E },
	{ "SKS5_ARGON2_MEMORY_COST", "security.argon2_memory_cost", EH },
	{ "SKS5_ARGON2_TIME_COST", "security.argon2_time_cost", EH },
	{ "SKS5_ARGON2_PARALLELISM", "security.argon2_parallelism", EH },
	{ "SKS5_RATE_LIMIT_CLEANUP_INTERVAL",
	    "security.rate_limit_cleanup_interval", EH },
	{ "SKS5_RATE_LIMIT_MAX_IPS", "security.rate_limit_max_ips", EH },
	{ "SKS5_RATE_LIMIT_MAX_USERS", "security.rate_limit_max_users", EH },
	{ "SKS5_LOG_LEVEL", "logging.level", EH | ENV_LOWER },
	{ "SKS5_LOG_FORMAT", "logging.format", EH | ENV_LOWER },
	{ "SKS5_AUDIT_LOG_PATH", "logging.audit_log_path", ENV_E },
	{ "SKS5_AUDIT_MAX_SIZE_MB", "logging.audit_max_size_mb", ENV_E },
	{ "SKS5_AUDIT_MAX_FILES", "logging.audit_max_files", ENV_E },
	{ "SKS5_CONNECTION_FLOW_LOGS", "logging.connection_flow_logs",
	    ENV_E },
	{ "SKS5_LOG_DENIED_CONNECTIONS", "logging.log_denied_connections",
	    ENV_E },
	{ "SKS5_METRICS_ENABLED", "metrics.enabled", EH },
	{ "SKS5_METRICS_LISTEN", "metrics.listen", EH },
	{ "SKS5_MAX_METRIC_LABELS", "metrics.max_metric_labels", ENV_E },
	{ "SKS5_API_ENABLED", "api.enabled", EH },
	{ "SKS5_API_LISTEN", "api.listen", EH },
	{ "SKS5_API_TOKEN", "api.token", EH | ENV_FILE | ENV_SECRET },
	{ "SKS5_GEOIP_ENABLED", "geoip.enabled", ENV_E },
	{ "SKS5_GEOIP_DATABASE_PATH", "geoip.database_path", ENV_E },
	{ "SKS5_GEOIP_ALLOWED_COUNTRIES", "geoip.allowed_countries", ENV_E },
	{ "SKS5_GEOIP_DENIED_COUNTRIES", "geoip.denied_countries", ENV_E },
	{ "SKS5_GEOIP_FAIL_CLOSED", "geoip.fail_closed", ENV_E },
	{ "SKS5_GLOBAL_ACL_DEFAULT_POLICY", "acl.default_policy",
	    EH | ENV_LOWER },
	{ "SKS5_GLOBAL_ACL_ALLOW", "acl.allow", EH },
	{ "SKS5_GLOBAL_ACL_DENY", "acl.deny", EH },
	{ "SKS5_UPSTREAM_PROXY_URL", "upstream_proxy.url",
	    ENV_E | ENV_SECRET },
	{ "SKS5_DATA_DIR", "persistence.data_dir", EH },
	{ "SKS5_STATE_PERSIST_ENABLED", "persistence.state.enabled", EH },
	{ "SKS5_STATE_FLUSH_INTERVAL", "persistence.state.flush_interval_secs",
	    EH },
	{ "SKS5_STATE_IP_REP_MIN_SCORE",
	    "persistence.state.ip_reputation_min_score", EH },
	{ "SKS5_STATE_IP_REP_FLUSH_INTERVAL",
	    "persistence.state.ip_reputation_flush_interval_secs", EH },
	{ "SKS5_STATE_INACTIVE_USER_DAYS",
	    "persistence.state.inactive_user_retention_days", EH },
	{ "SKS5_USERDATA_ENABLED", "persistence.userdata.enabled", EH },
	{ "SKS5_SHELL_HISTORY_MAX", "persistence.userdata.shell_history_max",
	    EH },
	{ "SKS5_SHELL_HISTORY_FLUSH_SECS",
	    "persistence.userdata.shell_history_flush_secs", EH },
	{ "SKS5_BOOKMARKS_MAX", "persistence.userdata.bookmarks_max", EH },
	{ "SKS5_USERDATA_INACTIVE_DAYS",
	    "persistence.userdata.inactive_retention_days", EH },
	{ "SKS5_CONFIG_HISTORY_ENABLED", "persistence.config_history.enabled",
	    EH },
	{ "SKS5_CONFIG_HISTORY_MAX", "persistence.config_history.max_entries",
	    EH },
};

/* Per-user variables: SKS5_USER_<N>_<SUFFIX>, or SKS5_<SUFFIX> (flat). */
static const struct envvar user_vars[] = {
	{ "USERNAME", "username", 0 },
	{ "PASSWORD_HASH", "password_hash", ENV_FILE | ENV_SECRET },
	{ "AUTHORIZED_KEYS", "authorized_keys", 0 },
	{ "ALLOW_SHELL", "allow_shell", 0 },
	{ "ALLOW_FORWARDING", "allow_forwarding", 0 },
	{ "MAX_NEW_CONNECTIONS_PER_MINUTE", "max_new_connections_per_minute",
	    0 },
	{ "MAX_BANDWIDTH_KBPS", "max_bandwidth_kbps", 0 },
	{ "MAX_AGGREGATE_BANDWIDTH_KBPS", "max_aggregate_bandwidth_kbps", 0 },
	{ "SOURCE_IPS", "source_ips", 0 },
	{ "EXPIRES_AT", "expires_at", 0 },
	{ "UPSTREAM_PROXY", "upstream_proxy", ENV_SECRET },
	{ "ACL_DEFAULT_POLICY", "acl.default_policy", ENV_LOWER },
	{ "ACL_ALLOW", "acl.allow", 0 },
	{ "ACL_DENY", "acl.deny", 0 },
	{ "ACL_INHERIT", "acl.inherit", 0 },
	{ "TOTP_SECRET", "totp_secret", ENV_FILE | ENV_SECRET },
	{ "TOTP_ENABLED", "totp_enabled", 0 },
	{ "GROUP", "group", 0 },
	{ "MAX_CONNECTIONS", "max_connections", 0 },
	{ "RATE_LIMIT_PER_SECOND", "rate_limits.connections_per_second", 0 },
	{ "RATE_LIMIT_PER_MINUTE", "rate_limits.connections_per_minute", 0 },
	{ "RATE_LIMIT_PER_HOUR", "rate_limits.connections_per_hour", 0 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define ENV_FILE_MAX	(64 * 1024)

/* Finds name in envp; 1 with *out set when present and non-empty. */
int
cfg__env_lookup(char *const *envp, const char *name, const char **out)
{
	size_t n = strlen(name);

	*out = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
			if ((*envp)[n + 1] == '\0') {
				return 0;	/* empty = unset */
			}
			*out = *envp + n + 1;
			return 1;
		}
	}
	return 0;
}

/* Reads a secret file whole, trimmed. Heap string or NULL (reported). */
static char *
read_secret_file(struct cfg__ld *ld, const char *var, const char *path)
{
	char *buf = xmalloc(ENV_FILE_MAX + 1), *s = NULL, *e = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		cfg_diag_error(ld->d, "env %s: cannot read %s: %s", var, path,
		    strerror(errno));
		free(buf);
		return NULL;
	}
	while (got < ENV_FILE_MAX &&
	    (n = read(fd, buf + got, ENV_FILE_MAX - got)) != 0) {
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			cfg_diag_error(ld->d, "env %s: cannot read %s: %s",
			    var, path, strerror(errno));
			got = 0;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	for (s = buf; isspace((unsigned char)*s); s++) {
		;
	}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1])) {
		e--;
	}
	if (e == s) {
		cfg_diag_error(ld->d, "env %s: %s is empty or unreadable", var,
		    path);
		util_wipe(buf, ENV_FILE_MAX + 1);
		free(buf);
		return NULL;
	}
	s = xstrndup(s, (size_t)(e - s));
	util_wipe(buf, ENV_FILE_MAX + 1);
	free(buf);
	return s;
}

/* Applies variable name (and its _FILE form when allowed) to path. */
static void
apply_var(struct cfg__ld *ld, char *const *envp, const char *name,
    const char *path, unsigned flags)
{
	const char *v = NULL;
	char *fname = NULL, *where = NULL, *secret = NULL;

	if (cfg__env_lookup(envp, name, &v)) {
		where = xasprintf("env %s", name);
		cfg__set_path(ld, path, v, where, (flags & ENV_LOWER) != 0);
	} else if (flags & ENV_FILE) {
		fname = xasprintf("%s_FILE", name);
		if (cfg__env_lookup(envp, fname, &v)) {
			where = xasprintf("env %s", fname);
			if ((secret = read_secret_file(ld, fname, v)) != NULL) {
				cfg__set_path(ld, path, secret, where, 0);
			}
			util_free_secret(secret);
		}
		free(fname);
	}
	free(where);
}

/* Applies the per-user variables with prefix (e.g. "SKS5_USER_0_"). */
static void
apply_user(struct cfg__ld *ld, char *const *envp, const char *prefix,
    size_t idx)
{
	char *name = NULL, *path = NULL;
	int flat = strcmp(prefix, "SKS5_") == 0;
	size_t i;

	for (i = 0; i < NELEM(user_vars); i++) {
		/* SKS5_MAX_CONNECTIONS is the server-wide cap only. */
		if (flat && strcmp(user_vars[i].name, "MAX_CONNECTIONS") == 0) {
			continue;
		}
		name = xasprintf("%s%s", prefix, user_vars[i].name);
		path = xasprintf("users.%zu.%s", idx, user_vars[i].path);
		apply_var(ld, envp, name, path, user_vars[i].flags);
		free(name);
		free(path);
	}
}

/* Builds the users of env-only mode: indexed, else one flat user. */
static void
apply_users(struct cfg__ld *ld, char *const *envp)
{
	const char *v = NULL;
	char *name = NULL, *prefix = NULL;
	size_t n;

	for (n = 0;; n++) {
		name = xasprintf("SKS5_USER_%zu_USERNAME", n);
		if (!cfg__env_lookup(envp, name, &v)) {
			free(name);
			break;
		}
		free(name);
		prefix = xasprintf("SKS5_USER_%zu_", n);
		apply_user(ld, envp, prefix, n);
		free(prefix);
	}
	if (n > 0) {
		return;
	}
	/* Flat mode: one user, "user" unless SKS5_USERNAME says otherwise.
	 * Server-level names win where they clash: the user's connection
	 * cap is SKS5_MAX_CONNECTIONS_USER and its upstream proxy
	 * SKS5_UPSTREAM_PROXY (or SKS5_USER_UPSTREAM_PROXY). */
	cfg__set_path(ld, "users.0.username", "user", "env (default user)",
	    0);
	apply_user(ld, envp, "SKS5_", 0);
	apply_var(ld, envp, "SKS5_MAX_CONNECTIONS_USER",
	    "users.0.max_connections", 0);
	if (!cfg__env_lookup(envp, "SKS5_UPSTREAM_PROXY", &v)) {
		apply_var(ld, envp, "SKS5_USER_UPSTREAM_PROXY",
		    "users.0.upstream_proxy", 0);
	}
}

/*
 * Applies the environment: env-only mode (hybrid = 0) builds everything
 * from column E variables and the users; hybrid mode applies the column H
 * subset over the file and never touches users.
 */
int
cfg__env_apply(struct cfg__ld *ld, char *const *envp, int hybrid)
{
	size_t i, nerr0 = ld->d->nerrors;

	for (i = 0; i < NELEM(server_vars); i++) {
		if ((server_vars[i].flags & (hybrid ? ENV_H : ENV_E)) == 0) {
			continue;
		}
		apply_var(ld, envp, server_vars[i].name, server_vars[i].path,
		    server_vars[i].flags);
	}
	if (!hybrid) {
		apply_users(ld, envp);
	}
	return ld->d->nerrors > nerr0 ? ERR_INVAL : 0;
}

/* True when the environment alone can describe a server. */
int
cfg__env_sufficient(char *const *envp)
{
	static const char *const users[] = {
		"SKS5_USER_0_USERNAME", "SKS5_PASSWORD_HASH",
		"SKS5_PASSWORD_HASH_FILE", "SKS5_AUTHORIZED_KEYS",
	};
	const char *v = NULL;
	size_t i;

	if (!cfg__env_lookup(envp, "SKS5_SSH_LISTEN", &v) &&
	    !cfg__env_lookup(envp, "SKS5_SOCKS5_LISTEN", &v)) {
		return 0;
	}
	for (i = 0; i < NELEM(users); i++) {
		if (cfg__env_lookup(envp, users[i], &v)) {
			return 1;
		}
	}
	return 0;
}

/* The variable that sets an (unindexed) key path, for the docs. */
const char *
cfg__env_var_for(const char *upath)
{
	static char buf[96];
	size_t i;

	for (i = 0; i < NELEM(server_vars); i++) {
		if (strcmp(server_vars[i].path, upath) == 0) {
			return server_vars[i].name;
		}
	}
	if (strncmp(upath, "users.", 6) != 0) {
		return NULL;
	}
	for (i = 0; i < NELEM(user_vars); i++) {
		if (strcmp(user_vars[i].path, upath + 6) == 0) {
			snprintf(buf, sizeof(buf), "SKS5_USER_<N>_%s",
			    user_vars[i].name);
			return buf;
		}
	}
	return NULL;
}

/* True when name is a secret variable (fixed or per indexed user). */
static int
is_secret_var(const char *name, size_t len)
{
	static const char *const fixed[] = {
		"SKS5_PASSWORD_HASH", "SKS5_PASSWORD_HASH_FILE",
		"SKS5_API_TOKEN", "SKS5_API_TOKEN_FILE", "SKS5_TOTP_SECRET",
		"SKS5_TOTP_SECRET_FILE", "SKS5_UPSTREAM_PROXY_URL",
		"SKS5_UPSTREAM_PROXY", "SKS5_USER_UPSTREAM_PROXY",
	};
	static const char *const sfx[] = {
		"_PASSWORD_HASH", "_PASSWORD_HASH_FILE", "_TOTP_SECRET",
		"_TOTP_SECRET_FILE", "_UPSTREAM_PROXY",
	};
	const char *p = name + 10;
	size_t i, n;

	for (i = 0; i < NELEM(fixed); i++) {
		if (strlen(fixed[i]) == len &&
		    strncmp(fixed[i], name, len) == 0) {
			return 1;
		}
	}
	if (len < 11 || strncmp(name, "SKS5_USER_", 10) != 0 ||
	    !isdigit((unsigned char)*p)) {
		return 0;
	}
	while (isdigit((unsigned char)*p)) {
		p++;
	}
	n = len - (size_t)(p - name);
	for (i = 0; i < NELEM(sfx); i++) {
		if (strlen(sfx[i]) == n && strncmp(sfx[i], p, n) == 0) {
			return 1;
		}
	}
	return 0;
}

void
cfg_env_scrub_secrets(void)
{
	extern char **environ;
	char **names = NULL, *eq = NULL;
	size_t i, n = 0;

	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		if ((eq = strchr(environ[i], '=')) != NULL &&
		    is_secret_var(environ[i], (size_t)(eq - environ[i]))) {
			names = xreallocarray(names, n + 1, sizeof(char *));
			names[n++] = xstrndup(environ[i],
			    (size_t)(eq - environ[i]));
		}
	}
	for (i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
	free(names);
}

/*
 * The configuration model: load a TOML file (and/or environment variables),
 * apply command-line overrides, validate everything, resolve group
 * inheritance, and print the effective configuration with secrets redacted.
 *
 * A loaded struct cfg is immutable; it is freed with cfg_free().
 */
#ifndef SKS5_CONFIG_CONFIG_H
#define SKS5_CONFIG_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config/values.h"

/*
 * The configuration model. Every field below is filled by the loader from
 * the schema (src/config/schema.c), which also holds each key's default,
 * bounds and help text. Optional ("inherit") fields carry an explicit set
 * flag: a value of 0 with set = 1 means "0", never "inherit".
 */

/* A string array; set is 1 when the key was given (file, env, --set). */
struct cfg_strv {
	char	**v;
	size_t	  n;
	int	  set;
};

/* A string -> string map in document order (shell aliases). */
struct cfg_map {
	char	**keys;
	char	**vals;
	size_t	  n;
};

struct cfg_obool {
	int	set;
	int	v;
};

struct cfg_ou32 {
	int		set;
	uint32_t	v;
};

struct cfg_ou64 {
	int		set;
	uint64_t	v;
};

struct cfg_oenum {
	int	set;
	int	v;
};

/* Enumerations; the order matches the schema's name lists. */
enum cfg_level {	/* same values as enum log_level */
	CFG_LEVEL_TRACE = 0, CFG_LEVEL_DEBUG, CFG_LEVEL_INFO, CFG_LEVEL_WARN,
	CFG_LEVEL_ERROR,
};
enum cfg_logfmt { CFG_LOGFMT_PRETTY = 0, CFG_LOGFMT_JSON };
enum cfg_policy { CFG_POLICY_ALLOW = 0, CFG_POLICY_DENY };
enum cfg_role { CFG_ROLE_USER = 0, CFG_ROLE_ADMIN };
enum cfg_whfmt {
	CFG_WH_GENERIC = 0, CFG_WH_SLACK, CFG_WH_DISCORD, CFG_WH_CUSTOM,
};
enum cfg_alert_cond {
	CFG_ALERT_BANDWIDTH = 0, CFG_ALERT_CONNECTIONS,
	CFG_ALERT_MONTHLY_BANDWIDTH, CFG_ALERT_HOURLY_BANDWIDTH,
	CFG_ALERT_AUTH_FAILURES,
};

struct cfg_server {
	char		*ssh_listen;	/* NULL: SSH listener disabled */
	char		*socks5_listen;	/* NULL: SOCKS5 listener disabled */
	char		*host_key_path;	/* absolute unless env-only */
	char		*server_id;
	char		*banner;
	char		*motd_path;
	struct cfg_strv	 allowed_ciphers;
	struct cfg_strv	 allowed_kex;
	uint64_t	 shutdown_timeout;
	char		*socks5_tls_cert;
	char		*socks5_tls_key;
	int64_t		 dns_cache_ttl;
	uint32_t	 dns_cache_max_entries;
	uint32_t	 connect_retry;
	uint64_t	 connect_retry_delay_ms;
	char		*bookmarks_path;
	uint64_t	 ssh_keepalive_interval_secs;
	uint32_t	 ssh_keepalive_max;
	uint64_t	 ssh_auth_timeout;
	uint32_t	 workers;	/* 0: one per CPU */
};

struct cfg_shell {
	char	*hostname;
	char	*prompt;
	int	 colors;
	int	 autocomplete;
};

struct cfg_limits {
	uint32_t	max_connections;
	uint32_t	max_connections_per_user;
	uint64_t	connection_timeout;
	uint64_t	idle_timeout;
	uint32_t	max_auth_attempts;
	uint64_t	socks5_handshake_timeout;
	uint64_t	idle_warning_secs;
	uint64_t	max_bandwidth_mbps;
	uint32_t	max_new_connections_per_second;
	uint32_t	max_new_connections_per_minute;
	uint64_t	udp_relay_timeout;
	uint32_t	max_udp_sessions_per_user;
	uint32_t	max_unauthenticated_connections;
	uint32_t	max_unauthenticated_connections_per_ip;
	uint32_t	max_udp_destinations;
	uint32_t	max_udp_datagram_size;
	uint32_t	max_ssh_connections;
	uint32_t	max_ssh_unauthenticated;
	uint32_t	max_ssh_unauthenticated_per_ip;
};

struct cfg_security {
	struct cfg_strv	 allowed_source_ips;
	int		 ban_enabled;
	uint32_t	 ban_threshold;
	uint64_t	 ban_window;
	uint64_t	 ban_duration;
	struct cfg_strv	 ban_whitelist;
	int		 ip_guard_enabled;
	struct cfg_strv	 ip_guard_allow;
	uint64_t	 auth_cache_ttl;	/* seconds; 0 = off */
	struct cfg_strv	 totp_required_for;
	uint32_t	 max_new_connections_per_ip_per_minute;
	int		 ip_reputation_enabled;
	uint32_t	 ip_reputation_ban_threshold;
	uint64_t	 ip_reputation_half_life;
	struct cfg_strv	 trusted_user_ca_keys;
	uint32_t	 argon2_memory_cost;
	uint32_t	 argon2_time_cost;
	uint32_t	 argon2_parallelism;
	uint64_t	 rate_limit_cleanup_interval;
	uint64_t	 rate_limit_max_ips;
	uint64_t	 rate_limit_max_users;
	/* Filled after validation. */
	struct cfg_cidr	*source_nets;	/* allowed_source_ips parsed */
	size_t		 nsource_nets;
	struct cfg_cidr	*whitelist_nets;	/* ban_whitelist parsed */
	size_t		 nwhitelist_nets;
	struct cfg_cidr	*guard_allow_nets;	/* ip_guard_allow parsed */
	size_t		 nguard_allow_nets;
};

struct cfg_logging {
	int		 level;		/* enum cfg_level */
	int		 format;	/* enum cfg_logfmt */
	char		*audit_log_path;
	uint64_t	 audit_max_size_mb;
	uint32_t	 audit_max_files;
	int		 connection_flow_logs;
	int		 log_denied_connections;
};

struct cfg_metrics {
	int		 enabled;
	char		*listen;
	uint32_t	 max_metric_labels;
};

struct cfg_api {
	int	 enabled;
	char	*listen;
	char	*token;		/* secret */
};

struct cfg_geoip {
	int		 enabled;
	char		*database_path;
	struct cfg_strv	 allowed_countries;
	struct cfg_strv	 denied_countries;
	int		 fail_closed;
};

#define CFG_MOTD_MAX	(64 * 1024)	/* bytes of a server.motd_path file */

struct cfg_motd {
	int	 enabled;
	char	*template;	/* NULL: built-in template */
	int	 colors;
};

struct cfg_acl {	/* global [acl] */
	int		 default_policy;	/* enum cfg_policy */
	struct cfg_strv	 allow;
	struct cfg_strv	 deny;
};

struct cfg_upstream {
	char	*url;		/* NULL: connect directly */
};

struct cfg_pool {
	int		 enabled;
	uint32_t	 max_idle_per_host;
	uint64_t	 idle_timeout_secs;
};

/* User/group blocks: every field optional, merged per field. */
struct cfg_acl_o {
	struct cfg_oenum default_policy;
	struct cfg_strv	 allow;
	struct cfg_strv	 deny;
	int		 inherit;
};

struct cfg_perms_o {
	struct cfg_obool show_connections, show_bandwidth, show_acl,
			 show_status, show_history, show_fingerprint,
			 test_command, ping_command, resolve_command,
			 bookmark_command, alias_command, show_quota, show_role,
			 show_group, show_expires, show_source_ip,
			 show_auth_method, show_uptime;
};

struct cfg_perms {
	int	show_connections, show_bandwidth, show_acl, show_status,
		show_history, show_fingerprint, test_command, ping_command,
		resolve_command, bookmark_command, alias_command, show_quota,
		show_role, show_group, show_expires, show_source_ip,
		show_auth_method, show_uptime;
};

struct cfg_motd_o {
	struct cfg_obool enabled;
	char		*template;
	struct cfg_obool colors;
};

struct cfg_quotas_o {
	struct cfg_ou64	daily_bandwidth_bytes;
	struct cfg_ou32	daily_connection_limit;
	struct cfg_ou64	monthly_bandwidth_bytes;
	struct cfg_ou32	monthly_connection_limit;
	struct cfg_ou64	bandwidth_per_hour_bytes;
	struct cfg_ou64	total_bandwidth_bytes;
};

struct cfg_quotas {	/* 0 = unlimited */
	uint64_t	daily_bandwidth_bytes;
	uint32_t	daily_connection_limit;
	uint64_t	monthly_bandwidth_bytes;
	uint32_t	monthly_connection_limit;
	uint64_t	bandwidth_per_hour_bytes;
	uint64_t	total_bandwidth_bytes;
};

struct cfg_time_access_o {
	char		*access_hours;
	struct cfg_strv	 access_days;
	char		*timezone;
};

struct cfg_time_access {
	int		 has_hours;	/* 0: any time of day */
	struct cfg_hours hours;		/* start > end crosses midnight */
	unsigned	 days;		/* bit 0 = mon .. bit 6 = sun; 0 = all */
	const char	*timezone;	/* borrowed; "UTC" by default */
};

struct cfg_rate_o {
	struct cfg_ou32	connections_per_second;
	struct cfg_ou32	connections_per_minute;
	struct cfg_ou32	connections_per_hour;
};

struct cfg_rate {	/* 0 = unlimited */
	uint32_t	connections_per_second;
	uint32_t	connections_per_minute;
	uint32_t	connections_per_hour;
};

struct cfg_group {
	char			*name;
	struct cfg_acl_o	 acl;
	struct cfg_ou32		 max_connections_per_user;
	struct cfg_ou64		 max_bandwidth_kbps;
	struct cfg_ou64		 max_aggregate_bandwidth_kbps;
	struct cfg_ou32		 max_new_connections_per_minute;
	struct cfg_obool	 allow_shell;
	struct cfg_perms_o	 shell_permissions;
	struct cfg_motd_o	 motd;
	struct cfg_quotas_o	 quotas;
	struct cfg_time_access_o time_access;
	struct cfg_strv		 auth_methods;
	struct cfg_ou64		 idle_warning_secs;
	struct cfg_oenum	 role;
	struct cfg_obool	 colors;
	struct cfg_ou32		 connect_retry;
	struct cfg_ou64		 connect_retry_delay_ms;
	struct cfg_rate_o	 rate_limits;
};

/* A user's effective settings after inheritance (user -> group -> global);
 * filled by the loader after validation. Pointers are borrowed from the
 * struct cfg (or owned by it) and live as long as it. */
struct cfg_user_eff {
	const struct cfg_group	*group;		/* NULL: no group */
	int			 role;		/* enum cfg_role */
	int			 allow_shell;
	int			 allow_forwarding;
	uint32_t		 max_connections;	/* 0 = unlimited */
	uint32_t		 max_new_connections_per_minute;
	uint64_t		 max_bandwidth_kbps;
	uint64_t		 max_aggregate_bandwidth_kbps;
	uint64_t		 idle_warning_secs;
	int			 colors;
	uint32_t		 connect_retry;
	uint64_t		 connect_retry_delay_ms;
	const struct cfg_strv	*auth_methods;	/* n == 0: any method */
	struct cfg_perms	 shell_permissions;
	struct cfg_motd		 motd;		/* template borrowed */
	struct cfg_quotas	 quotas;
	struct cfg_time_access	 time_access;
	struct cfg_rate		 rate_limits;
	int			 acl_policy;	/* enum cfg_policy */
	struct cfg_acl_rule	*acl_allow;	/* owned */
	size_t			 nacl_allow;
	struct cfg_acl_rule	*acl_deny;	/* owned */
	size_t			 nacl_deny;
	const char		*upstream_proxy;	/* NULL: direct */
	struct cfg_cidr		*source_nets;	/* owned; n == 0: any */
	size_t			 nsource_nets;
	int			 has_expiry;
	time_t			 expires_at;
};

struct cfg_user {
	char			*username;
	char			*password_hash;	/* secret */
	struct cfg_strv		 authorized_keys;
	struct cfg_obool	 allow_shell;
	struct cfg_obool	 allow_forwarding;
	char			*group;
	struct cfg_oenum	 role;
	struct cfg_ou32		 max_new_connections_per_minute;
	struct cfg_ou64		 max_bandwidth_kbps;
	struct cfg_ou64		 max_aggregate_bandwidth_kbps;
	struct cfg_ou32		 max_connections;
	struct cfg_strv		 source_ips;
	char			*expires_at;
	char			*upstream_proxy;	/* URL, may hold creds */
	int			 totp_enabled;
	char			*totp_secret;	/* secret */
	struct cfg_strv		 auth_methods;
	struct cfg_ou64		 idle_warning_secs;
	struct cfg_obool	 colors;
	struct cfg_ou32		 connect_retry;
	struct cfg_ou64		 connect_retry_delay_ms;
	struct cfg_map		 aliases;
	struct cfg_acl_o	 acl;
	struct cfg_perms_o	 shell_permissions;
	struct cfg_motd_o	 motd;
	struct cfg_quotas_o	 quotas;
	struct cfg_time_access_o time_access;
	struct cfg_rate_o	 rate_limits;
	struct cfg_user_eff	 eff;
};

struct cfg_webhook {
	char		*url;
	struct cfg_strv	 events;	/* canonical dotted names after load */
	char		*secret;	/* secret */
	int		 format;	/* enum cfg_whfmt */
	char		*template;
	int		 allow_private_ips;
	uint32_t	 max_retries;
	uint64_t	 retry_delay_ms;
	uint64_t	 max_retry_delay_ms;
};

struct cfg_alert_rule {
	char		*name;
	struct cfg_oenum condition;	/* enum cfg_alert_cond; required */
	struct cfg_ou64	 threshold;	/* required */
	uint64_t	 window_secs;
	struct cfg_strv	 users;
	char		*webhook_url;
};

struct cfg_alerting {
	int			 enabled;
	struct cfg_alert_rule	*rules;
	size_t			 nrules;
};

struct cfg_maint {
	char			*schedule;
	char			*message;
	int			 disconnect_existing;
	struct cfg_schedule	 sched;	/* parsed after validation */
};

struct cfg_persist_state {
	int		 enabled;
	uint64_t	 flush_interval_secs;
	uint32_t	 ip_reputation_min_score;
	uint64_t	 ip_reputation_flush_interval_secs;
	uint32_t	 inactive_user_retention_days;
};

struct cfg_persist_userdata {
	int		 enabled;
	uint32_t	 shell_history_max;
	uint64_t	 shell_history_flush_secs;
	uint32_t	 bookmarks_max;
	uint32_t	 inactive_retention_days;
};

struct cfg_persist_history {
	int		 enabled;
	uint32_t	 max_entries;
};

struct cfg_persistence {
	char				*data_dir;	/* NULL: default */
	struct cfg_persist_state	 state;
	struct cfg_persist_userdata	 userdata;
	struct cfg_persist_history	 config_history;
};

struct cfg {
	struct cfg_server	 server;
	struct cfg_shell	 shell;
	struct cfg_limits	 limits;
	struct cfg_security	 security;
	struct cfg_logging	 logging;
	struct cfg_metrics	 metrics;
	struct cfg_api		 api;
	struct cfg_geoip	 geoip;
	struct cfg_upstream	 upstream_proxy;
	struct cfg_webhook	*webhooks;
	size_t			 nwebhooks;
	struct cfg_acl		 acl;
	struct cfg_user		*users;
	size_t			 nusers;
	struct cfg_group	*groups;
	size_t			 ngroups;
	struct cfg_motd		 motd;
	struct cfg_alerting	 alerting;
	struct cfg_maint	*maintenance_windows;
	size_t			 nmaintenance_windows;
	struct cfg_pool		 connection_pool;
	struct cfg_persistence	 persistence;
	/* Not configuration keys. */
	char			*source;	/* file path or "environment" */
	char			*base_dir;	/* of the file; NULL: CWD */
	int			 allow_pending;	/* loaded with pending keys */
	char			*motd_text;	/* server.motd_path's content */
};

/* Errors and warnings collected while loading; each a heap string of the
 * form "FILE:LINE:COL: message" or "ORIGIN: message". */
struct cfg_diag {
	char	**errors;
	size_t	  nerrors;
	char	**warnings;
	size_t	  nwarnings;
};

void	cfg_diag_init(struct cfg_diag *d);
void	cfg_diag_cleanup(struct cfg_diag *d);
void	cfg_diag_error(struct cfg_diag *d, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cfg_diag_warn(struct cfg_diag *d, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints every error then every warning, one per line, to f. */
void	cfg_diag_print(const struct cfg_diag *d, FILE *f);

/* What the command line and the environment contribute. */
struct cfg_overrides {
	const char	 *config_path;	/* NULL: "config.toml" */
	int		  config_explicit; /* path given by -c/--config or
					    * SKS5_CONFIG: missing file = error */
	int		  force_env;	/* --force-env / SKS5_FORCE_ENV */
	const char	 *data_dir;	/* --data-dir, or NULL */
	const char	 *ssh_listen;	/* --ssh-listen, or NULL */
	const char	 *log_level;	/* --log-level, or NULL */
	const char *const *sets;	/* --set KEY=VALUE, in order */
	size_t		  nsets;
	char *const	 *envp;		/* environment; NULL: ignore it */
	int		  allow_pending; /* tests only: accept keys that are
					  * not implemented yet */
};

/*
 * Resolves the configuration source (file, or environment only when no file
 * exists and the environment is sufficient), parses it, applies environment
 * and command-line overrides, then validates the complete runtime model.
 * Keys the server does not act on yet are errors naming the key.
 * Returns 0 with *out set, or a negative ERR_* with every problem in d.
 */
int	cfg_load(const struct cfg_overrides *ov, struct cfg **out,
	    struct cfg_diag *d);

/*
 * Same pipeline from an in-memory document (tests, init). name appears in
 * messages; relative paths resolve against base_dir (NULL: the CWD).
 */
int	cfg_load_string(const char *text, size_t len, const char *name,
	    const char *base_dir, const struct cfg_overrides *ov,
	    struct cfg **out, struct cfg_diag *d);

/* Frees a configuration, wiping secrets. NULL is a no-op. */
void	cfg_free(struct cfg *c);

enum cfg_format {
	CFG_FMT_TOML = 0,
	CFG_FMT_JSON,
};

/*
 * Writes the effective configuration (every key with its value, defaults
 * included) to f. With redact set, every secret prints as "***" and
 * credentials inside URLs are masked. Returns 0 or ERR_IO.
 */
int	cfg_dump(const struct cfg *c, enum cfg_format fmt, int redact, FILE *f);

/*
 * If the dotted key path (e.g. "server.socks5_listen",
 * "users.acl.allow") names a key that the server does not act on yet,
 * returns the number of the issue that will implement it (or -1 when no
 * issue is filed yet); returns 0 for keys that are implemented.
 * Array-of-table entries are addressed without an index ("users.group").
 */
int	cfg_key_pending(const char *path);

/* Short facts for `check-config` and the server start-up line. */
const char *cfg_ssh_listen(const struct cfg *c);	/* NULL if disabled */
const char *cfg_socks5_listen(const struct cfg *c);	/* NULL if disabled */
size_t	cfg_user_count(const struct cfg *c);
const char *cfg_source(const struct cfg *c);	/* file path or "environment" */
const char *cfg_log_level(const struct cfg *c);	/* "info", ... */
const char *cfg_log_format(const struct cfg *c);	/* "pretty"|"json" */

/* Finds a user by exact name; NULL if none. Valid as long as c. */
const struct cfg_user *cfg_user_find(const struct cfg *c, const char *name);
/* The i-th user (0 <= i < cfg_user_count), NULL past the end. */
const struct cfg_user *cfg_user_at(const struct cfg *c, size_t i);

/* Removes the secret SKS5_* variables (section 2.5 of the interface
 * reference, plus upstream proxy URLs) from the process environment. */
void	cfg_env_scrub_secrets(void);

/* Writes the key reference (markdown tables generated from the schema)
 * used by docs/CONFIG.md. Returns 0 or ERR_IO. */
int	cfg_doc_markdown(FILE *f);

#endif /* SKS5_CONFIG_CONFIG_H */

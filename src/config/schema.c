/*
 * The configuration schema: one descriptor table per section, plus the
 * generic helpers that walk it (defaults, free, lookup, suggestions).
 */
#include "config/config_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define NK(a)	(sizeof(a) / sizeof((a)[0]))
#define SECT(nm, kk, st) \
	{ .name = (nm), .keys = (kk), .nkeys = NK(kk), .size = sizeof(st) }

#define K_(st, f, t, h)	.name = #f, .type = (t), .off = offsetof(st, f), \
	.help = (h)
#define KB(st, f, d, h)		{ K_(st, f, CK_BOOL, h), .idef = (d) }
#define KU32R(st, f, d, lo, hi, h) \
	{ K_(st, f, CK_U32, h), .idef = (d), .min = (lo), .max = (hi) }
#define KU32(st, f, d, h)	KU32R(st, f, d, 0, UINT32_MAX, h)
#define KU64R(st, f, d, lo, hi, h) \
	{ K_(st, f, CK_U64, h), .idef = (d), .min = (lo), .max = (hi) }
#define KU64(st, f, d, h)	KU64R(st, f, d, 0, INT64_MAX, h)
#define KI64(st, f, d, h) \
	{ K_(st, f, CK_I64, h), .idef = (d), .min = INT64_MIN, .max = INT64_MAX }
#define KS(st, f, d, fl, h)	{ K_(st, f, CK_STR, h), .sdef = (d), \
	.flags = (fl) }
#define KOS(st, f, fl, h)	{ K_(st, f, CK_OSTR, h), .flags = (fl) }
#define KP(st, f, d, h)		{ K_(st, f, CK_PATH, h), .sdef = (d) }
#define KOP(st, f, h)		{ K_(st, f, CK_OPATH, h) }
#define KV(st, f, h)		{ K_(st, f, CK_STRV, h) }
#define KE(st, f, d, en, h)	{ K_(st, f, CK_ENUM, h), .idef = (d), \
	.enums = (en) }
#define KOE(st, f, en, h)	{ K_(st, f, CK_OENUM, h), .enums = (en) }
#define KOB(st, f, h)		{ K_(st, f, CK_OBOOL, h) }
#define KOU32(st, f, h) \
	{ K_(st, f, CK_OU32, h), .min = 0, .max = UINT32_MAX }
#define KOU64(st, f, h) \
	{ K_(st, f, CK_OU64, h), .min = 0, .max = INT64_MAX }
#define KM(st, f, h)		{ K_(st, f, CK_MAP, h) }
#define KT(st, f, sb, h)	{ K_(st, f, CK_TABLE, h), .sub = &(sb) }
#define KA(st, f, nf, sb, h)	{ K_(st, f, CK_ARRAY, h), .sub = &(sb), \
	.off_n = offsetof(st, nf) }

static const char *const levels[] = {
	"trace", "debug", "info", "warn", "error", NULL
};
static const char *const logfmts[] = { "pretty", "json", NULL };
static const char *const policies[] = { "allow", "deny", NULL };
static const char *const roles[] = { "user", "admin", NULL };
static const char *const whfmts[] = {
	"generic", "slack", "discord", "custom", NULL
};
static const char *const conds[] = {
	"bandwidth_exceeded", "connections_exceeded",
	"monthly_bandwidth_exceeded", "hourly_bandwidth_exceeded",
	"auth_failures", NULL
};

#define S struct cfg_server
static const struct cfg__key server_keys[] = {
	KOS(S, ssh_listen, 0, "SSH listener address host:port; absent "
	    "disables SSH"),
	KOS(S, socks5_listen, 0, "Standalone SOCKS5 listener host:port; "
	    "absent disables it"),
	KP(S, host_key_path, "host_key", "SSH host key file: Ed25519 created "
	    "(mode 0600) when missing; an existing ECDSA or RSA key is used"),
	KS(S, server_id, "SSH-2.0-sks5", 0, "SSH identification string; "
	    "must start with SSH-2.0-"),
	KS(S, banner, "Welcome to sks5", 0, "Pre-authentication banner"),
	KOP(S, motd_path, "File holding the global MOTD template (at most "
	    "64 KiB), read at load and on reload; motd.template wins"),
	KV(S, allowed_ciphers, "SSH cipher allow-list; empty = library "
	    "defaults"),
	KV(S, allowed_kex, "SSH key-exchange allow-list; empty = library "
	    "defaults"),
	KU64(S, shutdown_timeout, 30, "Seconds to drain connections after "
	    "SIGTERM/SIGINT"),
	KOP(S, socks5_tls_cert, "PEM certificate chain; makes the SOCKS5 "
	    "listener TLS-only"),
	KOP(S, socks5_tls_key, "PEM private key for socks5_tls_cert"),
	KI64(S, dns_cache_ttl, -1, "DNS cache TTL seconds: -1 = record TTL, "
	    "0 = off"),
	KU32(S, dns_cache_max_entries, 1000, "DNS cache capacity"),
	KU32(S, connect_retry, 0, "Outbound connect retries (default for "
	    "users)"),
	KU64(S, connect_retry_delay_ms, 1000, "Initial delay between "
	    "connect retries"),
	KOP(S, bookmarks_path, "JSON file holding every user's bookmarks "
	    "(instead of the per-user files)"),
	KU64(S, ssh_keepalive_interval_secs, 15, "Seconds of client silence "
	    "before an SSH keepalive request; 0 disables"),
	KU32(S, ssh_keepalive_max, 3, "Unanswered keepalives before "
	    "disconnect; 0 = never disconnect"),
	KU64R(S, ssh_auth_timeout, 120, 10, 600, "Seconds from accept to "
	    "successful SSH authentication"),
	KU32R(S, workers, 0, 0, 256, "Data-plane worker threads (event "
	    "loops); 0 = one per CPU"),
};
#undef S

#define S struct cfg_shell
static const struct cfg__key shell_keys[] = {
	KS(S, hostname, "sks5-proxy", 0, "Host name shown in the shell "
	    "prompt"),
	KS(S, prompt, "$ ", 0, "Prompt suffix"),
	KB(S, colors, 1, "Default for users' colors"),
	KB(S, autocomplete, 1, "Tab completion in the shell"),
};
#undef S

#define S struct cfg_limits
static const struct cfg__key limits_keys[] = {
	KU32R(S, max_connections, 1000, 1, UINT32_MAX, "Cap on concurrent "
	    "proxied connections"),
	KU32(S, max_connections_per_user, 0, "Default per-user concurrent "
	    "connections; 0 = unlimited"),
	KU64R(S, connection_timeout, 10, 1, 3600, "Outbound TCP "
	    "connect timeout per attempt, seconds"),
	KU64(S, idle_timeout, 0, "Idle timeout of relays and shells, "
	    "seconds; 0 = none"),
	KU32(S, max_auth_attempts, 3, "Failed SSH authentication attempts "
	    "per connection"),
	KU64R(S, socks5_handshake_timeout, 30, 5, 120, "Bound on the SOCKS5 "
	    "greeting, auth and request, seconds"),
	KU64(S, idle_warning_secs, 0, "Warn this many seconds before an "
	    "idle disconnect (default for users)"),
	KU64(S, max_bandwidth_mbps, 0, "Server-wide throughput cap, "
	    "megabits/s; 0 = unlimited"),
	KU32(S, max_new_connections_per_second, 0, "Server-wide new "
	    "connections per second; 0 = unlimited"),
	KU32(S, max_new_connections_per_minute, 0, "Server-wide new "
	    "connections per minute; 0 = unlimited"),
	KU64R(S, udp_relay_timeout, 300, 30, 3600, "UDP ASSOCIATE idle "
	    "timeout, seconds"),
	KU32(S, max_udp_sessions_per_user, 0, "UDP sessions per user; "
	    "0 = unlimited"),
	KU32(S, max_unauthenticated_connections, 1024, "Connections not "
	    "authenticated yet, server-wide; 0 = unlimited"),
	KU32(S, max_unauthenticated_connections_per_ip, 128, "Connections "
	    "not authenticated yet, per source IP; 0 = unlimited"),
	KU32R(S, max_udp_destinations, 64, 1, 4096, "Distinct destinations "
	    "one UDP association may send to"),
	KU32R(S, max_udp_datagram_size, 65507, 512, 65507, "Largest UDP "
	    "payload relayed, bytes; larger datagrams are dropped"),
	KU32R(S, max_ssh_connections, 512, 1, 65536, "Concurrent SSH "
	    "connections (one thread each)"),
	KU32R(S, max_ssh_unauthenticated, 64, 1, 65536, "SSH connections "
	    "not yet authenticated, all addresses"),
	KU32R(S, max_ssh_unauthenticated_per_ip, 10, 1, 65536, "SSH "
	    "connections not yet authenticated from one address"),
};
#undef S

#define S struct cfg_security
static const struct cfg__key security_keys[] = {
	KV(S, allowed_source_ips, "Client networks allowed to connect "
	    "(CIDR or plain IP); empty = any"),
	KB(S, ban_enabled, 1, "Automatic bans after repeated "
	    "authentication failures"),
	KU32(S, ban_threshold, 5, "Failures within ban_window that trigger "
	    "a ban (1..1000 when bans are on)"),
	KU64(S, ban_window, 300, "Failure counting window, seconds"),
	KU64(S, ban_duration, 900, "Ban length, seconds"),
	KV(S, ban_whitelist, "IPs or networks never banned"),
	KB(S, ip_guard_enabled, 1, "Refuse destinations in private and "
	    "reserved ranges (anti-SSRF)"),
	KV(S, ip_guard_allow, "Networks exempt from ip_guard (CIDR or plain "
	    "IP), e.g. an internal range users may reach"),
	KU64(S, auth_cache_ttl, 300, "Seconds a verified password is "
	    "remembered (as a keyed digest) so repeat logins skip Argon2id; "
	    "0 = off"),
	KV(S, totp_required_for, "Protocols requiring TOTP: \"ssh\", "
	    "\"socks5\""),
	KU32(S, max_new_connections_per_ip_per_minute, 0, "Pre-auth "
	    "connections per source IP per minute; 0 = unlimited"),
	KB(S, ip_reputation_enabled, 0, "Score-based rejection of abusive "
	    "IPs"),
	KU32(S, ip_reputation_ban_threshold, 100, "Reject when the score "
	    "reaches this; 0 = never"),
	KU64R(S, ip_reputation_half_life, 3600, 1, 604800, "Reputation "
	    "half-life, seconds"),
	KV(S, trusted_user_ca_keys, "OpenSSH user CA public keys for "
	    "certificate logins"),
	KU32(S, argon2_memory_cost, 19456, "Argon2id memory cost, KiB "
	    "(8..4194304), for new hashes and the unknown-user check"),
	KU32(S, argon2_time_cost, 2, "Argon2id passes (1..64) for new "
	    "hashes and the unknown-user check"),
	KU32(S, argon2_parallelism, 1, "Argon2id lanes; only 1 (libsodium "
	    "computes one lane)"),
	KU64R(S, rate_limit_cleanup_interval, 60, 5, 86400, "Seconds "
	    "between prunes of rate-limiter entries idle for 10 minutes"),
	KU64(S, rate_limit_max_ips, 100000, "Cap on tracked source IPs"),
	KU64R(S, rate_limit_max_users, 10000, 1, 16777216, "Cap on users "
	    "whose rate windows hold history"),
};
#undef S

#define S struct cfg_logging
static const struct cfg__key logging_keys[] = {
	KE(S, level, CFG_LEVEL_INFO, levels, "Log level: trace, debug, "
	    "info, warn, error"),
	KE(S, format, CFG_LOGFMT_PRETTY, logfmts, "Log format: pretty or "
	    "json"),
	KOP(S, audit_log_path, "JSON-lines audit log file"),
	KU64(S, audit_max_size_mb, 100, "Rotate the audit log at this many "
	    "MiB; 0 = never"),
	KU32(S, audit_max_files, 5, "Rotated audit log generations kept"),
	KB(S, connection_flow_logs, 0, "One info-level line per step of "
	    "each SOCKS5 connection (accept, auth, request, resolve, checks, "
	    "connect, relay end)"),
	KB(S, log_denied_connections, 1, "Log denied and rejected "
	    "connections at warn level"),
};
#undef S

#define S struct cfg_metrics
static const struct cfg__key metrics_keys[] = {
	KB(S, enabled, 0, "Serve Prometheus metrics"),
	KS(S, listen, "127.0.0.1:9090", 0, "Metrics listener address"),
	KU32(S, max_metric_labels, 100, "Cap on distinct user label "
	    "values"),
};
#undef S

#define S struct cfg_api
static const struct cfg__key api_keys[] = {
	KB(S, enabled, 0, "Serve the management HTTP API"),
	KS(S, listen, "127.0.0.1:9091", 0, "API listener address"),
	KS(S, token, "", CFG__F_SECRET, "Bearer token, at least 16 "
	    "characters when the API is enabled"),
};
#undef S

#define S struct cfg_geoip
static const struct cfg__key geoip_keys[] = {
	KB(S, enabled, 0, "Filter destinations by country"),
	KOP(S, database_path, "MaxMind country database (required when "
	    "enabled)"),
	KV(S, allowed_countries, "ISO 3166 alpha-2 codes allowed; empty = "
	    "all"),
	KV(S, denied_countries, "ISO 3166 alpha-2 codes denied"),
	KB(S, fail_closed, 0, "Deny when the lookup fails"),
};
#undef S

#define S struct cfg_motd
static const struct cfg__key motd_keys[] = {
	KB(S, enabled, 1, "Show the message of the day in the shell"),
	KOS(S, template, 0, "MOTD text with {placeholders}; absent = "
	    "built-in"),
	KB(S, colors, 1, "ANSI colours in the MOTD"),
};
#undef S

#define S struct cfg_acl
static const struct cfg__key acl_keys[] = {
	KE(S, default_policy, CFG_POLICY_ALLOW, policies, "Decision when no "
	    "rule matches: allow or deny"),
	KV(S, allow, "Allow rules HOST[:PORTSPEC], checked after deny "
	    "rules"),
	KV(S, deny, "Deny rules HOST[:PORTSPEC], checked first"),
};
#undef S

#define S struct cfg_upstream
static const struct cfg__key upstream_keys[] = {
	KOS(S, url, CFG__F_URL, "socks5://[user:pass@]host:port for every "
	    "outbound connection"),
};
#undef S

#define S struct cfg_pool
static const struct cfg__key pool_keys[] = {
	KB(S, enabled, 0, "Reuse idle outbound connections"),
	KU32(S, max_idle_per_host, 10, "Idle connections kept per host"),
	KU64(S, idle_timeout_secs, 60, "Idle pooled connection lifetime"),
};
#undef S

#define S struct cfg_acl_o
static const struct cfg__key acl_o_keys[] = {
	KOE(S, default_policy, policies, "Policy override: allow or deny"),
	KV(S, allow, "Allow rules appended to the inherited ones"),
	KV(S, deny, "Deny rules appended to the inherited ones"),
	KB(S, inherit, 1, "false: use only these rules, and the global "
	    "default policy unless set here"),
};
#undef S

#define S struct cfg_perms_o
#define P(f, what) KOB(S, f, "Allow " what " (default true)")
static const struct cfg__key perms_keys[] = {
	P(show_connections, "`show connections`"),
	P(show_bandwidth, "`show bandwidth`"),
	P(show_acl, "`show acl` and ACL placeholders"),
	P(show_status, "`show status`"),
	P(show_history, "`show history` and {last_login}"),
	P(show_fingerprint, "`show fingerprint`"),
	P(test_command, "the `test` command"),
	P(ping_command, "the `ping` command"),
	P(resolve_command, "the `resolve` command"),
	P(bookmark_command, "the `bookmark` command"),
	P(alias_command, "the `alias` command"),
	P(show_quota, "`show quota`"),
	P(show_role, "showing the role"),
	P(show_group, "showing the group"),
	P(show_expires, "showing the expiry"),
	P(show_source_ip, "showing the source IP"),
	P(show_auth_method, "showing the auth method"),
	P(show_uptime, "showing the uptime"),
};
#undef P
#undef S

#define S struct cfg_motd_o
static const struct cfg__key motd_o_keys[] = {
	KOB(S, enabled, "Show the MOTD"),
	KOS(S, template, 0, "MOTD template"),
	KOB(S, colors, "ANSI colours in the MOTD"),
};
#undef S

#define S struct cfg_quotas_o
static const struct cfg__key quotas_keys[] = {
	KOU64(S, daily_bandwidth_bytes, "Bytes per UTC day; 0 = unlimited"),
	KOU32(S, daily_connection_limit, "Connections per UTC day"),
	KOU64(S, monthly_bandwidth_bytes, "Bytes per calendar month"),
	KOU32(S, monthly_connection_limit, "Connections per calendar month"),
	KOU64(S, bandwidth_per_hour_bytes, "Bytes per rolling hour"),
	KOU64(S, total_bandwidth_bytes, "Lifetime bytes"),
};
#undef S

#define S struct cfg_time_access_o
static const struct cfg__key time_keys[] = {
	KOS(S, access_hours, 0, "HH:MM-HH:MM window (may cross midnight); "
	    "absent = all day"),
	KV(S, access_days, "Allowed days mon..sun; empty = every day"),
	KOS(S, timezone, 0, "Time zone of the window (default UTC)"),
};
#undef S

#define S struct cfg_rate_o
static const struct cfg__key rate_keys[] = {
	KOU32(S, connections_per_second, "New connections per second; "
	    "0 = unlimited"),
	KOU32(S, connections_per_minute, "New connections per minute"),
	KOU32(S, connections_per_hour, "New connections per hour"),
};
#undef S

static const struct cfg__sect acl_sect = SECT("acl", acl_keys,
    struct cfg_acl);
static const struct cfg__sect acl_o_sect = SECT("acl", acl_o_keys,
    struct cfg_acl_o);
static const struct cfg__sect perms_sect = SECT("shell_permissions",
    perms_keys, struct cfg_perms_o);
static const struct cfg__sect motd_o_sect = SECT("motd", motd_o_keys,
    struct cfg_motd_o);
static const struct cfg__sect quotas_sect = SECT("quotas", quotas_keys,
    struct cfg_quotas_o);
static const struct cfg__sect time_sect = SECT("time_access", time_keys,
    struct cfg_time_access_o);
static const struct cfg__sect rate_sect = SECT("rate_limits", rate_keys,
    struct cfg_rate_o);

#define S struct cfg_user
static const struct cfg__key user_keys[] = {
	KOS(S, username, 0, "Login name (required, unique)"),
	KOS(S, password_hash, CFG__F_SECRET, "Argon2 PHC string "
	    "($argon2id$v=19$m=..,t=..,p=..$salt$hash)"),
	KV(S, authorized_keys, "OpenSSH public keys (authorized_keys "
	    "lines)"),
	KOB(S, allow_shell, "Interactive shell allowed (inherit; default "
	    "true)"),
	KOB(S, allow_forwarding, "Port forwarding allowed (default true)"),
	KOS(S, group, 0, "Name of a [[groups]] entry to inherit from"),
	KOE(S, role, roles, "user or admin (inherit; default user)"),
	KOU32(S, max_new_connections_per_minute, "New connections per "
	    "minute; 0 = unlimited (inherit)"),
	KOU64(S, max_bandwidth_kbps, "Per-connection cap, kilobits/s "
	    "(k = 1000); 0 = unlimited (inherit)"),
	KOU64(S, max_aggregate_bandwidth_kbps, "Cap across the user's "
	    "connections, kilobits/s (inherit)"),
	KOU32(S, max_connections, "Concurrent connections; 0 = unlimited "
	    "(inherit)"),
	KV(S, source_ips, "Client networks allowed for this user (CIDR or "
	    "plain IP); empty = any"),
	KOS(S, expires_at, 0, "RFC 3339 instant after which logins fail"),
	KOS(S, upstream_proxy, CFG__F_URL, "socks5:// URL overriding the "
	    "global upstream proxy"),
	KB(S, totp_enabled, 0, "Require a TOTP code (needs totp_secret)"),
	KOS(S, totp_secret, CFG__F_SECRET, "Base32 TOTP secret (>= 10 "
	    "bytes decoded)"),
	KV(S, auth_methods, "Authentication method chain (inherit)"),
	KOU64(S, idle_warning_secs, "Idle warning, seconds (inherit)"),
	KOB(S, colors, "Shell colours (inherit)"),
	KOU32(S, connect_retry, "Outbound connect retries (inherit)"),
	KOU64(S, connect_retry_delay_ms, "Initial retry delay (inherit)"),
	KM(S, aliases, "Shell aliases: name = \"command\""),
	KT(S, acl, acl_o_sect, "The user's ACL"),
	KT(S, shell_permissions, perms_sect, "Shell command permissions"),
	KT(S, motd, motd_o_sect, "MOTD override"),
	KT(S, quotas, quotas_sect, "Bandwidth and connection quotas"),
	KT(S, time_access, time_sect, "When the user may connect"),
	KT(S, rate_limits, rate_sect, "New-connection rate limits"),
};
#undef S

#define S struct cfg_group
static const struct cfg__key group_keys[] = {
	KOS(S, name, 0, "Group name (required, unique)"),
	KT(S, acl, acl_o_sect, "ACL inherited by members"),
	KOU32(S, max_connections_per_user, "Members' concurrent "
	    "connections; 0 = unlimited"),
	KOU64(S, max_bandwidth_kbps, "Members' per-connection cap, kbps"),
	KOU64(S, max_aggregate_bandwidth_kbps, "Members' aggregate cap, "
	    "kbps"),
	KOU32(S, max_new_connections_per_minute, "Members' new connections "
	    "per minute"),
	KOB(S, allow_shell, "Members' shell access"),
	KT(S, shell_permissions, perms_sect, "Members' shell permissions"),
	KT(S, motd, motd_o_sect, "Members' MOTD"),
	KT(S, quotas, quotas_sect, "Members' quotas"),
	KT(S, time_access, time_sect, "Members' access window"),
	KV(S, auth_methods, "Members' authentication method chain"),
	KOU64(S, idle_warning_secs, "Members' idle warning"),
	KOE(S, role, roles, "Members' role"),
	KOB(S, colors, "Members' shell colours"),
	KOU32(S, connect_retry, "Members' connect retries"),
	KOU64(S, connect_retry_delay_ms, "Members' retry delay"),
	KT(S, rate_limits, rate_sect, "Members' rate limits"),
};
#undef S

#define S struct cfg_webhook
static const struct cfg__key webhook_keys[] = {
	KOS(S, url, CFG__F_URL | CFG__F_URLPATH, "http(s) URL receiving "
	    "POSTed events (path and query redacted by show-config) "
	    "(required)"),
	KV(S, events, "Event names to send (dotted or underscore form); "
	    "empty = all"),
	KOS(S, secret, CFG__F_SECRET, "HMAC-SHA256 signing key"),
	KE(S, format, CFG_WH_GENERIC, whfmts, "generic, slack, discord or "
	    "custom"),
	KOS(S, template, 0, "Body template (format = custom)"),
	KB(S, allow_private_ips, 0, "Allow private and loopback targets"),
	KU32(S, max_retries, 3, "Retries after the first attempt"),
	KU64(S, retry_delay_ms, 1000, "Initial backoff"),
	KU64(S, max_retry_delay_ms, 30000, "Backoff cap"),
};
#undef S

#define S struct cfg_alert_rule
static const struct cfg__key rule_keys[] = {
	KOS(S, name, 0, "Rule name (required)"),
	KOE(S, condition, conds, "What is measured (required)"),
	KOU64(S, threshold, "Fires when the value exceeds this (required)"),
	KU64(S, window_secs, 3600, "Measurement window, seconds"),
	KV(S, users, "Users watched; empty = all"),
	KOS(S, webhook_url, CFG__F_URL | CFG__F_URLPATH,
	    "Extra http(s) URL notified"),
};
#undef S
static const struct cfg__sect rule_sect = SECT("rules", rule_keys,
    struct cfg_alert_rule);

#define S struct cfg_alerting
static const struct cfg__key alerting_keys[] = {
	KB(S, enabled, 0, "Evaluate alert rules"),
	KA(S, rules, nrules, rule_sect, "Alert rules"),
};
#undef S

#define S struct cfg_maint
static const struct cfg__key maint_keys[] = {
	KOS(S, schedule, 0, "\"daily HH:MM-HH:MM\" or \"<day> HH:MM-HH:MM\" "
	    "(required)"),
	KS(S, message, "Server is under scheduled maintenance. Please try "
	    "again later.", 0, "Message shown to refused clients"),
	KB(S, disconnect_existing, 0, "Close existing sessions when the "
	    "window starts"),
};
#undef S

#define S struct cfg_persist_state
static const struct cfg__key pstate_keys[] = {
	KB(S, enabled, 1, "Save and restore bans, quota counters and "
	    "reputation"),
	KU64R(S, flush_interval_secs, 30, 5, 3600, "state.json flush "
	    "period"),
	KU32R(S, ip_reputation_min_score, 10, 0, 1000, "Scores below are "
	    "not saved"),
	KU64R(S, ip_reputation_flush_interval_secs, 300, 30, 3600,
	    "reputation.json flush period"),
	KU32R(S, inactive_user_retention_days, 30, 0, 3650, "Days the "
	    "quota counters of a user no longer configured are kept; 0 = "
	    "forever"),
};
#undef S

#define S struct cfg_persist_userdata
static const struct cfg__key puser_keys[] = {
	KB(S, enabled, 1, "Keep per-user shell history and bookmarks"),
	KU32R(S, shell_history_max, 100, 0, 10000, "History entries kept "
	    "per user; 0 = none saved"),
	KU64R(S, shell_history_flush_secs, 60, 5, 600, "History flush "
	    "period"),
	KU32R(S, bookmarks_max, 50, 0, 1000, "Bookmarks (and aliases) per "
	    "user; 0 = 50"),
	KU32R(S, inactive_retention_days, 90, 0, 3650, "Days without a "
	    "session before a user's history, bookmarks and aliases are "
	    "deleted; 0 = never"),
};
#undef S

#define S struct cfg_persist_history
static const struct cfg__key phist_keys[] = {
	KB(S, enabled, 1, "Keep a copy of the configuration file each time "
	    "a changed one is applied"),
	KU32R(S, max_entries, 50, 1, 500, "Copies kept (oldest removed)"),
};
#undef S

static const struct cfg__sect pstate_sect = SECT("state", pstate_keys,
    struct cfg_persist_state);
static const struct cfg__sect puser_sect = SECT("userdata", puser_keys,
    struct cfg_persist_userdata);
static const struct cfg__sect phist_sect = SECT("config_history",
    phist_keys, struct cfg_persist_history);

#define S struct cfg_persistence
static const struct cfg__key persist_keys[] = {
	KOP(S, data_dir, "State directory; default <config dir>/data"),
	KT(S, state, pstate_sect, "Server state persistence"),
	KT(S, userdata, puser_sect, "Per-user data"),
	KT(S, config_history, phist_sect, "Configuration history"),
};
#undef S

static const struct cfg__sect server_sect = SECT("server", server_keys,
    struct cfg_server);
static const struct cfg__sect shell_sect = SECT("shell", shell_keys,
    struct cfg_shell);
static const struct cfg__sect limits_sect = SECT("limits", limits_keys,
    struct cfg_limits);
static const struct cfg__sect security_sect = SECT("security",
    security_keys, struct cfg_security);
static const struct cfg__sect logging_sect = SECT("logging", logging_keys,
    struct cfg_logging);
static const struct cfg__sect metrics_sect = SECT("metrics", metrics_keys,
    struct cfg_metrics);
static const struct cfg__sect api_sect = SECT("api", api_keys,
    struct cfg_api);
static const struct cfg__sect geoip_sect = SECT("geoip", geoip_keys,
    struct cfg_geoip);
static const struct cfg__sect motd_sect = SECT("motd", motd_keys,
    struct cfg_motd);
static const struct cfg__sect upstream_sect = SECT("upstream_proxy",
    upstream_keys, struct cfg_upstream);
static const struct cfg__sect pool_sect = SECT("connection_pool",
    pool_keys, struct cfg_pool);
static const struct cfg__sect user_sect = SECT("users", user_keys,
    struct cfg_user);
static const struct cfg__sect group_sect = SECT("groups", group_keys,
    struct cfg_group);
static const struct cfg__sect webhook_sect = SECT("webhooks", webhook_keys,
    struct cfg_webhook);
static const struct cfg__sect alerting_sect = SECT("alerting",
    alerting_keys, struct cfg_alerting);
static const struct cfg__sect maint_sect = SECT("maintenance_windows",
    maint_keys, struct cfg_maint);
static const struct cfg__sect persist_sect = SECT("persistence",
    persist_keys, struct cfg_persistence);

#define S struct cfg
static const struct cfg__key root_keys[] = {
	KT(S, server, server_sect, "Listeners, host key, SSH and DNS "
	    "settings"),
	KT(S, shell, shell_sect, "Emulated shell"),
	KT(S, limits, limits_sect, "Connection limits and timeouts"),
	KT(S, security, security_sect, "Bans, source filters, TOTP, rate "
	    "limiter sizing"),
	KT(S, logging, logging_sect, "Logging and audit log"),
	KT(S, metrics, metrics_sect, "Prometheus metrics listener"),
	KT(S, api, api_sect, "Management HTTP API"),
	KT(S, geoip, geoip_sect, "Country filtering"),
	KT(S, upstream_proxy, upstream_sect, "Upstream SOCKS5 proxy"),
	KA(S, webhooks, nwebhooks, webhook_sect, "Event webhooks"),
	KT(S, acl, acl_sect, "Global destination ACL"),
	KA(S, users, nusers, user_sect, "Users"),
	KA(S, groups, ngroups, group_sect, "Groups users inherit from"),
	KT(S, motd, motd_sect, "Global message of the day"),
	KT(S, alerting, alerting_sect, "Alert rules"),
	KA(S, maintenance_windows, nmaintenance_windows, maint_sect,
	    "Scheduled maintenance windows"),
	KT(S, connection_pool, pool_sect, "Outbound connection pool"),
	KT(S, persistence, persist_sect, "Data directory and state files"),
};
#undef S

const struct cfg__sect cfg__root = SECT("", root_keys, struct cfg);

/* Finds the descriptor of key name[0..len) in a section; NULL if none. */
const struct cfg__key *
cfg__key_find(const struct cfg__sect *s, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		if (strlen(s->keys[i].name) == len &&
		    memcmp(s->keys[i].name, name, len) == 0) {
			return &s->keys[i];
		}
	}
	return NULL;
}

/* Levenshtein distance between two short strings (capped at 64 bytes). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65], prev, tmp, cost;

	if (la > 64 || lb > 64) {
		return SIZE_MAX;
	}
	for (j = 0; j <= lb; j++) {
		row[j] = j;
	}
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			row[j] = prev + cost;
			if (row[j - 1] + 1 < row[j]) {
				row[j] = row[j - 1] + 1;
			}
			if (tmp + 1 < row[j]) {
				row[j] = tmp + 1;
			}
			prev = tmp;
		}
	}
	return row[lb];
}

/* Returns the section key closest to name if it is close enough. */
const char *
cfg__suggest(const struct cfg__sect *s, const char *name)
{
	const char *best = NULL;
	size_t i, d, bestd = SIZE_MAX, limit;

	limit = strlen(name) / 3;
	if (limit < 2) {
		limit = 2;
	}
	for (i = 0; i < s->nkeys; i++) {
		d = edit_distance(name, s->keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = s->keys[i].name;
		}
	}
	return bestd <= limit ? best : NULL;
}

/* Joins a relative path to base; returns a heap string. */
static char *
resolve_path(const char *base, const char *p)
{
	if (base == NULL || p[0] == '/' || p[0] == '\0') {
		return xstrdup(p);
	}
	return xasprintf("%s/%s", base, p);
}

/* Stores each key's default into the struct at base. */
void
cfg__defaults(struct cfg__ld *ld, const struct cfg__sect *s, void *base)
{
	const struct cfg__key *k = NULL;
	char *p = NULL;
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		p = (char *)base + k->off;
		switch (k->type) {
		case CK_BOOL:
		case CK_ENUM:
			*(int *)(void *)p = (int)k->idef;
			break;
		case CK_U32:
			*(uint32_t *)(void *)p = (uint32_t)k->idef;
			break;
		case CK_U64:
			*(uint64_t *)(void *)p = (uint64_t)k->idef;
			break;
		case CK_I64:
			*(int64_t *)(void *)p = k->idef;
			break;
		case CK_STR:
			*(char **)(void *)p = xstrdup(k->sdef);
			break;
		case CK_PATH:
			*(char **)(void *)p = resolve_path(ld->base_dir,
			    k->sdef);
			break;
		case CK_TABLE:
			cfg__defaults(ld, k->sub, p);
			break;
		default:
			break;	/* zero: unset / empty */
		}
	}
}

/* Frees a string array; secret entries are wiped. */
void
cfg__strv_free(struct cfg_strv *v, int secret)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (secret) {
			util_free_secret(v->v[i]);
		} else {
			free(v->v[i]);
		}
	}
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

/* Releases everything the struct at base owns (not base itself). */
void
cfg__free_sect(const struct cfg__sect *s, void *base)
{
	const struct cfg__key *k = NULL;
	struct cfg_map *m = NULL;
	char *p = NULL, *arr = NULL;
	size_t i, j, n;

	for (i = 0; i < s->nkeys; i++) {
		k = &s->keys[i];
		p = (char *)base + k->off;
		switch (k->type) {
		case CK_STR:
		case CK_OSTR:
		case CK_PATH:
		case CK_OPATH:
			if (k->flags & (CFG__F_SECRET | CFG__F_URL)) {
				util_free_secret(*(char **)(void *)p);
			} else {
				free(*(char **)(void *)p);
			}
			*(char **)(void *)p = NULL;
			break;
		case CK_STRV:
			cfg__strv_free((struct cfg_strv *)(void *)p, 0);
			break;
		case CK_MAP:
			m = (struct cfg_map *)(void *)p;
			for (j = 0; j < m->n; j++) {
				free(m->keys[j]);
				free(m->vals[j]);
			}
			free(m->keys);
			free(m->vals);
			memset(m, 0, sizeof(*m));
			break;
		case CK_TABLE:
			cfg__free_sect(k->sub, p);
			break;
		case CK_ARRAY:
			arr = *(char **)(void *)p;
			n = *(size_t *)(void *)((char *)base + k->off_n);
			for (j = 0; j < n; j++) {
				cfg__free_sect(k->sub, arr + j * k->sub->size);
			}
			free(arr);
			*(char **)(void *)p = NULL;
			*(size_t *)(void *)((char *)base + k->off_n) = 0;
			break;
		default:
			break;
		}
	}
}

/* Appends a defaulted element to the array described by k; returns it. */
void *
cfg__array_append(struct cfg__ld *ld, const struct cfg__key *k, void *base)
{
	char **arr = (char **)(void *)((char *)base + k->off);
	size_t *n = (size_t *)(void *)((char *)base + k->off_n);
	char *el = NULL;

	*arr = xreallocarray(*arr, *n + 1, k->sub->size);
	el = *arr + *n * k->sub->size;
	memset(el, 0, k->sub->size);
	cfg__defaults(ld, k->sub, el);
	(*n)++;
	return el;
}

/* Human name of the TOML shape a key expects, with an article. */
const char *
cfg__type_name(const struct cfg__key *k)
{
	switch (k->type) {
	case CK_BOOL:
	case CK_OBOOL:
		return "a boolean";
	case CK_U32:
	case CK_U64:
	case CK_I64:
	case CK_OU32:
	case CK_OU64:
		return "an integer";
	case CK_STRV:
		return "an array of strings";
	case CK_MAP:
		return "a table of strings";
	case CK_TABLE:
		return "a table";
	case CK_ARRAY:
		return "an array of tables";
	default:
		return "a string";
	}
}

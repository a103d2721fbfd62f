/* Unit tests: loader, types, defaults, validation and inheritance. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include "test_config_util.h"

/* A clean minimal config loads without pending keys, with defaults. */
static void
test_defaults(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("", "");

	(void)state;
	c = load(t, 0, &d);
	if (c == NULL) {
		show(&d);
	}
	assert_non_null(c);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 0);
	assert_int_equal(c->limits.max_connections, 1000);
	assert_int_equal(c->limits.connection_timeout, 10);
	assert_int_equal(c->limits.socks5_handshake_timeout, 30);
	assert_int_equal(c->server.dns_cache_ttl, -1);
	assert_string_equal(c->server.server_id, "SSH-2.0-sks5");
	assert_string_equal(c->server.host_key_path, "/base/host_key");
	assert_null(c->server.ssh_listen);
	assert_null(cfg_socks5_listen(c));
	assert_string_equal(cfg_log_level(c), "info");
	assert_string_equal(cfg_log_format(c), "pretty");
	assert_string_equal(cfg_source(c), "t.toml");
	assert_string_equal(c->api.listen, "127.0.0.1:9091");
	assert_string_equal(c->api.token, "");
	assert_int_equal(c->security.ban_threshold, 5);
	assert_int_equal(c->security.argon2_memory_cost, 19456);
	assert_int_equal(c->persistence.state.flush_interval_secs, 30);
	assert_int_equal(c->persistence.config_history.max_entries, 50);
	assert_int_equal(c->acl.default_policy, CFG_POLICY_ALLOW);
	assert_true(c->shell.colors);
	assert_int_equal(cfg_user_count(c), 1);
	assert_string_equal(c->users[0].username, "alice");
	assert_false(c->users[0].max_connections.set);
	assert_true(c->users[0].acl.inherit);
	assert_string_equal(c->maintenance_windows == NULL ? "none" : "x",
	    "none");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
}

/* Logging keys are implemented: accepted without allow_pending. */
static void
test_implemented_keys(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[logging]\nlevel = \"debug\"\nformat = \"json\"\n", "");

	(void)state;
	c = load(t, 0, &d);
	assert_non_null(c);
	assert_string_equal(cfg_log_level(c), "debug");
	assert_string_equal(cfg_log_format(c), "json");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
}

static void
test_type_errors(void **state)
{
	(void)state;
	assert_true(fails_with("[server]\nshutdown_timeout = \"x\"\n", "",
	    "t.toml:2:20: server.shutdown_timeout: expected an integer, "
	    "found a string"));
	assert_true(fails_with("[server]\nbanner = 5\n", "",
	    "server.banner: expected a string, found an integer"));
	assert_true(fails_with("[shell]\ncolors = \"yes\"\n", "",
	    "shell.colors: expected a boolean"));
	assert_true(fails_with("[server]\nallowed_kex = [\"a\", 1]\n", "",
	    "server.allowed_kex: expected an array of strings"));
	assert_true(fails_with("[server]\nallowed_kex = \"a\"\n", "",
	    "expected an array of strings, found a string"));
	assert_true(fails_with("server = 1\n", "",
	    "server: expected a table, found an integer"));
	assert_true(fails_with("", "aliases = 3\n",
	    "users.0.aliases: expected a table of strings"));
	assert_true(fails_with("", "[users.aliases]\nll = 1\n",
	    "users.0.aliases.ll: expected a string"));
	assert_true(fails_with("[logging]\nlevel = \"INFO\"\n", "",
	    "logging.level: invalid value \"INFO\" (expected one of: trace, "
	    "debug, info, warn, error)"));
	assert_true(fails_with("", "role = \"root\"\n",
	    "users.0.role: invalid value \"root\""));
	assert_true(fails_with("[server]\nbanner = \"a\\u0000b\"\n", "",
	    "NUL byte"));
}

static void
test_unknown_keys(void **state)
{
	(void)state;
	assert_true(fails_with("[server]\nsssh_listen = \"x\"\n", "",
	    "t.toml:2:15: unknown key 'server.sssh_listen'; did you mean "
	    "'ssh_listen'?"));
	assert_true(fails_with("[serverr]\n", "", "unknown key 'serverr'; "
	    "did you mean 'server'?"));
	assert_true(fails_with("", "pasword_hash = \"x\"\n",
	    "unknown key 'users.0.pasword_hash'; did you mean "
	    "'password_hash'?"));
	assert_true(fails_with("[limits]\nzzzzzzzzzzzz = 1\n", "",
	    "unknown key 'limits.zzzzzzzzzzzz'"));
	assert_true(fails_with("", "[users.acl]\nalow = []\n",
	    "did you mean 'allow'?"));
}

static void
test_ranges(void **state)
{
	(void)state;
	assert_true(fails_with("[server]\nssh_auth_timeout = 9\n", "",
	    "server.ssh_auth_timeout: value 9 is out of range (10..600)"));
	assert_true(loads("[server]\nssh_auth_timeout = 10\n", ""));
	assert_true(fails_with("[server]\nssh_auth_timeout = 601\n", "",
	    "out of range"));
	assert_true(fails_with("[limits]\nmax_connections = 0\n", "",
	    "limits.max_connections: value 0 is out of range"));
	assert_true(loads("[limits]\nmax_connections = 1\n", ""));
	assert_true(fails_with("[limits]\nconnection_timeout = 0\n", "",
	    "limits.connection_timeout"));
	assert_true(fails_with("[limits]\nsocks5_handshake_timeout = 4\n", "",
	    "(5..120)"));
	assert_true(loads("[limits]\nsocks5_handshake_timeout = 120\n", ""));
	assert_true(fails_with("[limits]\nudp_relay_timeout = 3601\n", "",
	    "(30..3600)"));
	assert_true(fails_with("[limits]\nmax_auth_attempts = 4294967296\n",
	    "", "(0..4294967295)"));
	assert_true(fails_with("[limits]\nidle_timeout = -1\n", "",
	    "limits.idle_timeout: value -1 is out of range"));
	assert_true(fails_with("[persistence.state]\nflush_interval_secs = "
	    "4\n", "", "(5..3600)"));
	assert_true(fails_with("[persistence.userdata]\nshell_history_max = "
	    "10001\n", "", "(0..10000)"));
	assert_true(fails_with("[persistence.config_history]\nmax_entries = "
	    "0\n", "", "(1..500)"));
	assert_true(fails_with("[persistence.state]\n"
	    "ip_reputation_flush_interval_secs = 29\n", "", "(30..3600)"));
}

static void
test_syntax_error(void **state)
{
	(void)state;
	assert_true(fails_with("[server\n", "", "t.toml:1:"));
}

static void
test_collects_all_errors(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[server]\nbanner = 1\nserver_id = \"x\"\n"
	    "[limits]\nmax_connections = 0\n", "group = \"nope\"\n");

	(void)state;
	c = load(t, 1, &d);
	assert_null(c);
	assert_true(d.nerrors >= 4);
	assert_true(has_error(&d, "server.banner"));
	assert_true(has_error(&d, "server.server_id"));
	assert_true(has_error(&d, "limits.max_connections"));
	assert_true(has_error(&d, "unknown group \"nope\""));
	cfg_diag_cleanup(&d);
	free(t);
}

static void
test_validate_server(void **state)
{
	(void)state;
	assert_true(loads("[server]\nssh_listen = \"127.0.0.1:2222\"\n"
	    "socks5_listen = \"[::1]:1080\"\n", ""));
	assert_true(fails_with("[server]\nssh_listen = \"nope\"\n", "",
	    "server.ssh_listen: invalid listen address \"nope\""));
	assert_true(fails_with("[server]\nssh_listen = \"127.0.0.1:2222\"\n"
	    "socks5_listen = \"127.0.0.1:2222\"\n", "",
	    "server.socks5_listen: same address as server.ssh_listen"));
	assert_true(fails_with("[server]\nserver_id = \"OpenSSH\"\n", "",
	    "must start with \"SSH-2.0-\""));
	assert_true(fails_with("[server]\nserver_id = \"SSH-2.0-a b\"\n", "",
	    "spaces or control characters"));
	assert_true(loads("[server]\nserver_id = \"SSH-2.0-x_1.0\"\n", ""));
	assert_true(fails_with("[server]\nsocks5_tls_cert = \"/etc/hostname\""
	    "\n", "", "must be set together"));
	assert_true(fails_with("[server]\nsocks5_tls_cert = \"/nonexistent/a"
	    "\"\nsocks5_tls_key = \"/nonexistent/b\"\n", "",
	    "/nonexistent/a is not a readable file"));
	assert_true(loads("[server]\nsocks5_tls_cert = \"/etc/hostname\"\n"
	    "socks5_tls_key = \"/etc/hostname\"\n", ""));
}

static void
test_validate_long_server_id(void **state)
{
	char *pre = NULL, big[300];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pre = xasprintf("[server]\nserver_id = \"SSH-2.0-%s\"\n", big);
	assert_true(fails_with(pre, "", "longer than 253"));
	free(pre);
}

static void
test_validate_security(void **state)
{
	(void)state;
	assert_true(fails_with("[security]\nban_threshold = 0\n", "",
	    "security.ban_threshold: must be at least 1"));
	assert_true(loads("[security]\nban_threshold = 0\nban_enabled = "
	    "false\n", ""));
	assert_true(loads("[security]\nallowed_source_ips = [\"10.0.0.0/8\", "
	    "\"192.0.2.7\", \"2001:db8::/32\"]\n", ""));
	assert_true(fails_with("[security]\nallowed_source_ips = "
	    "[\"10.0.0.0/33\"]\n", "", "invalid network \"10.0.0.0/33\""));
	assert_true(fails_with("[security]\nban_whitelist = [\"bogus\"]\n",
	    "", "security.ban_whitelist: invalid network \"bogus\""));
	assert_true(loads("[security]\ntotp_required_for = [\"ssh\", "
	    "\"socks5\"]\n", ""));
	assert_true(fails_with("[security]\ntotp_required_for = [\"http\"]\n",
	    "", "unknown protocol \"http\""));
	assert_true(loads("[security]\nargon2_memory_cost = 8\n"
	    "argon2_time_cost = 1\nargon2_parallelism = 1\n", ""));
	assert_true(loads("[security]\nargon2_memory_cost = 4194304\n"
	    "argon2_time_cost = 64\n", ""));
	assert_true(fails_with("[security]\nargon2_memory_cost = 7\n", "",
	    "security.argon2_memory_cost: 7 KiB is out of range "
	    "(8..4194304 KiB)"));
	assert_true(fails_with("[security]\nargon2_memory_cost = 4194305\n",
	    "", "security.argon2_memory_cost: 4194305 KiB is out of range"));
	assert_true(fails_with("[security]\nargon2_time_cost = 0\n", "",
	    "security.argon2_time_cost: 0 is out of range (1..64)"));
	assert_true(fails_with("[security]\nargon2_time_cost = 65\n", "",
	    "security.argon2_time_cost: 65 is out of range"));
	assert_true(fails_with("[security]\nargon2_parallelism = 4\n", "",
	    "security.argon2_parallelism: must be 1"));
	assert_true(fails_with("[security]\nargon2_parallelism = 0\n", "",
	    "security.argon2_parallelism: must be 1"));
	assert_true(fails_with("[security]\ntrusted_user_ca_keys = "
	    "[\"garbage\"]\n", "", "security.trusted_user_ca_keys: entry 1"));
	assert_true(fails_with("[api]\nenabled = true\ntoken = \"short\"\n",
	    "", "api.token: must be at least 16 characters"));
	assert_true(loads("[api]\nenabled = true\ntoken = "
	    "\"0123456789abcdef\"\n", ""));
	assert_true(fails_with("[api]\nlisten = \"x\"\n", "", "api.listen"));
	assert_true(fails_with("[metrics]\nlisten = \"1.2.3.4\"\n", "",
	    "metrics.listen"));
	assert_true(fails_with("[geoip]\nenabled = true\n", "",
	    "geoip.database_path: required"));
	assert_true(fails_with("[geoip]\nallowed_countries = [\"fra\"]\n", "",
	    "not an ISO 3166"));
	assert_true(fails_with("[upstream_proxy]\nurl = \"http://x:1\"\n", "",
	    "upstream_proxy.url"));
	assert_true(loads("[upstream_proxy]\nurl = \"socks5://u:p@h.example:"
	    "1080\"\n", ""));
}

static void
test_validate_acl(void **state)
{
	(void)state;
	assert_true(loads("[acl]\ndeny = [\"10.0.0.0/8\", \"[::1]:22\", "
	    "\"*.example.com:80-90\"]\n", "[users.acl]\nallow = [\"*:443\"]\n"));
	assert_true(fails_with("[acl]\nallow = [\"::1:443\"]\n", "",
	    "acl.allow: invalid rule \"::1:443\""));
	assert_true(fails_with("[acl]\ndeny = [\"h:90-80\"]\n", "",
	    "acl.deny: invalid rule"));
	assert_true(fails_with("", "[users.acl]\ndeny = [\"h:99999\"]\n",
	    "users.0.acl.deny: invalid rule"));
	assert_true(fails_with("[[groups]]\nname = \"g\"\n[groups.acl]\n"
	    "allow = [\"a b\"]\n", "", "groups.0.acl.allow: invalid rule"));
}

static void
test_validate_users(void **state)
{
	(void)state;
	assert_true(fails_with("[[users]]\nusername = \"alice\"\n"
	    "password_hash = \"" HASH "\"\n", "", "duplicate username "
	    "\"alice\""));
	assert_true(fails_with("[[users]]\nusername = \"bob\"\n", "",
	    "user \"bob\" needs password_hash, authorized_keys or"));
	assert_true(loads("[[users]]\nusername = \"bob\"\nauthorized_keys = "
	    "[\"" KEY "\"]\n", ""));
	assert_true(fails_with("[[users]]\nusername = \"bob\"\n"
	    "authorized_keys = [\"ssh-ed25519 !!!\"]\n", "",
	    "users.0.authorized_keys: entry 1"));
	assert_true(fails_with("[[users]]\npassword_hash = \"" HASH "\"\n",
	    "", "users.0.username: required"));
	assert_true(fails_with("[[users]]\nusername = \"b\\u0001\"\n"
	    "password_hash = \"" HASH "\"\n", "", "control characters"));
	assert_true(fails_with("[[users]]\nusername = \"bob\"\n"
	    "password_hash = \"plaintext\"\n", "", "users.0.password_hash:"));
	assert_true(fails_with("", "expires_at = \"tomorrow\"\n",
	    "users.0.expires_at: 'tomorrow'"));
	assert_true(loads("", "expires_at = \"2030-01-01T00:00:00+02:00\"\n"));
	assert_true(fails_with("", "upstream_proxy = \"socks5://\"\n",
	    "users.0.upstream_proxy"));
	assert_true(loads("", "totp_enabled = true\ntotp_secret = "
	    "\"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\n"));
	assert_true(fails_with("", "totp_secret = \"JBSWY3DP\"\n",
	    "too short: 5 bytes decoded"));
	assert_true(fails_with("", "totp_secret = \"not base32!\"\n",
	    "users.0.totp_secret: not valid base32"));
	assert_true(fails_with("", "totp_enabled = true\n",
	    "users.0.totp_enabled: requires totp_secret"));
	assert_true(loads("", "source_ips = [\"192.0.2.1\", \"10.0.0.0/8\"]\n"));
	assert_true(fails_with("", "source_ips = [\"192.0.2.1/40\"]\n",
	    "users.0.source_ips: invalid network"));
	assert_true(fails_with("", "auth_methods = [\"magic\"]\n",
	    "unknown method \"magic\""));
	assert_true(loads("", "auth_methods = [\"publickey\", \"password\"]\n"));
	assert_true(fails_with("", "[users.aliases]\n\"a b\" = \"ls\"\n",
	    "invalid alias name"));
}

static void
test_validate_no_users(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;

	(void)state;
	c = load("[logging]\nlevel = \"info\"\n", 0, &d);
	assert_null(c);
	assert_true(has_error(&d, "no users defined"));
	cfg_diag_cleanup(&d);
}

static void
test_validate_groups(void **state)
{
	(void)state;
	assert_true(loads("[[groups]]\nname = \"g\"\n", "group = \"g\"\n"));
	assert_true(fails_with("", "group = \"g\"\n", "users.0.group: unknown "
	    "group \"g\""));
	assert_true(fails_with("[[groups]]\nname = \"g\"\n[[groups]]\n"
	    "name = \"g\"\n", "", "duplicate group \"g\""));
	assert_true(fails_with("[[groups]]\nmax_bandwidth_kbps = 1\n", "",
	    "groups.0: name is required"));
	assert_true(loads("[[groups]]\nname = \"g\"\n[groups.time_access]\n"
	    "access_hours = \"22:00-06:00\"\naccess_days = [\"Mon\", "
	    "\"sunday\"]\n", ""));
	assert_true(fails_with("[[groups]]\nname = \"g\"\n[groups.time_access]"
	    "\naccess_hours = \"25:00-06:00\"\n", "",
	    "groups.0.time_access.access_hours"));
	assert_true(fails_with("", "[users.time_access]\naccess_days = "
	    "[\"funday\"]\n", "users.0.time_access.access_days"));
	assert_true(fails_with("", "[users.time_access]\ntimezone = "
	    "\"../etc\"\n", "not a time zone name"));
	assert_true(loads("", "[users.time_access]\ntimezone = "
	    "\"America/New_York\"\n"));
	/* Limiter pruning: at least every 5 s is allowed, a cap of 0 not. */
	assert_true(loads("[security]\nrate_limit_cleanup_interval = 5\n"
	    "rate_limit_max_users = 1\n", ""));
	assert_true(fails_with("[security]\nrate_limit_cleanup_interval = 4\n",
	    "", "security.rate_limit_cleanup_interval"));
	assert_true(fails_with("[security]\nrate_limit_max_users = 0\n", "",
	    "security.rate_limit_max_users"));
}

static void
test_validate_webhooks(void **state)
{
	(void)state;
	assert_true(loads("[[webhooks]]\nurl = \"https://hooks.example.com/x"
	    "\"\nevents = [\"auth_failure\", \"ban.created\"]\n", ""));
	assert_true(fails_with("[[webhooks]]\nevents = []\n", "",
	    "webhooks.0.url: required"));
	assert_true(fails_with("[[webhooks]]\nurl = \"ftp://x.example\"\n", "",
	    "webhooks.0.url"));
	assert_true(fails_with("[[webhooks]]\nurl = \"http://127.0.0.1:8080/"
	    "\"\n", "", "127.0.0.1 is a private"));
	assert_true(fails_with("[[webhooks]]\nurl = \"http://10.1.2.3/\"\n",
	    "", "private"));
	assert_true(fails_with("[[webhooks]]\nurl = \"http://localhost/\"\n",
	    "", "private"));
	assert_true(fails_with("[[webhooks]]\nurl = \"http://[::1]/\"\n", "",
	    "private"));
	assert_true(loads("[[webhooks]]\nurl = \"http://127.0.0.1:8080/\"\n"
	    "allow_private_ips = true\n", ""));
	assert_true(fails_with("[[webhooks]]\nurl = \"https://h.example/\"\n"
	    "events = [\"auth_failed\"]\n", "", "unknown event \"auth_failed\""));
	assert_true(fails_with("[[webhooks]]\nurl = \"https://h.example/\"\n"
	    "format = \"custom\"\n", "", "webhooks.0.template: required"));
	assert_true(fails_with("[[webhooks]]\nurl = \"https://h.example/\"\n"
	    "retry_delay_ms = 5\nmax_retry_delay_ms = 4\n", "",
	    "larger than max_retry_delay_ms"));
}

static void
test_webhook_events_canonical(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[[webhooks]]\nurl = \"https://h.example/\"\nevents = "
	    "[\"auth_success\", \"maintenance_toggled\", \"acl.deny\", "
	    "\"admin_quota_reset\", \"admin.kick\", \"admin.unban\"]\n"
	    "template = \"x\"\n", "");

	(void)state;
	c = load(t, 1, &d);
	assert_non_null(c);
	assert_int_equal(d.nwarnings, 1);	/* template without custom */
	assert_string_equal(c->webhooks[0].events.v[0], "auth.success");
	assert_string_equal(c->webhooks[0].events.v[1],
	    "maintenance.toggled");
	assert_string_equal(c->webhooks[0].events.v[2], "acl.deny");
	assert_string_equal(c->webhooks[0].events.v[3], "admin.quota_reset");
	assert_string_equal(c->webhooks[0].events.v[4], "admin.kick");
	assert_string_equal(c->webhooks[0].events.v[5], "admin.unban");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
}

static void
test_validate_alerts_maint(void **state)
{
	(void)state;
	assert_true(loads("[alerting]\nenabled = true\n[[alerting.rules]]\n"
	    "name = \"r\"\ncondition = \"auth_failures\"\nthreshold = 5\n"
	    "users = [\"alice\"]\n", ""));
	assert_true(fails_with("[alerting]\n[[alerting.rules]]\nname = "
	    "\"r\"\n", "", "alerting.rules.0: condition is required"));
	assert_true(fails_with("[alerting]\n[[alerting.rules]]\ncondition = "
	    "\"auth_failures\"\n", "", "threshold is required"));
	assert_true(fails_with("[alerting]\n[[alerting.rules]]\nname = \"r\"\n"
	    "condition = \"auth_failures\"\nthreshold = 1\nusers = [\"zed\"]\n",
	    "", "unknown user \"zed\""));
	assert_true(fails_with("[alerting]\n[[alerting.rules]]\nname = \"r\"\n"
	    "condition = \"nope\"\nthreshold = 1\n", "", "invalid value"));
	assert_true(loads("[[maintenance_windows]]\nschedule = \"daily "
	    "01:00-02:00\"\n", ""));
	assert_true(fails_with("[[maintenance_windows]]\nschedule = \"weekly "
	    "01:00-02:00\"\n", "", "maintenance_windows.0.schedule"));
	assert_true(fails_with("[[maintenance_windows]]\nmessage = \"x\"\n",
	    "", "maintenance_windows.0.schedule: required"));
}

/* Looks up a user and asserts it exists. */
static const struct cfg_user *
user(const struct cfg *c, const char *name)
{
	const struct cfg_user *u = cfg_user_find(c, name);

	assert_non_null(u);
	return u;
}

static void
test_inheritance(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	const struct cfg_user *u = NULL;
	const char *t =
	    "[limits]\nmax_connections_per_user = 7\nidle_warning_secs = 9\n"
	    "idle_timeout = 60\n"
	    "[shell]\ncolors = false\n"
	    "[acl]\ndefault_policy = \"deny\"\nallow = [\"g.example:1\"]\n"
	    "deny = [\"10.0.0.0/8\"]\n"
	    "[upstream_proxy]\nurl = \"socks5://up.example:1080\"\n"
	    "[[groups]]\nname = \"lim\"\nmax_connections_per_user = 5\n"
	    "max_bandwidth_kbps = 100\nrole = \"admin\"\nallow_shell = false\n"
	    "max_new_connections_per_minute = 10\n"
	    "[groups.acl]\ndefault_policy = \"allow\"\ndeny = [\"grp.example\"]\n"
	    "[groups.shell_permissions]\nshow_acl = false\nping_command = false\n"
	    "[groups.quotas]\ndaily_connection_limit = 50\n"
	    "total_bandwidth_bytes = 1000\n"
	    "[groups.rate_limits]\nconnections_per_minute = 20\n"
	    "connections_per_hour = 100\n"
	    "[groups.time_access]\naccess_hours = \"08:00-17:00\"\n"
	    "[[groups]]\nname = \"closed\"\n[groups.acl]\ninherit = false\n"
	    "allow = [\"only.example\"]\n"
	    "[[users]]\nusername = \"free\"\npassword_hash = \"" HASH "\"\n"
	    "group = \"lim\"\nmax_connections = 0\nmax_bandwidth_kbps = 0\n"
	    "role = \"user\"\nupstream_proxy = \"socks5://mine.example:1\"\n"
	    "[users.shell_permissions]\nping_command = true\n"
	    "[users.quotas]\ndaily_connection_limit = 0\n"
	    "[users.time_access]\naccess_days = [\"sat\"]\n"
	    "[[users]]\nusername = \"member\"\npassword_hash = \"" HASH "\"\n"
	    "group = \"lim\"\n"
	    "[users.acl]\nallow = [\"u.example\"]\n"
	    "[[users]]\nusername = \"solo\"\npassword_hash = \"" HASH "\"\n"
	    "[users.acl]\ninherit = false\nallow = [\"own.example\"]\n"
	    "[[users]]\nusername = \"shut\"\npassword_hash = \"" HASH "\"\n"
	    "group = \"closed\"\n";

	(void)state;
	c = load(t, 1, &d);
	if (c == NULL) {
		show(&d);
	}
	assert_non_null(c);
	/* Explicit 0 under a limited group means unlimited. */
	u = user(c, "free");
	assert_int_equal(u->eff.max_connections, 0);
	assert_int_equal(u->eff.max_bandwidth_kbps, 0);
	assert_int_equal(u->eff.role, CFG_ROLE_USER);
	assert_false(u->eff.allow_shell);
	assert_true(u->eff.allow_forwarding);
	assert_ptr_equal(u->eff.group, &c->groups[0]);
	assert_string_equal(u->eff.upstream_proxy, "socks5://mine.example:1");
	/* Per-field merge of blocks. */
	assert_true(u->eff.shell_permissions.ping_command);
	assert_false(u->eff.shell_permissions.show_acl);
	assert_true(u->eff.shell_permissions.show_uptime);
	assert_int_equal(u->eff.quotas.daily_connection_limit, 0);
	assert_int_equal(u->eff.quotas.total_bandwidth_bytes, 1000);
	assert_true(u->eff.time_access.has_hours);
	assert_int_equal(u->eff.time_access.hours.start, 8 * 60);
	assert_int_equal(u->eff.time_access.days, 1u << 5);
	assert_string_equal(u->eff.time_access.timezone, "UTC");
	/* Legacy per-minute limit (10) stricter than the block (20). */
	assert_int_equal(u->eff.rate_limits.connections_per_minute, 10);
	assert_int_equal(u->eff.rate_limits.connections_per_hour, 100);
	assert_int_equal(u->eff.idle_warning_secs, 9);
	assert_false(u->eff.colors);
	/* Unset fields inherit from the group, then global. */
	u = user(c, "member");
	assert_int_equal(u->eff.max_connections, 5);
	assert_int_equal(u->eff.max_bandwidth_kbps, 100);
	assert_int_equal(u->eff.role, CFG_ROLE_ADMIN);
	assert_string_equal(u->eff.upstream_proxy, "socks5://up.example:1080");
	assert_int_equal(u->eff.acl_policy, CFG_POLICY_ALLOW);
	assert_int_equal(u->eff.nacl_allow, 2);	/* global ++ user */
	assert_int_equal(u->eff.nacl_deny, 2);	/* global ++ group */
	assert_string_equal(u->eff.acl_allow[1].name, "u.example");
	assert_string_equal(u->eff.acl_deny[1].name, "grp.example");
	/* inherit = false: own rules, global default policy (deny). */
	u = user(c, "solo");
	assert_int_equal(u->eff.max_connections, 7);
	assert_int_equal(u->eff.acl_policy, CFG_POLICY_DENY);
	assert_int_equal(u->eff.nacl_allow, 1);
	assert_int_equal(u->eff.nacl_deny, 0);
	assert_null(u->eff.group);
	/* Group inherit = false drops the global rules. */
	u = user(c, "shut");
	assert_int_equal(u->eff.nacl_allow, 1);
	assert_string_equal(u->eff.acl_allow[0].name, "only.example");
	assert_int_equal(u->eff.nacl_deny, 0);
	assert_int_equal(u->eff.acl_policy, CFG_POLICY_DENY);
	assert_null(cfg_user_find(c, "nobody"));
	assert_non_null(cfg_user_at(c, 3));
	assert_null(cfg_user_at(c, 4));
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

/* Writes text to dir/name; returns the heap path. */
static char *
write_file(const char *dir, const char *name, const char *text, int mode)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(p, (mode_t)mode);
	return p;
}

static void
test_file_loading(void **state)
{
	char dir[] = "/tmp/sks5cfgXXXXXX", *p = NULL, *t = doc(
	    "[server]\nhost_key_path = \"keys/hk\"\n[persistence]\ndata_dir = "
	    "\"/abs/data\"\n", "");
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *want = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = write_file(dir, "c.toml", t, 0600);
	memset(&ov, 0, sizeof(ov));
	ov.config_path = p;
	ov.allow_pending = 1;
	cfg_diag_init(&d);
	assert_int_equal(cfg_load(&ov, &c, &d), 0);
	want = xasprintf("%s/keys/hk", dir);
	assert_string_equal(c->server.host_key_path, want);
	assert_string_equal(c->persistence.data_dir, "/abs/data");
	assert_string_equal(cfg_source(c), p);
	assert_int_equal(d.nwarnings, 0);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	/* Group/other-readable file: a warning, not an error. */
	chmod(p, 0644);
	cfg_diag_init(&d);
	assert_int_equal(cfg_load(&ov, &c, &d), 0);
	assert_int_equal(d.nwarnings, 1);
	assert_non_null(strstr(d.warnings[0], "chmod 600"));
	cfg_free(c);
	cfg_diag_cleanup(&d);
	unlink(p);
	/* Missing explicit file. */
	cfg_diag_init(&d);
	ov.config_explicit = 1;
	assert_true(cfg_load(&ov, &c, &d) != 0);
	assert_null(c);
	free(want);
	want = xasprintf("cannot read %s: No such file or directory", p);
	assert_string_equal(d.errors[0], want);
	cfg_diag_cleanup(&d);
	/* Missing default file, no environment: points at sks5 init. */
	cfg_diag_init(&d);
	ov.config_explicit = 0;
	assert_true(cfg_load(&ov, &c, &d) != 0);
	assert_true(has_error(&d, "sks5 init"));
	cfg_diag_cleanup(&d);
	free(p);
	free(want);
	free(t);
	rmdir(dir);
}

static void
test_file_too_large(void **state)
{
	char dir[] = "/tmp/sks5cfgXXXXXX", *p = NULL, *big = NULL;
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	size_t n = 1024 * 1024 + 10;

	(void)state;
	assert_non_null(mkdtemp(dir));
	big = xmalloc(n + 1);
	memset(big, '#', n);
	big[n] = '\0';
	p = write_file(dir, "big.toml", big, 0600);
	memset(&ov, 0, sizeof(ov));
	ov.config_path = p;
	cfg_diag_init(&d);
	assert_true(cfg_load(&ov, &c, &d) != 0);
	assert_true(has_error(&d, "larger than 1 MiB"));
	cfg_diag_cleanup(&d);
	cfg_diag_init(&d);
	assert_true(cfg_load_string(big, n, "big", NULL, NULL, &c, &d) != 0);
	assert_true(has_error(&d, "larger than 1 MiB"));
	cfg_diag_cleanup(&d);
	unlink(p);
	rmdir(dir);
	free(p);
	free(big);
}

/* Loads dir/c.toml holding pre and the user alice (plus post). */
static struct cfg *
load_in(const char *dir, const char *pre, const char *post,
    struct cfg_diag *d)
{
	char *t = doc(pre, post), *p = write_file(dir, "c.toml", t, 0600);
	struct cfg_overrides ov;
	struct cfg *c = NULL;

	memset(&ov, 0, sizeof(ov));
	ov.config_path = p;
	ov.config_explicit = 1;
	cfg_diag_init(d);
	if (cfg_load(&ov, &c, d) != 0) {
		c = NULL;
	}
	unlink(p);
	free(p);
	free(t);
	return c;
}

/* server.motd_path: read at load, relative to the file's directory,
 * checked like a template, bounded, and overridden by group/user. */
static void
test_motd_path(void **state)
{
	char dir[] = "/tmp/sks5cfgXXXXXX", *m = NULL, *big = NULL, *want = NULL;
	struct cfg_diag d;
	struct cfg *c = NULL;
	size_t i, hits = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	m = write_file(dir, "motd.txt", "Hi {user}\n{bogus} here\n", 0644);
	c = load_in(dir, "[server]\nmotd_path = \"motd.txt\"\n"
	    "[[groups]]\nname = \"g\"\n[groups.motd]\ntemplate = \"grp\"\n",
	    "[[users]]\nusername = \"bob\"\npassword_hash = \"" HASH "\"\n"
	    "group = \"g\"\n", &d);
	if (c == NULL) {
		show(&d);
	}
	assert_non_null(c);
	assert_string_equal(c->server.motd_path, m);
	assert_string_equal(c->motd_text, "Hi {user}\n{bogus} here\n");
	assert_null(c->motd.template);
	assert_string_equal(user(c, "alice")->eff.motd.template,
	    "Hi {user}\n{bogus} here\n");
	assert_string_equal(user(c, "bob")->eff.motd.template, "grp");
	for (i = 0; i < d.nwarnings; i++) {
		if (strstr(d.warnings[i], "{bogus}") != NULL &&
		    strstr(d.warnings[i], "server.motd_path") != NULL) {
			hits++;
		}
	}
	assert_int_equal(hits, 1);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	/* a user's own template wins over the file */
	c = load_in(dir, "[server]\nmotd_path = \"motd.txt\"\n",
	    "[users.motd]\ntemplate = \"mine\"\n", &d);
	assert_non_null(c);
	assert_string_equal(user(c, "alice")->eff.motd.template, "mine");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	/* both global forms at once: the inline one wins, the file is not
	 * even read (as in the original, where the key did nothing) */
	c = load_in(dir, "[server]\nmotd_path = \"nope.txt\"\n"
	    "[motd]\ntemplate = \"x\"\n", "", &d);
	assert_non_null(c);
	assert_null(c->motd_text);
	assert_string_equal(user(c, "alice")->eff.motd.template, "x");
	for (i = 0, hits = 0; i < d.nwarnings; i++) {
		hits += strstr(d.warnings[i], "server.motd_path: not read: "
		    "motd.template is set") != NULL;
	}
	assert_int_equal(hits, 1);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	/* missing, a directory, too large, binary */
	assert_null(load_in(dir, "[server]\nmotd_path = \"nope.txt\"\n", "",
	    &d));
	want = xasprintf("server.motd_path: cannot read %s/nope.txt: No such "
	    "file or directory", dir);
	assert_true(has_error(&d, want));
	free(want);
	cfg_diag_cleanup(&d);
	assert_null(load_in(dir, "[server]\nmotd_path = \"/tmp\"\n", "", &d));
	assert_true(has_error(&d, "/tmp is not a regular file"));
	cfg_diag_cleanup(&d);
	big = xmalloc(CFG_MOTD_MAX + 2);
	memset(big, 'x', CFG_MOTD_MAX);
	big[CFG_MOTD_MAX] = '\0';
	free(write_file(dir, "motd.txt", big, 0644));
	c = load_in(dir, "[server]\nmotd_path = \"motd.txt\"\n", "", &d);
	assert_non_null(c);	/* exactly 64 KiB is fine */
	assert_int_equal(strlen(c->motd_text), CFG_MOTD_MAX);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	big[CFG_MOTD_MAX] = 'x';
	big[CFG_MOTD_MAX + 1] = '\0';
	free(write_file(dir, "motd.txt", big, 0644));
	assert_null(load_in(dir, "[server]\nmotd_path = \"motd.txt\"\n", "",
	    &d));
	assert_true(has_error(&d, "motd.txt is larger than 64 KiB"));
	cfg_diag_cleanup(&d);
	{
		int fd = open(m, O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "a\0b", 3), 3);
		close(fd);
	}
	assert_null(load_in(dir, "[server]\nmotd_path = \"motd.txt\"\n", "",
	    &d));
	assert_true(has_error(&d, "holds a NUL byte"));
	cfg_diag_cleanup(&d);
	unlink(m);
	rmdir(dir);
	free(big);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_implemented_keys),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_collects_all_errors),
		cmocka_unit_test(test_validate_server),
		cmocka_unit_test(test_validate_long_server_id),
		cmocka_unit_test(test_validate_security),
		cmocka_unit_test(test_validate_acl),
		cmocka_unit_test(test_validate_users),
		cmocka_unit_test(test_validate_no_users),
		cmocka_unit_test(test_validate_groups),
		cmocka_unit_test(test_validate_webhooks),
		cmocka_unit_test(test_webhook_events_canonical),
		cmocka_unit_test(test_validate_alerts_maint),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_file_loading),
		cmocka_unit_test(test_file_too_large),
		cmocka_unit_test(test_motd_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests: environment modes, --set overrides, pending keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "test_config_util.h"

/* Loads from the environment only (no file at a missing default path). */
static struct cfg *
env_load(char **envp, int allow_pending, struct cfg_diag *d)
{
	struct cfg_overrides ov;
	struct cfg *c = NULL;

	memset(&ov, 0, sizeof(ov));
	ov.config_path = "/nonexistent-sks5-dir/config.toml";
	ov.envp = envp;
	ov.allow_pending = allow_pending;
	cfg_diag_init(d);
	if (cfg_load(&ov, &c, d) != 0) {
		return NULL;
	}
	return c;
}

static void
test_env_only_flat(void **state)
{
	char *env[] = {
		"SKS5_SSH_LISTEN=127.0.0.1:2222", "SKS5_PASSWORD_HASH=" HASH,
		"SKS5_BAN_THRESHOLD=7", "SKS5_LOG_LEVEL=DEBUG",
		"SKS5_SHELL_COLORS=off", "SKS5_MAX_CONNECTIONS=9",
		"SKS5_MAX_CONNECTIONS_USER=2", "SKS5_ACL_ALLOW=a.example, b."
		"example,,", "SKS5_BANNER=", "PATH=/bin", NULL
	};
	struct cfg_diag d;
	struct cfg *c = NULL;

	(void)state;
	c = env_load(env, 1, &d);
	if (c == NULL) {
		show(&d);
	}
	assert_non_null(c);
	assert_string_equal(cfg_source(c), "environment");
	assert_string_equal(cfg_ssh_listen(c), "127.0.0.1:2222");
	assert_int_equal(cfg_user_count(c), 1);
	assert_string_equal(c->users[0].username, "user");
	assert_string_equal(c->users[0].password_hash, HASH);
	assert_int_equal(c->security.ban_threshold, 7);
	assert_string_equal(cfg_log_level(c), "debug");
	assert_false(c->shell.colors);
	assert_int_equal(c->limits.max_connections, 9);
	assert_int_equal(c->users[0].eff.max_connections, 2);
	assert_int_equal(c->users[0].acl.allow.n, 2);
	assert_string_equal(c->users[0].acl.allow.v[1], "b.example");
	assert_string_equal(c->server.banner, "Welcome to sks5");
	/* Relative paths from the environment stay relative to the CWD. */
	assert_string_equal(c->server.host_key_path, "host_key");
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

/* The Argon2 cost comes from the environment too, and is validated. */
static void
test_env_only_argon2(void **state)
{
	char *env[] = {
		"SKS5_SSH_LISTEN=127.0.0.1:2222", "SKS5_PASSWORD_HASH=" HASH,
		"SKS5_ARGON2_TIME_COST=5", "SKS5_ARGON2_MEMORY_COST=65536",
		NULL
	};
	char *bad[] = {
		"SKS5_SSH_LISTEN=127.0.0.1:2222", "SKS5_PASSWORD_HASH=" HASH,
		"SKS5_ARGON2_PARALLELISM=4", NULL
	};
	struct cfg_diag d;
	struct cfg *c = NULL;

	(void)state;
	c = env_load(env, 0, &d);
	assert_non_null(c);
	assert_int_equal(c->security.argon2_time_cost, 5);
	assert_int_equal(c->security.argon2_memory_cost, 65536);
	assert_int_equal(c->security.argon2_parallelism, 1);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	assert_null(env_load(bad, 0, &d));
	assert_true(has_error(&d, "security.argon2_parallelism: must be 1"));
	assert_int_equal(d.nerrors, 1);
	cfg_diag_cleanup(&d);
}

static void
test_env_insufficient(void **state)
{
	char *env[] = { "SKS5_SSH_LISTEN=127.0.0.1:2222", NULL };
	struct cfg_diag d;

	(void)state;
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "sks5 init"));
	cfg_diag_cleanup(&d);
	assert_null(env_load(NULL, 1, &d));
	assert_true(has_error(&d, "quick-start"));
	cfg_diag_cleanup(&d);
}

static void
test_env_indexed_users(void **state)
{
	char *env[] = {
		"SKS5_SSH_LISTEN=127.0.0.1:2222",
		"SKS5_USER_0_USERNAME=ann", "SKS5_USER_0_PASSWORD_HASH=" HASH,
		"SKS5_USER_0_MAX_CONNECTIONS=0",
		"SKS5_USER_1_USERNAME=ben",
		"SKS5_USER_1_AUTHORIZED_KEYS=" KEY,
		"SKS5_USER_1_ACL_DEFAULT_POLICY=Deny",
		"SKS5_USER_1_RATE_LIMIT_PER_HOUR=9",
		"SKS5_USER_3_USERNAME=skipped",
		"SKS5_PASSWORD_HASH=ignored", NULL
	};
	struct cfg_diag d;
	struct cfg *c = NULL;

	(void)state;
	c = env_load(env, 1, &d);
	if (c == NULL) {
		show(&d);
	}
	assert_non_null(c);
	assert_int_equal(cfg_user_count(c), 2);
	assert_string_equal(c->users[0].username, "ann");
	assert_true(c->users[0].max_connections.set);
	assert_int_equal(c->users[0].max_connections.v, 0);
	assert_string_equal(c->users[1].username, "ben");
	assert_int_equal(c->users[1].authorized_keys.n, 1);
	assert_int_equal(c->users[1].eff.acl_policy, CFG_POLICY_DENY);
	assert_int_equal(c->users[1].eff.rate_limits.connections_per_hour, 9);
	assert_null(cfg_user_find(c, "skipped"));
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

/* Creates a temporary file holding text; returns its heap path. */
static char *
tmpfile_with(const char *text)
{
	char *p = xstrdup("/tmp/sks5envXXXXXX");
	int fd = mkstemp(p);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return p;
}

static void
test_env_file_secrets(void **state)
{
	char *hf = tmpfile_with("  " HASH "\n\n"), *ef = tmpfile_with(" \n");
	char *e1 = xasprintf("SKS5_USER_0_PASSWORD_HASH_FILE=%s", hf);
	char *e2 = xasprintf("SKS5_API_TOKEN_FILE=%s", ef);
	char *env[] = {
		"SKS5_SSH_LISTEN=127.0.0.1:2222", "SKS5_USER_0_USERNAME=ann",
		e1, NULL, NULL, NULL
	};
	struct cfg_diag d;
	struct cfg *c = NULL;

	(void)state;
	c = env_load(env, 1, &d);
	assert_non_null(c);
	assert_string_equal(c->users[0].password_hash, HASH);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	/* X wins over X_FILE. */
	env[3] = "SKS5_USER_0_PASSWORD_HASH=$argon2id$bad";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "env SKS5_USER_0_PASSWORD_HASH: "
	    "users.0.password_hash"));
	cfg_diag_cleanup(&d);
	/* An empty secret file is an error. */
	env[3] = e2;
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "env SKS5_API_TOKEN_FILE: "));
	assert_true(has_error(&d, "is empty"));
	cfg_diag_cleanup(&d);
	/* An unreadable one too. */
	unlink(ef);
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "No such file or directory"));
	cfg_diag_cleanup(&d);
	unlink(hf);
	free(hf);
	free(ef);
	free(e1);
	free(e2);
}

static void
test_env_strict_values(void **state)
{
	char *env[] = {
		"SKS5_SSH_LISTEN=127.0.0.1:2222", "SKS5_PASSWORD_HASH=" HASH,
		NULL, NULL
	};
	struct cfg_diag d;

	(void)state;
	env[2] = "SKS5_BAN_THRESHOLD=abc";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "env SKS5_BAN_THRESHOLD: "
	    "security.ban_threshold: expected an integer, found \"abc\""));
	cfg_diag_cleanup(&d);
	env[2] = "SKS5_BAN_ENABLED=maybe";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "env SKS5_BAN_ENABLED: security.ban_enabled: "
	    "expected a boolean"));
	cfg_diag_cleanup(&d);
	env[2] = "SKS5_LOG_FORMAT=xml";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "env SKS5_LOG_FORMAT: logging.format: "
	    "invalid value"));
	cfg_diag_cleanup(&d);
	env[2] = "SKS5_SOCKS5_HANDSHAKE_TIMEOUT=200";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "out of range (5..120)"));
	cfg_diag_cleanup(&d);
	env[2] = "SKS5_ALLOWED_SOURCE_IPS=10.0.0.0/8,bogus";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "env SKS5_ALLOWED_SOURCE_IPS: "
	    "security.allowed_source_ips: invalid network \"bogus\""));
	cfg_diag_cleanup(&d);
	env[2] = "SKS5_MAX_CONNECTIONS=99999999999";
	assert_null(env_load(env, 1, &d));
	assert_true(has_error(&d, "limits.max_connections: value"));
	cfg_diag_cleanup(&d);
}

static void
test_hybrid(void **state)
{
	char *env[] = {
		"SKS5_LOG_LEVEL=warn", "SKS5_SERVER_ID=SSH-2.0-notH",
		"SKS5_USER_0_USERNAME=intruder", "SKS5_RATE_LIMIT_MAX_USERS=9",
		NULL
	};
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[logging]\nlevel = \"debug\"\n", "");

	(void)state;
	memset(&ov, 0, sizeof(ov));
	ov.envp = env;
	ov.allow_pending = 1;
	/* Without --force-env the environment is ignored. */
	c = load_ov(t, &ov, &d);
	assert_non_null(c);
	assert_string_equal(cfg_log_level(c), "debug");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	ov.force_env = 1;
	c = load_ov(t, &ov, &d);
	assert_non_null(c);
	assert_string_equal(cfg_log_level(c), "warn");
	assert_int_equal(c->security.rate_limit_max_users, 9);
	assert_string_equal(c->server.server_id, "SSH-2.0-sks5"); /* not H */
	assert_int_equal(cfg_user_count(c), 1);
	assert_string_equal(c->users[0].username, "alice");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	/* Hybrid values are validated too (range 1..16777216). */
	ov.allow_pending = 0;
	env[3] = "SKS5_RATE_LIMIT_MAX_USERS=0";
	assert_null(load_ov(t, &ov, &d));
	assert_true(has_error(&d, "security.rate_limit_max_users"));
	cfg_diag_cleanup(&d);
	free(t);
}

/* Loads the base document with the given --set list. */
static struct cfg *
set_load(const char *const *sets, size_t n, int allow_pending,
    struct cfg_diag *d)
{
	struct cfg_overrides ov;
	struct cfg *c = NULL;
	char *t = doc("", "");

	memset(&ov, 0, sizeof(ov));
	ov.sets = sets;
	ov.nsets = n;
	ov.allow_pending = allow_pending;
	c = load_ov(t, &ov, d);
	free(t);
	return c;
}

static void
test_set_ok(void **state)
{
	const char *sets[] = {
		"limits.max_connections=5", "server.socks5_listen=127.0.0.1:1080",
		"users.0.max_bandwidth_kbps=12", "server.allowed_kex=a, b",
		"server.allowed_ciphers=[\"x\", \"y,z\"]",
		"users.1.username=bob", "users.1.password_hash=" HASH,
		"users.0.aliases.ll=ls -l", "users.0.aliases.ll=ls -la",
		"shell.colors=no", "server.dns_cache_ttl=-5",
		"logging.level=trace", "server.banner=a=b",
	};
	struct cfg_diag d;
	struct cfg *c = NULL;

	(void)state;
	c = set_load(sets, sizeof(sets) / sizeof(sets[0]), 1, &d);
	if (c == NULL) {
		show(&d);
	}
	assert_non_null(c);
	assert_int_equal(c->limits.max_connections, 5);
	assert_string_equal(cfg_socks5_listen(c), "127.0.0.1:1080");
	assert_int_equal(c->users[0].eff.max_bandwidth_kbps, 12);
	assert_int_equal(c->server.allowed_kex.n, 2);
	assert_string_equal(c->server.allowed_kex.v[1], "b");
	assert_int_equal(c->server.allowed_ciphers.n, 2);
	assert_string_equal(c->server.allowed_ciphers.v[1], "y,z");
	assert_int_equal(cfg_user_count(c), 2);
	assert_string_equal(c->users[1].username, "bob");
	assert_int_equal(c->users[0].aliases.n, 1);
	assert_string_equal(c->users[0].aliases.vals[0], "ls -la");
	assert_false(c->shell.colors);
	assert_int_equal(c->server.dns_cache_ttl, -5);
	assert_string_equal(cfg_log_level(c), "trace");
	assert_string_equal(c->server.banner, "a=b");
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

/* Expects one --set to fail with an error containing sub. */
static int
set_fails(const char *set, const char *sub, int allow_pending)
{
	struct cfg_diag d;
	struct cfg *c = set_load(&set, 1, allow_pending, &d);
	int ok = c == NULL && has_error(&d, sub);

	if (!ok) {
		fprintf(stderr, "--set %s: expected \"%s\"\n", set, sub);
		show(&d);
	}
	cfg_free(c);
	cfg_diag_cleanup(&d);
	return ok;
}

static void
test_set_errors(void **state)
{
	(void)state;
	assert_true(set_fails("limits.max_conections=5", "--set "
	    "limits.max_conections: unknown key 'limits.max_conections'; did "
	    "you mean 'max_connections'?", 1));
	assert_true(set_fails("limits.max_connections=many",
	    "--set limits.max_connections: limits.max_connections: expected "
	    "an integer, found \"many\"", 1));
	assert_true(set_fails("limits.max_connections=0",
	    "limits.max_connections: value 0 is out of range", 1));
	assert_true(set_fails("limits.max_connections=5x", "expected an "
	    "integer", 1));
	assert_true(set_fails("limits", "--set limits: expected KEY=VALUE",
	    1));
	assert_true(set_fails("=3", "expected KEY=VALUE", 1));
	assert_true(set_fails("limits=3", "limits is a table", 1));
	assert_true(set_fails("users.5.username=x", "index 5 is out of range",
	    1));
	assert_true(set_fails("users.x.username=x", "expected an index", 1));
	assert_true(set_fails("users=x", "users is a table", 1));
	assert_true(set_fails("users.0.acl=x", "users.0.acl is a table", 1));
	assert_true(set_fails("logging.level=loud", "invalid value \"loud\"",
	    1));
	assert_true(set_fails("server.allowed_kex=[1]",
	    "expected an array of strings", 1));
	assert_true(set_fails("server.allowed_kex=[", "invalid TOML value",
	    1));
	assert_true(set_fails("server.banner.x=1", "unknown key", 1));
	/* Validation runs after the overrides. */
	assert_true(set_fails("users.0.password_hash=nope",
	    "--set users.0.password_hash: users.0.password_hash:", 1));
	assert_true(set_fails("users.1.username=bob",
	    "user \"bob\" needs password_hash", 1));
	assert_true(set_fails("security.argon2_time_cost=0",
	    "security.argon2_time_cost: 0 is out of range (1..64)", 1));
	/* Pending keys are rejected from --set too. */
	assert_true(set_fails("connection_pool.enabled=true", "is "
	    "not implemented yet (management plane)", 0));
}

static void
test_cli_options(void **state)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("", "");

	(void)state;
	memset(&ov, 0, sizeof(ov));
	ov.log_level = "error";
	c = load_ov(t, &ov, &d);
	assert_non_null(c);
	assert_string_equal(cfg_log_level(c), "error");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	ov.ssh_listen = "127.0.0.1:2222";
	ov.data_dir = "rel/data";
	c = load_ov(t, &ov, &d);
	assert_non_null(c);
	assert_string_equal(cfg_ssh_listen(c), "127.0.0.1:2222");
	assert_string_equal(c->persistence.data_dir, "rel/data");
	cfg_free(c);
	cfg_diag_cleanup(&d);
	ov.log_level = "LOUD";
	assert_null(load_ov(t, &ov, &d));
	assert_true(has_error(&d, "--log-level: logging.level: invalid value"));
	cfg_diag_cleanup(&d);
	free(t);
}

static void
test_pending_table(void **state)
{
	(void)state;
	assert_int_equal(cfg_key_pending("logging.level"), 0);
	assert_int_equal(cfg_key_pending("logging.format"), 0);
	assert_int_equal(cfg_key_pending("users.username"), 0);
	assert_int_equal(cfg_key_pending("users.password_hash"), 0);
	assert_int_equal(cfg_key_pending("users.0.password_hash"), 0);
	assert_int_equal(cfg_key_pending("server"), 0);
	assert_int_equal(cfg_key_pending("users"), 0);
	/* Acted on by the SOCKS5 CONNECT path. */
	assert_int_equal(cfg_key_pending("server.socks5_listen"), 0);
	assert_int_equal(cfg_key_pending("acl"), 0);
	assert_int_equal(cfg_key_pending("acl.allow"), 0);
	assert_int_equal(cfg_key_pending("users.acl.allow"), 0);
	assert_int_equal(cfg_key_pending("users.12.acl.allow"), 0);
	assert_int_equal(cfg_key_pending("users.connect_retry_delay_ms"), 0);
	assert_int_equal(cfg_key_pending("logging.connection_flow_logs"), 0);
	assert_int_equal(cfg_key_pending("groups.connect_retry"), 0);
	assert_int_equal(cfg_key_pending("groups.acl"), 0);
	assert_int_equal(cfg_key_pending("groups"), 0);
	assert_int_equal(cfg_key_pending("groups.name"), 0);
	assert_int_equal(cfg_key_pending("groups.quotas.daily_bandwidth_bytes"),
	    0);
	assert_int_equal(cfg_key_pending("groups.time_access.timezone"), 0);
	assert_int_equal(cfg_key_pending("security.ban_threshold"), 0);
	assert_int_equal(cfg_key_pending("maintenance_windows.message"), 0);
	assert_int_equal(cfg_key_pending("limits.max_connections"), 0);
	assert_int_equal(cfg_key_pending("limits.max_connections_per_user"), 0);
	assert_int_equal(cfg_key_pending("limits.max_auth_attempts"), 0);
	assert_int_equal(cfg_key_pending("server.ssh_listen"), 0);
	assert_int_equal(cfg_key_pending("users.authorized_keys"), 0);
	assert_int_equal(cfg_key_pending("server.ssh_keepalive_max"), 0);
	assert_int_equal(cfg_key_pending("upstream_proxy.url"), 0);
	assert_int_equal(cfg_key_pending("users.upstream_proxy"), 0);
	assert_int_equal(cfg_key_pending("server.socks5_tls_cert"), 0);
	assert_int_equal(cfg_key_pending("limits.udp_relay_timeout"), 0);
	assert_int_equal(cfg_key_pending("security.argon2_time_cost"), 0);
	assert_int_equal(cfg_key_pending("security.argon2_memory_cost"), 0);
	assert_int_equal(cfg_key_pending("security.argon2_parallelism"), 0);
	assert_int_equal(cfg_key_pending("security.ban_whitelist"), 0);
	assert_int_equal(cfg_key_pending("security.rate_limit_max_users"), 0);
	assert_int_equal(cfg_key_pending(
	    "security.rate_limit_cleanup_interval"), 0);
	assert_int_equal(cfg_key_pending("shell.hostname"), 0);
	assert_int_equal(cfg_key_pending("shell.autocomplete"), 0);
	assert_int_equal(cfg_key_pending("users.max_connections"), 0);
	assert_int_equal(cfg_key_pending("users.max_bandwidth_kbps"), 0);
	assert_int_equal(cfg_key_pending("users.role"), 0);
	assert_int_equal(cfg_key_pending("api.token"), 0);
	assert_int_equal(cfg_key_pending("metrics.max_metric_labels"), 0);
	assert_int_equal(cfg_key_pending("persistence.state.enabled"), 0);
	assert_int_equal(cfg_key_pending("server.bookmarks_path"), 0);
	assert_int_equal(cfg_key_pending("webhooks.url"), 0);
	assert_int_equal(cfg_key_pending("alerting.rules.name"), 0);
	assert_int_equal(cfg_key_pending("logging.audit_max_files"), 0);
}

static void
test_pending_in_file(void **state)
{
	struct cfg_diag d;
	char *t = doc("[limits]\n\n[connection_pool]\n[logging]\n"
	    "level = \"warn\"\n", "");

	(void)state;
	/* An empty [limits] is fine; an empty [connection_pool] header
	 * counts as set. */
	assert_null(load(t, 0, &d));
	assert_int_equal(d.nerrors, 1);
	assert_true(has_error(&d, "t.toml:3:2: 'connection_pool' is not "
	    "implemented yet (management plane)"));
	cfg_diag_cleanup(&d);
	free(t);
}

/* The full configuration of the original: only pending errors. */
static void
test_original_full(void **state)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	size_t i;

	(void)state;
	memset(&ov, 0, sizeof(ov));
	ov.config_path = "tests/data/original-full.toml";
	cfg_diag_init(&d);
	assert_true(cfg_load(&ov, &c, &d) != 0);
	assert_true(d.nerrors >= 1);
	for (i = 0; i < d.nerrors; i++) {
		if (strstr(d.errors[i], "is not implemented yet") == NULL ||
		    strstr(d.errors[i], ": '") == NULL) {
			fail_msg("unexpected error: %s", d.errors[i]);
		}
	}
	assert_true(has_error(&d, "'connection_pool' is not implemented "
	    "yet"));
	cfg_diag_cleanup(&d);
	ov.allow_pending = 1;
	cfg_diag_init(&d);
	assert_int_equal(cfg_load(&ov, &c, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(cfg_user_count(c), 2);
	assert_int_equal(c->ngroups, 1);
	assert_int_equal(c->alerting.nrules, 1);
	assert_int_equal(c->maintenance_windows[0].sched.day, 6);
	assert_int_equal(c->users[0].eff.time_access.hours.start, 22 * 60);
	assert_string_equal(c->users[0].eff.time_access.timezone,
	    "Europe/Paris");
	assert_int_equal(c->users[1].eff.max_connections, 5);
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

static void
test_scrub(void **state)
{
	(void)state;
	setenv("SKS5_PASSWORD_HASH", "x", 1);
	setenv("SKS5_API_TOKEN_FILE", "x", 1);
	setenv("SKS5_USER_12_TOTP_SECRET", "x", 1);
	setenv("SKS5_USER_3_UPSTREAM_PROXY", "x", 1);
	setenv("SKS5_UPSTREAM_PROXY_URL", "x", 1);
	setenv("SKS5_USER_3_USERNAME", "keep", 1);
	setenv("SKS5_SSH_LISTEN", "keep", 1);
	cfg_env_scrub_secrets();
	assert_null(getenv("SKS5_PASSWORD_HASH"));
	assert_null(getenv("SKS5_API_TOKEN_FILE"));
	assert_null(getenv("SKS5_USER_12_TOTP_SECRET"));
	assert_null(getenv("SKS5_USER_3_UPSTREAM_PROXY"));
	assert_null(getenv("SKS5_UPSTREAM_PROXY_URL"));
	assert_string_equal(getenv("SKS5_USER_3_USERNAME"), "keep");
	assert_string_equal(getenv("SKS5_SSH_LISTEN"), "keep");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_only_flat),
		cmocka_unit_test(test_env_only_argon2),
		cmocka_unit_test(test_env_insufficient),
		cmocka_unit_test(test_env_indexed_users),
		cmocka_unit_test(test_env_file_secrets),
		cmocka_unit_test(test_env_strict_values),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_set_ok),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_cli_options),
		cmocka_unit_test(test_pending_table),
		cmocka_unit_test(test_pending_in_file),
		cmocka_unit_test(test_original_full),
		cmocka_unit_test(test_scrub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

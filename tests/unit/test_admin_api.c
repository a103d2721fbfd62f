/* Unit tests for the REST API and /metrics handlers (no sockets). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/admin.h"
#include "config/config.h"
#include "core/err.h"
#include "core/util.h"
#include "obs/obs.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"

#define TOKEN	"0123456789abcdef-token"
#define T_HASH	"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" \
	"rX2Sy0N8fXlXe7yDsnGh0Q3bD1ZM0bAGb4Hn6T7aq9o"

struct fx {
	struct cfg		*c;
	struct policy_state	*ps;
	struct policy_holder	 holder;
	struct admin_env	 env;
	int			 reloads;
	int			 kicks;
	int			 reload_fail;
};

static int
fake_reload(void *arg, size_t *users, char *err, size_t errlen)
{
	struct fx *f = arg;

	f->reloads++;
	if (f->reload_fail) {
		snprintf(err, errlen, "t.toml:1:1: broken");
		return ERR_INVAL;
	}
	*users = 2;
	return 0;
}

static size_t
fake_kick(void *arg, const char *user)
{
	struct fx *f = arg;

	f->kicks++;
	return strcmp(user, "alice") == 0 ? 2 : 0;
}

/* The admin events seen, as "action via target count" lines. */
static char	seen[8][128];
static int	nseen;
static char	seen_msg[128];	/* the last message */

static void
on_admin(const struct admin_event *ev, void *arg)
{
	(void)arg;
	if (nseen < 8)
		snprintf(seen[nseen++], sizeof(seen[0]), "%s %s %s %lld",
		    ev->action, ev->via, ev->target, (long long)ev->count);
	snprintf(seen_msg, sizeof(seen_msg), "%s",
	    ev->message != NULL ? ev->message : "(none)");
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct cfg_overrides ov;
	struct cfg_diag d;
	const char *text = "[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
	    "[api]\nenabled = true\ntoken = \"" TOKEN "\"\n"
	    "[[users]]\nusername = \"alice\"\npassword_hash = \"" T_HASH "\"\n"
	    "[[users]]\nusername = \"bob\"\npassword_hash = \"" T_HASH "\"\n"
	    "source_ips = [\"10.0.0.0/8\"]\n";

	memset(&ov, 0, sizeof(ov));
	ov.allow_pending = 1;
	cfg_diag_init(&d);
	if (cfg_load_string(text, strlen(text), "t.toml", "/b", &ov, &f->c,
	    &d) != 0)
		cfg_diag_print(&d, stderr);
	cfg_diag_cleanup(&d);
	assert_non_null(f->c);
	f->ps = policy_state_new();
	policy_holder_init(&f->holder, policy_snap_new(f->c, 1, f->ps));
	f->env.policy = &f->holder;
	f->env.state = f->ps;
	f->env.reload = fake_reload;
	f->env.reload_arg = f;
	f->env.kick = fake_kick;
	f->env.start_ms = util_mono_ms();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	policy_holder_cleanup(&f->holder);
	policy_state_free(f->ps);
	free(f);
	return 0;
}

/* Runs one API request; returns the parsed JSON body or NULL. */
static json_t *
req(struct fx *f, const char *token, const char *method, const char *path,
    const char *authz, const char *details, unsigned *status, char **raw)
{
	struct admin_resp r;
	json_error_t e;
	json_t *v = NULL;

	admin_api_handle(&f->env, token, method, path, authz, details, &r);
	*status = r.status;
	if (strcmp(r.ctype, "application/json") == 0)
		v = json_loadb(r.body, r.len, 0, &e);
	if (raw != NULL)
		*raw = xstrdup(r.body);
	admin_resp_cleanup(&r);
	return v;
}

static void
test_auth(void **state)
{
	struct fx *f = *state;
	unsigned st;
	char *raw = NULL;
	json_t *v = NULL;

	v = req(f, TOKEN, "GET", "/api/status", NULL, NULL, &st, &raw);
	assert_int_equal(st, 401);
	assert_null(v);
	assert_string_equal(raw, "unauthorized");
	free(raw);
	(void)req(f, TOKEN, "GET", "/api/status", "Bearer wrong", NULL, &st,
	    NULL);
	assert_int_equal(st, 401);
	/* A prefix of the token, the token plus a byte, another scheme. */
	(void)req(f, TOKEN, "GET", "/api/status", "Bearer 0123456789abcdef",
	    NULL, &st, NULL);
	assert_int_equal(st, 401);
	(void)req(f, TOKEN, "GET", "/api/status", "Bearer " TOKEN "x", NULL,
	    &st, NULL);
	assert_int_equal(st, 401);
	(void)req(f, TOKEN, "GET", "/api/status", "bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 401);
	(void)req(f, TOKEN, "GET", "/api/status", "Basic " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 401);
	/* No configured token: every protected route is unavailable. */
	(void)req(f, "", "GET", "/api/status", "Bearer ", NULL, &st, NULL);
	assert_int_equal(st, 503);
	/* Unknown paths need auth too, then answer 404 in JSON. */
	(void)req(f, TOKEN, "GET", "/api/backup", NULL, NULL, &st, NULL);
	assert_int_equal(st, 401);
	v = req(f, TOKEN, "GET", "/api/backup", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 404);
	assert_non_null(v);
	assert_true(json_is_false(json_object_get(v, "success")));
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "not found");
	json_decref(v);
	/* Probes are open. */
	(void)req(f, TOKEN, "GET", "/livez", NULL, NULL, &st, NULL);
	assert_int_equal(st, 200);
	v = req(f, TOKEN, "GET", "/readyz", NULL, NULL, &st, NULL);
	assert_int_equal(st, 200);
	assert_true(json_is_true(json_object_get(v, "ready")));
	json_decref(v);
	v = req(f, TOKEN, "GET", "/nothing", NULL, NULL, &st, NULL);
	assert_int_equal(st, 404);
	json_decref(v);
}

static void
test_read_endpoints(void **state)
{
	struct fx *f = *state;
	struct policy_user_state *u = policy_state_user(f->ps, "bob");
	unsigned st;
	json_t *v = NULL, *d = NULL, *e = NULL;

	atomic_store(&u->active, 2);
	atomic_store(&u->bytes_up, 100);
	atomic_store(&u->bytes_down, 50);
	atomic_store(&f->ps->active_streams, 2);
	v = req(f, TOKEN, "GET", "/api/health", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 200);
	d = json_object_get(v, "data");
	assert_string_equal(json_string_value(json_object_get(d, "status")),
	    "ok");
	assert_int_equal(json_integer_value(json_object_get(d,
	    "active_connections")), 2);
	json_decref(v);
	v = req(f, TOKEN, "GET", "/api/status", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v,
	    "data"), "total_users")), 2);
	json_decref(v);
	v = req(f, TOKEN, "GET", "/api/users", "Bearer " TOKEN, "yes", &st,
	    NULL);
	assert_int_equal(st, 200);
	d = json_object_get(v, "data");
	assert_int_equal(json_array_size(d), 2);
	e = json_array_get(d, 1);
	assert_string_equal(json_string_value(json_object_get(e, "username")),
	    "bob");
	assert_int_equal(json_integer_value(json_object_get(e,
	    "current_connections")), 2);
	assert_int_equal(json_integer_value(json_object_get(e,
	    "total_bytes_transferred")), 150);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(e, "source_ips"), 0)), "10.0.0.0/8");
	json_decref(v);
	/* Without details: no live counters. */
	v = req(f, TOKEN, "GET", "/api/users", "Bearer " TOKEN, "no", &st,
	    NULL);
	e = json_array_get(json_object_get(v, "data"), 0);
	assert_null(json_object_get(e, "current_connections"));
	json_decref(v);
	v = req(f, TOKEN, "GET", "/api/users/bob", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 200);
	assert_true(json_is_true(json_object_get(json_object_get(v, "data"),
	    "has_password")));
	json_decref(v);
	v = req(f, TOKEN, "GET", "/api/users/nobody", "Bearer " TOKEN, NULL,
	    &st, NULL);
	assert_int_equal(st, 404);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "user 'nobody' not found");
	json_decref(v);
	v = req(f, TOKEN, "GET", "/api/connections", "Bearer " TOKEN, NULL,
	    &st, NULL);
	d = json_object_get(json_object_get(v, "data"), "user_connections");
	assert_int_equal(json_array_size(d), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(d, 0), "username")), "bob");
	json_decref(v);
}

/* Maintenance (SIGUSR1) shows on health, status and the probes. */
static void
test_maintenance(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	unsigned st;
	json_t *v = NULL;

	assert_int_equal(policy_maintenance_toggle(f->ps), 1);
	v = req(f, TOKEN, "GET", "/api/health", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 503);
	assert_true(json_is_false(json_object_get(v, "success")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    v, "data"), "status")), "maintenance");
	json_decref(v);
	v = req(f, TOKEN, "GET", "/readyz", NULL, NULL, &st, NULL);
	assert_int_equal(st, 503);
	json_decref(v);
	admin_metrics_handle(&f->env, "GET", "/health", &r);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "maintenance");
	admin_resp_cleanup(&r);
	assert_int_equal(policy_maintenance_toggle(f->ps), 0);
	v = req(f, TOKEN, "GET", "/api/health", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 200);
	json_decref(v);
}

static void
test_config_redacted(void **state)
{
	struct fx *f = *state;
	unsigned st;
	char *raw = NULL;
	json_t *v = NULL;

	v = req(f, TOKEN, "GET", "/api/config", "Bearer " TOKEN, NULL, &st,
	    &raw);
	assert_int_equal(st, 200);
	assert_non_null(v);
	assert_null(strstr(raw, TOKEN));
	assert_null(strstr(raw, "argon2id"));
	assert_non_null(strstr(raw, "127.0.0.1:1080"));
	free(raw);
	json_decref(v);
}

static void
test_reload_and_methods(void **state)
{
	struct fx *f = *state;
	unsigned st;
	json_t *v = NULL;

	v = req(f, TOKEN, "GET", "/api/reload", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 405);
	json_decref(v);
	assert_int_equal(f->reloads, 0);
	v = req(f, TOKEN, "POST", "/api/status", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 405);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/reload", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v,
	    "data"), "users_count")), 2);
	json_decref(v);
	f->reload_fail = 1;
	v = req(f, TOKEN, "POST", "/api/reload", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 500);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "t.toml:1:1: broken");
	json_decref(v);
	assert_int_equal(f->reloads, 2);
}

/* POST /api/kick/{user} and POST /api/quotas/{user}/reset. */
static void
test_operator_actions(void **state)
{
	struct fx *f = *state;
	unsigned st;
	json_t *v = NULL, *d = NULL;

	nseen = 0;
	assert_int_equal(admin_hook_add(on_admin, NULL), 0);
	v = req(f, TOKEN, "POST", "/api/kick/alice", NULL, NULL, &st, NULL);
	assert_int_equal(st, 401);
	json_decref(v);
	v = req(f, TOKEN, "GET", "/api/kick/alice", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 405);
	json_decref(v);
	assert_int_equal(f->kicks, 0);
	v = req(f, TOKEN, "POST", "/api/kick/alice", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 200);
	d = json_object_get(v, "data");
	assert_true(json_is_true(json_object_get(d, "kicked")));
	assert_string_equal(json_string_value(json_object_get(d, "username")),
	    "alice");
	assert_int_equal(json_integer_value(json_object_get(d,
	    "sessions_cancelled")), 2);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/kick/bob", "Bearer " TOKEN, NULL, &st,
	    NULL);
	assert_int_equal(st, 200);
	d = json_object_get(v, "data");
	assert_true(json_is_false(json_object_get(d, "kicked")));
	assert_int_equal(json_integer_value(json_object_get(d,
	    "sessions_cancelled")), 0);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/kick/mallory", "Bearer " TOKEN, NULL,
	    &st, NULL);
	assert_int_equal(st, 404);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "user 'mallory' not found");
	json_decref(v);
	assert_int_equal(f->kicks, 2);

	v = req(f, TOKEN, "GET", "/api/quotas/alice/reset", "Bearer " TOKEN,
	    NULL, &st, NULL);
	assert_int_equal(st, 405);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/quotas/alice/reset", NULL, NULL, &st,
	    NULL);
	assert_int_equal(st, 401);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/quotas/alice/reset", "Bearer " TOKEN,
	    NULL, &st, NULL);
	assert_int_equal(st, 200);
	d = json_object_get(v, "data");
	assert_string_equal(json_string_value(json_object_get(d, "username")),
	    "alice");
	assert_true(json_is_true(json_object_get(d, "reset")));
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/quotas/mallory/reset", "Bearer " TOKEN,
	    NULL, &st, NULL);
	assert_int_equal(st, 404);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/quotas//reset", "Bearer " TOKEN, NULL,
	    &st, NULL);
	assert_int_equal(st, 404);
	json_decref(v);
	v = req(f, TOKEN, "POST", "/api/quotas/a/b/reset", "Bearer " TOKEN,
	    NULL, &st, NULL);
	assert_int_equal(st, 404);
	json_decref(v);

	/* One admin event per change made, none for refusals. */
	assert_int_equal(nseen, 3);
	assert_string_equal(seen[0], "kick api alice 2");
	assert_string_equal(seen[1], "kick api bob 0");
	assert_string_equal(seen[2], "quota_reset api alice -1");
	stream_hooks_clear();
}

/* The optional body of POST /api/kick/{user}. */
static void
test_kick_message(void **state)
{
	struct fx *f = *state;
	struct admin_req rq;
	struct admin_resp r;
	static const char *bad[] = { "[1]", "{", "{\"message\":5}",
	    "{\"message\":\"a\\u0000b\"}" };
	char big[400];
	size_t i;

	nseen = 0;
	assert_int_equal(admin_hook_add(on_admin, NULL), 0);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = "/api/kick/alice";
	rq.authz = "Bearer " TOKEN;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rq.body = bad[i];
		rq.body_len = strlen(bad[i]);
		admin_api_serve(&f->env, TOKEN, &rq, &r);
		assert_in_range(r.status, 400, 422);
		admin_resp_cleanup(&r);
	}
	snprintf(big, sizeof(big), "{\"message\":\"%0300d\"}", 0);
	rq.body = big;
	rq.body_len = strlen(big);
	admin_api_serve(&f->env, TOKEN, &rq, &r);
	assert_int_equal(r.status, 422);
	admin_resp_cleanup(&r);
	assert_int_equal(f->kicks, 0);
	rq.body = "{\"message\":\"bye \\\"now\\\"\"}";
	rq.body_len = strlen(rq.body);
	admin_api_serve(&f->env, TOKEN, &rq, &r);
	assert_int_equal(r.status, 200);
	admin_resp_cleanup(&r);
	assert_int_equal(f->kicks, 1);
	assert_int_equal(nseen, 1);
	assert_string_equal(seen_msg, "bye \"now\"");
	stream_hooks_clear();
}

static void
test_metrics_page(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	struct policy_user_state *u = NULL;

	f->env.metrics = metrics_new(1);
	u = policy_state_user(f->ps, "alice");
	atomic_store(&u->bytes_up, 7);
	u = policy_state_user(f->ps, "bob");
	atomic_store(&u->bytes_up, 5);
	atomic_store(&u->active, 1);
	admin_metrics_handle(&f->env, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.ctype, "version=0.0.4"));
	assert_non_null(strstr(r.body,
	    "sks5_bytes_transferred_total{user=\"alice\"} 7\n"));
	assert_non_null(strstr(r.body,
	    "sks5_bytes_transferred_total{user=\"_other\"} 5\n"));
	assert_non_null(strstr(r.body,
	    "sks5_connections_active{user=\"_other\"} 1\n"));
	assert_non_null(strstr(r.body, "# TYPE sks5_connections_active "
	    "gauge\n"));
	assert_null(strstr(r.body, "bob"));
	admin_resp_cleanup(&r);
	admin_metrics_handle(&f->env, "GET", "/livez", &r);
	assert_int_equal(r.status, 200);
	admin_resp_cleanup(&r);
	admin_metrics_handle(&f->env, "POST", "/metrics", &r);
	assert_int_equal(r.status, 405);
	admin_resp_cleanup(&r);
	admin_metrics_handle(&f->env, "GET", "/api/status", &r);
	assert_int_equal(r.status, 404);
	admin_resp_cleanup(&r);
	metrics_free(f->env.metrics);
	f->env.metrics = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_endpoints, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_maintenance, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config_redacted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_and_methods, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_operator_actions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kick_message, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_metrics_page, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

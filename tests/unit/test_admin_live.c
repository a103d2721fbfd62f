/*
 * Unit tests for the REST endpoints of the live management plane
 * (sessions, groups, quotas, bans, ssh-config, maintenance, tickets,
 * dashboard) through admin_api_serve(), without sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin/admin_int.h"
#include "admin/ticket.h"
#include "config/config.h"
#include "core/util.h"
#include "policy/events.h"
#include "policy/limits.h"
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
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct cfg_overrides ov;
	struct cfg_diag d;
	const char *text = "[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
	    "ssh_listen = \"127.0.0.1:2222\"\n"
	    "[api]\nenabled = true\ntoken = \"" TOKEN "\"\n"
	    "[[groups]]\nname = \"zeta\"\n"
	    "[[groups]]\nname = \"alpha\"\n"
	    "[groups.quotas]\ndaily_bandwidth_bytes = 5000\n"
	    "[[users]]\nusername = \"alice\"\npassword_hash = \"" T_HASH "\"\n"
	    "group = \"alpha\"\n"
	    "[[users]]\nusername = \"bob\"\npassword_hash = \"" T_HASH "\"\n";

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
	f->env.start_ms = util_mono_ms();
	f->env.tickets = ticket_store_new(TOKEN);
	f->env.live = admin__live_new(&f->env);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	admin__live_free(f->env.live);
	ticket_store_free(f->env.tickets);
	policy_holder_cleanup(&f->holder);
	policy_state_free(f->ps);
	free(f);
	return 0;
}

/* Query arguments of one test request: "k=v&k=v" without escapes. */
static const char *
q_arg(void *ctx, const char *key)
{
	static char vals[4][256];
	static int next;
	char *val = vals[next++ % 4];
	const char *q = ctx, *p = NULL;
	size_t kl = strlen(key), n;

	if (q == NULL)
		return NULL;
	for (p = q; p != NULL && *p != '\0'; p = strchr(p, '&'),
	    p = p != NULL ? p + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			n = strcspn(p + kl + 1, "&");
			if (n >= sizeof(vals[0]))
				n = sizeof(vals[0]) - 1;
			memcpy(val, p + kl + 1, n);
			val[n] = '\0';
			return val;
		}
	}
	return NULL;
}

/* Runs one request; returns the parsed JSON or NULL (raw body kept). */
static json_t *
call(struct fx *f, const char *method, const char *path, const char *query,
    const char *authz, struct admin_resp *r)
{
	struct admin_req rq;
	json_error_t e;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.authz = authz;
	rq.arg = q_arg;
	rq.ctx = (void *)(uintptr_t)query;
	admin_api_serve(&f->env, TOKEN, &rq, r);
	if (r->ctype != NULL && strcmp(r->ctype, "application/json") == 0)
		return json_loadb(r->body, r->len, 0, &e);
	return NULL;
}

#define AUTH	"Bearer " TOKEN

static void
test_groups_quotas(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	json_t *v = NULL, *d = NULL;
	struct policy_snap *s = NULL;
	const struct policy_user *u = NULL;

	/* Some usage for alice. */
	s = policy_holder_get(&f->holder);
	u = policy_snap_user(s, "alice");
	pthread_mutex_lock(&u->state->lock);
	quota_add_bytes(&u->state->quota, 1234, policy_now_ms());
	pthread_mutex_unlock(&u->state->lock);
	policy_snap_unref(s);

	v = call(f, "GET", "/api/groups", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	d = json_object_get(v, "data");
	assert_int_equal(json_array_size(d), 2);
	/* Sorted by name; empty groups listed too. */
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(d, 0), "name")), "alpha");
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(d, 0), "member_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(d, 0), "total_daily_bytes")), 1234);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(d, 1), "member_count")), 0);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/groups/alpha", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(v, "data"), "members"), 0),
	    "username")), "alice");
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/groups/nope", NULL, AUTH, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "group 'nope' not found");
	json_decref(v);
	admin_resp_cleanup(&r);

	v = call(f, "GET", "/api/quotas", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(v, "data")), 2);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/quotas/alice", NULL, AUTH, &r);
	d = json_object_get(v, "data");
	assert_int_equal(json_integer_value(json_object_get(d,
	    "daily_bytes")), 1234);
	assert_int_equal(json_integer_value(json_object_get(d,
	    "total_bytes")), 1234);
	assert_int_equal(json_integer_value(json_object_get(d,
	    "daily_bytes_limit")), 5000);
	json_decref(v);
	admin_resp_cleanup(&r);
	/* Unknown names: 404, and no state is created for them. */
	v = call(f, "GET", "/api/quotas/mallory", NULL, AUTH, &r);
	assert_int_equal(r.status, 404);
	json_decref(v);
	admin_resp_cleanup(&r);
	pthread_mutex_lock(&f->ps->lock);
	for (size_t i = 0; i < f->ps->nusers; i++)
		assert_string_not_equal(f->ps->users[i]->name, "mallory");
	pthread_mutex_unlock(&f->ps->lock);
	/* Names that are not UTF-8 are answered, not crashed on. */
	v = call(f, "GET", "/api/quotas/\xff\xfe", NULL, AUTH, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(v);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/users/\xc3", NULL, AUTH, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(v);
	json_decref(v);
	admin_resp_cleanup(&r);
}

static void
test_bans(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	struct sockaddr_in sa;
	unsigned char key[16];
	json_t *v = NULL, *e = NULL;
	int64_t now = policy_now_ms();

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &sa.sin_addr);
	assert_int_equal(ipt_key((struct sockaddr *)&sa, key), 0);
	pthread_mutex_lock(&f->ps->glock);
	if (f->ps->ipt.slots == NULL)	/* set up by the first check */
		ipt_init(&f->ps->ipt, 1000);
	ipt_ban(&f->ps->ipt, key, now + 600000, now);
	pthread_mutex_unlock(&f->ps->glock);
	v = call(f, "GET", "/api/bans", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	e = json_array_get(json_object_get(v, "data"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "ip")),
	    "192.0.2.7");
	assert_in_range(json_integer_value(json_object_get(e,
	    "remaining_secs")), 590, 600);
	assert_non_null(json_string_value(json_object_get(e, "expires_at")));
	json_decref(v);
	admin_resp_cleanup(&r);
	/* DELETE on the list is refused; on an address it unbans. */
	v = call(f, "DELETE", "/api/bans", NULL, AUTH, &r);
	assert_int_equal(r.status, 405);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "DELETE", "/api/bans/192.0.2.7", NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/bans/192.0.2.7", NULL, AUTH, &r);
	assert_int_equal(r.status, 405);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "DELETE", "/api/bans/192.0.2.300", NULL, AUTH, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "invalid IP address");
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "DELETE", "/api/bans/192.0.2.8", NULL, AUTH, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(json_string_value(json_object_get(v, "error")),
	    "IP not banned");
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "DELETE", "/api/bans/192.0.2.7", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	e = json_object_get(v, "data");
	assert_string_equal(json_string_value(json_object_get(e, "ip")),
	    "192.0.2.7");
	assert_true(json_is_true(json_object_get(e, "unbanned")));
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/bans", NULL, AUTH, &r);
	assert_int_equal(json_array_size(json_object_get(v, "data")), 0);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "DELETE", "/api/bans/192.0.2.7", NULL, AUTH, &r);
	assert_int_equal(r.status, 404);
	json_decref(v);
	admin_resp_cleanup(&r);
}

static void
test_ssh_config(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	static const char *bad[] = { "user=al%20ice", "user=a%0AProxyCommand",
	    "user=-oProxyCommand", "user=a%25h", "user=alice&host=x%0Ay",
	    "user=alice&host=a%20b", "user=alice&host=", "", "user=a\"b",
	    "user=alice&host=-x" };
	size_t i;

	(void)call(f, "GET", "/api/ssh-config", "user=alice&host=bastion.test",
	    AUTH, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.ctype, "text/plain; charset=utf-8");
	assert_string_equal(r.body, "Host bastion.test\n    HostName "
	    "bastion.test\n    Port 2222\n    User alice\n"
	    "    DynamicForward 1080\n");
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/ssh-config", "user=alice", AUTH, &r);
	assert_non_null(strstr(r.body, "HostName localhost\n"));
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/ssh-config", "user=alice&host=2001:db8::1",
	    AUTH, &r);
	assert_int_equal(r.status, 200);
	admin_resp_cleanup(&r);
	/* The query here is not unescaped: %XX stays literal, also bad. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char q[128];

		snprintf(q, sizeof(q), "%s", bad[i]);
		/* Real control bytes and spaces too. */
		if (strstr(q, "%0A") != NULL)
			memcpy(strstr(q, "%0A"), "\n\n\n", 3);
		if (strstr(q, "%20") != NULL)
			memcpy(strstr(q, "%20"), "   ", 3);
		(void)call(f, "GET", "/api/ssh-config", q, AUTH, &r);
		assert_int_equal(r.status, 400);
		admin_resp_cleanup(&r);
	}
}

static void
test_maintenance_tickets(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	json_t *v = NULL;
	char q[TICKET_LEN + 16];
	const char *t = NULL;

	v = call(f, "POST", "/api/maintenance", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(json_object_get(v, "data"),
	    "maintenance")));
	assert_int_equal(atomic_load(&f->ps->maint_manual), 1);
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "POST", "/api/maintenance", NULL, AUTH, &r);
	assert_true(json_is_false(json_object_get(json_object_get(v, "data"),
	    "maintenance")));
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/maintenance", NULL, AUTH, &r);
	assert_int_equal(r.status, 405);
	json_decref(v);
	admin_resp_cleanup(&r);

	v = call(f, "POST", "/api/sse-ticket", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	t = json_string_value(json_object_get(json_object_get(v, "data"),
	    "ticket"));
	assert_non_null(t);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v,
	    "data"), "expires_in")), 30);
	snprintf(q, sizeof(q), "ticket=%s", t);
	json_decref(v);
	admin_resp_cleanup(&r);
	/* A ticket opens the streams only, and only once. */
	(void)call(f, "GET", "/api/status", q, NULL, &r);
	assert_int_equal(r.status, 401);
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/events", q, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.stream, ADMIN_STREAM_SSE);
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/events", q, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_int_equal(r.stream, ADMIN_STREAM_NONE);
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/ws", "ticket=1:2:3", NULL, &r);
	assert_int_equal(r.status, 401);
	admin_resp_cleanup(&r);
	/* A wrong Bearer header is not rescued by a ticket. */
	v = call(f, "POST", "/api/sse-ticket", NULL, AUTH, &r);
	snprintf(q, sizeof(q), "ticket=%s", json_string_value(json_object_get(
	    json_object_get(v, "data"), "ticket")));
	json_decref(v);
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/ws", q, "Bearer wrong", &r);
	assert_int_equal(r.status, 401);
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/ws", q, NULL, &r);
	assert_int_equal(r.stream, ADMIN_STREAM_WS);
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/api/events", NULL, AUTH, &r);
	assert_int_equal(r.stream, ADMIN_STREAM_SSE);
	admin_resp_cleanup(&r);
	v = call(f, "POST", "/api/events", NULL, AUTH, &r);
	assert_int_equal(r.status, 405);
	json_decref(v);
	admin_resp_cleanup(&r);
}

static void
test_dashboard(void **state)
{
	struct fx *f = *state;
	struct admin_resp r;
	const char *csp = NULL;

	(void)call(f, "GET", "/", NULL, NULL, &r);
	assert_int_equal(r.status, 308);
	assert_string_equal(r.location, "/dashboard");
	admin_resp_cleanup(&r);
	(void)call(f, "GET", "/dashboard", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.dashboard);
	assert_non_null(strstr(r.body, admin__dash_js));
	assert_non_null(strstr(r.body, admin__dash_css));
	assert_null(strstr(r.body, "@@"));
	/* No outside resource. */
	assert_null(strstr(r.body, "http://"));
	assert_null(strstr(r.body, "https://"));
	assert_null(strstr(r.body, "src="));
	admin_resp_cleanup(&r);
	csp = admin__dash_csp();
	assert_non_null(strstr(csp, "default-src 'none'"));
	assert_non_null(strstr(csp, "script-src 'sha256-"));
	assert_null(strstr(csp, "unsafe"));
}

static void
test_sessions_feed(void **state)
{
	struct fx *f = *state;
	struct stream_event ev;
	struct admin_resp r;
	json_t *v = NULL, *e = NULL;

	memset(&ev, 0, sizeof(ev));
	ev.phase = STREAM_START;
	ev.proto = "socks5";
	ev.user = "alice";
	ev.source = "127.0.0.1:5000";
	ev.host = "example.test";
	ev.port = 443;
	admin__live_stream(&ev, f->env.live);
	ev.source = "127.0.0.1:5001";
	admin__live_stream(&ev, f->env.live);
	v = call(f, "GET", "/api/sessions", NULL, AUTH, &r);
	assert_int_equal(json_array_size(json_object_get(v, "data")), 2);
	e = json_array_get(json_object_get(v, "data"), 0);
	assert_string_equal(json_string_value(json_object_get(e,
	    "session_id")), "s1");
	assert_string_equal(json_string_value(json_object_get(e,
	    "source_ip")), "127.0.0.1");
	json_decref(v);
	admin_resp_cleanup(&r);
	ev.phase = STREAM_END;
	ev.source = "127.0.0.1:5000";
	admin__live_stream(&ev, f->env.live);
	v = call(f, "GET", "/api/sessions/alice", NULL, AUTH, &r);
	assert_int_equal(json_array_size(json_object_get(v, "data")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(v, "data"), 0), "session_id")), "s2");
	json_decref(v);
	admin_resp_cleanup(&r);
	v = call(f, "GET", "/api/sessions/bob", NULL, AUTH, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(v, "data")), 0);
	json_decref(v);
	admin_resp_cleanup(&r);
}

/* A client that never reads is dropped when its queue fills. */
static void
test_slow_client_dropped(void **state)
{
	struct fx *f = *state;
	struct live_client *c = NULL, *d = NULL;
	struct live_msg *m = NULL;
	json_t *o = NULL;
	int end = 0, i, n = 0;

	c = admin__live_join(f->env.live, 1, NULL, NULL);
	assert_non_null(c);
	for (i = 0; i < LIVE_QUEUE_MAX + 10; i++) {
		o = admin__event_new("test.event");
		admin__publish(f->env.live, o);
	}
	m = admin__live_pop(f->env.live, c, &end, NULL, NULL);
	assert_null(m);
	assert_int_equal(end, 1);
	assert_true(admin__live_overflowed(f->env.live, c));
	/* A new client gets the last LIVE_BACKLOG events, in order. */
	d = admin__live_join(f->env.live, 1, NULL, NULL);
	while ((m = admin__live_pop(f->env.live, d, &end, NULL, NULL)) !=
	    NULL) {
		assert_int_equal(m->kind, LIVE_EVENT);
		assert_int_equal(m->id, (uint64_t)(LIVE_QUEUE_MAX + 10 -
		    LIVE_BACKLOG + 1 + n));
		n++;
		admin__live_unref(m);
	}
	assert_int_equal(n, LIVE_BACKLOG);
	assert_int_equal(end, 0);
	admin__live_leave(f->env.live, c);
	admin__live_leave(f->env.live, d);
	/* The stream cap. */
	{
		struct live_client *all[LIVE_STREAMS_MAX];

		for (i = 0; i < LIVE_STREAMS_MAX; i++)
			assert_non_null(all[i] = admin__live_join(f->env.live,
			    1, NULL, NULL));
		assert_null(admin__live_join(f->env.live, 1, NULL, NULL));
		assert_false(admin__live_room(f->env.live));
		for (i = 0; i < LIVE_STREAMS_MAX; i++)
			admin__live_leave(f->env.live, all[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_groups_quotas, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ssh_config, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_maintenance_tickets, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dashboard, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sessions_feed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_dropped, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

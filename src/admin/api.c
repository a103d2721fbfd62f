/*
 * The REST API: bearer-token authentication, the read-only endpoints and
 * the operator actions (reload, maintenance, unban, kick, quota reset).
 * Every other path, including the endpoints of the original that are not
 * built yet, gets 404 with a JSON error.
 */
#include "admin/admin_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "admin/ticket.h"
#include "core/err.h"
#include "config/config.h"
#include "core/util.h"
#include "core/version.h"
#include "policy/policy.h"
#include "policy/snap.h"

#define API_JSON	"application/json"
#define API_TEXT	"text/plain; charset=utf-8"
#define API_PFX		"Bearer "

/* Sets a response from a JSON value (consumed). */
static void
resp_json(struct admin_resp *r, unsigned status, json_t *v)
{
	r->status = status;
	r->ctype = API_JSON;
	r->body = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (r->body == NULL)
		abort();
	r->len = strlen(r->body);
}

/* The success envelope around data (consumed). */
static void
resp_ok(struct admin_resp *r, json_t *data)
{
	resp_json(r, 200, json_pack("{s:b,s:o}", "success", 1, "data", data));
}

/* The error envelope. */
static void
resp_err(struct admin_resp *r, unsigned status, const char *msg)
{
	/* msg may quote a name from the request: any bytes. */
	resp_json(r, status, json_pack("{s:b,s:o}", "success", 0, "error",
	    admin__jstr(msg)));
}

/* A plain-text response. */
static void
resp_plain(struct admin_resp *r, unsigned status, const char *text)
{
	r->status = status;
	r->ctype = API_TEXT;
	r->body = xstrdup(text);
	r->len = strlen(text);
}

/*
 * True when authz is "Bearer <token>". Both sides are hashed first so
 * that the comparison takes the same time whatever the lengths.
 */
static int
api_auth_ok(const char *token, const char *authz)
{
	unsigned char want[crypto_generichash_BYTES];
	unsigned char got[crypto_generichash_BYTES];
	const char *given = NULL;
	int ok;

	if (authz == NULL || strncmp(authz, API_PFX, strlen(API_PFX)) != 0)
		return 0;
	given = authz + strlen(API_PFX);
	crypto_generichash(want, sizeof(want), (const unsigned char *)token,
	    strlen(token), NULL, 0);
	crypto_generichash(got, sizeof(got), (const unsigned char *)given,
	    strlen(given), NULL, 0);
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	util_wipe(want, sizeof(want));
	util_wipe(got, sizeof(got));
	return ok;
}

/* A string array as JSON. */
static json_t *
json_strv(const struct cfg_strv *v)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

/* A string or null. */
static json_t *
json_str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The listing entry of one user, with live counters when details. */
static json_t *
api_user(const struct policy_user *u, int details)
{
	const struct cfg_user *c = u->cfg;
	const struct policy_user_state *st = u->state;
	json_t *o = json_object();

	json_object_set_new(o, "username", json_string(c->username));
	json_object_set_new(o, "allow_shell", json_boolean(c->eff.allow_shell));
	json_object_set_new(o, "authorized_keys_count",
	    json_integer((json_int_t)c->authorized_keys.n));
	json_object_set_new(o, "source_ips", json_strv(&c->source_ips));
	json_object_set_new(o, "expires_at", json_str_or_null(c->expires_at));
	if (!details || st == NULL)
		return o;
	json_object_set_new(o, "current_connections",
	    json_integer(atomic_load(&st->active)));
	json_object_set_new(o, "total_bytes_transferred",
	    json_integer((json_int_t)(atomic_load(&st->bytes_up) +
	    atomic_load(&st->bytes_down))));
	json_object_set_new(o, "bytes_up",
	    json_integer((json_int_t)atomic_load(&st->bytes_up)));
	json_object_set_new(o, "bytes_down",
	    json_integer((json_int_t)atomic_load(&st->bytes_down)));
	json_object_set_new(o, "streams_total",
	    json_integer((json_int_t)atomic_load(&st->streams)));
	json_object_set_new(o, "auth_failures",
	    json_integer((json_int_t)atomic_load(&st->auth_failures)));
	return o;
}

/* One user in full: the listing with details plus effective settings. */
static json_t *
api_user_detail(const struct policy_user *u)
{
	const struct cfg_user *c = u->cfg;
	json_t *o = api_user(u, 1);

	json_object_set_new(o, "role", json_string(c->eff.role ==
	    CFG_ROLE_ADMIN ? "admin" : "user"));
	json_object_set_new(o, "group", json_str_or_null(c->group));
	json_object_set_new(o, "has_password",
	    json_boolean(c->password_hash != NULL));
	json_object_set_new(o, "totp_enabled", json_boolean(c->totp_enabled));
	json_object_set_new(o, "allow_forwarding",
	    json_boolean(c->eff.allow_forwarding));
	json_object_set_new(o, "max_connections",
	    json_integer(c->eff.max_connections));
	json_object_set_new(o, "idle_warning_secs",
	    json_integer((json_int_t)c->eff.idle_warning_secs));
	return o;
}

/* Streams open now. */
static uint32_t
api_active(const struct admin_env *env)
{
	return atomic_load(&env->state->active_streams);
}

static uint64_t
api_uptime(const struct admin_env *env)
{
	return (util_mono_ms() - env->start_ms) / 1000;
}

/* 1 while maintenance is on (SIGUSR1 or a window). */
static int
api_maint(struct policy_snap *s)
{
	return policy_maintenance(s, policy_now_ms(), NULL, NULL) != 0;
}

/* GET /api/health: 503 with the same data in maintenance. */
static void
api_health(const struct admin_env *env, struct policy_snap *s,
    struct admin_resp *r)
{
	int m = api_maint(s);

	resp_json(r, m ? 503 : 200, json_pack("{s:b,s:{s:s,s:b,s:I,s:I}}",
	    "success", !m, "data", "status", m ? "maintenance" : "ok",
	    "maintenance", m, "active_connections", (json_int_t)api_active(env),
	    "uptime_secs", (json_int_t)api_uptime(env)));
}

/* GET /api/status */
static void
api_status(const struct admin_env *env, struct policy_snap *s,
    struct admin_resp *r)
{
	int m = api_maint(s);

	resp_ok(r, json_pack("{s:s,s:I,s:I,s:I,s:b,s:I,s:s}", "status",
	    m ? "maintenance" : "ok",
	    "uptime_secs", (json_int_t)api_uptime(env),
	    "active_connections", (json_int_t)api_active(env),
	    "total_users", (json_int_t)s->nusers, "maintenance", m,
	    "handshakes", (json_int_t)atomic_load(&env->state->handshakes),
	    "version", SKS5_VERSION));
}

/* GET /api/users[?details=true|1|yes] */
static void
api_users(struct policy_snap *s, int details, struct admin_resp *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->nusers; i++)
		json_array_append_new(a, api_user(&s->users[i], details));
	resp_ok(r, a);
}

/* GET /api/connections */
static void
api_connections(const struct admin_env *env, struct policy_snap *s,
    struct admin_resp *r)
{
	json_t *a = json_array();
	uint32_t n;
	size_t i;

	for (i = 0; i < s->nusers; i++) {
		if (s->users[i].state == NULL ||
		    (n = atomic_load(&s->users[i].state->active)) == 0)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:I}", "username",
		    s->users[i].cfg->username, "connections", (json_int_t)n));
	}
	resp_ok(r, json_pack("{s:I,s:o}", "active_connections",
	    (json_int_t)api_active(env), "user_connections", a));
}

/* GET /api/config: the effective configuration, secrets redacted. */
static void
api_config(struct policy_snap *s, struct admin_resp *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *v = NULL;
	json_error_t jerr;

	if (f == NULL) {
		resp_err(r, 500, "out of memory");
		return;
	}
	if (cfg_dump(s->cfg, CFG_FMT_JSON, 1, f) != 0) {
		fclose(f);
		free(text);
		resp_err(r, 500, "cannot render the configuration");
		return;
	}
	fclose(f);
	v = json_loadb(text, len, 0, &jerr);
	free(text);
	if (v == NULL) {
		resp_err(r, 500, "cannot render the configuration");
		return;
	}
	resp_ok(r, v);
}

/* POST /api/reload */
static void
api_reload(const struct admin_env *env, struct admin_resp *r)
{
	char err[512];
	size_t users = 0;

	if (env->reload == NULL) {
		resp_err(r, 500, "reload is not available");
		return;
	}
	err[0] = '\0';
	if (env->reload(env->reload_arg, &users, err, sizeof(err)) != 0) {
		resp_err(r, 500, err[0] != '\0' ? err : "reload failed");
		return;
	}
	resp_ok(r, json_pack("{s:I}", "users_count", (json_int_t)users));
}

/* True for the values of ?details= that mean yes. */
static int
api_truthy(const char *v)
{
	return v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
	    strcmp(v, "yes") == 0);
}

/* GET /api/quotas[/{name}]: configured users only. */
static void
api_quotas(struct policy_snap *s, const char *name, struct admin_resp *r)
{
	const struct policy_user *u = NULL;
	int64_t now = policy_now_ms();
	json_t *a = NULL;
	char msg[300];
	size_t i;

	if (name != NULL) {
		if ((u = policy_snap_user(s, name)) == NULL) {
			snprintf(msg, sizeof(msg), "user '%.200s' not found",
			    name);
			resp_err(r, 404, msg);
		} else
			resp_ok(r, admin__quota_json(u, now, 0));
		return;
	}
	a = json_array();
	for (i = 0; i < s->nusers; i++)
		json_array_append_new(a, admin__quota_json(&s->users[i], now,
		    0));
	resp_ok(r, a);
}

/* GET /api/groups[/{name}] */
static void
api_groups(struct policy_snap *s, const char *name, struct admin_resp *r)
{
	json_t *g = NULL;
	char msg[300];

	if (name == NULL) {
		resp_ok(r, admin__groups_json(s, policy_now_ms(), 1));
		return;
	}
	if ((g = admin__group_json(s, name, policy_now_ms())) == NULL) {
		snprintf(msg, sizeof(msg), "group '%.200s' not found", name);
		resp_err(r, 404, msg);
	} else
		resp_ok(r, g);
}

/* GET /api/bans */
static void
api_bans(const struct admin_env *env, struct admin_resp *r)
{
	int64_t now = policy_now_ms();
	struct admin_ban *b = NULL;
	size_t n = 0;

	b = admin__bans(env->state, now, &n);
	resp_ok(r, admin__bans_json(b, n, now, 1));
	free(b);
}

/* DELETE /api/bans/{ip} */
static void
api_unban(const struct admin_env *env, const char *ip, struct admin_resp *r)
{
	int rc = admin__unban(env, ip, "api");

	if (rc == ERR_INVAL)
		resp_err(r, 400, "invalid IP address");
	else if (rc != 0)
		resp_err(r, 404, "IP not banned");
	else
		resp_ok(r, json_pack("{s:s,s:b}", "ip", ip, "unbanned", 1));
}

/* POST /api/kick/{username}: unknown names are 404 (the original said
 * kicked:false). */
static void
api_kick(const struct admin_env *env, const struct admin_req *rq,
    const char *user, struct admin_resp *r)
{
	json_t *b = NULL, *m = NULL;
	char msg[300];
	const char *text = NULL;
	size_t n = 0;
	int rc;

	/* Optional body {"message": "..."}; the message is only recorded. */
	if (rq->body != NULL && rq->body_len > 0) {
		b = json_loadb(rq->body, rq->body_len, 0, NULL);
		if (b == NULL || !json_is_object(b)) {
			json_decref(b);
			resp_err(r, 400, "body must be a JSON object");
			return;
		}
		m = json_object_get(b, "message");
		if (m != NULL && (!json_is_string(m) ||
		    json_string_length(m) > ADMIN_KICK_MSG_MAX ||
		    strlen(json_string_value(m)) != json_string_length(m))) {
			json_decref(b);
			resp_err(r, 422, "message must be a string of at most "
			    "256 bytes");
			return;
		}
		text = json_string_value(m);
	}
	rc = admin__kick(env, user, "api", text, &n);
	json_decref(b);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "user '%.200s' not found", user);
		resp_err(r, 404, msg);
		return;
	}
	resp_ok(r, json_pack("{s:b,s:o,s:I}", "kicked", n > 0, "username",
	    admin__jstr(user), "sessions_cancelled", (json_int_t)n));
}

/* POST /api/quotas/{username}/reset */
static void
api_quota_reset(const struct admin_env *env, const char *user,
    struct admin_resp *r)
{
	char msg[300];

	if (admin__quota_reset(env, user, "api") != 0) {
		snprintf(msg, sizeof(msg), "user '%.200s' not found", user);
		resp_err(r, 404, msg);
		return;
	}
	resp_ok(r, json_pack("{s:o,s:b}", "username", admin__jstr(user),
	    "reset", 1));
}

/* The user of "/api/quotas/{user}/reset" copied into buf, or NULL. */
static const char *
api_reset_user(const char *path, char *buf, size_t len)
{
	const char *pfx = "/api/quotas/", *sfx = "/reset", *u = NULL;
	size_t n;

	if (strncmp(path, pfx, strlen(pfx)) != 0)
		return NULL;
	u = path + strlen(pfx);
	n = strlen(u);
	if (n <= strlen(sfx) || strcmp(u + n - strlen(sfx), sfx) != 0)
		return NULL;
	n -= strlen(sfx);
	if (n >= len || memchr(u, '/', n) != NULL)
		return NULL;
	memcpy(buf, u, n);
	buf[n] = '\0';
	return buf;
}

/* GET /api/ssh-config?user=&host= (text/plain) */
static void
api_ssh_config(struct policy_snap *s, const struct admin_req *rq,
    struct admin_resp *r)
{
	const char *host = rq->arg(rq->ctx, "host"), *err = NULL;
	char *text = NULL;

	text = admin__ssh_config(cfg_ssh_listen(s->cfg), rq->arg(rq->ctx,
	    "user"), host != NULL ? host : "localhost", &err);
	if (text == NULL) {
		resp_plain(r, cfg_ssh_listen(s->cfg) == NULL ? 404 : 400, err);
		return;
	}
	r->status = 200;
	r->ctype = API_TEXT;
	r->body = text;
	r->len = strlen(text);
}

/* POST /api/sse-ticket */
static void
api_ticket(const struct admin_env *env, struct admin_resp *r)
{
	char t[TICKET_LEN];

	if (env->tickets == NULL) {
		resp_err(r, 500, "tickets are not available");
		return;
	}
	ticket_issue(env->tickets, (int64_t)time(NULL), t);
	resp_ok(r, json_pack("{s:s,s:i}", "ticket", t, "expires_in",
	    TICKET_TTL_S));
	util_wipe(t, sizeof(t));
}

/* The name after prefix in path, or NULL when path is not prefix+name. */
static const char *
api_sub(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) != 0 || path[n] == '\0' ||
	    strchr(path + n, '/') != NULL)
		return NULL;
	return path + n;
}

/* Serves the GET routes of the read-only API; 0 when path is not one. */
static int
api_get(const struct admin_env *env, struct policy_snap *s,
    const struct admin_req *rq, struct admin_resp *r)
{
	const char *path = rq->path, *name = NULL;
	const struct policy_user *u = NULL;
	char msg[300];

	if (strcmp(path, "/api/health") == 0)
		api_health(env, s, r);
	else if (strcmp(path, "/api/status") == 0)
		api_status(env, s, r);
	else if (strcmp(path, "/api/users") == 0)
		api_users(s, api_truthy(rq->arg(rq->ctx, "details")), r);
	else if (strcmp(path, "/api/connections") == 0)
		api_connections(env, s, r);
	else if (strcmp(path, "/api/config") == 0)
		api_config(s, r);
	else if (strcmp(path, "/api/sessions") == 0)
		resp_ok(r, admin__sessions_json(env->live, NULL,
		    policy_now_ms(), 1));
	else if ((name = api_sub(path, "/api/sessions/")) != NULL)
		resp_ok(r, admin__sessions_json(env->live, name,
		    policy_now_ms(), 1));
	else if (strcmp(path, "/api/groups") == 0)
		api_groups(s, NULL, r);
	else if ((name = api_sub(path, "/api/groups/")) != NULL)
		api_groups(s, name, r);
	else if (strcmp(path, "/api/quotas") == 0)
		api_quotas(s, NULL, r);
	else if ((name = api_sub(path, "/api/quotas/")) != NULL)
		api_quotas(s, name, r);
	else if (strcmp(path, "/api/bans") == 0)
		api_bans(env, r);
	else if (strcmp(path, "/api/ssh-config") == 0)
		api_ssh_config(s, rq, r);
	else if (strcmp(path, "/api/events") == 0 ||
	    strcmp(path, "/api/ws") == 0) {
		if (env->live == NULL)
			resp_err(r, 503, "the live feed is not running");
		else {
			r->status = 200;
			r->stream = path[5] == 'e' ? ADMIN_STREAM_SSE :
			    ADMIN_STREAM_WS;
		}
	} else if ((name = api_sub(path, "/api/users/")) != NULL) {
		if ((u = policy_snap_user(s, name)) != NULL)
			resp_ok(r, api_user_detail(u));
		else {
			snprintf(msg, sizeof(msg), "user '%.200s' not found",
			    name);
			resp_err(r, 404, msg);
		}
	} else
		return 0;
	return 1;
}

/* Routes an authenticated /api/ request. */
static void
api_route(const struct admin_env *env, const struct admin_req *rq,
    struct admin_resp *r)
{
	struct policy_snap *s = policy_holder_get(env->policy);
	const char *m = rq->method, *path = rq->path, *name = NULL;
	int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
	char user[256];

	if ((name = api_sub(path, "/api/bans/")) != NULL) {
		if (strcmp(m, "DELETE") == 0)
			api_unban(env, name, r);
		else
			resp_err(r, 405, "method not allowed");
	} else if ((name = api_sub(path, "/api/kick/")) != NULL) {
		if (post)
			api_kick(env, rq, name, r);
		else
			resp_err(r, 405, "method not allowed");
	} else if ((name = api_reset_user(path, user, sizeof(user))) !=
	    NULL) {
		if (post)
			api_quota_reset(env, name, r);
		else
			resp_err(r, 405, "method not allowed");
	} else if (strcmp(path, "/api/reload") == 0) {
		if (post)
			api_reload(env, r);
		else
			resp_err(r, 405, "method not allowed");
	} else if (strcmp(path, "/api/maintenance") == 0) {
		if (post)
			resp_ok(r, json_pack("{s:b}", "maintenance",
			    admin__maintenance(env, -1, "api")));
		else
			resp_err(r, 405, "method not allowed");
	} else if (strcmp(path, "/api/sse-ticket") == 0) {
		if (post)
			api_ticket(env, r);
		else
			resp_err(r, 405, "method not allowed");
	} else if (get) {
		if (!api_get(env, s, rq, r))
			resp_err(r, 404, "not found");
	} else {
		/* A GET route with another method is 405, else 404. */
		struct admin_req g = *rq;
		struct admin_resp probe;

		g.method = "GET";
		memset(&probe, 0, sizeof(probe));
		if (strcmp(path, "/api/events") != 0 &&
		    strcmp(path, "/api/ws") != 0 && api_get(env, s, &g, &probe))
			resp_err(r, 405, "method not allowed");
		else if (strcmp(path, "/api/events") == 0 ||
		    strcmp(path, "/api/ws") == 0)
			resp_err(r, 405, "method not allowed");
		else
			resp_err(r, 404, "not found");
		admin_resp_cleanup(&probe);
	}
	policy_snap_unref(s);
}

/* Query lookup of admin_api_handle(): only "details". */
static const char *
api_details_arg(void *ctx, const char *key)
{
	return strcmp(key, "details") == 0 ? ctx : NULL;
}

void
admin_api_handle(const struct admin_env *env, const char *token,
    const char *method, const char *path, const char *authz,
    const char *details, struct admin_resp *r)
{
	struct admin_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.authz = authz;
	rq.arg = api_details_arg;
	rq.ctx = (void *)(uintptr_t)details;
	admin_api_serve(env, token, &rq, r);
}

/* The unauthenticated routes; 1 when path was one of them. */
static int
api_public(const struct admin_env *env, const struct admin_req *rq,
    struct admin_resp *r)
{
	struct policy_snap *s = NULL;
	int get = strcmp(rq->method, "GET") == 0 ||
	    strcmp(rq->method, "HEAD") == 0;
	int ready, m;

	if (!get)
		return 0;
	if (strcmp(rq->path, "/livez") == 0) {
		resp_plain(r, 200, "ok");
	} else if (strcmp(rq->path, "/readyz") == 0) {
		s = policy_holder_get(env->policy);
		m = api_maint(s);
		ready = s->nusers > 0 && !m;
		resp_json(r, ready ? 200 : 503, json_pack(
		    "{s:b,s:{s:s,s:s,s:s}}", "ready", ready, "checks", "auth",
		    s->nusers > 0 ? "ok" : "no_users_loaded", "metrics", "ok",
		    "maintenance", m ? "enabled" : "disabled"));
		policy_snap_unref(s);
	} else if (strcmp(rq->path, "/") == 0) {
		resp_plain(r, 308, "see /dashboard");
		r->location = "/dashboard";
	} else if (strcmp(rq->path, "/dashboard") == 0) {
		r->status = 200;
		r->ctype = "text/html; charset=utf-8";
		r->body = (char *)(uintptr_t)admin__dash_page(&r->len);
		r->body_static = 1;
		r->dashboard = 1;
	} else
		return 0;
	return 1;
}

/* True when the request carries a ticket this route accepts. */
static int
api_ticket_ok(const struct admin_env *env, const struct admin_req *rq)
{
	const char *t = NULL;

	if (env->tickets == NULL || (strcmp(rq->path, "/api/events") != 0 &&
	    strcmp(rq->path, "/api/ws") != 0) ||
	    (t = rq->arg(rq->ctx, "ticket")) == NULL)
		return 0;
	return ticket_verify(env->tickets, t, (int64_t)time(NULL)) == 0;
}

void
admin_api_serve(const struct admin_env *env, const char *token,
    const struct admin_req *rq, struct admin_resp *r)
{
	memset(r, 0, sizeof(*r));
	if (api_public(env, rq, r))
		return;
	if (strncmp(rq->path, "/api/", 5) != 0) {
		resp_err(r, 404, "not found");
		return;
	}
	if (token == NULL || token[0] == '\0') {
		resp_plain(r, 503, "service unavailable");
		return;
	}
	/* A Bearer header decides alone; a ticket only stands in for a
	 * missing header, on the two streaming routes. */
	if (rq->authz != NULL ? !api_auth_ok(token, rq->authz) :
	    !api_ticket_ok(env, rq)) {
		resp_plain(r, 401, "unauthorized");
		return;
	}
	api_route(env, rq, r);
}

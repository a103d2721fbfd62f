/* The management plane's wiring: see admin.h. */
#include "admin/admin_int.h"

#include <stdlib.h>

#include "admin/ticket.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "obs/alert.h"
#include "obs/obs.h"
#include "obs/webhook.h"
#include "policy/acl.h"
#include "policy/events.h"

int
admin__webhook_guard(const struct sockaddr *sa, char *reason, size_t rlen)
{
	return !ipguard_is_blocked(sa, NULL, 0, reason, rlen);
}

/* The alert engine of [alerting]. */
static struct alerting *
admin_alerting_new(const struct cfg_alerting *al)
{
	struct alert_rule_def *d = xcalloc(al->nrules, sizeof(*d));
	struct alerting *a = NULL;
	size_t i;

	for (i = 0; i < al->nrules; i++) {
		d[i].name = al->rules[i].name;
		d[i].cond = al->rules[i].condition.v;
		d[i].threshold = al->rules[i].threshold.v;
		d[i].window_secs = al->rules[i].window_secs;
		d[i].users = al->rules[i].users.v;
		d[i].nusers = al->rules[i].users.n;
	}
	a = alerting_new(d, al->nrules);
	free(d);
	return a;
}

/* The dispatcher of [[webhooks]]. */
static struct webhooks *
admin_webhooks_new(const struct cfg *cfg)
{
	struct webhook_target *t = xcalloc(cfg->nwebhooks + 1, sizeof(*t));
	const struct cfg_webhook *c = NULL;
	struct webhooks *w = NULL;
	size_t i;

	for (i = 0; i < cfg->nwebhooks; i++) {
		c = &cfg->webhooks[i];
		t[i].url = c->url;
		t[i].events = c->events.v;
		t[i].nevents = c->events.n;
		t[i].secret = c->secret;
		t[i].format = c->format;
		t[i].tpl = c->template;
		t[i].allow_private = c->allow_private_ips;
		t[i].max_retries = c->max_retries;
		t[i].retry_delay_ms = c->retry_delay_ms;
		t[i].max_retry_delay_ms = c->max_retry_delay_ms;
	}
	w = webhooks_new(t, cfg->nwebhooks, WEBHOOK_QUEUE_MAX,
	    admin__webhook_guard);
	free(t);
	return w;
}

/* Webhook dispatcher ([[webhooks]] and rules' webhook_url) and alert
 * engine ([alerting]) into s. 0, or ERR_IO when the thread cannot start. */
static int
admin_plane_hooks(const struct cfg *cfg, struct admin_sink *s)
{
	const struct cfg_alerting *al = &cfg->alerting;
	int direct = 0;
	size_t i;

	if (al->enabled && al->nrules > 0) {
		s->alerts = admin_alerting_new(al);
		s->nrules = al->nrules;
		s->alert_hook = xcalloc(al->nrules, sizeof(*s->alert_hook));
		for (i = 0; i < al->nrules; i++) {
			s->alert_hook[i] = -1;
			direct |= al->rules[i].webhook_url != NULL;
		}
	}
	if (cfg->nwebhooks == 0 && !direct)
		return 0;
	s->wh = admin_webhooks_new(cfg);
	for (i = 0; i < s->nrules; i++) {
		if (al->rules[i].webhook_url != NULL)
			s->alert_hook[i] = webhooks_add_direct(s->wh,
			    al->rules[i].webhook_url);
	}
	if (webhooks_start(s->wh) != 0)
		return ERR_IO;
	log_info("event=webhook.start targets=%zu", cfg->nwebhooks);
	return 0;
}

struct admin_plane {
	struct admin_env	 env;
	struct admin_sink	 sink;	/* audit file, webhooks, alerts */
	struct admin_http	*metrics_http;
	struct admin_http	*api_http;
};

int
admin_plane_start(const struct cfg *cfg, struct policy_holder *policy,
    struct policy_state *state, admin_reload_fn reload, admin_kick_fn kick,
    void *arg, struct admin_plane **out)
{
	struct admin_plane *p = xcalloc(1, sizeof(*p));
	const struct cfg_logging *lg = &cfg->logging;

	*out = NULL;
	p->env.policy = policy;
	p->env.state = state;
	p->env.reload = reload;
	p->env.reload_arg = arg;
	p->env.kick = kick;
	p->env.start_ms = util_mono_ms();
	if (lg->audit_log_path != NULL) {
		p->sink.audit = audit_new(lg->audit_log_path,
		    lg->audit_max_size_mb * 1024 * 1024, lg->audit_max_files,
		    AUDIT_QUEUE_MAX);
		if (p->sink.audit == NULL)
			goto fail;
		log_info("event=audit.open path=\"%s\"", lg->audit_log_path);
	}
	if (admin_plane_hooks(cfg, &p->sink) != 0)
		goto fail;
	p->env.webhooks = p->sink.wh;
	if (p->sink.audit != NULL || p->sink.wh != NULL) {
		(void)stream_hook_add(admin__audit_stream, &p->sink);
		(void)auth_hook_add(admin__audit_auth, &p->sink);
		(void)admin_hook_add(admin__audit_admin, &p->sink);
	}
	if (p->sink.alerts != NULL) {
		(void)stream_hook_add(admin__alert_stream, &p->sink);
		(void)auth_hook_add(admin__alert_auth, &p->sink);
	}
	p->env.sink = &p->sink;
	if (cfg->metrics.enabled) {
		p->env.metrics = metrics_new(cfg->metrics.max_metric_labels);
		metrics_set_audit(p->env.metrics, p->sink.audit);
		(void)stream_hook_add(admin__metrics_stream, p->env.metrics);
		(void)auth_hook_add(admin__metrics_auth, p->env.metrics);
		p->metrics_http = admin_http_start(ADMIN_METRICS,
		    cfg->metrics.listen, NULL, &p->env);
		if (p->metrics_http == NULL)
			goto fail;
	}
	if (cfg->api.enabled) {
		p->env.live = admin__live_new(&p->env);
		if (admin__live_start(p->env.live) != 0)
			goto fail;
		(void)stream_hook_add(admin__live_stream, p->env.live);
		(void)auth_hook_add(admin__live_auth, p->env.live);
		if (cfg->api.token != NULL && cfg->api.token[0] != '\0')
			p->env.tickets = ticket_store_new(cfg->api.token);
		p->api_http = admin_http_start(ADMIN_API, cfg->api.listen,
		    cfg->api.token, &p->env);
		if (p->api_http == NULL)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	admin_plane_stop(p);
	return ERR_IO;
}

void
admin_plane_reloaded(struct admin_plane *p, int success, size_t users,
    const char *error)
{
	json_t *o = NULL;

	if (p == NULL)
		return;
	admin__audit_reload(&p->sink, success, users, error);
	if (p->env.live != NULL) {
		o = admin__event_new("config.reload");
		json_object_set_new(o, "users_count", json_integer(
		    (json_int_t)users));
		json_object_set_new(o, "success", json_boolean(success));
		if (error != NULL)
			json_object_set_new(o, "error", admin__jstr(error));
		admin__publish(p->env.live, o);
	}
}

void
admin_plane_maintenance(struct admin_plane *p, int enabled,
    const char *source)
{
	if (p != NULL)
		admin__maint_event(p->env.live, &p->sink, enabled, source);
}

void
admin_plane_stop(struct admin_plane *p)
{
	if (p == NULL)
		return;
	/* Streams end before their daemon stops (libmicrohttpd must not
	 * stop with suspended connections). */
	admin__live_stop(p->env.live);
	admin_http_stop(p->api_http);
	admin_http_stop(p->metrics_http);
	stream_hooks_clear();
	admin__live_free(p->env.live);
	ticket_store_free(p->env.tickets);
	webhooks_free(p->sink.wh);
	alerting_free(p->sink.alerts);
	free(p->sink.alert_hook);
	audit_free(p->sink.audit);
	metrics_free(p->env.metrics);
	free(p);
}

/*
 * Event-bus subscribers: stream and auth events turned into audit lines
 * and metric updates. They run on data-plane threads and never block.
 */
#include "admin/admin_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "obs/alert.h"
#include "obs/obs.h"
#include "obs/webhook.h"
#include "policy/events.h"

/* Alert firings handled per observation at most. */
#define HOOK_FIRES_MAX	8

void
admin__emit(struct admin_sink *s, struct audit_ev *e)
{
	char type[64], *line = NULL;

	snprintf(type, sizeof(type), "%s", audit_ev_type(e));
	if ((line = audit_ev_dump(e)) == NULL)
		return;
	if (s->wh != NULL)
		webhooks_put(s->wh, type, line);
	if (s->audit != NULL)
		(void)audit_put_take(s->audit, line);
	else
		free(line);
}

/* Audit event type of a stream event. */
static const char *
hook_stream_type(const struct stream_event *ev)
{
	switch (ev->phase) {
	case STREAM_START:
		return "proxy.start";
	case STREAM_END:
		return "proxy.complete";
	case STREAM_REFUSED:
		/* Policy refusals (reply 0x02) other than capacity limits
		 * are ACL or anti-SSRF denials. */
		return ev->code == 2 && (ev->outcome == NULL ||
		    strstr(ev->outcome, "limit") == NULL) ? "acl.deny" :
		    "proxy.refused";
	}
	return "proxy.unknown";
}

void
admin__audit_stream(const struct stream_event *ev, void *arg)
{
	struct audit_ev *e = audit_ev_new(hook_stream_type(ev));

	audit_ev_str(e, "username", ev->user);
	audit_ev_str(e, "protocol", ev->proto);
	audit_ev_source(e, ev->source);
	audit_ev_str(e, "target_host", ev->host);
	audit_ev_int(e, "target_port", ev->port);
	if (ev->phase == STREAM_END) {
		audit_ev_int(e, "bytes_transferred",
		    (int64_t)(ev->bytes_up + ev->bytes_down));
		audit_ev_int(e, "bytes_uploaded", (int64_t)ev->bytes_up);
		audit_ev_int(e, "bytes_downloaded", (int64_t)ev->bytes_down);
		audit_ev_int(e, "duration_ms", (int64_t)ev->duration_ms);
		audit_ev_str(e, "outcome", ev->outcome);
	} else if (ev->phase == STREAM_REFUSED) {
		audit_ev_str(e, "reason", ev->outcome);
		audit_ev_int(e, "reply_code", ev->code);
	}
	admin__emit(arg, e);
}

void
admin__audit_auth(const struct auth_event *ev, void *arg)
{
	struct audit_ev *e = audit_ev_new(ev->success ? "auth.success" :
	    "auth.failure");

	audit_ev_str(e, "username", ev->user);
	audit_ev_source(e, ev->source);
	audit_ev_str(e, "protocol", ev->proto);
	audit_ev_str(e, "method", ev->method);
	if (!ev->success)
		audit_ev_str(e, "reason", ev->reason);
	admin__emit(arg, e);
}

void
admin__audit_admin(const struct admin_event *ev, void *arg)
{
	char type[64];
	struct audit_ev *e = NULL;

	snprintf(type, sizeof(type), "admin.%s", ev->action);
	e = audit_ev_new(type);
	audit_ev_str(e, "username", ev->actor);
	audit_ev_source(e, ev->source);
	audit_ev_str(e, "via", ev->via);
	audit_ev_str(e, "target", ev->target);
	if (ev->count >= 0)
		audit_ev_int(e, "count", ev->count);
	if (ev->message != NULL)
		audit_ev_str(e, "message", ev->message);
	admin__emit(arg, e);
}

void
admin__audit_reload(struct admin_sink *s, int success, size_t users,
    const char *error)
{
	struct audit_ev *e = NULL;

	if (s == NULL || (s->audit == NULL && s->wh == NULL))
		return;
	e = audit_ev_new("config.reload");
	audit_ev_int(e, "users_count", (int64_t)users);
	audit_ev_bool(e, "success", success);
	audit_ev_str(e, "error", error);
	admin__emit(s, e);
}

void
admin__alert_fired(struct admin_sink *s, const struct alert_fire *f)
{
	struct audit_ev *e = audit_ev_new("alert.triggered");
	char *line = NULL;
	int id;

	audit_ev_str(e, "alert", f->name);
	audit_ev_str(e, "condition", f->condition);
	audit_ev_int(e, "threshold", (int64_t)f->threshold);
	audit_ev_int(e, "value", (int64_t)f->value);
	audit_ev_int(e, "window_secs", (int64_t)f->window_secs);
	if (f->user[0] != '\0')
		audit_ev_str(e, "username", f->user);
	log_warn("event=alert.triggered rule=\"%s\" condition=%s user=\"%s\" "
	    "value=%llu threshold=%llu window_secs=%llu", f->name,
	    f->condition, f->user, (unsigned long long)f->value,
	    (unsigned long long)f->threshold,
	    (unsigned long long)f->window_secs);
	id = f->rule < s->nrules ? s->alert_hook[f->rule] : -1;
	if (id >= 0 && s->wh != NULL) {
		line = audit_ev_line(e);
		if (line != NULL)
			webhooks_put_direct(s->wh, id, line);
		free(line);
	}
	admin__emit(s, e);
}

/* Feeds one observation to the alert engine and emits what fires. */
static void
hook_alert_observe(struct admin_sink *s, enum alert_input in,
    const char *user, uint64_t amount)
{
	struct alert_fire f[HOOK_FIRES_MAX];
	size_t n, i;

	n = alerting_observe(s->alerts, in, user, amount,
	    util_mono_ms() / 1000, f, HOOK_FIRES_MAX);
	for (i = 0; i < n; i++)
		admin__alert_fired(s, &f[i]);
}

void
admin__alert_stream(const struct stream_event *ev, void *arg)
{
	if (ev->phase == STREAM_START)
		hook_alert_observe(arg, ALERT_IN_CONN, ev->user, 1);
	else if (ev->phase == STREAM_END)
		hook_alert_observe(arg, ALERT_IN_BYTES, ev->user,
		    ev->bytes_up + ev->bytes_down);
}

void
admin__alert_auth(const struct auth_event *ev, void *arg)
{
	if (!ev->success)
		hook_alert_observe(arg, ALERT_IN_AUTHFAIL, ev->user, 1);
}

void
admin__metrics_stream(const struct stream_event *ev, void *arg)
{
	switch (ev->phase) {
	case STREAM_START:
		metrics_stream_started(arg);
		break;
	case STREAM_END:
		metrics_stream_ended(arg, ev->user, ev->duration_ms);
		break;
	case STREAM_REFUSED:
		metrics_stream_refused(arg, ev->code, ev->outcome);
		break;
	}
}

void
admin__metrics_auth(const struct auth_event *ev, void *arg)
{
	metrics_auth(arg, ev->success, ev->user, ev->method);
}

/*
 * Event-bus subscribers: stream and auth events turned into audit lines
 * and metric updates. They run on data-plane threads and never block.
 */
#include "admin/admin_int.h"

#include <string.h>

#include "obs/obs.h"
#include "policy/events.h"

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
	(void)audit_put_ev(arg, e);
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
	(void)audit_put_ev(arg, e);
}

void
admin__audit_reload(struct audit *a, int success, size_t users,
    const char *error)
{
	struct audit_ev *e = NULL;

	if (a == NULL)
		return;
	e = audit_ev_new("config.reload");
	audit_ev_int(e, "users_count", (int64_t)users);
	audit_ev_bool(e, "success", success);
	audit_ev_str(e, "error", error);
	(void)audit_put_ev(a, e);
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

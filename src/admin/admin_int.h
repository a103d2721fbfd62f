/* Internals shared by the files of src/admin. */
#ifndef SKS5_ADMIN_INT_H
#define SKS5_ADMIN_INT_H

#include <stddef.h>

#include "admin/admin.h"

struct alert_fire;
struct alerting;
struct audit;
struct audit_ev;
struct auth_event;
struct sockaddr;
struct stream_event;
struct webhooks;

/*
 * Where audit events go: the audit file and the webhook dispatcher (each
 * may be NULL), and the alert engine fed by the same bus.
 */
struct admin_sink {
	struct audit	*audit;
	struct webhooks	*wh;
	struct alerting	*alerts;
	int		*alert_hook;	/* per rule: direct webhook id or -1 */
	size_t		 nrules;
};

/* Serialises e once and hands the line to the audit file and to the
 * webhooks whose filter takes its type; frees e. Never blocks. */
void	admin__emit(struct admin_sink *s, struct audit_ev *e);

/* Event-bus subscribers (hooks.c). The audit and alert ones take the
 * struct admin_sink, the metrics ones the struct metrics. */
void	admin__audit_stream(const struct stream_event *ev, void *arg);
void	admin__audit_auth(const struct auth_event *ev, void *arg);
void	admin__alert_stream(const struct stream_event *ev, void *arg);
void	admin__alert_auth(const struct auth_event *ev, void *arg);
void	admin__metrics_stream(const struct stream_event *ev, void *arg);
void	admin__metrics_auth(const struct auth_event *ev, void *arg);
/* Emits an alert.triggered event (audit, webhooks, the rule's own URL)
 * and logs it. */
void	admin__alert_fired(struct admin_sink *s, const struct alert_fire *f);
/* The webhooks' connect-time check: ip_guard's classifier (1 allowed). */
int	admin__webhook_guard(const struct sockaddr *sa, char *reason,
	    size_t rlen);
/* Appends a config.reload event; a sink with no output is a no-op. */
void	admin__audit_reload(struct admin_sink *s, int success, size_t users,
	    const char *error);

#endif /* SKS5_ADMIN_INT_H */

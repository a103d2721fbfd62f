/* Internals shared by the files of src/admin. */
#ifndef SKS5_ADMIN_INT_H
#define SKS5_ADMIN_INT_H

#include <stddef.h>

#include "admin/admin.h"

struct audit;
struct auth_event;
struct stream_event;

/* Event-bus subscribers (hooks.c); arg is the struct audit or metrics. */
void	admin__audit_stream(const struct stream_event *ev, void *arg);
void	admin__audit_auth(const struct auth_event *ev, void *arg);
void	admin__metrics_stream(const struct stream_event *ev, void *arg);
void	admin__metrics_auth(const struct auth_event *ev, void *arg);
/* Appends a config.reload event; a NULL audit is a no-op. */
void	admin__audit_reload(struct audit *a, int success, size_t users,
	    const char *error);

#endif /* SKS5_ADMIN_INT_H */

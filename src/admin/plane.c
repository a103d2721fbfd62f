/* The management plane's wiring: see admin.h. */
#include "admin/admin_int.h"

#include <stdlib.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "obs/obs.h"
#include "policy/events.h"

struct admin_plane {
	struct admin_env	 env;
	struct audit		*audit;
	struct admin_http	*metrics_http;
	struct admin_http	*api_http;
};

int
admin_plane_start(const struct cfg *cfg, struct policy_holder *policy,
    struct policy_state *state, admin_reload_fn reload, void *arg,
    struct admin_plane **out)
{
	struct admin_plane *p = xcalloc(1, sizeof(*p));
	const struct cfg_logging *lg = &cfg->logging;

	*out = NULL;
	p->env.policy = policy;
	p->env.state = state;
	p->env.reload = reload;
	p->env.reload_arg = arg;
	p->env.start_ms = util_mono_ms();
	if (lg->audit_log_path != NULL) {
		p->audit = audit_new(lg->audit_log_path,
		    lg->audit_max_size_mb * 1024 * 1024, lg->audit_max_files,
		    AUDIT_QUEUE_MAX);
		if (p->audit == NULL)
			goto fail;
		(void)stream_hook_add(admin__audit_stream, p->audit);
		(void)auth_hook_add(admin__audit_auth, p->audit);
		log_info("event=audit.open path=\"%s\"", lg->audit_log_path);
	}
	if (cfg->metrics.enabled) {
		p->env.metrics = metrics_new(cfg->metrics.max_metric_labels);
		metrics_set_audit(p->env.metrics, p->audit);
		(void)stream_hook_add(admin__metrics_stream, p->env.metrics);
		(void)auth_hook_add(admin__metrics_auth, p->env.metrics);
		p->metrics_http = admin_http_start(ADMIN_METRICS,
		    cfg->metrics.listen, NULL, &p->env);
		if (p->metrics_http == NULL)
			goto fail;
	}
	if (cfg->api.enabled) {
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
	if (p != NULL)
		admin__audit_reload(p->audit, success, users, error);
}

void
admin_plane_stop(struct admin_plane *p)
{
	if (p == NULL)
		return;
	admin_http_stop(p->api_http);
	admin_http_stop(p->metrics_http);
	stream_hooks_clear();
	audit_free(p->audit);
	metrics_free(p->env.metrics);
	free(p);
}

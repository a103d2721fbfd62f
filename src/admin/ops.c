/*
 * Operator actions of the REST API and the WebSocket: unban an address,
 * kick a user, reset a user's quotas. Each change is logged and sent to
 * the admin event hook (audit log, webhooks) with via "api" or "ws".
 */
#include "admin/admin_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"

/* Sends an operator action to the admin hook. */
static void
ops_audit(const char *action, const char *via, const char *target,
    int64_t count, const char *message)
{
	struct admin_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.action = action;
	ev.actor = via;
	ev.source = NULL;
	ev.via = via;
	ev.target = target;
	ev.count = count;
	ev.message = message;
	admin_emit(&ev);
}

int
admin__unban(const struct admin_env *env, const char *addr, const char *via)
{
	struct policy_snap *s = policy_holder_get(env->policy);
	int rc;

	rc = policy_unban(s, addr, policy_now_ms());
	policy_snap_unref(s);
	if (rc != 0)
		return rc;
	log_info("event=admin.unban via=%s addr=%s", via, addr);
	ops_audit("unban", via, addr, -1, NULL);
	return 0;
}

/* message for a log line: quotes, backslashes and control bytes become
 * '?' (it is written whole, JSON-escaped, to the audit event). */
static void
ops_clean(const char *message, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "%s", message != NULL ? message : "");
	for (i = 0; out[i] != '\0'; i++) {
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f ||
		    out[i] == '"' || out[i] == '\\')
			out[i] = '?';
	}
}

int
admin__kick(const struct admin_env *env, const char *user, const char *via,
    const char *message, size_t *n)
{
	struct policy_snap *s = policy_holder_get(env->policy);
	int known = policy_snap_user(s, user) != NULL;
	char clean[ADMIN_KICK_MSG_MAX + 1];

	policy_snap_unref(s);
	*n = 0;
	if (!known)
		return ERR_NOTFOUND;
	if (env->kick != NULL)
		*n = env->kick(env->reload_arg, user);
	ops_clean(message, clean, sizeof(clean));
	log_info("event=admin.kick via=%s target=%s connections=%zu "
	    "message=\"%s\"", via, user, *n, clean);
	ops_audit("kick", via, user, (int64_t)*n, message);
	return 0;
}

int
admin__quota_reset(const struct admin_env *env, const char *user,
    const char *via)
{
	struct policy_snap *s = policy_holder_get(env->policy);
	int rc;

	rc = policy_quota_reset(s, user);
	policy_snap_unref(s);
	if (rc != 0)
		return rc;
	log_info("event=admin.quota_reset via=%s target=%s", via, user);
	ops_audit("quota_reset", via, user, -1, NULL);
	return 0;
}

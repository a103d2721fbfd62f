/*
 * Destination check on resolved addresses (see dest.h).
 */
#include "policy/dest.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "policy/acl.h"
#include "policy/policy.h"
#include "policy/snap.h"

/* Sets the port of an AF_INET/AF_INET6 address. */
static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

int
policy_dest_check(struct policy_snap *snap,
    const struct policy_user *u, const char *name,
    struct sockaddr_storage *addrs, size_t n, uint16_t port, char *why,
    size_t wl)
{
	const struct sockaddr *sas[16];
	struct acl_match m;
	size_t i;

	if (n > sizeof(sas) / sizeof(sas[0]))
		n = sizeof(sas) / sizeof(sas[0]);
	for (i = 0; i < n; i++) {
		set_port(&addrs[i], port);
		sas[i] = (const struct sockaddr *)&addrs[i];
		if (snap->cfg->security.ip_guard_enabled &&
		    ipguard_is_blocked(sas[i], snap->guard_allow,
		    snap->nguard_allow, why, wl))
			return ERR_DENIED;
		if (policy_target_check(snap, sas[i], why, wl) != NULL)
			return ERR_DENIED;	/* GeoIP */
	}
	if (acl_check(&u->acl, name, sas, n, port, &m) != ACL_ALLOW) {
		acl_match_format(&m, why, wl);
		return ERR_DENIED;
	}
	return 0;
}

/*
 * The destination check shared by SOCKS5 CONNECT and SSH direct-tcpip:
 * once a target's addresses are known, every one of them goes through
 * the anti-SSRF guard and the user's ACL before any connect.
 */
#ifndef SKS5_POLICY_DEST_H
#define SKS5_POLICY_DEST_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct policy_snap;
struct policy_user;

/*
 * Sets port on each of the n addresses, then refuses the target if any
 * address is blocked by the anti-SSRF guard (when
 * security.ip_guard_enabled) or by the GeoIP rules
 * (policy_target_check()), or if the user's ACL does not allow the
 * name (NULL for an IP target) with every address. Returns 0 (allowed)
 * or ERR_DENIED with a reason for logs in why.
 */
int	policy_dest_check(struct policy_snap *snap,
	    const struct policy_user *u, const char *name,
	    struct sockaddr_storage *addrs, size_t n, uint16_t port,
	    char *why, size_t wl);

#endif /* SKS5_POLICY_DEST_H */

/*
 * Destination policy: the ACL evaluator (acl_) and the anti-SSRF address
 * classifier (ipguard_). Both are pure decision functions: no sockets, no
 * DNS, no logging. The same functions serve SSH forwarding and SOCKS5.
 *
 * Pipeline (see DESIGN.md, "request pipeline"):
 *   1. acl_check_name() with the requested host before any DNS query:
 *      ALLOW or DENY are final; NEED_ADDRESSES means "resolve first".
 *   2. resolve, drop addresses for which ipguard_is_blocked() says 1,
 *   3. acl_check() with the name and EVERY candidate address, before
 *      connecting to any of them.
 * When the addresses can never be known (an upstream proxy resolves the
 * name), NEED_ADDRESSES must be treated as the default policy: use
 * acl_check_unresolved(), which does exactly that and never turns an
 * undecided target into an allow under a deny default.
 */
#ifndef SKS5_POLICY_ACL_H
#define SKS5_POLICY_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "config/values.h"

struct sockaddr;

enum acl_verdict {
	ACL_ALLOW = 1,
	ACL_DENY,
	ACL_NEED_ADDRESSES,	/* only from acl_check_name() */
};

enum acl_list {
	ACL_LIST_DENY = 0,
	ACL_LIST_ALLOW,
};

/* What decided a verdict. */
enum acl_source {
	ACL_SRC_NONE = 0,	/* NEED_ADDRESSES: nothing decided yet */
	ACL_SRC_DENY_RULE,
	ACL_SRC_ALLOW_RULE,
	ACL_SRC_DEFAULT,
};

#define ACL_ADDRSTRLEN	46	/* INET6_ADDRSTRLEN */

/*
 * Why a verdict was reached, for audit events and logs. rule points into
 * the acl's own array: valid until the acl is appended to or cleaned up.
 */
struct acl_match {
	enum acl_verdict		 verdict;
	enum acl_source			 source;
	size_t				 index;	/* 0-based */
	const struct cfg_acl_rule	*rule;	/* NULL unless a rule */
	/* The address that decided, or "" when the name did. */
	char				 addr[ACL_ADDRSTRLEN];
};

/*
 * An access list. Caller-visible so it can be embedded; treat the fields
 * as read-only and build it with acl_init() and acl_append().
 */
struct acl {
	int			 default_allow;	/* 1 allow, 0 deny */
	struct cfg_acl_rule	*deny;		/* owned copies */
	size_t			 ndeny;
	struct cfg_acl_rule	*allow;		/* owned copies */
	size_t			 nallow;
};

/* Initialises acl with a default policy and copies of both rule arrays
 * (either may be NULL with a count of 0). Aborts only on OOM. */
void	acl_init(struct acl *acl, int default_allow,
	    const struct cfg_acl_rule *deny, size_t ndeny,
	    const struct cfg_acl_rule *allow, size_t nallow);
/* Appends copies of n rules to one list (inheritance: global, then group,
 * then user). Pointers in earlier acl_match results become invalid. */
void	acl_append(struct acl *acl, enum acl_list list,
	    const struct cfg_acl_rule *rules, size_t n);
/* Frees the rule copies; the acl may be initialised again. */
void	acl_cleanup(struct acl *acl);

/*
 * Full decision for a target, given the requested name (NULL for an IP
 * literal target) and every address it resolved to (the literal itself
 * for an IP target). Returns ACL_ALLOW or ACL_DENY, never NEED_ADDRESSES.
 *   - deny if the name matches a deny rule, or ANY address does;
 *   - else allow if the name matches an allow rule, or ALL addresses (at
 *     least one) match allow rules;
 *   - else the default policy.
 * Name rules (EXACT, SUFFIX) match only the name, ASCII case-insensitive,
 * one trailing dot ignored; NET rules match only addresses; "*" matches
 * both. A rule matches only if port is within its range. IPv4-mapped and
 * IPv4-compatible IPv6 addresses match IPv4 rules through the IPv4 they
 * carry and IPv6 rules as themselves. A name that is an IP literal
 * ("10.0.0.1", "::1" or "[::1]") is treated as that address, never as a
 * name. With naddrs == 0 and a name, this is acl_check_unresolved().
 * why (may be NULL) is always filled.
 */
enum acl_verdict acl_check(const struct acl *acl, const char *name,
	    const struct sockaddr *const *addrs, size_t naddrs,
	    uint16_t port, struct acl_match *why);

/*
 * Pre-resolution check with the name only. DENY when a deny rule matches
 * the name (refuse before any DNS query); ALLOW or DENY when no address
 * could change the outcome; otherwise NEED_ADDRESSES (resolve, then call
 * acl_check()). An IP literal name gets a final ALLOW/DENY.
 */
enum acl_verdict acl_check_name(const struct acl *acl,
	    const char *name, uint16_t port, struct acl_match *why);

/*
 * For targets whose addresses can never be known (upstream proxy does
 * the resolution): acl_check_name() with NEED_ADDRESSES replaced by the
 * default policy. Returns ACL_ALLOW or ACL_DENY.
 */
enum acl_verdict acl_check_unresolved(const struct acl *acl,
	    const char *name, uint16_t port, struct acl_match *why);

/* Formats a rule as it would be written in the config ("10.0.0.0/8:*",
 * "[2001:db8::/32]:443", "*.example.com:80-443"). out is NUL-terminated. */
void	acl_rule_format(const struct cfg_acl_rule *r, char *out,
	    size_t len);

/* Formats a decision for logs: "deny rule 2 '10.0.0.0/8:*' (address
 * 10.1.2.3)", "allow rule 1 'example.com:443'", "default policy (deny)".
 * Rule numbers in the text are 1-based. out is NUL-terminated. */
void	acl_match_format(const struct acl_match *m, char *out, size_t len);

/* Returns 1 and writes a warning into msg if the acl is weak: default
 * allow with no deny rules, or default allow whose deny rules are all
 * name rules (bypassable with IP literals). Else 0 and msg = "". */
int	acl_warn_weak(const struct acl *acl, char *msg, size_t len);

/* 1 if the address is inside the network. An IPv4-mapped or compatible
 * IPv6 address is inside an IPv4 network if the IPv4 it carries is. */
int	acl_cidr_match(const struct cfg_cidr *net,
	    const struct sockaddr *sa);

/*
 * Anti-SSRF: returns 1 if sa is a special-purpose address (IANA IPv4 and
 * IPv6 special-purpose registries: private, loopback, link-local, CGNAT,
 * documentation, benchmarking, multicast, reserved, ULA, site-local,
 * Teredo, NAT64 and 6to4 forms of blocked IPv4, ...) that a proxy must not
 * reach, unless sa (or the IPv4 embedded in it) is inside one of the
 * nallowed allowed networks. Unknown families and NULL are blocked.
 * reason (may be NULL) receives the range, e.g. "198.18.0.0/15
 * (benchmarking)", or "" when not blocked.
 */
int	ipguard_is_blocked(const struct sockaddr *sa,
	    const struct cfg_cidr *allowed, size_t nallowed,
	    char *reason, size_t rlen);

#endif /* SKS5_POLICY_ACL_H */

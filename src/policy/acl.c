/*
 * ACL evaluator: deny rules first, then allow rules, then the default
 * policy, over the requested name and every resolved address. Pure: no
 * sockets, no DNS, no logging.
 */
#include "policy/acl.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

_Static_assert(ACL_ADDRSTRLEN >= INET6_ADDRSTRLEN, "ACL_ADDRSTRLEN too small");

/* The set of things a decision looks at. */
struct target {
	const char		 *name;	/* NULL for an IP target */
	const struct sockaddr	 *lit;	/* literal given as name */
	const struct sockaddr *const *addrs;
	size_t			  naddrs;
};

/* Number of addresses in a target (the literal counts as one). */
static size_t
target_count(const struct target *t)
{
	return t->naddrs + (t->lit != NULL ? 1 : 0);
}

/* The i-th address of a target; the literal comes first. */
static const struct sockaddr *
target_addr(const struct target *t, size_t i)
{
	if (t->lit != NULL) {
		if (i == 0) {
			return t->lit;
		}
		i--;
	}
	return t->addrs[i];
}

/* 1 if the first prefix bits of a and b are equal. */
static int
prefix_eq(const unsigned char *a, const unsigned char *b, int prefix)
{
	int		full = prefix / 8, rem = prefix % 8;
	unsigned char	mask;

	if (memcmp(a, b, (size_t)full) != 0) {
		return 0;
	}
	if (rem == 0) {
		return 1;
	}
	mask = (unsigned char)(0xff << (8 - rem));
	return (a[full] & mask) == (b[full] & mask);
}

/* Family and raw bytes of a socket address; 0 if not IPv4/IPv6. */
static int
sa_bytes(const struct sockaddr *sa, const unsigned char **bytes)
{
	if (sa == NULL) {
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		*bytes = (const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		*bytes = ((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_addr.s6_addr;
		return AF_INET6;
	}
	return 0;
}

/* 1 if a 16-byte IPv6 address is IPv4-mapped (::ffff:a.b.c.d) or
 * IPv4-compatible (::a.b.c.d other than :: and ::1). */
static int
v6_carries_v4(const unsigned char *a)
{
	static const unsigned char zero[12];
	int	i;

	if (memcmp(a, zero, 10) != 0) {
		return 0;
	}
	if (a[10] == 0xff && a[11] == 0xff) {
		return 1;
	}
	if (a[10] != 0 || a[11] != 0) {
		return 0;
	}
	for (i = 12; i < 15; i++) {
		if (a[i] != 0) {
			return 1;
		}
	}
	return a[15] > 1;
}

/* 1 if the address is inside the network (mapped forms match IPv4). */
int
acl_cidr_match(const struct cfg_cidr *net, const struct sockaddr *sa)
{
	const unsigned char	*b = NULL;
	int			 fam;

	if (net == NULL || (fam = sa_bytes(sa, &b)) == 0 || net->prefix < 0) {
		return 0;
	}
	if (net->family == AF_INET) {
		if (net->prefix > 32) {
			return 0;
		}
		if (fam == AF_INET6) {
			if (!v6_carries_v4(b)) {
				return 0;
			}
			b += 12;
		}
		return prefix_eq(b, net->addr, net->prefix);
	}
	if (net->family == AF_INET6 && fam == AF_INET6 &&
	    net->prefix <= 128) {
		return prefix_eq(b, net->addr, net->prefix);
	}
	return 0;
}

/* Length of a name without its trailing dots. */
static size_t
name_len(const char *s, size_t max)
{
	size_t	n = strnlen(s, max);

	while (n > 0 && s[n - 1] == '.') {
		n--;
	}
	return n;
}

/* ASCII case-insensitive comparison of n bytes; 1 if equal. */
static int
ci_eq(const char *a, const char *b, size_t n)
{
	size_t		i;
	unsigned char	x, y;

	for (i = 0; i < n; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z') {
			x = (unsigned char)(x - 'A' + 'a');
		}
		if (y >= 'A' && y <= 'Z') {
			y = (unsigned char)(y - 'A' + 'a');
		}
		if (x != y) {
			return 0;
		}
	}
	return 1;
}

/* 1 if an EXACT or SUFFIX rule matches the host name. */
static int
name_match(const struct cfg_acl_rule *r, const char *name)
{
	size_t	nl, rl;

	nl = name_len(name, (size_t)-1);
	rl = name_len(r->name, sizeof(r->name));
	if (nl == 0 || rl == 0 || nl < rl) {
		return 0;
	}
	if (nl == rl) {
		return ci_eq(name, r->name, rl);
	}
	if (r->kind != CFG_ACL_SUFFIX || name[nl - rl - 1] != '.') {
		return 0;
	}
	return ci_eq(name + nl - rl, r->name, rl);
}

/* 1 if port is inside the rule's port range. */
static int
port_ok(const struct cfg_acl_rule *r, uint16_t port)
{
	return port >= r->port_lo && port <= r->port_hi;
}

/* 1 if the rule matches the requested name at port. */
static int
rule_match_name(const struct cfg_acl_rule *r, const char *name,
    uint16_t port)
{
	if (!port_ok(r, port)) {
		return 0;
	}
	switch (r->kind) {
	case CFG_ACL_ANY:
		return 1;
	case CFG_ACL_EXACT:
	case CFG_ACL_SUFFIX:
		return name_match(r, name);
	default:
		return 0;
	}
}

/* 1 if the rule matches one address at port. */
static int
rule_match_addr(const struct cfg_acl_rule *r, const struct sockaddr *sa,
    uint16_t port)
{
	const unsigned char	*b = NULL;

	if (!port_ok(r, port)) {
		return 0;
	}
	if (r->kind == CFG_ACL_ANY) {
		return sa_bytes(sa, &b) != 0;
	}
	if (r->kind == CFG_ACL_NET) {
		return acl_cidr_match(&r->net, sa);
	}
	return 0;
}

/* Fills why (if not NULL) and returns the verdict. */
static enum acl_verdict
decided(struct acl_match *why, enum acl_verdict v, enum acl_source src,
    const struct cfg_acl_rule *rules, size_t index, const struct sockaddr *sa)
{
	const unsigned char	*b = NULL;
	int			 fam;

	if (why == NULL) {
		return v;
	}
	memset(why, 0, sizeof(*why));
	why->verdict = v;
	why->source = src;
	if (rules != NULL) {
		why->index = index;
		why->rule = &rules[index];
	}
	if ((fam = sa_bytes(sa, &b)) != 0 &&
	    inet_ntop(fam, b, why->addr, sizeof(why->addr)) == NULL) {
		why->addr[0] = '\0';
	}
	return v;
}

/* The default policy as a decision. */
static enum acl_verdict
by_default(const struct acl *acl, struct acl_match *why)
{
	return decided(why, acl->default_allow ? ACL_ALLOW : ACL_DENY,
	    ACL_SRC_DEFAULT, NULL, 0, NULL);
}

/* Full evaluation over a target's name and addresses. */
static enum acl_verdict
decide(const struct acl *acl, const struct target *t, uint16_t port,
    struct acl_match *why)
{
	size_t	i, j, k, n = target_count(t), first = 0;

	for (i = 0; i < acl->ndeny; i++) {
		if (t->name != NULL &&
		    rule_match_name(&acl->deny[i], t->name, port)) {
			return decided(why, ACL_DENY, ACL_SRC_DENY_RULE,
			    acl->deny, i, NULL);
		}
		for (j = 0; j < n; j++) {
			if (rule_match_addr(&acl->deny[i], target_addr(t, j),
			    port)) {
				return decided(why, ACL_DENY,
				    ACL_SRC_DENY_RULE, acl->deny, i,
				    target_addr(t, j));
			}
		}
	}
	for (i = 0; t->name != NULL && i < acl->nallow; i++) {
		if (rule_match_name(&acl->allow[i], t->name, port)) {
			return decided(why, ACL_ALLOW, ACL_SRC_ALLOW_RULE,
			    acl->allow, i, NULL);
		}
	}
	/* Allowed by address only if every address matches an allow rule. */
	for (j = 0; j < n; j++) {
		for (k = 0; k < acl->nallow; k++) {
			if (rule_match_addr(&acl->allow[k], target_addr(t, j),
			    port)) {
				break;
			}
		}
		if (k == acl->nallow) {
			return by_default(acl, why);
		}
		if (j == 0) {
			first = k;
		}
	}
	if (n > 0) {
		return decided(why, ACL_ALLOW, ACL_SRC_ALLOW_RULE, acl->allow,
		    first, target_addr(t, 0));
	}
	return by_default(acl, why);
}

/* If name is an IP literal ("1.2.3.4", "::1", "[::1]"), fills ss. */
static int
literal_addr(const char *name, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)(void *)ss;
	char			 buf[64];
	size_t			 n;

	memset(ss, 0, sizeof(*ss));
	if (name == NULL) {
		return 0;
	}
	if (inet_pton(AF_INET, name, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 1;
	}
	n = strnlen(name, sizeof(buf));
	if (n >= 2 && n < sizeof(buf) && name[0] == '[' &&
	    name[n - 1] == ']') {
		memcpy(buf, name + 1, n - 2);
		buf[n - 2] = '\0';
		name = buf;
	}
	if (inet_pton(AF_INET6, name, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 1;
	}
	return 0;
}

/* Full decision over the name and every resolved address. */
enum acl_verdict
acl_check(const struct acl *acl, const char *name,
    const struct sockaddr *const *addrs, size_t naddrs, uint16_t port,
    struct acl_match *why)
{
	struct sockaddr_storage	ss;
	struct target		t;

	memset(&t, 0, sizeof(t));
	t.name = name;
	t.addrs = addrs;
	t.naddrs = addrs != NULL ? naddrs : 0;
	if (literal_addr(name, &ss)) {
		t.name = NULL;
		t.lit = (const struct sockaddr *)&ss;
	} else if (name != NULL && t.naddrs == 0) {
		return acl_check_unresolved(acl, name, port, why);
	}
	return decide(acl, &t, port, why);
}

/* 1 if some rule of the list is a NET rule covering port. */
static int
has_net_rule(const struct cfg_acl_rule *rules, size_t n, uint16_t port)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (rules[i].kind == CFG_ACL_NET && port_ok(&rules[i], port)) {
			return 1;
		}
	}
	return 0;
}

/* Pre-resolution decision with the name only. */
enum acl_verdict
acl_check_name(const struct acl *acl, const char *name, uint16_t port,
    struct acl_match *why)
{
	struct sockaddr_storage	ss;
	struct target		t;
	size_t			i;

	if (literal_addr(name, &ss)) {
		memset(&t, 0, sizeof(t));
		t.lit = (const struct sockaddr *)&ss;
		return decide(acl, &t, port, why);
	}
	if (name == NULL) {
		return decided(why, ACL_NEED_ADDRESSES, ACL_SRC_NONE, NULL,
		    0, NULL);
	}
	for (i = 0; i < acl->ndeny; i++) {
		if (rule_match_name(&acl->deny[i], name, port)) {
			return decided(why, ACL_DENY, ACL_SRC_DENY_RULE,
			    acl->deny, i, NULL);
		}
	}
	/* A resolved address could still hit a deny rule. */
	if (has_net_rule(acl->deny, acl->ndeny, port)) {
		return decided(why, ACL_NEED_ADDRESSES, ACL_SRC_NONE, NULL,
		    0, NULL);
	}
	for (i = 0; i < acl->nallow; i++) {
		if (rule_match_name(&acl->allow[i], name, port)) {
			return decided(why, ACL_ALLOW, ACL_SRC_ALLOW_RULE,
			    acl->allow, i, NULL);
		}
	}
	/* The addresses could all be covered by allow rules. */
	if (has_net_rule(acl->allow, acl->nallow, port)) {
		return decided(why, ACL_NEED_ADDRESSES, ACL_SRC_NONE, NULL,
		    0, NULL);
	}
	return by_default(acl, why);
}

/* Decision when addresses can never be known: undecided = default. */
enum acl_verdict
acl_check_unresolved(const struct acl *acl, const char *name,
    uint16_t port, struct acl_match *why)
{
	enum acl_verdict	v;

	v = acl_check_name(acl, name, port, why);
	if (v == ACL_NEED_ADDRESSES) {
		v = by_default(acl, why);
	}
	return v;
}

/* Initialises an acl with copies of the rule arrays. */
void
acl_init(struct acl *acl, int default_allow,
    const struct cfg_acl_rule *deny, size_t ndeny,
    const struct cfg_acl_rule *allow, size_t nallow)
{
	memset(acl, 0, sizeof(*acl));
	acl->default_allow = default_allow ? 1 : 0;
	acl_append(acl, ACL_LIST_DENY, deny, ndeny);
	acl_append(acl, ACL_LIST_ALLOW, allow, nallow);
}

/* Appends copies of n rules to the deny or allow list. */
void
acl_append(struct acl *acl, enum acl_list list,
    const struct cfg_acl_rule *rules, size_t n)
{
	struct cfg_acl_rule	**arr = NULL;
	size_t			 *cnt = NULL;

	if (rules == NULL || n == 0) {
		return;
	}
	if (list == ACL_LIST_DENY) {
		arr = &acl->deny;
		cnt = &acl->ndeny;
	} else {
		arr = &acl->allow;
		cnt = &acl->nallow;
	}
	if (n > (size_t)-1 - *cnt) {
		abort();	/* cannot happen: counts come from arrays */
	}
	*arr = xreallocarray(*arr, *cnt + n, sizeof(**arr));
	memcpy(*arr + *cnt, rules, n * sizeof(**arr));
	*cnt += n;
}

/* Frees the rule copies. */
void
acl_cleanup(struct acl *acl)
{
	if (acl == NULL) {
		return;
	}
	free(acl->deny);
	free(acl->allow);
	memset(acl, 0, sizeof(*acl));
}

/* Formats a rule as config text. */
void
acl_rule_format(const struct cfg_acl_rule *r, char *out, size_t len)
{
	char	host[CFG_HOST_MAX + 64], port[16];
	char	a[INET6_ADDRSTRLEN];
	int	max;

	if (out == NULL || len == 0) {
		return;
	}
	if (r->port_lo == 0 && r->port_hi == 65535) {
		snprintf(port, sizeof(port), "*");
	} else if (r->port_lo == r->port_hi) {
		snprintf(port, sizeof(port), "%u", (unsigned)r->port_lo);
	} else {
		snprintf(port, sizeof(port), "%u-%u", (unsigned)r->port_lo,
		    (unsigned)r->port_hi);
	}
	switch (r->kind) {
	case CFG_ACL_ANY:
		snprintf(host, sizeof(host), "*");
		break;
	case CFG_ACL_EXACT:
		snprintf(host, sizeof(host), "%.*s", CFG_HOST_MAX, r->name);
		break;
	case CFG_ACL_SUFFIX:
		snprintf(host, sizeof(host), "*.%.*s", CFG_HOST_MAX, r->name);
		break;
	case CFG_ACL_NET:
		max = r->net.family == AF_INET ? 32 : 128;
		if ((r->net.family != AF_INET && r->net.family != AF_INET6) ||
		    inet_ntop(r->net.family, r->net.addr, a, sizeof(a)) ==
		    NULL) {
			snprintf(host, sizeof(host), "?");
		} else if (r->net.prefix == max) {
			snprintf(host, sizeof(host),
			    max == 32 ? "%s" : "[%s]", a);
		} else {
			snprintf(host, sizeof(host),
			    max == 32 ? "%s/%d" : "[%s/%d]", a, r->net.prefix);
		}
		break;
	default:
		snprintf(host, sizeof(host), "?");
		break;
	}
	snprintf(out, len, "%s:%s", host, port);
}

/* Formats a decision for logs and audit events. */
void
acl_match_format(const struct acl_match *m, char *out, size_t len)
{
	char	rule[CFG_HOST_MAX + 96];

	if (out == NULL || len == 0) {
		return;
	}
	switch (m->source) {
	case ACL_SRC_DENY_RULE:
	case ACL_SRC_ALLOW_RULE:
		if (m->rule != NULL) {
			acl_rule_format(m->rule, rule, sizeof(rule));
		} else {
			snprintf(rule, sizeof(rule), "?");
		}
		snprintf(out, len, "%s rule %zu '%s'%s%s%s",
		    m->source == ACL_SRC_DENY_RULE ? "deny" : "allow",
		    m->index + 1, rule, m->addr[0] != '\0' ? " (address " : "",
		    m->addr, m->addr[0] != '\0' ? ")" : "");
		break;
	case ACL_SRC_DEFAULT:
		snprintf(out, len, "default policy (%s)",
		    m->verdict == ACL_ALLOW ? "allow" : "deny");
		break;
	default:
		snprintf(out, len, "undecided (addresses needed)");
		break;
	}
}

/* Warns about configurations that allow nearly everything. */
int
acl_warn_weak(const struct acl *acl, char *msg, size_t len)
{
	size_t	i;

	if (msg != NULL && len > 0) {
		msg[0] = '\0';
	}
	if (!acl->default_allow) {
		return 0;
	}
	if (acl->ndeny == 0) {
		if (msg != NULL && len > 0) {
			snprintf(msg, len, "ACL default policy is allow and "
			    "there are no deny rules: every destination is "
			    "reachable");
		}
		return 1;
	}
	for (i = 0; i < acl->ndeny; i++) {
		if (acl->deny[i].kind != CFG_ACL_EXACT &&
		    acl->deny[i].kind != CFG_ACL_SUFFIX) {
			return 0;
		}
	}
	if (msg != NULL && len > 0) {
		snprintf(msg, len, "ACL default policy is allow and every deny "
		    "rule is a host name pattern: they are bypassed by "
		    "connecting to an IP address");
	}
	return 1;
}

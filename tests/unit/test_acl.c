/* Unit tests for the ACL evaluator (policy/acl.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "config/values.h"
#include "policy/acl.h"

#define ANYPORT	0, 65535

/* A rule "*" with a port range. */
static struct cfg_acl_rule
r_any(uint16_t lo, uint16_t hi)
{
	struct cfg_acl_rule	r;

	memset(&r, 0, sizeof(r));
	r.kind = CFG_ACL_ANY;
	r.port_lo = lo;
	r.port_hi = hi;
	return r;
}

/* An EXACT or SUFFIX rule. */
static struct cfg_acl_rule
r_name(enum cfg_acl_host kind, const char *name, uint16_t lo, uint16_t hi)
{
	struct cfg_acl_rule	r = r_any(lo, hi);

	r.kind = kind;
	assert_true(strlen(name) < sizeof(r.name));
	strcpy(r.name, name);
	return r;
}

/* A NET rule from an address literal and a prefix. */
static struct cfg_acl_rule
r_net(const char *ip, int prefix, uint16_t lo, uint16_t hi)
{
	struct cfg_acl_rule	r = r_any(lo, hi);

	r.kind = CFG_ACL_NET;
	if (inet_pton(AF_INET, ip, r.net.addr) == 1) {
		r.net.family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, r.net.addr), 1);
		r.net.family = AF_INET6;
	}
	r.net.prefix = prefix;
	return r;
}

/* Up to 8 resolved addresses built from literals. */
struct addrs {
	struct sockaddr_storage	 ss[8];
	const struct sockaddr	*p[8];
	size_t			 n;
};

/* Fills a from a NULL-terminated list of literals. */
static void
mkaddrs(struct addrs *a, const char *ip, ...)
{
	struct sockaddr_in	*s4 = NULL;
	struct sockaddr_in6	*s6 = NULL;
	va_list			 ap;

	memset(a, 0, sizeof(*a));
	va_start(ap, ip);
	for (; ip != NULL && a->n < 8; ip = va_arg(ap, const char *)) {
		s4 = (struct sockaddr_in *)(void *)&a->ss[a->n];
		s6 = (struct sockaddr_in6 *)(void *)&a->ss[a->n];
		if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
		} else {
			assert_int_equal(inet_pton(AF_INET6, ip,
			    &s6->sin6_addr), 1);
			s6->sin6_family = AF_INET6;
		}
		a->p[a->n] = (const struct sockaddr *)&a->ss[a->n];
		a->n++;
	}
	va_end(ap);
}

/* Full check of an IP target given as a single address. */
static enum acl_verdict
check_ip(const struct acl *acl, const char *ip, uint16_t port,
    struct acl_match *why)
{
	struct addrs	a;

	mkaddrs(&a, ip, NULL);
	return acl_check(acl, NULL, a.p, a.n, port, why);
}

/* Full check of a name that resolved to one address. */
static enum acl_verdict
check_name1(const struct acl *acl, const char *name, const char *ip,
    uint16_t port)
{
	struct addrs	a;

	mkaddrs(&a, ip, NULL);
	return acl_check(acl, name, a.p, a.n, port, NULL);
}

/* EXACT: case-insensitive, trailing dots ignored, no partial match. */
static void
test_exact(void **state)
{
	struct cfg_acl_rule	rule[2];
	struct acl		acl;

	(void)state;
	rule[0] = r_name(CFG_ACL_EXACT, "example.com", ANYPORT);
	rule[1] = r_name(CFG_ACL_EXACT, "dotted.org.", ANYPORT);
	acl_init(&acl, 1, rule, 2, NULL, 0);
	assert_int_equal(check_name1(&acl, "example.com", "8.8.8.8", 443),
	    ACL_DENY);
	assert_int_equal(check_name1(&acl, "Example.COM", "8.8.8.8", 443),
	    ACL_DENY);
	assert_int_equal(check_name1(&acl, "example.com.", "8.8.8.8", 443),
	    ACL_DENY);
	assert_int_equal(check_name1(&acl, "EXAMPLE.com..", "8.8.8.8", 1),
	    ACL_DENY);
	assert_int_equal(check_name1(&acl, "dotted.org", "8.8.8.8", 1),
	    ACL_DENY);
	assert_int_equal(check_name1(&acl, "www.example.com", "8.8.8.8", 1),
	    ACL_ALLOW);
	assert_int_equal(check_name1(&acl, "example.co", "8.8.8.8", 1),
	    ACL_ALLOW);
	assert_int_equal(check_name1(&acl, "example.com.au", "8.8.8.8", 1),
	    ACL_ALLOW);
	assert_int_equal(check_name1(&acl, "xexample.com", "8.8.8.8", 1),
	    ACL_ALLOW);
	assert_int_equal(check_name1(&acl, "", "8.8.8.8", 1), ACL_ALLOW);
	assert_int_equal(check_name1(&acl, ".", "8.8.8.8", 1), ACL_ALLOW);
	acl_cleanup(&acl);
}

/* SUFFIX: the domain and subdomains, never a mere string suffix. */
static void
test_suffix(void **state)
{
	struct cfg_acl_rule	rule;
	struct acl		acl;

	(void)state;
	rule = r_name(CFG_ACL_SUFFIX, "example.com", ANYPORT);
	acl_init(&acl, 0, NULL, 0, &rule, 1);
	assert_int_equal(acl_check_name(&acl, "example.com", 443, NULL),
	    ACL_ALLOW);
	assert_int_equal(acl_check_name(&acl, "a.b.example.com", 443, NULL),
	    ACL_ALLOW);
	assert_int_equal(acl_check_name(&acl, "A.Example.Com.", 443, NULL),
	    ACL_ALLOW);
	assert_int_equal(acl_check_name(&acl, "badexample.com", 443, NULL),
	    ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "example.com.evil.net", 443,
	    NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "com", 443, NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "xample.com", 443, NULL),
	    ACL_DENY);
	acl_cleanup(&acl);
}

/* "*" matches any name and any address; name rules never match IPs. */
static void
test_any_and_literals(void **state)
{
	struct cfg_acl_rule	rule[2];
	struct acl		acl;
	struct acl_match	why;

	(void)state;
	rule[0] = r_any(ANYPORT);
	acl_init(&acl, 1, rule, 1, NULL, 0);
	assert_int_equal(acl_check_name(&acl, "anything.test", 80, NULL),
	    ACL_DENY);
	assert_int_equal(check_ip(&acl, "8.8.8.8", 80, NULL), ACL_DENY);
	assert_int_equal(check_ip(&acl, "2606:4700::1", 80, NULL), ACL_DENY);
	acl_cleanup(&acl);

	/* A name rule spelled like an IP does not match the IP target. */
	rule[0] = r_name(CFG_ACL_EXACT, "10.1.2.3", ANYPORT);
	rule[1] = r_net("192.168.0.0", 16, ANYPORT);
	acl_init(&acl, 1, rule, 2, NULL, 0);
	assert_int_equal(check_ip(&acl, "10.1.2.3", 80, NULL), ACL_ALLOW);
	/* An IP literal passed as the name is judged as an address. */
	assert_int_equal(acl_check(&acl, "10.1.2.3", NULL, 0, 80, NULL),
	    ACL_ALLOW);
	assert_int_equal(acl_check(&acl, "192.168.4.4", NULL, 0, 80, &why),
	    ACL_DENY);
	assert_int_equal(why.index, 1);
	assert_string_equal(why.addr, "192.168.4.4");
	assert_int_equal(acl_check_name(&acl, "192.168.4.4", 80, NULL),
	    ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "8.8.8.8", 80, &why),
	    ACL_ALLOW);
	assert_int_equal(why.source, ACL_SRC_DEFAULT);
	acl_cleanup(&acl);

	rule[0] = r_net("::1", 128, ANYPORT);
	acl_init(&acl, 1, rule, 1, NULL, 0);
	assert_int_equal(acl_check_name(&acl, "[::1]", 22, NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "::1", 22, NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "0:0::1", 22, NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "[::2]", 22, NULL), ACL_ALLOW);
	acl_cleanup(&acl);
}

/* Port ranges bound every rule kind. */
static void
test_ports(void **state)
{
	struct cfg_acl_rule	rule[3];
	struct acl		acl;

	(void)state;
	rule[0] = r_name(CFG_ACL_EXACT, "a.test", 443, 443);
	rule[1] = r_net("10.0.0.0", 8, 80, 443);
	rule[2] = r_any(0, 0);
	acl_init(&acl, 0, NULL, 0, rule, 3);
	assert_int_equal(acl_check_name(&acl, "a.test", 443, NULL),
	    ACL_ALLOW);
	assert_int_equal(acl_check_unresolved(&acl, "a.test", 444, NULL),
	    ACL_DENY);
	assert_int_equal(check_ip(&acl, "10.0.0.1", 79, NULL), ACL_DENY);
	assert_int_equal(check_ip(&acl, "10.0.0.1", 80, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "10.0.0.1", 443, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "10.0.0.1", 444, NULL), ACL_DENY);
	assert_int_equal(check_ip(&acl, "8.8.8.8", 0, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "8.8.8.8", 1, NULL), ACL_DENY);
	assert_int_equal(check_ip(&acl, "8.8.8.8", 65535, NULL), ACL_DENY);
	acl_cleanup(&acl);
}

/* Deny rules win over allow rules whatever the order. */
static void
test_deny_before_allow(void **state)
{
	struct cfg_acl_rule	deny[3], allow[2];
	struct acl		acl;
	struct acl_match	why;
	char			text[160];

	(void)state;
	deny[0] = r_name(CFG_ACL_EXACT, "a.test", ANYPORT);
	deny[1] = r_net("10.0.0.0", 8, ANYPORT);
	deny[2] = r_name(CFG_ACL_SUFFIX, "example.com", 25, 25);
	allow[0] = r_any(ANYPORT);
	allow[1] = r_name(CFG_ACL_SUFFIX, "example.com", ANYPORT);
	acl_init(&acl, 0, deny, 3, allow, 2);
	assert_int_equal(check_name1(&acl, "mx.example.com", "8.8.8.8", 25),
	    ACL_DENY);
	assert_int_equal(check_name1(&acl, "mx.example.com", "8.8.8.8", 587),
	    ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "10.9.9.9", 80, &why), ACL_DENY);
	assert_int_equal(why.verdict, ACL_DENY);
	assert_int_equal(why.source, ACL_SRC_DENY_RULE);
	assert_int_equal(why.index, 1);
	assert_ptr_equal(why.rule, &acl.deny[1]);
	acl_match_format(&why, text, sizeof(text));
	assert_string_equal(text,
	    "deny rule 2 '10.0.0.0/8:*' (address 10.9.9.9)");
	assert_int_equal(check_ip(&acl, "11.0.0.1", 80, &why), ACL_ALLOW);
	assert_int_equal(why.source, ACL_SRC_ALLOW_RULE);
	assert_int_equal(why.index, 0);
	acl_match_format(&why, text, sizeof(text));
	assert_string_equal(text, "allow rule 1 '*:*' (address 11.0.0.1)");
	assert_int_equal(acl_check_name(&acl, "a.test", 80, &why), ACL_DENY);
	acl_match_format(&why, text, sizeof(text));
	assert_string_equal(text, "deny rule 1 'a.test:*'");
	acl_cleanup(&acl);
}

/* A name allowed by a rule is still denied if one address is denied. */
static void
test_name_allowed_address_denied(void **state)
{
	struct cfg_acl_rule	deny, allow;
	struct acl		acl;
	struct acl_match	why;
	struct addrs		a;

	(void)state;
	deny = r_net("10.0.0.0", 8, ANYPORT);
	allow = r_name(CFG_ACL_EXACT, "intranet.test", ANYPORT);
	acl_init(&acl, 0, &deny, 1, &allow, 1);
	assert_int_equal(acl_check_name(&acl, "intranet.test", 443, &why),
	    ACL_NEED_ADDRESSES);
	assert_int_equal(why.verdict, ACL_NEED_ADDRESSES);
	assert_int_equal(why.source, ACL_SRC_NONE);
	mkaddrs(&a, "8.8.8.8", "2606:4700::1", "10.0.0.5", NULL);
	assert_int_equal(acl_check(&acl, "intranet.test", a.p, a.n, 443,
	    &why), ACL_DENY);
	assert_string_equal(why.addr, "10.0.0.5");
	mkaddrs(&a, "8.8.8.8", "2606:4700::1", NULL);
	assert_int_equal(acl_check(&acl, "intranet.test", a.p, a.n, 443,
	    &why), ACL_ALLOW);
	assert_int_equal(why.source, ACL_SRC_ALLOW_RULE);
	assert_string_equal(why.addr, "");
	acl_cleanup(&acl);
}

/* CIDR-only allow list under default deny: all addresses must match. */
static void
test_cidr_only_allow(void **state)
{
	struct cfg_acl_rule	allow[2];
	struct acl		acl;
	struct acl_match	why;
	struct addrs		a;

	(void)state;
	allow[0] = r_net("203.0.113.0", 24, ANYPORT);
	allow[1] = r_net("2001:db8::", 32, ANYPORT);
	acl_init(&acl, 0, NULL, 0, allow, 2);
	assert_int_equal(acl_check_name(&acl, "svc.test", 443, NULL),
	    ACL_NEED_ADDRESSES);
	mkaddrs(&a, "203.0.113.7", "2001:db8::7", "203.0.113.8", NULL);
	assert_int_equal(acl_check(&acl, "svc.test", a.p, a.n, 443, &why),
	    ACL_ALLOW);
	assert_int_equal(why.index, 0);
	assert_string_equal(why.addr, "203.0.113.7");
	mkaddrs(&a, "203.0.113.7", "198.51.100.1", NULL);
	assert_int_equal(acl_check(&acl, "svc.test", a.p, a.n, 443, &why),
	    ACL_DENY);
	assert_int_equal(why.source, ACL_SRC_DEFAULT);
	/* Through an upstream proxy the addresses are unknown: default. */
	assert_int_equal(acl_check_unresolved(&acl, "svc.test", 443, &why),
	    ACL_DENY);
	assert_int_equal(why.source, ACL_SRC_DEFAULT);
	assert_int_equal(acl_check(&acl, "svc.test", NULL, 0, 443, NULL),
	    ACL_DENY);
	assert_int_equal(acl_check(&acl, "svc.test", a.p, 0, 443, NULL),
	    ACL_DENY);
	acl_cleanup(&acl);
}

/* Mapped and compatible IPv6 are matched as IPv4 and as themselves. */
static void
test_mapped_v6(void **state)
{
	struct cfg_acl_rule	deny[2];
	struct acl		acl;

	(void)state;
	deny[0] = r_net("10.0.0.0", 8, ANYPORT);
	deny[1] = r_net("0.0.0.0", 8, ANYPORT);
	acl_init(&acl, 1, deny, 2, NULL, 0);
	assert_int_equal(check_ip(&acl, "::ffff:10.1.2.3", 80, NULL),
	    ACL_DENY);
	assert_int_equal(check_ip(&acl, "::10.1.2.3", 80, NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "[::ffff:10.1.2.3]", 80, NULL),
	    ACL_DENY);
	assert_int_equal(check_ip(&acl, "::ffff:11.1.2.3", 80, NULL),
	    ACL_ALLOW);
	/* :: and ::1 are not IPv4-compatible addresses. */
	assert_int_equal(check_ip(&acl, "::1", 80, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "::", 80, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "::2", 80, NULL), ACL_DENY);
	/* Other prefixes carrying 10.x are not mapped forms. */
	assert_int_equal(check_ip(&acl, "::fffe:10.1.2.3", 80, NULL),
	    ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "1::ffff:10.1.2.3", 80, NULL),
	    ACL_ALLOW);
	acl_cleanup(&acl);

	deny[0] = r_net("::ffff:0:0", 96, ANYPORT);
	deny[1] = r_net("::", 0, 22, 22);
	acl_init(&acl, 1, deny, 2, NULL, 0);
	assert_int_equal(check_ip(&acl, "::ffff:8.8.8.8", 80, NULL),
	    ACL_DENY);
	/* An IPv6 rule never matches a plain IPv4 address. */
	assert_int_equal(check_ip(&acl, "8.8.8.8", 80, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "8.8.8.8", 22, NULL), ACL_ALLOW);
	assert_int_equal(check_ip(&acl, "2606:4700::1", 22, NULL), ACL_DENY);
	acl_cleanup(&acl);
}

/* acl_check_name: when DNS is needed and when it is not. */
static void
test_check_name(void **state)
{
	struct cfg_acl_rule	deny[2], allow[2];
	struct acl		acl;
	struct acl_match	why;

	(void)state;
	deny[0] = r_name(CFG_ACL_SUFFIX, "evil.test", ANYPORT);
	deny[1] = r_net("10.0.0.0", 8, 22, 22);
	allow[0] = r_name(CFG_ACL_EXACT, "good.test", ANYPORT);
	allow[1] = r_net("8.8.8.0", 24, 53, 53);
	acl_init(&acl, 0, deny, 2, allow, 2);
	/* Refused before any DNS query. */
	assert_int_equal(acl_check_name(&acl, "x.evil.test", 22, NULL),
	    ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "x.evil.test", 80, NULL),
	    ACL_DENY);
	/* An address could still hit the port-22 CIDR deny. */
	assert_int_equal(acl_check_name(&acl, "good.test", 22, NULL),
	    ACL_NEED_ADDRESSES);
	/* No address rule covers port 80: the name decides. */
	assert_int_equal(acl_check_name(&acl, "good.test", 80, &why),
	    ACL_ALLOW);
	assert_int_equal(why.source, ACL_SRC_ALLOW_RULE);
	assert_int_equal(acl_check_name(&acl, "other.test", 80, &why),
	    ACL_DENY);
	assert_int_equal(why.source, ACL_SRC_DEFAULT);
	/* Addresses could all fall in the port-53 allow CIDR. */
	assert_int_equal(acl_check_name(&acl, "other.test", 53, NULL),
	    ACL_NEED_ADDRESSES);
	assert_int_equal(acl_check_name(&acl, NULL, 53, NULL),
	    ACL_NEED_ADDRESSES);
	acl_cleanup(&acl);
}

/* Unknown addresses never turn into an allow under default deny. */
static void
test_unresolved(void **state)
{
	struct cfg_acl_rule	deny, allow;
	struct acl		acl;

	(void)state;
	deny = r_net("10.0.0.0", 8, ANYPORT);
	allow = r_name(CFG_ACL_EXACT, "good.test", ANYPORT);
	acl_init(&acl, 0, &deny, 1, &allow, 1);
	assert_int_equal(acl_check_unresolved(&acl, "good.test", 80, NULL),
	    ACL_DENY);
	assert_int_equal(acl_check_unresolved(&acl, "other.test", 80, NULL),
	    ACL_DENY);
	assert_int_equal(acl_check(&acl, "good.test", NULL, 0, 80, NULL),
	    ACL_DENY);
	acl.default_allow = 1;
	assert_int_equal(acl_check_unresolved(&acl, "other.test", 80, NULL),
	    ACL_ALLOW);
	/* An IP literal is still judged by its address. */
	assert_int_equal(acl_check_unresolved(&acl, "10.0.0.1", 80, NULL),
	    ACL_DENY);
	acl_cleanup(&acl);

	deny = r_name(CFG_ACL_EXACT, "bad.test", ANYPORT);
	acl_init(&acl, 1, &deny, 1, NULL, 0);
	assert_int_equal(acl_check_unresolved(&acl, "BAD.test.", 80, NULL),
	    ACL_DENY);
	acl_cleanup(&acl);
}

/* Weak configurations are reported, strong ones are not. */
static void
test_warn_weak(void **state)
{
	struct cfg_acl_rule	deny[2];
	struct acl		acl;
	char			msg[200];

	(void)state;
	acl_init(&acl, 1, NULL, 0, NULL, 0);
	assert_int_equal(acl_warn_weak(&acl, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "no deny rules"));
	acl_cleanup(&acl);

	deny[0] = r_name(CFG_ACL_EXACT, "a.test", ANYPORT);
	deny[1] = r_name(CFG_ACL_SUFFIX, "b.test", ANYPORT);
	acl_init(&acl, 1, deny, 2, NULL, 0);
	assert_int_equal(acl_warn_weak(&acl, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "IP address"));
	assert_int_equal(acl_warn_weak(&acl, NULL, 0), 1);
	acl_append(&acl, ACL_LIST_DENY, (struct cfg_acl_rule[]){
	    r_net("10.0.0.0", 8, ANYPORT) }, 1);
	assert_int_equal(acl_warn_weak(&acl, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	acl_cleanup(&acl);

	deny[0] = r_any(25, 25);
	acl_init(&acl, 1, deny, 1, NULL, 0);
	assert_int_equal(acl_warn_weak(&acl, msg, sizeof(msg)), 0);
	acl_cleanup(&acl);

	acl_init(&acl, 0, NULL, 0, NULL, 0);
	assert_int_equal(acl_warn_weak(&acl, msg, sizeof(msg)), 0);
	acl_cleanup(&acl);
}

/* Inheritance by appending: indexes run over the merged list. */
static void
test_append(void **state)
{
	struct cfg_acl_rule	g, u;
	struct acl		acl;
	struct acl_match	why;

	(void)state;
	g = r_net("10.0.0.0", 8, ANYPORT);
	u = r_net("192.168.0.0", 16, ANYPORT);
	acl_init(&acl, 1, &g, 1, NULL, 0);
	acl_append(&acl, ACL_LIST_DENY, &u, 1);
	acl_append(&acl, ACL_LIST_ALLOW, &u, 1);
	acl_append(&acl, ACL_LIST_ALLOW, NULL, 0);
	assert_int_equal(acl.ndeny, 2);
	assert_int_equal(acl.nallow, 1);
	/* A user allow never overrides an inherited deny. */
	assert_int_equal(check_ip(&acl, "192.168.1.1", 80, &why), ACL_DENY);
	assert_int_equal(why.index, 1);
	acl_cleanup(&acl);
	acl_cleanup(&acl);
	acl_cleanup(NULL);
}

/* Rule and decision texts. */
static void
test_format(void **state)
{
	struct cfg_acl_rule	r;
	struct acl_match	m;
	char			out[300];

	(void)state;
	r = r_any(ANYPORT);
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "*:*");
	r = r_name(CFG_ACL_EXACT, "example.com", 443, 443);
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "example.com:443");
	r = r_name(CFG_ACL_SUFFIX, "example.com", 80, 443);
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "*.example.com:80-443");
	r = r_net("10.0.0.1", 32, ANYPORT);
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "10.0.0.1:*");
	r = r_net("2001:db8::", 32, 443, 443);
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "[2001:db8::/32]:443");
	r = r_net("::1", 128, 22, 22);
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "[::1]:22");
	r.net.family = AF_UNIX;
	acl_rule_format(&r, out, sizeof(out));
	assert_string_equal(out, "?:22");
	r = r_net("10.0.0.0", 8, ANYPORT);
	acl_rule_format(&r, out, 4);
	assert_string_equal(out, "10.");

	memset(&m, 0, sizeof(m));
	m.verdict = ACL_DENY;
	m.source = ACL_SRC_DEFAULT;
	acl_match_format(&m, out, sizeof(out));
	assert_string_equal(out, "default policy (deny)");
	m.verdict = ACL_ALLOW;
	acl_match_format(&m, out, sizeof(out));
	assert_string_equal(out, "default policy (allow)");
	m.source = ACL_SRC_NONE;
	acl_match_format(&m, out, sizeof(out));
	assert_string_equal(out, "undecided (addresses needed)");
	m.source = ACL_SRC_ALLOW_RULE;
	m.rule = &r;
	m.index = 4;
	acl_match_format(&m, out, sizeof(out));
	assert_string_equal(out, "allow rule 5 '10.0.0.0/8:*'");
}

/* The config parser's rules behave like the hand-built ones. */
static void
test_parsed_rules(void **state)
{
	static const char *const rules[] = {
		"10.0.0.0/8:*", "*.example.com:80-443", "example.com:443",
		"[2001:db8::/32]:443", "*:*",
	};
	struct cfg_acl_rule	r;
	char			err[200], out[300];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		assert_int_equal(cfg_parse_acl_rule(rules[i], &r, err,
		    sizeof(err)), 0);
		acl_rule_format(&r, out, sizeof(out));
		assert_string_equal(out, rules[i]);
	}
}

/* Hostile inputs: huge names, odd families, empty lists. */
static void
test_hostile(void **state)
{
	struct cfg_acl_rule	allow[2], deny;
	struct acl		acl;
	struct sockaddr_un	un;
	const struct sockaddr	*p[2];
	struct addrs		a;
	char			*big = NULL;

	(void)state;
	big = malloc(100001);
	assert_non_null(big);
	memset(big, 'a', 100000);
	big[100000] = '\0';
	memcpy(big + 100000 - 12, ".example.com", 12);
	allow[0] = r_name(CFG_ACL_SUFFIX, "example.com", ANYPORT);
	allow[1] = r_net("0.0.0.0", 0, ANYPORT);
	deny = r_name(CFG_ACL_EXACT, "example.com", ANYPORT);
	acl_init(&acl, 0, &deny, 1, allow, 2);
	assert_int_equal(acl_check_unresolved(&acl, big, 80, NULL),
	    ACL_ALLOW);
	memset(big, '.', 100000);
	assert_int_equal(acl_check_unresolved(&acl, big, 80, NULL),
	    ACL_DENY);
	free(big);
	/* An address of an unknown family matches no rule. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	mkaddrs(&a, "8.8.8.8", NULL);
	p[0] = a.p[0];
	p[1] = (const struct sockaddr *)&un;
	assert_int_equal(acl_check(&acl, NULL, p, 1, 80, NULL), ACL_ALLOW);
	assert_int_equal(acl_check(&acl, NULL, p, 2, 80, NULL), ACL_DENY);
	/* Nothing to judge: the default policy. */
	assert_int_equal(acl_check(&acl, NULL, NULL, 0, 80, NULL), ACL_DENY);
	assert_int_equal(acl_check(&acl, NULL, NULL, 5, 80, NULL), ACL_DENY);
	assert_int_equal(acl_check_name(&acl, "[", 80, NULL),
	    ACL_NEED_ADDRESSES);
	assert_int_equal(acl_check_name(&acl, "[]", 80, NULL),
	    ACL_NEED_ADDRESSES);
	acl_cleanup(&acl);
	/* A malformed NET rule never matches. */
	deny = r_net("10.0.0.0", 8, ANYPORT);
	deny.net.prefix = 99;
	acl_init(&acl, 1, &deny, 1, NULL, 0);
	assert_int_equal(check_ip(&acl, "10.0.0.1", 80, NULL), ACL_ALLOW);
	acl.deny[0].net.prefix = -3;
	assert_int_equal(check_ip(&acl, "10.0.0.1", 80, NULL), ACL_ALLOW);
	acl.deny[0].net.family = AF_INET6;
	acl.deny[0].net.prefix = 129;
	assert_int_equal(check_ip(&acl, "::1", 80, NULL), ACL_ALLOW);
	acl_cleanup(&acl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_any_and_literals),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_deny_before_allow),
		cmocka_unit_test(test_name_allowed_address_denied),
		cmocka_unit_test(test_cidr_only_allow),
		cmocka_unit_test(test_mapped_v6),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_unresolved),
		cmocka_unit_test(test_warn_weak),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parsed_rules),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

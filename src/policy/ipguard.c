/*
 * Anti-SSRF address classifier: special-purpose IPv4 and IPv6 ranges
 * (IANA special-purpose address registries) that a proxy must not reach
 * unless the operator explicitly allows them. IPv6 forms that carry an
 * IPv4 address (mapped, compatible, NAT64, 6to4) are judged by that IPv4.
 */
#include "policy/acl.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

struct range {
	unsigned char	 addr[16];
	int		 prefix;
	const char	*text;	/* "198.18.0.0/15 (benchmarking)" */
};

/* Checked in order: the first match names the range. */
static const struct range v4_ranges[] = {
	{ { 0, 0, 0, 0 }, 8, "0.0.0.0/8 (this network)" },
	{ { 10, 0, 0, 0 }, 8, "10.0.0.0/8 (private)" },
	{ { 100, 64, 0, 0 }, 10, "100.64.0.0/10 (shared address space)" },
	{ { 127, 0, 0, 0 }, 8, "127.0.0.0/8 (loopback)" },
	{ { 169, 254, 0, 0 }, 16, "169.254.0.0/16 (link-local)" },
	{ { 172, 16, 0, 0 }, 12, "172.16.0.0/12 (private)" },
	{ { 192, 0, 0, 0 }, 24, "192.0.0.0/24 (IETF protocol assignments)" },
	{ { 192, 0, 2, 0 }, 24, "192.0.2.0/24 (documentation)" },
	{ { 192, 88, 99, 0 }, 24, "192.88.99.0/24 (6to4 relay anycast)" },
	{ { 192, 168, 0, 0 }, 16, "192.168.0.0/16 (private)" },
	{ { 198, 18, 0, 0 }, 15, "198.18.0.0/15 (benchmarking)" },
	{ { 198, 51, 100, 0 }, 24, "198.51.100.0/24 (documentation)" },
	{ { 203, 0, 113, 0 }, 24, "203.0.113.0/24 (documentation)" },
	{ { 224, 0, 0, 0 }, 4, "224.0.0.0/4 (multicast)" },
	{ { 255, 255, 255, 255 }, 32, "255.255.255.255/32 (broadcast)" },
	{ { 240, 0, 0, 0 }, 4, "240.0.0.0/4 (reserved)" },
};

/* IPv6 ranges blocked whatever the rest of the address holds. */
static const struct range v6_ranges[] = {
	{ { 0 }, 128, "::/128 (unspecified)" },
	{ { [15] = 1 }, 128, "::1/128 (loopback)" },
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48,
	    "64:ff9b:1::/48 (local-use IPv4/IPv6 translation)" },
	{ { 0x01, 0x00 }, 64, "100::/64 (discard-only)" },
	{ { 0x20, 0x01, 0x00, 0x00 }, 32, "2001::/32 (Teredo)" },
	{ { 0x20, 0x01, 0x00, 0x00 }, 23, "2001::/23 (IETF protocol "
	    "assignments)" },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "2001:db8::/32 (documentation)" },
	{ { 0x3f, 0xff }, 20, "3fff::/20 (documentation)" },
	{ { 0x5f, 0x00 }, 16, "5f00::/16 (segment routing SIDs)" },
	{ { 0xfc }, 7, "fc00::/7 (unique local)" },
	{ { 0xfe, 0x80 }, 10, "fe80::/10 (link-local)" },
	{ { 0xfe, 0xc0 }, 10, "fec0::/10 (site-local)" },
	{ { 0xff }, 8, "ff00::/8 (multicast)" },
};

/* IPv6 ranges that carry an IPv4 address at byte offset v4at. */
struct embed {
	unsigned char	 addr[16];
	int		 prefix;
	int		 v4at;
	const char	*text;
};

static const struct embed v6_embeds[] = {
	{ { [10] = 0xff, [11] = 0xff }, 96, 12,
	    "::ffff:0:0/96 (IPv4-mapped)" },
	{ { 0 }, 96, 12, "::/96 (IPv4-compatible)" },
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, 12, "64:ff9b::/96 (NAT64)" },
	{ { 0x20, 0x02 }, 16, 2, "2002::/16 (6to4)" },
};

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

/* The first range of the table containing a, or NULL. */
static const char *
find_range(const struct range *tab, size_t n, const unsigned char *a)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (prefix_eq(a, tab[i].addr, tab[i].prefix)) {
			return tab[i].text;
		}
	}
	return NULL;
}

/* The embedding range of an IPv6 address (never :: or ::1), or NULL. */
static const struct embed *
find_embed(const unsigned char *a)
{
	size_t	i;

	for (i = 0; i < sizeof(v6_embeds) / sizeof(v6_embeds[0]); i++) {
		if (prefix_eq(a, v6_embeds[i].addr, v6_embeds[i].prefix)) {
			return &v6_embeds[i];
		}
	}
	return NULL;
}

/* 1 if a family/bytes pair is inside one of the allowed networks. */
static int
allowed_hit(const struct cfg_cidr *allowed, size_t n, int family,
    const unsigned char *a)
{
	size_t	i;
	int	max = family == AF_INET ? 32 : 128;

	for (i = 0; allowed != NULL && i < n; i++) {
		if (allowed[i].family == family && allowed[i].prefix >= 0 &&
		    allowed[i].prefix <= max &&
		    prefix_eq(a, allowed[i].addr, allowed[i].prefix)) {
			return 1;
		}
	}
	return 0;
}

/* Writes a reason if the caller wants one. */
static int
blocked(char *reason, size_t rlen, const char *outer, const char *inner)
{
	if (reason != NULL && rlen > 0) {
		if (inner != NULL) {
			snprintf(reason, rlen, "%s carrying %s", outer, inner);
		} else {
			snprintf(reason, rlen, "%s", outer);
		}
	}
	return 1;
}

/* Classifies an IPv6 address (mapped forms by the IPv4 they carry). */
static int
v6_blocked(const unsigned char *a, const struct cfg_cidr *allowed,
    size_t nallowed, char *reason, size_t rlen)
{
	const struct embed	*e = NULL;
	const char		*r = NULL;

	if (allowed_hit(allowed, nallowed, AF_INET6, a)) {
		return 0;
	}
	if ((r = find_range(v6_ranges, sizeof(v6_ranges) /
	    sizeof(v6_ranges[0]), a)) != NULL) {
		return blocked(reason, rlen, r, NULL);
	}
	if ((e = find_embed(a)) == NULL ||
	    allowed_hit(allowed, nallowed, AF_INET, a + e->v4at)) {
		return 0;
	}
	if ((r = find_range(v4_ranges, sizeof(v4_ranges) /
	    sizeof(v4_ranges[0]), a + e->v4at)) != NULL) {
		return blocked(reason, rlen, e->text, r);
	}
	return 0;
}

/* 1 if a proxy must not connect to sa (see acl.h). */
int
ipguard_is_blocked(const struct sockaddr *sa,
    const struct cfg_cidr *allowed, size_t nallowed, char *reason,
    size_t rlen)
{
	const unsigned char	*a = NULL;
	const char		*r = NULL;

	if (reason != NULL && rlen > 0) {
		reason[0] = '\0';
	}
	if (sa == NULL) {
		return blocked(reason, rlen, "no address", NULL);
	}
	if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_addr.s6_addr;
		return v6_blocked(a, allowed, nallowed, reason, rlen);
	}
	if (sa->sa_family != AF_INET) {
		return blocked(reason, rlen, "unsupported address family",
		    NULL);
	}
	a = (const unsigned char *)
	    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	if (allowed_hit(allowed, nallowed, AF_INET, a)) {
		return 0;
	}
	if ((r = find_range(v4_ranges, sizeof(v4_ranges) /
	    sizeof(v4_ranges[0]), a)) != NULL) {
		return blocked(reason, rlen, r, NULL);
	}
	return 0;
}

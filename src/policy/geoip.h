/*
 * GeoIP country lookups (libmaxminddb) and the country decision of
 * [geoip]. The database is opened once per configuration snapshot and
 * only read afterwards, so lookups from any thread are safe.
 */
#ifndef SKS5_POLICY_GEOIP_H
#define SKS5_POLICY_GEOIP_H

#include <stddef.h>

struct cfg_geoip;
struct sockaddr;
struct geoip;

/* Opens a MaxMind database (country or city). 0, or ERR_IO with a
 * message for a person in err. */
int	geoip_open(const char *path, struct geoip **out, char *err,
	    size_t errlen);
/* Closes the database. NULL is a no-op. */
void	geoip_free(struct geoip *g);

/* The ISO 3166 alpha-2 code of sa into cc (3 bytes): 0, ERR_NOTFOUND
 * (no country for this address) or ERR_IO (lookup failed). */
int	geoip_country(const struct geoip *g, const struct sockaddr *sa,
	    char cc[3]);

/*
 * The decision for a country (NULL: unknown or the lookup failed): a
 * denied country is refused; with allowed countries set, any other known
 * country is refused; an unknown country is refused only with
 * fail_closed. Returns 1 (allow) or 0 (deny, reason in why).
 */
int	geoip_decide(const struct cfg_geoip *c, const char *cc, char *why,
	    size_t len);

#endif /* SKS5_POLICY_GEOIP_H */

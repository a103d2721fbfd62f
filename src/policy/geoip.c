/* GeoIP lookups over libmaxminddb and the country decision. */
#include "policy/geoip.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

struct geoip {
	MMDB_s	db;
};

int
geoip_open(const char *path, struct geoip **out, char *err, size_t errlen)
{
	struct geoip *g = xcalloc(1, sizeof(*g));
	int r;

	*out = NULL;
	if ((r = MMDB_open(path, MMDB_MODE_MMAP, &g->db)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "cannot open GeoIP database %s: %s", path,
		    MMDB_strerror(r));
		free(g);
		return ERR_IO;
	}
	*out = g;
	return 0;
}

void
geoip_free(struct geoip *g)
{
	if (g == NULL)
		return;
	MMDB_close(&g->db);
	free(g);
}

int
geoip_country(const struct geoip *g, const struct sockaddr *sa, char cc[3])
{
	MMDB_lookup_result_s res;
	MMDB_entry_data_s data;
	int r = 0;

	cc[0] = '\0';
	res = MMDB_lookup_sockaddr(&g->db, sa, &r);
	if (r != MMDB_SUCCESS)
		return ERR_IO;
	if (!res.found_entry)
		return ERR_NOTFOUND;
	r = MMDB_get_value(&res.entry, &data, "country", "iso_code", NULL);
	if (r != MMDB_SUCCESS || !data.has_data)
		return r == MMDB_SUCCESS ||
		    r == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ?
		    ERR_NOTFOUND : ERR_IO;
	if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
		return ERR_NOTFOUND;
	memcpy(cc, data.utf8_string, 2);
	cc[2] = '\0';
	return 0;
}

/* 1 if cc is in the list. */
static int
listed(const struct cfg_strv *v, const char *cc)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (strcmp(v->v[i], cc) == 0)
			return 1;
	}
	return 0;
}

int
geoip_decide(const struct cfg_geoip *c, const char *cc, char *why,
    size_t len)
{
	if (cc == NULL) {
		if (c->fail_closed) {
			snprintf(why, len, "GeoIP: country unknown "
			    "(fail_closed)");
			return 0;
		}
		return 1;
	}
	if (listed(&c->denied_countries, cc)) {
		snprintf(why, len, "GeoIP: country %s is denied", cc);
		return 0;
	}
	if (c->allowed_countries.n > 0 && !listed(&c->allowed_countries, cc)) {
		snprintf(why, len, "GeoIP: country %s is not allowed", cc);
		return 0;
	}
	return 1;
}

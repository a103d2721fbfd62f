/* Compiled time zone files (RFC 8536) and UTC offsets. */
#include "policy/tzif.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

#define TZ_HDR	44

/* The six counts of a header. */
struct tzhdr {
	uint32_t	isut, isstd, leap, time, type, chars;
	int		version;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads a header at p (len bytes left). 0 or ERR_INVAL. */
static int
hdr_read(const unsigned char *p, size_t len, struct tzhdr *h)
{
	if (len < TZ_HDR || memcmp(p, "TZif", 4) != 0)
		return ERR_INVAL;
	h->version = p[4] == 0 ? 1 : p[4] - '0';
	if (h->version < 1 || h->version > 9)
		return ERR_INVAL;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->time > TZ_MAX_TIMES || h->type == 0 ||
	    h->type > TZ_MAX_TYPES || h->chars > 65536 ||
	    h->leap > 65536 || h->isut > h->type || h->isstd > h->type)
		return ERR_INVAL;
	return 0;
}

/* Size of a data block whose times are tsize bytes wide. */
static size_t
block_len(const struct tzhdr *h, size_t tsize)
{
	return (size_t)h->time * (tsize + 1) + (size_t)h->type * 6 +
	    h->chars + (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Fills out from one data block at p (checked to be long enough). */
static int
block_read(const unsigned char *p, const struct tzhdr *h, size_t tsize,
    struct tz *out)
{
	const unsigned char *idx = p + (size_t)h->time * tsize;
	const unsigned char *types = idx + h->time;
	uint32_t i;
	int32_t *toff = NULL;

	toff = xcalloc(h->type, sizeof(*toff));
	for (i = 0; i < h->type; i++)
		toff[i] = (int32_t)be32(types + (size_t)i * 6);
	out->times = xcalloc(h->time + 1, sizeof(*out->times));
	out->offs = xcalloc(h->time + 1, sizeof(*out->offs));
	out->n = h->time;
	out->first_off = toff[0];
	for (i = 0; i < h->time; i++) {
		out->times[i] = tsize == 8 ? be64(p + (size_t)i * 8) :
		    (int64_t)(int32_t)be32(p + (size_t)i * 4);
		if (idx[i] >= h->type ||
		    (i > 0 && out->times[i] <= out->times[i - 1])) {
			free(toff);
			tz_cleanup(out);
			return ERR_INVAL;
		}
		out->offs[i] = toff[idx[i]];
	}
	free(toff);
	return 0;
}

int
tz_parse(const unsigned char *p, size_t len, struct tz *out)
{
	struct tzhdr h, h2;
	size_t v1;

	memset(out, 0, sizeof(*out));
	if (hdr_read(p, len, &h) != 0)
		return ERR_INVAL;
	v1 = block_len(&h, 4);
	if (len - TZ_HDR < v1)
		return ERR_INVAL;
	if (h.version < 2)
		return block_read(p + TZ_HDR, &h, 4, out);
	p += TZ_HDR + v1;
	len -= TZ_HDR + v1;
	if (hdr_read(p, len, &h2) != 0 || len - TZ_HDR < block_len(&h2, 8))
		return ERR_INVAL;
	return block_read(p + TZ_HDR, &h2, 8, out);
}

void
tz_cleanup(struct tz *z)
{
	free(z->times);
	free(z->offs);
	memset(z, 0, sizeof(*z));
}

int32_t
tz_offset(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->n, mid;

	if (z->n == 0 || t < z->times[0])
		return z->first_off;
	/* The last transition at or before t. */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->offs[lo];
}

int
tz_load(const char *dir, const char *name, struct tz *out, char *err,
    size_t errlen)
{
	unsigned char *buf = NULL;
	char path[4096];
	FILE *f = NULL;
	size_t n;
	int r = ERR_IO;

	memset(out, 0, sizeof(*out));
	if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL) {
		snprintf(err, errlen, "bad time zone name \"%s\"", name);
		return ERR_INVAL;
	}
	if (dir == NULL && (dir = getenv("TZDIR")) == NULL)
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "unknown time zone \"%s\" (%s: %s)", name,
		    path, strerror(errno));
		return ERR_IO;
	}
	buf = xmalloc(TZ_MAX_FILE);
	n = fread(buf, 1, TZ_MAX_FILE, f);
	fclose(f);
	if (n == TZ_MAX_FILE || tz_parse(buf, n, out) != 0) {
		snprintf(err, errlen, "time zone \"%s\": %s is not a valid "
		    "zone file", name, path);
		r = ERR_INVAL;
	} else {
		r = 0;
	}
	free(buf);
	return r;
}

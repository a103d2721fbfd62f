/*
 * Time zones for access windows: a parser for compiled zone files (TZif,
 * RFC 8536, versions 1 to 4) and the UTC offset at an instant. Pure: the
 * parser takes a buffer; tz_load() is the only function that reads a
 * file.
 *
 * Offsets come from the file's transition table (64-bit section when the
 * file has one). Debian ships "fat" files whose tables run to 2037; after
 * the last transition the last offset stays in force (the POSIX rule in
 * the footer is not evaluated).
 */
#ifndef SKS5_POLICY_TZIF_H
#define SKS5_POLICY_TZIF_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on what a zone file may hold (real ones: < 2000 transitions). */
#define TZ_MAX_TIMES	20000
#define TZ_MAX_TYPES	256
#define TZ_MAX_FILE	(1024 * 1024)

struct tz {
	int64_t	*times;		/* transition instants, seconds, ascending */
	int32_t	*offs;		/* UTC offset in force from times[i] on */
	size_t	 n;
	int32_t	 first_off;	/* before the first transition */
};

/* Parses a TZif file. 0, or ERR_INVAL (not TZif, truncated, out of
 * bounds). Free with tz_cleanup(). */
int	tz_parse(const unsigned char *p, size_t len, struct tz *out);
void	tz_cleanup(struct tz *z);
/* UTC offset in seconds at t (seconds since the epoch). */
int32_t	tz_offset(const struct tz *z, int64_t t);
/*
 * Loads zone name ("Europe/Paris") from dir (NULL: $TZDIR, else
 * /usr/share/zoneinfo). The name must be a relative path without "..".
 * 0, ERR_INVAL or ERR_IO with a message in err.
 */
int	tz_load(const char *dir, const char *name, struct tz *out, char *err,
	    size_t errlen);

#endif /* SKS5_POLICY_TZIF_H */

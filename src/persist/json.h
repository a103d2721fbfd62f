/* Strict jansson helpers of src/persist (internal). */
#ifndef SKS5_PERSIST_JSON_H
#define SKS5_PERSIST_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * Parses a whole file: one JSON object, duplicate keys rejected, with a
 * "format" integer this build reads. NULL with the reason in err.
 */
json_t	*persist__parse(const char *text, size_t len, char *err,
	    size_t errlen);
/* A required string member of at most max bytes (borrowed). */
int	persist__jstr(json_t *o, const char *key, size_t max, const char **out,
	    char *err, size_t errlen);
/* A required integer member within [lo, hi]. */
int	persist__jint(json_t *o, const char *key, int64_t lo, int64_t hi,
	    uint64_t *out, char *err, size_t errlen);
/* The same, optional: absent gives 0. */
int	persist__jopt_int(json_t *o, const char *key, int64_t lo, int64_t hi,
	    uint64_t *out, char *err, size_t errlen);
/* A string array or object of strings, checked (count and lengths). */
int	persist__jstrings(json_t *v, size_t max_n, size_t max_len,
	    const char *what, char *err, size_t errlen);
/* Dumps doc (taken) into a heap string ending in a newline. */
char	*persist__dump(json_t *doc, size_t *len);
/* The 16-byte table key of a textual IP address; 0 or ERR_PROTO. */
int	persist__ip_key(const char *s, unsigned char key[16]);

#endif /* SKS5_PERSIST_JSON_H */

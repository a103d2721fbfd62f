/*
 * TOML 1.0.0 parser producing a read-only document tree.
 *
 * toml_parse() takes the whole document as (ptr, len); it never touches a
 * file descriptor or the log. On error it fills err with
 * "NAME:LINE:COL: what is wrong" (NAME is the name passed in) and returns
 * ERR_PROTO (or ERR_TOO_LARGE when a bound below is exceeded).
 *
 * The tree is owned by the caller and released with toml_free(). Every
 * pointer inside stays valid until then.
 */
#ifndef SKS5_CONFIG_TOML_H
#define SKS5_CONFIG_TOML_H

#include <stddef.h>
#include <stdint.h>

/* Bounds: a document larger or deeper than this is rejected. */
#define TOML_MAX_DOC_SIZE	(1024 * 1024)	/* bytes */
#define TOML_MAX_DEPTH		128		/* nested tables/arrays */

enum toml_type {
	TOML_STRING = 1,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,		/* offset date-time */
	TOML_DATETIME_LOCAL,
	TOML_DATE_LOCAL,
	TOML_TIME_LOCAL,
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_datetime {
	int	year, month, day;	/* unused for TOML_TIME_LOCAL */
	int	hour, minute, second;	/* unused for TOML_DATE_LOCAL */
	int	nanosecond;		/* 0..999999999 */
	int	frac_digits;		/* digits given after '.', 0 if none */
	int	offset_minutes;		/* TOML_DATETIME only; Z is 0 */
};

struct toml_value;

struct toml_kv {
	char			*key;	/* NUL-terminated; may hold NUL bytes */
	size_t			 keylen;
	struct toml_value	*val;
};

struct toml_value {
	enum toml_type	 type;
	int		 line;	/* 1-based position where the value starts */
	int		 col;	/* (for tables: the header or first key) */
	union {
		struct {
			char	*ptr;	/* NUL-terminated, UTF-8 */
			size_t	 len;	/* may hold NUL bytes (\u0000) */
		} str;
		int64_t			i;
		double			f;
		int			b;
		struct toml_datetime	dt;
		struct {
			struct toml_value **items;
			size_t		    n;
		} arr;
		struct {
			struct toml_kv	*kv;	/* in document order */
			size_t		 n;
		} tab;
	} u;
	/* Parser-private bookkeeping; callers must not rely on it. */
	unsigned	 flags;
	size_t		 cap;
};

/*
 * Parses a TOML document. name is used in error messages only.
 * On success *out is the root table (caller frees with toml_free).
 * Returns 0, ERR_PROTO, ERR_TOO_LARGE or ERR_NOMEM; *out is NULL on error.
 */
int	toml_parse(const char *text, size_t len, const char *name,
	    struct toml_value **out, char *err, size_t errlen);

/* Frees a tree returned by toml_parse. NULL is a no-op. */
void	toml_free(struct toml_value *v);

/* Looks up key in a table; NULL if absent or v is not a table. */
const struct toml_value *toml_get(const struct toml_value *tab,
	    const char *key);

/* Returns "string", "integer", ..., "table" for messages. */
const char *toml_type_name(enum toml_type t);

#endif /* SKS5_CONFIG_TOML_H */

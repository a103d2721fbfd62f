/*
 * Private interface shared by toml.c (document structure: keys, tables,
 * arrays) and toml_value.c (scalars: strings, numbers, dates and times).
 * Nothing outside src/config/toml*.c includes this header.
 */
#ifndef SKS5_CONFIG_TOML_INT_H
#define SKS5_CONFIG_TOML_INT_H

#include <stddef.h>

#include "config/toml.h"

struct toml__ent;

/* Parser state: a read-only view of the document plus a cursor. */
struct toml__parser {
	const unsigned char	*s;		/* document, not NUL-terminated */
	size_t			 len;
	size_t			 pos;		/* cursor, byte offset */
	size_t			 start;		/* after the byte order mark */
	const char		*name;		/* for messages */
	char			*err;
	size_t			 errlen;
	int			 failed;	/* an error was recorded */

	/* Line/column cache: position cpos is at cline:ccol. */
	size_t			 cpos;
	int			 cline;
	int			 ccol;

	/* Index of every (table, key) pair, for O(1) duplicate checks. */
	struct toml__ent	*idx;
	size_t			 idxcap;
	size_t			 idxn;
};

/* A growable byte string; p is NUL-terminated once non-NULL. */
struct toml__str {
	char	*p;
	size_t	 n;
	size_t	 cap;
};

/* Returns the byte k positions after the cursor, or -1 past the end. */
static inline int
toml__peek(const struct toml__parser *p, size_t k)
{
	if (k >= p->len - p->pos) {
		return -1;
	}
	return p->s[p->pos + k];
}

/* Converts a byte offset to a 1-based line and column (in characters). */
void	toml__where(struct toml__parser *p, size_t pos, int *line, int *col);

/*
 * Records "NAME:LINE:COL: message" for byte offset pos (first error wins)
 * and returns code (ERR_PROTO or ERR_TOO_LARGE).
 */
int	toml__fail(struct toml__parser *p, size_t pos, int code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Writes a short description of the character at pos into buf. */
const char *toml__desc(const struct toml__parser *p, size_t pos, char *buf,
	    size_t size);

/*
 * Parses a string of any of the four kinds at the cursor into out (which
 * must be zeroed). Multi-line forms are refused unless multi is set.
 * On error out is released and zeroed again.
 */
int	toml__parse_string(struct toml__parser *p, struct toml__str *out,
	    int multi);

/* Parses a boolean, number or date/time at the cursor into v. */
int	toml__parse_scalar(struct toml__parser *p, struct toml_value *v);

#endif /* SKS5_CONFIG_TOML_INT_H */

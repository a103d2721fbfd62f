/*
 * Internals of the configuration module, shared by its .c files only.
 *
 * The schema is a tree of sections; each section is a table of key
 * descriptors giving the key's name, storage type, offset inside the C
 * struct, default, bounds and help text. The loader, --set, the
 * environment mapping, the dump and the documentation all walk it.
 */
#ifndef SKS5_CONFIG_CONFIG_INT_H
#define SKS5_CONFIG_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct toml_value;

enum cfg__ktype {
	CK_BOOL = 1,
	CK_U32,
	CK_U64,
	CK_I64,
	CK_STR,		/* char *, never NULL after defaults */
	CK_OSTR,	/* char *, NULL = unset */
	CK_PATH,	/* CK_STR resolved against the config directory */
	CK_OPATH,	/* CK_OSTR resolved likewise */
	CK_STRV,	/* struct cfg_strv */
	CK_ENUM,	/* int index into enums */
	CK_MAP,		/* struct cfg_map */
	CK_TABLE,	/* embedded struct described by sub */
	CK_ARRAY,	/* array of tables: T *at off, size_t at off_n */
	CK_OBOOL,	/* struct cfg_obool */
	CK_OU32,	/* struct cfg_ou32 */
	CK_OU64,	/* struct cfg_ou64 */
	CK_OENUM,	/* struct cfg_oenum */
};

#define CFG__F_SECRET	0x01	/* printed as "***" when redacting */
#define CFG__F_URL	0x02	/* URL whose credentials are redacted */
#define CFG__F_URLPATH	0x04	/* also its path and query (chat webhooks
				   carry their token there) */

struct cfg__sect;

struct cfg__key {
	const char		*name;
	enum cfg__ktype		 type;
	size_t			 off;
	int64_t			 idef;	/* default of numbers, bools, enums */
	const char		*sdef;	/* default of CK_STR / CK_PATH */
	int64_t			 min, max;	/* integer bounds, inclusive */
	const char *const	*enums;	/* NULL-terminated names */
	const struct cfg__sect	*sub;	/* CK_TABLE, CK_ARRAY */
	size_t			 off_n;	/* CK_ARRAY: offset of the count */
	unsigned		 flags;
	const char		*help;
};

struct cfg__sect {
	const char		*name;
	const struct cfg__key	*keys;
	size_t			 nkeys;
	size_t			 size;	/* sizeof the struct described */
};

/* The root section (struct cfg). */
extern const struct cfg__sect cfg__root;

/* Where a key's value came from, for messages after loading. */
struct cfg__origin {
	char	*path;	/* indexed dotted path, e.g. "users.0.group" */
	char	*where;	/* "FILE:LINE:COL", "env SKS5_X" or "--set K" */
};

/* Loader state shared by the pipeline stages. */
struct cfg__ld {
	struct cfg		*c;
	struct cfg_diag		*d;
	const char		*name;		/* source name for messages */
	const char		*base_dir;	/* NULL: keep relative paths */
	int			 allow_pending;
	struct cfg__origin	*org;
	size_t			 norg;
};

/* schema.c */
const struct cfg__key *cfg__key_find(const struct cfg__sect *s,
	    const char *name, size_t len);
const char *cfg__suggest(const struct cfg__sect *s, const char *name);
void	cfg__defaults(struct cfg__ld *ld, const struct cfg__sect *s,
	    void *base);
void	cfg__free_sect(const struct cfg__sect *s, void *base);
void	cfg__strv_free(struct cfg_strv *v, int secret);
const char *cfg__type_name(const struct cfg__key *k);
void	*cfg__array_append(struct cfg__ld *ld, const struct cfg__key *k,
	    void *base);

/* set.c: storing values into the model */
int	cfg__load_table(struct cfg__ld *ld, const struct cfg__sect *s,
	    void *base, const struct toml_value *tab, const char *ipath,
	    const char *where_fallback);
int	cfg__set_value(struct cfg__ld *ld, const struct cfg__key *k,
	    void *field, const struct toml_value *v, const char *ipath,
	    const char *where);
int	cfg__set_path(struct cfg__ld *ld, const char *path, const char *value,
	    const char *where, int lower_enums);
void	cfg__origin_add(struct cfg__ld *ld, const char *ipath,
	    const char *where);
const char *cfg__where(const struct cfg__ld *ld, const char *ipath);
char	*cfg__unindex(const char *ipath);
int	cfg__parse_bool(const char *s, int *out);

/* pending.c */
int	cfg__pending_check(struct cfg__ld *ld, const char *ipath,
	    const char *where);

/* env.c */
int	cfg__env_lookup(char *const *envp, const char *name,
	    const char **out);
int	cfg__env_sufficient(char *const *envp);
int	cfg__env_apply(struct cfg__ld *ld, char *const *envp, int hybrid);
const char *cfg__env_var_for(const char *upath);

/* validate.c */
int	cfg__validate(struct cfg__ld *ld);
const char *cfg__event_canonical(const char *name);

/* resolve.c */
void	cfg__resolve(struct cfg *c);
void	cfg__resolve_cleanup(struct cfg *c);

#endif /* SKS5_CONFIG_CONFIG_INT_H */

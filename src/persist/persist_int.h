/* Internals of src/persist shared by its files. */
#ifndef SKS5_PERSIST_INT_H
#define SKS5_PERSIST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "persist/persist.h"
#include "policy/saved.h"
#include "shell/shell.h"

/* The format number written and the newest one read. */
#define PERSIST_FORMAT		1

/* Size bounds of the files read back. */
#define PERSIST_STATE_MAX	(64u << 20)
#define PERSIST_REP_MAX		(32u << 20)
#define PERSIST_USER_MAX	(4u << 20)
#define PERSIST_BOOKMARKS_MAX	(32u << 20)
#define PERSIST_CONFIG_MAX	(16u << 20)
/* Count and length bounds of what a file may hold. */
#define PERSIST_MAX_IPS		(1u << 22)
#define PERSIST_MAX_USERS	(1u << 20)
#define PERSIST_MAX_HISTORY	10000
#define PERSIST_MAX_KV		1000
#define PERSIST_MAX_NAME	256
#define PERSIST_MAX_LINE	8192
#define PERSIST_MAX_USER_FILES	100000

/* ----- files (file.c) ----- */

/* mkdir -p with mode 0700; the last component is chmod'ed to 0700. 0 or
 * ERR_IO with the reason in err. */
int	persist__mkdirs(const char *path, char *err, size_t errlen);
/* Takes the exclusive lock file of dir. 0 with *fd, ERR_EXISTS when
 * another process holds it, ERR_IO. */
int	persist__lock(const char *dir, int *fd, char *err, size_t errlen);
/* Writes path atomically (path.tmp, fsync, rename, directory fsync), mode
 * 0600. 0 or ERR_IO with the reason in err. */
int	persist__write(const char *path, const void *data, size_t len,
	    char *err, size_t errlen);
/* Reads a regular file of at most max bytes (NUL-terminated copy).
 * 0, ERR_NOTFOUND, ERR_TOO_LARGE or ERR_IO. */
int	persist__read(const char *path, size_t max, char **out, size_t *len);
/* Renames a file that cannot be used to <path>.corrupt. 0 or ERR_IO. */
int	persist__set_aside(const char *path);

/* ----- formats (state.c, user.c): pure, no file, no log ----- */

/* The contents of state.json. */
struct persist_state_doc {
	struct policy_saved_ip		*bans;
	size_t				 nbans;
	struct policy_saved_quota	*quotas;
	size_t				 nquotas;
	int64_t				*orphan_since;	/* per quota; 0 */
};

void	persist__state_doc_free(struct persist_state_doc *d);
/* Text of state.json (heap, *len bytes): the bans (entries of ips with
 * ban_until set) and the quotas, orphan_since parallel to q (or NULL). */
char	*persist__state_encode(const struct policy_saved_ip *ips, size_t nips,
	    const struct policy_saved_quota *q, const int64_t *orphan_since,
	    size_t nq, int64_t now_ms, size_t *len);
/* Parses state.json. Bans that ended before now are dropped. 0, or
 * ERR_PROTO with the reason in err (nothing to free then). */
int	persist__state_decode(const char *text, size_t len, int64_t now_ms,
	    struct persist_state_doc *out, char *err, size_t errlen);

/* reputation.json from the entries of ips with a score. */
char	*persist__rep_encode(const struct policy_saved_ip *ips, size_t n,
	    int64_t now_ms, size_t *len);
int	persist__rep_decode(const char *text, size_t len,
	    struct policy_saved_ip **out, size_t *n, char *err, size_t errlen);

/* The file name (no directory) of a user's data. Heap string. */
char	*persist__user_file(const char *user);
/* users/<f>.json of one user; bookmarks left out when with_bm is 0. */
char	*persist__user_encode(const struct shell_store_user *u, int with_bm,
	    size_t *len);
/* Parses one user file into out (free with shell_store_users_free(out,
 * 1) semantics: persist__user_clear()). */
int	persist__user_decode(const char *text, size_t len,
	    struct shell_store_user *out, char *err, size_t errlen);
void	persist__user_clear(struct shell_store_user *u);
/* The server.bookmarks_path file: every user's bookmarks. */
char	*persist__bookmarks_encode(const struct shell_store_user *v, size_t n,
	    size_t *len);
/* Parses it into users carrying only bookmarks. */
int	persist__bookmarks_decode(const char *text, size_t len,
	    struct shell_store_user **out, size_t *n, char *err,
	    size_t errlen);

/* Frees n strings of v and empties them (v itself stays). */
void	persist__strv_drop(char **v, size_t n);

/* ----- config history (confhist.c) ----- */

/*
 * Keeps a copy of the configuration file src in dir (created 0700) when
 * it differs from the newest copy there, then removes the oldest copies
 * beyond max. Problems are logged; never fails the caller.
 */
void	persist__confhist_keep(const char *dir, const char *src,
	    uint32_t max);

#endif /* SKS5_PERSIST_INT_H */

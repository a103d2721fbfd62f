/* Internals of the shell module shared by its files (double underscore). */
#ifndef SKS5_SHELL_INT_H
#define SKS5_SHELL_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "shell/shell.h"

struct cfg_perms;

/* Most tokens one line may hold. */
#define SHELL_MAX_ARGS		256
/* Longest virtual path. */
#define SHELL_PATH_MAX		1024
/* Longest bookmark or alias name. */
#define SHELL_NAME_MAX		32
/* Most history entries one session keeps for up/down. */
#define SHELL_HISTORY_DEFAULT	100
#define SHELL_BOOKMARKS_DEFAULT	50

/* ----- tokenizer (tok.c) ----- */

struct shell_argv {
	char	**v;	/* NULL-terminated */
	size_t	  n;
};

/*
 * Splits line[0..len) into words: blanks separate words; '...' is
 * literal; "..." groups with \" and \\ as escapes; \x outside quotes is
 * x. An unquoted # starting a word ends the line (comment). Unterminated
 * quotes run to the end of the line. NUL bytes count as blanks. No other
 * character is special. Returns 0, or ERR_TOO_LARGE past SHELL_MAX_ARGS
 * words (out is then empty). Free with shell__argv_free().
 */
int	shell__tokenize(const char *line, size_t len, struct shell_argv *out);
void	shell__argv_free(struct shell_argv *a);
/* Appends a copy of s. */
void	shell__argv_push(struct shell_argv *a, const char *s);

/* ----- line editor (line.c) ----- */

enum shell_line_event {
	SHELL_LINE_NONE = 0,
	SHELL_LINE_ENTER,	/* a line is complete: shell__line_take() */
	SHELL_LINE_EOF,		/* Ctrl-D on an empty line */
	SHELL_LINE_TAB,		/* complete: shell__line_complete() */
	SHELL_LINE_INTR,	/* Ctrl-C: line dropped, "^C" written */
};

struct shell_line {
	char		 text[SHELL_LINE_MAX + 1];
	size_t		 len;		/* bytes */
	size_t		 cur;		/* byte offset of the cursor */
	unsigned	 cols;		/* terminal width */
	const char	*prompt;	/* borrowed; may hold SGR sequences */
	size_t		 plen;
	size_t		 crow;		/* cursor row below the prompt row */
	/* Input decoding state. */
	int		 esc;		/* ESC_* of line.c */
	char		 seq[16];	/* CSI parameter bytes */
	size_t		 nseq;
	unsigned char	 u8[4];		/* partial UTF-8 character */
	size_t		 nu8, want8;
	int		 last_cr;	/* previous byte was CR */
	/* History browsing: hist_pos == hist_n is the line being typed. */
	char *const	*hist;		/* borrowed from the session */
	size_t		 hist_n;
	size_t		 hist_pos;
	char		*saved;		/* the line being typed */
	struct buf	*out;		/* echo goes here */
};

void	shell__line_init(struct shell_line *l, struct buf *out,
	    unsigned cols);
void	shell__line_cleanup(struct shell_line *l);
/* Starts a new empty line: writes the prompt (borrowed until the next
 * reset) and remembers the history for up/down. */
void	shell__line_reset(struct shell_line *l, const char *prompt,
	    size_t plen, char *const *hist, size_t nhist);
/* Feeds one byte; returns a SHELL_LINE_* event. */
int	shell__line_byte(struct shell_line *l, unsigned char c);
/* Moves the cursor after the text and starts a new row ("\r\n"), so
 * that output can follow; shell__line_redraw() then draws again. */
void	shell__line_newline(struct shell_line *l);
/* Redraws prompt and line (after Ctrl-L, a listing, a resize). */
void	shell__line_redraw(struct shell_line *l);
/* Inserts bytes at the cursor (completion) with a redraw. */
void	shell__line_insert(struct shell_line *l, const char *s, size_t n);
/* New terminal width (0 is ignored); with shown set, the line is on the
 * screen and is redrawn for the new width. */
void	shell__line_resize(struct shell_line *l, unsigned cols, int shown);
/* Terminal columns a UTF-8 string takes (escape sequences count 0). */
size_t	shell__width(const char *s, size_t n);

/* ----- virtual filesystem (vfs.c) ----- */

struct shell_vnode {
	char		*path;		/* absolute, normalised */
	int		 dir;
	int		 own;		/* owned by the user (else root) */
	char		*data;		/* file contents */
};

struct shell_vfs {
	struct shell_vnode	*n;
	size_t			 count;
	char			*home;
};

void	shell__vfs_init(struct shell_vfs *fs, const char *user,
	    const char *hostname, const char *motd);
void	shell__vfs_cleanup(struct shell_vfs *fs);
/* Resolves arg against cwd into out ("~" is home; "." and ".."
 * collapse). Returns 0 or ERR_TOO_LARGE. */
int	shell__vfs_path(const struct shell_vfs *fs, const char *cwd,
	    const char *arg, char *out, size_t outlen);
const struct shell_vnode *shell__vfs_find(const struct shell_vfs *fs,
	    const char *path);
/* Children of a directory in byte order; returns the count and a heap
 * array of borrowed pointers (free the array). */
size_t	shell__vfs_list(const struct shell_vfs *fs, const char *dir,
	    const struct shell_vnode ***out);
/* Last component of a path ("/" for the root). */
const char *shell__vfs_base(const char *path);

/* ----- per-user store (store.c) ----- */

struct shell_udata;

struct shell_udata *shell__store_user(struct shell_store *st,
	    const char *user);
/* A session stops using the data shell__store_user() returned. */
void	shell__store_release(struct shell_store *st, struct shell_udata *u);
/* History: append (blank and repeated lines skipped); copy all. */
void	shell__hist_add(struct shell_store *st, struct shell_udata *u,
	    const char *line);
char	**shell__hist_copy(struct shell_store *st, struct shell_udata *u,
	    size_t *n);
void	shell__hist_clear(struct shell_store *st, struct shell_udata *u);
/* Bookmarks (kind 0) and aliases (kind 1): name -> value, sorted. */
#define SHELL_KV_BOOKMARK	0
#define SHELL_KV_ALIAS		1
/* Sets name; returns 0 added, 1 updated, ERR_TOO_LARGE when full. */
int	shell__kv_set(struct shell_store *st, struct shell_udata *u, int kind,
	    const char *name, const char *value);
/* Removes name; 0 or ERR_NOTFOUND. */
int	shell__kv_del(struct shell_store *st, struct shell_udata *u, int kind,
	    const char *name);
/* Returns a heap copy of the value, or NULL. */
char	*shell__kv_get(struct shell_store *st, struct shell_udata *u,
	    int kind, const char *name);
/* Copies every entry, sorted: names and values are parallel arrays. */
size_t	shell__kv_list(struct shell_store *st, struct shell_udata *u,
	    int kind, char ***names, char ***values);
void	shell__strv_free(char **v, size_t n);

/* ----- session and commands (shell.c, cmd_*.c) ----- */

struct shell {
	struct shell_ctx	 ctx;		/* strings owned (copies) */
	char			*user;		/* user name */
	const char		*hostname;	/* borrowed from cfg */
	int			 interactive;
	int			 colors;	/* SGR in output */
	int			 motd_colors;
	int			 done;
	int			 midline;	/* output left the cursor
						 * off column 0 */
	int			 status;
	int			 werr;		/* write error seen */
	shell_write_fn		 write;
	void			*warg;
	struct buf		 out;
	struct shell_vfs	 fs;
	char			 cwd[SHELL_PATH_MAX];
	char			 oldpwd[SHELL_PATH_MAX];
	struct shell_store	*store;
	struct shell_store	*own_store;	/* private one, freed */
	struct shell_udata	*ud;
	char			**hist;		/* this session's history */
	size_t			 nhist;
	size_t			 hist_max;
	struct shell_line	 line;
	unsigned		 rows;
	char			*prompt;	/* with SGR when colors */
	size_t			 prompt_len;
};

/* A permission gate: the flag's name and its offset in cfg_perms. */
const struct cfg_perms *shell__perms(const struct shell *sh);

/* Output helpers: bytes, formatted text (with "\n" turned into
 * "\r\n"), and SGR colour wrappers that vanish without colors. */
void	shell__out(struct shell *sh, const void *p, size_t n);
void	shell__printf(struct shell *sh, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	shell__flush(struct shell *sh);
/* Returns "\033[<code>m" when colors are on, else "". */
const char *shell__sgr(const struct shell *sh, const char *code);
/* The reset sequence when colors are on, else "". */
const char *shell__rst(const struct shell *sh);

/* Tab completion at the cursor (complete.c). */
void	shell__complete(struct shell *sh);
/* exit/logout: ends the session ("logout" when interactive). */
void	shell__logout(struct shell *sh);
/* cd: changes the working directory (path already checked). */
void	shell__chdir(struct shell *sh, const char *path);

/* Runs one tokenized command; returns its exit status. */
int	shell__run(struct shell *sh, struct shell_argv *a);

/* A built-in command. perm: offset of its cfg_perms flag, or -1. */
struct shell_cmd {
	const char	*name;
	int		(*fn)(struct shell *, int, char **);
	int		 perm;		/* offsetof(struct cfg_perms, ...) */
	const char	*usage;
	const char	*help;
};
const struct shell_cmd *shell__cmd_find(const char *name);
const struct shell_cmd *shell__cmd_at(size_t i);
/* 1 if the session may run cmd (permission flag true). */
int	shell__cmd_allowed(const struct shell *sh, const struct shell_cmd *c);

int	shell__cmd_show(struct shell *, int, char **);
int	shell__cmd_test(struct shell *, int, char **);
int	shell__cmd_ping(struct shell *, int, char **);
int	shell__cmd_resolve(struct shell *, int, char **);
int	shell__cmd_bookmark(struct shell *, int, char **);
int	shell__cmd_alias(struct shell *, int, char **);
int	shell__cmd_history(struct shell *, int, char **);
int	shell__cmd_admin(struct shell *, int, char **);

/* The show topics (for completion) and bookmark/alias subcommands. */
extern const char *const shell__show_topics[];
/* The admin subcommands (for completion), sorted. */
extern const char *const shell__admin_subs[];

/* Live values: ops->stats or zeros. */
void	shell__stats(const struct shell *sh, struct shell_stats *st);

/* Formatting (fmt.c). */
void	shell__fmt_bytes(uint64_t n, char *out, size_t len);
void	shell__fmt_rate(uint64_t bytes_per_s, char *out, size_t len);
void	shell__fmt_duration(uint64_t secs, char *out, size_t len);
void	shell__fmt_time(time_t t, char *out, size_t len);	/* RFC 3339 */
void	shell__fmt_us(uint64_t us, char *out, size_t len);	/* "1.2 ms" */
const char *shell__arch(void);

/* Parses "host:port", "[v6]:port"; with defport != 0 a bare host is
 * accepted. host gets the name without brackets. 0 or ERR_INVAL. */
int	shell__parse_target(const char *s, uint16_t defport, char *host,
	    size_t hostlen, uint16_t *port);
/* Valid bookmark/alias name: [A-Za-z0-9_.-], 1..SHELL_NAME_MAX. */
int	shell__name_ok(const char *s);

/* MOTD (motd.c): the built-in template and the renderer. */
extern const char shell__motd_default[];
extern const char *const shell__motd_vars[];	/* NULL-terminated */
char	*shell__motd(const struct shell_ctx *ctx, int colors);

#endif /* SKS5_SHELL_INT_H */

/*
 * Internals of the CLI shared by its files: the one table of subcommands
 * and options (used by the parser, --help, completions and the man page),
 * the parsed command line, and the subcommand entry points.
 */
#ifndef SKS5_CLI_CLI_INT_H
#define SKS5_CLI_CLI_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cfg_overrides;

#define CLI_MAX_OPTS	8	/* options per subcommand */
#define CLI_MAX_POS	2	/* positional arguments kept */
#define CLI_ERR_LEN	256
#define CLI_PASS_MAX	1024	/* password bytes, terminator included */

enum cli_cmd_id {
	CLI_CMD_CHECK_CONFIG = 1,
	CLI_CMD_SHOW_CONFIG,
	CLI_CMD_HASH_PASSWORD,
	CLI_CMD_INIT,
	CLI_CMD_GENERATE_TOTP,
	CLI_CMD_HEALTH_CHECK,
	CLI_CMD_SSH_CONFIG,
	CLI_CMD_COMPLETIONS,
	CLI_CMD_MANPAGE,
	CLI_CMD_HELP,
	CLI_CMD_QUICK_START,
};

/* How an option's value is completed by the shell scripts. */
enum cli_val {
	CLI_VAL_NONE = 0,	/* a flag: no value */
	CLI_VAL_TEXT,		/* free text: nothing to complete */
	CLI_VAL_FILE,		/* a path */
	CLI_VAL_CHOICE,		/* one of choices[] */
};

struct cli_opt {
	const char		 *lname;	/* "password" (without --) */
	char			  sname;	/* 'p', or 0 */
	enum cli_val		  val;
	const char		 *metavar;	/* "PASSWORD"; NULL for flags */
	const char		 *def;		/* default shown in help, or NULL */
	const char *const	 *choices;	/* NULL-terminated, or NULL */
	int			  req;		/* must be given */
	const char		 *help;		/* one line */
};

struct cli_cmd {
	enum cli_cmd_id		  id;
	const char		 *name;
	const char		 *summary;	/* one line */
	const char		 *posname;	/* "SHELL", "[USERNAME]" or NULL */
	int			  posreq;	/* positional required */
	const char *const	 *poschoices;	/* NULL-terminated, or NULL */
	const char		 *description;	/* a paragraph */
	const char		 *example;	/* one command line */
	const struct cli_opt	 *opts;		/* ends with lname NULL */
};

/* The tables, in cli_table.c. Both end with a NULL name. */
extern const struct cli_cmd cli__cmds[];
extern const struct cli_opt cli__globals[];

/* A parsed command line. Strings point into argv or envp (borrowed). */
struct cli_args {
	const struct cli_cmd	 *cmd;		/* NULL: run the server */
	const char		 *config;	/* NULL: "config.toml" */
	int			  config_explicit;
	const char		 *log_level;
	int			  force_env;
	const char		 *data_dir;
	const char		 *ssh_listen;
	const char		**sets;		/* heap array of borrowed */
	size_t			  nsets;
	int			  help;
	int			  version;
	char			 *vals[CLI_MAX_OPTS];	/* by cmd->opts index */
	const char		 *pos[CLI_MAX_POS];
	size_t			  npos;
	char			  err[CLI_ERR_LEN];	/* usage error text */
};

/*
 * Parses argv (options before or after the subcommand, "--" ends them)
 * and the SKS5_CONFIG, SKS5_FORCE_ENV and SKS5_DATA_DIR variables of envp
 * (may be NULL). Returns 0, or ERR_INVAL with a message in a->err (a usage
 * error: exit 2). Call cli__args_cleanup() in both cases.
 */
int	cli__parse(int argc, char **argv, char *const *envp,
	    struct cli_args *a);
void	cli__args_cleanup(struct cli_args *a);

/* The value of a subcommand option by long name; NULL if not given. A flag
 * given reads as non-NULL. */
const char *cli__opt(const struct cli_args *a, const char *lname);
/* Same, but writable (to wipe a password from argv). */
char	*cli__opt_mut(const struct cli_args *a, const char *lname);

/* Fills the configuration overrides from the parsed globals. */
void	cli__overrides(const struct cli_args *a, char **envp,
	    struct cfg_overrides *ov);

/* Looks a subcommand up by exact name; NULL if unknown. */
const struct cli_cmd *cli__find_cmd(const char *name);
/* The closest subcommand name to a mistyped one, or NULL if none is close. */
const char *cli__suggest(const char *name);
/* Levenshtein distance (capped at 99), exposed for tests. */
int	cli__distance(const char *a, const char *b);

/* Help texts, to f. */
void	cli__print_help(FILE *f);
void	cli__print_cmd_help(const struct cli_cmd *c, FILE *f);

/* Writes "sks5[ CMD]: msg" and a hint to stderr; returns CLI_EXIT_USAGE. */
int	cli__usage(const struct cli_cmd *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Writes "Error: msg" to stderr; returns CLI_EXIT_FAIL. */
int	cli__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal integer in [lo, hi]; 0 or ERR_INVAL. */
int	cli__parse_uint(const char *s, unsigned long lo, unsigned long hi,
	    unsigned long *out);
/* True if s is non-empty and has no whitespace, control or quote byte. */
int	cli__safe_token(const char *s);

/* Generated texts (cli_gen.c). completions: 0 or ERR_INVAL (bad shell). */
int	cli__completions(const char *shell, FILE *f);
void	cli__manpage(FILE *f);

/*
 * Reads a password: without echo from a terminal (asking twice when
 * confirm is set), else one line from stdin. buf holds len bytes; the
 * result is NUL-terminated. 0, ERR_INVAL (empty, mismatch, too long; a
 * message was printed) or ERR_IO.
 */
int	cli__read_password(int confirm, char *buf, size_t len);
/* Takes the password from opt (a -p value, then wiped from argv, with a
 * warning) or, when opt is NULL, asks as above. Prints any message. */
int	cli__get_password(char *opt, char *buf, size_t len);
/* Argon2id PHC string of pw with memory m_kib KiB and t passes into out
 * (crypto_pwhash_STRBYTES). 0 or ERR_*. */
int	cli__hash_password(const char *pw, uint32_t m_kib, uint32_t t,
	    char *out, size_t outlen);

/* Subcommands: each returns the exit code. */
int	cli__cmd_hash_password(const struct cli_args *a, char **envp);
int	cli__cmd_init(const struct cli_args *a);
int	cli__cmd_quick_start(const struct cli_args *a, char **envp);
/* Creates path (which must not exist) with mode 0600 and writes text:
 * 0, ERR_EXISTS or ERR_IO. */
int	cli__write_new(const char *path, const char *text, size_t len);
int	cli__cmd_generate_totp(const struct cli_args *a);
int	cli__cmd_health_check(const struct cli_args *a);
int	cli__cmd_ssh_config(const struct cli_args *a);

#endif /* SKS5_CLI_CLI_INT_H */

/*
 * The command-line parser: global options before or after the subcommand,
 * "--opt VALUE", "--opt=VALUE", "-oVALUE", clustered short flags, "--" to
 * end options, and the SKS5_CONFIG / SKS5_FORCE_ENV / SKS5_DATA_DIR
 * variables. Pure: it prints nothing and only fills struct cli_args.
 */
#include "cli/cli_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

/* Records a usage error message; returns ERR_INVAL. */
static int __attribute__((format(printf, 2, 3)))
fail(struct cli_args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	return ERR_INVAL;
}

/* Returns the value of NAME in envp, or NULL when unset or empty. */
static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	char *const *e = NULL;

	if (envp == NULL) {
		return NULL;
	}
	for (e = envp; *e != NULL; e++) {
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
			return (*e)[n + 1] != '\0' ? *e + n + 1 : NULL;
		}
	}
	return NULL;
}

/* Reads the environment variables the CLI itself understands. */
static int
parse_env(char *const *envp, struct cli_args *a)
{
	const char *v = NULL;

	if ((v = env_get(envp, "SKS5_CONFIG")) != NULL) {
		a->config = v;
		a->config_explicit = 1;
	}
	a->data_dir = env_get(envp, "SKS5_DATA_DIR");
	if ((v = env_get(envp, "SKS5_FORCE_ENV")) != NULL) {
		if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 ||
		    strcasecmp(v, "yes") == 0) {
			a->force_env = 1;
		} else if (strcasecmp(v, "false") == 0 ||
		    strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0) {
			a->force_env = 0;
		} else {
			return fail(a, "SKS5_FORCE_ENV: invalid value '%.40s' "
			    "(expected true, false, 1, 0, yes or no)", v);
		}
	}
	return 0;
}

/* Finds an option by long name (len bytes) or, if lname is NULL, by short. */
static const struct cli_opt *
find_opt(const struct cli_opt *t, const char *lname, size_t len, char sname)
{
	for (; t->lname != NULL; t++) {
		if (lname != NULL && strlen(t->lname) == len &&
		    strncmp(t->lname, lname, len) == 0) {
			return t;
		}
		if (lname == NULL && sname != 0 && t->sname == sname) {
			return t;
		}
	}
	return NULL;
}

/* True if some subcommand has this long option (for a better message). */
static int
is_cmd_opt(const char *lname, size_t len)
{
	const struct cli_cmd *c = NULL;

	for (c = cli__cmds; c->name != NULL; c++) {
		if (find_opt(c->opts, lname, len, 0) != NULL) {
			return 1;
		}
	}
	return 0;
}

/* Checks v against an option's list of choices. */
static int
check_choice(struct cli_args *a, const struct cli_opt *o, const char *v)
{
	const char *const *ch = NULL;
	char list[128] = "";

	if (o->choices == NULL) {
		return 0;
	}
	for (ch = o->choices; *ch != NULL; ch++) {
		if (strcmp(*ch, v) == 0) {
			return 0;
		}
		strncat(list, ch == o->choices ? "" : ", ",
		    sizeof(list) - strlen(list) - 1);
		strncat(list, *ch, sizeof(list) - strlen(list) - 1);
	}
	return fail(a, "invalid value '%.40s' for --%s (expected one of: %s)",
	    v, o->lname, list);
}

/* Stores a global option's value. */
static int
apply_global(struct cli_args *a, const struct cli_opt *o, const char *v)
{
	const char *eq = NULL;

	if (o->metavar != NULL && *v == '\0') {
		return fail(a, "option --%s needs a non-empty value", o->lname);
	}
	if (strcmp(o->lname, "config") == 0) {
		a->config = v;
		a->config_explicit = 1;
	} else if (strcmp(o->lname, "log-level") == 0) {
		a->log_level = v;
	} else if (strcmp(o->lname, "force-env") == 0) {
		a->force_env = 1;
	} else if (strcmp(o->lname, "data-dir") == 0) {
		a->data_dir = v;
	} else if (strcmp(o->lname, "ssh-listen") == 0) {
		a->ssh_listen = v;
	} else if (strcmp(o->lname, "set") == 0) {
		if ((eq = strchr(v, '=')) == NULL || eq == v) {
			return fail(a, "--set needs KEY=VALUE, got '%.60s'",
			    v);
		}
		a->sets = xreallocarray(a->sets, a->nsets + 1,
		    sizeof(*a->sets));
		a->sets[a->nsets++] = v;
	} else if (strcmp(o->lname, "help") == 0) {
		a->help = 1;
	} else if (strcmp(o->lname, "version") == 0) {
		a->version = 1;
	}
	return 0;
}

/* Stores one option (global or of the current subcommand). */
static int
apply(struct cli_args *a, const struct cli_opt *o, char *v)
{
	size_t k;
	int r;

	if ((r = check_choice(a, o, v)) != 0) {
		return r;
	}
	for (k = 0; a->cmd != NULL && a->cmd->opts[k].lname != NULL &&
	    k < CLI_MAX_OPTS; k++) {
		if (&a->cmd->opts[k] == o) {
			a->vals[k] = v;
			return 0;
		}
	}
	return apply_global(a, o, v);
}

/* Looks an option up in the subcommand's table, then in the globals. */
static const struct cli_opt *
lookup(const struct cli_args *a, const char *lname, size_t len, char sname)
{
	const struct cli_opt *o = NULL;

	if (a->cmd != NULL && (o = find_opt(a->cmd->opts, lname, len,
	    sname)) != NULL) {
		return o;
	}
	return find_opt(cli__globals, lname, len, sname);
}

/* Parses "--name", "--name=value" or "--name value" at argv[*i]. */
static int
parse_long(struct cli_args *a, int argc, char **argv, int *i)
{
	char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_opt *o = lookup(a, name, len, 0);

	if (o == NULL) {
		if (a->cmd == NULL && is_cmd_opt(name, len)) {
			return fail(a, "option '--%.*s' belongs after the "
			    "command name", (int)(len > 40 ? 40 : len), name);
		}
		return fail(a, "unknown option '--%.*s'",
		    (int)(len > 40 ? 40 : len), name);
	}
	if (o->metavar == NULL) {
		if (eq != NULL) {
			return fail(a, "option --%s takes no value", o->lname);
		}
		return apply(a, o, argv[*i]);
	}
	if (eq != NULL) {
		return apply(a, o, eq + 1);
	}
	if (*i + 1 >= argc) {
		return fail(a, "option --%s needs a value (%s)", o->lname,
		    o->metavar);
	}
	return apply(a, o, argv[++*i]);
}

/* Parses "-x", "-xVALUE", "-x VALUE" and clusters of flags "-hV". */
static int
parse_short(struct cli_args *a, int argc, char **argv, int *i)
{
	char *arg = argv[*i];
	const struct cli_opt *o = NULL;
	size_t j;
	int r;

	for (j = 1; arg[j] != '\0'; j++) {
		if ((o = lookup(a, NULL, 0, arg[j])) == NULL) {
			return fail(a, "unknown option '-%c'", arg[j]);
		}
		if (o->metavar == NULL) {
			if ((r = apply(a, o, arg)) != 0) {
				return r;
			}
			continue;
		}
		if (arg[j + 1] != '\0') {
			return apply(a, o, arg + j + 1);
		}
		if (*i + 1 >= argc) {
			return fail(a, "option -%c needs a value (%s)", o->sname,
			    o->metavar);
		}
		return apply(a, o, argv[++*i]);
	}
	return 0;
}

/* A word that is not an option: the subcommand, or a positional. */
static int
parse_word(struct cli_args *a, const char *w)
{
	const char *s = NULL;
	const char *const *ch = NULL;

	if (a->cmd == NULL) {
		if ((a->cmd = cli__find_cmd(w)) != NULL) {
			return 0;
		}
		if ((s = cli__suggest(w)) != NULL) {
			return fail(a, "unknown command '%.40s' (did you mean "
			    "'%s'?)", w, s);
		}
		return fail(a, "unknown command '%.40s'", w);
	}
	if (a->cmd->posname == NULL || a->npos >= 1) {
		return fail(a, "unexpected argument '%.40s'", w);
	}
	if (a->cmd->poschoices != NULL) {
		for (ch = a->cmd->poschoices; *ch != NULL; ch++) {
			if (strcmp(*ch, w) == 0) {
				break;
			}
		}
		if (*ch == NULL) {
			return fail(a, "invalid %s '%.40s'", a->cmd->posname, w);
		}
	}
	a->pos[a->npos++] = w;
	return 0;
}

int
cli__parse(int argc, char **argv, char *const *envp, struct cli_args *a)
{
	int i, r = 0, endopts = 0;
	const char *s = NULL;

	memset(a, 0, sizeof(*a));
	if ((r = parse_env(envp, a)) != 0) {
		return r;
	}
	for (i = 1; i < argc && r == 0; i++) {
		if (!endopts && strcmp(argv[i], "--") == 0) {
			endopts = 1;
		} else if (!endopts && strncmp(argv[i], "--", 2) == 0) {
			r = parse_long(a, argc, argv, &i);
		} else if (!endopts && argv[i][0] == '-' &&
		    argv[i][1] != '\0') {
			r = parse_short(a, argc, argv, &i);
		} else {
			r = parse_word(a, argv[i]);
		}
	}
	if (r != 0 || a->help || a->version || a->cmd == NULL) {
		return r;
	}
	if (a->cmd->posreq && a->npos == 0) {
		return fail(a, "missing argument %s", a->cmd->posname);
	}
	if (a->cmd->id == CLI_CMD_HELP && a->npos == 1 &&
	    cli__find_cmd(a->pos[0]) == NULL) {
		s = cli__suggest(a->pos[0]);
		return fail(a, "unknown command '%.40s'%s%s%s", a->pos[0],
		    s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
	}
	return 0;
}

void
cli__args_cleanup(struct cli_args *a)
{
	free(a->sets);
	a->sets = NULL;
	a->nsets = 0;
}

char *
cli__opt_mut(const struct cli_args *a, const char *lname)
{
	const struct cli_opt *o = NULL;

	if (a->cmd == NULL) {
		return NULL;
	}
	o = find_opt(a->cmd->opts, lname, strlen(lname), 0);
	return o != NULL ? a->vals[o - a->cmd->opts] : NULL;
}

const char *
cli__opt(const struct cli_args *a, const char *lname)
{
	return cli__opt_mut(a, lname);
}

void
cli__overrides(const struct cli_args *a, char **envp,
    struct cfg_overrides *ov)
{
	memset(ov, 0, sizeof(*ov));
	ov->config_path = a->config;
	ov->config_explicit = a->config_explicit;
	ov->force_env = a->force_env;
	ov->data_dir = a->data_dir;
	ov->ssh_listen = a->ssh_listen;
	ov->log_level = a->log_level;
	ov->sets = a->sets;
	ov->nsets = a->nsets;
	ov->envp = envp;
}

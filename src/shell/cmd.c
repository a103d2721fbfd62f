/*
 * The command table, dispatch with permission gates, and the commands
 * that only read the session and its virtual filesystem.
 */
#include "shell/shell_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/util.h"
#include "core/version.h"

#define PERM(f)		((int)offsetof(struct cfg_perms, f))
#define NOPERM		(-1)
#define SHOWPERM	(-2)	/* any of the show_* flags */
#define ADMINPERM	(-3)	/* role = admin */

static int cmd_ls(struct shell *, int, char **);
static int cmd_cd(struct shell *, int, char **);
static int cmd_pwd(struct shell *, int, char **);
static int cmd_cat(struct shell *, int, char **);
static int cmd_whoami(struct shell *, int, char **);
static int cmd_id(struct shell *, int, char **);
static int cmd_hostname(struct shell *, int, char **);
static int cmd_uname(struct shell *, int, char **);
static int cmd_echo(struct shell *, int, char **);
static int cmd_env(struct shell *, int, char **);
static int cmd_clear(struct shell *, int, char **);
static int cmd_help(struct shell *, int, char **);
static int cmd_exit(struct shell *, int, char **);

static const struct shell_cmd cmds[] = {
	{ "ls", cmd_ls, NOPERM, "ls [-al1] [path...]", "list a directory" },
	{ "cd", cmd_cd, NOPERM, "cd [dir|-]", "change the directory" },
	{ "pwd", cmd_pwd, NOPERM, "pwd", "print the directory" },
	{ "cat", cmd_cat, NOPERM, "cat file...", "print files" },
	{ "whoami", cmd_whoami, NOPERM, "whoami", "print your user name" },
	{ "id", cmd_id, NOPERM, "id", "print your user and group ids" },
	{ "hostname", cmd_hostname, NOPERM, "hostname",
	    "print the host name" },
	{ "uname", cmd_uname, NOPERM, "uname [-asnrvmo]",
	    "print system information" },
	{ "echo", cmd_echo, NOPERM, "echo [-n] [word...]", "print words" },
	{ "env", cmd_env, NOPERM, "env", "print the environment" },
	{ "printenv", cmd_env, NOPERM, "printenv [name...]",
	    "print environment variables" },
	{ "clear", cmd_clear, NOPERM, "clear", "clear the screen" },
	{ "history", shell__cmd_history, NOPERM, "history [-c] [n]",
	    "list (or clear) your command history" },
	{ "help", cmd_help, NOPERM, "help [command]", "this help" },
	{ "exit", cmd_exit, NOPERM, "exit [status]", "leave the shell" },
	{ "logout", cmd_exit, NOPERM, "logout", "leave the shell" },
	/* Proxy commands (help prints them in their own section). */
	{ "show", shell__cmd_show, SHOWPERM, "show <topic>",
	    "live information about your account" },
	{ "test", shell__cmd_test, PERM(test_command),
	    "test <host:port|@bookmark>",
	    "check the ACL and connect once (TCP)" },
	{ "ping", shell__cmd_ping, PERM(ping_command),
	    "ping [-c n] <host[:port]|@bookmark>",
	    "TCP connect round-trip times (not ICMP)" },
	{ "resolve", shell__cmd_resolve, PERM(resolve_command),
	    "resolve <host>", "look up a host name" },
	{ "bookmark", shell__cmd_bookmark, PERM(bookmark_command),
	    "bookmark add|list|del ...", "named targets (@name)" },
	{ "alias", shell__cmd_alias, PERM(alias_command),
	    "alias add|list|del ...", "command shortcuts" },
	{ "admin", shell__cmd_admin, ADMINPERM,
	    "admin <subcommand>", "server administration (admin role)" },
};
#define NCMDS		(sizeof(cmds) / sizeof(cmds[0]))
#define FIRST_PROXY	16	/* index of "show" */

const struct shell_cmd *
shell__cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, name) == 0) {
			return &cmds[i];
		}
	}
	return NULL;
}

const struct shell_cmd *
shell__cmd_at(size_t i)
{
	return i < NCMDS ? &cmds[i] : NULL;
}

int
shell__cmd_allowed(const struct shell *sh, const struct shell_cmd *c)
{
	const struct cfg_perms *p = shell__perms(sh);

	if (c->perm == NOPERM) {
		return 1;
	}
	if (c->perm == ADMINPERM) {
		return sh->ctx.user->eff.role == CFG_ROLE_ADMIN;
	}
	if (c->perm == SHOWPERM) {
		return p->show_connections || p->show_bandwidth ||
		    p->show_acl || p->show_status || p->show_history ||
		    p->show_fingerprint || p->show_quota;
	}
	return *(const int *)((const char *)p + c->perm);
}

int
shell__run(struct shell *sh, struct shell_argv *a)
{
	const struct shell_cmd *c = shell__cmd_find(a->v[0]);

	if (c == NULL) {
		shell__printf(sh, "%s: command not found\n", a->v[0]);
		return SHELL_STATUS_NOTFOUND;
	}
	if (!shell__cmd_allowed(sh, c)) {
		shell__printf(sh, "%s: permission denied (not allowed for "
		    "your account)\n", c->name);
		return SHELL_STATUS_FAIL;
	}
	return c->fn(sh, (int)a->n, a->v);
}

/* One entry of ls -l. */
static void
ls_long(struct shell *sh, const struct shell_vnode *n, const char *name)
{
	const char *owner = n->own ? sh->user : "root";

	shell__printf(sh, "%s %2d %s %s %5zu Jan  1 00:00 %s%s%s\n",
	    n->dir ? "drwxr-xr-x" : "-rw-r--r--", n->dir ? 2 : 1, owner,
	    owner, n->dir ? (size_t)4096 : strlen(n->data),
	    n->dir ? shell__sgr(sh, "1;34") : "", name,
	    n->dir ? shell__rst(sh) : "");
}

/* Prints entries (names parallel to nodes) short or long. */
static void
ls_print(struct shell *sh, const struct shell_vnode *const *nodes,
    const char *const *names, size_t n, int lng, int one)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lng) {
			ls_long(sh, nodes[i], names[i]);
			continue;
		}
		shell__printf(sh, "%s%s%s%s%s%s",
		    i > 0 ? (one ? "\n" : "  ") : "",
		    nodes[i]->dir ? shell__sgr(sh, "1;34") : "", names[i],
		    nodes[i]->dir ? shell__rst(sh) : "",
		    nodes[i]->dir ? "/" : "", i + 1 == n ? "\n" : "");
	}
}

/* Lists the directory at path. */
static void
ls_dir(struct shell *sh, const char *path, int all, int lng, int one)
{
	const struct shell_vnode **kids = NULL, **nodes = NULL;
	const char **names = NULL;
	char parent[SHELL_PATH_MAX];
	size_t k, i, n = 0;

	k = shell__vfs_list(&sh->fs, path, &kids);
	nodes = xcalloc(k + 3, sizeof(*nodes));
	names = xcalloc(k + 3, sizeof(*names));
	if (all) {
		nodes[n] = shell__vfs_find(&sh->fs, path);
		names[n++] = ".";
		if (shell__vfs_path(&sh->fs, path, "..", parent,
		    sizeof(parent)) == 0) {
			nodes[n] = shell__vfs_find(&sh->fs, parent);
			names[n++] = "..";
		}
	}
	for (i = 0; i < k; i++) {
		if (!all && shell__vfs_base(kids[i]->path)[0] == '.') {
			continue;
		}
		nodes[n] = kids[i];
		names[n++] = shell__vfs_base(kids[i]->path);
	}
	if (lng) {
		shell__printf(sh, "total %zu\n", n * 4);
	}
	ls_print(sh, nodes, names, n, lng, one);
	free(kids);
	free(nodes);
	free(names);
}

static int
cmd_ls(struct shell *sh, int argc, char **argv)
{
	const struct shell_vnode **fnodes = NULL, *v = NULL;
	const char **fnames = NULL, **args = NULL, *o = NULL;
	char **dirs = NULL;
	const char **dnames = NULL;
	char path[SHELL_PATH_MAX];
	int i, all = 0, lng = 0, one = 0, st = 0, opts = 1;
	size_t na = 0, nf = 0, nd = 0, k;

	args = xcalloc((size_t)argc + 1, sizeof(*args));
	for (i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0) {
			opts = 0;
			continue;
		}
		if (!opts || argv[i][0] != '-' || argv[i][1] == '\0') {
			args[na++] = argv[i];
			continue;
		}
		for (o = argv[i] + 1; *o != '\0'; o++) {
			if (*o == 'a' || *o == 'A') {
				all = 1;
			} else if (*o == 'l') {
				lng = 1;
			} else if (*o == '1') {
				one = 1;
			} else {
				shell__printf(sh, "ls: invalid option -- "
				    "'%c'\n", *o);
				free(args);
				return SHELL_STATUS_FAIL;
			}
		}
	}
	if (na == 0) {
		args[na++] = ".";
	}
	fnodes = xcalloc(na + 1, sizeof(*fnodes));
	fnames = xcalloc(na + 1, sizeof(*fnames));
	dirs = xcalloc(na + 1, sizeof(*dirs));
	dnames = xcalloc(na + 1, sizeof(*dnames));
	/* Errors first, then files, then directories, as ls does. */
	for (k = 0; k < na; k++) {
		if (shell__vfs_path(&sh->fs, sh->cwd, args[k], path,
		    sizeof(path)) != 0 ||
		    (v = shell__vfs_find(&sh->fs, path)) == NULL) {
			shell__printf(sh, "ls: cannot access '%s': No such "
			    "file or directory\n", args[k]);
			st = SHELL_STATUS_FAIL;
		} else if (!v->dir) {
			fnodes[nf] = v;
			fnames[nf++] = args[k];
		} else {
			dnames[nd] = args[k];
			dirs[nd++] = xstrdup(path);
		}
	}
	ls_print(sh, fnodes, fnames, nf, lng, one);
	for (k = 0; k < nd; k++) {
		if (na > 1) {
			shell__printf(sh, "%s%s:\n", nf > 0 || k > 0 ?
			    "\n" : "", dnames[k]);
		}
		ls_dir(sh, dirs[k], all, lng, one);
	}
	shell__strv_free(dirs, nd);
	free(dnames);
	free(fnodes);
	free(fnames);
	free(args);
	return st;
}

static int
cmd_cd(struct shell *sh, int argc, char **argv)
{
	const struct shell_vnode *v = NULL;
	char path[SHELL_PATH_MAX];
	const char *arg = argc > 1 ? argv[1] : "~";
	int dash = 0;

	if (argc > 2) {
		shell__printf(sh, "cd: too many arguments\n");
		return SHELL_STATUS_FAIL;
	}
	if (strcmp(arg, "-") == 0) {
		arg = sh->oldpwd;
		dash = 1;
	}
	if (shell__vfs_path(&sh->fs, sh->cwd, arg, path, sizeof(path)) != 0 ||
	    (v = shell__vfs_find(&sh->fs, path)) == NULL) {
		shell__printf(sh, "cd: no such file or directory: %s\n", arg);
		return SHELL_STATUS_FAIL;
	}
	if (!v->dir) {
		shell__printf(sh, "cd: not a directory: %s\n", arg);
		return SHELL_STATUS_FAIL;
	}
	shell__chdir(sh, path);
	if (dash) {
		shell__printf(sh, "%s\n", path);
	}
	return SHELL_STATUS_OK;
}

static int
cmd_pwd(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell__printf(sh, "%s\n", sh->cwd);
	return SHELL_STATUS_OK;
}

static int
cmd_cat(struct shell *sh, int argc, char **argv)
{
	const struct shell_vnode *v = NULL;
	char path[SHELL_PATH_MAX];
	int i, st = SHELL_STATUS_OK;

	if (argc < 2) {
		shell__printf(sh, "cat: missing operand\n");
		return SHELL_STATUS_FAIL;
	}
	for (i = 1; i < argc; i++) {
		if (shell__vfs_path(&sh->fs, sh->cwd, argv[i], path,
		    sizeof(path)) != 0 ||
		    (v = shell__vfs_find(&sh->fs, path)) == NULL) {
			shell__printf(sh, "cat: %s: No such file or "
			    "directory\n", argv[i]);
			st = SHELL_STATUS_FAIL;
		} else if (v->dir) {
			shell__printf(sh, "cat: %s: Is a directory\n", argv[i]);
			st = SHELL_STATUS_FAIL;
		} else {
			shell__printf(sh, "%s", v->data);
		}
	}
	return st;
}

static int
cmd_whoami(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell__printf(sh, "%s\n", sh->user);
	return SHELL_STATUS_OK;
}

static int
cmd_id(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell__printf(sh, "uid=1000(%s) gid=1000(%s) groups=1000(%s)\n",
	    sh->user, sh->user, sh->user);
	return SHELL_STATUS_OK;
}

static int
cmd_hostname(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell__printf(sh, "%s\n", sh->hostname);
	return SHELL_STATUS_OK;
}

static int
cmd_uname(struct shell *sh, int argc, char **argv)
{
	static const char order[] = "snrvmo";
	const char *vals[6];
	unsigned want = 0;
	const char *o = NULL;
	char *rv = xasprintf("sks5/%s", SKS5_VERSION);
	int i, first = 1;

	vals[0] = "sks5";
	vals[1] = sh->hostname;
	vals[2] = SKS5_VERSION;
	vals[3] = rv;
	vals[4] = shell__arch();
	vals[5] = "sks5";
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			shell__printf(sh, "uname: extra operand '%s'\n",
			    argv[i]);
			free(rv);
			return SHELL_STATUS_FAIL;
		}
		for (o = argv[i] + 1; *o != '\0'; o++) {
			if (*o == 'a') {
				want = 0x3f;
			} else if (strchr(order, *o) != NULL) {
				want |= 1u << (strchr(order, *o) - order);
			} else {
				shell__printf(sh, "uname: invalid option -- "
				    "'%c'\n", *o);
				free(rv);
				return SHELL_STATUS_FAIL;
			}
		}
	}
	if (want == 0) {
		want = 1;
	}
	for (i = 0; i < 6; i++) {
		if (want & (1u << i)) {
			shell__printf(sh, "%s%s", first ? "" : " ", vals[i]);
			first = 0;
		}
	}
	shell__printf(sh, "\n");
	free(rv);
	return SHELL_STATUS_OK;
}

static int
cmd_echo(struct shell *sh, int argc, char **argv)
{
	int i = 1, nl = 1;

	if (argc > 1 && strcmp(argv[1], "-n") == 0) {
		nl = 0;
		i = 2;
	}
	for (; i < argc; i++) {
		shell__printf(sh, "%s%s", argv[i], i + 1 < argc ? " " : "");
	}
	if (nl) {
		shell__printf(sh, "\n");
	}
	return SHELL_STATUS_OK;
}

static int
cmd_env(struct shell *sh, int argc, char **argv)
{
	const char *names[] = { "HOME", "USER", "LOGNAME", "SHELL",
	    "HOSTNAME", "TERM", "PATH", "PWD" };
	const char *vals[8];
	size_t k;
	int i, st = SHELL_STATUS_OK, found;

	vals[0] = sh->fs.home;
	vals[1] = vals[2] = sh->user;
	vals[3] = "/bin/sh";
	vals[4] = sh->hostname;
	vals[5] = sh->ctx.term != NULL ? sh->ctx.term : "dumb";
	vals[6] = "/usr/local/bin:/usr/bin:/bin";
	vals[7] = sh->cwd;
	if (strcmp(argv[0], "printenv") == 0 && argc > 1) {
		for (i = 1; i < argc; i++) {
			for (found = 0, k = 0; k < 8; k++) {
				if (strcmp(argv[i], names[k]) == 0) {
					shell__printf(sh, "%s\n", vals[k]);
					found = 1;
				}
			}
			if (!found) {
				st = SHELL_STATUS_FAIL;
			}
		}
		return st;
	}
	for (k = 0; k < 8; k++) {
		shell__printf(sh, "%s=%s\n", names[k], vals[k]);
	}
	return SHELL_STATUS_OK;
}

static int
cmd_clear(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell__out(sh, "\033[2J\033[H", 7);
	return SHELL_STATUS_OK;
}

/* One help line: usage padded to a column, then the text. */
static void
help_line(struct shell *sh, const struct shell_cmd *c)
{
	shell__printf(sh, "  %s%-36s%s %s\n", shell__sgr(sh, "36"), c->usage,
	    shell__rst(sh), c->help);
}

static int
cmd_help(struct shell *sh, int argc, char **argv)
{
	const struct shell_cmd *c = NULL;
	size_t i, nproxy = 0;

	if (argc > 1) {
		if ((c = shell__cmd_find(argv[1])) == NULL ||
		    !shell__cmd_allowed(sh, c)) {
			shell__printf(sh, "help: no help for '%s'\n", argv[1]);
			return SHELL_STATUS_FAIL;
		}
		shell__printf(sh, "usage: %s\n  %s\n", c->usage, c->help);
		if (strcmp(c->name, "show") == 0) {
			shell__printf(sh, "  topics: connections, bandwidth, "
			    "quota, acl, status, history, fingerprint\n");
		}
		if (strcmp(c->name, "admin") == 0) {
			shell__printf(sh, "  subcommands: server, users, "
			    "sessions, bans, unban <ip>, kick <user>, quota "
			    "reset <user>\n");
		}
		return SHELL_STATUS_OK;
	}
	shell__printf(sh, "%sBuilt-in commands:%s\n", shell__sgr(sh, "1"),
	    shell__rst(sh));
	for (i = 0; i < FIRST_PROXY; i++) {
		help_line(sh, &cmds[i]);
	}
	for (i = FIRST_PROXY; i < NCMDS; i++) {
		if (cmds[i].perm != ADMINPERM &&
		    shell__cmd_allowed(sh, &cmds[i])) {
			if (nproxy++ == 0) {
				shell__printf(sh, "\n%sProxy commands:%s\n",
				    shell__sgr(sh, "1"), shell__rst(sh));
			}
			help_line(sh, &cmds[i]);
		}
	}
	if ((c = shell__cmd_find("admin")) != NULL &&
	    shell__cmd_allowed(sh, c)) {
		shell__printf(sh, "\n%sAdministration:%s\n",
		    shell__sgr(sh, "1"), shell__rst(sh));
		help_line(sh, c);
	}
	shell__printf(sh, "\nThis is not a full shell: there are no pipes, "
	    "redirections, globbing,\nvariables or command chaining, so "
	    "| > < ; & $ * are ordinary characters.\nQuotes ('...', \"...\") "
	    "and backslashes group words; # starts a comment.\n");
	return SHELL_STATUS_OK;
}

static int
cmd_exit(struct shell *sh, int argc, char **argv)
{
	int st = sh->status;
	const char *p = NULL;

	if (argc > 1) {
		st = 0;
		for (p = argv[1]; *p != '\0'; p++) {
			if (*p < '0' || *p > '9') {
				shell__printf(sh, "%s: numeric argument "
				    "required\n", argv[0]);
				st = SHELL_STATUS_FAIL;
				break;
			}
			st = (st * 10 + (*p - '0')) & 0xff;
		}
	}
	shell__logout(sh);
	return st;
}

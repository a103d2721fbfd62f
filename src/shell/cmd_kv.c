/* `bookmark` and `alias`: the user's named targets and shortcuts. */
#include "shell/shell_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

#define ALIAS_MAX_LEN	1024

/* 1 for the words that mean "remove". */
static int
is_del(const char *s)
{
	return strcmp(s, "del") == 0 || strcmp(s, "rm") == 0 ||
	    strcmp(s, "remove") == 0;
}

/* 1 for the words that mean "list". */
static int
is_list(const char *s)
{
	return strcmp(s, "list") == 0 || strcmp(s, "ls") == 0;
}

static void
bm_list(struct shell *sh)
{
	char **names = NULL, **vals = NULL;
	size_t n, i;

	n = shell__kv_list(sh->store, sh->ud, SHELL_KV_BOOKMARK, &names,
	    &vals);
	if (n == 0) {
		shell__printf(sh, "No bookmarks (add one with: bookmark add "
		    "<name> <host:port>)\n");
	} else {
		shell__printf(sh, "Bookmarks:\n");
	}
	for (i = 0; i < n; i++) {
		shell__printf(sh, "  %s%s%s -> %s\n", shell__sgr(sh, "36"),
		    names[i], shell__rst(sh), vals[i]);
	}
	shell__strv_free(names, n);
	shell__strv_free(vals, n);
}

int
shell__cmd_bookmark(struct shell *sh, int argc, char **argv)
{
	char host[CFG_HOST_MAX + 1];
	uint16_t port;
	int r;

	if (argc == 1 || (argc == 2 && is_list(argv[1]))) {
		bm_list(sh);
		return SHELL_STATUS_OK;
	}
	if (strcmp(argv[1], "add") == 0 && argc == 4) {
		if (!shell__name_ok(argv[2])) {
			shell__printf(sh, "bookmark: invalid name '%s' (1 to "
			    "%d of A-Z a-z 0-9 _ . -)\n", argv[2],
			    SHELL_NAME_MAX);
			return SHELL_STATUS_FAIL;
		}
		if (shell__parse_target(argv[3], 0, host, sizeof(host),
		    &port) != 0) {
			shell__printf(sh, "bookmark: invalid target '%s'. "
			    "Expected host:port ([addr]:port for IPv6)\n",
			    argv[3]);
			return SHELL_STATUS_FAIL;
		}
		r = shell__kv_set(sh->store, sh->ud, SHELL_KV_BOOKMARK,
		    argv[2], argv[3]);
		if (r < 0) {
			shell__printf(sh, "bookmark: too many bookmarks; "
			    "delete one first\n");
			return SHELL_STATUS_FAIL;
		}
		shell__printf(sh, "%s bookmark %s -> %s\n",
		    r == 1 ? "Updated" : "Added", argv[2], argv[3]);
		return SHELL_STATUS_OK;
	}
	if (is_del(argv[1]) && argc == 3) {
		if (shell__kv_del(sh->store, sh->ud, SHELL_KV_BOOKMARK,
		    argv[2]) != 0) {
			shell__printf(sh, "bookmark: no bookmark named '%s'\n",
			    argv[2]);
			return SHELL_STATUS_FAIL;
		}
		shell__printf(sh, "Removed bookmark '%s'\n", argv[2]);
		return SHELL_STATUS_OK;
	}
	shell__printf(sh, "Usage: bookmark add <name> <host:port>\n"
	    "       bookmark list\n       bookmark del <name>\n"
	    "Use a bookmark as @name with test, ping and resolve.\n");
	return SHELL_STATUS_FAIL;
}

/* 1 if name is an alias of the configuration. */
static const char *
cfg_alias(const struct shell *sh, const char *name)
{
	const struct cfg_map *m = &sh->ctx.user->aliases;
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i], name) == 0) {
			return m->vals[i];
		}
	}
	return NULL;
}

static void
alias_list(struct shell *sh)
{
	const struct cfg_map *m = &sh->ctx.user->aliases;
	char **names = NULL, **vals = NULL;
	size_t n, i, j, shown = 0;
	int over;

	n = shell__kv_list(sh->store, sh->ud, SHELL_KV_ALIAS, &names, &vals);
	if (n + m->n > 0) {
		shell__printf(sh, "Aliases:\n");
	}
	for (i = 0; i < n; i++, shown++) {
		shell__printf(sh, "  %s%s%s = '%s'\n", shell__sgr(sh, "36"),
		    names[i], shell__rst(sh), vals[i]);
	}
	for (i = 0; i < m->n; i++) {
		for (over = 0, j = 0; j < n; j++) {
			over |= strcmp(names[j], m->keys[i]) == 0;
		}
		if (!over) {
			shell__printf(sh, "  %s%s%s = '%s' (configured)\n",
			    shell__sgr(sh, "36"), m->keys[i], shell__rst(sh),
			    m->vals[i]);
			shown++;
		}
	}
	if (shown == 0) {
		shell__printf(sh, "No aliases (add one with: alias add <name> "
		    "<command...>)\n");
	}
	shell__strv_free(names, n);
	shell__strv_free(vals, n);
}

/* Joins argv[from..argc) with spaces (heap). */
static char *
join(int argc, char **argv, int from)
{
	size_t len = 1;
	char *s = NULL;
	int i;

	for (i = from; i < argc; i++) {
		len += strlen(argv[i]) + 1;
	}
	s = xcalloc(1, len);
	for (i = from; i < argc; i++) {
		if (i > from) {
			strcat(s, " ");
		}
		strcat(s, argv[i]);
	}
	return s;
}

/* first, then argv[from..argc), joined with spaces (heap). */
static char *
with_rest(const char *first, int argc, char **argv, int from)
{
	char *rest = join(argc, argv, from), *s = NULL;

	s = xasprintf("%s%s%s", first, rest[0] != '\0' && first[0] != '\0' ?
	    " " : "", rest);
	free(rest);
	return s;
}

/* Defines name = cmd. */
static int
alias_set(struct shell *sh, const char *name, const char *cmd)
{
	int r;

	if (!shell__name_ok(name)) {
		shell__printf(sh, "alias: invalid name '%s' (1 to %d of A-Z "
		    "a-z 0-9 _ . -)\n", name, SHELL_NAME_MAX);
		return SHELL_STATUS_FAIL;
	}
	if (cmd[0] == '\0' || strlen(cmd) > ALIAS_MAX_LEN) {
		shell__printf(sh, "alias: the command must be 1 to %d bytes\n",
		    ALIAS_MAX_LEN);
		return SHELL_STATUS_FAIL;
	}
	r = shell__kv_set(sh->store, sh->ud, SHELL_KV_ALIAS, name, cmd);
	if (r < 0) {
		shell__printf(sh, "alias: too many aliases; delete one "
		    "first\n");
		return SHELL_STATUS_FAIL;
	}
	shell__printf(sh, "%s alias %s = '%s'\n", r == 1 ? "Updated" : "Added",
	    name, cmd);
	return SHELL_STATUS_OK;
}

int
shell__cmd_alias(struct shell *sh, int argc, char **argv)
{
	char *cmd = NULL, *eq = NULL, *name = NULL;
	int st = SHELL_STATUS_FAIL;

	if (argc == 1 || (argc == 2 && is_list(argv[1]))) {
		alias_list(sh);
		return SHELL_STATUS_OK;
	}
	if (is_del(argv[1]) && argc == 3) {
		if (shell__kv_del(sh->store, sh->ud, SHELL_KV_ALIAS,
		    argv[2]) == 0) {
			shell__printf(sh, "Removed alias '%s'\n", argv[2]);
			return SHELL_STATUS_OK;
		}
		if (cfg_alias(sh, argv[2]) != NULL) {
			shell__printf(sh, "alias: '%s' is set in the server "
			    "configuration and cannot be removed\n", argv[2]);
		} else {
			shell__printf(sh, "alias: no alias named '%s'\n",
			    argv[2]);
		}
		return SHELL_STATUS_FAIL;
	}
	if (strcmp(argv[1], "add") == 0 && argc >= 3) {
		if ((eq = strchr(argv[2], '=')) != NULL) {
			name = xstrndup(argv[2], (size_t)(eq - argv[2]));
			cmd = with_rest(eq + 1, argc, argv, 3);
		} else if (argc >= 4) {
			name = xstrdup(argv[2]);
			cmd = join(argc, argv, 3);
		}
	} else if ((eq = strchr(argv[1], '=')) != NULL) {
		name = xstrndup(argv[1], (size_t)(eq - argv[1]));
		cmd = with_rest(eq + 1, argc, argv, 2);
	}
	if (name == NULL || cmd == NULL) {
		shell__printf(sh, "Usage: alias add <name> <command...>\n"
		    "       alias <name>=<command...>\n       alias list\n"
		    "       alias del <name>\n");
	} else {
		st = alias_set(sh, name, cmd);
	}
	free(name);
	free(cmd);
	return st;
}

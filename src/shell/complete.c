/*
 * Tab completion: command names and aliases for the first word, `show`
 * topics, bookmark and alias subcommands and names, @bookmarks for the
 * probes, and virtual paths for cd, ls and cat.
 */
#include "shell/shell_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/util.h"

#define BEL	"\007"

/* Candidate list. */
struct cands {
	char	**v;
	size_t	  n;
	int	  paths;	/* list base names; no space after a dir */
};

/* Adds s when it starts with prefix and is not there yet. */
static void
cand(struct cands *c, const char *prefix, const char *s)
{
	size_t i;

	if (strncmp(s, prefix, strlen(prefix)) != 0 || c->n >= 1024) {
		return;
	}
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->v[i], s) == 0) {
			return;
		}
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n++] = xstrdup(s);
}

/* Adds every bookmark (kind 0) or alias (kind 1) name, with a lead. */
static void
cand_kv(struct shell *sh, struct cands *c, const char *prefix, int kind,
    const char *lead)
{
	const struct cfg_map *m = &sh->ctx.user->aliases;
	char **names = NULL, **vals = NULL, *s = NULL;
	size_t n, i;

	n = shell__kv_list(sh->store, sh->ud, kind, &names, &vals);
	for (i = 0; i < n; i++) {
		s = xasprintf("%s%s", lead, names[i]);
		cand(c, prefix, s);
		free(s);
	}
	for (i = 0; kind == SHELL_KV_ALIAS && i < m->n; i++) {
		cand(c, prefix, m->keys[i]);
	}
	shell__strv_free(names, n);
	shell__strv_free(vals, n);
}

/* Adds the virtual paths that complete prefix. */
static void
cand_paths(struct shell *sh, struct cands *c, const char *prefix)
{
	const struct shell_vnode **kids = NULL;
	const char *slash = strrchr(prefix, '/'), *b = NULL;
	char dir[SHELL_PATH_MAX], *lead = NULL, *s = NULL;
	size_t n, i;

	lead = slash != NULL ? xstrndup(prefix, (size_t)(slash - prefix) + 1) :
	    xstrdup("");
	if (shell__vfs_path(&sh->fs, sh->cwd, lead[0] != '\0' ? lead : ".",
	    dir, sizeof(dir)) != 0) {
		free(lead);
		return;
	}
	c->paths = 1;
	n = shell__vfs_list(&sh->fs, dir, &kids);
	for (i = 0; i < n; i++) {
		b = shell__vfs_base(kids[i]->path);
		s = xasprintf("%s%s%s", lead, b, kids[i]->dir ? "/" : "");
		cand(c, prefix, s);
		free(s);
	}
	free(kids);
	free(lead);
}

/* Fills c for the word prefix, given the words before it. */
static void
candidates(struct shell *sh, struct shell_argv *before, const char *prefix,
    struct cands *c)
{
	const struct shell_cmd *cmd = NULL;
	const char *w0 = before->n > 0 ? before->v[0] : NULL;
	size_t i;

	if (before->n == 0) {
		for (i = 0; (cmd = shell__cmd_at(i)) != NULL; i++) {
			if (shell__cmd_allowed(sh, cmd)) {
				cand(c, prefix, cmd->name);
			}
		}
		cand_kv(sh, c, prefix, SHELL_KV_ALIAS, "");
		return;
	}
	if ((cmd = shell__cmd_find(w0)) == NULL ||
	    !shell__cmd_allowed(sh, cmd)) {
		return;
	}
	if (strcmp(w0, "show") == 0 && before->n == 1) {
		for (i = 0; shell__show_topics[i] != NULL; i++) {
			cand(c, prefix, shell__show_topics[i]);
		}
	} else if (strcmp(w0, "admin") == 0 && before->n == 1) {
		for (i = 0; shell__admin_subs[i] != NULL; i++) {
			cand(c, prefix, shell__admin_subs[i]);
		}
	} else if (strcmp(w0, "admin") == 0 && before->n == 2 &&
	    strcmp(before->v[1], "quota") == 0) {
		cand(c, prefix, "reset");
	} else if ((strcmp(w0, "bookmark") == 0 || strcmp(w0, "alias") == 0) &&
	    before->n == 1) {
		cand(c, prefix, "add");
		cand(c, prefix, "del");
		cand(c, prefix, "list");
	} else if (strcmp(w0, "bookmark") == 0 && before->n == 2 &&
	    strcmp(before->v[1], "del") == 0) {
		cand_kv(sh, c, prefix, SHELL_KV_BOOKMARK, "");
	} else if (strcmp(w0, "alias") == 0 && before->n == 2 &&
	    strcmp(before->v[1], "del") == 0) {
		cand_kv(sh, c, prefix, SHELL_KV_ALIAS, "");
	} else if ((strcmp(w0, "test") == 0 || strcmp(w0, "ping") == 0 ||
	    strcmp(w0, "resolve") == 0) && prefix[0] == '@') {
		cand_kv(sh, c, prefix, SHELL_KV_BOOKMARK, "@");
	} else if (strcmp(w0, "cd") == 0 || strcmp(w0, "ls") == 0 ||
	    strcmp(w0, "cat") == 0) {
		cand_paths(sh, c, prefix);
	}
}

/* qsort comparator for strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the list shows of a candidate: a path's last component. */
static const char *
disp(const struct cands *c, const char *s)
{
	size_t l = strlen(s);
	const char *p = s + l;

	if (!c->paths) {
		return s;
	}
	if (l > 1 && s[l - 1] == '/') {
		p--;
	}
	while (p > s && p[-1] != '/') {
		p--;
	}
	return p;
}

/* Prints the candidates in columns under the line, then redraws. */
static void
show_list(struct shell *sh, struct cands *c)
{
	size_t i, w = 0, per, l;

	qsort(c->v, c->n, sizeof(*c->v), cmp_str);
	for (i = 0; i < c->n; i++) {
		l = strlen(disp(c, c->v[i]));
		w = l > w ? l : w;
	}
	w += 2;
	per = sh->line.cols / w > 0 ? sh->line.cols / w : 1;
	shell__line_newline(&sh->line);
	for (i = 0; i < c->n; i++) {
		shell__printf(sh, "%-*s", (int)w, disp(c, c->v[i]));
		if ((i + 1) % per == 0 || i + 1 == c->n) {
			shell__printf(sh, "\n");
		}
	}
	shell__line_redraw(&sh->line);
}

void
shell__complete(struct shell *sh)
{
	struct shell_line *l = &sh->line;
	struct shell_argv before;
	struct cands c;
	size_t ws = l->cur, i, lcp, pl;
	char *prefix = NULL;

	memset(&c, 0, sizeof(c));
	while (ws > 0 && l->text[ws - 1] != ' ') {
		ws--;
	}
	if (shell__tokenize(l->text, ws, &before) != 0) {
		shell__out(sh, BEL, 1);
		return;
	}
	prefix = xstrndup(l->text + ws, l->cur - ws);
	candidates(sh, &before, prefix, &c);
	pl = strlen(prefix);
	if (c.n == 0) {
		shell__out(sh, BEL, 1);
	} else if (c.n == 1) {
		shell__line_insert(l, c.v[0] + pl, strlen(c.v[0]) - pl);
		if (c.v[0][strlen(c.v[0]) - 1] != '/') {
			shell__line_insert(l, " ", 1);
		}
	} else {
		lcp = strlen(c.v[0]);
		for (i = 1; i < c.n; i++) {
			size_t k = 0;

			while (k < lcp && c.v[i][k] == c.v[0][k]) {
				k++;
			}
			lcp = k;
		}
		if (lcp > pl) {
			shell__line_insert(l, c.v[0] + pl, lcp - pl);
		} else {
			show_list(sh, &c);
		}
	}
	shell__strv_free(c.v, c.n);
	shell__argv_free(&before);
	free(prefix);
}

/*
 * Sessions: output, prompt, the loop from editor events to commands,
 * aliases, and exec channels.
 */
#include "shell/shell.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"
#include "shell/shell_int.h"

/* The output buffer is flushed when it grows past this. */
#define OUT_FLUSH	(64 * 1024)
/* Most lines a session keeps for up/down. */
#define SESSION_HIST_MAX	1000

const struct cfg_perms *
shell__perms(const struct shell *sh)
{
	return &sh->ctx.user->eff.shell_permissions;
}

void
shell__flush(struct shell *sh)
{
	int r;

	if (buf_len(&sh->out) > 0 && sh->werr == 0) {
		r = sh->write(sh->warg, buf_ptr(&sh->out), buf_len(&sh->out));
		if (r < 0) {
			sh->werr = r;
		}
	}
	buf_reset(&sh->out);
}

/* 1 when output ending with p[0..n) leaves the cursor on column 0. */
static int
ends_at_col0(const char *p, size_t n)
{
	return p[n - 1] == '\n' || p[n - 1] == '\r' ||
	    (n >= 3 && memcmp(p + n - 3, "\033[H", 3) == 0);
}

void
shell__out(struct shell *sh, const void *p, size_t n)
{
	if (n > 0) {
		sh->midline = !ends_at_col0(p, n);
	}
	if (buf_put(&sh->out, p, n) == 0) {
		if (buf_len(&sh->out) > OUT_FLUSH) {
			shell__flush(sh);
		}
		return;
	}
	/* The buffer is full: send what it holds, then these bytes. */
	shell__flush(sh);
	if (n > OUT_FLUSH) {
		if (sh->werr == 0 && sh->write(sh->warg, p, n) < 0) {
			sh->werr = ERR_IO;
		}
	} else {
		(void)buf_put(&sh->out, p, n);
	}
}

void
shell__printf(struct shell *sh, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	size_t i, start = 0;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || s == NULL) {
		abort();	/* OOM */
	}
	for (i = 0; i < (size_t)n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
			shell__out(sh, s + start, i - start);
			shell__out(sh, "\r\n", 2);
			start = i + 1;
		}
	}
	shell__out(sh, s + start, (size_t)n - start);
	free(s);
}

const char *
shell__sgr(const struct shell *sh, const char *code)
{
	static const struct {
		const char *code, *seq;
	} t[] = {
		{ "1", "\033[1m" }, { "31", "\033[31m" }, { "32", "\033[32m" },
		{ "33", "\033[33m" }, { "36", "\033[36m" },
		{ "1;31", "\033[1;31m" }, { "1;32", "\033[1;32m" },
		{ "1;34", "\033[1;34m" }, { "1;35", "\033[1;35m" },
		{ "1;36", "\033[1;36m" },
	};
	size_t i;

	if (!sh->colors) {
		return "";
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(t[i].code, code) == 0) {
			return t[i].seq;
		}
	}
	return "";
}

const char *
shell__rst(const struct shell *sh)
{
	return sh->colors ? "\033[0m" : "";
}

void
shell__stats(const struct shell *sh, struct shell_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (sh->ctx.ops != NULL && sh->ctx.ops->stats != NULL) {
		sh->ctx.ops->stats(sh->ctx.ops->arg, st);
	}
}

/* Copies s with control characters replaced by '?'. */
static char *
printable(const char *s)
{
	char *d = xstrdup(s), *p = NULL;

	for (p = d; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = '?';
		}
	}
	return d;
}

/* Rebuilds the prompt: user@host:cwd followed by [shell] prompt. */
static void
build_prompt(struct shell *sh)
{
	const char *home = sh->fs.home;
	const char *suffix = sh->ctx.cfg->shell.prompt;
	size_t hl = strlen(home);
	char *u = printable(sh->user), *h = printable(sh->hostname);
	char *sfx = printable(suffix != NULL ? suffix : "$ ");
	char *where = NULL;

	if (strcmp(sh->cwd, home) == 0) {
		where = xstrdup("~");
	} else if (strncmp(sh->cwd, home, hl) == 0 && sh->cwd[hl] == '/') {
		where = xasprintf("~%s", sh->cwd + hl);
	} else {
		where = xstrdup(sh->cwd);
	}
	free(sh->prompt);
	sh->prompt = xasprintf("%s%s@%s%s:%s%s%s%s", shell__sgr(sh, "1;32"),
	    u, h, shell__rst(sh), shell__sgr(sh, "1;34"), where,
	    shell__rst(sh), sfx);
	sh->prompt_len = strlen(sh->prompt);
	free(u);
	free(h);
	free(sfx);
	free(where);
}

/* Shows a fresh prompt with an empty line. */
static void
new_prompt(struct shell *sh)
{
	build_prompt(sh);
	shell__line_reset(&sh->line, sh->prompt, sh->prompt_len, sh->hist,
	    sh->nhist);
}

/* Appends a line to the session's and the user's history. */
static void
remember(struct shell *sh, const char *line)
{
	const char *p = line;

	while (*p == ' ' || *p == '\t') {
		p++;
	}
	if (*p == '\0' || *line == ' ') {
		return;	/* blank, or hidden with a leading space */
	}
	shell__hist_add(sh->store, sh->ud, line);
	if (sh->nhist > 0 && strcmp(sh->hist[sh->nhist - 1], line) == 0) {
		return;
	}
	if (sh->nhist >= SESSION_HIST_MAX) {
		free(sh->hist[0]);
		memmove(sh->hist, sh->hist + 1,
		    (sh->nhist - 1) * sizeof(*sh->hist));
		sh->nhist--;
	}
	sh->hist = xreallocarray(sh->hist, sh->nhist + 2, sizeof(*sh->hist));
	sh->hist[sh->nhist++] = xstrdup(line);
	sh->hist[sh->nhist] = NULL;
}

/* The command of an alias (runtime first, then configured), or NULL.
 * Heap string. */
static char *
alias_get(struct shell *sh, const char *name)
{
	const struct cfg_map *m = &sh->ctx.user->aliases;
	char *v = shell__kv_get(sh->store, sh->ud, SHELL_KV_ALIAS, name);
	size_t i;

	for (i = 0; v == NULL && i < m->n; i++) {
		if (strcmp(m->keys[i], name) == 0) {
			v = xstrdup(m->vals[i]);
		}
	}
	return v;
}

/* Tokenizes, expands an alias (one level) and runs one line. */
static int
run_line(struct shell *sh, const char *line, size_t len)
{
	struct shell_argv a, b;
	char *av = NULL;
	size_t i;
	int st;

	if (shell__tokenize(line, len, &a) != 0) {
		shell__printf(sh, "sks5: too many words (at most %d)\n",
		    SHELL_MAX_ARGS);
		return SHELL_STATUS_FAIL;
	}
	if (a.n == 0) {
		return sh->status;
	}
	if ((av = alias_get(sh, a.v[0])) != NULL) {
		if (shell__tokenize(av, strlen(av), &b) == 0 && b.n > 0) {
			for (i = 1; i < a.n && b.n < SHELL_MAX_ARGS; i++) {
				shell__argv_push(&b, a.v[i]);
			}
			shell__argv_free(&a);
			a = b;
		} else {
			shell__argv_free(&b);
		}
		free(av);
	}
	st = shell__run(sh, &a);
	shell__argv_free(&a);
	return st;
}

/* Sets up everything but the terminal. */
static struct shell *
session_new(const struct shell_ctx *ctx, unsigned cols, shell_write_fn write,
    void *warg, int interactive)
{
	struct shell *sh = xcalloc(1, sizeof(*sh));
	const struct cfg_user_eff *e = &ctx->user->eff;
	int term_ok = ctx->term != NULL && strcmp(ctx->term, "dumb") != 0;
	char *motd = NULL;

	sh->ctx = *ctx;
	sh->ctx.source_ip = xstrdup(ctx->source_ip != NULL ? ctx->source_ip :
	    "");
	sh->ctx.auth_method = xstrdup(ctx->auth_method != NULL ?
	    ctx->auth_method : "unknown");
	sh->ctx.key_fingerprint = ctx->key_fingerprint != NULL ?
	    xstrdup(ctx->key_fingerprint) : NULL;
	sh->ctx.term = ctx->term != NULL ? xstrdup(ctx->term) : NULL;
	sh->user = xstrdup(ctx->user->username);
	sh->hostname = ctx->cfg->shell.hostname != NULL ?
	    ctx->cfg->shell.hostname : "sks5-proxy";
	sh->interactive = interactive;
	sh->colors = interactive && term_ok && e->colors;
	sh->motd_colors = interactive && term_ok && e->motd.colors;
	sh->write = write;
	sh->warg = warg;
	buf_init(&sh->out, 4 * OUT_FLUSH);
	if ((sh->store = ctx->store) == NULL) {
		sh->store = sh->own_store = shell_store_new(0, 0);
	}
	sh->ud = shell__store_user(sh->store, sh->user);
	if (interactive) {
		sh->hist = shell__hist_copy(sh->store, sh->ud, &sh->nhist);
	}
	motd = shell__motd(&sh->ctx, 0);
	shell__vfs_init(&sh->fs, sh->user, sh->hostname, motd);
	free(motd);
	snprintf(sh->cwd, sizeof(sh->cwd), "%s", sh->fs.home);
	snprintf(sh->oldpwd, sizeof(sh->oldpwd), "%s", sh->fs.home);
	shell__line_init(&sh->line, &sh->out, cols);
	return sh;
}

struct shell *
shell_new(const struct shell_ctx *ctx, unsigned cols, unsigned rows,
    shell_write_fn write, void *warg)
{
	struct shell *sh = session_new(ctx, cols, write, warg, 1);

	sh->rows = rows > 0 ? rows : 24;
	return sh;
}

int
shell_start(struct shell *sh)
{
	char *motd = NULL;

	if ((motd = shell__motd(&sh->ctx, sh->motd_colors)) != NULL) {
		shell__out(sh, motd, strlen(motd));
		shell__out(sh, "\r\n", 2);
		free(motd);
	}
	new_prompt(sh);
	shell__flush(sh);
	return sh->werr;
}

/* Ends the session the way exit does. */
static void
logout(struct shell *sh)
{
	shell__out(sh, "logout\r\n", 8);
	sh->done = 1;
}

/* A complete line from the editor. */
static void
enter(struct shell *sh)
{
	char *line = xstrndup(sh->line.text, sh->line.len);

	remember(sh, line);
	sh->midline = 0;
	sh->status = run_line(sh, line, strlen(line));
	free(line);
	if (!sh->done) {
		/* The editor's picture of the screen starts the prompt on
		 * column 0: output without a final newline (echo -n) gets
		 * one. */
		if (sh->midline) {
			shell__out(sh, "\r\n", 2);
		}
		new_prompt(sh);
	}
	shell__flush(sh);
}

int
shell_input(struct shell *sh, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len && !sh->done && sh->werr == 0; i++) {
		switch (shell__line_byte(&sh->line, p[i])) {
		case SHELL_LINE_ENTER:
			enter(sh);
			break;
		case SHELL_LINE_EOF:
			logout(sh);
			break;
		case SHELL_LINE_TAB:
			if (sh->ctx.cfg->shell.autocomplete) {
				shell__complete(sh);
			} else {
				shell__out(sh, "\007", 1);
			}
			break;
		case SHELL_LINE_INTR:
			sh->status = 130;
			new_prompt(sh);
			break;
		default:
			break;
		}
	}
	shell__flush(sh);
	if (sh->werr != 0) {
		return sh->werr;
	}
	return sh->done ? 1 : 0;
}

int
shell_notice(struct shell *sh, const char *msg)
{
	size_t cur = sh->line.cur;
	char *m = NULL;

	if (sh->done || sh->werr != 0) {
		return sh->werr;
	}
	m = printable(msg);
	shell__line_newline(&sh->line);
	shell__printf(sh, "%s\n", m);
	sh->line.cur = cur;	/* the redraw puts the cursor back there */
	shell__line_redraw(&sh->line);
	shell__flush(sh);
	free(m);
	return sh->werr;
}

void
shell_resize(struct shell *sh, unsigned cols, unsigned rows)
{
	/* The line is on the screen once the first prompt was drawn. */
	shell__line_resize(&sh->line, cols, sh->prompt != NULL && !sh->done);
	if (rows > 0) {
		sh->rows = rows;
	}
	shell__flush(sh);
}

int
shell_done(const struct shell *sh)
{
	return sh->done;
}

int
shell_last_status(const struct shell *sh)
{
	return sh->status;
}

void
shell_free(struct shell *sh)
{
	if (sh == NULL) {
		return;
	}
	shell__line_cleanup(&sh->line);
	shell__vfs_cleanup(&sh->fs);
	shell__strv_free(sh->hist, sh->nhist);
	if (sh->ud != NULL) {
		shell__store_release(sh->store, sh->ud);
	}
	buf_cleanup(&sh->out);
	free(sh->prompt);
	free(sh->user);
	free((char *)sh->ctx.source_ip);
	free((char *)sh->ctx.auth_method);
	free((char *)sh->ctx.key_fingerprint);
	free((char *)sh->ctx.term);
	shell_store_free(sh->own_store);
	free(sh);
}

int
shell_exec(const struct shell_ctx *ctx, const char *line,
    shell_write_fn write, void *warg)
{
	struct shell *sh = session_new(ctx, 80, write, warg, 0);
	int st;

	st = run_line(sh, line, strlen(line));
	shell__flush(sh);
	shell_free(sh);
	return st;
}

char *
shell_motd_render(const struct shell_ctx *ctx)
{
	int term_ok = ctx->term != NULL && strcmp(ctx->term, "dumb") != 0;

	return shell__motd(ctx, term_ok && ctx->user->eff.motd.colors);
}

void
shell__logout(struct shell *sh)
{
	if (sh->interactive) {
		logout(sh);
	} else {
		sh->done = 1;
	}
}

void
shell__chdir(struct shell *sh, const char *path)
{
	snprintf(sh->oldpwd, sizeof(sh->oldpwd), "%s", sh->cwd);
	snprintf(sh->cwd, sizeof(sh->cwd), "%s", path);
}

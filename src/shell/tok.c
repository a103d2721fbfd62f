/*
 * The tokenizer: quotes and backslashes only. There are no pipes,
 * redirections, variables, globbing or command separators, so | > < ; &
 * $ * and friends are ordinary characters of a word.
 */
#include "shell/shell_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"

/* Frees the words and resets the vector. */
void
shell__argv_free(struct shell_argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i]);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* Appends a copy of s, keeping the array NULL-terminated. */
void
shell__argv_push(struct shell_argv *a, const char *s)
{
	a->v = xreallocarray(a->v, a->n + 2, sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

/* A blank between words. */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f' || c == '\0';
}

int
shell__tokenize(const char *line, size_t len, struct shell_argv *out)
{
	char *w = xmalloc(len + 1);
	size_t i = 0, wl = 0;
	int inword = 0, r = 0;
	char c;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		c = line[i];
		if (!inword) {
			if (is_blank(c)) {
				i++;
				continue;
			}
			if (c == '#') {
				break;	/* comment to the end of the line */
			}
			inword = 1;
			wl = 0;
		}
		if (is_blank(c)) {
			w[wl] = '\0';
			if (out->n >= SHELL_MAX_ARGS) {
				r = ERR_TOO_LARGE;
				goto out;
			}
			shell__argv_push(out, w);
			inword = 0;
			i++;
			continue;
		}
		i++;
		if (c == '\'') {
			while (i < len && line[i] != '\'') {
				w[wl++] = line[i++];
			}
			i++;	/* the closing quote, if any */
		} else if (c == '"') {
			while (i < len && line[i] != '"') {
				if (line[i] == '\\' && i + 1 < len &&
				    (line[i + 1] == '"' ||
				    line[i + 1] == '\\')) {
					i++;
				}
				w[wl++] = line[i++];
			}
			i++;
		} else if (c == '\\' && i < len) {
			w[wl++] = line[i++];
		} else {
			w[wl++] = c;
		}
	}
	if (inword) {
		w[wl] = '\0';
		if (out->n >= SHELL_MAX_ARGS) {
			r = ERR_TOO_LARGE;
			goto out;
		}
		shell__argv_push(out, w);
	}
 out:
	free(w);
	if (r != 0) {
		shell__argv_free(out);
	}
	return r;
}

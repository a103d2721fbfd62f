/* Shared helpers of the shell unit tests (header-only): a configuration,
 * an output capture, test doubles for shell_ops, and a tiny VT100 screen
 * that interprets what the line editor writes. */
#ifndef SKS5_TESTS_TEST_SHELL_UTIL_H
#define SKS5_TESTS_TEST_SHELL_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"
#include "net/net.h"
#include "shell/shell.h"

#define T_HASH "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" \
	"2Jk7X6w5nJQ1kq5lYf0u4s0a7cXkzJ5XoXcH7l4t8jE"

/* Loads a config: pre (root tables), one user alice with extra keys. */
static inline struct cfg *
t_cfg(const char *pre, const char *alice)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *text = xasprintf("[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
	    "[shell]\nhostname = \"h\"\n%s\n[[users]]\nusername = \"alice\"\n"
	    "password_hash = \"" T_HASH "\"\n%s\n", pre, alice);

	memset(&ov, 0, sizeof(ov));
	ov.allow_pending = 1;
	cfg_diag_init(&d);
	if (cfg_load_string(text, strlen(text), "t.toml", "/base", &ov, &c,
	    &d) != 0) {
		cfg_diag_print(&d, stderr);
		c = NULL;
	}
	cfg_diag_cleanup(&d);
	free(text);
	return c;
}

/* Output capture. */
struct t_out {
	char	*s;
	size_t	 n;
	int	 fail;	/* make writes fail */
};

static inline int
t_write(void *arg, const void *p, size_t n)
{
	struct t_out *o = arg;

	if (o->fail) {
		return ERR_IO;
	}
	o->s = xrealloc(o->s, o->n + n + 1);
	memcpy(o->s + o->n, p, n);
	o->n += n;
	o->s[o->n] = '\0';
	return 0;
}

static inline void
t_reset(struct t_out *o)
{
	free(o->s);
	o->s = NULL;
	o->n = 0;
}

static inline const char *
t_str(const struct t_out *o)
{
	return o->s != NULL ? o->s : "";
}

/* Test doubles for shell_ops. */
struct t_ops {
	struct shell_stats	 stats;
	struct shell_probe	 probe;	/* returned by every probe */
	int			 probe_ret;
	int			 nprobes;
	char			 last_host[256];
	uint16_t		 last_port;
	int			 resolve_ret;
	const char		*resolve_addrs[4];	/* literals */
};

static inline void
t_stats(void *arg, struct shell_stats *out)
{
	*out = ((struct t_ops *)arg)->stats;
}

static inline int
t_probe(void *arg, const char *host, uint16_t port, uint32_t timeout_ms,
    struct shell_probe *out)
{
	struct t_ops *t = arg;

	(void)timeout_ms;
	t->nprobes++;
	snprintf(t->last_host, sizeof(t->last_host), "%s", host);
	t->last_port = port;
	*out = t->probe;
	return t->probe_ret;
}

static inline int
t_resolve(void *arg, const char *host, uint32_t timeout_ms,
    struct sockaddr_storage *addrs, size_t max, size_t *n,
    uint64_t *elapsed_us)
{
	struct t_ops *t = arg;
	socklen_t sl;
	size_t i;

	(void)timeout_ms;
	snprintf(t->last_host, sizeof(t->last_host), "%s", host);
	*n = 0;
	*elapsed_us = 1500;
	if (t->resolve_ret != 0) {
		return t->resolve_ret;
	}
	for (i = 0; i < 4 && i < max && t->resolve_addrs[i] != NULL; i++) {
		net_sockaddr_parse_literal(t->resolve_addrs[i], 0, &addrs[i],
		    &sl);
		(*n)++;
	}
	return 0;
}

static inline void
t_ops_init(struct t_ops *t, struct shell_ops *ops)
{
	memset(t, 0, sizeof(*t));
	memset(ops, 0, sizeof(*ops));
	ops->arg = t;
	ops->stats = t_stats;
	ops->probe = t_probe;
	ops->resolve = t_resolve;
}

/* A context for user alice of c. */
static inline void
t_ctx(struct shell_ctx *x, const struct cfg *c, const struct shell_ops *ops,
    struct shell_store *st)
{
	memset(x, 0, sizeof(*x));
	x->cfg = c;
	x->user = cfg_user_find(c, "alice");
	x->source_ip = "192.0.2.7";
	x->auth_method = "password";
	x->store = st;
	x->ops = ops;
}

/* Runs an exec line; returns the status and leaves the output in o. */
static inline int
t_exec(const struct shell_ctx *x, const char *line, struct t_out *o)
{
	t_reset(o);
	return shell_exec(x, line, t_write, o);
}

/* ----- a tiny VT100 screen ----- */

#define VT_ROWS	12
#define VT_COLS	80

struct vt {
	char	cell[VT_ROWS][VT_COLS][5];	/* UTF-8 per cell, "" = blank */
	int	rows, cols, r, c, pend;		/* pend: deferred wrap */
	int	scrolled;
};

static inline void
vt_init(struct vt *v, int cols)
{
	memset(v, 0, sizeof(*v));
	v->rows = VT_ROWS;
	v->cols = cols;
}

static inline void
vt_newline(struct vt *v)
{
	if (v->r + 1 < v->rows) {
		v->r++;
		return;
	}
	memmove(v->cell[0], v->cell[1], sizeof(v->cell[0]) *
	    (size_t)(v->rows - 1));
	memset(v->cell[v->rows - 1], 0, sizeof(v->cell[0]));
	v->scrolled++;
}

static inline void
vt_clear_from(struct vt *v, int r, int c)
{
	int i, j;

	for (i = r; i < v->rows; i++) {
		for (j = i == r ? c : 0; j < v->cols; j++) {
			v->cell[i][j][0] = '\0';
		}
	}
}

/* Width of a UTF-8 character for the test screen. */
static inline int
vt_width(const unsigned char *u, size_t n)
{
	unsigned cp = 0;

	if (n == 3) {
		cp = ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) |
		    (u[2] & 0x3fu);
	}
	return cp >= 0x4e00 && cp <= 0x9fff ? 2 : 1;
}

static inline void
vt_put(struct vt *v, const unsigned char *u, size_t n)
{
	int w = vt_width(u, n);

	if (v->pend || v->c + w > v->cols) {
		v->c = 0;
		vt_newline(v);
		v->pend = 0;
	}
	memcpy(v->cell[v->r][v->c], u, n);
	v->cell[v->r][v->c][n] = '\0';
	if (n == 1 && u[0] == ' ') {
		v->cell[v->r][v->c][0] = '\0';	/* a space is a blank */
	}
	if (w == 2 && v->c + 1 < v->cols) {
		v->cell[v->r][v->c + 1][0] = '\0';
	}
	v->c += w;
	if (v->c >= v->cols) {
		v->c = v->cols - 1;
		v->pend = 1;
	}
}

/* Interprets bytes written by the shell. */
static inline void
vt_feed(struct vt *v, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	int num;

	while (i < n) {
		if (u[i] == 0x1b && i + 1 < n && u[i + 1] == '[') {
			i += 2;
			num = -1;
			while (i < n && ((u[i] >= '0' && u[i] <= '9') ||
			    u[i] == ';')) {
				if (u[i] != ';') {
					num = (num < 0 ? 0 : num * 10) +
					    (u[i] - '0');
				}
				i++;
			}
			if (i >= n) {
				break;
			}
			if (num < 0) {
				num = u[i] == 'J' ? 0 : 1;
			}
			v->pend = 0;
			switch (u[i]) {
			case 'A':
				v->r = v->r - num < 0 ? 0 : v->r - num;
				break;
			case 'B':
				v->r = v->r + num >= v->rows ? v->rows - 1 :
				    v->r + num;
				break;
			case 'C':
				v->c = v->c + num >= v->cols ? v->cols - 1 :
				    v->c + num;
				break;
			case 'D':
				v->c = v->c - num < 0 ? 0 : v->c - num;
				break;
			case 'H':
				v->r = v->c = 0;
				break;
			case 'J':
				if (num == 2) {
					vt_clear_from(v, 0, 0);
				} else {
					vt_clear_from(v, v->r, v->c);
				}
				break;
			default:
				break;
			}
			i++;
			continue;
		}
		if (u[i] == '\r') {
			v->c = 0;
			v->pend = 0;
		} else if (u[i] == '\n') {
			vt_newline(v);
			v->pend = 0;
		} else if (u[i] == '\b') {
			if (v->c > 0 && !v->pend) {
				v->c--;
			}
			v->pend = 0;
		} else if (u[i] >= 0x20 && u[i] != 0x7f) {
			k = 1;
			if (u[i] >= 0xc0) {
				k = u[i] >= 0xf0 ? 4 : u[i] >= 0xe0 ? 3 : 2;
			}
			if (i + k > n) {
				break;
			}
			vt_put(v, u + i, k);
			i += k;
			continue;
		}
		i++;
	}
}

/* The screen as text: rows joined with '\n', trailing blanks and
 * empty rows dropped (a terminal shows no difference). Static buffer. */
static inline const char *
vt_text(const struct vt *v)
{
	static char out[VT_ROWS * (VT_COLS * 4 + 1) + 1];
	size_t n = 0, keep = 0;
	int r, c, last;

	for (r = 0; r < v->rows; r++) {
		for (last = -1, c = 0; c < v->cols; c++) {
			if (v->cell[r][c][0] != '\0') {
				last = c;
			}
		}
		for (c = 0; c <= last; c++) {
			if (v->cell[r][c][0] == '\0') {
				if (c > 0 && vt_width((const unsigned char *)
				    v->cell[r][c - 1],
				    strlen(v->cell[r][c - 1])) == 2) {
					continue;
				}
				out[n++] = ' ';
			} else {
				memcpy(out + n, v->cell[r][c],
				    strlen(v->cell[r][c]));
				n += strlen(v->cell[r][c]);
			}
		}
		if (last >= 0) {
			keep = n;
		}
		out[n++] = '\n';
	}
	out[keep] = '\0';
	return out;
}

#endif /* SKS5_TESTS_TEST_SHELL_UTIL_H */

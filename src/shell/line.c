/*
 * The line editor: a byte-at-a-time state machine for xterm/VT100 input
 * (C0 control keys, CSI and SS3 sequences consumed whole, UTF-8 edited as
 * characters) that keeps the terminal's picture of the line exact, also
 * when the line wraps over several rows of the pty.
 *
 * Screen model. The prompt starts at column 0 of a row; crow is the row
 * of the terminal cursor relative to that row. A line whose end falls
 * exactly on the right margin is followed by "\r\n" so the terminal never
 * sits in its deferred-wrap state: every position the editor computes is
 * where the cursor really is.
 */
#include "shell/shell_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

enum { ESC_NONE = 0, ESC_ESC, ESC_CSI, ESC_SS3 };

#define BEL	"\007"

/* Writes n bytes of echo. */
static void
put(struct shell_line *l, const void *p, size_t n)
{
	(void)buf_put(l->out, p, n);
}

static void
puts_(struct shell_line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Writes ESC [ n c (n == 1 is written without the number). */
static void
csi(struct shell_line *l, size_t n, char c)
{
	char tmp[32];

	if (n == 1) {
		snprintf(tmp, sizeof(tmp), "\033[%c", c);
	} else {
		snprintf(tmp, sizeof(tmp), "\033[%zu%c", n, c);
	}
	puts_(l, tmp);
}

/* Columns a code point takes: 0 (combining, zero width), 2 (wide East
 * Asian and emoji) or 1. */
static int
cp_width(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
		return 0;
	}
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x20d0 &&
	    cp <= 0x20ff)) {
		return 0;
	}
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 &&
	    cp <= 0xa4cf && cp != 0x303f) || (cp >= 0xac00 &&
	    cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 &&
	    cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 &&
	    cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)) {
		return 2;
	}
	return 1;
}

/*
 * Decodes one character at s[0..n): returns its length in bytes (>= 1)
 * and its width in *w. Escape sequences (CSI ... final) count as one
 * zero-width unit; malformed UTF-8 bytes are one column each.
 */
static size_t
next_char(const char *s, size_t n, int *w)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, len;
	uint32_t cp;

	*w = 0;
	if (u[0] == 0x1b) {
		i = 1;
		if (i < n && u[i] == '[') {
			for (i++; i < n && (u[i] < 0x40 || u[i] > 0x7e); i++) {
				;
			}
			return i < n ? i + 1 : n;
		}
		return i;
	}
	if (u[0] < 0x80) {
		*w = cp_width(u[0]);
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2;
		cp = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3;
		cp = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4;
		cp = u[0] & 0x07;
	} else {
		*w = 1;
		return 1;
	}
	if (len > n) {
		*w = 1;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*w = 1;
			return 1;
		}
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	*w = cp_width(cp);
	return len;
}

size_t
shell__width(const char *s, size_t n)
{
	size_t i = 0, total = 0;
	int w;

	while (i < n) {
		i += next_char(s + i, n - i, &w);
		total += (size_t)w;
	}
	return total;
}

/* Walks s[0..n) from (row, col) on a screen cols wide, as a terminal
 * would place it; *exact is set when the last character filled a row. */
static void
walk(const char *s, size_t n, unsigned cols, size_t *row, size_t *col,
    int *exact)
{
	size_t i = 0;
	int w;

	while (i < n) {
		i += next_char(s + i, n - i, &w);
		if (w == 0) {
			continue;
		}
		if (*col + (size_t)w > cols) {
			(*row)++;
			*col = 0;
		}
		*col += (size_t)w;
		*exact = 0;
		if (*col >= cols) {
			(*row)++;
			*col = 0;
			*exact = 1;
		}
	}
}

/* Screen position after the prompt and text[0..upto). */
static void
layout(const struct shell_line *l, size_t upto, size_t *row, size_t *col,
    int *exact)
{
	*row = 0;
	*col = 0;
	*exact = 0;
	walk(l->prompt, l->plen, l->cols, row, col, exact);
	walk(l->text, upto, l->cols, row, col, exact);
}

/* Redraws everything from the prompt's first row and places the cursor. */
static void
refresh(struct shell_line *l)
{
	size_t erow, ecol, trow, tcol;
	int exact, texact;

	if (l->crow > 0) {
		csi(l, l->crow, 'A');
	}
	puts_(l, "\r\033[J");
	put(l, l->prompt, l->plen);
	put(l, l->text, l->len);
	layout(l, l->len, &erow, &ecol, &exact);
	if (exact) {
		puts_(l, "\r\n");
	}
	layout(l, l->cur, &trow, &tcol, &texact);
	if (erow > trow) {
		csi(l, erow - trow, 'A');
	}
	if (erow != trow || ecol != tcol) {
		puts_(l, "\r");
		if (tcol > 0) {
			csi(l, tcol, 'C');
		}
	}
	l->crow = trow;
}

/* Moves the terminal cursor from the current offset to byte offset to. */
static void
move_to(struct shell_line *l, size_t to)
{
	size_t orow, ocol, nrow, ncol;
	int ex;

	layout(l, l->cur, &orow, &ocol, &ex);
	layout(l, to, &nrow, &ncol, &ex);
	if (nrow < orow) {
		csi(l, orow - nrow, 'A');
	} else if (nrow > orow) {
		csi(l, nrow - orow, 'B');
	}
	if (ncol > ocol) {
		csi(l, ncol - ocol, 'C');
	} else if (ncol < ocol) {
		csi(l, ocol - ncol, 'D');
	}
	l->cur = to;
	l->crow = nrow;
}

/* Offset of the character before off. */
static size_t
prev_char(const struct shell_line *l, size_t off)
{
	if (off == 0) {
		return 0;
	}
	off--;
	while (off > 0 && ((unsigned char)l->text[off] & 0xc0) == 0x80) {
		off--;
	}
	return off;
}

/* Offset of the character after off. */
static size_t
next_off(const struct shell_line *l, size_t off)
{
	int w;

	if (off >= l->len) {
		return l->len;
	}
	return off + next_char(l->text + off, l->len - off, &w);
}

/* Start of the word before off (blanks, then non-blanks). */
static size_t
word_left(const struct shell_line *l, size_t off)
{
	while (off > 0 && l->text[off - 1] == ' ') {
		off--;
	}
	while (off > 0 && l->text[off - 1] != ' ') {
		off--;
	}
	return off;
}

/* End of the word after off. */
static size_t
word_right(const struct shell_line *l, size_t off)
{
	while (off < l->len && l->text[off] == ' ') {
		off++;
	}
	while (off < l->len && l->text[off] != ' ') {
		off++;
	}
	return off;
}

/* Deletes text[from..to) and redraws. */
static void
delete_range(struct shell_line *l, size_t from, size_t to)
{
	if (from >= to) {
		return;
	}
	memmove(l->text + from, l->text + to, l->len - to);
	l->len -= to - from;
	l->text[l->len] = '\0';
	l->cur = from;
	refresh(l);
}

/* Backspace: the fast "\b \b" at the end of a row, else a redraw. */
static void
backspace(struct shell_line *l)
{
	size_t p = prev_char(l, l->cur), row, col, i;
	int ex, w;

	if (l->cur == 0) {
		return;
	}
	layout(l, l->cur, &row, &col, &ex);
	next_char(l->text + p, l->len - p, &w);
	if (l->cur == l->len && w >= 1 && col >= (size_t)w) {
		l->len = p;
		l->cur = p;
		l->text[p] = '\0';
		for (i = 0; i < (size_t)w; i++) {
			puts_(l, "\b");
		}
		for (i = 0; i < (size_t)w; i++) {
			puts_(l, " ");
		}
		for (i = 0; i < (size_t)w; i++) {
			puts_(l, "\b");
		}
		return;
	}
	delete_range(l, p, l->cur);
}

void
shell__line_insert(struct shell_line *l, const char *s, size_t n)
{
	size_t row, col;
	int exact;

	if (n == 0) {
		return;
	}
	if (l->len + n > SHELL_LINE_MAX) {
		puts_(l, BEL);
		return;
	}
	memmove(l->text + l->cur + n, l->text + l->cur, l->len - l->cur);
	memcpy(l->text + l->cur, s, n);
	l->len += n;
	l->text[l->len] = '\0';
	if (l->cur + n == l->len) {
		l->cur = l->len;
		put(l, s, n);
		layout(l, l->len, &row, &col, &exact);
		if (exact) {
			puts_(l, "\r\n");
		}
		l->crow = row;
		return;
	}
	l->cur += n;
	refresh(l);
}

/* Replaces the whole line (history) and redraws. */
static void
set_text(struct shell_line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > SHELL_LINE_MAX) {
		n = SHELL_LINE_MAX;
	}
	memcpy(l->text, s, n);
	l->text[n] = '\0';
	l->len = n;
	l->cur = n;
	refresh(l);
}

/* Up (dir -1) or down (+1) in the history. */
static void
history(struct shell_line *l, int dir)
{
	if (dir < 0) {
		if (l->hist_pos == 0) {
			puts_(l, BEL);
			return;
		}
		if (l->hist_pos == l->hist_n) {
			free(l->saved);
			l->saved = xstrndup(l->text, l->len);
		}
		l->hist_pos--;
		set_text(l, l->hist[l->hist_pos]);
		return;
	}
	if (l->hist_pos >= l->hist_n) {
		puts_(l, BEL);
		return;
	}
	l->hist_pos++;
	set_text(l, l->hist_pos == l->hist_n ?
	    (l->saved != NULL ? l->saved : "") : l->hist[l->hist_pos]);
}

/* First number of the CSI parameters (0 when none). */
static unsigned
param(const struct shell_line *l, int which)
{
	unsigned v = 0;
	size_t i = 0;

	for (; which > 0 && i < l->nseq; i++) {
		if (l->seq[i] == ';') {
			which--;
		}
	}
	for (; i < l->nseq && l->seq[i] >= '0' && l->seq[i] <= '9'; i++) {
		v = v * 10 + (unsigned)(l->seq[i] - '0');
		if (v > 10000) {
			break;
		}
	}
	return v;
}

/* A complete CSI or SS3 sequence with final byte f. */
static int
dispatch(struct shell_line *l, char f)
{
	unsigned mod = param(l, 1);
	int word = mod == 3 || mod == 5;	/* Alt or Ctrl */

	switch (f) {
	case 'A':
		history(l, -1);
		break;
	case 'B':
		history(l, 1);
		break;
	case 'C':
		move_to(l, word ? word_right(l, l->cur) : next_off(l, l->cur));
		break;
	case 'D':
		move_to(l, word ? word_left(l, l->cur) : prev_char(l, l->cur));
		break;
	case 'H':
		move_to(l, 0);
		break;
	case 'F':
		move_to(l, l->len);
		break;
	case '~':
		switch (param(l, 0)) {
		case 1:
		case 7:
			move_to(l, 0);
			break;
		case 4:
		case 8:
			move_to(l, l->len);
			break;
		case 3:
			delete_range(l, l->cur, next_off(l, l->cur));
			break;
		default:	/* Insert, PgUp, PgDn, paste marks... */
			break;
		}
		break;
	default:
		break;
	}
	return SHELL_LINE_NONE;
}

/* One byte while an escape sequence is open. Returns -1 when the byte
 * ended the sequence without being part of it (process it normally). */
static int
esc_byte(struct shell_line *l, unsigned char c)
{
	if (c < 0x20 && c != 0x1b) {
		l->esc = ESC_NONE;
		return -1;
	}
	switch (l->esc) {
	case ESC_ESC:
		l->esc = ESC_NONE;
		l->nseq = 0;
		if (c == '[') {
			l->esc = ESC_CSI;
		} else if (c == 'O') {
			l->esc = ESC_SS3;
		} else if (c == 0x1b) {
			l->esc = ESC_ESC;
		} else if (c == 'b') {
			move_to(l, word_left(l, l->cur));
		} else if (c == 'f') {
			move_to(l, word_right(l, l->cur));
		} else if (c == 'd') {
			delete_range(l, l->cur, word_right(l, l->cur));
		} else if (c == 0x7f) {
			delete_range(l, word_left(l, l->cur), l->cur);
		}
		return SHELL_LINE_NONE;
	case ESC_CSI:
		if (c >= 0x30 && c <= 0x3f) {
			if (l->nseq < sizeof(l->seq)) {
				l->seq[l->nseq++] = (char)c;
			}
			return SHELL_LINE_NONE;
		}
		if (c >= 0x20 && c <= 0x2f) {
			return SHELL_LINE_NONE;	/* intermediate bytes */
		}
		l->esc = ESC_NONE;
		if (c >= 0x40 && c <= 0x7e) {
			return dispatch(l, (char)c);
		}
		return -1;
	case ESC_SS3:
		l->esc = ESC_NONE;
		if (c >= 0x40 && c <= 0x7e) {
			return dispatch(l, (char)c);
		}
		return -1;
	}
	l->esc = ESC_NONE;
	return -1;
}

/* A byte >= 0x80: collect a UTF-8 character, insert it when complete. */
static void
utf8_byte(struct shell_line *l, unsigned char c)
{
	if (l->want8 == 0) {
		if (c >= 0xc2 && c <= 0xdf) {
			l->want8 = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			l->want8 = 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			l->want8 = 4;
		} else {
			return;	/* stray continuation or invalid lead */
		}
		l->u8[0] = c;
		l->nu8 = 1;
		return;
	}
	if ((c & 0xc0) != 0x80 || (l->nu8 == 1 &&
	    ((l->u8[0] == 0xe0 && c < 0xa0) ||
	    (l->u8[0] == 0xed && c > 0x9f) ||
	    (l->u8[0] == 0xf0 && c < 0x90) ||
	    (l->u8[0] == 0xf4 && c > 0x8f)))) {
		l->want8 = 0;
		l->nu8 = 0;
		utf8_byte(l, c);	/* maybe the lead of a new one */
		return;
	}
	l->u8[l->nu8++] = c;
	if (l->nu8 == l->want8) {
		shell__line_insert(l, (const char *)l->u8, l->nu8);
		l->want8 = 0;
		l->nu8 = 0;
	}
}

/* A control byte (below 0x20, or DEL). */
static int
control(struct shell_line *l, unsigned char c)
{
	switch (c) {
	case '\r':
	case '\n':
		move_to(l, l->len);
		puts_(l, "\r\n");
		l->crow = 0;
		return SHELL_LINE_ENTER;
	case 0x7f:
	case 0x08:
		backspace(l);
		break;
	case 0x01:
		move_to(l, 0);
		break;
	case 0x05:
		move_to(l, l->len);
		break;
	case 0x02:
		move_to(l, prev_char(l, l->cur));
		break;
	case 0x06:
		move_to(l, next_off(l, l->cur));
		break;
	case 0x03:
		move_to(l, l->len);
		puts_(l, "^C\r\n");
		l->len = l->cur = 0;
		l->text[0] = '\0';
		l->crow = 0;
		return SHELL_LINE_INTR;
	case 0x04:
		if (l->len == 0) {
			return SHELL_LINE_EOF;
		}
		delete_range(l, l->cur, next_off(l, l->cur));
		break;
	case 0x0b:
		delete_range(l, l->cur, l->len);
		break;
	case 0x15:
		delete_range(l, 0, l->cur);
		break;
	case 0x17:
		delete_range(l, word_left(l, l->cur), l->cur);
		break;
	case 0x0c:
		puts_(l, "\033[2J\033[H");
		l->crow = 0;
		refresh(l);
		break;
	case 0x10:
		history(l, -1);
		break;
	case 0x0e:
		history(l, 1);
		break;
	case '\t':
		return SHELL_LINE_TAB;
	case 0x1b:
		l->esc = ESC_ESC;
		break;
	default:
		break;
	}
	return SHELL_LINE_NONE;
}

int
shell__line_byte(struct shell_line *l, unsigned char c)
{
	int r;
	char ch;

	if (c == '\n' && l->last_cr) {
		l->last_cr = 0;
		return SHELL_LINE_NONE;	/* CR LF is one Enter */
	}
	l->last_cr = c == '\r';
	if (l->esc != ESC_NONE && (r = esc_byte(l, c)) >= 0) {
		return r;
	}
	if (c >= 0x80) {
		utf8_byte(l, c);
		return SHELL_LINE_NONE;
	}
	if (l->want8 != 0) {	/* an ASCII byte cuts a partial UTF-8 */
		l->want8 = 0;
		l->nu8 = 0;
	}
	if (c < 0x20 || c == 0x7f) {
		return control(l, c);
	}
	ch = (char)c;
	shell__line_insert(l, &ch, 1);
	return SHELL_LINE_NONE;
}

void
shell__line_init(struct shell_line *l, struct buf *out, unsigned cols)
{
	memset(l, 0, sizeof(*l));
	l->out = out;
	l->cols = cols > 0 ? cols : 80;
	l->prompt = "";
}

void
shell__line_cleanup(struct shell_line *l)
{
	free(l->saved);
	l->saved = NULL;
}

void
shell__line_reset(struct shell_line *l, const char *prompt, size_t plen,
    char *const *hist, size_t nhist)
{
	size_t row, col;
	int exact;

	l->prompt = prompt;
	l->plen = plen;
	l->len = l->cur = 0;
	l->text[0] = '\0';
	l->hist = hist;
	l->hist_n = nhist;
	l->hist_pos = nhist;
	free(l->saved);
	l->saved = NULL;
	put(l, prompt, plen);
	layout(l, 0, &row, &col, &exact);
	if (exact) {
		puts_(l, "\r\n");
	}
	l->crow = row;
}

void
shell__line_newline(struct shell_line *l)
{
	move_to(l, l->len);
	puts_(l, "\r\n");
	l->crow = 0;
}

void
shell__line_redraw(struct shell_line *l)
{
	refresh(l);
}

void
shell__line_resize(struct shell_line *l, unsigned cols, int shown)
{
	size_t row, col;
	int exact;

	if (cols == 0 || cols == l->cols) {
		return;
	}
	l->cols = cols;
	if (!shown) {
		layout(l, l->cur, &row, &col, &exact);
		l->crow = row;
		return;
	}
	/*
	 * Where the cursor is now depends on the terminal: one that does not
	 * reflow (xterm) left it on row crow of the old layout; one that
	 * reflows moved it to its row in the new layout. Climbing the larger
	 * of the two before the redraw clears every row the line may still
	 * occupy (at worst a row of earlier output too), so no stale piece of
	 * the line survives either way.
	 */
	layout(l, l->cur, &row, &col, &exact);
	if (row > l->crow) {
		l->crow = row;
	}
	refresh(l);
}

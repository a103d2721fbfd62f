/* Unit tests of the line editor (bytes in, echo and screen out), the
 * tokenizer, tab completion and virtual paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_shell_util.h"
#include "shell/shell_int.h"

#define P	"alice@h:~$ "	/* the prompt */
#define PL	11
#define PT	"alice@h:~$"	/* the prompt at the end of a row */

struct ed {
	struct cfg		*c;
	struct t_ops		 t;
	struct shell_ops	 ops;
	struct shell_store	*st;
	struct shell_ctx	 x;
	struct t_out		 o;
	struct shell		*sh;
	struct vt		 vt;
	int			 ret;
};

static struct ed *
ed_new(int cols)
{
	struct ed *e = xcalloc(1, sizeof(*e));

	e->c = t_cfg("[motd]\nenabled = false\n", "");
	assert_non_null(e->c);
	t_ops_init(&e->t, &e->ops);
	e->st = shell_store_new(0, 0);
	t_ctx(&e->x, e->c, &e->ops, e->st);
	e->sh = shell_new(&e->x, (unsigned)cols, 24, t_write, &e->o);
	vt_init(&e->vt, cols);
	assert_int_equal(shell_start(e->sh), 0);
	vt_feed(&e->vt, e->o.s, e->o.n);
	assert_string_equal(t_str(&e->o), P);
	t_reset(&e->o);
	return e;
}

static void
ed_free(struct ed *e)
{
	shell_free(e->sh);
	t_reset(&e->o);
	shell_store_free(e->st);
	cfg_free(e->c);
	free(e);
}

/* Feeds bytes; returns what the shell wrote for them. */
static const char *
feed(struct ed *e, const char *s)
{
	t_reset(&e->o);
	e->ret = shell_input(e->sh, s, strlen(s));
	vt_feed(&e->vt, t_str(&e->o), e->o.n);
	return t_str(&e->o);
}

/* Checks the screen text and the cursor. */
#define SCREEN(e, text, row, col) do {					\
	assert_string_equal(vt_text(&(e)->vt), (text));			\
	assert_int_equal((e)->vt.r, (row));				\
	assert_int_equal((e)->vt.c, (col));				\
} while (0)

static void
test_typing_echo(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	assert_string_equal(feed(e, "echo hi"), "echo hi");
	SCREEN(e, P "echo hi", 0, PL + 7);
	assert_string_equal(feed(e, "\r"), "\r\nhi\r\n" P);
	SCREEN(e, P "echo hi\nhi\n" PT, 2, PL);
	/* CR LF is one Enter: one prompt, not two. */
	assert_string_equal(feed(e, "pwd\r\n"), "pwd\r\n/home/alice\r\n" P);
	assert_string_equal(feed(e, "\n"), "\r\n" P);
	ed_free(e);
}

static void
test_cursor_keys(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	feed(e, "helo");
	/* left (CSI), insert mid-line with a redraw */
	assert_string_equal(feed(e, "\033[D"), "\033[D");
	feed(e, "l");
	SCREEN(e, P "hello", 0, PL + 4);
	/* SS3 left, Home, End and their alternatives */
	feed(e, "\033OD");
	SCREEN(e, P "hello", 0, PL + 3);
	feed(e, "\033[H");
	SCREEN(e, P "hello", 0, PL);
	feed(e, "\033[F");
	SCREEN(e, P "hello", 0, PL + 5);
	feed(e, "\033[1~");
	SCREEN(e, P "hello", 0, PL);
	feed(e, "\033[4~");
	SCREEN(e, P "hello", 0, PL + 5);
	feed(e, "\033OH");
	SCREEN(e, P "hello", 0, PL);
	feed(e, "\033OF");
	SCREEN(e, P "hello", 0, PL + 5);
	feed(e, "\001");	/* Ctrl-A */
	SCREEN(e, P "hello", 0, PL);
	feed(e, "\006\006");	/* Ctrl-F */
	SCREEN(e, P "hello", 0, PL + 2);
	feed(e, "\002");	/* Ctrl-B */
	SCREEN(e, P "hello", 0, PL + 1);
	feed(e, "\005");	/* Ctrl-E */
	SCREEN(e, P "hello", 0, PL + 5);
	/* right at the end and left at the start do nothing */
	assert_string_equal(feed(e, "\033[C"), "");
	feed(e, "\001");
	assert_string_equal(feed(e, "\033[D"), "");
	/* Delete consumes the whole sequence: no '~' inserted. */
	feed(e, "\033[3~");
	SCREEN(e, P "ello", 0, PL);
	/* Insert, PgUp, PgDn, paste marks and unknown finals: ignored */
	feed(e, "\033[2~\033[5~\033[6~\033[200~\033[201~\033[Z\033[1;2P");
	SCREEN(e, P "ello", 0, PL);
	/* A sequence split over several reads. */
	feed(e, "\033");
	feed(e, "[");
	feed(e, "C");
	SCREEN(e, P "ello", 0, PL + 1);
	/* Ctrl-Right / Ctrl-Left by words, Alt-b / Alt-f */
	feed(e, "\005 world wide");
	feed(e, "\033[1;5D");
	SCREEN(e, P "ello world wide", 0, PL + 11);
	feed(e, "\033b");
	SCREEN(e, P "ello world wide", 0, PL + 5);
	feed(e, "\033f");
	SCREEN(e, P "ello world wide", 0, PL + 10);
	feed(e, "\033[1;5C");
	SCREEN(e, P "ello world wide", 0, PL + 15);
	ed_free(e);
}

static void
test_deletion(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	feed(e, "abc");
	assert_string_equal(feed(e, "\177"), "\b \b");
	assert_string_equal(feed(e, "\b"), "\b \b");
	SCREEN(e, P "a", 0, PL + 1);
	feed(e, "\177\177\177");	/* at column 0 of the line: nothing */
	SCREEN(e, PT, 0, PL);
	feed(e, "one two three");
	feed(e, "\027");	/* Ctrl-W */
	SCREEN(e, P "one two", 0, PL + 8);
	feed(e, "\033\177");	/* Alt-Backspace */
	SCREEN(e, P "one", 0, PL + 4);
	feed(e, "two three\001\006\006\006\006");
	feed(e, "\013");	/* Ctrl-K */
	SCREEN(e, P "one", 0, PL + 4);
	feed(e, "x\002");
	feed(e, "\025");	/* Ctrl-U */
	SCREEN(e, P "x", 0, PL);
	feed(e, "\004");	/* Ctrl-D on a non-empty line deletes */
	SCREEN(e, PT, 0, PL);
	assert_int_equal(e->ret, 0);
	/* Ctrl-D on an empty line logs out. */
	assert_string_equal(feed(e, "\004"), "logout\r\n");
	assert_int_equal(e->ret, 1);
	assert_int_equal(shell_done(e->sh), 1);
	/* Further input is ignored. */
	assert_string_equal(feed(e, "ls\r"), "");
	ed_free(e);
}

static void
test_ctrl_c_and_l(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	feed(e, "echo no\001");
	assert_string_equal(feed(e, "\003"), "\033[7C^C\r\n" P);
	SCREEN(e, P "echo no^C\n" PT, 1, PL);
	assert_int_equal(shell_last_status(e->sh), 130);
	feed(e, "whoami");
	feed(e, "\014");	/* Ctrl-L */
	SCREEN(e, P "whoami", 0, PL + 6);
	/* clear the screen as a command */
	feed(e, "\025clear\r");
	SCREEN(e, PT, 0, PL);
	/* other control bytes are ignored */
	assert_string_equal(feed(e, "\000\022\030\031\032\034"), "");
	ed_free(e);
}

static void
test_history_keys(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	feed(e, "echo 1\recho 2\r\recho 2\r");
	feed(e, "\025");
	feed(e, "typed");
	feed(e, "\033[A");	/* newest: "echo 2" (the repeat kept once) */
	assert_string_equal(e->sh->line.text, "echo 2");
	feed(e, "\033OA");
	assert_string_equal(e->sh->line.text, "echo 1");
	assert_string_equal(feed(e, "\033[A"), "\007");	/* oldest: BEL */
	feed(e, "\033[B\020");	/* down, then Ctrl-P up again */
	assert_string_equal(e->sh->line.text, "echo 1");
	feed(e, "\016\016");	/* Ctrl-N twice: back to what was typed */
	assert_string_equal(e->sh->line.text, "typed");
	SCREEN(e, P "echo 1\n1\n" P "echo 2\n2\n" PT "\n" P "echo 2\n2\n"
	    P "typed", 7, PL + 5);
	assert_string_equal(feed(e, "\033[B"), "\007");
	/* history is per user: a new session of alice starts with it */
	feed(e, "\025\r");
	{
		struct t_out o2 = { NULL, 0, 0 };
		struct shell *s2 = shell_new(&e->x, 80, 24, t_write, &o2);

		shell_start(s2);
		shell_input(s2, "\033[A", 3);
		assert_string_equal(s2->line.text, "echo 2");
		shell_free(s2);
		t_reset(&o2);
	}
	ed_free(e);
}

static void
test_utf8(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	/* é (2 bytes) split over two reads, then ü */
	feed(e, "\xc3");
	assert_string_equal(t_str(&e->o), "");
	feed(e, "\xa9\xc3\xbc");
	SCREEN(e, P "\xc3\xa9\xc3\xbc", 0, PL + 2);
	/* left moves over a whole character, insert before it */
	feed(e, "\033[Dx");
	SCREEN(e, P "\xc3\xa9x\xc3\xbc", 0, PL + 2);
	assert_int_equal(e->sh->line.len, 5);
	/* backspace removes one character (2 bytes) */
	feed(e, "\005\177");
	assert_string_equal(e->sh->line.text, "\xc3\xa9x");
	/* a wide character takes two columns */
	feed(e, "\xe4\xb8\xad");
	SCREEN(e, P "\xc3\xa9x\xe4\xb8\xad", 0, PL + 4);
	assert_string_equal(feed(e, "\177"), "\b\b  \b\b");
	/* invalid bytes are dropped, a cut sequence is dropped */
	feed(e, "\xff\x80\xc3z\xe0\x80");
	assert_string_equal(e->sh->line.text, "\xc3\xa9xz");
	feed(e, "\r");
	assert_string_equal(t_str(&e->o) + 2, "\xc3\xa9xz: command not "
	    "found\r\n" P);
	ed_free(e);
}

static void
test_wrap(void **state)
{
	struct ed *e = ed_new(20);

	(void)state;
	/* 11 prompt columns + 9 = a full row: the editor moves down */
	assert_string_equal(feed(e, "echo 1234"), "echo 1234\r\n");
	SCREEN(e, P "echo 1234", 1, 0);
	feed(e, "56789abcdefghijklmnop");
	SCREEN(e, P "echo 1234\n56789abcdefghijklmno\np", 2, 1);
	/* Home goes up two rows; insert at the start re-wraps everything */
	feed(e, "\001");
	SCREEN(e, P "echo 1234\n56789abcdefghijklmno\np", 0, PL);
	feed(e, "X");
	SCREEN(e, P "Xecho 123\n456789abcdefghijklmn\nop", 0, PL + 1);
	/* End, then backspace across a row boundary */
	feed(e, "\005\177\177\177");
	SCREEN(e, P "Xecho 123\n456789abcdefghijklm", 1, 19);
	feed(e, "\177");
	SCREEN(e, P "Xecho 123\n456789abcdefghijkl", 1, 18);
	/* Ctrl-U from the middle of the second row */
	feed(e, "\002\002\002\002\002\002\002\002\002\002");
	SCREEN(e, P "Xecho 123\n456789abcdefghijkl", 1, 8);
	feed(e, "\025");
	SCREEN(e, P "cdefghijk\nl", 0, PL);
	/* Enter from the middle prints below the whole line */
	feed(e, "\005\025echo aaaaaaaaaaaaaaaaaaa\001\r");
	SCREEN(e, P "echo aaaa\naaaaaaaaaaaaaaa\n"
	    "aaaaaaaaaaaaaaaaaaa\n" PT, 3, PL);
	/* resize: the next line wraps at the new width */
	shell_resize(e->sh, 30, 0);
	e->vt.cols = 30;
	feed(e, "\033[2J\033[H");	/* (typed into the line: ignored) */
	feed(e, "\014");
	feed(e, "echo 12345678901234567890");
	SCREEN(e, P "echo 12345678901234\n567890", 1, 6);
	ed_free(e);
}

/* A terminal that does not reflow (xterm): rows are cut to the new width,
 * the cursor stays on its row. */
static void
vt_resize(struct vt *v, int cols)
{
	int r, c;

	for (r = 0; r < v->rows; r++) {
		for (c = cols; c < VT_COLS; c++) {
			v->cell[r][c][0] = '\0';
		}
	}
	v->cols = cols;
	if (v->c >= cols) {
		v->c = cols - 1;
	}
	v->pend = 0;
}

/* Resizes the terminal and the session; returns what the shell wrote. */
static const char *
resize(struct ed *e, int cols)
{
	t_reset(&e->o);
	vt_resize(&e->vt, cols);
	shell_resize(e->sh, (unsigned)cols, 0);
	vt_feed(&e->vt, t_str(&e->o), e->o.n);
	return t_str(&e->o);
}

static void
test_resize(void **state)
{
	struct ed *e = ed_new(20);

	(void)state;
	feed(e, "echo hi\r");
	feed(e, "echo abcdefghijklmnopqrstuvwxyz0123456789");
	SCREEN(e, P "echo hi\nhi\n" P "echo abcd\nefghijklmnopqrstuvwx\n"
	    "yz0123456789", 4, 12);
	/* Wider: the line is redrawn from its first row at 30 columns, and
	 * the row above it is untouched */
	resize(e, 30);
	SCREEN(e, P "echo hi\nhi\n" P "echo abcdefghijklmn\n"
	    "opqrstuvwxyz0123456789", 3, 22);
	/* edits now lay out at 30 */
	feed(e, "\001X");
	SCREEN(e, P "echo hi\nhi\n" P "Xecho abcdefghijklm\n"
	    "nopqrstuvwxyz0123456789", 2, PL + 1);
	feed(e, "\005\177");
	SCREEN(e, P "echo hi\nhi\n" P "Xecho abcdefghijklm\n"
	    "nopqrstuvwxyz012345678", 3, 22);
	/* Narrower: a reflowing terminal would have moved the cursor down
	 * to row 3 of the new layout, so the redraw starts that far up (here
	 * over the earlier output) and nothing of the old line is left */
	resize(e, 15);
	SCREEN(e, P "Xech\no abcdefghijklm\nnopqrstuvwxyz01\n2345678", 3, 7);
	feed(e, "\001\006\177");
	SCREEN(e, P "echo\n abcdefghijklmn\nopqrstuvwxyz012\n345678", 0, PL);
	/* The same width again, and a resize after exit: nothing written */
	assert_string_equal(resize(e, 15), "");
	feed(e, "\005\025exit\r");
	assert_int_equal(e->ret, 1);
	assert_string_equal(resize(e, 40), "");
	ed_free(e);
}

/* Output that does not end with a newline (echo -n) would leave the
 * prompt off column 0, where the editor's layout is wrong: the prompt
 * goes to the next row. clear leaves the cursor home: no extra row. */
static void
test_prompt_after_partial_output(void **state)
{
	struct ed *e = ed_new(30);

	(void)state;
	assert_string_equal(feed(e, "echo -n abc\r"),
	    "echo -n abc\r\nabc\r\n" P);
	SCREEN(e, P "echo -n abc\nabc\n" PT, 2, PL);
	/* a long line there wraps and edits as usual */
	feed(e, "echo 123456789abcdefghij\001X");
	SCREEN(e, P "echo -n abc\nabc\n" P "Xecho 123456789abcd\nefghij", 2,
	    PL + 1);
	feed(e, "\005\025echo -n\r");
	SCREEN(e, P "echo -n abc\nabc\n" P "echo -n\n" PT, 3, PL);
	feed(e, "clear\r");
	SCREEN(e, PT, 0, PL);
	ed_free(e);
}

static void
test_long_line(void **state)
{
	struct ed *e = ed_new(80);
	char *big = xmalloc(SHELL_LINE_MAX + 2);

	(void)state;
	memset(big, 'a', SHELL_LINE_MAX);
	big[SHELL_LINE_MAX] = '\0';
	feed(e, big);
	assert_int_equal(e->sh->line.len, SHELL_LINE_MAX);
	assert_string_equal(feed(e, "b"), "\007");
	assert_string_equal(feed(e, "\xc3\xa9"), "\007");
	feed(e, "\r");
	assert_non_null(strstr(t_str(&e->o), ": command not found"));
	free(big);
	ed_free(e);
}

static void
test_completion(void **state)
{
	struct ed *e = ed_new(80);

	(void)state;
	feed(e, "who\t");
	assert_string_equal(e->sh->line.text, "whoami ");
	feed(e, "\025show st\t");
	assert_string_equal(e->sh->line.text, "show status ");
	feed(e, "\025show \t");	/* all topics listed, line redrawn */
	assert_non_null(strstr(vt_text(&e->vt), "acl  "));
	assert_non_null(strstr(vt_text(&e->vt), "fingerprint  "));
	SCREEN(e, P "show\nacl          bandwidth    connections  "
	    "fingerprint  history      quota\nstatus\n" P "show", 3,
	    PL + 5);
	feed(e, "\014\025e\t");	/* echo env exit: no longer prefix */
	SCREEN(e, P "e\necho  env   exit\n" P "e", 2, PL + 1);
	feed(e, "\025xyz");
	assert_string_equal(feed(e, "\t"), "\007");
	feed(e, "\025cd /e\t");
	assert_string_equal(e->sh->line.text, "cd /etc/");
	feed(e, "p\t");
	assert_string_equal(e->sh->line.text, "cd /etc/passwd ");
	feed(e, "\025cat ~/.p\t");
	assert_string_equal(e->sh->line.text, "cat ~/.profile ");
	feed(e, "\025bookmark add web w:1\r");
	feed(e, "bookmark add wiki k:1\r");
	feed(e, "alias add greet echo hi\r");
	feed(e, "test @w\t");
	assert_string_equal(e->sh->line.text, "test @w");
	feed(e, "e\t");
	assert_string_equal(e->sh->line.text, "test @web ");
	feed(e, "\025bookmark d\t");
	assert_string_equal(e->sh->line.text, "bookmark del ");
	feed(e, "wi\t");
	assert_string_equal(e->sh->line.text, "bookmark del wiki ");
	feed(e, "\025gr\t");
	assert_string_equal(e->sh->line.text, "greet ");
	feed(e, "\025alias del g\t");
	assert_string_equal(e->sh->line.text, "alias del greet ");
	/* completion in the middle of a line */
	feed(e, "\025pw foo\001\006\006\t");
	assert_string_equal(e->sh->line.text, "pwd  foo");
	ed_free(e);
}

static void
test_completion_perms(void **state)
{
	struct cfg *c = t_cfg("", "[users.shell_permissions]\n"
	    "ping_command = false\n");
	struct t_out o = { NULL, 0, 0 };
	struct shell_ctx x;
	struct shell *sh = NULL;

	(void)state;
	t_ctx(&x, c, NULL, NULL);
	sh = shell_new(&x, 80, 24, t_write, &o);
	shell_start(sh);
	shell_input(sh, "pi\t", 3);
	assert_string_equal(sh->line.text, "pi");	/* not offered */
	shell_free(sh);
	t_reset(&o);
	cfg_free(c);
}

static void
test_no_autocomplete(void **state)
{
	struct cfg *c = t_cfg("", "");
	struct t_out o = { NULL, 0, 0 };
	struct shell_ctx x;
	struct shell *sh = NULL;

	(void)state;
	c->shell.autocomplete = 0;
	t_ctx(&x, c, NULL, NULL);
	sh = shell_new(&x, 80, 24, t_write, &o);
	shell_start(sh);
	shell_input(sh, "who", 3);
	t_reset(&o);
	shell_input(sh, "\t", 1);
	assert_string_equal(t_str(&o), "\007");
	assert_string_equal(sh->line.text, "who");
	shell_free(sh);
	t_reset(&o);
	cfg_free(c);
}

static void
test_colors_prompt(void **state)
{
	struct cfg *nc = t_cfg("", "colors = false\n");
	struct t_out o = { NULL, 0, 0 };
	struct shell_ctx x;
	struct shell *sh = NULL;

	(void)state;
	t_ctx(&x, nc, NULL, NULL);
	x.term = "xterm-256color";
	sh = shell_new(&x, 80, 24, t_write, &o);
	shell_start(sh);
	assert_non_null(strstr(t_str(&o), P));	/* user colors = false */
	shell_free(sh);
	t_reset(&o);
	cfg_free(nc);
	nc = t_cfg("", "");
	t_ctx(&x, nc, NULL, NULL);
	x.term = "xterm";
	sh = shell_new(&x, 80, 24, t_write, &o);
	shell_start(sh);
	assert_non_null(strstr(t_str(&o), "\033[1;32malice@h\033[0m:"
	    "\033[1;34m~\033[0m$ "));
	t_reset(&o);
	/* the cursor math ignores the colour sequences */
	shell_input(sh, "ab\002", 3);
	assert_string_equal(t_str(&o), "ab\033[D");
	shell_free(sh);
	t_reset(&o);
	x.term = "dumb";
	sh = shell_new(&x, 80, 24, t_write, &o);
	shell_start(sh);
	assert_null(strstr(t_str(&o), "\033["));
	shell_free(sh);
	t_reset(&o);
	cfg_free(nc);
}

/* ----- tokenizer ----- */

static void
tok_expect(const char *line, const char *const *want)
{
	struct shell_argv a;
	size_t i;

	assert_int_equal(shell__tokenize(line, strlen(line), &a), 0);
	for (i = 0; want[i] != NULL; i++) {
		assert_true(i < a.n);
		assert_string_equal(a.v[i], want[i]);
	}
	assert_int_equal(a.n, i);
	shell__argv_free(&a);
}

static void
test_tokenizer(void **state)
{
	(void)state;
	tok_expect("", (const char *[]){ NULL });
	tok_expect("   \t ", (const char *[]){ NULL });
	tok_expect("a b\tc", (const char *[]){ "a", "b", "c", NULL });
	tok_expect("'a b' \"c d\"", (const char *[]){ "a b", "c d", NULL });
	tok_expect("'it''s'", (const char *[]){ "its", NULL });
	tok_expect("x'y'\"z\"w", (const char *[]){ "xyzw", NULL });
	tok_expect("'\\n' \"a\\\"b\\\\c\\d\"", (const char *[]){ "\\n",
	    "a\"b\\c\\d", NULL });
	tok_expect("a\\ b \\'c \\\\", (const char *[]){ "a b", "'c", "\\",
	    NULL });
	tok_expect("'' \"\" x", (const char *[]){ "", "", "x", NULL });
	tok_expect("'unterminated here", (const char *[]){
	    "unterminated here", NULL });
	tok_expect("\"open", (const char *[]){ "open", NULL });
	tok_expect("trailing\\", (const char *[]){ "trailing\\", NULL });
	tok_expect("a | b > c ; d && e $X `f` *", (const char *[]){ "a",
	    "|", "b", ">", "c", ";", "d", "&&", "e", "$X", "`f`", "*",
	    NULL });
	tok_expect("echo a#b # comment", (const char *[]){ "echo", "a#b",
	    NULL });
	tok_expect("# all comment", (const char *[]){ NULL });
	tok_expect("'#' x", (const char *[]){ "#", "x", NULL });
	tok_expect("h\xc3\xa9llo \xe4\xb8\xad\xe6\x96\x87 '\xc3\xbc \xc3\xbc'",
	    (const char *[]){ "h\xc3\xa9llo", "\xe4\xb8\xad\xe6\x96\x87",
	    "\xc3\xbc \xc3\xbc", NULL });
}

static void
test_tokenizer_limits(void **state)
{
	struct shell_argv a;
	char line[SHELL_MAX_ARGS * 2 + 8];
	size_t i;

	(void)state;
	for (i = 0; i < SHELL_MAX_ARGS; i++) {
		line[2 * i] = 'x';
		line[2 * i + 1] = ' ';
	}
	assert_int_equal(shell__tokenize(line, 2 * SHELL_MAX_ARGS, &a), 0);
	assert_int_equal(a.n, SHELL_MAX_ARGS);
	shell__argv_free(&a);
	line[2 * SHELL_MAX_ARGS] = 'y';
	assert_int_equal(shell__tokenize(line, 2 * SHELL_MAX_ARGS + 1, &a),
	    ERR_TOO_LARGE);
	assert_int_equal(a.n, 0);
	/* NUL bytes separate words */
	assert_int_equal(shell__tokenize("a\0b", 3, &a), 0);
	assert_int_equal(a.n, 2);
	shell__argv_free(&a);
}

/* ----- virtual paths ----- */

static void
path_is(const struct shell_vfs *fs, const char *cwd, const char *arg,
    const char *want)
{
	char out[SHELL_PATH_MAX];

	assert_int_equal(shell__vfs_path(fs, cwd, arg, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_vfs(void **state)
{
	struct shell_vfs fs;
	const struct shell_vnode **kids = NULL;
	char small[8], *deep = NULL;
	size_t n;

	(void)state;
	shell__vfs_init(&fs, "al/ice", "h", "motd");
	assert_string_equal(fs.home, "/home/al_ice");
	path_is(&fs, "/", "etc", "/etc");
	path_is(&fs, "/etc", "..", "/");
	path_is(&fs, "/", "..", "/");
	path_is(&fs, "/", "../../..", "/");
	path_is(&fs, "/var/log", "../../etc/./passwd", "/etc/passwd");
	path_is(&fs, "/var", "/tmp/", "/tmp");
	path_is(&fs, "/var", "~", "/home/al_ice");
	path_is(&fs, "/var", "~/.ssh/..", "/home/al_ice");
	path_is(&fs, "/var", "~bob", "/var/~bob");
	path_is(&fs, "/var", "", "/var");
	path_is(&fs, "/", "a//b///c", "/a/b/c");
	assert_int_equal(shell__vfs_path(&fs, "/", "abcdefghij", small,
	    sizeof(small)), ERR_TOO_LARGE);
	deep = xmalloc(4 * SHELL_PATH_MAX);
	memset(deep, 'x', 4 * SHELL_PATH_MAX - 1);
	deep[4 * SHELL_PATH_MAX - 1] = '\0';
	assert_int_equal(shell__vfs_path(&fs, "/", deep, small,
	    sizeof(small)), ERR_TOO_LARGE);
	free(deep);
	assert_non_null(shell__vfs_find(&fs, "/etc/motd"));
	assert_null(shell__vfs_find(&fs, "/etc/shadow"));
	assert_string_equal(shell__vfs_base("/"), "/");
	assert_string_equal(shell__vfs_base("/a/b"), "b");
	n = shell__vfs_list(&fs, "/", &kids);
	assert_int_equal(n, 4);
	assert_string_equal(kids[0]->path, "/etc");
	assert_string_equal(kids[3]->path, "/var");
	free(kids);
	n = shell__vfs_list(&fs, "/etc/passwd", &kids);
	assert_int_equal(n, 0);
	free(kids);
	shell__vfs_cleanup(&fs);
}

static void
test_fmt(void **state)
{
	char b[64];
	char host[64];
	uint16_t port;

	(void)state;
	shell__fmt_bytes(0, b, sizeof(b));
	assert_string_equal(b, "0 B");
	shell__fmt_bytes(1023, b, sizeof(b));
	assert_string_equal(b, "1023 B");
	shell__fmt_bytes(1536, b, sizeof(b));
	assert_string_equal(b, "1.5 KB");
	shell__fmt_bytes(5ull << 40, b, sizeof(b));
	assert_string_equal(b, "5.0 TB");
	shell__fmt_rate(100, b, sizeof(b));
	assert_string_equal(b, "800 bps");
	shell__fmt_rate(1000, b, sizeof(b));
	assert_string_equal(b, "8.0 Kbps");
	shell__fmt_duration(42, b, sizeof(b));
	assert_string_equal(b, "42s");
	shell__fmt_duration(300, b, sizeof(b));
	assert_string_equal(b, "5m");
	shell__fmt_duration(303, b, sizeof(b));
	assert_string_equal(b, "5m 3s");
	shell__fmt_duration(2 * 3600 + 7 * 60 + 5, b, sizeof(b));
	assert_string_equal(b, "2h 7m");
	shell__fmt_duration(3 * 86400 + 4 * 3600, b, sizeof(b));
	assert_string_equal(b, "3d 4h");
	shell__fmt_time(0, b, sizeof(b));
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	assert_int_equal(shell__parse_target("a.b:1", 0, host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "a.b");
	assert_int_equal(port, 1);
	assert_int_equal(shell__parse_target("[::1]:65535", 0, host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);
	assert_int_equal(shell__parse_target("a:65536", 0, host,
	    sizeof(host), &port), ERR_INVAL);
	assert_int_equal(shell__parse_target("a:", 0, host, sizeof(host),
	    &port), ERR_INVAL);
	assert_int_equal(shell__parse_target(":80", 0, host, sizeof(host),
	    &port), ERR_INVAL);
	assert_int_equal(shell__parse_target("[::1", 0, host, sizeof(host),
	    &port), ERR_INVAL);
	assert_int_equal(shell__parse_target("[::1]x", 9, host, sizeof(host),
	    &port), ERR_INVAL);
	assert_int_equal(shell__parse_target("a/b:1", 0, host, sizeof(host),
	    &port), ERR_INVAL);
	assert_int_equal(shell__parse_target("host", 80, host, sizeof(host),
	    &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(shell__name_ok("a-b_c.d"), 1);
	assert_int_equal(shell__name_ok(""), 0);
	assert_int_equal(shell__name_ok("a b"), 0);
	assert_int_equal(shell__name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typing_echo),
		cmocka_unit_test(test_cursor_keys),
		cmocka_unit_test(test_deletion),
		cmocka_unit_test(test_ctrl_c_and_l),
		cmocka_unit_test(test_history_keys),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_prompt_after_partial_output),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_completion_perms),
		cmocka_unit_test(test_no_autocomplete),
		cmocka_unit_test(test_colors_prompt),
		cmocka_unit_test(test_tokenizer),
		cmocka_unit_test(test_tokenizer_limits),
		cmocka_unit_test(test_vfs),
		cmocka_unit_test(test_fmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

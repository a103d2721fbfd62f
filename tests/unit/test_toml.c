/*
 * Unit tests for the TOML parser: values, tables, lookups, positions in
 * messages, the depth and size bounds, and hostile input (truncation,
 * bit flips, NUL bytes, bad UTF-8, input ending at a guard page).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/toml.h"
#include "core/err.h"
#include "core/util.h"

static char errbuf[512];

/* Parses a NUL-terminated document; returns the code, root in *out. */
static int
parse(const char *doc, struct toml_value **out)
{
	return toml_parse(doc, strlen(doc), "t.toml", out, errbuf,
	    sizeof(errbuf));
}

/* Parses a document that must be valid and returns its root. */
static struct toml_value *
parse_ok(const char *doc)
{
	struct toml_value *root = NULL;
	int r = parse(doc, &root);

	if (r != 0) {
		fail_msg("unexpected error %d: %s", r, errbuf);
	}
	assert_non_null(root);
	assert_int_equal(root->type, TOML_TABLE);
	return root;
}

/* Asserts that doc is refused with code and a message at line:col. */
static void
parse_bad(const char *doc, int code, int line, int col)
{
	struct toml_value *root = NULL;
	char want[64];

	assert_int_equal(parse(doc, &root), code);
	assert_null(root);
	snprintf(want, sizeof(want), "t.toml:%d:%d: ", line, col);
	if (strncmp(errbuf, want, strlen(want)) != 0) {
		fail_msg("expected '%s...', got '%s'", want, errbuf);
	}
}

/* Returns the value at a path of keys, failing the test if absent. */
static const struct toml_value *
path(const struct toml_value *v, const char *k1, const char *k2)
{
	v = toml_get(v, k1);
	assert_non_null(v);
	if (k2 != NULL) {
		v = toml_get(v, k2);
		assert_non_null(v);
	}
	return v;
}

static void
test_scalars(void **state)
{
	struct toml_value *root = NULL;
	const struct toml_value *v = NULL;

	(void)state;
	root = parse_ok("s = \"a\\tb\\u00e9\"\nl = 'c:\\x'\n"
	    "h = 0xff\no = 0o17\nb = 0b101\nn = -1_000\n"
	    "max = 9223372036854775807\nmin = -9223372036854775808\n"
	    "f = 6.626e-34\ninf = -inf\nnan = +nan\nt = true\nF = false\n"
	    "odt = 1979-05-27T07:32:00.999-07:00\n"
	    "ldt = 1979-05-27 07:32:00\nld = 2000-02-29\nlt = 23:59:60.5\n");
	v = path(root, "s", NULL);
	assert_int_equal(v->type, TOML_STRING);
	assert_string_equal(v->u.str.ptr, "a\tb\xc3\xa9");
	assert_int_equal(v->u.str.len, 5);
	assert_string_equal(path(root, "l", NULL)->u.str.ptr, "c:\\x");
	assert_int_equal(path(root, "h", NULL)->u.i, 255);
	assert_int_equal(path(root, "o", NULL)->u.i, 15);
	assert_int_equal(path(root, "b", NULL)->u.i, 5);
	assert_int_equal(path(root, "n", NULL)->u.i, -1000);
	assert_true(path(root, "max", NULL)->u.i == INT64_MAX);
	assert_true(path(root, "min", NULL)->u.i == INT64_MIN);
	v = path(root, "f", NULL);
	assert_int_equal(v->type, TOML_FLOAT);
	assert_true(v->u.f == 6.626e-34);
	assert_true(isinf(path(root, "inf", NULL)->u.f));
	assert_true(path(root, "inf", NULL)->u.f < 0);
	assert_true(isnan(path(root, "nan", NULL)->u.f));
	assert_int_equal(path(root, "t", NULL)->u.b, 1);
	assert_int_equal(path(root, "F", NULL)->type, TOML_BOOL);
	assert_int_equal(path(root, "F", NULL)->u.b, 0);
	v = path(root, "odt", NULL);
	assert_int_equal(v->type, TOML_DATETIME);
	assert_int_equal(v->u.dt.year, 1979);
	assert_int_equal(v->u.dt.second, 0);
	assert_int_equal(v->u.dt.nanosecond, 999000000);
	assert_int_equal(v->u.dt.frac_digits, 3);
	assert_int_equal(v->u.dt.offset_minutes, -420);
	assert_int_equal(path(root, "ldt", NULL)->type, TOML_DATETIME_LOCAL);
	assert_int_equal(path(root, "ld", NULL)->type, TOML_DATE_LOCAL);
	v = path(root, "lt", NULL);
	assert_int_equal(v->type, TOML_TIME_LOCAL);
	assert_int_equal(v->u.dt.hour, 23);
	assert_int_equal(v->u.dt.nanosecond, 500000000);
	toml_free(root);

	/* A sign is not allowed on prefixed integers. */
	parse_bad("i = -0x10\n", ERR_PROTO, 1, 5);
}

static void
test_bad_scalars(void **state)
{
	(void)state;
	parse_bad("a = 9223372036854775808\n", ERR_PROTO, 1, 5);
	parse_bad("a = 1__0\n", ERR_PROTO, 1, 5);
	parse_bad("a = _1\n", ERR_PROTO, 1, 5);
	parse_bad("a = 01\n", ERR_PROTO, 1, 5);
	parse_bad("a = 1.\n", ERR_PROTO, 1, 5);
	parse_bad("a = .1\n", ERR_PROTO, 1, 5);
	parse_bad("a = 2021-02-29\n", ERR_PROTO, 1, 5);
	parse_bad("a = 2000-13-01\n", ERR_PROTO, 1, 5);
	parse_bad("a = 24:00:00\n", ERR_PROTO, 1, 5);
	parse_bad("a = 12:30\n", ERR_PROTO, 1, 5);
	parse_bad("a = \"\\e\"\n", ERR_PROTO, 1, 6);
	parse_bad("a = \"\\x41\"\n", ERR_PROTO, 1, 6);
	parse_bad("a = \"\\uD800\"\n", ERR_PROTO, 1, 6);
	parse_bad("a = \"abc\n", ERR_PROTO, 1, 9);
	parse_bad("a = TRUE\n", ERR_PROTO, 1, 5);
	parse_bad("a = {b = 1,}\n", ERR_PROTO, 1, 12);
	parse_bad("a = {b = 1,\nc = 2}\n", ERR_PROTO, 1, 12);
	parse_bad("a = \"\"\"x\"\"\"\"\"\"\n", ERR_PROTO, 1, 9);
}

static void
test_tables(void **state)
{
	struct toml_value *root = NULL;
	const struct toml_value *v = NULL;

	(void)state;
	root = parse_ok("top = 1\n[a.b]\nx = 1\n[a]\ny = 2\n"
	    "[a.b.c]\nz = 3\n[ \"q k\" . 'r' ]\nw = 4\n");
	assert_int_equal(root->u.tab.n, 3);
	assert_string_equal(root->u.tab.kv[0].key, "top");
	assert_string_equal(root->u.tab.kv[1].key, "a");
	assert_string_equal(root->u.tab.kv[2].key, "q k");
	assert_int_equal(path(path(root, "a", "b"), "x", NULL)->u.i, 1);
	assert_int_equal(path(root, "a", "y")->u.i, 2);
	v = path(root, "a", "b");
	assert_int_equal(path(v, "c", "z")->u.i, 3);
	assert_int_equal(path(path(root, "q k", "r"), "w", NULL)->u.i, 4);
	toml_free(root);

	parse_bad("[a]\n[a]\n", ERR_PROTO, 2, 2);
	parse_bad("[a.b]\n[a.b]\n", ERR_PROTO, 2, 4);
	parse_bad("a.b = 1\n[a]\n", ERR_PROTO, 2, 2);
	parse_bad("a = {}\n[a.b]\n", ERR_PROTO, 2, 2);
	parse_bad("a = 1\n[a.b]\n", ERR_PROTO, 2, 2);
	parse_bad("[a]\nb.c = 1\n[a.b]\n", ERR_PROTO, 3, 4);
	parse_bad("[a.b.c]\n[a]\nb.c.d = 1\n", ERR_PROTO, 3, 1);
	parse_bad("[]\n", ERR_PROTO, 1, 2);
	parse_bad("[a]]\n", ERR_PROTO, 1, 4);
}

static void
test_array_of_tables(void **state)
{
	struct toml_value *root = NULL;
	const struct toml_value *v = NULL;

	(void)state;
	root = parse_ok("[[p]]\nn = 1\n[p.sub]\nk = 'x'\n[[p]]\nn = 2\n"
	    "[[p.q]]\nm = 3\n");
	v = path(root, "p", NULL);
	assert_int_equal(v->type, TOML_ARRAY);
	assert_int_equal(v->u.arr.n, 2);
	assert_int_equal(path(v->u.arr.items[0], "n", NULL)->u.i, 1);
	assert_string_equal(path(v->u.arr.items[0], "sub", "k")->u.str.ptr,
	    "x");
	assert_int_equal(path(v->u.arr.items[1], "n", NULL)->u.i, 2);
	v = path(v->u.arr.items[1], "q", NULL);
	assert_int_equal(v->u.arr.n, 1);
	assert_int_equal(path(v->u.arr.items[0], "m", NULL)->u.i, 3);
	toml_free(root);

	parse_bad("a = [1]\n[[a]]\n", ERR_PROTO, 2, 3);
	parse_bad("[a]\n[[a]]\n", ERR_PROTO, 2, 3);
	parse_bad("[[a]]\n[a]\n", ERR_PROTO, 2, 2);
	parse_bad("a = [{}]\n[a.b]\n", ERR_PROTO, 2, 2);
}

static void
test_dotted_keys(void **state)
{
	struct toml_value *root = NULL;
	const struct toml_value *v = NULL;

	(void)state;
	root = parse_ok("a . b\t.\"c.d\" = 1\na.x = 2\n"
	    "t = { p.q = 1, p.r = 2 }\n3.14 = 'pi'\n");
	v = path(root, "a", "b");
	assert_int_equal(path(v, "c.d", NULL)->u.i, 1);
	assert_int_equal(path(root, "a", "x")->u.i, 2);
	assert_int_equal(path(path(root, "t", "p"), "r", NULL)->u.i, 2);
	assert_string_equal(path(root, "3", "14")->u.str.ptr, "pi");
	toml_free(root);

	parse_bad("a.b = 1\na.b.c = 2\n", ERR_PROTO, 2, 3);
	parse_bad("a = {b = 1}\na.c = 2\n", ERR_PROTO, 2, 1);
	parse_bad("a = {b = {c = 1}, b.d = 2}\n", ERR_PROTO, 1, 19);
	parse_bad("a.b = 1\na.b = 2\n", ERR_PROTO, 2, 3);
	parse_bad("\"\"\"k\"\"\" = 1\n", ERR_PROTO, 1, 1);
}

static void
test_get_and_names(void **state)
{
	struct toml_value *root = NULL;

	(void)state;
	root = parse_ok("a = 1\nb = [1]\n\"\" = 2\n");
	assert_null(toml_get(root, "zz"));
	assert_null(toml_get(path(root, "a", NULL), "a"));
	assert_null(toml_get(path(root, "b", NULL), "a"));
	assert_null(toml_get(NULL, "a"));
	assert_int_equal(path(root, "", NULL)->u.i, 2);
	assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
	assert_string_equal(toml_type_name(TOML_TABLE), "table");
	toml_free(root);
	toml_free(NULL);
}

static void
test_positions(void **state)
{
	struct toml_value *root = NULL;
	const struct toml_value *v = NULL;

	(void)state;
	root = parse_ok("# c\n\n  k = 'x'\n[t]\r\n\"\xc3\xa9\" = [1,\n  2]\n");
	v = path(root, "k", NULL);
	assert_int_equal(v->line, 3);
	assert_int_equal(v->col, 7);
	v = path(root, "t", NULL);
	assert_int_equal(v->line, 4);
	assert_int_equal(v->col, 2);
	toml_free(root);

	/* A bare non-ASCII key is refused; columns count characters. */
	parse_bad("# c\n\n[t]\r\n\xc3\xa9 = 1\n", ERR_PROTO, 4, 1);
	parse_bad("k = '\xc3\xa9\xc3\xa9' ?\n", ERR_PROTO, 1, 10);
	parse_bad("a = [\n1,\n2\n3]\n", ERR_PROTO, 4, 1);
	parse_bad("a = 1 b = 2\n", ERR_PROTO, 1, 7);
	parse_bad("a = 1\n\nb\n", ERR_PROTO, 3, 2);
}

/* Builds open + "1" + close repeated n times around a = ... */
static char *
nested(const char *open, const char *mid, const char *close, int n)
{
	size_t lo = strlen(open), lc = strlen(close), lm = strlen(mid);
	char *doc = xmalloc(4 + n * (lo + lc) + lm + 2), *q = doc;
	int i;

	memcpy(q, "a = ", 4);
	q += 4;
	for (i = 0; i < n; i++, q += lo) {
		memcpy(q, open, lo);
	}
	memcpy(q, mid, lm);
	q += lm;
	for (i = 0; i < n; i++, q += lc) {
		memcpy(q, close, lc);
	}
	*q++ = '\n';
	*q = '\0';
	return doc;
}

/* Checks that a [header] and a [[header]] with key path k are refused. */
static void
nested_header(const char *k)
{
	struct toml_value *root = NULL;
	char *doc = xasprintf("[%s]\n", k);

	assert_int_equal(parse(doc, &root), ERR_TOO_LARGE);
	assert_null(root);
	free(doc);
	doc = xasprintf("[[%s]]\n", k);
	assert_int_equal(parse(doc, &root), ERR_TOO_LARGE);
	free(doc);
}

static void
test_depth_bound(void **state)
{
	struct toml_value *root = NULL;
	char *doc = NULL;
	int n;

	(void)state;
	doc = nested("[", "1", "]", TOML_MAX_DEPTH - 1);
	root = parse_ok(doc);
	toml_free(root);
	free(doc);
	for (n = TOML_MAX_DEPTH + 1; n <= 100000; n *= 10) {
		doc = nested("[", "1", "]", n);
		assert_int_equal(parse(doc, &root), ERR_TOO_LARGE);
		assert_null(root);
		assert_non_null(strstr(errbuf, "deeper"));
		free(doc);
		doc = nested("{b=", "1", "}", n);
		assert_int_equal(parse(doc, &root), ERR_TOO_LARGE);
		free(doc);
		doc = nested("{b.c.d=[", "1", "]}", n);
		assert_int_equal(parse(doc, &root), ERR_TOO_LARGE);
		free(doc);
	}
	/* Long dotted keys and headers are bounded too. */
	doc = xmalloc(2 * 100000 + 16);
	for (n = 0; n < 100000; n++) {
		memcpy(doc + 2 * n, "x.", 2);
	}
	memcpy(doc + 2 * n, "x = 1\n", 7);
	assert_int_equal(parse(doc, &root), ERR_TOO_LARGE);
	assert_null(root);
	doc[2 * n] = '\0';
	nested_header(doc);
	free(doc);
}

static void
test_size_bound(void **state)
{
	struct toml_value *root = NULL;
	char *doc = xmalloc(TOML_MAX_DOC_SIZE + 2);

	(void)state;
	memset(doc, ' ', TOML_MAX_DOC_SIZE + 1);
	memcpy(doc, "a = 1 #", 7);
	assert_int_equal(toml_parse(doc, TOML_MAX_DOC_SIZE, "big", &root,
	    errbuf, sizeof(errbuf)), 0);
	assert_int_equal(path(root, "a", NULL)->u.i, 1);
	toml_free(root);
	root = NULL;
	assert_int_equal(toml_parse(doc, TOML_MAX_DOC_SIZE + 1, "big", &root,
	    errbuf, sizeof(errbuf)), ERR_TOO_LARGE);
	assert_null(root);
	assert_true(strncmp(errbuf, "big:1:1: ", 9) == 0);
	free(doc);
}

static const char *const samples[] = {
	"# conf\ntitle = \"T\\u00e9st\" # x\n[owner]\nname = 'Tom'\n"
	"dob = 1979-05-27T07:32:00-08:00\n[db]\nports = [ 8000, 8001, ]\n"
	"temp = { cpu = 79.5, case = 72.0 }\nok = true\n",
	"[[fruit]]\nname = \"apple\"\n[fruit.physical]\ncolor = \"red\"\n"
	"[[fruit.variety]]\nname = \"red delicious\"\n[[fruit]]\n"
	"name = \"banana\"\n",
	"s = \"\"\"\nline \\\n   one\"\"\"\nr = '''\n\\raw''\n'''\n"
	"t = 07:32:00.123456789\nh = 0xdead_beef\ne = -1_0.5e+1_0\n"
	"a.\"b\".c = [[1, 2], ['x'], [{ y = 1979-05-27 }]]\n",
};

static void
test_truncations(void **state)
{
	struct toml_value *root = NULL;
	size_t i, n, len;
	char *copy = NULL;
	int r;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		len = strlen(samples[i]);
		root = parse_ok(samples[i]);
		toml_free(root);
		for (n = 0; n < len; n++) {
			/* An exact-size heap copy lets ASan catch overreads. */
			copy = xmalloc(n == 0 ? 1 : n);
			memcpy(copy, samples[i], n);
			errbuf[0] = '\0';
			r = toml_parse(copy, n, "t", &root, errbuf,
			    sizeof(errbuf));
			if (r == 0) {
				assert_non_null(root);
			} else {
				assert_int_equal(r, ERR_PROTO);
				assert_null(root);
				assert_true(strncmp(errbuf, "t:", 2) == 0);
			}
			toml_free(root);
			root = NULL;
			free(copy);
		}
	}
}

static void
test_bit_flips(void **state)
{
	struct toml_value *root = NULL;
	size_t i, n, len;
	char *copy = NULL;
	int bit, r, ok = 0, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		len = strlen(samples[i]);
		copy = xmalloc(len);
		for (n = 0; n < len; n++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(copy, samples[i], len);
				copy[n] ^= (char)(1 << bit);
				r = toml_parse(copy, len, "t", &root, errbuf,
				    sizeof(errbuf));
				assert_true(r == 0 || r == ERR_PROTO);
				assert_true((r == 0) == (root != NULL));
				r == 0 ? ok++ : bad++;
				toml_free(root);
				root = NULL;
			}
		}
		free(copy);
	}
	/* Both outcomes must occur, or the loop tests nothing. */
	assert_true(ok > 0 && bad > 0);
}

static void
test_encoding(void **state)
{
	static const struct {
		const char	*doc;
		size_t		 len;
	} bad[] = {
		{ "a = \"x\0y\"\n", 10 },
		{ "a = 1 # \0\n", 10 },
		{ "a = \"\xc0\x80\"\n", 9 },		/* overlong */
		{ "a = \"\xe0\x80\xaf\"\n", 10 },	/* overlong */
		{ "a = \"\xed\xa0\x80\"\n", 10 },	/* surrogate */
		{ "a = \"\xf4\x90\x80\x80\"\n", 11 },	/* > U+10FFFF */
		{ "a = \"\xc3\"\n", 8 },		/* truncated */
		{ "a = \"\xff\"\n", 8 },
		{ "a = 'x\ry'\n", 10 },			/* lone CR */
		{ "a = 'x\x7fy'\n", 10 },		/* DEL */
		{ "a = 1\x0c\n", 7 },			/* form feed */
		{ "\xfe\xff\0a", 4 },			/* UTF-16 BOM */
	};
	struct toml_value *root = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(toml_parse(bad[i].doc, bad[i].len, "t", &root,
		    errbuf, sizeof(errbuf)), ERR_PROTO);
		assert_null(root);
	}
	/* \u0000 is a legal escape: the string keeps its NUL byte. */
	root = parse_ok("\xef\xbb\xbf" "a = \"x\\u0000y\\U0001F600\"\n");
	assert_int_equal(path(root, "a", NULL)->u.str.len, 7);
	assert_memory_equal(path(root, "a", NULL)->u.str.ptr,
	    "x\0y\xf0\x9f\x98\x80", 8);
	toml_free(root);
}

/* Parses doc placed so that its last byte is the last readable byte. */
static int
parse_at_guard(char *page, long psz, const char *doc)
{
	struct toml_value *root = NULL;
	size_t n = strlen(doc);
	char *at = page + psz - n;
	int r;

	memcpy(at, doc, n);
	r = toml_parse(at, n, "g", &root, errbuf, sizeof(errbuf));
	assert_true((r == 0) == (root != NULL));
	toml_free(root);
	return r;
}

static void
test_guard_page(void **state)
{
	static const char *const docs[] = {
		"a = 1", "a = 12345", "a = -inf", "a = true", "a = tru",
		"a = \"abc", "a = \"abc\\", "a = \"\\u12", "a = '''x''",
		"a = \"\"\"x\"\"", "a = 1979-05-27T07:32", "a = 1979-05-27",
		"a = 07:32:00.", "a = 1979-05-27T07:32:00+07:0", "[a.b",
		"[[a]", "a = [1,", "a = {b = 1", "a.b", "a = 0x1F", "# x",
		"a = 1\r", "\xc3", "a = \"\xe2\x82", "a = 1979-05-27 ",
	};
	long psz = sysconf(_SC_PAGESIZE);
	char *map = NULL;
	size_t i;
	int ok = 0;

	(void)state;
	map = mmap(NULL, 2 * psz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + psz, psz, PROT_NONE), 0);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (parse_at_guard(map, psz, docs[i]) == 0) {
			ok++;
		}
	}
	assert_int_equal(ok, 8);
	munmap(map, 2 * psz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_bad_scalars),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_array_of_tables),
		cmocka_unit_test(test_dotted_keys),
		cmocka_unit_test(test_get_and_names),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_guard_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

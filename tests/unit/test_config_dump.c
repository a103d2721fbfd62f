/* Unit tests: effective-config dump, redaction, round trip, docs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "config/config_int.h"
#include "test_config_util.h"

static const char *const secrets[] = {
	"a-very-secret-api-token-1234", "proxypass", "alicepw",
	"webhook-signing-secret", "JBSWY3DPEHPK3PXP", "c29tZXNhbHRz",
};

/* Loads tests/data/original-full.toml with pending keys allowed. */
static struct cfg *
full(void)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;

	memset(&ov, 0, sizeof(ov));
	ov.config_path = "tests/data/original-full.toml";
	ov.allow_pending = 1;
	cfg_diag_init(&d);
	assert_int_equal(cfg_load(&ov, &c, &d), 0);
	cfg_diag_cleanup(&d);
	return c;
}

/* Dumps c to a heap string. */
static char *
dump(const struct cfg *c, enum cfg_format fmt, int redact)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(cfg_dump(c, fmt, redact, f), 0);
	fclose(f);
	return buf;
}

static void
test_redaction(void **state)
{
	struct cfg *c = full();
	char *t = dump(c, CFG_FMT_TOML, 1), *j = dump(c, CFG_FMT_JSON, 1);
	char *tu = dump(c, CFG_FMT_TOML, 0), *ju = dump(c, CFG_FMT_JSON, 0);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_null(strstr(t, secrets[i]));
		assert_null(strstr(j, secrets[i]));
		assert_non_null(strstr(tu, secrets[i]));
		assert_non_null(strstr(ju, secrets[i]));
	}
	assert_non_null(strstr(t, "password_hash = \"***\""));
	assert_non_null(strstr(t, "url = \"socks5://***@upstream.example.com"
	    ":1080\""));
	assert_non_null(strstr(j, "\"token\": \"***\""));
	free(t);
	free(j);
	free(tu);
	free(ju);
	cfg_free(c);
}

/* Dump -> load -> dump gives the same text. */
static void
round_trip(struct cfg *c, int allow_pending)
{
	struct cfg_diag d;
	struct cfg *c2 = NULL;
	char *t1 = dump(c, CFG_FMT_TOML, 0), *t2 = NULL;

	c2 = load(t1, allow_pending, &d);
	if (c2 == NULL) {
		show(&d);
		fprintf(stderr, "%s", t1);
	}
	assert_non_null(c2);
	t2 = dump(c2, CFG_FMT_TOML, 0);
	assert_string_equal(strchr(t1, '\n'), strchr(t2, '\n'));
	free(t1);
	free(t2);
	cfg_free(c2);
	cfg_diag_cleanup(&d);
}

static void
test_round_trip_full(void **state)
{
	struct cfg *c = full();

	(void)state;
	round_trip(c, 1);
	cfg_free(c);
}

static void
test_round_trip_minimal(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[logging]\nlevel = \"warn\"\n", "");
	char *out = NULL;

	(void)state;
	c = load(t, 0, &d);
	assert_non_null(c);
	out = dump(c, CFG_FMT_TOML, 0);
	/* Pending keys appear commented out, so the dump loads again. */
	assert_non_null(strstr(out, "\nmax_auth_attempts = 3\n"));
	assert_non_null(strstr(out, "\nssh_keepalive_max = 3\n"));
	assert_non_null(strstr(out, "\nargon2_time_cost = 2\n"));
	assert_non_null(strstr(out, "\nmax_connections = 1000\n"));
	assert_non_null(strstr(out, "\n[shell]\nhostname = "));
	assert_non_null(strstr(out, "\nautocomplete = true\n"));
	assert_non_null(strstr(out, "\nlevel = \"warn\"\n"));
	round_trip(c, 0);
	free(out);
	free(t);
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

static void
test_json_shape(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("", "max_connections = 0\n"), *j = NULL;
	json_t *root = NULL, *u = NULL;
	json_error_t err;

	(void)state;
	c = load(t, 1, &d);
	assert_non_null(c);
	j = dump(c, CFG_FMT_JSON, 1);
	root = json_loads(j, 0, &err);
	assert_non_null(root);
	assert_true(json_is_null(json_object_get(json_object_get(root,
	    "server"), "socks5_listen")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    root, "limits"), "max_connections")), 1000);
	u = json_array_get(json_object_get(root, "users"), 0);
	assert_string_equal(json_string_value(json_object_get(u, "username")),
	    "alice");
	assert_int_equal(json_integer_value(json_object_get(u,
	    "max_connections")), 0);
	assert_true(json_is_null(json_object_get(u, "group")));
	assert_string_equal(json_string_value(json_object_get(u,
	    "password_hash")), "***");
	assert_true(json_is_object(json_object_get(json_object_get(root,
	    "persistence"), "state")));
	json_decref(root);
	free(j);
	free(t);
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

static void
test_dump_escapes(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc("[motd]\ntemplate = \"a\\\"b\\\\c\\nd\\u0001\"\n", "");

	(void)state;
	c = load(t, 1, &d);
	assert_non_null(c);
	round_trip(c, 1);
	assert_string_equal(c->motd.template, "a\"b\\c\nd\001");
	free(t);
	cfg_free(c);
	cfg_diag_cleanup(&d);
}

/* Reads a whole file. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Checks every key below s is listed as `path` in the document. */
static size_t
check_doc(const char *md, const struct cfg__sect *s, const char *upath)
{
	char *p = NULL, *q = NULL;
	size_t i, n = 0;

	for (i = 0; i < s->nkeys; i++) {
		p = upath[0] != '\0' ? xasprintf("%s.%s", upath, s->keys[i].name) :
		    xstrdup(s->keys[i].name);
		if (s->keys[i].type == CK_TABLE || s->keys[i].type == CK_ARRAY) {
			n += check_doc(md, s->keys[i].sub, p);
		} else {
			q = xasprintf("`%s`", p);
			if (strstr(md, q) == NULL) {
				fail_msg("docs/CONFIG.md does not list %s", q);
			}
			free(q);
			n++;
		}
		free(p);
	}
	return n;
}

static void
test_docs_list_every_key(void **state)
{
	char *md = slurp("docs/CONFIG.md");

	(void)state;
	assert_true(check_doc(md, &cfg__root, "") > 200);
	free(md);
}

static void
test_doc_markdown(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_int_equal(cfg_doc_markdown(f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "| `server.ssh_listen` | string? | unset "
	    "| `SKS5_SSH_LISTEN` | implemented |"));
	assert_non_null(strstr(buf, "| `server.ssh_keepalive_max` | u32 | `3` "
	    "| `SKS5_SSH_KEEPALIVE_MAX` | implemented |"));
	assert_non_null(strstr(buf, "| `security.argon2_time_cost` | u32 | "
	    "`2` | `SKS5_ARGON2_TIME_COST` | implemented |"));
	assert_non_null(strstr(buf, "| `logging.level` | enum (`trace`"));
	assert_non_null(strstr(buf, "(range 10..600)"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_minimal),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_dump_escapes),
		cmocka_unit_test(test_docs_list_every_key),
		cmocka_unit_test(test_doc_markdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

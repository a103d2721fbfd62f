/*
 * Unit tests of the CLI's pure parts: the option parser (every global option
 * form, before and after the subcommand, environment variables, --set
 * accumulation, usage errors, suggestions), the small validators and the
 * texts generated from the command table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_int.h"
#include "config/config.h"
#include "core/err.h"

#define MAXARGS	32

/* argv built from string literals; strings are heap copies (the parser may
 * hand out writable pointers into them). */
struct argvec {
	int	 argc;
	char	*argv[MAXARGS + 1];
};

static void
vec_init(struct argvec *v, va_list ap)
{
	const char *s = NULL;

	memset(v, 0, sizeof(*v));
	v->argv[v->argc++] = strdup("sks5");
	while ((s = va_arg(ap, const char *)) != NULL && v->argc < MAXARGS) {
		v->argv[v->argc++] = strdup(s);
	}
}

static void
vec_free(struct argvec *v)
{
	int i;

	for (i = 0; i < v->argc; i++) {
		free(v->argv[i]);
	}
}

/* Parses the NULL-terminated arguments with environment env. */
static int
parse_env(struct argvec *v, struct cli_args *a, char **env, ...)
{
	va_list ap;

	va_start(ap, env);
	vec_init(v, ap);
	va_end(ap);
	return cli__parse(v->argc, v->argv, env, a);
}

#define PARSE(v, a, ...)	parse_env((v), (a), NULL, __VA_ARGS__, NULL)
#define DONE(v, a)		do { cli__args_cleanup(a); vec_free(v); } \
				while (0)

static void
test_no_args(void **state)
{
	struct argvec v;
	struct cli_args a;

	(void)state;
	assert_int_equal(parse_env(&v, &a, NULL, NULL), 0);
	assert_null(a.cmd);
	assert_null(a.config);
	assert_int_equal(a.config_explicit, 0);
	assert_int_equal(a.force_env, 0);
	assert_int_equal(a.nsets, 0);
	DONE(&v, &a);
}

static void
test_config_forms(void **state)
{
	static const char *forms[][3] = {
		{ "-c", "a.toml", NULL },
		{ "--config", "a.toml", NULL },
		{ "--config=a.toml", NULL, NULL },
		{ "-ca.toml", NULL, NULL },
	};
	struct argvec v;
	struct cli_args a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		/* before the subcommand */
		assert_int_equal(parse_env(&v, &a, NULL, forms[i][0],
		    forms[i][1], forms[i][1] ? "check-config" : NULL, NULL),
		    0);
		if (forms[i][1] == NULL) {
			DONE(&v, &a);
			assert_int_equal(parse_env(&v, &a, NULL, forms[i][0],
			    "check-config", NULL), 0);
		}
		assert_non_null(a.cmd);
		assert_string_equal(a.cmd->name, "check-config");
		assert_string_equal(a.config, "a.toml");
		assert_int_equal(a.config_explicit, 1);
		DONE(&v, &a);
		/* after the subcommand */
		assert_int_equal(parse_env(&v, &a, NULL, "check-config",
		    forms[i][0], forms[i][1], NULL), 0);
		assert_string_equal(a.cmd->name, "check-config");
		assert_string_equal(a.config, "a.toml");
		assert_int_equal(a.config_explicit, 1);
		DONE(&v, &a);
	}
}

static void
test_globals_all(void **state)
{
	struct argvec v;
	struct cli_args a;
	struct cfg_overrides ov;
	char *env[] = { "X=1", NULL };

	(void)state;
	assert_int_equal(PARSE(&v, &a, "--log-level", "debug", "show-config",
	    "--force-env", "--data-dir=/var/lib/sks5", "--ssh-listen",
	    "127.0.0.1:2200", "--format", "json"), 0);
	assert_string_equal(a.cmd->name, "show-config");
	assert_string_equal(a.log_level, "debug");
	assert_int_equal(a.force_env, 1);
	assert_string_equal(a.data_dir, "/var/lib/sks5");
	assert_string_equal(a.ssh_listen, "127.0.0.1:2200");
	assert_string_equal(cli__opt(&a, "format"), "json");
	cli__overrides(&a, env, &ov);
	assert_null(ov.config_path);
	assert_int_equal(ov.config_explicit, 0);
	assert_int_equal(ov.force_env, 1);
	assert_string_equal(ov.data_dir, "/var/lib/sks5");
	assert_string_equal(ov.ssh_listen, "127.0.0.1:2200");
	assert_string_equal(ov.log_level, "debug");
	assert_ptr_equal(ov.envp, env);
	DONE(&v, &a);
}

static void
test_set_accumulates(void **state)
{
	struct argvec v;
	struct cli_args a;
	struct cfg_overrides ov;

	(void)state;
	assert_int_equal(PARSE(&v, &a, "--set", "limits.max_connections=5",
	    "check-config", "--set=logging.level=debug", "--set",
	    "server.banner=a=b"), 0);
	assert_int_equal(a.nsets, 3);
	assert_string_equal(a.sets[0], "limits.max_connections=5");
	assert_string_equal(a.sets[1], "logging.level=debug");
	assert_string_equal(a.sets[2], "server.banner=a=b");
	cli__overrides(&a, NULL, &ov);
	assert_int_equal(ov.nsets, 3);
	assert_string_equal(ov.sets[2], "server.banner=a=b");
	DONE(&v, &a);
}

/* Each argument list must be a usage error whose message contains want. */
static void
expect_usage(const char *want, ...)
{
	struct argvec v;
	struct cli_args a;
	va_list ap;

	va_start(ap, want);
	vec_init(&v, ap);
	va_end(ap);
	assert_int_equal(cli__parse(v.argc, v.argv, NULL, &a), ERR_INVAL);
	if (strstr(a.err, want) == NULL) {
		fail_msg("message '%s' lacks '%s'", a.err, want);
	}
	DONE(&v, &a);
}

static void
test_usage_errors(void **state)
{
	(void)state;
	expect_usage("--set needs KEY=VALUE", "--set", "novalue", NULL);
	expect_usage("--set needs KEY=VALUE", "--set", "=x", NULL);
	expect_usage("needs a value", "--set", NULL);
	expect_usage("needs a value", "-c", NULL);
	expect_usage("needs a value", "check-config", "--config", NULL);
	expect_usage("non-empty", "--config=", NULL);
	expect_usage("non-empty", "--data-dir", "", NULL);
	expect_usage("unknown option '--bogus'", "--bogus", NULL);
	expect_usage("unknown option '--bogus'", "init", "--bogus=1", NULL);
	expect_usage("unknown option '-x'", "-x", NULL);
	expect_usage("unknown option '-p'", "init", "-p", "pw", NULL);
	expect_usage("invalid value 'loud'", "--log-level", "loud", NULL);
	expect_usage("invalid value 'yaml'", "show-config", "--format",
	    "yaml", NULL);
	expect_usage("invalid value 'huge'", "init", "--preset=huge", NULL);
	expect_usage("takes no value", "--force-env=1", NULL);
	expect_usage("takes no value", "init", "--force=yes", NULL);
	expect_usage("belongs after", "--format", "json", "show-config",
	    NULL);
	expect_usage("unexpected argument 'x'", "check-config", "x", NULL);
	expect_usage("unexpected argument 'b'", "generate-totp", "a", "b",
	    NULL);
	expect_usage("missing argument SHELL", "completions", NULL);
	expect_usage("invalid SHELL 'tcsh'", "completions", "tcsh", NULL);
	expect_usage("unexpected argument", "completions", "bash", "zsh",
	    NULL);
	expect_usage("unknown command 'nope'", "help", "nope", NULL);
}

static void
test_unknown_commands(void **state)
{
	(void)state;
	expect_usage("did you mean 'check-config'", "chek-config", NULL);
	expect_usage("did you mean 'check-config'", "check-confg", NULL);
	expect_usage("did you mean 'show-config'", "show", NULL);
	expect_usage("did you mean 'hash-password'", "hash-pasword", NULL);
	expect_usage("did you mean 'init'", "inti", NULL);
	expect_usage("did you mean 'generate-totp'", "help", "generate-totb",
	    NULL);
	/* Later subcommands are not accepted in this build. */
	expect_usage("unknown command 'wizard'", "wizard", NULL);
	expect_usage("unknown command 'demo'", "demo", NULL);
	expect_usage("unknown command 'backup'", "backup", NULL);
	expect_usage("unknown command 'restore'", "restore", NULL);
	assert_null(cli__suggest("xyzzy"));
	assert_null(cli__suggest("wizard"));
	assert_null(cli__suggest(""));
}

static void
test_env(void **state)
{
	struct argvec v;
	struct cli_args a;
	char *env1[] = { "SKS5_CONFIG=/etc/sks5.toml", "SKS5_FORCE_ENV=YES",
	    "SKS5_DATA_DIR=/d", "SKS5_CONFIGX=nope", NULL };
	char *env2[] = { "SKS5_CONFIG=", "SKS5_FORCE_ENV=", NULL };
	char *env3[] = { "SKS5_FORCE_ENV=on", NULL };
	static const char *yes[] = { "true", "TRUE", "1", "yes", "Yes" };
	static const char *no[] = { "false", "False", "0", "no", "NO" };
	char buf[64], *env4[] = { buf, NULL };
	size_t i;

	(void)state;
	assert_int_equal(parse_env(&v, &a, env1, NULL), 0);
	assert_string_equal(a.config, "/etc/sks5.toml");
	assert_int_equal(a.config_explicit, 1);
	assert_int_equal(a.force_env, 1);
	assert_string_equal(a.data_dir, "/d");
	DONE(&v, &a);
	/* the command line wins over the environment */
	assert_int_equal(parse_env(&v, &a, env1, "--data-dir", "/e", "-c",
	    "b.toml", NULL), 0);
	assert_string_equal(a.config, "b.toml");
	assert_string_equal(a.data_dir, "/e");
	DONE(&v, &a);
	/* empty means unset */
	assert_int_equal(parse_env(&v, &a, env2, NULL), 0);
	assert_null(a.config);
	assert_int_equal(a.config_explicit, 0);
	assert_int_equal(a.force_env, 0);
	DONE(&v, &a);
	assert_int_equal(parse_env(&v, &a, env3, NULL), ERR_INVAL);
	assert_non_null(strstr(a.err, "SKS5_FORCE_ENV"));
	DONE(&v, &a);
	for (i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "SKS5_FORCE_ENV=%s", yes[i]);
		assert_int_equal(parse_env(&v, &a, env4, NULL), 0);
		assert_int_equal(a.force_env, 1);
		DONE(&v, &a);
		snprintf(buf, sizeof(buf), "SKS5_FORCE_ENV=%s", no[i]);
		assert_int_equal(parse_env(&v, &a, env4, NULL), 0);
		assert_int_equal(a.force_env, 0);
		DONE(&v, &a);
	}
	/* --force-env still turns it on when the variable says no */
	assert_int_equal(parse_env(&v, &a, env4, "--force-env", NULL), 0);
	assert_int_equal(a.force_env, 1);
	DONE(&v, &a);
}

static void
test_help_version(void **state)
{
	struct argvec v;
	struct cli_args a;

	(void)state;
	assert_int_equal(PARSE(&v, &a, "-h"), 0);
	assert_int_equal(a.help, 1);
	assert_null(a.cmd);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "--help", "init"), 0);
	assert_int_equal(a.help, 1);
	assert_string_equal(a.cmd->name, "init");
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "ssh-config", "-h"), 0);
	assert_int_equal(a.help, 1);
	DONE(&v, &a);
	/* --help skips the checks for required arguments */
	assert_int_equal(PARSE(&v, &a, "completions", "--help"), 0);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "-hV"), 0);
	assert_int_equal(a.help, 1);
	assert_int_equal(a.version, 1);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "manpage", "--version"), 0);
	assert_int_equal(a.version, 1);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "help", "init"), 0);
	assert_string_equal(a.pos[0], "init");
	DONE(&v, &a);
}

static void
test_command_options(void **state)
{
	struct argvec v;
	struct cli_args a;

	(void)state;
	assert_int_equal(PARSE(&v, &a, "init", "-o", "x.toml", "--username",
	    "bob", "--password=-secret", "--preset", "dev", "--force"), 0);
	assert_string_equal(cli__opt(&a, "output"), "x.toml");
	assert_string_equal(cli__opt(&a, "username"), "bob");
	assert_string_equal(cli__opt(&a, "password"), "-secret");
	assert_string_equal(cli__opt(&a, "preset"), "dev");
	assert_non_null(cli__opt(&a, "force"));
	assert_null(cli__opt(&a, "nonexistent"));
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "init", "-ox.toml"), 0);
	assert_string_equal(cli__opt(&a, "output"), "x.toml");
	assert_null(cli__opt(&a, "force"));
	DONE(&v, &a);
	/* values starting with '-' are taken verbatim after an option */
	assert_int_equal(PARSE(&v, &a, "hash-password", "-p", "--x"), 0);
	assert_string_equal(cli__opt(&a, "password"), "--x");
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "hash-password", "-pabc", "-c", "f"),
	    0);
	assert_string_equal(cli__opt(&a, "password"), "abc");
	assert_string_equal(a.config, "f");
	DONE(&v, &a);
	/* the last of a repeated option wins */
	assert_int_equal(PARSE(&v, &a, "show-config", "--format", "json",
	    "--format=toml"), 0);
	assert_string_equal(cli__opt(&a, "format"), "toml");
	DONE(&v, &a);
	/* "--" ends the options */
	assert_int_equal(PARSE(&v, &a, "generate-totp", "--", "-alice"), 0);
	assert_string_equal(a.pos[0], "-alice");
	assert_null(cli__opt(&a, "username"));
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "--", "check-config"), 0);
	assert_string_equal(a.cmd->name, "check-config");
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "completions", "fish"), 0);
	assert_string_equal(a.pos[0], "fish");
	DONE(&v, &a);
	/* no subcommand options without a subcommand */
	assert_int_equal(PARSE(&v, &a, "-c", "x"), 0);
	assert_null(cli__opt(&a, "format"));
	DONE(&v, &a);
}

static void
test_hostile(void **state)
{
	struct argvec v;
	struct cli_args a;
	char *big = malloc(20000);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 19999);
	big[0] = big[1] = '-';
	big[19999] = '\0';
	assert_int_equal(parse_env(&v, &a, NULL, big, NULL), ERR_INVAL);
	assert_true(strlen(a.err) < sizeof(a.err));
	assert_non_null(strstr(a.err, "unknown option"));
	DONE(&v, &a);
	big[0] = 'y';
	assert_int_equal(parse_env(&v, &a, NULL, big, NULL), ERR_INVAL);
	DONE(&v, &a);
	assert_int_equal(parse_env(&v, &a, NULL, "--set", big, NULL),
	    ERR_INVAL);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "\xff\xfe", "-"), ERR_INVAL);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "---"), ERR_INVAL);
	DONE(&v, &a);
	assert_int_equal(PARSE(&v, &a, "--="), ERR_INVAL);
	DONE(&v, &a);
	free(big);
}

static void
test_distance_and_find(void **state)
{
	(void)state;
	assert_int_equal(cli__distance("", ""), 0);
	assert_int_equal(cli__distance("abc", "abc"), 0);
	assert_int_equal(cli__distance("abc", "abd"), 1);
	assert_int_equal(cli__distance("abc", ""), 3);
	assert_int_equal(cli__distance("kitten", "sitting"), 3);
	assert_int_equal(cli__distance("init", "inti"), 2);
	assert_non_null(cli__find_cmd("manpage"));
	assert_null(cli__find_cmd("Manpage"));
	assert_null(cli__find_cmd(""));
}

static void
test_parse_uint(void **state)
{
	unsigned long v = 9;

	(void)state;
	assert_int_equal(cli__parse_uint("1", 1, 65535, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cli__parse_uint("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(cli__parse_uint("0", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(v, 0);
	assert_int_equal(cli__parse_uint("65536", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint("-1", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint("+1", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint(" 1", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint("1x", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint("", 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint(NULL, 1, 65535, &v), ERR_INVAL);
	assert_int_equal(cli__parse_uint("99999999999999999999999", 0,
	    (unsigned long)-1, &v), ERR_INVAL);
}

static void
test_safe_token(void **state)
{
	(void)state;
	assert_true(cli__safe_token("alice"));
	assert_true(cli__safe_token("bastion.example.com"));
	assert_true(cli__safe_token("2001:db8::1"));
	assert_false(cli__safe_token(""));
	assert_false(cli__safe_token(NULL));
	assert_false(cli__safe_token("a b"));
	assert_false(cli__safe_token("a\tb"));
	assert_false(cli__safe_token("a\nProxyCommand x"));
	assert_false(cli__safe_token("a\"b"));
	assert_false(cli__safe_token("a#b"));
	assert_false(cli__safe_token("a\x7f"));
}

/* Runs a generator into a memory stream and returns the text. */
static char *
capture(int which, const char *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	if (which == 0) {
		assert_int_equal(cli__completions(arg, f), 0);
	} else if (which == 1) {
		cli__manpage(f);
	} else {
		cli__print_help(f);
	}
	assert_int_equal(fclose(f), 0);
	return text;
}

static void
test_generated_texts(void **state)
{
	static const char *shells[] = { "bash", "zsh", "fish", "help", "man" };
	const struct cli_cmd *c = NULL;
	char *t = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		t = capture(i < 3 ? 0 : (i == 4 ? 1 : 2), shells[i]);
		for (c = cli__cmds; c->name != NULL; c++) {
			if (i == 4) {
				continue;	/* roff escapes '-' */
			}
			if (strstr(t, c->name) == NULL) {
				fail_msg("%s lacks %s", shells[i], c->name);
			}
		}
		assert_non_null(strstr(t, "quick"));
		assert_null(strstr(t, "wizard"));
		free(t);
	}
	t = capture(1, NULL);
	assert_non_null(strstr(t, ".SH NAME\n"));
	assert_non_null(strstr(t, ".SH SYNOPSIS\n"));
	assert_non_null(strstr(t, ".SH GLOBAL OPTIONS\n"));
	assert_non_null(strstr(t, ".SH COMMANDS\n"));
	assert_non_null(strstr(t, ".SH ENVIRONMENT\n"));
	assert_non_null(strstr(t, "SKS5_FORCE_ENV"));
	assert_non_null(strstr(t, ".SH EXIT STATUS\n"));
	assert_non_null(strstr(t, "check\\-config"));
	free(t);
	t = capture(0, "bash");
	assert_non_null(strstr(t, "complete -F _sks5 sks5"));
	assert_non_null(strstr(t, "bastion proxy dev"));
	free(t);
	assert_int_equal(cli__completions("tcsh", stdout), ERR_INVAL);
	assert_int_equal(cli__completions(NULL, stdout), ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_args),
		cmocka_unit_test(test_config_forms),
		cmocka_unit_test(test_globals_all),
		cmocka_unit_test(test_set_accumulates),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_unknown_commands),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_command_options),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_distance_and_find),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_safe_token),
		cmocka_unit_test(test_generated_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

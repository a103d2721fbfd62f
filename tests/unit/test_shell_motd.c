/* Unit tests of the MOTD: every variable, permissions, colours, the
 * built-in box, overrides, and the check-config warning. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_shell_util.h"
#include "shell/shell_int.h"

/* Renders alice's MOTD of a config (colors as asked). */
static char *
render(const char *pre, const char *alice, int colors, struct t_ops *t)
{
	struct cfg *c = t_cfg(pre, alice);
	struct shell_ops ops;
	struct t_ops local;
	struct shell_ctx x;
	char *m = NULL;

	assert_non_null(c);
	if (t == NULL) {
		t = &local;
		t_ops_init(t, &ops);
	} else {
		struct shell_stats keep = t->stats;

		t_ops_init(t, &ops);
		t->stats = keep;
	}
	t_ctx(&x, c, &ops, NULL);
	x.last_login = 86400;
	x.term = colors ? "xterm" : NULL;
	m = shell_motd_render(&x);
	cfg_free(c);
	return m;
}

static void
test_variables(void **state)
{
	struct t_ops t;
	char *m = NULL;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.stats.active = 2;
	t.stats.bytes_day = 2048;
	t.stats.uptime_s = 90;
	m = render("[motd]\ntemplate = \"u={user} a={auth_method} "
	    "s={source_ip} c={connections} p={acl_policy} al={allowed} "
	    "de={denied} e={expires_at} bu={bandwidth_used} "
	    "bl={bandwidth_limit} ll={last_login} up={uptime} v={version} "
	    "g={group} r={role} h={hostname} x={unknown} {Upper} {a-b} {}\"\n"
	    "[acl]\nallow = [\"a.test:443\", \"10.0.0.0/8:*\"]\n"
	    "[[groups]]\nname = \"staff\"\n",
	    "group = \"staff\"\nrole = \"admin\"\n"
	    "expires_at = \"2031-02-03T04:05:06Z\"\n"
	    "[users.quotas]\ndaily_bandwidth_bytes = 1048576\n", 0, &t);
	assert_string_equal(m, "u=alice a=password s=192.0.2.7 c=2 p=allow "
	    "al=a.test:443, 10.0.0.0/8:* de=none e=2031-02-03T04:05:06Z "
	    "bu=2.0 KB bl=1.0 MB ll=1970-01-02T00:00:00Z up=1m 30s v=0.1.0 "
	    "g=staff r=admin h=h x={unknown} {Upper} {a-b} {}\r\n");
	free(m);
	/* defaults: no group, never expires, unlimited, first login */
	m = render("[motd]\ntemplate = \"{group} {expires_at} "
	    "{bandwidth_limit} {role}\"\n", "", 0, NULL);
	assert_string_equal(m, "none never unlimited user\r\n");
	free(m);
}

static void
test_hidden(void **state)
{
	char *m = NULL;

	(void)state;
	m = render("[motd]\ntemplate = \"A {auth_method}|{source_ip}\\n"
	    "kept {user}\\nB: {role}\\nC: {group} {expires_at}\\n"
	    "D: {acl_policy} {allowed} {denied}\\nE: {uptime}\\n"
	    "F: {last_login}\\nG: {connections} {bandwidth_used}\\n"
	    "plain\\n\"\n",
	    "[users.shell_permissions]\nshow_auth_method = false\n"
	    "show_source_ip = false\nshow_role = false\nshow_group = false\n"
	    "show_expires = false\nshow_acl = false\nshow_uptime = false\n"
	    "show_history = false\nshow_connections = false\n"
	    "show_bandwidth = false\n", 0, NULL);
	/* lines whose every variable is hidden disappear */
	assert_string_equal(m, "kept alice\r\nplain\r\n");
	free(m);
	/* one visible variable keeps the line; hidden ones render empty */
	m = render("[motd]\ntemplate = \"{role}/{group}\"\n",
	    "[users.shell_permissions]\nshow_role = false\n", 0, NULL);
	assert_string_equal(m, "/none\r\n");
	free(m);
}

static void
test_default_box(void **state)
{
	char *m = NULL;

	(void)state;
	m = render("", "", 0, NULL);
	assert_non_null(strstr(m, "Welcome, alice!\r\n"));
	assert_non_null(strstr(m, "sks5 0.1.0 on h\r\n"));
	assert_non_null(strstr(m, " ACL "));
	assert_non_null(strstr(m, "Uptime: 0s\r\n"));
	assert_null(strstr(m, "$ "));	/* clients wait for "$ " */
	assert_null(strstr(m, "{"));
	assert_null(strstr(m, "\033"));
	free(m);
	/* hide the whole ACL and Server sections: their headers go too */
	m = render("", "[users.shell_permissions]\nshow_acl = false\n"
	    "show_uptime = false\n", 0, NULL);
	assert_null(strstr(m, " ACL "));
	assert_null(strstr(m, "Server"));
	assert_non_null(strstr(m, " Quotas "));
	assert_null(strstr(m, "\xe2\x95\x91\r\n\xe2\x95\x91\r\n"));
	free(m);
}

static void
test_colors(void **state)
{
	char *m = NULL;

	(void)state;
	m = render("[motd]\ntemplate = \"{user} {acl_policy} {role} "
	    "\\u001b[1mbold\\u001b[0m\"\n", "", 1, NULL);
	assert_string_equal(m, "\033[1;36malice\033[0m \033[32mallow\033[0m "
	    "\033[1;35muser\033[0m \033[1mbold\033[0m\r\n");
	free(m);
	/* no colours: the template's own SGR is removed as well */
	m = render("[motd]\ntemplate = \"{user} \\u001b[1mbold\\u001b[0m\"\n",
	    "", 0, NULL);
	assert_string_equal(m, "alice bold\r\n");
	free(m);
	m = render("[motd]\ntemplate = \"{user}\"\ncolors = false\n", "", 1,
	    NULL);
	assert_string_equal(m, "alice\r\n");
	free(m);
}

static void
test_overrides(void **state)
{
	char *m = NULL;

	(void)state;
	/* global < group < user */
	m = render("[motd]\ntemplate = \"global\"\n[[groups]]\nname = \"g\"\n"
	    "[groups.motd]\ntemplate = \"group {user}\"\n", "group = \"g\"\n",
	    0, NULL);
	assert_string_equal(m, "group alice\r\n");
	free(m);
	m = render("[[groups]]\nname = \"g\"\n[groups.motd]\n"
	    "template = \"group\"\n", "group = \"g\"\n[users.motd]\n"
	    "template = \"mine\\r\\nsecond\"\n", 0, NULL);
	assert_string_equal(m, "mine\r\nsecond\r\n");
	free(m);
	m = render("[motd]\nenabled = false\n", "", 0, NULL);
	assert_null(m);
	m = render("[motd]\nenabled = false\n", "[users.motd]\n"
	    "enabled = true\ntemplate = \"x\"\n", 0, NULL);
	assert_string_equal(m, "x\r\n");
	free(m);
}

static void
test_session_motd(void **state)
{
	struct cfg *c = t_cfg("[motd]\ntemplate = \"Hello {user}\"\n", "");
	struct t_out o = { NULL, 0, 0 };
	struct shell_ctx x;
	struct shell *sh = NULL;

	(void)state;
	t_ctx(&x, c, NULL, NULL);
	sh = shell_new(&x, 80, 24, t_write, &o);
	assert_int_equal(shell_start(sh), 0);
	assert_string_equal(t_str(&o), "Hello alice\r\n\r\nalice@h:~$ ");
	shell_free(sh);
	t_reset(&o);
	/* exec: no MOTD, but /etc/motd holds it without colours */
	assert_int_equal(shell_exec(&x, "cat /etc/motd", t_write, &o), 0);
	assert_string_equal(t_str(&o), "Hello alice\r\n");
	t_reset(&o);
	cfg_free(c);
}

/* server.motd_path: the file is the template, with the same variables
 * and visibility rules, and the session shows it. */
static void
test_motd_file(void **state)
{
	char dir[] = "/tmp/sks5motdXXXXXX", *path = NULL, *text = NULL;
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	struct shell_ctx x;
	struct t_out o = { NULL, 0, 0 };
	struct shell *sh = NULL;
	FILE *f = NULL;
	char *m = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/motd", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("File for {user} on {hostname}\r\nAuth: {auth_method}\n"
	    "\033[1mbold\033[0m {nope}\n", f);
	fclose(f);
	text = xasprintf("[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
	    "motd_path = \"%s\"\n[shell]\nhostname = \"h\"\n"
	    "[[users]]\nusername = \"alice\"\npassword_hash = \"" T_HASH "\"\n"
	    "[users.shell_permissions]\nshow_auth_method = false\n", path);
	memset(&ov, 0, sizeof(ov));
	cfg_diag_init(&d);
	assert_int_equal(cfg_load_string(text, strlen(text), "t.toml", "/b",
	    &ov, &c, &d), 0);
	cfg_diag_cleanup(&d);
	t_ctx(&x, c, NULL, NULL);
	/* no colours: the file's own SGR goes too; the hidden line goes */
	m = shell_motd_render(&x);
	assert_string_equal(m, "File for alice on h\r\nbold {nope}\r\n");
	free(m);
	x.term = "xterm";
	m = shell_motd_render(&x);
	assert_string_equal(m, "File for \033[1;36malice\033[0m on h\r\n"
	    "\033[1mbold\033[0m {nope}\r\n");
	free(m);
	x.term = NULL;
	sh = shell_new(&x, 80, 24, t_write, &o);
	assert_int_equal(shell_start(sh), 0);
	assert_string_equal(t_str(&o), "File for alice on h\r\nbold {nope}\r\n"
	    "\r\nalice@h:~$ ");
	shell_free(sh);
	t_reset(&o);
	cfg_free(c);
	unlink(path);
	rmdir(dir);
	free(path);
	free(text);
}

/* check-config: unknown variables are reported as warnings. */
static void
test_check_config(void **state)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *c = NULL;
	const char *text = "[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
	    "[motd]\ntemplate = \"{user} {nope} {x-y} {}\"\n"
	    "[[groups]]\nname = \"g\"\n[groups.motd]\ntemplate = \"{grp}\"\n"
	    "[[users]]\nusername = \"alice\"\npassword_hash = \"" T_HASH "\"\n"
	    "[users.motd]\ntemplate = \"{last_login} {bad_one}\"\n";
	size_t i, hits = 0;
	char *all = NULL, *v = NULL;

	(void)state;
	memset(&ov, 0, sizeof(ov));
	ov.allow_pending = 1;
	cfg_diag_init(&d);
	assert_int_equal(cfg_load_string(text, strlen(text), "t.toml", "/b",
	    &ov, &c, &d), 0);
	for (i = 0; i < d.nwarnings; i++) {
		if (strstr(d.warnings[i], "unknown MOTD variable") != NULL) {
			hits++;
		}
	}
	assert_int_equal(hits, 3);
	for (i = 0; i < d.nwarnings; i++) {
		if (strstr(d.warnings[i], "{nope}") != NULL) {
			assert_non_null(strstr(d.warnings[i],
			    "motd.template"));
		}
	}
	cfg_diag_cleanup(&d);
	cfg_free(c);
	/* every variable the shell knows passes check-config */
	all = xstrdup("");
	for (i = 0; shell__motd_vars[i] != NULL; i++) {
		v = xasprintf("%s{%s}", all, shell__motd_vars[i]);
		free(all);
		all = v;
	}
	v = xasprintf("[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
	    "[motd]\ntemplate = \"%s\"\n[[users]]\nusername = \"a\"\n"
	    "password_hash = \"" T_HASH "\"\n", all);
	cfg_diag_init(&d);
	assert_int_equal(cfg_load_string(v, strlen(v), "t.toml", "/b", &ov,
	    &c, &d), 0);
	for (i = 0; i < d.nwarnings; i++) {
		assert_null(strstr(d.warnings[i], "MOTD"));
	}
	cfg_diag_cleanup(&d);
	cfg_free(c);
	/* ... and the shell renders every one of them */
	free(v);
	v = xasprintf("[motd]\ntemplate = \"%s\"\n", all);
	free(all);
	all = render(v, "", 0, NULL);
	assert_null(strchr(all, '{'));
	free(v);
	free(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_hidden),
		cmocka_unit_test(test_default_box),
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_session_motd),
		cmocka_unit_test(test_motd_file),
		cmocka_unit_test(test_check_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

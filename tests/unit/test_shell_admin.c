/* Unit tests of the admin shell command: who may run it, what each
 * subcommand prints and returns, help, completion, and shell_notice()
 * (the idle warning's redraw). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "test_shell_util.h"
#include "shell/shell_int.h"

/* Test doubles for shell_admin_ops: fixed data, recorded actions. */
struct t_admin {
	char	unbanned[64];
	char	kicked[64];
	char	reset[64];
	size_t	kick_n;
};

static void
ta_server(void *arg, struct shell_admin_server *out)
{
	(void)arg;
	out->uptime_s = 3725;
	out->ssh_connections = 3;
	out->active_streams = 2;
	out->streams_total = 17;
	out->handshakes = 1;
	out->bytes_total = 2048;
	out->users = 2;
}

static size_t
ta_users(void *arg, struct shell_admin_user **out)
{
	struct shell_admin_user *v = xcalloc(2, sizeof(*v));

	(void)arg;
	snprintf(v[0].name, sizeof(v[0].name), "alice");
	v[0].admin = 1;
	v[0].ssh_sessions = 1;
	snprintf(v[1].name, sizeof(v[1].name), "bob");
	snprintf(v[1].group, sizeof(v[1].group), "ops");
	v[1].ssh_sessions = 2;
	v[1].streams = 5;
	v[1].bytes = 1536;
	*out = v;
	return 2;
}

static size_t
ta_sessions(void *arg, struct shell_admin_session **out)
{
	struct shell_admin_session *v = xcalloc(2, sizeof(*v));

	(void)arg;
	snprintf(v[0].user, sizeof(v[0].user), "bob");
	snprintf(v[0].source, sizeof(v[0].source), "127.0.0.1:40000");
	v[0].age_s = 61;
	snprintf(v[1].user, sizeof(v[1].user), "bob");
	snprintf(v[1].source, sizeof(v[1].source), "127.0.0.1:40000");
	snprintf(v[1].target, sizeof(v[1].target), "example.com:443");
	v[1].bytes_up = 100;
	v[1].bytes_down = 4096;
	v[1].age_s = 5;
	*out = v;
	return 2;
}

static size_t
ta_bans(void *arg, struct shell_admin_ban **out)
{
	struct shell_admin_ban *v = xcalloc(1, sizeof(*v));

	(void)arg;
	snprintf(v[0].addr, sizeof(v[0].addr), "192.0.2.9");
	v[0].until = (int64_t)time(NULL) + 600;
	v[0].failures = 5;
	v[0].rep = 12.5;
	*out = v;
	return 1;
}

static int
ta_unban(void *arg, const char *addr)
{
	struct t_admin *t = arg;

	if (strcmp(addr, "192.0.2.9") == 0) {
		snprintf(t->unbanned, sizeof(t->unbanned), "%s", addr);
		return 0;
	}
	return strchr(addr, '.') != NULL ? ERR_NOTFOUND : ERR_INVAL;
}

static int
ta_kick(void *arg, const char *user, size_t *n)
{
	struct t_admin *t = arg;

	*n = 0;
	if (strcmp(user, "bob") != 0 && strcmp(user, "alice") != 0) {
		return ERR_INVAL;
	}
	snprintf(t->kicked, sizeof(t->kicked), "%s", user);
	*n = strcmp(user, "bob") == 0 ? t->kick_n : 0;
	return 0;
}

static int
ta_quota_reset(void *arg, const char *user)
{
	struct t_admin *t = arg;

	if (strcmp(user, "bob") != 0) {
		return ERR_NOTFOUND;
	}
	snprintf(t->reset, sizeof(t->reset), "%s", user);
	return 0;
}

struct fix {
	struct cfg		*c;
	struct t_ops		 t;
	struct shell_ops	 ops;
	struct t_admin		 ta;
	struct shell_admin_ops	 aops;
	struct shell_store	*st;
	struct shell_ctx	 x;
	struct t_out		 o;
};

static struct fix *
fix_new(const char *pre, const char *alice)
{
	struct fix *f = xcalloc(1, sizeof(*f));

	f->c = t_cfg(pre, alice);
	assert_non_null(f->c);
	t_ops_init(&f->t, &f->ops);
	f->st = shell_store_new(0, 0);
	t_ctx(&f->x, f->c, &f->ops, f->st);
	f->ta.kick_n = 2;
	f->aops.arg = &f->ta;
	f->aops.server = ta_server;
	f->aops.users = ta_users;
	f->aops.sessions = ta_sessions;
	f->aops.bans = ta_bans;
	f->aops.unban = ta_unban;
	f->aops.kick = ta_kick;
	f->aops.quota_reset = ta_quota_reset;
	f->x.admin = &f->aops;
	return f;
}

static void
fix_free(struct fix *f)
{
	t_reset(&f->o);
	shell_store_free(f->st);
	cfg_free(f->c);
	free(f);
}

#define EXPECT(f, line, st, out) do {					\
	assert_int_equal(t_exec(&(f)->x, (line), &(f)->o), (st));	\
	assert_string_equal(t_str(&(f)->o), (out));			\
} while (0)

#define CONTAINS(f, line, st, sub) do {					\
	assert_int_equal(t_exec(&(f)->x, (line), &(f)->o), (st));	\
	if (strstr(t_str(&(f)->o), (sub)) == NULL) {			\
		fail_msg("output of '%s' lacks '%s':\n%s", (line), (sub),\
		    t_str(&(f)->o));					\
	}								\
} while (0)

#define LACKS(f, line, sub) do {					\
	(void)t_exec(&(f)->x, (line), &(f)->o);				\
	if (strstr(t_str(&(f)->o), (sub)) != NULL) {			\
		fail_msg("output of '%s' has '%s':\n%s", (line), (sub),	\
		    t_str(&(f)->o));					\
	}								\
} while (0)

/* A plain user: denied, not in help, not completed. */
static void
test_user_denied(void **state)
{
	struct fix *f = fix_new("", "");

	(void)state;
	EXPECT(f, "admin users", SHELL_STATUS_FAIL, "admin: permission denied "
	    "(not allowed for your account)\r\n");
	EXPECT(f, "admin kick bob", SHELL_STATUS_FAIL, "admin: permission "
	    "denied (not allowed for your account)\r\n");
	assert_string_equal(f->ta.kicked, "");
	LACKS(f, "help", "admin");
	LACKS(f, "help", "Administration");
	EXPECT(f, "help admin", SHELL_STATUS_FAIL,
	    "help: no help for 'admin'\r\n");
	/* role = "user" on the user beats nothing; explicit user too */
	fix_free(f);
	f = fix_new("", "role = \"user\"\n");
	EXPECT(f, "admin server", SHELL_STATUS_FAIL, "admin: permission "
	    "denied (not allowed for your account)\r\n");
	fix_free(f);
}

/* Role from the user, and from the group. */
static void
test_role_sources(void **state)
{
	struct fix *f = fix_new("", "role = \"admin\"\n");

	(void)state;
	CONTAINS(f, "admin server", 0, "Server\r\n");
	CONTAINS(f, "help", 0, "Administration:\r\n");
	CONTAINS(f, "help", 0, "admin <subcommand>");
	CONTAINS(f, "help admin", 0, "subcommands: server, users");
	CONTAINS(f, "show status", 0, "  Role:        admin\r\n");
	fix_free(f);
	f = fix_new("[[groups]]\nname = \"ops\"\nrole = \"admin\"\n",
	    "group = \"ops\"\n");
	CONTAINS(f, "admin server", 0, "Server\r\n");
	CONTAINS(f, "show status", 0, "  Role:        admin\r\n");
	fix_free(f);
	/* No ops from the caller: the command says so. */
	f = fix_new("", "role = \"admin\"\n");
	f->x.admin = NULL;
	EXPECT(f, "admin server", SHELL_STATUS_FAIL,
	    "admin: not available\r\n");
	fix_free(f);
}

static void
test_listings(void **state)
{
	struct fix *f = fix_new("", "role = \"admin\"\n");

	(void)state;
	CONTAINS(f, "admin server", 0, "  Uptime:           1h 2m\r\n");
	CONTAINS(f, "admin server", 0, "  SSH connections:  3\r\n");
	CONTAINS(f, "admin server", 0,
	    "  Proxied streams:  2 active, 17 since start\r\n");
	CONTAINS(f, "admin server", 0, "  Users:            2 configured\r\n");
	CONTAINS(f, "admin server", 0, "  Maintenance:      off\r\n");
	EXPECT(f, "admin users", 0,
	    "USER   ROLE   GROUP   SSH  STREAMS  TRANSFERRED\r\n"
	    "alice  admin  -         1        0  0 B\r\n"
	    "bob    user   ops       2        5  1.5 KB\r\n");
	EXPECT(f, "admin sessions", 0,
	    "USER  SOURCE           TARGET                  UP       DOWN  AGE"
	    "\r\n"
	    "bob   127.0.0.1:40000  (ssh)                    -          -  "
	    "1m 1s\r\n"
	    "bob   127.0.0.1:40000  example.com:443      100 B     4.0 KB  "
	    "5s\r\n");
	CONTAINS(f, "admin bans", 0, "ADDRESS");
	CONTAINS(f, "admin bans", 0, "192.0.2.9");
	CONTAINS(f, "admin bans", 0, "(in 10m)");
	CONTAINS(f, "admin bans", 0, "       5  12.5\r\n");
	/* Usage for nothing or an unknown subcommand. */
	CONTAINS(f, "admin", SHELL_STATUS_FAIL, "Usage: admin <subcommand>");
	CONTAINS(f, "admin help", 0, "kick <user>");
	CONTAINS(f, "admin frob", SHELL_STATUS_FAIL, "Usage: admin");
	CONTAINS(f, "admin users extra", SHELL_STATUS_FAIL, "Usage: admin");
	fix_free(f);
}

static void
test_empty_listings(void **state)
{
	struct fix *f = fix_new("", "role = \"admin\"\n");

	(void)state;
	f->aops.users = NULL;
	f->aops.sessions = NULL;
	f->aops.bans = NULL;
	EXPECT(f, "admin users", 0, "No users configured\r\n");
	EXPECT(f, "admin sessions", 0, "No live SSH sessions\r\n");
	EXPECT(f, "admin bans", 0, "No active bans\r\n");
	fix_free(f);
}

static void
test_actions(void **state)
{
	struct fix *f = fix_new("", "role = \"admin\"\n");

	(void)state;
	EXPECT(f, "admin unban 192.0.2.9", 0, "Unbanned 192.0.2.9\r\n");
	assert_string_equal(f->ta.unbanned, "192.0.2.9");
	EXPECT(f, "admin unban 192.0.2.10", SHELL_STATUS_FAIL,
	    "admin unban: 192.0.2.10 is not banned\r\n");
	EXPECT(f, "admin unban nope", SHELL_STATUS_FAIL,
	    "admin unban: 'nope' is not an IP address\r\n");
	CONTAINS(f, "admin unban", SHELL_STATUS_FAIL, "Usage: admin");
	EXPECT(f, "admin kick bob", 0,
	    "Kicked bob: 2 SSH connections closing\r\n");
	assert_string_equal(f->ta.kicked, "bob");
	f->ta.kick_n = 1;
	EXPECT(f, "admin kick bob", 0,
	    "Kicked bob: 1 SSH connection closing\r\n");
	EXPECT(f, "admin kick alice", SHELL_STATUS_FAIL,
	    "admin kick: alice has no live SSH session\r\n");
	EXPECT(f, "admin kick 'x\033y'", SHELL_STATUS_FAIL,
	    "admin kick: unknown user 'x?y'\r\n");
	EXPECT(f, "admin quota reset bob", 0, "Quotas of bob reset\r\n");
	assert_string_equal(f->ta.reset, "bob");
	EXPECT(f, "admin quota reset eve", SHELL_STATUS_FAIL,
	    "admin quota: unknown user 'eve'\r\n");
	EXPECT(f, "admin quota bob", SHELL_STATUS_FAIL,
	    "Usage: admin quota reset <user>\r\n");
	fix_free(f);
}

/* Feeds bytes to an interactive session. */
static void
feed(struct shell *sh, struct t_out *o, const char *s)
{
	t_reset(o);
	assert_int_equal(shell_input(sh, s, strlen(s)), 0);
}

static void
test_completion(void **state)
{
	struct fix *f = fix_new("[motd]\nenabled = false\n",
	    "role = \"admin\"\n");
	struct shell *sh = NULL;

	(void)state;
	sh = shell_new(&f->x, 80, 24, t_write, &f->o);
	assert_int_equal(shell_start(sh), 0);
	feed(sh, &f->o, "adm\t");
	assert_string_equal(sh->line.text, "admin ");
	feed(sh, &f->o, "se\t");
	assert_string_equal(sh->line.text, "admin se");	/* server sessions */
	feed(sh, &f->o, "r\t");
	assert_string_equal(sh->line.text, "admin server ");
	feed(sh, &f->o, "\025admin q\t");
	assert_string_equal(sh->line.text, "admin quota ");
	feed(sh, &f->o, "\t");
	assert_string_equal(sh->line.text, "admin quota reset ");
	feed(sh, &f->o, "\025admin \t");	/* every subcommand listed */
	assert_non_null(strstr(t_str(&f->o), "bans"));
	assert_non_null(strstr(t_str(&f->o), "unban"));
	assert_non_null(strstr(t_str(&f->o), "kick"));
	shell_free(sh);
	fix_free(f);
	/* Not offered to a plain user. */
	f = fix_new("[motd]\nenabled = false\n", "");
	sh = shell_new(&f->x, 80, 24, t_write, &f->o);
	assert_int_equal(shell_start(sh), 0);
	feed(sh, &f->o, "adm\t");
	assert_string_equal(sh->line.text, "adm");
	feed(sh, &f->o, "\025admin ");
	feed(sh, &f->o, "\t");
	assert_string_equal(t_str(&f->o), "\007");
	shell_free(sh);
	fix_free(f);
}

/* A notice lands on its own line; prompt and input come back. */
static void
test_notice(void **state)
{
	struct fix *f = fix_new("[motd]\nenabled = false\n", "");
	struct shell *sh = NULL;
	struct vt vt;

	(void)state;
	vt_init(&vt, 80);
	sh = shell_new(&f->x, 80, 24, t_write, &f->o);
	assert_int_equal(shell_start(sh), 0);
	vt_feed(&vt, t_str(&f->o), f->o.n);
	feed(sh, &f->o, "who\002");	/* cursor one left */
	vt_feed(&vt, t_str(&f->o), f->o.n);
	t_reset(&f->o);
	assert_int_equal(shell_notice(sh, "sks5: idle for 5 s; disconnecting "
	    "in 2 s"), 0);
	assert_non_null(strstr(t_str(&f->o),
	    "\r\nsks5: idle for 5 s; disconnecting in 2 s\r\n"));
	vt_feed(&vt, t_str(&f->o), f->o.n);
	assert_string_equal(vt_text(&vt), "alice@h:~$ who\n"
	    "sks5: idle for 5 s; disconnecting in 2 s\nalice@h:~$ who");
	assert_int_equal(vt.c, 13);	/* where it was: before the 'o' */
	/* The line still works. */
	feed(sh, &f->o, "\005ami\r");
	assert_non_null(strstr(t_str(&f->o), "alice\r\n"));
	/* Control characters in the message are neutralised. */
	t_reset(&f->o);
	assert_int_equal(shell_notice(sh, "a\033[2Jb"), 0);
	assert_non_null(strstr(t_str(&f->o), "a?[2Jb\r\n"));
	shell_free(sh);
	fix_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_denied),
		cmocka_unit_test(test_role_sources),
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_empty_listings),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_notice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

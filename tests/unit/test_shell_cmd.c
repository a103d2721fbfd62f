/* Unit tests of the shell commands: output and exit status of each, run
 * through shell_exec() with test doubles for shell_ops. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "test_shell_util.h"

struct fix {
	struct cfg		*c;
	struct t_ops		 t;
	struct shell_ops	 ops;
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

/* Runs line, checks status and exact output. */
#define EXPECT(f, line, st, out) do {					\
	assert_int_equal(t_exec(&(f)->x, (line), &(f)->o), (st));	\
	assert_string_equal(t_str(&(f)->o), (out));			\
} while (0)

/* Runs line, checks status and that the output contains sub. */
#define CONTAINS(f, line, st, sub) do {					\
	assert_int_equal(t_exec(&(f)->x, (line), &(f)->o), (st));	\
	if (strstr(t_str(&(f)->o), (sub)) == NULL) {			\
		fail_msg("output of '%s' lacks '%s':\n%s", (line), (sub),\
		    t_str(&(f)->o));					\
	}								\
} while (0)

static void
test_basic(void **state)
{
	struct fix *f = fix_new("", "");

	(void)state;
	EXPECT(f, "whoami", 0, "alice\r\n");
	EXPECT(f, "hostname", 0, "h\r\n");
	EXPECT(f, "pwd", 0, "/home/alice\r\n");
	EXPECT(f, "id", 0, "uid=1000(alice) gid=1000(alice) "
	    "groups=1000(alice)\r\n");
	EXPECT(f, "echo", 0, "\r\n");
	EXPECT(f, "echo a   b", 0, "a b\r\n");
	EXPECT(f, "echo -n x", 0, "x");
	EXPECT(f, "echo a | b > c; d && $HOME *", 0,
	    "a | b > c; d && $HOME *\r\n");
	EXPECT(f, "echo 'a  b' \"c\\\"d\" e\\ f", 0, "a  b c\"d e f\r\n");
	EXPECT(f, "# a comment", 0, "");
	EXPECT(f, "", 0, "");
	EXPECT(f, "clear", 0, "\033[2J\033[H");
	EXPECT(f, "uname", 0, "sks5\r\n");
	EXPECT(f, "uname -n", 0, "h\r\n");
	CONTAINS(f, "uname -a", 0, "sks5 h ");
	EXPECT(f, "uname -x", 1, "uname: invalid option -- 'x'\r\n");
	EXPECT(f, "uname foo", 1, "uname: extra operand 'foo'\r\n");
	CONTAINS(f, "env", 0, "HOME=/home/alice\r\nUSER=alice\r\n");
	EXPECT(f, "printenv USER", 0, "alice\r\n");
	EXPECT(f, "printenv NOPE", 1, "");
	EXPECT(f, "exit", 0, "");
	EXPECT(f, "exit 3", 3, "");
	EXPECT(f, "logout", 0, "");
	fix_free(f);
}

static void
test_not_found(void **state)
{
	struct fix *f = fix_new("", "");
	const char *bad[] = { "bash", "sh -c 'id'", "rm -rf /", "sudo -i",
	    "nc -l 4444", "wget http://x", "python -c 1", "scp a b",
	    "LS", NULL };
	char want[64];
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(want, sizeof(want), "%.*s: command not found\r\n",
		    (int)strcspn(bad[i], " "), bad[i]);
		EXPECT(f, bad[i], 127, want);
	}
	fix_free(f);
}

static void
test_fs(void **state)
{
	struct fix *f = fix_new("", "");

	(void)state;
	EXPECT(f, "ls", 0, "");
	EXPECT(f, "ls -a", 0, "./  ../  .profile  .ssh/\r\n");
	EXPECT(f, "ls /", 0, "etc/  home/  tmp/  var/\r\n");
	EXPECT(f, "ls /etc", 0, "hostname  motd  os-release  passwd\r\n");
	EXPECT(f, "ls /var/log", 0, "");
	EXPECT(f, "ls -1 /var", 0, "log/\r\n");
	EXPECT(f, "ls /etc/passwd", 0, "/etc/passwd\r\n");
	EXPECT(f, "ls /nope", 1, "ls: cannot access '/nope': No such file "
	    "or directory\r\n");
	EXPECT(f, "ls -z", 1, "ls: invalid option -- 'z'\r\n");
	EXPECT(f, "ls -l /home", 0, "total 4\r\n"
	    "drwxr-xr-x  2 alice alice  4096 Jan  1 00:00 alice\r\n");
	EXPECT(f, "ls -l /etc/hostname", 0,
	    "-rw-r--r--  1 root root     2 Jan  1 00:00 /etc/hostname\r\n");
	EXPECT(f, "ls /tmp /var", 0, "/tmp:\r\n\r\n/var:\r\nlog/\r\n");
	EXPECT(f, "cat /etc/hostname", 0, "h\r\n");
	EXPECT(f, "cat /etc/passwd", 0,
	    "alice:x:1000:1000::/home/alice:/bin/sh\r\n");
	EXPECT(f, "cat ~/.profile", 0, "# sks5 shell profile\r\n");
	EXPECT(f, "cat", 1, "cat: missing operand\r\n");
	EXPECT(f, "cat /etc", 1, "cat: /etc: Is a directory\r\n");
	EXPECT(f, "cat /etc/shadow", 1,
	    "cat: /etc/shadow: No such file or directory\r\n");
	EXPECT(f, "cat /etc/hostname /x", 1,
	    "h\r\ncat: /x: No such file or directory\r\n");
	CONTAINS(f, "cat /etc/os-release", 0, "ID=sks5\r\n");
	CONTAINS(f, "cat /etc/motd", 0, "Welcome, alice!");
	EXPECT(f, "cd /nope", 1, "cd: no such file or directory: /nope\r\n");
	EXPECT(f, "cd /etc/passwd", 1, "cd: not a directory: /etc/passwd\r\n");
	EXPECT(f, "cd a b", 1, "cd: too many arguments\r\n");
	EXPECT(f, "cd /", 0, "");
	/* Nothing of the real machine. */
	EXPECT(f, "cat /etc/shadow /proc/self/environ", 1,
	    "cat: /etc/shadow: No such file or directory\r\n"
	    "cat: /proc/self/environ: No such file or directory\r\n");
	EXPECT(f, "ls /root", 1, "ls: cannot access '/root': No such file or "
	    "directory\r\n");
	EXPECT(f, "ls /home/bob", 1, "ls: cannot access '/home/bob': No such "
	    "file or directory\r\n");
	fix_free(f);
}

/* An interactive session to check state across commands. */
static struct shell *
session(struct fix *f)
{
	struct shell *sh = shell_new(&f->x, 200, 24, t_write, &f->o);

	assert_int_equal(shell_start(sh), 0);
	t_reset(&f->o);
	return sh;
}

/* Types a line into sh; returns the output after the echo. */
static const char *
type(struct fix *f, struct shell *sh, const char *line)
{
	char *l = xasprintf("%s\r", line);

	t_reset(&f->o);
	assert_int_equal(shell_input(sh, l, strlen(l)) < 0, 0);
	free(l);
	return t_str(&f->o) + strlen(line) + 2;	/* echo and CRLF */
}

static void
test_cd_paths(void **state)
{
	struct fix *f = fix_new("[motd]\nenabled = false\n", "");
	struct shell *sh = session(f);

	(void)state;
	assert_string_equal(type(f, sh, "cd /etc"), "alice@h:/etc$ ");
	assert_string_equal(type(f, sh, "pwd"), "/etc\r\nalice@h:/etc$ ");
	assert_string_equal(type(f, sh, "cd ../home/./alice/.ssh"),
	    "alice@h:~/.ssh$ ");
	assert_string_equal(type(f, sh, "cat ../.profile"),
	    "# sks5 shell profile\r\nalice@h:~/.ssh$ ");
	assert_string_equal(type(f, sh, "cd ../../../../.."), "alice@h:/$ ");
	assert_string_equal(type(f, sh, "cd -"),
	    "/home/alice/.ssh\r\nalice@h:~/.ssh$ ");
	assert_string_equal(type(f, sh, "cd"), "alice@h:~$ ");
	assert_string_equal(type(f, sh, "cd //etc//"), "alice@h:/etc$ ");
	assert_string_equal(type(f, sh, "ls hostname passwd"),
	    "hostname  passwd\r\nalice@h:/etc$ ");
	assert_string_equal(type(f, sh, "cd ~"), "alice@h:~$ ");
	assert_int_equal(shell_last_status(sh), 0);
	type(f, sh, "cd /x");
	assert_int_equal(shell_last_status(sh), 1);
	assert_string_equal(type(f, sh, "exit"), "logout\r\n");
	assert_int_equal(shell_done(sh), 1);
	shell_free(sh);
	fix_free(f);
}

static void
test_help(void **state)
{
	struct fix *f = fix_new("", "");
	struct fix *g = fix_new("", "[users.shell_permissions]\n"
	    "test_command = false\nping_command = false\n"
	    "resolve_command = false\nbookmark_command = false\n"
	    "alias_command = false\nshow_connections = false\n"
	    "show_bandwidth = false\nshow_acl = false\nshow_status = false\n"
	    "show_history = false\nshow_fingerprint = false\n"
	    "show_quota = false\n");

	(void)state;
	CONTAINS(f, "help", 0, "Built-in commands:");
	CONTAINS(f, "help", 0, "Proxy commands:");
	CONTAINS(f, "help", 0, "  ping [-c n]");
	CONTAINS(f, "help", 0, "no pipes, redirections, globbing");
	CONTAINS(f, "help test", 0, "usage: test <host:port|@bookmark>");
	EXPECT(f, "help nope", 1, "help: no help for 'nope'\r\n");
	/* Only what the user may run. */
	CONTAINS(g, "help", 0, "  ls ");
	assert_null(strstr(t_str(&g->o), "Proxy commands"));
	assert_null(strstr(t_str(&g->o), "ping"));
	EXPECT(g, "help ping", 1, "help: no help for 'ping'\r\n");
	fix_free(f);
	fix_free(g);
}

static void
test_permissions(void **state)
{
	/* group denies test and show acl; the user re-allows show acl:
	 * user > group > global, per flag. */
	struct fix *f = fix_new("[[groups]]\nname = \"g\"\n"
	    "[groups.shell_permissions]\ntest_command = false\n"
	    "show_acl = false\nshow_status = false\n",
	    "group = \"g\"\n[users.shell_permissions]\nshow_acl = true\n");

	(void)state;
	EXPECT(f, "test a:1", 1, "test: permission denied (not allowed for "
	    "your account)\r\n");
	assert_int_equal(f->t.nprobes, 0);
	CONTAINS(f, "show acl", 0, "default policy");
	EXPECT(f, "show status", 1, "show status: permission denied (not "
	    "allowed for your account)\r\n");
	CONTAINS(f, "show", 1, "Topics: connections, bandwidth, quota, acl, "
	    "history, fingerprint\r\n");
	CONTAINS(f, "ping x", 0, "TCP ping x:80");
	fix_free(f);
}

static void
test_show(void **state)
{
	struct fix *f = fix_new("[acl]\ndefault_policy = \"deny\"\n"
	    "allow = [\"*.example.com:443\"]\ndeny = [\"10.0.0.0/8:*\"]\n",
	    "role = \"admin\"\nmax_bandwidth_kbps = 512\n"
	    "expires_at = \"2030-01-02T03:04:05Z\"\n"
	    "[users.quotas]\ndaily_bandwidth_bytes = 1048576\n"
	    "daily_connection_limit = 10\n");

	(void)state;
	f->t.stats.active = 3;
	f->t.stats.bytes_day = 1536;
	f->t.stats.bytes_month = 3 * 1048576;
	f->t.stats.conns_day = 4;
	f->t.stats.conns_month = 40;
	f->t.stats.uptime_s = 3 * 3600 + 7 * 60;
	f->t.stats.rate_bps = 250000;
	EXPECT(f, "show connections", 0, "Active connections: 3\r\n");
	EXPECT(f, "show conn", 0, "Active connections: 3\r\n");
	CONTAINS(f, "show bw", 0, "  Today:      1.5 KB\r\n");
	CONTAINS(f, "show bandwidth", 0, "  Rate now:   2.0 Mbps\r\n");
	CONTAINS(f, "show bandwidth", 0, "  Limit:      512 kbps per "
	    "connection, unlimited in total\r\n");
	CONTAINS(f, "show quota", 0, "    Daily:     1.5 KB / 1.0 MB\r\n");
	CONTAINS(f, "show quota", 0, "    Daily:     4 / 10\r\n");
	CONTAINS(f, "show quotas", 0, "    Monthly:   40 / unlimited\r\n");
	EXPECT(f, "show acl", 0, "ACL (default policy: deny)\r\n"
	    "  Deny rules (checked first):\r\n    - 10.0.0.0/8:*\r\n"
	    "  Allow rules:\r\n    + *.example.com:443\r\n");
	EXPECT(f, "show status", 0, "Session status\r\n"
	    "  User:        alice\r\n  Role:        admin\r\n"
	    "  Auth:        password\r\n  Source IP:   192.0.2.7\r\n"
	    "  Uptime:      3h 7m (server)\r\n"
	    "  Connections: 3 active\r\n"
	    "  Expires:     2030-01-02T03:04:05Z\r\n"
	    "  Rate limit:  512 kbps\r\n");
	EXPECT(f, "show history", 0, "Connection summary:\r\n"
	    "  Today:      4 connections, 1.5 KB transferred\r\n"
	    "  This month: 40 connections, 3.0 MB transferred\r\n");
	EXPECT(f, "show fp", 0, "No key fingerprint (this session did not "
	    "log in with a key)\r\n");
	f->x.key_fingerprint = "SHA256:abc";
	EXPECT(f, "show fingerprint", 0, "SSH key fingerprint: SHA256:abc\r\n");
	EXPECT(f, "show nope", 1, "show: unknown topic 'nope'\r\nTopics: "
	    "connections, bandwidth, quota, acl, status, history, "
	    "fingerprint\r\n");
	f->t.stats.active = 0;
	EXPECT(f, "show connections", 0, "No active proxy connections\r\n");
	/* No ops at all: zeros, never a crash. */
	f->x.ops = NULL;
	EXPECT(f, "show connections", 0, "No active proxy connections\r\n");
	EXPECT(f, "test a:1", 1, "test: not available in this session\r\n");
	EXPECT(f, "ping a", 1, "ping: not available in this session\r\n");
	EXPECT(f, "resolve a", 1, "resolve: not available in this session\r\n");
	fix_free(f);
}

static void
test_show_status_hidden(void **state)
{
	struct fix *f = fix_new("[[groups]]\nname = \"ops\"\n",
	    "group = \"ops\"\n[users.shell_permissions]\nshow_role = false\n"
	    "show_auth_method = false\nshow_source_ip = false\n"
	    "show_uptime = false\nshow_connections = false\n"
	    "show_expires = false\nshow_bandwidth = false\n");

	(void)state;
	EXPECT(f, "show status", 0, "Session status\r\n"
	    "  User:        alice\r\n  Group:       ops\r\n");
	fix_free(f);
}

static void
test_test_cmd(void **state)
{
	struct fix *f = fix_new("", "");

	(void)state;
	EXPECT(f, "test", 1, "Usage: test <host:port|@bookmark>\r\n");
	EXPECT(f, "test nohost", 1, "Invalid target 'nohost'. Expected "
	    "host:port ([addr]:port for IPv6)\r\n");
	EXPECT(f, "test a:0", 1, "Invalid target 'a:0'. Expected "
	    "host:port ([addr]:port for IPv6)\r\n");
	EXPECT(f, "test ::1:80", 1, "Invalid target '::1:80'. Expected "
	    "host:port ([addr]:port for IPv6)\r\n");
	f->t.probe.status = SHELL_PROBE_OK;
	f->t.probe.acl_allowed = 1;
	snprintf(f->t.probe.why, sizeof(f->t.probe.why),
	    "default policy (allow)");
	snprintf(f->t.probe.addr, sizeof(f->t.probe.addr), "127.0.0.1:80");
	f->t.probe.connect_us = 1234;
	EXPECT(f, "test localhost:80", 0,
	    "localhost:80 -> ALLOWED (default policy (allow))\r\n"
	    "TCP connect to 127.0.0.1:80: open (1.2 ms)\r\n");
	assert_string_equal(f->t.last_host, "localhost");
	assert_int_equal(f->t.last_port, 80);
	EXPECT(f, "test [::1]:8080", 0,
	    "[::1]:8080 -> ALLOWED (default policy (allow))\r\n"
	    "TCP connect to 127.0.0.1:80: open (1.2 ms)\r\n");
	assert_string_equal(f->t.last_host, "::1");
	f->t.probe.status = SHELL_PROBE_REFUSED;
	EXPECT(f, "test a:1", 1, "a:1 -> ALLOWED (default policy (allow))\r\n"
	    "TCP connect to 127.0.0.1:80: connection refused\r\n");
	f->t.probe.status = SHELL_PROBE_TIMEOUT;
	CONTAINS(f, "test a:1", 1, "no answer (timeout)");
	f->t.probe.status = SHELL_PROBE_DENIED;
	snprintf(f->t.probe.why, sizeof(f->t.probe.why),
	    "deny rule 1 'a:*'");
	EXPECT(f, "test a:1", 1, "a:1 -> DENIED (deny rule 1 'a:*')\r\n");
	f->t.probe.status = SHELL_PROBE_BLOCKED;
	snprintf(f->t.probe.why, sizeof(f->t.probe.why),
	    "10.0.0.0/8 (private-use)");
	snprintf(f->t.probe.addr, sizeof(f->t.probe.addr), "10.1.1.1:1");
	EXPECT(f, "test a:1", 1, "a:1 -> DENIED (anti-SSRF: 10.1.1.1:1 is in "
	    "10.0.0.0/8 (private-use))\r\n");
	f->t.probe.status = SHELL_PROBE_NORESOLVE;
	snprintf(f->t.probe.why, sizeof(f->t.probe.why), "name not found");
	EXPECT(f, "test a:1", 1, "a:1 -> cannot resolve (name not found)\r\n");
	f->t.probe_ret = ERR_IO;
	CONTAINS(f, "test a:1", 1, "test: a:1: ");
	/* Bookmarks. */
	f->t.probe_ret = 0;
	EXPECT(f, "test @nope", 1, "test: no bookmark named 'nope' (see "
	    "bookmark list)\r\n");
	EXPECT(f, "bookmark add web example.com:443", 0,
	    "Added bookmark web -> example.com:443\r\n");
	CONTAINS(f, "test @web", 1, "example.com:443 -> cannot resolve");
	assert_string_equal(f->t.last_host, "example.com");
	assert_int_equal(f->t.last_port, 443);
	fix_free(f);
}

static void
test_ping(void **state)
{
	struct fix *f = fix_new("", "");

	(void)state;
	f->t.probe.status = SHELL_PROBE_OK;
	snprintf(f->t.probe.why, sizeof(f->t.probe.why), "x");
	snprintf(f->t.probe.addr, sizeof(f->t.probe.addr), "127.0.0.1:80");
	f->t.probe.connect_us = 2000;
	EXPECT(f, "ping -c 2 localhost", 0,
	    "TCP ping localhost:80: TCP connect round-trip times, not ICMP\r\n"
	    "connected to 127.0.0.1:80: seq=1 time=2.0 ms\r\n"
	    "connected to 127.0.0.1:80: seq=2 time=2.0 ms\r\n"
	    "--- localhost:80: 2 probes, 2 connected, 0 failed\r\n"
	    "connect time min/avg/max = 2.0/2.0/2.0 ms\r\n");
	assert_int_equal(f->t.nprobes, 2);
	CONTAINS(f, "ping -c 1 ::1", 0, "TCP ping [::1]:80");
	CONTAINS(f, "ping -c 1 [::1]:22", 0, "TCP ping [::1]:22");
	EXPECT(f, "ping -c 0 a", 1, "Usage: ping [-c 1..10] "
	    "<host[:port]|@bookmark>\r\n");
	EXPECT(f, "ping -c 11 a", 1, "Usage: ping [-c 1..10] "
	    "<host[:port]|@bookmark>\r\n");
	EXPECT(f, "ping", 1, "Usage: ping [-c 1..10] "
	    "<host[:port]|@bookmark>\r\n");
	f->t.probe.status = SHELL_PROBE_REFUSED;
	EXPECT(f, "ping -c 1 a:7", 1,
	    "TCP ping a:7: TCP connect round-trip times, not ICMP\r\n"
	    "127.0.0.1:80: seq=1 connection refused\r\n"
	    "--- a:7: 1 probes, 0 connected, 1 failed\r\n");
	f->t.probe.status = SHELL_PROBE_DENIED;
	f->t.nprobes = 0;
	CONTAINS(f, "ping a", 1, "a:80 -> DENIED (x)");
	assert_int_equal(f->t.nprobes, 1);
	fix_free(f);
}

static void
test_resolve(void **state)
{
	struct fix *f = fix_new("", "");

	(void)state;
	f->t.resolve_addrs[0] = "127.0.0.1";
	f->t.resolve_addrs[1] = "::1";
	EXPECT(f, "resolve localhost", 0, "localhost: 2 addresses (1.5 ms)\r\n"
	    "  127.0.0.1\r\n  ::1\r\n");
	EXPECT(f, "resolve", 1, "Usage: resolve <host|@bookmark>\r\n");
	f->t.resolve_ret = ERR_NOTFOUND;
	EXPECT(f, "resolve nx.test", 1, "resolve: nx.test: name not found\r\n");
	f->t.resolve_ret = ERR_TIMEOUT;
	EXPECT(f, "resolve nx.test", 1,
	    "resolve: nx.test: no answer in time\r\n");
	f->t.resolve_ret = ERR_DENIED;
	EXPECT(f, "resolve nx.test", 1, "resolve: nx.test: denied by the "
	    "ACL\r\n");
	f->t.resolve_ret = 0;
	f->t.resolve_addrs[1] = NULL;
	EXPECT(f, "bookmark add db db.test:5432", 0,
	    "Added bookmark db -> db.test:5432\r\n");
	EXPECT(f, "resolve @db", 0, "db.test: 1 address (1.5 ms)\r\n"
	    "  127.0.0.1\r\n");
	assert_string_equal(f->t.last_host, "db.test");
	fix_free(f);
}

static void
test_bookmarks(void **state)
{
	struct fix *f = fix_new("", "");
	struct shell_store *st = shell_store_new(0, 2);

	(void)state;
	EXPECT(f, "bookmark", 0, "No bookmarks (add one with: bookmark add "
	    "<name> <host:port>)\r\n");
	EXPECT(f, "bookmark add b b.test:1", 0, "Added bookmark b -> "
	    "b.test:1\r\n");
	EXPECT(f, "bookmark add a [::1]:2", 0, "Added bookmark a -> "
	    "[::1]:2\r\n");
	EXPECT(f, "bookmark add a a.test:3", 0, "Updated bookmark a -> "
	    "a.test:3\r\n");
	EXPECT(f, "bookmark list", 0, "Bookmarks:\r\n  a -> a.test:3\r\n"
	    "  b -> b.test:1\r\n");
	EXPECT(f, "bookmark add 'x y' a:1", 1, "bookmark: invalid name 'x y' "
	    "(1 to 32 of A-Z a-z 0-9 _ . -)\r\n");
	EXPECT(f, "bookmark add c nohostport", 1, "bookmark: invalid target "
	    "'nohostport'. Expected host:port ([addr]:port for IPv6)\r\n");
	EXPECT(f, "bookmark del a", 0, "Removed bookmark 'a'\r\n");
	EXPECT(f, "bookmark rm a", 1, "bookmark: no bookmark named 'a'\r\n");
	CONTAINS(f, "bookmark frob", 1, "Usage: bookmark add <name> "
	    "<host:port>\r\n");
	/* The store outlives sessions and has a bound. */
	f->x.store = st;
	EXPECT(f, "bookmark add a a:1", 0, "Added bookmark a -> a:1\r\n");
	EXPECT(f, "bookmark add b b:1", 0, "Added bookmark b -> b:1\r\n");
	EXPECT(f, "bookmark add c c:1", 1, "bookmark: too many bookmarks; "
	    "delete one first\r\n");
	EXPECT(f, "bookmark list", 0, "Bookmarks:\r\n  a -> a:1\r\n"
	    "  b -> b:1\r\n");
	shell_store_free(st);
	fix_free(f);
}

static void
test_aliases(void **state)
{
	struct fix *f = fix_new("", "[users.aliases]\nme = \"whoami\"\n"
	    "hi = \"echo hello\"\n");

	(void)state;
	EXPECT(f, "me", 0, "alice\r\n");
	EXPECT(f, "hi there", 0, "hello there\r\n");
	EXPECT(f, "alias", 0, "Aliases:\r\n  me = 'whoami' (configured)\r\n"
	    "  hi = 'echo hello' (configured)\r\n");
	EXPECT(f, "alias add ll ls -la", 0, "Added alias ll = 'ls -la'\r\n");
	EXPECT(f, "alias up=echo up", 0, "Added alias up = 'echo up'\r\n");
	EXPECT(f, "alias add x=echo  x", 0, "Added alias x = 'echo x'\r\n");
	EXPECT(f, "alias add hi echo hey", 0, "Added alias hi = 'echo "
	    "hey'\r\n");
	EXPECT(f, "hi", 0, "hey\r\n");
	EXPECT(f, "up", 0, "up\r\n");
	EXPECT(f, "ll /var", 0, "total 12\r\n"
	    "drwxr-xr-x  2 root root  4096 Jan  1 00:00 .\r\n"
	    "drwxr-xr-x  2 root root  4096 Jan  1 00:00 ..\r\n"
	    "drwxr-xr-x  2 root root  4096 Jan  1 00:00 log\r\n");
	EXPECT(f, "alias list", 0, "Aliases:\r\n  hi = 'echo hey'\r\n"
	    "  ll = 'ls -la'\r\n  up = 'echo up'\r\n  x = 'echo x'\r\n"
	    "  me = 'whoami' (configured)\r\n");
	EXPECT(f, "alias del hi", 0, "Removed alias 'hi'\r\n");
	EXPECT(f, "hi", 0, "hello\r\n");
	EXPECT(f, "alias del me", 1, "alias: 'me' is set in the server "
	    "configuration and cannot be removed\r\n");
	EXPECT(f, "alias del nope", 1, "alias: no alias named 'nope'\r\n");
	CONTAINS(f, "alias add", 1, "Usage: alias add <name> <command...>");
	EXPECT(f, "alias add b/d echo", 1, "alias: invalid name 'b/d' (1 to "
	    "32 of A-Z a-z 0-9 _ . -)\r\n");
	/* One level only: an alias naming an alias is a command name. */
	EXPECT(f, "alias add loop loop", 0, "Added alias loop = 'loop'\r\n");
	EXPECT(f, "loop", 127, "loop: command not found\r\n");
	fix_free(f);
}

static void
test_history_cmd(void **state)
{
	struct fix *f = fix_new("[motd]\nenabled = false\n", "");
	struct shell *sh = session(f);

	(void)state;
	type(f, sh, "whoami");
	type(f, sh, "whoami");
	type(f, sh, " hidden");
	type(f, sh, "pwd");
	assert_string_equal(type(f, sh, "history"), "    1  whoami\r\n"
	    "    2  pwd\r\n    3  history\r\nalice@h:~$ ");
	assert_string_equal(type(f, sh, "history 1"),
	    "    4  history 1\r\nalice@h:~$ ");
	/* exec sees the shared per-user history. */
	CONTAINS(f, "history", 0, "    2  pwd\r\n");
	type(f, sh, "history -c");
	assert_string_equal(type(f, sh, "history"), "    1  history\r\n"
	    "alice@h:~$ ");
	assert_string_equal(type(f, sh, "history x"),
	    "history: x: numeric argument required\r\nalice@h:~$ ");
	shell_free(sh);
	fix_free(f);
}

static void
test_write_error(void **state)
{
	struct fix *f = fix_new("", "");
	struct shell *sh = shell_new(&f->x, 80, 24, t_write, &f->o);

	(void)state;
	f->o.fail = 1;
	assert_true(shell_start(sh) < 0);
	assert_true(shell_input(sh, "ls\r", 3) < 0);
	shell_free(sh);
	fix_free(f);
}

static void
test_many_commands(void **state)
{
	struct fix *f = fix_new("[motd]\nenabled = false\n", "");
	struct shell *sh = session(f);
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		assert_string_equal(type(f, sh, "echo x"),
		    "x\r\nalice@h:~$ ");
	}
	shell_free(sh);
	fix_free(f);
}

/* Sessions of one user in parallel threads share one store. */
struct worker {
	struct fix	*f;
	int		 id;
	int		 ok;
};

static int
discard(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return 0;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct shell *sh = shell_new(&w->f->x, 80, 24, discard, NULL);
	char line[64];
	int i;

	shell_start(sh);
	for (i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "bookmark add b%d_%d h:%d\r",
		    w->id, i % 10, i + 1);
		shell_input(sh, line, strlen(line));
		snprintf(line, sizeof(line), "alias add a%d echo %d\r",
		    w->id, i);
		shell_input(sh, line, strlen(line));
		shell_input(sh, "bookmark list\r", 14);
		snprintf(line, sizeof(line), "bookmark del b%d_%d\r", w->id,
		    (i + 5) % 10);
		shell_input(sh, line, strlen(line));
	}
	w->ok = shell_exec(&w->f->x, "history", discard, NULL) == 0;
	shell_free(sh);
	return NULL;
}

static void
test_store_threads(void **state)
{
	struct fix *f = fix_new("[motd]\nenabled = false\n", "");
	struct worker w[4];
	pthread_t tid[4];
	int i;

	(void)state;
	shell_store_free(f->st);
	f->st = shell_store_new(1000, 1000);
	f->x.store = f->st;
	for (i = 0; i < 4; i++) {
		w[i].f = f;
		w[i].id = i;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(w[i].ok, 1);
	}
	/* each worker ends with b5..b9 of its bookmarks and one alias */
	assert_int_equal(t_exec(&f->x, "bookmark list", &f->o), 0);
	for (i = 0; i < 4; i++) {
		char want[32];

		snprintf(want, sizeof(want), "  b%d_5 -> h:", i);
		assert_non_null(strstr(t_str(&f->o), want));
		snprintf(want, sizeof(want), "  b%d_4 -> h:", i);
		assert_null(strstr(t_str(&f->o), want));
	}
	CONTAINS(f, "alias list", 0, "  a3 = 'echo 99'\r\n");
	CONTAINS(f, "history", 0, "bookmark list\r\n");
	fix_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_fs),
		cmocka_unit_test(test_cd_paths),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_show_status_hidden),
		cmocka_unit_test(test_test_cmd),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_bookmarks),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_history_cmd),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_many_commands),
		cmocka_unit_test(test_store_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

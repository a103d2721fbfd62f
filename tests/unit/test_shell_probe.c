/* Unit tests of the policy-only probes (shell_net_*): real TCP connects
 * to loopback listeners, ACL and anti-SSRF verdicts, lookups through a
 * substitute resolver (never the outside DNS), and the timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <unistd.h>

#include "test_shell_util.h"
#include "policy/snap.h"

/* A substitute lookup: "*.test" names resolve to 127.0.0.1, "slow.test"
 * waits for the test to release it, anything else does not exist. */
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static int slow_release, slow_done, lookups;

static int
fake_lookup(const char *host, struct sockaddr_storage *out, size_t max,
    size_t *n)
{
	socklen_t sl;
	size_t l = strlen(host);

	(void)max;
	*n = 0;
	__atomic_add_fetch(&lookups, 1, __ATOMIC_SEQ_CST);
	if (strcmp(host, "slow.test") == 0) {
		pthread_mutex_lock(&slow_lock);
		while (!slow_release) {
			pthread_cond_wait(&slow_cond, &slow_lock);
		}
		slow_done++;
		pthread_cond_broadcast(&slow_cond);
		pthread_mutex_unlock(&slow_lock);
		return ERR_AGAIN;
	}
	if (l > 5 && strcmp(host + l - 5, ".test") == 0) {
		net_sockaddr_parse_literal("127.0.0.1", 0, &out[0], &sl);
		*n = 1;
		return 0;
	}
	return ERR_NOTFOUND;
}

struct pf {
	struct cfg		*c;
	struct policy_state	*ps;
	struct policy_snap	*snap;
	struct shell_net	 net;
};

static struct pf *
pf_new(const char *security, const char *acl)
{
	struct pf *p = xcalloc(1, sizeof(*p));
	char *pre = xasprintf("[security]\n%s\n[acl]\n%s\n", security, acl);

	p->c = t_cfg(pre, "");
	free(pre);
	assert_non_null(p->c);
	p->ps = policy_state_new();
	p->snap = policy_snap_new(p->c, 1, p->ps);
	p->net.snap = p->snap;
	p->net.user = policy_snap_user(p->snap, "alice");
	p->net.lookup = fake_lookup;
	assert_non_null(p->net.user);
	return p;
}

static void
pf_free(struct pf *p)
{
	policy_snap_unref(p->snap);
	policy_state_free(p->ps);
	free(p);
}

/* A loopback listener; returns its fd and port. */
static int
listener(uint16_t *port)
{
	char err[128];
	int fd = net_listen_tcp("127.0.0.1", 0, 0, 8, err, sizeof(err));

	assert_true(fd >= 0);
	*port = net_local_port(fd);
	assert_true(*port != 0);
	return fd;
}

#define GUARD_OFF	"ip_guard_enabled = false"
#define GUARD_LO	"ip_guard_allow = [\"127.0.0.0/8\"]"

static void
test_connect_ok(void **state)
{
	struct pf *p = pf_new(GUARD_LO, "");
	struct shell_probe pr;
	char want[64];
	uint16_t port;
	int fd = listener(&port);

	(void)state;
	assert_int_equal(shell_net_probe(&p->net, "127.0.0.1", port, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_OK);
	assert_int_equal(pr.acl_allowed, 1);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	assert_string_equal(pr.addr, want);
	assert_string_equal(pr.why, "default policy (allow)");
	/* by name through the substitute resolver */
	assert_int_equal(shell_net_probe(&p->net, "svc.test", port, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_OK);
	assert_string_equal(pr.addr, want);
	close(fd);
	/* now nothing listens there */
	assert_int_equal(shell_net_probe(&p->net, "127.0.0.1", port, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_REFUSED);
	assert_int_equal(pr.acl_allowed, 1);
	pf_free(p);
}

static void
test_guard_and_acl(void **state)
{
	struct pf *g = pf_new("", "");
	struct pf *a = pf_new(GUARD_OFF, "deny = [\"blocked.test:*\", "
	    "\"127.0.0.2/32:*\"]");
	struct pf *d = pf_new(GUARD_OFF, "default_policy = \"deny\"\n"
	    "allow = [\"ok.test:80\"]");
	struct shell_probe pr;
	uint16_t port;
	int fd = listener(&port);

	(void)state;
	/* anti-SSRF blocks loopback unless exempt */
	assert_int_equal(shell_net_probe(&g->net, "127.0.0.1", port, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_BLOCKED);
	assert_non_null(strstr(pr.why, "127.0.0.0/8"));
	assert_int_equal(pr.acl_allowed, 0);
	assert_int_equal(shell_net_probe(&g->net, "svc.test", port, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_BLOCKED);
	/* a deny rule on the name refuses before any lookup */
	lookups = 0;
	assert_int_equal(shell_net_probe(&a->net, "blocked.test", 80, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_DENIED);
	assert_int_equal(lookups, 0);
	assert_non_null(strstr(pr.why, "deny rule 1"));
	assert_int_equal(shell_net_probe(&a->net, "127.0.0.2", 80, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_DENIED);
	/* deny by default, allow one name and port */
	assert_int_equal(shell_net_probe(&d->net, "other.test", 80, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_DENIED);
	assert_string_equal(pr.why, "default policy (deny)");
	assert_int_equal(shell_net_probe(&d->net, "ok.test", 81, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_DENIED);
	assert_int_equal(shell_net_probe(&d->net, "ok.test", 80, 2000,
	    &pr), 0);
	assert_int_equal(pr.acl_allowed, 1);
	assert_non_null(strstr(pr.why, "allow rule 1"));
	/* names that do not exist */
	assert_int_equal(shell_net_probe(&a->net, "nx.invalid", 80, 2000,
	    &pr), 0);
	assert_int_equal(pr.status, SHELL_PROBE_NORESOLVE);
	assert_string_equal(pr.why, "name not found");
	close(fd);
	pf_free(g);
	pf_free(a);
	pf_free(d);
}

static void
test_resolve(void **state)
{
	struct pf *p = pf_new(GUARD_OFF, "deny = [\"secret.test:*\"]");
	struct sockaddr_storage a[4];
	uint64_t us;
	size_t n;

	(void)state;
	assert_int_equal(shell_net_resolve(&p->net, "::1", 1000, a, 4, &n,
	    &us), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].ss_family, AF_INET6);
	assert_int_equal(shell_net_resolve(&p->net, "db.test", 1000, a, 4,
	    &n, &us), 0);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].ss_family, AF_INET);
	assert_int_equal(shell_net_resolve(&p->net, "nx.invalid", 1000, a, 4,
	    &n, &us), ERR_NOTFOUND);
	assert_int_equal(shell_net_resolve(&p->net, "secret.test", 1000, a,
	    4, &n, &us), ERR_DENIED);
	pf_free(p);
}

static void
test_timeout(void **state)
{
	struct pf *p = pf_new(GUARD_OFF, "");
	struct shell_probe pr;
	struct sockaddr_storage a[4];
	uint64_t us;
	size_t n;

	(void)state;
	slow_release = slow_done = 0;
	assert_int_equal(shell_net_resolve(&p->net, "slow.test", 50, a, 4,
	    &n, &us), ERR_TIMEOUT);
	assert_int_equal(shell_net_probe(&p->net, "slow.test", 80, 50, &pr),
	    0);
	assert_int_equal(pr.status, SHELL_PROBE_NORESOLVE);
	assert_string_equal(pr.why, "no answer in time");
	/* let the helper threads finish before the test ends */
	pthread_mutex_lock(&slow_lock);
	slow_release = 1;
	pthread_cond_broadcast(&slow_cond);
	while (slow_done < 2) {
		pthread_cond_wait(&slow_cond, &slow_lock);
	}
	pthread_mutex_unlock(&slow_lock);
	usleep(50000);	/* the detached threads drop their reference */
	pf_free(p);
}

/* The shell command on top of the real probes. */
static void
test_shell_command(void **state)
{
	struct pf *p = pf_new(GUARD_LO, "deny = [\"bad.test:*\"]");
	struct shell_ops ops;
	struct shell_ctx x;
	struct t_out o = { NULL, 0, 0 };
	char *line = NULL, *want = NULL;
	uint16_t port;
	int fd = listener(&port);

	(void)state;
	shell_net_ops(&p->net, &ops);
	assert_null(ops.stats);
	t_ctx(&x, p->c, &ops, NULL);
	line = xasprintf("test 127.0.0.1:%u", port);
	want = xasprintf("127.0.0.1:%u -> ALLOWED (default policy (allow))"
	    "\r\nTCP connect to 127.0.0.1:%u: open (", port, port);
	assert_int_equal(shell_exec(&x, line, t_write, &o), 0);
	assert_memory_equal(t_str(&o), want, strlen(want));
	t_reset(&o);
	assert_int_equal(shell_exec(&x, "test bad.test:1", t_write, &o), 1);
	assert_string_equal(t_str(&o), "bad.test:1 -> DENIED (deny rule 1 "
	    "'bad.test:*')\r\n");
	t_reset(&o);
	assert_int_equal(shell_exec(&x, "resolve web.test", t_write, &o), 0);
	assert_memory_equal(t_str(&o), "web.test: 1 address (", 21);
	t_reset(&o);
	free(line);
	free(want);
	close(fd);
	pf_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_ok),
		cmocka_unit_test(test_guard_and_acl),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_shell_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

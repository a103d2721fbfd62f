/*
 * Unit tests for net/resolve.c. Only "localhost" and IP literals reach the
 * real getaddrinfo(); every other name goes to a fake lookup function, so
 * no query ever leaves the machine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/pool.h"
#include "net/net.h"

/* What one callback saw. */
struct answer {
	int			 calls;
	int			 status;
	size_t			 naddrs;
	struct sockaddr_storage	 addrs[NET_RESOLVE_MAX_ADDRS];
};

/* The fake lookup's switches (shared with worker threads). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open = 1;
static atomic_int fake_calls;
static atomic_int fake_finished;
static atomic_size_t fake_max_seen;

/* Fake lookup: "hN.test" -> 10.0.0.N; "nx.test" -> not found;
 * "tmp.test" -> temporary failure; "slow.test" waits for the gate. */
static int
fake_lookup(const char *host, struct sockaddr_storage *out, size_t max,
    size_t *n)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	unsigned v;
	int rc = 0;

	atomic_fetch_add(&fake_calls, 1);
	atomic_store(&fake_max_seen, max);
	*n = 0;
	if (strcmp(host, "slow.test") == 0) {
		pthread_mutex_lock(&gate_mu);
		while (!gate_open) {
			pthread_cond_wait(&gate_cv, &gate_mu);
		}
		pthread_mutex_unlock(&gate_mu);
		host = "h1.test";
	}
	if (strcmp(host, "nx.test") == 0) {
		rc = ERR_NOTFOUND;
	} else if (strcmp(host, "tmp.test") == 0) {
		rc = ERR_AGAIN;
	} else if (sscanf(host, "h%u.test", &v) == 1 && v < 256) {
		memset(out, 0, sizeof(*out));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0x0a000000u | v);
		*n = 1;
	} else {
		rc = ERR_IO;
	}
	atomic_fetch_add(&fake_finished, 1);
	return rc;
}

static void
gate_set(int open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

static void
on_answer(void *arg, int status, const struct sockaddr_storage *addrs,
    size_t naddrs)
{
	struct answer *a = arg;

	a->calls++;
	a->status = status;
	a->naddrs = naddrs;
	assert_true(naddrs <= NET_RESOLVE_MAX_ADDRS);
	assert_true((status == 0) == (naddrs > 0));
	if (naddrs > 0) {
		memcpy(a->addrs, addrs, naddrs * sizeof(*addrs));
	}
}

/* Runs the loop until *count reaches target (fails after 5 s). */
static void
run_until(struct ev *ev, const int *count, int target)
{
	int i;

	for (i = 0; i < 500 && *count < target; i++) {
		assert_true(ev_run_once(ev, 10) >= 0);
	}
	assert_int_equal(*count, target);
}

/* Runs a few iterations to flush anything pending. */
static void
run_idle(struct ev *ev, int ms)
{
	int i;

	for (i = 0; i < ms / 10; i++) {
		(void)ev_run_once(ev, 10);
	}
}

struct fixture {
	struct ev	*ev;
	struct pool	*pool;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->ev = ev_new(0);
	f->pool = pool_new(2, 64);
	if (f->ev == NULL || f->pool == NULL) {
		return -1;
	}
	atomic_store(&fake_calls, 0);
	atomic_store(&fake_finished, 0);
	gate_set(1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	gate_set(1);
	pool_free(f->pool);
	ev_free(f->ev);
	free(f);
	return 0;
}

/* Resolves one name and waits for the answer. */
static void
resolve_wait(struct fixture *f, struct net_resolver *r, const char *host,
    struct answer *a)
{
	memset(a, 0, sizeof(*a));
	(void)net_resolve(r, f->ev, host, on_answer, a);
	assert_int_equal(a->calls, 0);	/* never synchronous */
	run_until(f->ev, &a->calls, 1);
}

static uint32_t
v4_of(const struct sockaddr_storage *ss)
{
	assert_int_equal(ss->ss_family, AF_INET);
	return ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
}

static void
test_literals(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 100);
	struct net_resolver_stats st;
	struct answer a;

	resolve_wait(f, r, "192.0.2.7", &a);
	assert_int_equal(a.status, 0);
	assert_int_equal(a.naddrs, 1);
	assert_int_equal(v4_of(&a.addrs[0]), 0xc0000207u);
	assert_int_equal(net_sockaddr_port(&a.addrs[0]), 0);
	resolve_wait(f, r, "2001:db8::5", &a);
	assert_int_equal(a.status, 0);
	assert_int_equal(a.addrs[0].ss_family, AF_INET6);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 0);
	assert_int_equal(st.misses, 0);
	assert_int_equal(st.entries, 0);
	net_resolver_free(r);
}

static void
test_localhost_and_cache_hit(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 100);
	struct net_resolver_stats st;
	struct answer a;
	size_t i;
	int found = 0;

	resolve_wait(f, r, "localhost", &a);
	assert_int_equal(a.status, 0);
	for (i = 0; i < a.naddrs; i++) {
		if (a.addrs[i].ss_family == AF_INET &&
		    v4_of(&a.addrs[i]) == 0x7f000001u) {
			found = 1;
		}
	}
	assert_true(found);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.entries, 1);
	/* Second time (any case) from the cache: no worker. */
	resolve_wait(f, r, "LocalHost", &a);
	assert_int_equal(a.status, 0);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.hits, 1);
	net_resolver_free(r);
}

static void
test_ttl_zero_no_cache(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, 0, 100);
	struct net_resolver_stats st;
	struct answer a;

	net_resolver_set_lookup(r, fake_lookup);
	resolve_wait(f, r, "h1.test", &a);
	resolve_wait(f, r, "h1.test", &a);
	assert_int_equal(a.status, 0);
	assert_int_equal(v4_of(&a.addrs[0]), 0x0a000001u);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 2);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(atomic_load(&fake_max_seen), NET_RESOLVE_MAX_ADDRS);
	net_resolver_free(r);
	/* max_entries 0 turns the cache off too. */
	r = net_resolver_new(f->pool, 60, 0);
	net_resolver_set_lookup(r, fake_lookup);
	resolve_wait(f, r, "h1.test", &a);
	resolve_wait(f, r, "h1.test", &a);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 2);
	net_resolver_free(r);
}

static void
test_failures_not_cached(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 100);
	struct net_resolver_stats st;
	struct answer a;

	net_resolver_set_lookup(r, fake_lookup);
	resolve_wait(f, r, "nx.test", &a);
	assert_int_equal(a.status, ERR_NOTFOUND);
	assert_int_equal(a.naddrs, 0);
	resolve_wait(f, r, "NX.test", &a);
	assert_int_equal(a.status, ERR_NOTFOUND);
	resolve_wait(f, r, "tmp.test", &a);
	assert_int_equal(a.status, ERR_AGAIN);
	resolve_wait(f, r, "other.test", &a);
	assert_int_equal(a.status, ERR_IO);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 4);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.entries, 0);
	net_resolver_free(r);
}

static void
test_invalid_names(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 100);
	char longname[400];
	struct answer a;

	net_resolver_set_lookup(r, fake_lookup);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	resolve_wait(f, r, "", &a);
	assert_int_equal(a.status, ERR_INVAL);
	resolve_wait(f, r, NULL, &a);
	assert_int_equal(a.status, ERR_INVAL);
	resolve_wait(f, r, longname, &a);
	assert_int_equal(a.status, ERR_INVAL);
	resolve_wait(f, r, "a b.test", &a);
	assert_int_equal(a.status, ERR_INVAL);
	resolve_wait(f, r, "a\nb", &a);
	assert_int_equal(a.status, ERR_INVAL);
	resolve_wait(f, r, "caf\xc3\xa9.test", &a);
	assert_int_equal(a.status, ERR_INVAL);
	assert_int_equal(atomic_load(&fake_calls), 0);
	/* 254 characters is still a name. */
	longname[NET_RESOLVE_MAX_NAME] = '\0';
	resolve_wait(f, r, longname, &a);
	assert_int_equal(a.status, ERR_IO);
	assert_int_equal(atomic_load(&fake_calls), 1);
	net_resolver_free(r);
}

static void
test_lru_eviction(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 2);
	struct net_resolver_stats st;
	struct answer a;

	net_resolver_set_lookup(r, fake_lookup);
	resolve_wait(f, r, "h1.test", &a);
	resolve_wait(f, r, "h2.test", &a);
	resolve_wait(f, r, "h1.test", &a);	/* hit: h1 is now newest */
	resolve_wait(f, r, "h3.test", &a);	/* evicts h2 */
	net_resolver_stats(r, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.lookups, 3);
	resolve_wait(f, r, "h1.test", &a);
	resolve_wait(f, r, "h3.test", &a);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 3);
	assert_int_equal(st.hits, 3);
	resolve_wait(f, r, "h2.test", &a);	/* gone: a worker again */
	assert_int_equal(v4_of(&a.addrs[0]), 0x0a000002u);
	net_resolver_stats(r, &st);
	assert_int_equal(st.lookups, 4);
	assert_int_equal(st.entries, 2);
	net_resolver_free(r);
}

static void
test_ttl_expiry(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, 1, 10);
	struct net_resolver_stats st;
	struct timespec ts = { 1, 100 * 1000 * 1000 };
	struct answer a;

	net_resolver_set_lookup(r, fake_lookup);
	resolve_wait(f, r, "h5.test", &a);
	resolve_wait(f, r, "h5.test", &a);
	net_resolver_stats(r, &st);
	assert_int_equal(st.hits, 1);
	nanosleep(&ts, NULL);
	resolve_wait(f, r, "h5.test", &a);
	assert_int_equal(a.status, 0);
	net_resolver_stats(r, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.lookups, 2);
	assert_int_equal(st.entries, 1);
	net_resolver_free(r);
}

static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 10);
	struct net_resolve_req *req = NULL;
	struct answer a, b;
	int i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	net_resolver_set_lookup(r, fake_lookup);
	gate_set(0);
	req = net_resolve(r, f->ev, "slow.test", on_answer, &a);
	run_idle(f->ev, 50);
	assert_int_equal(a.calls, 0);
	net_resolve_cancel(req);
	gate_set(1);
	for (i = 0; i < 500 && atomic_load(&fake_finished) < 1; i++) {
		(void)ev_run_once(f->ev, 10);
	}
	run_idle(f->ev, 50);
	assert_int_equal(a.calls, 0);
	/* A literal answered by a posted task can be cancelled too. */
	req = net_resolve(r, f->ev, "127.0.0.1", on_answer, &b);
	net_resolve_cancel(req);
	run_idle(f->ev, 30);
	assert_int_equal(b.calls, 0);
	net_resolve_cancel(NULL);
	net_resolver_free(r);
}

static void
test_free_with_lookup_in_flight(void **state)
{
	struct fixture *f = *state;
	struct net_resolver *r = net_resolver_new(f->pool, -1, 10);
	struct answer a;

	memset(&a, 0, sizeof(a));
	net_resolver_set_lookup(r, fake_lookup);
	gate_set(0);
	(void)net_resolve(r, f->ev, "slow.test", on_answer, &a);
	run_idle(f->ev, 20);
	net_resolver_free(r);
	gate_set(1);
	run_until(f->ev, &a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(v4_of(&a.addrs[0]), 0x0a000001u);
}

static void
test_queue_full(void **state)
{
	struct fixture *f = *state;
	struct pool *small = pool_new(1, 1);
	struct net_resolver *r = net_resolver_new(small, -1, 10);
	struct answer a, b, c;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	net_resolver_set_lookup(r, fake_lookup);
	gate_set(0);
	(void)net_resolve(r, f->ev, "slow.test", on_answer, &a);
	while (atomic_load(&fake_calls) < 1) {
		usleep(1000);	/* the worker holds slow.test */
	}
	(void)net_resolve(r, f->ev, "h2.test", on_answer, &b);	/* queued */
	(void)net_resolve(r, f->ev, "h3.test", on_answer, &c);	/* full */
	run_until(f->ev, &c.calls, 1);
	assert_int_equal(c.status, ERR_AGAIN);
	assert_int_equal(a.calls, 0);
	gate_set(1);
	run_until(f->ev, &b.calls, 1);
	run_until(f->ev, &a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	net_resolver_free(r);
	pool_free(small);
}

/* Several loops share one resolver with a tiny cache. */
struct sharer {
	struct net_resolver	*r;
	int			 done;
	int			 bad;
};

static void
on_shared(void *arg, int status, const struct sockaddr_storage *addrs,
    size_t naddrs)
{
	struct sharer *s = arg;

	if (status != 0 || naddrs != 1 || addrs[0].ss_family != AF_INET) {
		s->bad++;
	}
	s->done++;
}

static void *
sharer_main(void *arg)
{
	struct sharer *s = arg;
	struct ev *ev = ev_new(0);
	char name[32];
	int i, k;

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "h%d.test", i % 20);
		(void)net_resolve(s->r, ev, name, on_shared, s);
	}
	for (k = 0; k < 1000 && s->done < 300; k++) {
		(void)ev_run_once(ev, 10);
	}
	ev_free(ev);
	return NULL;
}

static void
test_shared_between_loops(void **state)
{
	struct fixture *f = *state;
	struct pool *big = pool_new(4, 1024);
	struct net_resolver *r = net_resolver_new(big, -1, 8);
	struct sharer s[3];
	pthread_t t[3];
	struct net_resolver_stats st;
	int i;

	(void)f;
	net_resolver_set_lookup(r, fake_lookup);
	for (i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].r = r;
		assert_int_equal(pthread_create(&t[i], NULL, sharer_main,
		    &s[i]), 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].done, 300);
		assert_int_equal(s[i].bad, 0);
	}
	net_resolver_stats(r, &st);
	assert_int_equal(st.hits + st.misses, 900);
	assert_true(st.entries <= 8);
	net_resolver_free(r);
	pool_free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_localhost_and_cache_hit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_zero_no_cache, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failures_not_cached,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lru_eviction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ttl_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_lookup_in_flight,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shared_between_loops,
		    setup, teardown),
	};

	alarm(30);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

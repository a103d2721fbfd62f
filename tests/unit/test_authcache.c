/* Unit tests for the remembered password verifications. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "policy/authcache.h"

#define PHC	"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
#define PHC2	"$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$aGFzaGhhc2hoYXNo"

static void
test_hit_after_put(void **state)
{
	struct authcache *ac = authcache_new(64);

	(void)state;
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 1000), 0);
	authcache_put(ac, "alice", PHC, "pw", 2, 1000, 5000);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 1001), 1);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 5999), 1);
	authcache_free(ac);
}

static void
test_misses(void **state)
{
	struct authcache *ac = authcache_new(64);

	(void)state;
	authcache_put(ac, "alice", PHC, "pw", 2, 0, 5000);
	/* wrong password, other user, changed hash, prefix of the password */
	assert_int_equal(authcache_check(ac, "alice", PHC, "pX", 2, 1), 0);
	assert_int_equal(authcache_check(ac, "bob", PHC, "pw", 2, 1), 0);
	assert_int_equal(authcache_check(ac, "alice", PHC2, "pw", 2, 1), 0);
	assert_int_equal(authcache_check(ac, "alice", PHC, "p", 1, 1), 0);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw\0", 3, 1), 0);
	/* field boundaries are not ambiguous: ("ab","c...") vs ("a","bc...") */
	authcache_put(ac, "ab", "c", "", 0, 0, 5000);
	assert_int_equal(authcache_check(ac, "a", "bc", "", 0, 1), 0);
	assert_int_equal(authcache_check(ac, "ab", "c", "", 0, 1), 1);
	assert_int_equal(authcache_check(NULL, "alice", PHC, "pw", 2, 1), 0);
	authcache_free(ac);
}

static void
test_expiry_and_clear(void **state)
{
	struct authcache *ac = authcache_new(16);

	(void)state;
	authcache_put(ac, "alice", PHC, "pw", 2, 100, 50);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 149), 1);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 150), 0);
	/* an expired entry stays gone even if the clock went back */
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 120), 0);
	authcache_put(ac, "alice", PHC, "pw", 2, 0, 1000);
	authcache_clear(ac);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 1), 0);
	/* ttl 0 remembers nothing */
	authcache_put(ac, "alice", PHC, "pw", 2, 0, 0);
	assert_int_equal(authcache_check(ac, "alice", PHC, "pw", 2, 1), 0);
	authcache_free(ac);
	authcache_free(NULL);
}

static void
test_many_users_bounded(void **state)
{
	struct authcache *ac = authcache_new(16);
	char name[32];
	int i, hits = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		authcache_put(ac, name, PHC, "pw", 2, 0, 10000);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		hits += authcache_check(ac, name, PHC, "pw", 2, 1);
	}
	/* 16 slots: at most 16 survivors, and the last one always does */
	assert_true(hits >= 1 && hits <= 16);
	assert_int_equal(authcache_check(ac, "user999", PHC, "pw", 2, 1), 1);
	authcache_free(ac);
}

static struct authcache *shared;

static void *
hammer(void *arg)
{
	char name[32];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "t%d-%d", (int)(intptr_t)arg,
		    i % 50);
		authcache_put(shared, name, PHC, "pw", 2, 0, 10000);
		(void)authcache_check(shared, name, PHC, "pw", 2, 1);
		if (authcache_check(shared, name, PHC, "bad", 3, 1))
			return (void *)1;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	void *r;
	int i, bad = 0;

	(void)state;
	shared = authcache_new(128);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &r);
		bad += r != NULL;
	}
	assert_int_equal(bad, 0);
	authcache_free(shared);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_after_put),
		cmocka_unit_test(test_misses),
		cmocka_unit_test(test_expiry_and_clear),
		cmocka_unit_test(test_many_users_bounded),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

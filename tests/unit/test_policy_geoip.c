/* Unit tests for GeoIP (policy/geoip.c): the decision, and lookups in
 * MaxMind's test database when ../shared/geoip-test is present. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "policy/geoip.h"

static void
test_decide(void **state)
{
	char *allow[] = { "DE", "FR" }, *deny[] = { "FR", "US" };
	struct cfg_geoip c;
	char why[128];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(geoip_decide(&c, "US", why, sizeof(why)), 1);
	assert_int_equal(geoip_decide(&c, NULL, why, sizeof(why)), 1);
	c.denied_countries.v = deny;
	c.denied_countries.n = 2;
	assert_int_equal(geoip_decide(&c, "US", why, sizeof(why)), 0);
	assert_string_equal(why, "GeoIP: country US is denied");
	assert_int_equal(geoip_decide(&c, "JP", why, sizeof(why)), 1);
	c.allowed_countries.v = allow;
	c.allowed_countries.n = 2;
	/* Deny wins over allow. */
	assert_int_equal(geoip_decide(&c, "FR", why, sizeof(why)), 0);
	assert_int_equal(geoip_decide(&c, "DE", why, sizeof(why)), 1);
	assert_int_equal(geoip_decide(&c, "JP", why, sizeof(why)), 0);
	assert_string_equal(why, "GeoIP: country JP is not allowed");
	assert_int_equal(geoip_decide(&c, NULL, why, sizeof(why)), 1);
	c.fail_closed = 1;
	assert_int_equal(geoip_decide(&c, NULL, why, sizeof(why)), 0);
}

static void
test_lookup(void **state)
{
	const char *path = "../shared/geoip-test/GeoLite2-Country-Test.mmdb";
	struct geoip *g = NULL;
	struct sockaddr_in a;
	struct sockaddr_in6 b;
	char err[256], cc[3];

	(void)state;
	assert_int_equal(geoip_open("/nonexistent.mmdb", &g, err,
	    sizeof(err)), ERR_IO);
	assert_null(g);
	assert_non_null(strstr(err, "cannot open GeoIP database"));
	if (access(path, R_OK) != 0)
		skip();
	assert_int_equal(geoip_open(path, &g, err, sizeof(err)), 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, "81.2.69.160", &a.sin_addr);
	assert_int_equal(geoip_country(g, (struct sockaddr *)&a, cc), 0);
	assert_string_equal(cc, "GB");
	memset(&b, 0, sizeof(b));
	b.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2a02:cf40::1", &b.sin6_addr);
	assert_int_equal(geoip_country(g, (struct sockaddr *)&b, cc), 0);
	assert_string_equal(cc, "NO");
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(geoip_country(g, (struct sockaddr *)&a, cc),
	    ERR_NOTFOUND);
	geoip_free(g);
	geoip_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

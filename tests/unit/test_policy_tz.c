/* Unit tests for zone files (policy/tzif.c) and zoned access windows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "policy/policy.h"
#include "policy/tzif.h"
#include "test_config_util.h"

#define ZONES	"/usr/share/zoneinfo"

/* Reads a whole file; NULL if missing. */
static unsigned char *
slurp(const char *path, size_t *n)
{
	unsigned char *b = NULL;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	b = malloc(TZ_MAX_FILE);
	*n = fread(b, 1, TZ_MAX_FILE, f);
	fclose(f);
	return b;
}

static void
test_offsets(void **state)
{
	struct tz z;
	char err[256];

	(void)state;
	if (access(ZONES "/Europe/Paris", R_OK) != 0)
		skip();
	assert_int_equal(tz_load(NULL, "Europe/Paris", &z, err, sizeof(err)),
	    0);
	/* 2026-01-15 12:00Z: CET; 2026-07-01 12:00Z: CEST. */
	assert_int_equal(tz_offset(&z, 1768478400), 3600);
	assert_int_equal(tz_offset(&z, 1782907200), 7200);
	/* 2026-03-29 01:00Z is the switch to summer time. */
	assert_int_equal(tz_offset(&z, 1774746000 - 1), 3600);
	assert_int_equal(tz_offset(&z, 1774746000), 7200);
	tz_cleanup(&z);
	assert_int_equal(tz_load(NULL, "America/New_York", &z, err,
	    sizeof(err)), 0);
	assert_int_equal(tz_offset(&z, 1768478400), -5 * 3600);
	assert_int_equal(tz_offset(&z, 1782907200), -4 * 3600);
	tz_cleanup(&z);
	assert_int_equal(tz_load(NULL, "../etc/passwd", &z, err, sizeof(err)),
	    ERR_INVAL);
	assert_int_equal(tz_load(NULL, "/etc/passwd", &z, err, sizeof(err)),
	    ERR_INVAL);
	assert_int_equal(tz_load(NULL, "No/Such_Zone", &z, err, sizeof(err)),
	    ERR_IO);
	assert_non_null(strstr(err, "unknown time zone"));
	assert_int_equal(tz_load("/etc", "hostname", &z, err, sizeof(err)),
	    ERR_INVAL);
}

static void
test_truncations_and_flips(void **state)
{
	unsigned char *b = NULL, *c = NULL;
	struct tz z;
	size_t n = 0, i, cut, foot;
	unsigned bit;

	(void)state;
	if ((b = slurp(ZONES "/Europe/Paris", &n)) == NULL)
		skip();
	assert_int_equal(tz_parse(b, n, &z), 0);
	tz_cleanup(&z);
	/* Every prefix that cuts into the data is refused; the v2 block
	 * ends where the footer ("\nCET-1CEST,...\n") starts. */
	foot = n - 1;
	while (foot > 0 && b[foot - 1] != '\n')
		foot--;
	assert_true(foot > 0);
	foot--;
	for (cut = 0; cut < n; cut++) {
		c = malloc(cut + 1);
		memcpy(c, b, cut);
		if (cut < foot) {
			assert_int_equal(tz_parse(c, cut, &z), ERR_INVAL);
		} else {
			assert_int_equal(tz_parse(c, cut, &z), 0);
			tz_cleanup(&z);
		}
		free(c);
	}
	assert_int_equal(tz_parse(b, 43, &z), ERR_INVAL);
	/* Bit flips never crash. */
	for (i = 0; i < n && i < 600; i++) {
		for (bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1u << bit);
			if (tz_parse(b, n, &z) == 0)
				tz_cleanup(&z);
			b[i] ^= (unsigned char)(1u << bit);
		}
	}
	free(b);
}

static void
test_zoned_window(void **state)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	struct policy_state *st = NULL;
	struct policy_snap *s = NULL;
	const struct policy_user *u = NULL;
	char *t = NULL;
	/* 2026-03-06 12:00Z is 13:00 in Paris (CET). */
	int64_t noon = 1772798400000LL;

	(void)state;
	if (access(ZONES "/Europe/Paris", R_OK) != 0)
		skip();
	t = doc("", "[users.time_access]\naccess_hours = \"13:00-14:00\"\n"
	    "timezone = \"Europe/Paris\"\n");
	c = load(t, 0, &d);
	free(t);
	assert_non_null(c);
	cfg_diag_cleanup(&d);
	st = policy_state_new();
	s = policy_snap_new(c, 1, st);
	assert_null(s->load_error);
	u = policy_snap_user(s, "alice");
	assert_non_null(u->tz);
	assert_null(policy_session_check(s, u, noon));
	assert_null(policy_session_check(s, u, noon + 3599999));
	assert_string_equal(policy_session_check(s, u, noon - 1),
	    "outside the allowed time window");
	assert_string_equal(policy_session_check(s, u, noon + 3600000),
	    "outside the allowed time window");
	policy_snap_unref(s);
	/* An unknown zone is reported by the snapshot. */
	t = doc("", "[users.time_access]\ntimezone = \"Mars/Olympus\"\n");
	c = load(t, 0, &d);
	free(t);
	assert_non_null(c);
	cfg_diag_cleanup(&d);
	s = policy_snap_new(c, 1, st);
	assert_non_null(s->load_error);
	assert_non_null(strstr(s->load_error, "unknown time zone"));
	policy_snap_unref(s);
	policy_state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_truncations_and_flips),
		cmocka_unit_test(test_zoned_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

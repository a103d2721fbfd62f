/* Unit tests for API tickets (admin/ticket.c), with a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "admin/ticket.h"
#include "core/err.h"

#define TOKEN	"0123456789abcdef-token"
#define T0	1700000000

static void
test_issue_verify(void **state)
{
	struct ticket_store *t = ticket_store_new(TOKEN);
	char tk[TICKET_LEN], tk2[TICKET_LEN], ts[32];
	unsigned char mac[32];
	char hex[65], key[64];
	const char *c2 = NULL;

	(void)state;
	ticket_issue(t, T0, tk);
	snprintf(ts, sizeof(ts), "%d:", T0);
	assert_memory_equal(tk, ts, strlen(ts));
	assert_int_equal(strlen(tk), strlen(ts) + 32 + 1 + 64);
	/* The signature is HMAC-SHA256("sks5-sse-ticket:" + token). */
	c2 = strrchr(tk, ':');
	snprintf(key, sizeof(key), "sks5-sse-ticket:%s", TOKEN);
	{
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, (unsigned char *)key,
		    strlen(key));
		crypto_auth_hmacsha256_update(&st, (unsigned char *)tk,
		    (size_t)(c2 - tk));
		crypto_auth_hmacsha256_final(&st, mac);
	}
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	assert_string_equal(c2 + 1, hex);
	/* Valid within 30 s, once. */
	assert_int_equal(ticket_verify(t, tk, T0 + 30), 0);
	assert_int_equal(ticket_verify(t, tk, T0 + 30), ERR_EXISTS);
	/* Two tickets in the same second differ. */
	ticket_issue(t, T0, tk);
	ticket_issue(t, T0, tk2);
	assert_string_not_equal(tk, tk2);
	assert_int_equal(ticket_verify(t, tk2, T0), 0);
	assert_int_equal(ticket_verify(t, tk, T0 + 1), 0);
	ticket_store_free(t);
}

static void
test_expiry_and_future(void **state)
{
	struct ticket_store *t = ticket_store_new(TOKEN);
	char tk[TICKET_LEN];

	(void)state;
	ticket_issue(t, T0, tk);
	assert_int_equal(ticket_verify(t, tk, T0 + 31), ERR_DENIED);
	/* Expired is not consumed either: still expired later. */
	assert_int_equal(ticket_verify(t, tk, T0 + 31), ERR_DENIED);
	/* A timestamp ahead of the clock is refused. */
	ticket_issue(t, T0 + 10, tk);
	assert_int_equal(ticket_verify(t, tk, T0), ERR_DENIED);
	assert_int_equal(ticket_verify(t, tk, T0 + 10), 0);
	ticket_store_free(t);
}

static void
test_forgery(void **state)
{
	struct ticket_store *t = ticket_store_new(TOKEN);
	struct ticket_store *other = ticket_store_new("another-token-123456");
	char tk[TICKET_LEN], bad[TICKET_LEN + 8];
	size_t i;

	(void)state;
	ticket_issue(other, T0, tk);
	assert_int_equal(ticket_verify(t, tk, T0), ERR_DENIED);
	ticket_issue(t, T0, tk);
	/* Any changed character invalidates it. */
	for (i = 0; i < strlen(tk); i++) {
		memcpy(bad, tk, strlen(tk) + 1);
		bad[i] = bad[i] == '1' ? '2' : '1';
		if (strcmp(bad, tk) == 0)
			continue;
		assert_int_equal(ticket_verify(t, bad, T0), ERR_DENIED);
	}
	/* Uppercase hex, extra fields, truncation, garbage. */
	memcpy(bad, tk, strlen(tk) + 1);
	for (i = 0; bad[i] != '\0'; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] = (char)(bad[i] - 'a' + 'A');
	assert_int_equal(ticket_verify(t, bad, T0), ERR_DENIED);
	snprintf(bad, sizeof(bad), "%s:x", tk);
	assert_int_equal(ticket_verify(t, bad, T0), ERR_DENIED);
	memcpy(bad, tk, strlen(tk) - 1);
	bad[strlen(tk) - 1] = '\0';
	assert_int_equal(ticket_verify(t, bad, T0), ERR_DENIED);
	assert_int_equal(ticket_verify(t, "", T0), ERR_DENIED);
	assert_int_equal(ticket_verify(t, "::", T0), ERR_DENIED);
	assert_int_equal(ticket_verify(t, NULL, T0), ERR_DENIED);
	assert_int_equal(ticket_verify(t, "-1:00000000000000000000000000000000:"
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    T0), ERR_DENIED);
	/* The genuine one still works after all that. */
	assert_int_equal(ticket_verify(t, tk, T0), 0);
	ticket_store_free(t);
	ticket_store_free(other);
}

static void
test_used_set_bounded(void **state)
{
	struct ticket_store *t = ticket_store_new(TOKEN);
	char tk[TICKET_LEN], first[TICKET_LEN];
	int i;

	(void)state;
	ticket_issue(t, T0, first);
	assert_int_equal(ticket_verify(t, first, T0), 0);
	for (i = 1; i < TICKET_USED_MAX; i++) {
		ticket_issue(t, T0, tk);
		assert_int_equal(ticket_verify(t, tk, T0), 0);
	}
	/* Full of live tickets: refuse rather than forget one. */
	ticket_issue(t, T0, tk);
	assert_int_equal(ticket_verify(t, tk, T0 + 1), ERR_TOO_LARGE);
	assert_int_equal(ticket_verify(t, first, T0 + 1), ERR_EXISTS);
	/* Once those expired, they are purged and new tickets pass. */
	ticket_issue(t, T0 + 40, tk);
	assert_int_equal(ticket_verify(t, tk, T0 + 40), 0);
	assert_int_equal(ticket_verify(t, tk, T0 + 40), ERR_EXISTS);
	ticket_store_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_verify),
		cmocka_unit_test(test_expiry_and_future),
		cmocka_unit_test(test_forgery),
		cmocka_unit_test(test_used_set_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

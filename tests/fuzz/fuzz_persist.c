/*
 * libFuzzer target for the persistence loaders (state.json,
 * reputation.json, users/<f>.json, the bookmarks file): any input must be
 * accepted or refused with a message, never crash, leak or read out of
 * bounds; whatever is accepted must encode and decode again to the same
 * counts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persist/persist_int.h"

#define NOW	1772755200000LL

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
state(const char *p, size_t n)
{
	struct persist_state_doc d, d2;
	char err[256], *text = NULL;
	size_t len;

	if (persist__state_decode(p, n, NOW, &d, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			__builtin_trap();
		return;
	}
	text = persist__state_encode(d.bans, d.nbans, d.quotas,
	    d.orphan_since, d.nquotas, NOW, &len);
	if (persist__state_decode(text, len, NOW, &d2, err, sizeof(err)) != 0 ||
	    d2.nbans != d.nbans || d2.nquotas != d.nquotas)
		__builtin_trap();
	persist__state_doc_free(&d2);
	persist__state_doc_free(&d);
	free(text);
}

static void
rep(const char *p, size_t n)
{
	struct policy_saved_ip *v = NULL;
	char err[256];
	size_t k;

	if (persist__rep_decode(p, n, &v, &k, err, sizeof(err)) == 0)
		free(v);
	else if (err[0] == '\0')
		__builtin_trap();
}

static void
user(const char *p, size_t n)
{
	struct shell_store_user u, u2, *v = NULL;
	char err[256], *text = NULL, *f = NULL;
	size_t len, k;

	if (persist__user_decode(p, n, &u, err, sizeof(err)) == 0) {
		f = persist__user_file(u.name);
		if (strchr(f, '/') != NULL)
			__builtin_trap();
		free(f);
		text = persist__user_encode(&u, 1, &len);
		if (persist__user_decode(text, len, &u2, err,
		    sizeof(err)) != 0 || u2.nhist != u.nhist)
			__builtin_trap();
		persist__user_clear(&u2);
		persist__user_clear(&u);
		free(text);
	}
	if (persist__bookmarks_decode(p, n, &v, &k, err, sizeof(err)) == 0)
		shell_store_users_free(v, k);
}

/* Every loader sees every input: they share the JSON front end but
 * differ in what they accept. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	state(p, size);
	rep(p, size);
	user(p, size);
	return 0;
}

/* Shared helpers of the configuration unit tests (header-only). */
#ifndef SKS5_TESTS_TEST_CONFIG_UTIL_H
#define SKS5_TESTS_TEST_CONFIG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/util.h"

#define HASH "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" \
	"2Jk7X6w5nJQ1kq5lYf0u4s0a7cXkzJ5XoXcH7l4t8jE"
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsab" \
	"gH5C9okWi0dh2l9GKJl"

/* A document: pre (root tables), one user alice, then post. */
static inline char *
doc(const char *pre, const char *post)
{
	return xasprintf("%s\n[[users]]\nusername = \"alice\"\n"
	    "password_hash = \"" HASH "\"\n%s\n", pre, post);
}

/* Loads text; returns the cfg or NULL, leaving messages in d. */
static inline struct cfg *
load_ov(const char *text, const struct cfg_overrides *ov,
    struct cfg_diag *d)
{
	struct cfg *c = NULL;

	cfg_diag_init(d);
	if (cfg_load_string(text, strlen(text), "t.toml", "/base", ov, &c,
	    d) != 0) {
		return NULL;
	}
	return c;
}

/* Loads text with or without pending keys allowed. */
static inline struct cfg *
load(const char *text, int allow_pending, struct cfg_diag *d)
{
	struct cfg_overrides ov;

	memset(&ov, 0, sizeof(ov));
	ov.allow_pending = allow_pending;
	return load_ov(text, &ov, d);
}

/* True when some error contains sub. */
static inline int
has_error(const struct cfg_diag *d, const char *sub)
{
	size_t i;

	for (i = 0; i < d->nerrors; i++) {
		if (strstr(d->errors[i], sub) != NULL) {
			return 1;
		}
	}
	return 0;
}

/* Prints every message (for failing tests). */
static inline void
show(const struct cfg_diag *d)
{
	cfg_diag_print(d, stderr);
}

/*
 * Loads pre/post around the base user with pending keys allowed and
 * expects failure with an error containing sub. Returns 1 if so.
 */
static inline int
fails_with(const char *pre, const char *post, const char *sub)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc(pre, post);
	int ok;

	c = load(t, 1, &d);
	ok = c == NULL && has_error(&d, sub);
	if (!ok) {
		fprintf(stderr, "expected an error containing \"%s\"\n", sub);
		show(&d);
	}
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
	return ok;
}

/* Same, expecting success. */
static inline int
loads(const char *pre, const char *post)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *t = doc(pre, post);
	int ok;

	c = load(t, 1, &d);
	ok = c != NULL && d.nerrors == 0;
	if (!ok) {
		show(&d);
	}
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
	return ok;
}

#endif /* SKS5_TESTS_TEST_CONFIG_UTIL_H */

/*
 * TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 6 digits, 30 s steps,
 * one step of clock skew either way, and a per-user record of the last
 * accepted step so that a code is good only once.
 */
#include "auth/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/err.h"
#include "core/util.h"

/* One HOTP value. */
int
auth_totp_code(const unsigned char *key, size_t klen, uint64_t step,
    uint32_t *code)
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0, off;
	uint32_t bin;
	int i;

	*code = 0;
	if (key == NULL || klen == 0)
		return ERR_INVAL;
	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(step & 0xff);
		step >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int)klen, msg, sizeof(msg), mac,
	    &mlen) == NULL || mlen < 20)
		return ERR_INVAL;
	off = mac[mlen - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	    ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8) |
	    (uint32_t)mac[off + 3];
	*code = bin % 1000000u;
	util_wipe(mac, sizeof(mac));
	return 0;
}

/* Checks code against now +- skew, refusing steps <= *last_step. */
int
auth_totp_verify(const unsigned char *key, size_t klen, const char *code,
    time_t now, uint64_t *last_step)
{
	char want[8], got[8];
	uint64_t step, s, matched = 0;
	uint32_t v;
	int i, hit = 0;

	if (code == NULL || strlen(code) != AUTH_TOTP_DIGITS ||
	    strspn(code, "0123456789") != AUTH_TOTP_DIGITS || now < 0)
		return ERR_INVAL;
	memcpy(got, code, AUTH_TOTP_DIGITS + 1);
	step = (uint64_t)now / AUTH_TOTP_STEP;
	for (i = -AUTH_TOTP_SKEW; i <= AUTH_TOTP_SKEW; i++) {
		if (i < 0 && step < (uint64_t)-i)
			continue;
		s = step + (uint64_t)(int64_t)i;
		if (auth_totp_code(key, klen, s, &v) != 0)
			return ERR_INVAL;
		snprintf(want, sizeof(want), "%06u", (unsigned)v);
		/* Every candidate is computed and compared: no early exit. */
		if (util_ct_memcmp(want, got, AUTH_TOTP_DIGITS) == 0 &&
		    s > *last_step && !hit) {
			hit = 1;
			matched = s;
		}
	}
	util_wipe(want, sizeof(want));
	util_wipe(got, sizeof(got));
	if (!hit)
		return ERR_DENIED;
	*last_step = matched;
	return 0;
}

/* Splits a password with an appended code (see auth.h). */
long
auth_totp_split(const char *s, size_t len, char code[7])
{
	const char *colon = NULL;
	size_t i;

	code[0] = '\0';
	for (i = len; i > 0; i--) {
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	}
	if (colon != NULL && colon > s &&
	    (size_t)(s + len - colon - 1) == AUTH_TOTP_DIGITS &&
	    strspn(colon + 1, "0123456789") >= AUTH_TOTP_DIGITS) {
		memcpy(code, colon + 1, AUTH_TOTP_DIGITS);
		code[AUTH_TOTP_DIGITS] = '\0';
		return (long)(colon - s);
	}
	if (len > AUTH_TOTP_DIGITS) {
		for (i = len - AUTH_TOTP_DIGITS; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
		}
		memcpy(code, s + len - AUTH_TOTP_DIGITS, AUTH_TOTP_DIGITS);
		code[AUTH_TOTP_DIGITS] = '\0';
		return (long)(len - AUTH_TOTP_DIGITS);
	}
	return -1;
}

struct replay_ent {
	char		*user;
	uint64_t	 step;
};

struct auth_totp_replay {
	pthread_mutex_t		 lock;
	struct replay_ent	*v;
	size_t			 n, max;
};

struct auth_totp_replay *
auth_totp_replay_new(size_t max)
{
	struct auth_totp_replay *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	r->max = max > 0 ? max : 1;
	r->v = xcalloc(r->max, sizeof(*r->v));
	return r;
}

void
auth_totp_replay_free(struct auth_totp_replay *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->v[i].user);
	free(r->v);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Verifies with the shared replay record; the whole check holds the lock
 * so that two connections cannot both use the same step. */
int
auth_totp_check(struct auth_totp_replay *r, const char *user,
    const unsigned char *key, size_t klen, const char *code, time_t now)
{
	struct replay_ent *e = NULL;
	uint64_t last = 0, oldest = UINT64_MAX;
	size_t i, victim = 0;
	int rc;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].user, user) == 0) {
			e = &r->v[i];
			last = e->step;
			break;
		}
	}
	rc = auth_totp_verify(key, klen, code, now, &last);
	if (rc == 0) {
		if (e == NULL && r->n < r->max) {
			e = &r->v[r->n++];
			e->user = xstrdup(user);
		} else if (e == NULL) {
			/* Full: reuse the entry with the oldest step; its
			 * user's steps are long past the skew window. */
			for (i = 0; i < r->n; i++) {
				if (r->v[i].step < oldest) {
					oldest = r->v[i].step;
					victim = i;
				}
			}
			e = &r->v[victim];
			free(e->user);
			e->user = xstrdup(user);
		}
		e->step = last;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/*
 * Argon2id password hashes made with libsodium, with the cost taken from
 * the configuration (security.argon2_*). Verification never comes here:
 * crypto_pwhash_str_verify() reads the cost from the PHC string itself.
 */
#include "auth/auth.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/err.h"
#include "core/util.h"

/* Every bound we accept must also be one libsodium accepts. */
_Static_assert(AUTH_ARGON2_M_MIN * 1024ULL >=
    crypto_pwhash_argon2id_MEMLIMIT_MIN, "memory floor below libsodium's");
_Static_assert(AUTH_ARGON2_T_MIN >= crypto_pwhash_argon2id_OPSLIMIT_MIN,
    "time floor below libsodium's");

int
auth_argon2_check(uint32_t m_kib, uint32_t t, uint32_t p, char *err,
    size_t errlen)
{
	if (m_kib < AUTH_ARGON2_M_MIN || m_kib > AUTH_ARGON2_M_MAX) {
		snprintf(err, errlen, "memory cost %u KiB is out of range "
		    "(%u..%u KiB)", m_kib, AUTH_ARGON2_M_MIN,
		    AUTH_ARGON2_M_MAX);
		return ERR_INVAL;
	}
	if (t < AUTH_ARGON2_T_MIN || t > AUTH_ARGON2_T_MAX) {
		snprintf(err, errlen, "time cost %u is out of range (%u..%u)",
		    t, AUTH_ARGON2_T_MIN, AUTH_ARGON2_T_MAX);
		return ERR_INVAL;
	}
	if (p != 1) {
		snprintf(err, errlen, "parallelism %u is not supported: "
		    "libsodium's Argon2id computes a single lane, so only 1 "
		    "is possible (hashes with p>1 made elsewhere still "
		    "verify)", p);
		return ERR_INVAL;
	}
	return 0;
}

int
auth_argon2_hash(const char *pw, size_t len, uint32_t m_kib, uint32_t t,
    char *out, size_t outlen)
{
	char err[160];

	if (outlen < crypto_pwhash_STRBYTES ||
	    auth_argon2_check(m_kib, t, 1, err, sizeof(err)) != 0 ||
	    sodium_init() < 0) {
		return ERR_INVAL;
	}
	if (crypto_pwhash_str_alg(out, pw, len, t, (size_t)m_kib * 1024,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		util_wipe(out, outlen);
		return ERR_NOMEM;
	}
	return 0;
}

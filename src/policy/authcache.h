/*
 * Remembered password verifications.
 *
 * Argon2id is slow on purpose, and a SOCKS5 client (a browser, say) opens
 * a new connection for almost every request, each with the same
 * credentials. After a successful verification the cache keeps a keyed
 * BLAKE2b digest of (user name, stored PHC hash, password) for a while; a
 * later login whose digest matches skips Argon2id. No password is stored,
 * and the key is random per process, so the table is useless outside it.
 * A wrong password never matches and still pays the full price, and a
 * changed password hash (reload) changes the digest, so old entries die on
 * their own. The table is fixed-size (direct-mapped); a collision only
 * evicts, it never makes a wrong digest match.
 */
#ifndef SKS5_POLICY_AUTHCACHE_H
#define SKS5_POLICY_AUTHCACHE_H

#include <stddef.h>
#include <stdint.h>

struct authcache;

/* A table of nslots entries (rounded up to a power of two, at least 16). */
struct authcache *authcache_new(size_t nslots);
void	authcache_free(struct authcache *ac);

/*
 * Returns 1 when (user, phc, pass) was verified within its lifetime and
 * has not expired at now_ms, else 0. Thread-safe.
 */
int	authcache_check(struct authcache *ac, const char *user,
	    const char *phc, const void *pass, size_t plen, uint64_t now_ms);

/* Remembers a successful verification until now_ms + ttl_ms. */
void	authcache_put(struct authcache *ac, const char *user, const char *phc,
	    const void *pass, size_t plen, uint64_t now_ms, uint64_t ttl_ms);

/* Forgets everything (for tests and for a "log out everyone" action). */
void	authcache_clear(struct authcache *ac);

#endif

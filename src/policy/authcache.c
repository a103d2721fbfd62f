/* Remembered password verifications: see authcache.h. */
#include "policy/authcache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define AC_DIGEST	32

struct ac_slot {
	unsigned char	 digest[AC_DIGEST];
	uint64_t	 expires_ms;	/* 0 = empty */
};

struct authcache {
	pthread_mutex_t	 lock;
	unsigned char	 key[crypto_generichash_KEYBYTES];
	struct ac_slot	*slots;
	size_t		 mask;
};

struct authcache *
authcache_new(size_t nslots)
{
	struct authcache *ac;
	size_t n = 16;

	if (sodium_init() < 0)
		abort();
	while (n < nslots && n < ((size_t)1 << 24))
		n <<= 1;
	ac = xcalloc(1, sizeof(*ac));
	ac->slots = xcalloc(n, sizeof(*ac->slots));
	ac->mask = n - 1;
	randombytes_buf(ac->key, sizeof(ac->key));
	pthread_mutex_init(&ac->lock, NULL);
	return ac;
}

void
authcache_free(struct authcache *ac)
{
	if (ac == NULL)
		return;
	util_wipe(ac->slots, (ac->mask + 1) * sizeof(*ac->slots));
	util_wipe(ac->key, sizeof(ac->key));
	free(ac->slots);
	pthread_mutex_destroy(&ac->lock);
	free(ac);
}

/* The keyed digest of one credential triple; NUL bytes separate fields. */
static void
ac_digest(const struct authcache *ac, const char *user, const char *phc,
    const void *pass, size_t plen, unsigned char out[AC_DIGEST])
{
	crypto_generichash_state st;
	uint64_t len = plen;

	crypto_generichash_init(&st, ac->key, sizeof(ac->key), AC_DIGEST);
	crypto_generichash_update(&st, (const unsigned char *)user,
	    strlen(user) + 1);
	crypto_generichash_update(&st, (const unsigned char *)phc,
	    strlen(phc) + 1);
	crypto_generichash_update(&st, (const unsigned char *)&len,
	    sizeof(len));
	crypto_generichash_update(&st, pass, plen);
	crypto_generichash_final(&st, out, AC_DIGEST);
	util_wipe(&st, sizeof(st));
}

static size_t
ac_index(const struct authcache *ac, const unsigned char *d)
{
	uint64_t v;

	memcpy(&v, d, sizeof(v));
	return (size_t)v & ac->mask;
}

int
authcache_check(struct authcache *ac, const char *user, const char *phc,
    const void *pass, size_t plen, uint64_t now_ms)
{
	unsigned char d[AC_DIGEST];
	struct ac_slot *s;
	int hit = 0;

	if (ac == NULL || user == NULL || phc == NULL)
		return 0;
	ac_digest(ac, user, phc, pass, plen, d);
	pthread_mutex_lock(&ac->lock);
	s = &ac->slots[ac_index(ac, d)];
	if (s->expires_ms != 0) {
		if (s->expires_ms <= now_ms) {
			util_wipe(s, sizeof(*s));
		} else if (sodium_memcmp(s->digest, d, AC_DIGEST) == 0)
			hit = 1;
	}
	pthread_mutex_unlock(&ac->lock);
	util_wipe(d, sizeof(d));
	return hit;
}

void
authcache_put(struct authcache *ac, const char *user, const char *phc,
    const void *pass, size_t plen, uint64_t now_ms, uint64_t ttl_ms)
{
	unsigned char d[AC_DIGEST];
	struct ac_slot *s;

	if (ac == NULL || ttl_ms == 0 || user == NULL || phc == NULL)
		return;
	ac_digest(ac, user, phc, pass, plen, d);
	pthread_mutex_lock(&ac->lock);
	s = &ac->slots[ac_index(ac, d)];
	memcpy(s->digest, d, AC_DIGEST);
	s->expires_ms = now_ms + ttl_ms;
	pthread_mutex_unlock(&ac->lock);
	util_wipe(d, sizeof(d));
}

void
authcache_clear(struct authcache *ac)
{
	if (ac == NULL)
		return;
	pthread_mutex_lock(&ac->lock);
	util_wipe(ac->slots, (ac->mask + 1) * sizeof(*ac->slots));
	pthread_mutex_unlock(&ac->lock);
}

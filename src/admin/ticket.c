/* API tickets: see ticket.h. */
#include "admin/ticket.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/err.h"
#include "core/util.h"

#define TICKET_KEY_PFX	"sks5-sse-ticket:"

struct ticket_used {
	int64_t		ts;
	unsigned char	nonce[16];
};

struct ticket_store {
	pthread_mutex_t		 lock;
	unsigned char		*key;		/* secret */
	size_t			 keylen;
	struct ticket_used	*used;
	size_t			 nused;
};

struct ticket_store *
ticket_store_new(const char *token)
{
	struct ticket_store *t = xcalloc(1, sizeof(*t));
	size_t plen = strlen(TICKET_KEY_PFX), tlen = strlen(token);

	pthread_mutex_init(&t->lock, NULL);
	t->keylen = plen + tlen;
	t->key = xmalloc(t->keylen);
	memcpy(t->key, TICKET_KEY_PFX, plen);
	memcpy(t->key + plen, token, tlen);
	t->used = xcalloc(TICKET_USED_MAX, sizeof(*t->used));
	return t;
}

void
ticket_store_free(struct ticket_store *t)
{
	if (t == NULL)
		return;
	util_wipe(t->key, t->keylen);
	free(t->key);
	free(t->used);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The hex HMAC of msg[0..n) into hex (65 bytes). */
static void
ticket_sign(const struct ticket_store *t, const char *msg, size_t n,
    char hex[65])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, t->key, t->keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
	util_wipe(&st, sizeof(st));
}

void
ticket_issue(struct ticket_store *t, int64_t now, char out[TICKET_LEN])
{
	unsigned char nonce[16];
	char hex[33], sig[65];
	int n;

	randombytes_buf(nonce, sizeof(nonce));
	sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
	n = snprintf(out, TICKET_LEN, "%lld:%s", (long long)now, hex);
	ticket_sign(t, out, (size_t)n, sig);
	snprintf(out + n, TICKET_LEN - (size_t)n, ":%s", sig);
}

/* 1 when s[0..n) are lowercase hex digits. */
static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Splits and checks the form; 0 with *ts and nonce filled. */
static int
ticket_parse(const char *s, int64_t *ts, unsigned char nonce[16],
    size_t *signed_len)
{
	const char *c1 = NULL, *c2 = NULL;
	size_t nd, i;
	int64_t v = 0;

	if ((c1 = strchr(s, ':')) == NULL || (c2 = strchr(c1 + 1, ':')) ==
	    NULL)
		return ERR_DENIED;
	nd = (size_t)(c1 - s);
	if (nd == 0 || nd > 18)
		return ERR_DENIED;
	for (i = 0; i < nd; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_DENIED;
		v = v * 10 + (s[i] - '0');
	}
	if (c2 - c1 - 1 != 32 || !is_hex(c1 + 1, 32) || strlen(c2 + 1) != 64 ||
	    !is_hex(c2 + 1, 64))
		return ERR_DENIED;
	if (sodium_hex2bin(nonce, 16, c1 + 1, 32, NULL, NULL, NULL) != 0)
		return ERR_DENIED;
	*ts = v;
	*signed_len = (size_t)(c2 - s);
	return 0;
}

int
ticket_verify(struct ticket_store *t, const char *ticket, int64_t now)
{
	unsigned char nonce[16];
	char want[65];
	size_t slen = 0, i, j;
	int64_t ts = 0;
	int r = 0;

	if (ticket == NULL || strlen(ticket) >= TICKET_LEN ||
	    ticket_parse(ticket, &ts, nonce, &slen) != 0)
		return ERR_DENIED;
	ticket_sign(t, ticket, slen, want);
	if (sodium_memcmp(want, ticket + slen + 1, 64) != 0)
		return ERR_DENIED;
	/* Issued by this clock: never in the future, at most TTL old. */
	if (ts > now || now - ts > TICKET_TTL_S)
		return ERR_DENIED;
	pthread_mutex_lock(&t->lock);
	for (i = 0, j = 0; i < t->nused; i++) {
		if (now - t->used[i].ts > TICKET_TTL_S)
			continue;	/* expired: cannot be replayed */
		t->used[j++] = t->used[i];
	}
	t->nused = j;
	for (i = 0; i < t->nused && r == 0; i++)
		if (t->used[i].ts == ts &&
		    memcmp(t->used[i].nonce, nonce, 16) == 0)
			r = ERR_EXISTS;
	if (r == 0 && t->nused >= TICKET_USED_MAX)
		r = ERR_TOO_LARGE;
	if (r == 0) {
		t->used[t->nused].ts = ts;
		memcpy(t->used[t->nused].nonce, nonce, 16);
		t->nused++;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

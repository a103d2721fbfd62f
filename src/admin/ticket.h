/*
 * Short-lived, single-use tickets that stand in for the API token where
 * a browser cannot send a header (EventSource, WebSocket): issued by
 * POST /api/sse-ticket, accepted as ?ticket= on /api/events and /api/ws.
 *
 * A ticket is "<unix_ts>:<nonce>:<sig>": nonce 32 lowercase hex digits
 * (128 random bits), sig the lowercase hex HMAC-SHA256 of "<ts>:<nonce>"
 * keyed with "sks5-sse-ticket:" + the API token. It is valid for
 * TICKET_TTL_S seconds and only once: used tickets are remembered (at
 * most TICKET_USED_MAX of them, expired ones purged) until they expire.
 * Times are passed in, so tests use a fake clock.
 */
#ifndef SKS5_ADMIN_TICKET_H
#define SKS5_ADMIN_TICKET_H

#include <stddef.h>
#include <stdint.h>

#define TICKET_TTL_S		30
#define TICKET_USED_MAX		10000
/* Longest ticket text plus the NUL. */
#define TICKET_LEN		(20 + 1 + 32 + 1 + 64 + 1)

struct ticket_store;

/* A store keyed with token (copied; wiped on free). */
struct ticket_store *ticket_store_new(const char *token);
void	ticket_store_free(struct ticket_store *t);

/* Writes a new ticket valid from now (unix seconds) into out. */
void	ticket_issue(struct ticket_store *t, int64_t now,
	    char out[TICKET_LEN]);

/*
 * Checks and consumes a ticket at now. 0: valid (and now used);
 * ERR_DENIED: malformed, forged, expired or issued in the future;
 * ERR_EXISTS: used before; ERR_TOO_LARGE: too many tickets in flight
 * (refused rather than forgetting a used one). Thread-safe.
 */
int	ticket_verify(struct ticket_store *t, const char *ticket, int64_t now);

#endif /* SKS5_ADMIN_TICKET_H */

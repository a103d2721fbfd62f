/*
 * The security policy as the protocols see it: one set of decision
 * functions that the SOCKS5 server and the SSH server call at the same
 * points of a connection's life. Policy decides, the protocol acts.
 *
 *   accept        policy_preauth()          before any byte is read
 *                 policy_preauth_release()  once authenticated or closed
 *   auth          policy_auth_failed() / policy_auth_succeeded()
 *   session       policy_login_check()      after auth, before any use
 *                 policy_session_check()    periodically (1 s) while live
 *   each stream   policy_stream_admit()     limits, rates, quotas
 *                 policy_stream_connected() after the target connected
 *                 policy_stream_release()   when the stream ends
 *                 policy_meter_*()          byte budget for the relay
 *   ACL denials   policy_acl_denied()       feeds IP reputation
 *
 * State that must survive a reload (bans, failures, reputation, rate
 * windows, quota counters) lives in struct policy_state; the limits come
 * from the snapshot the caller holds. Every function here is thread-safe.
 * Times: wall-clock milliseconds (policy_now_ms()) and monotonic
 * microseconds (policy_mono_us()); tests pass their own.
 */
#ifndef SKS5_POLICY_POLICY_H
#define SKS5_POLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "policy/limits.h"
#include "policy/snap.h"

struct sockaddr;

/* Default maintenance message (SIGUSR1 has no window to take it from). */
#define POLICY_MAINT_MESSAGE	"Server is under maintenance. Please try " \
				"again later."

enum policy_pre {
	POLICY_PRE_OK = 0,
	POLICY_PRE_SOURCE,	/* not in security.allowed_source_ips */
	POLICY_PRE_BANNED,
	POLICY_PRE_REPUTATION,	/* acts like a ban */
	POLICY_PRE_RATE,	/* max_new_connections_per_ip_per_minute */
	POLICY_PRE_UNAUTH,	/* unauthenticated-connection caps */
	POLICY_PRE_MAINTENANCE,
};

int64_t	policy_now_ms(void);
uint64_t policy_mono_us(void);

/* Short name of a verdict for logs ("banned", "rate", ...). */
const char *policy_pre_str(enum policy_pre v);

/*
 * The pre-auth gate for a new TCP connection from peer. On POLICY_PRE_OK
 * the connection counts as unauthenticated until the caller calls
 * policy_preauth_release() exactly once (after authentication succeeded
 * or when the connection closes, whichever comes first). A banned or
 * reputation-rejected SOCKS5 client is answered "05 FF"; an SSH client is
 * closed before key exchange.
 */
enum policy_pre policy_preauth(struct policy_snap *s,
	    const struct sockaddr *peer, int64_t now_ms);
/*
 * The same gate, with the maintenance check only when maint is set. SSH
 * passes 0 and refuses maintenance after key exchange instead, where the
 * client can be shown the message (SSH_MSG_DISCONNECT).
 */
enum policy_pre policy_preauth_gate(struct policy_snap *s,
	    const struct sockaddr *peer, int64_t now_ms, int maint);
void	policy_preauth_release(struct policy_snap *s,
	    const struct sockaddr *peer);

/* Feeds an authentication outcome (every method of every protocol).
 * Returns 1 when this failure banned the address (log it). */
int	policy_auth_failed(struct policy_snap *s, const struct sockaddr *peer,
	    int64_t now_ms);
void	policy_auth_succeeded(struct policy_snap *s,
	    const struct sockaddr *peer, int64_t now_ms);
/* An ACL or anti-SSRF denial: raises the peer's reputation. */
void	policy_acl_denied(struct policy_snap *s, const struct sockaddr *peer,
	    int64_t now_ms);

/*
 * After authentication: account expiry, time window, per-user source_ips
 * and maintenance. Returns NULL when the session may start, else a
 * static reason for the log and the client.
 */
const char *policy_login_check(struct policy_snap *s,
	    const struct policy_user *u, const struct sockaddr *peer,
	    int64_t now_ms);
/* While a session lives: expiry, time window, maintenance with
 * disconnect_existing. NULL, or why it must be closed now. */
const char *policy_session_check(struct policy_snap *s,
	    const struct policy_user *u, int64_t now_ms);

/*
 * A new proxied stream (SOCKS5 CONNECT, SSH direct-tcpip): connection
 * limits (global, per user/group), rate limits (server and user, per
 * second/minute/hour, counted per request), connection and bandwidth
 * quotas. NULL: admitted, and the stream holds a slot until
 * policy_stream_release(). Else a static reason (SOCKS5 reply 0x02, SSH
 * channel refused).
 */
const char *policy_stream_admit(struct policy_snap *s,
	    const struct policy_user *u, int64_t now_ms);
/* The stream connected: counts it against the connection quotas. */
void	policy_stream_connected(struct policy_snap *s,
	    const struct policy_user *u, int64_t now_ms);
/* The stream ended; bytes moved without a meter are counted here. */
void	policy_stream_release(struct policy_snap *s,
	    const struct policy_user *u, uint64_t unmetered_bytes,
	    int64_t now_ms);

/*
 * Destination check beyond the ACL: GeoIP country allow/deny for one
 * resolved target address. NULL when allowed, else the reason (written
 * into buf). Call it for every candidate address before connecting.
 */
const char *policy_target_check(struct policy_snap *s,
	    const struct sockaddr *sa, char *buf, size_t len);

/*
 * Background pruning, every security.rate_limit_cleanup_interval seconds:
 * frees per-IP entries (ipt_prune) and per-user rate histories idle for
 * POLICY_IDLE_MS whose windows hold no event any more, so no decision
 * changes; then, when more users than security.rate_limit_max_users hold
 * a history (a reload lowered the cap), drops the least recently used
 * ones. *ips and *users (may be NULL) get the numbers freed.
 */
void	policy_prune(struct policy_snap *s, int64_t now_ms, size_t *ips,
	    size_t *users);

/* Maintenance now: 1 when on, with the message and whether existing
 * sessions must go. msg and disconnect may be NULL. */
int	policy_maintenance(struct policy_snap *s, int64_t now_ms,
	    const char **msg, int *disconnect);
/* SIGUSR1: flips the manual flag; returns the new value. */
int	policy_maintenance_toggle(struct policy_state *st);

/*
 * Byte meter of one stream, shared by both directions: bandwidth quotas
 * and the token buckets (per stream max_bandwidth_kbps, per user
 * max_aggregate_bandwidth_kbps, server max_bandwidth_mbps). Owned by the
 * protocol's stream; used on its loop thread only.
 */
struct policy_meter {
	struct policy_snap		*snap;	/* borrowed */
	const struct policy_user	*user;	/* borrowed */
	struct tbucket			 conn;
	int				 quota;	/* a bandwidth quota applies */
	int				 user_bw, srv_bw;
	const char			*why;	/* set when cut by a quota */
};

/* Sets up m; returns 0 when no limit applies (leave the relay's fast
 * path alone and do not call the meter), 1 otherwise. */
int	policy_meter_init(struct policy_meter *m, struct policy_snap *s,
	    const struct policy_user *u, uint64_t now_us);
/*
 * How many bytes the stream may read now (at most want). 0 with *wait_us
 * > 0: throttled, ask again after that long. 0 with *wait_us == 0: a
 * quota is used up (m->why says which); end the stream. Granted bytes
 * are counted at once; give back the unused part with settle.
 */
size_t	policy_meter_grant(struct policy_meter *m, size_t want,
	    uint64_t now_us, int64_t now_ms, uint64_t *wait_us);
void	policy_meter_settle(struct policy_meter *m, size_t granted,
	    size_t used, int64_t now_ms);

/* ----- operator actions (manage.c): the admin shell, later the API ----- */

/* One address the pre-auth gate refuses now. */
struct policy_ban {
	char		addr[46];	/* text, IPv4 without ::ffff: */
	int64_t		until_ms;	/* ban expiry (wall ms); 0: only the
					 * reputation blocks it */
	double		rep;		/* reputation score now */
	uint32_t	failures;	/* failures remembered in the window */
};

/*
 * The addresses banned (or blocked by reputation) at now, sorted by
 * address: a heap array in *out (free it) and its length.
 */
size_t	policy_bans(struct policy_snap *s, int64_t now_ms,
	    struct policy_ban **out);
/*
 * Lifts what blocks addr (an IPv4 or IPv6 literal): the ban, the failure
 * history and the reputation score. 0, ERR_INVAL (not an address) or
 * ERR_NOTFOUND (nothing blocked it).
 */
int	policy_unban(struct policy_snap *s, const char *addr, int64_t now_ms);
/*
 * Starts every quota period of the user over: bytes and connections of
 * the hour, day, month and in total. 0, or ERR_NOTFOUND for a name that
 * is not configured in s.
 */
int	policy_quota_reset(struct policy_snap *s, const char *user);

#endif /* SKS5_POLICY_POLICY_H */

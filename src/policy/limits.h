/*
 * Pure building blocks of the security policy: exact sliding-window rate
 * counters, token buckets, the per-IP table (bans, failures, reputation,
 * pre-auth rate and unauthenticated-connection counts), quota counters
 * stamped with their period, and time windows.
 *
 * None of them locks, logs or reads a clock: the caller passes the time
 * (wall-clock milliseconds since the epoch, or monotonic microseconds for
 * token buckets) and holds whatever lock protects the struct. That keeps
 * every decision testable with a fake clock (tests/unit/test_policy.c).
 */
#ifndef SKS5_POLICY_LIMITS_H
#define SKS5_POLICY_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct sockaddr;

/* ----- exact sliding window (ratelimit.c) ----- */

/*
 * At most limit events in any window of window_ms: an event at time t is
 * allowed when fewer than limit events happened in (t - window_ms, t].
 * Keeps the times of the last events only (at most limit of them, grown
 * on demand), so memory follows actual use. limit 0 = unlimited.
 */
struct ratewin {
	uint32_t	 limit;
	uint64_t	 window_ms;
	int64_t		*ts;	/* ring, oldest at head */
	uint32_t	 cap;
	uint32_t	 head;
	uint32_t	 n;
};

void	ratewin_init(struct ratewin *w, uint32_t limit, uint64_t window_ms);
void	ratewin_cleanup(struct ratewin *w);
/* Re-initialises w when limit changed (history dropped); else no-op. */
void	ratewin_set_limit(struct ratewin *w, uint32_t limit,
	    uint64_t window_ms);
/* 1 if an event at now would be allowed. */
int	ratewin_allows(const struct ratewin *w, int64_t now_ms);
/* Records an event at now (times must not go backwards much: an earlier
 * time is recorded as the latest one). */
void	ratewin_add(struct ratewin *w, int64_t now_ms);
/* Events in (now - window, now]. */
uint32_t ratewin_count(const struct ratewin *w, int64_t now_ms);
/* Frees the recorded events, keeping the limit and window. Only safe for
 * decisions when ratewin_count() is 0 (else the history is lost). */
void	ratewin_drop(struct ratewin *w);
/* Bytes of event history w holds. */
size_t	ratewin_mem(const struct ratewin *w);

/* ----- token bucket (ratelimit.c) ----- */

/*
 * rate bytes per second, burst bytes; starts full. Refill is exact in
 * integer arithmetic (the remainder of each refill is carried over), so a
 * long run moves rate * seconds + burst bytes at most.
 */
struct tbucket {
	uint64_t	rate;	/* bytes/s; 0 = unlimited */
	uint64_t	burst;
	uint64_t	tokens;
	uint64_t	last_us;
	uint64_t	frac;	/* refill remainder, in byte-microseconds */
};

/* Smallest burst a bucket gets (bytes). */
#define TBUCKET_BURST_MIN	1024
/* Burst as a fraction of one second of rate: rate / TBUCKET_BURST_DIV. */
#define TBUCKET_BURST_DIV	20

/* The burst used for a rate: max(rate / 20, 1024). */
uint64_t tbucket_burst_for(uint64_t rate);
void	tbucket_init(struct tbucket *tb, uint64_t rate, uint64_t burst,
	    uint64_t now_us);
/* Tokens available at now (refills first). UINT64_MAX when unlimited. */
uint64_t tbucket_avail(struct tbucket *tb, uint64_t now_us);
/* Removes n tokens (n <= what tbucket_avail() said). */
void	tbucket_take(struct tbucket *tb, uint64_t n);
/* Gives n unused tokens back (capped at the burst). */
void	tbucket_refund(struct tbucket *tb, uint64_t n);
/* Microseconds until n tokens are available (0 if they are now). */
uint64_t tbucket_wait_us(const struct tbucket *tb, uint64_t n);
/* The most a caller should wait for at once: min(want, burst / 4), >= 1. */
uint64_t tbucket_min_grant(const struct tbucket *tb, uint64_t want);

/* bytes/s of a kbps value (1 kbps = 1000 bit/s) and of an Mbps value. */
uint64_t tbucket_rate_kbps(uint64_t kbps);
uint64_t tbucket_rate_mbps(uint64_t mbps);

/* ----- per-IP table (iptable.c) ----- */

/* Reputation points of each event (see docs/CONFIG.md). */
#define IPT_REP_AUTH_FAILURE	10.0
#define IPT_REP_ACL_DENY	5.0
#define IPT_REP_FLOOD		3.0
#define IPT_REP_AUTH_SUCCESS	(-5.0)
/* Entries are looked for in a window of this many slots. */
#define IPT_PROBE		16
/* Background pruning frees entries idle for this long (ms). */
#define POLICY_IDLE_MS		600000

/* Settings the table decides with (from [security] and [limits]). */
struct ipt_params {
	int		 ban_enabled;
	uint32_t	 ban_threshold;
	uint64_t	 ban_window_ms;
	uint64_t	 ban_duration_ms;
	const struct cfg_cidr *whitelist;
	size_t		 nwhitelist;
	int		 rep_enabled;
	double		 rep_threshold;	/* 0 = never */
	uint64_t	 rep_half_life_ms;
	uint32_t	 new_per_minute;	/* per IP; 0 = unlimited */
	uint32_t	 unauth_per_ip;		/* 0 = unlimited */
};

struct ipt_entry {
	unsigned char	 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int		 used;
	uint32_t	 unauth;	/* unauthenticated connections now */
	int64_t		 last_ms;
	int64_t		 ban_until;	/* wall ms; 0 = not banned */
	double		 rep;		/* score at rep_ms */
	int64_t		 rep_ms;
	uint64_t	 tok_milli;	/* per-IP bucket, 1/1000 tokens */
	int64_t		 tok_ms;
	int		 tok_init;
	int64_t		*fails;		/* ring of failure times */
	uint32_t	 fcap, fhead, nfail;
};

struct ipt {
	struct ipt_entry *slots;
	size_t		  nslots;	/* power of two */
	size_t		  used;
	uint64_t	  evictions;
};

enum ipt_verdict {
	IPT_OK = 0,
	IPT_BANNED,
	IPT_REPUTATION,
	IPT_RATE,		/* max_new_connections_per_ip_per_minute */
	IPT_UNAUTH_IP,		/* too many unauthenticated from this IP */
};

/* A table tracking at most max_ips addresses (>= 64). */
void	ipt_init(struct ipt *t, uint64_t max_ips);
void	ipt_cleanup(struct ipt *t);
/* 16-byte key of an address (IPv4 mapped into IPv6); 0 or -1. */
int	ipt_key(const struct sockaddr *sa, unsigned char key[16]);
/* 1 if the key is in the ban whitelist. */
int	ipt_whitelisted(const struct ipt_params *p, const unsigned char *key);
/*
 * The pre-auth decision for a new TCP connection from key at now: ban,
 * reputation, per-IP new-connection rate (one token per connection),
 * unauthenticated connections per IP. On IPT_OK the connection is
 * counted as unauthenticated (undo with ipt_unauth_release()). A refused
 * flood raises the reputation.
 */
enum ipt_verdict ipt_admit(struct ipt *t, const struct ipt_params *p,
	    const unsigned char *key, int64_t now_ms);
void	ipt_unauth_release(struct ipt *t, const unsigned char *key);
/* An authentication failure: returns 1 when it banned the address. */
int	ipt_auth_failure(struct ipt *t, const struct ipt_params *p,
	    const unsigned char *key, int64_t now_ms);
void	ipt_auth_success(struct ipt *t, const struct ipt_params *p,
	    const unsigned char *key, int64_t now_ms);
/* Adds reputation points (ACL denials, floods). */
void	ipt_rep_add(struct ipt *t, const struct ipt_params *p,
	    const unsigned char *key, double pts, int64_t now_ms);
/* The decayed score now (0 for an unknown address). */
double	ipt_rep_score(struct ipt *t, const struct ipt_params *p,
	    const unsigned char *key, int64_t now_ms);
/* Ban expiry (wall ms) or 0 when not banned at now. */
int64_t	ipt_banned_until(struct ipt *t, const unsigned char *key,
	    int64_t now_ms);
/* Bans or unbans by hand (until 0 = unban). */
void	ipt_ban(struct ipt *t, const unsigned char *key, int64_t until_ms,
	    int64_t now_ms);
/* Persistence: puts back a saved ban expiry (kept when later than the
 * current one) and a reputation score as of rep_ms (rep 0: none). */
void	ipt_restore(struct ipt *t, const unsigned char *key, int64_t ban_until,
	    double rep, int64_t rep_ms, int64_t now_ms);
/*
 * Frees the entries that carry nothing a decision needs (no live
 * unauthenticated connection, no ban, no failure inside ban_window,
 * reputation below 1, a full connection bucket) and were last seen
 * idle_ms ago or more. Returns how many were freed.
 */
size_t	ipt_prune(struct ipt *t, const struct ipt_params *p, int64_t now_ms,
	    uint64_t idle_ms);

/* ----- quotas (quota.c) ----- */

/* Per-user usage, each counter stamped with its period. */
struct quota_state {
	int64_t		day;		/* days since the epoch (UTC) */
	uint64_t	day_bytes;
	uint32_t	day_conns;
	int64_t		month;		/* year * 12 + month (UTC) */
	uint64_t	month_bytes;
	uint32_t	month_conns;
	int64_t		min_stamp[60];	/* minute of each hourly bucket */
	uint64_t	min_bytes[60];
	uint64_t	total_bytes;
};

/* Brings the stamps to now: a new day or month starts at zero. */
void	quota_roll(struct quota_state *q, int64_t now_ms);
/* Bytes still allowed by the bandwidth quotas (UINT64_MAX: none set);
 * *why names the tightest quota that is exhausted (or NULL). */
uint64_t quota_bytes_left(struct quota_state *q, const struct cfg_quotas *l,
	    int64_t now_ms, const char **why);
void	quota_add_bytes(struct quota_state *q, uint64_t n, int64_t now_ms);
/* Takes back bytes counted but not moved (never below zero). */
void	quota_sub_bytes(struct quota_state *q, uint64_t n, int64_t now_ms);
/* NULL when a new stream is allowed, else the reason. */
const char *quota_check_stream(struct quota_state *q,
	    const struct cfg_quotas *l, int64_t now_ms);
void	quota_add_conn(struct quota_state *q, int64_t now_ms);
/* Bytes in the last 60 minutes (by whole minutes). */
uint64_t quota_hour_bytes(struct quota_state *q, int64_t now_ms);

/* ----- time windows (quota.c) ----- */

/* 1 if now (wall ms, UTC) is inside the access window. Ranges that cross
 * midnight belong to the day they start on. */
int	timewin_allows(const struct cfg_time_access *ta, int64_t now_ms);
/* 1 if a maintenance schedule is active at now. */
int	timewin_schedule_active(const struct cfg_schedule *s, int64_t now_ms);

#endif /* SKS5_POLICY_LIMITS_H */

/*
 * Policy snapshots: an immutable view of one loaded configuration with
 * everything the data plane needs prepared (per-user ACLs, parsed guard
 * ranges), plus the live per-user counters that outlive any snapshot.
 *
 * A snapshot is reference-counted. The server publishes a new one on
 * reload through a policy_holder; every connection takes a reference when
 * it starts and drops it when it ends, so a reload never frees what a
 * live connection still reads.
 */
#ifndef SKS5_POLICY_SNAP_H
#define SKS5_POLICY_SNAP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "policy/acl.h"
#include "policy/authcache.h"
#include "policy/limits.h"

struct geoip;
struct persist_stats;
struct tz;

/* Live counters of one user name; they live as long as the process. */
struct policy_user_state {
	char			*name;
	_Atomic uint32_t	 active;	/* proxied streams now */
	_Atomic uint64_t	 streams;	/* streams started, total */
	_Atomic uint64_t	 bytes_up;	/* client -> target */
	_Atomic uint64_t	 bytes_down;	/* target -> client */
	_Atomic uint64_t	 auth_failures;
	/* Guarded by lock (see policy.h): rates, quotas, aggregate bucket. */
	pthread_mutex_t		 lock;
	struct ratewin		 rate[3];	/* per second, minute, hour */
	struct quota_state	 quota;
	struct tbucket		 bw;		/* max_aggregate_bandwidth_kbps */
	int64_t			 rate_last_ms;	/* lock: last rate event */
	/* rate[] holds event history: a per-user limiter entry counted
	 * in policy_state.rate_users (security.rate_limit_max_users). Set
	 * under lock, cleared under lock with the state's lock held. */
	_Atomic int		 rate_tracked;
	_Atomic uint32_t	 udp_sessions;	/* UDP associations now */
};

/* Process-wide live state: per-user counters and global counters. */
struct policy_state {
	pthread_mutex_t			 lock;	/* guards the user array */
	struct policy_user_state	**users;
	size_t				 nusers;
	_Atomic uint32_t		 active_streams;	/* all users */
	_Atomic uint32_t		 handshakes;	/* not yet proxying */
	_Atomic uint64_t		 streams_total;
	_Atomic uint64_t		 bytes_total;
	struct authcache		*auth_cache;	/* see authcache.h */
	/* Pre-auth and server-wide state; survives reloads. */
	pthread_mutex_t			 glock;	/* guards the four below */
	struct ipt			 ipt;
	struct ratewin			 rate[2];	/* per second, minute */
	struct tbucket			 bw;	/* max_bandwidth_mbps */
	_Atomic uint32_t		 unauth;	/* not authenticated yet */
	_Atomic int			 maint_manual;	/* SIGUSR1 */
	/* Persistence counters for /metrics; NULL without the server. */
	const struct persist_stats	*persist;
	/* Per-user limiter entries (users whose rate windows hold
	 * history) and how many were dropped at the cap. */
	_Atomic uint32_t		 rate_users;
	_Atomic uint64_t		 rate_user_evictions;
};

/* One user as the data plane sees it. */
struct policy_user {
	const struct cfg_user		*cfg;	/* borrowed from the snapshot */
	struct acl			 acl;	/* global ++ group ++ user */
	struct policy_user_state	*state;	/* borrowed from the state */
	struct tz			*tz;	/* time_access zone; NULL: UTC */
};

struct policy_snap {
	_Atomic int		 refs;
	struct cfg		*cfg;
	int			 owns_cfg;	/* free cfg with the snapshot */
	struct policy_user	*users;
	size_t			 nusers;
	struct policy_state	*state;		/* borrowed */
	struct cfg_cidr		*guard_allow;	/* ranges exempt from ip_guard */
	size_t			 nguard_allow;
	char			*dummy_hash;	/* for unknown users */
	struct geoip		*geo;	/* owned; NULL: [geoip] off */
	char			*load_error;	/* a zone file failed, or NULL */
};

/* Creates and frees the process-wide state. */
struct policy_state *policy_state_new(void);
void	policy_state_free(struct policy_state *st);
/* Returns the counters of a user name, creating them on first use. */
struct policy_user_state *policy_state_user(struct policy_state *st,
	    const char *name);

/*
 * Builds a snapshot of cfg. With take set, cfg is freed with the last
 * reference; otherwise the caller keeps cfg alive longer than every
 * reference. Never fails but on OOM (abort). The returned snapshot holds
 * one reference.
 */
struct policy_snap *policy_snap_new(struct cfg *cfg, int take,
	    struct policy_state *st);
struct policy_snap *policy_snap_ref(struct policy_snap *s);
/* Drops a reference; the last one frees the snapshot. NULL is a no-op. */
void	policy_snap_unref(struct policy_snap *s);

/* Finds a user by exact name; NULL if there is none. Borrowed pointer,
 * valid as long as the caller holds its reference to s. */
const struct policy_user *policy_snap_user(const struct policy_snap *s,
	    const char *name);

/* The current snapshot, swapped atomically on reload. */
struct policy_holder {
	pthread_mutex_t		 lock;
	struct policy_snap	*cur;
};

void	policy_holder_init(struct policy_holder *h, struct policy_snap *s);
/* Returns the current snapshot with a reference the caller must drop. */
struct policy_snap *policy_holder_get(struct policy_holder *h);
/* Publishes s (takes the caller's reference) and drops the old one. */
void	policy_holder_set(struct policy_holder *h, struct policy_snap *s);
void	policy_holder_cleanup(struct policy_holder *h);

#endif /* SKS5_POLICY_SNAP_H */

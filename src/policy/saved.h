/*
 * Copies of the policy state that must outlive the process (bans,
 * reputation, quota counters), taken out of and put back into the live
 * struct policy_state for src/persist. The copies are plain values: the
 * persistence code never holds a policy lock while it writes a file.
 */
#ifndef SKS5_POLICY_SAVED_H
#define SKS5_POLICY_SAVED_H

#include <stddef.h>
#include <stdint.h>

#include "policy/limits.h"

struct policy_state;

/* One address of the per-IP table. */
struct policy_saved_ip {
	unsigned char	 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int64_t		 ban_until;	/* wall ms; 0: not banned */
	double		 rep;		/* score as of rep_ms; 0: none */
	int64_t		 rep_ms;
};

/* The quota counters of one user name. */
struct policy_saved_quota {
	char			*user;
	struct quota_state	 q;
};

/*
 * Copies every address that is banned at now or carries a reputation
 * score of at least min_rep once decayed to now (half-life half_life_ms,
 * 0: no decay). Returns the count; *out is a heap array (free()).
 */
size_t	policy_saved_ips(struct policy_state *st, int64_t now_ms,
	    double min_rep, uint64_t half_life_ms,
	    struct policy_saved_ip **out);
/* Puts saved addresses back (the table is created with max_ips slots
 * when it does not exist yet). */
void	policy_restore_ips(struct policy_state *st, uint64_t max_ips,
	    const struct policy_saved_ip *v, size_t n, int64_t now_ms);

/*
 * Copies the quota counters of every user with any usage left at now
 * (stamps brought to now first). Returns the count; free the array with
 * policy_saved_quotas_free().
 */
size_t	policy_saved_quotas(struct policy_state *st, int64_t now_ms,
	    struct policy_saved_quota **out);
void	policy_saved_quotas_free(struct policy_saved_quota *v, size_t n);
/* Replaces a user's counters with saved ones, brought to now (a past
 * day or month starts at zero). */
void	policy_restore_quota(struct policy_state *st,
	    const struct policy_saved_quota *v, int64_t now_ms);

/* 1 if a quota state holds no usage at now. */
int	policy_quota_empty(const struct quota_state *q, int64_t now_ms);

#endif /* SKS5_POLICY_SAVED_H */

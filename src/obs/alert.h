/*
 * Alert rules ([alerting]) evaluated over the event stream.
 *
 * Each rule keeps, per watched key (a user name, or "" for the
 * server-wide auth-failure count), a sliding window of ALERT_SLOTS slots
 * covering window_secs. alerting_observe() adds one observation and
 * returns the rules that fire: the windowed value is strictly greater
 * than the threshold and the key has not fired within the last window
 * (the cooldown). Time is passed in by the caller (monotonic seconds), so
 * tests drive it with a fake clock. Thread-safe (one mutex).
 */
#ifndef SKS5_OBS_ALERT_H
#define SKS5_OBS_ALERT_H

#include <stddef.h>
#include <stdint.h>

#define ALERT_SLOTS	60
/* Keys (users) tracked per rule at most; others are not watched. */
#define ALERT_KEYS_MAX	4096
/* Windows of the fixed-window conditions. */
#define ALERT_HOUR_SECS		3600
#define ALERT_MONTH_SECS	(30 * 86400)

/* Conditions (the order of config's enum cfg_alert_cond). */
enum alert_cond {
	ALERT_BANDWIDTH = 0, ALERT_CONNECTIONS, ALERT_MONTHLY_BANDWIDTH,
	ALERT_HOURLY_BANDWIDTH, ALERT_AUTH_FAILURES,
};

/* One [[alerting.rules]] entry, borrowed by alerting_new() (copied). */
struct alert_rule_def {
	const char	 *name;
	int		  cond;		/* enum alert_cond */
	uint64_t	  threshold;
	uint64_t	  window_secs;
	char *const	 *users;	/* none: everybody */
	size_t		  nusers;
};

enum alert_input {
	ALERT_IN_BYTES = 0,	/* a stream ended: amount = bytes up+down */
	ALERT_IN_CONN,		/* a stream connected: amount = 1 */
	ALERT_IN_AUTHFAIL,	/* an authentication failed: amount = 1 */
};

struct alert_fire {
	size_t		 rule;		/* index of the rule */
	const char	*name;		/* the rule's name (engine-owned) */
	const char	*condition;	/* condition key, e.g. "auth_failures" */
	char		 user[128];	/* "" for a server-wide count */
	uint64_t	 value;
	uint64_t	 threshold;
	uint64_t	 window_secs;
};

struct alerting;

/* An engine for n (validated) rules. */
struct alerting *alerting_new(const struct alert_rule_def *rules, size_t n);
void	alerting_free(struct alerting *al);

/*
 * Records amount of input for user (the authenticated name, or the name
 * a failed login tried) at now_s and writes up to max firings to out.
 * Returns how many fired; a rule that would fire beyond max stays armed.
 */
size_t	alerting_observe(struct alerting *al, enum alert_input in,
	    const char *user, uint64_t amount, uint64_t now_s,
	    struct alert_fire *out, size_t max);

/* The configuration name of a condition (enum alert_cond). */
const char *alert_cond_name(int cond);
/* The window a rule is measured over, seconds. */
uint64_t alert_window_secs(int cond, uint64_t window_secs);

#endif /* SKS5_OBS_ALERT_H */

/*
 * Quota counters stamped with their period, and time windows. Pure: the
 * caller passes the wall-clock time in milliseconds since the epoch; all
 * calendar arithmetic is UTC.
 */
#include "policy/limits.h"

#include <string.h>
#include <time.h>

#define MS_PER_MIN	60000LL
#define MS_PER_DAY	86400000LL

/* Floor division for times before the epoch. */
static int64_t
fdiv(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* year * 12 + month (0-based) of a UTC instant. */
static int64_t
month_of(int64_t now_ms)
{
	time_t s = (time_t)fdiv(now_ms, 1000);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL)
		return 0;
	return ((int64_t)tm.tm_year + 1900) * 12 + tm.tm_mon;
}

void
quota_roll(struct quota_state *q, int64_t now_ms)
{
	int64_t day = fdiv(now_ms, MS_PER_DAY), month = month_of(now_ms);

	if (q->day != day) {
		q->day = day;
		q->day_bytes = 0;
		q->day_conns = 0;
	}
	if (q->month != month) {
		q->month = month;
		q->month_bytes = 0;
		q->month_conns = 0;
	}
}

uint64_t
quota_hour_bytes(struct quota_state *q, int64_t now_ms)
{
	int64_t m = fdiv(now_ms, MS_PER_MIN);
	uint64_t sum = 0;
	int i;

	for (i = 0; i < 60; i++) {
		if (q->min_stamp[i] > m - 60 && q->min_stamp[i] <= m)
			sum += q->min_bytes[i];
	}
	return sum;
}

/* Remaining under one limit (UINT64_MAX when unlimited). */
static uint64_t
left(uint64_t limit, uint64_t used)
{
	if (limit == 0)
		return UINT64_MAX;
	return used >= limit ? 0 : limit - used;
}

uint64_t
quota_bytes_left(struct quota_state *q, const struct cfg_quotas *l,
    int64_t now_ms, const char **why)
{
	uint64_t best = UINT64_MAX, v;
	const char *w = NULL;

	quota_roll(q, now_ms);
#define TIGHTER(lim, used, name) do {				\
	if ((lim) != 0 && (v = left((lim), (used))) < best) {	\
		best = v;					\
		w = (name);					\
	}							\
} while (0)
	TIGHTER(l->daily_bandwidth_bytes, q->day_bytes,
	    "daily bandwidth quota exceeded");
	TIGHTER(l->monthly_bandwidth_bytes, q->month_bytes,
	    "monthly bandwidth quota exceeded");
	if (l->bandwidth_per_hour_bytes != 0)
		TIGHTER(l->bandwidth_per_hour_bytes, quota_hour_bytes(q, now_ms),
		    "hourly bandwidth quota exceeded");
	TIGHTER(l->total_bandwidth_bytes, q->total_bytes,
	    "total bandwidth quota exceeded");
#undef TIGHTER
	if (why != NULL)
		*why = best == 0 ? w : NULL;
	return best;
}

void
quota_add_bytes(struct quota_state *q, uint64_t n, int64_t now_ms)
{
	int64_t m = fdiv(now_ms, MS_PER_MIN);
	int i = (int)(((m % 60) + 60) % 60);

	quota_roll(q, now_ms);
	q->day_bytes += n;
	q->month_bytes += n;
	q->total_bytes += n;
	if (q->min_stamp[i] != m) {
		q->min_stamp[i] = m;
		q->min_bytes[i] = 0;
	}
	q->min_bytes[i] += n;
}

/* Subtracts without wrapping. */
static void
sub(uint64_t *v, uint64_t n)
{
	*v = n >= *v ? 0 : *v - n;
}

void
quota_sub_bytes(struct quota_state *q, uint64_t n, int64_t now_ms)
{
	int64_t m = fdiv(now_ms, MS_PER_MIN);
	int i = (int)(((m % 60) + 60) % 60);

	quota_roll(q, now_ms);
	sub(&q->day_bytes, n);
	sub(&q->month_bytes, n);
	sub(&q->total_bytes, n);
	if (q->min_stamp[i] == m)
		sub(&q->min_bytes[i], n);
}

const char *
quota_check_stream(struct quota_state *q, const struct cfg_quotas *l,
    int64_t now_ms)
{
	const char *why = NULL;

	quota_roll(q, now_ms);
	if (l->daily_connection_limit != 0 &&
	    q->day_conns >= l->daily_connection_limit)
		return "daily connection quota exceeded";
	if (l->monthly_connection_limit != 0 &&
	    q->month_conns >= l->monthly_connection_limit)
		return "monthly connection quota exceeded";
	if (quota_bytes_left(q, l, now_ms, &why) == 0)
		return why;
	return NULL;
}

void
quota_add_conn(struct quota_state *q, int64_t now_ms)
{
	quota_roll(q, now_ms);
	q->day_conns++;
	q->month_conns++;
}

/* 1 if minute-of-day mod lies in hours (crossing midnight when start >
 * end); *late is set when it is the after-midnight part. */
static int
in_hours(const struct cfg_hours *h, int mod, int *late)
{
	*late = 0;
	if (h->start < h->end)
		return mod >= h->start && mod < h->end;
	if (mod >= h->start)
		return 1;
	if (mod < h->end) {
		*late = 1;
		return 1;
	}
	return 0;
}

int
timewin_allows(const struct cfg_time_access *ta, int64_t now_ms)
{
	int64_t day = fdiv(now_ms, MS_PER_DAY);
	int mod = (int)((now_ms - day * MS_PER_DAY) / MS_PER_MIN);
	int late = 0, wd;

	if (ta->has_hours && !in_hours(&ta->hours, mod, &late))
		return 0;
	if (ta->days == 0)
		return 1;
	/* 1970-01-01 was a Thursday: Monday is 0. */
	wd = (int)(((day - (late ? 1 : 0) + 3) % 7 + 7) % 7);
	return (ta->days & (1u << wd)) != 0;
}

int
timewin_schedule_active(const struct cfg_schedule *s, int64_t now_ms)
{
	int64_t day = fdiv(now_ms, MS_PER_DAY);
	int mod = (int)((now_ms - day * MS_PER_DAY) / MS_PER_MIN);
	int late = 0, wd;

	if (s->hours.start == s->hours.end || !in_hours(&s->hours, mod, &late))
		return 0;
	if (s->day < 0)
		return 1;
	wd = (int)(((day - (late ? 1 : 0) + 3) % 7 + 7) % 7);
	return wd == s->day;
}

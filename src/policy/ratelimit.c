/* Exact sliding windows and token buckets (pure; see limits.h). */
#include "policy/limits.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define US_PER_S	1000000ULL

void
ratewin_init(struct ratewin *w, uint32_t limit, uint64_t window_ms)
{
	memset(w, 0, sizeof(*w));
	w->limit = limit;
	w->window_ms = window_ms;
}

void
ratewin_cleanup(struct ratewin *w)
{
	free(w->ts);
	memset(w, 0, sizeof(*w));
}

/* Re-initialises w when its limit or window changed. */
void
ratewin_set_limit(struct ratewin *w, uint32_t limit, uint64_t window_ms)
{
	if (w->limit == limit && w->window_ms == window_ms)
		return;
	ratewin_cleanup(w);
	ratewin_init(w, limit, window_ms);
}

/* Time of the i-th oldest recorded event. */
static int64_t
ratewin_at(const struct ratewin *w, uint32_t i)
{
	return w->ts[(w->head + i) % w->cap];
}

/* Events in (now - window, now]. */
uint32_t
ratewin_count(const struct ratewin *w, int64_t now_ms)
{
	uint32_t i;

	for (i = 0; i < w->n; i++) {
		if (ratewin_at(w, i) > now_ms - (int64_t)w->window_ms)
			return w->n - i;
	}
	return 0;
}

/* Frees the event ring; the window starts empty again. */
void
ratewin_drop(struct ratewin *w)
{
	free(w->ts);
	w->ts = NULL;
	w->cap = w->head = w->n = 0;
}

size_t
ratewin_mem(const struct ratewin *w)
{
	return (size_t)w->cap * sizeof(*w->ts);
}

/* 1 if one more event at now stays within the limit. */
int
ratewin_allows(const struct ratewin *w, int64_t now_ms)
{
	if (w->limit == 0 || w->n < w->limit)
		return 1;
	/* n == limit: the oldest of the last limit events must be out. */
	return ratewin_at(w, 0) <= now_ms - (int64_t)w->window_ms;
}

/* Grows the ring (doubling, up to limit), keeping the order. */
static void
ratewin_grow(struct ratewin *w)
{
	uint32_t ncap = w->cap == 0 ? 8 : w->cap * 2, i;
	int64_t *nts = NULL;

	if (ncap > w->limit)
		ncap = w->limit;
	nts = xcalloc(ncap, sizeof(*nts));
	for (i = 0; i < w->n; i++)
		nts[i] = ratewin_at(w, i);
	free(w->ts);
	w->ts = nts;
	w->cap = ncap;
	w->head = 0;
}

/* Records an event; only the last limit events are kept. */
void
ratewin_add(struct ratewin *w, int64_t now_ms)
{
	if (w->limit == 0)
		return;
	if (w->n > 0 && now_ms < ratewin_at(w, w->n - 1))
		now_ms = ratewin_at(w, w->n - 1);
	if (w->n == w->cap && w->cap < w->limit)
		ratewin_grow(w);
	if (w->n < w->cap) {
		w->ts[(w->head + w->n) % w->cap] = now_ms;
		w->n++;
		return;
	}
	/* Full at limit: the oldest event makes room. */
	w->ts[w->head] = now_ms;
	w->head = (w->head + 1) % w->cap;
}

/* ----- token bucket ----- */

uint64_t
tbucket_burst_for(uint64_t rate)
{
	uint64_t b = rate / TBUCKET_BURST_DIV;

	return b < TBUCKET_BURST_MIN ? TBUCKET_BURST_MIN : b;
}

uint64_t
tbucket_rate_kbps(uint64_t kbps)
{
	return kbps > UINT64_MAX / 125 ? UINT64_MAX / 8 : kbps * 125;
}

uint64_t
tbucket_rate_mbps(uint64_t mbps)
{
	return mbps > UINT64_MAX / 125000 ? UINT64_MAX / 8 : mbps * 125000;
}

void
tbucket_init(struct tbucket *tb, uint64_t rate, uint64_t burst,
    uint64_t now_us)
{
	memset(tb, 0, sizeof(*tb));
	tb->rate = rate;
	tb->burst = burst > 0 ? burst : 1;
	tb->tokens = tb->burst;
	tb->last_us = now_us;
}

/* Adds the tokens earned since the last refill; exact over time. */
static void
tbucket_refill(struct tbucket *tb, uint64_t now_us)
{
	unsigned __int128 acc;
	uint64_t el, add;

	if (now_us <= tb->last_us)
		return;
	el = now_us - tb->last_us;
	tb->last_us = now_us;
	if (tb->tokens >= tb->burst) {
		tb->frac = 0;
		return;
	}
	acc = (unsigned __int128)el * tb->rate + tb->frac;
	if (acc / US_PER_S >= tb->burst - tb->tokens) {
		tb->tokens = tb->burst;
		tb->frac = 0;
		return;
	}
	add = (uint64_t)(acc / US_PER_S);
	tb->frac = (uint64_t)(acc % US_PER_S);
	tb->tokens += add;
}

uint64_t
tbucket_avail(struct tbucket *tb, uint64_t now_us)
{
	if (tb->rate == 0)
		return UINT64_MAX;
	tbucket_refill(tb, now_us);
	return tb->tokens;
}

void
tbucket_take(struct tbucket *tb, uint64_t n)
{
	if (tb->rate == 0)
		return;
	tb->tokens = n >= tb->tokens ? 0 : tb->tokens - n;
}

void
tbucket_refund(struct tbucket *tb, uint64_t n)
{
	if (tb->rate == 0)
		return;
	tb->tokens = n >= tb->burst - tb->tokens ? tb->burst : tb->tokens + n;
}

/* Microseconds until n tokens are there, counting the carried remainder. */
uint64_t
tbucket_wait_us(const struct tbucket *tb, uint64_t n)
{
	unsigned __int128 need;

	if (tb->rate == 0 || tb->tokens >= n)
		return 0;
	need = (unsigned __int128)(n - tb->tokens) * US_PER_S;
	if (need <= tb->frac)
		return 1;
	need -= tb->frac;
	return (uint64_t)((need + tb->rate - 1) / tb->rate);
}

uint64_t
tbucket_min_grant(const struct tbucket *tb, uint64_t want)
{
	uint64_t m = tb->burst / 4;

	if (m == 0)
		m = 1;
	return want < m ? (want > 0 ? want : 1) : m;
}

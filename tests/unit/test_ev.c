/* Unit tests for the event loop, on real socketpairs, pipes and threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"

/* ----- helpers ----- */

/* Monotonic clock in ms, independent of the loop's cached time. */
static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A non-blocking AF_UNIX stream pair. */
static void
make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static void
close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static void
put_byte(int fd)
{
	assert_int_equal(write(fd, "x", 1), 1);
}

/* Runs iterations until *counter reaches target; fails after ~10 s. */
static void
run_until(struct ev *ev, const int *counter, int target)
{
	int i;

	for (i = 0; i < 100 && *counter < target; i++) {
		assert_true(ev_run_once(ev, 100) >= 0);
	}
	assert_int_equal(*counter, target);
}

/* What an io callback saw. */
struct io_rec {
	int		 calls;
	int		 fd;
	unsigned	 revents;
};

static void
io_record(struct ev *ev, int fd, unsigned revents, void *arg)
{
	struct io_rec *r = arg;

	(void)ev;
	r->calls++;
	r->fd = fd;
	r->revents = revents;
}

/* ----- fd watchers ----- */

static void
test_new_free(void **state)
{
	struct ev *ev = NULL;

	(void)state;
	ev_free(NULL);
	ev = ev_new(0);
	assert_non_null(ev);
	assert_true(ev_now_ms(ev) > 0);
	/* Nothing to do: a polling iteration handles nothing. */
	assert_int_equal(ev_run_once(ev, 0), 0);
	ev_free(ev);
}

static void
test_add_errors(void **state)
{
	struct ev *ev = ev_new(8);
	struct io_rec rec = { 0 };
	int sv[2], p[2], fd;

	(void)state;
	make_pair(sv);
	assert_int_equal(ev_add(ev, -1, EV_READ, io_record, &rec), ERR_INVAL);
	assert_int_equal(ev_add(ev, sv[0], EV_READ, NULL, &rec), ERR_INVAL);
	assert_int_equal(ev_add(ev, sv[0], 0x100, io_record, &rec),
	    ERR_INVAL);
	assert_int_equal(ev_mod(ev, sv[0], EV_READ), ERR_NOTFOUND);
	assert_int_equal(ev_del(ev, sv[0]), ERR_NOTFOUND);
	assert_int_equal(ev_del(ev, -5), ERR_NOTFOUND);
	assert_int_equal(ev_mod(ev, 100000, EV_READ), ERR_NOTFOUND);
	assert_int_equal(ev_add(ev, sv[0], EV_READ, io_record, &rec), 0);
	assert_int_equal(ev_add(ev, sv[0], EV_WRITE, io_record, &rec),
	    ERR_EXISTS);
	assert_int_equal(ev_mod(ev, sv[0], 0x100), ERR_INVAL);

	/* A closed fd number: epoll refuses, and the slot stays free. */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(ev_add(ev, p[0], EV_READ, io_record, &rec), ERR_IO);
	assert_int_equal(ev_del(ev, p[0]), ERR_NOTFOUND);

	/* epoll does not take regular files. */
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ev_add(ev, fd, EV_READ, io_record, &rec), ERR_IO);
	assert_int_equal(ev_mod(ev, fd, EV_READ), ERR_NOTFOUND);
	close(fd);

	assert_int_equal(ev_del(ev, sv[0]), 0);
	assert_int_equal(ev_del(ev, sv[0]), ERR_NOTFOUND);
	assert_int_equal(rec.calls, 0);
	ev_free(ev);
	close_pair(sv);
}

static void
test_level_triggered(void **state)
{
	struct ev *ev = ev_new(8);
	struct io_rec rec = { 0 };
	char c;
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(ev_add(ev, sv[0], EV_READ | EV_LEVEL, io_record,
	    &rec), 0);
	assert_int_equal(ev_run_once(ev, 0), 0);
	put_byte(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.fd, sv[0]);
	assert_int_equal(rec.revents, EV_READ);
	/* Not drained: level-triggered reports it again. */
	assert_int_equal(ev_run_once(ev, 0), 1);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(read(sv[0], &c, 1), 1);
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(rec.calls, 2);
	ev_free(ev);
	close_pair(sv);
}

static void
test_edge_triggered(void **state)
{
	struct ev *ev = ev_new(8);
	struct io_rec rec = { 0 };
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(ev_add(ev, sv[0], EV_READ, io_record, &rec), 0);
	put_byte(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.revents, EV_READ);
	/* Not drained, but no new edge: silence. */
	assert_int_equal(ev_run_once(ev, 30), 0);
	assert_int_equal(rec.calls, 1);
	/* New data is a new edge. */
	put_byte(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.calls, 2);
	ev_free(ev);
	close_pair(sv);
}

static void
test_write_and_mod(void **state)
{
	struct ev *ev = ev_new(8);
	struct io_rec rec = { 0 };
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(ev_add(ev, sv[0], EV_WRITE, io_record, &rec), 0);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.revents, EV_WRITE);
	/* Switch to read interest: no write events, a read event later. */
	assert_int_equal(ev_mod(ev, sv[0], EV_READ | EV_LEVEL), 0);
	assert_int_equal(ev_run_once(ev, 30), 0);
	assert_int_equal(rec.calls, 1);
	put_byte(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(rec.revents, EV_READ);
	/* No interest at all: data is not reported. */
	assert_int_equal(ev_mod(ev, sv[0], 0), 0);
	assert_int_equal(ev_run_once(ev, 30), 0);
	assert_int_equal(rec.calls, 2);
	ev_free(ev);
	close_pair(sv);
}

static void
test_hup(void **state)
{
	struct ev *ev = ev_new(8);
	struct io_rec rec = { 0 };
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(ev_add(ev, sv[0], EV_READ, io_record, &rec), 0);
	close(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.calls, 1);
	assert_true(rec.revents & EV_READ);
	assert_true(rec.revents & EV_HUP);
	assert_false(rec.revents & EV_WRITE);
	ev_free(ev);
	close(sv[0]);
}

/* Two readable fds whose callbacks each delete the other one. */
struct del_pair {
	int		 fds[2];
	int		 calls[2];
	int		 readd;		/* re-add the deleted fd at once */
	struct io_rec	 late;		/* callback of the re-added fd */
};

static void
io_delete_other(struct ev *ev, int fd, unsigned revents, void *arg)
{
	struct del_pair *dp = arg;
	int me = fd == dp->fds[0] ? 0 : 1;
	int other = dp->fds[1 - me];

	(void)revents;
	dp->calls[me]++;
	assert_int_equal(ev_del(ev, other), 0);
	if (dp->readd) {
		assert_int_equal(ev_add(ev, other, EV_READ, io_record,
		    &dp->late), 0);
	}
}

static void
run_delete_other(int readd)
{
	struct ev *ev = ev_new(8);
	struct del_pair dp;
	int a[2], b[2];

	memset(&dp, 0, sizeof(dp));
	dp.readd = readd;
	make_pair(a);
	make_pair(b);
	dp.fds[0] = a[0];
	dp.fds[1] = b[0];
	assert_int_equal(ev_add(ev, a[0], EV_READ, io_delete_other, &dp), 0);
	assert_int_equal(ev_add(ev, b[0], EV_READ, io_delete_other, &dp), 0);
	put_byte(a[1]);
	put_byte(b[1]);
	/* Both are ready before the wait, so both are in one batch. */
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(dp.calls[0] + dp.calls[1], 1);
	assert_int_equal(dp.late.calls, 0);
	if (readd) {
		/* The new watcher sees the fd's state on the next wait. */
		assert_int_equal(ev_run_once(ev, 1000), 1);
		assert_int_equal(dp.late.calls, 1);
		assert_int_equal(dp.late.fd,
		    dp.calls[0] == 1 ? b[0] : a[0]);
	} else {
		assert_int_equal(ev_run_once(ev, 30), 0);
	}
	assert_int_equal(dp.calls[0] + dp.calls[1], 1);
	ev_free(ev);
	close_pair(a);
	close_pair(b);
}

static void
test_del_other_in_batch(void **state)
{
	(void)state;
	run_delete_other(0);
}

static void
test_del_readd_in_batch(void **state)
{
	(void)state;
	run_delete_other(1);
}

/* Deferred close: the io callback flags, the before-sleep hook closes. */
struct deferred {
	struct ev	*ev;
	int		 fd;
	int		 flagged;
	int		 closed;
	int		 hook_calls;
	int		 hook_saw_flag;
};

static void
io_flag_close(struct ev *ev, int fd, unsigned revents, void *arg)
{
	struct deferred *d = arg;

	(void)ev;
	(void)fd;
	(void)revents;
	assert_int_equal(d->closed, 0);
	d->flagged = 1;
}

static void
hook_close(struct ev *ev, void *arg)
{
	struct deferred *d = arg;

	d->hook_calls++;
	if (d->flagged && !d->closed) {
		d->hook_saw_flag = d->hook_calls;
		assert_int_equal(ev_del(ev, d->fd), 0);
		close(d->fd);
		d->closed = 1;
	}
}

static void
test_before_sleep_deferred_close(void **state)
{
	struct ev *ev = ev_new(8);
	struct deferred d;
	int sv[2];

	(void)state;
	memset(&d, 0, sizeof(d));
	make_pair(sv);
	d.ev = ev;
	d.fd = sv[0];
	ev_set_before_sleep(ev, hook_close, &d);
	assert_int_equal(ev_add(ev, sv[0], EV_READ, io_flag_close, &d), 0);
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(d.hook_calls, 1);
	put_byte(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	/* Same iteration: the hook ran after the callback. */
	assert_int_equal(d.hook_calls, 2);
	assert_int_equal(d.hook_saw_flag, 2);
	assert_int_equal(d.closed, 1);
	assert_int_equal(ev_del(ev, sv[0]), ERR_NOTFOUND);
	ev_set_before_sleep(ev, NULL, NULL);
	assert_int_equal(ev_run_once(ev, 0), 0);
	assert_int_equal(d.hook_calls, 2);
	ev_free(ev);
	close(sv[1]);
}

static void
test_high_fd(void **state)
{
	struct ev *ev = ev_new(8);
	struct io_rec rec = { 0 };
	struct rlimit rl;
	int sv[2], hi = 900;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur <= (rlim_t)hi) {
		ev_free(ev);
		skip();
	}
	make_pair(sv);
	assert_int_equal(dup2(sv[0], hi), hi);
	assert_int_equal(ev_add(ev, hi, EV_READ, io_record, &rec), 0);
	/* A low fd after the table grew still works. */
	assert_int_equal(ev_add(ev, sv[1], EV_WRITE, io_record, &rec), 0);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.fd, sv[1]);
	assert_int_equal(ev_del(ev, sv[1]), 0);
	put_byte(sv[1]);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(rec.fd, hi);
	assert_int_equal(rec.revents, EV_READ);
	assert_int_equal(ev_del(ev, hi), 0);
	close(hi);
	ev_free(ev);
	close_pair(sv);
}

/* ----- timers ----- */

struct tlog {
	int		 n;
	int		 order[16];
	uint64_t	 at[16];
};

struct tcase {
	struct tlog	*log;
	int		 id;
};

static void
timer_log(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct tcase *tc = arg;

	(void)ev;
	(void)t;
	assert_true(tc->log->n < 16);
	tc->log->at[tc->log->n] = mono_ms();
	tc->log->order[tc->log->n++] = tc->id;
}

static void
test_timers_order(void **state)
{
	struct ev *ev = ev_new(8);
	struct tlog log;
	struct tcase tc[3];
	uint64_t after[3] = { 60, 20, 40 }, t0, el;
	int i, iters;

	(void)state;
	memset(&log, 0, sizeof(log));
	t0 = mono_ms();
	ev_update_now(ev);
	for (i = 0; i < 3; i++) {
		tc[i].log = &log;
		tc[i].id = i;
		assert_non_null(ev_timer_add(ev, after[i], timer_log, &tc[i]));
	}
	/* Blocking iterations: each returns when a timer is due. */
	for (iters = 0; iters < 50 && log.n < 3; iters++) {
		assert_true(ev_run_once(ev, -1) >= 0);
	}
	assert_int_equal(log.n, 3);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 2);
	assert_int_equal(log.order[2], 0);
	for (i = 0; i < 3; i++) {
		el = log.at[i] - t0;
		/* Never early (1 ms of clock truncation); loosely on time. */
		assert_true(el + 1 >= after[log.order[i]]);
		assert_true(el < after[log.order[i]] + 5000);
	}
	/* No busy waiting: about one wake-up per timer. */
	assert_true(iters <= 6);
	ev_free(ev);
}

static void
test_same_deadline_fifo(void **state)
{
	struct ev *ev = ev_new(8);
	struct tlog log;
	struct tcase tc[5];
	int i;

	(void)state;
	memset(&log, 0, sizeof(log));
	for (i = 0; i < 5; i++) {
		tc[i].log = &log;
		tc[i].id = i;
		ev_timer_add(ev, 0, timer_log, &tc[i]);
	}
	assert_int_equal(ev_run_once(ev, 0), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(log.order[i], i);
	}
	ev_free(ev);
}

/* Timer A cancels timer B (due in the same pass) and itself. */
struct cancel_ctx {
	struct ev_timer	*a;
	struct ev_timer	*b;
	int		 a_calls;
	int		 b_calls;
	int		 c_calls;
};

static void
timer_cancel_both(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct cancel_ctx *cc = arg;

	assert_ptr_equal(t, cc->a);
	cc->a_calls++;
	ev_timer_cancel(ev, cc->b);
	cc->b = NULL;
	ev_timer_cancel(ev, t);
	cc->a = NULL;
}

static void
timer_count_b(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct cancel_ctx *cc = arg;

	(void)ev;
	(void)t;
	cc->b_calls++;
}

static void
timer_count_c(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct cancel_ctx *cc = arg;

	(void)ev;
	(void)t;
	cc->c_calls++;
}

static void
test_cancel_in_callback(void **state)
{
	struct ev *ev = ev_new(8);
	struct cancel_ctx cc;

	(void)state;
	memset(&cc, 0, sizeof(cc));
	cc.a = ev_timer_add(ev, 10, timer_cancel_both, &cc);
	cc.b = ev_timer_add(ev, 10, timer_count_b, &cc);
	ev_timer_add(ev, 40, timer_count_c, &cc);
	run_until(ev, &cc.c_calls, 1);
	assert_int_equal(cc.a_calls, 1);
	assert_int_equal(cc.b_calls, 0);
	assert_null(cc.a);
	assert_null(cc.b);
	/* Cancelling from outside, and NULL. */
	cc.b = ev_timer_add(ev, 0, timer_count_b, &cc);
	ev_timer_cancel(ev, cc.b);
	ev_timer_cancel(ev, NULL);
	assert_int_equal(ev_run_once(ev, 20), 0);
	assert_int_equal(cc.b_calls, 0);
	ev_free(ev);
}

/* A periodic timer: re-arms itself until it has fired `limit` times. */
struct periodic {
	int	 calls;
	int	 limit;
	int	 cancel_after_reset;
};

static void
timer_periodic(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct periodic *pd = arg;

	if (++pd->calls < pd->limit) {
		ev_timer_reset(ev, t, 5);
		if (pd->cancel_after_reset) {
			ev_timer_cancel(ev, t);
		}
	}
}

static void
test_timer_reset_in_callback(void **state)
{
	struct ev *ev = ev_new(8);
	struct periodic pd = { 0, 3, 0 };
	struct periodic once = { 0, 3, 1 };
	int i;

	(void)state;
	ev_timer_add(ev, 5, timer_periodic, &pd);
	run_until(ev, &pd.calls, 3);
	/* Re-armed, then cancelled inside its callback: fires once. */
	ev_timer_add(ev, 0, timer_periodic, &once);
	for (i = 0; i < 5; i++) {
		ev_run_once(ev, 10);
	}
	assert_int_equal(once.calls, 1);
	assert_int_equal(pd.calls, 3);
	ev_free(ev);
}

static void
timer_rearm_zero(struct ev *ev, struct ev_timer *t, void *arg)
{
	int *calls = arg;

	(*calls)++;
	ev_timer_reset(ev, t, 0);
}

static void
test_timer_rearm_zero_no_spin(void **state)
{
	struct ev *ev = ev_new(8);
	struct ev_timer *t = NULL;
	int calls = 0;

	(void)state;
	t = ev_timer_add(ev, 0, timer_rearm_zero, &calls);
	/* Re-armed with 0 during the pass: runs once per pass, not forever. */
	assert_int_equal(ev_run_once(ev, 0), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(ev_run_once(ev, 0), 1);
	assert_int_equal(calls, 2);
	ev_timer_cancel(ev, t);
	assert_int_equal(ev_run_once(ev, 0), 0);
	ev_free(ev);
}

/* ev_next_timer_ms: -1 with no timer, else the wait to the earliest. */
static void
test_next_timer_ms(void **state)
{
	struct ev *ev = ev_new(8);
	struct ev_timer *a = NULL, *b = NULL;
	int calls = 0, w;

	(void)state;
	assert_int_equal(ev_next_timer_ms(ev), -1);
	a = ev_timer_add(ev, 100000, timer_rearm_zero, &calls);
	w = ev_next_timer_ms(ev);
	assert_true(w > 90000 && w <= 100000);
	b = ev_timer_add(ev, 0, timer_rearm_zero, &calls);
	assert_int_equal(ev_next_timer_ms(ev), 0);
	ev_timer_cancel(ev, b);
	assert_true(ev_next_timer_ms(ev) > 90000);
	ev_timer_cancel(ev, a);
	assert_int_equal(ev_next_timer_ms(ev), -1);
	assert_int_equal(calls, 0);
	ev_free(ev);
}

static void
test_timer_reset_outside(void **state)
{
	struct ev *ev = ev_new(8);
	struct periodic pd = { 0, 1, 0 };
	struct ev_timer *t = NULL;
	uint64_t t0;

	(void)state;
	t = ev_timer_add(ev, 100000, timer_periodic, &pd);
	t0 = mono_ms();
	ev_timer_reset(ev, t, 5);
	run_until(ev, &pd.calls, 1);
	assert_true(mono_ms() - t0 < 5000);
	/* Pushed far out: does not fire. */
	t = ev_timer_add(ev, 0, timer_periodic, &pd);
	ev_timer_reset(ev, t, 100000);
	assert_int_equal(ev_run_once(ev, 20), 0);
	assert_int_equal(pd.calls, 1);
	ev_free(ev);	/* frees the armed timer */
}

#define MANY	10000

struct many {
	int		 fired[MANY];
	int		 order[MANY];
	int		 n;
	uint64_t	 after[MANY];
};

struct many_arg {
	struct many	*m;
	int		 id;
};

static void
timer_many(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct many_arg *ma = arg;

	(void)ev;
	(void)t;
	ma->m->fired[ma->id]++;
	ma->m->order[ma->m->n++] = ma->id;
}

static void
test_many_timers(void **state)
{
	struct ev *ev = ev_new(64);
	struct many *m = calloc(1, sizeof(*m));
	struct many_arg *args = calloc(MANY, sizeof(*args));
	struct ev_timer **tm = calloc(MANY, sizeof(*tm));
	int i, a, b, expect = 0, iters;

	(void)state;
	assert_non_null(m);
	assert_non_null(args);
	assert_non_null(tm);
	srand(12345);
	ev_update_now(ev);
	for (i = 0; i < MANY; i++) {
		m->after[i] = (uint64_t)(rand() % 150);
		args[i].m = m;
		args[i].id = i;
		tm[i] = ev_timer_add(ev, m->after[i], timer_many, &args[i]);
	}
	/* Cancel every 7th: removal from the middle of the heap. */
	for (i = 0; i < MANY; i++) {
		if (i % 7 == 3) {
			ev_timer_cancel(ev, tm[i]);
		} else {
			expect++;
		}
	}
	for (iters = 0; iters < 2000 && m->n < expect; iters++) {
		assert_true(ev_run_once(ev, -1) >= 0);
	}
	assert_int_equal(m->n, expect);
	for (i = 0; i < MANY; i++) {
		assert_int_equal(m->fired[i], i % 7 == 3 ? 0 : 1);
	}
	/* Sorted by deadline; equal deadlines in arming order. */
	for (i = 1; i < m->n; i++) {
		a = m->order[i - 1];
		b = m->order[i];
		assert_true(m->after[a] < m->after[b] ||
		    (m->after[a] == m->after[b] && a < b));
	}
	ev_free(ev);
	free(tm);
	free(args);
	free(m);
}

/* ----- cross-thread posting and stopping ----- */

#define POSTERS		4
#define PER_POSTER	1000

struct post_ctx {
	struct ev	*ev;
	pthread_t	 loop_thread;
	int		 ran[POSTERS][PER_POSTER];
	int		 total;
	int		 wrong_thread;
	int		 timed_out;
};

struct post_item {
	struct post_ctx	*ctx;
	int		 who;
	int		 i;
};

static void
task_mark(struct ev *ev, void *arg)
{
	struct post_item *it = arg;
	struct post_ctx *ctx = it->ctx;

	if (!pthread_equal(pthread_self(), ctx->loop_thread)) {
		ctx->wrong_thread++;
	}
	ctx->ran[it->who][it->i]++;
	if (++ctx->total == POSTERS * PER_POSTER) {
		ev_stop(ev);
	}
	free(it);
}

struct poster {
	struct post_ctx	*ctx;
	int		 who;
};

static void *
poster_main(void *arg)
{
	struct poster *p = arg;
	struct post_item *it = NULL;
	int i;

	for (i = 0; i < PER_POSTER; i++) {
		it = malloc(sizeof(*it));
		if (it == NULL) {
			abort();
		}
		it->ctx = p->ctx;
		it->who = p->who;
		it->i = i;
		if (ev_post(p->ctx->ev, task_mark, it) != 0) {
			abort();
		}
	}
	return NULL;
}

static void
timer_stop_safety(struct ev *ev, struct ev_timer *t, void *arg)
{
	int *flag = arg;

	(void)t;
	*flag = 1;
	ev_stop(ev);
}

static void
test_post_from_threads(void **state)
{
	struct post_ctx *ctx = calloc(1, sizeof(*ctx));
	struct poster ps[POSTERS];
	pthread_t th[POSTERS];
	struct ev_timer *safety = NULL;
	int i, j;

	(void)state;
	assert_non_null(ctx);
	ctx->ev = ev_new(16);
	ctx->loop_thread = pthread_self();
	safety = ev_timer_add(ctx->ev, 20000, timer_stop_safety,
	    &ctx->timed_out);
	for (i = 0; i < POSTERS; i++) {
		ps[i].ctx = ctx;
		ps[i].who = i;
		assert_int_equal(pthread_create(&th[i], NULL, poster_main,
		    &ps[i]), 0);
	}
	assert_int_equal(ev_run(ctx->ev), 0);
	for (i = 0; i < POSTERS; i++) {
		pthread_join(th[i], NULL);
	}
	assert_int_equal(ctx->timed_out, 0);
	assert_int_equal(ctx->total, POSTERS * PER_POSTER);
	assert_int_equal(ctx->wrong_thread, 0);
	for (i = 0; i < POSTERS; i++) {
		for (j = 0; j < PER_POSTER; j++) {
			assert_int_equal(ctx->ran[i][j], 1);
		}
	}
	ev_timer_cancel(ctx->ev, safety);
	assert_int_equal(ev_post(ctx->ev, NULL, NULL), ERR_INVAL);
	ev_free(ctx->ev);
	free(ctx);
}

static void *
stopper_main(void *arg)
{
	struct ev *ev = arg;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	ev_stop(ev);
	return NULL;
}

static void
test_stop_from_thread(void **state)
{
	struct ev *ev = ev_new(8);
	struct ev_timer *safety = NULL;
	pthread_t th;
	uint64_t t0;
	int timed_out = 0;

	(void)state;
	safety = ev_timer_add(ev, 20000, timer_stop_safety, &timed_out);
	t0 = mono_ms();
	assert_int_equal(pthread_create(&th, NULL, stopper_main, ev), 0);
	/* Nothing but a far timer: ev_run sleeps until the stop arrives. */
	assert_int_equal(ev_run(ev), 0);
	pthread_join(th, NULL);
	assert_int_equal(timed_out, 0);
	assert_true(mono_ms() - t0 >= 49);
	ev_timer_cancel(ev, safety);
	ev_free(ev);
}

static void
test_stop_before_run(void **state)
{
	struct ev *ev = ev_new(8);
	int fired = 0;

	(void)state;
	ev_stop(ev);
	assert_int_equal(ev_run(ev), 0);
	/* The request was consumed: the next ev_run waits for a new one. */
	ev_timer_add(ev, 20, timer_stop_safety, &fired);
	assert_int_equal(ev_run(ev), 0);
	assert_int_equal(fired, 1);
	ev_free(ev);
}

/* A task that re-posts itself: each pass runs only what was queued. */
static void
task_repost(struct ev *ev, void *arg)
{
	int *left = arg;

	if (--(*left) > 0) {
		assert_int_equal(ev_post(ev, task_repost, left), 0);
	}
}

static void
test_post_from_loop_thread(void **state)
{
	struct ev *ev = ev_new(8);
	int left = 3;

	(void)state;
	assert_int_equal(ev_post(ev, task_repost, &left), 0);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(left, 2);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(ev_run_once(ev, 1000), 1);
	assert_int_equal(left, 0);
	assert_int_equal(ev_run_once(ev, 0), 0);
	ev_free(ev);
}

static void
task_free_count(struct ev *ev, void *arg)
{
	int **pp = arg;

	(void)ev;
	(**pp)++;
	free(pp);
}

static void
test_free_runs_pending_tasks(void **state)
{
	struct ev *ev = ev_new(8);
	int count = 0, i;
	int **pp = NULL;

	(void)state;
	for (i = 0; i < 10; i++) {
		pp = malloc(sizeof(*pp));
		assert_non_null(pp);
		*pp = &count;
		assert_int_equal(ev_post(ev, task_free_count, pp), 0);
	}
	/* Armed timers are freed too (ASan checks for leaks). */
	ev_timer_add(ev, 1000, timer_stop_safety, &i);
	ev_timer_add(ev, 5, timer_stop_safety, &i);
	ev_free(ev);
	assert_int_equal(count, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_level_triggered),
		cmocka_unit_test(test_edge_triggered),
		cmocka_unit_test(test_write_and_mod),
		cmocka_unit_test(test_hup),
		cmocka_unit_test(test_del_other_in_batch),
		cmocka_unit_test(test_del_readd_in_batch),
		cmocka_unit_test(test_before_sleep_deferred_close),
		cmocka_unit_test(test_high_fd),
		cmocka_unit_test(test_timers_order),
		cmocka_unit_test(test_same_deadline_fifo),
		cmocka_unit_test(test_cancel_in_callback),
		cmocka_unit_test(test_timer_reset_in_callback),
		cmocka_unit_test(test_timer_rearm_zero_no_spin),
		cmocka_unit_test(test_next_timer_ms),
		cmocka_unit_test(test_timer_reset_outside),
		cmocka_unit_test(test_many_timers),
		cmocka_unit_test(test_post_from_threads),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_stop_before_run),
		cmocka_unit_test(test_post_from_loop_thread),
		cmocka_unit_test(test_free_runs_pending_tasks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

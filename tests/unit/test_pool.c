/* Unit tests for the worker pool, with a real event loop and threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/pool.h"

#define NJOBS	1000

struct pctx {
	struct ev	*ev;
	pthread_t	 loop;
	int		 target;	/* stop the loop at this many dones */
	int		 done;
	int		 wrong_thread;
	int		 bad_result;
	int		 seen[NJOBS];
	int		 timed_out;
};

struct job {
	struct pctx	*ctx;
	int		 in;
	pthread_t	 worker;	/* written by the worker */
	int		 sigterm_blocked;
};

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void
timer_safety(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct pctx *ctx = arg;

	(void)t;
	ctx->timed_out = 1;
	ev_stop(ev);
}

/* Worker side: doubles the input and notes where it ran. */
static int
work_double(void *arg)
{
	struct job *j = arg;
	sigset_t cur;

	j->worker = pthread_self();
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	j->sigterm_blocked = sigismember(&cur, SIGTERM) == 1;
	return j->in * 2;
}

/* Loop side: checks thread and result, frees the job. */
static void
done_double(void *arg, int result)
{
	struct job *j = arg;
	struct pctx *ctx = j->ctx;

	if (!pthread_equal(pthread_self(), ctx->loop) ||
	    pthread_equal(j->worker, ctx->loop) || !j->sigterm_blocked) {
		ctx->wrong_thread++;
	}
	if (result != j->in * 2) {
		ctx->bad_result++;
	}
	ctx->seen[j->in]++;
	if (++ctx->done == ctx->target) {
		ev_stop(ctx->ev);
	}
	free(j);
}

static struct job *
job_new(struct pctx *ctx, int in)
{
	struct job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->ctx = ctx;
	j->in = in;
	return j;
}

static struct pctx *
pctx_new(int target)
{
	struct pctx *ctx = calloc(1, sizeof(*ctx));

	assert_non_null(ctx);
	ctx->ev = ev_new(64);
	assert_non_null(ctx->ev);
	ctx->loop = pthread_self();
	ctx->target = target;
	return ctx;
}

static void
pctx_free(struct pctx *ctx)
{
	ev_free(ctx->ev);
	free(ctx);
}

static void
test_bad_args(void **state)
{
	struct pool *p = NULL;
	struct ev *ev = ev_new(8);
	int dummy = 0;

	(void)state;
	pool_free(NULL);
	assert_null(pool_new(0, 10));
	assert_null(pool_new(2, 0));
	p = pool_new(1, 4);
	assert_non_null(p);
	assert_int_equal(pool_submit(p, NULL, done_double, &dummy, ev),
	    ERR_INVAL);
	assert_int_equal(pool_submit(p, work_double, done_double, &dummy,
	    NULL), ERR_INVAL);
	pool_free(p);
	ev_free(ev);
}

static void
test_thousand_jobs(void **state)
{
	struct pctx *ctx = pctx_new(NJOBS);
	struct pool *p = pool_new(4, NJOBS);
	struct ev_timer *safety = NULL;
	int i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(pool_submit(p, work_double, done_double,
		    job_new(ctx, i), ctx->ev), 0);
	}
	safety = ev_timer_add(ctx->ev, 20000, timer_safety, ctx);
	assert_int_equal(ev_run(ctx->ev), 0);
	assert_int_equal(ctx->timed_out, 0);
	assert_int_equal(ctx->done, NJOBS);
	assert_int_equal(ctx->wrong_thread, 0);
	assert_int_equal(ctx->bad_result, 0);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(ctx->seen[i], 1);
	}
	ev_timer_cancel(ctx->ev, safety);
	pool_free(p);
	pctx_free(ctx);
}

/* A gate that holds workers until the test opens it. */
struct gate {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 open;
	int		 started;
};

static struct gate gate_g = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0
};

static int
work_gate(void *arg)
{
	struct job *j = arg;

	pthread_mutex_lock(&gate_g.mu);
	gate_g.started++;
	pthread_cond_broadcast(&gate_g.cv);
	while (!gate_g.open) {
		pthread_cond_wait(&gate_g.cv, &gate_g.mu);
	}
	pthread_mutex_unlock(&gate_g.mu);
	j->worker = pthread_self();
	j->sigterm_blocked = 1;
	return j->in * 2;
}

static void
test_queue_full(void **state)
{
	struct pctx *ctx = pctx_new(4);
	struct pool *p = pool_new(1, 2);
	struct job *extra = NULL;
	int i;

	(void)state;
	assert_non_null(p);
	/* Job 0 occupies the only worker... */
	assert_int_equal(pool_submit(p, work_gate, done_double,
	    job_new(ctx, 0), ctx->ev), 0);
	pthread_mutex_lock(&gate_g.mu);
	while (gate_g.started < 1) {
		pthread_cond_wait(&gate_g.cv, &gate_g.mu);
	}
	pthread_mutex_unlock(&gate_g.mu);
	/* ...jobs 1 and 2 fill the queue, job 3 is refused. */
	for (i = 1; i <= 2; i++) {
		assert_int_equal(pool_submit(p, work_gate, done_double,
		    job_new(ctx, i), ctx->ev), 0);
	}
	extra = job_new(ctx, 3);
	assert_int_equal(pool_submit(p, work_gate, done_double, extra,
	    ctx->ev), ERR_AGAIN);
	assert_int_equal(pool_submit(p, work_double, NULL, NULL, NULL),
	    ERR_AGAIN);
	/* Nothing completes while the gate is shut. */
	assert_int_equal(ev_run_once(ctx->ev, 20), 0);
	assert_int_equal(ctx->done, 0);

	pthread_mutex_lock(&gate_g.mu);
	gate_g.open = 1;
	pthread_cond_broadcast(&gate_g.cv);
	pthread_mutex_unlock(&gate_g.mu);
	ctx->target = 3;
	ev_timer_add(ctx->ev, 20000, timer_safety, ctx);
	assert_int_equal(ev_run(ctx->ev), 0);
	assert_int_equal(ctx->timed_out, 0);
	assert_int_equal(ctx->done, 3);
	/* Room again: the refused job can be resubmitted. */
	ctx->target = 4;
	assert_int_equal(pool_submit(p, work_double, done_double, extra,
	    ctx->ev), 0);
	assert_int_equal(ev_run(ctx->ev), 0);
	assert_int_equal(ctx->timed_out, 0);
	assert_int_equal(ctx->done, 4);
	assert_int_equal(ctx->wrong_thread, 0);
	assert_int_equal(ctx->bad_result, 0);
	pool_free(p);
	pctx_free(ctx);	/* also frees the safety timer */
}

static atomic_int slow_ran;

static int
work_slow(void *arg)
{
	sleep_us(100);
	atomic_fetch_add(&slow_ran, 1);
	return work_double(arg);
}

static void
test_free_with_pending(void **state)
{
	struct pctx *ctx = pctx_new(-1);
	struct pool *p = pool_new(2, 500);
	int i;

	(void)state;
	atomic_store(&slow_ran, 0);
	for (i = 0; i < 300; i++) {
		assert_int_equal(pool_submit(p, work_slow, done_double,
		    job_new(ctx, i), ctx->ev), 0);
	}
	/* Returns once every queued job has run; nothing is dropped. */
	pool_free(p);
	assert_int_equal(atomic_load(&slow_ran), 300);
	/* All completions were posted before pool_free returned. */
	assert_int_equal(ev_run_once(ctx->ev, 1000), 300);
	assert_int_equal(ctx->done, 300);
	assert_int_equal(ctx->wrong_thread, 0);
	assert_int_equal(ctx->bad_result, 0);
	pctx_free(ctx);
}

static void
test_free_pool_then_loop(void **state)
{
	struct pctx *ctx = pctx_new(-1);
	struct pool *p = pool_new(3, 100);
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_int_equal(pool_submit(p, work_slow, done_double,
		    job_new(ctx, i), ctx->ev), 0);
	}
	pool_free(p);
	/* The loop never ran: ev_free delivers the completions. */
	ev_free(ctx->ev);
	assert_int_equal(ctx->done, 100);
	assert_int_equal(ctx->bad_result, 0);
	free(ctx);
}

static atomic_int running_now;
static atomic_int running_max;
static atomic_int fire_forget_ran;

static int
work_count_concurrency(void *arg)
{
	int cur, max;

	(void)arg;
	cur = atomic_fetch_add(&running_now, 1) + 1;
	max = atomic_load(&running_max);
	while (cur > max &&
	    !atomic_compare_exchange_weak(&running_max, &max, cur)) {
		continue;
	}
	sleep_us(2000);
	atomic_fetch_sub(&running_now, 1);
	atomic_fetch_add(&fire_forget_ran, 1);
	return 0;
}

static void
test_concurrency_bound(void **state)
{
	struct pool *p = pool_new(3, 64);
	int i;

	(void)state;
	atomic_store(&running_now, 0);
	atomic_store(&running_max, 0);
	atomic_store(&fire_forget_ran, 0);
	/* Fire-and-forget jobs: no done, no loop. */
	for (i = 0; i < 30; i++) {
		assert_int_equal(pool_submit(p, work_count_concurrency, NULL,
		    NULL, NULL), 0);
	}
	pool_free(p);
	assert_int_equal(atomic_load(&fire_forget_ran), 30);
	assert_true(atomic_load(&running_max) >= 1);
	assert_true(atomic_load(&running_max) <= 3);
}

/* Two threads submit while the loop runs; they retry on ERR_AGAIN. */
#define SUBMITTERS	2
#define PER_SUBMITTER	200

struct submitter {
	struct pctx	*ctx;
	struct pool	*p;
	int		 base;
	int		 again;
};

static void *
submitter_main(void *arg)
{
	struct submitter *s = arg;
	struct job *j = NULL;
	int i, r;

	for (i = 0; i < PER_SUBMITTER; i++) {
		j = calloc(1, sizeof(*j));
		if (j == NULL) {
			abort();
		}
		j->ctx = s->ctx;
		j->in = s->base + i;
		while ((r = pool_submit(s->p, work_slow, done_double, j,
		    s->ctx->ev)) == ERR_AGAIN) {
			s->again++;
			sleep_us(200);
		}
		if (r != 0) {
			abort();
		}
	}
	return NULL;
}

static void
test_submit_from_threads(void **state)
{
	struct pctx *ctx = pctx_new(SUBMITTERS * PER_SUBMITTER);
	struct pool *p = pool_new(2, 8);
	struct submitter s[SUBMITTERS];
	pthread_t th[SUBMITTERS];
	int i;

	(void)state;
	ev_timer_add(ctx->ev, 30000, timer_safety, ctx);
	for (i = 0; i < SUBMITTERS; i++) {
		s[i].ctx = ctx;
		s[i].p = p;
		s[i].base = i * PER_SUBMITTER;
		s[i].again = 0;
		assert_int_equal(pthread_create(&th[i], NULL, submitter_main,
		    &s[i]), 0);
	}
	assert_int_equal(ev_run(ctx->ev), 0);
	for (i = 0; i < SUBMITTERS; i++) {
		pthread_join(th[i], NULL);
	}
	pool_free(p);
	assert_int_equal(ctx->timed_out, 0);
	assert_int_equal(ctx->done, SUBMITTERS * PER_SUBMITTER);
	assert_int_equal(ctx->wrong_thread, 0);
	for (i = 0; i < SUBMITTERS * PER_SUBMITTER; i++) {
		assert_int_equal(ctx->seen[i], 1);
	}
	pctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_thousand_jobs),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_free_with_pending),
		cmocka_unit_test(test_free_pool_then_loop),
		cmocka_unit_test(test_concurrency_bound),
		cmocka_unit_test(test_submit_from_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

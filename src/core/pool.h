/*
 * pool: a fixed set of worker threads for blocking work (Argon2id
 * verification, name resolution, fsync), so that no event loop blocks.
 *
 * pool_submit() queues work(arg); a worker runs it and then hands
 * done(arg, result) back to the submitter's loop with ev_post(), so the
 * completion runs on that loop's thread, where the caller's objects live.
 * Workers must not touch loop-owned objects (connections): work() gets
 * only what arg carries, and arg belongs to the job until done() runs.
 *
 * Concurrency bound: at most nthreads jobs run at once, so the pool size
 * is the bound on simultaneous Argon2 verifications (each uses its own
 * m_cost of memory); no separate semaphore is needed. The queue of jobs
 * waiting for a worker is bounded by max_queue: a full queue is reported
 * with ERR_AGAIN (fail the request or retry later; never block a loop).
 *
 * Workers start with every signal blocked, so signals reach only the
 * threads that expect them (signalfd on the main thread).
 *
 * Lifetime: free the pool before any loop it posts completions to. Every
 * submitted job runs exactly once, and its done() is posted exactly once,
 * even when pool_free() is called with jobs still queued.
 */
#ifndef SKS5_CORE_POOL_H
#define SKS5_CORE_POOL_H

#include <stddef.h>

struct ev;
struct pool;

/* Runs on a worker thread; the return value reaches done() as result. */
typedef int	(*pool_work_cb)(void *arg);
/* Runs on the thread of the loop given to pool_submit(). */
typedef void	(*pool_done_cb)(void *arg, int result);

/*
 * Starts nthreads workers (1 or more) with room for max_queue waiting jobs
 * (1 or more). Returns NULL on bad arguments or if a thread cannot be
 * started.
 */
struct pool	*pool_new(unsigned nthreads, size_t max_queue);

/*
 * Lets the workers finish every queued job, then joins them and frees the
 * pool. The done() callbacks of those jobs are posted to their loops as
 * usual (they run there, or in ev_free()). NULL is a no-op. Must not be
 * called from a worker.
 */
void		 pool_free(struct pool *p);

/*
 * Queues work(arg) on a worker; afterwards done(arg, result) runs on
 * done_loop's thread. done may be NULL (nothing to report back; done_loop
 * is then ignored). Returns 0, ERR_INVAL (no work, or done without a loop)
 * or ERR_AGAIN (queue full, or the pool is shutting down). Any thread may
 * call it.
 */
int		 pool_submit(struct pool *p, pool_work_cb work,
		    pool_done_cb done, void *arg, struct ev *done_loop);

#endif /* SKS5_CORE_POOL_H */

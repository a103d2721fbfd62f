/*
 * ev: a small epoll event loop, one per thread (in the spirit of redis's
 * ae.c and libuv).
 *
 * A loop watches fds, runs one-shot timers from a min-heap, runs tasks
 * posted from other threads, and calls a before-sleep hook at the end of
 * every iteration.
 *
 * Threads. Every function here must be called on the thread that runs the
 * loop, except ev_post() and ev_stop(), which any thread may call at any
 * time while the loop exists. A loop is never run by two threads.
 *
 * Ownership.
 *  - Whoever calls ev_new() calls ev_free(). The loop does not own the fds
 *    it watches and never closes them; ev_del() an fd before closing it.
 *  - Callback arguments are borrowed: the loop never frees them.
 *  - A timer belongs to the loop. The pointer from ev_timer_add() is valid
 *    until the timer's callback returns (unless the callback re-arms it
 *    with ev_timer_reset()) or until ev_timer_cancel(), whichever comes
 *    first. A caller that keeps the pointer must clear it in the callback;
 *    cancelling a timer that has already fired is a use-after-free.
 *  - A task posted with ev_post() runs exactly once: on the loop thread
 *    during ev_run()/ev_run_once(), or at the latest inside ev_free().
 *
 * Deferred close. No callback frees the object it is running on, and no
 * callback frees an object that another pending event of the same batch
 * may still refer to. Instead the owner flags the object (for example
 * conn_close_later()) and frees it in the before-sleep hook, which runs
 * after every callback of the iteration and before the loop sleeps again.
 * ev_del() and ev_timer_cancel() themselves are safe anywhere on the loop
 * thread, including inside callbacks: events of a deleted fd that are
 * still pending in the current batch are dropped, even if the same fd
 * number is added again at once.
 *
 * Watchers are edge-triggered unless EV_LEVEL is given: an edge-triggered
 * reader must read until EAGAIN (or remember that it stopped early and
 * come back, e.g. from a posted task, to honour its read budget).
 */
#ifndef SKS5_CORE_EV_H
#define SKS5_CORE_EV_H

#include <stddef.h>
#include <stdint.h>

struct ev;
struct ev_timer;

/* Interest flags for ev_add()/ev_mod(). */
#define EV_READ		0x01u	/* readable (also reports peer half-close) */
#define EV_WRITE	0x02u	/* writable */
#define EV_LEVEL	0x04u	/* level-triggered instead of edge-triggered */

/* Extra flags that only appear in revents. */
#define EV_HUP		0x10u	/* peer closed (fully, or its write side) */
#define EV_ERROR	0x20u	/* error pending on the fd (see SO_ERROR) */

/* Default epoll batch size when ev_new() is given 0. */
#define EV_DEFAULT_MAX_EVENTS	256

typedef void	(*ev_io_cb)(struct ev *ev, int fd, unsigned revents, void *arg);
typedef void	(*ev_timer_cb)(struct ev *ev, struct ev_timer *t, void *arg);
typedef void	(*ev_task_cb)(struct ev *ev, void *arg);
typedef void	(*ev_hook_cb)(struct ev *ev, void *arg);

/*
 * Creates a loop whose epoll_wait() returns at most max_events events per
 * iteration (0 means EV_DEFAULT_MAX_EVENTS). Returns NULL if the epoll fd
 * or the eventfd cannot be created (errno says why).
 */
struct ev	*ev_new(size_t max_events);

/*
 * Frees the loop: runs the tasks still queued by ev_post() (on the calling
 * thread), drops the timers without calling them and forgets the watchers
 * without closing their fds. NULL is a no-op. No other thread may call
 * ev_post()/ev_stop() on it any more (free the worker pool first).
 */
void		 ev_free(struct ev *ev);

/*
 * Watches fd for events (EV_READ, EV_WRITE, EV_LEVEL); cb gets the ready
 * events plus EV_HUP/EV_ERROR (always reported, even with no interest).
 * Returns 0, ERR_INVAL (negative fd, no cb or an unknown flag), ERR_EXISTS
 * (fd already watched) or ERR_IO (epoll_ctl failed, e.g. fd not open).
 */
int		 ev_add(struct ev *ev, int fd, unsigned events, ev_io_cb cb,
		    void *arg);

/* Changes the events of a watched fd. 0, ERR_INVAL, ERR_NOTFOUND, ERR_IO. */
int		 ev_mod(struct ev *ev, int fd, unsigned events);

/*
 * Stops watching fd; its pending events in the current batch are dropped.
 * Returns 0 or ERR_NOTFOUND. Call it before close(fd).
 */
int		 ev_del(struct ev *ev, int fd);

/*
 * Arms a one-shot timer that fires after_ms after the loop's cached time
 * (ev_now_ms). Timers with the same deadline fire in the order they were
 * armed. Never fails (allocation failure aborts). See the ownership notes.
 */
struct ev_timer	*ev_timer_add(struct ev *ev, uint64_t after_ms,
		    ev_timer_cb cb, void *arg);

/*
 * Disarms and frees a timer. Safe from any callback, including the timer's
 * own (the loop then frees it when the callback returns). NULL is a no-op.
 */
void		 ev_timer_cancel(struct ev *ev, struct ev_timer *t);

/*
 * Re-arms a timer to fire after_ms from now (ev_now_ms), whether it is
 * pending or currently running its callback (a periodic timer resets
 * itself from its callback). A timer re-armed during the timer pass does
 * not run again in the same pass, even with after_ms 0.
 */
void		 ev_timer_reset(struct ev *ev, struct ev_timer *t,
		    uint64_t after_ms);

/*
 * The loop's epoll fd: it polls readable while any watched fd, posted
 * task or wake-up is pending, so another poller (libssh's ssh_event) can
 * wait on it and then call ev_run_once(ev, 0). Timers do not make it
 * readable; such a host polls with a bounded timeout.
 */
int		 ev_fd(const struct ev *ev);
/*
 * Milliseconds until the earliest timer is due (0: due now), or -1 when no
 * timer is armed: what a host polling ev_fd() should bound its wait by.
 */
int		 ev_next_timer_ms(struct ev *ev);
/* Loop time in ms (CLOCK_MONOTONIC), cached once per iteration. */
uint64_t	 ev_now_ms(const struct ev *ev);

/* Refreshes the cached time, e.g. after a long computation. */
void		 ev_update_now(struct ev *ev);

/*
 * Queues cb(ev, arg) to run on the loop's thread and wakes the loop. Any
 * thread may call it, including the loop's own. Tasks run in the order
 * they were posted. Returns 0 or ERR_INVAL (no cb).
 */
int		 ev_post(struct ev *ev, ev_task_cb cb, void *arg);

/*
 * Sets the hook that runs at the end of every iteration, after all io,
 * task and timer callbacks and before the loop sleeps again: the place for
 * deferred closes. cb NULL removes it.
 */
void		 ev_set_before_sleep(struct ev *ev, ev_hook_cb cb, void *arg);

/*
 * Runs iterations until ev_stop(). Returns 0 when stopped, ERR_IO if
 * epoll_wait() fails. Each ev_stop() request ends one ev_run(): a stop
 * requested before ev_run() is entered makes it return at once.
 */
int		 ev_run(struct ev *ev);

/*
 * Runs one iteration, sleeping at most timeout_ms (-1: until an event or
 * the next timer; 0: poll). Returns the number of io events, tasks and
 * timers handled (0 on timeout or EINTR), or ERR_IO.
 */
int		 ev_run_once(struct ev *ev, int timeout_ms);

/* Asks ev_run() to return soon. Any thread may call it. */
void		 ev_stop(struct ev *ev);

#endif /* SKS5_CORE_EV_H */

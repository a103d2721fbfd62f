/* Event loop: epoll watchers, a timer min-heap and a cross-thread queue. */
#include "core/ev.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

/* epoll user data of the wake-up eventfd; no watcher can produce it. */
#define EV_WAKE_TOKEN	UINT64_MAX
/* Heap index of a timer that is not armed. */
#define EV_TIMER_IDLE	SIZE_MAX
/* Initial size of the watcher table. */
#define EV_WATCH_MIN	64

/* One slot of the fd-indexed watcher table. */
struct ev_watch {
	ev_io_cb	 cb;		/* NULL: fd not watched */
	void		*arg;
	unsigned	 events;	/* EV_READ | EV_WRITE | EV_LEVEL */
	uint32_t	 gen;		/* bumped by ev_del; stale events */
};

struct ev_timer {
	uint64_t	 deadline;	/* ms, monotonic */
	uint64_t	 seq;		/* arming order, breaks ties */
	ev_timer_cb	 cb;
	void		*arg;
	size_t		 idx;		/* position in the heap or IDLE */
	int		 running;	/* its callback is on the stack */
};

struct ev_task {
	ev_task_cb	 cb;
	void		*arg;
	struct ev_task	*next;
};

struct ev {
	int			 epfd;
	int			 wakefd;
	struct epoll_event	*events;
	int			 max_events;
	int			 depth;		/* > 0 inside ev_run_once */

	struct ev_watch		*watch;
	size_t			 nwatch;

	struct ev_timer		**heap;
	size_t			 nheap;
	size_t			 heapcap;
	uint64_t		 seq;
	uint64_t		 now;

	ev_hook_cb		 before_sleep;
	void			*before_sleep_arg;

	/* Shared with other threads. */
	pthread_mutex_t		 mu;
	struct ev_task		*head;		/* under mu */
	struct ev_task		*tail;		/* under mu */
	int			 wake_pending;	/* under mu */
	atomic_int		 stop;
};

/* Reads the monotonic clock in milliseconds. */
static uint64_t
ev_clock_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wakes epoll_wait() through the eventfd; safe from any thread. */
static void
ev_wake(struct ev *ev)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(ev->wakefd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN means the counter is saturated: the loop is awake anyway. */
}

/* Creates a loop with its epoll fd and wake-up eventfd. */
struct ev *
ev_new(size_t max_events)
{
	struct ev *ev = NULL;
	struct epoll_event e;

	if (max_events == 0) {
		max_events = EV_DEFAULT_MAX_EVENTS;
	}
	if (max_events > INT_MAX / sizeof(struct epoll_event)) {
		max_events = INT_MAX / sizeof(struct epoll_event);
	}
	ev = xcalloc(1, sizeof(*ev));
	ev->epfd = ev->wakefd = -1;
	if ((ev->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (ev->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		goto fail;
	}
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.u64 = EV_WAKE_TOKEN;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->wakefd, &e) < 0) {
		goto fail;
	}
	ev->max_events = (int)max_events;
	ev->events = xcalloc(max_events, sizeof(*ev->events));
	pthread_mutex_init(&ev->mu, NULL);
	atomic_init(&ev->stop, 0);
	ev->now = ev_clock_ms();
	return ev;
fail:
	log_error("epoll or eventfd setup failed: %s", strerror(errno));
	if (ev->epfd >= 0) {
		close(ev->epfd);
	}
	if (ev->wakefd >= 0) {
		close(ev->wakefd);
	}
	free(ev);
	return NULL;
}

/* Detaches the task queue and runs it; returns how many tasks ran. */
static int
ev_run_tasks(struct ev *ev)
{
	struct ev_task *t = NULL, *next = NULL;
	int n = 0;

	pthread_mutex_lock(&ev->mu);
	t = ev->head;
	ev->head = ev->tail = NULL;
	ev->wake_pending = 0;
	pthread_mutex_unlock(&ev->mu);
	/* Tasks posted from here on go to the next iteration. */
	for (; t != NULL; t = next) {
		next = t->next;
		t->cb(ev, t->arg);
		free(t);
		n++;
	}
	return n;
}

/* Runs leftover tasks, then releases the loop and everything it holds. */
void
ev_free(struct ev *ev)
{
	size_t i;

	if (ev == NULL) {
		return;
	}
	assert(ev->depth == 0);
	/* A posted task always runs, so its argument is never leaked. */
	while (ev_run_tasks(ev) > 0) {
		continue;
	}
	for (i = 0; i < ev->nheap; i++) {
		free(ev->heap[i]);
	}
	free(ev->heap);
	free(ev->watch);
	free(ev->events);
	close(ev->wakefd);
	close(ev->epfd);
	pthread_mutex_destroy(&ev->mu);
	free(ev);
}

/* ----- fd watchers ----- */

/* Translates EV_* interest flags to epoll flags. */
static uint32_t
ev_to_epoll(unsigned events)
{
	uint32_t e = 0;

	if (events & EV_READ) {
		e |= EPOLLIN | EPOLLRDHUP;
	}
	if (events & EV_WRITE) {
		e |= EPOLLOUT;
	}
	if (!(events & EV_LEVEL)) {
		e |= EPOLLET;
	}
	return e;
}

/* Translates epoll's ready flags to EV_* revents. */
static unsigned
ev_from_epoll(uint32_t e)
{
	unsigned r = 0;

	if (e & EPOLLIN) {
		r |= EV_READ;
	}
	if (e & EPOLLOUT) {
		r |= EV_WRITE;
	}
	if (e & (EPOLLHUP | EPOLLRDHUP)) {
		r |= EV_HUP;
	}
	if (e & EPOLLERR) {
		r |= EV_ERROR;
	}
	return r;
}

/* Grows the watcher table to hold fd, bounded by RLIMIT_NOFILE. */
static void
ev_watch_reserve(struct ev *ev, int fd)
{
	size_t need = (size_t)fd + 1, n;
	struct rlimit rl;

	if (need <= ev->nwatch) {
		return;
	}
	n = ev->nwatch > 0 ? ev->nwatch : EV_WATCH_MIN;
	while (n < need) {
		n *= 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && n > rl.rlim_cur) {
		n = rl.rlim_cur > need ? (size_t)rl.rlim_cur : need;
	}
	ev->watch = xreallocarray(ev->watch, n, sizeof(*ev->watch));
	memset(ev->watch + ev->nwatch, 0,
	    (n - ev->nwatch) * sizeof(*ev->watch));
	ev->nwatch = n;
}

/* The epoll_ctl() call shared by ev_add and ev_mod. */
static int
ev_ctl(struct ev *ev, int op, int fd, const struct ev_watch *w)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = ev_to_epoll(w->events);
	e.data.u64 = (uint64_t)w->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(ev->epfd, op, fd, &e) < 0) {
		log_debug("epoll_ctl fd=%d op=%d: %s", fd, op,
		    strerror(errno));
		return ERR_IO;
	}
	return 0;
}

/* Starts watching fd. */
int
ev_add(struct ev *ev, int fd, unsigned events, ev_io_cb cb, void *arg)
{
	struct ev_watch *w = NULL;
	int r;

	if (fd < 0 || cb == NULL ||
	    (events & ~(EV_READ | EV_WRITE | EV_LEVEL)) != 0) {
		return ERR_INVAL;
	}
	ev_watch_reserve(ev, fd);
	w = &ev->watch[fd];
	if (w->cb != NULL) {
		return ERR_EXISTS;
	}
	w->events = events;
	if ((r = ev_ctl(ev, EPOLL_CTL_ADD, fd, w)) != 0) {
		return r;
	}
	w->cb = cb;
	w->arg = arg;
	return 0;
}

/* Changes the interest set of a watched fd. */
int
ev_mod(struct ev *ev, int fd, unsigned events)
{
	struct ev_watch *w = NULL;
	unsigned old;
	int r;

	if (fd < 0 || (events & ~(EV_READ | EV_WRITE | EV_LEVEL)) != 0) {
		return ERR_INVAL;
	}
	if ((size_t)fd >= ev->nwatch || ev->watch[fd].cb == NULL) {
		return ERR_NOTFOUND;
	}
	w = &ev->watch[fd];
	old = w->events;
	w->events = events;
	if ((r = ev_ctl(ev, EPOLL_CTL_MOD, fd, w)) != 0) {
		w->events = old;
	}
	return r;
}

/* Stops watching fd and invalidates its pending events. */
int
ev_del(struct ev *ev, int fd)
{
	struct ev_watch *w = NULL;

	if (fd < 0 || (size_t)fd >= ev->nwatch || ev->watch[fd].cb == NULL) {
		return ERR_NOTFOUND;
	}
	w = &ev->watch[fd];
	/* Fails only if fd was already closed, which removed it anyway. */
	(void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->cb = NULL;
	w->arg = NULL;
	w->events = 0;
	w->gen++;
	return 0;
}

/* Calls the watcher of one epoll event unless it was deleted meanwhile. */
static int
ev_dispatch_io(struct ev *ev, const struct epoll_event *e)
{
	struct ev_watch *w = NULL;
	int fd = (int)(uint32_t)e->data.u64;
	uint32_t gen = (uint32_t)(e->data.u64 >> 32);
	unsigned revents;

	if (fd < 0 || (size_t)fd >= ev->nwatch) {
		return 0;
	}
	w = &ev->watch[fd];
	if (w->cb == NULL || w->gen != gen) {
		return 0;
	}
	/* Drop readiness the watcher stopped asking for earlier this batch. */
	revents = ev_from_epoll(e->events) &
	    (w->events | EV_HUP | EV_ERROR);
	if (revents == 0) {
		return 0;
	}
	w->cb(ev, fd, revents, w->arg);
	return 1;
}

/* ----- timers: a binary min-heap ordered by (deadline, seq) ----- */

/* True when a fires before b. */
static int
ev_timer_before(const struct ev_timer *a, const struct ev_timer *b)
{
	if (a->deadline != b->deadline) {
		return a->deadline < b->deadline;
	}
	return a->seq < b->seq;
}

/* Stores t at heap position i. */
static void
ev_heap_set(struct ev *ev, size_t i, struct ev_timer *t)
{
	ev->heap[i] = t;
	t->idx = i;
}

/* Moves the timer at i up or down until the heap order holds again. */
static void
ev_heap_fix(struct ev *ev, size_t i)
{
	struct ev_timer *t = ev->heap[i];
	size_t parent, child;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!ev_timer_before(t, ev->heap[parent])) {
			break;
		}
		ev_heap_set(ev, i, ev->heap[parent]);
		i = parent;
	}
	for (;;) {
		child = 2 * i + 1;
		if (child >= ev->nheap) {
			break;
		}
		if (child + 1 < ev->nheap &&
		    ev_timer_before(ev->heap[child + 1], ev->heap[child])) {
			child++;
		}
		if (!ev_timer_before(ev->heap[child], t)) {
			break;
		}
		ev_heap_set(ev, i, ev->heap[child]);
		i = child;
	}
	ev_heap_set(ev, i, t);
}

/* Inserts t into the heap, growing it if needed. */
static void
ev_heap_push(struct ev *ev, struct ev_timer *t)
{
	if (ev->nheap == ev->heapcap) {
		ev->heapcap = ev->heapcap > 0 ? ev->heapcap * 2 : 64;
		ev->heap = xreallocarray(ev->heap, ev->heapcap,
		    sizeof(*ev->heap));
	}
	ev_heap_set(ev, ev->nheap++, t);
	ev_heap_fix(ev, t->idx);
}

/* Takes t out of the heap; t becomes idle. */
static void
ev_heap_remove(struct ev *ev, struct ev_timer *t)
{
	size_t i = t->idx;
	struct ev_timer *last = ev->heap[--ev->nheap];

	t->idx = EV_TIMER_IDLE;
	if (last != t) {
		ev_heap_set(ev, i, last);
		ev_heap_fix(ev, i);
	}
}

/* Sets deadline and arming order of t from after_ms and the loop time. */
static void
ev_timer_arm(struct ev *ev, struct ev_timer *t, uint64_t after_ms)
{
	t->deadline = after_ms > UINT64_MAX - ev->now ?
	    UINT64_MAX : ev->now + after_ms;
	t->seq = ev->seq++;
}

/* Allocates and arms a one-shot timer. */
struct ev_timer *
ev_timer_add(struct ev *ev, uint64_t after_ms, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t = NULL;

	assert(cb != NULL);
	t = xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	ev_timer_arm(ev, t, after_ms);
	ev_heap_push(ev, t);
	return t;
}

/* Disarms t and frees it (later, if its callback is running). */
void
ev_timer_cancel(struct ev *ev, struct ev_timer *t)
{
	if (t == NULL) {
		return;
	}
	if (t->idx != EV_TIMER_IDLE) {
		ev_heap_remove(ev, t);
	}
	/* A running timer is freed by ev_run_timers when its cb returns. */
	if (!t->running) {
		free(t);
	}
}

/* Re-arms t relative to the loop time. */
void
ev_timer_reset(struct ev *ev, struct ev_timer *t, uint64_t after_ms)
{
	ev_timer_arm(ev, t, after_ms);
	if (t->idx != EV_TIMER_IDLE) {
		ev_heap_fix(ev, t->idx);
	} else {
		ev_heap_push(ev, t);
	}
}

/* Fires every timer that is due; returns how many fired. */
static int
ev_run_timers(struct ev *ev)
{
	struct ev_timer *t = NULL;
	uint64_t limit = ev->seq;	/* armed later: next pass */
	int n = 0;

	while (ev->nheap > 0) {
		t = ev->heap[0];
		if (t->deadline > ev->now || t->seq >= limit) {
			break;
		}
		ev_heap_remove(ev, t);
		t->running = 1;
		t->cb(ev, t, t->arg);
		t->running = 0;
		/* Not re-armed by its callback (or cancelled): done. */
		if (t->idx == EV_TIMER_IDLE) {
			free(t);
		}
		n++;
	}
	return n;
}

/* Returns the epoll fd, for nesting the loop in another poller. */
int
ev_fd(const struct ev *ev)
{
	return ev->epfd;
}

/* Returns the cached loop time. */
uint64_t
ev_now_ms(const struct ev *ev)
{
	return ev->now;
}

/* Refreshes the cached loop time. */
void
ev_update_now(struct ev *ev)
{
	ev->now = ev_clock_ms();
}

/* ----- cross-thread tasks, hooks, running ----- */

/* Queues a task for the loop thread and wakes the loop if needed. */
int
ev_post(struct ev *ev, ev_task_cb cb, void *arg)
{
	struct ev_task *t = NULL;
	int wake = 0;

	if (cb == NULL) {
		return ERR_INVAL;
	}
	t = xmalloc(sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&ev->mu);
	if (ev->tail != NULL) {
		ev->tail->next = t;
	} else {
		ev->head = t;
	}
	ev->tail = t;
	if (!ev->wake_pending) {
		ev->wake_pending = 1;
		wake = 1;
	}
	pthread_mutex_unlock(&ev->mu);
	if (wake) {
		ev_wake(ev);
	}
	return 0;
}

/* Installs the end-of-iteration hook. */
void
ev_set_before_sleep(struct ev *ev, ev_hook_cb cb, void *arg)
{
	ev->before_sleep = cb;
	ev->before_sleep_arg = arg;
}

/* How long epoll_wait() may sleep: the caller's bound or the next timer. */
static int
ev_timeout(struct ev *ev, int timeout_ms)
{
	uint64_t wait, deadline;

	if (atomic_load(&ev->stop)) {
		return 0;
	}
	if (ev->nheap == 0) {
		return timeout_ms < 0 ? -1 : timeout_ms;
	}
	ev_update_now(ev);
	deadline = ev->heap[0]->deadline;
	wait = deadline <= ev->now ? 0 : deadline - ev->now;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait) {
		wait = (uint64_t)timeout_ms;
	}
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

int
ev_next_timer_ms(struct ev *ev)
{
	uint64_t wait;

	if (ev->nheap == 0)
		return -1;
	ev_update_now(ev);
	wait = ev->heap[0]->deadline <= ev->now ? 0 :
	    ev->heap[0]->deadline - ev->now;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* One iteration: wait, io callbacks, tasks, timers, before-sleep. */
int
ev_run_once(struct ev *ev, int timeout_ms)
{
	uint64_t drain;
	int i, n, handled = 0, wake = 0;

	assert(ev->depth == 0);
	ev->depth++;
	n = epoll_wait(ev->epfd, ev->events, ev->max_events,
	    ev_timeout(ev, timeout_ms));
	if (n < 0) {
		if (errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			ev->depth--;
			return ERR_IO;
		}
		n = 0;
	}
	ev_update_now(ev);
	for (i = 0; i < n; i++) {
		if (ev->events[i].data.u64 == EV_WAKE_TOKEN) {
			wake = 1;
		} else {
			handled += ev_dispatch_io(ev, &ev->events[i]);
		}
	}
	if (wake) {
		/* Drain before taking the queue, so no post is missed. */
		(void)read(ev->wakefd, &drain, sizeof(drain));
		handled += ev_run_tasks(ev);
	}
	handled += ev_run_timers(ev);
	if (ev->before_sleep != NULL) {
		ev->before_sleep(ev, ev->before_sleep_arg);
	}
	ev->depth--;
	return handled;
}

/* Iterates until a stop request arrives. */
int
ev_run(struct ev *ev)
{
	int r;

	/* Each ev_stop() request ends exactly one ev_run(). */
	while (!atomic_exchange(&ev->stop, 0)) {
		if ((r = ev_run_once(ev, -1)) < 0) {
			return r;
		}
	}
	return 0;
}

/* Requests that ev_run() return; any thread. */
void
ev_stop(struct ev *ev)
{
	atomic_store(&ev->stop, 1);
	ev_wake(ev);
}

/*
 * Relay: moves bytes both ways between two stream sockets until both
 * directions have ended.
 *
 * Each direction is a small state machine over one staging area: a pipe
 * (splice mode: socket -> pipe -> socket, the bytes never enter user
 * space) or a buffer (copy mode: read/send). A direction first drains its
 * staging area into the output. In copy mode it reads more input only once
 * the buffer is empty; in splice mode it also tops the pipe up while the
 * output is busy, so the sender's window stays open. Either way a
 * direction whose output is full stops reading once its staging area is
 * full, until EV_WRITE comes.
 *
 * A splice direction holds its pipe only while bytes are in flight: when
 * its input runs dry (EAGAIN) with the pipe empty, the pipe goes back to
 * the loop's cache, and the next read takes one again. An idle tunnel
 * therefore costs no pipe at all, and a few cached pipes serve many
 * tunnels. Both fds are watched edge-triggered for reading and writing all
 * the time; readiness is remembered in in_ready/out_ready and cleared on
 * EAGAIN. A read budget per direction and wakeup keeps one busy relay
 * from starving the others: when it is spent the relay comes back from a
 * posted task instead of reading to EAGAIN.
 *
 * EOF on a direction's input, once its staging area is empty, becomes
 * shutdown(SHUT_WR) on its output. The relay ends when both directions
 * have done so, on the first read or write error, or when idle. The done
 * callback runs from a posted task, never inside the relay's own frames.
 *
 * Note: splice(2) into a socket whose peer is gone raises SIGPIPE; the
 * process must ignore SIGPIPE (copy mode uses MSG_NOSIGNAL).
 */
#include "net/net.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"

#define RELAY_BUDGET	(256 * 1024)
#define RELAY_BUF	(32 * 1024)
#define RELAY_PIPE_DEF	(64 * 1024)	/* the Linux default */
#define RELAY_PIPE	(256 * 1024)	/* what relays ask for */

/* pump() results. */
#define RELAY_OK	0
#define RELAY_ERR_IN	1
#define RELAY_ERR_OUT	2

/* One direction: in -> staging area -> out. */
struct relay_dir {
	int		 in;
	int		 out;
	int		 pipe[2];	/* splice mode; -1 otherwise */
	unsigned char	*buf;		/* copy mode */
	size_t		 off;		/* copy mode: first unsent byte */
	size_t		 pending;	/* staged bytes not yet written */
	size_t		 used;		/* budget used this wakeup */
	int		 in_ready;
	int		 out_ready;
	int		 eof;		/* input reached EOF */
	int		 done;		/* EOF passed on with shutdown */
	uint64_t	 bytes;		/* written to out */
	_Atomic uint64_t *total;
};

struct net_relay {
	struct ev		*loop;
	int			 fd[2];		/* a, b; -1 once closed */
	struct relay_dir	 d[2];		/* a->b, b->a */
	net_relay_done_cb	 done;
	void			*arg;
	struct net_pipe_cache	*pipes;
	struct ev_timer		*idle;
	uint64_t		 idle_ms;
	uint64_t		 last_active;
	size_t			 budget;
	size_t			 chunk;		/* pipe or buffer capacity */
	int			 pipe_size;	/* asked of new pipes */
	int			 copy;
	int			 finished;
	enum net_relay_reason	 reason;
	int			 freed;
	int			 resume_posted;
	unsigned		 tasks;		/* posted, not yet run */
	const struct net_relay_meter *meter;	/* NULL: unmetered */
	struct ev_timer		*throttle;	/* metered: paused reads */
};

struct net_pipe_cache {
	size_t	  max;
	size_t	  n;
	int	(*fds)[2];
};

/* ----- pipe cache ----- */

/* Creates a pipe cache. */
struct net_pipe_cache *
net_pipe_cache_new(size_t max)
{
	struct net_pipe_cache *pc = NULL;

	pc = xcalloc(1, sizeof(*pc));
	pc->max = max;
	pc->fds = xcalloc(max > 0 ? max : 1, sizeof(*pc->fds));
	return pc;
}

/* Closes the cached pipes and frees the cache. */
void
net_pipe_cache_free(struct net_pipe_cache *pc)
{
	size_t i;

	if (pc == NULL) {
		return;
	}
	for (i = 0; i < pc->n; i++) {
		close(pc->fds[i][0]);
		close(pc->fds[i][1]);
	}
	free(pc->fds);
	free(pc);
}

/* Pipe pairs in the cache. */
size_t
net_pipe_cache_count(const struct net_pipe_cache *pc)
{
	return pc->n;
}

/* Takes a pipe from the cache or makes one. 0 or ERR_IO. */
static int
relay_pipe_get(struct net_pipe_cache *pc, int size, int p[2])
{
	if (pc != NULL && pc->n > 0) {
		pc->n--;
		p[0] = pc->fds[pc->n][0];
		p[1] = pc->fds[pc->n][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
		p[0] = p[1] = -1;
		return ERR_IO;
	}
	if (size != RELAY_PIPE_DEF && fcntl(p[0], F_SETPIPE_SZ, size) < 0) {
		log_debug("F_SETPIPE_SZ %d: %s", size, strerror(errno));
	}
	return 0;
}

/* Returns an empty pipe to the cache, or closes it. */
static void
relay_pipe_put(struct net_pipe_cache *pc, int p[2], int empty)
{
	if (p[0] < 0) {
		return;
	}
	if (empty && pc != NULL && pc->n < pc->max) {
		pc->fds[pc->n][0] = p[0];
		pc->fds[pc->n][1] = p[1];
		pc->n++;
	} else {
		close(p[0]);
		close(p[1]);
	}
	p[0] = p[1] = -1;
}

/* ----- moving bytes ----- */

/* Reads at most len bytes of input into the staging area. */
static ssize_t
relay_read(struct net_relay *r, struct relay_dir *d, size_t len)
{
	if (r->copy) {
		d->off = 0;
		return read(d->in, d->buf, len);
	}
	if (d->pipe[0] < 0 &&
	    relay_pipe_get(r->pipes, r->pipe_size, d->pipe) != 0) {
		return -1;	/* errno from pipe2(), e.g. EMFILE */
	}
	return splice(d->in, NULL, d->pipe[1], NULL, len,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/* Writes staged bytes to the output. */
static ssize_t
relay_write(struct net_relay *r, struct relay_dir *d)
{
	ssize_t n;

	if (r->copy) {
		n = send(d->out, d->buf + d->off, d->pending, MSG_NOSIGNAL);
		if (n > 0) {
			d->off += (size_t)n;
		}
		return n;
	}
	return splice(d->pipe[0], NULL, d->out, NULL, d->pending,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/* Drains the staging area into the output. RELAY_OK or RELAY_ERR_OUT. */
static int
relay_flush(struct net_relay *r, struct relay_dir *d)
{
	ssize_t n;

	while (d->pending > 0 && d->out_ready) {
		n = relay_write(r, d);
		if (n > 0) {
			d->pending -= (size_t)n;
			d->bytes += (uint64_t)n;
			if (d->total != NULL) {
				atomic_fetch_add_explicit(d->total,
				    (uint64_t)n, memory_order_relaxed);
			}
			r->last_active = ev_now_ms(r->loop);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			d->out_ready = 0;
		} else {
			log_debug("relay write fd=%d: %s", d->out,
			    n < 0 ? strerror(errno) : "no progress");
			return RELAY_ERR_OUT;
		}
	}
	return RELAY_OK;
}

/* Asks for a pass from a posted task (read budget spent). */
static void	relay_resume_later(struct net_relay *r);
static void	relay_run(struct net_relay *r);
static void	relay_finish(struct net_relay *r, enum net_relay_reason why);

/* Throttle pause over: pump again. */
static void
relay_throttle_end(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct net_relay *r = arg;

	(void)ev;
	(void)t;
	r->throttle = NULL;
	r->d[0].used = r->d[1].used = 0;
	relay_run(r);
}

/*
 * Metered read: asks the meter first. Returns like read(2); -1 with
 * errno EAGAIN and *paused set when the meter pauses or stops reading.
 */
static ssize_t
relay_read_metered(struct net_relay *r, struct relay_dir *d, int *paused)
{
	uint64_t wait_us = 0;
	size_t g;
	ssize_t n;

	*paused = 0;
	g = r->meter->grant(r->meter->arg, r->chunk - d->pending, &wait_us);
	if (g == 0) {
		*paused = 1;
		if (wait_us == 0) {
			relay_finish(r, NET_RELAY_LIMIT);
		} else if (r->throttle == NULL) {
			r->throttle = ev_timer_add(r->loop,
			    (wait_us + 999) / 1000, relay_throttle_end, r);
		}
		return -1;
	}
	n = relay_read(r, d, g);
	r->meter->settle(r->meter->arg, g, n > 0 ? (size_t)n : 0);
	return n;
}

/* Moves what it can in one direction. RELAY_OK or an error side. */
static int
relay_pump(struct net_relay *r, struct relay_dir *d)
{
	ssize_t n;
	int rc, paused = 0;

	for (;;) {
		if ((rc = relay_flush(r, d)) != RELAY_OK) {
			return rc;
		}
		if (d->done || (d->pending > 0 &&
		    (r->copy || d->eof || d->pending >= r->chunk ||
		    d->out_ready))) {
			return RELAY_OK;	/* waiting for EV_WRITE */
		}
		if (d->eof && d->pending == 0) {
			/* ENOTCONN: the peer is gone; the other side sees. */
			(void)shutdown(d->out, SHUT_WR);
			d->done = 1;
			relay_pipe_put(r->pipes, d->pipe, 1);
			return RELAY_OK;
		}
		if (!d->in_ready) {
			return RELAY_OK;
		}
		if (d->used >= r->budget) {
			relay_resume_later(r);
			return RELAY_OK;
		}
		if (r->meter == NULL) {
			n = relay_read(r, d, r->chunk - d->pending);
		} else if (r->throttle != NULL) {
			return RELAY_OK;	/* paused by the meter */
		} else if ((n = relay_read_metered(r, d, &paused)) < 0 &&
		    paused) {
			return RELAY_OK;
		}
		if (n > 0) {
			d->pending += (size_t)n;
			d->used += (size_t)n;
			r->last_active = ev_now_ms(r->loop);
		} else if (n == 0) {
			d->eof = 1;
		} else if (errno == EAGAIN && d->pending > 0) {
			/* The pipe is full (its slots may hold less than its
			 * byte size) or the input is dry: we cannot tell, so
			 * in_ready stays set and the read is retried once the
			 * flush has emptied the pipe. */
			return RELAY_OK;
		} else if (errno == EAGAIN) {
			d->in_ready = 0;
			if (!r->copy) {
				/* dry: an idle tunnel keeps no pipe */
				relay_pipe_put(r->pipes, d->pipe, 1);
			}
		} else if (errno != EINTR) {
			log_debug("relay read fd=%d: %s", d->in,
			    strerror(errno));
			return RELAY_ERR_IN;
		}
	}
}

/* ----- lifetime ----- */

/* Stops watching, closes the fds and releases staging areas. */
static void
relay_release(struct net_relay *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (r->fd[i] >= 0) {
			(void)ev_del(r->loop, r->fd[i]);
			close(r->fd[i]);
			r->fd[i] = -1;
		}
		relay_pipe_put(r->pipes, r->d[i].pipe, r->d[i].pending == 0);
		free(r->d[i].buf);
		r->d[i].buf = NULL;
	}
	ev_timer_cancel(r->loop, r->idle);
	r->idle = NULL;
	ev_timer_cancel(r->loop, r->throttle);
	r->throttle = NULL;
}

/* Runs the done callback, or frees a relay freed meanwhile. */
static void
relay_done_task(struct ev *ev, void *arg)
{
	struct net_relay *r = arg;
	uint64_t ab = r->d[0].bytes, ba = r->d[1].bytes;

	(void)ev;
	r->tasks--;
	if (r->freed) {
		if (r->tasks == 0) {
			free(r);
		}
		return;
	}
	/* r may be freed inside the callback. */
	r->done(r->arg, ab, ba, r->reason);
}

/* Ends the relay and schedules the done callback. */
static void
relay_finish(struct net_relay *r, enum net_relay_reason reason)
{
	if (r->finished) {
		return;
	}
	r->finished = 1;
	r->reason = reason;
	relay_release(r);
	r->tasks++;
	(void)ev_post(r->loop, relay_done_task, r);
}

/* Pumps both directions and ends the relay when appropriate. */
static void
relay_run(struct net_relay *r)
{
	int i, rc;

	for (i = 0; i < 2 && !r->finished; i++) {
		rc = relay_pump(r, &r->d[i]);
		if (rc == RELAY_ERR_IN) {
			relay_finish(r, i == 0 ? NET_RELAY_ERR_A :
			    NET_RELAY_ERR_B);
		} else if (rc == RELAY_ERR_OUT) {
			relay_finish(r, i == 0 ? NET_RELAY_ERR_B :
			    NET_RELAY_ERR_A);
		}
	}
	if (!r->finished && r->d[0].done && r->d[1].done) {
		relay_finish(r, NET_RELAY_EOF);
	}
}

/* Posted pass: fresh budgets, then pump. */
static void
relay_resume_task(struct ev *ev, void *arg)
{
	struct net_relay *r = arg;

	(void)ev;
	r->tasks--;
	if (r->freed) {
		if (r->tasks == 0) {
			free(r);
		}
		return;
	}
	r->resume_posted = 0;
	if (r->finished) {
		return;
	}
	r->d[0].used = r->d[1].used = 0;
	relay_run(r);
}

/* Posts one resume task unless one is already queued. */
static void
relay_resume_later(struct net_relay *r)
{
	if (r->resume_posted) {
		return;
	}
	r->resume_posted = 1;
	r->tasks++;
	(void)ev_post(r->loop, relay_resume_task, r);
}

/* Readiness of one of the two sockets. */
static void
relay_io(struct ev *ev, int fd, unsigned revents, void *arg)
{
	struct net_relay *r = arg;
	int side = fd == r->fd[0] ? 0 : 1;

	(void)ev;
	if (revents & (EV_READ | EV_HUP | EV_ERROR)) {
		r->d[side].in_ready = 1;
	}
	if (revents & (EV_WRITE | EV_HUP | EV_ERROR)) {
		r->d[1 - side].out_ready = 1;
	}
	r->d[0].used = r->d[1].used = 0;
	relay_run(r);
}

/* Idle check: ends the relay or re-arms for the remaining time. */
static void
relay_idle(struct ev *ev, struct ev_timer *t, void *arg)
{
	struct net_relay *r = arg;
	uint64_t quiet = ev_now_ms(ev) - r->last_active;

	if (quiet >= r->idle_ms) {
		r->idle = NULL;	/* fired: the loop frees it */
		relay_finish(r, NET_RELAY_IDLE);
		return;
	}
	ev_timer_reset(ev, t, r->idle_ms - quiet);
}

/* Sets up the staging areas; falls back to copy mode without pipes. */
static void
relay_setup_staging(struct net_relay *r, const struct net_relay_opts *o)
{
	int i, e, size = o->pipe_size > 0 ? o->pipe_size : RELAY_PIPE;

	r->copy = o->copy;
	r->pipe_size = size;
	if (!r->copy) {
		/* One pipe up front proves splice is possible; it goes back
		 * to the cache when the direction runs dry. */
		if (relay_pipe_get(r->pipes, size, r->d[0].pipe) != 0) {
			e = errno;
			log_warn("no pipe for splice (%s): copy mode",
			    strerror(e));
			r->copy = 1;
		} else {
			r->chunk = (size_t)fcntl(r->d[0].pipe[0],
			    F_GETPIPE_SZ);
			if ((ssize_t)r->chunk <= 0)
				r->chunk = RELAY_PIPE_DEF;
		}
	}
	if (r->copy) {
		r->chunk = o->copy_buf_size > 0 ? o->copy_buf_size : RELAY_BUF;
		for (i = 0; i < 2; i++) {
			r->d[i].buf = xmalloc(r->chunk);
		}
	}
}

/* Creates a relay between two connected sockets. */
struct net_relay *
net_relay_new(struct ev *loop, int fd_a, int fd_b,
    const struct net_relay_opts *opts, net_relay_done_cb done, void *arg)
{
	struct net_relay_opts def;
	struct net_relay *r = NULL;
	int i;

	if (opts == NULL) {
		memset(&def, 0, sizeof(def));
		opts = &def;
	}
	if (fd_a < 0 || fd_b < 0 || fd_a == fd_b || done == NULL ||
	    net_set_nonblock(fd_a) != 0 || net_set_nonblock(fd_b) != 0) {
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->fd[0] = fd_a;
	r->fd[1] = fd_b;
	r->done = done;
	r->arg = arg;
	r->pipes = opts->pipes;
	r->budget = opts->read_budget > 0 ? opts->read_budget : RELAY_BUDGET;
	for (i = 0; i < 2; i++) {
		r->d[i].in = r->fd[i];
		r->d[i].out = r->fd[1 - i];
		r->d[i].pipe[0] = r->d[i].pipe[1] = -1;
		r->d[i].in_ready = r->d[i].out_ready = 1;
	}
	r->meter = opts->meter;
	r->d[0].total = opts->total_a_to_b;
	r->d[1].total = opts->total_b_to_a;
	if (ev_add(loop, fd_a, EV_READ | EV_WRITE, relay_io, r) != 0) {
		goto fail;
	}
	if (ev_add(loop, fd_b, EV_READ | EV_WRITE, relay_io, r) != 0) {
		(void)ev_del(loop, fd_a);
		goto fail;
	}
	relay_setup_staging(r, opts);
	r->last_active = ev_now_ms(loop);
	if (opts->idle_timeout_ms > 0) {
		r->idle_ms = opts->idle_timeout_ms;
		r->idle = ev_timer_add(loop, r->idle_ms, relay_idle, r);
	}
	/* Data may already be waiting: make a first pass soon. */
	relay_resume_later(r);
	return r;
fail:
	free(r);
	return NULL;
}

/* Frees a relay; aborts it first if it is still running. */
void
net_relay_free(struct net_relay *r)
{
	if (r == NULL) {
		return;
	}
	if (!r->finished) {
		r->finished = 1;
		relay_release(r);
	}
	r->freed = 1;
	if (r->tasks == 0) {
		free(r);
	}
}

/* Reports the byte counts. */
void
net_relay_bytes(const struct net_relay *r, uint64_t *a_to_b,
    uint64_t *b_to_a)
{
	*a_to_b = r->d[0].bytes;
	*b_to_a = r->d[1].bytes;
}

/* Whether the relay copies through user space. */
int
net_relay_is_copy(const struct net_relay *r)
{
	return r->copy;
}

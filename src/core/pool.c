/* Worker pool for blocking jobs; completions go back through ev_post(). */
#include "core/pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"

struct pool_job {
	pool_work_cb	 work;
	pool_done_cb	 done;
	void		*arg;
	struct ev	*loop;
	int		 result;
	struct pool_job	*next;
};

struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a job was queued, or stopping */
	struct pool_job	*head;		/* under mu */
	struct pool_job	*tail;		/* under mu */
	size_t		 queued;	/* under mu */
	size_t		 max_queue;
	int		 stopping;	/* under mu */
	pthread_t	*threads;
	unsigned	 nthreads;	/* threads actually started */
};

/* Loop-side half of a job: reports the result and frees the job. */
static void
pool_job_done(struct ev *ev, void *arg)
{
	struct pool_job *job = arg;

	(void)ev;
	job->done(job->arg, job->result);
	free(job);
}

/* Takes the next job, waiting for one; NULL when stopping and empty. */
static struct pool_job *
pool_take(struct pool *p)
{
	struct pool_job *job = NULL;

	pthread_mutex_lock(&p->mu);
	while (p->head == NULL && !p->stopping) {
		pthread_cond_wait(&p->cv, &p->mu);
	}
	if ((job = p->head) != NULL) {
		p->head = job->next;
		if (p->head == NULL) {
			p->tail = NULL;
		}
		p->queued--;
	}
	pthread_mutex_unlock(&p->mu);
	return job;
}

/* Worker thread body: runs jobs until the pool stops and drains. */
static void *
pool_worker(void *arg)
{
	struct pool *p = arg;
	struct pool_job *job = NULL;

	while ((job = pool_take(p)) != NULL) {
		job->result = job->work(job->arg);
		if (job->done != NULL) {
			/* ev_post cannot fail with a callback. */
			(void)ev_post(job->loop, pool_job_done, job);
		} else {
			free(job);
		}
	}
	return NULL;
}

/* Wakes the workers, waits for them to drain the queue and exit. */
static void
pool_stop(struct pool *p)
{
	unsigned i;

	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++) {
		pthread_join(p->threads[i], NULL);
	}
}

/* Starts the workers with every signal blocked. */
struct pool *
pool_new(unsigned nthreads, size_t max_queue)
{
	struct pool *p = NULL;
	sigset_t all, old;
	unsigned i;
	int r;

	if (nthreads == 0 || max_queue == 0) {
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->max_queue = max_queue;
	p->threads = xcalloc(nthreads, sizeof(*p->threads));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		r = pthread_create(&p->threads[i], NULL, pool_worker, p);
		if (r != 0) {
			log_error("pool: starting worker %u: %s", i,
			    strerror(r));
			break;
		}
		p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nthreads < nthreads) {
		pool_free(p);
		return NULL;
	}
	return p;
}

/* Drains the queue, joins the workers and frees the pool. */
void
pool_free(struct pool *p)
{
	if (p == NULL) {
		return;
	}
	pool_stop(p);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p);
}

/* Queues one job unless the queue is full. */
int
pool_submit(struct pool *p, pool_work_cb work, pool_done_cb done,
    void *arg, struct ev *done_loop)
{
	struct pool_job *job = NULL;
	int r = 0;

	if (work == NULL || (done != NULL && done_loop == NULL)) {
		return ERR_INVAL;
	}
	job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->loop = done_loop;
	pthread_mutex_lock(&p->mu);
	if (p->stopping || p->queued >= p->max_queue) {
		r = ERR_AGAIN;
	} else {
		if (p->tail != NULL) {
			p->tail->next = job;
		} else {
			p->head = job;
		}
		p->tail = job;
		p->queued++;
		pthread_cond_signal(&p->cv);
		job = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	free(job);
	return r;
}

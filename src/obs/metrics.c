/*
 * Metrics registry: counters and histograms fed by the event bus, with a
 * bounded user label set, rendered in the Prometheus text format.
 *
 * Names follow the catalogue with the sks5_ prefix; a counter's sample
 * name ends in _total exactly once (the original doubled it).
 */
#include "obs/obs.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define OTHER_LABEL	"_other"

static const double dur_buckets[] = { 1, 5, 15, 30, 60, 300, 600, 1800,
    3600 };
#define NBUCKETS	(sizeof(dur_buckets) / sizeof(dur_buckets[0]))

/* Bounded label values of the method label. */
static const char *const methods[] = { "password", "publickey", "none",
    "other" };
#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

/* Bounded reasons of sks5_connections_rejected_total. */
static const char *const reasons[] = { "acl_denied", "limit",
    "connect_failed", "unsupported", "other" };
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

/* Series of one user label. */
struct mseries {
	char		*name;			/* NULL: free slot */
	uint64_t	 auth_ok[NMETHODS];
	uint64_t	 dur_bucket[NBUCKETS];	/* non-cumulative */
	uint64_t	 dur_count;
	uint64_t	 dur_sum_ms;
};

struct metrics {
	pthread_mutex_t		 lock;		/* guards series */
	struct mseries		*series;	/* max_labels + 1 (other) */
	uint32_t		 max_labels;
	uint32_t		 nlabels;
	const struct audit	*audit;

	_Atomic uint64_t	 connections_total;
	_Atomic uint64_t	 auth_fail[NMETHODS];
	_Atomic uint64_t	 rejected[NREASONS];
	_Atomic uint64_t	 capped;
};

void
mbuf_init(struct mbuf *b)
{
	b->cap = 4096;
	b->len = 0;
	b->p = xmalloc(b->cap);
	b->p[0] = '\0';
}

void
mbuf_cleanup(struct mbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n;
		b->p = xrealloc(b->p, b->cap);
	}
}

void
mbuf_label(struct mbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			mbuf_printf(b, "\\\\");
		else if (*s == '"')
			mbuf_printf(b, "\\\"");
		else if (*s == '\n')
			mbuf_printf(b, "\\n");
		else
			mbuf_printf(b, "%c", *s);
	}
}

struct metrics *
metrics_new(uint32_t max_user_labels)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->max_labels = max_user_labels;
	m->series = xcalloc((size_t)max_user_labels + 1, sizeof(*m->series));
	m->series[max_user_labels].name = xstrdup(OTHER_LABEL);
	return m;
}

void
metrics_free(struct metrics *m)
{
	uint32_t i;

	if (m == NULL)
		return;
	for (i = 0; i <= m->max_labels; i++)
		free(m->series[i].name);
	free(m->series);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
metrics_set_audit(struct metrics *m, const struct audit *a)
{
	m->audit = a;
}

/* Slot of name, adding it while there is room; the "_other" slot when
 * full. Caller holds the lock. *folded is set when it went to "_other". */
static struct mseries *
metrics_slot(struct metrics *m, const char *name, int *folded)
{
	uint32_t i;

	*folded = 0;
	for (i = 0; i < m->nlabels; i++) {
		if (strcmp(m->series[i].name, name) == 0)
			return &m->series[i];
	}
	if (m->nlabels < m->max_labels && strcmp(name, OTHER_LABEL) != 0) {
		m->series[m->nlabels].name = xstrdup(name);
		return &m->series[m->nlabels++];
	}
	*folded = 1;
	return &m->series[m->max_labels];
}

const char *
metrics_user_label(struct metrics *m, const char *name)
{
	struct mseries *s = NULL;
	int folded;

	pthread_mutex_lock(&m->lock);
	s = metrics_slot(m, name, &folded);
	pthread_mutex_unlock(&m->lock);
	if (folded)
		atomic_fetch_add(&m->capped, 1);
	return s->name;
}

const char *
metrics_user_label_peek(struct metrics *m, const char *name)
{
	struct mseries *s = NULL;
	int folded;

	pthread_mutex_lock(&m->lock);
	s = metrics_slot(m, name, &folded);
	pthread_mutex_unlock(&m->lock);
	return s->name;
}

/* Index of a method name in the bounded set. */
static size_t
method_index(const char *method)
{
	size_t i;

	for (i = 0; i + 1 < NMETHODS; i++) {
		if (method != NULL && strcmp(method, methods[i]) == 0)
			return i;
	}
	return NMETHODS - 1;
}

/* Classifies a refusal by its SOCKS5-style reply code and reason. */
static size_t
reason_index(int code, const char *why)
{
	if (code == 2)
		return why != NULL && strstr(why, "limit") != NULL ? 1 : 0;
	if (code >= 3 && code <= 6)
		return 2;
	if (code == 7 || code == 8)
		return 3;
	return 4;
}

void
metrics_stream_started(struct metrics *m)
{
	atomic_fetch_add(&m->connections_total, 1);
}

void
metrics_stream_refused(struct metrics *m, int code, const char *why)
{
	atomic_fetch_add(&m->rejected[reason_index(code, why)], 1);
}

void
metrics_stream_ended(struct metrics *m, const char *user,
    uint64_t duration_ms)
{
	struct mseries *s = NULL;
	double secs = (double)duration_ms / 1000.0;
	size_t i;
	int folded = 0;

	pthread_mutex_lock(&m->lock);
	s = metrics_slot(m, user, &folded);
	for (i = 0; i < NBUCKETS; i++) {
		if (secs <= dur_buckets[i])
			break;
	}
	if (i < NBUCKETS)
		s->dur_bucket[i]++;
	s->dur_count++;
	s->dur_sum_ms += duration_ms;
	pthread_mutex_unlock(&m->lock);
	if (folded)
		atomic_fetch_add(&m->capped, 1);
}

void
metrics_auth(struct metrics *m, int success, const char *user,
    const char *method)
{
	struct mseries *s = NULL;
	int folded = 0;

	if (!success) {
		/* No user label: the name of a failure is the client's. */
		atomic_fetch_add(&m->auth_fail[method_index(method)], 1);
		return;
	}
	pthread_mutex_lock(&m->lock);
	s = metrics_slot(m, user, &folded);
	s->auth_ok[method_index(method)]++;
	pthread_mutex_unlock(&m->lock);
	if (folded)
		atomic_fetch_add(&m->capped, 1);
}

/* Writes the HELP and TYPE lines of a family. */
static void
family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* Renders the per-user histogram of one series. */
static void
render_hist(struct mbuf *b, const struct mseries *s)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		cum += s->dur_bucket[i];
		mbuf_printf(b, "sks5_connection_duration_seconds_bucket{user=\"");
		mbuf_label(b, s->name);
		mbuf_printf(b, "\",le=\"%g\"} %llu\n", dur_buckets[i],
		    (unsigned long long)cum);
	}
	mbuf_printf(b, "sks5_connection_duration_seconds_bucket{user=\"");
	mbuf_label(b, s->name);
	mbuf_printf(b, "\",le=\"+Inf\"} %llu\n",
	    (unsigned long long)s->dur_count);
	mbuf_printf(b, "sks5_connection_duration_seconds_sum{user=\"");
	mbuf_label(b, s->name);
	mbuf_printf(b, "\"} %.3f\n", (double)s->dur_sum_ms / 1000.0);
	mbuf_printf(b, "sks5_connection_duration_seconds_count{user=\"");
	mbuf_label(b, s->name);
	mbuf_printf(b, "\"} %llu\n", (unsigned long long)s->dur_count);
}

void
metrics_render(struct metrics *m, struct mbuf *b)
{
	uint32_t i;
	size_t k;
	const struct mseries *s = NULL;

	family(b, "sks5_connections_total", "counter",
	    "Proxied streams started (connected to their target).");
	mbuf_printf(b, "sks5_connections_total %llu\n", (unsigned long long)
	    atomic_load(&m->connections_total));
	family(b, "sks5_connections_rejected_total", "counter",
	    "Stream requests refused, by reason.");
	for (k = 0; k < NREASONS; k++)
		mbuf_printf(b, "sks5_connections_rejected_total{reason=\"%s\"} "
		    "%llu\n", reasons[k],
		    (unsigned long long)atomic_load(&m->rejected[k]));
	family(b, "sks5_auth_failures_total", "counter",
	    "Failed authentications, by method (no user label).");
	for (k = 0; k < NMETHODS; k++)
		mbuf_printf(b, "sks5_auth_failures_total{method=\"%s\"} "
		    "%llu\n", methods[k],
		    (unsigned long long)atomic_load(&m->auth_fail[k]));
	family(b, "sks5_metrics_cardinality_capped_total", "counter",
	    "User labels folded into \"_other\" by metrics.max_metric_labels.");
	mbuf_printf(b, "sks5_metrics_cardinality_capped_total %llu\n",
	    (unsigned long long)atomic_load(&m->capped));
	family(b, "sks5_audit_events_dropped_total", "counter",
	    "Audit lines dropped because the writer queue was full.");
	mbuf_printf(b, "sks5_audit_events_dropped_total %llu\n",
	    (unsigned long long)audit_dropped(m->audit));

	pthread_mutex_lock(&m->lock);
	family(b, "sks5_auth_successes_total", "counter",
	    "Successful authentications, by user and method.");
	for (i = 0; i <= m->max_labels; i++) {
		s = &m->series[i];
		if (s->name == NULL)
			continue;
		for (k = 0; k < NMETHODS; k++) {
			if (s->auth_ok[k] == 0)
				continue;
			mbuf_printf(b, "sks5_auth_successes_total{user=\"");
			mbuf_label(b, s->name);
			mbuf_printf(b, "\",method=\"%s\"} %llu\n", methods[k],
			    (unsigned long long)s->auth_ok[k]);
		}
	}
	family(b, "sks5_connection_duration_seconds", "histogram",
	    "Duration of proxied streams, by user.");
	for (i = 0; i <= m->max_labels; i++) {
		s = &m->series[i];
		if (s->name != NULL && s->dur_count > 0)
			render_hist(b, s);
	}
	pthread_mutex_unlock(&m->lock);
}

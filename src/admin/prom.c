/*
 * The metrics listener: /metrics in the Prometheus text exposition format
 * (version 0.0.4), plus /livez, /health and /readyz probes.
 */
#include "admin/admin.h"

#include <dirent.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "obs/obs.h"
#include "obs/webhook.h"
#include "persist/persist.h"
#include "policy/policy.h"
#include "policy/snap.h"

#define PROM_CTYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Live counters of one user label (a user, or the "_other" fold). */
struct prom_row {
	const char	*label;
	uint64_t	 active, streams, bytes, authf;
};

void
admin_resp_cleanup(struct admin_resp *r)
{
	if (!r->body_static)
		free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Sets a text response (body copied). */
static void
resp_text(struct admin_resp *r, unsigned status, const char *ctype,
    const char *text)
{
	r->status = status;
	r->ctype = ctype;
	r->body = xstrdup(text);
	r->len = strlen(text);
}

/* Copies the per-user counters, folded by the label cap, into rows. */
static struct prom_row *
prom_rows(const struct admin_env *env, size_t *nout)
{
	struct policy_state *st = env->state;
	struct prom_row *rows = NULL, *other = NULL, *r = NULL;
	const struct policy_user_state *u = NULL;
	const char *label = NULL;
	size_t i, n = 0;

	pthread_mutex_lock(&st->lock);
	rows = xcalloc(st->nusers + 1, sizeof(*rows));
	for (i = 0; i < st->nusers; i++) {
		u = st->users[i];
		label = env->metrics != NULL ?
		    metrics_user_label_peek(env->metrics, u->name) : u->name;
		if (strcmp(label, u->name) != 0) {
			if (other == NULL)
				other = &rows[n++];
			r = other;
		} else
			r = &rows[n++];
		r->label = label;
		r->active += atomic_load(&u->active);
		r->streams += atomic_load(&u->streams);
		r->bytes += atomic_load(&u->bytes_up) +
		    atomic_load(&u->bytes_down);
		r->authf += atomic_load(&u->auth_failures);
	}
	pthread_mutex_unlock(&st->lock);
	*nout = n;
	return rows;
}

/* One per-user family from the rows. */
static void
prom_user_family(struct mbuf *b, const char *name, const char *type,
    const char *help, const struct prom_row *rows, size_t n, size_t field)
{
	const uint64_t *v = NULL;
	size_t i;

	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (i = 0; i < n; i++) {
		v = (const uint64_t *)((const char *)&rows[i] + field);
		mbuf_printf(b, "%s{user=\"", name);
		mbuf_label(b, rows[i].label);
		mbuf_printf(b, "\"} %llu\n", (unsigned long long)*v);
	}
}

/* One unlabelled sample with its family lines. */
static void
prom_one(struct mbuf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
	    name, type, name, (unsigned long long)v);
}

/* Open descriptors of this process. */
static uint64_t
prom_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e = NULL;
	uint64_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* minus the one opendir holds */
}

/* Resident memory in bytes, with the real page size. */
static uint64_t
prom_rss(void)
{
	unsigned long long size = 0, res = 0;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "re");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)(page > 0 ? page : 4096);
}

/* The webhook dispatcher's counters. */
static void
prom_webhooks(struct webhooks *w, struct mbuf *b)
{
	struct webhook_stats st;

	webhooks_stats(w, &st);
	mbuf_printf(b, "# HELP sks5_webhook_deliveries_total Webhook "
	    "deliveries by final result.\n# TYPE sks5_webhook_deliveries_total "
	    "counter\n");
	mbuf_printf(b, "sks5_webhook_deliveries_total{result=\"delivered\"} "
	    "%llu\n", (unsigned long long)st.delivered);
	mbuf_printf(b, "sks5_webhook_deliveries_total{result=\"failed\"} "
	    "%llu\n", (unsigned long long)st.failed);
	mbuf_printf(b, "sks5_webhook_deliveries_total{result=\"blocked\"} "
	    "%llu\n", (unsigned long long)st.blocked);
	mbuf_printf(b, "sks5_webhook_deliveries_total{result=\"dropped\"} "
	    "%llu\n", (unsigned long long)st.dropped);
	prom_one(b, "sks5_webhook_retries_total", "counter",
	    "Webhook attempts made after a failed one.", st.retried);
}

/* The sks5_persistence_* families (all zero without persistence). */
static void
prom_persist(struct mbuf *b, const struct persist_stats *ps)
{
	static const struct persist_stats none;

	if (ps == NULL)
		ps = &none;
	prom_one(b, "sks5_persistence_available", "gauge",
	    "1 when the data directory is open and locked.",
	    (uint64_t)atomic_load(&ps->available));
	prom_one(b, "sks5_persistence_state_flush_total", "counter",
	    "Successful writes of state.json.", atomic_load(&ps->state_flush));
	prom_one(b, "sks5_persistence_state_flush_errors_total", "counter",
	    "Failed writes of state.json.",
	    atomic_load(&ps->state_flush_errors));
	prom_one(b, "sks5_persistence_reputation_flush_total", "counter",
	    "Successful writes of reputation.json.",
	    atomic_load(&ps->rep_flush));
	prom_one(b, "sks5_persistence_reputation_flush_errors_total",
	    "counter", "Failed writes of reputation.json.",
	    atomic_load(&ps->rep_flush_errors));
	prom_one(b, "sks5_persistence_userdata_flush_total", "counter",
	    "Successful flushes of per-user data and bookmarks.",
	    atomic_load(&ps->user_flush));
	prom_one(b, "sks5_persistence_userdata_flush_errors_total", "counter",
	    "Flushes of per-user data or bookmarks with a failed write.",
	    atomic_load(&ps->user_flush_errors));
	prom_one(b, "sks5_persistence_state_file_bytes", "gauge",
	    "Size of state.json after the last successful write.",
	    atomic_load(&ps->state_bytes));
	prom_one(b, "sks5_persistence_reputation_file_bytes", "gauge",
	    "Size of reputation.json after the last successful write.",
	    atomic_load(&ps->rep_bytes));
	prom_one(b, "sks5_persistence_corrupt_files_total", "counter",
	    "Files that could not be parsed and were renamed *.corrupt.",
	    atomic_load(&ps->corrupt));
}

void
admin_render_metrics(const struct admin_env *env, struct mbuf *b)
{
	struct prom_row *rows = NULL;
	struct policy_snap *snap = NULL;
	size_t n = 0, users = 0;

	if (env->metrics != NULL)
		metrics_render(env->metrics, b);
	if (env->webhooks != NULL)
		prom_webhooks(env->webhooks, b);
	rows = prom_rows(env, &n);
	prom_user_family(b, "sks5_connections_active", "gauge",
	    "Proxied streams open now, by user.", rows, n,
	    offsetof(struct prom_row, active));
	prom_user_family(b, "sks5_bytes_transferred_total", "counter",
	    "Bytes relayed (both directions), by user.", rows, n,
	    offsetof(struct prom_row, bytes));
	prom_user_family(b, "sks5_user_streams_total", "counter",
	    "Proxied streams started, by user.", rows, n,
	    offsetof(struct prom_row, streams));
	prom_user_family(b, "sks5_user_auth_failures_total", "counter",
	    "Failed authentications against a configured user name.", rows,
	    n, offsetof(struct prom_row, authf));
	free(rows);
	prom_one(b, "sks5_streams_active", "gauge",
	    "Proxied streams open now, all users.",
	    atomic_load(&env->state->active_streams));
	prom_one(b, "sks5_handshakes_active", "gauge",
	    "Client connections not yet proxying.",
	    atomic_load(&env->state->handshakes));
	snap = policy_holder_get(env->policy);
	users = snap->nusers;
	policy_snap_unref(snap);
	prom_one(b, "sks5_users_configured", "gauge",
	    "Users in the running configuration.", users);
	prom_one(b, "sks5_uptime_seconds", "gauge", "Seconds since start.",
	    (util_mono_ms() - env->start_ms) / 1000);
	prom_persist(b, env->state->persist);
	prom_one(b, "process_open_fds", "gauge", "Open file descriptors.",
	    prom_open_fds());
	prom_one(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", prom_rss());
}

void
admin_metrics_handle(const struct admin_env *env, const char *method,
    const char *path, struct admin_resp *out)
{
	struct policy_snap *s = NULL;
	struct mbuf b;
	int m;

	memset(out, 0, sizeof(*out));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		resp_text(out, 405, "text/plain", "method not allowed\n");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		mbuf_init(&b);
		admin_render_metrics(env, &b);
		out->status = 200;
		out->ctype = PROM_CTYPE;
		out->body = b.p;
		out->len = b.len;
		return;
	}
	if (strcmp(path, "/livez") == 0) {
		resp_text(out, 200, "text/plain", "ok");
		return;
	}
	s = policy_holder_get(env->policy);
	m = policy_maintenance(s, policy_now_ms(), NULL, NULL) != 0;
	policy_snap_unref(s);
	if (strcmp(path, "/health") == 0) {
		resp_text(out, m ? 503 : 200, "text/plain", m ? "maintenance" :
		    "ok");
		return;
	}
	if (strcmp(path, "/readyz") == 0) {
		resp_text(out, m ? 503 : 200, "application/json", m ?
		    "{\"ready\":false,\"checks\":{\"auth\":\"ok\","
		    "\"metrics\":\"ok\",\"maintenance\":\"enabled\"}}" :
		    "{\"ready\":true,\"checks\":{\"auth\":\"ok\","
		    "\"metrics\":\"ok\",\"maintenance\":\"disabled\"}}");
		return;
	}
	resp_text(out, 404, "text/plain", "not found\n");
}

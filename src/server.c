/*
 * The running server: wires the configuration to the data-plane workers
 * and owns the signals.
 *
 * Threads: the main thread takes signals synchronously through a
 * signalfd; each data-plane worker thread runs one event loop with its
 * own SO_REUSEPORT SOCKS5 listener; a small pool runs the blocking work
 * (Argon2id checks, name lookups).
 *
 * SIGTERM and SIGINT: stop accepting, let live connections finish for up
 * to server.shutdown_timeout seconds, close the rest, exit 0.
 * SIGHUP: reload the configuration the way it was first loaded; on
 * success publish a new policy snapshot (live connections keep the one
 * they started with), on failure keep the running one. Bans, failures,
 * reputation, rate windows and quota counters live in the policy state
 * and survive a reload.
 * SIGUSR1: toggle maintenance mode (new sessions refused).
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "admin/admin.h"
#include "auth/auth.h"
#include "config/config.h"
#include "config/values.h"
#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "net/net.h"
#include "persist/persist.h"
#include "policy/geoip.h"
#include "policy/policy.h"
#include "policy/snap.h"
#include "shell/shell.h"
#include "socks5/socks5.h"
#include "ssh/sshd.h"

/* Blocking-work threads: Argon2id (about 19 MiB each) and lookups. */
#define SERVER_POOL_THREADS	4
#define SERVER_POOL_QUEUE	1024

struct worker {
	struct server		*srv;
	pthread_t		 thread;
	int			 started;
	struct ev		*loop;
	int			 lfd;
	struct socks5_worker	*s5;
};

struct server {
	const struct cfg_overrides	*ov;
	struct policy_state		*state;
	struct policy_holder		 policy;
	struct pool			*pool;
	struct net_resolver		*resolver;
	struct net_tls_ctx		*tls;		/* or NULL: plain */
	struct worker			*workers;
	unsigned			 nworkers;
	char				*dummy_hash;
	uint32_t			 dummy_m;	/* its cost, KiB */
	uint32_t			 dummy_t;
	int				 sigfd;
	int				 drained;
	struct sshd			*sshd;
	struct admin_plane		*mgmt;		/* audit, metrics, API */
	struct shell_store		*store;		/* history, bookmarks */
	struct persist			*persist;	/* data directory */
	pthread_mutex_t			 reload_lock;	/* SIGHUP vs API */
};

/* Applies the logging section of a configuration. */
static void
server_apply_logging(const struct cfg *cfg, const struct cfg_overrides *ov)
{
	enum log_level lvl = LOG_INFO;
	const char *name = NULL;

	name = (ov != NULL && ov->log_level != NULL) ? ov->log_level :
	    cfg_log_level(cfg);
	if (name == NULL || log_level_parse(name, &lvl) != 0)
		lvl = LOG_INFO;
	log_setup(lvl, strcmp(cfg_log_format(cfg), "json") == 0 ?
	    LOG_FMT_JSON : LOG_FMT_PRETTY);
}

/* Blocks the signals we handle and opens a signalfd for them. */
static int
server_signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	/* A peer closing a socket must never kill the process. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static char	*server_dummy_hash(uint32_t, uint32_t);

/* Wraps a loaded configuration into a snapshot (owning it with take).
 * The unknown-user hash is made again when the Argon2 cost changed. */
static struct policy_snap *
server_snap(struct server *srv, struct cfg *cfg, int take, int *failed)
{
	uint32_t m = cfg->security.argon2_memory_cost;
	uint32_t t = cfg->security.argon2_time_cost;
	struct policy_snap *s = policy_snap_new(cfg, take, srv->state);
	char err[512], *h;

	*failed = 0;
	if (srv->dummy_hash == NULL || srv->dummy_m != m ||
	    srv->dummy_t != t) {
		if ((h = server_dummy_hash(m, t)) == NULL) {
			log_error("security.argon2_*: cannot make an Argon2id "
			    "hash with m=%u KiB, t=%u (out of memory?)", m, t);
			*failed = 1;
			return s;
		}
		free(srv->dummy_hash);
		srv->dummy_hash = h;
		srv->dummy_m = m;
		srv->dummy_t = t;
	}
	s->dummy_hash = xstrdup(srv->dummy_hash);
	if (cfg->geoip.enabled && geoip_open(cfg->geoip.database_path,
	    &s->geo, err, sizeof(err)) != 0) {
		log_error("geoip.database_path: %s", err);
		*failed = 1;
	}
	if (s->load_error != NULL) {
		log_error("%s", s->load_error);
		*failed = 1;
	}
	return s;
}

static int	server_reload_locked(struct server *, size_t *, char *, size_t);

/* Re-reads the configuration the way it was first loaded (SIGHUP and
 * POST /api/reload, serialised). 0 with *users set, or ERR_INVAL with the
 * first error in err. */
static int
server_reload(struct server *srv, size_t *users, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&srv->reload_lock);
	snprintf(err, errlen, "%s", "");
	r = server_reload_locked(srv, users, err, errlen);
	admin_plane_reloaded(srv->mgmt, r == 0, r == 0 ? *users : 0,
	    r == 0 ? NULL : err);
	pthread_mutex_unlock(&srv->reload_lock);
	return r;
}

/* admin_reload_fn for POST /api/reload. */
static int
server_api_reload(void *arg, size_t *users, char *err, size_t errlen)
{
	return server_reload(arg, users, err, errlen);
}

/* admin_kick_fn for the API and WebSocket: srv->sshd changes under
 * reload_lock, so that a kick never meets a freed sshd. */
static size_t
server_api_kick(void *arg, const char *user)
{
	struct server *srv = arg;
	size_t n = 0;

	pthread_mutex_lock(&srv->reload_lock);
	if (srv->sshd != NULL)
		n = sshd_kick(srv->sshd, user);
	pthread_mutex_unlock(&srv->reload_lock);
	return n;
}

/* The reload itself; see server_reload(). */
static int
server_reload_locked(struct server *srv, size_t *users, char *err,
    size_t errlen)
{
	struct cfg_diag diag;
	struct cfg *next = NULL;
	struct policy_snap *snap = NULL;
	size_t i;
	int failed;

	cfg_diag_init(&diag);
	if (cfg_load(srv->ov, &next, &diag) != 0) {
		log_error("event=config.reload success=false errors=%zu "
		    "msg=\"keeping the running configuration\"",
		    diag.nerrors);
		for (i = 0; i < diag.nerrors; i++)
			log_error("event=config.reload error=\"%s\"",
			    diag.errors[i]);
		snprintf(err, errlen, "%s", diag.nerrors > 0 ?
		    diag.errors[0] : "the configuration cannot be loaded");
		cfg_diag_cleanup(&diag);
		return ERR_INVAL;
	}
	for (i = 0; i < diag.nwarnings; i++)
		log_warn("event=config.reload warning=\"%s\"",
		    diag.warnings[i]);
	cfg_diag_cleanup(&diag);
	snap = server_snap(srv, next, 1, &failed);
	if (failed) {
		log_error("event=config.reload success=false "
		    "msg=\"keeping the running configuration\"");
		snprintf(err, errlen, "%s", "the new policy cannot be built "
		    "(see the server log)");
		policy_snap_unref(snap);
		return ERR_INVAL;
	}
	server_apply_logging(next, srv->ov);
	log_info("event=config.reload success=true users=%zu",
	    cfg_user_count(next));
	*users = cfg_user_count(next);
	policy_holder_set(&srv->policy, snap);
	persist_config_applied(srv->persist, next);
	return 0;
}

/* Worker thread body: run the loop, then free what lives on it. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	if (ev_run(w->loop) != 0)
		log_error("event loop failed: %s", strerror(errno));
	socks5_worker_free(w->s5);
	w->s5 = NULL;
	return NULL;
}

/* Loop task: stop accepting new connections. */
static void
task_stop_accepting(struct ev *loop, void *arg)
{
	struct worker *w = arg;

	(void)loop;
	/* The loop may have ended first (then ev_free runs this task after
	 * the worker was freed): nothing is left to stop. */
	if (w->s5 != NULL)
		socks5_worker_stop_accepting(w->s5);
}

/* Opens every listener first, so that a bad address is a start-up error,
 * then starts one thread per worker. */
static int
server_start_workers(struct server *srv, const struct cfg *cfg)
{
	struct cfg_listen l;
	struct socks5_env env;
	char err[512];
	unsigned i;
	long ncpu;

	if (cfg->server.socks5_listen == NULL)
		return 0;
	if (cfg_parse_listen(cfg->server.socks5_listen, &l, err,
	    sizeof(err)) != 0) {
		log_error("server.socks5_listen: %s", err);
		return ERR_INVAL;
	}
	if (cfg->server.socks5_tls_cert != NULL &&
	    net_tls_ctx_new(cfg->server.socks5_tls_cert,
	    cfg->server.socks5_tls_key, &srv->tls, err, sizeof(err)) != 0) {
		log_error("server.socks5_tls_cert: %s", err);
		return ERR_INVAL;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	srv->nworkers = cfg->server.workers != 0 ? cfg->server.workers :
	    (unsigned)(ncpu > 0 ? ncpu : 1);
	srv->workers = xcalloc(srv->nworkers, sizeof(*srv->workers));
	for (i = 0; i < srv->nworkers; i++) {
		srv->workers[i].srv = srv;
		srv->workers[i].lfd = net_listen_tcp(l.host, l.port, 1, 1024,
		    err, sizeof(err));
		if (srv->workers[i].lfd < 0) {
			log_error("cannot listen on %s: %s",
			    cfg->server.socks5_listen, err);
			return ERR_IO;
		}
	}
	env.policy = &srv->policy;
	env.pool = srv->pool;
	env.resolver = srv->resolver;
	env.tls = srv->tls;
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		if ((w->loop = ev_new(0)) == NULL ||
		    (w->s5 = socks5_worker_new(w->loop, &env, w->lfd)) == NULL) {
			log_error("cannot start worker %u", i);
			return ERR_IO;
		}
		w->lfd = -1;	/* the SOCKS5 worker owns it now */
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			log_error("cannot start worker thread %u", i);
			return ERR_IO;
		}
		w->started = 1;
	}
	log_info("event=listen proto=%s addr=%s workers=%u",
	    srv->tls != NULL ? "socks5-tls" : "socks5",
	    cfg->server.socks5_listen, srv->nworkers);
	return 0;
}

/* Starts the SSH listener when server.ssh_listen is set. */
static int
server_start_ssh(struct server *srv, const struct cfg *cfg)
{
	struct sshd_env env;
	struct sshd *d = NULL;
	char err[256];

	if (cfg->server.ssh_listen == NULL)
		return 0;
	env.policy = &srv->policy;
	env.pool = srv->pool;
	env.resolver = srv->resolver;
	env.store = srv->store;
	if ((d = sshd_new(cfg, &env, err, sizeof(err))) == NULL) {
		log_error("cannot start SSH on %s: %s", cfg->server.ssh_listen,
		    err);
		return ERR_IO;
	}
	pthread_mutex_lock(&srv->reload_lock);
	srv->sshd = d;
	pthread_mutex_unlock(&srv->reload_lock);
	if (sshd_start(srv->sshd) != 0) {
		log_error("cannot start the SSH accept thread");
		return ERR_IO;
	}
	log_info("event=listen proto=ssh addr=%s port=%u",
	    cfg->server.ssh_listen, sshd_port(srv->sshd));
	return 0;
}

/* Connections still alive across all workers. */
static size_t
server_active(const struct server *srv)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i].s5 != NULL && srv->workers[i].started)
			n += socks5_worker_active(srv->workers[i].s5);
	}
	return n + sshd_active(srv->sshd);
}

/* Stops accepting, drains for up to timeout_s, then stops everything. */
static void
server_drain(struct server *srv, uint64_t timeout_s)
{
	struct timespec nap = { 0, 100 * 1000 * 1000 };
	struct sshd *d = NULL;
	uint64_t waited_ms = 0;
	unsigned i;
	size_t left;

	srv->drained = 1;
	sshd_stop_accepting(srv->sshd);
	for (i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i].started)
			(void)ev_post(srv->workers[i].loop,
			    task_stop_accepting, &srv->workers[i]);
	}
	while ((left = server_active(srv)) > 0 &&
	    waited_ms < timeout_s * 1000) {
		if (waited_ms % 5000 == 0)
			log_info("event=shutdown.drain connections=%zu", left);
		nanosleep(&nap, NULL);
		waited_ms += 100;
	}
	if (left > 0)
		log_info("event=shutdown.timeout connections=%zu "
		    "msg=\"closing what is left\"", left);
	/* SSH threads close their sessions; then blocking work finishes
	 * while the loops can still take results. */
	pthread_mutex_lock(&srv->reload_lock);
	d = srv->sshd;
	srv->sshd = NULL;
	pthread_mutex_unlock(&srv->reload_lock);
	sshd_free(d);
	pool_free(srv->pool);
	srv->pool = NULL;
	for (i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i].started)
			ev_stop(srv->workers[i].loop);
	}
	for (i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i].started)
			pthread_join(srv->workers[i].thread, NULL);
	}
}

/*
 * Every security.rate_limit_cleanup_interval seconds (as the current
 * configuration has it): prunes idle rate-limiter entries. Returns the
 * milliseconds until the next prune.
 */
static int
server_prune_tick(struct server *srv, uint64_t *next_us)
{
	struct policy_snap *s = policy_holder_get(&srv->policy);
	uint64_t now = policy_mono_us(), iv;
	size_t ips = 0, users = 0;

	iv = s->cfg->security.rate_limit_cleanup_interval * 1000000;
	if (*next_us == 0 || *next_us > now + iv)	/* start, or reload */
		*next_us = now + iv;
	if (now >= *next_us) {
		policy_prune(s, policy_now_ms(), &ips, &users);
		if (ips + users > 0)
			log_debug("event=ratelimit.prune ips=%zu users=%zu",
			    ips, users);
		*next_us = now + iv;
	}
	policy_snap_unref(s);
	return (int)((*next_us - now + 999) / 1000);
}

/* Waits for signals until a stop is requested. */
static int
server_loop(struct server *srv)
{
	struct signalfd_siginfo si;
	struct pollfd pfd;
	uint64_t next_prune = 0;
	char err[256];
	size_t users;
	int on;
	ssize_t n;
	int r;

	pfd.fd = srv->sigfd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, server_prune_tick(srv, &next_prune));
		if (r == 0)
			continue;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return 1;
		}
		n = read(srv->sigfd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si))
			continue;
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("event=shutdown signal=%s",
			    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			return 0;
		case SIGHUP:
			(void)server_reload(srv, &users, err, sizeof(err));
			break;
		case SIGUSR1:
			on = policy_maintenance_toggle(srv->state);
			log_info("event=maintenance.toggled source=signal "
			    "enabled=%s", on ? "true" : "false");
			admin_plane_maintenance(srv->mgmt, on, "signal");
			break;
		default:
			log_info("event=signal signo=%u msg=\"ignored in this "
			    "build\"", si.ssi_signo);
			break;
		}
	}
}

/* Frees whatever the server still holds. */
static void
server_cleanup(struct server *srv)
{
	unsigned i;

	if (!srv->drained)
		server_drain(srv, 0);
	persist_close(srv->persist);
	srv->persist = NULL;
	srv->state->persist = NULL;
	pool_free(srv->pool);
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		if (!w->started) {
			socks5_worker_free(w->s5);
			if (w->lfd >= 0)
				close(w->lfd);
		}
		ev_free(w->loop);
	}
	free(srv->workers);
	net_tls_ctx_free(srv->tls);
	admin_plane_stop(srv->mgmt);
	srv->mgmt = NULL;
	net_resolver_free(srv->resolver);
	policy_holder_cleanup(&srv->policy);
	policy_state_free(srv->state);
	shell_store_free(srv->store);
	free(srv->dummy_hash);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	pthread_mutex_destroy(&srv->reload_lock);
}

/* Makes the hash that unknown users are checked against, with the
 * configured cost of new hashes, so that a wrong name costs the same time
 * as a wrong password. NULL when Argon2id fails (no memory). */
static char *
server_dummy_hash(uint32_t m_kib, uint32_t t)
{
	char out[crypto_pwhash_STRBYTES];
	unsigned char pw[16];
	int r;

	randombytes_buf(pw, sizeof(pw));
	r = auth_argon2_hash((const char *)pw, sizeof(pw), m_kib, t, out,
	    sizeof(out));
	util_wipe(pw, sizeof(pw));
	return r == 0 ? xstrdup(out) : NULL;
}

/* Runs until a stop signal; returns the process exit code. */
int
server_run(struct cfg *cfg, const struct cfg_overrides *ov)
{
	struct server srv;
	int rc = 1, failed;
	uint64_t drain_s;

	memset(&srv, 0, sizeof(srv));
	srv.ov = ov;
	srv.sigfd = -1;
	pthread_mutex_init(&srv.reload_lock, NULL);
	server_apply_logging(cfg, ov);
	if (sodium_init() < 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	srv.state = policy_state_new();
	policy_holder_init(&srv.policy, server_snap(&srv, cfg, 0, &failed));
	srv.pool = pool_new(SERVER_POOL_THREADS, SERVER_POOL_QUEUE);
	srv.resolver = net_resolver_new(srv.pool, cfg->server.dns_cache_ttl,
	    cfg->server.dns_cache_max_entries);
	if (failed)
		goto out;
	srv.store = shell_store_new(cfg->persistence.userdata.shell_history_max,
	    cfg->persistence.userdata.bookmarks_max);
	if (persist_open(cfg, &srv.policy, srv.state, srv.store,
	    &srv.persist) != 0)
		goto out;
	srv.state->persist = persist_stats(srv.persist);
	persist_config_applied(srv.persist, cfg);
	if ((srv.sigfd = server_signals_open()) < 0) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if (admin_plane_start(cfg, &srv.policy, srv.state, server_api_reload,
	    server_api_kick, &srv, &srv.mgmt) != 0 ||
	    server_start_workers(&srv, cfg) != 0 ||
	    server_start_ssh(&srv, cfg) != 0)
		goto out;
	log_info("event=start source=\"%s\" users=%zu ssh=%s socks5=%s",
	    cfg_source(cfg), cfg_user_count(cfg),
	    cfg_ssh_listen(cfg) != NULL ? cfg_ssh_listen(cfg) : "disabled",
	    cfg_socks5_listen(cfg) != NULL ? cfg_socks5_listen(cfg) :
	    "disabled");
	if (srv.nworkers == 0 && srv.sshd == NULL)
		log_warn("event=start msg=\"no protocol listener is enabled; "
		    "the server only loads its configuration and waits for "
		    "signals\"");
	if (persist_start(srv.persist) != 0) {
		log_error("cannot start the persistence flush thread");
		goto out;
	}
	rc = server_loop(&srv);
	/* Saved before the drain, in case it is cut short, and again when
	 * persist_close() runs after it with the final counters. */
	persist_flush(srv.persist);
	drain_s = srv.policy.cur->cfg->server.shutdown_timeout;
	server_drain(&srv, drain_s);
out:
	server_cleanup(&srv);
	log_info("event=stopped");
	return rc;
}

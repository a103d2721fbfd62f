/*
 * The running server. It owns the signal handling and the configuration
 * snapshot; protocol listeners are attached here as they are built.
 *
 * Signals are taken synchronously through a signalfd so that no handler
 * runs in an arbitrary context: SIGTERM and SIGINT stop the server (exit 0),
 * SIGHUP reloads the configuration (an invalid file leaves the running one
 * in place).
 */
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "core/log.h"

struct server {
	struct cfg			*cfg;	/* current snapshot */
	struct cfg			*owned;	/* a reloaded snapshot we free */
	const struct cfg_overrides	*ov;
	int				 sigfd;
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

/* Re-reads the configuration the way it was first loaded. */
static void
server_reload(struct server *srv)
{
	struct cfg_diag diag;
	struct cfg *next = NULL;
	size_t i;

	cfg_diag_init(&diag);
	if (cfg_load(srv->ov, &next, &diag) != 0) {
		log_error("event=config.reload success=false errors=%zu "
		    "msg=\"keeping the running configuration\"",
		    diag.nerrors);
		for (i = 0; i < diag.nerrors; i++)
			log_error("event=config.reload error=\"%s\"",
			    diag.errors[i]);
		cfg_diag_cleanup(&diag);
		return;
	}
	for (i = 0; i < diag.nwarnings; i++)
		log_warn("event=config.reload warning=\"%s\"",
		    diag.warnings[i]);
	cfg_diag_cleanup(&diag);
	cfg_free(srv->owned);
	srv->owned = next;
	srv->cfg = next;
	server_apply_logging(srv->cfg, srv->ov);
	log_info("event=config.reload success=true users=%zu",
	    cfg_user_count(srv->cfg));
}

/* Waits for signals until a stop is requested. */
static int
server_loop(struct server *srv)
{
	struct signalfd_siginfo si;
	struct pollfd pfd;
	ssize_t n;

	pfd.fd = srv->sigfd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, -1) < 0) {
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
			server_reload(srv);
			break;
		default:
			log_info("event=signal signo=%u msg=\"ignored in this "
			    "build\"", si.ssi_signo);
			break;
		}
	}
}

/* Runs until a stop signal; returns the process exit code. */
int
server_run(struct cfg *cfg, const struct cfg_overrides *ov)
{
	struct server srv;
	int rc;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = cfg;
	srv.ov = ov;
	server_apply_logging(cfg, ov);
	if ((srv.sigfd = server_signals_open()) < 0) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		return 1;
	}
	log_info("event=start source=\"%s\" users=%zu ssh=%s socks5=%s",
	    cfg_source(cfg), cfg_user_count(cfg),
	    cfg_ssh_listen(cfg) != NULL ? cfg_ssh_listen(cfg) : "disabled",
	    cfg_socks5_listen(cfg) != NULL ? cfg_socks5_listen(cfg) :
	    "disabled");
	if (cfg_ssh_listen(cfg) == NULL && cfg_socks5_listen(cfg) == NULL)
		log_warn("event=start msg=\"no protocol listener is enabled; "
		    "the server only loads its configuration and waits for "
		    "signals\"");
	rc = server_loop(&srv);
	close(srv.sigfd);
	cfg_free(srv.owned);
	log_info("event=stopped");
	return rc;
}

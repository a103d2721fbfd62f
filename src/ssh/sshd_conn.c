/*
 * One SSH connection on its own thread.
 *
 * The thread runs libssh's ssh_event (poll) over the session socket and
 * the epoll fd of its own ev loop. The ev loop holds everything else the
 * connection owns: target sockets of forwarded channels, timers, and the
 * completions of work done on the pool (Argon2id, name lookups). After
 * every ssh_event_dopoll() the thread runs the ev loop once without
 * waiting, takes the queued libssh messages, resumes channels whose
 * window reopened, and frees the channels closed meanwhile. No fd is ever
 * added to or removed from the ssh_event after start-up (libssh 0.10.6
 * would use freed memory if that happened inside a callback).
 */
#include "ssh/sshd_int.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/policy.h"
#include "policy/snap.h"

/* ssh_event_dopoll() timeout: bounds timer lateness. */
#define SSHD_POLL_MS	100
/* Idle sweep period. */
#define SSHD_SWEEP_MS	1000
/* Longest wait for a kicked connection's channels to end. */
#define SSHD_KICK_GRACE_MS	2000
/* Time left to flush once a kicked connection has no channel. */
#define SSHD_KICK_FLUSH_MS	300
/* Longest wait for pool work at close (DNS lookups are bounded by the
 * resolver's own timeouts). */
#define SSHD_JOB_WAIT_MS	30000

/* The ev loop's epoll fd is readable: work happens after dopoll. */
static int
loop_fd_cb(socket_t fd, int revents, void *userdata)
{
	(void)fd;
	(void)revents;
	(void)userdata;
	return 0;
}

struct sshd_chan *
sshd__chan_new(struct sshd_conn *c, enum sshd_chan_kind kind)
{
	struct sshd_chan *ch = NULL;

	if (c->nchans >= SSHD_MAX_CHANNELS)
		return NULL;
	ch = xcalloc(1, sizeof(*ch));
	ch->c = c;
	ch->kind = kind;
	ch->fd = -1;
	ch->t_start = ch->last_io_ms = ev_now_ms(c->loop);
	pthread_mutex_lock(&c->ilock);
	ch->next = c->chans;
	if (c->chans != NULL)
		c->chans->prev = ch;
	c->chans = ch;
	c->nchans++;
	pthread_mutex_unlock(&c->ilock);
	return ch;
}

void
sshd__chan_close_later(struct sshd_chan *ch)
{
	ch->dead = 1;
}

/* Frees one channel (outside any libssh callback). */
static void
chan_free(struct sshd_chan *ch)
{
	struct sshd_conn *c = ch->c;

	if (ch->kind == SSHD_CHAN_FWD)
		sshd__fwd_free(ch);
	else
		sshd__sess_free(ch);
	if (ch->open_msg != NULL) {
		(void)ssh_message_reply_default(ch->open_msg);
		ssh_message_free(ch->open_msg);
		ch->open_msg = NULL;
	}
	if (ch->ch != NULL) {
		ssh_remove_channel_callbacks(ch->ch, &ch->cb);
		if (ssh_channel_is_open(ch->ch))
			(void)ssh_channel_close(ch->ch);
		ssh_channel_free(ch->ch);
	}
	pthread_mutex_lock(&c->ilock);
	if (ch->prev != NULL)
		ch->prev->next = ch->next;
	else
		c->chans = ch->next;
	if (ch->next != NULL)
		ch->next->prev = ch->prev;
	c->nchans--;
	pthread_mutex_unlock(&c->ilock);
	free(ch);
}

/* Frees channels flagged dead. */
static void
chans_reap(struct sshd_conn *c)
{
	struct sshd_chan *ch = NULL, *next = NULL;

	for (ch = c->chans; ch != NULL; ch = next) {
		next = ch->next;
		if (ch->dead)
			chan_free(ch);
	}
}

/* Finds our channel for a libssh channel. */
static struct sshd_chan *
chan_find(struct sshd_conn *c, ssh_channel sch)
{
	struct sshd_chan *ch = NULL;

	for (ch = c->chans; ch != NULL; ch = ch->next) {
		if (ch->ch == sch && !ch->dead)
			return ch;
	}
	return NULL;
}

/*
 * Ends the connection for why: logged, and sent to the client as the
 * text of SSH_MSG_DISCONNECT (OpenSSH prints it), so a user cut by
 * expiry, a time window or maintenance learns the reason. Loop thread.
 */
void
sshd__conn_close(struct sshd_conn *c, const char *why)
{
	if (!atomic_load(&c->stop)) {
		log_info("event=connection.close proto=ssh peer=%s user=%s "
		    "reason=\"%s\"", c->peer_str, c->user[0] != '\0' ?
		    c->user : "-", why);
		(void)ssh_session_set_disconnect_message(c->s, why);
	}
	atomic_store(&c->stop, 1);
}

/*
 * What the policy says of the live session now: the account as it was at
 * login (c->pu), maintenance as the current configuration has it (a
 * reload may have added a window). NULL, or why it must end (in buf).
 */
const char *
sshd__session_why(struct sshd_conn *c, char *buf, size_t len)
{
	struct policy_snap *cur = policy_holder_get(c->d->env.policy);
	const char *why = policy_session_check(cur, c->pu, policy_now_ms());

	if (why != NULL)
		snprintf(buf, len, "%s", why);
	policy_snap_unref(cur);
	return why != NULL ? buf : NULL;
}

/* Maintenance for a new login, as the current configuration has it:
 * NULL, or the message to show (in buf). */
const char *
sshd__maint_why(struct sshd_conn *c, char *buf, size_t len)
{
	struct policy_snap *cur = policy_holder_get(c->d->env.policy);
	const char *msg = NULL;
	int on = policy_maintenance(cur, policy_now_ms(), &msg, NULL);

	if (on)
		snprintf(buf, len, "%s", msg != NULL ? msg :
		    POLICY_MAINT_MESSAGE);
	policy_snap_unref(cur);
	return on ? buf : NULL;
}

/*
 * Writes why to the stderr of every running shell or exec channel: a
 * terminal user sees it before the session ends (OpenSSH may exit on the
 * channel's close before it reads SSH_MSG_DISCONNECT).
 */
static void
tell_sessions(struct sshd_conn *c, const char *why)
{
	struct sshd_chan *ch = NULL;
	char *text = xasprintf("\r\nsks5: %s\r\n", why);
	size_t len = strlen(text);

	for (ch = c->chans; ch != NULL; ch = ch->next) {
		if (ch->kind != SSHD_CHAN_SESSION || ch->dead ||
		    !ch->started || ch->ch == NULL ||
		    !ssh_channel_is_open(ch->ch) ||
		    ssh_channel_window_size(ch->ch) < len)
			continue;
		(void)ssh_channel_write_stderr(ch->ch, text, (uint32_t)len);
	}
	free(text);
}

/* Handles one queued message; takes ownership of m. */
static void
conn_dispatch(struct sshd_conn *c, ssh_message m)
{
	struct sshd_chan *ch = NULL;
	const char *svc = NULL;

	switch (ssh_message_type(m)) {
	case SSH_REQUEST_SERVICE:
		svc = ssh_message_service_service(m);
		if (svc != NULL && (strcmp(svc, "ssh-userauth") == 0 ||
		    strcmp(svc, "ssh-connection") == 0))
			(void)ssh_message_service_reply_success(m);
		else
			(void)ssh_message_reply_default(m);
		break;
	case SSH_REQUEST_AUTH:
		sshd__auth_message(c, m);
		return;
	case SSH_REQUEST_CHANNEL_OPEN:
		if (!atomic_load(&c->authed) || atomic_load(&c->kicked)) {
			(void)ssh_message_reply_default(m);
			break;
		}
		if (ssh_message_subtype(m) == SSH_CHANNEL_SESSION) {
			sshd__sess_open(c, m);
			return;
		}
		if (ssh_message_subtype(m) == SSH_CHANNEL_DIRECT_TCPIP) {
			sshd__fwd_open(c, m);
			return;
		}
		log_info("event=channel.refused proto=ssh peer=%s user=%s "
		    "type=%d", c->peer_str, c->user, ssh_message_subtype(m));
		(void)ssh_message_reply_default(m);
		break;
	case SSH_REQUEST_CHANNEL:
		ch = chan_find(c, ssh_message_channel_request_channel(m));
		if (ch != NULL && ch->kind == SSHD_CHAN_SESSION &&
		    atomic_load(&c->authed)) {
			sshd__sess_request(c, ch, m);
			return;
		}
		(void)ssh_message_reply_default(m);
		break;
	default:	/* global requests: tcpip-forward (-R) and the rest */
		(void)ssh_message_reply_default(m);
		break;
	}
	ssh_message_free(m);
}

/*
 * An administrator kicked the user (sshd_kick()): shells are told, every
 * channel ends, and the connection closes once they are gone (or after
 * SSHD_KICK_GRACE_MS, so that a stuck peer window cannot keep it).
 */
static void
conn_kick(struct sshd_conn *c)
{
	struct sshd_chan *ch = NULL;

	atomic_store(&c->kicked, 2);
	c->kick_close_ms = ev_now_ms(c->loop) + SSHD_KICK_GRACE_MS;
	log_info("event=session.kicked proto=ssh peer=%s user=%s "
	    "channels=%zu", c->peer_str, c->user, c->nchans);
	for (ch = c->chans; ch != NULL; ch = ch->next) {
		if (ch->dead)
			continue;
		if (ch->kind == SSHD_CHAN_FWD)
			sshd__fwd_kick(ch);
		else
			sshd__sess_kick(ch);
	}
}

/* Per-pass work after dopoll. */
static void
conn_after_poll(struct sshd_conn *c, uint64_t *next_sweep)
{
	struct sshd_chan *ch = NULL;
	ssh_message m = NULL;
	const char *why = NULL;
	uint64_t now, now_us, wake;
	char whybuf[256];

	if (atomic_load(&c->kicked) == 1)
		conn_kick(c);
	(void)ev_run_once(c->loop, 0);
	while (!atomic_load(&c->stop) && (m = ssh_message_get(c->s)) != NULL)
		conn_dispatch(c, m);
	for (ch = c->chans; ch != NULL; ch = ch->next) {
		if (ch->dead)
			continue;
		if (ch->kind == SSHD_CHAN_FWD)
			sshd__fwd_after_poll(ch);
		else
			sshd__sess_after_poll(ch);
	}
	c->wake_us = 0;
	now_us = policy_mono_us();
	for (ch = c->chans; ch != NULL; ch = ch->next) {
		if (ch->kind != SSHD_CHAN_FWD || ch->dead ||
		    ch->throttle_us == 0)
			continue;
		wake = sshd__fwd_throttle(ch, now_us);
		if (wake != 0 && (c->wake_us == 0 || wake < c->wake_us))
			c->wake_us = wake;
	}
	now = ev_now_ms(c->loop);
	if (now >= *next_sweep) {
		*next_sweep = now + SSHD_SWEEP_MS;
		if (atomic_load(&c->authed) && (why = sshd__session_why(c,
		    whybuf, sizeof(whybuf))) != NULL) {
			tell_sessions(c, why);
			sshd__conn_close(c, why);
			return;
		}
		for (ch = c->chans; ch != NULL; ch = ch->next) {
			if (ch->kind == SSHD_CHAN_FWD && !ch->dead)
				sshd__fwd_sweep(ch, now);
			else if (ch->kind == SSHD_CHAN_SESSION && !ch->dead)
				sshd__sess_sweep(ch, now);
		}
	}
	chans_reap(c);
	if (atomic_load(&c->kicked) == 2) {
		/* Channels gone: a few more passes let libssh send what it
		 * holds (the shell's notice) before the disconnect. */
		now = ev_now_ms(c->loop);
		if (c->nchans == 0 &&
		    c->kick_close_ms > now + SSHD_KICK_FLUSH_MS)
			c->kick_close_ms = now + SSHD_KICK_FLUSH_MS;
		if (now >= c->kick_close_ms)
			sshd__conn_close(c, "kicked by administrator");
	}
}

/*
 * The dopoll timeout: shorter when a throttled channel resumes sooner, or
 * when a timer of the ev loop is due sooner (timers do not make its fd
 * readable; a connect starts from a 0 ms timer, and waiting the full
 * period there would add up to SSHD_POLL_MS to every channel open).
 */
static int
conn_poll_ms(const struct sshd_conn *c)
{
	uint64_t now_us, ms;
	int t = ev_next_timer_ms(c->loop), bound;

	bound = t >= 0 && t < SSHD_POLL_MS ? t : SSHD_POLL_MS;
	if (c->wake_us == 0)
		return bound;
	now_us = policy_mono_us();
	if (c->wake_us <= now_us)
		return 0;
	ms = (c->wake_us - now_us + 999) / 1000;
	return ms < (uint64_t)bound ? (int)ms : bound;
}

/*
 * Keepalives: when nothing at all came from the peer for
 * server.ssh_keepalive_interval_secs, send the global request
 * keepalive@openssh.com with want_reply (clients answer with
 * REQUEST_FAILURE); after server.ssh_keepalive_max such intervals in a row
 * without a packet from the peer, close. Any packet counts as an answer,
 * as with OpenSSH's ClientAlive*. libssh keeps one global request
 * outstanding: a call while the last one is unanswered only polls, and
 * the call after an answer only collects it, hence the second call.
 * Returns 0, or -1 when the connection must close.
 */
static int
conn_keepalive(struct sshd_conn *c)
{
	const struct cfg_server *sv = &c->snap->cfg->server;
	uint64_t now = ev_now_ms(c->loop);

	/* Only after login: OpenSSH clients treat a global request during
	 * user authentication as a protocol error. */
	if (sv->ssh_keepalive_interval_secs == 0 || !atomic_load(&c->authed))
		return 0;
	if (c->ka_next_ms == 0) {
		c->ka_seen = c->rx.in_packets;
		c->ka_next_ms = now + sv->ssh_keepalive_interval_secs * 1000;
		return 0;
	}
	if (now < c->ka_next_ms)
		return 0;
	c->ka_next_ms = now + sv->ssh_keepalive_interval_secs * 1000;
	if (c->rx.in_packets != c->ka_seen) {	/* the peer is alive */
		c->ka_seen = c->rx.in_packets;
		c->ka_missed = 0;
		return 0;
	}
	if (sv->ssh_keepalive_max > 0 &&
	    c->ka_missed >= sv->ssh_keepalive_max) {
		log_info("event=keepalive.timeout proto=ssh peer=%s user=%s "
		    "missed=%u", c->peer_str, c->user, c->ka_missed);
		sshd__conn_close(c, "keepalive timeout");
		return -1;
	}
	(void)ssh_send_keepalive(c->s);
	(void)ssh_send_keepalive(c->s);
	c->ka_missed++;
	return 0;
}

/* Runs the connection after the key exchange. */
static void
conn_run(struct sshd_conn *c)
{
	uint64_t grace_ms, next_sweep = 0;

	grace_ms = c->snap->cfg->server.ssh_auth_timeout * 1000;
	ssh_set_counters(c->s, NULL, &c->rx);
	for (;;) {
		if (atomic_load(&c->stop))
			break;
		if (!ssh_is_connected(c->s)) {
			sshd__conn_close(c, "client disconnected");
			break;
		}
		ev_update_now(c->loop);
		if (!atomic_load(&c->authed) &&
		    ev_now_ms(c->loop) - c->t_start >= grace_ms) {
			log_info("event=auth.timeout proto=ssh peer=%s "
			    "msg=\"login grace time (server.ssh_auth_timeout) "
			    "over\"", c->peer_str);
			sshd__conn_close(c, "login grace time over");
			break;
		}
		if (ssh_event_dopoll(c->sev, conn_poll_ms(c)) == SSH_ERROR &&
		    !ssh_is_connected(c->s)) {
			sshd__conn_close(c, "connection lost");
			break;
		}
		conn_after_poll(c, &next_sweep);
		if (conn_keepalive(c) != 0)
			break;
	}
}

/* Frees everything the connection owns, then the connection. */
static void
conn_finish(struct sshd_conn *c)
{
	struct sshd *d = c->d;
	unsigned waited;

	atomic_store(&c->stop, 1);
	while (c->chans != NULL) {
		c->chans->dead = 1;
		chans_reap(c);
	}
	sshd__auth_cleanup(c);
	if (c->sev != NULL) {
		ssh_event_remove_fd(c->sev, ev_fd(c->loop));
		ssh_event_remove_session(c->sev, c->s);
		ssh_event_free(c->sev);
	}
	/* Work on the pool posts back to the loop: let it land. */
	for (waited = 0; c->pending_jobs > 0 && waited < SSHD_JOB_WAIT_MS;
	    waited += 50)
		(void)ev_run_once(c->loop, 50);
	/* After this nobody else touches c->fd or c->loop. */
	sshd__conn_gone(d, c);
	if (ssh_is_connected(c->s))
		ssh_disconnect(c->s);
	ssh_free(c->s);
	if (c->preauth_held)
		policy_preauth_release(c->snap,
		    (const struct sockaddr *)&c->peer);
	if (c->pending_jobs == 0)
		ev_free(c->loop);
	else	/* a lookup that never ends: leak rather than crash */
		log_warn("event=connection.leak proto=ssh peer=%s jobs=%u",
		    c->peer_str, c->pending_jobs);
	policy_snap_unref(c->snap);
	free(c->force_command);
	free(c->permitopen);
	pthread_mutex_destroy(&c->ilock);
	free(c);
}

void *
sshd__conn_main(void *arg)
{
	struct sshd_conn *c = arg;
	sigset_t all;
	long kex_s;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ev_update_now(c->loop);
	c->t_start = ev_now_ms(c->loop);
	kex_s = (long)c->snap->cfg->server.ssh_auth_timeout;
	(void)ssh_options_set(c->s, SSH_OPTIONS_TIMEOUT, &kex_s);
	log_debug("event=accept proto=ssh peer=%s", c->peer_str);
	if (ssh_handle_key_exchange(c->s) != SSH_OK) {
		log_info("event=kex.failure proto=ssh peer=%s msg=\"%s\"",
		    c->peer_str, ssh_get_error(c->s));
		goto out;
	}
	ssh_set_blocking(c->s, 0);
	if ((c->sev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(c->sev, c->s) != SSH_OK ||
	    ssh_event_add_fd(c->sev, ev_fd(c->loop), POLLIN, loop_fd_cb,
	    c) != SSH_OK) {
		log_warn("event=connection.error proto=ssh peer=%s "
		    "msg=\"cannot set up the event loop\"", c->peer_str);
		goto out;
	}
	conn_run(c);
out:
	conn_finish(c);
	return NULL;
}

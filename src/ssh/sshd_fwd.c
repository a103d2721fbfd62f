/*
 * direct-tcpip channels (ssh -L, ssh -D): the same path as a SOCKS5
 * CONNECT (limits, ACL on the name, resolve, anti-SSRF and ACL on every
 * address, Happy Eyeballs connect), and the channel is confirmed only
 * once the connect succeeded. Then bytes move between the channel and
 * the target socket with flow control in both directions:
 *
 *  - target -> client: read at most the peer's window; when it is 0 the
 *    channel is "paused" and resumed after a dopoll that reopened it
 *    (libssh 0.10.6 has no callback for that);
 *  - client -> target: the data callback writes what the socket takes
 *    and leaves the rest in libssh's buffer (which stops the window from
 *    growing); when the socket is writable again the rest is drained
 *    with ssh_channel_read_nonblocking().
 *
 * libssh 0.10.6 can only refuse a channel open with the reason
 * "administratively prohibited"; the log line carries the real reason.
 */
#include "ssh/sshd_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/ssh2.h>

#include "auth/auth.h"
#include "config/config.h"
#include "config/values.h"
#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"
#include "net/net.h"
#include "policy/acl.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"
#include "policy/dest.h"

/* A lookup in flight; outlives the channel if the channel goes first. */
struct fwd_lookup {
	struct sshd_conn	*c;
	struct sshd_chan	*ch;	/* NULL once the channel is gone */
};

static void	fwd_pump(struct sshd_chan *);
static void	fwd_drain(struct sshd_chan *);

/* Publishes a stream event (audit, metrics, webhooks subscribe). */
static void
fwd_emit(struct sshd_chan *ch, enum stream_phase phase, const char *outcome)
{
	struct stream_event ev;

	ev.phase = phase;
	ev.proto = "ssh";
	ev.user = ch->c->user;
	ev.source = ch->c->peer_str;
	ev.host = ch->host;
	ev.port = ch->port;
	ev.bytes_up = ch->up;
	ev.bytes_down = ch->down;
	ev.duration_ms = ev_now_ms(ch->c->loop) - ch->t_start;
	ev.outcome = outcome;
	ev.code = phase == STREAM_REFUSED ?
	    SSH2_OPEN_ADMINISTRATIVELY_PROHIBITED : 0;
	stream_emit(&ev);
}

/* Refuses the pending open and frees the channel. */
static void
fwd_refuse(struct sshd_chan *ch, const char *why)
{
	struct sshd_conn *c = ch->c;

	log_info("event=connection.refused proto=ssh peer=%s user=%s "
	    "target=%s:%u reason=\"%s\"", c->peer_str, c->user, ch->host,
	    ch->port, why);
	fwd_emit(ch, STREAM_REFUSED, why);
	if (ch->open_msg != NULL) {
		(void)ssh_message_reply_default(ch->open_msg);
		ssh_message_free(ch->open_msg);
		ch->open_msg = NULL;
	}
	sshd__chan_close_later(ch);
}

/* Ends an open channel. */
static void
fwd_end(struct sshd_chan *ch, const char *outcome)
{
	struct sshd_conn *c = ch->c;

	if (ch->dead)
		return;
	log_info("event=proxy.complete proto=ssh peer=%s user=%s "
	    "target=%s:%u bytes_up=%llu bytes_down=%llu duration_ms=%llu "
	    "outcome=%s", c->peer_str, c->user, ch->host, ch->port,
	    (unsigned long long)ch->up, (unsigned long long)ch->down,
	    (unsigned long long)(ev_now_ms(c->loop) - ch->t_start), outcome);
	atomic_fetch_add(&c->snap->state->bytes_total, ch->up + ch->down);
	if (ch->ch != NULL)	/* only confirmed channels started */
		fwd_emit(ch, STREAM_END, outcome);
	sshd__chan_close_later(ch);
}

/*
 * Byte meter (bandwidth limits, quotas; the same policy meter as SOCKS5).
 * Bytes may move at most g now: g > 0, or 0 when throttled (both
 * directions then wait until ch->throttle_us, with the target socket
 * unwatched so the loop does not spin) or cut by a quota (the channel
 * ends). Without a meter, want.
 */
static size_t
fwd_grant(struct sshd_chan *ch, size_t want)
{
	struct sshd_conn *c = ch->c;
	uint64_t wait_us = 0, now_us;
	size_t g;

	if (ch->meter == NULL || want == 0)
		return want;
	if (ch->throttle_us != 0)
		return 0;
	now_us = policy_mono_us();
	g = policy_meter_grant(ch->meter, want, now_us, policy_now_ms(),
	    &wait_us);
	if (g > 0)
		return g;
	if (wait_us == 0) {
		log_info("event=quota.exceeded proto=ssh peer=%s user=%s "
		    "reason=\"%s\" msg=\"stream cut at the limit\"",
		    c->peer_str, c->user, ch->meter->why != NULL ?
		    ch->meter->why : "quota");
		fwd_end(ch, "quota");
		return 0;
	}
	ch->throttle_us = now_us + wait_us;
	(void)ev_mod(c->loop, ch->fd, 0);
	return 0;
}

/* Gives back the part of a grant that did not move. */
static void
fwd_settle(struct sshd_chan *ch, size_t granted, ssize_t used)
{
	if (ch->meter != NULL)
		policy_meter_settle(ch->meter, granted,
		    used > 0 ? (size_t)used : 0, policy_now_ms());
}

/* Client -> target: write what the socket takes now. */
static int
fwd_on_data(ssh_session s, ssh_channel sch, void *data, uint32_t len,
    int is_stderr, void *ud)
{
	struct sshd_chan *ch = ud;
	size_t g;
	ssize_t n;

	(void)s;
	(void)sch;
	(void)is_stderr;
	if (ch->dead || ch->fd < 0)
		return (int)len;	/* discard */
	if (ch->paused == 2 || ch->pend_len > 0 || ch->up_held)
		return 0;	/* draining: keep the order */
	if ((g = fwd_grant(ch, len)) == 0) {
		if (ch->dead)
			return (int)len;	/* cut by a quota */
		ch->up_held = 1;	/* resumed by fwd_throttle */
		return 0;
	}
	n = send(ch->fd, data, g, MSG_NOSIGNAL);
	fwd_settle(ch, g, n);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			fwd_end(ch, "target_error");
			return (int)len;
		}
		n = 0;
	}
	if (n > 0) {
		ch->up += (uint64_t)n;
		atomic_fetch_add(&ch->c->pu->state->bytes_up, (uint64_t)n);
		ch->last_io_ms = ev_now_ms(ch->c->loop);
	}
	if ((uint32_t)n < len)	/* socket full or part granted: drain */
		(void)ev_mod(ch->c->loop, ch->fd, EV_READ | EV_WRITE);
	return (int)n;
}

static void
fwd_on_eof(ssh_session s, ssh_channel sch, void *ud)
{
	struct sshd_chan *ch = ud;

	(void)s;
	(void)sch;
	ch->ch_eof = 1;
}

static void
fwd_on_close(ssh_session s, ssh_channel sch, void *ud)
{
	struct sshd_chan *ch = ud;

	(void)s;
	(void)sch;
	fwd_end(ch, ch->tcp_eof && ch->ch_eof ? "eof" : "client_closed");
}

/* Writes the drain backlog; 0 when empty, 1 when the socket is full. */
static int
fwd_flush_pend(struct sshd_chan *ch)
{
	ssize_t n;

	while (ch->pend_len > 0) {
		n = send(ch->fd, ch->pend, ch->pend_len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			fwd_end(ch, "target_error");
			return 1;
		}
		ch->up += (uint64_t)n;
		atomic_fetch_add(&ch->c->pu->state->bytes_up, (uint64_t)n);
		ch->last_io_ms = ev_now_ms(ch->c->loop);
		memmove(ch->pend, ch->pend + n, ch->pend_len - (size_t)n);
		ch->pend_len -= (size_t)n;
	}
	return 0;
}

/* The target socket is writable: move what libssh kept back. */
static void
fwd_drain(struct sshd_chan *ch)
{
	int avail, n;
	size_t g = 0;

	ch->up_held = 0;
	if (ch->pend == NULL)
		ch->pend = xmalloc(SSHD_CHUNK);
	for (;;) {
		if (fwd_flush_pend(ch) != 0 || ch->dead)
			return;	/* still full: EV_WRITE stays on */
		ch->paused = 2;	/* the data callback must not consume */
		avail = ssh_channel_poll(ch->ch, 0);
		n = 0;
		if (avail > 0 && (g = fwd_grant(ch, (size_t)(avail <
		    SSHD_CHUNK ? avail : SSHD_CHUNK))) == 0) {
			ch->paused = 0;
			if (!ch->dead)
				ch->up_held = 1;	/* watch set to 0 */
			return;
		}
		if (avail > 0) {
			n = ssh_channel_read_nonblocking(ch->ch, ch->pend,
			    (uint32_t)g, 0);
			fwd_settle(ch, g, n);
		}
		ch->paused = 0;
		if (n <= 0)
			break;
		ch->pend_len = (size_t)n;
	}
	(void)ev_mod(ch->c->loop, ch->fd, EV_READ);
}

/* Accounts bytes written into the channel. */
static void
fwd_count_down(struct sshd_chan *ch, size_t n)
{
	ch->down += n;
	atomic_fetch_add(&ch->c->pu->state->bytes_down, (uint64_t)n);
	ch->last_io_ms = ev_now_ms(ch->c->loop);
}

/* Retries target bytes libssh did not take. 0 when none are left. */
static int
fwd_flush_tx(struct sshd_chan *ch)
{
	int w;

	if (ch->tx_len == 0)
		return 0;
	w = ssh_channel_write(ch->ch, ch->tx, (uint32_t)ch->tx_len);
	if (w < 0) {
		fwd_end(ch, "client_error");
		return 1;
	}
	fwd_count_down(ch, (size_t)w);
	memmove(ch->tx, ch->tx + w, ch->tx_len - (size_t)w);
	ch->tx_len -= (size_t)w;
	if (ch->tx_len > 0)
		return 1;
	free(ch->tx);
	ch->tx = NULL;
	return 0;
}

/* Target -> client within the peer's window and a read budget. */
static void
fwd_pump(struct sshd_chan *ch)
{
	unsigned char buf[SSHD_CHUNK];
	size_t budget = SSHD_READ_BUDGET, want;
	uint32_t win;
	ssize_t n;
	int w;

	if (fwd_flush_tx(ch) != 0)
		return;
	while (!ch->dead && !ch->tcp_eof && budget > 0) {
		win = ssh_channel_window_size(ch->ch);
		if (win == 0) {
			ch->paused = 1;
			return;
		}
		want = win < sizeof(buf) ? win : sizeof(buf);
		if ((want = fwd_grant(ch, want)) == 0)
			return;	/* throttled (readable stays 1) or cut */
		n = recv(ch->fd, buf, want, 0);
		fwd_settle(ch, want, n);
		if (n > 0) {
			w = ssh_channel_write(ch->ch, buf, (uint32_t)n);
			if (w < 0) {
				fwd_end(ch, "client_error");
				return;
			}
			fwd_count_down(ch, (size_t)w);
			budget -= (size_t)n;
			if (w < n) {
				/* libssh took less (key re-exchange running):
				 * keep the rest and wait for the next pass. */
				ch->tx = xmalloc((size_t)(n - w));
				memcpy(ch->tx, buf + w, (size_t)(n - w));
				ch->tx_len = (size_t)(n - w);
				ch->readable = 1;
				return;
			}
			continue;
		}
		if (n == 0) {
			ch->tcp_eof = 1;	/* tx is empty here */
			ch->readable = 0;
			(void)ssh_channel_send_eof(ch->ch);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ch->readable = 0;
			return;
		}
		fwd_end(ch, "target_error");
		return;
	}
	ch->readable = 1;	/* budget spent: come back next pass */
}

static void
fwd_on_io(struct ev *loop, int fd, unsigned revents, void *arg)
{
	struct sshd_chan *ch = arg;

	(void)loop;
	(void)fd;
	if (ch->dead)
		return;
	if (revents & EV_WRITE)
		fwd_drain(ch);
	if (revents & (EV_READ | EV_HUP | EV_ERROR)) {
		ch->readable = 1;
		ch->paused = 0;
		fwd_pump(ch);
	}
}

void
sshd__fwd_after_poll(struct sshd_chan *ch)
{
	if (ch->fd < 0 || ch->ch == NULL)
		return;
	if (ssh_channel_is_closed(ch->ch)) {
		fwd_end(ch, "client_closed");
		return;
	}
	if (ch->throttle_us != 0)
		return;	/* fwd_throttle resumes it */
	if ((ch->readable || ch->tx_len > 0) && !ch->tcp_eof &&
	    ssh_channel_window_size(ch->ch) > 0) {
		ch->paused = 0;
		fwd_pump(ch);
	}
	if (ch->ch_eof && !ch->shut_wr && ch->pend_len == 0 &&
	    ssh_channel_poll(ch->ch, 0) <= 0) {
		(void)shutdown(ch->fd, SHUT_WR);
		ch->shut_wr = 1;
	}
	if (ch->tcp_eof && ch->shut_wr)
		fwd_end(ch, "eof");
}

uint64_t
sshd__fwd_throttle(struct sshd_chan *ch, uint64_t now_us)
{
	if (ch->throttle_us == 0 || ch->dead || ch->fd < 0)
		return 0;
	if (now_us < ch->throttle_us)
		return ch->throttle_us;
	ch->throttle_us = 0;
	if (!ch->tcp_eof && ssh_channel_window_size(ch->ch) > 0) {
		ch->paused = 0;
		fwd_pump(ch);	/* may throttle again */
	}
	if (ch->dead)
		return 0;
	/* Writable at once unless full: fwd_on_io drains what libssh held. */
	if (ch->throttle_us == 0)
		(void)ev_mod(ch->c->loop, ch->fd, ch->up_held ||
		    ch->pend_len > 0 ? EV_READ | EV_WRITE : EV_READ);
	return ch->throttle_us;
}

void
sshd__fwd_kick(struct sshd_chan *ch)
{
	if (ch->fd >= 0 && ch->ch != NULL)
		fwd_end(ch, "kicked");
	else	/* not connected yet: the open is refused */
		sshd__chan_close_later(ch);
}

void
sshd__fwd_sweep(struct sshd_chan *ch, uint64_t now)
{
	uint64_t idle = ch->c->snap->cfg->limits.idle_timeout * 1000;

	if (ch->fd >= 0 && idle > 0 && now - ch->last_io_ms >= idle)
		fwd_end(ch, "idle");
}

/* Connected (or not): confirm the channel or refuse it. */
static void
fwd_connected(void *arg, const struct net_connect_result *res)
{
	struct sshd_chan *ch = arg;
	struct sshd_conn *c = ch->c;

	ch->creq = NULL;
	if (res->outcome != NET_OK) {
		fwd_refuse(ch, net_outcome_str(res->outcome));
		return;
	}
	ch->fd = res->fd;
	ch->ch = ssh_message_channel_request_open_reply_accept(ch->open_msg);
	ssh_message_free(ch->open_msg);
	ch->open_msg = NULL;
	if (ch->ch == NULL) {
		log_info("event=channel.error proto=ssh peer=%s msg=\"cannot "
		    "confirm the channel\"", c->peer_str);
		sshd__chan_close_later(ch);
		return;
	}
	ssh_callbacks_init(&ch->cb);
	ch->cb.userdata = ch;
	ch->cb.channel_data_function = fwd_on_data;
	ch->cb.channel_eof_function = fwd_on_eof;
	ch->cb.channel_close_function = fwd_on_close;
	(void)ssh_set_channel_callbacks(ch->ch, &ch->cb);
	if (ev_add(c->loop, ch->fd, EV_READ, fwd_on_io, ch) != 0) {
		fwd_end(ch, "error");
		return;
	}
	ch->meter = xcalloc(1, sizeof(*ch->meter));
	if (!policy_meter_init(ch->meter, c->snap, c->pu, policy_mono_us())) {
		free(ch->meter);
		ch->meter = NULL;	/* no limit: bytes counted at the end */
	}
	ch->readable = 1;
	ch->t_start = ch->last_io_ms = ev_now_ms(c->loop);
	policy_stream_connected(c->snap, c->pu, policy_now_ms());
	atomic_fetch_add(&c->pu->state->streams, 1);
	atomic_fetch_add(&c->snap->state->streams_total, 1);
	log_info("event=connection.open proto=ssh peer=%s user=%s "
	    "target=%s:%u", c->peer_str, c->user, ch->host, ch->port);
	fwd_emit(ch, STREAM_START, NULL);
	atomic_store(&ch->shown, 1);
}

/* Addresses known: guard and ACL on every one, then connect. */
static void
fwd_connect(struct sshd_chan *ch, struct sockaddr_storage *addrs, size_t n)
{
	struct sshd_conn *c = ch->c;
	const struct cfg_user_eff *e = &c->pu->cfg->eff;
	struct net_connect_opts o;
	char why[200];

	if (policy_dest_check(c->snap, c->pu, ch->host_is_name ? ch->host :
	    NULL, addrs, n, ch->port, why, sizeof(why)) != 0) {
		policy_acl_denied(c->snap, (const struct sockaddr *)&c->peer,
		    policy_now_ms());
		fwd_refuse(ch, why);
		return;
	}
	net_connect_opts_init(&o);
	o.timeout_ms = (uint32_t)(c->snap->cfg->limits.connection_timeout *
	    1000);
	o.retries = e->connect_retry;
	o.retry_delay_ms = (uint32_t)e->connect_retry_delay_ms;
	ch->creq = net_connect_start(c->loop, addrs, n, &o, fwd_connected,
	    ch);
}

static void
fwd_resolved(void *arg, int status, const struct sockaddr_storage *addrs,
    size_t n)
{
	struct fwd_lookup *lk = arg;
	struct sshd_chan *ch = lk->ch;
	struct sockaddr_storage copy[NET_RESOLVE_MAX_ADDRS];

	lk->c->pending_jobs--;
	free(lk);
	if (ch == NULL)
		return;
	ch->lookup = NULL;
	if (status != 0 || n == 0) {
		fwd_refuse(ch, status == ERR_AGAIN ? "name lookup failed "
		    "temporarily" : "name does not resolve");
		return;
	}
	if (n > NET_RESOLVE_MAX_ADDRS)
		n = NET_RESOLVE_MAX_ADDRS;
	memcpy(copy, addrs, n * sizeof(*addrs));
	fwd_connect(ch, copy, n);
}

/* Session rules, limits, rates and quotas for a new stream (the same
 * admission as SOCKS5). A live session keeps opening channels under
 * maintenance unless the maintenance disconnects it. 0 (a slot is held)
 * or ERR_DENIED. */
static int
fwd_limits(struct sshd_chan *ch, const char **why, char *buf, size_t len)
{
	struct sshd_conn *c = ch->c;

	*why = sshd__session_why(c, buf, len);
	if (*why == NULL)
		*why = policy_stream_admit(c->snap, c->pu, policy_now_ms());
	if (*why != NULL)
		return ERR_DENIED;
	ch->counted = 1;
	return 0;
}

/* Parses the target; IP literals (v4-mapped shown as IPv4) or names. */
static int
fwd_target(struct sshd_chan *ch, const char *host, int port,
    struct sockaddr_storage *ss)
{
	struct in6_addr a6;
	socklen_t sl;
	char err[128];
	size_t len;

	if (host == NULL || port <= 0 || port > 65535 ||
	    strlen(host) >= sizeof(ch->host))
		return ERR_INVAL;
	ch->port = (uint16_t)port;
	snprintf(ch->host, sizeof(ch->host), "%s", host);
	len = strlen(ch->host);
	if (len > 2 && ch->host[0] == '[' && ch->host[len - 1] == ']') {
		memmove(ch->host, ch->host + 1, len - 2);
		ch->host[len - 2] = '\0';
	}
	if (inet_pton(AF_INET6, ch->host, &a6) == 1 &&
	    IN6_IS_ADDR_V4MAPPED(&a6))
		inet_ntop(AF_INET, &a6.s6_addr[12], ch->host,
		    sizeof(ch->host));
	if (net_sockaddr_parse_literal(ch->host, ch->port, ss, &sl) == 0)
		return 0;
	if (cfg_check_hostname(ch->host, err, sizeof(err)) != 0)
		return ERR_INVAL;
	len = strlen(ch->host);
	if (len > 1 && ch->host[len - 1] == '.')
		ch->host[len - 1] = '\0';
	ch->host_is_name = 1;
	return 0;
}

void
sshd__fwd_open(struct sshd_conn *c, ssh_message m)
{
	struct sshd_chan *ch = NULL;
	struct sockaddr_storage ss;
	struct fwd_lookup *lk = NULL;
	struct acl_match why;
	const char *reason = NULL;
	char text[200];

	if ((ch = sshd__chan_new(c, SSHD_CHAN_FWD)) == NULL) {
		log_info("event=connection.refused proto=ssh peer=%s user=%s "
		    "reason=\"too many channels\"", c->peer_str, c->user);
		(void)ssh_message_reply_default(m);
		ssh_message_free(m);
		return;
	}
	ch->open_msg = m;
	if (fwd_target(ch, ssh_message_channel_request_open_destination(m),
	    ssh_message_channel_request_open_destination_port(m), &ss) != 0) {
		fwd_refuse(ch, "invalid target");
		return;
	}
	if (!c->pu->cfg->eff.allow_forwarding || c->no_fwd) {
		fwd_refuse(ch, "forwarding is not allowed for this login");
		return;
	}
	if (c->permitopen != NULL && !auth_permitopen_match(c->permitopen,
	    ch->host, ch->port)) {
		fwd_refuse(ch, "target not in the key's permitopen");
		return;
	}
	if (fwd_limits(ch, &reason, text, sizeof(text)) != 0) {
		fwd_refuse(ch, reason);
		return;
	}
	if (!ch->host_is_name) {
		fwd_connect(ch, &ss, 1);
		return;
	}
	if (acl_check_name(&c->pu->acl, ch->host, ch->port, &why) ==
	    ACL_DENY) {
		acl_match_format(&why, text, sizeof(text));
		policy_acl_denied(c->snap, (const struct sockaddr *)&c->peer,
		    policy_now_ms());
		fwd_refuse(ch, text);
		return;
	}
	lk = xcalloc(1, sizeof(*lk));
	lk->c = c;
	lk->ch = ch;
	c->pending_jobs++;
	ch->lookup = lk;
	(void)net_resolve(c->d->env.resolver, c->loop, ch->host,
	    fwd_resolved, lk);
}

void
sshd__fwd_free(struct sshd_chan *ch)
{
	struct sshd_conn *c = ch->c;

	if (ch->lookup != NULL)	/* the answer will find no channel */
		ch->lookup->ch = NULL;
	if (ch->creq != NULL)
		net_connect_cancel(ch->creq);
	if (ch->fd >= 0) {
		(void)ev_del(c->loop, ch->fd);
		close(ch->fd);
		ch->fd = -1;
	}
	if (ch->counted)
		policy_stream_release(c->snap, c->pu, ch->meter != NULL ? 0 :
		    ch->up + ch->down, policy_now_ms());
	free(ch->meter);
	free(ch->pend);
	free(ch->tx);
}

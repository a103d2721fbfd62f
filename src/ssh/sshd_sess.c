/*
 * session channels: pty-req, window-change, env (a safe list), shell and
 * exec. Every request with want_reply gets SUCCESS or FAILURE; subsystems
 * (sftp), x11 and agent forwarding are refused.
 */
#include "ssh/sshd_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"
#include "policy/snap.h"
#include "shell/shell.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Largest exec command line accepted. */
#define SSHD_EXEC_MAX	4096

/* Environment variables a client may set (they only reach the shell's
 * view of TERM and locale). */
static const char *const env_ok[] = {
	"LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", NULL
};

/* Output kept while the peer's window is closed (bounded). */
#define SSHD_SESS_BACKLOG	(4 * 1024 * 1024)

/* What a session channel needs for the shell. */
struct sess {
	struct shell_net	 net;
	struct shell_ops	 ops;
	struct shell_admin_ops	 aops;
	struct shell_ctx	 ctx;
	struct shell		*sh;
	char			 ip[NET_ADDRSTRLEN];
	int			 finish;	/* exit status + 1 once done */
	uint64_t		 key_ms;	/* last keystroke (loop ms) */
	int			 idle_warned;
};

/* Appends to the output backlog. 0, or -1 when it would overflow. */
static int
sess_backlog(struct sshd_chan *ch, const char *p, size_t len)
{
	if (ch->pend_len + len > SSHD_SESS_BACKLOG)
		return -1;
	ch->pend = xrealloc(ch->pend, ch->pend_len + len);
	memcpy(ch->pend + ch->pend_len, p, len);
	ch->pend_len += len;
	return 0;
}

/* Writes what the window takes from the backlog. */
static void
sess_flush(struct sshd_chan *ch)
{
	int n;

	while (ch->pend_len > 0 && ch->ch != NULL &&
	    ssh_channel_window_size(ch->ch) > 0) {
		n = ssh_channel_write(ch->ch, ch->pend,
		    (uint32_t)(ch->pend_len < SSHD_CHUNK ? ch->pend_len :
		    SSHD_CHUNK));
		if (n <= 0)
			return;
		memmove(ch->pend, ch->pend + n, ch->pend_len - (size_t)n);
		ch->pend_len -= (size_t)n;
	}
}

/*
 * The shell's output path. Never waits: what the peer's window does not
 * take now is kept and sent after the next dopoll (this may run inside
 * a libssh callback, where polling again is not allowed).
 */
static int
sess_write(void *arg, const void *buf, size_t len)
{
	struct sshd_chan *ch = arg;
	const char *p = buf;
	uint32_t win;
	int n;

	if (ch->dead || ch->ch == NULL || !ssh_channel_is_open(ch->ch))
		return -1;
	if (ch->pend_len == 0) {
		win = ssh_channel_window_size(ch->ch);
		if (win > 0) {
			n = ssh_channel_write(ch->ch, p, (uint32_t)(len < win ?
			    len : win));
			if (n < 0)
				return -1;
			p += n;
			len -= (size_t)n;
		}
	}
	return len > 0 ? sess_backlog(ch, p, len) : 0;
}

/* Ends a session channel with an exit status, once its output is out. */
static void
sess_finish(struct sshd_chan *ch, int status)
{
	struct sess *ss = ch->shell;

	if (ss != NULL && ch->pend_len > 0 && !ch->dead) {
		/* sshd__sess_after_poll ends it */
		ss->finish = status + 1;
		return;
	}
	if (ch->ch != NULL && ssh_channel_is_open(ch->ch)) {
		(void)ssh_channel_request_send_exit_status(ch->ch, status);
		(void)ssh_channel_send_eof(ch->ch);
		(void)ssh_channel_close(ch->ch);
	}
	sshd__chan_close_later(ch);
}

void
sshd__sess_after_poll(struct sshd_chan *ch)
{
	struct sess *ss = ch->shell;

	if (ch->pend_len > 0)
		sess_flush(ch);
	if (ss != NULL && ss->finish > 0 && ch->pend_len == 0)
		sess_finish(ch, ss->finish - 1);
}

/* Live counters for `show` and the MOTD. */
static void
sess_stats(void *arg, struct shell_stats *out)
{
	struct sshd_chan *ch = arg;
	const struct policy_user_state *st = ch->c->pu->state;

	out->active = atomic_load(&st->active);
	out->bytes_total = atomic_load(&st->bytes_up) +
	    atomic_load(&st->bytes_down);
}

/* Fills the shell context of a session channel. */
static struct sess *
sess_state(struct sshd_chan *ch)
{
	struct sshd_conn *c = ch->c;
	struct sess *ss = NULL;
	char *p = NULL;

	if (ch->shell != NULL)
		return ch->shell;
	ss = xcalloc(1, sizeof(*ss));
	ss->net.snap = c->snap;
	ss->net.user = c->pu;
	ss->net.stats = sess_stats;
	ss->net.stats_arg = ch;
	shell_net_ops(&ss->net, &ss->ops);
	snprintf(ss->ip, sizeof(ss->ip), "%s", c->peer_str);
	if ((p = strrchr(ss->ip, ':')) != NULL)
		*p = '\0';
	if (ss->ip[0] == '[') {
		memmove(ss->ip, ss->ip + 1, strlen(ss->ip));
		if ((p = strchr(ss->ip, ']')) != NULL)
			*p = '\0';
	}
	ss->ctx.cfg = c->snap->cfg;
	ss->ctx.user = c->pu->cfg;
	ss->ctx.source_ip = ss->ip;
	ss->ctx.auth_method = c->method;
	ss->ctx.key_fingerprint = c->fingerprint[0] != '\0' ?
	    c->fingerprint : NULL;
	ss->ctx.term = ch->has_pty ? ch->term : NULL;
	ss->ctx.store = c->d->store;
	ss->ctx.ops = &ss->ops;
	sshd__admin_ops(c, &ss->aops);
	ss->ctx.admin = &ss->aops;
	ch->shell = ss;
	return ss;
}

/* Runs one command line (exec, or a forced command). */
static int
sess_run(struct sshd_chan *ch, const char *cmd)
{
	struct sess *ss = sess_state(ch);

	return shell_exec(&ss->ctx, cmd, sess_write, ch);
}

/* Bytes typed into a shell channel. */
static int
sess_on_data(ssh_session s, ssh_channel sch, void *data, uint32_t len,
    int is_stderr, void *ud)
{
	struct sshd_chan *ch = ud;
	struct sess *ss = ch->shell;
	int r;

	(void)s;
	(void)sch;
	(void)is_stderr;
	if (ch->dead || ss == NULL || ss->sh == NULL || ss->finish > 0)
		return (int)len;	/* no shell (yet): discarded */
	ss->key_ms = ev_now_ms(ch->c->loop);
	ss->idle_warned = 0;
	r = shell_input(ss->sh, data, len);
	if (r != 0)
		sess_finish(ch, r > 0 ? shell_last_status(ss->sh) : 1);
	return (int)len;
}

static void
sess_on_eof(ssh_session s, ssh_channel sch, void *ud)
{
	struct sshd_chan *ch = ud;

	(void)s;
	(void)sch;
	/* EOF before exec (ssh </dev/null) is normal: wait for the request.
	 * A shell that loses its input ends. */
	if (ch->shell != NULL && ((struct sess *)ch->shell)->sh != NULL)
		sess_finish(ch, 0);
}

static void
sess_on_close(ssh_session s, ssh_channel sch, void *ud)
{
	struct sshd_chan *ch = ud;

	(void)s;
	(void)sch;
	sshd__chan_close_later(ch);
}

void
sshd__sess_open(struct sshd_conn *c, ssh_message m)
{
	struct sshd_chan *ch = NULL;

	if (!c->pu->cfg->eff.allow_shell) {
		log_info("event=channel.refused proto=ssh peer=%s user=%s "
		    "type=session reason=\"allow_shell is false\"",
		    c->peer_str, c->user);
		(void)ssh_message_reply_default(m);
		ssh_message_free(m);
		return;
	}
	if ((ch = sshd__chan_new(c, SSHD_CHAN_SESSION)) == NULL ||
	    (ch->ch = ssh_message_channel_request_open_reply_accept(m)) ==
	    NULL) {
		if (ch == NULL)
			(void)ssh_message_reply_default(m);
		else
			sshd__chan_close_later(ch);
		ssh_message_free(m);
		return;
	}
	ssh_message_free(m);
	ssh_callbacks_init(&ch->cb);
	ch->cb.userdata = ch;
	ch->cb.channel_data_function = sess_on_data;
	ch->cb.channel_eof_function = sess_on_eof;
	ch->cb.channel_close_function = sess_on_close;
	(void)ssh_set_channel_callbacks(ch->ch, &ch->cb);
}

/* Accepts or refuses an env request. */
static int
env_allowed(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && env_ok[i] != NULL; i++) {
		if (strcmp(name, env_ok[i]) == 0)
			return 1;
	}
	return 0;
}

/* Replies to a request and frees it. */
static void
reply(ssh_message m, int ok)
{
	if (ok)
		(void)ssh_message_channel_request_reply_success(m);
	else
		(void)ssh_message_reply_default(m);
	ssh_message_free(m);
}

void
sshd__sess_request(struct sshd_conn *c, struct sshd_chan *ch, ssh_message m)
{
	const char *cmd = NULL, *term = NULL;
	struct sess *ss = NULL;
	char *line = NULL;
	int status;

	switch (ssh_message_subtype(m)) {
	case SSH_CHANNEL_REQUEST_PTY:
		if (c->no_pty || ch->started) {
			reply(m, 0);
			return;
		}
		term = ssh_message_channel_request_pty_term(m);
		snprintf(ch->term, sizeof(ch->term), "%s",
		    term != NULL ? term : "");
		ch->cols = (unsigned)ssh_message_channel_request_pty_width(m);
		ch->rows = (unsigned)ssh_message_channel_request_pty_height(m);
		ch->has_pty = 1;
		reply(m, 1);
		return;
	case SSH_CHANNEL_REQUEST_WINDOW_CHANGE:
		ch->cols = (unsigned)ssh_message_channel_request_pty_width(m);
		ch->rows = (unsigned)ssh_message_channel_request_pty_height(m);
		if (ch->shell != NULL && ((struct sess *)ch->shell)->sh != NULL)
			shell_resize(((struct sess *)ch->shell)->sh, ch->cols,
			    ch->rows);
		reply(m, 1);
		return;
	case SSH_CHANNEL_REQUEST_ENV:
		reply(m, env_allowed(ssh_message_channel_request_env_name(m)));
		return;
	case SSH_CHANNEL_REQUEST_EXEC:
		cmd = ssh_message_channel_request_command(m);
		if (ch->started || cmd == NULL ||
		    strlen(cmd) > SSHD_EXEC_MAX) {
			reply(m, 0);
			return;
		}
		ch->started = 1;
		line = xstrdup(c->force_command != NULL ? c->force_command :
		    cmd);
		reply(m, 1);
		log_info("event=session.exec proto=ssh peer=%s user=%s",
		    c->peer_str, c->user);
		status = sess_run(ch, line);
		free(line);
		sess_finish(ch, status);
		return;
	case SSH_CHANNEL_REQUEST_SHELL:
		if (ch->started) {
			reply(m, 0);
			return;
		}
		ch->started = 1;
		reply(m, 1);
		if (c->force_command != NULL) {
			sess_finish(ch, sess_run(ch, c->force_command));
			return;
		}
		log_info("event=session.shell proto=ssh peer=%s user=%s "
		    "pty=%s", c->peer_str, c->user, ch->has_pty ? ch->term :
		    "none");
		ss = sess_state(ch);
		ss->key_ms = ev_now_ms(c->loop);
		ss->sh = shell_new(&ss->ctx, ch->cols, ch->rows, sess_write,
		    ch);
		if (shell_start(ss->sh) != 0)
			sess_finish(ch, 1);
		return;
	default:	/* subsystem (sftp), x11, unknown */
		log_info("event=request.refused proto=ssh peer=%s user=%s "
		    "request=%d", c->peer_str, c->user, ssh_message_subtype(m));
		reply(m, 0);
		return;
	}
}

/*
 * Interactive shells end after limits.idle_timeout without a keystroke
 * (0: never); the user's idle_warning_secs before that, one line tells
 * them so. Output, keepalives and forwarded traffic do not count.
 */
void
sshd__sess_sweep(struct sshd_chan *ch, uint64_t now)
{
	struct sshd_conn *c = ch->c;
	struct sess *ss = ch->shell;
	uint64_t idle = c->snap->cfg->limits.idle_timeout * 1000;
	uint64_t warn = c->pu->cfg->eff.idle_warning_secs * 1000, quiet;
	char msg[160];

	if (ss == NULL || ss->sh == NULL || ss->finish > 0 || idle == 0 ||
	    now < ss->key_ms)
		return;
	quiet = now - ss->key_ms;
	if (quiet >= idle) {
		log_info("event=session.idle proto=ssh peer=%s user=%s "
		    "idle_secs=%llu", c->peer_str, c->user,
		    (unsigned long long)(quiet / 1000));
		snprintf(msg, sizeof(msg), "\r\nsks5: idle for %llu s; "
		    "disconnecting\r\n", (unsigned long long)(quiet / 1000));
		(void)sess_write(ch, msg, strlen(msg));
		sess_finish(ch, 0);
		return;
	}
	if (warn == 0 || warn >= idle || ss->idle_warned ||
	    quiet < idle - warn)
		return;
	ss->idle_warned = 1;
	snprintf(msg, sizeof(msg), "sks5: idle for %llu s; disconnecting in "
	    "%llu s", (unsigned long long)(quiet / 1000),
	    (unsigned long long)((idle - quiet + 999) / 1000));
	log_debug("event=session.idle_warning proto=ssh peer=%s user=%s",
	    c->peer_str, c->user);
	if (shell_notice(ss->sh, msg) != 0)
		sess_finish(ch, 1);
}

void
sshd__sess_kick(struct sshd_chan *ch)
{
	static const char msg[] = "\r\nKicked by administrator.\r\n";
	struct sess *ss = ch->shell;

	if (ss != NULL && ss->sh != NULL && ss->finish == 0)
		(void)sess_write(ch, msg, sizeof(msg) - 1);
	if (ss == NULL || ss->finish == 0)
		sess_finish(ch, 1);
}

void
sshd__sess_free(struct sshd_chan *ch)
{
	struct sess *ss = ch->shell;

	if (ss != NULL) {
		shell_free(ss->sh);
		free(ss);
		ch->shell = NULL;
	}
	free(ch->pend);
	ch->pend = NULL;
}

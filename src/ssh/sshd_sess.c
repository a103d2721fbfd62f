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

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Largest exec command line accepted. */
#define SSHD_EXEC_MAX	4096

/* Environment variables a client may set (they only reach the shell's
 * view of TERM and locale). */
static const char *const env_ok[] = {
	"LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", NULL
};

/* Writes to the channel; the shell's output path. */
static int
sess_write(void *arg, const void *buf, size_t len)
{
	struct sshd_chan *ch = arg;
	const char *p = buf;
	int n;

	while (len > 0) {
		if (ch->dead || ch->ch == NULL || !ssh_channel_is_open(ch->ch))
			return -1;
		n = ssh_channel_write(ch->ch, p, (uint32_t)len);
		if (n < 0)
			return -1;
		if (n == 0) {
			/* Window full: let libssh take the peer's adjust. */
			if (ssh_event_dopoll(ch->c->sev, 1000) == SSH_ERROR)
				return -1;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Ends a session channel with an exit status. */
static void
sess_finish(struct sshd_chan *ch, int status)
{
	if (ch->ch != NULL && ssh_channel_is_open(ch->ch)) {
		(void)ssh_channel_request_send_exit_status(ch->ch, status);
		(void)ssh_channel_send_eof(ch->ch);
		(void)ssh_channel_close(ch->ch);
	}
	sshd__chan_close_later(ch);
}

/* Runs one command line (exec, or a forced command). */
static int
sess_run(struct sshd_chan *ch, const char *cmd)
{
	char line[SSHD_EXEC_MAX + 64];
	const char *sp = strchr(cmd, ' ');
	int n = sp != NULL ? (int)(sp - cmd) : (int)strlen(cmd);

	if (n > 64)
		n = 64;
	snprintf(line, sizeof(line), "%.*s: command not found\r\n", n, cmd);
	(void)sess_write(ch, line, strlen(line));
	return 127;
}

/* Bytes typed into a shell channel. */
static int
sess_on_data(ssh_session s, ssh_channel sch, void *data, uint32_t len,
    int is_stderr, void *ud)
{
	(void)s;
	(void)sch;
	(void)data;
	(void)is_stderr;
	(void)ud;
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
	if (ch->shell != NULL)
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
		(void)sess_write(ch, "shell not available\r\n", 21);
		sess_finish(ch, 1);
		return;
	default:	/* subsystem (sftp), x11, unknown */
		log_info("event=request.refused proto=ssh peer=%s user=%s "
		    "request=%d", c->peer_str, c->user, ssh_message_subtype(m));
		reply(m, 0);
		return;
	}
}

void
sshd__sess_free(struct sshd_chan *ch)
{
	(void)ch;
}

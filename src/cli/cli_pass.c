/*
 * Passwords on the command line: read without echo from a terminal (or one
 * line from a pipe), hash with Argon2id, and the hash-password command.
 * Password bytes live only in caller buffers that are wiped after use;
 * reading goes through read(2) so no copy stays in a stdio buffer.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

/* Set by the handler while the terminal has echo turned off. */
static volatile sig_atomic_t got_signal;

/* Remembers which signal interrupted the prompt. */
static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Reads one line from fd without its "\n" or "\r\n". 0, ERR_TOO_LARGE,
 * ERR_IO or ERR_AGAIN (a signal arrived). */
static int
read_line(int fd, char *buf, size_t len)
{
	size_t i = 0;
	ssize_t r;
	char c = 0;
	int toolong = 0;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR && got_signal == 0) {
			continue;
		}
		if (r < 0) {
			util_wipe(buf, len);
			return got_signal != 0 ? ERR_AGAIN : ERR_IO;
		}
		if (r == 0 || c == '\n') {
			break;
		}
		if (i + 1 < len) {
			buf[i++] = c;
		} else {
			toolong = 1;
		}
	}
	c = 0;
	if (i > 0 && buf[i - 1] == '\r') {
		i--;
	}
	buf[i] = '\0';
	if (toolong) {
		util_wipe(buf, len);
		return ERR_TOO_LARGE;
	}
	return 0;
}

/* Prompts on stderr and reads a line from the terminal on stdin with echo
 * off; the terminal settings are restored even on SIGINT/SIGTERM/SIGHUP,
 * after which the signal is delivered again with its old disposition. */
static int
read_tty(const char *prompt, char *buf, size_t len)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old[4];
	struct termios saved, quiet;
	size_t i;
	int r, sig;

	if (tcgetattr(STDIN_FILENO, &saved) != 0) {
		return ERR_IO;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	for (i = 0; i < 4; i++) {
		sigaction(sigs[i], &sa, &old[i]);
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	/* Echo goes off (dropping earlier type-ahead) BEFORE the prompt
	 * shows, so an answer typed after the prompt is never flushed. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
		r = ERR_IO;
	} else {
		fputs(prompt, stderr);
		fflush(stderr);
		r = read_line(STDIN_FILENO, buf, len);
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	}
	fputc('\n', stderr);
	for (i = 0; i < 4; i++) {
		sigaction(sigs[i], &old[i], NULL);
	}
	if ((sig = got_signal) != 0) {
		util_wipe(buf, len);
		raise(sig);
		return ERR_AGAIN;
	}
	return r;
}

/* Prints the message for a failed read; returns ERR_INVAL or ERR_IO. */
static int
read_failed(int r)
{
	if (r == ERR_TOO_LARGE) {
		fprintf(stderr, "Error: password too long (at most %d bytes)\n",
		    CLI_PASS_MAX - 1);
		return ERR_INVAL;
	}
	fprintf(stderr, "Error: cannot read the password: %s\n",
	    r == ERR_IO ? strerror(errno) : err_str(r));
	return ERR_IO;
}

int
cli__read_password(int confirm, char *buf, size_t len)
{
	char again[CLI_PASS_MAX];
	int r, same;

	if (len > CLI_PASS_MAX) {
		len = CLI_PASS_MAX;
	}
	if (!isatty(STDIN_FILENO)) {
		r = read_line(STDIN_FILENO, buf, len);
	} else if ((r = read_tty("Password: ", buf, len)) == 0 &&
	    confirm && buf[0] != '\0') {
		if ((r = read_tty("Confirm: ", again, len)) == 0) {
			same = strlen(again) == strlen(buf) &&
			    util_ct_memcmp(again, buf, strlen(buf)) == 0;
			util_wipe(again, sizeof(again));
			if (!same) {
				util_wipe(buf, len);
				fprintf(stderr,
				    "Error: passwords do not match\n");
				return ERR_INVAL;
			}
		}
	}
	if (r != 0) {
		return read_failed(r);
	}
	if (buf[0] == '\0') {
		fprintf(stderr, "Error: empty password\n");
		return ERR_INVAL;
	}
	return 0;
}

int
cli__hash_password(const char *pw, uint32_t m_kib, uint32_t t, char *out,
    size_t outlen)
{
	return auth_argon2_hash(pw, strlen(pw), m_kib, t, out, outlen);
}

int
cli__get_password(char *opt, char *pw, size_t len)
{
	size_t n;

	if (opt == NULL) {
		return cli__read_password(1, pw, len);
	}
	fprintf(stderr, "Warning: a password given on the command line is "
	    "visible in the process list and shell history; leave it out "
	    "to be prompted.\n");
	n = strlen(opt);
	if (n >= len) {
		util_wipe(opt, n);
		return read_failed(ERR_TOO_LARGE);
	}
	memcpy(pw, opt, n + 1);
	util_wipe(opt, n);
	if (n == 0) {
		fprintf(stderr, "Error: empty password\n");
		return ERR_INVAL;
	}
	return 0;
}

/* The cost for hash-password: the configuration's when one was named
 * (-c or SKS5_CONFIG, loaded as the server would), else the defaults.
 * 0, or an exit code after printing why. */
static int
hash_cost(const struct cli_args *a, char **envp, uint32_t *m, uint32_t *t)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *cfg = NULL;
	int rc = CLI_EXIT_OK;

	*m = AUTH_ARGON2_M_DEFAULT;
	*t = AUTH_ARGON2_T_DEFAULT;
	if (!a->config_explicit)
		return 0;
	cli__overrides(a, envp, &ov);
	cfg_diag_init(&d);
	if (cfg_load(&ov, &cfg, &d) != 0) {
		cfg_diag_print(&d, stderr);
		rc = cli__error("cannot read the Argon2 cost from the "
		    "configuration %s", a->config);
	} else {
		*m = cfg->security.argon2_memory_cost;
		*t = cfg->security.argon2_time_cost;
	}
	cfg_free(cfg);
	cfg_diag_cleanup(&d);
	return rc;
}

int
cli__cmd_hash_password(const struct cli_args *a, char **envp)
{
	char pw[CLI_PASS_MAX], hash[crypto_pwhash_STRBYTES];
	uint32_t m, t;
	int rc = CLI_EXIT_FAIL;

	if ((rc = hash_cost(a, envp, &m, &t)) != 0)
		return rc;
	rc = CLI_EXIT_FAIL;
	if (cli__get_password(cli__opt_mut(a, "password"), pw, sizeof(pw)) != 0) {
		goto out;
	}
	if (cli__hash_password(pw, m, t, hash, sizeof(hash)) != 0) {
		rc = cli__error("cannot hash the password (out of memory?)");
		goto out;
	}
	printf("%s\n", hash);
	rc = CLI_EXIT_OK;
out:
	util_wipe(pw, sizeof(pw));
	util_wipe(hash, sizeof(hash));
	return rc;
}

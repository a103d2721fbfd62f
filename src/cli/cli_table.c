/*
 * The one table of subcommands and options, and the texts made from it:
 * --help output, usage errors and "did you mean" suggestions.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"

static const char *const levels[] = {
	"trace", "debug", "info", "warn", "error", NULL
};
static const char *const formats[] = { "toml", "json", NULL };
static const char *const presets[] = { "bastion", "proxy", "dev", NULL };
static const char *const shells[] = { "bash", "zsh", "fish", NULL };

const struct cli_opt cli__globals[] = {
	{ "config", 'c', CLI_VAL_FILE, "PATH", "config.toml", NULL, 0,
	    "configuration file (env SKS5_CONFIG)" },
	{ "log-level", 0, CLI_VAL_CHOICE, "LEVEL", "from the config", levels,
	    0, "log level of the server run" },
	{ "force-env", 0, CLI_VAL_NONE, NULL, NULL, NULL, 0,
	    "let SKS5_* variables override the file (env SKS5_FORCE_ENV)" },
	{ "data-dir", 0, CLI_VAL_FILE, "PATH", NULL, NULL, 0,
	    "persistence.data_dir (env SKS5_DATA_DIR)" },
	{ "ssh-listen", 0, CLI_VAL_TEXT, "ADDR", NULL, NULL, 0,
	    "server.ssh_listen, e.g. 0.0.0.0:2222" },
	{ "set", 0, CLI_VAL_TEXT, "KEY=VALUE", NULL, NULL, 0,
	    "override one config key; repeatable" },
	{ "help", 'h', CLI_VAL_NONE, NULL, NULL, NULL, 0, "show help and exit" },
	{ "version", 'V', CLI_VAL_NONE, NULL, NULL, NULL, 0,
	    "print the version and exit" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt no_opts[] = {
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt show_opts[] = {
	{ "format", 0, CLI_VAL_CHOICE, "FORMAT", "toml", formats, 0,
	    "output format" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt hash_opts[] = {
	{ "password", 'p', CLI_VAL_TEXT, "PASSWORD", NULL, NULL, 0,
	    "password to hash (visible in the process list; "
	    "prefer the prompt)" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt init_opts[] = {
	{ "output", 'o', CLI_VAL_FILE, "PATH", "config.toml", NULL, 0,
	    "file to create (mode 0600)" },
	{ "username", 0, CLI_VAL_TEXT, "NAME", "user", NULL, 0,
	    "name of the first user" },
	{ "password", 0, CLI_VAL_TEXT, "PASSWORD", NULL, NULL, 0,
	    "its password (else asked without echo, or read from stdin)" },
	{ "preset", 0, CLI_VAL_CHOICE, "PRESET", NULL, presets, 0,
	    "starting point for the settings" },
	{ "force", 0, CLI_VAL_NONE, NULL, NULL, NULL, 0,
	    "replace an existing file" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt quick_opts[] = {
	{ "username", 0, CLI_VAL_TEXT, "NAME", "user", NULL, 0,
	    "name of the one user" },
	{ "password", 0, CLI_VAL_TEXT, "PASSWORD", NULL, NULL, 0,
	    "its password (default: 20 random characters, printed once)" },
	{ "socks5-listen", 0, CLI_VAL_TEXT, "ADDR", NULL, NULL, 0,
	    "also serve SOCKS5 here, e.g. 127.0.0.1:1080" },
	{ "save-config", 0, CLI_VAL_FILE, "PATH", NULL, NULL, 0,
	    "also write the generated configuration (mode 0600; never "
	    "replaces a file)" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt totp_opts[] = {
	{ "username", 0, CLI_VAL_TEXT, "NAME", NULL, NULL, 0,
	    "account name shown by the authenticator app" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt health_opts[] = {
	{ "addr", 0, CLI_VAL_TEXT, "HOST:PORT", "127.0.0.1:2222", NULL, 0,
	    "IPv4:port, [IPv6]:port or localhost:port" },
	{ "timeout", 0, CLI_VAL_TEXT, "SECS", "5", NULL, 0,
	    "connect timeout in seconds (1-3600)" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

static const struct cli_opt sshcfg_opts[] = {
	{ "user", 0, CLI_VAL_TEXT, "NAME", NULL, NULL, 1, "login name" },
	{ "host", 0, CLI_VAL_TEXT, "HOST", NULL, NULL, 1,
	    "server name or address" },
	{ "port", 0, CLI_VAL_TEXT, "PORT", "2222", NULL, 0, "SSH port" },
	{ "name", 0, CLI_VAL_TEXT, "ALIAS", "sks5-proxy", NULL, 0,
	    "Host alias to use with ssh" },
	{ "dynamic-forward", 0, CLI_VAL_TEXT, "PORT", NULL, NULL, 0,
	    "also open a local SOCKS port on 127.0.0.1" },
	{ NULL, 0, CLI_VAL_NONE, NULL, NULL, NULL, 0, NULL },
};

const struct cli_cmd cli__cmds[] = {
	{ CLI_CMD_CHECK_CONFIG, "check-config",
	    "validate the configuration and exit", NULL, 0, NULL,
	    "Loads the configuration exactly as the server would (same file, "
	    "environment and command-line overrides) and reports every "
	    "problem with its file:line:col.",
	    "sks5 -c /etc/sks5/config.toml check-config", no_opts },
	{ CLI_CMD_SHOW_CONFIG, "show-config",
	    "print the effective configuration with secrets redacted",
	    NULL, 0, NULL,
	    "Prints every key with its effective value, defaults included. "
	    "Passwords, hashes, tokens and TOTP secrets print as ***. "
	    "Never writes a file.",
	    "sks5 -c config.toml show-config --format json", show_opts },
	{ CLI_CMD_HASH_PASSWORD, "hash-password",
	    "print the Argon2id hash of a password", NULL, 0, NULL,
	    "Asks for the password twice without echo on a terminal, or "
	    "reads one line from standard input, and prints the PHC string "
	    "to paste as password_hash. The Argon2id cost is that of the "
	    "configuration named with -c (security.argon2_*), else "
	    "m=19456,t=2,p=1.",
	    "sks5 hash-password", hash_opts },
	{ CLI_CMD_INIT, "init", "write a commented starter configuration",
	    NULL, 0, NULL,
	    "Creates a new configuration file (mode 0600) with one user and "
	    "an Argon2id password hash. Refuses to replace an existing file "
	    "unless --force is given.",
	    "sks5 init --preset bastion --username alice -o config.toml",
	    init_opts },
	{ CLI_CMD_QUICK_START, "quick-start",
	    "run a server at once with generated defaults", NULL, 0, NULL,
	    "Builds a configuration in memory with one user and safe "
	    "defaults, prints how to connect, and runs the server in the "
	    "foreground. No configuration file is read. The password is "
	    "printed only when it was generated; its hash never is.",
	    "sks5 quick-start --socks5-listen 127.0.0.1:1080", quick_opts },
	{ CLI_CMD_GENERATE_TOTP, "generate-totp",
	    "create a TOTP secret and its otpauth:// URL", "[USERNAME]", 0,
	    NULL,
	    "Prints a fresh random secret, the otpauth:// URL to load into an "
	    "authenticator app, and the lines to add to the user's entry.",
	    "sks5 generate-totp --username alice", totp_opts },
	{ CLI_CMD_HEALTH_CHECK, "health-check",
	    "check that a listener accepts TCP connections", NULL, 0, NULL,
	    "Opens a TCP connection to the address and closes it. Exit status "
	    "0 when reachable, 1 otherwise. No name lookups: the host is an "
	    "IP address or localhost.",
	    "sks5 health-check --addr 127.0.0.1:2222 --timeout 3",
	    health_opts },
	{ CLI_CMD_SSH_CONFIG, "ssh-config",
	    "print an OpenSSH client Host block for this server", NULL, 0,
	    NULL,
	    "Prints a block for ~/.ssh/config. Host key checking stays on.",
	    "sks5 ssh-config --user alice --host bastion.example.com "
	    "--dynamic-forward 1080", sshcfg_opts },
	{ CLI_CMD_COMPLETIONS, "completions",
	    "print a shell completion script", "SHELL", 1, shells,
	    "Prints a completion script for bash, zsh or fish.",
	    "sks5 completions bash > /etc/bash_completion.d/sks5", no_opts },
	{ CLI_CMD_MANPAGE, "manpage", "print the manual page (roff)", NULL,
	    0, NULL, "Prints the sks5(1) manual page in roff format.",
	    "sks5 manpage | man -l -", no_opts },
	{ CLI_CMD_HELP, "help", "show help for sks5 or one command",
	    "[COMMAND]", 0, NULL,
	    "Same as --help, for sks5 or for the command named.",
	    "sks5 help init", no_opts },
	{ 0, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct cli_cmd *
cli__find_cmd(const char *name)
{
	const struct cli_cmd *c = NULL;

	for (c = cli__cmds; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

/* Levenshtein distance between two short strings. */
int
cli__distance(const char *a, const char *b)
{
	int row[33];
	size_t la = strlen(a), lb = strlen(b), i, j;
	int diag, up, best;

	if (la > 32 || lb > 32) {
		return 99;
	}
	for (j = 0; j <= lb; j++) {
		row[j] = (int)j;
	}
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (up + 1 < best) {
				best = up + 1;
			}
			if (row[j - 1] + 1 < best) {
				best = row[j - 1] + 1;
			}
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *
cli__suggest(const char *name)
{
	const struct cli_cmd *c = NULL;
	const char *best = NULL;
	int d, bestd = 3;
	size_t n = strlen(name);

	for (c = cli__cmds; c->name != NULL; c++) {
		d = cli__distance(name, c->name);
		if (n >= 3 && strncmp(c->name, name, n) == 0 && d > 1) {
			d = 1;	/* a prefix of a command */
		}
		if (d < bestd) {
			bestd = d;
			best = c->name;
		}
	}
	return best;
}

/* Writes text word-wrapped before column 80; continuation lines start
 * with indent spaces; col is the column the text starts at. */
static void
put_wrapped(FILE *f, const char *text, int indent, int col)
{
	const char *w = text, *e = NULL;
	int len;

	while (*w != '\0') {
		while (*w == ' ') {
			w++;
		}
		if (*w == '\0') {
			break;
		}
		for (e = w; *e != '\0' && *e != ' '; e++) {
			;
		}
		len = (int)(e - w);
		if (col > indent && col + 1 + len > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", len, w);
		col += len;
		w = e;
	}
	fputc('\n', f);
}

/* Prints one option line of a help text. */
static void
print_opt(const struct cli_opt *o, FILE *f)
{
	char left[64], right[256];
	const char *const *ch = NULL;
	size_t n;

	if (o->sname != 0) {
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->sname,
		    o->lname, o->metavar ? " " : "",
		    o->metavar ? o->metavar : "");
	} else {
		snprintf(left, sizeof(left), "    --%s%s%s", o->lname,
		    o->metavar ? " " : "", o->metavar ? o->metavar : "");
	}
	n = (size_t)snprintf(right, sizeof(right), "%s%s", o->help,
	    o->req ? " (required)" : "");
	if (o->def != NULL && n < sizeof(right)) {
		n += (size_t)snprintf(right + n, sizeof(right) - n,
		    " [default: %s]", o->def);
	}
	for (ch = o->choices; ch != NULL && *ch != NULL &&
	    n < sizeof(right); ch++) {
		n += (size_t)snprintf(right + n, sizeof(right) - n, "%s%s%s",
		    ch == o->choices ? " [values: " : ", ", *ch,
		    ch[1] == NULL ? "]" : "");
	}
	fprintf(f, "  %-26s ", left);
	put_wrapped(f, right, 29, 29);
}

void
cli__print_help(FILE *f)
{
	const struct cli_cmd *c = NULL;
	const struct cli_opt *o = NULL;

	fprintf(f, "sks5 %s: multi-user SSH bastion and SOCKS5 proxy\n\n"
	    "Usage: sks5 [OPTIONS] [COMMAND] [COMMAND OPTIONS]\n\n"
	    "Without a command, sks5 loads the configuration and runs the "
	    "server.\n\nCommands:\n", SKS5_VERSION);
	for (c = cli__cmds; c->name != NULL; c++) {
		fprintf(f, "  %-16s %s\n", c->name, c->summary);
	}
	fprintf(f, "\nOptions (before or after the command):\n");
	for (o = cli__globals; o->lname != NULL; o++) {
		print_opt(o, f);
	}
	fprintf(f, "\nRun 'sks5 COMMAND --help' for the options of a command."
	    "\nExit status: 0 success, 1 error, 2 usage error.\n");
}

void
cli__print_cmd_help(const struct cli_cmd *c, FILE *f)
{
	const struct cli_opt *o = NULL;
	const char *const *ch = NULL;

	fprintf(f, "Usage: sks5 %s [OPTIONS]%s%s\n\n%c%s.\n\n",
	    c->name, c->posname ? " " : "", c->posname ? c->posname : "",
	    c->summary[0] - 'a' + 'A', c->summary + 1);
	put_wrapped(f, c->description, 0, 0);
	fprintf(f, "\nOptions:\n");
	for (o = c->opts; o->lname != NULL; o++) {
		print_opt(o, f);
	}
	print_opt(&cli__globals[6], f);	/* -h, --help */
	if (c->poschoices != NULL) {
		fprintf(f, "\n%s is one of:", c->posname);
		for (ch = c->poschoices; *ch != NULL; ch++) {
			fprintf(f, " %s", *ch);
		}
		fputc('\n', f);
	}
	fprintf(f, "\nGlobal options such as -c/--config are accepted too "
	    "(see 'sks5 --help').\n\nExample:\n  %s\n", c->example);
}

int
cli__usage(const struct cli_cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sks5%s%s: ", c ? " " : "", c ? c->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry 'sks5%s%s --help'\n", c ? " " : "",
	    c ? c->name : "");
	return CLI_EXIT_USAGE;
}

int
cli__error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int
cli__parse_uint(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *out)
{
	char *end = NULL;
	unsigned long v;

	*out = 0;
	if (s == NULL || *s < '0' || *s > '9') {
		return ERR_INVAL;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi) {
		return ERR_INVAL;
	}
	*out = v;
	return 0;
}

int
cli__safe_token(const char *s)
{
	const unsigned char *p = NULL;

	if (s == NULL || *s == '\0') {
		return 0;
	}
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\'' ||
		    *p == '\\' || *p == '#') {
			return 0;
		}
	}
	return 1;
}

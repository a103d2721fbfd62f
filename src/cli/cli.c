/*
 * Program entry: parse the command line, then run the server or one
 * subcommand. Also the configuration commands (check-config, show-config),
 * which load the configuration exactly as the server does.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"
#include "config/config.h"
#include "net/net.h"
#include "server.h"

/* Prints every error and warning, then the one-line verdict. */
static void
report_invalid(const struct cfg_diag *d)
{
	size_t n = d->nerrors > 0 ? d->nerrors : 1;

	cfg_diag_print(d, stderr);
	if (d->nerrors == 0) {
		fprintf(stderr, "Error: the configuration could not be "
		    "loaded\n");
	}
	fprintf(stderr, "Configuration is invalid: %zu error(s).\n", n);
}

/* Loads the configuration with the same overrides the server uses. */
static int
load(const struct cli_args *a, char **envp, struct cfg_overrides *ov,
    struct cfg **cfg, struct cfg_diag *d)
{
	cli__overrides(a, envp, ov);
	cfg_diag_init(d);
	if (cfg_load(ov, cfg, d) != 0) {
		report_invalid(d);
		return CLI_EXIT_FAIL;
	}
	cfg_diag_print(d, stderr);	/* warnings only */
	return CLI_EXIT_OK;
}

/* No subcommand: load the configuration and run the server. */
static int
run_server(const struct cli_args *a, char **envp)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *cfg = NULL;
	int rc;

	if ((rc = load(a, envp, &ov, &cfg, &d)) == CLI_EXIT_OK) {
		if (strcmp(cfg_source(cfg), "environment") == 0) {
			/* Secrets taken from the environment leave it, so
			 * children and /proc/PID/environ never see them. */
			cfg_env_scrub_secrets();
		}
		rc = server_run(cfg, &ov);
	}
	cfg_free(cfg);
	cfg_diag_cleanup(&d);
	return rc;
}

/* check-config: validate, then print a short summary. */
static int
check_config(const struct cli_args *a, char **envp)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *cfg = NULL;
	const char *ssh = NULL, *socks = NULL;
	struct net_tls_ctx *tls = NULL;
	char err[512];
	int rc;

	if ((rc = load(a, envp, &ov, &cfg, &d)) == CLI_EXIT_OK &&
	    cfg->server.socks5_tls_cert != NULL) {
		/* Prove the pair loads, as the server will at start-up. */
		if (net_tls_ctx_new(cfg->server.socks5_tls_cert,
		    cfg->server.socks5_tls_key, &tls, err, sizeof(err)) != 0)
			rc = cli__error("server.socks5_tls_cert: %s", err);
		net_tls_ctx_free(tls);
	}
	if (rc == CLI_EXIT_OK) {
		ssh = cfg_ssh_listen(cfg);
		socks = cfg_socks5_listen(cfg);
		printf("Configuration is valid.\n  source: %s\n  ssh: %s\n"
		    "  socks5: %s\n  users: %zu\n", cfg_source(cfg),
		    ssh ? ssh : "disabled", socks ? socks : "disabled",
		    cfg_user_count(cfg));
	}
	cfg_free(cfg);
	cfg_diag_cleanup(&d);
	return rc;
}

/* show-config: the effective configuration, redacted, to stdout. */
static int
show_config(const struct cli_args *a, char **envp)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *cfg = NULL;
	const char *fmt = cli__opt(a, "format");
	int rc;

	if ((rc = load(a, envp, &ov, &cfg, &d)) == CLI_EXIT_OK &&
	    cfg_dump(cfg, fmt != NULL && strcmp(fmt, "json") == 0 ?
	    CFG_FMT_JSON : CFG_FMT_TOML, 1, stdout) != 0) {
		rc = cli__error("cannot write the configuration");
	}
	cfg_free(cfg);
	cfg_diag_cleanup(&d);
	return rc;
}

/* Runs the parsed subcommand; returns the exit code. */
static int
dispatch(const struct cli_args *a, char **envp)
{
	if (a->cmd == NULL) {
		return run_server(a, envp);
	}
	switch (a->cmd->id) {
	case CLI_CMD_CHECK_CONFIG:
		return check_config(a, envp);
	case CLI_CMD_SHOW_CONFIG:
		return show_config(a, envp);
	case CLI_CMD_HASH_PASSWORD:
		return cli__cmd_hash_password(a, envp);
	case CLI_CMD_QUICK_START:
		return cli__cmd_quick_start(a, envp);
	case CLI_CMD_INIT:
		return cli__cmd_init(a);
	case CLI_CMD_GENERATE_TOTP:
		return cli__cmd_generate_totp(a);
	case CLI_CMD_HEALTH_CHECK:
		return cli__cmd_health_check(a);
	case CLI_CMD_SSH_CONFIG:
		return cli__cmd_ssh_config(a);
	case CLI_CMD_COMPLETIONS:
		return cli__completions(a->pos[0], stdout) == 0 ?
		    CLI_EXIT_OK : cli__usage(a->cmd, "unsupported shell");
	case CLI_CMD_MANPAGE:
		cli__manpage(stdout);
		return CLI_EXIT_OK;
	case CLI_CMD_HELP:
		if (a->npos == 1) {
			cli__print_cmd_help(cli__find_cmd(a->pos[0]), stdout);
		} else {
			cli__print_help(stdout);
		}
		return CLI_EXIT_OK;
	}
	return CLI_EXIT_FAIL;
}

int
cli_main(int argc, char **argv, char **envp)
{
	struct cli_args a;
	int rc;

	if (cli__parse(argc, argv, envp, &a) != 0) {
		rc = cli__usage(a.cmd, "%s", a.err);
	} else if (a.version) {
		printf("sks5 %s\n", SKS5_VERSION);
		rc = CLI_EXIT_OK;
	} else if (a.help && a.cmd != NULL) {
		cli__print_cmd_help(a.cmd, stdout);
		rc = CLI_EXIT_OK;
	} else if (a.help) {
		cli__print_help(stdout);
		rc = CLI_EXIT_OK;
	} else {
		rc = dispatch(&a, envp);
	}
	cli__args_cleanup(&a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "Error: cannot write to standard output\n");
		rc = CLI_EXIT_FAIL;
	}
	return rc;
}

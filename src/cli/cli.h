/* Command-line interface: global options, subcommands, exit codes. */
#ifndef SKS5_CLI_CLI_H
#define SKS5_CLI_CLI_H

/* The program version, printed by `sks5 --version` and the man page. */
#include "core/version.h"

/* Exit codes. */
#define CLI_EXIT_OK	0
#define CLI_EXIT_FAIL	1	/* runtime error, invalid config, failed check */
#define CLI_EXIT_USAGE	2	/* unknown flag, missing argument, bad value */

/*
 * Runs the program with the process arguments and environment; returns the
 * exit code. May overwrite argv strings that hold a password so they leave
 * the process list.
 */
int	cli_main(int argc, char **argv, char **envp);

#endif /* SKS5_CLI_CLI_H */

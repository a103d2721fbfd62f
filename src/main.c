/* Program entry: everything happens in the CLI module. */
#include "cli/cli.h"

int
main(int argc, char **argv, char **envp)
{
	return cli_main(argc, argv, envp);
}

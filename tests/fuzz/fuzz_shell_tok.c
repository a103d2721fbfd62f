/*
 * libFuzzer target for the tokenizer and the commands: the input is
 * split into words (checking that no word is longer than the input and
 * the count stays bounded), then run as an exec command line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_shell_common.h"
#include "shell/shell_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shell_argv a;
	size_t i, total = 0;
	char *line = NULL;
	int r, st;

	r = shell__tokenize((const char *)data, size, &a);
	if (r != 0 && r != ERR_TOO_LARGE) {
		abort();
	}
	if (a.n > SHELL_MAX_ARGS || (r != 0 && a.n != 0)) {
		abort();
	}
	for (i = 0; i < a.n; i++) {
		if (strlen(a.v[i]) > size) {
			abort();
		}
	}
	shell__argv_free(&a);
	if (size > SHELL_LINE_MAX) {
		return 0;
	}
	line = malloc(size + 1);
	if (line == NULL) {
		return 0;
	}
	memcpy(line, data, size);
	line[size] = '\0';
	st = shell_exec(fz_ctx(), line, fz_write, &total);
	if (st < 0 || st > 255) {
		abort();
	}
	free(line);
	return 0;
}

/*
 * libFuzzer target for the line editor and everything a typed line can
 * reach: byte 0 picks the terminal width, byte 1 the size of the reads,
 * the rest is fed to an interactive session as raw terminal input.
 * Checks the editor's invariants after every read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_shell_common.h"
#include "shell/shell_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct shell_ctx *x = fz_ctx();
	struct shell *sh = NULL;
	size_t total = 0, chunk, off = 2, n;
	unsigned cols;

	if (size < 2) {
		return 0;
	}
	cols = (unsigned)data[0] % 200 + 1;
	chunk = (size_t)data[1] % 16 + 1;
	sh = shell_new(x, cols, 24, fz_write, &total);
	shell_start(sh);
	while (off < size && !shell_done(sh)) {
		n = size - off < chunk ? size - off : chunk;
		if (shell_input(sh, data + off, n) < 0) {
			abort();
		}
		if (sh->line.len > SHELL_LINE_MAX ||
		    sh->line.cur > sh->line.len ||
		    sh->line.text[sh->line.len] != '\0') {
			abort();
		}
		off += n;
		if (data[off - 1] == 0xfe) {
			shell_resize(sh, (unsigned)data[off - 1] % 50 + 1, 0);
		}
	}
	shell_free(sh);
	return 0;
}

/*
 * libFuzzer target for the TOML parser: any input must either parse or be
 * refused with a message, without crashing, leaking or reading out of
 * bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/toml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses one input and frees whatever came out. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_value *root = NULL;
	char err[256];
	int r;

	r = toml_parse((const char *)data, size, "fuzz", &root, err,
	    sizeof(err));
	if (r == 0 && root == NULL) {
		__builtin_trap();
	}
	if (r != 0 && (root != NULL || strchr(err, ':') == NULL)) {
		__builtin_trap();
	}
	toml_free(root);
	return 0;
}

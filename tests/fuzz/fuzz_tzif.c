/*
 * libFuzzer target for the zone file parser (policy/tzif.c): any input
 * must parse or be refused without crashing or reading out of bounds; a
 * parsed zone answers offset queries at its transitions and around them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tzif.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = NULL;
	struct tz z;
	size_t i;

	if (size > TZ_MAX_FILE)
		return 0;
	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(size > 0 ? size : 1);
	memcpy(copy, data, size);
	if (tz_parse(copy, size, &z) == 0) {
		for (i = 0; i < z.n && i < 64; i++) {
			(void)tz_offset(&z, z.times[i] - 1);
			(void)tz_offset(&z, z.times[i]);
		}
		(void)tz_offset(&z, INT64_MIN);
		(void)tz_offset(&z, INT64_MAX);
		tz_cleanup(&z);
	}
	free(copy);
	return 0;
}

/*
 * libFuzzer target for the webhook body renderer: the first byte picks
 * the format, the input up to the first NUL is the custom template and
 * the rest the audit line (any bytes; usually not JSON). Whatever is
 * rendered must be the length it says; generic, Slack and Discord bodies
 * must be JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/util.h"
#include "obs/webhook.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = NULL;
	char *tpl = NULL, *line = NULL, *out = NULL, *sum = NULL;
	size_t len = 0;
	json_t *j = NULL;
	int fmt;

	if (size < 1)
		return 0;
	fmt = data[0] % 4;
	data++;
	size--;
	nul = memchr(data, 0, size);
	if (nul == NULL) {
		tpl = xstrdup("{event_type} {username} {summary} {data_json}");
		line = xstrndup((const char *)data, size);
	} else {
		tpl = xstrndup((const char *)data, (size_t)(nul - data));
		line = xstrndup((const char *)nul + 1,
		    size - (size_t)(nul - data) - 1);
	}
	out = webhook_render(fmt, tpl, line, &len);
	if (out != NULL) {
		if (strlen(out) != len)
			abort();
		if (fmt != WEBHOOK_CUSTOM) {
			if ((j = json_loads(out, 0, NULL)) == NULL)
				abort();
			json_decref(j);
		}
	}
	sum = webhook_summary(line);
	free(sum);
	free(out);
	free(tpl);
	free(line);
	return 0;
}

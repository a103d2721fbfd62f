/* Unit tests for the stream event subscribers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "policy/events.h"

static char order[32];
static size_t norder;

static void
hook(const struct stream_event *ev, void *arg)
{
	const char *tag = arg;

	assert_string_equal(ev->proto, "socks5");
	assert_int_equal(ev->port, 443);
	if (norder < sizeof(order) - 1)
		order[norder++] = tag[0];
}

static void
test_emit_order_and_limit(void **state)
{
	static char tags[STREAM_HOOKS_MAX + 1][2];
	struct stream_event ev;
	int i;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.proto = "socks5";
	ev.user = "alice";
	ev.host = "example.test";
	ev.port = 443;
	stream_hooks_clear();
	stream_emit(&ev);		/* nobody listening: nothing happens */
	assert_int_equal(stream_hook_add(NULL, NULL), -1);
	for (i = 0; i < STREAM_HOOKS_MAX; i++) {
		tags[i][0] = (char)('a' + i);
		assert_int_equal(stream_hook_add(hook, tags[i]), 0);
	}
	assert_int_equal(stream_hook_add(hook, tags[0]), -1);
	stream_emit(&ev);
	order[norder] = '\0';
	assert_string_equal(order, "abcdefgh");
	stream_hooks_clear();
	norder = 0;
	stream_emit(&ev);
	assert_int_equal(norder, 0);
	assert_string_equal(stream_phase_str(STREAM_START), "start");
	assert_string_equal(stream_phase_str(STREAM_END), "end");
	assert_string_equal(stream_phase_str(STREAM_REFUSED), "refused");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emit_order_and_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

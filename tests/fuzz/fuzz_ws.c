/*
 * libFuzzer target for the WebSocket receiver (admin/ws_wire.c). The
 * input is what a client sent after the handshake. It is fed the way the
 * server does (all bytes at once, one frame per call), then again one
 * byte more at a time; both runs must see the same events, and every
 * message must respect the size limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ws_wire.h"
#include "core/err.h"

#define MAX_FRAME	4096
#define MAX_MSG		8192
#define MAX_EVENTS	256

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
	int	ev[MAX_EVENTS];
	size_t	len[MAX_EVENTS];
	int	n;
	int	last;
};

/* Runs the receiver over data, growing the visible window by step. */
static void
run(const uint8_t *data, size_t size, size_t step, struct trace *t)
{
	struct ws_rx rx;
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t off = 0, avail = step, used, mlen;
	int r = 0;

	memset(t, 0, sizeof(*t));
	ws_rx_init(&rx, MAX_FRAME, MAX_MSG);
	while (off < size && t->n < MAX_EVENTS) {
		if (avail > size - off)
			avail = size - off;
		r = ws_rx_feed(&rx, data + off, avail, &used, &ev, &msg,
		    &mlen);
		if (r == ERR_INCOMPLETE) {
			if (off + avail >= size)
				break;
			avail += step;
			continue;
		}
		if (r != 0)
			break;
		if (used == 0 || used > avail)
			abort();
		if ((ev == WS_EV_TEXT || ev == WS_EV_BINARY) && mlen > MAX_MSG)
			abort();
		if (ev == WS_EV_TEXT && !ws_utf8_ok(msg, mlen))
			abort();
		if (mlen > 0)
			(void)msg[mlen - 1];	/* readable */
		t->ev[t->n] = (int)ev;
		t->len[t->n] = mlen;
		t->n++;
		off += used;
		avail = step;
	}
	t->last = r;
	ws_rx_cleanup(&rx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace a, b;

	run(data, size, size == 0 ? 1 : size, &a);
	if (size <= 4096) {
		run(data, size, 1, &b);
		if (a.n != b.n || a.last != b.last ||
		    memcmp(a.ev, b.ev, sizeof(a.ev)) != 0 ||
		    memcmp(a.len, b.len, sizeof(a.len)) != 0)
			abort();
	}
	return 0;
}

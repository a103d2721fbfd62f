/* Unit tests for the WebSocket wire code (admin/ws_wire.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "admin/ws_wire.h"
#include "core/err.h"

#define MAXF	1024
#define MAXM	4096

/* Builds a client frame (masked unless mask == 0) into out; its length. */
static size_t
frame(unsigned char *out, int b0, int mask, const void *payload, size_t n,
    int lenform)
{
	static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const unsigned char *p = payload;
	size_t h = 2, i;

	out[0] = (unsigned char)b0;
	if (lenform == 7 || (lenform == 0 && n < 126))
		out[1] = (unsigned char)n;
	else if (lenform == 16 || (lenform == 0 && n <= 0xffff)) {
		out[1] = 126;
		out[2] = (unsigned char)(n >> 8);
		out[3] = (unsigned char)n;
		h = 4;
	} else {
		out[1] = 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		h = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + h, key, 4);
		h += 4;
	}
	for (i = 0; i < n; i++)
		out[h + i] = p[i] ^ (mask ? key[i & 3] : 0);
	return h + n;
}

/* Feeds one buffer; returns the code, with the outputs. */
static int
feed(struct ws_rx *rx, const unsigned char *b, size_t n, size_t *used,
    enum ws_ev *ev, const unsigned char **msg, size_t *mlen)
{
	return ws_rx_feed(rx, b, n, used, ev, msg, mlen);
}

static void
test_accept_key(void **state)
{
	char out[WS_ACCEPT_LEN];

	(void)state;
	/* RFC 6455 section 1.3. */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key("short", out), ERR_PROTO);
	assert_int_equal(ws_accept_key(NULL, out), ERR_PROTO);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=!", out),
	    ERR_PROTO);
	/* 24 characters that decode to 17 bytes or fewer than 16. */
	assert_int_equal(ws_accept_key("AAAAAAAAAAAAAAAAAAAAAAAA", out),
	    ERR_PROTO);
}

static void
test_frame_hdr(void **state)
{
	unsigned char h[WS_HDR_MAX];

	(void)state;
	assert_int_equal(ws_frame_hdr(h, WS_OP_TEXT, 5), 2);
	assert_int_equal(h[0], 0x81);
	assert_int_equal(h[1], 5);
	assert_int_equal(ws_frame_hdr(h, WS_OP_TEXT, 125), 2);
	assert_int_equal(ws_frame_hdr(h, WS_OP_BINARY, 126), 4);
	assert_int_equal(h[1], 126);
	assert_int_equal(h[2], 0);
	assert_int_equal(h[3], 126);
	assert_int_equal(ws_frame_hdr(h, WS_OP_TEXT, 65535), 4);
	assert_int_equal(ws_frame_hdr(h, WS_OP_TEXT, 65536), 10);
	assert_int_equal(h[1], 127);
	assert_int_equal(h[7], 1);
	assert_int_equal(h[8], 0);
	assert_int_equal(ws_frame_hdr(h, WS_OP_CLOSE, 2), 2);
	assert_int_equal(h[0], 0x88);
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(ws_utf8_ok((const unsigned char *)"plain", 5));
	assert_true(ws_utf8_ok((const unsigned char *)"\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80", 9));
	assert_false(ws_utf8_ok((const unsigned char *)"\xc0\xaf", 2));
	assert_false(ws_utf8_ok((const unsigned char *)"\xed\xa0\x80", 3));
	assert_false(ws_utf8_ok((const unsigned char *)"\xf4\x90\x80\x80", 4));
	assert_false(ws_utf8_ok((const unsigned char *)"\xe2\x82", 2));
	assert_false(ws_utf8_ok((const unsigned char *)"\xff", 1));
	assert_false(ws_utf8_ok((const unsigned char *)"\x80", 1));
}

static void
test_single_messages(void **state)
{
	struct ws_rx rx;
	unsigned char b[80000], big[70000];
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t n, used, mlen;

	(void)state;
	ws_rx_init(&rx, sizeof(big), sizeof(big));
	n = frame(b, 0x81, 1, "Hello", 5, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(used, n);
	assert_int_equal(ev, WS_EV_TEXT);
	assert_int_equal(mlen, 5);
	assert_memory_equal(msg, "Hello", 5);
	/* Empty text, empty binary. */
	n = frame(b, 0x81, 1, "", 0, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_TEXT);
	assert_int_equal(mlen, 0);
	n = frame(b, 0x82, 1, "", 0, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_BINARY);
	/* 16-bit and 64-bit lengths. */
	memset(big, 'x', sizeof(big));
	n = frame(b, 0x82, 1, big, 300, 0);
	assert_int_equal(b[1] & 0x7f, 126);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(mlen, 300);
	n = frame(b, 0x81, 1, big, 70000, 0);
	assert_int_equal(b[1] & 0x7f, 127);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(mlen, 70000);
	assert_int_equal(msg[69999], 'x');
	/* Two frames in one buffer: one at a time. */
	n = frame(b, 0x89, 1, "p", 1, 0);
	n += frame(b + n, 0x8a, 1, "q", 1, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_PING);
	assert_int_equal(used, 7);
	assert_int_equal(msg[0], 'p');
	assert_int_equal(feed(&rx, b + used, n - used, &used, &ev, &msg,
	    &mlen), 0);
	assert_int_equal(ev, WS_EV_PONG);
	ws_rx_cleanup(&rx);
}

static void
test_fragments(void **state)
{
	struct ws_rx rx;
	unsigned char b[256];
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t n, used, mlen;

	(void)state;
	ws_rx_init(&rx, MAXF, MAXM);
	n = frame(b, 0x01, 1, "Hel", 3, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_NONE);
	/* A ping between fragments is fine. */
	n = frame(b, 0x89, 1, "", 0, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_PING);
	n = frame(b, 0x00, 1, "l", 1, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_NONE);
	n = frame(b, 0x80, 1, "o", 1, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_TEXT);
	assert_int_equal(mlen, 5);
	assert_memory_equal(msg, "Hello", 5);
	/* A UTF-8 sequence split across fragments is valid. */
	n = frame(b, 0x01, 1, "\xe2\x82", 2, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	n = frame(b, 0x80, 1, "\xac", 1, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_TEXT);
	ws_rx_cleanup(&rx);
}

/* Feeds a single hostile buffer to a fresh receiver; returns the code. */
static int
hostile(const unsigned char *b, size_t n, int *close_code)
{
	struct ws_rx rx;
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t used, mlen;
	int r;

	ws_rx_init(&rx, MAXF, MAXM);
	r = feed(&rx, b, n, &used, &ev, &msg, &mlen);
	*close_code = rx.error;
	ws_rx_cleanup(&rx);
	return r;
}

static void
test_hostile_frames(void **state)
{
	unsigned char b[2048], big[2000];
	int code = 0;
	size_t n;

	(void)state;
	memset(big, 'a', sizeof(big));
	/* Unmasked client frame. */
	n = frame(b, 0x81, 0, "hi", 2, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	assert_int_equal(code, WS_CLOSE_PROTOCOL);
	/* RSV bits without an extension. */
	n = frame(b, 0xc1, 1, "hi", 2, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x91, 1, "hi", 2, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	/* Reserved opcodes. */
	n = frame(b, 0x83, 1, "", 0, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x8b, 1, "", 0, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	/* Fragmented control frame; control frame over 125 bytes. */
	n = frame(b, 0x09, 1, "x", 1, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x89, 1, big, 126, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	/* Continuation with nothing open. */
	n = frame(b, 0x80, 1, "x", 1, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	/* Non-minimal lengths. */
	n = frame(b, 0x81, 1, "abc", 3, 16);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x81, 1, big, 200, 64);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	/* 64-bit length with the top bit set. */
	memcpy(b, "\x81\xff\x80\0\0\0\0\0\0\x05", 10);
	assert_int_equal(hostile(b, 10, &code), ERR_PROTO);
	/* Huge 64-bit length: refused from the header alone. */
	memcpy(b, "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff", 10);
	assert_int_equal(hostile(b, 10, &code), ERR_TOO_LARGE);
	assert_int_equal(code, WS_CLOSE_TOO_BIG);
	memcpy(b, "\x82\xff\0\0\0\x01\0\0\0\0", 10);
	assert_int_equal(hostile(b, 10, &code), ERR_TOO_LARGE);
	/* Frame over max_frame. */
	n = frame(b, 0x82, 1, big, MAXF + 1, 0);
	assert_int_equal(hostile(b, n, &code), ERR_TOO_LARGE);
	/* Invalid UTF-8 text. */
	n = frame(b, 0x81, 1, "\xc0\x80", 2, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	assert_int_equal(code, WS_CLOSE_BAD_DATA);
	/* Close frames: 1 byte, bad codes, bad reason. */
	n = frame(b, 0x88, 1, "\x03", 1, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x88, 1, "\x03\xec", 2, 0);	/* 1004 */
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x88, 1, "\x03\xed", 2, 0);	/* 1005 */
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x88, 1, "\x13\x88", 2, 0);	/* 5000 */
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	n = frame(b, 0x88, 1, "\x03\xe8\xff", 3, 0);
	assert_int_equal(hostile(b, n, &code), ERR_PROTO);
	assert_int_equal(code, WS_CLOSE_BAD_DATA);
}

static void
test_close_and_sequences(void **state)
{
	struct ws_rx rx;
	unsigned char b[9000];
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t n, used, mlen, i;

	(void)state;
	ws_rx_init(&rx, MAXF, MAXM);
	n = frame(b, 0x88, 1, "\x03\xe8" "bye", 5, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(ev, WS_EV_CLOSE);
	assert_int_equal(rx.close_code, 1000);
	n = frame(b, 0x88, 1, "", 0, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	assert_int_equal(rx.close_code, 1005);
	/* A new data frame while a message is open. */
	n = frame(b, 0x01, 1, "a", 1, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
	n = frame(b, 0x81, 1, "b", 1, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), ERR_PROTO);
	/* Once failed, every call fails. */
	n = frame(b, 0x89, 1, "", 0, 0);
	assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), ERR_PROTO);
	ws_rx_cleanup(&rx);
	/* Fragments adding up past max_msg. */
	ws_rx_init(&rx, MAXF, MAXM);
	memset(b, 'z', sizeof(b));
	for (i = 0; i < 4; i++) {
		unsigned char f[MAXF + 20];

		n = frame(f, i == 0 ? 0x01 : 0x00, 1, b, MAXF, 0);
		assert_int_equal(feed(&rx, f, n, &used, &ev, &msg, &mlen), 0);
	}
	{
		unsigned char f[20];

		n = frame(f, 0x80, 1, "z", 1, 0);
		assert_int_equal(feed(&rx, f, n, &used, &ev, &msg, &mlen),
		    ERR_TOO_LARGE);
		assert_int_equal(rx.error, WS_CLOSE_TOO_BIG);
	}
	ws_rx_cleanup(&rx);
}

/* Every truncation of a valid frame is ERR_INCOMPLETE and consumes 0. */
static void
test_truncation(void **state)
{
	struct ws_rx rx;
	unsigned char b[400], p[300];
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t n, k, used, mlen;
	const size_t sizes[] = { 0, 5, 125, 126, 300 };
	size_t s;

	(void)state;
	memset(p, 'q', sizeof(p));
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		n = frame(b, 0x82, 1, p, sizes[s], 0);
		for (k = 0; k < n; k++) {
			ws_rx_init(&rx, MAXF, MAXM);
			assert_int_equal(feed(&rx, b, k, &used, &ev, &msg,
			    &mlen), ERR_INCOMPLETE);
			assert_int_equal(used, 0);
			ws_rx_cleanup(&rx);
		}
		ws_rx_init(&rx, MAXF, MAXM);
		assert_int_equal(feed(&rx, b, n, &used, &ev, &msg, &mlen), 0);
		assert_int_equal(mlen, sizes[s]);
		ws_rx_cleanup(&rx);
	}
}

/* Frames that end right before an unreadable page are parsed safely. */
static void
test_guard_page(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *map = NULL, b[64];
	struct ws_rx rx;
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t n, k, used, mlen;
	int r;

	(void)state;
	map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
	n = frame(b, 0x81, 1, "guarded text", 12, 0);
	for (k = 0; k <= n; k++) {
		memcpy(map + pg - k, b, k);
		ws_rx_init(&rx, MAXF, MAXM);
		r = feed(&rx, map + pg - k, k, &used, &ev, &msg, &mlen);
		assert_int_equal(r, k == n ? 0 : ERR_INCOMPLETE);
		ws_rx_cleanup(&rx);
	}
	munmap(map, (size_t)pg * 2);
}

/* Flipping any bit of valid frames never crashes and never over-reads. */
static void
test_bitflips(void **state)
{
	struct ws_rx rx;
	unsigned char b[200], m[200];
	const unsigned char *msg = NULL;
	enum ws_ev ev;
	size_t n, i, used, mlen, off;
	int bit, r;

	(void)state;
	n = frame(b, 0x01, 1, "frag", 4, 0);
	n += frame(b + n, 0x89, 1, "ping", 4, 0);
	n += frame(b + n, 0x80, 1, "ment", 4, 0);
	n += frame(b + n, 0x88, 1, "\x03\xe8", 2, 0);
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(m, b, n);
			m[i] ^= (unsigned char)(1 << bit);
			ws_rx_init(&rx, MAXF, MAXM);
			off = 0;
			while (off < n) {
				r = feed(&rx, m + off, n - off, &used, &ev,
				    &msg, &mlen);
				if (r != 0)
					break;
				assert_true(used > 0 && used <= n - off);
				if (ev == WS_EV_TEXT || ev == WS_EV_BINARY)
					assert_true(mlen <= MAXM);
				off += used;
			}
			ws_rx_cleanup(&rx);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_frame_hdr),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_single_messages),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_hostile_frames),
		cmocka_unit_test(test_close_and_sequences),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_guard_page),
		cmocka_unit_test(test_bitflips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

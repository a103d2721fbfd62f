/*
 * libFuzzer target for the SOCKS5 stream parsers. The input is what a
 * client sent on the TCP connection; it is parsed the way the server
 * does (greeting, then RFC 1929, then the request, over and over) until
 * a parser needs more bytes or rejects the input. Each run starts once
 * at every state, and once more with the bytes arriving one at a time,
 * which must give exactly the same sequence of messages.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "socks5/socks5_wire.h"

#define MAX_STEPS	64
#define BYTEWISE_MAX	2048

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum state {
	ST_GREETING,
	ST_USERPASS,
	ST_REQUEST,
	ST_COUNT,
};

/* The messages one run consumed, and how it ended. */
struct trace {
	size_t	consumed[MAX_STEPS];
	int	nsteps;
	int	last;
};

/* Checks a parsed request the way the server would use it. */
static void
use_request(const struct socks5_request *r)
{
	char host[256];
	uint16_t port;

	if (socks5_request_target(r, host, sizeof(host), &port) != 0) {
		abort();
	}
	if (r->atyp == SOCKS5_ATYP_DOMAIN &&
	    (strlen(host) != r->hostlen || r->hostlen == 0)) {
		abort();
	}
	if (r->atyp_unsupported) {
		abort();
	}
}

/* Runs one parser; returns its result and keeps the invariants. */
static int
step(struct buf *b, enum state st, struct trace *t)
{
	struct socks5_greeting g;
	struct socks5_userpass up;
	struct socks5_request req;
	size_t before = buf_len(b);
	int r;

	switch (st) {
	case ST_GREETING:
		r = socks5_parse_greeting(b, &g);
		if (r == 0 && (g.nmethods == 0 ||
		    socks5_greeting_has(&g, g.methods[0]) != 1)) {
			abort();
		}
		break;
	case ST_USERPASS:
		r = socks5_parse_userpass(b, &up);
		if (r == 0 && (strlen(up.user) != up.ulen ||
		    strlen(up.pass) != up.plen || up.ulen == 0)) {
			abort();
		}
		socks5_userpass_wipe(&up);
		break;
	default:
		r = socks5_parse_request(b, &req);
		if (r == 0) {
			use_request(&req);
		} else if (req.atyp_unsupported && r != ERR_PROTO) {
			abort();
		}
		break;
	}
	if (r != 0 && buf_len(b) != before) {
		abort();	/* a failed parse consumed bytes */
	}
	if (r == 0) {
		if (buf_len(b) >= before) {
			abort();
		}
		if (t->nsteps < MAX_STEPS) {
			t->consumed[t->nsteps] = before - buf_len(b);
		}
		t->nsteps++;
	} else if (r != ERR_INCOMPLETE && r != ERR_PROTO) {
		abort();
	}
	return r;
}

/* Parses from the current state until a parser fails. */
static int
drain(struct buf *b, enum state *st, struct trace *t)
{
	int r;

	while ((r = step(b, *st, t)) == 0) {
		*st = (enum state)((*st + 1) % ST_COUNT);
	}
	return r;
}

/* Parses the whole input, given at once or one byte at a time. */
static void
run(const uint8_t *data, size_t size, enum state st, int bytewise,
    struct trace *t)
{
	struct buf b;
	size_t i;
	int r = ERR_INCOMPLETE;

	memset(t, 0, sizeof(*t));
	buf_init(&b, size + 1);
	if (!bytewise) {
		if (size > 0 && buf_put(&b, data, size) != 0) {
			abort();
		}
		r = drain(&b, &st, t);
	} else {
		for (i = 0; i < size && r != ERR_PROTO; i++) {
			if (buf_put(&b, data + i, 1) != 0) {
				abort();
			}
			r = drain(&b, &st, t);
		}
		if (size == 0) {
			r = drain(&b, &st, t);
		}
	}
	t->last = r;
	buf_cleanup(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace whole, bytes;
	int st;

	for (st = 0; st < ST_COUNT; st++) {
		run(data, size, (enum state)st, 0, &whole);
	}
	if (size <= BYTEWISE_MAX) {
		run(data, size, ST_GREETING, 0, &whole);
		run(data, size, ST_GREETING, 1, &bytes);
		if (whole.nsteps != bytes.nsteps || whole.last != bytes.last ||
		    memcmp(whole.consumed, bytes.consumed,
		    sizeof(whole.consumed)) != 0) {
			abort();
		}
	}
	return 0;
}

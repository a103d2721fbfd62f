/* Unit tests for the SOCKS5 / RFC 1929 wire layer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "socks5/socks5_wire.h"

#define BUF_MAX		65536

enum kind {
	K_GREETING,
	K_USERPASS,
	K_REQUEST,
};

union parsed {
	struct socks5_greeting	g;
	struct socks5_userpass	u;
	struct socks5_request	r;
};

/* One valid message for the table-driven tests. */
struct msg {
	enum kind		 kind;
	const unsigned char	*p;
	size_t			 n;
};

static const unsigned char greet_none[] = { 0x05, 0x01, 0x00 };
static const unsigned char greet_two[] = { 0x05, 0x02, 0x00, 0x02 };
static const unsigned char up_alice[] = {
	0x01, 0x05, 'a', 'l', 'i', 'c', 'e',
	0x06, 's', 'e', 'c', 'r', 'e', 't',
};
static const unsigned char up_empty[] = { 0x01, 0x01, 'u', 0x00 };
static const unsigned char req_v4[] = {
	0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x50,
};
static const unsigned char req_dom[] = {
	0x05, 0x01, 0x00, 0x03, 0x0b,
	'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
	0x01, 0xbb,
};
static const unsigned char req_v6[] = {
	0x05, 0x01, 0x00, 0x04,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x00, 0x16,
};
static const unsigned char udp_v4[] = {
	0x00, 0x00, 0x00, 0x01, 10, 0, 0, 7, 0x00, 0x35, 'h', 'i',
};
static const unsigned char udp_dom[] = {
	0x00, 0x00, 0x00, 0x03, 0x03, 'a', '.', 'b', 0x30, 0x39, 'x',
};
static const unsigned char udp_v6[] = {
	0x00, 0x00, 0x00, 0x04,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0x12, 0x34,
};

/* Long messages (255-byte fields), built once by build_long(). */
static unsigned char greet_long[2 + 255];
static unsigned char up_long[3 + 255 + 255];
static unsigned char req_long[4 + 1 + 255 + 2];
static unsigned char udp_long[4 + 1 + 255 + 2];

/* Fills the long test messages. */
static void
build_long(void)
{
	size_t i;

	greet_long[0] = 0x05;
	greet_long[1] = 0xff;
	for (i = 0; i < 255; i++) {
		greet_long[2 + i] = (unsigned char)i;
	}
	up_long[0] = 0x01;
	up_long[1] = 0xff;
	memset(up_long + 2, 'u', 255);
	up_long[2 + 255] = 0xff;
	memset(up_long + 3 + 255, 'p', 255);
	memcpy(req_long, "\x05\x01\x00\x03\xff", 5);
	memset(req_long + 5, 'd', 255);
	req_long[5 + 255] = 0xff;
	req_long[5 + 256] = 0xfe;
	memcpy(udp_long, "\x00\x00\x00\x03\xff", 5);
	memset(udp_long + 5, 'e', 255);
	udp_long[5 + 255] = 0x00;
	udp_long[5 + 256] = 0x01;
}

/* Returns the table of valid stream messages. */
static size_t
valid_msgs(struct msg *m)
{
	size_t n = 0;

	build_long();
#define ADD(k, a) do { m[n].kind = (k); m[n].p = (a); \
	m[n].n = sizeof(a); n++; } while (0)
	ADD(K_GREETING, greet_none);
	ADD(K_GREETING, greet_two);
	ADD(K_GREETING, greet_long);
	ADD(K_USERPASS, up_alice);
	ADD(K_USERPASS, up_empty);
	ADD(K_USERPASS, up_long);
	ADD(K_REQUEST, req_v4);
	ADD(K_REQUEST, req_dom);
	ADD(K_REQUEST, req_v6);
	ADD(K_REQUEST, req_long);
#undef ADD
	return n;
}

/* Runs the parser for kind. */
static int
parse_kind(enum kind k, struct buf *b, union parsed *out)
{
	switch (k) {
	case K_GREETING:
		return socks5_parse_greeting(b, &out->g);
	case K_USERPASS:
		return socks5_parse_userpass(b, &out->u);
	case K_REQUEST:
	default:
		return socks5_parse_request(b, &out->r);
	}
}

/* Asserts two parse results hold the same fields. */
static void
assert_same(enum kind k, const union parsed *a, const union parsed *b)
{
	switch (k) {
	case K_GREETING:
		assert_int_equal(a->g.nmethods, b->g.nmethods);
		assert_memory_equal(a->g.methods, b->g.methods,
		    a->g.nmethods);
		break;
	case K_USERPASS:
		assert_int_equal(a->u.ulen, b->u.ulen);
		assert_int_equal(a->u.plen, b->u.plen);
		assert_string_equal(a->u.user, b->u.user);
		assert_string_equal(a->u.pass, b->u.pass);
		assert_int_equal(a->u.empty_pass, b->u.empty_pass);
		break;
	case K_REQUEST:
		assert_int_equal(a->r.cmd, b->r.cmd);
		assert_int_equal(a->r.rsv, b->r.rsv);
		assert_int_equal(a->r.atyp, b->r.atyp);
		assert_int_equal(a->r.port, b->r.port);
		assert_int_equal(a->r.hostlen, b->r.hostlen);
		assert_string_equal(a->r.host, b->r.host);
		assert_memory_equal(&a->r.addr, &b->r.addr, sizeof(a->r.addr));
		break;
	}
}

/* Appends bytes to a buffer, asserting success. */
static void
feed(struct buf *b, const void *p, size_t n)
{
	assert_int_equal(buf_put(b, p, n), 0);
}

/* Greeting vectors from RFC 1928 section 3. */
static void
test_greeting_vectors(void **state)
{
	struct buf b;
	struct socks5_greeting g;

	(void)state;
	buf_init(&b, BUF_MAX);
	feed(&b, greet_none, sizeof(greet_none));
	assert_int_equal(socks5_parse_greeting(&b, &g), 0);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(g.nmethods, 1);
	assert_int_equal(g.methods[0], SOCKS5_AUTH_NONE);
	assert_true(socks5_greeting_has(&g, SOCKS5_AUTH_NONE));
	assert_false(socks5_greeting_has(&g, SOCKS5_AUTH_USERPASS));

	feed(&b, greet_two, sizeof(greet_two));
	assert_int_equal(socks5_parse_greeting(&b, &g), 0);
	assert_int_equal(g.nmethods, 2);
	assert_true(socks5_greeting_has(&g, SOCKS5_AUTH_USERPASS));
	assert_false(socks5_greeting_has(&g, SOCKS5_AUTH_GSSAPI));

	build_long();
	feed(&b, greet_long, sizeof(greet_long));
	assert_int_equal(socks5_parse_greeting(&b, &g), 0);
	assert_int_equal(g.nmethods, 255);
	assert_int_equal(g.methods[254], 254);
	assert_false(socks5_greeting_has(&g, 0xff));
	assert_int_equal(buf_len(&b), 0);
	buf_cleanup(&b);
}

/* Parses bad bytes with kind and asserts ERR_PROTO with nothing eaten. */
static void
expect_proto(enum kind k, const void *p, size_t n)
{
	struct buf b;
	union parsed out;

	buf_init(&b, BUF_MAX);
	feed(&b, p, n);
	assert_int_equal(parse_kind(k, &b, &out), ERR_PROTO);
	assert_int_equal(buf_len(&b), n);
	assert_memory_equal(buf_ptr(&b), p, n);
	buf_cleanup(&b);
}

/* Invalid greetings. */
static void
test_greeting_invalid(void **state)
{
	(void)state;
	expect_proto(K_GREETING, "\x04\x01\x00", 3);
	expect_proto(K_GREETING, "\x04", 1);	/* fails before NMETHODS */
	expect_proto(K_GREETING, "\x00", 1);
	expect_proto(K_GREETING, "\x05\x00", 2);
	expect_proto(K_GREETING, "\x05\x00\x00\x02", 4);
}

/* RFC 1929 vectors, the empty-password flag and wiping. */
static void
test_userpass_vectors(void **state)
{
	struct buf b;
	struct socks5_userpass up;
	size_t i;
	const unsigned char *raw = NULL;
	static const unsigned char utf8[] = {
		0x01, 0x07, 'j', 0xc3, 0xbc, 'r', 'g', 'e', 'n',
		0x04, 0xf0, 0x9f, 0x94, 0x91,
	};

	(void)state;
	buf_init(&b, BUF_MAX);
	feed(&b, up_alice, sizeof(up_alice));
	raw = b.data + b.off;
	assert_int_equal(socks5_parse_userpass(&b, &up), 0);
	assert_int_equal(buf_len(&b), 0);
	assert_string_equal(up.user, "alice");
	assert_int_equal(up.ulen, 5);
	assert_string_equal(up.pass, "secret");
	assert_int_equal(up.plen, 6);
	assert_int_equal(up.empty_pass, 0);
	/* The consumed bytes were wiped in the input buffer. */
	for (i = 0; i < sizeof(up_alice); i++) {
		assert_int_equal(raw[i], 0);
	}
	socks5_userpass_wipe(&up);
	for (i = 0; i < sizeof(up); i++) {
		assert_int_equal(((unsigned char *)&up)[i], 0);
	}

	feed(&b, up_empty, sizeof(up_empty));
	assert_int_equal(socks5_parse_userpass(&b, &up), 0);
	assert_string_equal(up.user, "u");
	assert_string_equal(up.pass, "");
	assert_int_equal(up.plen, 0);
	assert_int_equal(up.empty_pass, 1);
	socks5_userpass_wipe(&up);

	build_long();
	feed(&b, up_long, sizeof(up_long));
	assert_int_equal(socks5_parse_userpass(&b, &up), 0);
	assert_int_equal(up.ulen, 255);
	assert_int_equal(up.plen, 255);
	assert_int_equal(strlen(up.user), 255);
	assert_int_equal(strlen(up.pass), 255);
	assert_int_equal(up.pass[254], 'p');
	socks5_userpass_wipe(&up);

	feed(&b, utf8, sizeof(utf8));
	assert_int_equal(socks5_parse_userpass(&b, &up), 0);
	assert_string_equal(up.user, "j\xc3\xbcrgen");
	assert_string_equal(up.pass, "\xf0\x9f\x94\x91");
	socks5_userpass_wipe(&up);
	buf_cleanup(&b);
}

/* Invalid RFC 1929 requests. */
static void
test_userpass_invalid(void **state)
{
	(void)state;
	expect_proto(K_USERPASS, "\x05\x01u\x01p", 5);	/* VER 5 */
	expect_proto(K_USERPASS, "\x02", 1);
	expect_proto(K_USERPASS, "\x01\x00\x01p", 4);	/* ULEN 0 */
	expect_proto(K_USERPASS, "\x01\x00", 2);
	expect_proto(K_USERPASS, "\x01\x03u\x00v\x01p", 7);	/* NUL */
	expect_proto(K_USERPASS, "\x01\x03u\x00v", 5);	/* before PLEN */
	expect_proto(K_USERPASS, "\x01\x01u\x03p\x00q", 7);	/* NUL pass */
	expect_proto(K_USERPASS, "\x01\x02\xc3\x28\x01p", 6);	/* bad UTF-8 */
	expect_proto(K_USERPASS, "\x01\x02\xc0\xaf\x01p", 6);	/* overlong */
	expect_proto(K_USERPASS, "\x01\x03\xed\xa0\x80\x01p", 7); /* surr. */
	expect_proto(K_USERPASS, "\x01\x04\xf4\x90\x80\x80\x01p", 8);
	expect_proto(K_USERPASS, "\x01\x01\xc3\x01p", 5);	/* cut seq */
	expect_proto(K_USERPASS, "\x01\x02u\n\x01p", 6);	/* control */
	expect_proto(K_USERPASS, "\x01\x02u\x7f\x01p", 6);	/* DEL */
	expect_proto(K_USERPASS, "\x01\x01u\x02\xff\xfe", 6);	/* pass */
}

/* Request vectors: each ATYP, each command, RSV tolerance. */
static void
test_request_vectors(void **state)
{
	struct buf b;
	struct socks5_request r;
	char host[64];
	uint16_t port;
	unsigned char m[sizeof(req_v4)];
	int cmd;

	(void)state;
	buf_init(&b, BUF_MAX);
	feed(&b, req_v4, sizeof(req_v4));
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(r.port, 80);
	assert_int_equal(ntohl(r.addr.v4.s_addr), 0x7f000001);
	assert_int_equal(r.atyp_unsupported, 0);
	assert_int_equal(socks5_request_target(&r, host, sizeof(host), &port),
	    0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 80);

	feed(&b, req_dom, sizeof(req_dom));
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_int_equal(r.atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.hostlen, 11);
	assert_int_equal(r.port, 443);
	assert_int_equal(socks5_request_target(&r, host, sizeof(host), &port),
	    0);
	assert_string_equal(host, "example.com");
	assert_int_equal(port, 443);

	feed(&b, req_v6, sizeof(req_v6));
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_int_equal(r.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(r.port, 22);
	assert_int_equal(socks5_request_target(&r, host, sizeof(host), &port),
	    0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 22);

	/* Every CMD value parses; the server decides what to support. */
	for (cmd = 0; cmd < 256; cmd++) {
		memcpy(m, req_v4, sizeof(m));
		m[1] = (unsigned char)cmd;
		m[2] = (unsigned char)(255 - cmd);	/* RSV: recorded */
		feed(&b, m, sizeof(m));
		assert_int_equal(socks5_parse_request(&b, &r), 0);
		assert_int_equal(r.cmd, cmd);
		assert_int_equal(r.rsv, 255 - cmd);
		assert_int_equal(buf_len(&b), 0);
	}

	/* UTF-8 domains pass; hostname rules are the caller's job. */
	feed(&b, "\x05\x01\x00\x03\x05\xc3\xa9t\xc3\xa9\x00\x01", 12);
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_string_equal(r.host, "\xc3\xa9t\xc3\xa9");
	assert_int_equal(r.port, 1);
	buf_cleanup(&b);
}

/* Parses a bad request and returns the atyp_unsupported flag. */
static int
bad_request_flag(const void *p, size_t n)
{
	struct buf b;
	struct socks5_request r;

	buf_init(&b, BUF_MAX);
	feed(&b, p, n);
	assert_int_equal(socks5_parse_request(&b, &r), ERR_PROTO);
	assert_int_equal(buf_len(&b), n);
	buf_cleanup(&b);
	return r.atyp_unsupported;
}

/* Invalid requests, and which of them ask for reply 0x08. */
static void
test_request_invalid(void **state)
{
	unsigned char m[4] = { 0x05, 0x03, 0x00, 0x00 };
	int atyp;

	(void)state;
	assert_int_equal(bad_request_flag("\x04\x01\x00\x01\x7f\0\0\1\0P",
	    10), 0);
	assert_int_equal(bad_request_flag("\x04", 1), 0);
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x00\x00\x50", 7),
	    0);
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x00", 5), 0);
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x03"
	    "a\x00" "b\x00\x50", 10), 0);
	/* Rejected as soon as the name is in, before the port. */
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x03" "a\x00" "b",
	    8), 0);
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x03" "a\rb\0P",
	    10), 0);
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x02\xff\xfe\0P",
	    9), 0);
	assert_int_equal(bad_request_flag("\x05\x01\x00\x03\x01\x80\0P", 8),
	    0);

	for (atyp = 0; atyp < 256; atyp++) {
		if (atyp == SOCKS5_ATYP_IPV4 || atyp == SOCKS5_ATYP_IPV6 ||
		    atyp == SOCKS5_ATYP_DOMAIN) {
			continue;
		}
		m[3] = (unsigned char)atyp;
		/* Known from the fourth byte on, whatever follows. */
		assert_int_equal(bad_request_flag(m, sizeof(m)), 1);
	}
}

/*
 * Every proper prefix of every valid message is ERR_INCOMPLETE with the
 * buffer untouched; feeding the message byte by byte then yields the
 * same result as parsing it whole.
 */
static void
test_truncation(void **state)
{
	struct msg m[16];
	size_t nm, i, k;
	struct buf b;
	union parsed whole, part;

	(void)state;
	nm = valid_msgs(m);
	for (i = 0; i < nm; i++) {
		buf_init(&b, BUF_MAX);
		feed(&b, m[i].p, m[i].n);
		assert_int_equal(parse_kind(m[i].kind, &b, &whole), 0);
		assert_int_equal(buf_len(&b), 0);
		for (k = 0; k < m[i].n; k++) {
			buf_reset(&b);
			feed(&b, m[i].p, k);
			assert_int_equal(parse_kind(m[i].kind, &b, &part),
			    ERR_INCOMPLETE);
			assert_int_equal(buf_len(&b), k);
			if (k > 0) {
				assert_memory_equal(buf_ptr(&b), m[i].p, k);
			}
		}
		buf_reset(&b);
		for (k = 0; k < m[i].n; k++) {
			feed(&b, m[i].p + k, 1);
			if (k + 1 < m[i].n) {
				assert_int_equal(parse_kind(m[i].kind, &b,
				    &part), ERR_INCOMPLETE);
				assert_int_equal(buf_len(&b), k + 1);
			}
		}
		assert_int_equal(parse_kind(m[i].kind, &b, &part), 0);
		assert_int_equal(buf_len(&b), 0);
		assert_same(m[i].kind, &whole, &part);
		buf_cleanup(&b);
	}
}

/* Greeting, auth and request in one write, then payload. */
static void
test_pipelined(void **state)
{
	struct buf b;
	struct socks5_greeting g;
	struct socks5_userpass up;
	struct socks5_request r;

	(void)state;
	buf_init(&b, BUF_MAX);
	feed(&b, greet_two, sizeof(greet_two));
	feed(&b, up_alice, sizeof(up_alice));
	feed(&b, req_dom, sizeof(req_dom));
	feed(&b, "GET /", 5);
	assert_int_equal(socks5_parse_greeting(&b, &g), 0);
	assert_int_equal(g.nmethods, 2);
	assert_int_equal(buf_len(&b),
	    sizeof(up_alice) + sizeof(req_dom) + 5);
	assert_int_equal(socks5_parse_userpass(&b, &up), 0);
	assert_string_equal(up.pass, "secret");
	socks5_userpass_wipe(&up);
	assert_int_equal(buf_len(&b), sizeof(req_dom) + 5);
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_string_equal(r.host, "example.com");
	assert_int_equal(buf_len(&b), 5);
	assert_memory_equal(buf_ptr(&b), "GET /", 5);

	/* Two whole messages and half of the third. */
	buf_reset(&b);
	feed(&b, greet_none, sizeof(greet_none));
	feed(&b, up_empty, sizeof(up_empty));
	feed(&b, req_v6, 7);
	assert_int_equal(socks5_parse_greeting(&b, &g), 0);
	assert_int_equal(socks5_parse_userpass(&b, &up), 0);
	socks5_userpass_wipe(&up);
	assert_int_equal(socks5_parse_request(&b, &r), ERR_INCOMPLETE);
	assert_int_equal(buf_len(&b), 7);
	feed(&b, req_v6 + 7, sizeof(req_v6) - 7);
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_int_equal(r.port, 22);
	assert_int_equal(buf_len(&b), 0);
	buf_cleanup(&b);
}

/* Two pages, the second PROT_NONE. */
struct guard {
	unsigned char	*base;
	size_t		 page;
};

/* Maps the guard pages. */
static void
guard_open(struct guard *g)
{
	void *p = NULL;

	g->page = (size_t)sysconf(_SC_PAGESIZE);
	p = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	g->base = p;
	assert_int_equal(mprotect(g->base + g->page, g->page, PROT_NONE), 0);
}

/* Copies n bytes so they end right at the guard page. */
static unsigned char *
guard_place(struct guard *g, const void *p, size_t n)
{
	unsigned char *dst = g->base + g->page - n;

	if (n > 0) {
		memcpy(dst, p, n);
	}
	return dst;
}

/* A struct buf over memory we do not own (never grown or freed). */
static void
guard_buf(struct buf *b, unsigned char *p, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->data = p;
	b->off = 0;
	b->len = b->cap = b->max = n;
}

/* Stream parsers on input that ends at an unreadable page. */
static void
test_guard_page(void **state)
{
	struct guard g;
	struct msg m[16];
	size_t nm, i, k;
	struct buf b;
	union parsed out;
	static const struct msg bad[] = {
		{ K_GREETING, (const unsigned char *)"\x04", 1 },
		{ K_GREETING, (const unsigned char *)"\x05\x00", 2 },
		{ K_USERPASS, (const unsigned char *)"\x01\x00", 2 },
		{ K_USERPASS, (const unsigned char *)"\x01\x01\x00", 3 },
		{ K_REQUEST, (const unsigned char *)"\x05\x01\x00\x07", 4 },
		{ K_REQUEST, (const unsigned char *)"\x05\x01\x00\x03\x00", 5 },
		{ K_REQUEST, (const unsigned char *)"\x05\x01\x00\x03\x01\x00",
		    6 },
	};

	(void)state;
	guard_open(&g);
	nm = valid_msgs(m);
	for (i = 0; i < nm; i++) {
		for (k = 0; k <= m[i].n; k++) {
			guard_buf(&b, guard_place(&g, m[i].p, k), k);
			assert_int_equal(parse_kind(m[i].kind, &b, &out),
			    k == m[i].n ? 0 : ERR_INCOMPLETE);
			assert_int_equal(buf_len(&b), k == m[i].n ? 0 : k);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		guard_buf(&b, guard_place(&g, bad[i].p, bad[i].n), bad[i].n);
		assert_int_equal(parse_kind(bad[i].kind, &b, &out), ERR_PROTO);
		assert_int_equal(buf_len(&b), bad[i].n);
	}
	assert_int_equal(munmap(g.base, 2 * g.page), 0);
}

/* The UDP header parser on raw pointers that end at the guard page. */
static void
test_guard_page_udp(void **state)
{
	struct guard g;
	struct socks5_udp_header uh;
	size_t i, k, hl;
	const unsigned char *pk = NULL;
	const struct { const unsigned char *p; size_t n, hdr; } v[] = {
		{ udp_v4, sizeof(udp_v4), 10 },
		{ udp_dom, sizeof(udp_dom), 10 },
		{ udp_v6, sizeof(udp_v6), 22 },
		{ udp_long, sizeof(udp_long), sizeof(udp_long) },
	};

	(void)state;
	build_long();
	guard_open(&g);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (k = 0; k <= v[i].n; k++) {
			pk = guard_place(&g, v[i].p, k);
			if (k < v[i].hdr) {
				assert_int_equal(socks5_parse_udp_header(pk, k,
				    &uh, &hl), ERR_PROTO);
				assert_int_equal(hl, 0);
			} else {
				assert_int_equal(socks5_parse_udp_header(pk, k,
				    &uh, &hl), 0);
				assert_int_equal(hl, v[i].hdr);
			}
		}
	}
	assert_int_equal(munmap(g.base, 2 * g.page), 0);
}

/* Length of the request in p[0..n) if its header says so, else 0. */
static size_t
request_len(const unsigned char *p, size_t n)
{
	if (n < 4) {
		return 0;
	}
	switch (p[3]) {
	case SOCKS5_ATYP_IPV4:
		return 10;
	case SOCKS5_ATYP_IPV6:
		return 22;
	case SOCKS5_ATYP_DOMAIN:
		return n < 5 ? 0 : 7 + (size_t)p[4];
	default:
		return 0;
	}
}

/* Checks one mutated request against what its bytes say. */
static void
check_mutant(const unsigned char *p, size_t n)
{
	struct buf b;
	union parsed u, u2;
	struct socks5_request *r = &u.r;
	size_t want = request_len(p, n);
	int ret;

	buf_init(&b, BUF_MAX);
	feed(&b, p, n);
	ret = socks5_parse_request(&b, r);
	if (ret == 0) {
		/* Exactly the declared length was consumed. */
		assert_int_equal(p[0], SOCKS5_VERSION);
		assert_true(want > 0 && want <= n);
		assert_int_equal(buf_len(&b), n - want);
		assert_int_equal(r->cmd, p[1]);
		assert_int_equal(r->rsv, p[2]);
		assert_int_equal(r->atyp, p[3]);
		assert_int_equal(r->port, (p[want - 2] << 8) | p[want - 1]);
		assert_int_equal(r->atyp_unsupported, 0);
		if (r->atyp == SOCKS5_ATYP_DOMAIN) {
			assert_int_equal(r->hostlen, p[4]);
			assert_int_equal(strlen(r->host), r->hostlen);
			assert_memory_equal(r->host, p + 5, r->hostlen);
		}
	} else {
		assert_int_equal(buf_len(&b), n);
		assert_memory_equal(buf_ptr(&b), p, n);
		if (ret == ERR_INCOMPLETE) {
			assert_int_equal(p[0], SOCKS5_VERSION);
			assert_true(want == 0 || want > n);
		} else {
			assert_int_equal(ret, ERR_PROTO);
			assert_int_equal(r->atyp_unsupported,
			    p[0] == SOCKS5_VERSION && want == 0 && n >= 4);
		}
	}
	/* Deterministic: the same bytes give the same answer. */
	buf_reset(&b);
	feed(&b, p, n);
	assert_int_equal(socks5_parse_request(&b, &u2.r), ret);
	if (ret == 0) {
		assert_same(K_REQUEST, &u, &u2);
	}
	buf_cleanup(&b);
}

/* Flips every bit of valid requests and checks the results. */
static void
test_bitflip_request(void **state)
{
	unsigned char m[300];
	const unsigned char *src[] = { req_v4, req_dom, req_v6, req_long };
	const size_t len[] = { sizeof(req_v4), sizeof(req_dom),
	    sizeof(req_v6), sizeof(req_long) };
	size_t i, bit, j;

	(void)state;
	build_long();
	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		for (bit = 0; bit < len[i] * 8; bit++) {
			memcpy(m, src[i], len[i]);
			m[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			check_mutant(m, len[i]);
			/* With trailing bytes that must not be consumed. */
			for (j = len[i]; j < len[i] + 8; j++) {
				m[j] = 'z';
			}
			check_mutant(m, len[i] + 8);
		}
	}
}

/* Flips every bit of the other messages: never crash, nothing half-eaten. */
static void
test_bitflip_other(void **state)
{
	struct msg m[16];
	size_t nm, i, bit;
	unsigned char tmp[600];
	struct buf b;
	union parsed out;
	struct socks5_udp_header uh;
	size_t hl;
	int r;
	const unsigned char *u[] = { udp_v4, udp_dom, udp_v6, udp_long };
	const size_t ul[] = { sizeof(udp_v4), sizeof(udp_dom),
	    sizeof(udp_v6), sizeof(udp_long) };

	(void)state;
	nm = valid_msgs(m);
	buf_init(&b, BUF_MAX);
	for (i = 0; i < nm; i++) {
		for (bit = 0; bit < m[i].n * 8; bit++) {
			memcpy(tmp, m[i].p, m[i].n);
			tmp[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			buf_reset(&b);
			feed(&b, tmp, m[i].n);
			r = parse_kind(m[i].kind, &b, &out);
			if (r == 0) {
				assert_true(buf_len(&b) < m[i].n);
			} else {
				assert_true(r == ERR_INCOMPLETE ||
				    r == ERR_PROTO);
				assert_int_equal(buf_len(&b), m[i].n);
			}
			if (m[i].kind == K_USERPASS) {
				socks5_userpass_wipe(&out.u);
			}
		}
	}
	buf_cleanup(&b);
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		for (bit = 0; bit < ul[i] * 8; bit++) {
			memcpy(tmp, u[i], ul[i]);
			tmp[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			r = socks5_parse_udp_header(tmp, ul[i], &uh, &hl);
			if (r == 0) {
				assert_true(hl >= 8 && hl <= ul[i]);
				assert_int_equal(uh.port,
				    (tmp[hl - 2] << 8) | tmp[hl - 1]);
			} else {
				assert_int_equal(r, ERR_PROTO);
				assert_int_equal(hl, 0);
			}
		}
	}
}

/* UDP header vectors and errors. */
static void
test_udp_header(void **state)
{
	struct socks5_udp_header uh;
	size_t hl;
	char host[64];
	uint16_t port;
	unsigned char m[32];

	(void)state;
	assert_int_equal(socks5_parse_udp_header(udp_v4, sizeof(udp_v4), &uh,
	    &hl), 0);
	assert_int_equal(hl, 10);
	assert_int_equal(uh.frag, 0);
	assert_int_equal(uh.port, 53);
	assert_memory_equal(udp_v4 + hl, "hi", 2);
	assert_int_equal(socks5_udp_target(&uh, host, sizeof(host), &port), 0);
	assert_string_equal(host, "10.0.0.7");
	assert_int_equal(port, 53);

	assert_int_equal(socks5_parse_udp_header(udp_dom, sizeof(udp_dom),
	    &uh, &hl), 0);
	assert_int_equal(hl, 10);
	assert_string_equal(uh.host, "a.b");
	assert_int_equal(uh.port, 12345);

	assert_int_equal(socks5_parse_udp_header(udp_v6, sizeof(udp_v6), &uh,
	    &hl), 0);
	assert_int_equal(hl, sizeof(udp_v6));	/* empty payload */
	assert_int_equal(socks5_udp_target(&uh, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0x1234);

	/* RSV tolerated and FRAG reported (the caller drops fragments). */
	memcpy(m, udp_v4, sizeof(udp_v4));
	m[0] = 0xab;
	m[1] = 0xcd;
	m[2] = 0x81;
	assert_int_equal(socks5_parse_udp_header(m, sizeof(udp_v4), &uh, &hl),
	    0);
	assert_int_equal(uh.rsv, 0xabcd);
	assert_int_equal(uh.frag, 0x81);

	/* Unknown ATYP, empty domain, NUL in domain, truncation. */
	m[3] = 0x02;
	assert_int_equal(socks5_parse_udp_header(m, sizeof(udp_v4), &uh, &hl),
	    ERR_PROTO);
	assert_int_equal(hl, 0);
	assert_int_equal(socks5_parse_udp_header((const unsigned char *)
	    "\0\0\0\x03\x00\x00\x35", 7, &uh, &hl), ERR_PROTO);
	assert_int_equal(socks5_parse_udp_header((const unsigned char *)
	    "\0\0\0\x03\x02" "a\x00" "\x00\x35", 9, &uh, &hl), ERR_PROTO);
	assert_int_equal(socks5_parse_udp_header(udp_v6, sizeof(udp_v6) - 1,
	    &uh, &hl), ERR_PROTO);
	assert_int_equal(socks5_parse_udp_header(udp_v4, 0, &uh, &hl),
	    ERR_PROTO);
}

/* Method choice and RFC 1929 status writers. */
static void
test_put_small(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_MAX);
	assert_int_equal(socks5_put_method_choice(&b, SOCKS5_AUTH_USERPASS),
	    0);
	assert_int_equal(socks5_put_method_choice(&b, SOCKS5_AUTH_NOACCEPT),
	    0);
	assert_int_equal(socks5_put_auth_status(&b, SOCKS5_AUTH_STATUS_OK), 0);
	assert_int_equal(socks5_put_auth_status(&b, SOCKS5_AUTH_STATUS_FAIL),
	    0);
	assert_int_equal(buf_len(&b), 8);
	assert_memory_equal(buf_ptr(&b), "\x05\x02\x05\xff\x01\x00\x01\x01",
	    8);
	buf_cleanup(&b);

	/* A full buffer takes nothing. */
	buf_init(&b, 3);
	assert_int_equal(socks5_put_method_choice(&b, 0), 0);
	assert_int_equal(socks5_put_auth_status(&b, 0), ERR_TOO_LARGE);
	assert_int_equal(buf_len(&b), 2);
	buf_cleanup(&b);
}

/* Reply writer: exact bytes for each address form. */
static void
test_put_reply(void **state)
{
	struct buf b;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	static const unsigned char none[] = {
		0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
	};
	static const unsigned char v4[] = {
		0x05, 0x00, 0x00, 0x01, 192, 0, 2, 1, 0x04, 0x38,
	};
	static const unsigned char v6[] = {
		0x05, 0x00, 0x00, 0x04,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x01, 0xbb,
	};
	static const unsigned char mapped[] = {
		0x05, 0x00, 0x00, 0x01, 10, 1, 2, 3, 0x1f, 0x90,
	};

	(void)state;
	buf_init(&b, BUF_MAX);
	assert_int_equal(socks5_put_reply(&b, SOCKS5_REP_GENERAL_FAILURE,
	    NULL), 0);
	assert_int_equal(buf_len(&b), sizeof(none));
	assert_memory_equal(buf_ptr(&b), none, sizeof(none));

	buf_reset(&b);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(1080);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
	assert_int_equal(socks5_put_reply(&b, 0, (struct sockaddr *)&sin), 0);
	assert_int_equal(buf_len(&b), sizeof(v4));
	assert_memory_equal(buf_ptr(&b), v4, sizeof(v4));

	buf_reset(&b);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr),
	    1);
	assert_int_equal(socks5_put_reply(&b, 0, (struct sockaddr *)&sin6), 0);
	assert_int_equal(buf_len(&b), sizeof(v6));
	assert_memory_equal(buf_ptr(&b), v6, sizeof(v6));

	buf_reset(&b);
	sin6.sin6_port = htons(8080);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3",
	    &sin6.sin6_addr), 1);
	assert_int_equal(socks5_put_reply(&b, 0, (struct sockaddr *)&sin6), 0);
	assert_int_equal(buf_len(&b), sizeof(mapped));
	assert_memory_equal(buf_ptr(&b), mapped, sizeof(mapped));

	buf_reset(&b);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(socks5_put_reply(&b, 0, (struct sockaddr *)&sun),
	    ERR_INVAL);
	assert_int_equal(buf_len(&b), 0);
	buf_cleanup(&b);

	/* Too small for the IPv6 reply: nothing appended. */
	buf_init(&b, 21);
	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(socks5_put_reply(&b, 0, (struct sockaddr *)&sin6),
	    ERR_TOO_LARGE);
	assert_int_equal(buf_len(&b), 0);
	buf_cleanup(&b);
}

/* UDP header writer: exact bytes, limits, round trip. */
static void
test_put_udp_header(void **state)
{
	unsigned char d[SOCKS5_UDP_HEADER_MAX + 4];
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct socks5_udp_header uh;
	size_t w, hl;
	static const unsigned char v4[] = {
		0, 0, 0, 0x01, 198, 51, 100, 9, 0x00, 0x35,
	};
	static const unsigned char v6[] = {
		0, 0, 0, 0x04,
		0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
		0xff, 0xff,
	};

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	assert_int_equal(inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr), 1);
	assert_int_equal(socks5_put_udp_header(d, sizeof(d),
	    (struct sockaddr *)&sin, &w), 0);
	assert_int_equal(w, sizeof(v4));
	assert_memory_equal(d, v4, sizeof(v4));
	assert_int_equal(socks5_parse_udp_header(d, w, &uh, &hl), 0);
	assert_int_equal(hl, w);
	assert_int_equal(uh.port, 53);
	assert_memory_equal(&uh.addr.v4, &sin.sin_addr, 4);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(65535);
	assert_int_equal(inet_pton(AF_INET6, "fe80::2", &sin6.sin6_addr), 1);
	assert_int_equal(socks5_put_udp_header(d, sizeof(d),
	    (struct sockaddr *)&sin6, &w), 0);
	assert_int_equal(w, sizeof(v6));
	assert_memory_equal(d, v6, sizeof(v6));

	/* v4-mapped source written as IPv4. */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.9",
	    &sin6.sin6_addr), 1);
	sin6.sin6_port = htons(53);
	assert_int_equal(socks5_put_udp_header(d, sizeof(d),
	    (struct sockaddr *)&sin6, &w), 0);
	assert_int_equal(w, sizeof(v4));
	assert_memory_equal(d, v4, sizeof(v4));

	/* Too small: dst untouched, nothing written. */
	memset(d, 0xee, sizeof(d));
	assert_int_equal(socks5_put_udp_header(d, 9, (struct sockaddr *)&sin,
	    &w), ERR_TOO_LARGE);
	assert_int_equal(w, 0);
	assert_int_equal(d[0], 0xee);
	assert_int_equal(socks5_put_udp_header(d, 10, (struct sockaddr *)&sin,
	    &w), 0);
	assert_int_equal(w, 10);
	assert_int_equal(socks5_put_udp_header(d, sizeof(d), NULL, &w),
	    ERR_INVAL);
	assert_int_equal(w, 0);
}

/* Target formatting limits and reply strings. */
static void
test_target_and_strings(void **state)
{
	struct socks5_request r;
	char host[INET6_ADDRSTRLEN];
	char tiny[4];
	uint16_t port = 7;
	struct buf b;
	int rep;

	(void)state;
	buf_init(&b, BUF_MAX);
	feed(&b, req_dom, sizeof(req_dom));
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_int_equal(socks5_request_target(&r, tiny, sizeof(tiny), &port),
	    ERR_TOO_LARGE);
	assert_string_equal(tiny, "");
	assert_int_equal(port, 0);
	/* Exactly enough room for "example.com" and its NUL. */
	assert_int_equal(socks5_request_target(&r, host, 12, &port), 0);
	assert_string_equal(host, "example.com");
	assert_int_equal(socks5_request_target(&r, host, 11, &port),
	    ERR_TOO_LARGE);

	feed(&b, req_v6, sizeof(req_v6));
	assert_int_equal(socks5_parse_request(&b, &r), 0);
	assert_int_equal(socks5_request_target(&r, tiny, sizeof(tiny), &port),
	    ERR_TOO_LARGE);
	assert_string_equal(tiny, "");
	r.atyp = 0x09;
	assert_int_equal(socks5_request_target(&r, host, sizeof(host), &port),
	    ERR_INVAL);
	buf_cleanup(&b);

	for (rep = 0; rep <= 8; rep++) {
		assert_string_not_equal(socks5_rep_str((uint8_t)rep),
		    "unknown");
	}
	assert_string_equal(socks5_rep_str(SOCKS5_REP_CMD_UNSUPPORTED),
	    "command not supported");
	assert_string_equal(socks5_rep_str(0x09), "unknown");
	assert_string_equal(socks5_rep_str(0xff), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_vectors),
		cmocka_unit_test(test_greeting_invalid),
		cmocka_unit_test(test_userpass_vectors),
		cmocka_unit_test(test_userpass_invalid),
		cmocka_unit_test(test_request_vectors),
		cmocka_unit_test(test_request_invalid),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_guard_page),
		cmocka_unit_test(test_guard_page_udp),
		cmocka_unit_test(test_bitflip_request),
		cmocka_unit_test(test_bitflip_other),
		cmocka_unit_test(test_udp_header),
		cmocka_unit_test(test_put_small),
		cmocka_unit_test(test_put_reply),
		cmocka_unit_test(test_put_udp_header),
		cmocka_unit_test(test_target_and_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* WebSocket wire code: see ws_wire.h. */
#include "admin/ws_wire.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/err.h"
#include "core/util.h"

#define WS_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int
ws_accept_key(const char *key, char out[WS_ACCEPT_LEN])
{
	unsigned char raw[18], md[EVP_MAX_MD_SIZE];
	char cat[24 + sizeof(WS_GUID)];
	unsigned int mdlen = 0;
	size_t rawlen = 0;

	out[0] = '\0';
	if (key == NULL || strlen(key) != 24 ||
	    sodium_base642bin(raw, sizeof(raw), key, 24, NULL, &rawlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen != 16)
		return ERR_PROTO;
	memcpy(cat, key, 24);
	memcpy(cat + 24, WS_GUID, sizeof(WS_GUID));
	if (EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return ERR_PROTO;
	sodium_bin2base64(out, WS_ACCEPT_LEN, md, 20,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

size_t
ws_frame_hdr(unsigned char out[WS_HDR_MAX], int opcode, uint64_t len)
{
	int i;

	out[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		out[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

int
ws_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	uint32_t cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			need = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			need = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			need = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

void
ws_rx_init(struct ws_rx *rx, size_t max_frame, size_t max_msg)
{
	memset(rx, 0, sizeof(*rx));
	rx->max_frame = max_frame;
	rx->max_msg = max_msg;
	rx->frag_op = -1;
}

void
ws_rx_cleanup(struct ws_rx *rx)
{
	free(rx->msg);
	memset(rx, 0, sizeof(*rx));
	rx->frag_op = -1;
}

/* Marks a failure with the close code to send; returns err. */
static int
rx_fail(struct ws_rx *rx, int code, int err)
{
	rx->error = code;
	return err;
}

/* 1 for a close code a peer may send (RFC 6455 7.4). */
static int
close_code_ok(int c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
	    (c >= 3000 && c <= 4999);
}

/*
 * Parses a frame header in buf[0..len): 0 with *hlen, *op, *fin, *plen and
 * the mask key set; ERR_INCOMPLETE; or a failure (rx->error set).
 */
static int
rx_header(struct ws_rx *rx, const unsigned char *buf, size_t len,
    size_t *hlen, int *op, int *fin, uint64_t *plen, unsigned char key[4])
{
	size_t n = 2;
	uint64_t l;
	int i;

	if (len < 2)
		return ERR_INCOMPLETE;
	*fin = (buf[0] & 0x80) != 0;
	*op = buf[0] & 0x0f;
	if ((buf[0] & 0x70) != 0)	/* no extension was negotiated */
		return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
	if (*op != WS_OP_CONT && *op != WS_OP_TEXT && *op != WS_OP_BINARY &&
	    *op != WS_OP_CLOSE && *op != WS_OP_PING && *op != WS_OP_PONG)
		return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
	if ((buf[1] & 0x80) == 0)	/* clients must mask */
		return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
	l = buf[1] & 0x7f;
	if (*op >= WS_OP_CLOSE && (!*fin || l > 125))
		return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
	if (l == 126) {
		if (len < 4)
			return ERR_INCOMPLETE;
		l = ((uint64_t)buf[2] << 8) | buf[3];
		if (l < 126)		/* not the shortest form */
			return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
		n = 4;
	} else if (l == 127) {
		if (len < 10)
			return ERR_INCOMPLETE;
		if (buf[2] & 0x80)
			return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
		for (l = 0, i = 0; i < 8; i++)
			l = (l << 8) | buf[2 + i];
		if (l <= 0xffff)
			return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
		n = 10;
	}
	/* Limits are checked before the payload arrives. */
	if (l > rx->max_frame)
		return rx_fail(rx, WS_CLOSE_TOO_BIG, ERR_TOO_LARGE);
	if (*op < WS_OP_CLOSE) {
		if (*op == WS_OP_CONT && rx->frag_op < 0)
			return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
		if (*op != WS_OP_CONT && rx->frag_op >= 0)
			return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
		if (l > rx->max_msg || (*op == WS_OP_CONT &&
		    rx->len > rx->max_msg - l))
			return rx_fail(rx, WS_CLOSE_TOO_BIG, ERR_TOO_LARGE);
	}
	if (len - n < 4)
		return ERR_INCOMPLETE;
	memcpy(key, buf + n, 4);
	*hlen = n + 4;
	*plen = l;
	return 0;
}

/* Copies n masked bytes to dst, unmasking them. */
static void
rx_unmask(unsigned char *dst, const unsigned char *src, size_t n,
    const unsigned char key[4])
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] ^ key[i & 3];
}

/* Handles a complete control frame of n payload bytes (in rx->ctl). */
static int
rx_control(struct ws_rx *rx, int op, size_t n, enum ws_ev *ev,
    const unsigned char **msg, size_t *mlen)
{
	*msg = rx->ctl;
	*mlen = n;
	if (op == WS_OP_PING) {
		*ev = WS_EV_PING;
		return 0;
	}
	if (op == WS_OP_PONG) {
		*ev = WS_EV_PONG;
		return 0;
	}
	rx->close_code = 1005;
	if (n == 1)
		return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
	if (n >= 2) {
		rx->close_code = (rx->ctl[0] << 8) | rx->ctl[1];
		if (!close_code_ok(rx->close_code))
			return rx_fail(rx, WS_CLOSE_PROTOCOL, ERR_PROTO);
		if (!ws_utf8_ok(rx->ctl + 2, n - 2))
			return rx_fail(rx, WS_CLOSE_BAD_DATA, ERR_PROTO);
	}
	*ev = WS_EV_CLOSE;
	return 0;
}

int
ws_rx_feed(struct ws_rx *rx, const unsigned char *buf, size_t len,
    size_t *used, enum ws_ev *ev, const unsigned char **msg, size_t *mlen)
{
	unsigned char key[4];
	uint64_t plen = 0;
	size_t hlen = 0, n;
	int op = 0, fin = 0, r;

	*used = 0;
	*ev = WS_EV_NONE;
	*msg = NULL;
	*mlen = 0;
	if (rx->error != 0)
		return ERR_PROTO;
	if ((r = rx_header(rx, buf, len, &hlen, &op, &fin, &plen, key)) != 0)
		return r;
	if (len - hlen < plen)
		return ERR_INCOMPLETE;
	n = (size_t)plen;
	*used = hlen + n;
	if (op >= WS_OP_CLOSE) {
		rx_unmask(rx->ctl, buf + hlen, n, key);
		return rx_control(rx, op, n, ev, msg, mlen);
	}
	if (op != WS_OP_CONT)
		rx->len = 0;
	if (n > 0) {
		if (rx->len + n > rx->cap) {
			rx->cap = rx->len + n;
			rx->msg = xrealloc(rx->msg, rx->cap);
		}
		rx_unmask(rx->msg + rx->len, buf + hlen, n, key);
		rx->len += n;
	}
	if (!fin) {
		if (op != WS_OP_CONT)
			rx->frag_op = op;
		return 0;
	}
	if (op == WS_OP_CONT)
		op = rx->frag_op;
	rx->frag_op = -1;
	if (op == WS_OP_TEXT && !ws_utf8_ok(rx->msg, rx->len))
		return rx_fail(rx, WS_CLOSE_BAD_DATA, ERR_PROTO);
	*ev = op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
	*msg = rx->msg != NULL ? rx->msg : rx->ctl;
	*mlen = rx->len;
	return 0;
}

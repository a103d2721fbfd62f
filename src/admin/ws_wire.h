/*
 * WebSocket (RFC 6455) wire code for the server side: the handshake key,
 * frame headers for what the server sends, and a pure receiver that turns
 * the bytes a client sent into whole messages and control frames. No fd,
 * no loop, no log: unit tests and tests/fuzz/fuzz_ws.c aim here.
 */
#ifndef SKS5_ADMIN_WS_WIRE_H
#define SKS5_ADMIN_WS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

/* Close codes the server sends. */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_BAD_DATA	1007	/* text that is not UTF-8 */
#define WS_CLOSE_TOO_BIG	1009

/* Length of Sec-WebSocket-Accept (base64 of 20 bytes) plus the NUL. */
#define WS_ACCEPT_LEN		29
/* Largest header the server writes: 2 + 8 bytes of length. */
#define WS_HDR_MAX		10

/*
 * Computes Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. The key
 * must be the base64 form of 16 bytes (24 characters). 0, or ERR_PROTO.
 */
int	ws_accept_key(const char *key, char out[WS_ACCEPT_LEN]);

/*
 * Writes the header of an unmasked, final frame of opcode with len payload
 * bytes into out; returns its length (2, 4 or 10).
 */
size_t	ws_frame_hdr(unsigned char out[WS_HDR_MAX], int opcode, uint64_t len);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF). */
int	ws_utf8_ok(const unsigned char *s, size_t n);

/* What one call of ws_rx_feed() produced. */
enum ws_ev {
	WS_EV_NONE = 0,		/* a fragment was buffered; call again */
	WS_EV_TEXT,		/* a whole text message: msg, len */
	WS_EV_BINARY,		/* a whole binary message: msg, len */
	WS_EV_PING,		/* msg, len: echo it in a pong */
	WS_EV_PONG,
	WS_EV_CLOSE,		/* close frame: code (1005 when none) */
};

/*
 * Receiver state of one connection. Frames above max_frame payload bytes
 * or messages above max_msg bytes (after reassembly) are refused.
 */
struct ws_rx {
	size_t		 max_frame;
	size_t		 max_msg;
	unsigned char	*msg;		/* reassembled data message */
	size_t		 len;
	size_t		 cap;
	int		 frag_op;	/* opcode of the open message, or -1 */
	unsigned char	 ctl[125];	/* payload of the last control frame */
	int		 close_code;	/* WS_EV_CLOSE; 1005 none given */
	int		 error;		/* close code of the failure, or 0 */
};

void	ws_rx_init(struct ws_rx *rx, size_t max_frame, size_t max_msg);
void	ws_rx_cleanup(struct ws_rx *rx);

/*
 * Consumes at most one complete frame from buf[0..len). Returns 0 with
 * *used bytes consumed and *ev set (for WS_EV_TEXT/BINARY/PING/PONG, msg
 * and mlen point into rx and stay valid until the next call);
 * ERR_INCOMPLETE when the frame is not complete yet (nothing consumed);
 * ERR_PROTO or ERR_TOO_LARGE when the connection must be closed, with
 * rx->error the close code to send (1002, 1007 or 1009). Client frames
 * must be masked.
 */
int	ws_rx_feed(struct ws_rx *rx, const unsigned char *buf, size_t len,
	    size_t *used, enum ws_ev *ev, const unsigned char **msg,
	    size_t *mlen);

#endif /* SKS5_ADMIN_WS_WIRE_H */

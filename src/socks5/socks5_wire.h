/*
 * SOCKS5 wire format (RFC 1928) and username/password sub-negotiation
 * (RFC 1929). Pure code: parsers read a struct buf or a (ptr, len) pair
 * and fill a caller-owned struct; writers append to a struct buf or a
 * caller-owned array. Nothing here sees a socket, the loop or the log.
 *
 * Stream parsers (greeting, userpass, request) return:
 *   0               one whole message was consumed from the buffer and
 *                   *out is filled; bytes after it stay in the buffer
 *                   (clients may pipeline greeting, auth and request);
 *   ERR_INCOMPLETE  the message is not complete yet; nothing consumed;
 *   ERR_PROTO       the message is malformed; nothing consumed; the
 *                   caller closes the connection.
 * A malformed field is reported as soon as it has been received, even
 * if the rest of the message has not arrived yet. Every out-struct is
 * cleared on entry, so it never holds stale data after an error.
 */
#ifndef SKS5_SOCKS5_WIRE_H
#define SKS5_SOCKS5_WIRE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct sockaddr;

#define SOCKS5_VERSION			0x05
#define SOCKS5_USERPASS_VERSION		0x01

#define SOCKS5_AUTH_NONE		0x00
#define SOCKS5_AUTH_GSSAPI		0x01
#define SOCKS5_AUTH_USERPASS		0x02
#define SOCKS5_AUTH_NOACCEPT		0xFF

/* RFC 1929 status byte: 0 is success, anything else is failure. */
#define SOCKS5_AUTH_STATUS_OK		0x00
#define SOCKS5_AUTH_STATUS_FAIL		0x01

#define SOCKS5_CMD_CONNECT		0x01
#define SOCKS5_CMD_BIND			0x02
#define SOCKS5_CMD_UDP_ASSOCIATE	0x03

#define SOCKS5_ATYP_IPV4		0x01
#define SOCKS5_ATYP_DOMAIN		0x03
#define SOCKS5_ATYP_IPV6		0x04

#define SOCKS5_REP_SUCCEEDED		0x00
#define SOCKS5_REP_GENERAL_FAILURE	0x01
#define SOCKS5_REP_NOT_ALLOWED		0x02
#define SOCKS5_REP_NET_UNREACHABLE	0x03
#define SOCKS5_REP_HOST_UNREACHABLE	0x04
#define SOCKS5_REP_CONN_REFUSED		0x05
#define SOCKS5_REP_TTL_EXPIRED		0x06
#define SOCKS5_REP_CMD_UNSUPPORTED	0x07
#define SOCKS5_REP_ATYP_UNSUPPORTED	0x08

/* Longest reply: VER REP RSV ATYP + 16-byte IPv6 + port. */
#define SOCKS5_REPLY_MAX		22
/* Longest UDP header this module writes: RSV FRAG ATYP + IPv6 + port. */
#define SOCKS5_UDP_HEADER_MAX		22

/* Client greeting: VER NMETHODS METHODS[NMETHODS]. */
struct socks5_greeting {
	uint8_t		nmethods;	/* 1..255 */
	uint8_t		methods[255];
};

/*
 * RFC 1929 request. user and pass are NUL-terminated copies; neither
 * may contain a NUL byte, both must be valid UTF-8 and the username may
 * not contain control characters (C0, DEL); else ERR_PROTO.
 * The password is secret: the caller must call socks5_userpass_wipe()
 * once done with the struct, on every path.
 */
struct socks5_userpass {
	char		user[256];
	size_t		ulen;		/* 1..255 */
	char		pass[256];
	size_t		plen;		/* 0..255 */
	int		empty_pass;	/* PLEN was 0 (RFC 1929 wants >= 1);
					   the server decides whether that
					   is acceptable */
};

/* An IPv4 or IPv6 address, as selected by an ATYP byte. */
union socks5_ip {
	struct in_addr	v4;
	struct in6_addr	v6;
};

/*
 * Client request: VER CMD RSV ATYP DST.ADDR DST.PORT.
 * Any CMD value is accepted and reported in cmd: the server answers
 * SOCKS5_REP_CMD_UNSUPPORTED for those it does not implement. RSV is
 * recorded but not checked (RFC 1928 only calls it reserved).
 *
 * An unknown ATYP makes the message length unknowable, so the parser
 * returns ERR_PROTO with atyp_unsupported set to 1 (cmd and rsv are
 * filled too): the server may then send SOCKS5_REP_ATYP_UNSUPPORTED
 * before closing. atyp_unsupported is 0 after every other result.
 */
struct socks5_request {
	uint8_t		cmd;
	uint8_t		rsv;
	uint8_t		atyp;		/* SOCKS5_ATYP_* */
	union socks5_ip	addr;		/* ATYP IPV4 / IPV6, network order */
	char		host[256];	/* ATYP DOMAIN, NUL-terminated */
	size_t		hostlen;	/* 1..255 for a domain, else 0 */
	uint16_t	port;		/* host order */
	int		atyp_unsupported;
};

/*
 * UDP request header (RFC 1928 section 7): RSV(2) FRAG ATYP DST.ADDR
 * DST.PORT, then the payload. RSV is recorded, not checked; FRAG is
 * reported and the caller drops fragments (frag != 0), since this
 * implementation does not reassemble.
 */
struct socks5_udp_header {
	uint16_t	rsv;
	uint8_t		frag;
	uint8_t		atyp;
	union socks5_ip	addr;
	char		host[256];
	size_t		hostlen;
	uint16_t	port;		/* host order */
};

/*
 * Parses a greeting. Rejects VER != 5 and NMETHODS == 0 (ERR_PROTO).
 * Returns 0, ERR_INCOMPLETE or ERR_PROTO as described above.
 */
int	socks5_parse_greeting(struct buf *in, struct socks5_greeting *out);
/* Returns 1 if the greeting offers method, else 0. */
int	socks5_greeting_has(const struct socks5_greeting *g, uint8_t method);

/*
 * Parses an RFC 1929 request: VER must be 1, ULEN >= 1, no NUL bytes
 * and valid UTF-8 in both fields, no control characters in the user.
 * PLEN 0 is accepted and flagged in out->empty_pass. On success the
 * message bytes left behind in the input buffer's memory are wiped.
 * *out may hold secret bytes after any result: call
 * socks5_userpass_wipe() on it in every case.
 */
int	socks5_parse_userpass(struct buf *in, struct socks5_userpass *out);
/* Wipes every byte of *up (the password included). */
void	socks5_userpass_wipe(struct socks5_userpass *up);

/*
 * Parses a request. VER must be 5. A domain is 1..255 bytes of valid
 * UTF-8 with no control characters (C0, DEL); the caller still has to
 * validate it as a hostname. See struct socks5_request for unknown
 * commands and address types.
 */
int	socks5_parse_request(struct buf *in, struct socks5_request *out);

/*
 * Formats the request's destination into host (an IP literal, IPv6
 * without brackets, or the domain) and *port. Returns 0, ERR_TOO_LARGE
 * if hostlen is too small (host is then an empty string) or ERR_INVAL
 * for an unknown atyp.
 */
int	socks5_request_target(const struct socks5_request *req, char *host,
	    size_t hostlen, uint16_t *port);
/* Same as socks5_request_target for a parsed UDP header. */
int	socks5_udp_target(const struct socks5_udp_header *uh, char *host,
	    size_t hostlen, uint16_t *port);

/*
 * Parses the header of one UDP datagram held in p[0..len). A datagram
 * is whole or nothing, so a truncated header is ERR_PROTO (never
 * ERR_INCOMPLETE). On success returns 0 and sets *hdrlen to the header
 * size: the payload is p + *hdrlen, len - *hdrlen bytes (possibly 0).
 * Unknown ATYP and a bad domain are ERR_PROTO. *out and *hdrlen are
 * cleared on entry.
 */
int	socks5_parse_udp_header(const unsigned char *p, size_t len,
	    struct socks5_udp_header *out, size_t *hdrlen);

/*
 * Writers. Each appends one whole message or nothing and returns 0,
 * ERR_TOO_LARGE or ERR_NOMEM (from the buffer) or ERR_INVAL.
 */
/* Method selection: VER METHOD. */
int	socks5_put_method_choice(struct buf *out, uint8_t method);
/* RFC 1929 status: VER(1) STATUS. */
int	socks5_put_auth_status(struct buf *out, uint8_t status);
/*
 * Reply: VER REP RSV(0) ATYP BND.ADDR BND.PORT. bnd is an AF_INET or
 * AF_INET6 sockaddr (a v4-mapped IPv6 address is written as ATYP IPv4);
 * NULL writes 0.0.0.0:0. Another family is ERR_INVAL.
 */
int	socks5_put_reply(struct buf *out, uint8_t rep,
	    const struct sockaddr *bnd);
/*
 * Writes a UDP header for a datagram coming from `from' (AF_INET or
 * AF_INET6, v4-mapped written as IPv4) into dst[0..cap), RSV and FRAG
 * zero, and sets *written. Returns 0, ERR_TOO_LARGE if cap is too small
 * (*written is 0 and dst untouched) or ERR_INVAL (NULL or other family).
 */
int	socks5_put_udp_header(unsigned char *dst, size_t cap,
	    const struct sockaddr *from, size_t *written);

/* Returns a static description of a reply code ("unknown" otherwise). */
const char	*socks5_rep_str(uint8_t rep);

#endif /* SKS5_SOCKS5_WIRE_H */

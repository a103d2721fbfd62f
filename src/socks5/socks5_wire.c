/* SOCKS5 (RFC 1928) and RFC 1929 message parsers and writers. */
#include "socks5/socks5_wire.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

/* Bytes of an address field (ATYP excluded, port excluded). */
#define V4_LEN	4
#define V6_LEN	16

/* Where parse_addr stores what it decodes. */
struct addr_out {
	union socks5_ip	*ip;
	char		*host;		/* at least 256 bytes */
	size_t		*hostlen;
	uint16_t	*port;
};

/* Returns the length of the UTF-8 sequence starting at p[0..n), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80) {
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0) {
			lo = 0xA0;	/* no overlong forms */
		} else if (c == 0xED) {
			hi = 0x9F;	/* no UTF-16 surrogates */
		}
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0) {
			lo = 0x90;	/* no overlong forms */
		} else if (c == 0xF4) {
			hi = 0x8F;	/* nothing above U+10FFFF */
		}
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF) {
			return 0;
		}
	}
	return len;
}

/*
 * Returns 1 if p[0..n) is valid UTF-8 without NUL bytes (and, unless
 * ctrl_ok, without C0 control characters or DEL), else 0.
 */
static int
text_valid(const unsigned char *p, size_t n, int ctrl_ok)
{
	size_t i = 0, step;

	while (i < n) {
		if (p[i] == 0x00) {
			return 0;
		}
		if (!ctrl_ok && (p[i] < 0x20 || p[i] == 0x7F)) {
			return 0;
		}
		if ((step = utf8_seq(p + i, n - i)) == 0) {
			return 0;
		}
		i += step;
	}
	return 1;
}

/* Reads a big-endian 16-bit value. */
static uint16_t
get_be16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/*
 * Decodes DST.ADDR DST.PORT for a known atyp from p[*pos..len). Returns
 * 0 (and advances *pos), ERR_INCOMPLETE if the field is cut short, or
 * ERR_PROTO for a bad domain or an unknown atyp.
 */
static int
parse_addr(const unsigned char *p, size_t len, size_t *pos, uint8_t atyp,
    const struct addr_out *o)
{
	size_t at = *pos, alen;

	switch (atyp) {
	case SOCKS5_ATYP_IPV4:
		alen = V4_LEN;
		if (len - at < alen + 2) {
			return ERR_INCOMPLETE;
		}
		memcpy(&o->ip->v4, p + at, alen);
		break;
	case SOCKS5_ATYP_IPV6:
		alen = V6_LEN;
		if (len - at < alen + 2) {
			return ERR_INCOMPLETE;
		}
		memcpy(&o->ip->v6, p + at, alen);
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (len - at < 1) {
			return ERR_INCOMPLETE;
		}
		alen = p[at++];
		if (alen == 0) {
			return ERR_PROTO;
		}
		if (len - at < alen) {
			return ERR_INCOMPLETE;
		}
		if (!text_valid(p + at, alen, 0)) {
			return ERR_PROTO;
		}
		if (len - at < alen + 2) {
			return ERR_INCOMPLETE;
		}
		memcpy(o->host, p + at, alen);
		o->host[alen] = '\0';
		*o->hostlen = alen;
		break;
	default:
		return ERR_PROTO;
	}
	at += alen;
	*o->port = get_be16(p + at);
	*pos = at + 2;
	return 0;
}

/* Parses a greeting: VER NMETHODS METHODS. */
int
socks5_parse_greeting(struct buf *in, struct socks5_greeting *out)
{
	const unsigned char *p = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	if ((n = buf_len(in)) == 0) {
		return ERR_INCOMPLETE;
	}
	p = buf_ptr(in);
	if (p[0] != SOCKS5_VERSION) {
		return ERR_PROTO;
	}
	if (n < 2) {
		return ERR_INCOMPLETE;
	}
	if (p[1] == 0) {
		return ERR_PROTO;
	}
	if (n < 2 + (size_t)p[1]) {
		return ERR_INCOMPLETE;
	}
	out->nmethods = p[1];
	memcpy(out->methods, p + 2, out->nmethods);
	return buf_consume(in, 2 + (size_t)out->nmethods);
}

/* Returns 1 if the greeting offers method. */
int
socks5_greeting_has(const struct socks5_greeting *g, uint8_t method)
{
	size_t i;

	for (i = 0; i < g->nmethods; i++) {
		if (g->methods[i] == method) {
			return 1;
		}
	}
	return 0;
}

/* Parses an RFC 1929 request: VER ULEN UNAME PLEN PASSWD. */
int
socks5_parse_userpass(struct buf *in, struct socks5_userpass *out)
{
	const unsigned char *p = NULL;
	size_t n, ulen, plen, total;

	memset(out, 0, sizeof(*out));
	if ((n = buf_len(in)) == 0) {
		return ERR_INCOMPLETE;
	}
	p = buf_ptr(in);
	if (p[0] != SOCKS5_USERPASS_VERSION) {
		return ERR_PROTO;
	}
	if (n < 2) {
		return ERR_INCOMPLETE;
	}
	if ((ulen = p[1]) == 0) {
		return ERR_PROTO;
	}
	if (n < 2 + ulen) {
		return ERR_INCOMPLETE;
	}
	/* Usernames end up in logs: no control characters. */
	if (!text_valid(p + 2, ulen, 0)) {
		return ERR_PROTO;
	}
	if (n < 3 + ulen) {
		return ERR_INCOMPLETE;
	}
	plen = p[2 + ulen];
	total = 3 + ulen + plen;
	if (n < total) {
		return ERR_INCOMPLETE;
	}
	if (!text_valid(p + 3 + ulen, plen, 1)) {
		return ERR_PROTO;
	}
	memcpy(out->user, p + 2, ulen);
	out->user[ulen] = '\0';
	out->ulen = ulen;
	memcpy(out->pass, p + 3 + ulen, plen);
	out->pass[plen] = '\0';
	out->plen = plen;
	out->empty_pass = plen == 0;
	/* Leave no copy of the password in the connection's input buffer. */
	util_wipe(in->data + in->off, total);
	return buf_consume(in, total);
}

/* Wipes a parsed username/password. */
void
socks5_userpass_wipe(struct socks5_userpass *up)
{
	util_wipe(up, sizeof(*up));
}

/* Parses a request: VER CMD RSV ATYP DST.ADDR DST.PORT. */
int
socks5_parse_request(struct buf *in, struct socks5_request *out)
{
	const unsigned char *p = NULL;
	size_t n, pos = 4;
	struct addr_out o;
	int r;

	memset(out, 0, sizeof(*out));
	if ((n = buf_len(in)) == 0) {
		return ERR_INCOMPLETE;
	}
	p = buf_ptr(in);
	if (p[0] != SOCKS5_VERSION) {
		return ERR_PROTO;
	}
	if (n < 4) {
		return ERR_INCOMPLETE;
	}
	out->cmd = p[1];
	out->rsv = p[2];
	out->atyp = p[3];
	if (out->atyp != SOCKS5_ATYP_IPV4 && out->atyp != SOCKS5_ATYP_IPV6 &&
	    out->atyp != SOCKS5_ATYP_DOMAIN) {
		out->atyp_unsupported = 1;
		return ERR_PROTO;
	}
	o.ip = &out->addr;
	o.host = out->host;
	o.hostlen = &out->hostlen;
	o.port = &out->port;
	if ((r = parse_addr(p, n, &pos, out->atyp, &o)) != 0) {
		return r;
	}
	return buf_consume(in, pos);
}

/* Parses the header of one UDP datagram. */
int
socks5_parse_udp_header(const unsigned char *p, size_t len,
    struct socks5_udp_header *out, size_t *hdrlen)
{
	size_t pos = 4;
	struct addr_out o;
	int r;

	memset(out, 0, sizeof(*out));
	*hdrlen = 0;
	if (len < 4) {
		return ERR_PROTO;
	}
	out->rsv = get_be16(p);
	out->frag = p[2];
	out->atyp = p[3];
	o.ip = &out->addr;
	o.host = out->host;
	o.hostlen = &out->hostlen;
	o.port = &out->port;
	if ((r = parse_addr(p, len, &pos, out->atyp, &o)) != 0) {
		return ERR_PROTO;	/* a datagram never grows */
	}
	*hdrlen = pos;
	return 0;
}

/* Formats an address of the given atyp as text. */
static int
format_target(uint8_t atyp, const union socks5_ip *ip, const char *dom,
    size_t domlen, char *host, size_t hostlen)
{
	if (hostlen > 0) {
		host[0] = '\0';
	}
	switch (atyp) {
	case SOCKS5_ATYP_IPV4:
		if (inet_ntop(AF_INET, &ip->v4, host, hostlen) == NULL) {
			return ERR_TOO_LARGE;
		}
		return 0;
	case SOCKS5_ATYP_IPV6:
		if (inet_ntop(AF_INET6, &ip->v6, host, hostlen) == NULL) {
			return ERR_TOO_LARGE;
		}
		return 0;
	case SOCKS5_ATYP_DOMAIN:
		if (domlen >= hostlen) {
			return ERR_TOO_LARGE;
		}
		memcpy(host, dom, domlen);
		host[domlen] = '\0';
		return 0;
	default:
		return ERR_INVAL;
	}
}

/* Formats a request's destination as host text and port. */
int
socks5_request_target(const struct socks5_request *req, char *host,
    size_t hostlen, uint16_t *port)
{
	int r;

	*port = 0;
	if ((r = format_target(req->atyp, &req->addr, req->host,
	    req->hostlen, host, hostlen)) != 0) {
		if (hostlen > 0) {
			host[0] = '\0';
		}
		return r;
	}
	*port = req->port;
	return 0;
}

/* Formats a UDP header's destination as host text and port. */
int
socks5_udp_target(const struct socks5_udp_header *uh, char *host,
    size_t hostlen, uint16_t *port)
{
	int r;

	*port = 0;
	if ((r = format_target(uh->atyp, &uh->addr, uh->host, uh->hostlen,
	    host, hostlen)) != 0) {
		if (hostlen > 0) {
			host[0] = '\0';
		}
		return r;
	}
	*port = uh->port;
	return 0;
}

/*
 * Encodes ATYP ADDR PORT for an AF_INET or AF_INET6 sockaddr into dst
 * (at least 19 bytes). A v4-mapped IPv6 address becomes ATYP IPv4.
 * Returns the byte count, or 0 for an unsupported family.
 */
static size_t
encode_addr(const struct sockaddr *sa, unsigned char *dst)
{
	const struct sockaddr_in *sin = NULL;
	const struct sockaddr_in6 *sin6 = NULL;
	uint16_t port;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		dst[0] = SOCKS5_ATYP_IPV4;
		memcpy(dst + 1, &sin->sin_addr, V4_LEN);
		port = ntohs(sin->sin_port);
		dst[5] = port >> 8;
		dst[6] = port & 0xFF;
		return 7;
	}
	if (sa->sa_family != AF_INET6) {
		return 0;
	}
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	port = ntohs(sin6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		dst[0] = SOCKS5_ATYP_IPV4;
		memcpy(dst + 1, sin6->sin6_addr.s6_addr + 12, V4_LEN);
		dst[5] = port >> 8;
		dst[6] = port & 0xFF;
		return 7;
	}
	dst[0] = SOCKS5_ATYP_IPV6;
	memcpy(dst + 1, &sin6->sin6_addr, V6_LEN);
	dst[17] = port >> 8;
	dst[18] = port & 0xFF;
	return 19;
}

/* Appends a method selection message. */
int
socks5_put_method_choice(struct buf *out, uint8_t method)
{
	unsigned char msg[2] = { SOCKS5_VERSION, method };

	return buf_put(out, msg, sizeof(msg));
}

/* Appends an RFC 1929 status message. */
int
socks5_put_auth_status(struct buf *out, uint8_t status)
{
	unsigned char msg[2] = { SOCKS5_USERPASS_VERSION, status };

	return buf_put(out, msg, sizeof(msg));
}

/* Appends a reply with the given bound address (NULL: 0.0.0.0:0). */
int
socks5_put_reply(struct buf *out, uint8_t rep, const struct sockaddr *bnd)
{
	unsigned char msg[SOCKS5_REPLY_MAX];
	size_t n;

	memset(msg, 0, sizeof(msg));
	msg[0] = SOCKS5_VERSION;
	msg[1] = rep;
	msg[2] = 0;
	if (bnd == NULL) {
		msg[3] = SOCKS5_ATYP_IPV4;
		n = 7;		/* address and port stay zero */
	} else if ((n = encode_addr(bnd, msg + 3)) == 0) {
		return ERR_INVAL;
	}
	return buf_put(out, msg, 3 + n);
}

/* Writes a UDP header naming the datagram's source. */
int
socks5_put_udp_header(unsigned char *dst, size_t cap,
    const struct sockaddr *from, size_t *written)
{
	unsigned char hdr[SOCKS5_UDP_HEADER_MAX];
	size_t n;

	*written = 0;
	if (from == NULL) {
		return ERR_INVAL;
	}
	memset(hdr, 0, sizeof(hdr));
	if ((n = encode_addr(from, hdr + 3)) == 0) {
		return ERR_INVAL;
	}
	if (cap < 3 + n) {
		return ERR_TOO_LARGE;
	}
	memcpy(dst, hdr, 3 + n);
	*written = 3 + n;
	return 0;
}

/* Describes a reply code. */
const char *
socks5_rep_str(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCEEDED:
		return "succeeded";
	case SOCKS5_REP_GENERAL_FAILURE:
		return "general SOCKS server failure";
	case SOCKS5_REP_NOT_ALLOWED:
		return "connection not allowed by ruleset";
	case SOCKS5_REP_NET_UNREACHABLE:
		return "network unreachable";
	case SOCKS5_REP_HOST_UNREACHABLE:
		return "host unreachable";
	case SOCKS5_REP_CONN_REFUSED:
		return "connection refused";
	case SOCKS5_REP_TTL_EXPIRED:
		return "TTL expired";
	case SOCKS5_REP_CMD_UNSUPPORTED:
		return "command not supported";
	case SOCKS5_REP_ATYP_UNSUPPORTED:
		return "address type not supported";
	default:
		return "unknown";
	}
}

/*
 * libFuzzer target for the SOCKS5 UDP request header parser. The input
 * is one datagram. A header that parses is checked for consistency and,
 * for IP addresses, re-encoded with the writer, which must give back the
 * same bytes (with RSV and FRAG zero).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "socks5/socks5_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Builds a sockaddr for a parsed IP header; returns 0 if not possible. */
static int
to_sockaddr(const struct socks5_udp_header *uh, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (uh->atyp == SOCKS5_ATYP_IPV4) {
		sin->sin_family = AF_INET;
		sin->sin_addr = uh->addr.v4;
		sin->sin_port = htons(uh->port);
		return 1;
	}
	if (uh->atyp == SOCKS5_ATYP_IPV6 &&
	    !IN6_IS_ADDR_V4MAPPED(&uh->addr.v6)) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = uh->addr.v6;
		sin6->sin6_port = htons(uh->port);
		return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_udp_header uh;
	struct sockaddr_storage ss;
	unsigned char out[SOCKS5_UDP_HEADER_MAX];
	char host[256];
	uint16_t port;
	size_t hl = 12345, w;
	int r;

	r = socks5_parse_udp_header(data, size, &uh, &hl);
	if (r != 0) {
		if (r != ERR_PROTO || hl != 0) {
			abort();
		}
		return 0;
	}
	if (hl < 8 || hl > size || hl > 4 + 1 + 255 + 2) {
		abort();
	}
	if (uh.port != ((data[hl - 2] << 8) | data[hl - 1])) {
		abort();
	}
	if (socks5_udp_target(&uh, host, sizeof(host), &port) != 0 ||
	    port != uh.port) {
		abort();
	}
	if (uh.atyp == SOCKS5_ATYP_DOMAIN && strlen(host) != uh.hostlen) {
		abort();
	}
	if (to_sockaddr(&uh, &ss)) {
		if (socks5_put_udp_header(out, sizeof(out),
		    (struct sockaddr *)&ss, &w) != 0 || w != hl ||
		    memcmp(out + 3, data + 3, hl - 3) != 0 ||
		    out[0] != 0 || out[1] != 0 || out[2] != 0) {
			abort();
		}
	}
	return 0;
}

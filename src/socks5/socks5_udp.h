/*
 * SOCKS5 UDP ASSOCIATE relay (RFC 1928 section 7), internal to the
 * socks5 module.
 *
 * An association belongs to one authenticated TCP control connection:
 * the server creates it when the client asks for UDP ASSOCIATE and frees
 * it when that connection closes. It owns two kinds of sockets: one bound
 * to the proxy's address on the client's side (the BND.ADDR of the
 * reply), and one unbound socket per address family towards the
 * destinations.
 *
 * Client -> destination: a datagram is accepted only from the client
 * address the association is pinned to (DST.ADDR of the request, which
 * must be the control connection's source address or all zeros; a zero
 * DST.PORT is learnt from the first datagram). Fragments (FRAG != 0),
 * bad headers and oversize datagrams are dropped. Every destination goes
 * through anti-SSRF and the user's ACL exactly like a CONNECT target;
 * the verdict is cached per destination for the association's lifetime.
 * A destination given by name is resolved asynchronously: up to
 * SOCKS5_UDP_QUEUE_MAX datagrams wait for the answer, later ones are
 * dropped until it comes.
 *
 * Destination -> client: only datagrams from an address the client has
 * sent to are relayed back, with a header carrying that sender address.
 *
 * Everything runs on the loop thread of the control connection.
 */
#ifndef SKS5_SOCKS5_UDP_H
#define SKS5_SOCKS5_UDP_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct ev;
struct net_resolver;
struct policy_snap;
struct policy_user;
struct socks5_request;

/* Datagrams kept per destination while its name is being resolved. */
#define SOCKS5_UDP_QUEUE_MAX	8

struct socks5_udp;

/* Receive buffers shared by every association of one loop. */
struct socks5_udp_scratch;

/* Called once when the association ends by itself (idle timeout or a
 * socket error); the owner then closes the control connection, which
 * frees the association. Never called from socks5_udp_free(). */
typedef void	(*socks5_udp_end_cb)(void *arg, const char *why);

struct socks5_udp_params {
	struct ev			*loop;
	struct net_resolver		*resolver;
	struct policy_snap		*snap;	/* borrowed, outlives it */
	const struct policy_user	*user;	/* borrowed from snap */
	struct sockaddr_storage		 ctrl_peer;	/* TCP client address */
	struct sockaddr_storage		 ctrl_local;	/* TCP local address */
	const char			*peer_str;	/* for logs */
	struct socks5_udp_scratch	**scratch;	/* loop-owned slot */
	socks5_udp_end_cb		 end;
	void				*arg;
};

/*
 * Creates the association for request req. On success returns 0, sets
 * *out and writes the relay address for the reply into *bnd. On refusal
 * returns ERR_DENIED or ERR_IO with the SOCKS5 reply code in *rep and a
 * reason for the log in why.
 */
int	socks5_udp_new(const struct socks5_udp_params *p,
	    const struct socks5_request *req, struct socks5_udp **out,
	    struct sockaddr_storage *bnd, uint8_t *rep, char *why,
	    size_t whylen);

/* Payload bytes relayed so far, client -> destinations and back. */
void	socks5_udp_bytes(const struct socks5_udp *u, uint64_t *up,
	    uint64_t *down);

/* Payload bytes not yet counted into the user's bandwidth quotas: 0 when
 * a meter charged every datagram as it passed (a bandwidth limit or
 * quota applies), else every byte, for policy_stream_release(). */
uint64_t socks5_udp_unmetered(const struct socks5_udp *u);

/* Ends the association: logs its totals, closes its sockets, cancels
 * pending lookups. NULL is a no-op. */
void	socks5_udp_free(struct socks5_udp *u);

/* Frees a loop's scratch buffers (after its last association). NULL ok. */
void	socks5_udp_scratch_free(struct socks5_udp_scratch *sc);

#endif /* SKS5_SOCKS5_UDP_H */

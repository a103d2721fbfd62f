/*
 * net: the network layer of the data plane. Listening sockets and address
 * helpers (sock.c), an asynchronous cached resolver (resolve.c), a Happy
 * Eyeballs connector with retry (connect.c) and a byte relay that uses
 * splice(2) or a user-space copy (relay.c).
 *
 * Threads. The resolver may be shared by several loops (its cache has a
 * mutex). Everything else belongs to the loop it was created on: call it
 * only on that loop's thread. Callbacks always run on the loop thread and
 * never from inside the call that started the operation, so a caller's
 * control flow is the same for fast and slow answers.
 *
 * This module takes plain parameters (timeouts, limits) and never reads
 * the configuration itself.
 */
#ifndef SKS5_NET_H
#define SKS5_NET_H

#include <sys/socket.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ev;
struct pool;

/* ----- sockets and addresses (sock.c) ----- */

/* How a connect attempt ended, from the most to the least useful. */
enum net_outcome {
	NET_OK = 0,
	NET_REFUSED,		/* ECONNREFUSED */
	NET_NET_UNREACH,	/* ENETUNREACH, ENETDOWN */
	NET_HOST_UNREACH,	/* EHOSTUNREACH, EHOSTDOWN */
	NET_TIMEOUT,		/* our deadline, or ETIMEDOUT from the kernel */
	NET_FAILED,		/* anything else (EACCES, EADDRNOTAVAIL, ...) */
};

/* Longest text net_sockaddr_format() writes: "[v6]:port" plus NUL. */
#define NET_ADDRSTRLEN	(46 + 2 + 1 + 5 + 1)

/*
 * Opens a nonblocking, close-on-exec TCP listener with SO_REUSEADDR (and
 * SO_REUSEPORT when reuseport is set) bound to host:port, listening with
 * the given backlog (<= 0: SOMAXCONN). host is an IP literal, "localhost"
 * (127.0.0.1), "*" (every IPv4 and IPv6 address: a dual-stack "::" socket
 * with IPV6_V6ONLY off, or 0.0.0.0 where the host has no IPv6), "0.0.0.0"
 * (IPv4 only) or "::" (IPv6 only: IPV6_V6ONLY on, so "::" and "0.0.0.0"
 * can be bound side by side). No name is ever resolved. Port 0 picks a
 * free port; ask net_local_port() which one. Returns the fd, or ERR_INVAL
 * (bad host) or ERR_IO, with a message for a person in err.
 */
int	net_listen_tcp(const char *host, uint16_t port, int reuseport,
	    int backlog, char *err, size_t errlen);

/* Returns the local port of a bound socket, or 0 on error. */
uint16_t net_local_port(int fd);

/* Sets TCP_NODELAY. 0 or ERR_IO. */
int	net_set_nodelay(int fd);

/* Sets O_NONBLOCK. 0 or ERR_IO. */
int	net_set_nonblock(int fd);

/*
 * Turns on TCP keepalive with the given idle time and probe interval in
 * seconds (probes: 4). 0 or ERR_IO.
 */
int	net_set_keepalive(int fd, int idle_s, int intvl_s);

/*
 * Writes "1.2.3.4:80" or "[::1]:80" (IPv4-mapped IPv6 addresses are kept
 * in their IPv6 form). Returns 0, ERR_INVAL (unknown family) or
 * ERR_TOO_LARGE (out too small; out is then "" if len > 0).
 */
int	net_sockaddr_format(const struct sockaddr *sa, char *out, size_t len);

/*
 * Parses an IPv4 dotted quad or an IPv6 literal without brackets (no
 * zone index) into ss with the given port. 0, or ERR_INVAL when host is
 * not a literal (ss and len are then zeroed).
 */
int	net_sockaddr_parse_literal(const char *host, uint16_t port,
	    struct sockaddr_storage *ss, socklen_t *len);

/* Length of the sockaddr for ss's family (0 for an unknown family). */
socklen_t net_sockaddr_len(const struct sockaddr_storage *ss);

/* Returns the port of an AF_INET/AF_INET6 address (0 otherwise). */
uint16_t net_sockaddr_port(const struct sockaddr_storage *ss);

/* Sets the port of an AF_INET/AF_INET6 address; others are left alone. */
void	net_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port);

/* Maps an errno value from connect() or SO_ERROR to an outcome. */
enum net_outcome net_outcome_from_errno(int e);

/* Short static name of an outcome ("refused", "timeout", ...). */
const char *net_outcome_str(enum net_outcome o);

/* ----- resolver (resolve.c) ----- */

/* Most addresses one answer carries; the rest are dropped. */
#define NET_RESOLVE_MAX_ADDRS	16
/* TTL used when ttl_s is -1: getaddrinfo() exposes no record TTL. */
#define NET_RESOLVE_DEFAULT_TTL	60
/* Longest name accepted (RFC 1035 text form, one trailing dot more). */
#define NET_RESOLVE_MAX_NAME	254

struct net_resolver;
struct net_resolve_req;

/*
 * Result of a lookup, on the loop thread. status is 0 (naddrs >= 1),
 * ERR_NOTFOUND (the name does not exist or has no address: host
 * unreachable), ERR_AGAIN (temporary failure: the DNS server did not
 * answer, or the worker queue was full), ERR_INVAL (the string is no
 * valid name) or ERR_IO (any other resolver failure). The addresses are
 * borrowed for the duration of the call and carry port 0 (set the port
 * with net_sockaddr_set_port()); they are in the resolver's order
 * (RFC 6724), without duplicates.
 */
typedef void	(*net_resolve_cb)(void *arg, int status,
		    const struct sockaddr_storage *addrs, size_t naddrs);

/*
 * The blocking lookup a worker runs: fills at most max addresses (port
 * 0) and returns 0 (*n >= 1) or a status as above. The default calls
 * getaddrinfo() (AF_UNSPEC, no AI_ADDRCONFIG, so ::1 works on hosts
 * whose only IPv6 address is loopback; /etc/hosts and nsswitch apply).
 * Tests and other back ends may substitute their own; it must be
 * thread-safe.
 */
typedef int	(*net_lookup_fn)(const char *host,
		    struct sockaddr_storage *out, size_t max, size_t *n);

/* Resolver counters (for metrics and tests). */
struct net_resolver_stats {
	uint64_t	hits;		/* answered from the cache */
	uint64_t	misses;		/* sent to a worker */
	uint64_t	lookups;	/* worker lookups finished */
	uint64_t	evictions;	/* live entries dropped to make room */
	size_t		entries;	/* entries in the cache now */
};

/*
 * Creates a resolver whose lookups run on pool (borrowed; it must outlive
 * the resolver's pending lookups). ttl_s: -1 keeps answers for
 * NET_RESOLVE_DEFAULT_TTL seconds, 0 turns the cache off, N > 0 keeps
 * them N seconds. max_entries bounds the cache (0 turns it off); when it
 * is full, expired entries go first, then the least recently used one.
 * Failures are never cached. Never returns NULL.
 */
struct net_resolver *net_resolver_new(struct pool *pool, int64_t ttl_s,
	    size_t max_entries);

/*
 * Drops the caller's reference. Lookups still running on workers keep the
 * resolver alive until they finish (their callbacks still run); the last
 * one frees it. NULL is a no-op.
 */
void	net_resolver_free(struct net_resolver *r);

/* Replaces the lookup function (NULL restores getaddrinfo). */
void	net_resolver_set_lookup(struct net_resolver *r, net_lookup_fn fn);

/* Copies the counters; thread-safe. */
void	net_resolver_stats(struct net_resolver *r,
	    struct net_resolver_stats *out);

/*
 * Resolves host (a name or an IP literal; IPv6 without brackets) and
 * calls cb(arg, ...) once on loop's thread, always later (through
 * ev_post() or the pool), never from inside this call. Cached answers
 * and literals cost no worker. Returns a handle that stays valid until
 * the callback starts or net_resolve_cancel() is called; never NULL.
 * There is no built-in timeout (getaddrinfo cannot be interrupted): the
 * caller arms its own timer and cancels.
 */
struct net_resolve_req *net_resolve(struct net_resolver *r, struct ev *loop,
	    const char *host, net_resolve_cb cb, void *arg);

/*
 * Cancels a request before its callback ran (loop thread only): the
 * callback never runs and the request's memory is released when the
 * worker's answer comes back (or at once if it is already queued).
 */
void	net_resolve_cancel(struct net_resolve_req *req);

/* ----- connector (connect.c) ----- */

/* Connector options; net_connect_opts_init() fills in the defaults. */
struct net_connect_opts {
	uint32_t	timeout_ms;	/* per attempt; 0 = no deadline */
	unsigned	retries;	/* extra rounds after a failed one */
	uint32_t	retry_delay_ms;	/* first backoff, doubled each round */
	uint32_t	retry_max_delay_ms; /* backoff cap */
	uint32_t	he_delay_ms;	/* Happy Eyeballs stagger (RFC 8305) */
	int		keepalive_idle_s; /* 0 = no TCP keepalive */
	int		keepalive_intvl_s;
	struct sockaddr_storage bind_addr; /* source address, if bind_len */
	socklen_t	bind_len;	/* 0 = let the kernel choose */
};

/* What the connector reports, once. */
struct net_connect_result {
	enum net_outcome outcome;
	int		 fd;		/* NET_OK: connected, caller owns it */
	int		 sys_errno;	/* errno behind a failure, or 0 */
	unsigned	 attempts;	/* connect() calls made in total */
	struct sockaddr_storage local;	/* NET_OK: our end (BND.ADDR) */
	struct sockaddr_storage peer;	/* NET_OK: the address that won */
};

typedef void	(*net_connect_cb)(void *arg,
		    const struct net_connect_result *res);

struct net_connect;

/* Defaults: 10 s per attempt, no retry, 1 s first backoff capped at 30 s,
 * 250 ms Happy Eyeballs delay, keepalive 60 s / 15 s, no bind. */
void	net_connect_opts_init(struct net_connect_opts *o);

/*
 * Connects to one of addrs (copied; AF_INET/AF_INET6 with their ports)
 * the Happy Eyeballs way (RFC 8305 sections 4-5): the families are
 * interleaved starting with the first address's family, and the next
 * attempt starts when the previous one has neither connected nor failed
 * within he_delay_ms, or as soon as it fails. The first attempt to connect
 * wins and every other one is closed. When every address has failed and
 * retries remain, the whole round starts again after the backoff
 * (retry_delay_ms, doubled each round, capped at retry_max_delay_ms).
 *
 * cb runs once on the loop thread, never from inside this call. On
 * NET_OK the fd is connected, nonblocking, close-on-exec, with
 * TCP_NODELAY (and keepalive if asked for). When attempts fail
 * differently, the outcome is the most informative one seen in the last
 * round: refused, then host unreachable, then network unreachable, then
 * timeout, then failed. The handle is freed right after cb returns; do
 * not use it from cb on. Never returns NULL (no address: cb reports
 * NET_FAILED with EDESTADDRREQ).
 */
struct net_connect *net_connect_start(struct ev *loop,
	    const struct sockaddr_storage *addrs, size_t naddrs,
	    const struct net_connect_opts *opts, net_connect_cb cb, void *arg);

/* Stops a connect before its callback ran: closes every socket, frees
 * the handle; the callback never runs. Loop thread only. */
void	net_connect_cancel(struct net_connect *c);

/* ----- relay (relay.c) ----- */

/* Why a relay ended. */
enum net_relay_reason {
	NET_RELAY_EOF = 0,	/* both directions reached EOF and drained */
	NET_RELAY_IDLE,		/* no byte either way for idle_timeout_ms */
	NET_RELAY_ERR_A,	/* read or write error on fd_a (e.g. reset) */
	NET_RELAY_ERR_B,	/* read or write error on fd_b */
	NET_RELAY_LIMIT,	/* the meter said stop (a quota is used up) */
};

/*
 * Optional byte meter (bandwidth limits, quotas), shared by both
 * directions. grant returns how many bytes may be read now (at most
 * want): 0 with *wait_us > 0 pauses reading that long, 0 with *wait_us
 * == 0 ends the relay (NET_RELAY_LIMIT). settle reports how many of the
 * granted bytes a read actually took. The relay never reads more than
 * granted, so a limit is never overshot.
 */
struct net_relay_meter {
	size_t	(*grant)(void *arg, size_t want, uint64_t *wait_us);
	void	(*settle)(void *arg, size_t granted, size_t used);
	void	 *arg;
};

struct net_pipe_cache;

/* Relay options; zero fields take the defaults named here. */
struct net_relay_opts {
	uint32_t	 idle_timeout_ms; /* 0: none */
	int		 copy;		/* 1: read/write copy instead of splice */
	size_t		 read_budget;	/* per direction per wakeup: 256 KiB */
	size_t		 copy_buf_size;	/* copy mode buffer: 32 KiB */
	int		 pipe_size;	/* F_SETPIPE_SZ for new pipes: 64 KiB */
	struct net_pipe_cache *pipes;	/* reuse pipes (same loop), or NULL */
	/* Optional running totals (e.g. per user), added after each write. */
	_Atomic uint64_t *total_a_to_b;
	_Atomic uint64_t *total_b_to_a;
	/* NULL: no meter, the fast path is untouched. Borrowed. */
	const struct net_relay_meter *meter;
};

/* Called once when the relay has ended; the caller then frees it (it may
 * call net_relay_free() from inside this callback). */
typedef void	(*net_relay_done_cb)(void *arg, uint64_t a_to_b,
		    uint64_t b_to_a, enum net_relay_reason reason);

struct net_relay;

/*
 * Relays bytes between the connected stream sockets fd_a and fd_b (made
 * nonblocking here) until both directions have ended. EOF on one side is
 * passed on as shutdown(SHUT_WR) of the other once everything read has
 * been written, and the other direction goes on until its own EOF. A
 * read or write error ends both directions. Any byte moved resets the
 * idle timer. When the relay ends, both fds are closed and done runs
 * once from a posted task.
 *
 * The relay owns fd_a and fd_b from a successful call on: it closes them
 * when it ends or when it is freed. Splice mode falls back to copy mode
 * when no pipe can be had. Returns NULL only if the fds cannot be watched
 * (ERR_IO from ev_add); the fds then still belong to the caller.
 */
struct net_relay *net_relay_new(struct ev *loop, int fd_a, int fd_b,
	    const struct net_relay_opts *opts, net_relay_done_cb done,
	    void *arg);

/*
 * Frees a relay. Before done has run this aborts it: both fds are closed
 * and done never runs. NULL is a no-op. Loop thread only.
 */
void	net_relay_free(struct net_relay *r);

/* Bytes written so far in each direction. */
void	net_relay_bytes(const struct net_relay *r, uint64_t *a_to_b,
	    uint64_t *b_to_a);

/* Whether the relay runs in copy mode (asked for, or no pipe to be had). */
int	net_relay_is_copy(const struct net_relay *r);

/*
 * A small cache of empty pipe pairs for one loop, so that relays do not
 * call pipe2() and fcntl() for every connection. Holds at most max pairs
 * (2 fds each). Loop thread only; free it after its relays.
 */
struct net_pipe_cache *net_pipe_cache_new(size_t max);
void	net_pipe_cache_free(struct net_pipe_cache *pc);
/* Pipe pairs waiting in the cache now. */
size_t	net_pipe_cache_count(const struct net_pipe_cache *pc);

/* ----- TLS termination (tls.c) ----- */

/*
 * A server-side TLS configuration (OpenSSL 3): TLS 1.2 and 1.3 only,
 * forward-secret AEAD cipher suites, no renegotiation, no compression,
 * no client certificates. Shared by every loop (read-only after
 * creation).
 */
struct net_tls_ctx;

/*
 * Loads a PEM certificate chain and its private key. Fails (ERR_INVAL,
 * with a message for a person in err) when a file cannot be read or
 * parsed, when the key does not belong to the certificate, or when the
 * certificate is expired or not yet valid. *out is NULL on failure.
 */
int	net_tls_ctx_new(const char *cert_path, const char *key_path,
	    struct net_tls_ctx **out, char *err, size_t errlen);
void	net_tls_ctx_free(struct net_tls_ctx *ctx);

/*
 * The TLS terminators of one loop. A terminator takes an accepted TCP
 * connection, runs the TLS handshake (bounded by a timeout) and then
 * copies bytes through two bounded buffers between the TLS session and
 * a local socket pair, whose other end the caller treats as a plain
 * connection. Half-closes pass through both ways (close_notify and FIN
 * one way, shutdown(SHUT_WR) the other); when either side fails, or the
 * caller closes its end completely, the terminator closes everything.
 * Terminators free themselves: net_tls_set_reap() (called from the
 * loop's before-sleep hook) releases the finished ones, and
 * net_tls_set_free() closes and frees whatever is left. Loop thread only.
 */
struct net_tls_set;

struct net_tls_set *net_tls_set_new(struct ev *loop, struct net_tls_ctx *ctx,
	    size_t bufsz);
void	net_tls_set_reap(struct net_tls_set *set);
void	net_tls_set_free(struct net_tls_set *set);
/* Terminators alive now. */
size_t	net_tls_set_count(const struct net_tls_set *set);

/*
 * Takes ownership of the accepted TCP socket fd and starts the TLS
 * handshake, which must finish within handshake_ms. Returns the caller's
 * end of the socket pair (nonblocking, close-on-exec, owned by the
 * caller), or ERR_IO (fd is then closed). label names the peer in logs.
 */
int	net_tls_wrap(struct net_tls_set *set, int fd, uint32_t handshake_ms,
	    const char *label);

/* ----- upstream SOCKS5 proxy client (upstream.c) ----- */

/* What an upstream attempt reports, once. */
struct net_upstream_result {
	int		 ok;		/* 1: fd is a tunnel to the target */
	int		 fd;		/* ok: caller owns it */
	uint8_t		 rep;		/* !ok: SOCKS5 reply for our client */
	char		 why[160];	/* !ok: reason for the log */
	struct sockaddr_storage local;	/* ok: our end towards the proxy */
};

typedef void	(*net_upstream_cb)(void *arg,
		    const struct net_upstream_result *res);

struct net_upstream;

/*
 * Opens a tunnel to host:port (an IPv4/IPv6 literal, sent as such, or a
 * name, sent as a name) through the SOCKS5 proxy at proxy_host:proxy_port
 * (resolved with resolver when it is a name): connect, greeting (no auth,
 * or RFC 1929 when user is not NULL), CONNECT, reply. The whole exchange
 * must finish within timeout_ms. user and pass are copied and wiped after
 * use; they never appear in res->why. cb runs once on the loop thread,
 * never from inside this call; the handle is freed right after cb
 * returns. On failure rep is the upstream's own reply code when it sent
 * one, else a code for the local failure (unreachable proxy, timeout,
 * protocol error). Never returns NULL.
 */
struct net_upstream *net_upstream_start(struct ev *loop,
	    struct net_resolver *resolver, const char *proxy_host,
	    uint16_t proxy_port, const char *user, const char *pass,
	    const char *host, uint16_t port, uint32_t timeout_ms,
	    net_upstream_cb cb, void *arg);

/* Stops an attempt before its callback ran; the callback never runs.
 * Loop thread only; not from inside cb. */
void	net_upstream_cancel(struct net_upstream *u);

#endif /* SKS5_NET_H */

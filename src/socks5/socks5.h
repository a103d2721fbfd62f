/*
 * The SOCKS5 server (RFC 1928 with RFC 1929 username/password): one
 * socks5_worker per data-plane loop, each accepting from its own
 * SO_REUSEPORT listener.
 *
 * A connection goes greeting -> auth (Argon2id on the worker pool) ->
 * request -> policy (limits, ACL on the name) -> resolve -> anti-SSRF and
 * ACL on every address -> connect -> reply -> relay. Every refusal after
 * authentication is answered with a reply code, never a silent close.
 *
 * Everything here runs on the worker's loop thread, except
 * socks5_worker_active(), which any thread may read.
 */
#ifndef SKS5_SOCKS5_H
#define SKS5_SOCKS5_H

#include <stddef.h>

struct ev;
struct net_resolver;
struct net_tls_ctx;
struct policy_holder;
struct pool;

/* What a worker borrows from the server; all must outlive it. */
struct socks5_env {
	struct policy_holder	*policy;	/* current snapshot */
	struct pool		*pool;		/* password verification */
	struct net_resolver	*resolver;
	struct net_tls_ctx	*tls;		/* TLS listener, or NULL */
};

struct socks5_worker;

/*
 * Starts serving listen_fd (nonblocking, owned by the worker from now on)
 * on loop. Returns NULL if the fd cannot be watched.
 */
struct socks5_worker *socks5_worker_new(struct ev *loop,
	    const struct socks5_env *env, int listen_fd);

/* Stops accepting and closes the listener; live connections go on. */
void	socks5_worker_stop_accepting(struct socks5_worker *w);

/* Connections alive now (handshaking or relaying); any thread. */
size_t	socks5_worker_active(const struct socks5_worker *w);

/* Closes every connection and frees the worker (loop thread). NULL ok. */
void	socks5_worker_free(struct socks5_worker *w);

#endif /* SKS5_SOCKS5_H */

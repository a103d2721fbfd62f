/*
 * The SSH server on libssh 0.10: one listener with an accept thread, and
 * one thread per SSH connection owning its libssh session, its
 * ssh_event, and an ev loop (epoll) for the sockets of its forwarded
 * channels, its timers and the completions of blocking work.
 *
 * Every connection goes: accept (caps on total, unauthenticated, and
 * unauthenticated per address) -> key exchange (bounded by the login
 * grace time) -> authentication (password with Argon2id on the worker
 * pool, publickey, OpenSSH certificates, keyboard-interactive TOTP,
 * method chaining) -> channels (direct-tcpip through the same policy
 * path as SOCKS5; session with exec and shell).
 */
#ifndef SKS5_SSH_SSHD_H
#define SKS5_SSH_SSHD_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct net_resolver;
struct policy_holder;
struct pool;
struct shell_store;

/* What the SSH server borrows from the server; all must outlive it. */
struct sshd_env {
	struct policy_holder	*policy;
	struct pool		*pool;
	struct net_resolver	*resolver;
	struct shell_store	*store;	/* shared; NULL: sshd keeps its own */
};

struct sshd;

/*
 * Loads (or creates) the host key, binds server.ssh_listen and applies
 * the algorithm lists of cfg. Returns NULL with a message in err.
 */
struct sshd *sshd_new(const struct cfg *cfg, const struct sshd_env *env,
	    char *err, size_t errlen);

/* Starts the accept thread. 0 or ERR_IO. */
int	sshd_start(struct sshd *d);

/* Stops accepting new connections; live ones go on. Any thread. */
void	sshd_stop_accepting(struct sshd *d);

/* SSH connections alive now; any thread. */
size_t	sshd_active(struct sshd *d);

/* One authenticated SSH connection, or one proxied stream of it. */
struct sshd_session_info {
	char		user[256];
	char		source[64];	/* client "ip:port" */
	char		target[300];	/* "host:port"; "" for the connection */
	uint64_t	bytes_up, bytes_down;
	uint64_t	age_ms;
};

/*
 * The authenticated connections, each followed by its connected
 * direct-tcpip streams: a heap array in *out (free it) and its length.
 * Any thread.
 */
size_t	sshd_sessions(struct sshd *d, struct sshd_session_info **out);

/*
 * Closes every SSH connection of user: shells get "Kicked by
 * administrator.", streams end (outcome "kicked"), then the connection
 * closes. Returns how many connections were told (they act within a
 * tenth of a second). Any thread; the caller logs and audits.
 */
size_t	sshd_kick(struct sshd *d, const char *user);

/* Milliseconds since sshd_new(). */
uint64_t sshd_uptime_ms(const struct sshd *d);

/* Asks every connection to close, waits for their threads, frees. */
void	sshd_free(struct sshd *d);

/* The port actually bound (useful with port 0). */
unsigned sshd_port(const struct sshd *d);

#endif /* SKS5_SSH_SSHD_H */

/*
 * shell: the emulated shell of SSH sessions. A library with no SSH inside:
 * the SSH module feeds it the bytes of a `shell` channel and sends what it
 * writes back, or runs one command line for an `exec` channel.
 *
 * Nothing here forks, execs or touches the real filesystem. The shell
 * shows a per-user, read-only, in-memory filesystem and a fixed set of
 * built-in commands (see docs/SHELL.md). Live values (connections,
 * bandwidth, quotas, uptime) and network probes (test, ping, resolve) are
 * reached through a table of callbacks, struct shell_ops, that the caller
 * implements; shell_net_ops() below provides probes and lookups that need
 * only the policy snapshot.
 *
 * Threads. A session (struct shell) belongs to one thread at a time: the
 * caller serialises shell_input(), shell_resize() and shell_free(). The
 * SSH module runs one thread per connection, so a command may block that
 * thread: every blocking operation (probe, resolve) is bounded by a
 * timeout the shell passes to the callback. The per-user store (struct
 * shell_store) is shared by every session of the process and is
 * thread-safe.
 *
 * Output. Everything the shell writes goes through a shell_write_fn, line
 * endings are always "\r\n", and the write callback is never called after
 * shell_free().
 */
#ifndef SKS5_SHELL_H
#define SKS5_SHELL_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cfg;
struct cfg_user;
struct policy_snap;
struct policy_user;

/* Exit statuses of a command (shell_exec(), shell_last_status()). */
#define SHELL_STATUS_OK		0
#define SHELL_STATUS_FAIL	1	/* error, usage or permission denied */
#define SHELL_STATUS_NOTFOUND	127	/* "<cmd>: command not found" */

/* Longest input line in bytes; more is refused with BEL. */
#define SHELL_LINE_MAX		4096

/* Longest "[v6]:port" text plus NUL (the same as net's NET_ADDRSTRLEN). */
#define SHELL_ADDRSTRLEN	(46 + 2 + 1 + 5 + 1)
/* Most addresses one lookup returns. */
#define SHELL_RESOLVE_MAX	16

/*
 * A blocking name lookup, the same signature as net's net_lookup_fn (so
 * the SSH side may pass its resolver's): fills at most max addresses
 * (port 0) and returns 0 (*n >= 1), ERR_NOTFOUND, ERR_AGAIN, ERR_INVAL or
 * ERR_IO. Must be thread-safe.
 */
typedef int	(*shell_lookup_fn)(const char *host,
		    struct sockaddr_storage *out, size_t max, size_t *n);

/*
 * Writes len bytes to the client (the SSH channel). Returns 0, or a
 * negative value when the channel is gone: the shell then stops writing
 * for the current command and the caller should end the session.
 */
typedef int	(*shell_write_fn)(void *arg, const void *buf, size_t len);

/* ----- live values and network access, implemented by the caller ----- */

/*
 * The user's live counters, for `show`, the MOTD and `status`. Fields the
 * caller cannot provide stay 0. Byte counts are client<->target payload,
 * both directions added.
 */
struct shell_stats {
	uint32_t	active;		/* proxied streams now (SSH + SOCKS5) */
	uint64_t	bytes_hour;	/* rolling last 60 minutes */
	uint64_t	bytes_day;	/* since 00:00 UTC */
	uint64_t	bytes_month;	/* since the 1st, 00:00 UTC */
	uint64_t	bytes_total;	/* since the process (or store) began */
	uint32_t	conns_day;	/* streams started since 00:00 UTC */
	uint32_t	conns_month;
	uint64_t	rate_bps;	/* current throughput, bytes per second */
	uint64_t	uptime_s;	/* server uptime in seconds */
};

/* How a probe (test, ping) ended. */
enum shell_probe_status {
	SHELL_PROBE_OK = 0,	/* connected (and closed again) */
	SHELL_PROBE_DENIED,	/* the ACL refused the target */
	SHELL_PROBE_BLOCKED,	/* anti-SSRF refused an address */
	SHELL_PROBE_NORESOLVE,	/* the name did not resolve */
	SHELL_PROBE_REFUSED,	/* connection refused */
	SHELL_PROBE_UNREACH,	/* network or host unreachable */
	SHELL_PROBE_TIMEOUT,	/* no answer within the timeout */
	SHELL_PROBE_FAILED,	/* anything else */
};

/* What one probe found. Strings are NUL-terminated, "" when unknown. */
struct shell_probe {
	enum shell_probe_status	 status;
	int			 acl_allowed; /* the ACL allowed the target */
	/* The decision: acl_match_format() text ("allow rule 1
	 * 'example.com:443'", "default policy (deny)"), the blocked range
	 * for BLOCKED, the resolver error for NORESOLVE. */
	char			 why[200];
	char			 addr[SHELL_ADDRSTRLEN]; /* peer tried/used */
	uint64_t		 resolve_us;	/* time spent resolving */
	uint64_t		 connect_us;	/* TCP connect round trip */
};

/*
 * Callbacks the shell uses to reach the rest of the server. Any member may
 * be NULL: the commands that need it then answer "not available". Every
 * callback runs on the session's thread and may block it for at most the
 * timeout it is given.
 */
struct shell_ops {
	void	*arg;	/* passed to every callback */

	/* Fills *out with the user's live counters (already zeroed). */
	void	(*stats)(void *arg, struct shell_stats *out);

	/*
	 * One TCP probe to host:port through the same checks as forwarding:
	 * ACL on the name, resolution, anti-SSRF and ACL on every address,
	 * then a connect that is closed at once. host is a name or an IP
	 * literal (IPv6 without brackets). Fills *out (already zeroed) and
	 * returns 0 when a verdict was reached (out->status tells which),
	 * or a negative ERR_* when the probe could not run.
	 */
	int	(*probe)(void *arg, const char *host, uint16_t port,
		    uint32_t timeout_ms, struct shell_probe *out);

	/*
	 * Resolves host (a name or literal) into at most max addresses
	 * (port 0) within timeout_ms. Returns 0 (*n >= 1), ERR_NOTFOUND,
	 * ERR_AGAIN, ERR_TIMEOUT, ERR_DENIED (the ACL denies the name) or
	 * ERR_INVAL (not a valid name). *elapsed_us is the time it took.
	 */
	int	(*resolve)(void *arg, const char *host, uint32_t timeout_ms,
		    struct sockaddr_storage *addrs, size_t max, size_t *n,
		    uint64_t *elapsed_us);
};

/* ----- the admin command (role = admin), implemented by the caller ----- */

/* Server-wide figures for `admin server`. */
struct shell_admin_server {
	uint64_t	uptime_s;
	uint32_t	ssh_connections;	/* SSH connections now */
	uint32_t	active_streams;		/* proxied streams, all users */
	uint32_t	handshakes;		/* SOCKS5 not yet proxying */
	uint64_t	streams_total;
	uint64_t	bytes_total;		/* of streams that ended */
	uint32_t	users;			/* configured */
	int		maintenance;
};

/* One configured user for `admin users`. */
struct shell_admin_user {
	char		name[256];
	char		group[256];		/* "" none */
	int		admin;			/* role = admin */
	uint32_t	ssh_sessions;		/* SSH connections now */
	uint32_t	streams;		/* proxied streams now */
	uint64_t	bytes;			/* up + down since start */
};

/* One live SSH connection or one of its proxied streams. */
struct shell_admin_session {
	char		user[256];
	char		source[SHELL_ADDRSTRLEN]; /* client "ip:port" */
	char		target[300];	/* "host:port"; "" for the connection */
	uint64_t	bytes_up, bytes_down;	/* streams only */
	uint64_t	age_s;
};

/* One blocked address for `admin bans`. */
struct shell_admin_ban {
	char		addr[46];
	int64_t		until;		/* Unix time; 0: reputation block */
	double		rep;
	uint32_t	failures;
};

/*
 * What `admin` reaches. The list callbacks return a heap array in *out
 * (the shell frees it) and its length. The actions return 0,
 * ERR_NOTFOUND or ERR_INVAL; they log and audit on their own.
 */
struct shell_admin_ops {
	void	*arg;
	void	(*server)(void *arg, struct shell_admin_server *out);
	size_t	(*users)(void *arg, struct shell_admin_user **out);
	size_t	(*sessions)(void *arg, struct shell_admin_session **out);
	size_t	(*bans)(void *arg, struct shell_admin_ban **out);
	int	(*unban)(void *arg, const char *addr);
	/* *n: SSH connections told to close. */
	int	(*kick)(void *arg, const char *user, size_t *n);
	int	(*quota_reset)(void *arg, const char *user);
};

/* ----- per-user data that outlives a session ----- */

/*
 * Command history, bookmarks and runtime aliases of every user, kept in
 * memory for the life of the process and shared by all sessions of a
 * user (thread-safe). history_max bounds each user's history (FIFO),
 * bookmarks_max the bookmarks and aliases of each user (0: defaults 100
 * and 50). The persistence issue saves and loads it.
 */
struct shell_store;

struct shell_store *shell_store_new(uint32_t history_max,
	    uint32_t bookmarks_max);
/* Frees the store. Every session using it must be freed first. NULL ok. */
void	shell_store_free(struct shell_store *st);

/*
 * Persistence (src/persist). A copy of one user's data: history (oldest
 * first) and the sorted bookmarks (kv[SHELL_STORE_BOOKMARKS]) and aliases
 * (kv[SHELL_STORE_ALIASES]) as parallel arrays; active is the last use in
 * seconds since the epoch.
 */
#define SHELL_STORE_BOOKMARKS	0
#define SHELL_STORE_ALIASES	1
struct shell_store_user {
	char		 *name;
	char		**hist;
	size_t		  nhist;
	struct {
		char	**names;
		char	**values;
		size_t	  n;
	}		  kv[2];
	int64_t		  active;
	int		  dirty;	/* export: it had changed */
};

/* Copies every user (all set; marks untouched) or those changed since
 * the last export (their changed mark cleared). Free with
 * shell_store_users_free(). */
size_t	shell_store_export(struct shell_store *st, int all,
	    struct shell_store_user **out);
void	shell_store_users_free(struct shell_store_user *v, size_t n);
/* Marks a user changed again (its write failed). */
void	shell_store_mark_dirty(struct shell_store *st, const char *user);
/* Loads saved data of one user into the store (history trimmed to the
 * store's limit, entries beyond the bookmark limit dropped). */
void	shell_store_import(struct shell_store *st,
	    const struct shell_store_user *u);
/* Forgets users not used since before (seconds since the epoch) and not
 * in a session now. Returns how many; *names (heap array of heap
 * strings, free both) names them. */
size_t	shell_store_drop_inactive(struct shell_store *st, int64_t before,
	    char ***names);

/* ----- sessions ----- */

/*
 * Who is logged in and what the session may use. shell_new() and
 * shell_exec() copy the strings; cfg, user, store and ops are borrowed
 * and must outlive the session (the SSH side holds its policy snapshot
 * reference for as long as the session lives).
 */
struct shell_ctx {
	const struct cfg	*cfg;	/* [shell], [motd], limits */
	const struct cfg_user	*user;	/* user->eff: permissions, ACL... */
	const char	*source_ip;	/* client address, no port */
	const char	*auth_method;	/* "password", "publickey",
					 * "password+totp", ... */
	const char	*key_fingerprint; /* "SHA256:..." or NULL */
	time_t		 last_login;	/* previous login, 0: first login */
	const char	*term;		/* TERM of pty-req, NULL: no pty */
	struct shell_store	*store;	/* NULL: a private one per session */
	const struct shell_ops	*ops;	/* NULL: no live values */
	/* The admin command: offered to role = admin users only, and only
	 * when set. */
	const struct shell_admin_ops *admin;
};

struct shell;

/*
 * Creates an interactive session for a pty of cols x rows (0: 80 x 24),
 * writing through write(warg, ...). Colours are on when the user's
 * resolved `colors` is true and a pty with a TERM other than "dumb" was
 * requested. Nothing is written yet. Never returns NULL (aborts on OOM).
 */
struct shell *shell_new(const struct shell_ctx *ctx, unsigned cols,
	    unsigned rows, shell_write_fn write, void *warg);

/* Writes the MOTD (when enabled for the user) and the first prompt.
 * Returns 0, or the negative value the write callback returned. */
int	shell_start(struct shell *sh);

/*
 * Feeds raw terminal bytes (any split: escape sequences and UTF-8
 * characters may straddle calls). Echo, redraws and command output are
 * written from inside this call. Returns 0 while the session goes on,
 * 1 once it has ended (exit, logout, Ctrl-D on an empty line: "logout"
 * has been written; ignore further input and close the channel), or the
 * negative value the write callback returned.
 */
int	shell_input(struct shell *sh, const void *buf, size_t len);

/*
 * Writes msg (one line, no line ending) on a line of its own while the
 * user is typing, then redraws the prompt and the input line as they
 * were. For notices that do not come from a command (idle warning).
 * Returns 0, or the negative value the write callback returned.
 */
int	shell_notice(struct shell *sh, const char *msg);

/* The terminal changed size (window-change). 0 keeps the old value. */
void	shell_resize(struct shell *sh, unsigned cols, unsigned rows);

/* 1 once the session has ended (see shell_input), else 0. */
int	shell_done(const struct shell *sh);

/* Exit status of the last command run (for an exit-status message). */
int	shell_last_status(const struct shell *sh);

/* Frees a session; NULL is a no-op. */
void	shell_free(struct shell *sh);

/*
 * Runs one command line for an `exec` channel: no MOTD, no prompt, no
 * colours, nothing added to the history; aliases and every command work
 * as in a session. Output through write(warg, ...). Returns the exit
 * status: SHELL_STATUS_OK, SHELL_STATUS_FAIL (errors and permission
 * denied), SHELL_STATUS_NOTFOUND, or N for `exit N` (0..255).
 */
int	shell_exec(const struct shell_ctx *ctx, const char *line,
	    shell_write_fn write, void *warg);

/*
 * Renders the user's MOTD (template, permissions, colours as configured)
 * into a heap string with "\r\n" line endings, or NULL when the MOTD is
 * disabled for the user. The caller frees it.
 */
char	*shell_motd_render(const struct shell_ctx *ctx);

/* ----- probes without SSH: shell_ops on top of the policy snapshot ----- */

/*
 * Probes and lookups for shell_ops that need only policy data: a blocking
 * resolve on a helper thread bounded by the timeout (getaddrinfo, or
 * lookup when set), then the anti-SSRF and ACL checks of forwarding
 * (policy/acl.h) and a nonblocking connect with poll() bounded by the
 * timeout. Fill it, keep it alive as long as the session, and point
 * ops->arg at it.
 */
struct shell_net {
	const struct policy_snap *snap;	/* borrowed; ip_guard settings */
	const struct policy_user *user;	/* borrowed; the user's ACL */
	shell_lookup_fn		  lookup; /* NULL: getaddrinfo */
	/* Optional: passed through as shell_ops.stats(stats_arg, out). */
	void			(*stats)(void *arg, struct shell_stats *out);
	void			 *stats_arg;
};

/* Fills ops with probe and resolve callbacks working on net (and stats
 * when net->stats is set); ops->arg becomes net. */
void	shell_net_ops(struct shell_net *net, struct shell_ops *ops);

/* The shell_ops callbacks themselves (arg is a struct shell_net). */
int	shell_net_probe(void *arg, const char *host, uint16_t port,
	    uint32_t timeout_ms, struct shell_probe *out);
int	shell_net_resolve(void *arg, const char *host, uint32_t timeout_ms,
	    struct sockaddr_storage *addrs, size_t max, size_t *n,
	    uint64_t *elapsed_us);

#endif /* SKS5_SHELL_H */

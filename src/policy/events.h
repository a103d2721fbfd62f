/*
 * Stream events: one record when a proxied stream starts, when it ends,
 * and when a request is refused, whatever the protocol (SOCKS5 CONNECT,
 * SSH direct-tcpip). Audit log, metrics, webhooks and the live dashboard
 * subscribe here instead of each protocol calling each of them.
 *
 * Subscribers are registered at start-up, before any worker runs, and the
 * list is read-only afterwards, so emitting takes no lock. A subscriber
 * runs on the thread of the connection (an event loop): it must be quick
 * and must not block.
 */
#ifndef SKS5_POLICY_EVENTS_H
#define SKS5_POLICY_EVENTS_H

#include <stdint.h>

enum stream_phase {
	STREAM_START = 0,	/* connected; relay starts */
	STREAM_END,		/* relay ended; bytes and duration final */
	STREAM_REFUSED,		/* request refused or the connect failed */
};

struct stream_event {
	enum stream_phase	 phase;
	const char		*proto;		/* "socks5", "ssh" */
	const char		*user;		/* never NULL ("-" unknown) */
	const char		*source;	/* client "ip:port" */
	const char		*host;		/* requested target */
	uint16_t		 port;
	uint64_t		 bytes_up;	/* client -> target */
	uint64_t		 bytes_down;	/* target -> client */
	uint64_t		 duration_ms;	/* since the stream's request */
	const char		*outcome;	/* END: eof, idle, client_error,
						   target_error; REFUSED: why */
	int			 code;		/* protocol reply code, or 0 */
};

typedef void	(*stream_hook_fn)(const struct stream_event *ev, void *arg);

#define STREAM_HOOKS_MAX	8

/* Adds a subscriber (start-up only). 0, or -1 when the table is full. */
int	stream_hook_add(stream_hook_fn fn, void *arg);
/* Removes every stream and auth subscriber (tests, shutdown). */
void	stream_hooks_clear(void);
/* Delivers ev to every subscriber in registration order. */
void	stream_emit(const struct stream_event *ev);
/* Name of a phase: "start", "end", "refused". */
const char *stream_phase_str(enum stream_phase p);

/*
 * Auth events: one record per authentication verdict, whatever the
 * protocol. Same rules as stream hooks (registered at start-up, run on
 * the connection's thread, quick). The user name of a failure is what the
 * client sent: untrusted text. No secret is ever part of an event.
 */
struct auth_event {
	int			 success;	/* 1 accepted, 0 refused */
	const char		*proto;		/* "socks5", "ssh" */
	const char		*user;		/* never NULL ("" none sent) */
	const char		*source;	/* client "ip:port" */
	const char		*method;	/* "password", "publickey" */
	const char		*reason;	/* failure cause, or NULL */
};

typedef void	(*auth_hook_fn)(const struct auth_event *ev, void *arg);

/* Adds a subscriber (start-up only). 0, or -1 when the table is full. */
int	auth_hook_add(auth_hook_fn fn, void *arg);
/* Delivers ev to every auth subscriber in registration order. */
void	auth_emit(const struct auth_event *ev);

/*
 * Operator actions (the admin shell command; later the REST API): one
 * record per change made, for the audit log. Same rules as the hooks
 * above.
 */
struct admin_event {
	const char		*action;	/* "kick", "unban",
						   "quota_reset" */
	const char		*actor;		/* administrator's user name */
	const char		*source;	/* actor's "ip:port" */
	const char		*via;		/* "ssh-shell", "api", "ws" */
	const char		*target;	/* user name or address */
	int64_t			 count;		/* sessions kicked; -1 n/a */
	const char		*message;	/* kick's message, or NULL */
};

typedef void	(*admin_hook_fn)(const struct admin_event *ev, void *arg);

/* Adds a subscriber (start-up only). 0, or -1 when the table is full. */
int	admin_hook_add(admin_hook_fn fn, void *arg);
/* Delivers ev to every admin subscriber in registration order. */
void	admin_emit(const struct admin_event *ev);

#endif

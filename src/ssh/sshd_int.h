/*
 * Internals of the SSH server shared by its files: sshd.c (listener,
 * host key, caps), sshd_conn.c (the connection thread and its loop),
 * sshd_auth.c (authentication), sshd_fwd.c (direct-tcpip), sshd_sess.c
 * (session channels).
 */
#ifndef SKS5_SSH_SSHD_INT_H
#define SKS5_SSH_SSHD_INT_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "net/net.h"
#include "ssh/sshd.h"

struct auth_totp_replay;
struct shell_store;
struct ev;
struct ev_timer;
struct policy_snap;
struct policy_meter;
struct policy_user;
struct fwd_lookup;
struct net_connect;

/* Authentication methods as bits. */
#define SSHD_M_PASSWORD	0x01u
#define SSHD_M_PUBKEY	0x02u
#define SSHD_M_KBDINT	0x04u
#define SSHD_M_CERT	0x08u

/* Pause before answering a failed authentication attempt. */
#define SSHD_FAIL_DELAY_MS	300
/* Most session + forwarding channels open at once on one connection. */
#define SSHD_MAX_CHANNELS	256
/* Bytes read from a target per channel per loop pass. */
#define SSHD_READ_BUDGET	(256 * 1024)
/* Largest chunk written into a channel at once. */
#define SSHD_CHUNK		32768

struct sshd {
	struct sshd_env		 env;
	ssh_bind		 bind;
	int			 lfd;
	unsigned		 port;
	int			 stopfd;	/* eventfd: stop accepting */
	pthread_t		 accept_thr;
	int			 started;
	pthread_mutex_t		 lock;	/* guards the fields below */
	pthread_cond_t		 cond;
	struct sshd_conn	*conns;
	size_t			 nconns;
	int			 closing;
	uint32_t		 max_conns;
	uint32_t		 max_unauth;
	uint32_t		 max_unauth_per_ip;
	struct auth_totp_replay	*totp;
	struct shell_store	*store;		/* history, bookmarks */
	struct shell_store	*own_store;	/* when env gave none */
	uint64_t		 start_ms;	/* util_mono_ms() at sshd_new */
};

enum sshd_chan_kind {
	SSHD_CHAN_FWD = 1,
	SSHD_CHAN_SESSION,
};

struct sshd_conn;

/* One channel of a connection. */
struct sshd_chan {
	struct sshd_conn	*c;
	struct sshd_chan	*next, *prev;
	enum sshd_chan_kind	 kind;
	ssh_channel		 ch;		/* NULL until accepted */
	struct ssh_channel_callbacks_struct cb;
	int			 dead;		/* free after dopoll */
	uint64_t		 last_io_ms;
	/* direct-tcpip */
	ssh_message		 open_msg;	/* held until connected */
	struct fwd_lookup	*lookup;	/* name lookup in flight */
	struct net_connect	*creq;
	int			 fd;
	int			 counted;	/* holds an active slot */
	char			 host[256];
	int			 host_is_name;
	uint16_t		 port;
	int			 tcp_eof;	/* target sent FIN */
	int			 ch_eof;	/* client sent EOF */
	int			 shut_wr;	/* FIN sent to the target */
	int			 paused;	/* waiting for window */
	int			 readable;	/* target may have bytes */
	unsigned char		*pend;		/* channel -> target backlog */
	size_t			 pend_len;
	unsigned char		*tx;		/* target -> channel backlog */
	size_t			 tx_len;
	_Atomic uint64_t	 up, down;	/* read by sshd_sessions() */
	uint64_t		 t_start;
	_Atomic int		 shown;		/* connected: host, port and
						 * t_start final (listings) */
	struct policy_meter	*meter;		/* NULL: no byte limits */
	uint64_t		 throttle_us;	/* mono us to resume; 0 none */
	int			 up_held;	/* client bytes wait in libssh */
	/* session */
	int			 has_pty;
	int			 started;	/* shell or exec running */
	unsigned		 cols, rows;
	char			 term[64];
	void			*shell;		/* shell emulator, or NULL */
};

/* One SSH connection, owned by its thread. */
struct sshd_conn {
	struct sshd		*d;
	struct sshd_conn	*next, *prev;	/* d->conns, under d->lock */
	pthread_t		 thr;
	int			 fd;
	struct sockaddr_storage	 peer;
	char			 peer_str[NET_ADDRSTRLEN];
	_Atomic int		 authed;
	int			 preauth_held;	/* policy_preauth_release() */
	_Atomic int		 stop;
	/* Guards the links of chans against listings from other threads
	 * (sshd_sessions()); the connection's thread alone changes them. */
	pthread_mutex_t		 ilock;
	_Atomic int		 kicked;	/* 1 asked, 2 acting on it */
	uint64_t		 kick_close_ms;	/* close by then */
	ssh_session		 s;
	ssh_event		 sev;
	struct ev		*loop;
	struct policy_snap	*snap;
	uint64_t		 t_start;
	/* authentication */
	char			 user[128];
	const struct policy_user *pu;
	unsigned		 need_any, need_all, done;
	unsigned		 failures;
	ssh_message		 held;		/* reply pending */
	struct ev_timer		*fail_timer;
	int			 verifying;
	unsigned		 pending_jobs;	/* pool work posting back */
	int			 kbd_prompted;
	int			 banner_sent;
	char			*force_command;
	int			 no_fwd, no_pty;
	char			*permitopen;
	char			 method[64];
	const char		*attempt;	/* method of the attempt */
	char			 fingerprint[80];	/* "SHA256:..." */
	/* channels */
	struct sshd_chan	*chans;
	size_t			 nchans;
	uint64_t		 wake_us;	/* earliest throttle end; 0 */
	/* keepalives (server.ssh_keepalive_*) */
	struct ssh_counter_struct rx;		/* packets from the peer */
	uint64_t		 ka_seen;	/* rx.in_packets last check */
	uint64_t		 ka_next_ms;	/* next check; 0 = off */
	uint32_t		 ka_missed;	/* sent without any answer */
};

/* sshd.c */
void	sshd__conn_gone(struct sshd *d, struct sshd_conn *c);

/* sshd_conn.c */
void	*sshd__conn_main(void *arg);
void	sshd__conn_close(struct sshd_conn *c, const char *why);
const char *sshd__session_why(struct sshd_conn *c, char *buf, size_t len);
const char *sshd__maint_why(struct sshd_conn *c, char *buf, size_t len);

/* sshd_auth.c */
void	sshd__auth_message(struct sshd_conn *c, ssh_message m);
void	sshd__auth_cleanup(struct sshd_conn *c);

/* sshd_fwd.c */
void	sshd__fwd_open(struct sshd_conn *c, ssh_message m);
void	sshd__fwd_after_poll(struct sshd_chan *ch);
void	sshd__fwd_free(struct sshd_chan *ch);
void	sshd__fwd_sweep(struct sshd_chan *ch, uint64_t now);
/* Throttled channels: resumes those due; returns the earliest wake (mono
 * us) of those still waiting, or 0. */
uint64_t sshd__fwd_throttle(struct sshd_chan *ch, uint64_t now_us);
/* Ends the channel for a kick (outcome "kicked"). */
void	sshd__fwd_kick(struct sshd_chan *ch);

/* sshd_sess.c */
void	sshd__sess_open(struct sshd_conn *c, ssh_message m);
void	sshd__sess_request(struct sshd_conn *c, struct sshd_chan *ch,
	    ssh_message m);
void	sshd__sess_free(struct sshd_chan *ch);
void	sshd__sess_after_poll(struct sshd_chan *ch);
/* Idle warning and idle disconnect of an interactive shell (each sweep). */
void	sshd__sess_sweep(struct sshd_chan *ch, uint64_t now);
/* Tells the shell it was kicked and ends the channel. */
void	sshd__sess_kick(struct sshd_chan *ch);

/* sshd_admin.c: what the admin shell command reaches (arg is c). */
struct shell_admin_ops;
void	sshd__admin_ops(struct sshd_conn *c, struct shell_admin_ops *ops);

/* sshd_conn.c: channel bookkeeping */
struct sshd_chan *sshd__chan_new(struct sshd_conn *c,
	    enum sshd_chan_kind kind);
void	sshd__chan_close_later(struct sshd_chan *ch);

#endif /* SKS5_SSH_SSHD_INT_H */

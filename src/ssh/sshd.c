/*
 * The SSH listener: host key, algorithm lists, the accept thread with its
 * connection caps, and the registry of live connections.
 */
#include "ssh/sshd.h"

#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/server.h>
#include <sodium.h>

#include "auth/auth.h"
#include "config/config.h"
#include "config/values.h"
#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"
#include "net/net.h"
#include "policy/policy.h"
#include "policy/snap.h"
#include "shell/shell.h"
#include "ssh/sshd_int.h"

/* Modern defaults (DESIGN.md): no SHA-1, no CBC, no NIST-curve key
 * exchange, MACs in encrypt-then-MAC mode only (ssh-audit reports no
 * failure); strict-kex is added by libssh itself. */
#define SSHD_DEF_KEX	"curve25519-sha256,curve25519-sha256@libssh.org," \
	"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," \
	"diffie-hellman-group14-sha256"
#define SSHD_DEF_CIPHERS "chacha20-poly1305@openssh.com," \
	"aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr," \
	"aes192-ctr,aes128-ctr"
#define SSHD_DEF_MACS	"hmac-sha2-256-etm@openssh.com," \
	"hmac-sha2-512-etm@openssh.com"
#define SSHD_HOSTKEY_ALGS "ssh-ed25519,ecdsa-sha2-nistp256," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"
/* Stack of a connection thread: libssh, OpenSSL and the shell. */
#define SSHD_STACK	(512 * 1024)

/* Creates the parent directories of path (mode 0700). */
static void
mkdir_parents(const char *path)
{
	char *p = xstrdup(path), *s = NULL;

	for (s = p + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		(void)mkdir(p, 0700);
		*s = '/';
	}
	free(p);
}

/*
 * Writes a new Ed25519 key to path: into a temporary file created 0600
 * with O_EXCL, then link()ed into place, so that the key is never
 * readable by others and two starting servers never overwrite each
 * other (the loser loads the winner's key).
 */
static int
hostkey_create(const char *path, char *err, size_t errlen)
{
	ssh_key key = NULL;
	char *b64 = NULL, *tmp = NULL;
	size_t len;
	ssize_t n;
	int fd = -1, rc = ERR_IO;

	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK ||
	    ssh_pki_export_privkey_base64(key, NULL, NULL, NULL,
	    &b64) != SSH_OK) {
		snprintf(err, errlen, "cannot generate an Ed25519 host key");
		goto out;
	}
	mkdir_parents(path);
	tmp = xasprintf("%s.tmp.%ld.%u", path, (long)getpid(),
	    randombytes_random());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	len = strlen(b64);
	n = write(fd, b64, len);
	if (n != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (link(tmp, path) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
	log_info("event=hostkey.created path=\"%s\" type=ssh-ed25519", path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	if (b64 != NULL) {
		util_wipe(b64, strlen(b64));
		ssh_string_free_char(b64);
	}
	ssh_key_free(key);
	return rc;
}

/* Smallest RSA host key accepted (bits). */
#define SSHD_RSA_MIN_BITS	2048

/* Reads a big-endian length field of an SSH wire blob. */
static int
blob_field(const unsigned char *b, size_t len, size_t *off, size_t *flen)
{
	uint32_t n;

	if (len - *off < 4)
		return -1;
	n = (uint32_t)b[*off] << 24 | (uint32_t)b[*off + 1] << 16 |
	    (uint32_t)b[*off + 2] << 8 | b[*off + 3];
	*off += 4;
	if (n > len - *off)
		return -1;
	*flen = n;
	return 0;
}

/* Modulus size of an RSA key in bits (0 when it cannot be read): the
 * public blob is string "ssh-rsa", mpint e, mpint n. */
static unsigned
rsa_bits(ssh_key key)
{
	unsigned char blob[4096];
	char *b64 = NULL;
	size_t len = 0, off = 0, f = 0, i;
	unsigned bits = 0;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return 0;
	if (sodium_base642bin(blob, sizeof(blob), b64, strlen(b64), NULL,
	    &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if (blob_field(blob, len, &off, &f) != 0)	/* type */
		goto out;
	off += f;
	if (blob_field(blob, len, &off, &f) != 0)	/* e */
		goto out;
	off += f;
	if (blob_field(blob, len, &off, &f) != 0 || f == 0)	/* n */
		goto out;
	for (i = 0; i < f && blob[off + i] == 0; i++)
		;
	if (i < f) {
		bits = (unsigned)(f - i - 1) * 8;
		for (f = blob[off + i]; f != 0; f >>= 1)
			bits++;
	}
out:
	ssh_string_free_char(b64);
	return bits;
}

/*
 * Accepts the host key types sks5 offers: Ed25519, ECDSA (P-256/384/521)
 * and RSA of at least SSHD_RSA_MIN_BITS (signed with rsa-sha2-256/512
 * only, never SHA-1 ssh-rsa: see SSHD_HOSTKEY_ALGS).
 */
static int
hostkey_check(const char *path, ssh_key key, char *err, size_t errlen)
{
	enum ssh_keytypes_e t = ssh_key_type(key);
	unsigned bits;

	switch (t) {
	case SSH_KEYTYPE_ED25519:
	case SSH_KEYTYPE_ECDSA_P256:
	case SSH_KEYTYPE_ECDSA_P384:
	case SSH_KEYTYPE_ECDSA_P521:
		break;
	case SSH_KEYTYPE_RSA:
		if ((bits = rsa_bits(key)) < SSHD_RSA_MIN_BITS) {
			snprintf(err, errlen, "host key %s: RSA key of %u "
			    "bits, at least %u needed", path, bits,
			    SSHD_RSA_MIN_BITS);
			return ERR_INVAL;
		}
		break;
	default:
		snprintf(err, errlen, "host key %s: unsupported type %s (use "
		    "Ed25519, ECDSA or RSA)", path, ssh_key_type_to_char(t) !=
		    NULL ? ssh_key_type_to_char(t) : "unknown");
		return ERR_INVAL;
	}
	log_info("event=hostkey.loaded path=\"%s\" type=%s", path,
	    t == SSH_KEYTYPE_RSA ? "rsa-sha2-512,rsa-sha2-256" :
	    ssh_key_type_to_char(t));
	return 0;
}

/* Loads the host key, creating it first when the file is missing. */
static int
hostkey_load(const char *path, ssh_key *out, char *err, size_t errlen)
{
	struct stat st;

	*out = NULL;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return ERR_IO;
		}
		if (hostkey_create(path, err, errlen) != 0)
			return ERR_IO;
	} else if ((st.st_mode & 077) != 0) {
		log_warn("event=hostkey.mode path=\"%s\" msg=\"host key is "
		    "readable by group or others\"", path);
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, out) !=
	    SSH_OK) {
		snprintf(err, errlen, "cannot read the host key %s", path);
		return ERR_IO;
	}
	if (hostkey_check(path, *out, err, errlen) != 0) {
		ssh_key_free(*out);
		*out = NULL;
		return ERR_INVAL;
	}
	return 0;
}

/* Joins a string list with commas, or returns a copy of def. */
static char *
join_or(const struct cfg_strv *v, const char *def)
{
	char *s = NULL, *n = NULL;
	size_t i;

	if (v->n == 0)
		return xstrdup(def);
	s = xstrdup(v->v[0]);
	for (i = 1; i < v->n; i++) {
		n = xasprintf("%s,%s", s, v->v[i]);
		free(s);
		s = n;
	}
	return s;
}

/* Applies one algorithm list; libssh drops names it does not know and
 * fails when none is left. */
static int
set_algs(ssh_bind b, enum ssh_bind_options_e o, const char *list,
    const char *what, char *err, size_t errlen)
{
	if (ssh_bind_options_set(b, o, list) != SSH_OK) {
		snprintf(err, errlen, "%s: no supported algorithm in \"%s\"",
		    what, list);
		return ERR_INVAL;
	}
	return 0;
}

/* Configures the bind object: host key, banner, algorithms. */
static int
bind_setup(struct sshd *d, const struct cfg *cfg, char *err, size_t errlen)
{
	ssh_key key = NULL;
	char *kex = NULL, *ciphers = NULL;
	int rc = ERR_INVAL, off = 0, verbosity = SSH_LOG_NOLOG;

	if ((d->bind = ssh_bind_new()) == NULL) {
		snprintf(err, errlen, "libssh: cannot create a bind object");
		return ERR_IO;
	}
	(void)ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG,
	    &off);
	(void)ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_LOG_VERBOSITY,
	    &verbosity);
	if (hostkey_load(cfg->server.host_key_path, &key, err, errlen) != 0)
		return ERR_IO;
	/* The bind owns the key from here on. */
	if (ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_IMPORT_KEY,
	    key) != SSH_OK) {
		ssh_key_free(key);
		snprintf(err, errlen, "libssh refused the host key");
		return ERR_IO;
	}
	/* libssh prefixes "SSH-2.0-" itself. */
	(void)ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_BANNER,
	    cfg->server.server_id + 8);
	kex = join_or(&cfg->server.allowed_kex, SSHD_DEF_KEX);
	ciphers = join_or(&cfg->server.allowed_ciphers, SSHD_DEF_CIPHERS);
	if (set_algs(d->bind, SSH_BIND_OPTIONS_KEY_EXCHANGE, kex,
	    "server.allowed_kex", err, errlen) != 0 ||
	    set_algs(d->bind, SSH_BIND_OPTIONS_CIPHERS_C_S, ciphers,
	    "server.allowed_ciphers", err, errlen) != 0 ||
	    set_algs(d->bind, SSH_BIND_OPTIONS_CIPHERS_S_C, ciphers,
	    "server.allowed_ciphers", err, errlen) != 0 ||
	    set_algs(d->bind, SSH_BIND_OPTIONS_HMAC_C_S, SSHD_DEF_MACS,
	    "MACs", err, errlen) != 0 ||
	    set_algs(d->bind, SSH_BIND_OPTIONS_HMAC_S_C, SSHD_DEF_MACS,
	    "MACs", err, errlen) != 0 ||
	    set_algs(d->bind, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
	    SSHD_HOSTKEY_ALGS, "host key algorithms", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(kex);
	free(ciphers);
	return rc;
}

struct sshd *
sshd_new(const struct cfg *cfg, const struct sshd_env *env, char *err,
    size_t errlen)
{
	struct sshd *d = xcalloc(1, sizeof(*d));
	struct cfg_listen l;

	d->env = *env;
	d->start_ms = util_mono_ms();
	d->lfd = -1;
	d->stopfd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->max_conns = cfg->limits.max_ssh_connections;
	d->max_unauth = cfg->limits.max_ssh_unauthenticated;
	d->max_unauth_per_ip = cfg->limits.max_ssh_unauthenticated_per_ip;
	d->totp = auth_totp_replay_new(10000);
	if ((d->store = env->store) == NULL)
		d->store = d->own_store = shell_store_new(
		    cfg->persistence.userdata.shell_history_max,
		    cfg->persistence.userdata.bookmarks_max);
	if (cfg_parse_listen(cfg->server.ssh_listen, &l, err, errlen) != 0 ||
	    bind_setup(d, cfg, err, errlen) != 0)
		goto fail;
	if ((d->lfd = net_listen_tcp(l.host, l.port, 0, 128, err,
	    errlen)) < 0)
		goto fail;
	d->port = net_local_port(d->lfd);
	if ((d->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	return d;
fail:
	sshd_free(d);
	return NULL;
}

unsigned
sshd_port(const struct sshd *d)
{
	return d->port;
}

/* Counts live connections for the caps; caller holds the lock. */
static int
caps_allow(struct sshd *d, const struct sockaddr_storage *peer,
    const char **why)
{
	struct sshd_conn *c = NULL;
	size_t unauth = 0, same = 0;
	char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];
	char *p = NULL;

	if (d->nconns >= d->max_conns) {
		*why = "limits.max_ssh_connections";
		return 0;
	}
	(void)net_sockaddr_format((const struct sockaddr *)peer, a,
	    sizeof(a));
	if ((p = strrchr(a, ':')) != NULL)
		*p = '\0';	/* compare the address without the port */
	for (c = d->conns; c != NULL; c = c->next) {
		if (atomic_load(&c->authed))
			continue;
		unauth++;
		(void)net_sockaddr_format((const struct sockaddr *)&c->peer,
		    b, sizeof(b));
		if ((p = strrchr(b, ':')) != NULL)
			*p = '\0';
		if (strcmp(a, b) == 0)
			same++;
	}
	if (unauth >= d->max_unauth) {
		*why = "limits.max_ssh_unauthenticated";
		return 0;
	}
	if (same >= d->max_unauth_per_ip) {
		*why = "limits.max_ssh_unauthenticated_per_ip";
		return 0;
	}
	return 1;
}

/* Frees a connection that never got its thread. */
static void
conn_abort(struct sshd *d, struct sshd_conn *c)
{
	sshd__conn_gone(d, c);
	if (c->s != NULL)
		ssh_free(c->s);	/* closes the fd if it took it */
	else if (c->fd >= 0)
		close(c->fd);
	if (c->preauth_held)
		policy_preauth_release(c->snap,
		    (const struct sockaddr *)&c->peer);
	ev_free(c->loop);
	policy_snap_unref(c->snap);
	pthread_mutex_destroy(&c->ilock);
	free(c);
}

/* Takes one accepted socket: caps, then a thread of its own. */
static void
accept_one(struct sshd *d, int fd, const struct sockaddr_storage *peer)
{
	struct sshd_conn *c = NULL;
	pthread_attr_t attr;
	const char *why = NULL;
	char ps[NET_ADDRSTRLEN];
	enum policy_pre pre;
	int ok;

	(void)net_sockaddr_format((const struct sockaddr *)peer, ps,
	    sizeof(ps));
	pthread_mutex_lock(&d->lock);
	ok = !d->closing && caps_allow(d, peer, &why);
	if (ok) {
		c = xcalloc(1, sizeof(*c));
		pthread_mutex_init(&c->ilock, NULL);
		c->d = d;
		c->fd = fd;
		c->peer = *peer;
		memcpy(c->peer_str, ps, sizeof(ps));
		c->next = d->conns;
		if (d->conns != NULL)
			d->conns->prev = c;
		d->conns = c;
		d->nconns++;
	}
	pthread_mutex_unlock(&d->lock);
	if (!ok) {
		log_warn("event=connection.refused proto=ssh peer=%s "
		    "reason=\"%s\"", ps, why != NULL ? why : "shutting down");
		close(fd);
		return;
	}
	c->snap = policy_holder_get(d->env.policy);
	/* The pre-auth gate (bans, allowlist, per-IP rate) runs before key
	 * exchange; maintenance waits for the first auth request, where
	 * the client can be told why (sshd__auth_message). */
	pre = policy_preauth_gate(c->snap, (const struct sockaddr *)peer,
	    policy_now_ms(), 0);
	if (pre != POLICY_PRE_OK) {
		log_info("event=connection.refused proto=ssh peer=%s "
		    "reason=\"%s\"", ps, policy_pre_str(pre));
		conn_abort(d, c);
		return;
	}
	c->preauth_held = 1;
	c->loop = ev_new(64);
	(void)net_set_nodelay(fd);
	if (c->loop == NULL || (c->s = ssh_new()) == NULL) {
		log_warn("event=connection.error proto=ssh peer=%s "
		    "msg=\"setup\"", ps);
		conn_abort(d, c);
		return;
	}
	if (ssh_bind_accept_fd(d->bind, c->s, fd) != SSH_OK) {
		log_warn("event=connection.error proto=ssh peer=%s msg=\"%s\"",
		    ps, ssh_get_error(d->bind));
		/* The session may own the fd now: ssh_free() closes it and
		 * a second close could hit a reused number. */
		conn_abort(d, c);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SSHD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&c->thr, &attr, sshd__conn_main, c) != 0) {
		log_warn("event=connection.error proto=ssh peer=%s msg=\"no "
		    "thread\"", ps);
		conn_abort(d, c);
	}
	pthread_attr_destroy(&attr);
}

/* The accept thread: poll the listener and the stop eventfd. */
static void *
accept_main(void *arg)
{
	struct sshd *d = arg;
	struct pollfd pfd[2];
	struct sockaddr_storage ss;
	socklen_t sl;
	sigset_t all;
	int fd;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pfd[0].fd = d->lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = d->stopfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		sl = sizeof(ss);
		fd = accept4(d->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("accept: %s", strerror(errno));
				poll(NULL, 0, 100);
			}
			continue;
		}
		accept_one(d, fd, &ss);
	}
	return NULL;
}

int
sshd_start(struct sshd *d)
{
	if (pthread_create(&d->accept_thr, NULL, accept_main, d) != 0)
		return ERR_IO;
	d->started = 1;
	return 0;
}

void
sshd_stop_accepting(struct sshd *d)
{
	uint64_t one = 1;

	if (d == NULL || d->stopfd < 0)
		return;
	(void)write(d->stopfd, &one, sizeof(one));
}

size_t
sshd_active(struct sshd *d)
{
	size_t n;

	if (d == NULL)
		return 0;
	pthread_mutex_lock(&d->lock);
	n = d->nconns;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* A connection thread is done: unlink it (called on that thread). */
void
sshd__conn_gone(struct sshd *d, struct sshd_conn *c)
{
	pthread_mutex_lock(&d->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	d->nconns--;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* Loop task: wakes a connection loop so that it sees its stop flag. */
static void
wake_task(struct ev *loop, void *arg)
{
	(void)loop;
	(void)arg;
}

void
sshd_free(struct sshd *d)
{
	struct sshd_conn *c = NULL;

	if (d == NULL)
		return;
	if (d->started) {
		sshd_stop_accepting(d);
		pthread_join(d->accept_thr, NULL);
	}
	pthread_mutex_lock(&d->lock);
	d->closing = 1;
	for (c = d->conns; c != NULL; c = c->next) {
		atomic_store(&c->stop, 1);
		/* Ends a key exchange blocked on the socket at once. */
		(void)shutdown(c->fd, SHUT_RDWR);
		(void)ev_post(c->loop, wake_task, NULL);
	}
	while (d->nconns > 0)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	if (d->lfd >= 0)
		close(d->lfd);
	if (d->stopfd >= 0)
		close(d->stopfd);
	if (d->bind != NULL)
		ssh_bind_free(d->bind);
	auth_totp_replay_free(d->totp);
	shell_store_free(d->own_store);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

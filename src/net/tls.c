/*
 * TLS termination for stream listeners (OpenSSL 3). See net.h.
 *
 * Why a terminator and a socket pair instead of TLS inside the protocol
 * state machine: the SOCKS5 code stays one code path for plain and TLS
 * clients (it reads and writes an fd), and the TLS data path is one small
 * copy loop with two bounded buffers. The price is one extra local copy
 * per byte through the socket pair, which plain TCP clients never pay
 * (their relay keeps using splice).
 */
#include "net/net.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"

/* TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 keeps
 * OpenSSL's defaults, which are all AEAD. */
#define TLS_CIPHERS_12	"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
/* Largest label kept for logs. */
#define TLS_LABEL_MAX	64

struct net_tls_ctx {
	SSL_CTX	*ssl;
};

struct net_tls_conn {
	struct net_tls_set	*set;
	struct net_tls_conn	*next, *prev;	/* live list */
	struct net_tls_conn	*next_dead;
	int			 dead;
	SSL			*ssl;
	int			 fd;	/* TCP, TLS inside */
	int			 ufd;	/* our end of the socket pair */
	struct ev_timer		*timer;	/* handshake deadline */
	int			 hs_done;
	int			 tls_eof;	/* the client sent EOF */
	int			 u_eof;		/* the inner side sent EOF */
	int			 u_shut;	/* EOF passed inwards */
	int			 tls_shut;	/* EOF passed to the client */
	unsigned char		*to_u;	/* decrypted, for the inner side */
	size_t			 to_u_off, to_u_len;
	unsigned char		*to_t;	/* plain, to encrypt */
	size_t			 to_t_off, to_t_len;
	char			 label[TLS_LABEL_MAX];
};

struct net_tls_set {
	struct ev		*loop;
	struct net_tls_ctx	*ctx;
	size_t			 bufsz;
	struct net_tls_conn	*live;
	struct net_tls_conn	*dead;
	size_t			 count;
};

/* Collects OpenSSL's error queue into err. */
static void
tls_errstr(const char *what, const char *path, char *err, size_t errlen)
{
	char detail[256] = "";
	unsigned long e;

	if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	snprintf(err, errlen, "%s '%s'%s%s", what, path,
	    detail[0] != '\0' ? ": " : "", detail);
}

/* Refuses to prompt for a passphrase: encrypted keys are an error. */
static int
tls_no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

/* Checks that the certificate is valid now. */
static int
tls_check_dates(SSL_CTX *ssl, const char *path, char *err, size_t errlen)
{
	X509 *x = SSL_CTX_get0_certificate(ssl);

	if (x == NULL) {
		snprintf(err, errlen, "no certificate in '%s'", path);
		return ERR_INVAL;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		snprintf(err, errlen, "certificate '%s' has expired", path);
		return ERR_INVAL;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		snprintf(err, errlen, "certificate '%s' is not valid yet",
		    path);
		return ERR_INVAL;
	}
	return 0;
}

/* Loads the certificate and key into a new server context. */
int
net_tls_ctx_new(const char *cert_path, const char *key_path,
    struct net_tls_ctx **out, char *err, size_t errlen)
{
	SSL_CTX *ssl = NULL;
	int r = ERR_INVAL;

	*out = NULL;
	ERR_clear_error();
	if ((ssl = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "cannot create a TLS context");
		return ERR_NOMEM;
	}
	SSL_CTX_set_default_passwd_cb(ssl, tls_no_passphrase);
	if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ssl, TLS_CIPHERS_12) != 1) {
		snprintf(err, errlen, "cannot set the TLS protocol policy");
		goto out;
	}
	SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_use_certificate_chain_file(ssl, cert_path) != 1) {
		tls_errstr("cannot load the certificate chain", cert_path,
		    err, errlen);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ssl, key_path,
	    SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_LIB(ERR_peek_last_error()) == ERR_LIB_X509 &&
		    ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			snprintf(err, errlen, "private key '%s' does not "
			    "match certificate '%s'", key_path, cert_path);
			goto out;
		}
		tls_errstr("cannot load the private key", key_path, err,
		    errlen);
		goto out;
	}
	if (SSL_CTX_check_private_key(ssl) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "private key '%s' does not match "
		    "certificate '%s'", key_path, cert_path);
		goto out;
	}
	if (tls_check_dates(ssl, cert_path, err, errlen) != 0)
		goto out;
	*out = xcalloc(1, sizeof(**out));
	(*out)->ssl = ssl;
	ssl = NULL;
	r = 0;
out:
	SSL_CTX_free(ssl);
	return r;
}

void
net_tls_ctx_free(struct net_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

/* Creates the set of one loop. */
struct net_tls_set *
net_tls_set_new(struct ev *loop, struct net_tls_ctx *ctx, size_t bufsz)
{
	struct net_tls_set *set = xcalloc(1, sizeof(*set));

	set->loop = loop;
	set->ctx = ctx;
	set->bufsz = bufsz > 0 ? bufsz : 16384;
	return set;
}

size_t
net_tls_set_count(const struct net_tls_set *set)
{
	return set->count;
}

/* Closes a terminator's sockets; it is freed by the next reap. */
static void
tls_close(struct net_tls_conn *t)
{
	struct net_tls_set *set = t->set;

	if (t->dead)
		return;
	t->dead = 1;
	if (t->timer != NULL) {
		ev_timer_cancel(set->loop, t->timer);
		t->timer = NULL;
	}
	ev_del(set->loop, t->fd);
	ev_del(set->loop, t->ufd);
	close(t->fd);
	close(t->ufd);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		set->live = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->next_dead = set->dead;
	set->dead = t;
}

/* Frees a closed terminator. */
static void
tls_free(struct net_tls_conn *t)
{
	SSL_free(t->ssl);
	util_wipe(t->to_u, t->set->bufsz);
	util_wipe(t->to_t, t->set->bufsz);
	free(t->to_u);
	free(t->to_t);
	t->set->count--;
	free(t);
}

void
net_tls_set_reap(struct net_tls_set *set)
{
	struct net_tls_conn *t = NULL;

	if (set == NULL)
		return;
	while ((t = set->dead) != NULL) {
		set->dead = t->next_dead;
		tls_free(t);
	}
}

void
net_tls_set_free(struct net_tls_set *set)
{
	if (set == NULL)
		return;
	while (set->live != NULL)
		tls_close(set->live);
	net_tls_set_reap(set);
	free(set);
}

/* 1 when the inner side has closed its end completely. */
static int
tls_inner_gone(int ufd)
{
	struct pollfd p = { .fd = ufd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Runs the handshake; 1 when done, 0 when waiting, -1 on failure. */
static int
tls_handshake(struct net_tls_conn *t)
{
	int r, e;
	char detail[160] = "";

	ERR_clear_error();
	if ((r = SSL_do_handshake(t->ssl)) == 1) {
		t->hs_done = 1;
		if (t->timer != NULL) {
			ev_timer_cancel(t->set->loop, t->timer);
			t->timer = NULL;
		}
		log_debug("event=tls.handshake peer=%s version=%s cipher=%s",
		    t->label, SSL_get_version(t->ssl),
		    SSL_get_cipher_name(t->ssl));
		return 1;
	}
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	ERR_error_string_n(ERR_peek_error(), detail, sizeof(detail));
	ERR_clear_error();
	log_info("event=tls.handshake_failed peer=%s reason=\"%s\"",
	    t->label, detail[0] != '\0' ? detail : "connection closed");
	return -1;
}

/* Client -> inner side. Returns 1 on progress, 0 if blocked, -1 on
 * failure. */
static int
tls_pump_in(struct net_tls_conn *t)
{
	ssize_t n;
	int r, e;

	if (t->to_u_len == 0 && !t->tls_eof) {
		ERR_clear_error();
		r = SSL_read(t->ssl, t->to_u, (int)t->set->bufsz);
		if (r > 0) {
			t->to_u_off = 0;
			t->to_u_len = (size_t)r;
			return 1;
		}
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN) {
			t->tls_eof = 1;
			return 1;
		}
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		return 0;
	}
	if (t->to_u_len > 0) {
		n = send(t->ufd, t->to_u + t->to_u_off, t->to_u_len,
		    MSG_NOSIGNAL);
		if (n > 0) {
			t->to_u_off += (size_t)n;
			t->to_u_len -= (size_t)n;
			return 1;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	if (t->tls_eof && !t->u_shut) {
		(void)shutdown(t->ufd, SHUT_WR);
		t->u_shut = 1;
		return 1;
	}
	return 0;
}

/* Inner side -> client. Same returns as tls_pump_in(). */
static int
tls_pump_out(struct net_tls_conn *t)
{
	ssize_t n;
	int r, e;

	if (t->to_t_len == 0 && !t->u_eof) {
		n = recv(t->ufd, t->to_t, t->set->bufsz, 0);
		if (n > 0) {
			t->to_t_off = 0;
			t->to_t_len = (size_t)n;
			return 1;
		}
		if (n == 0) {
			t->u_eof = 1;
			return 1;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return -1;
	}
	if (t->to_t_len > 0) {
		ERR_clear_error();
		r = SSL_write(t->ssl, t->to_t + t->to_t_off, (int)t->to_t_len);
		if (r > 0) {
			t->to_t_off += (size_t)r;
			t->to_t_len -= (size_t)r;
			return 1;
		}
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		return -1;
	}
	if (t->u_eof && !t->tls_shut) {
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl);	/* sends close_notify */
		ERR_clear_error();
		(void)shutdown(t->fd, SHUT_WR);
		t->tls_shut = 1;
		return 1;
	}
	return 0;
}

/* Moves bytes both ways until everything would block. */
static void
tls_pump(struct net_tls_conn *t)
{
	int a, b;

	if (!t->hs_done) {
		if ((a = tls_handshake(t)) < 0) {
			tls_close(t);
			return;
		}
		if (a == 0)
			return;
	}
	do {
		a = tls_pump_in(t);
		b = tls_pump_out(t);
		if (a < 0 || b < 0) {
			tls_close(t);
			return;
		}
	} while (a > 0 || b > 0);
	if ((t->tls_eof && t->u_shut && t->tls_shut) ||
	    (t->u_eof && t->to_t_len == 0 && tls_inner_gone(t->ufd)))
		tls_close(t);
}

static void
tls_on_io(struct ev *loop, int fd, unsigned revents, void *arg)
{
	struct net_tls_conn *t = arg;

	(void)loop;
	if (t->dead)
		return;
	/* The inner side gave up (handshake timeout, pre-auth refusal)
	 * before the TLS handshake finished: stop spending work on it. */
	if (!t->hs_done && fd == t->ufd && (revents & EV_HUP) &&
	    tls_inner_gone(t->ufd)) {
		log_debug("event=tls.abandoned peer=%s", t->label);
		tls_close(t);
		return;
	}
	tls_pump(t);
}

static void
tls_on_timer(struct ev *loop, struct ev_timer *tm, void *arg)
{
	struct net_tls_conn *t = arg;

	(void)loop;
	(void)tm;
	t->timer = NULL;
	log_info("event=tls.handshake_timeout peer=%s", t->label);
	tls_close(t);
}

/* Starts terminating TLS on fd. */
int
net_tls_wrap(struct net_tls_set *set, int fd, uint32_t handshake_ms,
    const char *label)
{
	struct net_tls_conn *t = NULL;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sp) != 0) {
		log_warn("event=tls.error msg=\"socketpair: %s\"",
		    strerror(errno));
		close(fd);
		return ERR_IO;
	}
	(void)net_set_nodelay(fd);
	t = xcalloc(1, sizeof(*t));
	t->set = set;
	t->fd = fd;
	t->ufd = sp[0];
	snprintf(t->label, sizeof(t->label), "%s", label);
	t->to_u = xmalloc(set->bufsz);
	t->to_t = xmalloc(set->bufsz);
	set->count++;
	t->next = set->live;
	if (set->live != NULL)
		set->live->prev = t;
	set->live = t;
	if ((t->ssl = SSL_new(set->ctx->ssl)) == NULL ||
	    SSL_set_fd(t->ssl, fd) != 1 ||
	    ev_add(set->loop, fd, EV_READ | EV_WRITE, tls_on_io, t) != 0 ||
	    ev_add(set->loop, t->ufd, EV_READ | EV_WRITE, tls_on_io,
	    t) != 0) {
		ERR_clear_error();
		tls_close(t);
		close(sp[1]);
		return ERR_IO;
	}
	SSL_set_accept_state(t->ssl);
	if (handshake_ms > 0)
		t->timer = ev_timer_add(set->loop, handshake_ms, tls_on_timer,
		    t);
	return sp[1];
}

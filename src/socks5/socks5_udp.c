/*
 * SOCKS5 UDP ASSOCIATE relay. See socks5_udp.h for the rules it applies.
 *
 * Datagrams move in batches: recvmmsg() fills up to UDP_BATCH receive
 * buffers (shared by every association of the loop, so an idle
 * association costs no buffer), and the accepted ones leave with one
 * sendmmsg() per socket, the SOCKS5 header prepended through an iovec
 * instead of a copy.
 */
#include "socks5/socks5_udp.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/values.h"
#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/util.h"
#include "net/net.h"
#include "policy/acl.h"
#include "policy/policy.h"
#include "policy/snap.h"
#include "socks5/socks5_wire.h"

/* Datagrams handled per recvmmsg()/sendmmsg() call. */
#define UDP_BATCH		16
/* recvmmsg() calls per wakeup; the socket is level-triggered, so what
 * is left is picked up on the next iteration. */
#define UDP_BATCHES_PER_WAKEUP	4
/* Longest request header: RSV(2) FRAG ATYP LEN NAME(255) PORT(2). */
#define UDP_HDR_ROOM		262

struct socks5_udp_scratch {
	size_t			 bufsz;
	unsigned char		*buf;	/* UDP_BATCH * bufsz */
	struct mmsghdr		 in[UDP_BATCH];
	struct iovec		 iin[UDP_BATCH];
	struct sockaddr_storage	 from[UDP_BATCH];
	struct mmsghdr		 out[UDP_BATCH];
	struct iovec		 iout[UDP_BATCH][2];
	unsigned char		 hdr[UDP_BATCH][SOCKS5_UDP_HEADER_MAX];
};

enum udp_dest_state {
	UD_RESOLVING = 0,
	UD_ALLOWED,
	UD_DENIED,
};

struct udp_queued {
	unsigned char	*p;
	size_t		 len;
};

/* One destination the client named, with its cached verdict. */
struct udp_dest {
	struct socks5_udp	*u;
	enum udp_dest_state	 st;
	char			 host[CFG_HOST_MAX + 1];
	int			 is_name;
	uint16_t		 port;
	struct sockaddr_storage	 addr;	/* UD_ALLOWED: where datagrams go */
	struct net_resolve_req	*rreq;
	struct udp_queued	 q[SOCKS5_UDP_QUEUE_MAX];
	size_t			 nq;
};

/* Datagrams collected for one sendmmsg(). */
struct udp_batch {
	int		 fd;
	unsigned	 n;
	uint64_t	 bytes;
};

struct socks5_udp {
	struct socks5_udp_params p;
	int			 cfd;	/* faces the client */
	int			 ofd4, ofd6;	/* face the destinations */
	struct sockaddr_storage	 client;	/* pinned client address */
	int			 port_known;
	struct udp_dest		**dests;
	size_t			 ndests;
	uint32_t		 max_dests;
	size_t			 max_dgram;
	uint64_t		 timeout_ms;
	uint64_t		 last_ms;
	uint64_t		 t_start;
	struct ev_timer		*timer;
	int			 counted;	/* holds a udp_sessions slot */
	struct policy_meter	 meter;	/* bandwidth buckets and quotas */
	int			 metered;	/* 0: no limit applies */
	int			 ended;		/* p.end() called */
	struct socks5_udp_scratch *sc;
	/* Totals for the closing log line. */
	uint64_t		 n_up, n_down, b_up, b_down;
	uint64_t		 drop_foreign, drop_frag, drop_bad, drop_size;
	uint64_t		 drop_denied, drop_limit, drop_pending;
	uint64_t		 drop_bw, drop_quota;
};

/* Rewrites a v4-mapped IPv6 address as plain IPv4. */
static void
addr_norm(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = NULL;
	struct sockaddr_in s4;

	if (ss->ss_family != AF_INET6)
		return;
	s6 = (struct sockaddr_in6 *)(void *)ss;
	if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

/* 1 if both addresses have the same family and IP (ports ignored). */
static int
addr_ip_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return 0;
}

/* 1 if both addresses are the same IP and port. */
static int
addr_equal(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	return addr_ip_equal(a, b) &&
	    net_sockaddr_port(a) == net_sockaddr_port(b);
}

/* 1 for 0.0.0.0 or ::. */
static int
addr_is_any(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return s4->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
	return 1;
}

/* Makes sure the loop's scratch buffers hold datagrams of bufsz. */
static struct socks5_udp_scratch *
scratch_get(struct socks5_udp_scratch **slot, size_t bufsz)
{
	struct socks5_udp_scratch *sc = *slot;

	if (sc == NULL) {
		sc = xcalloc(1, sizeof(*sc));
		*slot = sc;
	}
	if (sc->bufsz < bufsz) {
		free(sc->buf);
		sc->buf = xmalloc(UDP_BATCH * bufsz);
		sc->bufsz = bufsz;
	}
	return sc;
}

/* Frees the scratch buffers. */
void
socks5_udp_scratch_free(struct socks5_udp_scratch *sc)
{
	if (sc == NULL)
		return;
	free(sc->buf);
	free(sc);
}

/* Reads up to UDP_BATCH datagrams into the scratch buffers. */
static int
udp_recv_batch(struct socks5_udp *u, int fd)
{
	struct socks5_udp_scratch *sc = u->sc;
	int i, n;

	for (i = 0; i < UDP_BATCH; i++) {
		sc->iin[i].iov_base = sc->buf + (size_t)i * sc->bufsz;
		sc->iin[i].iov_len = sc->bufsz;
		memset(&sc->in[i], 0, sizeof(sc->in[i]));
		sc->in[i].msg_hdr.msg_name = &sc->from[i];
		sc->in[i].msg_hdr.msg_namelen = sizeof(sc->from[i]);
		sc->in[i].msg_hdr.msg_iov = &sc->iin[i];
		sc->in[i].msg_hdr.msg_iovlen = 1;
	}
	do {
		n = recvmmsg(fd, sc->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* Sends the collected batch, skipping datagrams the kernel refuses. */
static void
udp_flush(struct udp_batch *b, struct mmsghdr *msgs)
{
	unsigned off = 0;
	int r;

	while (off < b->n) {
		r = sendmmsg(b->fd, msgs + off, b->n - off, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;	/* best effort: drop the rest */
			off++;		/* skip the one that failed */
			continue;
		}
		off += (unsigned)r;
	}
	b->n = 0;
}

/* Opens the socket towards destinations of a family, once. */
static int
udp_out_fd(struct socks5_udp *u, int family);

/*
 * Charges one datagram of len payload bytes to the meter (bandwidth
 * buckets, quotas), all or nothing: 1 when it may go, 0 when it is
 * dropped (a datagram is never queued for tokens). A used-up quota ends
 * the association, as it ends a TCP relay.
 */
static int
udp_meter_take(struct socks5_udp *u, size_t len)
{
	uint64_t wait_us = 0;
	int64_t now_ms;
	size_t g;

	if (!u->metered)
		return 1;
	now_ms = policy_now_ms();
	g = policy_meter_grant(&u->meter, len > 0 ? len : 1,
	    policy_mono_us(), now_ms, &wait_us);
	if (g >= len) {
		policy_meter_settle(&u->meter, g, len, now_ms);
		return 1;
	}
	policy_meter_settle(&u->meter, g, 0, now_ms);
	if (wait_us == 0) {	/* a quota, not a bucket, said no */
		u->drop_quota++;
		if (g == 0 && !u->ended) {
			u->ended = 1;
			log_info("event=quota.exceeded proto=socks5-udp "
			    "peer=%s user=%s reason=\"%s\" msg=\"association "
			    "ended at the limit\"", u->p.peer_str,
			    u->p.user->cfg->username, u->meter.why != NULL ?
			    u->meter.why : "quota");
			u->p.end(u->p.arg, "quota");
		}
		return 0;
	}
	u->drop_bw++;
	return 0;
}

/* Queues one payload for the destination's socket, flushing a full or
 * differently addressed batch first. */
static void
udp_batch_add(struct socks5_udp *u, struct udp_batch *b, struct udp_dest *d,
    unsigned char *p, size_t len)
{
	struct socks5_udp_scratch *sc = u->sc;
	struct mmsghdr *m = NULL;
	int fd;

	if ((fd = udp_out_fd(u, d->addr.ss_family)) < 0)
		return;
	if (!udp_meter_take(u, len))
		return;
	if (b->n > 0 && (b->fd != fd || b->n == UDP_BATCH))
		udp_flush(b, sc->out);
	b->fd = fd;
	m = &sc->out[b->n];
	memset(m, 0, sizeof(*m));
	sc->iout[b->n][0].iov_base = p;
	sc->iout[b->n][0].iov_len = len;
	m->msg_hdr.msg_name = &d->addr;
	m->msg_hdr.msg_namelen = net_sockaddr_len(&d->addr);
	m->msg_hdr.msg_iov = sc->iout[b->n];
	m->msg_hdr.msg_iovlen = 1;
	b->n++;
	u->n_up++;
	u->b_up += len;
	b->bytes += len;
}

/* Adds sent bytes to the per-user and global counters. */
static void
udp_account(struct socks5_udp *u, uint64_t up, uint64_t down)
{
	if (up > 0)
		atomic_fetch_add(&u->p.user->state->bytes_up, up);
	if (down > 0)
		atomic_fetch_add(&u->p.user->state->bytes_down, down);
	if (up + down > 0)
		atomic_fetch_add(&u->p.snap->state->bytes_total, up + down);
}

/* Logs a refused destination (once per destination). */
static void
udp_log_denied(struct socks5_udp *u, struct udp_dest *d, const char *why)
{
	if (u->p.snap->cfg->logging.log_denied_connections)
		log_info("event=udp.denied proto=socks5 peer=%s user=%s "
		    "target=%s:%u reason=\"%s\"", u->p.peer_str,
		    u->p.user->cfg->username, d->host, d->port, why);
	else
		log_debug("event=udp.denied proto=socks5 peer=%s user=%s "
		    "target=%s:%u reason=\"%s\"", u->p.peer_str,
		    u->p.user->cfg->username, d->host, d->port, why);
}

/* Anti-SSRF and ACL over the destination's addresses; sets d->st and,
 * when allowed, d->addr. */
static void
udp_decide(struct socks5_udp *u, struct udp_dest *d,
    struct sockaddr_storage *addrs, size_t n)
{
	const struct policy_snap *s = u->p.snap;
	const struct sockaddr *sas[NET_RESOLVE_MAX_ADDRS];
	struct acl_match why;
	char reason[200];
	size_t i;

	for (i = 0; i < n; i++) {
		addr_norm(&addrs[i]);
		net_sockaddr_set_port(&addrs[i], d->port);
		sas[i] = (const struct sockaddr *)&addrs[i];
		if ((s->cfg->security.ip_guard_enabled &&
		    ipguard_is_blocked(sas[i], s->guard_allow,
		    s->nguard_allow, reason, sizeof(reason))) ||
		    policy_target_check(u->p.snap, sas[i], reason,
		    sizeof(reason)) != NULL) {
			d->st = UD_DENIED;
			udp_log_denied(u, d, reason);
			return;
		}
	}
	if (d->port == 0 || acl_check(&u->p.user->acl,
	    d->is_name ? d->host : NULL, sas, n, d->port, &why) !=
	    ACL_ALLOW) {
		if (d->port == 0)
			snprintf(reason, sizeof(reason), "port 0");
		else
			acl_match_format(&why, reason, sizeof(reason));
		d->st = UD_DENIED;
		udp_log_denied(u, d, reason);
		return;
	}
	d->addr = addrs[0];
	d->st = UD_ALLOWED;
}

/* Drops the datagrams queued for a destination. */
static void
udp_dest_drop_queue(struct udp_dest *d)
{
	size_t i;

	for (i = 0; i < d->nq; i++)
		free(d->q[i].p);
	d->nq = 0;
}

/* Removes a destination from the table and frees it. */
static void
udp_dest_remove(struct socks5_udp *u, struct udp_dest *d)
{
	size_t i;

	for (i = 0; i < u->ndests; i++) {
		if (u->dests[i] == d) {
			u->dests[i] = u->dests[--u->ndests];
			break;
		}
	}
	if (d->rreq != NULL)
		net_resolve_cancel(d->rreq);
	udp_dest_drop_queue(d);
	free(d);
}

/* The resolver answered for a destination name. */
static void
udp_resolve_done(void *arg, int status, const struct sockaddr_storage *addrs,
    size_t n)
{
	struct udp_dest *d = arg;
	struct socks5_udp *u = d->u;
	struct sockaddr_storage copy[NET_RESOLVE_MAX_ADDRS];
	struct udp_batch b;
	size_t i;

	d->rreq = NULL;
	if (status != 0 || n == 0) {
		log_debug("event=udp.unresolved proto=socks5 peer=%s "
		    "target=%s:%u", u->p.peer_str, d->host, d->port);
		u->drop_pending += d->nq;
		udp_dest_remove(u, d);	/* the next datagram tries again */
		return;
	}
	if (n > NET_RESOLVE_MAX_ADDRS)
		n = NET_RESOLVE_MAX_ADDRS;
	memcpy(copy, addrs, n * sizeof(*addrs));
	udp_decide(u, d, copy, n);
	if (d->st != UD_ALLOWED) {
		u->drop_denied += d->nq;
		udp_dest_drop_queue(d);
		return;
	}
	memset(&b, 0, sizeof(b));
	for (i = 0; i < d->nq; i++)
		udp_batch_add(u, &b, d, d->q[i].p, d->q[i].len);
	if (b.n > 0)
		udp_flush(&b, u->sc->out);
	udp_account(u, b.bytes, 0);
	udp_dest_drop_queue(d);
}

/* Finds or creates the destination of a parsed header; NULL when the
 * table is full or the name is invalid. */
static struct udp_dest *
udp_dest_get(struct socks5_udp *u, const struct socks5_udp_header *uh)
{
	struct udp_dest *d = NULL;
	struct sockaddr_storage ss;
	struct acl_match why;
	char host[CFG_HOST_MAX + 1], err[160];
	uint16_t port = 0;
	socklen_t sl;
	size_t i, len;

	if (uh->atyp == SOCKS5_ATYP_IPV6 &&
	    IN6_IS_ADDR_V4MAPPED(&uh->addr.v6)) {
		inet_ntop(AF_INET, &uh->addr.v6.s6_addr[12], host,
		    sizeof(host));
		port = uh->port;
	} else if (socks5_udp_target(uh, host, sizeof(host), &port) != 0) {
		u->drop_bad++;
		return NULL;
	}
	if (uh->atyp == SOCKS5_ATYP_DOMAIN) {
		if (cfg_check_hostname(host, err, sizeof(err)) != 0) {
			u->drop_bad++;
			return NULL;
		}
		len = strlen(host);
		if (len > 1 && host[len - 1] == '.')
			host[len - 1] = '\0';
	}
	for (i = 0; i < u->ndests; i++) {
		d = u->dests[i];
		if (d->port == port && strcmp(d->host, host) == 0)
			return d;
	}
	if (u->ndests >= u->max_dests) {
		u->drop_limit++;
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	d->u = u;
	d->port = port;
	snprintf(d->host, sizeof(d->host), "%s", host);
	u->dests = xreallocarray(u->dests, u->ndests + 1, sizeof(*u->dests));
	u->dests[u->ndests++] = d;
	if (net_sockaddr_parse_literal(host, port, &ss, &sl) == 0) {
		udp_decide(u, d, &ss, 1);
		return d;
	}
	d->is_name = 1;
	if (acl_check_name(&u->p.user->acl, host, port, &why) == ACL_DENY) {
		acl_match_format(&why, err, sizeof(err));
		d->st = UD_DENIED;
		udp_log_denied(u, d, err);
		return d;
	}
	d->st = UD_RESOLVING;
	d->rreq = net_resolve(u->p.resolver, u->p.loop, host,
	    udp_resolve_done, d);
	return d;
}

/* One datagram from the client side: check, then batch or queue it. */
static void
udp_from_client(struct socks5_udp *u, struct udp_batch *b,
    struct sockaddr_storage *from, unsigned char *p, size_t len, int trunc)
{
	struct socks5_udp_header uh;
	struct udp_dest *d = NULL;
	struct udp_queued *q = NULL;
	size_t hl = 0;

	addr_norm(from);
	if (!addr_ip_equal(from, &u->client) || (u->port_known &&
	    net_sockaddr_port(from) != net_sockaddr_port(&u->client))) {
		u->drop_foreign++;
		return;
	}
	if (trunc) {
		u->drop_size++;
		return;
	}
	if (socks5_parse_udp_header(p, len, &uh, &hl) != 0) {
		u->drop_bad++;
		return;
	}
	if (uh.frag != 0) {
		u->drop_frag++;
		return;
	}
	if (len - hl > u->max_dgram) {
		u->drop_size++;
		return;
	}
	if (!u->port_known) {
		net_sockaddr_set_port(&u->client, net_sockaddr_port(from));
		u->port_known = 1;
	}
	u->last_ms = ev_now_ms(u->p.loop);
	if ((d = udp_dest_get(u, &uh)) == NULL)
		return;
	switch (d->st) {
	case UD_ALLOWED:
		udp_batch_add(u, b, d, p + hl, len - hl);
		break;
	case UD_DENIED:
		u->drop_denied++;
		break;
	case UD_RESOLVING:
		if (d->nq >= SOCKS5_UDP_QUEUE_MAX) {
			u->drop_pending++;
			break;
		}
		q = &d->q[d->nq++];
		q->len = len - hl;
		q->p = xmalloc(q->len > 0 ? q->len : 1);
		memcpy(q->p, p + hl, q->len);
		break;
	}
}

/* The client-side socket is readable. */
static void
udp_on_client(struct ev *loop, int fd, unsigned revents, void *arg)
{
	struct socks5_udp *u = arg;
	struct socks5_udp_scratch *sc = u->sc;
	struct udp_batch b;
	int i, k, n;

	(void)loop;
	(void)revents;
	for (k = 0; k < UDP_BATCHES_PER_WAKEUP; k++) {
		if ((n = udp_recv_batch(u, fd)) <= 0)
			break;
		memset(&b, 0, sizeof(b));
		for (i = 0; i < n; i++)
			udp_from_client(u, &b, &sc->from[i],
			    sc->iin[i].iov_base, sc->in[i].msg_len,
			    (sc->in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0);
		if (b.n > 0)
			udp_flush(&b, sc->out);
		udp_account(u, b.bytes, 0);
		if (n < UDP_BATCH)
			break;
	}
}

/* Finds the allowed destination a reply comes from. */
static struct udp_dest *
udp_dest_by_addr(struct socks5_udp *u, const struct sockaddr_storage *from)
{
	size_t i;

	for (i = 0; i < u->ndests; i++) {
		if (u->dests[i]->st == UD_ALLOWED &&
		    addr_equal(&u->dests[i]->addr, from))
			return u->dests[i];
	}
	return NULL;
}

/* A destination-side socket is readable: wrap and pass to the client. */
static void
udp_on_remote(struct ev *loop, int fd, unsigned revents, void *arg)
{
	struct socks5_udp *u = arg;
	struct socks5_udp_scratch *sc = u->sc;
	struct udp_batch b;
	struct mmsghdr *m = NULL;
	size_t hl, len;
	int i, k, n;

	(void)loop;
	(void)revents;
	for (k = 0; k < UDP_BATCHES_PER_WAKEUP; k++) {
		if ((n = udp_recv_batch(u, fd)) <= 0)
			break;
		memset(&b, 0, sizeof(b));
		b.fd = u->cfd;
		for (i = 0; i < n; i++) {
			len = sc->in[i].msg_len;
			addr_norm(&sc->from[i]);
			if (udp_dest_by_addr(u, &sc->from[i]) == NULL) {
				u->drop_foreign++;
				continue;
			}
			if ((sc->in[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    len > u->max_dgram) {
				u->drop_size++;
				continue;
			}
			if (!udp_meter_take(u, len))
				continue;
			if (socks5_put_udp_header(sc->hdr[b.n],
			    sizeof(sc->hdr[b.n]),
			    (const struct sockaddr *)&sc->from[i], &hl) != 0)
				continue;
			m = &sc->out[b.n];
			memset(m, 0, sizeof(*m));
			sc->iout[b.n][0].iov_base = sc->hdr[b.n];
			sc->iout[b.n][0].iov_len = hl;
			sc->iout[b.n][1].iov_base = sc->iin[i].iov_base;
			sc->iout[b.n][1].iov_len = len;
			m->msg_hdr.msg_name = &u->client;
			m->msg_hdr.msg_namelen = net_sockaddr_len(&u->client);
			m->msg_hdr.msg_iov = sc->iout[b.n];
			m->msg_hdr.msg_iovlen = 2;
			b.n++;
			b.bytes += len;
			u->n_down++;
		}
		if (b.n > 0) {
			u->last_ms = ev_now_ms(u->p.loop);
			udp_flush(&b, sc->out);
		}
		u->b_down += b.bytes;
		udp_account(u, 0, b.bytes);
		if (n < UDP_BATCH)
			break;
	}
}

/* Opens a nonblocking UDP socket; v6 sockets are IPv6-only. */
static int
udp_socket(int family)
{
	int fd, on = 1;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &on, sizeof(on)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
udp_out_fd(struct socks5_udp *u, int family)
{
	int *slot = family == AF_INET ? &u->ofd4 : &u->ofd6;

	if (*slot >= 0)
		return *slot;
	if (family != AF_INET && family != AF_INET6)
		return -1;
	if ((*slot = udp_socket(family)) < 0)
		return -1;
	if (ev_add(u->p.loop, *slot, EV_READ | EV_LEVEL, udp_on_remote,
	    u) != 0) {
		close(*slot);
		*slot = -1;
	}
	return *slot;
}

/* Idle check: ends the association after udp_relay_timeout quiet. */
static void
udp_on_timer(struct ev *loop, struct ev_timer *t, void *arg)
{
	struct socks5_udp *u = arg;
	uint64_t idle = ev_now_ms(loop) - u->last_ms;

	if (idle < u->timeout_ms) {
		ev_timer_reset(loop, t, u->timeout_ms - idle);
		return;
	}
	u->timer = NULL;
	if (u->ended)
		return;
	u->ended = 1;
	u->p.end(u->p.arg, "udp_relay_timeout");
}

/* Works out the pinned client address from the request. */
static int
udp_pin_client(struct socks5_udp *u, const struct socks5_request *req)
{
	struct sockaddr_storage want;
	socklen_t sl;
	char host[64];
	uint16_t port = 0;

	u->client = u->p.ctrl_peer;
	addr_norm(&u->client);
	net_sockaddr_set_port(&u->client, 0);
	if (req->atyp == SOCKS5_ATYP_DOMAIN)
		return 0;	/* no address to compare: keep the peer's */
	if (req->atyp == SOCKS5_ATYP_IPV6 &&
	    IN6_IS_ADDR_V4MAPPED(&req->addr.v6))
		inet_ntop(AF_INET, &req->addr.v6.s6_addr[12], host,
		    sizeof(host));
	else if (socks5_request_target(req, host, sizeof(host), &port) != 0)
		return ERR_INVAL;
	port = req->port;
	if (net_sockaddr_parse_literal(host, port, &want, &sl) != 0)
		return ERR_INVAL;
	if (!addr_is_any(&want) && !addr_ip_equal(&want, &u->client))
		return ERR_DENIED;
	if (port != 0) {
		net_sockaddr_set_port(&u->client, port);
		u->port_known = 1;
	}
	return 0;
}

/* Opens the client-side socket on the control connection's local IP. */
static int
udp_open_client_side(struct socks5_udp *u, struct sockaddr_storage *bnd)
{
	struct sockaddr_storage local = u->p.ctrl_local;
	socklen_t sl;

	addr_norm(&local);
	net_sockaddr_set_port(&local, 0);
	if ((u->cfd = udp_socket(local.ss_family)) < 0)
		return ERR_IO;
	sl = sizeof(*bnd);
	if (bind(u->cfd, (struct sockaddr *)&local,
	    net_sockaddr_len(&local)) != 0 ||
	    getsockname(u->cfd, (struct sockaddr *)bnd, &sl) != 0)
		return ERR_IO;
	if (ev_add(u->p.loop, u->cfd, EV_READ | EV_LEVEL, udp_on_client,
	    u) != 0)
		return ERR_IO;
	return 0;
}

/* Creates an association. */
int
socks5_udp_new(const struct socks5_udp_params *p,
    const struct socks5_request *req, struct socks5_udp **out,
    struct sockaddr_storage *bnd, uint8_t *rep, char *why, size_t whylen)
{
	const struct cfg_limits *lim = &p->snap->cfg->limits;
	struct socks5_udp *u = xcalloc(1, sizeof(*u));
	char relay[NET_ADDRSTRLEN];
	int r;

	*out = NULL;
	*rep = SOCKS5_REP_GENERAL_FAILURE;
	u->p = *p;
	u->cfd = u->ofd4 = u->ofd6 = -1;
	u->max_dests = lim->max_udp_destinations;
	u->max_dgram = lim->max_udp_datagram_size;
	u->timeout_ms = lim->udp_relay_timeout * 1000;
	u->t_start = u->last_ms = ev_now_ms(p->loop);
	if (atomic_fetch_add(&p->user->state->udp_sessions, 1) >=
	    lim->max_udp_sessions_per_user &&
	    lim->max_udp_sessions_per_user > 0) {
		atomic_fetch_sub(&p->user->state->udp_sessions, 1);
		*rep = SOCKS5_REP_NOT_ALLOWED;
		snprintf(why, whylen, "UDP session limit "
		    "(limits.max_udp_sessions_per_user)");
		free(u);
		return ERR_DENIED;
	}
	u->counted = 1;
	if ((r = udp_pin_client(u, req)) != 0) {
		*rep = r == ERR_DENIED ? SOCKS5_REP_NOT_ALLOWED :
		    SOCKS5_REP_GENERAL_FAILURE;
		snprintf(why, whylen, "UDP client address must be the "
		    "control connection's address or zeros");
		goto fail;
	}
	if (udp_open_client_side(u, bnd) != 0) {
		snprintf(why, whylen, "cannot open the UDP relay socket: %s",
		    strerror(errno));
		r = ERR_IO;
		goto fail;
	}
	u->sc = scratch_get(p->scratch, u->max_dgram + UDP_HDR_ROOM + 1);
	u->metered = policy_meter_init(&u->meter, p->snap, p->user,
	    policy_mono_us());
	u->timer = ev_timer_add(p->loop, u->timeout_ms, udp_on_timer, u);
	atomic_fetch_add(&p->user->state->streams, 1);
	atomic_fetch_add(&p->snap->state->streams_total, 1);
	(void)net_sockaddr_format((const struct sockaddr *)bnd, relay,
	    sizeof(relay));
	log_info("event=udp.associate proto=socks5 peer=%s user=%s relay=%s",
	    p->peer_str, p->user->cfg->username, relay);
	*out = u;
	return 0;
fail:
	u->timer = NULL;
	socks5_udp_free(u);
	return r;
}

void
socks5_udp_bytes(const struct socks5_udp *u, uint64_t *up, uint64_t *down)
{
	*up = u->b_up;
	*down = u->b_down;
}

uint64_t
socks5_udp_unmetered(const struct socks5_udp *u)
{
	return u->metered ? 0 : u->b_up + u->b_down;
}

/* Ends an association. */
void
socks5_udp_free(struct socks5_udp *u)
{
	size_t i;

	if (u == NULL)
		return;
	if (u->sc != NULL)
		log_info("event=udp.complete proto=socks5 peer=%s user=%s "
		    "datagrams_up=%llu datagrams_down=%llu bytes_up=%llu "
		    "bytes_down=%llu destinations=%zu dropped_denied=%llu "
		    "dropped_foreign=%llu dropped_frag=%llu dropped_bad=%llu "
		    "dropped_size=%llu dropped_limit=%llu "
		    "dropped_pending=%llu dropped_bandwidth=%llu "
		    "dropped_quota=%llu duration_ms=%llu", u->p.peer_str,
		    u->p.user->cfg->username, (unsigned long long)u->n_up,
		    (unsigned long long)u->n_down,
		    (unsigned long long)u->b_up,
		    (unsigned long long)u->b_down, u->ndests,
		    (unsigned long long)u->drop_denied,
		    (unsigned long long)u->drop_foreign,
		    (unsigned long long)u->drop_frag,
		    (unsigned long long)u->drop_bad,
		    (unsigned long long)u->drop_size,
		    (unsigned long long)u->drop_limit,
		    (unsigned long long)u->drop_pending,
		    (unsigned long long)u->drop_bw,
		    (unsigned long long)u->drop_quota,
		    (unsigned long long)(ev_now_ms(u->p.loop) - u->t_start));
	if (u->timer != NULL)
		ev_timer_cancel(u->p.loop, u->timer);
	for (i = 0; i < u->ndests; i++) {
		if (u->dests[i]->rreq != NULL)
			net_resolve_cancel(u->dests[i]->rreq);
		udp_dest_drop_queue(u->dests[i]);
		free(u->dests[i]);
	}
	free(u->dests);
	if (u->cfd >= 0) {
		(void)ev_del(u->p.loop, u->cfd);
		close(u->cfd);
	}
	if (u->ofd4 >= 0) {
		ev_del(u->p.loop, u->ofd4);
		close(u->ofd4);
	}
	if (u->ofd6 >= 0) {
		ev_del(u->p.loop, u->ofd6);
		close(u->ofd6);
	}
	if (u->counted)
		atomic_fetch_sub(&u->p.user->state->udp_sessions, 1);
	free(u);
}

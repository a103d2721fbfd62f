/*
 * shell_ops probes that need only the policy snapshot: the checks of
 * forwarding (ACL on the name, resolution, anti-SSRF and ACL on every
 * address) followed by one TCP connect that is closed at once. Everything
 * blocks the calling (session) thread for at most the given timeout: a
 * lookup runs on a detached helper thread we stop waiting for, a connect
 * is nonblocking with poll().
 */
#include "shell/shell.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"
#include "policy/acl.h"
#include "policy/snap.h"

/* Longest name looked up (RFC 1035 text form plus a trailing dot). */
#define SHELL_NAME_LEN	254

/* Monotonic microseconds. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Parses an IPv4 or IPv6 literal (no brackets) with a port. 0 or -1. */
static int
parse_literal(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return -1;
}

/* Sets the port of an IPv4 or IPv6 address. */
static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	} else if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	}
}

/* The length of the address for its family. */
static socklen_t
sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

/* "1.2.3.4:80" or "[::1]:80". */
static void
sa_format(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	char ip[INET6_ADDRSTRLEN];

	if (len > 0) {
		out[0] = '\0';
	}
	if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip)) != NULL) {
		snprintf(out, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip)) != NULL) {
		snprintf(out, len, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

/* Maps an errno of connect() or SO_ERROR to a probe status. */
static enum shell_probe_status
errno_status(int e)
{
	switch (e) {
	case 0:
		return SHELL_PROBE_OK;
	case ECONNREFUSED:
		return SHELL_PROBE_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SHELL_PROBE_UNREACH;
	case ETIMEDOUT:
		return SHELL_PROBE_TIMEOUT;
	default:
		return SHELL_PROBE_FAILED;
	}
}

/* The default lookup: getaddrinfo() for TCP, both families, deduped. */
static int
gai_lookup(const char *host, struct sockaddr_storage *out, size_t max,
    size_t *n)
{
	struct addrinfo hints, *res = NULL, *ai = NULL;
	size_t i;
	int rc;

	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		return rc == EAI_NONAME || rc == EAI_NODATA ? ERR_NOTFOUND :
		    rc == EAI_AGAIN ? ERR_AGAIN : ERR_IO;
	}
	for (ai = res; ai != NULL && *n < max; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(*out)) {
			continue;
		}
		for (i = 0; i < *n; i++) {
			if (memcmp(&out[i], ai->ai_addr, ai->ai_addrlen) == 0) {
				break;
			}
		}
		if (i == *n) {
			memset(&out[*n], 0, sizeof(out[*n]));
			memcpy(&out[*n], ai->ai_addr, ai->ai_addrlen);
			set_port(&out[*n], 0);
			(*n)++;
		}
	}
	freeaddrinfo(res);
	return *n > 0 ? 0 : ERR_NOTFOUND;
}

/* Most lookup threads alive at once in the process (a stuck DNS server
 * must not pile up threads); more lookups fail with ERR_AGAIN. The count
 * is a global on purpose: the bound is for the whole process, whichever
 * sessions and snapshots the lookups come from. */
#define LOOKUP_THREADS_MAX	64
static atomic_int lookup_threads;

/* A lookup on a helper thread; the last of caller and thread frees it. */
struct job {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 refs;
	int			 done;
	int			 status;
	shell_lookup_fn		 fn;
	char			 host[SHELL_NAME_LEN + 1];
	struct sockaddr_storage	 addrs[SHELL_RESOLVE_MAX];
	size_t			 n;
};

static void
job_unref(struct job *j)
{
	int last;

	pthread_mutex_lock(&j->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (last) {
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->lock);
		free(j);
	}
}

static void *
job_run(void *arg)
{
	struct job *j = arg;
	struct sockaddr_storage a[SHELL_RESOLVE_MAX];
	size_t n = 0;
	int st;

	st = j->fn(j->host, a, SHELL_RESOLVE_MAX, &n);
	pthread_mutex_lock(&j->lock);
	memcpy(j->addrs, a, sizeof(a));
	j->n = n;
	j->status = st;
	j->done = 1;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	job_unref(j);
	atomic_fetch_sub(&lookup_threads, 1);
	return NULL;
}

/* Resolves host within timeout_ms (literals at once). */
static int
lookup(const struct shell_net *net, const char *host, uint32_t timeout_ms,
    struct sockaddr_storage *addrs, size_t max, size_t *n)
{
	struct job *j = NULL;
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t tid;
	struct timespec dl;
	int r = 0;

	*n = 0;
	if (max > 0 && parse_literal(host, 0, &addrs[0]) == 0) {
		*n = 1;
		return 0;
	}
	if (strlen(host) > SHELL_NAME_LEN) {
		return ERR_INVAL;
	}
	if (atomic_fetch_add(&lookup_threads, 1) >= LOOKUP_THREADS_MAX) {
		atomic_fetch_sub(&lookup_threads, 1);
		return ERR_AGAIN;
	}
	j = xcalloc(1, sizeof(*j));
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->refs = 2;
	j->fn = net->lookup != NULL ? net->lookup : gai_lookup;
	snprintf(j->host, sizeof(j->host), "%s", host);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &ta, job_run, j) != 0) {
		pthread_attr_destroy(&ta);
		j->refs = 1;
		job_unref(j);
		atomic_fetch_sub(&lookup_threads, 1);
		return ERR_AGAIN;
	}
	pthread_attr_destroy(&ta);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->lock);
	while (!j->done && r == 0) {
		r = pthread_cond_timedwait(&j->cond, &j->lock, &dl);
	}
	if (j->done) {
		r = j->status;
		*n = j->n < max ? j->n : max;
		memcpy(addrs, j->addrs, *n * sizeof(*addrs));
	} else {
		r = ERR_TIMEOUT;
	}
	pthread_mutex_unlock(&j->lock);
	job_unref(j);
	return r;
}

/* Connects to one address within budget_ms. */
static enum shell_probe_status
try_connect(const struct sockaddr_storage *ss, uint32_t budget_ms)
{
	struct pollfd pfd;
	socklen_t el = sizeof(int);
	int fd, e = 0, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		return SHELL_PROBE_FAILED;
	}
	if (connect(fd, (const struct sockaddr *)ss, sa_len(ss)) == 0) {
		close(fd);
		return SHELL_PROBE_OK;
	}
	if (errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return errno_status(e);
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		r = poll(&pfd, 1, (int)budget_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		close(fd);
		return SHELL_PROBE_TIMEOUT;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) {
		close(fd);
		return SHELL_PROBE_FAILED;
	}
	close(fd);
	return errno_status(e);
}

/* Connects to the addresses in order within timeout_ms in total. */
static void
connect_any(struct sockaddr_storage *a, size_t n, uint32_t timeout_ms,
    struct shell_probe *out)
{
	enum shell_probe_status st = SHELL_PROBE_FAILED;
	uint64_t start = now_us(), t0, spent;
	size_t i;

	for (i = 0; i < n; i++) {
		spent = (now_us() - start) / 1000;
		if (spent >= timeout_ms) {
			st = SHELL_PROBE_TIMEOUT;
			break;
		}
		t0 = now_us();
		st = try_connect(&a[i], timeout_ms - (uint32_t)spent);
		sa_format(&a[i], out->addr, sizeof(out->addr));
		if (st == SHELL_PROBE_OK) {
			out->connect_us = now_us() - t0;
			break;
		}
	}
	out->status = st;
}

int
shell_net_probe(void *arg, const char *host, uint16_t port,
    uint32_t timeout_ms, struct shell_probe *out)
{
	const struct shell_net *net = arg;
	const struct acl *acl = &net->user->acl;
	struct sockaddr_storage a[SHELL_RESOLVE_MAX], tmp;
	const struct sockaddr *sas[SHELL_RESOLVE_MAX];
	struct acl_match why;
	uint64_t t0 = now_us(), spent;
	size_t n = 0, i;
	int is_name, r;

	memset(out, 0, sizeof(*out));
	is_name = parse_literal(host, port, &tmp) != 0;
	if (acl_check_name(acl, host, port, &why) == ACL_DENY) {
		out->status = SHELL_PROBE_DENIED;
		acl_match_format(&why, out->why, sizeof(out->why));
		return 0;
	}
	if ((r = lookup(net, host, timeout_ms, a, SHELL_RESOLVE_MAX,
	    &n)) != 0 || n == 0) {
		out->status = SHELL_PROBE_NORESOLVE;
		snprintf(out->why, sizeof(out->why), "%s",
		    r == ERR_NOTFOUND || r == 0 ? "name not found" :
		    r == ERR_TIMEOUT ? "no answer in time" : err_str(r));
		return 0;
	}
	out->resolve_us = now_us() - t0;
	for (i = 0; i < n; i++) {
		set_port(&a[i], port);
		sas[i] = (const struct sockaddr *)&a[i];
		if (net->snap->cfg->security.ip_guard_enabled &&
		    ipguard_is_blocked(sas[i], net->snap->guard_allow,
		    net->snap->nguard_allow, out->why, sizeof(out->why))) {
			out->status = SHELL_PROBE_BLOCKED;
			sa_format(&a[i], out->addr, sizeof(out->addr));
			return 0;
		}
	}
	r = acl_check(acl, is_name ? host : NULL, sas, n, port, &why);
	acl_match_format(&why, out->why, sizeof(out->why));
	if (r != ACL_ALLOW) {
		out->status = SHELL_PROBE_DENIED;
		return 0;
	}
	out->acl_allowed = 1;
	spent = (now_us() - t0) / 1000;
	connect_any(a, n, spent >= timeout_ms ? 1 :
	    timeout_ms - (uint32_t)spent, out);
	return 0;
}

int
shell_net_resolve(void *arg, const char *host, uint32_t timeout_ms,
    struct sockaddr_storage *addrs, size_t max, size_t *n,
    uint64_t *elapsed_us)
{
	const struct shell_net *net = arg;
	struct acl_match why;
	uint64_t t0 = now_us();
	int r;

	*n = 0;
	*elapsed_us = 0;
	if (acl_check_name(&net->user->acl, host, 0, &why) == ACL_DENY &&
	    why.source == ACL_SRC_DENY_RULE) {
		return ERR_DENIED;
	}
	r = lookup(net, host, timeout_ms, addrs, max, n);
	*elapsed_us = now_us() - t0;
	return r;
}

/* Passes stats through to the caller's function. */
static void
net_stats(void *arg, struct shell_stats *out)
{
	const struct shell_net *net = arg;

	net->stats(net->stats_arg, out);
}

void
shell_net_ops(struct shell_net *net, struct shell_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->arg = net;
	ops->probe = shell_net_probe;
	ops->resolve = shell_net_resolve;
	if (net->stats != NULL) {
		ops->stats = net_stats;
	}
}

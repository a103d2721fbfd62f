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
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

/* Monotonic microseconds. */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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
			net_sockaddr_set_port(&out[*n], 0);
			(*n)++;
		}
	}
	freeaddrinfo(res);
	return *n > 0 ? 0 : ERR_NOTFOUND;
}

/* A lookup on a helper thread; the last of caller and thread frees it. */
struct job {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 refs;
	int			 done;
	int			 status;
	net_lookup_fn		 fn;
	char			 host[NET_RESOLVE_MAX_NAME + 1];
	struct sockaddr_storage	 addrs[NET_RESOLVE_MAX_ADDRS];
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
	struct sockaddr_storage a[NET_RESOLVE_MAX_ADDRS];
	size_t n = 0;
	int st;

	st = j->fn(j->host, a, NET_RESOLVE_MAX_ADDRS, &n);
	pthread_mutex_lock(&j->lock);
	memcpy(j->addrs, a, sizeof(a));
	j->n = n;
	j->status = st;
	j->done = 1;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	job_unref(j);
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
	socklen_t sl;
	int r = 0;

	*n = 0;
	if (net_sockaddr_parse_literal(host, 0, &addrs[0], &sl) == 0) {
		*n = 1;
		return 0;
	}
	if (strlen(host) > NET_RESOLVE_MAX_NAME) {
		return ERR_INVAL;
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

/* Connects to one address within budget_ms; returns the outcome. */
static enum net_outcome
try_connect(const struct sockaddr_storage *ss, uint32_t budget_ms)
{
	struct pollfd pfd;
	socklen_t el = sizeof(int);
	int fd, e = 0, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		return NET_FAILED;
	}
	if (connect(fd, (const struct sockaddr *)ss,
	    net_sockaddr_len(ss)) == 0) {
		close(fd);
		return NET_OK;
	}
	if (errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return net_outcome_from_errno(e);
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		r = poll(&pfd, 1, (int)budget_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		close(fd);
		return NET_TIMEOUT;
	}
	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) {
		close(fd);
		return NET_FAILED;
	}
	close(fd);
	return e == 0 ? NET_OK : net_outcome_from_errno(e);
}

/* Maps a connector outcome to a probe status. */
static enum shell_probe_status
probe_status(enum net_outcome o)
{
	switch (o) {
	case NET_OK:
		return SHELL_PROBE_OK;
	case NET_REFUSED:
		return SHELL_PROBE_REFUSED;
	case NET_NET_UNREACH:
	case NET_HOST_UNREACH:
		return SHELL_PROBE_UNREACH;
	case NET_TIMEOUT:
		return SHELL_PROBE_TIMEOUT;
	default:
		return SHELL_PROBE_FAILED;
	}
}

/* Connects to the addresses in order within timeout_ms in total. */
static void
connect_any(struct sockaddr_storage *a, size_t n, uint32_t timeout_ms,
    struct shell_probe *out)
{
	uint64_t start = now_us(), t0, spent;
	enum net_outcome o = NET_FAILED;
	size_t i;

	for (i = 0; i < n; i++) {
		spent = (now_us() - start) / 1000;
		if (spent >= timeout_ms) {
			o = NET_TIMEOUT;
			break;
		}
		t0 = now_us();
		o = try_connect(&a[i], timeout_ms - (uint32_t)spent);
		net_sockaddr_format((struct sockaddr *)&a[i], out->addr,
		    sizeof(out->addr));
		if (o == NET_OK) {
			out->connect_us = now_us() - t0;
			break;
		}
	}
	out->status = probe_status(o);
}

int
shell_net_probe(void *arg, const char *host, uint16_t port,
    uint32_t timeout_ms, struct shell_probe *out)
{
	const struct shell_net *net = arg;
	const struct acl *acl = &net->user->acl;
	struct sockaddr_storage a[NET_RESOLVE_MAX_ADDRS], tmp;
	const struct sockaddr *sas[NET_RESOLVE_MAX_ADDRS];
	struct acl_match why;
	socklen_t sl;
	uint64_t t0 = now_us(), spent;
	size_t n = 0, i;
	int is_name, r;

	memset(out, 0, sizeof(*out));
	is_name = net_sockaddr_parse_literal(host, port, &tmp, &sl) != 0;
	if (acl_check_name(acl, host, port, &why) == ACL_DENY) {
		out->status = SHELL_PROBE_DENIED;
		acl_match_format(&why, out->why, sizeof(out->why));
		return 0;
	}
	if ((r = lookup(net, host, timeout_ms, a, NET_RESOLVE_MAX_ADDRS,
	    &n)) != 0 || n == 0) {
		out->status = SHELL_PROBE_NORESOLVE;
		snprintf(out->why, sizeof(out->why), "%s",
		    r == ERR_NOTFOUND || r == 0 ? "name not found" :
		    r == ERR_TIMEOUT ? "no answer in time" : err_str(r));
		return 0;
	}
	out->resolve_us = now_us() - t0;
	for (i = 0; i < n; i++) {
		net_sockaddr_set_port(&a[i], port);
		sas[i] = (const struct sockaddr *)&a[i];
		if (net->snap->cfg->security.ip_guard_enabled &&
		    ipguard_is_blocked(sas[i], net->snap->guard_allow,
		    net->snap->nguard_allow, out->why, sizeof(out->why))) {
			out->status = SHELL_PROBE_BLOCKED;
			net_sockaddr_format(sas[i], out->addr,
			    sizeof(out->addr));
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

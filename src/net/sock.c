/* Socket helpers: listeners, socket options, address text, errno mapping. */
#include "net/net.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* Writes a message into err (which may be NULL or empty). */
static void
sock_err(char *err, size_t errlen, const char *what, const char *host,
    uint16_t port, int e)
{
	if (err == NULL || errlen == 0) {
		return;
	}
	if (e != 0) {
		snprintf(err, errlen, "%s %s port %u: %s", what, host,
		    (unsigned)port, strerror(e));
	} else {
		snprintf(err, errlen, "%s %s port %u", what, host,
		    (unsigned)port);
	}
}

/* Sets an int socket option. */
static int
sock_setint(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v));
}

/* Creates, configures, binds and listens; returns the fd or -errno. */
static int
sock_listen_addr(const struct sockaddr_storage *ss, int v6only,
    int reuseport, int backlog)
{
	int fd, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd < 0) {
		return -errno;
	}
	if (sock_setint(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
	    (reuseport && sock_setint(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0) ||
	    (ss->ss_family == AF_INET6 &&
	    sock_setint(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, net_sockaddr_len(ss)) < 0 ||
	    listen(fd, backlog) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Opens a TCP listener on an IP literal or one of the wildcard names. */
int
net_listen_tcp(const char *host, uint16_t port, int reuseport, int backlog,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, v6only = 1;

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (host == NULL) {
		host = "";
	}
	if (backlog <= 0) {
		backlog = SOMAXCONN;
	}
	if (strcmp(host, "*") == 0) {
		/* Dual stack where possible, else IPv4 alone. */
		(void)net_sockaddr_parse_literal("::", port, &ss, &len);
		fd = sock_listen_addr(&ss, 0, reuseport, backlog);
		if (fd != -EAFNOSUPPORT) {
			goto done;
		}
		host = "0.0.0.0";
	} else if (strcmp(host, "localhost") == 0) {
		host = "127.0.0.1";
	}
	if (net_sockaddr_parse_literal(host, port, &ss, &len) != 0) {
		sock_err(err, errlen, "not an IP address or wildcard:", host,
		    port, 0);
		return ERR_INVAL;
	}
	fd = sock_listen_addr(&ss, v6only, reuseport, backlog);
done:
	if (fd < 0) {
		sock_err(err, errlen, "cannot listen on", host, port, -fd);
		return ERR_IO;
	}
	return fd;
}

/* Returns the port a socket is bound to. */
uint16_t
net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		return 0;
	}
	return net_sockaddr_port(&ss);
}

/* Turns off Nagle's algorithm. */
int
net_set_nodelay(int fd)
{
	return sock_setint(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0 ? ERR_IO : 0;
}

/* Makes an fd nonblocking. */
int
net_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0) {
		return ERR_IO;
	}
	if ((fl & O_NONBLOCK) != 0) {
		return 0;
	}
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? ERR_IO : 0;
}

/* Enables TCP keepalive probes. */
int
net_set_keepalive(int fd, int idle_s, int intvl_s)
{
	if (sock_setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1) < 0 ||
	    (idle_s > 0 &&
	    sock_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s) < 0) ||
	    (intvl_s > 0 &&
	    sock_setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl_s) < 0) ||
	    sock_setint(fd, IPPROTO_TCP, TCP_KEEPCNT, 4) < 0) {
		return ERR_IO;
	}
	return 0;
}

/* Formats an address with its port. */
int
net_sockaddr_format(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = NULL;
	const struct sockaddr_in6 *sin6 = NULL;
	int n;

	if (out != NULL && len > 0) {
		out[0] = '\0';
	}
	if (sa == NULL || out == NULL) {
		return ERR_INVAL;
	}
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		n = snprintf(out, len, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		n = snprintf(out, len, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		return ERR_INVAL;
	}
	if (n < 0 || (size_t)n >= len) {
		if (len > 0) {
			out[0] = '\0';
		}
		return ERR_TOO_LARGE;
	}
	return 0;
}

/* Parses an IPv4 or IPv6 literal. */
int
net_sockaddr_parse_literal(const char *host, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*len = 0;
	if (host == NULL) {
		return ERR_INVAL;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return ERR_INVAL;
}

/* Returns the sockaddr length for the family. */
socklen_t
net_sockaddr_len(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		return sizeof(struct sockaddr_in);
	}
	if (ss->ss_family == AF_INET6) {
		return sizeof(struct sockaddr_in6);
	}
	return 0;
}

/* Reads the port of an inet address. */
uint16_t
net_sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	if (ss->ss_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	return 0;
}

/* Writes the port of an inet address. */
void
net_sockaddr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	} else if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	}
}

/* Classifies a connect errno. */
enum net_outcome
net_outcome_from_errno(int e)
{
	switch (e) {
	case 0:
		return NET_OK;
	case ECONNREFUSED:
		return NET_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return NET_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return NET_HOST_UNREACH;
	case ETIMEDOUT:
		return NET_TIMEOUT;
	default:
		return NET_FAILED;
	}
}

/* Names an outcome. */
const char *
net_outcome_str(enum net_outcome o)
{
	switch (o) {
	case NET_OK:
		return "ok";
	case NET_REFUSED:
		return "refused";
	case NET_NET_UNREACH:
		return "network unreachable";
	case NET_HOST_UNREACH:
		return "host unreachable";
	case NET_TIMEOUT:
		return "timeout";
	case NET_FAILED:
		break;
	}
	return "failed";
}

/*
 * sink: a small, fast TCP target for the sks5 benchmarks.
 *
 * It listens on a loopback address and serves every connection according to
 * the first byte the client sends:
 *   'S'  source:  send data as fast as possible until the peer closes;
 *   'D'  discard: read and drop everything;
 *   'E'  echo:    send back every byte that follows.
 * Any other first byte closes the connection.  A connection that has not
 * sent its first byte yet is simply held (idle tunnels).
 * A UDP socket on the same port number answers every datagram with
 * itself (UDP round trips).
 *
 * One epoll loop per thread; each thread owns its own SO_REUSEPORT listener
 * on the same port, so the target is not the bottleneck.  The chosen port is
 * printed on stdout as a single line once every listener is up.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINK_BUFSZ	(256 * 1024)
#define ECHO_BUFSZ	(16 * 1024)
#define MAX_EVENTS	256
#define MAX_THREADS	16

struct conn {
	int		 mode;		/* 0 until the first byte arrived */
	char		*pend;		/* echo bytes not yet written */
	size_t		 pendlen;
	size_t		 pendoff;
};

struct worker {
	pthread_t	 tid;
	int		 lfd;
	int		 epfd;
};

static struct conn	*conns = NULL;
static size_t		 nconns = 0;
static char		 srcbuf[SINK_BUFSZ];

/* Print a message with errno text and exit. */
static void
die(const char *what)
{
	fprintf(stderr, "sink: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Raise the open-file limit as far as the hard limit allows. */
static size_t
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return 1024;
	}
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
		return 1048576;
	}
	return (size_t)rl.rlim_cur;
}

/* Make a listening socket on addr:port; port 0 picks a free one. */
static int
make_listener(const char *addr, unsigned short port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "sink: bad address %s\n", addr);
		exit(1);
	}
	if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "sink: refusing non-loopback address %s\n",
		    addr);
		exit(1);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		die("socket");
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		die("bind");
	}
	if (listen(fd, 4096) != 0) {
		die("listen");
	}
	return fd;
}

/* Return the port a socket is bound to. */
static unsigned short
bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		die("getsockname");
	}
	return ntohs(sin.sin_port);
}

/* Forget a connection and close its socket. */
static void
conn_close(int epfd, int fd)
{
	struct conn *c = &conns[fd];

	(void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	free(c->pend);
	memset(c, 0, sizeof(*c));
	close(fd);
}

/* Change the event set a connection waits for. */
static void
conn_want(int epfd, int fd, unsigned int ev)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.fd = fd;
	(void)epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &e);
}

/* Accept every pending connection on a listener. */
static void
do_accept(int epfd, int lfd)
{
	struct epoll_event e;
	int fd, one = 1;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			return;
		}
		if ((size_t)fd >= nconns) {
			close(fd);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		memset(&conns[fd], 0, sizeof(conns[fd]));
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN | EPOLLRDHUP;
		e.data.fd = fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
			close(fd);
		}
	}
}

/* Write pending echo bytes; return -1 when the connection must go. */
static int
echo_flush(int epfd, int fd, struct conn *c)
{
	ssize_t n;

	while (c->pendoff < c->pendlen) {
		n = write(fd, c->pend + c->pendoff, c->pendlen - c->pendoff);
		if (n < 0 && errno == EAGAIN) {
			conn_want(epfd, fd, EPOLLOUT);
			return 0;
		}
		if (n <= 0) {
			return -1;
		}
		c->pendoff += (size_t)n;
	}
	c->pendlen = c->pendoff = 0;
	conn_want(epfd, fd, EPOLLIN | EPOLLRDHUP);
	return 0;
}

/* Handle readable data according to the connection's mode. */
static int
on_read(int epfd, int fd, struct conn *c, char *buf)
{
	ssize_t n;
	size_t off;

	for (;;) {
		if (c->mode == 'E' && c->pendlen > 0) {
			return 0;	/* wait for the echo backlog to drain */
		}
		n = read(fd, buf, c->mode == 'E' ? ECHO_BUFSZ : SINK_BUFSZ);
		if (n == 0) {
			return -1;
		}
		if (n < 0) {
			return errno == EAGAIN ? 0 : -1;
		}
		off = 0;
		if (c->mode == 0) {
			c->mode = (unsigned char)buf[0];
			off = 1;
			if (c->mode == 'S') {
				conn_want(epfd, fd, EPOLLIN | EPOLLOUT |
				    EPOLLRDHUP);
			} else if (c->mode != 'E' && c->mode != 'D') {
				return -1;
			}
		}
		if (c->mode == 'E' && (size_t)n > off) {
			if (c->pend == NULL) {
				c->pend = malloc(ECHO_BUFSZ);
				if (c->pend == NULL) {
					return -1;
				}
			}
			memcpy(c->pend, buf + off, (size_t)n - off);
			c->pendlen = (size_t)n - off;
			c->pendoff = 0;
			if (echo_flush(epfd, fd, c) != 0) {
				return -1;
			}
		}
	}
}

/* Fill the socket of a source connection until it would block. */
static int
on_write(int epfd, int fd, struct conn *c)
{
	ssize_t n;

	if (c->mode == 'E') {
		return echo_flush(epfd, fd, c);
	}
	if (c->mode != 'S') {
		return 0;
	}
	for (;;) {
		n = send(fd, srcbuf, sizeof(srcbuf), MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			return 0;
		}
		if (n <= 0) {
			return -1;
		}
	}
}

/* Event loop of one thread. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[MAX_EVENTS];
	char *buf = NULL;
	int i, n, fd;

	if ((buf = malloc(SINK_BUFSZ)) == NULL) {
		die("malloc");
	}
	for (;;) {
		n = epoll_wait(w->epfd, ev, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			fd = ev[i].data.fd;
			if (fd == w->lfd) {
				do_accept(w->epfd, w->lfd);
				continue;
			}
			if ((ev[i].events & (EPOLLERR | EPOLLHUP)) != 0 ||
			    ((ev[i].events & EPOLLIN) != 0 &&
			    on_read(w->epfd, fd, &conns[fd], buf) != 0) ||
			    ((ev[i].events & EPOLLOUT) != 0 &&
			    on_write(w->epfd, fd, &conns[fd]) != 0)) {
				conn_close(w->epfd, fd);
			} else if ((ev[i].events & EPOLLRDHUP) != 0 &&
			    (ev[i].events & EPOLLIN) == 0) {
				conn_close(w->epfd, fd);
			}
		}
	}
	return NULL;
}

/* UDP echo: every datagram goes back to its sender. */
static void *
udp_main(void *arg)
{
	int fd = *(int *)arg;
	struct sockaddr_storage from;
	socklen_t fl;
	char buf[65536];
	ssize_t n;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("recvfrom");
		}
		(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
		    fl);
	}
	return NULL;
}

/* Opens the UDP echo socket on addr:port. */
static int
make_udp(const char *addr, unsigned short port)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		die("bad address");
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		die("socket");
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		die("bind udp");
	}
	return fd;
}

/* Print usage and exit. */
static void
usage(void)
{
	fprintf(stderr, "usage: sink [-a 127.0.0.1] [-p port] [-j threads]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	static int ufd;
	pthread_t utid;
	struct epoll_event e;
	const char *addr = "127.0.0.1";
	unsigned short port = 0;
	int ch, i, nthreads = 2;

	while ((ch = getopt(argc, argv, "a:p:j:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = (unsigned short)atoi(optarg);
			break;
		case 'j':
			nthreads = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS) {
		usage();
	}
	signal(SIGPIPE, SIG_IGN);
	memset(srcbuf, 'x', sizeof(srcbuf));
	nconns = raise_nofile();
	if ((conns = calloc(nconns, sizeof(*conns))) == NULL) {
		die("calloc");
	}
	for (i = 0; i < nthreads; i++) {
		w[i].lfd = make_listener(addr, port);
		port = bound_port(w[i].lfd);
		if ((w[i].epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
			die("epoll_create1");
		}
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		e.data.fd = w[i].lfd;
		if (epoll_ctl(w[i].epfd, EPOLL_CTL_ADD, w[i].lfd, &e) != 0) {
			die("epoll_ctl");
		}
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "sink: pthread_create failed\n");
			return 1;
		}
	}
	ufd = make_udp(addr, port);
	if (pthread_create(&utid, NULL, udp_main, &ufd) != 0) {
		fprintf(stderr, "sink: pthread_create failed\n");
		return 1;
	}
	printf("%u\n", port);
	fflush(stdout);
	pthread_join(w[0].tid, NULL);
	return 0;
}

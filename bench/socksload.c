/*
 * socksload: a SOCKS5 load generator for the sks5 benchmarks.
 *
 * It talks to the bench sink (bench/sink.c) either directly or through a
 * SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 user/password or no-auth) and
 * measures one of:
 *   bulk     N streams moving data as fast as possible -> MB/s
 *   cps      C workers doing connect + handshake + CONNECT + small echo +
 *            close in a loop -> conn/s and latency percentiles
 *   latency  one tunnel, ping-pong of small messages -> RTT percentiles
 *   idle     K tunnels opened and held -> proxy RSS per tunnel
 *   udp      C workers, each with its own UDP ASSOCIATE (or direct UDP),
 *            ping-pong of datagrams with the sink's UDP echo -> round
 *            trips per second and latency percentiles
 * Every run is bounded by a duration and by a count.  The result is one line
 * of key=value pairs on stdout; diagnostics go to stderr.
 *
 * Blocking sockets and one thread per stream/worker keep the code simple;
 * socket timeouts bound every read and write.  Only loopback addresses are
 * accepted.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BULK_BUFSZ	(256 * 1024)
#define MAX_MSG		65536
#define MAX_WORKERS	4096

struct opts {
	int			 mode;		/* 'b', 'c', 'l', 'i' */
	int			 use_proxy;
	struct sockaddr_storage	 proxy;
	socklen_t		 proxylen;
	struct sockaddr_storage	 target;
	socklen_t		 targetlen;
	const char		*user;
	const char		*pass;
	double			 duration;
	long long		 count;
	int			 parallel;
	int			 size;
	int			 upload;
	long			 pid;
	double			 hold;
	double			 timeout;
};

/* A growable array of latencies in nanoseconds. */
struct lat {
	uint64_t	*v;
	size_t		 n;
	size_t		 cap;
};

struct worker {
	pthread_t		 tid;
	int			 idx;
	_Atomic uint64_t	 bytes;
	struct lat		 lat;
	long long		 errors;
	int			 fd;
	int			*fds;		/* idle: tunnels held */
	int			 nfds;
	char			 err[160];
};

static struct opts		 opt;
static atomic_int		 stop_flag;
static _Atomic long long	 ops_started;
static _Atomic long long	 ops_failed;
static pthread_barrier_t	 start_barrier;
static uint64_t		 idle_t0;

/* Monotonic time in nanoseconds. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Sleep for a number of seconds (fractions allowed). */
static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0) {
		return;
	}
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		continue;
	}
}

/* Append one sample to a latency array. */
static void
lat_add(struct lat *l, uint64_t ns)
{
	uint64_t *nv = NULL;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (nv == NULL) {
			fprintf(stderr, "socksload: out of memory\n");
			exit(1);
		}
		l->v = nv;
	}
	l->v[l->n++] = ns;
}

/* qsort comparator for uint64_t. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of a sorted array, in microseconds. */
static double
pct_us(const struct lat *l, double p)
{
	size_t i;

	if (l->n == 0) {
		return 0;
	}
	i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	if (i >= l->n) {
		i = l->n - 1;
	}
	return (double)l->v[i] / 1000.0;
}

/* Merge every worker's samples into one sorted array. */
static void
lat_merge(struct worker *w, int nw, struct lat *out)
{
	int i;
	size_t j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nw; i++) {
		for (j = 0; j < w[i].lat.n; j++) {
			lat_add(out, w[i].lat.v[j]);
		}
	}
	if (out->n > 0) {
		qsort(out->v, out->n, sizeof(*out->v), cmp_u64);
	}
}

/* Mean of a latency array in microseconds. */
static double
lat_mean_us(const struct lat *l)
{
	double s = 0;
	size_t i;

	for (i = 0; i < l->n; i++) {
		s += (double)l->v[i];
	}
	return l->n ? s / (double)l->n / 1000.0 : 0;
}

/* Parse "HOST:PORT" (IPv4, [IPv6] or localhost) into a loopback address. */
static int
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[128];
	const char *colon = NULL;
	char *end = NULL;
	long port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL) {
			return -1;
		}
		hl = (size_t)(colon - s - 1);
		if (hl >= sizeof(host)) {
			return -1;
		}
		memcpy(host, s + 1, hl);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
			return -1;
		}
		hl = (size_t)(colon - s);
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		return -1;
	}
	if (strcmp(host, "localhost") == 0) {
		strcpy(host, "127.0.0.1");
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			return -2;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			return -2;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Write all of buf; return 0 or -1. */
static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read exactly n bytes; return 0, or -1 on error/timeout/EOF. */
static int
read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			if (r == 0) {
				errno = ECONNRESET;
			}
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Set both socket timeouts. */
static void
set_timeouts(int fd, double sec)
{
	struct timeval tv;

	tv.tv_sec = (time_t)sec;
	tv.tv_usec = (suseconds_t)((sec - (double)tv.tv_sec) * 1e6);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Do the SOCKS5 greeting, optional RFC 1929 auth and CONNECT (cmd 1)
 * or UDP ASSOCIATE (cmd 3, BND stored in *bnd). */
static int
socks_request(int fd, int cmd, struct sockaddr_storage *bnd, char *err,
    size_t errlen)
{
	unsigned char b[600];
	size_t n = 0, ul, pl;
	int auth = opt.user != NULL;

	b[0] = 5;
	b[1] = 1;
	b[2] = auth ? 2 : 0;
	if (write_all(fd, b, 3) != 0 || read_all(fd, b, 2) != 0) {
		snprintf(err, errlen, "greeting: %s", strerror(errno));
		return -1;
	}
	if (b[0] != 5 || b[1] != (auth ? 2 : 0)) {
		snprintf(err, errlen, "greeting: method reply %02x %02x",
		    b[0], b[1]);
		return -1;
	}
	if (auth) {
		ul = strlen(opt.user);
		pl = strlen(opt.pass);
		b[n++] = 1;
		b[n++] = (unsigned char)ul;
		memcpy(b + n, opt.user, ul);
		n += ul;
		b[n++] = (unsigned char)pl;
		memcpy(b + n, opt.pass, pl);
		n += pl;
		if (write_all(fd, b, n) != 0 || read_all(fd, b, 2) != 0) {
			snprintf(err, errlen, "auth: %s", strerror(errno));
			return -1;
		}
		if (b[1] != 0) {
			snprintf(err, errlen, "auth: rejected (%02x %02x)",
			    b[0], b[1]);
			return -1;
		}
	}
	n = 0;
	b[n++] = 5;
	b[n++] = (unsigned char)cmd;
	b[n++] = 0;
	if (cmd == 3) {
		/* DST 0.0.0.0:0: the proxy pins our address. */
		b[n++] = 1;
		memset(b + n, 0, 6);
		n += 6;
	} else if (opt.target.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&opt.target;

		b[n++] = 1;
		memcpy(b + n, &sin->sin_addr, 4);
		n += 4;
		memcpy(b + n, &sin->sin_port, 2);
		n += 2;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&opt.target;

		b[n++] = 4;
		memcpy(b + n, &sin6->sin6_addr, 16);
		n += 16;
		memcpy(b + n, &sin6->sin6_port, 2);
		n += 2;
	}
	if (write_all(fd, b, n) != 0 || read_all(fd, b, 5) != 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	if (b[0] != 5 || b[1] != 0) {
		snprintf(err, errlen, "connect: reply code %u", b[1]);
		return -1;
	}
	/* Rest of the reply: BND.ADDR (one byte already read) + BND.PORT. */
	if (b[3] == 1) {
		n = 3 + 2;
	} else if (b[3] == 4) {
		n = 15 + 2;
	} else if (b[3] == 3) {
		n = (size_t)b[4] + 2;
	} else {
		snprintf(err, errlen, "connect: bad ATYP %u", b[3]);
		return -1;
	}
	{
		unsigned char atyp = b[3], first = b[4];

		if (read_all(fd, b + 1, n) != 0) {
			snprintf(err, errlen, "connect reply: %s",
			    strerror(errno));
			return -1;
		}
		b[0] = first;
		if (bnd != NULL && atyp == 1) {
			struct sockaddr_in *sin = (struct sockaddr_in *)bnd;

			memset(bnd, 0, sizeof(*bnd));
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, b, 4);
			memcpy(&sin->sin_port, b + 4, 2);
		} else if (bnd != NULL && atyp == 4) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)bnd;

			memset(bnd, 0, sizeof(*bnd));
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, b, 16);
			memcpy(&sin6->sin6_port, b + 16, 2);
		} else if (bnd != NULL) {
			snprintf(err, errlen, "associate: BND is a name");
			return -1;
		}
	}
	return 0;
}

static int
socks_handshake(int fd, char *err, size_t errlen)
{
	return socks_request(fd, 1, NULL, err, errlen);
}

/* Open a tunnel (or a direct connection) to the target; -1 on failure. */
static int
open_tunnel(char *err, size_t errlen)
{
	const struct sockaddr_storage *to = opt.use_proxy ? &opt.proxy :
	    &opt.target;
	socklen_t tolen = opt.use_proxy ? opt.proxylen : opt.targetlen;
	int fd, one = 1;

	fd = socket(to->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeouts(fd, opt.timeout);
	if (connect(fd, (const struct sockaddr *)to, tolen) != 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (opt.use_proxy && socks_handshake(fd, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Bulk stream: move data until told to stop. */
static void *
bulk_main(void *arg)
{
	struct worker *w = arg;
	char *buf = NULL;
	char cmd = opt.upload ? 'D' : 'S';
	ssize_t r;

	buf = malloc(BULK_BUFSZ);
	if (buf == NULL) {
		snprintf(w->err, sizeof(w->err), "out of memory");
		pthread_barrier_wait(&start_barrier);
		return NULL;
	}
	memset(buf, 'y', BULK_BUFSZ);
	w->fd = open_tunnel(w->err, sizeof(w->err));
	if (w->fd >= 0) {
		set_timeouts(w->fd, 0.5);
		if (write_all(w->fd, &cmd, 1) != 0) {
			snprintf(w->err, sizeof(w->err), "send: %s",
			    strerror(errno));
		}
	}
	pthread_barrier_wait(&start_barrier);
	while (w->fd >= 0 && w->err[0] == '\0' && !atomic_load(&stop_flag)) {
		if (opt.upload) {
			r = send(w->fd, buf, BULK_BUFSZ, MSG_NOSIGNAL);
		} else {
			r = recv(w->fd, buf, BULK_BUFSZ, 0);
		}
		if (r > 0) {
			atomic_fetch_add_explicit(&w->bytes, (uint64_t)r,
			    memory_order_relaxed);
		} else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			continue;
		} else if (!atomic_load(&stop_flag)) {
			snprintf(w->err, sizeof(w->err), "stream: %s",
			    r == 0 ? "EOF" : strerror(errno));
		}
	}
	if (w->fd >= 0) {
		close(w->fd);
	}
	free(buf);
	return NULL;
}

/* One cps exchange: open, echo one message, close. */
static int
cps_once(struct worker *w, char *msg, char *reply)
{
	int fd;

	fd = open_tunnel(w->err, sizeof(w->err));
	if (fd < 0) {
		return -1;
	}
	if (write_all(fd, msg, (size_t)opt.size + 1) != 0 ||
	    read_all(fd, reply, (size_t)opt.size) != 0) {
		snprintf(w->err, sizeof(w->err), "echo: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (memcmp(reply, msg + 1, (size_t)opt.size) != 0) {
		snprintf(w->err, sizeof(w->err), "echo: corrupted reply");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* cps worker: exchanges in a loop until the time or count is used up. */
static void *
cps_main(void *arg)
{
	struct worker *w = arg;
	char msg[MAX_MSG + 1], reply[MAX_MSG];
	uint64_t t0;

	msg[0] = 'E';
	memset(msg + 1, 'a' + w->idx % 26, (size_t)opt.size);
	pthread_barrier_wait(&start_barrier);
	while (!atomic_load(&stop_flag)) {
		if (atomic_fetch_add(&ops_started, 1) >= opt.count) {
			break;
		}
		t0 = now_ns();
		if (cps_once(w, msg, reply) == 0) {
			lat_add(&w->lat, now_ns() - t0);
		} else {
			w->errors++;
			atomic_fetch_add(&ops_failed, 1);
		}
	}
	return NULL;
}

/* latency: ping-pong on one tunnel. */
static void *
latency_main(void *arg)
{
	struct worker *w = arg;
	char msg[MAX_MSG + 1], reply[MAX_MSG];
	uint64_t t0;
	long long i;

	msg[0] = 'E';
	memset(msg + 1, 'p', (size_t)opt.size);
	w->fd = open_tunnel(w->err, sizeof(w->err));
	if (w->fd >= 0 && write_all(w->fd, msg, 1) != 0) {
		snprintf(w->err, sizeof(w->err), "send: %s", strerror(errno));
	}
	/* A few warm-up round trips that are not recorded. */
	for (i = 0; i < 10 && w->fd >= 0 && w->err[0] == '\0'; i++) {
		if (write_all(w->fd, msg + 1, (size_t)opt.size) != 0 ||
		    read_all(w->fd, reply, (size_t)opt.size) != 0) {
			snprintf(w->err, sizeof(w->err), "warm-up: %s",
			    strerror(errno));
		}
	}
	pthread_barrier_wait(&start_barrier);
	while (w->fd >= 0 && w->err[0] == '\0' && !atomic_load(&stop_flag)) {
		if (atomic_fetch_add(&ops_started, 1) >= opt.count) {
			break;
		}
		t0 = now_ns();
		if (write_all(w->fd, msg + 1, (size_t)opt.size) != 0 ||
		    read_all(w->fd, reply, (size_t)opt.size) != 0) {
			snprintf(w->err, sizeof(w->err), "ping: %s",
			    strerror(errno));
			break;
		}
		lat_add(&w->lat, now_ns() - t0);
	}
	if (w->fd >= 0) {
		close(w->fd);
	}
	return NULL;
}

/* idle opener: opens its share of tunnels, echoes one byte on each. */
static void *
idle_main(void *arg)
{
	struct worker *w = arg;
	char msg[2] = { 'E', 'i' }, c;
	uint64_t limit = (uint64_t)(opt.duration * 1e9);
	int fd;

	while (!atomic_load(&stop_flag)) {
		if (atomic_fetch_add(&ops_started, 1) >= opt.count) {
			break;
		}
		if (now_ns() - idle_t0 >= limit) {
			snprintf(w->err, sizeof(w->err), "time bound reached");
			atomic_store(&stop_flag, 1);
			break;
		}
		fd = open_tunnel(w->err, sizeof(w->err));
		if (fd >= 0 && (write_all(fd, msg, 2) != 0 ||
		    read_all(fd, &c, 1) != 0)) {
			snprintf(w->err, sizeof(w->err), "echo: %s",
			    strerror(errno));
			close(fd);
			fd = -1;
		}
		if (fd < 0) {
			atomic_fetch_add(&ops_failed, 1);
			atomic_store(&stop_flag, 1);
			break;
		}
		w->fds[w->nfds++] = fd;
	}
	return NULL;
}

/* Start the workers of a mode and return the array. */
static struct worker *
spawn(int n, void *(*fn)(void *))
{
	struct worker *w = NULL;
	pthread_attr_t attr;
	int i;

	w = calloc((size_t)n, sizeof(*w));
	if (w == NULL) {
		fprintf(stderr, "socksload: out of memory\n");
		exit(1);
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (i = 0; i < n; i++) {
		w[i].idx = i;
		w[i].fd = -1;
		if (pthread_create(&w[i].tid, &attr, fn, &w[i]) != 0) {
			fprintf(stderr, "socksload: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_attr_destroy(&attr);
	return w;
}

/* Join workers and print the first error, if any; return error count. */
static int
join_all(struct worker *w, int n)
{
	int i, nerr = 0;

	for (i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].err[0] != '\0') {
			if (nerr == 0) {
				fprintf(stderr, "socksload: worker %d: %s\n",
				    i, w[i].err);
			}
			nerr++;
		}
	}
	return nerr;
}

/* Sum of the bytes moved by every stream. */
static uint64_t
bulk_bytes(struct worker *w, int n)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++) {
		s += atomic_load_explicit(&w[i].bytes, memory_order_relaxed);
	}
	return s;
}

/* Wait until the duration passes or done() says the count is used up. */
static uint64_t
wait_window(uint64_t t0, struct worker *w, int n)
{
	uint64_t t, limit = (uint64_t)(opt.duration * 1e9);

	for (;;) {
		sleep_s(0.02);
		t = now_ns();
		if (t - t0 >= limit) {
			break;
		}
		if (opt.mode == 'b' && opt.count > 0 &&
		    bulk_bytes(w, n) >= (uint64_t)opt.count * 1048576ULL) {
			break;
		}
		if (opt.mode != 'b' && atomic_load(&ops_started) >=
		    opt.count + (long long)n) {
			break;
		}
		if (opt.mode == 'c' && atomic_load(&ops_failed) > 1000) {
			break;
		}
	}
	return t;
}

/* The bulk mode. */
static int
run_bulk(void)
{
	struct worker *w = NULL;
	uint64_t t0, t1, b0, b1;
	double secs;
	int nerr;

	pthread_barrier_init(&start_barrier, NULL, (unsigned)opt.parallel + 1);
	w = spawn(opt.parallel, bulk_main);
	pthread_barrier_wait(&start_barrier);
	sleep_s(opt.duration > 2 ? 0.2 : 0.05);	/* let the window open */
	t0 = now_ns();
	b0 = bulk_bytes(w, opt.parallel);
	t1 = wait_window(t0, w, opt.parallel);
	b1 = bulk_bytes(w, opt.parallel);
	atomic_store(&stop_flag, 1);
	nerr = join_all(w, opt.parallel);
	secs = (double)(t1 - t0) / 1e9;
	printf("mode=bulk dir=%s streams=%d seconds=%.3f bytes=%llu "
	    "mbps=%.1f errors=%d\n", opt.upload ? "up" : "down",
	    opt.parallel, secs, (unsigned long long)(b1 - b0),
	    (double)(b1 - b0) / secs / 1e6, nerr);
	return nerr ? 1 : 0;
}

/* The cps and latency modes. */
static int
run_exchange(void)
{
	struct worker *w = NULL;
	struct lat all;
	uint64_t t0, t1;
	double secs;
	int nerr, n = opt.mode == 'l' ? 1 : opt.parallel;

	pthread_barrier_init(&start_barrier, NULL, (unsigned)n + 1);
	w = spawn(n, opt.mode == 'l' ? latency_main : cps_main);
	pthread_barrier_wait(&start_barrier);
	t0 = now_ns();
	t1 = wait_window(t0, w, n);
	atomic_store(&stop_flag, 1);
	nerr = join_all(w, n);
	secs = (double)(t1 - t0) / 1e9;
	lat_merge(w, n, &all);
	if (opt.mode == 'c') {
		printf("mode=cps workers=%d seconds=%.3f ok=%zu failed=%lld "
		    "cps=%.1f p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", n,
		    secs, all.n, atomic_load(&ops_failed),
		    (double)all.n / secs, pct_us(&all, 50), pct_us(&all, 99),
		    lat_mean_us(&all));
		return all.n == 0 ? 1 : 0;
	}
	printf("mode=latency size=%d seconds=%.3f rtts=%zu rtt_per_s=%.1f "
	    "p50_us=%.1f p99_us=%.1f mean_us=%.1f errors=%d\n", opt.size,
	    secs, all.n, (double)all.n / secs, pct_us(&all, 50),
	    pct_us(&all, 99), lat_mean_us(&all), nerr);
	return nerr || all.n == 0 ? 1 : 0;
}

/* udp: one association (or direct UDP) per worker, datagram ping-pong. */
static void *
udp_main(void *arg)
{
	struct worker *w = arg;
	struct sockaddr_storage relay, local;
	unsigned char msg[MAX_MSG + 32], reply[MAX_MSG + 64];
	const struct sockaddr_in *t4 = (const struct sockaddr_in *)&opt.target;
	size_t hl = 0;
	socklen_t rl, ll;
	uint64_t t0, seq = 0;
	ssize_t r;
	int ctl = -1, u = -1, one = 1;

	memset(&relay, 0, sizeof(relay));
	if (opt.use_proxy) {
		ctl = socket(opt.proxy.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ctl < 0 || (setsockopt(ctl, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)), set_timeouts(ctl, opt.timeout),
		    connect(ctl, (const struct sockaddr *)&opt.proxy,
		    opt.proxylen)) != 0 || socks_request(ctl, 3, &relay,
		    w->err, sizeof(w->err)) != 0) {
			if (w->err[0] == '\0') {
				snprintf(w->err, sizeof(w->err), "associate: "
				    "%s", strerror(errno));
			}
			goto wait;
		}
		/* The header: RSV FRAG ATYP(1) ADDR PORT (IPv4 sink). */
		msg[0] = msg[1] = msg[2] = 0;
		msg[3] = 1;
		memcpy(msg + 4, &t4->sin_addr, 4);
		memcpy(msg + 8, &t4->sin_port, 2);
		hl = 10;
	} else {
		memcpy(&relay, &opt.target, opt.targetlen);
	}
	rl = relay.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if ((u = socket(relay.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(w->err, sizeof(w->err), "socket: %s", strerror(errno));
		goto wait;
	}
	memset(&local, 0, sizeof(local));
	local.ss_family = relay.ss_family;
	if (relay.ss_family == AF_INET) {
		((struct sockaddr_in *)&local)->sin_addr.s_addr =
		    htonl(INADDR_LOOPBACK);
	} else {
		((struct sockaddr_in6 *)&local)->sin6_addr = in6addr_loopback;
	}
	ll = rl;
	if (bind(u, (struct sockaddr *)&local, ll) != 0 ||
	    connect(u, (struct sockaddr *)&relay, rl) != 0) {
		snprintf(w->err, sizeof(w->err), "udp: %s", strerror(errno));
		goto wait;
	}
	set_timeouts(u, 1.0);
	memset(msg + hl, 'u', (size_t)opt.size);
wait:
	pthread_barrier_wait(&start_barrier);
	while (u >= 0 && w->err[0] == '\0' && !atomic_load(&stop_flag)) {
		if (atomic_fetch_add(&ops_started, 1) >= opt.count) {
			break;
		}
		seq++;
		memcpy(msg + hl, &seq, sizeof(seq) < (size_t)opt.size ?
		    sizeof(seq) : (size_t)opt.size);
		t0 = now_ns();
		if (send(u, msg, hl + (size_t)opt.size, 0) < 0) {
			w->errors++;
			continue;
		}
		for (;;) {
			r = recv(u, reply, sizeof(reply), 0);
			if (r < 0) {
				w->errors++;	/* lost: 1 s without answer */
				atomic_fetch_add(&ops_failed, 1);
				break;
			}
			/* A late answer to an earlier datagram is skipped. */
			if ((size_t)r == hl + (size_t)opt.size &&
			    memcmp(reply + hl, msg + hl,
			    (size_t)opt.size) == 0) {
				lat_add(&w->lat, now_ns() - t0);
				break;
			}
		}
	}
	if (u >= 0) {
		close(u);
	}
	if (ctl >= 0) {
		close(ctl);
	}
	return NULL;
}

/* udp mode: spawn, measure, print. */
static int
run_udp(void)
{
	struct worker *w = NULL;
	struct lat all;
	uint64_t t0, t1;
	double secs;
	int nerr, n = opt.parallel;

	pthread_barrier_init(&start_barrier, NULL, (unsigned)n + 1);
	w = spawn(n, udp_main);
	pthread_barrier_wait(&start_barrier);
	t0 = now_ns();
	t1 = wait_window(t0, w, n);
	atomic_store(&stop_flag, 1);
	nerr = join_all(w, n);
	secs = (double)(t1 - t0) / 1e9;
	lat_merge(w, n, &all);
	printf("mode=udp workers=%d size=%d seconds=%.3f rtts=%zu "
	    "rtt_per_s=%.1f lost=%lld p50_us=%.1f p99_us=%.1f mean_us=%.1f "
	    "errors=%d\n", n, opt.size, secs, all.n, (double)all.n / secs,
	    atomic_load(&ops_failed), pct_us(&all, 50), pct_us(&all, 99),
	    lat_mean_us(&all), nerr);
	return nerr || all.n == 0 ? 1 : 0;
}

/* Read "Key:   N kB" from a /proc file; -1 when absent. */
static long
proc_kb(long pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f = NULL;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, file);
	if ((f = fopen(path, "r")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Parent pid of a process, from /proc/PID/stat; -1 on error. */
static long
proc_ppid(long pid)
{
	char path[64], buf[1024];
	char *p = NULL;
	FILE *f = NULL;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL) {
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL) {
		return -1;
	}
	/* ") S PPID ..." */
	return strtol(p + 4, NULL, 10);
}

/* Sum VmRSS and Pss (KiB) of a process and all its descendants. */
static void
tree_mem(long root, long *rss, long *pss, int *nproc)
{
	long pids[8192], ppids[8192], tree[8192];
	int np = 0, nt = 0, i, j, grew;
	struct dirent *de = NULL;
	DIR *d = NULL;
	long v;

	*rss = *pss = 0;
	*nproc = 0;
	if ((d = opendir("/proc")) == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL && np < 8192) {
		if (!isdigit((unsigned char)de->d_name[0])) {
			continue;
		}
		pids[np] = strtol(de->d_name, NULL, 10);
		ppids[np] = proc_ppid(pids[np]);
		np++;
	}
	closedir(d);
	tree[nt++] = root;
	do {
		grew = 0;
		for (i = 0; i < np; i++) {
			for (j = 0; j < nt; j++) {
				if (ppids[i] == tree[j] && pids[i] != root) {
					break;
				}
			}
			if (j == nt || pids[i] == -1) {
				continue;
			}
			tree[nt++] = pids[i];
			pids[i] = -1;	/* taken */
			grew = 1;
			if (nt == 8192) {
				break;
			}
		}
	} while (grew && nt < 8192);
	for (i = 0; i < nt; i++) {
		if ((v = proc_kb(tree[i], "status", "VmRSS")) > 0) {
			*rss += v;
			(*nproc)++;
		}
		if ((v = proc_kb(tree[i], "smaps_rollup", "Pss")) > 0) {
			*pss += v;
		}
	}
}

/* MemAvailable from /proc/meminfo in KiB; -1 when unknown. */
static long
mem_available(void)
{
	char line[256];
	FILE *f = NULL;
	long v = -1;

	if ((f = fopen("/proc/meminfo", "r")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "MemAvailable:", 13) == 0) {
			v = strtol(line + 13, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The idle mode: hold many tunnels and measure the proxy's memory. */
static int
run_idle(void)
{
	struct worker *w = NULL;
	long rss0 = 0, pss0 = 0, rss1 = 0, pss1 = 0, rss2 = 0, pss2 = 0;
	int i, j, held = 0, nerr, np0 = 0, np1 = 0, np2 = 0;
	long avail0, avail1;
	uint64_t t0, t1;

	if (opt.pid > 0) {
		tree_mem(opt.pid, &rss0, &pss0, &np0);
	}
	avail0 = mem_available();
	t0 = idle_t0 = now_ns();
	w = calloc((size_t)opt.parallel, sizeof(*w));
	if (w == NULL) {
		return 1;
	}
	for (i = 0; i < opt.parallel; i++) {
		w[i].fds = calloc((size_t)opt.count, sizeof(int));
		if (w[i].fds == NULL) {
			return 1;
		}
	}
	/* spawn() would allocate again; start the openers by hand. */
	for (i = 0; i < opt.parallel; i++) {
		w[i].idx = i;
		if (pthread_create(&w[i].tid, NULL, idle_main, &w[i]) != 0) {
			return 1;
		}
	}
	nerr = join_all(w, opt.parallel);
	t1 = now_ns();
	for (i = 0; i < opt.parallel; i++) {
		held += w[i].nfds;
	}
	sleep_s(opt.hold);
	avail1 = mem_available();
	if (opt.pid > 0) {
		tree_mem(opt.pid, &rss1, &pss1, &np1);
	}
	for (i = 0; i < opt.parallel; i++) {
		for (j = 0; j < w[i].nfds; j++) {
			close(w[i].fds[j]);
		}
	}
	if (opt.pid > 0) {
		sleep_s(1.0);
		tree_mem(opt.pid, &rss2, &pss2, &np2);
	}
	printf("mode=idle tunnels=%d open_seconds=%.3f rss0_kb=%ld "
	    "rss1_kb=%ld rss_after_close_kb=%ld pss0_kb=%ld pss1_kb=%ld "
	    "kb_per_tunnel=%.2f pss_kb_per_tunnel=%.2f "
	    "sys_kb_per_tunnel=%.2f procs0=%d procs1=%d errors=%d\n", held,
	    (double)(t1 - t0) / 1e9, rss0, rss1, rss2, pss0, pss1,
	    held ? (double)(rss1 - rss0) / held : 0.0,
	    held ? (double)(pss1 - pss0) / held : 0.0,
	    held && avail0 > 0 && avail1 > 0 ?
	    (double)(avail0 - avail1) / held : 0.0, np0, np1, nerr);
	(void)np2;
	(void)pss2;
	return held < opt.count ? 1 : 0;
}

/* Print usage and exit with status 2. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: socksload bulk|cps|latency|idle|udp -t HOST:PORT "
	    "[options]\n"
	    "  -t, --target HOST:PORT   the sink (loopback only)\n"
	    "  -x, --proxy HOST:PORT    SOCKS5 proxy; omit to connect directly\n"
	    "  -u, --user USER          RFC 1929 user (omit for no-auth)\n"
	    "  -p, --pass PASS          RFC 1929 password\n"
	    "  -d, --duration SEC       time bound (default 5; idle: for opening)\n"
	    "  -n, --count N            count bound: bulk MiB, cps connections,\n"
	    "                           latency round trips, idle tunnels\n"
	    "  -c, --parallel N         streams / workers / opener threads\n"
	    "  -s, --size BYTES         cps/latency message size (default 64)\n"
	    "      --up                 bulk: upload instead of download\n"
	    "      --pid PID            idle: proxy pid (descendants added)\n"
	    "      --hold SEC           idle: settle time before measuring (1)\n"
	    "      --timeout SEC        per-I/O timeout (default 10)\n");
	exit(2);
}

/* Parse the command line into opt. */
static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", required_argument, NULL, 't' },
		{ "proxy", required_argument, NULL, 'x' },
		{ "user", required_argument, NULL, 'u' },
		{ "pass", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "up", no_argument, NULL, 'U' },
		{ "pid", required_argument, NULL, 'P' },
		{ "hold", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	const char *m = NULL;
	int ch, have_target = 0, r = 0;

	if (argc < 2) {
		usage();
	}
	m = argv[1];
	opt.mode = strcmp(m, "bulk") == 0 ? 'b' : strcmp(m, "cps") == 0 ?
	    'c' : strcmp(m, "latency") == 0 ? 'l' : strcmp(m, "idle") == 0 ?
	    'i' : strcmp(m, "udp") == 0 ? 'u' : 0;
	if (opt.mode == 0) {
		usage();
	}
	opt.duration = 5;
	opt.parallel = opt.mode == 'c' ? 50 : opt.mode == 'i' ? 4 : 1;
	opt.size = 64;
	opt.hold = 1;
	opt.timeout = 10;
	opt.count = opt.mode == 'i' ? 1000 : 1LL << 40;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "t:x:u:p:d:n:c:s:", lo,
	    NULL)) != -1) {
		switch (ch) {
		case 't':
			r = parse_addr(optarg, &opt.target, &opt.targetlen);
			have_target = r == 0;
			break;
		case 'x':
			r = parse_addr(optarg, &opt.proxy, &opt.proxylen);
			opt.use_proxy = 1;
			break;
		case 'u':
			opt.user = optarg;
			break;
		case 'p':
			opt.pass = optarg;
			break;
		case 'd':
			opt.duration = atof(optarg);
			break;
		case 'n':
			opt.count = atoll(optarg);
			break;
		case 'c':
			opt.parallel = atoi(optarg);
			break;
		case 's':
			opt.size = atoi(optarg);
			break;
		case 'U':
			opt.upload = 1;
			break;
		case 'P':
			opt.pid = atol(optarg);
			break;
		case 'H':
			opt.hold = atof(optarg);
			break;
		case 'T':
			opt.timeout = atof(optarg);
			break;
		default:
			usage();
		}
		if (r == -2) {
			fprintf(stderr, "socksload: only loopback addresses "
			    "are allowed: %s\n", optarg);
			exit(2);
		}
		if (r != 0) {
			fprintf(stderr, "socksload: bad address %s\n", optarg);
			exit(2);
		}
	}
	if (!have_target || opt.duration <= 0 || opt.count < 1 ||
	    opt.parallel < 1 || opt.parallel > MAX_WORKERS || opt.size < 1 ||
	    opt.size > MAX_MSG || opt.timeout <= 0 ||
	    (opt.user != NULL) != (opt.pass != NULL) ||
	    (opt.user != NULL && (strlen(opt.user) > 255 ||
	    strlen(opt.pass) > 255 || !opt.user[0] || !opt.pass[0]))) {
		usage();
	}
}

int
main(int argc, char **argv)
{
	struct rlimit rl;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	switch (opt.mode) {
	case 'b':
		return run_bulk();
	case 'c':
	case 'l':
		return run_exchange();
	case 'u':
		return run_udp();
	default:
		return run_idle();
	}
}

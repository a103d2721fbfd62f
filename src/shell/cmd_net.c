/* `test`, `ping` and `resolve`: network probes through shell_ops. */
#include "shell/shell_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

/* Longest a probe or lookup may block the session. */
#define PROBE_MAX_MS	5000
/* Pause between two pings. */
#define PING_GAP_MS	200
#define PING_MAX	10
/* A ping stops starting probes after this long in total. */
#define PING_BUDGET_MS	15000

/* The timeout of one probe: [limits] connection_timeout, at most 5 s. */
static uint32_t
probe_timeout(const struct shell *sh)
{
	uint64_t ms = sh->ctx.cfg->limits.connection_timeout * 1000;

	return ms == 0 || ms > PROBE_MAX_MS ? PROBE_MAX_MS : (uint32_t)ms;
}

/* Expands "@name" to the bookmark's target (heap). NULL and a message
 * when there is no such bookmark. */
static char *
expand(struct shell *sh, const char *cmd, const char *arg)
{
	char *v = NULL;

	if (arg[0] != '@') {
		return xstrdup(arg);
	}
	if ((v = shell__kv_get(sh->store, sh->ud, SHELL_KV_BOOKMARK,
	    arg + 1)) == NULL) {
		shell__printf(sh, "%s: no bookmark named '%s' (see bookmark "
		    "list)\n", cmd, arg + 1);
	}
	return v;
}

/* "host:port", or "[v6]:port" for a host with a colon. */
static void
label(const char *host, uint16_t port, char *out, size_t len)
{
	snprintf(out, len, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u",
	    host, port);
}

/* Prints the verdict of a probe that did not get to connect; returns 1
 * if it stopped there. */
static int
verdict(struct shell *sh, const char *lbl, const struct shell_probe *p)
{
	switch (p->status) {
	case SHELL_PROBE_DENIED:
		shell__printf(sh, "%s -> %sDENIED%s (%s)\n", lbl,
		    shell__sgr(sh, "31"), shell__rst(sh), p->why);
		return 1;
	case SHELL_PROBE_BLOCKED:
		shell__printf(sh, "%s -> %sDENIED%s (anti-SSRF: %s%s%s)\n",
		    lbl, shell__sgr(sh, "31"), shell__rst(sh), p->addr,
		    p->addr[0] != '\0' ? " is in " : "", p->why);
		return 1;
	case SHELL_PROBE_NORESOLVE:
		shell__printf(sh, "%s -> cannot resolve (%s)\n", lbl, p->why);
		return 1;
	default:
		return 0;
	}
}

/* The text of a connect outcome. */
static const char *
outcome(enum shell_probe_status s)
{
	switch (s) {
	case SHELL_PROBE_OK:
		return "open";
	case SHELL_PROBE_REFUSED:
		return "connection refused";
	case SHELL_PROBE_UNREACH:
		return "unreachable";
	case SHELL_PROBE_TIMEOUT:
		return "no answer (timeout)";
	default:
		return "failed";
	}
}

int
shell__cmd_test(struct shell *sh, int argc, char **argv)
{
	const struct shell_ops *ops = sh->ctx.ops;
	struct shell_probe p;
	char host[CFG_HOST_MAX + 1], lbl[CFG_HOST_MAX + 16], t[32];
	char *target = NULL;
	uint16_t port;
	int r, st = SHELL_STATUS_FAIL;

	if (argc != 2) {
		shell__printf(sh, "Usage: test <host:port|@bookmark>\n");
		return SHELL_STATUS_FAIL;
	}
	if ((target = expand(sh, "test", argv[1])) == NULL) {
		return SHELL_STATUS_FAIL;
	}
	if (shell__parse_target(target, 0, host, sizeof(host), &port) != 0) {
		shell__printf(sh, "Invalid target '%s'. Expected host:port "
		    "([addr]:port for IPv6)\n", target);
		goto out;
	}
	if (ops == NULL || ops->probe == NULL) {
		shell__printf(sh, "test: not available in this session\n");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	label(host, port, lbl, sizeof(lbl));
	if ((r = ops->probe(ops->arg, host, port, probe_timeout(sh),
	    &p)) != 0) {
		shell__printf(sh, "test: %s: %s\n", lbl, err_str(r));
		goto out;
	}
	if (verdict(sh, lbl, &p)) {
		goto out;
	}
	shell__printf(sh, "%s -> %sALLOWED%s (%s)\n", lbl,
	    shell__sgr(sh, "32"), shell__rst(sh), p.why);
	shell__fmt_us(p.connect_us, t, sizeof(t));
	if (p.status == SHELL_PROBE_OK) {
		shell__printf(sh, "TCP connect to %s: %sopen%s (%s)\n", p.addr,
		    shell__sgr(sh, "32"), shell__rst(sh), t);
		st = SHELL_STATUS_OK;
	} else {
		shell__printf(sh, "TCP connect to %s: %s%s%s\n",
		    p.addr[0] != '\0' ? p.addr : lbl, shell__sgr(sh, "31"),
		    outcome(p.status), shell__rst(sh));
	}
 out:
	free(target);
	return st;
}

/* Monotonic milliseconds. */
static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds. */
static void
pause_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0) {
		;
	}
}

/* Parses "-c N" in front of the target; returns the target index. */
static int
ping_args(struct shell *sh, int argc, char **argv, int *count)
{
	const char *p = NULL;
	int i = 1;

	*count = 4;
	if (argc == 4 && strcmp(argv[1], "-c") == 0) {
		*count = 0;
		for (p = argv[2]; *p != '\0' && *count <= PING_MAX; p++) {
			if (*p < '0' || *p > '9') {
				*count = 0;
				break;
			}
			*count = *count * 10 + (*p - '0');
		}
		i = 3;
	} else if (argc != 2) {
		*count = 0;
	}
	if (*count < 1 || *count > PING_MAX) {
		shell__printf(sh, "Usage: ping [-c 1..%d] <host[:port]|"
		    "@bookmark>\n", PING_MAX);
		return -1;
	}
	return i;
}

int
shell__cmd_ping(struct shell *sh, int argc, char **argv)
{
	const struct shell_ops *ops = sh->ctx.ops;
	struct shell_probe p;
	char host[CFG_HOST_MAX + 1], lbl[CFG_HOST_MAX + 16], t[32];
	char *target = NULL;
	uint64_t min = 0, max = 0, sum = 0, start = now_ms();
	uint16_t port;
	int i, count, ok = 0, sent = 0, st = SHELL_STATUS_FAIL;

	if ((i = ping_args(sh, argc, argv, &count)) < 0 ||
	    (target = expand(sh, "ping", argv[i])) == NULL) {
		return SHELL_STATUS_FAIL;
	}
	if (shell__parse_target(target, 80, host, sizeof(host), &port) != 0) {
		shell__printf(sh, "Invalid target '%s'. Expected host or "
		    "host:port\n", target);
		goto out;
	}
	if (ops == NULL || ops->probe == NULL) {
		shell__printf(sh, "ping: not available in this session\n");
		goto out;
	}
	label(host, port, lbl, sizeof(lbl));
	shell__printf(sh, "TCP ping %s: TCP connect round-trip times, not "
	    "ICMP\n", lbl);
	for (i = 1; i <= count && sh->werr == 0 &&
	    now_ms() - start < PING_BUDGET_MS; i++) {
		memset(&p, 0, sizeof(p));
		if (ops->probe(ops->arg, host, port, probe_timeout(sh),
		    &p) != 0 || verdict(sh, lbl, &p)) {
			goto out;
		}
		sent++;
		shell__fmt_us(p.connect_us, t, sizeof(t));
		if (p.status == SHELL_PROBE_OK) {
			shell__printf(sh, "connected to %s: seq=%d "
			    "time=%s\n", p.addr, i, t);
			if (ok++ == 0 || p.connect_us < min) {
				min = p.connect_us;
			}
			if (p.connect_us > max) {
				max = p.connect_us;
			}
			sum += p.connect_us;
		} else {
			shell__printf(sh, "%s: seq=%d %s\n", p.addr[0] != '\0' ?
			    p.addr : lbl, i, outcome(p.status));
		}
		shell__flush(sh);
		if (i < count) {
			pause_ms(PING_GAP_MS);
		}
	}
	shell__printf(sh, "--- %s: %d probes, %d connected, %d failed\n",
	    lbl, sent, ok, sent - ok);
	if (ok > 0) {
		shell__printf(sh, "connect time min/avg/max = %llu.%llu/"
		    "%llu.%llu/%llu.%llu ms\n",
		    (unsigned long long)min / 1000,
		    (unsigned long long)(min % 1000) / 100,
		    (unsigned long long)(sum / (uint64_t)ok) / 1000,
		    (unsigned long long)((sum / (uint64_t)ok) % 1000) / 100,
		    (unsigned long long)max / 1000,
		    (unsigned long long)(max % 1000) / 100);
		st = SHELL_STATUS_OK;
	}
 out:
	free(target);
	return st;
}

/* The message for a failed lookup. */
static const char *
lookup_error(int r)
{
	switch (r) {
	case ERR_NOTFOUND:
		return "name not found";
	case ERR_AGAIN:
		return "temporary failure, try again";
	case ERR_TIMEOUT:
		return "no answer in time";
	case ERR_DENIED:
		return "denied by the ACL";
	case ERR_INVAL:
		return "not a valid host name";
	default:
		return err_str(r);
	}
}

int
shell__cmd_resolve(struct shell *sh, int argc, char **argv)
{
	const struct shell_ops *ops = sh->ctx.ops;
	struct sockaddr_storage addrs[SHELL_RESOLVE_MAX];
	char host[CFG_HOST_MAX + 1], a[64], t[32];
	char *target = NULL;
	uint64_t us = 0;
	uint16_t port;
	size_t n = 0, i;
	int r, st = SHELL_STATUS_FAIL;
	const void *ip = NULL;

	if (argc != 2) {
		shell__printf(sh, "Usage: resolve <host|@bookmark>\n");
		return SHELL_STATUS_FAIL;
	}
	if ((target = expand(sh, "resolve", argv[1])) == NULL) {
		return SHELL_STATUS_FAIL;
	}
	if (shell__parse_target(target, 1, host, sizeof(host), &port) != 0) {
		shell__printf(sh, "resolve: not a host name: '%s'\n", target);
		goto out;
	}
	if (ops == NULL || ops->resolve == NULL) {
		shell__printf(sh, "resolve: not available in this session\n");
		goto out;
	}
	if ((r = ops->resolve(ops->arg, host, probe_timeout(sh), addrs,
	    SHELL_RESOLVE_MAX, &n, &us)) != 0 || n == 0) {
		shell__printf(sh, "resolve: %s: %s\n", host,
		    lookup_error(r != 0 ? r : ERR_NOTFOUND));
		goto out;
	}
	shell__fmt_us(us, t, sizeof(t));
	shell__printf(sh, "%s: %zu address%s (%s)\n", host, n,
	    n == 1 ? "" : "es", t);
	for (i = 0; i < n && i < SHELL_RESOLVE_MAX; i++) {
		ip = addrs[i].ss_family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)&addrs[i])->sin6_addr :
		    (const void *)&((struct sockaddr_in *)&addrs[i])->sin_addr;
		if (inet_ntop(addrs[i].ss_family, ip, a, sizeof(a)) != NULL) {
			shell__printf(sh, "  %s\n", a);
		}
	}
	st = SHELL_STATUS_OK;
 out:
	free(target);
	return st;
}

/*
 * Small client-side helpers: generate-totp (secret + otpauth:// URL),
 * health-check (TCP connect with a timeout, no name lookups) and
 * ssh-config (an OpenSSH client Host block that keeps host key checking).
 */
#include "cli/cli_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "config/config.h"
#include "config/values.h"
#include "core/err.h"
#include "core/util.h"

#define TOTP_KEY_LEN	20	/* RFC 4226 recommends 160-bit keys */

/* Writes s percent-encoded (RFC 3986 unreserved bytes kept) to f. */
static void
put_pct(const char *s, FILE *f)
{
	const unsigned char *p = NULL;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~') {
			fputc(*p, f);
		} else {
			fprintf(f, "%%%02X", *p);
		}
	}
}

/* True if s is non-empty and free of control bytes. */
static int
printable(const char *s)
{
	const unsigned char *p = NULL;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			return 0;
		}
	}
	return *s != '\0';
}

int
cli__cmd_generate_totp(const struct cli_args *a)
{
	unsigned char key[TOTP_KEY_LEN];
	char b32[(TOTP_KEY_LEN * 8 + 4) / 5 + 1];
	const char *u = cli__opt(a, "username");
	const char *p = a->npos > 0 ? a->pos[0] : NULL;
	int pending;

	if (u != NULL && p != NULL && strcmp(u, p) != 0) {
		return cli__usage(a->cmd, "two different usernames given");
	}
	if (u == NULL && (u = p) == NULL) {
		return cli__usage(a->cmd, "missing --username NAME");
	}
	if (!printable(u) || strlen(u) > 255) {
		return cli__usage(a->cmd, "invalid username");
	}
	if (sodium_init() < 0) {
		return cli__error("cannot initialise the random generator");
	}
	randombytes_buf(key, sizeof(key));
	cfg_base32_encode(key, sizeof(key), b32);
	util_wipe(key, sizeof(key));
	printf("Secret: %s\nURL: otpauth://totp/sks5:", b32);
	put_pct(u, stdout);
	printf("?secret=%s&issuer=sks5&algorithm=SHA1&digits=6&period=30\n\n"
	    "Add these lines to the [[users]] entry of %s:\n"
	    "totp_enabled = true\ntotp_secret = \"%s\"\n", b32, u, b32);
	util_wipe(b32, sizeof(b32));
	if ((pending = cfg_key_pending("users.totp_secret")) != 0) {
		fprintf(stderr, "Note: this build does not check TOTP codes "
		    "yet (%s%d).\n", pending > 0 ? "issue #" : "pending ",
		    pending);
	}
	return CLI_EXIT_OK;
}

/* Opens a TCP connection to sa within timeout_ms. 0, or ERR_* with a
 * reason in why. */
static int
try_connect(const struct sockaddr *sa, socklen_t salen, int timeout_ms,
    char *why, size_t whylen)
{
	struct pollfd pfd;
	struct timespec t0, t1;
	socklen_t elen = sizeof(int);
	int fd, r, e = 0, left = timeout_ms;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return ERR_IO;
	}
	if (connect(fd, sa, salen) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		e = errno;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (e == 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if ((r = poll(&pfd, 1, left)) > 0) {
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) !=
			    0) {
				e = errno;
			}
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (r == 0 || left <= 0) {
			e = ETIMEDOUT;
		} else if (errno != EINTR) {
			e = errno;
		}
	}
	close(fd);
	if (e == ETIMEDOUT) {
		snprintf(why, whylen, "no answer within %d s",
		    timeout_ms / 1000);
		return ERR_TIMEOUT;
	}
	if (e != 0) {
		snprintf(why, whylen, "%s", strerror(e));
		return ERR_IO;
	}
	return 0;
}

/* Tries each address the host stands for: an IPv4 or IPv6 literal, or
 * "localhost" (127.0.0.1 then ::1). ERR_INVAL for any other host. */
static int
check_addr(const struct cfg_listen *l, int timeout_ms, char *why,
    size_t whylen)
{
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	int local, r = ERR_INVAL;

	memset(&v4, 0, sizeof(v4));
	memset(&v6, 0, sizeof(v6));
	v4.sin_family = AF_INET;
	v4.sin_port = htons(l->port);
	v6.sin6_family = AF_INET6;
	v6.sin6_port = htons(l->port);
	local = strcasecmp(l->host, "localhost") == 0;
	if (local) {
		v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		v6.sin6_addr = in6addr_loopback;
	}
	if (local || inet_pton(AF_INET, l->host, &v4.sin_addr) == 1) {
		r = try_connect((struct sockaddr *)&v4, sizeof(v4),
		    timeout_ms, why, whylen);
	}
	if ((local && r != 0) ||
	    (!local && inet_pton(AF_INET6, l->host, &v6.sin6_addr) == 1)) {
		r = try_connect((struct sockaddr *)&v6, sizeof(v6),
		    timeout_ms, why, whylen);
	}
	return r;
}

int
cli__cmd_health_check(const struct cli_args *a)
{
	const char *addr = cli__opt(a, "addr"), *t = cli__opt(a, "timeout");
	struct cfg_listen l;
	char why[128];
	unsigned long secs = 5;

	if (addr == NULL) {
		addr = "127.0.0.1:2222";
	}
	if (t != NULL && cli__parse_uint(t, 1, 3600, &secs) != 0) {
		return cli__usage(a->cmd, "--timeout must be a whole number of "
		    "seconds from 1 to 3600");
	}
	why[0] = '\0';
	if (cfg_parse_listen(addr, &l, why, sizeof(why)) != 0) {
		fprintf(stderr, "Invalid address '%s': %s\n", addr, why);
		return CLI_EXIT_FAIL;
	}
	switch (check_addr(&l, (int)secs * 1000, why, sizeof(why))) {
	case 0:
		printf("OK: %s is reachable\n", addr);
		return CLI_EXIT_OK;
	case ERR_INVAL:
		fprintf(stderr, "Invalid address '%s': the host must be an IP "
		    "address or localhost\n", addr);
		return CLI_EXIT_FAIL;
	default:
		fprintf(stderr, "FAIL: %s: %s\n", addr, why);
		return CLI_EXIT_FAIL;
	}
}

/* True if s is safe as one ssh_config value: no blank, quote, comment,
 * "%" token or (for a Host alias) pattern character. */
static int
ssh_token(const char *s, int alias)
{
	if (!cli__safe_token(s) || strchr(s, '%') != NULL) {
		return 0;
	}
	return !alias || strpbrk(s, "*?!,") == NULL;
}

int
cli__cmd_ssh_config(const struct cli_args *a)
{
	const char *user = cli__opt(a, "user"), *host = cli__opt(a, "host");
	const char *port = cli__opt(a, "port"), *name = cli__opt(a, "name");
	const char *dyn = cli__opt(a, "dynamic-forward");
	unsigned long p = 2222, d = 0;

	if (user == NULL || host == NULL) {
		return cli__usage(a->cmd, "--user and --host are required");
	}
	if (name == NULL) {
		name = "sks5-proxy";
	}
	if (!ssh_token(user, 0) || !ssh_token(host, 0) ||
	    !ssh_token(name, 1)) {
		return cli__usage(a->cmd, "values must not contain blanks, "
		    "quotes, '#', '%%' or control characters (and the name no "
		    "'*?!,')");
	}
	if ((port != NULL && cli__parse_uint(port, 1, 65535, &p) != 0) ||
	    (dyn != NULL && cli__parse_uint(dyn, 1, 65535, &d) != 0)) {
		return cli__usage(a->cmd, "ports are numbers from 1 to 65535");
	}
	printf("# sks5 bastion, generated by `sks5 ssh-config`.\n"
	    "# Host key checking stays on: on the first connection ssh shows "
	    "the\n# server's key fingerprint; compare it with the fingerprint "
	    "of the\n# server's host key (ask its administrator) before "
	    "answering yes.\n# To pin it ahead of time, add the verified key "
	    "to ~/.ssh/known_hosts\n# as \"%s%s%s", p == 22 ? "" : "[", host,
	    p == 22 ? "" : "]");
	if (p != 22) {
		printf(":%lu", p);
	}
	printf(" <type> <key>\".\nHost %s\n    HostName %s\n    User %s\n"
	    "    Port %lu\n    StrictHostKeyChecking ask\n"
	    "    ServerAliveInterval 30\n    ServerAliveCountMax 3\n", name,
	    host, user, p);
	if (dyn != NULL) {
		printf("    DynamicForward 127.0.0.1:%lu\n", d);
	}
	return CLI_EXIT_OK;
}

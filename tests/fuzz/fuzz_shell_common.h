/* Shared set-up of the shell fuzz targets: one configuration loaded once,
 * shell_ops doubles that never touch the network, a discarding writer. */
#ifndef SKS5_FUZZ_SHELL_COMMON_H
#define SKS5_FUZZ_SHELL_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "shell/shell.h"

static const char fz_doc[] =
    "[server]\nsocks5_listen = \"127.0.0.1:1080\"\n"
    "[shell]\nhostname = \"fz\"\n"
    "[acl]\ndeny = [\"10.0.0.0/8:*\"]\nallow = [\"*.example.com:443\"]\n"
    "[[users]]\nusername = \"alice\"\n"
    "password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2"
    "FsdA$2Jk7X6w5nJQ1kq5lYf0u4s0a7cXkzJ5XoXcH7l4t8jE\"\n"
    "[users.aliases]\nll = \"ls -la\"\n";

static int
fz_write(void *arg, const void *p, size_t n)
{
	size_t *total = arg;

	(void)p;
	*total += n;
	return 0;
}

static void
fz_stats(void *arg, struct shell_stats *out)
{
	(void)arg;
	out->active = 1;
	out->bytes_day = 12345;
	out->uptime_s = 99;
}

/* Probes fail at once: no network, no sleeping between pings. */
static int
fz_probe(void *arg, const char *host, uint16_t port, uint32_t timeout_ms,
    struct shell_probe *out)
{
	(void)arg;
	(void)host;
	(void)port;
	(void)timeout_ms;
	(void)out;
	return ERR_IO;
}

static int
fz_resolve(void *arg, const char *host, uint32_t timeout_ms,
    struct sockaddr_storage *addrs, size_t max, size_t *n,
    uint64_t *elapsed_us)
{
	(void)arg;
	(void)host;
	(void)timeout_ms;
	(void)addrs;
	(void)max;
	*n = 0;
	*elapsed_us = 0;
	return ERR_NOTFOUND;
}

static const struct shell_ops fz_ops = {
	NULL, fz_stats, fz_probe, fz_resolve,
};

/* The context, built on first use. */
static const struct shell_ctx *
fz_ctx(void)
{
	static struct shell_ctx x;
	static struct cfg *c;
	struct cfg_overrides ov;
	struct cfg_diag d;

	if (c == NULL) {
		memset(&ov, 0, sizeof(ov));
		ov.allow_pending = 1;
		cfg_diag_init(&d);
		if (cfg_load_string(fz_doc, strlen(fz_doc), "fz", NULL, &ov,
		    &c, &d) != 0) {
			abort();
		}
		cfg_diag_cleanup(&d);
		x.cfg = c;
		x.user = cfg_user_find(c, "alice");
		x.source_ip = "192.0.2.1";
		x.auth_method = "publickey";
		x.key_fingerprint = "SHA256:fuzz";
		x.term = "xterm";
		x.store = shell_store_new(20, 5);
		x.ops = &fz_ops;
	}
	return &x;
}

#endif /* SKS5_FUZZ_SHELL_COMMON_H */

/*
 * Validation of the complete model, after the file, the environment and
 * every command-line override were applied. Every problem is reported
 * (nothing stops at the first) with the place the value came from.
 */
#include "config/config_int.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/values.h"
#include "core/err.h"
#include "core/util.h"

/* Reports an error about the key at ipath. */
static void __attribute__((format(printf, 3, 4)))
verr(struct cfg__ld *ld, const char *ipath, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		abort();
	}
	va_end(ap);
	cfg_diag_error(ld->d, "%s: %s: %s", cfg__where(ld, ipath), ipath,
	    msg);
	free(msg);
}

/* Reports a warning about the key at ipath. */
static void __attribute__((format(printf, 3, 4)))
vwarn(struct cfg__ld *ld, const char *ipath, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		abort();
	}
	va_end(ap);
	cfg_diag_warn(ld->d, "%s: %s: %s", cfg__where(ld, ipath), ipath, msg);
	free(msg);
}

/* Webhook event names: those of the original's audit log (some of
 * which sks5 does not emit yet, see docs/WEBHOOKS.md) and proxy.start and
 * proxy.refused, which it adds. */
static const char *const events[] = {
	"auth.success", "auth.failure", "session.authenticated",
	"session.ended", "connection.new", "connection.closed", "proxy.start",
	"proxy.complete", "proxy.refused", "acl.deny", "ban.created",
	"ban.expired", "quota.exceeded", "rate_limit.exceeded",
	"config.reload", "maintenance.toggled", "alert.triggered",
	"admin.kick", "admin.unban", "admin.quota_reset", NULL
};

/* Names the original's documentation uses, which its code never matched:
 * accepted and mapped to the emitted name. */
static const char *const event_aliases[][2] = {
	{ "ban", "ban.created" },
	{ "ban.added", "ban.created" },
	{ "connection.open", "connection.new" },
	{ "connection.close", "connection.closed" },
	{ "session.start", "session.authenticated" },
	{ "session.end", "session.ended" },
};

/* True when name equals want, a '_' in name matching a '.' in want. */
static int
event_name_eq(const char *name, const char *want)
{
	size_t j;

	if (strlen(name) != strlen(want)) {
		return 0;
	}
	for (j = 0; name[j] != '\0'; j++) {
		if (name[j] != want[j] && !(name[j] == '_' && want[j] == '.')) {
			return 0;
		}
	}
	return 1;
}

/* MOTD template variables; src/shell/motd.c renders the same list. */
static const char *const motd_vars[] = {
	"user", "auth_method", "source_ip", "connections", "acl_policy",
	"allowed", "denied", "expires_at", "bandwidth_used", "bandwidth_limit",
	"last_login", "uptime", "version", "group", "role", "hostname", NULL
};

/* Warns about each {word} of a MOTD template that is no variable (the
 * shell prints it as written). */
static void
check_motd(struct cfg__ld *ld, const char *ipath, const char *tpl)
{
	const char *p = tpl, *e = NULL;
	size_t i, n;

	while (p != NULL && (p = strchr(p, '{')) != NULL) {
		for (e = p + 1; (*e >= 'a' && *e <= 'z') || *e == '_'; e++) {
			;
		}
		n = (size_t)(e - p - 1);
		if (*e != '}' || n == 0 || n > 32) {
			p++;
			continue;
		}
		for (i = 0; motd_vars[i] != NULL; i++) {
			if (strlen(motd_vars[i]) == n &&
			    memcmp(motd_vars[i], p + 1, n) == 0) {
				break;
			}
		}
		if (motd_vars[i] == NULL) {
			vwarn(ld, ipath, "unknown MOTD variable {%.*s} is "
			    "shown as written", (int)n, p + 1);
		}
		p = e + 1;
	}
}

/*
 * server.motd_path: the file's text becomes the global MOTD template
 * (unless [motd] template is set too). It is read here, each time the
 * configuration is loaded (startup, check-config, every reload), so a
 * problem with it is a configuration error, never a surprise at login.
 */
static void
load_motd_file(struct cfg__ld *ld)
{
	struct cfg *c = ld->c;
	const char *path = c->server.motd_path;
	const char *ip = "server.motd_path";
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	if (path == NULL) {
		return;
	}
	if (c->motd.template != NULL) {
		/* the original ignored the file: its configs keep working */
		vwarn(ld, ip, "not read: motd.template is set and wins");
		return;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0) {
		verr(ld, ip, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		verr(ld, ip, "%s is not a regular file", path);
		goto out;
	}
	buf = xmalloc(CFG_MOTD_MAX + 2);
	while (got <= CFG_MOTD_MAX && (n = read(fd, buf + got,
	    CFG_MOTD_MAX + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			verr(ld, ip, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	if (got > CFG_MOTD_MAX) {
		verr(ld, ip, "%s is larger than %d KiB", path,
		    CFG_MOTD_MAX / 1024);
		goto out;
	}
	if (memchr(buf, '\0', got) != NULL) {
		verr(ld, ip, "%s holds a NUL byte: not a text file", path);
		goto out;
	}
	buf[got] = '\0';
	check_motd(ld, ip, buf);
	free(c->motd_text);
	c->motd_text = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
}

/* Canonical dotted event name for name (dotted or underscore form, or
 * one of the aliases). */
const char *
cfg__event_canonical(const char *name)
{
	size_t i;

	for (i = 0; events[i] != NULL; i++) {
		if (event_name_eq(name, events[i])) {
			return events[i];
		}
	}
	for (i = 0; i < sizeof(event_aliases) / sizeof(event_aliases[0]);
	    i++) {
		if (event_name_eq(name, event_aliases[i][0])) {
			return event_aliases[i][1];
		}
	}
	return NULL;
}

/* Checks a listen address; returns 0 with *out filled when valid. */
static int
check_listen(struct cfg__ld *ld, const char *ipath, const char *s,
    struct cfg_listen *out)
{
	char err[256];

	if (cfg_parse_listen(s, out, err, sizeof(err)) != 0) {
		verr(ld, ipath, "invalid listen address \"%s\": %s", s, err);
		return ERR_INVAL;
	}
	return 0;
}

/* Checks every entry of a CIDR list (plain IPs accepted). */
static void
check_cidrs(struct cfg__ld *ld, const char *ipath, const struct cfg_strv *v)
{
	struct cfg_cidr net;
	char err[256];
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (cfg_parse_cidr(v->v[i], 1, &net, err, sizeof(err)) != 0) {
			verr(ld, ipath, "invalid network \"%s\": %s", v->v[i],
			    err);
		}
	}
}

/* Checks every ACL rule of a list. */
static void
check_rules(struct cfg__ld *ld, const char *ipath, const struct cfg_strv *v)
{
	struct cfg_acl_rule rule;
	char err[256];
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (cfg_parse_acl_rule(v->v[i], &rule, err, sizeof(err)) !=
		    0) {
			verr(ld, ipath, "invalid rule \"%s\": %s", v->v[i],
			    err);
		}
	}
}

/* Checks a file named by a key exists and is readable. */
static void
check_file(struct cfg__ld *ld, const char *ipath, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		verr(ld, ipath, "%s is not a readable file", path);
	}
}

/* [server]: listeners, identification string, TLS pair. */
static void
check_server(struct cfg__ld *ld, const struct cfg_server *s)
{
	struct cfg_listen a, b;
	const unsigned char *p = NULL;
	int oka = 0, okb = 0;

	if (s->ssh_listen != NULL) {
		oka = check_listen(ld, "server.ssh_listen", s->ssh_listen,
		    &a) == 0;
	}
	if (s->socks5_listen != NULL) {
		okb = check_listen(ld, "server.socks5_listen",
		    s->socks5_listen, &b) == 0;
	}
	if (oka && okb && a.port == b.port && strcasecmp(a.host,
	    b.host) == 0) {
		verr(ld, "server.socks5_listen", "same address as "
		    "server.ssh_listen (%s)", s->ssh_listen);
	}
	if (strncmp(s->server_id, "SSH-2.0-", 8) != 0 ||
	    s->server_id[8] == '\0') {
		verr(ld, "server.server_id", "must start with \"SSH-2.0-\" "
		    "followed by a software version");
	} else if (strlen(s->server_id) > 253) {
		verr(ld, "server.server_id", "longer than 253 characters");
	}
	for (p = (const unsigned char *)s->server_id; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f) {
			verr(ld, "server.server_id", "must not contain spaces "
			    "or control characters");
			break;
		}
	}
	if ((s->socks5_tls_cert == NULL) != (s->socks5_tls_key == NULL)) {
		verr(ld, s->socks5_tls_cert == NULL ? "server.socks5_tls_key" :
		    "server.socks5_tls_cert", "socks5_tls_cert and "
		    "socks5_tls_key must be set together");
	}
	if (s->socks5_tls_cert != NULL) {
		check_file(ld, "server.socks5_tls_cert", s->socks5_tls_cert);
	}
	if (s->socks5_tls_key != NULL) {
		check_file(ld, "server.socks5_tls_key", s->socks5_tls_key);
	}
}

/* security.argon2_*: the cost of new hashes and of the dummy check. */
static void
check_argon2(struct cfg__ld *ld, const struct cfg_security *s)
{
	if (s->argon2_memory_cost < CFG_ARGON2_M_MIN ||
	    s->argon2_memory_cost > CFG_ARGON2_M_MAX) {
		verr(ld, "security.argon2_memory_cost", "%u KiB is out of "
		    "range (%u..%u KiB)", s->argon2_memory_cost,
		    CFG_ARGON2_M_MIN, CFG_ARGON2_M_MAX);
	}
	if (s->argon2_time_cost < CFG_ARGON2_T_MIN ||
	    s->argon2_time_cost > CFG_ARGON2_T_MAX) {
		verr(ld, "security.argon2_time_cost", "%u is out of range "
		    "(%u..%u)", s->argon2_time_cost, CFG_ARGON2_T_MIN,
		    CFG_ARGON2_T_MAX);
	}
	if (s->argon2_parallelism != 1) {
		verr(ld, "security.argon2_parallelism", "must be 1: "
		    "libsodium's Argon2id computes a single lane (hashes "
		    "with p>1 made elsewhere still verify)");
	}
}

/* [security]: bans, source lists, TOTP protocols, CA keys. */
static void
check_security(struct cfg__ld *ld, const struct cfg_security *s)
{
	struct cfg_authkey key;
	char err[256];
	size_t i;

	if (s->ban_enabled && s->ban_threshold < 1) {
		verr(ld, "security.ban_threshold", "must be at least 1 when "
		    "ban_enabled is true");
	}
	if (s->ban_threshold > 1000) {
		verr(ld, "security.ban_threshold", "must be at most 1000");
	}
	check_cidrs(ld, "security.allowed_source_ips", &s->allowed_source_ips);
	check_cidrs(ld, "security.ban_whitelist", &s->ban_whitelist);
	check_cidrs(ld, "security.ip_guard_allow", &s->ip_guard_allow);
	for (i = 0; i < s->totp_required_for.n; i++) {
		if (strcmp(s->totp_required_for.v[i], "ssh") != 0 &&
		    strcmp(s->totp_required_for.v[i], "socks5") != 0) {
			verr(ld, "security.totp_required_for", "unknown "
			    "protocol \"%s\" (expected \"ssh\" or \"socks5\")",
			    s->totp_required_for.v[i]);
		}
	}
	for (i = 0; i < s->trusted_user_ca_keys.n; i++) {
		if (cfg_parse_authorized_key(s->trusted_user_ca_keys.v[i],
		    &key, err, sizeof(err)) != 0) {
			verr(ld, "security.trusted_user_ca_keys", "entry %zu: "
			    "%s", i + 1, err);
		}
		cfg_authkey_cleanup(&key);
	}
	check_argon2(ld, s);
}

/* [api], [metrics], [geoip], [acl], [upstream_proxy]. */
static void
check_misc(struct cfg__ld *ld, const struct cfg *c)
{
	struct cfg_listen l;
	struct cfg_proxy_url u;
	char err[256];
	size_t i, j;
	const struct cfg_strv *cc[2] = {
		&c->geoip.allowed_countries, &c->geoip.denied_countries
	};

	check_listen(ld, "api.listen", c->api.listen, &l);
	check_listen(ld, "metrics.listen", c->metrics.listen, &l);
	if (c->api.enabled && strlen(c->api.token) < 16) {
		verr(ld, "api.token", "must be at least 16 characters when the "
		    "API is enabled");
	}
	if (c->geoip.enabled && c->geoip.database_path == NULL) {
		verr(ld, "geoip.database_path", "required when geoip is "
		    "enabled");
	}
	for (j = 0; j < 2; j++) {
		for (i = 0; i < cc[j]->n; i++) {
			const char *s = cc[j]->v[i];

			if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' ||
			    s[1] < 'A' || s[1] > 'Z') {
				verr(ld, j == 0 ? "geoip.allowed_countries" :
				    "geoip.denied_countries", "\"%s\" is not an "
				    "ISO 3166 alpha-2 code (like \"FR\")", s);
			}
		}
	}
	check_rules(ld, "acl.allow", &c->acl.allow);
	check_rules(ld, "acl.deny", &c->acl.deny);
	if (c->acl.default_policy == CFG_POLICY_ALLOW && c->acl.deny.n == 0 &&
	    (c->server.ssh_listen != NULL || c->server.socks5_listen != NULL)) {
		cfg_diag_warn(ld->d, "%s: acl: the default policy is allow and "
		    "there are no deny rules: users can reach any destination",
		    cfg__where(ld, "acl"));
	}
	if (c->upstream_proxy.url != NULL) {
		if (cfg_parse_proxy_url(c->upstream_proxy.url, &u, err,
		    sizeof(err)) != 0) {
			verr(ld, "upstream_proxy.url", "%s", err);
		}
		cfg_proxy_url_cleanup(&u);
	}
}

/* Private/reserved ranges refused as webhook targets. */
static const char *const private_nets[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
	"192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128",
	"::ffff:0:0/96", "64:ff9b::/96", "2001::/32", "2001:db8::/32",
	"2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	NULL
};

/* True when addr lies in net. */
static int
net_contains(const struct cfg_cidr *net, const struct cfg_cidr *addr)
{
	int bits = net->prefix, i;

	if (net->family != addr->family) {
		return 0;
	}
	for (i = 0; bits >= 8; i++, bits -= 8) {
		if (net->addr[i] != addr->addr[i]) {
			return 0;
		}
	}
	return bits == 0 || ((net->addr[i] ^ addr->addr[i]) &
	    (0xff << (8 - bits)) & 0xff) == 0;
}

/*
 * True when a URL host is localhost (any case, with or without the final
 * dot, or a name below .localhost) or a literal private address. IPv4
 * literals are read the way resolvers read them, so "2130706433",
 * "0x7f.1" or "0177.0.0.1" are addresses too. The connect-time check of
 * the webhook thread (ip_guard's classifier) covers names.
 */
static int
host_is_private(const char *host)
{
	struct cfg_cidr a, n;
	struct in_addr in;
	char err[64], h[CFG_HOST_MAX + 1];
	size_t i, l;

	snprintf(h, sizeof(h), "%s", host);
	l = strlen(h);
	while (l > 0 && h[l - 1] == '.') {
		h[--l] = '\0';
	}
	if (l == 0 || strcasecmp(h, "localhost") == 0 || (l > 10 &&
	    strcasecmp(h + l - 10, ".localhost") == 0)) {
		return 1;
	}
	if (strchr(h, ':') == NULL && inet_aton(h, &in) != 0 &&
	    inet_ntop(AF_INET, &in, h, sizeof(h)) == NULL) {
		return 1;
	}
	if (cfg_parse_cidr(h, 1, &a, err, sizeof(err)) != 0) {
		return 0;	/* a name: checked again at delivery time */
	}
	for (i = 0; private_nets[i] != NULL; i++) {
		if (cfg_parse_cidr(private_nets[i], 0, &n, err,
		    sizeof(err)) == 0 && net_contains(&n, &a)) {
			return 1;
		}
	}
	return 0;
}

/* Checks an http(s) URL; private targets refused unless allowed. */
static void
check_http_url(struct cfg__ld *ld, const char *ipath, const char *url,
    int allow_private)
{
	struct cfg_http_url u;
	char err[256];

	if (cfg_parse_http_url(url, &u, err, sizeof(err)) != 0) {
		verr(ld, ipath, "%s", err);
	} else if (!allow_private && host_is_private(u.host)) {
		verr(ld, ipath, "%s is a private, loopback or reserved "
		    "address (set allow_private_ips = true to allow it)",
		    u.host);
	}
}

/* [[webhooks]]. */
static void
check_webhooks(struct cfg__ld *ld, const struct cfg *c)
{
	const struct cfg_webhook *w = NULL;
	char p[64];
	size_t i, j;

	for (i = 0; i < c->nwebhooks; i++) {
		w = &c->webhooks[i];
		snprintf(p, sizeof(p), "webhooks.%zu.url", i);
		if (w->url == NULL) {
			verr(ld, p, "required");
		} else {
			check_http_url(ld, p, w->url, w->allow_private_ips);
		}
		snprintf(p, sizeof(p), "webhooks.%zu.events", i);
		for (j = 0; j < w->events.n; j++) {
			if (cfg__event_canonical(w->events.v[j]) == NULL) {
				verr(ld, p, "unknown event \"%s\"",
				    w->events.v[j]);
			}
		}
		snprintf(p, sizeof(p), "webhooks.%zu.template", i);
		if (w->format == CFG_WH_CUSTOM && w->template == NULL) {
			verr(ld, p, "required when format = \"custom\"");
		} else if (w->format != CFG_WH_CUSTOM && w->template != NULL) {
			vwarn(ld, p, "ignored unless format = \"custom\"");
		}
		if (w->retry_delay_ms > w->max_retry_delay_ms) {
			snprintf(p, sizeof(p), "webhooks.%zu.retry_delay_ms",
			    i);
			verr(ld, p, "larger than max_retry_delay_ms");
		}
	}
}

/* [alerting] rules and [[maintenance_windows]]. */
static void
check_alerts_maint(struct cfg__ld *ld, const struct cfg *c)
{
	const struct cfg_alert_rule *r = NULL;
	struct cfg_schedule sc;
	char p[80], err[256];
	size_t i, j;

	for (i = 0; i < c->alerting.nrules; i++) {
		r = &c->alerting.rules[i];
		snprintf(p, sizeof(p), "alerting.rules.%zu", i);
		if (r->name == NULL || r->name[0] == '\0') {
			verr(ld, p, "name is required");
		}
		if (!r->condition.set) {
			verr(ld, p, "condition is required");
		}
		if (!r->threshold.set) {
			verr(ld, p, "threshold is required");
		}
		for (j = 0; j < r->users.n; j++) {
			if (cfg_user_find(c, r->users.v[j]) == NULL) {
				verr(ld, p, "users: unknown user \"%s\"",
				    r->users.v[j]);
			}
		}
		if (r->webhook_url != NULL) {
			snprintf(p, sizeof(p), "alerting.rules.%zu.webhook_url",
			    i);
			check_http_url(ld, p, r->webhook_url, 0);
		}
	}
	for (i = 0; i < c->nmaintenance_windows; i++) {
		snprintf(p, sizeof(p), "maintenance_windows.%zu.schedule", i);
		if (c->maintenance_windows[i].schedule == NULL) {
			verr(ld, p, "required");
		} else if (cfg_parse_schedule(c->maintenance_windows[i].schedule,
		    &sc, err, sizeof(err)) != 0) {
			verr(ld, p, "%s", err);
		}
	}
}

/* Checks a time_access block (user or group). */
static void
check_time(struct cfg__ld *ld, const char *base,
    const struct cfg_time_access_o *t)
{
	struct cfg_hours h;
	char p[96], err[256];
	size_t i;
	int day;

	if (t->access_hours != NULL && cfg_parse_hours(t->access_hours, &h,
	    err, sizeof(err)) != 0) {
		snprintf(p, sizeof(p), "%s.time_access.access_hours", base);
		verr(ld, p, "%s", err);
	}
	for (i = 0; i < t->access_days.n; i++) {
		if (cfg_parse_day(t->access_days.v[i], &day, err,
		    sizeof(err)) != 0) {
			snprintf(p, sizeof(p), "%s.time_access.access_days",
			    base);
			verr(ld, p, "%s", err);
		}
	}
	if (t->timezone != NULL && (t->timezone[0] == '\0' ||
	    strspn(t->timezone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789_+-/") != strlen(t->timezone) ||
	    strstr(t->timezone, "..") != NULL || t->timezone[0] == '/')) {
		snprintf(p, sizeof(p), "%s.time_access.timezone", base);
		verr(ld, p, "\"%s\" is not a time zone name (like \"UTC\" or "
		    "\"Europe/Paris\")", t->timezone);
	}
}

/* Checks what users and groups share: ACL, time window, methods. */
static void
check_common(struct cfg__ld *ld, const char *base, const struct cfg_acl_o *a,
    const struct cfg_time_access_o *t, const struct cfg_strv *methods)
{
	static const char *const known[] = {
		"password", "publickey", "pubkey", "keyboard-interactive",
		"certificate", NULL
	};
	char p[96];
	size_t i, j;

	snprintf(p, sizeof(p), "%s.acl.allow", base);
	check_rules(ld, p, &a->allow);
	snprintf(p, sizeof(p), "%s.acl.deny", base);
	check_rules(ld, p, &a->deny);
	check_time(ld, base, t);
	snprintf(p, sizeof(p), "%s.auth_methods", base);
	for (i = 0; i < methods->n; i++) {
		for (j = 0; known[j] != NULL; j++) {
			if (strcmp(known[j], methods->v[i]) == 0) {
				break;
			}
		}
		if (known[j] == NULL) {
			verr(ld, p, "unknown method \"%s\"", methods->v[i]);
		}
	}
}

/* Compares two name pointers for qsort. */
static int
cmp_names(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

/* Reports duplicate names among n entries (names may be NULL). */
static void
check_dups(struct cfg__ld *ld, const char *what, char **names, size_t n)
{
	size_t i;

	qsort(names, n, sizeof(char *), cmp_names);
	for (i = 1; i < n; i++) {
		if (strcmp(names[i], names[i - 1]) == 0 &&
		    (i < 2 || strcmp(names[i], names[i - 2]) != 0)) {
			cfg_diag_error(ld->d, "%s: duplicate %s \"%s\"",
			    ld->name, what, names[i]);
		}
	}
}

/*
 * An idle warning (limits., groups. or users.idle_warning_secs) must come
 * before the idle disconnect it announces: 0 < warn < limits.idle_timeout.
 */
static void
check_idle_warning(struct cfg__ld *ld, const struct cfg *c, const char *ipath,
    uint64_t warn)
{
	uint64_t t = c->limits.idle_timeout;

	if (warn == 0) {
		return;
	}
	if (t == 0) {
		verr(ld, ipath, "%llu s warns of an idle disconnect, but "
		    "limits.idle_timeout is 0 (no idle disconnect); set "
		    "limits.idle_timeout or use 0 here",
		    (unsigned long long)warn);
	} else if (warn >= t) {
		verr(ld, ipath, "must be less than limits.idle_timeout "
		    "(%llu s), got %llu s", (unsigned long long)t,
		    (unsigned long long)warn);
	}
}

/* [[groups]]. */
static void
check_groups(struct cfg__ld *ld, const struct cfg *c)
{
	const struct cfg_group *g = NULL;
	char **names = xcalloc(c->ngroups + 1, sizeof(char *));
	char p[64];
	size_t i, n = 0;

	for (i = 0; i < c->ngroups; i++) {
		g = &c->groups[i];
		snprintf(p, sizeof(p), "groups.%zu", i);
		if (g->name == NULL || g->name[0] == '\0') {
			verr(ld, p, "name is required");
		} else {
			names[n++] = g->name;
		}
		check_common(ld, p, &g->acl, &g->time_access, &g->auth_methods);
		snprintf(p, sizeof(p), "groups.%zu.motd.template", i);
		check_motd(ld, p, g->motd.template);
		snprintf(p, sizeof(p), "groups.%zu.idle_warning_secs", i);
		if (g->idle_warning_secs.set) {
			check_idle_warning(ld, c, p, g->idle_warning_secs.v);
		}
	}
	check_dups(ld, "group", names, n);
	free(names);
}

/* Credentials of one user: hash, keys, TOTP. */
static void
check_creds(struct cfg__ld *ld, const char *base, const struct cfg_user *u)
{
	struct cfg_authkey key;
	unsigned char raw[128];
	char p[96], err[256];
	size_t i, n = 0;

	snprintf(p, sizeof(p), "%s.password_hash", base);
	if (u->password_hash != NULL && cfg_check_phc(u->password_hash, err,
	    sizeof(err)) != 0) {
		verr(ld, p, "%s", err);
	}
	/* With trusted CAs a user may log in with a certificate alone. */
	if (u->password_hash == NULL && u->authorized_keys.n == 0 &&
	    ld->c->security.trusted_user_ca_keys.n == 0) {
		verr(ld, base, "user \"%s\" needs password_hash, "
		    "authorized_keys or security.trusted_user_ca_keys",
		    u->username != NULL ? u->username : "");
	}
	snprintf(p, sizeof(p), "%s.authorized_keys", base);
	for (i = 0; i < u->authorized_keys.n; i++) {
		if (cfg_parse_authorized_key(u->authorized_keys.v[i], &key,
		    err, sizeof(err)) != 0) {
			verr(ld, p, "entry %zu: %s", i + 1, err);
		}
		cfg_authkey_cleanup(&key);
	}
	snprintf(p, sizeof(p), "%s.totp_secret", base);
	if (u->totp_secret != NULL) {
		if (cfg_base32_decode(u->totp_secret, raw, sizeof(raw), &n,
		    err, sizeof(err)) != 0) {
			verr(ld, p, "not valid base32: %s", err);
		} else if (n < 10) {
			verr(ld, p, "too short: %zu bytes decoded, at least 10 "
			    "needed", n);
		}
		util_wipe(raw, sizeof(raw));
	}
	if (u->totp_enabled && u->totp_secret == NULL) {
		snprintf(p, sizeof(p), "%s.totp_enabled", base);
		verr(ld, p, "requires totp_secret");
	}
}

/* Checks alias names and commands. */
static void
check_aliases(struct cfg__ld *ld, const char *base, const struct cfg_map *m)
{
	char p[96];
	size_t i;

	snprintf(p, sizeof(p), "%s.aliases", base);
	for (i = 0; i < m->n; i++) {
		if (m->keys[i][0] == '\0' || strpbrk(m->keys[i], " \t=") !=
		    NULL) {
			verr(ld, p, "invalid alias name \"%s\"", m->keys[i]);
		}
		if (m->vals[i][0] == '\0') {
			verr(ld, p, "alias \"%s\" has an empty command",
			    m->keys[i]);
		}
	}
}

/* Checks one user's own fields. */
static void
check_user(struct cfg__ld *ld, const struct cfg *c, size_t idx)
{
	const struct cfg_user *u = &c->users[idx];
	const unsigned char *q = NULL;
	struct cfg_proxy_url pu;
	char base[40], p[96], err[256];
	time_t t;
	size_t i;

	snprintf(base, sizeof(base), "users.%zu", idx);
	snprintf(p, sizeof(p), "%s.username", base);
	if (u->username == NULL || u->username[0] == '\0') {
		verr(ld, p, "required");
	} else {
		for (q = (const unsigned char *)u->username; *q != '\0'; q++) {
			if (*q < ' ' || *q == 0x7f) {
				verr(ld, p, "must not contain control "
				    "characters");
				break;
			}
		}
		if (strlen(u->username) > 255) {
			verr(ld, p, "longer than 255 bytes");
		}
	}
	check_creds(ld, base, u);
	snprintf(p, sizeof(p), "%s.expires_at", base);
	if (u->expires_at != NULL && cfg_parse_rfc3339(u->expires_at, &t, err,
	    sizeof(err)) != 0) {
		verr(ld, p, "%s", err);
	}
	snprintf(p, sizeof(p), "%s.upstream_proxy", base);
	if (u->upstream_proxy != NULL) {
		if (cfg_parse_proxy_url(u->upstream_proxy, &pu, err,
		    sizeof(err)) != 0) {
			verr(ld, p, "%s", err);
		}
		cfg_proxy_url_cleanup(&pu);
	}
	snprintf(p, sizeof(p), "%s.group", base);
	if (u->group != NULL) {
		for (i = 0; i < c->ngroups; i++) {
			if (c->groups[i].name != NULL &&
			    strcmp(c->groups[i].name, u->group) == 0) {
				break;
			}
		}
		if (i == c->ngroups) {
			verr(ld, p, "unknown group \"%s\"", u->group);
		}
	}
	snprintf(p, sizeof(p), "%s.source_ips", base);
	check_cidrs(ld, p, &u->source_ips);
	check_common(ld, base, &u->acl, &u->time_access, &u->auth_methods);
	check_aliases(ld, base, &u->aliases);
	snprintf(p, sizeof(p), "%s.motd.template", base);
	check_motd(ld, p, u->motd.template);
	snprintf(p, sizeof(p), "%s.idle_warning_secs", base);
	if (u->idle_warning_secs.set) {
		check_idle_warning(ld, c, p, u->idle_warning_secs.v);
	}
}

/* [[users]]: at least one, unique names, each user's fields. */
static void
check_users(struct cfg__ld *ld, const struct cfg *c)
{
	char **names = xcalloc(c->nusers + 1, sizeof(char *));
	size_t i, n = 0;

	if (c->nusers == 0) {
		cfg_diag_error(ld->d, "%s: no users defined: add a [[users]] "
		    "entry (or SKS5_USER_0_USERNAME in the environment)",
		    ld->name);
	}
	for (i = 0; i < c->nusers; i++) {
		check_user(ld, c, i);
		if (c->users[i].username != NULL &&
		    c->users[i].username[0] != '\0') {
			names[n++] = c->users[i].username;
		}
	}
	check_dups(ld, "username", names, n);
	free(names);
}

int
cfg__validate(struct cfg__ld *ld)
{
	const struct cfg *c = ld->c;
	size_t nerr0 = ld->d->nerrors;

	check_server(ld, &c->server);
	check_security(ld, &c->security);
	check_misc(ld, c);
	check_webhooks(ld, c);
	check_alerts_maint(ld, c);
	check_idle_warning(ld, c, "limits.idle_warning_secs",
	    c->limits.idle_warning_secs);
	check_groups(ld, c);
	check_users(ld, c);
	check_motd(ld, "motd.template", c->motd.template);
	load_motd_file(ld);
	return ld->d->nerrors > nerr0 ? ERR_INVAL : 0;
}

/*
 * authorized_keys options and address pattern lists.
 */
#include "auth/auth.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "config/values.h"
#include "core/err.h"
#include "core/util.h"

/* Writes a message and returns ERR_INVAL. */
static int
opterr(char *err, size_t errlen, const char *msg, const char *what)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s%s%s", msg, what != NULL ? ": " : "",
		    what != NULL ? what : "");
	return ERR_INVAL;
}

/* Text of an address (IPv4-mapped IPv6 shown as IPv4). */
static void
addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)len);
	} else if (sa->sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
			    (socklen_t)len);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out,
			    (socklen_t)len);
	}
}

/* 1 if sa lies in cidr (v4-mapped addresses match IPv4 networks). */
static int
cidr_has(const struct cfg_cidr *c, const struct sockaddr *sa)
{
	const unsigned char *a = NULL;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	int bits = c->prefix, i;

	if (sa->sa_family == AF_INET && c->family == AF_INET) {
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6 && c->family == AF_INET6) {
		a = s6->sin6_addr.s6_addr;
	} else if (sa->sa_family == AF_INET6 && c->family == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a = &s6->sin6_addr.s6_addr[12];
	} else {
		return 0;
	}
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned char m = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((a[i] & m) != (c->addr[i] & m))
			return 0;
	}
	return 1;
}

/* Matches one entry (no '!'): CIDR, address or glob. 1, 0 or ERR_INVAL. */
static int
addr_match_one(const char *pat, const struct sockaddr *sa)
{
	struct cfg_cidr c;
	char err[80], text[64];

	if (strpbrk(pat, "*?") != NULL) {
		if (strspn(pat, "0123456789abcdefABCDEF.:*?") != strlen(pat))
			return ERR_INVAL;
		addr_text(sa, text, sizeof(text));
		return fnmatch(pat, text, 0) == 0;
	}
	if (cfg_parse_cidr(pat, 1, &c, err, sizeof(err)) != 0)
		return ERR_INVAL;
	return cidr_has(&c, sa);
}

int
auth_addr_match_list(const char *list, const struct sockaddr *sa)
{
	char *copy = xstrdup(list), *tok = NULL, *save = NULL;
	int neg, r, any = 0, rc = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		neg = *tok == '!';
		if (neg)
			tok++;
		if (*tok == '\0') {
			rc = ERR_INVAL;
			goto out;
		}
		if ((r = addr_match_one(tok, sa)) < 0) {
			rc = ERR_INVAL;
			goto out;
		}
		if (r == 1 && neg) {
			rc = 0;
			goto out;	/* a negated match refuses at once */
		}
		if (r == 1)
			any = 1;
	}
	rc = any;
out:
	free(copy);
	return rc;
}

/* Reads a quoted value at *pp (after '='), with \" escapes. */
static int
opt_value(const char **pp, char **out)
{
	const char *p = *pp;
	char buf[AUTH_OPT_MAX];
	size_t n = 0;

	if (*p != '"')
		return ERR_INVAL;
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] == '"')
			p++;
		if (n + 1 >= sizeof(buf))
			return ERR_INVAL;
		buf[n++] = *p;
	}
	if (*p != '"')
		return ERR_INVAL;
	buf[n] = '\0';
	*out = xstrdup(buf);
	*pp = p + 1;
	return 0;
}

/* "YYYYMMDD[HHMM[SS]]" in UTC. */
static int
parse_expiry(const char *s, time_t *out)
{
	struct tm tm;
	size_t n = strlen(s);
	int v[6] = { 0, 0, 0, 0, 0, 0 };

	if ((n != 8 && n != 12 && n != 14) ||
	    strspn(s, "0123456789") != n)
		return ERR_INVAL;
	sscanf(s, "%4d%2d%2d%2d%2d%2d", &v[0], &v[1], &v[2], &v[3], &v[4],
	    &v[5]);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return ERR_INVAL;
	*out = timegm(&tm);
	return 0;
}

static const char *const flag_names[] = {
	"restrict", "no-port-forwarding", "port-forwarding", "no-pty", "pty",
	"no-agent-forwarding", "agent-forwarding", "no-X11-forwarding",
	"X11-forwarding", "no-user-rc", "user-rc", "cert-authority", NULL
};

/* Applies a flag option. */
static void
opt_flag(struct auth_keyopts *o, int i)
{
	switch (i) {
	case 0:		/* restrict */
		o->no_port_forwarding = 1;
		o->no_pty = 1;
		break;
	case 1:
		o->no_port_forwarding = 1;
		break;
	case 2:
		o->no_port_forwarding = 0;
		break;
	case 3:
		o->no_pty = 1;
		break;
	case 4:
		o->no_pty = 0;
		break;
	case 11:
		o->cert_authority = 1;
		break;
	default:
		break;	/* agent, X11, user-rc: never offered here */
	}
}

/* Replaces *dst with v (or appends with a comma when join is set). */
static void
opt_set(char **dst, char *v, int join)
{
	char *n = NULL;

	if (join && *dst != NULL) {
		n = xasprintf("%s,%s", *dst, v);
		free(v);
		v = n;
	}
	free(*dst);
	*dst = v;
}

/* Handles name="value" options. */
static int
opt_valued(struct auth_keyopts *o, const char *name, size_t nl,
    const char **pp, char *err, size_t errlen)
{
	char *v = NULL;

	if (opt_value(pp, &v) != 0)
		return opterr(err, errlen, "option value must be a quoted "
		    "string", NULL);
#define IS(s) (nl == strlen(s) && strncasecmp(name, s, nl) == 0)
	if (IS("from")) {
		opt_set(&o->from, v, 0);
	} else if (IS("command")) {
		opt_set(&o->command, v, 0);
	} else if (IS("principals")) {
		opt_set(&o->principals, v, 0);
	} else if (IS("permitopen")) {
		opt_set(&o->permitopen, v, 1);
	} else if (IS("expiry-time")) {
		if (parse_expiry(v, &o->expiry) != 0) {
			free(v);
			return opterr(err, errlen, "expiry-time is not "
			    "YYYYMMDD[HHMM[SS]]", NULL);
		}
		o->has_expiry = 1;
		free(v);
	} else if (IS("permitlisten") || IS("environment")) {
		free(v);	/* no -R and no environment here */
	} else {
		free(v);
		return opterr(err, errlen, "unsupported key option", name);
	}
#undef IS
	return 0;
}

int
auth_keyopts_parse(const char *s, struct auth_keyopts *out, char *err,
    size_t errlen)
{
	const char *p = s, *name = NULL;
	size_t nl;
	int i, r = 0;

	memset(out, 0, sizeof(*out));
	if (errlen > 0)
		err[0] = '\0';
	if (s == NULL)
		return 0;
	while (*p != '\0' && r == 0) {
		name = p;
		nl = strcspn(p, ",=");
		p += nl;
		if (nl == 0) {
			r = opterr(err, errlen, "empty option", NULL);
			break;
		}
		if (*p == '=') {
			p++;
			r = opt_valued(out, name, nl, &p, err, errlen);
		} else {
			for (i = 0; flag_names[i] != NULL; i++) {
				if (strlen(flag_names[i]) == nl &&
				    strncasecmp(flag_names[i], name, nl) == 0)
					break;
			}
			if (flag_names[i] == NULL) {
				char tmp[64];

				snprintf(tmp, sizeof(tmp), "%.*s",
				    (int)(nl < 60 ? nl : 60), name);
				r = opterr(err, errlen, "unsupported key "
				    "option", tmp);
				break;
			}
			opt_flag(out, i);
		}
		if (r == 0 && *p == ',')
			p++;
		else if (r == 0 && *p != '\0')
			r = opterr(err, errlen, "junk after option", NULL);
	}
	if (r != 0)
		auth_keyopts_cleanup(out);
	return r;
}

void
auth_keyopts_cleanup(struct auth_keyopts *o)
{
	free(o->from);
	free(o->command);
	free(o->principals);
	free(o->permitopen);
	memset(o, 0, sizeof(*o));
}

int
auth_permitopen_match(const char *list, const char *host, uint16_t port)
{
	char *copy = xstrdup(list), *tok = NULL, *save = NULL, *colon = NULL;
	char *h = NULL;
	int ok = 0;
	size_t hl;

	for (tok = strtok_r(copy, ",", &save); tok != NULL && !ok;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((colon = strrchr(tok, ':')) == NULL)
			continue;
		*colon = '\0';
		h = tok;
		hl = strlen(h);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h[hl - 1] = '\0';
			h++;
		}
		if ((strcmp(h, "*") == 0 || strcasecmp(h, host) == 0) &&
		    (strcmp(colon + 1, "*") == 0 ||
		    strtoul(colon + 1, NULL, 10) == port))
			ok = 1;
	}
	free(copy);
	return ok;
}

int
auth_b64_decode(const char *s, unsigned char **out, size_t *len)
{
	size_t n = strlen(s), bl = 0;
	unsigned char *b = xmalloc(n / 4 * 3 + 4);

	*out = NULL;
	*len = 0;
	if (sodium_base642bin(b, n / 4 * 3 + 4, s, n, " \t\r\n", &bl, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(b);
		return ERR_INVAL;
	}
	*out = b;
	*len = bl;
	return 0;
}

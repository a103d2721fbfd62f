/*
 * Pure parsers for the value syntaxes used in the configuration:
 * listen addresses, CIDRs, ACL rules, RFC 3339 instants, time-of-day
 * ranges, day names, maintenance schedules, base32, authorized_keys lines,
 * proxy and webhook URLs, and Argon2 PHC strings.
 *
 * Each parser takes a NUL-terminated string, never logs, and returns 0 on
 * success or ERR_INVAL with a message for a person in err (which is always
 * NUL-terminated when errlen > 0). Out-params are cleared on entry.
 */
#ifndef SKS5_CONFIG_VALUES_H
#define SKS5_CONFIG_VALUES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CFG_HOST_MAX	255	/* RFC 1035 name length limit */

/* "host:port", "[v6]:port" or "*:port"; host may be a name (validated,
 * never resolved). "*" is stored as "*" and means every address. The port
 * is digits only, 1..65535; a bare IPv6 address is an error. */
struct cfg_listen {
	char		host[CFG_HOST_MAX + 1];	/* brackets removed */
	uint16_t	port;			/* 1..65535 */
};
int	cfg_parse_listen(const char *s, struct cfg_listen *out,
	    char *err, size_t errlen);

/* An IPv4 or IPv6 network. IPv4 is stored as family AF_INET in addr[0..3]. */
struct cfg_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* host bits cleared */
	int		prefix;		/* 0..32 or 0..128 */
};
/* "10.0.0.0/8", "2001:db8::/32"; with allow_bare a plain address means
 * /32 or /128. Host bits set below the prefix are an error. */
int	cfg_parse_cidr(const char *s, int allow_bare, struct cfg_cidr *out,
	    char *err, size_t errlen);
/* Formats a network back to text ("10.0.0.0/8"). */
void	cfg_cidr_format(const struct cfg_cidr *c, char *out, size_t outlen);

/*
 * ACL rule "HOST[:PORTSPEC]". HOST: "*", CIDR, IP, "[v6]", "[v6/len]",
 * "*.example.com" (the domain and every subdomain) or an exact name.
 * PORTSPEC: "*", "N" or "LO-HI" (LO <= HI). Bare IPv6 without brackets is
 * rejected (ambiguous with a port); names are lower-cased and validated.
 */
enum cfg_acl_host {
	CFG_ACL_ANY = 1,	/* "*" */
	CFG_ACL_NET,		/* IP or CIDR */
	CFG_ACL_EXACT,		/* exact host name */
	CFG_ACL_SUFFIX,		/* "*.example.com": name stored "example.com" */
};
struct cfg_acl_rule {
	enum cfg_acl_host	kind;
	struct cfg_cidr		net;			/* CFG_ACL_NET */
	char			name[CFG_HOST_MAX + 1];	/* EXACT/SUFFIX */
	uint16_t		port_lo, port_hi;	/* 0-65535 = any */
};
int	cfg_parse_acl_rule(const char *s, struct cfg_acl_rule *out,
	    char *err, size_t errlen);

/* Validates a DNS host name (RFC 1035/1123 lengths and characters); a
 * single trailing dot is allowed. 0 or ERR_INVAL. */
int	cfg_check_hostname(const char *s, char *err, size_t errlen);

/* RFC 3339 date-time with "Z" or a numeric offset -> seconds since epoch. */
int	cfg_parse_rfc3339(const char *s, time_t *out, char *err, size_t errlen);

/* "HH:MM-HH:MM": start inclusive, end exclusive, minutes since midnight.
 * start > end means the range crosses midnight; start == end is an error. */
struct cfg_hours {
	int	start;	/* 0..1439 */
	int	end;	/* 0..1440 ("24:00" allowed as an end) */
};
int	cfg_parse_hours(const char *s, struct cfg_hours *out,
	    char *err, size_t errlen);

/* "mon".."sun" (also full names), case-insensitive -> 0 (mon) .. 6 (sun). */
int	cfg_parse_day(const char *s, int *out, char *err, size_t errlen);

/* Maintenance schedule: "daily HH:MM-HH:MM" or "<day> HH:MM-HH:MM". */
struct cfg_schedule {
	int			day;	/* -1 daily, else 0 (mon) .. 6 (sun) */
	struct cfg_hours	hours;
};
int	cfg_parse_schedule(const char *s, struct cfg_schedule *out,
	    char *err, size_t errlen);

/* RFC 4648 base32 (A-Z2-7, case-insensitive, '=' padding and spaces
 * ignored). decode writes at most outlen bytes and sets *n. */
int	cfg_base32_decode(const char *s, unsigned char *out, size_t outlen,
	    size_t *n, char *err, size_t errlen);
/* Encodes without padding; out must hold (len*8+4)/5+1 bytes. */
void	cfg_base32_encode(const unsigned char *in, size_t len, char *out);

/* One authorized_keys line: [options] keytype base64 [comment]. The
 * options prefix is parsed (quoted values, commas) and kept verbatim. */
struct cfg_authkey {
	char	*options;	/* heap, or NULL when none */
	char	*type;		/* heap, e.g. "ssh-ed25519" */
	char	*blob_b64;	/* heap, the base64 key as written */
	char	*comment;	/* heap, or NULL */
};
int	cfg_parse_authorized_key(const char *line, struct cfg_authkey *out,
	    char *err, size_t errlen);
void	cfg_authkey_cleanup(struct cfg_authkey *k);

/* "socks5://[user[:pass]@]host:port" with percent-decoded credentials
 * (each at most 255 bytes, %00 refused; pass is NULL without a ':').
 * Also "socks5h://" (the upstream resolves names). No path or query; one
 * trailing '/' is allowed. cleanup is NULL-safe and may be repeated. */
struct cfg_proxy_url {
	int	remote_dns;	/* socks5h */
	char	*user;		/* heap or NULL */
	char	*pass;		/* heap or NULL; wiped by cleanup */
	char	host[CFG_HOST_MAX + 1];
	uint16_t port;
};
int	cfg_parse_proxy_url(const char *s, struct cfg_proxy_url *out,
	    char *err, size_t errlen);
void	cfg_proxy_url_cleanup(struct cfg_proxy_url *u);

/* "http://" or "https://" URL; returns the scheme, host and port (80 or
 * 443 when absent). "user:pass@" is rejected; the path and query are not
 * checked beyond refusing spaces and control characters. */
struct cfg_http_url {
	int		tls;	/* https */
	char		host[CFG_HOST_MAX + 1];	/* brackets removed */
	uint16_t	port;
};
int	cfg_parse_http_url(const char *s, struct cfg_http_url *out,
	    char *err, size_t errlen);

/* Writes s to out with any "user:pass@" credentials of a URL replaced by
 * "***@" (for non-http schemes up to the last '@', so odd characters in a
 * password cannot leak). out always NUL-terminated, truncated to fit. */
void	cfg_redact_url(const char *s, char *out, size_t outlen);
/* Replaces, in place, whatever follows the authority of a URL (path,
 * query, fragment) with a slash and three asterisks when there is any;
 * size is the buffer's. */
void	cfg_redact_url_path(char *url, size_t size);

/*
 * Bounds of security.argon2_*: within libsodium's crypto_pwhash limits
 * (memory at least 8 KiB, at least 1 pass for Argon2id) and within what
 * cfg_check_phc() accepts in a password_hash, so every hash sks5 makes
 * loads again. libsodium computes one lane only, so parallelism is 1.
 */
#define CFG_ARGON2_M_MIN	8u		/* KiB */
#define CFG_ARGON2_M_MAX	4194304u	/* KiB: 4 GiB */
#define CFG_ARGON2_T_MIN	1u
#define CFG_ARGON2_T_MAX	64u
#define CFG_ARGON2_M_DEFAULT	19456u		/* KiB, as in the schema */
#define CFG_ARGON2_T_DEFAULT	2u

/* Checks an Argon2 PHC string "$argon2id$v=19$m=..,t=..,p=..$salt$hash"
 * (also argon2i/argon2d) for shape and sane parameters. */
int	cfg_check_phc(const char *s, char *err, size_t errlen);

#endif /* SKS5_CONFIG_VALUES_H */

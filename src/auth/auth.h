/*
 * auth: authentication helpers that do not depend on any protocol
 * library: TOTP (RFC 6238) with replay refusal, OpenSSH user certificate
 * parsing and validation (PROTOCOL.certkeys, CA signature checked with
 * OpenSSL), authorized_keys option parsing, and address pattern lists
 * ("from=" and "source-address").
 *
 * Parsers are pure functions over a buffer: no fd, no loop, no log.
 */
#ifndef SKS5_AUTH_AUTH_H
#define SKS5_AUTH_AUTH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config/values.h"

struct sockaddr;

/* ----- TOTP (auth_totp.c) ----- */

#define AUTH_TOTP_STEP		30	/* seconds */
#define AUTH_TOTP_DIGITS	6
#define AUTH_TOTP_SKEW		1	/* steps accepted either side */

/* The code of one time step (HMAC-SHA1, 6 digits). 0 or ERR_INVAL. */
int	auth_totp_code(const unsigned char *key, size_t klen, uint64_t step,
	    uint32_t *code);

/*
 * Checks a 6-digit code against the steps around now (+-AUTH_TOTP_SKEW).
 * Steps at or below *last_step (the last one accepted for this secret)
 * are refused, so a code is good once. On success *last_step is set to
 * the matched step. Returns 0, ERR_DENIED (wrong, replayed) or ERR_INVAL
 * (not 6 ASCII digits). Comparison is constant time.
 */
int	auth_totp_verify(const unsigned char *key, size_t klen,
	    const char *code, time_t now, uint64_t *last_step);

/*
 * Splits "password:123456" (at the last ':' when 6 digits follow and the
 * part before is not empty) or "password123456" (longer than 6, last 6
 * digits). Returns the length of the password part and copies the code
 * (NUL-terminated) into code, or returns -1 when no code is found.
 */
long	auth_totp_split(const char *s, size_t len, char code[7]);

/* Last accepted time step per user name; thread-safe, bounded. */
struct auth_totp_replay;
struct auth_totp_replay *auth_totp_replay_new(size_t max);
void	auth_totp_replay_free(struct auth_totp_replay *r);
/* Verifies code for user with replay refusal across connections. */
int	auth_totp_check(struct auth_totp_replay *r, const char *user,
	    const unsigned char *key, size_t klen, const char *code,
	    time_t now);

/* ----- address patterns (auth_keyopts.c) ----- */

/*
 * Matches an address against a comma-separated list of CIDRs, addresses
 * and '*'/'?' wildcard patterns of addresses, each optionally negated
 * with '!'. A negated match refuses at once. Returns 1 (match), 0 (no
 * match) or ERR_INVAL (an entry that is neither, which callers treat as
 * a refusal).
 */
int	auth_addr_match_list(const char *list, const struct sockaddr *sa);

/* ----- authorized_keys options (auth_keyopts.c) ----- */

#define AUTH_OPT_MAX	1024

struct auth_keyopts {
	int	 no_port_forwarding;
	int	 no_pty;
	int	 cert_authority;
	char	*from;		/* heap or NULL */
	char	*command;	/* heap or NULL: force-command */
	char	*principals;	/* heap or NULL (cert-authority) */
	char	*permitopen;	/* heap or NULL: "host:port,..." */
	int	 has_expiry;
	time_t	 expiry;	/* UTC */
};

/*
 * Parses an options prefix (as kept by cfg_parse_authorized_key):
 * restrict, no-port-forwarding, port-forwarding, no-pty, pty,
 * no-agent-forwarding, no-X11-forwarding, no-user-rc, agent-forwarding,
 * X11-forwarding, user-rc, from="", command="", permitopen="",
 * permitlisten="" (no -R here: accepted and ignored), principals="",
 * cert-authority, expiry-time="YYYYMMDD[HHMM[SS]]", environment="" (not
 * honoured: ignored). Unknown options are errors, so a key whose
 * restrictions we cannot honour is never accepted. NULL or "" is fine.
 * 0 or ERR_INVAL with a message in err.
 */
int	auth_keyopts_parse(const char *s, struct auth_keyopts *out,
	    char *err, size_t errlen);
void	auth_keyopts_cleanup(struct auth_keyopts *o);

/* 1 if host:port is allowed by a permitopen list ("host:port", "*" as
 * host or port). */
int	auth_permitopen_match(const char *list, const char *host,
	    uint16_t port);

/* ----- OpenSSH certificates (auth_cert.c) ----- */

#define AUTH_CERT_USER	1
#define AUTH_CERT_HOST	2

/* A parsed certificate; pointers borrow from the blob given to parse. */
struct auth_cert {
	char			 type[64];	/* "ssh-ed25519-cert-v01@..." */
	uint64_t		 serial;
	uint32_t		 cert_type;
	char			 key_id[256];
	const unsigned char	*principals;	/* packed SSH strings */
	size_t			 principals_len;
	uint64_t		 valid_after;
	uint64_t		 valid_before;
	const unsigned char	*critical;	/* packed name/data pairs */
	size_t			 critical_len;
	const unsigned char	*extensions;
	size_t			 extensions_len;
	const unsigned char	*ca_key;	/* signature key blob */
	size_t			 ca_key_len;
	const unsigned char	*signature;	/* signature blob */
	size_t			 signature_len;
	size_t			 signed_len;	/* bytes covered: [0, this) */
	const unsigned char	*blob;
	size_t			 blob_len;
};

/* Parses a certificate blob. 0 or ERR_PROTO. */
int	auth_cert_parse(const unsigned char *blob, size_t len,
	    struct auth_cert *out);

/* Verifies the CA signature (ssh-ed25519, ecdsa-sha2-nistp256/384/521,
 * rsa-sha2-256/512; ssh-rsa SHA-1 is refused). 0 or ERR_DENIED. */
int	auth_cert_verify_signature(const struct auth_cert *c);

/* Result of the policy checks. */
struct auth_cert_verdict {
	char	*force_command;		/* heap or NULL */
	int	 permit_port_forwarding;
	int	 permit_pty;
};

/*
 * Full check of a user certificate for user at now from peer: CA among
 * the trusted blobs, CA signature, type user, validity window, user in
 * the principals (an empty list is refused), critical options
 * (force-command and source-address honoured, any other refused).
 * Fills v (free with auth_cert_verdict_cleanup) and returns 0, or
 * ERR_DENIED with the reason in why.
 */
int	auth_cert_check(const struct auth_cert *c, const char *user,
	    time_t now, const struct sockaddr *peer,
	    const unsigned char *const *cas, const size_t *ca_lens,
	    size_t ncas, struct auth_cert_verdict *v, char *why,
	    size_t whylen);
void	auth_cert_verdict_cleanup(struct auth_cert_verdict *v);

/* Decodes standard base64 into a new heap buffer. 0 or ERR_INVAL. */
int	auth_b64_decode(const char *s, unsigned char **out, size_t *len);

/* ----- Argon2id hashing (auth_pwhash.c) ----- */

/* Bounds and defaults of security.argon2_* (config/values.h). */
#define AUTH_ARGON2_M_MIN	CFG_ARGON2_M_MIN
#define AUTH_ARGON2_M_MAX	CFG_ARGON2_M_MAX
#define AUTH_ARGON2_T_MIN	CFG_ARGON2_T_MIN
#define AUTH_ARGON2_T_MAX	CFG_ARGON2_T_MAX
#define AUTH_ARGON2_M_DEFAULT	CFG_ARGON2_M_DEFAULT
#define AUTH_ARGON2_T_DEFAULT	CFG_ARGON2_T_DEFAULT

/* Checks a cost; 0, or ERR_INVAL with a reason in err. */
int	auth_argon2_check(uint32_t m_kib, uint32_t t, uint32_t p, char *err,
	    size_t errlen);
/* Argon2id PHC string of pw (len bytes) into out (at least
 * crypto_pwhash_STRBYTES = 128 bytes). 0, ERR_INVAL (bad cost, short
 * buffer) or ERR_NOMEM. */
int	auth_argon2_hash(const char *pw, size_t len, uint32_t m_kib,
	    uint32_t t, char *out, size_t outlen);

#endif /* SKS5_AUTH_AUTH_H */

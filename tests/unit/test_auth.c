/*
 * Unit tests for src/auth: TOTP (RFC 6238 vectors, skew, replay, the
 * password split), authorized_keys options, address lists, and OpenSSH
 * certificate parsing and validation (certificates made by ssh-keygen,
 * see test_auth_data.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "auth/auth.h"
#include "core/err.h"
#include "test_auth_data.h"

static const unsigned char RFC_KEY[] = "12345678901234567890";

static void
test_totp_rfc6238_vectors(void **state)
{
	static const struct {
		uint64_t	t;
		uint32_t	code;
	} v[] = {
		{ 59, 287082 }, { 1111111109, 81804 }, { 1111111111, 50471 },
		{ 1234567890, 5924 }, { 2000000000, 279037 },
		{ 20000000000ULL, 353130 },
	};
	uint32_t code;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(auth_totp_code(RFC_KEY, 20, v[i].t / 30,
		    &code), 0);
		assert_int_equal(code, v[i].code);
	}
	assert_int_equal(auth_totp_code(RFC_KEY, 0, 1, &code), ERR_INVAL);
}

static void
test_totp_verify_skew_and_replay(void **state)
{
	uint64_t last = 0;
	time_t now = 1234567890;

	(void)state;
	/* The code of now, of the step before, never two steps away. */
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "005924", now, &last),
	    0);
	assert_int_equal(last, (uint64_t)now / 30);
	/* The same step again is a replay. */
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "005924", now, &last),
	    ERR_DENIED);
	last = 0;
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "005924", now + 30,
	    &last), 0);
	last = 0;
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "005924", now + 65,
	    &last), ERR_DENIED);
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "12345", now, &last),
	    ERR_INVAL);
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "12345a", now, &last),
	    ERR_INVAL);
	assert_int_equal(auth_totp_verify(RFC_KEY, 20, "1234567", now, &last),
	    ERR_INVAL);
}

static void
test_totp_replay_table(void **state)
{
	struct auth_totp_replay *r = auth_totp_replay_new(2);
	time_t now = 1234567890;

	(void)state;
	assert_int_equal(auth_totp_check(r, "alice", RFC_KEY, 20, "005924",
	    now), 0);
	assert_int_equal(auth_totp_check(r, "alice", RFC_KEY, 20, "005924",
	    now), ERR_DENIED);
	/* Another user with the same secret has a record of its own. */
	assert_int_equal(auth_totp_check(r, "bob", RFC_KEY, 20, "005924",
	    now), 0);
	/* A full table reuses the oldest entry, and stays correct. */
	assert_int_equal(auth_totp_check(r, "carol", RFC_KEY, 20, "005924",
	    now), 0);
	assert_int_equal(auth_totp_check(r, "carol", RFC_KEY, 20, "005924",
	    now), ERR_DENIED);
	auth_totp_replay_free(r);
}

/* Runs the split and compares. */
static void
split_is(const char *in, long want_len, const char *want_code)
{
	char code[7];
	long n = auth_totp_split(in, strlen(in), code);

	assert_int_equal(n, want_len);
	if (want_code != NULL)
		assert_string_equal(code, want_code);
}

static void
test_totp_split(void **state)
{
	(void)state;
	split_is("mypassword:123456", 10, "123456");
	split_is("pass:word:123456", 9, "123456");
	split_is("password123456", 8, "123456");
	split_is("123456", -1, NULL);
	split_is("password:12345", -1, NULL);
	split_is(":123456", 1, "123456");
	split_is("1234567890", 4, "567890");
	split_is("mypass123456:654321", 12, "654321");
	split_is("", -1, NULL);
}

/* An IPv4 sockaddr. */
static struct sockaddr_storage
v4(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
	return ss;
}

static struct sockaddr_storage
v6(const char *a)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &s->sin6_addr);
	return ss;
}

static void
test_addr_match_list(void **state)
{
	struct sockaddr_storage a = v4("10.1.2.3"), b = v4("192.168.1.1");
	struct sockaddr_storage m = v6("::ffff:10.1.2.3"), l6 = v6("::1");
	const struct sockaddr *pa = (const struct sockaddr *)&a;

	(void)state;
	assert_int_equal(auth_addr_match_list("10.0.0.0/8", pa), 1);
	assert_int_equal(auth_addr_match_list("192.168.0.0/16,10.1.2.3",
	    pa), 1);
	assert_int_equal(auth_addr_match_list("192.168.0.0/16",
	    pa), 0);
	assert_int_equal(auth_addr_match_list("10.1.*", pa), 1);
	assert_int_equal(auth_addr_match_list("10.0.0.0/8,!10.1.2.3", pa), 0);
	assert_int_equal(auth_addr_match_list("!10.1.2.3,10.0.0.0/8", pa), 0);
	assert_int_equal(auth_addr_match_list("10.0.0.0/8",
	    (const struct sockaddr *)&m), 1);
	assert_int_equal(auth_addr_match_list("::1",
	    (const struct sockaddr *)&l6), 1);
	assert_int_equal(auth_addr_match_list("192.168.1.1",
	    (const struct sockaddr *)&b), 1);
	assert_int_equal(auth_addr_match_list("example.com", pa), ERR_INVAL);
	assert_int_equal(auth_addr_match_list("10.0.0.0/8,,", pa), 1);
	assert_int_equal(auth_addr_match_list("!", pa), ERR_INVAL);
}

static void
test_keyopts(void **state)
{
	struct auth_keyopts o;
	char err[128];

	(void)state;
	assert_int_equal(auth_keyopts_parse(NULL, &o, err, sizeof(err)), 0);
	assert_null(o.from);
	assert_int_equal(auth_keyopts_parse("restrict,port-forwarding,"
	    "from=\"10.0.0.0/8,192.168.1.1\",command=\"echo \\\"hi\\\"\","
	    "permitopen=\"a.example:80\",permitopen=\"*:443\"", &o, err,
	    sizeof(err)), 0);
	assert_int_equal(o.no_port_forwarding, 0);
	assert_int_equal(o.no_pty, 1);
	assert_string_equal(o.from, "10.0.0.0/8,192.168.1.1");
	assert_string_equal(o.command, "echo \"hi\"");
	assert_string_equal(o.permitopen, "a.example:80,*:443");
	assert_int_equal(auth_permitopen_match(o.permitopen, "a.example", 80),
	    1);
	assert_int_equal(auth_permitopen_match(o.permitopen, "A.EXAMPLE", 80),
	    1);
	assert_int_equal(auth_permitopen_match(o.permitopen, "a.example", 81),
	    0);
	assert_int_equal(auth_permitopen_match(o.permitopen, "b.example",
	    443), 1);
	auth_keyopts_cleanup(&o);

	assert_int_equal(auth_keyopts_parse("no-pty,expiry-time=\"20200102\"",
	    &o, err, sizeof(err)), 0);
	assert_int_equal(o.has_expiry, 1);
	assert_int_equal((long long)o.expiry, 1577923200LL);
	auth_keyopts_cleanup(&o);

	assert_int_equal(auth_keyopts_parse("cert-authority,principals=\"a,b\"",
	    &o, err, sizeof(err)), 0);
	assert_int_equal(o.cert_authority, 1);
	auth_keyopts_cleanup(&o);

	/* Unknown or malformed options refuse the key. */
	assert_int_equal(auth_keyopts_parse("tunnel=\"0\"", &o, err,
	    sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "tunnel"));
	assert_int_equal(auth_keyopts_parse("no-such-flag", &o, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(auth_keyopts_parse("from=10.0.0.1", &o, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(auth_keyopts_parse("from=\"unterminated", &o, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(auth_keyopts_parse("expiry-time=\"2020\"", &o, err,
	    sizeof(err)), ERR_INVAL);
	assert_int_equal(auth_keyopts_parse("no-pty,,no-pty", &o, err,
	    sizeof(err)), ERR_INVAL);
}

/* Decoded test blobs. */
struct blob {
	unsigned char	*p;
	size_t		 n;
};

static struct blob
dec(const char *b64)
{
	struct blob b;

	assert_int_equal(auth_b64_decode(b64, &b.p, &b.n), 0);
	return b;
}

/* Checks a certificate for user against the three CAs at now. */
static int
check(const char *cert_b64, const char *user, time_t now, const char *ip,
    struct auth_cert_verdict *v, char *why, size_t wl)
{
	struct blob c = dec(cert_b64), ca[3];
	const unsigned char *cas[3];
	size_t lens[3], i;
	struct sockaddr_storage peer = v4(ip);
	struct auth_cert cert;
	int rc;

	ca[0] = dec(CA_ED);
	ca[1] = dec(CA_EC);
	ca[2] = dec(CA_RSA);
	for (i = 0; i < 3; i++) {
		cas[i] = ca[i].p;
		lens[i] = ca[i].n;
	}
	rc = auth_cert_parse(c.p, c.n, &cert);
	if (rc == 0)
		rc = auth_cert_check(&cert, user, now,
		    (const struct sockaddr *)&peer, cas, lens, 3, v, why, wl);
	for (i = 0; i < 3; i++)
		free(ca[i].p);
	free(c.p);
	return rc;
}

static void
test_cert_parse(void **state)
{
	struct blob c = dec(CERT_GOOD);
	struct auth_cert cert;
	size_t i;

	(void)state;
	assert_int_equal(auth_cert_parse(c.p, c.n, &cert), 0);
	assert_string_equal(cert.type, "ssh-ed25519-cert-v01@openssh.com");
	assert_int_equal(cert.serial, 42);
	assert_int_equal(cert.cert_type, AUTH_CERT_USER);
	assert_string_equal(cert.key_id, "good");
	assert_int_equal(cert.valid_after, 0);
	assert_int_equal(cert.valid_before, UINT64_MAX);
	assert_int_equal(auth_cert_verify_signature(&cert), 0);
	/* Every truncation is refused, never read past. */
	for (i = 0; i < c.n; i++)
		assert_int_equal(auth_cert_parse(c.p, i, &cert), ERR_PROTO);
	/* A changed byte in the signed part breaks the CA signature. */
	assert_int_equal(auth_cert_parse(c.p, c.n, &cert), 0);
	c.p[cert.signed_len - cert.ca_key_len - 40] ^= 1;
	if (auth_cert_parse(c.p, c.n, &cert) == 0)
		assert_int_equal(auth_cert_verify_signature(&cert), ERR_DENIED);
	free(c.p);
}

static void
test_cert_check(void **state)
{
	struct auth_cert_verdict v;
	char why[128];
	time_t now = 1700000000;

	(void)state;
	assert_int_equal(check(CERT_GOOD, "alice", now, "127.0.0.1", &v, why,
	    sizeof(why)), 0);
	assert_int_equal(v.permit_port_forwarding, 1);
	assert_int_equal(v.permit_pty, 1);
	assert_null(v.force_command);
	auth_cert_verdict_cleanup(&v);
	assert_int_equal(check(CERT_GOOD, "ops", now, "127.0.0.1", &v, why,
	    sizeof(why)), 0);
	auth_cert_verdict_cleanup(&v);
	assert_int_equal(check(CERT_GOOD, "bob", now, "127.0.0.1", &v, why,
	    sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "not a principal"));
	assert_int_equal(check(CERT_EXPIRED, "alice", now, "127.0.0.1", &v,
	    why, sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(check(CERT_EXPIRED, "alice", 1500000000, "127.0.0.1",
	    &v, why, sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "not yet valid"));
	assert_int_equal(check(CERT_HOST, "alice", now, "127.0.0.1", &v, why,
	    sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "not a user certificate"));
	assert_int_equal(check(CERT_NOPRINC, "alice", now, "127.0.0.1", &v,
	    why, sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "no principals"));
	assert_int_equal(check(CERT_SRC, "alice", now, "10.9.8.7", &v, why,
	    sizeof(why)), 0);
	assert_string_equal(v.force_command, "whoami");
	auth_cert_verdict_cleanup(&v);
	assert_int_equal(check(CERT_SRC, "alice", now, "192.168.1.1", &v, why,
	    sizeof(why)), 0);
	auth_cert_verdict_cleanup(&v);
	assert_int_equal(check(CERT_SRC, "alice", now, "127.0.0.1", &v, why,
	    sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "source-address"));
	assert_int_equal(check(CERT_EC, "alice", now, "127.0.0.1", &v, why,
	    sizeof(why)), 0);
	auth_cert_verdict_cleanup(&v);
	assert_int_equal(check(CERT_RSA, "alice", now, "127.0.0.1", &v, why,
	    sizeof(why)), 0);
	auth_cert_verdict_cleanup(&v);
}

static void
test_cert_untrusted_ca(void **state)
{
	struct blob c = dec(CERT_GOOD), ca = dec(CA_EC);
	const unsigned char *cas[1] = { ca.p };
	size_t lens[1] = { ca.n };
	struct auth_cert cert;
	struct auth_cert_verdict v;
	char why[128];

	(void)state;
	assert_int_equal(auth_cert_parse(c.p, c.n, &cert), 0);
	assert_int_equal(auth_cert_check(&cert, "alice", 1700000000, NULL,
	    cas, lens, 1, &v, why, sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "untrusted CA"));
	assert_int_equal(auth_cert_check(&cert, "alice", 1700000000, NULL,
	    cas, lens, 0, &v, why, sizeof(why)), ERR_DENIED);
	free(c.p);
	free(ca.p);
}

/* Argon2id hashes carry the configured cost and verify; bad costs are
 * refused with a reason. */
static void
test_argon2_hash(void **state)
{
	char out[crypto_pwhash_STRBYTES], err[160];

	(void)state;
	assert_int_equal(auth_argon2_hash("pw", 2, 64, 3, out, sizeof(out)),
	    0);
	assert_non_null(strstr(out, "$argon2id$v=19$m=64,t=3,p=1$"));
	assert_int_equal(crypto_pwhash_str_verify(out, "pw", 2), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(out, "pX", 2), 0);
	assert_int_equal(auth_argon2_hash("pw", 2, AUTH_ARGON2_M_DEFAULT,
	    AUTH_ARGON2_T_DEFAULT, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "$m=19456,t=2,p=1$"));
	/* Bounds. */
	assert_int_equal(auth_argon2_check(8, 1, 1, err, sizeof(err)), 0);
	assert_int_equal(auth_argon2_check(4194304, 64, 1, err,
	    sizeof(err)), 0);
	assert_int_equal(auth_argon2_check(7, 1, 1, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "memory cost 7 KiB is out of range"));
	assert_int_equal(auth_argon2_check(4194305, 1, 1, err, sizeof(err)),
	    ERR_INVAL);
	assert_int_equal(auth_argon2_check(64, 0, 1, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "time cost 0 is out of range (1..64)"));
	assert_int_equal(auth_argon2_check(64, 65, 1, err, sizeof(err)),
	    ERR_INVAL);
	assert_int_equal(auth_argon2_check(64, 1, 2, err, sizeof(err)),
	    ERR_INVAL);
	assert_non_null(strstr(err, "parallelism 2 is not supported"));
	assert_int_equal(auth_argon2_hash("pw", 2, 7, 1, out, sizeof(out)),
	    ERR_INVAL);
	assert_int_equal(auth_argon2_hash("pw", 2, 64, 1, out, 64),
	    ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_totp_rfc6238_vectors),
		cmocka_unit_test(test_argon2_hash),
		cmocka_unit_test(test_totp_verify_skew_and_replay),
		cmocka_unit_test(test_totp_replay_table),
		cmocka_unit_test(test_totp_split),
		cmocka_unit_test(test_addr_match_list),
		cmocka_unit_test(test_keyopts),
		cmocka_unit_test(test_cert_parse),
		cmocka_unit_test(test_cert_check),
		cmocka_unit_test(test_cert_untrusted_ca),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

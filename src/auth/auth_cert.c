/*
 * OpenSSH user certificates (PROTOCOL.certkeys): a pure parser over the
 * certificate blob, the CA signature check with OpenSSL, and the policy
 * checks (trusted CA, type, validity, principals, critical options).
 * libssh 0.10 verifies only the user's own signature; everything that
 * makes a certificate trustworthy happens here.
 */
#include "auth/auth.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/err.h"
#include "core/util.h"

/* A read cursor over a blob. */
struct rd {
	const unsigned char	*p;
	size_t			 left;
};

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return ERR_PROTO;
	*v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
	    ((uint32_t)r->p[2] << 8) | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int
rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;
	int rc;

	if ((rc = rd_u32(r, &hi)) != 0 || (rc = rd_u32(r, &lo)) != 0)
		return rc;
	*v = ((uint64_t)hi << 32) | lo;
	return 0;
}

/* An SSH string: pointer into the blob and length. */
static int
rd_str(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t n;
	int rc;

	if ((rc = rd_u32(r, &n)) != 0)
		return rc;
	if (n > r->left)
		return ERR_PROTO;
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return 0;
}

/* Skips n strings. */
static int
rd_skip(struct rd *r, int n)
{
	const unsigned char *s = NULL;
	size_t l;
	int rc = 0;

	while (n-- > 0 && rc == 0)
		rc = rd_str(r, &s, &l);
	return rc;
}

/* 1 if the string equals the C string. */
static int
str_is(const unsigned char *s, size_t len, const char *c)
{
	return len == strlen(c) && memcmp(s, c, len) == 0;
}

/* Public-key fields of each certified key type, as string count. */
static int
key_fields(const char *type)
{
	if (strcmp(type, "ssh-ed25519-cert-v01@openssh.com") == 0)
		return 1;
	if (strcmp(type, "ssh-rsa-cert-v01@openssh.com") == 0)
		return 2;	/* mpint e, mpint n */
	if (strncmp(type, "ecdsa-sha2-nistp", 16) == 0 &&
	    strstr(type, "-cert-v01@openssh.com") != NULL)
		return 2;	/* curve, Q */
	if (strcmp(type, "sk-ssh-ed25519-cert-v01@openssh.com") == 0)
		return 2;	/* pk, application */
	if (strcmp(type, "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com") == 0)
		return 3;	/* curve, Q, application */
	return -1;
}

int
auth_cert_parse(const unsigned char *blob, size_t len,
    struct auth_cert *out)
{
	struct rd r = { blob, len };
	const unsigned char *s = NULL;
	size_t sl;
	int nf, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rd_str(&r, &s, &sl)) != 0)
		return rc;
	if (sl == 0 || sl >= sizeof(out->type))
		return ERR_PROTO;
	memcpy(out->type, s, sl);
	out->type[sl] = '\0';
	if ((nf = key_fields(out->type)) < 0)
		return ERR_PROTO;
	if ((rc = rd_skip(&r, 1 + nf)) != 0 ||	/* nonce, key */
	    (rc = rd_u64(&r, &out->serial)) != 0 ||
	    (rc = rd_u32(&r, &out->cert_type)) != 0 ||
	    (rc = rd_str(&r, &s, &sl)) != 0)
		return ERR_PROTO;
	if (sl >= sizeof(out->key_id))
		sl = sizeof(out->key_id) - 1;
	memcpy(out->key_id, s, sl);
	out->key_id[sl] = '\0';
	if ((rc = rd_str(&r, &out->principals, &out->principals_len)) != 0 ||
	    (rc = rd_u64(&r, &out->valid_after)) != 0 ||
	    (rc = rd_u64(&r, &out->valid_before)) != 0 ||
	    (rc = rd_str(&r, &out->critical, &out->critical_len)) != 0 ||
	    (rc = rd_str(&r, &out->extensions, &out->extensions_len)) != 0 ||
	    (rc = rd_skip(&r, 1)) != 0 ||	/* reserved */
	    (rc = rd_str(&r, &out->ca_key, &out->ca_key_len)) != 0)
		return ERR_PROTO;
	out->signed_len = len - r.left;
	if ((rc = rd_str(&r, &out->signature, &out->signature_len)) != 0 ||
	    r.left != 0)
		return ERR_PROTO;
	out->blob = blob;
	out->blob_len = len;
	return 0;
}

/* Verifies sig over msg with pkey and digest md (NULL for Ed25519). */
static int
evp_verify(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *sig,
    size_t sl, const unsigned char *msg, size_t ml)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL,
	    pkey) == 1)
		ok = EVP_DigestVerify(ctx, sig, sl, msg, ml) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : ERR_DENIED;
}

/* Builds an RSA or EC key from parameters. */
static EVP_PKEY *
pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *pkey = NULL;

	if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1)
		(void)EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY,
		    params);
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* ssh-rsa CA key with rsa-sha2-256/512 signature. */
static int
verify_rsa(struct rd *k, const unsigned char *alg, size_t al,
    const unsigned char *sig, size_t sl, const unsigned char *msg,
    size_t ml)
{
	const unsigned char *e = NULL, *n = NULL;
	size_t el, nl;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *be = NULL, *bn = NULL;
	EVP_PKEY *pkey = NULL;
	const EVP_MD *md = NULL;
	int rc = ERR_DENIED;

	if (str_is(alg, al, "rsa-sha2-256"))
		md = EVP_sha256();
	else if (str_is(alg, al, "rsa-sha2-512"))
		md = EVP_sha512();
	else
		return ERR_DENIED;	/* ssh-rsa (SHA-1) is refused */
	if (rd_str(k, &e, &el) != 0 || rd_str(k, &n, &nl) != 0)
		return ERR_DENIED;
	be = BN_bin2bn(e, (int)el, NULL);
	bn = BN_bin2bn(n, (int)nl, NULL);
	if (be == NULL || bn == NULL || BN_num_bits(bn) < 2048 ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	if ((pkey = pkey_fromdata("RSA", bld)) != NULL)
		rc = evp_verify(pkey, md, sig, sl, msg, ml);
out:
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	BN_free(be);
	BN_free(bn);
	return rc;
}

/* ecdsa-sha2-nistpNNN CA key; the signature is mpint r, mpint s. */
static int
verify_ecdsa(struct rd *k, const char *ktype, const unsigned char *sig,
    size_t sl, const unsigned char *msg, size_t ml)
{
	const unsigned char *curve = NULL, *q = NULL, *rb = NULL, *sb = NULL;
	size_t cl, ql, rl, sbl;
	struct rd sr = { sig, sl };
	const char *group = NULL;
	const EVP_MD *md = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *der = NULL;
	int dl, rc = ERR_DENIED;

	if (strcmp(ktype, "ecdsa-sha2-nistp256") == 0) {
		group = "prime256v1";
		md = EVP_sha256();
	} else if (strcmp(ktype, "ecdsa-sha2-nistp384") == 0) {
		group = "secp384r1";
		md = EVP_sha384();
	} else if (strcmp(ktype, "ecdsa-sha2-nistp521") == 0) {
		group = "secp521r1";
		md = EVP_sha512();
	} else {
		return ERR_DENIED;
	}
	if (rd_str(k, &curve, &cl) != 0 || rd_str(k, &q, &ql) != 0 ||
	    !str_is(curve, cl, ktype + 11) || rd_str(&sr, &rb, &rl) != 0 ||
	    rd_str(&sr, &sb, &sbl) != 0 || sr.left != 0)
		return ERR_DENIED;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    q, ql) || (pkey = pkey_fromdata("EC", bld)) == NULL)
		goto out;
	br = BN_bin2bn(rb, (int)rl, NULL);
	bs = BN_bin2bn(sb, (int)sbl, NULL);
	if (br == NULL || bs == NULL || (es = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;
	if ((dl = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	rc = evp_verify(pkey, md, der, (size_t)dl, msg, ml);
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(br);
	BN_free(bs);
	EVP_PKEY_free(pkey);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

int
auth_cert_verify_signature(const struct auth_cert *c)
{
	struct rd k = { c->ca_key, c->ca_key_len };
	struct rd s = { c->signature, c->signature_len };
	const unsigned char *kt = NULL, *alg = NULL, *sig = NULL, *pk = NULL;
	size_t ktl, al, sl, pkl;
	char ktype[32];
	EVP_PKEY *pkey = NULL;
	int rc = ERR_DENIED;

	if (rd_str(&k, &kt, &ktl) != 0 || ktl >= sizeof(ktype) ||
	    rd_str(&s, &alg, &al) != 0 || rd_str(&s, &sig, &sl) != 0 ||
	    s.left != 0)
		return ERR_DENIED;
	memcpy(ktype, kt, ktl);
	ktype[ktl] = '\0';
	if (strcmp(ktype, "ssh-ed25519") == 0) {
		if (!str_is(alg, al, "ssh-ed25519") ||
		    rd_str(&k, &pk, &pkl) != 0 || pkl != 32 || k.left != 0 ||
		    sl != 64)
			return ERR_DENIED;
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk,
		    pkl);
		if (pkey != NULL)
			rc = evp_verify(pkey, NULL, sig, sl, c->blob,
			    c->signed_len);
		EVP_PKEY_free(pkey);
		return rc;
	}
	if (strcmp(ktype, "ssh-rsa") == 0)
		return verify_rsa(&k, alg, al, sig, sl, c->blob,
		    c->signed_len);
	if (strncmp(ktype, "ecdsa-sha2-", 11) == 0 && str_is(alg, al, ktype))
		return verify_ecdsa(&k, ktype, sig, sl, c->blob,
		    c->signed_len);
	return ERR_DENIED;
}

/* Writes a reason and returns ERR_DENIED. */
static int
deny(char *why, size_t wl, const char *msg)
{
	if (wl > 0)
		snprintf(why, wl, "%s", msg);
	return ERR_DENIED;
}

/* 1 if user is among the packed principals. */
static int
has_principal(const struct auth_cert *c, const char *user, int *empty)
{
	struct rd r = { c->principals, c->principals_len };
	const unsigned char *s = NULL;
	size_t sl;
	int found = 0;

	*empty = 1;
	while (r.left > 0) {
		if (rd_str(&r, &s, &sl) != 0)
			return 0;
		*empty = 0;
		if (str_is(s, sl, user))
			found = 1;
	}
	return found;
}

/* Critical options: force-command and source-address; others refuse. */
static int
check_critical(const struct auth_cert *c, const struct sockaddr *peer,
    struct auth_cert_verdict *v, char *why, size_t wl)
{
	struct rd r = { c->critical, c->critical_len };
	const unsigned char *name = NULL, *data = NULL, *val = NULL;
	size_t nl, dl, vl;
	char *text = NULL;
	int m;

	while (r.left > 0) {
		if (rd_str(&r, &name, &nl) != 0 || rd_str(&r, &data, &dl) != 0)
			return deny(why, wl, "malformed critical options");
		{
			struct rd d = { data, dl };

			if (rd_str(&d, &val, &vl) != 0 || d.left != 0)
				return deny(why, wl, "malformed critical "
				    "option value");
		}
		if (memchr(val, '\0', vl) != NULL)
			return deny(why, wl, "NUL in critical option");
		text = xstrndup((const char *)val, vl);
		if (str_is(name, nl, "force-command")) {
			free(v->force_command);
			v->force_command = text;
			continue;
		}
		if (str_is(name, nl, "source-address")) {
			m = peer != NULL ? auth_addr_match_list(text, peer) : 0;
			free(text);
			if (m != 1)
				return deny(why, wl, "source-address does not "
				    "allow this client address");
			continue;
		}
		free(text);
		return deny(why, wl, "unsupported critical option");
	}
	return 0;
}

/* Extensions we honour: permit-port-forwarding and permit-pty. */
static void
read_extensions(const struct auth_cert *c, struct auth_cert_verdict *v)
{
	struct rd r = { c->extensions, c->extensions_len };
	const unsigned char *name = NULL, *data = NULL;
	size_t nl, dl;

	while (r.left > 0) {
		if (rd_str(&r, &name, &nl) != 0 || rd_str(&r, &data, &dl) != 0)
			return;
		if (str_is(name, nl, "permit-port-forwarding"))
			v->permit_port_forwarding = 1;
		else if (str_is(name, nl, "permit-pty"))
			v->permit_pty = 1;
	}
}

int
auth_cert_check(const struct auth_cert *c, const char *user, time_t now,
    const struct sockaddr *peer, const unsigned char *const *cas,
    const size_t *ca_lens, size_t ncas, struct auth_cert_verdict *v,
    char *why, size_t wl)
{
	size_t i;
	int empty, rc;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < ncas; i++) {
		if (ca_lens[i] == c->ca_key_len &&
		    memcmp(cas[i], c->ca_key, ca_lens[i]) == 0)
			break;
	}
	if (i == ncas)
		return deny(why, wl, "certificate signed by an untrusted CA");
	if (auth_cert_verify_signature(c) != 0)
		return deny(why, wl, "bad CA signature");
	if (c->cert_type != AUTH_CERT_USER)
		return deny(why, wl, "not a user certificate");
	if (now < 0 || (uint64_t)now < c->valid_after)
		return deny(why, wl, "certificate not yet valid");
	if ((uint64_t)now >= c->valid_before)
		return deny(why, wl, "certificate expired");
	if (!has_principal(c, user, &empty))
		return deny(why, wl, empty ? "certificate has no principals" :
		    "user is not a principal of the certificate");
	if ((rc = check_critical(c, peer, v, why, wl)) != 0) {
		auth_cert_verdict_cleanup(v);
		return rc;
	}
	read_extensions(c, v);
	return 0;
}

void
auth_cert_verdict_cleanup(struct auth_cert_verdict *v)
{
	free(v->force_command);
	v->force_command = NULL;
}

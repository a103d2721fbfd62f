/*
 * SSH authentication: password (Argon2id on the worker pool, a dummy
 * check for unknown users), publickey against authorized_keys with its
 * options, OpenSSH user certificates checked against
 * security.trusted_user_ca_keys, keyboard-interactive TOTP, TOTP appended
 * to the password, method chaining with partial success, the attempt
 * limit, and the login gate (expiry, source_ips, time_access).
 *
 * Attempts that count towards limits.max_auth_attempts: a wrong
 * password, a signed publickey or certificate that is not accepted, a
 * wrong TOTP answer. The "none" probe and publickey queries (no
 * signature) do not count.
 */
#include "ssh/sshd_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth/auth.h"
#include "config/config.h"
#include "config/values.h"
#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"
#include "policy/acl.h"
#include "policy/authcache.h"
#include "policy/events.h"
#include "policy/policy.h"
#include "policy/snap.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* A password check on the pool; owns copies of what it needs. */
struct pw_job {
	struct sshd_conn	*c;	/* NULL once the connection is gone */
	char			*hash;
	char			 pass[256];
	size_t			 plen;
	char			 code[8];
	int			 real;	/* a real user's real hash */
	struct authcache	*cache;	/* remember a success, or NULL */
	char			 user[128];
	uint64_t		 ttl_ms;
};

static void	auth_fail(struct sshd_conn *, ssh_message, int, const char *);

/* Whether TOTP is required of this user over SSH. */
static int
totp_required(const struct sshd_conn *c, const struct cfg_user *u)
{
	const struct cfg_strv *v = &c->snap->cfg->security.totp_required_for;
	size_t i;

	if (!u->totp_enabled || u->totp_secret == NULL)
		return 0;
	if (!v->set || v->n == 0)
		return 1;	/* an enabled second factor is never optional */
	for (i = 0; i < v->n; i++) {
		if (strcmp(v->v[i], "ssh") == 0)
			return 1;
	}
	return 0;
}

/* Looks the user up on the first request and sets what must succeed.
 * Returns 1 for a known user, 0 otherwise; a change of user name after
 * the first request is refused (-1). */
static int
user_setup(struct sshd_conn *c, const char *name)
{
	const struct cfg_user_eff *e = NULL;
	const struct cfg_strv *am = NULL;
	size_t i;

	if (name == NULL)
		return 0;
	if (c->user[0] != '\0')
		return strcmp(c->user, name) == 0 ? (c->pu != NULL) : -1;
	snprintf(c->user, sizeof(c->user), "%s", name);
	c->pu = policy_snap_user(c->snap, name);
	if (c->pu == NULL) {
		c->need_any = SSHD_M_PASSWORD | SSHD_M_PUBKEY;
		return 0;
	}
	e = &c->pu->cfg->eff;
	am = e->auth_methods;
	if (am != NULL && am->n > 0) {
		for (i = 0; i < am->n; i++) {
			if (strcmp(am->v[i], "password") == 0)
				c->need_all |= SSHD_M_PASSWORD;
			else if (strcmp(am->v[i], "publickey") == 0 ||
			    strcmp(am->v[i], "pubkey") == 0)
				c->need_all |= SSHD_M_PUBKEY;
			else if (strcmp(am->v[i], "certificate") == 0)
				c->need_all |= SSHD_M_CERT;
			else if (strcmp(am->v[i], "keyboard-interactive") == 0)
				c->need_all |= SSHD_M_KBDINT;
		}
	} else {
		c->need_any = SSHD_M_PASSWORD | SSHD_M_PUBKEY;
		if (totp_required(c, c->pu->cfg))
			c->need_all = SSHD_M_KBDINT;
	}
	return 1;
}

/* Methods still open, as libssh flags. */
static int
methods_left(const struct sshd_conn *c)
{
	unsigned rem = 0;
	int m = 0;

	if (c->need_any != 0 && (c->done & c->need_any) == 0)
		rem |= c->need_any;
	rem |= c->need_all & ~c->done;
	if (c->pu == NULL)
		rem = SSHD_M_PASSWORD | SSHD_M_PUBKEY;
	if (rem & SSHD_M_PASSWORD)
		m |= SSH_AUTH_METHOD_PASSWORD;
	if (rem & (SSHD_M_PUBKEY | SSHD_M_CERT))
		m |= SSH_AUTH_METHOD_PUBLICKEY;
	if (rem & SSHD_M_KBDINT)
		m |= SSH_AUTH_METHOD_INTERACTIVE;
	return m;
}

/* Whether method bits m may still help. */
static int
method_open(const struct sshd_conn *c, unsigned m)
{
	if (c->pu == NULL)
		return 0;
	if (c->need_any != 0 && (c->done & c->need_any) == 0 &&
	    (c->need_any & m))
		return 1;
	return (c->need_all & ~c->done & m) != 0;
}

static int
auth_complete(const struct sshd_conn *c)
{
	return c->pu != NULL &&
	    (c->need_any == 0 || (c->done & c->need_any) != 0) &&
	    (c->need_all & ~c->done) == 0;
}

/*
 * The login gate (policy_login_check): account expiry, time_access,
 * the user's source_ips and maintenance. Returns 0 or ERR_DENIED with
 * the reason in why.
 */
static int
login_gate(struct sshd_conn *c, char *why, size_t wl)
{
	const char *r = policy_login_check(c->snap, c->pu,
	    (const struct sockaddr *)&c->peer, policy_now_ms());

	if (r == NULL)
		return 0;
	snprintf(why, wl, "%s", r);
	return ERR_DENIED;
}

/* Publishes an auth event (audit log, metrics): the user name as the
 * client sent it and the method; never a secret. */
static void
emit_auth(const struct sshd_conn *c, int ok, const char *method,
    const char *reason)
{
	struct auth_event ev;

	ev.success = ok;
	ev.proto = "ssh";
	ev.user = c->user;
	ev.source = c->peer_str;
	ev.method = method != NULL ? method : "none";
	ev.reason = reason;
	auth_emit(&ev);
}

/* Appends a method name to the label of the login. */
static void
label_add(struct sshd_conn *c, const char *name)
{
	size_t n = strlen(c->method);

	snprintf(c->method + n, sizeof(c->method) - n, "%s%s",
	    n > 0 ? "+" : "", name);
}

/* A method succeeded: finish the login or answer partial success. */
static void
auth_progress(struct sshd_conn *c, ssh_message m, unsigned bits,
    const char *name)
{
	char why[128];

	c->done |= bits;
	label_add(c, name);
	if (!auth_complete(c)) {
		log_info("event=auth.partial proto=ssh peer=%s user=%s "
		    "method=%s", c->peer_str, c->user, name);
		(void)ssh_message_auth_set_methods(m, methods_left(c));
		(void)ssh_message_auth_reply_success(m, 1);
		ssh_message_free(m);
		return;
	}
	if (login_gate(c, why, sizeof(why)) != 0) {
		c->done = 0;
		auth_fail(c, m, 1, why);
		return;
	}
	(void)ssh_message_auth_reply_success(m, 0);
	ssh_message_free(m);
	atomic_store(&c->authed, 1);
	policy_auth_succeeded(c->snap, (const struct sockaddr *)&c->peer,
	    policy_now_ms());
	if (c->preauth_held) {
		c->preauth_held = 0;
		policy_preauth_release(c->snap,
		    (const struct sockaddr *)&c->peer);
	}
	log_info("event=auth.success proto=ssh peer=%s user=%s method=%s",
	    c->peer_str, c->user, c->method);
	emit_auth(c, 1, c->method, NULL);
}

/* Sends the held failure reply (after the delay). */
static void
fail_send(struct sshd_conn *c)
{
	uint32_t max = c->snap->cfg->limits.max_auth_attempts;

	if (c->held != NULL) {
		(void)ssh_message_auth_set_methods(c->held, methods_left(c));
		(void)ssh_message_reply_default(c->held);
		ssh_message_free(c->held);
		c->held = NULL;
	}
	if (max > 0 && c->failures >= max) {
		log_info("event=auth.exhausted proto=ssh peer=%s user=%s "
		    "attempts=%u", c->peer_str, c->user, c->failures);
		sshd__conn_close(c, "too many authentication failures "
		    "(limits.max_auth_attempts)");
	}
}

static void
fail_timer_cb(struct ev *loop, struct ev_timer *t, void *arg)
{
	struct sshd_conn *c = arg;

	(void)loop;
	(void)t;
	c->fail_timer = NULL;
	fail_send(c);
}

/* Refuses an attempt; counted ones are answered after a pause. */
static void
auth_fail(struct sshd_conn *c, ssh_message m, int counted, const char *why)
{
	if (!counted) {
		(void)ssh_message_auth_set_methods(m, methods_left(c));
		(void)ssh_message_reply_default(m);
		ssh_message_free(m);
		return;
	}
	c->failures++;
	if (c->pu != NULL)
		atomic_fetch_add(&c->pu->state->auth_failures, 1);
	log_info("event=auth.failure proto=ssh peer=%s user=%s attempt=%u "
	    "reason=\"%s\"", c->peer_str, c->user[0] ? c->user : "-",
	    c->failures, why);
	emit_auth(c, 0, c->attempt, why);
	if (policy_auth_failed(c->snap, (const struct sockaddr *)&c->peer,
	    policy_now_ms()))
		log_info("event=ban.created peer=%s duration_s=%llu",
		    c->peer_str, (unsigned long long)
		    c->snap->cfg->security.ban_duration);
	if (c->held != NULL) {	/* a client that did not wait */
		(void)ssh_message_reply_default(c->held);
		ssh_message_free(c->held);
	}
	c->held = m;
	if (c->fail_timer == NULL)
		c->fail_timer = ev_timer_add(c->loop, SSHD_FAIL_DELAY_MS,
		    fail_timer_cb, c);
}

/* ----- password ----- */

static int
pw_work(void *arg)
{
	struct pw_job *j = arg;
	int ok;

	ok = crypto_pwhash_str_verify(j->hash, j->pass, j->plen) == 0;
	if (ok && j->real && j->cache != NULL)
		authcache_put(j->cache, j->user, j->hash, j->pass, j->plen,
		    util_mono_ms(), j->ttl_ms);
	util_wipe(j->pass, sizeof(j->pass));
	return ok;
}

/* Decodes the user's TOTP secret. */
static int
totp_key(const struct sshd_conn *c, unsigned char *key, size_t klen,
    size_t *n)
{
	char err[64];

	return cfg_base32_decode(c->pu->cfg->totp_secret, key, klen, n, err,
	    sizeof(err));
}

/* Checks a TOTP code for the connection's user. 0 or ERR_DENIED. */
static int
totp_ok(struct sshd_conn *c, const char *code)
{
	unsigned char key[128];
	size_t n = 0;
	int rc = ERR_DENIED;

	if (c->pu != NULL && c->pu->cfg->totp_secret != NULL &&
	    totp_key(c, key, sizeof(key), &n) == 0 && n > 0)
		rc = auth_totp_check(c->d->totp, c->user, key, n, code,
		    time(NULL)) == 0 ? 0 : ERR_DENIED;
	util_wipe(key, sizeof(key));
	return rc;
}

static void
pw_done(void *arg, int ok)
{
	struct pw_job *j = arg;
	struct sshd_conn *c = j->c;
	ssh_message m = NULL;
	char code[8];
	int real = j->real;

	memcpy(code, j->code, sizeof(code));
	free(j->hash);
	util_wipe(j, sizeof(*j));
	free(j);
	c->pending_jobs--;
	c->verifying = 0;
	m = c->held;
	c->held = NULL;
	if (m == NULL || atomic_load(&c->stop)) {
		util_wipe(code, sizeof(code));
		if (m != NULL)
			ssh_message_free(m);
		return;
	}
	if (!ok || !real) {
		util_wipe(code, sizeof(code));
		auth_fail(c, m, 1, "wrong password");
		return;
	}
	if (code[0] != '\0') {
		if (totp_ok(c, code) != 0) {
			util_wipe(code, sizeof(code));
			auth_fail(c, m, 1, "wrong TOTP code");
			return;
		}
		util_wipe(code, sizeof(code));
		c->done |= SSHD_M_KBDINT;
		label_add(c, "totp");
	}
	auth_progress(c, m, SSHD_M_PASSWORD, "password");
}

static void
auth_password(struct sshd_conn *c, ssh_message m, int known)
{
	const char *pw = ssh_message_auth_password(m);
	struct pw_job *j = NULL;
	size_t len = pw != NULL ? strlen(pw) : 0;
	long split;

	if (known && !method_open(c, SSHD_M_PASSWORD)) {
		auth_fail(c, m, 1, "password is not an allowed method");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->c = c;
	if (len >= sizeof(j->pass))
		len = sizeof(j->pass) - 1;
	if (known && method_open(c, SSHD_M_KBDINT) &&
	    (split = auth_totp_split(pw, len, j->code)) >= 0)
		len = (size_t)split;
	memcpy(j->pass, pw != NULL ? pw : "", len);
	j->plen = len;
	if (pw != NULL)
		util_wipe((char *)(uintptr_t)pw, strlen(pw));
	if (known && c->pu->cfg->password_hash != NULL && len > 0) {
		j->hash = xstrdup(c->pu->cfg->password_hash);
		j->real = 1;
		j->ttl_ms = c->snap->cfg->security.auth_cache_ttl * 1000;
		if (j->ttl_ms != 0 && c->snap->state->auth_cache != NULL) {
			j->cache = c->snap->state->auth_cache;
			snprintf(j->user, sizeof(j->user), "%s",
			    c->pu->cfg->username);
			if (authcache_check(j->cache, j->user, j->hash, j->pass,
			    j->plen, util_mono_ms())) {
				/* Verified recently: no Argon2id again. */
				c->held = m;
				c->verifying = 1;
				c->pending_jobs++;
				util_wipe(j->pass, sizeof(j->pass));
				pw_done(j, 1);
				return;
			}
		}
	} else {
		j->hash = xstrdup(c->snap->dummy_hash);
	}
	c->held = m;
	c->verifying = 1;
	if (pool_submit(c->d->env.pool, pw_work, pw_done, j, c->loop) != 0) {
		free(j->hash);
		util_wipe(j, sizeof(*j));
		free(j);
		c->verifying = 0;
		c->held = NULL;
		log_warn("event=auth.busy proto=ssh peer=%s", c->peer_str);
		auth_fail(c, m, 0, "busy");
		return;
	}
	c->pending_jobs++;
}

/* ----- publickey and certificates ----- */

/* Applies authorized_keys options to the connection. */
static void
apply_opts(struct sshd_conn *c, const struct auth_keyopts *o)
{
	if (o->no_port_forwarding)
		c->no_fwd = 1;
	if (o->no_pty)
		c->no_pty = 1;
	if (o->command != NULL) {
		free(c->force_command);
		c->force_command = xstrdup(o->command);
	}
	if (o->permitopen != NULL) {
		free(c->permitopen);
		c->permitopen = xstrdup(o->permitopen);
	}
}

/* Checks the options of a matching line; 0 when they allow the login. */
static int
opts_allow(const struct sshd_conn *c, const struct auth_keyopts *o)
{
	if (o->has_expiry && time(NULL) >= o->expiry)
		return ERR_DENIED;
	if (o->from != NULL && auth_addr_match_list(o->from,
	    (const struct sockaddr *)&c->peer) != 1)
		return ERR_DENIED;
	return 0;
}

/* Finds key among the user's authorized_keys. With apply, the options
 * of the matching line are applied. 0 or ERR_DENIED. */
static int
pubkey_match(struct sshd_conn *c, ssh_key key, int apply)
{
	const struct cfg_strv *ak = &c->pu->cfg->authorized_keys;
	struct cfg_authkey k;
	struct auth_keyopts o;
	ssh_key ck = NULL;
	char err[160];
	size_t i;
	int rc = ERR_DENIED, eq;

	for (i = 0; i < ak->n && rc != 0; i++) {
		if (cfg_parse_authorized_key(ak->v[i], &k, err,
		    sizeof(err)) != 0)
			continue;
		if (auth_keyopts_parse(k.options, &o, err, sizeof(err)) != 0) {
			cfg_authkey_cleanup(&k);
			continue;	/* options we cannot honour */
		}
		eq = !o.cert_authority &&
		    ssh_pki_import_pubkey_base64(k.blob_b64,
		    ssh_key_type_from_name(k.type), &ck) == SSH_OK &&
		    ssh_key_cmp(ck, key, SSH_KEY_CMP_PUBLIC) == 0;
		ssh_key_free(ck);
		ck = NULL;
		if (eq && opts_allow(c, &o) == 0) {
			rc = 0;
			if (apply)
				apply_opts(c, &o);
		}
		auth_keyopts_cleanup(&o);
		cfg_authkey_cleanup(&k);
	}
	return rc;
}

/* Decodes the trusted CA keys (global list). */
static size_t
ca_blobs(const struct sshd_conn *c, unsigned char **blobs, size_t *lens,
    size_t max)
{
	const struct cfg_strv *v = &c->snap->cfg->security.trusted_user_ca_keys;
	struct cfg_authkey k;
	char err[160];
	size_t i, n = 0;

	for (i = 0; i < v->n && n < max; i++) {
		if (cfg_parse_authorized_key(v->v[i], &k, err,
		    sizeof(err)) != 0)
			continue;
		if (auth_b64_decode(k.blob_b64, &blobs[n], &lens[n]) == 0)
			n++;
		cfg_authkey_cleanup(&k);
	}
	return n;
}

#define SSHD_MAX_CAS	32

/* Validates a certificate key for the user. 0 or ERR_DENIED (why). */
static int
cert_match(struct sshd_conn *c, ssh_key key, int apply, char *why,
    size_t wl)
{
	unsigned char *blobs[SSHD_MAX_CAS], *cb = NULL;
	size_t lens[SSHD_MAX_CAS], ncas, cl, i;
	struct auth_cert cert;
	struct auth_cert_verdict v;
	char *b64 = NULL;
	int rc = ERR_DENIED;

	snprintf(why, wl, "malformed certificate");
	ncas = ca_blobs(c, blobs, lens, SSHD_MAX_CAS);
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
	    auth_b64_decode(b64, &cb, &cl) != 0 ||
	    auth_cert_parse(cb, cl, &cert) != 0)
		goto out;
	rc = auth_cert_check(&cert, c->user, time(NULL),
	    (const struct sockaddr *)&c->peer,
	    (const unsigned char *const *)blobs, lens, ncas, &v, why, wl);
	if (rc == 0) {
		if (apply) {
			if (!v.permit_port_forwarding)
				c->no_fwd = 1;
			if (!v.permit_pty)
				c->no_pty = 1;
			if (v.force_command != NULL) {
				free(c->force_command);
				c->force_command = v.force_command;
				v.force_command = NULL;
			}
			log_info("event=auth.certificate proto=ssh peer=%s "
			    "user=%s key_id=\"%s\" serial=%llu", c->peer_str,
			    c->user, cert.key_id,
			    (unsigned long long)cert.serial);
		}
		auth_cert_verdict_cleanup(&v);
	}
out:
	if (rc != 0)
		log_info("event=auth.certificate_refused proto=ssh peer=%s "
		    "user=%s reason=\"%s\"", c->peer_str, c->user, why);
	for (i = 0; i < ncas; i++)
		free(blobs[i]);
	free(cb);
	if (b64 != NULL)
		ssh_string_free_char(b64);
	return rc;
}

/* Records "SHA256:..." of the key that logged in. */
static void
fingerprint(struct sshd_conn *c, ssh_key key)
{
	unsigned char *hash = NULL;
	size_t hl = 0;
	char *fp = NULL;

	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hl) != 0)
		return;
	if ((fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
	    hl)) != NULL) {
		snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", fp);
		ssh_string_free_char(fp);
	}
	ssh_clean_pubkey_hash(&hash);
}

static int
key_is_cert(ssh_key key)
{
	const char *t = ssh_key_type_to_char(ssh_key_type(key));

	return t != NULL && strstr(t, "-cert-v01@openssh.com") != NULL;
}

static void
auth_pubkey(struct sshd_conn *c, ssh_message m, int known)
{
	ssh_key key = ssh_message_auth_pubkey(m);
	int state = ssh_message_auth_publickey_state(m);
	int signed_ = state == SSH_PUBLICKEY_STATE_VALID;
	int cert = key != NULL && key_is_cert(key);
	unsigned bits = cert ? (SSHD_M_CERT | SSHD_M_PUBKEY) : SSHD_M_PUBKEY;
	char why[128];
	int rc;

	c->attempt = cert ? "certificate" : "publickey";
	if (state == SSH_PUBLICKEY_STATE_WRONG ||
	    state == SSH_PUBLICKEY_STATE_ERROR || key == NULL) {
		auth_fail(c, m, 1, "bad public key signature");
		return;
	}
	if (!known || !method_open(c, bits)) {
		auth_fail(c, m, signed_, known ? "publickey is not an "
		    "allowed method" : "unknown user");
		return;
	}
	snprintf(why, sizeof(why), "key not in authorized_keys");
	rc = cert ? cert_match(c, key, signed_, why, sizeof(why)) :
	    pubkey_match(c, key, signed_);
	if (rc != 0) {
		auth_fail(c, m, signed_, why);
		return;
	}
	if (!signed_) {
		(void)ssh_message_auth_reply_pk_ok_simple(m);
		ssh_message_free(m);
		return;
	}
	fingerprint(c, key);
	auth_progress(c, m, bits, cert ? "certificate" : "publickey");
}

/* ----- keyboard-interactive (TOTP) ----- */

static void
auth_kbdint(struct sshd_conn *c, ssh_message m, int known)
{
	const char *prompts[1] = { "Verification code: " };
	char echo[1] = { 0 };
	const char *ans = NULL;
	char code[8];

	if (!ssh_message_auth_kbdint_is_response(m)) {
		if (known && !method_open(c, SSHD_M_KBDINT)) {
			auth_fail(c, m, 0, "keyboard-interactive not needed");
			return;
		}
		c->kbd_prompted = 1;
		(void)ssh_message_auth_interactive_request(m, "sks5", "", 1,
		    prompts, echo);
		ssh_message_free(m);
		return;
	}
	if (!c->kbd_prompted || ssh_userauth_kbdint_getnanswers(c->s) != 1 ||
	    (ans = ssh_userauth_kbdint_getanswer(c->s, 0)) == NULL ||
	    !known) {
		auth_fail(c, m, 1, "wrong TOTP code");
		return;
	}
	c->kbd_prompted = 0;
	snprintf(code, sizeof(code), "%s", ans);
	util_wipe((char *)(uintptr_t)ans, strlen(ans));
	if (totp_ok(c, code) != 0) {
		util_wipe(code, sizeof(code));
		auth_fail(c, m, 1, "wrong TOTP code");
		return;
	}
	util_wipe(code, sizeof(code));
	auth_progress(c, m, SSHD_M_KBDINT, "keyboard-interactive");
}

/* Sends server.banner (SSH_MSG_USERAUTH_BANNER) before the first
 * answer; an empty banner sends nothing. Lines end with CRLF. */
static void
send_banner(struct sshd_conn *c)
{
	const char *b = c->snap->cfg->server.banner;
	ssh_string s = NULL;
	char *text = NULL;

	if (b == NULL || b[0] == '\0')
		return;
	text = xasprintf("%s\r\n", b);
	if ((s = ssh_string_from_char(text)) != NULL) {
		(void)ssh_send_issue_banner(c->s, s);
		ssh_string_free(s);
	}
	free(text);
}

/*
 * Maintenance refuses a new login at its first authentication request,
 * before any credential is looked at: the connection is closed with the
 * maintenance message as the SSH_MSG_DISCONNECT text. 1 when refused.
 */
static int
maint_refuse(struct sshd_conn *c)
{
	char buf[256];
	const char *msg = sshd__maint_why(c, buf, sizeof(buf));

	if (msg == NULL)
		return 0;
	log_info("event=connection.refused proto=ssh peer=%s "
	    "reason=\"maintenance\"", c->peer_str);
	sshd__conn_close(c, msg);
	return 1;
}

void
sshd__auth_message(struct sshd_conn *c, ssh_message m)
{
	int known;

	if (atomic_load(&c->authed) || c->verifying || c->held != NULL) {
		/* Already in, or a request while one is pending. */
		(void)ssh_message_reply_default(m);
		ssh_message_free(m);
		return;
	}
	if (maint_refuse(c)) {
		ssh_message_free(m);
		return;
	}
	if (!c->banner_sent) {
		send_banner(c);
		c->banner_sent = 1;
	}
	/* An info response carries no user name: the request had it. */
	if (ssh_message_subtype(m) == SSH_AUTH_METHOD_INTERACTIVE &&
	    ssh_message_auth_kbdint_is_response(m))
		known = c->pu != NULL;
	else
		known = user_setup(c, ssh_message_auth_user(m));
	switch (ssh_message_subtype(m)) {
	case SSH_AUTH_METHOD_PASSWORD:
		c->attempt = "password";
		break;
	case SSH_AUTH_METHOD_PUBLICKEY:
		c->attempt = "publickey";
		break;
	case SSH_AUTH_METHOD_INTERACTIVE:
		c->attempt = "keyboard-interactive";
		break;
	default:
		c->attempt = "none";
		break;
	}
	if (known < 0) {
		auth_fail(c, m, 1, "user name changed during authentication");
		return;
	}
	switch (ssh_message_subtype(m)) {
	case SSH_AUTH_METHOD_PASSWORD:
		auth_password(c, m, known);
		break;
	case SSH_AUTH_METHOD_PUBLICKEY:
		auth_pubkey(c, m, known);
		break;
	case SSH_AUTH_METHOD_INTERACTIVE:
		auth_kbdint(c, m, known);
		break;
	default:	/* none, hostbased, gssapi: not counted */
		auth_fail(c, m, 0, "method not offered");
		break;
	}
}

void
sshd__auth_cleanup(struct sshd_conn *c)
{
	if (c->fail_timer != NULL) {
		ev_timer_cancel(c->loop, c->fail_timer);
		c->fail_timer = NULL;
	}
	if (c->held != NULL && !c->verifying) {
		ssh_message_free(c->held);
		c->held = NULL;
	}
}

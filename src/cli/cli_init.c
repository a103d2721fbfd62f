/*
 * `sks5 init`: write a commented starter configuration with one user and
 * an Argon2id hash. Every key is checked with cfg_key_pending(): keys this
 * build does not act on yet are written as comments, so the file always
 * passes `check-config`; the text is validated before it is written. The
 * file is created 0600 with O_EXCL, or, with --force, written to a 0600
 * temporary file in the same directory and renamed over the target.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "config/config.h"
#include "core/err.h"
#include "core/util.h"

enum preset {
	PRESET_DEFAULT = 0,
	PRESET_BASTION,
	PRESET_PROXY,
	PRESET_DEV,
};

/* The writer: the current table path and whether its header is a comment
 * (then every key of the table is one too). */
struct initw {
	FILE		*f;
	const char	*table;
	int		 off;
	int		 npending;
};

/* Appends the reason a key is commented out. */
static void
put_note(struct initw *w, int pending)
{
	if (pending > 0) {
		fprintf(w->f, "   # available once issue #%d lands", pending);
	} else {
		fprintf(w->f, "   # not available yet (management plane)");
	}
	w->npending++;
}

/* Starts a table: a blank line, comment lines, then the header. */
static void
table(struct initw *w, const char *path, const char *header,
    const char *comment)
{
	int pending = cfg_key_pending(path);

	w->table = path;
	w->off = pending != 0;
	fprintf(w->f, "\n%s%s%s", comment ? comment : "", w->off ? "# " : "",
	    header);
	if (w->off) {
		put_note(w, pending);
	}
	fputc('\n', w->f);
}

/* Writes "name = value" (value already TOML), or a comment when the key
 * or its table is pending. */
static void __attribute__((format(printf, 3, 4)))
key(struct initw *w, const char *name, const char *fmt, ...)
{
	char path[128];
	va_list ap;
	int pending;

	snprintf(path, sizeof(path), "%s.%s", w->table, name);
	pending = w->off ? 0 : cfg_key_pending(path);
	fprintf(w->f, "%s%s = ", w->off || pending ? "# " : "", name);
	va_start(ap, fmt);
	vfprintf(w->f, fmt, ap);
	va_end(ap);
	if (pending != 0) {
		put_note(w, pending);
	}
	fputc('\n', w->f);
}

/* Writes s as a TOML basic string (quotes, backslashes and control bytes
 * escaped) into a new heap string. */
static char *
toml_quote(const char *s)
{
	char *out = xmalloc(strlen(s) * 6 + 3), *o = out;
	const unsigned char *p = NULL;

	*o++ = '"';
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\u%04X", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/* [server], [limits], [security] for a preset. */
static void
put_server(struct initw *w, enum preset p)
{
	table(w, "server", "[server]", p == PRESET_DEV ? "# Listeners, "
	    "on loopback only.\n" : "# Listeners. 0.0.0.0 accepts "
	    "connections from every network.\n");
	key(w, "ssh_listen", "\"%s\"", p == PRESET_DEV ? "127.0.0.1:2222" :
	    "0.0.0.0:2222");
	if (p == PRESET_BASTION) {
		fprintf(w->f, "# No SOCKS5 listener: clients use SSH dynamic "
		    "forwarding (ssh -D).\n");
	} else {
		key(w, "socks5_listen", "\"%s\"", p == PRESET_DEV ?
		    "127.0.0.1:1080" : "0.0.0.0:1080");
	}
	if (p == PRESET_PROXY) {
		key(w, "dns_cache_ttl", "300");
	}
	table(w, "limits", "[limits]", NULL);
	if (p == PRESET_BASTION) {
		key(w, "max_connections", "100");
		key(w, "idle_timeout", "600");
		key(w, "socks5_handshake_timeout", "15");
	}
	key(w, "max_connections_per_user", "%d", p == PRESET_BASTION ? 5 :
	    p == PRESET_PROXY ? 50 : 10);
	table(w, "security", "[security]", "# Failed logins lead to "
	    "temporary bans of the source address.\n");
	if (p == PRESET_DEV) {
		key(w, "ban_enabled", "false");
		fprintf(w->f, "# Lets clients reach private and loopback "
		    "addresses: never in production.\n");
		key(w, "ip_guard_enabled", "false");
		return;
	}
	key(w, "ban_threshold", "%d", p == PRESET_BASTION ? 3 :
	    p == PRESET_PROXY ? 10 : 5);
	key(w, "ban_duration", "%d", p == PRESET_BASTION ? 3600 :
	    p == PRESET_PROXY ? 600 : 900);
	key(w, "ban_whitelist", "[\"127.0.0.1\"]");
}

/* [logging], [metrics], [api] for a preset. */
static void
put_ops(struct initw *w, enum preset p, const char *token)
{
	table(w, "logging", "[logging]", NULL);
	key(w, "level", "\"%s\"", p == PRESET_DEV ? "debug" : "info");
	if (p == PRESET_DEV) {
		key(w, "connection_flow_logs", "true");
	}
	if (p == PRESET_BASTION) {
		key(w, "format", "\"json\"");
		key(w, "audit_log_path", "\"audit.log\"");
		key(w, "audit_max_files", "10");
	}
	if (p == PRESET_BASTION || p == PRESET_PROXY) {
		table(w, "metrics", "[metrics]", "# Prometheus metrics: no "
		    "authentication, keep them on loopback.\n");
		if (cfg_key_pending("metrics.listen") != 0) {
			w->off = 1;	/* never enable it without its bind */
		}
		key(w, "enabled", "true");
		key(w, "listen", "\"127.0.0.1:9090\"");
	}
	table(w, "api", "[api]", "# Management API. The token is a secret: "
	    "keep this file private.\n");
	if (p == PRESET_DEFAULT || p == PRESET_PROXY) {
		key(w, "enabled", "false");
		return;
	}
	if (cfg_key_pending("api.listen") != 0 ||
	    cfg_key_pending("api.token") != 0) {
		w->off = 1;	/* never enable it without its token */
	}
	key(w, "enabled", "true");
	key(w, "listen", "\"127.0.0.1:9091\"");
	key(w, "token", "\"%s\"", token);
}

/* [acl] and the [[users]] entry. */
static void
put_users(struct initw *w, enum preset p, const char *user,
    const char *hash)
{
	char *q = toml_quote(user);

	if (p == PRESET_BASTION || p == PRESET_PROXY) {
		table(w, "acl", "[acl]", "# Destinations: deny rules first, "
		    "then allow rules, then the default.\n");
		key(w, "default_policy", "\"%s\"", p == PRESET_BASTION ?
		    "deny" : "allow");
		key(w, "deny", "%s", p == PRESET_BASTION ? "[\"10.0.0.0/8\", "
		    "\"172.16.0.0/12\", \"192.168.0.0/16\", \"169.254.0.0/16\"]" :
		    "[\"169.254.169.254\"]");
	}
	table(w, "users", "[[users]]", NULL);
	key(w, "username", "%s", q);
	key(w, "password_hash", "\"%s\"", hash);
	if (p == PRESET_DEFAULT) {
		key(w, "max_new_connections_per_minute", "60");
	}
	if (p == PRESET_BASTION) {
		fprintf(w->f, "# Second factor: run `sks5 generate-totp "
		    "--username %s` and add its two\n# lines here.\n", q);
	}
	if (p != PRESET_DEV) {
		table(w, "users.acl", "[users.acl]", NULL);
		if (p == PRESET_BASTION) {
			key(w, "allow", "[\"*:22\", \"*:80\", \"*:443\", "
			    "\"*:8080\", \"*:8443\"]");
		} else {
			key(w, "deny", "[\"169.254.169.254\"]");
		}
	}
	free(q);
}

/* Builds the whole file into a heap string; *len gets its length. */
static char *
build(enum preset p, const char *user, const char *hash, size_t *len,
    int *npending)
{
	static const char *names[] = { "default", "bastion", "proxy", "dev" };
	struct initw w;
	unsigned char rnd[24];
	char token[sizeof(rnd) * 2 + 1], *text = NULL;

	memset(&w, 0, sizeof(w));
	if ((w.f = open_memstream(&text, len)) == NULL) {
		return NULL;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(token, sizeof(token), rnd, sizeof(rnd));
	fprintf(w.f, "# sks5 configuration written by `sks5 init` (sks5 %s, "
	    "preset %s).\n# Check it with: sks5 -c FILE check-config\n"
	    "# Settings marked \"available once ...\" or \"not available "
	    "yet\" are not\n# supported by this build: the server refuses "
	    "them, so leave them\n# commented out until then.\n",
	    SKS5_VERSION, names[p]);
	put_server(&w, p);
	put_ops(&w, p, token);
	put_users(&w, p, user, hash);
	util_wipe(rnd, sizeof(rnd));
	util_wipe(token, sizeof(token));
	*npending = w.npending;
	if (fclose(w.f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Writes len bytes to fd, retrying short writes, then fsyncs. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return fsync(fd) == 0 ? 0 : ERR_IO;
}

/* Creates path (which must not exist) with mode 0600 and writes text. */
int
cli__write_new(const char *path, const char *text, size_t len)
{
	int fd, r, e;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	}
	if ((r = fchmod(fd, 0600) == 0 ? write_all(fd, text, len) : ERR_IO)
	    != 0) {
		e = errno;
		unlink(path);
		errno = e;
	}
	if (close(fd) != 0 && r == 0) {
		r = ERR_IO;
	}
	return r;
}

/* Writes text to a 0600 temporary file next to path and renames it over
 * path, so readers see the old file or the new one, never a mix. */
static int
write_replace(const char *path, const char *text, size_t len)
{
	char *copy = xstrdup(path), *tmp = NULL;
	char *base = xstrdup(path);
	int fd, r = ERR_IO, e;

	tmp = xasprintf("%s/.%s.XXXXXX", dirname(copy), basename(base));
	if ((fd = mkstemp(tmp)) < 0) {
		goto out;
	}
	if (fchmod(fd, 0600) == 0 && write_all(fd, text, len) == 0) {
		r = 0;
	}
	if (close(fd) != 0 || r != 0 || rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		r = ERR_IO;
	}
out:
	free(copy);
	free(base);
	free(tmp);
	return r;
}

/* Loads the generated text as `check-config` would (without the
 * environment); prints the problems and returns nonzero if any. */
static int
self_check(const char *path, const char *text, size_t len)
{
	struct cfg_overrides ov;
	struct cfg_diag d;
	struct cfg *cfg = NULL;
	char *copy = xstrdup(path);
	int r;

	memset(&ov, 0, sizeof(ov));
	ov.config_path = path;
	cfg_diag_init(&d);
	if ((r = cfg_load_string(text, len, path, dirname(copy), &ov, &cfg,
	    &d)) != 0) {
		cfg_diag_print(&d, stderr);
	}
	cfg_free(cfg);
	cfg_diag_cleanup(&d);
	free(copy);
	return r;
}

/* True if the directory that would hold path exists and is writable. */
static int
dir_writable(const char *path)
{
	char *copy = xstrdup(path);
	int ok = access(dirname(copy), W_OK | X_OK) == 0;

	free(copy);
	return ok;
}

/* Reads and checks the options; returns an exit code or -1 to go on. */
static int
parse_opts(const struct cli_args *a, enum preset *p, const char **user)
{
	const char *ps = cli__opt(a, "preset");
	const unsigned char *c = NULL;

	*p = PRESET_DEFAULT;
	if (ps != NULL) {
		*p = strcmp(ps, "bastion") == 0 ? PRESET_BASTION :
		    strcmp(ps, "proxy") == 0 ? PRESET_PROXY : PRESET_DEV;
	}
	if ((*user = cli__opt(a, "username")) == NULL) {
		*user = "user";
	}
	for (c = (const unsigned char *)*user; *c != '\0'; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			break;
		}
	}
	if (**user == '\0' || *c != '\0' || strlen(*user) > 255) {
		return cli__usage(a->cmd, "invalid username");
	}
	return -1;
}

int
cli__cmd_init(const struct cli_args *a)
{
	const char *out = cli__opt(a, "output"), *user = NULL;
	int force = cli__opt(a, "force") != NULL, rc, r, npending = 0;
	char pw[CLI_PASS_MAX], hash[crypto_pwhash_STRBYTES], *text = NULL;
	struct stat st;
	enum preset p;
	size_t len = 0;

	pw[0] = hash[0] = '\0';
	if ((rc = parse_opts(a, &p, &user)) >= 0) {
		return rc;
	}
	rc = CLI_EXIT_FAIL;
	out = out != NULL ? out : "config.toml";
	if (!force && lstat(out, &st) == 0) {
		rc = cli__error("%s already exists; use --force to replace "
		    "it", out);
		goto done;
	}
	if (!dir_writable(out)) {
		rc = cli__error("cannot write %s: %s", out, strerror(errno));
		goto done;
	}
	if (cli__get_password(cli__opt_mut(a, "password"), pw,
	    sizeof(pw)) != 0) {
		goto done;
	}
	if (cli__hash_password(pw, AUTH_ARGON2_M_DEFAULT,
	    AUTH_ARGON2_T_DEFAULT, hash, sizeof(hash)) != 0) {
		rc = cli__error("cannot hash the password");
		goto done;
	}
	if ((text = build(p, user, hash, &len, &npending)) == NULL) {
		rc = cli__error("cannot build the configuration");
		goto done;
	}
	if (self_check(out, text, len) != 0) {
		rc = cli__error("the generated configuration does not "
		    "validate; nothing written (please report this bug)");
		goto done;
	}
	r = force ? write_replace(out, text, len) : cli__write_new(out, text, len);
	if (r == ERR_EXISTS) {
		rc = cli__error("%s already exists; use --force to replace "
		    "it", out);
	} else if (r != 0) {
		rc = cli__error("cannot write %s: %s", out, strerror(errno));
	} else {
		fprintf(stderr, "Created %s (mode 0600) for user '%s'.\n%s"
		    "Next steps:\n  sks5 -c %s check-config\n  sks5 -c %s\n",
		    out, user, npending ? "Settings this build does not "
		    "support yet are written as comments.\n" : "", out, out);
		rc = CLI_EXIT_OK;
	}
done:
	util_wipe(pw, sizeof(pw));
	util_wipe(hash, sizeof(hash));
	if (text != NULL) {
		util_wipe(text, len);
		free(text);
	}
	return rc;
}

/*
 * GET /dashboard: one self-contained page (no outside resource) put
 * together once from the embedded assets. Its only script and style are
 * inline, so the Content-Security-Policy allows exactly those two blocks
 * by their SHA-256 and nothing else: no other script, no style
 * attributes, no frames, no forms, connections to this origin only.
 */
#include "admin/admin_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"

static pthread_once_t dash_once = PTHREAD_ONCE_INIT;
static char *dash_page;
static size_t dash_len;
static char *dash_csp;

/* "'sha256-<base64>'" of text. */
static char *
dash_hash(const char *text)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];

	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
	    sodium_base64_VARIANT_ORIGINAL);
	return xasprintf("'sha256-%s'", b64);
}

/* Replaces the one "@@NAME@@" of tmpl by val; returns a new string. */
static char *
dash_fill(const char *tmpl, const char *mark, const char *val)
{
	const char *at = strstr(tmpl, mark);

	if (at == NULL)
		abort();	/* the generated assets are broken */
	return xasprintf("%.*s%s%s", (int)(at - tmpl), tmpl, val,
	    at + strlen(mark));
}

static void
dash_build(void)
{
	char *tmp = NULL, *hs = NULL, *hj = NULL;

	tmp = dash_fill(admin__dash_html, "@@STYLE@@", admin__dash_css);
	dash_page = dash_fill(tmp, "@@SCRIPT@@", admin__dash_js);
	free(tmp);
	dash_len = strlen(dash_page);
	hs = dash_hash(admin__dash_css);
	hj = dash_hash(admin__dash_js);
	dash_csp = xasprintf("default-src 'none'; script-src %s; "
	    "style-src %s; connect-src 'self'; img-src 'none'; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	    hj, hs);
	free(hs);
	free(hj);
}

const char *
admin__dash_page(size_t *len)
{
	pthread_once(&dash_once, dash_build);
	*len = dash_len;
	return dash_page;
}

const char *
admin__dash_csp(void)
{
	pthread_once(&dash_once, dash_build);
	return dash_csp;
}

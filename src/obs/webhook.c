/*
 * Webhook dispatcher: see webhook.h. Rendering and signing are pure
 * functions at the top; the queue and the libcurl delivery thread follow.
 */
#include "obs/webhook.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/version.h"

/* Jobs the thread takes per wake-up. */
#define WH_BATCH	64
/* Longest sleep of the delivery thread, ms. */
#define WH_TICK_MS	1000

/* ---- rendering ---- */

/* String member k of o, or dflt. */
static const char *
jstr(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : dflt;
}

/* Integer member k of o, or 0. */
static long long
jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* The summary sentence of an event object. */
static char *
summary_of(json_t *o)
{
	const char *type = jstr(o, "event_type", "event");
	const char *user = jstr(o, "username", "?");
	const char *ip = jstr(o, "source_ip", "?");
	const char *host = jstr(o, "target_host", "?");
	const char *method = jstr(o, "method", "?");
	long long port = jint(o, "target_port");
	json_t *succ = NULL;

	if (strcmp(type, "auth.failure") == 0)
		return xasprintf("Authentication failed for user '%s' from %s "
		    "(%s)", user, ip, method);
	if (strcmp(type, "auth.success") == 0)
		return xasprintf("User '%s' authenticated from %s (%s)", user,
		    ip, method);
	if (strcmp(type, "proxy.start") == 0)
		return xasprintf("User '%s' connected to %s:%lld", user, host,
		    port);
	if (strcmp(type, "proxy.complete") == 0)
		return xasprintf("User '%s' closed %s:%lld after %lld ms: "
		    "%lld bytes up, %lld bytes down", user, host, port,
		    jint(o, "duration_ms"), jint(o, "bytes_uploaded"),
		    jint(o, "bytes_downloaded"));
	if (strcmp(type, "proxy.refused") == 0)
		return xasprintf("User '%s' was refused %s:%lld (%s)", user,
		    host, port, jstr(o, "reason", "?"));
	if (strcmp(type, "acl.deny") == 0)
		return xasprintf("ACL denied user '%s' access to %s:%lld", user,
		    host, port);
	if (strcmp(type, "config.reload") == 0) {
		succ = json_object_get(o, "success");
		if (json_is_false(succ))
			return xasprintf("Configuration reload failed: %s",
			    jstr(o, "error", "?"));
		return xasprintf("Configuration reloaded (%lld users)",
		    jint(o, "users_count"));
	}
	if (strcmp(type, "alert.triggered") == 0)
		return xasprintf("Alert '%s' (%s): %lld > %lld within %lld s "
		    "for %s", jstr(o, "alert", "?"), jstr(o, "condition", "?"),
		    jint(o, "value"), jint(o, "threshold"),
		    jint(o, "window_secs"), json_object_get(o, "username") ?
		    jstr(o, "username", "?") : "all users");
	return xasprintf("%s event", type);
}

char *
webhook_summary(const char *line)
{
	json_t *o = json_loads(line, 0, NULL);
	char *s = NULL;

	if (!json_is_object(o)) {
		json_decref(o);
		return xstrdup("event");
	}
	s = summary_of(o);
	json_decref(o);
	return s;
}

/* Slack mrkdwn: &, < and > escaped (no mentions or links from names). */
static char *
slack_escape(const char *s)
{
	size_t n = 0, i;
	char *out = NULL, *p = NULL;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == '&' ? 5 : (s[i] == '<' || s[i] == '>') ? 4 : 1;
	p = out = xmalloc(n + 1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '&') {
			memcpy(p, "&amp;", 5);
			p += 5;
		} else if (s[i] == '<') {
			memcpy(p, "&lt;", 4);
			p += 4;
		} else if (s[i] == '>') {
			memcpy(p, "&gt;", 4);
			p += 4;
		} else
			*p++ = s[i];
	}
	*p = '\0';
	return out;
}

static const char *
slack_emoji(const char *type)
{
	static const struct {
		const char	*prefix;
		const char	*emoji;
	} map[] = {
		{ "auth.failure", ":warning:" },
		{ "auth.success", ":white_check_mark:" },
		{ "proxy.complete", ":globe_with_meridians:" },
		{ "ban.created", ":no_entry:" },
		{ "rate_limit.", ":hourglass:" },
		{ "quota.", ":hourglass:" },
		{ "config.reload", ":gear:" },
		{ "maintenance.toggled", ":wrench:" },
		{ "connection.new", ":electric_plug:" },
		{ "connection.closed", ":x:" },
		{ "alert.triggered", ":rotating_light:" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strncmp(type, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].emoji;
	}
	return ":bell:";
}

static json_t *
render_slack(json_t *o, const char *type, const char *ts, const char *sum)
{
	const char *emoji = slack_emoji(type);
	char *esum = slack_escape(sum), *text = NULL, *head = NULL;
	char *ctx = NULL;
	json_t *b = NULL;

	text = xasprintf("%s [sks5] %s: %s", emoji, type, esum);
	head = xasprintf("%s %s", emoji, type);
	ctx = xasprintf("sks5 | %s", ts);
	b = json_pack("{s:s, s:[{s:s, s:{s:s, s:s, s:b}}, {s:s, s:{s:s, s:s}},"
	    " {s:s, s:[{s:s, s:s}]}]}",
	    "text", text,
	    "blocks",
	    "type", "header", "text", "type", "plain_text", "text", head,
	    "emoji", 1,
	    "type", "section", "text", "type", "mrkdwn", "text", esum,
	    "type", "context", "elements", "type", "mrkdwn", "text", ctx);
	(void)o;
	free(text);
	free(head);
	free(ctx);
	free(esum);
	return b;
}

static json_t *
render_discord(json_t *o, const char *type, const char *ts, const char *sum)
{
	json_t *fields = json_array(), *b = NULL;
	const char *v = NULL;
	char *target = NULL;
	long long color = 0x5865F2;

	if (strcmp(type, "auth.failure") == 0 ||
	    strcmp(type, "ban.created") == 0 ||
	    strcmp(type, "alert.triggered") == 0)
		color = 0xED4245;
	else if (strcmp(type, "auth.success") == 0 ||
	    strcmp(type, "proxy.complete") == 0)
		color = 0x57F287;
	else if (strcmp(type, "rate_limit.exceeded") == 0 ||
	    strcmp(type, "quota.exceeded") == 0)
		color = 0xFEE75C;
	if ((v = jstr(o, "username", NULL)) != NULL)
		json_array_append_new(fields, json_pack("{s:s, s:s, s:b}",
		    "name", "User", "value", v, "inline", 1));
	if ((v = jstr(o, "source_ip", NULL)) != NULL)
		json_array_append_new(fields, json_pack("{s:s, s:s, s:b}",
		    "name", "IP", "value", v, "inline", 1));
	if ((v = jstr(o, "target_host", NULL)) != NULL) {
		target = xasprintf("%s:%lld", v, jint(o, "target_port"));
		json_array_append_new(fields, json_pack("{s:s, s:s, s:b}",
		    "name", "Target", "value", target, "inline", 1));
		free(target);
	}
	/* allowed_mentions: names in the text never ping anybody. */
	b = json_pack("{s:[{s:s, s:s, s:I, s:o, s:s, s:{s:s}}], "
	    "s:{s:[]}}",
	    "embeds", "title", type, "description", sum, "color",
	    (json_int_t)color, "fields", fields, "timestamp", ts, "footer",
	    "text", "sks5",
	    "allowed_mentions", "parse");
	return b;
}

/* s as the inside of a JSON string (no quotes), malloc'd. */
static char *
json_inner(const char *s)
{
	json_t *j = json_string(s);
	char *d = NULL, *r = NULL;
	size_t n;

	if (j == NULL)
		return xstrdup("");
	d = json_dumps(j, JSON_ENCODE_ANY);
	json_decref(j);
	if (d == NULL)
		return xstrdup("");
	n = strlen(d);
	r = xstrndup(d + 1, n >= 2 ? n - 2 : 0);
	free(d);
	return r;
}

/* Appends n bytes of s to the growing buffer *b (*len, *cap). */
static void
grow_append(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*b = xrealloc(*b, *cap);
	}
	memcpy(*b + *len, s, n);
	*len += n;
	(*b)[*len] = '\0';
}

/*
 * Custom template: one left-to-right pass, so text coming from an event
 * (a user name holding "{data_json}", say) is never expanded again.
 */
static char *
render_custom(json_t *o, const char *tpl, const char *sum, size_t *lenp)
{
	static const char *const vars[] = {
		"event_type", "timestamp", "username", "source_ip",
		"target_host", "target_port", "summary", "data_json", NULL
	};
	size_t len = 0, cap = 0, n, i;
	const char *p = tpl, *e = NULL;
	char *out = NULL, *val = NULL, num[32];

	grow_append(&out, &len, &cap, "", 0);
	while (*p != '\0') {
		if (*p != '{' || (e = strchr(p, '}')) == NULL) {
			grow_append(&out, &len, &cap, p, 1);
			p++;
			continue;
		}
		n = (size_t)(e - p - 1);
		for (i = 0; vars[i] != NULL; i++) {
			if (strlen(vars[i]) == n &&
			    memcmp(vars[i], p + 1, n) == 0)
				break;
		}
		if (vars[i] == NULL) {
			grow_append(&out, &len, &cap, p, 1);
			p++;
			continue;
		}
		if (strcmp(vars[i], "data_json") == 0)
			val = json_dumps(o, JSON_COMPACT);
		else if (strcmp(vars[i], "summary") == 0)
			val = json_inner(sum);
		else if (strcmp(vars[i], "target_port") == 0) {
			snprintf(num, sizeof(num), "%lld",
			    jint(o, "target_port"));
			val = xstrdup(num);
		} else
			val = json_inner(jstr(o, vars[i], ""));
		if (val != NULL)
			grow_append(&out, &len, &cap, val, strlen(val));
		free(val);
		p = e + 1;
	}
	if (lenp != NULL)
		*lenp = len;
	return out;
}

char *
webhook_render(int format, const char *tpl, const char *line, size_t *len)
{
	json_t *o = NULL, *b = NULL;
	const char *type = NULL, *ts = NULL;
	char *sum = NULL, *out = NULL;

	if (line == NULL || (o = json_loads(line, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	type = jstr(o, "event_type", "event");
	ts = jstr(o, "timestamp", "");
	sum = summary_of(o);
	switch (format) {
	case WEBHOOK_SLACK:
		b = render_slack(o, type, ts, sum);
		break;
	case WEBHOOK_DISCORD:
		b = render_discord(o, type, ts, sum);
		break;
	case WEBHOOK_CUSTOM:
		if (tpl != NULL) {
			out = render_custom(o, tpl, sum, len);
			break;
		}
		/* FALLTHROUGH */
	default:
		b = json_pack("{s:s, s:s, s:O}", "event_type", type,
		    "timestamp", ts, "data", o);
		break;
	}
	if (b != NULL) {
		out = json_dumps(b, JSON_COMPACT);
		json_decref(b);
		if (out != NULL && len != NULL)
			*len = strlen(out);
	}
	free(sum);
	json_decref(o);
	return out;
}

void
webhook_sign(const char *secret, const void *msg, size_t len,
    char out[WEBHOOK_SIG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	static const char hex[] = "0123456789abcdef";

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, len, md,
	    &mdlen) == NULL || mdlen != 32) {
		snprintf(out, WEBHOOK_SIG_LEN, "sha256=");
		return;
	}
	memcpy(out, "sha256=", 7);
	for (i = 0; i < mdlen; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	out[7 + 2 * mdlen] = '\0';
	util_wipe(md, sizeof(md));
}

uint64_t
webhook_backoff_ms(uint64_t base, uint64_t cap, unsigned k)
{
	uint64_t d = base;

	while (k-- > 0 && d < cap) {
		if (d > UINT64_MAX / 2)
			return cap;
		d *= 2;
	}
	return d < cap ? d : cap;
}

void
webhook_url_origin(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		snprintf(out, len, "%s://%s:%s", scheme, host, port);
	else
		snprintf(out, len, "%s", "(invalid url)");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

/* ---- dispatcher ---- */

struct wh_target {
	char		 *url;
	char		 origin[300];	/* what logs show */
	char		**events;
	size_t		  nevents;
	char		 *secret;
	int		  format;
	char		 *tpl;
	int		  allow_private;
	int		  direct;	/* only webhooks_put_direct() */
	uint32_t	  max_retries;
	uint64_t	  delay_ms;
	uint64_t	  max_delay_ms;
};

struct wh_job {
	int	 target;
	char	*line;
};

struct wh_delivery {
	struct webhooks		*w;
	int			 target;
	char			*body;
	size_t			 len;
	char			 type[64];
	uint64_t		 id;
	unsigned		 attempt;	/* attempts made */
	uint64_t		 due_ms;
	CURL			*easy;		/* in flight */
	struct curl_slist	*hdrs;
	int			 blocked;
	char			 block_reason[96];
	char			 errbuf[CURL_ERROR_SIZE];
};

struct webhooks {
	struct wh_target	*t;
	size_t			 nt;

	pthread_mutex_t		 lock;
	struct wh_job		*q;
	size_t			 qmax, qhead, qlen;
	int			 stopping;
	int			 started;
	pthread_t		 thread;
	CURLM			*multi;
	webhook_guard_fn	 guard;

	/* Delivery thread only: oldest first. */
	struct wh_delivery	**pend;
	size_t			 npend;
	size_t			 inflight;
	uint64_t		 next_id;

	_Atomic uint64_t	 queued, dropped, delivered, retried, failed,
				 blocked;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 :
	    -1;
}

static void
target_init(struct wh_target *t, const char *url)
{
	t->url = xstrdup(url);
	webhook_url_origin(url, t->origin, sizeof(t->origin));
}

struct webhooks *
webhooks_new(const struct webhook_target *targets, size_t n,
    size_t queue_max, webhook_guard_fn guard)
{
	struct webhooks *w = xcalloc(1, sizeof(*w));
	struct wh_target *t = NULL;
	size_t i, j;

	w->guard = guard;
	w->t = xcalloc(n > 0 ? n : 1, sizeof(*w->t));
	for (i = 0; i < n; i++) {
		t = &w->t[i];
		target_init(t, targets[i].url != NULL ? targets[i].url : "");
		t->nevents = targets[i].nevents;
		t->events = xcalloc(t->nevents + 1, sizeof(*t->events));
		for (j = 0; j < t->nevents; j++)
			t->events[j] = xstrdup(targets[i].events[j]);
		if (targets[i].secret != NULL)
			t->secret = xstrdup(targets[i].secret);
		t->format = targets[i].format;
		if (targets[i].tpl != NULL)
			t->tpl = xstrdup(targets[i].tpl);
		t->allow_private = targets[i].allow_private;
		t->max_retries = targets[i].max_retries;
		t->delay_ms = targets[i].retry_delay_ms;
		t->max_delay_ms = targets[i].max_retry_delay_ms;
	}
	w->nt = n;
	w->qmax = queue_max > 0 ? queue_max : 1;
	w->q = xcalloc(w->qmax, sizeof(*w->q));
	w->pend = xcalloc(WEBHOOK_PENDING_MAX, sizeof(*w->pend));
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

int
webhooks_add_direct(struct webhooks *w, const char *url)
{
	struct wh_target *t = NULL;

	w->t = xreallocarray(w->t, w->nt + 1, sizeof(*w->t));
	t = &w->t[w->nt];
	memset(t, 0, sizeof(*t));
	target_init(t, url);
	t->direct = 1;
	t->max_retries = 3;
	t->delay_ms = 1000;
	t->max_delay_ms = 30000;
	return (int)w->nt++;
}

/* Queues a copy of line for target ti, dropping the oldest when full. */
static void
wh_enqueue(struct webhooks *w, int ti, const char *line)
{
	char *copy = xstrdup(line), *old = NULL;
	int wake = 0;

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		free(copy);
		return;
	}
	if (w->qlen >= w->qmax) {
		old = w->q[w->qhead].line;
		w->qhead = (w->qhead + 1) % w->qmax;
		w->qlen--;
	}
	w->q[(w->qhead + w->qlen) % w->qmax].target = ti;
	w->q[(w->qhead + w->qlen) % w->qmax].line = copy;
	w->qlen++;
	wake = w->multi != NULL;
	pthread_mutex_unlock(&w->lock);
	atomic_fetch_add(&w->queued, 1);
	if (old != NULL) {
		free(old);
		if (atomic_fetch_add(&w->dropped, 1) % 1000 == 0)
			log_warn("event=webhook.dropped total=%" PRIu64 " msg=\""
			    "webhook queue full; oldest event dropped\"",
			    atomic_load(&w->dropped));
	}
	if (wake)
		(void)curl_multi_wakeup(w->multi);
}

void
webhooks_put(struct webhooks *w, const char *type, const char *line)
{
	const struct wh_target *t = NULL;
	size_t i, j;

	if (w == NULL || type == NULL || line == NULL)
		return;
	for (i = 0; i < w->nt; i++) {
		t = &w->t[i];
		if (t->direct)
			continue;
		for (j = 0; j < t->nevents; j++) {
			if (strcmp(t->events[j], type) == 0)
				break;
		}
		if (t->nevents == 0 || j < t->nevents)
			wh_enqueue(w, (int)i, line);
	}
}

void
webhooks_put_direct(struct webhooks *w, int id, const char *line)
{
	if (w == NULL || id < 0 || (size_t)id >= w->nt || line == NULL)
		return;
	wh_enqueue(w, id, line);
}

void
webhooks_stats(struct webhooks *w, struct webhook_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (w == NULL)
		return;
	out->queued = atomic_load(&w->queued);
	out->dropped = atomic_load(&w->dropped);
	out->delivered = atomic_load(&w->delivered);
	out->retried = atomic_load(&w->retried);
	out->failed = atomic_load(&w->failed);
	out->blocked = atomic_load(&w->blocked);
}

size_t
webhooks_queued(struct webhooks *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->qlen;
	pthread_mutex_unlock(&w->lock);
	return n;
}

const char *
webhooks_queued_line(struct webhooks *w, size_t i)
{
	const char *s = NULL;

	pthread_mutex_lock(&w->lock);
	if (i < w->qlen)
		s = w->q[(w->qhead + i) % w->qmax].line;
	pthread_mutex_unlock(&w->lock);
	return s;
}

/* libcurl: the response body is not needed. */
static size_t
wh_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* libcurl: refuses to open a socket to a private destination. Runs for
 * every address curl tries, after its own name resolution. */
static curl_socket_t
wh_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct wh_delivery *d = arg;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (d->w->guard == NULL || !d->w->guard(&a->addr, d->block_reason,
	    sizeof(d->block_reason))) {
		d->blocked = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void
wh_delivery_free(struct wh_delivery *d)
{
	if (d == NULL)
		return;
	if (d->easy != NULL) {
		curl_multi_remove_handle(d->w->multi, d->easy);
		curl_easy_cleanup(d->easy);
	}
	curl_slist_free_all(d->hdrs);
	free(d->body);
	free(d);
}

/* Removes entry i of the pending list (keeping the order). */
static void
wh_pend_remove(struct webhooks *w, size_t i)
{
	memmove(&w->pend[i], &w->pend[i + 1], (w->npend - i - 1) *
	    sizeof(*w->pend));
	w->npend--;
}

/* Turns a job into a pending delivery (the job's line is consumed). */
static void
wh_job_to_delivery(struct webhooks *w, struct wh_job *job)
{
	const struct wh_target *t = &w->t[job->target];
	struct wh_delivery *d = NULL;
	json_t *o = NULL;
	size_t i;

	d = xcalloc(1, sizeof(*d));
	d->w = w;
	d->target = job->target;
	d->body = webhook_render(t->direct ? WEBHOOK_GENERIC : t->format,
	    t->tpl, job->line, &d->len);
	if ((o = json_loads(job->line, 0, NULL)) != NULL)
		snprintf(d->type, sizeof(d->type), "%s",
		    jstr(o, "event_type", "event"));
	json_decref(o);
	free(job->line);
	job->line = NULL;
	if (d->body == NULL) {
		log_warn("event=webhook.render target=%s msg=\"cannot render "
		    "the event\"", t->origin);
		free(d);
		return;
	}
	d->id = ++w->next_id;
	d->due_ms = util_mono_ms();
	if (w->npend >= WEBHOOK_PENDING_MAX) {
		/* Full: drop the oldest delivery that is not in flight. */
		for (i = 0; i < w->npend && w->pend[i]->easy != NULL; i++)
			;
		if (i == w->npend) {
			wh_delivery_free(d);
			atomic_fetch_add(&w->dropped, 1);
			return;
		}
		wh_delivery_free(w->pend[i]);
		wh_pend_remove(w, i);
		atomic_fetch_add(&w->dropped, 1);
	}
	w->pend[w->npend++] = d;
}

/* Adds a header line (formatted) to d. */
static void
wh_header(struct wh_delivery *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
wh_header(struct wh_delivery *d, const char *fmt, ...)
{
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->hdrs = curl_slist_append(d->hdrs, line);
}

/* Starts one attempt of d. 0, or -1 when the request cannot be set up. */
static int
wh_start(struct webhooks *w, struct wh_delivery *d)
{
	const struct wh_target *t = &w->t[d->target];
	char sig[WEBHOOK_SIG_LEN], stamp[32];
	char *signed_msg = NULL;
	size_t sl;
	CURL *e = NULL;

	curl_slist_free_all(d->hdrs);
	d->hdrs = NULL;
	d->blocked = 0;
	d->errbuf[0] = '\0';
	snprintf(stamp, sizeof(stamp), "%lld", (long long)time(NULL));
	wh_header(d, "Content-Type: application/json");
	wh_header(d, "Expect:");
	wh_header(d, "X-Sks5-Event: %s", d->type);
	wh_header(d, "X-Sks5-Delivery: %" PRIu64 "-%u", d->id, d->attempt);
	wh_header(d, "X-Sks5-Timestamp: %s", stamp);
	if (t->secret != NULL && !t->direct) {
		/* Compatible signature over the body alone ... */
		webhook_sign(t->secret, d->body, d->len, sig);
		wh_header(d, "X-Signature-256: %s", sig);
		/* ... and one over "<timestamp>.<body>" against replays. */
		sl = strlen(stamp) + 1 + d->len;
		signed_msg = xmalloc(sl + 1);
		snprintf(signed_msg, sl + 1, "%s.", stamp);
		memcpy(signed_msg + strlen(stamp) + 1, d->body, d->len);
		webhook_sign(t->secret, signed_msg, sl, sig);
		free(signed_msg);
		wh_header(d, "X-Sks5-Signature-256: t=%s,%s", stamp, sig);
		util_wipe(sig, sizeof(sig));
	}
	if ((e = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, t->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)WEBHOOK_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TOTAL_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sks5/" SKS5_VERSION);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wh_discard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, d);
	if (!t->allow_private) {
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, wh_opensocket);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, d);
	}
	if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -1;
	}
	d->easy = e;
	d->attempt++;
	w->inflight++;
	return 0;
}

/* Handles the end of an attempt: success, give up, or schedule a retry.
 * Returns 1 when d is finished (and freed by the caller). */
static int
wh_finish(struct webhooks *w, struct wh_delivery *d, CURLcode rc)
{
	const struct wh_target *t = &w->t[d->target];
	long status = 0;
	uint64_t delay;

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(w->multi, d->easy);
	curl_easy_cleanup(d->easy);
	d->easy = NULL;
	w->inflight--;
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		atomic_fetch_add(&w->delivered, 1);
		log_debug("event=webhook.delivered target=%s type=%s "
		    "status=%ld attempt=%u", t->origin, d->type, status,
		    d->attempt);
		return 1;
	}
	if (d->blocked) {
		atomic_fetch_add(&w->blocked, 1);
		log_warn("event=webhook.blocked target=%s type=%s reason=\"%s\" "
		    "msg=\"destination is private, loopback or reserved; set "
		    "allow_private_ips to allow it\"", t->origin, d->type,
		    d->block_reason);
		return 1;
	}
	if (d->attempt > t->max_retries) {
		atomic_fetch_add(&w->failed, 1);
		log_warn("event=webhook.failed target=%s type=%s attempts=%u "
		    "status=%ld error=\"%s\"", t->origin, d->type, d->attempt,
		    status, rc != CURLE_OK ? curl_easy_strerror(rc) : "non-2xx");
		return 1;
	}
	delay = webhook_backoff_ms(t->delay_ms, t->max_delay_ms,
	    d->attempt - 1);
	d->due_ms = util_mono_ms() + delay;
	atomic_fetch_add(&w->retried, 1);
	log_info("event=webhook.retry target=%s type=%s attempt=%u status=%ld "
	    "error=\"%s\" delay_ms=%" PRIu64, t->origin, d->type, d->attempt,
	    status, rc != CURLE_OK ? curl_easy_strerror(rc) : "non-2xx", delay);
	return 0;
}

static void *
wh_main(void *arg)
{
	struct webhooks *w = arg;
	struct wh_job batch[WH_BATCH];
	struct wh_delivery *d = NULL;
	CURLMsg *msg = NULL;
	size_t n, i, more;
	uint64_t now, wait;
	int running, left, stop, timeout;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		stop = w->stopping;
		for (n = 0; n < WH_BATCH && w->qlen > 0; n++) {
			batch[n] = w->q[w->qhead];
			w->q[w->qhead].line = NULL;
			w->qhead = (w->qhead + 1) % w->qmax;
			w->qlen--;
		}
		more = w->qlen;
		pthread_mutex_unlock(&w->lock);
		if (stop) {
			for (i = 0; i < n; i++)
				free(batch[i].line);
			break;
		}
		for (i = 0; i < n; i++)
			wh_job_to_delivery(w, &batch[i]);
		now = util_mono_ms();
		for (i = 0; i < w->npend && w->inflight <
		    WEBHOOK_INFLIGHT_MAX; i++) {
			d = w->pend[i];
			if (d->easy != NULL || d->due_ms > now)
				continue;
			if (wh_start(w, d) != 0) {
				atomic_fetch_add(&w->failed, 1);
				wh_delivery_free(d);
				wh_pend_remove(w, i);
				i--;
			}
		}
		(void)curl_multi_perform(w->multi, &running);
		while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			d = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&d);
			if (d == NULL || !wh_finish(w, d, msg->data.result))
				continue;
			for (i = 0; i < w->npend && w->pend[i] != d; i++)
				;
			if (i < w->npend)
				wh_pend_remove(w, i);
			wh_delivery_free(d);
		}
		/* Sleep until the next retry is due, a request progresses,
		 * or a producer wakes us. */
		wait = WH_TICK_MS;
		now = util_mono_ms();
		for (i = 0; i < w->npend; i++) {
			d = w->pend[i];
			if (d->easy != NULL)
				continue;
			if (w->inflight >= WEBHOOK_INFLIGHT_MAX)
				break;
			if (d->due_ms <= now)
				wait = 0;
			else if (d->due_ms - now < wait)
				wait = d->due_ms - now;
		}
		if (more > 0)
			wait = 0;
		timeout = (int)wait;
		(void)curl_multi_poll(w->multi, NULL, 0, timeout, NULL);
	}
	for (i = 0; i < w->npend; i++)
		wh_delivery_free(w->pend[i]);
	w->npend = 0;
	return NULL;
}

int
webhooks_start(struct webhooks *w)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != 0) {
		log_error("event=webhook.start msg=\"libcurl failed to "
		    "initialise\"");
		return ERR_IO;
	}
	if ((w->multi = curl_multi_init()) == NULL)
		return ERR_NOMEM;
	if (pthread_create(&w->thread, NULL, wh_main, w) != 0) {
		log_error("event=webhook.start msg=\"cannot start the delivery "
		    "thread\"");
		curl_multi_cleanup(w->multi);
		w->multi = NULL;
		return ERR_IO;
	}
	w->started = 1;
	return 0;
}

void
webhooks_free(struct webhooks *w)
{
	size_t i, j;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_mutex_unlock(&w->lock);
	if (w->started) {
		(void)curl_multi_wakeup(w->multi);
		pthread_join(w->thread, NULL);
	}
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	for (i = 0; i < w->qlen; i++)
		free(w->q[(w->qhead + i) % w->qmax].line);
	for (i = 0; i < w->nt; i++) {
		free(w->t[i].url);
		for (j = 0; j < w->t[i].nevents; j++)
			free(w->t[i].events[j]);
		free(w->t[i].events);
		util_free_secret(w->t[i].secret);
		free(w->t[i].tpl);
	}
	free(w->t);
	free(w->q);
	free(w->pend);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

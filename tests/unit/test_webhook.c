/*
 * Unit tests for webhooks and alert rules: payload rendering, the HMAC
 * signature against RFC 4231 vectors, backoff, destination checks (at
 * load and at connect time), the bounded queue, and alert windows driven
 * by a fake clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin/admin_int.h"
#include "config/config.h"
#include "obs/alert.h"
#include "obs/webhook.h"
#include "test_config_util.h"

#define LINE_FAIL "{\"event_type\":\"auth.failure\",\"timestamp\":" \
	"\"2026-01-02T03:04:05.000000006Z\",\"username\":\"<!channel> " \
	"\\\"{data_json}\\\"\",\"source_ip\":\"192.0.2.7\",\"protocol\":" \
	"\"socks5\",\"method\":\"password\",\"reason\":\"bad password\"}"
#define LINE_DONE "{\"event_type\":\"proxy.complete\",\"timestamp\":" \
	"\"2026-01-02T03:04:05Z\",\"username\":\"alice\",\"source_ip\":" \
	"\"::1\",\"target_host\":\"example.test\",\"target_port\":443," \
	"\"bytes_transferred\":30,\"bytes_uploaded\":10,\"bytes_downloaded\"" \
	":20,\"duration_ms\":1500}"

static json_t *
parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, s);
	return j;
}

static void
test_render_generic(void **state)
{
	size_t len = 0;
	char *b = webhook_render(WEBHOOK_GENERIC, NULL, LINE_FAIL, &len);
	json_t *j = NULL, *data = NULL, *orig = parse(LINE_FAIL);

	(void)state;
	assert_non_null(b);
	assert_int_equal(len, strlen(b));
	j = parse(b);
	assert_int_equal(json_object_size(j), 3);
	assert_string_equal(json_string_value(json_object_get(j,
	    "event_type")), "auth.failure");
	assert_string_equal(json_string_value(json_object_get(j,
	    "timestamp")), "2026-01-02T03:04:05.000000006Z");
	data = json_object_get(j, "data");
	assert_true(json_equal(data, orig));
	json_decref(j);
	json_decref(orig);
	free(b);
	/* Anything but a JSON object is refused. */
	assert_null(webhook_render(WEBHOOK_GENERIC, NULL, "[1]", NULL));
	assert_null(webhook_render(WEBHOOK_GENERIC, NULL, "{nope", NULL));
}

static void
test_render_slack_discord(void **state)
{
	char *b = webhook_render(WEBHOOK_SLACK, NULL, LINE_FAIL, NULL);
	json_t *j = NULL, *blocks = NULL, *emb = NULL, *fields = NULL;
	const char *text = NULL;

	(void)state;
	assert_non_null(b);
	j = parse(b);
	text = json_string_value(json_object_get(j, "text"));
	assert_non_null(text);
	assert_true(strncmp(text, ":warning: [sks5] auth.failure: ", 31) == 0);
	/* Slack control sequences from a user name are escaped. */
	assert_null(strstr(text, "<!channel>"));
	assert_non_null(strstr(text, "&lt;!channel&gt;"));
	blocks = json_object_get(j, "blocks");
	assert_int_equal(json_array_size(blocks), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(blocks, 0), "type")), "header");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(blocks, 0), "text"), "text")),
	    ":warning: auth.failure");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(blocks, 2), "elements"), 0),
	    "text")), "sks5 | 2026-01-02T03:04:05.000000006Z");
	json_decref(j);
	free(b);

	b = webhook_render(WEBHOOK_DISCORD, NULL, LINE_DONE, NULL);
	assert_non_null(b);
	j = parse(b);
	emb = json_array_get(json_object_get(j, "embeds"), 0);
	assert_string_equal(json_string_value(json_object_get(emb, "title")),
	    "proxy.complete");
	assert_int_equal(json_integer_value(json_object_get(emb, "color")),
	    0x57F287);
	/* The summary reads the audit log's real field names. */
	assert_string_equal(json_string_value(json_object_get(emb,
	    "description")), "User 'alice' closed example.test:443 after "
	    "1500 ms: 10 bytes up, 20 bytes down");
	fields = json_object_get(emb, "fields");
	assert_int_equal(json_array_size(fields), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(fields, 2), "value")), "example.test:443");
	assert_int_equal(json_array_size(json_object_get(json_object_get(j,
	    "allowed_mentions"), "parse")), 0);
	json_decref(j);
	free(b);
}

static void
test_render_custom(void **state)
{
	const char *tpl = "{\"text\": \"{event_type} by {username} from "
	    "{source_ip} {unknown} {summary}\", \"raw\": {data_json}, "
	    "\"port\": {target_port}}";
	char *b = webhook_render(WEBHOOK_CUSTOM, tpl, LINE_FAIL, NULL);
	json_t *j = NULL, *orig = parse(LINE_FAIL);
	const char *text = NULL;
	const char *want = "auth.failure by <!channel> \"{data_json}\" from "
	    "192.0.2.7 {unknown} Authentication failed for user";

	(void)state;
	assert_non_null(b);
	/* Values are JSON-escaped and substituted once: the "{data_json}"
	 * inside the user name is not expanded again. */
	j = parse(b);
	text = json_string_value(json_object_get(j, "text"));
	assert_non_null(text);
	assert_true(strncmp(text, want, strlen(want)) == 0);
	assert_true(json_equal(json_object_get(j, "raw"), orig));
	assert_int_equal(json_integer_value(json_object_get(j, "port")), 0);
	json_decref(j);
	json_decref(orig);
	free(b);
}

/* RFC 4231 test cases 1 and 2 (HMAC-SHA-256). */
static void
test_hmac_vectors(void **state)
{
	char key1[21], sig[WEBHOOK_SIG_LEN];

	(void)state;
	memset(key1, 0x0b, 20);
	key1[20] = '\0';
	webhook_sign(key1, "Hi There", 8, sig);
	assert_string_equal(sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b88"
	    "1dc200c9833da726e9376c2e32cff7");
	webhook_sign("Jefe", "what do ya want for nothing?", 28, sig);
	assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a"
	    "003f089d2739839dec58b964ec3843");
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(webhook_backoff_ms(1000, 30000, 0), 1000);
	assert_int_equal(webhook_backoff_ms(1000, 30000, 1), 2000);
	assert_int_equal(webhook_backoff_ms(1000, 30000, 4), 16000);
	assert_int_equal(webhook_backoff_ms(1000, 30000, 5), 30000);
	assert_int_equal(webhook_backoff_ms(1000, 30000, 200), 30000);
	assert_int_equal(webhook_backoff_ms(UINT64_MAX / 2 + 1, UINT64_MAX,
	    3), UINT64_MAX);
	assert_int_equal(webhook_backoff_ms(0, 30000, 9), 0);
}

/* 1 when admin__webhook_guard() lets the literal address through. */
static int
allowed(const char *ip)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char why[96];

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return admin__webhook_guard((struct sockaddr *)&sin, why,
		    sizeof(why));
	}
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	sin6.sin6_family = AF_INET6;
	return admin__webhook_guard((struct sockaddr *)&sin6, why,
	    sizeof(why));
}

static void
test_connect_time_guard(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
		"192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
		"224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1",
		"fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::7f00:1", "2002:7f00:1::1", NULL
	};
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (allowed(bad[i]))
			fail_msg("%s allowed", bad[i]);
	}
	assert_true(allowed("93.184.216.34"));
	assert_true(allowed("2606:2800:220:1:248:1893:25c8:1946"));
}

/* 1 when a [[webhooks]] url loads (with allow_private_ips = allow). */
static int
url_loads(const char *url, int allow)
{
	struct cfg_diag d;
	struct cfg *c = NULL;
	char *pre = xasprintf("[[webhooks]]\nurl = \"%s\"\n"
	    "allow_private_ips = %s\n", url, allow ? "true" : "false");
	char *t = doc(pre, "");

	c = load(t, 0, &d);
	cfg_free(c);
	cfg_diag_cleanup(&d);
	free(t);
	free(pre);
	return c != NULL;
}

static void
test_load_time_url_checks(void **state)
{
	static const char *const hostile[] = {
		"http://127.0.0.1/", "http://127.1/", "http://0x7f000001/",
		"http://2130706433/", "http://0177.0.0.1/", "http://0/",
		"http://localhost/", "http://LOCALHOST./", "http://a.localhost/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:8080/", "http://[::ffff:127.0.0.1]/",
		"http://[fe80::1]/", "http://100.100.100.200/",
		"https://192.168.0.1:8443/x", "http://0.0.0.0:80/",
		/* Not http(s), credentials, no host, control bytes. */
		"file:///etc/passwd", "gopher://h.example/", "ftp://h.example/",
		"http://user:pw@h.example/", "http:///x", "http://h.example/\n",
		"http://h.example /", "//h.example/", NULL
	};
	size_t i;

	(void)state;
	for (i = 0; hostile[i] != NULL; i++) {
		if (url_loads(hostile[i], 0))
			fail_msg("%s accepted", hostile[i]);
	}
	assert_true(url_loads("https://hooks.example.com/services/x", 0));
	assert_true(url_loads("http://hooks.example.com:8080/", 0));
	/* Odd numeric forms are refused even when public. */
	assert_false(url_loads("http://1572395042/", 0));
	assert_true(url_loads("http://93.184.216.34/", 0));
	/* The explicit opt-in admits private targets, not other schemes. */
	assert_true(url_loads("http://127.0.0.1:9/", 1));
	assert_false(url_loads("file:///etc/passwd", 1));
}

static void
test_url_origin(void **state)
{
	char o[300];

	(void)state;
	webhook_url_origin("https://hooks.slack.com/services/T0/B0/SECRET?x=1",
	    o, sizeof(o));
	assert_string_equal(o, "https://hooks.slack.com:443");
	webhook_url_origin("http://[2001:db8::1]:8080/p", o, sizeof(o));
	assert_string_equal(o, "http://[2001:db8::1]:8080");
	webhook_url_origin("nope", o, sizeof(o));
	assert_string_equal(o, "(invalid url)");
}

static void
test_queue_filter_and_overflow(void **state)
{
	struct webhook_target t[2];
	char *evs[] = { "auth.failure" };
	struct webhook_stats st;
	struct webhooks *w = NULL;
	char line[64];
	int id, i;

	(void)state;
	memset(t, 0, sizeof(t));
	t[0].url = "https://a.example/";
	t[0].events = evs;
	t[0].nevents = 1;
	t[1].url = "https://b.example/";
	w = webhooks_new(t, 2, 3, admin__webhook_guard);
	id = webhooks_add_direct(w, "https://c.example/");
	assert_int_equal(id, 2);
	/* auth.success: only the unfiltered target takes it. */
	webhooks_put(w, "auth.success", "{\"n\":0}");
	assert_int_equal(webhooks_queued(w), 1);
	/* auth.failure: both; the queue (3) overflows: oldest dropped. */
	for (i = 1; i <= 3; i++) {
		snprintf(line, sizeof(line), "{\"n\":%d}", i);
		webhooks_put(w, "auth.failure", line);
	}
	assert_int_equal(webhooks_queued(w), 3);
	webhooks_stats(w, &st);
	assert_int_equal(st.queued, 7);
	assert_int_equal(st.dropped, 4);
	assert_string_equal(webhooks_queued_line(w, 0), "{\"n\":2}");
	assert_string_equal(webhooks_queued_line(w, 2), "{\"n\":3}");
	webhooks_put_direct(w, id, "{\"n\":4}");
	webhooks_put_direct(w, 7, "{\"n\":5}");	/* no such target */
	assert_string_equal(webhooks_queued_line(w, 2), "{\"n\":4}");
	assert_null(webhooks_queued_line(w, 3));
	webhooks_free(w);
}

/* An engine for one rule. */
static struct alerting *
one_rule(int cond, uint64_t threshold, uint64_t window, char **users,
    size_t nusers)
{
	struct alert_rule_def r;

	memset(&r, 0, sizeof(r));
	r.name = "r1";
	r.cond = cond;
	r.threshold = threshold;
	r.window_secs = window;
	r.users = users;
	r.nusers = nusers;
	return alerting_new(&r, 1);
}

static void
test_alert_auth_failures_window(void **state)
{
	struct alerting *al = one_rule(ALERT_AUTH_FAILURES, 3, 60, NULL,
	    0);
	struct alert_fire f[4];
	uint64_t t0 = 100000;

	(void)state;
	/* Three failures within the minute: not more than 3. */
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "a", 1, t0,
	    f, 4), 0);
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "b", 1,
	    t0 + 10, f, 4), 0);
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "c", 1,
	    t0 + 20, f, 4), 0);
	/* Other inputs do not count. */
	assert_int_equal(alerting_observe(al, ALERT_IN_CONN, "a", 9, t0 + 21,
	    f, 4), 0);
	/* The fourth fires, server-wide (no user). */
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "d", 1,
	    t0 + 30, f, 4), 1);
	assert_string_equal(f[0].name, "r1");
	assert_string_equal(f[0].condition, "auth_failures");
	assert_string_equal(f[0].user, "");
	assert_int_equal(f[0].value, 4);
	assert_int_equal(f[0].threshold, 3);
	assert_int_equal(f[0].window_secs, 60);
	/* Cooldown: more failures within the window stay quiet. */
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "e", 1,
	    t0 + 40, f, 4), 0);
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "e", 1,
	    t0 + 89, f, 4), 0);
	/* t0+91: the window (t0+32 .. t0+91) holds t0+40, t0+89 and this
	 * one: 3, not above the threshold, though the cooldown is over. */
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "e", 1,
	    t0 + 91, f, 4), 0);
	/* A fourth inside that window fires again. */
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "e", 1,
	    t0 + 92, f, 4), 1);
	assert_int_equal(f[0].value, 4);
	/* Long silence: the window empties completely. */
	assert_int_equal(alerting_observe(al, ALERT_IN_AUTHFAIL, "e", 1,
	    t0 + 100000, f, 4), 0);
	alerting_free(al);
}

static void
test_alert_per_user_bandwidth(void **state)
{
	char *users[] = { "alice" };
	struct alerting *al = one_rule(ALERT_BANDWIDTH, 1000, 3600, users,
	    1);
	struct alerting *all = one_rule(ALERT_HOURLY_BANDWIDTH, 1000, 5,
	    NULL, 0);
	struct alert_fire f[2];

	(void)state;
	/* bob is not watched by the first rule. */
	assert_int_equal(alerting_observe(al, ALERT_IN_BYTES, "bob", 5000, 10,
	    f, 2), 0);
	assert_int_equal(alerting_observe(al, ALERT_IN_BYTES, "alice", 600,
	    10, f, 2), 0);
	assert_int_equal(alerting_observe(al, ALERT_IN_BYTES, "alice", 600,
	    3000, f, 2), 1);
	assert_string_equal(f[0].user, "alice");
	assert_int_equal(f[0].value, 1200);
	/* An hour later the first 600 bytes have left the window. */
	assert_int_equal(alerting_observe(al, ALERT_IN_BYTES, "alice", 300,
	    3000 + 3700, f, 2), 0);
	/* hourly_bandwidth_exceeded ignores window_secs (5): one hour. */
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "bob", 600, 0,
	    f, 2), 0);
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "carol", 600,
	    1000, f, 2), 0);
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "bob", 600,
	    1000, f, 2), 1);
	assert_string_equal(f[0].user, "bob");
	assert_int_equal(f[0].window_secs, 3600);
	/* Unauthenticated streams ("-") are nobody's. */
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "-", 1 << 20,
	    1000, f, 2), 0);
	/* A firing that does not fit in out is not lost: it stays armed
	 * and is reported by the next observation. */
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "carol", 600,
	    1001, f, 0), 0);
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "carol", 600,
	    1002, f, 2), 1);
	assert_string_equal(f[0].user, "carol");
	assert_int_equal(f[0].value, 1800);
	assert_int_equal(alerting_observe(all, ALERT_IN_BYTES, "carol", 600,
	    1003, f, 2), 0);
	alerting_free(al);
	alerting_free(all);
}

static void
test_alert_connections(void **state)
{
	struct alerting *al = one_rule(ALERT_CONNECTIONS, 2, 0, NULL, 0);
	struct alert_fire f[1];

	(void)state;
	assert_int_equal(alert_window_secs(ALERT_CONNECTIONS, 0), 1);
	assert_int_equal(alert_window_secs(ALERT_MONTHLY_BANDWIDTH, 9),
	    ALERT_MONTH_SECS);
	assert_string_equal(alert_cond_name(ALERT_MONTHLY_BANDWIDTH),
	    "monthly_bandwidth_exceeded");
	/* A one-second window: three in the same second fire. */
	assert_int_equal(alerting_observe(al, ALERT_IN_CONN, "u", 1, 7, f, 1),
	    0);
	assert_int_equal(alerting_observe(al, ALERT_IN_CONN, "u", 1, 8, f, 1),
	    0);
	assert_int_equal(alerting_observe(al, ALERT_IN_CONN, "u", 1, 8, f, 1),
	    0);
	assert_int_equal(alerting_observe(al, ALERT_IN_CONN, "u", 1, 8, f, 1),
	    1);
	assert_int_equal(f[0].value, 3);
	alerting_free(al);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_generic),
		cmocka_unit_test(test_render_slack_discord),
		cmocka_unit_test(test_render_custom),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_connect_time_guard),
		cmocka_unit_test(test_load_time_url_checks),
		cmocka_unit_test(test_url_origin),
		cmocka_unit_test(test_queue_filter_and_overflow),
		cmocka_unit_test(test_alert_auth_failures_window),
		cmocka_unit_test(test_alert_per_user_bandwidth),
		cmocka_unit_test(test_alert_connections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

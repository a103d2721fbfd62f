/* Unit tests for the audit log writer and the metrics registry. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "admin/admin_int.h"
#include "core/err.h"
#include "core/util.h"
#include "obs/obs.h"
#include "policy/events.h"

/* A fresh temporary directory; the returned path is static. */
static const char *
tmpdir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/sks5-obs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Reads a whole file (NULL if absent). */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = xcalloc(1, (size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* Number of lines, each checked to be one JSON object. */
static size_t
json_lines(const char *text)
{
	const char *p = text, *nl = NULL;
	json_error_t e;
	json_t *v = NULL;
	size_t n = 0;

	while ((nl = strchr(p, '\n')) != NULL) {
		v = json_loadb(p, (size_t)(nl - p), 0, &e);
		assert_non_null(v);
		assert_true(json_is_object(v));
		assert_non_null(json_object_get(v, "event_type"));
		assert_non_null(json_object_get(v, "timestamp"));
		json_decref(v);
		n++;
		p = nl + 1;
	}
	assert_int_equal(*p, '\0');	/* no partial last line */
	return n;
}

static void
test_source_ip_and_timestamp(void **state)
{
	char ip[64], ts[48];

	(void)state;
	obs_source_ip("127.0.0.1:5555", ip, sizeof(ip));
	assert_string_equal(ip, "127.0.0.1");
	obs_source_ip("[::1]:80", ip, sizeof(ip));
	assert_string_equal(ip, "::1");
	obs_source_ip("::1", ip, sizeof(ip));
	assert_string_equal(ip, "::1");
	obs_source_ip("host", ip, sizeof(ip));
	assert_string_equal(ip, "host");
	obs_timestamp(ts, sizeof(ts));
	/* 2026-11-28T04:45:33.275159266Z */
	assert_int_equal(strlen(ts), 30);
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[29], 'Z');
}

/* Events become one JSON line each with the documented fields. */
static void
test_audit_events(void **state)
{
	const char *dir = tmpdir();
	char path[128], *text = NULL;
	struct audit *a = NULL;
	struct stream_event sev;
	struct auth_event aev;
	struct admin_sink sink;
	json_t *v = NULL;
	json_error_t e;
	char *nl = NULL;

	(void)state;
	memset(&sink, 0, sizeof(sink));
	snprintf(path, sizeof(path), "%s/sub/dir/audit.log", dir);
	a = audit_new(path, 0, 5, 100);
	assert_non_null(a);
	sink.audit = a;
	memset(&aev, 0, sizeof(aev));
	aev.success = 0;
	aev.proto = "socks5";
	aev.user = "ev\xff\"il";	/* invalid UTF-8 and a quote */
	aev.source = "10.0.0.1:4000";
	aev.method = "password";
	aev.reason = "bad credentials";
	admin__audit_auth(&aev, &sink);
	memset(&sev, 0, sizeof(sev));
	sev.phase = STREAM_END;
	sev.proto = "socks5";
	sev.user = "alice";
	sev.source = "[::1]:5000";
	sev.host = "example.test";
	sev.port = 443;
	sev.bytes_up = 10;
	sev.bytes_down = 20;
	sev.duration_ms = 1500;
	sev.outcome = "eof";
	admin__audit_stream(&sev, &sink);
	sev.phase = STREAM_REFUSED;
	sev.code = 2;
	sev.outcome = "deny rule example.test:443";
	admin__audit_stream(&sev, &sink);
	sev.outcome = "user connection limit (max_connections)";
	admin__audit_stream(&sev, &sink);
	admin__audit_reload(&sink, 0, 0, "t.toml:1:1: broken");
	audit_free(a);

	text = slurp(path);
	assert_non_null(text);
	assert_int_equal(json_lines(text), 5);
	nl = strchr(text, '\n');
	v = json_loadb(text, (size_t)(nl - text), 0, &e);
	assert_string_equal(json_string_value(json_object_get(v,
	    "event_type")), "auth.failure");
	assert_string_equal(json_string_value(json_object_get(v, "username")),
	    "ev?\"il");
	assert_string_equal(json_string_value(json_object_get(v,
	    "source_ip")), "10.0.0.1");
	json_decref(v);
	assert_non_null(strstr(text, "\"event_type\":\"proxy.complete\""));
	assert_non_null(strstr(text, "\"bytes_transferred\":30"));
	assert_non_null(strstr(text, "\"duration_ms\":1500"));
	assert_non_null(strstr(text, "\"source_ip\":\"::1\""));
	assert_non_null(strstr(text, "\"event_type\":\"acl.deny\""));
	assert_non_null(strstr(text, "\"event_type\":\"proxy.refused\""));
	assert_non_null(strstr(text, "\"event_type\":\"config.reload\""));
	assert_non_null(strstr(text, "\"success\":false"));
	free(text);
}

/* Size-based rotation keeps max_files generations. */
static void
test_audit_rotation(void **state)
{
	const char *dir = tmpdir();
	char path[128], gen[160], line[128];
	struct audit *a = NULL;
	struct stat st;
	char *text = NULL;
	size_t total = 0;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = audit_new(path, 300, 2, 1000);
	assert_non_null(a);
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "{\"event_type\":\"t\","
		    "\"timestamp\":\"x\",\"n\":%d,\"pad\":\"%040d\"}", i, i);
		assert_int_equal(audit_put_take(a, xstrdup(line)), 0);
	}
	audit_free(a);
	/* Each line is 82-83 bytes: a file holds 4 lines, then rotates. */
	text = slurp(path);
	assert_non_null(text);
	total += json_lines(text);
	assert_non_null(strstr(text, "\"n\":39,"));
	free(text);
	for (i = 1; i <= 2; i++) {
		snprintf(gen, sizeof(gen), "%s.%d", path, i);
		assert_int_equal(stat(gen, &st), 0);
		assert_true(st.st_size <= 300 + 90);
		text = slurp(gen);
		total += json_lines(text);
		free(text);
	}
	snprintf(gen, sizeof(gen), "%s.3", path);
	assert_int_not_equal(stat(gen, &st), 0);
	assert_true(total >= 9 && total <= 12);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
}

/* A full queue drops (and counts) instead of blocking. */
static void
test_audit_queue_bound(void **state)
{
	const char *dir = tmpdir();
	char path[128], *text = NULL;
	struct audit *a = NULL;
	uint64_t dropped, written;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = audit_new(path, 0, 1, 2);
	assert_non_null(a);
	for (i = 0; i < 5000; i++)
		(void)audit_put_take(a, xstrdup("{\"event_type\":\"t\","
		    "\"timestamp\":\"x\"}"));
	dropped = audit_dropped(a);
	audit_free(a);
	text = slurp(path);
	written = json_lines(text);
	free(text);
	assert_int_equal(written + dropped, 5000);
	a = audit_new(path, 0, 1, 1);
	assert_non_null(a);
	assert_int_equal(audit_put_take(a, NULL), ERR_INVAL);
	audit_free(a);
	/* A path that cannot be opened is an error, not a crash. */
	assert_null(audit_new("/proc/nonexistent/dir/audit.log", 0, 1, 1));
}

/* Label cap: names while there is room, then "_other", counted. */
static void
test_metrics_labels_and_render(void **state)
{
	struct metrics *m = metrics_new(2);
	struct stream_event sev;
	struct auth_event aev;
	struct mbuf b;

	(void)state;
	memset(&aev, 0, sizeof(aev));
	aev.success = 1;
	aev.proto = "socks5";
	aev.source = "127.0.0.1:1";
	aev.method = "password";
	aev.user = "a\"b\\c";
	admin__metrics_auth(&aev, m);
	aev.user = "bob";
	admin__metrics_auth(&aev, m);
	aev.user = "carol";
	admin__metrics_auth(&aev, m);
	aev.user = "dave";
	admin__metrics_auth(&aev, m);
	aev.success = 0;
	aev.user = "mallory";
	aev.method = "weird";
	admin__metrics_auth(&aev, m);
	assert_string_equal(metrics_user_label(m, "bob"), "bob");
	assert_string_equal(metrics_user_label(m, "zed"), "_other");
	memset(&sev, 0, sizeof(sev));
	sev.phase = STREAM_START;
	sev.user = "bob";
	admin__metrics_stream(&sev, m);
	sev.phase = STREAM_END;
	sev.duration_ms = 7000;
	admin__metrics_stream(&sev, m);
	sev.phase = STREAM_REFUSED;
	sev.code = 5;
	admin__metrics_stream(&sev, m);

	mbuf_init(&b);
	metrics_render(m, &b);
	assert_non_null(strstr(b.p, "sks5_connections_total 1\n"));
	assert_non_null(strstr(b.p, "sks5_auth_successes_total{user=\"a\\\"b"
	    "\\\\c\",method=\"password\"} 1\n"));
	assert_non_null(strstr(b.p, "sks5_auth_successes_total{user="
	    "\"_other\",method=\"password\"} 2\n"));
	assert_null(strstr(b.p, "carol"));
	assert_null(strstr(b.p, "mallory"));
	assert_non_null(strstr(b.p, "sks5_auth_failures_total{method="
	    "\"other\"} 1\n"));
	/* carol, dave and zed folded. */
	assert_non_null(strstr(b.p,
	    "sks5_metrics_cardinality_capped_total 3\n"));
	assert_non_null(strstr(b.p, "sks5_connections_rejected_total{reason="
	    "\"connect_failed\"} 1\n"));
	assert_non_null(strstr(b.p, "sks5_connection_duration_seconds_bucket"
	    "{user=\"bob\",le=\"5\"} 0\n"));
	assert_non_null(strstr(b.p, "sks5_connection_duration_seconds_bucket"
	    "{user=\"bob\",le=\"15\"} 1\n"));
	assert_non_null(strstr(b.p, "sks5_connection_duration_seconds_sum"
	    "{user=\"bob\"} 7.000\n"));
	assert_null(strstr(b.p, "_total_total"));
	mbuf_cleanup(&b);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_ip_and_timestamp),
		cmocka_unit_test(test_audit_events),
		cmocka_unit_test(test_audit_rotation),
		cmocka_unit_test(test_audit_queue_bound),
		cmocka_unit_test(test_metrics_labels_and_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

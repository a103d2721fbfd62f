/*
 * state.json and reputation.json: encoding and strict decoding. Pure:
 * text in, values out. Anything unexpected (a wrong type, a negative
 * counter, an unparsable address, too many entries) makes the whole file
 * unusable; the caller sets it aside.
 *
 * state.json:
 *   {"format":1, "saved_at_ms":N,
 *    "bans":[{"ip":"203.0.113.5","until_ms":N}, ...],
 *    "quotas":[{"user":"alice", "day":D, "day_bytes":N,
 *               "day_connections":N, "month":M, "month_bytes":N,
 *               "month_connections":N, "total_bytes":N,
 *               "hour":[[minute,bytes], ...], "orphan_since_ms":N}, ...]}
 * reputation.json:
 *   {"format":1, "saved_at_ms":N,
 *    "scores":[{"ip":"198.51.100.7","score":42.5,"at_ms":N}, ...]}
 * Times are milliseconds since the epoch, D days since the epoch, M is
 * year * 12 + month - 1 (UTC): the period each counter belongs to.
 */
#include "persist/persist_int.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "core/util.h"
#include "persist/json.h"

void
persist__state_doc_free(struct persist_state_doc *d)
{
	free(d->bans);
	policy_saved_quotas_free(d->quotas, d->nquotas);
	free(d->orphan_since);
	memset(d, 0, sizeof(*d));
}

/* Text form of a table key: dotted quad for mapped IPv4. */
static void
key_text(const unsigned char *key, char *out, size_t len)
{
	static const unsigned char v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (memcmp(key, v4, 12) == 0)
		inet_ntop(AF_INET, key + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, key, out, (socklen_t)len);
}

int
persist__ip_key(const char *s, unsigned char key[16])
{
	memset(key, 0, 16);
	if (inet_pton(AF_INET, s, key + 12) == 1) {
		key[10] = key[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, s, key) == 1 ? 0 : ERR_PROTO;
}

/* Dumps a document (takes it) into a heap string. */
char *
persist__dump(json_t *doc, size_t *len)
{
	char *s = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	size_t n;

	json_decref(doc);
	if (s == NULL)
		abort();	/* only on OOM */
	n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	*len = n + 1;
	return s;
}

/* A json integer of an unsigned counter (capped at the largest). */
static json_t *
jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX :
	    (json_int_t)v);
}

char *
persist__state_encode(const struct policy_saved_ip *ips, size_t nips,
    const struct policy_saved_quota *q, const int64_t *orphan_since,
    size_t nq, int64_t now_ms, size_t *len)
{
	json_t *doc = json_object(), *bans = json_array(), *qs = json_array();
	json_t *o = NULL, *hour = NULL;
	char ip[INET6_ADDRSTRLEN];
	size_t i;
	int m;

	for (i = 0; i < nips; i++) {
		if (ips[i].ban_until <= now_ms)
			continue;
		key_text(ips[i].addr, ip, sizeof(ip));
		o = json_object();
		json_object_set_new(o, "ip", json_string(ip));
		json_object_set_new(o, "until_ms", json_integer(
		    ips[i].ban_until));
		json_array_append_new(bans, o);
	}
	for (i = 0; i < nq; i++) {
		o = json_object();
		json_object_set_new(o, "user", json_string(q[i].user));
		json_object_set_new(o, "day", json_integer(q[i].q.day));
		json_object_set_new(o, "day_bytes", jint(q[i].q.day_bytes));
		json_object_set_new(o, "day_connections",
		    jint(q[i].q.day_conns));
		json_object_set_new(o, "month", json_integer(q[i].q.month));
		json_object_set_new(o, "month_bytes",
		    jint(q[i].q.month_bytes));
		json_object_set_new(o, "month_connections",
		    jint(q[i].q.month_conns));
		json_object_set_new(o, "total_bytes",
		    jint(q[i].q.total_bytes));
		hour = json_array();
		for (m = 0; m < 60; m++) {
			if (q[i].q.min_bytes[m] == 0)
				continue;
			json_array_append_new(hour, json_pack("[II]",
			    (json_int_t)q[i].q.min_stamp[m],
			    (json_int_t)(q[i].q.min_bytes[m] > INT64_MAX ?
			    INT64_MAX : q[i].q.min_bytes[m])));
		}
		json_object_set_new(o, "hour", hour);
		if (orphan_since != NULL && orphan_since[i] != 0)
			json_object_set_new(o, "orphan_since_ms",
			    json_integer(orphan_since[i]));
		json_array_append_new(qs, o);
	}
	json_object_set_new(doc, "format", json_integer(PERSIST_FORMAT));
	json_object_set_new(doc, "saved_at_ms", json_integer(now_ms));
	json_object_set_new(doc, "bans", bans);
	json_object_set_new(doc, "quotas", qs);
	return persist__dump(doc, len);
}

/* Parses one saved quota entry into out. */
static int
quota_decode(json_t *o, struct policy_saved_quota *out, int64_t *orphan,
    char *err, size_t errlen)
{
	struct quota_state *q = &out->q;
	json_t *hour = NULL, *h = NULL;
	const char *user = NULL;
	uint64_t v[8];
	size_t i;
	int slot;

	if (!json_is_object(o) ||
	    persist__jstr(o, "user", PERSIST_MAX_NAME, &user, err,
	    errlen) != 0 ||
	    persist__jint(o, "day", 0, INT32_MAX, &v[0], err, errlen) != 0 ||
	    persist__jint(o, "day_bytes", 0, INT64_MAX, &v[1], err,
	    errlen) != 0 ||
	    persist__jint(o, "day_connections", 0, UINT32_MAX, &v[2], err,
	    errlen) != 0 ||
	    persist__jint(o, "month", 0, INT32_MAX, &v[3], err, errlen) != 0 ||
	    persist__jint(o, "month_bytes", 0, INT64_MAX, &v[4], err,
	    errlen) != 0 ||
	    persist__jint(o, "month_connections", 0, UINT32_MAX, &v[5], err,
	    errlen) != 0 ||
	    persist__jint(o, "total_bytes", 0, INT64_MAX, &v[6], err,
	    errlen) != 0 ||
	    persist__jopt_int(o, "orphan_since_ms", 0, INT64_MAX, &v[7], err,
	    errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "a quota entry is not an object");
		return ERR_PROTO;
	}
	hour = json_object_get(o, "hour");
	if (hour != NULL && (!json_is_array(hour) ||
	    json_array_size(hour) > 60)) {
		snprintf(err, errlen, "quota \"hour\" must be an array of at "
		    "most 60 [minute, bytes] pairs");
		return ERR_PROTO;
	}
	memset(out, 0, sizeof(*out));
	q->day = (int64_t)v[0];
	q->day_bytes = v[1];
	q->day_conns = (uint32_t)v[2];
	q->month = (int64_t)v[3];
	q->month_bytes = v[4];
	q->month_conns = (uint32_t)v[5];
	q->total_bytes = v[6];
	*orphan = (int64_t)v[7];
	json_array_foreach(hour, i, h) {
		json_t *a = json_array_get(h, 0), *b = json_array_get(h, 1);

		if (!json_is_array(h) || json_array_size(h) != 2 ||
		    !json_is_integer(a) || !json_is_integer(b) ||
		    json_integer_value(a) < 0 || json_integer_value(b) < 0) {
			snprintf(err, errlen, "quota \"hour\" entries must be "
			    "[minute, bytes] with non-negative integers");
			return ERR_PROTO;
		}
		slot = (int)(json_integer_value(a) % 60);
		q->min_stamp[slot] = json_integer_value(a);
		q->min_bytes[slot] = (uint64_t)json_integer_value(b);
	}
	out->user = xstrdup(user);
	return 0;
}

/* Parses the "bans" array. */
static int
bans_decode(json_t *bans, int64_t now_ms, struct persist_state_doc *d,
    char *err, size_t errlen)
{
	const char *ip = NULL;
	uint64_t until;
	json_t *o = NULL;
	size_t i;

	d->bans = xcalloc(json_array_size(bans) + 1, sizeof(*d->bans));
	json_array_foreach(bans, i, o) {
		if (!json_is_object(o) ||
		    persist__jstr(o, "ip", 64, &ip, err, errlen) != 0 ||
		    persist__jint(o, "until_ms", 0, INT64_MAX, &until, err,
		    errlen) != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "a ban is not an object");
			return ERR_PROTO;
		}
		if (persist__ip_key(ip, d->bans[d->nbans].addr) != 0) {
			snprintf(err, errlen, "ban address \"%.64s\" is not "
			    "an IP address", ip);
			return ERR_PROTO;
		}
		if ((int64_t)until <= now_ms)
			continue;	/* ended while we were down */
		d->bans[d->nbans++].ban_until = (int64_t)until;
	}
	return 0;
}

int
persist__state_decode(const char *text, size_t len, int64_t now_ms,
    struct persist_state_doc *out, char *err, size_t errlen)
{
	struct persist_state_doc d;
	json_t *doc = NULL, *bans = NULL, *qs = NULL, *o = NULL;
	size_t i;
	int r = ERR_PROTO;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	err[0] = '\0';
	if ((doc = persist__parse(text, len, err, errlen)) == NULL)
		return ERR_PROTO;
	bans = json_object_get(doc, "bans");
	qs = json_object_get(doc, "quotas");
	if ((bans != NULL && !json_is_array(bans)) ||
	    (qs != NULL && !json_is_array(qs))) {
		snprintf(err, errlen, "\"bans\" and \"quotas\" must be arrays");
		goto out;
	}
	if (json_array_size(bans) > PERSIST_MAX_IPS ||
	    json_array_size(qs) > PERSIST_MAX_USERS) {
		snprintf(err, errlen, "too many entries");
		goto out;
	}
	if (bans != NULL && bans_decode(bans, now_ms, &d, err, errlen) != 0)
		goto out;
	d.quotas = xcalloc(json_array_size(qs) + 1, sizeof(*d.quotas));
	d.orphan_since = xcalloc(json_array_size(qs) + 1,
	    sizeof(*d.orphan_since));
	json_array_foreach(qs, i, o) {
		if (quota_decode(o, &d.quotas[d.nquotas],
		    &d.orphan_since[d.nquotas], err, errlen) != 0)
			goto out;
		d.nquotas++;
	}
	*out = d;
	memset(&d, 0, sizeof(d));
	r = 0;
out:
	persist__state_doc_free(&d);
	json_decref(doc);
	return r;
}

char *
persist__rep_encode(const struct policy_saved_ip *ips, size_t n,
    int64_t now_ms, size_t *len)
{
	json_t *doc = json_object(), *scores = json_array(), *o = NULL;
	char ip[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		if (ips[i].rep <= 0.0)
			continue;
		key_text(ips[i].addr, ip, sizeof(ip));
		o = json_object();
		json_object_set_new(o, "ip", json_string(ip));
		json_object_set_new(o, "score", json_real(ips[i].rep));
		json_object_set_new(o, "at_ms", json_integer(ips[i].rep_ms));
		json_array_append_new(scores, o);
	}
	json_object_set_new(doc, "format", json_integer(PERSIST_FORMAT));
	json_object_set_new(doc, "saved_at_ms", json_integer(now_ms));
	json_object_set_new(doc, "scores", scores);
	return persist__dump(doc, len);
}

int
persist__rep_decode(const char *text, size_t len,
    struct policy_saved_ip **out, size_t *n, char *err, size_t errlen)
{
	struct policy_saved_ip *v = NULL;
	json_t *doc = NULL, *scores = NULL, *o = NULL, *sc = NULL;
	const char *ip = NULL;
	uint64_t at;
	double score;
	size_t i, k = 0;
	int r = ERR_PROTO;

	*out = NULL;
	*n = 0;
	err[0] = '\0';
	if ((doc = persist__parse(text, len, err, errlen)) == NULL)
		return ERR_PROTO;
	scores = json_object_get(doc, "scores");
	if (scores != NULL && (!json_is_array(scores) ||
	    json_array_size(scores) > PERSIST_MAX_IPS)) {
		snprintf(err, errlen, "\"scores\" must be an array of at most "
		    "%u entries", PERSIST_MAX_IPS);
		goto out;
	}
	v = xcalloc(json_array_size(scores) + 1, sizeof(*v));
	json_array_foreach(scores, i, o) {
		if (!json_is_object(o) ||
		    persist__jstr(o, "ip", 64, &ip, err, errlen) != 0 ||
		    persist__jint(o, "at_ms", 0, INT64_MAX, &at, err,
		    errlen) != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "a score is not an "
				    "object");
			goto out;
		}
		sc = json_object_get(o, "score");
		score = json_is_number(sc) ? json_number_value(sc) : -1.0;
		if (!isfinite(score) || score < 0.0 || score > 1e9) {
			snprintf(err, errlen, "\"score\" must be a number "
			    "from 0 to 1e9");
			goto out;
		}
		if (persist__ip_key(ip, v[k].addr) != 0) {
			snprintf(err, errlen, "score address \"%.64s\" is not "
			    "an IP address", ip);
			goto out;
		}
		v[k].rep = score;
		v[k].rep_ms = (int64_t)at;
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
	r = 0;
out:
	free(v);
	json_decref(doc);
	return r;
}

/*
 * Asynchronous resolver: getaddrinfo() on pool workers, answers cached in a
 * hash table with an LRU list (one mutex, since loops share the resolver).
 *
 * A request is a heap object that travels: loop -> worker -> loop. The
 * worker fills its answer and inserts it in the cache; the completion on
 * the loop thread calls back unless the request was cancelled, then frees
 * it. Cache hits and IP literals travel loop -> ev_post task -> loop the
 * same way, so the callback never runs inside net_resolve().
 */
#include "net/net.h"

#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/util.h"

/* One cached answer. */
struct res_entry {
	char			*host;		/* lower-cased key */
	uint64_t		 expires;	/* monotonic ms */
	size_t			 naddrs;
	struct sockaddr_storage	*addrs;
	struct res_entry	*hnext;		/* hash chain */
	struct res_entry	*prev;		/* LRU list, head = newest use */
	struct res_entry	*next;
};

struct net_resolver {
	struct pool		*pool;
	pthread_mutex_t		 mu;
	unsigned		 refs;		/* owner + lookups in flight */
	uint64_t		 ttl_ms;	/* 0: no cache */
	size_t			 max_entries;	/* 0: no cache */
	net_lookup_fn		 lookup;
	struct res_entry	**buckets;
	size_t			 nbuckets;	/* power of two */
	struct res_entry	*head;
	struct res_entry	*tail;
	struct net_resolver_stats st;
};

struct net_resolve_req {
	struct net_resolver	*r;		/* set while a worker has it */
	struct ev		*loop;
	net_resolve_cb		 cb;
	void			*arg;
	net_lookup_fn		 lookup;
	int			 cancelled;
	int			 status;
	size_t			 naddrs;
	char			 host[NET_RESOLVE_MAX_NAME + 1];
	struct sockaddr_storage	 addrs[NET_RESOLVE_MAX_ADDRS];
};

/* Reads the monotonic clock in ms. */
static uint64_t
res_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Maps a getaddrinfo() error to a status. */
static int
res_gai_status(int rc)
{
	switch (rc) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return ERR_NOTFOUND;
	case EAI_AGAIN:
		return ERR_AGAIN;
	default:
		return ERR_IO;
	}
}

/* Appends sa to out unless it is already there; returns the new count. */
static size_t
res_add_unique(struct sockaddr_storage *out, size_t n,
    const struct sockaddr *sa, socklen_t salen)
{
	struct sockaddr_storage ss;
	size_t i;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, salen);
	net_sockaddr_set_port(&ss, 0);
	for (i = 0; i < n; i++) {
		if (memcmp(&out[i], &ss, sizeof(ss)) == 0) {
			return n;
		}
	}
	out[n] = ss;
	return n + 1;
}

/* The default lookup: getaddrinfo() for TCP, both families. */
static int
res_getaddrinfo(const char *host, struct sockaddr_storage *out, size_t max,
    size_t *n)
{
	struct addrinfo hints, *res = NULL, *ai = NULL;
	int rc;

	*n = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		log_debug("host=%s getaddrinfo: %s", host, gai_strerror(rc));
		return res_gai_status(rc);
	}
	for (ai = res; ai != NULL && *n < max; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET &&
		    ai->ai_addrlen == sizeof(struct sockaddr_in)) ||
		    (ai->ai_family == AF_INET6 &&
		    ai->ai_addrlen == sizeof(struct sockaddr_in6))) {
			*n = res_add_unique(out, *n, ai->ai_addr,
			    ai->ai_addrlen);
		}
	}
	freeaddrinfo(res);
	return *n > 0 ? 0 : ERR_NOTFOUND;
}

/* Hashes a key (FNV-1a). */
static size_t
res_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* Creates a resolver. */
struct net_resolver *
net_resolver_new(struct pool *pool, int64_t ttl_s, size_t max_entries)
{
	struct net_resolver *r = NULL;
	size_t nb = 16;

	r = xcalloc(1, sizeof(*r));
	r->pool = pool;
	pthread_mutex_init(&r->mu, NULL);
	r->refs = 1;
	r->lookup = res_getaddrinfo;
	if (ttl_s < 0) {
		ttl_s = NET_RESOLVE_DEFAULT_TTL;
	}
	if (ttl_s > 0 && max_entries > 0) {
		r->ttl_ms = (uint64_t)ttl_s * 1000;
		r->max_entries = max_entries;
		while (nb < max_entries && nb < ((size_t)1 << 20)) {
			nb *= 2;
		}
	}
	r->nbuckets = nb;
	r->buckets = xcalloc(nb, sizeof(*r->buckets));
	return r;
}

/* Unlinks an entry from its chain and the LRU list and frees it. */
static void
res_entry_drop(struct net_resolver *r, struct res_entry *e)
{
	struct res_entry **pp = &r->buckets[res_hash(e->host) &
	    (r->nbuckets - 1)];

	while (*pp != e) {
		pp = &(*pp)->hnext;
	}
	*pp = e->hnext;
	if (e->prev != NULL) {
		e->prev->next = e->next;
	} else {
		r->head = e->next;
	}
	if (e->next != NULL) {
		e->next->prev = e->prev;
	} else {
		r->tail = e->prev;
	}
	r->st.entries--;
	free(e->host);
	free(e->addrs);
	free(e);
}

/* Moves an entry to the head of the LRU list. */
static void
res_entry_touch(struct net_resolver *r, struct res_entry *e)
{
	if (r->head == e) {
		return;
	}
	e->prev->next = e->next;
	if (e->next != NULL) {
		e->next->prev = e->prev;
	} else {
		r->tail = e->prev;
	}
	e->prev = NULL;
	e->next = r->head;
	r->head->prev = e;
	r->head = e;
}

/* Frees the resolver once nobody holds it. Called with mu held. */
static void
res_unref_locked(struct net_resolver *r)
{
	if (--r->refs > 0) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	while (r->head != NULL) {
		res_entry_drop(r, r->head);
	}
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_destroy(&r->mu);
	free(r->buckets);
	free(r);
}

/* Releases the owner's reference. */
void
net_resolver_free(struct net_resolver *r)
{
	if (r == NULL) {
		return;
	}
	pthread_mutex_lock(&r->mu);
	res_unref_locked(r);
}

/* Sets the lookup function used by later requests. */
void
net_resolver_set_lookup(struct net_resolver *r, net_lookup_fn fn)
{
	pthread_mutex_lock(&r->mu);
	r->lookup = fn != NULL ? fn : res_getaddrinfo;
	pthread_mutex_unlock(&r->mu);
}

/* Copies the counters. */
void
net_resolver_stats(struct net_resolver *r, struct net_resolver_stats *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->st;
	pthread_mutex_unlock(&r->mu);
}

/* Finds a live entry; drops it if expired. Called with mu held. */
static struct res_entry *
res_find_locked(struct net_resolver *r, const char *key, uint64_t now)
{
	struct res_entry *e = NULL;

	e = r->buckets[res_hash(key) & (r->nbuckets - 1)];
	for (; e != NULL; e = e->hnext) {
		if (strcmp(e->host, key) == 0) {
			break;
		}
	}
	if (e != NULL && e->expires <= now) {
		res_entry_drop(r, e);
		e = NULL;
	}
	return e;
}

/* Makes room for one entry: expired ones first, then the LRU tail. */
static void
res_make_room_locked(struct net_resolver *r, uint64_t now)
{
	struct res_entry *e = NULL, *prev = NULL;

	if (r->st.entries < r->max_entries) {
		return;
	}
	for (e = r->tail; e != NULL; e = prev) {
		prev = e->prev;
		if (e->expires <= now) {
			res_entry_drop(r, e);
		}
	}
	while (r->st.entries >= r->max_entries && r->tail != NULL) {
		res_entry_drop(r, r->tail);
		r->st.evictions++;
	}
}

/* Stores an answer under key (replacing an older one). */
static void
res_insert(struct net_resolver *r, const char *key,
    const struct sockaddr_storage *addrs, size_t n)
{
	struct res_entry *e = NULL;
	size_t b;
	uint64_t now = res_now_ms();

	pthread_mutex_lock(&r->mu);
	if ((e = res_find_locked(r, key, now)) != NULL) {
		res_entry_drop(r, e);
	}
	res_make_room_locked(r, now);
	e = xcalloc(1, sizeof(*e));
	e->host = xstrdup(key);
	e->expires = now + r->ttl_ms;
	e->naddrs = n;
	e->addrs = xreallocarray(NULL, n, sizeof(*e->addrs));
	memcpy(e->addrs, addrs, n * sizeof(*addrs));
	b = res_hash(key) & (r->nbuckets - 1);
	e->hnext = r->buckets[b];
	r->buckets[b] = e;
	e->next = r->head;
	if (r->head != NULL) {
		r->head->prev = e;
	} else {
		r->tail = e;
	}
	r->head = e;
	r->st.entries++;
	pthread_mutex_unlock(&r->mu);
}

/* Worker side: runs the lookup and caches a success. */
static int
res_work(void *arg)
{
	struct net_resolve_req *req = arg;
	struct net_resolver *r = req->r;
	int status;

	status = req->lookup(req->host, req->addrs, NET_RESOLVE_MAX_ADDRS,
	    &req->naddrs);
	if (status == 0 && (req->naddrs == 0 ||
	    req->naddrs > NET_RESOLVE_MAX_ADDRS)) {
		status = req->naddrs == 0 ? ERR_NOTFOUND : ERR_IO;
	}
	if (status != 0) {
		req->naddrs = 0;
	} else if (r->ttl_ms > 0) {
		res_insert(r, req->host, req->addrs, req->naddrs);
	}
	pthread_mutex_lock(&r->mu);
	r->st.lookups++;
	pthread_mutex_unlock(&r->mu);
	return status;
}

/* Loop side: hands the answer over unless cancelled, then frees. */
static void
res_deliver(struct net_resolve_req *req)
{
	if (!req->cancelled) {
		req->cb(req->arg, req->status,
		    req->naddrs > 0 ? req->addrs : NULL, req->naddrs);
	}
	free(req);
}

/* Task for answers that needed no worker. */
static void
res_task(struct ev *ev, void *arg)
{
	(void)ev;
	res_deliver(arg);
}

/* Completion of a worker lookup, on the loop thread. */
static void
res_done(void *arg, int result)
{
	struct net_resolve_req *req = arg;
	struct net_resolver *r = req->r;

	req->r = NULL;
	req->status = result;
	pthread_mutex_lock(&r->mu);
	res_unref_locked(r);
	res_deliver(req);
}

/* Copies host into req->host lower-cased; ERR_INVAL if it is no name. */
static int
res_set_host(struct net_resolve_req *req, const char *host)
{
	size_t i, n;

	if (host == NULL || (n = strlen(host)) == 0 ||
	    n > NET_RESOLVE_MAX_NAME) {
		return ERR_INVAL;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)host[i] <= ' ' ||
		    (unsigned char)host[i] >= 0x7f) {
			return ERR_INVAL;
		}
		req->host[i] = (char)tolower((unsigned char)host[i]);
	}
	req->host[n] = '\0';
	return 0;
}

/* Answers from a literal or the cache; returns 1 if answered. */
static int
res_try_local(struct net_resolver *r, struct net_resolve_req *req)
{
	struct res_entry *e = NULL;
	socklen_t len;
	int hit = 0;

	if (net_sockaddr_parse_literal(req->host, 0, &req->addrs[0],
	    &len) == 0) {
		req->naddrs = 1;
		return 1;
	}
	pthread_mutex_lock(&r->mu);
	req->lookup = r->lookup;
	if (r->ttl_ms > 0 &&
	    (e = res_find_locked(r, req->host, res_now_ms())) != NULL) {
		res_entry_touch(r, e);
		req->naddrs = e->naddrs;
		memcpy(req->addrs, e->addrs, e->naddrs * sizeof(*e->addrs));
		r->st.hits++;
		hit = 1;
	} else {
		r->st.misses++;
		r->refs++;	/* the worker's reference */
	}
	pthread_mutex_unlock(&r->mu);
	return hit;
}

/* Starts a lookup; the answer always comes back later on loop. */
struct net_resolve_req *
net_resolve(struct net_resolver *r, struct ev *loop, const char *host,
    net_resolve_cb cb, void *arg)
{
	struct net_resolve_req *req = NULL;

	req = xcalloc(1, sizeof(*req));
	req->loop = loop;
	req->cb = cb;
	req->arg = arg;
	if ((req->status = res_set_host(req, host)) != 0 ||
	    res_try_local(r, req)) {
		goto post;
	}
	req->r = r;
	if (pool_submit(r->pool, res_work, res_done, req, loop) == 0) {
		return req;
	}
	log_warn("host=%s resolver queue full", req->host);
	req->r = NULL;
	req->status = ERR_AGAIN;
	pthread_mutex_lock(&r->mu);
	res_unref_locked(r);	/* cannot be the last: the caller holds one */
post:
	/* ev_post() only fails without a callback. */
	(void)ev_post(loop, res_task, req);
	return req;
}

/* Marks a request so that its callback never runs. */
void
net_resolve_cancel(struct net_resolve_req *req)
{
	if (req != NULL) {
		req->cancelled = 1;
	}
}

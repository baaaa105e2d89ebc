/*
 * repod's HTTP side: see http.h.
 *
 * libmicrohttpd parses; this file maps a request to a file of the tree,
 * answers validators and ranges, and keeps the counters of /metrics.
 * A request takes no lock of ours: counters are relaxed atomics, and
 * the one mutex on the way (the list of connections for the deadline on
 * request heads) is taken once when a connection opens and once when it
 * closes.  Per request, the allocations are libmicrohttpd's response,
 * its header copies and a small body's buffer: a small body is read
 * into memory and leaves in one writev() with the head, a larger one
 * with sendfile() from the file's own descriptor.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "lib/meta.h"
#include "repod/http.h"
#include "repod/onion.h"
#include "repod/repod.h"

#define CODE_MIN 100
#define CODE_MAX 599
#define SWEEP_MS 250		/* how often the header deadline is checked */
#define STOP_GRACE_MS 3000	/* requests in flight may finish this long */
#define SMALL_BODY (32u << 10)	/* bodies read, not sent from the file */
#define TS_MAX (1u << 20)	/* a timestamp.json larger than this is bad */
#define TS_PATH "metadata/timestamp.json"
#define CC_IMMUTABLE "public, max-age=31536000, immutable"
/* Not a deadline: the sweeper has shut this connection down already. */
#define SWEPT INT64_MAX

/*
 * One per connection, from libmicrohttpd's STARTED notification to its
 * CLOSED one, for the deadline on request heads.  Listed in h->conns
 * under h->mu.
 */
struct conn {
	struct conn *prev, *next;
	int fd;
	/* CLOCK_MONOTONIC ms by which a request head must be in; 0 while
	 * a request is being answered, SWEPT once shut down. */
	_Atomic int64_t deadline;
	uint64_t body;		/* this request's body bytes (its thread) */
};

struct stats {
	_Atomic uint64_t by_code[CODE_MAX - CODE_MIN + 1];
	_Atomic uint64_t other_code;
	_Atomic uint64_t bytes;		/* bodies of completed responses */
	_Atomic uint64_t errors;	/* requests that did not complete */
	_Atomic uint64_t header_timeouts;
	_Atomic uint64_t connections;	/* accepted since start */
	_Atomic uint64_t log_dropped;	/* warnings over the rate limit */
};

/* What /metrics and /health report of metadata/timestamp.json. */
enum ts_status { TS_MISSING, TS_INVALID, TS_OK };
struct tsinfo {
	enum ts_status status;
	int64_t version, snapshot, expires;
};

struct repod_http {
	struct MHD_Daemon **d;
	size_t nd;
	int root_fd;
	int access_log;
	int64_t header_ms;
	char cc_short[48];	/* Cache-Control of unversioned metadata */
	struct shared {
		struct MHD_Response *r;
		unsigned status;
		size_t len;
	} shared[5];		/* shared_def[], made once */
	struct stats st;
	_Atomic int64_t log_sec;	/* second of the last warning */

	pthread_mutex_t mu;	/* conns, nconns, stopping */
	pthread_cond_t cv;
	struct conn *conns;
	size_t nconns;
	int stopping;
	pthread_t sweeper;
	int have_mu, have_cv, have_sweeper;

	/* timestamp.json, parsed again only when the file changes */
	pthread_mutex_t ts_mu;
	int have_ts_mu;
	int ts_known;
	dev_t ts_dev;
	ino_t ts_ino;
	off_t ts_size;
	struct timespec ts_mtim;
	struct tsinfo ts;

	const struct repod_onion_status *onion;	/* NULL: no onion */
};

/* A file being answered. */
struct file_req {
	int fd;
	struct stat st;
	const char *cache_control;
	const char *type;
	char etag[80];
	char lastmod[40];
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * A warning on the log, at most one a second: clients can provoke them
 * (libmicrohttpd says so at every connection over a limit), and a flood
 * must not turn into a flood on stderr.
 */
static void
http_warn(struct repod_http *h, const char *msg, const char *detail)
{
	int64_t now = mono_ms() / 1000;

	if (atomic_exchange(&h->log_sec, now) == now) {
		count(&h->st.log_dropped, 1);
		return;
	}
	repod_log("warn", msg, "detail", detail, NULL);
}

static void mhd_logger(void *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	http_warn(cls, "libmicrohttpd", buf);
}

/*
 * Open rel beneath the tree: no "..", absolute or magic link leads out
 * of it, while symbolic links inside it (metadata -> .states/N) work.
 * O_NONBLOCK so that a FIFO planted in the tree cannot block a thread.
 */
static int
open_beneath(int dirfd, const char *rel)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	return (int)fd;
}

/* --- connections and the deadline on request heads ------------------ */

static struct conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/*
 * libmicrohttpd 0.9.75 calls CLOSED before it closes the socket (in
 * MHD_cleanup_connections() and on the failure path of a new
 * connection), from the connection's own thread.  Removing the entry
 * under h->mu therefore guarantees that while an entry is listed, its
 * descriptor is open and is this connection's: the sweeper, which
 * holds h->mu, can never shut down a descriptor number already reused.
 */
static void
on_connection(void *cls, struct MHD_Connection *mc, void **ctx,
    enum MHD_ConnectionNotificationCode what)
{
	struct repod_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		*ctx = NULL;
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			return;
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			/* Untracked, it would escape the deadline. */
			(void)shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		c->fd = ci->connect_fd;
		atomic_init(&c->deadline, mono_ms() + h->header_ms);
		pthread_mutex_lock(&h->mu);
		c->next = h->conns;
		if (h->conns != NULL)
			h->conns->prev = c;
		h->conns = c;
		h->nconns++;
		pthread_mutex_unlock(&h->mu);
		count(&h->st.connections, 1);
		*ctx = c;
		return;
	}
	if ((c = *ctx) == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	pthread_mutex_unlock(&h->mu);
	free(c);
	*ctx = NULL;
}

/*
 * Shut down every connection whose request head is late.  The socket is
 * only shut down, never closed: libmicrohttpd sees the end of the
 * stream, closes the connection itself and sends CLOSED.  A head that
 * completes just as its deadline passes may lose the race and be cut;
 * it was late by then.
 */
static void *
sweeper(void *arg)
{
	struct repod_http *h = arg;
	struct timespec until;
	struct conn *c;
	int64_t now, dl;

	pthread_mutex_lock(&h->mu);
	while (!h->stopping) {
		now = mono_ms();
		for (c = h->conns; c != NULL; c = c->next) {
			dl = atomic_load_explicit(&c->deadline,
			    memory_order_relaxed);
			if (dl == 0 || dl == SWEPT || dl > now)
				continue;
			if (!atomic_compare_exchange_strong(&c->deadline, &dl,
			    SWEPT))
				continue;
			(void)shutdown(c->fd, SHUT_RDWR);
			count(&h->st.header_timeouts, 1);
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += SWEEP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&h->cv, &h->mu, &until);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Connections in the middle of a request: their head is in. */
static size_t
busy_connections(struct repod_http *h)
{
	struct conn *c;
	size_t n = 0;

	pthread_mutex_lock(&h->mu);
	for (c = h->conns; c != NULL; c = c->next)
		if (atomic_load(&c->deadline) == 0)
			n++;
	pthread_mutex_unlock(&h->mu);
	return n;
}

/*
 * The end of a request: count it, and start the deadline for the next
 * head on this connection (a kept-alive connection is idle for at most
 * the shorter of header_timeout and timeout).
 */
static void
on_completed(void *cls, struct MHD_Connection *mc, void **req,
    enum MHD_RequestTerminationCode toe)
{
	struct repod_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn *c = conn_of(mc);
	int64_t zero = 0;
	unsigned code;

	(void)req;
	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_HTTP_STATUS);
	if (ci != NULL) {
		code = ci->http_status;
		if (code >= CODE_MIN && code <= CODE_MAX)
			count(&h->st.by_code[code - CODE_MIN], 1);
		else
			count(&h->st.other_code, 1);
	}
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		count(&h->st.errors, 1);
	else if (c != NULL)
		count(&h->st.bytes, c->body);
	if (c != NULL) {
		c->body = 0;
		(void)atomic_compare_exchange_strong(&c->deadline, &zero,
		    mono_ms() + h->header_ms);
	}
}

/*
 * Called when a request line has been read.  Its only purpose is that
 * libmicrohttpd then reports the request's end (and so its status) even
 * when it answers by itself, as it does to an oversized head.
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	(void)cls;
	(void)uri;
	(void)mc;
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decoding of the path, as libmicrohttpd's own, except that
 * "%00" empties the whole string: the path is handed on as a C string,
 * and a decoded NUL would silently cut "/targets/a%00.b" to
 * "/targets/a".  An empty path is answered 404.
 */
static size_t
unescape(void *cls, struct MHD_Connection *mc, char *s)
{
	char *r = s, *w = s;
	int hi, lo;

	(void)cls;
	(void)mc;
	while (*r != '\0') {
		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 &&
		    (lo = hexval(r[2])) >= 0) {
			if (hi == 0 && lo == 0) {
				s[0] = '\0';
				return 0;
			}
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* --- mapping paths and headers ---------------------------------------- */

/*
 * The file url names, relative to the tree, or NULL: only
 * /metadata/... and /targets/..., every component non-empty and not
 * starting with '.' (so no "..", no hidden .states, no directory
 * listing of "metadata/").
 */
static const char *
tree_path(const char *url)
{
	const char *p;

	if (strncmp(url, "/metadata/", 10) != 0 &&
	    strncmp(url, "/targets/", 9) != 0)
		return NULL;
	for (p = url; *p == '/'; p += strcspn(p, "/")) {
		p++;
		if (*p == '\0' || *p == '/' || *p == '.')
			return NULL;
	}
	return url + 1;
}

/*
 * Versioned metadata (N.ROLE.json) and targets (named by their hash)
 * never change under their name; timestamp.json, an unversioned
 * root.json and any other unversioned metadata do.
 */
static const char *
cache_control(const struct repod_http *h, const char *rel)
{
	const char *base, *p;

	if (strncmp(rel, "metadata/", 9) != 0)
		return CC_IMMUTABLE;
	base = strrchr(rel, '/') + 1;
	for (p = base; *p >= '0' && *p <= '9'; p++)
		;
	if (p > base && *p == '.')
		return CC_IMMUTABLE;
	return h->cc_short;
}

static const char *
content_type(const char *rel)
{
	size_t n = strlen(rel);

	if (n >= 5 && strcmp(rel + n - 5, ".json") == 0)
		return "application/json";
	return "application/octet-stream";
}

/*
 * HTTP dates, IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), both
 * ways by the civil-calendar arithmetic of H. Hinnant's
 * days_from_civil(): gmtime_r(), strftime() and timegm() would take
 * glibc's time zone lock, which every thread would share, at every
 * request.
 */
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char wdays[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon",
    "Tue", "Wed" };	/* from 1970-01-01, a Thursday */

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
format_date(int64_t t, char *out, size_t outlen)
{
	int64_t days, z, era, y;
	unsigned doe, yoe, doy, mp, d, m, secs;

	days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	secs = (unsigned)(t - days * 86400);
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (int64_t)yoe + era * 400 + (m <= 2);
	snprintf(out, outlen, "%s, %02u %s %04lld %02u:%02u:%02u GMT",
	    wdays[((days % 7) + 7) % 7], d, months[m - 1], (long long)y,
	    secs / 3600, secs / 60 % 60, secs % 60);
}

/* Two digits at s, or -1. */
static int
digits2(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* An IMF-fixdate; 0 or -1 (other forms are ignored, as RFC 9110 allows). */
static int
http_date(const char *s, int64_t *out)
{
	int d, m, yh, yl, hh, mm, ss;

	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    strcmp(s + 25, " GMT") != 0)
		return -1;
	for (m = 0; m < 12 && strncmp(s + 8, months[m], 3) != 0; m++)
		;
	if (m == 12 || (d = digits2(s + 5)) < 1 || d > 31 ||
	    (yh = digits2(s + 12)) < 0 || (yl = digits2(s + 14)) < 0 ||
	    (hh = digits2(s + 17)) < 0 || hh > 23 ||
	    (mm = digits2(s + 20)) < 0 || mm > 59 ||
	    (ss = digits2(s + 23)) < 0 || ss > 60)
		return -1;
	*out = days_from_civil(yh * 100 + yl, (unsigned)m + 1,
	    (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

/*
 * Whether our entity tag is in the If-None-Match list v ("*" or
 * comma-separated tags).  Weak comparison, as RFC 9110 asks there.
 */
static int
etag_listed(const char *v, const char *etag)
{
	const char *end;
	size_t n = strlen(etag);

	for (;;) {
		v += strspn(v, " \t,");
		if (*v == '\0')
			return 0;
		if (*v == '*')
			return 1;
		if (strncmp(v, "W/", 2) == 0)
			v += 2;
		if (*v != '"' || (end = strchr(v + 1, '"')) == NULL)
			return 0;
		if ((size_t)(end + 1 - v) == n && memcmp(v, etag, n) == 0)
			return 1;
		v = end + 1;
	}
}

/* 304 for GET and HEAD: If-None-Match, else If-Modified-Since. */
static int
not_modified(struct MHD_Connection *mc, const struct file_req *f)
{
	const char *v;
	int64_t t;

	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (v != NULL)
		return etag_listed(v, f->etag);
	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	if (v != NULL && http_date(v, &t) == 0)
		return f->st.st_mtim.tv_sec <= t;
	return 0;
}

/* Digits to a number, saturating; the end, or NULL if there are none. */
static const char *
number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++)
		v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX :
		    v * 10 + (uint64_t)(*p - '0');
	*out = v;
	return p > s ? p : NULL;
}

/*
 * One range of "bytes=..." over size bytes: 1 with [*off, *off + *len),
 * 0 for the whole file (several ranges, or a malformed header, which
 * RFC 9110 says to ignore), -1 when unsatisfiable (416).
 */
static int
parse_range(const char *v, uint64_t size, uint64_t *off, uint64_t *len)
{
	uint64_t a, b;
	const char *p;

	if (strncasecmp(v, "bytes=", 6) != 0 || strchr(v, ',') != NULL)
		return 0;
	p = v + 6;
	if (*p == '-') {
		if ((p = number(p + 1, &b)) == NULL || *p != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*len = b < size ? b : size;
		*off = size - *len;
		return 1;
	}
	if ((p = number(p, &a)) == NULL || *p++ != '-')
		return 0;
	b = UINT64_MAX;
	if (*p != '\0' && ((p = number(p, &b)) == NULL || *p != '\0'))
		return 0;
	if (b < a)
		return 0;
	if (a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

/* Whether If-Range (absent, our strong tag, or our date) lets Range in. */
static int
if_range_holds(struct MHD_Connection *mc, const struct file_req *f)
{
	const char *v;
	int64_t t;

	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_RANGE);
	if (v == NULL)
		return 1;
	if (*v == '"')
		return strcmp(v, f->etag) == 0;
	if (strncmp(v, "W/", 2) == 0)
		return 0;
	return http_date(v, &t) == 0 && t == f->st.st_mtim.tv_sec;
}

/* --- answering -------------------------------------------------------- */

static void
access_log(struct MHD_Connection *mc, const char *method, const char *url,
    unsigned status, uint64_t bytes)
{
	const union MHD_ConnectionInfo *ci;
	char peer[INET6_ADDRSTRLEN] = "-", st[8], nb[24];
	const struct sockaddr *sa;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    (const void *)sa)->sin_addr, peer, sizeof(peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)sa)->sin6_addr, peer, sizeof(peer));
	}
	snprintf(st, sizeof(st), "%u", status);
	snprintf(nb, sizeof(nb), "%" PRIu64, bytes);
	repod_log("info", "request", "peer", peer, "method", method, "path",
	    url, "status", st, "bytes", nb, NULL);
}

/* Queue r (shared or ours); body is what a completed GET will count. */
static enum MHD_Result
queue(struct repod_http *h, struct MHD_Connection *mc, unsigned status,
    struct MHD_Response *r, uint64_t body, const char *method,
    const char *url)
{
	struct conn *c;
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(mc, status, r);
	if ((c = conn_of(mc)) != NULL)
		c->body = body;
	if (h->access_log)
		access_log(mc, method, url, status, body);
	return ret;
}

static const struct {
	unsigned status;
	const char *body;
	const char *allow;
} shared_def[] = {
	{ MHD_HTTP_NOT_FOUND, "not found\n", NULL },
	{ MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD" },
	{ MHD_HTTP_CONTENT_TOO_LARGE, "no body expected\n", NULL },
	{ MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL },
	{ MHD_HTTP_SERVICE_UNAVAILABLE, "service unavailable\n", NULL },
};

/*
 * The responses whose bytes never vary, made once and shared by every
 * thread (libmicrohttpd counts references to a response under its own
 * lock; the response is never changed after this).
 */
static int
make_shared(struct repod_http *h)
{
	struct MHD_Response *r;
	size_t i;

	for (i = 0; i < sizeof(shared_def) / sizeof(shared_def[0]); i++) {
		r = MHD_create_response_from_buffer(strlen(shared_def[i].body),
		    (void *)(uintptr_t)shared_def[i].body,
		    MHD_RESPMEM_PERSISTENT);
		if (r == NULL)
			return FERRY_ERR_NOMEM;
		h->shared[i].r = r;
		h->shared[i].status = shared_def[i].status;
		h->shared[i].len = strlen(shared_def[i].body);
		if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/plain; charset=utf-8") != MHD_YES ||
		    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-store") != MHD_YES ||
		    (shared_def[i].allow != NULL && MHD_add_response_header(r,
		    MHD_HTTP_HEADER_ALLOW, shared_def[i].allow) != MHD_YES) ||
		    (shared_def[i].status == MHD_HTTP_SERVICE_UNAVAILABLE &&
		    MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
		    "5") != MHD_YES))
			return FERRY_ERR_NOMEM;
	}
	return 0;
}

static enum MHD_Result
queue_shared(struct repod_http *h, struct MHD_Connection *mc,
    unsigned status, int head, const char *method, const char *url)
{
	const size_t n = sizeof(h->shared) / sizeof(h->shared[0]);
	size_t i;

	for (i = 0; i < n && h->shared[i].status != status; i++)
		;
	if (i == n)
		return queue_shared(h, mc, MHD_HTTP_INTERNAL_SERVER_ERROR, head,
		    method, url);
	return queue(h, mc, h->shared[i].status, h->shared[i].r,
	    head ? 0 : h->shared[i].len, method, url);
}

/* The status for a file that would not open: errno e. */
static unsigned
open_status(struct repod_http *h, int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
	case EXDEV:	/* would resolve out of the tree */
	case ENAMETOOLONG:
	case EACCES:
	case EPERM:
	case ENXIO:
	case EISDIR:
		return MHD_HTTP_NOT_FOUND;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		http_warn(h, "cannot open a file", strerror(e));
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		http_warn(h, "cannot open a file", strerror(e));
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* The entity tag and Last-Modified of f->st. */
static void
validators(struct file_req *f)
{
	int64_t t = (int64_t)f->st.st_mtim.tv_sec;

	/*
	 * Strong: files of the tree are replaced, never rewritten in
	 * place, so new bytes come with a new inode, size or time.  The
	 * device number is left out: it can change across reboots (NFS,
	 * btrfs, overlayfs), which would change every tag for nothing.
	 */
	snprintf(f->etag, sizeof(f->etag), "\"%" PRIx64 "-%" PRIx64 "-%"
	    PRIx64 ".%08lx\"", (uint64_t)f->st.st_ino,
	    (uint64_t)f->st.st_size, (uint64_t)t,
	    (unsigned long)f->st.st_mtim.tv_nsec);
	format_date(t, f->lastmod, sizeof(f->lastmod));
}

/* Headers of a file's response; -1 when out of memory. */
static int
file_headers(struct MHD_Response *r, const struct file_req *f,
    unsigned status, uint64_t off, uint64_t len)
{
	char cr[80];

	if (status == MHD_HTTP_RANGE_NOT_SATISFIABLE)
		snprintf(cr, sizeof(cr), "bytes */%" PRIu64,
		    (uint64_t)f->st.st_size);
	else
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%"
		    PRIu64, off, off + len - 1, (uint64_t)f->st.st_size);
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG,
	    f->etag) != MHD_YES ||
	    (f->lastmod[0] != '\0' && MHD_add_response_header(r,
	    MHD_HTTP_HEADER_LAST_MODIFIED, f->lastmod) != MHD_YES) ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	    f->cache_control) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES,
	    "bytes") != MHD_YES)
		return -1;
	if ((status == MHD_HTTP_OK || status == MHD_HTTP_PARTIAL_CONTENT) &&
	    MHD_add_response_header(r,
	    MHD_HTTP_HEADER_CONTENT_TYPE, f->type) != MHD_YES)
		return -1;
	if ((status == MHD_HTTP_PARTIAL_CONTENT ||
	    status == MHD_HTTP_RANGE_NOT_SATISFIABLE) &&
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE,
	    cr) != MHD_YES)
		return -1;
	return 0;
}

/*
 * A small body is read into memory, so that libmicrohttpd sends it in
 * one writev() with the head: one segment and one wake-up of the client
 * instead of two.  NULL (and the descriptor left alone) when it is not
 * small or cannot be read whole.
 */
static struct MHD_Response *
small_body(int fd, uint64_t off, uint64_t len)
{
	struct MHD_Response *r;
	size_t got = 0, n = (size_t)len;
	unsigned char *buf;
	ssize_t k;

	if (len == 0 || len > SMALL_BODY || (buf = malloc(n)) == NULL)
		return NULL;
	while (got < n && (k = pread(fd, buf + got, n - got,
	    (off_t)(off + got))) > 0)
		got += (size_t)k;
	if (got != n || (r = MHD_create_response_from_buffer(n, buf,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(buf);
		return NULL;
	}
	(void)close(fd);
	return r;
}

/*
 * Answer with [off, off + len) of f->fd, which the response takes over
 * (and libmicrohttpd sends with sendfile(), unless the body is small).
 * A 304 carries the whole file's length as Content-Length, as RFC 9110
 * requires of one that has it at all, and no body; so does a HEAD.
 */
static enum MHD_Result
respond_file(struct repod_http *h, struct MHD_Connection *mc,
    struct file_req *f, unsigned status, uint64_t off, uint64_t len,
    int head, const char *method, const char *url)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	uint64_t body;

	body = head || status == MHD_HTTP_NOT_MODIFIED ||
	    status == MHD_HTTP_RANGE_NOT_SATISFIABLE ? 0 : len;
	if (status == MHD_HTTP_RANGE_NOT_SATISFIABLE) {
		(void)close(f->fd);
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	} else if ((r = body > 0 ? small_body(f->fd, off, len) : NULL) ==
	    NULL && (r = MHD_create_response_from_fd_at_offset64(len, f->fd,
	    off)) == NULL)
		(void)close(f->fd);
	f->fd = -1;	/* transferred, or closed */
	if (r == NULL)
		return queue_shared(h, mc, MHD_HTTP_SERVICE_UNAVAILABLE, head,
		    method, url);
	if (file_headers(r, f, status, off, len) != 0) {
		MHD_destroy_response(r);
		return queue_shared(h, mc, MHD_HTTP_SERVICE_UNAVAILABLE, head,
		    method, url);
	}
	ret = queue(h, mc, status, r, body, method, url);
	MHD_destroy_response(r);
	return ret;
}

/* GET or HEAD of rel, a path of the tree. */
static enum MHD_Result
serve_file(struct repod_http *h, struct MHD_Connection *mc, const char *rel,
    int head, const char *method, const char *url)
{
	struct file_req f;
	uint64_t off = 0, len, size;
	const char *range;
	int rr;

	if ((f.fd = open_beneath(h->root_fd, rel)) < 0)
		return queue_shared(h, mc, open_status(h, errno), head,
		    method, url);
	/* Regular files only: never a listing, a device or a FIFO. */
	if (fstat(f.fd, &f.st) != 0 || !S_ISREG(f.st.st_mode)) {
		(void)close(f.fd);
		return queue_shared(h, mc, MHD_HTTP_NOT_FOUND, head, method,
		    url);
	}
	size = len = (uint64_t)f.st.st_size;
	validators(&f);
	f.cache_control = cache_control(h, rel);
	f.type = content_type(rel);
	if (not_modified(mc, &f))
		return respond_file(h, mc, &f, MHD_HTTP_NOT_MODIFIED, 0, size,
		    head, method, url);
	/* Range is defined for GET only (RFC 9110 14.2). */
	range = head ? NULL : MHD_lookup_connection_value(mc,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	if (range == NULL || !if_range_holds(mc, &f))
		rr = 0;
	else
		rr = parse_range(range, size, &off, &len);
	if (rr < 0)
		return respond_file(h, mc, &f, MHD_HTTP_RANGE_NOT_SATISFIABLE,
		    0, 0, head, method, url);
	return respond_file(h, mc, &f, rr > 0 ? MHD_HTTP_PARTIAL_CONTENT :
	    MHD_HTTP_OK, off, len, head, method, url);
}

/* --- /metrics and /health ---------------------------------------------- */

/* Read and check timestamp.json from fd (size bytes) into *out. */
static void
ts_parse(int fd, off_t size, struct tsinfo *out)
{
	struct ferry_meta *md = NULL;
	struct ferry_metafile mf;
	struct ferry_error err;
	unsigned char *buf = NULL;
	size_t got = 0, n = (size_t)size;
	ssize_t r;

	memset(out, 0, sizeof(*out));
	out->status = TS_INVALID;
	ferry_error_clear(&err);
	if (size < 0 || (uint64_t)size > TS_MAX ||
	    (buf = malloc(n > 0 ? n : 1)) == NULL)
		return;
	while (got < n && (r = pread(fd, buf + got, n - got,
	    (off_t)got)) > 0)
		got += (size_t)r;
	if (got == n && ferry_meta_parse(buf, n, TS_MAX, &md, &err) == 0 &&
	    md->type == FERRY_META_TIMESTAMP &&
	    ferry_meta_metafile(md, "snapshot.json", &mf) == 0) {
		out->status = TS_OK;
		out->version = md->version;
		out->snapshot = mf.version;
		out->expires = md->expires;
	}
	ferry_meta_free(md);
	free(buf);
}

/*
 * The published timestamp.json as it is now.  Parsed again only when
 * (device, inode, size, mtime) changes, which a publisher's rename or
 * switch of the metadata link always does.
 */
static void
ts_get(struct repod_http *h, struct tsinfo *out)
{
	struct stat st;
	int fd;

	pthread_mutex_lock(&h->ts_mu);
	fd = open_beneath(h->root_fd, TS_PATH);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		h->ts_known = 0;
		memset(&h->ts, 0, sizeof(h->ts));
		h->ts.status = TS_MISSING;
	} else if (!h->ts_known || st.st_ino != h->ts_ino ||
	    st.st_dev != h->ts_dev || st.st_size != h->ts_size ||
	    st.st_mtim.tv_sec != h->ts_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != h->ts_mtim.tv_nsec) {
		ts_parse(fd, st.st_size, &h->ts);
		h->ts_known = 1;
		h->ts_dev = st.st_dev;
		h->ts_ino = st.st_ino;
		h->ts_size = st.st_size;
		h->ts_mtim = st.st_mtim;
	}
	if (fd >= 0)
		(void)close(fd);
	*out = h->ts;
	pthread_mutex_unlock(&h->ts_mu);
}

static const char *
ts_status_name(const struct tsinfo *ts, int64_t now)
{
	switch (ts->status) {
	case TS_OK:
		return now < ts->expires ? "ok" : "expired";
	case TS_INVALID:
		return "invalid";
	default:
		return "missing";
	}
}

static void
metric(FILE *f, const char *name, const char *type, const char *help,
    uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help,
	    name, type, name, v);
}

static void
metrics_timestamp(FILE *f, const struct tsinfo *ts, int64_t now)
{
	fprintf(f, "# HELP ferry_repod_timestamp_valid Whether "
	    "metadata/timestamp.json is present, well-formed and not "
	    "expired.\n# TYPE ferry_repod_timestamp_valid gauge\n"
	    "ferry_repod_timestamp_valid %d\n",
	    ts->status == TS_OK && now < ts->expires);
	if (ts->status != TS_OK)
		return;
	fprintf(f, "# HELP ferry_repod_timestamp_version The published "
	    "timestamp's version.\n"
	    "# TYPE ferry_repod_timestamp_version gauge\n"
	    "ferry_repod_timestamp_version %" PRId64 "\n"
	    "# HELP ferry_repod_snapshot_version The snapshot version the "
	    "published timestamp names.\n"
	    "# TYPE ferry_repod_snapshot_version gauge\n"
	    "ferry_repod_snapshot_version %" PRId64 "\n"
	    "# HELP ferry_repod_timestamp_expires_seconds Seconds until the "
	    "published timestamp expires (negative once expired).\n"
	    "# TYPE ferry_repod_timestamp_expires_seconds gauge\n"
	    "ferry_repod_timestamp_expires_seconds %" PRId64 "\n",
	    ts->version, ts->snapshot, ts->expires - now);
}

/* What the onion process last reported; 0 when there is none. */
static int
onion_get(const struct repod_http *h, int *state, int64_t *since,
    uint64_t *publishes, unsigned *clients)
{
	const struct repod_onion_status *o = h->onion;

	if (o == NULL)
		return 0;
	*state = atomic_load(&o->state);
	*since = atomic_load(&o->since);
	*publishes = atomic_load(&o->publishes);
	*clients = atomic_load(&o->clients);
	return 1;
}

static void
metrics_onion(FILE *f, const struct repod_http *h)
{
	uint64_t publishes;
	unsigned clients;
	int64_t since;
	int state;

	if (!onion_get(h, &state, &since, &publishes, &clients))
		return;
	if (state != REPOD_ONION_OFF)
		fprintf(f, "# HELP ferry_repod_onion_info The onion service's "
		    "address.\n# TYPE ferry_repod_onion_info gauge\n"
		    "ferry_repod_onion_info{address=\"%s.onion\"} 1\n",
		    h->onion->address);
	metric(f, "ferry_repod_onion_added", "gauge", "Whether tor holds "
	    "the onion service now.", state >= REPOD_ONION_ADDED);
	metric(f, "ferry_repod_onion_published", "gauge", "Whether tor has "
	    "uploaded the onion service's descriptor since it was added.",
	    state == REPOD_ONION_UPLOADED);
	metric(f, "ferry_repod_onion_publishes_total", "counter", "Times "
	    "tor took the onion service (again after a restart of tor).",
	    publishes);
	metric(f, "ferry_repod_onion_clients", "gauge", "Clients authorized "
	    "to reach the onion service (0: anyone may).", clients);
}

/* The text of /metrics (Prometheus text format 0.0.4), malloc'd. */
static char *
metrics_text(struct repod_http *h, size_t *len)
{
	struct tsinfo ts;
	char *buf = NULL;
	uint64_t v;
	size_t n = 0, i, open;
	FILE *f;

	ts_get(h, &ts);
	pthread_mutex_lock(&h->mu);
	open = h->nconns;
	pthread_mutex_unlock(&h->mu);
	if ((f = open_memstream(&buf, &n)) == NULL)
		return NULL;
	fputs("# HELP ferry_repod_http_requests_total Responses sent, by "
	    "status code.\n# TYPE ferry_repod_http_requests_total counter\n",
	    f);
	for (i = 0; i < CODE_MAX - CODE_MIN + 1; i++)
		if ((v = get(&h->st.by_code[i])) != 0)
			fprintf(f, "ferry_repod_http_requests_total{code=\"%zu\"}"
			    " %" PRIu64 "\n", i + CODE_MIN, v);
	if ((v = get(&h->st.other_code)) != 0)
		fprintf(f, "ferry_repod_http_requests_total{code=\"other\"} %"
		    PRIu64 "\n", v);
	metric(f, "ferry_repod_http_response_bytes_total", "counter",
	    "Body bytes of the responses sent completely.",
	    get(&h->st.bytes));
	metric(f, "ferry_repod_http_errors_total", "counter", "Requests "
	    "that ended before their response was sent completely.",
	    get(&h->st.errors));
	metric(f, "ferry_repod_http_header_timeouts_total", "counter",
	    "Connections closed for not sending a request head in time.",
	    get(&h->st.header_timeouts));
	metric(f, "ferry_repod_http_connections_total", "counter",
	    "Connections accepted.", get(&h->st.connections));
	metric(f, "ferry_repod_http_connections_open", "gauge",
	    "Connections open now.", (uint64_t)open);
	metric(f, "ferry_repod_log_dropped_total", "counter",
	    "Warnings not logged, over the rate limit of one a second.",
	    get(&h->st.log_dropped));
	metrics_timestamp(f, &ts, (int64_t)time(NULL));
	metrics_onion(f, h);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* The onion part of /health: ",\"onion\":{...}", or "" without one. */
static void
health_onion(const struct repod_http *h, char *out, size_t outlen)
{
	uint64_t publishes;
	unsigned clients;
	int64_t since;
	char when[32];
	int state;

	out[0] = '\0';
	if (!onion_get(h, &state, &since, &publishes, &clients))
		return;
	if (ferry_meta_format_time(since, when, sizeof(when)) != 0)
		snprintf(when, sizeof(when), "?");
	if (state == REPOD_ONION_OFF)
		snprintf(out, outlen, ",\"onion\":{\"state\":\"off\"}");
	else
		snprintf(out, outlen, ",\"onion\":{\"address\":\"%s.onion\","
		    "\"state\":\"%s\",\"since\":\"%s\",\"clients\":%u}",
		    h->onion->address, repod_onion_state_name(state), when,
		    clients);
}

/* The text of /health, malloc'd; *ok says whether it is healthy. */
static char *
health_text(struct repod_http *h, size_t *len, int *ok)
{
	struct tsinfo ts;
	int64_t now = (int64_t)time(NULL);
	char exp[32], onion[256], *buf;
	const char *status;
	int n;

	ts_get(h, &ts);
	status = ts_status_name(&ts, now);
	*ok = strcmp(status, "ok") == 0;
	health_onion(h, onion, sizeof(onion));
	if ((buf = malloc(512)) == NULL)
		return NULL;
	if (ts.status != TS_OK ||
	    ferry_meta_format_time(ts.expires, exp, sizeof(exp)) != 0)
		n = snprintf(buf, 512, "{\"status\":\"%s\"%s}\n", status,
		    onion);
	else
		n = snprintf(buf, 512, "{\"status\":\"%s\",\"timestamp_version\":"
		    "%" PRId64 ",\"snapshot_version\":%" PRId64 ",\"expires\":"
		    "\"%s\",\"seconds_left\":%" PRId64 "%s}\n", status,
		    ts.version, ts.snapshot, exp, ts.expires - now, onion);
	*len = n > 0 && n < 512 ? (size_t)n : 0;
	return buf;
}

/* /metrics or /health: a body built now, never cached. */
static enum MHD_Result
serve_status(struct repod_http *h, struct MHD_Connection *mc, int metrics,
    int head, const char *method, const char *url)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *buf;
	int ok = 1;

	buf = metrics ? metrics_text(h, &len) : health_text(h, &len, &ok);
	if (buf == NULL)
		return queue_shared(h, mc, MHD_HTTP_SERVICE_UNAVAILABLE, head,
		    method, url);
	if ((r = MHD_create_response_from_buffer(len, buf,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(buf);
		return queue_shared(h, mc, MHD_HTTP_SERVICE_UNAVAILABLE, head,
		    method, url);
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, metrics ?
	    "text/plain; version=0.0.4; charset=utf-8" : "application/json")
	    != MHD_YES || MHD_add_response_header(r,
	    MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
		MHD_destroy_response(r);
		return queue_shared(h, mc, MHD_HTTP_SERVICE_UNAVAILABLE, head,
		    method, url);
	}
	ret = queue(h, mc, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, r,
	    head ? 0 : len, method, url);
	MHD_destroy_response(r);
	return ret;
}

/* --- the request handler and the daemons -------------------------------- */

/* Whether the request announces a body (a length other than 0). */
static int
has_body(struct MHD_Connection *mc)
{
	const char *v;

	if (MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL)
		return 1;
	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	return v != NULL && strspn(v, "0") != strlen(v);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req)
{
	static int head_seen;
	struct repod_http *h = cls;
	struct conn *c;
	const char *rel;
	int64_t dl;
	int head;

	(void)version;
	(void)upload;
	head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (*req == NULL) {
		/* The head is in: its deadline no longer applies. */
		*req = &head_seen;
		if ((c = conn_of(mc)) != NULL &&
		    (dl = atomic_load(&c->deadline)) != SWEPT)
			(void)atomic_compare_exchange_strong(&c->deadline,
			    &dl, 0);
		/*
		 * Other methods are answered at once, before any body:
		 * libmicrohttpd 0.9.75 then closes the connection rather
		 * than read a body nobody needs.  For that same reason GET
		 * and HEAD are answered at the second call, which keeps
		 * the connection alive.
		 */
		if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
			return queue_shared(h, mc, MHD_HTTP_METHOD_NOT_ALLOWED,
			    0, method, url);
		/*
		 * Nor is a body read on a GET: trickled slowly, it would
		 * hold the connection past the deadline on heads.
		 */
		if (has_body(mc))
			return queue_shared(h, mc, MHD_HTTP_CONTENT_TOO_LARGE,
			    head, method, url);
		return MHD_YES;
	}
	if (*upload_size != 0)
		return MHD_NO;	/* not announced: close the connection */
	if ((rel = tree_path(url)) != NULL)
		return serve_file(h, mc, rel, head, method, url);
	if (strcmp(url, "/metrics") == 0 || strcmp(url, "/health") == 0)
		return serve_status(h, mc, url[1] == 'm', head, method, url);
	return queue_shared(h, mc, MHD_HTTP_NOT_FOUND, head, method, url);
}

/*
 * A daemon on a duplicate of the caller's listening socket, which stays
 * the caller's: libmicrohttpd closes the socket it is given when it
 * stops, and on some of its failure paths.  After such a failure the
 * duplicate may or may not be closed already; it is left alone, since
 * closing a number that another thread may have reused is worse than
 * leaking one descriptor in a process that is about to exit.
 */
static struct MHD_Daemon *
start_daemon(struct repod_http *h, const struct repod_http_opts *o, int fd,
    unsigned threads)
{
	/* A pool of one thread is no pool, and libmicrohttpd says so. */
	struct MHD_OptionItem pool[] = {
		{ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	int dfd;

	if (threads < 2)
		pool[0].option = MHD_OPTION_END;
	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return NULL;
	return MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
	    /* First, or libmicrohttpd logs the options' errors itself. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)dfd,
	    MHD_OPTION_ARRAY, pool,
	    MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->conn_memory,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, h,
	    MHD_OPTION_END);
}

/*
 * Everything but the daemons: locks, shared responses, the sweeper.  On
 * failure, repod_http_stop() undoes whatever was done (the have_ flags).
 */
static int
http_init(struct repod_http *h, const struct repod_http_opts *o,
    struct ferry_error *err)
{
	pthread_condattr_t ca;
	unsigned hto;
	int r;

	if ((h->d = calloc(o->nlisten, sizeof(*h->d))) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "http: %s",
		    strerror(ENOMEM));
	h->root_fd = o->root_fd;
	h->access_log = o->access_log;
	h->onion = o->onion;
	hto = o->header_timeout > 0 ? o->header_timeout : o->timeout;
	h->header_ms = (int64_t)(hto > 0 ? hto : 10) * 1000;
	snprintf(h->cc_short, sizeof(h->cc_short), "public, max-age=%u",
	    o->timestamp_max_age);
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "http: locks");
	h->have_mu = 1;
	if (pthread_mutex_init(&h->ts_mu, NULL) != 0)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "http: locks");
	h->have_ts_mu = 1;
	/* The sweeper's waits are on the monotonic clock. */
	if (pthread_condattr_init(&ca) != 0)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "http: locks");
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&h->cv, &ca) != 0;
	pthread_condattr_destroy(&ca);
	if (r)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "http: locks");
	h->have_cv = 1;
	if (make_shared(h) != 0)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "http: %s",
		    strerror(ENOMEM));
	if ((r = pthread_create(&h->sweeper, NULL, sweeper, h)) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "http: a thread: %s",
		    strerror(r));
	h->have_sweeper = 1;
	return 0;
}

int
repod_http_start(const struct repod_http_opts *o, struct repod_http **out,
    struct ferry_error *err)
{
	struct repod_http *h = NULL;
	unsigned threads = o->threads;
	long ncpu;
	size_t i;
	int fd, e, r;

	if (o->nlisten == 0 || o->max_connections == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "http: nothing to listen on");
	/* openat2() is what keeps every path beneath the tree. */
	if ((fd = open_beneath(o->root_fd, ".")) < 0) {
		e = errno;
		return ferry_error_set(err, FERRY_ERR_IO, "http: the tree: %s%s",
		    strerror(e), e == ENOSYS ?
		    " (openat2 needs Linux 5.6 or later)" : "");
	}
	(void)close(fd);
	if (threads == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 && ncpu < 256 ? (unsigned)ncpu : 1;
	}
	/* libmicrohttpd splits the connection limit among the threads. */
	if (threads > o->max_connections)
		threads = o->max_connections;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		r = ferry_error_set(err, FERRY_ERR_NOMEM, "http: %s",
		    strerror(ENOMEM));
		goto out;
	}
	if ((r = http_init(h, o, err)) != 0)
		goto out;
	for (i = 0; i < o->nlisten; i++) {
		if ((h->d[i] = start_daemon(h, o, o->listen_fds[i],
		    threads)) == NULL) {
			r = ferry_error_set(err, FERRY_ERR_IO, "http: "
			    "libmicrohttpd did not start on descriptor %d",
			    o->listen_fds[i]);
			goto out;
		}
		h->nd = i + 1;
	}
	*out = h;
	h = NULL;	/* transferred */
	r = 0;
 out:
	repod_http_stop(h);
	return r;
}

void
repod_http_stop(struct repod_http *h)
{
	struct timespec nap = { 0, 50 * 1000000L };
	MHD_socket *lfd;
	int64_t until;
	size_t i;

	if (h == NULL)
		return;
	/*
	 * Stop accepting first, then give the requests in flight a moment
	 * before dropping them.  A quiesced daemon hands its listening
	 * socket (our duplicate) back instead of closing it.
	 */
	if ((lfd = calloc(h->nd > 0 ? h->nd : 1, sizeof(*lfd))) != NULL)
		for (i = 0; i < h->nd; i++)
			lfd[i] = MHD_quiesce_daemon(h->d[i]);
	until = mono_ms() + STOP_GRACE_MS;
	while (h->nd > 0 && busy_connections(h) > 0 && mono_ms() < until)
		(void)nanosleep(&nap, NULL);
	if (h->have_sweeper) {
		pthread_mutex_lock(&h->mu);
		h->stopping = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->sweeper, NULL);
	}
	for (i = 0; i < h->nd; i++) {
		MHD_stop_daemon(h->d[i]);
		if (lfd != NULL && lfd[i] != MHD_INVALID_SOCKET)
			(void)close(lfd[i]);
	}
	free(lfd);
	for (i = 0; i < sizeof(h->shared) / sizeof(h->shared[0]); i++)
		if (h->shared[i].r != NULL)
			MHD_destroy_response(h->shared[i].r);
	if (h->have_cv)
		pthread_cond_destroy(&h->cv);
	if (h->have_ts_mu)
		pthread_mutex_destroy(&h->ts_mu);
	if (h->have_mu)
		pthread_mutex_destroy(&h->mu);
	free(h->d);
	free(h);
}

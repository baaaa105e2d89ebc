#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "fetch.h"
#include "hex.h"

/* A TUF repository redirects to a mirror or a CDN, not through a chain. */
#define FETCH_MAX_REDIRECTS 5
/* An error page or a redirect longer than this is not read to its end. */
#define FETCH_DISCARD_MAX (64 * 1024)
/* Local files are passed on in pieces of this size. */
#define FETCH_FILE_CHUNK (64 * 1024)
#define PROXY_SCHEME "socks5h://"

struct ferry_fetcher {
	struct ferry_fetch_opts opts;	/* strings point into this struct */
	char *proxy;			/* NULL: no proxy at all */
	char *user_agent;
	char *isolation;		/* the tag; NULL: "" */
	CURL *curl;			/* kept for its connection cache */
	const atomic_int *stop;		/* a multi's slot: its stop flag, */
	const char *stop_why;		/* and why it stopped ("" if asked) */
	uint64_t bytes;
	char errbuf[CURL_ERROR_SIZE];
};

/* One HTTP response's state, shared with the libcurl callbacks. */
struct xfer {
	struct ferry_fetcher *f;
	uint64_t offset;	/* resuming: the first byte asked for */
	int64_t range_start;	/* a 206's Content-Range start, or -1 */
	uint64_t max_len;
	uint64_t got;		/* body bytes passed on */
	size_t discarded;	/* body bytes of a non-2xx response */
	ferry_fetch_cb *cb;
	void *arg;
	int cb_r;		/* stopped: the callback returned this */
	int too_large;		/* stopped: more than max_len bytes */
	int no_range;		/* stopped: 200 to a range request */
	int bad_status;		/* stopped: a non-2xx response's long body */
	int status_ok;		/* the status is known to be 2xx */
};

/*
 * curl_global_init() is not thread-safe in every libcurl (only where
 * curl_version_info() reports CURL_VERSION_THREADSAFE), so Ferry calls it
 * exactly once, under pthread_once, however many threads make fetchers.
 * A program that also uses libcurl itself should call curl_global_init()
 * in main() before starting threads.  curl_global_cleanup() is never
 * called: another fetcher may still be alive, and exit frees everything.
 */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void
curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
ferry_fetch_opts_default(struct ferry_fetch_opts *opts)
{
	if (opts == NULL)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->min_speed = 1024;
	opts->low_speed_time = 30;
	opts->connect_timeout = 30;
	opts->total_timeout = 600;
	opts->proxy = NULL;
	opts->user_agent = NULL;
}

int
ferry_fetch_proxy_ok(const char *proxy)
{
	const char *p, *host;
	unsigned long port = 0;
	size_t n = 0;

	if (proxy == NULL ||
	    strncasecmp(proxy, PROXY_SCHEME, strlen(PROXY_SCHEME)) != 0)
		return 0;
	/*
	 * HOST:PORT and nothing else: no user:password@ (the SOCKS
	 * credentials are the fetcher's, for circuit isolation), no path,
	 * no port curl would have to guess.
	 */
	host = p = proxy + strlen(PROXY_SCHEME);
	if (*p == '[') {
		for (p++; isxdigit((unsigned char)*p) || *p == ':' || *p == '.';
		    p++)
			;
		if (*p++ != ']' || p - host < 4)
			return 0;
	} else {
		while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
			p++;
		if (p == host || p - host > 253)
			return 0;
	}
	if (*p++ != ':')
		return 0;
	for (; *p >= '0' && *p <= '9' && n < 5; p++, n++)
		port = port * 10 + (unsigned long)(*p - '0');
	return n > 0 && *p == '\0' && port >= 1 && port <= 65535;
}

int
ferry_fetcher_new(const struct ferry_fetch_opts *opts,
    struct ferry_fetcher **out)
{
	struct ferry_fetch_opts def;
	struct ferry_fetcher *f = NULL;
	const char *ua;
	int r = FERRY_ERR_INVALID_ARG;

	if (out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (opts == NULL) {
		ferry_fetch_opts_default(&def);
		opts = &def;
	}
	/* Zero would switch a bound off in libcurl: every fetch has all. */
	if (opts->min_speed == 0 || opts->low_speed_time == 0 ||
	    opts->connect_timeout == 0 || opts->total_timeout == 0)
		goto out;
	/*
	 * Only a SOCKS proxy that resolves names itself: any other kind
	 * would have names resolved here, which leaks .onion names and
	 * defeats the point of a proxy for anonymity.
	 */
	if (opts->proxy != NULL && !ferry_fetch_proxy_ok(opts->proxy))
		goto out;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK) {
		r = FERRY_ERR_FETCH;
		goto out;
	}
	r = FERRY_ERR_NOMEM;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto out;
	/* Through Tor, nothing that says which program is asking. */
	ua = opts->user_agent != NULL ? opts->user_agent :
	    opts->proxy != NULL ? NULL : "ferry/" PACKAGE_VERSION;
	if ((opts->proxy != NULL && (f->proxy = strdup(opts->proxy)) == NULL) ||
	    (opts->isolation != NULL &&
	    (f->isolation = strdup(opts->isolation)) == NULL) ||
	    (ua != NULL && (f->user_agent = strdup(ua)) == NULL) ||
	    (f->curl = curl_easy_init()) == NULL)
		goto out;
	f->opts = *opts;
	f->opts.proxy = f->proxy;
	f->opts.user_agent = f->user_agent;
	f->opts.isolation = f->isolation;
	*out = f;
	f = NULL; /* transferred */
	r = 0;
 out:
	ferry_fetcher_free(f);
	return r;
}

void
ferry_fetcher_free(struct ferry_fetcher *f)
{
	if (f == NULL)
		return;
	if (f->curl != NULL)
		curl_easy_cleanup(f->curl);
	free(f->proxy);
	free(f->user_agent);
	free(f->isolation);
	free(f);
}

int
ferry_fetcher_set_isolation(struct ferry_fetcher *f, const char *tag)
{
	const char *old = f->isolation != NULL ? f->isolation : "";
	char *copy = NULL;
	CURL *c;

	if (strcmp(old, tag != NULL ? tag : "") == 0)
		return 0;
	if ((tag != NULL && (copy = strdup(tag)) == NULL) ||
	    (c = curl_easy_init()) == NULL) {
		free(copy);
		return FERRY_ERR_NOMEM;
	}
	/* A new handle: the old one's connections go with it. */
	curl_easy_cleanup(f->curl);
	f->curl = c;
	free(f->isolation);
	f->isolation = copy;
	f->opts.isolation = copy;
	return 0;
}

void
ferry_fetch_isolation_creds(const char *tag, const char *scheme,
    const char *host, long port, char user[33], char pass[33])
{
	crypto_generichash_state st;
	unsigned char h[32];
	char portbuf[24];
	size_t i;

	snprintf(portbuf, sizeof(portbuf), "%ld", port);
	/* Each part with its NUL: no two (tag, origin) pairs hash alike. */
	crypto_generichash_init(&st, (const unsigned char *)"ferry-socks", 11,
	    sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)tag,
	    strlen(tag) + 1);
	crypto_generichash_update(&st, (const unsigned char *)scheme,
	    strlen(scheme) + 1);
	for (i = 0; host[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)host[i];

		ch = ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + 32) : ch;
		crypto_generichash_update(&st, &ch, 1);
	}
	crypto_generichash_update(&st, (const unsigned char *)"", 1);
	crypto_generichash_update(&st, (const unsigned char *)portbuf,
	    strlen(portbuf) + 1);
	crypto_generichash_final(&st, h, sizeof(h));
	ferry_hex_encode(h, 16, user);
	ferry_hex_encode(h + 16, 16, pass);
}

/* Set the SOCKS credentials for the request to h (see isolation). */
static CURLcode
set_isolation(struct ferry_fetcher *f, CURLU *h)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	char user[33], pass[33];
	CURLcode cc = CURLE_OUT_OF_MEMORY;

	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	ferry_fetch_isolation_creds(f->isolation != NULL ? f->isolation : "",
	    scheme, host, strtol(port, NULL, 10), user, pass);
	cc = curl_easy_setopt(f->curl, CURLOPT_PROXYUSERNAME, user);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(f->curl, CURLOPT_PROXYPASSWORD, pass);
 out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return cc;
}

uint64_t
ferry_fetcher_bytes(const struct ferry_fetcher *f)
{
	return f == NULL ? 0 : f->bytes;
}

/*
 * url as it may appear in an error detail: a URL can carry a user name
 * and password, which must not end up in a log.  NULL when out of memory.
 */
static char *
url_shown(const char *url)
{
	CURLU *h;
	char *s = NULL, *out;
	const char *sep, *at;
	size_t n;

	if (url[0] == '/')
		return strdup(url);
	if ((h = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
	    CURLUE_OK &&
	    curl_url_set(h, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
	    curl_url_set(h, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
	    curl_url_set(h, CURLUPART_OPTIONS, NULL, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_URL, &s, 0) == CURLUE_OK) {
		out = strdup(s);
		curl_free(s);
		curl_url_cleanup(h);
		return out;
	}
	curl_url_cleanup(h);
	/*
	 * Not a URL libcurl parses, so it is quoted as it is, except for
	 * what may be credentials: anything before an '@' in the authority.
	 */
	if ((sep = strstr(url, "://")) == NULL)
		return strdup(url);
	n = strcspn(sep + 3, "/?#");
	at = memrchr(sep + 3, '@', n);
	if (at == NULL)
		return strdup(url);
	n = (size_t)(sep + 3 - url);
	if ((out = malloc(n + strlen(at) + 4)) == NULL)
		return NULL;
	memcpy(out, url, n);
	memcpy(out + n, "...", 3);
	strcpy(out + n + 3, at);
	return out;
}

/* The detail for a callback's non-zero return r. */
static int
stopped(struct ferry_error *err, int r, const char *where)
{
	return ferry_error_set(err, r, "%s: stopped by the receiver (%s)",
	    where, ferry_strerror(r));
}

/* The whole of a local file, path already decoded. */
static int
fetch_file(struct ferry_fetcher *f, const char *path, const char *where,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    struct ferry_error *err)
{
	struct stat st;
	unsigned char *buf = NULL;
	uint64_t got = offset;
	ssize_t n;
	int fd, r = FERRY_ERR_FETCH;

	/* Non-blocking, so that a FIFO in its place cannot hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ferry_error_set(err, FERRY_ERR_NOT_FOUND,
			    "%s: no such file", where);
		return ferry_error_set(err, FERRY_ERR_FETCH, "%s: %s", where,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		r = ferry_error_set(err, FERRY_ERR_FETCH, "%s: %s", where,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ferry_error_set(err, FERRY_ERR_FETCH,
		    "%s: not a regular file", where);
		goto out;
	}
	/* A first guard only: the file may grow while it is read. */
	if ((uint64_t)st.st_size > max_len) {
		r = ferry_error_set(err, FERRY_ERR_TOO_LARGE,
		    "%s: more than %" PRIu64 " bytes", where, max_len);
		goto out;
	}
	if (offset > 0 && ((uint64_t)st.st_size < offset ||
	    lseek(fd, (off_t)offset, SEEK_SET) == -1)) {
		r = ferry_error_set(err, FERRY_ERR_FETCH, "%s: cannot resume "
		    "from byte %" PRIu64 " of %lld", where, offset,
		    (long long)st.st_size);
		goto out;
	}
	if ((buf = malloc(FETCH_FILE_CHUNK)) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto out;
	}
	/* A regular file ignores O_NONBLOCK: read() blocks as usual. */
	for (;;) {
		n = read(fd, buf, FETCH_FILE_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = ferry_error_set(err, FERRY_ERR_FETCH, "%s: %s",
			    where, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		/* A multi that is stopped waits for no file's end. */
		if (f->stop != NULL && atomic_load(f->stop)) {
			r = ferry_error_set(err, FERRY_ERR_FETCH,
			    "%s: stopped%s", where, f->stop_why);
			goto out;
		}
		f->bytes += (uint64_t)n;
		if ((uint64_t)n > max_len - got) {
			r = ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "%s: more than %" PRIu64 " bytes", where, max_len);
			goto out;
		}
		got += (uint64_t)n;
		if ((r = cb(arg, buf, (size_t)n)) != 0) {
			r = stopped(err, r, where);
			goto out;
		}
	}
	r = 0;
 out:
	free(buf);
	close(fd);
	return r;
}

/* A file:// URL: only the path counts, with its %XX escapes decoded. */
static int
fetch_file_url(struct ferry_fetcher *f, const char *url, const char *where,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    struct ferry_error *err)
{
	CURLU *h;
	char *path = NULL;
	int r;

	if ((h = curl_url()) == NULL)
		return FERRY_ERR_NOMEM;
	/*
	 * libcurl refuses a host other than localhost, and a %00 when
	 * decoding, so the path is the whole name of one local file.
	 */
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
	    CURLUE_OK) {
		r = ferry_error_set(err, FERRY_ERR_FETCH,
		    "%s: not a usable file URL", where);
		goto out;
	}
	r = fetch_file(f, path, where, offset, max_len, cb, arg, err);
 out:
	curl_free(path);
	curl_url_cleanup(h);
	return r;
}

/* host (as libcurl will resolve it) is in the .onion domain. */
static int
host_is_onion(const char *host)
{
	size_t n = strlen(host);

	/* "x.onion." is the same name, fully qualified. */
	while (n > 0 && host[n - 1] == '.')
		n--;
	return n >= 6 && strncasecmp(host + n - 6, ".onion", 6) == 0;
}

/*
 * *host, a name in h, in the form libcurl resolves: an international
 * name mapped to ASCII first, as "x\u3002onion" becomes "x.onion".
 * libcurl 7.88's CURLU_PUNYCODE fails for every non-ASCII name, so such
 * a name is -1 (*host NULL) rather than guessed at.  The caller frees
 * *host with curl_free().
 */
static int
ascii_host(CURLU *h, char **host)
{
	const unsigned char *p;

	for (p = (const unsigned char *)*host; *p != '\0'; p++)
		if (*p >= 0x80)
			break;
	if (*p == '\0')
		return 0;
	curl_free(*host);
	*host = NULL;
	return curl_url_get(h, CURLUPART_HOST, host, CURLU_PUNYCODE) ==
	    CURLUE_OK ? 0 : -1;
}

int
ferry_fetch_url_needs_proxy(const char *url)
{
	char *host = NULL;
	CURLU *h;
	int r = 0;

	if (url == NULL || (h = curl_url()) == NULL)
		return 0;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	/* As http_url() sees it. */
	r = ascii_host(h, &host) != 0 || host_is_onion(host);
 out:
	curl_free(host);
	curl_url_cleanup(h);
	return r;
}

/*
 * Parse url into *out for libcurl, refusing what libcurl must never be
 * given: another scheme, or a .onion host that it would resolve itself.
 */
static int
http_url(const struct ferry_fetcher *f, const char *url, const char *where,
    CURLU **out, struct ferry_error *err)
{
	CURLU *h;
	char *scheme = NULL, *host = NULL;
	int r = FERRY_ERR_FETCH;

	if ((h = curl_url()) == NULL)
		return FERRY_ERR_NOMEM;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		r = ferry_error_set(err, FERRY_ERR_FETCH, "%s: not a usable URL",
		    where);
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0) {
		r = ferry_error_set(err, FERRY_ERR_FETCH,
		    "%s: unsupported URL scheme \"%s\"", where, scheme);
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		r = ferry_error_set(err, FERRY_ERR_FETCH, "%s: no host name",
		    where);
		goto out;
	}
	if (f->proxy == NULL) {
		/* The check must see the name libcurl would resolve. */
		if (ascii_host(h, &host) != 0) {
			r = ferry_error_set(err, FERRY_ERR_FETCH,
			    "%s: refusing a non-ASCII host name without a "
			    "socks5h:// proxy", where);
			goto out;
		}
		if (host_is_onion(host)) {
			r = ferry_error_set(err, FERRY_ERR_FETCH,
			    "%s: refusing to resolve .onion host without a "
			    "socks5h:// proxy", where);
			goto out;
		}
	}
	*out = h;
	h = NULL; /* transferred */
	r = 0;
 out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	return r;
}

/* Pass a 2xx body on, within the limit; stop on anything else. */
static size_t
write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;
	long status = 0;

	x->f->bytes += n;
	if (!x->status_ok) {
		if (curl_easy_getinfo(x->f->curl, CURLINFO_RESPONSE_CODE,
		    &status) == CURLE_OK && status >= 200 && status <= 299)
			x->status_ok = 1;
		else {
			/*
			 * An error page or a redirect's body is of no use,
			 * but reading a short one to its end keeps the
			 * connection (a TUF client asks for the next root
			 * version until it gets a 404), and libcurl only
			 * reports where a redirect goes once it has ended.
			 */
			if (n > FETCH_DISCARD_MAX - x->discarded) {
				x->bad_status = 1;
				return 0;
			}
			x->discarded += n;
			return n;
		}
	}
	if (n > x->max_len - x->got) {
		x->too_large = 1;
		return 0;
	}
	x->got += n;
	if ((x->cb_r = x->cb(x->arg, (const unsigned char *)p, n)) != 0)
		return 0;
	return n;
}

/*
 * Stop at the end of a 2xx response's headers when its Content-Length is
 * over the limit, before any of the body is read.  (CURLOPT_MAXFILESIZE
 * would do this too, but in libcurl 7.88 it also fails redirects and
 * error pages with long bodies, hiding their status.)
 */
static size_t
header_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;
	curl_off_t cl = -1;
	long status = 0;

	x->f->bytes += n;
	if (n > 20 && strncasecmp(p, "content-range:", 14) == 0) {
		/* "Content-Range: bytes START-END/TOTAL" */
		char line[128], *q, *end;
		unsigned long long v;

		snprintf(line, sizeof(line), "%.*s", (int)(n < 127 ? n : 127),
		    p);
		q = line + 14;
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, "bytes ", 6) == 0) {
			errno = 0;
			v = strtoull(q + 6, &end, 10);
			if (errno == 0 && end != q + 6 && *end == '-' &&
			    v <= INT64_MAX)
				x->range_start = (int64_t)v;
		}
		return n;
	}
	if (n == 0 || (p[0] != '\r' && p[0] != '\n'))
		return n;
	/* Resuming, a whole file from the start is of no use. */
	if (x->offset > 0 && curl_easy_getinfo(x->f->curl,
	    CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200) {
		x->no_range = 1;
		return 0;
	}
	if (curl_easy_getinfo(x->f->curl, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK && status >= 200 && status <= 299 &&
	    curl_easy_getinfo(x->f->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	    &cl) == CURLE_OK && cl >= 0 && (uint64_t)cl > x->max_len) {
		x->too_large = 1;
		return 0;
	}
	return n;
}

/* v as a libcurl option value, where long may have 32 bits. */
static long
as_long(uint64_t v)
{
	return v > (uint64_t)LONG_MAX ? LONG_MAX : (long)v;
}

/* Milliseconds on a clock that never goes back. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Set every option for one request: curl_easy_reset() first, so that
 * nothing from the previous fetch carries over but the connection cache.
 */
static CURLcode
http_setopts(struct ferry_fetcher *f, CURLU *h, struct xfer *x,
    int64_t timeout_ms, int fresh)
{
	CURL *c = f->curl;
	CURLcode cc = CURLE_OK;

#define SETOPT(o, v) do {						\
	if (cc == CURLE_OK)						\
		cc = curl_easy_setopt(c, o, v);				\
} while (0)
	curl_easy_reset(c);
	f->errbuf[0] = '\0';
	SETOPT(CURLOPT_ERRORBUFFER, f->errbuf);
	/* libcurl uses the very parse that http_url() checked. */
	SETOPT(CURLOPT_CURLU, h);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* Redirects are followed by hand, so each target is checked. */
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FAILONERROR, 0L);
	SETOPT(CURLOPT_CONNECTTIMEOUT, as_long(f->opts.connect_timeout));
	SETOPT(CURLOPT_TIMEOUT_MS, as_long((uint64_t)timeout_ms));
	SETOPT(CURLOPT_LOW_SPEED_LIMIT, as_long(f->opts.min_speed));
	SETOPT(CURLOPT_LOW_SPEED_TIME, as_long(f->opts.low_speed_time));
	SETOPT(CURLOPT_USERAGENT, f->user_agent);
	/*
	 * Lengths and hashes are of the bytes as served: no decoding, even
	 * when a server sends Content-Encoding unasked (no Accept-Encoding
	 * is ever set).
	 */
	SETOPT(CURLOPT_HTTP_CONTENT_DECODING, 0L);
	/*
	 * The proxy is the configured one or none: "" overrides http_proxy
	 * and friends from the environment, and NOPROXY "" overrides
	 * no_proxy, which could otherwise send traffic around Tor.
	 */
	SETOPT(CURLOPT_PROXY, f->proxy != NULL ? f->proxy : "");
	SETOPT(CURLOPT_NOPROXY, "");
	if (cc == CURLE_OK && f->proxy != NULL)
		cc = set_isolation(f, h);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, x);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, x);
	if (fresh)
		SETOPT(CURLOPT_FRESH_CONNECT, 1L);
	if (x->offset > 0)
		SETOPT(CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->offset);
#undef SETOPT
	return cc;
}

/* The error for a transfer that libcurl ended with CURLE_OPERATION_TIMEDOUT. */
static int
http_timeout(struct ferry_fetcher *f, const char *where, int64_t deadline,
    struct ferry_error *err)
{
	curl_off_t connected = 0, pretransfer = 0;

	/* libcurl's clock started after ours, so ours is never behind. */
	if (now_ms() >= deadline)
		return ferry_error_set(err, FERRY_ERR_TIMEOUT,
		    "%s: not finished within %" PRIu32 " s", where,
		    f->opts.total_timeout);
	/*
	 * A reused connection reports a connect time of 0; only when the
	 * request was never even sent did the connection not happen.
	 */
	if (curl_easy_getinfo(f->curl, CURLINFO_CONNECT_TIME_T, &connected) ==
	    CURLE_OK && connected == 0 &&
	    curl_easy_getinfo(f->curl, CURLINFO_PRETRANSFER_TIME_T,
	    &pretransfer) == CURLE_OK && pretransfer == 0)
		return ferry_error_set(err, FERRY_ERR_TIMEOUT,
		    "%s: no connection within %" PRIu32 " s", where,
		    f->opts.connect_timeout);
	return ferry_error_set(err, FERRY_ERR_TIMEOUT,
	    "%s: slower than %" PRIu32 " bytes/s for %" PRIu32 " s", where,
	    f->opts.min_speed, f->opts.low_speed_time);
}

/* "url" or "url, redirected to url2", for details; NULL if out of memory. */
static char *
redirected_where(const char *shown, const char *url)
{
	char *s, *out;
	size_t n;

	if ((s = url_shown(url)) == NULL)
		return NULL;
	n = strlen(shown) + strlen(s) + sizeof(", redirected to ");
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s, redirected to %s", shown, s);
	free(s);
	return out;
}

/*
 * Whether a request failed because of what an earlier response left on a
 * reused connection.  A server that sends more than its Content-Length
 * leaves the excess in the socket, and libcurl 7.88 keeps the connection
 * all the same: the next request on it reads the excess as its response
 * ("Received HTTP/0.9 when not allowed").  Such a request is worth one
 * more try on a new connection, as browsers do.
 */
static int
http_stale(struct ferry_fetcher *f, CURLcode cc, const struct xfer *x)
{
	long connects = -1;

	if (x->status_ok || x->discarded > 0 || x->cb_r != 0 || x->too_large)
		return 0;
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:	/* HTTP/0.9 */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		break;
	default:
		return 0;
	}
	/* No new connection: the request went over a reused one. */
	return curl_easy_getinfo(f->curl, CURLINFO_NUM_CONNECTS, &connects) ==
	    CURLE_OK && connects == 0;
}

/*
 * Make f's handle ready for one request for h, on a new connection if
 * fresh, into x and within the deadline.
 */
static int
http_prepare(struct ferry_fetcher *f, CURLU *h, const char *where,
    int64_t deadline, struct xfer *x, int fresh, struct ferry_error *err)
{
	CURLcode cc;
	int64_t left;

	if ((left = deadline - now_ms()) <= 0)
		return ferry_error_set(err, FERRY_ERR_TIMEOUT,
		    "%s: not finished within %" PRIu32 " s", where,
		    f->opts.total_timeout);
	x->got = 0;
	x->discarded = 0;
	x->range_start = -1;
	x->too_large = x->bad_status = x->status_ok = x->cb_r = 0;
	x->no_range = 0;
	if ((cc = http_setopts(f, h, x, left, fresh)) != CURLE_OK) {
		(void)curl_easy_setopt(f->curl, CURLOPT_CURLU, NULL);
		return ferry_error_set(err, cc == CURLE_OUT_OF_MEMORY ?
		    FERRY_ERR_NOMEM : FERRY_ERR_FETCH, "%s: libcurl: %s", where,
		    curl_easy_strerror(cc));
	}
	return 0;
}

/*
 * Perform the request for h into x within the deadline, once more on a
 * new connection if a reused one turned out stale.
 */
static int
http_perform(struct ferry_fetcher *f, CURLU *h, const char *where,
    int64_t deadline, struct xfer *x, CURLcode *ccp, struct ferry_error *err)
{
	CURLcode cc;
	int fresh, r;

	for (fresh = 0;; fresh = 1) {
		if ((r = http_prepare(f, h, where, deadline, x, fresh,
		    err)) != 0)
			return r;
		cc = curl_easy_perform(f->curl);
		/* h is freed soon: libcurl must not keep pointing at it. */
		(void)curl_easy_setopt(f->curl, CURLOPT_CURLU, NULL);
		if (fresh || !http_stale(f, cc, x))
			break;
	}
	*ccp = cc;
	return 0;
}

/*
 * What a SOCKS5 reply code means, said plainly: RFC 1928's, and those
 * Tor's SOCKS port sends with ExtendedErrors (tor's prop 304).  NULL for
 * a code without one.
 */
static const char *
socks_reason(long code)
{
	switch (code) {
	case 0x01: return "the proxy failed";
	case 0x02: return "the proxy's rules refuse that connection";
	case 0x03: return "the proxy has no network";
	case 0x04: return "the host is unreachable through the proxy";
	case 0x05: return "the host refused the connection";
	case 0x06: return "the connection timed out at the proxy";
	case 0xF0: return "Tor found no descriptor for the onion service "
	    "(it is not running, not yet published, or the address is wrong)";
	case 0xF1: return "Tor got an invalid descriptor for the onion "
	    "service";
	case 0xF2: return "Tor could not introduce itself to the onion "
	    "service";
	case 0xF3: return "Tor's rendezvous with the onion service failed";
	case 0xF4: return "the onion service requires client authorization, "
	    "and this device's tor holds no key for it (ClientOnionAuthDir)";
	case 0xF5: return "the onion service refused this device's client "
	    "authorization key (revoked, or the wrong key)";
	case 0xF6: return "Tor says the onion address is invalid";
	case 0xF7: return "Tor's introduction to the onion service timed out";
	default: return NULL;
	}
}

/*
 * The detail of a request that failed at the SOCKS proxy: libcurl says
 * "Can't complete SOCKS5 connection to HOST. (CODE)"; say what CODE is.
 */
static int
socks_error(struct ferry_fetcher *f, const char *where, struct ferry_error *err)
{
	const char *open = strrchr(f->errbuf, '('), *why;
	char *end;
	long code;

	if (open == NULL)
		return 0;
	code = strtol(open + 1, &end, 10);
	if (end == open + 1 || *end != ')' || (why = socks_reason(code)) ==
	    NULL)
		return 0;
	return ferry_error_set(err, FERRY_ERR_FETCH, "%s: %s (SOCKS reply "
	    "0x%02lx)", where, why, code);
}

/*
 * What a finished request came to, from how libcurl ended it (cc) and
 * what the callbacks saw.  0 with *next set: follow the redirect to
 * *next (the caller frees it).  0 with *next NULL: done.
 */
static int
http_result(struct ferry_fetcher *f, const char *where, int64_t deadline,
    struct xfer *x, CURLcode cc, char **next, struct ferry_error *err)
{
	char *loc = NULL;
	long status = 0;

	*next = NULL;
	(void)curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->cb_r != 0)
		return stopped(err, x->cb_r, where);
	if (x->no_range)
		return ferry_error_set(err, FERRY_ERR_FETCH, "%s: cannot resume "
		    "from byte %" PRIu64 " (HTTP 200: no byte ranges)", where,
		    x->offset);
	if (x->too_large)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE,
		    "%s: more than %" PRIu64 " bytes", where, x->max_len);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return http_timeout(f, where, deadline, err);
	if (x->offset > 0 && (cc == CURLE_RANGE_ERROR || status == 416 ||
	    (status == 206 && x->range_start != (int64_t)x->offset)))
		return ferry_error_set(err, FERRY_ERR_FETCH, "%s: cannot resume "
		    "from byte %" PRIu64 " (HTTP %ld%s)", where, x->offset,
		    status, cc == CURLE_RANGE_ERROR ? ", no byte ranges" :
		    status == 206 ? ", another range" : "");
	if (cc == CURLE_PROXY && socks_error(f, where, err) != 0)
		return FERRY_ERR_FETCH;
	/* Through socks5h://, the one connection made here is the proxy's. */
	if (cc == CURLE_COULDNT_CONNECT && f->proxy != NULL)
		return ferry_error_set(err, FERRY_ERR_FETCH, "%s: cannot reach "
		    "the proxy %s (%s): is tor running, with its SOCKSPort "
		    "there?", where, f->proxy, f->errbuf[0] != '\0' ?
		    f->errbuf : curl_easy_strerror(cc));
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && x->bad_status))
		return ferry_error_set(err, cc == CURLE_OUT_OF_MEMORY ?
		    FERRY_ERR_NOMEM : FERRY_ERR_FETCH, "%s: %s", where,
		    f->errbuf[0] != '\0' ? f->errbuf : curl_easy_strerror(cc));
	if (status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308) {
		if (x->bad_status)
			return ferry_error_set(err, FERRY_ERR_FETCH,
			    "%s: HTTP %ld with more than %d bytes of body",
			    where, status, FETCH_DISCARD_MAX);
		/* Where FOLLOWLOCATION would have gone, resolved against url. */
		if (curl_easy_getinfo(f->curl, CURLINFO_REDIRECT_URL, &loc) !=
		    CURLE_OK || loc == NULL)
			return ferry_error_set(err, FERRY_ERR_FETCH,
			    "%s: HTTP %ld without a usable Location", where,
			    status);
		return (*next = strdup(loc)) == NULL ? FERRY_ERR_NOMEM : 0;
	}
	if (status == 403 || status == 404)
		return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: HTTP %ld",
		    where, status);
	if (status < 200 || status > 299)
		return ferry_error_set(err, FERRY_ERR_FETCH, "%s: HTTP %ld",
		    where, status);
	return 0;
}

/*
 * One request of an HTTP fetch.  0 with *next set: follow the redirect
 * to *next (the caller frees it).  0 with *next NULL: done.
 */
static int
http_once(struct ferry_fetcher *f, const char *url, const char *where,
    int64_t deadline, struct xfer *x, char **next, struct ferry_error *err)
{
	CURLU *h = NULL;
	CURLcode cc = CURLE_OK;
	int r;

	*next = NULL;
	if ((r = http_url(f, url, where, &h, err)) != 0)
		return r;
	if ((r = http_perform(f, h, where, deadline, x, &cc, err)) == 0)
		r = http_result(f, where, deadline, x, cc, next, err);
	curl_url_cleanup(h);
	return r;
}

/* An http:// or https:// URL, following up to FETCH_MAX_REDIRECTS. */
static int
fetch_http(struct ferry_fetcher *f, const char *url, const char *shown,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    struct ferry_error *err)
{
	struct xfer x;
	char *cur = NULL, *next = NULL, *where = NULL;
	int64_t deadline;
	int hops, r;

	memset(&x, 0, sizeof(x));
	x.f = f;
	x.offset = offset;
	x.max_len = max_len - offset;
	x.cb = cb;
	x.arg = arg;
	/* One deadline for the fetch, however many redirects it takes. */
	deadline = now_ms() + (int64_t)f->opts.total_timeout * 1000;
	for (hops = 0;; hops++) {
		r = http_once(f, cur != NULL ? cur : url,
		    where != NULL ? where : shown, deadline, &x, &next, err);
		if (r != 0 || next == NULL)
			break;
		if (hops == FETCH_MAX_REDIRECTS) {
			r = ferry_error_set(err, FERRY_ERR_FETCH,
			    "%s: more than %d redirects", shown,
			    FETCH_MAX_REDIRECTS);
			break;
		}
		free(cur);
		cur = next;
		next = NULL;
		free(where);
		if ((where = redirected_where(shown, cur)) == NULL) {
			r = FERRY_ERR_NOMEM;
			break;
		}
	}
	free(next);
	free(cur);
	free(where);
	return r;
}

int
ferry_fetch_stream_from(struct ferry_fetcher *f, const char *url,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    struct ferry_error *err)
{
	char *shown;
	int r;

	if (f == NULL || url == NULL || cb == NULL || offset > max_len)
		return FERRY_ERR_INVALID_ARG;
	if ((shown = url_shown(url)) == NULL)
		return FERRY_ERR_NOMEM;
	if (url[0] == '/')
		r = fetch_file(f, url, shown, offset, max_len, cb, arg, err);
	else if (strncasecmp(url, "file:", 5) == 0)
		r = fetch_file_url(f, url, shown, offset, max_len, cb, arg,
		    err);
	else
		r = fetch_http(f, url, shown, offset, max_len, cb, arg, err);
	free(shown);
	return r;
}

int
ferry_fetch_stream(struct ferry_fetcher *f, const char *url,
    uint64_t max_len, ferry_fetch_cb *cb, void *arg, struct ferry_error *err)
{
	return ferry_fetch_stream_from(f, url, 0, max_len, cb, arg, err);
}

/* ferry_fetch_buf()'s growing buffer. */
struct fetch_buf {
	unsigned char *p;
	size_t len, cap;
	size_t limit;		/* the most ever needed: max_len + 1 */
};

static int
buf_cb(void *arg, const unsigned char *buf, size_t len)
{
	struct fetch_buf *b = arg;
	unsigned char *np;
	size_t need, ncap;

	/* ferry_fetch_stream() never passes more than max_len in all. */
	if (len > b->limit - 1 - b->len)
		return FERRY_ERR_INTERNAL;
	need = b->len + len + 1;
	if (need > b->cap) {
		ncap = b->cap == 0 ? 16384 : b->cap;
		while (ncap < need)
			ncap = ncap > b->limit / 2 ? b->limit : ncap * 2;
		if (ncap > b->limit)
			ncap = b->limit;
		if ((np = realloc(b->p, ncap)) == NULL)
			return FERRY_ERR_NOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	return 0;
}

int
ferry_fetch_buf(struct ferry_fetcher *f, const char *url, size_t max_len,
    unsigned char **out, size_t *outlen, struct ferry_error *err)
{
	struct fetch_buf b;
	int r;

	if (out == NULL || outlen == NULL || max_len >= SIZE_MAX - 1)
		return FERRY_ERR_INVALID_ARG;
	memset(&b, 0, sizeof(b));
	b.limit = max_len + 1;
	if ((r = ferry_fetch_stream(f, url, max_len, buf_cb, &b, err)) != 0)
		goto out;
	if (b.p == NULL && (b.p = malloc(1)) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto out;
	}
	b.p[b.len] = '\0';
	*out = b.p;
	*outlen = b.len;
	b.p = NULL; /* transferred */
	r = 0;
 out:
	free(b.p);
	return r;
}

/*
 * The multi interface.  Each slot is a fetcher of its own (a libcurl easy
 * handle, its error buffer, its byte count) that runs one fetch at a
 * time; the requests, redirects and checks are the very ones of
 * fetch_http(), driven by curl_multi_perform() instead of
 * curl_easy_perform().
 */
struct mjob {
	struct mjob *next;
	char *url, *shown;	/* as given, and as details show it */
	char *cur, *where;	/* after a redirect: where to, and the detail */
	ferry_fetch_done_cb *done;
	void *done_arg;
	struct xfer x;
	CURLU *h;		/* the request in flight's URL */
	int64_t deadline;
	int hops, fresh;
	int r;
	struct ferry_error err;
};

struct ferry_fetch_multi {
	CURLM *cm;
	struct ferry_fetcher *slot[FERRY_FETCH_MULTI_MAX];
	struct mjob *run[FERRY_FETCH_MULTI_MAX];	/* NULL: free */
	unsigned nslots, nrunning;
	struct mjob *wait, **wait_tail;		/* queued, not started */
	struct mjob *done, **done_tail;		/* ended, not reported */
	atomic_int stopped;			/* set from any thread */
	char why[CURL_ERROR_SIZE + 64];		/* " (libcurl: ...)" or "" */
};

static void
mjob_free(struct mjob *j)
{
	if (j == NULL)
		return;
	curl_url_cleanup(j->h);
	free(j->url);
	free(j->shown);
	free(j->cur);
	free(j->where);
	free(j);
}

int
ferry_fetch_multi_new(const struct ferry_fetch_opts *opts, unsigned parallel,
    struct ferry_fetch_multi **out)
{
	struct ferry_fetch_multi *m;
	unsigned i;
	int r;

	if (out == NULL || parallel == 0 || parallel > FERRY_FETCH_MULTI_MAX)
		return FERRY_ERR_INVALID_ARG;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return FERRY_ERR_NOMEM;
	atomic_init(&m->stopped, 0);
	m->wait_tail = &m->wait;
	m->done_tail = &m->done;
	for (i = 0; i < parallel; i++) {
		if ((r = ferry_fetcher_new(opts, &m->slot[i])) != 0)
			goto fail;
		m->slot[i]->stop = &m->stopped;
		m->slot[i]->stop_why = m->why;
		m->nslots++;
	}
	/* After the fetchers: curl_global_init() has been called. */
	r = FERRY_ERR_NOMEM;
	if ((m->cm = curl_multi_init()) == NULL)
		goto fail;
	*out = m;
	return 0;
 fail:
	ferry_fetch_multi_free(m);
	return r;
}

/* Take the job on slot i off its handle and out of the multi. */
static void
mjob_detach(struct ferry_fetch_multi *m, unsigned i)
{
	if (m->run[i] == NULL)
		return;
	(void)curl_multi_remove_handle(m->cm, m->slot[i]->curl);
	(void)curl_easy_setopt(m->slot[i]->curl, CURLOPT_CURLU, NULL);
	curl_url_cleanup(m->run[i]->h);
	m->run[i]->h = NULL;
	m->run[i] = NULL;
	m->nrunning--;
}

void
ferry_fetch_multi_free(struct ferry_fetch_multi *m)
{
	struct mjob *j;
	unsigned i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nslots; i++) {
		j = m->run[i];
		mjob_detach(m, i);
		mjob_free(j);
	}
	while ((j = m->wait) != NULL) {
		m->wait = j->next;
		mjob_free(j);
	}
	while ((j = m->done) != NULL) {
		m->done = j->next;
		mjob_free(j);
	}
	if (m->cm != NULL)
		(void)curl_multi_cleanup(m->cm);
	for (i = 0; i < m->nslots; i++)
		ferry_fetcher_free(m->slot[i]);
	free(m);
}

uint64_t
ferry_fetch_multi_bytes(const struct ferry_fetch_multi *m)
{
	uint64_t n = 0;
	unsigned i;

	if (m == NULL)
		return 0;
	for (i = 0; i < m->nslots; i++)
		n += m->slot[i]->bytes;
	return n;
}

int
ferry_fetch_multi_add(struct ferry_fetch_multi *m, const char *url,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    ferry_fetch_done_cb *done, void *done_arg)
{
	struct mjob *j;

	if (m == NULL || url == NULL || cb == NULL || done == NULL ||
	    offset > max_len)
		return FERRY_ERR_INVALID_ARG;
	if (atomic_load(&m->stopped))
		return FERRY_ERR_FETCH;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return FERRY_ERR_NOMEM;
	if ((j->url = strdup(url)) == NULL ||
	    (j->shown = url_shown(url)) == NULL) {
		mjob_free(j);
		return FERRY_ERR_NOMEM;
	}
	j->x.offset = offset;
	j->x.max_len = max_len - offset;
	j->x.cb = cb;
	j->x.arg = arg;
	j->done = done;
	j->done_arg = done_arg;
	*m->wait_tail = j;
	m->wait_tail = &j->next;
	return 0;
}

/* Job j has ended with r (its detail in j->err): to be reported. */
static void
mjob_end(struct ferry_fetch_multi *m, struct mjob *j, int r)
{
	j->r = r;
	j->next = NULL;
	*m->done_tail = j;
	m->done_tail = &j->next;
}

/* Send job j's next request (its URL, or where it was sent) on slot i. */
static void
mjob_request(struct ferry_fetch_multi *m, unsigned i, struct mjob *j)
{
	struct ferry_fetcher *f = m->slot[i];
	const char *where = j->where != NULL ? j->where : j->shown;
	int r;

	if (j->h == NULL && (r = http_url(f, j->cur != NULL ? j->cur :
	    j->url, where, &j->h, &j->err)) != 0)
		goto fail;
	if ((r = http_prepare(f, j->h, where, j->deadline, &j->x, j->fresh,
	    &j->err)) != 0)
		goto fail;
	if (curl_multi_add_handle(m->cm, f->curl) != CURLM_OK) {
		(void)curl_easy_setopt(f->curl, CURLOPT_CURLU, NULL);
		r = ferry_error_set(&j->err, FERRY_ERR_FETCH, "%s: libcurl "
		    "cannot add the transfer", where);
		goto fail;
	}
	m->run[i] = j;
	m->nrunning++;
	return;
 fail:
	curl_url_cleanup(j->h);
	j->h = NULL;
	mjob_end(m, j, r);
}

/* Start job j on free slot i: a local file is read here and now. */
static void
mjob_start(struct ferry_fetch_multi *m, unsigned i, struct mjob *j)
{
	struct ferry_fetcher *f = m->slot[i];
	uint64_t max_len = j->x.offset + j->x.max_len;

	j->x.f = f;
	j->deadline = now_ms() + (int64_t)f->opts.total_timeout * 1000;
	if (j->url[0] == '/')
		mjob_end(m, j, fetch_file(f, j->url, j->shown, j->x.offset,
		    max_len, j->x.cb, j->x.arg, &j->err));
	else if (strncasecmp(j->url, "file:", 5) == 0)
		mjob_end(m, j, fetch_file_url(f, j->url, j->shown, j->x.offset,
		    max_len, j->x.cb, j->x.arg, &j->err));
	else
		mjob_request(m, i, j);
}

/* The transfer on slot i ended as cc: done, tried again, or redirected. */
static void
mjob_ended(struct ferry_fetch_multi *m, unsigned i, CURLcode cc)
{
	struct ferry_fetcher *f = m->slot[i];
	struct mjob *j = m->run[i];
	const char *where = j->where != NULL ? j->where : j->shown;
	char *next = NULL;
	int r;

	(void)curl_multi_remove_handle(m->cm, f->curl);
	(void)curl_easy_setopt(f->curl, CURLOPT_CURLU, NULL);
	m->run[i] = NULL;
	m->nrunning--;
	/* Once more on a new connection, as http_perform() does. */
	if (!j->fresh && http_stale(f, cc, &j->x)) {
		j->fresh = 1;
		mjob_request(m, i, j);
		return;
	}
	r = http_result(f, where, j->deadline, &j->x, cc, &next, &j->err);
	curl_url_cleanup(j->h);
	j->h = NULL;
	if (r != 0 || next == NULL) {
		mjob_end(m, j, r);
		return;
	}
	if (j->hops == FETCH_MAX_REDIRECTS) {
		free(next);
		mjob_end(m, j, ferry_error_set(&j->err, FERRY_ERR_FETCH,
		    "%s: more than %d redirects", j->shown,
		    FETCH_MAX_REDIRECTS));
		return;
	}
	j->hops++;
	free(j->cur);
	j->cur = next;
	free(j->where);
	if ((j->where = redirected_where(j->shown, j->cur)) == NULL) {
		mjob_end(m, j, FERRY_ERR_NOMEM);
		return;
	}
	j->fresh = 0;
	mjob_request(m, i, j);
}

/* Call the done callbacks of the jobs that ended, in the order they did. */
static void
mjob_report(struct ferry_fetch_multi *m)
{
	struct mjob *j;

	while ((j = m->done) != NULL) {
		if ((m->done = j->next) == NULL)
			m->done_tail = &m->done;
		j->done(j->done_arg, j->r, &j->err);
		mjob_free(j);
	}
}

/* End every job, running or queued, as stopped. */
static void
mjob_stop_all(struct ferry_fetch_multi *m)
{
	struct mjob *j;
	unsigned i;

	atomic_store(&m->stopped, 1);
	for (i = 0; i < m->nslots; i++) {
		if ((j = m->run[i]) == NULL)
			continue;
		mjob_detach(m, i);
		mjob_end(m, j, ferry_error_set(&j->err, FERRY_ERR_FETCH,
		    "%s: stopped%s", j->shown, m->why));
	}
	while ((j = m->wait) != NULL) {
		if ((m->wait = j->next) == NULL)
			m->wait_tail = &m->wait;
		mjob_end(m, j, ferry_error_set(&j->err, FERRY_ERR_FETCH,
		    "%s: stopped%s", j->shown, m->why));
	}
}

int
ferry_fetch_multi_stopped(const struct ferry_fetch_multi *m)
{
	return m != NULL && atomic_load(&m->stopped);
}

void
ferry_fetch_multi_stop(struct ferry_fetch_multi *m)
{
	if (m == NULL)
		return;
	atomic_store(&m->stopped, 1);
	/* A run waiting in curl_multi_poll() sees it at once. */
	(void)curl_multi_wakeup(m->cm);
}

/* The slot that runs the transfer on easy handle c, or nslots. */
static unsigned
mjob_slot(const struct ferry_fetch_multi *m, const CURL *c)
{
	unsigned i;

	for (i = 0; i < m->nslots; i++)
		if (m->run[i] != NULL && m->slot[i]->curl == c)
			break;
	return i;
}

int
ferry_fetch_multi_run(struct ferry_fetch_multi *m, struct ferry_error *err)
{
	struct CURLMsg *msg;
	struct mjob *j;
	CURLMcode mc;
	unsigned i;
	int left, still, r = 0;

	if (m == NULL)
		return FERRY_ERR_INVALID_ARG;
	for (;;) {
		if (atomic_load(&m->stopped)) {
			mjob_stop_all(m);
			mjob_report(m);
			return r;
		}
		/* Queued jobs onto free slots; local files end right away. */
		for (i = 0; i < m->nslots && m->wait != NULL &&
		    !atomic_load(&m->stopped); i++) {
			if (m->run[i] != NULL)
				continue;
			j = m->wait;
			if ((m->wait = j->next) == NULL)
				m->wait_tail = &m->wait;
			j->next = NULL;
			mjob_start(m, i, j);
		}
		if (m->done != NULL) {
			mjob_report(m);
			continue;
		}
		if (m->nrunning == 0) {
			if (m->wait == NULL)
				return 0;
			continue;
		}
		if ((mc = curl_multi_perform(m->cm, &still)) != CURLM_OK) {
			r = ferry_error_set(err, mc == CURLM_OUT_OF_MEMORY ?
			    FERRY_ERR_NOMEM : FERRY_ERR_FETCH, "libcurl: %s",
			    curl_multi_strerror(mc));
			snprintf(m->why, sizeof(m->why), " (libcurl: %s)",
			    curl_multi_strerror(mc));
			atomic_store(&m->stopped, 1);
			continue;
		}
		while ((msg = curl_multi_info_read(m->cm, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE &&
			    (i = mjob_slot(m, msg->easy_handle)) < m->nslots)
				mjob_ended(m, i, msg->data.result);
		if (m->done != NULL || (m->wait != NULL &&
		    m->nrunning < m->nslots))
			continue;
		if ((mc = curl_multi_poll(m->cm, NULL, 0, 1000, NULL)) !=
		    CURLM_OK) {
			r = ferry_error_set(err, FERRY_ERR_FETCH, "libcurl: %s",
			    curl_multi_strerror(mc));
			snprintf(m->why, sizeof(m->why), " (libcurl: %s)",
			    curl_multi_strerror(mc));
			atomic_store(&m->stopped, 1);
		}
	}
}

char *
ferry_url_segment(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *out, *o;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	/* RFC 3986 unreserved characters, tested as ASCII, not by locale. */
	for (p = (const unsigned char *)s, o = out; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~')
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0x0f];
		}
	}
	*o = '\0';
	return out;
}

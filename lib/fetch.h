/*
 * Fetching bytes from a repository: HTTP and HTTPS through libcurl, and a
 * local directory (a mounted USB stick) as a plain path or file:// URL.
 *
 * Nothing fetched is trusted: callers verify every byte.  What this module
 * guarantees is that a hostile server cannot make a fetch endless or
 * unbounded: every fetch has a size limit known before it starts (never
 * more than limit + 1 bytes are accepted), a minimum transfer speed, and
 * an overall deadline.  A .onion host is refused unless a SOCKS proxy that
 * resolves names itself (socks5h://) is configured: resolving an onion
 * name locally would leak it.
 */
#ifndef FERRY_FETCH_H
#define FERRY_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * None of the numbers may be 0: every bound is always on.  The proxy is
 * the only one used; http_proxy, ALL_PROXY, no_proxy and the like in the
 * environment are ignored.
 */
struct ferry_fetch_opts {
	/* Abort if slower than min_speed bytes/s for low_speed_time s. */
	uint32_t min_speed;		/* default 1024 */
	uint32_t low_speed_time;	/* default 30 */
	uint32_t connect_timeout;	/* seconds; default 30 */
	uint32_t total_timeout;		/* seconds per fetch; default 600 */
	const char *proxy;		/* "socks5h://127.0.0.1:9050" or NULL */
	const char *user_agent;	/* default "ferry/VERSION"; none by proxy */
	/*
	 * With a proxy, every request carries SOCKS credentials derived
	 * from this tag (NULL: "") and the URL's scheme, host and port.
	 * Tor's IsolateSOCKSAuth (on by default) gives each set of
	 * credentials circuits of its own, so fetches for another tag (an
	 * application) or from another origin (a mirror) never share one.
	 */
	const char *isolation;
};

/* Fill opts with the defaults above. */
void ferry_fetch_opts_default(struct ferry_fetch_opts *opts);

/*
 * Whether proxy is one a fetcher takes: socks5h://HOST:PORT (the scheme
 * in any case; HOST a name, an IPv4 address or [IPv6]; PORT 1 to 65535;
 * nothing else), a SOCKS5 proxy that resolves host names itself, as
 * Tor's does; any other kind would have names (.onion ones too)
 * resolved here.
 */
int ferry_fetch_proxy_ok(const char *proxy);

/*
 * Whether a fetcher takes url only through a proxy: 1 when its host is
 * a .onion name (a non-ASCII name too, when its ASCII form is one or
 * cannot be had), 0 otherwise (another host, a directory, not a URL).
 */
int ferry_fetch_url_needs_proxy(const char *url);

struct ferry_fetcher;

/*
 * opts is copied (strings too); NULL means the defaults.  Fails with
 * FERRY_ERR_INVALID_ARG for a 0 bound or a proxy that is not socks5h://.
 * A fetcher keeps its connections open between fetches; use each one from
 * one thread at a time (different fetchers in different threads are fine).
 */
int ferry_fetcher_new(const struct ferry_fetch_opts *opts,
    struct ferry_fetcher **out);
void ferry_fetcher_free(struct ferry_fetcher *f);

/*
 * Change f's isolation tag (see struct ferry_fetch_opts) for the fetches
 * that follow.  Connections opened under the old tag are closed, so that
 * none is reused across tags.  0 or FERRY_ERR_NOMEM.
 */
int ferry_fetcher_set_isolation(struct ferry_fetcher *f, const char *tag);

/*
 * The SOCKS credentials a request to scheme://host:port carries under
 * tag: user and pass each receive 32 hex digits and a NUL.  For tests,
 * which look for them at the proxy.
 */
void ferry_fetch_isolation_creds(const char *tag, const char *scheme,
    const char *host, long port, char user[33], char pass[33]);

/*
 * Called with each piece of a stream, in order; a non-zero return aborts
 * the fetch and is returned by it (the detail says the receiver stopped,
 * unless the callback recorded one first).
 */
typedef int ferry_fetch_cb(void *arg, const unsigned char *buf, size_t len);

/*
 * Fetch url (http://, https://, file://, or an absolute path) and pass
 * its bytes to cb.  Errors: FERRY_ERR_NOT_FOUND (HTTP 403/404 or no such
 * file: "the repository has no such file"), FERRY_ERR_TOO_LARGE (more than
 * max_len bytes), FERRY_ERR_TIMEOUT (slower than the minimum speed, or
 * past a deadline), FERRY_ERR_FETCH (anything else: connection, other
 * HTTP status, refused .onion), each with a detail naming the URL (less
 * any user name and password).  cb never sees more than max_len bytes in
 * all, nor any byte of a response other than 2xx.  Up to 5 redirects are
 * followed, to http and https URLs only, each target checked as url is.
 * No Content-Encoding is ever decoded: the bytes are those served.
 */
int ferry_fetch_stream(struct ferry_fetcher *f, const char *url,
    uint64_t max_len, ferry_fetch_cb *cb, void *arg, struct ferry_error *err);

/*
 * The same for the bytes from offset on of a file of at most max_len
 * bytes (resuming a download): an HTTP Range request, or a seek in a
 * local file; the limit is max_len - offset bytes.  A server that
 * ignores the range (200), answers 416, or sends another range fails
 * with FERRY_ERR_FETCH ("cannot resume from byte N"): the caller starts
 * again from 0.
 */
int ferry_fetch_stream_from(struct ferry_fetcher *f, const char *url,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    struct ferry_error *err);

/*
 * As ferry_fetch_stream(), into a new malloc'd buffer (NUL-terminated, the
 * NUL not counted) that the caller frees.
 */
int ferry_fetch_buf(struct ferry_fetcher *f, const char *url, size_t max_len,
    unsigned char **out, size_t *outlen, struct ferry_error *err);

/*
 * Bytes received by this fetcher so far, over all fetches: HTTP headers
 * and bodies as libcurl hands them over (refused and discarded ones too),
 * and the bytes read from local files.
 */
uint64_t ferry_fetcher_bytes(const struct ferry_fetcher *f);

/*
 * Several fetches at once over libcurl's multi interface, in the calling
 * thread: up to `parallel` HTTP transfers in flight, sharing connections.
 * Each fetch is ferry_fetch_stream_from() in all it checks, bounds and
 * reports; local files are read one at a time between the transfers.
 *
 *	ferry_fetch_multi_add(m, url, ...);	(any number)
 *	ferry_fetch_multi_run(m, &err);		(until every one is done)
 *
 * Each fetch's done callback is called exactly once, from
 * ferry_fetch_multi_run(), with the fetch's result and its error; it may
 * add more fetches, which the same run also completes.  A fetch that has
 * not finished when ferry_fetch_multi_stop() is called ends with
 * FERRY_ERR_FETCH ("stopped").  Use a multi from one thread at a time,
 * except for ferry_fetch_multi_stop(), which any thread may call.
 */
struct ferry_fetch_multi;

typedef void ferry_fetch_done_cb(void *arg, int r,
    const struct ferry_error *err);

/*
 * opts as for ferry_fetcher_new(); parallel from 1 to
 * FERRY_FETCH_MULTI_MAX.
 */
#define FERRY_FETCH_MULTI_MAX 64
int ferry_fetch_multi_new(const struct ferry_fetch_opts *opts,
    unsigned parallel, struct ferry_fetch_multi **out);
void ferry_fetch_multi_free(struct ferry_fetch_multi *m);

/*
 * Queue a fetch of url's bytes from offset on, as
 * ferry_fetch_stream_from().  Fails (and done is never called) only with
 * FERRY_ERR_INVALID_ARG, FERRY_ERR_NOMEM, or FERRY_ERR_FETCH once stopped.
 */
int ferry_fetch_multi_add(struct ferry_fetch_multi *m, const char *url,
    uint64_t offset, uint64_t max_len, ferry_fetch_cb *cb, void *arg,
    ferry_fetch_done_cb *done, void *done_arg);

/*
 * Run every queued fetch to its end, calling each done callback.  Fails
 * only when libcurl's multi interface itself fails (every fetch then
 * ends "stopped" first).
 */
int ferry_fetch_multi_run(struct ferry_fetch_multi *m,
    struct ferry_error *err);

/*
 * Make the running ferry_fetch_multi_run() end every fetch (those still
 * queued too) and return, at once even when it waits for the network;
 * for a failure that makes the rest pointless, such as a full disk.
 * From any thread; the multi stays stopped.
 */
void ferry_fetch_multi_stop(struct ferry_fetch_multi *m);

/*
 * Whether m is stopped: by ferry_fetch_multi_stop(), or by itself when
 * libcurl's multi interface failed (its fetches then end "stopped
 * (libcurl: ...)").  For a done callback, to tell a fetch that was
 * stopped from one that failed.
 */
int ferry_fetch_multi_stopped(const struct ferry_fetch_multi *m);

/* Bytes received so far over all its fetches, as ferry_fetcher_bytes(). */
uint64_t ferry_fetch_multi_bytes(const struct ferry_fetch_multi *m);

/*
 * Percent-encode s for use as one URL path segment: everything but
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX, '/' included,
 * as python-tuf quotes role names.  The caller frees the result.
 */
char *ferry_url_segment(const char *s);

#endif

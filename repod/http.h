/*
 * repod's HTTP side (libmicrohttpd): serves a repository tree read-only.
 * It runs in the process that talks to the network, which holds no key
 * and, when started as root, has dropped its privileges before the first
 * byte from a client.
 *
 * Only /metadata/... and /targets/... map to files of the tree (regular
 * files only, resolved beneath it: symbolic links inside the tree work,
 * none leads out); /metrics (Prometheus text format) and /health (JSON)
 * describe the server and the published timestamp.  Everything else is
 * 404.  docs/repod.md describes the headers and the limits.
 */
#ifndef FERRY_REPOD_HTTP_H
#define FERRY_REPOD_HTTP_H

#include <stddef.h>

#include "lib/err.h"

struct repod_http_opts {
	const int *listen_fds;	/* bound, listening sockets */
	size_t nlisten;
	int root_fd;		/* the tree, an O_DIRECTORY descriptor */
	unsigned threads;	/* worker threads; 0: one per CPU */
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned timeout;	/* idle seconds before a connection closes */
	size_t conn_memory;	/* buffer bytes per connection */
	unsigned timestamp_max_age;	/* Cache-Control max-age, timestamp.json */
	int mirror;		/* serving a mirror: no keys, no refresher */
	/*
	 * Seconds a client has to send a whole request head, counted from
	 * the connection's start or the end of its previous response; 0:
	 * the idle timeout.  The idle timeout alone is defeated by a client
	 * that trickles a byte every few seconds (slowloris).
	 */
	unsigned header_timeout;
	int access_log;		/* one log line per request */
	/* The onion process's state, for /metrics and /health; or NULL. */
	const struct repod_onion_status *onion;
};

struct repod_http;
struct repod_onion_status;

/*
 * Start serving: the descriptors in o stay the caller's.  *out is freed
 * with repod_http_stop(), which stops accepting, finishes or drops the
 * connections in flight, and frees everything.  One daemon runs per
 * listening socket, each with its own pool of o->threads threads, and
 * the limits (max_connections, max_per_ip) apply to each daemon.  The
 * threads inherit the caller's signal mask.
 */
int repod_http_start(const struct repod_http_opts *o, struct repod_http **out,
    struct ferry_error *err);
void repod_http_stop(struct repod_http *h);

#endif

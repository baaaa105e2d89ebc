/*
 * repod's HTTP side (libmicrohttpd): serves a repository tree read-only.
 * It runs in the process that talks to the network, which holds no key
 * and, when started as root, has dropped its privileges before the first
 * byte from a client.
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
};

struct repod_http;

/*
 * Start serving: the descriptors in o stay the caller's.  *out is freed
 * with repod_http_stop(), which stops accepting, finishes or drops the
 * connections in flight, and frees everything.
 */
int repod_http_start(const struct repod_http_opts *o, struct repod_http **out,
    struct ferry_error *err);
void repod_http_stop(struct repod_http *h);

#endif

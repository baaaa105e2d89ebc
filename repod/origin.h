/*
 * The origin's writing side, in the supervising process of `serve`: the
 * online keys' signing process, and the schedule that re-signs timestamp
 * (and snapshot near its own expiry) before they expire.
 */
#ifndef FERRY_REPOD_ORIGIN_H
#define FERRY_REPOD_ORIGIN_H

#include <stdint.h>

#include "lib/err.h"
#include "repod/repod.h"

struct repod_origin;

/*
 * Start the signing process (it reads the passphrase and opens the keys)
 * and check the published state.  Called before the HTTP process is
 * forked, so that the HTTP process never shares memory with the keys.
 */
int repod_origin_start(const struct repod_config *c,
    struct repod_origin **out, struct ferry_error *err);

/*
 * Do what is due at time now (re-sign, prune) and set *next to the time
 * of the next thing due.  Errors are logged and retried; a return != 0
 * means the origin cannot go on (the signing process died).
 */
int repod_origin_tick(struct repod_origin *o, int64_t now, int64_t *next);

/* Stop the signing process and free o; accepts NULL. */
/* Whether the key process still runs and its channel is in step. */
int repod_origin_alive(struct repod_origin *o);

void repod_origin_stop(struct repod_origin *o);

#endif

/*
 * The origin's writing side in `serve`: the key process, and re-signing
 * timestamp (and snapshot) before they expire.  See origin.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "repod/origin.h"
#include "repod/publish.h"

/* After a failed re-signing, try again this soon (sooner for short margins). */
#define RETRY_SECONDS 30

struct repod_origin {
	const struct repod_config *c;
	struct keyd *keyd;
	int64_t due;		/* the next re-signing; 0: check now */
};

int
repod_origin_start(const struct repod_config *c, struct repod_origin **out,
    struct ferry_error *err)
{
	struct repod_origin *o;
	char pid[24];
	int r;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return FERRY_ERR_NOMEM;
	o->c = c;
	if ((r = keyd_start(c, &o->keyd, err)) != 0) {
		free(o);
		return r;
	}
	snprintf(pid, sizeof(pid), "%ld", (long)keyd_pid(o->keyd));
	repod_log("info", "online keys opened", "keyd_pid", pid, "snapshot",
	    keyd_keyid(o->keyd, FERRY_META_SNAPSHOT), "timestamp",
	    keyd_keyid(o->keyd, FERRY_META_TIMESTAMP), NULL);
	*out = o;
	return 0;
}

/* A quarter of the timestamp's margin, between 1 and RETRY_SECONDS. */
static int64_t
retry_seconds(const struct repod_config *c)
{
	int64_t s = c->timestamp_refresh / 4;

	return s < 1 ? 1 : s > RETRY_SECONDS ? RETRY_SECONDS : s;
}

int
repod_origin_tick(struct repod_origin *o, int64_t now, int64_t *next)
{
	struct ferry_error err = { 0 };
	struct repod_ctx *x = NULL;
	char when[32];
	int64_t due = 0;
	int did = 0, r;

	if (o->due > now) {
		*next = o->due;
		return 0;
	}
	if ((r = repod_ctx_open(o->c, o->keyd, "repod (refresh)", &x,
	    &err)) == 0) {
		r = repod_refresh(x, 0, &did, &due, &err);
		repod_ctx_close(x);
	}
	if (r == FERRY_ERR_NOT_FOUND) {
		/* Nothing published yet: look again in a while. */
		o->due = now + RETRY_SECONDS;
	} else if (r != 0) {
		repod_log("error", "re-signing failed", "error",
		    ferry_error_msg(&err), NULL);
		o->due = now + retry_seconds(o->c);
		/*
		 * Without the key process, or with its channel out of step,
		 * there is nothing to retry: serve stops, to be restarted.
		 */
		if (!keyd_usable(o->keyd))
			return FERRY_ERR_IO;
	} else {
		o->due = due > now ? due : now + 1;
		(void)ferry_meta_format_time(o->due, when, sizeof(when));
		if (did)
			repod_log("info", "next re-signing", "due", when, NULL);
	}
	*next = o->due;
	return 0;
}

int
repod_origin_alive(struct repod_origin *o)
{
	return keyd_usable(o->keyd);
}

void
repod_origin_stop(struct repod_origin *o)
{
	if (o == NULL)
		return;
	keyd_stop(o->keyd);
	free(o);
}

/* The origin's writing side: see origin.h. */
#include "config.h"

#include <stdlib.h>

#include "repod/origin.h"

int
repod_origin_start(const struct repod_config *c, struct repod_origin **out,
    struct ferry_error *err)
{
	(void)c;
	(void)out;
	return ferry_error_set(err, FERRY_ERR_INTERNAL, "origin: not yet");
}

int
repod_origin_tick(struct repod_origin *o, int64_t now, int64_t *next)
{
	(void)o;
	*next = now + 3600;
	return 0;
}

void
repod_origin_stop(struct repod_origin *o)
{
	(void)o;
}

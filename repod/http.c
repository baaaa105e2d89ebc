/* repod's HTTP side: see http.h. */
#include "config.h"

#include "repod/http.h"

int
repod_http_start(const struct repod_http_opts *o, struct repod_http **out,
    struct ferry_error *err)
{
	(void)o;
	(void)out;
	return ferry_error_set(err, FERRY_ERR_INTERNAL, "not yet");
}

void
repod_http_stop(struct repod_http *h)
{
	(void)h;
}

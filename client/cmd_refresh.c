/* ferry refresh: bring the trusted metadata up to date. */
#include "config.h"

#include <stdio.h>

#include "client/ferry.h"
#include "lib/meta.h"

static void
show(const struct ferry_updater *u, const char *role)
{
	const struct ferry_meta *md = ferry_updater_trusted(u, role);

	if (md != NULL)
		printf("%-10s v%-6lld expires %s\n", role,
		    (long long)md->version, md->expires_str);
}

int
cmd_refresh(struct client *c, int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;
	int rc = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: ferry [-d DIR] refresh\n");
		return 2;
	}
	if (client_updater(c, &u, &err) != 0)
		return client_fail("refresh", &err);
	if (ferry_updater_refresh(u, &err) != 0) {
		client_fail("refresh", &err);
		goto out;
	}
	show(u, "root");
	show(u, "timestamp");
	show(u, "snapshot");
	show(u, "targets");
	printf("fetched %llu bytes\n",
	    (unsigned long long)ferry_updater_bytes(u));
	rc = 0;
 out:
	ferry_updater_free(u);
	return rc;
}

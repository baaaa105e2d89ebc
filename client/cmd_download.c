/* ferry download: fetch one target and verify every byte of it. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ferry.h"
#include "lib/fetch.h"

int
cmd_download(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;
	struct ferry_target t;
	const char *out = NULL, *role = NULL;
	char path[4096], *q;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (ch != 'o')
			goto usage;
		out = optarg;
	}
	if (optind + 1 != argc)
		goto usage;
	if (client_updater(c, &u, &err) != 0)
		return client_fail("download", &err);
	if (ferry_updater_find(u, argv[optind], &t, &role, &err) != 0) {
		client_fail("download", &err);
		goto out;
	}
	if (out == NULL) {
		/* One flat file per target path, '/' encoded: no traversal. */
		if ((q = ferry_url_segment(t.path)) == NULL) {
			client_failf("out of memory");
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", c->targets_dir, q);
		free(q);
		out = path;
	}
	if (ferry_updater_is_cached(&t, out)) {
		printf("%s: %llu bytes, already here and verified: %s\n",
		    t.path, (unsigned long long)t.length, out);
		rc = 0;
		goto out;
	}
	/*
	 * Each target's bytes on circuits of their own (with a proxy):
	 * what one application fetches is never linked to another's.
	 */
	if (ferry_updater_set_isolation(u, t.path) != 0) {
		client_failf("out of memory");
		goto out;
	}
	if (ferry_updater_download(u, &t, out, &err) != 0) {
		client_fail("download", &err);
		goto out;
	}
	printf("%s: %llu bytes verified (listed by %s): %s\n", t.path,
	    (unsigned long long)t.length, role, out);
	rc = 0;
 out:
	ferry_updater_free(u);
	return rc;
 usage:
	fprintf(stderr, "usage: ferry [-d DIR] download [-o FILE] TARGET\n");
	return 2;
}

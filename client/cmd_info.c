/* ferry info: what the trusted metadata says of one target. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "client/ferry.h"
#include "lib/json.h"

int
cmd_info(struct client *c, int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;
	struct ferry_target t;
	const char *role = NULL, *alg;
	unsigned char *custom = NULL;
	size_t n;
	json_t *v;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: ferry [-d DIR] info TARGET\n");
		return 2;
	}
	if (client_updater(c, &u, &err) != 0)
		return client_fail("info", &err);
	if (ferry_updater_find(u, argv[1], &t, &role, &err) != 0) {
		client_fail("info", &err);
		goto out;
	}
	printf("path:    %s\nrole:    %s\nlength:  %llu\n", t.path, role,
	    (unsigned long long)t.length);
	json_object_foreach((json_t *)t.hashes, alg, v) {
		char label[16];

		snprintf(label, sizeof(label), "%s:", alg);
		printf("%-8s %s\n", label, json_string_value(v));
	}
	if (t.custom != NULL &&
	    ferry_json_serialize(t.custom, &custom, &n, NULL) == 0)
		printf("custom:  %s\n", custom);
	rc = 0;
 out:
	free(custom);
	ferry_updater_free(u);
	return rc;
}

/* ferry list: every target the trusted roles list. */
#include "config.h"

#include <stdio.h>

#include "client/ferry.h"

/* Loading every hashed bin of a large repository is the one cost here. */
#define LIST_MAX_ROLES 65536

static int
print_target(void *arg, const char *role, const struct ferry_target *t)
{
	size_t *n = arg;

	printf("%12llu  %-16s %s\n", (unsigned long long)t->length, role,
	    t->path);
	(*n)++;
	return 0;
}

int
cmd_list(struct client *c, int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;
	size_t n = 0;
	int rc = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: ferry [-d DIR] list\n");
		return 2;
	}
	if (client_updater(c, &u, &err) != 0)
		return client_fail("list", &err);
	if (ferry_updater_list(u, LIST_MAX_ROLES, print_target, &n,
	    &err) != 0) {
		client_fail("list", &err);
		goto out;
	}
	fprintf(stderr, "%zu targets\n", n);
	rc = 0;
 out:
	ferry_updater_free(u);
	return rc;
}

/*
 * ferry: the device client.  It trusts one root, refreshes TUF metadata
 * from its mirrors (HTTP, an onion service through socks5h://, or a
 * mounted directory), and downloads targets only after verifying every
 * byte.  See docs/ferry.md.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/ferry.h"
#include "lib/fetch.h"

static const struct {
	const char *name;
	int (*fn)(struct client *, int, char **);
	int needs_config;
	const char *summary;
} cmds[] = {
	{ "init", cmd_init, 0, "trust a root and name the mirrors" },
	{ "refresh", cmd_refresh, 1, "bring the trusted metadata up to date" },
	{ "info", cmd_info, 1, "show what the metadata says of a target" },
	{ "download", cmd_download, 1, "download a target, verified" },
	{ "list", cmd_list, 1, "list every target of the repository" },
};

static int
usage(FILE *f, int code)
{
	size_t i;

	fprintf(f, "usage: ferry [-d DIR] [--tor[=HOST:PORT]] COMMAND [ARGS]\n\n"
	    "  -d DIR   the client's state directory (default $FERRY_DIR, "
	    "else %s)\n"
	    "  --tor[=HOST:PORT]\n"
	    "           this time, fetch everything through Tor's SOCKS port "
	    "(%s),\n"
	    "           whatever config.json says\n\ncommands:\n",
	    FERRY_DEFAULT_DIR, FERRY_TOR_DEFAULT);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage.\n");
	return code;
}

int
main(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct client c;
	size_t i;
	int a = 1, rc;

	memset(&c, 0, sizeof(c));
	if (sodium_init() < 0)
		return client_failf("libsodium failed to initialise");
	c.dir = getenv("FERRY_DIR") != NULL ? getenv("FERRY_DIR") :
	    FERRY_DEFAULT_DIR;
	while (a < argc) {
		if (strcmp(argv[a], "-d") == 0) {
			if (a + 1 >= argc)
				return usage(stderr, 2);
			c.dir = argv[a + 1];
			a += 2;
		} else if (strcmp(argv[a], "--tor") == 0) {
			c.tor = "";
			a++;
		} else if (strncmp(argv[a], "--tor=", 6) == 0) {
			c.tor = argv[a] + 6;
			a++;
		} else
			break;
	}
	if (a >= argc)
		return usage(stderr, 2);
	/* --tor for this command: checked here, for every command. */
	if (c.tor != NULL) {
		if ((c.tor_proxy = client_tor_proxy(c.tor)) == NULL)
			return client_failf("out of memory");
		if (!ferry_fetch_proxy_ok(c.tor_proxy)) {
			client_failf("--tor=%s: not HOST:PORT (a name, an IPv4 "
			    "address or [IPv6], and a port)", c.tor);
			client_clear(&c);
			return 2;
		}
	}
	if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0 ||
	    strcmp(argv[a], "help") == 0)
		return usage(stdout, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[a], cmds[i].name) != 0)
			continue;
		if (cmds[i].needs_config) {
			if (client_load(&c, &err) != 0) {
				client_clear(&c);
				return client_fail(cmds[i].name, &err);
			}
		} else {
			size_t n = strlen(c.dir) + 16;

			if ((c.metadata_dir = malloc(n)) == NULL ||
			    (c.targets_dir = malloc(n)) == NULL) {
				client_clear(&c);
				return client_failf("out of memory");
			}
			snprintf(c.metadata_dir, n, "%s/metadata", c.dir);
			snprintf(c.targets_dir, n, "%s/targets", c.dir);
		}
		/* Over what config.json says (init: until --tor, --proxy). */
		if (c.tor_proxy != NULL) {
			free(c.proxy);
			c.proxy = c.tor_proxy;
			c.tor_proxy = NULL;
		}
		rc = cmds[i].fn(&c, argc - a, argv + a);
		client_clear(&c);
		return rc;
	}
	client_failf("unknown command \"%s\"", argv[a]);
	return usage(stderr, 2);
}

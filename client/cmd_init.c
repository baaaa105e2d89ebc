/* ferry init: trust a root and name the mirrors. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/ferry.h"
#include "lib/file.h"
#include "lib/meta.h"
#include "onion/hskey.h"

static const char init_usage[] =
    "usage: ferry [-d DIR] init --root ROOTFILE --mirror URL [--mirror URL]...\n"
    "           [--target-mirror URL]... [--tor[=HOST:PORT] |\n"
    "           --proxy socks5h://HOST:PORT] [--onion ADDRESS] [--force]\n"
    "\n"
    "Trust ROOTFILE (a root.json obtained out of band) and name the\n"
    "mirrors that metadata and targets come from, in DIR/config.json.\n"
    "\n"
    "  --root ROOTFILE        the root of trust; it must be self-signed\n"
    "  --mirror URL           where metadata/ is: http(s)://, file:// or a\n"
    "                         path; repeatable, tried in order\n"
    "  --target-mirror URL    where targets/ is (default: each mirror with\n"
    "                         \"metadata\" replaced by \"targets\")\n"
    "  --tor[=HOST:PORT]      fetch everything through Tor's SOCKS port\n"
    "                         (" FERRY_TOR_DEFAULT "); names are resolved by "
    "Tor\n"
    "  --proxy socks5h://HOST:PORT\n"
    "                         the same through any SOCKS5 proxy that\n"
    "                         resolves names itself\n"
    "  --onion ADDRESS        pin the repository's onion address: only that\n"
    "                         .onion may be a mirror; without --mirror, it\n"
    "                         is the mirror; implies --tor if no proxy\n"
    "  --force                replace an existing configuration\n"
    "  -h, --help             this text\n";

static int
usage(void)
{
	fputs(init_usage, stderr);
	return 2;
}

/* Add url to list (n entries of at most FERRY_MAX_MIRRORS). */
static int
add_url(char **list, size_t *n, const char *url)
{
	if (*n == FERRY_MAX_MIRRORS)
		return client_failf("init: at most %d mirrors",
		    FERRY_MAX_MIRRORS);
	if ((list[*n] = strdup(url)) == NULL)
		return client_failf("out of memory");
	(*n)++;
	return 0;
}

/* --onion: the pin, the mirrors it implies, and a way to reach it. */
static int
pin_onion(struct client *c, const char *addr)
{
	struct ferry_error err = { 0 };
	char canon[ONION_ADDR_LEN + 1], url[ONION_ADDR_LEN + 32];

	if (onion_address_check(addr, canon, &err) != 0)
		return client_fail("init: --onion", &err);
	free(c->onion);
	snprintf(url, sizeof(url), "%s.onion", canon);
	if ((c->onion = strdup(url)) == NULL)
		return client_failf("out of memory");
	if (c->nmirrors == 0) {
		snprintf(url, sizeof(url), "http://%s.onion/metadata", canon);
		if (add_url(c->mirrors, &c->nmirrors, url) != 0)
			return 1;
	}
	if (c->proxy == NULL && (c->proxy = client_tor_proxy(NULL)) == NULL)
		return client_failf("out of memory");
	return 0;
}

/* ".../metadata" -> ".../targets": the layout repod and mirrors serve. */
static char *
targets_beside(const char *mirror)
{
	size_t n = strlen(mirror);
	char *t;

	while (n > 0 && mirror[n - 1] == '/')
		n--;
	if (n < 8 || strncmp(mirror + n - 8, "metadata", 8) != 0)
		return NULL;
	if ((t = malloc(n + 1)) == NULL)
		return NULL;
	snprintf(t, n + 1, "%.*stargets", (int)(n - 8), mirror);
	return t;
}

int
cmd_init(struct client *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "mirror", required_argument, NULL, 'm' },
		{ "target-mirror", required_argument, NULL, 't' },
		{ "proxy", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "tor", optional_argument, NULL, 'T' },
		{ "onion", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *onion = NULL, *tor = NULL;
	struct ferry_error err = { 0 };
	struct ferry_meta *root = NULL;
	const char *rootfile = NULL;
	unsigned char *buf = NULL;
	char path[4096];
	size_t i, len;
	struct stat st;
	int ch, force = 0, rc = 1, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': rootfile = optarg; break;
		case 'f': force = 1; break;
		case 'o': onion = optarg; break;
		case 'h':
			fputs(init_usage, stdout);
			return 0;
		case 'p':
		case 'T':
			tor = ch == 'T' ? (optarg != NULL ? optarg : "") : NULL;
			free(c->proxy);
			if ((c->proxy = ch == 'p' ? strdup(optarg) :
			    client_tor_proxy(optarg)) == NULL)
				return client_failf("out of memory");
			break;
		case 'm':
			if (add_url(c->mirrors, &c->nmirrors, optarg) != 0)
				return 1;
			break;
		case 't':
			if (add_url(c->target_mirrors, &c->ntarget_mirrors,
			    optarg) != 0)
				return 1;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || rootfile == NULL)
		return usage();
	if (onion != NULL && pin_onion(c, onion) != 0)
		return 1;
	if (c->nmirrors == 0)
		return usage();
	if (c->proxy != NULL && !ferry_fetch_proxy_ok(c->proxy)) {
		if (tor != NULL)
			return client_failf("init: --tor=%s: not HOST:PORT (a "
			    "name, an IPv4 address or [IPv6], and a port)",
			    tor);
		return client_failf("init: --proxy %s: not "
		    "socks5h://HOST:PORT (only a proxy that resolves names, "
		    "as Tor's does, so that no name is looked up here)",
		    c->proxy);
	}
	if (client_check_mirrors(c, 1, &err) != 0)
		return client_fail("init", &err);
	if (c->ntarget_mirrors == 0) {
		for (i = 0; i < c->nmirrors; i++) {
			if ((c->target_mirrors[i] =
			    targets_beside(c->mirrors[i])) == NULL)
				return client_failf("init: --target-mirror is "
				    "needed: %s does not end in \"metadata\"",
				    c->mirrors[i]);
			c->ntarget_mirrors++;
		}
	}
	snprintf(path, sizeof(path), "%s/config.json", c->dir);
	if (!force && stat(path, &st) == 0)
		return client_failf("init: %s exists; use --force to replace "
		    "the trusted root and mirrors", path);
	/* The root must at least be what it claims: self-signed, valid. */
	if ((r = ferry_meta_load(rootfile, FERRY_META_MAX_DEFAULT, &root,
	    &err)) != 0 || (r = ferry_meta_verify_by_root(root,
	    FERRY_META_ROOT, root, NULL, &err)) != 0) {
		client_fail(rootfile, &err);
		goto out;
	}
	if ((r = ferry_file_read(rootfile, FERRY_META_MAX_DEFAULT, &buf,
	    &len)) != 0) {
		client_failf("%s: %s", rootfile, strerror(errno));
		goto out;
	}
	if ((mkdir(c->dir, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(c->metadata_dir, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(c->targets_dir, 0755) == -1 && errno != EEXIST)) {
		client_failf("init: %s: %s", c->dir, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/root.json", c->metadata_dir);
	if ((r = ferry_file_write_atomic(path, buf, len, 0644)) != 0) {
		client_failf("%s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = client_save(c, &err)) != 0) {
		client_fail("init", &err);
		goto out;
	}
	printf("trusting root v%lld (%zu keys, threshold %llu) in %s\n",
	    (long long)root->version, root->keys.n,
	    (unsigned long long)root->roles[FERRY_META_ROOT].threshold, c->dir);
	for (i = 0; i < c->nmirrors; i++)
		printf("mirror %zu: %s\n", i + 1, c->mirrors[i]);
	if (c->proxy != NULL)
		printf("through the proxy %s\n", c->proxy);
	if (c->onion != NULL)
		printf("pinned onion address: %s\n", c->onion);
	rc = 0;
 out:
	free(buf);
	ferry_meta_free(root);
	return rc;
}

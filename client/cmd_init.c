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

static int
usage(void)
{
	fprintf(stderr, "usage: ferry [-d DIR] init --root ROOTFILE "
	    "--mirror URL [--mirror URL ...]\n"
	    "           [--target-mirror URL ...] [--proxy socks5h://HOST:PORT]"
	    " [--force]\n");
	return 2;
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
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_error err = { 0 };
	struct ferry_meta *root = NULL;
	const char *rootfile = NULL;
	unsigned char *buf = NULL;
	char path[4096];
	size_t i, len, n;
	struct stat st;
	int ch, force = 0, rc = 1, r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': rootfile = optarg; break;
		case 'f': force = 1; break;
		case 'p':
			free(c->proxy);
			if ((c->proxy = strdup(optarg)) == NULL)
				return client_failf("out of memory");
			break;
		case 'm':
		case 't':
			n = ch == 'm' ? c->nmirrors : c->ntarget_mirrors;
			if (n == FERRY_MAX_MIRRORS)
				return client_failf("init: at most %d mirrors",
				    FERRY_MAX_MIRRORS);
			if (((ch == 'm' ? c->mirrors : c->target_mirrors)[n] =
			    strdup(optarg)) == NULL)
				return client_failf("out of memory");
			if (ch == 'm')
				c->nmirrors++;
			else
				c->ntarget_mirrors++;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc || rootfile == NULL || c->nmirrors == 0)
		return usage();
	if (c->proxy != NULL && !ferry_fetch_proxy_ok(c->proxy))
		return client_failf("init: --proxy must be socks5h://HOST:PORT, "
		    "so that .onion names are resolved by Tor");
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
	rc = 0;
 out:
	free(buf);
	ferry_meta_free(root);
	return rc;
}

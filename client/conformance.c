/*
 * ferry-conformance-client: Ferry's updater behind the command line of
 * the TUF conformance suite (theupdateframework/tuf-conformance,
 * CLIENT-CLI.md):
 *
 *   ferry-conformance-client --metadata-dir DIR init ROOTFILE
 *   ferry-conformance-client --metadata-dir DIR --metadata-url URL refresh
 *   ferry-conformance-client --metadata-dir DIR --metadata-url URL
 *       --target-name NAME [--target-name NAME ...] --target-base-url URL
 *       --target-dir DIR download
 *
 * Exit 0 on success, 1 on any failure (with the reason on stderr), 2 on
 * a usage error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fetch.h"
#include "lib/file.h"
#include "lib/updater.h"

#define MAX_TARGETS 256

static const char *progname = "ferry-conformance-client";

struct args {
	const char *metadata_dir;
	const char *metadata_url;
	const char *target_base_url;
	const char *target_dir;
	const char *targets[MAX_TARGETS];
	size_t ntargets;
	int verbose;
};

static int
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: %s --metadata-dir DIR init ROOTFILE\n"
	    "       %s --metadata-dir DIR --metadata-url URL refresh\n"
	    "       %s --metadata-dir DIR --metadata-url URL "
	    "--target-name NAME ...\n"
	    "           --target-base-url URL --target-dir DIR download\n",
	    progname, progname, progname);
	return code;
}

static int
failed(const char *what, const struct ferry_error *err)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, ferry_error_msg(err));
	return 1;
}

/* Trust ROOTFILE as given: the suite expects no checks here. */
static int
cmd_init(const struct args *a, const char *rootfile)
{
	unsigned char *buf = NULL;
	char path[4096];
	size_t len;
	int r;

	if ((r = ferry_file_read(rootfile, 64u << 20, &buf, &len)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", progname, rootfile,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/root.json", a->metadata_dir);
	r = ferry_file_write_atomic(path, buf, len, 0644);
	free(buf);
	if (r != 0) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
		return 1;
	}
	return 0;
}

static int
open_updater(const struct args *a, struct ferry_updater **u,
    struct ferry_error *err)
{
	struct ferry_updater_config cfg;

	ferry_updater_config_default(&cfg);
	cfg.metadata_dir = a->metadata_dir;
	cfg.metadata_urls = &a->metadata_url;
	cfg.nmetadata_urls = 1;
	if (a->target_base_url != NULL) {
		cfg.target_urls = &a->target_base_url;
		cfg.ntarget_urls = 1;
	}
	/* The suite serves on loopback: fail fast rather than wait. */
	cfg.fetch.connect_timeout = 10;
	cfg.fetch.total_timeout = 60;
	return ferry_updater_new(&cfg, u, err);
}

static int
cmd_refresh(const struct args *a)
{
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;
	int rc = 1;

	if (open_updater(a, &u, &err) != 0)
		return failed("init", &err);
	if (ferry_updater_refresh(u, &err) != 0)
		failed("refresh", &err);
	else
		rc = 0;
	ferry_updater_free(u);
	return rc;
}

static int
cmd_download(const struct args *a)
{
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;
	struct ferry_target t;
	char path[4096], *q;
	size_t i;
	int rc = 1;

	if (a->ntargets == 0 || a->target_dir == NULL ||
	    a->target_base_url == NULL)
		return usage(2);
	if (open_updater(a, &u, &err) != 0)
		return failed("init", &err);
	if (ferry_updater_refresh(u, &err) != 0) {
		failed("refresh", &err);
		goto out;
	}
	for (i = 0; i < a->ntargets; i++) {
		ferry_error_clear(&err);
		if (ferry_updater_target(u, a->targets[i], &t, &err) != 0) {
			failed(a->targets[i], &err);
			goto out;
		}
		/* One flat file per target path, '/' encoded: no traversal. */
		if ((q = ferry_url_segment(a->targets[i])) == NULL)
			goto out;
		snprintf(path, sizeof(path), "%s/%s", a->target_dir, q);
		free(q);
		if (ferry_updater_is_cached(&t, path))
			continue;
		if (ferry_updater_download(u, &t, path, &err) != 0) {
			failed(a->targets[i], &err);
			goto out;
		}
	}
	rc = 0;
 out:
	ferry_updater_free(u);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metadata-dir", required_argument, NULL, 'd' },
		{ "metadata-url", required_argument, NULL, 'u' },
		{ "target-name", required_argument, NULL, 'n' },
		{ "target-base-url", required_argument, NULL, 'b' },
		{ "target-dir", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a;
	int c;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a.metadata_dir = optarg; break;
		case 'u': a.metadata_url = optarg; break;
		case 'b': a.target_base_url = optarg; break;
		case 't': a.target_dir = optarg; break;
		case 'v': a.verbose++; break;
		case 'h': return usage(0);
		case 'n':
			if (a.ntargets == MAX_TARGETS) {
				fprintf(stderr, "%s: more than %d targets\n",
				    progname, MAX_TARGETS);
				return 2;
			}
			a.targets[a.ntargets++] = optarg;
			break;
		default:
			return usage(2);
		}
	}
	if (optind >= argc || a.metadata_dir == NULL)
		return usage(2);
	if (strcmp(argv[optind], "init") == 0 && optind + 2 == argc)
		return cmd_init(&a, argv[optind + 1]);
	if (a.metadata_url == NULL || optind + 1 != argc)
		return usage(2);
	if (strcmp(argv[optind], "refresh") == 0)
		return cmd_refresh(&a);
	if (strcmp(argv[optind], "download") == 0)
		return cmd_download(&a);
	return usage(2);
}

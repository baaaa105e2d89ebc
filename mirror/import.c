/*
 * ferry-mirror import: take an export (ferry-mirror export) on the
 * offline side of an air gap, from a directory (a mounted USB stick) or
 * a .tar.zst bundle.
 *
 * Nothing on the medium is trusted.  A bundle is extracted with
 * lib/bundle's limits (its total no more than the free space under
 * DIR/media) into DIR/media/import.PID.XXXXXX, removed afterwards.
 * The medium's files are checked against its manifest first, so that a
 * damaged stick is named file by file; then the medium is verified
 * exactly as a sync verifies an upstream (mirror_sync() with the medium
 * as the only upstream), against the root and the versions this mirror
 * already trusts (DIR/trusted): signatures, thresholds, expiry, rollback,
 * every length and hash.  DIR/repo changes only if all of it verified.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bundle.h"
#include "lib/file.h"
#include "mirror/mirror.h"

struct import {
	const char *dir, *src;
	int quiet;
	char *medium;			/* the tree checked and verified */
	char work[PATH_MAX];		/* an extracted bundle's, or "" */
	char label[PATH_MAX];		/* names a medium's file in messages */
	struct mirror_manifest m;
};

static int
io_fail(struct ferry_error *err, const char *path)
{
	return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
	    strerror(errno));
}

/*
 * Limits for the bundle: lib/bundle's defaults, and no more than the
 * free space where it is extracted.
 */
static int
bundle_limits(const char *where, struct ferry_bundle_limits *lim,
    struct ferry_error *err)
{
	struct statvfs sv;
	uint64_t avail;

	ferry_bundle_limits_default(lim);
	if (statvfs(where, &sv) == -1)
		return io_fail(err, where);
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail < lim->max_total_bytes)
		lim->max_total_bytes = avail > 0 ? avail : 1;
	if (lim->max_file_bytes > lim->max_total_bytes)
		lim->max_file_bytes = lim->max_total_bytes;
	return 0;
}

/* Extract the bundle src into DIR/media/import.PID.XXXXXX/medium. */
static int
extract(struct import *im, struct ferry_error *err)
{
	struct ferry_bundle_limits lim;
	struct ferry_error e = { 0 };
	char path[PATH_MAX + 16];
	int r;

	if ((r = mirror_media_tmp(im->dir, "import", im->work,
	    sizeof(im->work), err)) != 0 ||
	    (r = bundle_limits(im->work, &lim, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/medium", im->work);
	if ((im->medium = strdup(path)) == NULL)
		return FERRY_ERR_NOMEM;
	if (!im->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, "extracting %s...", im->src);
	r = ferry_bundle_extract(im->src, im->medium, &lim, &e);
	if (!im->quiet && isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
	if (r == FERRY_ERR_TOO_LARGE)
		return ferry_error_set(err, r, "%s (the limit in all is the "
		    "free space under %s/media)", ferry_error_msg(&e),
		    im->dir);
	if (r != 0)
		return ferry_error_set(err, r, "%s", ferry_error_msg(&e));
	snprintf(im->label, sizeof(im->label), "%s: ", im->src);
	return 0;
}

/* The medium: src itself, or the bundle src extracted. */
static int
open_medium(struct import *im, struct ferry_error *err)
{
	struct stat st;
	int b;

	if (stat(im->src, &st) == -1)
		return io_fail(err, im->src);
	if (S_ISDIR(st.st_mode)) {
		if ((im->medium = realpath(im->src, NULL)) == NULL)
			return io_fail(err, im->src);
		snprintf(im->label, sizeof(im->label), "%s/", im->medium);
		return 0;
	}
	if ((b = ferry_bundle_is_bundle(im->src)) < 0)
		return io_fail(err, im->src);
	if (b == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: neither "
		    "a directory nor a .tar.zst bundle", im->src);
	return extract(im, err);
}

static int
load_manifest(struct import *im, struct ferry_error *err)
{
	unsigned char *buf = NULL;
	char path[PATH_MAX + 64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/%s", im->medium, MIRROR_MANIFEST);
	if ((r = ferry_file_read(path, MIRROR_MANIFEST_MAX, &buf,
	    &len)) != 0) {
		if (r == FERRY_ERR_IO && errno == ENOENT)
			return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: "
			    "no %s: not an export, or one that did not finish "
			    "(export it again)", im->src, MIRROR_MANIFEST);
		return ferry_error_set(err, r, "%s%s: %s", im->label,
		    MIRROR_MANIFEST, r == FERRY_ERR_IO ? strerror(errno) :
		    ferry_strerror(r));
	}
	snprintf(path, sizeof(path), "%s%s", im->label, MIRROR_MANIFEST);
	r = mirror_manifest_parse(buf, len, path, &im->m, err);
	free(buf);
	return r;
}

/*
 * The medium against its manifest: a file missing or different is named
 * (by mirror_medium_check()), and the medium refused.
 */
static int
check_medium(struct import *im, struct ferry_error *err)
{
	int bad;

	printf("%s: state %" PRId64 " of %s:%s, exported %s: root v%" PRId64
	    ", snapshot v%" PRId64 ", timestamp v%" PRId64 " (expires %s); "
	    "%zu files, %" PRIu64 " bytes\n", im->src, im->m.state,
	    im->m.host, im->m.dir, im->m.created, im->m.root_version,
	    im->m.snapshot_version, im->m.timestamp_version,
	    im->m.timestamp_expires, im->m.nfiles, im->m.bytes);
	fflush(stdout);
	if ((bad = mirror_medium_check(im->medium, im->label, &im->m,
	    im->quiet, err)) < 0)
		return bad;
	if (bad > 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: %d of "
		    "%zu files differ from %s: the medium is damaged or was "
		    "altered (export it again)", im->src, bad, im->m.nfiles,
		    MIRROR_MANIFEST);
	return 0;
}

/*
 * A message about a file of an extracted bundle names the temporary
 * directory, which is gone when it is read: name the bundle instead.
 */
static void
print_refusal(const struct import *im, const struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	const char *msg = ferry_error_msg(err), *p;
	size_t n;

	if (im->work[0] == '\0' || (p = strstr(msg, im->medium)) == NULL) {
		mirror_fail("import", err);
		return;
	}
	n = strlen(im->medium);
	ferry_error_set(&e, err->code, "%.*s%s: %s", (int)(p - msg), msg,
	    im->src, p[n] == '/' ? p + n + 1 : p + n);
	mirror_fail("import", &e);
}

static const char import_usage[] =
    "usage: ferry-mirror import [-d DIR] [--quiet] SRC\n"
    "\n"
    "Take an export (ferry-mirror export) from SRC, a directory (a mounted\n"
    "USB stick) or a .tar.zst bundle, into the mirror DIR.  Every file is\n"
    "checked against the export's ferry-export.json, then the medium is\n"
    "verified as a sync verifies an upstream, against the root and the\n"
    "versions this mirror already trusts: signatures, thresholds, expiry,\n"
    "rollback, every length and hash.  The mirror serves the new state\n"
    "only if all of it verified; otherwise nothing changes.\n";

int
cmd_import(int argc, char **argv)
{
	struct mirror_sync_result res;
	struct mirror_config c;
	struct ferry_error err = { 0 };
	struct mirror_args o;
	struct import im;
	size_t i;
	int rc;

	memset(&im, 0, sizeof(im));
	if ((rc = mirror_args(argc, argv, import_usage, MIRROR_ARG_QUIET |
	    MIRROR_ARG_OPERAND, &o)) >= 0)
		return rc;
	im.dir = o.dir;
	im.src = o.operand;
	im.quiet = o.quiet;
	if (mirror_config_load(im.dir, &c, &err) != 0)
		return mirror_fail(im.dir, &err);
	rc = 1;
	if (open_medium(&im, &err) != 0 || load_manifest(&im, &err) != 0 ||
	    check_medium(&im, &err) != 0) {
		mirror_fail(im.src, &err);
		goto refused;
	}
	/* The medium is the one upstream; patterns and retention stay. */
	for (i = 0; i < c.nupstreams; i++)
		free(c.upstreams[i]);
	c.nupstreams = 0;
	if ((c.upstreams[0] = strdup(im.medium)) == NULL)
		goto out;
	c.nupstreams = 1;
	if (mirror_sync(&c, im.quiet, &res, &err) != 0) {
		print_refusal(&im, &err);
		if (err.code == FERRY_ERR_EXPIRED)
			mirror_failf("the medium's metadata expired on the "
			    "way: carry a fresh export (the origin re-signs "
			    "its timestamp) and import it before it expires");
		else if (err.code == FERRY_ERR_ROLLBACK)
			mirror_failf("the medium is older than what this "
			    "mirror already trusts");
		goto refused;
	}
	if (!res.changed)
		printf("up to date: state %" PRId64 " already serves timestamp "
		    "v%" PRId64 "\n", res.state, res.timestamp_version);
	else
		printf("imported: state %" PRId64 ": root v%" PRId64 ", "
		    "snapshot v%" PRId64 ", timestamp v%" PRId64 "; %" PRIu64
		    " targets, %" PRIu64 " copied (%" PRIu64 " bytes), %"
		    PRIu64 " already held\n", res.state, res.root_version,
		    res.snapshot_version, res.timestamp_version, res.targets,
		    res.fetched, res.fetched_bytes, res.present);
	rc = 0;
	goto out;
 refused:
	fprintf(stderr, "ferry-mirror: nothing imported: the mirror serves "
	    "what it served before\n");
 out:
	if (im.work[0] != '\0')
		(void)ferry_file_rmtree(im.work);
	free(im.medium);
	mirror_manifest_free(&im.m);
	mirror_config_free(&c);
	return rc;
}

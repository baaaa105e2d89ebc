/*
 * ferry-mirror verify and prune: the upkeep of a mirror's tree.
 *
 * verify walks the served tree as a new device would, from the oldest
 * root the mirror kept, with the tree itself as the only upstream: every
 * root version, timestamp, snapshot and role; then every stored target
 * file against its length and hashes.  Each problem is reported; none is
 * repaired (a sync does that).
 *
 * prune removes the states beyond the retention and the target files no
 * remaining state refers to (lib/treegc.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/file.h"
#include "lib/meta.h"
#include "lib/tree.h"
#include "lib/treegc.h"
#include "lib/updater.h"
#include "mirror/mirror.h"

#define TREE_WAIT 60

/* --- verify ------------------------------------------------------------- */

static const char verify_usage[] =
    "usage: ferry-mirror verify [-d DIR]\n"
    "\n"
    "Check the mirror's served tree offline, as a new device would: every\n"
    "root version from the oldest the mirror kept, timestamp, snapshot and\n"
    "every role, then every stored target file against its length and\n"
    "hashes.  Each problem is reported; exit status 1 if there is any.\n"
    "Nothing is changed: to repair, remove the files it names and run\n"
    "ferry-mirror sync --force, which fetches them again.\n";

struct vstate {
	const struct mirror_config *c;
	const char *repo;
	uint64_t targets, files, problems;
};

/* targets/DIR/HEX.NAME for one digest of t. */
static void
stored_name(const char *repo, const char *path, const char *hex, char *out,
    size_t cap)
{
	const char *base = strrchr(path, '/');

	if (base == NULL)
		snprintf(out, cap, "%s/targets/%s.%s", repo, hex, path);
	else
		snprintf(out, cap, "%s/targets/%.*s/%s.%s", repo,
		    (int)(base - path), path, hex, base + 1);
}

/* ferry_updater_list's callback: each name of each target, checked. */
static int
verify_target(void *arg, const char *role, const struct ferry_target *t)
{
	struct vstate *v = arg;
	char file[PATH_MAX + 256];
	const char *alg;
	json_t *h;

	if (!mirror_config_wants(v->c, t->path))
		return 0;
	v->targets++;
	json_object_foreach((json_t *)t->hashes, alg, h) {
		if (!json_is_string(h))
			continue;
		stored_name(v->repo, t->path, json_string_value(h), file,
		    sizeof(file));
		v->files++;
		if (access(file, F_OK) == -1) {
			printf("problem: target %s (%s): %s is missing\n",
			    t->path, role, file);
			v->problems++;
		} else if (!ferry_updater_is_cached(t, file)) {
			printf("problem: target %s (%s): %s does not match "
			    "its length and hashes\n", t->path, role, file);
			v->problems++;
		}
	}
	return 0;
}

/* The oldest root version the mirror kept: DIR/roots/N.root.json. */
static int
oldest_root(const char *dir, char *out, size_t cap)
{
	char roots[PATH_MAX];
	struct dirent *de;
	long long v, best = 0;
	char *end;
	DIR *d;

	snprintf(roots, sizeof(roots), "%s/roots", dir);
	if ((d = opendir(roots)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		errno = 0;
		v = strtoll(de->d_name, &end, 10);
		if (errno == 0 && v > 0 && strcmp(end, ".root.json") == 0 &&
		    (best == 0 || v < best))
			best = v;
	}
	closedir(d);
	if (best == 0)
		return -1;
	snprintf(out, cap, "%s/%lld.root.json", roots, best);
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	struct ferry_updater_config cfg;
	struct ferry_updater *u = NULL;
	struct mirror_config c;
	struct ferry_error err = { 0 };
	struct vstate v;
	unsigned char *buf = NULL;
	struct mirror_args o;
	const char *dir, *up[1];
	char repo[PATH_MAX + 32], meta[PATH_MAX + 48];
	char root[PATH_MAX + 64], tmp[PATH_MAX], path[PATH_MAX + 16];
	size_t len;
	int rc, r;

	if ((rc = mirror_args(argc, argv, verify_usage, 0, &o)) >= 0)
		return rc;
	dir = o.dir;
	if (mirror_config_load(dir, &c, &err) != 0)
		return mirror_fail(dir, &err);
	rc = 1;
	tmp[0] = '\0';
	memset(&v, 0, sizeof(v));
	v.c = &c;
	/* Absolute: the tree is the updater's upstream. */
	if (realpath(dir, path) == NULL) {
		mirror_failf("%s: %s", dir, strerror(errno));
		goto out;
	}
	snprintf(repo, sizeof(repo), "%s/repo", path);
	v.repo = repo;
	snprintf(meta, sizeof(meta), "%s/metadata", repo);
	if (access(meta, F_OK) == -1) {
		printf("%s: nothing synced yet: nothing to verify\n", repo);
		rc = 0;
		goto out;
	}
	/* A trust of its own, from the oldest root kept. */
	if (oldest_root(dir, root, sizeof(root)) != 0)
		snprintf(root, sizeof(root), "%s/trusted/root.json", dir);
	if (mirror_media_tmp(dir, "verify", tmp, sizeof(tmp), &err) != 0) {
		mirror_fail(dir, &err);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/root.json", tmp);
	if ((r = ferry_file_read(root, 1u << 20, &buf, &len)) != 0 ||
	    (r = ferry_file_write_atomic(path, buf, len, 0644)) != 0) {
		mirror_failf("%s: %s", root, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
		goto out;
	}
	ferry_updater_config_default(&cfg);
	cfg.metadata_dir = tmp;
	up[0] = meta;
	cfg.metadata_urls = up;
	cfg.nmetadata_urls = 1;
	cfg.snapshot_max_length = 64u << 20;
	cfg.targets_max_length = 64u << 20;
	if (ferry_updater_new(&cfg, &u, &err) != 0) {
		mirror_fail(root, &err);
		goto out;
	}
	printf("verifying %s from %s\n", repo, root);
	if (ferry_updater_refresh(u, &err) != 0 ||
	    ferry_updater_list(u, 0, verify_target, &v, &err) != 0) {
		printf("problem: metadata: %s\n", ferry_error_msg(&err));
		v.problems++;
	} else
		printf("metadata: root v%" PRId64 ", timestamp v%" PRId64
		    ", snapshot v%" PRId64 ": verified\n",
		    ferry_updater_trusted(u, "root")->version,
		    ferry_updater_trusted(u, "timestamp")->version,
		    ferry_updater_trusted(u, "snapshot")->version);
	printf("targets: %" PRIu64 " checked (%" PRIu64 " files)\n", v.targets,
	    v.files);
	printf("%" PRIu64 " problem%s\n", v.problems, v.problems == 1 ? "" :
	    "s");
	rc = v.problems == 0 ? 0 : 1;
 out:
	if (tmp[0] != '\0')
		(void)ferry_file_rmtree(tmp);
	ferry_updater_free(u);
	free(buf);
	mirror_config_free(&c);
	return rc;
}

/* --- prune -------------------------------------------------------------- */

static const char prune_usage[] =
    "usage: ferry-mirror prune [-d DIR] [--retain-states N]\n"
    "\n"
    "Remove the published states beyond the newest N (default: the\n"
    "mirror's retain_states), never the live one, and every target file\n"
    "no remaining state refers to.  A state whose metadata cannot be read\n"
    "stops it before anything is removed.\n";

int
cmd_prune(int argc, char **argv)
{
	struct mirror_config c;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	int64_t *st = NULL;
	uint64_t files = 0, bytes = 0;
	struct mirror_args o;
	const char *dir;
	char repo[PATH_MAX];
	unsigned keep = 0, removed = 0;
	size_t n, i;
	int rc;

	if ((rc = mirror_args(argc, argv, prune_usage, MIRROR_ARG_RETAIN,
	    &o)) >= 0)
		return rc;
	dir = o.dir;
	keep = o.retain;
	if (mirror_config_load(dir, &c, &err) != 0)
		return mirror_fail(dir, &err);
	if (keep == 0)
		keep = c.retain_states;
	rc = 1;
	snprintf(repo, sizeof(repo), "%s/repo", dir);
	if (ferry_tree_open(repo, TREE_WAIT, &t, &err) != 0) {
		mirror_fail(repo, &err);
		goto out;
	}
	if (ferry_tree_states(t, &st, &n, &err) != 0) {
		mirror_fail(repo, &err);
		goto out;
	}
	for (i = 0; i + keep < n; i++) {
		if (st[i] == ferry_tree_live(t))
			continue;
		if (ferry_tree_state_remove(t, st[i], &err) != 0) {
			mirror_fail(repo, &err);
			goto out;
		}
		removed++;
	}
	if (ferry_treegc_targets(t, &files, &bytes, &err) != 0) {
		mirror_fail(repo, &err);
		goto out;
	}
	printf("pruned %u states and %" PRIu64 " target files (%" PRIu64
	    " bytes)\n", removed, files, bytes);
	rc = 0;
 out:
	free(st);
	ferry_tree_close(t);
	mirror_config_free(&c);
	return rc;
}

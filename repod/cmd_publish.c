/* ferry-repod init, publish, refresh, status, log and prune. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/bundle.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "repod/publish.h"

#define DEFAULT_DIR "/var/lib/ferry-repod"

/* The options every verb here shares, and each verb's own. */
struct args {
	const char *dir, *config, *root, *images, *skey, *tkey;
	int force, limit, pfd;
	const char *credentials;
};

enum { O_PFD = 256, O_CRED, O_ROOT, O_IMAGES, O_SKEY, O_TKEY, O_FORCE,
    O_LIMIT };

static int
parse(int argc, char **argv, const char *usage, const char *allowed,
    struct args *a)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "passphrase-fd", required_argument, NULL, O_PFD },
		{ "credentials", required_argument, NULL, O_CRED },
		{ "root", required_argument, NULL, O_ROOT },
		{ "images", required_argument, NULL, O_IMAGES },
		{ "snapshot-key", required_argument, NULL, O_SKEY },
		{ "timestamp-key", required_argument, NULL, O_TKEY },
		{ "force", no_argument, NULL, O_FORCE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name;
	char *end;
	int c, idx;

	memset(a, 0, sizeof(*a));
	a->dir = DEFAULT_DIR;
	a->pfd = -1;
	a->limit = 20;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:c:h", opts, &idx)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (c == '?')
			goto bad;
		/* Only the verb's own options. */
		name = c == 'd' ? "dir" : c == 'c' ? "config" :
		    opts[idx].name;
		if (c != 'd' && c != 'c' && strstr(allowed, name) == NULL) {
			fprintf(stderr, "ferry-repod: %s: --%s does not apply "
			    "here\n", argv[0], name);
			goto bad;
		}
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'c': a->config = optarg; break;
		case O_PFD:
			if ((a->pfd = repod_parse_fd("--passphrase-fd",
			    optarg)) < 0)
				return 2;
			break;
		case O_CRED: a->credentials = optarg; break;
		case O_ROOT: a->root = optarg; break;
		case O_IMAGES: a->images = optarg; break;
		case O_SKEY: a->skey = optarg; break;
		case O_TKEY: a->tkey = optarg; break;
		case O_FORCE: a->force = 1; break;
		case O_LIMIT:
			errno = 0;
			a->limit = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || a->limit < 0) {
				fprintf(stderr, "ferry-repod: --limit %s: not "
				    "a count\n", optarg);
				goto bad;
			}
			break;
		default:
			goto bad;
		}
	}
	return -1;
 bad:
	fputs(usage, stderr);
	return 2;
}

/* Defaults, DIR/repod.json or -c FILE, then the flags. */
static int
load_config(const struct args *a, struct repod_config *c)
{
	struct ferry_error err = { 0 };

	if (repod_config_init(c, a->dir) != 0)
		return repod_failf("out of memory");
	if (repod_config_load(c, a->config, &err) != 0 ||
	    (a->credentials != NULL && repod_config_set(c, "credentials",
	    a->credentials, &err) != 0) ||
	    repod_config_check(c, &err) != 0) {
		repod_config_free(c);
		return repod_fail("configuration", &err);
	}
	if (a->pfd >= 0)
		c->passphrase_fd = a->pfd;
	return 0;
}

static void
actor(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");

	snprintf(buf, len, "%s (uid %lu)%s%s", pw != NULL ? pw->pw_name : "?",
	    (unsigned long)getuid(), sudo != NULL ? " via sudo from " : "",
	    sudo != NULL ? sudo : "");
}

/* Open the state directory for writing, with or without keys. */
static int
open_ctx(const struct repod_config *c, int keys, struct keyd **kd,
    struct repod_ctx **x)
{
	struct ferry_error err = { 0 };
	char who[160];

	*kd = NULL;
	if (keys && keyd_start(c, kd, &err) != 0)
		return repod_fail("the online keys", &err);
	actor(who, sizeof(who));
	if (repod_ctx_open(c, *kd, who, x, &err) != 0) {
		keyd_stop(*kd);
		*kd = NULL;
		return repod_fail(c->dir, &err);
	}
	return 0;
}

/* --- init --------------------------------------------------------------- */

static const char init_usage[] =
    "usage: ferry-repod init [-d DIR] --root ROOT [--snapshot-key KEYFILE]\n"
    "                        [--timestamp-key KEYFILE]\n"
    "\n"
    "Make the state directory DIR (default " DEFAULT_DIR ") for an origin\n"
    "that trusts ROOT, a root metadata file signed by a threshold of its own\n"
    "root keys: bundles are checked against it until the first one is\n"
    "published, then against the newest published root.  The encrypted\n"
    "online key files (made with `ferry-sign key generate`) are copied to\n"
    "DIR/keys/ when given; they can be put there later too.\n";

static int
copy_key(const char *from, const char *dir, const char *leaf)
{
	unsigned char *buf = NULL;
	char path[PATH_MAX];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/keys", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return repod_failf("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/keys/%s", dir, leaf);
	if ((r = ferry_file_read(from, 1u << 20, &buf, &len)) != 0)
		return repod_failf("%s: %s", from, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	r = ferry_file_write_new(path, buf, len, 0600);
	sodium_memzero(buf, len);
	free(buf);
	if (r != 0)
		return repod_failf("%s: %s", path, errno == EEXIST ?
		    "already exists" : strerror(errno));
	return 0;
}

int
cmd_init(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	struct ferry_catalog *cat = NULL;
	struct ferry_tree *tree = NULL;
	struct repod_config c;
	struct args a;
	unsigned char *buf = NULL;
	char path[PATH_MAX], who[160];
	size_t len;
	int rc, made_s = 0, made_t = 0;

	if ((rc = parse(argc, argv, init_usage, "root snapshot-key "
	    "timestamp-key", &a)) >= 0)
		return rc;
	if (a.root == NULL || optind != argc) {
		fputs(init_usage, stderr);
		return 2;
	}
	if (load_config(&a, &c) != 0)
		return 1;
	rc = 1;
	if ((rc = ferry_file_read(a.root, REPOD_META_MAX, &buf, &len)) != 0) {
		repod_failf("%s: %s", a.root, rc == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	if (ferry_meta_parse(buf, len, REPOD_META_MAX, &md, &err) != 0 ||
	    ferry_meta_verify_by_root(md, FERRY_META_ROOT, md, NULL,
	    &err) != 0) {
		repod_fail(a.root, &err);
		goto out;
	}
	if (md->consistent_snapshot != 1) {
		repod_failf("%s: consistent_snapshot must be true", a.root);
		goto out;
	}
	if (mkdir(a.dir, 0755) != 0 && errno != EEXIST) {
		repod_failf("%s: %s", a.dir, strerror(errno));
		goto out;
	}
	/*
	 * The keys first, root.json last: root.json is what makes DIR
	 * initialised, so an init that fails leaves none of its files
	 * behind and can simply be run again.
	 */
	snprintf(path, sizeof(path), "%s/root.json", a.dir);
	if (access(path, F_OK) == 0) {
		repod_failf("%s: already initialised", path);
		goto out;
	}
	if (a.skey != NULL) {
		if (copy_key(a.skey, a.dir, "snapshot.key") != 0)
			goto out;
		made_s = 1;
	}
	if (a.tkey != NULL) {
		if (copy_key(a.tkey, a.dir, "timestamp.key") != 0)
			goto undo;
		made_t = 1;
	}
	if (ferry_file_write_new(path, buf, len, 0644) != 0) {
		repod_failf("%s: %s", path, errno == EEXIST ? "already "
		    "initialised" : strerror(errno));
		goto undo;
	}
	actor(who, sizeof(who));
	if (ferry_tree_open(c.repo, REPOD_LOCK_WAIT, &tree, &err) != 0 ||
	    ferry_catalog_open(c.catalog, &cat, &err) != 0 ||
	    ferry_catalog_audit(cat, (int64_t)time(NULL), who, "init", 0,
	    a.root, &err) != 0) {
		repod_fail(a.dir, &err);
		goto out;
	}
	printf("initialised %s: trusting root v%" PRId64 " (expires %s)\n",
	    a.dir, md->version, md->expires_str);
	rc = 0;
	goto out;
 undo:
	if (made_s) {
		snprintf(path, sizeof(path), "%s/keys/snapshot.key", a.dir);
		(void)unlink(path);
	}
	if (made_t) {
		snprintf(path, sizeof(path), "%s/keys/timestamp.key", a.dir);
		(void)unlink(path);
	}
 out:
	ferry_catalog_close(cat);
	ferry_tree_close(tree);
	ferry_meta_free(md);
	free(buf);
	repod_config_free(&c);
	return rc;
}

/* --- publish ------------------------------------------------------------ */

static const char publish_usage[] =
    "usage: ferry-repod publish [-d DIR] [-c FILE] [--images DIR]\n"
    "                           [--passphrase-fd N | --credentials FILE]\n"
    "                           BUNDLE\n"
    "\n"
    "Publish BUNDLE, a publication bundle from `ferry-sign bundle` (a\n"
    ".tar.zst file or a directory).  Every role is checked as a client\n"
    "would: the root chain from the root trusted now, each role against\n"
    "its delegator's keys and threshold, paths, expiry, and versions that\n"
    "never go back.  The images of new targets are read from the images\n"
    "directory (DIR/TARGET-PATH), checked against their length and hashes\n"
    "and stored by content.  Then snapshot and timestamp are signed with\n"
    "the online keys and the new state replaces the old one atomically.\n"
    "Nothing served changes unless all of it succeeds.\n"
    "\n"
    "  --images DIR          where the new targets' images are\n"
    "  --passphrase-fd N     the online keys' passphrase from descriptor N\n"
    "  --credentials FILE    or from FILE (mode 0600)\n";

static int
file_sha256(const char *path, char *hex)
{
	unsigned char *buf = NULL, d[FERRY_HASH_MAX];
	struct ferry_hash *h = NULL;
	size_t dl;
	ssize_t n;
	int fd, r = -1;

	if ((fd = ferry_file_open_regular(path, NULL)) == -1)
		return -1;
	if ((buf = malloc(1u << 16)) == NULL ||
	    ferry_hash_new(FERRY_HASH_SHA256, &h) != 0)
		goto out;
	while ((n = read(fd, buf, 1u << 16)) > 0)
		if (ferry_hash_update(h, buf, (size_t)n) != 0)
			goto out;
	if (n == 0 && ferry_hash_final(h, d, &dl) == 0) {
		ferry_hex_encode(d, dl, hex);
		r = 0;
	}
 out:
	ferry_hash_free(h);
	free(buf);
	close(fd);
	return r;
}

/* The bundle as a directory: extracted into tmp if it is an archive. */
static int
bundle_dir(const char *bundle, const char *statedir, char *tmp, size_t tmplen,
    char *dir, size_t dirlen, char *sha)
{
	struct ferry_bundle_limits lim;
	struct ferry_error err = { 0 };
	char manifest[PATH_MAX], again[2 * FERRY_HASH_MAX + 1];
	struct stat st;
	int is;

	tmp[0] = '\0';
	if ((is = ferry_bundle_is_bundle(bundle)) < 0)
		return repod_failf("%s: %s", bundle, strerror(errno));
	if (!is) {
		if (stat(bundle, &st) == -1)
			return repod_failf("%s: %s", bundle, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return repod_failf("%s: not a bundle (a .tar.zst "
			    "written by ferry-sign bundle starts with zstd's "
			    "magic number) and not a directory", bundle);
		snprintf(dir, dirlen, "%s", bundle);
		snprintf(manifest, sizeof(manifest), "%s/manifest.json",
		    bundle);
		if (file_sha256(manifest, sha) != 0)
			return repod_failf("%s: not a bundle directory: "
			    "manifest.json: %s", bundle, strerror(errno));
		return 0;
	}
	if (file_sha256(bundle, sha) != 0)
		return repod_failf("%s: %s", bundle, strerror(errno));
	snprintf(tmp, tmplen, "%s/tmp.XXXXXX", statedir);
	if (mkdtemp(tmp) == NULL) {
		repod_failf("%s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		return 1;
	}
	snprintf(dir, dirlen, "%s/bundle", tmp);
	/* A publication holds metadata only: limits to match. */
	ferry_bundle_limits_default(&lim);
	lim.max_file_bytes = REPOD_META_MAX;
	lim.max_total_bytes = REPOD_BUNDLE_MAX;
	if (ferry_bundle_extract(bundle, dir, &lim, &err) != 0)
		return repod_fail(bundle, &err);
	/* The hash the catalog records is of what was extracted. */
	if (file_sha256(bundle, again) != 0)
		return repod_failf("%s: %s", bundle, strerror(errno));
	if (strcmp(sha, again) != 0)
		return repod_failf("%s: changed while it was read; publish it "
		    "again once it is complete", bundle);
	return 0;
}

/*
 * Progress while images are stored: a line redrawn in place on a
 * terminal, a log line every 10 seconds otherwise.
 */
static void
show_progress(const struct repod_progress *pr)
{
	static struct timespec last;
	static int shown;
	struct timespec now;
	int64_t ms;
	int tty = isatty(STDERR_FILENO);

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - last.tv_sec) * 1000 +
	    (now.tv_nsec - last.tv_nsec) / 1000000;
	if (pr->last) {
		if (tty && shown)
			fputs("\r\033[K", stderr);
		return;
	}
	if (last.tv_sec == 0) {
		last = now;	/* nothing for the first second */
		return;
	}
	if (ms < (tty ? 200 : 10000))
		return;
	last = now;
	if (tty) {
		fprintf(stderr, "\r\033[Kimages: %" PRIu64 "/%" PRIu64
		    " targets checked, %" PRIu64 " stored (%.1f MiB)",
		    pr->done, pr->total, pr->stored,
		    (double)pr->bytes / (1024 * 1024));
		shown = 1;
	} else {
		char d[24], t[24], n[24], b[24];

		snprintf(d, sizeof(d), "%" PRIu64, pr->done);
		snprintf(t, sizeof(t), "%" PRIu64, pr->total);
		snprintf(n, sizeof(n), "%" PRIu64, pr->stored);
		snprintf(b, sizeof(b), "%" PRIu64, pr->bytes);
		repod_log("info", "storing images", "checked", d, "of", t,
		    "stored", n, "bytes", b, NULL);
	}
}

int
cmd_publish(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct repod_ctx *x = NULL;
	struct repod_config c;
	struct keyd *kd = NULL;
	struct args a;
	char tmp[PATH_MAX], dir[PATH_MAX], sha[2 * FERRY_HASH_MAX + 1];
	uint64_t files, bytes;
	int64_t before;
	int rc, unchanged;

	if ((rc = parse(argc, argv, publish_usage, "images passphrase-fd "
	    "credentials", &a)) >= 0)
		return rc;
	if (optind != argc - 1) {
		fputs(publish_usage, stderr);
		return 2;
	}
	if (load_config(&a, &c) != 0)
		return 1;
	rc = 1;
	tmp[0] = '\0';
	if (open_ctx(&c, 1, &kd, &x) != 0 ||
	    bundle_dir(argv[optind], c.dir, tmp, sizeof(tmp), dir, sizeof(dir),
	    sha) != 0)
		goto out;
	x->progress = show_progress;
	before = ferry_tree_live(x->tree);
	if (repod_publish(x, dir, sha, a.images, &unchanged, &err) != 0) {
		repod_fail(argv[optind], &err);
		if (ferry_tree_live(x->tree) != before)
			fprintf(stderr, "ferry-repod: but %s is published as "
			    "state %" PRId64 " (what failed came after the "
			    "switch)\n", argv[optind],
			    ferry_tree_live(x->tree));
		else
			fprintf(stderr, "ferry-repod: nothing was published; "
			    "what is served is unchanged\n");
		goto out;
	}
	if (unchanged) {
		printf("%s: nothing new; state %" PRId64 " stays published\n",
		    argv[optind], ferry_tree_live(x->tree));
		rc = 0;
		goto out;
	}
	printf("published %s as state %" PRId64 "\n", argv[optind],
	    ferry_tree_live(x->tree));
	if (repod_prune_targets(x, &files, &bytes, &err) != 0)
		repod_log("warning", "pruning images failed", "error",
		    ferry_error_msg(&err), NULL);
	else if (files > 0)
		printf("pruned %" PRIu64 " image files (%" PRIu64 " bytes) no "
		    "retained state refers to\n", files, bytes);
	rc = 0;
 out:
	if (tmp[0] != '\0')
		(void)ferry_file_rmtree(tmp);
	repod_ctx_close(x);
	keyd_stop(kd);
	repod_config_free(&c);
	return rc;
}

/* --- refresh ------------------------------------------------------------ */

static const char refresh_usage[] =
    "usage: ferry-repod refresh [-d DIR] [-c FILE] [--force]\n"
    "                           [--passphrase-fd N | --credentials FILE]\n"
    "\n"
    "Re-sign timestamp, and snapshot when it is near its own expiry, if\n"
    "they are due (less than timestamp_refresh or snapshot_refresh left);\n"
    "with --force, both now.  `serve` does this by itself.\n";

int
cmd_refresh(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct repod_ctx *x = NULL;
	struct repod_config c;
	struct keyd *kd = NULL;
	struct args a;
	int64_t next = 0;
	int rc, did;
	char when[32];

	if ((rc = parse(argc, argv, refresh_usage, "force passphrase-fd "
	    "credentials", &a)) >= 0)
		return rc;
	if (optind != argc) {
		fputs(refresh_usage, stderr);
		return 2;
	}
	if (load_config(&a, &c) != 0)
		return 1;
	rc = 1;
	if (open_ctx(&c, 1, &kd, &x) != 0)
		goto out;
	x->quiet = 1;
	if (repod_refresh(x, a.force, &did, &next, &err) != 0) {
		repod_fail(c.dir, &err);
		goto out;
	}
	(void)ferry_meta_format_time(next, when, sizeof(when));
	if (did)
		printf("re-signed: state %" PRId64 "; next due %s\n",
		    ferry_tree_live(x->tree), when);
	else
		printf("nothing due before %s\n", when);
	rc = 0;
 out:
	repod_ctx_close(x);
	keyd_stop(kd);
	repod_config_free(&c);
	return rc;
}

/* --- status, log -------------------------------------------------------- */

static const char status_usage[] =
    "usage: ferry-repod status [-d DIR] [-c FILE]\n"
    "\n"
    "What is published: the live state, each top-level role's version and\n"
    "expiry, and who published it when.\n";

static void
show_role(const char *name, const struct ferry_meta *md, int64_t now)
{
	int64_t left = md->expires - now;

	printf("  %-10s v%-8" PRId64 " expires %s (%s%" PRId64 "h%02" PRId64
	    "m)\n", name, md->version, md->expires_str, left < 0 ?
	    "EXPIRED " : "in ", (left < 0 ? -left : left) / 3600,
	    ((left < 0 ? -left : left) % 3600) / 60);
}

/* Publications by status, for status. */
static int
count_pub(const struct ferry_catalog_pub *p, void *arg)
{
	unsigned *n = arg;

	if ((unsigned)p->status <= FERRY_CATALOG_PRUNED)
		n[p->status]++;
	return 0;
}

int
cmd_status(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_catalog_pub pub;
	struct repod_ctx *x = NULL;
	struct repod_config c;
	struct repod_live live;
	struct keyd *kd = NULL;
	struct args a;
	int64_t now = (int64_t)time(NULL);
	unsigned npub[FERRY_CATALOG_PRUNED + 1] = { 0 };
	char when[32];
	int rc;

	memset(&live, 0, sizeof(live));
	if ((rc = parse(argc, argv, status_usage, "", &a)) >= 0)
		return rc;
	if (optind != argc) {
		fputs(status_usage, stderr);
		return 2;
	}
	if (load_config(&a, &c) != 0)
		return 1;
	rc = 1;
	if (open_ctx(&c, 0, &kd, &x) != 0)
		goto out;
	if (repod_live_load(x, &live, &err) != 0) {
		repod_fail(c.dir, &err);
		goto out;
	}
	if (live.timestamp == NULL) {
		printf("%s: nothing published yet; trusting root v%" PRId64
		    "\n", c.dir, live.root->version);
		rc = 0;
		goto out;
	}
	printf("%s: state %" PRId64 "\n", c.repo, ferry_tree_live(x->tree));
	show_role("root", live.root, now);
	show_role("snapshot", live.snapshot, now);
	show_role("timestamp", live.timestamp, now);
	if (ferry_catalog_pub_get_live(x->cat, &pub, &err) == 0) {
		(void)ferry_meta_format_time(pub.when, when, sizeof(when));
		printf("  published by %s at %s (%s)\n", pub.actor, when,
		    pub.kind);
	}
	if (ferry_catalog_pub_foreach(x->cat, 0, count_pub, npub, &err) != 0) {
		repod_fail(c.catalog, &err);
		goto out;
	}
	printf("  publications: %u live, %u superseded (kept), %u pruned, "
	    "%u abandoned, %u pending\n", npub[FERRY_CATALOG_LIVE],
	    npub[FERRY_CATALOG_SUPERSEDED], npub[FERRY_CATALOG_PRUNED],
	    npub[FERRY_CATALOG_ABANDONED], npub[FERRY_CATALOG_PENDING]);
	rc = 0;
 out:
	repod_live_free(&live);
	repod_ctx_close(x);
	repod_config_free(&c);
	return rc;
}

static const char log_usage[] =
    "usage: ferry-repod log [-d DIR] [-c FILE] [--limit N]\n"
    "\n"
    "The audit log, newest first: when, who, what (init, publish, refresh),\n"
    "the state it made and details.  --limit N shows the last N (default\n"
    "20; 0 for all).\n";

static int
show_entry(const struct ferry_catalog_entry *e, void *arg)
{
	char when[32];

	(void)arg;
	(void)ferry_meta_format_time(e->when, when, sizeof(when));
	printf("%s  %-8s %s", when, e->action, e->actor);
	if (e->pub != 0)
		printf("  publication %" PRId64, e->pub);
	if (e->detail != NULL)
		printf("  %s", e->detail);
	putchar('\n');
	return 0;
}

int
cmd_log(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_catalog *cat = NULL;
	struct repod_config c;
	struct args a;
	int rc;

	if ((rc = parse(argc, argv, log_usage, "limit", &a)) >= 0)
		return rc;
	if (optind != argc) {
		fputs(log_usage, stderr);
		return 2;
	}
	if (load_config(&a, &c) != 0)
		return 1;
	rc = 1;
	if (ferry_catalog_open(c.catalog, &cat, &err) != 0 ||
	    ferry_catalog_audit_foreach(cat, (unsigned)a.limit, show_entry,
	    NULL, &err) != 0) {
		repod_fail(c.catalog, &err);
		goto out;
	}
	rc = 0;
 out:
	ferry_catalog_close(cat);
	repod_config_free(&c);
	return rc;
}

/* --- prune -------------------------------------------------------------- */

static const char prune_usage[] =
    "usage: ferry-repod prune [-d DIR] [-c FILE]\n"
    "\n"
    "Remove states older than the retained ones (the newest retain_states,\n"
    "and any younger than retain_seconds) and the image files no retained\n"
    "state refers to.  Publishing prunes too; this is for a changed\n"
    "policy.  The live state and what it refers to are never removed.\n";

int
cmd_prune(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct repod_ctx *x = NULL;
	struct repod_config c;
	struct keyd *kd = NULL;
	struct args a;
	uint64_t files = 0, bytes = 0;
	unsigned states = 0;
	int rc;

	if ((rc = parse(argc, argv, prune_usage, "", &a)) >= 0)
		return rc;
	if (optind != argc) {
		fputs(prune_usage, stderr);
		return 2;
	}
	if (load_config(&a, &c) != 0)
		return 1;
	rc = 1;
	if (open_ctx(&c, 0, &kd, &x) != 0)
		goto out;
	if (repod_prune_states(x, &states, &err) != 0 ||
	    repod_prune_targets(x, &files, &bytes, &err) != 0) {
		repod_fail(c.dir, &err);
		goto out;
	}
	printf("pruned %u states and %" PRIu64 " image files (%" PRIu64
	    " bytes)\n", states, files, bytes);
	rc = 0;
 out:
	repod_ctx_close(x);
	repod_config_free(&c);
	return rc;
}

/*
 * The demonstration behind "ferry-tuftool demo DIR": make keys in memory,
 * build and sign a small consistent-snapshot repository, write it with
 * atomic writes, then load it back from disk and verify every link of the
 * chain of trust as a client would.
 *
 * Layout (the one repod will serve):
 *   DIR/metadata/1.root.json, root.json     root, self-signed
 *   DIR/metadata/1.targets.json             targets, delegating "apps"
 *   DIR/metadata/1.apps.json                the delegated role
 *   DIR/metadata/1.snapshot.json            snapshot of targets and apps
 *   DIR/metadata/timestamp.json             timestamp of the snapshot
 *   DIR/targets/HASH.NAME                   each target under each digest
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/err.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "lib/seckey.h"

int demo_run(const char *dir);

enum { K_ROOT, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_APPS, NKEYS };

struct demo {
	const char *dir;
	struct ferry_seckey *keys[NKEYS];
	int64_t now;
	struct ferry_error err;
};

static const char hello[] = "Hello from Ferry: every byte verified.\n";
static const char app[] = "demo guest image bytes\n";

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* mkdir -p: each missing component in turn. */
static int
mkdir_p(const char *path)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return FERRY_ERR_IO;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return FERRY_ERR_IO;
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return FERRY_ERR_IO;
	return 0;
}

static json_t *
expiry(const struct demo *d, int days)
{
	char buf[32];

	if (ferry_meta_format_time(d->now + (int64_t)days * 86400, buf,
	    sizeof(buf)) != 0)
		return NULL;
	return json_string(buf);
}

/* {"keyids": [id], "threshold": 1} */
static json_t *
role_of(struct ferry_seckey *k)
{
	return json_pack("{s:[s], s:i}", "keyids", ferry_seckey_keyid(k),
	    "threshold", 1);
}

static int
add_key(json_t *keys, struct ferry_seckey *k)
{
	json_t *pub = NULL;

	if (ferry_seckey_public_json(k, &pub) != 0)
		return FERRY_ERR_NOMEM;
	return json_object_set_new(keys, ferry_seckey_keyid(k), pub) == 0 ?
	    0 : FERRY_ERR_NOMEM;
}

/* A target entry with sha256 and sha512 of data. */
static json_t *
target_of(const char *data, size_t len, json_t *custom)
{
	static const enum ferry_hash_alg algs[] = {
		FERRY_HASH_SHA256, FERRY_HASH_SHA512
	};
	unsigned char dg[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1];
	json_t *t, *h;
	size_t i, n;

	if ((t = json_pack("{s:I, s:{}}", "length", (json_int_t)len,
	    "hashes")) == NULL)
		return NULL;
	h = json_object_get(t, "hashes");
	for (i = 0; i < 2; i++) {
		if (ferry_hash_buf(algs[i], data, len, dg, &n) != 0)
			goto fail;
		ferry_hex_encode(dg, n, hex);
		if (json_object_set_new(h, ferry_hash_alg_name(algs[i]),
		    json_string(hex)) != 0)
			goto fail;
	}
	if (custom != NULL && json_object_set_new(t, "custom", custom) != 0)
		goto fail;
	return t;
 fail:
	json_decref(t);
	return NULL;
}

/* Sign the metadata signed_obj with k and write it as DIR/metadata/name. */
static int
sign_write(struct demo *d, json_t *signed_obj, struct ferry_seckey *k,
    const char *name, json_t **doc_out)
{
	struct ferry_meta *md = NULL;
	unsigned char *buf = NULL;
	char path[4096];
	size_t len;
	int r;

	if (signed_obj == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = ferry_meta_from_signed(signed_obj, &md, &d->err)) != 0 ||
	    (r = ferry_meta_sign(md, k, &d->err)) != 0 ||
	    (r = ferry_meta_serialize(md, &buf, &len, &d->err)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/metadata/%s", d->dir, name);
	if ((r = ferry_file_write_atomic(path, buf, len, 0644)) != 0) {
		ferry_error_set(&d->err, r, "%s: %s", path, strerror(errno));
		goto out;
	}
	say("  signed   %-20s %zu bytes, key %.16s…", name, len,
	    ferry_seckey_keyid(k));
	if (doc_out != NULL)
		*doc_out = json_incref(md->doc);
 out:
	free(buf);
	ferry_meta_free(md);
	json_decref(signed_obj);
	return r;
}

/* A snapshot/timestamp "meta" entry for the file just written. */
static json_t *
metafile_of(struct demo *d, const char *name, int with_hashes)
{
	unsigned char *buf = NULL, dg[FERRY_HASH_MAX];
	char path[4096], hex[2 * FERRY_HASH_MAX + 1];
	size_t len, n;
	json_t *o;

	snprintf(path, sizeof(path), "%s/metadata/%s", d->dir, name);
	if (ferry_file_read(path, FERRY_META_MAX_DEFAULT, &buf, &len) != 0)
		return NULL;
	if (!with_hashes) {
		free(buf);
		return json_pack("{s:i}", "version", 1);
	}
	if (ferry_hash_buf(FERRY_HASH_SHA256, buf, len, dg, &n) != 0) {
		free(buf);
		return NULL;
	}
	free(buf);
	ferry_hex_encode(dg, n, hex);
	o = json_pack("{s:i, s:I, s:{s:s}}", "version", 1, "length",
	    (json_int_t)len, "hashes", "sha256", hex);
	return o;
}

static int
write_target(struct demo *d, const char *subdir, const char *name,
    const char *data, size_t len)
{
	static const enum ferry_hash_alg algs[] = {
		FERRY_HASH_SHA256, FERRY_HASH_SHA512
	};
	unsigned char dg[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1], path[4096];
	size_t i, n;
	int r;

	snprintf(path, sizeof(path), "%s/targets%s%s", d->dir,
	    subdir ? "/" : "", subdir ? subdir : "");
	if ((r = mkdir_p(path)) != 0)
		return ferry_error_set(&d->err, r, "%s: %s", path,
		    strerror(errno));
	for (i = 0; i < 2; i++) {
		if ((r = ferry_hash_buf(algs[i], data, len, dg, &n)) != 0)
			return r;
		ferry_hex_encode(dg, n, hex);
		snprintf(path, sizeof(path), "%s/targets%s%s/%s.%s", d->dir,
		    subdir ? "/" : "", subdir ? subdir : "", hex, name);
		if ((r = ferry_file_write_atomic(path, data, len, 0644)) != 0)
			return ferry_error_set(&d->err, r, "%s: %s", path,
			    strerror(errno));
	}
	return 0;
}

static int
build(struct demo *d)
{
	json_t *keys, *dkeys, *s;
	int r;

	/* root: every top-level role, and root's own consistent snapshots. */
	if ((keys = json_object()) == NULL)
		return FERRY_ERR_NOMEM;
	for (int i = K_ROOT; i <= K_TIMESTAMP; i++)
		if ((r = add_key(keys, d->keys[i])) != 0) {
			json_decref(keys);
			return r;
		}
	s = json_pack("{s:s, s:s, s:i, s:o, s:b, s:o, s:{s:o, s:o, s:o, s:o}}",
	    "_type", "root", "spec_version", "1.0.31", "version", 1,
	    "expires", expiry(d, 365), "consistent_snapshot", 1,
	    "keys", keys, "roles",
	    "root", role_of(d->keys[K_ROOT]),
	    "targets", role_of(d->keys[K_TARGETS]),
	    "snapshot", role_of(d->keys[K_SNAPSHOT]),
	    "timestamp", role_of(d->keys[K_TIMESTAMP]));
	if ((r = sign_write(d, json_incref(s), d->keys[K_ROOT],
	    "1.root.json", NULL)) != 0 ||
	    (r = sign_write(d, s, d->keys[K_ROOT], "root.json", NULL)) != 0)
		return r;

	/* apps: the delegated role, holding the app image. */
	s = json_pack("{s:s, s:s, s:i, s:o, s:{s:o}}",
	    "_type", "targets", "spec_version", "1.0.31", "version", 1,
	    "expires", expiry(d, 90), "targets",
	    "apps/demo.img", target_of(app, sizeof(app) - 1,
	    json_pack("{s:s}", "app", "demo")));
	if ((r = sign_write(d, s, d->keys[K_APPS], "1.apps.json", NULL)) != 0)
		return r;

	/* targets: one file of its own, and the apps directory delegated. */
	if ((dkeys = json_object()) == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = add_key(dkeys, d->keys[K_APPS])) != 0) {
		json_decref(dkeys);
		return r;
	}
	s = json_pack("{s:s, s:s, s:i, s:o, s:{s:o},"
	    " s:{s:o, s:[{s:s, s:[s], s:i, s:b, s:[s]}]}}",
	    "_type", "targets", "spec_version", "1.0.31", "version", 1,
	    "expires", expiry(d, 90),
	    "targets", "hello.txt", target_of(hello, sizeof(hello) - 1,
	    json_pack("{s:s, s:s}", "greeting", "Grüße from Ferry",
	    "note\tkey", "controls stay raw when signed: \001\037\n")),
	    "delegations", "keys", dkeys, "roles", "name", "apps",
	    "keyids", ferry_seckey_keyid(d->keys[K_APPS]), "threshold", 1,
	    "terminating", 1, "paths", "apps/*");
	if ((r = sign_write(d, s, d->keys[K_TARGETS], "1.targets.json",
	    NULL)) != 0)
		return r;

	s = json_pack("{s:s, s:s, s:i, s:o, s:{s:o, s:o}}",
	    "_type", "snapshot", "spec_version", "1.0.31", "version", 1,
	    "expires", expiry(d, 7), "meta",
	    "targets.json", metafile_of(d, "1.targets.json", 0),
	    "apps.json", metafile_of(d, "1.apps.json", 0));
	if ((r = sign_write(d, s, d->keys[K_SNAPSHOT], "1.snapshot.json",
	    NULL)) != 0)
		return r;

	s = json_pack("{s:s, s:s, s:i, s:o, s:{s:o}}",
	    "_type", "timestamp", "spec_version", "1.0.31", "version", 1,
	    "expires", expiry(d, 1), "meta",
	    "snapshot.json", metafile_of(d, "1.snapshot.json", 1));
	if ((r = sign_write(d, s, d->keys[K_TIMESTAMP], "timestamp.json",
	    NULL)) != 0)
		return r;

	if ((r = write_target(d, NULL, "hello.txt", hello,
	    sizeof(hello) - 1)) != 0 ||
	    (r = write_target(d, "apps", "demo.img", app,
	    sizeof(app) - 1)) != 0)
		return r;
	say("  wrote    targets/ (each file under its sha256 and sha512 name)");
	return 0;
}

static int
load(struct demo *d, const char *name, struct ferry_meta **out)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/metadata/%s", d->dir, name);
	return ferry_meta_load(path, FERRY_META_MAX_DEFAULT, out, &d->err);
}

/* Load the repository back from disk and check it as a client would. */
static int
check(struct demo *d)
{
	struct ferry_meta *root = NULL, *ts = NULL, *snap = NULL, *tg = NULL,
	    *apps = NULL;
	struct ferry_metafile mf;
	struct ferry_target t;
	const struct ferry_role *role;
	unsigned char *buf = NULL;
	char path[4096], hex[2 * FERRY_HASH_MAX + 1];
	unsigned char dg[FERRY_HASH_MAX];
	size_t n, len;
	int r;

	if ((r = load(d, "1.root.json", &root)) != 0 ||
	    (r = ferry_meta_verify_by_root(root, FERRY_META_ROOT, root, &n,
	    &d->err)) != 0)
		goto out;
	say("  verified root v%lld: self-signed, %zu/%llu", (long long)
	    root->version, n, (unsigned long long)root->roles[0].threshold);
	if ((r = load(d, "timestamp.json", &ts)) != 0 ||
	    (r = ferry_meta_verify_by_root(root, FERRY_META_TIMESTAMP, ts, &n,
	    &d->err)) != 0)
		goto out;
	say("  verified timestamp v%lld by root's timestamp key",
	    (long long)ts->version);
	if ((r = load(d, "1.snapshot.json", &snap)) != 0 ||
	    (r = ferry_meta_verify_by_root(root, FERRY_META_SNAPSHOT, snap, &n,
	    &d->err)) != 0)
		goto out;
	/* The snapshot file must be the one the timestamp describes. */
	snprintf(path, sizeof(path), "%s/metadata/1.snapshot.json", d->dir);
	if ((r = ferry_meta_metafile(ts, "snapshot.json", &mf)) != 0 ||
	    (r = ferry_file_read(path, FERRY_META_MAX_DEFAULT, &buf,
	    &len)) != 0)
		goto out;
	if ((int64_t)len != mf.length) {
		r = ferry_error_set(&d->err, FERRY_ERR_LENGTH_MISMATCH,
		    "snapshot: %zu bytes, timestamp says %lld", len,
		    (long long)mf.length);
		goto out;
	}
	if ((r = ferry_hashes_verify_buf(mf.hashes, buf, len, &d->err)) != 0)
		goto out;
	say("  verified snapshot v%lld: signature, length and sha256 match "
	    "the timestamp", (long long)snap->version);
	if ((r = load(d, "1.targets.json", &tg)) != 0 ||
	    (r = ferry_meta_verify_by_root(root, FERRY_META_TARGETS, tg, &n,
	    &d->err)) != 0)
		goto out;
	say("  verified targets v%lld by root's targets key",
	    (long long)tg->version);
	role = ferry_meta_delegated_role(tg, "apps");
	if (role == NULL || !ferry_role_matches_path(role, "apps/demo.img")) {
		r = ferry_error_set(&d->err, FERRY_ERR_UNKNOWN_ROLE,
		    "targets does not delegate apps/demo.img to \"apps\"");
		goto out;
	}
	if ((r = load(d, "1.apps.json", &apps)) != 0 ||
	    (r = ferry_meta_verify(apps, &tg->delegations->keys, role, &n,
	    &d->err)) != 0)
		goto out;
	say("  verified apps v%lld, delegated by targets for \"apps/*\"",
	    (long long)apps->version);
	if ((r = ferry_meta_target(apps, "apps/demo.img", &t)) != 0)
		goto out;
	free(buf);
	buf = NULL;
	if ((r = ferry_hash_buf(FERRY_HASH_SHA256, app, sizeof(app) - 1, dg,
	    &n)) != 0)
		goto out;
	ferry_hex_encode(dg, n, hex);
	snprintf(path, sizeof(path), "%s/targets/apps/%s.demo.img", d->dir,
	    hex);
	if ((r = ferry_file_read(path, t.length, &buf, &len)) != 0 ||
	    (r = ferry_hashes_verify_buf(t.hashes, buf, len, &d->err)) != 0) {
		ferry_error_set(&d->err, r, "%s: %s", path, ferry_strerror(r));
		goto out;
	}
	say("  verified target apps/demo.img: %zu bytes, sha256 and sha512",
	    len);
	r = 0;
 out:
	free(buf);
	ferry_meta_free(root);
	ferry_meta_free(ts);
	ferry_meta_free(snap);
	ferry_meta_free(tg);
	ferry_meta_free(apps);
	return r;
}

int
demo_run(const char *dir)
{
	struct demo d;
	char path[4096];
	int i, r, rc = 1;

	memset(&d, 0, sizeof(d));
	d.dir = dir;
	d.now = (int64_t)time(NULL);
	snprintf(path, sizeof(path), "%s/metadata", dir);
	if (mkdir_p(dir) != 0 || mkdir_p(path) != 0) {
		fprintf(stderr, "ferry-tuftool: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	say("ferry demo: a signed TUF repository in %s", dir);
	for (i = 0; i < NKEYS; i++) {
		if ((r = ferry_seckey_generate(&d.keys[i])) != 0) {
			ferry_error_set(&d.err, r, "key generation failed");
			goto out;
		}
	}
	say("  made     5 ed25519 keys in locked memory (never written)");
	if ((r = build(&d)) != 0)
		goto out;
	say("checking it back from disk, as a client would:");
	if ((r = check(&d)) != 0)
		goto out;
	say("ok: every signature, threshold, length and hash verified");
	rc = 0;
 out:
	if (rc != 0)
		fprintf(stderr, "ferry-tuftool: demo: %s\n",
		    ferry_error_msg(&d.err)[0] ? ferry_error_msg(&d.err) :
		    ferry_strerror(r));
	for (i = 0; i < NKEYS; i++)
		ferry_seckey_free(d.keys[i]);
	return rc;
}

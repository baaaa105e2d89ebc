/*
 * The published state: opening it for writing, signing the next snapshot
 * and timestamp, switching, retention.  See publish.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/treegc.h"
#include "repod/publish.h"

#define SPEC_VERSION "1.0.31"

/*
 * Remove bundles a publish killed mid-way left extracted in DIR/tmp.XXXXXX
 * (made only while the tree's lock is held, as now).
 */
static void
sweep_extracted(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "tmp.", 4) != 0 ||
		    strlen(de->d_name) != 10 || (de->d_type != DT_DIR &&
		    de->d_type != DT_UNKNOWN))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (ferry_file_rmtree(path) == 0)
			repod_log("info", "removed a bundle a killed publish "
			    "left", "path", path, NULL);
	}
	closedir(d);
}

int
repod_ctx_open(const struct repod_config *c, struct keyd *keyd,
    const char *actor, struct repod_ctx **out, struct ferry_error *err)
{
	struct repod_ctx *x;
	int r;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return FERRY_ERR_NOMEM;
	x->c = c;
	x->keyd = keyd;
	snprintf(x->actor, sizeof(x->actor), "%s", actor);
	if ((r = ferry_tree_open(c->repo, REPOD_LOCK_WAIT, &x->tree,
	    err)) != 0 ||
	    (r = ferry_catalog_open(c->catalog, &x->cat, err)) != 0 ||
	    (r = ferry_catalog_reconcile(x->cat, ferry_tree_live(x->tree),
	    NULL, err)) != 0) {
		repod_ctx_close(x);
		return r;
	}
	sweep_extracted(c->dir);
	*out = x;
	return 0;
}

void
repod_ctx_close(struct repod_ctx *x)
{
	if (x == NULL)
		return;
	ferry_catalog_close(x->cat);
	ferry_tree_close(x->tree);
	free(x);
}

void
repod_live_free(struct repod_live *l)
{
	ferry_meta_free(l->root);
	ferry_meta_free(l->timestamp);
	ferry_meta_free(l->snapshot);
	free(l->root_bytes);
	free(l->snapshot_bytes);
	memset(l, 0, sizeof(*l));
}

static int
load_meta(struct repod_ctx *x, int64_t state, const char *name,
    enum ferry_meta_type want, struct ferry_meta **out, unsigned char **raw,
    size_t *rawlen, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	unsigned char *buf = NULL;
	size_t len;
	int r;

	if ((r = ferry_tree_read(x->tree, state, name, REPOD_META_MAX, &buf,
	    &len, err)) != 0)
		return r;
	if ((r = ferry_meta_parse(buf, len, REPOD_META_MAX, out, &e)) != 0)
		r = ferry_error_set(err, r, "%s/metadata/%s: %s", x->c->repo,
		    name, ferry_error_msg(&e));
	else if ((*out)->type != want) {
		ferry_meta_free(*out);
		*out = NULL;
		r = ferry_error_set(err, FERRY_ERR_META_TYPE, "%s/metadata/%s:"
		    " not %s metadata", x->c->repo, name,
		    ferry_meta_type_name(want));
	}
	if (r == 0 && raw != NULL) {
		*raw = buf;
		*rawlen = len;
		buf = NULL;	/* transferred */
	}
	free(buf);
	return r;
}

/* The trusted root `init` stored, for the first publication. */
static int
load_anchor(struct repod_ctx *x, struct repod_live *l, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/root.json", x->c->dir);
	if ((r = ferry_file_read(path, REPOD_META_MAX, &l->root_bytes,
	    &l->root_len)) != 0)
		return ferry_error_set(err, r, "%s: %s (run `ferry-repod init "
		    "--root ROOT` first)", path, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	if ((r = ferry_meta_parse(l->root_bytes, l->root_len, REPOD_META_MAX,
	    &l->root, &e)) != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    ferry_error_msg(&e));
	if (l->root->type != FERRY_META_ROOT)
		return ferry_error_set(err, FERRY_ERR_META_TYPE, "%s: not a "
		    "root", path);
	return 0;
}

int
repod_live_load(struct repod_ctx *x, struct repod_live *l,
    struct ferry_error *err)
{
	struct ferry_metafile mf;
	char name[64];
	int r;

	memset(l, 0, sizeof(*l));
	if (ferry_tree_live(x->tree) == 0)
		return load_anchor(x, l, err);
	if ((r = load_meta(x, 0, "timestamp.json", FERRY_META_TIMESTAMP,
	    &l->timestamp, NULL, NULL, err)) != 0)
		goto fail;
	if (ferry_meta_metafile(l->timestamp, "snapshot.json", &mf) != 0) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: the live "
		    "timestamp names no snapshot", x->c->repo);
		goto fail;
	}
	snprintf(name, sizeof(name), "%" PRId64 ".snapshot.json", mf.version);
	if ((r = load_meta(x, 0, name, FERRY_META_SNAPSHOT, &l->snapshot,
	    &l->snapshot_bytes, &l->snapshot_len, err)) != 0 ||
	    (r = load_meta(x, 0, "root.json", FERRY_META_ROOT, &l->root,
	    &l->root_bytes, &l->root_len, err)) != 0)
		goto fail;
	return 0;
 fail:
	repod_live_free(l);
	return r;
}

/* Sign signed_obj with keyd and check it against root as a client will. */
static int
sign_checked(struct repod_ctx *x, const struct ferry_meta *root,
    enum ferry_meta_type t, json_t *signed_obj, struct ferry_meta **out,
    unsigned char **buf, size_t *len, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	const struct ferry_role *role = &root->roles[t];
	const char *id = keyd_keyid(x->keyd, t);
	size_t i;
	int r;

	for (i = 0; i < role->nkeyids; i++)
		if (strcmp(role->keyids[i], id) == 0)
			break;
	if (i == role->nkeyids)
		return ferry_error_set(err, FERRY_ERR_KEY, "the online %s key "
		    "(%.8s) is not a %s key of root v%" PRId64,
		    ferry_meta_type_name(t), id, ferry_meta_type_name(t),
		    root->version);
	if (role->threshold > 1)
		return ferry_error_set(err, FERRY_ERR_THRESHOLD, "root v%"
		    PRId64 " needs %" PRIu64 " %s signatures; repod holds one "
		    "%s key", root->version, role->threshold,
		    ferry_meta_type_name(t), ferry_meta_type_name(t));
	if ((r = keyd_sign(x->keyd, signed_obj, out, err)) != 0)
		return r;
	if ((r = ferry_meta_verify_by_root(root, t, *out, NULL, &e)) != 0 ||
	    (r = ferry_meta_serialize(*out, buf, len, &e)) != 0) {
		ferry_meta_free(*out);
		*out = NULL;
		return ferry_error_set(err, r, "%s: %s", ferry_meta_type_name(t),
		    ferry_error_msg(&e));
	}
	return 0;
}

static int
sha256_hex(const unsigned char *buf, size_t len, char *hex)
{
	unsigned char d[FERRY_HASH_MAX];
	size_t dl;
	int r;

	if ((r = ferry_hash_buf(FERRY_HASH_SHA256, buf, len, d, &dl)) != 0)
		return r;
	ferry_hex_encode(d, dl, hex);
	return 0;
}

/*
 * The oldest state kept: the newest retain_states (of which extra are
 * still to come: 1 while the next state is being built), and every state
 * that stopped being live less than retain_seconds ago, which is when
 * the state after it was switched to (the live state, and the one the
 * next state is about to replace, not at all).
 */
static void
oldest_retained(struct repod_ctx *x, unsigned extra, const int64_t *st,
    size_t n, int64_t *oldest)
{
	int64_t retired, now = (int64_t)time(NULL);
	struct ferry_error err = { 0 };
	size_t i, kept = extra;

	*oldest = INT64_MAX;	/* none, if extra already fills the quota */
	for (i = n; i-- > 0; kept++) {
		if (i + 1 == n)
			retired = now;
		else if (ferry_tree_state_time(x->tree, st[i + 1], &retired,
		    &err) != 0)
			retired = 0;	/* unknown: as old as can be */
		if (kept >= x->c->retain_states &&
		    retired <= now - (int64_t)x->c->retain_seconds)
			break;
		*oldest = st[i];
	}
}

/*
 * The metadata files the retained states refer to (their snapshots and
 * the role versions those name), as a set (an object of names); the new
 * state's own files are added by the caller.
 */
static int
retained_name(void *arg, const char *name, int snapshot,
    struct ferry_error *err)
{
	(void)snapshot;
	(void)err;
	return json_object_set_new(arg, name, json_true()) != 0 ?
	    FERRY_ERR_NOMEM : 0;
}

static int
retained_names(struct repod_ctx *x, json_t *set, struct ferry_error *err)
{
	int64_t *st = NULL, oldest;
	size_t n, i;
	int r;

	if ((r = ferry_tree_states(x->tree, &st, &n, err)) != 0)
		return r;
	oldest_retained(x, 1, st, n, &oldest);
	for (i = 0; i < n && r == 0; i++)
		if (st[i] >= oldest)
			r = ferry_treegc_state_meta(x->tree, st[i],
			    REPOD_META_MAX, retained_name, set, err);
	free(st);
	return r;
}

/*
 * Link file name of the live state into the next one unless it is there
 * already (in skip, written new; or in done, linked before); then add it
 * to done (may be NULL).  A file the next state needs (must) and the live
 * one lacks is an error; one only an older state refers to is not.
 */
static int
carry_one(struct repod_ctx *x, const char *name, json_t *skip, json_t *done,
    int must, struct ferry_error *err)
{
	int r, has;

	if (json_object_get(skip, name) != NULL ||
	    (done != NULL && json_object_get(done, name) != NULL))
		return 0;
	errno = 0;
	if ((has = ferry_tree_has(x->tree, name)) < 0)
		return ferry_error_set(err, has, "%s/metadata/%s: %s",
		    x->c->repo, name, has == FERRY_ERR_IO && errno != 0 ?
		    strerror(errno) : has == FERRY_ERR_INVALID_ARG ?
		    "not a metadata file name" : ferry_strerror(has));
	if (!has && must)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/metadata"
		    "/%s: missing from the live state, which refers to it",
		    x->c->repo, name);
	if (has && (r = ferry_tree_link(x->tree, name, err)) != 0)
		return r;
	if (done != NULL && json_object_set_new(done, name, json_true()) != 0)
		return FERRY_ERR_NOMEM;
	return 0;
}

/*
 * Link into the next state what it refers to itself and was not written
 * new (skip): its snapshot when that was not re-signed, and the role
 * files the snapshot names; then what the retained states need.
 */
static int
carry_over(struct repod_ctx *x, const struct ferry_meta *root,
    const struct ferry_meta *snap, json_t *skip, struct ferry_error *err)
{
	struct ferry_metafile mf;
	char name[320];
	const char *key;
	json_t *set, *done = NULL, *v;
	int64_t i;
	int r = FERRY_ERR_NOMEM;

	if (ferry_tree_live(x->tree) == 0)
		return 0;
	if ((set = json_object()) == NULL)
		return FERRY_ERR_NOMEM;
	/* Every root, so that any client can walk its chain. */
	for (i = 1; i <= root->version; i++) {
		snprintf(name, sizeof(name), "%" PRId64 ".root.json", i);
		if (json_object_set_new(set, name, json_true()) != 0)
			goto out;
	}
	/* The state's own files: each must be there. */
	if ((done = json_object()) == NULL)
		goto out;
	snprintf(name, sizeof(name), "%" PRId64 ".snapshot.json",
	    snap->version);
	if ((r = carry_one(x, name, skip, done, 1, err)) != 0)
		goto out;
	json_object_foreach((json_t *)snap->meta, key, v) {
		if (ferry_meta_metafile(snap, key, &mf) != 0)
			continue;
		snprintf(name, sizeof(name), "%" PRId64 ".%s", mf.version,
		    key);
		if ((r = carry_one(x, name, skip, done, 1, err)) != 0)
			goto out;
	}
	if ((r = retained_names(x, set, err)) != 0)
		goto out;
	json_object_foreach(set, key, v) {
		if ((r = carry_one(x, key, skip, done, 0, err)) != 0)
			goto out;
	}
 out:
	json_decref(done);
	json_decref(set);
	return r;
}

static json_t *
new_signed(const char *type, int64_t version, int64_t expires, json_t *meta)
{
	char when[32];

	if (ferry_meta_format_time(expires, when, sizeof(when)) != 0)
		return NULL;
	return json_pack("{s:s, s:s, s:I, s:s, s:O}", "_type", type,
	    "spec_version", SPEC_VERSION, "version", (json_int_t)version,
	    "expires", when, "meta", meta);
}

/* The new snapshot and timestamp, signed and serialised. */
struct signed_pair {
	struct ferry_meta *snap, *ts;
	unsigned char *snapbuf, *tsbuf;
	size_t snaplen, tslen;
	int new_snapshot;
};

static void
pair_free(struct signed_pair *sp)
{
	ferry_meta_free(sp->snap);
	ferry_meta_free(sp->ts);
	free(sp->snapbuf);
	free(sp->tsbuf);
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int
make_pair(struct repod_ctx *x, struct repod_live *live,
    struct repod_pubinfo *p, struct signed_pair *sp, struct ferry_error *err)
{
	int64_t now = (int64_t)time(NULL), sv, tv, snext, tnext;
	char hex[2 * FERRY_HASH_MAX + 1];
	json_t *s = NULL, *meta;
	int r = FERRY_ERR_NOMEM;

	/*
	 * Above what is live, above anything keyd signed for a state that
	 * then failed to be published (keyd signs a version once), and
	 * above any version the catalog recorded a signature over: a state
	 * that was switched to, seen by clients, and then lost with the
	 * switch not yet on disk (power cut before the fsync) comes back
	 * as abandoned, and its versions must never be signed again over
	 * other content.
	 */
	sv = live->snapshot != NULL ? live->snapshot->version : 0;
	tv = live->timestamp != NULL ? live->timestamp->version : 0;
	if ((r = ferry_catalog_signing_max(x->cat, "snapshot", &snext,
	    err)) != 0 || (r = ferry_catalog_signing_max(x->cat, "timestamp",
	    &tnext, err)) != 0)
		return r;
	snext = max64(max64(sv, snext), keyd_signed(x->keyd,
	    FERRY_META_SNAPSHOT));
	tnext = max64(max64(tv, tnext), keyd_signed(x->keyd,
	    FERRY_META_TIMESTAMP));
	if (snext == INT64_MAX || tnext == INT64_MAX)
		return ferry_error_set(err, FERRY_ERR_VERSION, "the versions "
		    "cannot go higher");
	snext++;
	tnext++;
	sp->new_snapshot = p->snapshot_meta != NULL || live->snapshot == NULL ||
	    live->snapshot->expires - now <= x->c->snapshot_refresh;
	if (sp->new_snapshot) {
		meta = p->snapshot_meta != NULL ? p->snapshot_meta :
		    (json_t *)live->snapshot->meta;
		if ((s = new_signed("snapshot", snext, now +
		    x->c->snapshot_expiry, meta)) == NULL)
			goto out;
		if ((r = sign_checked(x, p->root, FERRY_META_SNAPSHOT, s,
		    &sp->snap, &sp->snapbuf, &sp->snaplen, err)) != 0)
			goto out;
		json_decref(s);
		s = NULL;
	} else {
		/*
		 * The file that stays, byte for byte: serialising the
		 * parsed snapshot again gives the same bytes only as long
		 * as the file was written by this very serialiser.
		 */
		if ((sp->snapbuf = malloc(live->snapshot_len + 1)) == NULL) {
			r = FERRY_ERR_NOMEM;
			goto out;
		}
		memcpy(sp->snapbuf, live->snapshot_bytes, live->snapshot_len);
		sp->snaplen = live->snapshot_len;
	}
	r = FERRY_ERR_NOMEM;
	if (sha256_hex(sp->snapbuf, sp->snaplen, hex) != 0 ||
	    (meta = json_pack("{s:{s:I, s:I, s:{s:s}}}", "snapshot.json",
	    "version", (json_int_t)(sp->new_snapshot ? snext : sv), "length",
	    (json_int_t)sp->snaplen, "hashes", "sha256", hex)) == NULL)
		goto out;
	s = new_signed("timestamp", tnext, now + x->c->timestamp_expiry, meta);
	json_decref(meta);
	if (s == NULL)
		goto out;
	if ((r = sign_checked(x, p->root, FERRY_META_TIMESTAMP, s, &sp->ts,
	    &sp->tsbuf, &sp->tslen, err)) != 0)
		goto out;
	p->snapshot_version = sp->new_snapshot ? snext : sv;
	p->timestamp_version = tnext;
	p->timestamp_expires = sp->ts->expires;
	r = 0;
 out:
	json_decref(s);
	return r;
}

static int64_t
role_version(const struct ferry_meta *snap, const char *file)
{
	struct ferry_metafile mf;

	if (snap == NULL || ferry_meta_metafile(snap, file, &mf) != 0)
		return 0;
	return mf.version;
}

/* The catalog rows of the new state, pending until the switch. */
static int
record(struct repod_ctx *x, struct repod_pubinfo *p,
    const struct ferry_meta *snap, const struct signed_pair *sp, int64_t *id,
    struct ferry_error *err)
{
	struct ferry_catalog_pub pub;
	int64_t now = (int64_t)time(NULL);
	json_t *t;
	size_t i;
	int r;

	memset(&pub, 0, sizeof(pub));
	pub.state = ferry_tree_live(x->tree) + 1;
	pub.kind = p->kind;
	pub.actor = x->actor;
	pub.bundle_sha256 = p->bundle_sha256;
	pub.when = now;
	pub.root_version = p->root->version;
	pub.targets_version = role_version(snap, "targets.json");
	pub.snapshot_version = p->snapshot_version;
	pub.timestamp_version = p->timestamp_version;
	pub.timestamp_expires = p->timestamp_expires;
	if ((r = ferry_catalog_begin(x->cat, err)) != 0)
		return r;
	if ((r = ferry_catalog_pub_add(x->cat, &pub, err)) != 0)
		goto fail;
	for (i = 0; i < p->nfiles; i++)
		if ((r = ferry_catalog_role_add(x->cat, pub.id,
		    p->files[i].role, p->files[i].version, p->files[i].len,
		    p->files[i].sha256, err)) != 0)
			goto fail;
	json_array_foreach(p->targets, i, t) {
		if ((r = ferry_catalog_target_add(x->cat, pub.id,
		    json_string_value(json_array_get(t, 0)),
		    json_integer_value(json_array_get(t, 1)),
		    json_string_value(json_array_get(t, 2)),
		    (uint64_t)json_integer_value(json_array_get(t, 3)),
		    json_string_value(json_array_get(t, 4)), err)) != 0)
			goto fail;
	}
	if ((sp->new_snapshot && (r = ferry_catalog_signing_add(x->cat,
	    pub.id, "snapshot", sp->snap->version, keyd_keyid(x->keyd,
	    FERRY_META_SNAPSHOT), now, err)) != 0) ||
	    (r = ferry_catalog_signing_add(x->cat, pub.id, "timestamp",
	    sp->ts->version, keyd_keyid(x->keyd, FERRY_META_TIMESTAMP), now,
	    err)) != 0 ||
	    (r = ferry_catalog_audit(x->cat, now, x->actor, p->kind, pub.id,
	    p->detail, err)) != 0 ||
	    (r = ferry_catalog_commit(x->cat, err)) != 0)
		goto fail;
	*id = pub.id;
	return 0;
 fail:
	ferry_catalog_rollback(x->cat);
	return r;
}

int
repod_state_commit(struct repod_ctx *x, struct repod_live *live,
    struct repod_pubinfo *p, struct ferry_error *err)
{
	struct signed_pair sp;
	json_t *skip = NULL;
	int64_t id;
	char name[64];
	size_t i;
	int r;

	memset(&sp, 0, sizeof(sp));
	if ((r = make_pair(x, live, p, &sp, err)) != 0)
		goto out;
	r = FERRY_ERR_NOMEM;
	if ((skip = json_object()) == NULL)
		goto out;
	for (i = 0; i < p->nfiles; i++) {
		if ((r = ferry_tree_put(x->tree, p->files[i].name,
		    p->files[i].buf, p->files[i].len, err)) != 0)
			goto out;
		if (json_object_set_new(skip, p->files[i].name,
		    json_true()) != 0)
			goto out;
	}
	snprintf(name, sizeof(name), "%" PRId64 ".snapshot.json",
	    p->snapshot_version);
	if (sp.new_snapshot && ((r = ferry_tree_put(x->tree, name, sp.snapbuf,
	    sp.snaplen, err)) != 0 || json_object_set_new(skip, name,
	    json_true()) != 0))
		goto out;
	/* root.json: the newest root, for tools that start from it. */
	if ((r = ferry_tree_put(x->tree, "root.json", p->root_bytes,
	    p->root_len, err)) != 0)
		goto out;
	if ((r = carry_over(x, p->root, sp.snap != NULL ? sp.snap :
	    live->snapshot, skip, err)) != 0 ||
	    (r = record(x, p, sp.snap != NULL ? sp.snap : live->snapshot, &sp,
	    &id, err)) != 0 ||
	    (r = ferry_tree_switch(x->tree, sp.tsbuf, sp.tslen, err)) != 0)
		goto out;
	p->state = ferry_tree_live(x->tree);
	if ((r = ferry_catalog_pub_live(x->cat, id, err)) != 0)
		goto out;
	/* Published; states older than the retained ones can go. */
	{
		unsigned n;
		struct ferry_error e = { 0 };

		if (repod_prune_states(x, &n, &e) != 0)
			repod_log("warning", "pruning states failed", "error",
			    ferry_error_msg(&e), NULL);
	}
	r = 0;
 out:
	json_decref(skip);
	pair_free(&sp);
	return r;
}

int
repod_refresh(struct repod_ctx *x, int force, int *did, int64_t *next,
    struct ferry_error *err)
{
	struct repod_pubinfo p;
	struct repod_live live;
	int64_t now = (int64_t)time(NULL), due;
	int r;

	if (did != NULL)
		*did = 0;
	if (x->keyd == NULL)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "refresh "
		    "needs the online keys");
	if ((r = repod_live_load(x, &live, err)) != 0)
		return r;
	if (live.timestamp == NULL) {
		r = ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: nothing "
		    "published yet", x->c->repo);
		goto out;
	}
	due = live.timestamp->expires - x->c->timestamp_refresh;
	if (live.snapshot->expires - x->c->snapshot_refresh < due)
		due = live.snapshot->expires - x->c->snapshot_refresh;
	if (!force && due > now) {
		if (next != NULL)
			*next = due;
		r = 0;
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.kind = "refresh";
	p.root = live.root;
	p.root_bytes = live.root_bytes;
	p.root_len = live.root_len;
	p.snapshot_meta = force ? (json_t *)live.snapshot->meta : NULL;
	p.detail = force ? "forced" : "due";
	if ((r = ferry_tree_begin(x->tree, err)) != 0)
		goto out;
	if ((r = repod_state_commit(x, &live, &p, err)) != 0) {
		ferry_tree_abort(x->tree);
		goto out;
	}
	if (did != NULL)
		*did = 1;
	if (next != NULL) {
		/* The new timestamp's margin; the snapshot's may come first. */
		*next = p.timestamp_expires - x->c->timestamp_refresh;
		if (p.snapshot_version == live.snapshot->version &&
		    live.snapshot->expires - x->c->snapshot_refresh < *next)
			*next = live.snapshot->expires - x->c->snapshot_refresh;
	}
	if (!x->quiet) {
		char sv[24], tv[24];

		snprintf(sv, sizeof(sv), "%" PRId64, p.snapshot_version);
		snprintf(tv, sizeof(tv), "%" PRId64, p.timestamp_version);
		repod_log("info", "re-signed", "snapshot", sv, "timestamp", tv,
		    NULL);
	}
 out:
	repod_live_free(&live);
	return r;
}

int
repod_prune_states(struct repod_ctx *x, unsigned *removed,
    struct ferry_error *err)
{
	int64_t *st = NULL, oldest;
	size_t n, i;
	int r;

	*removed = 0;
	if ((r = ferry_tree_states(x->tree, &st, &n, err)) != 0)
		return r;
	oldest_retained(x, 0, st, n, &oldest);
	for (i = 0; i < n && st[i] < oldest; i++) {
		if ((r = ferry_tree_state_remove(x->tree, st[i], err)) != 0)
			break;
		(*removed)++;
	}
	free(st);
	/* Also what an earlier prune removed but did not record. */
	if (r == 0 && oldest > 1)
		r = ferry_catalog_pruned_below(x->cat, oldest, NULL, err);
	return r;
}

int
repod_prune_targets(struct repod_ctx *x, uint64_t *files, uint64_t *bytes,
    struct ferry_error *err)
{
	return ferry_treegc_targets(x->tree, files, bytes, err);
}

/*
 * Publishing a bundle: check everything in it as a client would, against
 * the live root (or the one `init` trusted), store the images it needs,
 * then hand the new role files to repod_state_commit().  See publish.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "repod/publish.h"

#define MANIFEST_MAX (64u << 20)
#define MAX_ROLES 2000000

struct bfile;

/* A delegation to a role: who makes it, and with which paths. */
struct edge {
	struct bfile *from;
	const struct ferry_role *role;	/* its paths (NULL: a bin) */
	const struct ferry_succinct *bins;
	const char *name;		/* the bin's name */
};

/* One file of the bundle. */
struct bfile {
	const char *role;		/* borrowed from the manifest */
	int64_t version;
	unsigned char *buf;
	size_t len;
	char sha256[65];
	struct ferry_meta *md;
	int verified;			/* against its delegator */
	int is_new;			/* not published yet */
	struct edge *in;		/* the delegations to it */
	size_t nin, capin;
	uint64_t seen_for;		/* reachable(): the target asked about */
	int seen;			/* 1 yes, 0 no, -1 being looked at */
};

struct bundle {
	const char *dir;
	json_t *manifest;
	struct bfile *f;
	size_t n;
	struct bfile **roots;		/* roots[v - 1] */
	size_t nroots;
	json_t *byname;			/* role name -> index into f */
	json_t *bypath;			/* path -> true: each read once */
	uint64_t bytes;			/* read so far, <= REPOD_BUNDLE_MAX */
};

static void
bundle_free(struct bundle *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->f[i].buf);
		free(b->f[i].in);
		ferry_meta_free(b->f[i].md);
	}
	free(b->f);
	free(b->roots);
	json_decref(b->byname);
	json_decref(b->bypath);
	json_decref(b->manifest);
}

/* A role name that can be part of a file name: [A-Za-z0-9._-], no dot first. */
static int
role_name_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == '.' || *s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	return n <= 200;
}

/* Read, check against the manifest and parse one listed file. */
static int
read_entry(struct bundle *b, size_t i, json_t *e, struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	struct bfile *f = &b->f[i];
	const char *path, *sha;
	char full[4096];
	json_int_t len;
	int r;

	f->role = ferry_json_cstr(json_object_get(e, "role"));
	path = ferry_json_cstr(json_object_get(e, "path"));
	sha = ferry_json_cstr(json_object_get(e, "sha256"));
	f->version = json_integer_value(json_object_get(e, "version"));
	len = json_integer_value(json_object_get(e, "length"));
	if (!role_name_ok(f->role) || path == NULL || sha == NULL ||
	    strlen(sha) != 64 || f->version < 1 || len < 0 ||
	    strncmp(path, "metadata/", 9) != 0 || strchr(path + 9, '/') ||
	    path[9] == '.' || path[9] == '\0')
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/manifest."
		    "json: roles[%zu]: malformed entry", b->dir, i);
	snprintf(full, sizeof(full), "%s/%s", b->dir, path);
	/*
	 * Every file is held until the end: one file listed many times,
	 * or many files, must not add up past what a bundle may hold.
	 */
	if (json_object_get(b->bypath, path) != NULL)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/manifest."
		    "json: roles[%zu]: %s is listed twice", b->dir, i, path);
	if (json_object_set_new(b->bypath, path, json_true()) != 0)
		return FERRY_ERR_NOMEM;
	if ((uint64_t)len > REPOD_META_MAX)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE, "%s: the "
		    "manifest gives %lld bytes, over the limit of %u for a "
		    "metadata file", full, (long long)len, REPOD_META_MAX);
	if ((uint64_t)len > REPOD_BUNDLE_MAX - b->bytes)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE, "%s: the "
		    "bundle's metadata would pass the limit of %" PRIu64
		    " bytes in all", full, REPOD_BUNDLE_MAX);
	b->bytes += (uint64_t)len;
	if ((r = ferry_file_read(full, (size_t)len, &f->buf, &f->len)) != 0)
		return ferry_error_set(err, r, "%s: %s", full,
		    r == FERRY_ERR_TOO_LARGE ? "longer than the manifest says" :
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	if (f->len != (size_t)len)
		return ferry_error_set(err, FERRY_ERR_LENGTH_MISMATCH, "%s: %zu "
		    "bytes, the manifest says %lld", full, f->len,
		    (long long)len);
	{
		unsigned char d[FERRY_HASH_MAX];
		size_t dl;

		if (ferry_hash_buf(FERRY_HASH_SHA256, f->buf, f->len, d,
		    &dl) != 0)
			return ferry_error_set(err, FERRY_ERR_CRYPTO, "%s: "
			    "SHA-256 failed", full);
		ferry_hex_encode(d, dl, f->sha256);
	}
	if (strcmp(f->sha256, sha) != 0)
		return ferry_error_set(err, FERRY_ERR_HASH_MISMATCH, "%s: its "
		    "sha256 is not the one the manifest gives", full);
	if ((r = ferry_meta_parse(f->buf, f->len, REPOD_META_MAX, &f->md,
	    &e2)) != 0)
		return ferry_error_set(err, r, "%s: %s", full,
		    ferry_error_msg(&e2));
	if (f->md->version != f->version ||
	    (strcmp(f->role, "root") == 0) != (f->md->type == FERRY_META_ROOT) ||
	    (f->md->type != FERRY_META_ROOT &&
	    f->md->type != FERRY_META_TARGETS))
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: not %s "
		    "v%" PRId64 " as the manifest says", full, f->role,
		    f->version);
	return 0;
}

static int
read_bundle(struct bundle *b, struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	const char *type;
	char path[4096];
	json_t *roles, *e;
	size_t i;
	int r;

	snprintf(path, sizeof(path), "%s/manifest.json", b->dir);
	if ((r = ferry_json_parse_file(path, MANIFEST_MAX, &b->manifest,
	    &e2)) != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    ferry_error_msg(&e2));
	roles = json_object_get(b->manifest, "roles");
	type = ferry_json_cstr(json_object_get(b->manifest, "_type"));
	if (type == NULL || strcmp(type, "ferry-bundle") != 0 ||
	    json_integer_value(json_object_get(b->manifest, "format")) != 1 ||
	    !json_is_array(roles) || json_array_size(roles) == 0 ||
	    json_array_size(roles) > MAX_ROLES)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: not a "
		    "format 1 publication bundle manifest", path);
	/* b->n only once b->f is there: bundle_free() walks b->f[0..n). */
	if ((b->f = calloc(json_array_size(roles), sizeof(*b->f))) == NULL ||
	    (b->roots = calloc(json_array_size(roles),
	    sizeof(*b->roots))) == NULL ||
	    (b->byname = json_object()) == NULL ||
	    (b->bypath = json_object()) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "%s: out of "
		    "memory for %zu roles", path, json_array_size(roles));
	b->n = json_array_size(roles);
	json_array_foreach(roles, i, e) {
		if ((r = read_entry(b, i, e, err)) != 0)
			return r;
		if (b->f[i].md->type == FERRY_META_ROOT) {
			if ((uint64_t)b->f[i].version > b->n ||
			    b->roots[b->f[i].version - 1] != NULL)
				return ferry_error_set(err,
				    FERRY_ERR_REPOSITORY, "%s: root v%" PRId64
				    " twice or out of sequence", path,
				    b->f[i].version);
			b->roots[b->f[i].version - 1] = &b->f[i];
			if ((size_t)b->f[i].version > b->nroots)
				b->nroots = (size_t)b->f[i].version;
			continue;
		}
		if (json_object_get(b->byname, b->f[i].role) != NULL)
			return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: "
			    "role %s twice", path, b->f[i].role);
		if (json_object_set_new(b->byname, b->f[i].role,
		    json_integer((json_int_t)i)) != 0)
			return FERRY_ERR_NOMEM;
	}
	for (i = 0; i < b->nroots; i++)
		if (b->roots[i] == NULL)
			return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: "
			    "root v%zu is missing (a bundle holds every root "
			    "from v1)", path, i + 1);
	if (b->nroots == 0 || json_object_get(b->byname, "targets") == NULL)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: a bundle"
		    " needs roots and targets", path);
	return 0;
}

/*
 * The root chain: every root signed by its predecessor's threshold and
 * its own, the one trusted now unchanged, nothing older than it.
 */
static int
check_roots(struct repod_ctx *x, struct bundle *b, struct repod_live *live,
    struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	int64_t tv = live->root->version, now = (int64_t)time(NULL);
	const struct ferry_meta *prev, *cur;
	unsigned char *old = NULL;
	size_t i, oldlen;
	char name[64];
	int r;

	if ((int64_t)b->nroots < tv)
		return ferry_error_set(err, FERRY_ERR_ROLLBACK, "root v%zu is "
		    "older than root v%" PRId64 ", trusted now", b->nroots, tv);
	for (i = 0; i < b->nroots; i++) {
		cur = b->roots[i]->md;
		prev = i > 0 ? b->roots[i - 1]->md : cur;
		if (ferry_meta_verify(cur, &cur->keys,
		    &cur->roles[FERRY_META_ROOT], NULL, &e2) != 0 ||
		    ferry_meta_verify(cur, &prev->keys,
		    &prev->roles[FERRY_META_ROOT], NULL, &e2) != 0)
			return ferry_error_set(err, FERRY_ERR_THRESHOLD, "root "
			    "v%zu is not signed by a threshold of root v%zu "
			    "and of itself: %s", i + 1, i ? i : 1,
			    ferry_error_msg(&e2));
		if ((int64_t)i + 1 > tv)
			continue;
		/* Known roots must be the very ones published or trusted. */
		if ((int64_t)i + 1 == tv) {
			old = live->root_bytes;
			oldlen = live->root_len;
		} else {
			snprintf(name, sizeof(name), "%zu.root.json", i + 1);
			if (ferry_tree_live(x->tree) == 0)
				continue;
			/* Not there: nothing to compare; unreadable: stop. */
			if ((r = ferry_tree_read(x->tree, 0, name,
			    REPOD_META_MAX, &old, &oldlen, &e2)) ==
			    FERRY_ERR_NOT_FOUND)
				continue;
			if (r != 0)
				return ferry_error_set(err, r, "the published "
				    "%s, to compare root v%zu with: %s", name,
				    i + 1, ferry_error_msg(&e2));
		}
		r = oldlen != b->roots[i]->len ||
		    memcmp(old, b->roots[i]->buf, oldlen) != 0;
		if (old != live->root_bytes)
			free(old);
		if (r)
			return ferry_error_set(err, FERRY_ERR_REPOSITORY, "root"
			    " v%zu differs from the one %s", i + 1,
			    ferry_tree_live(x->tree) ? "published" :
			    "trusted (DIR/root.json)");
	}
	cur = b->roots[b->nroots - 1]->md;
	if (cur->expires <= now)
		return ferry_error_set(err, FERRY_ERR_EXPIRED, "root v%zu "
		    "expired at %s", b->nroots, cur->expires_str);
	if (cur->consistent_snapshot != 1)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "root v%zu: "
		    "repod publishes consistent snapshots only; "
		    "consistent_snapshot must be true", b->nroots);
	for (i = 0; i < b->nroots; i++)
		b->roots[i]->is_new = (int64_t)i + 1 > tv ||
		    ferry_tree_live(x->tree) == 0;
	return 0;
}

static struct bfile *
by_name(struct bundle *b, const char *name)
{
	json_t *v = json_object_get(b->byname, name);

	return v != NULL ? &b->f[json_integer_value(v)] : NULL;
}

/* Child of delegator p under role (a NULL name: bin bname). */
static int
check_child(struct bundle *b, struct bfile *p, const struct ferry_role *role,
    const char *name, const struct ferry_succinct *bins,
    struct bfile **queue, size_t *nq, struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	struct bfile *c = by_name(b, name);
	const char *path;
	char bin[300];
	json_t *v;

	if (c == NULL)
		return ferry_error_set(err, FERRY_ERR_UNKNOWN_ROLE, "%s "
		    "delegates to %s, which the bundle does not hold",
		    p->role, name);
	if (ferry_meta_verify(c->md, &p->md->delegations->keys, role, NULL,
	    &e2) != 0)
		return ferry_error_set(err, FERRY_ERR_THRESHOLD, "%s v%" PRId64
		    " is not signed by a threshold of the keys %s delegates it "
		    "to: %s", c->role, c->version, p->role,
		    ferry_error_msg(&e2));
	if (c->nin == c->capin) {
		size_t ncap = c->capin != 0 ? 2 * c->capin : 2;
		struct edge *ne;

		if ((ne = reallocarray(c->in, ncap, sizeof(*ne))) == NULL)
			return FERRY_ERR_NOMEM;
		c->in = ne;
		c->capin = ncap;
	}
	c->in[c->nin].from = p;
	c->in[c->nin].role = bins != NULL ? NULL : role;
	c->in[c->nin].bins = bins;
	c->in[c->nin].name = name;
	c->nin++;
	json_object_foreach((json_t *)c->md->targets, path, v) {
		(void)v;
		if (bins != NULL) {
			if (ferry_succinct_bin_name(bins, path, bin,
			    sizeof(bin)) == 0 && strcmp(bin, name) == 0)
				continue;
		} else if (ferry_role_matches_path(role, path))
			continue;
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s v%" PRId64
		    ": target \"%s\" is outside the paths %s delegates to it",
		    c->role, c->version, path, p->role);
	}
	if (!c->verified) {
		c->verified = 1;
		queue[(*nq)++] = c;
	}
	return 0;
}

/*
 * Whether a client looking for path could come to role f: f is the
 * top-level targets, or some delegation to f takes path and a client
 * could come to its delegator.  Each role is looked at once per target
 * (ask: a number of the target's own), a cycle counting as no, and so
 * is a chain longer than REACH_DEPTH_MAX: no client walks that far
 * (lib/updater visits 32 roles per lookup), and the recursion must stay
 * bounded whatever a bundle holds.
 */
#define REACH_DEPTH_MAX 256

static int
reachable(struct bfile *f, const struct bfile *top, const char *path,
    uint64_t ask, unsigned depth)
{
	char bin[300];
	size_t i;
	int ok = 0;

	if (f == top)
		return 1;
	if (depth >= REACH_DEPTH_MAX)
		return 0;
	if (f->seen_for == ask)
		return f->seen == 1;
	f->seen_for = ask;
	f->seen = -1;
	for (i = 0; i < f->nin && !ok; i++) {
		const struct edge *e = &f->in[i];

		if (e->bins != NULL ? ferry_succinct_bin_name(e->bins, path,
		    bin, sizeof(bin)) == 0 && strcmp(bin, e->name) == 0 :
		    ferry_role_matches_path(e->role, path))
			ok = reachable(e->from, top, path, ask, depth + 1);
	}
	f->seen = ok;
	return ok;
}

/* Every targets role, each against its delegator, in breadth-first order. */
static int
check_targets(struct bundle *b, const struct ferry_meta *root,
    struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	const struct ferry_delegations *d;
	struct bfile **queue, *t = by_name(b, "targets");
	char name[300];
	size_t nq = 0, qi, i;
	uint64_t nbins, k;
	int r = 0;

	if ((queue = calloc(b->n, sizeof(*queue))) == NULL)
		return FERRY_ERR_NOMEM;
	if (ferry_meta_verify_by_root(root, FERRY_META_TARGETS, t->md, NULL,
	    &e2) != 0) {
		r = ferry_error_set(err, FERRY_ERR_THRESHOLD, "targets v%"
		    PRId64 " is not signed by a threshold of root v%" PRId64
		    "'s targets keys: %s", t->version, root->version,
		    ferry_error_msg(&e2));
		goto out;
	}
	t->verified = 1;
	queue[nq++] = t;
	for (qi = 0; qi < nq && r == 0; qi++) {
		if ((d = queue[qi]->md->delegations) == NULL)
			continue;
		if (!d->succinct) {
			for (i = 0; i < d->nroles && r == 0; i++)
				r = check_child(b, queue[qi], &d->roles[i],
				    d->roles[i].name, NULL, queue, &nq, err);
			continue;
		}
		nbins = (uint64_t)1 << d->bins.bit_length;
		if (nbins > b->n) {
			r = ferry_error_set(err, FERRY_ERR_UNKNOWN_ROLE, "%s "
			    "delegates to %" PRIu64 " bins; the bundle holds "
			    "%zu roles", queue[qi]->role, nbins, b->n);
			break;
		}
		for (k = 0; k < nbins && r == 0; k++) {
			if (snprintf(name, sizeof(name), "%.200s-%0*" PRIx64,
			    d->bins.name_prefix,
			    (int)((d->bins.bit_length & 63) + 3) / 4, k) >=
			    (int)sizeof(name)) {
				r = FERRY_ERR_INVALID_ARG;
				break;
			}
			r = check_child(b, queue[qi], &d->bins.role, name,
			    &d->bins, queue, &nq, err);
		}
	}
	for (i = 0; i < b->n && r == 0; i++)
		if (b->f[i].md->type == FERRY_META_TARGETS && !b->f[i].verified)
			r = ferry_error_set(err, FERRY_ERR_UNKNOWN_ROLE, "role "
			    "%s is not delegated by any role", b->f[i].role);
	/*
	 * Each step was checked above; now the whole way: a target that a
	 * role lists within the paths its delegator gave it, but that no
	 * chain of delegations from the top-level targets takes to it,
	 * is one no client would ever find there.
	 */
	for (i = 0, k = 0; i < b->n && r == 0; i++) {
		struct bfile *f = &b->f[i];
		const char *path;
		json_t *v;

		if (f == t || f->md->type != FERRY_META_TARGETS)
			continue;
		json_object_foreach((json_t *)f->md->targets, path, v) {
			(void)v;
			if (reachable(f, t, path, ++k, 0))
				continue;
			r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s v%"
			    PRId64 ": target \"%s\" is outside the paths "
			    "delegated to it along every chain of delegations "
			    "from targets", f->role, f->version, path);
			break;
		}
	}
 out:
	free(queue);
	return r;
}

/* Versions against the live snapshot: new, the same, or refused. */
static int
check_versions(struct repod_ctx *x, struct bundle *b, struct repod_live *live,
    size_t *nnew, struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	struct ferry_metafile mf;
	int64_t now = (int64_t)time(NULL), lv;
	unsigned char *old = NULL;
	size_t i, oldlen;
	char name[320];
	int same;

	*nnew = 0;
	for (i = 0; i < b->n; i++) {
		struct bfile *f = &b->f[i];

		if (f->md->type == FERRY_META_ROOT) {
			*nnew += f->is_new;
			continue;
		}
		if (f->md->expires <= now)
			return ferry_error_set(err, FERRY_ERR_EXPIRED, "%s v%"
			    PRId64 " expired at %s: renew it (ferry-sign "
			    "renew %s)", f->role, f->version,
			    f->md->expires_str, f->role);
		snprintf(name, sizeof(name), "%s.json", f->role);
		lv = live->snapshot != NULL && ferry_meta_metafile(
		    live->snapshot, name, &mf) == 0 ? mf.version : 0;
		if (f->version < lv)
			return ferry_error_set(err, FERRY_ERR_ROLLBACK, "%s v%"
			    PRId64 " is older than v%" PRId64 ", published "
			    "now", f->role, f->version, lv);
		if (f->version > lv) {
			f->is_new = 1;
			(*nnew)++;
			continue;
		}
		snprintf(name, sizeof(name), "%" PRId64 ".%s.json", lv,
		    f->role);
		if (ferry_tree_read(x->tree, 0, name, REPOD_META_MAX, &old,
		    &oldlen, &e2) != 0)
			return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s",
			    ferry_error_msg(&e2));
		same = oldlen == f->len && memcmp(old, f->buf, oldlen) == 0;
		free(old);
		if (!same)
			return ferry_error_set(err, FERRY_ERR_VERSION, "%s v%"
			    PRId64 " differs from the v%" PRId64 " published:"
			    " a changed role needs a new version", f->role,
			    f->version, lv);
	}
	return 0;
}

/*
 * An image several roles list is stored once per description, and all
 * must agree: the same length, and the same digest for every algorithm
 * two of them give (one may give more, whose names are then added).  1
 * if this description was met before, 0 if it is new, or an error.
 */
static int
same_image(json_t *seen, const struct bfile *f, const char *path,
    const struct ferry_target *t, struct ferry_error *err)
{
	const char *sha, *alg;
	char *key, *dump;
	json_t *first, *h, *v;
	size_t n;
	int r;

	/*
	 * Keys as long as they need to be: cut short, two descriptions
	 * would meet under one key and the second go unchecked.
	 */
	if ((dump = json_dumps(t->hashes, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL)
		return FERRY_ERR_NOMEM;
	n = strlen(path) + strlen(dump) + 32;
	if ((key = malloc(n)) == NULL) {
		free(dump);
		return FERRY_ERR_NOMEM;
	}
	snprintf(key, n, "=%s\n%" PRIu64 "\n%s", path, t->length, dump);
	free(dump);
	if (json_object_get(seen, key) != NULL) {
		free(key);
		return 1;
	}
	r = json_object_set_new(seen, key, json_true());
	free(key);
	if (r != 0)
		return FERRY_ERR_NOMEM;
	if ((sha = ferry_json_cstr(json_object_get(t->hashes, "sha256"))) ==
	    NULL)
		return 0;
	n = strlen(path) + strlen(sha) + 2;
	if ((key = malloc(n)) == NULL)
		return FERRY_ERR_NOMEM;
	snprintf(key, n, "%s\n%s", path, sha);
	if ((first = json_object_get(seen, key)) == NULL) {
		r = json_object_set_new(seen, key, json_pack("[I, O, s]",
		    (json_int_t)t->length, t->hashes, f->role));
		free(key);
		return r != 0 ? FERRY_ERR_NOMEM : 0;
	}
	free(key);
	h = json_array_get(first, 1);
	json_object_foreach((json_t *)t->hashes, alg, v) {
		if (json_object_get(h, alg) != NULL &&
		    !json_equal(json_object_get(h, alg), v))
			break;
	}
	if (alg != NULL || json_integer_value(json_array_get(first, 0)) !=
	    (json_int_t)t->length)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "target \"%s"
		    "\": %s v%" PRId64 " gives it another length or other "
		    "hashes than %s does", path, f->role, f->version,
		    json_string_value(json_array_get(first, 2)));
	return 0;
}

/* Store the images the new roles name that the tree does not hold. */
static int
store_images(struct repod_ctx *x, struct bundle *b, const char *images,
    json_t *cat, uint64_t *stored, struct ferry_error *err)
{
	struct ferry_error e2 = { 0 };
	struct repod_progress pr;
	struct ferry_target t;
	const char *path, *sha;
	char file[4096];
	json_t *v, *seen;
	size_t i;
	int r = 0, fd, has;

	*stored = 0;
	memset(&pr, 0, sizeof(pr));
	for (i = 0; i < b->n; i++)
		if (b->f[i].is_new && b->f[i].md->type == FERRY_META_TARGETS)
			pr.total += json_object_size(b->f[i].md->targets);
	if ((seen = json_object()) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < b->n && r == 0; i++) {
		struct bfile *f = &b->f[i];

		if (!f->is_new || f->md->type != FERRY_META_TARGETS)
			continue;
		json_object_foreach((json_t *)f->md->targets, path, v) {
			(void)v;
			pr.done++;
			if (x->progress != NULL)
				x->progress(&pr);
			if ((r = ferry_meta_target(f->md, path, &t)) != 0) {
				r = ferry_error_set(err, r, "%s v%" PRId64
				    ": target \"%s\": %s", f->role,
				    f->version, path, ferry_strerror(r));
				break;
			}
			if ((r = ferry_tree_target_path_ok(path, &e2)) != 0) {
				r = ferry_error_set(err, r, "%s v%" PRId64
				    ": %s", f->role, f->version,
				    ferry_error_msg(&e2));
				break;
			}
			sha = ferry_json_cstr(json_object_get(t.hashes,
			    "sha256"));
			if (json_array_append_new(cat, json_pack("[s, I, s, I, "
			    "s]", f->role, (json_int_t)f->version, path,
			    (json_int_t)t.length, sha ? sha : "")) != 0) {
				r = FERRY_ERR_NOMEM;
				break;
			}
			if ((r = same_image(seen, f, path, &t, err)) < 0)
				break;
			if (r == 1) {
				r = 0;
				continue;
			}
			if ((has = ferry_tree_target_has(x->tree, path,
			    t.hashes, t.length, err)) < 0) {
				r = has;
				break;
			}
			if (has)
				continue;
			if (images == NULL) {
				r = ferry_error_set(err, FERRY_ERR_NOT_FOUND,
				    "target \"%s\" (%s v%" PRId64 ") is not "
				    "stored yet: give its image with --images "
				    "DIR", path, f->role, f->version);
				break;
			}
			snprintf(file, sizeof(file), "%s/%s", images, path);
			/* Not a FIFO: the tree is locked while we wait. */
			if ((fd = ferry_file_open_regular(file, NULL)) == -1) {
				r = ferry_error_set(err, FERRY_ERR_NOT_FOUND,
				    "target \"%s\" (%s v%" PRId64 "): no image"
				    " at %s: %s", path, f->role, f->version,
				    file, errno == EINVAL ? "not a regular file" :
				    strerror(errno));
				break;
			}
			r = ferry_tree_target_put(x->tree, path, t.hashes,
			    t.length, fd, err);
			close(fd);
			if (r != 0)
				break;
			(*stored)++;
			pr.stored++;
			pr.bytes += t.length;
		}
	}
	json_decref(seen);
	if (x->progress != NULL) {
		pr.last = 1;
		x->progress(&pr);
	}
	return r;
}

/* The new role files and the new snapshot's "meta". */
static int
new_files(struct bundle *b, struct repod_file **out, size_t *n, json_t *meta)
{
	struct repod_file *files;
	char name[320];
	size_t i, k = 0;

	if ((files = calloc(b->n, sizeof(*files))) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < b->n; i++) {
		struct bfile *f = &b->f[i];

		if (f->md->type == FERRY_META_TARGETS) {
			snprintf(name, sizeof(name), "%s.json", f->role);
			if (json_object_set_new(meta, name, json_pack("{s:I}",
			    "version", (json_int_t)f->version)) != 0) {
				free(files);
				return FERRY_ERR_NOMEM;
			}
		}
		if (!f->is_new)
			continue;
		files[k].role = f->role;
		files[k].version = f->version;
		snprintf(files[k].name, sizeof(files[k].name), "%" PRId64
		    ".%s.json", f->version, f->role);
		files[k].buf = f->buf;
		files[k].len = f->len;
		memcpy(files[k].sha256, f->sha256, sizeof(f->sha256));
		k++;
	}
	*out = files;
	*n = k;
	return 0;
}

/*
 * A role the bundle no longer has (its delegation was removed) stays in
 * the new snapshot at its published version: a client refuses a snapshot
 * that stops listing a role its trusted one lists (TUF 5.5.5), and the
 * listing keeps the version floor should the role come back.
 */
static int
keep_dropped(const struct repod_live *live, json_t *meta)
{
	const char *key;
	json_t *v;

	if (live->snapshot == NULL)
		return 0;
	json_object_foreach((json_t *)live->snapshot->meta, key, v) {
		if (json_object_get(meta, key) == NULL &&
		    json_object_set(meta, key, v) != 0)
			return FERRY_ERR_NOMEM;
	}
	return 0;
}

int
repod_publish(struct repod_ctx *x, const char *dir, const char *sha256,
    const char *images, int *unchanged, struct ferry_error *err)
{
	struct repod_file *files = NULL;
	struct repod_pubinfo p;
	struct repod_live live;
	struct bundle b;
	struct bfile *newest;
	json_t *meta = NULL, *cat = NULL;
	uint64_t stored = 0;
	size_t nnew;
	char detail[256];
	int r, begun = 0;

	memset(&b, 0, sizeof(b));
	memset(&p, 0, sizeof(p));
	*unchanged = 0;
	b.dir = dir;
	if (x->keyd == NULL)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "publish "
		    "needs the online keys");
	if ((r = repod_live_load(x, &live, err)) != 0)
		return r;
	if ((r = read_bundle(&b, err)) != 0 ||
	    (r = check_roots(x, &b, &live, err)) != 0)
		goto out;
	newest = b.roots[b.nroots - 1];
	if ((r = check_targets(&b, newest->md, err)) != 0 ||
	    (r = check_versions(x, &b, &live, &nnew, err)) != 0)
		goto out;
	if (nnew == 0) {
		*unchanged = 1;
		goto out;
	}
	r = FERRY_ERR_NOMEM;
	if ((meta = json_object()) == NULL || (cat = json_array()) == NULL)
		goto out;
	if ((r = ferry_tree_begin(x->tree, err)) != 0)
		goto out;
	begun = 1;
	if ((r = store_images(x, &b, images, cat, &stored, err)) != 0 ||
	    (r = new_files(&b, &files, &p.nfiles, meta)) != 0 ||
	    (r = keep_dropped(&live, meta)) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "bundle %.64s: root v%zu, %zu new "
	    "role files, %" PRIu64 " new images", sha256 ? sha256 : "-",
	    b.nroots, p.nfiles, stored);
	p.kind = "publish";
	p.bundle_sha256 = sha256;
	p.files = files;
	p.root = newest->md;
	p.root_bytes = newest->buf;
	p.root_len = newest->len;
	p.snapshot_meta = meta;
	p.targets = cat;
	p.detail = detail;
	if ((r = repod_state_commit(x, &live, &p, err)) != 0)
		goto out;
	begun = 0;
	if (!x->quiet) {
		char st[24], rv[24], sv[24], tv[24], nf[24], ni[24];

		snprintf(st, sizeof(st), "%" PRId64, p.state);
		snprintf(rv, sizeof(rv), "%zu", b.nroots);
		snprintf(sv, sizeof(sv), "%" PRId64, p.snapshot_version);
		snprintf(tv, sizeof(tv), "%" PRId64, p.timestamp_version);
		snprintf(nf, sizeof(nf), "%zu", p.nfiles);
		snprintf(ni, sizeof(ni), "%" PRIu64, stored);
		repod_log("info", "published", "state", st, "root", rv,
		    "snapshot", sv, "timestamp", tv,
		    "role_files", nf, "images", ni, NULL);
	}
 out:
	if (begun)
		ferry_tree_abort(x->tree);
	free(files);
	json_decref(meta);
	json_decref(cat);
	bundle_free(&b);
	repod_live_free(&live);
	return r;
}

/* Pruning a served tree of unreferenced target files: see treegc.h. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "meta.h"
#include "treegc.h"

#define META_MAX (64u << 20)

/*
 * The set of target files the states refer to: a sorted array of 16-byte
 * BLAKE2b digests of their names under targets/, far smaller than the
 * names at a million targets.  Two names with one digest could only keep
 * a file that should go, never remove one that must stay.
 */
#define NAME_DIGEST 16

struct nameset {
	unsigned char (*d)[NAME_DIGEST];
	size_t n, cap;
};

static void
name_digest(const char *name, unsigned char out[NAME_DIGEST])
{
	crypto_generichash(out, NAME_DIGEST, (const unsigned char *)name,
	    strlen(name), NULL, 0);
}

static int
nameset_add(struct nameset *s, const char *name)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		void *d;

		if (cap > SIZE_MAX / NAME_DIGEST ||
		    (d = realloc(s->d, cap * NAME_DIGEST)) == NULL)
			return FERRY_ERR_NOMEM;
		s->d = d;
		s->cap = cap;
	}
	name_digest(name, s->d[s->n++]);
	return 0;
}

static int
cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, NAME_DIGEST);
}

static int
nameset_has(const struct nameset *s, const char *name)
{
	unsigned char d[NAME_DIGEST];

	name_digest(name, d);
	return s->n > 0 &&
	    bsearch(d, s->d, s->n, NAME_DIGEST, cmp_digest) != NULL;
}

/* Metadata file name of state, parsed; it must be of type want. */
static int
load(struct ferry_tree *t, int64_t state, const char *name, size_t max_len,
    enum ferry_meta_type want, struct ferry_meta **out,
    struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	unsigned char *buf = NULL;
	size_t len;
	int r;

	if ((r = ferry_tree_read(t, state, name, max_len, &buf, &len,
	    err)) != 0)
		return r;
	if ((r = ferry_meta_parse(buf, len, max_len, out, &e)) != 0)
		r = ferry_error_set(err, r, "%s: state %" PRId64 ": %s: %s",
		    ferry_tree_dir(t), state, name, ferry_error_msg(&e));
	else if ((*out)->type != want) {
		ferry_meta_free(*out);
		*out = NULL;
		r = ferry_error_set(err, FERRY_ERR_META_TYPE, "%s: state %"
		    PRId64 ": %s: not %s metadata", ferry_tree_dir(t), state,
		    name, ferry_meta_type_name(want));
	}
	free(buf);
	return r;
}

/* The target files one role file lists, added to set. */
static int
role_targets(struct ferry_tree *t, int64_t state, const char *name,
    struct nameset *set, struct ferry_error *err)
{
	struct ferry_meta *md = NULL;
	const char *path, *alg, *base;
	json_t *v, *hashes, *h;
	char file[4096];
	int r;

	if ((r = load(t, state, name, META_MAX, FERRY_META_TARGETS, &md,
	    err)) != 0)
		return r;
	json_object_foreach((json_t *)md->targets, path, v) {
		hashes = json_object_get(v, "hashes");
		base = strrchr(path, '/');
		json_object_foreach(hashes, alg, h) {
			if (!json_is_string(h))
				continue;
			if (base == NULL)
				snprintf(file, sizeof(file), "%s.%s",
				    json_string_value(h), path);
			else
				snprintf(file, sizeof(file), "%.*s/%s.%s",
				    (int)(base - path), path,
				    json_string_value(h), base + 1);
			if ((r = nameset_add(set, file)) != 0)
				break;
		}
		if (r != 0)
			break;
	}
	ferry_meta_free(md);
	return r;
}

int
ferry_treegc_state_meta(struct ferry_tree *t, int64_t state, size_t max_len,
    ferry_state_meta_cb *cb, void *arg, struct ferry_error *err)
{
	struct ferry_meta *ts = NULL, *snap = NULL;
	struct ferry_metafile mf;
	const char *key;
	char name[320];
	json_t *v;
	int r;

	if ((r = load(t, state, "timestamp.json", max_len,
	    FERRY_META_TIMESTAMP, &ts, err)) != 0)
		return r;
	r = ferry_meta_metafile(ts, "snapshot.json", &mf);
	ferry_meta_free(ts);
	if (r != 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: state %"
		    PRId64 ": its timestamp names no snapshot",
		    ferry_tree_dir(t), state);
	snprintf(name, sizeof(name), "%" PRId64 ".snapshot.json", mf.version);
	if ((r = load(t, state, name, max_len, FERRY_META_SNAPSHOT, &snap,
	    err)) != 0)
		return r;
	r = cb(arg, name, 1, err);
	json_object_foreach((json_t *)snap->meta, key, v) {
		if (r != 0)
			break;
		if (ferry_meta_metafile(snap, key, &mf) != 0)
			continue;
		snprintf(name, sizeof(name), "%" PRId64 ".%s", mf.version,
		    key);
		r = cb(arg, name, 0, err);
	}
	ferry_meta_free(snap);
	return r;
}

/* The role files already walked, and where their targets go. */
struct walk {
	struct ferry_tree *t;
	int64_t state;
	struct nameset *set;
	json_t *seen;
};

static int
walk_role(void *arg, const char *name, int snapshot, struct ferry_error *err)
{
	struct walk *w = arg;

	if (snapshot || json_object_get(w->seen, name) != NULL)
		return 0;
	if (json_object_set_new(w->seen, name, json_true()) != 0)
		return FERRY_ERR_NOMEM;
	return role_targets(w->t, w->state, name, w->set, err);
}

/* Every target file of every state on disk, each role version once. */
static int
referenced(struct ferry_tree *t, struct nameset *set,
    struct ferry_error *err)
{
	struct walk w = { t, 0, set, NULL };
	int64_t *st = NULL;
	size_t n, i;
	int r;

	if ((w.seen = json_object()) == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = ferry_tree_states(t, &st, &n, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		w.state = st[i];
		r = ferry_treegc_state_meta(t, st[i], META_MAX, walk_role, &w,
		    err);
	}
	if (r == 0 && set->n > 0)
		qsort(set->d, set->n, NAME_DIGEST, cmp_digest);
 out:
	json_decref(w.seen);
	free(st);
	return r;
}

/* nftw(3) has no argument for its callback. */
static struct {
	struct nameset *set;
	size_t skip;		/* strlen("TREE/targets/.") + 1 */
	uint64_t files, bytes;
	int failed;
} gc;

static int
gc_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || strlen(path) <= gc.skip)
		return 0;
	if (nameset_has(gc.set, path + gc.skip))
		return 0;
	if (unlink(path) != 0) {
		gc.failed = errno;
		return 0;
	}
	gc.files++;
	gc.bytes += (uint64_t)st->st_size;
	return 0;
}

int
ferry_treegc_targets(struct ferry_tree *t, uint64_t *files, uint64_t *bytes,
    struct ferry_error *err)
{
	struct nameset set = { NULL, 0, 0 };
	char dir[PATH_MAX];
	int r;

	*files = *bytes = 0;
	if ((r = referenced(t, &set, err)) != 0)
		goto out;
	/* "/." so that a targets/ that is a symbolic link is walked. */
	snprintf(dir, sizeof(dir), "%s/targets/.", ferry_tree_dir(t));
	memset(&gc, 0, sizeof(gc));
	gc.set = &set;
	gc.skip = strlen(dir) + 1;
	if (nftw(dir, gc_entry, 16, FTW_PHYS) != 0)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", dir,
		    strerror(errno));
	else if (gc.failed != 0)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: removing a file: "
		    "%s", dir, strerror(gc.failed));
	*files = gc.files;
	*bytes = gc.bytes;
	memset(&gc, 0, sizeof(gc));
 out:
	free(set.d);
	return r;
}

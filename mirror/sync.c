/*
 * ferry-mirror sync: verify the upstream as a client does (lib/updater),
 * fetch what the mirror lacks, and publish it as the next state of the
 * served tree (lib/tree), which a client sees whole or not at all.
 *
 * Order: refresh the trusted metadata (every root version that verifies
 * is kept in DIR/roots/), list every target of every trusted role (which
 * loads and verifies each delegated role), download and verify the
 * targets not yet stored, then build the state: the root versions, the
 * snapshot and role files by version, linked from the live state where
 * it has them; the files the retained states refer to; timestamp.json
 * last.  Nothing is served differently until the switch, and a sync that
 * fails at any point leaves the previous state served.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "lib/fetch.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/meta.h"
#include "lib/tree.h"
#include "lib/treegc.h"
#include "lib/updater.h"
#include "mirror/mirror.h"

#define META_MAX (64u << 20)
#define TREE_WAIT 60		/* seconds to wait for another writer */

struct sync {
	const struct mirror_config *c;
	struct ferry_tree *tree;
	struct ferry_updater *u;
	char *meta_urls[MIRROR_MAX_UPSTREAMS];
	char *target_urls[MIRROR_MAX_UPSTREAMS];
	json_t *targets;	/* [path, length, hashes] to hold */
	json_t *seen;		/* "path\nhashes" already listed */
	json_t *names;		/* metadata names of the new state */
	struct mirror_sync_result *res;
	struct ferry_fetch_opts fetch;	/* the updater's and the transfers' */
	int quiet;
};

/* on_trusted: keep every root version that verified, by number. */
static int
keep_root(void *arg, const char *role, const unsigned char *buf, size_t len,
    struct ferry_error *err)
{
	struct sync *s = arg;
	struct ferry_meta *md = NULL;
	char path[PATH_MAX];
	int r;

	if (strcmp(role, "root") != 0)
		return 0;
	if ((r = ferry_meta_parse(buf, len, META_MAX, &md, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/roots/%" PRId64 ".root.json",
	    s->c->dir, md->version);
	ferry_meta_free(md);
	if ((r = ferry_file_write_atomic(path, buf, len, 0644)) != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	return 0;
}

/* base + "/" + leaf, in a new string. */
static char *
join_url(const char *base, const char *leaf)
{
	size_t n = strlen(base);
	char *p;

	while (n > 1 && base[n - 1] == '/')
		n--;
	if ((p = malloc(n + strlen(leaf) + 2)) != NULL)
		snprintf(p, n + strlen(leaf) + 2, "%.*s/%s", (int)n, base,
		    leaf);
	return p;
}

/* on_skip: an upstream that failed for a file is named in the log. */
static void
skipped(void *arg, const char *mirror, const struct ferry_error *why)
{
	(void)arg;
	fprintf(stderr, "ferry-mirror: upstream %s skipped: %s\n", mirror,
	    ferry_error_msg(why));
}

/*
 * The updater for the mirror's trusted metadata, which keeps every root
 * version that verifies.
 */
static int
make_updater(struct sync *s, struct ferry_updater **out,
    struct ferry_error *err)
{
	struct ferry_updater_config cfg;
	char dir[PATH_MAX];
	size_t i;

	for (i = 0; i < s->c->nupstreams && s->meta_urls[i] == NULL; i++)
		if ((s->meta_urls[i] = join_url(s->c->upstreams[i],
		    "metadata")) == NULL || (s->target_urls[i] =
		    join_url(s->c->upstreams[i], "targets")) == NULL)
			return FERRY_ERR_NOMEM;
	snprintf(dir, sizeof(dir), "%s/trusted", s->c->dir);
	ferry_updater_config_default(&cfg);
	cfg.metadata_dir = dir;
	cfg.metadata_urls = (const char *const *)s->meta_urls;
	cfg.nmetadata_urls = s->c->nupstreams;
	cfg.target_urls = (const char *const *)s->target_urls;
	cfg.ntarget_urls = s->c->nupstreams;
	/* A mirror carries whole repositories: the largest metadata too. */
	cfg.snapshot_max_length = META_MAX;
	cfg.targets_max_length = META_MAX;
	cfg.fetch = s->fetch;
	cfg.on_trusted = keep_root;
	cfg.on_trusted_arg = s;
	cfg.durable_downloads = 0;	/* the tree's switch makes them so */
	cfg.on_skip = skipped;
	return ferry_updater_new(&cfg, out, err);
}

/* ferry_updater_list's callback: the targets to hold, each once. */
static int
list_one(void *arg, const char *role, const struct ferry_target *t)
{
	struct sync *s = arg;
	char *dump, key[4096];
	int r;

	(void)role;
	if (!mirror_config_wants(s->c, t->path))
		return 0;
	if ((dump = json_dumps(t->hashes, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL)
		return FERRY_ERR_NOMEM;
	snprintf(key, sizeof(key), "%s\n%" PRIu64 "\n%s", t->path, t->length,
	    dump);
	free(dump);
	if (json_object_get(s->seen, key) != NULL)
		return 0;
	r = json_object_set_new(s->seen, key, json_true()) != 0 ||
	    json_array_append_new(s->targets, json_pack("[s, I, O]", t->path,
	    (json_int_t)t->length, t->hashes)) != 0;
	return r ? FERRY_ERR_NOMEM : 0;
}

/*
 * Downloading the targets the tree lacks, several at once over libcurl's
 * multi interface.  Each target is a ferry_download that hands out its
 * fetches one after another (the next upstream when one fails).  The
 * `parallel` transfers are shared out among as many runner threads as
 * there are processors (at most `parallel`), each with a multi of its
 * own: checking every byte against two hashes costs more processor time
 * than receiving it, and one thread would make that the limit.  A runner
 * keeps twice its transfers' worth of downloads open, so that a transfer
 * that ends finds the next one waiting.  The list, the tree, the counters
 * and the first failure are shared under the pool's lock.
 */
struct pool;

struct runner {
	struct pool *p;
	struct ferry_fetch_multi *m;
	pthread_t tid;
	size_t open, max_open;	/* downloads under way, and the most */
	struct timespec drawn;	/* when it last asked for progress */
};

struct pool {
	struct sync *s;
	pthread_mutex_t mu;
	struct runner run[MIRROR_MAX_PARALLEL];
	unsigned nrun;
	size_t next, n;		/* the next target to look at, of n */
	uint64_t total;		/* bytes of every target listed */
	uint64_t held;		/* of those, already in the tree */
	atomic_uint_least64_t streamed;	/* bytes written to partial files */
	int r;			/* the first failure, or 0 */
	struct ferry_error err;
};

struct job {
	struct runner *run;
	struct ferry_target t;
	struct ferry_download *d;
	char part[PATH_MAX];
};

/*
 * DIR/partial/HASH.LENGTH.DIGEST.part: by content, so a resumed download
 * is never taken for another file's, and by path and hashes (DIGEST), so
 * that no two downloads under way ever write the same file.
 */
static void
partial_name(const struct sync *s, const struct ferry_target *t, char *out,
    size_t cap)
{
	crypto_generichash_state st;
	unsigned char d[4];
	void *it = json_object_iter((json_t *)t->hashes);
	char *dump;

	/*
	 * The path and every hash: one path may be listed by two roles
	 * with different sets of hashes, and each is a download of its
	 * own (lengths differ in the name already).
	 */
	dump = json_dumps(t->hashes, JSON_COMPACT | JSON_SORT_KEYS);
	crypto_generichash_init(&st, NULL, 0, sizeof(d));
	crypto_generichash_update(&st, (const unsigned char *)t->path,
	    strlen(t->path) + 1);
	if (dump != NULL)
		crypto_generichash_update(&st, (const unsigned char *)dump,
		    strlen(dump));
	crypto_generichash_final(&st, d, sizeof(d));
	free(dump);
	snprintf(out, cap, "%s/partial/%.128s.%" PRIu64 ".%02x%02x%02x%02x"
	    ".part", s->c->dir, json_string_value(json_object_iter_value(it)),
	    t->length, d[0], d[1], d[2], d[3]);
}

/*
 * The first failure stops every runner: it is the one reported.  Called
 * with the lock held.
 */
static void
pool_fail_locked(struct pool *p, int r, const struct ferry_error *err)
{
	unsigned i;

	if (p->r != 0)
		return;
	p->r = r;
	p->err = *err;
	for (i = 0; i < p->nrun; i++)
		ferry_fetch_multi_stop(p->run[i].m);
}

static void
pool_fail(struct pool *p, int r, const struct ferry_error *err)
{
	pthread_mutex_lock(&p->mu);
	pool_fail_locked(p, r, err);
	pthread_mutex_unlock(&p->mu);
}

static int
pool_failed(struct pool *p)
{
	int r;

	pthread_mutex_lock(&p->mu);
	r = p->r;
	pthread_mutex_unlock(&p->mu);
	return r;
}

/* With the lock held. */
static void
pool_progress(struct pool *p, int last)
{
	uint64_t streamed = atomic_load(&p->streamed);

	if (!p->s->quiet)
		mirror_progress("sync", p->held + streamed, p->total,
		    streamed, p->next, p->n, last);
}

static ferry_fetch_done_cb job_fetched;

/* The bytes of a fetch: into the download, and counted for progress. */
static int
job_write(void *arg, const unsigned char *buf, size_t len)
{
	struct job *j = arg;
	struct pool *p = j->run->p;
	struct timespec now;
	int r;

	if ((r = ferry_download_write(j->d, buf, len)) != 0)
		return r;
	atomic_fetch_add(&p->streamed, len);
	/*
	 * The lock and the progress line at most ten times a second per
	 * runner, not for every piece received.
	 */
	if (p->s->quiet)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - j->run->drawn.tv_sec) * 1000 +
	    (now.tv_nsec - j->run->drawn.tv_nsec) / 1000000 < 100)
		return 0;
	j->run->drawn = now;
	pthread_mutex_lock(&p->mu);
	pool_progress(p, 0);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Hand j's next fetch to the multi: 1 if one is under way, 0 if j is over. */
static int
job_pump(struct job *j)
{
	struct pool *p = j->run->p;
	struct ferry_error err;
	const char *url;
	uint64_t offset, max_len;
	int r;

	if (pool_failed(p) != 0 ||
	    !ferry_download_next(j->d, &url, &offset, &max_len))
		return 0;
	if ((r = ferry_fetch_multi_add(j->run->m, url, offset, max_len,
	    job_write, j, job_fetched, j)) == 0)
		return 1;
	ferry_error_clear(&err);
	if (r != FERRY_ERR_NOMEM)
		(void)ferry_error_set(&err, r, "target %.200s: the transfer "
		    "was stopped", j->t.path);
	pool_fail(p, r, &err);
	return 0;
}

/* j is over: its verified file into the tree (unless the sync failed). */
static void
job_end(struct job *j)
{
	struct runner *run = j->run;
	struct pool *p = run->p;
	struct sync *s = p->s;
	struct ferry_error err;
	uint64_t resumed = 0;
	int r;

	ferry_error_clear(&err);
	/*
	 * Under the lock from the check on: a download that verified is
	 * either linked into the tree or, once the sync has failed, left
	 * as a partial file for the next sync to take up (never renamed
	 * and then thrown away).  A rename and a link cost little.
	 */
	pthread_mutex_lock(&p->mu);
	if (p->r == 0) {
		/* Linked into the tree: durable at the switch. */
		if ((r = ferry_download_finish(j->d, &resumed, &err)) == 0 &&
		    (r = ferry_tree_target_link(s->tree, j->t.path,
		    j->t.hashes, j->t.length, j->part, &err)) == 0) {
			s->res->fetched++;
			s->res->fetched_bytes += j->t.length;
			s->res->resumed_bytes += resumed;
		}
		if (r != 0)
			pool_fail_locked(p, r, &err);
		(void)unlink(j->part);
	}
	pthread_mutex_unlock(&p->mu);
	/* A download that did not finish keeps its partial file. */
	ferry_download_free(j->d);
	free(j);
	run->open--;
}

/* Start downloads for the next targets the tree lacks, up to max_open. */
static void
runner_feed(struct runner *run)
{
	struct pool *p = run->p;
	struct sync *s = p->s;
	struct ferry_error err;
	struct job *j;
	char partial[PATH_MAX + 256];
	size_t i;
	json_t *e;
	int r, has;

	while (run->open < run->max_open) {
		if ((j = calloc(1, sizeof(*j))) == NULL) {
			ferry_error_clear(&err);
			pool_fail(p, FERRY_ERR_NOMEM, &err);
			break;
		}
		j->run = run;
		ferry_error_clear(&err);
		pthread_mutex_lock(&p->mu);
		if (p->r != 0 || p->next == p->n) {
			pthread_mutex_unlock(&p->mu);
			free(j);
			break;
		}
		pool_progress(p, 0);
		i = p->next++;
		e = json_array_get(s->targets, i);
		j->t.path = json_string_value(json_array_get(e, 0));
		j->t.length = (uint64_t)json_integer_value(json_array_get(e, 1));
		j->t.hashes = json_array_get(e, 2);
		s->res->targets++;
		has = ferry_tree_target_has(s->tree, j->t.path, j->t.hashes,
		    j->t.length, &err);
		if (has == 1) {
			s->res->present++;
			p->held += j->t.length;
		} else if (has < 0)
			pool_fail_locked(p, has, &err);
		pthread_mutex_unlock(&p->mu);
		if (has != 0) {
			free(j);
			continue;
		}
		/*
		 * Checked as it streams in, resumed where a killed sync
		 * left it; then linked into the tree.
		 */
		snprintf(j->part, sizeof(j->part), "%s/partial/target.%zu",
		    s->c->dir, i);
		partial_name(s, &j->t, partial, sizeof(partial));
		if ((r = ferry_download_new(s->u, &j->t, j->part, partial,
		    &j->d, &err)) != 0) {
			pool_fail(p, r, &err);
			free(j);
			break;
		}
		run->open++;
		if (!job_pump(j))
			job_end(j);
	}
}

/* A fetch of j's ended: on to its next one, or to the next target. */
static void
job_fetched(void *arg, int r, const struct ferry_error *err)
{
	struct job *j = arg;
	struct runner *run = j->run;

	/*
	 * A multi stopped by the pool's first failure ends its fetches
	 * "stopped": no upstream's fault.  One that stopped by itself
	 * (libcurl's multi interface failed) fails the sync with why.
	 */
	if (ferry_fetch_multi_stopped(run->m)) {
		if (r != 0)
			pool_fail(run->p, r, err);
	} else if (pool_failed(run->p) == 0)
		ferry_download_fetched(j->d, r, err);
	if (job_pump(j))
		return;
	job_end(j);
	runner_feed(run);
}

static void *
runner_main(void *arg)
{
	struct runner *run = arg;
	struct ferry_error err;
	int r;

	runner_feed(run);
	ferry_error_clear(&err);
	if ((r = ferry_fetch_multi_run(run->m, &err)) != 0)
		pool_fail(run->p, r, &err);
	else if (run->open != 0)
		pool_fail(run->p, ferry_error_set(&err, FERRY_ERR_INTERNAL,
		    "%zu downloads left over", run->open), &err);
	return NULL;
}

/* Download and store each target the tree does not hold yet. */
static int
fetch_targets(struct sync *s, struct ferry_error *err)
{
	struct pool p;
	unsigned i, started = 0, slots;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k;
	int r;

	memset(&p, 0, sizeof(p));
	atomic_init(&p.streamed, 0);
	p.s = s;
	p.n = json_array_size(s->targets);
	for (k = 0; k < p.n; k++)
		p.total += (uint64_t)json_integer_value(json_array_get(
		    json_array_get(s->targets, k), 1));
	p.nrun = ncpu < 1 ? 1 : ncpu > (long)s->c->parallel ?
	    s->c->parallel : (unsigned)ncpu;
	if ((r = pthread_mutex_init(&p.mu, NULL)) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "a lock: %s",
		    strerror(r));
	for (i = 0; i < p.nrun; i++) {
		slots = s->c->parallel / p.nrun +
		    (i < s->c->parallel % p.nrun ? 1 : 0);
		p.run[i].p = &p;
		p.run[i].max_open = 2 * (size_t)slots;
		if ((r = ferry_fetch_multi_new(&s->fetch, slots,
		    &p.run[i].m)) != 0) {
			p.r = ferry_error_set(&p.err, r, "starting transfers: "
			    "%s", ferry_strerror(r));
			break;
		}
	}
	for (i = 0; i < p.nrun && pool_failed(&p) == 0; i++) {
		if ((r = pthread_create(&p.run[i].tid, NULL, runner_main,
		    &p.run[i])) != 0) {
			struct ferry_error e = { 0 };

			(void)ferry_error_set(&e, FERRY_ERR_IO, "a thread: %s",
			    strerror(r));
			pool_fail(&p, FERRY_ERR_IO, &e);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		(void)pthread_join(p.run[i].tid, NULL);
	for (i = 0; i < p.nrun; i++) {
		s->res->received_bytes += ferry_fetch_multi_bytes(p.run[i].m);
		ferry_fetch_multi_free(p.run[i].m);
	}
	pool_progress(&p, 1);
	pthread_mutex_destroy(&p.mu);
	if (p.r != 0) {
		*err = p.err;
		return p.r;
	}
	return 0;
}

/*
 * Metadata file name of the new state, with these bytes: linked from the
 * live state when it holds the same name (a versioned name is the same
 * file), else written.
 */
static int
put_meta(struct sync *s, const char *name, const unsigned char *buf,
    size_t len, struct ferry_error *err)
{
	int has;

	if (json_object_get(s->names, name) != NULL)
		return 0;
	if (json_object_set_new(s->names, name, json_true()) != 0)
		return FERRY_ERR_NOMEM;
	s->res->metadata_files++;
	if ((has = ferry_tree_has(s->tree, name)) < 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s/metadata/%s: %s",
		    ferry_tree_dir(s->tree), name, strerror(errno));
	if (has && strcmp(name, "root.json") != 0)
		return ferry_tree_link(s->tree, name, err);
	return ferry_tree_put(s->tree, name, buf, len, err);
}

/* A file of DIR (trusted/ROLE.json, roots/N.root.json), read whole. */
static int
read_state_file(struct sync *s, const char *sub, const char *leaf,
    unsigned char **buf, size_t *len, struct ferry_error *err)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s/%s", s->c->dir, sub, leaf);
	if ((r = ferry_file_read(path, META_MAX, buf, len)) != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	return 0;
}

/*
 * A role file the snapshot lists at version v that no trusted role
 * delegates (so the updater never loaded it): fetched as it is, and
 * checked against the snapshot's length and hashes where it gives them.
 */
static int
fetch_unreached(struct sync *s, const char *file, const char *name,
    const struct ferry_metafile *mf, unsigned char **buf, size_t *len,
    struct ferry_error *err)
{
	struct ferry_fetcher *f = NULL;
	struct ferry_hashset *hs = NULL;
	struct ferry_error e = { 0 };
	char *url;
	size_t i;
	int r = FERRY_ERR_NOT_FOUND;

	if ((r = ferry_fetcher_new(NULL, &f)) != 0)
		return ferry_error_set(err, r, "a fetcher: %s",
		    ferry_strerror(r));
	for (i = 0; i < s->c->nupstreams; i++) {
		if ((url = join_url(s->meta_urls[i], name)) == NULL) {
			r = FERRY_ERR_NOMEM;
			break;
		}
		r = ferry_fetch_buf(f, url, mf->length >= 0 ?
		    (size_t)mf->length : META_MAX, buf, len, &e);
		free(url);
		if (r != 0)
			continue;
		if (mf->length >= 0 && *len != (size_t)mf->length)
			r = ferry_error_set(&e, FERRY_ERR_LENGTH_MISMATCH,
			    "%zu bytes, the snapshot says %" PRId64, *len,
			    mf->length);
		else if (mf->hashes != NULL) {
			if ((r = ferry_hashset_new(mf->hashes, &hs, &e)) == 0 &&
			    (r = ferry_hashset_update(hs, *buf, *len)) == 0)
				r = ferry_hashset_verify(hs, &e);
		}
		ferry_hashset_free(hs);
		hs = NULL;
		if (r == 0)
			break;
		free(*buf);
		*buf = NULL;
	}
	ferry_fetcher_free(f);
	if (r != 0)
		return ferry_error_set(err, r, "%s (listed by the snapshot, "
		    "delegated by no trusted role): %s", file,
		    ferry_error_msg(&e)[0] ? ferry_error_msg(&e) :
		    ferry_strerror(r));
	return 0;
}

/* The snapshot and every role file it lists, by version. */
static int
put_snapshot_and_roles(struct sync *s, const struct ferry_meta *snap,
    struct ferry_error *err)
{
	struct ferry_metafile mf;
	struct ferry_meta *md;
	unsigned char *buf = NULL;
	char name[320], leaf[320], *q;
	const char *key;
	size_t len;
	json_t *v;
	int r;

	if ((r = read_state_file(s, "trusted", "snapshot.json", &buf, &len,
	    err)) != 0)
		return r;
	snprintf(name, sizeof(name), "%" PRId64 ".snapshot.json",
	    snap->version);
	r = put_meta(s, name, buf, len, err);
	free(buf);
	if (r != 0)
		return r;
	json_object_foreach((json_t *)snap->meta, key, v) {
		if (ferry_meta_metafile(snap, key, &mf) != 0 ||
		    strlen(key) < 6 || strchr(key, '/') != NULL ||
		    key[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%" PRId64 ".%s", mf.version,
		    key);
		if (json_object_get(s->names, name) != NULL)
			continue;
		if (ferry_tree_has(s->tree, name) == 1) {
			if ((r = put_meta(s, name, NULL, 0, err)) != 0)
				return r;
			continue;
		}
		/* trusted/ROLE.json holds it if a trusted role reached it. */
		snprintf(leaf, sizeof(leaf), "%.*s", (int)(strlen(key) - 5),
		    key);
		if ((q = ferry_url_segment(leaf)) == NULL)
			return FERRY_ERR_NOMEM;
		snprintf(leaf, sizeof(leaf), "%s.json", q);
		free(q);
		buf = NULL;
		md = NULL;
		r = read_state_file(s, "trusted", leaf, &buf, &len, err);
		if (r == 0 && (ferry_meta_parse(buf, len, META_MAX, &md,
		    NULL) != 0 || md->version != mf.version)) {
			free(buf);
			buf = NULL;
			r = FERRY_ERR_NOT_FOUND;
		}
		ferry_meta_free(md);
		if (r != 0 && (r = fetch_unreached(s, key, name, &mf, &buf,
		    &len, err)) != 0)
			return r;
		r = put_meta(s, name, buf, len, err);
		free(buf);
		if (r != 0)
			return r;
	}
	return 0;
}
/*
 * What the states kept for clients mid-refresh refer to (their
 * snapshots and the role versions those list), linked from the live
 * state, which holds them all.
 */
static int
put_retained_one(void *arg, const char *name, int snapshot,
    struct ferry_error *err)
{
	struct sync *s = arg;

	(void)snapshot;
	return ferry_tree_has(s->tree, name) == 1 ?
	    put_meta(s, name, NULL, 0, err) : 0;
}

static int
put_retained(struct sync *s, struct ferry_error *err)
{
	int64_t *st = NULL;
	size_t n, i, kept = 1;
	int r;

	if ((r = ferry_tree_states(s->tree, &st, &n, err)) != 0)
		return r;
	for (i = n; i-- > 0 && kept < s->c->retain_states && r == 0; kept++)
		r = ferry_treegc_state_meta(s->tree, st[i], META_MAX,
		    put_retained_one, s, err);
	free(st);
	return r;
}

/* Build the new state's metadata and switch to it. */
static int
publish(struct sync *s, struct ferry_error *err)
{
	const struct ferry_meta *root, *snap;
	unsigned char *buf = NULL;
	char name[64], path[PATH_MAX];
	size_t len;
	int64_t v;
	int r = 0;

	root = ferry_updater_trusted(s->u, "root");
	snap = ferry_updater_trusted(s->u, "snapshot");
	for (v = 1; v <= root->version; v++) {
		snprintf(name, sizeof(name), "%" PRId64 ".root.json", v);
		snprintf(path, sizeof(path), "%s/roots/%s", s->c->dir, name);
		if (ferry_tree_has(s->tree, name) == 1)
			r = put_meta(s, name, NULL, 0, err);
		else if (access(path, F_OK) == -1 && errno == ENOENT)
			continue;	/* older than the root first trusted */
		else if ((r = read_state_file(s, "roots", name, &buf, &len,
		    err)) == 0)
			r = put_meta(s, name, buf, len, err);
		free(buf);
		buf = NULL;
		if (r != 0)
			return r;
	}
	if ((r = read_state_file(s, "trusted", "root.json", &buf, &len,
	    err)) != 0)
		return r;
	r = put_meta(s, "root.json", buf, len, err);
	free(buf);
	buf = NULL;
	if (r != 0 || (r = put_snapshot_and_roles(s, snap, err)) != 0 ||
	    (r = put_retained(s, err)) != 0)
		return r;
	if ((r = read_state_file(s, "trusted", "timestamp.json", &buf, &len,
	    err)) != 0)
		return r;
	r = ferry_tree_switch(s->tree, buf, len, err);
	free(buf);
	return r;
}

/* Whether the live state's timestamp is the one just verified. */
static int
up_to_date(struct sync *s)
{
	unsigned char *live = NULL, *now = NULL;
	size_t llen, nlen;
	struct ferry_error e = { 0 };
	int same;

	if (ferry_tree_live(s->tree) == 0 ||
	    ferry_tree_read(s->tree, 0, "timestamp.json", META_MAX, &live,
	    &llen, &e) != 0 ||
	    read_state_file(s, "trusted", "timestamp.json", &now, &nlen,
	    &e) != 0)
		same = 0;
	else
		same = llen == nlen && memcmp(live, now, llen) == 0;
	free(live);
	free(now);
	return same;
}

/* Remove states beyond the retained ones (never the live one). */
static void
prune_states(struct sync *s)
{
	struct ferry_error e = { 0 };
	int64_t *st = NULL;
	size_t n, i;

	if (ferry_tree_states(s->tree, &st, &n, &e) != 0)
		return;
	for (i = 0; i + s->c->retain_states < n; i++)
		if (st[i] != ferry_tree_live(s->tree))
			(void)ferry_tree_state_remove(s->tree, st[i], &e);
	free(st);
}

/*
 * Remove the hidden temporaries (.NAME.tmp.RANDOM) of atomic writes a
 * killed sync left in DIR/sub (under the tree's lock: no other sync is
 * writing there).
 */
static void
clear_temporaries(const struct mirror_config *c, const char *sub)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", c->dir, sub);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strstr(de->d_name, ".tmp.") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
}

/*
 * Empty DIR/partial of what a killed sync left (under the tree's lock,
 * so no other sync is writing there), but the partial downloads (*.part)
 * to resume unless all is set (after a sync that completed: whatever is
 * left there is not wanted any more).
 */
static void
clear_partial(const struct mirror_config *c, int all)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	size_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/partial", c->dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n = strlen(de->d_name);
		if (!all && n > 5 && strcmp(de->d_name + n - 5, ".part") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
}

int
mirror_sync(const struct mirror_config *c, int quiet,
    struct mirror_sync_result *res, struct ferry_error *err)
{
	struct sync s;
	const struct ferry_meta *root;
	char dir[PATH_MAX];
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.c = c;
	s.res = res;
	s.quiet = quiet;
	ferry_fetch_opts_default(&s.fetch);
	/* Every upstream through it, .onion or not: nothing around Tor. */
	s.fetch.proxy = c->proxy;
	if (c->nupstreams == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s/mirror."
		    "json: no upstreams", c->dir);
	snprintf(dir, sizeof(dir), "%s/repo", c->dir);
	if ((r = ferry_tree_open(dir, TREE_WAIT, &s.tree, err)) != 0)
		return r;
	clear_partial(c, 0);
	clear_temporaries(c, "trusted");
	clear_temporaries(c, "roots");
	r = FERRY_ERR_NOMEM;
	if ((s.targets = json_array()) == NULL ||
	    (s.seen = json_object()) == NULL ||
	    (s.names = json_object()) == NULL)
		goto out;
	if ((r = make_updater(&s, &s.u, err)) != 0 ||
	    (r = ferry_updater_refresh(s.u, err)) != 0)
		goto out;
	root = ferry_updater_trusted(s.u, "root");
	if (root->consistent_snapshot != 1) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "root v%" PRId64
		    " does not set consistent_snapshot: a mirror serves only "
		    "repositories with versioned metadata", root->version);
		goto out;
	}
	res->root_version = root->version;
	res->snapshot_version = ferry_updater_trusted(s.u,
	    "snapshot")->version;
	res->timestamp_version = ferry_updater_trusted(s.u,
	    "timestamp")->version;
	if (!c->force && up_to_date(&s)) {
		res->state = ferry_tree_live(s.tree);
		r = 0;
		goto out;
	}
	if ((r = ferry_updater_list(s.u, 0, list_one, &s, err)) != 0 ||
	    (r = ferry_tree_begin(s.tree, err)) != 0)
		goto out;
	if ((r = fetch_targets(&s, err)) != 0 || (r = publish(&s, err)) != 0) {
		ferry_tree_abort(s.tree);
		goto out;
	}
	res->changed = 1;
	res->state = ferry_tree_live(s.tree);
	prune_states(&s);
	clear_partial(c, 1);
	{
		struct ferry_error e = { 0 };
		uint64_t files, bytes;

		if (ferry_treegc_targets(s.tree, &files, &bytes, &e) != 0)
			fprintf(stderr, "ferry-mirror: warning: pruning "
			    "targets: %s\n", ferry_error_msg(&e));
		res->pruned = files;
	}
 out:
	res->received_bytes += ferry_updater_bytes(s.u);
	for (i = 0; i < MIRROR_MAX_UPSTREAMS; i++) {
		free(s.meta_urls[i]);
		free(s.target_urls[i]);
	}
	json_decref(s.targets);
	json_decref(s.seen);
	json_decref(s.names);
	ferry_updater_free(s.u);
	ferry_tree_close(s.tree);
	return r;
}

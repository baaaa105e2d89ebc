/* The TUF client workflow: the trusted set and the refresh. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file.h"
#include "hash.h"
#include "json.h"
#include "updater_int.h"

void
ferry_updater_config_default(struct ferry_updater_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_root_rotations = 256;
	cfg->max_delegations = 32;
	cfg->root_max_length = 512000;
	cfg->timestamp_max_length = 16384;
	cfg->snapshot_max_length = 2000000;
	cfg->targets_max_length = 5000000;
	cfg->prefix_targets_with_hash = 1;
	cfg->durable_downloads = 1;
	ferry_fetch_opts_default(&cfg->fetch);
}

/* Register p to be freed with u. */
static int
keep_ptr(struct ferry_updater *u, void *p)
{
	void **nv;

	nv = realloc(u->owned, (u->nowned + 1) * sizeof(*nv));
	if (nv == NULL)
		return FERRY_ERR_NOMEM;
	u->owned = nv;
	u->owned[u->nowned++] = p;
	return 0;
}

/* Keep a copy of s in u; NULL stays NULL. */
static int
keep(struct ferry_updater *u, const char *s, const char **out)
{
	char *d;

	*out = NULL;
	if (s == NULL)
		return 0;
	if ((d = strdup(s)) == NULL)
		return FERRY_ERR_NOMEM;
	if (keep_ptr(u, d) != 0) {
		free(d);
		return FERRY_ERR_NOMEM;
	}
	*out = d;
	return 0;
}

static int
keep_list(struct ferry_updater *u, const char *const *v, size_t n,
    const char *const **out)
{
	const char **copy;
	size_t i;
	int r;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((copy = calloc(n, sizeof(*copy))) == NULL)
		return FERRY_ERR_NOMEM;
	if (keep_ptr(u, copy) != 0) {
		free(copy);
		return FERRY_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
		if ((r = keep(u, v[i], &copy[i])) != 0)
			return r;
	*out = copy;
	return 0;
}

int
upd_load_local(struct ferry_updater *u, const char *name, size_t max_len,
    unsigned char **buf, size_t *len)
{
	char *q, path[4096];
	int n, r;

	if ((q = ferry_url_segment(name)) == NULL)
		return FERRY_ERR_NOMEM;
	n = snprintf(path, sizeof(path), "%s/%s.json", u->cfg.metadata_dir, q);
	free(q);
	if (n < 0 || (size_t)n >= sizeof(path))
		return FERRY_ERR_INVALID_ARG;
	r = ferry_file_read(path, max_len, buf, len);
	return r;
}

int
upd_persist(struct ferry_updater *u, const char *name,
    const unsigned char *buf, size_t len, struct ferry_error *err)
{
	char *q, path[4096];
	int n, r;

	if ((q = ferry_url_segment(name)) == NULL)
		return FERRY_ERR_NOMEM;
	n = snprintf(path, sizeof(path), "%s/%s.json", u->cfg.metadata_dir, q);
	free(q);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "metadata directory path too long");
	if ((r = ferry_file_write_atomic(path, buf, len, 0644)) != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	if (u->cfg.on_trusted != NULL)
		return u->cfg.on_trusted(u->cfg.on_trusted_arg, name, buf, len,
		    err);
	return 0;
}

/* Append "; <base>: <msg>" to a bounded summary. */
static void
note_attempt(char *sum, size_t cap, const char *base, const char *msg)
{
	size_t n = strlen(sum);

	if (n + 8 >= cap)
		return;
	snprintf(sum + n, cap - n, "%s%s: %s", n > 0 ? "; " : "", base, msg);
}

int
upd_fetch_apply(struct ferry_updater *u, const char *const *bases,
    size_t nbases, const char *rel, size_t max_len, const char *what,
    apply_fn *apply, void *arg, struct fetched *out, struct ferry_error *err)
{
	char url[4096], summary[sizeof(err->msg)] = "";
	struct ferry_error e;
	unsigned char *buf;
	size_t i, len, notfound = 0;
	int r, last = FERRY_ERR_FETCH;

	if (nbases == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: no mirror configured", what);
	for (i = 0; i < nbases; i++) {
		ferry_error_clear(&e);
		buf = NULL;
		snprintf(url, sizeof(url), "%s%s%s", bases[i],
		    bases[i][0] != '\0' &&
		    bases[i][strlen(bases[i]) - 1] == '/' ? "" : "/", rel);
		r = ferry_fetch_buf(u->fetcher, url, max_len, &buf, &len, &e);
		if (r == FERRY_ERR_NOT_FOUND) {
			notfound++;
			note_attempt(summary, sizeof(summary), bases[i],
			    "not found");
			continue;
		}
		if (r == 0 && (r = apply(u, buf, len, arg, &e)) == 0) {
			out->buf = buf;
			out->len = len;
			out->url_base = bases[i];
			return 0;
		}
		free(buf);
		last = r;
		note_attempt(summary, sizeof(summary), bases[i],
		    ferry_error_msg(&e));
		if (u->cfg.on_skip != NULL)
			u->cfg.on_skip(u->cfg.on_skip_arg, bases[i], &e);
	}
	if (notfound == nbases)
		return FERRY_ERR_NOT_FOUND;
	/* One mirror: its own error.  Several: each named, with its reason. */
	return ferry_error_set(err, last, "%s: %s", what, summary);
}

static int
check_type(const struct ferry_meta *md, enum ferry_meta_type t,
    struct ferry_error *err)
{
	if (md->type != t)
		return ferry_error_set(err, FERRY_ERR_META_TYPE,
		    "expected %s metadata, got %s", ferry_meta_type_name(t),
		    ferry_meta_type_name(md->type));
	return 0;
}

/*
 * Parse len bytes at buf as metadata of type t signed by a threshold of
 * role's keys in ring.  A signature error names the role and version
 * ("snapshot v3: ...").  The caller owns *out.
 */
static int
parse_verified(const unsigned char *buf, size_t len, enum ferry_meta_type t,
    const struct ferry_keyring *ring, const struct ferry_role *role,
    const char *name, struct ferry_meta **out, struct ferry_error *err)
{
	struct ferry_meta *md = NULL;
	struct ferry_error e = { 0 };
	int r;

	if ((r = ferry_meta_parse(buf, len, len, &md, err)) != 0)
		return r;
	if ((r = check_type(md, t, err)) != 0)
		goto fail;
	if ((r = ferry_meta_verify(md, ring, role, NULL, &e)) != 0) {
		r = ferry_error_set(err, r, "%.80s v%lld: %s", name,
		    (long long)md->version, ferry_error_msg(&e));
		goto fail;
	}
	*out = md;
	return 0;
 fail:
	ferry_meta_free(md);
	return r;
}

static int
expired(const struct ferry_updater *u, const struct ferry_meta *md,
    const char *role, struct ferry_error *err)
{
	if (!ferry_meta_is_expired(md, u->ref_time))
		return 0;
	return ferry_error_set(err, FERRY_ERR_EXPIRED, "%s v%lld expired at %s",
	    role, (long long)md->version, md->expires_str);
}

/* Root N+1: signed by a threshold of root N's keys and of its own. */
static int
apply_root(struct ferry_updater *u, const unsigned char *buf, size_t len,
    void *arg, struct ferry_error *err)
{
	struct ferry_meta *md = NULL;
	struct ferry_error e = { 0 };
	int r;

	(void)arg;
	if ((r = ferry_meta_parse(buf, len, len, &md, err)) != 0)
		return r;
	if ((r = check_type(md, FERRY_META_ROOT, err)) != 0)
		goto fail;
	if ((r = ferry_meta_verify(md, &u->root->keys,
	    &u->root->roles[FERRY_META_ROOT], NULL, &e)) != 0) {
		r = ferry_error_set(err, r, "root v%lld: not signed by root "
		    "v%lld's keys: %s", (long long)md->version,
		    (long long)u->root->version, ferry_error_msg(&e));
		goto fail;
	}
	if (md->version != u->root->version + 1) {
		r = ferry_error_set(err, FERRY_ERR_VERSION, "expected root "
		    "v%lld, got v%lld", (long long)u->root->version + 1,
		    (long long)md->version);
		goto fail;
	}
	if ((r = ferry_meta_verify_by_root(md, FERRY_META_ROOT, md, NULL,
	    &e)) != 0) {
		r = ferry_error_set(err, r, "root v%lld: not signed by its own "
		    "keys: %s", (long long)md->version, ferry_error_msg(&e));
		goto fail;
	}
	ferry_meta_free(u->root);
	u->root = md;
	return 0;
 fail:
	ferry_meta_free(md);
	return r;
}

/*
 * A timestamp, verified by root; versions never go backwards.  An equal
 * version is not new (returns 1 and keeps the trusted one).  A valid but
 * expired timestamp stays trusted for rollback checks, as in python-tuf,
 * and fails the step.
 */
static int
apply_timestamp(struct ferry_updater *u, const unsigned char *buf, size_t len,
    void *arg, struct ferry_error *err)
{
	struct ferry_metafile old_mf, new_mf;
	struct ferry_meta *md = NULL;
	int r, *equal = arg;

	if ((r = parse_verified(buf, len, FERRY_META_TIMESTAMP, &u->root->keys,
	    &u->root->roles[FERRY_META_TIMESTAMP], "timestamp", &md,
	    err)) != 0)
		return r;
	if (u->timestamp != NULL) {
		if (md->version < u->timestamp->version) {
			r = ferry_error_set(err, FERRY_ERR_ROLLBACK,
			    "timestamp v%lld is older than trusted v%lld",
			    (long long)md->version,
			    (long long)u->timestamp->version);
			goto fail;
		}
		if (md->version == u->timestamp->version) {
			if (equal != NULL)
				*equal = 1;
			ferry_meta_free(md);
			return 0;
		}
		if (ferry_meta_metafile(u->timestamp, "snapshot.json",
		    &old_mf) == 0 && ferry_meta_metafile(md, "snapshot.json",
		    &new_mf) == 0 && new_mf.version < old_mf.version) {
			r = ferry_error_set(err, FERRY_ERR_ROLLBACK,
			    "timestamp v%lld names snapshot v%lld, older than "
			    "trusted v%lld", (long long)md->version,
			    (long long)new_mf.version,
			    (long long)old_mf.version);
			goto fail;
		}
	}
	ferry_meta_free(u->timestamp);
	u->timestamp = md;
	return expired(u, md, "timestamp", err);
 fail:
	ferry_meta_free(md);
	return r;
}

/* Checks that make the trusted snapshot usable for targets. */
static int
check_final_snapshot(struct ferry_updater *u, struct ferry_error *err)
{
	struct ferry_metafile mf;
	int r;

	if ((r = expired(u, u->snapshot, "snapshot", err)) != 0)
		return r;
	if ((r = ferry_meta_metafile(u->timestamp, "snapshot.json", &mf)) != 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "timestamp names no snapshot.json");
	if (u->snapshot->version != mf.version)
		return ferry_error_set(err, FERRY_ERR_VERSION, "expected "
		    "snapshot v%lld (from timestamp v%lld), got v%lld",
		    (long long)mf.version, (long long)u->timestamp->version,
		    (long long)u->snapshot->version);
	return 0;
}

/* Length and hashes where the referring metadata gives them. */
static int
check_metafile(const struct ferry_metafile *mf, const unsigned char *buf,
    size_t len, const char *what, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	int r;

	if (mf->length >= 0 && (uint64_t)mf->length != len)
		return ferry_error_set(err, FERRY_ERR_LENGTH_MISMATCH,
		    "%s: %zu bytes, expected %lld", what, len,
		    (long long)mf->length);
	if (mf->hashes != NULL &&
	    (r = ferry_hashes_verify_buf(mf->hashes, buf, len, &e)) != 0)
		return ferry_error_set(err, r, "%s: %s", what,
		    ferry_error_msg(&e));
	return 0;
}

struct snap_arg {
	int trusted;	/* bytes from our own disk: hashes may be stale */
};

/*
 * A snapshot matching the timestamp (unless it is our own trusted copy),
 * verified by root; no file it lists may disappear or go backwards.  Like
 * the timestamp, a valid snapshot stays trusted for rollback checks even
 * when it cannot be final (expired, or not the version timestamp names).
 */
static int
apply_snapshot(struct ferry_updater *u, const unsigned char *buf, size_t len,
    void *arg, struct ferry_error *err)
{
	const struct snap_arg *sa = arg;
	struct ferry_metafile mf, omf, nmf;
	struct ferry_meta *md = NULL;
	const char *name;
	json_t *v;
	int r;

	if ((r = expired(u, u->timestamp, "timestamp", err)) != 0)
		return r;
	if ((r = ferry_meta_metafile(u->timestamp, "snapshot.json", &mf)) != 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "timestamp names no snapshot.json");
	if (!sa->trusted && (r = check_metafile(&mf, buf, len, "snapshot",
	    err)) != 0)
		return r;
	if ((r = parse_verified(buf, len, FERRY_META_SNAPSHOT, &u->root->keys,
	    &u->root->roles[FERRY_META_SNAPSHOT], "snapshot", &md, err)) != 0)
		return r;
	if (u->snapshot != NULL) {
		json_object_foreach((json_t *)u->snapshot->meta, name, v) {
			if (ferry_meta_metafile(md, name, &nmf) != 0) {
				r = ferry_error_set(err, FERRY_ERR_ROLLBACK,
				    "snapshot v%lld drops %.80s, which trusted "
				    "snapshot v%lld lists",
				    (long long)md->version, name,
				    (long long)u->snapshot->version);
				goto fail;
			}
			if (ferry_meta_metafile(u->snapshot, name, &omf) == 0 &&
			    nmf.version < omf.version) {
				r = ferry_error_set(err, FERRY_ERR_ROLLBACK,
				    "snapshot v%lld names %.80s v%lld, older "
				    "than trusted v%lld",
				    (long long)md->version, name,
				    (long long)nmf.version,
				    (long long)omf.version);
				goto fail;
			}
		}
	}
	ferry_meta_free(u->snapshot);
	u->snapshot = md;
	return check_final_snapshot(u, err);
 fail:
	ferry_meta_free(md);
	return r;
}

int
upd_update_targets(struct ferry_updater *u, const char *role,
    const struct ferry_keyring *ring, const struct ferry_role *desc,
    const unsigned char *buf, size_t len, struct ferry_error *err)
{
	struct ferry_metafile mf;
	struct ferry_meta *md = NULL;
	struct delegated *nd;
	char name[512];
	int r;

	if ((r = check_final_snapshot(u, err)) != 0)
		return r;
	snprintf(name, sizeof(name), "%s.json", role);
	if (ferry_meta_metafile(u->snapshot, name, &mf) != 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "snapshot "
		    "v%lld does not list %.80s", (long long)u->snapshot->version,
		    name);
	if ((r = check_metafile(&mf, buf, len, role, err)) != 0)
		return r;
	if ((r = parse_verified(buf, len, FERRY_META_TARGETS, ring, desc, role,
	    &md, err)) != 0)
		return r;
	if (md->version != mf.version) {
		r = ferry_error_set(err, FERRY_ERR_VERSION, "expected %.80s "
		    "v%lld (from snapshot v%lld), got v%lld", role,
		    (long long)mf.version, (long long)u->snapshot->version,
		    (long long)md->version);
		goto fail;
	}
	if ((r = expired(u, md, role, err)) != 0)
		goto fail;
	if (strcmp(role, "targets") == 0) {
		ferry_meta_free(u->targets);
		u->targets = md;
		return 0;
	}
	nd = realloc(u->deleg, (u->ndeleg + 1) * sizeof(*nd));
	if (nd == NULL) {
		r = FERRY_ERR_NOMEM;
		goto fail;
	}
	u->deleg = nd;
	if ((nd[u->ndeleg].name = strdup(role)) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto fail;
	}
	nd[u->ndeleg++].md = md;
	return 0;
 fail:
	ferry_meta_free(md);
	return r;
}

void
upd_drop_delegated(struct ferry_updater *u)
{
	size_t i;

	for (i = 0; i < u->ndeleg; i++) {
		free(u->deleg[i].name);
		ferry_meta_free(u->deleg[i].md);
	}
	free(u->deleg);
	u->deleg = NULL;
	u->ndeleg = 0;
}

int
ferry_updater_new(const struct ferry_updater_config *cfg,
    struct ferry_updater **out, struct ferry_error *err)
{
	struct ferry_updater *u;
	struct ferry_error e = { 0 };
	unsigned char *buf = NULL;
	size_t len;
	int r;

	if (cfg == NULL || cfg->metadata_dir == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return FERRY_ERR_NOMEM;
	u->cfg = *cfg;
	if ((r = keep(u, cfg->metadata_dir, &u->cfg.metadata_dir)) != 0 ||
	    (r = keep_list(u, cfg->metadata_urls, cfg->nmetadata_urls,
	    &u->cfg.metadata_urls)) != 0 ||
	    (r = keep_list(u, cfg->target_urls, cfg->ntarget_urls,
	    &u->cfg.target_urls)) != 0 ||
	    (r = keep(u, cfg->fetch.proxy, &u->cfg.fetch.proxy)) != 0 ||
	    (r = keep(u, cfg->fetch.user_agent, &u->cfg.fetch.user_agent)) != 0)
		goto fail;
	if ((r = ferry_fetcher_new(&u->cfg.fetch, &u->fetcher)) != 0) {
		ferry_error_set(err, r, "fetcher: %s", ferry_strerror(r));
		goto fail;
	}
	r = upd_load_local(u, "root", u->cfg.root_max_length, &buf, &len);
	if (r != 0) {
		ferry_error_set(err, r, "%s/root.json: %s", cfg->metadata_dir,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
		goto fail;
	}
	if ((r = ferry_meta_parse(buf, len, len, &u->root, &e)) != 0 ||
	    (r = check_type(u->root, FERRY_META_ROOT, &e)) != 0 ||
	    (r = ferry_meta_verify_by_root(u->root, FERRY_META_ROOT, u->root,
	    NULL, &e)) != 0) {
		ferry_error_set(err, r, "trusted root %s/root.json: %s",
		    cfg->metadata_dir, ferry_error_msg(&e));
		goto fail;
	}
	free(buf);
	*out = u;
	return 0;
 fail:
	free(buf);
	ferry_updater_free(u);
	return r;
}

void
ferry_updater_free(struct ferry_updater *u)
{
	size_t i;

	if (u == NULL)
		return;
	ferry_fetcher_free(u->fetcher);
	ferry_meta_free(u->root);
	ferry_meta_free(u->timestamp);
	ferry_meta_free(u->snapshot);
	ferry_meta_free(u->targets);
	upd_drop_delegated(u);
	for (i = 0; i < u->nowned; i++)
		free(u->owned[i]);
	free(u->owned);
	free(u);
}

/* 5.3: root N+1, N+2, ... until the mirrors have no newer one. */
static int
load_root(struct ferry_updater *u, struct ferry_error *err)
{
	struct fetched f;
	char rel[64], what[64];
	unsigned i;
	int r;

	for (i = 0; i < u->cfg.max_root_rotations; i++) {
		snprintf(rel, sizeof(rel), "%lld.root.json",
		    (long long)u->root->version + 1);
		snprintf(what, sizeof(what), "root v%lld",
		    (long long)u->root->version + 1);
		r = upd_fetch_apply(u, u->cfg.metadata_urls,
		    u->cfg.nmetadata_urls, rel, u->cfg.root_max_length, what,
		    apply_root, NULL, &f, err);
		if (r == FERRY_ERR_NOT_FOUND)
			return 0;
		if (r != 0)
			return r;
		r = upd_persist(u, "root", f.buf, f.len, err);
		free(f.buf);
		if (r != 0)
			return r;
	}
	return 0;
}

/* 5.4: the local timestamp (for rollback checks), then the mirrors'. */
static int
load_timestamp(struct ferry_updater *u, struct ferry_error *err)
{
	struct ferry_error ignored = { 0 };
	unsigned char *buf = NULL;
	struct fetched f;
	size_t len;
	int r, equal = 0;

	if (upd_load_local(u, "timestamp", u->cfg.timestamp_max_length, &buf,
	    &len) == 0)
		(void)apply_timestamp(u, buf, len, NULL, &ignored);
	free(buf);
	r = upd_fetch_apply(u, u->cfg.metadata_urls, u->cfg.nmetadata_urls,
	    "timestamp.json", u->cfg.timestamp_max_length, "timestamp",
	    apply_timestamp, &equal, &f, err);
	if (r == FERRY_ERR_NOT_FOUND)
		return ferry_error_set(err, FERRY_ERR_FETCH,
		    "timestamp: no mirror has timestamp.json");
	if (r != 0)
		return r;
	if (!equal)
		r = upd_persist(u, "timestamp", f.buf, f.len, err);
	free(f.buf);
	return r;
}

/* 5.5: the local snapshot if it is still the right one, else download. */
static int
load_snapshot(struct ferry_updater *u, struct ferry_error *err)
{
	struct ferry_error ignored = { 0 };
	struct snap_arg sa = { 1 };
	struct ferry_metafile mf;
	unsigned char *buf = NULL;
	struct fetched f;
	char rel[64];
	size_t len, max;
	int r;

	if ((r = ferry_meta_metafile(u->timestamp, "snapshot.json", &mf)) != 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "timestamp names no snapshot.json");
	/*
	 * Our own copy may be larger than the default limit (a snapshot the
	 * timestamp gave a larger length was fetched whole) or than the new
	 * one; it must stay readable either way, both to be reused and to
	 * serve the rollback checks of the new one.
	 */
	max = u->cfg.snapshot_max_length;
	if (mf.length >= 0 && (size_t)mf.length > max)
		max = (size_t)mf.length;
	if (upd_load_local(u, "snapshot", max, &buf, &len) == 0 &&
	    apply_snapshot(u, buf, len, &sa, &ignored) == 0) {
		free(buf);
		return 0;
	}
	free(buf);
	max = mf.length >= 0 ? (size_t)mf.length : u->cfg.snapshot_max_length;
	if (u->root->consistent_snapshot == 1)
		snprintf(rel, sizeof(rel), "%lld.snapshot.json",
		    (long long)mf.version);
	else
		snprintf(rel, sizeof(rel), "snapshot.json");
	sa.trusted = 0;
	r = upd_fetch_apply(u, u->cfg.metadata_urls, u->cfg.nmetadata_urls,
	    rel, max, "snapshot", apply_snapshot, &sa, &f, err);
	if (r == FERRY_ERR_NOT_FOUND)
		return ferry_error_set(err, FERRY_ERR_FETCH,
		    "snapshot: no mirror has %s", rel);
	if (r != 0)
		return r;
	r = upd_persist(u, "snapshot", f.buf, f.len, err);
	free(f.buf);
	return r;
}

int
ferry_updater_refresh(struct ferry_updater *u, struct ferry_error *err)
{
	struct ferry_meta *tg;
	int r;

	if (u == NULL)
		return FERRY_ERR_INVALID_ARG;
	/*
	 * Each refresh starts from the trusted root alone: what else is on
	 * disk is re-verified under the newest root, so a rotation of the
	 * timestamp or snapshot keys discards metadata the old keys signed
	 * (fast-forward recovery).
	 */
	u->ref_time = u->cfg.now != 0 ? u->cfg.now : (int64_t)time(NULL);
	u->refreshed = 0;
	ferry_meta_free(u->timestamp);
	ferry_meta_free(u->snapshot);
	ferry_meta_free(u->targets);
	u->timestamp = u->snapshot = u->targets = NULL;
	upd_drop_delegated(u);

	if ((r = load_root(u, err)) != 0)
		return r;
	if ((r = expired(u, u->root, "root", err)) != 0)
		return r;
	if ((r = load_timestamp(u, err)) != 0 ||
	    (r = load_snapshot(u, err)) != 0)
		return r;
	if ((r = upd_load_targets(u, "targets", &u->root->keys,
	    &u->root->roles[FERRY_META_TARGETS], &tg, err)) != 0)
		return r;
	u->refreshed = 1;
	return 0;
}

const struct ferry_meta *
ferry_updater_trusted(const struct ferry_updater *u, const char *name)
{
	size_t i;

	if (u == NULL || name == NULL)
		return NULL;
	if (strcmp(name, "root") == 0)
		return u->root;
	if (strcmp(name, "timestamp") == 0)
		return u->timestamp;
	if (strcmp(name, "snapshot") == 0)
		return u->snapshot;
	if (strcmp(name, "targets") == 0)
		return u->targets;
	for (i = 0; i < u->ndeleg; i++)
		if (strcmp(u->deleg[i].name, name) == 0)
			return u->deleg[i].md;
	return NULL;
}

uint64_t
ferry_updater_bytes(const struct ferry_updater *u)
{
	return u == NULL ? 0 : ferry_fetcher_bytes(u->fetcher);
}

int
ferry_updater_set_isolation(struct ferry_updater *u, const char *tag)
{
	return ferry_fetcher_set_isolation(u->fetcher, tag);
}

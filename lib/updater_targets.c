/* The TUF client workflow: delegated targets, target lookup and download. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "hash.h"
#include "updater_int.h"

struct targets_arg {
	const char *role;
	const struct ferry_keyring *ring;
	const struct ferry_role *desc;
};

static int
apply_targets(struct ferry_updater *u, const unsigned char *buf, size_t len,
    void *arg, struct ferry_error *err)
{
	const struct targets_arg *ta = arg;

	return upd_update_targets(u, ta->role, ta->ring, ta->desc, buf, len,
	    err);
}

int
upd_load_targets(struct ferry_updater *u, const char *role,
    const struct ferry_keyring *ring, const struct ferry_role *desc,
    struct ferry_meta **out, struct ferry_error *err)
{
	struct targets_arg ta = { role, ring, desc };
	struct ferry_error ignored = { 0 };
	struct ferry_metafile mf;
	const struct ferry_meta *have;
	unsigned char *buf = NULL;
	struct fetched f;
	char name[512], *q, rel[600], what[560];
	size_t len, max;
	int r;

	/*
	 * Already loaded in this refresh, perhaps through another delegator
	 * (a "diamond"): it must verify against this delegation too, or it
	 * would inherit authority from a path that does not cover it.
	 */
	if ((have = ferry_updater_trusted(u, role)) != NULL &&
	    strcmp(role, "root") != 0 && strcmp(role, "timestamp") != 0 &&
	    strcmp(role, "snapshot") != 0) {
		struct ferry_error e = { 0 };

		if ((r = ferry_meta_verify(have, ring, desc, NULL, &e)) != 0)
			return ferry_error_set(err, r, "%.80s v%lld is not "
			    "signed as this delegation requires: %s", role,
			    (long long)have->version, ferry_error_msg(&e));
		*out = (struct ferry_meta *)have;
		return 0;
	}
	/* Our own copy, if the snapshot still names exactly it. */
	if (upd_load_local(u, role, u->cfg.targets_max_length, &buf,
	    &len) == 0 && upd_update_targets(u, role, ring, desc, buf, len,
	    &ignored) == 0) {
		free(buf);
		*out = (struct ferry_meta *)ferry_updater_trusted(u, role);
		return 0;
	}
	free(buf);
	snprintf(name, sizeof(name), "%s.json", role);
	if (ferry_meta_metafile(u->snapshot, name, &mf) != 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%.80s is "
		    "delegated but snapshot v%lld does not list it", role,
		    (long long)u->snapshot->version);
	max = mf.length >= 0 ? (size_t)mf.length : u->cfg.targets_max_length;
	if ((q = ferry_url_segment(role)) == NULL)
		return FERRY_ERR_NOMEM;
	/* Role names go into URLs percent-encoded, '/' included. */
	if (u->root->consistent_snapshot == 1)
		snprintf(rel, sizeof(rel), "%lld.%.500s.json",
		    (long long)mf.version, q);
	else
		snprintf(rel, sizeof(rel), "%.500s.json", q);
	free(q);
	snprintf(what, sizeof(what), "%.500s v%lld", role,
	    (long long)mf.version);
	r = upd_fetch_apply(u, u->cfg.metadata_urls, u->cfg.nmetadata_urls,
	    rel, max, what, apply_targets, &ta, &f, err);
	if (r == FERRY_ERR_NOT_FOUND)
		return ferry_error_set(err, FERRY_ERR_FETCH, "%s: no mirror "
		    "has %s", what, rel);
	if (r != 0)
		return r;
	r = upd_persist(u, role, f.buf, f.len, err);
	free(f.buf);
	if (r != 0)
		return r;
	*out = (struct ferry_meta *)ferry_updater_trusted(u, role);
	return 0;
}

/* A role still to visit in the search, and the metadata that delegates it. */
struct visit {
	char *role;
	const struct ferry_meta *parent;	/* NULL: root delegates */
	const struct ferry_role *desc;
};

static int
push(struct visit **stack, size_t *n, size_t *cap, const char *role,
    const struct ferry_meta *parent, const struct ferry_role *desc)
{
	struct visit *ns;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((ns = realloc(*stack, *cap * sizeof(*ns))) == NULL)
			return FERRY_ERR_NOMEM;
		*stack = ns;
	}
	if (((*stack)[*n].role = strdup(role)) == NULL)
		return FERRY_ERR_NOMEM;
	(*stack)[*n].parent = parent;
	(*stack)[*n].desc = desc;
	(*n)++;
	return 0;
}

/* A terminating role was pushed at stack[first]: drop everything older. */
static void
drop_older(struct visit *stack, size_t *n, size_t first)
{
	size_t k;

	for (k = 0; k < first; k++)
		free(stack[k].role);
	memmove(stack, stack + first, (*n - first) * sizeof(*stack));
	*n -= first;
}

/*
 * Children of md that may hold path, pushed so that the first in
 * delegation order is popped first.  A matching terminating role cuts
 * off every role not yet visited, its later siblings included.
 */
static int
push_children(const struct ferry_meta *md, const char *path,
    struct visit **stack, size_t *n, size_t *cap)
{
	const struct ferry_delegations *d = md->delegations;
	size_t i, first = *n, last, k;
	char bin[512];
	int r;

	if (d == NULL)
		return 0;
	if (d->succinct) {
		/*
		 * Exactly one bin can hold the path, so a bin is terminating
		 * (as python-tuf and go-tuf treat it): a bin that does not
		 * list the target ends the search.
		 */
		if ((r = ferry_succinct_bin_name(&d->bins, path, bin,
		    sizeof(bin))) != 0 ||
		    (r = push(stack, n, cap, bin, md, &d->bins.role)) != 0)
			return r;
		drop_older(*stack, n, first);
		return 0;
	}
	for (i = 0; i < d->nroles; i++) {
		if (!ferry_role_matches_path(&d->roles[i], path))
			continue;
		if ((r = push(stack, n, cap, d->roles[i].name, md,
		    &d->roles[i])) != 0)
			return r;
		if (d->roles[i].terminating) {
			drop_older(*stack, n, first);
			first = 0;
			break;
		}
	}
	/* Reverse the new entries: the stack pops the last pushed first. */
	for (k = first, last = *n; last > 0 && k < --last; k++) {
		struct visit t = (*stack)[k];

		(*stack)[k] = (*stack)[last];
		(*stack)[last] = t;
	}
	return 0;
}

/* The name under which the updater holds md (borrowed). */
static const char *
role_name_of(const struct ferry_updater *u, const struct ferry_meta *md)
{
	size_t i;

	if (md == u->targets)
		return "targets";
	for (i = 0; i < u->ndeleg; i++)
		if (u->deleg[i].md == md)
			return u->deleg[i].name;
	return "?";
}

/*
 * Listing walks every role, so it must apply the delegation rules itself:
 * a role's entry counts only for paths that every delegation on the chain
 * that led to the role allows (a role listing paths outside its
 * delegation is never asked for them in a lookup).  Each visited role is
 * kept with the delegation that admitted it and its parent's index.
 */
struct listed {
	char *role;
	const struct ferry_role *desc;	/* NULL for top-level targets */
	const struct ferry_meta *parent;
	size_t up;			/* index of the parent; self at top */
};

struct pending {
	char *role;
	const struct ferry_role *desc;
	const struct ferry_meta *parent;
	size_t up;
};

/* Whether the delegation (desc in parent) admits path. */
static int
admits(const struct ferry_meta *parent, const struct ferry_role *desc,
    const char *role, const char *path)
{
	char bin[512];

	if (parent->delegations != NULL && parent->delegations->succinct)
		return ferry_succinct_bin_name(&parent->delegations->bins, path,
		    bin, sizeof(bin)) == 0 && strcmp(bin, role) == 0;
	return ferry_role_matches_path(desc, path);
}

static int
chain_admits(const struct listed *v, size_t at, const char *path)
{
	for (; v[at].desc != NULL; at = v[at].up)
		if (!admits(v[at].parent, v[at].desc, v[at].role, path))
			return 0;
	return 1;
}

static int
push_pending(struct pending **stack, size_t *n, size_t *cap, const char *role,
    const struct ferry_role *desc, const struct ferry_meta *parent, size_t up)
{
	struct pending *ns;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((ns = realloc(*stack, *cap * sizeof(*ns))) == NULL)
			return FERRY_ERR_NOMEM;
		*stack = ns;
	}
	if (((*stack)[*n].role = strdup(role)) == NULL)
		return FERRY_ERR_NOMEM;
	(*stack)[*n].desc = desc;
	(*stack)[*n].parent = parent;
	(*stack)[*n].up = up;
	(*n)++;
	return 0;
}

/* Every delegation of md, in order; bins expand to every bin name. */
static int
push_all_children(const struct ferry_meta *md, size_t up,
    struct pending **stack, size_t *n, size_t *cap)
{
	const struct ferry_delegations *d = md->delegations;
	size_t first = *n, k, last;
	char bin[512];
	uint64_t b, nbins;
	int r, w;

	if (d == NULL)
		return 0;
	if (d->succinct) {
		nbins = (uint64_t)1 << d->bins.bit_length;
		for (b = 0; b < nbins; b++) {
			w = snprintf(bin, sizeof(bin), "%s-%0*llx",
			    d->bins.name_prefix,
			    (int)((d->bins.bit_length + 3) / 4),
			    (unsigned long long)b);
			if (w < 0 || (size_t)w >= sizeof(bin))
				return FERRY_ERR_INVALID_ARG;
			if ((r = push_pending(stack, n, cap, bin,
			    &d->bins.role, md, up)) != 0)
				return r;
		}
	} else {
		for (k = 0; k < d->nroles; k++)
			if ((r = push_pending(stack, n, cap, d->roles[k].name,
			    &d->roles[k], md, up)) != 0)
				return r;
	}
	/* The stack pops the last pushed first: reverse to keep order. */
	for (k = first, last = *n; last > 0 && k < --last; k++) {
		struct pending t = (*stack)[k];

		(*stack)[k] = (*stack)[last];
		(*stack)[last] = t;
	}
	return 0;
}

int
ferry_updater_list(struct ferry_updater *u, size_t max_roles,
    ferry_target_cb *cb, void *arg, struct ferry_error *err)
{
	struct pending *stack = NULL, cur;
	struct listed *seen = NULL, *ns;
	size_t n = 0, cap = 0, nseen = 0, scap = 0, i, me;
	struct ferry_target t;
	struct ferry_meta *md;
	const char *path;
	json_t *v;
	int r, dup;

	if (u == NULL || cb == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (!u->refreshed && (r = ferry_updater_refresh(u, err)) != 0)
		return r;
	if ((r = push_pending(&stack, &n, &cap, "targets", NULL, NULL, 0)) != 0)
		goto out;
	while (n > 0) {
		cur = stack[--n];
		for (dup = 0, i = 0; i < nseen && !dup; i++)
			dup = strcmp(seen[i].role, cur.role) == 0;
		if (dup) {
			free(cur.role);
			continue;
		}
		if (max_roles > 0 && nseen >= max_roles) {
			free(cur.role);
			r = ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "more than %zu roles to list", max_roles);
			goto out;
		}
		r = upd_load_targets(u, cur.role, cur.desc == NULL ?
		    &u->root->keys : &cur.parent->delegations->keys,
		    cur.desc == NULL ? &u->root->roles[FERRY_META_TARGETS] :
		    cur.desc, &md, err);
		if (r != 0) {
			free(cur.role);
			goto out;
		}
		if (nseen == scap) {
			scap = scap ? scap * 2 : 16;
			if ((ns = realloc(seen, scap * sizeof(*ns))) == NULL) {
				free(cur.role);
				r = FERRY_ERR_NOMEM;
				goto out;
			}
			seen = ns;
		}
		me = nseen++;
		seen[me].role = cur.role;
		seen[me].desc = cur.desc;
		seen[me].parent = cur.parent;
		seen[me].up = cur.desc == NULL ? me : cur.up;
		json_object_foreach((json_t *)md->targets, path, v) {
			if (!chain_admits(seen, me, path))
				continue;
			if ((r = ferry_meta_target(md, path, &t)) != 0 ||
			    (r = cb(arg, cur.role, &t)) != 0)
				goto out;
		}
		if ((r = push_all_children(md, me, &stack, &n, &cap)) != 0)
			goto out;
	}
	r = 0;
 out:
	for (i = 0; i < n; i++)
		free(stack[i].role);
	free(stack);
	for (i = 0; i < nseen; i++)
		free(seen[i].role);
	free(seen);
	return r;
}

int
ferry_updater_target(struct ferry_updater *u, const char *path,
    struct ferry_target *out, struct ferry_error *err)
{
	return ferry_updater_find(u, path, out, NULL, err);
}

int
ferry_updater_find(struct ferry_updater *u, const char *path,
    struct ferry_target *out, const char **role, struct ferry_error *err)
{
	struct visit *stack = NULL;
	char **visited = NULL;
	size_t n = 0, cap = 0, nvisited = 0, i;
	struct ferry_meta *md;
	struct visit cur;
	int r, seen;

	if (u == NULL || path == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (!u->refreshed && (r = ferry_updater_refresh(u, err)) != 0)
		return r;
	if ((visited = calloc(u->cfg.max_delegations + 1,
	    sizeof(*visited))) == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = push(&stack, &n, &cap, "targets", NULL,
	    &u->root->roles[FERRY_META_TARGETS])) != 0)
		goto out;
	r = FERRY_ERR_NOT_FOUND;
	while (n > 0 && nvisited <= u->cfg.max_delegations) {
		cur = stack[--n];
		for (seen = 0, i = 0; i < nvisited && !seen; i++)
			seen = strcmp(visited[i], cur.role) == 0;
		if (seen) {
			free(cur.role);
			continue;
		}
		r = upd_load_targets(u, cur.role, cur.parent == NULL ?
		    &u->root->keys : &cur.parent->delegations->keys, cur.desc,
		    &md, err);
		if (r != 0) {
			free(cur.role);
			goto out;
		}
		if (ferry_meta_target(md, path, out) == 0) {
			free(cur.role);
			if (role != NULL)
				*role = role_name_of(u, md);
			r = 0;
			goto out;
		}
		visited[nvisited++] = cur.role;
		if ((r = push_children(md, path, &stack, &n, &cap)) != 0)
			goto out;
		r = FERRY_ERR_NOT_FOUND;
	}
	ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%.200s: no trusted role "
	    "lists this target%s", path, n > 0 ? " (delegation search stopped "
	    "at its limit)" : "");
 out:
	for (i = 0; i < n; i++)
		free(stack[i].role);
	free(stack);
	for (i = 0; i < nvisited; i++)
		free(visited[i]);
	free(visited);
	return r;
}

/* Stream a file (fd) through the target's hash set and length. */
static int
check_file(const struct ferry_target *t, int fd, struct ferry_error *err)
{
	struct ferry_hashset *hs = NULL;
	unsigned char buf[65536];
	uint64_t total = 0;
	ssize_t got;
	int r;

	if ((r = ferry_hashset_new(t->hashes, &hs, err)) != 0)
		return r;
	for (;;) {
		got = read(fd, buf, sizeof(buf));
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			r = FERRY_ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		total += (uint64_t)got;
		if (total > t->length) {
			r = FERRY_ERR_LENGTH_MISMATCH;
			goto out;
		}
		if ((r = ferry_hashset_update(hs, buf, (size_t)got)) != 0)
			goto out;
	}
	r = total == t->length ? ferry_hashset_verify(hs, err) :
	    FERRY_ERR_LENGTH_MISMATCH;
 out:
	ferry_hashset_free(hs);
	return r;
}

int
ferry_updater_is_cached(const struct ferry_target *t, const char *local_path)
{
	int fd, r;

	if (t == NULL || local_path == NULL)
		return 0;
	if ((fd = open(local_path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return 0;
	r = check_file(t, fd, NULL);
	close(fd);
	return r == 0;
}

struct dl {
	struct ferry_atomic *file;
	struct ferry_hashset *hs;
	int werr;		/* errno of a failed write: ours, not the mirror's */
};

static int
dl_write(void *arg, const unsigned char *buf, size_t len)
{
	struct dl *d = arg;
	int r;

	if ((r = ferry_hashset_update(d->hs, buf, len)) != 0)
		return r;
	if ((r = ferry_atomic_write(d->file, buf, len)) == FERRY_ERR_IO)
		d->werr = errno;
	return r;
}

/* The target's URL path: with consistent snapshots, DIR/HASH.NAME. */
static int
target_rel(const struct ferry_updater *u, const struct ferry_target *t,
    char *rel, size_t cap)
{
	const char *slash = strrchr(t->path, '/'), *hash;
	void *it;
	int n;

	if (u->root->consistent_snapshot != 1 ||
	    !u->cfg.prefix_targets_with_hash) {
		n = snprintf(rel, cap, "%s", t->path);
		return n < 0 || (size_t)n >= cap ? FERRY_ERR_INVALID_ARG : 0;
	}
	/* The first hash listed, as python-tuf and tuf-js choose it. */
	it = json_object_iter((json_t *)t->hashes);
	hash = json_string_value(json_object_iter_value(it));
	if (slash == NULL)
		n = snprintf(rel, cap, "%s.%s", hash, t->path);
	else
		n = snprintf(rel, cap, "%.*s/%s.%s", (int)(slash - t->path),
		    t->path, hash, slash + 1);
	return n < 0 || (size_t)n >= cap ? FERRY_ERR_INVALID_ARG : 0;
}

int
ferry_updater_download(struct ferry_updater *u, const struct ferry_target *t,
    const char *local_path, struct ferry_error *err)
{
	char rel[4096], url[8192], summary[sizeof(err->msg)] = "";
	struct ferry_error e;
	struct dl d;
	size_t i, len;
	int r = FERRY_ERR_FETCH;

	if (u == NULL || t == NULL || local_path == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (u->cfg.ntarget_urls == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "no target mirror configured");
	if ((r = target_rel(u, t, rel, sizeof(rel))) != 0)
		return ferry_error_set(err, r, "%.200s: path too long", t->path);
	for (i = 0; i < u->cfg.ntarget_urls; i++) {
		ferry_error_clear(&e);
		memset(&d, 0, sizeof(d));
		len = strlen(u->cfg.target_urls[i]);
		snprintf(url, sizeof(url), "%s%s%s", u->cfg.target_urls[i],
		    len > 0 && u->cfg.target_urls[i][len - 1] == '/' ? "" : "/",
		    rel);
		if ((r = ferry_atomic_open(local_path, 0644, &d.file)) != 0) {
			ferry_error_set(err, r, "%s: %s", local_path,
			    strerror(errno));
			return r;
		}
		/* The signed length is the limit: not one byte more. */
		if ((r = ferry_hashset_new(t->hashes, &d.hs, &e)) == 0 &&
		    (r = ferry_fetch_stream(u->fetcher, url, t->length,
		    dl_write, &d, &e)) == 0) {
			if (ferry_atomic_size(d.file) != t->length)
				r = ferry_error_set(&e,
				    FERRY_ERR_LENGTH_MISMATCH, "%llu bytes, "
				    "expected %llu", (unsigned long long)
				    ferry_atomic_size(d.file),
				    (unsigned long long)t->length);
			else if ((r = ferry_hashset_verify(d.hs, &e)) == 0)
				r = u->cfg.durable_downloads ?
				    ferry_atomic_commit(d.file) :
				    ferry_atomic_commit_nosync(d.file);
		}
		ferry_hashset_free(d.hs);
		ferry_atomic_free(d.file);	/* removes it unless committed */
		if (r == 0)
			return 0;
		/* A full disk is no mirror's fault: stop here. */
		if (d.werr != 0)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    local_path, strerror(d.werr));
		{
			size_t sl = strlen(summary);

			if (r != FERRY_ERR_NOT_FOUND && u->cfg.on_skip != NULL)
				u->cfg.on_skip(u->cfg.on_skip_arg,
				    u->cfg.target_urls[i], &e);
			snprintf(summary + sl, sizeof(summary) - sl, "%s%s: %s",
			    sl ? "; " : "", u->cfg.target_urls[i],
			    r == FERRY_ERR_NOT_FOUND ? "not found" :
			    ferry_error_msg(&e));
		}
	}
	return ferry_error_set(err, r, "target %.200s: %s", t->path, summary);
}

/*
 * A resumable download, one fetch at a time: the partial file and the
 * hash of what it holds, and where the walk over the mirrors stands.
 */
struct ferry_download {
	struct ferry_updater *u;
	const struct ferry_target *t;
	char *local_path, *partial_path;
	char rel[4096], url[8192];
	int fd;
	struct ferry_hashset *hs;
	uint64_t size;		/* bytes in the partial file */
	uint64_t resumed;	/* bytes there at the start, and kept */
	int werr;		/* errno of a failed write: ours, not the mirror's */
	unsigned pass;		/* each mirror once, then once more */
	size_t i;		/* the mirror of the fetch handed out */
	int finished;		/* no more fetches: r says how it ended */
	int r;
	struct ferry_error err;	/* the failure, once finished */
	char summary[sizeof(((struct ferry_error *)0)->msg)];
};

int
ferry_download_write(void *arg, const unsigned char *buf, size_t len)
{
	struct ferry_download *d = arg;
	int r;

	if ((r = ferry_hashset_update(d->hs, buf, len)) != 0)
		return r;
	if (ferry_file_write_all(d->fd, buf, len) == -1) {
		d->werr = errno;
		return FERRY_ERR_IO;
	}
	d->size += len;
	return 0;
}

/* Start the partial file over: empty, and a fresh hash. */
static int
dl_restart(struct ferry_download *d, struct ferry_error *err)
{
	ferry_hashset_free(d->hs);
	d->hs = NULL;
	d->size = 0;
	if (ftruncate(d->fd, 0) == -1 || lseek(d->fd, 0, SEEK_SET) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s",
		    strerror(errno));
	return ferry_hashset_new(d->t->hashes, &d->hs, err);
}

/* Hash what the partial file holds already, at most t->length bytes. */
static int
dl_open(struct ferry_download *d, struct ferry_error *err)
{
	unsigned char buf[64 * 1024];
	struct stat st;
	ssize_t n;
	int r;

	if ((d->fd = open(d->partial_path, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0644)) == -1 || fstat(d->fd, &st) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
		    d->partial_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ferry_error_set(err, FERRY_ERR_IO, "%s: not a regular "
		    "file", d->partial_path);
	if ((r = ferry_hashset_new(d->t->hashes, &d->hs, err)) != 0)
		return r;
	if ((uint64_t)st.st_size > d->t->length)
		return dl_restart(d, err);
	while ((n = read(d->fd, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    d->partial_path, strerror(errno));
		if ((r = ferry_hashset_update(d->hs, buf, (size_t)n)) != 0)
			return r;
		d->size += (uint64_t)n;
	}
	if (d->size != (uint64_t)st.st_size)	/* changed under us */
		return dl_restart(d, err);
	return 0;
}

void
ferry_download_free(struct ferry_download *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	ferry_hashset_free(d->hs);
	free(d->local_path);
	free(d->partial_path);
	free(d);
}

int
ferry_download_new(struct ferry_updater *u, const struct ferry_target *t,
    const char *local_path, const char *partial_path,
    struct ferry_download **out, struct ferry_error *err)
{
	struct ferry_download *d;
	struct ferry_error e;
	int r;

	if (u == NULL || t == NULL || local_path == NULL ||
	    partial_path == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (u->cfg.ntarget_urls == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "no target mirror configured");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return FERRY_ERR_NOMEM;
	d->fd = -1;
	d->u = u;
	d->t = t;
	if ((r = target_rel(u, t, d->rel, sizeof(d->rel))) != 0) {
		r = ferry_error_set(err, r, "%.200s: path too long", t->path);
		goto fail;
	}
	if ((d->local_path = strdup(local_path)) == NULL ||
	    (d->partial_path = strdup(partial_path)) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto fail;
	}
	ferry_error_clear(&e);
	if ((r = dl_open(d, &e)) != 0) {
		r = ferry_error_set(err, r, "target %.200s: %s", t->path,
		    ferry_error_msg(&e));
		goto fail;
	}
	d->resumed = d->size;
	*out = d;
	return 0;
 fail:
	ferry_download_free(d);
	return r;
}

/* No more fetches: with r, and err's detail when r is not 0. */
static void
dl_finish(struct ferry_download *d, int r, const char *fmt, ...)
{
	va_list ap;

	d->finished = 1;
	d->r = r;
	if (r != 0 && fmt != NULL) {
		va_start(ap, fmt);
		d->err.code = r;
		vsnprintf(d->err.msg, sizeof(d->err.msg), fmt, ap);
		va_end(ap);
	}
}

/*
 * What the fetch from mirror d->i came to (r, e), and whether the file is
 * complete and verifies: finished when it does, or on a failure of ours.
 */
static void
dl_judge(struct ferry_download *d, int r, const struct ferry_error *e0)
{
	const struct ferry_updater *u = d->u;
	const char *base = u->cfg.target_urls[d->i];
	struct ferry_error e = *e0;
	size_t sl;

	/* A full disk is no mirror's fault: stop here. */
	if (d->werr != 0) {
		dl_finish(d, FERRY_ERR_IO, "%s: %s", d->partial_path,
		    strerror(d->werr));
		return;
	}
	if (r == 0 && d->size != d->t->length)
		r = ferry_error_set(&e, FERRY_ERR_LENGTH_MISMATCH, "%llu "
		    "bytes, expected %llu", (unsigned long long)d->size,
		    (unsigned long long)d->t->length);
	if (r == 0)
		r = ferry_hashset_verify(d->hs, &e);
	if (r == 0) {
		dl_finish(d, 0, NULL);
		return;
	}
	if (r != FERRY_ERR_NOT_FOUND && u->cfg.on_skip != NULL)
		u->cfg.on_skip(u->cfg.on_skip_arg, base, &e);
	sl = strlen(d->summary);
	snprintf(d->summary + sl, sizeof(d->summary) - sl, "%s%s: %s",
	    sl ? "; " : "", base, r == FERRY_ERR_NOT_FOUND ? "not found" :
	    ferry_error_msg(&e));
	/*
	 * Bytes that did not verify, or a server that cannot resume: from
	 * 0.  A transfer cut short, a mirror down or without the file:
	 * kept, to go on from.
	 */
	if (r == FERRY_ERR_HASH_MISMATCH || r == FERRY_ERR_LENGTH_MISMATCH ||
	    r == FERRY_ERR_TOO_LARGE || (r == FERRY_ERR_FETCH &&
	    strstr(ferry_error_msg(&e), "cannot resume") != NULL)) {
		if (d->size > 0)
			d->resumed = 0;
		ferry_error_clear(&e);
		if (dl_restart(d, &e) != 0) {
			dl_finish(d, FERRY_ERR_IO, "%s: %s", d->partial_path,
			    ferry_error_msg(&e));
			return;
		}
	}
	d->r = r;
}

int
ferry_download_next(struct ferry_download *d, const char **url,
    uint64_t *offset, uint64_t *max_len)
{
	const char *base;
	struct ferry_error none;
	size_t len;

	if (d == NULL || url == NULL || offset == NULL || max_len == NULL)
		return 0;
	ferry_error_clear(&none);
	/*
	 * Each mirror in turn, from where the file stands; bytes that do
	 * not verify in the end, or a server that cannot resume, start it
	 * over from 0 (so a bad partial file costs one more pass at most).
	 */
	while (!d->finished) {
		if (d->i == d->u->cfg.ntarget_urls) {
			d->i = 0;
			if (++d->pass == 2) {
				dl_finish(d, d->r != 0 ? d->r : FERRY_ERR_FETCH,
				    "target %.200s: %s", d->t->path,
				    d->summary);
				break;
			}
			d->summary[0] = '\0';	/* the last pass's reasons */
		}
		if (d->size == d->t->length) {
			/* All there: only the check is left. */
			dl_judge(d, 0, &none);
			if (!d->finished)
				d->i++;
			continue;
		}
		base = d->u->cfg.target_urls[d->i];
		len = strlen(base);
		snprintf(d->url, sizeof(d->url), "%s%s%s", base,
		    len > 0 && base[len - 1] == '/' ? "" : "/", d->rel);
		*url = d->url;
		*offset = d->size;
		*max_len = d->t->length;
		return 1;
	}
	return 0;
}

void
ferry_download_fetched(struct ferry_download *d, int r,
    const struct ferry_error *err)
{
	struct ferry_error none;

	if (d == NULL || d->finished)
		return;
	if (err == NULL) {
		ferry_error_clear(&none);
		err = &none;
	}
	dl_judge(d, r, err);
	if (!d->finished)
		d->i++;
}

int
ferry_download_finish(struct ferry_download *d, uint64_t *resumed,
    struct ferry_error *err)
{
	if (d == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (!d->finished)
		return ferry_error_set(err, FERRY_ERR_INTERNAL, "target "
		    "%.200s: not finished", d->t->path);
	if (d->r != 0)
		return ferry_error_set(err, d->r, "%s", d->err.msg);
	if ((d->u->cfg.durable_downloads && fsync(d->fd) == -1) ||
	    rename(d->partial_path, d->local_path) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
		    d->local_path, strerror(errno));
	if (resumed != NULL)
		*resumed = d->resumed;
	return 0;
}

int
ferry_updater_download_resume(struct ferry_updater *u,
    const struct ferry_target *t, const char *local_path,
    const char *partial_path, uint64_t *resumed, struct ferry_error *err)
{
	struct ferry_download *d = NULL;
	struct ferry_error e;
	const char *url;
	uint64_t offset, max_len;
	int r;

	if (resumed == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_download_new(u, t, local_path, partial_path, &d,
	    err)) != 0)
		return r;
	while (ferry_download_next(d, &url, &offset, &max_len)) {
		ferry_error_clear(&e);
		r = ferry_fetch_stream_from(u->fetcher, url, offset, max_len,
		    ferry_download_write, d, &e);
		ferry_download_fetched(d, r, &e);
	}
	r = ferry_download_finish(d, resumed, err);
	ferry_download_free(d);
	return r;
}

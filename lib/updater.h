/*
 * The TUF client workflow (specification 1.0.x, section 5), shared by the
 * device client and the mirror.
 *
 * The updater starts from the trusted root in its metadata directory and
 * trusts nothing else.  A refresh walks root versions N+1, N+2, ...,
 * then timestamp, snapshot and top-level targets, checking every
 * signature threshold, version, expiry, length and hash the specification
 * asks for; delegated targets metadata is loaded on demand when a target
 * is looked up.  Expiry is judged against one reference time, fixed when
 * the refresh starts.
 *
 * Trusted metadata on disk changes only through atomic writes, and only
 * after it verified: whatever happens, the directory holds a usable
 * trusted state.  Metadata is fetched from an ordered list of mirrors; a
 * mirror that fails or serves bad data is skipped, and when every mirror
 * fails the error names each with its reason.
 */
#ifndef FERRY_UPDATER_H
#define FERRY_UPDATER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fetch.h"
#include "meta.h"

struct ferry_updater_config {
	const char *metadata_dir;	/* root.json, timestamp.json, ... */
	const char *const *metadata_urls; /* base URLs, in preference order */
	size_t nmetadata_urls;
	const char *const *target_urls;	/* base URLs for target files */
	size_t ntarget_urls;
	unsigned max_root_rotations;	/* root versions per refresh: 256 */
	unsigned max_delegations;	/* delegated roles per lookup: 32 */
	size_t root_max_length;		/* 512000 */
	size_t timestamp_max_length;	/* 16384 */
	size_t snapshot_max_length;	/* 2000000 */
	size_t targets_max_length;	/* 5000000 */
	int prefix_targets_with_hash;	/* with consistent snapshots: 1 */
	int64_t now;			/* reference time; 0: the clock */
	/*
	 * 1 (the default): a download is durable (fsync) before it is in
	 * place.  0: renamed into place without fsync, for a caller that
	 * makes many files durable at once later (the mirror's tree).
	 */
	int durable_downloads;
	struct ferry_fetch_opts fetch;
	/*
	 * Called (may be NULL) with every metadata file that verified, once
	 * it is kept in metadata_dir: the role's name ("root" for each root
	 * version of a rotation, in order) and the bytes.  A non-zero
	 * return fails the refresh or lookup with it.  The mirror keeps
	 * every root version this way.
	 */
	int (*on_trusted)(void *arg, const char *role,
	    const unsigned char *buf, size_t len, struct ferry_error *err);
	void *on_trusted_arg;
	/*
	 * Called (may be NULL) each time a mirror fails for a file and the
	 * next one is tried: the mirror's base URL and why (a mirror that
	 * has no such file is not reported: asking for the next root
	 * version is answered so).  For logs: the mirror skipped is named
	 * even when another one then serves the file.
	 */
	void (*on_skip)(void *arg, const char *mirror,
	    const struct ferry_error *why);
	void *on_skip_arg;
};

/* Fill cfg with the defaults above (no directory, no URLs). */
void ferry_updater_config_default(struct ferry_updater_config *cfg);

struct ferry_updater;

/*
 * Load the trusted root from cfg->metadata_dir/root.json (it must be
 * signed by a threshold of its own root keys).  cfg and its strings are
 * copied.  The caller owns *out.
 */
int ferry_updater_new(const struct ferry_updater_config *cfg,
    struct ferry_updater **out, struct ferry_error *err);
void ferry_updater_free(struct ferry_updater *u);

/*
 * Bring root, timestamp, snapshot and top-level targets up to date.  On
 * failure, what verified before the failing step is kept (on disk and in
 * the updater), and err says which check failed, for which role and
 * version, from which mirror.
 */
int ferry_updater_refresh(struct ferry_updater *u, struct ferry_error *err);

/*
 * Find target path by the preorder depth-first search of the delegation
 * graph (refreshing first if that has not happened yet).  *out borrows
 * from metadata the updater holds and stays valid until the next refresh
 * or free.  FERRY_ERR_NOT_FOUND when no trusted role lists the target.
 */
int ferry_updater_target(struct ferry_updater *u, const char *path,
    struct ferry_target *out, struct ferry_error *err);

/*
 * As ferry_updater_target(), also naming the role whose metadata lists
 * the target (*role borrows like *out).
 */
int ferry_updater_find(struct ferry_updater *u, const char *path,
    struct ferry_target *out, const char **role, struct ferry_error *err);

/* Called once per target by ferry_updater_list(); non-zero stops it. */
typedef int ferry_target_cb(void *arg, const char *role,
    const struct ferry_target *t);

/*
 * Every target the repository's trusted roles list, role by role in the
 * order of the delegation search (top-level targets first), each role
 * loaded and verified as for a lookup.  An entry is reported only when
 * every delegation on the chain that led to its role allows its path:
 * what a role lists outside its delegation is never trusted.  A path listed by more than one
 * role is reported for each; the search order decides which one a lookup
 * returns.  At most max_roles roles are loaded (0: no bound); hashed-bin
 * repositories may need many.
 */
int ferry_updater_list(struct ferry_updater *u, size_t max_roles,
    ferry_target_cb *cb, void *arg, struct ferry_error *err);

/*
 * Whether the file at local_path already holds target t (length and every
 * hash match): 1 if so, 0 if not (missing or different).
 */
int ferry_updater_is_cached(const struct ferry_target *t,
    const char *local_path);

/*
 * Download target t to local_path: streamed to a temporary file, checked
 * against its length and every listed hash, and moved into place only
 * when it verified.  A mirror that serves bad bytes is skipped.
 */
int ferry_updater_download(struct ferry_updater *u,
    const struct ferry_target *t, const char *local_path,
    struct ferry_error *err);

/*
 * As ferry_updater_download(), resumable: the bytes go to partial_path,
 * which is kept when the download fails (killed, cut off), and a later
 * call goes on from its end with a Range request (*resumed: the bytes
 * that were there and kept).  Bytes that do not verify in the end, or a
 * server that cannot resume, start it over from 0.  Once verified, the
 * file is renamed to local_path (fsynced first with durable_downloads).
 * partial_path should name the target by content, so that it is never
 * taken for another target's.
 */
int ferry_updater_download_resume(struct ferry_updater *u,
    const struct ferry_target *t, const char *local_path,
    const char *partial_path, uint64_t *resumed, struct ferry_error *err);

/*
 * The same download, one fetch at a time, for a caller that runs many at
 * once (over ferry_fetch_multi): what ferry_updater_download_resume()
 * does is
 *
 *	ferry_download_new(u, t, local_path, partial_path, &d, err);
 *	while (ferry_download_next(d, &url, &offset, &max_len))
 *		ferry_download_fetched(d, ferry_fetch_stream_from(fetcher,
 *		    url, offset, max_len, ferry_download_write, d, &e), &e);
 *	ferry_download_finish(d, &resumed, err);
 *	ferry_download_free(d);
 *
 * t (and the updater) must outlive d.  ferry_download_next() hands out
 * the next fetch to make (1; *url is valid until the next call) or says
 * there is none left (0): then ferry_download_finish() tells how it
 * ended, and on success renames the verified file to local_path.  A
 * download freed before it finished keeps its partial file.
 */
struct ferry_download;

int ferry_download_new(struct ferry_updater *u, const struct ferry_target *t,
    const char *local_path, const char *partial_path,
    struct ferry_download **out, struct ferry_error *err);
int ferry_download_next(struct ferry_download *d, const char **url,
    uint64_t *offset, uint64_t *max_len);
/* The ferry_fetch_cb for the fetches that d hands out (arg: d). */
int ferry_download_write(void *arg, const unsigned char *buf, size_t len);
/* The fetch that ferry_download_next() handed out ended as r (err). */
void ferry_download_fetched(struct ferry_download *d, int r,
    const struct ferry_error *err);
int ferry_download_finish(struct ferry_download *d, uint64_t *resumed,
    struct ferry_error *err);
void ferry_download_free(struct ferry_download *d);

/* The trusted metadata of role name ("root", "timestamp", ...), or NULL. */
const struct ferry_meta *ferry_updater_trusted(const struct ferry_updater *u,
    const char *name);

/* Bytes fetched so far. */
uint64_t ferry_updater_bytes(const struct ferry_updater *u);

/*
 * Fetch what follows under isolation tag (struct ferry_fetch_opts): with
 * a proxy, Tor keeps those fetches on circuits of their own.  0 or
 * FERRY_ERR_NOMEM.
 */
int ferry_updater_set_isolation(struct ferry_updater *u, const char *tag);

#endif

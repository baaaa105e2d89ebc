/*
 * Publishing: the state directory (tree, catalog, trusted root) opened
 * for writing, bundles checked and published, snapshot and timestamp
 * re-signed, old states pruned.  Used by the publish, refresh and prune
 * commands and by serve's refresher.
 */
#ifndef FERRY_REPOD_PUBLISH_H
#define FERRY_REPOD_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/catalog.h"
#include "lib/err.h"
#include "lib/meta.h"
#include "lib/tree.h"
#include "repod/keyd.h"
#include "repod/repod.h"

/* The largest metadata file repod reads. */
#define REPOD_META_MAX (64u << 20)
/* All the files of a bundle together (it holds metadata, no images). */
#define REPOD_BUNDLE_MAX ((uint64_t)1 << 30)
/* How long a writer waits for another to finish. */
#define REPOD_LOCK_WAIT 60

struct repod_progress {
	uint64_t done, total, stored, bytes;
	int last;
};

struct repod_ctx {
	const struct repod_config *c;
	struct ferry_tree *tree;	/* locked for writing */
	struct ferry_catalog *cat;
	struct keyd *keyd;		/* borrowed; NULL without keys */
	char actor[160];		/* who, for the audit log */
	int quiet;
	/*
	 * Called while publish stores images (may be NULL): of total new
	 * target entries, done are checked, stored of them were copied in
	 * (bytes in all); last is set on the final call.
	 */
	void (*progress)(const struct repod_progress *pr);
};

/*
 * Open DIR's tree (taking its lock) and catalog, bring the catalog in
 * line with the tree after a crash, and use keyd for signing (may be
 * NULL for commands that sign nothing).  actor names who acts.
 */
int repod_ctx_open(const struct repod_config *c, struct keyd *keyd,
    const char *actor, struct repod_ctx **out, struct ferry_error *err);
void repod_ctx_close(struct repod_ctx *x);

/* The live state, parsed. */
struct repod_live {
	struct ferry_meta *root;	/* the newest trusted root */
	unsigned char *root_bytes;	/* its file */
	size_t root_len;
	struct ferry_meta *timestamp;	/* NULL before the first publish */
	struct ferry_meta *snapshot;
	unsigned char *snapshot_bytes;	/* its file, which the timestamp */
	size_t snapshot_len;		/* names by length and hash */
};

/*
 * The live state, or before the first publication the trusted root that
 * `init` stored (DIR/root.json) alone.
 */
int repod_live_load(struct repod_ctx *x, struct repod_live *l,
    struct ferry_error *err);
void repod_live_free(struct repod_live *l);

/* A new role file for the next state. */
struct repod_file {
	const char *role;
	int64_t version;
	char name[300];			/* VERSION.ROLE.json */
	const unsigned char *buf;	/* borrowed */
	size_t len;
	char sha256[65];
};

/* What a publication brings, for the catalog and the log. */
struct repod_pubinfo {
	const char *kind;		/* "publish", "refresh" */
	const char *bundle_sha256;	/* or NULL */
	const struct repod_file *files;	/* new role files (roots too) */
	size_t nfiles;
	const struct ferry_meta *root;	/* the root of the new state */
	const unsigned char *root_bytes;	/* and its file */
	size_t root_len;
	json_t *snapshot_meta;		/* new snapshot's "meta", or NULL
					   to keep the live snapshot */
	json_t *targets;		/* new targets, for the catalog:
					   [role, version, path, length,
					   sha256] arrays; or NULL */
	const char *detail;		/* for the audit log */
	/* set by repod_state_commit() */
	int64_t state, snapshot_version, timestamp_version;
	int64_t timestamp_expires;
};

/*
 * Finish the state begun with ferry_tree_begin(): add the new files, sign
 * a new snapshot (if p->snapshot_meta, or if the live one is due) and a
 * new timestamp with keyd, carry over what the retained states need,
 * record everything in the catalog, and switch.  Then remove the states
 * no longer retained.  On failure nothing is served differently.
 */
int repod_state_commit(struct repod_ctx *x, struct repod_live *live,
    struct repod_pubinfo *p, struct ferry_error *err);

/*
 * Re-sign what is due: timestamp when less than timestamp_refresh is
 * left, snapshot likewise (force: both, now).  *did (may be NULL) is 1
 * if a new state was published.  *next (may be NULL) is when the next
 * re-signing will be due.
 */
int repod_refresh(struct repod_ctx *x, int force, int *did, int64_t *next,
    struct ferry_error *err);

/*
 * Publish the bundle extracted at dir (its sha256 for the audit log),
 * with new images from images (a directory holding them under their
 * target paths; may be NULL).  *unchanged is 1 if the bundle brought
 * nothing new (then nothing is published).
 */
int repod_publish(struct repod_ctx *x, const char *dir, const char *sha256,
    const char *images, int *unchanged, struct ferry_error *err);

/* Remove target files that no retained state refers to; counts them. */
int repod_prune_targets(struct repod_ctx *x, uint64_t *files,
    uint64_t *bytes, struct ferry_error *err);

/* Remove states no longer retained (never the live one). */
int repod_prune_states(struct repod_ctx *x, unsigned *removed,
    struct ferry_error *err);

#endif

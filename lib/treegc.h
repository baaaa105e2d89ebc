/*
 * Pruning a served tree (lib/tree.h) of the target files none of its
 * states refers to, for the origin (ferry-repod) and mirrors alike.
 *
 * A state refers to a target file through its metadata: timestamp.json
 * names the snapshot, the snapshot names each targets role file by
 * version, and each role lists targets by path and hashes; the file of a
 * target is targets/DIR/HEX.NAME for each of its hashes.  Whatever else
 * is under targets/ (an image no state lists any more, a writer's hidden
 * temporary) is removed.
 */
#ifndef FERRY_TREEGC_H
#define FERRY_TREEGC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tree.h"

/*
 * Call cb with the name of each metadata file that state of t consists
 * of besides timestamp.json: first the snapshot its timestamp names
 * ("V.snapshot.json", snapshot 1), then every role file that snapshot
 * lists ("V.ROLE.json", snapshot 0), in the snapshot's order.  Both are
 * read and parsed (at most max_len bytes each) and must be of their
 * type.  A non-zero return from cb stops it and is returned.
 */
typedef int ferry_state_meta_cb(void *arg, const char *name, int snapshot,
    struct ferry_error *err);
int ferry_treegc_state_meta(struct ferry_tree *t, int64_t state,
    size_t max_len, ferry_state_meta_cb *cb, void *arg,
    struct ferry_error *err);

/*
 * Remove from t's targets/ every file that no state on disk refers to;
 * *files and *bytes count what went.  The caller holds t (and so its
 * lock), and no state is being built.  A state whose metadata cannot be
 * read (FERRY_ERR_*, naming it) stops it before anything is removed:
 * when in doubt, nothing goes.  Not thread-safe (nftw(3)).
 */
int ferry_treegc_targets(struct ferry_tree *t, uint64_t *files,
    uint64_t *bytes, struct ferry_error *err);

#endif

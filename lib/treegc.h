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
 * Remove from t's targets/ every file that no state on disk refers to;
 * *files and *bytes count what went.  The caller holds t (and so its
 * lock), and no state is being built.  A state whose metadata cannot be
 * read (FERRY_ERR_*, naming it) stops it before anything is removed:
 * when in doubt, nothing goes.  Not thread-safe (nftw(3)).
 */
int ferry_treegc_targets(struct ferry_tree *t, uint64_t *files,
    uint64_t *bytes, struct ferry_error *err);

#endif

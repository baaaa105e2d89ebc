/*
 * A served repository tree, switched atomically from one published state
 * to the next:
 *
 *   TREE/metadata -> .states/0000000042   the live state (a symlink)
 *   TREE/.states/0000000042/              every metadata file of a state
 *   TREE/targets/DIR/HEX.NAME             target files, by content
 *   TREE/.lock                            held by whoever writes the tree
 *
 * A client that reads TREE/metadata/... sees one state or the next, never
 * a mixture: a new state is built beside the live one (its files linked
 * from the live state or written new), made durable, and then the symlink
 * is replaced with rename(2), the one step that publishes it.  A new root
 * and the timestamp that goes with it therefore appear at the same
 * instant.  Inside a state, timestamp.json is the last file written.
 * Target files are added before the switch and removed only by pruning,
 * so a client reading the old state meanwhile still finds its targets.
 *
 * Static servers (nginx, any CDN origin) serve the tree as it is; they
 * need only follow the one symlink and hide dot files.
 */
#ifndef FERRY_TREE_H
#define FERRY_TREE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

struct ferry_tree;

/*
 * Open the tree at dir, creating it if needed, and take its lock,
 * waiting up to wait_seconds for another writer to finish (then
 * FERRY_ERR_TIMEOUT).  Leftovers of a writer that died are removed: a
 * state being built, or one made but never switched to.  The lock is
 * held until ferry_tree_close().
 */
int ferry_tree_open(const char *dir, unsigned wait_seconds,
    struct ferry_tree **out, struct ferry_error *err);
void ferry_tree_close(struct ferry_tree *t);

/* The live state's number (0 when nothing was published yet). */
int64_t ferry_tree_live(const struct ferry_tree *t);

/*
 * Read metadata file name of state (0: the live one) into a new buffer,
 * at most max bytes; FERRY_ERR_NOT_FOUND if it is not there.
 */
int ferry_tree_read(struct ferry_tree *t, int64_t state, const char *name,
    size_t max, unsigned char **out, size_t *outlen, struct ferry_error *err);

/* Whether metadata file name is in the live state: 1, 0, or an error. */
int ferry_tree_has(struct ferry_tree *t, const char *name);

/*
 * Building the next state.  begin starts it (one at a time); link takes a
 * file of the live state over unchanged; put adds a new one (durable only
 * at the switch).  switch writes timestamp.json last, then publishes the
 * state; abort throws away everything not yet switched to, and is what
 * ferry_tree_close() does with an unfinished state.
 */
int ferry_tree_begin(struct ferry_tree *t, struct ferry_error *err);
int ferry_tree_link(struct ferry_tree *t, const char *name,
    struct ferry_error *err);
int ferry_tree_put(struct ferry_tree *t, const char *name, const void *buf,
    size_t len, struct ferry_error *err);
int ferry_tree_switch(struct ferry_tree *t, const void *timestamp,
    size_t len, struct ferry_error *err);
void ferry_tree_abort(struct ferry_tree *t);

/*
 * Whether a target path can be stored and served: relative, no empty,
 * "." or ".." component, no component starting with '.', no control
 * bytes or backslashes, at most 1,024 bytes, no component over 100
 * bytes (the stored name adds a digest of up to 128 digits).  0, or
 * FERRY_ERR_INVALID_ARG
 * with the reason.
 */
int ferry_tree_target_path_ok(const char *path, struct ferry_error *err);

/*
 * Whether target path with these hashes (its metadata's "hashes") is
 * stored under every one of its names with this length: 1, 0, or an
 * error.
 */
int ferry_tree_target_has(struct ferry_tree *t, const char *path,
    const json_t *hashes, uint64_t length, struct ferry_error *err);

/*
 * Store target path from descriptor fd (read to its end), checking it
 * against length and every hash as it goes: FERRY_ERR_LENGTH_MISMATCH or
 * FERRY_ERR_HASH_MISMATCH, naming what differed, leave nothing behind.
 * The file becomes visible under its names at the next ferry_tree_switch()
 * (made durable before the state that needs it).  Needs ferry_tree_begin.
 */
int ferry_tree_target_put(struct ferry_tree *t, const char *path,
    const json_t *hashes, uint64_t length, int fd, struct ferry_error *err);

/*
 * As ferry_tree_target_put(), for a file src that the caller has already
 * checked against length and every hash (ferry_updater_download does):
 * it is hard-linked in, not copied, and not hashed again; only its
 * length is checked.  On another file system it is copied with
 * ferry_tree_target_put(), checked as that does.  src stays; the caller
 * removes it.
 */
int ferry_tree_target_link(struct ferry_tree *t, const char *path,
    const json_t *hashes, uint64_t length, const char *src,
    struct ferry_error *err);

/*
 * The states on disk, oldest first, in a new array (*out, free()); the
 * live one is among them.  ferry_tree_state_time() is when a state was
 * switched to (the mtime of its timestamp.json).
 */
int ferry_tree_states(struct ferry_tree *t, int64_t **out, size_t *n,
    struct ferry_error *err);
int ferry_tree_state_time(struct ferry_tree *t, int64_t state, int64_t *when,
    struct ferry_error *err);

/* Remove a state that is not the live one. */
int ferry_tree_state_remove(struct ferry_tree *t, int64_t state,
    struct ferry_error *err);

/* The tree's directory, as given to ferry_tree_open(). */
const char *ferry_tree_dir(const struct ferry_tree *t);

#endif

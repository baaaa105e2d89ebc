/*
 * Files: bounded reads, and atomic writes as the one way Ferry writes
 * state.
 *
 * An atomic write creates a temporary file beside the target (same
 * directory, so rename(2) cannot cross a file system), writes it fully,
 * fsyncs it, renames it over the target and fsyncs the directory.  A
 * crash at any point leaves either the old file or the new one, never a
 * mixture, and never a stray temporary under the final name.
 */
#ifndef FERRY_FILE_H
#define FERRY_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

/*
 * Read the whole regular file at path into a new malloc'd buffer (with a
 * NUL after the data, not counted).  Fails with FERRY_ERR_TOO_LARGE if it
 * holds more than max_len bytes, without reading past the limit; with
 * FERRY_ERR_IO (errno set) on system errors or if path is not a regular
 * file.  On success the caller owns *out.
 */
int ferry_file_read(const char *path, size_t max_len, unsigned char **out,
    size_t *outlen);

/*
 * Open the regular file at path for reading (close-on-exec, blocking
 * reads): a descriptor, with its fstat() in *st unless st is NULL, or -1
 * with errno set, EISDIR for a directory and EINVAL for anything else
 * that is not a regular file.  A FIFO is refused at once, never waited
 * on.
 */
int ferry_file_open_regular(const char *path, struct stat *st);

/*
 * Write all len bytes at buf to descriptor fd, going on after short
 * writes and EINTR: 0, or -1 with errno set.
 */
int ferry_file_write_all(int fd, const void *buf, size_t len);

/* Write len bytes at buf to path atomically, with permissions mode. */
int ferry_file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode);

/*
 * The same, for a file that must not exist yet (a new key): fails with
 * FERRY_ERR_IO and errno EEXIST, leaving the existing file alone, if
 * something is already at path, even if it appeared during the write.
 */
int ferry_file_write_new(const char *path, const void *buf, size_t len,
    mode_t mode);

/*
 * A file being written atomically in pieces, for data too large to hold
 * in memory (targets streamed from the network).  Nothing is visible under
 * the final name until ferry_atomic_commit() succeeds;
 * ferry_atomic_free() on an uncommitted file removes the temporary.  The
 * temporary is a hidden name beside the file, DIR/.NAME.tmp.RANDOM (this
 * and every atomic write in this file), so that a server hiding dot files
 * never shows one, and a writer's leftovers are easy to tell apart.
 */
struct ferry_atomic;

int ferry_atomic_open(const char *path, mode_t mode, struct ferry_atomic **out);
int ferry_atomic_write(struct ferry_atomic *a, const void *buf, size_t len);
/* The number of bytes written so far. */
uint64_t ferry_atomic_size(const struct ferry_atomic *a);
/*
 * fsync, rename into place, fsync the directory.  FERRY_ERR_IO from the
 * last step means the new file is in place but a crash could still lose
 * the rename; the caller may treat that as failure and retry the write.
 */
int ferry_atomic_commit(struct ferry_atomic *a);
/*
 * Rename into place without any fsync: for a file that something later
 * makes durable (a batch's syncfs), so that many files do not cost one
 * journal commit each.  A crash before then may lose it.
 */
int ferry_atomic_commit_nosync(struct ferry_atomic *a);
/*
 * An atomic file whose bytes are those of src, an existing file on the
 * same file system as path (a verified download): src is hard-linked to
 * the hidden temporary now, and stays as it is; nothing is written.
 * Commit or hand it to a batch like any other.  FERRY_ERR_IO with errno
 * EXDEV when src is on another file system (the caller copies instead).
 */
int ferry_atomic_link(const char *path, const char *src,
    struct ferry_atomic **out);
/*
 * As ferry_atomic_commit(), but never replaces an existing file (EEXIST):
 * renameat2(RENAME_NOREPLACE), or link(2) where the file system does not
 * support the flag.
 */
int ferry_atomic_commit_new(struct ferry_atomic *a);
/* Discard (if not committed) and free; accepts NULL. */
void ferry_atomic_free(struct ferry_atomic *a);

/*
 * Many whole files replaced together, for a signer rewriting thousands of
 * hash bins: each is written to its temporary by ferry_batch_add(); then
 * ferry_batch_commit() makes them all durable with one syncfs(2) per file
 * system instead of an fsync each, renames each into place, and fsyncs
 * each directory once.  A crash leaves every file either old or new
 * (some may be new and others old).  ferry_batch_free() removes the
 * temporaries of files not renamed.  FERRY_ERR_IO leaves errno set.
 */
struct ferry_batch;

int ferry_batch_new(struct ferry_batch **out);
int ferry_batch_add(struct ferry_batch *b, const char *path, const void *buf,
    size_t len, mode_t mode);
/*
 * Hand a file written with ferry_atomic_open()/_write() (one too large to
 * hold in memory) to the batch, which then owns it: it is closed now and
 * renamed at ferry_batch_commit() like the others.  On failure a is freed
 * (its temporary removed) all the same.
 */
int ferry_batch_add_atomic(struct ferry_batch *b, struct ferry_atomic *a);
int ferry_batch_commit(struct ferry_batch *b);
void ferry_batch_free(struct ferry_batch *b);

/*
 * Remove the tree at path, never following a symbolic link: only for a
 * tree the caller made (a temporary directory).  0, or -1 with errno.
 */
int ferry_file_rmtree(const char *path);

#endif

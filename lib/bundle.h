/*
 * Bundles: a directory tree as one deterministic .tar.zst file, written
 * and read with libarchive (zstd through libarchive's zstd filter).
 *
 * The offline signer packs a publication directory into a bundle, the
 * origin server unpacks one from a USB stick, the mirror exports and
 * imports whole repository trees.  So the writer is made for
 * reproducibility and the reader for hostile input: it extracts only
 * regular files and directories, under names it has checked, within
 * limits it counts itself, and on any failure removes what it created.
 *
 * (The module is "bundle", not "archive": lib/ is on the include path, and
 * a lib/archive.h would hide libarchive's own <archive.h>.)
 *
 * Errors: FERRY_ERR_INVALID_ARG (an unusable argument, an existing
 * destination, or a source tree holding something a bundle cannot hold),
 * FERRY_ERR_TOO_LARGE (a limit was exceeded), FERRY_ERR_REPOSITORY (the
 * bundle is malformed or hostile: not zstd, corrupt, truncated, or an
 * entry that is refused), FERRY_ERR_IO (a system call failed),
 * FERRY_ERR_NOMEM; each with a detail naming the file and, for a refused
 * entry, the entry's number and name.
 */
#ifndef FERRY_BUNDLE_H
#define FERRY_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Bounds on what ferry_bundle_extract() accepts.  None may be 0: every
 * bound is always on.  The defaults suit a mirror's whole repository;
 * a reader of small bundles (a publication from the signer) should lower
 * them.
 */
struct ferry_bundle_limits {
	uint64_t max_entries;		/* files and directories: 100000 */
	uint64_t max_file_bytes;	/* one file: 8 GiB */
	uint64_t max_total_bytes;	/* all files together: 64 GiB */
	size_t max_path;		/* bytes in an entry's name: 1024 */
};

/* Fill lim with the defaults above. */
void ferry_bundle_limits_default(struct ferry_bundle_limits *lim);

/*
 * Pack every directory and regular file below srcdir (not srcdir itself)
 * into a new bundle at out_path, replacing any file there atomically
 * (temporary file beside it, fsync, rename, fsync of the directory); on
 * failure nothing is left at out_path and the temporary is removed.
 *
 * The output depends only on the names and contents of the tree: entries
 * in byte order of their paths (so a directory comes before its
 * contents), names relative to srcdir without "./", mode 0755 for
 * directories and 0644 for files, mtime 0, uid and gid 0, no user or
 * group names, no extended attributes, ACLs or flags; pax-restricted tar
 * with names stored as raw bytes (hdrcharset=BINARY, whatever the locale),
 * compressed with zstd at level 3.  Two runs over equal trees give
 * identical bytes with the same libarchive and libzstd.  A file linked
 * several times is stored once per name, as a regular file.
 *
 * Walking never follows a symbolic link: srcdir itself must not be one,
 * and a symbolic link, device, FIFO or socket below it, or a name holding
 * a control character (which the reader would refuse), fails with
 * FERRY_ERR_INVALID_ARG naming the path.  A file that changes size while
 * it is read fails with FERRY_ERR_IO.  out_path should not lie inside
 * srcdir.  As with ferry_atomic_commit(), FERRY_ERR_IO after the rename
 * (the directory's fsync failed) leaves the new bundle in place.
 */
int ferry_bundle_write_dir(const char *srcdir, const char *out_path,
    struct ferry_error *err);

/*
 * Extract the bundle at bundle_path into destdir, which must not exist
 * (FERRY_ERR_INVALID_ARG if anything is there) and whose parent must.
 * lim NULL means the defaults.
 *
 * Only zstd-compressed tar is read, one zstd layer.  Each entry must be a
 * regular file or a directory, named by a relative path of at most
 * lim->max_path bytes whose components are non-empty, not "." or "..",
 * and free of control characters (a directory's name may end in one
 * '/'); its parent directory must be an earlier entry of the bundle (so
 * no entry passes through a file), and no name may repeat.  Refused with
 * FERRY_ERR_REPOSITORY naming the entry: absolute paths, "..", ".",
 * empty components, control characters, a missing parent or a parent
 * that is a file, duplicates, symbolic links, hard links, devices, FIFOs,
 * sparse files, and directories carrying data.  With FERRY_ERR_TOO_LARGE:
 * more than lim->max_entries entries, a longer name, a file over
 * lim->max_file_bytes, files over lim->max_total_bytes together, or much
 * more tar header data than the entries need.  Sizes are checked against
 * the header before a byte is written and against the bytes actually
 * decompressed while writing; a file whose data is shorter or longer than
 * its header says (a truncated or damaged stream) is refused.
 *
 * Directories are created 0755 and files 0644 whatever the bundle says
 * (and whatever the umask), files with O_CREAT|O_EXCL|O_NOFOLLOW; no
 * owner, time, attribute or ACL is restored.  destdir is mode 0700 until
 * the extraction succeeded, then 0755; every file and directory is
 * fsynced, and the parent of destdir too.  On failure everything the
 * extraction created is removed, destdir included.
 */
int ferry_bundle_extract(const char *bundle_path, const char *destdir,
    const struct ferry_bundle_limits *lim, struct ferry_error *err);

/*
 * Whether path names a regular file that starts with the zstd magic
 * number (28 b5 2f fd), as a bundle does: 1 if so, 0 if not (a directory,
 * a shorter or different file, anything else), FERRY_ERR_IO (errno set)
 * if path cannot be opened or read.  Symbolic links are followed.  Only a
 * hint for commands that accept a bundle or a directory:
 * ferry_bundle_extract() checks everything again.
 */
int ferry_bundle_is_bundle(const char *path);

#endif

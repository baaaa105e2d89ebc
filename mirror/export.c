/*
 * ferry-mirror export: the mirror's live state onto removable media, as a
 * directory tree (a mounted USB stick) or one .tar.zst bundle.
 *
 * What is written: metadata/ (the files of the live state, a plain
 * directory), targets/ (every target the tree holds), roots/ (every root
 * version that verified) and ferry-export.json, the manifest.  The order
 * makes a half-written medium impossible to take for a whole one:
 *
 *   - to a directory DEST: check its free space; write everything into
 *     DEST/.export.tmp.XXXXXX, fsync each file and directory; read every
 *     file back (cache dropped, so from the device) against the
 *     manifest; only then swap: the old manifest goes first, then the
 *     old trees, the new trees come in, and the new manifest last.  A
 *     crash at any point leaves either the old export, or a medium with
 *     no manifest that import refuses and the next export replaces.
 *   - to DEST.tar.zst: hard links (or copies) of the files in
 *     DIR/media/export.PID.XXXXXX, packed with ferry_bundle_write_dir()
 *     (temporary file, fsync, rename), then every entry of the new
 *     bundle read back against the manifest.
 *
 * DEST must be empty (hidden names, lost+found and System Volume
 * Information aside, which are left alone), hold a previous export, or
 * hold what an interrupted export left; anything else is refused, not
 * overwritten.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "lib/bundle.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/meta.h"
#include "mirror/mirror.h"

#define COPY_CHUNK (1u << 20)
#define META_MAX (64u << 20)
#define TREE_DEPTH 32		/* directories below targets/ */
#define MIB(n) ((double)(n) / (1024 * 1024))

/* The trees of an export, in the order the swap moves them. */
static const char *const trees[] = { "roots", "metadata", "targets" };
#define NTREES (sizeof(trees) / sizeof(trees[0]))

struct export {
	const char *dir;		/* the mirror */
	const char *dest;
	int quiet;
	struct mirror_manifest m;
	json_t *dirs;			/* directories of the export, by path */
	uint64_t done;			/* bytes written so far */
};

static int
io_fail(struct ferry_error *err, const char *path)
{
	return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
	    strerror(errno));
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

static int
is_tree(const char *name)
{
	size_t i;

	for (i = 0; i < NTREES; i++)
		if (strcmp(name, trees[i]) == 0)
			return 1;
	return 0;
}

/* --- what to export ----------------------------------------------------- */

/* Add path's parent directories to the set of directories. */
static int
add_parents(struct export *x, const char *path)
{
	char d[PATH_MAX], *slash;

	snprintf(d, sizeof(d), "%s", path);
	while ((slash = strrchr(d, '/')) != NULL) {
		*slash = '\0';
		if (json_object_get(x->dirs, d) != NULL)
			break;
		if (json_object_set_new(x->dirs, d, json_true()) != 0)
			return FERRY_ERR_NOMEM;
	}
	return 0;
}

static int
add_file(struct export *x, const char *rel, const char *src,
    const struct stat *st)
{
	int r;

	if ((r = mirror_manifest_add(&x->m, rel, src,
	    (uint64_t)st->st_size)) != 0)
		return r;
	return add_parents(x, rel);
}

/*
 * Every regular file below src (rel on the medium), skipping hidden
 * names (temporaries, the tree's lock).  With suffix, only the names
 * ending in it directly in src (no subdirectory).  A src that does not
 * exist holds nothing.
 */
static int
list_dir(struct export *x, const char *src, const char *rel,
    const char *suffix, int depth, struct ferry_error *err)
{
	char spath[PATH_MAX], rpath[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	if (depth > TREE_DEPTH)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE, "%s: more "
		    "than %d directories deep", src, TREE_DEPTH);
	if ((d = opendir(src)) == NULL)
		return errno == ENOENT ? 0 : io_fail(err, src);
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    (suffix != NULL && !has_suffix(de->d_name, suffix)))
			continue;
		snprintf(spath, sizeof(spath), "%s/%s", src, de->d_name);
		snprintf(rpath, sizeof(rpath), "%s/%s", rel, de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			r = io_fail(err, spath);
		else if (S_ISDIR(st.st_mode) && suffix == NULL)
			r = list_dir(x, spath, rpath, NULL, depth + 1, err);
		else if (S_ISREG(st.st_mode))
			r = add_file(x, rpath, spath, &st);
		else
			r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: not "
			    "a regular file or directory: not exported",
			    spath);
	}
	if (r == 0 && errno != 0)
		r = io_fail(err, src);
	closedir(d);
	return r;
}

/* Versions and expiry of the state in statedir, for the manifest. */
static int
read_versions(struct export *x, const char *statedir,
    struct ferry_error *err)
{
	struct ferry_meta *ts = NULL, *root = NULL;
	struct ferry_metafile mf;
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/timestamp.json", statedir);
	if ((r = ferry_meta_load(path, META_MAX, &ts, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/root.json", statedir);
	if ((r = ferry_meta_load(path, META_MAX, &root, err)) != 0)
		goto out;
	if (ferry_meta_metafile(ts, "snapshot.json", &mf) != 0) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/timestamp."
		    "json: names no snapshot", statedir);
		goto out;
	}
	if (ferry_meta_is_expired(ts, (int64_t)time(NULL))) {
		r = ferry_error_set(err, FERRY_ERR_EXPIRED, "%s/repo: the live "
		    "timestamp v%" PRId64 " expired at %s: sync before "
		    "exporting (an import refuses expired metadata)", x->dir,
		    ts->version, ts->expires_str);
		goto out;
	}
	x->m.root_version = root->version;
	x->m.snapshot_version = mf.version;
	x->m.timestamp_version = ts->version;
	snprintf(x->m.timestamp_expires, sizeof(x->m.timestamp_expires),
	    "%s", ts->expires_str);
	r = 0;
 out:
	ferry_meta_free(ts);
	ferry_meta_free(root);
	return r;
}

/* The live state, the roots and the targets, in the manifest. */
static int
list_export(struct export *x, struct ferry_error *err)
{
	char path[PATH_MAX], statedir[PATH_MAX], link[64], host[256], *end;
	ssize_t n;
	int r;

	snprintf(path, sizeof(path), "%s/repo/metadata", x->dir);
	if ((n = readlink(path, link, sizeof(link) - 1)) == -1)
		return errno == ENOENT ? ferry_error_set(err,
		    FERRY_ERR_NOT_FOUND, "%s/repo: nothing synced yet: nothing "
		    "to export", x->dir) : io_fail(err, path);
	link[n] = '\0';
	errno = 0;
	if (strncmp(link, ".states/", 8) != 0 ||
	    (x->m.state = strtoll(link + 8, &end, 10)) < 1 || *end != '\0')
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: points "
		    "to \"%s\", not a state", path, link);
	/* The state stays whatever a sync does meanwhile (until pruned). */
	snprintf(statedir, sizeof(statedir), "%s/repo/%s", x->dir, link);
	if ((r = read_versions(x, statedir, err)) != 0 ||
	    (r = list_dir(x, statedir, "metadata", ".json", 0, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/roots", x->dir);
	if ((r = list_dir(x, path, "roots", ".root.json", 0, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/repo/targets", x->dir);
	if ((r = list_dir(x, path, "targets", NULL, 0, err)) != 0)
		return r;
	mirror_manifest_sort(&x->m);
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if ((x->m.host = strdup(host)) == NULL ||
	    ((x->m.dir = realpath(x->dir, NULL)) == NULL &&
	    (x->m.dir = strdup(x->dir)) == NULL))
		return FERRY_ERR_NOMEM;
	return ferry_meta_format_time((int64_t)time(NULL), x->m.created,
	    sizeof(x->m.created));
}

/* --- writing a tree ----------------------------------------------------- */

static void
progress(struct export *x, size_t i, int last)
{
	if (!x->quiet)
		mirror_progress("writing", x->done, x->m.bytes, x->done,
		    i, x->m.nfiles, last);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Make the export's directories under root.  Every parent is in the set
 * too, and sorts before its children ("targets" < "targets/apps").
 */
static int
make_dirs(struct export *x, const char *root, struct ferry_error *err)
{
	char path[PATH_MAX];
	const char **keys, *key;
	size_t i = 0, n = json_object_size(x->dirs);
	json_t *v;
	int r = 0;

	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL)
		return FERRY_ERR_NOMEM;
	json_object_foreach(x->dirs, key, v) {
		(void)v;
		keys[i++] = key;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n && r == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, keys[i]);
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			r = io_fail(err, path);
	}
	free(keys);
	return r;
}

/* Copy f to dst, computing its SHA-256; dst is fsynced. */
static int
copy_file(struct export *x, struct mirror_medium_file *f, const char *dst,
    unsigned char *buf, struct ferry_error *err)
{
	struct ferry_hash *h = NULL;
	unsigned char md[FERRY_HASH_MAX];
	uint64_t n = 0;
	size_t mdlen;
	ssize_t got;
	int in = -1, out = -1, r;

	if ((in = open(f->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		r = io_fail(err, f->src);
		goto out;
	}
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		r = io_fail(err, dst);
		goto out;
	}
	if ((r = ferry_hash_new(FERRY_HASH_SHA256, &h)) != 0)
		goto out;
	while ((got = read(in, buf, COPY_CHUNK)) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			r = io_fail(err, f->src);
			goto out;
		}
		if (ferry_file_write_all(out, buf, (size_t)got) == -1) {
			r = io_fail(err, dst);
			goto out;
		}
		if ((r = ferry_hash_update(h, buf, (size_t)got)) != 0)
			goto out;
		n += (uint64_t)got;
		x->done += (uint64_t)got;
	}
	if (n != f->length) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: changed while it "
		    "was exported (%" PRIu64 " bytes, then %" PRIu64 ")",
		    f->src, f->length, n);
		goto out;
	}
	if (fsync(out) == -1) {
		r = io_fail(err, dst);
		goto out;
	}
	if ((r = ferry_hash_final(h, md, &mdlen)) == 0)
		ferry_hex_encode(md, mdlen, f->sha256);
 out:
	ferry_hash_free(h);
	if (in != -1)
		close(in);
	if (out != -1 && close(out) == -1 && r == 0)
		r = io_fail(err, dst);
	return r;
}

/* A hard link to f at dst (the same file system), its SHA-256 read. */
static int
link_file(struct mirror_medium_file *f, const char *dst,
    struct ferry_error *err)
{
	uint64_t len;
	int fd, r;

	if (link(f->src, dst) == -1)
		return errno == EXDEV || errno == EPERM || errno == EMLINK ||
		    errno == ENOTSUP ? 1 : io_fail(err, dst);
	if ((fd = open(dst, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return io_fail(err, dst);
	r = mirror_digest_fd(fd, dst, &len, f->sha256, err);
	close(fd);
	if (r == 0 && len != f->length)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: changed while it "
		    "was exported (%" PRIu64 " bytes, then %" PRIu64 ")",
		    f->src, f->length, len);
	return r;
}

/* fsync a directory; file systems that cannot (EINVAL) are let be. */
static int
sync_dir(const char *path, struct ferry_error *err)
{
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return io_fail(err, path);
	if (fsync(fd) == -1 && errno != EINVAL)
		r = io_fail(err, path);
	close(fd);
	return r;
}

/*
 * Every file of the manifest under root, copied (or, with link_ok,
 * linked where it can be), each file and directory durable.
 */
static int
write_tree(struct export *x, const char *root, int link_ok,
    struct ferry_error *err)
{
	unsigned char *buf = NULL;
	char dst[PATH_MAX];
	const char *key;
	size_t i;
	json_t *v;
	int r;

	if ((r = make_dirs(x, root, err)) != 0)
		return r;
	if ((buf = malloc(COPY_CHUNK)) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < x->m.nfiles && r == 0; i++) {
		progress(x, i, 0);
		snprintf(dst, sizeof(dst), "%s/%s", root, x->m.files[i].path);
		r = link_ok ? link_file(&x->m.files[i], dst, err) : 1;
		if (r == 1)
			r = copy_file(x, &x->m.files[i], dst, buf, err);
		else if (r == 0)
			x->done += x->m.files[i].length;
	}
	progress(x, i, 1);
	free(buf);
	json_object_foreach(x->dirs, key, v) {
		(void)v;
		snprintf(dst, sizeof(dst), "%s/%s", root, key);
		if (r == 0)
			r = sync_dir(dst, err);
	}
	return r;
}

/* Write the manifest at root/ferry-export.json; its text in *text. */
static int
write_manifest(struct export *x, const char *root, char **text,
    size_t *len, struct ferry_error *err)
{
	char path[PATH_MAX];
	int r;

	if ((r = mirror_manifest_dump(&x->m, text, len, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", root, MIRROR_MANIFEST);
	if ((r = ferry_file_write_atomic(path, *text, *len, 0644)) != 0)
		return ferry_error_set(err, r, "%s: %s", path, r ==
		    FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	return 0;
}

/* --- free space --------------------------------------------------------- */

/*
 * Refuse, saying how much is needed and available, unless the file
 * system holding path has room for needed bytes and files more files
 * (old: the size of an export they replace).  dest names it.
 */
static int
space_check(const char *dest, const char *path, uint64_t needed,
    uint64_t files, uint64_t old, struct ferry_error *err)
{
	struct statvfs sv;
	uint64_t avail;

	if (statvfs(path, &sv) == -1)
		return io_fail(err, path);
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (needed > avail)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE, "%s: not "
		    "enough space: the export needs %" PRIu64 " bytes (%.1f "
		    "MiB), the file system has %" PRIu64 " available (%.1f "
		    "MiB)%s", dest, needed, MIB(needed), avail, MIB(avail),
		    old > 0 ? "; the previous export there is removed only "
		    "once the new one is complete: delete it first if the "
		    "medium cannot hold both" : "");
	/* File systems without inode counts (vfat) say 0 of 0. */
	if (sv.f_files > 0 && files > sv.f_favail)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE, "%s: not "
		    "enough inodes: the export needs %" PRIu64 ", the file "
		    "system has %" PRIu64 " free", dest, files,
		    (uint64_t)sv.f_favail);
	return 0;
}

/* Bytes the files take in blocks of bsize, the directories one each. */
static uint64_t
blocks_needed(const struct export *x, uint64_t bsize, uint64_t per_file)
{
	uint64_t need = 0;
	size_t i;

	for (i = 0; i < x->m.nfiles; i++)
		need += (x->m.files[i].length + bsize - 1) / bsize * bsize +
		    per_file;
	/* The manifest: a line of about 130 bytes per file. */
	need += (x->m.nfiles * 200 + 1024 + bsize - 1) / bsize * bsize;
	return need + (json_object_size(x->dirs) + 2) * (bsize + per_file);
}

/* --- a directory -------------------------------------------------------- */

/*
 * What a file system keeps at its top whatever is stored on it (and
 * hidden names, which an export never writes but for .export.*): left
 * alone.
 */
static int
is_system(const char *name)
{
	return (name[0] == '.' && strncmp(name, ".export.", 8) != 0) ||
	    strcmp(name, "lost+found") == 0 ||
	    strcmp(name, "System Volume Information") == 0;
}

/* Remove what an interrupted export left in DEST (.export.*). */
static int
remove_leftovers(struct export *x, struct ferry_error *err)
{
	char path[PATH_MAX];
	struct dirent *de;
	int r = 0;
	DIR *d;

	if ((d = opendir(x->dest)) == NULL)
		return io_fail(err, x->dest);
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".export.", 8) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", x->dest, de->d_name);
		if (ferry_file_rmtree(path) == -1)
			r = io_fail(err, path);
	}
	closedir(d);
	return r;
}

/*
 * Whether DEST may take an export: it holds nothing (but what its file
 * system keeps there), an export, or what an interrupted export left
 * (.export.* directories, with or without a manifest).  Anything else
 * is refused, never written over.  *old: the size of the export there.
 */
static int
dest_prepare(struct export *x, uint64_t *old, struct ferry_error *err)
{
	struct mirror_manifest om;
	struct ferry_error e = { 0 };
	char path[PATH_MAX];
	unsigned char *buf = NULL;
	struct dirent *de;
	size_t len;
	int manifest = 0, tree = 0, ours = 0, r = 0;
	DIR *d;

	*old = 0;
	if (mkdir(x->dest, 0755) == -1 && errno != EEXIST)
		return io_fail(err, x->dest);
	if ((d = opendir(x->dest)) == NULL)
		return io_fail(err, x->dest);
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || is_system(de->d_name))
			continue;
		if (is_tree(de->d_name))
			tree = 1;
		else if (strcmp(de->d_name, MIRROR_MANIFEST) == 0)
			manifest = 1;
		else if (strncmp(de->d_name, ".export.", 8) == 0)
			ours = 1;
		else
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: "
			    "holds \"%.200s\", which is not part of an "
			    "export: refusing to write over it (give an empty "
			    "directory, or one holding an export)", x->dest,
			    de->d_name);
	}
	closedir(d);
	if (r != 0)
		return r;
	if (tree && !manifest && !ours)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: holds "
		    "metadata/, targets/ or roots/ but no %s: not an export; "
		    "refusing to write over it", x->dest, MIRROR_MANIFEST);
	if (manifest) {
		snprintf(path, sizeof(path), "%s/%s", x->dest,
		    MIRROR_MANIFEST);
		if ((r = ferry_file_read(path, MIRROR_MANIFEST_MAX, &buf,
		    &len)) != 0)
			return ferry_error_set(err, r, "%s: %s", path, r ==
			    FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
		r = mirror_manifest_parse(buf, len, path, &om, &e);
		free(buf);
		if (r != 0)
			return ferry_error_set(err, r, "%s: not an export "
			    "(%s): refusing to write over it", x->dest,
			    ferry_error_msg(&e));
		*old = om.bytes;
		mirror_manifest_free(&om);
	}
	return remove_leftovers(x, err);
}

/*
 * Replace DEST's export with the one in tmp: the old manifest leaves
 * first and the new one comes last, so that DEST never holds a manifest
 * over trees that are not its own.
 */
static int
dest_swap(struct export *x, const char *tmp, struct ferry_error *err)
{
	char old[PATH_MAX], from[PATH_MAX + 64], to[PATH_MAX + 64];
	size_t i;
	int r;

	snprintf(old, sizeof(old), "%s/.export.old.XXXXXX", x->dest);
	if (mkdtemp(old) == NULL)
		return io_fail(err, old);
	snprintf(from, sizeof(from), "%s/%s", x->dest, MIRROR_MANIFEST);
	snprintf(to, sizeof(to), "%s/%s", old, MIRROR_MANIFEST);
	if (rename(from, to) == -1 && errno != ENOENT)
		return io_fail(err, from);
	if ((r = sync_dir(x->dest, err)) != 0)
		return r;
	for (i = 0; i < NTREES; i++) {
		snprintf(from, sizeof(from), "%s/%s", x->dest, trees[i]);
		snprintf(to, sizeof(to), "%s/%s", old, trees[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			return io_fail(err, from);
		snprintf(from, sizeof(from), "%s/%s", tmp, trees[i]);
		snprintf(to, sizeof(to), "%s/%s", x->dest, trees[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			return io_fail(err, to);
	}
	if ((r = sync_dir(x->dest, err)) != 0)
		return r;
	snprintf(from, sizeof(from), "%s/%s", tmp, MIRROR_MANIFEST);
	snprintf(to, sizeof(to), "%s/%s", x->dest, MIRROR_MANIFEST);
	if (rename(from, to) == -1)
		return io_fail(err, to);
	if ((r = sync_dir(x->dest, err)) != 0)
		return r;
	/* The new export is complete; what is left is clearing up. */
	(void)ferry_file_rmtree(old);
	(void)rmdir(tmp);
	(void)sync_dir(x->dest, err);
	return 0;
}

static int
export_dir(struct export *x, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	struct statvfs sv;
	char tmp[PATH_MAX], label[PATH_MAX + 2], *text = NULL;
	uint64_t old, bsize;
	size_t len;
	int r, bad;

	if ((r = dest_prepare(x, &old, err)) != 0)
		return r;
	if (statvfs(x->dest, &sv) == -1)
		return io_fail(err, x->dest);
	bsize = sv.f_frsize > 0 ? sv.f_frsize : 4096;
	if ((r = space_check(x->dest, x->dest, blocks_needed(x, bsize, 0),
	    x->m.nfiles + json_object_size(x->dirs) + 4, old, err)) != 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s/.export.tmp.XXXXXX", x->dest);
	if (mkdtemp(tmp) == NULL)
		return io_fail(err, tmp);
	if ((r = write_tree(x, tmp, 0, err)) != 0 ||
	    (r = write_manifest(x, tmp, &text, &len, err)) != 0 ||
	    (r = sync_dir(tmp, err)) != 0)
		goto fail;
	snprintf(label, sizeof(label), "%s/", tmp);
	if ((bad = mirror_medium_check(tmp, label, &x->m, x->quiet,
	    err)) != 0) {
		r = bad < 0 ? bad : ferry_error_set(err, FERRY_ERR_IO, "%s: %d "
		    "files did not read back as they were written: the medium "
		    "may be failing", x->dest, bad);
		goto fail;
	}
	if ((r = dest_swap(x, tmp, &e)) != 0) {
		ferry_error_set(err, r, "%s: the swap failed (%s): it holds no "
		    "complete export now: export again", x->dest,
		    ferry_error_msg(&e));
		goto out;
	}
	r = 0;
	goto out;
 fail:
	(void)ferry_file_rmtree(tmp);
 out:
	free(text);
	return r;
}

/* --- a bundle ----------------------------------------------------------- */

/* One entry of the bundle read back: its length and SHA-256. */
static int
read_entry(struct archive *a, const char *name, uint64_t *len,
    char hex[65], struct ferry_error *err)
{
	struct ferry_hash *h = NULL;
	unsigned char buf[65536], md[FERRY_HASH_MAX];
	la_ssize_t got;
	size_t mdlen;
	int r;

	*len = 0;
	if ((r = ferry_hash_new(FERRY_HASH_SHA256, &h)) != 0)
		return r;
	while ((got = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if ((r = ferry_hash_update(h, buf, (size_t)got)) != 0)
			goto out;
		*len += (uint64_t)got;
	}
	if (got < 0) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", name,
		    archive_error_string(a) ? archive_error_string(a) :
		    "unreadable");
		goto out;
	}
	if ((r = ferry_hash_final(h, md, &mdlen)) == 0)
		ferry_hex_encode(md, mdlen, hex);
 out:
	ferry_hash_free(h);
	return r;
}

/* Whether entry name, just read, is what the manifest (or text) says. */
static int
check_entry(struct export *x, const char *name, uint64_t len,
    const char *hex, const char *text, size_t tlen, unsigned char *seen,
    struct ferry_error *err)
{
	const struct mirror_medium_file *f;
	unsigned char md[FERRY_HASH_MAX];
	char want[65];
	size_t mdlen;

	if (strcmp(name, MIRROR_MANIFEST) == 0) {
		if (ferry_hash_buf(FERRY_HASH_SHA256, text, tlen, md,
		    &mdlen) != 0)
			return FERRY_ERR_CRYPTO;
		ferry_hex_encode(md, mdlen, want);
		if (len != tlen || strcmp(hex, want) != 0)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s: not "
			    "what was written", x->dest, name);
		return 0;
	}
	if ((f = mirror_manifest_find(&x->m, name)) == NULL ||
	    seen[f - x->m.files])
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %.200s: an "
		    "entry that was not written", x->dest, name);
	seen[f - x->m.files] = 1;
	if (len != f->length || strcmp(hex, f->sha256) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s: reads back "
		    "%" PRIu64 " bytes with sha256 %.16s..., not the %" PRIu64
		    " bytes with sha256 %.16s... written", x->dest, name, len,
		    hex, f->length, f->sha256);
	x->done += len;
	return 0;
}

/* Read the new bundle back from the device, every entry checked. */
static int
verify_bundle(struct export *x, const char *text, size_t tlen,
    struct ferry_error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	unsigned char *seen = NULL;
	uint64_t len;
	size_t i, n = 0;
	char hex[65];
	int fd, r = FERRY_ERR_NOMEM, lr = ARCHIVE_OK;

	if ((fd = open(x->dest, O_RDONLY | O_CLOEXEC)) == -1)
		return io_fail(err, x->dest);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	x->done = 0;
	if ((seen = calloc(x->m.nfiles + 1, 1)) == NULL ||
	    (a = archive_read_new()) == NULL)
		goto out;
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", x->dest,
		    archive_error_string(a));
		goto out;
	}
	r = 0;
	while (r == 0 && (lr = archive_read_next_header(a, &e)) ==
	    ARCHIVE_OK) {
		if (!x->quiet)
			mirror_progress("reading back", x->done, x->m.bytes,
			    x->done, n, x->m.nfiles, 0);
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if ((r = read_entry(a, archive_entry_pathname(e), &len, hex,
		    err)) == 0)
			r = check_entry(x, archive_entry_pathname(e), len, hex,
			    text, tlen, seen, err);
		n++;
	}
	if (!x->quiet)
		mirror_progress(NULL, 0, 0, 0, 0, 0, 1);
	if (r == 0 && lr != ARCHIVE_EOF)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", x->dest,
		    archive_error_string(a));
	for (i = 0; r == 0 && i < x->m.nfiles; i++)
		if (!seen[i])
			r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s: "
			    "missing", x->dest, x->m.files[i].path);
	if (r == 0 && n != x->m.nfiles + 1)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s: missing",
		    x->dest, MIRROR_MANIFEST);
 out:
	archive_read_free(a);
	free(seen);
	close(fd);
	return r;
}

static int
export_bundle(struct export *x, struct ferry_error *err)
{
	char stage[PATH_MAX], copy[PATH_MAX], parent[PATH_MAX], *text = NULL;
	size_t len;
	int r;

	snprintf(copy, sizeof(copy), "%s", x->dest);
	snprintf(parent, sizeof(parent), "%s", dirname(copy));
	/* tar: 512-byte blocks and a header or two per entry; zstd's bound. */
	if ((r = space_check(x->dest, parent, blocks_needed(x, 512, 1536) *
	    129 / 128 + 65536, 1, 0, err)) != 0)
		return r;
	if ((r = mirror_media_tmp(x->dir, "export", stage, sizeof(stage),
	    err)) != 0)
		return r;
	if ((r = write_tree(x, stage, 1, err)) != 0 ||
	    (r = write_manifest(x, stage, &text, &len, err)) != 0)
		goto out;
	if ((r = ferry_bundle_write_dir(stage, x->dest, err)) != 0)
		goto out;
	/* A bundle that does not read back is no use to anyone. */
	if ((r = verify_bundle(x, text, len, err)) != 0)
		(void)unlink(x->dest);
 out:
	(void)ferry_file_rmtree(stage);
	free(text);
	return r;
}

/* --- the command -------------------------------------------------------- */

static const char export_usage[] =
    "usage: ferry-mirror export [-d DIR] [--quiet] DEST\n"
    "\n"
    "Write the state the mirror serves, every target it holds and every\n"
    "root version it trusts onto removable media, for `ferry-mirror\n"
    "import` on the other side of an air gap: to DEST, a directory (a\n"
    "mounted USB stick: empty, or holding an earlier export, which is\n"
    "replaced only once the new one is complete), or to DEST.tar.zst, one\n"
    "archive.  DEST/ferry-export.json lists every file with its length\n"
    "and SHA-256.  Free space is checked first; everything is synced and\n"
    "read back against that list before the export is declared done.\n";

int
cmd_export(int argc, char **argv)
{
	struct mirror_config c;
	struct ferry_error err = { 0 };
	struct mirror_args o;
	struct export x;
	struct stat st;
	int rc, bundle;

	memset(&x, 0, sizeof(x));
	if ((rc = mirror_args(argc, argv, export_usage, MIRROR_ARG_QUIET |
	    MIRROR_ARG_OPERAND, &o)) >= 0)
		return rc;
	x.dir = o.dir;
	x.dest = o.operand;
	x.quiet = o.quiet;
	/* Only to know that DIR is a mirror. */
	if ((rc = mirror_config_load(x.dir, &c, &err)) == 0)
		mirror_config_free(&c);
	if (rc != 0)
		return mirror_fail(x.dir, &err);
	bundle = has_suffix(x.dest, ".tar.zst");
	if (!bundle && stat(x.dest, &st) == 0 && !S_ISDIR(st.st_mode))
		return mirror_failf("%s: not a directory (an archive's name "
		    "ends in .tar.zst)", x.dest);
	rc = 1;
	if ((x.dirs = json_object()) == NULL)
		goto out;
	if (list_export(&x, &err) != 0) {
		mirror_fail(x.dir, &err);
		goto out;
	}
	if ((bundle ? export_bundle(&x, &err) : export_dir(&x, &err)) != 0) {
		mirror_fail(x.dest, &err);
		goto out;
	}
	printf("%s: state %" PRId64 " of %s: root v%" PRId64 ", snapshot v%"
	    PRId64 ", timestamp v%" PRId64 "; %zu files, %" PRIu64 " bytes, "
	    "written and read back\n", x.dest, x.m.state, x.dir,
	    x.m.root_version, x.m.snapshot_version, x.m.timestamp_version,
	    x.m.nfiles, x.m.bytes);
	printf("import it before the timestamp expires, at %s\n",
	    x.m.timestamp_expires);
	rc = 0;
 out:
	json_decref(x.dirs);
	mirror_manifest_free(&x.m);
	return rc;
}

#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "file.h"

#define ZSTD_MAGIC	"\x28\xb5\x2f\xfd"
#define ZSTD_MAGIC_LEN	4
/* Fixed, so that a change of libarchive's default cannot change output. */
#define BUNDLE_ZSTD_LEVEL "3"
#define BUNDLE_CHUNK	(64 * 1024)
/*
 * What a well-formed entry needs in the tar stream beyond its name and
 * data: a pax header block and record, the ustar header, padding (about
 * 2 KiB).  A hostile archive can carry up to 32 special headers of 1 MiB
 * each per entry, which libarchive decompresses before we see the entry;
 * the check after each header stops that from adding up.
 */
#define BUNDLE_ENTRY_OVERHEAD	4096
#define BUNDLE_STREAM_SLACK	(64 * 1024)

void
ferry_bundle_limits_default(struct ferry_bundle_limits *lim)
{
	if (lim == NULL)
		return;
	lim->max_entries = 100000;
	lim->max_file_bytes = 8ULL << 30;
	lim->max_total_bytes = 64ULL << 30;
	lim->max_path = 1024;
}

static const char *
la_msg(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s != NULL ? s : "unknown libarchive error";
}

static int
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	}
	return 0;
}

/* The last '/' in the first len bytes of p, or NULL. */
static const char *
last_slash(const char *p, size_t len)
{
	while (len > 0) {
		if (p[--len] == '/')
			return p + len;
	}
	return NULL;
}

/*
 * Open the directory holding rel (a '/'-separated relative path) below
 * rootfd, never following a symbolic link on the way; *base is set to
 * rel's last component.  Returns a descriptor or -1 with errno set.
 */
static int
parent_open(int rootfd, const char *rel, const char **base)
{
	char name[NAME_MAX + 1];
	const char *p = rel, *slash;
	size_t n;
	int fd, nfd, saved;

	if ((fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	while ((slash = strchr(p, '/')) != NULL) {
		n = (size_t)(slash - p);
		if (n == 0 || n > NAME_MAX) {
			close(fd);
			errno = n == 0 ? EINVAL : ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		close(fd);
		if (nfd == -1) {
			errno = saved;
			return -1;
		}
		fd = nfd;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

/* Open rel below rootfd with flags, following no symbolic link. */
static int
open_beneath(int rootfd, const char *rel, int flags)
{
	const char *base;
	int pfd, fd, saved;

	if (*rel == '\0')
		return fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if ((pfd = parent_open(rootfd, rel, &base)) == -1)
		return -1;
	fd = openat(pfd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	saved = errno;
	close(pfd);
	errno = saved;
	return fd;
}

/* ---- writing ---- */

struct wentry {
	char *path;	/* relative to the source directory */
	int is_dir;
};

struct wlist {
	struct wentry *v;
	size_t n, cap;
};

/* The output side of libarchive: the temporary file of an atomic write. */
struct wout {
	struct ferry_atomic *at;
	int r;		/* why the last write failed */
};

static void
wlist_free(struct wlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

static int
wlist_add(struct wlist *l, const char *dir, const char *name, int is_dir)
{
	struct wentry *nv;
	size_t ncap, len;
	char *p;

	if (l->n == l->cap) {
		ncap = l->cap == 0 ? 64 : l->cap * 2;
		if (ncap > SIZE_MAX / sizeof(*nv) ||
		    (nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return FERRY_ERR_NOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	len = (dir != NULL ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	if ((p = malloc(len)) == NULL)
		return FERRY_ERR_NOMEM;
	if (dir != NULL)
		snprintf(p, len, "%s/%s", dir, name);
	else
		snprintf(p, len, "%s", name);
	l->v[l->n].path = p;
	l->v[l->n].is_dir = is_dir;
	l->n++;
	return 0;
}

static const char *
kind_of(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file or directory";
}

/* Add the entries of directory rel (NULL: the top) to l. */
static int
list_dir(int rootfd, const char *srcdir, const char *rel, struct wlist *l,
    struct ferry_error *err)
{
	/* Messages name srcdir/rel/name, or srcdir/name at the top. */
	const char *shown = rel != NULL ? rel : "", *sep = rel != NULL ? "/" :
	    "";
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r;

	fd = open_beneath(rootfd, rel != NULL ? rel : "", O_RDONLY |
	    O_DIRECTORY);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s%s%s: cannot open "
		    "directory: %s", srcdir, sep, shown, strerror(errno));
		if (fd != -1)
			close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (has_control(de->d_name, strlen(de->d_name))) {
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s/%s%s%s: name has a control character",
			    srcdir, shown, sep, de->d_name);
			goto out;
		}
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			r = ferry_error_set(err, FERRY_ERR_IO, "%s/%s%s%s: %s",
			    srcdir, shown, sep, de->d_name, strerror(errno));
			goto out;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s/%s%s%s: %s; a bundle holds only regular files "
			    "and directories", srcdir, shown, sep, de->d_name,
			    kind_of(st.st_mode));
			goto out;
		}
		if ((r = wlist_add(l, rel, de->d_name,
		    S_ISDIR(st.st_mode))) != 0)
			goto out;
	}
	if (errno != 0) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s%s%s: cannot read "
		    "directory: %s", srcdir, sep, shown, strerror(errno));
		goto out;
	}
	r = 0;
 out:
	closedir(d);
	return r;
}

static int
wentry_cmp(const void *a, const void *b)
{
	const struct wentry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/*
 * Every directory and file below rootfd, sorted by path.  A directory's
 * path is a prefix of its contents' paths, so it sorts before them.
 */
static int
walk_tree(int rootfd, const char *srcdir, struct wlist *l,
    struct ferry_error *err)
{
	size_t i;
	int r;

	if ((r = list_dir(rootfd, srcdir, NULL, l, err)) != 0)
		return r;
	/* Breadth first, over the list as it grows: one descriptor open. */
	for (i = 0; i < l->n; i++) {
		if (l->v[i].is_dir &&
		    (r = list_dir(rootfd, srcdir, l->v[i].path, l, err)) != 0)
			return r;
	}
	if (l->n > 0)	/* an empty tree has no array at all */
		qsort(l->v, l->n, sizeof(*l->v), wentry_cmp);
	return 0;
}

static la_ssize_t
wout_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct wout *w = arg;
	int r;

	if ((r = ferry_atomic_write(w->at, buf, len)) != 0) {
		w->r = r;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

/* The code for a failed libarchive write call. */
static int
wout_code(struct archive *a, const struct wout *w)
{
	if (w->r != 0)
		return w->r;
	return archive_errno(a) == ENOMEM ? FERRY_ERR_NOMEM : FERRY_ERR_IO;
}

/* Copy exactly size bytes of fd into the current entry. */
static int
write_data(struct archive *a, const struct wout *w, int fd, int64_t size,
    const char *srcdir, const char *path, struct ferry_error *err)
{
	unsigned char buf[BUNDLE_CHUNK];
	uint64_t left = (uint64_t)size;
	ssize_t n;

	while (left > 0) {
		n = read(fd, buf, left < sizeof(buf) ? (size_t)left :
		    sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return ferry_error_set(err, FERRY_ERR_IO, "%s/%s: %s",
			    srcdir, path, strerror(errno));
		if (n == 0)
			return ferry_error_set(err, FERRY_ERR_IO, "%s/%s: file "
			    "shrank while it was archived", srcdir, path);
		if (archive_write_data(a, buf, (size_t)n) != n)
			return ferry_error_set(err, wout_code(a, w),
			    "%s/%s: %s", srcdir, path, la_msg(a));
		left -= (uint64_t)n;
	}
	do
		n = read(fd, buf, 1);
	while (n == -1 && errno == EINTR);
	if (n != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s/%s: %s", srcdir,
		    path, n == -1 ? strerror(errno) :
		    "file grew while it was archived");
	return 0;
}

/* One entry: header with the normalised attributes, then data. */
static int
write_entry(struct archive *a, struct archive_entry *e, const struct wout *w,
    int rootfd, const char *srcdir, const struct wentry *we,
    struct ferry_error *err)
{
	struct stat st;
	int fd = -1, r;

	archive_entry_clear(e);
	archive_entry_copy_pathname(e, we->path);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (we->is_dir) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		archive_entry_set_size(e, 0);
	} else {
		fd = open_beneath(rootfd, we->path, O_RDONLY | O_NONBLOCK);
		if (fd == -1)
			return ferry_error_set(err, errno == ELOOP ?
			    FERRY_ERR_INVALID_ARG : FERRY_ERR_IO, "%s/%s: %s",
			    srcdir, we->path, errno == ELOOP ?
			    "became a symbolic link while it was archived" :
			    strerror(errno));
		if (fstat(fd, &st) == -1) {
			r = ferry_error_set(err, FERRY_ERR_IO, "%s/%s: %s",
			    srcdir, we->path, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s/%s: %s; a bundle holds only regular files "
			    "and directories", srcdir, we->path,
			    kind_of(st.st_mode));
			goto out;
		}
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, st.st_size);
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		r = ferry_error_set(err, wout_code(a, w), "%s/%s: %s", srcdir,
		    we->path, la_msg(a));
		goto out;
	}
	if (fd != -1 && (r = write_data(a, w, fd, st.st_size, srcdir,
	    we->path, err)) != 0)
		goto out;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

/* A libarchive writer for deterministic pax-restricted tar with zstd. */
static int
writer_new(struct wout *w, const char *out_path, struct archive **out,
    struct ferry_error *err)
{
	struct archive *a;

	if ((a = archive_write_new()) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "%s: out of memory",
		    out_path);
	/*
	 * hdrcharset=BINARY stores names as their bytes: without it
	 * libarchive converts them from the current locale to UTF-8, and the
	 * same tree would give different bundles in different locales.
	 * libarchive's external-program fallback (ARCHIVE_WARN) is refused.
	 * libarchive pads its output to whole blocks unless told otherwise,
	 * and zeros after the zstd frame are not zstd.
	 */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "pax", "hdrcharset",
	    "BINARY") != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "zstd", "compression-level",
	    BUNDLE_ZSTD_LEVEL) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 10240) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, w, NULL, wout_write, NULL, NULL) !=
	    ARCHIVE_OK) {
		ferry_error_set(err, FERRY_ERR_INTERNAL, "%s: cannot set up "
		    "libarchive for tar.zst: %s", out_path, la_msg(a));
		archive_write_free(a);
		return FERRY_ERR_INTERNAL;
	}
	*out = a;
	return 0;
}

int
ferry_bundle_write_dir(const char *srcdir, const char *out_path,
    struct ferry_error *err)
{
	struct wlist l = { NULL, 0, 0 };
	struct wout w = { NULL, 0 };
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	struct stat st;
	size_t i;
	int rootfd = -1, r;

	if (srcdir == NULL || *srcdir == '\0' || out_path == NULL ||
	    *out_path == '\0')
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "bundle: no source directory or output path");
	rootfd = open(srcdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (rootfd == -1) {
		/* O_DIRECTORY|O_NOFOLLOW on a symbolic link gives ENOTDIR. */
		if ((errno == ELOOP || errno == ENOTDIR) &&
		    lstat(srcdir, &st) == 0 && S_ISLNK(st.st_mode))
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s: is a symbolic link", srcdir);
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", srcdir,
		    strerror(errno));
	}
	/* The whole list first: the temporary file is not part of it. */
	if ((r = walk_tree(rootfd, srcdir, &l, err)) != 0)
		goto out;
	if ((r = ferry_atomic_open(out_path, 0644, &w.at)) != 0) {
		ferry_error_set(err, r, "%s: cannot create a temporary file "
		    "beside it: %s", out_path, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
		goto out;
	}
	if ((r = writer_new(&w, out_path, &a, err)) != 0)
		goto out;
	if ((e = archive_entry_new()) == NULL) {
		r = ferry_error_set(err, FERRY_ERR_NOMEM, "%s: out of memory",
		    out_path);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if ((r = write_entry(a, e, &w, rootfd, srcdir, &l.v[i],
		    err)) != 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		r = ferry_error_set(err, wout_code(a, &w), "%s: %s", out_path,
		    la_msg(a));
		goto out;
	}
	if ((r = ferry_atomic_commit(w.at)) != 0) {
		ferry_error_set(err, r, "%s: cannot put in place: %s",
		    out_path, strerror(errno));
		goto out;
	}
	r = 0;
 out:
	if (a != NULL) {
		if (r != 0)
			archive_write_fail(a);	/* free must not flush */
		archive_write_free(a);
	}
	archive_entry_free(e);
	ferry_atomic_free(w.at);	/* removes an uncommitted temporary */
	wlist_free(&l);
	close(rootfd);
	return r;
}

/* ---- extraction ---- */

/* Something the extraction created, in creation order. */
struct xent {
	char *path;	/* relative to destdir, no trailing '/' */
	size_t len;
	int is_dir;
};

struct xctx {
	const char *bundle;	/* for messages */
	const char *destdir;
	const struct ferry_bundle_limits *lim;
	struct ferry_error *err;
	struct archive *a;
	int rootfd;
	int pfd;		/* the directory last written into */
	char *ppath;		/* its path relative to destdir */
	struct xent *ents;
	size_t n, cap;
	size_t *index;		/* hash table of ents; SIZE_MAX is empty */
	size_t icap;		/* a power of two */
	uint64_t count;		/* entries read */
	uint64_t total;		/* file bytes written */
};

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static size_t
hash_path(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)h;
}

/* The index in x->ents of path, or SIZE_MAX. */
static size_t
xent_find(const struct xctx *x, const char *path, size_t len)
{
	size_t i, j;

	if (x->icap == 0)
		return SIZE_MAX;
	for (i = hash_path(path, len) & (x->icap - 1);
	    (j = x->index[i]) != SIZE_MAX; i = (i + 1) & (x->icap - 1)) {
		if (x->ents[j].len == len &&
		    memcmp(x->ents[j].path, path, len) == 0)
			return j;
	}
	return SIZE_MAX;
}

static void
index_put(size_t *index, size_t icap, const struct xent *e, size_t j)
{
	size_t i;

	for (i = hash_path(e->path, e->len) & (icap - 1);
	    index[i] != SIZE_MAX; i = (i + 1) & (icap - 1))
		;
	index[i] = j;
}

/* Record that path (owned by the caller until success) was created. */
static int
xent_add(struct xctx *x, char *path, size_t len, int is_dir)
{
	struct xent *nv;
	size_t *ni, ncap, i;

	if (x->n == x->cap) {
		ncap = x->cap == 0 ? 64 : x->cap * 2;
		if (ncap > SIZE_MAX / sizeof(*nv) ||
		    (nv = realloc(x->ents, ncap * sizeof(*nv))) == NULL)
			return FERRY_ERR_NOMEM;
		x->ents = nv;
		x->cap = ncap;
	}
	if ((x->n + 1) * 2 > x->icap) {
		ncap = x->icap == 0 ? 128 : x->icap * 2;
		if (ncap > SIZE_MAX / sizeof(*ni) ||
		    (ni = malloc(ncap * sizeof(*ni))) == NULL)
			return FERRY_ERR_NOMEM;
		for (i = 0; i < ncap; i++)
			ni[i] = SIZE_MAX;
		for (i = 0; i < x->n; i++)
			index_put(ni, ncap, &x->ents[i], i);
		free(x->index);
		x->index = ni;
		x->icap = ncap;
	}
	x->ents[x->n].path = path;
	x->ents[x->n].len = len;
	x->ents[x->n].is_dir = is_dir;
	index_put(x->index, x->icap, &x->ents[x->n], x->n);
	x->n++;
	return 0;
}

/*
 * Refuse a name: r with "BUNDLE: entry N "NAME": why".  The name is
 * quoted as the archive has it; ferry_error_set() masks control bytes.
 */
static int
refuse(struct xctx *x, int r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(struct xctx *x, int r, const char *name, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return ferry_error_set(x->err, r, "%s: entry %" PRIu64 " \"%.200s%s\": "
	    "%s", x->bundle, x->count, name, strlen(name) > 200 ? "..." : "",
	    why);
}

/* Why name (len bytes, no trailing '/') is unacceptable, or NULL. */
static const char *
path_problem(const char *name, size_t len)
{
	size_t i, start = 0, n;

	if (len == 0)
		return "empty name";
	if (name[0] == '/')
		return "absolute path";
	if (has_control(name, len))
		return "control character in name";
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '/')
			continue;
		n = i - start;
		if (n == 0)
			return "empty path component";
		if (n == 1 && name[start] == '.')
			return "\".\" path component";
		if (n == 2 && name[start] == '.' && name[start + 1] == '.')
			return "\"..\" path component";
		if (n > NAME_MAX)
			return "path component longer than NAME_MAX";
		start = i + 1;
	}
	return NULL;
}

/* Fail when the tar stream holds far more than its entries need. */
static int
stream_check(struct xctx *x, const char *name)
{
	la_int64_t used = archive_filter_bytes(x->a, 0);
	uint64_t allow;

	allow = sat_add(sat_add(x->total, BUNDLE_STREAM_SLACK),
	    sat_mul(x->count, sat_add(BUNDLE_ENTRY_OVERHEAD,
	    sat_mul(2, x->lim->max_path))));
	if (used > 0 && (uint64_t)used > allow)
		return refuse(x, FERRY_ERR_TOO_LARGE, name, "%" PRIu64 " bytes "
		    "of tar stream for %" PRIu64 " bytes of files: more header "
		    "data than the entries need", (uint64_t)used, x->total);
	return 0;
}

/* The type and size of an entry are ones we extract. */
static int
check_kind(struct xctx *x, struct archive_entry *e, const char *name)
{
	mode_t t = archive_entry_filetype(e);
	const char *link;

	if ((link = archive_entry_hardlink(e)) != NULL)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "hard link to "
		    "\"%.100s\"", link);
	if ((link = archive_entry_symlink(e)) != NULL || t == AE_IFLNK)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "symbolic link to "
		    "\"%.100s\"", link != NULL ? link : "");
	if (t == AE_IFCHR || t == AE_IFBLK)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "device");
	if (t == AE_IFIFO)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "FIFO");
	if (t != AE_IFREG && t != AE_IFDIR)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "not a regular "
		    "file or directory (type 0%o)", (unsigned)t);
	if (archive_entry_sparse_count(e) > 0)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "sparse file");
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "no valid size");
	if (t == AE_IFDIR && archive_entry_size(e) != 0)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "directory "
		    "carrying %" PRId64 " bytes of data",
		    (int64_t)archive_entry_size(e));
	if (t == AE_IFREG && (uint64_t)archive_entry_size(e) >
	    x->lim->max_file_bytes)
		return refuse(x, FERRY_ERR_TOO_LARGE, name, "%" PRId64 " bytes, "
		    "over the limit of %" PRIu64 " for one file",
		    (int64_t)archive_entry_size(e), x->lim->max_file_bytes);
	if (t == AE_IFREG && (uint64_t)archive_entry_size(e) >
	    x->lim->max_total_bytes - x->total)
		return refuse(x, FERRY_ERR_TOO_LARGE, name, "%" PRId64 " more "
		    "bytes would take the bundle over its limit of %" PRIu64
		    " bytes in all", (int64_t)archive_entry_size(e),
		    x->lim->max_total_bytes);
	return 0;
}

/*
 * Make x->pfd the directory that is to hold path and return path's last
 * component.  The last directory used is kept: a sorted bundle fills one
 * directory after another.
 */
static int
enter_parent(struct xctx *x, const char *path, size_t len, const char **base)
{
	const char *slash = last_slash(path, len);
	size_t plen = slash != NULL ? (size_t)(slash - path) : 0;
	char *pp;
	int fd;

	*base = slash != NULL ? slash + 1 : path;
	if (x->pfd != -1 && strlen(x->ppath) == plen &&
	    memcmp(x->ppath, path, plen) == 0)
		return 0;
	if ((pp = strndup(path, plen)) == NULL)
		return FERRY_ERR_NOMEM;
	if ((fd = open_beneath(x->rootfd, pp, O_RDONLY | O_DIRECTORY)) ==
	    -1) {
		free(pp);
		return FERRY_ERR_IO;
	}
	if (x->pfd != -1)
		close(x->pfd);
	free(x->ppath);
	x->pfd = fd;
	x->ppath = pp;
	return 0;
}

/* Copy the entry's data into fd, counting what is decompressed. */
static int
extract_data(struct xctx *x, int fd, int64_t size, const char *name)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	uint64_t got = 0;
	int ar, r;

	for (;;) {
		ar = archive_read_data_block(x->a, &buf, &len, &off);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK)
			return refuse(x, FERRY_ERR_REPOSITORY, name, "%s",
			    la_msg(x->a));
		if (off < 0 || (uint64_t)off != got)
			return refuse(x, FERRY_ERR_REPOSITORY, name, "data "
			    "not contiguous");
		if (len > (uint64_t)size - got)
			return refuse(x, FERRY_ERR_REPOSITORY, name, "more "
			    "data than the %" PRId64 " bytes its header says",
			    size);
		if (len > x->lim->max_file_bytes - got ||
		    len > x->lim->max_total_bytes - x->total)
			return refuse(x, FERRY_ERR_TOO_LARGE, name, "over "
			    "the size limits");
		if (ferry_file_write_all(fd, buf, len) == -1)
			return refuse(x, FERRY_ERR_IO, name, "cannot write: %s",
			    strerror(errno));
		got += len;
		x->total += len;
		if ((r = stream_check(x, name)) != 0)
			return r;
	}
	if (got != (uint64_t)size)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "%" PRIu64 " bytes "
		    "of data where its header says %" PRId64, got, size);
	return 0;
}

/*
 * Create the checked entry path (len bytes, its own copy of the name),
 * which this takes over: recorded among what was created, or freed.
 */
static int
create_entry(struct xctx *x, struct archive_entry *e, char *path, size_t len,
    const char *name)
{
	int is_dir = archive_entry_filetype(e) == AE_IFDIR;
	const char *base;
	int fd = -1, r;

	if ((r = enter_parent(x, path, len, &base)) != 0) {
		r = refuse(x, r, name, "cannot open its directory: %s",
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
		free(path);
		return r;
	}
	if (is_dir)
		r = mkdirat(x->pfd, base, 0700);
	else
		r = fd = openat(x->pfd, base, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (r == -1) {
		/* On a case-insensitive file system "A" and "a" collide. */
		r = refuse(x, errno == EEXIST ? FERRY_ERR_REPOSITORY :
		    FERRY_ERR_IO, name, "cannot create: %s", errno == EEXIST ?
		    "the name exists already on this file system" :
		    strerror(errno));
		free(path);
		return r;
	}
	if ((r = xent_add(x, path, len, is_dir)) != 0) {
		/* Not recorded, so not removed later: remove it now. */
		(void)unlinkat(x->pfd, base, is_dir ? AT_REMOVEDIR : 0);
		if (fd != -1)
			close(fd);
		free(path);
		return refuse(x, r, name, "%s", ferry_strerror(r));
	}
	/* path is x's now; base points into it and stays valid. */
	if (is_dir)
		fd = openat(x->pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	/* Exact modes, whatever the bundle or the umask says. */
	if (fd == -1 || fchmod(fd, is_dir ? 0755 : 0644) == -1) {
		r = refuse(x, FERRY_ERR_IO, name, "%s", strerror(errno));
		goto out;
	}
	if (!is_dir && ((r = extract_data(x, fd, archive_entry_size(e),
	    name)) != 0))
		goto out;
	if (!is_dir && fsync(fd) == -1) {
		r = refuse(x, FERRY_ERR_IO, name, "fsync: %s", strerror(errno));
		goto out;
	}
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	return r;
}

/* Check the entry just read and create it. */
static int
extract_entry(struct xctx *x, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *why, *slash;
	size_t len, j;
	char *path;
	int r;

	if (name == NULL)
		return refuse(x, FERRY_ERR_REPOSITORY, "", "no usable name");
	if ((r = stream_check(x, name)) != 0)
		return r;
	len = strlen(name);
	/* libarchive's writer ends a directory's name with '/'. */
	if (archive_entry_filetype(e) == AE_IFDIR && len > 1 &&
	    name[len - 1] == '/')
		len--;
	if (len > x->lim->max_path)
		return refuse(x, FERRY_ERR_TOO_LARGE, name, "name longer than "
		    "the limit of %zu bytes", x->lim->max_path);
	if ((r = check_kind(x, e, name)) != 0)
		return r;
	if ((why = path_problem(name, len)) != NULL)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "%s", why);
	if (xent_find(x, name, len) != SIZE_MAX)
		return refuse(x, FERRY_ERR_REPOSITORY, name, "duplicate of an "
		    "earlier entry");
	/* Its ancestors were checked when its directory was created. */
	if ((slash = last_slash(name, len)) != NULL) {
		j = xent_find(x, name, (size_t)(slash - name));
		if (j == SIZE_MAX)
			return refuse(x, FERRY_ERR_REPOSITORY, name, "its "
			    "directory \"%.*s\" is not an earlier entry",
			    (int)(slash - name), name);
		if (!x->ents[j].is_dir)
			return refuse(x, FERRY_ERR_REPOSITORY, name, "path "
			    "passes through the file \"%s\"", x->ents[j].path);
	}
	if ((path = strndup(name, len)) == NULL)
		return refuse(x, FERRY_ERR_NOMEM, name, "out of memory");
	return create_entry(x, e, path, len, name);
}

/* The stream is exactly one zstd layer over tar. */
static int
check_filters(struct xctx *x)
{
	if (archive_filter_count(x->a) != 2 ||
	    archive_filter_code(x->a, 0) != ARCHIVE_FILTER_ZSTD)
		return ferry_error_set(x->err, FERRY_ERR_REPOSITORY, "%s: not "
		    "a tar stream under one layer of zstd (%d filters, the "
		    "first %s)", x->bundle, archive_filter_count(x->a) - 1,
		    archive_filter_name(x->a, 0));
	return 0;
}

static int
extract_all(struct xctx *x)
{
	struct archive_entry *e;
	int ar, r;

	for (;;) {
		ar = archive_read_next_header(x->a, &e);
		if (x->count == 0 && (ar == ARCHIVE_OK || ar == ARCHIVE_EOF) &&
		    (r = check_filters(x)) != 0)
			return r;
		if (ar == ARCHIVE_EOF)
			return 0;
		if (ar != ARCHIVE_OK && x->count == 0)
			return ferry_error_set(x->err, FERRY_ERR_REPOSITORY,
			    "%s: %s", x->bundle, la_msg(x->a));
		if (ar != ARCHIVE_OK)
			return ferry_error_set(x->err, FERRY_ERR_REPOSITORY,
			    "%s: after entry %" PRIu64 ": %s", x->bundle,
			    x->count, la_msg(x->a));
		if (++x->count > x->lim->max_entries)
			return ferry_error_set(x->err, FERRY_ERR_TOO_LARGE,
			    "%s: more than %" PRIu64 " entries", x->bundle,
			    x->lim->max_entries);
		if ((r = extract_entry(x, e)) != 0)
			return r;
	}
}

/* Open the bundle and check that it starts as zstd does. */
static int
bundle_open(const char *path, int *out, struct ferry_error *err)
{
	unsigned char m[ZSTD_MAGIC_LEN];
	struct stat st;
	ssize_t n;
	int fd, r;

	/* Non-blocking, so that a FIFO cannot hang the open. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || fcntl(fd, F_SETFL, 0) == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: not a "
		    "regular file", path);
		goto fail;
	}
	do
		n = pread(fd, m, sizeof(m), 0);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (n != (ssize_t)sizeof(m) || memcmp(m, ZSTD_MAGIC, sizeof(m)) != 0) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: not a "
		    "zstd-compressed bundle (no magic number 28 b5 2f fd)",
		    path);
		goto fail;
	}
	*out = fd;
	return 0;
 fail:
	close(fd);
	return r;
}

/* Remove what the extraction created, newest first, then destdir. */
static void
extract_undo(struct xctx *x)
{
	const char *base;
	size_t i;
	int fd, saved = errno;

	if (x->pfd != -1)
		close(x->pfd);
	x->pfd = -1;
	for (i = x->n; i > 0; i--) {
		fd = parent_open(x->rootfd, x->ents[i - 1].path, &base);
		if (fd == -1)
			continue;
		(void)unlinkat(fd, base, x->ents[i - 1].is_dir ?
		    AT_REMOVEDIR : 0);
		close(fd);
	}
	if (x->rootfd != -1)
		close(x->rootfd);
	x->rootfd = -1;
	(void)rmdir(x->destdir);
	errno = saved;
}

/* fsync what was created (files already are), destdir and its parent. */
static int
extract_sync(struct xctx *x)
{
	char *parent = NULL, *slash;
	size_t i, len;
	int fd, r = FERRY_ERR_IO;

	for (i = 0; i < x->n; i++) {
		if (!x->ents[i].is_dir)
			continue;
		if ((fd = open_beneath(x->rootfd, x->ents[i].path, O_RDONLY |
		    O_DIRECTORY)) == -1 || fsync(fd) == -1) {
			ferry_error_set(x->err, FERRY_ERR_IO, "%s/%s: fsync: %s",
			    x->destdir, x->ents[i].path, strerror(errno));
			if (fd != -1)
				close(fd);
			return FERRY_ERR_IO;
		}
		close(fd);
	}
	if (fchmod(x->rootfd, 0755) == -1 || fsync(x->rootfd) == -1)
		return ferry_error_set(x->err, FERRY_ERR_IO, "%s: %s",
		    x->destdir, strerror(errno));
	if ((parent = strdup(x->destdir)) == NULL)
		return ferry_error_set(x->err, FERRY_ERR_NOMEM, "%s: out of "
		    "memory", x->destdir);
	for (len = strlen(parent); len > 1 && parent[len - 1] == '/'; len--)
		parent[len - 1] = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, len + 1, ".");
	else
		slash[slash == parent ? 1 : 0] = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1 &&
	    fsync(fd) == 0)
		r = 0;
	else
		ferry_error_set(x->err, FERRY_ERR_IO, "%s: fsync: %s", parent,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	free(parent);
	return r;
}

static int
limits_ok(const struct ferry_bundle_limits *lim)
{
	return lim->max_entries > 0 && lim->max_file_bytes > 0 &&
	    lim->max_total_bytes > 0 && lim->max_path > 0;
}

int
ferry_bundle_extract(const char *bundle_path, const char *destdir,
    const struct ferry_bundle_limits *lim, struct ferry_error *err)
{
	struct ferry_bundle_limits dflt;
	struct xctx x;
	size_t i;
	int fd = -1, r;

	memset(&x, 0, sizeof(x));
	x.rootfd = x.pfd = -1;
	if (lim == NULL) {
		ferry_bundle_limits_default(&dflt);
		lim = &dflt;
	}
	if (bundle_path == NULL || destdir == NULL || *destdir == '\0' ||
	    !limits_ok(lim))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "bundle: "
		    "no bundle, no destination, or a limit of 0");
	x.bundle = bundle_path;
	x.destdir = destdir;
	x.lim = lim;
	x.err = err;
	if ((r = bundle_open(bundle_path, &fd, err)) != 0)
		return r;
	if (mkdir(destdir, 0700) == -1) {
		r = ferry_error_set(err, errno == EEXIST ?
		    FERRY_ERR_INVALID_ARG : FERRY_ERR_IO, "%s: %s", destdir,
		    errno == EEXIST ? "exists already; extraction needs a new "
		    "directory" : strerror(errno));
		close(fd);
		return r;
	}
	if ((x.rootfd = open(destdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", destdir,
		    strerror(errno));
		goto out;
	}
	/* zstd only: libarchive's external-program fallback is refused. */
	if ((x.a = archive_read_new()) == NULL ||
	    archive_read_support_filter_zstd(x.a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(x.a) != ARCHIVE_OK ||
	    archive_read_open_fd(x.a, fd, BUNDLE_CHUNK) != ARCHIVE_OK) {
		r = ferry_error_set(err, x.a == NULL ? FERRY_ERR_NOMEM :
		    FERRY_ERR_REPOSITORY, "%s: %s", bundle_path, x.a == NULL ?
		    "out of memory" : la_msg(x.a));
		goto out;
	}
	if ((r = extract_all(&x)) != 0)
		goto out;
	r = extract_sync(&x);
 out:
	if (r != 0)
		extract_undo(&x);
	if (x.a != NULL)
		archive_read_free(x.a);
	if (x.pfd != -1)
		close(x.pfd);
	if (x.rootfd != -1)
		close(x.rootfd);
	close(fd);
	for (i = 0; i < x.n; i++)
		free(x.ents[i].path);
	free(x.ents);
	free(x.index);
	free(x.ppath);
	return r;
}

int
ferry_bundle_is_bundle(const char *path)
{
	unsigned char m[ZSTD_MAGIC_LEN];
	struct stat st;
	ssize_t n;
	int fd, saved;

	if (path == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return FERRY_ERR_IO;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return FERRY_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	do
		n = pread(fd, m, sizeof(m), 0);
	while (n == -1 && errno == EINTR);
	saved = errno;
	close(fd);
	errno = saved;
	if (n == -1)
		return FERRY_ERR_IO;
	return n == (ssize_t)sizeof(m) &&
	    memcmp(m, ZSTD_MAGIC, sizeof(m)) == 0;
}

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"

struct ferry_atomic {
	int fd;
	int created;	/* the temporary exists and is ours to remove */
	int committed;
	uint64_t size;
	char *path;	/* final name */
	char *tmp;	/* temporary name in the same directory */
};

int
ferry_file_open_regular(const char *path, struct stat *stp)
{
	struct stat st;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto fail;
	}
	if (stp != NULL)
		*stp = st;
	/* Opened non-blocking so a FIFO cannot hang us; files need no flag. */
	if (fcntl(fd, F_SETFL, 0) == -1)
		goto fail;
	return fd;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
ferry_file_read(const char *path, size_t max_len, unsigned char **out,
    size_t *outlen)
{
	struct stat st;
	unsigned char *buf = NULL, *nb;
	size_t len = 0, cap, limit, ncap;
	ssize_t n;
	int fd, r = FERRY_ERR_IO, saved;

	if (path == NULL || out == NULL || outlen == NULL ||
	    max_len >= SIZE_MAX - 2)
		return FERRY_ERR_INVALID_ARG;
	if ((fd = ferry_file_open_regular(path, &st)) == -1)
		return FERRY_ERR_IO;
	/*
	 * Read up to one byte past the limit, to tell "exactly max_len" from
	 * "more".  The size from fstat is only a first guess: the file may
	 * change while it is read.
	 */
	limit = max_len + 1;
	/* Room for the whole file and one more byte, so EOF needs no realloc. */
	cap = (uintmax_t)st.st_size < limit - 1 ? (size_t)st.st_size + 1 : limit;
	if (cap < 4096)
		cap = 4096 < limit ? 4096 : limit;
	if ((buf = malloc(cap + 1)) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		if (len == cap) {
			if (cap == limit)
				break;
			ncap = cap > limit / 2 ? limit : cap * 2;
			if ((nb = realloc(buf, ncap + 1)) == NULL) {
				r = FERRY_ERR_NOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max_len) {
		r = FERRY_ERR_TOO_LARGE;
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL; /* transferred */
	r = 0;
 out:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return r;
}

/* Open the directory holding path, for fsync after a rename. */
static int
fsync_parent(const char *path)
{
	char *dup, *slash;
	int fd, r = FERRY_ERR_IO;

	if ((dup = strdup(path)) == NULL)
		return FERRY_ERR_NOMEM;
	slash = strrchr(dup, '/');
	if (slash == NULL)
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else {
		if (slash == dup)
			slash[1] = '\0';
		else
			*slash = '\0';
		fd = open(dup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd != -1) {
		if (fsync(fd) == 0)
			r = 0;
		close(fd);
	}
	free(dup);
	return r;
}

/*
 * A new ferry_atomic for path, its temporary file made by make(a, arg)
 * at a->tmp: an unpredictable name, created exclusively (no symlink
 * games), and hidden (DIR/.NAME.tmp.RANDOM), so that a static server
 * that hides dot files never serves a file still being written.  make
 * fails with errno EEXIST for the next name to be tried.
 */
static int
atomic_new(const char *path, int (*make)(struct ferry_atomic *, const void *),
    const void *arg, struct ferry_atomic **out)
{
	struct ferry_atomic *a;
	const char *base;
	char rnd[17];
	size_t n;
	int dirlen, tries, r = FERRY_ERR_NOMEM;

	if (sodium_init() < 0)	/* for randombytes_random() */
		return FERRY_ERR_CRYPTO;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return FERRY_ERR_NOMEM;
	a->fd = -1;
	n = strlen(path) + sizeof(".") + sizeof(".tmp.") + sizeof(rnd);
	if ((a->path = strdup(path)) == NULL ||
	    (a->tmp = malloc(n)) == NULL)
		goto fail;
	base = strrchr(path, '/');
	dirlen = base != NULL ? (int)(base - path + 1) : 0;
	for (tries = 0;; tries++) {
		if (tries == 16) {
			errno = EEXIST;
			r = FERRY_ERR_IO;
			goto fail;
		}
		snprintf(rnd, sizeof(rnd), "%08x%08x", randombytes_random(),
		    randombytes_random());
		snprintf(a->tmp, n, "%.*s.%s.tmp.%s", dirlen, path,
		    path + dirlen, rnd);
		if (make(a, arg) == 0)
			break;
		if (errno != EEXIST) {
			r = FERRY_ERR_IO;
			goto fail;
		}
	}
	a->created = 1;
	*out = a;
	return 0;
 fail:
	ferry_atomic_free(a);
	return r;
}

static int
make_open(struct ferry_atomic *a, const void *arg)
{
	const mode_t *mode = arg;

	a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, *mode);
	return a->fd == -1 ? -1 : 0;
}

int
ferry_atomic_open(const char *path, mode_t mode, struct ferry_atomic **out)
{
	struct ferry_atomic *a;
	int r;

	if (path == NULL || *path == '\0' || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = atomic_new(path, make_open, &mode, &a)) != 0)
		return r;
	/* open(2) applies the umask; state files get exactly mode. */
	if (fchmod(a->fd, mode) == -1) {
		ferry_atomic_free(a);
		return FERRY_ERR_IO;
	}
	*out = a;
	return 0;
}

int
ferry_file_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ferry_atomic_write(struct ferry_atomic *a, const void *buf, size_t len)
{
	if (a == NULL || a->fd == -1 || (buf == NULL && len > 0))
		return FERRY_ERR_INVALID_ARG;
	if (ferry_file_write_all(a->fd, buf, len) == -1)
		return FERRY_ERR_IO;
	a->size += (uint64_t)len;
	return 0;
}

uint64_t
ferry_atomic_size(const struct ferry_atomic *a)
{
	return a == NULL ? 0 : a->size;
}

/* Everything written reaches the disk; the descriptor is closed. */
static int
atomic_flush(struct ferry_atomic *a)
{
	int fd;

	if (a == NULL || a->fd == -1 || a->committed)
		return FERRY_ERR_INVALID_ARG;
	fd = a->fd;
	a->fd = -1;
	if (fsync(fd) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return FERRY_ERR_IO;
	}
	if (close(fd) == -1)
		return FERRY_ERR_IO;
	return 0;
}

int
ferry_atomic_commit(struct ferry_atomic *a)
{
	int r;

	if ((r = atomic_flush(a)) != 0)
		return r;
	if (rename(a->tmp, a->path) == -1)
		return FERRY_ERR_IO;
	a->committed = 1;
	return fsync_parent(a->path);
}

int
ferry_atomic_commit_nosync(struct ferry_atomic *a)
{
	int fd;

	if (a == NULL || a->fd == -1 || a->committed)
		return FERRY_ERR_INVALID_ARG;
	fd = a->fd;
	a->fd = -1;
	if (close(fd) == -1)
		return FERRY_ERR_IO;
	if (rename(a->tmp, a->path) == -1)
		return FERRY_ERR_IO;
	a->committed = 1;
	return 0;
}

static int
make_link(struct ferry_atomic *a, const void *src)
{
	return link(src, a->tmp);
}

int
ferry_atomic_link(const char *path, const char *src,
    struct ferry_atomic **out)
{
	struct ferry_atomic *a;
	int r;

	if (path == NULL || *path == '\0' || src == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	/* EXDEV (another file system) and the like: FERRY_ERR_IO. */
	if ((r = atomic_new(path, make_link, src, &a)) != 0)
		return r;
	/* A descriptor, for the batch to find the file system and sync. */
	if ((a->fd = open(a->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		ferry_atomic_free(a);
		return FERRY_ERR_IO;
	}
	*out = a;
	return 0;
}

int
ferry_atomic_commit_new(struct ferry_atomic *a)
{
	int r;

	if ((r = atomic_flush(a)) != 0)
		return r;
	/*
	 * RENAME_NOREPLACE refuses to replace what is there, and works on
	 * file systems without hard links (vfat on a USB stick); where the
	 * file system does not know the flag, link(2) refuses the same way.
	 */
	if (renameat2(AT_FDCWD, a->tmp, AT_FDCWD, a->path,
	    RENAME_NOREPLACE) == 0) {
		a->committed = 1;
		return fsync_parent(a->path);
	}
	if (errno != EINVAL && errno != ENOSYS)
		return FERRY_ERR_IO;
	if (link(a->tmp, a->path) == -1)
		return FERRY_ERR_IO;
	a->committed = 1;
	if (unlink(a->tmp) == -1)
		return FERRY_ERR_IO;
	return fsync_parent(a->path);
}

void
ferry_atomic_free(struct ferry_atomic *a)
{
	int saved = errno;

	if (a == NULL)
		return;
	if (a->fd != -1)
		close(a->fd);
	if (a->created && !a->committed)
		(void)unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	free(a);
	errno = saved;
}

/* A whole buffer through ferry_atomic_*, committed by commit. */
static int
write_whole(const char *path, const void *buf, size_t len, mode_t mode,
    int (*commit)(struct ferry_atomic *))
{
	struct ferry_atomic *a = NULL;
	int r;

	if ((r = ferry_atomic_open(path, mode, &a)) != 0)
		return r;
	if ((r = ferry_atomic_write(a, buf, len)) == 0)
		r = commit(a);
	ferry_atomic_free(a);
	return r;
}

int
ferry_file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode)
{
	return write_whole(path, buf, len, mode, ferry_atomic_commit);
}

int
ferry_file_write_new(const char *path, const void *buf, size_t len,
    mode_t mode)
{
	return write_whole(path, buf, len, mode, ferry_atomic_commit_new);
}

/* --- batches ------------------------------------------------------------ */

struct ferry_batch {
	struct ferry_atomic **a;	/* written, closed, not yet renamed */
	size_t n, cap;
	int *syncfd;			/* one open file per file system */
	dev_t *dev;
	size_t nfs;
	int committed;
};

int
ferry_batch_new(struct ferry_batch **out)
{
	if (out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return FERRY_ERR_NOMEM;
	return 0;
}

/* Remember a descriptor on the file system of fd, once per file system. */
static int
batch_note_fs(struct ferry_batch *b, int fd)
{
	struct stat st;
	size_t i;
	int *nf;
	dev_t *nd;

	if (fstat(fd, &st) == -1)
		return FERRY_ERR_IO;
	for (i = 0; i < b->nfs; i++)
		if (b->dev[i] == st.st_dev)
			return 0;
	if ((nf = realloc(b->syncfd, (b->nfs + 1) * sizeof(*nf))) == NULL)
		return FERRY_ERR_NOMEM;
	b->syncfd = nf;
	if ((nd = realloc(b->dev, (b->nfs + 1) * sizeof(*nd))) == NULL)
		return FERRY_ERR_NOMEM;
	b->dev = nd;
	if ((b->syncfd[b->nfs] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return FERRY_ERR_IO;
	b->dev[b->nfs++] = st.st_dev;
	return 0;
}

int
ferry_batch_add(struct ferry_batch *b, const char *path, const void *buf,
    size_t len, mode_t mode)
{
	struct ferry_atomic *a = NULL;
	int r;

	if (b == NULL || b->committed)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_atomic_open(path, mode, &a)) != 0)
		return r;
	if ((r = ferry_atomic_write(a, buf, len)) != 0) {
		ferry_atomic_free(a);
		return r;
	}
	return ferry_batch_add_atomic(b, a);
}

int
ferry_batch_add_atomic(struct ferry_batch *b, struct ferry_atomic *a)
{
	struct ferry_atomic **na;
	int r, fd;

	if (b == NULL || b->committed || a == NULL || a->fd == -1 ||
	    a->committed) {
		ferry_atomic_free(a);
		return FERRY_ERR_INVALID_ARG;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		if ((na = realloc(b->a, cap * sizeof(*na))) == NULL) {
			ferry_atomic_free(a);
			return FERRY_ERR_NOMEM;
		}
		b->a = na;
		b->cap = cap;
	}
	if ((r = batch_note_fs(b, a->fd)) != 0) {
		ferry_atomic_free(a);
		return r;
	}
	/* Closed now: a batch may hold more files than descriptors. */
	fd = a->fd;
	a->fd = -1;
	if (close(fd) == -1) {
		ferry_atomic_free(a);
		return FERRY_ERR_IO;
	}
	b->a[b->n++] = a;
	return 0;
}

int
ferry_batch_commit(struct ferry_batch *b)
{
	size_t i, j;
	int r = 0;

	if (b == NULL || b->committed)
		return FERRY_ERR_INVALID_ARG;
	b->committed = 1;
	/* Every temporary reaches the disk before any rename. */
	for (i = 0; i < b->nfs; i++)
		if (syncfs(b->syncfd[i]) == -1)
			return FERRY_ERR_IO;
	for (i = 0; i < b->n; i++) {
		if (rename(b->a[i]->tmp, b->a[i]->path) == -1)
			return FERRY_ERR_IO;
		b->a[i]->committed = 1;
	}
	/* Each directory once. */
	for (i = 0; i < b->n && r == 0; i++) {
		const char *p = b->a[i]->path, *s = strrchr(p, '/');
		size_t len = s != NULL ? (size_t)(s - p) : 0;

		for (j = 0; j < i; j++) {
			const char *q = b->a[j]->path, *t = strrchr(q, '/');

			if ((t != NULL ? (size_t)(t - q) : 0) == len &&
			    strncmp(p, q, len) == 0)
				break;
		}
		if (j == i)
			r = fsync_parent(p);
	}
	return r;
}

void
ferry_batch_free(struct ferry_batch *b)
{
	int saved = errno;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		ferry_atomic_free(b->a[i]);	/* removes what was not renamed */
	for (i = 0; i < b->nfs; i++)
		close(b->syncfd[i]);
	free(b->a);
	free(b->syncfd);
	free(b->dev);
	free(b);
	errno = saved;
}

/* --- removing a tree ----------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 ? -1 : 0;
}

int
ferry_file_rmtree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A served repository tree with atomic switches: see tree.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
#include "hash.h"
#include "tree.h"

#define STATES ".states"
#define TARGET_PATH_MAX 1024
#define COPY_BUF (256u * 1024)
#define TARGET_DEPTH_MAX 512	/* components of a 1,024-byte path */
#define SWAP_PREFIX ".metadata.tmp."

/* A second name of a target file, linked once the first is in place. */
struct extra {
	char *from, *to;
};

struct ferry_tree {
	char *dir;
	int dfd;		/* the tree */
	int lockfd;
	int64_t live;		/* 0: nothing published */
	int livefd;		/* .states/LIVE, or -1 */
	int64_t next;		/* the state being built, or 0 */
	int nextfd;
	struct ferry_batch *batch;
	struct extra *extra;
	size_t nextra, extracap;
};

static int
io_error(struct ferry_error *err, const char *dir, const char *what)
{
	return ferry_error_set(err, FERRY_ERR_IO, "%s/%s: %s", dir, what,
	    strerror(errno));
}

static void
state_name(int64_t n, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, STATES "/%010" PRId64 "%s", n, suffix);
}

/* The number of a state directory's name, or 0 if it is not one. */
static int64_t
state_number(const char *s, const char *suffix)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < 10; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return strcmp(s + 10, suffix) == 0 ? v : 0;
}

/* Remove a flat directory (a state) under parent fd. */
static int
remove_flat(int pfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == -1 && errno != ENOENT)
			r = -1;
	}
	closedir(d);
	if (r == 0 && unlinkat(pfd, name, AT_REMOVEDIR) == -1)
		r = -1;
	return r;
}

/* The live state from the metadata symlink; 0 if there is none. */
static int
read_live(struct ferry_tree *t, struct ferry_error *err)
{
	char buf[64];
	ssize_t n;

	n = readlinkat(t->dfd, "metadata", buf, sizeof(buf) - 1);
	if (n == -1 && errno == ENOENT) {
		t->live = 0;
		return 0;
	}
	if (n == -1)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/metadata:"
		    " %s", t->dir, errno == EINVAL ? "not a symbolic link: "
		    "not a tree written by Ferry" : strerror(errno));
	buf[n] = '\0';
	if (strncmp(buf, STATES "/", sizeof(STATES)) != 0 ||
	    (t->live = state_number(buf + sizeof(STATES), "")) == 0)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/metadata:"
		    " points to \"%s\", not to a state", t->dir, buf);
	return 0;
}

/* A hidden temporary of an atomic write: .NAME.tmp.RANDOM. */
static int
is_temporary(const char *name)
{
	return name[0] == '.' && strstr(name, ".tmp.") != NULL;
}

/*
 * Remove, as far as it can, the temporaries a writer left in targets/
 * and below (no target path has a component starting with a dot, so
 * none is a target).  targets/ itself may be a symbolic link (to another
 * file system); nothing below it is followed.  Best effort: what stays
 * is removed by the next pruning of unreferenced files.
 */
static void
sweep_targets(int pfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (depth > TARGET_DEPTH_MAX)
		return;
	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (depth > 0 ? O_NOFOLLOW : 0))) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			if (is_temporary(de->d_name) &&
			    (de->d_type == DT_REG || de->d_type == DT_UNKNOWN))
				(void)unlinkat(fd, de->d_name, 0);
		} else if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			sweep_targets(fd, de->d_name, depth + 1);
	}
	closedir(d);
}

/*
 * Remove what a writer that died left: unfinished or unswitched states,
 * the temporaries of their target files, and a half-made symlink.
 */
static int
recover(struct ferry_tree *t, struct ferry_error *err)
{
	struct dirent *de;
	int64_t v, newest = 0;
	DIR *d;
	int fd, sfd, unfinished = 0, r = 0;

	if ((sfd = openat(t->dfd, STATES, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return io_error(err, t->dir, STATES);
	if ((fd = dup(sfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		close(sfd);
		return io_error(err, t->dir, STATES);
	}
	/*
	 * Without the link only a first state (never switched to) can be a
	 * leftover: a later one means the link was lost, and removing the
	 * states would lose the repository.
	 */
	while (t->live == 0 && (de = readdir(d)) != NULL)
		if ((v = state_number(de->d_name, "")) > newest)
			newest = v;
	if (newest > 1) {
		char name[64];

		state_name(newest, "", name, sizeof(name));
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s/metadata "
		    "is missing, but %s exists: restore the link to the "
		    "newest state (ln -s %s metadata) rather than start "
		    "afresh", t->dir, name, name);
	}
	/*
	 * Target temporaries exist only while a state is being built, so
	 * they are looked for when one was left, and before it is removed:
	 * should this be cut short, the next open looks again.
	 */
	rewinddir(d);
	while (r == 0 && (de = readdir(d)) != NULL)
		if (state_number(de->d_name, ".tmp") != 0 ||
		    ((v = state_number(de->d_name, "")) != 0 && v > t->live))
			unfinished = 1;
	if (r == 0 && unfinished)
		sweep_targets(t->dfd, "targets", 0);
	rewinddir(d);
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (state_number(de->d_name, ".tmp") != 0 ||
		    ((v = state_number(de->d_name, "")) != 0 && v > t->live)) {
			if (remove_flat(sfd, de->d_name) != 0)
				r = io_error(err, t->dir, STATES);
		}
	}
	closedir(d);
	close(sfd);
	if (r != 0)
		return r;
	if ((fd = dup(t->dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return io_error(err, t->dir, ".");
	}
	rewinddir(d);	/* the offset is shared with t->dfd's */
	while ((de = readdir(d)) != NULL && r == 0)
		if (strncmp(de->d_name, SWAP_PREFIX, strlen(SWAP_PREFIX)) == 0 &&
		    unlinkat(t->dfd, de->d_name, 0) == -1 && errno != ENOENT)
			r = io_error(err, t->dir, de->d_name);
	closedir(d);
	return r;
}

static int
take_lock(struct ferry_tree *t, unsigned wait_seconds, struct ferry_error *err)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	unsigned i;

	t->lockfd = openat(t->dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (t->lockfd == -1)
		return io_error(err, t->dir, ".lock");
	for (i = 0; flock(t->lockfd, LOCK_EX | LOCK_NB) == -1; i++) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return io_error(err, t->dir, ".lock");
		if (i >= wait_seconds * 10u)
			return ferry_error_set(err, FERRY_ERR_TIMEOUT, "%s: "
			    "another process is writing this tree (it holds "
			    "%s/.lock)", t->dir, t->dir);
		nanosleep(&ts, NULL);
	}
	return 0;
}

int
ferry_tree_open(const char *dir, unsigned wait_seconds,
    struct ferry_tree **out, struct ferry_error *err)
{
	struct ferry_tree *t;
	char name[64];
	int r;

	if (dir == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return FERRY_ERR_NOMEM;
	t->dfd = t->lockfd = t->livefd = t->nextfd = -1;
	if ((t->dir = strdup(dir)) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto fail;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if ((t->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if ((r = take_lock(t, wait_seconds, err)) != 0)
		goto fail;
	if ((mkdirat(t->dfd, STATES, 0755) == -1 && errno != EEXIST) ||
	    (mkdirat(t->dfd, "targets", 0755) == -1 && errno != EEXIST)) {
		r = io_error(err, dir, STATES " or targets");
		goto fail;
	}
	if ((r = read_live(t, err)) != 0 || (r = recover(t, err)) != 0)
		goto fail;
	if (t->live != 0) {
		state_name(t->live, "", name, sizeof(name));
		if ((t->livefd = openat(t->dfd, name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			r = io_error(err, dir, name);
			goto fail;
		}
	}
	*out = t;
	return 0;
 fail:
	ferry_tree_close(t);
	return r;
}

void
ferry_tree_close(struct ferry_tree *t)
{
	if (t == NULL)
		return;
	ferry_tree_abort(t);
	if (t->livefd != -1)
		close(t->livefd);
	if (t->lockfd != -1)
		close(t->lockfd);	/* releases the lock */
	if (t->dfd != -1)
		close(t->dfd);
	free(t->dir);
	free(t);
}

int64_t
ferry_tree_live(const struct ferry_tree *t)
{
	return t->live;
}

const char *
ferry_tree_dir(const struct ferry_tree *t)
{
	return t->dir;
}

/* A metadata file name: no path, nothing hidden. */
static int
name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && name[0] != '.' &&
	    strchr(name, '/') == NULL && strlen(name) < NAME_MAX;
}

int
ferry_tree_read(struct ferry_tree *t, int64_t state, const char *name,
    size_t max, unsigned char **out, size_t *outlen, struct ferry_error *err)
{
	char path[PATH_MAX];
	int r;

	if (!name_ok(name))
		return FERRY_ERR_INVALID_ARG;
	if (state == 0)
		state = t->live;
	if (state == 0)
		return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: nothing "
		    "published yet", t->dir);
	snprintf(path, sizeof(path), "%s/" STATES "/%010" PRId64 "/%s",
	    t->dir, state, name);
	r = ferry_file_read(path, max, out, outlen);
	if (r == FERRY_ERR_IO && errno == ENOENT)
		return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: not "
		    "found", path);
	if (r == FERRY_ERR_IO)
		return ferry_error_set(err, r, "%s: %s", path, strerror(errno));
	if (r != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    ferry_strerror(r));
	return 0;
}

int
ferry_tree_has(struct ferry_tree *t, const char *name)
{
	struct stat st;

	if (!name_ok(name))
		return FERRY_ERR_INVALID_ARG;
	if (t->livefd == -1)
		return 0;
	if (fstatat(t->livefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISREG(st.st_mode) ? 1 : 0;
	return errno == ENOENT ? 0 : FERRY_ERR_IO;
}

int
ferry_tree_begin(struct ferry_tree *t, struct ferry_error *err)
{
	char name[64];
	int r;

	if (t->next != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: a "
		    "state is already being built", t->dir);
	if (t->live == INT64_MAX || t->live >= 9999999999)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: no "
		    "state numbers left", t->dir);
	state_name(t->live + 1, ".tmp", name, sizeof(name));
	if (mkdirat(t->dfd, name, 0755) == -1)
		return io_error(err, t->dir, name);
	t->next = t->live + 1;
	if ((t->nextfd = openat(t->dfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		r = io_error(err, t->dir, name);
		ferry_tree_abort(t);
		return r;
	}
	if ((r = ferry_batch_new(&t->batch)) != 0) {
		ferry_tree_abort(t);
		return r;
	}
	return 0;
}

static void
free_extras(struct ferry_tree *t)
{
	size_t i;

	for (i = 0; i < t->nextra; i++) {
		free(t->extra[i].from);
		free(t->extra[i].to);
	}
	free(t->extra);
	t->extra = NULL;
	t->nextra = t->extracap = 0;
}

void
ferry_tree_abort(struct ferry_tree *t)
{
	char name[64];

	if (t == NULL || t->next == 0)
		return;
	ferry_batch_free(t->batch);	/* removes the temporaries */
	t->batch = NULL;
	free_extras(t);
	if (t->nextfd != -1)
		close(t->nextfd);
	t->nextfd = -1;
	state_name(t->next, ".tmp", name, sizeof(name));
	(void)remove_flat(t->dfd, name);
	t->next = 0;
}

int
ferry_tree_link(struct ferry_tree *t, const char *name,
    struct ferry_error *err)
{
	if (!name_ok(name) || t->next == 0 || t->livefd == -1)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: cannot "
		    "link \"%s\" into the next state", t->dir, name);
	if (linkat(t->livefd, name, t->nextfd, name, 0) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s/metadata/%s: "
		    "%s", t->dir, name, strerror(errno));
	return 0;
}

int
ferry_tree_put(struct ferry_tree *t, const char *name, const void *buf,
    size_t len, struct ferry_error *err)
{
	char path[PATH_MAX];
	int r;

	if (!name_ok(name) || t->next == 0 ||
	    strcmp(name, "timestamp.json") == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: cannot "
		    "put \"%s\" into the next state", t->dir, name);
	snprintf(path, sizeof(path), "%s/" STATES "/%010" PRId64 ".tmp/%s",
	    t->dir, t->next, name);
	if ((r = ferry_batch_add(t->batch, path, buf, len, 0644)) != 0)
		return ferry_error_set(err, r, "%s: %s", path, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	return 0;
}

/* fsync a directory under the tree. */
static int
sync_dir(int pfd, const char *name)
{
	int fd, r;

	if ((fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/*
 * Give target file from the second name to, replacing whatever was there
 * (a copy stored before, or a link to one) so that every name of a file
 * stays one inode.
 */
static int
link_name(const char *from, const char *to)
{
	struct stat a, b;
	char *tmp, *base;
	size_t n;
	int r;

	if (link(from, to) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(from, &a) == -1 || lstat(to, &b) == -1)
		return -1;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	n = strlen(to) + sizeof(".") + sizeof(".tmp.") + 8;
	if ((tmp = malloc(n)) == NULL)
		return -1;
	base = strrchr(to, '/');	/* always there: TREE/targets/... */
	snprintf(tmp, n, "%.*s.%s.tmp.%08x", (int)(base - to + 1), to,
	    base + 1, randombytes_random());
	if ((r = link(from, tmp)) == 0 && (r = rename(tmp, to)) == -1) {
		int saved = errno;

		(void)unlink(tmp);
		errno = saved;
	}
	free(tmp);
	return r;
}

/* Second names of target files: link, then fsync each directory. */
static int
link_extras(struct ferry_tree *t, struct ferry_error *err)
{
	char *slash;
	size_t i;

	for (i = 0; i < t->nextra; i++)
		if (link_name(t->extra[i].from, t->extra[i].to) == -1)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    t->extra[i].to, strerror(errno));
	for (i = 0; i < t->nextra; i++) {
		if ((slash = strrchr(t->extra[i].to, '/')) == NULL)
			continue;
		*slash = '\0';
		if (sync_dir(AT_FDCWD, t->extra[i].to) == -1) {
			int r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    t->extra[i].to, strerror(errno));
			*slash = '/';
			return r;
		}
		*slash = '/';
	}
	return 0;
}

int
ferry_tree_switch(struct ferry_tree *t, const void *timestamp, size_t len,
    struct ferry_error *err)
{
	char tmpname[64], name[64], swap[64], path[PATH_MAX];
	int r, fd;

	if (t->next == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: no "
		    "state is being built", t->dir);
	/* Every file of the state and every new target, durable first. */
	if ((r = ferry_batch_commit(t->batch)) != 0)
		return ferry_error_set(err, r, "%s: %s", t->dir,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	if ((r = link_extras(t, err)) != 0)
		return r;
	/* timestamp.json last, and durable too. */
	state_name(t->next, ".tmp", tmpname, sizeof(tmpname));
	snprintf(path, sizeof(path), "%s/%s/timestamp.json", t->dir, tmpname);
	if ((r = ferry_file_write_atomic(path, timestamp, len, 0644)) != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	state_name(t->next, "", name, sizeof(name));
	snprintf(swap, sizeof(swap), SWAP_PREFIX "%08x", randombytes_random());
	if (renameat(t->dfd, tmpname, t->dfd, name) == -1)
		return io_error(err, t->dir, name);
	if (sync_dir(t->dfd, STATES) == -1) {
		r = io_error(err, t->dir, STATES);
		goto unswitched;
	}
	if (symlinkat(name, t->dfd, swap) == -1) {
		r = io_error(err, t->dir, swap);
		goto unswitched;
	}
	if (renameat(t->dfd, swap, t->dfd, "metadata") == -1) {
		r = io_error(err, t->dir, "metadata");
		(void)unlinkat(t->dfd, swap, 0);
		goto unswitched;
	}
	/*
	 * Published: the state is the live one now, whatever follows.  A
	 * failed fsync of the tree is still reported, as the switch might
	 * not survive a crash.
	 */
	r = fsync(t->dfd) == -1 ? io_error(err, t->dir, ".") : 0;
	if ((fd = openat(t->dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 && r == 0)
		r = io_error(err, t->dir, name);
	if (t->livefd != -1)
		close(t->livefd);
	t->livefd = fd;
	t->live = t->next;
	close(t->nextfd);
	t->nextfd = -1;
	t->next = 0;
	ferry_batch_free(t->batch);
	t->batch = NULL;
	free_extras(t);
	return r;
 unswitched:
	/* Back to being built, for ferry_tree_abort() to remove. */
	if (renameat(t->dfd, name, t->dfd, tmpname) == -1)
		(void)remove_flat(t->dfd, name);
	return r;
}

int
ferry_tree_target_path_ok(const char *path, struct ferry_error *err)
{
	const char *p, *c;
	size_t n;

	if (path == NULL || *path == '\0')
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "target path is empty");
	if (strlen(path) > TARGET_PATH_MAX)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "target "
		    "path is longer than %d bytes", TARGET_PATH_MAX);
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "target path \"%s\": control byte or backslash",
			    path);
	for (c = path;; c = p + 1) {
		p = strchr(c, '/');
		n = p != NULL ? (size_t)(p - c) : strlen(c);
		if (n == 0 || c[0] == '.')
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "target path \"%s\": %s", path, n == 0 ?
			    "empty component (or a leading slash)" :
			    "a component starts with '.' (cannot be served)");
		/* Room for 128 hex digits, a dot, and a temporary's suffix. */
		if (n > NAME_MAX - 155)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "target path \"%s\": a component is too long",
			    path);
		if (p == NULL)
			break;
	}
	return 0;
}

/*
 * TREE/targets/DIR/HEX.BASE for one digest.  The hex must be lowercase
 * hex: it becomes part of a file name.
 */
static int
target_file(const struct ferry_tree *t, const char *path, const char *hex,
    char *out, size_t len)
{
	const char *base = strrchr(path, '/'), *h;
	int n;

	if (*hex == '\0' || strlen(hex) > 2 * FERRY_HASH_MAX)
		return FERRY_ERR_HASH_MISMATCH;
	for (h = hex; *h != '\0'; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return FERRY_ERR_HASH_MISMATCH;
	if (base == NULL)
		n = snprintf(out, len, "%s/targets/%s.%s", t->dir, hex, path);
	else
		n = snprintf(out, len, "%s/targets/%.*s/%s.%s", t->dir,
		    (int)(base - path), path, hex, base + 1);
	return n < 0 || (size_t)n >= len ? FERRY_ERR_INVALID_ARG : 0;
}

int
ferry_tree_target_has(struct ferry_tree *t, const char *path,
    const json_t *hashes, uint64_t length, struct ferry_error *err)
{
	char file[PATH_MAX];
	const char *alg;
	struct stat st;
	json_t *v;
	int r;

	if ((r = ferry_tree_target_path_ok(path, err)) != 0)
		return r;
	if (!json_is_object(hashes) || json_object_size(hashes) == 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "target "
		    "\"%s\": no hashes", path);
	json_object_foreach((json_t *)hashes, alg, v) {
		enum ferry_hash_alg a;

		/*
		 * A name we cannot check is no proof the image is here
		 * (and ferry_tree_target_put() refuses it too).
		 */
		if (ferry_hash_alg_from_name(alg, &a) != 0)
			return ferry_error_set(err, FERRY_ERR_HASH_UNSUPPORTED,
			    "target \"%s\": hashes.%.64s: unsupported hash "
			    "algorithm", path, alg);
		if (!json_is_string(v) || target_file(t, path,
		    json_string_value(v), file, sizeof(file)) != 0)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "target \"%s\": hashes.%s is not a hex digest",
			    path, alg);
		if (stat(file, &st) == -1) {
			if (errno == ENOENT)
				return 0;
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    file, strerror(errno));
		}
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != length)
			return 0;
	}
	return 1;
}

/* mkdir -p the directories of TREE/targets/DIR for a target path. */
static int
make_dirs(struct ferry_tree *t, const char *path, struct ferry_error *err)
{
	char rel[PATH_MAX];
	char *p;

	if (snprintf(rel, sizeof(rel), "targets/%s", path) >= (int)sizeof(rel))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "target "
		    "path \"%s\" is too long", path);
	for (p = strchr(rel + 8, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(t->dfd, rel, 0755) == -1 && errno != EEXIST)
			return io_error(err, t->dir, rel);
		*p = '/';
	}
	return 0;
}

static int
add_extra(struct ferry_tree *t, const char *from, const char *to)
{
	struct extra *n;

	if (t->nextra == t->extracap) {
		size_t cap = t->extracap ? 2 * t->extracap : 8;

		if ((n = realloc(t->extra, cap * sizeof(*n))) == NULL)
			return FERRY_ERR_NOMEM;
		t->extra = n;
		t->extracap = cap;
	}
	if ((t->extra[t->nextra].from = strdup(from)) == NULL)
		return FERRY_ERR_NOMEM;
	if ((t->extra[t->nextra].to = strdup(to)) == NULL) {
		free(t->extra[t->nextra].from);
		return FERRY_ERR_NOMEM;
	}
	t->nextra++;
	return 0;
}

/* Forget the last n second names queued (a target that failed). */
static void
drop_extras(struct ferry_tree *t, size_t n)
{
	while (n-- > 0 && t->nextra > 0) {
		t->nextra--;
		free(t->extra[t->nextra].from);
		free(t->extra[t->nextra].to);
	}
}

/* Copy fd into a, hashing, refusing a byte past length. */
static int
copy_in(struct ferry_atomic *a, struct ferry_hashset *hs, int fd,
    uint64_t length, const char *path, struct ferry_error *err)
{
	unsigned char *buf;
	uint64_t total = 0;
	ssize_t n;
	int r = 0;

	if ((buf = malloc(COPY_BUF)) == NULL)
		return FERRY_ERR_NOMEM;
	for (;;) {
		n = read(fd, buf, COPY_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = ferry_error_set(err, FERRY_ERR_IO, "target \"%s\": "
			    "reading the image: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > length) {
			r = ferry_error_set(err, FERRY_ERR_LENGTH_MISMATCH,
			    "target \"%s\": the image is longer than the %"
			    PRIu64 " bytes its metadata gives", path, length);
			break;
		}
		if ((r = ferry_hashset_update(hs, buf, (size_t)n)) != 0 ||
		    (r = ferry_atomic_write(a, buf, (size_t)n)) != 0) {
			r = ferry_error_set(err, r, "target \"%s\": %s", path,
			    r == FERRY_ERR_IO ? strerror(errno) :
			    ferry_strerror(r));
			break;
		}
	}
	free(buf);
	if (r == 0 && total != length)
		r = ferry_error_set(err, FERRY_ERR_LENGTH_MISMATCH, "target "
		    "\"%s\": the image has %" PRIu64 " bytes, its metadata "
		    "says %" PRIu64, path, total, length);
	return r;
}

int
ferry_tree_target_put(struct ferry_tree *t, const char *path,
    const json_t *hashes, uint64_t length, int fd, struct ferry_error *err)
{
	struct ferry_hashset *hs = NULL;
	struct ferry_atomic *a = NULL;
	char first[PATH_MAX], file[PATH_MAX];
	const char *alg;
	struct ferry_error herr = { 0 };
	json_t *v;
	int r, i = 0;

	if (t->next == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: no "
		    "state is being built", t->dir);
	if ((r = ferry_tree_target_path_ok(path, err)) != 0)
		return r;
	if ((r = ferry_hashset_new(hashes, &hs, &herr)) != 0)
		return ferry_error_set(err, r, "target \"%s\": %s", path,
		    ferry_error_msg(&herr));
	json_object_foreach((json_t *)hashes, alg, v) {
		if (target_file(t, path, json_string_value(v), i == 0 ? first :
		    file, PATH_MAX) != 0) {
			r = ferry_error_set(err, FERRY_ERR_META_FIELD, "target "
			    "\"%s\": hashes.%s is not a hex digest", path, alg);
			goto out;
		}
		if (i++ > 0 && (r = add_extra(t, first, file)) != 0)
			goto out;
	}
	if ((r = make_dirs(t, path, err)) != 0)
		goto out;
	if ((r = ferry_atomic_open(first, 0644, &a)) != 0) {
		r = ferry_error_set(err, r, "%s: %s", first, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
		goto out;
	}
	if ((r = copy_in(a, hs, fd, length, path, err)) != 0)
		goto out;
	if ((r = ferry_hashset_verify(hs, &herr)) != 0) {
		r = ferry_error_set(err, r, "target \"%s\": the image does not "
		    "match its metadata: %s", path, ferry_error_msg(&herr));
		goto out;
	}
	r = ferry_batch_add_atomic(t->batch, a);
	a = NULL;	/* transferred, even on failure */
	if (r != 0)
		r = ferry_error_set(err, r, "%s: %s", first, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
 out:
	if (r != 0) {
		/* The names queued for this target go with it. */
		drop_extras(t, i > 0 ? (size_t)i - 1 : 0);
	}
	ferry_atomic_free(a);
	ferry_hashset_free(hs);
	return r;
}

int
ferry_tree_target_link(struct ferry_tree *t, const char *path,
    const json_t *hashes, uint64_t length, const char *src,
    struct ferry_error *err)
{
	struct ferry_atomic *a = NULL;
	char first[PATH_MAX], file[PATH_MAX];
	struct stat st;
	const char *alg;
	json_t *v;
	int r, fd, i = 0;

	if (t->next == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: no "
		    "state is being built", t->dir);
	if ((r = ferry_tree_target_path_ok(path, err)) != 0)
		return r;
	if (stat(src, &st) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", src,
		    strerror(errno));
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != length)
		return ferry_error_set(err, FERRY_ERR_LENGTH_MISMATCH, "target "
		    "\"%s\": %s is not a file of %" PRIu64 " bytes", path, src,
		    length);
	json_object_foreach((json_t *)hashes, alg, v) {
		if (target_file(t, path, json_string_value(v), i == 0 ? first :
		    file, PATH_MAX) != 0) {
			r = ferry_error_set(err, FERRY_ERR_META_FIELD, "target "
			    "\"%s\": hashes.%s is not a hex digest", path, alg);
			goto undo;
		}
		if (i++ > 0 && (r = add_extra(t, first, file)) != 0)
			goto undo;
	}
	if (i == 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "target "
		    "\"%s\": no hashes", path);
	if ((r = make_dirs(t, path, err)) != 0)
		goto undo;
	if ((r = ferry_atomic_link(first, src, &a)) != 0) {
		if (r != FERRY_ERR_IO || errno != EXDEV) {
			r = ferry_error_set(err, r, "%s: %s", first,
			    r == FERRY_ERR_IO ? strerror(errno) :
			    ferry_strerror(r));
			goto undo;
		}
		/* Another file system: copied, and checked as it is. */
		drop_extras(t, i > 0 ? (size_t)i - 1 : 0);
		if ((fd = open(src, O_RDONLY | O_CLOEXEC)) == -1)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    src, strerror(errno));
		r = ferry_tree_target_put(t, path, hashes, length, fd, err);
		close(fd);
		return r;
	}
	r = ferry_batch_add_atomic(t->batch, a);
	if (r != 0)
		r = ferry_error_set(err, r, "%s: %s", first, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	else
		return 0;
 undo:
	drop_extras(t, i > 0 ? (size_t)i - 1 : 0);
	return r;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int
ferry_tree_states(struct ferry_tree *t, int64_t **out, size_t *n,
    struct ferry_error *err)
{
	struct dirent *de;
	int64_t *v = NULL, *nv, num;
	size_t cnt = 0, cap = 0;
	DIR *d;
	int fd;

	if ((fd = openat(t->dfd, STATES, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return io_error(err, t->dir, STATES);
	}
	while ((de = readdir(d)) != NULL) {
		if ((num = state_number(de->d_name, "")) == 0)
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				closedir(d);
				free(v);
				return FERRY_ERR_NOMEM;
			}
			v = nv;
		}
		v[cnt++] = num;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), cmp_i64);
	*out = v;
	*n = cnt;
	return 0;
}

int
ferry_tree_state_time(struct ferry_tree *t, int64_t state, int64_t *when,
    struct ferry_error *err)
{
	char name[96];
	struct stat st;

	snprintf(name, sizeof(name), STATES "/%010" PRId64 "/timestamp.json",
	    state);
	if (fstatat(t->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return io_error(err, t->dir, name);
	*when = (int64_t)st.st_mtim.tv_sec;
	return 0;
}

int
ferry_tree_state_remove(struct ferry_tree *t, int64_t state,
    struct ferry_error *err)
{
	char name[64];

	if (state == t->live || state == t->next)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: state "
		    "%" PRId64 " is in use", t->dir, state);
	state_name(state, "", name, sizeof(name));
	if (remove_flat(t->dfd, name) != 0)
		return io_error(err, t->dir, name);
	return 0;
}

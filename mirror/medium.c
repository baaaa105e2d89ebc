/*
 * Removable media, shared by export and import: digests read back from
 * the device rather than the page cache, and the check of a medium
 * against its manifest (which manifest.c reads and writes).
 *
 * The manifest says what was written, so that a damaged stick is caught
 * and named before anything else; it is never trusted for anything
 * else.  What an import accepts is decided by the TUF verification
 * alone (mirror_sync()).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "mirror/mirror.h"

#define PROGRESS_BAR 20	/* characters of the bar */

#define DIGEST_CHUNK (256u * 1024)
#define CHECK_SHOWN 20		/* problems named one by one */

int
mirror_digest_fd(int fd, const char *name, uint64_t *len, char hex[65],
    struct ferry_error *err)
{
	struct ferry_hash *h = NULL;
	unsigned char *buf = NULL, md[FERRY_HASH_MAX];
	uint64_t n = 0;
	size_t mdlen;
	ssize_t got;
	int r;

	/* What was written and synced: drop the cache, read the device. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if ((buf = malloc(DIGEST_CHUNK)) == NULL ||
	    (r = ferry_hash_new(FERRY_HASH_SHA256, &h)) != 0) {
		r = FERRY_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		got = read(fd, buf, DIGEST_CHUNK);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", name,
			    strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		if ((r = ferry_hash_update(h, buf, (size_t)got)) != 0)
			goto out;
		n += (uint64_t)got;
	}
	if ((r = ferry_hash_final(h, md, &mdlen)) != 0)
		goto out;
	ferry_hex_encode(md, mdlen, hex);
	*len = n;
	r = 0;
 out:
	ferry_hash_free(h);
	free(buf);
	return r;
}

/*
 * Open rel beneath dirfd for reading, with no symbolic link on the way
 * (a medium holds none; one could lead the check anywhere).
 */
static int
open_medium_file(int dirfd, const char *rel)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd == -1 && errno == ENOSYS)
		fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK | O_NOFOLLOW);
	return (int)fd;
}

/* One file against its entry: 0, 1 if it differs (said why), or < 0. */
static int
check_one(int dirfd, const char *label, const struct mirror_medium_file *f,
    int shown, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	struct stat st;
	uint64_t len;
	char hex[65], why[200];
	int fd, r;

	if ((fd = open_medium_file(dirfd, f->path)) == -1)
		snprintf(why, sizeof(why), "%s", errno == ENOENT ? "missing" :
		    errno == ELOOP || errno == EXDEV ? "reached through a "
		    "symbolic link" : strerror(errno));
	else if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		snprintf(why, sizeof(why), "not a regular file");
	else if ((r = mirror_digest_fd(fd, f->path, &len, hex, &e)) != 0) {
		if (r != FERRY_ERR_IO) {
			close(fd);
			return ferry_error_set(err, r, "%s", ferry_strerror(r));
		}
		snprintf(why, sizeof(why), "%s", ferry_error_msg(&e));
	} else if (len != f->length)
		snprintf(why, sizeof(why), "%" PRIu64 " bytes, %s says %"
		    PRIu64, len, MIRROR_MANIFEST, f->length);
	else if (strcmp(hex, f->sha256) != 0)
		snprintf(why, sizeof(why), "sha256 %.16s..., %s says "
		    "%.16s...", hex, MIRROR_MANIFEST, f->sha256);
	else {
		close(fd);
		return 0;
	}
	if (fd != -1)
		close(fd);
	if (shown < CHECK_SHOWN)
		mirror_failf("%s%s: %s%s", label, f->path, why,
		    strcmp(why, "missing") == 0 ? " (listed in "
		    MIRROR_MANIFEST ")" : "");
	return 1;
}

int
mirror_medium_check(const char *dir, const char *label,
    const struct mirror_manifest *m, int quiet, struct ferry_error *err)
{
	uint64_t done = 0;
	size_t i;
	int dirfd, r, bad = 0;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", dir,
		    strerror(errno));
	for (i = 0; i < m->nfiles; i++) {
		if (!quiet)
			mirror_progress("checking", done, m->bytes, done,
			    i, m->nfiles, 0);
		if ((r = check_one(dirfd, label, &m->files[i], bad,
		    err)) < 0) {
			bad = r;
			break;
		}
		bad += r;
		done += m->files[i].length;
	}
	if (!quiet)
		mirror_progress(NULL, 0, 0, 0, 0, 0, 1);
	if (bad > CHECK_SHOWN)
		mirror_failf("%s: and %d more files differ", label,
		    bad - CHECK_SHOWN);
	close(dirfd);
	return bad;
}

/* Remove DIR/media/PREFIX.PID.* of processes that are gone. */
static void
media_sweep(const char *media, const char *prefix)
{
	char path[PATH_MAX + 256], *end;
	struct dirent *de;
	size_t n = strlen(prefix);
	long pid;
	DIR *d;

	if ((d = opendir(media)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, n) != 0 ||
		    de->d_name[n] != '.')
			continue;
		errno = 0;
		pid = strtol(de->d_name + n + 1, &end, 10);
		if (errno != 0 || *end != '.' || pid <= 0 || pid == getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", media, de->d_name);
		(void)ferry_file_rmtree(path);
	}
	closedir(d);
}

int
mirror_media_tmp(const char *dir, const char *prefix, char *out,
    size_t outlen, struct ferry_error *err)
{
	char media[PATH_MAX], *abs;

	snprintf(media, sizeof(media), "%s/media", dir);
	if (mkdir(media, 0700) == -1 && errno != EEXIST)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", media,
		    strerror(errno));
	media_sweep(media, prefix);
	if ((abs = realpath(media, NULL)) == NULL)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", media,
		    strerror(errno));
	snprintf(out, outlen, "%s/%s.%ld.XXXXXX", abs, prefix,
	    (long)getpid());
	free(abs);
	if (mkdtemp(out) == NULL) {
		ferry_error_set(err, FERRY_ERR_IO, "%s: %s", out,
		    strerror(errno));
		out[0] = '\0';
		return FERRY_ERR_IO;
	}
	return 0;
}

/* Milliseconds from a to b. */
static int64_t
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

void
mirror_progress(const char *what, uint64_t done, uint64_t total,
    uint64_t moved, size_t files, size_t nfiles, int last)
{
	static struct timespec start, prev;
	static const char *cur;
	static int tty, drawn;
	struct timespec now;
	char bar[PROGRESS_BAR + 1], eta[32];
	double secs, rate, left;
	size_t n;

	if (last) {
		if (drawn && tty)
			fputs("\r\033[K", stderr);
		drawn = 0;
		cur = NULL;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (cur == NULL || strcmp(cur, what) != 0) {
		/* A new piece of work: its own clock and rate. */
		cur = what;
		start = prev = now;
		tty = isatty(STDERR_FILENO);
		drawn = 0;
	}
	/* A terminal's line five times a second; a log's every 10 s. */
	if (tty ? drawn && ms_between(&prev, &now) < 200 :
	    ms_between(&prev, &now) < 10000)
		return;
	prev = now;
	drawn = 1;
	if (done > total)
		done = total;
	secs = (double)ms_between(&start, &now) / 1000;
	rate = secs >= 0.5 ? (double)moved / secs : 0;
	left = rate > 0 ? (double)(total - done) / rate : -1;
	if (left < 0 || left > 359999)
		snprintf(eta, sizeof(eta), "--:--");
	else if (left >= 3600)
		snprintf(eta, sizeof(eta), "%d:%02d:%02d", (int)left / 3600,
		    (int)left / 60 % 60, (int)left % 60);
	else
		snprintf(eta, sizeof(eta), "%d:%02d", (int)left / 60,
		    (int)left % 60);
	n = total > 0 ? (size_t)((double)done / (double)total *
	    PROGRESS_BAR) : PROGRESS_BAR;
	memset(bar, '#', n);
	memset(bar + n, '-', PROGRESS_BAR - n);
	bar[PROGRESS_BAR] = '\0';
	if (tty)
		fprintf(stderr, "\r\033[K%s [%s] %zu/%zu files, %.1f/%.1f "
		    "MiB, %.1f MiB/s, ETA %s", what, bar, files, nfiles,
		    (double)done / (1024 * 1024), (double)total / (1024 * 1024),
		    rate / (1024 * 1024), eta);
	else
		fprintf(stderr, "ferry-mirror: %s: %zu/%zu files, %.1f/%.1f "
		    "MiB, %.1f MiB/s, ETA %s\n", what, files, nfiles,
		    (double)done / (1024 * 1024), (double)total / (1024 * 1024),
		    rate / (1024 * 1024), eta);
}

/*
 * Removable media, shared by export and import: the manifest of an
 * export (ferry-export.json), digests read back from the device rather
 * than the page cache, and the check of a medium against its manifest.
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

#include <jansson.h>

#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "mirror/mirror.h"

#define PROGRESS_BAR 20	/* characters of the bar */

#define DIGEST_CHUNK (256u * 1024)
#define MEDIUM_PATH_MAX 1024	/* bytes in a path on the medium */
#define CHECK_SHOWN 20		/* problems named one by one */

int
mirror_manifest_add(struct mirror_manifest *m, const char *path,
    const char *src, uint64_t length)
{
	struct mirror_medium_file *f;
	size_t ncap;

	if (m->nfiles == m->cap) {
		ncap = m->cap ? m->cap * 2 : 64;
		if ((f = reallocarray(m->files, ncap, sizeof(*f))) == NULL)
			return FERRY_ERR_NOMEM;
		m->files = f;
		m->cap = ncap;
	}
	f = &m->files[m->nfiles];
	memset(f, 0, sizeof(*f));
	if ((f->path = strdup(path)) == NULL ||
	    (src != NULL && (f->src = strdup(src)) == NULL)) {
		free(f->path);
		return FERRY_ERR_NOMEM;
	}
	f->length = length;
	m->nfiles++;
	m->bytes += length;
	return 0;
}

static int
file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mirror_medium_file *)a)->path,
	    ((const struct mirror_medium_file *)b)->path);
}

void
mirror_manifest_sort(struct mirror_manifest *m)
{
	if (m->nfiles > 1)
		qsort(m->files, m->nfiles, sizeof(m->files[0]), file_cmp);
}

const struct mirror_medium_file *
mirror_manifest_find(const struct mirror_manifest *m, const char *path)
{
	struct mirror_medium_file key;

	if (m->nfiles == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.path = (char *)path;
	return bsearch(&key, m->files, m->nfiles, sizeof(m->files[0]),
	    file_cmp);
}

void
mirror_manifest_free(struct mirror_manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].src);
	}
	free(m->files);
	free(m->host);
	free(m->dir);
	memset(m, 0, sizeof(*m));
}

int
mirror_manifest_dump(const struct mirror_manifest *m, char **out,
    size_t *outlen, struct ferry_error *err)
{
	json_t *doc, *files, *f;
	char *s = NULL;
	size_t i;
	int r = FERRY_ERR_NOMEM;

	files = json_array();
	doc = json_pack("{s:s, s:i, s:s, s:{s:s, s:s, s:I}, s:I, s:I, s:I, "
	    "s:s, s:I}", "_type", "ferry-export", "format", 1, "created",
	    m->created, "mirror", "host", m->host, "dir", m->dir, "state",
	    (json_int_t)m->state, "root_version",
	    (json_int_t)m->root_version, "snapshot_version",
	    (json_int_t)m->snapshot_version, "timestamp_version",
	    (json_int_t)m->timestamp_version, "timestamp_expires",
	    m->timestamp_expires, "bytes", (json_int_t)m->bytes);
	if (doc == NULL || files == NULL)
		goto out;
	for (i = 0; i < m->nfiles; i++) {
		f = json_pack("{s:s, s:I, s:s}", "path", m->files[i].path,
		    "length", (json_int_t)m->files[i].length, "sha256",
		    m->files[i].sha256);
		if (f == NULL || json_array_append_new(files, f) != 0)
			goto out;
	}
	if (json_object_set(doc, "files", files) != 0)
		goto out;
	/* Indented, keys sorted: an operator can read and diff it. */
	if ((s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII)) == NULL)
		goto out;
	*out = s;
	*outlen = strlen(s);
	s = NULL;	/* transferred */
	r = 0;
 out:
	if (r != 0)
		ferry_error_set(err, r, "the manifest: %s", ferry_strerror(r));
	free(s);
	json_decref(files);
	json_decref(doc);
	return r;
}

/*
 * A path an export may hold: under metadata/, targets/ or roots/, with
 * components that are not empty, ".", "..", nor start with a dot (no
 * temporaries), no control bytes or backslashes.
 */
static int
path_ok(const char *p)
{
	const char *c;
	size_t n = strlen(p);

	if (n == 0 || n > MEDIUM_PATH_MAX ||
	    (strncmp(p, "metadata/", 9) != 0 &&
	    strncmp(p, "targets/", 8) != 0 && strncmp(p, "roots/", 6) != 0))
		return 0;
	for (c = p; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return 0;
	for (c = p;; c++) {
		if (*c == '/' || *c == '\0' || *c == '.')
			return 0;
		if ((c = strchr(c, '/')) == NULL)
			return 1;
	}
}

/* A string of 1 to MEDIUM_PATH_MAX bytes with no control byte. */
static int
printable(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || strlen(s) > MEDIUM_PATH_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
get_version(json_t *doc, const char *key, const char *name, int64_t *out,
    struct ferry_error *err)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: %s: "
		    "must be an integer >= 1", name, key);
	*out = json_integer_value(v);
	return 0;
}

static int
get_time(json_t *doc, const char *key, const char *name, char *out,
    size_t outlen, struct ferry_error *err)
{
	const char *s = ferry_json_cstr(json_object_get(doc, key));
	int64_t t;

	if (s == NULL || ferry_meta_parse_time(s, &t) != 0 ||
	    strlen(s) >= outlen)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: %s: "
		    "must be a time, YYYY-MM-DDTHH:MM:SSZ", name, key);
	snprintf(out, outlen, "%s", s);
	return 0;
}

/* The fields of an entry of "files", each checked. */
static int
parse_file(json_t *e, size_t i, const char *name, struct mirror_manifest *m,
    struct ferry_error *err)
{
	const char *path, *sha, *key;
	json_t *v;
	size_t n = 0;
	int r;

	if (!json_is_object(e))
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
		    "files[%zu]: must be an object", name, i);
	json_object_foreach(e, key, v)
		if (strcmp(key, "path") != 0 && strcmp(key, "length") != 0 &&
		    strcmp(key, "sha256") != 0)
			return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
			    "files[%zu]: unknown key \"%.64s\"", name, i, key);
	path = ferry_json_cstr(json_object_get(e, "path"));
	sha = ferry_json_cstr(json_object_get(e, "sha256"));
	v = json_object_get(e, "length");
	if (path == NULL || !path_ok(path))
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
		    "files[%zu].path: must be a relative path under "
		    "metadata/, targets/ or roots/, with no empty, \".\", "
		    "\"..\" or hidden component", name, i);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
		    "files[%zu].length: must be an integer >= 0", name, i);
	if (sha != NULL)
		n = strspn(sha, "0123456789abcdef");
	if (sha == NULL || n != 64 || sha[n] != '\0')
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
		    "files[%zu].sha256: must be 64 lowercase hex digits",
		    name, i);
	if (m->nfiles > 0 && strcmp(m->files[m->nfiles - 1].path, path) >= 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
		    "files[%zu].path: \"%.200s\" is out of order or repeated",
		    name, i, path);
	if ((r = mirror_manifest_add(m, path, NULL,
	    (uint64_t)json_integer_value(v))) != 0)
		return r;
	memcpy(m->files[m->nfiles - 1].sha256, sha, 65);
	return 0;
}

/* The top-level fields but "files". */
static int
parse_head(json_t *doc, const char *name, struct mirror_manifest *m,
    struct ferry_error *err)
{
	static const char *const keys[] = { "_type", "format", "created",
	    "mirror", "root_version", "snapshot_version", "timestamp_version",
	    "timestamp_expires", "bytes", "files" };
	const char *key, *s;
	json_t *v, *mir;
	size_t i;
	int r;

	json_object_foreach(doc, key, v) {
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0]))
			return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
			    "unknown key \"%.64s\"", name, key);
	}
	s = ferry_json_cstr(json_object_get(doc, "_type"));
	if (s == NULL || strcmp(s, "ferry-export") != 0)
		return ferry_error_set(err, FERRY_ERR_META_TYPE, "%s: _type: "
		    "must be \"ferry-export\"", name);
	v = json_object_get(doc, "format");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: format: "
		    "must be 1 (this ferry-mirror reads format 1 only)", name);
	mir = json_object_get(doc, "mirror");
	v = json_object_get(mir, "state");
	/* Printed to the operator: no control bytes (escape sequences). */
	if (!json_is_object(mir) || json_object_size(mir) != 3 ||
	    !printable(ferry_json_cstr(json_object_get(mir, "host"))) ||
	    !printable(ferry_json_cstr(json_object_get(mir, "dir"))) ||
	    !json_is_integer(v) || json_integer_value(v) < 1)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: mirror: "
		    "must be {\"host\": STRING, \"dir\": STRING, \"state\": "
		    "N >= 1}, the strings of at most %d bytes and no control "
		    "characters", name, MEDIUM_PATH_MAX);
	m->state = json_integer_value(v);
	if ((m->host = strdup(json_string_value(json_object_get(mir,
	    "host")))) == NULL || (m->dir = strdup(json_string_value(
	    json_object_get(mir, "dir")))) == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = get_time(doc, "created", name, m->created,
	    sizeof(m->created), err)) != 0 ||
	    (r = get_time(doc, "timestamp_expires", name,
	    m->timestamp_expires, sizeof(m->timestamp_expires), err)) != 0 ||
	    (r = get_version(doc, "root_version", name, &m->root_version,
	    err)) != 0 ||
	    (r = get_version(doc, "snapshot_version", name,
	    &m->snapshot_version, err)) != 0 ||
	    (r = get_version(doc, "timestamp_version", name,
	    &m->timestamp_version, err)) != 0)
		return r;
	return 0;
}

int
mirror_manifest_parse(const void *buf, size_t len, const char *name,
    struct mirror_manifest *m, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	json_t *doc = NULL, *files, *bytes;
	size_t i;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = ferry_json_parse(buf, len, MIRROR_MANIFEST_MAX, &doc,
	    &e)) != 0)
		return ferry_error_set(err, r, "%s: %s", name,
		    ferry_error_msg(&e));
	if (!json_is_object(doc)) {
		r = ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: not a JSON "
		    "object", name);
		goto out;
	}
	if ((r = parse_head(doc, name, m, err)) != 0)
		goto out;
	files = json_object_get(doc, "files");
	if (!json_is_array(files)) {
		r = ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: files: "
		    "must be an array", name);
		goto out;
	}
	for (i = 0; i < json_array_size(files); i++)
		if ((r = parse_file(json_array_get(files, i), i, name, m,
		    err)) != 0)
			goto out;
	bytes = json_object_get(doc, "bytes");
	if (!json_is_integer(bytes) ||
	    (uint64_t)json_integer_value(bytes) != m->bytes ||
	    json_integer_value(bytes) < 0) {
		r = ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: bytes: "
		    "must be the files' lengths added (%" PRIu64 ")", name,
		    m->bytes);
		goto out;
	}
	r = 0;
 out:
	json_decref(doc);
	if (r != 0)
		mirror_manifest_free(m);
	return r;
}

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

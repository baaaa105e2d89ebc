/*
 * Unit tests for lib/bundle.c: deterministic .tar.zst bundles, and an
 * extractor that refuses hostile ones.  Hostile bundles are built here
 * with libarchive's write API, or as raw tar bytes patched by hand and
 * then compressed, so that each refusal is reached on purpose.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "lib/bundle.h"
#include "lib/err.h"

#define MIB (1024u * 1024u)

struct fx {
	char dir[UNIT_DIR_MAX];
	char src[320];		/* a source tree */
	char out[320];		/* a bundle */
	char dest[320];		/* an extraction target */
};
UNIT_FX_CHECK(struct fx);

/* ---- helpers ---- */

static int
setup(void **state)
{
	struct fx *f = unit_fx_new(state, sizeof(*f), "bundle");

	if (f == NULL)
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/b.tar.zst", f->dir);
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->dir);
	if (mkdir(f->src, 0755) == -1) {
		(void)unit_fx_teardown(state);
		return -1;
	}
	return 0;
}

static void
rm_tree(const char *path)
{
	assert_int_equal(unit_rmtree(path), 0);
}

static void
put(const char *dir, const char *name, const void *buf, size_t len)
{
	char p[2048];
	FILE *fp;

	unit_join(p, sizeof(p), dir, name);
	fp = fopen(p, "wb");
	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
mkd(const char *dir, const char *name)
{
	char p[1024];

	unit_join(p, sizeof(p), dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)st.st_size, fp);
	assert_int_equal(*len, (size_t)st.st_size);
	fclose(fp);
	return buf;
}


/*
 * A description of the tree at root: one line per entry in byte order,
 * "D path" or "F path size fnv".  With exact_modes, every directory must
 * be 0755 and every file 0644.
 */
struct sig {
	char *s;
	size_t len, cap;
};

static void
sig_add(struct sig *g, const char *line)
{
	size_t n = strlen(line);

	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->s = realloc(g->s, g->cap);
		assert_non_null(g->s);
	}
	memcpy(g->s + g->len, line, n + 1);
	g->len += n;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
sig_walk(const char *root, const char *rel, struct sig *g, int exact_modes)
{
	char path[2048], sub[2048], line[2400], *names[256];
	unsigned char *buf;
	struct dirent *de;
	struct stat st;
	uint64_t h;
	size_t n = 0, i, j, len;
	DIR *d;

	if (*rel != '\0')
		unit_join(path, sizeof(path), root, rel);
	else
		snprintf(path, sizeof(path), "%s", root);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_true(n < 256);
		assert_non_null(names[n++] = strdup(de->d_name));
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (*rel != '\0')
			unit_join(sub, sizeof(sub), rel, names[i]);
		else
			snprintf(sub, sizeof(sub), "%s", names[i]);
		unit_join(path, sizeof(path), root, sub);
		assert_int_equal(lstat(path, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			if (exact_modes)
				assert_int_equal(st.st_mode & 07777, 0755);
			snprintf(line, sizeof(line), "D %s\n", sub);
			sig_add(g, line);
			sig_walk(root, sub, g, exact_modes);
		} else {
			assert_true(S_ISREG(st.st_mode));
			if (exact_modes)
				assert_int_equal(st.st_mode & 07777, 0644);
			buf = slurp(path, &len);
			for (h = 0xcbf29ce484222325ULL, j = 0; j < len; j++)
				h = (h ^ buf[j]) * 0x100000001b3ULL;
			free(buf);
			snprintf(line, sizeof(line), "F %s %zu %016llx\n", sub,
			    len, (unsigned long long)h);
			sig_add(g, line);
		}
		free(names[i]);
	}
}

static char *
tree_sig(const char *root, int exact_modes)
{
	struct sig g = { NULL, 0, 0 };

	sig_add(&g, "");
	sig_walk(root, "", &g, exact_modes);
	return g.s;
}

static void
assert_absent(const char *path)
{
	struct stat st;

	errno = 0;
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
assert_msg_has(const struct ferry_error *err, const char *needle)
{
	if (strstr(err->msg, needle) == NULL)
		fail_msg("error detail \"%s\" lacks \"%s\"", err->msg, needle);
}

/*
 * Extraction of f->out must fail with code, a detail holding both
 * needles (NULL: no check), and leave no f->dest behind.
 */
static void
expect_refused(struct fx *f, const struct ferry_bundle_limits *lim, int code,
    const char *needle1, const char *needle2)
{
	struct ferry_error err;
	int r;

	ferry_error_clear(&err);
	r = ferry_bundle_extract(f->out, f->dest, lim, &err);
	if (r != code)
		fail_msg("extract returned %d (%s), wanted %d", r,
		    ferry_error_msg(&err), code);
	assert_int_equal(err.code, code);
	if (needle1 != NULL)
		assert_msg_has(&err, needle1);
	if (needle2 != NULL)
		assert_msg_has(&err, needle2);
	assert_absent(f->dest);
}

static void
extract_ok(struct fx *f, const struct ferry_bundle_limits *lim)
{
	struct ferry_error err;
	int r;

	ferry_error_clear(&err);
	r = ferry_bundle_extract(f->out, f->dest, lim, &err);
	if (r != 0)
		fail_msg("extract: %s", ferry_error_msg(&err));
}

static void
write_ok(const char *src, const char *out)
{
	struct ferry_error err;
	int r;

	ferry_error_clear(&err);
	r = ferry_bundle_write_dir(src, out, &err);
	if (r != 0)
		fail_msg("write: %s", ferry_error_msg(&err));
}

/* ---- hostile bundles, built with libarchive ---- */

/* A zstd-compressed pax-restricted writer to path. */
static struct archive *
hb_open(const char *path)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	return a;
}

/* An entry of type type (AE_IF*); link is a symlink's or hard link's target. */
static void
hb_add(struct archive *a, const char *name, unsigned type, const void *data,
    size_t len, const char *link)
{
	struct archive_entry *e = archive_entry_new();

	assert_non_null(e);
	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
	if (type == AE_IFLNK)
		archive_entry_copy_symlink(e, link);
	else if (link != NULL)
		archive_entry_copy_hardlink(e, link);
	if (type == AE_IFCHR || type == AE_IFBLK) {
		archive_entry_set_rdevmajor(e, 1);
		archive_entry_set_rdevminor(e, 3);
	}
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (type == AE_IFREG && len > 0)
		assert_int_equal(archive_write_data(a, data, len),
		    (la_ssize_t)len);
	archive_entry_free(e);
}

static void
hb_file(struct archive *a, const char *name, const char *text)
{
	hb_add(a, name, AE_IFREG, text, strlen(text), NULL);
}

static void
hb_dir(struct archive *a, const char *name)
{
	hb_add(a, name, AE_IFDIR, NULL, 0, NULL);
}

static void
hb_close(struct archive *a)
{
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

/* ---- raw tar bytes, patched and then compressed ---- */

static unsigned char rawbuf[256 * 1024];

/* An uncompressed ustar writer into rawbuf; *used tracks the length. */
static struct archive *
raw_open(size_t *used)
{
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, rawbuf, sizeof(rawbuf),
	    used), ARCHIVE_OK);
	return a;
}

/* Compress len bytes at buf with zstd, as they are, into path. */
static void
zstd_wrap(const char *path, const void *buf, size_t len)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_non_null(a);
	assert_non_null(e);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (len > 0)
		assert_int_equal(archive_write_data(a, buf, len),
		    (la_ssize_t)len);
	archive_entry_free(e);
	hb_close(a);
}

/* Set a ustar header's type flag and size (-1: keep), fix its checksum. */
static void
tar_patch(unsigned char *h, char type, long size)
{
	char num[32];
	unsigned sum = 0;
	size_t i;

	if (type != 0)
		h[156] = (unsigned char)type;
	if (size >= 0) {
		assert_true(size < 077777777777L);
		snprintf(num, sizeof(num), "%011lo", (unsigned long)size);
		memcpy(h + 124, num, 12);	/* 11 digits and a NUL */
	}
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf(num, sizeof(num), "%06o", sum);
	memcpy(h + 148, num, 7);		/* 6 digits and a NUL */
	h[155] = ' ';
}

/* ---- writing ---- */

static unsigned char binary[100000];

static void
make_tree(const char *src, int reverse)
{
	char longdir[400], longfile[600];
	size_t i;
	char a[130], b[130];

	for (i = 0; i < sizeof(binary); i++)
		binary[i] = (unsigned char)((i * 7919u) ^ (i >> 8));
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memset(b, 'b', sizeof(b) - 1);
	b[sizeof(b) - 1] = '\0';
	snprintf(longdir, sizeof(longdir), "long/%s", a);
	snprintf(longfile, sizeof(longfile), "long/%s/%s.txt", a, b);
	if (!reverse) {
		mkd(src, "a");
		mkd(src, "a/b");
		put(src, "a/b/deep.txt", "deep\n", 5);
		put(src, "a-b", "sorts between a and a/", 22);
		put(src, "empty", "", 0);
		put(src, "bin", binary, sizeof(binary));
		put(src, "with space.txt", "spaced out\n", 11);
		put(src, "caf\xc3\xa9", "utf-8 name\n", 11);
		mkd(src, "z");
		mkd(src, "long");
		mkd(src, longdir);
		put(src, longfile, "long path\n", 10);
	} else {
		mkd(src, "long");
		mkd(src, longdir);
		put(src, longfile, "long path\n", 10);
		mkd(src, "z");
		put(src, "caf\xc3\xa9", "utf-8 name\n", 11);
		put(src, "with space.txt", "spaced out\n", 11);
		put(src, "bin", binary, sizeof(binary));
		put(src, "empty", "", 0);
		put(src, "a-b", "sorts between a and a/", 22);
		mkd(src, "a");
		mkd(src, "a/b");
		put(src, "a/b/deep.txt", "deep\n", 5);
	}
}

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	char *want, *got;
	mode_t old;

	make_tree(f->src, 0);
	write_ok(f->src, f->out);
	assert_int_equal(ferry_bundle_is_bundle(f->out), 1);
	/* Exact modes whatever the umask. */
	old = umask(077);
	extract_ok(f, NULL);
	umask(old);
	want = tree_sig(f->src, 0);
	got = tree_sig(f->dest, 1);
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "F with space.txt 11 "));
	assert_non_null(strstr(got, "F empty 0 "));
	assert_non_null(strstr(got, "D z\n"));
	free(want);
	free(got);
	unit_assert_dir_is(f->dir, "b.tar.zst/dest/src");
}

static void
test_round_trip_empty_tree(void **state)
{
	struct fx *f = *state;

	write_ok(f->src, f->out);
	extract_ok(f, NULL);
	unit_assert_dir_is(f->dest, "");
}

/*
 * Many entries with names at the limit and no data: the tar stream is
 * nearly all headers, and the reader's check on header data per entry
 * must still accept what the writer made.
 */
static void
test_round_trip_long_names(void **state)
{
	struct fx *f = *state;
	struct ferry_bundle_limits lim;
	char comp[256], path[1100], name[300];
	char *want, *got;
	size_t i, len;
	int n;

	memset(comp, 'c', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	snprintf(path, sizeof(path), "%s", f->src);
	/* Three directories of 255 bytes, then 200 names of 230 bytes. */
	for (i = 0; i < 3; i++) {
		len = strlen(path);
		n = snprintf(path + len, sizeof(path) - len, "/%s", comp);
		assert_true(n > 0 && (size_t)n < sizeof(path) - len);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "%03zu%.227s", i, comp);
		put(path, name, "", 0);
	}
	write_ok(f->src, f->out);
	ferry_bundle_limits_default(&lim);
	lim.max_path = 3 * 256 + 230;	/* exactly the longest name */
	lim.max_entries = 203;
	extract_ok(f, &lim);
	want = tree_sig(f->src, 0);
	got = tree_sig(f->dest, 1);
	assert_string_equal(got, want);
	free(want);
	free(got);
	/* One byte less, and the longest names are refused. */
	rm_tree(f->dest);
	lim.max_path--;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "entry 4 ",
	    "longer than the limit of 997 bytes");
}

/* The entries as stored: byte order, normalised attributes. */
static void
test_entries_normalised(void **state)
{
	static const char *const want[] = { "a/", "a-b", "a/b/", "a/b/deep.txt",
	    "bin", "caf\xc3\xa9", "empty", "long/" };
	struct fx *f = *state;
	struct archive *a;
	struct archive_entry *e;
	char prev[1024] = "", cur[1024], exe[512];
	size_t i = 0, len;
	int r;

	make_tree(f->src, 0);
	assert_int_equal(chmod(f->src, 0700), 0);
	put(f->src, "x-exec", "#!/bin/sh\n", 10);
	unit_join(exe, sizeof(exe), f->src, "x-exec");
	assert_int_equal(chmod(exe, 0700), 0);
	write_ok(f->src, f->out);
	assert_non_null(a = archive_read_new());
	assert_int_equal(archive_read_support_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_filename(a, f->out, 10240),
	    ARCHIVE_OK);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		int dir = archive_entry_filetype(e) == AE_IFDIR;

		if (i < sizeof(want) / sizeof(want[0]))
			assert_string_equal(p, want[i]);
		/* Sorted by path; a directory's name ends in '/'. */
		snprintf(cur, sizeof(cur), "%s", p);
		len = strlen(cur);
		if (dir) {
			assert_true(len > 1 && cur[len - 1] == '/');
			cur[len - 1] = '\0';
		}
		assert_true(strcmp(prev, cur) < 0);
		memcpy(prev, cur, sizeof(prev));
		assert_int_equal(archive_entry_mtime(e), 0);
		assert_int_equal(archive_entry_mtime_nsec(e), 0);
		assert_int_equal(archive_entry_uid(e), 0);
		assert_int_equal(archive_entry_gid(e), 0);
		assert_true(archive_entry_uname(e) == NULL ||
		    *archive_entry_uname(e) == '\0');
		assert_true(archive_entry_gname(e) == NULL ||
		    *archive_entry_gname(e) == '\0');
		assert_int_equal(archive_entry_perm(e), dir ? 0755 : 0644);
		assert_int_equal(archive_entry_xattr_count(e), 0);
		assert_null(archive_entry_fflags_text(e));
		i++;
	}
	assert_int_equal(r, ARCHIVE_EOF);
	assert_int_equal(i, 13);
	assert_int_equal(archive_filter_code(a, 0), ARCHIVE_FILTER_ZSTD);
	archive_read_free(a);
}

static void
touch_all(const char *src)
{
	static const char *const names[] = { "a", "a/b", "a/b/deep.txt",
	    "bin", "empty", "z" };
	struct timespec ts[2] = { { 1234567, 0 }, { 7654321, 89 } };
	char p[1024];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		unit_join(p, sizeof(p), src, names[i]);
		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	}
	unit_join(p, sizeof(p), src, "bin");
	assert_int_equal(chmod(p, 0600), 0);
	unit_join(p, sizeof(p), src, "empty");
	assert_int_equal(chmod(p, 0755), 0);
	unit_join(p, sizeof(p), src, "z");
	assert_int_equal(chmod(p, 0700), 0);
	unit_join(p, sizeof(p), src, "a/b");
	assert_int_equal(chmod(p, 0711), 0);
}

/* Same names and contents, same bytes: times, modes, order do not count. */
static void
test_deterministic(void **state)
{
	struct fx *f = *state;
	char out2[512], out3[512], src2[512];
	unsigned char *b1, *b2, *b3;
	size_t n1, n2, n3;

	make_tree(f->src, 0);
	write_ok(f->src, f->out);
	unit_join(out2, sizeof(out2), f->dir, "second.tar.zst");
	write_ok(f->src, out2);
	b1 = slurp(f->out, &n1);
	b2 = slurp(out2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	free(b2);

	/* Other times and modes. */
	touch_all(f->src);
	write_ok(f->src, out2);
	b2 = slurp(out2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	free(b2);

	/* The same tree created in the opposite order, elsewhere. */
	unit_join(src2, sizeof(src2), f->dir, "src2");
	assert_int_equal(mkdir(src2, 0700), 0);
	make_tree(src2, 1);
	unit_join(out3, sizeof(out3), f->dir, "third.tar.zst");
	write_ok(src2, out3);
	b3 = slurp(out3, &n3);
	assert_int_equal(n1, n3);
	assert_memory_equal(b1, b3, n1);
	free(b3);

	/* And a changed byte changes the bundle. */
	put(src2, "empty", "x", 1);
	write_ok(src2, out3);
	b3 = slurp(out3, &n3);
	assert_true(n1 != n3 || memcmp(b1, b3, n1) != 0);
	free(b3);
	free(b1);
}

/* A file with two names is stored twice, as regular files. */
static void
test_write_hardlinks_as_files(void **state)
{
	struct fx *f = *state;
	char p1[512], p2[512];
	char *got;

	put(f->src, "one", "shared\n", 7);
	unit_join(p1, sizeof(p1), f->src, "one");
	unit_join(p2, sizeof(p2), f->src, "two");
	assert_int_equal(link(p1, p2), 0);
	write_ok(f->src, f->out);
	extract_ok(f, NULL);
	got = tree_sig(f->dest, 1);
	assert_non_null(strstr(got, "F one 7 "));
	assert_non_null(strstr(got, "F two 7 "));
	free(got);
}

/* A refused write leaves nothing: no bundle, no temporary. */
static void
expect_write_refused(struct fx *f, int code, const char *needle1,
    const char *needle2)
{
	struct ferry_error err;

	ferry_error_clear(&err);
	assert_int_equal(ferry_bundle_write_dir(f->src, f->out, &err), code);
	assert_int_equal(err.code, code);
	assert_msg_has(&err, needle1);
	if (needle2 != NULL)
		assert_msg_has(&err, needle2);
	assert_absent(f->out);
	unit_assert_dir_is(f->dir, "src");
}

static void
test_write_refuses_symlink(void **state)
{
	struct fx *f = *state;
	char p[512];

	make_tree(f->src, 0);
	unit_join(p, sizeof(p), f->src, "a/b/link");
	assert_int_equal(symlink("/etc/passwd", p), 0);
	expect_write_refused(f, FERRY_ERR_INVALID_ARG, "a/b/link",
	    "symbolic link");

	/* Even a dangling one, and one to a directory. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("..", p), 0);
	expect_write_refused(f, FERRY_ERR_INVALID_ARG, "a/b/link",
	    "symbolic link");
}

static void
test_write_refuses_special_files(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sun;
	char p[512];
	int s;

	put(f->src, "ok", "fine", 4);
	unit_join(p, sizeof(p), f->src, "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	expect_write_refused(f, FERRY_ERR_INVALID_ARG, "/fifo", "a FIFO");
	assert_int_equal(unlink(p), 0);

	unit_join(p, sizeof(p), f->src, "sock");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(p) >= sizeof(sun.sun_path))
		skip();
	memcpy(sun.sun_path, p, strlen(p) + 1);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	expect_write_refused(f, FERRY_ERR_INVALID_ARG, "/sock", "a socket");
	close(s);
	assert_int_equal(unlink(p), 0);

	/* Names the extractor would refuse are refused here already. */
	put(f->src, "new\nline", "x", 1);
	expect_write_refused(f, FERRY_ERR_INVALID_ARG, "control character",
	    NULL);
}

static void
test_write_refuses_symlinked_srcdir(void **state)
{
	struct fx *f = *state;
	char p[512];
	struct ferry_error err;

	unit_join(p, sizeof(p), f->dir, "alias");
	assert_int_equal(symlink(f->src, p), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_bundle_write_dir(p, f->out, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_msg_has(&err, "alias: is a symbolic link");
	assert_absent(f->out);
}

/* A failed write leaves an existing bundle as it was. */
static void
test_write_failure_keeps_old(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *b;
	size_t n;
	char p[512];

	put(f->dir, "b.tar.zst", "old", 3);
	unit_join(p, sizeof(p), f->src, "link");
	assert_int_equal(symlink("x", p), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_bundle_write_dir(f->src, f->out, &err),
	    FERRY_ERR_INVALID_ARG);
	b = slurp(f->out, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "old", 3);
	free(b);
	unit_assert_dir_is(f->dir, "b.tar.zst/src");

	/* An output directory that does not exist. */
	assert_int_equal(unlink(p), 0);
	unit_join(p, sizeof(p), f->dir, "nowhere/b.tar.zst");
	ferry_error_clear(&err);
	assert_int_equal(ferry_bundle_write_dir(f->src, p, &err),
	    FERRY_ERR_IO);
	assert_msg_has(&err, "nowhere/b.tar.zst");
	unit_assert_dir_is(f->dir, "b.tar.zst/src");
}

static void
test_bad_args(void **state)
{
	struct fx *f = *state;
	struct ferry_bundle_limits lim;
	struct ferry_error err;

	ferry_error_clear(&err);
	assert_int_equal(ferry_bundle_write_dir(NULL, f->out, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_bundle_write_dir(f->src, "", NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_bundle_extract(NULL, f->dest, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_bundle_extract(f->out, "", NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	ferry_bundle_limits_default(&lim);
	lim.max_path = 0;
	write_ok(f->src, f->out);
	assert_int_equal(ferry_bundle_extract(f->out, f->dest, &lim, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_absent(f->dest);
	ferry_bundle_limits_default(NULL);
	assert_int_equal(ferry_bundle_is_bundle(NULL), FERRY_ERR_INVALID_ARG);
}

static void
test_is_bundle(void **state)
{
	struct fx *f = *state;
	char p[512];

	write_ok(f->src, f->out);
	assert_int_equal(ferry_bundle_is_bundle(f->out), 1);
	assert_int_equal(ferry_bundle_is_bundle(f->src), 0);
	put(f->dir, "text", "hello", 5);
	unit_join(p, sizeof(p), f->dir, "text");
	assert_int_equal(ferry_bundle_is_bundle(p), 0);
	put(f->dir, "short", "\x28\xb5\x2f", 3);
	unit_join(p, sizeof(p), f->dir, "short");
	assert_int_equal(ferry_bundle_is_bundle(p), 0);
	unit_join(p, sizeof(p), f->dir, "missing");
	errno = 0;
	assert_int_equal(ferry_bundle_is_bundle(p), FERRY_ERR_IO);
	assert_int_equal(errno, ENOENT);
}

/* ---- extraction refusals ---- */

static void
test_extract_into_existing(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char p[512];

	put(f->src, "x", "x", 1);
	write_ok(f->src, f->out);
	assert_int_equal(mkdir(f->dest, 0700), 0);
	put(f->dest, "keep", "k", 1);
	ferry_error_clear(&err);
	assert_int_equal(ferry_bundle_extract(f->out, f->dest, NULL, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_msg_has(&err, "exists already");
	unit_assert_dir_is(f->dest, "keep");
	/* Not even an empty one. */
	unit_join(p, sizeof(p), f->dest, "keep");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(ferry_bundle_extract(f->out, f->dest, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	unit_assert_dir_is(f->dest, "");
}

static void
test_refuse_absolute(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);

	hb_file(a, "ok", "fine");
	hb_file(a, "/tmp/ferry-evil", "evil");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY,
	    "entry 2 \"/tmp/ferry-evil\"", "absolute path");
	assert_absent("/tmp/ferry-evil");
}

static void
test_refuse_dotdot(void **state)
{
	struct fx *f = *state;
	struct archive *a;
	char p[512];

	a = hb_open(f->out);
	hb_file(a, "../x", "evil");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 1 \"../x\"",
	    "\"..\" path component");
	unit_join(p, sizeof(p), f->dir, "x");
	assert_absent(p);

	a = hb_open(f->out);
	hb_dir(a, "a");
	hb_file(a, "a/ok", "fine");
	hb_file(a, "a/../../x", "evil");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "\"a/../../x\"",
	    "\"..\" path component");
	assert_absent(p);

	/* ".." alone, and at the end, as a directory. */
	a = hb_open(f->out);
	hb_dir(a, "a");
	hb_dir(a, "a/..");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2",
	    "\"..\" path component");
}

static void
test_refuse_bad_names(void **state)
{
	static const struct {
		const char *name, *why;
	} cases[] = {
		{ "a//b", "empty path component" },
		{ "./a", "\".\" path component" },
		{ "a/./b", "\".\" path component" },
		{ "a/.", "\".\" path component" },
		{ "a\nb", "control character" },
		{ "a\x1b[2Jb", "control character" },
		{ "a\x7f", "control character" },
		{ "b/c", "its directory \"b\" is not an earlier entry" },
	};
	struct fx *f = *state;
	struct archive *a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = hb_open(f->out);
		hb_dir(a, "a");
		hb_file(a, cases[i].name, "x");
		hb_close(a);
		expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2",
		    cases[i].why);
	}
	/* The detail shows a control character masked. */
	a = hb_open(f->out);
	hb_file(a, "bad\x1b[31mname", "x");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "\"bad?[31mname\"",
	    "control character");
}

static void
test_refuse_symlink(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);

	hb_dir(a, "d");
	hb_add(a, "d/link", AE_IFLNK, NULL, 0, "/etc");
	hb_file(a, "d/link/passwd", "evil");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2 \"d/link\"",
	    "symbolic link");
}

static void
test_refuse_hardlink(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);

	hb_file(a, "target", "data");
	hb_add(a, "alias", AE_IFREG, NULL, 0, "target");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2 \"alias\"",
	    "hard link");

	/* A hard link to something outside. */
	a = hb_open(f->out);
	hb_add(a, "passwd", AE_IFREG, NULL, 0, "/etc/passwd");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 1 \"passwd\"",
	    "hard link");
}

static void
test_refuse_devices_and_fifos(void **state)
{
	static const struct {
		unsigned type;
		const char *why;
	} cases[] = {
		{ AE_IFCHR, "device" },
		{ AE_IFBLK, "device" },
		{ AE_IFIFO, "FIFO" },
	};
	struct fx *f = *state;
	struct archive *a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = hb_open(f->out);
		hb_file(a, "ok", "fine");
		hb_add(a, "special", cases[i].type, NULL, 0, NULL);
		hb_close(a);
		expect_refused(f, NULL, FERRY_ERR_REPOSITORY,
		    "entry 2 \"special\"", cases[i].why);
	}
}

static void
test_refuse_duplicates(void **state)
{
	struct fx *f = *state;
	struct archive *a;

	a = hb_open(f->out);
	hb_file(a, "same", "first");
	hb_file(a, "same", "second");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2 \"same\"",
	    "duplicate");

	a = hb_open(f->out);
	hb_dir(a, "d");
	hb_dir(a, "d");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2 \"d/\"",
	    "duplicate");

	/* A file and a directory of one name. */
	a = hb_open(f->out);
	hb_dir(a, "d");
	hb_file(a, "d", "x");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2 \"d\"",
	    "duplicate");
}

static void
test_refuse_through_file(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);

	hb_file(a, "file", "plain");
	hb_file(a, "file/child", "x");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 2 \"file/child\"",
	    "passes through the file \"file\"");

	a = hb_open(f->out);
	hb_dir(a, "d");
	hb_file(a, "d/file", "plain");
	hb_dir(a, "d/file/sub");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 3",
	    "passes through the file \"d/file\"");
}

static void
test_refuse_sparse(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);
	struct archive_entry *e = archive_entry_new();
	static char data[8192];

	memset(data, 'x', sizeof(data));
	archive_entry_copy_pathname(e, "sparse");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, sizeof(data));
	archive_entry_sparse_add_entry(e, 0, 512);
	archive_entry_sparse_add_entry(e, 4096, 512);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, sizeof(data)),
	    (la_ssize_t)sizeof(data));
	archive_entry_free(e);
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 1 \"sparse\"",
	    "sparse file");
}

static void
test_limit_file_size(void **state)
{
	struct fx *f = *state;
	struct ferry_bundle_limits lim;
	struct archive *a = hb_open(f->out);

	hb_file(a, "small", "1234");
	hb_file(a, "big", "12345678901");
	hb_close(a);
	ferry_bundle_limits_default(&lim);
	lim.max_file_bytes = 10;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "entry 2 \"big\"",
	    "over the limit of 10 for one file");
	lim.max_file_bytes = 11;
	extract_ok(f, &lim);
}

static void
test_limit_entries(void **state)
{
	struct fx *f = *state;
	struct ferry_bundle_limits lim;
	struct archive *a = hb_open(f->out);
	char name[16];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		hb_file(a, name, "x");
	}
	hb_close(a);
	ferry_bundle_limits_default(&lim);
	lim.max_entries = 4;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "more than 4 entries",
	    NULL);
	lim.max_entries = 5;
	extract_ok(f, &lim);
	unit_assert_dir_is(f->dest, "f0/f1/f2/f3/f4");
}

static void
test_limit_path(void **state)
{
	struct fx *f = *state;
	struct ferry_bundle_limits lim;
	struct archive *a = hb_open(f->out);

	hb_dir(a, "abcd");
	hb_file(a, "abcd/efghi", "x");
	hb_close(a);
	ferry_bundle_limits_default(&lim);
	lim.max_path = 9;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "entry 2 \"abcd/efghi\"",
	    "longer than the limit of 9 bytes");
	/* A directory's trailing '/' does not count. */
	lim.max_path = 4;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "entry 2", NULL);
	lim.max_path = 10;
	extract_ok(f, &lim);
}

/*
 * A bomb: a few MB of zeros compress to almost nothing.  The limit on the
 * total is enforced from the headers before any byte of the file that
 * would cross it is written, and the files before it are removed again.
 */
static void
test_limit_total_zip_bomb(void **state)
{
	struct fx *f = *state;
	struct ferry_bundle_limits lim;
	unsigned char *zeros = calloc(1, 4 * MIB);
	struct archive *a;
	struct stat st;

	assert_non_null(zeros);
	a = hb_open(f->out);
	hb_add(a, "zero1", AE_IFREG, zeros, 4 * MIB, NULL);
	hb_add(a, "zero2", AE_IFREG, zeros, 4 * MIB, NULL);
	hb_add(a, "zero3", AE_IFREG, zeros, 4 * MIB, NULL);
	hb_close(a);
	assert_int_equal(stat(f->out, &st), 0);
	assert_true(st.st_size < 64 * 1024);
	ferry_bundle_limits_default(&lim);
	lim.max_total_bytes = 10 * MIB;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "entry 3 \"zero3\"",
	    "over its limit of 10485760 bytes in all");
	/* One file alone over the total. */
	lim.max_total_bytes = 2 * MIB;
	expect_refused(f, &lim, FERRY_ERR_TOO_LARGE, "entry 1 \"zero1\"",
	    "in all");
	lim.max_total_bytes = 12 * MIB;
	extract_ok(f, &lim);
	free(zeros);
}

/*
 * Header data libarchive reads before an entry reaches us (here a pax
 * header holding 300 KB of extended attributes, which libarchive writes
 * twice, raw and in base64: 700 KB) is bounded per entry.  Attributes
 * themselves are never applied.
 */
static void
test_limit_header_data(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);
	struct archive_entry *e = archive_entry_new();
	char *big = malloc(300 * 1024), p[512];
	struct stat st;

	assert_non_null(big);
	memset(big, 'h', 300 * 1024);
	hb_file(a, "small", "x");
	archive_entry_copy_pathname(e, "bloated");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 1);
	archive_entry_xattr_add_entry(e, "user.pad", big, 300 * 1024);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "y", 1), 1);
	archive_entry_free(e);
	hb_close(a);
	free(big);
	expect_refused(f, NULL, FERRY_ERR_TOO_LARGE, "entry 2 \"bloated\"",
	    "more header data than the entries need");

	/* A small attribute is within bounds, and not applied. */
	a = hb_open(f->out);
	e = archive_entry_new();
	archive_entry_copy_pathname(e, "attr");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 04755);
	archive_entry_set_size(e, 1);
	archive_entry_xattr_add_entry(e, "user.x", "v", 1);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "y", 1), 1);
	archive_entry_free(e);
	hb_close(a);
	extract_ok(f, NULL);
	unit_join(p, sizeof(p), f->dest, "attr");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_true(getxattr(p, "user.x", NULL, 0) == -1);
}

static void
build_two_files(size_t *used, unsigned char *payload, size_t plen)
{
	struct archive *a = raw_open(used);

	hb_add(a, "first", AE_IFREG, payload, plen, NULL);
	hb_add(a, "second", AE_IFREG, "tail", 4, NULL);
	hb_close(a);
}

/* Data shorter or longer than the header says: never extracted. */
static void
test_refuse_size_lies(void **state)
{
	struct fx *f = *state;
	unsigned char payload[1000];
	size_t used = 0;

	memset(payload, 'x', sizeof(payload));

	/* Sanity: the unpatched stream extracts. */
	build_two_files(&used, payload, sizeof(payload));
	zstd_wrap(f->out, rawbuf, used);
	extract_ok(f, NULL);
	unit_assert_dir_is(f->dest, "first/second");
	rm_tree(f->dest);

	/* Header says 100: the rest of the data is taken for a header. */
	build_two_files(&used, payload, sizeof(payload));
	tar_patch(rawbuf, 0, 100);
	zstd_wrap(f->out, rawbuf, used);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "after entry 1", NULL);

	/* Header says more than the stream holds. */
	build_two_files(&used, payload, sizeof(payload));
	tar_patch(rawbuf, 0, 100000);
	zstd_wrap(f->out, rawbuf, used);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 1 \"first\"",
	    "Truncated");

	/* A truncated stream. */
	build_two_files(&used, payload, sizeof(payload));
	zstd_wrap(f->out, rawbuf, 700);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 1 \"first\"",
	    NULL);
}

/* A truncated bundle file (the compressed bytes cut short). */
static void
test_refuse_truncated_bundle(void **state)
{
	struct fx *f = *state;
	unsigned char *b;
	size_t n;
	FILE *fp;

	put(f->src, "first", "1", 1);
	put(f->src, "big", binary, sizeof(binary));
	write_ok(f->src, f->out);
	b = slurp(f->out, &n);
	assert_true(n > 1000);
	assert_non_null(fp = fopen(f->out, "wb"));
	assert_int_equal(fwrite(b, 1, n / 2, fp), n / 2);
	assert_int_equal(fclose(fp), 0);
	free(b);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "b.tar.zst: ", NULL);
}

/* A directory carrying data (GNU tar's 'D'), skipped by no one. */
static void
test_refuse_directory_with_data(void **state)
{
	struct fx *f = *state;
	unsigned char payload[600];
	size_t used = 0;
	struct archive *a;

	memset(payload, 'y', sizeof(payload));
	a = raw_open(&used);
	hb_add(a, "dumpdir", AE_IFREG, payload, sizeof(payload), NULL);
	hb_close(a);
	tar_patch(rawbuf, 'D', -1);
	zstd_wrap(f->out, rawbuf, used);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 1 \"dumpdir\"",
	    "directory carrying 600 bytes");
}

static void
test_refuse_not_zstd(void **state)
{
	struct fx *f = *state;
	struct archive *a;
	size_t used = 0;
	unsigned char *b;
	size_t n;

	/* A plain tar. */
	a = raw_open(&used);
	hb_file(a, "x", "plain");
	hb_close(a);
	put(f->dir, "b.tar.zst", rawbuf, used);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY,
	    "not a zstd-compressed bundle", NULL);

	/* Text, an empty file, a directory. */
	put(f->dir, "b.tar.zst", "hello, world\n", 13);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "28 b5 2f fd", NULL);
	put(f->dir, "b.tar.zst", "", 0);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "not a zstd", NULL);
	assert_int_equal(unlink(f->out), 0);
	assert_int_equal(mkdir(f->out, 0700), 0);
	expect_refused(f, NULL, FERRY_ERR_INVALID_ARG, "not a regular file",
	    NULL);
	assert_int_equal(rmdir(f->out), 0);

	/* zstd, but not a tar inside. */
	zstd_wrap(f->out, "just some bytes, no tar at all", 30);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "b.tar.zst: ", NULL);

	/* zstd around zstd around tar: one layer only. */
	put(f->src, "x", "x", 1);
	write_ok(f->src, f->out);
	b = slurp(f->out, &n);
	zstd_wrap(f->out, b, n);
	free(b);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "one layer of zstd",
	    NULL);
}

/*
 * Corrupt zstd framing is refused.  (libarchive writes frames without a
 * content checksum, so a flipped bit inside compressed data may decode
 * to other bytes: the content is for TUF's hashes to judge.)
 */
static void
test_refuse_corrupt_zstd(void **state)
{
	struct fx *f = *state;
	unsigned char *b;
	size_t n;

	put(f->src, "big", binary, sizeof(binary));
	write_ok(f->src, f->out);
	b = slurp(f->out, &n);
	assert_true(n > 64);
	/* The reserved bit of the frame header descriptor. */
	b[4] ^= 0x08;
	put(f->dir, "b.tar.zst", b, n);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "b.tar.zst: ", "Zstd");
	/* Everything after the frame header gone to zeros. */
	b[4] ^= 0x08;
	memset(b + 16, 0, n - 16);
	put(f->dir, "b.tar.zst", b, n);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "b.tar.zst: ", NULL);
	free(b);
}

/* On failure the files already extracted are removed, deep ones too. */
static void
test_failure_removes_everything(void **state)
{
	struct fx *f = *state;
	struct archive *a = hb_open(f->out);

	hb_dir(a, "a");
	hb_dir(a, "a/b");
	hb_dir(a, "a/b/c");
	hb_file(a, "a/b/c/one", "1");
	hb_file(a, "a/b/two", "2");
	hb_dir(a, "z");
	hb_file(a, "z/three", "3");
	hb_add(a, "z/evil", AE_IFLNK, NULL, 0, "/");
	hb_close(a);
	expect_refused(f, NULL, FERRY_ERR_REPOSITORY, "entry 8 \"z/evil\"",
	    "symbolic link");
	unit_assert_dir_is(f->dir, "b.tar.zst/src");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, unit_fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_round_trip_empty_tree),
		T(test_round_trip_long_names),
		T(test_entries_normalised),
		T(test_deterministic),
		T(test_write_hardlinks_as_files),
		T(test_write_refuses_symlink),
		T(test_write_refuses_special_files),
		T(test_write_refuses_symlinked_srcdir),
		T(test_write_failure_keeps_old),
		T(test_bad_args),
		T(test_is_bundle),
		T(test_extract_into_existing),
		T(test_refuse_absolute),
		T(test_refuse_dotdot),
		T(test_refuse_bad_names),
		T(test_refuse_symlink),
		T(test_refuse_hardlink),
		T(test_refuse_devices_and_fifos),
		T(test_refuse_duplicates),
		T(test_refuse_through_file),
		T(test_refuse_sparse),
		T(test_limit_file_size),
		T(test_limit_entries),
		T(test_limit_path),
		T(test_limit_total_zip_bomb),
		T(test_limit_header_data),
		T(test_refuse_size_lies),
		T(test_refuse_truncated_bundle),
		T(test_refuse_directory_with_data),
		T(test_refuse_not_zstd),
		T(test_refuse_corrupt_zstd),
		T(test_failure_removes_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

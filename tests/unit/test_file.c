/* Unit tests for lib/file.c: bounded reads and atomic writes. */
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/err.h"
#include "lib/file.h"

#define MIB (1024u * 1024u)

struct fx {
	char dir[UNIT_DIR_MAX];
};
UNIT_FX_CHECK(struct fx);

/* ---- helpers ---- */

static int
setup(void **state)
{
	return unit_fx_new(state, sizeof(struct fx), "file") != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	/* Make sure a test that removed write permission can be cleaned. */
	(void)chmod(f->dir, 0700);
	return unit_fx_teardown(state);
}

/* Assert path holds exactly want (len bytes), read the plain way. */
static void
assert_file_is(const char *path, const void *want, size_t len)
{
	unsigned char *buf = malloc(len + 2);
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(buf);
	assert_non_null(fp);
	n = fread(buf, 1, len + 1, fp);
	fclose(fp);
	assert_int_equal(n, len);
	if (len > 0)
		assert_memory_equal(buf, want, len);
	free(buf);
}

/* ---- ferry_file_write_atomic ---- */

static void
test_write_creates_with_content(void **state)
{
	struct fx *f = *state;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "target");
	assert_int_equal(ferry_file_write_atomic(p, "hello\n", 6, 0644), 0);
	assert_file_is(p, "hello\n", 6);
	unit_assert_dir_is(f->dir, "target");
}

static void
test_write_empty(void **state)
{
	struct fx *f = *state;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "empty");
	assert_int_equal(ferry_file_write_atomic(p, NULL, 0, 0600), 0);
	assert_file_is(p, "", 0);
	unit_assert_dir_is(f->dir, "empty");
}

/* The mode is exactly what was asked for, whatever the umask. */
static void
test_write_mode_ignores_umask(void **state)
{
	static const mode_t modes[] = { 0600, 0640, 0644, 0604, 0666, 0755,
	    0700, 0444, 0 };
	static const mode_t masks[] = { 077, 000, 022, 0777 };
	struct fx *f = *state;
	char p[512], name[64];
	mode_t old = umask(077);
	size_t i, j;

	for (j = 0; j < sizeof(masks) / sizeof(masks[0]); j++) {
		umask(masks[j]);
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			snprintf(name, sizeof(name), "m%zu-%zu", j, i);
			unit_join(p, sizeof(p), f->dir, name);
			assert_int_equal(ferry_file_write_atomic(p, "x", 1,
			    modes[i]), 0);
			assert_int_equal(unit_perm_of(p), modes[i]);
			/* Replacing keeps applying the exact mode. */
			assert_int_equal(ferry_file_write_atomic(p, "y", 1,
			    modes[(i + 1) % (sizeof(modes) /
			    sizeof(modes[0]))]), 0);
			assert_int_equal(unit_perm_of(p), modes[(i + 1) %
			    (sizeof(modes) / sizeof(modes[0]))]);
		}
	}
	umask(old);
}

static void
test_write_replaces_existing(void **state)
{
	struct fx *f = *state;
	char p[512], link2[512];
	struct stat before, after;

	unit_join(p, sizeof(p), f->dir, "target");
	unit_join(link2, sizeof(link2), f->dir, "hardlink");
	unit_put_file(p, "old contents, longer than the new", 33);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(link(p, link2), 0);
	assert_int_equal(stat(p, &before), 0);

	assert_int_equal(ferry_file_write_atomic(p, "new", 3, 0644), 0);
	assert_file_is(p, "new", 3);
	assert_int_equal(unit_perm_of(p), 0644);
	assert_int_equal(stat(p, &after), 0);
	/* A new file was renamed into place; the old inode is untouched. */
	assert_true(before.st_ino != after.st_ino);
	assert_file_is(link2, "old contents, longer than the new", 33);
	unit_assert_dir_is(f->dir, "hardlink/target");

	/* Again, with nothing. */
	assert_int_equal(ferry_file_write_atomic(p, "", 0, 0644), 0);
	assert_file_is(p, "", 0);
	unit_assert_dir_is(f->dir, "hardlink/target");
}

/* A symlink at the target is replaced by a regular file, not followed. */
static void
test_write_replaces_symlink_target(void **state)
{
	struct fx *f = *state;
	char p[512], victim[512], dangling[512];
	char lnk[512];
	struct stat st;
	ssize_t n;

	unit_join(p, sizeof(p), f->dir, "target");
	unit_join(victim, sizeof(victim), f->dir, "victim");
	unit_put_file(victim, "precious", 8);
	assert_int_equal(chmod(victim, 0600), 0);
	assert_int_equal(symlink(victim, p), 0);

	assert_int_equal(ferry_file_write_atomic(p, "new data", 8, 0644), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file_is(p, "new data", 8);
	assert_file_is(victim, "precious", 8);
	assert_int_equal(unit_perm_of(victim), 0600);
	unit_assert_dir_is(f->dir, "target/victim");

	/* A dangling symlink is not followed to create its target either. */
	unit_join(p, sizeof(p), f->dir, "t2");
	unit_join(dangling, sizeof(dangling), f->dir, "nowhere");
	assert_int_equal(symlink(dangling, p), 0);
	assert_int_equal(ferry_file_write_atomic(p, "z", 1, 0600), 0);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(dangling, &st), -1);
	assert_int_equal(errno, ENOENT);
	n = readlink(p, lnk, sizeof(lnk));
	assert_int_equal(n, -1);
	unit_assert_dir_is(f->dir, "t2/target/victim");
}

static void
test_write_missing_directory(void **state)
{
	struct fx *f = *state;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "no-such-dir/target");
	errno = 0;
	assert_int_equal(ferry_file_write_atomic(p, "x", 1, 0644),
	    FERRY_ERR_IO);
	assert_int_equal(errno, ENOENT);
	unit_assert_dir_is(f->dir, "");
}

/* A regular file used as the directory: ENOTDIR, even for root. */
static void
test_write_parent_is_file(void **state)
{
	struct fx *f = *state;
	char plain[512], p[512];

	unit_join(plain, sizeof(plain), f->dir, "plain");
	unit_put_file(plain, "untouched", 9);
	unit_join(p, sizeof(p), f->dir, "plain/target");
	errno = 0;
	assert_int_equal(ferry_file_write_atomic(p, "x", 1, 0644),
	    FERRY_ERR_IO);
	assert_int_equal(errno, ENOTDIR);
	assert_file_is(plain, "untouched", 9);
	unit_assert_dir_is(f->dir, "plain");
}

/* An unwritable directory (meaningful only when not root). */
static void
test_write_unwritable_directory(void **state)
{
	struct fx *f = *state;
	char sub[512], p[512];

	if (geteuid() == 0)
		skip();
	unit_join(sub, sizeof(sub), f->dir, "ro");
	assert_int_equal(mkdir(sub, 0700), 0);
	unit_join(p, sizeof(p), sub, "target");
	unit_put_file(p, "old", 3);
	assert_int_equal(chmod(sub, 0500), 0);
	errno = 0;
	assert_int_equal(ferry_file_write_atomic(p, "new", 3, 0644),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EACCES);
	assert_int_equal(chmod(sub, 0700), 0);
	assert_file_is(p, "old", 3);
	unit_assert_dir_is(sub, "target");
}

/* A directory at the target: rename fails, the temporary is removed. */
static void
test_write_target_is_directory(void **state)
{
	struct fx *f = *state;
	char p[512], inner[512];

	unit_join(p, sizeof(p), f->dir, "target");
	assert_int_equal(mkdir(p, 0700), 0);
	unit_join(inner, sizeof(inner), p, "keep");
	unit_put_file(inner, "k", 1);
	assert_int_equal(ferry_file_write_atomic(p, "x", 1, 0644),
	    FERRY_ERR_IO);
	unit_assert_dir_is(f->dir, "target");
	unit_assert_dir_is(p, "keep");
	assert_file_is(inner, "k", 1);
}

static void
test_write_bad_args(void **state)
{
	struct fx *f = *state;
	struct ferry_atomic *a = NULL;
	char p[512];

	assert_int_equal(ferry_file_write_atomic(NULL, "x", 1, 0644),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_file_write_atomic("", "x", 1, 0644),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_open(NULL, 0644, &a),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_open("", 0644, &a),
	    FERRY_ERR_INVALID_ARG);
	unit_join(p, sizeof(p), f->dir, "target");
	assert_int_equal(ferry_atomic_open(p, 0644, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(a);
	/* NULL data with a length: rejected, and nothing left behind. */
	assert_int_equal(ferry_file_write_atomic(p, NULL, 1, 0644),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_write(NULL, "x", 1),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_commit(NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_size(NULL), 0);
	ferry_atomic_free(NULL);
	unit_assert_dir_is(f->dir, "");
}

/* ---- streaming API ---- */

/* A verified file adopted by a hard link: nothing written, src kept. */
static void
test_atomic_link(void **state)
{
	struct fx *f = *state;
	struct ferry_atomic *a = NULL;
	char p[512], src[512], listing[4096];
	struct stat sa, sb;

	unit_join(p, sizeof(p), f->dir, "target");
	unit_join(src, sizeof(src), f->dir, "download");
	unit_put_file(src, "verified", 8);
	assert_int_equal(ferry_atomic_link(p, src, &a), 0);
	/* Only a hidden temporary beside it until the commit. */
	assert_true(access(p, F_OK) == -1 && errno == ENOENT);
	unit_list_dir(f->dir, listing, sizeof(listing));
	assert_int_equal(strncmp(listing, ".target.tmp.", 12), 0);
	assert_int_equal(ferry_atomic_commit_nosync(a), 0);
	ferry_atomic_free(a);
	assert_file_is(p, "verified", 8);
	assert_int_equal(stat(p, &sa), 0);
	assert_int_equal(stat(src, &sb), 0);
	assert_true(sa.st_ino == sb.st_ino);
	unit_assert_dir_is(f->dir, "download/target");

	/* Freed uncommitted: the temporary goes, src stays. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(ferry_atomic_link(p, src, &a), 0);
	ferry_atomic_free(a);
	unit_assert_dir_is(f->dir, "download");
	assert_file_is(src, "verified", 8);

	/* No source: FERRY_ERR_IO, nothing made. */
	unit_join(src, sizeof(src), f->dir, "missing");
	assert_int_equal(ferry_atomic_link(p, src, &a), FERRY_ERR_IO);
	assert_int_equal(errno, ENOENT);
	unit_assert_dir_is(f->dir, "download");
	assert_int_equal(ferry_atomic_link(NULL, src, &a),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_commit_nosync(NULL),
	    FERRY_ERR_INVALID_ARG);
}

static void
test_atomic_free_without_commit(void **state)
{
	struct fx *f = *state;
	struct ferry_atomic *a = NULL;
	char p[512], listing[4096];

	unit_join(p, sizeof(p), f->dir, "target");
	assert_int_equal(ferry_atomic_open(p, 0644, &a), 0);
	assert_non_null(a);
	assert_int_equal(ferry_atomic_write(a, "partial", 7), 0);
	/* Only a hidden temporary beside the target, not the target. */
	unit_list_dir(f->dir, listing, sizeof(listing));
	assert_int_equal(strncmp(listing, ".target.tmp.", 12), 0);
	assert_null(strchr(listing, '/'));
	assert_true(access(p, F_OK) == -1 && errno == ENOENT);
	ferry_atomic_free(a);
	unit_assert_dir_is(f->dir, "");

	/* Without any write either. */
	assert_int_equal(ferry_atomic_open(p, 0644, &a), 0);
	ferry_atomic_free(a);
	unit_assert_dir_is(f->dir, "");

	/* Abandoning a replacement keeps the old file. */
	unit_put_file(p, "old", 3);
	assert_int_equal(ferry_atomic_open(p, 0600, &a), 0);
	assert_int_equal(ferry_atomic_write(a, "new", 3), 0);
	assert_file_is(p, "old", 3);
	ferry_atomic_free(a);
	assert_file_is(p, "old", 3);
	unit_assert_dir_is(f->dir, "target");
}

static void
test_atomic_commit_and_size(void **state)
{
	struct fx *f = *state;
	struct ferry_atomic *a = NULL;
	char p[512];
	mode_t old = umask(077);

	unit_join(p, sizeof(p), f->dir, "target");
	assert_int_equal(ferry_atomic_open(p, 0644, &a), 0);
	assert_int_equal(ferry_atomic_size(a), 0);
	assert_int_equal(ferry_atomic_write(a, "abc", 3), 0);
	assert_int_equal(ferry_atomic_size(a), 3);
	assert_int_equal(ferry_atomic_write(a, "", 0), 0);
	assert_int_equal(ferry_atomic_write(a, NULL, 0), 0);
	assert_int_equal(ferry_atomic_size(a), 3);
	assert_int_equal(ferry_atomic_write(a, "defgh", 5), 0);
	assert_int_equal(ferry_atomic_size(a), 8);
	assert_int_equal(ferry_atomic_write(a, NULL, 1),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_size(a), 8);
	assert_true(access(p, F_OK) == -1);

	assert_int_equal(ferry_atomic_commit(a), 0);
	assert_file_is(p, "abcdefgh", 8);
	assert_int_equal(unit_perm_of(p), 0644);
	unit_assert_dir_is(f->dir, "target");
	assert_int_equal(ferry_atomic_size(a), 8);

	/* Writing or committing again after commit is rejected. */
	assert_int_equal(ferry_atomic_write(a, "more", 4),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_commit(a), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_atomic_size(a), 8);
	ferry_atomic_free(a);
	/* Freeing a committed file keeps it. */
	assert_file_is(p, "abcdefgh", 8);
	unit_assert_dir_is(f->dir, "target");
	umask(old);
}

/* Several megabytes in uneven pieces. */
static void
test_atomic_large_stream(void **state)
{
	struct fx *f = *state;
	struct ferry_atomic *a = NULL;
	unsigned char *buf, *back = NULL;
	size_t len = 3 * MIB + 17, off, c, k, backlen = 0;
	char p[512];

	buf = malloc(len);
	assert_non_null(buf);
	for (off = 0; off < len; off++)
		buf[off] = (unsigned char)(off * 131 + (off >> 13));
	unit_join(p, sizeof(p), f->dir, "big");
	assert_int_equal(ferry_atomic_open(p, 0600, &a), 0);
	for (off = 0, k = 1; off < len; k++) {
		c = (k * 7919) % 200000;
		if (c > len - off)
			c = len - off;
		assert_int_equal(ferry_atomic_write(a, buf + off, c), 0);
		off += c;
		assert_int_equal(ferry_atomic_size(a), off);
	}
	assert_int_equal(ferry_atomic_commit(a), 0);
	ferry_atomic_free(a);
	assert_int_equal(ferry_file_read(p, len, &back, &backlen), 0);
	assert_int_equal(backlen, len);
	assert_memory_equal(back, buf, len);
	free(back);
	free(buf);
	unit_assert_dir_is(f->dir, "big");
}

/*
 * The temporary name is unpredictable (libsodium randombytes) and opened
 * O_CREAT|O_EXCL|O_NOFOLLOW.  To test that an attacker's symlink at the
 * temporary name is never followed, make the name predictable by
 * installing a deterministic randombytes implementation for the test.
 */
static uint32_t fake_counter;
static uint32_t fake_step;

/*
 * Each temporary name is built from two randombytes_random() calls, in an
 * unspecified order (they are arguments of one snprintf), so calls 2k and
 * 2k+1 return the same value: the k'th name is "<v><v>" with
 * v = 0x0badf00d + k * fake_step.
 */
static const char *
fake_name(void)
{
	return "ferry-test-fake";
}

static uint32_t
fake_random(void)
{
	uint32_t v = 0x0badf00du + (fake_counter / 2) * fake_step;

	fake_counter++;
	return v;
}

static void
fake_stir(void)
{
}

static uint32_t
fake_uniform(const uint32_t upper)
{
	return upper == 0 ? 0 : fake_random() % upper;
}

static void
fake_buf(void *const b, const size_t n)
{
	memset(b, 0x42, n);
}

static int
fake_close(void)
{
	return 0;
}

static randombytes_implementation fake_impl = {
	fake_name, fake_random, fake_stir, fake_uniform, fake_buf, fake_close,
};

static void
test_atomic_tmp_symlink_not_followed(void **state)
{
	struct fx *f = *state;
	char p[512], victim[512], tmp1[512], name[128];
	struct stat st;
	int r;

	unit_join(p, sizeof(p), f->dir, "target");
	unit_join(victim, sizeof(victim), f->dir, "victim");
	unit_put_file(victim, "precious", 8);
	assert_int_equal(chmod(victim, 0600), 0);

	/* Every try yields the same name: the one the attacker took. */
	fake_counter = 0;
	fake_step = 0;
	snprintf(name, sizeof(name), ".target.tmp.%08x%08x", 0x0badf00du,
	    0x0badf00du);
	unit_join(tmp1, sizeof(tmp1), f->dir, name);
	assert_int_equal(symlink(victim, tmp1), 0);
	assert_int_equal(randombytes_set_implementation(&fake_impl), 0);
	r = ferry_file_write_atomic(p, "evil", 4, 0666);
	assert_int_equal(randombytes_set_implementation(
	    &randombytes_sysrandom_implementation), 0);
	assert_int_equal(r, FERRY_ERR_IO);
	assert_file_is(victim, "precious", 8);
	assert_int_equal(unit_perm_of(victim), 0600);
	assert_int_equal(lstat(tmp1, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_true(access(p, F_OK) == -1);

	/* The first name is taken, the next one is free: that one is used. */
	fake_counter = 0;
	fake_step = 1;	/* 1st name: 0badf00d0badf00d, 2nd: 0badf00e0badf00e */
	assert_int_equal(randombytes_set_implementation(&fake_impl), 0);
	snprintf(name, sizeof(name), ".target.tmp.%08x%08x", 0x0badf00du,
	    0x0badf00du);
	assert_int_equal(unlink(tmp1), 0);
	unit_join(tmp1, sizeof(tmp1), f->dir, name);
	assert_int_equal(symlink(victim, tmp1), 0);
	r = ferry_file_write_atomic(p, "good", 4, 0644);
	assert_int_equal(randombytes_set_implementation(
	    &randombytes_sysrandom_implementation), 0);
	assert_int_equal(r, 0);
	assert_file_is(p, "good", 4);
	assert_int_equal(unit_perm_of(p), 0644);
	assert_file_is(victim, "precious", 8);
	assert_int_equal(unit_perm_of(victim), 0600);
	/* Someone else's file at a temporary name is not removed. */
	assert_int_equal(lstat(tmp1, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	{
		char want[256];

		snprintf(want, sizeof(want), "%s/target/victim", name);
		unit_assert_dir_is(f->dir, want);
	}
}

/* ---- ferry_file_write_new ---- */

static void
test_write_new_creates(void **state)
{
	static const mode_t modes[] = { 0600, 0640, 0400, 0644 };
	static const mode_t masks[] = { 077, 000, 022 };
	struct fx *f = *state;
	char p[512], name[64], want[512];
	mode_t old = umask(077);
	size_t i, j;

	want[0] = '\0';
	for (j = 0; j < sizeof(masks) / sizeof(masks[0]); j++) {
		umask(masks[j]);
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			snprintf(name, sizeof(name), "k%zu-%zu", j, i);
			unit_join(p, sizeof(p), f->dir, name);
			assert_int_equal(ferry_file_write_new(p, "key data", 8,
			    modes[i]), 0);
			assert_file_is(p, "key data", 8);
			assert_int_equal(unit_perm_of(p), modes[i]);
			if (want[0] != '\0')
				strncat(want, "/", sizeof(want) -
				    strlen(want) - 1);
			strncat(want, name, sizeof(want) - strlen(want) - 1);
		}
	}
	umask(old);
	/* Nothing beside them: the temporaries are gone. */
	unit_assert_dir_is(f->dir, want);

	unit_join(p, sizeof(p), f->dir, "nothing");
	assert_int_equal(ferry_file_write_new(p, NULL, 0, 0600), 0);
	assert_file_is(p, "", 0);
}

/* What is there stays exactly as it was: bytes, mode, inode, time. */
/* A batch: every file new and complete after commit, nothing else left. */
static void
test_batch_commit(void **state)
{
	struct fx *f = *state;
	struct ferry_batch *b = NULL;
	char p[512], sub[512];

	unit_join(sub, sizeof(sub), f->dir, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	unit_join(p, sizeof(p), f->dir, "a");
	unit_put_file(p, "old a", 5);
	assert_int_equal(ferry_batch_new(&b), 0);
	assert_int_equal(ferry_batch_add(b, p, "new a", 5, 0644), 0);
	/* Not visible before the commit. */
	assert_file_is(p, "old a", 5);
	unit_join(p, sizeof(p), f->dir, "b");
	assert_int_equal(ferry_batch_add(b, p, "", 0, 0600), 0);
	unit_join(p, sizeof(p), sub, "c");
	assert_int_equal(ferry_batch_add(b, p, "c", 1, 0644), 0);
	assert_int_equal(ferry_batch_commit(b), 0);
	assert_int_equal(ferry_batch_commit(b), FERRY_ERR_INVALID_ARG);
	ferry_batch_free(b);
	unit_join(p, sizeof(p), f->dir, "a");
	assert_file_is(p, "new a", 5);
	unit_join(p, sizeof(p), f->dir, "b");
	assert_file_is(p, "", 0);
	assert_int_equal(unit_perm_of(p), 0600);
	unit_join(p, sizeof(p), sub, "c");
	assert_file_is(p, "c", 1);
	unit_assert_dir_is(f->dir, "a/b/sub");
	unit_assert_dir_is(sub, "c");
}

/* A batch freed before its commit, or failing half way, changes nothing. */
static void
test_batch_discarded(void **state)
{
	struct fx *f = *state;
	struct ferry_batch *b = NULL;
	char p[512], q[512];
	int i;

	unit_join(p, sizeof(p), f->dir, "a");
	unit_put_file(p, "old a", 5);
	assert_int_equal(ferry_batch_new(&b), 0);
	assert_int_equal(ferry_batch_add(b, p, "new a", 5, 0644), 0);
	ferry_batch_free(b);
	assert_file_is(p, "old a", 5);
	unit_assert_dir_is(f->dir, "a");

	/* More files than descriptors a process may hold open at once. */
	assert_int_equal(ferry_batch_new(&b), 0);
	for (i = 0; i < 1100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many-%04d", i);
		unit_join(q, sizeof(q), f->dir, name);
		assert_int_equal(ferry_batch_add(b, q, name, strlen(name),
		    0644), 0);
	}
	unit_join(q, sizeof(q), f->dir, "missing/x");
	assert_int_equal(ferry_batch_add(b, q, "x", 1, 0644), FERRY_ERR_IO);
	ferry_batch_free(b);
	assert_file_is(p, "old a", 5);
	unit_assert_dir_is(f->dir, "a");

	assert_int_equal(ferry_batch_new(NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_batch_add(NULL, p, "", 0, 0644),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_batch_commit(NULL), FERRY_ERR_INVALID_ARG);
	ferry_batch_free(NULL);
}

static void
test_write_new_refuses_existing(void **state)
{
	static const char old[] = "precious old key, longer than the new";
	struct fx *f = *state;
	struct stat before, after;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "key");
	unit_put_file(p, old, sizeof(old) - 1);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(stat(p, &before), 0);
	errno = 0;
	assert_int_equal(ferry_file_write_new(p, "new", 3, 0600),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_file_is(p, old, sizeof(old) - 1);
	assert_int_equal(unit_perm_of(p), 0644);
	assert_int_equal(stat(p, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	assert_true(before.st_mtime == after.st_mtime);
	assert_true(before.st_nlink == after.st_nlink);
	unit_assert_dir_is(f->dir, "key");

	/* An empty file is something too; so is a directory. */
	unit_put_file(p, "", 0);
	errno = 0;
	assert_int_equal(ferry_file_write_new(p, "new", 3, 0600),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_file_is(p, "", 0);
	unit_join(p, sizeof(p), f->dir, "dir");
	assert_int_equal(mkdir(p, 0700), 0);
	errno = 0;
	assert_int_equal(ferry_file_write_new(p, "new", 3, 0600),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	unit_assert_dir_is(f->dir, "dir/key");
	unit_assert_dir_is(p, "");
}

/*
 * A symlink at the path is never followed: a dangling one does not lead
 * to a file being created where it points, one to a file does not lead
 * to that file being written.
 */
static void
test_write_new_symlink_not_followed(void **state)
{
	struct fx *f = *state;
	char p[512], target[512], victim[512], lnk[512];
	struct stat st;
	ssize_t n;

	unit_join(p, sizeof(p), f->dir, "key");
	unit_join(target, sizeof(target), f->dir, "nowhere");
	assert_int_equal(symlink(target, p), 0);
	errno = 0;
	assert_int_equal(ferry_file_write_new(p, "new", 3, 0600),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(p, lnk, sizeof(lnk) - 1);
	assert_true(n > 0);
	lnk[n] = '\0';
	assert_string_equal(lnk, target);
	unit_assert_dir_is(f->dir, "key");

	unit_join(p, sizeof(p), f->dir, "key2");
	unit_join(victim, sizeof(victim), f->dir, "victim");
	unit_put_file(victim, "precious", 8);
	assert_int_equal(chmod(victim, 0644), 0);
	assert_int_equal(symlink(victim, p), 0);
	errno = 0;
	assert_int_equal(ferry_file_write_new(p, "new", 3, 0600),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_file_is(victim, "precious", 8);
	assert_int_equal(unit_perm_of(victim), 0644);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unit_assert_dir_is(f->dir, "key/key2/victim");
}

/* A file that appears while the new one is written wins. */
static void
test_atomic_commit_new_race(void **state)
{
	struct fx *f = *state;
	struct ferry_atomic *a = NULL;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "key");
	assert_int_equal(ferry_atomic_open(p, 0600, &a), 0);
	assert_int_equal(ferry_atomic_write(a, "mine", 4), 0);
	unit_put_file(p, "theirs", 6);
	errno = 0;
	assert_int_equal(ferry_atomic_commit_new(a), FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	ferry_atomic_free(a);
	assert_file_is(p, "theirs", 6);
	unit_assert_dir_is(f->dir, "key");

	/* Without a rival: in place, and only once. */
	assert_int_equal(unlink(p), 0);
	a = NULL;
	assert_int_equal(ferry_atomic_open(p, 0640, &a), 0);
	assert_int_equal(ferry_atomic_write(a, "mine", 4), 0);
	assert_int_equal(ferry_atomic_commit_new(a), 0);
	assert_int_equal(ferry_atomic_commit_new(a), FERRY_ERR_INVALID_ARG);
	ferry_atomic_free(a);
	assert_file_is(p, "mine", 4);
	assert_int_equal(unit_perm_of(p), 0640);
	unit_assert_dir_is(f->dir, "key");
	assert_int_equal(ferry_atomic_commit_new(NULL), FERRY_ERR_INVALID_ARG);
}

static void
test_write_new_missing_directory(void **state)
{
	struct fx *f = *state;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "no-such-dir/key");
	errno = 0;
	assert_int_equal(ferry_file_write_new(p, "x", 1, 0600), FERRY_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(ferry_file_write_new(NULL, "x", 1, 0600),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_file_write_new("", "x", 1, 0600),
	    FERRY_ERR_INVALID_ARG);
	unit_join(p, sizeof(p), f->dir, "key");
	assert_int_equal(ferry_file_write_new(p, NULL, 1, 0600),
	    FERRY_ERR_INVALID_ARG);
	unit_assert_dir_is(f->dir, "");
}

/* ---- ferry_file_read ---- */

static void
test_read_exact_limit(void **state)
{
	struct fx *f = *state;
	unsigned char data[100], *out = NULL;
	size_t i, outlen = 0;
	char p[512];

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i + 1);
	unit_join(p, sizeof(p), f->dir, "f");
	unit_put_file(p, data, sizeof(data));
	assert_int_equal(ferry_file_read(p, 100, &out, &outlen), 0);
	assert_non_null(out);
	assert_int_equal(outlen, 100);
	assert_memory_equal(out, data, 100);
	assert_int_equal(out[100], '\0');
	free(out);

	/* A generous limit works the same. */
	out = NULL;
	assert_int_equal(ferry_file_read(p, 1u << 30, &out, &outlen), 0);
	assert_int_equal(outlen, 100);
	assert_memory_equal(out, data, 100);
	assert_int_equal(out[100], '\0');
	free(out);
}

static void
test_read_over_limit(void **state)
{
	struct fx *f = *state;
	unsigned char data[101], *out = (unsigned char *)"sentinel";
	size_t outlen = 4242;
	char p[512];

	memset(data, 'q', sizeof(data));
	unit_join(p, sizeof(p), f->dir, "f");
	unit_put_file(p, data, sizeof(data));
	assert_int_equal(ferry_file_read(p, 100, &out, &outlen),
	    FERRY_ERR_TOO_LARGE);
	assert_string_equal((const char *)out, "sentinel");
	assert_int_equal(outlen, 4242);
	assert_int_equal(ferry_file_read(p, 0, &out, &outlen),
	    FERRY_ERR_TOO_LARGE);
	assert_int_equal(ferry_file_read(p, 1, &out, &outlen),
	    FERRY_ERR_TOO_LARGE);
	/* Over a limit above the initial 4096-byte guess too. */
	{
		unsigned char *big = malloc(10000);

		assert_non_null(big);
		memset(big, 'b', 10000);
		unit_put_file(p, big, 10000);
		assert_int_equal(ferry_file_read(p, 9999, &out, &outlen),
		    FERRY_ERR_TOO_LARGE);
		assert_int_equal(ferry_file_read(p, 5000, &out, &outlen),
		    FERRY_ERR_TOO_LARGE);
		out = NULL;
		assert_int_equal(ferry_file_read(p, 10000, &out, &outlen), 0);
		assert_int_equal(outlen, 10000);
		assert_memory_equal(out, big, 10000);
		assert_int_equal(out[10000], '\0');
		free(out);
		free(big);
	}
}

static void
test_read_empty(void **state)
{
	struct fx *f = *state;
	unsigned char *out = NULL;
	size_t outlen = 99;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "empty");
	unit_put_file(p, "", 0);
	assert_int_equal(ferry_file_read(p, 0, &out, &outlen), 0);
	assert_non_null(out);
	assert_int_equal(outlen, 0);
	assert_int_equal(out[0], '\0');
	free(out);
	out = NULL;
	outlen = 99;
	assert_int_equal(ferry_file_read(p, 4096, &out, &outlen), 0);
	assert_non_null(out);
	assert_int_equal(outlen, 0);
	assert_int_equal(out[0], '\0');
	free(out);
}

/* Embedded NULs are data; the terminating NUL is extra. */
static void
test_read_binary(void **state)
{
	struct fx *f = *state;
	static const unsigned char data[] = { 0, 'a', 0, 0xff, 0, '\n', 0x80 };
	unsigned char *out = NULL;
	size_t outlen = 0;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "bin");
	unit_put_file(p, data, sizeof(data));
	assert_int_equal(ferry_file_read(p, sizeof(data), &out, &outlen), 0);
	assert_int_equal(outlen, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(out[sizeof(data)], '\0');
	free(out);
}

static void
test_read_directory(void **state)
{
	struct fx *f = *state;
	unsigned char *out = NULL;
	size_t outlen = 0;

	errno = 0;
	assert_int_equal(ferry_file_read(f->dir, 4096, &out, &outlen),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EISDIR);
	assert_null(out);
}

static void
test_read_not_regular(void **state)
{
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	errno = 0;
	assert_int_equal(ferry_file_read("/dev/null", 4096, &out, &outlen),
	    FERRY_ERR_IO);
	assert_int_not_equal(errno, 0);
	assert_null(out);
}

/*
 * A FIFO is not a regular file either, and must be refused without
 * blocking: open(2) of a FIFO for reading waits for a writer unless
 * O_NONBLOCK is given.  Run in a child with an alarm so a hang is
 * reported as a failure instead of stalling the suite.
 */
static void
test_read_fifo_does_not_block(void **state)
{
	struct fx *f = *state;
	char p[512];
	pid_t pid;
	int status = 0;

	unit_join(p, sizeof(p), f->dir, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		unsigned char *out = NULL;
		size_t outlen = 0;
		int r;

		alarm(3);
		r = ferry_file_read(p, 4096, &out, &outlen);
		_exit(r == FERRY_ERR_IO && out == NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("ferry_file_read on a FIFO blocked (killed by "
		    "signal %d)", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The same for ferry_file_open_regular(), which callers read from. */
static void
test_open_regular(void **state)
{
	struct fx *f = *state;
	char p[512], d[512];
	struct stat st;
	pid_t pid;
	int status = 0, fd;

	unit_join(p, sizeof(p), f->dir, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		alarm(3);
		fd = ferry_file_open_regular(p, NULL);
		_exit(fd == -1 && errno == EINVAL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("ferry_file_open_regular on a FIFO blocked (killed "
		    "by signal %d)", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	errno = 0;
	assert_int_equal(ferry_file_open_regular(f->dir, NULL), -1);
	assert_int_equal(errno, EISDIR);
	unit_join(d, sizeof(d), f->dir, "missing");
	assert_int_equal(ferry_file_open_regular(d, NULL), -1);
	assert_int_equal(errno, ENOENT);
	/* A regular file: open, and reads block as usual (no O_NONBLOCK). */
	unit_join(d, sizeof(d), f->dir, "regular");
	assert_int_equal(ferry_file_write_atomic(d, "x", 1, 0600), 0);
	fd = ferry_file_open_regular(d, &st);
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 1);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void
test_read_missing(void **state)
{
	struct fx *f = *state;
	unsigned char *out = NULL;
	size_t outlen = 0;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "missing");
	errno = 0;
	assert_int_equal(ferry_file_read(p, 4096, &out, &outlen),
	    FERRY_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_null(out);
	unit_join(p, sizeof(p), f->dir, "missing/below");
	errno = 0;
	assert_int_equal(ferry_file_read(p, 4096, &out, &outlen),
	    FERRY_ERR_IO);
	assert_int_equal(errno, ENOENT);
}

static void
test_read_bad_args(void **state)
{
	struct fx *f = *state;
	unsigned char *out = NULL;
	size_t outlen = 0;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "f");
	unit_put_file(p, "x", 1);
	assert_int_equal(ferry_file_read(NULL, 10, &out, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_file_read(p, 10, NULL, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_file_read(p, 10, &out, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_file_read(p, SIZE_MAX, &out, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_null(out);
}

/* A large regular file: read completely, at and around the limit. */
static void
test_read_large(void **state)
{
	struct fx *f = *state;
	size_t len = 3 * MIB, i, outlen = 0;
	unsigned char *data, *out = NULL;
	char p[512];

	data = malloc(len);
	assert_non_null(data);
	for (i = 0; i < len; i++)
		data[i] = (unsigned char)((i * 2654435761u) >> 24);
	unit_join(p, sizeof(p), f->dir, "large");
	assert_int_equal(ferry_file_write_atomic(p, data, len, 0600), 0);

	assert_int_equal(ferry_file_read(p, 64 * MIB, &out, &outlen), 0);
	assert_int_equal(outlen, len);
	assert_memory_equal(out, data, len);
	assert_int_equal(out[len], '\0');
	free(out);

	out = NULL;
	assert_int_equal(ferry_file_read(p, len, &out, &outlen), 0);
	assert_int_equal(outlen, len);
	assert_memory_equal(out, data, len);
	assert_int_equal(out[len], '\0');
	free(out);

	out = NULL;
	assert_int_equal(ferry_file_read(p, len + 1, &out, &outlen), 0);
	assert_int_equal(outlen, len);
	free(out);

	out = NULL;
	assert_int_equal(ferry_file_read(p, len - 1, &out, &outlen),
	    FERRY_ERR_TOO_LARGE);
	assert_null(out);
	free(data);
}

/*
 * The growth path from the initial 4096-byte guess: a regular file whose
 * st_size is 0 but which holds megabytes (/proc/kallsyms and the like).
 * Compared against a plain stdio read; skipped where no such file exists.
 */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, n = 0, got;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, fp);
		if (got == 0)
			break;
		n += got;
	}
	fclose(fp);
	*len = n;
	return buf;
}

static void
test_read_growth_from_zero_size(void **state)
{
	static const char *const cands[] = {
		"/proc/kallsyms", "/proc/self/mountinfo", "/proc/modules",
	};
	unsigned char *a, *b, *out;
	size_t alen, blen, outlen, i;
	struct stat st;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		if (stat(cands[i], &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size != 0)
			continue;
		a = slurp(cands[i], &alen);
		b = slurp(cands[i], &blen);
		if (a == NULL || b == NULL || alen != blen || alen < 3 * 4096 ||
		    memcmp(a, b, alen) != 0) {
			free(a);
			free(b);
			continue;
		}
		out = NULL;
		r = ferry_file_read(cands[i], 256 * MIB, &out, &outlen);
		assert_int_equal(r, 0);
		assert_int_equal(outlen, alen);
		assert_memory_equal(out, a, alen);
		assert_int_equal(out[outlen], '\0');
		free(out);
		/* And the limit holds on such a file: one byte short. */
		out = NULL;
		assert_int_equal(ferry_file_read(cands[i], alen - 1, &out,
		    &outlen), FERRY_ERR_TOO_LARGE);
		assert_null(out);
		out = NULL;
		assert_int_equal(ferry_file_read(cands[i], 5000, &out,
		    &outlen), FERRY_ERR_TOO_LARGE);
		free(a);
		free(b);
		return;
	}
	skip();
}

/* ---- ferry_batch_add_atomic ---- */

static void
test_batch_add_atomic(void **state)
{
	struct fx *f = *state;
	struct ferry_batch *b = NULL;
	struct ferry_atomic *a = NULL;
	char p[512], q[512];

	unit_join(p, sizeof(p), f->dir, "streamed");
	unit_join(q, sizeof(q), f->dir, "whole");
	assert_int_equal(ferry_batch_new(&b), 0);
	assert_int_equal(ferry_atomic_open(p, 0644, &a), 0);
	assert_int_equal(ferry_atomic_write(a, "part one, ", 10), 0);
	assert_int_equal(ferry_atomic_write(a, "part two", 8), 0);
	assert_int_equal(ferry_batch_add_atomic(b, a), 0);
	assert_int_equal(ferry_batch_add(b, q, "whole", 5, 0644), 0);
	/* Nothing under the final names before the commit. */
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(ferry_batch_commit(b), 0);
	assert_file_is(p, "part one, part two", 18);
	assert_file_is(q, "whole", 5);
	/* A committed batch takes no more, and frees what it is given. */
	assert_int_equal(ferry_atomic_open(p, 0644, &a), 0);
	assert_int_equal(ferry_batch_add_atomic(b, a), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_batch_add_atomic(b, NULL), FERRY_ERR_INVALID_ARG);
	ferry_batch_free(b);
	unit_assert_dir_is(f->dir, "streamed/whole");
}

static void
test_batch_add_atomic_discarded(void **state)
{
	struct fx *f = *state;
	struct ferry_batch *b = NULL;
	struct ferry_atomic *a = NULL;
	char p[512];

	unit_join(p, sizeof(p), f->dir, "never");
	assert_int_equal(ferry_batch_new(&b), 0);
	assert_int_equal(ferry_atomic_open(p, 0644, &a), 0);
	assert_int_equal(ferry_atomic_write(a, "x", 1), 0);
	assert_int_equal(ferry_batch_add_atomic(b, a), 0);
	ferry_batch_free(b);	/* uncommitted: the temporary goes */
	unit_assert_dir_is(f->dir, "");
}

/* ---- ferry_file_rmtree ---- */

static void
test_rmtree_does_not_follow_links(void **state)
{
	struct fx *f = *state;
	char tree[512], sub[512], p[512], out[512], keep[512];

	unit_join(tree, sizeof(tree), f->dir, "tree");
	unit_join(sub, sizeof(sub), tree, "sub");
	unit_join(out, sizeof(out), f->dir, "outside");
	unit_join(keep, sizeof(keep), out, "keep");
	assert_int_equal(mkdir(tree, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(out, 0755), 0);
	unit_put_file(keep, "kept", 4);
	unit_join(p, sizeof(p), sub, "file");
	unit_put_file(p, "x", 1);
	unit_join(p, sizeof(p), sub, "link");
	assert_int_equal(symlink(out, p), 0);
	assert_int_equal(ferry_file_rmtree(tree), 0);
	assert_int_equal(access(tree, F_OK), -1);
	/* The link went, not what it pointed to. */
	assert_file_is(keep, "kept", 4);
	unit_assert_dir_is(f->dir, "outside");
	assert_int_equal(ferry_file_rmtree(tree), -1);
}

/*
 * ferry_file_write_all: every byte of 4 MiB to a file, and -1 with errno
 * for a descriptor that cannot be written.
 */
static void
test_write_all(void **state)
{
	struct fx *f = *state;
	unsigned char *buf = malloc(4 * MIB);
	char path[512];
	size_t i;
	int fd;

	assert_non_null(buf);
	for (i = 0; i < 4 * MIB; i++)
		buf[i] = (unsigned char)(i * 7 + i / 4096);
	snprintf(path, sizeof(path), "%s/all", f->dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(ferry_file_write_all(fd, buf, 4 * MIB), 0);
	assert_int_equal(ferry_file_write_all(fd, buf, 0), 0);
	assert_int_equal(close(fd), 0);
	assert_file_is(path, buf, 4 * MIB);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	errno = 0;
	assert_int_equal(ferry_file_write_all(fd, buf, 10), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(close(fd), 0);
	free(buf);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_creates_with_content),
		T(test_write_all),
		T(test_write_empty),
		T(test_write_mode_ignores_umask),
		T(test_write_replaces_existing),
		T(test_write_replaces_symlink_target),
		T(test_write_missing_directory),
		T(test_write_parent_is_file),
		T(test_write_unwritable_directory),
		T(test_write_target_is_directory),
		T(test_write_bad_args),
		T(test_atomic_free_without_commit),
		T(test_atomic_link),
		T(test_atomic_commit_and_size),
		T(test_atomic_large_stream),
		T(test_atomic_tmp_symlink_not_followed),
		T(test_write_new_creates),
		T(test_write_new_refuses_existing),
		T(test_batch_commit),
		T(test_batch_discarded),
		T(test_write_new_symlink_not_followed),
		T(test_atomic_commit_new_race),
		T(test_write_new_missing_directory),
		T(test_read_exact_limit),
		T(test_read_over_limit),
		T(test_read_empty),
		T(test_read_binary),
		T(test_read_directory),
		T(test_read_not_regular),
		T(test_read_fifo_does_not_block),
		T(test_open_regular),
		T(test_read_missing),
		T(test_read_bad_args),
		T(test_read_large),
		T(test_read_growth_from_zero_size),
		T(test_batch_add_atomic),
		T(test_batch_add_atomic_discarded),
		T(test_rmtree_does_not_follow_links),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

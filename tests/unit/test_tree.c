/* Unit tests for lib/tree.c: the served tree and its atomic switches. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

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
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/tree.h"

/* "hello\n", digests from sha256sum(1) and sha512sum(1). */
#define HELLO "hello\n"
#define HELLO_SHA256 \
	"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define HELLO_SHA512 \
	"e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931" \
	"f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629"
/* "hellO\n": same length, other bytes. */
#define HELLO2_SHA256 \
	"0655937a5582c55b9ac610ed7ce474ed9be0a0fbefe9afcba31b36040be5530b"

#define TS1 "{\"timestamp\":1}"
#define TS2 "{\"timestamp\":2}"
#define TS3 "{\"timestamp\":3}"

struct fx {
	char dir[UNIT_DIR_MAX];	/* the scratch directory */
	char tree[300];		/* dir/tree, made by ferry_tree_open */
};
UNIT_FX_CHECK(struct fx);

/* ---- helpers ---- */

static int
count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static int
setup(void **state)
{
	struct fx *f = unit_fx_new(state, sizeof(*f), "tree");

	if (f == NULL)
		return -1;
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->dir);
	return 0;
}

/* out = TREE/rel. */
static void
tpath(const struct fx *f, const char *rel, char *out, size_t cap)
{
	unit_join(out, cap, f->tree, rel);
}

static struct ferry_tree *
open_tree(const struct fx *f)
{
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;

	if (ferry_tree_open(f->tree, 0, &t, &err) != 0)
		fail_msg("ferry_tree_open: %s", ferry_error_msg(&err));
	assert_non_null(t);
	return t;
}

static void
put(struct ferry_tree *t, const char *name, const char *s)
{
	struct ferry_error err = { 0 };

	if (ferry_tree_put(t, name, s, strlen(s), &err) != 0)
		fail_msg("ferry_tree_put %s: %s", name, ferry_error_msg(&err));
}

static void
link_(struct ferry_tree *t, const char *name)
{
	struct ferry_error err = { 0 };

	if (ferry_tree_link(t, name, &err) != 0)
		fail_msg("ferry_tree_link %s: %s", name, ferry_error_msg(&err));
}

static void
begin(struct ferry_tree *t)
{
	struct ferry_error err = { 0 };

	if (ferry_tree_begin(t, &err) != 0)
		fail_msg("ferry_tree_begin: %s", ferry_error_msg(&err));
}

static void
switch_(struct ferry_tree *t, const char *ts)
{
	struct ferry_error err = { 0 };

	if (ferry_tree_switch(t, ts, strlen(ts), &err) != 0)
		fail_msg("ferry_tree_switch: %s", ferry_error_msg(&err));
}

/* Publish a state holding only root.json = root and the timestamp. */
static void
publish_simple(struct ferry_tree *t, const char *root, const char *ts)
{
	begin(t);
	put(t, "root.json", root);
	switch_(t, ts);
}

/* Assert path holds exactly the string want, read the plain way. */
static void
assert_file_is(const char *path, const char *want)
{
	size_t len = strlen(want), n;
	char *buf = malloc(len + 2);
	FILE *fp = fopen(path, "rb");

	assert_non_null(buf);
	if (fp == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	n = fread(buf, 1, len + 1, fp);
	fclose(fp);
	assert_int_equal(n, len);
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void
assert_missing(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Assert ferry_tree_read(state, name) gives exactly want. */
static void
assert_read_is(struct ferry_tree *t, int64_t state, const char *name,
    const char *want)
{
	struct ferry_error err = { 0 };
	unsigned char *buf = NULL;
	size_t len = 0;

	if (ferry_tree_read(t, state, name, 1 << 20, &buf, &len, &err) != 0)
		fail_msg("ferry_tree_read %lld %s: %s", (long long)state, name,
		    ferry_error_msg(&err));
	assert_int_equal(len, strlen(want));
	assert_memory_equal(buf, want, len);
	free(buf);
}

static void
assert_link_is(const struct fx *f, const char *want)
{
	char p[512], buf[256];
	ssize_t n;

	tpath(f, "metadata", p, sizeof(p));
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/* The regular files under dir (recursively), sorted, joined by ' '. */
static char walk_buf[8192];
static const char *walk_root;

static int
walk_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F) {
		if (walk_buf[0] != '\0')
			strncat(walk_buf, "\n", sizeof(walk_buf) -
			    strlen(walk_buf) - 1);
		strncat(walk_buf, path + strlen(walk_root) + 1,
		    sizeof(walk_buf) - strlen(walk_buf) - 1);
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
files_under(const char *dir, char *out, size_t cap)
{
	char *lines[256], *p, *save = NULL;
	size_t n = 0, i;

	walk_buf[0] = '\0';
	walk_root = dir;
	assert_int_equal(nftw(dir, walk_cb, 16, FTW_PHYS), 0);
	for (p = strtok_r(walk_buf, "\n", &save); p != NULL;
	    p = strtok_r(NULL, "\n", &save)) {
		assert_true(n < 256);
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(out, " ", cap - strlen(out) - 1);
		strncat(out, lines[i], cap - strlen(out) - 1);
	}
}

static void
assert_files_under(const char *dir, const char *want)
{
	char got[8192];

	files_under(dir, got, sizeof(got));
	assert_string_equal(got, want);
}

/* A descriptor reading len bytes of buf, from a file in the scratch dir. */
static int
source_fd(const struct fx *f, const void *buf, size_t len)
{
	char p[512];
	int fd;

	unit_join(p, sizeof(p), f->dir, "source");
	unit_put_file(p, buf, len);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(unlink(p), 0);
	return fd;
}

/* {"sha256": hex(sha256(buf))[, "sha512": ...]}, computed here. */
static json_t *
hashes_of(const void *buf, size_t len, int with512)
{
	unsigned char d[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1];
	json_t *h = json_object();
	size_t dl;

	assert_non_null(h);
	assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, buf, len, d, &dl),
	    0);
	ferry_hex_encode(d, dl, hex);
	assert_int_equal(json_object_set_new(h, "sha256", json_string(hex)),
	    0);
	if (with512) {
		assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA512, buf, len, d,
		    &dl), 0);
		ferry_hex_encode(d, dl, hex);
		assert_int_equal(json_object_set_new(h, "sha512",
		    json_string(hex)), 0);
	}
	return h;
}

/* ---- open and the layout ---- */

static void
test_open_creates_layout(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t;
	unsigned char *buf = NULL;
	int64_t *v = (int64_t *)1;
	size_t len = 0, n = 99;
	char p[512];
	struct stat st;

	assert_missing(f->tree);
	t = open_tree(f);
	unit_assert_dir_is(f->tree, ".lock/.states/targets");
	tpath(f, ".states", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	unit_assert_dir_is(p, "");
	tpath(f, "targets", p, sizeof(p));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	unit_assert_dir_is(p, "");
	tpath(f, ".lock", p, sizeof(p));
	assert_int_equal(unit_perm_of(p), 0600);

	assert_int_equal(ferry_tree_live(t), 0);
	assert_string_equal(ferry_tree_dir(t), f->tree);
	assert_int_equal(ferry_tree_has(t, "root.json"), 0);
	assert_int_equal(ferry_tree_read(t, 0, "root.json", 1024, &buf, &len,
	    &err), FERRY_ERR_NOT_FOUND);
	assert_int_equal(err.code, FERRY_ERR_NOT_FOUND);
	assert_null(buf);
	assert_int_equal(ferry_tree_states(t, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
	ferry_tree_close(t);

	/* Opening again changes nothing. */
	t = open_tree(f);
	assert_int_equal(ferry_tree_live(t), 0);
	unit_assert_dir_is(f->tree, ".lock/.states/targets");
	ferry_tree_close(t);
	ferry_tree_close(NULL);
}

static void
test_open_bad_args(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t = NULL;
	char p[512];

	assert_int_equal(ferry_tree_open(NULL, 0, &t, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_open(f->tree, 0, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(t);
	/* A parent that does not exist is not made. */
	unit_join(p, sizeof(p), f->dir, "no/such/tree");
	assert_int_equal(ferry_tree_open(p, 0, &t, NULL), FERRY_ERR_IO);
	assert_null(t);
}

/* A metadata that is not our symlink is refused, not overwritten. */
static void
test_open_refuses_foreign_metadata(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	char p[512];

	assert_int_equal(mkdir(f->tree, 0755), 0);
	tpath(f, "metadata", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err),
	    FERRY_ERR_REPOSITORY);
	assert_null(t);
	assert_non_null(strstr(err.msg, "not a symbolic link"));
	assert_int_equal(rmdir(p), 0);

	ferry_error_clear(&err);
	assert_int_equal(symlink("/etc", p), 0);
	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err),
	    FERRY_ERR_REPOSITORY);
	assert_null(t);
	assert_non_null(strstr(err.msg, "not to a state"));
	assert_int_equal(unlink(p), 0);

	ferry_error_clear(&err);
	assert_int_equal(symlink(".states/0000000000", p), 0);
	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err),
	    FERRY_ERR_REPOSITORY);
	assert_null(t);
	assert_int_equal(unlink(p), 0);

	ferry_error_clear(&err);
	assert_int_equal(symlink(".states/00000000012", p), 0);
	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err),
	    FERRY_ERR_REPOSITORY);
	assert_null(t);
	assert_int_equal(unlink(p), 0);
}

/* ---- states: begin, put, link, switch ---- */

static void
test_publish_first_state(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t = open_tree(f);
	char p[512];
	struct stat st;

	begin(t);
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "0000000001.tmp");
	put(t, "1.root.json", "{\"root\":1}");
	put(t, "root.json", "{\"root\":1}");
	put(t, "snapshot.json", "{\"snapshot\":1}");
	/* Nothing is visible before the switch. */
	assert_int_equal(ferry_tree_live(t), 0);
	assert_int_equal(ferry_tree_has(t, "root.json"), 0);
	tpath(f, "metadata", p, sizeof(p));
	assert_missing(p);

	switch_(t, TS1);
	assert_int_equal(ferry_tree_live(t), 1);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_link_is(f, ".states/0000000001");
	unit_assert_dir_is(f->tree, ".lock/.states/metadata/targets");
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "0000000001");
	/* No temporary is left in the state. */
	tpath(f, "metadata", p, sizeof(p));
	unit_assert_dir_is(p,
	    "1.root.json/root.json/snapshot.json/timestamp.json");
	tpath(f, "metadata/timestamp.json", p, sizeof(p));
	assert_file_is(p, TS1);
	assert_int_equal(unit_perm_of(p), 0644);
	tpath(f, "metadata/root.json", p, sizeof(p));
	assert_file_is(p, "{\"root\":1}");
	assert_int_equal(unit_perm_of(p), 0644);

	assert_int_equal(ferry_tree_has(t, "root.json"), 1);
	assert_int_equal(ferry_tree_has(t, "timestamp.json"), 1);
	assert_int_equal(ferry_tree_has(t, "targets.json"), 0);
	assert_read_is(t, 0, "snapshot.json", "{\"snapshot\":1}");
	assert_read_is(t, 1, "timestamp.json", TS1);
	ferry_tree_close(t);

	/* A new writer finds the published state. */
	t = open_tree(f);
	assert_int_equal(ferry_tree_live(t), 1);
	assert_read_is(t, 0, "root.json", "{\"root\":1}");
	assert_int_equal(ferry_tree_has(t, "1.root.json"), 1);
	ferry_tree_close(t);
}

static void
test_second_state_links(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	unsigned char *buf = NULL;
	struct stat a, b;
	char p1[512], p2[512];
	size_t len;

	begin(t);
	put(t, "root.json", "{\"root\":1}");
	put(t, "targets.json", "{\"targets\":1}");
	put(t, "snapshot.json", "{\"snapshot\":1}");
	switch_(t, TS1);

	begin(t);
	link_(t, "root.json");
	link_(t, "targets.json");
	put(t, "snapshot.json", "{\"snapshot\":2}");
	put(t, "apps.json", "{\"apps\":1}");
	/* Still state 1 for every reader until the switch. */
	assert_link_is(f, ".states/0000000001");
	assert_int_equal(ferry_tree_has(t, "apps.json"), 0);
	switch_(t, TS2);

	assert_int_equal(ferry_tree_live(t), 2);
	assert_link_is(f, ".states/0000000002");
	tpath(f, ".states", p1, sizeof(p1));
	unit_assert_dir_is(p1, "0000000001/0000000002");
	tpath(f, ".states/0000000002", p2, sizeof(p2));
	unit_assert_dir_is(p2, "apps.json/root.json/snapshot.json/"
	    "targets.json/timestamp.json");
	tpath(f, ".states/0000000001", p1, sizeof(p1));
	unit_assert_dir_is(p1,
	    "root.json/snapshot.json/targets.json/timestamp.json");

	/* Linked files are the same inode in both states. */
	tpath(f, ".states/0000000001/root.json", p1, sizeof(p1));
	tpath(f, ".states/0000000002/root.json", p2, sizeof(p2));
	assert_int_equal(stat(p1, &a), 0);
	assert_int_equal(stat(p2, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(b.st_nlink, 2);
	tpath(f, ".states/0000000001/targets.json", p1, sizeof(p1));
	assert_int_equal(stat(p1, &a), 0);
	assert_int_equal(a.st_nlink, 2);
	/* New ones are not. */
	tpath(f, ".states/0000000001/snapshot.json", p1, sizeof(p1));
	tpath(f, ".states/0000000002/snapshot.json", p2, sizeof(p2));
	assert_int_equal(stat(p1, &a), 0);
	assert_int_equal(stat(p2, &b), 0);
	assert_true(a.st_ino != b.st_ino);
	assert_int_equal(a.st_nlink, 1);

	/* read() of the live state and of the older one. */
	assert_read_is(t, 0, "snapshot.json", "{\"snapshot\":2}");
	assert_read_is(t, 2, "snapshot.json", "{\"snapshot\":2}");
	assert_read_is(t, 1, "snapshot.json", "{\"snapshot\":1}");
	assert_read_is(t, 0, "timestamp.json", TS2);
	assert_read_is(t, 1, "timestamp.json", TS1);
	assert_read_is(t, 1, "root.json", "{\"root\":1}");
	assert_read_is(t, 0, "apps.json", "{\"apps\":1}");
	assert_int_equal(ferry_tree_read(t, 1, "apps.json", 1024, &buf, &len,
	    &err), FERRY_ERR_NOT_FOUND);
	assert_null(buf);
	assert_int_equal(ferry_tree_has(t, "apps.json"), 1);
	ferry_tree_close(t);
}

static void
test_read_limits_and_names(void **state)
{
	static const char *bad[] = { "", ".hidden", "..", "a/b", "/root.json",
	    "../root.json" };
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	unsigned char *buf = NULL;
	size_t len = 77, i;

	publish_simple(t, "0123456789", TS1);
	/* Exactly at the limit is fine, one byte under is too large. */
	assert_int_equal(ferry_tree_read(t, 0, "root.json", 10, &buf, &len,
	    &err), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "0123456789", 10);
	free(buf);
	buf = NULL;
	len = 77;
	assert_int_equal(ferry_tree_read(t, 0, "root.json", 9, &buf, &len,
	    &err), FERRY_ERR_TOO_LARGE);
	assert_null(buf);
	assert_int_equal(len, 77);
	ferry_error_clear(&err);
	assert_int_equal(ferry_tree_read(t, 0, "nope.json", 100, &buf, &len,
	    &err), FERRY_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "not found"));
	ferry_error_clear(&err);
	assert_int_equal(ferry_tree_read(t, 42, "root.json", 100, &buf, &len,
	    &err), FERRY_ERR_NOT_FOUND);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ferry_tree_read(t, 0, bad[i], 100, &buf,
		    &len, &err), FERRY_ERR_INVALID_ARG);
		assert_int_equal(ferry_tree_has(t, bad[i]),
		    FERRY_ERR_INVALID_ARG);
	}
	assert_int_equal(ferry_tree_read(t, 0, NULL, 100, &buf, &len, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_has(t, NULL), FERRY_ERR_INVALID_ARG);
	assert_null(buf);
	assert_int_equal(len, 77);
	ferry_tree_close(t);
}

/* has() is about regular files of the live state only. */
static void
test_has(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t = open_tree(f);
	char p[512];

	assert_int_equal(ferry_tree_has(t, "root.json"), 0);
	publish_simple(t, "{}", TS1);
	assert_int_equal(ferry_tree_has(t, "root.json"), 1);
	assert_int_equal(ferry_tree_has(t, "timestamp.json"), 1);
	assert_int_equal(ferry_tree_has(t, "snapshot.json"), 0);
	/* Something odd placed in the state is not a metadata file. */
	tpath(f, ".states/0000000001/odd", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(ferry_tree_has(t, "odd"), 0);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink("root.json", p), 0);
	assert_int_equal(ferry_tree_has(t, "odd"), 0);
	assert_int_equal(unlink(p), 0);
	/* A file of a state being built is not in the live state. */
	begin(t);
	put(t, "snapshot.json", "{}");
	assert_int_equal(ferry_tree_has(t, "snapshot.json"), 0);
	ferry_tree_abort(t);
	ferry_tree_close(t);
}

static void
test_misuse_refused(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	char p[512];

	/* Nothing being built. */
	assert_int_equal(ferry_tree_put(t, "root.json", "x", 1, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_link(t, "root.json", &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_switch(t, TS1, strlen(TS1), &err),
	    FERRY_ERR_INVALID_ARG);
	ferry_tree_abort(t);	/* harmless */
	ferry_tree_abort(NULL);

	begin(t);
	/* One at a time. */
	ferry_error_clear(&err);
	assert_int_equal(ferry_tree_begin(t, &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "already being built"));
	/* Nothing live to link from. */
	assert_int_equal(ferry_tree_link(t, "root.json", &err),
	    FERRY_ERR_INVALID_ARG);
	/* timestamp.json is the switch's, and names are plain. */
	assert_int_equal(ferry_tree_put(t, "timestamp.json", "x", 1, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_put(t, "../x.json", "x", 1, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_put(t, ".x.json", "x", 1, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_put(t, "", "x", 1, &err),
	    FERRY_ERR_INVALID_ARG);
	put(t, "root.json", "{}");
	switch_(t, TS1);

	begin(t);
	assert_int_equal(ferry_tree_link(t, "missing.json", &err),
	    FERRY_ERR_IO);
	assert_int_equal(ferry_tree_link(t, "../root.json", &err),
	    FERRY_ERR_INVALID_ARG);
	ferry_tree_abort(t);
	/* The failed calls left nothing behind. */
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "0000000001");
	tpath(f, ".states/0000000001", p, sizeof(p));
	unit_assert_dir_is(p, "root.json/timestamp.json");
	ferry_tree_close(t);
}

/* A metadata file replaced in the next state leaves the live one alone. */
static void
test_put_does_not_touch_live(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t = open_tree(f);
	char p[512];

	publish_simple(t, "{\"root\":1}", TS1);
	begin(t);
	link_(t, "root.json");
	/* put over a linked name replaces the link, not the shared inode. */
	put(t, "root.json", "{\"root\":2}");
	switch_(t, TS2);
	tpath(f, ".states/0000000001/root.json", p, sizeof(p));
	assert_file_is(p, "{\"root\":1}");
	tpath(f, ".states/0000000002/root.json", p, sizeof(p));
	assert_file_is(p, "{\"root\":2}");
	/* The timestamp of the old state was not rewritten either. */
	tpath(f, ".states/0000000001/timestamp.json", p, sizeof(p));
	assert_file_is(p, TS1);
	ferry_tree_close(t);
}

/* ---- abort and recovery ---- */

static void
test_abort(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = hashes_of(HELLO, 6, 1);
	char p[512];
	int fd;

	publish_simple(t, "{\"root\":1}", TS1);
	begin(t);
	link_(t, "root.json");
	put(t, "snapshot.json", "{\"snapshot\":2}");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 6, fd,
	    &err), 0);
	close(fd);
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "0000000001/0000000002.tmp");
	ferry_tree_abort(t);

	/* The state being built is gone, with every temporary. */
	unit_assert_dir_is(p, "0000000001");
	tpath(f, "targets", p, sizeof(p));
	assert_files_under(p, "");
	assert_int_equal(ferry_tree_live(t), 1);
	assert_link_is(f, ".states/0000000001");
	tpath(f, "metadata", p, sizeof(p));
	unit_assert_dir_is(p, "root.json/timestamp.json");
	assert_read_is(t, 0, "timestamp.json", TS1);
	assert_int_equal(ferry_tree_has(t, "snapshot.json"), 0);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 6,
	    &err), 0);

	/* The next state gets the number the aborted one had. */
	begin(t);
	link_(t, "root.json");
	switch_(t, TS2);
	assert_int_equal(ferry_tree_live(t), 2);
	assert_link_is(f, ".states/0000000002");

	/* close() with an unfinished state aborts it. */
	begin(t);
	put(t, "snapshot.json", "{}");
	ferry_tree_close(t);
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "0000000001/0000000002");
	assert_link_is(f, ".states/0000000002");
	json_decref(h);
}

/* What a writer that died leaves is removed by the next open. */
static void
test_recover_after_crash(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t = open_tree(f);
	char p[512], states[512];

	publish_simple(t, "{\"root\":1}", TS1);
	begin(t);
	link_(t, "root.json");
	put(t, "snapshot.json", "{\"snapshot\":2}");
	switch_(t, TS2);
	ferry_tree_close(t);

	/* A state being built when the writer died... */
	tpath(f, ".states/0000000003.tmp", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, ".states/0000000003.tmp/snapshot.json", p, sizeof(p));
	unit_put_file(p, "{\"half\":1}", 10);
	tpath(f, ".states/0000000003.tmp/root.json.tmp.0123456789abcdef", p,
	    sizeof(p));
	unit_put_file(p, "{\"ha", 4);
	/* ...and one renamed into place but never switched to. */
	tpath(f, ".states/0000000003", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, ".states/0000000003/timestamp.json", p, sizeof(p));
	unit_put_file(p, TS3, strlen(TS3));
	/* An old unfinished one too. */
	tpath(f, ".states/0000000002.tmp", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	/* Things that are not states are not touched. */
	tpath(f, ".states/README", p, sizeof(p));
	unit_put_file(p, "x", 1);
	tpath(f, ".states", states, sizeof(states));
	unit_assert_dir_is(states, "0000000001/0000000002/0000000002.tmp/"
	    "0000000003/0000000003.tmp/README");

	t = open_tree(f);
	unit_assert_dir_is(states, "0000000001/0000000002/README");
	assert_int_equal(ferry_tree_live(t), 2);
	assert_link_is(f, ".states/0000000002");
	assert_read_is(t, 0, "snapshot.json", "{\"snapshot\":2}");
	assert_read_is(t, 0, "timestamp.json", TS2);
	assert_read_is(t, 1, "timestamp.json", TS1);
	/* And the next state can take number 3. */
	begin(t);
	link_(t, "root.json");
	switch_(t, TS3);
	assert_int_equal(ferry_tree_live(t), 3);
	assert_link_is(f, ".states/0000000003");
	tpath(f, "metadata", p, sizeof(p));
	unit_assert_dir_is(p, "root.json/timestamp.json");
	ferry_tree_close(t);
}

/*
 * A writer killed while storing targets leaves hidden temporaries under
 * targets/ and perhaps a half-made symlink: opening the tree removes
 * them, and nothing else.
 */
static void
test_recover_sweeps_temporaries(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = hashes_of(HELLO, 6, 0);
	char p[512], dir[512];
	int fd;

	/* A real target whose name looks like a temporary's. */
	begin(t);
	put(t, "root.json", "{}");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/a.tmp.0123456789abcdef",
	    h, 6, fd, &err), 0);
	close(fd);
	switch_(t, TS1);
	ferry_tree_close(t);

	tpath(f, ".states/0000000002.tmp", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, "targets/apps/." HELLO_SHA256 ".b.tmp.0123456789abcdef", p,
	    sizeof(p));
	unit_put_file(p, "hel", 3);
	tpath(f, "targets/.c.tmp.0123456789abcdef", p, sizeof(p));
	unit_put_file(p, "h", 1);
	tpath(f, "targets/x", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, "targets/x/y", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, "targets/x/y/.d.tmp.0123456789abcdef", p, sizeof(p));
	unit_put_file(p, "he", 2);
	tpath(f, ".metadata.tmp.0badf00d", p, sizeof(p));
	assert_int_equal(symlink(".states/0000000002", p), 0);
	/* Someone's hidden directory is neither removed nor a failure. */
	tpath(f, "targets/.well-known", dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0755), 0);
	tpath(f, "targets/.well-known/x", dir, sizeof(dir));
	unit_put_file(dir, "x", 1);

	t = open_tree(f);
	assert_int_equal(ferry_tree_live(t), 1);
	tpath(f, "targets", dir, sizeof(dir));
	assert_files_under(dir, ".well-known/x apps/" HELLO_SHA256
	    ".a.tmp.0123456789abcdef");
	assert_missing(p);
	unit_assert_dir_is(f->tree, ".lock/.states/metadata/targets");
	ferry_tree_close(t);
	json_decref(h);
}

/* targets/ may be a symbolic link (to another disk): it is swept too. */
static void
test_recover_symlinked_targets(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t = open_tree(f);
	char p[512], other[512];

	publish_simple(t, "{}", TS1);
	ferry_tree_close(t);
	tpath(f, "targets", p, sizeof(p));
	unit_join(other, sizeof(other), f->dir, "elsewhere");
	assert_int_equal(rename(p, other), 0);
	assert_int_equal(symlink(other, p), 0);
	tpath(f, ".states/0000000002.tmp", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	unit_join(p, sizeof(p), other, ".x.img.tmp.0123456789abcdef");
	unit_put_file(p, "x", 1);

	t = open_tree(f);
	assert_missing(p);
	unit_assert_dir_is(other, "");
	ferry_tree_close(t);
}

/*
 * A lost metadata link with published states behind it is refused, not
 * taken for a tree where nothing was published (which would remove them).
 */
static void
test_open_refuses_lost_link(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	char p[512], states[512];

	publish_simple(t, "{\"root\":1}", TS1);
	begin(t);
	link_(t, "root.json");
	switch_(t, TS2);
	ferry_tree_close(t);
	t = NULL;
	tpath(f, "metadata", p, sizeof(p));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err),
	    FERRY_ERR_REPOSITORY);
	assert_null(t);
	assert_non_null(strstr(err.msg, "metadata is missing, but "
	    ".states/0000000002 exists"));
	tpath(f, ".states", states, sizeof(states));
	unit_assert_dir_is(states, "0000000001/0000000002");
	/* Restored as the message says, the tree opens as before. */
	assert_int_equal(symlink(".states/0000000002", p), 0);
	t = open_tree(f);
	assert_int_equal(ferry_tree_live(t), 2);
	assert_read_is(t, 0, "timestamp.json", TS2);
	ferry_tree_close(t);
}

/* Before anything was published, every state on disk is a leftover. */
static void
test_recover_nothing_live(void **state)
{
	struct fx *f = *state;
	struct ferry_tree *t;
	char p[512];

	assert_int_equal(mkdir(f->tree, 0755), 0);
	tpath(f, ".states", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, ".states/0000000001", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	tpath(f, ".states/0000000001/root.json", p, sizeof(p));
	unit_put_file(p, "{}", 2);
	tpath(f, ".states/0000000002.tmp", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);

	t = open_tree(f);
	assert_int_equal(ferry_tree_live(t), 0);
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "");
	publish_simple(t, "{}", TS1);
	assert_link_is(f, ".states/0000000001");
	ferry_tree_close(t);
}

/* ---- the lock ---- */

/* flock() locks belong to the open file description: two opens conflict. */
static void
test_lock_same_process(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t1 = open_tree(f), *t2 = NULL;
	struct timespec a, b;

	assert_int_equal(ferry_tree_open(f->tree, 0, &t2, &err),
	    FERRY_ERR_TIMEOUT);
	assert_null(t2);
	assert_int_equal(err.code, FERRY_ERR_TIMEOUT);
	assert_non_null(strstr(err.msg, "another process is writing"));
	/* Waiting a second still fails, after about a second. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(ferry_tree_open(f->tree, 1, &t2, NULL),
	    FERRY_ERR_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_null(t2);
	assert_true((b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000 >= 900);
	ferry_tree_close(t1);

	t2 = open_tree(f);
	ferry_tree_close(t2);
}

/* The lock held by another process; released when that process closes. */
static void
test_lock_other_process(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	int up[2], down[2], status;
	char c = 0;
	pid_t pid;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts = { 0, 300 * 1000 * 1000 };
		struct ferry_tree *ct = NULL;

		close(up[0]);
		close(down[1]);
		if (ferry_tree_open(f->tree, 0, &ct, NULL) != 0)
			_exit(2);
		if (write(up[1], "L", 1) != 1)
			_exit(3);
		if (read(down[0], &c, 1) != 1)
			_exit(4);
		/* Hold on a little: the parent is waiting by now. */
		nanosleep(&ts, NULL);
		ferry_tree_close(ct);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(c, 'L');

	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err),
	    FERRY_ERR_TIMEOUT);
	assert_null(t);
	assert_int_equal(err.code, FERRY_ERR_TIMEOUT);
	assert_non_null(strstr(err.msg, ".lock"));

	/* Let the child go; a writer that waits gets the tree. */
	assert_int_equal(write(down[1], "G", 1), 1);
	ferry_error_clear(&err);
	assert_int_equal(ferry_tree_open(f->tree, 5, &t, &err), 0);
	assert_non_null(t);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ferry_tree_close(t);
	close(up[0]);
	close(down[1]);
}

/* ---- target paths ---- */

static void
test_target_path_ok(void **state)
{
	static const char *good[] = { "a", "a.img", "apps/a.img", "x/y/z.bin",
	    "a..b", "a.", "a b", "caf\xc3\xa9/\xe2\x98\x83.txt", "-", "~x" };
	static const struct {
		const char *path, *why;
	} bad[] = {
		{ "", "empty" },
		{ "/etc/passwd", "empty component" },
		{ "a//b", "empty component" },
		{ "a/", "empty component" },
		{ ".", "starts with '.'" },
		{ "..", "starts with '.'" },
		{ "../a", "starts with '.'" },
		{ "a/../b", "starts with '.'" },
		{ "a/./b", "starts with '.'" },
		{ ".hidden", "starts with '.'" },
		{ "apps/.hidden", "starts with '.'" },
		{ "a\x01" "b", "control byte or backslash" },
		{ "a\nb", "control byte or backslash" },
		{ "a\tb", "control byte or backslash" },
		{ "\x1f", "control byte or backslash" },
		{ "a\x7f", "control byte or backslash" },
		{ "a\\b", "control byte or backslash" },
		{ "..\\..\\x", "control byte or backslash" },
	};
	struct ferry_error err;
	char p[1100];
	size_t i;
	void *s = *state;

	(void)s;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ferry_error_clear(&err);
		if (ferry_tree_target_path_ok(good[i], &err) != 0)
			fail_msg("refused \"%s\": %s", good[i], err.msg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ferry_error_clear(&err);
		if (ferry_tree_target_path_ok(bad[i].path, &err) !=
		    FERRY_ERR_INVALID_ARG)
			fail_msg("accepted \"%s\"", bad[i].path);
		assert_int_equal(err.code, FERRY_ERR_INVALID_ARG);
		if (strstr(err.msg, bad[i].why) == NULL)
			fail_msg("\"%s\": \"%s\" does not say \"%s\"",
			    bad[i].path, err.msg, bad[i].why);
	}
	assert_int_equal(ferry_tree_target_path_ok(NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_target_path_ok("", NULL),
	    FERRY_ERR_INVALID_ARG);

	/* Components of 100: 1,024 bytes in all is fine, 1,025 is not. */
	for (i = 0; i < 1024; i++)
		p[i] = (i % 101 == 100) ? '/' : 'b';
	p[1023] = 'b';
	p[1024] = '\0';
	assert_int_equal(ferry_tree_target_path_ok(p, NULL), 0);
	p[1024] = 'b';
	p[1025] = '\0';
	ferry_error_clear(&err);
	assert_int_equal(ferry_tree_target_path_ok(p, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "longer than 1024 bytes"));

	/* One component: 100 bytes is fine, 101 too long. */
	memset(p, 'c', 101);
	p[100] = '\0';
	assert_int_equal(ferry_tree_target_path_ok(p, NULL), 0);
	p[100] = 'c';
	p[101] = '\0';
	ferry_error_clear(&err);
	assert_int_equal(ferry_tree_target_path_ok(p, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "a component is too long"));
}

/* ---- targets ---- */

static void
test_target_put_two_hashes(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = json_pack("{s:s, s:s}", "sha256", HELLO_SHA256,
	    "sha512", HELLO_SHA512), *h256, *other;
	char p[512], q[512], dir[512];
	struct stat a, b;
	int fd;

	assert_non_null(h);
	h256 = json_pack("{s:s}", "sha256", HELLO_SHA256);
	other = json_pack("{s:s}", "sha256", HELLO2_SHA256);
	assert_non_null(h256);
	assert_non_null(other);
	begin(t);
	put(t, "root.json", "{}");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 6, fd,
	    &err), 0);
	close(fd);

	/* Not there before the switch. */
	tpath(f, "targets/apps/" HELLO_SHA256 ".hello.txt", p, sizeof(p));
	tpath(f, "targets/apps/" HELLO_SHA512 ".hello.txt", q, sizeof(q));
	assert_missing(p);
	assert_missing(q);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 6,
	    &err), 0);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h256, 6,
	    &err), 0);

	switch_(t, TS1);
	/* Under both names, one inode, and nothing else. */
	assert_file_is(p, HELLO);
	assert_file_is(q, HELLO);
	assert_int_equal(unit_perm_of(p), 0644);
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(stat(q, &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(a.st_nlink, 2);
	tpath(f, "targets", dir, sizeof(dir));
	assert_files_under(dir, "apps/" HELLO_SHA256 ".hello.txt "
	    "apps/" HELLO_SHA512 ".hello.txt");

	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 6,
	    &err), 1);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h256, 6,
	    &err), 1);
	/* Another length, content or path is another target. */
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 5,
	    &err), 0);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 7,
	    &err), 0);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", other, 6,
	    &err), 0);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.bin", h, 6,
	    &err), 0);
	/*
	 * An algorithm nobody can check proves nothing, even when its
	 * "digest" names a file that is there.
	 */
	{
		json_t *odd = json_pack("{s:s}", "sha3-256", HELLO_SHA256);

		assert_non_null(odd);
		ferry_error_clear(&err);
		assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt",
		    odd, 6, &err), FERRY_ERR_HASH_UNSUPPORTED);
		assert_non_null(strstr(err.msg, "hashes.sha3-256"));
		json_decref(odd);
	}
	assert_int_equal(ferry_tree_target_has(t, "hello.txt", h, 6, &err),
	    0);
	/* Bad requests are errors, not "no". */
	assert_int_equal(ferry_tree_target_has(t, "../hello.txt", h, 6, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", NULL, 6,
	    &err), FERRY_ERR_META_FIELD);
	json_decref(other);
	other = json_pack("{s:s}", "sha256", "not hex");
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", other, 6,
	    &err), FERRY_ERR_META_FIELD);
	json_decref(other);
	other = json_pack("{s:i}", "sha256", 5);
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", other, 6,
	    &err), FERRY_ERR_META_FIELD);
	json_decref(other);
	other = json_object();
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", other, 6,
	    &err), FERRY_ERR_META_FIELD);
	json_decref(other);

	json_decref(h256);
	json_decref(h);
	ferry_tree_close(t);
}

/*
 * A target stored again, after its names came apart (a copy under one of
 * them): afterwards every name is the one new file again.
 */
static void
test_target_put_again_relinks(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = json_pack("{s:s, s:s}", "sha256", HELLO_SHA256,
	    "sha512", HELLO_SHA512);
	char p[512], q[512], dir[512];
	struct stat a, b;
	int fd, round;

	assert_non_null(h);
	tpath(f, "targets/" HELLO_SHA256 ".hello.txt", p, sizeof(p));
	tpath(f, "targets/" HELLO_SHA512 ".hello.txt", q, sizeof(q));
	for (round = 0; round < 3; round++) {
		begin(t);
		put(t, "root.json", "{}");
		fd = source_fd(f, HELLO, 6);
		assert_int_equal(ferry_tree_target_put(t, "hello.txt", h, 6, fd,
		    &err), 0);
		close(fd);
		switch_(t, round == 0 ? TS1 : round == 1 ? TS2 : TS3);
		assert_int_equal(stat(p, &a), 0);
		assert_int_equal(stat(q, &b), 0);
		assert_true(a.st_ino == b.st_ino);
		assert_int_equal(a.st_nlink, 2);
		assert_file_is(q, HELLO);
		/* Part the names: a copy under the second, then the first. */
		if (round == 0) {
			assert_int_equal(unlink(q), 0);
			unit_put_file(q, HELLO, 6);
		} else if (round == 1) {
			assert_int_equal(unlink(p), 0);
			unit_put_file(p, HELLO, 6);
		}
	}
	tpath(f, "targets", dir, sizeof(dir));
	assert_files_under(dir, HELLO_SHA256 ".hello.txt " HELLO_SHA512
	    ".hello.txt");
	json_decref(h);
	ferry_tree_close(t);
}

/*
 * A file checked elsewhere is linked in under every name, not copied;
 * one of the wrong length is refused.
 */
static void
test_target_link(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = json_pack("{s:s, s:s}", "sha256", HELLO_SHA256,
	    "sha512", HELLO_SHA512);
	char src[512], p[512], q[512], dir[512];
	struct stat a, b, c;

	assert_non_null(h);
	unit_join(src, sizeof(src), f->dir, "download");
	unit_put_file(src, HELLO, 6);
	begin(t);
	put(t, "root.json", "{}");
	assert_int_equal(ferry_tree_target_link(t, "apps/hello.txt", h, 5,
	    src, &err), FERRY_ERR_LENGTH_MISMATCH);
	assert_int_equal(ferry_tree_target_link(t, "../x", h, 6, src, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_target_link(t, "apps/hello.txt", h, 6,
	    src, &err), 0);
	tpath(f, "targets/apps/" HELLO_SHA256 ".hello.txt", p, sizeof(p));
	tpath(f, "targets/apps/" HELLO_SHA512 ".hello.txt", q, sizeof(q));
	assert_missing(p);
	switch_(t, TS1);
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(stat(q, &b), 0);
	assert_int_equal(stat(src, &c), 0);
	assert_true(a.st_ino == c.st_ino && b.st_ino == c.st_ino);
	assert_file_is(q, HELLO);
	tpath(f, "targets", dir, sizeof(dir));
	assert_files_under(dir, "apps/" HELLO_SHA256 ".hello.txt "
	    "apps/" HELLO_SHA512 ".hello.txt");
	json_decref(h);
	ferry_tree_close(t);
}

/*
 * A file on another file system (/dev/shm, where it is one) is copied
 * instead, and checked while it is: a changed byte is refused.
 */
static void
test_target_link_other_fs(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t;
	json_t *h = hashes_of(HELLO, 6, 1);
	char src[] = "/dev/shm/ferry-test-tree.XXXXXX", p[512];
	struct stat a, b;
	int fd;

	if ((fd = mkstemp(src)) == -1)
		skip();
	assert_int_equal(write(fd, HELLO, 6), 6);
	close(fd);
	assert_int_equal(stat(src, &a), 0);
	assert_int_equal(mkdir(f->tree, 0755), 0);
	assert_int_equal(stat(f->tree, &b), 0);
	if (a.st_dev == b.st_dev) {
		(void)unlink(src);
		json_decref(h);
		skip();
	}
	t = open_tree(f);
	begin(t);
	put(t, "root.json", "{}");
	assert_int_equal(ferry_tree_target_link(t, "hello.txt", h, 6, src,
	    &err), 0);
	switch_(t, TS1);
	tpath(f, "targets/" HELLO_SHA256 ".hello.txt", p, sizeof(p));
	assert_file_is(p, HELLO);
	/* Copied, so checked: another byte of the same length is refused. */
	assert_int_equal((fd = open(src, O_WRONLY)) >= 0, 1);
	assert_int_equal(write(fd, "J", 1), 1);
	close(fd);
	begin(t);
	assert_int_equal(ferry_tree_target_link(t, "again.txt", h, 6, src,
	    &err), FERRY_ERR_HASH_MISMATCH);
	ferry_tree_abort(t);
	ferry_tree_close(t);
	(void)unlink(src);
	json_decref(h);
}

/* Targets at the top of targets/, empty ones, and one stored twice. */
static void
test_target_put_top_empty_again(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = json_pack("{s:s, s:s}", "sha256", HELLO_SHA256,
	    "sha512", HELLO_SHA512), *h256, *other;
	char p[512], q[512], dir[512];
	int fd;

	assert_non_null(h);
	h256 = json_pack("{s:s}", "sha256", HELLO_SHA256);
	assert_non_null(h256);
	tpath(f, "targets/apps/" HELLO_SHA256 ".hello.txt", p, sizeof(p));
	tpath(f, "targets/apps/" HELLO_SHA512 ".hello.txt", q, sizeof(q));
	tpath(f, "targets", dir, sizeof(dir));
	begin(t);
	put(t, "root.json", "{}");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 6, fd,
	    &err), 0);
	close(fd);
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "top.txt", h256, 6, fd,
	    &err), 0);
	close(fd);
	other = hashes_of("", 0, 0);
	fd = source_fd(f, "", 0);
	assert_int_equal(ferry_tree_target_put(t, "a/b/c/empty", other, 0, fd,
	    &err), 0);
	close(fd);
	switch_(t, TS1);
	assert_files_under(dir, HELLO_SHA256 ".top.txt a/b/c/"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	    ".empty apps/" HELLO_SHA256 ".hello.txt "
	    "apps/" HELLO_SHA512 ".hello.txt");
	assert_int_equal(ferry_tree_target_has(t, "a/b/c/empty", other, 0,
	    &err), 1);
	assert_int_equal(ferry_tree_target_has(t, "top.txt", h256, 6, &err),
	    1);
	/* Stored again in a later state: still one file per name. */
	begin(t);
	link_(t, "root.json");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 6, fd,
	    &err), 0);
	close(fd);
	switch_(t, TS2);
	/*
	 * Both names still hold the image.  (They need not share an inode
	 * any more: the first name is replaced by the new copy and the
	 * second, already there, is kept.)
	 */
	assert_file_is(p, HELLO);
	assert_file_is(q, HELLO);
	assert_int_equal(unit_perm_of(p), 0644);
	assert_int_equal(unit_perm_of(q), 0644);
	assert_files_under(dir, HELLO_SHA256 ".top.txt a/b/c/"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	    ".empty apps/" HELLO_SHA256 ".hello.txt "
	    "apps/" HELLO_SHA512 ".hello.txt");
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 6,
	    &err), 1);

	json_decref(other);
	json_decref(h256);
	json_decref(h);
	ferry_tree_close(t);
}

/* A refused image leaves no file and no temporary, now or at the switch. */
static void
test_target_put_refuses_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = json_pack("{s:s, s:s}", "sha256", HELLO_SHA256,
	    "sha512", HELLO_SHA512), *wrong, *half;
	char dir[512], p[512];
	int fd;

	/* sha256 right, sha512 of something else. */
	half = hashes_of("hellO\n", 6, 1);
	assert_int_equal(json_object_set_new(half, "sha256",
	    json_string(HELLO_SHA256)), 0);
	wrong = json_pack("{s:s}", "sha256", HELLO2_SHA256);
	assert_non_null(h);
	assert_non_null(half);
	assert_non_null(wrong);
	tpath(f, "targets", dir, sizeof(dir));
	begin(t);
	put(t, "root.json", "{}");

	/* Longer than its metadata says. */
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 5, fd,
	    &err), FERRY_ERR_LENGTH_MISMATCH);
	close(fd);
	assert_int_equal(err.code, FERRY_ERR_LENGTH_MISMATCH);
	assert_non_null(strstr(err.msg, "longer than the 5 bytes"));
	assert_files_under(dir, "");

	/* Shorter. */
	ferry_error_clear(&err);
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 7, fd,
	    &err), FERRY_ERR_LENGTH_MISMATCH);
	close(fd);
	assert_int_equal(err.code, FERRY_ERR_LENGTH_MISMATCH);
	assert_non_null(strstr(err.msg, "has 6 bytes, its metadata says 7"));
	assert_files_under(dir, "");

	/* Same length, other bytes. */
	ferry_error_clear(&err);
	fd = source_fd(f, "hellO\n", 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/hello.txt", h, 6, fd,
	    &err), FERRY_ERR_HASH_MISMATCH);
	close(fd);
	assert_int_equal(err.code, FERRY_ERR_HASH_MISMATCH);
	assert_non_null(strstr(err.msg, "does not match its metadata"));
	assert_files_under(dir, "");
	ferry_error_clear(&err);
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "w.txt", wrong, 6, fd,
	    &err), FERRY_ERR_HASH_MISMATCH);
	close(fd);
	assert_files_under(dir, "");

	/* One digest of two wrong. */
	ferry_error_clear(&err);
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/half.txt", half, 6,
	    fd, &err), FERRY_ERR_HASH_MISMATCH);
	close(fd);
	assert_non_null(strstr(err.msg, "sha512"));
	assert_files_under(dir, "");

	/* A good one after all that: only its own two names appear. */
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/good.txt", h, 6, fd,
	    &err), 0);
	close(fd);
	switch_(t, TS1);
	assert_files_under(dir, "apps/" HELLO_SHA256 ".good.txt "
	    "apps/" HELLO_SHA512 ".good.txt");
	assert_int_equal(ferry_tree_target_has(t, "apps/hello.txt", h, 6,
	    &err), 0);
	assert_int_equal(ferry_tree_target_has(t, "apps/half.txt", half, 6,
	    &err), 0);
	tpath(f, "targets/apps/" HELLO_SHA256 ".half.txt", p, sizeof(p));
	assert_missing(p);

	/* Outside a state being built, target_put is refused. */
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/late.txt", h, 6, fd,
	    &err), FERRY_ERR_INVALID_ARG);
	close(fd);
	assert_files_under(dir, "apps/" HELLO_SHA256 ".good.txt "
	    "apps/" HELLO_SHA512 ".good.txt");

	json_decref(wrong);
	json_decref(half);
	json_decref(h);
	ferry_tree_close(t);
}

/* Unusable hashes and paths are refused before anything is read. */
static void
test_target_put_refuses_unusable(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	json_t *h = hashes_of(HELLO, 6, 1), *wrong;
	char dir[512];
	int fd;

	tpath(f, "targets", dir, sizeof(dir));
	begin(t);
	put(t, "root.json", "{}");
	wrong = json_pack("{s:s}", "md5", "d41d8cd98f00b204e9800998ecf8427e");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "apps/x.txt", wrong, 6, fd,
	    &err), FERRY_ERR_HASH_UNSUPPORTED);
	json_decref(wrong);
	wrong = json_pack("{s:s}", "sha256", "5891B5B522D5DF086D0FF0B110FBD9D2"
	    "1BB4FC7163AF34D08286A2E846F6BE03");
	assert_int_equal(ferry_tree_target_put(t, "apps/x.txt", wrong, 6, fd,
	    &err), FERRY_ERR_META_FIELD);
	json_decref(wrong);
	wrong = json_object();
	assert_int_equal(ferry_tree_target_put(t, "apps/x.txt", wrong, 6, fd,
	    &err), FERRY_ERR_META_FIELD);
	assert_int_equal(ferry_tree_target_put(t, "apps/x.txt", NULL, 6, fd,
	    &err), FERRY_ERR_META_FIELD);
	assert_int_equal(ferry_tree_target_put(t, "../x.txt", h, 6, fd,
	    &err), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_tree_target_put(t, "apps/.x.txt", h, 6, fd,
	    &err), FERRY_ERR_INVALID_ARG);
	/* Nothing was read: the image is all there for the next try. */
	assert_int_equal(ferry_tree_target_put(t, "apps/x.txt", h, 6, fd,
	    &err), 0);
	close(fd);
	switch_(t, TS1);
	assert_files_under(dir, "apps/" HELLO_SHA256 ".x.txt "
	    "apps/" HELLO_SHA512 ".x.txt");
	json_decref(wrong);
	json_decref(h);
	ferry_tree_close(t);
}

/*
 * The longest component target_path_ok() accepts (100 bytes) must be
 * storable under its sha512 name too, whichever digest comes first.
 */
static int
check_longest_component(const struct fx *f, json_t *h, const char *want,
    char *why, size_t cap)
{
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	char name[130], path[140], dir[512];
	int fd, r;

	memset(name, 'n', 100);
	name[100] = '\0';
	snprintf(path, sizeof(path), "d/%s", name);
	assert_int_equal(ferry_tree_target_path_ok(path, NULL), 0);
	begin(t);
	put(t, "root.json", "{}");
	fd = source_fd(f, HELLO, 6);
	r = ferry_tree_target_put(t, path, h, 6, fd, &err);
	close(fd);
	if (r != 0) {
		snprintf(why, cap, "%s (%s)", ferry_strerror(r),
		    ferry_error_msg(&err));
		ferry_tree_close(t);
		return -1;
	}
	switch_(t, TS1);
	assert_int_equal(ferry_tree_target_has(t, path, h, 6, &err), 1);
	tpath(f, "targets/d", dir, sizeof(dir));
	unit_assert_dir_is(dir, want);
	ferry_tree_close(t);
	return 0;
}

static void
test_target_put_longest_component(void **state)
{
	static const char *order[][2] = {
		{ "sha256", "sha512" },	/* sha256's name is written first */
		{ "sha512", NULL },	/* sha512 alone, as metadata may give */
		{ "sha512", "sha256" },	/* sha512 listed first */
	};
	struct fx *f = *state;
	char longest[101], want[600], why[700], failed[2100] = "";
	json_t *h;
	size_t i, j;

	memset(longest, 'n', 100);
	longest[100] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		h = json_object();
		assert_non_null(h);
		for (j = 0; j < 2 && order[i][j] != NULL; j++)
			assert_int_equal(json_object_set_new(h, order[i][j],
			    json_string(strcmp(order[i][j], "sha256") == 0 ?
			    HELLO_SHA256 : HELLO_SHA512)), 0);
		if (order[i][1] == NULL)
			snprintf(want, sizeof(want), HELLO_SHA512 ".%s", longest);
		else
			snprintf(want, sizeof(want), HELLO_SHA256 ".%s/"
			    HELLO_SHA512 ".%s", longest, longest);
		if (check_longest_component(f, h, want, why, sizeof(why)) != 0)
			snprintf(failed + strlen(failed), sizeof(failed) -
			    strlen(failed), "\n  hashes %s%s%s: %.300s",
			    order[i][0], order[i][1] != NULL ? "," : "",
			    order[i][1] != NULL ? order[i][1] : "", why);
		json_decref(h);
		/* Each case on a tree of its own. */
		assert_int_equal(unit_rmtree(f->tree), 0);
	}
	if (failed[0] != '\0')
		fail_msg("a 100-byte component, accepted by "
		    "ferry_tree_target_path_ok(), cannot be stored:%s", failed);
}

/* ---- states on disk ---- */

static void
test_states_oldest_first(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	int64_t *v = NULL;
	size_t n = 0, i;
	char ts[64];

	for (i = 1; i <= 12; i++) {
		snprintf(ts, sizeof(ts), "{\"timestamp\":%zu}", i);
		begin(t);
		put(t, "root.json", "{}");
		switch_(t, ts);
	}
	assert_int_equal(ferry_tree_live(t), 12);
	/* A state being built is not one of them. */
	begin(t);
	assert_int_equal(ferry_tree_states(t, &v, &n, &err), 0);
	assert_int_equal(n, 12);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i], (int64_t)i + 1);
	free(v);
	ferry_tree_abort(t);

	assert_int_equal(ferry_tree_state_remove(t, 5, &err), 0);
	assert_int_equal(ferry_tree_state_remove(t, 1, &err), 0);
	assert_int_equal(ferry_tree_states(t, &v, &n, &err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(v[0], 2);
	assert_int_equal(v[1], 3);
	assert_int_equal(v[2], 4);
	assert_int_equal(v[3], 6);
	assert_int_equal(v[9], 12);
	free(v);
	ferry_tree_close(t);
}

static void
test_state_remove(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	char p[512];

	publish_simple(t, "{\"root\":1}", TS1);
	begin(t);
	link_(t, "root.json");
	switch_(t, TS2);
	begin(t);
	link_(t, "root.json");
	switch_(t, TS3);

	/* The live state stays. */
	assert_int_equal(ferry_tree_state_remove(t, 3, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(err.code, FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "in use"));
	/* So does the one being built. */
	begin(t);
	assert_int_equal(ferry_tree_state_remove(t, 4, &err),
	    FERRY_ERR_INVALID_ARG);
	tpath(f, ".states", p, sizeof(p));
	unit_assert_dir_is(p, "0000000001/0000000002/0000000003/"
	    "0000000004.tmp");
	ferry_tree_abort(t);

	/* An old one goes, files shared with others stay there. */
	assert_int_equal(ferry_tree_state_remove(t, 1, &err), 0);
	unit_assert_dir_is(p, "0000000002/0000000003");
	assert_read_is(t, 0, "root.json", "{\"root\":1}");
	assert_read_is(t, 2, "root.json", "{\"root\":1}");
	assert_read_is(t, 2, "timestamp.json", TS2);
	assert_link_is(f, ".states/0000000003");
	assert_int_equal(ferry_tree_live(t), 3);
	assert_int_equal(ferry_tree_state_remove(t, 2, &err), 0);
	unit_assert_dir_is(p, "0000000003");
	tpath(f, "metadata/root.json", p, sizeof(p));
	{
		struct stat st;

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_nlink, 1);
	}
	assert_file_is(p, "{\"root\":1}");
	ferry_tree_close(t);
}

static void
test_state_time(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = open_tree(f);
	struct timespec times[2];
	int64_t when = -1;
	time_t before, after;
	char p[512];

	before = time(NULL);
	publish_simple(t, "{}", TS1);
	after = time(NULL);
	assert_int_equal(ferry_tree_state_time(t, 1, &when, &err), 0);
	assert_true(when >= (int64_t)before && when <= (int64_t)after);

	/* It is the mtime of the state's timestamp.json, to the second. */
	tpath(f, ".states/0000000001/timestamp.json", p, sizeof(p));
	times[0].tv_sec = times[1].tv_sec = 1000000000;
	times[0].tv_nsec = times[1].tv_nsec = 999999999;
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	assert_int_equal(ferry_tree_state_time(t, 1, &when, &err), 0);
	assert_int_equal(when, 1000000000);

	/* Linking other files does not change it; a new state has its own. */
	begin(t);
	link_(t, "root.json");
	switch_(t, TS2);
	assert_int_equal(ferry_tree_state_time(t, 1, &when, &err), 0);
	assert_int_equal(when, 1000000000);
	assert_int_equal(ferry_tree_state_time(t, 2, &when, &err), 0);
	assert_true(when >= (int64_t)before);

	when = -1;
	assert_int_equal(ferry_tree_state_time(t, 7, &when, &err),
	    FERRY_ERR_IO);
	assert_int_equal(when, -1);
	ferry_tree_close(t);
}

/* ---- descriptors ---- */

/* Every path, success or failure, closes what it opened. */
static void
test_no_descriptor_leak(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t, *t2 = NULL;
	json_t *h = hashes_of(HELLO, 6, 1);
	int64_t *v = NULL;
	size_t n;
	int before = count_fds(), fd;

	t = open_tree(f);
	publish_simple(t, "{}", TS1);
	begin(t);
	link_(t, "root.json");
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "a/h.txt", h, 6, fd, &err),
	    0);
	close(fd);
	fd = source_fd(f, HELLO, 6);
	assert_int_equal(ferry_tree_target_put(t, "a/h.txt", h, 5, fd, &err),
	    FERRY_ERR_LENGTH_MISMATCH);
	close(fd);
	switch_(t, TS2);
	assert_int_equal(ferry_tree_states(t, &v, &n, &err), 0);
	free(v);
	assert_int_equal(ferry_tree_open(f->tree, 0, &t2, &err),
	    FERRY_ERR_TIMEOUT);
	begin(t);
	ferry_tree_abort(t);
	begin(t);
	ferry_tree_close(t);	/* with a state being built */
	assert_int_equal(count_fds(), before);
	json_decref(h);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, unit_fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_layout),
		T(test_open_bad_args),
		T(test_open_refuses_foreign_metadata),
		T(test_publish_first_state),
		T(test_second_state_links),
		T(test_read_limits_and_names),
		T(test_has),
		T(test_misuse_refused),
		T(test_put_does_not_touch_live),
		T(test_abort),
		T(test_recover_after_crash),
		T(test_recover_sweeps_temporaries),
		T(test_recover_nothing_live),
		T(test_open_refuses_lost_link),
		T(test_recover_symlinked_targets),
		T(test_lock_same_process),
		T(test_lock_other_process),
		T(test_target_path_ok),
		T(test_target_put_two_hashes),
		T(test_target_put_again_relinks),
		T(test_target_link),
		T(test_target_link_other_fs),
		T(test_target_put_top_empty_again),
		T(test_target_put_refuses_mismatch),
		T(test_target_put_refuses_unusable),
		T(test_target_put_longest_component),
		T(test_states_oldest_first),
		T(test_state_remove),
		T(test_state_time),
		T(test_no_descriptor_leak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

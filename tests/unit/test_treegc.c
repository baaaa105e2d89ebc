/* Unit tests for lib/treegc.c: pruning a tree of unreferenced targets. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/tree.h"
#include "lib/treegc.h"

/* "hello\n" and "world\n", digests from sha256sum(1). */
#define H_HELLO "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define H_WORLD "e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317"

#define EXPIRES "2030-01-01T00:00:00Z"

struct fx {
	char dir[UNIT_DIR_MAX];
	char tree[300];
};
UNIT_FX_CHECK(struct fx);

static int
setup(void **state)
{
	struct fx *f = unit_fx_new(state, sizeof(*f), "treegc");

	if (f == NULL)
		return -1;
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->dir);
	return 0;
}

static void
put(struct ferry_tree *t, const char *name, const char *s)
{
	struct ferry_error err = { 0 };

	if (ferry_tree_put(t, name, s, strlen(s), &err) != 0)
		fail_msg("ferry_tree_put %s: %s", name, ferry_error_msg(&err));
}

/* A target into the state being built, from a string. */
static void
target(struct fx *f, struct ferry_tree *t, const char *path, const char *s,
    const char *sha256)
{
	struct ferry_error err = { 0 };
	json_t *h = json_pack("{s:s}", "sha256", sha256);
	char src[512];
	int fd;

	assert_non_null(h);
	unit_join(src, sizeof(src), f->dir, "src");
	unit_put_file(src, s, strlen(s));
	assert_true((fd = open(src, O_RDONLY)) >= 0);
	if (ferry_tree_target_put(t, path, h, strlen(s), fd, &err) != 0)
		fail_msg("target_put %s: %s", path, ferry_error_msg(&err));
	close(fd);
	json_decref(h);
}

/*
 * Publish state v: timestamp -> v.snapshot.json -> v.targets.json listing
 * path (with sha256) and, when given, stored with content s.
 */
static void
publish(struct fx *f, struct ferry_tree *t, int v, const char *path,
    const char *sha256, const char *s)
{
	struct ferry_error err = { 0 };
	char name[64], buf[2048];

	assert_int_equal(ferry_tree_begin(t, &err), 0);
	snprintf(buf, sizeof(buf), "{\"signatures\":[],\"signed\":{\"_type\":"
	    "\"targets\",\"spec_version\":\"1.0.31\",\"version\":%d,"
	    "\"expires\":\"" EXPIRES "\",\"targets\":{\"%s\":{\"length\":6,"
	    "\"hashes\":{\"sha256\":\"%s\"}}}}}", v, path, sha256);
	snprintf(name, sizeof(name), "%d.targets.json", v);
	put(t, name, buf);
	snprintf(buf, sizeof(buf), "{\"signatures\":[],\"signed\":{\"_type\":"
	    "\"snapshot\",\"spec_version\":\"1.0.31\",\"version\":%d,"
	    "\"expires\":\"" EXPIRES "\",\"meta\":{\"targets.json\":"
	    "{\"version\":%d}}}}", v, v);
	snprintf(name, sizeof(name), "%d.snapshot.json", v);
	put(t, name, buf);
	if (s != NULL)
		target(f, t, path, s, sha256);
	snprintf(buf, sizeof(buf), "{\"signatures\":[],\"signed\":{\"_type\":"
	    "\"timestamp\",\"spec_version\":\"1.0.31\",\"version\":%d,"
	    "\"expires\":\"" EXPIRES "\",\"meta\":{\"snapshot.json\":"
	    "{\"version\":%d}}}}", v, v);
	if (ferry_tree_switch(t, buf, strlen(buf), &err) != 0)
		fail_msg("switch: %s", ferry_error_msg(&err));
}

static void
stray(struct fx *f, const char *rel, const char *s)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/targets/%s", f->tree, rel);
	unit_put_file(p, s, strlen(s));
}

static void
test_prunes_only_unreferenced(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	uint64_t files = 9, bytes = 9;
	char dir[512];

	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err), 0);
	publish(f, t, 1, "apps/hello.txt", H_HELLO, "hello\n");
	publish(f, t, 2, "world.txt", H_WORLD, "world\n");
	stray(f, "apps/" H_WORLD ".hello.txt", "world\n");	/* other hash */
	stray(f, "stray.img", "stray");
	stray(f, "apps/.x.img.tmp.0123456789abcdef", "half");
	snprintf(dir, sizeof(dir), "%s/targets", f->tree);
	/* Both states on disk: both their targets stay. */
	assert_int_equal(ferry_treegc_targets(t, &files, &bytes, &err), 0);
	assert_int_equal(files, 3);
	assert_int_equal(bytes, 6 + 5 + 4);
	unit_assert_dir_is(dir, "apps/" H_WORLD ".world.txt");
	snprintf(dir, sizeof(dir), "%s/targets/apps", f->tree);
	unit_assert_dir_is(dir, H_HELLO ".hello.txt");
	/* Again: nothing to do. */
	assert_int_equal(ferry_treegc_targets(t, &files, &bytes, &err), 0);
	assert_int_equal(files, 0);
	assert_int_equal(bytes, 0);
	/* State 1 gone: its target goes too. */
	assert_int_equal(ferry_tree_state_remove(t, 1, &err), 0);
	assert_int_equal(ferry_treegc_targets(t, &files, &bytes, &err), 0);
	assert_int_equal(files, 1);
	unit_assert_dir_is(dir, "");
	ferry_tree_close(t);
}

/* ferry_treegc_state_meta: the snapshot first, then each role file. */
struct seen_names {
	char names[4][64];
	int snapshot[4];
	int n;
	int stop_at;	/* return 7 at this call (1-based), or 0 */
};

static int
seen_cb(void *arg, const char *name, int snapshot, struct ferry_error *err)
{
	struct seen_names *w = arg;

	(void)err;
	assert_true(w->n < 4);
	snprintf(w->names[w->n], sizeof(w->names[0]), "%s", name);
	w->snapshot[w->n] = snapshot;
	return ++w->n == w->stop_at ? 7 : 0;
}

static void
test_state_meta(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	static const char no_snapshot[] = "{\"signatures\":[],\"signed\":"
	    "{\"_type\":\"timestamp\",\"spec_version\":\"1.0.31\","
	    "\"version\":3,\"expires\":\"" EXPIRES "\",\"meta\":{}}}";
	struct seen_names w;
	char bad[512];

	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err), 0);
	publish(f, t, 3, "hello.txt", H_HELLO, "hello\n");
	memset(&w, 0, sizeof(w));
	assert_int_equal(ferry_treegc_state_meta(t, 1, 1 << 20, seen_cb, &w,
	    &err), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.names[0], "3.snapshot.json");
	assert_int_equal(w.snapshot[0], 1);
	assert_string_equal(w.names[1], "3.targets.json");
	assert_int_equal(w.snapshot[1], 0);
	/* A non-zero return stops it, and is returned. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 1;
	assert_int_equal(ferry_treegc_state_meta(t, 1, 1 << 20, seen_cb, &w,
	    &err), 7);
	assert_int_equal(w.n, 1);
	/* Over the size limit: an error naming the file, no call. */
	memset(&w, 0, sizeof(w));
	assert_int_not_equal(ferry_treegc_state_meta(t, 1, 64, seen_cb, &w,
	    &err), 0);
	assert_int_equal(w.n, 0);
	/* A timestamp without its snapshot: an error naming the file. */
	snprintf(bad, sizeof(bad), "%s/.states/0000000001/timestamp.json",
	    f->tree);
	assert_int_equal(unlink(bad), 0);
	unit_put_file(bad, no_snapshot, strlen(no_snapshot));
	ferry_error_clear(&err);
	assert_int_not_equal(ferry_treegc_state_meta(t, 1, 1 << 20, seen_cb,
	    &w, &err), 0);
	if (strstr(err.msg, "state 1: timestamp.json") == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(w.n, 0);
	ferry_tree_close(t);
}

/* A state whose metadata cannot be read: an error, and nothing removed. */
static void
test_unreadable_state_removes_nothing(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	uint64_t files = 9, bytes = 9;
	char p[512];

	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err), 0);
	publish(f, t, 1, "hello.txt", H_HELLO, "hello\n");
	publish(f, t, 2, "world.txt", H_WORLD, "world\n");
	stray(f, "stray.img", "stray");
	snprintf(p, sizeof(p), "%s/.states/0000000001/1.targets.json",
	    f->tree);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(ferry_treegc_targets(t, &files, &bytes, &err),
	    FERRY_ERR_NOT_FOUND);
	assert_non_null(strstr(ferry_error_msg(&err), "1.targets.json"));
	assert_int_equal(files, 0);
	snprintf(p, sizeof(p), "%s/targets/stray.img", f->tree);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/targets/" H_HELLO ".hello.txt", f->tree);
	assert_int_equal(access(p, F_OK), 0);
	/* Not metadata of the kind named: the same. */
	snprintf(p, sizeof(p), "%s/.states/0000000001/1.targets.json",
	    f->tree);
	unit_put_file(p, "{}", 2);
	ferry_error_clear(&err);
	assert_true(ferry_treegc_targets(t, &files, &bytes, &err) != 0);
	assert_int_equal(files, 0);
	ferry_tree_close(t);
}

/* An empty tree, and one with nothing published: nothing to do. */
static void
test_empty(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_tree *t = NULL;
	uint64_t files = 9, bytes = 9;

	assert_int_equal(ferry_tree_open(f->tree, 0, &t, &err), 0);
	assert_int_equal(ferry_treegc_targets(t, &files, &bytes, &err), 0);
	assert_int_equal(files, 0);
	assert_int_equal(bytes, 0);
	ferry_tree_close(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prunes_only_unreferenced,
		    setup, unit_fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unreadable_state_removes_nothing, setup,
		    unit_fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_meta, setup,
		    unit_fx_teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup,
		    unit_fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

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
	char dir[256];
	char tree[300];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (unit_mkdtemp(f->dir, sizeof(f->dir), "treegc") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	(void)unit_rmtree(f->dir);
	free(f);
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
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unreadable_state_removes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

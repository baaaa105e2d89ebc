/* Shared by the cmocka unit tests: fixtures and small helpers. */
#ifndef FERRY_UNIT_H
#define FERRY_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

/*
 * Load tests/fixtures/<rel> as JSON.  The harness exports $fixtures; when
 * run by hand from the build tree, the source tree's copy is found through
 * $top_srcdir or the relative path.
 */
static inline json_t *
unit_fixture(const char *rel)
{
	const char *dir = getenv("fixtures");
	char path[4096];
	json_error_t je;
	json_t *v;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
	else if (getenv("top_srcdir") != NULL)
		snprintf(path, sizeof(path), "%s/tests/fixtures/%s",
		    getenv("top_srcdir"), rel);
	else
		snprintf(path, sizeof(path), "tests/fixtures/%s", rel);
	v = json_load_file(path, 0, &je);
	if (v == NULL)
		fail_msg("fixture %s: %s", path, je.text);
	return v;
}

/* Decode a hex string into a new buffer. */
static inline unsigned char *
unit_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	unsigned char *p = malloc(n + 1);
	unsigned int b;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		p[i] = (unsigned char)b;
	}
	*len = n;
	return p;
}

/* Where temporary files go: $TMPDIR, else /tmp. */
static inline const char *
unit_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && t[0] != '\0' ? t : "/tmp";
}

/* Make a new directory "TMPDIR/ferry-test-TAG.XXXXXX" in buf; 0 or -1. */
static inline int
unit_mkdtemp(char *buf, size_t cap, const char *tag)
{
	int n = snprintf(buf, cap, "%s/ferry-test-%s.XXXXXX", unit_tmpdir(),
	    tag);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	return mkdtemp(buf) == NULL ? -1 : 0;
}

static inline int
unit_rm_cb(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf dir, never following a symbolic link; 0 or -1. */
static inline int
unit_rmtree(const char *dir)
{
	return nftw(dir, unit_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A per-test fixture is a struct that begins with "char dir[UNIT_DIR_MAX]",
 * a scratch directory made for the test and removed after it;
 * UNIT_FX_CHECK(struct fx) after its definition checks that layout.
 */
#define UNIT_DIR_MAX 256
#define UNIT_FX_CHECK(T)						\
	_Static_assert(offsetof(T, dir) == 0 &&				\
	    sizeof(((T *)0)->dir) == UNIT_DIR_MAX,			\
	    #T " must begin with char dir[UNIT_DIR_MAX]")

/*
 * For a setup function: a zeroed fixture of size bytes, its dir a new
 * unit_mkdtemp() directory with tag, stored in *state too.  NULL (and
 * nothing left behind) on failure.
 */
static inline void *
unit_fx_new(void **state, size_t size, const char *tag)
{
	char *f;

	if (size < UNIT_DIR_MAX || (f = calloc(1, size)) == NULL)
		return NULL;
	if (unit_mkdtemp(f, UNIT_DIR_MAX, tag) != 0) {
		free(f);
		return NULL;
	}
	*state = f;
	return f;
}

/* The teardown: remove the fixture's scratch directory and free it. */
static inline int
unit_fx_teardown(void **state)
{
	char *dir = *state;

	(void)unit_rmtree(dir);
	free(dir);
	*state = NULL;
	return 0;
}

/* out = "dir/name"; the test fails if it does not fit. */
static inline void
unit_join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < cap);
}

/*
 * For a test that a module initialises libsodium itself: main() runs its
 * one child job instead of the tests when started as PROG UNIT_NO_INIT_ARG
 * DIR, and unit_run_without_init() starts it so and expects it to exit 0
 * (sodium_malloc() before sodium_init() kills the process with a signal).
 */
#define UNIT_NO_INIT_ARG "--no-sodium-init"

static inline void
unit_run_without_init(const char *prog, const char *dir)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", prog, UNIT_NO_INIT_ARG, dir,
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("without sodium_init(), killed by signal %d",
		    WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The names in dir (at most 32), sorted, joined by '/'; "" if empty. */
static inline void
unit_list_dir(const char *dir, char *out, size_t cap)
{
	char names[32][256], t[256];
	size_t n = 0, i, j;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_true(n < 32);
		snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			memcpy(t, names[j], sizeof(t));
			memcpy(names[j], names[j - 1], sizeof(t));
			memcpy(names[j - 1], t, sizeof(t));
		}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(out, "/", cap - strlen(out) - 1);
		strncat(out, names[i], cap - strlen(out) - 1);
	}
}

static inline void
unit_assert_dir_is(const char *dir, const char *want)
{
	char got[4096];

	unit_list_dir(dir, got, sizeof(got));
	assert_string_equal(got, want);
}

/* Write a file the plain way (not the code under test). */
static inline void
unit_put_file(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The permission bits of the regular file at path. */
static inline mode_t
unit_perm_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	return st.st_mode & 07777;
}

#endif

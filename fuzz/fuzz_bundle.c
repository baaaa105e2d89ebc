/*
 * Fuzz target: bundle extraction (lib/bundle.c), the reader of .tar.zst
 * files from untrusted USB sticks and mirrors.
 *
 * Input: arbitrary bytes, written to a file and extracted with small
 * limits into a fresh directory.  Checked, with abort() on any violation
 * so that libFuzzer reports it as a crash:
 *
 *  1. ferry_bundle_extract() succeeds or fails with FERRY_ERR_REPOSITORY,
 *     FERRY_ERR_TOO_LARGE or FERRY_ERR_NOMEM (never FERRY_ERR_INTERNAL,
 *     FERRY_ERR_IO or FERRY_ERR_INVALID_ARG: the destination is new and
 *     the input a regular file), with the same code and a detail in err.
 *  2. ferry_bundle_is_bundle() agrees with the input's first bytes, and
 *     an input without the zstd magic number is refused.
 *  3. A failure leaves no destination directory behind.
 *  4. A success leaves only directories of mode 0755 and regular files
 *     of mode 0644 (no symbolic link, nothing else), within the limits:
 *     entries, bytes per file, bytes in all.
 *  5. What was extracted packs again (ferry_bundle_write_dir()), that
 *     bundle extracts to the same tree, and packing that tree gives the
 *     very same bytes (the writer is deterministic; the reader accepts
 *     everything the writer makes).
 *
 * Everything happens in one temporary directory per process, removed at
 * exit; each input's files are removed before the next input.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bundle.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[256];
static char in_path[300], out1[300], out2[300], b1[300], b2[300];
static const struct ferry_bundle_limits lim = {
	64,		/* entries */
	1024 * 1024,	/* bytes per file */
	4 * 1024 * 1024, /* bytes in all */
	256		/* bytes per name */
};

/* What nftw() found in an extracted tree. */
static uint64_t seen_entries, seen_bytes;

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		(void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
cleanup(void)
{
	if (top[0] != '\0')
		rm_tree(top);
}

static void
setup_once(void)
{
	const char *tmp = getenv("TMPDIR");

	if (top[0] != '\0')
		return;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(top, sizeof(top), "%s/ferry-fuzz-bundle.XXXXXX", tmp);
	if (mkdtemp(top) == NULL)
		abort();
	snprintf(in_path, sizeof(in_path), "%s/in", top);
	snprintf(out1, sizeof(out1), "%s/out1", top);
	snprintf(out2, sizeof(out2), "%s/out2", top);
	snprintf(b1, sizeof(b1), "%s/b1.tar.zst", top);
	snprintf(b2, sizeof(b2), "%s/b2.tar.zst", top);
	atexit(cleanup);
}

/* Check 4, for one entry of an extracted tree. */
static int
check_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	if (ftw->level == 0)
		return 0;
	if (flag == FTW_D && S_ISDIR(st->st_mode)) {
		if ((st->st_mode & 07777) != 0755)
			abort();
	} else if (flag == FTW_F && S_ISREG(st->st_mode)) {
		if ((st->st_mode & 07777) != 0644 ||
		    (uint64_t)st->st_size > lim.max_file_bytes)
			abort();
		seen_bytes += (uint64_t)st->st_size;
	} else {
		abort();
	}
	seen_entries++;
	return 0;
}

static void
check_tree(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    (st.st_mode & 07777) != 0755)
		abort();
	seen_entries = seen_bytes = 0;
	if (nftw(dir, check_cb, 16, FTW_PHYS) != 0)
		abort();
	if (seen_entries > lim.max_entries || seen_bytes > lim.max_total_bytes)
		abort();
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL || fstat(fileno(fp), &st) == -1)
		abort();
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	*len = fread(buf, 1, (size_t)st.st_size, fp);
	if (*len != (size_t)st.st_size)
		abort();
	fclose(fp);
	return buf;
}

/* Check 5. */
static void
check_repack(void)
{
	struct ferry_error err;
	unsigned char *x, *y;
	size_t xn, yn;

	ferry_error_clear(&err);
	if (ferry_bundle_write_dir(out1, b1, &err) != 0)
		abort();
	ferry_error_clear(&err);
	if (ferry_bundle_extract(b1, out2, &lim, &err) != 0)
		abort();
	check_tree(out2);
	ferry_error_clear(&err);
	if (ferry_bundle_write_dir(out2, b2, &err) != 0)
		abort();
	x = slurp(b1, &xn);
	y = slurp(b2, &yn);
	if (xn != yn || memcmp(x, y, xn) != 0)
		abort();
	free(x);
	free(y);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	struct ferry_error err;
	struct stat st;
	FILE *fp;
	int r, is;

	setup_once();
	if ((fp = fopen(in_path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	if (fclose(fp) != 0)
		abort();

	/* Check 2. */
	is = ferry_bundle_is_bundle(in_path);
	if (is != (size >= 4 && memcmp(data, magic, 4) == 0))
		abort();

	/* Checks 1 and 3. */
	ferry_error_clear(&err);
	r = ferry_bundle_extract(in_path, out1, &lim, &err);
	if (r != 0) {
		if ((r != FERRY_ERR_REPOSITORY && r != FERRY_ERR_TOO_LARGE &&
		    r != FERRY_ERR_NOMEM) || err.code != r ||
		    err.msg[0] == '\0')
			abort();
		if (!is && r != FERRY_ERR_REPOSITORY)
			abort();
		if (lstat(out1, &st) == 0 || errno != ENOENT)
			abort();
		goto out;
	}
	if (!is)
		abort();

	/* Checks 4 and 5. */
	check_tree(out1);
	check_repack();
 out:
	rm_tree(out1);
	rm_tree(out2);
	(void)unlink(b1);
	(void)unlink(b2);
	(void)unlink(in_path);
	return 0;
}

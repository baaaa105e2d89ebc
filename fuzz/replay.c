/*
 * Corpus replay without libFuzzer.
 *
 * A build without --enable-fuzzing links every fuzz/fuzz_*.c with this
 * file instead of libFuzzer, so that "make check" can run each target over
 * its committed corpus with any compiler (fuzz/replay.sh does that).  It
 * behaves like libFuzzer does when given inputs rather than a corpus to
 * grow: every file argument is run once, and so is every regular file
 * directly inside a directory argument (sorted by name, not recursive).
 *
 * One line is printed per input and a count at the end.  The exit status
 * is 0 only if at least one input ran and every input was read and made
 * LLVMFuzzerTestOneInput return 0; a target that finds a bug aborts, which
 * ends the process with a signal, and the partly printed line then names
 * the input that did it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Larger inputs are refused: no useful corpus entry comes near this. */
#define REPLAY_MAX_INPUT (16u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	unsigned long ran;	/* inputs handed to the target or refused */
	unsigned long failed;	/* inputs and directories that failed */
};

/*
 * Read at most REPLAY_MAX_INPUT bytes of path into a buffer of exactly the
 * file's length, so that AddressSanitizer (when enabled) catches a target
 * that reads one byte past its input, as libFuzzer's copy would.  The size
 * is not taken from stat(): the file is read until EOF and refused as soon
 * as it passes the limit, so a growing file or a FIFO cannot make us
 * allocate without bound.  Returns 0, or -1 with *why set.
 */
static int
read_input(const char *path, unsigned char **out, size_t *outlen,
    const char **why)
{
	unsigned char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;
	FILE *f;

	*out = NULL;
	*outlen = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		*why = strerror(errno);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			/* One byte over the limit is enough to know. */
			if (cap > REPLAY_MAX_INPUT) {
				*why = "larger than the 16 MiB limit";
				goto fail;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > (size_t)REPLAY_MAX_INPUT + 1)
				cap = (size_t)REPLAY_MAX_INPUT + 1;
			if ((nb = realloc(buf, cap)) == NULL) {
				*why = "out of memory";
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		*why = "read error";
		goto fail;
	}
	if (len > REPLAY_MAX_INPUT) {
		*why = "larger than the 16 MiB limit";
		goto fail;
	}
	(void)fclose(f);
	f = NULL;
	/*
	 * Trim to the exact length.  An empty input still gets a valid
	 * pointer (libFuzzer never passes NULL), from malloc(0) if that
	 * returns one; a zero-byte allocation lets ASan flag any read.
	 */
	if (len == 0) {
		free(buf);
		if ((buf = malloc(0)) == NULL && (buf = malloc(1)) == NULL) {
			*why = "out of memory";
			return -1;
		}
	} else if (len < cap) {
		if ((nb = realloc(buf, len)) == NULL) {
			*why = "out of memory";
			goto fail;
		}
		buf = nb;
	}
	*out = buf;
	*outlen = len;
	return 0;
 fail:
	if (f != NULL)
		(void)fclose(f);
	free(buf);
	return -1;
}

static void
run_one(const char *path, struct tally *t)
{
	unsigned char *buf;
	const char *why = NULL;
	size_t len;
	int r;

	t->ran++;
	if (read_input(path, &buf, &len, &why) != 0) {
		printf("FAIL %s: %s\n", path, why);
		t->failed++;
		return;
	}
	/* Name the input before running it: if it crashes, this is the clue. */
	printf("%s (%zu bytes): ", path, len);
	(void)fflush(stdout);
	r = LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	if (r != 0) {
		printf("FAIL: the target returned %d\n", r);
		t->failed++;
		return;
	}
	printf("ok\n");
}

static int
name_cmp(const void *a, const void *b)
{
	/* Bytewise, whatever the locale: the order is the same everywhere. */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir + '/' + name in a new string, or NULL. */
static char *
join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p;

	if (dl > SIZE_MAX - nl - 2 || (p = malloc(dl + nl + 2)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

/*
 * Run every regular file directly inside dir, in sorted order.  The
 * names are collected and the directory closed first, so a target that
 * opens files cannot run out of descriptors because of us.
 */
static void
run_dir(const char *dir, struct tally *t)
{
	char **names = NULL, **nn, *path;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		printf("FAIL %s: %s\n", dir, strerror(errno));
		t->failed++;
		return;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if (cap > SIZE_MAX / sizeof(*names) ||
			    (nn = realloc(names, cap * sizeof(*names))) ==
			    NULL)
				goto nomem;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
		errno = 0;
	}
	if (errno != 0) {
		printf("FAIL %s: %s\n", dir, strerror(errno));
		t->failed++;
	}
	(void)closedir(d);
	d = NULL;
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if ((path = join(dir, names[i])) == NULL)
			goto nomem;
		/*
		 * stat, not d_type: some file systems leave it unknown.  A
		 * name that cannot be stat'ed (a dangling link) is a broken
		 * corpus, so it counts as a failure; subdirectories and other
		 * non-regular files are skipped.
		 */
		if (stat(path, &st) != 0) {
			printf("FAIL %s: %s\n", path, strerror(errno));
			t->failed++;
		} else if (S_ISREG(st.st_mode)) {
			run_one(path, t);
		}
		free(path);
	}
	goto out;
 nomem:
	printf("FAIL %s: out of memory\n", dir);
	t->failed++;
 out:
	if (d != NULL)
		(void)closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
main(int argc, char **argv)
{
	struct tally t = { 0, 0 };
	struct stat st;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n"
		    "Run the fuzz target once on each FILE and on each regular "
		    "file in each DIR.\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[i], &t);
		else
			run_one(argv[i], &t);
	}
	printf("%lu input(s) replayed, %lu failure(s)\n", t.ran, t.failed);
	/* Nothing replayed is a failure too: a test must not pass vacuously. */
	if (t.ran == 0) {
		printf("FAIL: no inputs found\n");
		return 1;
	}
	return t.failed == 0 ? 0 : 1;
}

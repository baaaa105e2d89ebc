/*
 * Fuzz target: the manifest of an export, ferry-export.json
 * (mirror/manifest.c), which an import reads from an untrusted medium.
 *
 * Input: arbitrary bytes, as the manifest file.  Checked, with abort()
 * on any violation so that libFuzzer reports it as a crash:
 *
 *  1. mirror_manifest_parse() returns 0 or a negative code that it also
 *     records in the error, with a detail; on failure the manifest is
 *     left empty (nothing to free, nothing half-filled).
 *  2. On success every path is 1 to 1024 bytes, under metadata/,
 *     targets/ or roots/, with no control byte, backslash, empty or
 *     hidden component; the paths are strictly sorted; every sha256 is
 *     64 lowercase hex digits; the lengths add up to bytes, which is at
 *     most INT64_MAX; the versions and state are at least 1; host and
 *     dir hold no control byte.
 *  3. What mirror_manifest_dump() writes of it parses again into the
 *     same manifest, and dumping that gives the same bytes: the two are
 *     each other's inverse on everything the parser accepts.
 *  4. mirror_manifest_find() finds every path listed, and no other.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "mirror/mirror.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok)
{
	if (!ok)
		abort();
}

static int
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
path_ok(const char *p)
{
	const char *c;
	size_t n = strlen(p);

	if (n == 0 || n > 1024 || (strncmp(p, "metadata/", 9) != 0 &&
	    strncmp(p, "targets/", 8) != 0 && strncmp(p, "roots/", 6) != 0) ||
	    !no_controls(p) || strchr(p, '\\') != NULL)
		return 0;
	/* Every component: not empty, not starting with a dot. */
	for (c = p; c != NULL; c = strchr(c, '/') != NULL ?
	    strchr(c, '/') + 1 : NULL)
		if (*c == '/' || *c == '\0' || *c == '.')
			return 0;
	return 1;
}

static int
empty(const struct mirror_manifest *m)
{
	static const struct mirror_manifest zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

static void
same(const struct mirror_manifest *a, const struct mirror_manifest *b)
{
	size_t i;

	check(strcmp(a->created, b->created) == 0);
	check(strcmp(a->host, b->host) == 0 && strcmp(a->dir, b->dir) == 0);
	check(a->state == b->state && a->root_version == b->root_version &&
	    a->snapshot_version == b->snapshot_version &&
	    a->timestamp_version == b->timestamp_version);
	check(strcmp(a->timestamp_expires, b->timestamp_expires) == 0);
	check(a->bytes == b->bytes && a->nfiles == b->nfiles);
	for (i = 0; i < a->nfiles; i++) {
		check(strcmp(a->files[i].path, b->files[i].path) == 0);
		check(a->files[i].length == b->files[i].length);
		check(strcmp(a->files[i].sha256, b->files[i].sha256) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mirror_manifest m, m2;
	struct ferry_error err;
	char *out = NULL, *out2 = NULL;
	size_t outlen, outlen2, i, n;
	uint64_t sum = 0;
	int r;

	memset(&err, 0, sizeof(err));
	r = mirror_manifest_parse(data, size, "fuzz", &m, &err);
	if (r != 0) {
		check(r < 0 && err.code == r && err.msg[0] != '\0');
		check(empty(&m));
		return 0;
	}
	check(m.host != NULL && m.dir != NULL && no_controls(m.host) &&
	    no_controls(m.dir));
	check(m.state >= 1 && m.root_version >= 1 &&
	    m.snapshot_version >= 1 && m.timestamp_version >= 1);
	for (i = 0; i < m.nfiles; i++) {
		const struct mirror_medium_file *f = &m.files[i];

		check(path_ok(f->path) && f->src == NULL);
		check(i == 0 || strcmp(m.files[i - 1].path, f->path) < 0);
		n = strspn(f->sha256, "0123456789abcdef");
		check(n == 64 && f->sha256[64] == '\0');
		check(f->length <= (uint64_t)INT64_MAX - sum);
		sum += f->length;
		check(mirror_manifest_find(&m, f->path) == f);
	}
	check(sum == m.bytes);
	check(mirror_manifest_find(&m, "metadata/.not-listed") == NULL);

	memset(&err, 0, sizeof(err));
	check(mirror_manifest_dump(&m, &out, &outlen, &err) == 0);
	memset(&err, 0, sizeof(err));
	check(mirror_manifest_parse(out, outlen, "dump", &m2, &err) == 0);
	same(&m, &m2);
	check(mirror_manifest_dump(&m2, &out2, &outlen2, &err) == 0);
	check(outlen == outlen2 && memcmp(out, out2, outlen) == 0);
	free(out);
	free(out2);
	mirror_manifest_free(&m2);
	mirror_manifest_free(&m);
	return 0;
}

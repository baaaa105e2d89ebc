/*
 * The manifest of an export (ferry-export.json): built as an export
 * goes, written out, and parsed back from an untrusted medium.  Apart
 * from the rest of medium.c so that a fuzz target can link it alone
 * (fuzz/fuzz_manifest.c).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/json.h"
#include "lib/meta.h"
#include "mirror/mirror.h"

#define MEDIUM_PATH_MAX 1024	/* bytes in a path on the medium */

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
	/* The lengths add up to "bytes", itself a JSON integer. */
	if ((uint64_t)json_integer_value(v) > (uint64_t)INT64_MAX - m->bytes)
		return ferry_error_set(err, FERRY_ERR_META_FIELD, "%s: "
		    "files[%zu].length: the lengths add up past %" PRId64,
		    name, i, INT64_MAX);
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

/*
 * lib/meta.c: the metadata model.  Every required field is checked with an
 * error naming it, unknown fields round-trip under the signature, the
 * threshold counts each key once, and every allocation failure while
 * parsing is handled without a crash or a leak.
 */
#include "config.h"

#include "unit.h"

#include <sodium.h>

#include "lib/err.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "lib/seckey.h"

/*
 * Allocation failure injection, as SQLite and curl do it: malloc, calloc
 * and realloc are interposed and fail once a countdown reaches zero; a
 * live count catches leaks on error paths.  Sanitizers interpose the
 * allocator themselves, so this is compiled only into the plain build.
 */
#if !defined(__SANITIZE_ADDRESS__)
#define FAILMALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static long fail_countdown = -1;	/* -1: never fail */
static long live;

static int
should_fail(void)
{
	if (fail_countdown < 0)
		return 0;
	return fail_countdown-- == 0;
}

void *
malloc(size_t n)
{
	void *p;

	if (should_fail())
		return NULL;
	if ((p = __libc_malloc(n)) != NULL)
		live++;
	return p;
}

void *
calloc(size_t n, size_t m)
{
	void *p;

	if (should_fail())
		return NULL;
	if ((p = __libc_calloc(n, m)) != NULL)
		live++;
	return p;
}

void *
realloc(void *p, size_t n)
{
	void *q;

	if (should_fail())
		return NULL;
	q = __libc_realloc(p, n);
	if (p == NULL && q != NULL)
		live++;
	return q;
}

void
free(void *p)
{
	if (p != NULL)
		live--;
	__libc_free(p);
}
#endif

static struct ferry_seckey *keys[4];

static int
setup(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		if (ferry_seckey_generate(&keys[i]) != 0)
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		ferry_seckey_free(keys[i]);
	return 0;
}

static json_t *
pubkey(struct ferry_seckey *k)
{
	json_t *p = NULL;

	assert_int_equal(ferry_seckey_public_json(k, &p), 0);
	return p;
}

/* A valid root "signed": keys[0] signs root, 1 targets, 2 snapshot, 3 ts. */
static json_t *
root_signed(void)
{
	json_t *s, *ks, *roles;
	static const char *const names[] = {
		"root", "targets", "snapshot", "timestamp"
	};
	int i;

	ks = json_object();
	roles = json_object();
	for (i = 0; i < 4; i++) {
		json_object_set_new(ks, ferry_seckey_keyid(keys[i]),
		    pubkey(keys[i]));
		json_object_set_new(roles, names[i], json_pack("{s:[s], s:i}",
		    "keyids", ferry_seckey_keyid(keys[i]), "threshold", 1));
	}
	s = json_pack("{s:s, s:s, s:i, s:s, s:b, s:o, s:o}", "_type", "root",
	    "spec_version", "1.0.31", "version", 1, "expires",
	    "2030-01-01T00:00:00Z", "consistent_snapshot", 1, "keys", ks,
	    "roles", roles);
	assert_non_null(s);
	return s;
}

static json_t *
targets_signed(void)
{
	json_t *s = json_loads(
	    "{\"_type\":\"targets\",\"spec_version\":\"1.0.0\",\"version\":3,"
	    "\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{"
	    "\"a/b.txt\":{\"length\":5,\"hashes\":{\"sha256\":\"00\"},"
	    "\"custom\":{\"k\":1}}},"
	    "\"delegations\":{\"keys\":{},\"roles\":[{\"name\":\"apps\","
	    "\"keyids\":[],\"threshold\":1,\"terminating\":false,"
	    "\"paths\":[\"apps/*\"]}]}}", 0, NULL);

	assert_non_null(s);
	return s;
}

static json_t *
snapshot_signed(const char *type)
{
	json_t *s = json_pack("{s:s, s:s, s:i, s:s, s:{s:{s:i, s:i, s:{s:s}}}}",
	    "_type", type, "spec_version", "1.0", "version", 2, "expires",
	    "2030-01-01T00:00:00Z", "meta",
	    strcmp(type, "timestamp") == 0 ? "snapshot.json" : "targets.json",
	    "version", 1, "length", 10, "hashes", "sha256", "ab");

	assert_non_null(s);
	return s;
}

/* A new metadata from a deep copy of md's document, edited by the caller. */
static struct ferry_meta *
reparse(json_t *doc)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;

	if (ferry_meta_from_json(doc, &md, &err) != 0)
		fail_msg("reparse: %s", err.msg);
	json_decref(doc);
	return md;
}

static int
parse_signed(json_t *s, struct ferry_meta **md, struct ferry_error *err)
{
	int r = ferry_meta_from_signed(s, md, err);

	json_decref(s);
	return r;
}

static void
test_valid_roles(void **state)
{
	struct ferry_meta *md = NULL;
	struct ferry_metafile mf;
	struct ferry_target t;
	struct ferry_error err = { 0 };

	(void)state;
	assert_int_equal(parse_signed(root_signed(), &md, &err), 0);
	assert_int_equal(md->type, FERRY_META_ROOT);
	assert_int_equal(md->version, 1);
	assert_int_equal(md->expires, 1893456000);
	assert_int_equal(md->consistent_snapshot, 1);
	assert_int_equal(md->keys.n, 4);
	assert_int_equal(md->roles[FERRY_META_SNAPSHOT].threshold, 1);
	assert_string_equal(md->roles[FERRY_META_SNAPSHOT].keyids[0],
	    ferry_seckey_keyid(keys[2]));
	assert_non_null(ferry_keyring_find(&md->keys,
	    ferry_seckey_keyid(keys[3])));
	assert_null(ferry_keyring_find(&md->keys, "nope"));
	ferry_meta_free(md);

	assert_int_equal(parse_signed(targets_signed(), &md, &err), 0);
	assert_int_equal(md->type, FERRY_META_TARGETS);
	assert_int_equal(ferry_meta_target(md, "a/b.txt", &t), 0);
	assert_int_equal(t.length, 5);
	assert_non_null(t.custom);
	assert_string_equal(t.path, "a/b.txt");
	assert_int_equal(ferry_meta_target(md, "a/c.txt", &t),
	    FERRY_ERR_NOT_FOUND);
	assert_non_null(md->delegations);
	assert_int_equal(md->delegations->nroles, 1);
	ferry_meta_free(md);

	assert_int_equal(parse_signed(snapshot_signed("snapshot"), &md, &err),
	    0);
	assert_int_equal(ferry_meta_metafile(md, "targets.json", &mf), 0);
	assert_int_equal(mf.version, 1);
	assert_int_equal(mf.length, 10);
	assert_non_null(mf.hashes);
	assert_int_equal(ferry_meta_metafile(md, "x.json", &mf),
	    FERRY_ERR_NOT_FOUND);
	ferry_meta_free(md);

	assert_int_equal(parse_signed(snapshot_signed("timestamp"), &md,
	    &err), 0);
	assert_int_equal(md->type, FERRY_META_TIMESTAMP);
	ferry_meta_free(md);
}

/*
 * One broken field at a time: the error code, and the field named in the
 * message.  "set" is a JSON document merged into "signed" at path (a
 * '/'-separated list of object keys); a null value deletes the field.
 */
struct breakage {
	const char *base;	/* root, targets, snapshot, timestamp */
	const char *path;
	const char *value;	/* JSON text, or NULL to delete */
	int code;
	const char *names;	/* must appear in the message */
};

static const struct breakage breakages[] = {
	{ "root", "_type", NULL, FERRY_ERR_META_FIELD, "signed._type" },
	{ "root", "_type", "\"Root\"", FERRY_ERR_META_TYPE, "signed._type" },
	{ "root", "_type", "1", FERRY_ERR_META_FIELD, "signed._type" },
	{ "root", "spec_version", "\"2.0.0\"", FERRY_ERR_SPEC_VERSION,
	    "spec_version" },
	{ "root", "spec_version", "\"1\"", FERRY_ERR_META_FIELD,
	    "spec_version" },
	{ "root", "spec_version", "\"1.0.x\"", FERRY_ERR_META_FIELD,
	    "spec_version" },
	{ "root", "spec_version", "\"1.0.0.0\"", FERRY_ERR_META_FIELD,
	    "spec_version" },
	{ "root", "spec_version", "\"\"", FERRY_ERR_META_FIELD,
	    "spec_version" },
	{ "root", "spec_version", NULL, FERRY_ERR_META_FIELD,
	    "signed.spec_version" },
	{ "root", "version", "0", FERRY_ERR_META_FIELD, "signed.version" },
	{ "root", "version", "-1", FERRY_ERR_META_FIELD, "signed.version" },
	{ "root", "version", "1.5", FERRY_ERR_META_FIELD, "signed.version" },
	{ "root", "version", "\"1\"", FERRY_ERR_META_FIELD, "signed.version" },
	{ "root", "version", NULL, FERRY_ERR_META_FIELD, "signed.version" },
	{ "root", "expires", "\"2030-01-01T00:00:00\"", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "expires", "\"2030-02-30T00:00:00Z\"", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "expires", "\"2029-02-29T00:00:00Z\"", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "expires", "\"2030-01-01T24:00:00Z\"", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "expires", "\"2030-01-01 00:00:00Z\"", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "expires", "\"2030-01-01T00:00:00.5Z\"",
	    FERRY_ERR_META_FIELD, "signed.expires" },
	{ "root", "expires", "\"+030-01-01T00:00:00Z\"", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "expires", "20300101", FERRY_ERR_META_FIELD,
	    "signed.expires" },
	{ "root", "keys", NULL, FERRY_ERR_META_FIELD, "signed.keys" },
	{ "root", "keys", "[]", FERRY_ERR_META_FIELD, "signed.keys" },
	{ "root", "keys/x", "{\"keytype\":1}", FERRY_ERR_KEY,
	    "signed.keys.x.keytype" },
	{ "root", "roles", NULL, FERRY_ERR_META_FIELD, "signed.roles" },
	{ "root", "roles/snapshot", NULL, FERRY_ERR_META_FIELD,
	    "signed.roles.snapshot: missing" },
	{ "root", "roles/root/threshold", "0", FERRY_ERR_META_FIELD,
	    "signed.roles.root.threshold" },
	{ "root", "roles/root/threshold", NULL, FERRY_ERR_META_FIELD,
	    "signed.roles.root.threshold" },
	{ "root", "roles/targets/keyids", "[\"a\",\"a\"]",
	    FERRY_ERR_META_FIELD, "signed.roles.targets.keyids" },
	{ "root", "roles/targets/keyids", "[1]", FERRY_ERR_META_FIELD,
	    "signed.roles.targets.keyids[0]" },
	{ "root", "roles/targets/keyids", "\"a\"", FERRY_ERR_META_FIELD,
	    "signed.roles.targets.keyids" },
	{ "root", "consistent_snapshot", "\"yes\"", FERRY_ERR_META_FIELD,
	    "signed.consistent_snapshot" },
	{ "root", "roles/mirror", "{\"keyids\":[],\"threshold\":1}",
	    FERRY_ERR_META_FIELD, "signed.roles: unknown role \"mirror\"" },
	{ "snapshot", "meta", NULL, FERRY_ERR_META_FIELD, "signed.meta" },
	{ "snapshot", "meta/targets.json/version", "0", FERRY_ERR_META_FIELD,
	    "signed.meta.targets.json.version" },
	{ "snapshot", "meta/targets.json/length", "-1", FERRY_ERR_META_FIELD,
	    "signed.meta.targets.json.length" },
	{ "snapshot", "meta/targets.json/hashes", "{}", FERRY_ERR_META_FIELD,
	    "signed.meta.targets.json.hashes" },
	{ "snapshot", "meta/targets.json/hashes", "{\"sha256\":1}",
	    FERRY_ERR_META_FIELD, "signed.meta.targets.json.hashes.sha256" },
	{ "timestamp", "meta/snapshot.json", NULL, FERRY_ERR_META_FIELD,
	    "signed.meta.snapshot.json" },
	{ "targets", "targets", NULL, FERRY_ERR_META_FIELD,
	    "signed.targets" },
	{ "targets", "targets/a\\/b.txt/hashes", NULL, FERRY_ERR_META_FIELD,
	    "signed.targets.a/b.txt.hashes" },
	{ "targets", "targets/a\\/b.txt/length", "-5", FERRY_ERR_META_FIELD,
	    "signed.targets.a/b.txt.length" },
	{ "targets", "targets/a\\/b.txt/length", "5.0", FERRY_ERR_META_FIELD,
	    "signed.targets.a/b.txt.length" },
	{ "targets", "delegations", "[]", FERRY_ERR_META_FIELD,
	    "signed.delegations" },
	{ "targets", "delegations/keys", NULL, FERRY_ERR_META_FIELD,
	    "signed.delegations.keys" },
	{ "targets", "delegations/roles", NULL, FERRY_ERR_META_FIELD,
	    "exactly one of roles and succinct_roles" },
	{ "targets", "delegations/succinct_roles",
	    "{\"keyids\":[],\"threshold\":1,\"bit_length\":4,"
	    "\"name_prefix\":\"bin\"}", FERRY_ERR_META_FIELD,
	    "exactly one of roles and succinct_roles" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":1,\"terminating\":false}]", FERRY_ERR_META_FIELD,
	    "signed.delegations.roles[0]: exactly one of paths and "
	    "path_hash_prefixes" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":1,\"terminating\":false,\"paths\":[],"
	    "\"path_hash_prefixes\":[]}]", FERRY_ERR_META_FIELD,
	    "exactly one of paths and path_hash_prefixes" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":1,\"paths\":[]}]", FERRY_ERR_META_FIELD,
	    "signed.delegations.roles[0].terminating" },
	{ "targets", "delegations/roles", "[{\"name\":\"targets\",\"keyids\":"
	    "[],\"threshold\":1,\"terminating\":true,\"paths\":[]}]",
	    FERRY_ERR_META_FIELD, "top-level role name" },
	{ "targets", "delegations/roles", "[{\"name\":\"\",\"keyids\":[],"
	    "\"threshold\":1,\"terminating\":true,\"paths\":[]}]",
	    FERRY_ERR_META_FIELD, "signed.delegations.roles[0].name" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":1,\"terminating\":true,\"paths\":[]},"
	    "{\"name\":\"a\",\"keyids\":[],\"threshold\":1,\"terminating\":"
	    "true,\"paths\":[]}]", FERRY_ERR_META_FIELD, "signed.delegations.roles: \"a\" delegated twice" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":1,\"terminating\":true,\"path_hash_prefixes\":"
	    "[7]}]", FERRY_ERR_META_FIELD,
	    "signed.delegations.roles[0].path_hash_prefixes[0]" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":1,\"terminating\":true,\"paths\":[7]}]",
	    FERRY_ERR_META_FIELD, "signed.delegations.roles[0].paths[0]" },
	{ "targets", "delegations/roles", "[{\"name\":\"a\",\"keyids\":[],"
	    "\"threshold\":0,\"terminating\":true,\"paths\":[]}]",
	    FERRY_ERR_META_FIELD, "signed.delegations.roles[0].threshold" },
};

/* Walk a '/'-separated path ("\/" is a literal '/') and set or delete. */
static void
apply(json_t *s, const char *path, const char *value)
{
	char buf[256], *seg, *w;
	const char *p;
	json_t *cur = s;

	for (p = path;;) {
		for (w = buf; *p != '\0' && *p != '/'; p++) {
			if (*p == '\\' && p[1] == '/')
				p++;
			*w++ = *p;
		}
		*w = '\0';
		seg = buf;
		if (*p == '\0')
			break;
		p++;
		cur = json_object_get(cur, seg);
		assert_non_null(cur);
	}
	if (value == NULL)
		assert_int_equal(json_object_del(cur, seg), 0);
	else {
		json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);

		assert_non_null(v);
		assert_int_equal(json_object_set_new(cur, seg, v), 0);
	}
}

static void
test_field_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
		const struct breakage *b = &breakages[i];
		struct ferry_error err = { 0 };
		struct ferry_meta *md = NULL;
		json_t *s;
		int r;

		if (strcmp(b->base, "root") == 0)
			s = root_signed();
		else if (strcmp(b->base, "targets") == 0)
			s = targets_signed();
		else
			s = snapshot_signed(b->base);
		apply(s, b->path, b->value);
		r = parse_signed(s, &md, &err);
		if (r != b->code || strstr(err.msg, b->names) == NULL)
			fail_msg("breakage %zu (%s %s): got %d \"%s\", want %d "
			    "naming \"%s\"", i, b->base, b->path, r, err.msg,
			    b->code, b->names);
		assert_null(md);
	}
}

/* Accepted variants: the strictness above is not over-strict. */
static void
test_accepted_variants(void **state)
{
	static const struct { const char *path, *value; } ok[] = {
		{ "spec_version", "\"1.0\"" },
		{ "spec_version", "\"1.99.7\"" },
		{ "expires", "\"2028-02-29T23:59:59Z\"" },
		{ "expires", "\"1970-01-01T00:00:00Z\"" },
		{ "consistent_snapshot", NULL },
		{ "x-unknown", "{\"nested\":[1,\"\\u0001\"]}" },
		{ "keys/other", "{\"keytype\":\"x\",\"scheme\":\"y\","
		    "\"keyval\":{}}" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct ferry_error err = { 0 };
		struct ferry_meta *md = NULL;
		json_t *s = root_signed();

		apply(s, ok[i].path, ok[i].value);
		if (parse_signed(s, &md, &err) != 0)
			fail_msg("variant %s: %s", ok[i].path, err.msg);
		ferry_meta_free(md);
	}
}

static void
test_document_errors(void **state)
{
	static const struct { const char *doc, *names; int code; } bad[] = {
		{ "[]", "metadata: must be a JSON object", FERRY_ERR_META_FIELD },
		{ "{\"signatures\":[]}", "signed: must be an object",
		    FERRY_ERR_META_FIELD },
		{ "{\"signed\":{}}", "signatures: must be an array",
		    FERRY_ERR_META_FIELD },
		{ "{\"signed\":{},\"signatures\":[{\"keyid\":\"a\"}]}",
		    "signatures[0]", FERRY_ERR_META_FIELD },
		{ "{\"signed\":{},\"signatures\":[{\"keyid\":1,\"sig\":\"\"}]}",
		    "signatures[0]", FERRY_ERR_META_FIELD },
		{ "{\"signed\":{}, \"signed\":{}}", "duplicate",
		    FERRY_ERR_JSON },
		{ "{\"signed\":", "line 1", FERRY_ERR_JSON },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ferry_error err = { 0 };
		struct ferry_meta *md = NULL;
		int r = ferry_meta_parse(bad[i].doc, strlen(bad[i].doc), 4096,
		    &md, &err);

		if (r != bad[i].code || strstr(err.msg, bad[i].names) == NULL)
			fail_msg("doc %zu: got %d \"%s\"", i, r, err.msg);
	}
	{
		struct ferry_error err = { 0 };
		struct ferry_meta *md = NULL;

		assert_int_equal(ferry_meta_parse("{}", 2, 1, &md, &err),
		    FERRY_ERR_TOO_LARGE);
	}
}

/* Unknown fields survive a round trip, and the signature covers them. */
static void
test_unknown_fields_round_trip(void **state)
{
	struct ferry_meta *md = NULL, *md2 = NULL, *root = NULL;
	unsigned char *a = NULL, *b = NULL;
	size_t alen, blen, n;
	json_t *s = targets_signed();

	(void)state;
	apply(s, "x-top", "{\"ü\":\"\\u0001\\u001f\\\"\",\"n\":[-1,0]}");
	apply(s, "targets/a\\/b.txt/x-tf", "\"€\"");
	apply(s, "delegations/x-del", "true");
	assert_int_equal(parse_signed(s, &md, NULL), 0);
	assert_int_equal(parse_signed(root_signed(), &root, NULL), 0);
	assert_int_equal(ferry_meta_sign(md, keys[1], NULL), 0);
	json_object_set_new(md->doc, "x-outside", json_string("unsigned"));
	assert_int_equal(ferry_meta_serialize(md, &a, &alen, NULL), 0);
	assert_int_equal(ferry_meta_parse(a, alen, 1 << 20, &md2, NULL), 0);
	assert_int_equal(ferry_meta_serialize(md2, &b, &blen, NULL), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_non_null(memmem(a, alen, "\"x-tf\":\"€\"", strlen("\"x-tf\":\"€\"")));
	/*
	 * The file escapes control bytes (it must stay readable JSON); the
	 * signed canonical form carries them raw.
	 */
	for (n = 0; n < alen; n++)
		assert_true(a[n] >= 0x20);
	assert_non_null(memmem(md2->canon, md2->canonlen,
	    "\"\xc3\xbc\":\"\x01\x1f\\\"\"", 10));
	assert_int_equal(ferry_meta_verify_by_root(root, FERRY_META_TARGETS,
	    md2, &n, NULL), 0);
	assert_int_equal(n, 1);
	ferry_meta_free(md2);
	/* Change an unknown field inside "signed": the signature breaks. */
	{
		json_t *doc = json_deep_copy(md->doc);
		struct ferry_meta *md3;

		json_object_set_new(json_object_get(json_object_get(doc,
		    "signed"), "x-top"), "n", json_integer(1));
		md3 = reparse(doc);
		assert_int_equal(md3->nsigs, 1);
		assert_int_equal(ferry_meta_verify_by_root(root,
		    FERRY_META_TARGETS, md3, &n, NULL), FERRY_ERR_THRESHOLD);
		assert_int_equal(n, 0);
		ferry_meta_free(md3);
	}
	free(a);
	free(b);
	ferry_meta_free(md);
	ferry_meta_free(root);
}

/* Threshold: distinct keys only, unknown keys ignored, wrong role no. */
static void
test_threshold(void **state)
{
	struct ferry_meta *root = NULL, *md = NULL;
	struct ferry_error err = { 0 };
	json_t *s = root_signed(), *ks;
	size_t n;

	(void)state;
	/* Root role: keys 0, 1, 2, an unknown-type key, threshold 2. */
	ks = json_object_get(s, "keys");
	json_object_set_new(ks, "unknown", json_pack("{s:s, s:s, s:{s:s}}",
	    "keytype", "x-pq", "scheme", "x-pq", "keyval", "public", "00"));
	/* An alias: a second key id for key 0's public key. */
	json_object_set_new(ks, "alias0", pubkey(keys[0]));
	json_object_set_new(json_object_get(s, "roles"), "root", json_pack(
	    "{s:[s, s, s, s, s], s:i}", "keyids",
	    ferry_seckey_keyid(keys[0]), ferry_seckey_keyid(keys[1]),
	    ferry_seckey_keyid(keys[2]), "unknown", "alias0", "threshold", 2));
	assert_int_equal(parse_signed(s, &root, &err), 0);

	/* Self-signed by 0 only: 1 of 2. */
	assert_int_equal(ferry_meta_from_json(root->doc, &md, NULL), 0);
	assert_int_equal(ferry_meta_sign(md, keys[0], NULL), 0);
	assert_int_equal(ferry_meta_verify_by_root(root, FERRY_META_ROOT, md,
	    &n, &err), FERRY_ERR_THRESHOLD);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err.msg, "1 of 2"));

	/* The same key id signing twice is refused outright, as python-tuf. */
	{
		json_t *doc = json_deep_copy(md->doc), *sigs;
		struct ferry_meta *bad = NULL;

		ferry_error_clear(&err);
		sigs = json_object_get(doc, "signatures");
		json_array_append_new(sigs, json_deep_copy(json_array_get(sigs,
		    0)));
		assert_int_equal(ferry_meta_from_json(doc, &bad, &err),
		    FERRY_ERR_META_FIELD);
		assert_non_null(strstr(err.msg, "more than one signature"));
		assert_null(bad);
		json_decref(doc);
	}

	/*
	 * Key 0's signature again under its alias key id, a signature under
	 * the unknown key id, and a garbage signature by key 2: still one.
	 */
	{
		json_t *doc = json_deep_copy(md->doc), *sigs, *dup;

		sigs = json_object_get(doc, "signatures");
		dup = json_deep_copy(json_array_get(sigs, 0));
		json_object_set_new(dup, "keyid", json_string("alias0"));
		json_array_append_new(sigs, dup);
		json_array_append_new(sigs, json_pack("{s:s, s:s}", "keyid",
		    "unknown", "sig", "00"));
		json_array_append_new(sigs, json_pack("{s:s, s:s}", "keyid",
		    ferry_seckey_keyid(keys[2]), "sig", "zz"));
		ferry_meta_free(md);
		md = reparse(doc);
		assert_int_equal(md->nsigs, 4);
		assert_int_equal(ferry_meta_verify_by_root(root,
		    FERRY_META_ROOT, md, &n, NULL), FERRY_ERR_THRESHOLD);
		assert_int_equal(n, 1);
	}

	/* Key 3 is in the keyring but not in the root role. */
	assert_int_equal(ferry_meta_sign(md, keys[3], NULL), 0);
	assert_int_equal(ferry_meta_verify_by_root(root, FERRY_META_ROOT, md,
	    &n, NULL), FERRY_ERR_THRESHOLD);
	assert_int_equal(n, 1);

	/* Key 1 signs: 2 of 2. */
	assert_int_equal(ferry_meta_sign(md, keys[1], NULL), 0);
	assert_int_equal(ferry_meta_verify_by_root(root, FERRY_META_ROOT, md,
	    &n, NULL), 0);
	assert_int_equal(n, 2);

	/* Signing again with the same key replaces, not adds. */
	n = md->nsigs;
	assert_int_equal(ferry_meta_sign(md, keys[1], NULL), 0);
	assert_int_equal(md->nsigs, n);

	/* The wrong role type is refused before any signature is checked. */
	ferry_error_clear(&err);
	assert_int_equal(ferry_meta_verify_by_root(root, FERRY_META_TARGETS,
	    md, &n, &err), FERRY_ERR_META_TYPE);
	assert_non_null(strstr(err.msg, "expected targets metadata, got root"));
	ferry_meta_free(md);
	ferry_meta_free(root);
}

static void
test_time(void **state)
{
	static const struct { const char *s; int64_t t; } v[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "2000-02-29T12:00:00Z", 951825600 },
		{ "2038-01-19T03:14:08Z", 2147483648LL },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
		{ "0000-01-01T00:00:00Z", -62167219200LL },
	};
	char buf[32];
	int64_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(ferry_meta_parse_time(v[i].s, &t), 0);
		assert_int_equal(t, v[i].t);
		assert_int_equal(ferry_meta_format_time(v[i].t, buf,
		    sizeof(buf)), 0);
		assert_string_equal(buf, v[i].s);
	}
	assert_int_not_equal(ferry_meta_parse_time("1900-02-29T00:00:00Z", &t),
	    0);
	assert_int_equal(ferry_meta_parse_time("2000-02-29T00:00:00Z", &t), 0);
	assert_int_not_equal(ferry_meta_format_time(253402300800LL, buf,
	    sizeof(buf)), 0);
	assert_int_not_equal(ferry_meta_format_time(0, buf, 20), 0);
}

static void
test_expiry_and_replace(void **state)
{
	struct ferry_meta *md = NULL;
	struct ferry_error err = { 0 };
	const char *expires;
	json_t *s;

	(void)state;
	assert_int_equal(parse_signed(root_signed(), &md, NULL), 0);
	assert_false(ferry_meta_is_expired(md, 1893455999));
	assert_true(ferry_meta_is_expired(md, 1893456000));
	assert_true(ferry_meta_is_expired(NULL, 0));
	assert_int_equal(ferry_meta_sign(md, keys[0], NULL), 0);
	expires = md->expires_str;

	/* A replacement that fails leaves md exactly as it was. */
	s = json_deep_copy(md->signed_obj);
	json_object_set_new(s, "version", json_integer(0));
	assert_int_equal(ferry_meta_replace_signed(md, s, &err),
	    FERRY_ERR_META_FIELD);
	json_decref(s);
	assert_int_equal(md->version, 1);
	assert_ptr_equal(md->expires_str, expires);
	assert_string_equal(md->expires_str, "2030-01-01T00:00:00Z");
	assert_int_equal(md->nsigs, 1);
	assert_string_equal(md->sigs[0].keyid, ferry_seckey_keyid(keys[0]));

	/* One that passes swaps in the new content and drops signatures. */
	s = json_deep_copy(md->signed_obj);
	json_object_set_new(s, "version", json_integer(7));
	assert_int_equal(ferry_meta_replace_signed(md, s, NULL), 0);
	json_decref(s);
	assert_int_equal(md->version, 7);
	assert_int_equal(md->nsigs, 0);
	assert_int_equal(ferry_meta_replace_signed(md, md->signed_obj, NULL),
	    FERRY_ERR_INVALID_ARG);
	ferry_meta_free(md);
	ferry_meta_free(NULL);
}

/*
 * Signing when an allocation fails leaves the signatures as they were
 * and the view valid (jansson's allocator hook works in every build,
 * sanitizers included).
 */
static long json_fail_countdown = -1;

static void *
json_failing_malloc(size_t n)
{
	if (json_fail_countdown >= 0 && json_fail_countdown-- == 0)
		return NULL;
	return malloc(n);
}

static void
test_sign_allocation_failures(void **state)
{
	struct ferry_meta *root = NULL, *md = NULL;
	long n;
	size_t nv;
	int r, done = 0;

	(void)state;
	assert_int_equal(parse_signed(root_signed(), &root, NULL), 0);
	for (n = 0; !done && n < 1000; n++) {
		assert_int_equal(ferry_meta_from_json(root->doc, &md, NULL), 0);
		assert_int_equal(ferry_meta_sign(md, keys[1], NULL), 0);
		json_set_alloc_funcs(json_failing_malloc, free);
		json_fail_countdown = n;
		r = ferry_meta_sign(md, keys[0], NULL);
		done = json_fail_countdown >= 0;
		json_fail_countdown = -1;
		json_set_alloc_funcs(malloc, free);
		/* Either both signatures, or key 1's alone, still readable. */
		if (r == 0) {
			assert_int_equal(md->nsigs, 2);
			assert_int_equal(ferry_meta_verify_by_root(root,
			    FERRY_META_ROOT, md, &nv, NULL), 0);
		} else {
			assert_int_equal(r, FERRY_ERR_NOMEM);
			assert_int_equal(md->nsigs, 1);
			assert_string_equal(md->sigs[0].keyid,
			    ferry_seckey_keyid(keys[1]));
			assert_int_equal(json_array_size(json_object_get(
			    md->doc, "signatures")), 1);
			assert_int_equal(ferry_meta_verify_by_root(root,
			    FERRY_META_ROOT, md, &nv, NULL), FERRY_ERR_THRESHOLD);
		}
		ferry_meta_free(md);
	}
	assert_true(done);
	assert_true(n > 2);
	ferry_meta_free(root);
}

#ifdef FAILMALLOC
/* Parse under every possible allocation failure: no crash, no leak. */
static void
test_allocation_failures(void **state)
{
	struct ferry_meta *md = NULL;
	unsigned char *doc = NULL;
	size_t len;
	json_t *s;
	long n, base;
	int r, done = 0;

	(void)state;
	s = targets_signed();
	apply(s, "x", "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"\\u00e9\"}");
	assert_int_equal(parse_signed(s, &md, NULL), 0);
	assert_int_equal(ferry_meta_sign(md, keys[1], NULL), 0);
	assert_int_equal(ferry_meta_serialize(md, &doc, &len, NULL), 0);
	ferry_meta_free(md);
	md = NULL;
	for (n = 0; !done && n < 100000; n++) {
		base = live;
		fail_countdown = n;
		r = ferry_meta_parse(doc, len, 1 << 20, &md, NULL);
		done = fail_countdown >= 0;	/* never reached: all passed */
		fail_countdown = -1;
		if (r == 0) {
			assert_non_null(md);
			ferry_meta_free(md);
			md = NULL;
		} else {
			assert_true(r < 0);
			assert_null(md);
		}
		if (live != base)
			fail_msg("allocation %ld failing leaked %ld blocks "
			    "(r=%d)", n, live - base, r);
	}
	assert_true(done);
	assert_true(n > 10);
	free(doc);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_roles),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_accepted_variants),
		cmocka_unit_test(test_document_errors),
		cmocka_unit_test(test_unknown_fields_round_trip),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_expiry_and_replace),
		cmocka_unit_test(test_sign_allocation_failures),
#ifdef FAILMALLOC
		cmocka_unit_test(test_allocation_failures),
#endif
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}

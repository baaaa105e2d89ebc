/*
 * Fuzz target: the TUF metadata model (lib/meta.c, lib/meta_targets.c,
 * and through them lib/key.c, lib/hash.c and lib/json.c).
 *
 * Input: arbitrary bytes, parsed with ferry_meta_parse().  Any violation
 * of the checks below calls abort(), which libFuzzer reports as a crash.
 *
 * A failed parse must fail with one of the codes a parse can mean (never
 * FERRY_ERR_INTERNAL, which says a lib/ invariant broke), must leave *out
 * alone, and must say what was wrong in the struct ferry_error.
 *
 * A parsed document is checked as a view (the fields agree with the JSON,
 * expiry parses and formats back to the same string, key rings are sorted
 * and searchable, every key object has a key id, every "hashes" object
 * gives a verdict from ferry_hashes_verify_buf()), and every lookup of
 * its type is exercised with results checked where an independent answer
 * is known:
 *   root       ferry_meta_verify_by_root(md, t, md) for every t (only
 *              t == root can be checked against signatures; the others
 *              must be refused as the wrong type);
 *   targets    ferry_meta_target() on every target path and on an absent
 *              one; for each delegated role ferry_meta_delegated_role()
 *              finds it by name, ferry_role_matches_path() on fixed paths
 *              agrees with a SHA-256 prefix check or, for patterns without
 *              wildcards, with plain equality, and ferry_meta_verify()
 *              against the delegation's keys returns; for succinct hash
 *              bins, ferry_succinct_bin_name() of fixed paths gives names
 *              that ferry_meta_delegated_role() accepts, and names outside
 *              the bins are refused;
 *   snapshot, timestamp
 *              ferry_meta_metafile() on every name in "meta" and on an
 *              absent one;
 * and lookups of the other types must be refused.
 *
 * Then the round trip: ferry_meta_serialize() (the file form, which
 * escapes control characters, so its output must parse as it is),
 * ferry_meta_parse() of the result, and the two views must agree (type,
 * version, expires, spec version, signatures, key ids, canonlen and the
 * canonical bytes of "signed", and the documents are json_equal), and
 * serialising the second gives the same bytes again.
 *
 * One known limit of lib/ is tolerated rather than reported, so that
 * fuzzing can go past it (fuzz/README.md describes it):
 * ferry_meta_parse() checks that "signed" can be encoded canonically, but
 * not the rest of the document, so ferry_meta_serialize() of a document
 * that parsed can still fail with FERRY_ERR_JSON_FLOAT (a real number in
 * "signatures" or in an unknown top-level field) or FERRY_ERR_JSON_DEPTH
 * ("signed" nested to exactly FERRY_JSON_MAX_DEPTH is one level too deep
 * inside the whole document).  Those two codes end the check; any other
 * failure aborts.
 *
 * Everything allocated is freed: the target is leak-free under ASan.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/json.h"
#include "lib/key.h"
#include "lib/meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Paths tried against every delegation: plain, nested, odd and long. */
static const char *const probe_paths[] = {
	"",
	"a",
	"file.txt",
	"targets/file.txt",
	"a/b/c",
	"dir/",
	"/abs/path",
	"*",
	"..",
	"caf\xc3\xa9/\xe2\x82\xac.bin",
	"very/long/path/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};
#define NPROBES (sizeof(probe_paths) / sizeof(probe_paths[0]))

/* Nobody names a target, role or metafile this (a NUL-free C string). */
#define ABSENT_NAME "\x7f fuzz_meta: absent \x7f"

/* Codes ferry_meta_parse() may fail with for some input. */
static int
parse_code_ok(int r)
{
	switch (r) {
	case FERRY_ERR_NOMEM:
	case FERRY_ERR_JSON:
	case FERRY_ERR_JSON_FLOAT:
	case FERRY_ERR_JSON_DEPTH:
	case FERRY_ERR_META_FIELD:
	case FERRY_ERR_META_TYPE:
	case FERRY_ERR_SPEC_VERSION:
	case FERRY_ERR_KEY:
		return 1;
	default:
		return 0;
	}
}

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* A key ring: sorted, distinct, and every entry found by its key id. */
static void
check_keyring(const struct ferry_keyring *ring)
{
	size_t i;

	check(ring->n == 0 || ring->e != NULL);
	for (i = 0; i < ring->n; i++) {
		check(ring->e[i].keyid != NULL && ring->e[i].key != NULL);
		if (i > 0)
			check(strcmp(ring->e[i - 1].keyid,
			    ring->e[i].keyid) < 0);
		check(ferry_keyring_find(ring, ring->e[i].keyid) ==
		    ring->e[i].key);
	}
	check(ferry_keyring_find(ring, ABSENT_NAME) == NULL);
}

/*
 * Every key object of a parsed document has a key id: it sits inside
 * "signed", which encoded canonically, so the key encodes too.
 */
static void
check_key_objects(const json_t *keys)
{
	struct ferry_error err;
	char id[FERRY_KEYID_HEXLEN + 1];
	const char *keyid;
	json_t *k;
	int r;

	json_object_foreach((json_t *)keys, keyid, k) {
		ferry_error_clear(&err);
		r = ferry_keyid(k, id, &err);
		check(r == 0 || r == FERRY_ERR_NOMEM);
		if (r == 0)
			check(strlen(id) == FERRY_KEYID_HEXLEN &&
			    strspn(id, "0123456789abcdef") ==
			    FERRY_KEYID_HEXLEN);
	}
}

/*
 * Check some bytes against a "hashes" object of the document: whatever
 * the algorithms and digests say, the answer is a verdict.
 */
static void
check_hashes(const json_t *hashes, const char *data)
{
	struct ferry_error err;
	int r;

	ferry_error_clear(&err);
	r = ferry_hashes_verify_buf(hashes, data, strlen(data), &err);
	check(r == 0 || r == FERRY_ERR_HASH_MISMATCH ||
	    r == FERRY_ERR_HASH_UNSUPPORTED || r == FERRY_ERR_META_FIELD ||
	    r == FERRY_ERR_NOMEM);
}

/* A role description as meta.h promises it. */
static void
check_role(const struct ferry_role *role)
{
	size_t i, j;

	check(role->threshold >= 1);
	check(role->nkeyids == 0 || role->keyids != NULL);
	for (i = 0; i < role->nkeyids; i++) {
		check(role->keyids[i] != NULL);
		for (j = 0; j < i; j++)
			check(strcmp(role->keyids[i], role->keyids[j]) != 0);
	}
}

/* ferry_meta_verify() returns a verdict, never anything else. */
static void
check_verify(const struct ferry_meta *md, const struct ferry_keyring *ring,
    const struct ferry_role *role)
{
	struct ferry_error err;
	size_t nvalid = SIZE_MAX;
	int r;

	ferry_error_clear(&err);
	r = ferry_meta_verify(md, ring, role, &nvalid, &err);
	if (r == FERRY_ERR_NOMEM)
		return;
	check(r == 0 || r == FERRY_ERR_THRESHOLD);
	check(nvalid <= role->nkeyids && nvalid <= md->nsigs);
	check((r == 0) == (nvalid >= role->threshold));
}

/* Lowercase hex SHA-256 of s, from lib/hash.c (not from meta_targets.c). */
static int
sha256_hex(const char *s, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[FERRY_HASH_MAX];
	size_t n, i;

	if (ferry_hash_buf(FERRY_HASH_SHA256, s, strlen(s), d, &n) != 0 ||
	    n != 32)
		return -1;
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 0x0f];
	}
	hex[64] = '\0';
	return 0;
}

/* Whether any string in a (an array) is a prefix of hex. */
static int
prefix_matches(const json_t *a, const char *hex)
{
	const char *p;
	size_t i;

	for (i = 0; i < json_array_size(a); i++) {
		p = json_string_value(json_array_get(a, i));
		if (p != NULL && strlen(p) <= 64 &&
		    strncmp(hex, p, strlen(p)) == 0)
			return 1;
	}
	return 0;
}

static void
check_delegated_role(const struct ferry_meta *md,
    const struct ferry_delegations *d, const struct ferry_role *role)
{
	const char *p;
	char hex[65];
	size_t i;
	int m;

	check_role(role);
	check(role->name != NULL && role->name[0] != '\0');
	check(ferry_meta_delegated_role(md, role->name) == role);
	check(role->terminating == 0 || role->terminating == 1);
	check((role->paths == NULL) != (role->path_hash_prefixes == NULL));
	for (i = 0; i < NPROBES; i++) {
		m = ferry_role_matches_path(role, probe_paths[i]);
		check(m == 0 || m == 1);
		if (role->path_hash_prefixes != NULL &&
		    sha256_hex(probe_paths[i], hex) == 0)
			check(m == prefix_matches(role->path_hash_prefixes,
			    hex));
	}
	/* A pattern with no wildcard matches the path it spells, exactly. */
	for (i = 0; role->paths != NULL && i < json_array_size(role->paths);
	    i++) {
		p = ferry_json_cstr(json_array_get(role->paths, i));
		check(p != NULL);
		if (strpbrk(p, "*?[") == NULL)
			check(ferry_role_matches_path(role, p) == 1);
	}
	check_verify(md, &d->keys, role);
}

static void
check_bins(const struct ferry_meta *md, const struct ferry_delegations *d)
{
	const struct ferry_succinct *b = &d->bins;
	char name[512], hex[65], top8[9];
	size_t plen, width, i;
	unsigned long long top;
	uint32_t want;
	int r;

	check(d->nroles == 0);
	check(b->role.name == NULL);
	check_role(&b->role);
	check(b->bit_length >= 1 && b->bit_length <= 32);
	check(b->name_prefix != NULL);
	plen = strlen(b->name_prefix);
	width = (b->bit_length + 3) / 4;
	for (i = 0; i < NPROBES; i++) {
		r = ferry_succinct_bin_name(b, probe_paths[i], name,
		    sizeof(name));
		if (plen + 1 + width >= sizeof(name)) {
			check(r == FERRY_ERR_INVALID_ARG);
			continue;
		}
		check(r == 0);
		check(strlen(name) == plen + 1 + width);
		check(memcmp(name, b->name_prefix, plen) == 0 &&
		    name[plen] == '-');
		/* The bin is the top bit_length bits of the digest. */
		if (sha256_hex(probe_paths[i], hex) == 0) {
			memcpy(top8, hex, 8);
			top8[8] = '\0';
			want = (uint32_t)strtoul(top8, NULL, 16);
			want >>= 32 - b->bit_length;
			check(strtoull(name + plen + 1, NULL, 16) == want);
		}
		check(ferry_meta_delegated_role(md, name) == &b->role);
	}
	/* Names that are not bins: one past the last bin, too many digits. */
	if (plen + 1 + width + 2 < sizeof(name)) {
		top = 1ULL << b->bit_length;
		if (b->bit_length % 4 != 0) {
			(void)snprintf(name, sizeof(name), "%s-%0*llx",
			    b->name_prefix, (int)width, top);
			check(ferry_meta_delegated_role(md, name) == NULL);
		}
		(void)snprintf(name, sizeof(name), "%s-0%0*x", b->name_prefix,
		    (int)width, 0u);
		check(ferry_meta_delegated_role(md, name) == NULL);
		(void)snprintf(name, sizeof(name), "%s-%0*x", b->name_prefix,
		    (int)width, 0u);
		check(ferry_meta_delegated_role(md, name) == &b->role);
	}
	check_verify(md, &d->keys, &b->role);
}

static void
check_targets(const struct ferry_meta *md)
{
	const struct ferry_delegations *d = md->delegations;
	struct ferry_target t;
	const char *path;
	json_t *v;
	size_t i;

	check(json_is_object(md->targets));
	json_object_foreach((json_t *)md->targets, path, v) {
		check(ferry_meta_target(md, path, &t) == 0);
		check(t.path != NULL && strcmp(t.path, path) == 0);
		check(json_is_integer(json_object_get(v, "length")) &&
		    (json_int_t)t.length ==
		    json_integer_value(json_object_get(v, "length")));
		check(json_is_object(t.hashes) &&
		    json_object_size(t.hashes) > 0);
		check(t.custom == json_object_get(v, "custom"));
		check_hashes(t.hashes, path);
	}
	check(ferry_meta_target(md, ABSENT_NAME, &t) ==
	    (json_object_get(md->targets, ABSENT_NAME) == NULL ?
	    FERRY_ERR_NOT_FOUND : 0));
	/* No delegation may take a top-level role's name. */
	check(ferry_meta_delegated_role(md, "root") == NULL);
	check(ferry_meta_delegated_role(md, "targets") == NULL);
	check(ferry_meta_delegated_role(md, "snapshot") == NULL);
	check(ferry_meta_delegated_role(md, "timestamp") == NULL);
	if (d == NULL)
		return;
	check_keyring(&d->keys);
	check_key_objects(json_object_get(json_object_get(md->signed_obj,
	    "delegations"), "keys"));
	if (d->succinct) {
		check_bins(md, d);
		return;
	}
	check(d->nroles == 0 || d->roles != NULL);
	for (i = 0; i < d->nroles; i++)
		check_delegated_role(md, d, &d->roles[i]);
}

static void
check_root(const struct ferry_meta *md)
{
	struct ferry_error err;
	size_t nvalid;
	int t, r;

	check_keyring(&md->keys);
	check_key_objects(json_object_get(md->signed_obj, "keys"));
	check(md->consistent_snapshot >= -1 && md->consistent_snapshot <= 1);
	for (t = 0; t < FERRY_META_NTYPES; t++) {
		check(md->roles[t].name != NULL &&
		    strcmp(md->roles[t].name,
		    ferry_meta_type_name((enum ferry_meta_type)t)) == 0);
		check_role(&md->roles[t]);
		/* Verify md as each top-level role, against itself. */
		ferry_error_clear(&err);
		nvalid = 0;
		r = ferry_meta_verify_by_root(md, (enum ferry_meta_type)t, md,
		    &nvalid, &err);
		if (t != FERRY_META_ROOT)
			check(r == FERRY_ERR_META_TYPE);
		else
			check(r == 0 || r == FERRY_ERR_THRESHOLD ||
			    r == FERRY_ERR_NOMEM);
	}
}

static void
check_metamap(const struct ferry_meta *md)
{
	struct ferry_metafile mf;
	const char *name;
	json_t *v;

	check(json_is_object(md->meta));
	if (md->type == FERRY_META_TIMESTAMP)
		check(json_object_get(md->meta, "snapshot.json") != NULL);
	json_object_foreach((json_t *)md->meta, name, v) {
		check(ferry_meta_metafile(md, name, &mf) == 0);
		check(mf.version >= 1 && mf.length >= -1);
		check((mf.length == -1) ==
		    (json_object_get(v, "length") == NULL));
		check(mf.hashes == json_object_get(v, "hashes"));
		if (mf.hashes != NULL)
			check_hashes(mf.hashes, name);
	}
	check(ferry_meta_metafile(md, ABSENT_NAME, &mf) ==
	    (json_object_get(md->meta, ABSENT_NAME) == NULL ?
	    FERRY_ERR_NOT_FOUND : 0));
}

/* Everything that holds for any parsed document, whatever its type. */
static void
check_view(const struct ferry_meta *md)
{
	struct ferry_error err;
	struct ferry_target t;
	struct ferry_metafile mf;
	unsigned char *canon = NULL;
	json_t *sigs;
	char when[32];
	size_t i, n = 0;
	int r;

	check(json_is_object(md->doc));
	check(md->signed_obj == json_object_get(md->doc, "signed"));
	check(strcmp(ferry_meta_type_name(md->type), ferry_json_cstr(
	    json_object_get(md->signed_obj, "_type"))) == 0);
	check(md->spec_version != NULL && md->spec_version[0] == '1');
	check(md->version >= 1);
	/* The expiry parser is exact, so formatting gives the string back. */
	check(md->expires_str != NULL &&
	    ferry_meta_format_time(md->expires, when, sizeof(when)) == 0 &&
	    strcmp(when, md->expires_str) == 0);
	check(ferry_meta_is_expired(md, md->expires) == 1);
	check(ferry_meta_is_expired(md, md->expires - 1) == 0);
	sigs = json_object_get(md->doc, "signatures");
	check(json_is_array(sigs) && json_array_size(sigs) == md->nsigs);
	for (i = 0; i < md->nsigs; i++)
		check(md->sigs[i].keyid != NULL && md->sigs[i].sig != NULL);
	/* canon is the canonical form of "signed", NUL-terminated. */
	ferry_error_clear(&err);
	r = ferry_json_canonical(md->signed_obj, &canon, &n, &err);
	check(r == 0 || r == FERRY_ERR_NOMEM);
	if (r == 0)
		check(n == md->canonlen &&
		    memcmp(canon, md->canon, n) == 0 &&
		    md->canon[md->canonlen] == '\0');
	free(canon);

	switch (md->type) {
	case FERRY_META_ROOT:
		check_root(md);
		break;
	case FERRY_META_TARGETS:
		check_targets(md);
		break;
	case FERRY_META_SNAPSHOT:
	case FERRY_META_TIMESTAMP:
		check_metamap(md);
		break;
	}
	/* Lookups that do not fit the type are refused. */
	if (md->type != FERRY_META_TARGETS) {
		check(ferry_meta_target(md, "a", &t) == FERRY_ERR_INVALID_ARG);
		check(ferry_meta_delegated_role(md, "a") == NULL);
	}
	if (md->type != FERRY_META_SNAPSHOT && md->type != FERRY_META_TIMESTAMP)
		check(ferry_meta_metafile(md, "a", &mf) ==
		    FERRY_ERR_INVALID_ARG);
	/* Verifying as root is refused unless md is root. */
	if (md->type != FERRY_META_ROOT)
		check(ferry_meta_verify_by_root(md, md->type, md, NULL,
		    NULL) == FERRY_ERR_META_TYPE);
}

/* Two views of the same document agree. */
static void
check_same(const struct ferry_meta *a, const struct ferry_meta *b)
{
	size_t i;

	check(a->type == b->type && a->version == b->version &&
	    a->expires == b->expires);
	check(strcmp(a->expires_str, b->expires_str) == 0 &&
	    strcmp(a->spec_version, b->spec_version) == 0);
	check(a->nsigs == b->nsigs);
	for (i = 0; i < a->nsigs; i++)
		check(strcmp(a->sigs[i].keyid, b->sigs[i].keyid) == 0 &&
		    strcmp(a->sigs[i].sig, b->sigs[i].sig) == 0);
	check(a->canonlen == b->canonlen &&
	    memcmp(a->canon, b->canon, a->canonlen) == 0);
	check(a->consistent_snapshot == b->consistent_snapshot);
	check(a->keys.n == b->keys.n);
	for (i = 0; i < a->keys.n; i++)
		check(strcmp(a->keys.e[i].keyid, b->keys.e[i].keyid) == 0 &&
		    ferry_key_kind(a->keys.e[i].key) ==
		    ferry_key_kind(b->keys.e[i].key));
	check((a->delegations == NULL) == (b->delegations == NULL));
	if (a->delegations != NULL)
		check(a->delegations->nroles == b->delegations->nroles &&
		    a->delegations->succinct == b->delegations->succinct &&
		    a->delegations->keys.n == b->delegations->keys.n);
	check(json_equal(a->doc, b->doc));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_error err;
	struct ferry_meta *md = NULL, *md2 = NULL;
	unsigned char *s1 = NULL, *s2 = NULL;
	size_t n1 = 0, n2 = 0;
	int r;

	ferry_error_clear(&err);
	r = ferry_meta_parse(data, size, FERRY_META_MAX_DEFAULT, &md, &err);
	if (r != 0) {
		check(parse_code_ok(r) && md == NULL);
		/* The detail names the problem, under the code returned. */
		if (r != FERRY_ERR_NOMEM)
			check(err.msg[0] != '\0' && err.code == r);
		return 0;
	}
	check(md != NULL);
	check_view(md);

	ferry_error_clear(&err);
	r = ferry_meta_serialize(md, &s1, &n1, &err);
	if (r == FERRY_ERR_NOMEM || r == FERRY_ERR_JSON_FLOAT ||
	    r == FERRY_ERR_JSON_DEPTH)
		goto out;	/* see the top comment */
	check(r == 0 && s1 != NULL && s1[n1] == '\0');

	ferry_error_clear(&err);
	r = ferry_meta_parse(s1, n1, SIZE_MAX, &md2, &err);
	if (r == FERRY_ERR_NOMEM)
		goto out;
	check(r == 0);
	check_same(md, md2);
	ferry_error_clear(&err);
	r = ferry_meta_serialize(md2, &s2, &n2, &err);
	if (r == FERRY_ERR_NOMEM)
		goto out;
	check(r == 0 && n2 == n1 && memcmp(s1, s2, n1) == 0);
 out:
	free(s1);
	free(s2);
	ferry_meta_free(md);
	ferry_meta_free(md2);
	return 0;
}

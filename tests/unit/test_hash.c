/* Unit tests for lib/hash.c: digests and checks against "hashes" objects. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/hash.h"
#include "lib/hex.h"

#define MILLION 1000000

struct kat {
	enum ferry_hash_alg alg;
	const char *name;
	size_t len;
	const char *empty;
	const char *abc;
	const char *million_a;
};

static const struct kat kats[] = {
	{ FERRY_HASH_SHA224, "sha224", 28,
	  "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f",
	  "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
	  "20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67" },
	{ FERRY_HASH_SHA256, "sha256", 32,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	{ FERRY_HASH_SHA384, "sha384", 48,
	  "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
	  "274edebfe76f65fbd51ad2f14898b95b",
	  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	  "8086072ba1e7cc2358baeca134c825a7",
	  "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b"
	  "07b8b3dc38ecc4ebae97ddd87f3d8985" },
	{ FERRY_HASH_SHA512, "sha512", 64,
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	  "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
	  "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b" },
};
#define NKATS (sizeof(kats) / sizeof(kats[0]))

/* Uneven chunk sizes, crossing the 64- and 128-byte block boundaries. */
static const size_t chunks[] = { 1, 0, 7, 63, 64, 65, 127, 128, 129, 1000,
    3, 4097, 55, 56, 111, 112, 65536 + 13 };
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static void
assert_digest_hex(const unsigned char *d, size_t n, const char *want)
{
	char hex[2 * FERRY_HASH_MAX + 1];

	assert_true(n <= FERRY_HASH_MAX);
	ferry_hex_encode(d, n, hex);
	assert_string_equal(hex, want);
}

static void
test_oneshot_kats(void **state)
{
	unsigned char d[FERRY_HASH_MAX];
	size_t i, n;

	(void)state;
	for (i = 0; i < NKATS; i++) {
		n = 0;
		assert_int_equal(ferry_hash_buf(kats[i].alg, "", 0, d, &n), 0);
		assert_int_equal(n, kats[i].len);
		assert_digest_hex(d, n, kats[i].empty);
		/* NULL with length 0 is the empty message. */
		n = 0;
		assert_int_equal(ferry_hash_buf(kats[i].alg, NULL, 0, d, &n), 0);
		assert_digest_hex(d, n, kats[i].empty);
		n = 0;
		assert_int_equal(ferry_hash_buf(kats[i].alg, "abc", 3, d, &n),
		    0);
		assert_int_equal(n, kats[i].len);
		assert_digest_hex(d, n, kats[i].abc);
	}
}

static void
test_oneshot_million_a(void **state)
{
	unsigned char d[FERRY_HASH_MAX];
	unsigned char *buf;
	size_t i, n;

	(void)state;
	buf = malloc(MILLION);
	assert_non_null(buf);
	memset(buf, 'a', MILLION);
	for (i = 0; i < NKATS; i++) {
		assert_int_equal(ferry_hash_buf(kats[i].alg, buf, MILLION, d,
		    &n), 0);
		assert_digest_hex(d, n, kats[i].million_a);
	}
	free(buf);
}

static void
test_streaming_kats(void **state)
{
	struct ferry_hash *h;
	unsigned char d[FERRY_HASH_MAX];
	size_t i, n;

	(void)state;
	for (i = 0; i < NKATS; i++) {
		/* Empty: no update at all. */
		h = NULL;
		assert_int_equal(ferry_hash_new(kats[i].alg, &h), 0);
		assert_non_null(h);
		assert_int_equal(ferry_hash_final(h, d, &n), 0);
		assert_int_equal(n, kats[i].len);
		assert_digest_hex(d, n, kats[i].empty);
		ferry_hash_free(h);

		/* "abc" one byte at a time, with empty updates between. */
		assert_int_equal(ferry_hash_new(kats[i].alg, &h), 0);
		assert_int_equal(ferry_hash_update(h, "a", 1), 0);
		assert_int_equal(ferry_hash_update(h, NULL, 0), 0);
		assert_int_equal(ferry_hash_update(h, "b", 1), 0);
		assert_int_equal(ferry_hash_update(h, "", 0), 0);
		assert_int_equal(ferry_hash_update(h, "c", 1), 0);
		assert_int_equal(ferry_hash_final(h, d, &n), 0);
		assert_digest_hex(d, n, kats[i].abc);
		ferry_hash_free(h);
	}
}

/* The 1,000,000 x 'a' vector through the streaming API in uneven pieces. */
static void
test_streaming_million_a_uneven(void **state)
{
	struct ferry_hash *h[NKATS];
	unsigned char d[FERRY_HASH_MAX];
	unsigned char *buf;
	size_t i, n, off, c, k;

	(void)state;
	buf = malloc(MILLION);
	assert_non_null(buf);
	memset(buf, 'a', MILLION);
	for (i = 0; i < NKATS; i++)
		assert_int_equal(ferry_hash_new(kats[i].alg, &h[i]), 0);
	for (off = 0, k = 0; off < MILLION; k++) {
		c = chunks[k % NCHUNKS];
		if (c > MILLION - off)
			c = MILLION - off;
		for (i = 0; i < NKATS; i++)
			assert_int_equal(ferry_hash_update(h[i], buf + off, c),
			    0);
		off += c;
	}
	for (i = 0; i < NKATS; i++) {
		assert_int_equal(ferry_hash_final(h[i], d, &n), 0);
		assert_int_equal(n, kats[i].len);
		assert_digest_hex(d, n, kats[i].million_a);
		ferry_hash_free(h[i]);
	}
	free(buf);
}

static void
test_hash_bad_args(void **state)
{
	struct ferry_hash *h = NULL;
	unsigned char d[FERRY_HASH_MAX];
	size_t n;

	(void)state;
	assert_int_equal(ferry_hash_new((enum ferry_hash_alg)99, &h),
	    FERRY_ERR_INVALID_ARG);
	assert_null(h);
	assert_int_equal(ferry_hash_new(FERRY_HASH_SHA256, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_buf((enum ferry_hash_alg)99, "", 0, d, &n),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, NULL, 1, d, &n),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, "", 0, NULL, &n),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, "", 0, d, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_update(NULL, "a", 1),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_final(NULL, d, &n), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_new(FERRY_HASH_SHA256, &h), 0);
	assert_int_equal(ferry_hash_update(h, NULL, 5), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_final(h, NULL, &n), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hash_final(h, d, NULL), FERRY_ERR_INVALID_ARG);
	ferry_hash_free(h);
	ferry_hash_free(NULL);
}

static void
test_names(void **state)
{
	static const char *const unsupported[] = {
		"md5", "sha1", "SHA256", "Sha256", "sha-256", "sha256 ",
		" sha256", "sha2", "sha", "", "blake2b", "blake2b-256",
		"sha3-256", "sha512/256", "sha2560",
	};
	enum ferry_hash_alg alg;
	size_t i;

	(void)state;
	for (i = 0; i < NKATS; i++) {
		alg = (enum ferry_hash_alg)99;
		assert_int_equal(ferry_hash_alg_from_name(kats[i].name, &alg),
		    0);
		assert_int_equal(alg, kats[i].alg);
		assert_string_equal(ferry_hash_alg_name(kats[i].alg),
		    kats[i].name);
		assert_int_equal(ferry_hash_len(kats[i].alg), kats[i].len);
		assert_true(ferry_hash_len(kats[i].alg) <= FERRY_HASH_MAX);
	}
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		alg = (enum ferry_hash_alg)99;
		assert_int_equal(ferry_hash_alg_from_name(unsupported[i], &alg),
		    FERRY_ERR_HASH_UNSUPPORTED);
		assert_int_equal(alg, 99);	/* untouched */
	}
	assert_int_equal(ferry_hash_alg_from_name(NULL, &alg),
	    FERRY_ERR_HASH_UNSUPPORTED);
	assert_string_equal(ferry_hash_alg_name((enum ferry_hash_alg)99),
	    "unknown");
	assert_int_equal(ferry_hash_len((enum ferry_hash_alg)99), 0);
	assert_int_equal(ferry_hash_len((enum ferry_hash_alg)-1), 0);
}

/* ---- ferry_hashset ---- */

static json_t *
hashes_obj(const char *name, const char *hex)
{
	json_t *o = json_object();

	assert_non_null(o);
	if (name != NULL)
		assert_int_equal(json_object_set_new(o, name,
		    json_string(hex)), 0);
	return o;
}

static void
add_hash(json_t *o, const char *name, const char *hex)
{
	assert_int_equal(json_object_set_new(o, name, json_string(hex)), 0);
}

static void
test_hashset_match(void **state)
{
	struct ferry_error err;
	json_t *h;

	(void)state;
	memset(&err, 0, sizeof(err));
	h = hashes_obj("sha256", kats[1].abc);
	add_hash(h, "sha512", kats[3].abc);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err), 0);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
	/* NULL err is fine too. */
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL), 0);
	/* Different data fails. */
	assert_int_equal(ferry_hashes_verify_buf(h, "abd", 3, &err),
	    FERRY_ERR_HASH_MISMATCH);
	assert_int_equal(ferry_hashes_verify_buf(h, "ab", 2, NULL),
	    FERRY_ERR_HASH_MISMATCH);
	assert_int_equal(ferry_hashes_verify_buf(h, "", 0, NULL),
	    FERRY_ERR_HASH_MISMATCH);
	json_decref(h);
}

static void
test_hashset_all_four(void **state)
{
	json_t *h = json_object();
	size_t i;

	(void)state;
	for (i = 0; i < NKATS; i++)
		add_hash(h, kats[i].name, kats[i].empty);
	assert_int_equal(ferry_hashes_verify_buf(h, "", 0, NULL), 0);
	assert_int_equal(ferry_hashes_verify_buf(h, NULL, 0, NULL), 0);
	assert_int_equal(ferry_hashes_verify_buf(h, "x", 1, NULL),
	    FERRY_ERR_HASH_MISMATCH);
	json_decref(h);
}

/* Streaming: the million-'a' vector, all algorithms at once. */
static void
test_hashset_streaming(void **state)
{
	struct ferry_hashset *s = NULL;
	struct ferry_error err;
	unsigned char *buf;
	size_t i, off, c, k;
	json_t *h = json_object();

	(void)state;
	memset(&err, 0, sizeof(err));
	for (i = 0; i < NKATS; i++)
		add_hash(h, kats[i].name, kats[i].million_a);
	buf = malloc(MILLION);
	assert_non_null(buf);
	memset(buf, 'a', MILLION);
	assert_int_equal(ferry_hashset_new(h, &s, &err), 0);
	assert_non_null(s);
	for (off = 0, k = 0; off < MILLION; k++) {
		c = chunks[(k * 5) % NCHUNKS];
		if (c > MILLION - off)
			c = MILLION - off;
		assert_int_equal(ferry_hashset_update(s, buf + off, c), 0);
		off += c;
	}
	assert_int_equal(ferry_hashset_verify(s, &err), 0);
	ferry_hashset_free(s);

	/* One byte short: mismatch. */
	assert_int_equal(ferry_hashset_new(h, &s, &err), 0);
	assert_int_equal(ferry_hashset_update(s, buf, MILLION - 1), 0);
	assert_int_equal(ferry_hashset_verify(s, &err),
	    FERRY_ERR_HASH_MISMATCH);
	assert_int_equal(err.code, FERRY_ERR_HASH_MISMATCH);
	ferry_hashset_free(s);
	ferry_hashset_free(NULL);
	assert_int_equal(ferry_hashset_update(NULL, "a", 1),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hashset_verify(NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hashset_new(h, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	free(buf);
	json_decref(h);
}

/* One wrong digest among good ones: mismatch naming that algorithm. */
static void
test_hashset_one_wrong(void **state)
{
	char bad[2 * 64 + 1];
	struct ferry_error err;
	json_t *h;

	(void)state;
	/* sha512 wrong (last digit flipped), sha256 right. */
	strcpy(bad, kats[3].abc);
	bad[127] = bad[127] == '0' ? '1' : '0';
	memset(&err, 0, sizeof(err));
	h = hashes_obj("sha256", kats[1].abc);
	add_hash(h, "sha512", bad);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
	    FERRY_ERR_HASH_MISMATCH);
	assert_int_equal(err.code, FERRY_ERR_HASH_MISMATCH);
	assert_non_null(strstr(err.msg, "sha512"));
	assert_null(strstr(err.msg, "sha256"));
	/* The message reports what was computed. */
	assert_non_null(strstr(err.msg, kats[3].abc));
	json_decref(h);

	/* sha256 wrong (first digit), sha512 right; other order too. */
	strcpy(bad, kats[1].abc);
	bad[0] = 'a';
	memset(&err, 0, sizeof(err));
	h = hashes_obj("sha512", kats[3].abc);
	add_hash(h, "sha256", bad);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
	    FERRY_ERR_HASH_MISMATCH);
	assert_non_null(strstr(err.msg, "sha256"));
	assert_null(strstr(err.msg, "sha512"));
	json_decref(h);

	/* sha224 alone, wrong. */
	memset(&err, 0, sizeof(err));
	h = hashes_obj("sha224", kats[0].empty);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
	    FERRY_ERR_HASH_MISMATCH);
	assert_non_null(strstr(err.msg, "sha224"));
	json_decref(h);
}

/* A digest that cannot be checked fails; it is never skipped. */
static void
test_hashset_unsupported(void **state)
{
	static const char *const names[] = {
		"md5", "SHA256", "", "blake2b", "sha1", "sha3-256",
	};
	struct ferry_hashset *s;
	struct ferry_error err;
	json_t *h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* Alongside a correct sha256, before and after it. */
		memset(&err, 0, sizeof(err));
		h = hashes_obj("sha256", kats[1].abc);
		add_hash(h, names[i], "900150983cd24fb0d6963f7d28e17f72");
		s = NULL;
		assert_int_equal(ferry_hashset_new(h, &s, &err),
		    FERRY_ERR_HASH_UNSUPPORTED);
		assert_null(s);
		assert_int_equal(err.code, FERRY_ERR_HASH_UNSUPPORTED);
		if (names[i][0] != '\0')
			assert_non_null(strstr(err.msg, names[i]));
		assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
		    FERRY_ERR_HASH_UNSUPPORTED);
		json_decref(h);

		memset(&err, 0, sizeof(err));
		h = hashes_obj(names[i], kats[1].abc);
		add_hash(h, "sha256", kats[1].abc);
		assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
		    FERRY_ERR_HASH_UNSUPPORTED);
		json_decref(h);

		/* Alone. */
		h = hashes_obj(names[i], kats[1].abc);
		assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
		    FERRY_ERR_HASH_UNSUPPORTED);
		json_decref(h);
	}
}

static void
test_hashset_empty_and_not_object(void **state)
{
	struct ferry_hashset *s = NULL;
	struct ferry_error err;
	json_t *h;

	(void)state;
	memset(&err, 0, sizeof(err));
	h = json_object();
	assert_int_equal(ferry_hashset_new(h, &s, &err), FERRY_ERR_META_FIELD);
	assert_null(s);
	assert_int_equal(err.code, FERRY_ERR_META_FIELD);
	assert_non_null(strstr(err.msg, "hashes"));
	assert_int_equal(ferry_hashes_verify_buf(h, "", 0, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	assert_int_equal(ferry_hashes_verify_buf(NULL, "", 0, NULL),
	    FERRY_ERR_META_FIELD);
	h = json_array();
	assert_int_equal(ferry_hashes_verify_buf(h, "", 0, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);
	h = json_string(kats[1].empty);
	assert_int_equal(ferry_hashes_verify_buf(h, "", 0, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);
}

static void
test_hashset_bad_digest_values(void **state)
{
	char buf[200];
	struct ferry_error err;
	json_t *h;

	(void)state;
	/* One digit short, one digit long, a byte long, the sha512 length. */
	memcpy(buf, kats[1].abc, 63);
	buf[63] = '\0';
	h = hashes_obj("sha256", buf);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
	    FERRY_ERR_META_FIELD);
	assert_int_equal(err.code, FERRY_ERR_META_FIELD);
	assert_non_null(strstr(err.msg, "sha256"));
	json_decref(h);

	snprintf(buf, sizeof(buf), "%s0", kats[1].abc);
	h = hashes_obj("sha256", buf);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	snprintf(buf, sizeof(buf), "%s00", kats[1].abc);
	h = hashes_obj("sha256", buf);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	memcpy(buf, kats[1].abc, 62);
	buf[62] = '\0';
	h = hashes_obj("sha256", buf);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	h = hashes_obj("sha256", kats[3].abc);	/* sha512 digest as sha256 */
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	h = hashes_obj("sha256", "");
	assert_int_equal(ferry_hashes_verify_buf(h, "", 0, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	/* Right length, not hex. */
	strcpy(buf, kats[1].abc);
	buf[10] = 'g';
	h = hashes_obj("sha256", buf);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	/* Not a string. */
	h = json_object();
	json_object_set_new(h, "sha256", json_integer(0));
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);
	h = json_object();
	json_object_set_new(h, "sha256", json_null());
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	/* A NUL inside the digest string, padded to the right length. */
	memcpy(buf, kats[1].abc, 64);
	buf[20] = '\0';
	h = json_object();
	json_object_set_new(h, "sha256", json_stringn(buf, 64));
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);

	/* Good sha256 with a bad sha512 value: still rejected up front. */
	h = hashes_obj("sha256", kats[1].abc);
	add_hash(h, "sha512", "00");
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_META_FIELD);
	json_decref(h);
}

/*
 * Uppercase hex digests are refused, as schemas/common.schema.json says:
 * every TUF implementation writes lowercase, and python-tuf compares the
 * strings, so an uppercase digest would verify in one client and not in
 * another.
 */
static void
test_hashset_uppercase_digest(void **state)
{
	struct ferry_error err = { 0 };
	char up[2 * 64 + 1];
	size_t i;
	json_t *h;

	(void)state;
	for (i = 0; kats[3].abc[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)kats[3].abc[i]);
	up[i] = '\0';
	h = hashes_obj("sha512", up);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
	    FERRY_ERR_META_FIELD);
	assert_non_null(strstr(err.msg, "lowercase"));
	json_decref(h);
	/* The same digest in lowercase passes. */
	h = hashes_obj("sha512", kats[3].abc);
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL), 0);
	json_decref(h);
}

/* More entries than supported algorithms: some must be unsupported. */
static void
test_hashset_more_than_four(void **state)
{
	struct ferry_hashset *s = NULL;
	struct ferry_error err;
	json_t *h;
	size_t i;

	(void)state;
	memset(&err, 0, sizeof(err));
	h = json_object();
	for (i = 0; i < NKATS; i++)
		add_hash(h, kats[i].name, kats[i].abc);
	add_hash(h, "md5", "900150983cd24fb0d6963f7d28e17f72");
	assert_int_equal(json_object_size(h), 5);
	assert_int_equal(ferry_hashset_new(h, &s, &err),
	    FERRY_ERR_HASH_UNSUPPORTED);
	assert_null(s);
	assert_int_equal(err.code, FERRY_ERR_HASH_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "md5"));
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_HASH_UNSUPPORTED);
	json_decref(h);

	/* Unsupported first, then all four good ones, then another. */
	memset(&err, 0, sizeof(err));
	h = hashes_obj("blake2b", "00");
	for (i = 0; i < NKATS; i++)
		add_hash(h, kats[i].name, kats[i].abc);
	add_hash(h, "sha1", "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, &err),
	    FERRY_ERR_HASH_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "blake2b"));
	json_decref(h);

	/* Many unsupported entries. */
	h = json_object();
	for (i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "alg%zu", i);
		add_hash(h, name, "00");
	}
	assert_int_equal(ferry_hashes_verify_buf(h, "abc", 3, NULL),
	    FERRY_ERR_HASH_UNSUPPORTED);
	json_decref(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneshot_kats),
		cmocka_unit_test(test_oneshot_million_a),
		cmocka_unit_test(test_streaming_kats),
		cmocka_unit_test(test_streaming_million_a_uneven),
		cmocka_unit_test(test_hash_bad_args),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hashset_match),
		cmocka_unit_test(test_hashset_all_four),
		cmocka_unit_test(test_hashset_streaming),
		cmocka_unit_test(test_hashset_one_wrong),
		cmocka_unit_test(test_hashset_unsupported),
		cmocka_unit_test(test_hashset_empty_and_not_object),
		cmocka_unit_test(test_hashset_bad_digest_values),
		cmocka_unit_test(test_hashset_uppercase_digest),
		cmocka_unit_test(test_hashset_more_than_four),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

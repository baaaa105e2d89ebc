/*
 * lib/keyfile.c: private key files.  Round trips that sign and verify,
 * every field bound to the ciphertext as additional data, the shape
 * checks and the field each one names, the Argon2id bounds (refused
 * before anything is allocated), reading and writing files, allocation
 * failures injected into jansson, and, reading the process's own memory
 * back, that no copy of a seed or a passphrase is left once a key is
 * freed, after success and after each way of failing.
 *
 * Argon2id runs at the "interactive" level (2 passes over 64 MiB, about
 * 0.13 s here) except in the "moderate" round trip; the "sensitive"
 * round trip costs two derivations of about 7 s each on the machine the
 * test was written on, so it runs only with FERRY_TEST_SLOW set.
 */
#include "config.h"

#include "unit.h"
#include "memscan.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/err.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/key.h"
#include "lib/keyfile.h"
#include "lib/seckey.h"

#define PASS		"correct horse battery staple"
#define PASSLEN		(sizeof(PASS) - 1)
/* Non-ASCII on purpose: the label goes through canonical JSON. */
#define LABEL		"release key \xc3\x86r\xc3\xb8"
#define CREATED		((int64_t)1700000000)
#define CREATED_STR	"2023-11-14T22:13:20Z"
#define MIB		((uint64_t)1 << 20)

/*
 * Sealing costs a derivation, so the documents every test starts from
 * are made once: doc (labelled), nolabel, and hi, sealed with a cost
 * above the floor so that it can be lowered.
 */
static struct {
	struct ferry_seckey *k, *other;
	json_t *doc, *nolabel, *hi;
	char dir[256];
} fx;

static struct ferry_kdf
interactive(void)
{
	struct ferry_kdf kdf;

	assert_int_equal(ferry_kdf_from_name("interactive", &kdf), 0);
	return kdf;
}

static json_t *
seal(struct ferry_seckey *k, const char *pass, size_t passlen,
    const struct ferry_kdf *kdf, const char *label)
{
	struct ferry_error err;
	json_t *doc = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_keyfile_seal(k, pass, passlen, kdf, label, CREATED, &doc,
	    &err);
	if (r != 0)
		fail_msg("seal: %d (%s)", r, ferry_error_msg(&err));
	assert_non_null(doc);
	return doc;
}

/* No cmocka assertions here: this runs outside any test. */
static int
group_setup(void **state)
{
	struct ferry_kdf kdf, hi = { 3, 65 * MIB };

	(void)state;
	if (ferry_kdf_from_name("interactive", &kdf) != 0 ||
	    ferry_seckey_generate(&fx.k) != 0 ||
	    ferry_seckey_generate(&fx.other) != 0 ||
	    ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, LABEL, CREATED,
	    &fx.doc, NULL) != 0 ||
	    ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, NULL, CREATED,
	    &fx.nolabel, NULL) != 0 ||
	    ferry_keyfile_seal(fx.k, PASS, PASSLEN, &hi, LABEL, CREATED,
	    &fx.hi, NULL) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	json_decref(fx.doc);
	json_decref(fx.nolabel);
	json_decref(fx.hi);
	ferry_seckey_free(fx.k);
	ferry_seckey_free(fx.other);
	return 0;
}

static int
dir_setup(void **state)
{
	(void)state;
	return unit_mkdtemp(fx.dir, sizeof(fx.dir), "keyfile");
}

static int
dir_teardown(void **state)
{
	(void)state;
	(void)unit_rmtree(fx.dir);
	return 0;
}

static void
join(char *out, size_t cap, const char *name)
{
	unit_join(out, cap, fx.dir, name);
}

/* The names in fx.dir, sorted, joined by '/'; "" if empty. */
static void
assert_dir_is(const char *want)
{
	unit_assert_dir_is(fx.dir, want);
}

/* The whole file, malloc'd and NUL-terminated. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = malloc(2 * FERRY_KEYFILE_MAX_LEN);

	assert_non_null(fp);
	assert_non_null(buf);
	*len = fread(buf, 1, 2 * FERRY_KEYFILE_MAX_LEN - 1, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

static const char *
str(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* ---- round trips ---- */

struct seed_hex {
	char hex[2 * FERRY_SEED_BYTES + 1];
};

static int
seed_to_hex(const unsigned char *seed, size_t len, void *arg)
{
	struct seed_hex *s = arg;

	assert_int_equal(len, FERRY_SEED_BYTES);
	ferry_hex_encode(seed, len, s->hex);
	return 0;
}

/* Open doc, and show the key signs what the file's public key verifies. */
static void
assert_opens_to(const json_t *doc, const char *pass, size_t passlen,
    struct ferry_seckey *want)
{
	static const unsigned char msg[] = "signed by a key from a file";
	char sig[FERRY_ED25519_SIG_HEXLEN + 1];
	struct ferry_seckey *got = NULL;
	struct ferry_key *pk = NULL;
	struct ferry_error err;
	const char *keyid = NULL;
	json_t *pub = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_keyfile_open(doc, pass, passlen, &got, &err);
	if (r != 0)
		fail_msg("open: %d (%s)", r, ferry_error_msg(&err));
	assert_non_null(got);
	assert_string_equal(ferry_seckey_keyid(got), ferry_seckey_keyid(want));
	assert_memory_equal(ferry_seckey_public(got), ferry_seckey_public(want),
	    crypto_sign_PUBLICKEYBYTES);

	assert_int_equal(ferry_keyfile_public(doc, &pub, &keyid, &err), 0);
	assert_string_equal(keyid, ferry_seckey_keyid(want));
	/* Borrowed from the document, as the header says. */
	assert_ptr_equal(keyid, str(doc, "keyid"));
	assert_int_equal(json_object_size(pub), 3);
	assert_string_equal(str(pub, "keytype"), "ed25519");
	assert_string_equal(str(pub, "scheme"), "ed25519");
	assert_int_equal(ferry_key_from_json(pub, &pk, &err), 0);
	assert_int_equal(ferry_key_kind(pk), FERRY_KEY_ED25519);

	assert_int_equal(ferry_seckey_sign(got, msg, sizeof(msg), sig), 0);
	assert_int_equal(ferry_key_verify(pk, msg, sizeof(msg), sig), 0);
	/* The file's public key is not a key that verifies anything. */
	assert_int_equal(ferry_seckey_sign(fx.other, msg, sizeof(msg), sig), 0);
	assert_int_equal(ferry_key_verify(pk, msg, sizeof(msg), sig),
	    FERRY_ERR_SIG_BAD);

	ferry_key_free(pk);
	json_decref(pub);
	ferry_seckey_free(got);
}

static void
test_round_trip(void **state)
{
	struct ferry_kdf kdf = { 0, 0 }, want = interactive();
	struct ferry_error err;
	struct seed_hex seed;
	unsigned char *ser = NULL;
	size_t serlen;
	json_t *again;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_keyfile_check(fx.doc, &kdf, &err), 0);
	assert_true(kdf.opslimit == want.opslimit);
	assert_true(kdf.memlimit == want.memlimit);
	assert_string_equal(ferry_kdf_name(&kdf), "interactive");
	assert_string_equal(str(fx.doc, "_type"), "ferry-key");
	assert_int_equal(json_integer_value(json_object_get(fx.doc, "format")),
	    1);
	assert_string_equal(str(fx.doc, "keyid"), ferry_seckey_keyid(fx.k));
	assert_string_equal(str(fx.doc, "created"), CREATED_STR);
	assert_string_equal(str(fx.doc, "label"), LABEL);
	assert_null(json_object_get(fx.nolabel, "label"));
	assert_opens_to(fx.doc, PASS, PASSLEN, fx.k);
	assert_opens_to(fx.nolabel, PASS, PASSLEN, fx.k);
	assert_opens_to(fx.hi, PASS, PASSLEN, fx.k);

	/* The seed is not in the file in the clear. */
	assert_int_equal(ferry_seckey_with_seed(fx.k, seed_to_hex, &seed), 0);
	assert_int_equal(ferry_json_serialize(fx.doc, &ser, &serlen, NULL), 0);
	assert_null(strstr((const char *)ser, seed.hex));
	sodium_memzero(&seed, sizeof(seed));
	free(ser);

	/* Each seal draws a new salt and nonce. */
	again = seal(fx.k, PASS, PASSLEN, &want, LABEL);
	assert_string_not_equal(str(json_object_get(again, "kdf"), "salt"),
	    str(json_object_get(fx.doc, "kdf"), "salt"));
	assert_string_not_equal(str(json_object_get(again, "cipher"), "nonce"),
	    str(json_object_get(fx.doc, "cipher"), "nonce"));
	assert_string_not_equal(str(again, "ciphertext"),
	    str(fx.doc, "ciphertext"));
	json_decref(again);
}

static void
test_moderate_round_trip(void **state)
{
	struct ferry_kdf kdf, got = { 0, 0 };
	json_t *doc;

	(void)state;
	assert_int_equal(ferry_kdf_from_name("moderate", &kdf), 0);
	doc = seal(fx.k, PASS, PASSLEN, &kdf, NULL);
	assert_int_equal(ferry_keyfile_check(doc, &got, NULL), 0);
	assert_string_equal(ferry_kdf_name(&got), "moderate");
	assert_opens_to(doc, PASS, PASSLEN, fx.k);
	json_decref(doc);
}

/* Two derivations of about 7 s each: only when asked for. */
static void
test_sensitive_round_trip(void **state)
{
	struct ferry_kdf kdf, got = { 0, 0 };
	json_t *doc;

	(void)state;
	if (getenv("FERRY_TEST_SLOW") == NULL)
		skip();
	assert_int_equal(ferry_kdf_from_name("sensitive", &kdf), 0);
	doc = seal(fx.k, PASS, PASSLEN, &kdf, LABEL);
	assert_int_equal(ferry_keyfile_check(doc, &got, NULL), 0);
	assert_string_equal(ferry_kdf_name(&got), "sensitive");
	assert_opens_to(doc, PASS, PASSLEN, fx.k);
	json_decref(doc);
}

/* ---- passphrases ---- */

static void
assert_wrong_pass(const json_t *doc, const char *pass, size_t passlen)
{
	struct ferry_seckey *k = NULL;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_keyfile_open(doc, pass, passlen, &k, &err);
	if (r != FERRY_ERR_PASSPHRASE)
		fail_msg("open with a wrong passphrase: %d (%s)", r,
		    ferry_error_msg(&err));
	assert_null(k);
	assert_int_equal(err.code, FERRY_ERR_PASSPHRASE);
}

static void
test_wrong_passphrase(void **state)
{
	(void)state;
	assert_wrong_pass(fx.doc, "correct horse battery stapler", PASSLEN + 1);
	/* Every byte counts, and passlen, not a NUL, ends the passphrase. */
	assert_wrong_pass(fx.doc, PASS, PASSLEN - 1);
	assert_wrong_pass(fx.doc, "Correct horse battery staple", PASSLEN);
	assert_wrong_pass(fx.doc, "", 0);
	assert_wrong_pass(fx.doc, NULL, 0);
}

/*
 * The library takes any passphrase, the empty one included (the readers
 * in lib/passphrase.c are what refuse it): sealing and opening agree on
 * it, NULL with length 0 is the same empty passphrase, and a NUL byte is
 * just a byte.
 */
static void
test_empty_and_binary_passphrase(void **state)
{
	struct ferry_kdf kdf = interactive();
	struct ferry_seckey *k = NULL;
	json_t *doc;

	(void)state;
	doc = seal(fx.k, "", 0, &kdf, NULL);
	assert_opens_to(doc, "", 0, fx.k);
	assert_opens_to(doc, NULL, 0, fx.k);
	assert_wrong_pass(doc, "x", 1);
	assert_wrong_pass(doc, "\0", 1);
	json_decref(doc);

	doc = seal(fx.k, NULL, 0, &kdf, NULL);
	assert_opens_to(doc, "", 0, fx.k);
	json_decref(doc);

	doc = seal(fx.k, "a\0b", 3, &kdf, NULL);
	assert_opens_to(doc, "a\0b", 3, fx.k);
	assert_wrong_pass(doc, "a\0c", 3);
	assert_wrong_pass(doc, "a", 1);
	/* NULL with a length is a caller's mistake, not a passphrase. */
	assert_int_equal(ferry_keyfile_open(doc, NULL, 3, &k, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(k);
	json_decref(doc);
}

/* ---- mutations of a document ---- */

enum op {
	SET,	/* arg: the new value as JSON text */
	DEL,
	FLIP,	/* change the hex digit at at (from the end if < 0) */
	NONHEX,	/* put a 'g' at at */
	CHOP,	/* drop the last two digits */
	GROW,	/* append "00" */
	UPPER,	/* the first digit a-f in upper case */
};

struct mut {
	const char *desc;
	int base;		/* 0: fx.doc, 1: fx.nolabel, 2: fx.hi */
	const char *obj;	/* NULL: the top level, else that member */
	const char *key;
	enum op op;
	const char *arg;
	int at;
	const char *field;	/* what the error must name */
};

static char
flip_digit(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p = strchr(digits, c);

	assert_non_null(p);
	return digits[(p - digits) ^ 1];
}

static json_t *
mutate(const struct mut *m)
{
	const json_t *bases[] = { fx.doc, fx.nolabel, fx.hi };
	char buf[256];
	const char *s;
	json_t *c, *o, *v;
	size_t len, i;

	c = json_deep_copy(bases[m->base]);
	assert_non_null(c);
	o = m->obj == NULL ? c : json_object_get(c, m->obj);
	assert_true(json_is_object(o));
	if (m->op == SET) {
		v = json_loads(m->arg, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (v == NULL)
			fail_msg("%s: bad JSON in the test: %s", m->desc,
			    m->arg);
		assert_int_equal(json_object_set_new(o, m->key, v), 0);
		return c;
	}
	if (m->op == DEL) {
		assert_int_equal(json_object_del(o, m->key), 0);
		return c;
	}
	s = json_string_value(json_object_get(o, m->key));
	assert_non_null(s);
	len = strlen(s);
	assert_true(len > 2 && len + 3 <= sizeof(buf));
	memcpy(buf, s, len + 1);
	i = m->at >= 0 ? (size_t)m->at : len - (size_t)-m->at;
	assert_true(i < len);
	switch (m->op) {
	case FLIP:
		buf[i] = flip_digit(buf[i]);
		break;
	case NONHEX:
		buf[i] = 'g';
		break;
	case CHOP:
		buf[len - 2] = '\0';
		break;
	case GROW:
		memcpy(buf + len, "00", 3);
		break;
	case UPPER:
		for (i = 0; i < len; i++)
			if (buf[i] >= 'a' && buf[i] <= 'f')
				break;
		/* All 32 or more digits decimal: about 3e-7 at worst. */
		assert_true(i < len);
		buf[i] = (char)(buf[i] - 'a' + 'A');
		break;
	default:
		fail();
	}
	assert_int_equal(json_object_set_new(o, m->key, json_string(buf)), 0);
	return c;
}

/*
 * Changes the shape check lets through, each of which must make
 * decryption fail: the additional data covers every field but the
 * ciphertext, and the ciphertext carries its tag.  Some of these change
 * the derived key as well; "label", "created" and "memlimit + 1" do not
 * (Argon2id counts memory in KiB), so only the additional data can catch
 * them.
 */
static const struct mut authenticated[] = {
	{ "label changed", 0, NULL, "label", SET, "\"release kez\"", 0, NULL },
	{ "label emptied", 0, NULL, "label", SET, "\"\"", 0, NULL },
	{ "label removed", 0, NULL, "label", DEL, NULL, 0, NULL },
	{ "label added", 1, NULL, "label", SET, "\"a label\"", 0, NULL },
	{ "created + 1 s", 0, NULL, "created", SET,
	    "\"2023-11-14T22:13:21Z\"", 0, NULL },
	{ "created earlier", 0, NULL, "created", SET,
	    "\"2001-01-01T00:00:00Z\"", 0, NULL },
	{ "ciphertext, first digit", 0, NULL, "ciphertext", FLIP, NULL, 0,
	    NULL },
	{ "ciphertext, middle", 0, NULL, "ciphertext", FLIP, NULL, 40, NULL },
	{ "ciphertext, last digit (tag)", 0, NULL, "ciphertext", FLIP, NULL,
	    -1, NULL },
	{ "nonce, first digit", 0, "cipher", "nonce", FLIP, NULL, 0, NULL },
	{ "nonce, last digit", 0, "cipher", "nonce", FLIP, NULL, -1, NULL },
	{ "salt, first digit", 0, "kdf", "salt", FLIP, NULL, 0, NULL },
	{ "salt, last digit", 0, "kdf", "salt", FLIP, NULL, -1, NULL },
	{ "opslimit raised", 0, "kdf", "opslimit", SET, "3", 0, NULL },
	{ "opslimit lowered", 2, "kdf", "opslimit", SET, "2", 0, NULL },
	{ "memlimit + 1 byte", 0, "kdf", "memlimit", SET, "67108865", 0,
	    NULL },
	{ "memlimit raised", 0, "kdf", "memlimit", SET, "68157440", 0, NULL },
	{ "memlimit lowered", 2, "kdf", "memlimit", SET, "67108864", 0,
	    NULL },
};

static void
test_tamper_fails_like_wrong_passphrase(void **state)
{
	struct ferry_error err;
	size_t i;
	json_t *c;
	int r;

	(void)state;
	for (i = 0; i < sizeof(authenticated) / sizeof(authenticated[0]);
	    i++) {
		c = mutate(&authenticated[i]);
		memset(&err, 0, sizeof(err));
		/* The shape is fine: it is the AEAD that must notice. */
		r = ferry_keyfile_check(c, NULL, &err);
		if (r != 0)
			fail_msg("%s: check %d (%s)", authenticated[i].desc, r,
			    ferry_error_msg(&err));
		memset(&err, 0, sizeof(err));
		{
			struct ferry_seckey *k = NULL;

			r = ferry_keyfile_open(c, PASS, PASSLEN, &k, &err);
			if (r != FERRY_ERR_PASSPHRASE)
				fail_msg("%s: open gave %d (%s), want "
				    "FERRY_ERR_PASSPHRASE",
				    authenticated[i].desc, r,
				    ferry_error_msg(&err));
			assert_null(k);
		}
		json_decref(c);
	}
}

/*
 * Another key's public key and key id together: consistent, so the shape
 * check passes, but bound by the additional data, so decryption fails
 * before the seed could be compared with the public key.
 */
static void
test_swapped_public_key(void **state)
{
	char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
	struct ferry_seckey *k = NULL;
	struct ferry_error err;
	const char *keyid = NULL;
	json_t *c, *pub = NULL;

	(void)state;
	c = json_deep_copy(fx.doc);
	assert_non_null(c);
	ferry_hex_encode(ferry_seckey_public(fx.other),
	    crypto_sign_PUBLICKEYBYTES, hex);
	assert_int_equal(json_object_set_new(json_object_get(c, "keyval"),
	    "public", json_string(hex)), 0);
	assert_int_equal(json_object_set_new(c, "keyid",
	    json_string(ferry_seckey_keyid(fx.other))), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_keyfile_check(c, NULL, &err), 0);
	/* What the signer would publish is now the other key... */
	assert_int_equal(ferry_keyfile_public(c, &pub, &keyid, &err), 0);
	assert_string_equal(keyid, ferry_seckey_keyid(fx.other));
	json_decref(pub);
	/* ...and the file does not open. */
	assert_int_equal(ferry_keyfile_open(c, PASS, PASSLEN, &k, &err),
	    FERRY_ERR_PASSPHRASE);
	assert_null(k);
	json_decref(c);
}

/*
 * A key file built here from the format's description, with libsodium
 * directly: Argon2id of the passphrase over the salt, the seed sealed
 * with XChaCha20-Poly1305 under the canonical JSON of every other field.
 * If pub is not NULL, the file states that public key (and its id)
 * instead of the seed's own.
 */
struct seal_arg {
	const unsigned char *key, *nonce, *ad;
	size_t adlen;
	unsigned char ct[FERRY_SEED_BYTES +
	    crypto_aead_xchacha20poly1305_ietf_ABYTES];
};

static int
seal_seed_here(const unsigned char *seed, size_t len, void *arg)
{
	struct seal_arg *a = arg;

	return crypto_aead_xchacha20poly1305_ietf_encrypt(a->ct, NULL, seed,
	    len, a->ad, a->adlen, NULL, a->nonce, a->key);
}

static json_t *
build_by_hand(struct ferry_seckey *k, struct ferry_seckey *pub)
{
	unsigned char salt[crypto_pwhash_SALTBYTES];
	unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	char hsalt[2 * sizeof(salt) + 1], hnonce[2 * sizeof(nonce) + 1];
	char hpk[2 * crypto_sign_PUBLICKEYBYTES + 1];
	char hct[2 * sizeof(((struct seal_arg *)0)->ct) + 1];
	struct seal_arg a;
	unsigned char *ad = NULL;
	size_t adlen;
	json_t *doc;

	if (pub == NULL)
		pub = k;
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	ferry_hex_encode(salt, sizeof(salt), hsalt);
	ferry_hex_encode(nonce, sizeof(nonce), hnonce);
	ferry_hex_encode(ferry_seckey_public(pub), crypto_sign_PUBLICKEYBYTES,
	    hpk);
	doc = json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:s}, s:s, s:s, "
	    "s:{s:s, s:i, s:I, s:s}, s:{s:s, s:s}}",
	    "_type", "ferry-key", "format", 1, "keytype", "ed25519",
	    "scheme", "ed25519", "keyid", ferry_seckey_keyid(pub),
	    "keyval", "public", hpk, "created", CREATED_STR,
	    "label", "built by hand",
	    "kdf", "name", "argon2id", "opslimit", 2,
	    "memlimit", (json_int_t)(64 * MIB), "salt", hsalt,
	    "cipher", "name", "xchacha20-poly1305", "nonce", hnonce);
	assert_non_null(doc);
	assert_int_equal(ferry_json_canonical(doc, &ad, &adlen, NULL), 0);
	assert_int_equal(crypto_pwhash(key, sizeof(key), PASS, PASSLEN, salt,
	    2, 64 * MIB, crypto_pwhash_ALG_ARGON2ID13), 0);
	a.key = key;
	a.nonce = nonce;
	a.ad = ad;
	a.adlen = adlen;
	assert_int_equal(ferry_seckey_with_seed(k, seal_seed_here, &a), 0);
	ferry_hex_encode(a.ct, sizeof(a.ct), hct);
	assert_int_equal(json_object_set_new(doc, "ciphertext",
	    json_string(hct)), 0);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&a, sizeof(a));
	free(ad);
	return doc;
}

/* The code reads the format as described, not just what it writes. */
static void
test_built_by_hand_opens(void **state)
{
	json_t *doc;

	(void)state;
	doc = build_by_hand(fx.k, NULL);
	assert_int_equal(ferry_keyfile_check(doc, NULL, NULL), 0);
	assert_opens_to(doc, PASS, PASSLEN, fx.k);
	assert_wrong_pass(doc, "wrong", 5);
	json_decref(doc);
}

/*
 * A file that decrypts, under additional data that is right, to a seed
 * whose public key is not the one the file states: only the check after
 * decryption can catch it.
 */
static void
test_seed_not_of_stated_key(void **state)
{
	struct ferry_seckey *k = NULL;
	struct ferry_error err;
	json_t *doc;

	(void)state;
	doc = build_by_hand(fx.k, fx.other);
	assert_int_equal(ferry_keyfile_check(doc, NULL, NULL), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_keyfile_open(doc, PASS, PASSLEN, &k, &err),
	    FERRY_ERR_KEYFILE);
	assert_null(k);
	assert_non_null(strstr(ferry_error_msg(&err), "keyval.public"));
	json_decref(doc);
}

static void
assert_keyfile_err(const json_t *doc, const char *desc, const char *field)
{
	struct ferry_kdf kdf = { 12345, 67890 };
	struct ferry_seckey *k = NULL;
	struct ferry_error err;
	json_t *pub = NULL;
	const char *keyid = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_keyfile_check(doc, &kdf, &err);
	if (r != FERRY_ERR_KEYFILE)
		fail_msg("%s: check gave %d (%s), want FERRY_ERR_KEYFILE",
		    desc, r, ferry_error_msg(&err));
	if (strstr(ferry_error_msg(&err), field) == NULL)
		fail_msg("%s: \"%s\" does not name %s", desc,
		    ferry_error_msg(&err), field);
	assert_true(kdf.opslimit == 12345 && kdf.memlimit == 67890);
	/* Refused before any derivation, by every entry point. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_keyfile_open(doc, PASS, PASSLEN, &k, &err),
	    FERRY_ERR_KEYFILE);
	assert_non_null(strstr(ferry_error_msg(&err), field));
	assert_null(k);
	assert_int_equal(ferry_keyfile_public(doc, &pub, &keyid, NULL),
	    FERRY_ERR_KEYFILE);
	assert_null(pub);
	assert_null(keyid);
}

/* The key id is checked against the public key without the passphrase. */
static void
test_keyid_mismatch(void **state)
{
	char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
	json_t *c;

	(void)state;
	c = json_deep_copy(fx.doc);
	assert_non_null(c);
	assert_int_equal(json_object_set_new(c, "keyid",
	    json_string(ferry_seckey_keyid(fx.other))), 0);
	assert_keyfile_err(c, "another key's id", "keyid");
	json_decref(c);

	c = json_deep_copy(fx.doc);
	assert_non_null(c);
	ferry_hex_encode(ferry_seckey_public(fx.other),
	    crypto_sign_PUBLICKEYBYTES, hex);
	assert_int_equal(json_object_set_new(json_object_get(c, "keyval"),
	    "public", json_string(hex)), 0);
	assert_keyfile_err(c, "another public key", "keyid");
	json_decref(c);
}

/* Malformed documents: FERRY_ERR_KEYFILE naming the field. */
static const struct mut malformed[] = {
	{ "unknown field", 0, NULL, "comment", SET, "\"hi\"", 0, "comment" },
	{ "_type", 0, NULL, "_type", SET, "\"ferry-keys\"", 0, "_type" },
	{ "_type missing", 0, NULL, "_type", DEL, NULL, 0, "_type" },
	{ "format 2", 0, NULL, "format", SET, "2", 0, "format" },
	{ "format 0", 0, NULL, "format", SET, "0", 0, "format" },
	{ "format as a string", 0, NULL, "format", SET, "\"1\"", 0, "format" },
	{ "format as a real", 0, NULL, "format", SET, "1.0", 0, "format" },
	{ "format missing", 0, NULL, "format", DEL, NULL, 0, "format" },
	{ "keytype rsa", 0, NULL, "keytype", SET, "\"rsa\"", 0, "keytype" },
	{ "scheme", 0, NULL, "scheme", SET, "\"rsassa-pss-sha256\"", 0,
	    "scheme" },
	{ "keyid missing", 0, NULL, "keyid", DEL, NULL, 0, "keyid" },
	{ "keyid a number", 0, NULL, "keyid", SET, "1", 0, "keyid" },
	{ "keyid in upper case", 0, NULL, "keyid", UPPER, NULL, 0, "keyid" },
	{ "keyval a string", 0, NULL, "keyval", SET, "\"x\"", 0, "keyval" },
	{ "keyval with a private part", 0, "keyval", "private", SET, "\"00\"",
	    0, "keyval" },
	{ "keyval.public short", 0, "keyval", "public", CHOP, NULL, 0,
	    "keyval.public" },
	{ "keyval.public long", 0, "keyval", "public", GROW, NULL, 0,
	    "keyval.public" },
	{ "keyval.public not hex", 0, "keyval", "public", NONHEX, NULL, 3,
	    "keyval.public" },
	{ "keyval.public in upper case", 0, "keyval", "public", UPPER, NULL,
	    0, "keyval.public" },
	{ "created a date", 0, NULL, "created", SET, "\"2023-11-14\"", 0,
	    "created" },
	{ "created 30 February", 0, NULL, "created", SET,
	    "\"2023-02-30T00:00:00Z\"", 0, "created" },
	{ "created a number", 0, NULL, "created", SET, "1700000000", 0,
	    "created" },
	{ "created missing", 0, NULL, "created", DEL, NULL, 0, "created" },
	{ "label a number", 0, NULL, "label", SET, "7", 0, "label" },
	{ "label null", 0, NULL, "label", SET, "null", 0, "label" },
	{ "label with a NUL", 0, NULL, "label", SET, "\"a\\u0000b\"", 0,
	    "label" },
	{ "kdf an array", 0, NULL, "kdf", SET, "[]", 0, "kdf" },
	{ "kdf with a pepper", 0, "kdf", "pepper", SET, "1", 0, "kdf" },
	{ "kdf without salt", 0, "kdf", "salt", DEL, NULL, 0, "kdf" },
	{ "kdf.name scrypt", 0, "kdf", "name", SET, "\"scrypt\"", 0,
	    "kdf.name" },
	{ "kdf.opslimit a string", 0, "kdf", "opslimit", SET, "\"2\"", 0,
	    "kdf.opslimit" },
	{ "kdf.opslimit negative", 0, "kdf", "opslimit", SET, "-2", 0,
	    "kdf.opslimit" },
	{ "kdf.opslimit a real", 0, "kdf", "opslimit", SET, "2.0", 0,
	    "kdf.opslimit" },
	{ "kdf.memlimit negative", 0, "kdf", "memlimit", SET, "-1", 0,
	    "kdf.memlimit" },
	{ "kdf.memlimit a string", 0, "kdf", "memlimit", SET, "\"64M\"", 0,
	    "kdf.memlimit" },
	{ "kdf.salt not hex", 0, "kdf", "salt", NONHEX, NULL, 0, "kdf.salt" },
	{ "kdf.salt short", 0, "kdf", "salt", CHOP, NULL, 0, "kdf.salt" },
	{ "kdf.salt long", 0, "kdf", "salt", GROW, NULL, 0, "kdf.salt" },
	{ "kdf.salt in upper case", 0, "kdf", "salt", UPPER, NULL, 0,
	    "kdf.salt" },
	{ "cipher with a tag", 0, "cipher", "tag", SET, "\"00\"", 0,
	    "cipher" },
	{ "cipher.name", 0, "cipher", "name", SET, "\"aes-256-gcm\"", 0,
	    "cipher.name" },
	{ "cipher.nonce short", 0, "cipher", "nonce", CHOP, NULL, 0,
	    "cipher.nonce" },
	{ "cipher.nonce not hex", 0, "cipher", "nonce", NONHEX, NULL, -1,
	    "cipher.nonce" },
	{ "ciphertext short", 0, NULL, "ciphertext", CHOP, NULL, 0,
	    "ciphertext" },
	{ "ciphertext long", 0, NULL, "ciphertext", GROW, NULL, 0,
	    "ciphertext" },
	{ "ciphertext not hex", 0, NULL, "ciphertext", NONHEX, NULL, 10,
	    "ciphertext" },
	/* Not in the additional data: upper case would open as is. */
	{ "ciphertext in upper case", 0, NULL, "ciphertext", UPPER, NULL, 0,
	    "ciphertext" },
	{ "ciphertext missing", 0, NULL, "ciphertext", DEL, NULL, 0,
	    "ciphertext" },
	{ "ciphertext a number", 0, NULL, "ciphertext", SET, "0", 0,
	    "ciphertext" },
};

static void
test_malformed(void **state)
{
	size_t i;
	json_t *c;

	(void)state;
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		c = mutate(&malformed[i]);
		assert_keyfile_err(c, malformed[i].desc, malformed[i].field);
		json_decref(c);
	}
	c = json_array();
	assert_keyfile_err(c, "an array", "object");
	json_decref(c);
}

/* ---- the Argon2id bounds ---- */

static const struct {
	struct ferry_kdf kdf;
	const char *field;
} out_of_bounds[] = {
	{ { 0, 64 * MIB }, "kdf.opslimit" },
	{ { 1, 64 * MIB }, "kdf.opslimit" },
	{ { 65, 64 * MIB }, "kdf.opslimit" },
	{ { 1000000, 64 * MIB }, "kdf.opslimit" },
	{ { 2, 64 * MIB - 1 }, "kdf.memlimit" },
	{ { 2, 63 * MIB }, "kdf.memlimit" },
	{ { 2, 0 }, "kdf.memlimit" },
	{ { 2, (uint64_t)1 << 40 }, "kdf.memlimit" },	/* 1 TiB */
	{ { 2, ((uint64_t)4 << 30) + 1 }, "kdf.memlimit" },
	{ { 2, (uint64_t)INT64_MAX }, "kdf.memlimit" },
};

/*
 * A file (or a caller) asking for more than the limits is refused before
 * Argon2id allocates anything; one asking for less than the floor too.
 * Were the 1 TiB case derived, the result would be FERRY_ERR_NOMEM.
 */
static void
test_kdf_bounds(void **state)
{
	struct ferry_error err;
	json_t *c, *out;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(out_of_bounds) / sizeof(out_of_bounds[0]);
	    i++) {
		const struct ferry_kdf *b = &out_of_bounds[i].kdf;
		char desc[128];

		snprintf(desc, sizeof(desc), "opslimit %llu memlimit %llu",
		    (unsigned long long)b->opslimit,
		    (unsigned long long)b->memlimit);
		c = json_deep_copy(fx.doc);
		assert_non_null(c);
		assert_int_equal(json_object_set_new(json_object_get(c, "kdf"),
		    "opslimit", json_integer((json_int_t)b->opslimit)), 0);
		assert_int_equal(json_object_set_new(json_object_get(c, "kdf"),
		    "memlimit", json_integer((json_int_t)b->memlimit)), 0);
		assert_keyfile_err(c, desc, out_of_bounds[i].field);
		json_decref(c);

		out = NULL;
		memset(&err, 0, sizeof(err));
		r = ferry_keyfile_seal(fx.k, PASS, PASSLEN, b, NULL, CREATED,
		    &out, &err);
		if (r != FERRY_ERR_KEYFILE)
			fail_msg("seal with %s: %d (%s)", desc, r,
			    ferry_error_msg(&err));
		assert_non_null(strstr(ferry_error_msg(&err),
		    out_of_bounds[i].field));
		assert_null(out);
	}
	/* Numbers past what an int64 holds fail as they should, too. */
	{
		struct ferry_kdf huge = { UINT64_MAX, UINT64_MAX };

		out = NULL;
		assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, &huge,
		    NULL, CREATED, &out, NULL), FERRY_ERR_KEYFILE);
		assert_null(out);
	}
}

/* The limits themselves are allowed (checked, not derived: 4 GiB). */
static void
test_kdf_bounds_inclusive(void **state)
{
	static const struct ferry_kdf ok[] = {
		{ 2, 64 * MIB },
		{ FERRY_KDF_MAX_OPSLIMIT, 64 * MIB },
		{ 2, FERRY_KDF_MAX_MEMLIMIT },
		{ FERRY_KDF_MAX_OPSLIMIT, FERRY_KDF_MAX_MEMLIMIT },
		{ 4, (uint64_t)1 << 30 },	/* "sensitive" */
	};
	struct ferry_kdf got;
	size_t i;
	json_t *c;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c = json_deep_copy(fx.doc);
		assert_non_null(c);
		assert_int_equal(json_object_set_new(json_object_get(c, "kdf"),
		    "opslimit", json_integer((json_int_t)ok[i].opslimit)), 0);
		assert_int_equal(json_object_set_new(json_object_get(c, "kdf"),
		    "memlimit", json_integer((json_int_t)ok[i].memlimit)), 0);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ferry_keyfile_check(c, &got, NULL), 0);
		assert_true(got.opslimit == ok[i].opslimit);
		assert_true(got.memlimit == ok[i].memlimit);
		json_decref(c);
	}
}

static void
test_kdf_names(void **state)
{
	static const struct {
		const char *name;
		uint64_t ops, mem;
	} levels[] = {
		{ "sensitive", 4, (uint64_t)1 << 30 },
		{ "moderate", 3, 256 * MIB },
		{ "interactive", 2, 64 * MIB },
	};
	static const char *const unknown[] = {
		"Interactive", "paranoid", "", "sensitive ", "moder",
	};
	struct ferry_kdf kdf, odd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		memset(&kdf, 0, sizeof(kdf));
		assert_int_equal(ferry_kdf_from_name(levels[i].name, &kdf), 0);
		assert_true(kdf.opslimit == levels[i].ops);
		assert_true(kdf.memlimit == levels[i].mem);
		assert_string_equal(ferry_kdf_name(&kdf), levels[i].name);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		kdf.opslimit = 7;
		kdf.memlimit = 8;
		assert_int_equal(ferry_kdf_from_name(unknown[i], &kdf), -1);
		assert_true(kdf.opslimit == 7 && kdf.memlimit == 8);
	}
	assert_int_equal(ferry_kdf_from_name(NULL, &kdf), -1);
	/* A cost that is not one of the levels has no name. */
	odd.opslimit = 2;
	odd.memlimit = 64 * MIB + 1;
	assert_null(ferry_kdf_name(&odd));
	odd.opslimit = 3;
	odd.memlimit = 64 * MIB;
	assert_null(ferry_kdf_name(&odd));
	odd.opslimit = 4;
	odd.memlimit = 256 * MIB;
	assert_null(ferry_kdf_name(&odd));
}

static void
test_seal_bad_args(void **state)
{
	struct ferry_kdf kdf = interactive();
	struct ferry_seckey *k = NULL;
	struct ferry_error err;
	json_t *out = NULL;

	(void)state;
	assert_int_equal(ferry_keyfile_seal(NULL, PASS, PASSLEN, &kdf, NULL,
	    CREATED, &out, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_seal(fx.k, NULL, 1, &kdf, NULL,
	    CREATED, &out, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, NULL, NULL,
	    CREATED, &out, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, NULL,
	    CREATED, NULL, NULL), FERRY_ERR_INVALID_ARG);
	/* Times the file format cannot write. */
	assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, NULL,
	    INT64_MAX, &out, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, NULL,
	    (int64_t)253402300800, &out, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, NULL,
	    INT64_MIN, &out, NULL), FERRY_ERR_INVALID_ARG);
	/* A label that is not UTF-8 cannot go into JSON. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf,
	    "bad \xff label", CREATED, &out, &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(ferry_error_msg(&err), "label"));
	assert_null(out);

	assert_int_equal(ferry_keyfile_open(NULL, PASS, PASSLEN, &k, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_open(fx.doc, PASS, PASSLEN, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(k);
	assert_int_equal(ferry_keyfile_public(NULL, &out, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_public(fx.doc, NULL, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(out);
	assert_int_equal(ferry_keyfile_check(NULL, NULL, NULL),
	    FERRY_ERR_KEYFILE);
	assert_int_equal(ferry_keyfile_read(NULL, &out, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_write(NULL, fx.doc, 0, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_keyfile_write("/nonexistent/k", NULL, 0, NULL),
	    FERRY_ERR_INVALID_ARG);
}

/* ---- files ---- */

static void
test_write_read(void **state)
{
	struct ferry_error err;
	char p[512], *before, *after;
	size_t blen, alen;
	json_t *got = NULL;
	mode_t old;
	int r;

	(void)state;
	join(p, sizeof(p), "key.json");
	/* 0600 whatever the umask. */
	old = umask(0);
	r = ferry_keyfile_write(p, fx.doc, 0, NULL);
	(void)umask(old);
	assert_int_equal(r, 0);
	assert_int_equal(unit_perm_of(p), 0600);
	assert_dir_is("key.json");
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_keyfile_read(p, &got, &err), 0);
	assert_true(json_equal(got, fx.doc));
	json_decref(got);

	/* replace 0: the existing file is never touched. */
	before = slurp(p, &blen);
	memset(&err, 0, sizeof(err));
	errno = 0;
	assert_int_equal(ferry_keyfile_write(p, fx.nolabel, 0, &err),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(ferry_error_msg(&err), "already exists"));
	assert_non_null(strstr(ferry_error_msg(&err), p));
	after = slurp(p, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(after);
	assert_int_equal(unit_perm_of(p), 0600);
	assert_dir_is("key.json");

	/* replace 1: replaced, back to 0600 even if it was loosened. */
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(ferry_keyfile_write(p, fx.nolabel, 1, NULL), 0);
	assert_int_equal(unit_perm_of(p), 0600);
	assert_dir_is("key.json");
	got = NULL;
	assert_int_equal(ferry_keyfile_read(p, &got, NULL), 0);
	assert_true(json_equal(got, fx.nolabel));
	assert_false(json_equal(got, fx.doc));
	/* What was read back opens. */
	assert_opens_to(got, PASS, PASSLEN, fx.k);
	json_decref(got);
	free(before);
}

/* A malformed document is not written at all. */
static void
test_write_refuses_malformed(void **state)
{
	struct mut m = { "unknown field", 0, NULL, "comment", SET, "1", 0,
	    "comment" };
	char p[512];
	json_t *c;

	(void)state;
	join(p, sizeof(p), "key.json");
	c = mutate(&m);
	assert_int_equal(ferry_keyfile_write(p, c, 0, NULL),
	    FERRY_ERR_KEYFILE);
	assert_int_equal(ferry_keyfile_write(p, c, 1, NULL),
	    FERRY_ERR_KEYFILE);
	json_decref(c);
	assert_dir_is("");
}

/* A dangling symlink at the path is something there: not followed. */
static void
test_write_dangling_symlink(void **state)
{
	char p[512], target[512];
	struct stat st;

	(void)state;
	join(p, sizeof(p), "key.json");
	join(target, sizeof(target), "elsewhere");
	assert_int_equal(symlink(target, p), 0);
	errno = 0;
	assert_int_equal(ferry_keyfile_write(p, fx.doc, 0, NULL),
	    FERRY_ERR_IO);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_dir_is("key.json");
}

static void
assert_read_fails(const char *p, int want, const char *desc)
{
	struct ferry_error err;
	json_t *got = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_keyfile_read(p, &got, &err);
	if (r != want)
		fail_msg("%s: read gave %d (%s), want %d", desc, r,
		    ferry_error_msg(&err), want);
	assert_null(got);
}

static void
test_read_bad_files(void **state)
{
	unsigned char *ser = NULL;
	char p[512], *buf;
	size_t len, n;
	json_t *got;

	(void)state;
	join(p, sizeof(p), "key.json");
	assert_int_equal(ferry_json_serialize(fx.doc, &ser, &len, NULL), 0);
	assert_true(len > 100 && ser[0] == '{');
	buf = malloc(FERRY_KEYFILE_MAX_LEN + 64);
	assert_non_null(buf);

	/* A duplicate key (valid otherwise, whichever copy won). */
	n = (size_t)snprintf(buf, FERRY_KEYFILE_MAX_LEN,
	    "{\"_type\":\"ferry-key\",%s", (const char *)ser + 1);
	unit_put_file(p, buf, n);
	assert_read_fails(p, FERRY_ERR_JSON, "duplicate key");

	/* Truncated: by one byte, by half, to nothing. */
	unit_put_file(p, ser, len - 1);
	assert_read_fails(p, FERRY_ERR_JSON, "truncated by one byte");
	unit_put_file(p, ser, len / 2);
	assert_read_fails(p, FERRY_ERR_JSON, "truncated by half");
	unit_put_file(p, ser, 0);
	assert_read_fails(p, FERRY_ERR_JSON, "empty");

	/* Padded with white space to exactly the limit: read... */
	memcpy(buf, ser, len);
	memset(buf + len, ' ', FERRY_KEYFILE_MAX_LEN - len);
	unit_put_file(p, buf, FERRY_KEYFILE_MAX_LEN);
	got = NULL;
	assert_int_equal(ferry_keyfile_read(p, &got, NULL), 0);
	assert_true(json_equal(got, fx.doc));
	json_decref(got);
	/* ...and one byte over it: refused. */
	buf[FERRY_KEYFILE_MAX_LEN] = ' ';
	unit_put_file(p, buf, FERRY_KEYFILE_MAX_LEN + 1);
	assert_read_fails(p, FERRY_ERR_TOO_LARGE, "over the limit");

	/* JSON, but not a key file. */
	unit_put_file(p, "[1,2]", 5);
	assert_read_fails(p, FERRY_ERR_KEYFILE, "an array");
	n = (size_t)snprintf(buf, FERRY_KEYFILE_MAX_LEN,
	    "{\"extra\":1,%s", (const char *)ser + 1);
	unit_put_file(p, buf, n);
	assert_read_fails(p, FERRY_ERR_KEYFILE, "an unknown field");

	/* Not there; not a file. */
	assert_int_equal(unlink(p), 0);
	assert_read_fails(p, FERRY_ERR_IO, "missing");
	assert_read_fails(fx.dir, FERRY_ERR_IO, "a directory");
	free(buf);
	free(ser);
}

/* ---- allocation failure ---- */

/*
 * jansson's allocations fail from the fail_at'th on, as in test_json.c,
 * or, with fail_once, only the fail_at'th: nothing is parsed here, so a
 * transient failure is fair, and it is the one that shows a failure
 * jansson swallowed (json_copy() drops members it cannot add) before
 * later allocations succeed again.  Only jansson's allocations can be
 * injected: libsodium's and the canonical encoder's are libc's own.
 * Every run must succeed with the right answer or fail with
 * FERRY_ERR_NOMEM and nothing returned; the sanitizer build adds that
 * nothing leaks.
 */
static size_t alloc_count, fail_at;
static int alloc_failed, fail_once;

static void *
failing_malloc(size_t n)
{
	alloc_count++;
	if (fail_at != 0 && (fail_once ? alloc_count == fail_at :
	    alloc_count >= fail_at)) {
		alloc_failed = 1;
		return NULL;
	}
	return malloc(n);
}

static void
failing_free(void *p)
{
	free(p);
}

static void
inject(size_t n)
{
	alloc_count = 0;
	alloc_failed = 0;
	fail_at = n;
	json_set_alloc_funcs(failing_malloc, failing_free);
}

static void
uninject(void)
{
	fail_at = 0;
	json_set_alloc_funcs(malloc, free);
}

static int
restore_alloc(void **state)
{
	(void)state;
	uninject();
	fail_once = 0;
	return 0;
}

static void
oom_seal(int once)
{
	struct ferry_kdf kdf = interactive();
	struct ferry_error err;
	json_t *out, *last = NULL;
	size_t n;
	int r;

	fail_once = once;
	for (n = 1; n < 10000; n++) {
		out = NULL;
		memset(&err, 0, sizeof(err));
		inject(n);
		r = ferry_keyfile_seal(fx.k, PASS, PASSLEN, &kdf, NULL,
		    CREATED, &out, &err);
		uninject();
		if (r == 0) {
			assert_non_null(out);
			assert_int_equal(ferry_keyfile_check(out, NULL, NULL),
			    0);
			assert_string_equal(str(out, "keyid"),
			    ferry_seckey_keyid(fx.k));
			if (!alloc_failed) {
				last = out;
				break;
			}
			/*
			 * A file sealed despite a failed allocation must
			 * open: one sealed under additional data that lost
			 * a field on the way would not, and its key would
			 * be lost.
			 */
			{
				struct ferry_seckey *k = NULL;

				r = ferry_keyfile_open(out, PASS, PASSLEN, &k,
				    &err);
				if (r != 0)
					fail_msg("allocation %zu failed, seal "
					    "succeeded, the file does not "
					    "open: %d (%s)", n, r,
					    ferry_error_msg(&err));
				assert_string_equal(ferry_seckey_keyid(k),
				    ferry_seckey_keyid(fx.k));
				ferry_seckey_free(k);
			}
			json_decref(out);
			continue;
		}
		assert_null(out);
		if (r != FERRY_ERR_NOMEM || !alloc_failed)
			fail_msg("allocation %zu failing: seal gave %d (%s)",
			    n, r, ferry_error_msg(&err));
	}
	assert_true(n > 10 && n < 10000);
	assert_non_null(last);
	assert_opens_to(last, PASS, PASSLEN, fx.k);
	json_decref(last);
}

static void
oom_open(int once)
{
	struct ferry_seckey *k;
	struct ferry_error err;
	size_t n;
	int r;

	fail_once = once;
	for (n = 1; n < 10000; n++) {
		k = NULL;
		memset(&err, 0, sizeof(err));
		inject(n);
		r = ferry_keyfile_open(fx.doc, PASS, PASSLEN, &k, &err);
		uninject();
		if (r == 0) {
			assert_non_null(k);
			assert_string_equal(ferry_seckey_keyid(k),
			    ferry_seckey_keyid(fx.k));
			ferry_seckey_free(k);
			if (!alloc_failed)
				break;
			continue;
		}
		assert_null(k);
		if (r != FERRY_ERR_NOMEM || !alloc_failed)
			fail_msg("allocation %zu failing: open gave %d (%s)",
			    n, r, ferry_error_msg(&err));
	}
	assert_true(n > 10 && n < 10000);
}

static void
test_oom_seal(void **state)
{
	(void)state;
	oom_seal(0);
}

static void
test_oom_seal_once(void **state)
{
	(void)state;
	oom_seal(1);
}

static void
test_oom_open(void **state)
{
	(void)state;
	oom_open(0);
}

static void
test_oom_open_once(void **state)
{
	(void)state;
	oom_open(1);
}

/* ---- no copy left in memory ---- */

/* The test's own leftovers, to show the scan finds what is there. */
static void
leave_on_heap(void *arg)
{
	unsigned char *p = malloc(FERRY_SEED_BYTES);

	assert_non_null(p);
	masked_put(arg, p);
	free(p);
}

static void __attribute__((noinline))
leave_on_stack(void *arg)
{
	unsigned char copy[SECRET_MAX];

	masked_put(arg, copy);
	/* Keeps the store: the compiler cannot know nothing reads it. */
	__asm__ __volatile__("" : : "r"(copy) : "memory");
}

static void
test_scan_finds_copies(void **state)
{
	const size_t none[1] = { 0 }, one[1] = { 1 };
	struct masked sec[1];
	unsigned char *s, *heap;
	struct scan sc;

	(void)state;
	s = secret_new(&sec[0], "a control secret", FERRY_SEED_BYTES);
	/* Locked away and inaccessible: hidden, not found. */
	assert_int_equal(sodium_mprotect_noaccess(s), 0);
	assert_scan(sec, 1, none, one);
	sodium_free(s);
	assert_scan(sec, 1, none, none);

	/* A copy on the heap, then wiped. */
	heap = malloc(FERRY_SEED_BYTES);
	assert_non_null(heap);
	masked_put(&sec[0], heap);
	assert_scan(sec, 1, one, none);
	/* What free() leaves: the first 16 bytes gone, two quarters. */
	memset(heap, 0, 16);
	scan_memory(sec, 1, &sc);
	assert_int_equal(sc.found[0], 0);
	assert_int_equal(sc.stray[0], 2);
	sodium_memzero(heap, FERRY_SEED_BYTES);
	assert_scan(sec, 1, none, none);
	free(heap);

	/* A copy in a stack frame that has returned, then overwritten. */
	run_deep(leave_on_stack, &sec[0]);
	assert_scan(sec, 1, one, none);
	burn_stack();
	assert_scan(sec, 1, none, none);

	/*
	 * A copy freed without a wipe, held by the quarantine: whole here,
	 * in parts where ASan keeps its bookkeeping in freed blocks.
	 */
	run_deep(leave_on_heap, &sec[0]);
	scan_memory(sec, 1, &sc);
	assert_true(sc.found[0] + sc.stray[0] > 0);
#if !defined(__SANITIZE_ADDRESS__)
	assert_int_equal(sc.found[0], 1);
	assert_int_equal(sc.stray[0], 0);
#endif
}

/* The secrets a case looks for, and the objects it keeps between steps. */
enum { SEC_SEED, SEC_SEEDHEX, SEC_EXPANDED, SEC_PASS, SEC_WRONG };

enum wipe_pass { WITH_PASS, WITH_WRONG, WITH_LITERAL };

struct wipe {
	struct masked sec[NSECRETS];
	struct ferry_seckey *k, *opened;
	unsigned char *pass;	/* sodium_malloc'd, noaccess between uses */
	json_t *doc;
	enum wipe_pass with;	/* wipe_open_fails(): which passphrase */
	int want;		/* and the error it expects */
};

#define WIPE_PASSLEN	32

/*
 * A key from a new seed.  The seed, its hex and its SHA-512 (what Ed25519
 * signs with: the secret scalar, once clamped, and the nonce key) exist in
 * the clear only in sodium_malloc() memory, freed here.
 */
static void
wipe_key(void *arg)
{
	struct wipe *w = arg;
	unsigned char *seed, *expanded;
	char *hex;

	seed = secret_new(&w->sec[SEC_SEED], "the seed", FERRY_SEED_BYTES);
	hex = sodium_malloc(2 * FERRY_SEED_BYTES + 1);
	expanded = sodium_malloc(crypto_hash_sha512_BYTES);
	assert_non_null(hex);
	assert_non_null(expanded);
	ferry_hex_encode(seed, FERRY_SEED_BYTES, hex);
	masked_take(&w->sec[SEC_SEEDHEX], "the seed in hex", hex,
	    2 * FERRY_SEED_BYTES);
	sodium_free(hex);
	/* A clamped copy still holds the last two quarters. */
	assert_int_equal(crypto_hash_sha512(expanded, seed, FERRY_SEED_BYTES),
	    0);
	masked_take(&w->sec[SEC_EXPANDED], "the expanded key", expanded,
	    crypto_hash_sha512_BYTES);
	sodium_free(expanded);
	assert_int_equal(ferry_seckey_from_seed(seed, FERRY_SEED_BYTES,
	    &w->k), 0);
	sodium_free(seed);
}

/* Seal the key under a new passphrase, kept noaccess between uses. */
static void
wipe_seal(void *arg)
{
	struct wipe *w = arg;
	struct ferry_kdf kdf = interactive();

	w->pass = secret_new(&w->sec[SEC_PASS], "the passphrase",
	    WIPE_PASSLEN);
	w->doc = seal(w->k, (const char *)w->pass, WIPE_PASSLEN, &kdf, LABEL);
	assert_int_equal(sodium_mprotect_noaccess(w->pass), 0);
}

static void
wipe_make(void *arg)
{
	wipe_key(arg);
	wipe_seal(arg);
}

static void
wipe_open(void *arg)
{
	struct wipe *w = arg;
	struct ferry_error err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(sodium_mprotect_readonly(w->pass), 0);
	assert_int_equal(ferry_keyfile_open(w->doc, (const char *)w->pass,
	    WIPE_PASSLEN, &w->opened, &err), 0);
	assert_int_equal(sodium_mprotect_noaccess(w->pass), 0);
}

/* Sign with the key opened, and check the signature. */
static void
wipe_sign(void *arg)
{
	static const unsigned char msg[] = "signed by a key from a file";
	char sig[FERRY_ED25519_SIG_HEXLEN + 1];
	struct wipe *w = arg;
	struct ferry_key *pk = NULL;
	struct ferry_error err;
	json_t *pub = NULL;

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_seckey_sign(w->opened, msg, sizeof(msg), sig),
	    0);
	assert_int_equal(ferry_keyfile_public(w->doc, &pub, NULL, &err), 0);
	assert_int_equal(ferry_key_from_json(pub, &pk, &err), 0);
	assert_int_equal(ferry_key_verify(pk, msg, sizeof(msg), sig), 0);
	ferry_key_free(pk);
	json_decref(pub);
}

/* Open w->doc as w->with says, and fail with w->want. */
static void
wipe_open_fails(void *arg)
{
	struct wipe *w = arg;
	struct ferry_seckey *k = NULL;
	struct ferry_error err;
	unsigned char *wrong;
	int r;

	memset(&err, 0, sizeof(err));
	switch (w->with) {
	case WITH_WRONG:
		wrong = secret_new(&w->sec[SEC_WRONG], "the wrong passphrase",
		    WIPE_PASSLEN);
		r = ferry_keyfile_open(w->doc, (const char *)wrong,
		    WIPE_PASSLEN, &k, &err);
		sodium_free(wrong);
		break;
	case WITH_LITERAL:
		r = ferry_keyfile_open(w->doc, PASS, PASSLEN, &k, &err);
		break;
	default:
		assert_int_equal(sodium_mprotect_readonly(w->pass), 0);
		r = ferry_keyfile_open(w->doc, (const char *)w->pass,
		    WIPE_PASSLEN, &k, &err);
		assert_int_equal(sodium_mprotect_noaccess(w->pass), 0);
		break;
	}
	if (r != w->want)
		fail_msg("open: %d (%s), not %d", r, ferry_error_msg(&err),
		    w->want);
	assert_null(k);
}

/* Change a ciphertext digit: the AEAD refuses the file. */
static void
wipe_alter(void *arg)
{
	char hex[2 * (FERRY_SEED_BYTES +
	    crypto_aead_xchacha20poly1305_ietf_ABYTES) + 1];
	struct wipe *w = arg;

	assert_int_equal(snprintf(hex, sizeof(hex), "%s",
	    str(w->doc, "ciphertext")), (int)sizeof(hex) - 1);
	hex[7] = flip_digit(hex[7]);
	assert_int_equal(json_object_set_new(w->doc, "ciphertext",
	    json_string(hex)), 0);
}

/* The seed sealed by hand in a file that states another key. */
static void
wipe_misstate(void *arg)
{
	struct wipe *w = arg;

	json_decref(w->doc);
	w->doc = build_by_hand(w->k, fx.other);
}

static void
wipe_free(void *arg)
{
	struct wipe *w = arg;

	ferry_seckey_free(w->k);
	ferry_seckey_free(w->opened);
	sodium_free(w->pass);
	json_decref(w->doc);
	w->k = w->opened = NULL;
	w->pass = NULL;
	w->doc = NULL;
}

/* Free the key, so that a copy of its seed can only be a leftover. */
static void
wipe_drop_key(void *arg)
{
	struct wipe *w = arg;

	ferry_seckey_free(w->k);
	w->k = NULL;
}

static const size_t wipe_none[NSECRETS];

/*
 * Each step is followed by a scan before anything else runs at its depth
 * of stack, which would overwrite what it left there.  Live keys and the
 * passphrase are in inaccessible memory, once each, and nowhere else.
 */
static void
test_wipe_after_use(void **state)
{
	const size_t key[NSECRETS] = { 1, 0, 0, 0, 0 };
	const size_t sealed[NSECRETS] = { 1, 0, 0, 1, 0 };
	const size_t opened[NSECRETS] = { 2, 0, 0, 1, 0 };
	struct wipe w;

	(void)state;
	memset(&w, 0, sizeof(w));
	run_deep(wipe_key, &w);
	assert_scan(w.sec, NSECRETS, wipe_none, key);
	run_deep(wipe_seal, &w);
	assert_scan(w.sec, NSECRETS, wipe_none, sealed);
	run_deep(wipe_open, &w);
	assert_scan(w.sec, NSECRETS, wipe_none, opened);
	run_deep(wipe_sign, &w);
	assert_scan(w.sec, NSECRETS, wipe_none, opened);
	run_deep(wipe_free, &w);
	assert_scan(w.sec, NSECRETS, wipe_none, wipe_none);
}

/*
 * Open w->doc and fail; scan at once, with only the passphrase's buffer
 * left (the key was freed first), then once everything is freed.
 */
static void
assert_fails_clean(struct wipe *w, enum wipe_pass with, int want)
{
	const size_t pass_only[NSECRETS] = { 0, 0, 0, 1, 0 };

	w->with = with;
	w->want = want;
	run_deep(wipe_drop_key, w);
	run_deep(wipe_open_fails, w);
	assert_scan(w->sec, NSECRETS, wipe_none, pass_only);
	run_deep(wipe_free, w);
	assert_scan(w->sec, NSECRETS, wipe_none, wipe_none);
}

static void
test_wipe_wrong_passphrase(void **state)
{
	struct wipe w;

	(void)state;
	memset(&w, 0, sizeof(w));
	run_deep(wipe_make, &w);
	assert_fails_clean(&w, WITH_WRONG, FERRY_ERR_PASSPHRASE);
}

static void
test_wipe_altered_file(void **state)
{
	struct wipe w;

	(void)state;
	memset(&w, 0, sizeof(w));
	run_deep(wipe_make, &w);
	run_deep(wipe_alter, &w);
	assert_fails_clean(&w, WITH_PASS, FERRY_ERR_PASSPHRASE);
}

/*
 * The one failure after decryption: the seed was in the clear, and its
 * public key is not the file's.
 */
static void
test_wipe_not_stated_key(void **state)
{
	struct wipe w;

	(void)state;
	memset(&w, 0, sizeof(w));
	run_deep(wipe_make, &w);
	run_deep(wipe_misstate, &w);
	assert_fails_clean(&w, WITH_LITERAL, FERRY_ERR_KEYFILE);
}

#define D(fn) cmocka_unit_test_setup_teardown(fn, dir_setup, dir_teardown)
#define O(fn) cmocka_unit_test_teardown(fn, restore_alloc)
#define W(fn) cmocka_unit_test_teardown(fn, quarantine_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_moderate_round_trip),
		cmocka_unit_test(test_sensitive_round_trip),
		cmocka_unit_test(test_wrong_passphrase),
		cmocka_unit_test(test_empty_and_binary_passphrase),
		cmocka_unit_test(test_tamper_fails_like_wrong_passphrase),
		cmocka_unit_test(test_swapped_public_key),
		cmocka_unit_test(test_built_by_hand_opens),
		cmocka_unit_test(test_seed_not_of_stated_key),
		cmocka_unit_test(test_keyid_mismatch),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_kdf_bounds),
		cmocka_unit_test(test_kdf_bounds_inclusive),
		cmocka_unit_test(test_kdf_names),
		cmocka_unit_test(test_seal_bad_args),
		D(test_write_read),
		D(test_write_refuses_malformed),
		D(test_write_dangling_symlink),
		D(test_read_bad_files),
		O(test_oom_seal),
		O(test_oom_open),
		O(test_oom_seal_once),
		O(test_oom_open_once),
		W(test_scan_finds_copies),
		W(test_wipe_after_use),
		W(test_wipe_wrong_passphrase),
		W(test_wipe_altered_file),
		W(test_wipe_not_stated_key),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Private key files: Argon2id and XChaCha20-Poly1305 around an Ed25519 seed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "file.h"
#include "hex.h"
#include "json.h"
#include "key.h"
#include "keyfile.h"
#include "meta.h"

#define KF_TYPE		"ferry-key"
#define KF_FORMAT	1
#define KF_KDF		"argon2id"
#define KF_CIPHER	"xchacha20-poly1305"
#define KF_SALT		crypto_pwhash_SALTBYTES
#define KF_NONCE	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KF_KEY		crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define KF_TAG		crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KF_SEED		crypto_sign_SEEDBYTES
#define KF_PUB		crypto_sign_PUBLICKEYBYTES

static const struct {
	const char *name;
	uint64_t ops, mem;
} levels[] = {
	{ "sensitive", crypto_pwhash_OPSLIMIT_SENSITIVE,
	    crypto_pwhash_MEMLIMIT_SENSITIVE },
	{ "moderate", crypto_pwhash_OPSLIMIT_MODERATE,
	    crypto_pwhash_MEMLIMIT_MODERATE },
	{ "interactive", crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE },
};

/* Format 1 has exactly these fields; "label" is the only optional one. */
static const char *const fields[] = {
	"_type", "format", "keytype", "scheme", "keyid", "keyval", "created",
	"label", "kdf", "cipher", "ciphertext",
};

int
ferry_kdf_from_name(const char *name, struct ferry_kdf *out)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(levels) / sizeof(levels[0]);
	    i++) {
		if (strcmp(name, levels[i].name) == 0) {
			out->opslimit = levels[i].ops;
			out->memlimit = levels[i].mem;
			return 0;
		}
	}
	return -1;
}

const char *
ferry_kdf_name(const struct ferry_kdf *kdf)
{
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (kdf->opslimit == levels[i].ops &&
		    kdf->memlimit == levels[i].mem)
			return levels[i].name;
	return NULL;
}

static int
kdf_check(const struct ferry_kdf *kdf, struct ferry_error *err)
{
	if (kdf->opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE ||
	    kdf->opslimit > FERRY_KDF_MAX_OPSLIMIT)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "kdf.opslimit: %llu is outside %llu..%llu",
		    (unsigned long long)kdf->opslimit,
		    (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    (unsigned long long)FERRY_KDF_MAX_OPSLIMIT);
	if (kdf->memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE ||
	    kdf->memlimit > FERRY_KDF_MAX_MEMLIMIT)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "kdf.memlimit: %llu bytes is outside %llu..%llu",
		    (unsigned long long)kdf->memlimit,
		    (unsigned long long)crypto_pwhash_MEMLIMIT_INTERACTIVE,
		    (unsigned long long)FERRY_KDF_MAX_MEMLIMIT);
	return 0;
}

/* A string member of exactly n bytes of lowercase hex, decoded into out. */
static int
get_hex(const json_t *o, const char *name, const char *where,
    unsigned char *out, size_t n, struct ferry_error *err)
{
	const char *s = ferry_json_cstr(json_object_get(o, name));
	size_t got;

	/*
	 * ferry_hex_decode() takes upper case too; the format (and the
	 * schema) does not, so that the file has one spelling.
	 */
	if (s == NULL || strlen(s) != 2 * n ||
	    strspn(s, "0123456789abcdef") != 2 * n ||
	    ferry_hex_decode(s, 2 * n, out, n, &got) != 0 || got != n)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "%s%s: must be %zu hex digits", where, name, 2 * n);
	return 0;
}

static int
get_str(const json_t *o, const char *name, const char *where,
    const char *want, struct ferry_error *err)
{
	const char *s = ferry_json_cstr(json_object_get(o, name));

	if (s == NULL || strcmp(s, want) != 0)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "%s%s: must be \"%s\"", where, name, want);
	return 0;
}

static int
get_u64(const json_t *o, const char *name, uint64_t *out,
    struct ferry_error *err)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "kdf.%s: must be an integer >= 0", name);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* The public key as TUF states it, from the raw 32 bytes. */
static json_t *
pub_json(const unsigned char *pk)
{
	char hex[2 * KF_PUB + 1];

	ferry_hex_encode(pk, KF_PUB, hex);
	return json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519",
	    "scheme", "ed25519", "keyval", "public", hex);
}

int
ferry_keyfile_check(const json_t *doc, struct ferry_kdf *kdfout,
    struct ferry_error *err)
{
	unsigned char pk[KF_PUB], salt[KF_SALT], nonce[KF_NONCE];
	unsigned char ct[KF_SEED + KF_TAG];
	char keyid[FERRY_KEYID_HEXLEN + 1];
	const json_t *kdf, *cipher, *keyval;
	struct ferry_kdf lim;
	const char *k, *id, *created;
	json_t *v, *pub = NULL;
	int64_t t;
	size_t i;
	int r;

	if (!json_is_object(doc))
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "not a JSON object");
	json_object_foreach((json_t *)doc, k, v) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(k, fields[i]) == 0)
				break;
		if (i == sizeof(fields) / sizeof(fields[0]))
			return ferry_error_set(err, FERRY_ERR_KEYFILE,
			    "%.64s: not a field of a key file", k);
	}
	if ((r = get_str(doc, "_type", "", KF_TYPE, err)) != 0)
		return r;
	v = json_object_get(doc, "format");
	if (!json_is_integer(v) || json_integer_value(v) != KF_FORMAT)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "format: this version reads format %d only", KF_FORMAT);
	if ((r = get_str(doc, "keytype", "", "ed25519", err)) != 0 ||
	    (r = get_str(doc, "scheme", "", "ed25519", err)) != 0)
		return r;
	keyval = json_object_get(doc, "keyval");
	if (!json_is_object(keyval) || json_object_size(keyval) != 1)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "keyval: must be an object with \"public\" only");
	if ((r = get_hex(keyval, "public", "keyval.", pk, KF_PUB, err)) != 0)
		return r;
	created = ferry_json_cstr(json_object_get(doc, "created"));
	if (created == NULL || ferry_meta_parse_time(created, &t) != 0)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "created: must be a time as YYYY-MM-DDTHH:MM:SSZ");
	if (json_object_get(doc, "label") != NULL &&
	    ferry_json_cstr(json_object_get(doc, "label")) == NULL)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "label: must be a string");
	kdf = json_object_get(doc, "kdf");
	cipher = json_object_get(doc, "cipher");
	if (!json_is_object(kdf) || json_object_size(kdf) != 4)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "kdf: must be an object with name, opslimit, memlimit, "
		    "salt");
	if (!json_is_object(cipher) || json_object_size(cipher) != 2)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "cipher: must be an object with name, nonce");
	if ((r = get_str(kdf, "name", "kdf.", KF_KDF, err)) != 0 ||
	    (r = get_u64(kdf, "opslimit", &lim.opslimit, err)) != 0 ||
	    (r = get_u64(kdf, "memlimit", &lim.memlimit, err)) != 0 ||
	    (r = kdf_check(&lim, err)) != 0 ||
	    (r = get_hex(kdf, "salt", "kdf.", salt, KF_SALT, err)) != 0 ||
	    (r = get_str(cipher, "name", "cipher.", KF_CIPHER, err)) != 0 ||
	    (r = get_hex(cipher, "nonce", "cipher.", nonce, KF_NONCE,
	    err)) != 0 ||
	    (r = get_hex(doc, "ciphertext", "", ct, sizeof(ct), err)) != 0)
		return r;
	/* The key id must be the one of the stated public key. */
	id = ferry_json_cstr(json_object_get(doc, "keyid"));
	if ((pub = pub_json(pk)) == NULL)
		return FERRY_ERR_NOMEM;
	r = ferry_keyid(pub, keyid, err);
	json_decref(pub);
	if (r != 0)
		return r;
	if (id == NULL || strcmp(id, keyid) != 0)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "keyid: is not the key id of keyval.public (%s)", keyid);
	if (kdfout != NULL)
		*kdfout = lim;
	return 0;
}

/* The additional data: canonical JSON of everything but the ciphertext. */
static int
keyfile_ad(const json_t *doc, unsigned char **ad, size_t *adlen,
    struct ferry_error *err)
{
	const char *k;
	json_t *c, *v;
	int r;

	/*
	 * Not json_copy(): it drops, without a word, the members it runs
	 * out of memory adding, and a key sealed under additional data
	 * that lost a field could never be opened.
	 */
	if ((c = json_object()) == NULL)
		return FERRY_ERR_NOMEM;
	json_object_foreach((json_t *)doc, k, v) {
		if (strcmp(k, "ciphertext") != 0 &&
		    json_object_set(c, k, v) != 0) {
			json_decref(c);
			return ferry_error_set(err, FERRY_ERR_NOMEM,
			    "key file: out of memory");
		}
	}
	r = ferry_json_canonical(c, ad, adlen, err);
	json_decref(c);
	return r;
}

/* Argon2id of the passphrase into a new sodium_malloc'd key. */
static int
derive(const char *pass, size_t passlen, const unsigned char *salt,
    const struct ferry_kdf *kdf, unsigned char **out,
    struct ferry_error *err)
{
	unsigned char *key;

	if (kdf->memlimit > SIZE_MAX)
		return ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "kdf.memlimit: too large for this machine");
	/* libsodium declares passwd nonnull, even for a length of 0. */
	if (pass == NULL)
		pass = "";
	if ((key = sodium_malloc(KF_KEY)) == NULL)
		return FERRY_ERR_NOMEM;
	if (crypto_pwhash(key, KF_KEY, pass, passlen, salt,
	    (unsigned long long)kdf->opslimit, (size_t)kdf->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_free(key);
		return ferry_error_set(err, FERRY_ERR_NOMEM,
		    "Argon2id could not allocate %llu MiB",
		    (unsigned long long)(kdf->memlimit >> 20));
	}
	*out = key;
	return 0;
}

struct seal_ctx {
	const char *pass;
	size_t passlen;
	const struct ferry_kdf *kdf;
	const unsigned char *salt, *nonce, *ad;
	size_t adlen;
	unsigned char *ct;
	struct ferry_error *err;
};

/* Runs while the seed is readable (ferry_seckey_with_seed). */
static int
seal_seed(const unsigned char *seed, size_t len, void *arg)
{
	struct seal_ctx *c = arg;
	unsigned char *key = NULL;
	int r;

	if (len != KF_SEED)
		return FERRY_ERR_INTERNAL;
	if ((r = derive(c->pass, c->passlen, c->salt, c->kdf, &key,
	    c->err)) != 0)
		return r;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(c->ct, NULL, seed,
	    len, c->ad, c->adlen, NULL, c->nonce, key) != 0)
		r = FERRY_ERR_CRYPTO;
	sodium_free(key);
	return r;
}

int
ferry_keyfile_seal(struct ferry_seckey *k, const char *pass, size_t passlen,
    const struct ferry_kdf *kdf, const char *label, int64_t created,
    json_t **out, struct ferry_error *err)
{
	unsigned char salt[KF_SALT], nonce[KF_NONCE], ct[KF_SEED + KF_TAG];
	char hsalt[2 * KF_SALT + 1], hnonce[2 * KF_NONCE + 1];
	char hct[2 * sizeof(ct) + 1], hpk[2 * KF_PUB + 1], when[32];
	unsigned char *ad = NULL;
	struct seal_ctx c;
	json_t *doc = NULL;
	size_t adlen;
	int r;

	if (k == NULL || (pass == NULL && passlen > 0) || kdf == NULL ||
	    out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = kdf_check(kdf, err)) != 0)
		return r;
	if (sodium_init() < 0)
		return FERRY_ERR_CRYPTO;
	if (ferry_meta_format_time(created, when, sizeof(when)) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "creation time out of range");
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	ferry_hex_encode(salt, sizeof(salt), hsalt);
	ferry_hex_encode(nonce, sizeof(nonce), hnonce);
	ferry_hex_encode(ferry_seckey_public(k), KF_PUB, hpk);
	doc = json_pack("{s:s, s:i, s:s, s:s, s:s, s:{s:s}, s:s, "
	    "s:{s:s, s:I, s:I, s:s}, s:{s:s, s:s}}",
	    "_type", KF_TYPE, "format", KF_FORMAT,
	    "keytype", "ed25519", "scheme", "ed25519",
	    "keyid", ferry_seckey_keyid(k), "keyval", "public", hpk,
	    "created", when,
	    "kdf", "name", KF_KDF, "opslimit", (json_int_t)kdf->opslimit,
	    "memlimit", (json_int_t)kdf->memlimit, "salt", hsalt,
	    "cipher", "name", KF_CIPHER, "nonce", hnonce);
	r = FERRY_ERR_NOMEM;
	if (doc == NULL)
		goto out;
	if (label != NULL &&
	    json_object_set_new(doc, "label", json_string(label)) != 0) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "label: must be UTF-8 text");
		goto out;
	}
	if ((r = keyfile_ad(doc, &ad, &adlen, err)) != 0)
		goto out;
	c.pass = pass;
	c.passlen = passlen;
	c.kdf = kdf;
	c.salt = salt;
	c.nonce = nonce;
	c.ad = ad;
	c.adlen = adlen;
	c.ct = ct;
	c.err = err;
	if ((r = ferry_seckey_with_seed(k, seal_seed, &c)) != 0)
		goto out;
	ferry_hex_encode(ct, sizeof(ct), hct);
	r = FERRY_ERR_NOMEM;
	if (json_object_set_new(doc, "ciphertext", json_string(hct)) != 0)
		goto out;
	/* What was written must read back as a key file. */
	if ((r = ferry_keyfile_check(doc, NULL, err)) != 0)
		goto out;
	*out = doc;
	doc = NULL;	/* transferred */
	r = 0;
 out:
	sodium_memzero(ct, sizeof(ct));
	sodium_memzero(hct, sizeof(hct));
	free(ad);
	json_decref(doc);
	return r;
}

int
ferry_keyfile_open(const json_t *doc, const char *pass, size_t passlen,
    struct ferry_seckey **out, struct ferry_error *err)
{
	unsigned char salt[KF_SALT], nonce[KF_NONCE], ct[KF_SEED + KF_TAG];
	unsigned char pk[KF_PUB];
	unsigned char *key = NULL, *seed = NULL, *ad = NULL;
	struct ferry_seckey *k = NULL;
	struct ferry_kdf kdf;
	size_t adlen;
	int r;

	if (doc == NULL || (pass == NULL && passlen > 0) || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_keyfile_check(doc, &kdf, err)) != 0)
		return r;
	if (sodium_init() < 0)
		return FERRY_ERR_CRYPTO;
	/* Checked just above, so these decode. */
	if (get_hex(json_object_get(doc, "kdf"), "salt", "kdf.", salt,
	    sizeof(salt), err) != 0 ||
	    get_hex(json_object_get(doc, "cipher"), "nonce", "cipher.", nonce,
	    sizeof(nonce), err) != 0 ||
	    get_hex(doc, "ciphertext", "", ct, sizeof(ct), err) != 0 ||
	    get_hex(json_object_get(doc, "keyval"), "public", "keyval.", pk,
	    sizeof(pk), err) != 0)
		return FERRY_ERR_INTERNAL;
	if ((r = keyfile_ad(doc, &ad, &adlen, err)) != 0)
		goto out;
	if ((r = derive(pass, passlen, salt, &kdf, &key, err)) != 0)
		goto out;
	r = FERRY_ERR_NOMEM;
	if ((seed = sodium_malloc(KF_SEED)) == NULL)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed, NULL, NULL, ct,
	    sizeof(ct), ad, adlen, nonce, key) != 0) {
		r = ferry_error_set(err, FERRY_ERR_PASSPHRASE,
		    "wrong passphrase, or the key file was altered");
		goto out;
	}
	if ((r = ferry_seckey_from_seed(seed, KF_SEED, &k)) != 0)
		goto out;
	if (sodium_memcmp(ferry_seckey_public(k), pk, sizeof(pk)) != 0) {
		r = ferry_error_set(err, FERRY_ERR_KEYFILE,
		    "keyval.public: is not the public half of the "
		    "encrypted key");
		goto out;
	}
	*out = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	ferry_seckey_free(k);
	sodium_free(seed);
	sodium_free(key);
	free(ad);
	return r;
}

int
ferry_keyfile_public(const json_t *doc, json_t **out, const char **keyid,
    struct ferry_error *err)
{
	unsigned char pk[KF_PUB];
	json_t *pub;
	int r;

	if (doc == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_keyfile_check(doc, NULL, err)) != 0)
		return r;
	if (get_hex(json_object_get(doc, "keyval"), "public", "keyval.", pk,
	    sizeof(pk), err) != 0)
		return FERRY_ERR_INTERNAL;
	if ((pub = pub_json(pk)) == NULL)
		return FERRY_ERR_NOMEM;
	if (keyid != NULL)
		*keyid = ferry_json_cstr(json_object_get(doc, "keyid"));
	*out = pub;
	return 0;
}

int
ferry_keyfile_read(const char *path, json_t **out, struct ferry_error *err)
{
	json_t *doc = NULL;
	int r;

	if (path == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_json_parse_file(path, FERRY_KEYFILE_MAX_LEN, &doc,
	    err)) != 0)
		return r;
	if ((r = ferry_keyfile_check(doc, NULL, err)) != 0) {
		json_decref(doc);
		return r;
	}
	*out = doc;
	return 0;
}

int
ferry_keyfile_write(const char *path, const json_t *doc, int replace,
    struct ferry_error *err)
{
	unsigned char *buf = NULL;
	size_t len;
	int r;

	if (path == NULL || doc == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_keyfile_check(doc, NULL, err)) != 0 ||
	    (r = ferry_json_serialize(doc, &buf, &len, err)) != 0)
		return r;
	r = replace ? ferry_file_write_atomic(path, buf, len, 0600) :
	    ferry_file_write_new(path, buf, len, 0600);
	if (r == FERRY_ERR_IO)
		r = ferry_error_set(err, r, "%s: %s", path, errno == EEXIST ?
		    "already exists; a key file is never overwritten" :
		    strerror(errno));
	free(buf);
	return r;
}

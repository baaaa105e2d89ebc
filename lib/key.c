#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "hash.h"
#include "hex.h"
#include "json.h"
#include "key.h"

/* Far larger than any signature of a supported scheme (RSA-16384). */
#define MAX_SIG_BYTES 2048
/* Far larger than any supported PEM public key. */
#define MAX_PEM_BYTES 16384

struct ferry_key {
	enum ferry_key_kind kind;
	unsigned char ed25519[crypto_sign_PUBLICKEYBYTES];
	EVP_PKEY *pkey;
};

/*
 * An RSA key too small to mean anything, or with a public exponent that
 * makes signatures forgeable (e = 1) or is absurd, is not a key.
 */
static int
rsa_is_sane(EVP_PKEY *pkey)
{
	BIGNUM *e = NULL;
	int ok;

	if (EVP_PKEY_get_bits(pkey) < 2048 ||
	    EVP_PKEY_get_bn_param(pkey, "e", &e) != 1)
		return 0;
	ok = BN_is_odd(e) && BN_num_bits(e) >= 2 && BN_num_bits(e) <= 32;
	BN_free(e);
	return ok;
}

static EVP_PKEY *
pem_public(const char *pem, int want_type)
{
	EVP_PKEY *pkey;
	BIO *bio;
	size_t n = strlen(pem);

	if (n == 0 || n > MAX_PEM_BYTES)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(pkey) != want_type) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	if (want_type == EVP_PKEY_RSA && !rsa_is_sane(pkey)) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

/* Only P-256: the scheme's name fixes the curve. */
static int
is_p256(EVP_PKEY *pkey)
{
	char name[64];
	size_t n = 0;

	if (EVP_PKEY_get_utf8_string_param(pkey, "group", name, sizeof(name),
	    &n) != 1)
		return 0;
	return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
}

static void
decode_material(struct ferry_key *key, const char *type, const char *scheme,
    const char *pub)
{
	size_t n;

	if (strcmp(type, "ed25519") == 0 && strcmp(scheme, "ed25519") == 0) {
		if (strlen(pub) == 2 * sizeof(key->ed25519) &&
		    ferry_hex_decode(pub, strlen(pub), key->ed25519,
		    sizeof(key->ed25519), &n) == 0)
			key->kind = FERRY_KEY_ED25519;
	} else if ((strcmp(type, "ecdsa") == 0 ||
	    strcmp(type, "ecdsa-sha2-nistp256") == 0) &&
	    strcmp(scheme, "ecdsa-sha2-nistp256") == 0) {
		key->pkey = pem_public(pub, EVP_PKEY_EC);
		if (key->pkey != NULL && is_p256(key->pkey))
			key->kind = FERRY_KEY_ECDSA_P256;
	} else if (strcmp(type, "rsa") == 0 &&
	    strcmp(scheme, "rsassa-pss-sha256") == 0) {
		key->pkey = pem_public(pub, EVP_PKEY_RSA);
		if (key->pkey != NULL)
			key->kind = FERRY_KEY_RSA_PSS_SHA256;
	}
	if (key->kind == FERRY_KEY_UNSUPPORTED) {
		EVP_PKEY_free(key->pkey);
		key->pkey = NULL;
	}
}

int
ferry_key_from_json(const json_t *k, struct ferry_key **out,
    struct ferry_error *err)
{
	struct ferry_key *key;
	const char *type, *scheme, *pub;
	json_t *keyval;

	if (out == NULL)
		return FERRY_ERR_INVALID_ARG;
	/* Idempotent and thread-safe; libsodium asks for it before use. */
	if (sodium_init() < 0)
		return FERRY_ERR_CRYPTO;
	if (!json_is_object(k))
		return ferry_error_set(err, FERRY_ERR_KEY, "must be an object");
	if ((type = ferry_json_cstr(json_object_get(k, "keytype"))) == NULL)
		return ferry_error_set(err, FERRY_ERR_KEY,
		    "keytype: must be a string");
	if ((scheme = ferry_json_cstr(json_object_get(k, "scheme"))) == NULL)
		return ferry_error_set(err, FERRY_ERR_KEY,
		    "scheme: must be a string");
	if (!json_is_object(keyval = json_object_get(k, "keyval")))
		return ferry_error_set(err, FERRY_ERR_KEY,
		    "keyval: must be an object");
	if ((key = calloc(1, sizeof(*key))) == NULL)
		return FERRY_ERR_NOMEM;
	/*
	 * keyval of an unknown type may have any shape; only the types we
	 * use need "public".
	 */
	if ((pub = ferry_json_cstr(json_object_get(keyval, "public"))) != NULL)
		decode_material(key, type, scheme, pub);
	*out = key;
	return 0;
}

void
ferry_key_free(struct ferry_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

enum ferry_key_kind
ferry_key_kind(const struct ferry_key *key)
{
	return key == NULL ? FERRY_KEY_UNSUPPORTED : key->kind;
}

int
ferry_key_equal(const struct ferry_key *a, const struct ferry_key *b)
{
	if (a == NULL || b == NULL || a->kind != b->kind ||
	    a->kind == FERRY_KEY_UNSUPPORTED)
		return 0;
	if (a->kind == FERRY_KEY_ED25519)
		return memcmp(a->ed25519, b->ed25519, sizeof(a->ed25519)) == 0;
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

static int
verify_evp(const struct ferry_key *key, const unsigned char *msg, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	EVP_PKEY_CTX *pctx = NULL;
	int r = FERRY_ERR_CRYPTO, ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return FERRY_ERR_NOMEM;
	if (EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL,
	    key->pkey) != 1)
		goto out;
	if (key->kind == FERRY_KEY_RSA_PSS_SHA256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_AUTO) != 1))
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, msg, len);
	/* 0 is a bad signature; < 0 includes undecodable DER: also bad. */
	r = ok == 1 ? 0 : FERRY_ERR_SIG_BAD;
 out:
	EVP_MD_CTX_free(ctx);
	return r;
}

int
ferry_key_verify(const struct ferry_key *key, const unsigned char *msg,
    size_t len, const char *sighex)
{
	unsigned char sig[MAX_SIG_BYTES];
	size_t siglen, hexlen;

	if (key == NULL || (msg == NULL && len > 0) || sighex == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (key->kind == FERRY_KEY_UNSUPPORTED)
		return FERRY_ERR_KEY_UNSUPPORTED;
	hexlen = strlen(sighex);
	if (ferry_hex_decode(sighex, hexlen, sig, sizeof(sig), &siglen) != 0)
		return FERRY_ERR_SIG_MALFORMED;
	if (key->kind == FERRY_KEY_ED25519) {
		if (siglen != crypto_sign_BYTES)
			return FERRY_ERR_SIG_MALFORMED;
		if (crypto_sign_verify_detached(sig, msg, len,
		    key->ed25519) != 0)
			return FERRY_ERR_SIG_BAD;
		return 0;
	}
	return verify_evp(key, msg, len, sig, siglen);
}

int
ferry_keyid(const json_t *k, char *out, struct ferry_error *err)
{
	unsigned char *canon = NULL, digest[FERRY_HASH_MAX];
	size_t len, dlen;
	int r;

	if (k == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_json_canonical(k, &canon, &len, err)) != 0)
		return r;
	r = ferry_hash_buf(FERRY_HASH_SHA256, canon, len, digest, &dlen);
	free(canon);
	if (r != 0)
		return r;
	ferry_hex_encode(digest, dlen, out);
	return 0;
}

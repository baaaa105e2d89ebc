#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hex.h"
#include "seckey.h"

struct ferry_seckey {
	unsigned char *sk;	/* sodium_malloc'd, noaccess between uses */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	char keyid[FERRY_KEYID_HEXLEN + 1];
};

static int
ensure_sodium(void)
{
	return sodium_init() < 0 ? FERRY_ERR_CRYPTO : 0;
}

static int
finish(struct ferry_seckey *k, struct ferry_seckey **out)
{
	json_t *pub = NULL;
	int r;

	if (sodium_mprotect_noaccess(k->sk) != 0) {
		r = FERRY_ERR_CRYPTO;
		goto fail;
	}
	if ((r = ferry_seckey_public_json(k, &pub)) != 0 ||
	    (r = ferry_keyid(pub, k->keyid, NULL)) != 0)
		goto fail;
	json_decref(pub);
	*out = k;
	return 0;
 fail:
	json_decref(pub);
	ferry_seckey_free(k);
	return r;
}

static struct ferry_seckey *
alloc_key(void)
{
	struct ferry_seckey *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

int
ferry_seckey_generate(struct ferry_seckey **out)
{
	struct ferry_seckey *k;
	int r;

	if (out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ensure_sodium()) != 0)
		return r;
	if ((k = alloc_key()) == NULL)
		return FERRY_ERR_NOMEM;
	if (crypto_sign_keypair(k->pk, k->sk) != 0) {
		ferry_seckey_free(k);
		return FERRY_ERR_CRYPTO;
	}
	return finish(k, out);
}

int
ferry_seckey_from_seed(const unsigned char *seed, size_t seedlen,
    struct ferry_seckey **out)
{
	struct ferry_seckey *k;
	int r;

	if (seed == NULL || seedlen != crypto_sign_SEEDBYTES || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ensure_sodium()) != 0)
		return r;
	if ((k = alloc_key()) == NULL)
		return FERRY_ERR_NOMEM;
	if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0) {
		ferry_seckey_free(k);
		return FERRY_ERR_CRYPTO;
	}
	return finish(k, out);
}

void
ferry_seckey_free(struct ferry_seckey *k)
{
	if (k == NULL)
		return;
	/* sodium_free() unlocks, wipes and unmaps, whatever the protection. */
	sodium_free(k->sk);
	sodium_memzero(k, sizeof(*k));
	free(k);
}

int
ferry_seckey_public_json(const struct ferry_seckey *k, json_t **out)
{
	char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
	json_t *o;

	if (k == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	ferry_hex_encode(k->pk, sizeof(k->pk), hex);
	o = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519",
	    "scheme", "ed25519", "keyval", "public", hex);
	if (o == NULL)
		return FERRY_ERR_NOMEM;
	*out = o;
	return 0;
}

const char *
ferry_seckey_keyid(const struct ferry_seckey *k)
{
	return k == NULL ? NULL : k->keyid;
}

int
ferry_seckey_sign(struct ferry_seckey *k, const unsigned char *msg,
    size_t len, char *sighex)
{
	unsigned char sig[crypto_sign_BYTES];
	int r = 0;

	if (k == NULL || (msg == NULL && len > 0) || sighex == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (sodium_mprotect_readonly(k->sk) != 0)
		return FERRY_ERR_CRYPTO;
	if (crypto_sign_detached(sig, NULL, msg, len, k->sk) != 0)
		r = FERRY_ERR_CRYPTO;
	if (sodium_mprotect_noaccess(k->sk) != 0)
		r = FERRY_ERR_CRYPTO;
	if (r == 0)
		ferry_hex_encode(sig, sizeof(sig), sighex);
	sodium_memzero(sig, sizeof(sig));
	return r;
}

int
ferry_seckey_with_seed(struct ferry_seckey *k,
    int (*fn)(const unsigned char *, size_t, void *), void *arg)
{
	int r;

	if (k == NULL || fn == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (sodium_mprotect_readonly(k->sk) != 0)
		return FERRY_ERR_CRYPTO;
	/* libsodium's Ed25519 secret key is the seed, then the public key. */
	r = fn(k->sk, crypto_sign_SEEDBYTES, arg);
	if (sodium_mprotect_noaccess(k->sk) != 0)
		r = FERRY_ERR_CRYPTO;
	return r;
}

const unsigned char *
ferry_seckey_public(const struct ferry_seckey *k)
{
	return k == NULL ? NULL : k->pk;
}

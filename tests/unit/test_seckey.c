/*
 * lib/seckey.c: ed25519 signing keys.  Known answers from RFC 8032 (test 1)
 * and pyca cryptography, round trips through lib/key.c, and a check that
 * wiping secrets is not optimised away.
 */
#include "config.h"

#include "unit.h"

#include <sodium.h>

#include "lib/err.h"
#include "lib/hex.h"
#include "lib/key.h"
#include "lib/seckey.h"

static const char rfc_seed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc_pub[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig_empty[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821"
    "590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/* The same key over "ferry", by pyca cryptography 38. */
static const char pyca_sig_ferry[] =
    "87d42dd377b2fbcb14805ddfa7862bde7c486b99e3148c570d8d7ae747138d4c4440e91"
    "38060f9d60ae6b0d48f007e9ad9efa7558b5f528ad470b2aca8993f0a";

static struct ferry_seckey *
rfc_key(void)
{
	struct ferry_seckey *k = NULL;
	unsigned char *seed;
	size_t n;

	seed = unit_unhex(rfc_seed, &n);
	assert_int_equal(ferry_seckey_from_seed(seed, n, &k), 0);
	sodium_memzero(seed, n);
	free(seed);
	return k;
}

static void
test_known_answers(void **state)
{
	struct ferry_seckey *k = rfc_key();
	char sig[FERRY_ED25519_SIG_HEXLEN + 1];
	json_t *pub = NULL;

	(void)state;
	assert_int_equal(ferry_seckey_public_json(k, &pub), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    pub, "keyval"), "public")), rfc_pub);
	assert_string_equal(json_string_value(json_object_get(pub, "keytype")),
	    "ed25519");
	assert_string_equal(json_string_value(json_object_get(pub, "scheme")),
	    "ed25519");
	assert_int_equal(ferry_seckey_sign(k, NULL, 0, sig), 0);
	assert_string_equal(sig, rfc_sig_empty);
	assert_int_equal(ferry_seckey_sign(k, (const unsigned char *)"ferry", 5,
	    sig), 0);
	assert_string_equal(sig, pyca_sig_ferry);
	/* The key id is that of the public key object. */
	{
		char id[FERRY_KEYID_HEXLEN + 1];

		assert_int_equal(ferry_keyid(pub, id, NULL), 0);
		assert_string_equal(id, ferry_seckey_keyid(k));
	}
	json_decref(pub);
	ferry_seckey_free(k);
}

/* Signing twice works: the key is re-protected after each use. */
static void
test_generate_sign_verify(void **state)
{
	static const unsigned char msg[] = "the signed part";
	struct ferry_seckey *k = NULL, *k2 = NULL;
	struct ferry_key *pk = NULL;
	char sig[FERRY_ED25519_SIG_HEXLEN + 1];
	json_t *pub = NULL;
	int i;

	(void)state;
	assert_int_equal(ferry_seckey_generate(&k), 0);
	assert_int_equal(ferry_seckey_generate(&k2), 0);
	assert_string_not_equal(ferry_seckey_keyid(k), ferry_seckey_keyid(k2));
	assert_int_equal(ferry_seckey_public_json(k, &pub), 0);
	assert_int_equal(ferry_key_from_json(pub, &pk, NULL), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ferry_seckey_sign(k, msg, sizeof(msg), sig),
		    0);
		assert_int_equal(ferry_key_verify(pk, msg, sizeof(msg), sig),
		    0);
	}
	/* Another key's signature does not verify. */
	assert_int_equal(ferry_seckey_sign(k2, msg, sizeof(msg), sig), 0);
	assert_int_equal(ferry_key_verify(pk, msg, sizeof(msg), sig),
	    FERRY_ERR_SIG_BAD);
	ferry_key_free(pk);
	json_decref(pub);
	ferry_seckey_free(k);
	ferry_seckey_free(k2);
	ferry_seckey_free(NULL);
}

static void
test_bad_args(void **state)
{
	unsigned char seed[31] = { 0 };
	struct ferry_seckey *k = NULL;
	char sig[FERRY_ED25519_SIG_HEXLEN + 1];

	(void)state;
	assert_int_equal(ferry_seckey_from_seed(seed, sizeof(seed), &k),
	    FERRY_ERR_INVALID_ARG);
	assert_null(k);
	assert_int_equal(ferry_seckey_from_seed(NULL, 32, &k),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_seckey_sign(NULL, NULL, 0, sig),
	    FERRY_ERR_INVALID_ARG);
	assert_null(ferry_seckey_keyid(NULL));
}

/*
 * Wiping must survive the optimiser.  A secret is placed in a stack
 * buffer that is wiped before the function returns; a second function
 * then looks at the same stack region, uninitialised, for the secret.
 * (Tor's test-memwipe does the same.)  Reading uninitialised memory is
 * the point here, so the read goes through a volatile pointer; under
 * AddressSanitizer, frames may live elsewhere, so only the plain build
 * draws a conclusion from what it finds.
 */
#define SECRET_LEN 2048
static const char pattern[] = "ferry-secret-pattern";

static unsigned long __attribute__((noinline))
fill_and_wipe(void)
{
	unsigned char buf[SECRET_LEN];
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i + sizeof(pattern) <= sizeof(buf); i += sizeof(pattern))
		memcpy(buf + i, pattern, sizeof(pattern));
	for (i = 0; i < sizeof(buf); i++)
		sum += buf[i];
	sodium_memzero(buf, sizeof(buf));
	return sum;
}

/* The control: the same, without the wipe. */
static unsigned long __attribute__((noinline))
fill_only(void)
{
	unsigned char buf[SECRET_LEN];
	volatile unsigned char *p = buf;
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i + sizeof(pattern) <= sizeof(buf); i += sizeof(pattern))
		memcpy((void *)(p + i), pattern, sizeof(pattern));
	for (i = 0; i < sizeof(buf); i++)
		sum += p[i];
	return sum;
}

/* Reading the uninitialised buffer is the point of the probe. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
static size_t __attribute__((noinline))
count_leftovers(void)
{
	unsigned char buf[SECRET_LEN];
	volatile unsigned char *p = buf;
	size_t i, hits = 0;

	for (i = 0; i + sizeof(pattern) <= sizeof(buf); i++)
		if (p[i] == 'f' && memcmp((const void *)(p + i), pattern,
		    sizeof(pattern) - 1) == 0)
			hits++;
	return hits;
}
#pragma GCC diagnostic pop

static void
test_wipe_survives_optimiser(void **state)
{
	size_t control, left;

	(void)state;
	/* First show the probe sees a secret that was not wiped... */
	assert_true(fill_only() > 0);
	control = count_leftovers();
	/* ...then that it sees none once the secret was wiped. */
	assert_true(fill_and_wipe() > 0);
	left = count_leftovers();
#if defined(__SANITIZE_ADDRESS__)
	(void)control;
	(void)left;
	skip();
#else
	assert_true(control > 0);
	assert_int_equal(left, 0);
#endif
}

/* The wipe helper itself: every byte of a heap secret becomes zero. */
static void
test_memzero_heap(void **state)
{
	unsigned char *p = malloc(64);
	size_t i;

	(void)state;
	assert_non_null(p);
	memset(p, 0xa5, 64);
	sodium_memzero(p, 64);
	for (i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_generate_sign_verify),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_wipe_survives_optimiser),
		cmocka_unit_test(test_memzero_heap),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

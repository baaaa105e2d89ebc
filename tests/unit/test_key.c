/*
 * lib/key.c: parsing, key ids and verification for every scheme, against
 * signatures made by securesystemslib / pyca cryptography
 * (tests/fixtures/sig/).
 */
#include "config.h"

#include "unit.h"

#include "lib/err.h"
#include "lib/key.h"

static const char *const schemes[] = {
	"sig/ed25519.json",
	"sig/ecdsa-sha2-nistp256.json",
	"sig/rsassa-pss-sha256-2048.json",
	"sig/rsassa-pss-sha256-3072.json",
};

static const enum ferry_key_kind kinds[] = {
	FERRY_KEY_ED25519,
	FERRY_KEY_ECDSA_P256,
	FERRY_KEY_RSA_PSS_SHA256,
	FERRY_KEY_RSA_PSS_SHA256,
};

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	assert_non_null(s);
	return s;
}

static void
check_fixture(const char *name, enum ferry_key_kind kind)
{
	json_t *fx = unit_fixture(name);
	struct ferry_key *key = NULL;
	unsigned char *msg, *msg2, *wmsg;
	size_t len, len2, wlen;
	char id[FERRY_KEYID_HEXLEN + 1];

	assert_int_equal(ferry_key_from_json(json_object_get(fx, "key"), &key,
	    NULL), 0);
	assert_int_equal(ferry_key_kind(key), kind);
	assert_int_equal(ferry_keyid(json_object_get(fx, "key"), id, NULL), 0);
	assert_string_equal(id, str(fx, "keyid"));

	msg = unit_unhex(str(fx, "message_hex"), &len);
	msg2 = unit_unhex(str(fx, "second_message_hex"), &len2);
	wmsg = unit_unhex(str(fx, "wrong_sig_message_hex"), &wlen);
	assert_int_equal(ferry_key_verify(key, msg, len, str(fx, "sig")), 0);
	assert_int_equal(ferry_key_verify(key, msg2, len2,
	    str(fx, "second_sig")), 0);
	/* A signature over one message never verifies another. */
	assert_int_equal(ferry_key_verify(key, msg2, len2, str(fx, "sig")),
	    FERRY_ERR_SIG_BAD);
	assert_int_not_equal(ferry_key_verify(key, wmsg, wlen,
	    str(fx, "wrong_sig")), 0);
	/* One bit of the message changed. */
	msg[0] ^= 1;
	assert_int_equal(ferry_key_verify(key, msg, len, str(fx, "sig")),
	    FERRY_ERR_SIG_BAD);
	msg[0] ^= 1;
	/* Not hex, odd length, empty. */
	assert_int_equal(ferry_key_verify(key, msg, len, "zz"),
	    FERRY_ERR_SIG_MALFORMED);
	assert_int_equal(ferry_key_verify(key, msg, len, "abc"),
	    FERRY_ERR_SIG_MALFORMED);
	assert_int_not_equal(ferry_key_verify(key, msg, len, ""), 0);
	free(msg);
	free(msg2);
	free(wmsg);
	ferry_key_free(key);
	json_decref(fx);
}

static void
test_fixtures(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		check_fixture(schemes[i], kinds[i]);
}

/* keytype "ecdsa-sha2-nistp256" is accepted as well as "ecdsa". */
static void
test_ecdsa_alt_keytype(void **state)
{
	json_t *fx = unit_fixture("sig/ecdsa-sha2-nistp256.json");
	struct ferry_key *a = NULL, *b = NULL;
	char id[FERRY_KEYID_HEXLEN + 1];

	(void)state;
	assert_int_equal(ferry_key_from_json(json_object_get(fx, "key"), &a,
	    NULL), 0);
	assert_int_equal(ferry_key_from_json(json_object_get(fx,
	    "alt_keytype_key"), &b, NULL), 0);
	assert_int_equal(ferry_key_kind(b), FERRY_KEY_ECDSA_P256);
	assert_true(ferry_key_equal(a, b));
	assert_int_equal(ferry_keyid(json_object_get(fx, "alt_keytype_key"),
	    id, NULL), 0);
	assert_string_equal(id, str(fx, "alt_keytype_keyid"));
	ferry_key_free(a);
	ferry_key_free(b);
	json_decref(fx);
}

/* A key of one scheme never verifies under another's name. */
static void
test_scheme_confusion(void **state)
{
	json_t *ed = unit_fixture("sig/ed25519.json");
	json_t *ec = unit_fixture("sig/ecdsa-sha2-nistp256.json");
	json_t *k;
	struct ferry_key *key = NULL;

	(void)state;
	/* An ECDSA PEM labelled rsassa-pss-sha256 is not an RSA key. */
	k = json_deep_copy(json_object_get(ec, "key"));
	json_object_set_new(k, "keytype", json_string("rsa"));
	json_object_set_new(k, "scheme", json_string("rsassa-pss-sha256"));
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	assert_int_equal(ferry_key_kind(key), FERRY_KEY_UNSUPPORTED);
	ferry_key_free(key);
	json_decref(k);
	/* ed25519 key with the ecdsa scheme. */
	k = json_deep_copy(json_object_get(ed, "key"));
	json_object_set_new(k, "scheme", json_string("ecdsa-sha2-nistp256"));
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	assert_int_equal(ferry_key_kind(key), FERRY_KEY_UNSUPPORTED);
	ferry_key_free(key);
	json_decref(k);
	json_decref(ed);
	json_decref(ec);
}

static void
test_unsupported_and_malformed(void **state)
{
	struct ferry_error err = { 0 };
	struct ferry_key *key = NULL;
	json_t *k;

	(void)state;
	/* Unknown types parse, never verify. */
	k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "x-future",
	    "scheme", "x-future", "keyval", "public", "00");
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	assert_int_equal(ferry_key_kind(key), FERRY_KEY_UNSUPPORTED);
	assert_int_equal(ferry_key_verify(key, (const unsigned char *)"m", 1,
	    "00"), FERRY_ERR_KEY_UNSUPPORTED);
	ferry_key_free(key);
	json_decref(k);
	/* keyval of an unknown type may have any shape. */
	k = json_pack("{s:s, s:s, s:{s:i}}", "keytype", "x", "scheme", "x",
	    "keyval", "n", 3);
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	ferry_key_free(key);
	json_decref(k);
	/* ed25519 with a short or non-hex key is unusable, not a crash. */
	k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ed25519",
	    "scheme", "ed25519", "keyval", "public", "abcd");
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	assert_int_equal(ferry_key_kind(key), FERRY_KEY_UNSUPPORTED);
	ferry_key_free(key);
	json_decref(k);
	/* PEM garbage. */
	k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "ecdsa",
	    "scheme", "ecdsa-sha2-nistp256", "keyval", "public",
	    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	assert_int_equal(ferry_key_kind(key), FERRY_KEY_UNSUPPORTED);
	ferry_key_free(key);
	json_decref(k);
	/* Structural errors name the field. */
	k = json_pack("{s:s, s:{s:s}}", "scheme", "ed25519", "keyval",
	    "public", "00");
	assert_int_equal(ferry_key_from_json(k, &key, &err), FERRY_ERR_KEY);
	assert_non_null(strstr(err.msg, "keytype"));
	json_decref(k);
	ferry_error_clear(&err);
	k = json_pack("{s:s, s:s, s:s}", "keytype", "ed25519", "scheme",
	    "ed25519", "keyval", "00");
	assert_int_equal(ferry_key_from_json(k, &key, &err), FERRY_ERR_KEY);
	assert_non_null(strstr(err.msg, "keyval"));
	json_decref(k);
	k = json_string("not a key");
	assert_int_equal(ferry_key_from_json(k, &key, NULL), FERRY_ERR_KEY);
	json_decref(k);
	ferry_key_free(NULL);
	assert_int_equal(ferry_key_kind(NULL), FERRY_KEY_UNSUPPORTED);
}

/* The key id is the sha256 of the canonical form, independent of order. */
static void
test_keyid_canonical(void **state)
{
	char a[FERRY_KEYID_HEXLEN + 1], b[FERRY_KEYID_HEXLEN + 1];
	json_t *k1, *k2;

	(void)state;
	k1 = json_loads("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\","
	    "\"keyval\":{\"public\":\"00\"}}", 0, NULL);
	k2 = json_loads("{ \"keyval\" : {\"public\":\"00\"}, \"scheme\":"
	    "\"ed25519\", \"keytype\":\"ed25519\"}", 0, NULL);
	assert_int_equal(ferry_keyid(k1, a, NULL), 0);
	assert_int_equal(ferry_keyid(k2, b, NULL), 0);
	assert_string_equal(a, b);
	/*
	 * sha256 of the canonical bytes
	 * {"keytype":"ed25519","keyval":{"public":"00"},"scheme":"ed25519"},
	 * computed independently with sha256sum.
	 */
	assert_string_equal(a,
	    "f9ae527b2fd2d931a87f86371d944323c4f73b54c325d0944a92731af733405c");
	json_decref(k1);
	json_decref(k2);
}

/* RSA keys below 2048 bits are refused. */
static void
test_rsa_small(void **state)
{
	/* A 1024-bit RSA SubjectPublicKeyInfo. */
	static const char pem[] =
	    "-----BEGIN PUBLIC KEY-----\n"
	    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQChmKzAcL2X94spSWANU9nyseWe\n"
	    "8tDHRrJO+H7KK/D8WaUBXPTZjke/aeerWHOoTtvKKEcPfpWTUmNrORzsAX9ADjqP\n"
	    "dkFO6sZIhi/5xHQse66o2SBoFhDkBI4THsPGFjkLCv2nzlY0jwOTCkSd47orE3k9\n"
	    "M4VHpND2vsuv0cFydQIDAQAB\n"
	    "-----END PUBLIC KEY-----\n";
	struct ferry_key *key = NULL;
	json_t *k;

	(void)state;
	k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "rsa", "scheme",
	    "rsassa-pss-sha256", "keyval", "public", pem);
	assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
	assert_int_equal(ferry_key_kind(key), FERRY_KEY_UNSUPPORTED);
	ferry_key_free(key);
	json_decref(k);
}

/*
 * The same 2048-bit modulus with public exponents 1, 2 and 65537.  With
 * e = 1 a "signature" is just the PSS encoding, which anyone can compute:
 * such keys must never verify anything.
 */
static const char rsa_e1[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIDANBgkqhkiG9w0BAQEFAAOCAQ0AMIIBCAKCAQEAmPE10l9VcgMwGFDFo4/V\n"
    "R5I6c2mU47+RGmHb4i5EFYuul7qU0O2oL49tBVhO+Ko4kidmWB4nocCKamPsJO3m\n"
    "pGtMskJKI9WWIhe+rdvElsuOgZc+C+zXsDiY0ZD569rMDLHinGWM2hSV5gr1k70E\n"
    "zw/WMPHynQ2plT9I8aCfdrWhcLM4OSYwWfKMEF0fsXwjkMGSz9OslK8PId22bK1K\n"
    "Jo0Rbs4XOPfZPZwXJBHiC49rDVSbbwNnWhYAo1oJmVDYNvZ1zIHnTvXo4l2UDtkE\n"
    "dZUxmF1dncn4GBjoEYkvkCvSPwgkEosvMwxcf9Cmo6RQZRMnDiaeDTfyp03kUua0\n"
    "OQIBAQ==\n"
    "-----END PUBLIC KEY-----\n";
static const char rsa_e2[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIDANBgkqhkiG9w0BAQEFAAOCAQ0AMIIBCAKCAQEAmPE10l9VcgMwGFDFo4/V\n"
    "R5I6c2mU47+RGmHb4i5EFYuul7qU0O2oL49tBVhO+Ko4kidmWB4nocCKamPsJO3m\n"
    "pGtMskJKI9WWIhe+rdvElsuOgZc+C+zXsDiY0ZD569rMDLHinGWM2hSV5gr1k70E\n"
    "zw/WMPHynQ2plT9I8aCfdrWhcLM4OSYwWfKMEF0fsXwjkMGSz9OslK8PId22bK1K\n"
    "Jo0Rbs4XOPfZPZwXJBHiC49rDVSbbwNnWhYAo1oJmVDYNvZ1zIHnTvXo4l2UDtkE\n"
    "dZUxmF1dncn4GBjoEYkvkCvSPwgkEosvMwxcf9Cmo6RQZRMnDiaeDTfyp03kUua0\n"
    "OQIBAg==\n"
    "-----END PUBLIC KEY-----\n";
static const char rsa_e65537[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmPE10l9VcgMwGFDFo4/V\n"
    "R5I6c2mU47+RGmHb4i5EFYuul7qU0O2oL49tBVhO+Ko4kidmWB4nocCKamPsJO3m\n"
    "pGtMskJKI9WWIhe+rdvElsuOgZc+C+zXsDiY0ZD569rMDLHinGWM2hSV5gr1k70E\n"
    "zw/WMPHynQ2plT9I8aCfdrWhcLM4OSYwWfKMEF0fsXwjkMGSz9OslK8PId22bK1K\n"
    "Jo0Rbs4XOPfZPZwXJBHiC49rDVSbbwNnWhYAo1oJmVDYNvZ1zIHnTvXo4l2UDtkE\n"
    "dZUxmF1dncn4GBjoEYkvkCvSPwgkEosvMwxcf9Cmo6RQZRMnDiaeDTfyp03kUua0\n"
    "OQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static void
test_rsa_exponent(void **state)
{
	static const struct { const char *pem; enum ferry_key_kind kind; } v[] = {
		{ rsa_e1, FERRY_KEY_UNSUPPORTED },
		{ rsa_e2, FERRY_KEY_UNSUPPORTED },
		{ rsa_e65537, FERRY_KEY_RSA_PSS_SHA256 },
	};
	struct ferry_key *key = NULL;
	size_t i;
	json_t *k;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		k = json_pack("{s:s, s:s, s:{s:s}}", "keytype", "rsa", "scheme",
		    "rsassa-pss-sha256", "keyval", "public", v[i].pem);
		assert_int_equal(ferry_key_from_json(k, &key, NULL), 0);
		assert_int_equal(ferry_key_kind(key), v[i].kind);
		ferry_key_free(key);
		json_decref(k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_ecdsa_alt_keytype),
		cmocka_unit_test(test_scheme_confusion),
		cmocka_unit_test(test_unsupported_and_malformed),
		cmocka_unit_test(test_keyid_canonical),
		cmocka_unit_test(test_rsa_small),
		cmocka_unit_test(test_rsa_exponent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * TUF public keys: parsing, key ids, and signature verification.
 *
 * Supported (keytype / scheme / keyval.public):
 *   ed25519 / ed25519 / 64 hex digits of the raw key          (libsodium)
 *   ecdsa or ecdsa-sha2-nistp256 / ecdsa-sha2-nistp256 / PEM SPKI, P-256,
 *       signatures DER-encoded, SHA-256                       (libcrypto)
 *   rsa / rsassa-pss-sha256 / PEM SPKI, signatures RSASSA-PSS with
 *       SHA-256 and MGF1-SHA-256, any salt length             (libcrypto)
 * Any other type or scheme parses as an unsupported key, which can never
 * produce a valid signature: threshold counting skips it instead of
 * failing, as the specification asks.
 */
#ifndef FERRY_KEY_H
#define FERRY_KEY_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

#define FERRY_KEYID_HEXLEN 64

enum ferry_key_kind {
	FERRY_KEY_UNSUPPORTED = 0,
	FERRY_KEY_ED25519,
	FERRY_KEY_ECDSA_P256,
	FERRY_KEY_RSA_PSS_SHA256,
};

struct ferry_key;

/*
 * Parse the TUF key object k.  A key whose keytype, scheme and
 * keyval.public are strings always parses; if its type or scheme is not
 * supported, or its material does not decode, the key's kind is
 * FERRY_KEY_UNSUPPORTED.  Only a structurally malformed object fails
 * (FERRY_ERR_KEY, with the field in err).  The caller owns *out.
 */
int ferry_key_from_json(const json_t *k, struct ferry_key **out,
    struct ferry_error *err);
void ferry_key_free(struct ferry_key *key);

enum ferry_key_kind ferry_key_kind(const struct ferry_key *key);

/* Whether a and b are the same public key (same kind and material). */
int ferry_key_equal(const struct ferry_key *a, const struct ferry_key *b);

/*
 * Verify sighex, a hex signature, over msg.  0 if valid;
 * FERRY_ERR_KEY_UNSUPPORTED, FERRY_ERR_SIG_MALFORMED or FERRY_ERR_SIG_BAD.
 */
int ferry_key_verify(const struct ferry_key *key, const unsigned char *msg,
    size_t len, const char *sighex);

/*
 * The key id of key object k per the specification: the hex SHA-256 of
 * its canonical JSON.  out has room for FERRY_KEYID_HEXLEN + 1 bytes.
 */
int ferry_keyid(const json_t *k, char *out, struct ferry_error *err);

#endif

/*
 * Ed25519 signing keys.
 *
 * The secret lives in sodium_malloc() memory (guard pages, locked, never
 * swapped) that is PROT_NOACCESS except for the instant of a signature,
 * and is wiped by ferry_seckey_free().  Nothing here reads or writes a
 * file; encrypted storage of keys belongs to the signer.
 */
#ifndef FERRY_SECKEY_H
#define FERRY_SECKEY_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "key.h"

#define FERRY_SEED_BYTES 32
#define FERRY_ED25519_SIG_HEXLEN 128

struct ferry_seckey;

/* A fresh random key.  The caller owns *out. */
int ferry_seckey_generate(struct ferry_seckey **out);

/*
 * The key derived from a 32-byte seed.  The caller keeps ownership of
 * seed and should wipe it.
 */
int ferry_seckey_from_seed(const unsigned char *seed, size_t seedlen,
    struct ferry_seckey **out);

/* Wipe and free; accepts NULL. */
void ferry_seckey_free(struct ferry_seckey *k);

/*
 * The public half as a new TUF key object
 * {"keytype":"ed25519","scheme":"ed25519","keyval":{"public":HEX}}.
 */
int ferry_seckey_public_json(const struct ferry_seckey *k, json_t **out);

/* The key id of the public half (FERRY_KEYID_HEXLEN hex digits). */
const char *ferry_seckey_keyid(const struct ferry_seckey *k);

/*
 * Sign len bytes at msg; write the hex signature (FERRY_ED25519_SIG_HEXLEN
 * digits and a NUL) to sighex.
 */
int ferry_seckey_sign(struct ferry_seckey *k, const unsigned char *msg,
    size_t len, char *sighex);

/*
 * Call fn with the FERRY_SEED_BYTES seed the key derives from, readable
 * only for the duration of the call (the key file code encrypts it from
 * there); fn must not keep the pointer or copy the seed outside
 * sodium_malloc() memory.  Returns what fn returns, or FERRY_ERR_CRYPTO
 * if the memory could not be made readable or locked again.
 */
int ferry_seckey_with_seed(struct ferry_seckey *k,
    int (*fn)(const unsigned char *seed, size_t len, void *arg), void *arg);

/* The raw 32-byte public key. */
const unsigned char *ferry_seckey_public(const struct ferry_seckey *k);

#endif

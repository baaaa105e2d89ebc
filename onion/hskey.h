/*
 * Onion service keys and names (tor's rend-spec-v3): the service's
 * ed25519 identity key, the v3 address derived from it, and the x25519
 * keys of client authorization.
 *
 * The service key is kept in tor's own file format (the
 * hs_ed25519_secret_key file of a HiddenServiceDir: a 32-byte header and
 * the 64-byte expanded secret key), so that a directory Ferry made can be
 * handed to a tor that runs the service itself, and the other way round.
 * In memory it lives in sodium_malloc() pages, inaccessible between uses
 * and wiped on free.
 */
#ifndef FERRY_ONION_HSKEY_H
#define FERRY_ONION_HSKEY_H

#include <stddef.h>

#include "lib/err.h"

#define ONION_ADDR_LEN 56		/* base32 characters, no ".onion" */
#define ONION_KEYFILE_LEN 96		/* header and expanded key */
#define ONION_X25519_B32_LEN 52		/* a 32-byte key in base32 */
/* "ED25519-V3:" and the base64 of 64 bytes, with its NUL. */
#define ONION_KEY_BLOB_LEN (11 + 88 + 1)

struct onion_hskey;

/* A new random service key. */
int onion_hskey_generate(struct onion_hskey **out, struct ferry_error *err);

/*
 * Load the key file at path.  It must be a regular file of exactly
 * ONION_KEYFILE_LEN bytes with tor's header, readable and writable by its
 * owner only; anything else fails naming the file and what is wrong.
 */
int onion_hskey_load(const char *path, struct onion_hskey **out,
    struct ferry_error *err);

/*
 * Write k to path (mode 0600), which must not exist yet, atomically;
 * next to it write "hostname" (the address and ".onion") as tor does.
 */
int onion_hskey_save_new(const struct onion_hskey *k, const char *path,
    struct ferry_error *err);

void onion_hskey_free(struct onion_hskey *k);

/* The service's address: ONION_ADDR_LEN lowercase characters and NUL. */
const char *onion_hskey_address(const struct onion_hskey *k);

/*
 * The key as ADD_ONION takes it, "ED25519-V3:BASE64", into out (at least
 * ONION_KEY_BLOB_LEN bytes, which the caller wipes: sodium_malloc them).
 */
int onion_hskey_blob(struct onion_hskey *k, char *out, size_t outlen);

/*
 * Check a v3 onion address: host is NAME or NAME.onion (either case,
 * and a trailing dot is not allowed), NAME being 56 base32 characters
 * whose version byte is 3, whose checksum holds, and whose key is a valid
 * ed25519 point.  On success the lowercase NAME (without ".onion") goes
 * to canon, if not NULL (ONION_ADDR_LEN + 1 bytes).  FERRY_ERR_INVALID_ARG
 * with a message saying which part is wrong.
 */
int onion_address_check(const char *host, char *canon,
    struct ferry_error *err);

/* Whether host ends in ".onion" (either case): a name only Tor resolves. */
int onion_is_onion_host(const char *host);

/*
 * Client authorization (v3): a client key is written
 * "descriptor:x25519:BASE32" by tor on the service side.  Parse one, or
 * the bare BASE32, into pub (32 bytes).  FERRY_ERR_INVALID_ARG otherwise.
 */
int onion_client_key_parse(const char *s, unsigned char pub[32],
    struct ferry_error *err);

/* The base32 (upper case) of a 32-byte key: ONION_X25519_B32_LEN + 1. */
void onion_client_key_b32(const unsigned char key[32],
    char out[ONION_X25519_B32_LEN + 1]);

/*
 * A new client keypair: pub for the service's authorized_clients, priv
 * for the client's ClientOnionAuthDir.  priv is the caller's to wipe.
 */
void onion_client_keypair(unsigned char pub[32], unsigned char priv[32]);

/*
 * RFC 4648 base32 without padding: encode len bytes into out (room for
 * ceil(len * 8 / 5) + 1), in lower case unless upper; decode either case
 * into out (exactly outlen bytes must come out).
 */
void onion_base32_encode(const unsigned char *in, size_t len, char *out,
    int upper);
int onion_base32_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen);

#endif

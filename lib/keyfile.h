/*
 * Private key files, encrypted at rest.
 *
 * A key file is a JSON object (schemas/key.schema.json): the public key and
 * its TUF key id in the clear, the Ed25519 seed encrypted with
 * XChaCha20-Poly1305 (libsodium's IETF AEAD construction) under a key
 * derived from a passphrase with Argon2id, and the Argon2id parameters and
 * salt that derivation used.  Everything in the file except the ciphertext
 * is the AEAD's additional data, as canonical JSON: changing the key id,
 * the public key, the label or the cost parameters makes decryption fail
 * like a wrong passphrase does.  After decryption the public key derived
 * from the seed must equal the one the file states.
 *
 * Passphrases, derived keys and seeds live only in sodium_malloc() memory
 * and are wiped before any function here returns.
 */
#ifndef FERRY_KEYFILE_H
#define FERRY_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "seckey.h"

/* The largest key file read (a real one is under 1 kB). */
#define FERRY_KEYFILE_MAX_LEN 65536

/*
 * Argon2id cost.  The named levels are libsodium's: "sensitive" (the
 * default: 4 passes over 1 GiB, several seconds), "moderate" (3 over
 * 256 MiB), "interactive" (2 over 64 MiB, the floor: files asking for less
 * are refused, as are files asking for more than FERRY_KDF_MAX_*, so that
 * a hostile file cannot make the signer allocate without bound).
 */
struct ferry_kdf {
	uint64_t opslimit;
	uint64_t memlimit;	/* bytes */
};

#define FERRY_KDF_MAX_OPSLIMIT 64
#define FERRY_KDF_MAX_MEMLIMIT ((uint64_t)4 << 30)

/* The named level ("sensitive", "moderate", "interactive"), or -1. */
int ferry_kdf_from_name(const char *name, struct ferry_kdf *out);

/* The level's name if kdf is one of them, else NULL. */
const char *ferry_kdf_name(const struct ferry_kdf *kdf);

/*
 * Encrypt k under the passphrase (passlen bytes, no NUL needed) into a new
 * key file document; created is written as the creation time (seconds
 * since the epoch) and label, if not NULL, as a free-form note that is
 * authenticated but not secret.  The caller owns *out.
 */
int ferry_keyfile_seal(struct ferry_seckey *k, const char *pass,
    size_t passlen, const struct ferry_kdf *kdf, const char *label,
    int64_t created, json_t **out, struct ferry_error *err);

/*
 * Check a document's shape and consistency without the passphrase: the
 * fields, their sizes, the KDF limits, and that keyid is the key id of the
 * stated public key.  Fills *kdf if not NULL.
 */
int ferry_keyfile_check(const json_t *doc, struct ferry_kdf *kdf,
    struct ferry_error *err);

/*
 * Decrypt doc with the passphrase.  FERRY_ERR_PASSPHRASE if the passphrase
 * is wrong or the file was altered (the two cannot be told apart);
 * FERRY_ERR_KEYFILE if the file is malformed or its public key is not the
 * one its seed gives.  The caller owns *out.
 */
int ferry_keyfile_open(const json_t *doc, const char *pass, size_t passlen,
    struct ferry_seckey **out, struct ferry_error *err);

/*
 * The public half, as TUF writes a key in root or delegations
 * ({"keytype", "scheme", "keyval": {"public"}}), and its key id (borrowed
 * from doc).  The caller owns *out.
 */
int ferry_keyfile_public(const json_t *doc, json_t **out, const char **keyid,
    struct ferry_error *err);

/* Read and check a key file (bounded, duplicate keys refused). */
int ferry_keyfile_read(const char *path, json_t **out,
    struct ferry_error *err);

/*
 * Write a key file with mode 0600, atomically.  With replace 0 an existing
 * file is never touched (FERRY_ERR_IO, errno EEXIST); with replace 1 it is
 * replaced in one rename, so a crash leaves the old file or the new one.
 */
int ferry_keyfile_write(const char *path, const json_t *doc, int replace,
    struct ferry_error *err);

#endif

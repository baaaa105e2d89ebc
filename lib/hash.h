/*
 * Streaming digests (OpenSSL libcrypto, which uses the CPU's SHA
 * extensions where present), and checks of data against the "hashes"
 * objects of TUF metadata.
 */
#ifndef FERRY_HASH_H
#define FERRY_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

#define FERRY_HASH_MAX 64	/* bytes in the largest digest (sha512) */

enum ferry_hash_alg {
	FERRY_HASH_SHA224,
	FERRY_HASH_SHA256,
	FERRY_HASH_SHA384,
	FERRY_HASH_SHA512,
};

/* The algorithm TUF names name ("sha256", ...); FERRY_ERR_HASH_UNSUPPORTED. */
int ferry_hash_alg_from_name(const char *name, enum ferry_hash_alg *out);
const char *ferry_hash_alg_name(enum ferry_hash_alg alg);
/* Digest length in bytes. */
size_t ferry_hash_len(enum ferry_hash_alg alg);

struct ferry_hash;

int ferry_hash_new(enum ferry_hash_alg alg, struct ferry_hash **out);
int ferry_hash_update(struct ferry_hash *h, const void *buf, size_t len);
/*
 * Write the digest to out (room for FERRY_HASH_MAX bytes); the context
 * may not be updated again.
 */
int ferry_hash_final(struct ferry_hash *h, unsigned char *out, size_t *outlen);
void ferry_hash_free(struct ferry_hash *h);

/* One-shot digest of a buffer. */
int ferry_hash_buf(enum ferry_hash_alg alg, const void *buf, size_t len,
    unsigned char *out, size_t *outlen);

/*
 * A set of digests computed together over one stream, one per entry of a
 * TUF "hashes" object, so a target is read once however many algorithms
 * its metadata lists.
 */
struct ferry_hashset;

/*
 * Prepare to check data against hashes, a JSON object mapping algorithm
 * names to hex digests.  Every listed algorithm must be supported: a
 * digest that cannot be checked is a failure, not a pass
 * (FERRY_ERR_HASH_UNSUPPORTED).  An empty object is FERRY_ERR_META_FIELD.
 */
int ferry_hashset_new(const json_t *hashes, struct ferry_hashset **out,
    struct ferry_error *err);
int ferry_hashset_update(struct ferry_hashset *s, const void *buf, size_t len);
/* 0 if every digest matches, else FERRY_ERR_HASH_MISMATCH naming it. */
int ferry_hashset_verify(struct ferry_hashset *s, struct ferry_error *err);
void ferry_hashset_free(struct ferry_hashset *s);

/* Check a buffer against hashes in one call. */
int ferry_hashes_verify_buf(const json_t *hashes, const void *buf, size_t len,
    struct ferry_error *err);

#endif

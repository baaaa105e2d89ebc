/* Hexadecimal encoding, as TUF writes digests, key ids and signatures. */
#ifndef FERRY_HEX_H
#define FERRY_HEX_H

#include <stddef.h>

/*
 * Write the lowercase hex of len bytes at in to out, which must have room
 * for 2 * len + 1 bytes; out is NUL-terminated.
 */
void ferry_hex_encode(const unsigned char *in, size_t len, char *out);

/*
 * Decode the hex string in (exactly inlen characters, either case) into
 * out, which has room for outcap bytes.  Fails (FERRY_ERR_INVALID_ARG) on
 * an odd length, a non-hex character, or too little room; on success
 * *outlen = inlen / 2.
 */
int ferry_hex_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outcap, size_t *outlen);

#endif

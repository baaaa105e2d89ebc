/*
 * JSON input and canonical output.
 *
 * Parsing goes through jansson with Ferry's policy: duplicate object keys
 * are an error (two readers could otherwise see two different documents),
 * NUL bytes inside strings are kept so canonical output matches other
 * implementations byte for byte, and the input has a size limit known
 * before parsing starts.
 *
 * Canonical output is OLPC canonical JSON as securesystemslib, go-tuf and
 * python-tuf sign it: no whitespace; strings escape only '"' and '\\' and
 * carry every other byte raw; integers only; object keys sorted bytewise
 * by their UTF-8 bytes; arrays in order.  It is always re-encoded from a
 * parsed tree, never from input text.
 */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

/* Deepest nesting the canonical encoder accepts. */
#define FERRY_JSON_MAX_DEPTH 256

/*
 * Parse len bytes at buf as one JSON document.  On success *out holds a
 * new reference the caller must json_decref().  Errors: FERRY_ERR_JSON with
 * the line and column in err, FERRY_ERR_TOO_LARGE when len > max_len.
 */
int ferry_json_parse(const void *buf, size_t len, size_t max_len, json_t **out,
    struct ferry_error *err);

/*
 * Read and parse the file at path, at most max_len bytes.  As
 * ferry_json_parse(), plus FERRY_ERR_IO (errno set) when it cannot be read.
 * Details do not repeat path: the caller names the file.
 */
int ferry_json_parse_file(const char *path, size_t max_len, json_t **out,
    struct ferry_error *err);

/*
 * Encode v canonically.  On success *out is a malloc'd buffer of *outlen
 * bytes, followed by a NUL not counted in *outlen; the caller frees it.
 * Errors: FERRY_ERR_JSON_FLOAT for a real number, FERRY_ERR_JSON_DEPTH,
 * FERRY_ERR_NOMEM.  err names the offending place as a JSON path.
 */
int ferry_json_canonical(const json_t *v, unsigned char **out, size_t *outlen,
    struct ferry_error *err);

/*
 * As ferry_json_canonical(), for a value that sits inside a larger
 * document: where is its JSON path there ("$.signed"), used in error
 * messages, and depth the number of containers around it, so that the
 * document's depth limit holds for the part.
 */
int ferry_json_canonical_at(const json_t *v, const char *where, int depth,
    unsigned char **out, size_t *outlen, struct ferry_error *err);

/*
 * Encode v as the JSON text Ferry writes to files: compact, object keys
 * sorted bytewise, non-ASCII as raw UTF-8, control characters escaped.
 * Canonical JSON cannot serve here: it writes control bytes raw, which no
 * JSON parser accepts, so a file holding one could never be read back.
 * The two forms are identical whenever no string holds a control byte.
 * Output and errors as for ferry_json_canonical(); reals are refused too,
 * so that what is written can always be signed.
 */
int ferry_json_serialize(const json_t *v, unsigned char **out, size_t *outlen,
    struct ferry_error *err);

/*
 * The string value of v if v is a JSON string without embedded NUL bytes,
 * else NULL.  Every string whose meaning Ferry interprets (key ids, role
 * names, paths) is read through this, so a NUL cannot truncate it.
 */
const char *ferry_json_cstr(const json_t *v);

#endif

/*
 * Fuzz target: JSON parsing, canonical encoding and the file form
 * (lib/json.c).
 *
 * Input: arbitrary bytes, parsed with ferry_json_parse().  Checked, with
 * abort() on any violation so that libFuzzer reports it as a crash:
 *
 *  1. The size limit: with max_len one below the input's length the parse
 *     fails with FERRY_ERR_TOO_LARGE and leaves *out alone.
 *  2. A failed parse is FERRY_ERR_JSON (or FERRY_ERR_NOMEM), nothing else.
 *  3. ferry_json_cstr() is NULL exactly for non-strings and for strings
 *     with an embedded NUL.
 *  4. ferry_json_canonical() of a parsed tree succeeds, or fails with
 *     FERRY_ERR_JSON_FLOAT or FERRY_ERR_JSON_DEPTH -- and with which one is
 *     predicted by a walk of the tree: it must fail when, and only when,
 *     the tree has a real number or more than FERRY_JSON_MAX_DEPTH levels
 *     of arrays and objects nested in one another.
 *  5. On success the bytes equal those of an independent reference encoder
 *     below (a second implementation of the rules in lib/json.h), and the
 *     buffer carries the promised NUL after *outlen bytes.
 *  6. Idempotence: the canonical bytes parse again, to a tree equal to the
 *     first (json_equal), whose canonical form is byte-identical.
 *  7. ferry_json_serialize(), the form written to files, fails exactly when
 *     the canonical encoder does, with the same code; its output parses as
 *     it is to an equal tree, serialises again to the same bytes, and is
 *     byte-identical to the canonical form when that holds no control
 *     byte (as lib/json.h promises).
 *
 * Raw control bytes and check 6.  Canonical JSON escapes only '"' and
 * '\\' and writes every other byte raw, so a string holding U+0000..U+001F
 * (written "\n", "\u0001", "\u0000" in the input) comes out as a raw byte
 * below 0x20.  jansson, like RFC 8259, refuses raw control characters in
 * strings ("control character 0x1"), so such canonical output cannot be
 * parsed back as it stands.  Canonical output has no whitespace, so every
 * byte below 0x20 in it is inside a string; rewriting each such byte as
 * the escape \u00XX therefore gives a document that denotes exactly the
 * same tree, and that one is what check 6 parses (JSON_ALLOW_NUL makes
 * \u0000 acceptable; object keys never hold NUL, jansson refuses it on the
 * first parse).  Output with no control byte is parsed as it is.  So the
 * round trip is checked for every input, control bytes or not.  (The file
 * form of check 7 escapes control characters itself and is parsed as it
 * is.)
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/json.h"

/* Far above libFuzzer's -max_len; replay.c caps inputs at 16 MiB too. */
#define FUZZ_JSON_MAX (16u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A growable byte buffer; oom is sticky so callers check once at the end. */
struct buf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void
buf_put(struct buf *b, const void *p, size_t n)
{
	unsigned char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (n > b->cap - b->len) {
		ncap = b->cap == 0 ? 128 : b->cap;
		while (ncap - b->len < n) {
			if (ncap > SIZE_MAX / 2) {
				b->oom = 1;
				return;
			}
			ncap *= 2;
		}
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_byte(struct buf *b, unsigned char c)
{
	buf_put(b, &c, 1);
}

/*
 * What the encoder must report for a tree: a walk in no particular order
 * (unlike the encoder, which stops at its first error), so when both kinds
 * of error are present either code is right.
 */
struct expect {
	int has_real;	/* a real at a depth the encoder reaches */
	int too_deep;	/* more than FERRY_JSON_MAX_DEPTH nested containers */
};

static void
walk(json_t *v, int depth, struct expect *e)
{
	const char *s, *k;
	json_t *x;
	size_t i;

	/*
	 * "Deepest nesting the canonical encoder accepts": at most
	 * FERRY_JSON_MAX_DEPTH containers inside one another.  depth counts
	 * the containers around v, so a container at depth MAX would be
	 * level MAX + 1; scalars add no level.
	 */
	if ((json_is_object(v) || json_is_array(v)) &&
	    depth >= FERRY_JSON_MAX_DEPTH) {
		e->too_deep = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, k, x)
			walk(x, depth + 1, e);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, x)
			walk(x, depth + 1, e);
		break;
	case JSON_STRING:
		/* Check 3: NULL exactly when the string holds a NUL. */
		s = ferry_json_cstr(v);
		if ((s == NULL) != (memchr(json_string_value(v), '\0',
		    json_string_length(v)) != NULL))
			abort();
		break;
	case JSON_REAL:
		e->has_real = 1;
		break;
	case JSON_INTEGER:
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		break;
	}
	if (!json_is_string(v) && ferry_json_cstr(v) != NULL)
		abort();
}

/*
 * The reference encoder: a deliberately separate implementation of the
 * canonical form of lib/json.h (no whitespace; strings escape only '"' and
 * '\\'; keys sorted by their bytes as unsigned, a proper prefix first;
 * integers in plain decimal).  Called only on trees the walk found
 * encodable.
 */
struct rkey {
	const unsigned char *k;
	size_t n;
	json_t *v;
};

static int
rkey_cmp(const void *a, const void *b)
{
	const struct rkey *x = a, *y = b;
	size_t i;

	for (i = 0; i < x->n && i < y->n; i++) {
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	}
	if (x->n == y->n)
		return 0;
	return x->n < y->n ? -1 : 1;
}

static void
ref_string(struct buf *b, const unsigned char *s, size_t n)
{
	size_t i;

	buf_byte(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_byte(b, '\\');
		buf_byte(b, s[i]);
	}
	buf_byte(b, '"');
}

static void
ref_integer(struct buf *b, json_int_t x)
{
	char d[32];
	size_t n = 0;
	/* Through unsigned, so the most negative value has a magnitude. */
	unsigned long long m = x < 0 ? 0ULL - (unsigned long long)x :
	    (unsigned long long)x;

	do {
		d[n++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m != 0);
	if (x < 0)
		buf_byte(b, '-');
	while (n > 0)
		buf_byte(b, (unsigned char)d[--n]);
}

static void
ref_encode(struct buf *b, json_t *v)
{
	struct rkey *keys;
	void *it;
	size_t i, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		n = json_object_size(v);
		if (n == 0) {
			buf_put(b, "{}", 2);
			return;
		}
		if ((keys = calloc(n, sizeof(*keys))) == NULL) {
			b->oom = 1;
			return;
		}
		i = 0;
		for (it = json_object_iter(v); it != NULL && i < n;
		    it = json_object_iter_next(v, it), i++) {
			keys[i].k = (const unsigned char *)
			    json_object_iter_key(it);
			keys[i].n = json_object_iter_key_len(it);
			keys[i].v = json_object_iter_value(it);
		}
		if (i != n)
			abort();
		qsort(keys, n, sizeof(*keys), rkey_cmp);
		buf_byte(b, '{');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_byte(b, ',');
			ref_string(b, keys[i].k, keys[i].n);
			buf_byte(b, ':');
			ref_encode(b, keys[i].v);
		}
		buf_byte(b, '}');
		free(keys);
		return;
	case JSON_ARRAY:
		buf_byte(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				buf_byte(b, ',');
			ref_encode(b, json_array_get(v, i));
		}
		buf_byte(b, ']');
		return;
	case JSON_STRING:
		ref_string(b, (const unsigned char *)json_string_value(v),
		    json_string_length(v));
		return;
	case JSON_INTEGER:
		ref_integer(b, json_integer_value(v));
		return;
	case JSON_TRUE:
		buf_put(b, "true", 4);
		return;
	case JSON_FALSE:
		buf_put(b, "false", 5);
		return;
	case JSON_NULL:
		buf_put(b, "null", 4);
		return;
	case JSON_REAL:
		break;
	}
	abort();	/* the walk promised no reals */
}

/*
 * The canonical bytes c with every byte below 0x20 written as \u00XX
 * (see the comment at the top for why that is the same document).
 */
static void
escape_controls(struct buf *b, const unsigned char *c, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char e[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] >= 0x20) {
			buf_byte(b, c[i]);
			continue;
		}
		e[4] = (unsigned char)hex[c[i] >> 4];
		e[5] = (unsigned char)hex[c[i] & 0x0f];
		buf_put(b, e, sizeof(e));
	}
}

static int
has_control(const unsigned char *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] < 0x20)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_error err;
	struct expect ex = { 0, 0 };
	struct buf ref = { NULL, 0, 0, 0 }, esc = { NULL, 0, 0, 0 };
	unsigned char *c1 = NULL, *c2 = NULL, *f1 = NULL, *f2 = NULL;
	size_t n1 = 0, n2 = 0, fn1 = 0, fn2 = 0;
	json_t *v = NULL, *v2 = NULL, *v3 = NULL;
	int r, rs;

	/* Check 1: the limit is enforced before parsing, *out untouched. */
	if (size > 0) {
		ferry_error_clear(&err);
		if (ferry_json_parse(data, size, size - 1, &v, &err) !=
		    FERRY_ERR_TOO_LARGE || v != NULL)
			abort();
	}

	/* Check 2. */
	ferry_error_clear(&err);
	r = ferry_json_parse(data, size, FUZZ_JSON_MAX, &v, &err);
	if (r != 0) {
		if ((r != FERRY_ERR_JSON && r != FERRY_ERR_NOMEM) || v != NULL)
			abort();
		return 0;
	}
	if (v == NULL)
		abort();

	/* Checks 3 and 4. */
	walk(v, 0, &ex);
	ferry_error_clear(&err);
	r = ferry_json_canonical(v, &c1, &n1, &err);
	ferry_error_clear(&err);
	rs = ferry_json_serialize(v, &f1, &fn1, &err);
	if (r == FERRY_ERR_NOMEM || rs == FERRY_ERR_NOMEM)
		goto out;
	/* Check 7, first part: both encoders refuse the same trees. */
	if (rs != r)
		abort();
	if (ex.has_real || ex.too_deep) {
		if (r == 0 ||
		    (r == FERRY_ERR_JSON_FLOAT && !ex.has_real) ||
		    (r == FERRY_ERR_JSON_DEPTH && !ex.too_deep) ||
		    (r != FERRY_ERR_JSON_FLOAT && r != FERRY_ERR_JSON_DEPTH))
			abort();
		goto out;
	}
	if (r != 0 || c1 == NULL || c1[n1] != '\0' || f1 == NULL ||
	    f1[fn1] != '\0')
		abort();

	/* Check 5: the reference encoder agrees byte for byte. */
	ref_encode(&ref, v);
	if (ref.oom)
		goto out;
	if (ref.len != n1 || memcmp(ref.p, c1, n1) != 0)
		abort();

	/* Check 6: parse back (escaping raw control bytes), re-encode. */
	ferry_error_clear(&err);
	if (has_control(c1, n1)) {
		escape_controls(&esc, c1, n1);
		if (esc.oom)
			goto out;
		r = ferry_json_parse(esc.p, esc.len, SIZE_MAX, &v2, &err);
	} else {
		r = ferry_json_parse(c1, n1, SIZE_MAX, &v2, &err);
	}
	if (r == FERRY_ERR_NOMEM)
		goto out;
	if (r != 0 || !json_equal(v, v2))
		abort();
	ferry_error_clear(&err);
	r = ferry_json_canonical(v2, &c2, &n2, &err);
	if (r == FERRY_ERR_NOMEM)
		goto out;
	if (r != 0 || n2 != n1 || memcmp(c1, c2, n1) != 0)
		abort();

	/* Check 7: the file form. */
	if (!has_control(c1, n1) && (fn1 != n1 || memcmp(f1, c1, n1) != 0))
		abort();
	ferry_error_clear(&err);
	r = ferry_json_parse(f1, fn1, SIZE_MAX, &v3, &err);
	if (r == FERRY_ERR_NOMEM)
		goto out;
	if (r != 0 || !json_equal(v, v3))
		abort();
	ferry_error_clear(&err);
	r = ferry_json_serialize(v3, &f2, &fn2, &err);
	if (r == FERRY_ERR_NOMEM)
		goto out;
	if (r != 0 || fn2 != fn1 || memcmp(f1, f2, fn1) != 0)
		abort();
 out:
	free(c1);
	free(c2);
	free(f1);
	free(f2);
	free(ref.p);
	free(esc.p);
	json_decref(v);
	json_decref(v2);
	json_decref(v3);
	return 0;
}

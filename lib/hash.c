#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "hash.h"
#include "hex.h"
#include "json.h"

static const struct {
	const char *name;
	size_t len;
} algs[] = {
	[FERRY_HASH_SHA224] = { "sha224", 28 },
	[FERRY_HASH_SHA256] = { "sha256", 32 },
	[FERRY_HASH_SHA384] = { "sha384", 48 },
	[FERRY_HASH_SHA512] = { "sha512", 64 },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

struct ferry_hash {
	EVP_MD_CTX *ctx;
	enum ferry_hash_alg alg;
};

static const EVP_MD *
alg_md(enum ferry_hash_alg alg)
{
	switch (alg) {
	case FERRY_HASH_SHA224: return EVP_sha224();
	case FERRY_HASH_SHA256: return EVP_sha256();
	case FERRY_HASH_SHA384: return EVP_sha384();
	case FERRY_HASH_SHA512: return EVP_sha512();
	}
	return NULL;
}

int
ferry_hash_alg_from_name(const char *name, enum ferry_hash_alg *out)
{
	size_t i;

	for (i = 0; name != NULL && i < NALGS; i++) {
		if (strcmp(name, algs[i].name) == 0) {
			*out = (enum ferry_hash_alg)i;
			return 0;
		}
	}
	return FERRY_ERR_HASH_UNSUPPORTED;
}

const char *
ferry_hash_alg_name(enum ferry_hash_alg alg)
{
	return (size_t)alg < NALGS ? algs[alg].name : "unknown";
}

size_t
ferry_hash_len(enum ferry_hash_alg alg)
{
	return (size_t)alg < NALGS ? algs[alg].len : 0;
}

int
ferry_hash_new(enum ferry_hash_alg alg, struct ferry_hash **out)
{
	struct ferry_hash *h;
	const EVP_MD *md;

	if (out == NULL || (md = alg_md(alg)) == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return FERRY_ERR_NOMEM;
	h->alg = alg;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL) {
		free(h);
		return FERRY_ERR_NOMEM;
	}
	if (EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
		ferry_hash_free(h);
		return FERRY_ERR_CRYPTO;
	}
	*out = h;
	return 0;
}

int
ferry_hash_update(struct ferry_hash *h, const void *buf, size_t len)
{
	if (h == NULL || (buf == NULL && len > 0))
		return FERRY_ERR_INVALID_ARG;
	if (len > 0 && EVP_DigestUpdate(h->ctx, buf, len) != 1)
		return FERRY_ERR_CRYPTO;
	return 0;
}

int
ferry_hash_final(struct ferry_hash *h, unsigned char *out, size_t *outlen)
{
	unsigned int n = 0;

	if (h == NULL || out == NULL || outlen == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1)
		return FERRY_ERR_CRYPTO;
	*outlen = n;
	return 0;
}

void
ferry_hash_free(struct ferry_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
ferry_hash_buf(enum ferry_hash_alg alg, const void *buf, size_t len,
    unsigned char *out, size_t *outlen)
{
	const EVP_MD *md = alg_md(alg);
	unsigned int n = 0;

	if (md == NULL || out == NULL || outlen == NULL ||
	    (buf == NULL && len > 0))
		return FERRY_ERR_INVALID_ARG;
	if (EVP_Digest(buf, len, out, &n, md, NULL) != 1)
		return FERRY_ERR_CRYPTO;
	*outlen = n;
	return 0;
}

struct hs_entry {
	struct ferry_hash *h;
	const char *name;
	unsigned char want[FERRY_HASH_MAX];
};

struct ferry_hashset {
	struct hs_entry e[NALGS];
	size_t n;
};

int
ferry_hashset_new(const json_t *hashes, struct ferry_hashset **out,
    struct ferry_error *err)
{
	struct ferry_hashset *s = NULL;
	enum ferry_hash_alg alg;
	const char *name, *hex;
	json_t *v;
	size_t got;
	int r;

	if (out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (!json_is_object(hashes) || json_object_size(hashes) == 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "hashes: must be a non-empty object");
	/* Each algorithm at most once, so NALGS entries always suffice. */
	if (json_object_size(hashes) > NALGS) {
		json_object_foreach((json_t *)hashes, name, v) {
			if (ferry_hash_alg_from_name(name, &alg) != 0)
				break;
		}
		return ferry_error_set(err, FERRY_ERR_HASH_UNSUPPORTED,
		    "hashes.%.64s: unsupported hash algorithm", name);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return FERRY_ERR_NOMEM;
	json_object_foreach((json_t *)hashes, name, v) {
		if (ferry_hash_alg_from_name(name, &alg) != 0) {
			r = ferry_error_set(err, FERRY_ERR_HASH_UNSUPPORTED,
			    "hashes.%.64s: unsupported hash algorithm", name);
			goto fail;
		}
		/* Lowercase only, as every TUF implementation writes them. */
		if ((hex = ferry_json_cstr(v)) == NULL ||
		    strlen(hex) != 2 * algs[alg].len ||
		    strspn(hex, "0123456789abcdef") != strlen(hex) ||
		    ferry_hex_decode(hex, strlen(hex), s->e[s->n].want,
		    sizeof(s->e[s->n].want), &got) != 0) {
			r = ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "hashes.%s: must be %zu lowercase hex digits", name,
			    2 * algs[alg].len);
			goto fail;
		}
		if ((r = ferry_hash_new(alg, &s->e[s->n].h)) != 0)
			goto fail;
		s->e[s->n].name = algs[alg].name;
		s->n++;
	}
	*out = s;
	return 0;
 fail:
	ferry_hashset_free(s);
	return r;
}

int
ferry_hashset_update(struct ferry_hashset *s, const void *buf, size_t len)
{
	size_t i;
	int r;

	if (s == NULL)
		return FERRY_ERR_INVALID_ARG;
	for (i = 0; i < s->n; i++)
		if ((r = ferry_hash_update(s->e[i].h, buf, len)) != 0)
			return r;
	return 0;
}

int
ferry_hashset_verify(struct ferry_hashset *s, struct ferry_error *err)
{
	unsigned char got[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1];
	size_t i, n;
	int r;

	if (s == NULL || s->n == 0)
		return FERRY_ERR_INVALID_ARG;
	for (i = 0; i < s->n; i++) {
		if ((r = ferry_hash_final(s->e[i].h, got, &n)) != 0)
			return r;
		if (sodium_memcmp(got, s->e[i].want, n) != 0) {
			ferry_hex_encode(got, n, hex);
			return ferry_error_set(err, FERRY_ERR_HASH_MISMATCH,
			    "%s mismatch: got %s", s->e[i].name, hex);
		}
	}
	return 0;
}

void
ferry_hashset_free(struct ferry_hashset *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		ferry_hash_free(s->e[i].h);
	free(s);
}

int
ferry_hashes_verify_buf(const json_t *hashes, const void *buf, size_t len,
    struct ferry_error *err)
{
	struct ferry_hashset *s = NULL;
	int r;

	if ((r = ferry_hashset_new(hashes, &s, err)) == 0 &&
	    (r = ferry_hashset_update(s, buf, len)) == 0)
		r = ferry_hashset_verify(s, err);
	ferry_hashset_free(s);
	return r;
}

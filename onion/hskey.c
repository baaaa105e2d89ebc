/* Onion service keys, v3 addresses and client keys (onion/hskey.h). */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "lib/file.h"
#include "onion/hskey.h"

/* tor's tagged file headers: "== TYPE: TAG ==", NUL-padded to 32. */
#define HEADER_LEN 32
static const char secret_header[] = "== ed25519v1-secret: type0 ==";
static const char public_header[] = "== ed25519v1-public: type0 ==";

struct onion_hskey {
	unsigned char *expanded;	/* 64 bytes, sodium_malloc */
	unsigned char pk[32];
	char address[ONION_ADDR_LEN + 1];
};

static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b32_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void
onion_base32_encode(const unsigned char *in, size_t len, char *out,
    int upper)
{
	const char *alpha = upper ? b32_upper : b32_lower;
	unsigned bits = 0, nbits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		bits = (bits << 8) | in[i];
		nbits += 8;
		while (nbits >= 5) {
			out[n++] = alpha[(bits >> (nbits - 5)) & 31];
			nbits -= 5;
		}
	}
	if (nbits > 0)
		out[n++] = alpha[(bits << (5 - nbits)) & 31];
	out[n] = '\0';
}

int
onion_base32_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen)
{
	unsigned bits = 0, nbits = 0, v;
	size_t i, n = 0;
	char ch;

	/* Only the length an encoder makes: ceil(outlen * 8 / 5). */
	if (inlen != (outlen * 8 + 4) / 5)
		return -1;
	for (i = 0; i < inlen; i++) {
		ch = in[i];
		if (ch >= 'a' && ch <= 'z')
			v = (unsigned)(ch - 'a');
		else if (ch >= 'A' && ch <= 'Z')
			v = (unsigned)(ch - 'A');
		else if (ch >= '2' && ch <= '7')
			v = (unsigned)(ch - '2') + 26;
		else
			return -1;
		bits = ((bits << 5) | v) & 0xfff;
		nbits += 5;
		if (nbits >= 8) {
			out[n++] = (unsigned char)(bits >> (nbits - 8));
			nbits -= 8;
		}
	}
	/* Leftover bits must be zero: one encoding per key. */
	if (nbits > 0 && (bits & ((1u << nbits) - 1)) != 0)
		return -1;
	return n == outlen ? 0 : -1;
}

/* The 2-byte checksum of a v3 address for pk. */
static int
address_checksum(const unsigned char pk[32], unsigned char version,
    unsigned char sum[2])
{
	static const char prefix[] = ".onion checksum";
	unsigned char buf[sizeof(prefix) - 1 + 32 + 1], md[32];
	unsigned mdlen = 0;

	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, pk, 32);
	buf[sizeof(buf) - 1] = version;
	if (EVP_Digest(buf, sizeof(buf), md, &mdlen, EVP_sha3_256(), NULL) !=
	    1 || mdlen != sizeof(md))
		return -1;
	sum[0] = md[0];
	sum[1] = md[1];
	return 0;
}

/* pk's address into out (ONION_ADDR_LEN + 1). */
static int
address_of(const unsigned char pk[32], char *out)
{
	unsigned char raw[35];

	memcpy(raw, pk, 32);
	if (address_checksum(pk, 3, raw + 32) != 0)
		return -1;
	raw[34] = 3;
	onion_base32_encode(raw, sizeof(raw), out, 0);
	return 0;
}

/* Fill k's public key and address from its expanded secret. */
static int
derive(struct onion_hskey *k, struct ferry_error *err)
{
	int r;

	(void)sodium_mprotect_readonly(k->expanded);
	r = crypto_scalarmult_ed25519_base_noclamp(k->pk, k->expanded);
	(void)sodium_mprotect_noaccess(k->expanded);
	if (r != 0 || address_of(k->pk, k->address) != 0)
		return ferry_error_set(err, FERRY_ERR_CRYPTO,
		    "cannot derive the onion service's public key");
	return 0;
}

static struct onion_hskey *
hskey_new(void)
{
	struct onion_hskey *k;

	/* sodium_malloc() needs it; it may be called any number of times. */
	if (sodium_init() < 0 || (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->expanded = sodium_malloc(64)) == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

void
onion_hskey_free(struct onion_hskey *k)
{
	if (k == NULL)
		return;
	sodium_free(k->expanded);
	free(k);
}

int
onion_hskey_generate(struct onion_hskey **out, struct ferry_error *err)
{
	unsigned char *seed;
	struct onion_hskey *k;
	int r;

	if ((k = hskey_new()) == NULL || (seed = sodium_malloc(32)) == NULL) {
		onion_hskey_free(k);
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	}
	/* tor's expansion of an ed25519 seed: SHA-512, then clamp. */
	randombytes_buf(seed, 32);
	crypto_hash_sha512(k->expanded, seed, 32);
	sodium_free(seed);
	k->expanded[0] &= 248;
	k->expanded[31] &= 127;
	k->expanded[31] |= 64;
	(void)sodium_mprotect_noaccess(k->expanded);
	if ((r = derive(k, err)) != 0) {
		onion_hskey_free(k);
		return r;
	}
	*out = k;
	return 0;
}

/* Read exactly ONION_KEYFILE_LEN bytes of fd into buf. */
static int
read_keyfile(int fd, unsigned char *buf)
{
	unsigned char extra;
	size_t got = 0;
	ssize_t n;

	while (got < ONION_KEYFILE_LEN) {
		n = read(fd, buf + got, ONION_KEYFILE_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return read(fd, &extra, 1) == 0 ? 0 : -1;
}

int
onion_hskey_load(const char *path, struct onion_hskey **out,
    struct ferry_error *err)
{
	unsigned char header[HEADER_LEN] = { 0 }, *buf = NULL;
	struct onion_hskey *k = NULL;
	struct stat st;
	int fd, r;

	/* O_NONBLOCK: a FIFO in its place must not hang the open. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	    O_NONBLOCK)) < 0)
		return ferry_error_set(err, errno == ENOENT ?
		    FERRY_ERR_NOT_FOUND : FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = ferry_error_set(err, FERRY_ERR_KEYFILE, "%s: not a "
		    "regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
		r = ferry_error_set(err, FERRY_ERR_KEYFILE, "%s: mode %04o, "
		    "owner %ld: must be mode 0600 and this user's", path,
		    (unsigned)(st.st_mode & 07777), (long)st.st_uid);
		goto out;
	}
	if ((k = hskey_new()) == NULL ||
	    (buf = sodium_malloc(ONION_KEYFILE_LEN)) == NULL) {
		r = ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(header, secret_header, sizeof(secret_header) - 1);
	if (read_keyfile(fd, buf) != 0 ||
	    memcmp(buf, header, HEADER_LEN) != 0) {
		r = ferry_error_set(err, FERRY_ERR_KEYFILE, "%s: not an onion "
		    "service key (%d bytes beginning \"%s\")", path,
		    ONION_KEYFILE_LEN, secret_header);
		goto out;
	}
	memcpy(k->expanded, buf + HEADER_LEN, 64);
	(void)sodium_mprotect_noaccess(k->expanded);
	if ((r = derive(k, err)) != 0)
		goto out;
	*out = k;
	k = NULL;		/* transferred */
	r = 0;
 out:
	sodium_free(buf);
	onion_hskey_free(k);
	(void)close(fd);
	return r;
}

int
onion_hskey_save_new(const struct onion_hskey *k, const char *path,
    struct ferry_error *err)
{
	unsigned char *buf, pub[HEADER_LEN + 32];
	char dir[4096], other[4200], host[ONION_ADDR_LEN + 8];
	const char *slash;
	size_t dlen;
	int r = 0;

	slash = strrchr(path, '/');
	dlen = slash != NULL ? (size_t)(slash - path) : 1;
	if (dlen >= sizeof(dir))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: path "
		    "too long", path);
	memcpy(dir, slash != NULL ? path : ".", dlen);
	dir[dlen] = '\0';
	if ((buf = sodium_malloc(ONION_KEYFILE_LEN)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	memset(buf, 0, HEADER_LEN);
	memcpy(buf, secret_header, sizeof(secret_header) - 1);
	(void)sodium_mprotect_readonly(k->expanded);
	memcpy(buf + HEADER_LEN, k->expanded, 64);
	(void)sodium_mprotect_noaccess(k->expanded);
	if (ferry_file_write_new(path, buf, ONION_KEYFILE_LEN, 0600) != 0)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	sodium_free(buf);
	if (r != 0)
		return r;
	/* What a HiddenServiceDir holds besides: the public key, the name. */
	memset(pub, 0, HEADER_LEN);
	memcpy(pub, public_header, sizeof(public_header) - 1);
	memcpy(pub + HEADER_LEN, k->pk, 32);
	snprintf(other, sizeof(other), "%s/hs_ed25519_public_key", dir);
	if (ferry_file_write_atomic(other, pub, sizeof(pub), 0600) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", other,
		    strerror(errno));
	snprintf(host, sizeof(host), "%s.onion\n", k->address);
	snprintf(other, sizeof(other), "%s/hostname", dir);
	if (ferry_file_write_atomic(other, host, strlen(host), 0600) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", other,
		    strerror(errno));
	return 0;
}

const char *
onion_hskey_address(const struct onion_hskey *k)
{
	return k->address;
}

int
onion_hskey_blob(struct onion_hskey *k, char *out, size_t outlen)
{
	if (outlen < ONION_KEY_BLOB_LEN)
		return FERRY_ERR_INVALID_ARG;
	memcpy(out, "ED25519-V3:", 11);
	(void)sodium_mprotect_readonly(k->expanded);
	sodium_bin2base64(out + 11, outlen - 11, k->expanded, 64,
	    sodium_base64_VARIANT_ORIGINAL);
	(void)sodium_mprotect_noaccess(k->expanded);
	return 0;
}

int
onion_is_onion_host(const char *host)
{
	size_t n = strlen(host);

	return n >= 6 && strcasecmp(host + n - 6, ".onion") == 0;
}

int
onion_address_check(const char *host, char *canon, struct ferry_error *err)
{
	unsigned char raw[35], sum[2];
	size_t n = strlen(host), i;
	char name[ONION_ADDR_LEN + 1];

	if (onion_is_onion_host(host))
		n -= 6;
	if (n == 16)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: a v2 "
		    "onion address, which tor no longer serves or reaches (a "
		    "v3 address has %d base32 characters)", host,
		    ONION_ADDR_LEN);
	if (n != ONION_ADDR_LEN)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: not a "
		    "v3 onion address (%d base32 characters and .onion)",
		    host, ONION_ADDR_LEN);
	for (i = 0; i < n; i++)
		name[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ?
		    host[i] - 'A' + 'a' : host[i]);
	name[n] = '\0';
	if (onion_base32_decode(name, n, raw, sizeof(raw)) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: not "
		    "base32 (a-z, 2-7)", host);
	/* The checksum first: a typo is likelier than another version. */
	if (address_checksum(raw, raw[34], sum) != 0)
		return ferry_error_set(err, FERRY_ERR_CRYPTO, "SHA3-256 failed");
	if (sum[0] != raw[32] || sum[1] != raw[33])
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: the "
		    "checksum does not match (a mistyped address?)", host);
	if (raw[34] != 3)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: "
		    "version %d, not a v3 onion address", host, raw[34]);
	if (crypto_core_ed25519_is_valid_point(raw) != 1)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: not "
		    "a valid ed25519 key", host);
	if (canon != NULL)
		memcpy(canon, name, n + 1);
	return 0;
}

int
onion_client_key_parse(const char *s, unsigned char pub[32],
    struct ferry_error *err)
{
	static const char prefix[] = "descriptor:x25519:";
	const char *b = s;
	size_t n;

	if (strncmp(s, prefix, sizeof(prefix) - 1) == 0)
		b += sizeof(prefix) - 1;
	n = strlen(b);
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		n--;
	if (n != ONION_X25519_B32_LEN || onion_base32_decode(b, n, pub, 32) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "not a "
		    "client key: want descriptor:x25519: and %d base32 "
		    "characters", ONION_X25519_B32_LEN);
	return 0;
}

void
onion_client_key_b32(const unsigned char key[32],
    char out[ONION_X25519_B32_LEN + 1])
{
	onion_base32_encode(key, 32, out, 1);
}

void
onion_client_keypair(unsigned char pub[32], unsigned char priv[32])
{
	randombytes_buf(priv, 32);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	crypto_scalarmult_base(pub, priv);
}

/*
 * onion/hskey.c: onion service keys and names.
 *
 * Base32 against RFC 4648's vectors and its strict decoding; keys made,
 * saved in tor's hs_ed25519_secret_key format and loaded again, and every
 * file the loader must refuse; v3 addresses, good and bad in each of
 * their parts; client authorization keys.
 *
 * The known answers were computed outside this code:
 *
 *  - RFC_EXPANDED is tor's expansion (SHA-512, then clamp) of the secret
 *    key of RFC 8032 section 7.1, TEST 1 (9d61b19d...7f60); its public
 *    key RFC_PK is the one that RFC gives, and RFC_ADDR is the address
 *    tor's own unit tests (test_hs_common.c) derive from it.
 *  - OTHER_EXPANDED is the bytes 0..63 with the scalar clamped; OTHER_PK
 *    was computed from it with a small independent Python implementation
 *    of ed25519 point multiplication (affine Edwards arithmetic on the
 *    base point), and OTHER_ADDR from that with Python's hashlib.sha3_256
 *    and base64.b32encode, per rend-spec-v3 ("onion_address =
 *    base32(PUBKEY | CHECKSUM | VERSION)").  The same script reproduces
 *    RFC_PK and RFC_ADDR.
 *  - The bad addresses (version 2 and 4, the identity point, a y with no
 *    point on the curve) were built with the same hashlib and b32encode,
 *    each with the checksum right for what it holds, so that only the
 *    part under test is wrong.
 *  - The base64 blobs are base64.b64encode() of the 64 expanded bytes.
 */
#include "config.h"

#include "unit.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "lib/err.h"
#include "onion/hskey.h"

#define RFC_EXPANDED "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f0" \
    "06904de94f9b4f0afe280b746a778684e75442502057b7473a03f08f96f5a38e9287e0" \
    "1f8f"
#define RFC_PK "d75a980182b10ab7d54bfed3c964073a" \
    "0ee172f3daa62325af021a68f707511a"
#define RFC_ADDR "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"
#define RFC_BLOB "ED25519-V3:MHyDhk8oM8tCei7xwAoBPP3/J2jZgMCjpSDwBpBN6U+bTwr" \
    "+KAt0aneGhOdUQlAgV7dHOgPwj5b1o46Sh+Afjw=="

#define OTHER_EXPANDED "000102030405060708090a0b0c0d0e0f" \
    "101112131415161718191a1b1c1d1e5f202122232425262728292a2b2c2d2e2f" \
    "303132333435363738393a3b3c3d3e3f"
#define OTHER_PK "1ac105ea144728da5ebea01e5ee75d70" \
    "584f1f3cd448b1ec7c2bddda3fbd1f0e"
#define OTHER_ADDR \
    "dlaql2qui4unuxv6uapf5z25obme6hz42reld3d4fpo5up55d4hmhoyd"
#define OTHER_BLOB "ED25519-V3:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd" \
    "Hl8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="

/* DuckDuckGo's published onion service, a well-known real address. */
#define DDG_ADDR "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad"

/* RFC_PK with version bytes 2 and 4, each with its right checksum. */
#define V2_ADDR "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkendphqc"
#define V4_ADDR "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenj73qe"
/* The identity point (small order), and y = 2 (not on the curve). */
#define IDENT_ADDR "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahmjqd"
#define OFFCURVE_ADDR "aiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab3did"

/* The public key of RFC 7748 section 6.1 (Alice's), and its base32. */
#define X25519_PK "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98e" \
    "aa9b4e6a"
#define X25519_B32 "QUQPACMJGCTVI5ELPXOLIPXXLIG36OQNEY4BV5HLUSUY5KU3JZVA"

static const char secret_header[] = "== ed25519v1-secret: type0 ==";
static const char public_header[] = "== ed25519v1-public: type0 ==";

struct fx {
	char dir[UNIT_DIR_MAX];
	char key[UNIT_DIR_MAX + 64];	/* dir/hs_ed25519_secret_key */
};
UNIT_FX_CHECK(struct fx);

static int
setup(void **state)
{
	struct fx *f = unit_fx_new(state, sizeof(*f), "onionkey");

	if (f == NULL)
		return -1;
	snprintf(f->key, sizeof(f->key), "%s/hs_ed25519_secret_key", f->dir);
	return 0;
}

/* ---- helpers ---- */

#define assert_ok(call) do {						\
	int r_ = (call);						\
	if (r_ != 0)							\
		fail_msg("%s: %d (%s)", #call, r_,			\
		    ferry_error_msg(&err));				\
} while (0)

static void
expect_err(int r, const struct ferry_error *err, int code, const char *has)
{
	if (r != code)
		fail_msg("returned %d (%s), not %d", r, ferry_error_msg(err),
		    code);
	assert_int_equal(err->code, code);
	if (has != NULL && strstr(err->msg, has) == NULL)
		fail_msg("\"%s\" not in \"%s\"", has, err->msg);
}

/* Exactly n bytes of hex into out. */
static void
unhex_into(const char *hex, unsigned char *out, size_t n)
{
	unsigned char *p;
	size_t len;

	p = unit_unhex(hex, &len);
	assert_int_equal(len, n);
	memcpy(out, p, n);
	free(p);
}

/* Read all of path (at most cap bytes); its length. */
static size_t
slurp(const char *path, unsigned char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap, fp);
	assert_int_equal(fgetc(fp), EOF);
	assert_int_equal(fclose(fp), 0);
	return n;
}

/* The 32-byte header tor writes: the tag, NUL-padded. */
static void
header(unsigned char out[32], const char *tag)
{
	memset(out, 0, 32);
	memcpy(out, tag, strlen(tag));
}

/* A key file at path: header, the 64 bytes of expanded_hex, mode. */
static void
put_keyfile(const char *path, const char *expanded_hex, mode_t mode)
{
	unsigned char buf[ONION_KEYFILE_LEN];

	header(buf, secret_header);
	unhex_into(expanded_hex, buf + 32, 64);
	unit_put_file(path, buf, sizeof(buf));
	assert_int_equal(chmod(path, mode), 0);
}

static struct onion_hskey *
load_ok(const char *path)
{
	struct ferry_error err;
	struct onion_hskey *k = NULL;

	memset(&err, 0, sizeof(err));
	assert_ok(onion_hskey_load(path, &k, &err));
	assert_non_null(k);
	return k;
}

static void
load_refused(const char *path, int code, const char *has)
{
	struct ferry_error err;
	/* A marker: a refusal must leave *out alone. */
	struct onion_hskey *k = (struct onion_hskey *)&err;

	memset(&err, 0, sizeof(err));
	expect_err(onion_hskey_load(path, &k, &err), &err, code, has);
	/* Every refusal names the file. */
	if (strstr(err.msg, path) == NULL)
		fail_msg("\"%s\" does not name %s", err.msg, path);
	assert_ptr_equal(k, (struct onion_hskey *)&err);
}

static void
blob_of(struct onion_hskey *k, char out[ONION_KEY_BLOB_LEN])
{
	assert_int_equal(onion_hskey_blob(k, out, ONION_KEY_BLOB_LEN), 0);
}

/* ---- base32 ---- */

static void
test_base32_rfc4648(void **state)
{
	/* RFC 4648 section 10, padding removed. */
	static const char *const plain[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar",
	};
	static const char *const enc[] = {
		"", "MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI",
	};
	char out[32], lower[32];
	unsigned char back[16];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		n = strlen(plain[i]);
		memset(out, 'Z', sizeof(out));
		onion_base32_encode((const unsigned char *)plain[i], n, out, 1);
		assert_string_equal(out, enc[i]);
		for (j = 0; enc[i][j] != '\0'; j++)
			lower[j] = (char)(enc[i][j] >= 'A' && enc[i][j] <= 'Z' ?
			    enc[i][j] - 'A' + 'a' : enc[i][j]);
		lower[j] = '\0';
		onion_base32_encode((const unsigned char *)plain[i], n, out, 0);
		assert_string_equal(out, lower);
		/* Decoding takes either case, and a mixture. */
		memset(back, 0, sizeof(back));
		assert_int_equal(onion_base32_decode(enc[i], strlen(enc[i]),
		    back, n), 0);
		assert_memory_equal(back, plain[i], n);
		assert_int_equal(onion_base32_decode(lower, strlen(lower),
		    back, n), 0);
		assert_memory_equal(back, plain[i], n);
	}
	assert_int_equal(onion_base32_decode("mZxW6yTbOi", 10, back, 6), 0);
	assert_memory_equal(back, "foobar", 6);
}

static void
test_base32_round_trip(void **state)
{
	unsigned char in[64], back[64];
	char out[128];
	size_t n, i;

	(void)state;
	for (n = 0; n <= sizeof(in); n++) {
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)(i * 97 + n * 13 + 0x5a);
		onion_base32_encode(in, n, out, (int)(n & 1));
		assert_int_equal(strlen(out), (n * 8 + 4) / 5);
		memset(back, 0, sizeof(back));
		assert_int_equal(onion_base32_decode(out, strlen(out), back, n),
		    0);
		if (n > 0)
			assert_memory_equal(back, in, n);
	}
	/* Every byte value, in a 35-byte run as an address has. */
	for (i = 0; i < 256; i += 35) {
		for (n = 0; n < 35; n++)
			in[n] = (unsigned char)(i + n);
		onion_base32_encode(in, 35, out, 0);
		assert_int_equal(strlen(out), ONION_ADDR_LEN);
		assert_int_equal(onion_base32_decode(out, ONION_ADDR_LEN, back,
		    35), 0);
		assert_memory_equal(back, in, 35);
	}
}

static void
test_base32_strict(void **state)
{
	static const char *const bad_chars[] = {
		"m0", "m1", "m8", "m9", "m=", "m ", "m-", "m@", "m[", "m`",
		"m{", "\xc3\xa9", "m\n",
	};
	unsigned char out[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_chars) / sizeof(bad_chars[0]); i++)
		assert_int_equal(onion_base32_decode(bad_chars[i], 2, out, 1),
		    -1);
	/* A NUL within the counted length. */
	assert_int_equal(onion_base32_decode("m\0", 2, out, 1), -1);
	/* Padding is not taken. */
	assert_int_equal(onion_base32_decode("my======", 8, out, 1), -1);
	assert_int_equal(onion_base32_decode("MZXQ====", 8, out, 2), -1);
	/* The bits after the last byte must be zero: one encoding each. */
	assert_int_equal(onion_base32_decode("my", 2, out, 1), 0);
	assert_int_equal(onion_base32_decode("mz", 2, out, 1), -1);
	assert_int_equal(onion_base32_decode("m7", 2, out, 1), -1);
	assert_int_equal(onion_base32_decode("mzxq", 4, out, 2), 0);
	assert_int_equal(onion_base32_decode("mzxr", 4, out, 2), -1);
	assert_int_equal(onion_base32_decode("mzxw6yq", 7, out, 4), 0);
	assert_int_equal(onion_base32_decode("mzxw6yr", 7, out, 4), -1);
	assert_int_equal(onion_base32_decode("mzxw6yz", 7, out, 4), -1);
	/* Lengths that give another number of bytes. */
	assert_int_equal(onion_base32_decode("my", 2, out, 2), -1);
	assert_int_equal(onion_base32_decode("my", 2, out, 0), -1);
	assert_int_equal(onion_base32_decode("mzxq", 4, out, 1), -1);
	assert_int_equal(onion_base32_decode("mzxq", 4, out, 3), -1);
	assert_int_equal(onion_base32_decode("mzxw6ytb", 8, out, 4), -1);
	assert_int_equal(onion_base32_decode("mzxw6ytb", 8, out, 6), -1);
	assert_int_equal(onion_base32_decode("m", 1, out, 1), -1);
	assert_int_equal(onion_base32_decode("", 0, out, 1), -1);
	assert_int_equal(onion_base32_decode("", 0, out, 0), 0);
}

/*
 * onion_base32_decode() takes only the one length that encodes outlen
 * bytes, ceil(8 * outlen / 5).  A looser check, (inlen * 5) / 8 ==
 * outlen, would also pass a string one character longer with a trailing
 * 'a' (five zero bits): "mya" would decode to the one byte of "my", a
 * 57-character string to 35 bytes, "a" to zero bytes.  Those lengths (1,
 * 3 and 6 modulo 8) are no RFC 4648 encoding, and each byte string would
 * have more than one accepted spelling.
 */
static void
test_base32_noncanonical_length(void **state)
{
	char addr[ONION_ADDR_LEN + 2], taken[256];
	unsigned char out[40];
	const struct {
		const char *in;
		size_t outlen;
	} cases[] = {
		{ "mya", 1 }, { "mzxw6ytba", 5 }, { "a", 0 }, { addr, 35 },
	};
	size_t i;

	(void)state;
	memcpy(addr, RFC_ADDR, ONION_ADDR_LEN);
	addr[ONION_ADDR_LEN] = 'a';
	addr[ONION_ADDR_LEN + 1] = '\0';
	/* What these are one character longer than is taken. */
	assert_int_equal(onion_base32_decode(RFC_ADDR, ONION_ADDR_LEN, out,
	    35), 0);
	assert_int_equal(onion_base32_decode("my", 2, out, 1), 0);
	taken[0] = '\0';
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (onion_base32_decode(cases[i].in, strlen(cases[i].in), out,
		    cases[i].outlen) == 0)
			snprintf(taken + strlen(taken), sizeof(taken) -
			    strlen(taken), " %zu chars -> %zu bytes;",
			    strlen(cases[i].in), cases[i].outlen);
	if (taken[0] != '\0')
		fail_msg("non-canonical lengths decoded:%s", taken);
}

/* ---- keys and files ---- */

static void
test_generate_save_load(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct onion_hskey *k, *k2;
	unsigned char buf[128], want[32], pk[35];
	char canon[ONION_ADDR_LEN + 1], path[UNIT_DIR_MAX + 64];
	char hostname[ONION_ADDR_LEN + 8], b1[ONION_KEY_BLOB_LEN];
	char b2[ONION_KEY_BLOB_LEN];
	const char *addr;
	size_t i;

	memset(&err, 0, sizeof(err));
	assert_ok(onion_hskey_generate(&k, &err));
	addr = onion_hskey_address(k);
	assert_int_equal(strlen(addr), ONION_ADDR_LEN);
	for (i = 0; i < ONION_ADDR_LEN; i++)
		assert_true((addr[i] >= 'a' && addr[i] <= 'z') ||
		    (addr[i] >= '2' && addr[i] <= '7'));
	assert_ok(onion_address_check(addr, canon, &err));
	assert_string_equal(canon, addr);

	assert_ok(onion_hskey_save_new(k, f->key, &err));
	/* Exactly the three files tor keeps, and no temporary. */
	unit_assert_dir_is(f->dir,
	    "hostname/hs_ed25519_public_key/hs_ed25519_secret_key");
	assert_int_equal(unit_perm_of(f->key), 0600);
	assert_int_equal(slurp(f->key, buf, sizeof(buf)), ONION_KEYFILE_LEN);
	header(want, secret_header);
	assert_memory_equal(buf, want, 32);
	/* The clamping of tor's expansion. */
	assert_int_equal(buf[32] & 7, 0);
	assert_int_equal(buf[63] & 0xc0, 0x40);

	unit_join(path, sizeof(path), f->dir, "hostname");
	snprintf(hostname, sizeof(hostname), "%s.onion\n", addr);
	assert_int_equal(slurp(path, buf, sizeof(buf)), strlen(hostname));
	assert_memory_equal(buf, hostname, strlen(hostname));

	/* The public key file: its header and the key in the address. */
	unit_join(path, sizeof(path), f->dir, "hs_ed25519_public_key");
	assert_int_equal(slurp(path, buf, sizeof(buf)), 64);
	header(want, public_header);
	assert_memory_equal(buf, want, 32);
	assert_int_equal(onion_base32_decode(addr, ONION_ADDR_LEN, pk, 35), 0);
	assert_memory_equal(buf + 32, pk, 32);
	assert_int_equal(pk[34], 3);

	/* Loaded again: the same key. */
	k2 = load_ok(f->key);
	assert_string_equal(onion_hskey_address(k2), addr);
	blob_of(k, b1);
	blob_of(k2, b2);
	assert_string_equal(b1, b2);
	onion_hskey_free(k2);
	onion_hskey_free(k);
	onion_hskey_free(NULL);

	/* Two keys are not the same key. */
	assert_ok(onion_hskey_generate(&k, &err));
	assert_ok(onion_hskey_generate(&k2, &err));
	assert_string_not_equal(onion_hskey_address(k),
	    onion_hskey_address(k2));
	onion_hskey_free(k);
	onion_hskey_free(k2);
}

static void
test_save_new_refuses_existing(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct onion_hskey *k, *k2, *k3;
	unsigned char before[ONION_KEYFILE_LEN], after[ONION_KEYFILE_LEN];
	char path[UNIT_DIR_MAX + 64], hostname[ONION_ADDR_LEN + 8];
	unsigned char buf[128];

	memset(&err, 0, sizeof(err));
	assert_ok(onion_hskey_generate(&k, &err));
	assert_ok(onion_hskey_generate(&k2, &err));
	assert_ok(onion_hskey_save_new(k, f->key, &err));
	assert_int_equal(slurp(f->key, before, sizeof(before)),
	    ONION_KEYFILE_LEN);
	memset(&err, 0, sizeof(err));
	assert_true(onion_hskey_save_new(k2, f->key, &err) != 0);
	assert_non_null(strstr(err.msg, f->key));
	/* The key, its name and its public key are the first one's. */
	assert_int_equal(slurp(f->key, after, sizeof(after)),
	    ONION_KEYFILE_LEN);
	assert_memory_equal(before, after, sizeof(before));
	unit_join(path, sizeof(path), f->dir, "hostname");
	snprintf(hostname, sizeof(hostname), "%s.onion\n",
	    onion_hskey_address(k));
	assert_int_equal(slurp(path, buf, sizeof(buf)), strlen(hostname));
	assert_memory_equal(buf, hostname, strlen(hostname));
	k3 = load_ok(f->key);
	assert_string_equal(onion_hskey_address(k3), onion_hskey_address(k));
	unit_assert_dir_is(f->dir,
	    "hostname/hs_ed25519_public_key/hs_ed25519_secret_key");

	/* Nor over a symbolic link or a directory. */
	unit_join(path, sizeof(path), f->dir, "link");
	assert_int_equal(symlink("nowhere", path), 0);
	memset(&err, 0, sizeof(err));
	assert_true(onion_hskey_save_new(k2, path, &err) != 0);
	unit_join(path, sizeof(path), f->dir, "sub");
	assert_int_equal(mkdir(path, 0700), 0);
	memset(&err, 0, sizeof(err));
	assert_true(onion_hskey_save_new(k2, path, &err) != 0);
	onion_hskey_free(k);
	onion_hskey_free(k2);
	onion_hskey_free(k3);
}

static void
test_load_refusals(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0666, 0700 };
	struct fx *f = *state;
	unsigned char buf[ONION_KEYFILE_LEN + 1];
	char path[UNIT_DIR_MAX + 64];
	size_t i;

	/* Modes: any bit for group or others. */
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		put_keyfile(f->key, RFC_EXPANDED, modes[i]);
		if ((modes[i] & 077) != 0)
			load_refused(f->key, FERRY_ERR_KEYFILE, "mode");
	}
	/* Contents. */
	put_keyfile(f->key, RFC_EXPANDED, 0600);
	assert_int_equal(slurp(f->key, buf, sizeof(buf)), ONION_KEYFILE_LEN);
	assert_int_equal(unlink(f->key), 0);
	for (i = 0; i < 32; i++) {
		/* Each byte of the header and its padding. */
		buf[i] ^= 0x01;
		unit_put_file(f->key, buf, ONION_KEYFILE_LEN);
		assert_int_equal(chmod(f->key, 0600), 0);
		load_refused(f->key, FERRY_ERR_KEYFILE, "not an onion service "
		    "key");
		buf[i] ^= 0x01;
	}
	/* A public key file is not a secret key file. */
	header(buf, public_header);
	unit_put_file(f->key, buf, ONION_KEYFILE_LEN);
	assert_int_equal(chmod(f->key, 0600), 0);
	load_refused(f->key, FERRY_ERR_KEYFILE, NULL);
	header(buf, secret_header);
	/* Short, long, empty, the header alone. */
	unit_put_file(f->key, buf, ONION_KEYFILE_LEN - 1);
	load_refused(f->key, FERRY_ERR_KEYFILE, NULL);
	unit_put_file(f->key, buf, ONION_KEYFILE_LEN + 1);
	load_refused(f->key, FERRY_ERR_KEYFILE, NULL);
	unit_put_file(f->key, buf, 0);
	load_refused(f->key, FERRY_ERR_KEYFILE, NULL);
	unit_put_file(f->key, buf, 32);
	load_refused(f->key, FERRY_ERR_KEYFILE, NULL);
	/* The right file, through a symbolic link. */
	put_keyfile(f->key, RFC_EXPANDED, 0600);
	unit_join(path, sizeof(path), f->dir, "link");
	assert_int_equal(symlink(f->key, path), 0);
	{
		struct ferry_error err;
		struct onion_hskey *k = NULL;

		memset(&err, 0, sizeof(err));
		assert_true(onion_hskey_load(path, &k, &err) != 0);
		assert_null(k);
		assert_non_null(strstr(err.msg, path));
	}
	/* A directory; nothing at all. */
	unit_join(path, sizeof(path), f->dir, "d");
	assert_int_equal(mkdir(path, 0700), 0);
	load_refused(path, FERRY_ERR_KEYFILE, "regular file");
	unit_join(path, sizeof(path), f->dir, "none");
	load_refused(path, FERRY_ERR_NOT_FOUND, NULL);
	/* And the right file, where it is, still loads. */
	onion_hskey_free(load_ok(f->key));
}

/* onion_hskey_load() of a FIFO, in a thread that may block. */
struct load_job {
	const char *path;
	int r;
	int done[2];
};

static void *
load_thread(void *arg)
{
	struct load_job *j = arg;
	struct ferry_error err;
	struct onion_hskey *k = NULL;
	ssize_t w;

	memset(&err, 0, sizeof(err));
	j->r = onion_hskey_load(j->path, &k, &err);
	onion_hskey_free(k);
	w = write(j->done[1], "d", 1);
	(void)w;
	return NULL;
}

/*
 * A FIFO at the key's path is refused at once: the file is opened with
 * O_NONBLOCK (as lib/bundle.c does) so that fstat() can say it is not a
 * regular file, instead of open() blocking until some writer comes.
 * Should it block, the test waits up to 3 s, then opens the FIFO for
 * writing itself to let the loader go on, so that it reports the hang
 * instead of hanging.
 */
static void
test_load_fifo(void **state)
{
	struct fx *f = *state;
	struct load_job j;
	struct pollfd p;
	pthread_t th;
	int hung = 0, i, fd;

	assert_int_equal(mkfifo(f->key, 0600), 0);
	j.path = f->key;
	j.r = 0;
	assert_int_equal(pipe(j.done), 0);
	assert_int_equal(pthread_create(&th, NULL, load_thread, &j), 0);
	p.fd = j.done[0];
	p.events = POLLIN;
	if (poll(&p, 1, 3000) != 1) {
		hung = 1;
		/* Unblock it: a writer lets its open() return. */
		for (i = 0; i < 100; i++) {
			if ((fd = open(f->key, O_WRONLY | O_NONBLOCK)) >= 0) {
				(void)close(fd);
				break;
			}
			if (poll(&p, 1, 50) == 1)
				break;
		}
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	(void)close(j.done[0]);
	(void)close(j.done[1]);
	if (hung)
		fail_msg("onion_hskey_load() of a FIFO blocked (over 3 s)");
	assert_int_equal(j.r, FERRY_ERR_KEYFILE);
}

/* ---- known answers ---- */

static void
test_known_answer_rfc8032(void **state)
{
	struct fx *f = *state;
	struct onion_hskey *k;
	struct ferry_error err;
	unsigned char buf[128], pk[32], want[64];
	char blob[ONION_KEY_BLOB_LEN], dir2[UNIT_DIR_MAX + 64];
	char key2[UNIT_DIR_MAX + 96], path[UNIT_DIR_MAX + 96];

	put_keyfile(f->key, RFC_EXPANDED, 0600);
	k = load_ok(f->key);
	assert_string_equal(onion_hskey_address(k), RFC_ADDR);
	memset(blob, 'Z', sizeof(blob));
	blob_of(k, blob);
	assert_string_equal(blob, RFC_BLOB);

	/* Saved elsewhere: the same bytes, and the public key of RFC 8032. */
	unit_join(dir2, sizeof(dir2), f->dir, "hs");
	assert_int_equal(mkdir(dir2, 0700), 0);
	unit_join(key2, sizeof(key2), dir2, "hs_ed25519_secret_key");
	memset(&err, 0, sizeof(err));
	assert_ok(onion_hskey_save_new(k, key2, &err));
	assert_int_equal(slurp(key2, buf, sizeof(buf)), ONION_KEYFILE_LEN);
	unhex_into(RFC_EXPANDED, want, 64);
	assert_memory_equal(buf + 32, want, 64);
	unit_join(path, sizeof(path), dir2, "hs_ed25519_public_key");
	assert_int_equal(slurp(path, buf, sizeof(buf)), 64);
	unhex_into(RFC_PK, pk, 32);
	assert_memory_equal(buf + 32, pk, 32);
	unit_join(path, sizeof(path), dir2, "hostname");
	assert_int_equal(slurp(path, buf, sizeof(buf)), 63);
	assert_memory_equal(buf, RFC_ADDR ".onion\n", 63);
	onion_hskey_free(k);
}

static void
test_known_answer_other(void **state)
{
	struct fx *f = *state;
	struct onion_hskey *k;
	unsigned char raw[35], pk[32];
	char blob[ONION_KEY_BLOB_LEN];

	put_keyfile(f->key, OTHER_EXPANDED, 0600);
	k = load_ok(f->key);
	assert_string_equal(onion_hskey_address(k), OTHER_ADDR);
	blob_of(k, blob);
	assert_string_equal(blob, OTHER_BLOB);
	assert_int_equal(onion_base32_decode(OTHER_ADDR, ONION_ADDR_LEN, raw,
	    sizeof(raw)), 0);
	unhex_into(OTHER_PK, pk, 32);
	assert_memory_equal(raw, pk, 32);
	onion_hskey_free(k);
}

static void
test_blob_format(void **state)
{
	struct ferry_error err;
	struct onion_hskey *k;
	char blob[ONION_KEY_BLOB_LEN + 8];
	unsigned char bin[64];
	size_t i, binlen = 0;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_ok(onion_hskey_generate(&k, &err));
	memset(blob, 'Z', sizeof(blob));
	assert_int_equal(onion_hskey_blob(k, blob, ONION_KEY_BLOB_LEN), 0);
	assert_int_equal(strlen(blob), ONION_KEY_BLOB_LEN - 1);
	assert_memory_equal(blob, "ED25519-V3:", 11);
	for (i = 11; i < 11 + 86; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
		    "nopqrstuvwxyz0123456789+/", blob[i]));
	assert_string_equal(blob + 97, "==");
	assert_int_equal(blob[ONION_KEY_BLOB_LEN], 'Z');
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), blob + 11, 88,
	    NULL, &binlen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(binlen, 64);
	assert_int_equal(bin[0] & 7, 0);
	assert_int_equal(bin[31] & 0xc0, 0x40);
	/* Too small: refused, nothing written. */
	memset(blob, 'Z', sizeof(blob));
	assert_int_equal(onion_hskey_blob(k, blob, ONION_KEY_BLOB_LEN - 1),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(blob[0], 'Z');
	onion_hskey_free(k);
}

/* ---- addresses ---- */

static void
check_ok(const char *host, const char *want)
{
	struct ferry_error err;
	char canon[ONION_ADDR_LEN + 1];

	memset(&err, 0, sizeof(err));
	memset(canon, 'Z', sizeof(canon));
	assert_ok(onion_address_check(host, canon, &err));
	assert_string_equal(canon, want);
	assert_ok(onion_address_check(host, NULL, &err));
}

static void
check_bad(const char *host, const char *has)
{
	struct ferry_error err;
	char canon[ONION_ADDR_LEN + 1];

	memset(&err, 0, sizeof(err));
	memset(canon, 'Z', sizeof(canon));
	expect_err(onion_address_check(host, canon, &err), &err,
	    FERRY_ERR_INVALID_ARG, has);
	assert_int_equal(canon[0], 'Z');
}

static void
test_address_check_good(void **state)
{
	(void)state;
	check_ok(RFC_ADDR, RFC_ADDR);
	check_ok(RFC_ADDR ".onion", RFC_ADDR);
	check_ok(DDG_ADDR ".onion", DDG_ADDR);
	check_ok(OTHER_ADDR, OTHER_ADDR);
	/* Either case, in the name and in ".onion". */
	check_ok("25NJQAMCWEFLPVKL73J4SZAHHIHOC4XT3KTCGJNPAINGR5YHKENL5SID",
	    RFC_ADDR);
	check_ok("25NJQAMCWEFLPVKL73J4SZAHHIHOC4XT3KTCGJNPAINGR5YHKENL5SID"
	    ".ONION", RFC_ADDR);
	check_ok("25njqAMCWEFLpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5SID"
	    ".Onion", RFC_ADDR);
}

static void
test_address_check_bad(void **state)
{
	char a[ONION_ADDR_LEN + 16];
	size_t i;

	(void)state;
	/* The checksum: any one character changed, in key or checksum. */
	for (i = 0; i < 54; i++) {
		memcpy(a, RFC_ADDR, ONION_ADDR_LEN + 1);
		a[i] = a[i] == 'a' ? 'b' : 'a';
		check_bad(a, NULL);
	}
	memcpy(a, RFC_ADDR, ONION_ADDR_LEN + 1);
	a[40] = a[40] == 'q' ? 'r' : 'q';
	check_bad(a, "checksum");
	/* The version, each with a checksum right for it. */
	check_bad(V2_ADDR, "version 2");
	check_bad(V4_ADDR, "version 4");
	check_bad(V4_ADDR ".onion", "version");
	/* Checksums right, keys not: small order, and off the curve. */
	check_bad(IDENT_ADDR, "ed25519");
	check_bad(OFFCURVE_ADDR, "ed25519");
	/* Lengths and shapes. */
	check_bad("", "56");
	check_bad(".onion", NULL);
	check_bad("onion", NULL);
	check_bad(RFC_ADDR ".onion.", NULL);
	check_bad(RFC_ADDR ".", NULL);
	check_bad(RFC_ADDR "a", NULL);
	check_bad("5njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid",
	    NULL);
	check_bad("www." RFC_ADDR ".onion", NULL);
	check_bad(RFC_ADDR ".onio", NULL);
	check_bad(RFC_ADDR ".exit", NULL);
	check_bad("expyuzz4wqqyqhjn.onion", "a v2 onion address");
	check_bad("expyuzz4wqqyqhjn", "a v2 onion address");
	check_bad(" " RFC_ADDR, NULL);
	/* Not base32. */
	memcpy(a, RFC_ADDR, ONION_ADDR_LEN + 1);
	a[10] = '1';
	check_bad(a, "base32");
	a[10] = '=';
	check_bad(a, "base32");
	a[10] = '\xc3';
	check_bad(a, "base32");
}

static void
test_is_onion_host(void **state)
{
	(void)state;
	assert_true(onion_is_onion_host(RFC_ADDR ".onion"));
	assert_true(onion_is_onion_host("x.onion"));
	assert_true(onion_is_onion_host("X.ONION"));
	assert_true(onion_is_onion_host("a.b.OnIoN"));
	assert_false(onion_is_onion_host(RFC_ADDR));
	assert_false(onion_is_onion_host("onion"));
	assert_false(onion_is_onion_host("x.onion."));
	assert_false(onion_is_onion_host("x.onionx"));
	assert_false(onion_is_onion_host("example.com"));
	assert_false(onion_is_onion_host(""));
	assert_false(onion_is_onion_host("xonion"));
}

/* ---- client authorization ---- */

static void
test_client_key_parse(void **state)
{
	struct ferry_error err;
	unsigned char pub[32], want[32];
	char b32[ONION_X25519_B32_LEN + 1];

	(void)state;
	unhex_into(X25519_PK, want, 32);
	memset(&err, 0, sizeof(err));
	memset(pub, 0, sizeof(pub));
	assert_ok(onion_client_key_parse("descriptor:x25519:" X25519_B32, pub,
	    &err));
	assert_memory_equal(pub, want, 32);
	memset(pub, 0, sizeof(pub));
	assert_ok(onion_client_key_parse(X25519_B32, pub, &err));
	assert_memory_equal(pub, want, 32);
	memset(pub, 0, sizeof(pub));
	assert_ok(onion_client_key_parse("descriptor:x25519:quqpacmjgctvi5elpx"
	    "olipxxlig36oqney4bv5hlusuy5ku3jzva", pub, &err));
	assert_memory_equal(pub, want, 32);
	/* And back: upper case, 52 characters. */
	memset(b32, 'Z', sizeof(b32));
	onion_client_key_b32(want, b32);
	assert_string_equal(b32, X25519_B32);
}

static void
test_client_key_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"descriptor:x25519:",
		"descriptor:ed25519:" X25519_B32,
		"Descriptor:x25519:" X25519_B32,
		"descriptor:x25519 " X25519_B32,
		"x25519:" X25519_B32,
		X25519_B32 "A",
		"QUQPACMJGCTVI5ELPXOLIPXXLIG36OQNEY4BV5HLUSUY5KU3JZV",
		/* The four bits past the key must be zero. */
		"QUQPACMJGCTVI5ELPXOLIPXXLIG36OQNEY4BV5HLUSUY5KU3JZVB",
		"QUQPACMJGCTVI5ELPXOLIPXXLIG36OQNEY4BV5HLUSUY5KU3JZVP",
		"QUQPACMJGCTVI5ELPXOLIPXXLIG36OQNEY4BV5HLUSUY5KU3JZV1",
		"QUQPACMJGCTVI5ELPXOLIPXXLIG36OQNEY4BV5HLUSUY5KU3JZV=",
		" " X25519_B32,
		"descriptor:x25519:" X25519_B32 " ",
	};
	struct ferry_error err;
	unsigned char pub[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (onion_client_key_parse(bad[i], pub, &err) !=
		    FERRY_ERR_INVALID_ARG)
			fail_msg("\"%s\" taken", bad[i]);
		assert_int_equal(err.code, FERRY_ERR_INVALID_ARG);
	}
}

/* The public key is X25519 of the private one, by two libraries. */
static void
test_client_keypair(void **state)
{
	unsigned char pub[32], priv[32], check[32], pub2[32], priv2[32];
	unsigned char ossl[32];
	char b32[ONION_X25519_B32_LEN + 1];
	struct ferry_error err;
	EVP_PKEY *pk;
	size_t len = sizeof(ossl);
	int round;

	(void)state;
	for (round = 0; round < 8; round++) {
		onion_client_keypair(pub, priv);
		assert_int_equal(crypto_scalarmult_base(check, priv), 0);
		assert_memory_equal(pub, check, 32);
		assert_non_null(pk = EVP_PKEY_new_raw_private_key(
		    EVP_PKEY_X25519, NULL, priv, sizeof(priv)));
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, ossl, &len),
		    1);
		assert_int_equal(len, 32);
		EVP_PKEY_free(pk);
		assert_memory_equal(pub, ossl, 32);
		/* It survives its own text form. */
		onion_client_key_b32(pub, b32);
		assert_int_equal(strlen(b32), ONION_X25519_B32_LEN);
		memset(&err, 0, sizeof(err));
		assert_ok(onion_client_key_parse(b32, check, &err));
		assert_memory_equal(check, pub, 32);
		sodium_memzero(priv, sizeof(priv));
	}
	onion_client_keypair(pub, priv);
	onion_client_keypair(pub2, priv2);
	assert_memory_not_equal(priv, priv2, 32);
	assert_memory_not_equal(pub, pub2, 32);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(priv2, sizeof(priv2));
}

/* ---- libsodium's initialisation ---- */

/*
 * Run as this program's whole work when started with UNIT_NO_INIT_ARG and a
 * directory (the parent test's, which it removes): make a key, save it
 * and load it back, the first use of libsodium in the process.  The exit
 * status says how far it got.
 */
static int
child_without_init(const char *dir)
{
	char path[UNIT_DIR_MAX + 32];
	struct ferry_error err;
	struct onion_hskey *k = NULL;
	int r = 0;

	memset(&err, 0, sizeof(err));
	if (onion_hskey_generate(&k, &err) != 0)
		return 2;
	snprintf(path, sizeof(path), "%s/hs_ed25519_secret_key", dir);
	if (onion_hskey_save_new(k, path, &err) != 0)
		r = 4;
	onion_hskey_free(k);
	k = NULL;
	if (r == 0 && onion_hskey_load(path, &k, &err) != 0)
		r = 5;
	onion_hskey_free(k);
	return r;
}

/*
 * onion_hskey_generate() and onion_hskey_load() allocate with
 * sodium_malloc(), which aborts the process when libsodium was never
 * initialised (libsodium 1.0.18: its page size is still 0), so onion/
 * calls sodium_init() itself, as every lib/ module that needs libsodium
 * does: a program may use onion/ before anything else.  This test runs
 * itself again, so that the child's first libsodium call is onion/'s.
 * (test_onion_control checks the same for onion/control.c.)
 */
static void
test_works_without_sodium_init(void **state)
{
	struct fx *f = *state;

	unit_run_without_init("test_onion_hskey", f->dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, unit_fx_teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base32_rfc4648),
		cmocka_unit_test(test_base32_round_trip),
		cmocka_unit_test(test_base32_strict),
		cmocka_unit_test(test_base32_noncanonical_length),
		T(test_generate_save_load),
		T(test_save_new_refuses_existing),
		T(test_load_refusals),
		T(test_load_fifo),
		T(test_known_answer_rfc8032),
		T(test_known_answer_other),
		cmocka_unit_test(test_blob_format),
		cmocka_unit_test(test_address_check_good),
		cmocka_unit_test(test_address_check_bad),
		cmocka_unit_test(test_is_onion_host),
		cmocka_unit_test(test_client_key_parse),
		cmocka_unit_test(test_client_key_parse_bad),
		cmocka_unit_test(test_client_keypair),
		T(test_works_without_sodium_init),
	};

	if (argc == 3 && strcmp(argv[1], UNIT_NO_INIT_ARG) == 0)
		return child_without_init(argv[2]);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

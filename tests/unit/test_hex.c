/* Unit tests for lib/hex.c. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/err.h"
#include "lib/hex.h"

static void
test_encode_known(void **state)
{
	const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'Z', sizeof(out));
	ferry_hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
}

static void
test_encode_empty(void **state)
{
	char out[1] = { 'Z' };

	(void)state;
	ferry_hex_encode((const unsigned char *)"", 0, out);
	assert_int_equal(out[0], '\0');
}

/* Encode writes exactly 2 * len + 1 bytes, no more. */
static void
test_encode_no_overrun(void **state)
{
	const unsigned char in[3] = { 0xde, 0xad, 0xbe };
	char out[16];

	(void)state;
	memset(out, 'Z', sizeof(out));
	ferry_hex_encode(in, sizeof(in), out);
	assert_memory_equal(out, "deadbe", 7);
	assert_int_equal(out[7], 'Z');
}

/* Every byte value round-trips and encodes as two lowercase digits. */
static void
test_every_byte_value(void **state)
{
	unsigned char in[256], back[256];
	char hex[513], want[3];
	size_t outlen = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	ferry_hex_encode(in, sizeof(in), hex);
	assert_int_equal(strlen(hex), 512);
	for (i = 0; i < 256; i++) {
		static const char d[] = "0123456789abcdef";

		want[0] = d[i >> 4];
		want[1] = d[i & 15];
		want[2] = '\0';
		assert_memory_equal(hex + 2 * i, want, 2);
	}
	memset(back, 0, sizeof(back));
	assert_int_equal(ferry_hex_decode(hex, 512, back, sizeof(back),
	    &outlen), 0);
	assert_int_equal(outlen, 256);
	assert_memory_equal(back, in, sizeof(in));
}

static void
test_decode_round_trip_lengths(void **state)
{
	unsigned char in[40], back[40];
	char hex[81];
	size_t n, i, outlen;

	(void)state;
	memset(in, 0, sizeof(in));
	for (n = 0; n <= sizeof(in); n++) {
		for (i = 0; i < n; i++)
			in[i] = (unsigned char)(i * 37 + n);
		ferry_hex_encode(in, n, hex);
		assert_int_equal(strlen(hex), 2 * n);
		outlen = 9999;
		assert_int_equal(ferry_hex_decode(hex, 2 * n, back, n, &outlen),
		    0);
		assert_int_equal(outlen, n);
		if (n > 0)
			assert_memory_equal(back, in, n);
	}
}

static void
test_decode_uppercase_and_mixed(void **state)
{
	unsigned char out[8];
	const unsigned char want[] = { 0xab, 0xcd, 0xef, 0x0a, 0xf9 };
	size_t outlen = 0;

	(void)state;
	assert_int_equal(ferry_hex_decode("ABCDEF0AF9", 10, out, sizeof(out),
	    &outlen), 0);
	assert_int_equal(outlen, 5);
	assert_memory_equal(out, want, 5);
	assert_int_equal(ferry_hex_decode("aBcDeF0aF9", 10, out, sizeof(out),
	    &outlen), 0);
	assert_memory_equal(out, want, 5);
}

static void
test_decode_empty(void **state)
{
	unsigned char out[1] = { 0x55 };
	size_t outlen = 1234;

	(void)state;
	assert_int_equal(ferry_hex_decode("", 0, out, sizeof(out), &outlen), 0);
	assert_int_equal(outlen, 0);
	assert_int_equal(out[0], 0x55);
	/* Zero capacity is enough for zero bytes. */
	outlen = 1234;
	assert_int_equal(ferry_hex_decode("", 0, out, 0, &outlen), 0);
	assert_int_equal(outlen, 0);
}

static void
test_decode_odd_length(void **state)
{
	unsigned char out[8];
	size_t outlen = 77;

	(void)state;
	assert_int_equal(ferry_hex_decode("abc", 3, out, sizeof(out), &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hex_decode("a", 1, out, sizeof(out), &outlen),
	    FERRY_ERR_INVALID_ARG);
	/* inlen counts, not the NUL: "abcd" with inlen 3 is odd. */
	assert_int_equal(ferry_hex_decode("abcd", 3, out, sizeof(out), &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(outlen, 77);
}

static void
test_decode_non_hex(void **state)
{
	static const char *const bad[] = {
		"0g", "g0", "zz", " 0", "0 ", "0x", "-1", "+1", "0\n",
		"\xc3\xa9", "ab:d", "G0", "@0", "`0", "/0", ":0", "[0", "{0",
	};
	unsigned char out[8];
	size_t i, outlen = 77;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ferry_hex_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), &outlen), FERRY_ERR_INVALID_ARG);
	/* A NUL inside the counted length is not a digit either. */
	assert_int_equal(ferry_hex_decode("a\0bc", 4, out, sizeof(out),
	    &outlen), FERRY_ERR_INVALID_ARG);
	/* Bad digit at the very end. */
	assert_int_equal(ferry_hex_decode("00112g", 6, out, sizeof(out),
	    &outlen), FERRY_ERR_INVALID_ARG);
	assert_int_equal(outlen, 77);
}

static void
test_decode_too_small(void **state)
{
	unsigned char out[4] = { 1, 2, 3, 4 };
	size_t outlen = 77;

	(void)state;
	assert_int_equal(ferry_hex_decode("0011223344", 10, out, 4, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hex_decode("00", 2, out, 0, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(outlen, 77);
	/* Exactly enough room works. */
	assert_int_equal(ferry_hex_decode("00112233", 8, out, 4, &outlen), 0);
	assert_int_equal(outlen, 4);
	assert_int_equal(out[3], 0x33);
}

static void
test_decode_null_args(void **state)
{
	unsigned char out[4];
	size_t outlen;

	(void)state;
	assert_int_equal(ferry_hex_decode(NULL, 0, out, 4, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hex_decode("00", 2, NULL, 4, &outlen),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_hex_decode("00", 2, out, 4, NULL),
	    FERRY_ERR_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_known),
		cmocka_unit_test(test_encode_empty),
		cmocka_unit_test(test_encode_no_overrun),
		cmocka_unit_test(test_every_byte_value),
		cmocka_unit_test(test_decode_round_trip_lengths),
		cmocka_unit_test(test_decode_uppercase_and_mixed),
		cmocka_unit_test(test_decode_empty),
		cmocka_unit_test(test_decode_odd_length),
		cmocka_unit_test(test_decode_non_hex),
		cmocka_unit_test(test_decode_too_small),
		cmocka_unit_test(test_decode_null_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

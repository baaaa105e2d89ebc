#include "config.h"

#include "err.h"
#include "hex.h"

void
ferry_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ferry_hex_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outcap, size_t *outlen)
{
	size_t i;
	int hi, lo;

	if (in == NULL || out == NULL || outlen == NULL || inlen % 2 != 0 ||
	    inlen / 2 > outcap)
		return FERRY_ERR_INVALID_ARG;
	for (i = 0; i < inlen / 2; i++) {
		if ((hi = nibble(in[2 * i])) < 0 ||
		    (lo = nibble(in[2 * i + 1])) < 0)
			return FERRY_ERR_INVALID_ARG;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = inlen / 2;
	return 0;
}

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static const char *const messages[] = {
	[0] = "success",
	[-FERRY_ERR_INTERNAL] = "internal error",
	[-FERRY_ERR_NOMEM] = "out of memory",
	[-FERRY_ERR_INVALID_ARG] = "invalid argument",
	[-FERRY_ERR_IO] = "input/output error",
	[-FERRY_ERR_JSON] = "malformed JSON",
	[-FERRY_ERR_JSON_FLOAT] = "non-integer number in JSON",
	[-FERRY_ERR_JSON_DEPTH] = "JSON nested too deeply",
	[-FERRY_ERR_TOO_LARGE] = "input too large",
	[-FERRY_ERR_META_FIELD] = "invalid metadata field",
	[-FERRY_ERR_META_TYPE] = "unexpected metadata type",
	[-FERRY_ERR_SPEC_VERSION] = "unsupported TUF specification version",
	[-FERRY_ERR_KEY] = "malformed public key",
	[-FERRY_ERR_KEY_UNSUPPORTED] = "unsupported key type or scheme",
	[-FERRY_ERR_SIG_MALFORMED] = "malformed signature",
	[-FERRY_ERR_SIG_BAD] = "signature verification failed",
	[-FERRY_ERR_THRESHOLD] = "signature threshold not met",
	[-FERRY_ERR_UNKNOWN_ROLE] = "unknown role",
	[-FERRY_ERR_HASH_MISMATCH] = "hash mismatch",
	[-FERRY_ERR_LENGTH_MISMATCH] = "length mismatch",
	[-FERRY_ERR_HASH_UNSUPPORTED] = "unsupported hash algorithm",
	[-FERRY_ERR_CRYPTO] = "cryptographic library error",
	[-FERRY_ERR_NOT_FOUND] = "not found",
	[-FERRY_ERR_FETCH] = "download failed",
	[-FERRY_ERR_TIMEOUT] = "download too slow or timed out",
	[-FERRY_ERR_EXPIRED] = "metadata expired",
	[-FERRY_ERR_ROLLBACK] = "rollback: version went backwards",
	[-FERRY_ERR_VERSION] = "unexpected metadata version",
	[-FERRY_ERR_REPOSITORY] = "inconsistent repository",
	[-FERRY_ERR_PASSPHRASE] = "wrong passphrase or altered key file",
	[-FERRY_ERR_KEYFILE] = "malformed key file",
	[-FERRY_ERR_DATABASE] = "catalog database error",
	[-FERRY_ERR_TOR] = "tor control port error",
};

/* Adding a code without its message breaks the build, not a user. */
_Static_assert(sizeof(messages) / sizeof(messages[0]) == -FERRY_ERR__LAST,
    "every error code needs a message");

const char *
ferry_strerror(int r)
{
	if (r > 0 || r <= FERRY_ERR__LAST || messages[-r] == NULL)
		return "unknown error";
	return messages[-r];
}

/*
 * Details quote untrusted input (keys, role names, paths) and end up on
 * terminals and in logs: no control character may pass through, C0, DEL,
 * C1 (U+0080..U+009F, where U+009B acts as CSI on some terminals), nor
 * the bidirectional overrides that make text read other than it is
 * (U+202A..U+202E, U+2066..U+2069).  Each becomes '?', byte for byte.
 */
static void
sanitise(char *msg)
{
	unsigned char *p = (unsigned char *)msg;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
		else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa &&
		    p[2] <= 0xae)
			p[0] = p[1] = p[2] = '?';
		else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 &&
		    p[2] <= 0xa9)
			p[0] = p[1] = p[2] = '?';
	}
}

int
ferry_error_set(struct ferry_error *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->msg[0] != '\0')
		return r;
	err->code = r;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	sanitise(err->msg);
	return r;
}

void
ferry_error_clear(struct ferry_error *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}

const char *
ferry_error_msg(const struct ferry_error *err)
{
	if (err == NULL)
		return "unknown error";
	if (err->msg[0] != '\0')
		return err->msg;
	return ferry_strerror(err->code);
}

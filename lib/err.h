/*
 * Ferry error codes.
 *
 * Every lib/ function that can fail returns 0 or one of these negative
 * codes; ferry_strerror() gives the one fixed message for each code.
 * Functions that can say more (which field of which file was wrong) also
 * fill a caller-provided struct ferry_error.  lib/ never prints or exits:
 * only a program's main decides what the user sees.
 */
#ifndef FERRY_ERR_H
#define FERRY_ERR_H

#include <stddef.h>

enum ferry_err {
	FERRY_OK = 0,
	FERRY_ERR_INTERNAL = -1,	/* a bug: an invariant did not hold */
	FERRY_ERR_NOMEM = -2,
	FERRY_ERR_INVALID_ARG = -3,	/* caller passed something unusable */
	FERRY_ERR_IO = -4,		/* a system call failed; see errno */
	FERRY_ERR_JSON = -5,		/* not well-formed JSON */
	FERRY_ERR_JSON_FLOAT = -6,	/* a number that is not an integer */
	FERRY_ERR_JSON_DEPTH = -7,	/* nesting deeper than allowed */
	FERRY_ERR_TOO_LARGE = -8,	/* input over its size limit */
	FERRY_ERR_META_FIELD = -9,	/* metadata field missing or malformed */
	FERRY_ERR_META_TYPE = -10,	/* metadata of an unexpected _type */
	FERRY_ERR_SPEC_VERSION = -11,	/* unsupported spec_version */
	FERRY_ERR_KEY = -12,		/* malformed public key */
	FERRY_ERR_KEY_UNSUPPORTED = -13, /* key type or scheme not supported */
	FERRY_ERR_SIG_MALFORMED = -14,	/* signature not decodable */
	FERRY_ERR_SIG_BAD = -15,	/* signature does not verify */
	FERRY_ERR_THRESHOLD = -16,	/* fewer valid signatures than required */
	FERRY_ERR_UNKNOWN_ROLE = -17,	/* no such role or delegation */
	FERRY_ERR_HASH_MISMATCH = -18,
	FERRY_ERR_LENGTH_MISMATCH = -19,
	FERRY_ERR_HASH_UNSUPPORTED = -20,
	FERRY_ERR_CRYPTO = -21,		/* the crypto library failed */
	FERRY_ERR_NOT_FOUND = -22,
	FERRY_ERR_FETCH = -23,		/* a download failed */
	FERRY_ERR_TIMEOUT = -24,	/* too slow, or past a deadline */
	FERRY_ERR_EXPIRED = -25,	/* metadata past its expiry */
	FERRY_ERR_ROLLBACK = -26,	/* a version went backwards */
	FERRY_ERR_VERSION = -27,	/* not the version that was expected */
	FERRY_ERR_REPOSITORY = -28,	/* the repository is inconsistent */
	FERRY_ERR_PASSPHRASE = -29,	/* wrong passphrase, or altered key */
	FERRY_ERR_KEYFILE = -30,	/* key file malformed or inconsistent */
	FERRY_ERR_DATABASE = -31,	/* the catalog database failed */
	FERRY_ERR_TOR = -32,		/* tor's control port failed or said no */
	FERRY_ERR__LAST = -33		/* not an error: one past the last */
};

/* The fixed message for code r (0 or negative); never NULL. */
const char *ferry_strerror(int r);

/*
 * Detail for the caller: the code, and a message naming what was wrong and
 * where, such as "signed.roles.root.threshold: must be an integer >= 1".
 */
struct ferry_error {
	int code;
	char msg[512];
};

/*
 * Record code r and a formatted detail in err (which may be NULL) and
 * return r, so that callers can write "return ferry_error_set(...)".
 * A detail already recorded is kept: the innermost failure is the most
 * precise, and outer layers only pass the code up.  Control bytes in the
 * detail become '?', since details quote untrusted input.
 */
int ferry_error_set(struct ferry_error *err, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forget any recorded error. */
void ferry_error_clear(struct ferry_error *err);

/*
 * The best one-line description of err: its detail if one was recorded,
 * else ferry_strerror(err->code).
 */
const char *ferry_error_msg(const struct ferry_error *err);

#endif

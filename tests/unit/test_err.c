/* Unit tests for lib/err.c: fixed messages and error detail recording. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/err.h"

#define UNKNOWN "unknown error"

/* Every code from FERRY_OK down to FERRY_ERR__LAST + 1 has its own message. */
static void
test_strerror_all_codes_distinct(void **state)
{
	int r, q;

	(void)state;
	for (r = FERRY_OK; r > FERRY_ERR__LAST; r--) {
		const char *m = ferry_strerror(r);

		assert_non_null(m);
		assert_true(m[0] != '\0');
		assert_string_not_equal(m, UNKNOWN);
		for (q = FERRY_OK; q > r; q--)
			assert_string_not_equal(m, ferry_strerror(q));
	}
}

static void
test_strerror_known_values(void **state)
{
	(void)state;
	assert_string_equal(ferry_strerror(FERRY_OK), "success");
	assert_string_equal(ferry_strerror(FERRY_ERR_NOMEM), "out of memory");
	assert_string_equal(ferry_strerror(FERRY_ERR_HASH_MISMATCH),
	    "hash mismatch");
	/* The last real code is in range. */
	assert_string_not_equal(ferry_strerror(FERRY_ERR__LAST + 1), UNKNOWN);
	assert_string_equal(ferry_strerror(FERRY_ERR__LAST + 1),
	    ferry_strerror(FERRY_ERR_TOR));
}

static void
test_strerror_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(ferry_strerror(1), UNKNOWN);
	assert_string_equal(ferry_strerror(2), UNKNOWN);
	assert_string_equal(ferry_strerror(FERRY_ERR__LAST), UNKNOWN);
	assert_string_equal(ferry_strerror(FERRY_ERR__LAST - 1), UNKNOWN);
	assert_string_equal(ferry_strerror(-1000), UNKNOWN);
	assert_string_equal(ferry_strerror(INT32_MIN), UNKNOWN);
	assert_string_equal(ferry_strerror(INT32_MAX), UNKNOWN);
}

static void
test_error_set_returns_code_and_formats(void **state)
{
	struct ferry_error err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_error_set(&err, FERRY_ERR_META_FIELD,
	    "%s.%s: must be %d", "signed", "version", 7), FERRY_ERR_META_FIELD);
	assert_int_equal(err.code, FERRY_ERR_META_FIELD);
	assert_string_equal(err.msg, "signed.version: must be 7");
	assert_string_equal(ferry_error_msg(&err), "signed.version: must be 7");
}

/* The first (innermost) detail wins; outer layers only pass the code on. */
static void
test_error_set_keeps_first(void **state)
{
	struct ferry_error err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_error_set(&err, FERRY_ERR_JSON_FLOAT,
	    "inner %d", 1), FERRY_ERR_JSON_FLOAT);
	/* A later call still returns its own code ... */
	assert_int_equal(ferry_error_set(&err, FERRY_ERR_NOMEM, "outer %d", 2),
	    FERRY_ERR_NOMEM);
	assert_int_equal(ferry_error_set(&err, FERRY_ERR_IO, "outermost"),
	    FERRY_ERR_IO);
	/* ... but the recorded detail and code are the first ones. */
	assert_string_equal(err.msg, "inner 1");
	assert_int_equal(err.code, FERRY_ERR_JSON_FLOAT);
	assert_string_equal(ferry_error_msg(&err), "inner 1");
}

static void
test_error_clear(void **state)
{
	struct ferry_error err;

	(void)state;
	memset(&err, 0, sizeof(err));
	(void)ferry_error_set(&err, FERRY_ERR_KEY, "first");
	ferry_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_int_equal(err.msg[0], '\0');
	assert_string_equal(ferry_error_msg(&err), "success");
	/* After clearing, a new detail is recorded. */
	(void)ferry_error_set(&err, FERRY_ERR_SIG_BAD, "second");
	assert_int_equal(err.code, FERRY_ERR_SIG_BAD);
	assert_string_equal(err.msg, "second");
	ferry_error_clear(NULL);	/* must not crash */
}

static void
test_error_null_err(void **state)
{
	(void)state;
	assert_int_equal(ferry_error_set(NULL, FERRY_ERR_IO, "x %s", "y"),
	    FERRY_ERR_IO);
	assert_int_equal(ferry_error_set(NULL, 0, "nothing"), 0);
	assert_string_equal(ferry_error_msg(NULL), UNKNOWN);
}

/* No detail: the message is the fixed text for the code. */
static void
test_error_msg_fallback(void **state)
{
	struct ferry_error err;
	int r;

	(void)state;
	for (r = FERRY_OK; r > FERRY_ERR__LAST; r--) {
		memset(&err, 0, sizeof(err));
		err.code = r;
		assert_string_equal(ferry_error_msg(&err), ferry_strerror(r));
	}
	memset(&err, 0, sizeof(err));
	err.code = -1000;
	assert_string_equal(ferry_error_msg(&err), UNKNOWN);
}

/* An over-long detail is cut, NUL-terminated inside msg, no overflow. */
static void
test_error_truncation(void **state)
{
	struct {
		struct ferry_error err;
		unsigned char guard[64];
	} s;
	char big[2000];
	size_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(s.guard, 0xa5, sizeof(s.guard));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ferry_error_set(&s.err, FERRY_ERR_TOO_LARGE,
	    "%s-%s", big, big), FERRY_ERR_TOO_LARGE);
	assert_int_equal(s.err.code, FERRY_ERR_TOO_LARGE);
	assert_int_equal(strlen(s.err.msg), sizeof(s.err.msg) - 1);
	assert_int_equal(s.err.msg[sizeof(s.err.msg) - 1], '\0');
	for (i = 0; i < sizeof(s.err.msg) - 1; i++)
		assert_int_equal(s.err.msg[i], 'x');
	for (i = 0; i < sizeof(s.guard); i++)
		assert_int_equal(s.guard[i], 0xa5);
	/* Exactly 511 characters fit without loss. */
	memset(&s.err, 0, sizeof(s.err));
	big[511] = '\0';
	(void)ferry_error_set(&s.err, FERRY_ERR_IO, "%s", big);
	assert_int_equal(strlen(s.err.msg), 511);
}

/* Details quote untrusted text: terminal controls must not survive. */
static void
test_sanitised_detail(void **state)
{
	struct ferry_error err;

	(void)state;
	memset(&err, 0, sizeof(err));
	ferry_error_set(&err, FERRY_ERR_META_FIELD, "role %s end",
	    "a\x1b[2Jb\r\nc\x7f \xc2\x9b" "31m \xe2\x80\xae \xe2\x81\xa6 \xc3\xa9");
	assert_string_equal(err.msg, "role a?[2Jb??c? ??31m ??? ??? \xc3\xa9" " end");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitised_detail),
		cmocka_unit_test(test_strerror_all_codes_distinct),
		cmocka_unit_test(test_strerror_known_values),
		cmocka_unit_test(test_strerror_out_of_range),
		cmocka_unit_test(test_error_set_returns_code_and_formats),
		cmocka_unit_test(test_error_set_keeps_first),
		cmocka_unit_test(test_error_clear),
		cmocka_unit_test(test_error_null_err),
		cmocka_unit_test(test_error_msg_fallback),
		cmocka_unit_test(test_error_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for lib/json.c: parsing policy and OLPC canonical JSON as
 * securesystemslib writes it.  The golden vectors below are written by
 * hand from the rules (no whitespace; only '"' and '\\' escaped, every
 * other byte raw; integers only; keys sorted bytewise by UTF-8 bytes;
 * arrays in order), not produced by the code under test.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/json.h"

#define LIMIT (1u << 20)

/* ---- helpers ---- */

/*
 * Encode v and compare with want; frees everything before returning, so
 * the callers can decref and then fail without leaking.  Returns 0 on a
 * match, else -1 with the reason in why.
 */
static int
canon_compare(const json_t *v, const char *want, size_t wantlen, char *why,
    size_t whycap)
{
	struct ferry_error err;
	unsigned char *out = NULL;
	size_t outlen = 0;
	int r, ok;

	memset(&err, 0, sizeof(err));
	r = ferry_json_canonical(v, &out, &outlen, &err);
	if (r != 0) {
		snprintf(why, whycap, "ferry_json_canonical: %d (%s)", r,
		    ferry_error_msg(&err));
		return -1;
	}
	if (out == NULL) {
		snprintf(why, whycap, "success without output");
		return -1;
	}
	ok = outlen == wantlen && memcmp(out, want, wantlen) == 0 &&
	    out[outlen] == '\0';
	if (!ok)
		snprintf(why, whycap, "want (%zu): %.*s\ngot  (%zu): %.*s%s",
		    wantlen, (int)wantlen, want, outlen, (int)outlen,
		    (const char *)out, out[outlen] == '\0' ? "" :
		    " [not NUL-terminated]");
	free(out);
	return ok ? 0 : -1;
}

static void
check_canon_value(const json_t *v, const char *want, size_t wantlen)
{
	char why[2048];

	if (canon_compare(v, want, wantlen, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

static json_t *
parse_ok(const char *in, size_t inlen)
{
	struct ferry_error err;
	json_t *v = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_json_parse(in, inlen, LIMIT, &v, &err);
	if (r != 0)
		fail_msg("ferry_json_parse(%.*s): %d (%s)", (int)inlen, in, r,
		    ferry_error_msg(&err));
	assert_non_null(v);
	return v;
}

static void
check_canon_text(const char *in, size_t inlen, const char *want,
    size_t wantlen)
{
	json_t *v = parse_ok(in, inlen);
	char why[2048];
	int r = canon_compare(v, want, wantlen, why, sizeof(why));

	json_decref(v);
	if (r != 0)
		fail_msg("%s", why);
}

/* Both arguments string literals; embedded NULs allowed. */
#define CANON(in, want) \
	check_canon_text((in), sizeof(in) - 1, (want), sizeof(want) - 1)
#define CANON_V(v, want) check_canon_value((v), (want), sizeof(want) - 1)

static int
parse_err(const char *in, size_t inlen, struct ferry_error *err)
{
	json_t *v = NULL;
	int r;

	memset(err, 0, sizeof(*err));
	r = ferry_json_parse(in, inlen, LIMIT, &v, err);
	if (r == 0) {
		json_decref(v);
		return 0;
	}
	assert_null(v);
	return r;
}

#define PARSE_ERR(in, err) parse_err((in), sizeof(in) - 1, (err))

static int
canon_err(const json_t *v, struct ferry_error *err)
{
	unsigned char *out = NULL;
	size_t outlen = 0;
	int r;

	memset(err, 0, sizeof(*err));
	r = ferry_json_canonical(v, &out, &outlen, err);
	if (r == 0)
		free(out);
	else
		assert_null(out);
	return r;
}

/* Encode, free, then report: no leak even when the assertion fails. */
static int
canon_err_decref(json_t *v, struct ferry_error *err)
{
	int r = canon_err(v, err);

	json_decref(v);
	return r;
}

static int
canon_text_err(const char *in, size_t inlen, struct ferry_error *err)
{
	json_t *v = parse_ok(in, inlen);
	int r = canon_err(v, err);

	json_decref(v);
	return r;
}

#define CANON_ERR(in, err) canon_text_err((in), sizeof(in) - 1, (err))

/* ---- canonical encoding: golden vectors ---- */

static void
test_canon_no_whitespace(void **state)
{
	(void)state;
	CANON(" {\n\t\"b\" : 1 ,\r\n \"a\" : [ true , false , null ] } ",
	    "{\"a\":[true,false,null],\"b\":1}");
	CANON("[ ]", "[]");
	CANON("{ }", "{}");
	CANON("[ \"a b\" , \" \" ]", "[\"a b\",\" \"]");
}

static void
test_canon_key_order_bytewise(void **state)
{
	(void)state;
	/* 'A' 41 < '_' 5F < 'a' 61 < 'z' 7A < "é" C3 A9. */
	CANON("{\"z\":1,\"\xc3\xa9\":2,\"a\":3,\"A\":4,\"_\":5}",
	    "{\"A\":4,\"_\":5,\"a\":3,\"z\":1,\"\xc3\xa9\":2}");
	CANON("{\"\\u00e9\":2,\"z\":1}", "{\"z\":1,\"\xc3\xa9\":2}");
	/*
	 * U+FFFF is EF BF BF, U+1F600 is F0 9F 98 80: bytewise EF < F0.
	 * (UTF-16 code-unit order would put U+1F600, D83D DE00, first.)
	 */
	CANON("{\"\\uffff\":1,\"\\ud83d\\ude00\":2}",
	    "{\"\xef\xbf\xbf\":1,\"\xf0\x9f\x98\x80\":2}");
	CANON("{\"\\ud83d\\ude00\":2,\"\\uffff\":1}",
	    "{\"\xef\xbf\xbf\":1,\"\xf0\x9f\x98\x80\":2}");
	CANON("{\"\xf0\x9f\x98\x80\":2,\"\xef\xbf\xbf\":1}",
	    "{\"\xef\xbf\xbf\":1,\"\xf0\x9f\x98\x80\":2}");
	/* Prefixes sort first; the empty key first of all. */
	CANON("{\"aa\":1,\"a\":2,\"\":3,\"ab\":4,\"a\\u0001\":5,\"b\":6}",
	    "{\"\":3,\"a\":2,\"a\x01\":5,\"aa\":1,\"ab\":4,\"b\":6}");
	/* U+E000 (EE 80 80) < U+FFFF < U+10000 (F0 90 80 80) < U+1F600. */
	CANON("{\"\\ud83d\\ude00\":1,\"\\ud800\\udc00\":2,\"\\uffff\":3,"
	    "\"\\ue000\":4,\"\\u007f\":5,\"\\u0080\":6}",
	    "{\"\x7f\":5,\"\xc2\x80\":6,\"\xee\x80\x80\":4,\"\xef\xbf\xbf\":3,"
	    "\"\xf0\x90\x80\x80\":2,\"\xf0\x9f\x98\x80\":1}");
	/* Sorted at every level. */
	CANON("{\"b\":{\"y\":1,\"x\":2},\"a\":[{\"d\":1,\"c\":2}]}",
	    "{\"a\":[{\"c\":2,\"d\":1}],\"b\":{\"x\":2,\"y\":1}}");
}

static void
test_canon_many_keys(void **state)
{
	json_t *o = json_object();
	char key[16], *want, *p;
	size_t i, j, cap = 1000 * 16 + 16;

	(void)state;
	/* Insert in a scrambled order. */
	for (i = 0; i < 1000; i++) {
		j = (i * 379) % 1000;
		snprintf(key, sizeof(key), "k%04zu", j);
		assert_int_equal(json_object_set_new(o, key,
		    json_integer((json_int_t)j)), 0);
	}
	want = malloc(cap);
	assert_non_null(want);
	p = want;
	*p++ = '{';
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s\"k%04zu\":%zu", i ? "," : "", i, i);
	*p++ = '}';
	*p = '\0';
	{
		char why[20000];
		int r = canon_compare(o, want, strlen(want), why, sizeof(why));

		free(want);
		json_decref(o);
		if (r != 0)
			fail_msg("%s", why);
	}
}

static void
test_canon_escapes(void **state)
{
	(void)state;
	/* Only '"' and '\\' are escaped; "/" and "\/" both come out raw. */
	CANON("[\"\\\"\",\"\\\\\",\"/\",\"\\/\",\"a\\\"b\\\\c\",\"\\\\\\\"\"]",
	    "[\"\\\"\",\"\\\\\",\"/\",\"/\",\"a\\\"b\\\\c\",\"\\\\\\\"\"]");
	/* Keys are escaped the same way. */
	CANON("{\"q\\\"k\":1,\"b\\\\s\":2}",
	    "{\"b\\\\s\":2,\"q\\\"k\":1}");
}

static void
test_canon_control_bytes_raw(void **state)
{
	(void)state;
	CANON("[\"\\u0001\\n\\t\\u001f\\u007f\"]",
	    "[\"\x01\n\t\x1f\x7f\"]");
	CANON("[\"\\b\\f\\r\\u0002x\"]", "[\"\b\f\r\x02" "x\"]");
	CANON("{\"\\n\":\"\\u001b\"}", "{\"\n\":\"\x1b\"}");
}

static void
test_canon_nul_raw(void **state)
{
	json_t *v;

	(void)state;
	/* "\u0000" is accepted by ferry_json_parse and written raw. */
	CANON("{\"k\":\"a\\u0000b\"}", "{\"k\":\"a\0b\"}");
	CANON("[\"\\u0000\"]", "[\"\0\"]");
	CANON("[\"\\u0000\\u0000\",\"x\"]", "[\"\0\0\",\"x\"]");
	/* Keys with NUL can only come from the API; sorted by all bytes. */
	v = json_object();
	assert_int_equal(json_object_setn_new(v, "a\0b", 3, json_integer(1)),
	    0);
	assert_int_equal(json_object_setn_new(v, "a", 1, json_integer(2)), 0);
	assert_int_equal(json_object_setn_new(v, "\0", 1, json_integer(3)), 0);
	assert_int_equal(json_object_setn_new(v, "", 0, json_integer(4)), 0);
	/* Bytes after a NUL count: a C-string compare would see equals. */
	assert_int_equal(json_object_setn_new(v, "x\0b", 3, json_integer(5)),
	    0);
	assert_int_equal(json_object_setn_new(v, "x\0a", 3, json_integer(6)),
	    0);
	CANON_V(v, "{\"\":4,\"\0\":3,\"a\":2,\"a\0b\":1,\"x\0a\":6,\"x\0b\":5}");
	json_decref(v);
}

static void
test_canon_non_ascii_raw(void **state)
{
	(void)state;
	/* Raw UTF-8 in, raw out; escapes in, raw UTF-8 out. */
	CANON("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
	    "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
	CANON("[\"\\u00e9\\u20ac\\ud83d\\ude00\"]",
	    "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
	/* U+2028/U+2029 and a BOM are not escaped either. */
	CANON("[\"\\u2028\\u2029\\ufeff\"]",
	    "[\"\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\"]");
	CANON("[\"\\udbff\\udfff\"]", "[\"\xf4\x8f\xbf\xbf\"]");
}

static void
test_canon_integers(void **state)
{
	json_t *v;

	(void)state;
	CANON("[0,-0,1,-1,10,-10,255,256,2147483647,-2147483648,4294967296,"
	    "9007199254740993,9223372036854775807,-9223372036854775808]",
	    "[0,0,1,-1,10,-10,255,256,2147483647,-2147483648,4294967296,"
	    "9007199254740993,9223372036854775807,-9223372036854775808]");
	CANON("{\"n\":-9223372036854775808,\"m\":9223372036854775807}",
	    "{\"m\":9223372036854775807,\"n\":-9223372036854775808}");
	v = json_integer(INT64_MIN);
	CANON_V(v, "-9223372036854775808");
	json_decref(v);
	v = json_integer(INT64_MAX);
	CANON_V(v, "9223372036854775807");
	json_decref(v);
	v = json_integer(0);
	CANON_V(v, "0");
	json_decref(v);
}

static void
test_canon_literals_and_top_level(void **state)
{
	json_t *v;

	(void)state;
	CANON("[true,false,null]", "[true,false,null]");
	CANON("{\"t\":true,\"f\":false,\"n\":null}",
	    "{\"f\":false,\"n\":null,\"t\":true}");
	v = json_true();
	CANON_V(v, "true");
	v = json_false();
	CANON_V(v, "false");
	v = json_null();
	CANON_V(v, "null");
	v = json_string("s\"/");
	CANON_V(v, "\"s\\\"/\"");
	json_decref(v);
	v = json_string("");
	CANON_V(v, "\"\"");
	json_decref(v);
	v = json_object();
	CANON_V(v, "{}");
	json_decref(v);
	v = json_array();
	CANON_V(v, "[]");
	json_decref(v);
}

static void
test_canon_nested_empty_and_order(void **state)
{
	(void)state;
	CANON("{\"a\":{},\"b\":[],\"c\":[{},[],[[]],{\"d\":{}},[{}]]}",
	    "{\"a\":{},\"b\":[],\"c\":[{},[],[[]],{\"d\":{}},[{}]]}");
	CANON("[3,1,2,\"b\",\"a\",[2,1],{\"b\":1,\"a\":2}]",
	    "[3,1,2,\"b\",\"a\",[2,1],{\"a\":2,\"b\":1}]");
	CANON("{\"\":{\"\":[]}}", "{\"\":{\"\":[]}}");
}

/* A TUF-shaped document. */
static void
test_canon_tuf_like(void **state)
{
	(void)state;
	CANON("{\n"
	    "  \"signed\": {\n"
	    "    \"_type\": \"targets\",\n"
	    "    \"version\": 2,\n"
	    "    \"spec_version\": \"1.0.31\",\n"
	    "    \"expires\": \"2030-01-01T00:00:00Z\",\n"
	    "    \"targets\": {\n"
	    "      \"dir/file.bin\": {\n"
	    "        \"length\": 1050,\n"
	    "        \"hashes\": {\"sha512\": \"ab\", \"sha256\": \"cd\"},\n"
	    "        \"custom\": {\"z\": [1, 2], \"A\": null}\n"
	    "      }\n"
	    "    }\n"
	    "  },\n"
	    "  \"signatures\": []\n"
	    "}\n",
	    "{\"signatures\":[],\"signed\":{\"_type\":\"targets\","
	    "\"expires\":\"2030-01-01T00:00:00Z\",\"spec_version\":\"1.0.31\","
	    "\"targets\":{\"dir/file.bin\":{\"custom\":{\"A\":null,\"z\":[1,2]},"
	    "\"hashes\":{\"sha256\":\"cd\",\"sha512\":\"ab\"},\"length\":1050}},"
	    "\"version\":2}}");
}

static void
test_canon_bad_args(void **state)
{
	unsigned char *out = NULL;
	size_t outlen = 0;
	json_t *v = json_object();

	(void)state;
	assert_int_equal(ferry_json_canonical(NULL, &out, &outlen, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_json_canonical(v, NULL, &outlen, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_json_canonical(v, &out, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(out);
	/* err may be NULL. */
	assert_int_equal(ferry_json_canonical(v, &out, &outlen, NULL), 0);
	assert_int_equal(outlen, 2);
	free(out);
	json_decref(v);
}

/* ---- real numbers ---- */

static void
test_canon_real_rejected(void **state)
{
	struct ferry_error err;
	json_t *v;

	(void)state;
	v = json_real(1.5);
	assert_int_equal(canon_err(v, &err), FERRY_ERR_JSON_FLOAT);
	assert_int_equal(err.code, FERRY_ERR_JSON_FLOAT);
	assert_true(err.msg[0] != '\0');
	json_decref(v);
	/* Integral reals are still reals. */
	v = json_real(2.0);
	assert_int_equal(canon_err(v, &err), FERRY_ERR_JSON_FLOAT);
	json_decref(v);

	assert_int_equal(CANON_ERR("[1,2.5]", &err), FERRY_ERR_JSON_FLOAT);
	assert_int_equal(err.code, FERRY_ERR_JSON_FLOAT);
	assert_int_equal(CANON_ERR("[[[1e3]]]", &err), FERRY_ERR_JSON_FLOAT);
	assert_int_equal(CANON_ERR("{\"a\":1.0}", &err), FERRY_ERR_JSON_FLOAT);
	assert_int_equal(CANON_ERR("{\"a\":{\"b\":[0,{\"c\":-0.0}]}}", &err),
	    FERRY_ERR_JSON_FLOAT);
	/* After sorted-earlier good content, too. */
	assert_int_equal(CANON_ERR("{\"z\":0.5,\"a\":\"xxxxxxxxxxxxxxxxxxx\"}",
	    &err), FERRY_ERR_JSON_FLOAT);
	assert_int_equal(err.code, FERRY_ERR_JSON_FLOAT);
	/* NULL err. */
	v = json_real(0.25);
	{
		unsigned char *out = NULL;
		size_t outlen;

		assert_int_equal(ferry_json_canonical(v, &out, &outlen, NULL),
		    FERRY_ERR_JSON_FLOAT);
		assert_null(out);
	}
	json_decref(v);
}

/*
 * json.h: "err names the offending place as a JSON path"; json.c adds
 * "at key \"...\"" for this.  The detail must name the key holding the
 * real number.
 */
static void
test_canon_real_error_names_place(void **state)
{
	struct ferry_error err;

	(void)state;
	assert_int_equal(CANON_ERR("{\"weight\":1.5}", &err),
	    FERRY_ERR_JSON_FLOAT);
	if (strstr(err.msg, "weight") == NULL)
		fail_msg("err.msg does not name the key \"weight\": \"%s\"",
		    err.msg);
	assert_int_equal(CANON_ERR("{\"outer\":{\"inner\":2.0}}", &err),
	    FERRY_ERR_JSON_FLOAT);
	if (strstr(err.msg, "inner") == NULL)
		fail_msg("err.msg does not name the key \"inner\": \"%s\"",
		    err.msg);
}

/* ---- depth ---- */

static json_t *
nest_arrays(size_t n, json_t *leaf)
{
	json_t *v = leaf != NULL ? leaf : json_array();
	size_t i;

	for (i = leaf != NULL ? 0 : 1; i < n; i++) {
		json_t *w = json_array();

		assert_int_equal(json_array_append_new(w, v), 0);
		v = w;
	}
	return v;
}

static json_t *
nest_objects(size_t n)
{
	json_t *v = json_object();
	size_t i;

	for (i = 1; i < n; i++) {
		json_t *w = json_object();

		assert_int_equal(json_object_set_new(w, "a", v), 0);
		v = w;
	}
	return v;
}

/* n '[' then n ']'. */
static void
check_nested_arrays_ok(size_t n)
{
	json_t *v = nest_arrays(n, NULL);
	char *want = malloc(2 * n + 1);

	assert_non_null(want);
	memset(want, '[', n);
	memset(want + n, ']', n);
	want[2 * n] = '\0';
	{
		char why[2048];
		int r = canon_compare(v, want, 2 * n, why, sizeof(why));

		free(want);
		json_decref(v);
		if (r != 0)
			fail_msg("%zu nested arrays: %s", n, why);
	}
}

/*
 * FERRY_JSON_MAX_DEPTH is "Deepest nesting the canonical encoder
 * accepts": 256 nested containers pass, 257 do not.
 */
static void
test_canon_depth_ok_at_limit(void **state)
{
	struct ferry_error err;

	(void)state;
	assert_int_equal(FERRY_JSON_MAX_DEPTH, 256);
	check_nested_arrays_ok(1);
	check_nested_arrays_ok(2);
	check_nested_arrays_ok(FERRY_JSON_MAX_DEPTH - 1);
	check_nested_arrays_ok(FERRY_JSON_MAX_DEPTH);
	assert_int_equal(canon_err_decref(nest_objects(FERRY_JSON_MAX_DEPTH),
	    &err), 0);
	/* A scalar inside 255 arrays: 256 levels of values. */
	assert_int_equal(canon_err_decref(nest_arrays(FERRY_JSON_MAX_DEPTH - 1,
	    json_integer(7)), &err), 0);
}

static void
test_canon_depth_over_limit(void **state)
{
	struct ferry_error err;
	int r;

	(void)state;
	r = canon_err_decref(nest_arrays(FERRY_JSON_MAX_DEPTH + 1, NULL), &err);
	assert_int_equal(r, FERRY_ERR_JSON_DEPTH);
	assert_int_equal(err.code, FERRY_ERR_JSON_DEPTH);
	r = canon_err_decref(nest_objects(FERRY_JSON_MAX_DEPTH + 1), &err);
	assert_int_equal(r, FERRY_ERR_JSON_DEPTH);
}

static void
test_canon_depth_far_over_limit(void **state)
{
	struct ferry_error err;
	char *doc;
	size_t n = 1000;
	int r;

	(void)state;
	assert_int_equal(canon_err_decref(nest_arrays(FERRY_JSON_MAX_DEPTH + 2,
	    NULL), &err), FERRY_ERR_JSON_DEPTH);
	assert_int_equal(err.code, FERRY_ERR_JSON_DEPTH);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(canon_err_decref(nest_objects(FERRY_JSON_MAX_DEPTH +
	    10), &err), FERRY_ERR_JSON_DEPTH);
	assert_int_equal(canon_err_decref(nest_arrays(5000, NULL), &err),
	    FERRY_ERR_JSON_DEPTH);

	/* Parsed from text: jansson accepts 1000 levels, the encoder not. */
	doc = malloc(2 * n);
	assert_non_null(doc);
	memset(doc, '[', n);
	memset(doc + n, ']', n);
	r = canon_text_err(doc, 2 * n, &err);
	free(doc);
	assert_int_equal(r, FERRY_ERR_JSON_DEPTH);
}

/* Deeper than jansson's own parser limit: a parse error, no crash. */
static void
test_parse_depth_limit(void **state)
{
	struct ferry_error err;
	size_t n = 100000;
	char *doc = malloc(2 * n);

	(void)state;
	assert_non_null(doc);
	memset(doc, '[', n);
	memset(doc + n, ']', n);
	assert_int_equal(parse_err(doc, 2 * n, &err), FERRY_ERR_JSON);
	free(doc);
}

/* ---- ferry_json_parse ---- */

static void
test_parse_duplicate_keys(void **state)
{
	struct ferry_error err;

	(void)state;
	assert_int_equal(PARSE_ERR("{\"a\":1,\"a\":2}", &err), FERRY_ERR_JSON);
	assert_int_equal(err.code, FERRY_ERR_JSON);
	assert_int_equal(PARSE_ERR("{\"a\":1,\"a\":1}", &err), FERRY_ERR_JSON);
	assert_int_equal(PARSE_ERR("{\"x\":{\"k\":1,\"b\":0,\"k\":[]}}", &err),
	    FERRY_ERR_JSON);
	assert_int_equal(PARSE_ERR("[{},{\"a\":1,\"a\":1}]", &err),
	    FERRY_ERR_JSON);
	/* The same key written two ways is still a duplicate. */
	assert_int_equal(PARSE_ERR("{\"\\u0061\":1,\"a\":2}", &err),
	    FERRY_ERR_JSON);
	assert_int_equal(PARSE_ERR("{\"\xc3\xa9\":1,\"\\u00e9\":2}", &err),
	    FERRY_ERR_JSON);
	/* Same key in different objects is fine. */
	assert_int_equal(PARSE_ERR("{\"a\":{\"a\":1}}", &err), 0);
}

static void
test_parse_size_limit(void **state)
{
	static const char doc[] = "{\"a\":[1,2,3]}";
	struct ferry_error err;
	json_t *v = NULL;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_json_parse(doc, sizeof(doc) - 1,
	    sizeof(doc) - 2, &v, &err), FERRY_ERR_TOO_LARGE);
	assert_null(v);
	assert_int_equal(err.code, FERRY_ERR_TOO_LARGE);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(ferry_json_parse(doc, sizeof(doc) - 1, 0, &v, NULL),
	    FERRY_ERR_TOO_LARGE);
	assert_null(v);
	/* Exactly at the limit is fine. */
	assert_int_equal(ferry_json_parse(doc, sizeof(doc) - 1,
	    sizeof(doc) - 1, &v, NULL), 0);
	assert_non_null(v);
	json_decref(v);
	/* The limit is checked before the (malformed) text is looked at. */
	assert_int_equal(ferry_json_parse("{{{{", 4, 3, &v, NULL),
	    FERRY_ERR_TOO_LARGE);
}

static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}",
		"[1,]", "[1 2]", "{'a':1}", "{a:1}", "[01]", "[+1]", "[.5]",
		"[1.]", "[NaN]", "[Infinity]", "[tru]", "[nul]", "{} x",
		"{}{}", "[\"abc]", "[\"a\\x\"]", "[\"\\u12\"]", "/* c */{}",
		"{\"a\":1 // c\n}", "[\"\t\"]", "[\"line\nbreak\"]",
		"[9223372036854775808]", "[-9223372036854775809]",
		"[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
	};
	struct ferry_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_err(bad[i], strlen(bad[i]), &err);

		if (r != FERRY_ERR_JSON)
			fail_msg("parse of \"%s\": %d, want FERRY_ERR_JSON",
			    bad[i], r);
		assert_int_equal(err.code, FERRY_ERR_JSON);
		if (strstr(err.msg, "line") == NULL)
			fail_msg("\"%s\": no line in \"%s\"", bad[i], err.msg);
	}
	/* The line reported is the right one. */
	assert_int_equal(PARSE_ERR("{\n\"a\": 1,\n\"b\": ?\n}", &err),
	    FERRY_ERR_JSON);
	assert_non_null(strstr(err.msg, "line 3"));
	/* A raw NUL byte (not an escape) is not valid JSON text. */
	assert_int_equal(PARSE_ERR("[\"a\0b\"]", &err), FERRY_ERR_JSON);
	assert_int_equal(PARSE_ERR("[1]\0", &err), FERRY_ERR_JSON);
	/* err may be NULL. */
	{
		json_t *v = NULL;

		assert_int_equal(ferry_json_parse("[", 1, 10, &v, NULL),
		    FERRY_ERR_JSON);
		assert_null(v);
		assert_int_equal(ferry_json_parse(NULL, 0, 10, &v, NULL),
		    FERRY_ERR_INVALID_ARG);
		assert_int_equal(ferry_json_parse("[]", 2, 10, NULL, NULL),
		    FERRY_ERR_INVALID_ARG);
	}
}

static void
test_parse_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"[\"\xff\"]",			/* never valid */
		"[\"\xc0\xaf\"]",		/* overlong '/' */
		"[\"\xe0\x80\xaf\"]",		/* overlong */
		"[\"\xed\xa0\x80\"]",		/* UTF-16 surrogate */
		"[\"\xe2\x82\"]",		/* truncated */
		"[\"\x80\"]",			/* lone continuation */
		"[\"\xf4\x90\x80\x80\"]",	/* above U+10FFFF */
		"[\"\xf8\x88\x80\x80\x80\"]",	/* 5-byte form */
		"{\"\xc3\":1}",			/* in a key */
		"[\"ok\"]\xff",			/* after the document */
	};
	struct ferry_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_err(bad[i], strlen(bad[i]), &err);

		if (r != FERRY_ERR_JSON)
			fail_msg("invalid UTF-8 #%zu: %d, want FERRY_ERR_JSON",
			    i, r);
	}
}

static void
test_parse_nul_in_key_rejected(void **state)
{
	struct ferry_error err;

	(void)state;
	/* jansson cannot hold NUL in parsed keys; it must be an error. */
	assert_int_equal(PARSE_ERR("{\"a\\u0000b\":1}", &err), FERRY_ERR_JSON);
	assert_int_equal(err.code, FERRY_ERR_JSON);
}

static void
test_parse_file(void **state)
{
	static const char doc[] = "{ \"b\": 2, \"a\": 1 }";
	char dir[256], path[300];
	struct ferry_error err;
	json_t *v = NULL;
	FILE *fp;

	(void)state;
	assert_int_equal(unit_mkdtemp(dir, sizeof(dir), "json"), 0);
	snprintf(path, sizeof(path), "%s/doc.json", dir);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(doc, 1, sizeof(doc) - 1, fp), sizeof(doc) - 1);
	assert_int_equal(fclose(fp), 0);

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_json_parse_file(path, sizeof(doc) - 1, &v,
	    &err), 0);
	CANON_V(v, "{\"a\":1,\"b\":2}");
	json_decref(v);
	v = NULL;

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_json_parse_file(path, sizeof(doc) - 2, &v,
	    &err), FERRY_ERR_TOO_LARGE);
	assert_null(v);
	assert_int_equal(err.code, FERRY_ERR_TOO_LARGE);

	assert_int_equal(unlink(path), 0);
	memset(&err, 0, sizeof(err));
	errno = 0;
	assert_int_equal(ferry_json_parse_file(path, 100, &v, &err),
	    FERRY_ERR_IO);
	assert_null(v);
	assert_int_equal(err.code, FERRY_ERR_IO);
	/* The caller names the file; the detail says why it failed. */
	assert_null(strstr(err.msg, "doc.json"));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));

	/* A directory is not a file to parse. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_json_parse_file(dir, 100, &v, &err),
	    FERRY_ERR_IO);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_cstr(void **state)
{
	json_t *v;

	(void)state;
	v = json_string("abc");
	assert_string_equal(ferry_json_cstr(v), "abc");
	json_decref(v);
	v = json_string("");
	assert_string_equal(ferry_json_cstr(v), "");
	json_decref(v);
	v = json_stringn("ab\0c", 4);
	assert_null(ferry_json_cstr(v));
	json_decref(v);
	v = json_stringn("\0", 1);
	assert_null(ferry_json_cstr(v));
	json_decref(v);
	v = json_stringn("abc\0", 4);	/* trailing NUL counts too */
	assert_null(ferry_json_cstr(v));
	json_decref(v);
	v = json_integer(1);
	assert_null(ferry_json_cstr(v));
	json_decref(v);
	v = json_object();
	assert_null(ferry_json_cstr(v));
	json_decref(v);
	v = json_array();
	assert_null(ferry_json_cstr(v));
	json_decref(v);
	assert_null(ferry_json_cstr(json_null()));
	assert_null(ferry_json_cstr(json_true()));
	assert_null(ferry_json_cstr(NULL));

	/* Through the parser. */
	{
		static const char doc[] = "[\"a\\u0000b\",\"ok\"]";

		v = parse_ok(doc, sizeof(doc) - 1);
	}
	assert_null(ferry_json_cstr(json_array_get(v, 0)));
	assert_string_equal(ferry_json_cstr(json_array_get(v, 1)), "ok");
	json_decref(v);
}

/* ---- allocation failure ---- */

/*
 * A jansson allocator that fails every allocation from the fail_at'th
 * on (a persistent out-of-memory condition: once malloc fails, it keeps
 * failing).  A fail-only-the-Nth allocator is deliberately not used:
 * jansson's own lexer ignores strbuffer_append_byte() failures
 * (lex_save), so a single transient failure followed by successes can
 * silently drop a byte of input inside jansson, which is not Ferry's to
 * test.
 *
 * Only jansson's allocations can be injected this way.  The canonical
 * encoder allocates with libc calloc/realloc directly; failing those
 * would need symbol interposition (-Wl,--wrap or an LD_PRELOAD malloc),
 * which is neither portable nor compatible with the sanitizer build, so
 * the encoder's FERRY_ERR_NOMEM paths are not injected here.
 */
static size_t alloc_count, fail_at;
static int alloc_failed;

static void *
failing_malloc(size_t n)
{
	alloc_count++;
	if (fail_at != 0 && alloc_count >= fail_at) {
		alloc_failed = 1;
		return NULL;
	}
	return malloc(n);
}

static void
failing_free(void *p)
{
	free(p);
}

/* Whatever happened in the test, jansson gets plain malloc back. */
static int
restore_alloc(void **state)
{
	(void)state;
	fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	return 0;
}

static const char oom_doc[] =
    "{\n"
    "  \"signed\": {\n"
    "    \"_type\": \"targets\", \"version\": 12345678901,\n"
    "    \"expires\": \"2030-01-01T00:00:00Z\",\n"
    "    \"a rather long key name, longer than sixteen bytes\": [\n"
    "      1, -2, 3, true, false, null, \"\\u00e9\\ud83d\\ude00\\\"\\\\\",\n"
    "      {\"x\": {}, \"y\": [], \"z\": [[[\"deep\"]]]},\n"
    "      \"a string value long enough to grow jansson's strbuffer "
    "several times over, 0123456789abcdef0123456789abcdef\"\n"
    "    ],\n"
    "    \"targets\": {\"k0\": 0, \"k1\": 1, \"k2\": 2, \"k3\": 3, "
    "\"k4\": 4, \"k5\": 5, \"k6\": 6, \"k7\": 7, \"k8\": 8, \"k9\": 9, "
    "\"k10\": 10, \"k11\": 11, \"k12\": 12, \"k13\": 13, \"k14\": 14},\n"
    "    \"nul\": \"a\\u0000b\"\n"
    "  },\n"
    "  \"signatures\": [{\"keyid\": \"ab\", \"sig\": \"cd\"}]\n"
    "}\n";

struct oom_result {
	int r;
	int hit;
	char msg[512];
};

/* One parse + canonicalize with allocations failing from n on. */
static void
oom_iteration(size_t n, const unsigned char *want, size_t wantlen,
    struct oom_result *res)
{
	struct ferry_error err;
	unsigned char *out = NULL;
	size_t outlen = 0;
	json_t *v = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	alloc_count = 0;
	alloc_failed = 0;
	fail_at = n;
	r = ferry_json_parse(oom_doc, sizeof(oom_doc) - 1, LIMIT, &v, &err);
	if (r == 0) {
		assert_non_null(v);
		r = ferry_json_canonical(v, &out, &outlen, &err);
		if (r == 0) {
			/* Success must be the right answer, never a corrupt one. */
			assert_int_equal(outlen, wantlen);
			assert_memory_equal(out, want, wantlen);
			free(out);
		}
		json_decref(v);
	} else {
		assert_null(v);
	}
	fail_at = 0;
	res->r = r;
	res->hit = alloc_failed;
	snprintf(res->msg, sizeof(res->msg), "%s", ferry_error_msg(&err));
}

static void
oom_reference(unsigned char **want, size_t *wantlen)
{
	json_t *v = parse_ok(oom_doc, sizeof(oom_doc) - 1);

	assert_int_equal(ferry_json_canonical(v, want, wantlen, NULL), 0);
	json_decref(v);
}

/* Every iteration succeeds or fails cleanly; no crash, no leak. */
static void
test_oom_parse_canonical_robust(void **state)
{
	struct oom_result res;
	unsigned char *want = NULL;
	size_t wantlen = 0, n;

	(void)state;
	oom_reference(&want, &wantlen);
	json_set_alloc_funcs(failing_malloc, failing_free);
	for (n = 1; n < 100000; n++) {
		oom_iteration(n, want, wantlen, &res);
		if (res.r != 0 && res.r != FERRY_ERR_NOMEM &&
		    res.r != FERRY_ERR_JSON) {
			json_set_alloc_funcs(malloc, free);
			fail_msg("allocation %zu failing: unexpected %d (%s)",
			    n, res.r, res.msg);
		}
		if (res.r != 0 && !res.hit) {
			json_set_alloc_funcs(malloc, free);
			fail_msg("allocation %zu: failed (%d, %s) although no "
			    "allocation failed", n, res.r, res.msg);
		}
		if (!res.hit) {
			assert_int_equal(res.r, 0);
			break;
		}
	}
	json_set_alloc_funcs(malloc, free);
	assert_true(n > 10);	/* the document needed many allocations */
	assert_true(n < 100000);
	free(want);
}

/*
 * json.h promises FERRY_ERR_NOMEM for out-of-memory (json.c maps
 * json_error_out_of_memory to it): a parse that failed only because an
 * allocation failed must say FERRY_ERR_NOMEM, not "malformed JSON".
 */
static void
test_oom_parse_reports_nomem(void **state)
{
	struct oom_result res;
	unsigned char *want = NULL;
	size_t wantlen = 0, n, bad = 0, first_bad = 0, runs = 0, nomem = 0;
	int first_r = 0;
	char first_msg[512] = "";

	(void)state;
	oom_reference(&want, &wantlen);
	json_set_alloc_funcs(failing_malloc, failing_free);
	for (n = 1; n < 100000; n++) {
		oom_iteration(n, want, wantlen, &res);
		if (!res.hit)
			break;
		runs++;
		if (res.r == FERRY_ERR_NOMEM)
			nomem++;
		/*
		 * jansson 2.14 reports some allocation failures inside its
		 * tokenizer as syntax errors; those fail closed as
		 * FERRY_ERR_JSON, which is acceptable.  Anything else is not.
		 */
		if (res.r != FERRY_ERR_NOMEM && res.r != FERRY_ERR_JSON) {
			if (bad++ == 0) {
				first_bad = n;
				first_r = res.r;
				snprintf(first_msg, sizeof(first_msg), "%s",
				    res.msg);
			}
		}
	}
	json_set_alloc_funcs(malloc, free);
	free(want);
	if (bad > 0)
		fail_msg("%zu of %zu out-of-memory parses returned neither "
		    "FERRY_ERR_NOMEM nor FERRY_ERR_JSON; first: allocation "
		    "%zu -> %d (%s)", bad, runs, first_bad, first_r, first_msg);
	/* Most failures are recognised as what they are. */
	assert_true(nomem > runs / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_no_whitespace),
		cmocka_unit_test(test_canon_key_order_bytewise),
		cmocka_unit_test(test_canon_many_keys),
		cmocka_unit_test(test_canon_escapes),
		cmocka_unit_test(test_canon_control_bytes_raw),
		cmocka_unit_test(test_canon_nul_raw),
		cmocka_unit_test(test_canon_non_ascii_raw),
		cmocka_unit_test(test_canon_integers),
		cmocka_unit_test(test_canon_literals_and_top_level),
		cmocka_unit_test(test_canon_nested_empty_and_order),
		cmocka_unit_test(test_canon_tuf_like),
		cmocka_unit_test(test_canon_bad_args),
		cmocka_unit_test(test_canon_real_rejected),
		cmocka_unit_test(test_canon_real_error_names_place),
		cmocka_unit_test(test_canon_depth_ok_at_limit),
		cmocka_unit_test(test_canon_depth_over_limit),
		cmocka_unit_test(test_canon_depth_far_over_limit),
		cmocka_unit_test(test_parse_depth_limit),
		cmocka_unit_test(test_parse_duplicate_keys),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_invalid_utf8),
		cmocka_unit_test(test_parse_nul_in_key_rejected),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_cstr),
		cmocka_unit_test_teardown(test_oom_parse_canonical_robust,
		    restore_alloc),
		cmocka_unit_test_teardown(test_oom_parse_reports_nomem,
		    restore_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

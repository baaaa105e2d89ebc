/*
 * lib/meta_targets.c: which delegated role covers a target path, succinct
 * hash bins (TAP 15), and target lookups.  Expected digests were computed
 * independently with Python's hashlib.
 */
#include "config.h"

#include "unit.h"

#include "lib/err.h"
#include "lib/meta.h"

static struct ferry_meta *
parse(const char *signed_text)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	json_t *s = json_loads(signed_text, 0, NULL);

	assert_non_null(s);
	if (ferry_meta_from_signed(s, &md, &err) != 0)
		fail_msg("parse: %s", err.msg);
	json_decref(s);
	return md;
}

#define HEAD "\"_type\":\"targets\",\"spec_version\":\"1.0.31\"," \
	"\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{}"

static struct ferry_role
role_with_paths(json_t **hold, const char *paths_json)
{
	struct ferry_role r;

	memset(&r, 0, sizeof(r));
	*hold = json_loads(paths_json, 0, NULL);
	assert_non_null(*hold);
	r.paths = *hold;
	return r;
}

/*
 * The specification's glob semantics: '*' and '?' never cross '/', so a
 * pattern only matches paths with as many parts.
 */
static void
test_paths(void **state)
{
	static const struct { const char *pat, *path; int want; } v[] = {
		{ "apps/*", "apps/demo.img", 1 },
		{ "apps/*", "apps/a/demo.img", 0 },
		{ "apps/*", "apps/", 1 },
		{ "apps/*", "apps", 0 },
		{ "apps/*", "other/demo.img", 0 },
		{ "*", "file", 1 },
		{ "*", "dir/file", 0 },
		{ "*.txt", "a.txt", 1 },
		{ "*.txt", "d/a.txt", 0 },
		{ "*/*.txt", "d/a.txt", 1 },
		{ "a/?/c", "a/b/c", 1 },
		{ "a/?/c", "a/bb/c", 0 },
		{ "a/?c", "a//c", 0 },
		{ "[ab]/x", "a/x", 1 },
		{ "[ab]/x", "c/x", 0 },
		{ "[!ab]/x", "c/x", 1 },
		{ "a\\*b", "a\\xb", 1 },	/* '\\' is not an escape */
		{ "a\\*b", "a*b", 0 },
		{ "exact/path", "exact/path", 1 },
		{ "exact/path", "exact/path/", 0 },
		{ "*", ".hidden", 1 },	/* no special leading dot */
		{ "", "", 1 },
		{ "", "a", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		json_t *hold;
		struct ferry_role r;
		char buf[128];

		snprintf(buf, sizeof(buf), "[\"%s\"]", v[i].pat);
		/* Backslashes must be doubled inside the JSON text. */
		if (strchr(v[i].pat, '\\') != NULL)
			snprintf(buf, sizeof(buf), "[\"a\\\\*b\"]");
		r = role_with_paths(&hold, buf);
		if (ferry_role_matches_path(&r, v[i].path) != v[i].want)
			fail_msg("pattern \"%s\" on \"%s\": want %d", v[i].pat,
			    v[i].path, v[i].want);
		json_decref(hold);
	}
	/* Any one of several patterns suffices; none means no. */
	{
		json_t *hold;
		struct ferry_role r = role_with_paths(&hold,
		    "[\"x/*\", \"y/*\"]");

		assert_true(ferry_role_matches_path(&r, "y/1"));
		assert_false(ferry_role_matches_path(&r, "z/1"));
		json_decref(hold);
		r = role_with_paths(&hold, "[]");
		assert_false(ferry_role_matches_path(&r, "x/1"));
		json_decref(hold);
	}
	assert_false(ferry_role_matches_path(NULL, "x"));
}

/* sha256("apps/demo.img") = 41849d9e4b...; sha256("a") = ca978112ca... */
static void
test_hash_prefixes(void **state)
{
	struct ferry_role r;
	json_t *p;

	(void)state;
	memset(&r, 0, sizeof(r));
	p = json_loads("[\"0\", \"41\"]", 0, NULL);
	r.path_hash_prefixes = p;
	assert_true(ferry_role_matches_path(&r, "apps/demo.img"));
	assert_false(ferry_role_matches_path(&r, "a"));
	json_decref(p);
	p = json_loads("[\"ca978112ca\"]", 0, NULL);
	r.path_hash_prefixes = p;
	assert_true(ferry_role_matches_path(&r, "a"));
	assert_false(ferry_role_matches_path(&r, "apps/demo.img"));
	json_decref(p);
	/* Uppercase is accepted, as by python-tuf, and never matches. */
	p = json_loads("[\"41849D\"]", 0, NULL);
	r.path_hash_prefixes = p;
	assert_false(ferry_role_matches_path(&r, "apps/demo.img"));
	json_decref(p);
	/* The empty prefix matches every path. */
	p = json_loads("[\"\"]", 0, NULL);
	r.path_hash_prefixes = p;
	assert_true(ferry_role_matches_path(&r, "anything"));
	json_decref(p);
}

static void
test_succinct_bins(void **state)
{
	struct ferry_meta *md;
	const struct ferry_delegations *d;
	char name[64];

	(void)state;
	md = parse("{" HEAD ",\"delegations\":{\"keys\":{},"
	    "\"succinct_roles\":{\"keyids\":[],\"threshold\":1,"
	    "\"bit_length\":8,\"name_prefix\":\"bins\"}}}");
	d = md->delegations;
	assert_non_null(d);
	assert_true(d->succinct);
	assert_int_equal(d->bins.bit_length, 8);
	/* First byte of sha256("apps/demo.img") is 0x41 = 65. */
	assert_int_equal(ferry_succinct_bin_name(&d->bins, "apps/demo.img",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "bins-41");
	assert_int_equal(ferry_succinct_bin_name(&d->bins, "a", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "bins-ca");
	assert_non_null(ferry_meta_delegated_role(md, "bins-00"));
	assert_non_null(ferry_meta_delegated_role(md, "bins-ff"));
	assert_null(ferry_meta_delegated_role(md, "bins-100"));
	assert_null(ferry_meta_delegated_role(md, "bins-f"));
	assert_null(ferry_meta_delegated_role(md, "bins-FF"));
	assert_null(ferry_meta_delegated_role(md, "bins-g0"));
	assert_null(ferry_meta_delegated_role(md, "bin-00"));
	assert_null(ferry_meta_delegated_role(md, "bins00"));
	/* Too small a buffer is an error, not a truncated name. */
	assert_int_not_equal(ferry_succinct_bin_name(&d->bins, "a", name, 7),
	    0);
	ferry_meta_free(md);

	/* 3 bits: one hex digit, values 0..7 only. */
	md = parse("{" HEAD ",\"delegations\":{\"keys\":{},"
	    "\"succinct_roles\":{\"keyids\":[],\"threshold\":1,"
	    "\"bit_length\":3,\"name_prefix\":\"b\"}}}");
	d = md->delegations;
	assert_int_equal(ferry_succinct_bin_name(&d->bins, "a", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "b-6");
	assert_int_equal(ferry_succinct_bin_name(&d->bins, "files/x.txt",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "b-5");
	assert_non_null(ferry_meta_delegated_role(md, "b-7"));
	assert_null(ferry_meta_delegated_role(md, "b-8"));
	ferry_meta_free(md);

	/* 13 bits: four digits; 32 bits: eight. */
	md = parse("{" HEAD ",\"delegations\":{\"keys\":{},"
	    "\"succinct_roles\":{\"keyids\":[],\"threshold\":1,"
	    "\"bit_length\":13,\"name_prefix\":\"p\"}}}");
	assert_int_equal(ferry_succinct_bin_name(&md->delegations->bins,
	    "apps/demo.img", name, sizeof(name)), 0);
	assert_string_equal(name, "p-0830");	/* 2096 */
	assert_non_null(ferry_meta_delegated_role(md, "p-1fff"));
	assert_null(ferry_meta_delegated_role(md, "p-2000"));
	ferry_meta_free(md);
	md = parse("{" HEAD ",\"delegations\":{\"keys\":{},"
	    "\"succinct_roles\":{\"keyids\":[],\"threshold\":1,"
	    "\"bit_length\":32,\"name_prefix\":\"w\"}}}");
	assert_int_equal(ferry_succinct_bin_name(&md->delegations->bins, "a",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "w-ca978112");
	ferry_meta_free(md);
}

static void
test_delegated_roles_in_order(void **state)
{
	struct ferry_meta *md;
	const struct ferry_role *r;

	(void)state;
	md = parse("{" HEAD ",\"delegations\":{\"keys\":{},\"roles\":["
	    "{\"name\":\"first\",\"keyids\":[\"k1\"],\"threshold\":1,"
	    "\"terminating\":true,\"paths\":[\"a/*\"]},"
	    "{\"name\":\"second\",\"keyids\":[\"k1\",\"k2\"],\"threshold\":2,"
	    "\"terminating\":false,\"path_hash_prefixes\":[\"ab\"]}]}}");
	assert_int_equal(md->delegations->nroles, 2);
	assert_string_equal(md->delegations->roles[0].name, "first");
	assert_string_equal(md->delegations->roles[1].name, "second");
	r = ferry_meta_delegated_role(md, "second");
	assert_non_null(r);
	assert_int_equal(r->threshold, 2);
	assert_int_equal(r->nkeyids, 2);
	assert_false(r->terminating);
	assert_true(md->delegations->roles[0].terminating);
	assert_null(ferry_meta_delegated_role(md, "third"));
	assert_null(ferry_meta_delegated_role(md, "first-00"));
	ferry_meta_free(md);
	/* Targets without delegations delegates nothing. */
	md = parse("{" HEAD "}");
	assert_null(md->delegations);
	assert_null(ferry_meta_delegated_role(md, "first"));
	ferry_meta_free(md);
}

/* bit_length out of range. */
static void
test_bins_bounds(void **state)
{
	static const char *const bad[] = { "0", "33", "-1", "8.0" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ferry_error err = { 0 };
		struct ferry_meta *md = NULL;
		char text[512];
		json_t *s;

		snprintf(text, sizeof(text), "{" HEAD ",\"delegations\":{"
		    "\"keys\":{},\"succinct_roles\":{\"keyids\":[],"
		    "\"threshold\":1,\"bit_length\":%s,\"name_prefix\":"
		    "\"b\"}}}", bad[i]);
		s = json_loads(text, 0, NULL);
		assert_non_null(s);
		assert_int_equal(ferry_meta_from_signed(s, &md, &err),
		    FERRY_ERR_META_FIELD);
		assert_non_null(strstr(err.msg, "bit_length"));
		json_decref(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_hash_prefixes),
		cmocka_unit_test(test_succinct_bins),
		cmocka_unit_test(test_delegated_roles_in_order),
		cmocka_unit_test(test_bins_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lib/pathpattern.c: delegation path patterns.  The expected answers were
 * produced by python-tuf's rule (split at '/', fnmatch.fnmatch each part)
 * on Debian's Python 3.11; tests/e2e/pathpattern.sh compares thousands
 * more against Python directly.
 */
#include "config.h"

#include "unit.h"

#include "lib/pathpattern.h"

static const struct {
	const char *pattern, *path;
	int want;
} cases[] = {
	{ "apps/*", "apps/demo.img", 1 },
	{ "apps/*", "apps/a/b", 0 },
	{ "apps/*", "apps/", 1 },
	{ "apps/*", "apps", 0 },
	{ "*", "", 1 },
	{ "", "", 1 },
	{ "", "a", 0 },
	{ "*.txt", "a.txt", 1 },
	{ "*.txt", "d/a.txt", 0 },
	{ "*/*.txt", "d/a.txt", 1 },
	{ "a/?/c", "a/é/c", 1 },
	{ "a?b", "aéb", 1 },
	{ "a?b", "a😀b", 1 },
	{ "a?b", "a//b", 0 },
	{ "[^a]*", "b.txt", 0 },
	{ "[^a]*", "^x", 1 },
	{ "[[:digit:]]*", "7.txt", 0 },
	{ "[!a]*", "b", 1 },
	{ "[!a]*", "a", 0 },
	{ "[]a]", "]", 1 },
	{ "[!]a]", "]", 0 },
	{ "[!]a]", "b", 1 },
	{ "[a-c]", "b", 1 },
	{ "[c-a]", "b", 0 },
	{ "[!c-a]", "b", 1 },
	{ "[a-]", "-", 1 },
	{ "[-a]", "-", 1 },
	{ "[a-c-e]", "-", 1 },
	{ "[a-c-e]", "d", 0 },
	{ "[", "[", 1 },
	{ "[a", "[a", 1 },
	{ "a[", "a[", 1 },
	{ "\\*", "\\x", 1 },
	{ "\\*", "*", 0 },
	{ "[\\]", "\\", 1 },
	{ "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaac", 0 },
	{ "[é-ü]", "ö", 1 },
	{ "[é-ü]", "a", 0 },
	{ "**", "x", 1 },
	{ "*?", "", 0 },
	{ "?*", "x", 1 },
	{ "a/*/c", "a//c", 1 },
	{ "*", ".hidden", 1 },
	{ "exact/path", "exact/path/", 0 },
	{ "x/*", "x/😀", 1 },
};

static void
test_python_answers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ferry_pathpattern_match(cases[i].pattern, cases[i].path) !=
		    cases[i].want)
			fail_msg("pattern \"%s\" path \"%s\": want %d",
			    cases[i].pattern, cases[i].path, cases[i].want);
}

/* Invalid UTF-8 never matches, not even "*"; NULL never matches. */
static void
test_invalid_input(void **state)
{
	(void)state;
	assert_false(ferry_pathpattern_match("*", "a\xff"));
	assert_false(ferry_pathpattern_match("*", "\xc0\xaf"));	/* overlong */
	assert_false(ferry_pathpattern_match("*", "\xed\xa0\x80"));	/* surrogate */
	assert_false(ferry_pathpattern_match("?", "\xe2\x82"));	/* truncated */
	assert_false(ferry_pathpattern_match("a\xff", "a\xff"));
	assert_false(ferry_pathpattern_match(NULL, "a"));
	assert_false(ferry_pathpattern_match("a", NULL));
	assert_true(ferry_pathpattern_match("?", "\xf0\x9f\x98\x80"));
}

/* Many stars against a long near-miss stays linear enough to finish. */
static void
test_no_exponential_backtracking(void **state)
{
	char pat[512], path[4096];
	size_t i;

	(void)state;
	for (i = 0; i + 2 < sizeof(pat); i += 2) {
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	pat[i] = 'b';
	pat[i + 1] = '\0';
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_false(ferry_pathpattern_match(pat, path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python_answers),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_no_exponential_backtracking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Shared by the cmocka unit tests: fixtures and small helpers. */
#ifndef FERRY_UNIT_H
#define FERRY_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/*
 * Load tests/fixtures/<rel> as JSON.  The harness exports $fixtures; when
 * run by hand from the build tree, the source tree's copy is found through
 * $top_srcdir or the relative path.
 */
static inline json_t *
unit_fixture(const char *rel)
{
	const char *dir = getenv("fixtures");
	char path[4096];
	json_error_t je;
	json_t *v;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
	else if (getenv("top_srcdir") != NULL)
		snprintf(path, sizeof(path), "%s/tests/fixtures/%s",
		    getenv("top_srcdir"), rel);
	else
		snprintf(path, sizeof(path), "tests/fixtures/%s", rel);
	v = json_load_file(path, 0, &je);
	if (v == NULL)
		fail_msg("fixture %s: %s", path, je.text);
	return v;
}

/* Decode a hex string into a new buffer. */
static inline unsigned char *
unit_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	unsigned char *p = malloc(n + 1);
	unsigned int b;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		p[i] = (unsigned char)b;
	}
	*len = n;
	return p;
}

#endif

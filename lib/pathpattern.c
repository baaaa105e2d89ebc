#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathpattern.h"

/*
 * Decode one UTF-8 code point from s[0..n); return its length, or 0 for
 * an invalid or truncated sequence.  jansson has already validated every
 * string it parsed, so this only guards direct callers.
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* A part of a pattern or path: code points, decoded once. */
struct cps {
	uint32_t *v;
	size_t n;
};

static int
decode(const char *s, size_t len, struct cps *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	out->n = 0;
	out->v = malloc((len + 1) * sizeof(*out->v));
	if (out->v == NULL)
		return -1;
	while (i < len) {
		if ((k = utf8_next(p + i, len - i, &out->v[out->n])) == 0) {
			free(out->v);
			out->v = NULL;
			return -1;
		}
		i += k;
		out->n++;
	}
	return 0;
}

/*
 * The bracket expression starting at pat->v[at] (just past '['): if it is
 * closed, return the index just past its ']' and say whether c is in it;
 * if not, return 0 (the '[' is then a literal).
 */
static size_t
bracket(const struct cps *pat, size_t at, uint32_t c, int *in)
{
	size_t j = at, end, k;
	int neg = 0, hit = 0;
	uint32_t lo, hi;

	if (j < pat->n && pat->v[j] == '!') {
		neg = 1;
		j++;
	}
	/* A ']' first in the set is a member, not the end. */
	end = j;
	if (end < pat->n && pat->v[end] == ']')
		end++;
	while (end < pat->n && pat->v[end] != ']')
		end++;
	if (end >= pat->n)
		return 0;
	for (k = j; k < end; k++) {
		lo = hi = pat->v[k];
		/* "x-y" is a range unless the '-' is the last member. */
		if (k + 2 < end && pat->v[k + 1] == '-') {
			hi = pat->v[k + 2];
			k += 2;
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	*in = neg ? !hit : hit;
	return end + 1;
}

/* fnmatch over code points, with backtracking for the last '*' only. */
static int
match_part(const struct cps *pat, const struct cps *str)
{
	size_t p = 0, s = 0, star_p = SIZE_MAX, star_s = 0, next;
	int in;

	while (s < str->n) {
		if (p < pat->n && pat->v[p] == '*') {
			while (p < pat->n && pat->v[p] == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < pat->n && pat->v[p] == '?') {
			p++;
			s++;
			continue;
		}
		if (p < pat->n && pat->v[p] == '[' &&
		    (next = bracket(pat, p + 1, str->v[s], &in)) != 0) {
			if (in) {
				p = next;
				s++;
				continue;
			}
		} else if (p < pat->n && pat->v[p] == str->v[s]) {
			p++;
			s++;
			continue;
		}
		/* Mismatch: let the last '*' swallow one more code point. */
		if (star_p == SIZE_MAX)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (p < pat->n && pat->v[p] == '*')
		p++;
	return p == pat->n;
}

int
ferry_pathpattern_match(const char *pattern, const char *path)
{
	const char *pp = pattern, *tp = path, *pe, *te;
	struct cps pat = { NULL, 0 }, str = { NULL, 0 };
	int ok = 1;

	if (pattern == NULL || path == NULL)
		return 0;
	for (;;) {
		pe = strchr(pp, '/');
		te = strchr(tp, '/');
		/* Parts must pair up: both end here, or neither does. */
		if ((pe == NULL) != (te == NULL))
			return 0;
		if (pe == NULL)
			pe = pp + strlen(pp);
		if (te == NULL)
			te = tp + strlen(tp);
		if (decode(pp, (size_t)(pe - pp), &pat) != 0 ||
		    decode(tp, (size_t)(te - tp), &str) != 0)
			ok = 0;
		else
			ok = match_part(&pat, &str);
		free(pat.v);
		free(str.v);
		pat.v = str.v = NULL;
		if (!ok || *pe == '\0')
			return ok;
		pp = pe + 1;
		tp = te + 1;
	}
}

/*
 * Delegation path patterns, matched as the reference implementation
 * (python-tuf) matches them, so that a delegation covers the same targets
 * in Ferry as in every other client.
 *
 * A pattern and a target path are split at '/'; they match when they have
 * the same number of parts and each part matches its pattern part as
 * Python's fnmatch.fnmatch() does on POSIX, over Unicode code points:
 *   *        any sequence of code points (never '/', by the split)
 *   ?        exactly one code point
 *   [...]    one code point from the set: single characters and ranges
 *            "a-z" (a reversed range is empty); a leading '!' negates; a
 *            ']' right after '[' or "[!" is literal; '^' and '\\' are
 *            ordinary characters; no character classes
 *   [        without a closing ']', a literal '['
 *   other    itself; there is no escape character
 * glibc's fnmatch(3) differs on '[^...]' (negation there), '[[:digit:]]'
 * classes and locale-dependent '?', which is why it is not used.
 */
#ifndef FERRY_PATHPATTERN_H
#define FERRY_PATHPATTERN_H

/*
 * Whether target path matches pattern.  Both are NUL-terminated UTF-8;
 * invalid UTF-8 never matches.
 */
int ferry_pathpattern_match(const char *pattern, const char *path);

#endif

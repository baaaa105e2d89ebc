/*
 * Fuzz target: tor's control protocol replies (onion/control.c).
 *
 * Input: arbitrary bytes, as tor's side of a control connection would
 * send them.  They are consumed as the connection does: replies parsed
 * one after the other with onion_reply_parse(), each from where the last
 * ended, until the input runs out, is incomplete or is refused.  Checked,
 * with abort() on any violation so that libFuzzer reports it as a crash:
 *
 *  1. The result is 0, 1 (incomplete), FERRY_ERR_TOR, FERRY_ERR_TOO_LARGE
 *     or FERRY_ERR_NOMEM, nothing else; a failure records its own code
 *     and a detail in the error; 1 records nothing; only 0 gives a reply.
 *  2. A reply took between 6 bytes and all that was left, at most
 *     ONION_CTL_REPLY_MAX, and what it took ends in CRLF.  Its status is
 *     200..699, it has 1..ONION_CTL_LINES_MAX lines, each line's text is
 *     shorter than a line may be and holds no control byte but TAB; data
 *     (of "NNN+" lines only) holds neither NUL nor CR, and datalen is its
 *     length.
 *  3. Parsing exactly the bytes a reply took gives the same result, and
 *     parsing them less their last byte, or half of them, says
 *     "incomplete": the parser decides on what it has seen, never on
 *     what follows, and a prefix of a reply is never an error.
 *  4. onion_kv() on every line's text, for the keys Ferry asks tor's
 *     answers for and the line's own first key: 0, FERRY_ERR_NOT_FOUND,
 *     FERRY_ERR_TOO_LARGE or FERRY_ERR_TOR, nothing else, the code
 *     recorded; on 0 the value is NUL-terminated within the buffer, and
 *     the same call with an 8-byte buffer succeeds with the same value
 *     exactly when the value has fewer than 8 bytes, and otherwise fails
 *     with FERRY_ERR_TOO_LARGE.  With no room at all it always fails.
 *  5. onion_kv() on the raw input (up to its first NUL and 4096 bytes),
 *     whatever it holds, passes the checks of 4 as well.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "onion/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The keys Ferry reads from tor's answers. */
static const char *const keys[] = {
	"METHODS", "COOKIEFILE", "Tor", "SERVERHASH", "SERVERNONCE",
	"ServiceID", "PrivateKey", "version",
};

#define KV_BIG 1024
#define KV_SMALL 8

static int
kv_code_ok(int r)
{
	return r == 0 || r == FERRY_ERR_NOT_FOUND || r == FERRY_ERR_TOO_LARGE ||
	    r == FERRY_ERR_TOR;
}

/* Checks 4 and 5, for one text and one key. */
static void
check_kv(const char *text, const char *key)
{
	struct ferry_error err;
	char big[KV_BIG], small[KV_SMALL];
	size_t n;
	int r, rs;

	memset(&err, 0, sizeof(err));
	memset(big, 0x55, sizeof(big));
	r = onion_kv(text, key, big, sizeof(big), &err);
	if (!kv_code_ok(r) || (r != 0 && (err.code != r ||
	    err.msg[0] == '\0')))
		abort();
	memset(&err, 0, sizeof(err));
	if (onion_kv(text, key, small, 0, &err) == 0)
		abort();
	if (r != 0)
		return;
	if ((n = strnlen(big, sizeof(big))) == sizeof(big))
		abort();
	memset(&err, 0, sizeof(err));
	rs = onion_kv(text, key, small, sizeof(small), &err);
	if (n < sizeof(small)) {
		if (rs != 0 || strcmp(small, big) != 0)
			abort();
	} else if (rs != FERRY_ERR_TOO_LARGE || err.code != rs) {
		abort();
	}
}

/* The line's first KEY of a KEY=VALUE, if it has a short one. */
static void
first_key(const char *text, char *out, size_t cap)
{
	const char *eq = strchr(text, '='), *sp;
	size_t n;

	out[0] = '\0';
	if (eq == NULL)
		return;
	for (sp = eq; sp > text && sp[-1] != ' '; sp--)
		;
	n = (size_t)(eq - sp);
	if (n == 0 || n >= cap)
		return;
	memcpy(out, sp, n);
	out[n] = '\0';
}

static void
check_reply(const uint8_t *at, size_t used, const struct onion_reply *rep)
{
	struct ferry_error err;
	struct onion_reply *again = NULL;
	char own[64];
	size_t i, j, n, used2 = 0;
	int r;

	/* Check 2. */
	if (used < 6 || used > ONION_CTL_REPLY_MAX || at[used - 2] != '\r' ||
	    at[used - 1] != '\n')
		abort();
	if (rep->status < 200 || rep->status > 699 || rep->nlines < 1 ||
	    rep->nlines > ONION_CTL_LINES_MAX || rep->lines == NULL)
		abort();
	for (i = 0; i < rep->nlines; i++) {
		const struct onion_reply_line *l = &rep->lines[i];

		if (l->text == NULL)
			abort();
		n = strlen(l->text);
		if (n > ONION_CTL_LINE_MAX - 6)
			abort();
		for (j = 0; j < n; j++) {
			unsigned char ch = (unsigned char)l->text[j];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				abort();
		}
		if (l->data != NULL) {
			if (strlen(l->data) != l->datalen ||
			    memchr(l->data, '\r', l->datalen) != NULL)
				abort();
		} else if (l->datalen != 0) {
			abort();
		}
		/* Check 4. */
		for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			check_kv(l->text, keys[j]);
		first_key(l->text, own, sizeof(own));
		if (own[0] != '\0')
			check_kv(l->text, own);
	}

	/* Check 3: the same bytes alone give the same reply ... */
	memset(&err, 0, sizeof(err));
	r = onion_reply_parse((const char *)at, used, &again, &used2, &err);
	if (r != 0 || used2 != used || again == NULL ||
	    again->status != rep->status || again->nlines != rep->nlines)
		abort();
	for (i = 0; i < rep->nlines; i++)
		if (strcmp(again->lines[i].text, rep->lines[i].text) != 0 ||
		    again->lines[i].datalen != rep->lines[i].datalen ||
		    (rep->lines[i].datalen > 0 && memcmp(again->lines[i].data,
		    rep->lines[i].data, rep->lines[i].datalen) != 0))
			abort();
	onion_reply_free(again);
	/* ... and fewer of them are only the start of one. */
	for (n = used - 1;; n = used / 2) {
		again = NULL;
		memset(&err, 0, sizeof(err));
		r = onion_reply_parse((const char *)at, n, &again, &used2,
		    &err);
		if (r != 1 || again != NULL || err.msg[0] != '\0')
			abort();
		if (n == used / 2)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ferry_error err;
	struct onion_reply *rep;
	size_t pos = 0, used, n;
	char *text;
	int r;

	while (pos < size) {
		rep = NULL;
		used = 0;
		memset(&err, 0, sizeof(err));
		r = onion_reply_parse((const char *)data + pos, size - pos,
		    &rep, &used, &err);
		/* Check 1. */
		if (r == FERRY_ERR_NOMEM)
			return 0;
		if (r == 1) {
			if (rep != NULL || err.msg[0] != '\0')
				abort();
			break;
		}
		if (r != 0) {
			if ((r != FERRY_ERR_TOR && r != FERRY_ERR_TOO_LARGE) ||
			    rep != NULL || err.code != r || err.msg[0] == '\0')
				abort();
			break;
		}
		if (rep == NULL || used == 0 || used > size - pos)
			abort();
		check_reply(data + pos, used, rep);
		onion_reply_free(rep);
		pos += used;
	}

	/* Check 5. */
	n = size < 4096 ? size : 4096;
	if ((text = malloc(n + 1)) == NULL)
		return 0;
	memcpy(text, data, n);
	text[n] = '\0';
	for (n = 0; n < sizeof(keys) / sizeof(keys[0]); n++)
		check_kv(text, keys[n]);
	free(text);
	return 0;
}

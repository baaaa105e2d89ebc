/*
 * onion/control.c: tor's control protocol.
 *
 * The reply parser on complete, partial and hostile input and at each of
 * its bounds; onion_kv() on bare and quoted values and on the places a
 * key must not be found; and the connection, against a fake tor: a
 * thread of this test that listens on a unix socket in the test's
 * scratch directory (or on the loopback interface) and plays a script.
 * The fake authenticates by SAFECOOKIE as tor's control-spec says,
 * computing both hashes with OpenSSL's HMAC rather than the libsodium one
 * the code under test uses, so that the two are checked against each
 * other; it also answers by password and by nothing, takes ADD_ONION and
 * DEL_ONION, sends events, and fails in every way tor could: a wrong
 * proof, a closed connection, silence, replies out of protocol.
 *
 * The fake never calls cmocka (whose asserts longjmp, and only on the
 * thread that runs the test): it records each line it received and the
 * first thing that was wrong, which the test checks after joining it.
 * Every wait on either side is bounded; nothing is ordered by sleeping.
 */
#include "config.h"

#include "unit.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "lib/err.h"
#include "onion/control.h"

#define CLIENT_MS 5000		/* the client's deadline in most tests */
#define FAKE_MS 10000		/* the fake's bound on every wait */
#define NLOG 32			/* lines the fake keeps */
#define LOG_MAX 8192		/* bytes of one kept line */

/* The HMAC keys of SAFECOOKIE, as control-spec section 3.24 gives them. */
static const char server_key[] =
    "Tor safe cookie authentication server-to-controller hash";
static const char client_key[] =
    "Tor safe cookie authentication controller-to-server hash";

/* What tor 0.4.8 answers to ADD_ONION with Flags=DiscardPK. */
#define SERVICE_ID "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid"
#define KEY_BLOB "ED25519-V3:MHyDhk8oM8tCei7xwAoBPP3/J2jZgMCjpSDwBpBN6U+bTwr" \
    "+KAt0aneGhOdUQlAgV7dHOgPwj5b1o46Sh+Afjw=="
/* The base64 part of KEY_BLOB alone, which no message may hold. */
#define KEY_B64_PART "MHyDhk8oM8tCei7xwAoBPP3"
#define CLIENT_KEY1 "B3CJJ5GVEBYHAMLV2DCDDWJYMF26FX3YOQL7LFLI2DXHFT5CZ2HA"
#define CLIENT_KEY2 "CQPPQ7AFNXO7MZS6XOMGYAGDEOCJZ6TCCBTNWLN7SJ6GTN5FMUBA"

/* ---- helpers ---- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* call returned 0, or the test fails showing the detail in err. */
#define assert_ok(call) do {						\
	int r_ = (call);						\
	if (r_ != 0)							\
		fail_msg("%s: %d (%s)", #call, r_,			\
		    ferry_error_msg(&err));				\
} while (0)

/* r is code, recorded in err with a detail holding has (if not NULL). */
static void
expect_err(int r, const struct ferry_error *err, int code, const char *has)
{
	if (r != code)
		fail_msg("returned %d (%s), not %d", r, ferry_error_msg(err),
		    code);
	assert_int_equal(err->code, code);
	assert_true(err->msg[0] != '\0');
	if (has != NULL && strstr(err->msg, has) == NULL)
		fail_msg("\"%s\" not in \"%s\"", has, err->msg);
}

static void
msg_lacks(const struct ferry_error *err, const char *s)
{
	if (strstr(err->msg, s) != NULL)
		fail_msg("\"%s\" is in \"%s\"", s, err->msg);
}

/*
 * onion_reply_parse() of s[0..len), from a heap copy of exactly len bytes
 * so that AddressSanitizer catches a read past the end.  *out and *used
 * are reset first, to see what a failure leaves.
 */
static int
parse_n(const char *s, size_t len, struct onion_reply **out, size_t *used,
    struct ferry_error *err)
{
	char *copy = malloc(len > 0 ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	*out = NULL;
	*used = 0;
	ferry_error_clear(err);
	r = onion_reply_parse(copy, len, out, used, err);
	free(copy);
	return r;
}

/* The one reply that is all of s. */
static struct onion_reply *
parse_all(const char *s)
{
	struct ferry_error err;
	struct onion_reply *rep;
	size_t used;

	assert_ok(parse_n(s, strlen(s), &rep, &used, &err));
	assert_non_null(rep);
	assert_int_equal(used, strlen(s));
	assert_int_equal(err.msg[0], '\0');
	return rep;
}

/* s[0..len) is refused with code, the detail holding has; nothing out. */
static void
parse_refused(const char *s, size_t len, int code, const char *has)
{
	struct ferry_error err;
	struct onion_reply *rep;
	size_t used;
	int r;

	r = parse_n(s, len, &rep, &used, &err);
	expect_err(r, &err, code, has);
	assert_null(rep);
}

/* As parse_refused(), of a string literal, NULs and all. */
#define REFUSED(lit, code, has) parse_refused(lit, sizeof(lit) - 1, code, has)

/* A growable string, for inputs too large to write out. */
struct sb {
	char *p;
	size_t len, cap;
};

static void
sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		assert_non_null(b->p = realloc(b->p, b->cap));
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* n bytes of ch. */
static void
sb_fill(struct sb *b, char ch, size_t n)
{
	char chunk[512];
	size_t k;

	memset(chunk, ch, sizeof(chunk));
	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		sb_add(b, chunk, k);
		n -= k;
	}
}

/* A line of exactly total bytes, CRLF included, beginning with head. */
static void
sb_line(struct sb *b, const char *head, size_t total)
{
	assert_true(total >= strlen(head) + 2);
	sb_str(b, head);
	sb_fill(b, 'x', total - strlen(head) - 2);
	sb_str(b, "\r\n");
}

/* ---- the reply parser ---- */

static void
test_parse_simple(void **state)
{
	struct onion_reply *rep;

	(void)state;
	rep = parse_all("250 OK\r\n");
	assert_int_equal(rep->status, 250);
	assert_int_equal(rep->nlines, 1);
	assert_string_equal(rep->lines[0].text, "OK");
	assert_null(rep->lines[0].data);
	assert_int_equal(rep->lines[0].datalen, 0);
	onion_reply_free(rep);

	/* The text may be empty; TAB and UTF-8 are not control bytes. */
	rep = parse_all("250 \r\n");
	assert_string_equal(rep->lines[0].text, "");
	onion_reply_free(rep);
	rep = parse_all("250 a\tb \xc3\xa9\r\n");
	assert_string_equal(rep->lines[0].text, "a\tb \xc3\xa9");
	onion_reply_free(rep);

	/* Every status tor uses, 2xx to 6xx. */
	rep = parse_all("552 Unrecognized key \"foo\"\r\n");
	assert_int_equal(rep->status, 552);
	assert_string_equal(rep->lines[0].text, "Unrecognized key \"foo\"");
	onion_reply_free(rep);
	rep = parse_all("451 Resource exhausted\r\n");
	assert_int_equal(rep->status, 451);
	onion_reply_free(rep);
	onion_reply_free(NULL);
}

static const char protocolinfo[] =
    "250-PROTOCOLINFO 1\r\n"
    "250-AUTH METHODS=COOKIE,SAFECOOKIE "
    "COOKIEFILE=\"/run/tor/control.authcookie\"\r\n"
    "250-VERSION Tor=\"0.4.8.10\"\r\n"
    "250 OK\r\n";

static void
test_parse_multiline(void **state)
{
	struct ferry_error err;
	struct onion_reply *rep;
	struct sb b = { NULL, 0, 0 };
	size_t used;

	(void)state;
	rep = parse_all(protocolinfo);
	assert_int_equal(rep->status, 250);
	assert_int_equal(rep->nlines, 4);
	assert_string_equal(rep->lines[0].text, "PROTOCOLINFO 1");
	assert_string_equal(rep->lines[1].text,
	    "AUTH METHODS=COOKIE,SAFECOOKIE "
	    "COOKIEFILE=\"/run/tor/control.authcookie\"");
	assert_string_equal(rep->lines[2].text, "VERSION Tor=\"0.4.8.10\"");
	assert_string_equal(rep->lines[3].text, "OK");
	onion_reply_free(rep);

	/* Only the first reply is taken; what follows is left for later. */
	sb_str(&b, protocolinfo);
	sb_str(&b, "650 CIRC 5 BUILT\r\n250 OK\r\n");
	assert_ok(parse_n(b.p, b.len, &rep, &used, &err));
	assert_int_equal(used, strlen(protocolinfo));
	assert_int_equal(rep->nlines, 4);
	onion_reply_free(rep);
	assert_ok(parse_n(b.p + used, b.len - used, &rep, &used, &err));
	assert_int_equal(rep->status, 650);
	assert_int_equal(used, strlen("650 CIRC 5 BUILT\r\n"));
	assert_string_equal(rep->lines[0].text, "CIRC 5 BUILT");
	onion_reply_free(rep);
	free(b.p);
}

/* Valid replies of every shape, for the prefix test. */
static const char *const valid_replies[] = {
	"250 OK\r\n",
	protocolinfo,
	"250 AUTHCHALLENGE SERVERHASH=7DA9C1A0D1BE8E5FCB2A4A1A5DB0D7E0B5B83"
	    "3D0EC5C47C9A5EC3AE7D5D2E2AF SERVERNONCE=0123456789ABCDEF0123456"
	    "789ABCDEF0123456789ABCDEF0123456789ABCDEF\r\n",
	"250-ServiceID=" SERVICE_ID "\r\n250 OK\r\n",
	"250+config-text=\r\nControlPort 9051\r\n..dot\r\n\r\n.\r\n250 OK\r\n",
	"250+a=\r\n.\r\n250-b=c\r\n250+d=\r\ne\r\n.\r\n250 OK\r\n",
	"650 HS_DESC UPLOADED " SERVICE_ID " UNKNOWN $AAAA\r\n",
	"650+NS\r\nr relay AAAA\r\ns Fast Running\r\n.\r\n650 OK\r\n",
	"552 Unrecognized key \"foo\"\r\n",
	"515 Authentication failed: Password did not match "
	    "HashedControlPassword value from configuration\r\n",
};

/* Every proper prefix of a valid reply is incomplete, never an error. */
static void
test_parse_every_prefix_incomplete(void **state)
{
	struct ferry_error err;
	struct onion_reply *rep;
	struct sb b = { NULL, 0, 0 };
	size_t i, k, len, used;

	(void)state;
	for (i = 0; i < sizeof(valid_replies) / sizeof(valid_replies[0]);
	    i++) {
		len = strlen(valid_replies[i]);
		for (k = 0; k < len; k++) {
			int r = parse_n(valid_replies[i], k, &rep, &used, &err);

			if (r != 1)
				fail_msg("reply %zu, prefix of %zu bytes: %d "
				    "(%s)", i, k, r, ferry_error_msg(&err));
			assert_null(rep);
			assert_int_equal(err.msg[0], '\0');
		}
		rep = parse_all(valid_replies[i]);
		onion_reply_free(rep);
		/* And with the next reply behind it, it ends where it did. */
		b.len = 0;
		sb_str(&b, valid_replies[i]);
		sb_str(&b, "250 OK\r\n");
		assert_ok(parse_n(b.p, b.len, &rep, &used, &err));
		assert_int_equal(used, len);
		onion_reply_free(rep);
	}
	free(b.p);
}

static void
test_parse_crlf_required(void **state)
{
	(void)state;
	REFUSED("250 OK\n", FERRY_ERR_TOR, "line 1: does not end in "
	    "CRLF");
	REFUSED("250-a\r\n250 OK\n", FERRY_ERR_TOR, "line 2");
	REFUSED("\n", FERRY_ERR_TOR, "CRLF");
	REFUSED("\r\n", FERRY_ERR_TOR, "line 1");
	/* In a data block too. */
	REFUSED("250+x=\r\nabc\n.\r\n250 OK\r\n", FERRY_ERR_TOR,
	    "line 2: does not end in CRLF");
	REFUSED("250+x=\r\nabc\r\n.\n250 OK\r\n", FERRY_ERR_TOR,
	    "line 3");
	/* A CR alone inside a line is a control byte. */
	REFUSED("250 O\rK\r\n", FERRY_ERR_TOR, "control byte 0x0d");
	REFUSED("250 OK\r\r\n", FERRY_ERR_TOR, "control byte 0x0d");
}

static void
test_parse_control_bytes(void **state)
{
	static const char *const bad[] = {
		"250 O\x01K\r\n", "250 \x1b[31mred\r\n", "250 del\x7f\r\n",
		"250 \x0b\r\n", "250 a\x1f\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_refused(bad[i], strlen(bad[i]), FERRY_ERR_TOR,
		    "control byte");
	/* A NUL, which a C string could not show. */
	REFUSED("250 O\0K\r\n", FERRY_ERR_TOR, "control byte 0x00 at "
	    "column 6");
	/* In a data line, and in the head of a later line. */
	REFUSED("250+x=\r\na\x02\r\n.\r\n250 OK\r\n", FERRY_ERR_TOR,
	    "line 2: control byte 0x02");
	REFUSED("250-a\r\n250 b\x05\r\n", FERRY_ERR_TOR,
	    "line 2: control byte");
}

static void
test_parse_bad_head(void **state)
{
	static const char *const bad[] = {
		"25 OK\r\n", "250\r\n", "2500OK\r\n", "abc OK\r\n",
		"150 OK\r\n", "750 OK\r\n", "050 OK\r\n", "25a OK\r\n",
		" 250 OK\r\n", "250_OK\r\n", "250:OK\r\n", "2\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_refused(bad[i], strlen(bad[i]), FERRY_ERR_TOR, "line 1");
	REFUSED("250-a\r\nxyz\r\n", FERRY_ERR_TOR,
	    "line 2: no three-digit status");
}

static void
test_parse_status_mismatch(void **state)
{
	(void)state;
	REFUSED("250-a\r\n251 b\r\n", FERRY_ERR_TOR,
	    "line 2: status 251 within a reply of status 250");
	/* An event cannot interleave with the lines of a reply. */
	REFUSED("250-a\r\n650 CIRC 1 BUILT\r\n", FERRY_ERR_TOR,
	    "status 650 within a reply of status 250");
	REFUSED("250+a=\r\nx\r\n.\r\n550 no\r\n", FERRY_ERR_TOR,
	    "line 4: status 550");
	REFUSED("650-a\r\n250 OK\r\n", FERRY_ERR_TOR,
	    "status 250 within a reply of status 650");
}

static void
test_parse_data(void **state)
{
	struct onion_reply *rep;

	(void)state;
	/* Dot-unescaping; an empty data line stays; "." ends the block. */
	rep = parse_all("250+config-text=\r\n"
	    "ControlPort 9051\r\n"
	    "..leading dot\r\n"
	    "\r\n"
	    "...\r\n"
	    ". \r\n"
	    "a.b.\r\n"
	    ".\r\n"
	    "250 OK\r\n");
	assert_int_equal(rep->status, 250);
	assert_int_equal(rep->nlines, 2);
	assert_string_equal(rep->lines[0].text, "config-text=");
	assert_non_null(rep->lines[0].data);
	assert_string_equal(rep->lines[0].data,
	    "ControlPort 9051\n.leading dot\n\n..\n \na.b.");
	assert_int_equal(rep->lines[0].datalen,
	    strlen("ControlPort 9051\n.leading dot\n\n..\n \na.b."));
	assert_string_equal(rep->lines[1].text, "OK");
	assert_null(rep->lines[1].data);
	onion_reply_free(rep);

	/* An empty block: no data. */
	rep = parse_all("250+x=\r\n.\r\n250 OK\r\n");
	assert_int_equal(rep->nlines, 2);
	assert_int_equal(rep->lines[0].datalen, 0);
	onion_reply_free(rep);

	/* Two blocks and a plain line between them. */
	rep = parse_all("250+a=\r\nx\r\n.\r\n250-b=1\r\n250+c=\r\ny\r\nz\r\n"
	    ".\r\n250 OK\r\n");
	assert_int_equal(rep->nlines, 4);
	assert_string_equal(rep->lines[0].data, "x");
	assert_null(rep->lines[1].data);
	assert_string_equal(rep->lines[1].text, "b=1");
	assert_string_equal(rep->lines[2].data, "y\nz");
	assert_int_equal(rep->lines[2].datalen, 3);
	onion_reply_free(rep);

	/* A data line looking like a status line is data. */
	rep = parse_all("250+x=\r\n250 OK\r\n550 no\r\n.\r\n250 OK\r\n");
	assert_int_equal(rep->nlines, 2);
	assert_string_equal(rep->lines[0].data, "250 OK\n550 no");
	onion_reply_free(rep);

	/* A "+" line as the last one still needs a final "NNN " line. */
	{
		struct ferry_error err;
		size_t used;

		assert_int_equal(parse_n("250+a=\r\nx\r\n.\r\n", 14, &rep,
		    &used, &err), 1);
		assert_null(rep);
	}
}

/* A line of ONION_CTL_LINE_MAX bytes, CRLF included, and no more. */
static void
test_parse_line_max(void **state)
{
	struct ferry_error err;
	struct onion_reply *rep;
	struct sb b = { NULL, 0, 0 };
	size_t used;

	(void)state;
	sb_line(&b, "250 ", ONION_CTL_LINE_MAX);
	rep = parse_all(b.p);
	assert_int_equal(strlen(rep->lines[0].text), ONION_CTL_LINE_MAX - 6);
	onion_reply_free(rep);

	b.len = 0;
	sb_line(&b, "250 ", ONION_CTL_LINE_MAX + 1);
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "line 1: longer than");

	/*
	 * Unfinished: one byte short of the bound can still end in time,
	 * the bound itself without an LF cannot.
	 */
	b.len = 0;
	sb_str(&b, "250 ");
	sb_fill(&b, 'x', ONION_CTL_LINE_MAX - 5);
	assert_int_equal(b.len, ONION_CTL_LINE_MAX - 1);
	assert_int_equal(parse_n(b.p, b.len, &rep, &used, &err), 1);
	sb_str(&b, "x");
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "longer than");

	/* The same for a later line and for a data line. */
	b.len = 0;
	sb_str(&b, "250-a\r\n");
	sb_line(&b, "250 ", ONION_CTL_LINE_MAX + 1);
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "line 2");
	b.len = 0;
	sb_str(&b, "250+a=\r\n");
	sb_line(&b, "", ONION_CTL_LINE_MAX);
	sb_str(&b, ".\r\n250 OK\r\n");
	rep = parse_all(b.p);
	assert_int_equal(rep->lines[0].datalen, ONION_CTL_LINE_MAX - 2);
	onion_reply_free(rep);
	b.len = 0;
	sb_str(&b, "250+a=\r\n");
	sb_line(&b, "", ONION_CTL_LINE_MAX + 1);
	sb_str(&b, ".\r\n250 OK\r\n");
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "line 2: longer than");
	free(b.p);
}

/* ONION_CTL_LINES_MAX lines in one reply, data lines counted too. */
static void
test_parse_lines_max(void **state)
{
	struct ferry_error err;
	struct onion_reply *rep;
	struct sb b = { NULL, 0, 0 };
	size_t i, used;

	(void)state;
	for (i = 0; i < ONION_CTL_LINES_MAX - 1; i++)
		sb_str(&b, "250-x\r\n");
	sb_str(&b, "250 OK\r\n");
	rep = parse_all(b.p);
	assert_int_equal(rep->nlines, ONION_CTL_LINES_MAX);
	onion_reply_free(rep);

	b.len = 0;
	for (i = 0; i < ONION_CTL_LINES_MAX; i++)
		sb_str(&b, "250-x\r\n");
	sb_str(&b, "250 OK\r\n");
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "more than");
	/* Unfinished, but already past the bound: never a reply. */
	b.len = 0;
	for (i = 0; i < ONION_CTL_LINES_MAX; i++)
		sb_str(&b, "250-x\r\n");
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "lines");
	/* One short of the bound, unfinished: more may come. */
	b.len = 0;
	for (i = 0; i < ONION_CTL_LINES_MAX - 1; i++)
		sb_str(&b, "250-x\r\n");
	assert_int_equal(parse_n(b.p, b.len, &rep, &used, &err), 1);

	/* head + data lines + "." + final line = the bound. */
	b.len = 0;
	sb_str(&b, "250+d=\r\n");
	for (i = 0; i < ONION_CTL_LINES_MAX - 3; i++)
		sb_str(&b, "d\r\n");
	sb_str(&b, ".\r\n250 OK\r\n");
	rep = parse_all(b.p);
	assert_int_equal(rep->nlines, 2);
	assert_int_equal(rep->lines[0].datalen,
	    2 * (ONION_CTL_LINES_MAX - 3) - 1);
	onion_reply_free(rep);
	b.len = 0;
	sb_str(&b, "250+d=\r\n");
	for (i = 0; i < ONION_CTL_LINES_MAX - 2; i++)
		sb_str(&b, "d\r\n");
	sb_str(&b, ".\r\n250 OK\r\n");
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "lines");
	free(b.p);
}

/*
 * A data reply of exactly total bytes: "250+d=" (8), data lines of at
 * most ONION_CTL_LINE_MAX, "." (3) and "250 OK" (8).
 */
static void
sized_reply(struct sb *b, size_t total, int finished)
{
	size_t left = total - 19;

	b->len = 0;
	sb_str(b, "250+d=\r\n");
	while (left > ONION_CTL_LINE_MAX + 2) {
		sb_line(b, "", ONION_CTL_LINE_MAX);
		left -= ONION_CTL_LINE_MAX;
	}
	if (left > ONION_CTL_LINE_MAX) {	/* keep the last one >= 2 */
		sb_line(b, "", ONION_CTL_LINE_MAX - 8);
		left -= ONION_CTL_LINE_MAX - 8;
	}
	sb_line(b, "", left);
	if (finished)
		sb_str(b, ".\r\n250 OK\r\n");
}

static void
test_parse_reply_max(void **state)
{
	struct ferry_error err;
	struct onion_reply *rep;
	struct sb b = { NULL, 0, 0 };
	size_t used;

	(void)state;
	sized_reply(&b, ONION_CTL_REPLY_MAX, 1);
	assert_int_equal(b.len, ONION_CTL_REPLY_MAX);
	rep = parse_all(b.p);
	onion_reply_free(rep);

	sized_reply(&b, ONION_CTL_REPLY_MAX + 1, 1);
	assert_int_equal(b.len, ONION_CTL_REPLY_MAX + 1);
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "bytes");

	/* Unfinished past the bound, in a data block or between lines. */
	sized_reply(&b, ONION_CTL_REPLY_MAX + 1000, 0);
	assert_true(b.len > ONION_CTL_REPLY_MAX);
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, "bytes");
	b.len = 0;
	while (b.len <= ONION_CTL_REPLY_MAX)
		sb_line(&b, "250-", 4000);
	parse_refused(b.p, b.len, FERRY_ERR_TOO_LARGE, NULL);

	/* The bound is per reply: a small one ahead of a large rest. */
	b.len = 0;
	sb_str(&b, "250 OK\r\n");
	sb_fill(&b, 'x', ONION_CTL_REPLY_MAX + 10);
	assert_ok(parse_n(b.p, b.len, &rep, &used, &err));
	assert_int_equal(used, 8);
	onion_reply_free(rep);
	free(b.p);
}

static void
test_parse_events(void **state)
{
	static const char evs[] =
	    "650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n"
	    "650-HS_DESC UPLOADED " SERVICE_ID " UNKNOWN $AAAA\r\n"
	    "650 OK\r\n"
	    "650+NS\r\nr relay\r\n.\r\n650 OK\r\n"
	    "250 OK\r\n";
	struct ferry_error err;
	struct onion_reply *rep;
	size_t pos = 0, used;

	(void)state;
	assert_ok(parse_n(evs, strlen(evs), &rep, &used, &err));
	assert_int_equal(rep->status, 650);
	assert_int_equal(rep->nlines, 1);
	assert_string_equal(rep->lines[0].text,
	    "STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED");
	onion_reply_free(rep);
	pos += used;
	assert_ok(parse_n(evs + pos, strlen(evs) - pos, &rep, &used, &err));
	assert_int_equal(rep->status, 650);
	assert_int_equal(rep->nlines, 2);
	assert_string_equal(rep->lines[1].text, "OK");
	onion_reply_free(rep);
	pos += used;
	assert_ok(parse_n(evs + pos, strlen(evs) - pos, &rep, &used, &err));
	assert_int_equal(rep->status, 650);
	assert_string_equal(rep->lines[0].data, "r relay");
	onion_reply_free(rep);
	pos += used;
	assert_ok(parse_n(evs + pos, strlen(evs) - pos, &rep, &used, &err));
	assert_int_equal(rep->status, 250);
	onion_reply_free(rep);
	assert_int_equal(pos + used, strlen(evs));
}

/* ---- onion_kv ---- */

/* onion_kv(text, key) into a buffer of outlen bytes: its code. */
static int
kv(const char *text, const char *key, char *out, size_t outlen,
    struct ferry_error *err)
{
	ferry_error_clear(err);
	return onion_kv(text, key, out, outlen, err);
}

static void
kv_is(const char *text, const char *key, const char *want)
{
	struct ferry_error err;
	char out[256];

	memset(out, 'Z', sizeof(out));
	assert_ok(kv(text, key, out, sizeof(out), &err));
	assert_string_equal(out, want);
	assert_int_equal(err.msg[0], '\0');
}

static void
kv_refused(const char *text, const char *key, int code, const char *has)
{
	struct ferry_error err;
	char out[256];

	expect_err(kv(text, key, out, sizeof(out), &err), &err, code, has);
}

static void
test_kv_bare(void **state)
{
	static const char pi[] = "AUTH METHODS=COOKIE,SAFECOOKIE "
	    "COOKIEFILE=\"/run/tor/control.authcookie\"";

	(void)state;
	kv_is(pi, "METHODS", "COOKIE,SAFECOOKIE");
	kv_is(pi, "COOKIEFILE", "/run/tor/control.authcookie");
	kv_is("ServiceID=" SERVICE_ID, "ServiceID", SERVICE_ID);
	kv_is("PrivateKey=" KEY_BLOB, "PrivateKey", KEY_BLOB);
	/* A value holding '=' and an empty value. */
	kv_is("K=a=b L=1", "K", "a=b");
	kv_is("K= L=1", "K", "");
	kv_is("K= L=1", "L", "1");
	/* Extra spaces, words before and after. */
	kv_is("  word  K=v  other", "K", "v");
	/* The first of two. */
	kv_is("K=1 K=2", "K", "1");
}

static void
test_kv_quoted(void **state)
{
	(void)state;
	kv_is("VERSION Tor=\"0.4.8.10\"", "Tor", "0.4.8.10");
	kv_is("K=\"\"", "K", "");
	kv_is("K=\"a b  c\" L=d", "K", "a b  c");
	kv_is("K=\"a b  c\" L=d", "L", "d");
	kv_is("K=\"back\\\\slash\"", "K", "back\\slash");
	kv_is("K=\"q\\\"uote\"", "K", "q\"uote");
	kv_is("K=\"n\\nr\\rt\\t\"", "K", "n\nr\rt\t");
	/* Octal: one to three digits, the fourth is a character. */
	kv_is("K=\"\\101\\1012\\7\\47\"", "K", "AA2\a'");
	kv_is("K=\"\\377\"", "K", "\xff");
	kv_is("K=\"\\303\\251\"", "K", "\xc3\xa9");
	/* A tor COOKIEFILE with a quote and a backslash in its path. */
	kv_is("AUTH METHODS=SAFECOOKIE COOKIEFILE=\"/tmp/a \\\"b\\\\c\"",
	    "COOKIEFILE", "/tmp/a \"b\\c");
}

static void
test_kv_malformed(void **state)
{
	(void)state;
	/* No escape may decode to NUL. */
	kv_refused("K=\"a\\0b\"", "K", FERRY_ERR_TOR, NULL);
	kv_refused("K=\"a\\000\"", "K", FERRY_ERR_TOR, NULL);
	kv_refused("K=\"\\00\"", "K", FERRY_ERR_TOR, NULL);
	/* Past a byte. */
	kv_refused("K=\"\\400\"", "K", FERRY_ERR_TOR, NULL);
	kv_refused("K=\"\\777\"", "K", FERRY_ERR_TOR, NULL);
	/* Unknown escapes. */
	kv_refused("K=\"\\x41\"", "K", FERRY_ERR_TOR, "unknown escape");
	kv_refused("K=\"\\q\"", "K", FERRY_ERR_TOR, "unknown escape");
	kv_refused("K=\"\\8\"", "K", FERRY_ERR_TOR, "unknown escape");
	kv_refused("K=\"\\ \"", "K", FERRY_ERR_TOR, "unknown escape");
	/* No end, or a backslash at the very end. */
	kv_refused("K=\"abc", "K", FERRY_ERR_TOR, "no end");
	kv_refused("K=\"abc\\\"", "K", FERRY_ERR_TOR, "no end");
	kv_refused("K=\"abc\\", "K", FERRY_ERR_TOR, NULL);
	/* Text straight after the closing quote. */
	kv_refused("K=\"a\"b", "K", FERRY_ERR_TOR, "after a quoted value");
	/* A malformed value ahead of the key is not skipped over. */
	kv_refused("A=\"x\\q\" K=1", "K", FERRY_ERR_TOR, NULL);
	kv_refused("A=\"open K=1", "K", FERRY_ERR_TOR, NULL);
}

/* A key inside another key's quoted value is part of that value. */
static void
test_kv_key_in_quoted_value(void **state)
{
	(void)state;
	kv_is("MSG=\"ServiceID=evil other\" ServiceID=good", "ServiceID",
	    "good");
	kv_refused("MSG=\"ServiceID=evil\"", "ServiceID", FERRY_ERR_NOT_FOUND,
	    "ServiceID");
	kv_refused("MSG=\"x ServiceID=evil y\"", "ServiceID",
	    FERRY_ERR_NOT_FOUND, NULL);
	kv_refused("MSG=\"a \\\" ServiceID=evil\"", "ServiceID",
	    FERRY_ERR_NOT_FOUND, NULL);
	kv_is("MSG=\"a \\\" ServiceID=evil\" ServiceID=good", "ServiceID",
	    "good");
}

static void
test_kv_missing_and_exact(void **state)
{
	(void)state;
	kv_refused("", "K", FERRY_ERR_NOT_FOUND, "no K=");
	kv_refused("OK", "K", FERRY_ERR_NOT_FOUND, NULL);
	kv_refused("K", "K", FERRY_ERR_NOT_FOUND, NULL);
	/* Keys compare exactly: no prefix, suffix or case folding. */
	kv_refused("ServiceIDX=1", "ServiceID", FERRY_ERR_NOT_FOUND, NULL);
	kv_refused("XServiceID=1", "ServiceID", FERRY_ERR_NOT_FOUND, NULL);
	kv_refused("serviceid=1", "ServiceID", FERRY_ERR_NOT_FOUND, NULL);
	kv_refused("ServiceID=1", "Service", FERRY_ERR_NOT_FOUND, NULL);
	/* A value is not a key. */
	kv_refused("A=K", "K", FERRY_ERR_NOT_FOUND, NULL);
}

static void
test_kv_too_small(void **state)
{
	struct ferry_error err;
	char out[8];

	(void)state;
	/* Room for the value and its NUL is enough; one less is not. */
	memset(out, 'Z', sizeof(out));
	assert_ok(kv("K=abcd", "K", out, 5, &err));
	assert_string_equal(out, "abcd");
	expect_err(kv("K=abcd", "K", out, 4, &err), &err, FERRY_ERR_TOO_LARGE,
	    NULL);
	assert_ok(kv("K=\"abcd\"", "K", out, 5, &err));
	assert_string_equal(out, "abcd");
	expect_err(kv("K=\"abcd\"", "K", out, 4, &err), &err,
	    FERRY_ERR_TOO_LARGE, NULL);
	/* Escapes count once decoded. */
	assert_ok(kv("K=\"\\101\\102\\n\\\\\"", "K", out, 5, &err));
	assert_string_equal(out, "AB\n\\");
	expect_err(kv("K=\"\\101\\102\\n\\\\\"", "K", out, 4, &err), &err,
	    FERRY_ERR_TOO_LARGE, NULL);
	/* Only the matching value has to fit. */
	assert_ok(kv("A=\"a long value\" B=long-too K=ab", "K", out, 3, &err));
	assert_string_equal(out, "ab");
	/* No room at all, even for an empty value. */
	assert_true(kv("K=", "K", out, 0, &err) != 0);
	assert_ok(kv("K=", "K", out, 1, &err));
	assert_string_equal(out, "");
}

/* ---- the fake tor ---- */

enum act {
	A_END,
	A_REPLY,	/* read a line beginning with expect; send reply */
	A_SEND,		/* send reply, reading nothing */
	A_DRIBBLE,	/* as A_REPLY, the reply one byte per send() */
	A_GO,		/* wait for the test's fake_go() */
	A_CLOSE,	/* close the connection */
	A_CHALLENGE,	/* read AUTHCHALLENGE, answer (reply: instead) */
	A_AUTH,		/* read AUTHENTICATE, check the hash, answer */
};

struct step {
	enum act act;
	const char *expect;
	const char *reply;
};

/* The events the client's callback got. */
struct evlog {
	int n;
	int status[8];
	size_t nlines[8];
	char text[8][256];	/* of the event's first line */
};

struct fx {
	char dir[UNIT_DIR_MAX];
	char sock[UNIT_DIR_MAX + 16];
	char addr[UNIT_DIR_MAX + 32];		/* for onion_ctl_open */
	char cookie_path[UNIT_DIR_MAX + 32];
	unsigned char cookie[32];
	char pinfo[1024];	/* PROTOCOLINFO: SAFECOOKIE, cookie_path */
	char pinfo2[1024];	/* another, as a test makes it */
	char *big;		/* a large reply, freed by the teardown */
	struct step steps[24];
	int bad_hash;		/* A_CHALLENGE sends a wrong SERVERHASH */
	struct evlog ev;	/* the test's, not the fake's */
	/* The fake's own; the test reads them after fake_join() only. */
	pthread_t th;
	int running, lfd, stop[2], go[2];
	char rbuf[65536];
	size_t rlen;
	char log[NLOG][LOG_MAX];
	size_t nlog;
	unsigned char want_auth[32];
	int auth_ok;		/* the client's AUTHENTICATE was right */
	char problem[512];	/* the first thing wrong, "" if none */
};
UNIT_FX_CHECK(struct fx);

static void fake_problem(struct fx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fake_problem(struct fx *f, const char *fmt, ...)
{
	va_list ap;

	if (f->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(f->problem, sizeof(f->problem), fmt, ap);
	va_end(ap);
}

/* Wait for fd to be readable: 1; 0 when told to stop or after FAKE_MS. */
static int
fake_wait(struct fx *f, int fd)
{
	struct pollfd p[2];
	int r;

	p[0].fd = fd;
	p[0].events = POLLIN;
	p[1].fd = f->stop[0];
	p[1].events = POLLIN;
	do {
		p[0].revents = p[1].revents = 0;
		r = poll(p, 2, FAKE_MS);
	} while (r < 0 && errno == EINTR);
	if (r > 0 && p[1].revents != 0)
		return 0;
	if (r <= 0) {
		fake_problem(f, "fake: waited %d ms in vain", FAKE_MS);
		return 0;
	}
	return 1;
}

/*
 * The client's next line, CRLF removed, into line and the log: 1; 0 when
 * the client closed the connection; -1 on any other end.
 */
static int
fake_line(struct fx *f, int fd, char *line, size_t cap)
{
	size_t k, n;
	ssize_t got;
	char *nl;

	for (;;) {
		if ((nl = memchr(f->rbuf, '\n', f->rlen)) != NULL) {
			k = (size_t)(nl - f->rbuf);
			n = k;
			if (n > 0 && f->rbuf[n - 1] == '\r')
				n--;
			else
				fake_problem(f, "fake: a line without CRLF");
			if (memchr(f->rbuf, '\r', n) != NULL ||
			    memchr(f->rbuf, '\0', n) != NULL)
				fake_problem(f, "fake: a CR or NUL in a line");
			if (n >= cap)
				n = cap - 1;
			memcpy(line, f->rbuf, n);
			line[n] = '\0';
			memmove(f->rbuf, f->rbuf + k + 1, f->rlen - k - 1);
			f->rlen -= k + 1;
			if (f->nlog < NLOG)
				memcpy(f->log[f->nlog++], line, n + 1);
			else
				fake_problem(f, "fake: more than %d lines",
				    NLOG);
			return 1;
		}
		if (f->rlen == sizeof(f->rbuf)) {
			fake_problem(f, "fake: a line too long");
			return -1;
		}
		if (!fake_wait(f, fd))
			return -1;
		got = recv(fd, f->rbuf + f->rlen, sizeof(f->rbuf) - f->rlen, 0);
		if (got == 0)
			return 0;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		f->rlen += (size_t)got;
	}
}

/* Send s[0..n); a client that went away is its test's business. */
static void
fake_send(int fd, const char *s, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = send(fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * n hex digits at s into out: 0 or -1.  No cmocka here. */
static int
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hexdigit(s[2 * i])) < 0 ||
		    (lo = hexdigit(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Upper case, as tor's base16_encode() writes it. */
static void
hex_upper(const unsigned char *in, size_t n, char *out)
{
	static const char d[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* HMAC-SHA256 keyed by key over cookie | client nonce | server nonce. */
static void
safecookie_mac(const char *key, const unsigned char cookie[32],
    const unsigned char cn[32], const unsigned char sn[32],
    unsigned char out[32])
{
	unsigned char msg[96];
	unsigned int len = 0;

	memcpy(msg, cookie, 32);
	memcpy(msg + 32, cn, 32);
	memcpy(msg + 64, sn, 32);
	if (HMAC(EVP_sha256(), key, (int)strlen(key), msg, sizeof(msg), out,
	    &len) == NULL || len != 32)
		memset(out, 0, 32);
}

/* Tor's side of AUTHCHALLENGE SAFECOOKIE (control-spec 3.24). */
static void
fake_challenge(struct fx *f, int fd, const char *line, const char *instead)
{
	unsigned char cn[32], sn[32], mac[32];
	char sh[65], snh[65], out[256];

	if (strncmp(line, "AUTHCHALLENGE SAFECOOKIE ", 25) != 0 ||
	    unhex(line + 25, cn, sizeof(cn)) != 0) {
		fake_problem(f, "fake: not AUTHCHALLENGE SAFECOOKIE and 64 "
		    "hex digits: \"%s\"", line);
		return;
	}
	randombytes_buf(sn, sizeof(sn));
	safecookie_mac(server_key, f->cookie, cn, sn, mac);
	if (f->bad_hash)
		mac[31] ^= 0x80;
	safecookie_mac(client_key, f->cookie, cn, sn, f->want_auth);
	hex_upper(mac, sizeof(mac), sh);
	hex_upper(sn, sizeof(sn), snh);
	if (instead != NULL) {
		fake_send(fd, instead, strlen(instead));
		return;
	}
	snprintf(out, sizeof(out), "250 AUTHCHALLENGE SERVERHASH=%s "
	    "SERVERNONCE=%s\r\n", sh, snh);
	fake_send(fd, out, strlen(out));
}

static void
fake_auth(struct fx *f, int fd, const char *line)
{
	static const char no[] = "515 Authentication failed: Safe cookie "
	    "response did not match expected value.\r\n";
	unsigned char got[32];

	if (strncmp(line, "AUTHENTICATE ", 13) != 0 ||
	    unhex(line + 13, got, sizeof(got)) != 0) {
		fake_problem(f, "fake: not AUTHENTICATE and 64 hex digits: "
		    "\"%s\"", line);
		return;
	}
	f->auth_ok = memcmp(got, f->want_auth, sizeof(got)) == 0;
	if (f->auth_ok)
		fake_send(fd, "250 OK\r\n", 8);
	else
		fake_send(fd, no, strlen(no));
}

static void *
fake_main(void *arg)
{
	struct fx *f = arg;
	struct timeval tv = { FAKE_MS / 1000, 0 };
	const struct step *s;
	char line[LOG_MAX], go;
	size_t i;
	int fd;

	if (!fake_wait(f, f->lfd))
		return NULL;
	if ((fd = accept(f->lfd, NULL, NULL)) < 0) {
		fake_problem(f, "fake: accept: %s", strerror(errno));
		return NULL;
	}
	/* A client that stops reading cannot hold a send() forever. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (s = f->steps; s->act != A_END; s++) {
		if (s->act == A_REPLY || s->act == A_DRIBBLE ||
		    s->act == A_CHALLENGE || s->act == A_AUTH) {
			if (fake_line(f, fd, line, sizeof(line)) != 1) {
				fake_problem(f, "fake: step %d: no line came",
				    (int)(s - f->steps) + 1);
				goto out;
			}
			if (s->expect != NULL && strncmp(line, s->expect,
			    strlen(s->expect)) != 0) {
				fake_problem(f, "fake: step %d: \"%s\", not "
				    "\"%s...\"", (int)(s - f->steps) + 1, line,
				    s->expect);
				goto out;
			}
		}
		switch (s->act) {
		case A_REPLY:
		case A_SEND:
			if (s->reply != NULL)
				fake_send(fd, s->reply, strlen(s->reply));
			break;
		case A_DRIBBLE:
			for (i = 0; s->reply[i] != '\0'; i++)
				fake_send(fd, s->reply + i, 1);
			break;
		case A_GO:
			if (!fake_wait(f, f->go[0]) ||
			    read(f->go[0], &go, 1) != 1)
				goto out;
			break;
		case A_CLOSE:
			goto out;
		case A_CHALLENGE:
			fake_challenge(f, fd, line, s->reply);
			break;
		case A_AUTH:
			fake_auth(f, fd, line);
			break;
		case A_END:
			break;
		}
	}
	/* Keep whatever else the client sends, until it closes. */
	while (fake_line(f, fd, line, sizeof(line)) == 1)
		;
 out:
	(void)close(fd);
	return NULL;
}

static int
setup(void **state)
{
	struct fx *f = unit_fx_new(state, sizeof(*f), "onionctl");
	FILE *fp;

	if (f == NULL)
		return -1;
	f->lfd = f->stop[0] = f->stop[1] = f->go[0] = f->go[1] = -1;
	snprintf(f->sock, sizeof(f->sock), "%s/control", f->dir);
	snprintf(f->addr, sizeof(f->addr), "unix:%s", f->sock);
	snprintf(f->cookie_path, sizeof(f->cookie_path),
	    "%s/control_auth_cookie", f->dir);
	randombytes_buf(f->cookie, sizeof(f->cookie));
	/* The test dir's name has no quote or backslash to escape. */
	snprintf(f->pinfo, sizeof(f->pinfo), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"%s\"\r\n"
	    "250-VERSION Tor=\"0.4.8.10\"\r\n250 OK\r\n", f->cookie_path);
	/* As tor writes it: 0600 (a cookie everyone can read is refused). */
	if ((fp = fopen(f->cookie_path, "wb")) == NULL ||
	    fwrite(f->cookie, 1, 32, fp) != 32 || fclose(fp) != 0 ||
	    chmod(f->cookie_path, 0600) != 0 ||
	    pipe(f->stop) != 0 || pipe(f->go) != 0) {
		(void)unit_fx_teardown(state);
		return -1;
	}
	return 0;
}

/* Stop the fake if it still runs, after a test that failed. */
static void
fake_stop(struct fx *f)
{
	if (f->running) {
		ssize_t w = write(f->stop[1], "s", 1);

		(void)w;
		(void)pthread_join(f->th, NULL);
		f->running = 0;
	}
	if (f->lfd >= 0)
		(void)close(f->lfd);
	f->lfd = -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	int i;

	fake_stop(f);
	for (i = 0; i < 2; i++) {
		if (f->stop[i] >= 0)
			(void)close(f->stop[i]);
		if (f->go[i] >= 0)
			(void)close(f->go[i]);
	}
	free(f->big);
	return unit_fx_teardown(state);
}

/* Start the fake on lfd, playing steps (copied) for one connection. */
static void
fake_run(struct fx *f, const struct step *steps)
{
	size_t n = 0;
	char drain[16];

	while (steps[n].act != A_END)
		n++;
	assert_true(n < sizeof(f->steps) / sizeof(f->steps[0]));
	memcpy(f->steps, steps, (n + 1) * sizeof(*steps));
	f->rlen = 0;
	f->nlog = 0;
	f->auth_ok = 0;
	f->problem[0] = '\0';
	/* A go-ahead a failed round left unread must not carry over. */
	while (poll(&(struct pollfd){ f->go[0], POLLIN, 0 }, 1, 0) == 1 &&
	    read(f->go[0], drain, sizeof(drain)) > 0)
		;
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	f->running = 1;
}

/* The fake on the unix socket f->sock. */
static void
fake_start(struct fx *f, const struct step *steps)
{
	struct sockaddr_un un;

	fake_stop(f);
	(void)unlink(f->sock);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_true(strlen(f->sock) < sizeof(un.sun_path));
	memcpy(un.sun_path, f->sock, strlen(f->sock) + 1);
	assert_true((f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	snprintf(f->addr, sizeof(f->addr), "unix:%s", f->sock);
	fake_run(f, steps);
}

/*
 * The fake on an ephemeral port of 127.0.0.1 or ::1; the test is skipped
 * where the machine has no such address.
 */
static void
fake_start_tcp(struct fx *f, int family, const struct step *steps)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int port;

	fake_stop(f);
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in4);
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if ((f->lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(f->lfd, (struct sockaddr *)&ss, len) != 0)
		skip();
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&ss, &len), 0);
	port = ntohs(family == AF_INET ? in4->sin_port : in6->sin6_port);
	snprintf(f->addr, sizeof(f->addr), family == AF_INET ?
	    "127.0.0.1:%d" : "[::1]:%d", port);
	fake_run(f, steps);
}

/* Wait for the fake to finish; it must have found nothing wrong. */
static void
fake_join(struct fx *f)
{
	assert_true(f->running);
	assert_int_equal(pthread_join(f->th, NULL), 0);
	f->running = 0;
	if (f->problem[0] != '\0')
		fail_msg("%s", f->problem);
}

/* Let an A_GO step go on. */
static void
fake_go(struct fx *f)
{
	assert_int_equal(write(f->go[1], "g", 1), 1);
}

/* How many lines the fake received that begin with prefix. */
static size_t
fake_count(const struct fx *f, const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < f->nlog; i++)
		if (strncmp(f->log[i], prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static struct onion_ctl *
ctl_open(struct fx *f, int timeout_ms)
{
	struct ferry_error err;
	struct onion_ctl *c = NULL;

	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_open(f->addr, timeout_ms, &c, &err));
	assert_non_null(c);
	assert_true(onion_ctl_fd(c) >= 0);
	return c;
}

static void
on_event(void *arg, const struct onion_reply *ev)
{
	struct evlog *e = arg;

	if (e->n < 8) {
		e->status[e->n] = ev->status;
		e->nlines[e->n] = ev->nlines;
		snprintf(e->text[e->n], sizeof(e->text[0]), "%s",
		    ev->lines[0].text);
	}
	e->n++;
}

/* Write a file of n bytes of v. */
static void
put_bytes(const char *path, int v, size_t n)
{
	unsigned char buf[64];

	assert_true(n <= sizeof(buf));
	memset(buf, v, sizeof(buf));
	unit_put_file(path, buf, n);
}

/* ---- opening ---- */

static void
test_open_unix_and_command(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", "250-version=0.4.8.10\r\n"
		    "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_reply *rep = NULL;
	struct onion_ctl *c;

	memset(&err, 0, sizeof(err));
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	assert_string_equal(onion_ctl_tor_version(c), "");
	assert_ok(onion_ctl_command(c, "GETINFO version", &rep, &err));
	assert_int_equal(rep->status, 250);
	assert_int_equal(rep->nlines, 2);
	assert_string_equal(rep->lines[0].text, "version=0.4.8.10");
	onion_reply_free(rep);
	onion_ctl_close(c);
	onion_ctl_close(NULL);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
	assert_string_equal(f->log[0], "GETINFO version");
}

static void
test_open_loopback_tcp(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", "250-version=0.4.8.10\r\n"
		    "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	memset(&err, 0, sizeof(err));
	fake_start_tcp(f, AF_INET, steps);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_string_equal(f->log[0], "GETINFO version");

	fake_start_tcp(f, AF_INET6, steps);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	onion_ctl_close(c);
	fake_join(f);
}

/* Open refused: *out untouched, code and detail. */
static void
open_refused(const char *addr, int code, const char *has)
{
	struct ferry_error err;
	struct onion_ctl *c = (struct onion_ctl *)&err;	/* a marker */
	int r;

	memset(&err, 0, sizeof(err));
	r = onion_ctl_open(addr, 1000, &c, &err);
	if (r != code)
		fail_msg("onion_ctl_open(\"%s\"): %d (%s), not %d", addr, r,
		    ferry_error_msg(&err), code);
	expect_err(r, &err, code, has);
	assert_ptr_equal(c, (struct onion_ctl *)&err);
}

/* The protocol is plain text: nothing but this machine. */
static void
test_open_refuses_remote(void **state)
{
	static const char *const remote[] = {
		"10.0.0.1:9051", "192.168.1.1:9051", "0.0.0.0:9051",
		"128.0.0.1:9051", "126.255.255.255:9051",
		"255.255.255.255:9051", "[2001:db8::1]:9051", "[::]:9051",
		"[fe80::1]:9051", "[::2]:9051",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		open_refused(remote[i], FERRY_ERR_INVALID_ARG,
		    "not on this machine");
}

static void
test_open_refuses_malformed(void **state)
{
	static const char *const bad[] = {
		"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:99999999999999999999",
		"127.0.0.1:-1", "127.0.0.1:x", "127.0.0.1:9051x",
		"127.0.0.1:0x10", "localhost:9051", "127.1:9051",
		"127.0.0.1:9051:1", "127.0.0.256:9051", ":9051",
		"[::1:9051", "::1:9051", "[::1]9051", "[]:9051", "[::1]:",
		"[127.0.0.1]:9051", "[::1]x:9051", "unix:", "unix:relative",
		"unix:./control", "tcp:127.0.0.1:9051",
	};
	char longpath[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		open_refused(bad[i], FERRY_ERR_INVALID_ARG, NULL);
	/* A unix path longer than sun_path holds. */
	memcpy(longpath, "unix:/", 6);
	memset(longpath + 6, 'a', sizeof(longpath) - 7);
	longpath[sizeof(longpath) - 1] = '\0';
	open_refused(longpath, FERRY_ERR_INVALID_ARG, "unix:");
}

/*
 * The port after the colon is digits only: strtol() alone would skip
 * leading white space and take a sign, and accept "127.0.0.1: 9051" or
 * "127.0.0.1:+9051" as port 9051, though neither is IPv4:PORT.
 */
static void
test_open_refuses_sloppy_port(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1: 9051", "127.0.0.1:+9051", "127.0.0.1:\t9051",
		"[::1]: 9051", "[::1]:+9051",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		open_refused(bad[i], FERRY_ERR_INVALID_ARG, NULL);
}

static void
test_open_nothing_listening(void **state)
{
	struct fx *f = *state;
	char addr[UNIT_DIR_MAX + 32];

	snprintf(addr, sizeof(addr), "unix:%s/nobody", f->dir);
	open_refused(addr, FERRY_ERR_TOR, "cannot connect");
}

/* ---- commands ---- */

/* A command must be one line: refused before anything is sent. */
static void
test_command_refuses_crlf(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	static const char *const bad[] = {
		"GETINFO a\r\nSIGNAL HALT", "GETINFO a\nSIGNAL HALT",
		"GETINFO a\rSIGNAL HALT", "GETINFO a\r\n", "\r\n", "",
	};
	struct ferry_error err;
	struct onion_ctl *c;
	struct onion_reply *rep;
	struct sb b = { NULL, 0, 0 };
	size_t i;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		rep = (struct onion_reply *)&err;
		expect_err(onion_ctl_command(c, bad[i], &rep, &err), &err,
		    FERRY_ERR_INVALID_ARG, NULL);
		/* The message names the command, never what follows. */
		msg_lacks(&err, "HALT");
		assert_ptr_equal(rep, (struct onion_reply *)&err);
	}
	/* Longer than a command may be. */
	sb_str(&b, "GETINFO ");
	sb_fill(&b, 'a', ONION_CTL_COMMAND_MAX + 10);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, b.p, NULL, &err), &err,
	    FERRY_ERR_INVALID_ARG, "GETINFO");
	msg_lacks(&err, "aaaa");
	free(b.p);
	/* None of that broke the connection. */
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
	assert_string_equal(f->log[0], "GETINFO version");
}

/* 4xx and 5xx: tor's status and text, and the connection stays. */
static void
test_command_error_answer(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO foo", "552 Unrecognized key \"foo\"\r\n" },
		{ A_REPLY, "FROB", "510 Unrecognized command \"FROB\"\r\n" },
		{ A_REPLY, "SIGNAL NEWNYM", "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_reply *rep = NULL;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO foo", &rep, &err), &err,
	    FERRY_ERR_TOR, "552 Unrecognized key");
	assert_non_null(strstr(err.msg, "GETINFO"));
	assert_null(rep);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "FROB", NULL, &err), &err,
	    FERRY_ERR_TOR, "510");
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "SIGNAL NEWNYM", &rep, &err));
	assert_non_null(rep);
	onion_reply_free(rep);
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 3);
}

/* A reply that comes in one byte at a time, and a large one. */
static void
test_command_pieces_and_large(void **state)
{
	struct fx *f = *state;
	static const char cfg[] = "250+config-text=\r\nControlPort 9051\r\n"
	    "..x\r\n.\r\n250 OK\r\n";
	struct step steps[] = {
		{ A_DRIBBLE, "GETINFO config-text", cfg },
		{ A_REPLY, "GETINFO big", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_reply *rep = NULL;
	struct onion_ctl *c;
	struct sb b = { NULL, 0, 0 };
	size_t i;

	/* About 300 KiB: more than the first read buffer. */
	sb_str(&b, "250+big=\r\n");
	for (i = 0; i < 300; i++)
		sb_line(&b, "", 1024);
	sb_str(&b, ".\r\n250 OK\r\n");
	f->big = b.p;
	steps[1].reply = f->big;
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "GETINFO config-text", &rep, &err));
	assert_string_equal(rep->lines[0].data, "ControlPort 9051\n.x");
	onion_reply_free(rep);
	assert_ok(onion_ctl_command(c, "GETINFO big", &rep, &err));
	assert_int_equal(rep->nlines, 2);
	assert_int_equal(rep->lines[0].datalen, 300 * 1022 + 299);
	onion_reply_free(rep);
	onion_ctl_close(c);
	fake_join(f);
}

/* Out of protocol: an error, and no command after it is sent. */
static void
test_command_protocol_violation(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", "250 OK\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "CRLF");
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "failed earlier");
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_poll(c, 0, &err), &err, FERRY_ERR_TOR,
	    "failed earlier");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/* A reply over ONION_CTL_REPLY_MAX ends the connection. */
static void
test_command_reply_too_large(void **state)
{
	struct fx *f = *state;
	struct step steps[] = {
		{ A_REPLY, "GETINFO big", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	struct sb b = { NULL, 0, 0 };

	sized_reply(&b, ONION_CTL_REPLY_MAX + 4096, 1);
	f->big = b.p;
	steps[0].reply = f->big;
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_true(onion_ctl_command(c, "GETINFO big", NULL, &err) != 0);
	assert_non_null(strstr(err.msg, "bytes"));
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "failed earlier");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

static void
test_command_closed_mid_reply(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METH" },
		{ A_CLOSE, NULL, NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, "closed");
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "failed earlier");
	onion_ctl_close(c);
	fake_join(f);
}

/* A tor that never answers: the command gives up at its deadline. */
static void
test_command_timeout(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	int64_t t0, dt;
	int r;

	fake_start(f, steps);
	c = ctl_open(f, 300);
	memset(&err, 0, sizeof(err));
	t0 = mono_ms();
	r = onion_ctl_command(c, "GETINFO version", NULL, &err);
	dt = mono_ms() - t0;
	assert_true(r != 0);
	assert_non_null(strstr(err.msg, "in time"));
	if (dt < 250 || dt > 4000)
		fail_msg("gave up after %lld ms, not about 300",
		    (long long)dt);
	/* Out of step now: nothing more is sent. */
	memset(&err, 0, sizeof(err));
	t0 = mono_ms();
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "failed earlier");
	assert_true(mono_ms() - t0 < 250);
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/*
 * control.h's contract: a command fails with FERRY_ERR_TOR "when the
 * connection failed, timed out or spoke out of protocol", so a deadline
 * passed or a line or reply past its bound returns FERRY_ERR_TOR from
 * onion_ctl_command() and onion_ctl_poll(), not the inner
 * FERRY_ERR_TIMEOUT or FERRY_ERR_TOO_LARGE.
 */
static void
test_command_failure_codes_contract(void **state)
{
	struct fx *f = *state;
	struct step steps[] = {
		{ A_REPLY, "GETINFO version", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	struct sb b = { NULL, 0, 0 };
	int r_timeout, r_long;

	fake_start(f, steps);
	c = ctl_open(f, 300);
	memset(&err, 0, sizeof(err));
	r_timeout = onion_ctl_command(c, "GETINFO version", NULL, &err);
	onion_ctl_close(c);
	fake_join(f);

	sb_line(&b, "250 ", ONION_CTL_LINE_MAX + 100);
	f->big = b.p;
	steps[0].reply = f->big;
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	r_long = onion_ctl_command(c, "GETINFO version", NULL, &err);
	onion_ctl_close(c);
	fake_join(f);

	if (r_timeout != FERRY_ERR_TOR || r_long != FERRY_ERR_TOR)
		fail_msg("timeout: %d, over-long line: %d; both should be "
		    "FERRY_ERR_TOR (%d)", r_timeout, r_long, FERRY_ERR_TOR);
}

/* ---- events ---- */

/* Events ahead of a reply go to the callback, in order. */
static void
test_events_before_reply(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version",
		    "650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n"
		    "650-HS_DESC UPLOADED " SERVICE_ID " UNKNOWN $AAAA\r\n"
		    "650 OK\r\n"
		    "250-version=0.4.8.10\r\n250 OK\r\n" },
		{ A_REPLY, "GETINFO version",
		    "650 CIRC 7 BUILT\r\n250-version=0.4.8.10\r\n250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_reply *rep = NULL;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	onion_ctl_set_event_cb(c, on_event, &f->ev);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "GETINFO version", &rep, &err));
	assert_int_equal(rep->status, 250);
	assert_string_equal(rep->lines[0].text, "version=0.4.8.10");
	onion_reply_free(rep);
	assert_int_equal(f->ev.n, 2);
	assert_int_equal(f->ev.status[0], 650);
	assert_string_equal(f->ev.text[0],
	    "STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED");
	assert_int_equal(f->ev.nlines[1], 2);
	assert_string_equal(f->ev.text[1], "HS_DESC UPLOADED " SERVICE_ID
	    " UNKNOWN $AAAA");
	/* Without a callback they are dropped. */
	onion_ctl_set_event_cb(c, NULL, NULL);
	assert_ok(onion_ctl_command(c, "GETINFO version", &rep, &err));
	assert_string_equal(rep->lines[0].text, "version=0.4.8.10");
	onion_reply_free(rep);
	assert_int_equal(f->ev.n, 2);
	onion_ctl_close(c);
	fake_join(f);
}

/* Poll up to about total_ms, a bounded wait, until n events came. */
static int
poll_for_events(struct onion_ctl *c, struct evlog *ev, int n, int total_ms,
    struct ferry_error *err)
{
	int64_t end = mono_ms() + total_ms;
	int r;

	while (ev->n < n && mono_ms() < end)
		if ((r = onion_ctl_poll(c, 100, err)) != 0)
			return r;
	return 0;
}

static void
test_poll_event(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_GO, NULL, NULL },
		{ A_SEND, NULL, "650 HS_DESC UPLOADED " SERVICE_ID
		    " UNKNOWN $AAAA\r\n" },
		{ A_GO, NULL, NULL },
		{ A_SEND, NULL, "650+NS\r\nr relay\r\n.\r\n650 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	onion_ctl_set_event_cb(c, on_event, &f->ev);
	memset(&err, 0, sizeof(err));
	/* Nothing yet: a short poll returns with nothing. */
	assert_ok(onion_ctl_poll(c, 20, &err));
	assert_int_equal(f->ev.n, 0);
	fake_go(f);
	assert_ok(poll_for_events(c, &f->ev, 1, 5000, &err));
	assert_int_equal(f->ev.n, 1);
	assert_string_equal(f->ev.text[0], "HS_DESC UPLOADED " SERVICE_ID
	    " UNKNOWN $AAAA");
	fake_go(f);
	assert_ok(poll_for_events(c, &f->ev, 2, 5000, &err));
	assert_int_equal(f->ev.n, 2);
	assert_int_equal(f->ev.nlines[1], 2);
	onion_ctl_close(c);
	fake_join(f);
}

/*
 * An event that arrived in the same read as a command's reply stays in
 * the connection's buffer after onion_ctl_command() returns;
 * onion_ctl_poll() hands it to the callback at once, without waiting for
 * the socket to become readable: tor may send nothing more for a long
 * time.
 */
static void
test_poll_event_buffered_with_reply(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", "250 OK\r\n650 HS_DESC UPLOADED "
		    SERVICE_ID " UNKNOWN $AAAA\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	onion_ctl_set_event_cb(c, on_event, &f->ev);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	assert_ok(poll_for_events(c, &f->ev, 1, 1000, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->ev.n, 1);
}

static void
test_poll_closed(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "GETINFO version", "250 OK\r\n" },
		{ A_GO, NULL, NULL },
		{ A_CLOSE, NULL, NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	fake_go(f);
	expect_err(onion_ctl_poll(c, 5000, &err), &err, FERRY_ERR_TOR,
	    "closed");
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_poll(c, 0, &err), &err, FERRY_ERR_TOR,
	    "failed earlier");
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "failed earlier");
	onion_ctl_close(c);
	fake_join(f);
}

/* A reply nobody asked for is out of step. */
static void
test_poll_unasked_reply(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_GO, NULL, NULL },
		{ A_SEND, NULL, "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	int64_t end;
	int r = 0;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	fake_go(f);
	end = mono_ms() + 5000;
	while (r == 0 && mono_ms() < end)
		r = onion_ctl_poll(c, 100, &err);
	expect_err(r, &err, FERRY_ERR_TOR, "no command");
	onion_ctl_close(c);
	fake_join(f);
}

/* ---- authentication ---- */

static void
test_auth_safecookie(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_AUTH, "AUTHENTICATE ", NULL },
		{ A_REPLY, "GETINFO version", "250-version=0.4.8.10\r\n"
		    "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	unsigned char nonce[32], zero[32];

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	/* The cookie file tor names. */
	assert_ok(onion_ctl_authenticate(c, NULL, NULL, 0, &err));
	assert_string_equal(onion_ctl_tor_version(c), "0.4.8.10");
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_true(f->auth_ok);
	assert_int_equal(f->nlog, 4);
	assert_string_equal(f->log[0], "PROTOCOLINFO 1");
	/* The client nonce: 32 bytes of hex, not all zero. */
	assert_int_equal(unhex(f->log[1] + 25, nonce, 32), 0);
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(nonce, zero, 32);

	/* The cookie file the caller names, over tor's. */
	snprintf(f->pinfo, sizeof(f->pinfo), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=SAFECOOKIE COOKIEFILE=\"/nonexistent/c\"\r\n"
	    "250 OK\r\n");
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_authenticate(c, f->cookie_path, NULL, 0, &err));
	assert_string_equal(onion_ctl_tor_version(c), "");
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_true(f->auth_ok);
}

/* tor's COOKIEFILE is a QuotedString: its escapes are undone. */
static void
test_auth_safecookie_escaped_path(void **state)
{
	struct fx *f = *state;
	char odd[UNIT_DIR_MAX + 32];
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo2 },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_AUTH, "AUTHENTICATE ", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	snprintf(odd, sizeof(odd), "%s/a \"b\\c", f->dir);
	unit_put_file(odd, f->cookie, 32);
	assert_int_equal(chmod(odd, 0600), 0);
	snprintf(f->pinfo2, sizeof(f->pinfo2), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=SAFECOOKIE COOKIEFILE=\"%s/a \\\"b\\\\c\"\r\n"
	    "250 OK\r\n", f->dir);
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_authenticate(c, NULL, NULL, 0, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_true(f->auth_ok);
}

/*
 * A tor that cannot prove it knows the cookie gets nothing derived from
 * it: the client never sends AUTHENTICATE.
 */
static void
test_auth_safecookie_wrong_serverhash(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	f->bad_hash = 1;
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, "does not match");
	/* And nothing else either: the connection is done. */
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_command(c, "GETINFO version", NULL, &err), &err,
	    FERRY_ERR_TOR, "failed earlier");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(fake_count(f, "AUTHENTICATE"), 0);
	assert_int_equal(f->nlog, 2);
}

/* The cookie the caller names is not the one tor knows. */
static void
test_auth_safecookie_other_cookie(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char other[UNIT_DIR_MAX + 32];

	unit_join(other, sizeof(other), f->dir, "other_cookie");
	put_bytes(other, 0x5a, 32);
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, other, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, other);
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(fake_count(f, "AUTHENTICATE"), 0);
}

/* A malformed AUTHCHALLENGE answer: refused, no AUTHENTICATE. */
static void
test_auth_safecookie_bad_challenge(void **state)
{
	static const char *const bad[] = {
		/* SERVERNONCE short, not hex, missing; not AUTHCHALLENGE. */
		"250 AUTHCHALLENGE SERVERHASH=00112233445566778899AABBCCDDEEFF"
		    "00112233445566778899AABBCCDDEEFF SERVERNONCE=0011\r\n",
		"250 AUTHCHALLENGE SERVERHASH=00112233445566778899AABBCCDDEEFF"
		    "00112233445566778899AABBCCDDEEFF SERVERNONCE=zz1122334455"
		    "66778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\r\n",
		"250 AUTHCHALLENGE SERVERHASH=00112233445566778899AABBCCDDEEFF"
		    "00112233445566778899AABBCCDDEEFF\r\n",
		"250 OK\r\n",
		"513 Invalid base16 client nonce\r\n",
	};
	struct fx *f = *state;
	struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		steps[1].reply = bad[i];
		fake_start(f, steps);
		c = ctl_open(f, CLIENT_MS);
		memset(&err, 0, sizeof(err));
		assert_true(onion_ctl_authenticate(c, NULL, NULL, 0, &err) !=
		    0);
		assert_true(err.msg[0] != '\0');
		onion_ctl_close(c);
		fake_join(f);
		assert_int_equal(fake_count(f, "AUTHENTICATE"), 0);
	}
}

/* A cookie file of the wrong size is refused before AUTHCHALLENGE. */
static void
test_auth_cookie_wrong_size(void **state)
{
	static const size_t sizes[] = { 0, 31, 33, 64 };
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char path[UNIT_DIR_MAX + 32];
	size_t i;

	unit_join(path, sizeof(path), f->dir, "cookie");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		put_bytes(path, 0x11, sizes[i]);
		fake_start(f, steps);
		c = ctl_open(f, CLIENT_MS);
		memset(&err, 0, sizeof(err));
		expect_err(onion_ctl_authenticate(c, path, NULL, 0, &err), &err,
		    FERRY_ERR_TOR, path);
		onion_ctl_close(c);
		fake_join(f);
		assert_int_equal(f->nlog, 1);
	}
	/* Missing, and a directory. */
	unit_join(path, sizeof(path), f->dir, "missing");
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_true(onion_ctl_authenticate(c, path, NULL, 0, &err) != 0);
	assert_non_null(strstr(err.msg, path));
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_true(onion_ctl_authenticate(c, f->dir, NULL, 0, &err) != 0);
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/* onion_ctl_authenticate() in a thread, which may block. */
struct auth_job {
	struct onion_ctl *c;
	int r;
	int done[2];
};

static void *
auth_thread(void *arg)
{
	struct auth_job *j = arg;
	struct ferry_error err;
	ssize_t w;

	memset(&err, 0, sizeof(err));
	j->r = onion_ctl_authenticate(j->c, NULL, NULL, 0, &err);
	w = write(j->done[1], "d", 1);
	(void)w;
	return NULL;
}

/*
 * The control port, which SAFECOOKIE does not trust yet, names the
 * COOKIEFILE; when that is a FIFO, the client must refuse it at once
 * (it is opened with O_NONBLOCK and checked to be a regular file), not
 * block in open() until some writer comes, with no deadline.  Should it
 * block, the test waits up to 3 s, then opens the FIFO for writing
 * itself to let the client go on, so that it reports the hang instead of
 * hanging.
 */
static void
test_auth_cookie_fifo(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo2 },
		{ A_END, NULL, NULL },
	};
	char fifo[UNIT_DIR_MAX + 32];
	struct auth_job j;
	struct pollfd p;
	pthread_t th;
	int hung = 0, i, fd;

	unit_join(fifo, sizeof(fifo), f->dir, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(f->pinfo2, sizeof(f->pinfo2), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=SAFECOOKIE COOKIEFILE=\"%s\"\r\n250 OK\r\n",
	    fifo);
	fake_start(f, steps);
	j.c = ctl_open(f, CLIENT_MS);
	j.r = 0;
	assert_int_equal(pipe(j.done), 0);
	assert_int_equal(pthread_create(&th, NULL, auth_thread, &j), 0);
	p.fd = j.done[0];
	p.events = POLLIN;
	if (poll(&p, 1, 3000) != 1) {
		hung = 1;
		/* Unblock it: a writer lets its open() return. */
		for (i = 0; i < 100; i++) {
			if ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) >= 0) {
				(void)close(fd);
				break;
			}
			if (poll(&p, 1, 50) == 1)
				break;
		}
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	(void)close(j.done[0]);
	(void)close(j.done[1]);
	onion_ctl_close(j.c);
	fake_join(f);
	if (hung)
		fail_msg("a FIFO as tor's cookie file blocked the client "
		    "(over 3 s, past its 5 s deadline's reach)");
	assert_int_equal(j.r, FERRY_ERR_TOR);
	assert_int_equal(f->nlog, 1);
}

/* SAFECOOKIE with no cookie file named by anyone. */
static void
test_auth_no_cookie_file(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=SAFECOOKIE\r\n250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, "cookie file");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/* Plain COOKIE would send the cookie itself: never used. */
static void
test_auth_cookie_only_refused(void **state)
{
	struct fx *f = *state;
	char hex[65];
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo2 },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;
	size_t i;

	snprintf(f->pinfo2, sizeof(f->pinfo2), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=COOKIE COOKIEFILE=\"%s\"\r\n"
	    "250-VERSION Tor=\"0.4.8.10\"\r\n250 OK\r\n", f->cookie_path);
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, "SAFECOOKIE");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
	assert_string_equal(f->log[0], "PROTOCOLINFO 1");
	/* Belt and braces: no line holds the cookie, in either case. */
	hex_upper(f->cookie, 32, hex);
	for (i = 0; i < f->nlog; i++)
		assert_null(strcasestr(f->log[i], hex));
	/* With a password but no HASHEDPASSWORD, still nothing to use. */
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, "pw", 2, &err), &err,
	    FERRY_ERR_TOR, NULL);
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/*
 * A control port that asks for no authentication could be anyone's (a
 * local user listening while tor is down): refused, nothing sent.
 */
static void
test_auth_null(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=NULL\r\n"
		    "250-VERSION Tor=\"0.4.8.10\"\r\n250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_int_equal(onion_ctl_authenticate(c, NULL, "pw", 2, &err),
	    FERRY_ERR_TOR);
	assert_non_null(strstr(err.msg, "no authentication"));
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/*
 * A cookie file the other end names that tor would not have written
 * (readable by everyone, or writable by others) is refused before any
 * AUTHCHALLENGE; the same file named by the operator is used.
 */
static void
test_auth_cookie_untrusted(void **state)
{
	struct fx *f = *state;
	const struct step refused[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_END, NULL, NULL },
	};
	const struct step taken[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_AUTH, "AUTHENTICATE ", NULL },
		{ A_END, NULL, NULL },
	};
	static const mode_t modes[] = { 0644, 0620, 0602, 0604 };
	struct ferry_error err;
	struct onion_ctl *c;
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(f->cookie_path, modes[i]), 0);
		fake_start(f, refused);
		c = ctl_open(f, CLIENT_MS);
		memset(&err, 0, sizeof(err));
		assert_int_equal(onion_ctl_authenticate(c, NULL, "pw", 2,
		    &err), FERRY_ERR_TOR);
		assert_non_null(strstr(err.msg, "is not one tor would write"));
		onion_ctl_close(c);
		fake_join(f);
		assert_int_equal(f->nlog, 1);
	}
	fake_start(f, taken);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_authenticate(c, f->cookie_path, NULL, 0, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_true(f->auth_ok);
}

static void
test_auth_password(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=HASHEDPASSWORD\r\n"
		    "250-VERSION Tor=\"0.4.8.10\"\r\n250 OK\r\n" },
		{ A_REPLY, "AUTHENTICATE", "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	/* A quote, backslashes, a space, a TAB, a byte above 0x7f. */
	static const char pw[] = "pa\"ss\\wo rd\\\"\t\xc3\xa9";
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_authenticate(c, NULL, pw, strlen(pw), &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 2);
	assert_string_equal(f->log[1],
	    "AUTHENTICATE \"pa\\\"ss\\\\wo rd\\\\\\\"\t\xc3\xa9\"");

	/* password_len counts, not a NUL; the empty password too. */
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_authenticate(c, NULL, "secretXYZ", 6, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_string_equal(f->log[1], "AUTHENTICATE \"secret\"");
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_authenticate(c, NULL, "", 0, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_string_equal(f->log[1], "AUTHENTICATE \"\"");
}

/*
 * SAFECOOKIE is preferred whenever tor takes it (tor proves itself);
 * the password only when tor does not.
 */
static void
test_auth_password_choice(void **state)
{
	struct fx *f = *state;
	const struct step both_steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo2 },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_AUTH, "AUTHENTICATE ", NULL },
		{ A_END, NULL, NULL },
	};
	const struct step sc_steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", f->pinfo },
		{ A_CHALLENGE, "AUTHCHALLENGE SAFECOOKIE ", NULL },
		{ A_AUTH, "AUTHENTICATE ", NULL },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	snprintf(f->pinfo2, sizeof(f->pinfo2), "250-PROTOCOLINFO 1\r\n"
	    "250-AUTH METHODS=COOKIE,SAFECOOKIE,HASHEDPASSWORD "
	    "COOKIEFILE=\"%s\"\r\n250 OK\r\n", f->cookie_path);
	/* Both offered: SAFECOOKIE, and the password is never sent. */
	fake_start(f, both_steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_authenticate(c, NULL, "pw", 2, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_true(f->auth_ok);
	assert_int_equal(fake_count(f, "AUTHENTICATE \""), 0);
	/* Only SAFECOOKIE offered: the password is not sent. */
	fake_start(f, sc_steps);
	c = ctl_open(f, CLIENT_MS);
	assert_ok(onion_ctl_authenticate(c, NULL, "pw", 2, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_true(f->auth_ok);
	assert_int_equal(fake_count(f, "AUTHENTICATE \""), 0);
}

static void
test_auth_password_refused(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=HASHEDPASSWORD\r\n250 OK\r\n" },
		{ A_REPLY, "AUTHENTICATE", "515 Authentication failed: "
		    "Password did not match HashedControlPassword value from "
		    "configuration\r\n" },
		{ A_END, NULL, NULL },
	};
	const struct step no_send[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-AUTH METHODS=HASHEDPASSWORD\r\n250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	static const char *const bad[] = { "a\nb", "a\rb", "a\0b" };
	struct ferry_error err;
	struct onion_ctl *c;
	size_t i;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, "hunter2", 7, &err), &err,
	    FERRY_ERR_TOR, "515 Authentication failed");
	msg_lacks(&err, "hunter2");
	onion_ctl_close(c);
	fake_join(f);

	/* CR, LF, NUL in the password: refused, nothing sent. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_start(f, no_send);
		c = ctl_open(f, CLIENT_MS);
		memset(&err, 0, sizeof(err));
		expect_err(onion_ctl_authenticate(c, NULL, bad[i], 3, &err),
		    &err, FERRY_ERR_INVALID_ARG, NULL);
		onion_ctl_close(c);
		fake_join(f);
		assert_int_equal(f->nlog, 1);
	}
	/* Without a password, HASHEDPASSWORD alone is no way in. */
	fake_start(f, no_send);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, "HASHEDPASSWORD");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

static void
test_auth_protocolinfo_without_auth(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n"
		    "250-VERSION Tor=\"0.4.8.10\"\r\n250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	struct ferry_error err;
	struct onion_ctl *c;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_authenticate(c, NULL, NULL, 0, &err), &err,
	    FERRY_ERR_TOR, "AUTH");
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 1);
}

/* ---- onion services ---- */

static void
test_add_onion_public(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "ADD_ONION ", "250-ServiceID=" SERVICE_ID "\r\n"
		    "250 OK\r\n" },
		{ A_REPLY, "DEL_ONION ", "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	const struct onion_service_req req = {
		KEY_BLOB, 80, "127.0.0.1:8080", NULL, 0,
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char id[ONION_SERVICE_ID_LEN + 1];

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	memset(id, 'Z', sizeof(id));
	assert_ok(onion_ctl_add_onion(c, &req, id, &err));
	assert_string_equal(id, SERVICE_ID);
	assert_ok(onion_ctl_del_onion(c, id, &err));
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 2);
	assert_string_equal(f->log[0], "ADD_ONION " KEY_BLOB
	    " Flags=DiscardPK Port=80,127.0.0.1:8080");
	assert_string_equal(f->log[1], "DEL_ONION " SERVICE_ID);
}

static void
test_add_onion_client_auth(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "ADD_ONION ", "250-ServiceID=" SERVICE_ID "\r\n"
		    "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	static const char *const keys[] = { CLIENT_KEY1, CLIENT_KEY2 };
	const struct onion_service_req req = {
		KEY_BLOB, 443, "127.0.0.1:18443", keys, 2,
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char id[ONION_SERVICE_ID_LEN + 1];

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_add_onion(c, &req, id, &err));
	assert_string_equal(id, SERVICE_ID);
	onion_ctl_close(c);
	fake_join(f);
	assert_string_equal(f->log[0], "ADD_ONION " KEY_BLOB
	    " Flags=DiscardPK,V3Auth Port=443,127.0.0.1:18443"
	    " ClientAuthV3=" CLIENT_KEY1 " ClientAuthV3=" CLIENT_KEY2);
}

/* tor's refusal: its text in the message, the key nowhere. */
static void
test_add_onion_refused(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_REPLY, "ADD_ONION ", "512 Failed to decode ED25519-V3 "
		    "key\r\n" },
		{ A_REPLY, "ADD_ONION ", "550 Onion address collision\r\n" },
		{ A_REPLY, "GETINFO version", "250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	const struct onion_service_req req = {
		KEY_BLOB, 80, "127.0.0.1:8080", NULL, 0,
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char id[ONION_SERVICE_ID_LEN + 1];

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_add_onion(c, &req, id, &err), &err,
	    FERRY_ERR_TOR, "512 Failed to decode ED25519-V3 key");
	assert_non_null(strstr(err.msg, "ADD_ONION"));
	msg_lacks(&err, KEY_B64_PART);
	msg_lacks(&err, "Flags=");
	memset(&err, 0, sizeof(err));
	expect_err(onion_ctl_add_onion(c, &req, id, &err), &err,
	    FERRY_ERR_TOR, "550 Onion address collision");
	msg_lacks(&err, KEY_B64_PART);
	/* A refusal leaves the connection usable. */
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_command(c, "GETINFO version", NULL, &err));
	onion_ctl_close(c);
	fake_join(f);
}

/* A ServiceID that is missing or not a v3 address is refused. */
static void
test_add_onion_bad_service_id(void **state)
{
	static const char *const bad[] = {
		"250 OK\r\n",
		"250-ServiceID=" SERVICE_ID "x\r\n250 OK\r\n",
		"250-ServiceID=abc\r\n250 OK\r\n",
		"250-ServiceID=25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5y"
		    "hkenl5s1d\r\n250 OK\r\n",
		"250-ServiceID=\r\n250 OK\r\n",
		"250-ServiceID=\"a\\qb\"\r\n250 OK\r\n",
	};
	struct fx *f = *state;
	struct step steps[] = {
		{ A_REPLY, "ADD_ONION ", NULL },
		{ A_END, NULL, NULL },
	};
	const struct onion_service_req req = {
		KEY_BLOB, 80, "127.0.0.1:8080", NULL, 0,
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char id[ONION_SERVICE_ID_LEN + 1];
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		steps[0].reply = bad[i];
		fake_start(f, steps);
		c = ctl_open(f, CLIENT_MS);
		memset(&err, 0, sizeof(err));
		r = onion_ctl_add_onion(c, &req, id, &err);
		if (r == 0)
			fail_msg("answer %zu taken: \"%s\"", i, id);
		assert_true(err.msg[0] != '\0');
		msg_lacks(&err, KEY_B64_PART);
		onion_ctl_close(c);
		fake_join(f);
	}
}

/*
 * The ServiceID is looked for line by line; a line without it must not
 * leave "no ServiceID=" in err.  ferry_error_set() keeps the first
 * detail, so such a stale detail would be what the caller sees when
 * ServiceID comes on a later line and is malformed, and would be left
 * behind in err when it comes on a later line and is good.
 */
static void
test_add_onion_service_id_later_line(void **state)
{
	struct fx *f = *state;
	struct step steps[] = {
		{ A_REPLY, "ADD_ONION ", "250-Extra=1\r\n250-ServiceID="
		    SERVICE_ID "\r\n250 OK\r\n" },
		{ A_END, NULL, NULL },
	};
	const struct onion_service_req req = {
		KEY_BLOB, 80, "127.0.0.1:8080", NULL, 0,
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char id[ONION_SERVICE_ID_LEN + 1];
	char bad_msg[sizeof(err.msg)];
	int r_bad, bad_code;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	assert_ok(onion_ctl_add_onion(c, &req, id, &err));
	assert_string_equal(id, SERVICE_ID);
	onion_ctl_close(c);
	fake_join(f);
	/* Checked at the end, so that both halves run. */
	snprintf(bad_msg, sizeof(bad_msg), "%s", err.msg);

	steps[0].reply = "250-Extra=1\r\n250-ServiceID=abc\r\n250 OK\r\n";
	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	memset(&err, 0, sizeof(err));
	r_bad = onion_ctl_add_onion(c, &req, id, &err);
	bad_code = err.code;
	onion_ctl_close(c);
	fake_join(f);

	assert_int_equal(r_bad, FERRY_ERR_TOR);
	if (bad_msg[0] != '\0' || bad_code != r_bad ||
	    strstr(err.msg, "not a v3") == NULL)
		fail_msg("good ServiceID on line 2: success, detail \"%s\"; "
		    "malformed ServiceID on line 2: %d, code %d, detail "
		    "\"%s\"", bad_msg, r_bad, bad_code, err.msg);
}

/* Arguments that are not one word each: refused, nothing sent. */
static void
test_add_onion_bad_args(void **state)
{
	struct fx *f = *state;
	const struct step steps[] = {
		{ A_END, NULL, NULL },
	};
	static const char *const short_key[] = { "ABCDEF" };
	static const char *const bad_key[] = {
		"B3CJJ5GVEBYHAMLV2DCDDWJYMF26FX3YOQL7LFLI2DXHFT5CZ2H1",
	};
	static const char *const space_key[] = {
		"B3CJJ5GVEBYHAMLV2DCDDWJYMF26FX3YOQL7LFLI2DXHFT5CZ2H ",
	};
	const struct onion_service_req bad[] = {
		{ "ED25519-V3:abc Flags=Detach", 80, "127.0.0.1:1", NULL, 0 },
		{ "", 80, "127.0.0.1:1", NULL, 0 },
		{ "ED25519-V3:a\"b", 80, "127.0.0.1:1", NULL, 0 },
		{ "ED25519-V3:a\\b", 80, "127.0.0.1:1", NULL, 0 },
		{ KEY_BLOB, 80, "127.0.0.1:1\r\nSIGNAL HALT", NULL, 0 },
		{ KEY_BLOB, 80, "127.0.0.1:1 Port=22", NULL, 0 },
		{ KEY_BLOB, 80, "", NULL, 0 },
		{ KEY_BLOB, 0, "127.0.0.1:1", NULL, 0 },
		{ KEY_BLOB, 65536, "127.0.0.1:1", NULL, 0 },
		{ KEY_BLOB, 80, "127.0.0.1:1", short_key, 1 },
		{ KEY_BLOB, 80, "127.0.0.1:1", bad_key, 1 },
		{ KEY_BLOB, 80, "127.0.0.1:1", space_key, 1 },
	};
	static const char *const bad_ids[] = {
		"", SERVICE_ID "a", "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpa"
		    "ingr5yhkenl5si", SERVICE_ID " x",
		"25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5si\n",
	};
	struct ferry_error err;
	struct onion_ctl *c;
	char id[ONION_SERVICE_ID_LEN + 1];
	size_t i;

	fake_start(f, steps);
	c = ctl_open(f, CLIENT_MS);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (onion_ctl_add_onion(c, &bad[i], id, &err) !=
		    FERRY_ERR_INVALID_ARG)
			fail_msg("request %zu: not refused (%s)", i,
			    ferry_error_msg(&err));
		msg_lacks(&err, KEY_B64_PART);
	}
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		memset(&err, 0, sizeof(err));
		expect_err(onion_ctl_del_onion(c, bad_ids[i], &err), &err,
		    FERRY_ERR_INVALID_ARG, NULL);
	}
	onion_ctl_close(c);
	fake_join(f);
	assert_int_equal(f->nlog, 0);
}

/* ---- libsodium's initialisation ---- */

/*
 * Run as this program's whole work when started with UNIT_NO_INIT_ARG and a
 * directory (the parent test's, which it removes): one command on a
 * connection whose other end is this process (the reply is written
 * before the command is sent, so no second thread is needed), the first
 * use of libsodium in the process.  The exit status says how far it got.
 */
static int
child_without_init(const char *dir)
{
	char path[UNIT_DIR_MAX + 16], addr[UNIT_DIR_MAX + 32];
	struct sockaddr_un un;
	struct ferry_error err;
	struct onion_ctl *c = NULL;
	int lfd, fd = -1, r = 0;

	memset(&err, 0, sizeof(err));
	snprintf(path, sizeof(path), "%s/child-control", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, path, strlen(path) + 1);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&un, sizeof(un)) != 0 ||
	    listen(lfd, 1) != 0)
		r = 4;
	else if (onion_ctl_open(addr, CLIENT_MS, &c, &err) != 0)
		r = 5;
	else if ((fd = accept(lfd, NULL, NULL)) < 0 ||
	    write(fd, "250 OK\r\n", 8) != 8)
		r = 6;
	else if (onion_ctl_command(c, "GETINFO version", NULL, &err) != 0)
		r = 7;
	onion_ctl_close(c);
	if (fd >= 0)
		(void)close(fd);
	if (lfd >= 0)
		(void)close(lfd);
	return r;
}

/*
 * onion_ctl_command() builds every command in sodium_malloc() memory,
 * which aborts the process when libsodium was never initialised
 * (libsodium 1.0.18: its page size is still 0), so onion/ calls
 * sodium_init() itself, as every lib/ module that needs libsodium does:
 * a program may use the control port before anything else.  This test
 * runs itself again, so that the child's first libsodium call is
 * onion/'s.  (test_onion_hskey checks the same for onion/hskey.c.)
 */
static void
test_works_without_sodium_init(void **state)
{
	struct fx *f = *state;

	unit_run_without_init("test_onion_control", f->dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_simple),
		cmocka_unit_test(test_parse_multiline),
		cmocka_unit_test(test_parse_every_prefix_incomplete),
		cmocka_unit_test(test_parse_crlf_required),
		cmocka_unit_test(test_parse_control_bytes),
		cmocka_unit_test(test_parse_bad_head),
		cmocka_unit_test(test_parse_status_mismatch),
		cmocka_unit_test(test_parse_data),
		cmocka_unit_test(test_parse_line_max),
		cmocka_unit_test(test_parse_lines_max),
		cmocka_unit_test(test_parse_reply_max),
		cmocka_unit_test(test_parse_events),
		cmocka_unit_test(test_kv_bare),
		cmocka_unit_test(test_kv_quoted),
		cmocka_unit_test(test_kv_malformed),
		cmocka_unit_test(test_kv_key_in_quoted_value),
		cmocka_unit_test(test_kv_missing_and_exact),
		cmocka_unit_test(test_kv_too_small),
		T(test_open_unix_and_command),
		T(test_open_loopback_tcp),
		cmocka_unit_test(test_open_refuses_remote),
		cmocka_unit_test(test_open_refuses_malformed),
		cmocka_unit_test(test_open_refuses_sloppy_port),
		T(test_open_nothing_listening),
		T(test_command_refuses_crlf),
		T(test_command_error_answer),
		T(test_command_pieces_and_large),
		T(test_command_protocol_violation),
		T(test_command_reply_too_large),
		T(test_command_closed_mid_reply),
		T(test_command_timeout),
		T(test_command_failure_codes_contract),
		T(test_events_before_reply),
		T(test_poll_event),
		T(test_poll_event_buffered_with_reply),
		T(test_poll_closed),
		T(test_poll_unasked_reply),
		T(test_auth_safecookie),
		T(test_auth_safecookie_escaped_path),
		T(test_auth_safecookie_wrong_serverhash),
		T(test_auth_safecookie_other_cookie),
		T(test_auth_safecookie_bad_challenge),
		T(test_auth_cookie_wrong_size),
		T(test_auth_cookie_fifo),
		T(test_auth_no_cookie_file),
		T(test_auth_cookie_only_refused),
		T(test_auth_null),
		T(test_auth_cookie_untrusted),
		T(test_auth_password),
		T(test_auth_password_choice),
		T(test_auth_password_refused),
		T(test_auth_protocolinfo_without_auth),
		T(test_add_onion_public),
		T(test_add_onion_client_auth),
		T(test_add_onion_refused),
		T(test_add_onion_bad_service_id),
		T(test_add_onion_service_id_later_line),
		T(test_add_onion_bad_args),
		T(test_works_without_sodium_init),
	};

	if (argc == 3 && strcmp(argv[1], UNIT_NO_INIT_ARG) == 0)
		return child_without_init(argv[2]);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

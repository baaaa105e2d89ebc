/*
 * A client for tor's control port (tor's control-spec): enough of it to
 * publish an onion service and watch it, and no more.
 *
 * The protocol is line-based text with no library of its own, so this is
 * the one module that speaks it, strict about what it accepts: every
 * line ends in CRLF and has at most ONION_CTL_LINE_MAX bytes, a reply has
 * at most ONION_CTL_LINES_MAX lines and ONION_CTL_REPLY_MAX bytes, every
 * line of a reply carries the same status, no control byte but TAB may
 * appear, and every read and write has a deadline.  Anything else ends
 * the connection with FERRY_ERR_TOR and a message saying what was wrong.
 *
 * Commands are never echoed into error messages (ADD_ONION carries a
 * private key, AUTHENTICATE a password): messages name the command by its
 * first word only, and every buffer a command was built in is wiped.
 */
#ifndef FERRY_ONION_CONTROL_H
#define FERRY_ONION_CONTROL_H

#include <stddef.h>

#include "lib/err.h"

#define ONION_CTL_LINE_MAX 4096		/* one line, CRLF included */
/* One command sent: ADD_ONION with 256 ClientAuthV3 keys fits. */
#define ONION_CTL_COMMAND_MAX 32768
#define ONION_CTL_LINES_MAX 4096	/* lines of one reply, data too */
#define ONION_CTL_REPLY_MAX (1u << 20)	/* bytes of one reply */
#define ONION_CTL_TIMEOUT_MS 30000	/* default deadline per command */

/* One line of a reply. */
struct onion_reply_line {
	char *text;		/* after "NNN-", "NNN+" or "NNN " */
	char *data;		/* "NNN+" only: the data, "\n"-separated */
	size_t datalen;
};

/* One whole reply, or one asynchronous event (status 6xx). */
struct onion_reply {
	int status;		/* 250, 510, 650, ... */
	size_t nlines;
	struct onion_reply_line *lines;
};

void onion_reply_free(struct onion_reply *r);

/*
 * Parse the first reply in buf[0..len).  Returns 0 with *out (the caller
 * frees it) and *used (the bytes it took); 1 when buf holds only the
 * start of a reply (read more and call again with all of it); or
 * FERRY_ERR_TOR for bytes that can never become a valid reply (the
 * detail names the line and what is wrong), FERRY_ERR_TOO_LARGE past a
 * bound, FERRY_ERR_NOMEM.  Never reads past len.
 */
int onion_reply_parse(const char *buf, size_t len, struct onion_reply **out,
    size_t *used, struct ferry_error *err);

/*
 * Find KEY=VALUE in the text of a reply line, a space-separated list of
 * words and KEY=VALUE pairs whose VALUE is bare or a QuotedString (with
 * \\ \" \n \r \t and \ooo escapes, none decoding to NUL).  The value,
 * unquoted, goes to out (NUL-terminated).  0; FERRY_ERR_NOT_FOUND when
 * no pair has that key; FERRY_ERR_TOO_LARGE when the value does not fit;
 * FERRY_ERR_TOR for a malformed quoted value.  Keys compare exactly.
 */
int onion_kv(const char *text, const char *key, char *out, size_t outlen,
    struct ferry_error *err);

/* A connection to tor's control port. */
struct onion_ctl;

/*
 * Connect to tor's control port at addr: "unix:PATH", "IPv4:PORT" or
 * "[IPv6]:PORT", the address on this machine (127.0.0.0/8 or ::1: the
 * protocol is plain text).  timeout_ms bounds the connect and, later,
 * each command (0: ONION_CTL_TIMEOUT_MS).  Freed by onion_ctl_close().
 */
int onion_ctl_open(const char *addr, int timeout_ms, struct onion_ctl **out,
    struct ferry_error *err);
void onion_ctl_close(struct onion_ctl *c);

/* The connection's descriptor, to poll for readability. */
int onion_ctl_fd(const struct onion_ctl *c);

/* What tor called itself in PROTOCOLINFO ("0.4.9.11"), or "". */
const char *onion_ctl_tor_version(const struct onion_ctl *c);

/*
 * Authenticate, as the first thing on a connection.  PROTOCOLINFO says
 * which methods tor takes.  SAFECOOKIE whenever it is among them,
 * reading the 32-byte cookie from cookie_file, or if that is NULL from
 * the file the other end names, which must then look like tor's own
 * (owned by root, a system account or us; not writable by others, not
 * readable by everyone); tor must prove it knows the cookie before
 * anything derived from it is sent, and nothing else is tried if that
 * fails.  Otherwise, with a password (password_len bytes, any bytes but
 * CR, LF and NUL) and HASHEDPASSWORD offered, the password.  Plain
 * COOKIE (which would send the cookie itself) is never used, nor NULL
 * (anything listening on the port would be trusted).  The password and
 * the cookie are wiped from every buffer.
 */
int onion_ctl_authenticate(struct onion_ctl *c, const char *cookie_file,
    const char *password, size_t password_len, struct ferry_error *err);

/*
 * Send cmd (one line, without CRLF; no CR, LF or NUL in it) and read its
 * reply, skipping asynchronous events (each given to the event callback,
 * if any).  0 with *out (may be NULL if the caller needs no reply) when
 * tor answered 250; FERRY_ERR_TOR with tor's status and text otherwise,
 * or when the connection failed, timed out or spoke out of protocol.
 * After any error but a 4xx/5xx answer the connection is unusable.
 */
int onion_ctl_command(struct onion_ctl *c, const char *cmd,
    struct onion_reply **out, struct ferry_error *err);

/* Called with each asynchronous event (6xx reply) as it arrives. */
typedef void onion_event_cb(void *arg, const struct onion_reply *ev);
void onion_ctl_set_event_cb(struct onion_ctl *c, onion_event_cb *cb,
    void *arg);

/*
 * Read what tor sent without being asked (events), waiting up to
 * timeout_ms for the first byte.  0 when the connection is still up
 * (events, if any, went to the callback); FERRY_ERR_TOR when tor closed
 * it or spoke out of protocol.
 */
int onion_ctl_poll(struct onion_ctl *c, int timeout_ms,
    struct ferry_error *err);

/* What ADD_ONION is asked to publish. */
struct onion_service_req {
	const char *key_blob;	/* "ED25519-V3:BASE64" (onion/hskey.h) */
	unsigned virt_port;	/* the port clients connect to (80) */
	const char *target;	/* where tor sends them: "127.0.0.1:PORT" */
	const char *const *client_keys;	/* v3 client auth: base32 x25519 */
	size_t nclient_keys;	/* 0: a public service */
};

/*
 * ADD_ONION: publish the service for as long as this connection lasts.
 * service_id receives tor's ServiceID (56 base32 characters and a NUL).
 * The command, which holds the key, is built in locked memory and wiped.
 */
#define ONION_SERVICE_ID_LEN 56
int onion_ctl_add_onion(struct onion_ctl *c, const struct onion_service_req *s,
    char service_id[ONION_SERVICE_ID_LEN + 1], struct ferry_error *err);

/* DEL_ONION service_id. */
int onion_ctl_del_onion(struct onion_ctl *c, const char *service_id,
    struct ferry_error *err);

#endif

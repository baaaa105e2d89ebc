/* ferry-sign, the offline signer: shared by main and the cmd_*.c verbs. */
#ifndef FERRY_SIGN_H
#define FERRY_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/keyfile.h"
#include "lib/passphrase.h"
#include "lib/seckey.h"

/* Print "ferry-sign: what: detail" on stderr; returns 1. */
int sign_fail(const char *what, const struct ferry_error *err);
int sign_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A passphrase: the next line of descriptor fd if fd >= 0, else asked on
 * the terminal with prompt (twice when confirm).
 */
int sign_passphrase(int fd, const char *prompt, int confirm,
    struct ferry_passphrase **out, struct ferry_error *err);

/*
 * A descriptor number from the argument s of option opt, or -1 after
 * saying why.
 */
int sign_parse_fd(const char *opt, const char *s);

/*
 * The options of a command that takes only -C DIR and --help: sets *dir
 * and returns -1 to go on with the operands from argv[optind], or the
 * exit status (0 after --help, 2 after printing usage for a bad option).
 */
int sign_dir_only(int argc, char **argv, const char *usage,
    const char **dir);

/*
 * Write doc as Ferry writes JSON (sorted, compact, with a newline when to
 * standard output) to path, or to standard output when path is NULL;
 * replace: replace an existing file atomically, else refuse one.
 */
int sign_write_json(const char *path, const json_t *doc, mode_t mode,
    int replace, struct ferry_error *err);

/* "deriving the encryption key (...)" on stderr, before the slow part. */
void sign_kdf_note(const struct ferry_kdf *kdf);

/*
 * Read the key file at file and open it with a passphrase from pfd or the
 * terminal; *kfout (may be NULL) receives the key file's JSON.
 */
int sign_open_key(const char *file, int pfd, json_t **kfout,
    struct ferry_seckey **k, struct ferry_error *err);

/* Open the workspace at dir, or print why not; 0 or 1. */
struct ws;
int sign_open_ws(const char *dir, struct ws **out);

/* p without trailing slashes (in buf if any were removed). */
const char *sign_strip_slash(const char *p, char *buf, size_t len);

/* The current time as "YYYY-MM-DDTHH:MM:SSZ". */
void sign_now_str(char *buf, size_t len);

#define SIGN_SPEC_VERSION "1.0.31"

/* An empty targets "signed" part, version 1. */
json_t *sign_empty_targets(int64_t expires);

/*
 * Print the report of every staged role (see ws_report()); the counts of
 * staged and complete roles.  0, or 1 after printing why.
 */
int sign_report_staged(struct ws *w, size_t *nstaged, size_t *ncomplete);

int cmd_key(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_root(int argc, char **argv);
int cmd_targets(int argc, char **argv);
int cmd_delegate(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_request(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_publish(int argc, char **argv);

#endif

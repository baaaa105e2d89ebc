/* ferry-sign, the offline signer: shared by main and the cmd_*.c verbs. */
#ifndef FERRY_SIGN_H
#define FERRY_SIGN_H

#include "lib/err.h"
#include "lib/passphrase.h"

/*
 * Make the process unable to use the network and to leak its memory: no
 * core dumps, not attachable by ptrace from the same user, and a seccomp
 * filter under which socket(2) and its kin fail with EACCES.  Called
 * first thing in main.  Returns 0, or -1 with a reason in *why if the
 * filter could not be installed (then the signer refuses to run).
 */
int sign_sandbox(const char **why);

/* Print "ferry-sign: what: detail" on stderr; returns 1. */
int sign_fail(const char *what, const struct ferry_error *err);
int sign_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A passphrase: the next line of descriptor fd if fd >= 0, else asked on
 * the terminal with prompt (twice when confirm).
 */
int sign_passphrase(int fd, const char *prompt, int confirm,
    struct ferry_passphrase **out, struct ferry_error *err);

/* A descriptor number from an option argument, or -1. */
int sign_parse_fd(const char *s);

int cmd_key(int argc, char **argv);

#endif

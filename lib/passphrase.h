/*
 * Passphrases, from a terminal without echo or from a file descriptor.
 *
 * Never from argv or the environment: both are visible to other users
 * (ps, /proc/PID/environ) and end up in shell history and logs.  A
 * passphrase lives in sodium_malloc() memory and is wiped when freed.
 */
#ifndef FERRY_PASSPHRASE_H
#define FERRY_PASSPHRASE_H

#include <stddef.h>

#include "err.h"

/* The longest passphrase accepted, in bytes. */
#define FERRY_PASSPHRASE_MAX 1024

struct ferry_passphrase {
	char *buf;	/* sodium_malloc'd, NUL-terminated */
	size_t len;	/* bytes before the NUL */
};

/*
 * Read one passphrase from fd: the bytes up to a newline (not included;
 * a CR before it is dropped too) or end of file.  Reads one byte at a
 * time, so that several passphrases can follow one another on the same
 * descriptor (an old then a new one) and nothing past the newline is
 * consumed.  An empty passphrase, one longer than FERRY_PASSPHRASE_MAX or
 * one holding a NUL byte is refused.  The caller frees *out with
 * ferry_passphrase_free().
 */
int ferry_passphrase_read_fd(int fd, struct ferry_passphrase **out,
    struct ferry_error *err);

/*
 * Prompt on the terminal tty (NULL: "/dev/tty", the controlling terminal,
 * even when standard input is redirected) and read a line with echo off;
 * the terminal's settings are restored on every path, including SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT, which are delivered again once restored.
 * With confirm, the passphrase is asked twice and must match.
 */
int ferry_passphrase_read_tty(const char *tty, const char *prompt,
    int confirm, struct ferry_passphrase **out, struct ferry_error *err);

/* Wipe and free; accepts NULL. */
void ferry_passphrase_free(struct ferry_passphrase *p);

#endif

/*
 * ferry-sign: the offline signer.  It runs on an air-gapped machine and
 * is the only place root and targets keys exist: it makes keys, encrypted
 * at rest, and signs metadata with them.  It never uses the network: the
 * kernel refuses it any socket (signer/sandbox.c).  See docs/sign.md.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "signer/sign.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{ "key", cmd_key, "make, export, check and re-encrypt private keys" },
};

static int
usage(FILE *f, int code)
{
	size_t i;

	fprintf(f, "usage: ferry-sign COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n`ferry-sign COMMAND --help` describes each.  "
	    "Exit status: 0 success, 1 failure, 2 usage.\n");
	return code;
}

int
sign_fail(const char *what, const struct ferry_error *err)
{
	fprintf(stderr, "ferry-sign: %s: %s\n", what, ferry_error_msg(err));
	return 1;
}

int
sign_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("ferry-sign: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
sign_parse_fd(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

int
sign_passphrase(int fd, const char *prompt, int confirm,
    struct ferry_passphrase **out, struct ferry_error *err)
{
	if (fd >= 0)
		return ferry_passphrase_read_fd(fd, out, err);
	return ferry_passphrase_read_tty(NULL, prompt, confirm, out, err);
}

int
main(int argc, char **argv)
{
	const char *why = NULL;
	size_t i;

	if (sign_sandbox(&why) != 0)
		return sign_failf("cannot sandbox the signer (%s): refusing "
		    "to run", why);
	if (sodium_init() < 0)
		return sign_failf("libsodium failed to initialise");
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ferry-sign: %s: no such command\n", argv[1]);
	return usage(stderr, 2);
}

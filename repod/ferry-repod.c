/*
 * ferry-repod: the origin server.  It checks publication bundles from the
 * offline signer, stores images content-addressed, makes snapshot and
 * timestamp with the online keys (which live in a separate process,
 * repod/keyd.c), switches the published tree atomically, and serves it
 * over HTTP.  See docs/repod.md.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/meta.h"
#include "repod/repod.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{ "init", cmd_init, "make a state directory trusting a root" },
	{ "publish", cmd_publish, "check a bundle and its images, publish them" },
	{ "refresh", cmd_refresh, "re-sign timestamp (and snapshot) now" },
	{ "serve", cmd_serve, "serve the repository, keeping it fresh" },
	{ "status", cmd_status, "what is published and when it expires" },
	{ "log", cmd_log, "the audit log: who published what, when" },
	{ "prune", cmd_prune, "remove states and images no longer needed" },
	{ "onion", cmd_onion, "the onion service's key and its clients" },
};

static int
usage(FILE *f, int code)
{
	size_t i;

	fprintf(f, "usage: ferry-repod COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n`ferry-repod COMMAND --help` describes each.  "
	    "Exit status: 0 success, 1 failure, 2 usage.\n");
	return code;
}

int
repod_fail(const char *what, const struct ferry_error *err)
{
	const char *msg = ferry_error_msg(err);
	size_t n = strlen(what);

	/* Many details name the file already. */
	if (strncmp(msg, what, n) == 0 && msg[n] == ':')
		fprintf(stderr, "ferry-repod: %s\n", msg);
	else
		fprintf(stderr, "ferry-repod: %s: %s\n", what, msg);
	return 1;
}

int
repod_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("ferry-repod: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
repod_parse_fd(const char *opt, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = s != NULL && *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
	if (v < 0 || errno != 0 || *end != '\0' || v > INT_MAX) {
		repod_failf("%s %s: not a file descriptor", opt, s);
		return -1;
	}
	return (int)v;
}

/* A logfmt value: bare when safe, else quoted with escapes. */
static void
log_value(FILE *f, const char *v)
{
	const unsigned char *p;
	int bare = *v != '\0';

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p == 0x7f)
			bare = 0;
	if (bare) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < ' ' || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void
repod_log(const char *level, const char *msg, ...)
{
	char ts[32];
	const char *k, *v;
	va_list ap;

	if (ferry_meta_format_time((int64_t)time(NULL), ts, sizeof(ts)) != 0)
		snprintf(ts, sizeof(ts), "1970-01-01T00:00:00Z");
	flockfile(stderr);
	fprintf(stderr, "ts=%s level=%s pid=%ld msg=", ts, level,
	    (long)getpid());
	log_value(stderr, msg);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		fprintf(stderr, " %s=", k);
		log_value(stderr, v != NULL ? v : "");
	}
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

int
main(int argc, char **argv)
{
	size_t i;

	/* Keys pass through this process: no core dumps, no ptrace. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (sodium_init() < 0)
		return repod_failf("libsodium failed to initialise");
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ferry-repod: %s: no such command\n", argv[1]);
	return usage(stderr, 2);
}

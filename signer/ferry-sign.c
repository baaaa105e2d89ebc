/*
 * ferry-sign: the offline signer.  It runs on an air-gapped machine and
 * is the only place root and targets keys exist: it makes keys, encrypted
 * at rest, and signs metadata with them.  It never uses the network: the
 * kernel refuses it any socket (lib/sandbox.c).  See docs/sign.md.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/file.h"
#include "lib/json.h"
#include "lib/keyfile.h"
#include "lib/meta.h"
#include "lib/sandbox.h"
#include "signer/sign.h"
#include "signer/ws.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{ "key", cmd_key, "make, export, check and re-encrypt private keys" },
	{ "init", cmd_init, "start a workspace: a repository's first root" },
	{ "root", cmd_root, "stage the next root: keys, thresholds, expiry" },
	{ "targets", cmd_targets, "add and remove target files" },
	{ "delegate", cmd_delegate, "delegate paths or hashed bins to roles" },
	{ "renew", cmd_renew, "stage roles again with a new expiry" },
	{ "status", cmd_status, "what is staged, signed and missing" },
	{ "request", cmd_request, "write a signing request for the staged roles" },
	{ "sign", cmd_sign, "sign a request with one key (no workspace)" },
	{ "merge", cmd_merge, "merge detached signatures into the workspace" },
	{ "bundle", cmd_bundle, "check everything, write a publication bundle" },
	{ "publish", cmd_publish, "write a servable tree with snapshot and timestamp" },
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
	const char *msg = ferry_error_msg(err);
	size_t n = strlen(what);

	/* Many details name the file already. */
	if (strncmp(msg, what, n) == 0 && msg[n] == ':')
		fprintf(stderr, "ferry-sign: %s\n", msg);
	else
		fprintf(stderr, "ferry-sign: %s: %s\n", what, msg);
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
sign_parse_fd(const char *opt, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = s != NULL && *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
	if (v < 0 || errno != 0 || *end != '\0' || v > INT_MAX) {
		sign_failf("%s %s: not a file descriptor", opt, s);
		return -1;
	}
	return (int)v;
}

int
sign_dir_only(int argc, char **argv, const char *usage, const char **dir)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			*dir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	return -1;
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
sign_write_json(const char *path, const json_t *doc, mode_t mode, int replace,
    struct ferry_error *err)
{
	unsigned char *buf = NULL;
	size_t len;
	int r;

	if ((r = ferry_json_serialize(doc, &buf, &len, err)) != 0)
		return r;
	if (path == NULL) {
		r = fwrite(buf, 1, len, stdout) == len && putchar('\n') != EOF &&
		    fflush(stdout) == 0 ? 0 : ferry_error_set(err, FERRY_ERR_IO,
		    "standard output: %s", strerror(errno));
	} else {
		r = replace ? ferry_file_write_atomic(path, buf, len, mode) :
		    ferry_file_write_new(path, buf, len, mode);
		if (r == FERRY_ERR_IO)
			r = ferry_error_set(err, r, "%s: %s", path,
			    errno == EEXIST ? "already exists" :
			    strerror(errno));
	}
	free(buf);
	return r;
}

void
sign_kdf_note(const struct ferry_kdf *kdf)
{
	const char *name = ferry_kdf_name(kdf);

	fprintf(stderr, "ferry-sign: deriving the encryption key (Argon2id%s%s,"
	    " %llu passes over %llu MiB)...\n", name ? " " : "",
	    name ? name : "", (unsigned long long)kdf->opslimit,
	    (unsigned long long)(kdf->memlimit >> 20));
}

/* Read KEYFILE and open it with a passphrase. */
int
sign_open_key(const char *file, int pfd, json_t **kfout, struct ferry_seckey **k,
    struct ferry_error *err)
{
	struct ferry_passphrase *pp = NULL;
	struct ferry_kdf kdf;
	json_t *kf = NULL;
	char prompt[256];
	int r;

	if ((r = ferry_keyfile_read(file, &kf, err)) != 0)
		return r;
	(void)ferry_keyfile_check(kf, &kdf, NULL);
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", file);
	if ((r = sign_passphrase(pfd, prompt, 0, &pp, err)) != 0)
		goto out;
	sign_kdf_note(&kdf);
	if ((r = ferry_keyfile_open(kf, pp->buf, pp->len, k, err)) != 0)
		goto out;
	if (kfout != NULL) {
		*kfout = kf;
		kf = NULL;	/* transferred */
	}
 out:
	ferry_passphrase_free(pp);
	json_decref(kf);
	return r;
}

int
sign_open_ws(const char *dir, struct ws **out)
{
	struct ferry_error err = { 0 };

	if (ws_open(dir, out, &err) != 0)
		return sign_fail(dir, &err);
	return 0;
}

const char *
sign_strip_slash(const char *p, char *buf, size_t len)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n == strlen(p) || n >= len)
		return p;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

void
sign_now_str(char *buf, size_t len)
{
	if (ferry_meta_format_time((int64_t)time(NULL), buf, len) != 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

int
main(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	size_t i;

	if (ferry_sandbox_enter(FERRY_SANDBOX_NO_NETWORK, &err) != 0)
		return sign_failf("cannot sandbox the signer (%s): refusing "
		    "to run", ferry_error_msg(&err));
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

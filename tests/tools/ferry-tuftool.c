/*
 * ferry-tuftool: lib/'s TUF core on the command line, for tests against
 * other implementations and for the Quick start demonstration.
 * See docs/tuftool.md.  Keys it signs with exist only in memory.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/err.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/key.h"
#include "lib/meta.h"
#include "lib/pathpattern.h"
#include "lib/seckey.h"

#define EXIT_REJECT 1
#define EXIT_USAGE 2

static const char *progname = "ferry-tuftool";

static int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int
read_input(const char *path, unsigned char **buf, size_t *len)
{
	size_t cap = 0, n;
	unsigned char *nb;
	int r;

	if (path != NULL && strcmp(path, "-") != 0) {
		r = ferry_file_read(path, FERRY_META_MAX_DEFAULT, buf, len);
		if (r != 0)
			return fail(EXIT_REJECT, "%s: %s", path,
			    r == FERRY_ERR_IO ? strerror(errno) :
			    ferry_strerror(r));
		return 0;
	}
	*buf = NULL;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap >= FERRY_META_MAX_DEFAULT)
				return fail(EXIT_REJECT, "stdin: %s",
				    ferry_strerror(FERRY_ERR_TOO_LARGE));
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(*buf, cap + 1)) == NULL)
				return fail(EXIT_REJECT, "out of memory");
			*buf = nb;
		}
		n = fread(*buf + *len, 1, cap - *len, stdin);
		*len += n;
		if (n == 0)
			break;
	}
	if (ferror(stdin))
		return fail(EXIT_REJECT, "stdin: read error");
	return 0;
}

static int
cmd_canonical(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	unsigned char *buf = NULL, *out = NULL;
	size_t len, outlen;
	json_t *v = NULL;
	int rc;

	if (argc > 2)
		return fail(EXIT_USAGE, "usage: canonical [FILE]");
	if ((rc = read_input(argc == 2 ? argv[1] : NULL, &buf, &len)) != 0)
		return rc;
	rc = EXIT_REJECT;
	if (ferry_json_parse(buf, len, FERRY_META_MAX_DEFAULT, &v, &err) != 0 ||
	    ferry_json_canonical(v, &out, &outlen, &err) != 0) {
		fail(rc, "%s: %s", argc == 2 ? argv[1] : "stdin",
		    ferry_error_msg(&err));
		goto out;
	}
	if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout) != 0) {
		fail(rc, "stdout: %s", strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	free(out);
	free(buf);
	json_decref(v);
	return rc;
}

static int
cmd_keyid(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	char id[FERRY_KEYID_HEXLEN + 1];
	json_t *k = NULL;
	int rc = EXIT_REJECT;

	if (argc != 2)
		return fail(EXIT_USAGE, "usage: keyid KEYFILE");
	if (ferry_json_parse_file(argv[1], FERRY_META_MAX_DEFAULT, &k,
	    &err) != 0 || ferry_keyid(k, id, &err) != 0) {
		fail(rc, "%s: %s", argv[1], ferry_error_msg(&err));
		goto out;
	}
	printf("%s\n", id);
	rc = 0;
 out:
	json_decref(k);
	return rc;
}

static int
cmd_validate(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;

	if (argc != 2)
		return fail(EXIT_USAGE, "usage: validate FILE");
	if (ferry_meta_load(argv[1], FERRY_META_MAX_DEFAULT, &md, &err) != 0)
		return fail(EXIT_REJECT, "%s: %s", argv[1],
		    ferry_error_msg(&err));
	printf("%s v%lld expires %s\n", ferry_meta_type_name(md->type),
	    (long long)md->version, md->expires_str);
	ferry_meta_free(md);
	return 0;
}

/* Verify file as role, trusting trusted (a root, or a delegating targets). */
static int
verify_file(const char *trusted_path, const char *role_name,
    const char *path)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *trusted = NULL, *md = NULL;
	const struct ferry_role *role;
	enum ferry_meta_type t;
	size_t n = 0;
	int rc = EXIT_REJECT;

	if (ferry_meta_load(trusted_path, FERRY_META_MAX_DEFAULT, &trusted,
	    &err) != 0) {
		fail(rc, "%s: %s", trusted_path, ferry_error_msg(&err));
		goto out;
	}
	if (ferry_meta_load(path, FERRY_META_MAX_DEFAULT, &md, &err) != 0) {
		fail(rc, "%s: %s", path, ferry_error_msg(&err));
		goto out;
	}
	if (trusted->type == FERRY_META_ROOT) {
		if (ferry_meta_type_from_name(role_name, &t) != 0) {
			fail(rc, "%s: root has no role \"%s\"", trusted_path,
			    role_name);
			goto out;
		}
		role = &trusted->roles[t];
		if (ferry_meta_verify_by_root(trusted, t, md, &n, &err) != 0) {
			fail(rc, "%s: %s", path, ferry_error_msg(&err));
			goto out;
		}
	} else if (trusted->type == FERRY_META_TARGETS) {
		role = ferry_meta_delegated_role(trusted, role_name);
		if (role == NULL) {
			fail(rc, "%s: delegates no role \"%s\"", trusted_path,
			    role_name);
			goto out;
		}
		if (md->type != FERRY_META_TARGETS) {
			fail(rc, "%s: expected targets metadata, got %s", path,
			    ferry_meta_type_name(md->type));
			goto out;
		}
		if (ferry_meta_verify(md, &trusted->delegations->keys, role,
		    &n, &err) != 0) {
			fail(rc, "%s: %s: %s", path, role_name,
			    ferry_error_msg(&err));
			goto out;
		}
	} else {
		fail(rc, "%s: %s metadata delegates no roles", trusted_path,
		    ferry_meta_type_name(trusted->type));
		goto out;
	}
	printf("verified: %s v%lld (%zu/%llu signatures)\n", role_name,
	    (long long)md->version, n, (unsigned long long)role->threshold);
	rc = 0;
 out:
	ferry_meta_free(trusted);
	ferry_meta_free(md);
	return rc;
}

static int
cmd_verify(int argc, char **argv)
{
	if (argc != 4)
		return fail(EXIT_USAGE, "usage: verify TRUSTED ROLE FILE");
	return verify_file(argv[1], argv[2], argv[3]);
}

/*
 * Read "PATTERN<TAB>PATH" lines on stdin; print 1 or 0 for each, as the
 * delegation path pattern matches or not.  For cross-checks in bulk.
 */
static int
cmd_pathmatch(int argc, char **argv)
{
	char *line = NULL, *tab;
	size_t cap = 0;
	ssize_t n;

	(void)argv;
	if (argc != 1)
		return fail(EXIT_USAGE, "usage: pathmatch < LINES");
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if ((tab = strchr(line, '\t')) == NULL) {
			free(line);
			return fail(EXIT_REJECT, "pathmatch: no tab in a line");
		}
		*tab = '\0';
		putchar(ferry_pathpattern_match(line, tab + 1) ? '1' : '0');
		putchar('\n');
	}
	free(line);
	return fflush(stdout) == 0 ? 0 : EXIT_REJECT;
}

int demo_run(const char *dir);

static int
cmd_demo(int argc, char **argv)
{
	if (argc != 2)
		return fail(EXIT_USAGE, "usage: demo DIR");
	return demo_run(argv[1]);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{ "canonical", cmd_canonical, "write the canonical JSON of FILE" },
	{ "keyid", cmd_keyid, "print the key id of a TUF key object" },
	{ "validate", cmd_validate, "parse and validate one metadata file" },
	{ "verify", cmd_verify, "verify a role's signature threshold" },
	{ "demo", cmd_demo, "sign a demonstration repository and verify it" },
	{ "pathmatch", cmd_pathmatch, "match delegation path patterns (stdin)" },
};

static int
usage(FILE *f, int code)
{
	size_t i;

	fprintf(f, "usage: %s COMMAND [ARGS]\n\ncommands:\n", progname);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nSee docs/tuftool.md for arguments and output.\n");
	return code;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (sodium_init() < 0)
		return fail(EXIT_REJECT, "libsodium failed to initialise");
	if (argc < 2)
		return usage(stderr, EXIT_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fail(EXIT_USAGE, "unknown command \"%s\"", argv[1]);
	return usage(stderr, EXIT_USAGE);
}

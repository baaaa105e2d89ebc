/*
 * ferry-repod onion: the onion service's key and its authorized clients,
 * in DIR/onion (tor's HiddenServiceDir layout; docs/onion.md).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/file.h"
#include "onion/hskey.h"
#include "repod/repod.h"

#define DEFAULT_DIR "/var/lib/ferry-repod"
#define NAME_MAX_LEN 64

static const char onion_usage[] =
    "usage: ferry-repod onion [-d DIR] [-c FILE] init\n"
    "       ferry-repod onion [-d DIR] [-c FILE] address\n"
    "       ferry-repod onion [-d DIR] [-c FILE] auth add NAME KEY\n"
    "       ferry-repod onion [-d DIR] [-c FILE] auth revoke NAME\n"
    "       ferry-repod onion [-d DIR] [-c FILE] auth list\n"
    "\n"
    "The onion service's key and who may reach it.  Everything is in the\n"
    "directory onion_dir (DIR/onion), laid out as tor's HiddenServiceDir.\n"
    "\n"
    "  init             make the service key if there is none (serve\n"
    "                   --onion also does), and print the address\n"
    "  address          print the address, NAME.onion\n"
    "  auth add NAME KEY\n"
    "                   authorize a client: KEY is its x25519 public key,\n"
    "                   descriptor:x25519:BASE32 or BASE32 (the client's\n"
    "                   tor holds the private half); written to\n"
    "                   authorized_clients/NAME.auth\n"
    "  auth revoke NAME remove that client\n"
    "  auth list        the authorized clients and their keys\n"
    "\n"
    "A running `ferry-repod serve --onion` publishes the service again\n"
    "within 2 seconds of a change to the clients.  They are only asked for\n"
    "when onion_client_auth is on (--onion-client-auth).\n"
    "\n"
    "  -d DIR           the state directory (" DEFAULT_DIR ")\n"
    "  -c FILE          the configuration file (DIR/repod.json)\n"
    "  -h, --help       this text\n";

static int
load(const char *dir, const char *cfg, struct repod_config *c)
{
	struct ferry_error err = { 0 };
	struct stat st;

	/* A mistyped -d is named, not taken for a state with nothing in it. */
	if (stat(dir, &st) != 0)
		return repod_failf("%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return repod_failf("%s: not a directory", dir);
	if (repod_config_init(c, dir) != 0)
		return repod_failf("out of memory");
	if (repod_config_load(c, cfg, &err) != 0 ||
	    repod_config_check(c, &err) != 0) {
		repod_config_free(c);
		return repod_fail("configuration", &err);
	}
	return 0;
}

static int
key_path(const struct repod_config *c, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/hs_ed25519_secret_key",
	    c->onion_dir);

	if (n < 0 || (size_t)n >= outlen)
		return repod_failf("%s: path too long", c->onion_dir);
	return 0;
}

static int
onion_init(const struct repod_config *c, int create)
{
	struct ferry_error err = { 0 };
	struct onion_hskey *k = NULL;
	char path[4096];
	int r;

	if (key_path(c, path, sizeof(path)) != 0)
		return 1;
	r = onion_hskey_load(path, &k, &err);
	if (r == FERRY_ERR_NOT_FOUND && create) {
		ferry_error_clear(&err);
		if (mkdir(c->onion_dir, 0700) != 0 && errno != EEXIST)
			return repod_failf("%s: %s", c->onion_dir,
			    strerror(errno));
		if ((r = onion_hskey_generate(&k, &err)) == 0 &&
		    (r = onion_hskey_save_new(k, path, &err)) == 0)
			fprintf(stderr, "ferry-repod: made a new onion service "
			    "key: %s\n", path);
	} else if (r == FERRY_ERR_NOT_FOUND) {
		onion_hskey_free(k);
		return repod_failf("%s: no onion service key yet (ferry-repod "
		    "onion init makes one)", path);
	}
	if (r != 0) {
		onion_hskey_free(k);
		return repod_fail("onion", &err);
	}
	printf("%s.onion\n", onion_hskey_address(k));
	onion_hskey_free(k);
	return 0;
}

/* A client's name: a file name tor and people can both read. */
static int
name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '.' ||
		    name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

static int
client_path(const struct repod_config *c, const char *name, char *out,
    size_t outlen)
{
	int n;

	if (!name_ok(name))
		return repod_failf("onion auth: \"%s\" is not a client name "
		    "(1 to %d of A-Z a-z 0-9 . _ -, not starting with . or -)",
		    name, NAME_MAX_LEN);
	n = snprintf(out, outlen, "%s/authorized_clients/%s.auth",
	    c->onion_dir, name);
	if (n < 0 || (size_t)n >= outlen)
		return repod_failf("%s: path too long", c->onion_dir);
	return 0;
}

static int
auth_add(const struct repod_config *c, const char *name, const char *key)
{
	struct ferry_error err = { 0 };
	unsigned char pub[32];
	char path[4096], dir[4096], b32[ONION_X25519_B32_LEN + 1];
	char line[sizeof("descriptor:x25519:\n") + ONION_X25519_B32_LEN];

	if (client_path(c, name, path, sizeof(path)) != 0)
		return 1;
	if (onion_client_key_parse(key, pub, &err) != 0)
		return repod_fail("onion auth add", &err);
	snprintf(dir, sizeof(dir), "%s/authorized_clients", c->onion_dir);
	if ((mkdir(c->onion_dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST))
		return repod_failf("%s: %s", dir, strerror(errno));
	onion_client_key_b32(pub, b32);
	snprintf(line, sizeof(line), "descriptor:x25519:%s\n", b32);
	if (ferry_file_write_new(path, line, strlen(line), 0600) != 0)
		return repod_failf("%s: %s", path, errno == EEXIST ?
		    "a client of that name is authorized already (revoke "
		    "it first)" : strerror(errno));
	printf("authorized %s: %s\n", name, path);
	if (!c->onion_client_auth)
		fprintf(stderr, "ferry-repod: note: onion_client_auth is off; "
		    "the service stays open to anyone until it is on\n");
	return 0;
}

static int
auth_revoke(const struct repod_config *c, const char *name)
{
	char path[4096];

	if (client_path(c, name, path, sizeof(path)) != 0)
		return 1;
	if (unlink(path) != 0)
		return repod_failf("%s: %s", path, errno == ENOENT ?
		    "no such authorized client" : strerror(errno));
	printf("revoked %s\n", name);
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
auth_list(const struct repod_config *c)
{
	struct ferry_error err = { 0 };
	unsigned char pub[32], *buf = NULL;
	char dir[4096], path[4200], b32[ONION_X25519_B32_LEN + 1];
	char **names = NULL, **nn;
	size_t n = 0, i, len, blen;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/authorized_clients", c->onion_dir);
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return repod_failf("%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".auth") != 0)
			continue;
		if ((nn = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (nn[n] = strndup(de->d_name, len - 5)) == NULL) {
			if (nn != NULL)
				names = nn;
			rc = repod_failf("out of memory");
			goto out;
		}
		names = nn;
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), str_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s.auth", dir, names[i]);
		ferry_error_clear(&err);
		if (ferry_file_read(path, 256, &buf, &blen) != 0 ||
		    onion_client_key_parse((char *)buf, pub, &err) != 0) {
			printf("%s (unreadable: %s)\n", names[i], path);
			rc = 1;
		} else {
			onion_client_key_b32(pub, b32);
			printf("%s descriptor:x25519:%s\n", names[i], b32);
		}
		free(buf);
		buf = NULL;
	}
 out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	(void)closedir(d);
	return rc;
}

int
cmd_onion(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = DEFAULT_DIR, *cfg = NULL, *verb;
	struct repod_config c;
	int ch, rc, n;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+d:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'c': cfg = optarg; break;
		case 'h':
			fputs(onion_usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if ((n = argc - optind) < 1)
		goto usage;
	verb = argv[optind];
	/* Say what was wrong before the usage: the word, or the count. */
	if (strcmp(verb, "init") == 0 || strcmp(verb, "address") == 0) {
		if (n != 1) {
			fprintf(stderr, "ferry-repod onion %s: takes no "
			    "arguments\n", verb);
			goto usage;
		}
	} else if (strcmp(verb, "auth") == 0) {
		const char *sub = n >= 2 ? argv[optind + 1] : NULL;
		int want;

		if (sub == NULL) {
			fputs("ferry-repod onion auth: needs add, revoke or list\n",
			    stderr);
			goto usage;
		}
		if (strcmp(sub, "add") == 0)
			want = 4;
		else if (strcmp(sub, "revoke") == 0)
			want = 3;
		else if (strcmp(sub, "list") == 0)
			want = 2;
		else {
			fprintf(stderr, "ferry-repod onion auth: unknown "
			    "subcommand \"%s\"\n", sub);
			goto usage;
		}
		if (n != want) {
			fprintf(stderr, "ferry-repod onion auth %s: %s\n", sub,
			    want == 4 ? "takes NAME KEY" : want == 3 ?
			    "takes NAME" : "takes no arguments");
			goto usage;
		}
	} else {
		fprintf(stderr, "ferry-repod onion: unknown subcommand "
		    "\"%s\"\n", verb);
		goto usage;
	}
	if (load(dir, cfg, &c) != 0)
		return 1;
	if (strcmp(verb, "init") == 0 || strcmp(verb, "address") == 0)
		rc = onion_init(&c, strcmp(verb, "init") == 0);
	else if (strcmp(argv[optind + 1], "add") == 0)
		rc = auth_add(&c, argv[optind + 2], argv[optind + 3]);
	else if (strcmp(argv[optind + 1], "revoke") == 0)
		rc = auth_revoke(&c, argv[optind + 2]);
	else
		rc = auth_list(&c);
	repod_config_free(&c);
	return rc;
 usage:
	fputs(onion_usage, stderr);
	return 2;
}

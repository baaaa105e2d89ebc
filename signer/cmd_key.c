/* ferry-sign key: private keys, encrypted at rest (lib/keyfile.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/file.h"
#include "lib/json.h"
#include "lib/keyfile.h"
#include "lib/meta.h"
#include "lib/seckey.h"
#include "signer/sign.h"

static const char key_usage[] =
    "usage: ferry-sign key generate [--kdf LEVEL] [--label TEXT]\n"
    "                               [--passphrase-fd N] KEYFILE\n"
    "       ferry-sign key passwd [--kdf LEVEL] [--passphrase-fd N]\n"
    "                             [--new-passphrase-fd M] KEYFILE\n"
    "       ferry-sign key export [-o FILE] KEYFILE\n"
    "       ferry-sign key check [--passphrase-fd N] KEYFILE\n"
    "\n"
    "  generate  make a new Ed25519 key: KEYFILE, encrypted under a\n"
    "            passphrase (mode 0600), and its public key in TUF's\n"
    "            format beside it (KEYFILE with .key replaced by .pub);\n"
    "            neither file may exist yet\n"
    "  passwd    re-encrypt KEYFILE under a new passphrase, in one\n"
    "            atomic replacement\n"
    "  export    print the public key, with its key id (no passphrase)\n"
    "  check     ask for the passphrase and check that it opens KEYFILE\n"
    "\n"
    "  --kdf LEVEL            Argon2id cost: sensitive (default for new\n"
    "                         keys; about 1 GiB of memory and a few\n"
    "                         seconds), moderate, or interactive;\n"
    "                         passwd keeps the file's cost unless given\n"
    "  --label TEXT           a note kept (authenticated, not secret) in\n"
    "                         the key file, e.g. whose key it is\n"
    "  --passphrase-fd N      read the passphrase from descriptor N (up to\n"
    "                         a newline) instead of the terminal\n"
    "  --new-passphrase-fd M  passwd: the new passphrase from M (default:\n"
    "                         the next line of N, or the terminal)\n"
    "  -o FILE                export: write to FILE instead of stdout\n"
    "\n"
    "Passphrases are never taken from the command line or the environment.\n";

enum { OPT_KDF = 256, OPT_LABEL, OPT_PFD, OPT_NEWPFD };

static const struct option key_opts[] = {
	{ "kdf", required_argument, NULL, OPT_KDF },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "passphrase-fd", required_argument, NULL, OPT_PFD },
	{ "new-passphrase-fd", required_argument, NULL, OPT_NEWPFD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct key_args {
	const char *verb;
	struct ferry_kdf kdf;
	int have_kdf;
	const char *label;
	int pfd, newpfd;
	const char *out;
	const char *file;
};

/* KEYFILE with a trailing ".key" replaced by ".pub", else ".pub" added. */
static char *
pub_path(const char *keyfile)
{
	size_t n = strlen(keyfile);
	char *p;

	if ((p = malloc(n + 5)) == NULL)
		return NULL;
	if (n > 4 && strcmp(keyfile + n - 4, ".key") == 0)
		n -= 4;
	memcpy(p, keyfile, n);
	memcpy(p + n, ".pub", 5);
	return p;
}

/* {"keyid", "keytype", "scheme", "keyval"}: a key as TUF lists it. */
static int
public_doc(const json_t *kf, json_t **out, struct ferry_error *err)
{
	const char *keyid;
	json_t *pub;
	int r;

	if ((r = ferry_keyfile_public(kf, &pub, &keyid, err)) != 0)
		return r;
	if (json_object_set_new(pub, "keyid", json_string(keyid)) != 0) {
		json_decref(pub);
		return FERRY_ERR_NOMEM;
	}
	*out = pub;
	return 0;
}

static int
key_generate(const struct key_args *a)
{
	struct ferry_error err = { 0 };
	struct ferry_passphrase *pp = NULL;
	struct ferry_seckey *k = NULL;
	json_t *kf = NULL, *pub = NULL;
	struct stat st;
	const char *taken;
	char *pubfile;
	int rc = 1, r;

	if ((pubfile = pub_path(a->file)) == NULL)
		return sign_failf("out of memory");
	/* Refuse before the passphrase and the slow derivation. */
	if ((taken = lstat(a->file, &st) == 0 ? a->file :
	    lstat(pubfile, &st) == 0 ? pubfile : NULL) != NULL) {
		sign_failf("%s: already exists; a key file is never "
		    "overwritten", taken);
		goto out;
	}
	if ((r = sign_passphrase(a->pfd, "Passphrase for the new key: ", 1,
	    &pp, &err)) != 0) {
		sign_fail("passphrase", &err);
		goto out;
	}
	if ((r = ferry_seckey_generate(&k)) != 0) {
		sign_failf("generating a key: %s", ferry_strerror(r));
		goto out;
	}
	sign_kdf_note(&a->kdf);
	if ((r = ferry_keyfile_seal(k, pp->buf, pp->len, &a->kdf, a->label,
	    (int64_t)time(NULL), &kf, &err)) != 0 ||
	    (r = public_doc(kf, &pub, &err)) != 0 ||
	    (r = ferry_keyfile_write(a->file, kf, 0, &err)) != 0) {
		sign_fail(a->file, &err);
		goto out;
	}
	if ((r = sign_write_json(pubfile, pub, 0644, 0, &err)) != 0) {
		sign_fail(pubfile, &err);
		goto out;
	}
	printf("%s  %s\n", ferry_seckey_keyid(k), a->file);
	fprintf(stderr, "ferry-sign: wrote %s (private, encrypted) and %s "
	    "(public)\n", a->file, pubfile);
	rc = 0;
 out:
	json_decref(kf);
	json_decref(pub);
	ferry_seckey_free(k);
	ferry_passphrase_free(pp);
	free(pubfile);
	return rc;
}

static int
key_passwd(const struct key_args *a)
{
	struct ferry_error err = { 0 };
	struct ferry_passphrase *pp = NULL;
	struct ferry_seckey *k = NULL;
	struct ferry_kdf kdf;
	json_t *kf = NULL, *nkf = NULL;
	int64_t created;
	int rc = 1, fd;

	if (sign_open_key(a->file, a->pfd, &kf, &k, &err) != 0)
		return sign_fail(a->file, &err);
	fd = a->newpfd >= 0 ? a->newpfd : a->pfd;
	if (sign_passphrase(fd, "New passphrase: ", 1, &pp, &err) != 0) {
		sign_fail("new passphrase", &err);
		goto out;
	}
	(void)ferry_keyfile_check(kf, &kdf, NULL);
	if (a->have_kdf)
		kdf = a->kdf;
	/* The creation time and label stay; salt and nonce are new. */
	if (ferry_meta_parse_time(json_string_value(json_object_get(kf,
	    "created")), &created) != 0)
		created = (int64_t)time(NULL);
	sign_kdf_note(&kdf);
	if (ferry_keyfile_seal(k, pp->buf, pp->len, &kdf,
	    ferry_json_cstr(json_object_get(kf, "label")), created, &nkf,
	    &err) != 0 || ferry_keyfile_write(a->file, nkf, 1, &err) != 0) {
		sign_fail(a->file, &err);
		goto out;
	}
	fprintf(stderr, "ferry-sign: %s: re-encrypted under the new "
	    "passphrase\n", a->file);
	rc = 0;
 out:
	json_decref(kf);
	json_decref(nkf);
	ferry_seckey_free(k);
	ferry_passphrase_free(pp);
	return rc;
}

static int
key_export(const struct key_args *a)
{
	struct ferry_error err = { 0 };
	json_t *kf = NULL, *pub = NULL;
	int rc = 1;

	if (ferry_keyfile_read(a->file, &kf, &err) != 0 ||
	    public_doc(kf, &pub, &err) != 0) {
		sign_fail(a->file, &err);
		goto out;
	}
	if (sign_write_json(a->out, pub, 0644, 1, &err) != 0) {
		sign_fail(a->out != NULL ? a->out : "export", &err);
		goto out;
	}
	rc = 0;
 out:
	json_decref(kf);
	json_decref(pub);
	return rc;
}

static int
key_check(const struct key_args *a)
{
	struct ferry_error err = { 0 };
	struct ferry_seckey *k = NULL;

	if (sign_open_key(a->file, a->pfd, NULL, &k, &err) != 0)
		return sign_fail(a->file, &err);
	printf("%s: ed25519 key %s: the passphrase opens it\n", a->file,
	    ferry_seckey_keyid(k));
	ferry_seckey_free(k);
	return 0;
}

/* An option the verb would ignore is a mistake worth stopping for. */
static int
key_opts_fit(const struct key_args *a)
{
	static const struct {
		const char *verb;
		int kdf, label, pfd, newpfd, out;
	} fit[] = {
		{ "generate", 1, 1, 1, 0, 0 },
		{ "passwd", 1, 0, 1, 1, 0 },
		{ "export", 0, 0, 0, 0, 1 },
		{ "check", 0, 0, 1, 0, 0 },
	};
	const char *bad = NULL;
	size_t i;

	for (i = 0; i < sizeof(fit) / sizeof(fit[0]); i++) {
		if (strcmp(a->verb, fit[i].verb) != 0)
			continue;
		if (a->have_kdf && !fit[i].kdf)
			bad = "--kdf";
		else if (a->label != NULL && !fit[i].label)
			bad = "--label";
		else if (a->pfd >= 0 && !fit[i].pfd)
			bad = "--passphrase-fd";
		else if (a->newpfd >= 0 && !fit[i].newpfd)
			bad = "--new-passphrase-fd";
		else if (a->out != NULL && !fit[i].out)
			bad = "-o";
		break;
	}
	if (bad == NULL)
		return 0;
	sign_failf("key %s: %s does not apply", a->verb, bad);
	return 2;
}

int
cmd_key(int argc, char **argv)
{
	struct key_args a;
	int c, r, fd;

	memset(&a, 0, sizeof(a));
	a.pfd = a.newpfd = -1;
	(void)ferry_kdf_from_name("sensitive", &a.kdf);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(key_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	a.verb = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", key_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KDF:
			if (ferry_kdf_from_name(optarg, &a.kdf) != 0) {
				sign_failf("--kdf %s: must be sensitive, "
				    "moderate or interactive", optarg);
				return 2;
			}
			a.have_kdf = 1;
			break;
		case OPT_LABEL:
			a.label = optarg;
			break;
		case OPT_PFD:
		case OPT_NEWPFD:
			if ((fd = sign_parse_fd(c == OPT_PFD ?
			    "--passphrase-fd" : "--new-passphrase-fd",
			    optarg)) < 0)
				return 2;
			*(c == OPT_PFD ? &a.pfd : &a.newpfd) = fd;
			break;
		case 'o':
			a.out = optarg;
			break;
		case 'h':
			fputs(key_usage, stdout);
			return 0;
		default:
			fputs(key_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(key_usage, stderr);
		return 2;
	}
	a.file = argv[optind];
	if ((r = key_opts_fit(&a)) != 0)
		return r;
	if (strcmp(a.verb, "generate") == 0)
		return key_generate(&a);
	if (strcmp(a.verb, "passwd") == 0)
		return key_passwd(&a);
	if (strcmp(a.verb, "export") == 0)
		return key_export(&a);
	if (strcmp(a.verb, "check") == 0)
		return key_check(&a);
	sign_failf("key %s: no such command", a.verb);
	fputs(key_usage, stderr);
	return 2;
}

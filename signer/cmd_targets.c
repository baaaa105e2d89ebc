/* ferry-sign targets, delegate and renew: editing targets roles. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "signer/sign.h"
#include "signer/ws.h"

#define TARGET_PATH_MAX 1024
#define LIST_LINE_MAX (1024 * 1024)

static const char targets_usage[] =
    "usage: ferry-sign targets add [-C DIR] [--role NAME] [--path PATH]\n"
    "                              [--custom JSON] FILE...\n"
    "       ferry-sign targets add [-C DIR] [--role NAME] --list LISTFILE\n"
    "       ferry-sign targets remove [-C DIR] [--role NAME] PATH...\n"
    "\n"
    "  add      add (or replace) targets: from files on disk (their length,\n"
    "           SHA-256 and SHA-512), or from LISTFILE (- for standard\n"
    "           input), one JSON object per line:\n"
    "           {\"path\":...,\"length\":...,\"hashes\":{...},\"custom\":{...}}\n"
    "  remove   remove targets\n"
    "\n"
    "  --role NAME    the role to change (default: where a client looks for\n"
    "                 each path first, hash bins included)\n"
    "  --path PATH    the target path of the one FILE (default: its name)\n"
    "  --custom JSON  a JSON object attached to every FILE as \"custom\"\n";

/* A target path Ferry signs: relative, '/'-separated, no . or .. parts. */
static const char *
path_problem(const char *p)
{
	const char *seg = p, *q;
	size_t n = strlen(p);

	if (n == 0)
		return "is empty";
	if (n > TARGET_PATH_MAX)
		return "is longer than 1024 bytes";
	for (q = p; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == '\\')
			return "holds a control character or a backslash";
	if (p[0] == '/')
		return "must be relative (no leading '/')";
	for (;;) {
		q = strchr(seg, '/');
		n = q != NULL ? (size_t)(q - seg) : strlen(seg);
		if (n == 0)
			return "has an empty part ('//' or a trailing '/')";
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "has a '.' or '..' part";
		if (q == NULL)
			return NULL;
		seg = q + 1;
	}
}

/* The role a target goes to, and its "signed" part being edited. */
static int
target_role(struct ws *w, const char *role, const char *path,
    struct ws_role **out, struct ferry_error *err)
{
	struct ws_role *r;
	int rv;

	if (role != NULL && strcmp(role, "root") == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "--role root: root holds no targets");
	if (role != NULL) {
		if ((rv = ws_get(w, role, &r, err)) != 0 ||
		    (rv = ws_check_path(w, r, path, err)) != 0)
			return rv;
	} else if ((rv = ws_place(w, path, &r, err)) != 0)
		return rv;
	if (r->edit == NULL) {
		if ((rv = ws_edit(w, r->name, &r->edit, err)) != 0)
			return rv;
	}
	*out = r;
	return 0;
}

/* The targets object of r as edited so far. */
static const json_t *
targets_of(const struct ws_role *r)
{
	return r->edit != NULL ? json_object_get(r->edit, "targets") :
	    ws_eff(r)->targets;
}

/* Remove path from r if r has it: 1 if removed, 0 if not there, or < 0. */
static int
drop(struct ws *w, struct ws_role *r, const char *path,
    struct ferry_error *err)
{
	int rv;

	if (json_object_get(targets_of(r), path) == NULL)
		return 0;
	if (r->edit == NULL && (rv = ws_edit(w, r->name, &r->edit, err)) != 0)
		return rv;
	return json_object_del(json_object_get(r->edit, "targets"), path) == 0;
}

/*
 * Remove path from every role above r: a client looks in a role's own
 * targets before its delegations, so a copy there would shadow r's.
 */
static int
drop_above(struct ws *w, struct ws_role *r, const char *path,
    struct ferry_error *err)
{
	struct ws_role *p;
	int rv, n = 0, depth;

	for (depth = 0; depth < 1024; depth++) {
		if ((rv = ws_parent(w, r, &p, err)) != 0)
			return rv;
		if (p == NULL)
			break;
		if ((rv = drop(w, p, path, err)) < 0)
			return rv;
		n += rv;
		r = p;
	}
	return n;
}

static int
put_target(struct ws *w, const char *role, const char *path, json_t *entry,
    struct ferry_error *err)
{
	struct ws_role *r = NULL;
	int rv;

	if ((rv = target_role(w, role, path, &r, err)) != 0)
		return rv;
	if (json_object_get(r->edit, "targets") == NULL &&
	    json_object_set_new(r->edit, "targets", json_object()) != 0)
		return FERRY_ERR_NOMEM;
	if (json_object_set(json_object_get(r->edit, "targets"), path,
	    entry) != 0)
		return FERRY_ERR_NOMEM;
	return (rv = drop_above(w, r, path, err)) < 0 ? rv : 0;
}

/* Stage every role whose targets changed; *nroles counts them. */
static int
stage_edits(struct ws *w, size_t *nroles, struct ferry_error *err)
{
	struct ws_role *const *roles;
	struct ws_role *r;
	size_t n, i;
	int rv;

	*nroles = 0;
	roles = ws_roles(w, &n);
	for (i = 0; i < n; i++) {
		r = roles[i];
		if (r->edit == NULL)
			continue;
		rv = 0;
		if (!json_equal(json_object_get(r->edit, "targets"),
		    (json_t *)ws_eff(r)->targets)) {
			rv = ws_stage(w, r->name, r->edit, err);
			(*nroles)++;
		}
		json_decref(r->edit);
		r->edit = NULL;
		if (rv != 0)
			return rv;
	}
	return ws_save(w, err);
}

static int
hash_file(const char *file, json_t **entry, json_t *custom,
    struct ferry_error *err)
{
	static const enum ferry_hash_alg algs[2] = { FERRY_HASH_SHA256,
	    FERRY_HASH_SHA512 };
	struct ferry_hash *h[2] = { NULL, NULL };
	unsigned char buf[65536], d[FERRY_HASH_MAX];
	char hex[2][2 * FERRY_HASH_MAX + 1];
	uint64_t len = 0;
	ssize_t got;
	size_t dl, i;
	int fd, r = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", file,
		    strerror(errno));
	for (i = 0; i < 2; i++)
		if ((r = ferry_hash_new(algs[i], &h[i])) != 0)
			goto out;
	while ((got = read(fd, buf, sizeof(buf))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", file,
			    strerror(errno));
			goto out;
		}
		for (i = 0; i < 2; i++)
			if ((r = ferry_hash_update(h[i], buf, (size_t)got)) != 0)
				goto out;
		len += (uint64_t)got;
	}
	for (i = 0; i < 2; i++) {
		if ((r = ferry_hash_final(h[i], d, &dl)) != 0)
			goto out;
		ferry_hex_encode(d, dl, hex[i]);
	}
	*entry = json_pack("{s:I, s:{s:s, s:s}}", "length", (json_int_t)len,
	    "hashes", "sha256", hex[0], "sha512", hex[1]);
	if (*entry == NULL || (custom != NULL &&
	    json_object_set(*entry, "custom", custom) != 0))
		r = FERRY_ERR_NOMEM;
 out:
	for (i = 0; i < 2; i++)
		ferry_hash_free(h[i]);
	close(fd);
	return r;
}

/* One entry of a list: {"path","length","hashes"[,"custom"]}. */
static int
list_entry(json_t *o, const char **path, json_t **entry, char *why,
    size_t whylen)
{
	enum ferry_hash_alg alg;
	const char *k, *p;
	json_t *v, *hs;

	if (!json_is_object(o)) {
		snprintf(why, whylen, "not a JSON object");
		return -1;
	}
	json_object_foreach(o, k, v)
		if (strcmp(k, "path") != 0 && strcmp(k, "length") != 0 &&
		    strcmp(k, "hashes") != 0 && strcmp(k, "custom") != 0) {
			snprintf(why, whylen, "unknown field \"%.64s\"", k);
			return -1;
		}
	if ((*path = ferry_json_cstr(json_object_get(o, "path"))) == NULL) {
		snprintf(why, whylen, "path: must be a string");
		return -1;
	}
	if ((p = path_problem(*path)) != NULL) {
		snprintf(why, whylen, "path \"%.256s\" %s", *path, p);
		return -1;
	}
	v = json_object_get(o, "length");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(why, whylen, "length: must be an integer >= 0");
		return -1;
	}
	hs = json_object_get(o, "hashes");
	if (!json_is_object(hs) || json_object_size(hs) == 0) {
		snprintf(why, whylen, "hashes: must be a non-empty object");
		return -1;
	}
	json_object_foreach(hs, k, v) {
		const char *hex = ferry_json_cstr(v);
		size_t i;

		if (ferry_hash_alg_from_name(k, &alg) != 0) {
			snprintf(why, whylen, "hashes.%.32s: not a hash "
			    "algorithm Ferry knows (sha224, sha256, sha384, "
			    "sha512)", k);
			return -1;
		}
		if (hex == NULL || strlen(hex) != 2 * ferry_hash_len(alg)) {
			snprintf(why, whylen, "hashes.%s: must be %zu hex "
			    "digits", k, 2 * ferry_hash_len(alg));
			return -1;
		}
		for (i = 0; hex[i] != '\0'; i++)
			if (!((hex[i] >= '0' && hex[i] <= '9') ||
			    (hex[i] >= 'a' && hex[i] <= 'f'))) {
				snprintf(why, whylen, "hashes.%s: must be "
				    "lowercase hex", k);
				return -1;
			}
	}
	v = json_object_get(o, "custom");
	if (v != NULL && !json_is_object(v)) {
		snprintf(why, whylen, "custom: must be an object");
		return -1;
	}
	*entry = json_pack("{s:O, s:O}", "length", json_object_get(o,
	    "length"), "hashes", hs);
	if (*entry == NULL || (v != NULL &&
	    json_object_set(*entry, "custom", v) != 0)) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

static int
add_list(struct ws *w, const char *role, const char *list, size_t *ntargets)
{
	struct ferry_error err = { 0 };
	const char *name = strcmp(list, "-") == 0 ? "standard input" : list;
	char *line = NULL, why[400];
	size_t cap = 0, lineno = 0;
	json_error_t jerr;
	ssize_t n;
	json_t *o, *entry;
	const char *path;
	FILE *f;
	int rc = 1;

	f = strcmp(list, "-") == 0 ? stdin : fopen(list, "re");
	if (f == NULL)
		return sign_failf("%s: %s", list, strerror(errno));
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (n > LIST_LINE_MAX) {
			sign_failf("%s:%zu: line longer than %d bytes", name,
			    lineno, LIST_LINE_MAX);
			goto out;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if ((o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES,
		    &jerr)) == NULL) {
			sign_failf("%s:%zu: not JSON: %s", name, lineno,
			    jerr.text);
			goto out;
		}
		if (list_entry(o, &path, &entry, why, sizeof(why)) != 0) {
			json_decref(o);
			sign_failf("%s:%zu: %s", name, lineno, why);
			goto out;
		}
		if (put_target(w, role, path, entry, &err) != 0) {
			json_decref(entry);
			json_decref(o);
			sign_failf("%s:%zu: %s", name, lineno,
			    ferry_error_msg(&err));
			goto out;
		}
		json_decref(entry);
		json_decref(o);
		(*ntargets)++;
	}
	if (ferror(f)) {
		sign_failf("%s: %s", name, strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

enum { OPT_ROLE = 256, OPT_PATH, OPT_CUSTOM, OPT_LIST, OPT_FROM, OPT_KEY,
    OPT_THRESHOLD, OPT_TERMINATING, OPT_HASHPREFIX, OPT_BINS, OPT_SUCCINCT,
    OPT_PREFIX, OPT_EXPIRES };

static const struct option targets_opts[] = {
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "custom", required_argument, NULL, OPT_CUSTOM },
	{ "list", required_argument, NULL, OPT_LIST },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
targets_remove(struct ws *w, const char *role, char **paths, int n)
{
	struct ferry_error err = { 0 };
	struct ws_role *const *roles, *r;
	size_t nr, j;
	int i, rv, removed;

	for (i = 0; i < n; i++) {
		if (role != NULL) {
			if (ws_get(w, role, &r, &err) != 0)
				return sign_fail(paths[i], &err);
			if ((removed = drop(w, r, paths[i], &err)) < 0)
				return sign_fail(r->name, &err);
		} else {
			/* Where a client finds it, and every copy above. */
			if (ws_place(w, paths[i], &r, &err) != 0 ||
			    (removed = drop(w, r, paths[i], &err)) < 0 ||
			    (rv = drop_above(w, r, paths[i], &err)) < 0)
				return sign_fail(paths[i], &err);
			removed += rv;
		}
		if (removed == 0 && role == NULL) {
			/* Not where it belongs: wherever it is. */
			roles = ws_roles(w, &nr);
			for (j = 0; j < nr; j++) {
				if (!roles[j]->have_cur && !roles[j]->have_stg)
					continue;
				if (ws_get(w, roles[j]->name, &r, &err) != 0 ||
				    (rv = drop(w, r, paths[i], &err)) < 0)
					return sign_fail(roles[j]->name, &err);
				removed += rv;
			}
		}
		if (removed == 0)
			return sign_failf("%s: no %s has this target", paths[i],
			    role != NULL ? role : "role");
	}
	return 0;
}

int
cmd_targets(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	const char *dir = ".", *role = NULL, *path = NULL, *list = NULL;
	const char *verb, *custom_s = NULL, *p;
	size_t ntargets = 0, nroles = 0;
	json_t *custom = NULL, *entry;
	json_error_t jerr;
	struct ws *w = NULL;
	int c, i, rc = 2;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(targets_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	if (strcmp(verb, "add") != 0 && strcmp(verb, "remove") != 0) {
		fprintf(stderr, "ferry-sign: targets %s: no such command\n",
		    verb);
		fputs(targets_usage, stderr);
		return 2;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "C:h", targets_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case OPT_ROLE:
			role = optarg;
			break;
		case OPT_PATH:
			path = optarg;
			break;
		case OPT_CUSTOM:
			custom_s = optarg;
			break;
		case OPT_LIST:
			list = optarg;
			break;
		case 'h':
			fputs(targets_usage, stdout);
			return 0;
		default:
			fputs(targets_usage, stderr);
			return 2;
		}
	}
	argc--;
	argv++;
	if (strcmp(verb, "remove") == 0 ? (path != NULL || list != NULL ||
	    custom_s != NULL || optind == argc) : list != NULL ?
	    (optind != argc || path != NULL || custom_s != NULL) :
	    (optind == argc || (path != NULL && argc - optind != 1))) {
		fprintf(stderr, "ferry-sign: targets %s: %s\n", verb,
		    strcmp(verb, "remove") == 0 ? "give target paths, and "
		    "no --path, --list or --custom" : list != NULL ?
		    "--list takes no FILE, --path or --custom" :
		    "give FILEs (--path needs exactly one)");
		fputs(targets_usage, stderr);
		return 2;
	}
	rc = 1;
	if (custom_s != NULL && ((custom = json_loads(custom_s,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
	    !json_is_object(custom))) {
		rc = sign_failf("--custom: must be a JSON object%s%s",
		    custom ? "" : ": ", custom ? "" : jerr.text);
		goto out;
	}
	if (role != NULL && strcmp(role, "root") == 0) {
		rc = sign_failf("--role root: root holds no targets");
		goto out;
	}
	if (sign_open_ws(dir, &w) != 0)
		goto out;
	if (strcmp(verb, "remove") == 0) {
		if (targets_remove(w, role, argv + optind, argc - optind) != 0)
			goto out;
		ntargets = (size_t)(argc - optind);
	} else if (list != NULL) {
		if (add_list(w, role, list, &ntargets) != 0)
			goto out;
	} else {
		for (i = optind; i < argc; i++) {
			const char *tp = path;

			if (tp == NULL) {
				tp = strrchr(argv[i], '/');
				tp = tp != NULL ? tp + 1 : argv[i];
			}
			if ((p = path_problem(tp)) != NULL) {
				rc = sign_failf("target path \"%s\" %s", tp, p);
				goto out;
			}
			if (hash_file(argv[i], &entry, custom, &err) != 0) {
				rc = sign_fail(argv[i], &err);
				goto out;
			}
			if (put_target(w, role, tp, entry, &err) != 0) {
				json_decref(entry);
				rc = sign_fail(tp, &err);
				goto out;
			}
			json_decref(entry);
			ntargets++;
		}
	}
	if (stage_edits(w, &nroles, &err) != 0) {
		rc = sign_fail(dir, &err);
		goto out;
	}
	printf("%s %zu target%s %s %zu role%s\n", strcmp(verb, "add") == 0 ?
	    "added" : "removed", ntargets, ntargets == 1 ? "" : "s",
	    strcmp(verb, "add") == 0 ? "to" : "from", nroles,
	    nroles == 1 ? "" : "s");
	rc = 0;
 out:
	json_decref(custom);
	ws_free(w);
	return rc;
}

/* --- delegate ----------------------------------------------------------- */

static const char delegate_usage[] =
    "usage: ferry-sign delegate [-C DIR] [--from ROLE] --key PUBFILE...\n"
    "                           [--threshold N] [--terminating]\n"
    "                           (--path PATTERN... | --hash-prefix HEX...) NAME\n"
    "       ferry-sign delegate [-C DIR] [--from ROLE] --key PUBFILE...\n"
    "                           [--threshold N] --bins N [--succinct]\n"
    "                           [--prefix NAME]\n"
    "\n"
    "Delegate target paths from ROLE (default: targets) to the role NAME,\n"
    "or the whole target space to N hashed bins (N a power of two from 2\n"
    "to 65536).  New roles are staged empty.\n"
    "\n"
    "  --key PUBFILE       a key of the delegated role (repeatable)\n"
    "  --threshold N       signatures it needs (default 1)\n"
    "  --terminating       a client that reaches NAME for a path looks no\n"
    "                      further\n"
    "  --path PATTERN      paths delegated, shell-style (repeatable)\n"
    "  --hash-prefix HEX   SHA-256 prefixes of the paths delegated\n"
    "  --bins N            hashed bins named PREFIX-XXXX\n"
    "  --succinct          one TAP 15 succinct_roles entry instead of N\n"
    "                      delegations\n"
    "  --prefix NAME       the bins' name prefix (default: bins)\n";

static const struct option delegate_opts[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "terminating", no_argument, NULL, OPT_TERMINATING },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "hash-prefix", required_argument, NULL, OPT_HASHPREFIX },
	{ "bins", required_argument, NULL, OPT_BINS },
	{ "succinct", no_argument, NULL, OPT_SUCCINCT },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Drop the keys no delegation of d uses. */
static int
prune_keys(json_t *d)
{
	json_t *keys = json_object_get(d, "keys"), *role, *v, *ids;
	const char *id;
	void *tmp;
	size_t i, j;
	int used;

	json_object_foreach_safe(keys, tmp, id, v) {
		used = 0;
		ids = json_object_get(json_object_get(d, "succinct_roles"),
		    "keyids");
		for (j = 0; j < json_array_size(ids) && !used; j++)
			used = strcmp(ferry_json_cstr(json_array_get(ids, j)),
			    id) == 0;
		json_array_foreach(json_object_get(d, "roles"), i, role) {
			ids = json_object_get(role, "keyids");
			for (j = 0; j < json_array_size(ids) && !used; j++)
				used = strcmp(ferry_json_cstr(
				    json_array_get(ids, j)), id) == 0;
		}
		if (!used && json_object_del(keys, id) != 0)
			return -1;
	}
	return 0;
}

/* Whether name is from or a role above it. */
static int
is_ancestor(struct ws *w, const char *name, struct ws_role *from)
{
	struct ferry_error err = { 0 };
	struct ws_role *r = from, *p;
	int depth;

	for (depth = 0; r != NULL && depth < 1024; depth++) {
		if (strcmp(r->name, name) == 0)
			return 1;
		if (ws_parent(w, r, &p, &err) != 0)
			return 0;
		r = p;
	}
	return 0;
}

static int
parse_count(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cmd_delegate(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	const char *dir = ".", *from = "targets", *prefix = "bins", *name;
	char **keyfiles = NULL, **paths = NULL, **hps = NULL;
	size_t nkeys = 0, npaths = 0, nhps = 0, i;
	long threshold = 1, nbins = 0, bits = 0, b;
	int terminating = 0, succinct = 0, c, rc = 2;
	char keyid[FERRY_KEYID_HEXLEN + 1], bin[WS_NAME_MAX + 16];
	json_t *s = NULL, *d, *keyids = NULL, *key, *role = NULL, *arr;
	struct ws_role *fr, *existing, *p;
	struct ws *w = NULL;
	char *kname;

	if ((keyfiles = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (paths = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (hps = calloc((size_t)argc, sizeof(char *))) == NULL) {
		rc = sign_failf("out of memory");
		goto out;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "C:h", delegate_opts,
	    NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_KEY:
			keyfiles[nkeys++] = optarg;
			break;
		case OPT_THRESHOLD:
			if (parse_count(optarg, 1, 1000, &threshold) != 0) {
				sign_failf("--threshold %s: must be a whole "
				    "number from 1 to 1000", optarg);
				goto out;
			}
			break;
		case OPT_TERMINATING:
			terminating = 1;
			break;
		case OPT_PATH:
			paths[npaths++] = optarg;
			break;
		case OPT_HASHPREFIX:
			hps[nhps++] = optarg;
			break;
		case OPT_BINS:
			if (parse_count(optarg, 2, 65536, &nbins) != 0 ||
			    (nbins & (nbins - 1)) != 0) {
				sign_failf("--bins %s: must be a power of two "
				    "from 2 to 65536", optarg);
				goto out;
			}
			break;
		case OPT_SUCCINCT:
			succinct = 1;
			break;
		case OPT_PREFIX:
			prefix = optarg;
			break;
		case 'h':
			fputs(delegate_usage, stdout);
			rc = 0;
			goto out;
		default:
			fputs(delegate_usage, stderr);
			goto out;
		}
	}
	if (nkeys == 0 || (nbins == 0 ? (optind != argc - 1 ||
	    (npaths == 0) == (nhps == 0) || succinct ||
	    strcmp(prefix, "bins") != 0) : (optind != argc || npaths != 0 ||
	    nhps != 0 || terminating))) {
		fprintf(stderr, "ferry-sign: delegate: %s\n", nkeys == 0 ?
		    "give the delegated role's keys with --key" : nbins == 0 ?
		    "give NAME and either --path or --hash-prefix "
		    "(--succinct and --prefix go with --bins)" :
		    "--bins takes no NAME, --path, --hash-prefix or "
		    "--terminating");
		fputs(delegate_usage, stderr);
		goto out;
	}
	rc = 1;
	for (i = 0; i < nhps; i++) {
		const char *h = hps[i];
		size_t j, n = strlen(h);

		for (j = 0; j < n; j++)
			if (!((h[j] >= '0' && h[j] <= '9') ||
			    (h[j] >= 'a' && h[j] <= 'f')))
				break;
		if (n == 0 || n > 64 || j != n) {
			sign_failf("--hash-prefix %s: must be 1 to 64 lowercase "
			    "hex digits", h);
			goto out;
		}
	}
	if (sign_open_ws(dir, &w) != 0)
		goto out;
	if (ws_get(w, from, &fr, &err) != 0) {
		sign_fail(from, &err);
		goto out;
	}
	if (strcmp(from, "root") == 0) {
		sign_failf("--from root: root delegates through its roles; "
		    "use ferry-sign root");
		goto out;
	}
	if ((rc = ws_edit(w, from, &s, &err)) != 0) {
		rc = sign_fail(from, &err);
		goto out;
	}
	rc = 1;
	if ((d = json_object_get(s, "delegations")) == NULL) {
		if ((d = json_pack("{s:{}, s:[]}", "keys", "roles")) == NULL ||
		    json_object_set_new(s, "delegations", d) != 0) {
			sign_failf("out of memory");
			goto out;
		}
	}
	if ((keyids = json_array()) == NULL) {
		sign_failf("out of memory");
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		if (ws_load_pubkey(keyfiles[i], &key, keyid, &kname,
		    &err) != 0) {
			sign_fail(keyfiles[i], &err);
			goto out;
		}
		if (json_object_set_new(json_object_get(d, "keys"), keyid,
		    key) != 0 || ws_set_name(w, keyid, kname) != 0) {
			free(kname);
			sign_failf("out of memory");
			goto out;
		}
		free(kname);
		json_array_foreach(keyids, b, role)
			if (strcmp(json_string_value(role), keyid) == 0)
				break;
		role = NULL;
		if ((size_t)b == json_array_size(keyids) &&
		    json_array_append_new(keyids, json_string(keyid)) != 0) {
			sign_failf("out of memory");
			goto out;
		}
	}
	if (nbins != 0) {
		if (json_array_size(json_object_get(d, "roles")) != 0 ||
		    json_object_get(d, "succinct_roles") != NULL) {
			sign_failf("%s already delegates; hashed bins take the "
			    "whole target space, so they must be its only "
			    "delegation", from);
			goto out;
		}
		for (b = nbins; b > 1; b >>= 1)
			bits++;
		/* New roles only: no cycle, and one delegating role each. */
		for (b = 0; b < nbins; b++) {
			snprintf(bin, sizeof(bin), "%s-%0*lx", prefix,
			    bits <= 4 ? 1 : bits <= 8 ? 2 : bits <= 12 ? 3 : 4,
			    b);
			if (!ws_name_ok(bin)) {
				sign_failf("--prefix %s: bin names must be "
				    "letters, digits, '.', '_' or '-'", prefix);
				goto out;
			}
			if (ws_get(w, bin, &existing, &err) == 0) {
				sign_failf("%s: the workspace has a role of that "
				    "name already; choose another --prefix",
				    bin);
				goto out;
			}
			ferry_error_clear(&err);
		}
		if (succinct) {
			json_t *sr = json_pack("{s:O, s:I, s:i, s:s}", "keyids",
			    keyids, "threshold", (json_int_t)threshold,
			    "bit_length", (int)bits, "name_prefix", prefix);

			/* set_new takes sr, even when it fails. */
			if (sr == NULL || json_object_set_new(d,
			    "succinct_roles", sr) != 0 ||
			    json_object_del(d, "roles") != 0) {
				sign_failf("out of memory");
				goto out;
			}
		} else {
			/* Bin i holds prefixes i*per .. (i+1)*per - 1, all of
			 * ceil(bits / 4) hex digits. */
			int digits = bits <= 4 ? 1 : bits <= 8 ? 2 :
			    bits <= 12 ? 3 : 4;
			long per = (1L << (4 * digits)) / nbins, k;
			char hp[24];

			arr = json_object_get(d, "roles");
			for (b = 0; b < nbins; b++) {
				json_t *pf = json_array();

				snprintf(bin, sizeof(bin), "%s-%0*lx", prefix,
				    digits, b);
				for (k = 0; pf != NULL && k < per; k++) {
					snprintf(hp, sizeof(hp), "%0*lx",
					    digits, b * per + k);
					if (json_array_append_new(pf,
					    json_string(hp)) != 0) {
						json_decref(pf);
						pf = NULL;
					}
				}
				json_t *br;

				/* The "o" takes pf and append_new takes br,
				 * even when they fail. */
				if (pf == NULL || (br = json_pack(
				    "{s:s, s:O, s:I, s:b, s:o}", "name", bin,
				    "keyids", keyids, "threshold",
				    (json_int_t)threshold, "terminating", 0,
				    "path_hash_prefixes", pf)) == NULL ||
				    json_array_append_new(arr, br) != 0) {
					sign_failf("out of memory");
					goto out;
				}
			}
		}
	} else {
		name = argv[optind];
		if (!ws_name_ok(name)) {
			sign_failf("%s: a role name must be 1 to %d letters, "
			    "digits, '.', '_' or '-', not starting with '.' "
			    "nor ending in \".root\"", name, WS_NAME_MAX);
			goto out;
		}
		if (is_ancestor(w, name, fr)) {
			sign_failf("%s: delegating it from %s would make a "
			    "cycle", name, from);
			goto out;
		}
		if (json_object_get(d, "succinct_roles") != NULL) {
			sign_failf("%s delegates to succinct hash bins, which "
			    "must be its only delegation", from);
			goto out;
		}
		if (ws_get(w, name, &existing, &err) == 0 &&
		    ws_parent(w, existing, &p, &err) == 0 && p != fr) {
			sign_failf("%s: already delegated by %s; a role has "
			    "one delegating role here", name, p->name);
			goto out;
		}
		ferry_error_clear(&err);
		if ((role = json_pack("{s:s, s:O, s:I, s:b}", "name", name,
		    "keyids", keyids, "threshold", (json_int_t)threshold,
		    "terminating", terminating)) == NULL ||
		    (arr = json_array()) == NULL ||
		    json_object_set_new(role, npaths ? "paths" :
		    "path_hash_prefixes", arr) != 0) {
			sign_failf("out of memory");
			goto out;
		}
		for (i = 0; i < (npaths ? npaths : nhps); i++)
			if (json_array_append_new(arr, json_string(npaths ?
			    paths[i] : hps[i])) != 0) {
				sign_failf("out of memory");
				goto out;
			}
		arr = json_object_get(d, "roles");
		json_array_foreach(arr, i, key)
			if (strcmp(ferry_json_cstr(json_object_get(key,
			    "name")), name) == 0)
				break;
		if ((i < json_array_size(arr) ? json_array_set(arr, i, role) :
		    json_array_append(arr, role)) != 0) {
			sign_failf("out of memory");
			goto out;
		}
	}
	if (prune_keys(d) != 0) {
		sign_failf("out of memory");
		goto out;
	}
	if (ws_stage(w, from, s, &err) != 0) {
		sign_fail(from, &err);
		goto out;
	}
	/* The delegated roles, staged empty where the workspace has none. */
	{
		const struct ferry_meta *md;
		int64_t exp = ws_now(w) + ws_default_lifetime("targets");
		long nnew = nbins ? nbins : 1, made = 0;
		json_t *empty;

		for (b = 0; b < nnew; b++) {
			if (nbins != 0) {
				md = ws_eff(fr);
				if (succinct) {
					snprintf(bin, sizeof(bin), "%s-%0*lx",
					    prefix, bits <= 4 ? 1 : bits <= 8 ?
					    2 : bits <= 12 ? 3 : 4, b);
				} else {
					snprintf(bin, sizeof(bin), "%s",
					    md->delegations->roles[b].name);
				}
				name = bin;
			} else
				name = argv[optind];
			if (ws_get(w, name, &existing, &err) == 0)
				continue;
			ferry_error_clear(&err);
			if ((empty = sign_empty_targets(exp)) == NULL) {
				sign_failf("out of memory");
				goto out;
			}
			if (ws_stage(w, name, empty, &err) != 0) {
				json_decref(empty);
				sign_fail(name, &err);
				goto out;
			}
			json_decref(empty);
			made++;
		}
		if (ws_save(w, &err) != 0) {
			sign_fail(dir, &err);
			goto out;
		}
		if (nbins != 0)
			printf("%s delegates to %ld %s hash bins %s-*; %ld new "
			    "role%s staged\n", from, nbins, succinct ?
			    "succinct" : "classic", prefix, made,
			    made == 1 ? "" : "s");
		else
			printf("%s delegates to %s%s\n", from, argv[optind],
			    made ? "; new role staged" : "");
	}
	rc = 0;
 out:
	json_decref(s);
	json_decref(keyids);
	json_decref(role);
	ws_free(w);
	free(keyfiles);
	free(paths);
	free(hps);
	return rc;
}

/* --- renew -------------------------------------------------------------- */

static const char renew_usage[] =
    "usage: ferry-sign renew [-C DIR] [--expires WHEN] ROLE...\n"
    "\n"
    "Stage each ROLE again with a new expiry and nothing else changed (its\n"
    "next version, if it is not staged already).\n"
    "\n"
    "  --expires WHEN  YYYY-MM-DDTHH:MM:SSZ, or days from now (90d);\n"
    "                  default: the role's default (root 365d, others 90d)\n";

static const struct option renew_opts[] = {
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
cmd_renew(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	const char *dir = ".", *when = NULL;
	struct ws *w = NULL;
	char buf[32];
	json_t *s;
	int64_t t;
	int c, i, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "C:h", renew_opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case OPT_EXPIRES:
			when = optarg;
			break;
		case 'h':
			fputs(renew_usage, stdout);
			return 0;
		default:
			fputs(renew_usage, stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fputs(renew_usage, stderr);
		return 2;
	}
	if (sign_open_ws(dir, &w) != 0)
		return 1;
	rc = 1;
	for (i = optind; i < argc; i++) {
		if (ws_edit(w, argv[i], &s, &err) != 0) {
			sign_fail(argv[i], &err);
			goto out;
		}
		if (when != NULL ? ws_parse_when(when, ws_now(w), &t) != 0 :
		    (t = ws_now(w) + ws_default_lifetime(argv[i]), 0)) {
			json_decref(s);
			sign_failf("--expires %s: expected YYYY-MM-DDTHH:MM:SSZ "
			    "or a number of days such as 90d", when);
			goto out;
		}
		(void)ferry_meta_format_time(t, buf, sizeof(buf));
		if (json_object_set_new(s, "expires", json_string(buf)) != 0 ||
		    ws_stage(w, argv[i], s, &err) != 0) {
			json_decref(s);
			sign_fail(argv[i], &err);
			goto out;
		}
		json_decref(s);
		printf("%s: staged, expires %s\n", argv[i], buf);
	}
	if (ws_save(w, &err) != 0) {
		sign_fail(dir, &err);
		goto out;
	}
	rc = 0;
 out:
	ws_free(w);
	return rc;
}

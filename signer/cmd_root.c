/* ferry-sign init and root: a repository's first root, and rotations. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "signer/sign.h"
#include "signer/ws.h"

static const char init_usage[] =
    "usage: ferry-sign init [-C DIR] --key ROLE=PUBFILE...\n"
    "                       [--threshold ROLE=N]... [--expires ROLE=WHEN]...\n"
    "\n"
    "Start a workspace in DIR (default: the current directory; it must not\n"
    "exist or be empty) with a staged root version 1 and an empty staged\n"
    "targets version 1.  ROLE is root, targets, snapshot or timestamp;\n"
    "snapshot and timestamp keys are the online keys repod will hold.\n"
    "\n"
    "  --key ROLE=PUBFILE    add the public key in PUBFILE (a .pub file) to\n"
    "                        ROLE; every role needs at least one\n"
    "  --threshold ROLE=N    signatures ROLE needs (default 1; at most its\n"
    "                        number of keys)\n"
    "  --expires ROLE=WHEN   root or targets: an absolute time\n"
    "                        (2027-11-23T00:00:00Z) or days from now (90d);\n"
    "                        defaults 365d for root, 90d for targets\n";

static const char root_usage[] =
    "usage: ferry-sign root [-C DIR] [--add-key ROLE=PUBFILE]...\n"
    "                       [--remove-key ROLE=KEYID]... [--threshold ROLE=N]...\n"
    "                       [--expires WHEN] [--version N]\n"
    "\n"
    "Stage the next root version (or edit the one already staged).  The\n"
    "new root must be signed by a threshold of the previous root's root\n"
    "keys and by a threshold of its own.\n"
    "\n"
    "  --add-key ROLE=PUBFILE   add a key to ROLE (root, targets, snapshot,\n"
    "                           timestamp)\n"
    "  --remove-key ROLE=KEYID  remove a key from ROLE; KEYID may be a\n"
    "                           unique prefix of 8 or more hex digits\n"
    "  --threshold ROLE=N       signatures ROLE needs\n"
    "  --expires WHEN           root's expiry (default 365d from now)\n"
    "  --version N              must be the next version (the default)\n";

static const char *const top_roles[] = { "root", "targets", "snapshot",
    "timestamp" };

static int
top_role_ok(const char *role)
{
	size_t i;

	for (i = 0; i < sizeof(top_roles) / sizeof(top_roles[0]); i++)
		if (strcmp(role, top_roles[i]) == 0)
			return 1;
	return 0;
}

/* Split "ROLE=VALUE" for option opt; prints the usage error. */
static int
role_arg(const char *opt, char *arg, const char **role, const char **value)
{
	char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr, "ferry-sign: --%s: expected ROLE=VALUE, not "
		    "\"%s\"\n", opt, arg);
		return -1;
	}
	*eq = '\0';
	if (!top_role_ok(arg)) {
		fprintf(stderr, "ferry-sign: --%s: \"%s\" is not root, "
		    "targets, snapshot or timestamp\n", opt, arg);
		return -1;
	}
	*role = arg;
	*value = eq + 1;
	return 0;
}

static int
parse_threshold(const char *s, json_int_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 1 || v > 1000)
		return -1;
	*out = (json_int_t)v;
	return 0;
}

/* The role object roles.ROLE of root's signed part s. */
static json_t *
role_obj(json_t *s, const char *role)
{
	return json_object_get(json_object_get(s, "roles"), role);
}

/* Add the key in pubfile to role; record its name. */
static int
add_key(struct ws *w, json_t *s, const char *role, const char *pubfile)
{
	struct ferry_error err = { 0 };
	char keyid[FERRY_KEYID_HEXLEN + 1];
	json_t *key = NULL, *ids;
	char *name = NULL;
	size_t i;
	int rc = 1;

	if (ws_load_pubkey(pubfile, &key, keyid, &name, &err) != 0)
		return sign_fail(pubfile, &err);
	ids = json_object_get(role_obj(s, role), "keyids");
	for (i = 0; i < json_array_size(ids); i++)
		if (strcmp(ferry_json_cstr(json_array_get(ids, i)),
		    keyid) == 0) {
			sign_failf("%s: key %s is already a key of %s",
			    pubfile, keyid, role);
			goto out;
		}
	if (json_object_set(json_object_get(s, "keys"), keyid, key) != 0 ||
	    json_array_append_new(ids, json_string(keyid)) != 0 ||
	    ws_set_name(w, keyid, name) != 0) {
		sign_failf("out of memory");
		goto out;
	}
	rc = 0;
 out:
	json_decref(key);
	free(name);
	return rc;
}

/* Whether any role of root's signed part s lists keyid. */
static int
key_in_use(json_t *s, const char *keyid)
{
	const char *name;
	json_t *role, *v;
	size_t i;

	json_object_foreach(json_object_get(s, "roles"), name, role)
		json_array_foreach(json_object_get(role, "keyids"), i, v)
			if (strcmp(ferry_json_cstr(v), keyid) == 0)
				return 1;
	return 0;
}

static int
remove_key(json_t *s, const char *role, const char *prefix)
{
	json_t *ids = json_object_get(role_obj(s, role), "keyids");
	size_t i, n = strlen(prefix), found = 0, at = 0;
	char keyid[FERRY_KEYID_HEXLEN + 1];
	const char *id;

	if (n < 8 || n > FERRY_KEYID_HEXLEN)
		return sign_failf("--remove-key %s=%s: give 8 to 64 hex digits "
		    "of the key id", role, prefix);
	for (i = 0; i < json_array_size(ids); i++) {
		id = ferry_json_cstr(json_array_get(ids, i));
		if (strncmp(id, prefix, n) == 0) {
			found++;
			at = i;
		}
	}
	if (found != 1)
		return sign_failf("--remove-key %s=%s: %s", role, prefix,
		    found == 0 ? "no key of that role has this id" :
		    "several keys of that role start so; give more digits");
	snprintf(keyid, sizeof(keyid), "%s",
	    ferry_json_cstr(json_array_get(ids, at)));
	if (json_array_remove(ids, at) != 0)
		return sign_failf("out of memory");
	if (!key_in_use(s, keyid))
		(void)json_object_del(json_object_get(s, "keys"), keyid);
	return 0;
}

static int
set_threshold(json_t *s, const char *role, const char *value)
{
	json_int_t t;

	if (parse_threshold(value, &t) != 0)
		return sign_failf("--threshold %s=%s: must be a whole number "
		    "from 1 to 1000", role, value);
	if (json_object_set_new(role_obj(s, role), "threshold",
	    json_integer(t)) != 0)
		return sign_failf("out of memory");
	return 0;
}

static int
set_expires(json_t *s, const char *opt, const char *when, int64_t now)
{
	char buf[32];
	int64_t t;

	if (ws_parse_when(when, now, &t) != 0 ||
	    ferry_meta_format_time(t, buf, sizeof(buf)) != 0)
		return sign_failf("--%s %s: expected YYYY-MM-DDTHH:MM:SSZ or "
		    "a number of days such as 90d", opt, when);
	if (json_object_set_new(s, "expires", json_string(buf)) != 0)
		return sign_failf("out of memory");
	return 0;
}

/*
 * DIR must not exist (0), or be an empty directory (1); else -1, after
 * saying why.
 */
static int
dir_usable(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		sign_failf("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			break;
	closedir(d);
	if (de != NULL) {
		sign_failf("%s: exists and is not empty; init makes a new "
		    "workspace", dir);
		return -1;
	}
	return 1;
}

/* Remove what a failed init made inside an existing, empty DIR. */
static void
empty_dir(const char *dir)
{
	static const char *const made[] = { "staged", "metadata",
	    "workspace.json" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (snprintf(path, sizeof(path), "%s/%s", dir, made[i]) <
		    (int)sizeof(path))
			(void)ferry_file_rmtree(path);
}

enum { OPT_KEY = 256, OPT_THRESHOLD, OPT_EXPIRES, OPT_ADDKEY, OPT_RMKEY,
    OPT_VERSION };

static const struct option init_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static json_t *
empty_root(int64_t expires)
{
	char when[32];

	if (ferry_meta_format_time(expires, when, sizeof(when)) != 0)
		return NULL;
	return json_pack("{s:s, s:s, s:i, s:s, s:b, s:{}, s:{s:{s:[], s:i}, "
	    "s:{s:[], s:i}, s:{s:[], s:i}, s:{s:[], s:i}}}",
	    "_type", "root", "spec_version", SIGN_SPEC_VERSION, "version", 1,
	    "expires", when, "consistent_snapshot", 1, "keys", "roles",
	    "root", "keyids", "threshold", 1,
	    "targets", "keyids", "threshold", 1,
	    "snapshot", "keyids", "threshold", 1,
	    "timestamp", "keyids", "threshold", 1);
}

json_t *
sign_empty_targets(int64_t expires)
{
	char when[32];

	if (ferry_meta_format_time(expires, when, sizeof(when)) != 0)
		return NULL;
	return json_pack("{s:s, s:s, s:i, s:s, s:{}}", "_type", "targets",
	    "spec_version", SIGN_SPEC_VERSION, "version", 1, "expires", when,
	    "targets");
}

int
cmd_init(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	const char *dir = ".", *role, *value;
	struct ws *w = NULL;
	json_t *root = NULL, *targets = NULL, *s;
	char **keys = NULL, **thresholds = NULL, **expires = NULL;
	size_t nkeys = 0, nthr = 0, nexp = 0, i;
	char tmp[PATH_MAX], dbuf[PATH_MAX];
	int c, rc = 2, exists = 0;
	int64_t now = (int64_t)time(NULL);

	if ((keys = calloc((size_t)argc, sizeof(*keys))) == NULL ||
	    (thresholds = calloc((size_t)argc, sizeof(*keys))) == NULL ||
	    (expires = calloc((size_t)argc, sizeof(*keys))) == NULL) {
		rc = sign_failf("out of memory");
		goto out;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "C:h", init_opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case OPT_KEY:
			keys[nkeys++] = optarg;
			break;
		case OPT_THRESHOLD:
			thresholds[nthr++] = optarg;
			break;
		case OPT_EXPIRES:
			expires[nexp++] = optarg;
			break;
		case 'h':
			fputs(init_usage, stdout);
			rc = 0;
			goto out;
		default:
			fputs(init_usage, stderr);
			goto out;
		}
	}
	if (optind != argc || nkeys == 0) {
		fputs(init_usage, stderr);
		goto out;
	}
	dir = sign_strip_slash(dir, dbuf, sizeof(dbuf));
	rc = 1;
	if ((root = empty_root(now + ws_default_lifetime("root"))) == NULL ||
	    (targets = sign_empty_targets(now +
	    ws_default_lifetime("targets"))) == NULL) {
		rc = sign_failf("out of memory");
		goto out;
	}
	/* Everything is checked before DIR is made. */
	for (i = 0; i < nexp; i++) {
		if (role_arg("expires", expires[i], &role, &value) != 0) {
			rc = 2;
			goto out;
		}
		if (strcmp(role, "root") != 0 && strcmp(role, "targets") != 0) {
			sign_failf("--expires %s: only root and targets are "
			    "made here (repod makes snapshot and timestamp)",
			    role);
			rc = 2;
			goto out;
		}
		s = strcmp(role, "root") == 0 ? root : targets;
		if (set_expires(s, "expires", value, now) != 0)
			goto out;
	}
	/*
	 * A new DIR is made beside it and renamed into place, so that a
	 * failed init leaves nothing behind; in an empty DIR (the current
	 * directory, say) the workspace is made in place and what was made
	 * is removed on failure.
	 */
	if ((exists = dir_usable(dir)) < 0)
		goto out;
	if (exists) {
		if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) {
			rc = sign_failf("%s: path too long", dir);
			goto out;
		}
	} else if (snprintf(tmp, sizeof(tmp), "%s.init-XXXXXX", dir) >=
	    (int)sizeof(tmp) || mkdtemp(tmp) == NULL) {
		rc = sign_failf("%s: cannot make a directory beside it: %s",
		    dir, strerror(errno));
		goto out;
	}
	if (ws_create(tmp, &w, &err) != 0) {
		sign_fail(dir, &err);
		goto fail;
	}
	for (i = 0; i < nkeys; i++) {
		if (role_arg("key", keys[i], &role, &value) != 0) {
			rc = 2;
			goto fail;
		}
		if (add_key(w, root, role, value) != 0)
			goto fail;
	}
	for (i = 0; i < nthr; i++) {
		if (role_arg("threshold", thresholds[i], &role, &value) != 0) {
			rc = 2;
			goto fail;
		}
		if (set_threshold(root, role, value) != 0)
			goto fail;
	}
	if (ws_stage(w, "root", root, &err) != 0 ||
	    ws_stage(w, "targets", targets, &err) != 0 ||
	    ws_save(w, &err) != 0) {
		sign_fail(dir, &err);
		goto fail;
	}
	if (!exists && rename(tmp, dir) != 0) {
		sign_failf("%s: %s", dir, strerror(errno));
		goto fail;
	}
	printf("%s: staged root v1 and targets v1; next: ferry-sign request\n",
	    dir);
	rc = 0;
	goto out;
 fail:
	if (exists)
		empty_dir(tmp);
	else
		(void)ferry_file_rmtree(tmp);
 out:
	ws_free(w);
	json_decref(root);
	json_decref(targets);
	free(keys);
	free(thresholds);
	free(expires);
	return rc;
}

static const struct option root_opts[] = {
	{ "add-key", required_argument, NULL, OPT_ADDKEY },
	{ "remove-key", required_argument, NULL, OPT_RMKEY },
	{ "threshold", required_argument, NULL, OPT_THRESHOLD },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	{ "version", required_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
cmd_root(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	const char *dir = ".", *role, *value, *expires = NULL, *version = NULL;
	struct ws *w = NULL;
	json_t *s = NULL;
	struct { int op; char *arg; } *ops = NULL;
	size_t nops = 0, i;
	int c, rc = 2;
	json_int_t v;

	if ((ops = calloc((size_t)argc, sizeof(*ops))) == NULL)
		return sign_failf("out of memory");
	optind = 1;
	while ((c = getopt_long(argc, argv, "C:h", root_opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case OPT_ADDKEY:
		case OPT_RMKEY:
		case OPT_THRESHOLD:
			ops[nops].op = c;
			ops[nops++].arg = optarg;
			break;
		case OPT_EXPIRES:
			expires = optarg;
			break;
		case OPT_VERSION:
			version = optarg;
			break;
		case 'h':
			fputs(root_usage, stdout);
			rc = 0;
			goto out;
		default:
			fputs(root_usage, stderr);
			goto out;
		}
	}
	if (optind != argc) {
		fputs(root_usage, stderr);
		goto out;
	}
	rc = 1;
	if (sign_open_ws(dir, &w) != 0)
		goto out;
	if (ws_edit(w, "root", &s, &err) != 0) {
		rc = sign_fail(dir, &err);
		goto out;
	}
	for (i = 0; i < nops; i++) {
		const char *opt = ops[i].op == OPT_ADDKEY ? "add-key" :
		    ops[i].op == OPT_RMKEY ? "remove-key" : "threshold";

		if (role_arg(opt, ops[i].arg, &role, &value) != 0) {
			rc = 2;
			goto out;
		}
		if ((ops[i].op == OPT_ADDKEY ? add_key(w, s, role, value) :
		    ops[i].op == OPT_RMKEY ? remove_key(s, role, value) :
		    set_threshold(s, role, value)) != 0)
			goto out;
	}
	if (expires != NULL && set_expires(s, "expires", expires,
	    ws_now(w)) != 0)
		goto out;
	if (version != NULL) {
		char *end;

		errno = 0;
		v = (json_int_t)strtoll(version, &end, 10);
		if (errno != 0 || *end != '\0' || end == version || v < 1) {
			rc = sign_failf("--version %s: not a version number",
			    version);
			goto out;
		}
		if (json_object_set_new(s, "version", json_integer(v)) != 0) {
			rc = sign_failf("out of memory");
			goto out;
		}
	}
	if (ws_stage(w, "root", s, &err) != 0 || ws_save(w, &err) != 0) {
		rc = sign_fail(dir, &err);
		goto out;
	}
	{
		struct ws_role *r;
		int complete;

		if (ws_get(w, "root", &r, &err) == 0)
			(void)ws_report(w, r, r->stg, stdout, &complete, &err);
	}
	rc = 0;
 out:
	json_decref(s);
	ws_free(w);
	free(ops);
	return rc;
}

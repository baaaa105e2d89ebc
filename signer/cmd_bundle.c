/*
 * ferry-sign bundle and publish: the output of a signing session, for
 * repod (a publication bundle) or for a static server (a metadata tree
 * with snapshot and timestamp).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/bundle.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "lib/seckey.h"
#include "signer/sign.h"
#include "signer/ws.h"

/* snprintf into a path buffer; -1 (ENAMETOOLONG) if it does not fit. */
static int __attribute__((format(printf, 3, 4)))
pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Check the whole workspace as a client would see it once published:
 * every role complete against its delegator, nothing expired, every
 * target inside its delegated paths, every role delegated.
 */
static int
check_all(struct ws *w)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *const *roots;
	struct ws_role *const *all, **copy, *r, *p;
	const struct ferry_meta *md;
	const char *path;
	size_t n, i;
	int complete, problems = 0;
	json_t *v;

	roots = ws_roots(w, &n);
	for (i = 1; i < n; i++) {
		size_t got;

		if (ferry_meta_verify(roots[i], &roots[i - 1]->keys,
		    &roots[i - 1]->roles[FERRY_META_ROOT], &got, NULL) != 0 ||
		    ferry_meta_verify(roots[i], &roots[i]->keys,
		    &roots[i]->roles[FERRY_META_ROOT], &got, NULL) != 0)
			return sign_failf("metadata/%zu.root.json: not signed "
			    "by thresholds of root v%zu and of itself", i + 1,
			    i);
	}
	if (ws_get(w, "root", &r, &err) != 0 ||
	    ws_report(w, r, ws_eff(r), NULL, &complete, &err) != 0)
		return sign_fail("root", &err);
	if (!complete)
		return sign_failf("root v%lld: incomplete",
		    (long long)ws_eff(r)->version);
	if (ws_eff(r)->expires <= ws_now(w))
		return sign_failf("root v%lld expired at %s: stage a new root",
		    (long long)ws_eff(r)->version, ws_eff(r)->expires_str);
	if (ws_get(w, "targets", &r, &err) != 0)
		return sign_fail("targets", &err);
	/* A copy: looking up delegations may add entries to the table. */
	all = ws_roles(w, &n);
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		return sign_failf("out of memory");
	memcpy(copy, all, n * sizeof(*copy));
	for (i = 0; i < n; i++) {
		if (!copy[i]->have_cur && !copy[i]->have_stg)
			continue;
		if (ws_get(w, copy[i]->name, &r, &err) != 0) {
			sign_fail(copy[i]->name, &err);
			problems++;
			break;
		}
		md = ws_eff(r);
		if (ws_report(w, r, md, NULL, &complete, &err) != 0) {
			sign_fail(r->name, &err);
			if (++problems >= 10)
				break;
			continue;
		}
		if (!complete) {
			sign_failf("%s v%lld (%s) is not signed by a threshold "
			    "of the keys that now delegate it: renew it and "
			    "sign it", r->name, (long long)md->version,
			    r->stg ? "staged" : "complete");
			if (++problems >= 10)
				break;
			continue;
		}
		if (md->expires <= ws_now(w)) {
			sign_failf("%s v%lld expired at %s: ferry-sign renew %s",
			    r->name, (long long)md->version, md->expires_str,
			    r->name);
			if (++problems >= 10)
				break;
			continue;
		}
		if (strcmp(r->name, "targets") == 0)
			continue;
		if (ws_parent(w, r, &p, &err) != 0) {
			sign_fail(r->name, &err);
			if (++problems >= 10)
				break;
			continue;
		}
		json_object_foreach((json_t *)md->targets, path, v) {
			(void)v;
			if (ws_check_path(w, r, path, &err) != 0) {
				sign_fail(r->name, &err);
				ferry_error_clear(&err);
				problems++;
				break;
			}
		}
		if (problems >= 10)
			break;
	}
	free(copy);
	return problems ? 1 : 0;
}

/*
 * Serialise md to dir/metadata/file (dir/file when list is NULL) and
 * describe it in list, the manifest's roles; through batch b if not NULL.
 */
static int
put_file(struct ferry_batch *b, const char *dir, const char *file,
    const char *role, const struct ferry_meta *md, json_t *list,
    struct ferry_error *err)
{
	unsigned char *buf = NULL, d[FERRY_HASH_MAX];
	char path[PATH_MAX], hex[2 * FERRY_HASH_MAX + 1], rel[PATH_MAX];
	size_t len, dl;
	json_t *e;
	int r;

	if (pathf(path, sizeof(path), "%s/%s%s", dir, list ? "metadata/" : "",
	    file) != 0 || pathf(rel, sizeof(rel), "metadata/%s", file) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s/%s: path too long", dir, file);
	if ((r = ferry_meta_serialize(md, &buf, &len, err)) != 0)
		return r;
	if ((r = ferry_hash_buf(FERRY_HASH_SHA256, buf, len, d, &dl)) != 0 ||
	    (r = b != NULL ? ferry_batch_add(b, path, buf, len, 0644) :
	    ferry_file_write_atomic(path, buf, len, 0644)) != 0) {
		free(buf);
		return ferry_error_set(err, r, "%s: %s", path,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	}
	free(buf);
	ferry_hex_encode(d, dl, hex);
	if (list == NULL)
		return 0;
	if ((e = json_pack("{s:s, s:I, s:s, s:I, s:s}", "role", role,
	    "version", (json_int_t)md->version, "path", rel, "length",
	    (json_int_t)len, "sha256", hex)) == NULL ||
	    json_array_append_new(list, e) != 0)
		return FERRY_ERR_NOMEM;
	return 0;
}

static int
write_tree(struct ws *w, const char *dir, struct ferry_error *err)
{
	struct ferry_meta *const *roots;
	struct ws_role *const *all;
	const struct ferry_meta *stg;
	struct ws_role *r;
	char path[PATH_MAX], file[PATH_MAX], created[32];
	struct ferry_batch *b = NULL;
	json_t *list, *man;
	size_t n, i;
	int rv;
	int64_t rootv;

	if (pathf(path, sizeof(path), "%s/metadata", dir) != 0 ||
	    mkdir(path, 0755) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	if ((list = json_array()) == NULL)
		return FERRY_ERR_NOMEM;
	if ((rv = ferry_batch_new(&b)) != 0)
		goto out;
	roots = ws_roots(w, &n);
	for (i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%zu.root.json", i + 1);
		if ((rv = put_file(b, dir, file, "root", roots[i], list,
		    err)) != 0)
			goto out;
	}
	rootv = (int64_t)n;
	if ((rv = ws_get(w, "root", &r, err)) != 0)
		goto out;
	if ((stg = r->stg) != NULL) {
		snprintf(file, sizeof(file), "%lld.root.json",
		    (long long)stg->version);
		if ((rv = put_file(b, dir, file, "root", stg, list, err)) != 0)
			goto out;
		rootv = stg->version;
	}
	all = ws_roles(w, &n);
	/* targets first, then the others in name order. */
	for (i = 0; i < n; i++)
		if (strcmp(all[i]->name, "targets") == 0 &&
		    ((rv = ws_get(w, "targets", &r, err)) != 0 ||
		    (rv = put_file(b, dir, "targets.json", "targets", ws_eff(r),
		    list, err)) != 0))
			goto out;
	for (i = 0; i < n; i++) {
		if (strcmp(all[i]->name, "targets") == 0 ||
		    (!all[i]->have_cur && !all[i]->have_stg))
			continue;
		snprintf(file, sizeof(file), "%s.json", all[i]->name);
		if ((rv = ws_get(w, all[i]->name, &r, err)) != 0 ||
		    (rv = put_file(b, dir, file, r->name, ws_eff(r), list,
		    err)) != 0)
			goto out;
	}
	if ((rv = ferry_batch_commit(b)) != 0) {
		rv = ferry_error_set(err, rv, "%s: %s", dir, rv == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(rv));
		goto out;
	}
	sign_now_str(created, sizeof(created));
	if ((man = json_pack("{s:s, s:i, s:s, s:I, s:O}", "_type",
	    "ferry-bundle", "format", 1, "created", created, "root_version",
	    (json_int_t)rootv, "roles", list)) == NULL) {
		rv = FERRY_ERR_NOMEM;
		goto out;
	}
	if (pathf(path, sizeof(path), "%s/manifest.json", dir) != 0)
		rv = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: path too long", dir);
	else
		rv = sign_write_json(path, man, 0644, 0, err);
	json_decref(man);
 out:
	ferry_batch_free(b);
	json_decref(list);
	return rv;
}

static const char bundle_usage[] =
    "usage: ferry-sign bundle [-C DIR] OUT\n"
    "\n"
    "Check the whole workspace as a client would, then write the signed\n"
    "offline metadata and a manifest to OUT: a new directory, or one\n"
    ".tar.zst file when OUT ends in .tar.zst.  The staged roles then\n"
    "become the complete ones.  Nothing is written unless every staged\n"
    "role is complete.\n";

int
cmd_bundle(int argc, char **argv)
{
	struct ferry_error err = { 0 };
	const char *dir = ".", *out;
	char tmp[PATH_MAX], obuf[PATH_MAX];
	struct stat st;
	struct ws *w = NULL;
	size_t nstaged, ncomplete;
	int c, rc = 2, archive, made = 0;

	if ((c = sign_dir_only(argc, argv, bundle_usage, &dir)) >= 0)
		return c;
	if (optind != argc - 1) {
		fputs(bundle_usage, stderr);
		return 2;
	}
	out = sign_strip_slash(argv[optind], obuf, sizeof(obuf));
	archive = ends_with(out, ".tar.zst");
	rc = 1;
	if (!archive && lstat(out, &st) == 0) {
		sign_failf("%s: already exists; a bundle directory must be new",
		    out);
		goto done;
	}
	if (sign_open_ws(dir, &w) != 0)
		goto done;
	if (sign_report_staged(w, &nstaged, &ncomplete) != 0)
		goto done;
	if (ncomplete != nstaged) {
		sign_failf("%zu of %zu staged roles are not signed by their "
		    "thresholds yet; no bundle written", nstaged - ncomplete,
		    nstaged);
		goto done;
	}
	if (check_all(w) != 0) {
		fprintf(stderr, "ferry-sign: no bundle written\n");
		goto done;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", out) >=
	    (int)sizeof(tmp) || mkdtemp(tmp) == NULL) {
		sign_failf("%s: cannot make a directory beside it: %s", out,
		    strerror(errno));
		goto done;
	}
	made = 1;
	if (write_tree(w, tmp, &err) != 0) {
		sign_fail(out, &err);
		goto done;
	}
	if (archive) {
		if (ferry_bundle_write_dir(tmp, out, &err) != 0) {
			sign_fail(out, &err);
			goto done;
		}
	} else if (rename(tmp, out) != 0) {
		sign_failf("%s: %s", out, strerror(errno));
		goto done;
	} else
		made = 0;
	if (ws_promote(w, &err) != 0) {
		sign_fail(dir, &err);
		fprintf(stderr, "ferry-sign: %s was written, but the workspace "
		    "still has the roles staged\n", out);
		goto done;
	}
	printf("wrote %s: %zu role%s newly signed; the workspace now has them "
	    "as complete\n", out, nstaged, nstaged == 1 ? "" : "s");
	rc = 0;
 done:
	if (made)
		(void)ferry_file_rmtree(tmp);
	ws_free(w);
	return rc;
}

/* --- publish ------------------------------------------------------------ */

static const char publish_usage[] =
    "usage: ferry-sign publish [-C DIR] --snapshot-key KEYFILE\n"
    "                          --timestamp-key KEYFILE [--passphrase-fd N]\n"
    "                          [--expires ROLE=WHEN]... OUTDIR\n"
    "\n"
    "For repositories whose online keys are kept offline too: make a\n"
    "snapshot and a timestamp of the complete roles, sign them, and write\n"
    "OUTDIR, the metadata directory of a consistent-snapshot repository\n"
    "for a static web server.  An existing OUTDIR is updated: versions go\n"
    "up from its timestamp.json, and timestamp.json is replaced last.\n"
    "\n"
    "  --snapshot-key, --timestamp-key KEYFILE  the online keys' files\n"
    "  --passphrase-fd N    their passphrases, one line each, from N\n"
    "  --expires ROLE=WHEN  snapshot (default 7d) or timestamp (1d)\n";

/* The version of snapshot in an existing OUTDIR/timestamp.json, or 0. */
static int
old_versions(const char *outdir, int64_t *ts, int64_t *snap)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	struct ferry_metafile mf;
	char path[PATH_MAX];
	struct stat st;

	*ts = *snap = 0;
	if (pathf(path, sizeof(path), "%s/timestamp.json", outdir) != 0)
		return sign_failf("%s: path too long", outdir);
	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (ferry_meta_load(path, FERRY_META_MAX_DEFAULT, &md, &err) != 0)
		return sign_fail(path, &err);
	if (md->type != FERRY_META_TIMESTAMP ||
	    ferry_meta_metafile(md, "snapshot.json", &mf) != 0) {
		ferry_meta_free(md);
		return sign_failf("%s: not a timestamp", path);
	}
	*ts = md->version;
	*snap = mf.version;
	ferry_meta_free(md);
	return 0;
}

static int
key_of_role(const struct ferry_meta *root, enum ferry_meta_type t,
    const char *file, struct ferry_seckey *k)
{
	const struct ferry_role *fr = &root->roles[t];
	const char *id = ferry_seckey_keyid(k);
	size_t i;

	for (i = 0; i < fr->nkeyids; i++)
		if (strcmp(fr->keyids[i], id) == 0)
			break;
	if (i == fr->nkeyids)
		return sign_failf("%s: key %.8s is not a %s key of root v%lld",
		    file, id, ferry_meta_type_name(t),
		    (long long)root->version);
	if (fr->threshold > 1)
		return sign_failf("%s: root v%lld needs %llu %s signatures; "
		    "publish signs with one key", file, (long long)root->version,
		    (unsigned long long)fr->threshold, ferry_meta_type_name(t));
	return 0;
}

static int
sign_new(json_t *signed_obj, struct ferry_seckey *k, struct ferry_meta **out,
    struct ferry_error *err)
{
	int r;

	if ((r = ferry_meta_from_signed(signed_obj, out, err)) != 0)
		return r;
	return ferry_meta_sign(*out, k, err);
}

int
cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "snapshot-key", required_argument, NULL, 's' },
		{ "timestamp-key", required_argument, NULL, 't' },
		{ "passphrase-fd", required_argument, NULL, 'p' },
		{ "expires", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_error err = { 0 };
	const char *dir = ".", *skf = NULL, *tkf = NULL, *outdir, *eq;
	struct ferry_seckey *sk = NULL, *tk = NULL;
	struct ferry_meta *snap = NULL, *ts = NULL;
	struct ferry_batch *b = NULL;
	struct ferry_meta *const *roots;
	struct ws_role *const *all;
	const struct ferry_meta *root;
	struct ws_role *r;
	struct ws *w = NULL;
	json_t *meta = NULL, *s = NULL;
	char path[PATH_MAX], when[32], hex[2 * FERRY_HASH_MAX + 1];
	unsigned char *buf = NULL, d[FERRY_HASH_MAX];
	int64_t now, sexp = 7 * WS_DAY, texp = WS_DAY, oldts, oldsnap, t;
	size_t n, i, len, dl, nstaged = 0;
	int c, pfd = -1, rc = 2;

	optind = 1;
	now = (int64_t)time(NULL);
	sexp += now;
	texp += now;
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 's':
			skf = optarg;
			break;
		case 't':
			tkf = optarg;
			break;
		case 'p':
			if ((pfd = sign_parse_fd("--passphrase-fd",
			    optarg)) < 0)
				return 2;
			break;
		case 'e':
			eq = strchr(optarg, '=');
			if (eq == NULL || ws_parse_when(eq + 1, now, &t) != 0 ||
			    (strncmp(optarg, "snapshot=", 9) != 0 &&
			    strncmp(optarg, "timestamp=", 10) != 0)) {
				fprintf(stderr, "ferry-sign: --expires %s: "
				    "expected snapshot=WHEN or timestamp=WHEN\n",
				    optarg);
				return 2;
			}
			if (optarg[0] == 's')
				sexp = t;
			else
				texp = t;
			break;
		case 'h':
			fputs(publish_usage, stdout);
			return 0;
		default:
			fputs(publish_usage, stderr);
			return 2;
		}
	}
	if (skf == NULL || tkf == NULL || optind != argc - 1) {
		fputs(publish_usage, stderr);
		return 2;
	}
	outdir = argv[optind];
	rc = 1;
	if (sexp <= now || texp <= now) {
		sign_failf("--expires: not in the future");
		goto out;
	}
	if (sign_open_ws(dir, &w) != 0)
		goto out;
	roots = ws_roots(w, &n);
	if (n == 0) {
		sign_failf("%s: no complete root yet: sign and bundle first",
		    dir);
		goto out;
	}
	root = roots[n - 1];
	{
		struct ws_role *rr;
		int complete = 0;

		if (ws_get(w, "root", &rr, &err) != 0)
			goto fail;
		if (rr->stg != NULL && ws_report(w, rr, rr->stg, NULL,
		    &complete, &err) == 0 && complete) {
			sign_failf("root v%lld is staged and signed: run "
			    "`ferry-sign bundle` first, so that what is "
			    "published is what was checked and bundled",
			    (long long)rr->stg->version);
			goto out;
		}
	}
	if (old_versions(outdir, &oldts, &oldsnap) != 0)
		goto out;
	if (oldts == INT64_MAX || oldsnap == INT64_MAX) {
		sign_failf("%s: the versions there cannot go higher", outdir);
		goto out;
	}
	if (sign_open_key(skf, pfd, NULL, &sk, &err) != 0) {
		sign_fail(skf, &err);
		goto out;
	}
	if (key_of_role(root, FERRY_META_SNAPSHOT, skf, sk) != 0)
		goto out;
	if (strcmp(skf, tkf) == 0)
		tk = NULL;
	else if (sign_open_key(tkf, pfd, NULL, &tk, &err) != 0) {
		sign_fail(tkf, &err);
		goto out;
	}
	if (key_of_role(root, FERRY_META_TIMESTAMP, tkf, tk ? tk : sk) != 0)
		goto out;
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		sign_failf("%s: %s", outdir, strerror(errno));
		goto out;
	}
	/* Roots, then each role by version, then snapshot, timestamp last. */
	if (ferry_batch_new(&b) != 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%zu.root.json", i + 1);
		if (put_file(b, outdir, path, "root", roots[i], NULL,
		    &err) != 0)
			goto fail;
	}
	if ((meta = json_object()) == NULL)
		goto nomem;
	all = ws_roles(w, &n);
	for (i = 0; i < n; i++) {
		if (all[i]->have_stg)
			nstaged++;
		if (!all[i]->have_cur)
			continue;
		if (ws_get(w, all[i]->name, &r, &err) != 0)
			goto fail;
		snprintf(path, sizeof(path), "%lld.%s.json",
		    (long long)r->cur->version, r->name);
		if (put_file(b, outdir, path, r->name, r->cur, NULL,
		    &err) != 0)
			goto fail;
		snprintf(path, sizeof(path), "%s.json", r->name);
		if (json_object_set_new(meta, path, json_pack("{s:I}",
		    "version", (json_int_t)r->cur->version)) != 0)
			goto nomem;
	}
	if (ferry_batch_commit(b) != 0) {
		sign_failf("%s: %s", outdir, strerror(errno));
		goto out;
	}
	(void)ferry_meta_format_time(sexp, when, sizeof(when));
	if ((s = json_pack("{s:s, s:s, s:I, s:s, s:O}", "_type", "snapshot",
	    "spec_version", SIGN_SPEC_VERSION, "version",
	    (json_int_t)(oldsnap + 1), "expires", when, "meta", meta)) == NULL)
		goto nomem;
	if (sign_new(s, sk, &snap, &err) != 0)
		goto fail;
	json_decref(s);
	s = NULL;
	if (ferry_meta_serialize(snap, &buf, &len, &err) != 0)
		goto fail;
	if (pathf(path, sizeof(path), "%s/%lld.snapshot.json", outdir,
	    (long long)snap->version) != 0 ||
	    ferry_hash_buf(FERRY_HASH_SHA256, buf, len, d, &dl) != 0 ||
	    ferry_file_write_atomic(path, buf, len, 0644) != 0) {
		sign_failf("%s: %s", path, strerror(errno));
		goto out;
	}
	ferry_hex_encode(d, dl, hex);
	(void)ferry_meta_format_time(texp, when, sizeof(when));
	if ((s = json_pack("{s:s, s:s, s:I, s:s, s:{s:{s:I, s:I, s:{s:s}}}}",
	    "_type", "timestamp", "spec_version", SIGN_SPEC_VERSION, "version",
	    (json_int_t)(oldts + 1), "expires", when, "meta", "snapshot.json",
	    "version", (json_int_t)snap->version, "length", (json_int_t)len,
	    "hashes", "sha256", hex)) == NULL)
		goto nomem;
	if (sign_new(s, tk ? tk : sk, &ts, &err) != 0)
		goto fail;
	/* root.json: the newest root, for clients that start from it. */
	if (put_file(NULL, outdir, "root.json", "root", root, NULL,
	    &err) != 0 || put_file(NULL, outdir, "timestamp.json",
	    "timestamp", ts, NULL, &err) != 0)
		goto fail;
	printf("published %s: root v%lld, snapshot v%lld, timestamp v%lld%s\n",
	    outdir, (long long)root->version, (long long)snap->version,
	    (long long)ts->version, nstaged ? " (staged roles left out)" : "");
	rc = 0;
	goto out;
 nomem:
	sign_failf("out of memory");
	goto out;
 fail:
	sign_fail(outdir, &err);
 out:
	ferry_batch_free(b);
	free(buf);
	json_decref(s);
	json_decref(meta);
	ferry_meta_free(snap);
	ferry_meta_free(ts);
	ferry_seckey_free(sk);
	ferry_seckey_free(tk);
	ws_free(w);
	return rc;
}

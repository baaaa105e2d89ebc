/*
 * ferry-sign request, sign, merge and status: threshold signing across
 * people and machines, with detached signatures (docs/sign.md).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/key.h"
#include "lib/keyfile.h"
#include "lib/meta.h"
#include "lib/seckey.h"
#include "signer/sign.h"
#include "signer/ws.h"

/* Requests carry whole roles: 16,384 bins of a million targets fit. */
#define REQUEST_MAX ((size_t)1 << 30)
#define SIGFILE_MAX ((size_t)64 << 20)
/* Reports list roles one per line up to this many, then sum up. */
#define REPORT_LINES 40

static int
sha256_hex(const unsigned char *buf, size_t len, char *hex)
{
	unsigned char d[FERRY_HASH_MAX];
	size_t n;

	if (ferry_hash_buf(FERRY_HASH_SHA256, buf, len, d, &n) != 0)
		return FERRY_ERR_CRYPTO;
	ferry_hex_encode(d, n, hex);
	return 0;
}

/*
 * The request fingerprint: SHA-256 over one line "ROLE vVERSION SHA256\n"
 * per role, in request order.  `request` prints it and `sign` prints it
 * again from what it read, so that people can compare 64 digits.
 */
static int
fp_line(struct ferry_hash *h, const char *role, long long version,
    const char *sha)
{
	char line[WS_NAME_MAX + 128];
	int n;

	n = snprintf(line, sizeof(line), "%s v%lld %s\n", role, version, sha);
	if (n < 0 || (size_t)n >= sizeof(line))
		return FERRY_ERR_INVALID_ARG;
	return ferry_hash_update(h, line, (size_t)n);
}

static int
fp_final(struct ferry_hash *h, char *hex)
{
	unsigned char d[FERRY_HASH_MAX];
	size_t n;
	int r;

	if ((r = ferry_hash_final(h, d, &n)) != 0)
		return r;
	ferry_hex_encode(d, n, hex);
	return 0;
}

/* A role name as the signer writes them: no control characters. */
static int
role_name_ok(const char *name)
{
	return strcmp(name, "root") == 0 || ws_name_ok(name);
}

static int
is_hex(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Whether o has only the named fields (a NULL-terminated list). */
static const char *
unknown_field(const json_t *o, const char *const *fields)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; fields[i] != NULL; i++)
			if (strcmp(k, fields[i]) == 0)
				break;
		if (fields[i] == NULL)
			return k;
	}
	return NULL;
}

static int
check_header(const char *file, const json_t *doc, const char *type)
{
	const char *t = ferry_json_cstr(json_object_get(doc, "_type"));
	const json_t *f = json_object_get(doc, "format");

	if (!json_is_object(doc) || t == NULL || strcmp(t, type) != 0)
		return sign_failf("%s: not a %s file (_type \"%s\")", file,
		    strcmp(type, "ferry-sign-request") == 0 ?
		    "signing request" : "signature", type);
	if (!json_is_integer(f) || json_integer_value(f) != 1)
		return sign_failf("%s: format: only format 1 is known", file);
	if (ferry_json_cstr(json_object_get(doc, "created")) == NULL)
		return sign_failf("%s: created: must be a string", file);
	return 0;
}

/* Role order in requests and reports: root, targets, then by name. */
static struct ws_role **
staged_roles(struct ws *w, size_t *n)
{
	struct ws_role *const *all, **out, *r;
	size_t nall, i, k = 0;
	struct ferry_error err = { 0 };

	all = ws_roles(w, &nall);
	if ((out = calloc(nall + 1, sizeof(*out))) == NULL)
		return NULL;
	if (ws_get(w, "root", &r, &err) == 0 && r->stg != NULL)
		out[k++] = r;
	for (i = 0; i < nall; i++)
		if (all[i]->have_stg && strcmp(all[i]->name, "targets") == 0)
			out[k++] = all[i];
	for (i = 0; i < nall; i++)
		if (all[i]->have_stg && strcmp(all[i]->name, "targets") != 0)
			out[k++] = all[i];
	*n = k;
	return out;
}

/*
 * Report the effective version of roles[0..n): a line each up to
 * REPORT_LINES roles; beyond that only the incomplete ones (up to
 * REPORT_LINES) and a count.  *ncomplete receives the complete ones.
 */
static int
report(struct ws *w, struct ws_role **roles, size_t n, size_t *ncomplete)
{
	struct ferry_error err = { 0 };
	size_t i, incomplete = 0;
	struct ws_role *r;
	int complete;

	*ncomplete = 0;
	for (i = 0; i < n; i++) {
		if (ws_get(w, roles[i]->name, &r, &err) != 0 ||
		    ws_report(w, r, ws_eff(r), n > REPORT_LINES ? NULL : stdout,
		    &complete, &err) != 0)
			return sign_fail(roles[i]->name, &err);
		if (n > REPORT_LINES && !complete &&
		    incomplete < REPORT_LINES)
			(void)ws_report(w, r, ws_eff(r), stdout, &complete,
			    &err);
		if (complete)
			(*ncomplete)++;
		else
			incomplete++;
	}
	if (n > REPORT_LINES)
		printf("%zu of %zu roles complete\n", *ncomplete, n);
	return 0;
}

/* --- request ------------------------------------------------------------ */

static const char request_usage[] =
    "usage: ferry-sign request [-C DIR] -o REQUEST [ROLE...]\n"
    "\n"
    "Write REQUEST: every staged role (or each ROLE), in full, with the\n"
    "SHA-256 of the bytes to sign and the thresholds each needs.  Carry it\n"
    "to the key holders; each runs `ferry-sign sign` on it.\n";

static json_t *
request_role(struct ws *w, struct ws_role *r, struct ferry_error *err)
{
	struct ws_need needs[WS_MAXNEEDS];
	char hex[FERRY_HASH_MAX * 2 + 1];
	const struct ferry_role *fr;
	json_t *o = NULL, *thr, *keys, *t;
	size_t n, i, j;
	int complete;

	if (ws_needs(w, r, r->stg, needs, &n, &complete, err) != 0 ||
	    sha256_hex(r->stg->canon, r->stg->canonlen, hex) != 0)
		return NULL;
	if ((thr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		fr = needs[i].role;
		if ((keys = json_object()) == NULL)
			goto nomem;
		for (j = 0; j < fr->nkeyids; j++)
			if (json_object_set(keys, fr->keyids[j],
			    json_object_get(needs[i].keys,
			    fr->keyids[j])) != 0) {
				json_decref(keys);
				goto nomem;
			}
		if ((t = json_pack("{s:s, s:I, s:o}", "of", needs[i].of,
		    "threshold", (json_int_t)fr->threshold, "keys",
		    keys)) == NULL || json_array_append_new(thr, t) != 0)
			goto nomem;
	}
	o = json_pack("{s:s, s:I, s:s, s:O, s:o}", "role", r->name,
	    "version", (json_int_t)r->stg->version, "sha256", hex, "signed",
	    r->stg->signed_obj, "thresholds", thr);
	return o;
 nomem:
	json_decref(thr);
	return NULL;
}

int
cmd_request(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_error err = { 0 };
	const char *dir = ".", *out = NULL;
	struct ws_role **roles = NULL, *r;
	struct ws *w = NULL;
	json_t *doc = NULL, *arr, *o;
	char created[32], fingerprint[2 * FERRY_HASH_MAX + 1];
	struct ferry_hash *fp = NULL;
	size_t n = 0, i;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "C:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(request_usage, stdout);
			return 0;
		default:
			fputs(request_usage, stderr);
			return 2;
		}
	}
	if (out == NULL) {
		fputs(request_usage, stderr);
		return 2;
	}
	rc = 1;
	if (sign_open_ws(dir, &w) != 0)
		goto done;
	if (optind < argc) {
		n = (size_t)(argc - optind);
		if ((roles = calloc(n, sizeof(*roles))) == NULL) {
			sign_failf("out of memory");
			goto done;
		}
		for (i = 0; i < n; i++) {
			if (ws_get(w, argv[optind + (int)i], &r, &err) != 0) {
				sign_fail(argv[optind + (int)i], &err);
				goto done;
			}
			if (r->stg == NULL) {
				sign_failf("%s: not staged: edit it, or `ferry-sign "
				    "renew %s`, first", r->name, r->name);
				goto done;
			}
			roles[i] = r;
		}
	} else if ((roles = staged_roles(w, &n)) == NULL) {
		sign_failf("out of memory");
		goto done;
	}
	if (n == 0) {
		sign_failf("%s: nothing is staged, so there is nothing to sign",
		    dir);
		goto done;
	}
	sign_now_str(created, sizeof(created));
	if (ferry_hash_new(FERRY_HASH_SHA256, &fp) != 0) {
		sign_failf("out of memory");
		goto done;
	}
	if ((arr = json_array()) == NULL ||
	    (doc = json_pack("{s:s, s:i, s:s, s:O, s:o}", "_type",
	    "ferry-sign-request", "format", 1, "created", created, "names",
	    ws_names(w), "roles", arr)) == NULL) {
		sign_failf("out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (ws_get(w, roles[i]->name, &r, &err) != 0 ||
		    (o = request_role(w, r, &err)) == NULL) {
			if (err.code == 0)
				sign_failf("out of memory");
			else
				sign_fail(roles[i]->name, &err);
			goto done;
		}
		if (json_array_append_new(arr, o) != 0 ||
		    fp_line(fp, r->name, (long long)r->stg->version,
		    ferry_json_cstr(json_object_get(o, "sha256"))) != 0) {
			sign_failf("out of memory");
			goto done;
		}
	}
	if (fp_final(fp, fingerprint) != 0) {
		sign_failf("hashing failed");
		goto done;
	}
	if (sign_write_json(out, doc, 0644, 1, &err) != 0) {
		sign_fail(out, &err);
		goto done;
	}
	printf("wrote %s: %zu role%s to sign:", out, n, n == 1 ? "" : "s");
	for (i = 0; i < n && i < 8; i++)
		printf(" %s v%lld", roles[i]->name,
		    (long long)roles[i]->stg->version);
	printf("%s\nrequest fingerprint %s\n", n > 8 ? " ..." : "",
	    fingerprint);
	rc = 0;
 done:
	ferry_hash_free(fp);
	json_decref(doc);
	free(roles);
	ws_free(w);
	return rc;
}

/* --- sign --------------------------------------------------------------- */

static const char sign_usage[] =
    "usage: ferry-sign sign --key KEYFILE [--passphrase-fd N] [-o SIGFILE]\n"
    "                       REQUEST\n"
    "\n"
    "Check REQUEST, show what it asks to sign, and sign every role in it\n"
    "that KEYFILE's key can sign, into SIGFILE (default: REQUEST.KEYID8.sig).\n"
    "No workspace is needed.\n"
    "\n"
    "  --key KEYFILE        the private key file\n"
    "  --passphrase-fd N    read its passphrase from descriptor N\n"
    "  -o SIGFILE           where to write the signatures\n";

struct to_sign {
	const char *role;
	int64_t version;
	const char *sha256;
	unsigned char *canon;
	size_t canonlen;
	struct ferry_meta *md;
};

/* key ids, in full, with names when the request gives them */
static void
print_keys(const struct ferry_role *fr, const json_t *names)
{
	const char *nm;
	size_t j;

	fprintf(stderr, "threshold %llu of %zu:",
	    (unsigned long long)fr->threshold, fr->nkeyids);
	for (j = 0; j < fr->nkeyids; j++) {
		nm = ferry_json_cstr(json_object_get(names, fr->keyids[j]));
		fprintf(stderr, "\n        %s%s%s%s", fr->keyids[j],
		    nm ? " (" : "", nm ? nm : "", nm ? ")" : "");
	}
	fputc('\n', stderr);
}

/* Whether the delegations are uniform hash bins: same keys, threshold. */
static int
uniform_bins(const struct ferry_delegations *d)
{
	const struct ferry_role *a = &d->roles[0], *b;
	size_t i, j;

	if (d->nroles < 8)
		return 0;
	for (i = 0; i < d->nroles; i++) {
		b = &d->roles[i];
		if (b->path_hash_prefixes == NULL || b->paths != NULL ||
		    b->threshold != a->threshold || b->terminating !=
		    a->terminating || b->nkeyids != a->nkeyids)
			return 0;
		for (j = 0; j < a->nkeyids; j++)
			if (strcmp(a->keyids[j], b->keyids[j]) != 0)
				return 0;
	}
	return 1;
}

static void
print_patterns(const json_t *a)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		fprintf(stderr, " %s", ferry_json_cstr(json_array_get(a, i)));
}

/* What a key holder is asked to sign, in full but for target entries. */
static void
describe(const struct to_sign *t, const json_t *names)
{
	const struct ferry_meta *md = t->md;
	const struct ferry_delegations *d = md->delegations;
	const struct ferry_role *fr;
	size_t i;

	fprintf(stderr, "  %s v%lld, expires %s\n    sha256 %s\n", t->role,
	    (long long)t->version, md->expires_str, t->sha256);
	if (md->type == FERRY_META_ROOT) {
		for (i = 0; i < FERRY_META_NTYPES; i++) {
			fprintf(stderr, "    %-9s ",
			    ferry_meta_type_name((enum ferry_meta_type)i));
			print_keys(&md->roles[i], names);
		}
		return;
	}
	fprintf(stderr, "    %zu target%s\n", json_object_size(md->targets),
	    json_object_size(md->targets) == 1 ? "" : "s");
	if (d == NULL)
		return;
	if (d->succinct) {
		fprintf(stderr, "    delegates every path to %llu succinct hash "
		    "bins %s-*, ", 1ULL << d->bins.bit_length,
		    d->bins.name_prefix);
		print_keys(&d->bins.role, names);
		return;
	}
	if (uniform_bins(d)) {
		fprintf(stderr, "    delegates to %zu hash bins %s .. %s by "
		    "path hash prefix, ", d->nroles, d->roles[0].name,
		    d->roles[d->nroles - 1].name);
		print_keys(&d->roles[0], names);
		return;
	}
	for (i = 0; i < d->nroles; i++) {
		fr = &d->roles[i];
		fprintf(stderr, "    delegates %s%s:", fr->name,
		    fr->terminating ? " (terminating)" : "");
		if (fr->paths != NULL) {
			fprintf(stderr, " paths");
			print_patterns(fr->paths);
		} else {
			fprintf(stderr, " path hash prefixes");
			print_patterns(fr->path_hash_prefixes);
		}
		fprintf(stderr, ",\n      ");
		print_keys(fr, names);
	}
}

/*
 * Check one role of a request; *mine is set if keyid can sign it.  Every
 * check names the request file and the role.
 */
static int
check_request_role(const char *file, const json_t *o, const char *keyid,
    struct to_sign *t, int *mine)
{
	static const char *const fields[] = { "role", "version", "sha256",
	    "signed", "thresholds", NULL };
	static const char *const tfields[] = { "of", "threshold", "keys",
	    NULL };
	struct ferry_error err = { 0 };
	char hex[FERRY_HASH_MAX * 2 + 1], kid[FERRY_KEYID_HEXLEN + 1];
	const json_t *thr, *th, *keys, *v, *sg;
	const char *k, *bad;
	size_t i;

	*mine = 0;
	if (!json_is_object(o))
		return sign_failf("%s: roles: each must be an object", file);
	t->role = ferry_json_cstr(json_object_get(o, "role"));
	if (t->role == NULL)
		return sign_failf("%s: roles: role: must be a string", file);
	if (!role_name_ok(t->role))
		return sign_failf("%s: roles: a role name must be letters, "
		    "digits, '.', '_' or '-'", file);
	if ((bad = unknown_field(o, fields)) != NULL)
		return sign_failf("%s: %.128s: unknown field \"%.64s\"", file,
		    t->role, bad);
	v = json_object_get(o, "version");
	t->sha256 = ferry_json_cstr(json_object_get(o, "sha256"));
	sg = json_object_get(o, "signed");
	thr = json_object_get(o, "thresholds");
	if (!json_is_integer(v) || !is_hex(t->sha256, 64) ||
	    !json_is_object(sg) || !json_is_array(thr) ||
	    json_array_size(thr) == 0)
		return sign_failf("%s: %.128s: needs version, sha256 (64 hex "
		    "digits), signed and thresholds", file, t->role);
	t->version = json_integer_value(v);
	if (ferry_json_canonical(sg, &t->canon, &t->canonlen, &err) != 0)
		return sign_fail(file, &err);
	if (sha256_hex(t->canon, t->canonlen, hex) != 0)
		return sign_failf("%s: hashing failed", file);
	if (strcmp(hex, t->sha256) != 0)
		return sign_failf("%s: %.128s: the signed part's SHA-256 is %s, "
		    "not the %s the request states: the request was altered",
		    file, t->role, hex, t->sha256);
	if (ferry_meta_from_signed((json_t *)sg, &t->md, &err) != 0)
		return sign_failf("%s: %.128s: not valid metadata: %s", file,
		    t->role, ferry_error_msg(&err));
	if (ws_keys_bound(t->md, &err) != 0)
		return sign_failf("%s: %.128s: %s", file, t->role,
		    ferry_error_msg(&err));
	if (t->md->type != (strcmp(t->role, "root") == 0 ? FERRY_META_ROOT :
	    FERRY_META_TARGETS) || t->md->version != t->version)
		return sign_failf("%s: %.128s: the signed part is %s v%lld, "
		    "which does not match", file, t->role,
		    ferry_meta_type_name(t->md->type),
		    (long long)t->md->version);
	for (i = 0; i < json_array_size(thr); i++) {
		th = json_array_get(thr, i);
		keys = json_object_get(th, "keys");
		if (!json_is_object(th) || unknown_field(th, tfields) != NULL ||
		    !json_is_object(keys) ||
		    ferry_json_cstr(json_object_get(th, "of")) == NULL ||
		    !json_is_integer(json_object_get(th, "threshold")))
			return sign_failf("%s: %.128s: thresholds[%zu]: needs "
			    "of, threshold and keys, and nothing else", file,
			    t->role, i);
		json_object_foreach((json_t *)keys, k, v) {
			if (ferry_keyid(v, kid, &err) != 0 ||
			    strcmp(kid, k) != 0)
				return sign_failf("%s: %.128s: thresholds[%zu]: "
				    "key %.64s: not the key id of its key",
				    file, t->role, i, k);
			if (strcmp(k, keyid) == 0)
				*mine = 1;
		}
	}
	return 0;
}

/* REQUEST with ".KEYID8.sig" added. */
static char *
default_sigfile(const char *req, const char *keyid)
{
	size_t n = strlen(req) + 16;
	char *p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s.%.8s.sig", req, keyid);
	return p;
}

int
cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "passphrase-fd", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ferry_error err = { 0 };
	const char *keyfile = NULL, *out = NULL, *req, *keyid, *nm;
	char sighex[FERRY_ED25519_SIG_HEXLEN + 1], created[32];
	struct to_sign *ts = NULL;
	struct ferry_seckey *k = NULL;
	json_t *doc = NULL, *kf = NULL, *pub = NULL, *roles, *sigs = NULL;
	json_t *sdoc = NULL, *e, *seen = NULL;
	struct ferry_hash *fp = NULL;
	char fingerprint[2 * FERRY_HASH_MAX + 1];
	size_t nroles = 0, nmine = 0, i, j;
	char *sigfile = NULL;
	int c, pfd = -1, rc = 2, mine;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keyfile = optarg;
			break;
		case 'p':
			if ((pfd = sign_parse_fd("--passphrase-fd",
			    optarg)) < 0)
				return 2;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(sign_usage, stdout);
			return 0;
		default:
			fputs(sign_usage, stderr);
			return 2;
		}
	}
	if (keyfile == NULL || optind != argc - 1) {
		fputs(sign_usage, stderr);
		return 2;
	}
	req = argv[optind];
	rc = 1;
	/* The public half first: no passphrase for a request it cannot sign. */
	if (ferry_keyfile_read(keyfile, &kf, &err) != 0 ||
	    ferry_keyfile_public(kf, &pub, &keyid, &err) != 0) {
		sign_fail(keyfile, &err);
		goto out;
	}
	if (ferry_json_parse_file(req, REQUEST_MAX, &doc, &err) != 0) {
		sign_fail(req, &err);
		goto out;
	}
	if (check_header(req, doc, "ferry-sign-request") != 0)
		goto out;
	{
		static const char *const fields[] = { "_type", "format",
		    "created", "names", "roles", NULL };
		const char *bad = unknown_field(doc, fields);

		if (bad != NULL) {
			sign_failf("%s: unknown field \"%.64s\"", req, bad);
			goto out;
		}
	}
	roles = json_object_get(doc, "roles");
	if (!json_is_array(roles) || json_array_size(roles) == 0) {
		sign_failf("%s: roles: must be a non-empty array", req);
		goto out;
	}
	nroles = json_array_size(roles);
	if ((ts = calloc(nroles, sizeof(*ts))) == NULL) {
		sign_failf("out of memory");
		goto out;
	}
	{
		const char *kid;
		json_t *v;

		json_object_foreach(json_object_get(doc, "names"), kid, v) {
			const char *p = ferry_json_cstr(v);

			for (; p != NULL && *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					break;
			if (p == NULL || *p != '\0' ||
			    !is_hex(kid, FERRY_KEYID_HEXLEN)) {
				sign_failf("%s: names: each must map a key id "
				    "to a name without control characters",
				    req);
				goto out;
			}
		}
	}
	if ((seen = json_object()) == NULL ||
	    ferry_hash_new(FERRY_HASH_SHA256, &fp) != 0) {
		sign_failf("out of memory");
		goto out;
	}
	for (i = 0, j = 0; i < nroles; i++) {
		if (check_request_role(req, json_array_get(roles, i), keyid,
		    &ts[j], &mine) != 0) {
			nroles = j + 1;
			goto out;
		}
		if (json_object_get(seen, ts[j].role) != NULL) {
			sign_failf("%s: %s: listed twice", req, ts[j].role);
			nroles = j + 1;
			goto out;
		}
		if (json_object_set_new(seen, ts[j].role, json_true()) != 0 ||
		    fp_line(fp, ts[j].role, (long long)ts[j].version,
		    ts[j].sha256) != 0) {
			sign_failf("out of memory");
			nroles = j + 1;
			goto out;
		}
		if (mine)
			j++;
		else {
			free(ts[j].canon);
			ferry_meta_free(ts[j].md);
			memset(&ts[j], 0, sizeof(ts[j]));
		}
	}
	if (fp_final(fp, fingerprint) != 0) {
		sign_failf("hashing failed");
		goto out;
	}
	nmine = j;
	nroles = j;
	nm = ferry_json_cstr(json_object_get(json_object_get(doc, "names"),
	    keyid));
	if (nmine == 0) {
		sign_failf("%s: key %s%s%s%s is not a key of any role in %s",
		    keyfile, keyid, nm ? " (" : "", nm ? nm : "", nm ? ")" : "",
		    req);
		goto out;
	}
	fprintf(stderr, "%s asks key %.8s%s%s%s to sign %zu role%s:\n", req,
	    keyid, nm ? " (" : "", nm ? nm : "", nm ? ")" : "", nmine,
	    nmine == 1 ? "" : "s");
	for (i = 0; i < nmine; i++)
		describe(&ts[i], json_object_get(doc, "names"));
	fprintf(stderr, "request fingerprint %s\n(compare it with the one "
	    "`ferry-sign request` printed)\n", fingerprint);
	if (sign_open_key(keyfile, pfd, NULL, &k, &err) != 0) {
		sign_fail(keyfile, &err);
		goto out;
	}
	if ((sigs = json_array()) == NULL) {
		sign_failf("out of memory");
		goto out;
	}
	for (i = 0; i < nmine; i++) {
		if (ferry_seckey_sign(k, ts[i].canon, ts[i].canonlen,
		    sighex) != 0) {
			sign_failf("%s: signing failed", ts[i].role);
			goto out;
		}
		if ((e = json_pack("{s:s, s:I, s:s, s:s}", "role", ts[i].role,
		    "version", (json_int_t)ts[i].version, "sha256",
		    ts[i].sha256, "sig", sighex)) == NULL ||
		    json_array_append_new(sigs, e) != 0) {
			sign_failf("out of memory");
			goto out;
		}
	}
	ferry_seckey_free(k);
	k = NULL;
	sign_now_str(created, sizeof(created));
	if ((sdoc = json_pack("{s:s, s:i, s:s, s:s, s:O}", "_type",
	    "ferry-sign-signatures", "format", 1, "created", created, "keyid",
	    keyid, "signatures", sigs)) == NULL ||
	    (sigfile = out != NULL ? strdup(out) :
	    default_sigfile(req, keyid)) == NULL) {
		sign_failf("out of memory");
		goto out;
	}
	if (sign_write_json(sigfile, sdoc, 0644, 1, &err) != 0) {
		sign_fail(sigfile, &err);
		goto out;
	}
	printf("signed %zu role%s with %.8s: wrote %s\n", nmine,
	    nmine == 1 ? "" : "s", keyid, sigfile);
	rc = 0;
 out:
	ferry_seckey_free(k);
	for (i = 0; ts != NULL && i < nroles; i++) {
		free(ts[i].canon);
		ferry_meta_free(ts[i].md);
	}
	free(ts);
	free(sigfile);
	json_decref(sigs);
	json_decref(sdoc);
	json_decref(pub);
	json_decref(kf);
	json_decref(doc);
	json_decref(seen);
	ferry_hash_free(fp);
	return rc;
}

/* --- merge -------------------------------------------------------------- */

static const char merge_usage[] =
    "usage: ferry-sign merge [-C DIR] SIGFILE...\n"
    "\n"
    "Check every signature in each SIGFILE against the staged roles and\n"
    "add them; one bad signature refuses the whole merge.  Then report,\n"
    "per role and threshold, how many valid signatures there are and\n"
    "whose are missing.\n";

struct pending {
	struct ws_role *r;
	const char *keyid, *sig;
};

/* Check one signature entry e of file; on success fill p. */
static int
check_sig(struct ws *w, const char *file, const char *keyid, const json_t *e,
    struct pending *p)
{
	static const char *const fields[] = { "role", "version", "sha256",
	    "sig", NULL };
	struct ferry_error err = { 0 };
	struct ws_need needs[WS_MAXNEEDS];
	char hex[FERRY_HASH_MAX * 2 + 1];
	const struct ferry_key *key = NULL;
	const char *role, *sha, *sig;
	struct ws_role *r;
	size_t n, i, j;
	int complete;
	json_int_t v;

	role = ferry_json_cstr(json_object_get(e, "role"));
	sha = ferry_json_cstr(json_object_get(e, "sha256"));
	sig = ferry_json_cstr(json_object_get(e, "sig"));
	if (!json_is_object(e) || role == NULL || !is_hex(sha, 64) ||
	    !is_hex(sig, FERRY_ED25519_SIG_HEXLEN) ||
	    !json_is_integer(json_object_get(e, "version")) ||
	    unknown_field(e, fields) != NULL)
		return sign_failf("%s: signatures: each needs role, version, "
		    "sha256 and sig (128 hex digits), and nothing else", file);
	v = json_integer_value(json_object_get(e, "version"));
	if (ws_get(w, role, &r, &err) != 0 || r->stg == NULL)
		return sign_failf("%s: %.128s v%lld: the workspace has no "
		    "staged %.128s", file, role, (long long)v, role);
	if (r->stg->version != v)
		return sign_failf("%s: %s v%lld: the staged %s is v%lld", file,
		    role, (long long)v, role, (long long)r->stg->version);
	if (sha256_hex(r->stg->canon, r->stg->canonlen, hex) != 0)
		return sign_failf("hashing failed");
	if (strcmp(hex, sha) != 0)
		return sign_failf("%s: %s v%lld: signed different bytes (SHA-256 "
		    "%.16s...) than the staged %s (%.16s...): it was edited "
		    "since the request was written", file, role, (long long)v,
		    sha, role, hex);
	if (ws_needs(w, r, r->stg, needs, &n, &complete, &err) != 0)
		return sign_fail(role, &err);
	for (i = 0; i < n && key == NULL; i++)
		for (j = 0; j < needs[i].role->nkeyids && key == NULL; j++)
			if (strcmp(needs[i].role->keyids[j], keyid) == 0)
				key = ferry_keyring_find(needs[i].ring, keyid);
	if (key == NULL)
		return sign_failf("%s: %s v%lld: key %s is not a key that can "
		    "sign it", file, role, (long long)v, keyid);
	if (ferry_key_verify(key, r->stg->canon, r->stg->canonlen, sig) != 0)
		return sign_failf("%s: %s v%lld: the signature by %.8s does not "
		    "verify", file, role, (long long)v, keyid);
	p->r = r;
	p->keyid = keyid;
	p->sig = sig;
	return 0;
}

int
cmd_merge(int argc, char **argv)
{
	static const char *const fields[] = { "_type", "format", "created",
	    "keyid", "signatures", NULL };
	struct ferry_error err = { 0 };
	const char *dir = ".", *keyid, *bad;
	struct pending *pend = NULL;
	struct ws_role **touched = NULL;
	size_t npend = 0, cap = 0, ntouched = 0, i, j, ncomplete;
	json_t **docs = NULL, *sigs;
	struct ws *w = NULL;
	int c, f, nfiles, rc = 2;

	if ((c = sign_dir_only(argc, argv, merge_usage, &dir)) >= 0)
		return c;
	if (optind == argc) {
		fputs(merge_usage, stderr);
		return 2;
	}
	rc = 1;
	nfiles = argc - optind;
	if ((docs = calloc((size_t)nfiles, sizeof(*docs))) == NULL) {
		sign_failf("out of memory");
		goto out;
	}
	if (sign_open_ws(dir, &w) != 0)
		goto out;
	for (f = 0; f < nfiles; f++) {
		const char *file = argv[optind + f];

		if (ferry_json_parse_file(file, SIGFILE_MAX, &docs[f],
		    &err) != 0) {
			sign_fail(file, &err);
			goto out;
		}
		if (check_header(file, docs[f], "ferry-sign-signatures") != 0)
			goto out;
		if ((bad = unknown_field(docs[f], fields)) != NULL) {
			sign_failf("%s: unknown field \"%.64s\"", file, bad);
			goto out;
		}
		keyid = ferry_json_cstr(json_object_get(docs[f], "keyid"));
		sigs = json_object_get(docs[f], "signatures");
		if (!is_hex(keyid, FERRY_KEYID_HEXLEN) || !json_is_array(sigs) ||
		    json_array_size(sigs) == 0) {
			sign_failf("%s: needs keyid (64 hex digits) and a "
			    "non-empty signatures array", file);
			goto out;
		}
		for (i = 0; i < json_array_size(sigs); i++) {
			if (npend == cap) {
				struct pending *np;

				cap = cap ? cap * 2 : 64;
				if ((np = realloc(pend, cap *
				    sizeof(*np))) == NULL) {
					sign_failf("out of memory");
					goto out;
				}
				pend = np;
			}
			if (check_sig(w, file, keyid, json_array_get(sigs, i),
			    &pend[npend]) != 0) {
				fprintf(stderr, "ferry-sign: nothing was merged; "
				    "leave %s out to merge the others\n", file);
				goto out;
			}
			npend++;
		}
	}
	/* Every file checked: now change the workspace. */
	if ((touched = calloc(npend, sizeof(*touched))) == NULL) {
		sign_failf("out of memory");
		goto out;
	}
	for (i = 0; i < npend; i++) {
		if (ws_add_signature(w, pend[i].r, pend[i].keyid, pend[i].sig,
		    &err) != 0) {
			sign_fail(pend[i].r->name, &err);
			goto out;
		}
		for (j = 0; j < ntouched && touched[j] != pend[i].r; j++)
			;
		if (j == ntouched)
			touched[ntouched++] = pend[i].r;
	}
	if (ws_save(w, &err) != 0) {
		sign_fail(dir, &err);
		goto out;
	}
	printf("merged %zu signature%s from %d file%s\n", npend,
	    npend == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s");
	if (report(w, touched, ntouched, &ncomplete) != 0)
		goto out;
	rc = 0;
 out:
	for (f = 0; docs != NULL && f < nfiles; f++)
		json_decref(docs[f]);
	free(docs);
	free(pend);
	free(touched);
	ws_free(w);
	return rc;
}

/* --- status ------------------------------------------------------------- */

static const char status_usage[] =
    "usage: ferry-sign status [-C DIR]\n"
    "\n"
    "Report every staged role (signatures against each threshold, and\n"
    "whose are missing) and the version and expiry of the complete ones.\n";

int
sign_report_staged(struct ws *w, size_t *nstaged, size_t *ncomplete)
{
	struct ws_role **roles;
	int rc;

	if ((roles = staged_roles(w, nstaged)) == NULL)
		return sign_failf("out of memory");
	rc = report(w, roles, *nstaged, ncomplete);
	free(roles);
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	struct ws_role *const *all;
	const char *dir = ".";
	struct ws *w = NULL;
	size_t n, i, nstaged, ncomplete, ncur = 0;
	struct ferry_meta *const *roots;
	int c, rc = 1;

	if ((c = sign_dir_only(argc, argv, status_usage, &dir)) >= 0)
		return c;
	if (optind != argc) {
		fputs(status_usage, stderr);
		return 2;
	}
	if (sign_open_ws(dir, &w) != 0)
		return 1;
	roots = ws_roots(w, &n);
	if (n > 0)
		printf("complete: root v%lld, expires %s\n",
		    (long long)roots[n - 1]->version, roots[n - 1]->expires_str);
	all = ws_roles(w, &n);
	for (i = 0; i < n; i++) {
		if (!all[i]->have_cur)
			continue;
		if (++ncur > REPORT_LINES)
			continue;
		{
			struct ferry_error err = { 0 };
			struct ws_role *r;

			if (ws_get(w, all[i]->name, &r, &err) != 0) {
				sign_fail(all[i]->name, &err);
				goto out;
			}
			printf("complete: %s v%lld, expires %s\n", r->name,
			    (long long)r->cur->version, r->cur->expires_str);
		}
	}
	if (ncur > REPORT_LINES)
		printf("complete: ... %zu roles in all\n", ncur);
	if (sign_report_staged(w, &nstaged, &ncomplete) != 0)
		goto out;
	if (nstaged == 0)
		printf("nothing is staged\n");
	else if (ncomplete == nstaged)
		printf("every staged role is complete: next, ferry-sign "
		    "bundle\n");
	rc = 0;
 out:
	ws_free(w);
	return rc;
}

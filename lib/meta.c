#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "json.h"
#include "meta_int.h"

static const char *const type_names[FERRY_META_NTYPES] = {
	[FERRY_META_ROOT] = "root",
	[FERRY_META_TARGETS] = "targets",
	[FERRY_META_SNAPSHOT] = "snapshot",
	[FERRY_META_TIMESTAMP] = "timestamp",
};

const char *
ferry_meta_type_name(enum ferry_meta_type t)
{
	return (unsigned)t < FERRY_META_NTYPES ? type_names[t] : "unknown";
}

int
ferry_meta_type_from_name(const char *name, enum ferry_meta_type *out)
{
	int i;

	for (i = 0; name != NULL && i < FERRY_META_NTYPES; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum ferry_meta_type)i;
			return 0;
		}
	}
	return FERRY_ERR_META_TYPE;
}

/* Time: days from the civil date, proleptic Gregorian, no time zones. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
ferry_meta_parse_time(const char *s, int64_t *out)
{
	static const unsigned mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	unsigned y, mo, d, h, mi, se;

	if (s == NULL || out == NULL || strlen(s) != 20 ||
	    s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z' ||
	    digits(s, 4, &y) != 0 || digits(s + 5, 2, &mo) != 0 ||
	    digits(s + 8, 2, &d) != 0 || digits(s + 11, 2, &h) != 0 ||
	    digits(s + 14, 2, &mi) != 0 || digits(s + 17, 2, &se) != 0)
		return FERRY_ERR_META_FIELD;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || se > 59)
		return FERRY_ERR_META_FIELD;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return FERRY_ERR_META_FIELD;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

int
ferry_meta_format_time(int64_t t, char *out, size_t outlen)
{
	int64_t days, z, era, y;
	unsigned doe, yoe, doy, mp, d, m, secs;
	int n;

	/* Years 0000..9999 only: what the parser accepts. */
	if (out == NULL || t < -62167219200 || t > 253402300799)
		return FERRY_ERR_INVALID_ARG;
	days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	secs = (unsigned)(t - days * 86400);
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	n = snprintf(out, outlen, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
	    (long long)y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
	if (n < 0 || (size_t)n >= outlen)
		return FERRY_ERR_INVALID_ARG;
	return 0;
}

int
meta_get_int(const json_t *obj, const char *name, const char *where,
    int64_t min, int64_t *out, struct ferry_error *err)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.%s: missing", where, name);
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.%s: must be an integer >= %lld", where, name,
		    (long long)min);
	*out = json_integer_value(v);
	return 0;
}

int
meta_check_hashes(const json_t *h, const char *where, struct ferry_error *err)
{
	const char *alg;
	json_t *v;

	if (!json_is_object(h) || json_object_size(h) == 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s: must be a non-empty object", where);
	json_object_foreach((json_t *)h, alg, v) {
		if (ferry_json_cstr(v) == NULL)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s.%.64s: must be a string", where, alg);
	}
	return 0;
}

static int
keyring_cmp(const void *a, const void *b)
{
	const struct ferry_keyring_entry *x = a, *y = b;

	return strcmp(x->keyid, y->keyid);
}

int
meta_keyring_parse(const json_t *keys, const char *where,
    struct ferry_keyring *ring, struct ferry_error *err)
{
	const char *keyid;
	json_t *k;
	size_t n;
	int r;

	memset(ring, 0, sizeof(*ring));
	if (!json_is_object(keys))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s: must be an object", where);
	if ((n = json_object_size(keys)) == 0)
		return 0;
	if ((ring->e = calloc(n, sizeof(*ring->e))) == NULL)
		return FERRY_ERR_NOMEM;
	json_object_foreach((json_t *)keys, keyid, k) {
		struct ferry_error kerr;

		ferry_error_clear(&kerr);
		if (ring->n >= n) {
			r = FERRY_ERR_INTERNAL;
			goto fail;
		}
		if ((r = ferry_key_from_json(k, &ring->e[ring->n].key,
		    &kerr)) != 0) {
			r = ferry_error_set(err, r, "%s.%.80s.%s", where,
			    keyid, ferry_error_msg(&kerr));
			goto fail;
		}
		ring->e[ring->n++].keyid = keyid;
	}
	qsort(ring->e, ring->n, sizeof(*ring->e), keyring_cmp);
	return 0;
 fail:
	meta_keyring_clear(ring);
	return r;
}

void
meta_keyring_clear(struct ferry_keyring *ring)
{
	size_t i;

	if (ring == NULL)
		return;
	for (i = 0; i < ring->n; i++)
		ferry_key_free(ring->e[i].key);
	free(ring->e);
	memset(ring, 0, sizeof(*ring));
}

const struct ferry_key *
ferry_keyring_find(const struct ferry_keyring *ring, const char *keyid)
{
	struct ferry_keyring_entry want, *e;

	if (ring == NULL || keyid == NULL || ring->n == 0)
		return NULL;
	want.keyid = keyid;
	e = bsearch(&want, ring->e, ring->n, sizeof(*ring->e), keyring_cmp);
	return e == NULL ? NULL : e->key;
}

int
meta_role_parse(const json_t *o, const char *where, struct ferry_role *r,
    struct ferry_error *err)
{
	const char *dup;
	json_t *ids;
	int64_t th;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s: must be an object", where);
	if (!json_is_array(ids = json_object_get(o, "keyids")))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.keyids: must be an array", where);
	if ((rc = meta_get_int(o, "threshold", where, 1, &th, err)) != 0)
		return rc;
	r->threshold = (uint64_t)th;
	r->nkeyids = json_array_size(ids);
	if (r->nkeyids > 0 &&
	    (r->keyids = calloc(r->nkeyids, sizeof(*r->keyids))) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < r->nkeyids; i++) {
		r->keyids[i] = ferry_json_cstr(json_array_get(ids, i));
		if (r->keyids[i] == NULL) {
			rc = ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s.keyids[%zu]: must be a string", where, i);
			goto fail;
		}
	}
	if ((rc = meta_find_duplicate(r->keyids, r->nkeyids, &dup)) != 0) {
		if (rc > 0)
			rc = ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s.keyids: %.80s listed twice", where, dup);
		goto fail;
	}
	return 0;
 fail:
	meta_role_clear(r);
	return rc;
}

void
meta_role_clear(struct ferry_role *r)
{
	if (r == NULL)
		return;
	free(r->keyids);
	memset(r, 0, sizeof(*r));
}

static int
strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
meta_find_duplicate(const char *const *v, size_t n, const char **dup)
{
	const char **sorted;
	size_t i;
	int r = 0;

	*dup = NULL;
	if (n < 2)
		return 0;
	/* Sort a copy: O(n log n) on input nobody has authenticated yet. */
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
		return FERRY_ERR_NOMEM;
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), strptr_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			*dup = sorted[i];
			r = 1;
			break;
		}
	}
	free(sorted);
	return r;
}

/*
 * Parse the signatures array sigs into a new array of views borrowing
 * from it.  Duplicate key ids are refused, as python-tuf and tuf-js do:
 * each would otherwise cost a verification, and never count twice.
 */
static int
parse_signatures(const json_t *sigs, struct ferry_sig **out, size_t *nout,
    struct ferry_error *err)
{
	struct ferry_sig *v = NULL;
	const char **ids = NULL, *dup;
	json_t *s;
	size_t i, n;
	int r = FERRY_ERR_NOMEM;

	if (!json_is_array(sigs))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signatures: must be an array");
	n = json_array_size(sigs);
	if (n > 0 && ((v = calloc(n, sizeof(*v))) == NULL ||
	    (ids = calloc(n, sizeof(*ids))) == NULL))
		goto fail;
	for (i = 0; i < n; i++) {
		s = json_array_get(sigs, i);
		if (!json_is_object(s) ||
		    (v[i].keyid = ferry_json_cstr(json_object_get(s,
		    "keyid"))) == NULL ||
		    (v[i].sig = ferry_json_cstr(json_object_get(s,
		    "sig"))) == NULL) {
			r = ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "signatures[%zu]: must be an object with string "
			    "keyid and sig", i);
			goto fail;
		}
		ids[i] = v[i].keyid;
	}
	if ((r = meta_find_duplicate(ids, n, &dup)) != 0) {
		if (r > 0)
			r = ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "signatures: more than one signature by key id "
			    "%.80s", dup);
		goto fail;
	}
	free(ids);
	*out = v;
	*nout = n;
	return 0;
 fail:
	free(ids);
	free(v);
	return r;
}

static int
check_spec_version(const char *v)
{
	const char *p = v;
	int parts = 0;

	/* "1.N" or "1.N.M", digits only: any 1.x is readable, 2.x is not. */
	for (;;) {
		if (*p < '0' || *p > '9')
			return FERRY_ERR_META_FIELD;
		while (*p >= '0' && *p <= '9')
			p++;
		parts++;
		if (*p == '\0')
			break;
		if (*p++ != '.')
			return FERRY_ERR_META_FIELD;
	}
	if (parts < 2 || parts > 3)
		return FERRY_ERR_META_FIELD;
	if (v[0] != '1' || v[1] != '.')
		return FERRY_ERR_SPEC_VERSION;
	return 0;
}

static int
parse_root(struct ferry_meta *md, struct ferry_error *err)
{
	json_t *roles, *cs;
	char where[64];
	int i, r;

	if ((r = meta_keyring_parse(json_object_get(md->signed_obj, "keys"),
	    "signed.keys", &md->keys, err)) != 0)
		return r;
	if (!json_is_object(roles = json_object_get(md->signed_obj, "roles")))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.roles: must be an object");
	for (i = 0; i < FERRY_META_NTYPES; i++) {
		snprintf(where, sizeof(where), "signed.roles.%s",
		    type_names[i]);
		if (json_object_get(roles, type_names[i]) == NULL)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s: missing", where);
		if ((r = meta_role_parse(json_object_get(roles,
		    type_names[i]), where, &md->roles[i], err)) != 0)
			return r;
		md->roles[i].name = type_names[i];
	}
	/* As python-tuf: root delegates the four top-level roles, no more. */
	if (json_object_size(roles) != FERRY_META_NTYPES) {
		enum ferry_meta_type t;
		const char *name;
		json_t *v;

		json_object_foreach(roles, name, v) {
			if (ferry_meta_type_from_name(name, &t) != 0)
				return ferry_error_set(err,
				    FERRY_ERR_META_FIELD, "signed.roles: "
				    "unknown role \"%.80s\"", name);
		}
	}
	md->consistent_snapshot = -1;
	if ((cs = json_object_get(md->signed_obj,
	    "consistent_snapshot")) != NULL) {
		if (!json_is_boolean(cs))
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "signed.consistent_snapshot: must be a boolean");
		md->consistent_snapshot = json_is_true(cs);
	}
	return 0;
}

static int
parse_metafile(const json_t *o, const char *where, struct ferry_metafile *out,
    struct ferry_error *err)
{
	struct ferry_metafile mf;
	json_t *h;
	int r;

	if (!json_is_object(o))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s: must be an object", where);
	if ((r = meta_get_int(o, "version", where, 1, &mf.version, err)) != 0)
		return r;
	mf.length = -1;
	if (json_object_get(o, "length") != NULL &&
	    (r = meta_get_int(o, "length", where, 0, &mf.length, err)) != 0)
		return r;
	mf.hashes = NULL;
	if ((h = json_object_get(o, "hashes")) != NULL) {
		char hw[320];

		/* The location is formatted only if the check fails. */
		if (meta_check_hashes(h, "hashes", NULL) != 0) {
			snprintf(hw, sizeof(hw), "%s.hashes", where);
			r = meta_check_hashes(h, hw, err);
			return r != 0 ? r : FERRY_ERR_INTERNAL;
		}
		mf.hashes = h;
	}
	*out = mf;
	return 0;
}

static int
parse_meta_map(struct ferry_meta *md, struct ferry_error *err)
{
	struct ferry_metafile mf;
	const char *name;
	char where[300];
	json_t *v;
	int r;

	md->meta = json_object_get(md->signed_obj, "meta");
	if (!json_is_object(md->meta))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.meta: must be an object");
	if (md->type == FERRY_META_TIMESTAMP &&
	    json_object_get(md->meta, "snapshot.json") == NULL)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.meta.snapshot.json: missing");
	/*
	 * A snapshot may list tens of thousands of files: each entry is
	 * checked without its location, and only one that fails is checked
	 * again with "signed.meta.NAME" formatted for the error.
	 */
	json_object_foreach((json_t *)md->meta, name, v) {
		if (parse_metafile(v, "signed.meta", &mf, NULL) == 0)
			continue;
		snprintf(where, sizeof(where), "signed.meta.%.200s", name);
		r = parse_metafile(v, where, &mf, err);
		return r != 0 ? r : FERRY_ERR_INTERNAL;
	}
	return 0;
}

/* Release everything the view built, but not the document. */
static void
view_clear(struct ferry_meta *md)
{
	int i;

	free(md->sigs);
	free(md->canon);
	meta_keyring_clear(&md->keys);
	for (i = 0; i < FERRY_META_NTYPES; i++)
		meta_role_clear(&md->roles[i]);
	meta_delegations_free(md->delegations);
	md->sigs = NULL;
	md->nsigs = 0;
	md->canon = NULL;
	md->delegations = NULL;
	md->targets = NULL;
	md->meta = NULL;
}

/*
 * Canonicalise "signed" (kept: it is what signatures cover) and check that
 * the rest of the document could be canonicalised too, so that whatever
 * parses can also be serialised and signed again: no reals, no nesting
 * past the limit anywhere in the document.
 */
static int
check_encodable(struct ferry_meta *md, struct ferry_error *err)
{
	unsigned char *tmp;
	const char *k;
	char where[80];
	size_t n;
	json_t *v;
	int r;

	json_object_foreach(md->doc, k, v) {
		if (v == md->signed_obj)
			continue;
		snprintf(where, sizeof(where), "$.%.64s", k);
		if ((r = ferry_json_canonical_at(v, where, 1, &tmp, &n,
		    err)) != 0)
			return r;
		free(tmp);
	}
	return ferry_json_canonical_at(md->signed_obj, "$.signed", 1,
	    &md->canon, &md->canonlen, err);
}

/* Build the whole view of md->doc. */
static int
view_build(struct ferry_meta *md, struct ferry_error *err)
{
	const char *type;
	json_t *sg;
	int r;

	if (!json_is_object(md->doc))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "metadata: must be a JSON object");
	if (!json_is_object(sg = json_object_get(md->doc, "signed")))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed: must be an object");
	md->signed_obj = sg;
	if ((r = parse_signatures(json_object_get(md->doc, "signatures"),
	    &md->sigs, &md->nsigs, err)) != 0)
		return r;
	if ((type = ferry_json_cstr(json_object_get(sg, "_type"))) == NULL)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed._type: must be a string");
	if (ferry_meta_type_from_name(type, &md->type) != 0)
		return ferry_error_set(err, FERRY_ERR_META_TYPE,
		    "signed._type: unknown type \"%.40s\"", type);
	md->spec_version = ferry_json_cstr(json_object_get(sg,
	    "spec_version"));
	if (md->spec_version == NULL)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.spec_version: must be a string");
	if ((r = check_spec_version(md->spec_version)) != 0)
		return ferry_error_set(err, r, "signed.spec_version: \"%.40s\""
		    " is not a supported 1.x version", md->spec_version);
	if ((r = meta_get_int(sg, "version", "signed", 1, &md->version,
	    err)) != 0)
		return r;
	md->expires_str = ferry_json_cstr(json_object_get(sg, "expires"));
	if (md->expires_str == NULL ||
	    ferry_meta_parse_time(md->expires_str, &md->expires) != 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.expires: must be a time \"YYYY-MM-DDTHH:MM:SSZ\"");
	switch (md->type) {
	case FERRY_META_ROOT:
		r = parse_root(md, err);
		break;
	case FERRY_META_TARGETS:
		r = meta_targets_parse(md, err);
		break;
	case FERRY_META_SNAPSHOT:
	case FERRY_META_TIMESTAMP:
		r = parse_meta_map(md, err);
		break;
	}
	if (r != 0)
		return r;
	return check_encodable(md, err);
}

int
ferry_meta_from_json(json_t *doc, struct ferry_meta **out,
    struct ferry_error *err)
{
	struct ferry_meta *md;
	int r;

	if (doc == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((md = calloc(1, sizeof(*md))) == NULL)
		return FERRY_ERR_NOMEM;
	md->doc = json_incref(doc);
	if ((r = view_build(md, err)) != 0) {
		ferry_meta_free(md);
		return r;
	}
	*out = md;
	return 0;
}

int
ferry_meta_from_signed(json_t *signed_obj, struct ferry_meta **out,
    struct ferry_error *err)
{
	json_t *doc;
	int r;

	if (signed_obj == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	doc = json_pack("{s:[], s:O}", "signatures", "signed", signed_obj);
	if (doc == NULL)
		return FERRY_ERR_NOMEM;
	r = ferry_meta_from_json(doc, out, err);
	json_decref(doc);
	return r;
}

int
ferry_meta_parse(const void *buf, size_t len, size_t max_len,
    struct ferry_meta **out, struct ferry_error *err)
{
	json_t *doc = NULL;
	int r;

	if ((r = ferry_json_parse(buf, len, max_len, &doc, err)) != 0)
		return r;
	r = ferry_meta_from_json(doc, out, err);
	json_decref(doc);
	return r;
}

int
ferry_meta_load(const char *path, size_t max_len, struct ferry_meta **out,
    struct ferry_error *err)
{
	json_t *doc = NULL;
	int r;

	if ((r = ferry_json_parse_file(path, max_len, &doc, err)) != 0)
		return r;
	r = ferry_meta_from_json(doc, out, err);
	json_decref(doc);
	return r;
}

void
ferry_meta_free(struct ferry_meta *md)
{
	if (md == NULL)
		return;
	view_clear(md);
	json_decref(md->doc);
	free(md);
}

int
ferry_meta_replace_signed(struct ferry_meta *md, json_t *new_signed,
    struct ferry_error *err)
{
	struct ferry_meta *fresh = NULL;
	int r;

	if (md == NULL || new_signed == NULL || new_signed == md->signed_obj)
		return FERRY_ERR_INVALID_ARG;
	/* Build the new view aside, so a failure leaves the old one intact. */
	if ((r = ferry_meta_from_signed(new_signed, &fresh, err)) != 0)
		return r;
	view_clear(md);
	json_decref(md->doc);
	*md = *fresh;
	free(fresh);
	return 0;
}

int
ferry_meta_serialize(const struct ferry_meta *md, unsigned char **out,
    size_t *outlen, struct ferry_error *err)
{
	if (md == NULL)
		return FERRY_ERR_INVALID_ARG;
	return ferry_json_serialize(md->doc, out, outlen, err);
}

int
ferry_meta_sign(struct ferry_meta *md, struct ferry_seckey *k,
    struct ferry_error *err)
{
	char sighex[FERRY_ED25519_SIG_HEXLEN + 1];
	int r;

	if (md == NULL || k == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_seckey_sign(k, md->canon, md->canonlen, sighex)) != 0)
		return ferry_error_set(err, r, "signing: %s",
		    ferry_strerror(r));
	return ferry_meta_add_signature(md, ferry_seckey_keyid(k), sighex, err);
}

int
ferry_meta_add_signature(struct ferry_meta *md, const char *keyid,
    const char *sighex, struct ferry_error *err)
{
	struct ferry_sig *views = NULL;
	json_t *sigs = NULL, *old, *s;
	const char *id;
	size_t i, n;
	int r;

	if (md == NULL || keyid == NULL || sighex == NULL)
		return FERRY_ERR_INVALID_ARG;
	/*
	 * Build the new signatures array aside: md->sigs borrows from the
	 * old one, which must stay intact until the view is rebuilt.
	 */
	old = json_object_get(md->doc, "signatures");
	if ((sigs = json_array()) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < json_array_size(old); i++) {
		s = json_array_get(old, i);
		id = ferry_json_cstr(json_object_get(s, "keyid"));
		if (id != NULL && strcmp(id, keyid) == 0)
			continue;
		if (json_array_append(sigs, s) != 0)
			goto nomem;
	}
	s = json_pack("{s:s, s:s}", "keyid", keyid, "sig", sighex);
	if (s == NULL || json_array_append_new(sigs, s) != 0)
		goto nomem;
	if ((r = parse_signatures(sigs, &views, &n, err)) != 0)
		goto fail;
	/* Swap only now: the old array lives until the views move over. */
	if (json_object_set(md->doc, "signatures", sigs) != 0) {
		free(views);
		goto nomem;
	}
	free(md->sigs);
	md->sigs = views;
	md->nsigs = n;
	json_decref(sigs);
	return 0;
 fail:
	json_decref(sigs);
	return r;
 nomem:
	json_decref(sigs);
	return FERRY_ERR_NOMEM;
}

int
ferry_meta_verify(const struct ferry_meta *md,
    const struct ferry_keyring *ring, const struct ferry_role *role,
    size_t *nvalid, struct ferry_error *err)
{
	const struct ferry_key **counted = NULL, *key;
	size_t i, j, n = 0;
	int r, found;

	if (md == NULL || ring == NULL || role == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (role->nkeyids > 0 &&
	    (counted = calloc(role->nkeyids, sizeof(*counted))) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < md->nsigs && n < role->nkeyids; i++) {
		found = 0;
		for (j = 0; j < role->nkeyids && !found; j++)
			found = strcmp(role->keyids[j], md->sigs[i].keyid) == 0;
		if (!found ||
		    (key = ferry_keyring_find(ring, md->sigs[i].keyid)) == NULL)
			continue;
		/* Each key once: by key id, and by key material. */
		for (j = 0; j < n; j++)
			if (counted[j] == key || ferry_key_equal(counted[j], key))
				break;
		if (j < n)
			continue;
		if (ferry_key_verify(key, md->canon, md->canonlen,
		    md->sigs[i].sig) != 0)
			continue;
		counted[n++] = key;
	}
	free(counted);
	if (nvalid != NULL)
		*nvalid = n;
	if (n < role->threshold) {
		r = ferry_error_set(err, FERRY_ERR_THRESHOLD,
		    "%s: %zu of %llu required signatures valid",
		    role->name != NULL ? role->name : "role", n,
		    (unsigned long long)role->threshold);
		return r;
	}
	return 0;
}

int
ferry_meta_verify_by_root(const struct ferry_meta *root,
    enum ferry_meta_type t, const struct ferry_meta *md, size_t *nvalid,
    struct ferry_error *err)
{
	if (root == NULL || md == NULL || (unsigned)t >= FERRY_META_NTYPES)
		return FERRY_ERR_INVALID_ARG;
	if (root->type != FERRY_META_ROOT)
		return ferry_error_set(err, FERRY_ERR_META_TYPE,
		    "trusted metadata is %s, not root",
		    ferry_meta_type_name(root->type));
	if (md->type != t)
		return ferry_error_set(err, FERRY_ERR_META_TYPE,
		    "expected %s metadata, got %s", ferry_meta_type_name(t),
		    ferry_meta_type_name(md->type));
	return ferry_meta_verify(md, &root->keys, &root->roles[t], nvalid,
	    err);
}

int
ferry_meta_is_expired(const struct ferry_meta *md, int64_t now)
{
	return md == NULL || md->expires <= now;
}

int
ferry_meta_metafile(const struct ferry_meta *md, const char *name,
    struct ferry_metafile *out)
{
	json_t *o;

	if (md == NULL || name == NULL || out == NULL || md->meta == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((o = json_object_get(md->meta, name)) == NULL)
		return FERRY_ERR_NOT_FOUND;
	/* Validated when the view was built. */
	return parse_metafile(o, name, out, NULL);
}

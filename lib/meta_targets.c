/* Targets metadata: target files, delegations, and which role covers a path. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hex.h"
#include "json.h"
#include "meta_int.h"
#include "pathpattern.h"

static int
parse_target(const char *path, const json_t *o, struct ferry_target *t,
    struct ferry_error *err)
{
	struct ferry_error inner = { 0 };
	json_t *len;
	int r;

	/*
	 * Called for every target of a file that may hold millions: the
	 * location is formatted only when something is wrong.
	 */
	if (!json_is_object(o))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.targets.%.256s: must be an object", path);
	len = json_object_get(o, "length");
	if (!json_is_integer(len) || json_integer_value(len) < 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.targets.%.256s.length: %s", path, len == NULL ?
		    "missing" : "must be an integer >= 0");
	if ((r = meta_check_hashes(json_object_get(o, "hashes"), "hashes",
	    &inner)) != 0)
		return ferry_error_set(err, r, "signed.targets.%.256s.%s",
		    path, ferry_error_msg(&inner));
	t->path = path;
	t->length = (uint64_t)json_integer_value(len);
	t->hashes = json_object_get(o, "hashes");
	t->custom = json_object_get(o, "custom");
	return 0;
}

/* An array of NUL-free strings. */
static int
check_strings(const json_t *a, const char *where, struct ferry_error *err)
{
	size_t i;

	if (!json_is_array(a))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s: must be an array", where);
	for (i = 0; i < json_array_size(a); i++) {
		if (ferry_json_cstr(json_array_get(a, i)) == NULL)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s[%zu]: must be a string", where, i);
	}
	return 0;
}

static int
parse_delegated(const json_t *o, size_t idx, struct ferry_role *role,
    struct ferry_error *err)
{
	enum ferry_meta_type t;
	char where[96];
	json_t *term;
	int r;

	snprintf(where, sizeof(where), "signed.delegations.roles[%zu]", idx);
	if ((r = meta_role_parse(o, where, role, err)) != 0)
		return r;
	role->name = ferry_json_cstr(json_object_get(o, "name"));
	if (role->name == NULL || role->name[0] == '\0')
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.name: must be a non-empty string", where);
	/* A delegation named like a top-level role would alias its files. */
	if (ferry_meta_type_from_name(role->name, &t) == 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.name: \"%s\" is a top-level role name", where,
		    role->name);
	if (!json_is_boolean(term = json_object_get(o, "terminating")))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.terminating: must be a boolean", where);
	role->terminating = json_is_true(term);
	role->paths = json_object_get(o, "paths");
	role->path_hash_prefixes = json_object_get(o, "path_hash_prefixes");
	if ((role->paths == NULL) == (role->path_hash_prefixes == NULL))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s: exactly one of paths and path_hash_prefixes is "
		    "required", where);
	if (role->paths != NULL) {
		snprintf(where, sizeof(where),
		    "signed.delegations.roles[%zu].paths", idx);
		return check_strings(role->paths, where, err);
	}
	/*
	 * Any strings: python-tuf accepts prefixes that are not lowercase
	 * hex, which then simply never match a digest.  Ferry does the same.
	 */
	snprintf(where, sizeof(where),
	    "signed.delegations.roles[%zu].path_hash_prefixes", idx);
	return check_strings(role->path_hash_prefixes, where, err);
}

static int
parse_succinct(const json_t *o, struct ferry_succinct *b,
    struct ferry_error *err)
{
	const char *where = "signed.delegations.succinct_roles";
	int64_t bits;
	int r;

	if ((r = meta_role_parse(o, where, &b->role, err)) != 0)
		return r;
	if ((r = meta_get_int(o, "bit_length", where, 1, &bits, err)) != 0)
		return r;
	if (bits > 32)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.bit_length: must be between 1 and 32", where);
	b->bit_length = (unsigned)bits;
	b->name_prefix = ferry_json_cstr(json_object_get(o, "name_prefix"));
	if (b->name_prefix == NULL)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "%s.name_prefix: must be a string", where);
	return 0;
}

static int
parse_delegations(const json_t *o, struct ferry_delegations *d,
    struct ferry_error *err)
{
	const char **names, *dup;
	json_t *roles, *succ;
	size_t i;
	int r;

	if (!json_is_object(o))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.delegations: must be an object");
	if ((r = meta_keyring_parse(json_object_get(o, "keys"),
	    "signed.delegations.keys", &d->keys, err)) != 0)
		return r;
	roles = json_object_get(o, "roles");
	succ = json_object_get(o, "succinct_roles");
	if ((roles == NULL) == (succ == NULL))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.delegations: exactly one of roles and "
		    "succinct_roles is required");
	if (succ != NULL) {
		d->succinct = 1;
		return parse_succinct(succ, &d->bins, err);
	}
	if (!json_is_array(roles))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.delegations.roles: must be an array");
	if (json_array_size(roles) > 0 && (d->roles = calloc(
	    json_array_size(roles), sizeof(*d->roles))) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < json_array_size(roles); i++) {
		/* Count first, so a half-parsed role is freed too. */
		d->nroles++;
		if ((r = parse_delegated(json_array_get(roles, i), i,
		    &d->roles[i], err)) != 0)
			return r;
	}
	if (d->nroles < 2)
		return 0;
	if ((names = calloc(d->nroles, sizeof(*names))) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < d->nroles; i++)
		names[i] = d->roles[i].name;
	r = meta_find_duplicate(names, d->nroles, &dup);
	free(names);
	if (r > 0)
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.delegations.roles: \"%.80s\" delegated twice",
		    dup);
	return r;
}

void
meta_delegations_free(struct ferry_delegations *d)
{
	size_t i;

	if (d == NULL)
		return;
	meta_keyring_clear(&d->keys);
	for (i = 0; i < d->nroles; i++)
		meta_role_clear(&d->roles[i]);
	free(d->roles);
	meta_role_clear(&d->bins.role);
	free(d);
}

int
meta_targets_parse(struct ferry_meta *md, struct ferry_error *err)
{
	struct ferry_target t;
	const char *path;
	json_t *v, *del;
	int r;

	md->targets = json_object_get(md->signed_obj, "targets");
	if (!json_is_object(md->targets))
		return ferry_error_set(err, FERRY_ERR_META_FIELD,
		    "signed.targets: must be an object");
	json_object_foreach((json_t *)md->targets, path, v) {
		if ((r = parse_target(path, v, &t, err)) != 0)
			return r;
	}
	if ((del = json_object_get(md->signed_obj, "delegations")) == NULL)
		return 0;
	if ((md->delegations = calloc(1, sizeof(*md->delegations))) == NULL)
		return FERRY_ERR_NOMEM;
	return parse_delegations(del, md->delegations, err);
}

int
ferry_meta_target(const struct ferry_meta *md, const char *path,
    struct ferry_target *out)
{
	json_t *o;

	if (md == NULL || path == NULL || out == NULL ||
	    md->type != FERRY_META_TARGETS)
		return FERRY_ERR_INVALID_ARG;
	if ((o = json_object_get(md->targets, path)) == NULL)
		return FERRY_ERR_NOT_FOUND;
	/* Validated when the view was built; this only fills *out. */
	return parse_target(json_object_iter_key(json_object_iter_at(
	    (json_t *)md->targets, path)), o, out, NULL);
}

/*
 * Succinct bin names are "<prefix>-<hex>", with exactly the number of hex
 * digits the bit length needs and a value inside the range.
 */
static int
is_bin_name(const struct ferry_succinct *b, const char *name)
{
	size_t plen = strlen(b->name_prefix), width = (b->bit_length + 3) / 4;
	const char *hex;
	unsigned long v;
	char *end;

	if (strncmp(name, b->name_prefix, plen) != 0 || name[plen] != '-')
		return 0;
	hex = name + plen + 1;
	if (strlen(hex) != width ||
	    strspn(hex, "0123456789abcdef") != width)
		return 0;
	v = strtoul(hex, &end, 16);
	return *end == '\0' && (v >> (b->bit_length - 1)) <= 1;
}

const struct ferry_role *
ferry_meta_delegated_role(const struct ferry_meta *md, const char *name)
{
	const struct ferry_delegations *d;
	size_t i;

	if (md == NULL || name == NULL || (d = md->delegations) == NULL)
		return NULL;
	if (d->succinct)
		return is_bin_name(&d->bins, name) ? &d->bins.role : NULL;
	for (i = 0; i < d->nroles; i++)
		if (strcmp(d->roles[i].name, name) == 0)
			return &d->roles[i];
	return NULL;
}

int
ferry_role_matches_path(const struct ferry_role *role, const char *path)
{
	unsigned char digest[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1];
	const char *p;
	size_t i, n;

	if (role == NULL || path == NULL)
		return 0;
	if (role->paths != NULL) {
		for (i = 0; i < json_array_size(role->paths); i++) {
			p = ferry_json_cstr(json_array_get(role->paths, i));
			if (p != NULL && ferry_pathpattern_match(p, path))
				return 1;
		}
		return 0;
	}
	if (role->path_hash_prefixes == NULL ||
	    ferry_hash_buf(FERRY_HASH_SHA256, path, strlen(path), digest,
	    &n) != 0)
		return 0;
	ferry_hex_encode(digest, n, hex);
	for (i = 0; i < json_array_size(role->path_hash_prefixes); i++) {
		p = ferry_json_cstr(json_array_get(role->path_hash_prefixes,
		    i));
		if (p != NULL && strncmp(hex, p, strlen(p)) == 0)
			return 1;
	}
	return 0;
}

int
ferry_succinct_bin_name(const struct ferry_succinct *bins, const char *path,
    char *out, size_t outlen)
{
	unsigned char digest[FERRY_HASH_MAX];
	uint32_t prefix;
	size_t n;
	int w, r;

	if (bins == NULL || path == NULL || out == NULL ||
	    bins->bit_length < 1 || bins->bit_length > 32)
		return FERRY_ERR_INVALID_ARG;
	if ((r = ferry_hash_buf(FERRY_HASH_SHA256, path, strlen(path), digest,
	    &n)) != 0)
		return r;
	prefix = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
	    (uint32_t)digest[2] << 8 | (uint32_t)digest[3];
	prefix >>= 32 - bins->bit_length;
	w = snprintf(out, outlen, "%s-%0*x", bins->name_prefix,
	    (int)((bins->bit_length + 3) / 4), (unsigned)prefix);
	if (w < 0 || (size_t)w >= outlen)
		return FERRY_ERR_INVALID_ARG;
	return 0;
}

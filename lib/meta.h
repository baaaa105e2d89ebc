/*
 * The TUF metadata model (specification 1.0.x): root, targets (with
 * delegations), snapshot and timestamp.
 *
 * A struct ferry_meta owns the parsed JSON document and is a validated,
 * read-only view of it: every field the specification requires has been
 * checked, with an error naming the field.  The document itself is kept,
 * so unknown fields round-trip untouched and stay covered by signatures;
 * serialising writes the document as sorted, compact JSON.
 *
 * Strings and JSON values reached through the view are borrowed from the
 * document and live as long as the struct ferry_meta.
 */
#ifndef FERRY_META_H
#define FERRY_META_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "key.h"
#include "seckey.h"

/* Default size limit for metadata whose length is not known in advance. */
#define FERRY_META_MAX_DEFAULT (64u * 1024 * 1024)

enum ferry_meta_type {
	FERRY_META_ROOT,
	FERRY_META_TARGETS,
	FERRY_META_SNAPSHOT,
	FERRY_META_TIMESTAMP,
};
#define FERRY_META_NTYPES 4

/* "root", "targets", ...; the value of _type. */
const char *ferry_meta_type_name(enum ferry_meta_type t);
int ferry_meta_type_from_name(const char *name, enum ferry_meta_type *out);

/* Key ids to keys, from root's "keys" or a delegation's "keys". */
struct ferry_keyring_entry {
	const char *keyid;
	struct ferry_key *key;	/* kind may be FERRY_KEY_UNSUPPORTED */
};
struct ferry_keyring {
	struct ferry_keyring_entry *e;	/* sorted by keyid */
	size_t n;
};

/* The key of keyid in ring, or NULL. */
const struct ferry_key *ferry_keyring_find(const struct ferry_keyring *ring,
    const char *keyid);

/* A role's signing requirements, top-level or delegated. */
struct ferry_role {
	const char *name;
	const char **keyids;	/* unique */
	size_t nkeyids;
	uint64_t threshold;	/* >= 1 */
	/* Delegated roles only: */
	int terminating;
	const json_t *paths;		  /* array of strings, or NULL */
	const json_t *path_hash_prefixes; /* array of hex strings, or NULL */
};

/* TAP 15 succinct hash bins: 2^bit_length roles sharing keys. */
struct ferry_succinct {
	struct ferry_role role;	/* name is NULL; keys and threshold */
	unsigned bit_length;	/* 1..32 */
	const char *name_prefix;
};

struct ferry_delegations {
	struct ferry_keyring keys;
	struct ferry_role *roles;	/* in order, for the preorder search */
	size_t nroles;
	int succinct;			/* roles is empty; bins apply */
	struct ferry_succinct bins;
};

struct ferry_sig {
	const char *keyid;
	const char *sig;	/* hex */
};

struct ferry_meta {
	json_t *doc;			/* the whole document, owned */
	json_t *signed_obj;		/* "signed", borrowed; read-only */
	enum ferry_meta_type type;
	const char *spec_version;
	int64_t version;		/* >= 1 */
	int64_t expires;		/* seconds since the epoch, UTC */
	const char *expires_str;
	struct ferry_sig *sigs;
	size_t nsigs;
	unsigned char *canon;		/* canonical form of "signed" */
	size_t canonlen;

	/* root */
	struct ferry_keyring keys;
	struct ferry_role roles[FERRY_META_NTYPES]; /* by enum ferry_meta_type */
	int consistent_snapshot;	/* -1 when absent */

	/* targets */
	const json_t *targets;		/* path -> target file object */
	struct ferry_delegations *delegations;	/* NULL when absent */

	/* snapshot and timestamp */
	const json_t *meta;		/* name -> metafile object */
};

/* A target file entry of targets metadata. */
struct ferry_target {
	const char *path;
	uint64_t length;
	const json_t *hashes;	/* non-empty object: algorithm -> hex */
	const json_t *custom;	/* or NULL */
};

/* An entry of snapshot or timestamp "meta". */
struct ferry_metafile {
	int64_t version;	/* >= 1 */
	int64_t length;		/* -1 when absent */
	const json_t *hashes;	/* or NULL when absent */
};

/*
 * Parse and validate one metadata document of len bytes (at most max_len).
 * The caller owns *out.  Errors name the field: FERRY_ERR_JSON,
 * FERRY_ERR_META_FIELD, FERRY_ERR_META_TYPE, FERRY_ERR_SPEC_VERSION, ...
 */
int ferry_meta_parse(const void *buf, size_t len, size_t max_len,
    struct ferry_meta **out, struct ferry_error *err);

/* As ferry_meta_parse() on the contents of the file at path. */
int ferry_meta_load(const char *path, size_t max_len, struct ferry_meta **out,
    struct ferry_error *err);

/*
 * Validate doc, a whole metadata document; on success *out takes a new
 * reference to doc (the caller keeps its own).
 */
int ferry_meta_from_json(json_t *doc, struct ferry_meta **out,
    struct ferry_error *err);

/*
 * Wrap signed_obj, the "signed" part, in a new document with no
 * signatures and validate it.  Takes a new reference to signed_obj.
 */
int ferry_meta_from_signed(json_t *signed_obj, struct ferry_meta **out,
    struct ferry_error *err);

void ferry_meta_free(struct ferry_meta *md);

/*
 * Replace the "signed" part of md with new_signed (a new reference is
 * taken; the caller keeps its own) and drop every signature, since none
 * covers the new content.  The new part is validated first, and md is
 * changed only when it passes: on failure md is exactly as before.  This
 * is the one way to change metadata: md->signed_obj is read-only, and
 * editing it in place would leave the view pointing into freed JSON.
 */
int ferry_meta_replace_signed(struct ferry_meta *md, json_t *new_signed,
    struct ferry_error *err);

/*
 * The whole document as Ferry writes metadata files (see
 * ferry_json_serialize()); the caller frees *out.
 */
int ferry_meta_serialize(const struct ferry_meta *md, unsigned char **out,
    size_t *outlen, struct ferry_error *err);

/*
 * Sign the canonical "signed" part with k and store the signature,
 * replacing any earlier signature by the same key id.  On failure the
 * signatures are as before.
 */
int ferry_meta_sign(struct ferry_meta *md, struct ferry_seckey *k,
    struct ferry_error *err);

/*
 * Add the signature sighex (hex) by keyid, made elsewhere, replacing any
 * earlier signature by the same key id.  It is not verified here: see
 * ferry_meta_verify().  On failure the signatures are as before.
 */
int ferry_meta_add_signature(struct ferry_meta *md, const char *keyid,
    const char *sighex, struct ferry_error *err);

/*
 * Count the signatures on md made by distinct keys of role, as found in
 * ring.  A key id counts once however often it signs, two key ids for the
 * same key count once, and unsupported keys or schemes never count.
 * Returns 0 when the count reaches role->threshold, else
 * FERRY_ERR_THRESHOLD.  *nvalid (may be NULL) receives the count.
 */
int ferry_meta_verify(const struct ferry_meta *md,
    const struct ferry_keyring *ring, const struct ferry_role *role,
    size_t *nvalid, struct ferry_error *err);

/*
 * Verify md as the top-level role of type t against trusted root (which
 * may be md itself for a self-signed root); checks md's _type too.
 */
int ferry_meta_verify_by_root(const struct ferry_meta *root,
    enum ferry_meta_type t, const struct ferry_meta *md, size_t *nvalid,
    struct ferry_error *err);

/* Whether md expires at or before now (seconds since the epoch). */
int ferry_meta_is_expired(const struct ferry_meta *md, int64_t now);

/* Parse "YYYY-MM-DDTHH:MM:SSZ" exactly; FERRY_ERR_META_FIELD otherwise. */
int ferry_meta_parse_time(const char *s, int64_t *out);
/* Format t as "YYYY-MM-DDTHH:MM:SSZ"; out has room for 21 bytes. */
int ferry_meta_format_time(int64_t t, char *out, size_t outlen);

/* Look up a target (targets metadata only); FERRY_ERR_NOT_FOUND. */
int ferry_meta_target(const struct ferry_meta *md, const char *path,
    struct ferry_target *out);

/* Look up a "meta" entry (snapshot or timestamp); FERRY_ERR_NOT_FOUND. */
int ferry_meta_metafile(const struct ferry_meta *md, const char *name,
    struct ferry_metafile *out);

/*
 * The delegated role called name in targets metadata md, including a
 * succinct hash bin name; NULL if md delegates no such role.  For a bin,
 * the returned role has a NULL name (bins share one description).
 */
const struct ferry_role *ferry_meta_delegated_role(const struct ferry_meta *md,
    const char *name);

/*
 * Whether delegated role covers target path: a "paths" pattern matches
 * (shell-style, where '*' and '?' never match '/' and a pattern matches
 * only paths of as many '/'-separated parts), or the hex SHA-256 of the
 * path starts with one of "path_hash_prefixes".
 */
int ferry_role_matches_path(const struct ferry_role *role, const char *path);

/*
 * The succinct hash bin responsible for path: name_prefix, '-', and the
 * first bit_length bits of SHA-256(path) as lowercase hex zero-padded to
 * ceil(bit_length / 4) digits.
 */
int ferry_succinct_bin_name(const struct ferry_succinct *bins,
    const char *path, char *out, size_t outlen);

#endif

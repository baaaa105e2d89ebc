/*
 * The signer's workspace (docs/sign.md, "The workspace"): a directory of
 * public metadata, never of private keys.
 *
 *   DIR/workspace.json        names of the keys
 *   DIR/metadata/N.root.json  every complete root
 *   DIR/metadata/ROLE.json    the last complete version of each targets role
 *   DIR/staged/ROLE.json      the next version, being edited and signed
 *
 * Roles are loaded on first use, so that a command touching a few of
 * 16,384 hash bins reads only those.  Every change stays in memory until
 * ws_save(), which replaces each changed file atomically.
 */
#ifndef FERRY_SIGN_WS_H
#define FERRY_SIGN_WS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/meta.h"

#define WS_NAME_MAX 128
#define WS_DAY ((int64_t)86400)

struct ws_role {
	char *name;
	int have_cur, have_stg;	/* the file exists (or is to be written) */
	struct ferry_meta *cur;	/* metadata/: the last complete version */
	struct ferry_meta *stg;	/* staged/: the next version */
	int loaded;		/* cur and stg read from disk */
	int dirty;		/* stg must be written */
	/* Caches, rebuilt when a delegation changes: */
	struct ws_role *parent;	/* the role that delegates this one */
	size_t deleg;		/* its index in parent's delegations */
	int indexed;		/* parent set on each child it delegates */
	struct ws_pindex *pindex; /* hash prefix -> delegation, or NULL */
	int pindexed;		/* pindex built (or found not to apply) */
	unsigned visit;
	json_t *edit;		/* for commands: a "signed" part being edited */
};

struct ws;

/* Create a new workspace at dir (which must not exist, or be empty). */
int ws_create(const char *dir, struct ws **out, struct ferry_error *err);
/* Open the workspace at dir. */
int ws_open(const char *dir, struct ws **out, struct ferry_error *err);
void ws_free(struct ws *w);

const char *ws_dir(const struct ws *w);
int64_t ws_now(const struct ws *w);

/* Whether name can be a delegated role's name (and a file name). */
int ws_name_ok(const char *name);

/*
 * The role called name, loaded; FERRY_ERR_UNKNOWN_ROLE if the workspace
 * has no such role ("root" is the root role).
 */
int ws_get(struct ws *w, const char *name, struct ws_role **out,
    struct ferry_error *err);
/* The staged version if there is one, else the complete one (or NULL). */
const struct ferry_meta *ws_eff(const struct ws_role *r);

/* Complete roots, oldest first: version v is ws_roots(w)[v - 1]. */
struct ferry_meta *const *ws_roots(const struct ws *w, size_t *n);

/*
 * Every role of the workspace but root, in byte order of their names;
 * the array stays valid until the next ws_get() that creates a role.
 */
struct ws_role *const *ws_roles(struct ws *w, size_t *n);

/*
 * A new copy of name's "signed" part to edit: of the staged version, or,
 * when there is none, of the complete one with the next version number
 * and expires set to the role's default.  Unknown role: FERRY_ERR_UNKNOWN_ROLE.
 */
int ws_edit(struct ws *w, const char *name, json_t **out,
    struct ferry_error *err);

/*
 * Stage signed_obj (a new reference is taken) as name's next version,
 * dropping the staged signatures; creates the role if it does not exist.
 * Refused, naming role and field: invalid metadata, the wrong _type, a
 * version not above the complete one (root: not exactly one above), an
 * expiry not in the future, a role (or delegation) with no keys, a
 * threshold of 0 or above its number of keys, a delegated name that
 * cannot be a file name.
 */
int ws_stage(struct ws *w, const char *name, json_t *signed_obj,
    struct ferry_error *err);

/*
 * Whether every key md lists (root's keys, or its delegations' keys) is
 * listed under its own key id; FERRY_ERR_KEY naming the first that is not.
 */
int ws_keys_bound(const struct ferry_meta *md, struct ferry_error *err);

/* Write every changed staged role and workspace.json. */
int ws_save(struct ws *w, struct ferry_error *err);

/* The default expiry of a role, in seconds from now. */
int64_t ws_default_lifetime(const char *role);

/*
 * Parse WHEN: "YYYY-MM-DDTHH:MM:SSZ", or "Nd" (N days from now).
 */
int ws_parse_when(const char *s, int64_t now, int64_t *out);

/*
 * A public key file (a .pub as `key generate` writes it, or a bare TUF
 * key object): *key is the TUF key object without "keyid", keyid its key
 * id (checked against the file's "keyid" if it has one).  *name (may be
 * NULL) is the file's base name without ".pub", for reports.
 */
int ws_load_pubkey(const char *path, json_t **key, char *keyid,
    char **name, struct ferry_error *err);

/* Remember name for keyid (kept in workspace.json). */
int ws_set_name(struct ws *w, const char *keyid, const char *name);
/* The name of keyid, or NULL. */
const char *ws_name(const struct ws *w, const char *keyid);
/* All names (for requests). */
const json_t *ws_names(const struct ws *w);

/* One threshold a role needs. */
struct ws_need {
	char of[WS_NAME_MAX + 32];	/* "root v1", "targets v3" */
	const struct ferry_keyring *ring;
	const json_t *keys;		/* the same keys as JSON key objects */
	const struct ferry_role *role;
	size_t have;			/* valid signatures on the role */
};
#define WS_MAXNEEDS 2

/*
 * The thresholds md (a version of r) must meet, with the valid
 * signatures counted: a root needs its own and its previous version's;
 * targets, the effective root's; a delegated role, its delegator's.
 * *complete is set when every one is met.
 */
int ws_needs(struct ws *w, struct ws_role *r, const struct ferry_meta *md,
    struct ws_need *needs, size_t *nneeds, int *complete,
    struct ferry_error *err);

/* Add a signature (checked by the caller) to r's staged version. */
int ws_add_signature(struct ws *w, struct ws_role *r, const char *keyid,
    const char *sighex, struct ferry_error *err);

/* Whether md carries a valid signature by keyid, a key of ring. */
int ws_signed_by(const struct ferry_meta *md, const struct ferry_keyring *ring,
    const char *keyid);

/*
 * Print "ROLE vN: ..." with every threshold of md, and which keys are
 * missing (by name when known), as merge and status report it; with f
 * NULL, only set *complete.
 */
int ws_report(struct ws *w, struct ws_role *r, const struct ferry_meta *md,
    FILE *f, int *complete, struct ferry_error *err);

/* The role that delegates r (effective versions), or NULL for targets. */
int ws_parent(struct ws *w, struct ws_role *r, struct ws_role **out,
    struct ferry_error *err);

/*
 * Where a client looks for path first: the first role, in the preorder
 * search from targets, whose delegation covers path and that delegates
 * it no further.  Roles the workspace does not have are not entered.
 */
int ws_place(struct ws *w, const char *path, struct ws_role **out,
    struct ferry_error *err);

/*
 * Whether every delegation from targets down to r covers path;
 * FERRY_ERR_REPOSITORY naming the first that does not.
 */
int ws_check_path(struct ws *w, struct ws_role *r, const char *path,
    struct ferry_error *err);

/*
 * Move every staged role to metadata/ (roots as N.root.json), each by an
 * atomic rename, root last.
 */
int ws_promote(struct ws *w, struct ferry_error *err);

#endif

/*
 * The catalog: a SQLite database (WAL) of everything a repository ever
 * published.  Every publication (a bundle, or a re-signed timestamp and
 * snapshot), the role files and targets each one brought, every signature
 * the online keys made, and an audit log of who did what and when.
 *
 * The published tree, not the catalog, is what clients see.  A
 * publication is added "pending" before the tree switches to it and
 * marked "live" after, so that after a crash the catalog can be brought
 * back in line with the tree (ferry_catalog_reconcile()).
 */
#ifndef FERRY_CATALOG_H
#define FERRY_CATALOG_H

#include <stdint.h>

#include "err.h"

struct ferry_catalog;

/* The schema this code reads and writes (PRAGMA user_version). */
#define FERRY_CATALOG_SCHEMA_VERSION 1

/*
 * Errors: FERRY_ERR_DATABASE when SQLite fails (the detail names the
 * catalog's path and quotes SQLite), FERRY_ERR_NOMEM, FERRY_ERR_IO when
 * the file cannot be created, FERRY_ERR_INVALID_ARG for an argument out
 * of range or a row that is already there, FERRY_ERR_NOT_FOUND for a
 * publication that is not.
 */

/*
 * Open (creating if needed, mode 0600) the catalog at path, in WAL mode
 * with a busy timeout, and bring its schema to the current version.  A
 * file that is not a Ferry catalog ("PATH: not a Ferry catalog"), or one
 * from a newer schema, is refused before anything in it is changed; so is
 * a symbolic link.  Freed with ferry_catalog_close(), which rolls back a
 * transaction left open and accepts NULL.
 */
int ferry_catalog_open(const char *path, struct ferry_catalog **out,
    struct ferry_error *err);
void ferry_catalog_close(struct ferry_catalog *c);

/*
 * Transactions.  Every _add below runs inside the caller's transaction
 * when one is open, else alone.  begin takes the write lock at once
 * (BEGIN IMMEDIATE), waiting for another writer up to the busy timeout;
 * transactions do not nest.  When commit fails nothing is committed and
 * no transaction remains open.  When SQLite itself rolled the transaction
 * back after a failure (a full disk), every change is refused, and commit
 * fails, until the caller rolls back: nothing is committed piecemeal.
 * rollback accepts a catalog with no transaction.
 */
int ferry_catalog_begin(struct ferry_catalog *c, struct ferry_error *err);
int ferry_catalog_commit(struct ferry_catalog *c, struct ferry_error *err);
void ferry_catalog_rollback(struct ferry_catalog *c);

enum ferry_catalog_status {
	FERRY_CATALOG_PENDING,
	FERRY_CATALOG_LIVE,	/* the tree switched to it */
	FERRY_CATALOG_ABANDONED,	/* never switched to: the publisher died */
	FERRY_CATALOG_SUPERSEDED,	/* was live; a newer one is */
	FERRY_CATALOG_PRUNED,	/* its files are gone from the tree */
};

const char *ferry_catalog_status_name(enum ferry_catalog_status s);

/* One publication: a state of the tree. */
struct ferry_catalog_pub {
	int64_t id;		/* set by _pub_add */
	int64_t state;		/* the tree's state number */
	const char *kind;	/* "publish", "refresh", "init" */
	const char *actor;	/* who: "alice (uid 1000)", "repod" */
	const char *bundle_sha256;	/* NULL unless kind is "publish" */
	int64_t when;		/* unix seconds */
	int64_t root_version;
	int64_t targets_version;
	int64_t snapshot_version;
	int64_t timestamp_version;
	int64_t timestamp_expires;	/* unix seconds */
	enum ferry_catalog_status status;
};

/*
 * Add p as PENDING; sets p->id and p->status.  Strings are copied.  kind
 * is one of the three above, actor not empty, bundle_sha256 64 lowercase
 * hex digits, state and the four versions >= 1.
 */
int ferry_catalog_pub_add(struct ferry_catalog *c,
    struct ferry_catalog_pub *p, struct ferry_error *err);

/*
 * Mark publication id as live: it becomes LIVE and the one live before
 * it SUPERSEDED, in one transaction of its own if none is open.  Only a
 * PENDING publication can; for one already LIVE this does nothing.
 */
int ferry_catalog_pub_live(struct ferry_catalog *c, int64_t id,
    struct ferry_error *err);

/*
 * Set the status of publication id (ABANDONED, PRUNED): a PENDING one can
 * become ABANDONED, a SUPERSEDED or ABANDONED one PRUNED.  Setting the
 * status it has does nothing; anything else is FERRY_ERR_INVALID_ARG.
 */
int ferry_catalog_pub_set_status(struct ferry_catalog *c, int64_t id,
    enum ferry_catalog_status s, struct ferry_error *err);

/*
 * After a crash: the tree's live state number is live_state (0: none).
 * The pending publication of that state becomes LIVE (and the previous
 * live one SUPERSEDED); every other PENDING one becomes ABANDONED.
 * Nothing is promoted when the live publication already is of that state;
 * of several pending ones of that state, the newest is.  *fixed (may be
 * NULL) counts the rows changed, the superseded one included.  In one
 * transaction of its own if none is open.
 */
int ferry_catalog_reconcile(struct ferry_catalog *c, int64_t live_state,
    int *fixed, struct ferry_error *err);

/*
 * The tree's states below state are gone: every SUPERSEDED or ABANDONED
 * publication of one becomes PRUNED (*n, may be NULL, counts them).
 * Calling it again changes nothing, so a prune that died between the
 * tree and the catalog is made good by the next one.  In one transaction
 * of its own if none is open.
 */
int ferry_catalog_pruned_below(struct ferry_catalog *c, int64_t state,
    int *n, struct ferry_error *err);

/*
 * The live publication into *out (strings point into c and stay valid
 * until the next call on c), or FERRY_ERR_NOT_FOUND when none is.
 */
int ferry_catalog_pub_get_live(struct ferry_catalog *c,
    struct ferry_catalog_pub *out, struct ferry_error *err);

/*
 * Call fn for each publication, newest first, at most limit of them
 * (0: all).  A non-zero return from fn stops and is returned.  Strings
 * in *p are valid during the call only.
 */
int ferry_catalog_pub_foreach(struct ferry_catalog *c, unsigned limit,
    int (*fn)(const struct ferry_catalog_pub *p, void *arg), void *arg,
    struct ferry_error *err);

/*
 * A role file publication pub brought: metadata/VERSION.ROLE.json.  Here
 * and below, a sha256 is 64 lowercase hex digits, a length at most
 * INT64_MAX, a version >= 1, and a publication that is not there is
 * FERRY_ERR_NOT_FOUND.  A role file or target recorded twice for one
 * publication is FERRY_ERR_INVALID_ARG.
 */
int ferry_catalog_role_add(struct ferry_catalog *c, int64_t pub,
    const char *role, int64_t version, uint64_t length, const char *sha256,
    struct ferry_error *err);

/* A target publication pub brought, listed by role at role_version. */
int ferry_catalog_target_add(struct ferry_catalog *c, int64_t pub,
    const char *role, int64_t role_version, const char *path,
    uint64_t length, const char *sha256, struct ferry_error *err);

/* A signature the online key keyid made over role at version. */
int ferry_catalog_signing_add(struct ferry_catalog *c, int64_t pub,
    const char *role, int64_t version, const char *keyid, int64_t when,
    struct ferry_error *err);

/*
 * The highest version of role any recorded signature is over, whatever
 * became of its publication (0: none), in *version.
 */
int ferry_catalog_signing_max(struct ferry_catalog *c, const char *role,
    int64_t *version, struct ferry_error *err);

/*
 * The audit log: who did what, when, to which publication (0: none),
 * with a free-form detail (may be NULL).
 */
int ferry_catalog_audit(struct ferry_catalog *c, int64_t when,
    const char *actor, const char *action, int64_t pub, const char *detail,
    struct ferry_error *err);

/* Each audit entry, newest first, at most limit (0: all). */
struct ferry_catalog_entry {
	int64_t id;
	int64_t when;
	const char *actor;
	const char *action;
	int64_t pub;
	const char *detail;
};
int ferry_catalog_audit_foreach(struct ferry_catalog *c, unsigned limit,
    int (*fn)(const struct ferry_catalog_entry *e, void *arg), void *arg,
    struct ferry_error *err);

/*
 * Count targets publication pub brought (*n), and the first publication
 * that brought a target with this path and sha256 (*pub, 0 if none),
 * whatever its status now.
 */
int ferry_catalog_target_count(struct ferry_catalog *c, int64_t pub,
    int64_t *n, struct ferry_error *err);
int ferry_catalog_target_find(struct ferry_catalog *c, const char *path,
    const char *sha256, int64_t *pub, struct ferry_error *err);

#endif

/* Internal to the updater: shared by updater.c and updater_targets.c. */
#ifndef FERRY_UPDATER_INT_H
#define FERRY_UPDATER_INT_H

#include "updater.h"

struct delegated {
	char *name;
	struct ferry_meta *md;
};

struct ferry_updater {
	struct ferry_updater_config cfg;	/* its strings are in owned */
	void **owned;				/* freed with the updater */
	size_t nowned;
	struct ferry_fetcher *fetcher;
	int64_t ref_time;			/* fixed per refresh */
	int refreshed;
	struct ferry_meta *root, *timestamp, *snapshot, *targets;
	struct delegated *deleg;
	size_t ndeleg;
};

/* Fetched bytes, with where they came from. */
struct fetched {
	unsigned char *buf;
	size_t len;
	const char *url_base;	/* the mirror that served them */
};

/*
 * Apply one verification step to data fetched from a mirror; 0 to accept
 * it.  A step may keep state on failure (python-tuf's "intermediate"
 * metadata) but must leave the updater consistent.
 */
typedef int apply_fn(struct ferry_updater *u, const unsigned char *buf,
    size_t len, void *arg, struct ferry_error *err);

/*
 * Fetch relative path rel from each metadata mirror in turn until one
 * serves data that apply accepts; the accepted bytes go to *out.  When
 * every mirror answers "no such file", FERRY_ERR_NOT_FOUND; otherwise the
 * error names every mirror and its reason.  what names the role and
 * version for messages ("timestamp", "root v3").
 */
int upd_fetch_apply(struct ferry_updater *u, const char *const *bases,
    size_t nbases, const char *rel, size_t max_len, const char *what,
    apply_fn *apply, void *arg, struct fetched *out, struct ferry_error *err);

/* Read metadata_dir/<quoted name>.json, if there; NULL if not. */
int upd_load_local(struct ferry_updater *u, const char *name, size_t max_len,
    unsigned char **buf, size_t *len);
/* Write metadata_dir/<quoted name>.json atomically. */
int upd_persist(struct ferry_updater *u, const char *name,
    const unsigned char *buf, size_t len, struct ferry_error *err);

/* Verify and trust targets metadata for role (delegated by delegator). */
int upd_update_targets(struct ferry_updater *u, const char *role,
    const struct ferry_keyring *ring, const struct ferry_role *desc,
    const unsigned char *buf, size_t len, struct ferry_error *err);

/* Load role's metadata (local copy first, then mirrors); borrowed. */
int upd_load_targets(struct ferry_updater *u, const char *role,
    const struct ferry_keyring *ring, const struct ferry_role *desc,
    struct ferry_meta **out, struct ferry_error *err);

void upd_drop_delegated(struct ferry_updater *u);

#endif

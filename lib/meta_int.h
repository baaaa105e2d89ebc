/* Internal to the metadata model: shared by meta.c and meta_targets.c. */
#ifndef FERRY_META_INT_H
#define FERRY_META_INT_H

#include "meta.h"

/* Read integer field name of obj (>= min) into *out, naming where. */
int meta_get_int(const json_t *obj, const char *name, const char *where,
    int64_t min, int64_t *out, struct ferry_error *err);

/* A non-empty object of algorithm -> string, naming where. */
int meta_check_hashes(const json_t *h, const char *where,
    struct ferry_error *err);

int meta_keyring_parse(const json_t *keys, const char *where,
    struct ferry_keyring *ring, struct ferry_error *err);
void meta_keyring_clear(struct ferry_keyring *ring);

/*
 * Parse keyids and threshold of role object o into r (name not set),
 * naming where.
 */
int meta_role_parse(const json_t *o, const char *where, struct ferry_role *r,
    struct ferry_error *err);
void meta_role_clear(struct ferry_role *r);

/*
 * Find a string present twice among v[0..n-1], in O(n log n): 0 if none,
 * 1 with *dup set if one is found, FERRY_ERR_NOMEM.
 */
int meta_find_duplicate(const char *const *v, size_t n, const char **dup);

/* Validate the targets-specific fields of md->signed_obj. */
int meta_targets_parse(struct ferry_meta *md, struct ferry_error *err);
void meta_delegations_free(struct ferry_delegations *d);

#endif

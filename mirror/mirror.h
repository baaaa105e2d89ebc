/* ferry-mirror: shared by main and the cmd_*.c verbs.  See docs/mirror.md. */
#ifndef FERRY_MIRROR_H
#define FERRY_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define MIRROR_MAX_UPSTREAMS 16
#define MIRROR_MAX_PATTERNS 64
#define MIRROR_MAX_PARALLEL 32	/* transfers at once */
#define MIRROR_DEFAULT_DIR "/var/lib/ferry-mirror"

/*
 * A mirror's state directory DIR:
 *
 *   DIR/mirror.json     the configuration (below)
 *   DIR/trusted/        the updater's trusted metadata, as a client's
 *   DIR/roots/N.root.json   every root version that verified
 *   DIR/partial/        downloads in progress
 *   DIR/repo/           the served tree (lib/tree.h): metadata -> a state
 */
struct mirror_config {
	char *dir;
	char *upstreams[MIRROR_MAX_UPSTREAMS];	/* base URLs or directories */
	size_t nupstreams;
	char *patterns[MIRROR_MAX_PATTERNS];	/* targets to mirror; none: all */
	size_t npatterns;
	unsigned retain_states;			/* 4 */
	unsigned parallel;			/* transfers at once: 4 */
};

/* Read DIR/mirror.json; flags given on the command line come after. */
int mirror_config_load(const char *dir, struct mirror_config *c,
    struct ferry_error *err);
int mirror_config_save(const struct mirror_config *c, struct ferry_error *err);
void mirror_config_free(struct mirror_config *c);

/* What a sync did, for its summary. */
struct mirror_sync_result {
	int64_t state;			/* the live state afterwards */
	int changed;			/* 0: already up to date */
	int64_t timestamp_version, snapshot_version, root_version;
	uint64_t targets, fetched, fetched_bytes, present;
	uint64_t resumed_bytes;		/* of fetched_bytes, there already */
	uint64_t metadata_files;
};

/*
 * Bring DIR/repo up to date with the upstreams, verifying everything as
 * a client does, and switch to the new state only when every file of it
 * is present and verified.  quiet: no progress on standard error.
 */
int mirror_sync(const struct mirror_config *c, int quiet,
    struct mirror_sync_result *res, struct ferry_error *err);

/* "ferry-mirror: what: detail" on standard error; returns 1. */
int mirror_fail(const char *what, const struct ferry_error *err);
int mirror_failf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

int cmd_init(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif

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
	char *proxy;		/* "socks5h://HOST:PORT" (Tor), or NULL */
	int force;	/* not in the file: sync builds a state even when
			   up to date (to put back files found missing) */
};

/*
 * Read DIR/mirror.json; flags given on the command line come after.  On
 * failure C holds nothing to free (freeing it again is harmless).
 */
int mirror_config_load(const char *dir, struct mirror_config *c,
    struct ferry_error *err);
int mirror_config_save(const struct mirror_config *c, struct ferry_error *err);
void mirror_config_free(struct mirror_config *c);
/* Whether target path is one the mirror holds (its patterns; none: all). */
int mirror_config_wants(const struct mirror_config *c, const char *path);

/* What a sync did, for its summary. */
struct mirror_sync_result {
	int64_t state;			/* the live state afterwards */
	int changed;			/* 0: already up to date */
	int64_t timestamp_version, snapshot_version, root_version;
	uint64_t targets, fetched, fetched_bytes, present;
	uint64_t resumed_bytes;		/* of fetched_bytes, there already */
	uint64_t received_bytes;	/* all that came in: HTTP and files */
	uint64_t pruned;		/* target files no state needs now */
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

/*
 * The arguments of every command but init: [-d DIR] [--help], and those
 * of the MIRROR_ARG_* in takes.  Returns -1 to go on, or the exit code (0
 * after --help, 2 after a usage error, both with usage_text printed).
 */
#define MIRROR_ARG_QUIET	0x01	/* --quiet, -q */
#define MIRROR_ARG_JSON		0x02	/* --json */
#define MIRROR_ARG_FORCE	0x04	/* --force */
#define MIRROR_ARG_RETAIN	0x08	/* --retain-states N (1 to 1000) */
#define MIRROR_ARG_OPERAND	0x10	/* exactly one operand */
struct mirror_args {
	const char *dir;	/* MIRROR_DEFAULT_DIR unless -d */
	const char *operand;
	int quiet, json, force;
	unsigned retain;	/* 0: not given */
};
int mirror_args(int argc, char **argv, const char *usage_text,
    unsigned takes, struct mirror_args *a);

int cmd_init(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_status(int argc, char **argv);

/*
 * Removable media (export.c, import.c, medium.c; docs/mirror.md).  An
 * export is the live state of DIR/repo as a plain tree, metadata/ (the
 * state's files), targets/ and roots/ (DIR/roots), with its manifest
 * MIRROR_MANIFEST beside them: every other file's path, length and
 * SHA-256, the versions exported, when and by which mirror.  The
 * manifest only catches a damaged medium: an import trusts what the TUF
 * verification accepts, nothing else.
 */
#define MIRROR_MANIFEST "ferry-export.json"
#define MIRROR_MANIFEST_MAX (64u << 20)

struct mirror_medium_file {
	char *path;		/* on the medium: "targets/apps/HASH.a.img" */
	char *src;		/* export: the file it is read from; or NULL */
	uint64_t length;
	char sha256[65];	/* lowercase hex */
};

struct mirror_manifest {
	char created[32];		/* YYYY-MM-DDTHH:MM:SSZ */
	char *host, *dir;		/* the exporting mirror */
	int64_t state;			/* its live state, exported */
	int64_t root_version, snapshot_version, timestamp_version;
	char timestamp_expires[32];
	uint64_t bytes;			/* the files' lengths, added */
	struct mirror_medium_file *files;	/* sorted by path */
	size_t nfiles, cap;
};

/* Add a file to m (path and src are copied; sha256 is the caller's). */
int mirror_manifest_add(struct mirror_manifest *m, const char *path,
    const char *src, uint64_t length);
/* Sort the files by path, as the manifest lists them. */
void mirror_manifest_sort(struct mirror_manifest *m);
/* The file listed under path in a sorted m, or NULL. */
const struct mirror_medium_file *mirror_manifest_find(
    const struct mirror_manifest *m, const char *path);
/* The manifest's JSON text in a new string the caller frees. */
int mirror_manifest_dump(const struct mirror_manifest *m, char **out,
    size_t *outlen, struct ferry_error *err);
/*
 * Parse untrusted manifest bytes into m (which the caller frees with
 * mirror_manifest_free() on success; on failure it is empty): every
 * field is checked, an unknown one is refused, paths must lie under
 * metadata/, targets/ or roots/ with no ".." or hidden component and be
 * sorted and unique.  name is the file, for messages.
 */
int mirror_manifest_parse(const void *buf, size_t len, const char *name,
    struct mirror_manifest *m, struct ferry_error *err);
void mirror_manifest_free(struct mirror_manifest *m);

/*
 * Length and SHA-256 of what fd holds from its offset to its end, read
 * after dropping the file's cached pages, so that on a medium written
 * and synced the bytes come from the device.  name is for messages.
 */
int mirror_digest_fd(int fd, const char *name, uint64_t *len, char hex[65],
    struct ferry_error *err);

/*
 * Check the files m lists under dir: each a regular file, reached
 * through no symbolic link, of the listed length and SHA-256.  Each one
 * that differs is named on standard error as label followed by its path.
 * Returns how many differ (0: all as listed), or a negative error.
 * quiet: no progress line.
 */
int mirror_medium_check(const char *dir, const char *label,
    const struct mirror_manifest *m, int quiet, struct ferry_error *err);

/*
 * A new directory DIR/media/PREFIX.PID.XXXXXX (absolute) in out, for an
 * export's staging or an import's extraction; those that processes now
 * gone left behind are removed first.  The caller removes it.
 */
int mirror_media_tmp(const char *dir, const char *prefix, char *out,
    size_t outlen, struct ferry_error *err);

/*
 * Progress of what (a literal: a new one starts a new clock): done of
 * total bytes, files of nfiles, and the rate of moved bytes, those that
 * really moved (a sync's targets already held count as done, not as
 * moved).  On a terminal a line with a bar, the rate and the time left,
 * redrawn at most five times a second (last clears it); otherwise a
 * plain line every 10 seconds, for logs.
 */
void mirror_progress(const char *what, uint64_t done, uint64_t total,
    uint64_t moved, size_t files, size_t nfiles, int last);


int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_prune(int argc, char **argv);

#endif

/*
 * A TUF repository built by the updater tests in a temporary directory,
 * laid out as a mirror serves it: DIR/metadata/ and DIR/targets/ (the
 * fetcher reads absolute paths directly, so DIR/metadata is a mirror URL).
 *
 * Every role's "signed" part is kept as JSON that a test edits freely
 * (versions, expiry, anything); repo_publish() then signs and writes each
 * targets role, a snapshot describing them and a timestamp describing the
 * snapshot.  Root versions are published one by one, signed by whichever
 * keys the test names.  Keys come from a pool and are made on first use;
 * pool slots 0-3 start as the root, timestamp, snapshot and targets keys.
 *
 * Everything is static inline, so a test that uses a part compiles
 * cleanly without the rest.  Failures are cmocka assertions.
 */
#ifndef FERRY_TEST_REPO_H
#define FERRY_TEST_REPO_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "lib/err.h"
#include "lib/fetch.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/meta.h"
#include "lib/seckey.h"
#include "lib/updater.h"

/* The reference time of every refresh: 2030-01-01T00:00:00Z. */
#define REPO_NOW ((int64_t)1893456000)
#define REPO_DAY ((int64_t)86400)
#define REPO_NKEYS 32
#define REPO_NROLES 48
#define REPO_MAXSIGN 4

/* Pool keys and roles: the four top-level ones come first, in this order. */
enum { R_ROOT, R_TIMESTAMP, R_SNAPSHOT, R_TARGETS, K_FREE };

struct repo_role {
	char name[64];
	json_t *s;			/* "signed"; tests edit it in place */
	int sign[REPO_MAXSIGN];		/* pool keys that sign it */
	size_t nsign;
};

struct repo {
	char dir[256], meta[300], tgt[300];
	const char *murl[1], *turl[1];	/* {meta} and {tgt}: one mirror */
	struct ferry_seckey *key[REPO_NKEYS];
	struct repo_role role[REPO_NROLES]; /* targets first, then delegated */
	size_t nroles;
	int consistent;		/* root's consistent_snapshot */
	int snap_hashes;	/* snapshot lists lengths and hashes: off */
	int ts_hashes;		/* timestamp lists them: on */
	/* repo_http_start(): tests/e2e/repo_server.py serving DIR. */
	pid_t http_pid;		/* 0: none */
	int http_in, http_out;	/* its stdin (closing it stops it), stdout */
	char http_base[64];	/* "http://127.0.0.1:PORT" */
	char http_meta[128], http_tgt[128];
	const char *http_murl[1], *http_turl[1];
};

static inline const char *
repo_tmpdir(void)
{
	return unit_tmpdir();
}

static inline struct ferry_seckey *
repo_key(struct repo *r, int i)
{
	assert_true(i >= 0 && i < REPO_NKEYS);
	if (r->key[i] == NULL)
		assert_int_equal(ferry_seckey_generate(&r->key[i]), 0);
	return r->key[i];
}

static inline const char *
repo_keyid(struct repo *r, int i)
{
	return ferry_seckey_keyid(repo_key(r, i));
}

static inline json_t *
repo_pubkey(struct repo *r, int i)
{
	json_t *p = NULL;

	assert_int_equal(ferry_seckey_public_json(repo_key(r, i), &p), 0);
	return p;
}

static inline json_t *
repo_time(int64_t t)
{
	char buf[32];

	assert_int_equal(ferry_meta_format_time(t, buf, sizeof(buf)), 0);
	return json_string(buf);
}

static inline void
repo_set(json_t *o, const char *k, json_t *v)
{
	assert_non_null(v);
	assert_int_equal(json_object_set_new(o, k, v), 0);
}

static inline struct repo_role *
repo_role(struct repo *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nroles; i++)
		if (strcmp(r->role[i].name, name) == 0)
			return &r->role[i];
	fail_msg("repo: no role %s", name);
	abort();
}

static inline json_t *
repo_signed(struct repo *r, const char *name)
{
	return repo_role(r, name)->s;
}

static inline int64_t
repo_version(struct repo *r, const char *name)
{
	return json_integer_value(json_object_get(repo_signed(r, name),
	    "version"));
}

static inline void
repo_set_version(struct repo *r, const char *name, int64_t v)
{
	repo_set(repo_signed(r, name), "version", json_integer(v));
}

static inline void
repo_bump(struct repo *r, const char *name)
{
	repo_set_version(r, name, repo_version(r, name) + 1);
}

static inline void
repo_set_expires(struct repo *r, const char *name, int64_t t)
{
	repo_set(repo_signed(r, name), "expires", repo_time(t));
}

static inline void
repo_signers(struct repo *r, const char *name, const int *keys, size_t n)
{
	struct repo_role *ro = repo_role(r, name);

	assert_true(n <= REPO_MAXSIGN);
	memcpy(ro->sign, keys, n * sizeof(*keys));
	ro->nsign = n;
}

/* A new role at version 1, expiring in a year, signed by pool key key. */
static inline json_t *
repo_add_role(struct repo *r, const char *name, const char *type, int key)
{
	struct repo_role *ro;

	assert_true(r->nroles < REPO_NROLES);
	ro = &r->role[r->nroles++];
	snprintf(ro->name, sizeof(ro->name), "%s", name);
	ro->s = json_pack("{s:s, s:s, s:i, s:o}", "_type", type,
	    "spec_version", "1.0.31", "version", 1, "expires",
	    repo_time(REPO_NOW + 365 * REPO_DAY));
	assert_non_null(ro->s);
	ro->sign[0] = key;
	ro->nsign = 1;
	if (strcmp(type, "targets") == 0)
		repo_set(ro->s, "targets", json_object());
	else if (strcmp(type, "root") != 0)
		repo_set(ro->s, "meta", json_object());
	return ro->s;
}

/* Root lists pool keys keys[0..n) for role, and they sign that role. */
static inline void
repo_root_role(struct repo *r, const char *role, const int *keys, size_t n,
    int threshold)
{
	json_t *root = repo_signed(r, "root"), *ids = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		repo_set(json_object_get(root, "keys"), repo_keyid(r, keys[i]),
		    repo_pubkey(r, keys[i]));
		json_array_append_new(ids, json_string(repo_keyid(r, keys[i])));
	}
	repo_set(json_object_get(root, "roles"), role, json_pack("{s:o, s:i}",
	    "keyids", ids, "threshold", threshold));
	repo_signers(r, role, keys, n);
}

static inline struct repo *
repo_new(int consistent)
{
	static const char *const top[] = {
		"root", "timestamp", "snapshot", "targets"
	};
	struct repo *r = calloc(1, sizeof(*r));
	json_t *root;
	int i;

	assert_non_null(r);
	snprintf(r->dir, sizeof(r->dir), "%s/ferry-repo.XXXXXX",
	    repo_tmpdir());
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->meta, sizeof(r->meta), "%s/metadata", r->dir);
	snprintf(r->tgt, sizeof(r->tgt), "%s/targets", r->dir);
	assert_int_equal(mkdir(r->meta, 0755), 0);
	assert_int_equal(mkdir(r->tgt, 0755), 0);
	r->murl[0] = r->meta;
	r->turl[0] = r->tgt;
	r->consistent = consistent;
	r->ts_hashes = 1;
	for (i = R_ROOT; i <= R_TARGETS; i++)
		repo_add_role(r, top[i], top[i], i);
	root = repo_signed(r, "root");
	repo_set(root, "consistent_snapshot", json_boolean(consistent));
	repo_set(root, "keys", json_object());
	repo_set(root, "roles", json_object());
	for (i = R_ROOT; i <= R_TARGETS; i++)
		repo_root_role(r, top[i], &i, 1, 1);
	return r;
}

/* The document of "signed" part s signed by pool keys, serialised. */
static inline void
repo_sign(struct repo *r, json_t *s, const int *keys, size_t n,
    unsigned char **buf, size_t *len)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	size_t i;

	if (ferry_meta_from_signed(s, &md, &err) != 0)
		fail_msg("repo: invalid metadata: %s", err.msg);
	for (i = 0; i < n; i++)
		assert_int_equal(ferry_meta_sign(md, repo_key(r, keys[i]),
		    &err), 0);
	assert_int_equal(ferry_meta_serialize(md, buf, len, &err), 0);
	ferry_meta_free(md);
}

/* The file the repository serves role name (at its version) as. */
static inline void
repo_file(struct repo *r, const char *name, char *out, size_t cap)
{
	long long v = (long long)repo_version(r, name);
	char *q;

	if (strcmp(name, "root") == 0) {
		snprintf(out, cap, "%lld.root.json", v);
	} else if (strcmp(name, "timestamp") == 0) {
		snprintf(out, cap, "timestamp.json");
	} else {
		assert_non_null(q = ferry_url_segment(name));
		if (r->consistent)
			snprintf(out, cap, "%lld.%s.json", v, q);
		else
			snprintf(out, cap, "%s.json", q);
		free(q);
	}
}

static inline void
repo_path(struct repo *r, const char *name, char *out, size_t cap)
{
	char f[256];

	repo_file(r, name, f, sizeof(f));
	snprintf(out, cap, "%s/%s", r->meta, f);
}

/* The whole file at path (NULL if there is none); the caller frees it. */
static inline unsigned char *
repo_read(const char *path, size_t *len)
{
	unsigned char *buf = NULL;

	if (ferry_file_read(path, FERRY_META_MAX_DEFAULT, &buf, len) != 0)
		return NULL;
	return buf;
}

static inline void
repo_write_file(const char *path, const void *buf, size_t len)
{
	if (ferry_file_write_atomic(path, buf, len, 0644) != 0)
		fail_msg("%s: %s", path, strerror(errno));
}

/* Sign role name with its signers; write it where the repository serves it. */
static inline void
repo_write(struct repo *r, const char *name)
{
	struct repo_role *ro = repo_role(r, name);
	unsigned char *buf;
	char path[1024];
	size_t len;

	repo_sign(r, ro->s, ro->sign, ro->nsign, &buf, &len);
	repo_path(r, name, path, sizeof(path));
	repo_write_file(path, buf, len);
	free(buf);
}

/* Publish root at its current version, signed by pool keys (old and new). */
static inline void
repo_publish_root(struct repo *r, const int *keys, size_t n)
{
	unsigned char *buf;
	char path[1024];
	size_t len;

	repo_sign(r, repo_signed(r, "root"), keys, n, &buf, &len);
	repo_path(r, "root", path, sizeof(path));
	repo_write_file(path, buf, len);
	free(buf);
}

/* A "meta" entry for the file of role name as written. */
static inline json_t *
repo_metafile(struct repo *r, const char *name, int with_hashes)
{
	unsigned char *buf, dg[FERRY_HASH_MAX];
	char path[1024], hex[2 * FERRY_HASH_MAX + 1];
	size_t len, n;
	json_t *o;

	o = json_pack("{s:I}", "version", (json_int_t)repo_version(r, name));
	assert_non_null(o);
	if (!with_hashes)
		return o;
	repo_path(r, name, path, sizeof(path));
	assert_non_null(buf = repo_read(path, &len));
	assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, buf, len, dg, &n),
	    0);
	free(buf);
	ferry_hex_encode(dg, n, hex);
	repo_set(o, "length", json_integer((json_int_t)len));
	repo_set(o, "hashes", json_pack("{s:s}", "sha256", hex));
	return o;
}

/* The snapshot's "meta": every targets role, as written. */
static inline void
repo_snapshot_meta(struct repo *r)
{
	json_t *m = json_object();
	char key[128];
	size_t i;

	for (i = R_TARGETS; i < r->nroles; i++) {
		snprintf(key, sizeof(key), "%s.json", r->role[i].name);
		repo_set(m, key, repo_metafile(r, r->role[i].name,
		    r->snap_hashes));
	}
	repo_set(repo_signed(r, "snapshot"), "meta", m);
}

static inline void
repo_timestamp_meta(struct repo *r)
{
	repo_set(repo_signed(r, "timestamp"), "meta", json_pack("{s:o}",
	    "snapshot.json", repo_metafile(r, "snapshot", r->ts_hashes)));
}

/* Write every targets role, then a snapshot and a timestamp naming them. */
static inline void
repo_publish(struct repo *r)
{
	size_t i;

	for (i = R_TARGETS; i < r->nroles; i++)
		repo_write(r, r->role[i].name);
	repo_snapshot_meta(r);
	repo_write(r, "snapshot");
	repo_timestamp_meta(r);
	repo_write(r, "timestamp");
}

/* Create the directories above file path. */
static inline void
repo_mkdirs(const char *path)
{
	char tmp[1024], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			fail_msg("mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
}

static inline json_t *
repo_hashes(const void *data, size_t len)
{
	static const enum ferry_hash_alg algs[] = {
		FERRY_HASH_SHA256, FERRY_HASH_SHA512
	};
	unsigned char dg[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1];
	json_t *h = json_object();
	size_t i, n;

	for (i = 0; i < 2; i++) {
		assert_int_equal(ferry_hash_buf(algs[i], data, len, dg, &n), 0);
		ferry_hex_encode(dg, n, hex);
		repo_set(h, ferry_hash_alg_name(algs[i]), json_string(hex));
	}
	return h;
}

/*
 * Put data where a mirror serves target path as role lists it: under
 * DIR/HASH.NAME for each listed hash with consistent snapshots, else
 * under the plain path.  Nothing is checked: tests serve bad bytes so.
 */
static inline void
repo_serve_at(struct repo *r, const char *base, const char *role,
    const char *path, const void *data, size_t len)
{
	json_t *t, *h;
	const char *alg, *slash = strrchr(path, '/');
	char full[1024];

	t = json_object_get(json_object_get(repo_signed(r, role), "targets"),
	    path);
	assert_non_null(t);
	if (!r->consistent) {
		snprintf(full, sizeof(full), "%s/%s", base, path);
		repo_mkdirs(full);
		repo_write_file(full, data, len);
		return;
	}
	json_object_foreach(json_object_get(t, "hashes"), alg, h) {
		if (slash == NULL)
			snprintf(full, sizeof(full), "%s/%s.%s", base,
			    json_string_value(h), path);
		else
			snprintf(full, sizeof(full), "%s/%.*s/%s.%s", base,
			    (int)(slash - path), path, json_string_value(h),
			    slash + 1);
		repo_mkdirs(full);
		repo_write_file(full, data, len);
	}
}

static inline void
repo_serve(struct repo *r, const char *role, const char *path,
    const void *data, size_t len)
{
	repo_serve_at(r, r->tgt, role, path, data, len);
}

/* List target path in role with data's length and hashes, and serve it. */
static inline void
repo_add_target(struct repo *r, const char *role, const char *path,
    const void *data, size_t len)
{
	repo_set(json_object_get(repo_signed(r, role), "targets"), path,
	    json_pack("{s:I, s:o}", "length", (json_int_t)len, "hashes",
	    repo_hashes(data, len)));
	repo_serve(r, role, path, data, len);
}

/* parent's "delegations", made on first use. */
static inline json_t *
repo_delegations(struct repo *r, const char *parent)
{
	json_t *s = repo_signed(r, parent), *d;

	if ((d = json_object_get(s, "delegations")) == NULL) {
		repo_set(s, "delegations", json_pack("{s:{}, s:[]}", "keys",
		    "roles"));
		d = json_object_get(s, "delegations");
	}
	return d;
}

/* The entry of parent's delegations that delegates name. */
static inline json_t *
repo_delegation(struct repo *r, const char *parent, const char *name)
{
	json_t *roles = json_object_get(repo_delegations(r, parent), "roles");
	size_t i;

	for (i = 0; i < json_array_size(roles); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(
		    roles, i), "name")), name) == 0)
			return json_array_get(roles, i);
	fail_msg("repo: %s does not delegate %s", parent, name);
	abort();
}

/*
 * parent delegates name to pool key key (threshold 1) for the patterns in
 * paths, or else the prefixes in hash_prefixes (NULL-terminated lists).
 * The role is made (version 1, signed by key) unless it exists: a second
 * delegation to it only adds the edge.
 */
static inline void
repo_delegate(struct repo *r, const char *parent, const char *name, int key,
    int terminating, const char *const *paths,
    const char *const *hash_prefixes)
{
	json_t *d = repo_delegations(r, parent), *list = json_array();
	const char *const *p = paths != NULL ? paths : hash_prefixes;
	size_t i;

	repo_set(json_object_get(d, "keys"), repo_keyid(r, key),
	    repo_pubkey(r, key));
	for (; p != NULL && *p != NULL; p++)
		json_array_append_new(list, json_string(*p));
	assert_int_equal(json_array_append_new(json_object_get(d, "roles"),
	    json_pack("{s:s, s:[s], s:i, s:b, s:o}", "name", name, "keyids",
	    repo_keyid(r, key), "threshold", 1, "terminating", terminating,
	    paths != NULL ? "paths" : "path_hash_prefixes", list)), 0);
	for (i = 0; i < r->nroles; i++)
		if (strcmp(r->role[i].name, name) == 0)
			return;
	repo_add_role(r, name, "targets", key);
}

/* parent delegates to 2^bits succinct hash bins, all signed by key. */
static inline void
repo_bins(struct repo *r, const char *parent, const char *prefix,
    unsigned bits, int key)
{
	char name[64], hex[16];
	unsigned i;

	assert_true(bits >= 1 && bits <= 8);
	repo_set(repo_signed(r, parent), "delegations", json_pack(
	    "{s:{s:o}, s:{s:[s], s:i, s:i, s:s}}", "keys", repo_keyid(r, key),
	    repo_pubkey(r, key), "succinct_roles", "keyids",
	    repo_keyid(r, key), "threshold", 1, "bit_length", (int)bits,
	    "name_prefix", prefix));
	for (i = 0; i < (1u << bits); i++) {
		snprintf(hex, sizeof(hex), "%08x", i);
		snprintf(name, sizeof(name), "%s-%s", prefix,
		    hex + 8 - (bits + 3) / 4);
		repo_add_role(r, name, "targets", key);
	}
}

/* A new client metadata directory whose trusted root.json is buf. */
static inline void
repo_client_with(const void *buf, size_t len, char *dir, size_t cap)
{
	char path[1024];

	snprintf(dir, cap, "%s/ferry-client.XXXXXX", repo_tmpdir());
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/root.json", dir);
	repo_write_file(path, buf, len);
}

/* ... trusting root version v as the repository published it. */
static inline void
repo_client(struct repo *r, int64_t v, char *dir, size_t cap)
{
	unsigned char *buf;
	char path[1024];
	size_t len;

	snprintf(path, sizeof(path), "%s/%lld.root.json", r->meta,
	    (long long)v);
	assert_non_null(buf = repo_read(path, &len));
	repo_client_with(buf, len, dir, cap);
	free(buf);
}

/* Defaults, the client directory, this repository's one mirror, REPO_NOW. */
static inline void
repo_config(struct repo *r, const char *client,
    struct ferry_updater_config *cfg)
{
	ferry_updater_config_default(cfg);
	cfg->metadata_dir = client;
	cfg->metadata_urls = r->murl;
	cfg->nmetadata_urls = 1;
	cfg->target_urls = r->turl;
	cfg->ntarget_urls = 1;
	cfg->now = REPO_NOW;
}

static inline struct ferry_updater *
repo_updater_cfg(const struct ferry_updater_config *cfg)
{
	struct ferry_error err = { 0 };
	struct ferry_updater *u = NULL;

	if (ferry_updater_new(cfg, &u, &err) != 0)
		fail_msg("ferry_updater_new: %s", ferry_error_msg(&err));
	return u;
}

static inline struct ferry_updater *
repo_updater(struct repo *r, const char *client)
{
	struct ferry_updater_config cfg;

	repo_config(r, client, &cfg);
	return repo_updater_cfg(&cfg);
}

/* A second metadata mirror: a new directory with a copy of every file. */
static inline void
repo_mirror(struct repo *r, char *dir, size_t cap)
{
	char src[1024], dst[1024];
	unsigned char *buf;
	struct dirent *de;
	size_t len;
	DIR *d;

	snprintf(dir, cap, "%s/ferry-mirror.XXXXXX", repo_tmpdir());
	assert_non_null(mkdtemp(dir));
	assert_non_null(d = opendir(r->meta));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/%s", r->meta, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", dir, de->d_name);
		assert_non_null(buf = repo_read(src, &len));
		repo_write_file(dst, buf, len);
		free(buf);
	}
	closedir(d);
}

static inline void
repo_rmtree(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		(void)unit_rmtree(dir);
}

static inline void
repo_free(struct repo *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nroles; i++)
		json_decref(r->role[i].s);
	for (i = 0; i < REPO_NKEYS; i++)
		ferry_seckey_free(r->key[i]);
	repo_rmtree(r->dir);
	free(r);
}

/*
 * Serving the repository over HTTP: tests/e2e/repo_server.py on 127.0.0.1
 * (an ephemeral port), serving DIR, so BASE/metadata and BASE/targets are
 * the mirror URLs.  The server misbehaves on chosen paths as DIR/.attacks
 * says (repo_attack()) and records what it sent in DIR/.served
 * (repo_served()).  Nothing leaves the loopback interface.
 */
#define REPO_PYTHON "/usr/bin/python3"

/* Fetch limits for tests: short, but sane for loopback. */
#define REPO_HTTP_MIN_SPEED 1024	/* bytes/s ... */
#define REPO_HTTP_LOW_SPEED_TIME 4	/* ... for this many seconds; 2 was
					   too short for a loaded machine */
#define REPO_HTTP_TOTAL_TIMEOUT 20
#define REPO_HTTP_CONNECT_TIMEOUT 5

/* The first line of fd, the port, within 30 s; 0 if none. */
static inline int
repo_http_read_port(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char line[32];
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(line) - 1) {
		if (poll(&pfd, 1, 30000) != 1)
			return 0;
		if ((k = read(fd, line + n, 1)) == -1 && errno == EINTR)
			continue;
		if (k != 1)
			return 0;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return atoi(line);
}

/*
 * Start the server on DIR (the script is found through $top_srcdir, which
 * the harness exports; "." otherwise).  Returns the base URL,
 * "http://127.0.0.1:PORT", or NULL when Debian's python3 is missing (the
 * caller skips).  Any other failure is an assertion.  repo_http_stop()
 * stops it; call it before repo_free().
 */
static inline const char *
repo_http_start(struct repo *r)
{
	const char *top = getenv("top_srcdir");
	char script[4096];
	int in[2], out[2], port;

	assert_true(r->http_pid == 0);
	if (access(REPO_PYTHON, X_OK) != 0) {
		print_message("no %s: HTTP tests skipped\n", REPO_PYTHON);
		return NULL;
	}
	snprintf(script, sizeof(script), "%s/tests/e2e/repo_server.py",
	    top != NULL ? top : ".");
	if (access(script, R_OK) != 0)
		fail_msg("%s: %s (set top_srcdir)", script, strerror(errno));
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	if ((r->http_pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (r->http_pid == 0) {
		/* dup2() clears close-on-exec on the copies. */
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1)
			_exit(126);
		execl(REPO_PYTHON, "python3", script, r->dir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	r->http_in = in[1];
	r->http_out = out[0];
	if ((port = repo_http_read_port(r->http_out)) <= 0 || port > 65535)
		fail_msg("repo_server.py did not report a port");
	snprintf(r->http_base, sizeof(r->http_base), "http://127.0.0.1:%d",
	    port);
	snprintf(r->http_meta, sizeof(r->http_meta), "%s/metadata",
	    r->http_base);
	snprintf(r->http_tgt, sizeof(r->http_tgt), "%s/targets", r->http_base);
	r->http_murl[0] = r->http_meta;
	r->http_turl[0] = r->http_tgt;
	return r->http_base;
}

/* Stop the server (by its pid) if one runs; safe to call again. */
static inline void
repo_http_stop(struct repo *r)
{
	if (r == NULL || r->http_pid <= 0)
		return;
	close(r->http_in);
	(void)kill(r->http_pid, SIGTERM);
	while (waitpid(r->http_pid, NULL, 0) == -1 && errno == EINTR)
		;
	close(r->http_out);
	r->http_pid = 0;
	r->http_in = r->http_out = -1;
}

/*
 * repo_config() with the server as the one metadata and target mirror
 * instead of the directories, and the short fetch limits above.
 */
static inline void
repo_http_config(struct repo *r, const char *client,
    struct ferry_updater_config *cfg)
{
	assert_true(r->http_pid > 0);
	repo_config(r, client, cfg);
	cfg->metadata_urls = r->http_murl;
	cfg->target_urls = r->http_turl;
	cfg->fetch.min_speed = REPO_HTTP_MIN_SPEED;
	cfg->fetch.low_speed_time = REPO_HTTP_LOW_SPEED_TIME;
	cfg->fetch.total_timeout = REPO_HTTP_TOTAL_TIMEOUT;
	cfg->fetch.connect_timeout = REPO_HTTP_CONNECT_TIMEOUT;
}

static inline struct ferry_updater *
repo_http_updater(struct repo *r, const char *client)
{
	struct ferry_updater_config cfg;

	repo_http_config(r, client, &cfg);
	return repo_updater_cfg(&cfg);
}

/*
 * From now on the server answers path (relative to DIR, such as
 * "metadata/timestamp.json") as mode says: "endless", "drip",
 * "lie-length", "500" or "hang" (see repo_server.py); NULL serves it
 * normally again.
 */
static inline void
repo_attack(struct repo *r, const char *path, const char *mode)
{
	char file[1024];
	json_t *a;
	char *s;

	snprintf(file, sizeof(file), "%s/.attacks", r->dir);
	if ((a = json_load_file(file, 0, NULL)) == NULL)
		a = json_object();
	assert_true(json_is_object(a));
	while (*path == '/')
		path++;
	if (mode != NULL)
		repo_set(a, path, json_string(mode));
	else
		(void)json_object_del(a, path);
	assert_non_null(s = json_dumps(a, JSON_SORT_KEYS));
	repo_write_file(file, s, strlen(s));
	free(s);
	json_decref(a);
}

/* The same for target path as role lists it: every URL a client may use. */
static inline void
repo_attack_target(struct repo *r, const char *role, const char *path,
    const char *mode)
{
	const char *alg, *slash = strrchr(path, '/');
	char rel[1024];
	json_t *t, *h;

	t = json_object_get(json_object_get(repo_signed(r, role), "targets"),
	    path);
	assert_non_null(t);
	if (!r->consistent) {
		snprintf(rel, sizeof(rel), "targets/%s", path);
		repo_attack(r, rel, mode);
		return;
	}
	json_object_foreach(json_object_get(t, "hashes"), alg, h) {
		if (slash == NULL)
			snprintf(rel, sizeof(rel), "targets/%s.%s",
			    json_string_value(h), path);
		else
			snprintf(rel, sizeof(rel), "targets/%.*s/%s.%s",
			    (int)(slash - path), path, json_string_value(h),
			    slash + 1);
		repo_attack(r, rel, mode);
	}
}

/*
 * Body bytes the server sent for path (relative to DIR) so far, or -1 if
 * it was never asked for it.  A path is recorded before any byte of its
 * response goes out, so whatever a client received is counted as asked.
 */
static inline long long
repo_served(struct repo *r, const char *path)
{
	char file[1024];
	json_t *s, *v;
	long long n = -1;

	snprintf(file, sizeof(file), "%s/.served", r->dir);
	if ((s = json_load_file(file, 0, NULL)) == NULL)
		return -1;
	while (*path == '/')
		path++;
	if ((v = json_object_get(s, path)) != NULL)
		n = (long long)json_integer_value(v);
	json_decref(s);
	return n;
}

#endif

/*
 * Attacks on the updater (lib/updater.c, lib/updater_targets.c) by a
 * malicious mirror: tests/e2e/repo_server.py serving a repository built
 * by repo.h over HTTP on 127.0.0.1, under this test's control (it serves
 * old or forged files, and misbehaves on chosen paths).  The tests are
 * skipped when Debian's python3 is missing; nothing leaves the loopback
 * interface.
 *
 * Each attack is checked for its exact error code and for what it leaves
 * behind, with the rule test_updater.c states: no file in the client's
 * metadata directory changes (not even rewritten: same inode) and none
 * appears, and the updater trusts no rejected metadata.  The one allowance
 * is the specification's: a genuine timestamp or snapshot that verified in
 * the failed refresh before the step the attacker broke is persisted
 * (5.4.5, 5.5.7), and each test names those roles.  A failed download
 * leaves no file where it was to go (an earlier good one stays as it was)
 * and no temporary file beside it.
 *
 * The fetch limits are repo.h's short ones (less than 1024 bytes/s for
 * 4 s aborts a transfer), so the slow-retrieval tests end in seconds.
 */
#include "config.h"

#include "updater_fx.h"

#include <sodium.h>

#define KIB 1024u

/* Pool keys for delegated roles. */
enum { KA = K_FREE + 4 };

/* The fixture, its one mirror the server that begin() starts. */
static int
setup_http(void **state)
{
	struct fx *f;

	if (setup(state) != 0)
		return -1;
	f = *state;
	f->http = 1;
	return 0;
}

/* A new updater for the same client, its reference time now. */
static void
new_updater_at(struct fx *f, int64_t now)
{
	struct ferry_updater_config cfg;

	ferry_updater_free(f->u);
	repo_http_config(f->r, f->client, &cfg);
	cfg.now = now;
	f->u = repo_updater_cfg(&cfg);
}

/* ... and the message names the mirror the bad data came from. */
static void
refresh_fails_http(struct fx *f, int code, struct ferry_error *err)
{
	refresh_fails(f->u, code, err);
	if (strstr(err->msg, f->r->http_meta) == NULL)
		fail_msg("error does not name the mirror: %s", err->msg);
}

/* The bytes of DIR/metadata/file, as the mirror serves them now. */
static unsigned char *
take(struct fx *f, const char *file, size_t *len)
{
	unsigned char *buf;
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", f->r->meta, file);
	if ((buf = repo_read(path, len)) == NULL)
		fail_msg("%s: missing", path);
	return buf;
}

/* The mirror serves buf as DIR/metadata/file (and buf is freed). */
static void
replay(struct fx *f, const char *file, unsigned char *buf, size_t len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", f->r->meta, file);
	repo_write_file(path, buf, len);
	free(buf);
}

/* The file the repository serves role as, at version v. */
static void
file_at(struct fx *f, const char *role, int64_t v, char *out, size_t cap)
{
	int64_t cur = repo_version(f->r, role);

	repo_set_version(f->r, role, v);
	repo_file(f->r, role, out, cap);
	repo_set_version(f->r, role, cur);
}

/* ---- targets and downloads ---- */

static void
download_fails(struct fx *f, const struct ferry_target *t, const char *name,
    int code, int alt)
{
	struct ferry_error err;
	int r;

	r = download(f, t, name, &err);
	if (r != code && r != alt)
		fail_msg("download: got %s (%s), expected %s",
		    ferry_strerror(r), ferry_error_msg(&err),
		    ferry_strerror(code));
	assert_int_equal(err.code, r);
	if (strstr(err.msg, f->r->http_tgt) == NULL)
		fail_msg("error does not name the mirror: %s", err.msg);
}

/* ---- the tests ---- */

/* The honest server: refresh, lookup and download work over HTTP. */
static void
test_http_honest(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	size_t i;

	repo_add_target(f->r, "targets", "dir/app.bin", blob, strlen(blob));
	start(f);
	for (i = 0; i < 4; i++) {
		assert_int_equal(trusted_version(f->u, top4[i]), 1);
		expect_served(f, top4[i]);
	}
	assert_true(repo_served(f->r, "metadata/timestamp.json") > 0);
	assert_int_equal(repo_served(f->r, "metadata/2.root.json"),
	    (long long)strlen("no such file\n"));
	get(f, "dir/app.bin", &t);
	assert_int_equal(download(f, &t, "app.bin", &err), 0);
	expect_dl(f, "app.bin", blob, strlen(blob));
	state_save(f);
	refresh_ok(f->u);
	kept(f, NULL);
}

/* Arbitrary software: the mirror serves other bytes of the same length. */
static void
test_arbitrary_software(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	char evil[sizeof(blob)];
	struct stat before, after;
	char path[1024];

	repo_add_target(f->r, "targets", "dir/app.bin", blob, strlen(blob));
	start(f);
	get(f, "dir/app.bin", &t);
	assert_int_equal(download(f, &t, "app.bin", &err), 0);
	snprintf(path, sizeof(path), "%s/app.bin", f->dl);
	assert_int_equal(stat(path, &before), 0);
	state_save(f);

	memcpy(evil, blob, sizeof(blob));
	memcpy(evil + 100, "#!/bin/sh\necho pwned\n", 21);
	repo_serve(f->r, "targets", "dir/app.bin", evil, strlen(evil));
	/* Over a good copy: it stays, the very same file. */
	download_fails(f, &t, "app.bin", FERRY_ERR_HASH_MISMATCH,
	    FERRY_ERR_HASH_MISMATCH);
	expect_dl(f, "app.bin", blob, strlen(blob));
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	assert_int_equal(ferry_updater_is_cached(&t, path), 1);
	/* To a new place: nothing appears. */
	assert_int_equal(unlink(path), 0);
	download_fails(f, &t, "app.bin", FERRY_ERR_HASH_MISMATCH,
	    FERRY_ERR_HASH_MISMATCH);
	expect_dl(f, NULL, NULL, 0);
	kept(f, NULL);
}

/* Rollback: the old, genuine timestamp served again. */
static void
test_rollback_timestamp(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *old;
	size_t len;

	start(f);
	old = take(f, "timestamp.json", &len);
	bump_publish(f, ADV("timestamp"));
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 2);
	state_save(f);
	replay(f, "timestamp.json", old, len);
	refresh_fails_http(f, FERRY_ERR_ROLLBACK, &err);
	kept(f, NULL);
	assert_int_equal(trusted_version(f->u, "timestamp"), 2);
	/* A new updater (nothing in memory) refuses it as well. */
	new_updater_at(f, REPO_NOW);
	refresh_fails_http(f, FERRY_ERR_ROLLBACK, &err);
	kept(f, NULL);
}

/* Rollback of the snapshot, named by a timestamp or replayed. */
static void
test_rollback_snapshot(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *old;
	char file[64];
	size_t len;

	start(f);
	old = take(f, "1.snapshot.json", &len);
	bump_publish(f, ADV("snapshot", "timestamp"));
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "snapshot"), 2);
	state_save(f);

	/* A signed timestamp v3 names snapshot v1, older than trusted v2. */
	repo_set_version(f->r, "snapshot", 1);
	repo_bump(f->r, "timestamp");
	repo_timestamp_meta(f->r);
	repo_write(f->r, "timestamp");
	refresh_fails_http(f, FERRY_ERR_ROLLBACK, &err);
	kept(f, NULL);

	/*
	 * Timestamp v4 names snapshot v3; the mirror serves snapshot v1's
	 * bytes as 3.snapshot.json.  The timestamp is genuine and kept.
	 */
	repo_set_version(f->r, "snapshot", 3);
	bump_publish(f, ADV("timestamp"));
	file_at(f, "snapshot", 3, file, sizeof(file));
	replay(f, file, old, len);
	refresh_fails_http(f, FERRY_ERR_HASH_MISMATCH, &err);
	kept(f, ADV("timestamp"));
}

/* Rollback of the top-level targets. */
static void
test_rollback_targets(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *old;
	size_t len;

	start(f);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "targets"), 2);
	old = take(f, "2.targets.json", &len);
	state_save(f);

	/* Genuine timestamp and snapshot v3; targets v2 served as v3. */
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	replay(f, "3.targets.json", old, len);
	refresh_fails_http(f, FERRY_ERR_VERSION, &err);
	kept(f, ADV("timestamp", "snapshot"));
	assert_int_equal(trusted_version(f->u, "targets"), 0);

	/*
	 * A signed snapshot v4 naming targets v1: older than the v3 the
	 * trusted snapshot names.
	 */
	state_save(f);
	repo_set_version(f->r, "targets", 1);
	bump_publish(f, ADV("snapshot", "timestamp"));
	refresh_fails_http(f, FERRY_ERR_ROLLBACK, &err);
	kept(f, ADV("timestamp"));
}

/* Rollback of a delegated targets role. */
static void
test_rollback_delegated(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	unsigned char *old;
	size_t len;

	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	add(f, "apps", "apps/a", "app a");
	begin(f);
	bump_publish(f, ADV("apps", "snapshot", "timestamp"));
	get(f, "apps/a", &t);
	assert_int_equal(trusted_version(f->u, "apps"), 2);
	old = take(f, "2.apps.json", &len);
	state_save(f);

	/* Genuine timestamp and snapshot name apps v3; v2 served as v3. */
	bump_publish(f, ADV("apps", "snapshot", "timestamp"));
	replay(f, "3.apps.json", old, len);
	refresh_ok(f->u);
	assert_int_equal(lookup(f, "apps/a", &t, &err), FERRY_ERR_VERSION);
	assert_int_equal(err.code, FERRY_ERR_VERSION);
	assert_null(ferry_updater_trusted(f->u, "apps"));
	kept(f, ADV("timestamp", "snapshot"));

	/* A signed snapshot naming apps v1: older than the trusted v3 names. */
	state_save(f);
	repo_set_version(f->r, "apps", 1);
	bump_publish(f, ADV("snapshot", "timestamp"));
	refresh_fails_http(f, FERRY_ERR_ROLLBACK, &err);
	assert_int_equal(lookup(f, "apps/a", &t, &err), FERRY_ERR_ROLLBACK);
	kept(f, ADV("timestamp"));
	assert_null(ferry_updater_trusted(f->u, "apps"));
}

/*
 * Indefinite freeze: the repository moved on, but the mirror keeps
 * serving the timestamp the client has, until long after it expired.
 */
static void
test_indefinite_freeze(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *old;
	size_t i, len;

	for (i = 0; i < 4; i++)
		repo_set_expires(f->r, top4[i], REPO_NOW + 1000 * REPO_DAY);
	repo_set_expires(f->r, "timestamp", REPO_NOW + REPO_DAY);
	start(f);
	old = take(f, "timestamp.json", &len);
	repo_set_expires(f->r, "timestamp", REPO_NOW + 30 * REPO_DAY);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	replay(f, "timestamp.json", old, len);
	state_save(f);
	new_updater_at(f, REPO_NOW + 2 * REPO_DAY);
	refresh_fails_http(f, FERRY_ERR_EXPIRED, &err);
	assert_non_null(strstr(err.msg, "timestamp"));
	kept(f, NULL);
	assert_int_equal(trusted_version(f->u, "snapshot"), 0);
	assert_int_equal(trusted_version(f->u, "targets"), 0);
}

/* Endless data: timestamp.json never ends; it is read to its limit. */
static void
test_endless_data(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_error err;
	uint64_t before;

	start(f);
	state_save(f);
	bump_publish(f, ADV("timestamp"));
	repo_attack(f->r, "metadata/timestamp.json", "endless");
	before = ferry_updater_bytes(f->u);
	refresh_fails_http(f, FERRY_ERR_TOO_LARGE, &err);
	repo_http_config(f->r, f->client, &cfg);
	if (ferry_updater_bytes(f->u) - before >=
	    cfg.timestamp_max_length + 64 * KIB)
		fail_msg("%llu bytes received for a %zu-byte timestamp",
		    (unsigned long long)(ferry_updater_bytes(f->u) - before),
		    cfg.timestamp_max_length);
	kept(f, NULL);
	/* The same for a root: bounded by root_max_length. */
	repo_attack(f->r, "metadata/timestamp.json", NULL);
	repo_attack(f->r, "metadata/2.root.json", "endless");
	before = ferry_updater_bytes(f->u);
	refresh_fails_http(f, FERRY_ERR_TOO_LARGE, &err);
	assert_true(ferry_updater_bytes(f->u) - before <
	    cfg.root_max_length + 64 * KIB);
	kept(f, NULL);
	/* The attack over, the update goes through. */
	repo_attack(f->r, "metadata/2.root.json", NULL);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 2);
}

/* Endless data for a target: no more than its signed length is taken. */
static void
test_endless_target(void **state)
{
	struct fx *f = *state;
	struct ferry_target t;
	uint64_t before;

	repo_add_target(f->r, "targets", "dir/app.bin", blob, strlen(blob));
	start(f);
	get(f, "dir/app.bin", &t);
	state_save(f);
	repo_attack_target(f->r, "targets", "dir/app.bin", "endless");
	before = ferry_updater_bytes(f->u);
	download_fails(f, &t, "app.bin", FERRY_ERR_TOO_LARGE,
	    FERRY_ERR_TOO_LARGE);
	assert_true(ferry_updater_bytes(f->u) - before < t.length + 64 * KIB);
	expect_dl(f, NULL, NULL, 0);
	kept(f, NULL);
}

/* Slow retrieval: a byte every 2 s, far below the minimum speed. */
static void
test_slow_retrieval_drip(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	bump_publish(f, ADV("timestamp"));
	repo_attack(f->r, "metadata/timestamp.json", "drip");
	refresh_fails_http(f, FERRY_ERR_TIMEOUT, &err);
	kept(f, NULL);
	assert_true(repo_served(f->r, "metadata/timestamp.json") >= 0);
}

/* Slow retrieval: the connection is accepted, and nothing ever comes. */
static void
test_slow_retrieval_hang(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	bump_publish(f, ADV("snapshot", "timestamp"));
	repo_attack(f->r, "metadata/timestamp.json", "hang");
	refresh_fails_http(f, FERRY_ERR_TIMEOUT, &err);
	kept(f, NULL);
	/* The snapshot as well (after a genuine timestamp). */
	repo_attack(f->r, "metadata/timestamp.json", NULL);
	repo_attack(f->r, "metadata/2.snapshot.json", "hang");
	refresh_fails_http(f, FERRY_ERR_TIMEOUT, &err);
	kept(f, ADV("timestamp"));
}

/* Slow retrieval of a target: nothing is left behind. */
static void
test_slow_retrieval_target(void **state)
{
	struct fx *f = *state;
	struct ferry_target t;

	repo_add_target(f->r, "targets", "dir/app.bin", blob, strlen(blob));
	start(f);
	get(f, "dir/app.bin", &t);
	state_save(f);
	repo_attack_target(f->r, "targets", "dir/app.bin", "drip");
	download_fails(f, &t, "app.bin", FERRY_ERR_TIMEOUT,
	    FERRY_ERR_TIMEOUT);
	expect_dl(f, NULL, NULL, 0);
	kept(f, NULL);
}

/*
 * Mix and match (plain layout, where file names carry no version): the
 * current timestamp and snapshot with a targets.json of another time,
 * validly signed and newer than the client's.
 */
static void
test_mix_and_match(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *v2;
	size_t len;

	use_layout(f, 0);
	start(f);
	state_save(f);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	v2 = take(f, "targets.json", &len);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	replay(f, "targets.json", v2, len);
	refresh_fails_http(f, FERRY_ERR_VERSION, &err);
	kept(f, ADV("timestamp", "snapshot"));
	assert_int_equal(trusted_version(f->u, "targets"), 0);
}

/*
 * Fast-forward: an attacker holding the timestamp key pushed timestamp
 * v10.  The repository's own next version is then refused, until root
 * rotates the timestamp key and the version starts again (5.3.11).
 */
static void
test_fast_forward(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	unsigned char *evil;
	int k = R_ROOT, nk = K_FREE;
	size_t len;

	start(f);
	repo_set_version(f->r, "timestamp", 10);
	repo_publish(f->r);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 10);
	evil = take(f, "timestamp.json", &len);

	/* The repository carries on at v2: a rollback, to the client. */
	state_save(f);
	repo_set_version(f->r, "timestamp", 2);
	repo_publish(f->r);
	refresh_fails_http(f, FERRY_ERR_ROLLBACK, &err);
	kept(f, NULL);

	/* Root v2 rotates the timestamp key; timestamp starts at v1. */
	repo_root_role(f->r, "timestamp", &nk, 1, 1);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k, 1);
	repo_set_version(f->r, "timestamp", 1);
	repo_publish(f->r);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 2);
	assert_int_equal(trusted_version(f->u, "timestamp"), 1);
	expect_served(f, "root");
	expect_served(f, "timestamp");

	/* The attacker's v10, signed by the old key, is no longer trusted. */
	state_save(f);
	replay(f, "timestamp.json", evil, len);
	refresh_fails_http(f, FERRY_ERR_THRESHOLD, &err);
	kept(f, NULL);
}

/* Root v2 needs 2 of its own keys; one valid signature is not enough. */
static void
test_below_threshold_root(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int two[] = { R_ROOT, K_FREE }, k = R_ROOT;

	start(f);
	state_save(f);
	repo_root_role(f->r, "root", two, 2, 2);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k, 1);
	refresh_fails_http(f, FERRY_ERR_THRESHOLD, &err);
	kept(f, NULL);
	assert_int_equal(trusted_version(f->u, "root"), 1);
	/* Signed by both: accepted. */
	repo_publish_root(f->r, two, 2);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 2);
}

/* The timestamp needs 2 of 2 keys; v2 carries one valid signature. */
static void
test_below_threshold_timestamp(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int two[] = { R_TIMESTAMP, K_FREE }, k = R_TIMESTAMP;

	repo_root_role(f->r, "timestamp", two, 2, 2);
	start(f);
	state_save(f);
	repo_signers(f->r, "timestamp", &k, 1);
	bump_publish(f, ADV("timestamp"));
	refresh_fails_http(f, FERRY_ERR_THRESHOLD, &err);
	kept(f, NULL);
}

/* Duplicate key ids: one valid signature listed twice for threshold 2. */
static void
test_duplicate_keyids(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int tsk[] = { R_TIMESTAMP, K_FREE }, rk[] = { R_ROOT, K_FREE + 1 };

	repo_root_role(f->r, "timestamp", tsk, 2, 2);
	start(f);
	state_save(f);
	repo_bump(f->r, "timestamp");
	write_dup_sig(f, "timestamp", R_TIMESTAMP);
	refresh_fails_http(f, FERRY_ERR_META_FIELD, &err);
	kept(f, NULL);
	/* A root v2 needing 2 of its keys, the same way. */
	repo_root_role(f->r, "root", rk, 2, 2);
	repo_bump(f->r, "root");
	write_dup_sig(f, "root", R_ROOT);
	refresh_fails_http(f, FERRY_ERR_META_FIELD, &err);
	kept(f, NULL);
	assert_int_equal(trusted_version(f->u, "root"), 1);
}

static int
collect_paths(void *arg, const char *role, const struct ferry_target *t)
{
	(void)role;
	if (strcmp(t->path, "base/x") == 0)
		++*(int *)arg;
	return 0;
}

/*
 * A delegation signing outside its paths: "apps", delegated the pattern
 * "apps/" followed by "*", lists base/x.  It is never trusted for it, and
 * not even fetched for it.
 */
static void
test_delegation_outside_paths(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	int seen = 0;

	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	add(f, "apps", "apps/a", "app a");
	add(f, "apps", "base/x", "not apps' to sign");
	start(f);
	state_save(f);
	assert_int_equal(lookup(f, "base/x", &t, &err), FERRY_ERR_NOT_FOUND);
	assert_int_equal(err.code, FERRY_ERR_NOT_FOUND);
	assert_false(loaded(f, "apps"));
	assert_int_equal(repo_served(f->r, "metadata/1.apps.json"), -1);
	kept(f, NULL);
	/* Loaded for a path of its own, it still does not speak for base/. */
	get(f, "apps/a", &t);
	assert_true(loaded(f, "apps"));
	assert_true(repo_served(f->r, "metadata/1.apps.json") >= 0);
	assert_int_equal(lookup(f, "base/x", &t, &err), FERRY_ERR_NOT_FOUND);
	assert_int_equal(ferry_updater_list(f->u, 0, collect_paths, &seen,
	    &err), 0);
	assert_int_equal(seen, 0);
}

/* A lying Content-Length on a target: refused, nothing left behind. */
static void
test_lying_length_target(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;

	repo_add_target(f->r, "targets", "dir/app.bin", blob, strlen(blob));
	start(f);
	get(f, "dir/app.bin", &t);
	state_save(f);
	repo_attack_target(f->r, "targets", "dir/app.bin", "lie-length");
	download_fails(f, &t, "app.bin", FERRY_ERR_LENGTH_MISMATCH,
	    FERRY_ERR_HASH_MISMATCH);
	expect_dl(f, NULL, NULL, 0);
	kept(f, NULL);
	/* The next download, on a new connection, is fine. */
	repo_attack_target(f->r, "targets", "dir/app.bin", NULL);
	assert_int_equal(download(f, &t, "app.bin", &err), 0);
	expect_dl(f, "app.bin", blob, strlen(blob));
}

/* A lying Content-Length on metadata, and a server error. */
static void
test_lying_length_metadata(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	bump_publish(f, ADV("timestamp"));
	repo_attack(f->r, "metadata/timestamp.json", "lie-length");
	refresh_fails_http(f, FERRY_ERR_JSON, &err);
	kept(f, NULL);
	repo_attack(f->r, "metadata/timestamp.json", "500");
	refresh_fails_http(f, FERRY_ERR_FETCH, &err);
	kept(f, NULL);
	repo_attack(f->r, "metadata/timestamp.json", NULL);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_http, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_http_honest),
		T(test_arbitrary_software),
		T(test_rollback_timestamp),
		T(test_rollback_snapshot),
		T(test_rollback_targets),
		T(test_rollback_delegated),
		T(test_indefinite_freeze),
		T(test_endless_data),
		T(test_endless_target),
		T(test_slow_retrieval_drip),
		T(test_slow_retrieval_hang),
		T(test_slow_retrieval_target),
		T(test_mix_and_match),
		T(test_fast_forward),
		T(test_below_threshold_root),
		T(test_below_threshold_timestamp),
		T(test_duplicate_keyids),
		T(test_delegation_outside_paths),
		T(test_lying_length_target),
		T(test_lying_length_metadata),
	};

	if (sodium_init() < 0)
		return 1;
	fill_blob();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lib/updater.c: the top-level client workflow (specification 1.0.x, 5.3
 * to 5.6) against repositories built in temporary directories.
 *
 * Every failing refresh is checked twice: for its exact error code, and
 * for what it leaves behind.  The rule is that a failed update keeps the
 * previous good state: no file in the client's metadata directory changes
 * (not even rewritten: same inode) and none appears, and the updater never
 * trusts the rejected metadata.  The one allowance is the specification's
 * own: metadata that verified in the failed refresh before the failing
 * step is persisted (5.3.8, 5.4.5, 5.5.7), so those roles, named by each
 * test, must hold exactly what the repository served.  In memory, a refresh
 * starts again from the trusted root, so after a failure a role may also
 * be untrusted (NULL), but never at another version than before, except
 * valid metadata that could not be final (see struct fx's interim in
 * updater_fx.h, where kept() checks this rule).
 */
#include "config.h"

#include "updater_fx.h"

#include <sodium.h>

#include "lib/json.h"

/* Sign role's "signed" with keys and write it to DIR/metadata/file. */
static void
write_as(struct fx *f, const char *role, const int *keys, size_t n,
    const char *file)
{
	unsigned char *buf;
	char path[1024];
	size_t len;

	repo_sign(f->r, repo_signed(f->r, role), keys, n, &buf, &len);
	snprintf(path, sizeof(path), "%s/%s", f->r->meta, file);
	repo_write_file(path, buf, len);
	free(buf);
}

/* Replace the file at path with its document edited by one signed field. */
static void
tamper(const char *path)
{
	unsigned char *buf, *out;
	size_t len, outlen;
	json_t *doc;

	assert_non_null(buf = repo_read(path, &len));
	assert_non_null(doc = json_loadb((const char *)buf, len, 0, NULL));
	repo_set(json_object_get(doc, "signed"), "expires",
	    repo_time(REPO_NOW + 1000 * REPO_DAY));
	assert_int_equal(ferry_json_serialize(doc, &out, &outlen, NULL), 0);
	repo_write_file(path, out, outlen);
	json_decref(doc);
	free(buf);
	free(out);
}

/* All four roles trusted, each file byte-identical to the repository's. */
static void
expect_mirrors_repo(struct fx *f)
{
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(trusted_version(f->u, top4[i]),
		    repo_version(f->r, top4[i]));
		expect_served(f, top4[i]);
	}
}

static void
test_refresh_basic(void **state)
{
	struct fx *f = *state;

	start(f);
	expect_mirrors_repo(f);
	state_save(f);
	assert_int_equal(f->st.n, 4);
	assert_true(ferry_updater_bytes(f->u) > 0);
	/* Nothing new: nothing is rewritten. */
	refresh_ok(f->u);
	kept(f, NULL);
	expect_mirrors_repo(f);
}

/* Consistent snapshots off: snapshot.json and targets.json, unversioned. */
static void
test_layout_plain(void **state)
{
	struct fx *f = *state;
	char path[1024];
	struct stat sb;

	use_layout(f, 0);
	start(f);
	expect_mirrors_repo(f);
	snprintf(path, sizeof(path), "%s/1.snapshot.json", f->r->meta);
	assert_int_not_equal(stat(path, &sb), 0);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	refresh_ok(f->u);
	expect_mirrors_repo(f);
	assert_int_equal(trusted_version(f->u, "targets"), 2);
}

/* The consistent layout serves only N.snapshot.json and N.targets.json. */
static void
test_layout_consistent(void **state)
{
	struct fx *f = *state;
	char path[1024];
	struct stat sb;

	start(f);
	snprintf(path, sizeof(path), "%s/snapshot.json", f->r->meta);
	assert_int_not_equal(stat(path, &sb), 0);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	refresh_ok(f->u);
	expect_mirrors_repo(f);
	assert_int_equal(trusted_version(f->u, "snapshot"), 3);
	assert_int_equal(trusted_version(f->u, "targets"), 3);
}

static void
test_root_rotation(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int k4 = K_FREE, k5 = K_FREE + 1, k6 = K_FREE + 2;
	int s2[] = { R_ROOT, K_FREE }, s3[] = { K_FREE, K_FREE + 1 };
	int s4[] = { K_FREE + 1, K_FREE + 2 };

	start(f);
	repo_root_role(f->r, "root", &k4, 1, 1);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, s2, 2);
	repo_root_role(f->r, "root", &k5, 1, 1);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, s3, 2);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 3);
	expect_served(f, "root");
	state_save(f);

	/* v4 signed by its own new key only: v3's threshold is not met. */
	repo_root_role(f->r, "root", &k6, 1, 1);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k6, 1);
	refresh_fails(f->u, FERRY_ERR_THRESHOLD, &err);
	kept(f, NULL);
	assert_int_equal(trusted_version(f->u, "root"), 3);

	/* Cross-signed by v3's key, it is accepted. */
	repo_publish_root(f->r, s4, 2);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 4);
	expect_served(f, "root");
}

/* What on_trusted saw: "role vN" per call, joined by spaces. */
struct seen {
	char log[1024];
	int fail_at;	/* fail the call with this number (from 1); 0: never */
	int calls;
};

static int
on_trusted(void *arg, const char *role, const unsigned char *buf,
    size_t len, struct ferry_error *err)
{
	struct seen *sn = arg;
	struct ferry_meta *md = NULL;
	char one[64];

	assert_int_equal(ferry_meta_parse(buf, len, len, &md, NULL), 0);
	snprintf(one, sizeof(one), "%s%s v%lld", sn->log[0] ? " " : "", role,
	    (long long)md->version);
	ferry_meta_free(md);
	strncat(sn->log, one, sizeof(sn->log) - strlen(sn->log) - 1);
	if (++sn->calls == sn->fail_at)
		return ferry_error_set(err, FERRY_ERR_IO, "the hook says no");
	return 0;
}

/*
 * on_trusted sees every file that verified, each root version of a
 * rotation in turn; its failure fails the refresh.
 */
static void
test_on_trusted(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_updater *u;
	struct ferry_error err = { 0 };
	struct seen sn = { "", 0, 0 };
	int k4 = K_FREE, s2[] = { R_ROOT, K_FREE };

	begin(f);
	repo_root_role(f->r, "root", &k4, 1, 1);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, s2, 2);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k4, 1);
	repo_config(f->r, f->client, &cfg);
	cfg.on_trusted = on_trusted;
	cfg.on_trusted_arg = &sn;
	u = repo_updater_cfg(&cfg);
	refresh_ok(u);
	assert_string_equal(sn.log, "root v2 root v3 timestamp v1 "
	    "snapshot v1 targets v1");
	ferry_updater_free(u);

	/* Nothing new: nothing seen.  A failing hook fails the refresh. */
	memset(&sn, 0, sizeof(sn));
	u = repo_updater_cfg(&cfg);
	refresh_ok(u);
	assert_string_equal(sn.log, "");
	ferry_updater_free(u);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	sn.fail_at = 2;
	u = repo_updater_cfg(&cfg);
	assert_int_equal(ferry_updater_refresh(u, &err), FERRY_ERR_IO);
	assert_non_null(strstr(ferry_error_msg(&err), "the hook says no"));
	assert_string_equal(sn.log, "timestamp v2 snapshot v2");
	ferry_updater_free(u);
}

static void
test_root_version_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int k = R_ROOT;

	start(f);
	state_save(f);
	/* 2.root.json holding version 3, then holding version 1. */
	repo_set_version(f->r, "root", 3);
	write_as(f, "root", &k, 1, "2.root.json");
	refresh_fails(f->u, FERRY_ERR_VERSION, &err);
	kept(f, NULL);
	repo_set_version(f->r, "root", 1);
	repo_set_expires(f->r, "root", REPO_NOW + 400 * REPO_DAY);
	write_as(f, "root", &k, 1, "2.root.json");
	refresh_fails(f->u, FERRY_ERR_VERSION, &err);
	kept(f, NULL);
}

static void
test_root_expired(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int k = R_ROOT;

	start(f);
	/* An expired v2 on the way to a valid v3 is fine. */
	repo_bump(f->r, "root");
	repo_set_expires(f->r, "root", REPO_NOW - REPO_DAY);
	repo_publish_root(f->r, &k, 1);
	repo_bump(f->r, "root");
	repo_set_expires(f->r, "root", REPO_NOW + 365 * REPO_DAY);
	repo_publish_root(f->r, &k, 1);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 3);
	state_save(f);

	/* The final root expired: a freeze attack (5.3.10). */
	repo_bump(f->r, "root");
	repo_set_expires(f->r, "root", REPO_NOW);
	repo_publish_root(f->r, &k, 1);
	refresh_fails(f->u, FERRY_ERR_EXPIRED, &err);
	kept(f, ADV("root"));
}

static void
test_timestamp_rollback(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	bump_publish(f, ADV("timestamp"));
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 2);
	state_save(f);
	repo_set_version(f->r, "timestamp", 1);
	repo_publish(f->r);
	refresh_fails(f->u, FERRY_ERR_ROLLBACK, &err);
	kept(f, NULL);
}

static void
test_timestamp_snapshot_rollback(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	bump_publish(f, ADV("snapshot", "timestamp"));
	refresh_ok(f->u);
	state_save(f);
	/* Timestamp v3 names snapshot v1 (still served), older than v2. */
	repo_set_version(f->r, "snapshot", 1);
	repo_bump(f->r, "timestamp");
	repo_timestamp_meta(f->r);
	repo_write(f->r, "timestamp");
	refresh_fails(f->u, FERRY_ERR_ROLLBACK, &err);
	kept(f, NULL);
}

/* The same version again is not new: the trusted file stays as it is. */
static void
test_timestamp_equal_version(void **state)
{
	struct fx *f = *state;
	const struct ferry_meta *ts;
	char old[32];

	start(f);
	snprintf(old, sizeof(old), "%s",
	    ferry_updater_trusted(f->u, "timestamp")->expires_str);
	state_save(f);
	repo_set_expires(f->r, "timestamp", REPO_NOW + 300 * REPO_DAY);
	repo_write(f->r, "timestamp");
	refresh_ok(f->u);
	kept(f, NULL);
	assert_non_null(ts = ferry_updater_trusted(f->u, "timestamp"));
	assert_int_equal(ts->version, 1);
	assert_string_equal(ts->expires_str, old);
}

static void
test_expired_timestamp(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	repo_set_expires(f->r, "timestamp", REPO_NOW - 1);
	bump_publish(f, ADV("timestamp"));
	refresh_fails(f->u, FERRY_ERR_EXPIRED, &err);
	f->interim = "timestamp";
	f->interim_v = 2;
	kept(f, NULL);
}

/* A repository that keeps serving the same timestamp until it expires. */
static void
test_freeze_same_timestamp(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_error err;
	size_t i;

	for (i = 0; i < 4; i++)
		repo_set_expires(f->r, top4[i], REPO_NOW + 1000 * REPO_DAY);
	repo_set_expires(f->r, "timestamp", REPO_NOW + REPO_DAY);
	start(f);
	state_save(f);
	ferry_updater_free(f->u);
	repo_config(f->r, f->client, &cfg);
	cfg.now = REPO_NOW + 2 * REPO_DAY;
	f->u = repo_updater_cfg(&cfg);
	refresh_fails(f->u, FERRY_ERR_EXPIRED, &err);
	assert_non_null(strstr(err.msg, "timestamp"));
	kept(f, NULL);
}

static void
test_expired_snapshot(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	repo_set_expires(f->r, "snapshot", REPO_NOW - 1);
	bump_publish(f, ADV("snapshot", "timestamp"));
	refresh_fails(f->u, FERRY_ERR_EXPIRED, &err);
	f->interim = "snapshot";
	f->interim_v = 2;
	kept(f, ADV("timestamp"));
}

static void
test_expired_targets(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	repo_set_expires(f->r, "targets", REPO_NOW);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	refresh_fails(f->u, FERRY_ERR_EXPIRED, &err);
	kept(f, ADV("timestamp", "snapshot"));
}

static void
test_snapshot_hash_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	bump_publish(f, ADV("snapshot", "timestamp"));
	/* Re-signed after the timestamp hashed it: same length, new bytes. */
	repo_set_expires(f->r, "snapshot", REPO_NOW + 364 * REPO_DAY);
	repo_write(f->r, "snapshot");
	refresh_fails(f->u, FERRY_ERR_HASH_MISMATCH, &err);
	kept(f, ADV("timestamp"));
}

static void
set_snapshot_length(struct fx *f, int delta)
{
	json_t *mf = json_object_get(json_object_get(repo_signed(f->r,
	    "timestamp"), "meta"), "snapshot.json");

	repo_set(mf, "length", json_integer(json_integer_value(
	    json_object_get(mf, "length")) + delta));
	repo_write(f->r, "timestamp");
}

static void
test_snapshot_length_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	/* Shorter than the timestamp says. */
	bump_publish(f, ADV("snapshot", "timestamp"));
	set_snapshot_length(f, 1);
	refresh_fails(f->u, FERRY_ERR_LENGTH_MISMATCH, &err);
	kept(f, ADV("timestamp"));
	/* Longer: the listed length bounds the download itself. */
	bump_publish(f, ADV("timestamp"));
	set_snapshot_length(f, -1);
	refresh_fails(f->u, FERRY_ERR_TOO_LARGE, &err);
	kept(f, ADV("timestamp"));
}

static void
test_snapshot_version_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char from[1024], to[1024];
	unsigned char *buf;
	size_t len;

	start(f);
	state_save(f);
	/* 3.snapshot.json holds a validly signed snapshot v2. */
	repo_set_version(f->r, "snapshot", 2);
	repo_snapshot_meta(f->r);
	repo_write(f->r, "snapshot");
	repo_path(f->r, "snapshot", from, sizeof(from));
	repo_set_version(f->r, "snapshot", 3);
	repo_path(f->r, "snapshot", to, sizeof(to));
	assert_non_null(buf = repo_read(from, &len));
	repo_write_file(to, buf, len);
	free(buf);
	repo_bump(f->r, "timestamp");
	repo_timestamp_meta(f->r);
	repo_write(f->r, "timestamp");
	refresh_fails(f->u, FERRY_ERR_VERSION, &err);
	f->interim = "snapshot";
	f->interim_v = 2;
	kept(f, ADV("timestamp"));
}

static void
test_snapshot_drops_targets(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	state_save(f);
	repo_bump(f->r, "snapshot");
	repo_snapshot_meta(f->r);
	assert_int_equal(json_object_del(json_object_get(repo_signed(f->r,
	    "snapshot"), "meta"), "targets.json"), 0);
	repo_write(f->r, "snapshot");
	repo_bump(f->r, "timestamp");
	repo_timestamp_meta(f->r);
	repo_write(f->r, "timestamp");
	refresh_fails(f->u, FERRY_ERR_ROLLBACK, &err);
	kept(f, ADV("timestamp"));
}

static void
test_snapshot_lowers_targets(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	start(f);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	refresh_ok(f->u);
	state_save(f);
	/* Snapshot v3 names targets v1 (1.targets.json is still served). */
	repo_set_version(f->r, "targets", 1);
	bump_publish(f, ADV("snapshot", "timestamp"));
	refresh_fails(f->u, FERRY_ERR_ROLLBACK, &err);
	kept(f, ADV("timestamp"));
}

/* Mix and match: N.targets.json holding another targets version. */
static void
test_targets_version_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char from[1024], to[1024];
	unsigned char *buf;
	size_t len;

	start(f);
	state_save(f);
	repo_set_version(f->r, "targets", 2);
	repo_write(f->r, "targets");
	repo_path(f->r, "targets", from, sizeof(from));
	repo_set_version(f->r, "targets", 3);
	repo_path(f->r, "targets", to, sizeof(to));
	assert_non_null(buf = repo_read(from, &len));
	repo_write_file(to, buf, len);
	free(buf);
	repo_bump(f->r, "snapshot");
	repo_snapshot_meta(f->r);
	repo_write(f->r, "snapshot");
	repo_bump(f->r, "timestamp");
	repo_timestamp_meta(f->r);
	repo_write(f->r, "timestamp");
	refresh_fails(f->u, FERRY_ERR_VERSION, &err);
	kept(f, ADV("timestamp", "snapshot"));
}

static void
test_targets_hash_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	f->r->snap_hashes = 1;
	start(f);
	state_save(f);
	bump_publish(f, ADV("targets", "snapshot", "timestamp"));
	repo_set_expires(f->r, "targets", REPO_NOW + 364 * REPO_DAY);
	repo_write(f->r, "targets");
	refresh_fails(f->u, FERRY_ERR_HASH_MISMATCH, &err);
	kept(f, ADV("timestamp", "snapshot"));
}

/*
 * role needs 2 of 2 keys; after a good refresh, its next version is
 * signed by one.  The roles it depends on are bumped too.
 */
static void
threshold_case(struct fx *f, const char *role, const char *const *bumps,
    const char *const *advanced)
{
	struct ferry_error err;
	int k = -1, two[2];
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(top4[i], role) == 0)
			k = (int)i;
	two[0] = k;
	two[1] = K_FREE;
	repo_root_role(f->r, role, two, 2, 2);
	start(f);
	state_save(f);
	repo_signers(f->r, role, &k, 1);
	bump_publish(f, bumps);
	refresh_fails(f->u, FERRY_ERR_THRESHOLD, &err);
	kept(f, advanced);
}

static void
test_threshold_timestamp(void **state)
{
	threshold_case(*state, "timestamp", ADV("timestamp"), NULL);
}

static void
test_threshold_snapshot(void **state)
{
	threshold_case(*state, "snapshot", ADV("snapshot", "timestamp"),
	    ADV("timestamp"));
}

static void
test_threshold_targets(void **state)
{
	threshold_case(*state, "targets", ADV("targets", "snapshot",
	    "timestamp"), ADV("timestamp", "snapshot"));
}

static void
test_threshold_root(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int two[] = { R_ROOT, K_FREE }, k = R_ROOT, k4 = K_FREE;

	start(f);
	state_save(f);
	/* v2 needs 2 of its own keys, and v1's key alone signs it. */
	repo_root_role(f->r, "root", two, 2, 2);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k, 1);
	refresh_fails(f->u, FERRY_ERR_THRESHOLD, &err);
	kept(f, NULL);
	/* Only the new key: v1's threshold is not met. */
	repo_publish_root(f->r, &k4, 1);
	refresh_fails(f->u, FERRY_ERR_THRESHOLD, &err);
	kept(f, NULL);
	/* Both: accepted. */
	repo_publish_root(f->r, two, 2);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 2);
}

/* The same key's signature twice: refused by the parser. */
static void
test_duplicate_signature(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	int two[] = { R_TIMESTAMP, K_FREE };

	repo_root_role(f->r, "timestamp", two, 2, 2);
	start(f);
	state_save(f);
	repo_bump(f->r, "timestamp");
	write_extra_sig(f, "timestamp", R_TIMESTAMP, NULL, 0, 1);
	refresh_fails(f->u, FERRY_ERR_META_FIELD, &err);
	kept(f, NULL);
}

/* Root's timestamp role: 2 of {the timestamp key, alias -> alias_key}. */
static void
alias_root(struct fx *f, const char *alias, int alias_key)
{
	json_t *root = repo_signed(f->r, "root");
	int k = R_ROOT;

	repo_set(json_object_get(root, "keys"), alias,
	    repo_pubkey(f->r, alias_key));
	repo_set(json_object_get(root, "roles"), "timestamp", json_pack(
	    "{s:[s, s], s:i}", "keyids", repo_keyid(f->r, R_TIMESTAMP), alias,
	    "threshold", 2));
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k, 1);
}

/* Two key ids for one public key count once towards a threshold. */
static void
test_same_key_two_keyids(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char alias[65];

	start(f);
	state_save(f);
	memset(alias, 'a', 64);
	alias[64] = '\0';
	alias_root(f, alias, R_TIMESTAMP);
	repo_bump(f->r, "timestamp");
	write_extra_sig(f, "timestamp", R_TIMESTAMP, alias, R_TIMESTAMP, 0);
	refresh_fails(f->u, FERRY_ERR_THRESHOLD, &err);
	kept(f, ADV("root"));
	/* The same construction with a distinct second key is accepted. */
	memset(alias, 'b', 64);
	alias_root(f, alias, K_FREE);
	write_extra_sig(f, "timestamp", R_TIMESTAMP, alias, K_FREE, 0);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 2);
}

/* 5.3.11: a rotated timestamp key lets the version start again. */
static void
test_fast_forward_recovery(void **state)
{
	struct fx *f = *state;
	int k = R_ROOT, nk = K_FREE;

	start(f);
	repo_set_version(f->r, "timestamp", 10);
	repo_publish(f->r);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "timestamp"), 10);
	repo_root_role(f->r, "timestamp", &nk, 1, 1);
	repo_bump(f->r, "root");
	repo_publish_root(f->r, &k, 1);
	repo_set_version(f->r, "timestamp", 1);
	repo_publish(f->r);
	refresh_ok(f->u);
	assert_int_equal(trusted_version(f->u, "root"), 2);
	assert_int_equal(trusted_version(f->u, "timestamp"), 1);
	expect_served(f, "timestamp");
}

/* Endless data: the timestamp is read up to its limit and no further. */
static void
test_timestamp_too_large(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_error err;
	unsigned char *buf, *big;
	char path[1024];
	size_t len, pad = 200000;

	start(f);
	state_save(f);
	/* Valid JSON padded far past the default 16384 bytes. */
	repo_bump(f->r, "timestamp");
	repo_write(f->r, "timestamp");
	repo_path(f->r, "timestamp", path, sizeof(path));
	assert_non_null(buf = repo_read(path, &len));
	assert_non_null(big = malloc(len + pad));
	memcpy(big, buf, len);
	memset(big + len, ' ', pad);
	repo_write_file(path, big, len + pad);
	free(buf);
	free(big);
	refresh_fails(f->u, FERRY_ERR_TOO_LARGE, &err);
	kept(f, NULL);
	/* A small configured bound applies to an ordinary timestamp. */
	repo_write(f->r, "timestamp");
	ferry_updater_free(f->u);
	repo_config(f->r, f->client, &cfg);
	cfg.timestamp_max_length = 100;
	f->u = repo_updater_cfg(&cfg);
	refresh_fails(f->u, FERRY_ERR_TOO_LARGE, &err);
	kept(f, NULL);
}

static void
test_mirror_failover(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_error err;
	const char *urls[2];
	char path[1024];
	int k = R_ROOT;

	repo_publish_root(f->r, &k, 1);
	repo_publish(f->r);
	repo_mirror(f->r, f->mirror, sizeof(f->mirror));
	snprintf(path, sizeof(path), "%s/timestamp.json", f->mirror);
	tamper(path);
	repo_client(f->r, 1, f->client, sizeof(f->client));
	repo_config(f->r, f->client, &cfg);
	urls[0] = f->mirror;
	urls[1] = f->r->meta;
	cfg.metadata_urls = urls;
	cfg.nmetadata_urls = 2;
	f->u = repo_updater_cfg(&cfg);
	refresh_ok(f->u);
	expect_mirrors_repo(f);
	state_save(f);

	/* Both bad: the error names each mirror. */
	bump_publish(f, ADV("timestamp"));
	repo_path(f->r, "timestamp", path, sizeof(path));
	tamper(path);
	refresh_fails(f->u, FERRY_ERR_THRESHOLD, &err);
	if (strstr(err.msg, f->mirror) == NULL ||
	    strstr(err.msg, f->r->meta) == NULL)
		fail_msg("error does not name both mirrors: %s", err.msg);
	kept(f, NULL);
}

static void
test_new_missing_root(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_updater *u = NULL;
	struct ferry_error err = { 0 };
	char path[1024];

	start(f);
	snprintf(path, sizeof(path), "%s/root.json", f->client);
	assert_int_equal(unlink(path), 0);
	repo_config(f->r, f->client, &cfg);
	assert_int_equal(ferry_updater_new(&cfg, &u, &err), FERRY_ERR_IO);
	assert_null(u);
}

static void
test_new_root_not_self_signed(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_updater *u = NULL;
	struct ferry_error err = { 0 };
	unsigned char *buf;
	size_t len;
	int other = K_FREE;

	repo_sign(f->r, repo_signed(f->r, "root"), &other, 1, &buf, &len);
	repo_client_with(buf, len, f->client, sizeof(f->client));
	free(buf);
	repo_config(f->r, f->client, &cfg);
	assert_int_equal(ferry_updater_new(&cfg, &u, &err),
	    FERRY_ERR_THRESHOLD);
	assert_null(u);
	/* Unsigned. */
	repo_sign(f->r, repo_signed(f->r, "root"), NULL, 0, &buf, &len);
	repo_rmtree(f->client);
	repo_client_with(buf, len, f->client, sizeof(f->client));
	free(buf);
	repo_config(f->r, f->client, &cfg);
	assert_int_equal(ferry_updater_new(&cfg, &u, &err),
	    FERRY_ERR_THRESHOLD);
	assert_null(u);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_refresh_basic),
		T(test_layout_plain),
		T(test_layout_consistent),
		T(test_root_rotation),
		T(test_on_trusted),
		T(test_root_version_mismatch),
		T(test_root_expired),
		T(test_timestamp_rollback),
		T(test_timestamp_snapshot_rollback),
		T(test_timestamp_equal_version),
		T(test_expired_timestamp),
		T(test_freeze_same_timestamp),
		T(test_expired_snapshot),
		T(test_expired_targets),
		T(test_snapshot_hash_mismatch),
		T(test_snapshot_length_mismatch),
		T(test_snapshot_version_mismatch),
		T(test_snapshot_drops_targets),
		T(test_snapshot_lowers_targets),
		T(test_targets_version_mismatch),
		T(test_targets_hash_mismatch),
		T(test_threshold_root),
		T(test_threshold_timestamp),
		T(test_threshold_snapshot),
		T(test_threshold_targets),
		T(test_duplicate_signature),
		T(test_same_key_two_keyids),
		T(test_fast_forward_recovery),
		T(test_timestamp_too_large),
		T(test_mirror_failover),
		T(test_new_missing_root),
		T(test_new_root_not_self_signed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

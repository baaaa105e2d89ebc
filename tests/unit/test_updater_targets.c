/*
 * lib/updater_targets.c: target lookup through the delegation graph
 * (specification 1.0.x, 5.6.7: preorder depth-first, terminating roles,
 * paths and hash prefixes, TAP 15 succinct bins, a bound on the roles
 * visited) and downloads that verify every byte before a file appears.
 */
#include "config.h"

#include "updater_fx.h"

#include <sodium.h>

/* Pool keys for delegated roles. */
enum { KA = K_FREE, KB, KC, KD, KE, KF };

/* path is found, with the length and hashes of data. */
static void
expect_found(struct fx *f, const char *path, const char *data)
{
	struct ferry_error err;
	struct ferry_target t;
	json_t *want;
	int r;

	if ((r = lookup(f, path, &t, &err)) != 0)
		fail_msg("%s: %s: %s", path, ferry_strerror(r),
		    ferry_error_msg(&err));
	assert_string_equal(t.path, path);
	assert_int_equal(t.length, strlen(data));
	want = repo_hashes(data, strlen(data));
	if (!json_equal(want, (json_t *)t.hashes))
		fail_msg("%s: found with other hashes than \"%s\"", path, data);
	json_decref(want);
}

static void
expect_not_found(struct fx *f, const char *path, struct ferry_error *err)
{
	struct ferry_target t;
	int r;

	if ((r = lookup(f, path, &t, err)) != FERRY_ERR_NOT_FOUND)
		fail_msg("%s: got %s (%s), expected not found", path,
		    ferry_strerror(r), ferry_error_msg(err));
	assert_int_equal(err->code, FERRY_ERR_NOT_FOUND);
}

static void
test_top_level(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	add(f, "targets", "hello.txt", "hello\n");
	add(f, "targets", "dir/a.bin", "some bytes");
	begin(f);
	expect_found(f, "hello.txt", "hello\n");
	expect_found(f, "dir/a.bin", "some bytes");
	expect_not_found(f, "missing.txt", &err);
	assert_non_null(strstr(err.msg, "missing.txt"));
	expect_not_found(f, "dir/b.bin", &err);
}

/* Preorder depth-first: a role, then its children, then its siblings. */
static void
test_search_order(void **state)
{
	struct fx *f = *state;

	repo_delegate(f->r, "targets", "A", KA, 0, P("f/*"), NULL);
	repo_delegate(f->r, "targets", "B", KB, 0, P("f/*"), NULL);
	repo_delegate(f->r, "A", "A1", KC, 0, P("f/*"), NULL);
	add(f, "targets", "f/w", "top w");
	add(f, "A", "f/w", "A w");
	add(f, "A", "f/y", "A y");
	add(f, "A1", "f/x", "A1 x");
	add(f, "B", "f/x", "B x");
	add(f, "B", "f/y", "B y");
	add(f, "B", "f/z", "B z");
	begin(f);
	expect_found(f, "f/w", "top w");
	expect_found(f, "f/x", "A1 x");
	expect_found(f, "f/y", "A y");
	expect_found(f, "f/z", "B z");
}

static void
test_terminating(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	/* A terminating role without the target hides a later sibling. */
	repo_delegate(f->r, "targets", "T", KA, 1, P("t/*"), NULL);
	repo_delegate(f->r, "targets", "S", KB, 0, P("t/*"), NULL);
	add(f, "S", "t/x", "S x");
	/* ... and the later siblings of its ancestors. */
	repo_delegate(f->r, "targets", "P", KC, 0, P("u/*"), NULL);
	repo_delegate(f->r, "P", "PT", KD, 1, P("u/*"), NULL);
	repo_delegate(f->r, "targets", "Q", KE, 0, P("u/*"), NULL);
	add(f, "Q", "u/x", "Q x");
	/* Without the flag, the search goes on. */
	repo_delegate(f->r, "targets", "W", KF, 0, P("w/*"), NULL);
	repo_delegate(f->r, "targets", "X", KA, 0, P("w/*"), NULL);
	add(f, "X", "w/x", "X x");
	begin(f);
	expect_not_found(f, "t/x", &err);
	assert_true(loaded(f, "T"));
	assert_false(loaded(f, "S"));
	expect_not_found(f, "u/x", &err);
	assert_true(loaded(f, "PT"));
	assert_false(loaded(f, "Q"));
	expect_found(f, "w/x", "X x");
}

/* A role is asked only for the paths delegated to it (plain layout). */
static void
test_outside_paths(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	use_layout(f, 0);
	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	add(f, "apps", "apps/a", "app a");
	add(f, "apps", "other/x", "not apps' to sign");
	begin(f);
	expect_not_found(f, "other/x", &err);
	assert_false(loaded(f, "apps"));
	expect_found(f, "apps/a", "app a");
	assert_true(loaded(f, "apps"));
	expect_not_found(f, "other/x", &err);
}

static void
path_hash(const char *path, char *hex)
{
	unsigned char dg[FERRY_HASH_MAX];
	size_t n;

	assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, path, strlen(path),
	    dg, &n), 0);
	ferry_hex_encode(dg, n, hex);
}

static void
test_hash_prefixes(void **state)
{
	struct fx *f = *state;
	char hex[2 * FERRY_HASH_MAX + 1], mine[3], other[3];

	path_hash("p/file.bin", hex);
	snprintf(mine, sizeof(mine), "%.2s", hex);
	snprintf(other, sizeof(other), "%c%c", hex[0] == '0' ? '1' : '0',
	    hex[1]);
	repo_delegate(f->r, "targets", "h-other", KA, 0, NULL, P(other));
	repo_delegate(f->r, "targets", "h-mine", KB, 0, NULL, P("f", mine));
	add(f, "h-other", "p/file.bin", "wrong bin");
	add(f, "h-mine", "p/file.bin", "right bin");
	begin(f);
	expect_found(f, "p/file.bin", "right bin");
	assert_false(loaded(f, "h-other"));
	assert_true(loaded(f, "h-mine"));
}

/* TAP 15: the bin is the first bits of SHA-256(path), computed here. */
static void
bins_case(struct fx *f, unsigned bits)
{
	static const char *const paths[] = {
		"a.txt", "b/c.txt", "d/e/f.bin", "g", "h/i"
	};
	unsigned char dg[FERRY_HASH_MAX];
	char name[32], decoy[32];
	unsigned bin, nbins = 1u << bits;
	size_t i, k, n;

	repo_bins(f->r, "targets", "bin", bits, KA);
	for (i = 0; i < 5; i++) {
		assert_int_equal(ferry_hash_buf(FERRY_HASH_SHA256, paths[i],
		    strlen(paths[i]), dg, &n), 0);
		bin = (unsigned)dg[0] >> (8 - bits);
		snprintf(name, sizeof(name), "bin-%x", bin);
		snprintf(decoy, sizeof(decoy), "bin-%x", (bin + 1) % nbins);
		add(f, name, paths[i], paths[i]);
		add(f, decoy, paths[i], "decoy");
	}
	begin(f);
	expect_found(f, paths[0], paths[0]);
	for (k = 0, i = 0; i < nbins; i++) {
		snprintf(name, sizeof(name), "bin-%x", (unsigned)i);
		k += (size_t)loaded(f, name);
	}
	assert_int_equal(k, 1);
	for (i = 1; i < 5; i++)
		expect_found(f, paths[i], paths[i]);
}

/*
 * A bin is terminating (python-tuf, go-tuf and tuf-js agree, though TAP
 * 15's text says non-terminating): a bin without the target hides the
 * later siblings of the role that delegates to the bins.
 */
static void
test_succinct_bin_terminates(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	repo_delegate(f->r, "targets", "A", KA, 0, P("s/*"), NULL);
	repo_bins(f->r, "A", "bin", 1, KB);
	repo_delegate(f->r, "targets", "B", KC, 0, P("s/*"), NULL);
	add(f, "B", "s/x", "B x");
	begin(f);
	expect_not_found(f, "s/x", &err);
	assert_true(loaded(f, "A"));
	assert_true(loaded(f, "bin-0") || loaded(f, "bin-1"));
	assert_false(loaded(f, "B"));
}

static void
test_succinct_bins_2(void **state)
{
	bins_case(*state, 2);
}

static void
test_succinct_bins_3(void **state)
{
	bins_case(*state, 3);
}

/*
 * max_delegations bounds the delegated roles visited (python-tuf's
 * meaning: the top-level targets is not counted).
 */
static void
test_max_delegations(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_error err;

	repo_delegate(f->r, "targets", "d1", KA, 0, P("c/*"), NULL);
	repo_delegate(f->r, "d1", "d2", KB, 0, P("c/*"), NULL);
	repo_delegate(f->r, "d2", "d3", KC, 0, P("c/*"), NULL);
	repo_delegate(f->r, "d3", "d4", KD, 0, P("c/*"), NULL);
	add(f, "d2", "c/two", "two");
	add(f, "d3", "c/three", "three");
	add(f, "d4", "c/four", "four");
	begin(f);
	ferry_updater_free(f->u);
	repo_config(f->r, f->client, &cfg);
	cfg.max_delegations = 2;
	f->u = repo_updater_cfg(&cfg);
	expect_not_found(f, "c/three", &err);
	assert_non_null(strstr(err.msg, "limit"));
	assert_true(loaded(f, "d2"));
	assert_false(loaded(f, "d3"));
	expect_not_found(f, "c/four", &err);
	assert_false(loaded(f, "d3"));
	expect_found(f, "c/two", "two");
}

static void
test_cycle(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;

	repo_delegate(f->r, "targets", "A", KA, 0, P("c/*"), NULL);
	repo_delegate(f->r, "A", "B", KB, 0, P("c/*"), NULL);
	repo_delegate(f->r, "B", "A", KA, 0, P("c/*"), NULL);
	add(f, "B", "c/b", "in B");
	begin(f);
	/* Ends because every role was seen, not at the bound. */
	expect_not_found(f, "c/none", &err);
	assert_null(strstr(err.msg, "limit"));
	expect_found(f, "c/b", "in B");
}

/*
 * "release" is delegated by parent-a (key A, paths under team-a/) and by
 * parent-b (key B, under team-b/), but signed with A's key only: it speaks
 * for team-a, never for team-b, whichever delegation loaded it first.
 */
static void
diamond_repo(struct fx *f)
{
	repo_delegate(f->r, "targets", "parent-a", KA, 0,
	    P("team-a/*", "team-b/*"), NULL);
	repo_delegate(f->r, "targets", "parent-b", KB, 0,
	    P("team-a/*", "team-b/*"), NULL);
	repo_delegate(f->r, "parent-a", "release", KC, 0, P("team-a/*"), NULL);
	repo_delegate(f->r, "parent-b", "release", KD, 0, P("team-b/*"), NULL);
	add(f, "release", "team-a/app", "a's app");
	add(f, "release", "team-b/app", "b's app, signed by a");
}

static void
test_diamond(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	int both[] = { KC, KD };

	diamond_repo(f);
	begin(f);
	expect_found(f, "team-a/app", "a's app");
	assert_int_equal(lookup(f, "team-b/app", &t, &err),
	    FERRY_ERR_THRESHOLD);
	/* A new updater, nothing cached in memory: team-b first. */
	ferry_updater_free(f->u);
	f->u = repo_updater(f->r, f->client);
	assert_int_equal(lookup(f, "team-b/app", &t, &err),
	    FERRY_ERR_THRESHOLD);
	expect_found(f, "team-a/app", "a's app");
	assert_int_equal(lookup(f, "team-b/app", &t, &err),
	    FERRY_ERR_THRESHOLD);
	/* Signed by both keys, it speaks for both teams. */
	repo_signers(f->r, "release", both, 2);
	repo_bump(f->r, "release");
	repo_bump(f->r, "snapshot");
	repo_bump(f->r, "timestamp");
	repo_publish(f->r);
	ferry_updater_free(f->u);
	f->u = repo_updater(f->r, f->client);
	expect_found(f, "team-b/app", "b's app, signed by a");
	expect_found(f, "team-a/app", "a's app");
}

static void
test_delegated_threshold(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	json_t *d;
	int both[] = { KA, KB };

	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	d = repo_delegation(f->r, "targets", "apps");
	json_array_append_new(json_object_get(d, "keyids"),
	    json_string(repo_keyid(f->r, KB)));
	repo_set(d, "threshold", json_integer(2));
	repo_set(json_object_get(repo_delegations(f->r, "targets"), "keys"),
	    repo_keyid(f->r, KB), repo_pubkey(f->r, KB));
	add(f, "apps", "apps/a", "app a");
	begin(f);
	assert_int_equal(lookup(f, "apps/a", &t, &err), FERRY_ERR_THRESHOLD);
	assert_false(loaded(f, "apps"));
	repo_signers(f->r, "apps", both, 2);
	repo_bump(f->r, "apps");
	repo_bump(f->r, "snapshot");
	repo_bump(f->r, "timestamp");
	repo_publish(f->r);
	ferry_updater_free(f->u);
	f->u = repo_updater(f->r, f->client);
	expect_found(f, "apps/a", "app a");
}

/* A delegated role moves on; the local copy is used while still current. */
static void
test_delegated_updates(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	uint64_t before;

	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	add(f, "apps", "apps/a", "app a");
	begin(f);
	expect_found(f, "apps/a", "app a");
	add(f, "apps", "apps/b", "app b");
	bump_publish(f, P("apps", "snapshot", "timestamp"));
	assert_int_equal(ferry_updater_refresh(f->u, &err), 0);
	expect_found(f, "apps/b", "app b");
	assert_int_equal(ferry_updater_trusted(f->u, "apps")->version, 2);
	expect_served(f, "apps");
	/* A new updater finds apps v2 on disk and fetches nothing for it. */
	ferry_updater_free(f->u);
	f->u = repo_updater(f->r, f->client);
	assert_int_equal(ferry_updater_refresh(f->u, &err), 0);
	before = ferry_updater_bytes(f->u);
	expect_found(f, "apps/b", "app b");
	assert_true(ferry_updater_bytes(f->u) == before);
}

static void
test_delegated_expired(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;

	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	add(f, "apps", "apps/a", "app a");
	repo_set_expires(f->r, "apps", REPO_NOW);
	begin(f);
	assert_int_equal(lookup(f, "apps/a", &t, &err), FERRY_ERR_EXPIRED);
	assert_false(loaded(f, "apps"));
}

static void
test_delegated_hash_mismatch(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;

	f->r->snap_hashes = 1;
	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	add(f, "apps", "apps/a", "app a");
	begin(f);
	/* Re-signed after the snapshot hashed it: same length, new bytes. */
	repo_set_expires(f->r, "apps", REPO_NOW + 364 * REPO_DAY);
	repo_write(f->r, "apps");
	assert_int_equal(lookup(f, "apps/a", &t, &err),
	    FERRY_ERR_HASH_MISMATCH);
	assert_false(loaded(f, "apps"));
}

/* A role name is one quoted file name: it cannot leave the directory. */
static void
test_role_name_quoted(void **state)
{
	struct fx *f = *state;
	char path[1024];
	struct stat sb;

	repo_delegate(f->r, "targets", "../escape", KA, 0, P("e/*"), NULL);
	repo_delegate(f->r, "targets", "a/b", KB, 0, P("e/*"), NULL);
	add(f, "a/b", "e/x", "in a/b");
	begin(f);
	expect_found(f, "e/x", "in a/b");
	assert_non_null(ferry_updater_trusted(f->u, "../escape"));
	expect_file_served(f, "..%2Fescape.json", "../escape");
	expect_file_served(f, "a%2Fb.json", "a/b");
	snprintf(path, sizeof(path), "%s/../escape.json", f->client);
	assert_int_not_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/a", f->client);
	assert_int_not_equal(stat(path, &sb), 0);
}

/* What ferry_updater_list() reported, in order. */
struct listing {
	size_t n;
	char line[32][128];	/* "role path" */
};

static int
collect(void *arg, const char *role, const struct ferry_target *t)
{
	struct listing *l = arg;

	assert_true(l->n < 32);
	snprintf(l->line[l->n++], sizeof(l->line[0]), "%s %s", role,
	    t->path);
	return 0;
}

static void
expect_listing(const struct listing *l, const char *const *want)
{
	size_t i;

	for (i = 0; want[i] != NULL && i < l->n; i++)
		if (strcmp(l->line[i], want[i]) != 0)
			break;
	if (want[i] != NULL || i != l->n)
		fail_msg("listing differs at entry %zu: got \"%s\", expected "
		    "\"%s\"", i, i < l->n ? l->line[i] : "(end)",
		    want[i] != NULL ? want[i] : "(end)");
}

static void
test_find_and_list(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct ferry_target t;
	struct listing l = { 0 };
	const char *role = NULL;

	repo_delegate(f->r, "targets", "A", KA, 0, P("f/*"), NULL);
	repo_delegate(f->r, "targets", "B", KB, 0, P("f/*"), NULL);
	repo_delegate(f->r, "A", "A1", KC, 0, P("f/*"), NULL);
	add(f, "targets", "f/w", "top w");
	add(f, "A", "f/w", "A w");
	add(f, "A", "f/y", "A y");
	add(f, "A1", "f/x", "A1 x");
	add(f, "B", "f/x", "B x");
	add(f, "B", "f/z", "B z");
	begin(f);
	assert_int_equal(ferry_updater_find(f->u, "f/x", &t, &role, &err), 0);
	assert_string_equal(role, "A1");
	assert_int_equal(ferry_updater_find(f->u, "f/w", &t, &role, &err), 0);
	assert_string_equal(role, "targets");
	assert_int_equal(ferry_updater_find(f->u, "f/z", &t, &role, &err), 0);
	assert_string_equal(role, "B");
	assert_int_equal(ferry_updater_list(f->u, 0, collect, &l, &err), 0);
	expect_listing(&l, P("targets f/w", "A f/w", "A f/y", "A1 f/x",
	    "B f/x", "B f/z"));
	l.n = 0;
	assert_int_equal(ferry_updater_list(f->u, 2, collect, &l, &err),
	    FERRY_ERR_TOO_LARGE);
}

/*
 * A listing holds what a lookup could return: a role's entries outside the
 * paths delegated to it (or to a role above it) are trusted by no one.
 */
static void
test_list_outside_paths(void **state)
{
	struct fx *f = *state;
	struct ferry_error err = { 0 };
	struct listing l = { 0 };

	repo_delegate(f->r, "targets", "apps", KA, 0, P("apps/*"), NULL);
	repo_delegate(f->r, "targets", "P", KB, 0, P("p/*"), NULL);
	repo_delegate(f->r, "P", "C", KC, 0, P("p/*", "q/*"), NULL);
	add(f, "targets", "top.txt", "top");
	add(f, "apps", "apps/a", "app a");
	add(f, "apps", "other/x", "not apps' to sign");
	add(f, "C", "p/1", "p one");
	add(f, "C", "q/1", "not C's either");
	begin(f);
	expect_not_found(f, "other/x", &err);
	expect_not_found(f, "q/1", &err);
	assert_int_equal(ferry_updater_list(f->u, 0, collect, &l, &err), 0);
	expect_listing(&l, P("targets top.txt", "apps apps/a", "C p/1"));
}

/* Downloads. */

/* With consistent snapshots only DIR/HASH.NAME is served, and is used. */
static void
test_download_consistent(void **state)
{
	struct fx *f = *state;
	struct ferry_updater_config cfg;
	struct ferry_error err;
	struct ferry_target t;
	char path[1024];
	struct stat sb;

	repo_add_target(f->r, "targets", "dir/file.bin", blob, strlen(blob));
	snprintf(path, sizeof(path), "%s/dir/file.bin", f->r->tgt);
	assert_int_not_equal(stat(path, &sb), 0);
	begin(f);
	get(f, "dir/file.bin", &t);
	assert_int_equal(download(f, &t, "file.bin", &err), 0);
	expect_dl(f, "file.bin", blob, strlen(blob));
	/* Told not to prefix, the client asks for the plain name. */
	ferry_updater_free(f->u);
	repo_config(f->r, f->client, &cfg);
	cfg.prefix_targets_with_hash = 0;
	f->u = repo_updater_cfg(&cfg);
	get(f, "dir/file.bin", &t);
	assert_int_equal(download(f, &t, "again.bin", &err),
	    FERRY_ERR_NOT_FOUND);
	expect_dl(f, "file.bin", blob, strlen(blob));
}

static void
test_download_plain(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;

	use_layout(f, 0);
	repo_add_target(f->r, "targets", "dir/file.bin", blob, strlen(blob));
	begin(f);
	get(f, "dir/file.bin", &t);
	assert_int_equal(download(f, &t, "file.bin", &err), 0);
	expect_dl(f, "file.bin", blob, strlen(blob));
}

/* partial: f->dl/name.part holding the first n bytes of data. */
static void
put_partial(struct fx *f, const char *name, const void *data, size_t n)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s.part", f->dl, name);
	unit_put_file(path, data, n);
}

static int
unlink_dl(struct fx *f, const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", f->dl, name);
	return unlink(path);
}

static int
download_resume(struct fx *f, const struct ferry_target *t,
    const char *name, uint64_t *resumed, struct ferry_error *err)
{
	char path[1024], part[1100];

	snprintf(path, sizeof(path), "%s/%s", f->dl, name);
	snprintf(part, sizeof(part), "%s.part", path);
	ferry_error_clear(err);
	return ferry_updater_download_resume(f->u, t, path, part, resumed,
	    err);
}

/*
 * A resumed download goes on from the partial file's end; bytes there
 * that do not verify start it over; the partial file becomes the file.
 */
static void
test_download_resume(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	uint64_t resumed = 99;
	size_t len = strlen(blob);
	char bad[64];

	repo_add_target(f->r, "targets", "dir/file.bin", blob, len);
	begin(f);
	get(f, "dir/file.bin", &t);
	/* Nothing there: from 0. */
	assert_int_equal(download_resume(f, &t, "a.bin", &resumed, &err), 0);
	assert_int_equal(resumed, 0);
	expect_dl(f, "a.bin", blob, len);
	assert_int_equal(unlink_dl(f, "a.bin"), 0);
	/* Half there: the rest. */
	put_partial(f, "b.bin", blob, len / 2);
	assert_int_equal(download_resume(f, &t, "b.bin", &resumed, &err), 0);
	assert_int_equal(resumed, len / 2);
	expect_dl(f, "b.bin", blob, len);
	assert_int_equal(unlink_dl(f, "b.bin"), 0);
	/* All there: only checked. */
	put_partial(f, "c.bin", blob, len);
	assert_int_equal(download_resume(f, &t, "c.bin", &resumed, &err), 0);
	assert_int_equal(resumed, len);
	expect_dl(f, "c.bin", blob, len);
	assert_int_equal(unlink_dl(f, "c.bin"), 0);
	/* Wrong bytes, or more than the target: from 0 again. */
	memset(bad, 'x', sizeof(bad));
	put_partial(f, "d.bin", bad, len / 2 < sizeof(bad) ? len / 2 :
	    sizeof(bad));
	assert_int_equal(download_resume(f, &t, "d.bin", &resumed, &err), 0);
	assert_int_equal(resumed, 0);
	expect_dl(f, "d.bin", blob, len);
	assert_int_equal(unlink_dl(f, "d.bin"), 0);
	put_partial(f, "e.bin", blob, len);
	{
		char path[1024];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/e.bin.part", f->dl);
		assert_non_null(fp = fopen(path, "ab"));
		fputs("more", fp);
		fclose(fp);
	}
	assert_int_equal(download_resume(f, &t, "e.bin", &resumed, &err), 0);
	assert_int_equal(resumed, 0);
	expect_dl(f, "e.bin", blob, len);
}

/* f->mirror: a new empty directory, for a second target mirror. */
static void
make_mirror(struct fx *f)
{
	snprintf(f->mirror, sizeof(f->mirror), "%s/ferry-tmirror.XXXXXX",
	    repo_tmpdir());
	assert_non_null(mkdtemp(f->mirror));
}

/*
 * begin(), then the updater made again with two target mirrors: f->mirror
 * first, then the repository's own.
 */
static void
begin_two_mirrors(struct fx *f)
{
	struct ferry_updater_config cfg;
	const char *urls[2];

	begin(f);
	ferry_updater_free(f->u);
	repo_config(f->r, f->client, &cfg);
	urls[0] = f->mirror;
	urls[1] = f->r->tgt;
	cfg.target_urls = urls;
	cfg.ntarget_urls = 2;
	f->u = repo_updater_cfg(&cfg);
}

/*
 * The download one fetch at a time (what the mirror runs many of at
 * once): each mirror in turn from where the partial file stands, twice
 * round at most; freed unfinished, the partial file stays.
 */
static void
test_download_steps(void **state)
{
	struct fx *f = *state;
	struct ferry_download *d = NULL;
	struct ferry_fetcher *fe = NULL;
	struct ferry_error err, e;
	struct ferry_target t;
	const char *url;
	char path[1024], part[1100];
	uint64_t off, max, resumed = 99;
	size_t len = strlen(blob);
	int i;

	repo_add_target(f->r, "targets", "dir/file.bin", blob, len);
	make_mirror(f);
	begin_two_mirrors(f);
	get(f, "dir/file.bin", &t);
	assert_int_equal(ferry_fetcher_new(NULL, &fe), 0);

	put_partial(f, "s.bin", blob, len / 2);
	snprintf(path, sizeof(path), "%s/s.bin", f->dl);
	snprintf(part, sizeof(part), "%s.part", path);
	ferry_error_clear(&err);
	assert_int_equal(ferry_download_new(f->u, &t, path, part, &d, &err),
	    0);
	assert_int_equal(ferry_download_next(d, &url, &off, &max), 1);
	assert_true(strncmp(url, f->mirror, strlen(f->mirror)) == 0);
	assert_int_equal(off, len / 2);
	assert_int_equal(max, len);
	ferry_error_clear(&err);
	assert_int_equal(ferry_download_finish(d, &resumed, &err),
	    FERRY_ERR_INTERNAL);
	/* Cut off: the next mirror, from the same byte. */
	ferry_error_clear(&e);
	ferry_download_fetched(d, ferry_error_set(&e, FERRY_ERR_FETCH,
	    "cut off"), &e);
	assert_int_equal(ferry_download_next(d, &url, &off, &max), 1);
	assert_true(strncmp(url, f->r->tgt, strlen(f->r->tgt)) == 0);
	assert_int_equal(off, len / 2);
	ferry_error_clear(&e);
	ferry_download_fetched(d, ferry_fetch_stream_from(fe, url, off, max,
	    ferry_download_write, d, &e), &e);
	assert_int_equal(ferry_download_next(d, &url, &off, &max), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_download_finish(d, &resumed, &err), 0);
	assert_int_equal(resumed, len / 2);
	ferry_download_free(d);
	expect_dl(f, "s.bin", blob, len);

	/* Every mirror fails, twice round: the error names both. */
	snprintf(path, sizeof(path), "%s/f.bin", f->dl);
	snprintf(part, sizeof(part), "%s.part", path);
	assert_int_equal(ferry_download_new(f->u, &t, path, part, &d, &err),
	    0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(ferry_download_next(d, &url, &off, &max), 1);
		ferry_error_clear(&e);
		ferry_download_fetched(d, ferry_error_set(&e, FERRY_ERR_FETCH,
		    "down %d", i), &e);
	}
	assert_int_equal(ferry_download_next(d, &url, &off, &max), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_download_finish(d, &resumed, &err),
	    FERRY_ERR_FETCH);
	if (strstr(err.msg, "down 2") == NULL ||
	    strstr(err.msg, "down 3") == NULL ||
	    strstr(err.msg, f->mirror) == NULL)
		fail_msg("not both mirrors' reasons: %s", err.msg);
	ferry_download_free(d);
	assert_int_equal(access(path, F_OK), -1);

	/* Freed before it finished: the partial file stays. */
	put_partial(f, "k.bin", blob, 3);
	snprintf(path, sizeof(path), "%s/k.bin", f->dl);
	snprintf(part, sizeof(part), "%s.part", path);
	assert_int_equal(ferry_download_new(f->u, &t, path, part, &d, &err),
	    0);
	assert_int_equal(ferry_download_next(d, &url, &off, &max), 1);
	assert_int_equal(off, 3);
	ferry_download_free(d);
	assert_int_equal(access(part, F_OK), 0);
	assert_int_equal(access(path, F_OK), -1);
	ferry_fetcher_free(fe);
}

static void
test_download_empty(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	char path[1024];

	repo_add_target(f->r, "targets", "empty", "", 0);
	begin(f);
	get(f, "empty", &t);
	assert_int_equal(t.length, 0);
	assert_int_equal(download(f, &t, "empty", &err), 0);
	expect_dl(f, "empty", "", 0);
	snprintf(path, sizeof(path), "%s/empty", f->dl);
	assert_int_equal(ferry_updater_is_cached(&t, path), 1);
}

/* The served bytes are data with the last byte changed and len bytes. */
static void
serve_bad(struct fx *f, const char *base, const char *path, size_t len)
{
	char *bad = malloc(len + 1);

	assert_non_null(bad);
	memcpy(bad, blob, len < strlen(blob) ? len : strlen(blob));
	if (len > strlen(blob))
		memset(bad + strlen(blob), 'x', len - strlen(blob));
	if (len == strlen(blob))
		bad[len - 1] ^= 1;
	repo_serve_at(f->r, base, "targets", path, bad, len);
	free(bad);
}

static void
bad_download_case(struct fx *f, size_t len, int code, int alt)
{
	struct ferry_error err;
	struct ferry_target t;
	int r;

	repo_add_target(f->r, "targets", "file.bin", blob, strlen(blob));
	serve_bad(f, f->r->tgt, "file.bin", len);
	begin(f);
	get(f, "file.bin", &t);
	r = download(f, &t, "file.bin", &err);
	if (r != code && r != alt)
		fail_msg("download: got %s (%s), expected %s",
		    ferry_strerror(r), ferry_error_msg(&err),
		    ferry_strerror(code));
	expect_dl(f, NULL, NULL, 0);
}

static void
test_download_bad_byte(void **state)
{
	bad_download_case(*state, strlen(blob), FERRY_ERR_HASH_MISMATCH,
	    FERRY_ERR_HASH_MISMATCH);
}

static void
test_download_longer(void **state)
{
	bad_download_case(*state, strlen(blob) + 1, FERRY_ERR_TOO_LARGE,
	    FERRY_ERR_LENGTH_MISMATCH);
}

static void
test_download_shorter(void **state)
{
	bad_download_case(*state, strlen(blob) - 1, FERRY_ERR_LENGTH_MISMATCH,
	    FERRY_ERR_LENGTH_MISMATCH);
}

/* Endless data: far more than the signed length is refused unread. */
static void
test_download_endless(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;
	size_t big = 4u << 20;
	uint64_t before;
	char *buf;

	repo_add_target(f->r, "targets", "file.bin", blob, strlen(blob));
	assert_non_null(buf = malloc(big));
	memset(buf, 'x', big);
	repo_serve(f->r, "targets", "file.bin", buf, big);
	free(buf);
	begin(f);
	get(f, "file.bin", &t);
	before = ferry_updater_bytes(f->u);
	assert_int_equal(download(f, &t, "file.bin", &err),
	    FERRY_ERR_TOO_LARGE);
	assert_true(ferry_updater_bytes(f->u) - before <= t.length + 1);
	expect_dl(f, NULL, NULL, 0);
}

/* A target as the caller keeps it beyond the metadata it came from. */
struct kept_target {
	struct ferry_target t;
	char *path;
	json_t *hashes;
};

static void
keep_target(const struct ferry_target *t, struct kept_target *k)
{
	k->t = *t;
	assert_non_null(k->t.path = k->path = strdup(t->path));
	assert_non_null(k->t.hashes = k->hashes = json_deep_copy(t->hashes));
	k->t.custom = NULL;
}

static void
test_download_keeps_good(void **state)
{
	struct fx *f = *state;
	struct kept_target good;
	struct ferry_error err = { 0 };
	struct ferry_target t;
	char path[1024], v2[] = "version two of the app";
	struct stat before, after;

	repo_add_target(f->r, "targets", "app.bin", blob, strlen(blob));
	begin(f);
	get(f, "app.bin", &t);
	assert_int_equal(download(f, &t, "app.bin", &err), 0);
	keep_target(&t, &good);
	snprintf(path, sizeof(path), "%s/app.bin", f->dl);
	assert_int_equal(ferry_updater_is_cached(&good.t, path), 1);
	assert_int_equal(stat(path, &before), 0);

	/* v2 is signed, but a mirror serves it corrupted. */
	repo_add_target(f->r, "targets", "app.bin", v2, strlen(v2));
	v2[0] = 'V';
	repo_serve(f->r, "targets", "app.bin", v2, strlen(v2));
	repo_bump(f->r, "targets");
	repo_bump(f->r, "snapshot");
	repo_bump(f->r, "timestamp");
	repo_publish(f->r);
	assert_int_equal(ferry_updater_refresh(f->u, &err), 0);
	get(f, "app.bin", &t);
	assert_int_equal(t.length, strlen(v2));
	assert_int_equal(download(f, &t, "app.bin", &err),
	    FERRY_ERR_HASH_MISMATCH);
	expect_dl(f, "app.bin", blob, strlen(blob));
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	assert_int_equal(ferry_updater_is_cached(&good.t, path), 1);
	assert_int_equal(ferry_updater_is_cached(&t, path), 0);

	/* One byte changed: no longer the cached target. */
	blob[100] ^= 1;
	repo_write_file(path, blob, strlen(blob));
	blob[100] ^= 1;
	assert_int_equal(ferry_updater_is_cached(&good.t, path), 0);
	/* One byte more: neither. */
	blob[sizeof(blob) - 1] = 'z';
	repo_write_file(path, blob, sizeof(blob));
	blob[sizeof(blob) - 1] = '\0';
	assert_int_equal(ferry_updater_is_cached(&good.t, path), 0);
	snprintf(path, sizeof(path), "%s/missing", f->dl);
	assert_int_equal(ferry_updater_is_cached(&good.t, path), 0);
	free(good.path);
	json_decref(good.hashes);
}

static void
test_target_mirror_failover(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	struct ferry_target t;

	repo_add_target(f->r, "targets", "dir/file.bin", blob, strlen(blob));
	make_mirror(f);
	serve_bad(f, f->mirror, "dir/file.bin", strlen(blob));
	begin_two_mirrors(f);
	get(f, "dir/file.bin", &t);
	assert_int_equal(download(f, &t, "file.bin", &err), 0);
	expect_dl(f, "file.bin", blob, strlen(blob));
	/* Both bad: the error names both, and nothing new appears. */
	serve_bad(f, f->r->tgt, "dir/file.bin", strlen(blob));
	assert_int_equal(download(f, &t, "other.bin", &err),
	    FERRY_ERR_HASH_MISMATCH);
	if (strstr(err.msg, f->mirror) == NULL ||
	    strstr(err.msg, f->r->tgt) == NULL)
		fail_msg("error does not name both mirrors: %s", err.msg);
	expect_dl(f, "file.bin", blob, strlen(blob));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_top_level),
		T(test_search_order),
		T(test_terminating),
		T(test_outside_paths),
		T(test_hash_prefixes),
		T(test_succinct_bin_terminates),
		T(test_succinct_bins_2),
		T(test_succinct_bins_3),
		T(test_max_delegations),
		T(test_cycle),
		T(test_diamond),
		T(test_delegated_threshold),
		T(test_delegated_updates),
		T(test_delegated_expired),
		T(test_delegated_hash_mismatch),
		T(test_role_name_quoted),
		T(test_find_and_list),
		T(test_list_outside_paths),
		T(test_download_consistent),
		T(test_download_plain),
		T(test_download_steps),
		T(test_download_empty),
		T(test_download_resume),
		T(test_download_bad_byte),
		T(test_download_longer),
		T(test_download_shorter),
		T(test_download_endless),
		T(test_download_keeps_good),
		T(test_target_mirror_failover),
	};

	if (sodium_init() < 0)
		return 1;
	fill_blob();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

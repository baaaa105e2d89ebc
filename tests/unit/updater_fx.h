/*
 * The fixture shared by the updater tests (test_updater.c,
 * test_updater_targets.c, test_updater_http.c): a repository built by
 * repo.h, a client's metadata directory, a download directory, and the
 * checks of what a refresh leaves behind.
 *
 * The rule kept() checks is test_updater.c's: a failed update keeps the
 * previous good state, except the roles a test names as having verified
 * before the failing step.
 *
 * Everything is static inline, as in repo.h, so a test that uses a part
 * compiles cleanly without the rest.
 */
#ifndef FERRY_TEST_UPDATER_FX_H
#define FERRY_TEST_UPDATER_FX_H

#include "repo.h"

#include "lib/json.h"

/* A NULL-terminated list of role names (ADV) or paths and patterns (P). */
#define ADV(...) ((const char *const []){ __VA_ARGS__, NULL })
#define P(...) ((const char *const []){ __VA_ARGS__, NULL })
#define MAXFILES 32

static const char *const top4[] = { "root", "timestamp", "snapshot",
	"targets" };

/* A target's contents; fill_blob() from main() before the tests run. */
static char blob[3000];

/* The client's metadata directory and trusted versions at one moment. */
struct state {
	size_t n;
	char name[MAXFILES][256];
	unsigned char *buf[MAXFILES];
	size_t len[MAXFILES];
	ino_t ino[MAXFILES];
	int64_t ver[4];		/* by top4; 0: not trusted */
};

struct fx {
	struct repo *r;
	char client[512], dl[512], mirror[512];
	struct ferry_updater *u;
	struct state st;
	int http;		/* begin() serves the repository over HTTP */
	/*
	 * A role the updater may hold in memory at interim_v after a failed
	 * refresh: valid metadata that could not be final (expired, or not
	 * the version named), kept for rollback checks as python-tuf keeps
	 * it.  Its file must not change.
	 */
	const char *interim;
	int64_t interim_v;
};

static inline void
fill_blob(void)
{
	size_t i;

	for (i = 0; i < sizeof(blob) - 1; i++)
		blob[i] = (char)('a' + i % 26);
	blob[sizeof(blob) - 1] = '\0';
}

static inline void
state_free(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->buf[i]);
	memset(st, 0, sizeof(*st));
}

static inline int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->r = repo_new(1);
	snprintf(f->dl, sizeof(f->dl), "%s/ferry-dl.XXXXXX", repo_tmpdir());
	if (mkdtemp(f->dl) == NULL)
		return -1;
	*state = f;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fx *f = *state;

	ferry_updater_free(f->u);
	repo_http_stop(f->r);
	repo_rmtree(f->client);
	repo_rmtree(f->dl);
	repo_rmtree(f->mirror);
	state_free(&f->st);
	repo_free(f->r);
	free(f);
	return 0;
}

static inline void
use_layout(struct fx *f, int consistent)
{
	f->r->consistent = consistent;
	repo_set(repo_signed(f->r, "root"), "consistent_snapshot",
	    json_boolean(consistent));
}

static inline int64_t
trusted_version(const struct ferry_updater *u, const char *role)
{
	const struct ferry_meta *md = ferry_updater_trusted(u, role);

	return md == NULL ? 0 : md->version;
}

static inline void
refresh_ok(struct ferry_updater *u)
{
	struct ferry_error err = { 0 };
	int r;

	if ((r = ferry_updater_refresh(u, &err)) != 0)
		fail_msg("refresh failed: %s: %s", ferry_strerror(r),
		    ferry_error_msg(&err));
}

static inline void
refresh_fails(struct ferry_updater *u, int code, struct ferry_error *err)
{
	int r;

	ferry_error_clear(err);
	r = ferry_updater_refresh(u, err);
	if (r != code)
		fail_msg("refresh: got %d (%s: %s), expected %s", r,
		    ferry_strerror(r), ferry_error_msg(err),
		    ferry_strerror(code));
	assert_int_equal(err->code, code);
}

/*
 * Publish root v1 and the rest, and make a client trusting root v1 (not
 * refreshed).  Its one mirror is DIR, or with f->http the server, started
 * here; without Debian's python3 the test is skipped.
 */
static inline void
begin(struct fx *f)
{
	int k = R_ROOT;

	repo_publish_root(f->r, &k, 1);
	repo_publish(f->r);
	repo_client(f->r, 1, f->client, sizeof(f->client));
	if (!f->http) {
		f->u = repo_updater(f->r, f->client);
		return;
	}
	if (repo_http_start(f->r) == NULL)
		skip();
	f->u = repo_http_updater(f->r, f->client);
}

/* ... and a first good refresh. */
static inline void
start(struct fx *f)
{
	begin(f);
	refresh_ok(f->u);
}

static inline void
state_save(struct fx *f)
{
	struct state *st = &f->st;
	char path[1024];
	struct dirent *de;
	struct stat sb;
	size_t i;
	DIR *d;

	state_free(st);
	assert_non_null(d = opendir(f->client));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(st->n < MAXFILES);
		snprintf(st->name[st->n], sizeof(st->name[0]), "%s",
		    de->d_name);
		snprintf(path, sizeof(path), "%s/%s", f->client, de->d_name);
		assert_int_equal(stat(path, &sb), 0);
		st->ino[st->n] = sb.st_ino;
		assert_non_null(st->buf[st->n] = repo_read(path,
		    &st->len[st->n]));
		st->n++;
	}
	closedir(d);
	for (i = 0; i < 4; i++)
		st->ver[i] = trusted_version(f->u, top4[i]);
}

static inline int
listed(const char *const *names, const char *name)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return 1;
	return 0;
}

/*
 * The client's file (a role's name quoted, as the updater stores it)
 * holds exactly what the repository serves as role.
 */
static inline void
expect_file_served(struct fx *f, const char *file, const char *role)
{
	unsigned char *mine, *theirs;
	char path[1024];
	size_t n1, n2;

	snprintf(path, sizeof(path), "%s/%s", f->client, file);
	if ((mine = repo_read(path, &n1)) == NULL)
		fail_msg("%s: missing", path);
	repo_path(f->r, role, path, sizeof(path));
	assert_non_null(theirs = repo_read(path, &n2));
	if (n1 != n2 || memcmp(mine, theirs, n1) != 0)
		fail_msg("client's %s differs from the repository's %s",
		    file, path);
	free(mine);
	free(theirs);
}

/* The same for a role whose name needs no quoting. */
static inline void
expect_served(struct fx *f, const char *role)
{
	char file[300];

	snprintf(file, sizeof(file), "%s.json", role);
	expect_file_served(f, file, role);
}

/*
 * The state saved before is kept (see the comment at the top of
 * test_updater.c); the roles in advanced verified in this refresh
 * (genuine metadata) and hold the repository's current version instead.
 */
static inline void
kept(struct fx *f, const char *const *advanced)
{
	const struct state *st = &f->st;
	char path[1024], role[256];
	struct dirent *de;
	struct stat sb;
	unsigned char *buf;
	size_t i, len;
	DIR *d;

	assert_non_null(d = opendir(f->client));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(role, sizeof(role), "%s", de->d_name);
		if (strlen(role) > 5)
			role[strlen(role) - 5] = '\0';	/* ".json" */
		if (listed(advanced, role)) {
			expect_served(f, role);
			continue;
		}
		i = 0;
		while (i < st->n && strcmp(st->name[i], de->d_name) != 0)
			i++;
		if (i == st->n)
			fail_msg("%s appeared in the client", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", f->client, de->d_name);
		assert_int_equal(stat(path, &sb), 0);
		assert_non_null(buf = repo_read(path, &len));
		if (len != st->len[i] || memcmp(buf, st->buf[i], len) != 0 ||
		    sb.st_ino != st->ino[i])
			fail_msg("client's %s was changed", de->d_name);
		free(buf);
	}
	closedir(d);
	for (i = 0; i < st->n; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->client, st->name[i]);
		if (stat(path, &sb) != 0)
			fail_msg("client's %s was removed", st->name[i]);
	}
	for (i = 0; i < 4; i++) {
		int64_t v = trusted_version(f->u, top4[i]);

		if (listed(advanced, top4[i]))
			assert_int_equal(v, repo_version(f->r, top4[i]));
		else if (i == R_ROOT)
			assert_int_equal(v, st->ver[i]);
		else if (v != 0 && v != st->ver[i] && !(f->interim != NULL &&
		    strcmp(f->interim, top4[i]) == 0 && v == f->interim_v))
			fail_msg("%s v%lld trusted, expected v%lld or none",
			    top4[i], (long long)v, (long long)st->ver[i]);
	}
}

/* Bump each of the roles named, then publish. */
static inline void
bump_publish(struct fx *f, const char *const *roles)
{
	for (; *roles != NULL; roles++)
		repo_bump(f->r, *roles);
	repo_publish(f->r);
}

/*
 * Write role signed by pool key key, plus a signature listed under keyid
 * alias made by pool key alias_key (copy: the first signature again).
 */
static inline void
write_extra_sig(struct fx *f, const char *role, int key, const char *alias,
    int alias_key, int copy)
{
	char sighex[FERRY_ED25519_SIG_HEXLEN + 1], path[1024];
	unsigned char *buf, *out;
	struct ferry_meta *md = NULL;
	size_t len, outlen;
	json_t *sigs;

	repo_sign(f->r, repo_signed(f->r, role), &key, 1, &buf, &len);
	assert_int_equal(ferry_meta_parse(buf, len, len, &md, NULL), 0);
	sigs = json_object_get(md->doc, "signatures");
	if (copy) {
		assert_int_equal(json_array_append_new(sigs, json_deep_copy(
		    json_array_get(sigs, 0))), 0);
	} else {
		assert_int_equal(ferry_seckey_sign(repo_key(f->r, alias_key),
		    md->canon, md->canonlen, sighex), 0);
		assert_int_equal(json_array_append_new(sigs, json_pack(
		    "{s:s, s:s}", "keyid", alias, "sig", sighex)), 0);
	}
	assert_int_equal(ferry_json_serialize(md->doc, &out, &outlen, NULL),
	    0);
	repo_path(f->r, role, path, sizeof(path));
	repo_write_file(path, out, outlen);
	ferry_meta_free(md);
	free(buf);
	free(out);
}

/* Role (at its current version) with its one signature listed twice. */
static inline void
write_dup_sig(struct fx *f, const char *role, int key)
{
	write_extra_sig(f, role, key, NULL, 0, 1);
}

/* ---- targets and downloads ---- */

static inline void
add(struct fx *f, const char *role, const char *path, const char *data)
{
	repo_add_target(f->r, role, path, data, strlen(data));
}

static inline int
lookup(struct fx *f, const char *path, struct ferry_target *t,
    struct ferry_error *err)
{
	ferry_error_clear(err);
	return ferry_updater_target(f->u, path, t, err);
}

static inline void
get(struct fx *f, const char *path, struct ferry_target *t)
{
	struct ferry_error err;
	int r;

	if ((r = lookup(f, path, t, &err)) != 0)
		fail_msg("%s: %s: %s", path, ferry_strerror(r),
		    ferry_error_msg(&err));
}

static inline int
download(struct fx *f, const struct ferry_target *t, const char *name,
    struct ferry_error *err)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", f->dl, name);
	ferry_error_clear(err);
	return ferry_updater_download(f->u, t, path, err);
}

/*
 * The download directory holds exactly the file name with data (or
 * nothing when name is NULL): no temporary file, hidden or not, nothing
 * else.
 */
static inline void
expect_dl(struct fx *f, const char *name, const void *data, size_t len)
{
	struct dirent *de;
	unsigned char *buf;
	char path[1024];
	size_t n = 0, got;
	DIR *d;

	assert_non_null(d = opendir(f->dl));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (name == NULL || strcmp(de->d_name, name) != 0)
			fail_msg("stray file %s in the download directory",
			    de->d_name);
	}
	closedir(d);
	assert_int_equal(n, name != NULL);
	if (name == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", f->dl, name);
	assert_non_null(buf = repo_read(path, &got));
	assert_int_equal(got, len);
	assert_memory_equal(buf, data, len);
	free(buf);
}

/* Whether the updater loaded role (in memory, or persisted it). */
static inline int
loaded(struct fx *f, const char *role)
{
	char path[1024];
	struct stat sb;
	int mem = ferry_updater_trusted(f->u, role) != NULL, disk;

	snprintf(path, sizeof(path), "%s/%s.json", f->client, role);
	disk = stat(path, &sb) == 0;
	assert_int_equal(mem, disk);
	return mem;
}

#endif

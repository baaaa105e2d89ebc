/* Unit tests for lib/catalog.c: the SQLite catalog of publications. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/catalog.h"
#include "lib/err.h"

/* What lib/catalog.c writes in PRAGMA application_id: "Fery". */
#define APPID	0x46657279

#define SHA_A \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B \
	"0123456789abcdef0123456789abcdef" "0123456789abcdef0123456789abcdef"
#define SHA_C \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

#define T0	1700000000

struct fx {
	char dir[UNIT_DIR_MAX];
	char path[512];		/* DIR/catalog.db, not created */
	char shm[256];		/* a tmpfs directory, if one was made */
};
UNIT_FX_CHECK(struct fx);

/* ---- the allocator hook: SQLite fails its Nth allocation ---- */

static sqlite3_mem_methods real_mem;
static int hook_installed;
static long oom_countdown;	/* 0: off */
static int oom_hit;

static void *
hook_malloc(int n)
{
	if (oom_countdown > 0 && --oom_countdown == 0) {
		oom_hit = 1;
		return NULL;
	}
	return real_mem.xMalloc(n);
}

static void *
hook_realloc(void *p, int n)
{
	if (oom_countdown > 0 && --oom_countdown == 0) {
		oom_hit = 1;
		return NULL;
	}
	return real_mem.xRealloc(p, n);
}

static void
install_hook(void)
{
	sqlite3_mem_methods m;

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
		return;
	m = real_mem;
	m.xMalloc = hook_malloc;
	m.xRealloc = hook_realloc;
	hook_installed = sqlite3_config(SQLITE_CONFIG_MALLOC, &m) ==
	    SQLITE_OK;
}

/* ---- helpers ---- */

static int
setup(void **state)
{
	struct fx *f = unit_fx_new(state, sizeof(*f), "catalog");

	if (f == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/catalog.db", f->dir);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->shm[0] != '\0')
		(void)unit_rmtree(f->shm);
	return unit_fx_teardown(state);
}

static struct ferry_catalog *
open_ok(const char *path)
{
	struct ferry_catalog *c = NULL;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	if ((r = ferry_catalog_open(path, &c, &err)) != 0)
		fail_msg("open %s: %d %s", path, r, ferry_error_msg(&err));
	assert_non_null(c);
	return c;
}

/* Open must fail with code; the message is returned in err. */
static void
open_fails(const char *path, int code, struct ferry_error *err)
{
	struct ferry_catalog *c = (struct ferry_catalog *)(uintptr_t)0x1;

	memset(err, 0, sizeof(*err));
	assert_int_equal(ferry_catalog_open(path, &c, err), code);
	/* Out-parameters are set only on success. */
	assert_ptr_equal(c, (struct ferry_catalog *)(uintptr_t)0x1);
	assert_int_equal(err->code, code);
}

static void
pub_init(struct ferry_catalog_pub *p, int64_t state, const char *kind)
{
	memset(p, 0, sizeof(*p));
	p->id = -1;
	p->state = state;
	p->kind = kind;
	p->actor = "alice (uid 1000)";
	p->bundle_sha256 = strcmp(kind, "publish") == 0 ? SHA_A : NULL;
	p->when = T0 + state;
	p->root_version = 1;
	p->targets_version = state;
	p->snapshot_version = state + 10;
	p->timestamp_version = state + 20;
	p->timestamp_expires = T0 + state + 86400;
	p->status = FERRY_CATALOG_PRUNED;	/* must be ignored */
}

static int64_t
add_pub(struct ferry_catalog *c, int64_t state)
{
	struct ferry_catalog_pub p;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	pub_init(&p, state, "publish");
	if ((r = ferry_catalog_pub_add(c, &p, &err)) != 0)
		fail_msg("pub_add: %d %s", r, ferry_error_msg(&err));
	assert_true(p.id > 0);
	assert_int_equal(p.status, FERRY_CATALOG_PENDING);
	return p.id;
}

static void
live_ok(struct ferry_catalog *c, int64_t id)
{
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	if ((r = ferry_catalog_pub_live(c, id, &err)) != 0)
		fail_msg("pub_live %" PRId64 ": %d %s", id, r,
		    ferry_error_msg(&err));
}

/* A connection of the test's own, not through the code under test. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	(void)sqlite3_busy_timeout(db, 10000);
	return db;
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
raw_text(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Run sql on a connection of its own; SQLite's result code. */
static int
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	sqlite3_close(db);
	return rc;
}

/* What pub_foreach reported. */
struct seen {
	int n;
	int stop_at;		/* the call that returns 7; 0: none */
	int64_t id[32];
	int64_t state[32];
	enum ferry_catalog_status status[32];
};

static int
seen_cb(const struct ferry_catalog_pub *p, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 32);
	assert_non_null(p->kind);
	assert_non_null(p->actor);
	s->id[s->n] = p->id;
	s->state[s->n] = p->state;
	s->status[s->n] = p->status;
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static void
list_pubs(struct ferry_catalog *c, unsigned limit, struct seen *s)
{
	struct ferry_error err;

	memset(&err, 0, sizeof(err));
	memset(s, 0, sizeof(*s));
	if (ferry_catalog_pub_foreach(c, limit, seen_cb, s, &err) != 0)
		fail_msg("pub_foreach: %s", ferry_error_msg(&err));
}

/* The status of publication id, as pub_foreach reports it. */
static enum ferry_catalog_status
status_of(struct ferry_catalog *c, int64_t id)
{
	struct seen s;
	int i;

	list_pubs(c, 0, &s);
	for (i = 0; i < s.n; i++)
		if (s.id[i] == id)
			return s.status[i];
	fail_msg("no publication %" PRId64, id);
	return FERRY_CATALOG_PENDING;
}

static int64_t
live_id(struct ferry_catalog *c)
{
	struct ferry_catalog_pub p;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_catalog_pub_get_live(c, &p, &err);
	if (r == FERRY_ERR_NOT_FOUND)
		return 0;
	assert_int_equal(r, 0);
	assert_int_equal(p.status, FERRY_CATALOG_LIVE);
	return p.id;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- opening ---- */

static void
test_open_creates(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c;
	char path[600], mode[32];
	mode_t old;

	/* 0600 whatever the umask: neither from it nor cut by it. */
	old = umask(0);
	c = open_ok(f->path);
	umask(old);
	assert_int_equal(unit_perm_of(f->path), 0600);
	assert_int_equal(raw_int(f->path, "PRAGMA application_id"), APPID);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    FERRY_CATALOG_SCHEMA_VERSION);
	raw_text(f->path, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	/* The WAL and shared-memory files SQLite adds have its mode. */
	(void)add_pub(c, 1);
	snprintf(path, sizeof(path), "%s-wal", f->path);
	assert_int_equal(unit_perm_of(path), 0600);
	snprintf(path, sizeof(path), "%s-shm", f->path);
	assert_int_equal(unit_perm_of(path), 0600);
	ferry_catalog_close(c);

	snprintf(path, sizeof(path), "%s/strict.db", f->dir);
	old = umask(0277);
	c = open_ok(path);
	umask(old);
	assert_int_equal(unit_perm_of(path), 0600);
	(void)add_pub(c, 1);
	ferry_catalog_close(c);
	ferry_catalog_close(NULL);
}

static void
test_open_bad(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = NULL;
	struct ferry_error err;
	char path[600], want[700];

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_catalog_open(NULL, &c, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_open("", &c, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_open(f->path, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_null(c);

	snprintf(path, sizeof(path), "%s/nodir/catalog.db", f->dir);
	open_fails(path, FERRY_ERR_IO, &err);
	snprintf(want, sizeof(want), "%s: cannot create: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err.msg, want);

	/* A directory. */
	open_fails(f->dir, FERRY_ERR_DATABASE, &err);
	assert_non_null(strstr(err.msg, f->dir));

	/* A symbolic link to a good catalog. */
	ferry_catalog_close(open_ok(f->path));
	snprintf(path, sizeof(path), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, path), 0);
	open_fails(path, FERRY_ERR_DATABASE, &err);
	assert_non_null(strstr(err.msg, path));
}

static void
test_reopen(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c;
	struct ferry_catalog_pub p;
	struct ferry_error err;
	int64_t id;

	memset(&err, 0, sizeof(err));
	c = open_ok(f->path);
	id = add_pub(c, 3);
	live_ok(c, id);
	assert_int_equal(ferry_catalog_audit(c, T0, "alice", "publish", id,
	    "bundle " SHA_A, &err), 0);
	ferry_catalog_close(c);

	c = open_ok(f->path);
	assert_int_equal(ferry_catalog_pub_get_live(c, &p, &err), 0);
	assert_int_equal(p.id, id);
	assert_int_equal(p.state, 3);
	assert_string_equal(p.kind, "publish");
	assert_string_equal(p.bundle_sha256, SHA_A);
	assert_int_equal(p.snapshot_version, 13);
	ferry_catalog_close(c);
	/* A third open does not migrate again or lose anything. */
	c = open_ok(f->path);
	assert_int_equal(live_id(c), id);
	ferry_catalog_close(c);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"),
	    FERRY_CATALOG_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path,
	    "SELECT count(*) FROM publications"), 1);
}

/* Another program's SQLite file is refused, and left as it was. */
static void
test_refuse_foreign_sqlite(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char want[600], mode[32];

	assert_int_equal(raw_exec(f->path, "CREATE TABLE t (x);"
	    "INSERT INTO t VALUES (42);"), SQLITE_OK);
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	snprintf(want, sizeof(want), "%s: not a Ferry catalog", f->path);
	assert_string_equal(err.msg, want);
	raw_text(f->path, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "delete");
	assert_int_equal(raw_int(f->path, "SELECT x FROM t"), 42);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema"),
	    1);

	/* Empty, but another program's by its application id. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(raw_exec(f->path, "PRAGMA application_id = 7"),
	    SQLITE_OK);
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	assert_string_equal(err.msg, want);
	assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 7);

	/* A schema version of ours, but not our application id. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(raw_exec(f->path, "PRAGMA user_version = 1;"
	    "CREATE TABLE publications (id INTEGER PRIMARY KEY);"), SQLITE_OK);
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	assert_string_equal(err.msg, want);
	assert_int_equal(raw_exec(f->path, "PRAGMA application_id = 1"),
	    SQLITE_OK);
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	assert_string_equal(err.msg, want);
}

static void
test_refuse_not_sqlite(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char text[4096], want[600], back[4096];
	FILE *fp;
	size_t i;

	for (i = 0; i < sizeof(text); i++)
		text[i] = "hello, catalog\n"[i % 15];
	unit_put_file(f->path, text, sizeof(text));
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	snprintf(want, sizeof(want), "%s: not a Ferry catalog", f->path);
	assert_memory_equal(err.msg, want, strlen(want));
	/* Left exactly as it was. */
	fp = fopen(f->path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(back, 1, sizeof(back), fp), sizeof(back));
	fclose(fp);
	assert_memory_equal(back, text, sizeof(text));

	/* Shorter than a page. */
	unit_put_file(f->path, "not sqlite", 10);
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	assert_memory_equal(err.msg, want, strlen(want));
	fp = fopen(f->path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(back, 1, sizeof(back), fp), 10);
	fclose(fp);
	assert_memory_equal(back, "not sqlite", 10);
}

static void
test_refuse_newer(void **state)
{
	struct fx *f = *state;
	struct ferry_error err;
	char want[600];

	ferry_catalog_close(open_ok(f->path));
	assert_int_equal(raw_exec(f->path, "PRAGMA user_version = 99"),
	    SQLITE_OK);
	open_fails(f->path, FERRY_ERR_DATABASE, &err);
	snprintf(want, sizeof(want), "%s: catalog schema v99 is newer than "
	    "this ferry-repod (v%d)", f->path, FERRY_CATALOG_SCHEMA_VERSION);
	assert_string_equal(err.msg, want);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 99);
}

/* ---- publications ---- */

static void
test_pub_live_supersede(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_catalog_pub p;
	struct ferry_error err;
	int64_t a, b;

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_catalog_pub_get_live(c, &p, &err),
	    FERRY_ERR_NOT_FOUND);
	a = add_pub(c, 1);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_PENDING);
	assert_int_equal(live_id(c), 0);
	live_ok(c, a);
	assert_int_equal(live_id(c), a);
	/* Live again: nothing to do. */
	live_ok(c, a);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_LIVE);

	b = add_pub(c, 2);
	assert_true(b > a);
	assert_int_equal(live_id(c), a);
	live_ok(c, b);
	assert_int_equal(live_id(c), b);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_SUPERSEDED);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM publications "
	    "WHERE status = 'live'"), 1);

	/* Only a pending publication goes live. */
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_pub_live(c, a, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "is superseded, not pending"));
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_pub_live(c, 999, &err),
	    FERRY_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "no publication 999"));
	assert_int_equal(live_id(c), b);
	ferry_catalog_close(c);
}

static void
test_pub_fields(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_catalog_pub in, out;
	struct ferry_error err;
	char kind[16], actor[32];

	memset(&err, 0, sizeof(err));
	/* Strings from buffers the caller then reuses. */
	snprintf(kind, sizeof(kind), "refresh");
	snprintf(actor, sizeof(actor), "repod");
	pub_init(&in, 5, "refresh");
	in.kind = kind;
	in.actor = actor;
	in.timestamp_expires = -1;
	assert_int_equal(ferry_catalog_pub_add(c, &in, &err), 0);
	memset(kind, 'X', sizeof(kind) - 1);
	memset(actor, 'Y', sizeof(actor) - 1);
	live_ok(c, in.id);

	memset(&out, 0, sizeof(out));
	assert_int_equal(ferry_catalog_pub_get_live(c, &out, &err), 0);
	assert_int_equal(out.id, in.id);
	assert_int_equal(out.state, 5);
	assert_string_equal(out.kind, "refresh");
	assert_string_equal(out.actor, "repod");
	assert_null(out.bundle_sha256);
	assert_int_equal(out.when, T0 + 5);
	assert_int_equal(out.root_version, 1);
	assert_int_equal(out.targets_version, 5);
	assert_int_equal(out.snapshot_version, 15);
	assert_int_equal(out.timestamp_version, 25);
	assert_int_equal(out.timestamp_expires, -1);
	assert_int_equal(out.status, FERRY_CATALOG_LIVE);
	/* The strings are the catalog's, valid across other calls. */
	assert_int_equal(ferry_catalog_audit(c, T0, "a", "b", 0, NULL, &err),
	    0);
	assert_string_equal(out.actor, "repod");
	ferry_catalog_close(c);
}

static void
test_pub_add_refused(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_catalog_pub p;
	struct ferry_error err;
	struct seen s;
	int i;

	for (i = 0; i < 11; i++) {
		pub_init(&p, 1, "publish");
		switch (i) {
		case 0:
			p.kind = "rotate";
			break;
		case 1:
			p.kind = NULL;
			break;
		case 2:
			p.actor = "";
			break;
		case 3:
			p.actor = NULL;
			break;
		case 4:
			p.kind = "refresh";	/* with a bundle */
			break;
		case 5:
			p.bundle_sha256 = "ABCDEF";
			break;
		case 6:
			p.bundle_sha256 = SHA_A "0";
			break;
		case 7:
			p.state = 0;
			break;
		case 8:
			p.root_version = 0;
			break;
		case 9:
			p.timestamp_version = -3;
			break;
		default:
			p.snapshot_version = 0;
			break;
		}
		memset(&err, 0, sizeof(err));
		assert_int_equal(ferry_catalog_pub_add(c, &p, &err),
		    FERRY_ERR_INVALID_ARG);
		assert_int_equal(p.id, -1);
		assert_int_equal(strncmp(err.msg, f->path, strlen(f->path)),
		    0);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_catalog_pub_add(c, NULL, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_add(NULL, &p, NULL),
	    FERRY_ERR_INVALID_ARG);
	list_pubs(c, 0, &s);
	assert_int_equal(s.n, 0);
	/* A publish without a bundle hash, and an init, are fine. */
	pub_init(&p, 1, "publish");
	p.bundle_sha256 = NULL;
	assert_int_equal(ferry_catalog_pub_add(c, &p, &err), 0);
	pub_init(&p, 1, "init");
	assert_int_equal(ferry_catalog_pub_add(c, &p, &err), 0);
	ferry_catalog_close(c);
}

static void
test_set_status(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, d;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	b = add_pub(c, 2);
	d = add_pub(c, 3);
	/* pending -> pruned, pending -> live by set_status: refused. */
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_PRUNED, &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "is pending and cannot become "
	    "pruned"));
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_LIVE, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_SUPERSEDED, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_PENDING, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    (enum ferry_catalog_status)42, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, 77,
	    FERRY_CATALOG_ABANDONED, NULL), FERRY_ERR_NOT_FOUND);

	live_ok(c, a);
	live_ok(c, b);
	assert_int_equal(ferry_catalog_pub_set_status(c, b,
	    FERRY_CATALOG_PRUNED, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_ABANDONED, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_PRUNED, NULL), 0);
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_PRUNED, NULL), 0);
	assert_int_equal(ferry_catalog_pub_set_status(c, d,
	    FERRY_CATALOG_ABANDONED, NULL), 0);
	assert_int_equal(ferry_catalog_pub_live(c, d, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pub_set_status(c, d,
	    FERRY_CATALOG_PRUNED, NULL), 0);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_PRUNED);
	assert_int_equal(status_of(c, b), FERRY_CATALOG_LIVE);
	assert_int_equal(status_of(c, d), FERRY_CATALOG_PRUNED);
	ferry_catalog_close(c);
}

/* States below a bound are gone: their old publications become pruned. */
static void
test_pruned_below(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t p1, p2, a3, p3, p4, p5;
	int n = -1;

	memset(&err, 0, sizeof(err));
	p1 = add_pub(c, 1);
	live_ok(c, p1);
	p2 = add_pub(c, 2);
	live_ok(c, p2);
	a3 = add_pub(c, 3);	/* the publisher died: state 3 again */
	assert_int_equal(ferry_catalog_reconcile(c, 2, NULL, NULL), 0);
	p3 = add_pub(c, 3);
	live_ok(c, p3);
	p4 = add_pub(c, 4);
	live_ok(c, p4);
	p5 = add_pub(c, 5);	/* pending */
	assert_int_equal(status_of(c, a3), FERRY_CATALOG_ABANDONED);

	assert_int_equal(ferry_catalog_pruned_below(c, 3, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(status_of(c, p1), FERRY_CATALOG_PRUNED);
	assert_int_equal(status_of(c, p2), FERRY_CATALOG_PRUNED);
	assert_int_equal(status_of(c, a3), FERRY_CATALOG_ABANDONED);
	assert_int_equal(status_of(c, p3), FERRY_CATALOG_SUPERSEDED);
	/* Again: nothing more. */
	assert_int_equal(ferry_catalog_pruned_below(c, 3, &n, NULL), 0);
	assert_int_equal(n, 0);
	/* The live and a pending publication are never pruned. */
	assert_int_equal(ferry_catalog_pruned_below(c, 100, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(status_of(c, a3), FERRY_CATALOG_PRUNED);
	assert_int_equal(status_of(c, p3), FERRY_CATALOG_PRUNED);
	assert_int_equal(status_of(c, p4), FERRY_CATALOG_LIVE);
	assert_int_equal(status_of(c, p5), FERRY_CATALOG_PENDING);
	assert_int_equal(ferry_catalog_pruned_below(c, 0, NULL, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_pruned_below(NULL, 3, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	ferry_catalog_close(c);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(ferry_catalog_status_name(FERRY_CATALOG_PENDING),
	    "pending");
	assert_string_equal(ferry_catalog_status_name(FERRY_CATALOG_LIVE),
	    "live");
	assert_string_equal(ferry_catalog_status_name(
	    FERRY_CATALOG_ABANDONED), "abandoned");
	assert_string_equal(ferry_catalog_status_name(
	    FERRY_CATALOG_SUPERSEDED), "superseded");
	assert_string_equal(ferry_catalog_status_name(FERRY_CATALOG_PRUNED),
	    "pruned");
	assert_string_equal(ferry_catalog_status_name(
	    (enum ferry_catalog_status)5), "unknown");
	assert_string_equal(ferry_catalog_status_name(
	    (enum ferry_catalog_status)-1), "unknown");
}

/* ---- reconcile ---- */

static void
test_reconcile_switched(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, d;
	int fixed = -1;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	live_ok(c, a);
	/* The publisher added 2, the tree switched, then it died. */
	b = add_pub(c, 2);
	d = add_pub(c, 3);	/* and an older attempt never switched */
	ferry_catalog_close(c);

	c = open_ok(f->path);
	assert_int_equal(ferry_catalog_reconcile(c, 2, &fixed, &err), 0);
	assert_int_equal(fixed, 3);
	assert_int_equal(live_id(c), b);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_SUPERSEDED);
	assert_int_equal(status_of(c, d), FERRY_CATALOG_ABANDONED);
	/* Again: nothing left to fix. */
	assert_int_equal(ferry_catalog_reconcile(c, 2, &fixed, &err), 0);
	assert_int_equal(fixed, 0);
	assert_int_equal(ferry_catalog_reconcile(c, 2, NULL, &err), 0);
	assert_int_equal(live_id(c), b);
	ferry_catalog_close(c);
}

static void
test_reconcile_not_switched(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, d;
	int fixed = -1;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	live_ok(c, a);
	b = add_pub(c, 2);	/* died before the tree switched */
	/* A duplicate pending row of the live state is abandoned too. */
	d = add_pub(c, 1);
	ferry_catalog_close(c);

	c = open_ok(f->path);
	assert_int_equal(ferry_catalog_reconcile(c, 1, &fixed, &err), 0);
	assert_int_equal(fixed, 2);
	assert_int_equal(live_id(c), a);
	assert_int_equal(status_of(c, b), FERRY_CATALOG_ABANDONED);
	assert_int_equal(status_of(c, d), FERRY_CATALOG_ABANDONED);
	assert_int_equal(ferry_catalog_reconcile(c, -1, &fixed, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(fixed, 2);	/* untouched on failure */
	ferry_catalog_close(c);
}

static void
test_reconcile_first_and_none(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, d;
	int fixed = -1;

	memset(&err, 0, sizeof(err));
	/* Nothing at all: nothing to do. */
	assert_int_equal(ferry_catalog_reconcile(c, 0, &fixed, &err), 0);
	assert_int_equal(fixed, 0);
	/* The very first publication; of two pending of state 1, the newer. */
	a = add_pub(c, 1);
	b = add_pub(c, 1);
	assert_int_equal(ferry_catalog_reconcile(c, 1, &fixed, &err), 0);
	assert_int_equal(fixed, 2);
	assert_int_equal(live_id(c), b);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_ABANDONED);
	/* No live state in the tree: every pending one is abandoned. */
	d = add_pub(c, 2);
	assert_int_equal(ferry_catalog_reconcile(c, 0, &fixed, &err), 0);
	assert_int_equal(fixed, 1);
	assert_int_equal(status_of(c, d), FERRY_CATALOG_ABANDONED);
	/* A state the catalog never heard of: the live one stays. */
	assert_int_equal(ferry_catalog_reconcile(c, 9, &fixed, &err), 0);
	assert_int_equal(fixed, 0);
	assert_int_equal(live_id(c), b);
	ferry_catalog_close(c);
}

/*
 * A publisher killed outright: what it committed is there, pending; what
 * it had not committed is not, whatever it wrote.
 */
static void
test_reconcile_after_kill(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c;
	struct ferry_error err;
	struct seen s;
	int64_t a, n;
	int pass, fixed, status;
	pid_t pid;

	memset(&err, 0, sizeof(err));
	c = open_ok(f->path);
	a = add_pub(c, 1);
	live_ok(c, a);
	ferry_catalog_close(c);

	for (pass = 0; pass < 2; pass++) {
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0) {
			struct ferry_catalog_pub p;
			struct ferry_catalog *k = NULL;
			int64_t id;

			if (ferry_catalog_open(f->path, &k, NULL) != 0)
				_exit(1);
			pub_init(&p, 2, "publish");
			if (ferry_catalog_pub_add(k, &p, NULL) != 0 ||
			    ferry_catalog_target_add(k, p.id, "targets", 2,
			    "a.txt", 1, SHA_B, NULL) != 0)
				_exit(2);
			id = p.id;
			/* Then a transaction it never finishes. */
			pub_init(&p, 3, "publish");
			if (ferry_catalog_begin(k, NULL) != 0 ||
			    ferry_catalog_pub_add(k, &p, NULL) != 0 ||
			    ferry_catalog_target_add(k, p.id, "targets", 3,
			    "b.txt", 1, SHA_C, NULL) != 0 ||
			    ferry_catalog_audit(k, T0, "x", "y", id, NULL,
			    NULL) != 0)
				_exit(3);
			raise(SIGKILL);
			_exit(4);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);

		c = open_ok(f->path);
		list_pubs(c, 0, &s);
		assert_int_equal(s.n, 2 + pass);
		assert_int_equal(s.state[0], 2);
		assert_int_equal(s.status[0], FERRY_CATALOG_PENDING);
		assert_int_equal(ferry_catalog_target_find(c, "b.txt", SHA_C,
		    &n, &err), 0);
		assert_int_equal(n, 0);
		assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit"),
		    0);
		assert_int_equal(ferry_catalog_target_count(c, s.id[0], &n,
		    &err), 0);
		assert_int_equal(n, 1);
		if (pass == 0) {
			/* The tree had not switched: it stays at state 1. */
			assert_int_equal(ferry_catalog_reconcile(c, 1, &fixed,
			    &err), 0);
			assert_int_equal(fixed, 1);
			assert_int_equal(live_id(c), a);
			assert_int_equal(status_of(c, s.id[0]),
			    FERRY_CATALOG_ABANDONED);
		} else {
			/* It had: state 2 is live. */
			assert_int_equal(ferry_catalog_reconcile(c, 2, &fixed,
			    &err), 0);
			assert_int_equal(fixed, 2);
			assert_int_equal(live_id(c), s.id[0]);
			assert_int_equal(status_of(c, a),
			    FERRY_CATALOG_SUPERSEDED);
		}
		ferry_catalog_close(c);
	}
}

/* ---- listing ---- */

static void
test_foreach_order_limit(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	struct seen s;
	int64_t ids[5];
	int i;

	memset(&err, 0, sizeof(err));
	list_pubs(c, 0, &s);
	assert_int_equal(s.n, 0);
	for (i = 0; i < 5; i++)
		ids[i] = add_pub(c, i + 1);
	list_pubs(c, 0, &s);
	assert_int_equal(s.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s.id[i], ids[4 - i]);
		assert_int_equal(s.state[i], 5 - i);
	}
	list_pubs(c, 2, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], ids[4]);
	assert_int_equal(s.id[1], ids[3]);
	list_pubs(c, 100, &s);
	assert_int_equal(s.n, 5);

	/* A non-zero return stops the walk and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(ferry_catalog_pub_foreach(c, 0, seen_cb, &s, &err),
	    7);
	assert_int_equal(s.n, 2);
	assert_int_equal(ferry_catalog_pub_foreach(c, 0, NULL, &s, &err),
	    FERRY_ERR_INVALID_ARG);
	ferry_catalog_close(c);
}

struct nest {
	struct ferry_catalog *c;
	int outer, inner_total;
};

static int
nest_cb(const struct ferry_catalog_pub *p, void *arg)
{
	struct nest *n = arg;
	struct seen s;

	(void)p;
	n->outer++;
	/* The catalog may be used, even this function, during the walk. */
	list_pubs(n->c, 0, &s);
	n->inner_total += s.n;
	assert_int_equal(ferry_catalog_audit(n->c, T0, "walker", "saw",
	    p->id, NULL, NULL), 0);
	(void)live_id(n->c);
	return 0;
}

static void
test_foreach_reentrant(void **state)
{
	struct fx *f = *state;
	struct nest n;

	memset(&n, 0, sizeof(n));
	n.c = open_ok(f->path);
	(void)add_pub(n.c, 1);
	live_ok(n.c, add_pub(n.c, 2));
	(void)add_pub(n.c, 3);
	assert_int_equal(ferry_catalog_pub_foreach(n.c, 0, nest_cb, &n, NULL),
	    0);
	assert_int_equal(n.outer, 3);
	assert_int_equal(n.inner_total, 9);
	ferry_catalog_close(n.c);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit"), 3);
}

/* ---- the audit log ---- */

struct entries {
	int n;
	int stop_at;
	struct {
		int64_t id, when, pub;
		char actor[32], action[32], detail[80];
		int has_detail;
	} e[16];
};

static int
entries_cb(const struct ferry_catalog_entry *e, void *arg)
{
	struct entries *s = arg;

	assert_true(s->n < 16);
	s->e[s->n].id = e->id;
	s->e[s->n].when = e->when;
	s->e[s->n].pub = e->pub;
	snprintf(s->e[s->n].actor, sizeof(s->e[0].actor), "%s", e->actor);
	snprintf(s->e[s->n].action, sizeof(s->e[0].action), "%s", e->action);
	s->e[s->n].has_detail = e->detail != NULL;
	if (e->detail != NULL)
		snprintf(s->e[s->n].detail, sizeof(s->e[0].detail), "%s",
		    e->detail);
	s->n++;
	return s->n == s->stop_at ? -99 : 0;
}

static void
test_audit(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	struct entries s;
	int64_t a;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	assert_int_equal(ferry_catalog_audit(c, T0 + 1, "alice (uid 1000)",
	    "publish", a, "bundle " SHA_A, &err), 0);
	assert_int_equal(ferry_catalog_audit(c, T0 + 2, "repod", "start", 0,
	    NULL, &err), 0);
	assert_int_equal(ferry_catalog_audit(c, T0 + 3, "repod", "refresh", a,
	    "", &err), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(ferry_catalog_audit_foreach(c, 0, entries_cb, &s,
	    &err), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.e[0].id > s.e[1].id && s.e[1].id > s.e[2].id);
	assert_string_equal(s.e[0].action, "refresh");
	assert_int_equal(s.e[0].pub, a);
	assert_true(s.e[0].has_detail);
	assert_string_equal(s.e[0].detail, "");
	assert_string_equal(s.e[1].actor, "repod");
	assert_string_equal(s.e[1].action, "start");
	assert_int_equal(s.e[1].pub, 0);
	assert_int_equal(s.e[1].when, T0 + 2);
	assert_false(s.e[1].has_detail);
	assert_string_equal(s.e[2].actor, "alice (uid 1000)");
	assert_string_equal(s.e[2].detail, "bundle " SHA_A);

	memset(&s, 0, sizeof(s));
	assert_int_equal(ferry_catalog_audit_foreach(c, 1, entries_cb, &s,
	    &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.e[0].action, "refresh");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(ferry_catalog_audit_foreach(c, 0, entries_cb, &s,
	    &err), -99);
	assert_int_equal(s.n, 2);

	/* Refused: no actor, no action, a publication that is not there. */
	assert_int_equal(ferry_catalog_audit(c, T0, "", "x", 0, NULL, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_audit(c, T0, "x", NULL, 0, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_audit(c, T0, "x", "y", -2, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_audit(c, T0, "x", "y", a + 100, NULL,
	    &err), FERRY_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "FOREIGN KEY"));
	ferry_catalog_close(c);

	/* Append-only, even to another program. */
	assert_int_equal(raw_exec(f->path, "UPDATE audit SET actor = 'eve'") &
	    0xff, SQLITE_CONSTRAINT);
	assert_int_equal(raw_exec(f->path, "DELETE FROM audit") & 0xff,
	    SQLITE_CONSTRAINT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit "
	    "WHERE actor = 'repod'"), 2);
}

/* ---- what publications brought ---- */

static void
test_targets(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, n, pub;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	b = add_pub(c, 2);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1,
	    "pkg/a.tar", 100, SHA_A, &err), 0);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1,
	    "pkg/b.tar", 200, SHA_B, &err), 0);
	/* The same path from a delegated role is another row. */
	assert_int_equal(ferry_catalog_target_add(c, a, "team", 4,
	    "pkg/b.tar", 200, SHA_B, &err), 0);
	assert_int_equal(ferry_catalog_target_add(c, b, "targets", 2,
	    "pkg/a.tar", 100, SHA_A, &err), 0);
	assert_int_equal(ferry_catalog_target_add(c, b, "targets", 2,
	    "pkg/c.tar", (uint64_t)INT64_MAX, SHA_C, &err), 0);

	assert_int_equal(ferry_catalog_target_count(c, a, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ferry_catalog_target_count(c, b, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ferry_catalog_target_count(c, 999, &n, &err), 0);
	assert_int_equal(n, 0);

	/* The first publication that brought it, whatever its status. */
	assert_int_equal(ferry_catalog_pub_set_status(c, a,
	    FERRY_CATALOG_ABANDONED, &err), 0);
	assert_int_equal(ferry_catalog_target_find(c, "pkg/a.tar", SHA_A,
	    &pub, &err), 0);
	assert_int_equal(pub, a);
	assert_int_equal(ferry_catalog_target_find(c, "pkg/c.tar", SHA_C,
	    &pub, &err), 0);
	assert_int_equal(pub, b);
	pub = -5;
	assert_int_equal(ferry_catalog_target_find(c, "pkg/a.tar", SHA_B,
	    &pub, &err), 0);
	assert_int_equal(pub, 0);
	assert_int_equal(ferry_catalog_target_find(c, "pkg/zzz", SHA_A,
	    &pub, &err), 0);
	assert_int_equal(pub, 0);
	pub = -5;
	assert_int_equal(ferry_catalog_target_find(c, "pkg/a.tar", "AAAA",
	    &pub, &err), FERRY_ERR_INVALID_ARG);
	assert_int_equal(pub, -5);
	assert_int_equal(ferry_catalog_target_find(c, "", SHA_A, &pub, &err),
	    FERRY_ERR_INVALID_ARG);

	/* Refused: twice, no such publication, out of range. */
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1,
	    "pkg/a.tar", 100, SHA_A, &err), FERRY_ERR_INVALID_ARG);
	assert_int_equal(strncmp(err.msg, f->path, strlen(f->path)), 0);
	assert_non_null(strstr(err.msg, "UNIQUE constraint failed"));
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_target_add(c, 999, "targets", 1,
	    "pkg/a.tar", 100, SHA_A, &err), FERRY_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "publication 999"));
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1,
	    "pkg/d.tar", (uint64_t)INT64_MAX + 1, SHA_A, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 0,
	    "pkg/d.tar", 1, SHA_A, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_target_add(c, a, "", 1,
	    "pkg/d.tar", 1, SHA_A, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1,
	    NULL, 1, SHA_A, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1,
	    "pkg/d.tar", 1, SHA_A "a", NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_target_count(c, a, &n, &err), 0);
	assert_int_equal(n, 3);
	ferry_catalog_close(c);
	assert_int_equal(raw_int(f->path, "SELECT length FROM targets "
	    "WHERE path = 'pkg/c.tar'"), INT64_MAX);
}

static void
test_roles_signings(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	/* A root rotation brings two root versions in one publication. */
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 2, 1000, SHA_A,
	    &err), 0);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 3, 1001, SHA_B,
	    &err), 0);
	assert_int_equal(ferry_catalog_role_add(c, a, "snapshot", 1, 0, SHA_C,
	    &err), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 3, 1001, SHA_B,
	    &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "role file root version 3"));
	assert_int_equal(ferry_catalog_role_add(c, a + 1, "root", 4, 1,
	    SHA_B, NULL), FERRY_ERR_NOT_FOUND);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 0, 1, SHA_B,
	    NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 4, 1, NULL,
	    NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_role_add(c, 0, "root", 4, 1, SHA_A,
	    NULL), FERRY_ERR_INVALID_ARG);

	assert_int_equal(ferry_catalog_signing_add(c, a, "snapshot", 1,
	    SHA_B, T0, &err), 0);
	assert_int_equal(ferry_catalog_signing_add(c, a, "timestamp", 1,
	    SHA_B, T0, &err), 0);
	assert_int_equal(ferry_catalog_signing_add(c, a, "timestamp", 1,
	    SHA_C, T0, &err), 0);
	assert_int_equal(ferry_catalog_signing_add(c, a, "timestamp", 1,
	    SHA_C, T0, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_signing_add(c, a, "timestamp", 1,
	    "", T0, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_signing_add(c, a + 9, "timestamp", 1,
	    SHA_C, T0, NULL), FERRY_ERR_NOT_FOUND);
	ferry_catalog_close(c);

	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM roles"), 3);
	assert_int_equal(raw_int(f->path, "SELECT sum(length) FROM roles"),
	    2001);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM signings "
	    "WHERE keyid = '" SHA_B "'"), 2);
}

/*
 * The highest version signed, by role, whatever became of the
 * publication: an abandoned one's versions count (they may have been
 * served before a crash took the switch back).
 */
static void
test_signing_max(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, v = -1;

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_catalog_signing_max(c, "timestamp", &v, &err),
	    0);
	assert_int_equal(v, 0);
	a = add_pub(c, 1);
	b = add_pub(c, 2);
	assert_int_equal(ferry_catalog_signing_add(c, a, "timestamp", 7,
	    SHA_B, T0, &err), 0);
	assert_int_equal(ferry_catalog_signing_add(c, a, "snapshot", 3,
	    SHA_B, T0, &err), 0);
	assert_int_equal(ferry_catalog_signing_add(c, b, "timestamp", 9,
	    SHA_B, T0, &err), 0);
	assert_int_equal(ferry_catalog_pub_set_status(c, b,
	    FERRY_CATALOG_ABANDONED, &err), 0);
	assert_int_equal(ferry_catalog_signing_max(c, "timestamp", &v, &err),
	    0);
	assert_int_equal(v, 9);
	assert_int_equal(ferry_catalog_signing_max(c, "snapshot", &v, &err),
	    0);
	assert_int_equal(v, 3);
	assert_int_equal(ferry_catalog_signing_max(c, "targets", &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ferry_catalog_signing_max(c, NULL, &v, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_signing_max(c, "timestamp", NULL,
	    NULL), FERRY_ERR_INVALID_ARG);
	ferry_catalog_close(c);
}

/* ---- transactions ---- */

static void
test_rollback_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	struct entries e;
	struct seen s;
	int64_t a, n;
	int fixed;

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_catalog_begin(c, &err), 0);
	a = add_pub(c, 1);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 1, 10, SHA_A,
	    &err), 0);
	assert_int_equal(ferry_catalog_target_add(c, a, "targets", 1, "x",
	    1, SHA_B, &err), 0);
	assert_int_equal(ferry_catalog_signing_add(c, a, "timestamp", 1,
	    SHA_C, T0, &err), 0);
	assert_int_equal(ferry_catalog_audit(c, T0, "alice", "publish", a,
	    NULL, &err), 0);
	live_ok(c, a);
	assert_int_equal(ferry_catalog_reconcile(c, 1, &fixed, &err), 0);
	/* Inside the transaction, it is all there. */
	assert_int_equal(live_id(c), a);
	assert_int_equal(ferry_catalog_target_count(c, a, &n, &err), 0);
	assert_int_equal(n, 1);
	ferry_catalog_rollback(c);

	list_pubs(c, 0, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(live_id(c), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(ferry_catalog_audit_foreach(c, 0, entries_cb, &e,
	    &err), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(ferry_catalog_target_find(c, "x", SHA_B, &n, &err),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(ferry_catalog_target_count(c, a, &n, &err), 0);
	assert_int_equal(n, 0);
	/* Rolled back already, and no transaction: both harmless. */
	ferry_catalog_rollback(c);
	ferry_catalog_rollback(NULL);
	/* Not in a transaction any more: changes commit alone again. */
	(void)add_pub(c, 1);
	ferry_catalog_close(c);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM publications"),
	    1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM roles") +
	    raw_int(f->path, "SELECT count(*) FROM targets") +
	    raw_int(f->path, "SELECT count(*) FROM signings") +
	    raw_int(f->path, "SELECT count(*) FROM audit"), 0);
}

static void
test_commit(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b;

	memset(&err, 0, sizeof(err));
	assert_int_equal(ferry_catalog_commit(c, &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "no transaction is open"));
	assert_int_equal(ferry_catalog_begin(c, &err), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_begin(c, &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "already open"));
	a = add_pub(c, 1);
	live_ok(c, a);
	b = add_pub(c, 2);
	/*
	 * A failure inside the caller's transaction undoes only itself: b is
	 * pending, so it cannot be pruned, and nothing else is lost.
	 */
	assert_int_equal(ferry_catalog_pub_set_status(c, b,
	    FERRY_CATALOG_PRUNED, NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 1, 1, SHA_A,
	    NULL), 0);
	assert_int_equal(ferry_catalog_role_add(c, a, "root", 1, 1, SHA_A,
	    NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_catalog_commit(c, &err), 0);
	assert_int_equal(ferry_catalog_commit(c, NULL), FERRY_ERR_INVALID_ARG);
	ferry_catalog_close(c);

	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM publications"),
	    2);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM roles"), 1);
	c = open_ok(f->path);
	assert_int_equal(live_id(c), a);
	assert_int_equal(status_of(c, b), FERRY_CATALOG_PENDING);
	/* Closing with a transaction open rolls it back. */
	assert_int_equal(ferry_catalog_begin(c, &err), 0);
	live_ok(c, b);
	ferry_catalog_close(c);
	c = open_ok(f->path);
	assert_int_equal(live_id(c), a);
	ferry_catalog_close(c);
}

/*
 * When SQLite rolls the caller's transaction back by itself (a full disk;
 * here a trigger's RAISE(ROLLBACK)), nothing more may be committed
 * piecemeal until the caller rolls back.
 */
static void
test_tx_rolled_back_by_sqlite(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_catalog_pub p;
	struct ferry_error err;
	int64_t a, b;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	assert_int_equal(raw_exec(f->path, "CREATE TRIGGER boom BEFORE INSERT "
	    "ON signings WHEN NEW.keyid = 'boom' "
	    "BEGIN SELECT RAISE(ROLLBACK, 'boom'); END;"), SQLITE_OK);
	assert_int_equal(ferry_catalog_begin(c, &err), 0);
	b = add_pub(c, 2);
	assert_true(ferry_catalog_signing_add(c, b, "timestamp", 1, "boom",
	    T0, &err) < 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_catalog_audit(c, T0, "x", "y", 0, NULL, &err),
	    FERRY_ERR_DATABASE);
	assert_non_null(strstr(err.msg, "rolled back"));
	pub_init(&p, 3, "init");
	assert_int_equal(ferry_catalog_pub_add(c, &p, NULL),
	    FERRY_ERR_DATABASE);
	assert_int_equal(ferry_catalog_pub_live(c, a, NULL),
	    FERRY_ERR_DATABASE);
	assert_int_equal(ferry_catalog_reconcile(c, 1, NULL, NULL),
	    FERRY_ERR_DATABASE);
	assert_int_equal(ferry_catalog_commit(c, NULL), FERRY_ERR_DATABASE);
	/* The failed commit closed the transaction: changes work again. */
	assert_int_equal(ferry_catalog_audit(c, T0, "x", "after", 0, NULL,
	    &err), 0);
	ferry_catalog_close(c);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM publications"),
	    1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM publications "
	    "WHERE status = 'pending'"), 1);
}

/*
 * A change of several statements that fails half-way is undone whole,
 * alone or inside the caller's transaction, which goes on.  Here a
 * trigger refuses the second statement of pub_live, after the first has
 * superseded the live publication.
 */
static void
test_op_undone_half_way(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c = open_ok(f->path);
	struct ferry_error err;
	int64_t a, b, d;

	memset(&err, 0, sizeof(err));
	a = add_pub(c, 1);
	live_ok(c, a);
	b = add_pub(c, 2);
	assert_int_equal(raw_exec(f->path, "CREATE TRIGGER no_two "
	    "BEFORE UPDATE OF status ON publications "
	    "WHEN NEW.status = 'live' AND NEW.state = 2 "
	    "BEGIN SELECT RAISE(ABORT, 'not state 2'); END;"), SQLITE_OK);
	assert_int_equal(ferry_catalog_pub_live(c, b, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(err.msg, "not state 2"));
	assert_int_equal(live_id(c), a);

	assert_int_equal(ferry_catalog_begin(c, NULL), 0);
	d = add_pub(c, 3);
	assert_int_equal(ferry_catalog_pub_live(c, b, NULL),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(live_id(c), a);
	assert_int_equal(status_of(c, a), FERRY_CATALOG_LIVE);
	live_ok(c, d);
	assert_int_equal(ferry_catalog_commit(c, NULL), 0);
	ferry_catalog_close(c);
	assert_int_equal(raw_int(f->path, "SELECT id FROM publications "
	    "WHERE status = 'live'"), d);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM publications "
	    "WHERE status = 'superseded'"), 1);
}

/* ---- two connections ---- */

struct snapshot_walk {
	struct ferry_catalog *writer;
	int n;
};

static int
snapshot_cb(const struct ferry_catalog_pub *p, void *arg)
{
	struct snapshot_walk *w = arg;

	(void)p;
	/* The other connection writes and commits while this one reads. */
	if (w->n++ == 0)
		(void)add_pub(w->writer, 100);
	return 0;
}

static void
test_two_connections(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c1 = open_ok(f->path);
	struct ferry_catalog *c2 = open_ok(f->path);
	struct ferry_catalog_pub p;
	struct ferry_error err;
	struct snapshot_walk w;
	struct seen s;
	sqlite3 *raw;
	int64_t a, b;
	double t;

	memset(&err, 0, sizeof(err));
	a = add_pub(c1, 1);
	live_ok(c1, a);
	assert_int_equal(live_id(c2), a);

	/* c1 writes in a transaction; c2 reads, without waiting. */
	assert_int_equal(ferry_catalog_begin(c1, &err), 0);
	/* begin took the write lock at once: no other writer gets it. */
	raw = raw_open(f->path);
	(void)sqlite3_busy_timeout(raw, 0);
	assert_int_equal(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL), SQLITE_BUSY);
	sqlite3_close(raw);
	b = add_pub(c1, 2);
	live_ok(c1, b);
	t = now();
	list_pubs(c2, 0, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(live_id(c2), a);
	assert_int_equal(ferry_catalog_pub_get_live(c2, &p, &err), 0);
	assert_int_equal(p.state, 1);
	assert_true(now() - t < 2.0);
	assert_int_equal(ferry_catalog_commit(c1, &err), 0);
	/* Committed: c2 sees all of it at once. */
	list_pubs(c2, 0, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(live_id(c2), b);
	assert_int_equal(status_of(c2, a), FERRY_CATALOG_SUPERSEDED);

	/* c2 writes too, and c1 sees it. */
	assert_int_equal(ferry_catalog_audit(c2, T0, "repod", "refresh", b,
	    NULL, &err), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit"), 1);

	/* A walk on c2 keeps its snapshot while c1 commits a row. */
	memset(&w, 0, sizeof(w));
	w.writer = c1;
	assert_int_equal(ferry_catalog_pub_foreach(c2, 0, snapshot_cb, &w,
	    &err), 0);
	assert_int_equal(w.n, 2);
	list_pubs(c2, 0, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.state[0], 100);
	ferry_catalog_close(c1);
	ferry_catalog_close(c2);
}

/* A writer waits for another writer instead of failing. */
static void
test_writer_waits(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c;
	struct ferry_error err;
	struct seen s;
	int fds[2], status;
	double t;
	char b;
	pid_t pid;

	memset(&err, 0, sizeof(err));
	ferry_catalog_close(open_ok(f->path));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct ferry_catalog *k = NULL;
		struct ferry_catalog_pub p;

		close(fds[0]);
		pub_init(&p, 1, "init");
		if (ferry_catalog_open(f->path, &k, NULL) != 0 ||
		    ferry_catalog_begin(k, NULL) != 0 ||
		    ferry_catalog_pub_add(k, &p, NULL) != 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(2);
		usleep(400 * 1000);
		if (ferry_catalog_commit(k, NULL) != 0)
			_exit(3);
		ferry_catalog_close(k);
		_exit(0);
	}
	close(fds[1]);
	c = open_ok(f->path);
	assert_int_equal(read(fds[0], &b, 1), 1);
	close(fds[0]);
	/* The child holds the write lock now. */
	t = now();
	assert_int_equal(ferry_catalog_audit(c, T0, "repod", "wait", 0, NULL,
	    &err), 0);
	assert_true(now() - t > 0.2);
	list_pubs(c, 0, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ferry_catalog_close(c);
}

/* ---- allocation failures ---- */

/* Everything a publisher does, stopping at the first failure. */
static int
oom_scenario(const char *path)
{
	struct ferry_catalog *c = NULL;
	struct ferry_catalog_pub p;
	struct ferry_error err;
	struct seen s;
	int64_t n;
	int r, fixed;

	memset(&err, 0, sizeof(err));
	memset(&s, 0, sizeof(s));
	if ((r = ferry_catalog_open(path, &c, &err)) != 0)
		return r;
	pub_init(&p, 1, "publish");
	if ((r = ferry_catalog_begin(c, &err)) != 0 ||
	    (r = ferry_catalog_pub_add(c, &p, &err)) != 0 ||
	    (r = ferry_catalog_role_add(c, p.id, "root", 1, 1, SHA_A,
	    &err)) != 0 ||
	    (r = ferry_catalog_target_add(c, p.id, "targets", 1, "a", 1,
	    SHA_B, &err)) != 0 ||
	    (r = ferry_catalog_commit(c, &err)) != 0 ||
	    (r = ferry_catalog_reconcile(c, 1, &fixed, &err)) != 0 ||
	    (r = ferry_catalog_pub_get_live(c, &p, &err)) != 0 ||
	    (r = ferry_catalog_pub_foreach(c, 0, seen_cb, &s, &err)) != 0 ||
	    (r = ferry_catalog_audit(c, T0, "a", "b", p.id, "c", &err)) != 0 ||
	    (r = ferry_catalog_target_find(c, "a", SHA_B, &n, &err)) != 0)
		goto out;
	if (strcmp(p.actor, "alice (uid 1000)") != 0 || s.n != 1 || n != p.id)
		r = FERRY_ERR_INTERNAL;
 out:
	ferry_catalog_rollback(c);
	ferry_catalog_close(c);
	return r;
}

static void
remove_db(const char *path)
{
	char p[600];

	(void)unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	(void)unlink(p);
}

/*
 * Fail each of SQLite's allocations in turn: every one is a clean error,
 * nothing leaks (under ASan), and the catalog left behind opens and holds
 * a whole publication or none.
 *
 * That is some 3,000 rounds, each creating a catalog with a dozen
 * fsyncs: on tmpfs, where fsync costs nothing, when there is one, since
 * durability is not what this tests.
 */
static void
test_allocation_failures(void **state)
{
	struct fx *f = *state;
	struct ferry_catalog *c;
	struct seen s;
	char path[600];
	long n;
	int r, failures = 0;

	assert_true(hook_installed);
	snprintf(f->shm, sizeof(f->shm), "/dev/shm/ferry-test-catalog.XXXXXX");
	if (access("/dev/shm", W_OK) == 0 && mkdtemp(f->shm) != NULL)
		snprintf(path, sizeof(path), "%s/catalog.db", f->shm);
	else {
		f->shm[0] = '\0';
		snprintf(path, sizeof(path), "%s", f->path);
	}
	for (n = 1; n < 20000; n++) {
		oom_countdown = n;
		oom_hit = 0;
		r = oom_scenario(path);
		oom_countdown = 0;
		if (!oom_hit) {
			assert_int_equal(r, 0);
			break;
		}
		if (r != 0 && r != FERRY_ERR_NOMEM && r != FERRY_ERR_DATABASE)
			fail_msg("allocation %ld: unexpected %d", n, r);
		failures += r != 0;
		c = open_ok(path);
		list_pubs(c, 0, &s);
		assert_true(s.n <= 1);
		ferry_catalog_close(c);
		remove_db(path);
	}
	assert_true(n < 20000);
	assert_true(failures > 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_foreign_sqlite,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_not_sqlite, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_newer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pub_live_supersede, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pub_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pub_add_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pruned_below, setup,
		    teardown),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test_setup_teardown(test_reconcile_switched, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_not_switched,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_first_and_none,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_after_kill,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_order_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreach_reentrant, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roles_signings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_signing_max, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_rolled_back_by_sqlite,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_op_undone_half_way, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_writer_waits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_allocation_failures, setup,
		    teardown),
	};

	/* Before SQLite initialises, which is the only time it may be set. */
	install_hook();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The catalog: see catalog.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define STR(x)		#x
#define XSTR(x)		STR(x)

/*
 * PRAGMA application_id: 0x46657279, ASCII "Fery".  It tells a catalog
 * from any other SQLite file before a byte of that file is changed.
 */
#define CATALOG_APPID	1181053561

/* A concurrent publisher and server wait for each other this long. */
#define CATALOG_BUSY_MS	10000

/*
 * migrations[i] brings a catalog from schema version i to i + 1, in the
 * one transaction that also sets user_version, so that a catalog is
 * always at one whole version.  Append to this list; never edit an entry
 * that has shipped.
 *
 * Statuses are words, not numbers, so that sqlite3(1) is enough to read
 * a catalog.  At most one publication is live: the partial unique index
 * makes a second one a constraint failure, not a silent inconsistency.
 * The audit log is append-only.  Targets are found by (path, sha256);
 * the unique (pub, role, path) index also serves lookups by publication
 * and the foreign key.  Signatures are indexed by key, for the question
 * that follows a key compromise: what did this key sign?
 */
static const char *const migrations[] = {
	/* v1 */
	"CREATE TABLE publications ("
	"  id INTEGER PRIMARY KEY,"
	"  state INTEGER NOT NULL CHECK (state >= 1),"
	"  kind TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  bundle_sha256 TEXT,"
	"  created INTEGER NOT NULL,"
	"  root_version INTEGER NOT NULL CHECK (root_version >= 1),"
	"  targets_version INTEGER NOT NULL CHECK (targets_version >= 1),"
	"  snapshot_version INTEGER NOT NULL CHECK (snapshot_version >= 1),"
	"  timestamp_version INTEGER NOT NULL"
	"    CHECK (timestamp_version >= 1),"
	"  timestamp_expires INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN"
	"    ('pending', 'live', 'abandoned', 'superseded', 'pruned'))"
	") STRICT;"
	"CREATE UNIQUE INDEX publications_live ON publications (status)"
	"  WHERE status = 'live';"
	"CREATE INDEX publications_pending ON publications (state)"
	"  WHERE status = 'pending';"
	"CREATE TABLE roles ("
	"  pub INTEGER NOT NULL REFERENCES publications (id),"
	"  role TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  length INTEGER NOT NULL CHECK (length >= 0),"
	"  sha256 TEXT NOT NULL,"
	"  PRIMARY KEY (pub, role, version)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE targets ("
	"  pub INTEGER NOT NULL REFERENCES publications (id),"
	"  role TEXT NOT NULL,"
	"  role_version INTEGER NOT NULL CHECK (role_version >= 1),"
	"  path TEXT NOT NULL,"
	"  length INTEGER NOT NULL CHECK (length >= 0),"
	"  sha256 TEXT NOT NULL,"
	"  UNIQUE (pub, role, path)"
	") STRICT;"
	"CREATE INDEX targets_path ON targets (path, sha256, pub);"
	"CREATE TABLE signings ("
	"  pub INTEGER NOT NULL REFERENCES publications (id),"
	"  role TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  keyid TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (pub, role, version, keyid)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX signings_keyid ON signings (keyid);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  pub INTEGER REFERENCES publications (id),"
	"  detail TEXT"
	") STRICT;"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"PRAGMA application_id = " XSTR(CATALOG_APPID) ";"
	"PRAGMA user_version = 1;",
};

_Static_assert(NITEMS(migrations) == FERRY_CATALOG_SCHEMA_VERSION,
    "one migration per schema version");

/* The words the schema stores, in enum order. */
static const char *const status_names[] = {
	[FERRY_CATALOG_PENDING] = "pending",
	[FERRY_CATALOG_LIVE] = "live",
	[FERRY_CATALOG_ABANDONED] = "abandoned",
	[FERRY_CATALOG_SUPERSEDED] = "superseded",
	[FERRY_CATALOG_PRUNED] = "pruned",
};

static const char *const kinds[] = { "publish", "refresh", "init" };

#define PUB_COLUMNS \
	"id, state, kind, actor, bundle_sha256, created, root_version, " \
	"targets_version, snapshot_version, timestamp_version, " \
	"timestamp_expires, status"

/* Statements prepared once per connection, on first use. */
enum stmt {
	ST_PUB_ADD,
	ST_PUB_STATUS,
	ST_PUB_SET,
	ST_LIVE,
	ST_DEMOTE,
	ST_PENDING_OF,
	ST_ABANDON,
	ST_ROLE_ADD,
	ST_TARGET_ADD,
	ST_SIGNING_ADD,
	ST_AUDIT_ADD,
	ST_TARGET_COUNT,
	ST_TARGET_FIND,
	ST_PRUNE_BELOW,
	ST_SIGNING_MAX,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
	[ST_PUB_ADD] = "INSERT INTO publications (state, kind, actor, "
	    "bundle_sha256, created, root_version, targets_version, "
	    "snapshot_version, timestamp_version, timestamp_expires, status) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
	[ST_PUB_STATUS] = "SELECT status FROM publications WHERE id = ?",
	[ST_PUB_SET] = "UPDATE publications SET status = ? WHERE id = ?",
	[ST_LIVE] = "SELECT " PUB_COLUMNS " FROM publications "
	    "WHERE status = 'live'",
	[ST_DEMOTE] = "UPDATE publications SET status = 'superseded' "
	    "WHERE status = 'live'",
	[ST_PENDING_OF] = "SELECT id FROM publications "
	    "WHERE status = 'pending' AND state = ? ORDER BY id DESC LIMIT 1",
	[ST_ABANDON] = "UPDATE publications SET status = 'abandoned' "
	    "WHERE status = 'pending'",
	[ST_ROLE_ADD] = "INSERT INTO roles (pub, role, version, length, "
	    "sha256) VALUES (?, ?, ?, ?, ?)",
	[ST_TARGET_ADD] = "INSERT INTO targets (pub, role, role_version, "
	    "path, length, sha256) VALUES (?, ?, ?, ?, ?, ?)",
	[ST_SIGNING_ADD] = "INSERT INTO signings (pub, role, version, keyid, "
	    "created) VALUES (?, ?, ?, ?, ?)",
	[ST_AUDIT_ADD] = "INSERT INTO audit (created, actor, action, pub, "
	    "detail) VALUES (?, ?, ?, ?, ?)",
	[ST_TARGET_COUNT] = "SELECT count(*) FROM targets WHERE pub = ?",
	[ST_TARGET_FIND] = "SELECT min(pub) FROM targets "
	    "WHERE path = ? AND sha256 = ?",
	[ST_PRUNE_BELOW] = "UPDATE publications SET status = 'pruned' "
	    "WHERE state < ? AND status IN ('superseded', 'abandoned')",
	[ST_SIGNING_MAX] = "SELECT coalesce(max(version), 0) FROM signings "
	    "WHERE role = ?",
};

struct ferry_catalog {
	sqlite3 *db;
	char *path;
	int in_tx;		/* ferry_catalog_begin() opened one */
	sqlite3_stmt *st[ST__COUNT];
	char *live;		/* the strings of the last _get_live() */
};

/* ---- errors ---- */

static int
bad_arg(struct ferry_error *err, const char *fn)
{
	return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
	    "%s: missing argument", fn);
}

static int
db_code(int rc)
{
	if (rc == SQLITE_NOMEM || rc == SQLITE_IOERR_NOMEM)
		return FERRY_ERR_NOMEM;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return FERRY_ERR_NOT_FOUND;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return FERRY_ERR_INVALID_ARG;
	return FERRY_ERR_DATABASE;
}

/*
 * Fail with what SQLite said about the last call on c's connection:
 * "PATH: WHAT: SQLite's message".
 */
static int __attribute__((format(printf, 3, 4)))
db_fail(struct ferry_catalog *c, struct ferry_error *err, const char *fmt,
    ...)
{
	char what[256];
	va_list ap;
	int rc = sqlite3_extended_errcode(c->db);

	if ((rc & 0xff) == SQLITE_NOTADB)
		return ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: not a Ferry catalog (%s)", c->path,
		    sqlite3_errmsg(c->db));
	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ferry_error_set(err, db_code(rc), "%s: %s: %s", c->path, what,
	    sqlite3_errmsg(c->db));
}

/* ---- statements ---- */

/* Run SQL that is part of this file, never built from data. */
static int
exec(struct ferry_catalog *c, const char *sql, struct ferry_error *err)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(c, err, "%s", sql);
	return 0;
}

static int
prep(struct ferry_catalog *c, enum stmt s, sqlite3_stmt **out,
    struct ferry_error *err)
{
	if (c->st[s] == NULL && sqlite3_prepare_v3(c->db, stmt_sql[s], -1,
	    SQLITE_PREPARE_PERSISTENT, &c->st[s], NULL) != SQLITE_OK)
		return db_fail(c, err, "preparing statement %d", (int)s);
	*out = c->st[s];
	return 0;
}

/*
 * Done with a cached statement.  A statement left unreset would hold its
 * read snapshot, and with it the WAL, until its next use.
 */
static void
stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/* Not copied: each caller steps and resets before s can go away. */
static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Prepare a statement of the caller's own, with a LIMIT (0: none). */
static int
prep_list(struct ferry_catalog *c, const char *sql, unsigned limit,
    sqlite3_stmt **out, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, limit == 0 ? -1 :
	    (sqlite3_int64)limit) != SQLITE_OK) {
		int r = db_fail(c, err, "preparing a listing");

		(void)sqlite3_finalize(st);
		return r;
	}
	*out = st;
	return 0;
}

/* A text column; *s is NULL for SQL NULL, and valid until the next step. */
static int
col_text(struct ferry_catalog *c, sqlite3_stmt *st, int i, const char **s,
    struct ferry_error *err)
{
	const unsigned char *t;

	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		*s = NULL;
		return 0;
	}
	if ((t = sqlite3_column_text(st, i)) == NULL)
		return db_fail(c, err, "reading column %d", i);
	*s = (const char *)t;
	return 0;
}

/* The one integer a query of static SQL returns. */
static int
query_int(struct ferry_catalog *c, const char *sql, int64_t *v,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(c, err, "%s", sql);
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
	r = 0;
 out:
	(void)sqlite3_finalize(st);
	return r;
}

/* ---- transactions ---- */

/*
 * SQLite rolls a transaction back by itself after some failures (a full
 * disk, an I/O error).  What the caller added after that would be
 * committed piece by piece, outside the transaction it believes open, so
 * every change is refused until it rolls back.
 */
static int
tx_check(struct ferry_catalog *c, struct ferry_error *err)
{
	if (c->in_tx && sqlite3_get_autocommit(c->db))
		return ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: the transaction was rolled back after an earlier "
		    "failure", c->path);
	return 0;
}

/* COMMIT; when that fails, nothing of the transaction stays. */
static int
tx_commit(struct ferry_catalog *c, struct ferry_error *err)
{
	int r;

	if ((r = exec(c, "COMMIT", err)) != 0 &&
	    !sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/*
 * Make a change of several statements atomic: a transaction of its own,
 * or inside the caller's a savepoint, so that a failure half-way undoes
 * this change and leaves the caller's transaction as it was.  op_end()
 * keeps the change when r is 0 and undoes it otherwise; it returns r, or
 * the failure to commit.  IMMEDIATE, because a transaction that reads
 * and then writes fails at once, whatever the busy timeout, when another
 * connection wrote in between; this one waits for the lock up front.
 */
static int
op_begin(struct ferry_catalog *c, struct ferry_error *err)
{
	int r;

	if ((r = tx_check(c, err)) != 0)
		return r;
	return exec(c, c->in_tx ? "SAVEPOINT ferry_op" : "BEGIN IMMEDIATE",
	    err);
}

static int
op_end(struct ferry_catalog *c, int r, struct ferry_error *err)
{
	if (c->in_tx) {
		/* ROLLBACK TO keeps the savepoint; RELEASE ends it. */
		if (r != 0)
			(void)sqlite3_exec(c->db, "ROLLBACK TO ferry_op",
			    NULL, NULL, NULL);
		if (sqlite3_exec(c->db, "RELEASE ferry_op", NULL, NULL,
		    NULL) != SQLITE_OK && r == 0)
			r = db_fail(c, err, "RELEASE ferry_op");
		return r;
	}
	if (r == 0)
		return tx_commit(c, err);
	if (!sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int
ferry_catalog_begin(struct ferry_catalog *c, struct ferry_error *err)
{
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_begin");
	if (c->in_tx)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: a transaction is already open", c->path);
	if ((r = exec(c, "BEGIN IMMEDIATE", err)) != 0)
		return r;
	c->in_tx = 1;
	return 0;
}

int
ferry_catalog_commit(struct ferry_catalog *c, struct ferry_error *err)
{
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_commit");
	if (!c->in_tx)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: no transaction is open", c->path);
	if ((r = tx_check(c, err)) == 0)
		r = tx_commit(c, err);
	c->in_tx = 0;
	return r;
}

void
ferry_catalog_rollback(struct ferry_catalog *c)
{
	if (c == NULL || !c->in_tx)
		return;
	if (!sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	c->in_tx = 0;
}

/* ---- opening ---- */

static int
fsync_dir_of(const char *path)
{
	char *dup;
	const char *dir;
	char *slash;
	int fd, r = -1;

	if ((dup = strdup(path)) == NULL)
		return -1;
	if ((slash = strrchr(dup, '/')) == NULL)
		dir = ".";
	else {
		if (slash == dup)	/* "/name": the root */
			slash++;
		*slash = '\0';
		dir = dup;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		r = fsync(fd);
		(void)close(fd);
	}
	free(dup);
	return r;
}

/*
 * Create the file if it is not there, mode 0600 whatever the umask: the
 * catalog says who published what, and the WAL and shared-memory files
 * SQLite puts beside it take its mode.  Its name is made durable now, as
 * everything written into it will be.
 */
static int
create_file(const char *path, struct ferry_error *err)
{
	int fd, saved;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY, 0600);
	if (fd == -1 && errno == EEXIST)
		return 0;
	if (fd == -1)
		return ferry_error_set(err, FERRY_ERR_IO,
		    "%s: cannot create: %s", path, strerror(errno));
	if (fchmod(fd, 0600) == -1 || fsync(fd) == -1 ||
	    fsync_dir_of(path) == -1) {
		saved = errno;
		(void)close(fd);
		(void)unlink(path);
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(saved));
	}
	(void)close(fd);
	return 0;
}

static int
db_open(struct ferry_catalog *c, struct ferry_error *err)
{
	int64_t fk;
	int rc, r;

	/*
	 * No SQLITE_OPEN_CREATE: create_file() made the file with its mode,
	 * and one that vanished since must not come back with another.
	 */
	rc = sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK && c->db == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "%s: %s",
		    c->path, sqlite3_errstr(rc));
	if (rc != SQLITE_OK)
		return db_fail(c, err, "opening");
	(void)sqlite3_busy_timeout(c->db, CATALOG_BUSY_MS);
	/* The file is data, not code: no schema tricks, no shadow writes. */
	(void)sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1,
	    (int *)NULL);
	(void)sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    (int *)NULL);
	/* Publications must survive a power cut once committed. */
	if ((r = exec(c, "PRAGMA foreign_keys = ON", err)) != 0 ||
	    (r = exec(c, "PRAGMA synchronous = FULL", err)) != 0 ||
	    (r = query_int(c, "PRAGMA foreign_keys", &fk, err)) != 0)
		return r;
	if (fk != 1)
		return ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: this SQLite does not enforce foreign keys", c->path);
	return 0;
}

/*
 * Which schema the file is at: *version is 0 for a new, empty database.
 * Another program's database is refused here, having only been read.
 */
static int
catalog_version(struct ferry_catalog *c, int64_t *version,
    struct ferry_error *err)
{
	int64_t appid, uv, nobj;
	int r;

	if ((r = query_int(c, "PRAGMA application_id", &appid, err)) != 0 ||
	    (r = query_int(c, "PRAGMA user_version", &uv, err)) != 0 ||
	    (r = query_int(c, "SELECT count(*) FROM sqlite_schema", &nobj,
	    err)) != 0)
		return r;
	if (appid == 0 && uv == 0 && nobj == 0) {
		*version = 0;
		return 0;
	}
	if (appid != CATALOG_APPID || uv < 1)
		return ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: not a Ferry catalog", c->path);
	if (uv > FERRY_CATALOG_SCHEMA_VERSION)
		return ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: catalog schema v%" PRId64 " is newer than this "
		    "ferry-repod (v%d)", c->path, uv,
		    FERRY_CATALOG_SCHEMA_VERSION);
	*version = uv;
	return 0;
}

/* Outside any transaction, as SQLite requires. */
static int
set_wal(struct ferry_catalog *c, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int r;

	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(c, err, "setting WAL mode");
		goto out;
	}
	if ((r = col_text(c, st, 0, &mode, err)) != 0)
		goto out;
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		r = ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: cannot use WAL mode (the journal mode stays %s)",
		    c->path, mode != NULL ? mode : "unknown");
		goto out;
	}
	r = 0;
 out:
	(void)sqlite3_finalize(st);
	return r;
}

static int
migrate(struct ferry_catalog *c, struct ferry_error *err)
{
	int64_t v, check;
	size_t i;
	int r;

	if ((r = exec(c, "BEGIN IMMEDIATE", err)) != 0)
		return r;
	/* Again under the write lock: another process may have been first. */
	if ((r = catalog_version(c, &v, err)) != 0)
		goto out;
	for (i = (size_t)v; i < NITEMS(migrations); i++) {
		if (sqlite3_exec(c->db, migrations[i], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			r = db_fail(c, err, "making schema v%zu", i + 1);
			goto out;
		}
		if ((r = query_int(c, "PRAGMA user_version", &check,
		    err)) != 0)
			goto out;
		if (check != (int64_t)i + 1) {
			r = ferry_error_set(err, FERRY_ERR_INTERNAL,
			    "%s: migration to v%zu left user_version %" PRId64,
			    c->path, i + 1, check);
			goto out;
		}
	}
	r = tx_commit(c, err);
 out:
	if (r != 0 && !sqlite3_get_autocommit(c->db))
		(void)sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int
ferry_catalog_open(const char *path, struct ferry_catalog **out,
    struct ferry_error *err)
{
	struct ferry_catalog *c = NULL;
	int64_t version;
	int r;

	if (path == NULL || *path == '\0' || out == NULL)
		return bad_arg(err, "ferry_catalog_open");
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		r = ferry_error_set(err, FERRY_ERR_NOMEM, "%s: out of memory",
		    path);
		goto out;
	}
	if ((r = create_file(path, err)) != 0 ||
	    (r = db_open(c, err)) != 0 ||
	    (r = catalog_version(c, &version, err)) != 0 ||
	    (r = set_wal(c, err)) != 0)
		goto out;
	if (version < FERRY_CATALOG_SCHEMA_VERSION &&
	    (r = migrate(c, err)) != 0)
		goto out;
	*out = c;
	c = NULL; /* transferred */
	r = 0;
 out:
	ferry_catalog_close(c);
	return r;
}

void
ferry_catalog_close(struct ferry_catalog *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < ST__COUNT; i++)
		(void)sqlite3_finalize(c->st[i]);
	/* SQLite rolls back a transaction still open. */
	(void)sqlite3_close_v2(c->db);
	free(c->live);
	free(c->path);
	free(c);
}

/* ---- publications ---- */

const char *
ferry_catalog_status_name(enum ferry_catalog_status s)
{
	if ((size_t)s >= NITEMS(status_names))
		return "unknown";
	return status_names[s];
}

static int
status_parse(const char *name, enum ferry_catalog_status *s)
{
	size_t i;

	for (i = 0; name != NULL && i < NITEMS(status_names); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*s = (enum ferry_catalog_status)i;
			return 0;
		}
	}
	return -1;
}

static int
is_sha256(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	/* Stops at the NUL of a short string, which is not a digit. */
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

static int
is_text(const char *s)
{
	return s != NULL && *s != '\0';
}

static int
pub_check(const struct ferry_catalog *c, const struct ferry_catalog_pub *p,
    struct ferry_error *err)
{
	size_t i;

	for (i = 0; p->kind != NULL && i < NITEMS(kinds); i++)
		if (strcmp(p->kind, kinds[i]) == 0)
			break;
	if (p->kind == NULL || i == NITEMS(kinds))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: publication kind \"%s\" is not publish, refresh or "
		    "init", c->path, p->kind != NULL ? p->kind : "(null)");
	if (!is_text(p->actor))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: publication without an actor", c->path);
	if (p->bundle_sha256 != NULL && strcmp(p->kind, "publish") != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: a %s publication has no bundle", c->path, p->kind);
	if (p->bundle_sha256 != NULL && !is_sha256(p->bundle_sha256))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: bundle sha256 \"%s\" is not 64 lowercase hex digits",
		    c->path, p->bundle_sha256);
	if (p->state < 1 || p->root_version < 1 || p->targets_version < 1 ||
	    p->snapshot_version < 1 || p->timestamp_version < 1)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: publication of state %" PRId64 ": the state and "
		    "every version must be >= 1", c->path, p->state);
	return 0;
}

int
ferry_catalog_pub_add(struct ferry_catalog *c, struct ferry_catalog_pub *p,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL || p == NULL)
		return bad_arg(err, "ferry_catalog_pub_add");
	if ((r = pub_check(c, p, err)) != 0 || (r = tx_check(c, err)) != 0 ||
	    (r = prep(c, ST_PUB_ADD, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, p->state) != SQLITE_OK ||
	    bind_text(st, 2, p->kind) != SQLITE_OK ||
	    bind_text(st, 3, p->actor) != SQLITE_OK ||
	    bind_text(st, 4, p->bundle_sha256) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, p->when) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, p->root_version) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, p->targets_version) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 8, p->snapshot_version) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 9, p->timestamp_version) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 10, p->timestamp_expires) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(c, err, "adding a publication of state %" PRId64,
		    p->state);
		goto out;
	}
	p->id = sqlite3_last_insert_rowid(c->db);
	p->status = FERRY_CATALOG_PENDING;
	r = 0;
 out:
	stmt_done(st);
	return r;
}

/* A publication row into *p; its strings live until the next step. */
static int
pub_row(struct ferry_catalog *c, sqlite3_stmt *st,
    struct ferry_catalog_pub *p, struct ferry_error *err)
{
	const char *status;
	int r;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(st, 0);
	p->state = sqlite3_column_int64(st, 1);
	p->when = sqlite3_column_int64(st, 5);
	p->root_version = sqlite3_column_int64(st, 6);
	p->targets_version = sqlite3_column_int64(st, 7);
	p->snapshot_version = sqlite3_column_int64(st, 8);
	p->timestamp_version = sqlite3_column_int64(st, 9);
	p->timestamp_expires = sqlite3_column_int64(st, 10);
	if ((r = col_text(c, st, 2, &p->kind, err)) != 0 ||
	    (r = col_text(c, st, 3, &p->actor, err)) != 0 ||
	    (r = col_text(c, st, 4, &p->bundle_sha256, err)) != 0 ||
	    (r = col_text(c, st, 11, &status, err)) != 0)
		return r;
	if (p->kind == NULL || p->actor == NULL ||
	    status_parse(status, &p->status) != 0)
		return ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: publication %" PRId64 " is malformed", c->path, p->id);
	return 0;
}

static int
pub_status(struct ferry_catalog *c, int64_t id,
    enum ferry_catalog_status *s, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	const char *name;
	int rc = SQLITE_DONE, r;

	if ((r = prep(c, ST_PUB_STATUS, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
	    ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE)) {
		r = db_fail(c, err, "reading publication %" PRId64, id);
		goto out;
	}
	if (rc == SQLITE_DONE) {
		r = ferry_error_set(err, FERRY_ERR_NOT_FOUND,
		    "%s: no publication %" PRId64, c->path, id);
		goto out;
	}
	if ((r = col_text(c, st, 0, &name, err)) != 0)
		goto out;
	if (status_parse(name, s) != 0) {
		r = ferry_error_set(err, FERRY_ERR_DATABASE,
		    "%s: publication %" PRId64 " is malformed", c->path, id);
		goto out;
	}
	r = 0;
 out:
	stmt_done(st);
	return r;
}

/* Run a cached statement that returns no rows; *n += rows it changed. */
static int
run(struct ferry_catalog *c, sqlite3_stmt *st, int *n,
    struct ferry_error *err, const char *what)
{
	if (sqlite3_step(st) != SQLITE_DONE) {
		int r = db_fail(c, err, "%s", what);

		stmt_done(st);
		return r;
	}
	if (n != NULL)
		*n += sqlite3_changes(c->db);
	stmt_done(st);
	return 0;
}

static int
set_row_status(struct ferry_catalog *c, int64_t id,
    enum ferry_catalog_status s, int *n, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = prep(c, ST_PUB_SET, &st, err)) != 0)
		return r;
	if (bind_text(st, 1, status_names[s]) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, id) != SQLITE_OK) {
		r = db_fail(c, err, "marking publication %" PRId64 " %s", id,
		    status_names[s]);
		stmt_done(st);
		return r;
	}
	return run(c, st, n, err, "marking a publication");
}

/* Inside op_begin(): id becomes live, the live one superseded. */
static int
promote(struct ferry_catalog *c, int64_t id, int *n, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	/* First: the unique index allows one live publication at a time. */
	if ((r = prep(c, ST_DEMOTE, &st, err)) != 0 ||
	    (r = run(c, st, n, err, "superseding the live publication")) != 0)
		return r;
	return set_row_status(c, id, FERRY_CATALOG_LIVE, n, err);
}

int
ferry_catalog_pub_live(struct ferry_catalog *c, int64_t id,
    struct ferry_error *err)
{
	enum ferry_catalog_status s;
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_pub_live");
	if ((r = op_begin(c, err)) != 0)
		return r;
	if ((r = pub_status(c, id, &s, err)) != 0 || s == FERRY_CATALOG_LIVE)
		goto out;
	if (s != FERRY_CATALOG_PENDING) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: publication %" PRId64 " is %s, not pending", c->path,
		    id, status_names[s]);
		goto out;
	}
	r = promote(c, id, NULL, err);
 out:
	return op_end(c, r, err);
}

int
ferry_catalog_pub_set_status(struct ferry_catalog *c, int64_t id,
    enum ferry_catalog_status s, struct ferry_error *err)
{
	enum ferry_catalog_status cur;
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_pub_set_status");
	if (s != FERRY_CATALOG_ABANDONED && s != FERRY_CATALOG_PRUNED)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: publication %" PRId64 ": only abandoned or pruned "
		    "can be set, not %s", c->path, id,
		    ferry_catalog_status_name(s));
	if ((r = op_begin(c, err)) != 0)
		return r;
	if ((r = pub_status(c, id, &cur, err)) != 0 || cur == s)
		goto out;
	if ((s == FERRY_CATALOG_ABANDONED && cur != FERRY_CATALOG_PENDING) ||
	    (s == FERRY_CATALOG_PRUNED && cur != FERRY_CATALOG_SUPERSEDED &&
	    cur != FERRY_CATALOG_ABANDONED)) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: publication %" PRId64 " is %s and cannot become %s",
		    c->path, id, status_names[cur], status_names[s]);
		goto out;
	}
	r = set_row_status(c, id, s, NULL, err);
 out:
	return op_end(c, r, err);
}

/* The state of the live publication, 0 when none is. */
static int
current_state(struct ferry_catalog *c, int64_t *state, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if ((r = prep(c, ST_LIVE, &st, err)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(c, err, "reading the live publication");
	else
		*state = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
	stmt_done(st);
	return r;
}

/* The newest pending publication of state, 0 when none is. */
static int
pending_of(struct ferry_catalog *c, int64_t state, int64_t *id,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE, r;

	if ((r = prep(c, ST_PENDING_OF, &st, err)) != 0)
		return r;
	if (sqlite3_bind_int64(st, 1, state) != SQLITE_OK ||
	    ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE))
		r = db_fail(c, err, "finding the publication of state %"
		    PRId64, state);
	else
		*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	stmt_done(st);
	return r;
}

int
ferry_catalog_reconcile(struct ferry_catalog *c, int64_t live_state,
    int *fixed, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t cur = 0, id = 0;
	int r, n = 0;

	if (c == NULL || live_state < 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "ferry_catalog_reconcile: bad argument");
	if ((r = op_begin(c, err)) != 0)
		return r;
	if (live_state > 0) {
		if ((r = current_state(c, &cur, err)) != 0)
			goto out;
		if (cur != live_state &&
		    ((r = pending_of(c, live_state, &id, err)) != 0 ||
		    (id != 0 && (r = promote(c, id, &n, err)) != 0)))
			goto out;
	}
	/* Whatever is still pending never reached the tree. */
	if ((r = prep(c, ST_ABANDON, &st, err)) != 0 ||
	    (r = run(c, st, &n, err, "abandoning pending publications")) != 0)
		goto out;
 out:
	if ((r = op_end(c, r, err)) == 0 && fixed != NULL)
		*fixed = n;
	return r;
}

int
ferry_catalog_pruned_below(struct ferry_catalog *c, int64_t state, int *n,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r, k = 0;

	if (c == NULL || state < 1)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "ferry_catalog_pruned_below: bad argument");
	if ((r = op_begin(c, err)) != 0)
		return r;
	if ((r = prep(c, ST_PRUNE_BELOW, &st, err)) == 0) {
		if (sqlite3_bind_int64(st, 1, state) != SQLITE_OK) {
			r = db_fail(c, err, "marking publications pruned");
			stmt_done(st);
		} else
			r = run(c, st, &k, err, "marking publications pruned");
	}
	if ((r = op_end(c, r, err)) == 0 && n != NULL)
		*n = k;
	return r;
}

/* Copy p's strings into one new buffer, *buf, and point p at them. */
static int
pub_own_strings(struct ferry_catalog *c, struct ferry_catalog_pub *p,
    char **buf, struct ferry_error *err)
{
	size_t lk = strlen(p->kind) + 1, la = strlen(p->actor) + 1;
	size_t lb = p->bundle_sha256 != NULL ? strlen(p->bundle_sha256) + 1 : 0;
	char *b;

	if ((b = malloc(lk + la + lb)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM,
		    "%s: out of memory", c->path);
	memcpy(b, p->kind, lk);
	memcpy(b + lk, p->actor, la);
	p->kind = b;
	p->actor = b + lk;
	if (p->bundle_sha256 != NULL) {
		memcpy(b + lk + la, p->bundle_sha256, lb);
		p->bundle_sha256 = b + lk + la;
	}
	*buf = b;
	return 0;
}

int
ferry_catalog_pub_get_live(struct ferry_catalog *c,
    struct ferry_catalog_pub *out, struct ferry_error *err)
{
	struct ferry_catalog_pub p;
	sqlite3_stmt *st = NULL;
	char *buf = NULL;
	int rc, r;

	if (c == NULL || out == NULL)
		return bad_arg(err, "ferry_catalog_pub_get_live");
	if ((r = prep(c, ST_LIVE, &st, err)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = ferry_error_set(err, FERRY_ERR_NOT_FOUND,
		    "%s: no publication is live", c->path);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = db_fail(c, err, "reading the live publication");
		goto out;
	}
	if ((r = pub_row(c, st, &p, err)) != 0 ||
	    (r = pub_own_strings(c, &p, &buf, err)) != 0)
		goto out;
	free(c->live);
	c->live = buf;
	buf = NULL; /* transferred */
	*out = p;
	r = 0;
 out:
	stmt_done(st);
	free(buf);
	return r;
}

int
ferry_catalog_pub_foreach(struct ferry_catalog *c, unsigned limit,
    int (*fn)(const struct ferry_catalog_pub *p, void *arg), void *arg,
    struct ferry_error *err)
{
	struct ferry_catalog_pub p;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (c == NULL || fn == NULL)
		return bad_arg(err, "ferry_catalog_pub_foreach");
	/* A statement of its own, so that fn may use c, even recursively. */
	if ((r = prep_list(c, "SELECT " PUB_COLUMNS " FROM publications "
	    "ORDER BY id DESC LIMIT ?", limit, &st, err)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = pub_row(c, st, &p, err)) != 0 ||
		    (r = fn(&p, arg)) != 0)
			goto out;
	if (rc != SQLITE_DONE) {
		r = db_fail(c, err, "listing publications");
		goto out;
	}
	r = 0;
 out:
	(void)sqlite3_finalize(st);
	return r;
}

/* ---- what publications brought ---- */

int
ferry_catalog_role_add(struct ferry_catalog *c, int64_t pub,
    const char *role, int64_t version, uint64_t length, const char *sha256,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_role_add");
	if (pub < 1 || !is_text(role) || version < 1 || length > INT64_MAX ||
	    !is_sha256(sha256))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: role file %s version %" PRId64 " of publication %"
		    PRId64 ": bad publication, name, version, length or "
		    "sha256", c->path, role != NULL ? role : "(null)", version,
		    pub);
	if ((r = tx_check(c, err)) != 0 ||
	    (r = prep(c, ST_ROLE_ADD, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, pub) != SQLITE_OK ||
	    bind_text(st, 2, role) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, version) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)length) != SQLITE_OK ||
	    bind_text(st, 5, sha256) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(c, err, "adding role file %s version %" PRId64
		    " to publication %" PRId64, role, version, pub);
		goto out;
	}
	r = 0;
 out:
	stmt_done(st);
	return r;
}

int
ferry_catalog_target_add(struct ferry_catalog *c, int64_t pub,
    const char *role, int64_t role_version, const char *path,
    uint64_t length, const char *sha256, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_target_add");
	if (pub < 1 || !is_text(role) || role_version < 1 || !is_text(path) ||
	    length > INT64_MAX || !is_sha256(sha256))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: target %s of publication %" PRId64 ": bad "
		    "publication, role, version, length or sha256", c->path,
		    path != NULL ? path : "(null)", pub);
	if ((r = tx_check(c, err)) != 0 ||
	    (r = prep(c, ST_TARGET_ADD, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, pub) != SQLITE_OK ||
	    bind_text(st, 2, role) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, role_version) != SQLITE_OK ||
	    bind_text(st, 4, path) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, (sqlite3_int64)length) != SQLITE_OK ||
	    bind_text(st, 6, sha256) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(c, err, "adding target %s of %s to publication %"
		    PRId64, path, role, pub);
		goto out;
	}
	r = 0;
 out:
	stmt_done(st);
	return r;
}

int
ferry_catalog_signing_add(struct ferry_catalog *c, int64_t pub,
    const char *role, int64_t version, const char *keyid, int64_t when,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_signing_add");
	if (pub < 1 || !is_text(role) || version < 1 || !is_text(keyid))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: signature over %s version %" PRId64 " of publication "
		    "%" PRId64 ": bad publication, role, version or key id",
		    c->path, role != NULL ? role : "(null)", version, pub);
	if ((r = tx_check(c, err)) != 0 ||
	    (r = prep(c, ST_SIGNING_ADD, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, pub) != SQLITE_OK ||
	    bind_text(st, 2, role) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, version) != SQLITE_OK ||
	    bind_text(st, 4, keyid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, when) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(c, err, "adding the signature of key %s over %s "
		    "version %" PRId64, keyid, role, version);
		goto out;
	}
	r = 0;
 out:
	stmt_done(st);
	return r;
}

int
ferry_catalog_signing_max(struct ferry_catalog *c, const char *role,
    int64_t *version, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL || version == NULL || !is_text(role))
		return bad_arg(err, "ferry_catalog_signing_max");
	if ((r = prep(c, ST_SIGNING_MAX, &st, err)) != 0)
		goto out;
	if (bind_text(st, 1, role) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(c, err, "the highest %s version signed", role);
		goto out;
	}
	*version = sqlite3_column_int64(st, 0);
	r = 0;
 out:
	stmt_done(st);
	return r;
}

int
ferry_catalog_target_count(struct ferry_catalog *c, int64_t pub,
    int64_t *n, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL || n == NULL)
		return bad_arg(err, "ferry_catalog_target_count");
	if ((r = prep(c, ST_TARGET_COUNT, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, pub) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(c, err, "counting the targets of publication %"
		    PRId64, pub);
		goto out;
	}
	*n = sqlite3_column_int64(st, 0);
	r = 0;
 out:
	stmt_done(st);
	return r;
}

int
ferry_catalog_target_find(struct ferry_catalog *c, const char *path,
    const char *sha256, int64_t *pub, struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL || pub == NULL)
		return bad_arg(err, "ferry_catalog_target_find");
	if (!is_text(path) || !is_sha256(sha256))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: finding target %s: bad path or sha256", c->path,
		    path != NULL ? path : "(null)");
	if ((r = prep(c, ST_TARGET_FIND, &st, err)) != 0)
		goto out;
	if (bind_text(st, 1, path) != SQLITE_OK ||
	    bind_text(st, 2, sha256) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(c, err, "finding target %s", path);
		goto out;
	}
	/* min() of no rows is NULL, which reads as 0. */
	*pub = sqlite3_column_int64(st, 0);
	r = 0;
 out:
	stmt_done(st);
	return r;
}

/* ---- the audit log ---- */

int
ferry_catalog_audit(struct ferry_catalog *c, int64_t when,
    const char *actor, const char *action, int64_t pub, const char *detail,
    struct ferry_error *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (c == NULL)
		return bad_arg(err, "ferry_catalog_audit");
	if (!is_text(actor) || !is_text(action) || pub < 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: audit entry without an actor or action, or of "
		    "publication %" PRId64, c->path, pub);
	if ((r = tx_check(c, err)) != 0 ||
	    (r = prep(c, ST_AUDIT_ADD, &st, err)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, when) != SQLITE_OK ||
	    bind_text(st, 2, actor) != SQLITE_OK ||
	    bind_text(st, 3, action) != SQLITE_OK ||
	    (pub == 0 ? sqlite3_bind_null(st, 4) :
	    sqlite3_bind_int64(st, 4, pub)) != SQLITE_OK ||
	    bind_text(st, 5, detail) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		r = db_fail(c, err, "adding audit entry %s by %s of "
		    "publication %" PRId64, action, actor, pub);
		goto out;
	}
	r = 0;
 out:
	stmt_done(st);
	return r;
}

int
ferry_catalog_audit_foreach(struct ferry_catalog *c, unsigned limit,
    int (*fn)(const struct ferry_catalog_entry *e, void *arg), void *arg,
    struct ferry_error *err)
{
	struct ferry_catalog_entry e;
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (c == NULL || fn == NULL)
		return bad_arg(err, "ferry_catalog_audit_foreach");
	if ((r = prep_list(c, "SELECT id, created, actor, action, pub, "
	    "detail FROM audit ORDER BY id DESC LIMIT ?", limit, &st,
	    err)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.id = sqlite3_column_int64(st, 0);
		e.when = sqlite3_column_int64(st, 1);
		e.pub = sqlite3_column_int64(st, 4);	/* NULL: 0 */
		if ((r = col_text(c, st, 2, &e.actor, err)) != 0 ||
		    (r = col_text(c, st, 3, &e.action, err)) != 0 ||
		    (r = col_text(c, st, 5, &e.detail, err)) != 0)
			goto out;
		if (e.actor == NULL || e.action == NULL) {
			r = ferry_error_set(err, FERRY_ERR_DATABASE,
			    "%s: audit entry %" PRId64 " is malformed",
			    c->path, e.id);
			goto out;
		}
		if ((r = fn(&e, arg)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = db_fail(c, err, "listing the audit log");
		goto out;
	}
	r = 0;
 out:
	(void)sqlite3_finalize(st);
	return r;
}

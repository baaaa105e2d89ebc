/* The signer's workspace: see ws.h and docs/sign.md. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/key.h"
#include "signer/ws.h"

#define WS_FILE_MAX FERRY_META_MAX_DEFAULT
#define WS_NAMES_MAX (4u * 1024 * 1024)

/* Hash prefix -> index of the first delegation with it (classic bins). */
struct ws_pindex {
	size_t plen;		/* every prefix is this long */
	size_t cap;		/* power of two */
	char **key;		/* borrowed from the delegations */
	size_t *idx;
};

struct ws {
	char *dir;
	json_t *names;		/* keyid -> name */
	int names_dirty;
	int64_t now;
	struct ferry_meta **roots;	/* complete roots, version i + 1 */
	size_t nroots;
	struct ws_role root;	/* cur borrowed from roots[nroots - 1] */
	struct ws_role **roles;	/* every other role */
	size_t nroles, rcap;
	int sorted;
	struct ws_role **tab;	/* open addressing on the name */
	size_t tabcap;
	unsigned visit;
};

static void pindex_free(struct ws_pindex *p);

/* Put prefix in front of err's detail: "prefix: detail". */
static int
err_prefix(struct ferry_error *err, int r, const char *prefix)
{
	char msg[sizeof(err->msg)];

	if (err == NULL)
		return r;
	snprintf(msg, sizeof(msg), "%s", ferry_error_msg(err));
	if (strncmp(msg, prefix, strlen(prefix)) == 0)
		return r;
	ferry_error_clear(err);
	return ferry_error_set(err, r, "%s: %s", prefix, msg);
}

const char *
ws_dir(const struct ws *w)
{
	return w->dir;
}

int64_t
ws_now(const struct ws *w)
{
	return w->now;
}

int
ws_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > WS_NAME_MAX ||
	    name[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	/* "N.root" would be the file of a complete root. */
	return !(n >= 5 && strcmp(name + n - 5, ".root") == 0);
}

static int
path_of(char *buf, size_t len, const struct ws *w, const char *sub,
    const char *name, struct ferry_error *err)
{
	int n = snprintf(buf, len, "%s/%s/%s.json", w->dir, sub, name);

	if (n < 0 || (size_t)n >= len)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: path too long", w->dir);
	return 0;
}

/* --- the role table ---------------------------------------------------- */

static size_t
name_hash(const char *s)
{
	size_t h = 1469598103934665603u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

static struct ws_role *
tab_find(const struct ws *w, const char *name)
{
	size_t i;

	if (strcmp(name, "root") == 0)
		return (struct ws_role *)&w->root;
	if (w->tabcap == 0)
		return NULL;
	for (i = name_hash(name) & (w->tabcap - 1); w->tab[i] != NULL;
	    i = (i + 1) & (w->tabcap - 1))
		if (strcmp(w->tab[i]->name, name) == 0)
			return w->tab[i];
	return NULL;
}

static int
tab_grow(struct ws *w)
{
	struct ws_role **t;
	size_t cap = w->tabcap ? w->tabcap * 2 : 64, i, j;

	if ((t = calloc(cap, sizeof(*t))) == NULL)
		return FERRY_ERR_NOMEM;
	for (i = 0; i < w->nroles; i++) {
		for (j = name_hash(w->roles[i]->name) & (cap - 1); t[j] != NULL;
		    j = (j + 1) & (cap - 1))
			;
		t[j] = w->roles[i];
	}
	free(w->tab);
	w->tab = t;
	w->tabcap = cap;
	return 0;
}

/* The entry for name, made (with no versions) if needed. */
static int
role_entry(struct ws *w, const char *name, struct ws_role **out)
{
	struct ws_role *r, **nr;
	size_t i;

	if ((r = tab_find(w, name)) != NULL) {
		*out = r;
		return 0;
	}
	if ((w->nroles + 1) * 2 > w->tabcap && tab_grow(w) != 0)
		return FERRY_ERR_NOMEM;
	if (w->nroles == w->rcap) {
		size_t cap = w->rcap ? w->rcap * 2 : 64;

		if ((nr = realloc(w->roles, cap * sizeof(*nr))) == NULL)
			return FERRY_ERR_NOMEM;
		w->roles = nr;
		w->rcap = cap;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->name = strdup(name)) == NULL) {
		free(r);
		return FERRY_ERR_NOMEM;
	}
	w->roles[w->nroles++] = r;
	w->sorted = 0;
	for (i = name_hash(name) & (w->tabcap - 1); w->tab[i] != NULL;
	    i = (i + 1) & (w->tabcap - 1))
		;
	w->tab[i] = r;
	*out = r;
	return 0;
}

static int
cmp_role(const void *a, const void *b)
{
	return strcmp((*(struct ws_role *const *)a)->name,
	    (*(struct ws_role *const *)b)->name);
}

struct ws_role *const *
ws_roles(struct ws *w, size_t *n)
{
	if (!w->sorted && w->nroles > 1)
		qsort(w->roles, w->nroles, sizeof(*w->roles), cmp_role);
	w->sorted = 1;
	*n = w->nroles;
	return w->roles;
}

struct ferry_meta *const *
ws_roots(const struct ws *w, size_t *n)
{
	*n = w->nroots;
	return w->roots;
}

const struct ferry_meta *
ws_eff(const struct ws_role *r)
{
	return r->stg != NULL ? r->stg : r->cur;
}

/* Forget every delegation cache: a delegation changed. */
static void
reset_parents(struct ws *w)
{
	size_t i;

	for (i = 0; i < w->nroles; i++) {
		w->roles[i]->parent = NULL;
		w->roles[i]->indexed = 0;
		pindex_free(w->roles[i]->pindex);
		w->roles[i]->pindex = NULL;
		w->roles[i]->pindexed = 0;
	}
}

/* --- loading ------------------------------------------------------------ */

static int
load_meta(const char *path, enum ferry_meta_type type,
    struct ferry_meta **out, struct ferry_error *err)
{
	struct ferry_meta *md = NULL;
	int r;

	if ((r = ferry_meta_load(path, WS_FILE_MAX, &md, err)) != 0)
		return err_prefix(err, r, path);
	if (md->type != type) {
		ferry_meta_free(md);
		return ferry_error_set(err, FERRY_ERR_META_TYPE,
		    "%s: _type is \"%s\", expected \"%s\"", path,
		    ferry_meta_type_name(md->type), ferry_meta_type_name(type));
	}
	*out = md;
	return 0;
}

static int
load_role(struct ws *w, struct ws_role *r, struct ferry_error *err)
{
	char path[PATH_MAX];
	int rv;

	if (r->loaded || r == &w->root)
		return 0;
	if (r->have_cur && r->cur == NULL) {
		if ((rv = path_of(path, sizeof(path), w, "metadata", r->name,
		    err)) != 0 || (rv = load_meta(path, FERRY_META_TARGETS,
		    &r->cur, err)) != 0)
			return rv;
	}
	if (r->have_stg && r->stg == NULL) {
		if ((rv = path_of(path, sizeof(path), w, "staged", r->name,
		    err)) != 0 || (rv = load_meta(path, FERRY_META_TARGETS,
		    &r->stg, err)) != 0)
			return rv;
	}
	r->loaded = 1;
	return 0;
}

int
ws_get(struct ws *w, const char *name, struct ws_role **out,
    struct ferry_error *err)
{
	struct ws_role *r = tab_find(w, name);
	int rv;

	if (r == NULL || (!r->have_cur && !r->have_stg))
		return ferry_error_set(err, FERRY_ERR_UNKNOWN_ROLE,
		    "%s: the workspace has no role \"%s\"", w->dir, name);
	if ((rv = load_role(w, r, err)) != 0)
		return rv;
	*out = r;
	return 0;
}

/* "N.root.json" with N a version without leading zeros. */
static int
root_file_version(const char *name, uint64_t *v)
{
	const char *p = name;
	uint64_t n = 0;

	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return 0;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (strcmp(p, ".root.json") != 0)
		return 0;
	*v = n;
	return 1;
}

/* A role file name, "NAME.json"; NAME into buf. */
static int
role_file_name(const char *file, char *buf, size_t len)
{
	size_t n = strlen(file);

	if (n <= 5 || strcmp(file + n - 5, ".json") != 0 || n - 5 >= len)
		return 0;
	memcpy(buf, file, n - 5);
	buf[n - 5] = '\0';
	return ws_name_ok(buf);
}

static int
scan_dir(struct ws *w, const char *sub, struct ferry_error *err)
{
	char path[PATH_MAX], name[WS_NAME_MAX + 1];
	int staged = strcmp(sub, "staged") == 0, r = 0;
	struct ws_role *role;
	struct dirent *de;
	uint64_t v, maxv = 0, count = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", w->dir, sub);
	if ((d = opendir(path)) == NULL)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!staged && root_file_version(de->d_name, &v)) {
			maxv = v > maxv ? v : maxv;
			count++;
			continue;
		}
		if (!role_file_name(de->d_name, name, sizeof(name))) {
			/* Temporary files of an interrupted write, and
			 * anything else, are not roles. */
			continue;
		}
		if (strcmp(name, "root") == 0) {
			if (!staged) {
				r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
				    "%s/root.json: complete roots are "
				    "N.root.json", path);
				break;
			}
			w->root.have_stg = 1;
			continue;
		}
		if ((r = role_entry(w, name, &role)) != 0)
			break;
		if (staged)
			role->have_stg = 1;
		else
			role->have_cur = 1;
	}
	if (r == 0 && errno != 0)
		r = ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	closedir(d);
	if (r != 0 || staged)
		return r;
	if (count != maxv)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "%s: the roots are not versions 1 to %llu without gaps",
		    path, (unsigned long long)maxv);
	if (maxv > 100000)
		return ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "%s: too many roots", path);
	if (maxv > 0 && (w->roots = calloc(maxv, sizeof(*w->roots))) == NULL)
		return FERRY_ERR_NOMEM;
	for (v = 1; v <= maxv; v++) {
		snprintf(path, sizeof(path), "%s/metadata/%llu.root.json",
		    w->dir, (unsigned long long)v);
		if ((r = load_meta(path, FERRY_META_ROOT, &w->roots[v - 1],
		    err)) != 0)
			return r;
		w->nroots = v;
		if (w->roots[v - 1]->version != (int64_t)v)
			return ferry_error_set(err, FERRY_ERR_REPOSITORY,
			    "%s: holds version %lld", path,
			    (long long)w->roots[v - 1]->version);
	}
	if (maxv > 0) {
		w->root.cur = w->roots[maxv - 1];
		w->root.have_cur = 1;
	}
	return 0;
}

static int
load_names(struct ws *w, struct ferry_error *err)
{
	char path[PATH_MAX];
	const char *k, *t;
	json_t *doc = NULL, *v;
	int r;

	snprintf(path, sizeof(path), "%s/workspace.json", w->dir);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: not a "
		    "ferry-sign workspace (no workspace.json; `ferry-sign "
		    "init` makes one)", w->dir);
	if ((r = ferry_json_parse_file(path, WS_NAMES_MAX, &doc, err)) != 0)
		return err_prefix(err, r, path);
	if (!json_is_object(doc) ||
	    (t = ferry_json_cstr(json_object_get(doc, "_type"))) == NULL ||
	    strcmp(t, "ferry-sign-workspace") != 0) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY, "%s: not a "
		    "ferry-sign workspace (_type \"ferry-sign-workspace\")",
		    path);
		goto out;
	}
	if (!json_is_integer(json_object_get(doc, "format")) ||
	    json_integer_value(json_object_get(doc, "format")) != 1) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "%s: format: only format 1 is known", path);
		goto out;
	}
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "_type") != 0 && strcmp(k, "format") != 0 &&
		    strcmp(k, "names") != 0) {
			r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
			    "%s: unknown field \"%s\"", path, k);
			goto out;
		}
	}
	w->names = json_incref(json_object_get(doc, "names"));
	if (!json_is_object(w->names)) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "%s: names: must be an object", path);
		goto out;
	}
	json_object_foreach(w->names, k, v) {
		if (!json_is_string(v) || strlen(k) != FERRY_KEYID_HEXLEN) {
			r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
			    "%s: names.%.64s: must be a key id and a string",
			    path, k);
			goto out;
		}
	}
 out:
	json_decref(doc);
	return r;
}

static struct ws *
ws_alloc(const char *dir)
{
	struct ws *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->dir = strdup(dir)) == NULL ||
	    (w->root.name = strdup("root")) == NULL) {
		free(w->dir);
		free(w);
		return NULL;
	}
	w->root.loaded = 1;
	w->now = (int64_t)time(NULL);
	return w;
}

int
ws_open(const char *dir, struct ws **out, struct ferry_error *err)
{
	char path[PATH_MAX];
	struct ws *w;
	int r;

	if ((w = ws_alloc(dir)) == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = load_names(w, err)) != 0 ||
	    (r = scan_dir(w, "metadata", err)) != 0 ||
	    (r = scan_dir(w, "staged", err)) != 0)
		goto fail;
	if (w->root.have_stg) {
		snprintf(path, sizeof(path), "%s/staged/root.json", dir);
		if ((r = load_meta(path, FERRY_META_ROOT, &w->root.stg,
		    err)) != 0)
			goto fail;
	}
	if (w->root.stg != NULL &&
	    w->root.stg->version != (int64_t)w->nroots + 1) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "%s/staged/root.json: version %lld, but the next root is "
		    "version %zu", dir, (long long)w->root.stg->version,
		    w->nroots + 1);
		goto fail;
	}
	if (!w->root.have_cur && !w->root.have_stg) {
		r = ferry_error_set(err, FERRY_ERR_REPOSITORY,
		    "%s: the workspace has no root", dir);
		goto fail;
	}
	*out = w;
	return 0;
 fail:
	ws_free(w);
	return r;
}

int
ws_create(const char *dir, struct ws **out, struct ferry_error *err)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct ws *w;
	DIR *d;
	int r;

	if (mkdir(dir, 0755) != 0) {
		if (errno != EEXIST)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    dir, strerror(errno));
		if ((d = opendir(dir)) == NULL)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
			    dir, strerror(errno));
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				break;
		closedir(d);
		if (de != NULL)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s: exists and is not empty", dir);
	}
	snprintf(path, sizeof(path), "%s/metadata", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	snprintf(path, sizeof(path), "%s/staged", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	if ((w = ws_alloc(dir)) == NULL)
		return FERRY_ERR_NOMEM;
	if ((w->names = json_object()) == NULL) {
		ws_free(w);
		return FERRY_ERR_NOMEM;
	}
	w->names_dirty = 1;
	r = 0;
	*out = w;
	return r;
}

static void
pindex_free(struct ws_pindex *p)
{
	if (p == NULL)
		return;
	free(p->key);
	free(p->idx);
	free(p);
}

static void
role_free(struct ws_role *r)
{
	ferry_meta_free(r->cur);
	ferry_meta_free(r->stg);
	pindex_free(r->pindex);
	json_decref(r->edit);
	free(r->name);
	free(r);
}

void
ws_free(struct ws *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nroles; i++)
		role_free(w->roles[i]);
	for (i = 0; i < w->nroots; i++)
		ferry_meta_free(w->roots[i]);
	ferry_meta_free(w->root.stg);
	json_decref(w->root.edit);
	free(w->root.name);
	free(w->roots);
	free(w->roles);
	free(w->tab);
	json_decref(w->names);
	free(w->dir);
	free(w);
}

/* --- names and keys ---------------------------------------------------- */

int
ws_set_name(struct ws *w, const char *keyid, const char *name)
{
	const char *old = ws_name(w, keyid);

	if (name == NULL || (old != NULL && strcmp(old, name) == 0))
		return 0;
	if (json_object_set_new(w->names, keyid, json_string(name)) != 0)
		return FERRY_ERR_NOMEM;
	w->names_dirty = 1;
	return 0;
}

const char *
ws_name(const struct ws *w, const char *keyid)
{
	return ferry_json_cstr(json_object_get(w->names, keyid));
}

const json_t *
ws_names(const struct ws *w)
{
	return w->names;
}

int
ws_load_pubkey(const char *path, json_t **key, char *keyid, char **name,
    struct ferry_error *err)
{
	struct ferry_key *k = NULL;
	const char *stated, *base;
	json_t *doc = NULL, *obj = NULL;
	size_t n;
	int r;

	if ((r = ferry_json_parse_file(path, 64 * 1024, &doc, err)) != 0)
		return err_prefix(err, r, path);
	if (!json_is_object(doc) || json_object_get(doc, "private") != NULL ||
	    json_object_get(doc, "ciphertext") != NULL) {
		r = ferry_error_set(err, FERRY_ERR_KEY, "%s: not a public key "
		    "file (give the .pub file)", path);
		goto out;
	}
	if ((obj = json_pack("{s:O?, s:O?, s:O?}", "keytype",
	    json_object_get(doc, "keytype"), "scheme",
	    json_object_get(doc, "scheme"), "keyval",
	    json_object_get(doc, "keyval"))) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto out;
	}
	if ((r = ferry_key_from_json(obj, &k, err)) != 0) {
		r = err_prefix(err, r, path);
		goto out;
	}
	if (ferry_key_kind(k) == FERRY_KEY_UNSUPPORTED) {
		r = ferry_error_set(err, FERRY_ERR_KEY_UNSUPPORTED,
		    "%s: key type or scheme not supported", path);
		goto out;
	}
	if ((r = ferry_keyid(obj, keyid, err)) != 0)
		goto out;
	stated = ferry_json_cstr(json_object_get(doc, "keyid"));
	if (json_object_get(doc, "keyid") != NULL &&
	    (stated == NULL || strcmp(stated, keyid) != 0)) {
		r = ferry_error_set(err, FERRY_ERR_KEY, "%s: keyid: is not "
		    "the key id of the key (%s)", path, keyid);
		goto out;
	}
	if (name != NULL) {
		base = strrchr(path, '/');
		base = base != NULL ? base + 1 : path;
		n = strlen(base);
		if (n > 4 && strcmp(base + n - 4, ".pub") == 0)
			n -= 4;
		if (n > WS_NAME_MAX)
			n = WS_NAME_MAX;
		if ((*name = strndup(base, n)) == NULL) {
			r = FERRY_ERR_NOMEM;
			goto out;
		}
	}
	*key = obj;
	obj = NULL;
 out:
	ferry_key_free(k);
	json_decref(obj);
	json_decref(doc);
	return r;
}

/* --- time --------------------------------------------------------------- */

int64_t
ws_default_lifetime(const char *role)
{
	if (strcmp(role, "root") == 0)
		return 365 * WS_DAY;
	if (strcmp(role, "snapshot") == 0)
		return 7 * WS_DAY;
	if (strcmp(role, "timestamp") == 0)
		return WS_DAY;
	return 90 * WS_DAY;
}

int
ws_parse_when(const char *s, int64_t now, int64_t *out)
{
	unsigned long long days = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return FERRY_ERR_INVALID_ARG;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		days = days * 10 + (unsigned long long)(*p - '0');
		if (days > 100000)
			return FERRY_ERR_INVALID_ARG;
	}
	if (p != s && strcmp(p, "d") == 0) {
		*out = now + (int64_t)days * WS_DAY;
		return 0;
	}
	return ferry_meta_parse_time(s, out) == 0 ? 0 : FERRY_ERR_INVALID_ARG;
}

/* --- editing ------------------------------------------------------------ */

int
ws_edit(struct ws *w, const char *name, json_t **out, struct ferry_error *err)
{
	const struct ferry_meta *md;
	char when[32];
	struct ws_role *r;
	json_t *s;
	int rv;

	if ((rv = ws_get(w, name, &r, err)) != 0)
		return rv;
	md = ws_eff(r);
	if ((s = json_deep_copy(md->signed_obj)) == NULL)
		return FERRY_ERR_NOMEM;
	if (r->stg == NULL) {
		if (md->version == INT64_MAX) {
			json_decref(s);
			return ferry_error_set(err, FERRY_ERR_VERSION,
			    "%s: version %lld is the last one", name,
			    (long long)md->version);
		}
		if (ferry_meta_format_time(w->now + ws_default_lifetime(name),
		    when, sizeof(when)) != 0 ||
		    json_object_set_new(s, "version",
		    json_integer(md->version + 1)) != 0 ||
		    json_object_set_new(s, "expires", json_string(when)) != 0) {
			json_decref(s);
			return FERRY_ERR_NOMEM;
		}
	}
	*out = s;
	return 0;
}

static int
check_role_keys(const char *what, const struct ferry_role *role,
    const struct ferry_keyring *ring, struct ferry_error *err)
{
	size_t i;

	if (role->nkeyids == 0)
		return ferry_error_set(err, FERRY_ERR_THRESHOLD,
		    "%s: has no keys", what);
	if (role->threshold > role->nkeyids)
		return ferry_error_set(err, FERRY_ERR_THRESHOLD,
		    "%s: threshold %llu is larger than its %zu key%s", what,
		    (unsigned long long)role->threshold, role->nkeyids,
		    role->nkeyids == 1 ? "" : "s");
	for (i = 0; i < role->nkeyids; i++)
		if (ferry_keyring_find(ring, role->keyids[i]) == NULL)
			return ferry_error_set(err, FERRY_ERR_KEY,
			    "%s: key %s is not listed in keys", what,
			    role->keyids[i]);
	return 0;
}

int
ws_keys_bound(const struct ferry_meta *md, struct ferry_error *err)
{
	char kid[FERRY_KEYID_HEXLEN + 1];
	const json_t *keys;
	const char *id;
	json_t *k;
	int r;

	keys = md->type == FERRY_META_ROOT ?
	    json_object_get(md->signed_obj, "keys") :
	    json_object_get(json_object_get(md->signed_obj, "delegations"),
	    "keys");
	json_object_foreach((json_t *)keys, id, k) {
		if ((r = ferry_keyid(k, kid, err)) != 0)
			return r;
		if (strcmp(kid, id) != 0)
			return ferry_error_set(err, FERRY_ERR_KEY, "key %.64s "
			    "is listed under an id that is not its key id "
			    "(%s)", id, kid);
	}
	return 0;
}

/* What staging requires of md, a new version of role name. */
static int
check_staged(struct ws *w, struct ws_role *r, const struct ferry_meta *md,
    struct ferry_error *err)
{
	const struct ferry_delegations *d;
	char what[WS_NAME_MAX + 64];
	size_t i;
	int rv;

	if (r == &w->root && r->cur == NULL && md->version != 1)
		return ferry_error_set(err, FERRY_ERR_VERSION,
		    "root: version %lld: the first root is version 1",
		    (long long)md->version);
	if (r->cur != NULL && (r == &w->root ? md->version - 1 !=
	    r->cur->version : md->version <= r->cur->version))
		return ferry_error_set(err, FERRY_ERR_VERSION,
		    "%s: version %lld: must be %s %lld, the complete version",
		    r->name, (long long)md->version, r == &w->root ?
		    "exactly one more than" : "more than",
		    (long long)r->cur->version);
	if (md->expires <= w->now)
		return ferry_error_set(err, FERRY_ERR_EXPIRED,
		    "%s: expires %s: that is not in the future", r->name,
		    md->expires_str);
	if ((rv = ws_keys_bound(md, err)) != 0)
		return err_prefix(err, rv, r->name);
	if (md->type == FERRY_META_ROOT) {
		for (i = 0; i < FERRY_META_NTYPES; i++) {
			snprintf(what, sizeof(what), "root: roles.%s",
			    ferry_meta_type_name((enum ferry_meta_type)i));
			if ((rv = check_role_keys(what, &md->roles[i],
			    &md->keys, err)) != 0)
				return rv;
		}
		if (md->consistent_snapshot != 1)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "root: consistent_snapshot: must be true");
		return 0;
	}
	if ((d = md->delegations) == NULL)
		return 0;
	if (d->succinct) {
		snprintf(what, sizeof(what), "%s: succinct_roles", r->name);
		if (d->bins.bit_length > 16)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s: bit_length: at most 16 (65,536 bins) here",
			    what);
		if (!ws_name_ok(d->bins.name_prefix) ||
		    strlen(d->bins.name_prefix) > WS_NAME_MAX - 9)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s: name_prefix: must be letters, digits, '.', "
			    "'_' or '-'", what);
		return check_role_keys(what, &d->bins.role, &d->keys, err);
	}
	for (i = 0; i < d->nroles; i++) {
		snprintf(what, sizeof(what), "%s: delegation %.128s", r->name,
		    d->roles[i].name);
		if (!ws_name_ok(d->roles[i].name))
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s: the name must be 1 to %d letters, digits, "
			    "'.', '_' or '-', not starting with '.'", what,
			    WS_NAME_MAX);
		if (strcmp(d->roles[i].name, "root") == 0 ||
		    strcmp(d->roles[i].name, "targets") == 0 ||
		    strcmp(d->roles[i].name, "snapshot") == 0 ||
		    strcmp(d->roles[i].name, "timestamp") == 0)
			return ferry_error_set(err, FERRY_ERR_META_FIELD,
			    "%s: a top-level role cannot be delegated", what);
		if ((rv = check_role_keys(what, &d->roles[i], &d->keys,
		    err)) != 0)
			return rv;
	}
	return 0;
}

static const json_t *
delegations_of(const struct ferry_meta *md)
{
	return md != NULL ? json_object_get(md->signed_obj, "delegations") :
	    NULL;
}

/* json_equal(), with two absent values equal too. */
static int
same_json(const json_t *a, const json_t *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return json_equal((json_t *)a, (json_t *)b);
}

int
ws_stage(struct ws *w, const char *name, json_t *signed_obj,
    struct ferry_error *err)
{
	enum ferry_meta_type want;
	struct ferry_meta *md = NULL;
	struct ws_role *r;
	int rv, created = 0;

	want = strcmp(name, "root") == 0 ? FERRY_META_ROOT : FERRY_META_TARGETS;
	if (want == FERRY_META_TARGETS && !ws_name_ok(name))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "\"%.128s\": a role name must be 1 to %d letters, digits, "
		    "'.', '_' or '-', not starting with '.'", name, WS_NAME_MAX);
	if ((r = tab_find(w, name)) == NULL) {
		if ((rv = role_entry(w, name, &r)) != 0)
			return rv;
		r->loaded = 1;
		created = 1;
	} else if ((rv = load_role(w, r, err)) != 0)
		return rv;
	if ((rv = ferry_meta_from_signed(signed_obj, &md, err)) != 0) {
		rv = err_prefix(err, rv, name);
		goto fail;
	}
	if (md->type != want) {
		rv = ferry_error_set(err, FERRY_ERR_META_TYPE,
		    "%s: _type must be \"%s\"", name, ferry_meta_type_name(want));
		goto fail;
	}
	if ((rv = check_staged(w, r, md, err)) != 0)
		goto fail;
	if (want == FERRY_META_TARGETS &&
	    !same_json(delegations_of(ws_eff(r)), delegations_of(md)))
		reset_parents(w);
	/* r's own hash-prefix index points into the version replaced. */
	pindex_free(r->pindex);
	r->pindex = NULL;
	r->pindexed = 0;
	ferry_meta_free(r->stg);
	r->stg = md;
	r->have_stg = 1;
	r->dirty = 1;
	return 0;
 fail:
	ferry_meta_free(md);
	if (created) {
		/* Leave no trace of a role that was never staged. */
		r->loaded = 0;
	}
	return rv;
}

/* Add md, serialised, to batch b as path. */
static int
batch_meta(struct ferry_batch *b, const char *path,
    const struct ferry_meta *md, struct ferry_error *err)
{
	unsigned char *buf = NULL;
	size_t len;
	int r;

	if ((r = ferry_meta_serialize(md, &buf, &len, err)) != 0)
		return r;
	r = ferry_batch_add(b, path, buf, len, 0644);
	free(buf);
	if (r != 0)
		return ferry_error_set(err, r, "%s: %s", path, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	return 0;
}

int
ws_save(struct ws *w, struct ferry_error *err)
{
	char path[PATH_MAX];
	struct ferry_batch *b = NULL;
	unsigned char *buf = NULL;
	json_t *doc;
	size_t i, len;
	int r;

	if ((r = ferry_batch_new(&b)) != 0)
		return r;
	for (i = 0; i < w->nroles; i++) {
		if (!w->roles[i]->dirty)
			continue;
		if ((r = path_of(path, sizeof(path), w, "staged",
		    w->roles[i]->name, err)) != 0 ||
		    (r = batch_meta(b, path, w->roles[i]->stg, err)) != 0)
			goto out;
	}
	if (w->root.dirty && ((r = path_of(path, sizeof(path), w, "staged",
	    "root", err)) != 0 || (r = batch_meta(b, path, w->root.stg,
	    err)) != 0))
		goto out;
	if (w->names_dirty) {
		if ((doc = json_pack("{s:s, s:i, s:O}", "_type",
		    "ferry-sign-workspace", "format", 1, "names",
		    w->names)) == NULL) {
			r = FERRY_ERR_NOMEM;
			goto out;
		}
		r = ferry_json_serialize(doc, &buf, &len, err);
		json_decref(doc);
		if (r != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/workspace.json", w->dir);
		r = ferry_batch_add(b, path, buf, len, 0644);
		free(buf);
		if (r != 0) {
			r = ferry_error_set(err, r, "%s: %s", path,
			    r == FERRY_ERR_IO ? strerror(errno) :
			    ferry_strerror(r));
			goto out;
		}
	}
	if ((r = ferry_batch_commit(b)) != 0) {
		r = ferry_error_set(err, r, "%s: saving: %s", w->dir,
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
		goto out;
	}
	for (i = 0; i < w->nroles; i++)
		w->roles[i]->dirty = 0;
	w->root.dirty = 0;
	w->names_dirty = 0;
 out:
	ferry_batch_free(b);
	return r;
}

/* --- delegations -------------------------------------------------------- */

/* Set the parent of every role md (r's effective version) delegates. */
static int
index_children(struct ws *w, struct ws_role *r)
{
	const struct ferry_delegations *d = ws_eff(r) ?
	    ws_eff(r)->delegations : NULL;
	struct ws_role *c;
	size_t i;

	if (r->indexed)
		return 0;
	if (d != NULL && !d->succinct) {
		for (i = 0; i < d->nroles; i++) {
			if (role_entry(w, d->roles[i].name, &c) != 0)
				return FERRY_ERR_NOMEM;
			if (c->parent == NULL && c != r) {
				c->parent = r;
				c->deleg = i;
			}
		}
	}
	r->indexed = 1;
	return 0;
}

static int
is_bin_of(const struct ferry_meta *md, const char *name)
{
	const struct ferry_delegations *d = md ? md->delegations : NULL;

	return d != NULL && d->succinct &&
	    ferry_meta_delegated_role(md, name) != NULL;
}

/* The number of roles d delegates to (every bin of succinct bins). */
static size_t
delegation_count(const struct ferry_delegations *d)
{
	return d->succinct ? (size_t)1 << d->bins.bit_length : d->nroles;
}

/* The name of the i-th of them. */
static const char *
delegation_name(const struct ferry_delegations *d, size_t i, char *buf,
    size_t len)
{
	unsigned bits = d->bins.bit_length;
	int digits = bits <= 4 ? 1 : bits <= 8 ? 2 : bits <= 12 ? 3 : 4;

	if (!d->succinct)
		return d->roles[i].name;
	/* Bins are at most 16 bits here (check_staged()). */
	if (snprintf(buf, len, "%s-%0*zx", d->bins.name_prefix, digits,
	    i & 0xffff) >= (int)len)
		buf[0] = '\0';
	return buf;
}

int
ws_parent(struct ws *w, struct ws_role *r, struct ws_role **out,
    struct ferry_error *err)
{
	char bin[WS_NAME_MAX + 16];
	struct ws_role **queue = NULL, *p, *c;
	const struct ferry_delegations *d;
	size_t head = 0, tail = 0, cap = 0, i;
	int rv = 0;

	*out = NULL;
	if (r == &w->root || strcmp(r->name, "targets") == 0)
		return 0;
	if (r->parent != NULL) {
		*out = r->parent;
		return 0;
	}
	if ((p = tab_find(w, "targets")) == NULL)
		goto none;
	w->visit++;
	if ((queue = malloc(sizeof(*queue) * 16)) == NULL)
		return FERRY_ERR_NOMEM;
	cap = 16;
	queue[tail++] = p;
	p->visit = w->visit;
	while (head < tail) {
		p = queue[head++];
		if (!p->have_cur && !p->have_stg)
			continue;
		if ((rv = load_role(w, p, err)) != 0)
			goto out;
		if (is_bin_of(ws_eff(p), r->name)) {
			r->parent = p;
			break;
		}
		if ((rv = index_children(w, p)) != 0)
			goto out;
		if (r->parent != NULL)
			break;
		if ((d = ws_eff(p)->delegations) == NULL)
			continue;
		for (i = 0; i < delegation_count(d); i++) {
			if ((c = tab_find(w, delegation_name(d, i, bin,
			    sizeof(bin)))) == NULL || c->visit == w->visit ||
			    (!c->have_cur && !c->have_stg))
				continue;
			if (tail == cap) {
				struct ws_role **nq;

				cap *= 2;
				if ((nq = realloc(queue, cap *
				    sizeof(*nq))) == NULL) {
					rv = FERRY_ERR_NOMEM;
					goto out;
				}
				queue = nq;
			}
			c->visit = w->visit;
			queue[tail++] = c;
		}
	}
 out:
	free(queue);
	if (rv != 0)
		return rv;
	if (r->parent != NULL) {
		*out = r->parent;
		return 0;
	}
 none:
	return ferry_error_set(err, FERRY_ERR_UNKNOWN_ROLE,
	    "%s: no role in the workspace delegates it", r->name);
}

/*
 * The delegation of r in its parent p: where indexing found it, checked
 * by name (p may have been staged again since), else by a search.
 */
static const struct ferry_role *
delegation_of(const struct ws_role *p, const struct ws_role *r)
{
	const struct ferry_delegations *d = ws_eff(p)->delegations;

	if (d != NULL && !d->succinct && r->parent == p && r->deleg < d->nroles &&
	    strcmp(d->roles[r->deleg].name, r->name) == 0)
		return &d->roles[r->deleg];
	return ferry_meta_delegated_role(ws_eff(p), r->name);
}

/* Whether the delegation of r in p covers path. */
static int
covers(const struct ws_role *p, const struct ws_role *r, const char *path)
{
	const struct ferry_meta *md = ws_eff(p);
	char bin[WS_NAME_MAX + 16];

	if (md->delegations != NULL && md->delegations->succinct)
		return ferry_succinct_bin_name(&md->delegations->bins, path,
		    bin, sizeof(bin)) == 0 && strcmp(bin, r->name) == 0;
	return ferry_role_matches_path(delegation_of(p, r), path);
}

int
ws_check_path(struct ws *w, struct ws_role *r, const char *path,
    struct ferry_error *err)
{
	struct ws_role *p;
	int rv, depth = 0;

	while (r != NULL && r != &w->root && strcmp(r->name, "targets") != 0) {
		if ((rv = ws_parent(w, r, &p, err)) != 0)
			return rv;
		if (!covers(p, r, path))
			return ferry_error_set(err, FERRY_ERR_REPOSITORY,
			    "target \"%.256s\" is outside the paths %s "
			    "delegates to %s", path, p->name, r->name);
		r = p;
		if (++depth > 1024)
			return ferry_error_set(err, FERRY_ERR_REPOSITORY,
			    "%s: delegations nested too deeply", r->name);
	}
	return 0;
}

/* --- placement ---------------------------------------------------------- */

/*
 * Index the delegations of d when every one of them is hash prefixes of
 * one length (classic hash bins); else leave *out NULL.
 */
static int
pindex_build(const struct ferry_delegations *d, struct ws_pindex **out)
{
	struct ws_pindex *p;
	const char *k;
	size_t i, j, h, plen = 0, total = 0, cap = 64;
	json_t *a;

	*out = NULL;
	if (d->succinct || d->nroles < 16)
		return 0;
	for (i = 0; i < d->nroles; i++) {
		if ((a = (json_t *)d->roles[i].path_hash_prefixes) == NULL)
			return 0;
		for (j = 0; j < json_array_size(a); j++) {
			k = ferry_json_cstr(json_array_get(a, j));
			if (k == NULL || strlen(k) == 0 || strlen(k) > 64 ||
			    (plen != 0 && strlen(k) != plen))
				return 0;
			plen = strlen(k);
			total++;
		}
	}
	while (cap < 2 * total)
		cap *= 2;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->key = calloc(cap, sizeof(*p->key))) == NULL ||
	    (p->idx = calloc(cap, sizeof(*p->idx))) == NULL) {
		pindex_free(p);
		return FERRY_ERR_NOMEM;
	}
	p->plen = plen;
	p->cap = cap;
	for (i = 0; i < d->nroles; i++) {
		a = (json_t *)d->roles[i].path_hash_prefixes;
		for (j = 0; j < json_array_size(a); j++) {
			k = ferry_json_cstr(json_array_get(a, j));
			for (h = name_hash(k) & (cap - 1); p->key[h] != NULL &&
			    strcmp(p->key[h], k) != 0; h = (h + 1) & (cap - 1))
				;
			if (p->key[h] != NULL)
				continue;	/* the first delegation wins */
			p->key[h] = (char *)k;
			p->idx[h] = i;
		}
	}
	*out = p;
	return 0;
}

/* The index of the first delegation of d covering path, or -1. */
static long
first_match(struct ws_role *r, const struct ferry_delegations *d,
    const char *path, const char *hexhash)
{
	struct ws_pindex *p;
	char key[65];
	size_t i, h;

	if (!r->pindexed) {
		if (pindex_build(d, &r->pindex) != 0)
			return -2;
		r->pindexed = 1;
	}
	if ((p = r->pindex) != NULL) {
		memcpy(key, hexhash, p->plen);
		key[p->plen] = '\0';
		for (h = name_hash(key) & (p->cap - 1); p->key[h] != NULL;
		    h = (h + 1) & (p->cap - 1))
			if (strcmp(p->key[h], key) == 0)
				return (long)p->idx[h];
		return -1;
	}
	for (i = 0; i < d->nroles; i++)
		if (ferry_role_matches_path(&d->roles[i], path))
			return (long)i;
	return -1;
}

int
ws_place(struct ws *w, const char *path, struct ws_role **out,
    struct ferry_error *err)
{
	unsigned char digest[FERRY_HASH_MAX];
	char hex[2 * FERRY_HASH_MAX + 1], bin[WS_NAME_MAX + 16];
	const struct ferry_delegations *d;
	struct ws_role *r, *c;
	size_t n, depth;
	long i;
	int rv;

	if ((rv = ws_get(w, "targets", &r, err)) != 0)
		return rv;
	if (ferry_hash_buf(FERRY_HASH_SHA256, path, strlen(path), digest,
	    &n) != 0)
		return FERRY_ERR_CRYPTO;
	ferry_hex_encode(digest, n, hex);
	for (depth = 0; depth < 1024; depth++) {
		if ((d = ws_eff(r)->delegations) == NULL)
			break;
		c = NULL;
		if (d->succinct) {
			if (ferry_succinct_bin_name(&d->bins, path, bin,
			    sizeof(bin)) != 0)
				return FERRY_ERR_INTERNAL;
			c = tab_find(w, bin);
		} else {
			/*
			 * The first delegation covering path: a client that
			 * does not find the target in it goes on to the next
			 * one, but it finds it here first.
			 */
			if ((i = first_match(r, d, path, hex)) == -2)
				return FERRY_ERR_NOMEM;
			if (i >= 0)
				c = tab_find(w, d->roles[i].name);
		}
		if (c == NULL || (!c->have_cur && !c->have_stg))
			break;
		if ((rv = load_role(w, c, err)) != 0)
			return rv;
		r = c;
	}
	*out = r;
	return 0;
}

/* --- thresholds --------------------------------------------------------- */

int
ws_add_signature(struct ws *w, struct ws_role *r, const char *keyid,
    const char *sighex, struct ferry_error *err)
{
	int rv;

	(void)w;
	if (r->stg == NULL)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: not staged", r->name);
	if ((rv = ferry_meta_add_signature(r->stg, keyid, sighex, err)) != 0)
		return rv;
	r->dirty = 1;
	return 0;
}

int
ws_signed_by(const struct ferry_meta *md, const struct ferry_keyring *ring,
    const char *keyid)
{
	const struct ferry_key *k = ferry_keyring_find(ring, keyid);
	size_t i;

	if (k == NULL)
		return 0;
	for (i = 0; i < md->nsigs; i++)
		if (strcmp(md->sigs[i].keyid, keyid) == 0 &&
		    ferry_key_verify(k, md->canon, md->canonlen,
		    md->sigs[i].sig) == 0)
			return 1;
	return 0;
}

static void
need_set(struct ws_need *n, const char *role, const struct ferry_meta *by,
    const struct ferry_keyring *ring, const struct ferry_role *fr)
{
	const json_t *s = by->signed_obj;

	snprintf(n->of, sizeof(n->of), "%s v%lld", role,
	    (long long)by->version);
	n->keys = by->type == FERRY_META_ROOT ? json_object_get(s, "keys") :
	    json_object_get(json_object_get(s, "delegations"), "keys");
	n->ring = ring;
	n->role = fr;
	n->have = 0;
}

int
ws_needs(struct ws *w, struct ws_role *r, const struct ferry_meta *md,
    struct ws_need *needs, size_t *nneeds, int *complete,
    struct ferry_error *err)
{
	const struct ferry_meta *root, *pm;
	const struct ferry_role *fr;
	struct ws_role *p;
	size_t i, n = 0;
	int rv;

	if (r == &w->root) {
		if (md->version > 1) {
			if ((size_t)(md->version - 1) > w->nroots)
				return ferry_error_set(err, FERRY_ERR_REPOSITORY,
				    "root v%lld: the workspace has no root "
				    "v%lld", (long long)md->version,
				    (long long)md->version - 1);
			pm = w->roots[md->version - 2];
			need_set(&needs[n++], "root", pm, &pm->keys,
			    &pm->roles[FERRY_META_ROOT]);
		}
		need_set(&needs[n++], "root", md, &md->keys,
		    &md->roles[FERRY_META_ROOT]);
	} else if (strcmp(r->name, "targets") == 0) {
		root = ws_eff(&w->root);
		need_set(&needs[n++], "root", root, &root->keys,
		    &root->roles[FERRY_META_TARGETS]);
	} else {
		if ((rv = ws_parent(w, r, &p, err)) != 0)
			return rv;
		pm = ws_eff(p);
		if ((fr = delegation_of(p, r)) == NULL)
			return ferry_error_set(err, FERRY_ERR_UNKNOWN_ROLE,
			    "%s: %s does not delegate it", r->name, p->name);
		need_set(&needs[n++], p->name, pm, &pm->delegations->keys, fr);
	}
	*complete = 1;
	for (i = 0; i < n; i++) {
		(void)ferry_meta_verify(md, needs[i].ring, needs[i].role,
		    &needs[i].have, NULL);
		if (needs[i].have < needs[i].role->threshold)
			*complete = 0;
	}
	*nneeds = n;
	return 0;
}

int
ws_report(struct ws *w, struct ws_role *r, const struct ferry_meta *md,
    FILE *f, int *complete, struct ferry_error *err)
{
	struct ws_need needs[WS_MAXNEEDS];
	const struct ferry_role *fr;
	const char *id, *nm;
	size_t i, j, n, shown;
	int rv;

	if ((rv = ws_needs(w, r, md, needs, &n, complete, err)) != 0)
		return rv;
	if (f == NULL)
		return 0;
	fprintf(f, "%s v%lld: %s", r->name, (long long)md->version,
	    *complete ? "complete, " : "");
	for (i = 0; i < n; i++) {
		fr = needs[i].role;
		fprintf(f, "%s%zu of %llu from %s", i ? "; " : "",
		    needs[i].have, (unsigned long long)fr->threshold,
		    needs[i].of);
		if (needs[i].have >= fr->threshold)
			continue;
		fprintf(f, ", missing %llu of",
		    (unsigned long long)(fr->threshold - needs[i].have));
		for (j = 0, shown = 0; j < fr->nkeyids; j++) {
			id = fr->keyids[j];
			if (ws_signed_by(md, needs[i].ring, id))
				continue;
			nm = ws_name(w, id);
			if (nm != NULL)
				fprintf(f, "%s %s (%.8s)", shown ? "," : "",
				    nm, id);
			else
				fprintf(f, "%s %.8s", shown ? "," : "", id);
			shown++;
		}
	}
	fputc('\n', f);
	return 0;
}

/* --- promotion ---------------------------------------------------------- */

static int
fsync_dir(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int
ws_promote(struct ws *w, struct ferry_error *err)
{
	char from[PATH_MAX], to[PATH_MAX], sub[PATH_MAX];
	struct ferry_meta **nr;
	struct ws_role *r;
	size_t i;
	int rv;

	if ((rv = ws_save(w, err)) != 0)
		return rv;
	for (i = 0; i < w->nroles; i++) {
		r = w->roles[i];
		if (r->stg == NULL)
			continue;
		if ((rv = path_of(from, sizeof(from), w, "staged", r->name,
		    err)) != 0 || (rv = path_of(to, sizeof(to), w, "metadata",
		    r->name, err)) != 0)
			return rv;
		if (rename(from, to) != 0)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", to,
			    strerror(errno));
		ferry_meta_free(r->cur);
		r->cur = r->stg;
		r->stg = NULL;
		r->have_cur = 1;
		r->have_stg = 0;
	}
	if (w->root.stg != NULL) {
		if ((nr = realloc(w->roots, (w->nroots + 1) *
		    sizeof(*nr))) == NULL)
			return FERRY_ERR_NOMEM;
		w->roots = nr;
		snprintf(from, sizeof(from), "%s/staged/root.json", w->dir);
		snprintf(to, sizeof(to), "%s/metadata/%lld.root.json", w->dir,
		    (long long)w->root.stg->version);
		if (rename(from, to) != 0)
			return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", to,
			    strerror(errno));
		w->roots[w->nroots++] = w->root.stg;
		w->root.cur = w->root.stg;
		w->root.stg = NULL;
		w->root.have_cur = 1;
		w->root.have_stg = 0;
	}
	snprintf(sub, sizeof(sub), "%s/metadata", w->dir);
	if (fsync_dir(sub) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", sub,
		    strerror(errno));
	snprintf(sub, sizeof(sub), "%s/staged", w->dir);
	if (fsync_dir(sub) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", sub,
		    strerror(errno));
	return 0;
}

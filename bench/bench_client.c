/*
 * bench_client: the pieces of the client part of `make bench`
 * (bench/client.sh), which times Ferry's updater and tuf-js's on the
 * same hashed-bin repository served on loopback.
 *
 *   bench_client gen DIR [--targets N] [--bins B] [--meta-hashes]
 *       Write a signed consistent-snapshot repository to DIR, entirely
 *       from fixed seeds: root, timestamp, snapshot, top-level targets
 *       delegating to B hash bins through TAP 15 "succinct_roles"
 *       (bit_length log2 B, name_prefix "bins"), and the B bins listing
 *       N targets between them.  Only the one target the benchmark
 *       downloads is written as a file.  Prints "key: value" lines.
 *
 *   bench_client raw DIR TARGET [--runs R]
 *       The raw work a client cannot avoid for a cold refresh plus the
 *       download of TARGET: parse, canonicalise and check the signatures
 *       of root, timestamp, snapshot, targets and the one bin listing
 *       TARGET, and hash the snapshot (and the other metadata, where
 *       snapshot lists hashes) and the target against the digests the
 *       metadata lists.  Plain jansson, ferry_json_canonical,
 *       crypto_sign_verify_detached and OpenSSL EVP digests: no updater,
 *       no validation beyond what the checks need, no I/O (the files are
 *       read into memory first).  Median of R passes.
 *
 *   bench_client updater ROOTFILE SCRATCH METAURL TARGETURL TARGET [--runs R]
 *       Ferry's updater in this process, as ferry-conformance-client
 *       drives it (refresh, lookup, download unless cached), without the
 *       cost of starting a process: R cold runs, each in a new client
 *       directory under SCRATCH holding only ROOTFILE as root.json, then
 *       R warm runs in the first one.  Medians, and the first cold run
 *       (which also initialises libcurl and OpenSSL) on its own.
 *
 *   bench_client time -o FILE [-k SECONDS] CMD [ARG...]
 *       Run CMD, then write "WALL_MS CPU_MS" to FILE (CPU: the child's
 *       user + system time, all its threads).  Exits with CMD's status;
 *       with -k, kills CMD (SIGKILL, by its pid) if it runs longer than
 *       SECONDS and exits 124: a bound on a hung client, not a verdict.
 *
 * Nothing is judged: each mode fails only on an actual error (a
 * signature or digest that does not check, I/O), never on a time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#define BENCH_NAME "bench_client"
#include "bench/bench.h"
#include "lib/err.h"
#include "lib/fetch.h"
#include "lib/file.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "lib/seckey.h"
#include "lib/updater.h"


#define DEFAULT_TARGETS 100000u
#define DEFAULT_BINS 1024u
#define MAX_BINS (1u << 20)
#define DEFAULT_RUNS 11u
#define MAX_RUNS 1000u
#define TARGET_LEN 64u		/* bytes in each target file */
#define EXPIRES "2099-01-01T00:00:00Z"
#define SPEC_VERSION "1.0.31"
#define BIN_PREFIX "bins"

/* CPU time of this process, all its threads (libcurl's resolver too). */
static double
cpu_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return FERRY_ERR_INVALID_ARG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return FERRY_ERR_INVALID_ARG;
	*out = v;
	return 0;
}

/* mkdir -p */
static int
mkdir_p(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fail(FERRY_ERR_IO, "%s: path too long", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return fail(FERRY_ERR_IO, "%s: %s", buf,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) == -1 && errno != EEXIST)
		return fail(FERRY_ERR_IO, "%s: %s", buf, strerror(errno));
	return 0;
}

/* One-shot digest through OpenSSL EVP, as hex. */
static int
digest_hex(const EVP_MD *md, const void *buf, size_t len, char *hex)
{
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(buf, len, dg, &n, md, NULL) != 1)
		return FERRY_ERR_INTERNAL;
	ferry_hex_encode(dg, n, hex);
	return 0;
}

/*
 * The succinct bin of path: the first bits bits of SHA-256(path), as
 * TAP 15 and tuf-js compute it.
 */
static int
bin_of(const char *path, unsigned bits, uint32_t *out)
{
	unsigned char dg[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	uint32_t v;

	if (EVP_Digest(path, strlen(path), dg, &n, EVP_sha256(), NULL) != 1)
		return FERRY_ERR_INTERNAL;
	v = (uint32_t)dg[0] << 24 | (uint32_t)dg[1] << 16 |
	    (uint32_t)dg[2] << 8 | (uint32_t)dg[3];
	*out = bits >= 32 ? v : v >> (32 - bits);
	return 0;
}

static void
bin_name(unsigned bits, uint32_t b, char *out, size_t cap)
{
	snprintf(out, cap, "%s-%0*" PRIx32, BIN_PREFIX, (int)((bits + 3) / 4),
	    b);
}

/* Part 1: gen. */

enum { K_ROOT, K_TARGETS, K_SNAPSHOT, K_TIMESTAMP, K_BINS, NKEYS };

struct gen {
	const char *dir;
	size_t ntargets;
	unsigned bits;
	size_t nbins;
	int meta_hashes;
	struct ferry_seckey *keys[NKEYS];
	uint64_t files, bytes, bin_bytes_total;
	struct ferry_error err;
};

/* The bytes of target i: printable, newline-terminated, TARGET_LEN long. */
static void
target_content(size_t i, unsigned char out[TARGET_LEN])
{
	static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct rng g = { (UINT64_C(0x9e3779b97f4a7c15) * (i + 1)) | 1 };
	size_t k;
	int n;

	n = snprintf((char *)out, TARGET_LEN, "ferry bench target %zu ", i);
	for (k = (size_t)n; k < TARGET_LEN - 1; k++)
		out[k] = (unsigned char)alphabet[rng_next(&g) %
		    (sizeof(alphabet) - 1)];
	out[TARGET_LEN - 1] = '\n';
}

static const char *const app_words[] = {
	"browser", "mail", "editor", "player", "viewer", "terminal",
	"office", "chat", "maps", "camera", "notes", "calendar", "weather",
	"music", "photos", "files", "backup", "vpn", "firewall", "printer",
	"scanner", "games", "ide", "database", "monitor", "clock",
	"contacts", "reader", "podcasts", "torrent", "wallet", "keyring",
};
#define NWORDS (sizeof(app_words) / sizeof(app_words[0]))

static int
add_key(json_t *keys, struct ferry_seckey *k)
{
	json_t *pub = NULL;

	if (ferry_seckey_public_json(k, &pub) != 0)
		return FERRY_ERR_NOMEM;
	return json_object_set_new(keys, ferry_seckey_keyid(k), pub) == 0 ?
	    0 : FERRY_ERR_NOMEM;
}

static json_t *
role_of(struct ferry_seckey *k)
{
	return json_pack("{s:[s], s:i}", "keyids", ferry_seckey_keyid(k),
	    "threshold", 1);
}

/*
 * Sign signed_obj (reference taken) with k, write it to DIR/metadata/name
 * and describe the file for snapshot or timestamp "meta": its version,
 * and its length and sha256 when with_hashes.
 */
static int
sign_write(struct gen *g, json_t *signed_obj, struct ferry_seckey *k,
    const char *name, int with_hashes, json_t **metafile, size_t *lenp)
{
	struct ferry_meta *md = NULL;
	unsigned char *buf = NULL;
	char path[PATH_MAX], hex[2 * FERRY_HASH_MAX + 1];
	size_t len = 0;
	int r;

	if (signed_obj == NULL)
		return fail(FERRY_ERR_NOMEM, "%s: out of memory", name);
	if ((r = ferry_meta_from_signed(signed_obj, &md, &g->err)) != 0 ||
	    (r = ferry_meta_sign(md, k, &g->err)) != 0 ||
	    (r = ferry_meta_serialize(md, &buf, &len, &g->err)) != 0) {
		(void)fail(r, "%s: %s", name, ferry_error_msg(&g->err));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/metadata/%s", g->dir, name);
	if ((r = write_file_flags(path, buf, len, O_TRUNC, 0644)) != 0)
		goto out;
	g->files++;
	g->bytes += len;
	if (lenp != NULL)
		*lenp = len;
	if (metafile != NULL) {
		if (with_hashes) {
			if ((r = digest_hex(EVP_sha256(), buf, len, hex)) != 0)
				goto out;
			*metafile = json_pack("{s:i, s:I, s:{s:s}}", "version",
			    1, "length", (json_int_t)len, "hashes", "sha256",
			    hex);
		} else {
			*metafile = json_pack("{s:i}", "version", 1);
		}
		if (*metafile == NULL)
			r = fail(FERRY_ERR_NOMEM, "%s: out of memory", name);
	}
 out:
	free(buf);
	ferry_meta_free(md);
	json_decref(signed_obj);
	return r;
}

/* The chosen target, written as DIR/targets/DIRNAME/HASH.BASENAME. */
static int
write_target(struct gen *g, const char *tpath, const unsigned char *data,
    size_t len, const char *const hexes[2])
{
	char path[PATH_MAX], sub[PATH_MAX];
	const char *slash = strrchr(tpath, '/');
	size_t i;
	int r;

	if (slash == NULL)
		snprintf(sub, sizeof(sub), "%s/targets", g->dir);
	else
		snprintf(sub, sizeof(sub), "%s/targets/%.*s", g->dir,
		    (int)(slash - tpath), tpath);
	if ((r = mkdir_p(sub)) != 0)
		return r;
	for (i = 0; i < 2; i++) {
		if (snprintf(path, sizeof(path), "%s/%s.%s", sub, hexes[i],
		    slash == NULL ? tpath : slash + 1) >= (int)sizeof(path))
			return fail(FERRY_ERR_IO, "%s: path too long", sub);
		if ((r = write_file_flags(path, data, len, O_TRUNC,
		    0644)) != 0)
			return r;
		g->files++;
		g->bytes += len;
	}
	return 0;
}

static int
gen_repo(struct gen *g)
{
	struct rng rg = { UINT64_C(0x5eedf00dcafe1234) };
	unsigned char content[TARGET_LEN], seed[FERRY_SEED_BYTES];
	char path[PATH_MAX], tpath[256], app[64], h256[65], h512[129];
	char name[64], chosen_path[256] = "";
	char chosen_256[65] = "", chosen_512[129] = "";
	char file[96];
	json_t **bins = NULL, *entry, *keys = NULL, *dkeys = NULL, *s = NULL;
	json_t *snapmeta = NULL, *mf = NULL, *tsmeta = NULL;
	size_t i, k, chosen = g->ntargets / 2, len, snaplen = 0, tglen = 0;
	size_t chosen_bin_len = 0, chosen_bin_n = 0, *bin_n = NULL;
	uint32_t b, chosen_bin = 0;
	double t0 = now_ms();
	int r = FERRY_ERR_NOMEM;

	snprintf(path, sizeof(path), "%s/metadata", g->dir);
	if ((r = mkdir_p(path)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/targets", g->dir);
	if ((r = mkdir_p(path)) != 0)
		return r;
	/* A key per role, each from its own fixed seed. */
	for (k = 0; k < NKEYS; k++) {
		for (i = 0; i < sizeof(seed); i++)
			seed[i] = (unsigned char)(0xb0 + 17 * k + 3 * i);
		if ((r = ferry_seckey_from_seed(seed, sizeof(seed),
		    &g->keys[k])) != 0)
			return fail(r, "key: %s", ferry_strerror(r));
	}
	sodium_memzero(seed, sizeof(seed));

	r = FERRY_ERR_NOMEM;
	if ((bins = calloc(g->nbins, sizeof(*bins))) == NULL ||
	    (bin_n = calloc(g->nbins, sizeof(*bin_n))) == NULL)
		goto out;
	for (b = 0; b < g->nbins; b++)
		if ((bins[b] = json_object()) == NULL)
			goto out;

	/* The targets, each into the bin its path hashes to. */
	for (i = 0; i < g->ntargets; i++) {
		uint64_t a = rng_next(&rg), v = rng_next(&rg);

		snprintf(app, sizeof(app), "%s-%u", app_words[a % NWORDS],
		    (unsigned)(a >> 32) % 2000);
		snprintf(tpath, sizeof(tpath),
		    "apps/%s/%u.%u.%u/image-%zu.tar.zst", app,
		    (unsigned)(v % 5), (unsigned)(v >> 8) % 40,
		    (unsigned)(v >> 16) % 100, i);
		target_content(i, content);
		if ((r = digest_hex(EVP_sha256(), content, TARGET_LEN,
		    h256)) != 0 || (r = digest_hex(EVP_sha512(), content,
		    TARGET_LEN, h512)) != 0 ||
		    (r = bin_of(tpath, g->bits, &b)) != 0) {
			(void)fail(r, "digest failed");
			goto out;
		}
		r = FERRY_ERR_NOMEM;
		if ((entry = json_pack("{s:I, s:{s:s, s:s}}", "length",
		    (json_int_t)TARGET_LEN, "hashes", "sha256", h256,
		    "sha512", h512)) == NULL)
			goto out;
		if (i % 10 == 0 && json_object_set_new(entry, "custom",
		    json_pack("{s:s}", "app", app)) != 0) {
			json_decref(entry);
			goto out;
		}
		if (json_object_set_new(bins[b], tpath, entry) != 0)
			goto out;
		bin_n[b]++;
		if (i == chosen) {
			memcpy(chosen_path, tpath, sizeof(chosen_path));
			memcpy(chosen_256, h256, sizeof(chosen_256));
			memcpy(chosen_512, h512, sizeof(chosen_512));
			chosen_bin = b;
		}
	}

	/* The bins, and snapshot's entries for them. */
	if ((snapmeta = json_object()) == NULL)
		goto out;
	for (b = 0; b < g->nbins; b++) {
		bin_name(g->bits, b, name, sizeof(name));
		snprintf(file, sizeof(file), "1.%s.json", name);
		s = json_pack("{s:s, s:s, s:i, s:s, s:O}", "_type", "targets",
		    "spec_version", SPEC_VERSION, "version", 1,
		    "expires", EXPIRES, "targets", bins[b]);
		json_decref(bins[b]);
		bins[b] = NULL;
		if ((r = sign_write(g, s, g->keys[K_BINS], file,
		    g->meta_hashes, &mf, &len)) != 0)
			goto out;
		g->bin_bytes_total += len;
		if (b == chosen_bin) {
			chosen_bin_len = len;
			chosen_bin_n = bin_n[b];
		}
		snprintf(file, sizeof(file), "%s.json", name);
		r = FERRY_ERR_NOMEM;
		if (json_object_set_new(snapmeta, file, mf) != 0)
			goto out;
	}

	/* Top-level targets: nothing of its own, everything to the bins. */
	if ((dkeys = json_object()) == NULL ||
	    (r = add_key(dkeys, g->keys[K_BINS])) != 0)
		goto out;
	s = json_pack("{s:s, s:s, s:i, s:s, s:{}, s:{s:O, s:{s:[s], s:i, "
	    "s:i, s:s}}}", "_type", "targets", "spec_version", SPEC_VERSION,
	    "version", 1, "expires", EXPIRES, "targets", "delegations",
	    "keys", dkeys, "succinct_roles", "keyids",
	    ferry_seckey_keyid(g->keys[K_BINS]), "threshold", 1,
	    "bit_length", (int)g->bits, "name_prefix", BIN_PREFIX);
	if ((r = sign_write(g, s, g->keys[K_TARGETS], "1.targets.json",
	    g->meta_hashes, &mf, &tglen)) != 0)
		goto out;
	r = FERRY_ERR_NOMEM;
	if (json_object_set_new(snapmeta, "targets.json", mf) != 0)
		goto out;

	s = json_pack("{s:s, s:s, s:i, s:s, s:O}", "_type", "snapshot",
	    "spec_version", SPEC_VERSION, "version", 1, "expires", EXPIRES,
	    "meta", snapmeta);
	if ((r = sign_write(g, s, g->keys[K_SNAPSHOT], "1.snapshot.json", 1,
	    &mf, &snaplen)) != 0)
		goto out;
	r = FERRY_ERR_NOMEM;
	if ((tsmeta = json_pack("{s:o}", "snapshot.json", mf)) == NULL)
		goto out;
	s = json_pack("{s:s, s:s, s:i, s:s, s:O}", "_type", "timestamp",
	    "spec_version", SPEC_VERSION, "version", 1, "expires", EXPIRES,
	    "meta", tsmeta);
	if ((r = sign_write(g, s, g->keys[K_TIMESTAMP], "timestamp.json", 0,
	    NULL, NULL)) != 0)
		goto out;

	/* Root last: nothing above depends on its bytes. */
	r = FERRY_ERR_NOMEM;
	if ((keys = json_object()) == NULL)
		goto out;
	for (k = K_ROOT; k <= K_TIMESTAMP; k++)
		if ((r = add_key(keys, g->keys[k])) != 0)
			goto out;
	s = json_pack("{s:s, s:s, s:i, s:s, s:b, s:O, s:{s:o, s:o, s:o, s:o}}",
	    "_type", "root", "spec_version", SPEC_VERSION, "version", 1,
	    "expires", EXPIRES, "consistent_snapshot", 1, "keys", keys,
	    "roles", "root", role_of(g->keys[K_ROOT]),
	    "targets", role_of(g->keys[K_TARGETS]),
	    "snapshot", role_of(g->keys[K_SNAPSHOT]),
	    "timestamp", role_of(g->keys[K_TIMESTAMP]));
	if ((r = sign_write(g, s, g->keys[K_ROOT], "1.root.json", 0, NULL,
	    NULL)) != 0)
		goto out;

	if (g->ntargets > 0) {
		const char *hexes[2] = { chosen_256, chosen_512 };

		target_content(chosen, content);
		if ((r = write_target(g, chosen_path, content, TARGET_LEN,
		    hexes)) != 0)
			goto out;
	}

	bin_name(g->bits, chosen_bin, name, sizeof(name));
	printf("targets: %zu\n", g->ntargets);
	printf("bins: %zu\n", g->nbins);
	printf("bit_length: %u\n", g->bits);
	printf("meta_hashes: %s\n", g->meta_hashes ? "yes" : "no");
	printf("target: %s\n", chosen_path);
	printf("target_bytes: %u\n", TARGET_LEN);
	printf("target_bin: %s\n", name);
	printf("target_bin_targets: %zu\n", chosen_bin_n);
	printf("target_bin_bytes: %zu\n", chosen_bin_len);
	printf("bins_bytes: %" PRIu64 "\n", g->bin_bytes_total);
	printf("snapshot_bytes: %zu\n", snaplen);
	printf("targets_bytes: %zu\n", tglen);
	printf("files: %" PRIu64 "\n", g->files);
	printf("bytes: %" PRIu64 "\n", g->bytes);
	printf("gen_ms: %.1f\n", now_ms() - t0);
	r = 0;
 out:
	if (r == FERRY_ERR_NOMEM)
		(void)fail(r, "generating: out of memory");
	if (bins != NULL)
		for (b = 0; b < g->nbins; b++)
			json_decref(bins[b]);
	free(bins);
	free(bin_n);
	json_decref(keys);
	json_decref(dkeys);
	json_decref(snapmeta);
	json_decref(tsmeta);
	for (k = 0; k < NKEYS; k++)
		ferry_seckey_free(g->keys[k]);
	return r;
}

static int
cmd_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "targets", required_argument, NULL, 't' },
		{ "bins", required_argument, NULL, 'b' },
		{ "meta-hashes", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct gen g;
	uint64_t v;
	int c;

	memset(&g, 0, sizeof(g));
	g.ntargets = DEFAULT_TARGETS;
	g.nbins = DEFAULT_BINS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_u64(optarg, 1, 100000000, &v) != 0)
				return fail(2, "bad --targets: %s", optarg);
			g.ntargets = (size_t)v;
			break;
		case 'b':
			if (parse_u64(optarg, 2, MAX_BINS, &v) != 0 ||
			    (v & (v - 1)) != 0)
				return fail(2, "--bins must be a power of two "
				    "from 2 to %u: %s", MAX_BINS, optarg);
			g.nbins = (size_t)v;
			break;
		case 'm':
			g.meta_hashes = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc)
		return fail(2, "usage: gen DIR [--targets N] [--bins B] "
		    "[--meta-hashes]");
	g.dir = argv[optind];
	while (((size_t)1 << g.bits) < g.nbins)
		g.bits++;
	return gen_repo(&g) == 0 ? 0 : 1;
}

/* Part 2: raw. */

/* The repository's files, read once, before anything is timed. */
struct files {
	const char *dir;
	struct {
		char rel[PATH_MAX];
		unsigned char *buf;
		size_t len;
	} f[8];
	size_t n;
};

static int
get_file(struct files *fs, const char *rel, const unsigned char **buf,
    size_t *len)
{
	char path[PATH_MAX * 2];
	size_t i;
	int r;

	for (i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].rel, rel) == 0)
			goto found;
	if (fs->n == sizeof(fs->f) / sizeof(fs->f[0]))
		return fail(FERRY_ERR_INTERNAL, "too many files");
	snprintf(path, sizeof(path), "%s/%s", fs->dir, rel);
	snprintf(fs->f[i].rel, sizeof(fs->f[i].rel), "%s", rel);
	if ((r = read_file(path, &fs->f[i].buf, &fs->f[i].len)) != 0)
		return r;
	fs->n++;
 found:
	*buf = fs->f[i].buf;
	*len = fs->f[i].len;
	return 0;
}

enum { T_PARSE, T_CANON, T_VERIFY, T_HASH, T_FREE, NT };

struct raw_pass {
	double t[NT];
	json_t *docs[5];
	unsigned char *canons[5];	/* canonical "signed" of each */
	size_t clens[5];
	size_t ndocs;
	size_t bytes;	/* metadata and target bytes processed */
};

static const char *const t_names[NT] = {
	"parse", "canonicalize", "verify", "hash", "free"
};

/* json_loadb (no flags, the least a verifier must do), then canonicalise. */
static int
raw_load(struct raw_pass *p, const char *what, const unsigned char *buf,
    size_t len, json_t **signed_obj, size_t *ci)
{
	json_error_t je;
	json_t *doc;
	unsigned char *canon = NULL;
	size_t clen = 0;
	struct ferry_error err = { 0 };
	double t0 = now_ms();
	int r;

	doc = json_loadb((const char *)buf, len, 0, &je);
	p->t[T_PARSE] += now_ms() - t0;
	if (doc == NULL)
		return fail(FERRY_ERR_JSON, "%s: %s", what, je.text);
	p->docs[p->ndocs] = doc;
	p->canons[p->ndocs] = NULL;
	*ci = p->ndocs++;
	p->bytes += len;
	*signed_obj = json_object_get(doc, "signed");
	t0 = now_ms();
	r = ferry_json_canonical(*signed_obj, &canon, &clen, &err);
	p->t[T_CANON] += now_ms() - t0;
	if (r != 0)
		return fail(r, "%s: %s", what, ferry_error_msg(&err));
	p->canons[*ci] = canon;
	p->clens[*ci] = clen;
	return 0;
}

/*
 * Threshold of role's keys (from keys) over canon: decode each signature
 * and public key from hex and check it with libsodium.
 */
static int
raw_verify(struct raw_pass *p, const char *what, const json_t *doc,
    const unsigned char *canon, size_t clen, const json_t *keys,
    const json_t *role)
{
	unsigned char sig[crypto_sign_BYTES], pk[crypto_sign_PUBLICKEYBYTES];
	const json_t *sigs, *s, *ids, *id, *key;
	const char *keyid, *sighex, *pkhex;
	size_t i, j, n, good = 0;
	json_int_t threshold;
	double t0 = now_ms();
	int listed;

	sigs = json_object_get(doc, "signatures");
	ids = json_object_get(role, "keyids");
	threshold = json_integer_value(json_object_get(role, "threshold"));
	json_array_foreach(sigs, i, s) {
		keyid = json_string_value(json_object_get(s, "keyid"));
		sighex = json_string_value(json_object_get(s, "sig"));
		if (keyid == NULL || sighex == NULL)
			continue;
		listed = 0;
		json_array_foreach(ids, j, id)
			if (json_is_string(id) &&
			    strcmp(json_string_value(id), keyid) == 0)
				listed = 1;
		key = json_object_get(keys, keyid);
		pkhex = json_string_value(json_object_get(json_object_get(key,
		    "keyval"), "public"));
		if (!listed || pkhex == NULL)
			continue;
		if (ferry_hex_decode(pkhex, strlen(pkhex), pk, sizeof(pk),
		    &n) != 0 || n != sizeof(pk) ||
		    ferry_hex_decode(sighex, strlen(sighex), sig, sizeof(sig),
		    &n) != 0 || n != sizeof(sig))
			continue;
		if (crypto_sign_verify_detached(sig, canon, clen, pk) == 0)
			good++;
	}
	p->t[T_VERIFY] += now_ms() - t0;
	if (threshold < 1 || good < (size_t)threshold)
		return fail(FERRY_ERR_THRESHOLD, "%s: %zu good signatures, "
		    "threshold %lld", what, good, (long long)threshold);
	return 0;
}

/* buf against a "hashes" object (and length, if >= 0). */
static int
raw_hashes(struct raw_pass *p, const char *what, const unsigned char *buf,
    size_t len, json_int_t length, const json_t *hashes)
{
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *alg;
	const EVP_MD *md;
	json_t *v;
	double t0 = now_ms();
	int r = 0;

	if (length >= 0 && (size_t)length != len)
		return fail(FERRY_ERR_LENGTH_MISMATCH, "%s: %zu bytes, listed "
		    "as %lld", what, len, (long long)length);
	json_object_foreach((json_t *)hashes, alg, v) {
		if (strcmp(alg, "sha256") == 0)
			md = EVP_sha256();
		else if (strcmp(alg, "sha512") == 0)
			md = EVP_sha512();
		else
			return fail(FERRY_ERR_HASH_UNSUPPORTED, "%s: %s", what,
			    alg);
		if (digest_hex(md, buf, len, hex) != 0 ||
		    json_string_value(v) == NULL ||
		    strcmp(hex, json_string_value(v)) != 0) {
			r = fail(FERRY_ERR_HASH_MISMATCH, "%s: %s differs",
			    what, alg);
			break;
		}
	}
	p->t[T_HASH] += now_ms() - t0;
	return r;
}

/* An entry of "meta": its version, and length/hashes if listed. */
static int
raw_metafile(const json_t *signed_obj, const char *name, json_int_t *version,
    json_int_t *length, const json_t **hashes)
{
	const json_t *m = json_object_get(json_object_get(signed_obj, "meta"),
	    name);
	const json_t *l;

	if (m == NULL)
		return fail(FERRY_ERR_REPOSITORY, "no %s in meta", name);
	*version = json_integer_value(json_object_get(m, "version"));
	l = json_object_get(m, "length");
	*length = l != NULL ? json_integer_value(l) : -1;
	*hashes = json_object_get(m, "hashes");
	return 0;
}

static int
check_version(const char *what, const json_t *signed_obj, json_int_t want)
{
	json_int_t v = json_integer_value(json_object_get(signed_obj,
	    "version"));

	if (v != want)
		return fail(FERRY_ERR_VERSION, "%s: version %lld, expected "
		    "%lld", what, (long long)v, (long long)want);
	return 0;
}

/* One cold refresh plus the download of target's bytes, as raw work. */
static int
raw_once(struct files *fs, const char *target, struct raw_pass *p)
{
	const unsigned char *buf;
	const json_t *rkeys, *roles, *hashes, *deleg, *succ, *entry, *tg_h;
	json_t *root, *ts, *snap, *tg, *bin;
	json_int_t ver, length;
	char rel[PATH_MAX], name[64], hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *slash, *first;
	size_t len, ci, i;
	uint32_t b;
	double t0;
	int r;

	memset(p, 0, sizeof(*p));
	/* root, self-signed */
	if ((r = get_file(fs, "metadata/1.root.json", &buf, &len)) != 0 ||
	    (r = raw_load(p, "root", buf, len, &root, &ci)) != 0)
		goto out;
	rkeys = json_object_get(root, "keys");
	roles = json_object_get(root, "roles");
	if ((r = raw_verify(p, "root", p->docs[ci], p->canons[ci],
	    p->clens[ci], rkeys,
	    json_object_get(roles, "root"))) != 0)
		goto out;
	/* timestamp */
	if ((r = get_file(fs, "metadata/timestamp.json", &buf, &len)) != 0 ||
	    (r = raw_load(p, "timestamp", buf, len, &ts, &ci)) != 0 ||
	    (r = raw_verify(p, "timestamp", p->docs[ci], p->canons[ci],
	    p->clens[ci], rkeys,
	    json_object_get(roles, "timestamp"))) != 0)
		goto out;
	/* snapshot, against the timestamp's length and hashes */
	if ((r = raw_metafile(ts, "snapshot.json", &ver, &length,
	    &hashes)) != 0)
		goto out;
	snprintf(rel, sizeof(rel), "metadata/%lld.snapshot.json",
	    (long long)ver);
	if ((r = get_file(fs, rel, &buf, &len)) != 0 ||
	    (hashes != NULL && (r = raw_hashes(p, "snapshot", buf, len,
	    length, hashes)) != 0) ||
	    (r = raw_load(p, "snapshot", buf, len, &snap, &ci)) != 0 ||
	    (r = raw_verify(p, "snapshot", p->docs[ci], p->canons[ci],
	    p->clens[ci], rkeys,
	    json_object_get(roles, "snapshot"))) != 0 ||
	    (r = check_version("snapshot", snap, ver)) != 0)
		goto out;
	/* top-level targets */
	if ((r = raw_metafile(snap, "targets.json", &ver, &length,
	    &hashes)) != 0)
		goto out;
	snprintf(rel, sizeof(rel), "metadata/%lld.targets.json",
	    (long long)ver);
	if ((r = get_file(fs, rel, &buf, &len)) != 0 ||
	    (hashes != NULL && (r = raw_hashes(p, "targets", buf, len,
	    length, hashes)) != 0) ||
	    (r = raw_load(p, "targets", buf, len, &tg, &ci)) != 0 ||
	    (r = raw_verify(p, "targets", p->docs[ci], p->canons[ci],
	    p->clens[ci], rkeys,
	    json_object_get(roles, "targets"))) != 0 ||
	    (r = check_version("targets", tg, ver)) != 0)
		goto out;
	/* the bin the target hashes to */
	deleg = json_object_get(tg, "delegations");
	succ = json_object_get(deleg, "succinct_roles");
	if (succ == NULL) {
		r = fail(FERRY_ERR_REPOSITORY, "targets has no succinct_roles");
		goto out;
	}
	t0 = now_ms();
	r = bin_of(target, (unsigned)json_integer_value(json_object_get(succ,
	    "bit_length")), &b);
	p->t[T_HASH] += now_ms() - t0;
	if (r != 0)
		goto out;
	snprintf(name, sizeof(name), "%s-%0*" PRIx32,
	    json_string_value(json_object_get(succ, "name_prefix")),
	    (int)((json_integer_value(json_object_get(succ, "bit_length")) +
	    3) / 4), b);
	snprintf(rel, sizeof(rel), "%s.json", name);
	if ((r = raw_metafile(snap, rel, &ver, &length, &hashes)) != 0)
		goto out;
	snprintf(rel, sizeof(rel), "metadata/%lld.%s.json", (long long)ver,
	    name);
	if ((r = get_file(fs, rel, &buf, &len)) != 0 ||
	    (hashes != NULL && (r = raw_hashes(p, name, buf, len, length,
	    hashes)) != 0) ||
	    (r = raw_load(p, name, buf, len, &bin, &ci)) != 0 ||
	    (r = raw_verify(p, name, p->docs[ci], p->canons[ci],
	    p->clens[ci], json_object_get(deleg, "keys"),
	    succ)) != 0 ||
	    (r = check_version(name, bin, ver)) != 0)
		goto out;
	/* the target, under its first digest, against every digest */
	entry = json_object_get(json_object_get(bin, "targets"), target);
	if (entry == NULL) {
		r = fail(FERRY_ERR_NOT_FOUND, "%s does not list %s", name,
		    target);
		goto out;
	}
	tg_h = json_object_get(entry, "hashes");
	first = json_string_value(json_object_iter_value(json_object_iter(
	    (json_t *)tg_h)));
	if (first == NULL || strlen(first) >= sizeof(hex)) {
		r = fail(FERRY_ERR_REPOSITORY, "%s: no hashes", target);
		goto out;
	}
	slash = strrchr(target, '/');
	if (slash == NULL)
		snprintf(rel, sizeof(rel), "targets/%s.%s", first, target);
	else
		snprintf(rel, sizeof(rel), "targets/%.*s/%s.%s",
		    (int)(slash - target), target, first, slash + 1);
	if ((r = get_file(fs, rel, &buf, &len)) != 0 ||
	    (r = raw_hashes(p, target, buf, len, json_integer_value(
	    json_object_get(entry, "length")), tg_h)) != 0)
		goto out;
	p->bytes += len;
	r = 0;
 out:
	t0 = now_ms();
	for (i = 0; i < p->ndocs; i++) {
		json_decref(p->docs[i]);
		free(p->canons[i]);
	}
	p->t[T_FREE] += now_ms() - t0;
	return r;
}

static int
cmd_raw(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct files fs;
	struct raw_pass p;
	double *tot = NULL, *part[NT] = { NULL }, first = 0, t0;
	uint64_t runs = DEFAULT_RUNS;
	size_t i, k, bytes = 0;
	int c, r = 1;

	memset(&fs, 0, sizeof(fs));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || parse_u64(optarg, 1, MAX_RUNS, &runs) != 0)
			return fail(2, "usage: raw DIR TARGET [--runs R]");
	}
	if (optind + 2 != argc)
		return fail(2, "usage: raw DIR TARGET [--runs R]");
	fs.dir = argv[optind];
	if ((tot = calloc(runs, sizeof(*tot))) == NULL)
		goto out;
	for (k = 0; k < NT; k++)
		if ((part[k] = calloc(runs, sizeof(double))) == NULL)
			goto out;
	/* Untimed: read the files (and check everything once). */
	if (raw_once(&fs, argv[optind + 1], &p) != 0)
		goto out;
	for (i = 0; i < runs; i++) {
		/*
		 * Hand freed heap back first, so each pass faults its memory
		 * in as a fresh process would.
		 */
#ifdef __GLIBC__
		(void)malloc_trim(0);
#endif
		t0 = now_ms();
		if (raw_once(&fs, argv[optind + 1], &p) != 0)
			goto out;
		tot[i] = now_ms() - t0;
		if (i == 0)
			first = tot[i];
		for (k = 0; k < NT; k++)
			part[k][i] = p.t[k];
		bytes = p.bytes;
	}
	printf("raw_median_ms: %.3f\n", median(tot, runs));
	printf("raw_best_ms: %.3f\n", tot[0]);	/* sorted by median() */
	printf("raw_first_ms: %.3f\n", first);
	printf("raw_runs: %" PRIu64 "\n", runs);
	printf("raw_bytes: %zu\n", bytes);
	for (k = 0; k < NT; k++)
		printf("raw_%s_ms: %.3f\n", t_names[k], median(part[k], runs));
	r = 0;
 out:
	for (i = 0; i < fs.n; i++)
		free(fs.f[i].buf);
	free(tot);
	for (k = 0; k < NT; k++)
		free(part[k]);
	return r;
}

/* Part 3: updater, in process. */

struct upd_args {
	const char *murl, *turl, *target;
};

/*
 * One client run in this process, as ferry-conformance-client's download
 * does it: updater over dir/metadata, refresh, lookup, and the target to
 * dir/targets/NAME unless already there.
 */
static int
upd_once(const struct upd_args *a, const char *dir, struct ferry_error *err)
{
	struct ferry_updater_config cfg;
	struct ferry_updater *u = NULL;
	struct ferry_target t;
	char mdir[PATH_MAX], out[PATH_MAX * 2], *q;
	int r;

	snprintf(mdir, sizeof(mdir), "%s/metadata", dir);
	if ((q = ferry_url_segment(a->target)) == NULL)
		return FERRY_ERR_NOMEM;
	snprintf(out, sizeof(out), "%s/targets/%s", dir, q);
	free(q);
	ferry_updater_config_default(&cfg);
	cfg.metadata_dir = mdir;
	cfg.metadata_urls = &a->murl;
	cfg.nmetadata_urls = 1;
	cfg.target_urls = &a->turl;
	cfg.ntarget_urls = 1;
	cfg.fetch.connect_timeout = 10;
	cfg.fetch.total_timeout = 60;
	if ((r = ferry_updater_new(&cfg, &u, err)) == 0 &&
	    (r = ferry_updater_refresh(u, err)) == 0 &&
	    (r = ferry_updater_target(u, a->target, &t, err)) == 0 &&
	    !ferry_updater_is_cached(&t, out))
		r = ferry_updater_download(u, &t, out, err);
	ferry_updater_free(u);
	return r;
}

/* dir/{metadata,targets}, with root copied in: a fresh client. */
static int
upd_fresh(const char *dir, const unsigned char *root, size_t rootlen)
{
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/targets", dir);
	if ((r = mkdir_p(path)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/metadata", dir);
	if ((r = mkdir_p(path)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/metadata/root.json", dir);
	return write_file_flags(path, root, rootlen, O_TRUNC, 0644);
}

static int
cmd_updater(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage_s[] = "usage: updater ROOTFILE SCRATCH METAURL "
	    "TARGETURL TARGET [--runs R]";
	struct ferry_error err = { 0 };
	struct upd_args a;
	unsigned char *root = NULL;
	size_t rootlen = 0, i;
	double *cold = NULL, *warm = NULL, *ccold = NULL, *cwarm = NULL;
	double first = 0, t0, c0;
	uint64_t runs = DEFAULT_RUNS;
	char dir[PATH_MAX];
	const char *scratch;
	int c, r = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || parse_u64(optarg, 1, MAX_RUNS, &runs) != 0)
			return fail(2, "%s", usage_s);
	}
	if (optind + 5 != argc)
		return fail(2, "%s", usage_s);
	scratch = argv[optind + 1];
	a.murl = argv[optind + 2];
	a.turl = argv[optind + 3];
	a.target = argv[optind + 4];
	if (read_file(argv[optind], &root, &rootlen) != 0)
		return 1;
	if ((cold = calloc(runs, sizeof(*cold))) == NULL ||
	    (warm = calloc(runs, sizeof(*warm))) == NULL ||
	    (ccold = calloc(runs, sizeof(*ccold))) == NULL ||
	    (cwarm = calloc(runs, sizeof(*cwarm))) == NULL)
		goto out;
	/*
	 * Cold: each pass a new client directory (made untimed); the first
	 * pass also pays libcurl's and OpenSSL's one-time initialisation.
	 * Warm: the same directory again, as the second run of a client.
	 */
	for (i = 0; i < runs; i++) {
		snprintf(dir, sizeof(dir), "%s/cold-%zu", scratch, i);
		if (upd_fresh(dir, root, rootlen) != 0)
			goto out;
#ifdef __GLIBC__
		(void)malloc_trim(0);
#endif
		c0 = cpu_ms();
		t0 = now_ms();
		if (upd_once(&a, dir, &err) != 0) {
			(void)fail(1, "cold: %s", ferry_error_msg(&err));
			goto out;
		}
		cold[i] = now_ms() - t0;
		ccold[i] = cpu_ms() - c0;
		if (i == 0)
			first = cold[0];
	}
	snprintf(dir, sizeof(dir), "%s/cold-0", scratch);
	for (i = 0; i < runs; i++) {
#ifdef __GLIBC__
		(void)malloc_trim(0);
#endif
		c0 = cpu_ms();
		t0 = now_ms();
		if (upd_once(&a, dir, &err) != 0) {
			(void)fail(1, "warm: %s", ferry_error_msg(&err));
			goto out;
		}
		warm[i] = now_ms() - t0;
		cwarm[i] = cpu_ms() - c0;
	}
	printf("updater_runs: %" PRIu64 "\n", runs);
	printf("updater_first_ms: %.3f\n", first);
	printf("updater_cold_ms: %.3f\n", median(cold, runs));
	printf("updater_warm_ms: %.3f\n", median(warm, runs));
	printf("updater_cold_cpu_ms: %.3f\n", median(ccold, runs));
	printf("updater_warm_cpu_ms: %.3f\n", median(cwarm, runs));
	r = 0;
 out:
	free(root);
	free(cold);
	free(warm);
	free(ccold);
	free(cwarm);
	return r;
}

/* Part 4: time. */

/*
 * Run argv; wait for it at most limit_s seconds (then SIGKILL it: it is
 * our own child, named by its pid).  SIGCHLD is blocked and awaited with
 * sigtimedwait, so the wait costs nothing while the child runs.
 */
static int
cmd_time(int argc, char **argv)
{
	posix_spawnattr_t attr;
	struct rusage ru;
	struct timespec left;
	sigset_t chld, none, old;
	const char *out = NULL;
	double t0, wall, cpu, deadline;
	uint64_t limit_s = 0;
	pid_t pid, w;
	FILE *fp;
	int st, e, c, killed = 0;

	optind = 1;
	/* "+": stop at the command, whose own options are its own. */
	while ((c = getopt(argc, argv, "+o:k:")) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c != 'k' || parse_u64(optarg, 1, 86400, &limit_s) != 0)
			return fail(2, "usage: time -o FILE [-k SECONDS] CMD "
			    "[ARG...]");
	}
	if (out == NULL || optind >= argc)
		return fail(2, "usage: time -o FILE [-k SECONDS] CMD [ARG...]");
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigemptyset(&none);
	if (sigprocmask(SIG_BLOCK, &chld, &old) != 0 ||
	    posix_spawnattr_init(&attr) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK) != 0)
		return fail(1, "cannot prepare to spawn %s", argv[optind]);
	fflush(NULL);
	t0 = now_ms();
	deadline = t0 + (double)limit_s * 1e3;
	e = posix_spawnp(&pid, argv[optind], NULL, &attr, argv + optind,
	    environ);
	(void)posix_spawnattr_destroy(&attr);
	if (e != 0)
		return fail(127, "%s: %s", argv[optind], strerror(e));
	for (;;) {
		w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid || (w == -1 && errno != EINTR))
			break;
		if (limit_s == 0 || killed) {
			(void)sigwaitinfo(&chld, NULL);
			continue;
		}
		wall = deadline - now_ms();
		if (wall <= 0) {
			(void)kill(pid, SIGKILL);
			killed = 1;
			continue;
		}
		left.tv_sec = (time_t)(wall / 1e3);
		left.tv_nsec = (long)((wall - (double)left.tv_sec * 1e3) * 1e6);
		(void)sigtimedwait(&chld, NULL, &left);
	}
	wall = now_ms() - t0;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (w == -1)
		return fail(1, "wait4: %s", strerror(errno));
	if (killed)
		return fail(124, "%s: stopped after %" PRIu64 " s", argv[optind],
		    limit_s);
	cpu = (double)ru.ru_utime.tv_sec * 1e3 +
	    (double)ru.ru_utime.tv_usec / 1e3 +
	    (double)ru.ru_stime.tv_sec * 1e3 +
	    (double)ru.ru_stime.tv_usec / 1e3;
	if ((fp = fopen(out, "w")) == NULL)
		return fail(1, "%s: %s", out, strerror(errno));
	fprintf(fp, "%.3f %.3f\n", wall, cpu);
	if (fclose(fp) != 0)
		return fail(1, "%s: %s", out, strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int
usage(FILE *fp, int code)
{
	fprintf(fp,
	    "usage: %s gen DIR [--targets N] [--bins B] [--meta-hashes]\n"
	    "       %s raw DIR TARGET [--runs R]\n"
	    "       %s updater ROOTFILE SCRATCH METAURL TARGETURL TARGET "
	    "[--runs R]\n"
	    "       %s time -o FILE [-k SECONDS] CMD [ARG...]\n"
	    "  gen   a signed consistent-snapshot repository, N targets "
	    "(default %u) in B\n"
	    "        succinct hash bins (a power of two, default %u); "
	    "--meta-hashes lists\n"
	    "        length and sha256 of targets and bins in snapshot\n"
	    "  raw   the raw work of a cold refresh plus the download of "
	    "TARGET, median\n"
	    "        of R passes (default %u)\n"
	    "  updater  Ferry's updater in this process: R cold runs, each "
	    "in a new\n"
	    "        client directory under SCRATCH, then R warm runs\n"
	    "  time  run CMD; write \"WALL_MS CPU_MS\" to FILE; exit with "
	    "its status\n"
	    "        (-k: kill it after SECONDS and exit 124)\n",
	    BENCH_NAME, BENCH_NAME, BENCH_NAME, BENCH_NAME, DEFAULT_TARGETS,
	    DEFAULT_BINS,
	    DEFAULT_RUNS);
	return code;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	if (strcmp(argv[1], "time") == 0)
		return cmd_time(argc - 1, argv + 1);
	if (sodium_init() < 0)
		return fail(1, "libsodium failed to initialise");
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 1, argv + 1);
	if (strcmp(argv[1], "raw") == 0)
		return cmd_raw(argc - 1, argv + 1);
	if (strcmp(argv[1], "updater") == 0)
		return cmd_updater(argc - 1, argv + 1);
	return usage(stderr, 2);
}

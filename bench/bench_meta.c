/*
 * bench_meta: what Ferry's TUF core costs on a large repository, printed
 * beside the raw work it cannot avoid, both measured in the same run.
 *
 * Part 1 generates a targets metadata document (100,000 targets by
 * default, from a fixed seed, signed by an Ed25519 key derived from a
 * fixed seed), writes it to a temporary directory and times parsing
 * (ferry_meta_parse: JSON parse, validation of every target and
 * canonicalisation of "signed"), its parts, and verification against a
 * root, each beside plain jansson and libsodium doing the least a
 * verifier must do.
 *
 * Part 2 writes a large file (1 GiB by default) and times SHA-256 over it
 * with ferry_hash beside sha256sum(1) on the same file, checking that the
 * digests agree.
 *
 * Figures are medians (and bests) of repeated runs with the monotonic
 * clock.  Nothing is judged: the program fails only on an actual error (a
 * signature that does not verify, digests that differ, I/O), never
 * because something was slow.  Temporary files are removed on every path,
 * including SIGINT, SIGTERM, SIGHUP and SIGPIPE.
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
#include <openssl/crypto.h>
#include <sodium.h>

#define BENCH_NAME "bench_meta"
#include "bench/bench.h"
#include "lib/err.h"
#include "lib/hash.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/meta.h"
#include "lib/seckey.h"

#define DEFAULT_TARGETS 100000u
#define DEFAULT_HASH_MIB 1024u
#define DEFAULT_RUNS 5u
#define MIN_RUNS 5u
#define HASH_RUNS 3u
#define CHUNK (1024u * 1024u)
#define MAX_RUNS 1000u
#define EXPIRES "2099-01-01T00:00:00Z"
#define SPEC_VERSION "1.0.31"
#define SHA256_HEXLEN 64
#define NONE (-1.0)	/* a figure the table has no entry for */

/*
 * Paths to remove on exit.  Fixed arrays and sig_atomic_t flags, so the
 * signal handler can clean up with only async-signal-safe calls.
 */
static struct {
	char dir[PATH_MAX - 64];	/* room for the names below */
	char meta[PATH_MAX];
	char blob[PATH_MAX];
	volatile sig_atomic_t have_dir, have_meta, have_blob;
} tmp;

static void
cleanup(void)
{
	if (tmp.have_meta) {
		(void)unlink(tmp.meta);
		tmp.have_meta = 0;
	}
	if (tmp.have_blob) {
		(void)unlink(tmp.blob);
		tmp.have_blob = 0;
	}
	if (tmp.have_dir) {
		(void)rmdir(tmp.dir);
		tmp.have_dir = 0;
	}
}

static void
on_signal(int sig)
{
	cleanup();
	/* Die of the same signal, so the caller (make) sees what happened. */
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static int
install_signals(void)
{
	/* SIGPIPE too: output piped into head(1) must not leave files. */
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return FERRY_ERR_IO;
	return 0;
}

/* Clock and statistics. */

static double
minimum(const double *v, size_t n)
{
	double m = v[0];
	size_t i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* Peak resident set size in MiB (ru_maxrss is in KiB on Linux). */
static double
peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return (double)ru.ru_maxrss / 1024;
}

/*
 * Reset the peak RSS to the current RSS (Linux >= 4.0), so a later peak
 * measures one phase rather than the whole process.  0 if it worked.
 */
static int
reset_peak_rss(void)
{
	int fd, r = FERRY_ERR_IO;

	if ((fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC)) < 0)
		return r;
	if (write(fd, "5", 1) == 1)
		r = 0;
	(void)close(fd);
	return r;
}

/*
 * Give freed heap back to the kernel before a timed step, so every step
 * starts from the same state a fresh process has (its allocations fault
 * in new pages) instead of inheriting whatever the previous step freed.
 */
static void
settle(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static void
rng_bytes(struct rng *g, unsigned char *out, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = rng_next(g);
		out[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* Part 1: the metadata. */

static const char *const app_words[] = {
	"browser", "mail", "editor", "player", "viewer", "terminal",
	"office", "chat", "maps", "camera", "notes", "calendar", "weather",
	"music", "photos", "files", "backup", "vpn", "firewall", "printer",
	"scanner", "games", "ide", "database", "monitor", "clock",
	"contacts", "reader", "podcasts", "torrent", "wallet", "keyring",
};
#define NWORDS (sizeof(app_words) / sizeof(app_words[0]))

/* One target entry; every 10th gets a custom object, as real repos do. */
static json_t *
make_target(struct rng *g, size_t i, const char *app)
{
	unsigned char h256[32], h512[64];
	char x256[2 * sizeof(h256) + 1], x512[2 * sizeof(h512) + 1];
	json_t *o;

	rng_bytes(g, h256, sizeof(h256));
	rng_bytes(g, h512, sizeof(h512));
	ferry_hex_encode(h256, sizeof(h256), x256);
	ferry_hex_encode(h512, sizeof(h512), x512);
	/* Lengths up to 4 GiB: integers beyond 32 bits are exercised. */
	o = json_pack("{s:I, s:{s:s, s:s}}",
	    "length", (json_int_t)(rng_next(g) % (UINT64_C(4) << 30)),
	    "hashes", "sha256", x256, "sha512", x512);
	if (o == NULL || i % 10 != 0)
		return o;
	if (json_object_set_new(o, "custom", json_pack(
	    "{s:s, s:s, s:I, s:[s, s]}", "app", app,
	    "arch", rng_next(g) % 2 ? "x86_64" : "aarch64",
	    "min_os_version", (json_int_t)(rng_next(g) % 20),
	    "channels", "stable", "beta")) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
make_targets_signed(size_t ntargets, json_t **out)
{
	struct rng g = { UINT64_C(0x5eedf00dcafe1234) };
	char path[256], app[64];
	json_t *signed_obj = NULL, *targets = NULL, *t;
	size_t i;
	int r = FERRY_ERR_NOMEM;

	if ((targets = json_object()) == NULL)
		goto out;
	for (i = 0; i < ntargets; i++) {
		uint64_t a = rng_next(&g), v = rng_next(&g);

		snprintf(app, sizeof(app), "%s-%u", app_words[a % NWORDS],
		    (unsigned)(a >> 32) % 2000);
		/* The index makes every path unique. */
		snprintf(path, sizeof(path),
		    "apps/%s/%u.%u.%u/image-%zu.tar.zst", app,
		    (unsigned)(v % 5), (unsigned)(v >> 8) % 40,
		    (unsigned)(v >> 16) % 100, i);
		if ((t = make_target(&g, i, app)) == NULL ||
		    json_object_set_new(targets, path, t) != 0)
			goto out;
	}
	if ((signed_obj = json_pack("{s:s, s:s, s:i, s:s}",
	    "_type", "targets", "spec_version", SPEC_VERSION,
	    "version", 1, "expires", EXPIRES)) == NULL ||
	    json_object_set(signed_obj, "targets", targets) != 0)
		goto out;
	*out = signed_obj;
	signed_obj = NULL;
	r = 0;
 out:
	json_decref(targets);
	json_decref(signed_obj);
	if (r != 0)
		(void)fail(r, "generating targets: %s", ferry_strerror(r));
	return r;
}

/* A root trusting key for every top-level role, threshold 1. */
static int
make_root(struct ferry_seckey *key, struct ferry_meta **out)
{
	struct ferry_error err = { 0 };
	const char *keyid = ferry_seckey_keyid(key);
	json_t *pub = NULL, *signed_obj = NULL, *role = NULL, *roles = NULL;
	int i, r;

	if ((r = ferry_seckey_public_json(key, &pub)) != 0)
		return fail(r, "public key: %s", ferry_strerror(r));
	r = FERRY_ERR_NOMEM;
	if ((role = json_pack("{s:[s], s:i}", "keyids", keyid,
	    "threshold", 1)) == NULL || (roles = json_object()) == NULL)
		goto out;
	for (i = 0; i < FERRY_META_NTYPES; i++)
		if (json_object_set(roles, ferry_meta_type_name(
		    (enum ferry_meta_type)i), role) != 0)
			goto out;
	if ((signed_obj = json_pack("{s:s, s:s, s:i, s:s, s:b, s:{s:O}, s:O}",
	    "_type", "root", "spec_version", SPEC_VERSION, "version", 1,
	    "expires", EXPIRES, "consistent_snapshot", 1,
	    "keys", keyid, pub, "roles", roles)) == NULL)
		goto out;
	if ((r = ferry_meta_from_signed(signed_obj, out, &err)) != 0)
		(void)fail(r, "root: %s", ferry_error_msg(&err));
 out:
	if (r == FERRY_ERR_NOMEM && err.code == 0)
		(void)fail(r, "root: %s", ferry_strerror(r));
	json_decref(pub);
	json_decref(role);
	json_decref(roles);
	json_decref(signed_obj);
	return r;
}

/*
 * Generate, sign and serialise the targets metadata into tmp.meta; keep
 * the canonical "signed" bytes and the raw signature for the raw-work
 * side.
 */
static int
make_targets_file(size_t ntargets, struct ferry_seckey *key,
    unsigned char **canon, size_t *canonlen,
    unsigned char sig[crypto_sign_BYTES], size_t *filelen)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	unsigned char *ser = NULL;
	json_t *signed_obj = NULL;
	size_t serlen = 0, n;
	int r;

	if ((r = make_targets_signed(ntargets, &signed_obj)) != 0)
		return r;
	if ((r = ferry_meta_from_signed(signed_obj, &md, &err)) != 0 ||
	    (r = ferry_meta_sign(md, key, &err)) != 0 ||
	    (r = ferry_meta_serialize(md, &ser, &serlen, &err)) != 0) {
		(void)fail(r, "targets: %s", ferry_error_msg(&err));
		goto out;
	}
	if (md->nsigs != 1 || ferry_hex_decode(md->sigs[0].sig,
	    strlen(md->sigs[0].sig), sig, crypto_sign_BYTES, &n) != 0 ||
	    n != crypto_sign_BYTES) {
		r = fail(FERRY_ERR_INTERNAL, "targets: unexpected signature");
		goto out;
	}
	if ((*canon = malloc(md->canonlen + 1)) == NULL) {
		r = fail(FERRY_ERR_NOMEM, "%s", ferry_strerror(FERRY_ERR_NOMEM));
		goto out;
	}
	memcpy(*canon, md->canon, md->canonlen);
	*canonlen = md->canonlen;
	/* Flag first: a signal may come between creating and flagging. */
	tmp.have_meta = 1;
	if ((r = write_file_flags(tmp.meta, ser, serlen, O_EXCL, 0600)) != 0) {
		free(*canon);
		*canon = NULL;
		goto out;
	}
	*filelen = serlen;
 out:
	free(ser);
	ferry_meta_free(md);
	json_decref(signed_obj);
	return r;
}

/* What one round times; each slot's median is reported. */
enum slot {
	/* Ferry */
	S_PARSE,	/* ferry_meta_parse */
	S_JSON,		/* ferry_json_parse */
	S_VALIDATE,	/* ferry_meta_from_json: validation + canonical */
	S_CANON,	/* ferry_json_canonical of "signed" */
	S_VERIFY,	/* ferry_meta_verify_by_root */
	S_E2E,		/* ferry_meta_parse + ferry_meta_verify_by_root */
	S_FREE,		/* ferry_meta_free */
	S_VAL_DIFF,	/* S_VALIDATE - S_CANON of the same round */
	/* raw work */
	S_RAW_LOAD,	/* json_loadb, no flags */
	S_RAW_DUMP,	/* json_dumps, sorted and compact */
	S_RAW_VERIFY,	/* crypto_sign_verify_detached */
	S_RAW_SHA512,	/* crypto_hash_sha512 */
	S_RAW_E2E,	/* json_loadb + crypto_sign_verify_detached */
	S_RAW_FREE,	/* json_decref */
	/* informational */
	S_OSSL_SHA512,	/* ferry_hash_buf(SHA-512), OpenSSL */
	NSLOTS
};

struct meta_figs {
	double med[NSLOTS];
	double rss_base, rss_parse, rss_all;	/* MiB */
	int rss_reset;
};

/*
 * One of every step per round, so drift in the machine (other load,
 * frequency) hits all steps alike rather than whichever ran last.
 */
static int
meta_round(const unsigned char *buf, size_t len, const struct ferry_meta *root,
    const unsigned char *canon, size_t canonlen,
    const unsigned char sig[crypto_sign_BYTES],
    const unsigned char pk[crypto_sign_PUBLICKEYBYTES], size_t round,
    double t[NSLOTS], struct meta_figs *f)
{
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL, *md2 = NULL;
	unsigned char *c = NULL, digest[FERRY_HASH_MAX];
	unsigned char sdigest[crypto_hash_sha512_BYTES];
	json_error_t je;
	json_t *doc = NULL, *raw = NULL;
	char *dump = NULL;
	size_t clen = 0, nvalid = 0, dlen = 0;
	double t0;
	int r;

	/* parse: JSON, validation of every target, canonical "signed". */
	settle();
	t0 = now_ms();
	r = ferry_meta_parse(buf, len, len, &md, &err);
	t[S_PARSE] = now_ms() - t0;
	if (r != 0) {
		(void)fail(r, "ferry_meta_parse: %s", ferry_error_msg(&err));
		goto out;
	}
	if (md->canonlen != canonlen || memcmp(md->canon, canon,
	    canonlen) != 0) {
		r = fail(FERRY_ERR_INTERNAL, "parsed canonical form differs "
		    "from the one signed");
		goto out;
	}
	settle();
	t0 = now_ms();
	r = ferry_meta_verify_by_root(root, FERRY_META_TARGETS, md, &nvalid,
	    &err);
	t[S_VERIFY] = now_ms() - t0;
	if (r != 0 || nvalid != 1) {
		r = fail(r != 0 ? r : FERRY_ERR_INTERNAL, "verify: %s",
		    ferry_error_msg(&err));
		goto out;
	}
	/* Only the file's bytes and one verified struct ferry_meta live. */
	if (round == 0)
		f->rss_parse = peak_rss_mib();
	/* canonical alone, on the parsed tree. */
	settle();
	t0 = now_ms();
	r = ferry_json_canonical(md->signed_obj, &c, &clen, &err);
	t[S_CANON] = now_ms() - t0;
	if (r != 0) {
		(void)fail(r, "ferry_json_canonical: %s", ferry_error_msg(&err));
		goto out;
	}
	if (clen != canonlen || memcmp(c, canon, clen) != 0) {
		r = fail(FERRY_ERR_INTERNAL, "ferry_json_canonical differs "
		    "from the parsed view's canonical form");
		goto out;
	}
	settle();
	t0 = now_ms();
	ferry_meta_free(md);
	t[S_FREE] = now_ms() - t0;
	md = NULL;

	/* JSON parse alone, then validation + canonical on that tree. */
	settle();
	t0 = now_ms();
	r = ferry_json_parse(buf, len, len, &doc, &err);
	t[S_JSON] = now_ms() - t0;
	if (r != 0) {
		(void)fail(r, "ferry_json_parse: %s", ferry_error_msg(&err));
		goto out;
	}
	settle();
	t0 = now_ms();
	r = ferry_meta_from_json(doc, &md2, &err);
	t[S_VALIDATE] = now_ms() - t0;
	if (r != 0) {
		(void)fail(r, "ferry_meta_from_json: %s", ferry_error_msg(&err));
		goto out;
	}
	ferry_meta_free(md2);
	md2 = NULL;
	json_decref(doc);
	doc = NULL;

	/* End to end, as a client does it. */
	settle();
	t0 = now_ms();
	if ((r = ferry_meta_parse(buf, len, len, &md, &err)) == 0)
		r = ferry_meta_verify_by_root(root, FERRY_META_TARGETS, md,
		    NULL, &err);
	t[S_E2E] = now_ms() - t0;
	if (r != 0) {
		(void)fail(r, "parse + verify: %s", ferry_error_msg(&err));
		goto out;
	}
	ferry_meta_free(md);
	md = NULL;

	/* Raw: plain jansson, no flags. */
	settle();
	t0 = now_ms();
	raw = json_loadb((const char *)buf, len, 0, &je);
	t[S_RAW_LOAD] = now_ms() - t0;
	if (raw == NULL) {
		r = fail(FERRY_ERR_JSON, "json_loadb: %s", je.text);
		goto out;
	}
	/* Raw canonical-ish: jansson's own sorted compact encoder. */
	settle();
	t0 = now_ms();
	dump = json_dumps(json_object_get(raw, "signed"),
	    JSON_COMPACT | JSON_SORT_KEYS);
	t[S_RAW_DUMP] = now_ms() - t0;
	if (dump == NULL) {
		r = fail(FERRY_ERR_NOMEM, "json_dumps failed");
		goto out;
	}
	settle();
	t0 = now_ms();
	json_decref(raw);
	t[S_RAW_FREE] = now_ms() - t0;
	raw = NULL;

	/* Raw signature check over the same bytes. */
	settle();
	t0 = now_ms();
	r = crypto_sign_verify_detached(sig, canon, canonlen, pk);
	t[S_RAW_VERIFY] = now_ms() - t0;
	if (r != 0) {
		r = fail(FERRY_ERR_SIG_BAD, "crypto_sign_verify_detached: bad "
		    "signature");
		goto out;
	}
	/* The SHA-512 that Ed25519 verification runs inside libsodium. */
	settle();
	t0 = now_ms();
	(void)crypto_hash_sha512(sdigest, canon, canonlen);
	t[S_RAW_SHA512] = now_ms() - t0;

	/* Raw end to end: the least a verifier must do. */
	settle();
	t0 = now_ms();
	raw = json_loadb((const char *)buf, len, 0, &je);
	r = raw == NULL ? FERRY_ERR_JSON :
	    crypto_sign_verify_detached(sig, canon, canonlen, pk);
	t[S_RAW_E2E] = now_ms() - t0;
	if (r != 0) {
		r = fail(FERRY_ERR_SIG_BAD, "raw parse + verify failed");
		goto out;
	}

	/* The same SHA-512 through OpenSSL (ferry_hash_buf). */
	settle();
	t0 = now_ms();
	r = ferry_hash_buf(FERRY_HASH_SHA512, canon, canonlen, digest, &dlen);
	t[S_OSSL_SHA512] = now_ms() - t0;
	if (r != 0 || dlen != sizeof(sdigest) ||
	    memcmp(digest, sdigest, dlen) != 0) {
		r = fail(r != 0 ? r : FERRY_ERR_INTERNAL,
		    "SHA-512: OpenSSL and libsodium disagree");
		goto out;
	}
	/* Paired within the round: steadier than a difference of medians. */
	t[S_VAL_DIFF] = t[S_VALIDATE] - t[S_CANON];
	r = 0;
 out:
	ferry_meta_free(md);
	ferry_meta_free(md2);
	json_decref(doc);
	json_decref(raw);
	free(dump);
	free(c);
	return r;
}

static void
fmt_ms(char *out, size_t outlen, double ms)
{
	if (ms == NONE)
		snprintf(out, outlen, "-");
	else if (ms <= 0)
		snprintf(out, outlen, "~0");
	else
		snprintf(out, outlen, "%.1f", ms);
}

/* A row of the table; NONE is printed as "-". */
static void
print_row(const char *step, double ferry, double raw, const char *what)
{
	char fs[32], rs[32], ratio[32];

	fmt_ms(fs, sizeof(fs), ferry);
	fmt_ms(rs, sizeof(rs), raw);
	if (ferry > 0 && raw > 0)
		snprintf(ratio, sizeof(ratio), "%.2f", ferry / raw);
	else
		snprintf(ratio, sizeof(ratio), "-");
	printf("%-30s %9s %12s %7s  %s\n", step, fs, rs, ratio, what);
}

static void
print_meta(const struct meta_figs *f, size_t len)
{
	const double *m = f->med;

	printf("%-30s %9s %12s %7s  %s\n", "step", "Ferry ms", "raw-work ms",
	    "ratio", "raw work measured");
	print_row("parse (ferry_meta_parse)", m[S_PARSE], m[S_RAW_LOAD],
	    "json_loadb, no flags");
	print_row("  JSON parse", m[S_JSON], m[S_RAW_LOAD],
	    "json_loadb, no flags");
	print_row("  validate + canonicalize", m[S_VALIDATE], NONE,
	    "(ferry_meta_from_json on a parsed tree)");
	print_row("    canonicalize alone", m[S_CANON], m[S_RAW_DUMP],
	    "json_dumps COMPACT|SORT_KEYS");
	/* Noise can push a small difference below zero: shown as ~0. */
	print_row("    validate (difference)", m[S_VAL_DIFF], NONE,
	    "(the two rows above, paired by round)");
	print_row("verify (by root, 1 sig)", m[S_VERIFY], m[S_RAW_VERIFY],
	    "crypto_sign_verify_detached");
	print_row("  SHA-512 of signed bytes", NONE, m[S_RAW_SHA512],
	    "crypto_hash_sha512 (inside ed25519)");
	print_row("parse + verify", m[S_E2E], m[S_RAW_E2E],
	    "json_loadb + crypto_sign_verify_detached");
	print_row("free (ferry_meta_free)", m[S_FREE], m[S_RAW_FREE],
	    "json_decref");
	printf("\n  parse = JSON parse + validation of every target + "
	    "canonical form of \"signed\",\n"
	    "    all of which ferry_meta_parse does; a naive verifier "
	    "does json_loadb only.\n"
	    "  verify = ferry_meta_verify_by_root: key lookup, threshold, "
	    "one ed25519 check over\n"
	    "    the canonical bytes; Ed25519 runs SHA-512 over them "
	    "inside, the irreducible part.\n");
	printf("  SHA-512 of the signed bytes via OpenSSL (ferry_hash_buf): "
	    "%.1f ms, libsodium: %.1f ms\n", m[S_OSSL_SHA512],
	    m[S_RAW_SHA512]);
	if (f->rss_reset) {
		printf("  peak RSS, one parse + verify: %.1f MiB, of which "
		    "%.1f MiB before parsing:\n    the file's %.1f MB and "
		    "the raw side's copy of the signed bytes\n",
		    f->rss_parse, f->rss_base, (double)len / 1e6);
		printf("  peak RSS, whole metadata part: %.1f MiB\n\n",
		    f->rss_all);
	} else {
		/* No way to reset the high-water mark: say what it holds. */
		printf("  peak RSS of the process (generation included): "
		    "%.1f MiB\n\n", f->rss_all);
	}
}

static int
bench_meta(size_t ntargets, unsigned runs)
{
	static const unsigned char seed[FERRY_SEED_BYTES] =
	    "ferry-bench-fixed-seed-000000000";
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	struct ferry_seckey *key = NULL;
	struct ferry_meta *root = NULL;
	struct meta_figs figs, *f = &figs;
	unsigned char *canon = NULL, *buf = NULL;
	size_t canonlen = 0, filelen = 0, len = 0, n, i, j;
	double *t = NULL, gen0, gen;
	const char *pub;
	json_t *pubj = NULL;
	int r;

	memset(f, 0, sizeof(*f));
	if ((r = ferry_seckey_from_seed(seed, sizeof(seed), &key)) != 0)
		return fail(r, "key: %s", ferry_strerror(r));
	if ((r = ferry_seckey_public_json(key, &pubj)) != 0) {
		(void)fail(r, "key: %s", ferry_strerror(r));
		goto out;
	}
	pub = json_string_value(json_object_get(json_object_get(pubj,
	    "keyval"), "public"));
	if (pub == NULL || ferry_hex_decode(pub, strlen(pub), pk, sizeof(pk),
	    &n) != 0 || n != sizeof(pk)) {
		r = fail(FERRY_ERR_INTERNAL, "key: no public half");
		goto out;
	}
	if ((r = make_root(key, &root)) != 0)
		goto out;
	gen0 = now_ms();
	if ((r = make_targets_file(ntargets, key, &canon, &canonlen, sig,
	    &filelen)) != 0)
		goto out;
	gen = now_ms() - gen0;
	/* Time parsing from memory: the disk is not what is measured. */
	if ((r = read_file(tmp.meta, &buf, &len)) != 0)
		goto out;
	if (len != filelen) {
		r = fail(FERRY_ERR_IO, "%s: short file", tmp.meta);
		goto out;
	}
	printf("Targets metadata: %zu targets, every 10th with \"custom\", "
	    "1 ed25519 signature\n", ntargets);
	printf("  file %.1f MB (%zu bytes), canonical \"signed\" %.1f MB; "
	    "generated and signed in %.0f ms\n", (double)len / 1e6, len,
	    (double)canonlen / 1e6, gen);
	printf("  parsed from memory (max_len = file size); median of %u "
	    "runs, steps interleaved\n\n", runs);
	fflush(stdout);

	if ((t = calloc((size_t)runs * NSLOTS, sizeof(*t))) == NULL) {
		r = fail(FERRY_ERR_NOMEM, "%s", ferry_strerror(FERRY_ERR_NOMEM));
		goto out;
	}
	/* Hand the generator's freed heap back, so it is not counted. */
	settle();
	f->rss_reset = reset_peak_rss() == 0;
	f->rss_base = peak_rss_mib();
	for (i = 0; i < runs; i++) {
		double row[NSLOTS];

		if ((r = meta_round(buf, len, root, canon, canonlen, sig, pk,
		    i, row, f)) != 0)
			goto out;
		/* Slot-major, so each slot's runs are contiguous. */
		for (j = 0; j < NSLOTS; j++)
			t[j * runs + i] = row[j];
	}
	f->rss_all = peak_rss_mib();
	for (j = 0; j < NSLOTS; j++)
		f->med[j] = median(t + j * runs, runs);
	print_meta(f, len);
	r = 0;
 out:
	free(t);
	free(buf);
	free(canon);
	ferry_meta_free(root);
	json_decref(pubj);
	ferry_seckey_free(key);
	/* The metadata file is not needed for part 2. */
	if (tmp.have_meta) {
		(void)unlink(tmp.meta);
		tmp.have_meta = 0;
	}
	return r;
}

/* Part 2: SHA-256 throughput. */

static int
make_blob(uint64_t mib, unsigned char *chunk)
{
	struct rng g = { UINT64_C(0x0123456789abcdef) };
	uint64_t i, *w = (uint64_t *)(void *)chunk;
	size_t k;
	int fd, r = 0;

	/* Flag first: a signal may come between creating and flagging. */
	tmp.have_blob = 1;
	fd = open(tmp.blob, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(FERRY_ERR_IO, "%s: %s", tmp.blob, strerror(errno));
	for (i = 0; i < mib && r == 0; i++) {
		for (k = 0; k < CHUNK / sizeof(*w); k++)
			w[k] = rng_next(&g);
		r = write_all(fd, chunk, CHUNK);
	}
	if (r != 0)
		(void)fail(r, "%s: %s", tmp.blob, strerror(errno));
	if (close(fd) != 0 && r == 0)
		r = fail(FERRY_ERR_IO, "%s: %s", tmp.blob, strerror(errno));
	return r;
}

/*
 * Stream the file through ferry_hash in CHUNK reads, as a client checks a
 * downloaded target.  With hash == 0 only read it (to warm the page
 * cache).
 */
static int
ferry_sha256_file(const char *path, unsigned char *chunk, int hash,
    char hex[SHA256_HEXLEN + 1], double *ms)
{
	unsigned char digest[FERRY_HASH_MAX];
	struct ferry_hash *h = NULL;
	size_t dlen = 0;
	ssize_t n;
	double t0;
	int fd, r = 0;

	t0 = now_ms();
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	if (hash && (r = ferry_hash_new(FERRY_HASH_SHA256, &h)) != 0) {
		(void)fail(r, "ferry_hash_new: %s", ferry_strerror(r));
		goto out;
	}
	for (;;) {
		if ((n = read(fd, chunk, CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			r = fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (h != NULL && (r = ferry_hash_update(h, chunk,
		    (size_t)n)) != 0) {
			(void)fail(r, "ferry_hash_update: %s",
			    ferry_strerror(r));
			goto out;
		}
	}
	if (h != NULL) {
		if ((r = ferry_hash_final(h, digest, &dlen)) != 0) {
			(void)fail(r, "ferry_hash_final: %s",
			    ferry_strerror(r));
			goto out;
		}
		ferry_hex_encode(digest, dlen, hex);
	}
 out:
	(void)close(fd);
	ferry_hash_free(h);
	*ms = now_ms() - t0;
	return r;
}

/* The same digest with no file I/O: the CPU-bound ceiling. */
static int
ferry_sha256_memory(uint64_t mib, const unsigned char *chunk, double *ms)
{
	unsigned char digest[FERRY_HASH_MAX];
	struct ferry_hash *h = NULL;
	size_t dlen;
	uint64_t i;
	double t0;
	int r;

	t0 = now_ms();
	if ((r = ferry_hash_new(FERRY_HASH_SHA256, &h)) != 0)
		goto out;
	for (i = 0; i < mib && r == 0; i++)
		r = ferry_hash_update(h, chunk, CHUNK);
	if (r == 0)
		r = ferry_hash_final(h, digest, &dlen);
 out:
	*ms = now_ms() - t0;
	ferry_hash_free(h);
	if (r != 0)
		(void)fail(r, "in-memory hash: %s", ferry_strerror(r));
	return r;
}

/* Run sha256sum on path; the whole command is timed, spawn included. */
static int
sha256sum_file(const char *path, char hex[SHA256_HEXLEN + 1], double *ms)
{
	static char arg0[] = "sha256sum", arg1[] = "--";
	char *argv[] = { arg0, arg1, (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	char out[SHA256_HEXLEN + 2], drain[512];
	int fds[2] = { -1, -1 }, st, have_fa = 0, r = FERRY_ERR_IO, e;
	size_t got = 0;
	pid_t pid = -1;
	ssize_t n;
	double t0;

	if (pipe(fds) != 0) {
		(void)fail(r, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		(void)fail(r, "posix_spawn: %s", strerror(e));
		goto out;
	}
	have_fa = 1;
	if ((e = posix_spawn_file_actions_adddup2(&fa, fds[1], 1)) != 0 ||
	    (e = posix_spawn_file_actions_addclose(&fa, fds[0])) != 0 ||
	    (e = posix_spawn_file_actions_addclose(&fa, fds[1])) != 0) {
		(void)fail(r, "posix_spawn: %s", strerror(e));
		goto out;
	}
	t0 = now_ms();
	if ((e = posix_spawnp(&pid, arg0, &fa, NULL, argv, environ)) != 0) {
		pid = -1;
		(void)fail(r, "sha256sum: %s", strerror(e));
		goto out;
	}
	(void)close(fds[1]);
	fds[1] = -1;
	/* Keep the first SHA256_HEXLEN + 1 bytes, drain the rest. */
	for (;;) {
		if (got < sizeof(out))
			n = read(fds[0], out + got, sizeof(out) - got);
		else
			n = read(fds[0], drain, sizeof(drain));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < sizeof(out))
			got += (size_t)n;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			(void)fail(r, "waitpid: %s", strerror(errno));
			pid = -1;
			goto out;
		}
	}
	*ms = now_ms() - t0;
	pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		(void)fail(r, "sha256sum %s failed (status %d)", path, st);
		goto out;
	}
	if (got < sizeof(out) || out[SHA256_HEXLEN] != ' ' ||
	    strspn(out, "0123456789abcdef") != SHA256_HEXLEN) {
		r = fail(FERRY_ERR_INTERNAL, "sha256sum: unexpected output");
		goto out;
	}
	memcpy(hex, out, SHA256_HEXLEN);
	hex[SHA256_HEXLEN] = '\0';
	r = 0;
 out:
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			continue;
	if (have_fa)
		(void)posix_spawn_file_actions_destroy(&fa);
	if (fds[0] >= 0)
		(void)close(fds[0]);
	if (fds[1] >= 0)
		(void)close(fds[1]);
	return r;
}

static void
print_tput(const char *who, double bytes, double *ms, size_t n)
{
	/* Best is the shortest time; the median sorts ms in place. */
	double best = minimum(ms, n), med = median(ms, n);

	printf("  %-40s %10.0f %12.0f\n", who, bytes / 1e6 / (best / 1e3),
	    bytes / 1e6 / (med / 1e3));
}

static int
bench_hash(uint64_t mib)
{
	char fhex[SHA256_HEXLEN + 1] = "", shex[SHA256_HEXLEN + 1] = "";
	char first[SHA256_HEXLEN + 1] = "";
	double fms[HASH_RUNS], sms[HASH_RUNS], mms[HASH_RUNS], gen0, ms;
	double bytes = (double)mib * CHUNK, fbest, sbest;
	unsigned char *chunk = NULL;
	unsigned i;
	int r;

	/* Aligned for the generator's 64-bit stores. */
	if ((chunk = aligned_alloc(64, CHUNK)) == NULL)
		return fail(FERRY_ERR_NOMEM, "%s",
		    ferry_strerror(FERRY_ERR_NOMEM));
	gen0 = now_ms();
	if ((r = make_blob(mib, chunk)) != 0)
		goto out;
	printf("SHA-256 of a %" PRIu64 " MiB file (written in %.0f ms); "
	    "%u runs each, interleaved\n", mib, now_ms() - gen0, HASH_RUNS);
	/*
	 * Caches cannot be dropped reliably without root: read the file once
	 * so both sides start from a warm page cache instead.
	 */
	if ((r = ferry_sha256_file(tmp.blob, chunk, 0, fhex, &ms)) != 0)
		goto out;
	printf("  page cache warmed by one read beforehand (%.0f MB/s)\n\n",
	    bytes / 1e6 / (ms / 1e3));
	for (i = 0; i < HASH_RUNS; i++) {
		if ((r = ferry_sha256_file(tmp.blob, chunk, 1, fhex,
		    &fms[i])) != 0 ||
		    (r = sha256sum_file(tmp.blob, shex, &sms[i])) != 0)
			goto out;
		if (strcmp(fhex, shex) != 0) {
			r = fail(FERRY_ERR_HASH_MISMATCH, "SHA-256 differs: "
			    "ferry_hash %s, sha256sum %s", fhex, shex);
			goto out;
		}
		if (i == 0)
			memcpy(first, fhex, sizeof(first));
		else if (strcmp(first, fhex) != 0) {
			r = fail(FERRY_ERR_HASH_MISMATCH, "SHA-256 changed "
			    "between runs: %s, then %s", first, fhex);
			goto out;
		}
		if ((r = ferry_sha256_memory(mib, chunk, &mms[i])) != 0)
			goto out;
	}
	fbest = minimum(fms, HASH_RUNS);
	sbest = minimum(sms, HASH_RUNS);
	printf("  %-40s %10s %12s\n", "", "best MB/s", "median MB/s");
	print_tput("Ferry: ferry_hash, read(2) 1 MiB chunks", bytes, fms,
	    HASH_RUNS);
	print_tput("sha256sum (whole command)", bytes, sms, HASH_RUNS);
	printf("  %-40s %10.2f %12.2f\n", "ratio Ferry / sha256sum",
	    sbest / fbest, median(sms, HASH_RUNS) / median(fms, HASH_RUNS));
	print_tput("(Ferry in memory, no read: CPU ceiling)", bytes, mms,
	    HASH_RUNS);
	printf("  digest %s: ferry_hash and sha256sum agree\n\n", fhex);
	r = 0;
 out:
	free(chunk);
	if (tmp.have_blob) {
		(void)unlink(tmp.blob);
		tmp.have_blob = 0;
	}
	return r;
}

/* Command line. */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [--targets N] [--hash-mib M] [--runs R] "
	    "[--workdir DIR]\n"
	    "  --targets N    targets in the metadata (default %u)\n"
	    "  --hash-mib M   size of the file hashed, MiB (default %u; "
	    "0 skips)\n"
	    "  --runs R       runs per metadata step, >= %u (default %u); "
	    "hashing runs %u times\n"
	    "  --workdir DIR  where the temporary directory goes "
	    "(default $TMPDIR or /tmp)\n"
	    "Prints figures beside the raw work they compare against; "
	    "fails only on an error.\n",
	    BENCH_NAME, DEFAULT_TARGETS, DEFAULT_HASH_MIB, MIN_RUNS,
	    DEFAULT_RUNS, HASH_RUNS);
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

static void
print_versions(void)
{
	printf("bench_meta: jansson %s, libsodium %s, %s\n",
	    jansson_version_str(), sodium_version_string(),
	    OpenSSL_version(OPENSSL_VERSION));
	/* What this program itself was compiled with (lib/ shares flags). */
#ifdef __OPTIMIZE__
	printf("bench_meta: compiled with optimisation (__OPTIMIZE__)\n");
#else
	printf("bench_meta: compiled WITHOUT optimisation (-O0): figures "
	    "are not representative\n");
#endif
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "targets", required_argument, NULL, 't' },
		{ "hash-mib", required_argument, NULL, 'm' },
		{ "runs", required_argument, NULL, 'r' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t ntargets = DEFAULT_TARGETS, mib = DEFAULT_HASH_MIB;
	uint64_t runs = DEFAULT_RUNS;
	const char *workdir = getenv("TMPDIR");
	double t0;
	int c, r, rc = 1;

	if (workdir == NULL || workdir[0] == '\0')
		workdir = "/tmp";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			r = parse_u64(optarg, 1, 100000000, &ntargets);
			break;
		case 'm':
			r = parse_u64(optarg, 0, UINT64_C(1) << 30, &mib);
			break;
		case 'r':
			r = parse_u64(optarg, MIN_RUNS, MAX_RUNS, &runs);
			break;
		case 'w':
			workdir = optarg;
			r = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (r != 0) {
			fprintf(stderr, "%s: bad value for --%s: %s\n",
			    BENCH_NAME, c == 't' ? "targets" : c == 'm' ?
			    "hash-mib" : "runs", optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialise\n",
		    BENCH_NAME);
		return 1;
	}
	if (snprintf(tmp.dir, sizeof(tmp.dir), "%s/ferry-bench.XXXXXX",
	    workdir) >= (int)sizeof(tmp.dir)) {
		fprintf(stderr, "%s: --workdir too long\n", BENCH_NAME);
		return 2;
	}
	if (install_signals() != 0) {
		fprintf(stderr, "%s: sigaction: %s\n", BENCH_NAME,
		    strerror(errno));
		return 1;
	}
	if (mkdtemp(tmp.dir) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", BENCH_NAME, tmp.dir,
		    strerror(errno));
		return 1;
	}
	tmp.have_dir = 1;
	/* tmp.dir is shorter than PATH_MAX by more than these names. */
	snprintf(tmp.meta, sizeof(tmp.meta), "%s/targets.json", tmp.dir);
	snprintf(tmp.blob, sizeof(tmp.blob), "%s/blob.bin", tmp.dir);

	print_versions();
	printf("bench_meta: workdir %s\n\n", tmp.dir);
	fflush(stdout);
	t0 = now_ms();
	if (bench_meta((size_t)ntargets, (unsigned)runs) != 0)
		goto out;
	fflush(stdout);
	if (mib > 0 && bench_hash(mib) != 0)
		goto out;
	printf("bench_meta: done in %.1f s\n", (now_ms() - t0) / 1e3);
	rc = 0;
 out:
	fflush(stdout);
	cleanup();
	return rc;
}

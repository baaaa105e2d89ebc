/*
 * ferry-mirror: keep a verified copy of a Ferry (TUF) repository.  A
 * mirror trusts nothing it fetches: it verifies the upstream exactly as a
 * device does (lib/updater), and serves what verified as a static tree
 * (lib/tree) that `ferry-repod serve --mirror` or any static web server
 * can serve.  See docs/mirror.md.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/fetch.h"
#include "lib/file.h"
#include "lib/meta.h"
#include "lib/updater.h"
#include "mirror/mirror.h"

#define ROOT_MAX (1u << 20)

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} cmds[] = {
	{ "init", cmd_init, "make a mirror trusting a root" },
	{ "sync", cmd_sync, "verify the upstream and take its new state" },
	{ "status", cmd_status, "what the mirror serves, from where" },
	{ "export", cmd_export, "write the live state to removable media" },
	{ "import", cmd_import, "verify an export and take its state" },
	{ "verify", cmd_verify, "check the whole served tree, offline" },
	{ "prune", cmd_prune, "remove old states and unreferenced targets" },
};

static int
usage(FILE *f, int code)
{
	size_t i;

	fprintf(f, "usage: ferry-mirror COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\n`ferry-mirror COMMAND --help` describes each.  "
	    "Exit status: 0 success, 1 failure, 2 usage.\n");
	return code;
}

int
mirror_fail(const char *what, const struct ferry_error *err)
{
	const char *msg = ferry_error_msg(err);
	size_t n = strlen(what);

	if (strncmp(msg, what, n) == 0 && (msg[n] == ':' || msg[n] == '/'))
		fprintf(stderr, "ferry-mirror: %s\n", msg);
	else
		fprintf(stderr, "ferry-mirror: %s: %s\n", what, msg);
	return 1;
}

int
mirror_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("ferry-mirror: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* --- init --------------------------------------------------------------- */

static const char init_usage[] =
    "usage: ferry-mirror init [-d DIR] --root ROOT --upstream URL...\n"
    "                         [--target PATTERN]... [--retain-states N]\n"
    "                         [--proxy socks5h://HOST:PORT | --tor[=HOST:PORT]]\n"
    "\n"
    "Make the mirror directory DIR (default " MIRROR_DEFAULT_DIR ") that\n"
    "trusts ROOT, a root metadata file signed by a threshold of its own\n"
    "root keys, obtained out of band (from the signer, or a device).\n"
    "Every upstream is a base URL (http://, https://, file://) or a\n"
    "directory holding metadata/ and targets/; they are tried in order.\n"
    "--target limits the mirror to the targets whose paths match one of\n"
    "the patterns (all metadata is mirrored whatever the patterns).\n"
    "--retain-states N keeps N published states (default 4) for clients\n"
    "in the middle of a refresh.  --proxy sends every request through a\n"
    "SOCKS proxy that resolves host names itself, such as Tor's SOCKS\n"
    "port: needed for an http://NAME.onion upstream, whose name is never\n"
    "resolved here.  --tor is --proxy socks5h://HOST:PORT, by default\n"
    "Tor's usual 127.0.0.1:9050.  Through a proxy, each upstream's\n"
    "requests carry SOCKS credentials of their own, so Tor never puts\n"
    "two upstreams on one circuit.\n";

static int
mkdir_one(const char *dir, const char *sub)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		return mirror_failf("%s: %s", path, strerror(errno));
	return 0;
}

/* Check that root verifies by itself, then keep it as DIR's trust. */
static int
trust_root(const char *dir, const char *rootfile)
{
	struct ferry_updater_config cfg;
	struct ferry_updater *u = NULL;
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	unsigned char *buf = NULL;
	char path[PATH_MAX + 64], tdir[PATH_MAX];
	size_t len;
	int r, rc = 1;

	if ((r = ferry_file_read(rootfile, ROOT_MAX, &buf, &len)) != 0)
		return mirror_failf("%s: %s", rootfile, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	if (ferry_meta_parse(buf, len, ROOT_MAX, &md, &err) != 0 ||
	    md->type != FERRY_META_ROOT) {
		if (md != NULL)
			ferry_error_set(&err, FERRY_ERR_META_TYPE, "not root "
			    "metadata");
		mirror_fail(rootfile, &err);
		goto out;
	}
	snprintf(tdir, sizeof(tdir), "%s/trusted", dir);
	snprintf(path, sizeof(path), "%s/root.json", tdir);
	if (ferry_file_write_atomic(path, buf, len, 0644) != 0) {
		mirror_failf("%s: %s", path, strerror(errno));
		goto out;
	}
	ferry_updater_config_default(&cfg);
	cfg.metadata_dir = tdir;
	if (ferry_updater_new(&cfg, &u, &err) != 0) {
		(void)unlink(path);
		mirror_fail(rootfile, &err);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/roots/%" PRId64 ".root.json", dir,
	    md->version);
	if (ferry_file_write_atomic(path, buf, len, 0644) != 0) {
		mirror_failf("%s: %s", path, strerror(errno));
		goto out;
	}
	printf("trusting root v%" PRId64 " (%s)\n", md->version,
	    md->expires_str);
	rc = 0;
 out:
	ferry_updater_free(u);
	ferry_meta_free(md);
	free(buf);
	return rc;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "root", required_argument, NULL, 'r' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "target", required_argument, NULL, 't' },
		{ "retain-states", required_argument, NULL, 'k' },
		{ "proxy", required_argument, NULL, 'p' },
		{ "tor", optional_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char tor[300];
	struct mirror_config c;
	struct ferry_error err = { 0 };
	const char *root = NULL;
	char path[PATH_MAX], *end;
	struct stat st;
	unsigned long k;
	size_t i;
	int ch, fresh, n, rc = 2;

	memset(&c, 0, sizeof(c));
	c.retain_states = 4;
	c.parallel = 4;
	if ((c.dir = strdup(MIRROR_DEFAULT_DIR)) == NULL)
		return 1;
	while ((ch = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			free(c.dir);
			if ((c.dir = strdup(optarg)) == NULL)
				goto out;
			break;
		case 'r':
			root = optarg;
			break;
		case 'u':
			if (c.nupstreams == MIRROR_MAX_UPSTREAMS) {
				mirror_failf("at most %d upstreams",
				    MIRROR_MAX_UPSTREAMS);
				goto out;
			}
			if ((c.upstreams[c.nupstreams++] = strdup(optarg)) ==
			    NULL)
				goto out;
			break;
		case 't':
			if (c.npatterns == MIRROR_MAX_PATTERNS) {
				mirror_failf("at most %d target patterns",
				    MIRROR_MAX_PATTERNS);
				goto out;
			}
			if ((c.patterns[c.npatterns++] = strdup(optarg)) ==
			    NULL)
				goto out;
			break;
		case 'k':
			errno = 0;
			k = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || k < 1 || k > 1000) {
				mirror_failf("--retain-states: \"%s\" is not "
				    "a number from 1 to 1000", optarg);
				goto out;
			}
			c.retain_states = (unsigned)k;
			break;
		case 'T':
			n = snprintf(tor, sizeof(tor), "socks5h://%s",
			    optarg != NULL && *optarg != '\0' ? optarg :
			    "127.0.0.1:9050");
			if (n < 0 || (size_t)n >= sizeof(tor) ||
			    !ferry_fetch_proxy_ok(tor)) {
				mirror_failf("--tor=%s: not HOST:PORT (a name, "
				    "an IPv4 address or [IPv6], and a port)",
				    optarg);
				goto out;
			}
			optarg = tor;
			/* FALLTHROUGH */
		case 'p':
			if (!ferry_fetch_proxy_ok(optarg)) {
				mirror_failf("--proxy: \"%s\" is not "
				    "socks5h://HOST:PORT (a SOCKS proxy that "
				    "resolves names, such as Tor's)", optarg);
				goto out;
			}
			free(c.proxy);
			if ((c.proxy = strdup(optarg)) == NULL)
				goto out;
			break;
		case 'h':
			fputs(init_usage, stdout);
			rc = 0;
			goto out;
		default:
			fputs(init_usage, stderr);
			goto out;
		}
	}
	if (optind != argc || root == NULL || c.nupstreams == 0) {
		fputs(init_usage, stderr);
		goto out;
	}
	rc = 1;
	for (i = 0; c.proxy == NULL && i < c.nupstreams; i++)
		if (ferry_fetch_url_needs_proxy(c.upstreams[i])) {
			mirror_failf("upstream %s: an onion service is reached "
			    "only through Tor (--tor, or --proxy "
			    "socks5h://HOST:PORT)", c.upstreams[i]);
			goto out;
		}
	snprintf(path, sizeof(path), "%s/mirror.json", c.dir);
	if (stat(path, &st) == 0) {
		mirror_failf("%s: already a mirror (%s exists)", c.dir, path);
		goto out;
	}
	fresh = stat(c.dir, &st) == -1 && errno == ENOENT;
	if (mkdir_one(c.dir, "") != 0 || mkdir_one(c.dir, "trusted") != 0 ||
	    mkdir_one(c.dir, "roots") != 0 ||
	    mkdir_one(c.dir, "partial") != 0 ||
	    trust_root(c.dir, root) != 0)
		goto undo;
	if (mirror_config_save(&c, &err) != 0) {
		mirror_fail(c.dir, &err);
		goto undo;
	}
	printf("%s: a mirror of %s%s; run ferry-mirror sync -d %s\n", c.dir,
	    c.upstreams[0], c.nupstreams > 1 ? " (and others)" : "", c.dir);
	rc = 0;
	goto out;
 undo:
	/* Nothing half-made stays behind. */
	if (fresh)
		(void)ferry_file_rmtree(c.dir);
	else {
		static const char *const subs[] = { "trusted", "roots",
		    "partial" };

		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", c.dir, subs[i]);
			(void)ferry_file_rmtree(path);
		}
	}
 out:
	mirror_config_free(&c);
	return rc;
}

/* --- sync, status ------------------------------------------------------- */

int
mirror_args(int argc, char **argv, const char *usage_text, unsigned takes,
    struct mirror_args *a)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "retain-states", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long k;
	char *end;
	int ch;

	memset(a, 0, sizeof(*a));
	a->dir = MIRROR_DEFAULT_DIR;
	while ((ch = getopt_long(argc, argv, takes & MIRROR_ARG_QUIET ?
	    "d:qh" : "d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			a->dir = optarg;
			break;
		case 'q':
			if (!(takes & MIRROR_ARG_QUIET))
				goto bad;
			a->quiet = 1;
			break;
		case 'j':
			if (!(takes & MIRROR_ARG_JSON))
				goto bad;
			a->json = 1;
			break;
		case 'f':
			if (!(takes & MIRROR_ARG_FORCE))
				goto bad;
			a->force = 1;
			break;
		case 'k':
			if (!(takes & MIRROR_ARG_RETAIN))
				goto bad;
			errno = 0;
			k = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || k < 1 || k > 1000) {
				mirror_failf("--retain-states: \"%s\" is not a "
				    "number from 1 to 1000", optarg);
				goto bad;
			}
			a->retain = (unsigned)k;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (takes & MIRROR_ARG_OPERAND) {
		if (optind != argc - 1)
			goto bad;
		a->operand = argv[optind];
	} else if (optind != argc)
		goto bad;
	return -1;
 bad:
	fputs(usage_text, stderr);
	return 2;
}

static const char sync_usage[] =
    "usage: ferry-mirror sync [-d DIR] [--quiet] [--json] [--force]\n"
    "\n"
    "Refresh from the upstreams as a device does (every signature,\n"
    "threshold, version, expiry, length and hash), fetch the targets the\n"
    "mirror does not hold yet, and publish the new state in one step,\n"
    "timestamp.json last: the mirror serves the old state or the new one,\n"
    "never a mixture, and a sync that fails or is killed leaves the old\n"
    "one served.  Progress goes to standard error (a bar on a terminal,\n"
    "a line every 10 s otherwise); --quiet drops it.  --json prints the\n"
    "summary as one JSON object.  --force builds a new state even when\n"
    "the upstream has nothing new, fetching again any target file found\n"
    "missing (after ferry-mirror verify).\n";

int
cmd_sync(int argc, char **argv)
{
	struct mirror_sync_result res;
	struct mirror_config c;
	struct ferry_error err = { 0 };
	struct mirror_args o;
	int rc;

	if ((rc = mirror_args(argc, argv, sync_usage, MIRROR_ARG_QUIET |
	    MIRROR_ARG_JSON | MIRROR_ARG_FORCE, &o)) >= 0)
		return rc;
	if (mirror_config_load(o.dir, &c, &err) != 0)
		return mirror_fail(o.dir, &err);
	c.force = o.force;
	rc = 1;
	if (mirror_sync(&c, o.quiet, &res, &err) != 0) {
		mirror_fail("sync", &err);
		fprintf(stderr, "ferry-mirror: nothing changed: the mirror "
		    "serves what it served before\n");
		goto out;
	}
	if (o.json)
		printf("{\"changed\":%s,\"state\":%" PRId64 ",\"root\":%"
		    PRId64 ",\"snapshot\":%" PRId64 ",\"timestamp\":%" PRId64
		    ",\"targets\":%" PRIu64 ",\"fetched\":%" PRIu64
		    ",\"fetched_bytes\":%" PRIu64 ",\"resumed_bytes\":%"
		    PRIu64 ",\"present\":%" PRIu64
		    ",\"metadata_files\":%" PRIu64 ",\"received_bytes\":%"
		    PRIu64 "}\n",
		    res.changed ? "true" : "false", res.state,
		    res.root_version, res.snapshot_version,
		    res.timestamp_version, res.targets, res.fetched,
		    res.fetched_bytes, res.resumed_bytes, res.present,
		    res.metadata_files, res.received_bytes);
	else if (!res.changed)
		printf("up to date: state %" PRId64 " (timestamp v%" PRId64
		    ")\n", res.state, res.timestamp_version);
	else
		printf("state %" PRId64 ": root v%" PRId64 ", snapshot v%"
		    PRId64 ", timestamp v%" PRId64 "; %" PRIu64 " targets, %"
		    PRIu64 " fetched (%" PRIu64 " bytes), %" PRIu64
		    " already held\n", res.state, res.root_version,
		    res.snapshot_version, res.timestamp_version, res.targets,
		    res.fetched, res.fetched_bytes, res.present);
	rc = 0;
 out:
	mirror_config_free(&c);
	return rc;
}

static const char status_usage[] =
    "usage: ferry-mirror status [-d DIR]\n"
    "\n"
    "The state the mirror serves, its timestamp's version and expiry, and\n"
    "the upstreams it syncs from.\n";

int
cmd_status(int argc, char **argv)
{
	struct mirror_config c;
	struct ferry_error err = { 0 };
	struct ferry_meta *ts = NULL;
	unsigned char *buf = NULL;
	const char *dir;
	char path[PATH_MAX], link[64];
	size_t i, len;
	ssize_t n;
	int rc, r;

	struct mirror_args o;

	if ((rc = mirror_args(argc, argv, status_usage, 0, &o)) >= 0)
		return rc;
	dir = o.dir;
	if (mirror_config_load(dir, &c, &err) != 0)
		return mirror_fail(dir, &err);
	rc = 1;
	/* Read as a client would, without the writers' lock. */
	snprintf(path, sizeof(path), "%s/repo/metadata", dir);
	if ((n = readlink(path, link, sizeof(link) - 1)) == -1) {
		if (errno != ENOENT) {
			mirror_failf("%s: %s", path, strerror(errno));
			goto out;
		}
		printf("%s/repo: nothing synced yet\n", dir);
	} else {
		link[n] = '\0';
		snprintf(path, sizeof(path), "%s/repo/metadata/timestamp.json",
		    dir);
		if ((r = ferry_file_read(path, ROOT_MAX, &buf, &len)) != 0) {
			mirror_failf("%s: %s", path, r == FERRY_ERR_IO ?
			    strerror(errno) : ferry_strerror(r));
			goto out;
		}
		if (ferry_meta_parse(buf, len, ROOT_MAX, &ts, &err) != 0) {
			mirror_fail(path, &err);
			goto out;
		}
		printf("%s/repo: %s, timestamp v%" PRId64 " expires %s%s\n",
		    dir, link, ts->version, ts->expires_str,
		    ts->expires <= (int64_t)time(NULL) ? " (EXPIRED: sync)" :
		    "");
	}
	for (i = 0; i < c.nupstreams; i++)
		printf("  upstream %s\n", c.upstreams[i]);
	for (i = 0; i < c.npatterns; i++)
		printf("  targets  %s\n", c.patterns[i]);
	rc = 0;
 out:
	ferry_meta_free(ts);
	free(buf);
	mirror_config_free(&c);
	return rc;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (sodium_init() < 0) {
		fputs("ferry-mirror: libsodium failed to start\n", stderr);
		return 1;
	}
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ferry-mirror: unknown command \"%s\"\n", argv[1]);
	return usage(stderr, 2);
}

/*
 * ferry-repod serve: the supervising process and the HTTP process.
 *
 * The supervisor binds the listening sockets (as root if need be), opens
 * the tree, starts the signing process (origin mode) and forks the HTTP
 * process.  That one keeps only the sockets, the tree and stdio, drops to
 * an unprivileged user, and serves (repod/http.c).  The supervisor then
 * only waits: for a signal, for the HTTP process to die (it is restarted
 * with a backoff), and for the next re-signing that is due.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repod/http.h"
#include "repod/onion.h"
#include "repod/origin.h"
#include "repod/repod.h"

#define DEFAULT_DIR "/var/lib/ferry-repod"
/* A child cannot work at all: restarting it would not help. */
#define EXIT_SETUP REPOD_EXIT_SETUP
#define BACKOFF_MIN 1
#define BACKOFF_MAX 60
#define STOP_WAIT 15		/* seconds for the HTTP process to stop */

static const char serve_usage[] =
    "usage: ferry-repod serve [-d DIR] [-c FILE] [--mirror TREE]\n"
    "                         [--listen ADDR]... [--user USER] [--threads N]\n"
    "                         [--max-connections N] [--max-per-ip N]\n"
    "                         [--timeout SECS] [--header-timeout SECS]\n"
    "                         [--access-log] [--passphrase-fd N]\n"
    "                         [--credentials FILE] [--onion]\n"
    "                         [--tor-control ADDR] [--onion-client-auth]\n"
    "\n"
    "Serve the published repository over HTTP, in the foreground, and keep\n"
    "it fresh: a separate signing process re-signs timestamp (and\n"
    "snapshot) before they expire.  With --mirror, serve TREE read-only,\n"
    "with no keys at all.  Only /metadata/..., /targets/..., /metrics and\n"
    "/health are served.  Started as root, the HTTP process runs as USER.\n"
    "Logs go to stderr; SIGTERM or SIGINT stops.  Flags override the\n"
    "configuration file's keys of the same name (docs/repod.md).\n"
    "\n"
    "  -d DIR                 the state directory (" DEFAULT_DIR ")\n"
    "  -c FILE                the configuration file (DIR/repod.json)\n"
    "  --mirror TREE          serve TREE (metadata/ and targets/) only\n"
    "  --listen ADDR          IPv4:PORT or [IPv6]:PORT; repeatable; port 0\n"
    "                         picks a free port, which is logged\n"
    "  --user USER            the user to serve as (ferry-repod)\n"
    "  --threads N            threads per address (0: one per CPU)\n"
    "  --max-connections N    connections at once, per address (1024)\n"
    "  --max-per-ip N         connections at once per client (64; 0: any)\n"
    "  --timeout SECS         idle seconds before a connection closes (15)\n"
    "  --header-timeout SECS  seconds to send a whole request head (10)\n"
    "  --access-log           a log line for every request\n"
    "  --passphrase-fd N      read the online keys' passphrase from N\n"
    "  --credentials FILE     or from FILE\n"
    "  --onion                also publish the listener as a v3 onion\n"
    "                         service through tor's control port; the\n"
    "                         key is DIR/onion/hs_ed25519_secret_key\n"
    "  --tor-control ADDR     tor's control port (127.0.0.1:9051), or\n"
    "                         unix:/PATH\n"
    "  --onion-client-auth    only clients in DIR/onion/authorized_clients\n"
    "                         may reach the onion service\n"
    "  -h, --help             this text\n";

/* What the command line asked for. */
struct serve_args {
	const char *dir, *cfgfile, *mirror;
	const char **keys, **vals;	/* flags mirroring config keys */
	size_t nflags;
	int passphrase_fd;
	int keys_given;		/* --passphrase-fd or --credentials */
};

/* What the supervisor hands to each HTTP process it forks. */
struct serve_ctx {
	const struct repod_config *c;
	int lfds[REPOD_MAX_LISTEN];
	size_t nlisten;
	int root_fd;
	int mirror;
	int drop;		/* started as root: become uid, gid */
	uid_t uid;
	gid_t gid;
	struct repod_onion_status *onion;	/* NULL: no onion service */
	char onion_target[INET6_ADDRSTRLEN + 10];
};

static int
parse_args(int argc, char **argv, struct serve_args *a)
{
	static const struct option opts[] = {
		{ "mirror", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 'L' },
		{ "user", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-connections", required_argument, NULL, 'C' },
		{ "max-per-ip", required_argument, NULL, 'I' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "header-timeout", required_argument, NULL, 'H' },
		{ "access-log", no_argument, NULL, 'A' },
		{ "passphrase-fd", required_argument, NULL, 'p' },
		{ "credentials", required_argument, NULL, 'P' },
		{ "onion", no_argument, NULL, 'O' },
		{ "tor-control", required_argument, NULL, 'R' },
		{ "onion-client-auth", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { int opt; const char *key; } keyed[] = {
		{ 'L', "listen" }, { 'u', "user" }, { 't', "threads" },
		{ 'C', "max_connections" }, { 'I', "max_per_ip" },
		{ 'T', "timeout" }, { 'H', "header_timeout" },
		{ 'A', "access_log" }, { 'P', "credentials" },
		{ 'O', "onion" }, { 'R', "tor_control" },
		{ 'U', "onion_client_auth" },
	};
	size_t i;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
		for (i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
			if (keyed[i].opt == c)
				break;
		if (i < sizeof(keyed) / sizeof(keyed[0])) {
			a->keys_given |= c == 'P';
			a->keys[a->nflags] = keyed[i].key;
			a->vals[a->nflags++] = c == 'A' || c == 'O' ||
			    c == 'U' ? "1" : optarg;
			continue;
		}
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 'c':
			a->cfgfile = optarg;
			break;
		case 'm':
			a->mirror = optarg;
			break;
		case 'p':
			if ((a->passphrase_fd = repod_parse_fd("--passphrase-fd",
			    optarg)) < 0)
				return 2;
			a->keys_given = 1;
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return 0;
		default:
			fputs(serve_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(serve_usage, stderr);
		return 2;
	}
	return -1;
}

/* The bound address of fd, as "127.0.0.1:8080" or "[::1]:8080". */
static void
format_addr(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const void *)&ss;
	const struct sockaddr_in6 *sin6 = (const void *)&ss;

	snprintf(out, outlen, "?");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)) != NULL)
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)) != NULL)
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
}

/* Bind and listen on addr; the descriptor or -1 after saying why. */
static int
listen_on(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char bound[INET6_ADDRSTRLEN + 10];
	int fd, one = 1;

	if (repod_parse_addr(addr, &ss, &len) != 0) {
		repod_failf("listen: %s: not IPv4:PORT or [IPv6]:PORT", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		repod_failf("listen: %s: %s", addr, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	format_addr(fd, bound, sizeof(bound));
	repod_log("info", "listening", "addr", bound, NULL);
	return fd;
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Close every descriptor but stdio, the listening sockets and the tree:
 * the HTTP process must not inherit the signing process's socket or
 * anything else the supervisor holds.
 */
static int
close_others(const struct serve_ctx *x)
{
	int keep[REPOD_MAX_LISTEN + 4];
	size_t n = 0, i;
	unsigned lo = 3;

	keep[n++] = x->root_fd;
	for (i = 0; i < x->nlisten; i++)
		keep[n++] = x->lfds[i];
	qsort(keep, n, sizeof(keep[0]), int_cmp);
	for (i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo &&
		    close_range(lo, (unsigned)keep[i] - 1, 0) != 0)
			return -1;
		lo = (unsigned)keep[i] + 1;
	}
	return close_range(lo, ~0u, 0);
}

/*
 * Become x->uid and x->gid for good.  The user was looked up by the
 * supervisor, before any client could connect; here a failure, or a
 * way back to root, means refusing to serve.
 */
static int
drop_privileges(const struct serve_ctx *x)
{
	if (!x->drop)
		return 0;
	if (setgroups(0, NULL) != 0 || setgid(x->gid) != 0 ||
	    setuid(x->uid) != 0) {
		repod_log("error", "cannot drop privileges", "user",
		    x->c->user, "error", strerror(errno), NULL);
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0 || getegid() != x->gid) {
		repod_log("error", "privileges could be regained", "user",
		    x->c->user, NULL);
		return -1;
	}
	return 0;
}

/* The HTTP process: never returns. */
static void
http_main(const struct serve_ctx *x, pid_t parent)
{
	const struct repod_config *c = x->c;
	struct repod_http_opts o;
	struct repod_http *h = NULL;
	struct ferry_error err;
	sigset_t set;
	char uid[24];
	int sig = 0;

	ferry_error_clear(&err);
	(void)signal(SIGPIPE, SIG_IGN);
	if (close_others(x) != 0 || drop_privileges(x) != 0)
		_exit(EXIT_SETUP);
	/* After the change of user, which clears it: die with the parent. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 ||
	    getppid() != parent)
		_exit(EXIT_SETUP);
	memset(&o, 0, sizeof(o));
	o.listen_fds = x->lfds;
	o.nlisten = x->nlisten;
	o.root_fd = x->root_fd;
	o.threads = c->threads;
	o.max_connections = c->max_connections;
	o.max_per_ip = c->max_per_ip;
	o.timeout = c->timeout;
	o.header_timeout = c->header_timeout;
	o.conn_memory = c->conn_memory;
	o.timestamp_max_age = c->timestamp_max_age;
	o.mirror = x->mirror;
	o.access_log = c->access_log != 0;
	o.onion = x->onion;
	if (repod_http_start(&o, &h, &err) != 0) {
		repod_log("error", "cannot serve", "error",
		    ferry_error_msg(&err), NULL);
		_exit(EXIT_SETUP);
	}
	snprintf(uid, sizeof(uid), "%ld", (long)geteuid());
	repod_log("info", "serving", "uid", uid, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	while (sig != SIGTERM && sig != SIGINT)
		if (sigwait(&set, &sig) != 0)
			break;
	repod_http_stop(h);
	repod_log("info", "stopped serving", NULL);
	_exit(0);
}

/* The onion process (repod/onion.c): never returns. */
static void
onion_main(const struct serve_ctx *x, pid_t parent)
{
	(void)signal(SIGPIPE, SIG_IGN);
	/*
	 * Die with the parent, then check it is still there (in that
	 * order: a parent gone in between would leave the key published
	 * by an orphan).  Nothing of the supervisor's: no socket, no
	 * tree, no keyd.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 ||
	    getppid() != parent || close_range(3, ~0u, 0) != 0)
		_exit(EXIT_SETUP);
	repod_onion_main(x->c, x->onion_target, x->onion);
}

/* A process the supervisor keeps running. */
struct child {
	const char *name;	/* for the log: "HTTP", "onion" */
	void (*main)(const struct serve_ctx *, pid_t);
	pid_t pid;		/* 0: not running */
	int64_t started;	/* mono_s() */
	int64_t restart_at;	/* when pid is 0 */
	int64_t backoff;
};

/* Fork ch; its pid or -1. */
static pid_t
spawn(const struct serve_ctx *x, struct child *ch)
{
	pid_t parent = getpid(), pid;

	fflush(stderr);
	if ((pid = fork()) < 0) {
		repod_log("error", "cannot fork", "process", ch->name, "error",
		    strerror(errno), NULL);
		return -1;
	}
	if (pid == 0)
		ch->main(x, parent);
	return pid;
}

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void
describe(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(out, outlen, "status %d", status);
}

/*
 * Reap ch if it is gone: 0 if it runs or will be restarted, -1 if it
 * cannot work at all (restarting would not help).
 */
static int
reap(struct child *ch)
{
	char why[64], when[24], msg[64];
	int status;
	pid_t p;

	if (ch->pid <= 0 || (p = waitpid(ch->pid, &status, WNOHANG)) == 0)
		return 0;
	if (p < 0 && errno == EINTR)
		return 0;
	ch->pid = 0;
	if (p < 0)
		status = 0;
	describe(status, why, sizeof(why));
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SETUP) {
		snprintf(msg, sizeof(msg), "the %s process cannot %s",
		    ch->name, strcmp(ch->name, "HTTP") == 0 ? "serve" :
		    "work");
		repod_log("error", msg, "status", why, NULL);
		return -1;
	}
	/* A process that ran for a while starts the backoff afresh. */
	if (mono_s() - ch->started >= BACKOFF_MAX)
		ch->backoff = BACKOFF_MIN;
	ch->restart_at = mono_s() + ch->backoff;
	snprintf(when, sizeof(when), "%llds", (long long)ch->backoff);
	snprintf(msg, sizeof(msg), "the %s process died", ch->name);
	repod_log("error", msg, "status", why, "restart_in", when, NULL);
	ch->backoff = ch->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
	    ch->backoff * 2;
	return 0;
}

/* Signal ch and wait for it, SIGKILL past STOP_WAIT. */
static void
stop_child(struct child *ch, int sig)
{
	struct timespec one = { 1, 0 };
	char msg[64];
	sigset_t chld;
	int i, status;

	if (ch->pid <= 0)
		return;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	(void)kill(ch->pid, sig);
	for (i = 0; i < STOP_WAIT; i++) {
		if (waitpid(ch->pid, &status, WNOHANG) != 0) {
			ch->pid = 0;
			return;
		}
		(void)sigtimedwait(&chld, NULL, &one);
	}
	snprintf(msg, sizeof(msg), "the %s process did not stop; killing it",
	    ch->name);
	repod_log("error", msg, NULL);
	(void)kill(ch->pid, SIGKILL);
	(void)waitpid(ch->pid, &status, 0);
	ch->pid = 0;
}

/* Start ch, now or at its restart time; -1 if the fork failed at once. */
static int
start_child(const struct serve_ctx *x, struct child *ch)
{
	if ((ch->pid = spawn(x, ch)) < 0)
		ch->pid = 0;
	ch->started = mono_s();
	ch->restart_at = mono_s() + ch->backoff;
	return ch->pid > 0 ? 0 : -1;
}

/*
 * The supervisor's loop: signals, the children's deaths, and the
 * origin's schedule.  SIGTERM, SIGINT and SIGCHLD are blocked, and
 * taken here with sigtimedwait().  Returns the exit status.
 */
static int
supervise(const struct serve_ctx *x, struct repod_origin *o)
{
	struct child ch[2] = {
		{ "HTTP", http_main, 0, 0, 0, BACKOFF_MIN },
		{ "onion", onion_main, 0, 0, 0, BACKOFF_MIN },
	};
	size_t nch = x->onion != NULL ? 2 : 1, i;
	struct timespec ts;
	int64_t wait_s, next = 0;
	sigset_t set;
	int sig, rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (o != NULL && repod_origin_tick(o, (int64_t)time(NULL), &next) != 0)
		return 1;
	for (i = 0; i < nch; i++)
		if (start_child(x, &ch[i]) != 0) {
			rc = 1;
			goto out;
		}
	for (;;) {
		wait_s = 3600;
		if (o != NULL && next - (int64_t)time(NULL) < wait_s)
			wait_s = next - (int64_t)time(NULL);
		for (i = 0; i < nch; i++)
			if (ch[i].pid == 0 &&
			    ch[i].restart_at - mono_s() < wait_s)
				wait_s = ch[i].restart_at - mono_s();
		ts.tv_sec = (time_t)(wait_s > 0 ? wait_s : 0);
		ts.tv_nsec = wait_s > 0 ? 0 : 100000000L;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			repod_log("info", "stopping", "signal",
			    sig == SIGTERM ? "TERM" : "INT", NULL);
			for (i = 0; i < nch; i++)
				stop_child(&ch[i], sig);
			break;
		}
		for (i = 0; i < nch; i++)
			if (reap(&ch[i]) != 0)
				rc = 1;
		if (rc != 0)
			break;
		/* Noticed now, not at the next re-signing it would fail. */
		if (o != NULL && !repod_origin_alive(o)) {
			repod_log("error", "the key process is gone; stopping",
			    NULL);
			rc = 1;
			break;
		}
		for (i = 0; i < nch; i++)
			if (ch[i].pid == 0 && mono_s() >= ch[i].restart_at)
				(void)start_child(x, &ch[i]);
		if (o != NULL && (int64_t)time(NULL) >= next &&
		    repod_origin_tick(o, (int64_t)time(NULL), &next) != 0) {
			repod_log("error", "the key process is gone or out "
			    "of step; stopping", NULL);
			rc = 1;
			break;
		}
	}
 out:
	for (i = 0; i < nch; i++)
		stop_child(&ch[i], SIGTERM);
	return rc;
}

/*
 * What tor connects to for the onion service: onion_target, or the
 * first listener as bound, a wildcard address made loopback.
 */
static void
onion_target(const struct serve_ctx *x, char *out, size_t outlen)
{
	char bound[INET6_ADDRSTRLEN + 10];
	const char *port;

	if (x->c->onion_target != NULL) {
		snprintf(out, outlen, "%s", x->c->onion_target);
		return;
	}
	format_addr(x->lfds[0], bound, sizeof(bound));
	port = strrchr(bound, ':');
	if (port != NULL && strncmp(bound, "0.0.0.0:", 8) == 0)
		snprintf(out, outlen, "127.0.0.1%s", port);
	else if (port != NULL && strncmp(bound, "[::]:", 5) == 0)
		snprintf(out, outlen, "[::1]%s", port);
	else
		snprintf(out, outlen, "%s", bound);
}

/* Everything the supervisor needs before the first fork; 0 or 1. */
static int
prepare(const struct repod_config *c, const char *mirror,
    struct serve_ctx *x)
{
	const char *tree = mirror != NULL ? mirror : c->repo;
	struct sockaddr_storage ss;
	struct passwd *pw;
	socklen_t len;
	size_t i;

	x->c = c;
	x->mirror = mirror != NULL;
	for (i = 0; i < c->nlisten; i++)
		if (repod_parse_addr(c->listen[i], &ss, &len) != 0)
			return repod_failf("listen: %s: not IPv4:PORT or "
			    "[IPv6]:PORT", c->listen[i]);
	if (geteuid() == 0) {
		/* Looked up now: never serve as root for want of a user. */
		errno = 0;
		if ((pw = getpwnam(c->user)) == NULL || pw->pw_uid == 0)
			return repod_failf("user %s: %s; refusing to serve as "
			    "root", c->user, pw != NULL ? "is root" :
			    errno != 0 ? strerror(errno) : "no such user");
		x->drop = 1;
		x->uid = pw->pw_uid;
		x->gid = pw->pw_gid;
	}
	if ((x->root_fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return repod_failf("%s: %s", tree, strerror(errno));
	for (i = 0; i < c->nlisten; i++) {
		if ((x->lfds[i] = listen_on(c->listen[i])) < 0)
			return 1;
		x->nlisten = i + 1;
	}
	if (c->onion) {
		if ((x->onion = repod_onion_status_new()) == NULL)
			return repod_failf("onion: %s", strerror(errno));
		onion_target(x, x->onion_target, sizeof(x->onion_target));
	}
	return 0;
}

static int
serve(const struct repod_config *c, const char *mirror)
{
	struct repod_origin *o = NULL;
	struct ferry_error err;
	struct serve_ctx x;
	sigset_t set, old;
	size_t i;
	int rc;

	memset(&x, 0, sizeof(x));
	x.root_fd = -1;
	ferry_error_clear(&err);
	if ((rc = prepare(c, mirror, &x)) != 0)
		goto out;
	/* Before the fork: the HTTP process never shares memory with keys. */
	if (mirror == NULL && repod_origin_start(c, &o, &err) != 0) {
		rc = repod_fail("origin", &err);
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &set, &old);
	rc = supervise(&x, o);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	repod_log("info", "stopped", NULL);
 out:
	repod_origin_stop(o);
	for (i = 0; i < x.nlisten; i++)
		(void)close(x.lfds[i]);
	if (x.root_fd >= 0)
		(void)close(x.root_fd);
	repod_onion_status_free(x.onion);
	return rc;
}

int
cmd_serve(int argc, char **argv)
{
	struct serve_args a;
	struct repod_config c;
	struct ferry_error err;
	size_t i;
	int r, rc = 1, have_c = 0;

	memset(&a, 0, sizeof(a));
	a.passphrase_fd = -1;
	ferry_error_clear(&err);
	if ((a.keys = calloc((size_t)argc + 1, sizeof(*a.keys))) == NULL ||
	    (a.vals = calloc((size_t)argc + 1, sizeof(*a.vals))) == NULL) {
		repod_failf("serve: %s", strerror(ENOMEM));
		goto out;
	}
	if ((r = parse_args(argc, argv, &a)) >= 0) {
		rc = r;
		goto out;
	}
	if (a.mirror != NULL && a.keys_given) {
		rc = 2;
		repod_failf("serve: --mirror uses no keys: no --passphrase-fd "
		    "or --credentials");
		goto out;
	}
	if (repod_config_init(&c, a.dir != NULL ? a.dir : DEFAULT_DIR) != 0) {
		repod_failf("serve: %s", strerror(ENOMEM));
		goto out;
	}
	have_c = 1;
	if (repod_config_load(&c, a.cfgfile, &err) != 0) {
		rc = repod_fail("config", &err);
		goto out;
	}
	for (i = 0; i < a.nflags; i++) {
		if ((r = repod_config_set(&c, a.keys[i], a.vals[i], &err)) != 0) {
			repod_fail("serve", &err);
			rc = r > 0 ? 1 : 2;
			goto out;
		}
	}
	if (repod_config_check(&c, &err) != 0) {
		rc = repod_fail("config", &err);
		goto out;
	}
	if (a.passphrase_fd >= 0)
		c.passphrase_fd = a.passphrase_fd;
	rc = serve(&c, a.mirror);
 out:
	if (have_c)
		repod_config_free(&c);
	free(a.keys);
	free(a.vals);
	return rc;
}

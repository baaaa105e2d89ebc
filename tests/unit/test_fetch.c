/*
 * Unit tests for lib/fetch.c.  The HTTP tests run against
 * tests/e2e/fetch_server.py, started here on 127.0.0.1 (an ephemeral
 * port) and stopped at the end; they are skipped when Debian's python3 is
 * missing.  Nothing leaves the loopback interface.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/fetch.h"

#define PYTHON "/usr/bin/python3"
#define MIB (1024u * 1024u)
#define OK_LEN 1000u

static pid_t server_pid = -1;
static int server_in = -1;	/* the server's stdin: closing it stops it */
static int server_out = -1;	/* the server's stdout: its port */
static int port;		/* 0: no server, HTTP tests are skipped */
static char tmpdir[256];

/* ---- helpers ---- */

#define NEED_SERVER() do {						\
	if (port == 0)							\
		skip();							\
} while (0)

/* The bytes of /ok, as fetch_server.py's ok_body() makes them. */
static void
ok_body(unsigned char *b)
{
	unsigned int i;

	for (i = 0; i < OK_LEN; i++)
		b[i] = (unsigned char)((i * 31 + 7) & 0xff);
}

static void
assert_ok_body(const unsigned char *buf, size_t len)
{
	unsigned char want[OK_LEN];

	ok_body(want);
	assert_int_equal(len, OK_LEN);
	assert_memory_equal(buf, want, OK_LEN);
	assert_int_equal(buf[len], 0);
}

static void
http_url(char *out, size_t cap, const char *path)
{
	int n = snprintf(out, cap, "http://127.0.0.1:%d%s", port, path);

	assert_true(n > 0 && (size_t)n < cap);
}

static void
tmp_path(char *out, size_t cap, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", tmpdir, name);

	assert_true(n > 0 && (size_t)n < cap);
}

/* file:// URL of tmpdir/name, every path segment percent-encoded. */
static void
file_url(char *out, size_t cap, const char *name)
{
	char path[512], *seg, *save = NULL, *enc;

	tmp_path(path, sizeof(path), name);
	snprintf(out, cap, "file://");
	for (seg = strtok_r(path, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		assert_non_null(enc = ferry_url_segment(seg));
		assert_true(strlen(out) + strlen(enc) + 2 < cap);
		strcat(out, "/");
		strcat(out, enc);
		free(enc);
	}
}

static struct ferry_fetcher *
fetcher(const struct ferry_fetch_opts *opts)
{
	struct ferry_fetcher *f = NULL;

	assert_int_equal(ferry_fetcher_new(opts, &f), 0);
	assert_non_null(f);
	return f;
}

static void
assert_msg_has(const struct ferry_error *err, const char *s)
{
	if (strstr(err->msg, s) == NULL)
		fail_msg("\"%s\" not in \"%s\"", s, err->msg);
}

/* call returned want, or the test fails showing the detail. */
#define assert_fetch(call, want) do {					\
	int r_ = (call);						\
	if (r_ != (want))						\
		fail_msg("%s: %d (%s), not %d", #call, r_,		\
		    ferry_error_msg(&err), (want));			\
} while (0)

/* ferry_fetch_buf() of url; on failure, check that nothing was returned. */
static int
get(struct ferry_fetcher *f, const char *url, size_t max_len,
    unsigned char **buf, size_t *len, struct ferry_error *err)
{
	const char *tail, *at;
	int r;

	*buf = NULL;
	*len = 12345;
	ferry_error_clear(err);
	r = ferry_fetch_buf(f, url, max_len, buf, len, err);
	if (r != 0) {
		assert_null(*buf);
		assert_int_equal(*len, 12345);
		assert_int_equal(err->code, r);
		/* Every detail names the URL, less any user name. */
		tail = strstr(url, "://");
		tail = tail != NULL ? tail + 3 : url;
		if ((at = strrchr(tail, '@')) != NULL)
			tail = at + 1;
		assert_msg_has(err, tail);
	}
	return r;
}

/* As get(), of a path on the test server. */
static int
get_http(struct ferry_fetcher *f, const char *path, size_t max_len,
    unsigned char **buf, size_t *len, struct ferry_error *err)
{
	char url[256];

	http_url(url, sizeof(url), path);
	return get(f, url, max_len, buf, len, err);
}

/* ---- the server ---- */

/* Read the first line, the port, within 30 s. */
static int
read_port(int fd)
{
	char line[32];
	size_t n = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t k;

	while (n < sizeof(line) - 1) {
		if (poll(&pfd, 1, 30000) != 1)
			return 0;
		if ((k = read(fd, line + n, 1)) == -1 && errno == EINTR)
			continue;
		if (k != 1)
			return 0;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return atoi(line);
}

static int
start_server(void)
{
	const char *top = getenv("top_srcdir");
	char script[4096];
	int in[2], out[2];

	if (access(PYTHON, X_OK) != 0) {
		print_message("no %s: HTTP tests skipped\n", PYTHON);
		return 0;
	}
	snprintf(script, sizeof(script), "%s/tests/e2e/fetch_server.py",
	    top != NULL ? top : ".");
	if (access(script, R_OK) != 0) {
		print_error("%s: %s (set top_srcdir)\n", script,
		    strerror(errno));
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(out, O_CLOEXEC) == -1) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	if ((server_pid = fork()) == -1)
		return -1;
	if (server_pid == 0) {
		/* dup2() clears close-on-exec on the copies. */
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1)
			_exit(126);
		execl(PYTHON, "python3", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	server_in = in[1];
	server_out = out[0];
	if ((port = read_port(server_out)) <= 0 || port > 65535) {
		print_error("fetch_server.py did not report a port\n");
		port = 0;
		return -1;
	}
	return 0;
}

static void
stop_server(void)
{
	if (server_in != -1)
		close(server_in);
	if (server_pid > 0) {
		(void)kill(server_pid, SIGTERM);
		while (waitpid(server_pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	if (server_out != -1)
		close(server_out);
	server_in = server_out = -1;
	server_pid = -1;
	port = 0;
}

static int
write_file(const char *name, const unsigned char *buf, size_t len)
{
	char path[512];
	FILE *fp;
	int r = -1;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(buf, 1, len, fp) == len)
		r = 0;
	if (fclose(fp) != 0)
		r = -1;
	return r;
}

static int
group_setup(void **state)
{
	unsigned char body[OK_LEN];
	char path[512];

	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "fetch") != 0)
		return -1;
	ok_body(body);
	if (write_file("a b.txt", body, OK_LEN) != 0 ||
	    write_file("empty", body, 0) != 0 ||
	    write_file("100%.bin", body, 10) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	if (mkfifo(path, 0600) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	if (mkdir(path, 0700) != 0)
		return -1;
	return start_server();
}

static int
group_teardown(void **state)
{
	(void)state;
	stop_server();
	if (tmpdir[0] != '\0')
		(void)unit_rmtree(tmpdir);
	return 0;
}

/* ---- options ---- */

static void
test_opts_default(void **state)
{
	struct ferry_fetch_opts o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	ferry_fetch_opts_default(&o);
	assert_int_equal(o.min_speed, 1024);
	assert_int_equal(o.low_speed_time, 30);
	assert_int_equal(o.connect_timeout, 30);
	assert_int_equal(o.total_timeout, 600);
	assert_null(o.proxy);
	assert_null(o.user_agent);
	ferry_fetch_opts_default(NULL);
}

static void
test_new_invalid(void **state)
{
	static const char *const bad_proxy[] = {
		"socks4://127.0.0.1:9050",	/* resolves names here */
		"socks4a://127.0.0.1:9050",
		"http://127.0.0.1:8080",
		"127.0.0.1:9050",
		"socks5h://",
		"",
		"socks5h://127.0.0.1",		/* no port to guess */
		"socks5h://127.0.0.1:",
		"socks5h://127.0.0.1:0",
		"socks5h://127.0.0.1:65536",
		"socks5h://127.0.0.1:+9050",
		"socks5h://127.0.0.1: 9050",
		"socks5h://127.0.0.1:009050",
		"socks5h://127.0.0.1:9050/",
		"socks5h://127.0.0.1:9050/x",
		"socks5h://u:p@127.0.0.1:9050",	/* the credentials are ours */
		"socks5h://:9050",
		"socks5h://[]:9050",
		"socks5h://[::1:9050",
		"socks5h://::1:9050",
		"socks5h://bad host:9050",
	};
	struct ferry_fetch_opts o;
	struct ferry_fetcher *f = NULL;
	size_t i;

	(void)state;
	assert_int_equal(ferry_fetcher_new(NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	for (i = 0; i < sizeof(bad_proxy) / sizeof(bad_proxy[0]); i++) {
		ferry_fetch_opts_default(&o);
		o.proxy = bad_proxy[i];
		assert_int_equal(ferry_fetcher_new(&o, &f),
		    FERRY_ERR_INVALID_ARG);
		assert_null(f);
		/* The one check that callers (client, mirror) share. */
		assert_false(ferry_fetch_proxy_ok(bad_proxy[i]));
	}
	assert_false(ferry_fetch_proxy_ok(NULL));
	assert_true(ferry_fetch_proxy_ok("socks5h://127.0.0.1:9050"));
	assert_true(ferry_fetch_proxy_ok("SOCKS5H://[::1]:9050"));
	assert_true(ferry_fetch_proxy_ok("socks5h://localhost:1"));
	assert_true(ferry_fetch_proxy_ok("socks5h://tor-gw.lan:65535"));
	/* Zero would switch a bound off. */
	ferry_fetch_opts_default(&o);
	o.min_speed = 0;
	assert_int_equal(ferry_fetcher_new(&o, &f), FERRY_ERR_INVALID_ARG);
	ferry_fetch_opts_default(&o);
	o.total_timeout = 0;
	assert_int_equal(ferry_fetcher_new(&o, &f), FERRY_ERR_INVALID_ARG);
	assert_null(f);

	/* The scheme is case-insensitive; the strings are copied. */
	{
		char proxy[] = "SOCKS5H://127.0.0.1:9050";

		ferry_fetch_opts_default(&o);
		o.proxy = proxy;
		f = fetcher(&o);
		memset(proxy, 'x', sizeof(proxy) - 1);
		ferry_fetcher_free(f);
	}
	ferry_fetcher_free(NULL);
	assert_int_equal(ferry_fetcher_bytes(NULL), 0);
}

static void
test_bad_args(void **state)
{
	struct ferry_fetcher *f = fetcher(NULL);
	struct ferry_error err;
	unsigned char *buf = NULL;
	size_t len = 0;

	(void)state;
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_buf(NULL, "/x", 10, &buf, &len, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_buf(f, NULL, 10, &buf, &len, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_buf(f, "/x", 10, NULL, &len, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_buf(f, "/x", 10, &buf, NULL, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_buf(f, "/x", SIZE_MAX, &buf, &len, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_stream(f, "/x", 10, NULL, NULL, &err),
	    FERRY_ERR_INVALID_ARG);
	assert_null(buf);

	/* Not URLs Ferry fetches; nothing is contacted. */
	assert_fetch(get(f, "ftp://127.0.0.1/x", 10, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "unsupported URL scheme");
	assert_fetch(get(f, "relative/path", 10, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_fetch(get(f, "http://", 10, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_fetch(get(f, "gopher://127.0.0.1/x", 10, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_int_equal(ferry_fetcher_bytes(f), 0);
	ferry_fetcher_free(f);
}

/* ---- HTTP ---- */

static void
test_http_ok(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;
	uint64_t before;
	int i;

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/ok", MIB, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	/* The body and the headers, nothing near a buffer more. */
	assert_true(ferry_fetcher_bytes(f) >= OK_LEN);
	assert_true(ferry_fetcher_bytes(f) < OK_LEN + 1024);
	/* One handle, fetch after fetch (libcurl reuses the connection). */
	for (i = 0; i < 20; i++) {
		before = ferry_fetcher_bytes(f);
		assert_fetch(get_http(f, "/ok", OK_LEN, &buf, &len, &err),
		    0);
		assert_ok_body(buf, len);
		free(buf);
		assert_true(ferry_fetcher_bytes(f) - before >= OK_LEN);
	}
	ferry_fetcher_free(f);
}

static void
test_http_limit_exact(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/ok", OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	assert_fetch(get_http(f, "/ok", OK_LEN - 1, &buf, &len, &err),
	    FERRY_ERR_TOO_LARGE);
	assert_msg_has(&err, "more than 999 bytes");
	assert_fetch(get_http(f, "/ok", 0, &buf, &len, &err),
	    FERRY_ERR_TOO_LARGE);
	/* Still usable after an aborted transfer. */
	assert_fetch(get_http(f, "/ok", OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	ferry_fetcher_free(f);
}

/* A 10 MiB body against a 1 MiB limit costs no more than about 1 MiB. */
static void
big_against_limit(const char *path, int want)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	f = fetcher(NULL);
	assert_fetch(get_http(f, path, MIB, &buf, &len, &err), want);
	assert_true(ferry_fetcher_bytes(f) < 2 * MIB);
	ferry_fetcher_free(f);
}

static void
test_http_big(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	/* Content-Length says 10 MiB: refused before the body is read. */
	big_against_limit("/big", FERRY_ERR_TOO_LARGE);
	/* No Content-Length: counted as it comes. */
	big_against_limit("/big-nolen", FERRY_ERR_TOO_LARGE);
	big_against_limit("/big-close", FERRY_ERR_TOO_LARGE);
	/* A huge error page is cut short too, and still says 404. */
	big_against_limit("/big-404", FERRY_ERR_NOT_FOUND);

	/* Within the limit, all 10 MiB arrive, both ways. */
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/big", 10 * MIB, &buf, &len, &err), 0);
	assert_int_equal(len, 10 * MIB);
	assert_int_equal(buf[MIB + 1], (MIB + 1) & 0xff);
	free(buf);
	assert_fetch(get_http(f, "/big-nolen", 10 * MIB, &buf, &len, &err),
	    0);
	assert_int_equal(len, 10 * MIB);
	assert_int_equal(buf[10 * MIB - 1], 0xff);
	free(buf);
	assert_fetch(get_http(f, "/big-nolen", 10 * MIB - 1, &buf, &len,
	    &err), FERRY_ERR_TOO_LARGE);
	ferry_fetcher_free(f);
}

static void
test_http_slow(void **state)
{
	struct ferry_fetch_opts o;
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	/* 1 byte/s against a minimum of 100 bytes/s over 2 s. */
	ferry_fetch_opts_default(&o);
	o.min_speed = 100;
	o.low_speed_time = 2;
	f = fetcher(&o);
	assert_fetch(get_http(f, "/slow", MIB, &buf, &len, &err),
	    FERRY_ERR_TIMEOUT);
	assert_msg_has(&err, "slower than 100 bytes/s for 2 s");
	ferry_fetcher_free(f);

	/*
	 * The same on a kept-alive connection, whose connect time libcurl
	 * reports as 0: still "slower than", not "no connection".
	 */
	f = fetcher(&o);
	assert_fetch(get_http(f, "/ok", MIB, &buf, &len, &err), 0);
	free(buf);
	assert_fetch(get_http(f, "/slow", MIB, &buf, &len, &err),
	    FERRY_ERR_TIMEOUT);
	assert_msg_has(&err, "slower than 100 bytes/s for 2 s");
	ferry_fetcher_free(f);

	/* Fast enough, but past the deadline for the whole fetch. */
	ferry_fetch_opts_default(&o);
	o.min_speed = 1;
	o.low_speed_time = 60;
	o.total_timeout = 2;
	f = fetcher(&o);
	assert_fetch(get_http(f, "/slow", MIB, &buf, &len, &err),
	    FERRY_ERR_TIMEOUT);
	assert_msg_has(&err, "not finished within 2 s");
	ferry_fetcher_free(f);
}

static void
test_http_status(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/404", MIB, &buf, &len, &err),
	    FERRY_ERR_NOT_FOUND);
	assert_msg_has(&err, "HTTP 404");
	assert_fetch(get_http(f, "/403", MIB, &buf, &len, &err),
	    FERRY_ERR_NOT_FOUND);
	assert_msg_has(&err, "HTTP 403");
	assert_fetch(get_http(f, "/500", MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "HTTP 500");
	/* Connection refused (nothing listens on port 1). */
	assert_fetch(get(f, "http://127.0.0.1:1/x", MIB, &buf, &len,
	    &err), FERRY_ERR_FETCH);
	/* Content-Length: 1000 but 10 bytes, then the connection closes. */
	assert_fetch(get_http(f, "/short", MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	ferry_fetcher_free(f);
}

static void
test_http_redirect(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/redirect", OK_LEN, &buf, &len, &err),
	    0);
	assert_ok_body(buf, len);
	free(buf);
	/* Never from HTTP to the local file system. */
	assert_fetch(get_http(f, "/redirect-file", MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "redirected to file:///etc/passwd");
	assert_msg_has(&err, "unsupported URL scheme");
	/* A redirect cannot smuggle an onion name past the check. */
	assert_fetch(get_http(f, "/redirect-onion", MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "socks5h://");
	assert_fetch(get_http(f, "/redirect-loop", MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "more than 5 redirects");
	ferry_fetcher_free(f);
}

/*
 * Content-Length: 10, then 1000 bytes.  libcurl 7.88 believes the
 * header: it passes on exactly 10 bytes and reports success (the caller's
 * length and hash checks see those 10).  It reads no further, and keeps
 * the connection with the other 990 bytes waiting in it, so the next
 * request on it fails ("Received HTTP/0.9 when not allowed"); lib/fetch.c
 * then tries once more on a new connection.
 */
static void
test_http_lying_length(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf, want[OK_LEN];
	size_t len;

	(void)state;
	NEED_SERVER();
	ok_body(want);
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/lying-length", MIB, &buf, &len, &err),
	    0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, want, 10);
	free(buf);
	/* The next response on this fetcher is not the excess. */
	assert_fetch(get_http(f, "/ok", OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	/* A limit below the declared length refuses it outright. */
	assert_fetch(get_http(f, "/lying-length", 9, &buf, &len, &err),
	    FERRY_ERR_TOO_LARGE);
	ferry_fetcher_free(f);
}

static void
test_http_empty(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/empty", 0, &buf, &len, &err), 0);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], 0);
	free(buf);
	ferry_fetcher_free(f);
}

/* Sizes are of the bytes served: a gzip body is not decoded. */
static void
test_http_no_decoding(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/gzip", MIB, &buf, &len, &err), 0);
	assert_true(len >= 2 && len < 100);
	assert_int_equal(buf[0], 0x1f);
	assert_int_equal(buf[1], 0x8b);
	free(buf);
	ferry_fetcher_free(f);
}

static void
test_http_user_agent(void **state)
{
	struct ferry_fetch_opts o;
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;
	char ua[] = "test-agent/1";

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/ua", MIB, &buf, &len, &err), 0);
	assert_string_equal((char *)buf, "ferry/" PACKAGE_VERSION);
	free(buf);
	ferry_fetcher_free(f);

	ferry_fetch_opts_default(&o);
	o.user_agent = ua;
	f = fetcher(&o);
	memset(ua, 'x', sizeof(ua) - 1);	/* copied by ferry_fetcher_new */
	assert_fetch(get_http(f, "/ua", MIB, &buf, &len, &err), 0);
	assert_string_equal((char *)buf, "test-agent/1");
	free(buf);
	ferry_fetcher_free(f);
}

/* User names and passwords in a URL never reach an error detail. */
static void
test_http_credentials_hidden(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf = NULL;
	size_t len;
	char url[256];

	(void)state;
	NEED_SERVER();
	f = fetcher(NULL);
	snprintf(url, sizeof(url), "http://user:secret@127.0.0.1:%d/404",
	    port);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_buf(f, url, MIB, &buf, &len, &err),
	    FERRY_ERR_NOT_FOUND);
	assert_null(strstr(err.msg, "secret"));
	assert_null(strstr(err.msg, "user"));
	assert_msg_has(&err, "127.0.0.1");
	assert_msg_has(&err, "/404");
	/* Unparsable, still without the password. */
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_buf(f, "http://user:secret@bad host/x",
	    MIB, &buf, &len, &err), FERRY_ERR_FETCH);
	assert_null(strstr(err.msg, "secret"));
	assert_msg_has(&err, "bad host/x");
	assert_null(buf);
	ferry_fetcher_free(f);
}

/* A callback's non-zero return stops the fetch and is its result. */
static int
abort_cb(void *arg, const unsigned char *buf, size_t len)
{
	int *calls = arg;

	(void)buf;
	(void)len;
	(*calls)++;
	return -77;
}

static void
test_callback_abort(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	char url[512];
	int calls = 0;

	(void)state;
	f = fetcher(NULL);
	tmp_path(url, sizeof(url), "a b.txt");
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_stream(f, url, MIB, abort_cb, &calls,
	    &err), -77);
	assert_int_equal(calls, 1);
	assert_msg_has(&err, "stopped by the receiver");
	if (port != 0) {
		http_url(url, sizeof(url), "/big");
		calls = 0;
		ferry_error_clear(&err);
		assert_int_equal(ferry_fetch_stream(f, url, 20 * MIB,
		    abort_cb, &calls, &err), -77);
		assert_int_equal(calls, 1);
		assert_msg_has(&err, "/big");
		assert_true(ferry_fetcher_bytes(f) < 2 * MIB);
	}
	ferry_fetcher_free(f);
}

/* ---- proxies and .onion ---- */

static void
test_onion_refused(void **state)
{
	static const char *const onion[] = {
		"http://example.onion/x",
		"https://example.onion/x",
		"http://EXAMPLE.ONION./x",
		"http://a.b.example.Onion:8080/x",
		"http://example%2eonion/x",	/* libcurl decodes the %2e */
		"http://example\xe3\x80\x82onion/x", /* U+3002: IDNA '.' */
		"http://user:pw@example.onion../x",
	};
	struct ferry_fetch_opts o;
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len, i;

	(void)state;
	f = fetcher(NULL);
	for (i = 0; i < sizeof(onion) / sizeof(onion[0]); i++) {
		ferry_error_clear(&err);
		buf = NULL;
		assert_int_equal(ferry_fetch_buf(f, onion[i], MIB, &buf, &len,
		    &err), FERRY_ERR_FETCH);
		assert_null(buf);
		assert_msg_has(&err, "without a socks5h:// proxy");
	}
	/* Refused before libcurl saw it: not a byte moved. */
	assert_int_equal(ferry_fetcher_bytes(f), 0);
	ferry_fetcher_free(f);

	/* "onion" elsewhere in the name is no onion address. */
	f = fetcher(NULL);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_buf(f, "http://127.0.0.1:1/x.onion",
	    MIB, &buf, &len, &err), FERRY_ERR_FETCH);
	assert_null(strstr(err.msg, "socks5h"));
	ferry_fetcher_free(f);

	/* With a proxy, the name goes to it (here: nothing listens). */
	ferry_fetch_opts_default(&o);
	o.proxy = "socks5h://127.0.0.1:1";
	f = fetcher(&o);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_buf(f, "http://example.onion/x", MIB,
	    &buf, &len, &err), FERRY_ERR_FETCH);
	assert_null(strstr(err.msg, "refusing"));
	/* A dead proxy is named as what could not be reached. */
	assert_msg_has(&err, "cannot reach the proxy socks5h://127.0.0.1:1");
	ferry_fetcher_free(f);
}

/* Only the configured proxy, whatever the environment says. */
static void
test_proxy_environment(void **state)
{
	struct ferry_fetch_opts o;
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;

	(void)state;
	NEED_SERVER();
	assert_int_equal(setenv("http_proxy", "http://127.0.0.1:1", 1), 0);
	assert_int_equal(setenv("ALL_PROXY", "socks5h://127.0.0.1:1", 1), 0);
	f = fetcher(NULL);
	assert_fetch(get_http(f, "/ok", OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	ferry_fetcher_free(f);
	assert_int_equal(unsetenv("http_proxy"), 0);
	assert_int_equal(unsetenv("ALL_PROXY"), 0);

	/* no_proxy must not route around the proxy (it is dead here). */
	assert_int_equal(setenv("no_proxy", "*", 1), 0);
	assert_int_equal(setenv("NO_PROXY", "*", 1), 0);
	ferry_fetch_opts_default(&o);
	o.proxy = "socks5h://127.0.0.1:1";
	f = fetcher(&o);
	assert_fetch(get_http(f, "/ok", OK_LEN, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	ferry_fetcher_free(f);
	assert_int_equal(unsetenv("no_proxy"), 0);
	assert_int_equal(unsetenv("NO_PROXY"), 0);
}

/* ---- local files ---- */

static void
test_file_read(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;
	char url[1024], path[512];

	(void)state;
	f = fetcher(NULL);
	/* An absolute path, as it is. */
	tmp_path(path, sizeof(path), "a b.txt");
	assert_fetch(get(f, path, OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	assert_int_equal(ferry_fetcher_bytes(f), OK_LEN);
	/* A file:// URL, percent-decoded ("a%20b.txt"). */
	file_url(url, sizeof(url), "a b.txt");
	assert_non_null(strstr(url, "/a%20b.txt"));
	assert_fetch(get(f, url, OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	file_url(url, sizeof(url), "100%.bin");
	assert_non_null(strstr(url, "/100%25.bin"));
	assert_fetch(get(f, url, OK_LEN, &buf, &len, &err), 0);
	assert_int_equal(len, 10);
	free(buf);
	/* file://localhost/ is the same as file:/// */
	snprintf(url, sizeof(url), "file://localhost%s", path);
	url[strlen(url) - strlen("a b.txt")] = '\0';
	strcat(url, "a%20b.txt");
	assert_fetch(get(f, url, OK_LEN, &buf, &len, &err), 0);
	assert_ok_body(buf, len);
	free(buf);
	file_url(url, sizeof(url), "empty");
	assert_fetch(get(f, url, 0, &buf, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], 0);
	free(buf);
	ferry_fetcher_free(f);
}

/* ferry_fetch_stream_from()'s receiver: appends to a fixed buffer. */
struct sink {
	unsigned char buf[2 * OK_LEN];
	size_t len;
};

static int
sink_cb(void *arg, const unsigned char *buf, size_t len)
{
	struct sink *k = arg;

	if (len > sizeof(k->buf) - k->len)
		return FERRY_ERR_TOO_LARGE;
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	return 0;
}

/* Resuming: the bytes from an offset on, over HTTP and from a file. */
static void
test_resume(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char want[OK_LEN];
	struct sink k;
	char url[1024], path[512];

	(void)state;
	ok_body(want);
	f = fetcher(NULL);
	tmp_path(path, sizeof(path), "a b.txt");
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, path, 400, OK_LEN, sink_cb,
	    &k, &err), 0);
	assert_int_equal(k.len, OK_LEN - 400);
	assert_memory_equal(k.buf, want + 400, k.len);
	/* The limit is the whole file's: 600 bytes more would be over. */
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, path, 400, 999, sink_cb, &k,
	    &err), FERRY_ERR_TOO_LARGE);
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, path, 1001, 2000, sink_cb, &k,
	    &err), FERRY_ERR_FETCH);
	assert_msg_has(&err, "cannot resume from byte 1001");
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_stream_from(f, path, 11, 10, sink_cb,
	    &k, &err), FERRY_ERR_INVALID_ARG);
	if (port == 0) {
		ferry_fetcher_free(f);
		skip();
	}
	http_url(url, sizeof(url), "/range");
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, url, 400, OK_LEN, sink_cb, &k,
	    &err), 0);
	assert_int_equal(k.len, OK_LEN - 400);
	assert_memory_equal(k.buf, want + 400, k.len);
	/* From 0 it is a plain fetch. */
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, url, 0, OK_LEN, sink_cb, &k,
	    &err), 0);
	assert_int_equal(k.len, OK_LEN);
	/* A server that ignores the range, sends another, or has none. */
	http_url(url, sizeof(url), "/range-ignored");
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, url, 400, OK_LEN, sink_cb, &k,
	    &err), FERRY_ERR_FETCH);
	assert_msg_has(&err, "cannot resume from byte 400");
	assert_int_equal(k.len, 0);
	http_url(url, sizeof(url), "/range-wrong");
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, url, 400, OK_LEN, sink_cb, &k,
	    &err), FERRY_ERR_FETCH);
	assert_msg_has(&err, "cannot resume from byte 400");
	http_url(url, sizeof(url), "/range");
	memset(&k, 0, sizeof(k));
	ferry_error_clear(&err);
	assert_fetch(ferry_fetch_stream_from(f, url, OK_LEN, 2 * OK_LEN,
	    sink_cb, &k, &err), FERRY_ERR_FETCH);
	assert_msg_has(&err, "HTTP 416");
	ferry_fetcher_free(f);
}

static void
test_file_errors(void **state)
{
	struct ferry_fetcher *f;
	struct ferry_error err;
	unsigned char *buf;
	size_t len;
	char url[1024], path[512];

	(void)state;
	f = fetcher(NULL);
	/* The limit, exactly as for HTTP. */
	tmp_path(path, sizeof(path), "a b.txt");
	assert_fetch(get(f, path, OK_LEN - 1, &buf, &len, &err),
	    FERRY_ERR_TOO_LARGE);
	assert_msg_has(&err, "more than 999 bytes");
	file_url(url, sizeof(url), "a b.txt");
	assert_fetch(get(f, url, 0, &buf, &len, &err),
	    FERRY_ERR_TOO_LARGE);

	tmp_path(path, sizeof(path), "missing");
	assert_fetch(get(f, path, MIB, &buf, &len, &err),
	    FERRY_ERR_NOT_FOUND);
	file_url(url, sizeof(url), "missing");
	assert_fetch(get(f, url, MIB, &buf, &len, &err),
	    FERRY_ERR_NOT_FOUND);
	tmp_path(path, sizeof(path), "a b.txt/below");	/* ENOTDIR */
	assert_fetch(get(f, path, MIB, &buf, &len, &err),
	    FERRY_ERR_NOT_FOUND);

	/*
	 * A directory or a FIFO is FERRY_ERR_FETCH ("not a regular file"):
	 * no system call failed, so FERRY_ERR_IO would mislead.  The FIFO
	 * has no writer, and must not hang the open.
	 */
	tmp_path(path, sizeof(path), "dir");
	assert_fetch(get(f, path, MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "not a regular file");
	tmp_path(path, sizeof(path), "fifo");
	assert_fetch(get(f, path, MIB, &buf, &len, &err),
	    FERRY_ERR_FETCH);
	assert_msg_has(&err, "not a regular file");

	/* Another host, or a NUL hidden in an escape. */
	assert_fetch(get(f, "file://elsewhere/etc/passwd", MIB, &buf,
	    &len, &err), FERRY_ERR_FETCH);
	snprintf(url, sizeof(url), "file://%s/a%%00b", tmpdir);
	assert_fetch(get(f, url, MIB, &buf, &len, &err), FERRY_ERR_FETCH);
	ferry_fetcher_free(f);
}

/* ---- ferry_url_segment ---- */

/* ---- the multi interface ---- */

/* One fetch through a multi, and what its done callback saw. */
struct mj {
	struct ferry_fetch_multi *m;
	struct sink k;
	int ndone;		/* times done was called: must end as 1 */
	int r;
	char msg[512];
	int stop;		/* stop the multi from the done callback */
	const char *then;	/* a URL to add from the done callback */
	struct mj *then_job;
};

static void
mj_done(void *arg, int r, const struct ferry_error *err)
{
	struct mj *j = arg;

	j->ndone++;
	j->r = r;
	snprintf(j->msg, sizeof(j->msg), "%s", err->msg);
	if (j->stop)
		ferry_fetch_multi_stop(j->m);
	if (j->then != NULL)
		assert_int_equal(ferry_fetch_multi_add(j->m, j->then, 0,
		    OK_LEN, sink_cb, &j->then_job->k, mj_done, j->then_job),
		    0);
}

static void
mj_add(struct ferry_fetch_multi *m, struct mj *j, const char *where,
    uint64_t offset, uint64_t max_len)
{
	char url[512];

	if (where[0] == '/' && strncmp(where, tmpdir, strlen(tmpdir)) != 0)
		http_url(url, sizeof(url), where);
	else
		snprintf(url, sizeof(url), "%s", where);
	j->m = m;
	assert_int_equal(ferry_fetch_multi_add(m, url, offset, max_len,
	    sink_cb, &j->k, mj_done, j), 0);
}

static void
mj_assert(const struct mj *j, int r, const char *has)
{
	if (j->ndone != 1)
		fail_msg("done called %d times", j->ndone);
	if (j->r != r)
		fail_msg("%d (%s), not %d", j->r, j->msg, r);
	if (has != NULL && strstr(j->msg, has) == NULL)
		fail_msg("\"%s\" not in \"%s\"", has, j->msg);
}

static void
mj_assert_ok(const struct mj *j, size_t from)
{
	unsigned char want[OK_LEN];

	mj_assert(j, 0, NULL);
	ok_body(want);
	assert_int_equal(j->k.len, OK_LEN - from);
	assert_memory_equal(j->k.buf, want + from, j->k.len);
}

static void
test_multi_args(void **state)
{
	struct ferry_fetch_multi *m = NULL;
	struct ferry_fetch_opts o;
	struct ferry_error err;
	struct mj j;

	(void)state;
	assert_int_equal(ferry_fetch_multi_new(NULL, 0, &m),
	    FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_multi_new(NULL,
	    FERRY_FETCH_MULTI_MAX + 1, &m), FERRY_ERR_INVALID_ARG);
	ferry_fetch_opts_default(&o);
	o.proxy = "http://127.0.0.1:1";
	assert_int_equal(ferry_fetch_multi_new(&o, 2, &m),
	    FERRY_ERR_INVALID_ARG);
	assert_null(m);
	assert_int_equal(ferry_fetch_multi_new(NULL, 2, &m), 0);
	memset(&j, 0, sizeof(j));
	assert_int_equal(ferry_fetch_multi_add(m, "/x", 0, 10, sink_cb,
	    &j.k, NULL, &j), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_multi_add(m, "/x", 11, 10, sink_cb,
	    &j.k, mj_done, &j), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_fetch_multi_add(m, NULL, 0, 10, sink_cb,
	    &j.k, mj_done, &j), FERRY_ERR_INVALID_ARG);
	/* Nothing queued: a run ends at once. */
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_multi_run(m, &err), 0);
	/* Queued but never run: freed without a call. */
	assert_int_equal(ferry_fetch_multi_add(m, "/x", 0, 10, sink_cb,
	    &j.k, mj_done, &j), 0);
	ferry_fetch_multi_free(m);
	assert_int_equal(j.ndone, 0);
	ferry_fetch_multi_free(NULL);
}

/*
 * Transfers run at once: four requests that the server answers only when
 * all four are in flight together; beside them, everything a single fetch
 * does, each job's done callback called once with its own result.
 */
static void
test_multi_parallel(void **state)
{
	struct ferry_fetch_multi *m;
	struct ferry_error err;
	struct mj j[16];
	char path[512], url[1024];
	int i;

	(void)state;
	NEED_SERVER();
	memset(j, 0, sizeof(j));
	assert_int_equal(ferry_fetch_multi_new(NULL, 4, &m), 0);
	for (i = 0; i < 4; i++)
		mj_add(m, &j[i], "/together/multi4/4", 0, OK_LEN);
	tmp_path(path, sizeof(path), "a b.txt");
	mj_add(m, &j[4], path, 0, OK_LEN);
	file_url(url, sizeof(url), "a b.txt");
	mj_add(m, &j[5], url, 300, OK_LEN);
	mj_add(m, &j[6], "/404", 0, OK_LEN);
	mj_add(m, &j[7], "/redirect", 0, OK_LEN);
	mj_add(m, &j[8], "/range", 400, OK_LEN);
	mj_add(m, &j[9], "/redirect-loop", 0, OK_LEN);
	mj_add(m, &j[10], "/big", 0, OK_LEN);
	mj_add(m, &j[11], "/range-ignored", 400, OK_LEN);
	mj_add(m, &j[12], "/redirect-onion", 0, OK_LEN);
	/* A done callback adds the next fetch; the same run does it. */
	http_url(url, sizeof(url), "/ok");
	j[13].then = url;
	j[13].then_job = &j[14];
	j[14].m = m;
	mj_add(m, &j[13], "/ok", 0, OK_LEN);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_multi_run(m, &err), 0);
	for (i = 0; i < 4; i++)
		mj_assert_ok(&j[i], 0);
	mj_assert_ok(&j[4], 0);
	mj_assert_ok(&j[5], 300);
	mj_assert(&j[6], FERRY_ERR_NOT_FOUND, "/404: HTTP 404");
	assert_int_equal(j[6].k.len, 0);
	mj_assert_ok(&j[7], 0);
	mj_assert_ok(&j[8], 400);
	mj_assert(&j[9], FERRY_ERR_FETCH, "more than 5 redirects");
	mj_assert(&j[10], FERRY_ERR_TOO_LARGE, "more than 1000 bytes");
	mj_assert(&j[11], FERRY_ERR_FETCH, "cannot resume from byte 400");
	mj_assert(&j[12], FERRY_ERR_FETCH, "socks5h://");
	mj_assert_ok(&j[13], 0);
	mj_assert_ok(&j[14], 0);
	assert_true(ferry_fetch_multi_bytes(m) > 12 * OK_LEN);
	/* A multi runs again after a run. */
	memset(j, 0, 2 * sizeof(j[0]));
	mj_add(m, &j[0], "/together/again/2", 0, OK_LEN);
	mj_add(m, &j[1], "/together/again/2", 0, OK_LEN);
	assert_int_equal(ferry_fetch_multi_run(m, &err), 0);
	mj_assert_ok(&j[0], 0);
	mj_assert_ok(&j[1], 0);
	ferry_fetch_multi_free(m);
}

/*
 * One transfer at a time: the server's "together" test does fail then
 * (which shows the one above can), and a connection left stale by a
 * lying Content-Length is retried on a new one, as a single fetch is.
 */
static void
test_multi_serial(void **state)
{
	struct ferry_fetch_multi *m;
	struct ferry_error err;
	struct mj j[4];

	(void)state;
	NEED_SERVER();
	memset(j, 0, sizeof(j));
	assert_int_equal(ferry_fetch_multi_new(NULL, 1, &m), 0);
	mj_add(m, &j[0], "/together/serial/2", 0, OK_LEN);
	mj_add(m, &j[1], "/together/serial/2", 0, OK_LEN);
	mj_add(m, &j[2], "/lying-length", 0, OK_LEN);
	mj_add(m, &j[3], "/ok", 0, OK_LEN);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_multi_run(m, &err), 0);
	mj_assert(&j[0], FERRY_ERR_FETCH, "HTTP 500");
	mj_assert(&j[1], FERRY_ERR_FETCH, "HTTP 500");
	mj_assert(&j[2], 0, NULL);
	assert_int_equal(j[2].k.len, 10);
	mj_assert_ok(&j[3], 0);
	ferry_fetch_multi_free(m);
}

/* A done callback stops the run: the rest end "stopped", at once. */
static void
test_multi_stop(void **state)
{
	struct ferry_fetch_multi *m;
	struct ferry_error err;
	struct mj j[4];
	char url[256];

	(void)state;
	NEED_SERVER();
	memset(j, 0, sizeof(j));
	assert_int_equal(ferry_fetch_multi_new(NULL, 2, &m), 0);
	mj_add(m, &j[0], "/slow", 0, OK_LEN);
	j[1].stop = 1;
	mj_add(m, &j[1], "/ok", 0, OK_LEN);
	mj_add(m, &j[2], "/slow", 0, OK_LEN);	/* queued behind */
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_multi_run(m, &err), 0);
	mj_assert_ok(&j[1], 0);
	mj_assert(&j[0], FERRY_ERR_FETCH, "/slow: stopped");
	mj_assert(&j[2], FERRY_ERR_FETCH, "/slow: stopped");
	/* Stopped for good. */
	http_url(url, sizeof(url), "/ok");
	assert_int_equal(ferry_fetch_multi_add(m, url, 0, OK_LEN, sink_cb,
	    &j[3].k, mj_done, &j[3]), FERRY_ERR_FETCH);
	ferry_fetch_multi_free(m);
	assert_int_equal(j[3].ndone, 0);
}

/* Stopped from another thread, while a transfer is under way. */
struct cross {
	struct ferry_fetch_multi *m;
	atomic_int started;
	struct sink k;
};

static int
cross_cb(void *arg, const unsigned char *buf, size_t len)
{
	struct cross *c = arg;

	atomic_store(&c->started, 1);
	return sink_cb(&c->k, buf, len);
}

static void *
cross_stopper(void *arg)
{
	struct cross *c = arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	/* Bounded: 30 s at most, then stop all the same. */
	for (i = 0; i < 3000 && !atomic_load(&c->started); i++)
		nanosleep(&ts, NULL);
	ferry_fetch_multi_stop(c->m);
	return NULL;
}

static void
test_multi_stop_thread(void **state)
{
	struct ferry_error err;
	struct cross c;
	struct mj j;
	pthread_t t;
	char url[256];

	(void)state;
	NEED_SERVER();
	memset(&c, 0, sizeof(c));
	memset(&j, 0, sizeof(j));
	assert_int_equal(ferry_fetch_multi_new(NULL, 1, &c.m), 0);
	http_url(url, sizeof(url), "/slow");
	assert_int_equal(ferry_fetch_multi_add(c.m, url, 0, OK_LEN, cross_cb,
	    &c, mj_done, &j), 0);
	assert_int_equal(pthread_create(&t, NULL, cross_stopper, &c), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_multi_run(c.m, &err), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	mj_assert(&j, FERRY_ERR_FETCH, "/slow: stopped");
	assert_true(c.k.len >= 1);
	ferry_fetch_multi_free(c.m);
}

/*
 * Stopped while a local file is read: the read ends at the next piece,
 * not at the file's end (the callback waits, bounded, until the stop is
 * seen, so the file cannot be read whole first).
 */
struct lstop {
	struct ferry_fetch_multi *m;
	size_t len;
};

static int
lstop_cb(void *arg, const unsigned char *buf, size_t len)
{
	struct lstop *c = arg;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	(void)buf;
	c->len += len;
	if (c->len == len) {
		ferry_fetch_multi_stop(c->m);
		for (i = 0; i < 3000 && !ferry_fetch_multi_stopped(c->m); i++)
			nanosleep(&ts, NULL);
	}
	return 0;
}

static void
test_multi_stop_file(void **state)
{
	static unsigned char big[1024 * 1024];
	struct ferry_error err;
	struct lstop c;
	struct mj j;
	char path[512];

	(void)state;
	memset(big, 'f', sizeof(big));
	assert_int_equal(write_file("big.bin", big, sizeof(big)), 0);
	tmp_path(path, sizeof(path), "big.bin");
	memset(&c, 0, sizeof(c));
	memset(&j, 0, sizeof(j));
	assert_int_equal(ferry_fetch_multi_new(NULL, 1, &c.m), 0);
	assert_false(ferry_fetch_multi_stopped(c.m));
	assert_int_equal(ferry_fetch_multi_add(c.m, path, 0, sizeof(big),
	    lstop_cb, &c, mj_done, &j), 0);
	ferry_error_clear(&err);
	assert_int_equal(ferry_fetch_multi_run(c.m, &err), 0);
	mj_assert(&j, FERRY_ERR_FETCH, "big.bin: stopped");
	assert_true(c.len < sizeof(big));
	assert_true(ferry_fetch_multi_stopped(c.m));
	ferry_fetch_multi_free(c.m);
}

static void
test_url_segment(void **state)
{
	static const char *const v[][2] = {
		{ "targets", "targets" },
		{ "a/b", "a%2Fb" },
		{ "\xc3\xa9", "%C3%A9" },
		{ " ", "%20" },
		{ "~._-", "~._-" },
		{ "", "" },
		{ "AZaz09", "AZaz09" },
		{ "1.root.json", "1.root.json" },
		{ "%", "%25" },
		{ "a+b?c#d&e=f:g@h", "a%2Bb%3Fc%23d%26e%3Df%3Ag%40h" },
		{ "\x01\x7f\xff", "%01%7F%FF" },
		{ "..", ".." },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_non_null(s = ferry_url_segment(v[i][0]));
		assert_string_equal(s, v[i][1]);
		free(s);
	}
	assert_null(ferry_url_segment(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_default),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_http_ok),
		cmocka_unit_test(test_http_limit_exact),
		cmocka_unit_test(test_http_big),
		cmocka_unit_test(test_http_slow),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_http_redirect),
		cmocka_unit_test(test_http_lying_length),
		cmocka_unit_test(test_http_empty),
		cmocka_unit_test(test_http_no_decoding),
		cmocka_unit_test(test_http_user_agent),
		cmocka_unit_test(test_http_credentials_hidden),
		cmocka_unit_test(test_callback_abort),
		cmocka_unit_test(test_onion_refused),
		cmocka_unit_test(test_proxy_environment),
		cmocka_unit_test(test_file_read),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_multi_args),
		cmocka_unit_test(test_multi_parallel),
		cmocka_unit_test(test_multi_serial),
		cmocka_unit_test(test_multi_stop),
		cmocka_unit_test(test_multi_stop_thread),
		cmocka_unit_test(test_multi_stop_file),
		cmocka_unit_test(test_url_segment),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * lib/passphrase.c: passphrases from a descriptor and from a terminal.
 *
 * The descriptor tests feed a pipe.  The terminal tests make a
 * pseudo-terminal, run the reader in a child on its slave side and play
 * the user on the master side: wait for the prompt, type, read back what
 * the terminal showed.  The test keeps a descriptor of the slave open
 * itself, to look at the terminal's settings while the child reads and
 * after it is gone (and so that the master never sees a hangup).  Every
 * wait is bounded: the child has an alarm, the parent polls with a
 * deadline and kills the child if it passes.
 */
#include "config.h"

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/passphrase.h"

#define MAX FERRY_PASSPHRASE_MAX

/* ---- from a descriptor ---- */

/* A pipe holding len bytes and then end of file; returns the read end. */
static int
pipe_with(const void *data, size_t len)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	/* Far below the pipe's capacity, so this cannot block. */
	assert_true(len < 16384);
	if (len > 0)
		assert_int_equal(write(fds[1], data, len), (ssize_t)len);
	assert_int_equal(close(fds[1]), 0);
	return fds[0];
}

/* The next passphrase on fd must be want (wantlen bytes). */
static void
expect_pass(int fd, const char *want, size_t wantlen)
{
	struct ferry_passphrase *p = NULL;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_passphrase_read_fd(fd, &p, &err);
	if (r != 0)
		fail_msg("read_fd: %d (%s), want \"%s\"", r,
		    ferry_error_msg(&err), want);
	assert_non_null(p);
	assert_non_null(p->buf);
	assert_int_equal(p->len, wantlen);
	assert_memory_equal(p->buf, want, wantlen);
	assert_int_equal(p->buf[p->len], '\0');
	ferry_passphrase_free(p);
}

/* The next read on fd must fail with code and a message holding what. */
static void
expect_refused(int fd, int code, const char *what)
{
	struct ferry_passphrase *p = NULL;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_passphrase_read_fd(fd, &p, &err);
	if (r != code)
		fail_msg("read_fd: %d (%s), want %d", r,
		    ferry_error_msg(&err), code);
	assert_null(p);
	if (strstr(ferry_error_msg(&err), what) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", ferry_error_msg(&err),
		    what);
}

/* Nothing past the newline is consumed: passphrases can follow. */
static void
test_fd_lines_in_turn(void **state)
{
	static const char in[] = "first\nsecond\n";
	int fd = pipe_with(in, sizeof(in) - 1);

	(void)state;
	expect_pass(fd, "first", 5);
	expect_pass(fd, "second", 6);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "end of input");
	close(fd);
}

static void
test_fd_crlf(void **state)
{
	static const char in[] = "dos\r\nnext\n\r\r\nmid\rdle\n";
	int fd = pipe_with(in, sizeof(in) - 1);

	(void)state;
	expect_pass(fd, "dos", 3);
	expect_pass(fd, "next", 4);
	/* One CR is dropped, not all of them; one elsewhere is kept. */
	expect_pass(fd, "\r", 1);
	expect_pass(fd, "mid\rdle", 7);
	close(fd);
	fd = pipe_with("\r\n", 2);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "empty");
	close(fd);
}

static void
test_fd_last_line_at_eof(void **state)
{
	int fd = pipe_with("one\ntail", 8);

	(void)state;
	expect_pass(fd, "one", 3);
	expect_pass(fd, "tail", 4);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "end of input");
	close(fd);
	fd = pipe_with("tail\r", 5);
	expect_pass(fd, "tail", 4);
	close(fd);
}

static void
test_fd_empty(void **state)
{
	int fd = pipe_with("\nnext\n", 6);

	(void)state;
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "empty");
	/* The refused line took its newline only. */
	expect_pass(fd, "next", 4);
	close(fd);
	/* End of file at once. */
	fd = pipe_with("", 0);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "empty passphrase (end of "
	    "input)");
	close(fd);
}

/* A line of n bytes of c, then tail; the length of it all in *len. */
static char *
long_line(size_t n, char c, const char *tail, size_t *len)
{
	size_t tlen = strlen(tail);
	char *s = malloc(n + tlen + 1);

	assert_non_null(s);
	memset(s, c, n);
	memcpy(s + n, tail, tlen + 1);
	*len = n + tlen;
	return s;
}

static void
test_fd_length_limit(void **state)
{
	char *in, *want;
	size_t len, wlen;
	int fd;

	(void)state;
	want = long_line(MAX, 'a', "", &wlen);

	/* Exactly the limit: accepted, with or without a CR. */
	in = long_line(MAX, 'a', "\n", &len);
	fd = pipe_with(in, len);
	expect_pass(fd, want, MAX);
	close(fd);
	free(in);
	in = long_line(MAX, 'a', "\r\n", &len);
	fd = pipe_with(in, len);
	expect_pass(fd, want, MAX);
	close(fd);
	free(in);

	/* One over: refused, and the rest of the line is not the next one. */
	in = long_line(MAX + 1, 'b', "\nafter\n", &len);
	fd = pipe_with(in, len);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "longer than");
	expect_pass(fd, "after", 5);
	close(fd);
	free(in);

	/* Far over: all of it drained. */
	in = long_line(5 * MAX + 7, 'c', "\nafter\n", &len);
	fd = pipe_with(in, len);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "longer than");
	expect_pass(fd, "after", 5);
	close(fd);
	free(in);

	/* One over with a CRLF, and one over at end of file. */
	in = long_line(MAX + 1, 'd', "\r\nafter\n", &len);
	fd = pipe_with(in, len);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "longer than");
	expect_pass(fd, "after", 5);
	close(fd);
	free(in);
	in = long_line(MAX + 1, 'e', "", &len);
	fd = pipe_with(in, len);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "longer than");
	close(fd);
	free(in);

	/*
	 * A CR just past the limit, inside a longer line: the line is too
	 * long, not the first MAX bytes of it.
	 */
	in = long_line(MAX, 'f', "\rXYZ\nafter\n", &len);
	fd = pipe_with(in, len);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "longer than");
	expect_pass(fd, "after", 5);
	close(fd);
	free(in);
	free(want);
}

static void
test_fd_nul(void **state)
{
	static const char in[] = "a\0b\nok\n\0\nz\0\n";
	int fd = pipe_with(in, sizeof(in) - 1);

	(void)state;
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "NUL");
	expect_pass(fd, "ok", 2);
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "NUL");
	expect_refused(fd, FERRY_ERR_INVALID_ARG, "NUL");
	close(fd);
}

static void
test_fd_bad(void **state)
{
	struct ferry_passphrase *p = NULL;
	int fds[2], fd;

	(void)state;
	assert_int_equal(ferry_passphrase_read_fd(-1, &p, NULL),
	    FERRY_ERR_INVALID_ARG);
	fd = pipe_with("x\n", 2);
	assert_int_equal(ferry_passphrase_read_fd(fd, NULL, NULL),
	    FERRY_ERR_INVALID_ARG);
	close(fd);
	/* A descriptor that cannot be read: an I/O error, not a hang. */
	assert_int_equal(pipe(fds), 0);
	expect_refused(fds[1], FERRY_ERR_IO, "reading the passphrase");
	close(fds[0]);
	close(fds[1]);
	expect_refused(fds[0], FERRY_ERR_IO, "reading the passphrase");
	assert_null(p);
	ferry_passphrase_free(NULL);
}

/* ---- from a terminal ---- */

#define PROMPT	"Passphrase for ferry-test: "
#define AGAIN	"Again, to confirm: "
#define WAIT_MS	10000

struct result {
	int r;
	size_t len;
	char pass[64];
	char msg[512];
};

struct talk {
	const char *tty;	/* NULL: the pty's slave */
	int confirm;
	const char *lines[2];	/* typed after the prompt and AGAIN */
	int sig;		/* sent instead of typing, if not 0 */
};

struct seen {
	int status;		/* from waitpid */
	int got_result;
	struct result res;
	char out[8192];		/* what the terminal showed */
	size_t outlen;
	struct termios before, during, after;
	int saw_during;
};

static long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read what the master has within ms milliseconds, into s->out. */
static void
drain(int master, struct seen *s, int ms)
{
	struct pollfd pfd;
	ssize_t n;
	long end = now_ms() + ms;

	for (;;) {
		long left = end - now_ms();

		pfd.fd = master;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		if (s->outlen + 1 >= sizeof(s->out))
			return;
		n = read(master, s->out + s->outlen,
		    sizeof(s->out) - 1 - s->outlen);
		if (n <= 0)
			return;
		s->outlen += (size_t)n;
		s->out[s->outlen] = '\0';
	}
}

/* Wait until the terminal has shown want after offset from. */
static size_t
expect_shown(int master, struct seen *s, size_t from, const char *want)
{
	long end = now_ms() + WAIT_MS;
	char *at;

	for (;;) {
		at = s->outlen > from ? memmem(s->out + from, s->outlen - from,
		    want, strlen(want)) : NULL;
		if (at != NULL)
			return (size_t)(at - s->out) + strlen(want);
		if (now_ms() >= end)
			return (size_t)-1;
		drain(master, s, 50);
	}
}

static void
type_line(int master, const char *line)
{
	size_t len = strlen(line);

	assert_int_equal(write(master, line, len), (ssize_t)len);
	assert_int_equal(write(master, "\n", 1), 1);
}

static void
child(const struct talk *t, const char *tty, int resfd)
{
	struct ferry_passphrase *p = NULL;
	struct ferry_error err;
	struct result res;

	/* The signals are the test's to send; nothing else may hang. */
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	alarm(WAIT_MS / 1000 + 5);
	memset(&res, 0, sizeof(res));
	memset(&err, 0, sizeof(err));
	res.r = ferry_passphrase_read_tty(tty, PROMPT, t->confirm, &p, &err);
	if (res.r == 0) {
		res.len = p->len;
		memcpy(res.pass, p->buf, p->len < sizeof(res.pass) - 1 ?
		    p->len : sizeof(res.pass) - 1);
		ferry_passphrase_free(p);
	}
	snprintf(res.msg, sizeof(res.msg), "%s", ferry_error_msg(&err));
	_exit(write(resfd, &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 :
	    1);
}

/* Wait for pid, draining the terminal meanwhile; kill it past the limit. */
static int
reap(pid_t pid, int master, struct seen *s, int sig)
{
	long end = now_ms() + WAIT_MS, resend = now_ms() + 200;
	int status;
	pid_t w;

	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		assert_int_equal(w, 0);
		if (now_ms() >= end) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			fail_msg("the reader did not finish within %d ms",
			    WAIT_MS);
		}
		/*
		 * A signal that lands between the prompt and read(2) is only
		 * noticed at the next byte; another one interrupts read.
		 */
		if (sig != 0 && now_ms() >= resend) {
			(void)kill(pid, sig);
			resend = now_ms() + 200;
		}
		drain(master, s, 20);
	}
}

static int
termios_equal(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag &&
	    a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag &&
	    memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0 &&
	    cfgetispeed(a) == cfgetispeed(b) &&
	    cfgetospeed(a) == cfgetospeed(b);
}

/* Play the user's part of t on a new pseudo-terminal. */
static void
converse(const struct talk *t, struct seen *s)
{
	char slave[256];
	const char *name;
	int master, keep, res[2];
	size_t at;
	pid_t pid;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	/* Some containers have no pseudo-terminals: nothing to test there. */
	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) == -1)
		skip();
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	name = ptsname(master);
	assert_non_null(name);
	snprintf(slave, sizeof(slave), "%s", name);
	keep = open(slave, O_RDWR | O_NOCTTY);
	assert_true(keep != -1);
	assert_int_equal(tcgetattr(keep, &s->before), 0);
	/* A terminal as a user has it: echo on, line by line. */
	assert_true(s->before.c_lflag & ECHO);
	assert_true(s->before.c_lflag & ICANON);
	assert_int_equal(pipe(res), 0);

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		(void)close(res[0]);
		(void)close(master);
		(void)close(keep);
		child(t, t->tty != NULL ? t->tty : slave, res[1]);
	}
	(void)close(res[1]);

	if (t->tty == NULL) {
		at = expect_shown(master, s, 0, PROMPT);
		if (at == (size_t)-1) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			fail_msg("no prompt; the terminal showed \"%s\"",
			    s->out);
		}
		/* While the reader waits, echo is off. */
		assert_int_equal(tcgetattr(keep, &s->during), 0);
		s->saw_during = 1;
		if (t->sig != 0)
			(void)kill(pid, t->sig);
		else if (t->lines[0] != NULL) {
			type_line(master, t->lines[0]);
			if (t->confirm && t->lines[1] != NULL) {
				if (expect_shown(master, s, at, AGAIN) ==
				    (size_t)-1) {
					(void)kill(pid, SIGKILL);
					(void)waitpid(pid, NULL, 0);
					fail_msg("no second prompt; the "
					    "terminal showed \"%s\"", s->out);
				}
				type_line(master, t->lines[1]);
			}
		}
	}
	s->status = reap(pid, master, s, t->sig);
	drain(master, s, 100);
	assert_int_equal(tcgetattr(keep, &s->after), 0);
	n = read(res[0], &s->res, sizeof(s->res));
	s->got_result = n == (ssize_t)sizeof(s->res);
	(void)close(res[0]);
	(void)close(keep);
	(void)close(master);
}

static void
assert_exited(const struct seen *s)
{
	if (WIFSIGNALED(s->status))
		fail_msg("the reader was killed by signal %d",
		    WTERMSIG(s->status));
	assert_true(WIFEXITED(s->status));
	assert_int_equal(WEXITSTATUS(s->status), 0);
	assert_true(s->got_result);
}

/* Echo off while reading, restored after; the prompt shown, not the line. */
static void
assert_terminal_ok(const struct seen *s)
{
	assert_true(s->saw_during);
	assert_false(s->during.c_lflag & ECHO);
	assert_true(s->during.c_lflag & ICANON);
	if (!termios_equal(&s->before, &s->after))
		fail_msg("terminal settings not restored: c_lflag %#lx, was "
		    "%#lx", (unsigned long)s->after.c_lflag,
		    (unsigned long)s->before.c_lflag);
	assert_non_null(strstr(s->out, PROMPT));
	if (strstr(s->out, "secret") != NULL)
		fail_msg("the passphrase was echoed: \"%s\"", s->out);
}

static void
test_tty_reads_without_echo(void **state)
{
	struct talk t = { NULL, 0, { "secret", NULL }, 0 };
	struct seen s;

	(void)state;
	converse(&t, &s);
	assert_exited(&s);
	if (s.res.r != 0)
		fail_msg("read_tty: %d (%s)", s.res.r, s.res.msg);
	assert_int_equal(s.res.len, 6);
	assert_string_equal(s.res.pass, "secret");
	assert_terminal_ok(&s);
	/* One prompt only, without confirm. */
	assert_null(strstr(s.out, AGAIN));
}

static void
test_tty_confirm_matches(void **state)
{
	struct talk t = { NULL, 1, { "secret words", "secret words" }, 0 };
	struct seen s;

	(void)state;
	converse(&t, &s);
	assert_exited(&s);
	if (s.res.r != 0)
		fail_msg("read_tty: %d (%s)", s.res.r, s.res.msg);
	assert_string_equal(s.res.pass, "secret words");
	assert_int_equal(s.res.len, 12);
	assert_non_null(strstr(s.out, AGAIN));
	assert_terminal_ok(&s);
}

static void
test_tty_confirm_differs(void **state)
{
	static const struct talk talks[] = {
		{ NULL, 1, { "secret words", "secret wordz" }, 0 },
		/* A prefix is not the same passphrase. */
		{ NULL, 1, { "secret words", "secret word" }, 0 },
		{ NULL, 1, { "secret", "secret words" }, 0 },
	};
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(talks) / sizeof(talks[0]); i++) {
		converse(&talks[i], &s);
		assert_exited(&s);
		assert_int_equal(s.res.r, FERRY_ERR_INVALID_ARG);
		assert_int_equal(s.res.len, 0);
		assert_non_null(strstr(s.res.msg, "differ"));
		assert_terminal_ok(&s);
	}
}

/* An empty first answer ends it: no second prompt. */
static void
test_tty_empty(void **state)
{
	struct talk t = { NULL, 1, { "", NULL }, 0 };
	struct seen s;

	(void)state;
	converse(&t, &s);
	assert_exited(&s);
	assert_int_equal(s.res.r, FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(s.res.msg, "empty"));
	assert_null(strstr(s.out, AGAIN));
	assert_terminal_ok(&s);
}

/*
 * Interrupted at the prompt: the terminal gets its echo back, then the
 * signal takes its usual course (the reader dies of it).
 */
static void
test_tty_signal_restores(void **state)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct talk t = { NULL, 0, { NULL, NULL }, 0 };
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		t.sig = sigs[i];
		converse(&t, &s);
		if (!WIFSIGNALED(s.status) || WTERMSIG(s.status) != sigs[i])
			fail_msg("signal %d: the reader %s %d", sigs[i],
			    WIFSIGNALED(s.status) ? "died of signal" :
			    "exited with", WIFSIGNALED(s.status) ?
			    WTERMSIG(s.status) : WEXITSTATUS(s.status));
		assert_false(s.got_result);
		assert_terminal_ok(&s);
	}
}

static void
assert_no_terminal(const char *tty)
{
	struct ferry_passphrase *p = NULL;
	struct ferry_error err;
	int r;

	memset(&err, 0, sizeof(err));
	r = ferry_passphrase_read_tty(tty, PROMPT, 0, &p, &err);
	if (r != FERRY_ERR_IO)
		fail_msg("%s: %d (%s), want FERRY_ERR_IO", tty, r,
		    ferry_error_msg(&err));
	assert_null(p);
	if (strstr(ferry_error_msg(&err), "--passphrase-fd") == NULL)
		fail_msg("%s: \"%s\" does not point to --passphrase-fd", tty,
		    ferry_error_msg(&err));
	assert_non_null(strstr(ferry_error_msg(&err), tty));
}

static void
test_tty_not_a_terminal(void **state)
{
	char dir[256], file[300];
	int fd;

	(void)state;
	assert_int_equal(unit_mkdtemp(dir, sizeof(dir), "pp"), 0);
	snprintf(file, sizeof(file), "%s/plain", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "secret\n", 7), 7);
	assert_int_equal(close(fd), 0);

	assert_no_terminal(file);
	assert_no_terminal("/nonexistent/tty");
	assert_no_terminal(dir);
	assert_no_terminal("/dev/null");
	/* The file was not written to (no prompt in it). */
	{
		char buf[64];
		ssize_t n;

		fd = open(file, O_RDONLY);
		assert_true(fd != -1);
		n = read(fd, buf, sizeof(buf));
		assert_int_equal(n, 7);
		assert_memory_equal(buf, "secret\n", 7);
		close(fd);
	}
	assert_int_equal(unlink(file), 0);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * NULL means the controlling terminal.  A process without one (after
 * setsid) cannot open /dev/tty: the error says what to do instead.
 */
static void
test_tty_default_without_terminal(void **state)
{
	struct result res;
	int status, fds[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct ferry_passphrase *p = NULL;
		struct ferry_error err;

		(void)close(fds[0]);
		alarm(10);
		memset(&res, 0, sizeof(res));
		memset(&err, 0, sizeof(err));
		if (setsid() == -1)
			_exit(2);
		res.r = ferry_passphrase_read_tty(NULL, PROMPT, 0, &p, &err);
		ferry_passphrase_free(p);
		snprintf(res.msg, sizeof(res.msg), "%s",
		    ferry_error_msg(&err));
		_exit(write(fds[1], &res, sizeof(res)) ==
		    (ssize_t)sizeof(res) ? 0 : 1);
	}
	(void)close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(fds[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	(void)close(fds[0]);
	assert_int_equal(res.r, FERRY_ERR_IO);
	assert_non_null(strstr(res.msg, "/dev/tty"));
	assert_non_null(strstr(res.msg, "--passphrase-fd"));
}

static void
test_tty_bad_args(void **state)
{
	struct ferry_passphrase *p = NULL;

	(void)state;
	assert_int_equal(ferry_passphrase_read_tty("/dev/null", NULL, 0, &p,
	    NULL), FERRY_ERR_INVALID_ARG);
	assert_int_equal(ferry_passphrase_read_tty("/dev/null", PROMPT, 0,
	    NULL, NULL), FERRY_ERR_INVALID_ARG);
	assert_null(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_lines_in_turn),
		cmocka_unit_test(test_fd_crlf),
		cmocka_unit_test(test_fd_last_line_at_eof),
		cmocka_unit_test(test_fd_empty),
		cmocka_unit_test(test_fd_length_limit),
		cmocka_unit_test(test_fd_nul),
		cmocka_unit_test(test_fd_bad),
		cmocka_unit_test(test_tty_reads_without_echo),
		cmocka_unit_test(test_tty_confirm_matches),
		cmocka_unit_test(test_tty_confirm_differs),
		cmocka_unit_test(test_tty_empty),
		cmocka_unit_test(test_tty_signal_restores),
		cmocka_unit_test(test_tty_not_a_terminal),
		cmocka_unit_test(test_tty_default_without_terminal),
		cmocka_unit_test(test_tty_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

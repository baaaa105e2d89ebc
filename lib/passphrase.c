/* Passphrases from a file descriptor or a terminal with echo off. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "passphrase.h"

static struct ferry_passphrase *
pp_new(void)
{
	struct ferry_passphrase *p;

	if (sodium_init() < 0 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	/* One byte more than the limit, to notice a passphrase over it. */
	if ((p->buf = sodium_malloc(FERRY_PASSPHRASE_MAX + 2)) == NULL) {
		free(p);
		return NULL;
	}
	sodium_memzero(p->buf, FERRY_PASSPHRASE_MAX + 2);
	return p;
}

void
ferry_passphrase_free(struct ferry_passphrase *p)
{
	if (p == NULL)
		return;
	sodium_free(p->buf);	/* wipes */
	free(p);
}

/* The signals that would otherwise leave the terminal without echo. */
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSIG_TTY (sizeof(tty_signals) / sizeof(tty_signals[0]))
static volatile sig_atomic_t tty_caught[NSIG_TTY];

static int
tty_caught_any(void)
{
	size_t i;

	for (i = 0; i < NSIG_TTY; i++)
		if (tty_caught[i])
			return 1;
	return 0;
}

/*
 * One line from fd into p, a byte at a time.  *eof says whether the line
 * ended at end of file rather than a newline.
 */
static int
read_line(int fd, struct ferry_passphrase *p, int *eof,
    struct ferry_error *err)
{
	ssize_t n;
	int toolong = 0;
	char c;

	p->len = 0;
	*eof = 0;
	for (;;) {
		n = read(fd, &c, 1);
		/* A signal the terminal code caught ends the read. */
		if (n == -1 && errno == EINTR && !tty_caught_any())
			continue;
		if (n == -1 && errno == EINTR)
			return ferry_error_set(err, FERRY_ERR_IO, "interrupted");
		if (n == -1)
			return ferry_error_set(err, FERRY_ERR_IO,
			    "reading the passphrase: %s", strerror(errno));
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (c == '\n')
			break;
		if (p->len > FERRY_PASSPHRASE_MAX) {
			/* Drain the rest of the line so it is not reused. */
			toolong = 1;
			continue;
		}
		p->buf[p->len++] = c;
	}
	c = 0;
	/* Else a CR kept just past the limit would pass for a CRLF. */
	if (!toolong && p->len > 0 && p->buf[p->len - 1] == '\r')
		p->len--;
	if (toolong || p->len > FERRY_PASSPHRASE_MAX)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "passphrase longer than %d bytes", FERRY_PASSPHRASE_MAX);
	p->buf[p->len] = '\0';
	if (memchr(p->buf, '\0', p->len) != NULL)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "passphrase holds a NUL byte");
	if (p->len == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "empty passphrase%s", *eof ? " (end of input)" : "");
	return 0;
}

int
ferry_passphrase_read_fd(int fd, struct ferry_passphrase **out,
    struct ferry_error *err)
{
	struct ferry_passphrase *p;
	int r, eof;

	if (fd < 0 || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if ((p = pp_new()) == NULL)
		return FERRY_ERR_NOMEM;
	if ((r = read_line(fd, p, &eof, err)) != 0) {
		ferry_passphrase_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static void
tty_handler(int sig)
{
	size_t i;

	for (i = 0; i < NSIG_TTY; i++)
		if (tty_signals[i] == sig)
			tty_caught[i] = 1;
}

struct tty {
	int fd;
	struct termios saved;
	struct sigaction old[NSIG_TTY];
};

static int
tty_open(struct tty *t, const char *path, struct ferry_error *err)
{
	struct termios noecho;
	struct sigaction sa;
	size_t i;

	if ((t->fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return ferry_error_set(err, FERRY_ERR_IO,
		    "%s: %s (no terminal to ask for the passphrase on; "
		    "give it with --passphrase-fd)", path, strerror(errno));
	if (tcgetattr(t->fd, &t->saved) == -1) {
		(void)close(t->fd);
		return ferry_error_set(err, FERRY_ERR_IO,
		    "%s: %s (not a terminal to ask for the passphrase on; "
		    "give it with --passphrase-fd)", path, strerror(errno));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_handler;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < NSIG_TTY; i++) {
		tty_caught[i] = 0;
		(void)sigaction(tty_signals[i], &sa, &t->old[i]);
	}
	noecho = t->saved;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	noecho.c_lflag |= ECHONL | ICANON;
	if (tcsetattr(t->fd, TCSAFLUSH, &noecho) == -1) {
		for (i = 0; i < NSIG_TTY; i++)
			(void)sigaction(tty_signals[i], &t->old[i], NULL);
		(void)close(t->fd);
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	}
	return 0;
}

/*
 * Restore echo and the handlers.  Returns a signal that arrived meanwhile
 * (0 if none), for the caller to deliver once the secrets are wiped.
 */
static int
tty_close(struct tty *t)
{
	size_t i;
	int sig = 0;

	while (tcsetattr(t->fd, TCSAFLUSH, &t->saved) == -1 && errno == EINTR)
		;
	(void)close(t->fd);
	for (i = 0; i < NSIG_TTY; i++)
		(void)sigaction(tty_signals[i], &t->old[i], NULL);
	for (i = 0; i < NSIG_TTY; i++)
		if (tty_caught[i] && sig == 0)
			sig = tty_signals[i];
	return sig;
}

static int
tty_ask(struct tty *t, const char *prompt, struct ferry_passphrase *p,
    struct ferry_error *err)
{
	size_t len = strlen(prompt);
	int eof, r;

	if (write(t->fd, prompt, len) != (ssize_t)len)
		return ferry_error_set(err, FERRY_ERR_IO,
		    "writing the prompt: %s", strerror(errno));
	r = read_line(t->fd, p, &eof, err);
	if (tty_caught_any())
		return ferry_error_set(err, FERRY_ERR_IO, "interrupted");
	return r;
}

int
ferry_passphrase_read_tty(const char *path, const char *prompt, int confirm,
    struct ferry_passphrase **out, struct ferry_error *err)
{
	struct ferry_passphrase *p = NULL, *again = NULL;
	struct tty t;
	int r, sig = 0;

	if (prompt == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (path == NULL)
		path = "/dev/tty";
	if ((p = pp_new()) == NULL ||
	    (confirm && (again = pp_new()) == NULL)) {
		ferry_passphrase_free(p);
		return FERRY_ERR_NOMEM;
	}
	if ((r = tty_open(&t, path, err)) != 0)
		goto out;
	if ((r = tty_ask(&t, prompt, p, err)) == 0 && confirm &&
	    (r = tty_ask(&t, "Again, to confirm: ", again, err)) == 0 &&
	    (p->len != again->len ||
	    sodium_memcmp(p->buf, again->buf, p->len) != 0))
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "the two passphrases differ");
	sig = tty_close(&t);
	if (r != 0 || sig != 0)
		goto out;
	*out = p;
	p = NULL;	/* transferred */
 out:
	ferry_passphrase_free(p);
	ferry_passphrase_free(again);
	if (sig != 0) {
		/* Wiped: now the signal may take its course. */
		(void)raise(sig);
		r = ferry_error_set(err, FERRY_ERR_IO, "interrupted");
	}
	return r;
}

/*
 * Tor's control port: the reply parser, the connection, authentication
 * and the few commands Ferry needs (onion/control.h).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/hex.h"
#include "onion/control.h"

/* ------------------------------------------------------------------ */
/* Replies */

void
onion_reply_free(struct onion_reply *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nlines; i++) {
		free(r->lines[i].text);
		free(r->lines[i].data);
	}
	free(r->lines);
	free(r);
}

/*
 * The line starting at buf[pos]: *end is the offset of its LF.  0, 1 for
 * no LF yet, or an error.  nline counts lines from 1, for messages.
 */
static int
find_line(const char *buf, size_t len, size_t pos, size_t nline,
    size_t *end, struct ferry_error *err)
{
	size_t avail = len - pos, scan, i;
	const char *nl;

	scan = avail < ONION_CTL_LINE_MAX ? avail : ONION_CTL_LINE_MAX;
	if ((nl = memchr(buf + pos, '\n', scan)) == NULL) {
		if (avail >= ONION_CTL_LINE_MAX)
			return ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "control reply line %zu: longer than %u bytes",
			    nline, ONION_CTL_LINE_MAX);
		return 1;
	}
	*end = (size_t)(nl - buf);
	if (*end == pos || buf[*end - 1] != '\r')
		return ferry_error_set(err, FERRY_ERR_TOR,
		    "control reply line %zu: does not end in CRLF", nline);
	for (i = pos; i < *end - 1; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return ferry_error_set(err, FERRY_ERR_TOR,
			    "control reply line %zu: control byte 0x%02x at "
			    "column %zu", nline, ch, i - pos + 1);
	}
	return 0;
}

/* Append one data line (dot-unescaped) to l->data, "\n"-separated. */
static int
add_data(struct onion_reply_line *l, const char *p, size_t n,
    struct ferry_error *err)
{
	size_t need = l->datalen + (l->data != NULL ? 1 : 0) + n + 1;
	char *d;

	if ((d = realloc(l->data, need)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	if (l->data != NULL)
		d[l->datalen++] = '\n';
	memcpy(d + l->datalen, p, n);
	l->datalen += n;
	d[l->datalen] = '\0';
	l->data = d;
	return 0;
}

/* Read the data block after a "NNN+" line, up to its "." line. */
static int
parse_data(const char *buf, size_t len, size_t *pos, size_t *nline,
    struct onion_reply_line *l, struct ferry_error *err)
{
	size_t end;
	const char *p;
	int r;

	for (;;) {
		if (++*nline > ONION_CTL_LINES_MAX)
			return ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "control reply: more than %u lines",
			    ONION_CTL_LINES_MAX);
		if ((r = find_line(buf, len, *pos, *nline, &end, err)) != 0)
			return r;
		p = buf + *pos;
		*pos = end + 1;
		if (end - 1 - (size_t)(p - buf) == 1 && p[0] == '.')
			return 0;
		if (p[0] == '.')
			p++;
		if ((r = add_data(l, p, end - 1 - (size_t)(p - buf), err)) != 0)
			return r;
	}
}

/* Check a line's "NNNs" head; *code and *sep receive it. */
static int
parse_head(const char *p, size_t n, size_t nline, int *code, char *sep,
    struct ferry_error *err)
{
	if (n < 4 || p[0] < '2' || p[0] > '6' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9')
		return ferry_error_set(err, FERRY_ERR_TOR,
		    "control reply line %zu: no three-digit status", nline);
	if (p[3] != ' ' && p[3] != '-' && p[3] != '+')
		return ferry_error_set(err, FERRY_ERR_TOR,
		    "control reply line %zu: '%c' after the status, not ' ', "
		    "'-' or '+'", nline, p[3]);
	*code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	*sep = p[3];
	return 0;
}

static int
add_line(struct onion_reply *rep, const char *p, size_t n,
    struct ferry_error *err)
{
	struct onion_reply_line *nl;

	if ((nl = realloc(rep->lines, (rep->nlines + 1) * sizeof(*nl))) ==
	    NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	rep->lines = nl;
	nl = &rep->lines[rep->nlines];
	memset(nl, 0, sizeof(*nl));
	if ((nl->text = malloc(n + 1)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	memcpy(nl->text, p, n);
	nl->text[n] = '\0';
	rep->nlines++;
	return 0;
}

int
onion_reply_parse(const char *buf, size_t len, struct onion_reply **out,
    size_t *used, struct ferry_error *err)
{
	struct onion_reply *rep;
	size_t pos = 0, nline = 0, end, n;
	int r, code;
	char sep = '-';

	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	rep->status = -1;
	while (sep != ' ') {
		if (++nline > ONION_CTL_LINES_MAX) {
			r = ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "control reply: more than %u lines",
			    ONION_CTL_LINES_MAX);
			goto out;
		}
		if ((r = find_line(buf, len, pos, nline, &end, err)) != 0) {
			/* Not even the head of a line: never a reply. */
			if (r == 1 && len - pos >= 4)
				r = parse_head(buf + pos, 4, nline, &code,
				    &sep, err);
			if (r == 0)
				r = 1;
			goto out;
		}
		n = end - 1 - pos;
		if ((r = parse_head(buf + pos, n, nline, &code, &sep, err)) != 0)
			goto out;
		if (rep->status != -1 && code != rep->status) {
			r = ferry_error_set(err, FERRY_ERR_TOR, "control reply "
			    "line %zu: status %d within a reply of status %d",
			    nline, code, rep->status);
			goto out;
		}
		rep->status = code;
		if ((r = add_line(rep, buf + pos + 4, n - 4, err)) != 0)
			goto out;
		pos = end + 1;
		if (sep == '+' && (r = parse_data(buf, len, &pos, &nline,
		    &rep->lines[rep->nlines - 1], err)) != 0)
			goto out;
		if (pos > ONION_CTL_REPLY_MAX) {
			r = ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "control reply: more than %u bytes",
			    ONION_CTL_REPLY_MAX);
			goto out;
		}
	}
	*out = rep;
	*used = pos;
	rep = NULL;		/* transferred */
	r = 0;
 out:
	/* An unfinished reply already past the bound never will be one. */
	if (r == 1 && len > ONION_CTL_REPLY_MAX)
		r = ferry_error_set(err, FERRY_ERR_TOO_LARGE,
		    "control reply: more than %u bytes", ONION_CTL_REPLY_MAX);
	onion_reply_free(rep);
	return r;
}

/*
 * Decode the QuotedString at *pp (its opening quote) into out, or only
 * skip it when out is NULL; *pp is left after the closing quote.
 */
static int
unquote(const char **pp, char *out, size_t outlen, struct ferry_error *err)
{
	const char *p = *pp + 1;
	size_t n = 0;
	int ch, k;

	for (;; p++) {
		if (*p == '\0')
			return ferry_error_set(err, FERRY_ERR_TOR,
			    "control reply: a quoted value has no end");
		if (*p == '"')
			break;
		ch = (unsigned char)*p;
		if (*p == '\\') {
			switch (*++p) {
			case '\\': case '"': case '\'':
				ch = *p;
				break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			default:
				if (*p < '0' || *p > '7')
					return ferry_error_set(err,
					    FERRY_ERR_TOR, "control reply: "
					    "unknown escape in a quoted value");
				for (ch = 0, k = 0; k < 3 && *p >= '0' &&
				    *p <= '7'; k++, p++)
					ch = ch * 8 + (*p - '0');
				p--;
				if (ch == 0 || ch > 0xff)
					return ferry_error_set(err,
					    FERRY_ERR_TOR, "control reply: "
					    "escape \\%o in a quoted value", ch);
			}
		}
		if (out != NULL) {
			if (n + 1 >= outlen)
				return ferry_error_set(err,
				    FERRY_ERR_TOO_LARGE, "control reply: a "
				    "value longer than %zu bytes", outlen - 1);
			out[n++] = (char)ch;
		}
	}
	*pp = p + 1;
	if (**pp != '\0' && **pp != ' ')
		return ferry_error_set(err, FERRY_ERR_TOR,
		    "control reply: text after a quoted value");
	if (out != NULL)
		out[n] = '\0';
	return 0;
}

int
onion_kv(const char *text, const char *key, char *out, size_t outlen,
    struct ferry_error *err)
{
	size_t klen = strlen(key), wlen, vlen;
	const char *p = text, *w, *v;
	int match, r;

	if (outlen == 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "onion_kv: no room");
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		/* A quoted word that is no value: skipped whole, so that
		 * nothing inside it passes for a key. */
		if (*p == '"') {
			if ((r = unquote(&p, NULL, 0, err)) != 0)
				return r;
			continue;
		}
		w = p;
		while (*p != '\0' && *p != ' ' && *p != '=')
			p++;
		wlen = (size_t)(p - w);
		if (*p != '=')
			continue;	/* a bare word */
		match = wlen == klen && memcmp(w, key, klen) == 0;
		v = ++p;
		if (*v == '"') {
			if ((r = unquote(&p, match ? out : NULL, outlen,
			    err)) != 0)
				return r;
		} else {
			while (*p != '\0' && *p != ' ')
				p++;
			vlen = (size_t)(p - v);
			if (match && vlen >= outlen)
				return ferry_error_set(err,
				    FERRY_ERR_TOO_LARGE, "control reply: "
				    "%s: longer than %zu bytes", key,
				    outlen - 1);
			if (match) {
				memcpy(out, v, vlen);
				out[vlen] = '\0';
			}
		}
		if (match)
			return 0;
	}
	return ferry_error_set(err, FERRY_ERR_NOT_FOUND,
	    "control reply: no %s=", key);
}

/* ------------------------------------------------------------------ */
/* The connection */

#define READ_CHUNK 65536

struct onion_ctl {
	int fd;
	int timeout_ms;
	char *buf;		/* what was read and not yet parsed */
	size_t len, cap;
	int broken;		/* out of step: no more commands */
	char version[32];
	onion_event_cb *cb;
	void *cbarg;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on c->fd until deadline: 0, or an error. */
static int
wait_fd(int fd, short events, int64_t deadline, struct ferry_error *err)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return ferry_error_set(err, FERRY_ERR_TIMEOUT,
			    "tor's control port did not answer in time");
		if (errno != EINTR)
			return ferry_error_set(err, FERRY_ERR_IO,
			    "control port: poll: %s", strerror(errno));
	}
}

/* Parse a "unix:PATH", "IPv4:PORT" or "[IPv6]:PORT" on this machine. */
static int
parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
    struct ferry_error *err)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	char host[64], *end;
	const char *colon;
	size_t hlen;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(addr, "unix:", 5) == 0) {
		if (addr[5] != '/' || strlen(addr + 5) >= sizeof(un->sun_path))
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "control port %s: not unix:/ABSOLUTE/PATH of at "
			    "most %zu bytes", addr, sizeof(un->sun_path) - 1);
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, addr + 5, strlen(addr + 5) + 1);
		*len = (socklen_t)sizeof(*un);
		return 0;
	}
	if ((colon = strrchr(addr, ':')) == NULL)
		goto bad;
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 1 || port > 65535)
		goto bad;
	hlen = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hlen < 3 || addr[hlen - 1] != ']' || hlen - 2 >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, hlen - 2);
		host[hlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
		if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			goto remote;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof(*in6);
		return 0;
	}
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		goto bad;
	if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
		goto remote;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*len = (socklen_t)sizeof(*in4);
	return 0;
 bad:
	return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "control port %s: "
	    "not unix:PATH, IPv4:PORT or [IPv6]:PORT", addr);
 remote:
	return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "control port %s: "
	    "not on this machine (127.0.0.0/8, ::1 or unix:PATH); the "
	    "control protocol is plain text", addr);
}

int
onion_ctl_open(const char *addr, int timeout_ms, struct onion_ctl **out,
    struct ferry_error *err)
{
	struct sockaddr_storage ss;
	struct onion_ctl *c = NULL;
	socklen_t slen, elen;
	int r, fd = -1, soerr = 0;
	int64_t deadline;

	if ((r = parse_addr(addr, &ss, &slen, err)) != 0)
		return r;
	/* sodium_malloc() needs it; it may be called any number of times. */
	if (sodium_init() < 0)
		return ferry_error_set(err, FERRY_ERR_CRYPTO,
		    "libsodium failed to initialise");
	if (timeout_ms <= 0)
		timeout_ms = ONION_CTL_TIMEOUT_MS;
	deadline = now_ms() + timeout_ms;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		r = ferry_error_set(err, FERRY_ERR_IO, "control port %s: "
		    "socket: %s", addr, strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&ss, slen) != 0) {
		if (errno != EINPROGRESS) {
			soerr = errno;
			goto refused;
		}
		if ((r = wait_fd(fd, POLLOUT, deadline, err)) != 0)
			goto fail;
		elen = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) != 0)
			soerr = errno;
		if (soerr != 0)
			goto refused;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->buf = malloc(READ_CHUNK)) == NULL) {
		r = ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
		goto fail;
	}
	c->cap = READ_CHUNK;
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	*out = c;
	return 0;
 refused:
	r = ferry_error_set(err, FERRY_ERR_TOR, "cannot connect to tor's "
	    "control port %s: %s", addr, strerror(soerr));
 fail:
	if (c != NULL)
		free(c->buf);
	free(c);
	if (fd >= 0)
		(void)close(fd);
	return r;
}

void
onion_ctl_close(struct onion_ctl *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		(void)close(c->fd);
	free(c->buf);
	free(c);
}

int
onion_ctl_fd(const struct onion_ctl *c)
{
	return c->fd;
}

const char *
onion_ctl_tor_version(const struct onion_ctl *c)
{
	return c->version;
}

void
onion_ctl_set_event_cb(struct onion_ctl *c, onion_event_cb *cb, void *arg)
{
	c->cb = cb;
	c->cbarg = arg;
}

/* Read more into c->buf, waiting until deadline: 0, or an error. */
static int
fill(struct onion_ctl *c, int64_t deadline, struct ferry_error *err)
{
	size_t ncap;
	ssize_t n;
	char *nb;
	int r;

	if (c->cap - c->len < READ_CHUNK / 4) {
		ncap = c->cap * 2;
		if (ncap > ONION_CTL_REPLY_MAX + READ_CHUNK)
			ncap = ONION_CTL_REPLY_MAX + READ_CHUNK;
		if (ncap <= c->len)
			return ferry_error_set(err, FERRY_ERR_TOO_LARGE,
			    "control reply: more than %u bytes",
			    ONION_CTL_REPLY_MAX);
		if ((nb = realloc(c->buf, ncap)) == NULL)
			return ferry_error_set(err, FERRY_ERR_NOMEM,
			    "out of memory");
		c->buf = nb;
		c->cap = ncap;
	}
	for (;;) {
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return ferry_error_set(err, FERRY_ERR_TOR,
			    "tor closed the control connection");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return ferry_error_set(err, FERRY_ERR_TOR,
			    "control connection: %s", strerror(errno));
		if ((r = wait_fd(c->fd, POLLIN, deadline, err)) != 0)
			return r;
	}
}

/*
 * The next reply that is not an event (events go to the callback), or
 * with events_only, return as soon as no complete reply is buffered.
 */
static int
next_reply(struct onion_ctl *c, int64_t deadline, struct onion_reply **out,
    struct ferry_error *err)
{
	struct onion_reply *rep;
	size_t used;
	int r;

	for (;;) {
		r = onion_reply_parse(c->buf, c->len, &rep, &used, err);
		if (r < 0)
			return r;
		if (r == 1) {
			if (out == NULL)
				return 0;
			/*
			 * The deadline holds even while bytes keep coming:
			 * event after event, or a reply a byte at a time,
			 * cannot keep a command waiting past it.
			 */
			if (now_ms() >= deadline)
				return ferry_error_set(err, FERRY_ERR_TIMEOUT,
				    "tor's control port did not answer in "
				    "time");
			if ((r = fill(c, deadline, err)) != 0)
				return r;
			continue;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (rep->status / 100 == 6) {
			if (c->cb != NULL)
				c->cb(c->cbarg, rep);
			onion_reply_free(rep);
			continue;
		}
		if (out == NULL) {
			onion_reply_free(rep);
			return ferry_error_set(err, FERRY_ERR_TOR,
			    "tor sent a reply to no command");
		}
		*out = rep;
		return 0;
	}
}

/* Send all of buf[0..len) before deadline. */
static int
send_all(struct onion_ctl *c, const char *buf, size_t len, int64_t deadline,
    struct ferry_error *err)
{
	ssize_t n;
	int r;

	while (len > 0) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = wait_fd(c->fd, POLLOUT, deadline, err)) != 0)
				return r;
			continue;
		}
		return ferry_error_set(err, FERRY_ERR_TOR,
		    "control connection: %s", n < 0 ? strerror(errno) :
		    "nothing sent");
	}
	return 0;
}

/* The command's first word, for messages (never its arguments). */
static void
verb(const char *cmd, char *out, size_t outlen)
{
	size_t n = strcspn(cmd, " ");

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, cmd, n);
	out[n] = '\0';
}

int
onion_ctl_command(struct onion_ctl *c, const char *cmd,
    struct onion_reply **out, struct ferry_error *err)
{
	struct onion_reply *rep = NULL;
	size_t n = strlen(cmd);
	char name[32], *line;
	int64_t deadline;
	int r;

	verb(cmd, name, sizeof(name));
	if (c->broken)
		return ferry_error_set(err, FERRY_ERR_TOR, "%s: the control "
		    "connection failed earlier", name);
	if (n == 0 || strpbrk(cmd, "\r\n") != NULL ||
	    n > ONION_CTL_COMMAND_MAX)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: not one control command line", name);
	/* Locked memory, wiped on free: the line may hold a secret. */
	if ((line = sodium_malloc(n + 2)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	memcpy(line, cmd, n);
	line[n] = '\r';
	line[n + 1] = '\n';
	deadline = now_ms() + c->timeout_ms;
	r = send_all(c, line, n + 2, deadline, err);
	sodium_free(line);
	if (r == 0)
		r = next_reply(c, deadline, &rep, err);
	if (r != 0) {
		c->broken = 1;
		(void)ferry_error_set(err, r, "%s: failed", name);
		/* One code for a failed connection, whatever the cause. */
		if (r != FERRY_ERR_NOMEM && err != NULL)
			err->code = FERRY_ERR_TOR;
		return r == FERRY_ERR_NOMEM ? r : FERRY_ERR_TOR;
	}
	if (rep->status != 250) {
		r = ferry_error_set(err, FERRY_ERR_TOR, "%s: tor answered %d "
		    "%s", name, rep->status, rep->lines[rep->nlines - 1].text);
		onion_reply_free(rep);
		return r;
	}
	if (out != NULL)
		*out = rep;
	else
		onion_reply_free(rep);
	return 0;
}

int
onion_ctl_poll(struct onion_ctl *c, int timeout_ms, struct ferry_error *err)
{
	struct pollfd pfd;
	int r;

	if (c->broken)
		return ferry_error_set(err, FERRY_ERR_TOR,
		    "the control connection failed earlier");
	/* Events that came in with a command's reply are read already. */
	if (c->len > 0) {
		/* What is left is the start of an event: wait for the rest. */
		if ((r = next_reply(c, 0, NULL, err)) != 0) {
			c->broken = 1;
			return r;
		}
	}
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if ((r = poll(&pfd, 1, timeout_ms)) < 0 && errno != EINTR) {
		c->broken = 1;
		return ferry_error_set(err, FERRY_ERR_IO,
		    "control port: poll: %s", strerror(errno));
	}
	if (r <= 0)
		return 0;
	/* Something came: read once (it will not block), then parse. */
	if ((r = fill(c, now_ms(), err)) == 0)
		r = next_reply(c, 0, NULL, err);
	if (r != 0)
		c->broken = 1;
	return r;
}

/* ------------------------------------------------------------------ */
/* Authentication */

#define COOKIE_LEN 32
#define SYSTEM_UID_END 1000	/* Debian: uids below are system accounts */
#define NONCE_LEN 32
static const char server_const[] =
    "Tor safe cookie authentication server-to-controller hash";
static const char client_const[] =
    "Tor safe cookie authentication controller-to-server hash";

/* Which methods PROTOCOLINFO offered. */
struct methods {
	int null, safecookie, cookie, password;
	char list[128];
	char cookie_file[1024];
};

static void
parse_methods(const char *list, struct methods *m)
{
	const char *p = list;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		if (n == 4 && memcmp(p, "NULL", 4) == 0)
			m->null = 1;
		else if (n == 10 && memcmp(p, "SAFECOOKIE", 10) == 0)
			m->safecookie = 1;
		else if (n == 6 && memcmp(p, "COOKIE", 6) == 0)
			m->cookie = 1;
		else if (n == 14 && memcmp(p, "HASHEDPASSWORD", 14) == 0)
			m->password = 1;
		p += n;
		if (*p == ',')
			p++;
	}
}

static int
protocolinfo(struct onion_ctl *c, struct methods *m, struct ferry_error *err)
{
	struct onion_reply *rep = NULL;
	size_t i;
	int r, have_auth = 0;

	memset(m, 0, sizeof(*m));
	if ((r = onion_ctl_command(c, "PROTOCOLINFO 1", &rep, err)) != 0)
		return r;
	for (i = 0; i < rep->nlines; i++) {
		const char *t = rep->lines[i].text;

		if (strncmp(t, "AUTH ", 5) == 0) {
			if ((r = onion_kv(t, "METHODS", m->list,
			    sizeof(m->list), err)) != 0)
				goto out;
			parse_methods(m->list, m);
			r = onion_kv(t, "COOKIEFILE", m->cookie_file,
			    sizeof(m->cookie_file), err);
			if (r == FERRY_ERR_NOT_FOUND) {
				ferry_error_clear(err);
				m->cookie_file[0] = '\0';
			} else if (r != 0)
				goto out;
			have_auth = 1;
		} else if (strncmp(t, "VERSION ", 8) == 0) {
			/* Only for the log: a version too long is left out. */
			if (onion_kv(t, "Tor", c->version, sizeof(c->version),
			    err) != 0)
				c->version[0] = '\0';
			ferry_error_clear(err);
		}
	}
	r = have_auth ? 0 : ferry_error_set(err, FERRY_ERR_TOR,
	    "PROTOCOLINFO: tor's answer has no AUTH line");
 out:
	onion_reply_free(rep);
	return r;
}

/* Read the 32-byte cookie at path into locked memory. */
static int
read_cookie(const char *path, int named_by_tor, unsigned char *cookie,
    struct ferry_error *err)
{
	unsigned char extra;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO in its place must not hang the open. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return ferry_error_set(err, FERRY_ERR_IO, "tor's cookie file "
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != COOKIE_LEN) {
		r = ferry_error_set(err, FERRY_ERR_TOR, "tor's cookie file "
		    "%s: not a regular file of %d bytes", path, COOKIE_LEN);
		goto out;
	}
	/*
	 * A path the other end named is taken only if it looks like tor's
	 * own cookie: owned by root, a system account or us, and neither
	 * writable by others nor readable by everyone.  Anyone can listen
	 * on a TCP control port while tor is down and name a file they
	 * wrote, or one everyone can read, and so pass SAFECOOKIE's check
	 * of the server's hash.
	 */
	if (named_by_tor && ((st.st_uid != 0 && st.st_uid >= SYSTEM_UID_END &&
	    st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IRWXO)))) {
		r = ferry_error_set(err, FERRY_ERR_TOR, "the cookie file the "
		    "control port names, %s, is not one tor would write "
		    "(owner uid %lu, mode %03o): refusing to authenticate; "
		    "if it is right, name it in tor_cookie_file", path,
		    (unsigned long)st.st_uid, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	while (got < COOKIE_LEN) {
		n = read(fd, cookie + got, COOKIE_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != COOKIE_LEN || read(fd, &extra, 1) != 0)
		r = ferry_error_set(err, FERRY_ERR_TOR, "tor's cookie file "
		    "%s: not %d bytes", path, COOKIE_LEN);
 out:
	(void)close(fd);
	return r;
}

/* HMAC-SHA256 keyed by konst over cookie | cnonce | snonce. */
static void
safecookie_hash(const char *konst, const unsigned char *cookie,
    const unsigned char *cnonce, const unsigned char *snonce,
    unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)konst,
	    strlen(konst));
	crypto_auth_hmacsha256_update(&st, cookie, COOKIE_LEN);
	crypto_auth_hmacsha256_update(&st, cnonce, NONCE_LEN);
	crypto_auth_hmacsha256_update(&st, snonce, NONCE_LEN);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* Decode a hex value of exactly want bytes. */
static int
hexval(const char *text, const char *key, unsigned char *out, size_t want,
    struct ferry_error *err)
{
	char hex[2 * NONCE_LEN + 2];
	size_t n;
	int r;

	if ((r = onion_kv(text, key, hex, sizeof(hex), err)) != 0)
		return r;
	if (ferry_hex_decode(hex, strlen(hex), out, want, &n) != 0 ||
	    n != want)
		return ferry_error_set(err, FERRY_ERR_TOR, "AUTHCHALLENGE: "
		    "%s is not %zu bytes of hex", key, want);
	return 0;
}

/* The secrets of one SAFECOOKIE exchange, in locked memory. */
struct safecookie {
	unsigned char cookie[COOKIE_LEN];
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char line[sizeof("AUTHENTICATE ") + 2 * crypto_auth_hmacsha256_BYTES];
};

static int
auth_safecookie(struct onion_ctl *c, const char *path, int named_by_tor,
    struct ferry_error *err)
{
	unsigned char cnonce[NONCE_LEN], snonce[NONCE_LEN];
	unsigned char shash[crypto_auth_hmacsha256_BYTES];
	char cmd[sizeof("AUTHCHALLENGE SAFECOOKIE ") + 2 * NONCE_LEN];
	struct onion_reply *rep = NULL;
	struct safecookie *s;
	int r;

	if ((s = sodium_malloc(sizeof(*s))) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	if ((r = read_cookie(path, named_by_tor, s->cookie, err)) != 0)
		goto out;
	randombytes_buf(cnonce, sizeof(cnonce));
	memcpy(cmd, "AUTHCHALLENGE SAFECOOKIE ", 25);
	ferry_hex_encode(cnonce, sizeof(cnonce), cmd + 25);
	if ((r = onion_ctl_command(c, cmd, &rep, err)) != 0)
		goto out;
	if (strncmp(rep->lines[0].text, "AUTHCHALLENGE ", 14) != 0) {
		r = ferry_error_set(err, FERRY_ERR_TOR, "AUTHCHALLENGE: "
		    "tor's answer is not an AUTHCHALLENGE line");
		goto out;
	}
	if ((r = hexval(rep->lines[0].text, "SERVERHASH", shash,
	    sizeof(shash), err)) != 0 ||
	    (r = hexval(rep->lines[0].text, "SERVERNONCE", snonce,
	    sizeof(snonce), err)) != 0)
		goto out;
	/* Tor proves it knows the cookie before we prove anything. */
	safecookie_hash(server_const, s->cookie, cnonce, snonce, s->mac);
	if (sodium_memcmp(s->mac, shash, sizeof(shash)) != 0) {
		c->broken = 1;
		r = ferry_error_set(err, FERRY_ERR_TOR, "AUTHCHALLENGE: tor's "
		    "answer does not match the cookie in %s (is that this "
		    "tor's cookie file?)", path);
		goto out;
	}
	safecookie_hash(client_const, s->cookie, cnonce, snonce, s->mac);
	memcpy(s->line, "AUTHENTICATE ", 13);
	ferry_hex_encode(s->mac, sizeof(s->mac), s->line + 13);
	r = onion_ctl_command(c, s->line, NULL, err);
 out:
	onion_reply_free(rep);
	sodium_free(s);
	return r;
}

static int
auth_password(struct onion_ctl *c, const char *pw, size_t pwlen,
    struct ferry_error *err)
{
	size_t i, n = 0, cap = sizeof("AUTHENTICATE \"\"") + 2 * pwlen;
	char *line;
	int r;

	for (i = 0; i < pwlen; i++)
		if (pw[i] == '\0' || pw[i] == '\r' || pw[i] == '\n')
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "the control port password holds a NUL, CR or "
			    "LF byte");
	if ((line = sodium_malloc(cap)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	memcpy(line, "AUTHENTICATE \"", 14);
	n = 14;
	for (i = 0; i < pwlen; i++) {
		if (pw[i] == '"' || pw[i] == '\\')
			line[n++] = '\\';
		line[n++] = pw[i];
	}
	line[n++] = '"';
	line[n] = '\0';
	r = onion_ctl_command(c, line, NULL, err);
	sodium_free(line);
	return r;
}

int
onion_ctl_authenticate(struct onion_ctl *c, const char *cookie_file,
    const char *password, size_t password_len, struct ferry_error *err)
{
	struct methods m;
	int r;

	if ((r = protocolinfo(c, &m, err)) != 0)
		return r;
	/*
	 * SAFECOOKIE first, whenever tor offers it: in it alone the other
	 * end proves it is tor before anything is sent.  No other method
	 * is tried after it fails: that could be an impostor's doing.
	 */
	if (m.safecookie) {
		if (cookie_file == NULL && m.cookie_file[0] == '\0')
			return ferry_error_set(err, FERRY_ERR_TOR,
			    "PROTOCOLINFO: tor names no cookie file");
		return auth_safecookie(c, cookie_file != NULL ? cookie_file :
		    m.cookie_file, cookie_file == NULL, err);
	}
	if (password != NULL && m.password)
		return auth_password(c, password, password_len, err);
	if (m.null)
		return ferry_error_set(err, FERRY_ERR_TOR, "tor's control port "
		    "asks for no authentication: refusing, since whatever "
		    "listens there would be handed the onion key (set "
		    "CookieAuthentication 1 in the torrc)");
	return ferry_error_set(err, FERRY_ERR_TOR, "tor's control port takes "
	    "%s; Ferry needs SAFECOOKIE (CookieAuthentication 1)%s",
	    m.list, m.password ? " or the password (tor_password_file)" : "");
}

/* ------------------------------------------------------------------ */
/* Onion services */

/* Whether s is n characters of base32 (either case). */
static int
is_base32(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '2' && s[i] <= '7')))
			return 0;
	return 1;
}

/* Whether s is one word of harmless bytes (no space, quote or control). */
static int
is_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '\\' ||
		    (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

#define X25519_B32_LEN 52

int
onion_ctl_add_onion(struct onion_ctl *c, const struct onion_service_req *s,
    char service_id[ONION_SERVICE_ID_LEN + 1], struct ferry_error *err)
{
	struct onion_reply *rep = NULL;
	struct ferry_error e;
	size_t i, cap, n;
	char *line, id[ONION_SERVICE_ID_LEN + 2];
	int r = FERRY_ERR_TOR;

	if (!is_word(s->key_blob) || !is_word(s->target) ||
	    s->virt_port < 1 || s->virt_port > 65535)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "ADD_ONION: a key, port or target that is not one word");
	for (i = 0; i < s->nclient_keys; i++)
		if (!is_base32(s->client_keys[i], X25519_B32_LEN))
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "ADD_ONION: client key %zu is not %d base32 "
			    "characters", i + 1, X25519_B32_LEN);
	cap = 64 + strlen(s->key_blob) + strlen(s->target) +
	    s->nclient_keys * (sizeof(" ClientAuthV3=") + X25519_B32_LEN);
	if ((line = sodium_malloc(cap)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	n = (size_t)snprintf(line, cap, "ADD_ONION %s Flags=DiscardPK%s "
	    "Port=%u,%s", s->key_blob, s->nclient_keys > 0 ? ",V3Auth" : "",
	    s->virt_port, s->target);
	for (i = 0; i < s->nclient_keys && n < cap; i++)
		n += (size_t)snprintf(line + n, cap - n, " ClientAuthV3=%s",
		    s->client_keys[i]);
	if (n >= cap)
		r = ferry_error_set(err, FERRY_ERR_INTERNAL, "ADD_ONION: "
		    "the command does not fit");
	else
		r = onion_ctl_command(c, line, &rep, err);
	sodium_free(line);
	if (r != 0)
		return r;
	/* A local error: "not on this line" is no failure of the reply. */
	for (i = 0, r = FERRY_ERR_NOT_FOUND; i < rep->nlines &&
	    r == FERRY_ERR_NOT_FOUND; i++) {
		ferry_error_clear(&e);
		r = onion_kv(rep->lines[i].text, "ServiceID", id, sizeof(id),
		    &e);
	}
	if (r == 0 && is_base32(id, ONION_SERVICE_ID_LEN))
		memcpy(service_id, id, ONION_SERVICE_ID_LEN + 1);
	else
		r = ferry_error_set(err, FERRY_ERR_TOR, "ADD_ONION: %s",
		    r == FERRY_ERR_NOT_FOUND ? "tor's answer has no ServiceID" :
		    "the ServiceID tor answered is not a v3 onion address");
	onion_reply_free(rep);
	return r;
}

int
onion_ctl_del_onion(struct onion_ctl *c, const char *service_id,
    struct ferry_error *err)
{
	char line[sizeof("DEL_ONION ") + ONION_SERVICE_ID_LEN];

	if (!is_base32(service_id, ONION_SERVICE_ID_LEN))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "DEL_ONION: not a v3 service id");
	snprintf(line, sizeof(line), "DEL_ONION %s", service_id);
	return onion_ctl_command(c, line, NULL, err);
}

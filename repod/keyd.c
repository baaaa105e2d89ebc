/*
 * keyd: repod's online keys, in a process of their own (see keyd.h).
 *
 * The wire format over the socketpair, both ways: a 32-bit operation or
 * status, a 32-bit length, then that many bytes, all in host order (both
 * ends are the same binary on the same machine).  Requests: OP_SIGN_SNAPSHOT
 * or OP_SIGN_TIMESTAMP with the canonical bytes of a "signed" object.
 * Replies: ST_OK with {"keyid", "sig"} in JSON, or ST_REFUSED with the
 * reason as text.  The first message keyd sends is ST_OK with the key ids
 * it holds, or ST_REFUSED with why it could not open the keys.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/file.h"
#include "lib/json.h"
#include "lib/keyfile.h"
#include "lib/passphrase.h"
#include "lib/sandbox.h"
#include "lib/seckey.h"
#include "repod/keyd.h"

#define OP_SIGN_SNAPSHOT 1u
#define OP_SIGN_TIMESTAMP 2u
#define ST_OK 0u
#define ST_REFUSED 1u
#define REPLY_MAX (64u * 1024)
#define REPLY_TIMEOUT_MS (120 * 1000)	/* the first reply waits for Argon2id */
/* Slack on an expiry, for clocks read at slightly different times. */
#define EXPIRY_SLACK 300
#define TIMESTAMP_MAX (1u << 20)	/* the live timestamp.json, read once */

struct keyd {
	int sock;		/* -1 once the channel broke */
	pid_t pid;
	char keyid[2][FERRY_KEYID_HEXLEN + 1];	/* snapshot, timestamp */
	int64_t signed_max[2];	/* the highest version signed, by role */
};

/* --- both sides --------------------------------------------------------- */

static int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes; timeout_ms < 0 waits forever.  0, or -1. */
static int
read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	unsigned char *p = buf;
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	while (len > 0) {
		if (timeout_ms >= 0) {
			int pr = poll(&pfd, 1, timeout_ms);

			if (pr == -1 && errno == EINTR)
				continue;
			if (pr == 0)
				errno = ETIMEDOUT;
			if (pr <= 0)
				return -1;
		}
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			errno = EPIPE;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
send_msg(int fd, uint32_t op, const void *buf, size_t len)
{
	uint32_t hdr[2] = { op, (uint32_t)len };

	if (len > UINT32_MAX)
		return -1;
	if (write_all(fd, hdr, sizeof(hdr)) != 0 ||
	    (len > 0 && write_all(fd, buf, len) != 0))
		return -1;
	return 0;
}

/* A message of at most max bytes, NUL-terminated, into a new buffer. */
static int
recv_msg(int fd, uint32_t *op, unsigned char **buf, size_t *len, size_t max,
    int timeout_ms)
{
	uint32_t hdr[2];

	if (read_all(fd, hdr, sizeof(hdr), timeout_ms) != 0)
		return -1;
	if (hdr[1] > max) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((*buf = malloc((size_t)hdr[1] + 1)) == NULL)
		return -1;
	if (read_all(fd, *buf, hdr[1], timeout_ms) != 0) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	(*buf)[hdr[1]] = '\0';
	*op = hdr[0];
	*len = hdr[1];
	return 0;
}

/* --- the key process ---------------------------------------------------- */

struct kstate {
	struct ferry_seckey *key[2];	/* key[1] may be key[0] */
	int64_t last[2];		/* the highest version signed */
	int64_t lifetime[2];		/* the configured expiry */
	int64_t snap_floor;		/* the live snapshot's version */
};

/* Wipe and free the keys; key[1] may be key[0]. */
static void
free_keys(struct kstate *s)
{
	if (s->key[1] != s->key[0])
		ferry_seckey_free(s->key[1]);
	ferry_seckey_free(s->key[0]);
	s->key[0] = s->key[1] = NULL;
}

/* Close everything but the descriptors to keep. */
static void
close_others(int keep1, int keep2)
{
	struct dirent *de;
	DIR *d;
	int fd, dfd;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd > 2 && fd != dfd && fd != keep1 && fd != keep2)
			close(fd);
	}
	closedir(d);
}

/* The credentials file: a regular file nobody but its owner can read. */
static int
open_credentials(const char *path, struct ferry_error *err)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferry_error_set(err, FERRY_ERR_IO, "%s: not a regular "
		    "file", path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: must be"
		    " readable by its owner only (it is mode %04o): chmod 600 "
		    "it", path, (unsigned)(st.st_mode & 07777));
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		close(fd);
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: must be"
		    " owned by root or by uid %lu, which reads it (its owner "
		    "is uid %lu): chown it", path, (unsigned long)geteuid(),
		    (unsigned long)st.st_uid);
	}
	return fd;
}

static int
open_key(const char *path, const struct ferry_passphrase *pp,
    struct ferry_seckey **out, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	json_t *doc = NULL;
	int r;

	if ((r = ferry_keyfile_read(path, &doc, &e)) == 0)
		r = ferry_keyfile_open(doc, pp->buf, pp->len, out, &e);
	json_decref(doc);
	if (r != 0)
		return ferry_error_set(err, r, "%s: %s", path,
		    ferry_error_msg(&e));
	return 0;
}

/* Read the passphrases and open both keys. */
static int
load_keys(const struct repod_config *c, int pfd, struct kstate *s,
    struct ferry_error *err)
{
	struct ferry_passphrase *pp = NULL, *pp2 = NULL;
	struct ferry_error e = { 0 };
	int r;

	if (pfd < 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "no "
		    "passphrase for the online keys: give --passphrase-fd N "
		    "or a credentials file");
	if ((r = ferry_passphrase_read_fd(pfd, &pp, &e)) != 0) {
		r = ferry_error_set(err, r, "the online keys' passphrase: %s",
		    ferry_error_msg(&e));
		goto out;
	}
	if ((r = open_key(c->snapshot_key, pp, &s->key[0], err)) != 0)
		goto out;
	if (strcmp(c->snapshot_key, c->timestamp_key) == 0) {
		s->key[1] = s->key[0];
		goto out;
	}
	/*
	 * The first line first: when it opens the timestamp key too, no
	 * second line is read (on a terminal, or a pipe kept open, there
	 * may be none to come).  Only when it is not that key's is the
	 * next line the timestamp key's.
	 */
	{
		struct ferry_error e1 = { 0 };

		if ((r = open_key(c->timestamp_key, pp, &s->key[1], &e1)) !=
		    FERRY_ERR_PASSPHRASE) {
			if (r != 0)
				r = ferry_error_set(err, r, "%s",
				    ferry_error_msg(&e1));
			goto out;
		}
	}
	if ((r = ferry_passphrase_read_fd(pfd, &pp2, &e)) != 0) {
		r = ferry_error_set(err, FERRY_ERR_PASSPHRASE, "%s: the first "
		    "line's passphrase does not open it, and there is no "
		    "second line (%s)", c->timestamp_key, ferry_error_msg(&e));
		goto out;
	}
	r = open_key(c->timestamp_key, pp2, &s->key[1], err);
 out:
	ferry_passphrase_free(pp);
	ferry_passphrase_free(pp2);
	return r;
}

/*
 * Start from the versions the live state was signed with, read from the
 * tree before the filter closes the file system: a new key process does
 * not sign a version at or below what clients already have.  (Nothing is
 * live yet, or the tree cannot be read: from 0, as before.)
 */
static void
seed_versions(const struct repod_config *c, struct kstate *s)
{
	struct ferry_meta *ts = NULL;
	struct ferry_metafile mf;
	struct ferry_error err = { 0 };
	unsigned char *buf = NULL;
	char path[PATH_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s/metadata/timestamp.json", c->repo);
	if (ferry_file_read(path, TIMESTAMP_MAX, &buf, &len) != 0)
		return;
	if (ferry_meta_parse(buf, len, TIMESTAMP_MAX, &ts, &err) == 0 &&
	    ts->type == FERRY_META_TIMESTAMP) {
		s->last[1] = ts->version;
		if (ferry_meta_metafile(ts, "snapshot.json", &mf) == 0)
			s->last[0] = s->snap_floor = mf.version;
	}
	ferry_meta_free(ts);
	free(buf);
}

/*
 * Whether buf is a "signed" object keyd may sign for role t; the reason
 * in msg if not.
 */
static int
check_request(struct kstate *s, int t, const unsigned char *buf, size_t len,
    char *msg, size_t msglen)
{
	static const enum ferry_meta_type types[2] = { FERRY_META_SNAPSHOT,
	    FERRY_META_TIMESTAMP };
	struct ferry_error err = { 0 };
	struct ferry_meta *md = NULL;
	unsigned char *canon = NULL;
	json_t *doc = NULL;
	size_t clen;
	int64_t now = (int64_t)time(NULL);
	int ok = 0;

	if (ferry_json_parse(buf, len, KEYD_MAX_REQUEST, &doc, &err) != 0 ||
	    ferry_json_canonical(doc, &canon, &clen, &err) != 0) {
		snprintf(msg, msglen, "not JSON: %s", ferry_error_msg(&err));
		goto out;
	}
	if (clen != len || memcmp(canon, buf, len) != 0) {
		snprintf(msg, msglen, "not in canonical form");
		goto out;
	}
	if (ferry_meta_from_signed(doc, &md, &err) != 0) {
		snprintf(msg, msglen, "not valid metadata: %s",
		    ferry_error_msg(&err));
		goto out;
	}
	if (md->type != types[t]) {
		snprintf(msg, msglen, "a %s, not a %s",
		    ferry_meta_type_name(md->type),
		    ferry_meta_type_name(types[t]));
		goto out;
	}
	if (md->expires <= now ||
	    md->expires > now + s->lifetime[t] + EXPIRY_SLACK) {
		snprintf(msg, msglen, "expires %s, outside the %lld seconds "
		    "from now it may", md->expires_str,
		    (long long)s->lifetime[t]);
		goto out;
	}
	if (md->version <= s->last[t]) {
		snprintf(msg, msglen, "version %lld is not above %lld, signed "
		    "before", (long long)md->version, (long long)s->last[t]);
		goto out;
	}
	/* Nor a timestamp that would take clients back to an older snapshot. */
	if (md->type == FERRY_META_TIMESTAMP) {
		struct ferry_metafile mf;
		int64_t sv;

		sv = ferry_meta_metafile(md, "snapshot.json", &mf) == 0 ?
		    mf.version : 0;
		if (sv < 1 || sv < s->snap_floor) {
			snprintf(msg, msglen, "names snapshot version %lld, "
			    "below %lld, which is live", (long long)sv,
			    (long long)s->snap_floor);
			goto out;
		}
	}
	s->last[t] = md->version;
	ok = 1;
 out:
	ferry_meta_free(md);
	json_decref(doc);
	free(canon);
	return ok;
}

/*
 * Sign the request buf of kind op into sig (role *t), or say in msg why
 * not: 1 signed, 0 refused.
 */
static int
sign_request(struct kstate *s, uint32_t op, const unsigned char *buf,
    size_t len, int *t, char *sig, char *msg, size_t msglen)
{
	*t = op == OP_SIGN_SNAPSHOT ? 0 : op == OP_SIGN_TIMESTAMP ? 1 : -1;
	if (*t < 0) {
		snprintf(msg, msglen, "unknown request %u", op);
		return 0;
	}
	if (!check_request(s, *t, buf, len, msg, msglen))
		return 0;
	if (ferry_seckey_sign(s->key[*t], buf, len, sig) != 0) {
		snprintf(msg, msglen, "signing failed");
		return 0;
	}
	return 1;
}

static void
serve_requests(int sock, struct kstate *s)
{
	char msg[512], sig[FERRY_ED25519_SIG_HEXLEN + 1], *out;
	unsigned char *buf;
	uint32_t op;
	size_t len;
	json_t *rep;
	int t, ok;

	while (recv_msg(sock, &op, &buf, &len, KEYD_MAX_REQUEST, -1) == 0) {
		ok = sign_request(s, op, buf, len, &t, sig, msg, sizeof(msg));
		free(buf);
		if (!ok) {
			if (send_msg(sock, ST_REFUSED, msg, strlen(msg)) != 0)
				break;
			continue;
		}
		rep = json_pack("{s:s, s:s}", "keyid",
		    ferry_seckey_keyid(s->key[t]), "sig", sig);
		out = rep != NULL ? json_dumps(rep, JSON_COMPACT) : NULL;
		json_decref(rep);
		if (out == NULL || send_msg(sock, ST_OK, out, strlen(out)) != 0) {
			free(out);
			break;
		}
		free(out);
	}
}

/* Wipe whatever keys are open, tell the parent why not, and exit. */
static void __attribute__((noreturn))
refuse(int sock, struct kstate *s, int code, const char *why)
{
	char msg[700];
	int n;

	free_keys(s);
	/* "CODE MESSAGE": the requester reports the code it was given. */
	n = snprintf(msg, sizeof(msg), "%d %s", code < 0 ? code :
	    FERRY_ERR_INTERNAL, why);
	(void)send_msg(sock, ST_REFUSED, msg, n < 0 ? 0 :
	    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(1);
}

static void __attribute__((noreturn))
keyd_main(const struct repod_config *c, int sock, int pfd, pid_t parent)
{
	struct ferry_error err = { 0 };
	struct kstate s;
	json_t *ids;
	char *out, why[600];

	memset(&s, 0, sizeof(s));
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	/* A parent gone before that was set: nobody is left to serve. */
	if (getppid() != parent)
		_exit(1);
	(void)prctl(PR_SET_NAME, "ferry-keyd", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	close_others(sock, pfd);
	if (ferry_sandbox_nodump(&err) != 0)
		refuse(sock, &s, err.code, ferry_error_msg(&err));
	s.lifetime[0] = c->snapshot_expiry;
	s.lifetime[1] = c->timestamp_expiry;
	/* The snapshot key may be open when the timestamp key fails. */
	if (load_keys(c, pfd, &s, &err) != 0)
		refuse(sock, &s, err.code, ferry_error_msg(&err));
	seed_versions(c, &s);
	if (pfd >= 0 && pfd != STDIN_FILENO)
		close(pfd);
	/*
	 * From here on keyd only reads requests, signs, replies and exits:
	 * any other system call kills it (lib/sandbox.h).  Without the
	 * filter it does not serve, as the signer does not run.
	 */
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, &err) != 0) {
		snprintf(why, sizeof(why), "cannot sandbox the key process "
		    "(%s): refusing to run", ferry_error_msg(&err));
		refuse(sock, &s, err.code, why);
	}
	ids = json_pack("{s:s, s:s}", "snapshot", ferry_seckey_keyid(s.key[0]),
	    "timestamp", ferry_seckey_keyid(s.key[1]));
	out = ids != NULL ? json_dumps(ids, JSON_COMPACT) : NULL;
	json_decref(ids);
	if (out == NULL || send_msg(sock, ST_OK, out, strlen(out)) != 0) {
		free(out);
		free_keys(&s);
		_exit(1);
	}
	free(out);
	serve_requests(sock, &s);
	free_keys(&s);
	_exit(0);
}

/* --- the requesting side ------------------------------------------------ */

static int
read_ready(struct keyd *k, struct ferry_error *err)
{
	unsigned char *buf = NULL;
	const char *id;
	uint32_t st;
	size_t len;
	json_t *doc = NULL;
	int r, i;

	if (recv_msg(k->sock, &st, &buf, &len, REPLY_MAX,
	    REPLY_TIMEOUT_MS) != 0)
		return ferry_error_set(err, FERRY_ERR_IO, "the key process "
		    "did not start: %s", strerror(errno));
	if (st != ST_OK) {
		char *msg;
		long code = strtol((char *)buf, &msg, 10);

		/* Its own code, when the message starts with one. */
		if (msg == (char *)buf || *msg != ' ' || code >= 0 ||
		    code <= FERRY_ERR__LAST)
			r = ferry_error_set(err, FERRY_ERR_INTERNAL, "the key "
			    "process refused: %s", (char *)buf);
		else
			r = ferry_error_set(err, (int)code, "%s", msg + 1);
		goto out;
	}
	r = ferry_error_set(err, FERRY_ERR_INTERNAL, "the key process "
	    "answered nonsense");
	if ((doc = json_loadb((char *)buf, len, 0, NULL)) == NULL)
		goto out;
	for (i = 0; i < 2; i++) {
		id = json_string_value(json_object_get(doc, i == 0 ?
		    "snapshot" : "timestamp"));
		if (id == NULL || strlen(id) != FERRY_KEYID_HEXLEN)
			goto out;
		memcpy(k->keyid[i], id, FERRY_KEYID_HEXLEN + 1);
	}
	ferry_error_clear(err);
	r = 0;
 out:
	json_decref(doc);
	free(buf);
	return r;
}

int
keyd_start(const struct repod_config *c, struct keyd **out,
    struct ferry_error *err)
{
	struct keyd *k;
	int sv[2], pfd = c->passphrase_fd, r;
	pid_t parent;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return FERRY_ERR_NOMEM;
	k->sock = -1;
	if (pfd < 0 && c->credentials != NULL &&
	    (pfd = open_credentials(c->credentials, err)) < 0) {
		free(k);
		return pfd;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "socketpair: %s",
		    strerror(errno));
		goto fail;
	}
	fflush(NULL);
	parent = getpid();
	if ((k->pid = fork()) == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "fork: %s",
		    strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (k->pid == 0) {
		close(sv[0]);
		keyd_main(c, sv[1], pfd, parent);
	}
	close(sv[1]);
	k->sock = sv[0];
	/* The passphrase is the key process's alone now. */
	if (pfd >= 0 && pfd != c->passphrase_fd)
		close(pfd);
	pfd = -1;
	if ((r = read_ready(k, err)) != 0)
		goto fail;
	*out = k;
	return 0;
 fail:
	if (pfd >= 0 && pfd != c->passphrase_fd)
		close(pfd);
	keyd_stop(k);
	return r;
}

const char *
keyd_keyid(const struct keyd *k, enum ferry_meta_type t)
{
	return t == FERRY_META_SNAPSHOT ? k->keyid[0] :
	    t == FERRY_META_TIMESTAMP ? k->keyid[1] : NULL;
}

pid_t
keyd_pid(const struct keyd *k)
{
	return k->pid;
}

int
keyd_usable(struct keyd *k)
{
	int status;

	if (k->pid > 0 && waitpid(k->pid, &status, WNOHANG) == k->pid) {
		k->pid = 0;	/* reaped: dead, and not a zombie to kill(2) */
		if (k->sock != -1)
			close(k->sock);
		k->sock = -1;
	}
	return k->sock != -1 && k->pid > 0;
}

int64_t
keyd_signed(const struct keyd *k, enum ferry_meta_type t)
{
	return t == FERRY_META_SNAPSHOT ? k->signed_max[0] :
	    t == FERRY_META_TIMESTAMP ? k->signed_max[1] : 0;
}

int
keyd_sign(struct keyd *k, json_t *signed_obj, struct ferry_meta **out,
    struct ferry_error *err)
{
	struct ferry_meta *md = NULL;
	unsigned char *canon = NULL, *rep = NULL;
	const char *keyid, *sig, *want;
	json_t *doc = NULL;
	uint32_t op, st;
	size_t clen, rlen;
	int r, t;

	if ((r = ferry_meta_from_signed(signed_obj, &md, err)) != 0)
		return r;
	op = md->type == FERRY_META_SNAPSHOT ? OP_SIGN_SNAPSHOT :
	    md->type == FERRY_META_TIMESTAMP ? OP_SIGN_TIMESTAMP : 0;
	if (op == 0) {
		r = ferry_error_set(err, FERRY_ERR_META_TYPE, "the online keys "
		    "sign snapshot and timestamp only");
		goto out;
	}
	if (k->sock == -1) {
		r = ferry_error_set(err, FERRY_ERR_IO, "the key process: its "
		    "channel broke on an earlier request");
		goto out;
	}
	if ((r = ferry_json_canonical(signed_obj, &canon, &clen, err)) != 0)
		goto out;
	if (send_msg(k->sock, op, canon, clen) != 0 ||
	    recv_msg(k->sock, &st, &rep, &rlen, REPLY_MAX,
	    REPLY_TIMEOUT_MS) != 0) {
		r = ferry_error_set(err, FERRY_ERR_IO, "the key process: %s",
		    errno == ETIMEDOUT ? "no answer in time" : strerror(errno));
		/*
		 * A late answer would be read as the next request's: the
		 * channel is useless now.  Closing it makes keyd exit.
		 */
		close(k->sock);
		k->sock = -1;
		goto out;
	}
	if (st != ST_OK) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "the key "
		    "process refused to sign %s v%lld: %s",
		    ferry_meta_type_name(md->type), (long long)md->version,
		    (char *)rep);
		goto out;
	}
	want = keyd_keyid(k, md->type);
	doc = json_loadb((char *)rep, rlen, 0, NULL);
	keyid = json_string_value(json_object_get(doc, "keyid"));
	sig = json_string_value(json_object_get(doc, "sig"));
	if (keyid == NULL || sig == NULL || strcmp(keyid, want) != 0) {
		r = ferry_error_set(err, FERRY_ERR_INTERNAL, "the key process "
		    "answered nonsense");
		goto out;
	}
	/* Signed, whatever becomes of it: keyd will not sign it again. */
	t = md->type == FERRY_META_SNAPSHOT ? 0 : 1;
	if (md->version > k->signed_max[t])
		k->signed_max[t] = md->version;
	if ((r = ferry_meta_add_signature(md, keyid, sig, err)) != 0)
		goto out;
	*out = md;
	md = NULL;	/* transferred */
 out:
	json_decref(doc);
	free(canon);
	free(rep);
	ferry_meta_free(md);
	return r;
}

void
keyd_stop(struct keyd *k)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int status, i;
	pid_t p;

	if (k == NULL)
		return;
	if (k->sock != -1)
		close(k->sock);	/* keyd reads EOF and exits */
	if (k->pid <= 0)
		goto out;
	/*
	 * Up to 2 s to go by itself; one still starting (reading a
	 * passphrase that does not come) is killed: it has nothing to save.
	 */
	for (i = 0; i < 200; i++) {
		if ((p = waitpid(k->pid, &status, WNOHANG)) == k->pid ||
		    (p == -1 && errno != EINTR))
			goto out;
		nanosleep(&tick, NULL);
	}
	(void)kill(k->pid, SIGKILL);
	while (waitpid(k->pid, &status, 0) == -1 && errno == EINTR)
		;
 out:
	free(k);
}

/*
 * The onion process of ferry-repod serve --onion (repod/onion.h): it
 * holds the onion service's key, keeps a control connection to tor, and
 * publishes the HTTP listener over it.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/passphrase.h"
#include "onion/control.h"
#include "onion/hskey.h"
#include "repod/onion.h"

#define BACKOFF_MIN 1
#define BACKOFF_MAX 30
#define POLL_MS 500
#define CLIENTS_EVERY 2		/* seconds between looks at the clients */
#define CLIENT_FILE_MAX 256

struct repod_onion_status *
repod_onion_status_new(void)
{
	void *p;

	p = mmap(NULL, sizeof(struct repod_onion_status),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void
repod_onion_status_free(struct repod_onion_status *s)
{
	if (s != NULL)
		(void)munmap(s, sizeof(*s));
}

const char *
repod_onion_state_name(int state)
{
	switch (state) {
	case REPOD_ONION_CONNECTING:
		return "connecting";
	case REPOD_ONION_ADDED:
		return "added";
	case REPOD_ONION_UPLOADED:
		return "published";
	default:
		return "off";
	}
}

static void
set_state(struct repod_onion_status *st, int state)
{
	if (atomic_load(&st->state) == state)
		return;
	atomic_store(&st->since, (long long)time(NULL));
	atomic_store(&st->state, state);
}

/* A path under the onion directory. */
static int
onion_path(const struct repod_config *c, const char *leaf, char *out,
    size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", c->onion_dir, leaf);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* The service key: loaded, or made (with its directory) on first use. */
static int
load_key(const struct repod_config *c, struct onion_hskey **out,
    struct ferry_error *err)
{
	struct onion_hskey *k = NULL;
	char path[4096];
	int r;

	if (onion_path(c, "hs_ed25519_secret_key", path, sizeof(path)) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: path too long", c->onion_dir);
	r = onion_hskey_load(path, out, err);
	if (r != FERRY_ERR_NOT_FOUND)
		return r;
	ferry_error_clear(err);
	if (mkdir(c->onion_dir, 0700) != 0 && errno != EEXIST)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
		    c->onion_dir, strerror(errno));
	if ((r = onion_hskey_generate(&k, err)) != 0)
		return r;
	if ((r = onion_hskey_save_new(k, path, err)) != 0) {
		onion_hskey_free(k);
		return r;
	}
	repod_log("info", "made an onion service key", "file", path,
	    "address", onion_hskey_address(k), NULL);
	*out = k;
	return 0;
}

/* The authorized clients, as base32 keys, and whether they changed. */
struct clients {
	char (*keys)[ONION_X25519_B32_LEN + 1];
	size_t n;
	unsigned char digest[crypto_generichash_BYTES];
	int error;		/* the last read failed: publish nothing */
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read one NAME.auth file's key into out. */
static int
read_client(int dfd, const char *name, char *out, struct ferry_error *err)
{
	unsigned char pub[32];
	char buf[CLIENT_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, r;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY | O_NONBLOCK)) < 0)
		return ferry_error_set(err, FERRY_ERR_IO, "authorized_clients/"
		    "%s: %s", name, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd);
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "authorized_clients/%s: not a regular file", name);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n < 0 || n >= (ssize_t)sizeof(buf) - 1)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "authorized_clients/%s: %s", name, n < 0 ?
		    strerror(errno) : "too long");
	buf[n] = '\0';
	if ((r = onion_client_key_parse(buf, pub, err)) != 0) {
		ferry_error_clear(err);
		return ferry_error_set(err, r, "authorized_clients/%s: not "
		    "\"descriptor:x25519:\" and a base32 key", name);
	}
	onion_client_key_b32(pub, out);
	return 0;
}

/*
 * Read DIR/authorized_clients/ *.auth (tor's layout) into cl, sorted by
 * name.  A file that is not a client key is an error, never skipped:
 * skipping could publish to fewer clients than meant, or none.
 */
static int
read_clients(const struct repod_config *c, struct clients *cl,
    struct ferry_error *err)
{
	char path[4096], **names = NULL;
	size_t nnames = 0, i, len;
	struct dirent *de;
	DIR *d = NULL;
	int r = 0;

	cl->n = 0;
	if (onion_path(c, "authorized_clients", path, sizeof(path)) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: path too long", c->onion_dir);
	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? 0 : ferry_error_set(err,
		    FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".auth") != 0)
			continue;
		if (nnames == REPOD_ONION_MAX_CLIENTS) {
			r = ferry_error_set(err, FERRY_ERR_TOO_LARGE, "%s: "
			    "more than %d clients", path,
			    REPOD_ONION_MAX_CLIENTS);
			goto out;
		}
		if (names == NULL && (names = calloc(REPOD_ONION_MAX_CLIENTS,
		    sizeof(*names))) == NULL) {
			r = ferry_error_set(err, FERRY_ERR_NOMEM,
			    "out of memory");
			goto out;
		}
		if ((names[nnames] = strdup(de->d_name)) == NULL) {
			r = ferry_error_set(err, FERRY_ERR_NOMEM,
			    "out of memory");
			goto out;
		}
		nnames++;
	}
	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), name_cmp);
	for (i = 0; i < nnames; i++) {
		if ((r = read_client(dirfd(d), names[i], cl->keys[i],
		    err)) != 0)
			goto out;
		cl->n = i + 1;
	}
 out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		(void)closedir(d);
	return r;
}

/* Read the clients again: 1 if the list changed, 0 if not. */
static int
clients_changed(const struct repod_config *c, struct clients *cl)
{
	unsigned char digest[crypto_generichash_BYTES];
	struct ferry_error err;
	int was_error = cl->error;

	ferry_error_clear(&err);
	if (read_clients(c, cl, &err) != 0) {
		if (!was_error)
			repod_log("error", "cannot read the authorized clients; "
			    "the onion service is withdrawn", "error",
			    ferry_error_msg(&err), NULL);
		cl->error = 1;
		cl->n = 0;
		return !was_error;
	}
	cl->error = 0;
	crypto_generichash(digest, sizeof(digest),
	    (const unsigned char *)cl->keys, cl->n * sizeof(cl->keys[0]),
	    NULL, 0);
	if (!was_error && sodium_memcmp(digest, cl->digest,
	    sizeof(digest)) == 0)
		return 0;
	memcpy(cl->digest, digest, sizeof(digest));
	return 1;
}

/* The onion process's state across connections. */
struct onion_run {
	const struct repod_config *c;
	const char *target;
	struct repod_onion_status *st;
	struct onion_hskey *key;
	struct clients cl;
	struct onion_ctl *ctl;
	char service_id[ONION_SERVICE_ID_LEN + 1];	/* "": none */
};

/* HS_DESC UPLOADED for our address: the service can be reached. */
static void
on_event(void *arg, const struct onion_reply *ev)
{
	struct onion_run *o = arg;
	const char *t = ev->lines[0].text, *addr;
	size_t n;

	if (strncmp(t, "HS_DESC UPLOADED ", 17) != 0)
		return;
	addr = t + 17;
	n = strlen(o->st->address);
	if (strncmp(addr, o->st->address, n) == 0 &&
	    (addr[n] == ' ' || addr[n] == '\0') &&
	    atomic_load(&o->st->state) == REPOD_ONION_ADDED) {
		set_state(o->st, REPOD_ONION_UPLOADED);
		repod_log("info", "onion service descriptor uploaded",
		    "address", o->st->address, NULL);
	}
}

/* The control port password, from c->tor_password_file; NULL if none. */
static int
read_password(const struct repod_config *c, struct ferry_passphrase **out,
    struct ferry_error *err)
{
	struct stat st;
	int fd, r;

	*out = NULL;
	if (c->tor_password_file == NULL)
		return 0;
	/* Not a FIFO (which would hang us), not through a symbolic link. */
	if ((fd = open(c->tor_password_file, O_RDONLY | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK | O_NOFOLLOW)) < 0)
		return ferry_error_set(err, FERRY_ERR_IO, "%s: %s",
		    c->tor_password_file, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0 || fcntl(fd, F_SETFL, 0) != 0) {
		(void)close(fd);
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: must "
		    "be a regular file readable by its owner only",
		    c->tor_password_file);
	}
	r = ferry_passphrase_read_fd(fd, out, err);
	(void)close(fd);
	return r;
}

/* Connect, authenticate, and ask for descriptor events. */
static int
connect_tor(struct onion_run *o, struct ferry_error *err)
{
	struct ferry_passphrase *pw = NULL;
	int r;

	if ((r = onion_ctl_open(o->c->tor_control, 0, &o->ctl, err)) != 0)
		return r;
	onion_ctl_set_event_cb(o->ctl, on_event, o);
	if ((r = read_password(o->c, &pw, err)) == 0)
		r = onion_ctl_authenticate(o->ctl, o->c->tor_cookie_file,
		    pw != NULL ? pw->buf : NULL, pw != NULL ? pw->len : 0,
		    err);
	ferry_passphrase_free(pw);
	if (r == 0)
		r = onion_ctl_command(o->ctl, "SETEVENTS HS_DESC", NULL, err);
	if (r != 0) {
		onion_ctl_close(o->ctl);
		o->ctl = NULL;
	}
	return r;
}

/* ADD_ONION with the current clients; the key only in locked memory. */
static int
publish(struct onion_run *o, struct ferry_error *err)
{
	const char *keys[REPOD_ONION_MAX_CLIENTS];
	struct onion_service_req req;
	char *blob, id[ONION_SERVICE_ID_LEN + 1], n[16];
	size_t i;
	int r;

	if (o->cl.error)
		return 0;
	if (o->c->onion_client_auth && o->cl.n == 0) {
		repod_log("error", "onion_client_auth is on and no client is "
		    "authorized: nothing is published", "dir",
		    o->c->onion_dir, NULL);
		return 0;
	}
	if ((blob = sodium_malloc(ONION_KEY_BLOB_LEN)) == NULL)
		return ferry_error_set(err, FERRY_ERR_NOMEM, "out of memory");
	(void)onion_hskey_blob(o->key, blob, ONION_KEY_BLOB_LEN);
	for (i = 0; i < o->cl.n; i++)
		keys[i] = o->cl.keys[i];
	memset(&req, 0, sizeof(req));
	req.key_blob = blob;
	req.virt_port = o->c->onion_port;
	req.target = o->target;
	req.client_keys = keys;
	req.nclient_keys = o->c->onion_client_auth ? o->cl.n : 0;
	r = onion_ctl_add_onion(o->ctl, &req, id, err);
	sodium_free(blob);
	if (r != 0)
		return r;
	/*
	 * The name tor derived must be our key's own (not the status
	 * page's copy, which the HTTP process could write over).
	 */
	if (strcmp(id, onion_hskey_address(o->key)) != 0)
		return ferry_error_set(err, FERRY_ERR_TOR, "ADD_ONION: tor "
		    "published %s, not %s", id, onion_hskey_address(o->key));
	memcpy(o->service_id, id, sizeof(id));
	atomic_store(&o->st->clients, (unsigned)req.nclient_keys);
	atomic_fetch_add(&o->st->publishes, 1);
	set_state(o->st, REPOD_ONION_ADDED);
	snprintf(n, sizeof(n), "%zu", req.nclient_keys);
	repod_log("info", "onion service added", "address",
	    o->st->address, "port", o->target, "clients", n, "tor",
	    onion_ctl_tor_version(o->ctl), NULL);
	return 0;
}

static int
withdraw(struct onion_run *o, struct ferry_error *err)
{
	int r = 0;

	if (o->service_id[0] != '\0' && o->ctl != NULL)
		r = onion_ctl_del_onion(o->ctl, o->service_id, err);
	o->service_id[0] = '\0';
	atomic_store(&o->st->clients, 0);
	return r;
}

/* SIGTERM or SIGINT pending: take it. */
static int
stop_requested(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sig = sigtimedwait(&set, NULL, &zero);
	return sig == SIGTERM || sig == SIGINT;
}

/* Sleep up to secs, waking for a stop: 1 if stopped. */
static int
nap(int64_t secs)
{
	struct timespec ts = { (time_t)secs, 0 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sig = sigtimedwait(&set, NULL, &ts);
	return sig == SIGTERM || sig == SIGINT;
}

/*
 * One control connection's life: publish, then watch the connection and
 * the clients until either fails or a stop comes.  1 when stopped.
 */
static int
serve_connection(struct onion_run *o)
{
	struct ferry_error err;
	time_t next_look = time(NULL) + CLIENTS_EVERY;
	int r;

	ferry_error_clear(&err);
	(void)clients_changed(o->c, &o->cl);
	if ((r = publish(o, &err)) != 0) {
		repod_log("error", "cannot publish the onion service",
		    "error", ferry_error_msg(&err), NULL);
		return 0;
	}
	for (;;) {
		if (stop_requested())
			return 1;
		ferry_error_clear(&err);
		if (onion_ctl_poll(o->ctl, POLL_MS, &err) != 0) {
			repod_log("warning", "lost tor's control connection",
			    "error", ferry_error_msg(&err), NULL);
			o->service_id[0] = '\0';
			return 0;
		}
		if (time(NULL) < next_look)
			continue;
		next_look = time(NULL) + CLIENTS_EVERY;
		if (!clients_changed(o->c, &o->cl))
			continue;
		repod_log("info", "the authorized clients changed; publishing "
		    "again", NULL);
		if (withdraw(o, &err) != 0 || publish(o, &err) != 0) {
			repod_log("error", "cannot publish the onion service",
			    "error", ferry_error_msg(&err), NULL);
			return 0;
		}
		if (o->service_id[0] == '\0')
			set_state(o->st, REPOD_ONION_CONNECTING);
	}
}

void
repod_onion_main(const struct repod_config *c, const char *target,
    struct repod_onion_status *st)
{
	struct onion_run o;
	struct ferry_error err;
	int64_t backoff = BACKOFF_MIN;
	unsigned long long published;
	int stopped = 0, logged = 0;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	memset(&o, 0, sizeof(o));
	o.c = c;
	o.target = target;
	o.st = st;
	ferry_error_clear(&err);
	if (sodium_init() < 0 || (o.cl.keys = calloc(REPOD_ONION_MAX_CLIENTS,
	    sizeof(*o.cl.keys))) == NULL || load_key(c, &o.key, &err) != 0) {
		repod_log("error", "no onion service key", "error",
		    ferry_error_msg(&err), NULL);
		_exit(REPOD_EXIT_SETUP);
	}
	memcpy(st->address, onion_hskey_address(o.key), ONION_ADDR_LEN + 1);
	set_state(st, REPOD_ONION_CONNECTING);
	while (!stopped) {
		ferry_error_clear(&err);
		if (connect_tor(&o, &err) != 0) {
			/* Said once per outage, not at every retry. */
			if (!logged)
				repod_log("warning", "cannot reach tor's "
				    "control port; retrying", "control",
				    c->tor_control, "error",
				    ferry_error_msg(&err), NULL);
			logged = 1;
			stopped = nap(backoff);
			backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
			    backoff * 2;
			continue;
		}
		logged = 0;
		published = atomic_load(&st->publishes);
		stopped = serve_connection(&o);
		if (stopped) {
			ferry_error_clear(&err);
			(void)withdraw(&o, &err);
		}
		onion_ctl_close(o.ctl);
		o.ctl = NULL;
		set_state(st, REPOD_ONION_CONNECTING);
		/* A connection that published starts the backoff afresh. */
		if (atomic_load(&st->publishes) != published)
			backoff = BACKOFF_MIN;
		if (!stopped)
			stopped = nap(backoff);
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	repod_log("info", "onion service withdrawn", "address", st->address,
	    NULL);
	set_state(st, REPOD_ONION_OFF);
	onion_hskey_free(o.key);
	free(o.cl.keys);
	_exit(0);
}

/* ferry-repod, the origin server: shared by main and the cmd_*.c verbs. */
#ifndef FERRY_REPOD_H
#define FERRY_REPOD_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "lib/err.h"

#define REPOD_MAX_LISTEN 8

/*
 * The configuration: built-in defaults, then DIR/repod.json (or the file
 * of --config), then the command line.  docs/repod.md documents every
 * field; schemas/repod-config.schema.json describes the file (its
 * fixtures go through ferry-repod too, in tests/e2e/repod_publish.sh).
 */
struct repod_config {
	char *dir;		/* the state directory (-d) */
	char *repo;		/* the served tree: DIR/repo */
	char *catalog;		/* the SQLite catalog: DIR/catalog.db */
	char *listen[REPOD_MAX_LISTEN];	/* "127.0.0.1:8080", "[::1]:8080" */
	size_t nlisten;
	char *user;		/* drop to this user when started as root */
	unsigned threads;	/* 0: one per CPU */
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned timeout;	/* seconds a connection may stay idle */
	unsigned header_timeout;	/* seconds to send a request head */
	unsigned access_log;	/* 1: a log line per request */
	size_t conn_memory;	/* bytes of buffer per connection */
	unsigned timestamp_max_age;	/* Cache-Control for timestamp.json */
	char *snapshot_key;	/* the online keys' files */
	char *timestamp_key;
	char *credentials;	/* a file with the keys' passphrase */
	int passphrase_fd;	/* or a descriptor to read it from; -1 */
	int64_t snapshot_expiry;	/* seconds */
	int64_t timestamp_expiry;
	int64_t snapshot_refresh;	/* re-sign when this much is left */
	int64_t timestamp_refresh;
	unsigned retain_states;	/* published states kept for slow clients */
	int64_t retain_seconds;	/* and states younger than this */
	/* The onion service (repod/onion.h, docs/onion.md). */
	unsigned onion;		/* 1: publish the listener over tor */
	unsigned onion_client_auth;	/* 1: only authorized clients */
	unsigned onion_port;	/* the port onion clients connect to */
	char *onion_dir;	/* the key and authorized_clients/ */
	char *onion_target;	/* what tor connects to; NULL: listen[0] */
	char *tor_control;	/* tor's control port */
	char *tor_cookie_file;	/* NULL: the file tor names */
	char *tor_password_file;	/* NULL: cookie authentication */
	unsigned listen_from_flags;	/* --listen seen so far */
};

/* Defaults for everything but dir; 0 or FERRY_ERR_NOMEM. */
int repod_config_init(struct repod_config *c, const char *dir);

/*
 * Read the configuration file path (NULL: DIR/repod.json, which may be
 * absent) over the defaults.  An unknown key, a wrong type or a value out
 * of range is an error naming the file and the key.
 */
int repod_config_load(struct repod_config *c, const char *path,
    struct ferry_error *err);

/*
 * Apply a command-line option that mirrors a configuration key ("listen",
 * "timeout", ...): the same parsing and checks as the file.  1 if opt is
 * not such an option, 0 when applied, or an error.
 */
int repod_config_set(struct repod_config *c, const char *key,
    const char *value, struct ferry_error *err);

/* Checks across keys, once the file and flags are applied. */
int repod_config_check(const struct repod_config *c, struct ferry_error *err);

void repod_config_free(struct repod_config *c);

/* A duration: "90", "90s", "15m", "6h", "7d"; 0 or -1. */
int repod_parse_duration(const char *s, int64_t *out);

/* A listen address, "IPv4:PORT" or "[IPv6]:PORT", into ss; 0 or -1. */
int repod_parse_addr(const char *s, struct sockaddr_storage *ss,
    socklen_t *len);

/* Print "ferry-repod: what: detail" on stderr; returns 1. */
int repod_fail(const char *what, const struct ferry_error *err);
int repod_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A log line on stderr in logfmt: "ts=... level=info msg=... k=v ...".
 * Values with spaces, quotes or '=' are quoted; control bytes escaped.
 * kv is a NULL-terminated list of key, value pairs.
 */
void repod_log(const char *level, const char *msg, ...)
    __attribute__((sentinel));

/* A descriptor number from option opt's argument s, or -1 after saying why. */
int repod_parse_fd(const char *opt, const char *s);

/*
 * The common options of every verb that works on a state directory:
 * -d DIR, -c FILE and --help.  Each verb has its own table too; see
 * ferry-repod.c.
 */
int cmd_init(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_refresh(int argc, char **argv);
int cmd_onion(int argc, char **argv);

#endif

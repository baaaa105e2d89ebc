/* ferry, the device client: shared by main and the cmd_*.c verbs. */
#ifndef FERRY_CLIENT_H
#define FERRY_CLIENT_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/updater.h"

#define FERRY_DEFAULT_DIR "/var/lib/ferry"
#define FERRY_MAX_MIRRORS 16

/* The client's state directory and what its config.json says. */
struct client {
	const char *dir;		/* DIR: config.json, metadata/, targets/ */
	char *metadata_dir;
	char *targets_dir;
	char *mirrors[FERRY_MAX_MIRRORS];
	size_t nmirrors;
	char *target_mirrors[FERRY_MAX_MIRRORS];
	size_t ntarget_mirrors;
	char *proxy;
	char *onion;		/* the pinned onion address, NAME.onion */
	const char *tor;	/* --tor for this run: "HOST:PORT", or NULL */
	char *tor_proxy;	/* its socks5h:// URL, until it is proxy */
	int verbose;
};

/* Tor's usual SOCKS port, for --tor without an address. */
#define FERRY_TOR_DEFAULT "127.0.0.1:9050"

/*
 * "socks5h://ADDR" for --tor[=ADDR] (ADDR: HOST:PORT, FERRY_TOR_DEFAULT
 * if NULL or empty) into a new string; NULL if out of memory.
 */
char *client_tor_proxy(const char *addr);

/*
 * Check the mirrors and target mirrors against the pinned onion address:
 * with a pin, every .onion mirror must be that address; with need_proxy
 * (init), a .onion mirror needs a proxy too.  0, or an error naming the
 * URL.
 */
int client_check_mirrors(const struct client *c, int need_proxy,
    struct ferry_error *err);

/* Fill c from DIR/config.json. */
int client_load(struct client *c, struct ferry_error *err);
/* Write DIR/config.json from c, atomically. */
int client_save(const struct client *c, struct ferry_error *err);
void client_clear(struct client *c);
/* An updater configured from c. */
int client_updater(const struct client *c, struct ferry_updater **u,
    struct ferry_error *err);

/* Print "ferry: what: detail" on stderr; returns 1. */
int client_fail(const char *what, const struct ferry_error *err);
int client_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_init(struct client *c, int argc, char **argv);
int cmd_refresh(struct client *c, int argc, char **argv);
int cmd_info(struct client *c, int argc, char **argv);
int cmd_download(struct client *c, int argc, char **argv);
int cmd_list(struct client *c, int argc, char **argv);

#endif

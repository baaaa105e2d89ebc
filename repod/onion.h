/*
 * repod as a v3 onion service: the onion process and what it shares.
 *
 * `ferry-repod serve --onion` forks one more process beside the HTTP
 * process: the only one that reads the onion service's private key
 * (DIR/onion/hs_ed25519_secret_key, made on first use).  It connects to
 * tor's control port, authenticates, and publishes the HTTP listener with
 * ADD_ONION for as long as its connection lasts, so the service goes away
 * with repod.  When tor stops or restarts it connects again, with a
 * backoff, and publishes again; when the authorized clients in
 * DIR/onion/authorized_clients/ change it publishes again with the new
 * list.  The HTTP process never holds the key: it only reads the state
 * below, in a page the supervisor shares between the two.
 */
#ifndef FERRY_REPOD_ONION_H
#define FERRY_REPOD_ONION_H

#include <stdatomic.h>
#include <stdint.h>

#include "onion/hskey.h"
#include "repod/repod.h"

enum repod_onion_state {
	REPOD_ONION_OFF = 0,		/* not configured, or not started */
	REPOD_ONION_CONNECTING,		/* no control connection to tor */
	REPOD_ONION_ADDED,		/* tor took ADD_ONION */
	REPOD_ONION_UPLOADED		/* and uploaded a descriptor */
};

/* Written by the onion process, read by the HTTP process. */
struct repod_onion_status {
	atomic_int state;		/* enum repod_onion_state */
	atomic_llong since;		/* Unix time of the last change */
	atomic_ullong publishes;	/* ADD_ONION accepted, in all */
	atomic_uint clients;		/* authorized clients; 0: public */
	/* Written before state first leaves OFF, then never changed. */
	char address[ONION_ADDR_LEN + 1];
};

/* A page shared with every child forked after this; NULL if no memory. */
struct repod_onion_status *repod_onion_status_new(void);
void repod_onion_status_free(struct repod_onion_status *s);

/* "off", "connecting", "added", "published". */
const char *repod_onion_state_name(int state);

/* The most authorized clients a service takes. */
#define REPOD_ONION_MAX_CLIENTS 256

/*
 * The onion process: publish target ("127.0.0.1:PORT", the HTTP
 * listener) as c's onion service until SIGTERM or SIGINT, which the
 * caller has blocked.  Never returns: exits 0 when stopped, or
 * REPOD_EXIT_SETUP when it cannot work at all (an unreadable key).
 */
#define REPOD_EXIT_SETUP 78
void repod_onion_main(const struct repod_config *c, const char *target,
    struct repod_onion_status *st) __attribute__((noreturn));

#endif

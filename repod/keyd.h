/*
 * keyd: the process that holds repod's online keys (snapshot and
 * timestamp), in the manner of OpenSSH's monitor.  It is forked before
 * anything talks to the network, opens the encrypted key files itself,
 * and then answers exactly two requests over a socketpair: sign this
 * snapshot, sign this timestamp.  Each request carries the canonical
 * bytes of a "signed" object; keyd signs them only if they are that
 * role's valid metadata, canonical, unexpired, expiring no later than the
 * configured lifetime allows, and of a higher version than anything it
 * signed before for that role.  Anything else is refused.  Once its keys
 * are open it runs under a seccomp filter (lib/sandbox.h) that lets it
 * read, sign, reply and exit, and kills it for any other system call.
 */
#ifndef FERRY_REPOD_KEYD_H
#define FERRY_REPOD_KEYD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/meta.h"
#include "repod/repod.h"

/* The largest request keyd reads: a snapshot of 1M+ delegated bins. */
#define KEYD_MAX_REQUEST (64u << 20)

struct keyd;

/*
 * Fork the key process.  It reads the passphrase (c->passphrase_fd, or
 * the file c->credentials, which must be readable by its owner only;
 * one line per key, snapshot's first, or one line for both) and opens
 * c->snapshot_key and c->timestamp_key.  Returns once the keys are open,
 * or with the reason they could not be (wrong passphrase, a file readable
 * by others).  Freed by keyd_stop().
 */
int keyd_start(const struct repod_config *c, struct keyd **out,
    struct ferry_error *err);

/* The key id keyd signs role t with (snapshot or timestamp). */
const char *keyd_keyid(const struct keyd *k, enum ferry_meta_type t);

/*
 * Have signed_obj (the "signed" part of snapshot or timestamp metadata)
 * signed: *out receives complete metadata with keyd's signature.
 */
int keyd_sign(struct keyd *k, json_t *signed_obj, struct ferry_meta **out,
    struct ferry_error *err);

/* The key process's pid, for tests and logs. */
pid_t keyd_pid(const struct keyd *k);

/*
 * Whether k can still sign: keyd is alive (reaped here if it died) and
 * the channel in step (a request that failed on the way, or whose
 * answer did not come in time, closes it).  A caller with an unusable k
 * starts another.
 */
int keyd_usable(struct keyd *k);

/*
 * The highest version of role t signed through k (0: none).  keyd never
 * signs a version twice, so after a signed state failed to be published
 * the next request must go above this, not above what is live.
 */
int64_t keyd_signed(const struct keyd *k, enum ferry_meta_type t);

/* Close the channel, reap the process, free k; accepts NULL. */
void keyd_stop(struct keyd *k);

#endif

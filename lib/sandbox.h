/*
 * Sandboxes: seccomp filters a process installs on itself, for itself and
 * anything it could ever execute, and the switches that keep its memory
 * out of core dumps and away from a debugger of the same user.
 *
 * Filters exist for x86_64 and aarch64.  On both, a system call made
 * through another ABI (i386's int 0x80, x32) kills the process: a list
 * of system call numbers means nothing in another ABI's numbering.
 * Elsewhere ferry_sandbox_enter() fails, and its callers refuse to run.
 */
#ifndef FERRY_SANDBOX_H
#define FERRY_SANDBOX_H

#include "err.h"

enum ferry_sandbox_policy {
	/*
	 * No network: socket(2), socketpair(2), connect, bind, listen,
	 * accept, send* and recv* fail with EACCES, and so do the ways
	 * round them (io_uring, ptrace, process_vm_readv/writev,
	 * pidfd_getfd); every other system call is allowed.  For the
	 * offline signer.
	 */
	FERRY_SANDBOX_NO_NETWORK,
	/*
	 * Only what a process needs to answer requests on descriptors it
	 * already holds: read, write and send on them, memory (never
	 * executable), the clock, and exit.  Any other system call kills
	 * the process with SIGSYS.  For repod's key process, once its keys
	 * are open.  (Built with AddressSanitizer, a few calls more let it
	 * print a report, and opening a file fails instead of killing.)
	 */
	FERRY_SANDBOX_STDIO
};

/*
 * No core dumps (RLIMIT_CORE 0) and not dumpable, so neither a crash nor
 * ptrace by the same user can lift a secret from memory.  Returns 0, or
 * FERRY_ERR_IO (errno set) with the call that failed named in err.
 */
int ferry_sandbox_nodump(struct ferry_error *err);

/*
 * ferry_sandbox_nodump(), then no new privileges and the seccomp filter
 * of policy p, which nothing can lift for the rest of the process's
 * life.  Returns 0, FERRY_ERR_INVALID_ARG for an unknown policy, or
 * FERRY_ERR_IO (errno set; ENOSYS where no filter exists for the
 * architecture) with the reason in err.
 */
int ferry_sandbox_enter(enum ferry_sandbox_policy p, struct ferry_error *err);

#endif

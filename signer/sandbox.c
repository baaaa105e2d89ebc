/*
 * The signer's sandbox.  The signer holds root and targets keys; it has no
 * reason ever to talk to a network, so the kernel is told to refuse it:
 * a seccomp filter makes every socket system call fail with EACCES, for
 * this process and anything it could execute, whatever a library linked
 * into it might try.  Core dumps and ptrace attachment are turned off so
 * that a crash or a same-user debugger cannot lift a decrypted key.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "signer/sign.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA))

int
sign_sandbox(const char **why)
{
#ifdef SANDBOX_ARCH
	static struct sock_filter insns[] = {
		/* Another ABI (i386 int 0x80, x32) could bypass the list. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
		DENY(SYS_socket),
		DENY(SYS_socketpair),
		DENY(SYS_connect),
		DENY(SYS_bind),
		DENY(SYS_listen),
		DENY(SYS_accept),
		DENY(SYS_accept4),
		DENY(SYS_sendto),
		DENY(SYS_sendmsg),
		DENY(SYS_sendmmsg),
		DENY(SYS_recvfrom),
		DENY(SYS_recvmsg),
		DENY(SYS_recvmmsg),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	static const struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(insns) / sizeof(insns[0])),
		.filter = insns,
	};
#endif
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) == -1) {
		*why = "setrlimit(RLIMIT_CORE)";
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		*why = "prctl(PR_SET_DUMPABLE)";
		return -1;
	}
#ifdef SANDBOX_ARCH
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*why = "prctl(PR_SET_NO_NEW_PRIVS)";
		return -1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		*why = "prctl(PR_SET_SECCOMP)";
		return -1;
	}
	return 0;
#else
	*why = "no seccomp filter for this architecture";
	return -1;
#endif
}

/*
 * Sandboxes (see sandbox.h).  A policy is a table of system calls, each
 * with the filter's answer to it, and one answer for every call the table
 * does not name; the BPF program is generated from the table at run time:
 *
 *	load arch; not ours: kill
 *	load nr; x32 bit set: kill			(x86_64)
 *	per rule: nr matches: [arg has a forbidden bit: kill] answer
 *	any other call: the policy's default answer
 *
 * Kill, not an error such as EPERM, for the key process: a call outside
 * its list means it is running code it should not, and an error return
 * would let that code go on probing.  Its parent sees the channel close.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "sandbox.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Record that call failed, keeping errno for the caller. */
static int
sys_fail(struct ferry_error *err, const char *call)
{
	int e = errno;

	(void)ferry_error_set(err, FERRY_ERR_IO, "%s: %s", call, strerror(e));
	errno = e;
	return FERRY_ERR_IO;
}

int
ferry_sandbox_nodump(struct ferry_error *err)
{
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) == -1)
		return sys_fail(err, "setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return sys_fail(err, "prctl(PR_SET_DUMPABLE)");
	return 0;
}

#ifdef SANDBOX_ARCH

/* One system call a policy names, and the filter's answer to it. */
struct rule {
	long nr;
	uint32_t ret;
	int arg;		/* -1, or an argument that must not have... */
	uint32_t forbid;	/* ...any of these bits, or the process dies */
};

#define ERR(nr, e) \
	{ (nr), SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA), -1, 0 }
#define ALLOW(nr) { (nr), SECCOMP_RET_ALLOW, -1, 0 }
#define ALLOW_UNLESS(nr, arg, bits) { (nr), SECCOMP_RET_ALLOW, (arg), (bits) }

/*
 * The socket family.  On x86_64 and aarch64 each is a system call of its
 * own (socketcall(2) is i386's, and another ABI is killed anyway).
 */
static const struct rule no_network[] = {
	ERR(SYS_socket, EACCES),
	ERR(SYS_socketpair, EACCES),
	ERR(SYS_connect, EACCES),
	ERR(SYS_bind, EACCES),
	ERR(SYS_listen, EACCES),
	ERR(SYS_accept, EACCES),
	ERR(SYS_accept4, EACCES),
	ERR(SYS_sendto, EACCES),
	ERR(SYS_sendmsg, EACCES),
	ERR(SYS_sendmmsg, EACCES),
	ERR(SYS_recvfrom, EACCES),
	ERR(SYS_recvmsg, EACCES),
	ERR(SYS_recvmmsg, EACCES),
	/*
	 * Ways round the list: io_uring makes, connects and uses sockets
	 * itself (IORING_OP_SOCKET, _CONNECT, _SEND since Linux 5.19), and
	 * another process of the same user, reached with ptrace or its
	 * memory or descriptors, could do the talking.
	 */
#ifdef SYS_io_uring_setup
	ERR(SYS_io_uring_setup, EACCES),
	ERR(SYS_io_uring_enter, EACCES),
	ERR(SYS_io_uring_register, EACCES),
#endif
#ifndef SANDBOX_ASAN	/* LeakSanitizer stops the world with ptrace */
	ERR(SYS_ptrace, EACCES),
#endif
	ERR(SYS_process_vm_readv, EACCES),
	ERR(SYS_process_vm_writev, EACCES),
#ifdef SYS_pidfd_getfd
	ERR(SYS_pidfd_getfd, EACCES),
#endif
};

/*
 * What repod's key process does once its keys are open, found by reading
 * its request loop and by strace(1): read a request, sign it, reply, and
 * at the end wipe the keys and exit.  Nothing here opens, names or
 * creates anything: no file, socket, process or executable mapping.
 */
static const struct rule stdio[] = {
	ALLOW(SYS_read),		/* requests from the socketpair */
	ALLOW(SYS_sendto),		/* replies: send(2), MSG_NOSIGNAL */
	ALLOW(SYS_write),		/* standard error */
	ALLOW(SYS_clock_gettime),	/* time(3) where the vDSO cannot */
	ALLOW(SYS_gettimeofday),
#ifdef SYS_time
	ALLOW(SYS_time),
#endif
	ALLOW(SYS_brk),			/* malloc */
	/* malloc's large blocks, sodium_malloc; never executable. */
	ALLOW_UNLESS(SYS_mmap, 2, PROT_EXEC),
	ALLOW(SYS_munmap),
	ALLOW(SYS_mremap),		/* realloc of a large block */
	ALLOW(SYS_madvise),		/* free; sodium's MADV_DONTDUMP */
	/* sodium_mprotect_*(): a key is readable only while it signs. */
	ALLOW_UNLESS(SYS_mprotect, 2, PROT_EXEC),
	ALLOW(SYS_mlock),		/* sodium_malloc */
	ALLOW(SYS_munlock),		/* sodium_free, wiping on exit */
	ALLOW(SYS_rt_sigreturn),	/* the end of any signal handler */
	ALLOW(SYS_exit_group),		/* _exit(2) */
#ifdef SANDBOX_ASAN
	/*
	 * AddressSanitizer's _exit() looks up the alternate signal stack,
	 * and its report wants the pid, one-time initialisation (futex),
	 * and files that are refused here, so that the report comes out
	 * whole, unsymbolized (module+offset), rather than cut short.
	 */
	ALLOW(SYS_sigaltstack),
	ALLOW(SYS_getpid),
	ALLOW(SYS_futex),
	ERR(SYS_ioctl, ENOTTY),		/* isatty(3) */
#ifdef SYS_open
	ERR(SYS_open, EACCES),
#endif
	ERR(SYS_openat, EACCES),
#ifdef SYS_readlink
	ERR(SYS_readlink, EACCES),
#endif
	ERR(SYS_readlinkat, EACCES),
#endif
};

static const struct policy {
	const struct rule *rule;
	size_t nrule;
	uint32_t other;		/* the answer to any call not in rule */
} policies[] = {
	[FERRY_SANDBOX_NO_NETWORK] = { no_network, nitems(no_network),
	    SECCOMP_RET_ALLOW },
	[FERRY_SANDBOX_STDIO] = { stdio, nitems(stdio),
	    SECCOMP_RET_KILL_PROCESS },
};

#define PROG_MAX 128

struct prog {
	struct sock_filter insn[PROG_MAX];
	size_t n;		/* may pass PROG_MAX: then it is too long */
};

static void
stmt(struct prog *p, uint16_t code, uint32_t k)
{
	struct sock_filter f = BPF_STMT(code, k);

	if (p->n < PROG_MAX)
		p->insn[p->n] = f;
	p->n++;
}

static void
jump(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	struct sock_filter f = BPF_JUMP(code, k, jt, jf);

	if (p->n < PROG_MAX)
		p->insn[p->n] = f;
	p->n++;
}

/* Where the filter finds the low 32 bits of argument i. */
static uint32_t
arg_low(int i)
{
	size_t off = offsetof(struct seccomp_data, args) +
	    (size_t)i * sizeof(uint64_t);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	off += sizeof(uint32_t);
#endif
	return (uint32_t)off;
}

static void
build(const struct policy *pol, struct prog *p)
{
	const struct rule *r;
	size_t i;

	p->n = 0;
	/* Another ABI's numbers mean other calls: kill it, whatever it is. */
	stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	jump(p, BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0);
	stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
	/* x32 shares AUDIT_ARCH_X86_64 and sets bit 30 of the number. */
	jump(p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
	for (i = 0; i < pol->nrule; i++) {
		r = &pol->rule[i];
		if (r->arg < 0) {
			jump(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr,
			    0, 1);
			stmt(p, BPF_RET | BPF_K, r->ret);
			continue;
		}
		/* Past the number, A holds the argument: every path returns. */
		jump(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4);
		stmt(p, BPF_LD | BPF_W | BPF_ABS, arg_low(r->arg));
		jump(p, BPF_JMP | BPF_JSET | BPF_K, r->forbid, 0, 1);
		stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
		stmt(p, BPF_RET | BPF_K, r->ret);
	}
	stmt(p, BPF_RET | BPF_K, pol->other);
}

int
ferry_sandbox_enter(enum ferry_sandbox_policy pol, struct ferry_error *err)
{
	struct sock_fprog fprog;
	struct prog p;
	int r;

	if ((unsigned)pol >= nitems(policies))
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "no sandbox "
		    "policy %d", (int)pol);
	build(&policies[pol], &p);
	if (p.n > PROG_MAX)
		return ferry_error_set(err, FERRY_ERR_INTERNAL, "sandbox "
		    "policy %d: a filter of %zu instructions, over %d",
		    (int)pol, p.n, PROG_MAX);
	if ((r = ferry_sandbox_nodump(err)) != 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return sys_fail(err, "prctl(PR_SET_NO_NEW_PRIVS)");
	fprog.len = (unsigned short)p.n;
	fprog.filter = p.insn;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == -1)
		return sys_fail(err, "prctl(PR_SET_SECCOMP)");
	return 0;
}

#else /* !SANDBOX_ARCH */

int
ferry_sandbox_enter(enum ferry_sandbox_policy pol, struct ferry_error *err)
{
	int r;

	(void)pol;
	r = ferry_error_set(err, FERRY_ERR_IO, "no seccomp filter for this "
	    "architecture");
	errno = ENOSYS;
	return r;
}

#endif

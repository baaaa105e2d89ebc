/*
 * Unit tests for lib/sandbox.c: each test forks a child that enters a
 * sandbox and tries what the policy allows and what it forbids, and the
 * parent judges by the child's exit: a status naming the first check that
 * failed, or SIGSYS where the filter must have killed it.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/err.h"
#include "lib/sandbox.h"
#include "lib/seckey.h"

#if defined(__x86_64__) || defined(__aarch64__)
#define HAVE_FILTER 1
#endif

/* As lib/sandbox.c: built with AddressSanitizer, open(2) fails instead. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* Run fn(arg) in a child, which exits with what fn returns; its status. */
static int
in_child(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_exited_ok(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("the child died of signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("the child failed check %d", WEXITSTATUS(status));
}

static void
assert_killed_by_filter(int status)
{
	if (WIFEXITED(status))
		fail_msg("the child lived, and exited %d", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* Whether the socket call r, just made, was refused with EACCES. */
static int
refused(int r)
{
	return r == -1 && errno == EACCES;
}

#ifdef HAVE_FILTER

/* ---- no network ---- */

static int
no_network_child(void *arg)
{
	struct rlimit rl;
	char buf[16];
	int sv[2], fd;

	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_NO_NETWORK, NULL) != 0)
		return 2;
	if (!refused(socket(AF_INET, SOCK_STREAM, 0)) ||
	    !refused(socket(AF_INET6, SOCK_DGRAM, 0)) ||
	    !refused(socket(AF_UNIX, SOCK_STREAM, 0)))
		return 3;
	if (!refused(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)))
		return 4;
	/*
	 * Nor the ways round: io_uring (which opens and uses sockets on
	 * its own), ptrace and another process's memory.
	 */
#ifdef SYS_io_uring_setup
	{
		char params[120];	/* struct io_uring_params */

		memset(params, 0, sizeof(params));
		if (!refused((int)syscall(SYS_io_uring_setup, 4, params)))
			return 10;
	}
#endif
#ifndef TEST_ASAN	/* allowed there: LeakSanitizer needs it */
	if (!refused((int)syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0,
	    0)))
		return 11;
#endif
	if (!refused((int)syscall(SYS_process_vm_readv, getppid(), NULL, 0,
	    NULL, 0, 0)))
		return 12;
	/* Everything else still works: files, memory, the clock. */
	if ((fd = open("/dev/zero", O_RDONLY)) == -1)
		return 5;
	if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    close(fd) != 0)
		return 6;
	if (getpid() <= 0 || time(NULL) == (time_t)-1)
		return 7;
	/* And the rest of the sandbox is on. */
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
		return 8;
	if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 9;
	return 0;
}

static void
test_no_network(void **state)
{
	(void)state;
	assert_exited_ok(in_child(no_network_child, NULL));
}

/* A socket open before the filter cannot be used either. */
static int
no_network_inherited_child(void *arg)
{
	int *sv = arg;
	char c = 'x';

	if (ferry_sandbox_enter(FERRY_SANDBOX_NO_NETWORK, NULL) != 0)
		return 2;
	if (!refused((int)send(sv[1], &c, 1, MSG_NOSIGNAL)) ||
	    !refused((int)recv(sv[1], &c, 1, MSG_DONTWAIT)))
		return 3;
	return 0;
}

static void
test_no_network_inherited_socket(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_exited_ok(in_child(no_network_inherited_child, sv));
	close(sv[0]);
	close(sv[1]);
}

/* The filter outlives a fork: a grandchild has no network either. */
static int
no_network_fork_child(void *arg)
{
	pid_t pid;
	int status;

	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_NO_NETWORK, NULL) != 0)
		return 2;
	if ((pid = fork()) == -1)
		return 3;
	if (pid == 0)
		_exit(refused(socket(AF_INET, SOCK_STREAM, 0)) ? 0 : 1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return 4;
	return 0;
}

static void
test_no_network_inherited_by_fork(void **state)
{
	(void)state;
	assert_exited_ok(in_child(no_network_fork_child, NULL));
}

/* ---- stdio: what keyd does after its keys are open ---- */

struct keyd_like {
	int sock;			/* the child's end */
	struct ferry_seckey *key;	/* opened before the filter */
};

/*
 * keyd's life under the filter: read a request, allocate (small, large,
 * realloc), look at the clock, sign with a key held in sodium_malloc
 * memory, send the signature, wipe the key, exit.
 */
static int
stdio_child(void *arg)
{
	struct keyd_like *kl = arg;
	char sig[FERRY_ED25519_SIG_HEXLEN + 1];
	unsigned char req[64], *big, *p, *small[1024];
	struct timespec ts;
	struct timeval tv;
	size_t i;

	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	if (read(kl->sock, req, sizeof(req)) != (ssize_t)sizeof(req))
		return 3;
	/* A request of tens of megabytes: mmap, mremap, munmap. */
	if ((big = malloc(64u << 20)) == NULL)
		return 4;
	for (i = 0; i < (64u << 20); i += 4096)
		big[i] = (unsigned char)i;
	if ((p = realloc(big, 96u << 20)) == NULL)
		return 5;
	free(p);
	/* Many small ones: the heap grows (brk). */
	for (i = 0; i < 1024; i++) {
		if ((small[i] = malloc(2048)) == NULL)
			return 6;
		memset(small[i], 'x', 2048);
	}
	for (i = 0; i < 1024; i++)
		free(small[i]);
	/* Secret memory: mmap, mprotect, madvise, mlock; munlock, munmap. */
	if ((p = sodium_malloc(100)) == NULL)
		return 7;
	memset(p, 's', 100);
	if (sodium_mprotect_noaccess(p) != 0 ||
	    sodium_mprotect_readwrite(p) != 0)
		return 8;
	sodium_free(p);
	if (time(NULL) == (time_t)-1 || clock_gettime(CLOCK_REALTIME,
	    &ts) != 0 || clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 9;
	/* The clock's system calls, as where there is no vDSO for it. */
	if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0 ||
	    syscall(SYS_gettimeofday, &tv, NULL) != 0)
		return 10;
#ifdef SYS_time
	if (syscall(SYS_time, NULL) == -1)
		return 11;
#endif
	if (ferry_seckey_sign(kl->key, req, sizeof(req), sig) != 0)
		return 12;
	if (send(kl->sock, sig, strlen(sig), MSG_NOSIGNAL) !=
	    (ssize_t)strlen(sig))
		return 13;
	if (write(STDERR_FILENO, "", 0) != 0)
		return 14;
	ferry_seckey_free(kl->key);	/* munlock, munmap */
	return 0;			/* exit_group */
}

static void
test_stdio_serves(void **state)
{
	unsigned char seed[FERRY_SEED_BYTES], req[64];
	char want[FERRY_ED25519_SIG_HEXLEN + 1], got[sizeof(want)];
	struct keyd_like kl;
	size_t n = 0;
	ssize_t r;
	int sv[2];

	(void)state;
	memset(seed, 7, sizeof(seed));
	memset(req, 'r', sizeof(req));
	assert_int_equal(ferry_seckey_from_seed(seed, sizeof(seed), &kl.key),
	    0);
	assert_int_equal(ferry_seckey_sign(kl.key, req, sizeof(req), want), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	kl.sock = sv[1];
	assert_int_equal(write(sv[0], req, sizeof(req)), sizeof(req));
	assert_exited_ok(in_child(stdio_child, &kl));
	close(sv[1]);
	/* Ed25519 is deterministic: the child signed as the parent did. */
	memset(got, 0, sizeof(got));
	while (n < sizeof(got) - 1 &&
	    (r = read(sv[0], got + n, sizeof(got) - 1 - n)) > 0)
		n += (size_t)r;
	assert_string_equal(got, want);
	ferry_seckey_free(kl.key);
	close(sv[0]);
}

static int
stdio_socket_child(void *arg)
{
	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	(void)socket(AF_UNIX, SOCK_STREAM, 0);
	return 3;
}

static int
stdio_open_child(void *arg)
{
	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
#ifdef TEST_ASAN
	if (open("/dev/null", O_RDONLY) != -1 || errno != EACCES)
		return 4;
	(void)getppid();
#else
	(void)open("/dev/null", O_RDONLY);
#endif
	return 3;
}

static int
stdio_exec_child(void *arg)
{
	char *const argv[] = { (char *)"true", NULL };

	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	(void)execve("/bin/true", argv, argv + 1);
	return 3;
}

static int
stdio_fork_child(void *arg)
{
	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	/* fork() is clone(2) on both architectures. */
	if (fork() == 0)
		_exit(0);
	return 3;
}

static int
stdio_exec_map_child(void *arg)
{
	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 3;
}

static int
stdio_exec_protect_child(void *arg)
{
	void *p;

	(void)arg;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 4;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	if (mprotect(p, 4096, PROT_READ) != 0)	/* allowed */
		return 5;
	(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 3;
}

static void
test_stdio_kills_the_rest(void **state)
{
	(void)state;
	assert_killed_by_filter(in_child(stdio_socket_child, NULL));
	assert_killed_by_filter(in_child(stdio_open_child, NULL));
	assert_killed_by_filter(in_child(stdio_exec_child, NULL));
	assert_killed_by_filter(in_child(stdio_fork_child, NULL));
	assert_killed_by_filter(in_child(stdio_exec_map_child, NULL));
	assert_killed_by_filter(in_child(stdio_exec_protect_child, NULL));
}

#ifdef TEST_ASAN
/* A heap overflow under the filter, reported on the pipe arg. */
static int
asan_report_child(void *arg)
{
	volatile size_t i = 16;
	int *fd = arg;
	char *p;

	if (dup2(fd[1], STDERR_FILENO) == -1 || (p = malloc(16)) == NULL)
		return 4;
	if (ferry_sandbox_enter(FERRY_SANDBOX_STDIO, NULL) != 0)
		return 2;
	p[i] = 'x';
	return 3;
}

/* Built with AddressSanitizer, its report comes out whole. */
static void
test_stdio_asan_report(void **state)
{
	char buf[16384];
	size_t n = 0;
	ssize_t r;
	int fd[2], status;

	(void)state;
	assert_int_equal(pipe(fd), 0);
	status = in_child(asan_report_child, fd);
	close(fd[1]);
	while (n < sizeof(buf) - 1 &&
	    (r = read(fd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd[0]);
	if (WIFSIGNALED(status))
		fail_msg("killed by signal %d, after: %s", WTERMSIG(status),
		    buf);
	assert_non_null(strstr(buf, "AddressSanitizer: heap-buffer-overflow"));
	assert_non_null(strstr(buf, "SUMMARY: AddressSanitizer"));
}
#endif

/* The controls: the same calls without the filter live. */
static int
unfiltered_child(void *arg)
{
	void *p;
	int fd;

	(void)arg;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return 2;
	close(fd);
	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		return 3;
	close(fd);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0)
		return 4;
	return 0;
}

static void
test_controls_live(void **state)
{
	(void)state;
	assert_exited_ok(in_child(unfiltered_child, NULL));
}

#if defined(__x86_64__)
/* x32's getpid: x86_64's number with bit 30 set. */
#define X32_GETPID (0x40000000L | SYS_getpid)

static int
x32_child(void *arg)
{
	const enum ferry_sandbox_policy *p = arg;

	if (ferry_sandbox_enter(*p, NULL) != 0)
		return 2;
	(void)syscall(X32_GETPID);
	return 3;
}

static int
x32_unfiltered_child(void *arg)
{
	(void)arg;
	/* Without a filter: ENOSYS, or a pid where x32 is enabled. */
	(void)syscall(X32_GETPID);
	return 0;
}

static void
test_x32_killed(void **state)
{
	enum ferry_sandbox_policy p;

	(void)state;
	assert_exited_ok(in_child(x32_unfiltered_child, NULL));
	p = FERRY_SANDBOX_NO_NETWORK;
	assert_killed_by_filter(in_child(x32_child, &p));
	p = FERRY_SANDBOX_STDIO;
	assert_killed_by_filter(in_child(x32_child, &p));
}
#endif

#else /* !HAVE_FILTER */

/* No filter for this architecture: entering fails, and says so. */
static int
no_filter_child(void *arg)
{
	struct ferry_error err = { 0 };

	(void)arg;
	if (ferry_sandbox_enter(FERRY_SANDBOX_NO_NETWORK, &err) !=
	    FERRY_ERR_IO || errno != ENOSYS ||
	    strstr(ferry_error_msg(&err), "architecture") == NULL)
		return 2;
	return 0;
}

static void
test_no_filter(void **state)
{
	(void)state;
	assert_exited_ok(in_child(no_filter_child, NULL));
}

#endif

/* ---- both ---- */

static int
nodump_child(void *arg)
{
	struct rlimit rl;
	int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);

	(void)arg;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
		return 2;	/* the test would prove nothing */
	if (ferry_sandbox_nodump(NULL) != 0)
		return 3;
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 4;
	if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 5;
	/* No filter: that is ferry_sandbox_enter()'s. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != mode)
		return 6;
	return 0;
}

static void
test_nodump(void **state)
{
	(void)state;
	assert_exited_ok(in_child(nodump_child, NULL));
}

static void
test_unknown_policy(void **state)
{
	struct ferry_error err = { 0 };
	int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

	(void)state;
	assert_int_equal(ferry_sandbox_enter((enum ferry_sandbox_policy)99,
	    &err), FERRY_ERR_INVALID_ARG);
	assert_non_null(strstr(ferry_error_msg(&err), "99"));
	/* Refused before anything was changed. */
	assert_int_equal(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), mode);
	assert_int_equal(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), nnp);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), dumpable);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef HAVE_FILTER
		cmocka_unit_test(test_no_network),
		cmocka_unit_test(test_no_network_inherited_socket),
		cmocka_unit_test(test_no_network_inherited_by_fork),
		cmocka_unit_test(test_stdio_serves),
		cmocka_unit_test(test_stdio_kills_the_rest),
		cmocka_unit_test(test_controls_live),
#ifdef TEST_ASAN
		cmocka_unit_test(test_stdio_asan_report),
#endif
#if defined(__x86_64__)
		cmocka_unit_test(test_x32_killed),
#endif
#else
		cmocka_unit_test(test_no_filter),
#endif
		cmocka_unit_test(test_nodump),
		cmocka_unit_test(test_unknown_policy),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

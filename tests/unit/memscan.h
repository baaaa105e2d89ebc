/*
 * A scan of the whole memory of the test process for secrets it must not
 * hold any more: masked secrets, a reader of every mapping through
 * /proc/self/mem, a quarantine of freed blocks, and a stack pad, for
 * tests/unit/test_keyfile.c.
 *
 * It defines free() (to hold freed blocks until the scan) and so must be
 * included by one test program only.
 */
#ifndef FERRY_TEST_MEMSCAN_H
#define FERRY_TEST_MEMSCAN_H

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "unit.h"

#include "lib/seckey.h"

/*
 * After the library has used a seed or a passphrase and every object
 * holding it is freed, no byte of the process's memory holds a copy: the
 * test reads back every readable mapping through /proc/self/mem and looks.
 *
 * The test never holds a secret in the clear itself, or it would find its
 * own copy.  It keeps a random mask and the secret XOR the mask; memory
 * holds the secret at p when p[i] ^ mask[i] == x[i] for every i.  Secrets
 * are made, and put back together for the library, only in sodium_malloc()
 * memory, which sodium_free() wipes; only the scan's own controls leave
 * copies elsewhere, on purpose.
 */
#define SECRET_MAX	64
#define NSECRETS	5

struct masked {
	const char *what;	/* NULL: not looked for */
	unsigned char mask[SECRET_MAX], x[SECRET_MAX];
	size_t len;
};

static void
masked_take(struct masked *m, const char *what, const void *secret,
    size_t len)
{
	const unsigned char *s = secret;
	size_t i;

	assert_true(len > 0 && len <= SECRET_MAX);
	m->what = what;
	m->len = len;
	randombytes_buf(m->mask, len);
	for (i = 0; i < len; i++)
		m->x[i] = s[i] ^ m->mask[i];
}

static void
masked_put(const struct masked *m, void *out)
{
	unsigned char *o = out;
	size_t i;

	for (i = 0; i < m->len; i++)
		o[i] = m->mask[i] ^ m->x[i];
}

/* A new random secret of len bytes in sodium_malloc() memory. */
static unsigned char *
secret_new(struct masked *m, const char *what, size_t len)
{
	unsigned char *s = sodium_malloc(len);

	assert_non_null(s);
	randombytes_buf(s, len);
	masked_take(m, what, s, len);
	return s;
}

/*
 * A quarantine for the plain build, like the one ASan keeps: from the
 * start of run_deep() to the end of the scan after it, free() holds on to
 * the blocks it is given.  Handed back, a block would get glibc's list
 * pointers over its first bytes and be reused by the next malloc(), and a
 * copy freed without a wipe could vanish by chance before the scan; held,
 * it stays as the code under test left it.
 */
#if !defined(__SANITIZE_ADDRESS__)
#define QUARANTINE_MAX	65536

extern void __libc_free(void *);
static void *held[QUARANTINE_MAX];
static size_t nheld;
static int quarantine;

void
free(void *p)
{
	if (quarantine && p != NULL && nheld < QUARANTINE_MAX) {
		held[nheld++] = p;
		return;
	}
	__libc_free(p);
}

static void
quarantine_start(void)
{
	quarantine = 1;
}

/* Hand the blocks back; -1 if some got through a full quarantine. */
static int
quarantine_end(void)
{
	size_t i, n = nheld;

	quarantine = 0;
	for (i = 0; i < n; i++)
		__libc_free(held[i]);
	nheld = 0;
	return n < QUARANTINE_MAX ? 0 : -1;
}
#else
static void
quarantine_start(void)
{
}

static int
quarantine_end(void)
{
	return 0;
}
#endif

/* After a failure in the middle: nothing held into the next test. */
static int
quarantine_teardown(void **state)
{
	(void)state;
	(void)quarantine_end();
	return 0;
}

/* The loops over what was read need no checks, and ASan's are slow. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SCAN_LOOP	__attribute__((no_sanitize("address", "undefined")))
#else
#define SCAN_LOOP
#endif

/*
 * The scan.  Mappings that cannot be read are not looked at, except small
 * anonymous PROT_NONE ones, read with the force /proc/PID/mem allows: that
 * is where sodium_mprotect_noaccess() keeps a key between uses, so a live
 * key shows up there, "hidden", and nowhere else.  Not read either:
 * [vvar] and [vsyscall], which cannot be; ASan's shadow, which says what
 * is addressable and holds no data; and, as a bound, any mapping over
 * SCAN_MAP_MAX, which would be reserved address space (none here is that
 * large).  The scan reads into a buffer in a mapping of its own, which it
 * does not scan.
 */
#define SCAN_CHUNK	((size_t)1 << 20)
#define SCAN_MAPS_TEXT	((size_t)1 << 20)
#define SCAN_MAP_MAX	((uintptr_t)1 << 32)
#define SCAN_HIDDEN_MAX	((uintptr_t)64 << 10)
#define SCAN_HITS	8

struct scan {
	size_t found[NSECRETS], hidden[NSECRETS];	/* whole copies */
	size_t stray[NSECRETS];		/* quarters not in a whole copy */
	uintptr_t whole_end[NSECRETS];	/* of the last whole copy */
	uint64_t bytes;
	int stack, heap;	/* were read */
	struct {
		uintptr_t at;
		const char *what;
		int whole;
		char map[128];
	} hit[SCAN_HITS];
	size_t nhit;
};

/*
 * A copy need not be whole: free() writes its list pointers over the
 * first 16 bytes of a chunk, and a secret can be copied in parts.  So
 * each quarter of a secret is looked for too; a secret is at least 32
 * random bytes, or 64 hex digits, so that a quarter matching by chance
 * is out of the question (one in 2^64 per position).
 */
#define SCAN_PIECES	4

static void
scan_hit(struct scan *sc, uintptr_t at, const char *what, int whole,
    const char *line)
{
	if (sc->nhit == SCAN_HITS)
		return;
	sc->hit[sc->nhit].at = at;
	sc->hit[sc->nhit].what = what;
	sc->hit[sc->nhit].whole = whole;
	snprintf(sc->hit[sc->nhit].map, sizeof(sc->hit[0].map), "%.*s",
	    (int)strcspn(line, "\n"), line);
	sc->nhit++;
}

/* Does p hold bytes [from, from + n) of the secret? */
static SCAN_LOOP int
holds(const unsigned char *p, const struct masked *m, size_t from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] ^ m->mask[from + i]) != m->x[from + i])
			return 0;
	return 1;
}

/* Count the secrets in buf[0..n), at offsets before lim. */
static SCAN_LOOP void
scan_buf(const unsigned char *buf, size_t n, size_t lim, uintptr_t base,
    const struct masked *sec, size_t nsec, int hidden, const char *line,
    struct scan *sc)
{
	unsigned char m0[SCAN_PIECES], x0[SCAN_PIECES], b;
	const struct masked *m;
	size_t s, j, off, q;

	for (s = 0; s < nsec; s++) {
		m = &sec[s];
		if (m->what == NULL)
			continue;
		q = m->len / SCAN_PIECES;
		/* The first byte of each quarter, masked, to skip fast. */
		for (j = 0; j < SCAN_PIECES; j++) {
			m0[j] = m->mask[j * q];
			x0[j] = m->x[j * q];
		}
		for (off = 0; off < lim && off + q <= n; off++) {
			b = buf[off];
			if ((b ^ m0[0]) != x0[0] && (b ^ m0[1]) != x0[1] &&
			    (b ^ m0[2]) != x0[2] && (b ^ m0[3]) != x0[3])
				continue;
			if (off + m->len <= n && holds(buf + off, m, 0,
			    m->len)) {
				if (hidden)
					sc->hidden[s]++;
				else
					sc->found[s]++;
				sc->whole_end[s] = base + off + m->len;
				scan_hit(sc, base + off, m->what, 1, line);
				continue;
			}
			if (base + off < sc->whole_end[s])
				continue;
			for (j = 0; j < SCAN_PIECES; j++)
				if (holds(buf + off, m, j * q, q))
					break;
			if (j < SCAN_PIECES) {
				sc->stray[s]++;
				scan_hit(sc, base + off, m->what, 0, line);
			}
		}
	}
}

static void
scan_memory(const struct masked *sec, size_t nsec, struct scan *sc)
{
	unsigned char *scratch, *buf, *block;
	char *text, *line, *next;
	const char *path;
	size_t len = 0, want, lim;
	uintptr_t lo, hi, a, frame, heap;
	uintptr_t shadow_lo = 0, shadow_hi = 0;
	ssize_t n;
	int maps, mem, readable, hidden, full;

	memset(sc, 0, sizeof(*sc));
	assert_true(nsec <= NSECRETS);
#if defined(__SANITIZE_ADDRESS__)
	{
		size_t scale, offset;

		__asan_get_shadow_mapping(&scale, &offset);
		shadow_lo = offset;
		shadow_hi = offset + ((UINTPTR_MAX >> 17) >> scale) + 1;
	}
#endif
	/* Where the stack and the heap are, whatever the allocator. */
	frame = (uintptr_t)__builtin_frame_address(0);
	block = malloc(1);
	assert_non_null(block);
	heap = (uintptr_t)block;
	scratch = mmap(NULL, SCAN_CHUNK + SECRET_MAX + SCAN_MAPS_TEXT,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(scratch != MAP_FAILED);
	buf = scratch;
	text = (char *)scratch + SCAN_CHUNK + SECRET_MAX;
	/* The list first, whole, so that reading memory cannot change it. */
	maps = open("/proc/self/maps", O_RDONLY);
	mem = open("/proc/self/mem", O_RDONLY);
	assert_true(maps != -1 && mem != -1);
	while ((n = read(maps, text + len, SCAN_MAPS_TEXT - 1 - len)) > 0)
		len += (size_t)n;
	assert_true(n == 0 && len < SCAN_MAPS_TEXT - 1);
	text[len] = '\0';
	close(maps);

	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) != 2)
			fail_msg("/proc/self/maps: %s", line);
		/* The path, if any, is the sixth field. */
		path = line;
		for (a = 0; a < 5 && path != NULL; a++)
			if ((path = strchr(path, ' ')) != NULL)
				path += strspn(path, " ");
		if (path == NULL)
			path = "";
		readable = line[strcspn(line, " ") + 1] == 'r';
		hidden = !readable && *path == '\0' &&
		    hi - lo <= SCAN_HIDDEN_MAX;
		if ((!readable && !hidden) || hi - lo > SCAN_MAP_MAX ||
		    strncmp(path, "[vvar", 5) == 0 ||
		    strcmp(path, "[vsyscall]") == 0 ||
		    (lo < shadow_hi && hi > shadow_lo) ||
		    (lo < (uintptr_t)scratch + SCAN_CHUNK + SECRET_MAX +
		    SCAN_MAPS_TEXT && hi > (uintptr_t)scratch))
			continue;
		for (a = lo; a < hi; a += SCAN_CHUNK) {
			/* A little past the chunk, for a match across. */
			want = hi - a < SCAN_CHUNK + SECRET_MAX ? hi - a :
			    SCAN_CHUNK + SECRET_MAX;
			n = pread(mem, buf, want, (off_t)a);
			if (n <= 0)
				continue;
			lim = (size_t)n < SCAN_CHUNK ? (size_t)n : SCAN_CHUNK;
			scan_buf(buf, (size_t)n, lim, a, sec, nsec, hidden,
			    line, sc);
			if (hidden)
				continue;
			sc->bytes += lim;
			if (frame >= a && frame - a < lim)
				sc->stack = 1;
			if (heap >= a && heap - a < lim)
				sc->heap = 1;
		}
	}
	free(block);
	close(mem);
	full = quarantine_end();
	sodium_memzero(scratch, SCAN_CHUNK + SECRET_MAX);
	munmap(scratch, SCAN_CHUNK + SECRET_MAX + SCAN_MAPS_TEXT);
	/*
	 * A scan that read almost nothing, or after a quarantine that let
	 * blocks through, would prove less than it says.
	 */
	assert_true(sc->stack && sc->heap && sc->bytes > ((uint64_t)1 << 20));
	assert_int_equal(full, 0);
}

/*
 * Whether /proc/self/mem reads PROT_NONE memory here: a kernel can be
 * built or booted (proc_mem.force_override=never) to refuse, and then
 * a live key cannot be seen where it is kept.
 */
static int
can_read_noaccess(void)
{
	static int can = -1;
	unsigned char *p, b = 0;
	int fd;

	if (can != -1)
		return can;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	p[0] = 0xa5;
	assert_int_equal(mprotect(p, 4096, PROT_NONE), 0);
	assert_true((fd = open("/proc/self/mem", O_RDONLY)) != -1);
	can = pread(fd, &b, 1, (off_t)(uintptr_t)p) == 1 && b == 0xa5;
	close(fd);
	munmap(p, 4096);
	if (!can)
		print_message("PROT_NONE memory cannot be read here: live "
		    "keys are not counted\n");
	return can;
}

/* Say where a secret was found, and fail if want_found/hidden differ. */
static void
assert_scan(const struct masked *sec, size_t nsec, const size_t *want_found,
    const size_t *want_hidden)
{
	struct scan sc;
	size_t s, i, hidden;
	int bad = 0;

	scan_memory(sec, nsec, &sc);
	for (s = 0; s < nsec; s++) {
		if (sec[s].what == NULL)
			continue;
		hidden = can_read_noaccess() ? want_hidden[s] : 0;
		if (sc.found[s] != want_found[s] || sc.hidden[s] != hidden) {
			print_error("%s: %zu copies in readable memory, %zu "
			    "in inaccessible memory; expected %zu and %zu\n",
			    sec[s].what, sc.found[s], sc.hidden[s],
			    want_found[s], hidden);
			bad = 1;
		}
		if (sc.stray[s] != 0) {
			print_error("%s: %zu quarters outside whole copies\n",
			    sec[s].what, sc.stray[s]);
			bad = 1;
		}
	}
	if (!bad)
		return;
	for (i = 0; i < sc.nhit; i++)
		print_error("  %s%s at %#" PRIxPTR ", in %s\n",
		    sc.hit[i].whole ? "" : "a quarter of ",
		    sc.hit[i].what, sc.hit[i].at, sc.hit[i].map);
	fail_msg("secrets left in memory (%llu bytes scanned)",
	    (unsigned long long)sc.bytes);
}

/*
 * The code under test runs below a pad of stack, so that the scan, called
 * afterwards from higher up, cannot overwrite what it left on the stack:
 * a copy in a dead stack frame is found like any other.
 */
#define STACK_PAD	(256 * 1024)

static void __attribute__((noinline))
run_deep(void (*fn)(void *), void *arg)
{
	volatile unsigned char pad[STACK_PAD];

	pad[0] = 0;
	quarantine_start();
	fn(arg);
	pad[sizeof(pad) - 1] = pad[0];
}

/* Clears, from the caller's frame down, the stack run_deep() uses. */
static void __attribute__((noinline))
burn_stack(void)
{
	unsigned char b[STACK_PAD + 64 * 1024];

	sodium_memzero(b, sizeof(b));
}

#endif

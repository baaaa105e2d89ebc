/*
 * Preloaded into ferry-sign by tests/e2e/sign_keys.sh: at exit, count the
 * copies of secrets left anywhere in the process's memory.
 *
 * PROBE_SECRETS names the secrets, masked: entries NAME:MASK:X separated
 * by spaces, MASK random and X the secret XOR MASK, both in hex, so that
 * neither the environment nor this probe ever holds a secret in the clear.
 * Memory holds the secret at p when p[i] ^ MASK[i] == X[i] for every i.
 * At exit (a destructor, after main has returned) every readable mapping
 * is read through /proc/self/mem and PROBE_OUT gets, per secret, the
 * whole copies in readable memory ("found"), those in small inaccessible
 * anonymous mappings, where sodium_mprotect_noaccess() keeps a key
 * ("hidden"), and quarters of it outside whole copies ("stray").
 *
 * Three more things make the count mean something.  /proc/self/mem and
 * /proc/self/maps are opened before main runs, as the signer's sandbox
 * makes the process undumpable.  free() holds every block instead of
 * handing it back, so that a copy freed without a wipe is neither reused
 * nor written over by the allocator before the scan.  And given a secret
 * named "seed", crypto_sign_keypair() makes the key from that seed, put
 * together only in sodium_malloc() memory, so that the test knows the
 * seed of a key that ferry-sign generates; the public key it made is
 * reported as "keypair HEX".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sodium.h>

#define NSECRETS	8
#define SECRET_MAX	64
#define PIECES		4
#define CHUNK		((size_t)1 << 20)
#define MAPS_TEXT	((size_t)1 << 20)
#define HIDDEN_MAX	((uintptr_t)64 << 10)
#define MAP_MAX		((uintptr_t)1 << 32)
#define HELD		((size_t)1 << 18)
#define HITS		4

static struct secret {
	char name[16];
	unsigned char mask[SECRET_MAX], x[SECRET_MAX];
	size_t len;
	size_t found, hidden, stray;
	uintptr_t whole_end;
	struct {
		uintptr_t at;
		int whole;
		const char *map;	/* its line in the maps text */
	} hit[HITS];
	size_t nhit;
} sec[NSECRETS];
static size_t nsec;
static const char *bad;		/* why the probe cannot scan */
static int memfd = -1, mapsfd = -1;
static uintptr_t shadow_lo, shadow_hi;	/* ASan's, if any */
static char keypair[2 * crypto_sign_PUBLICKEYBYTES + 1];

static void (*next_free)(void *);
static void *held[HELD];
static size_t nheld;

void
free(void *p)
{
	if (p == NULL)
		return;
	if (nheld < HELD)
		held[nheld++] = p;
	else if (next_free != NULL)
		next_free(p);
}

static int
unhex(const char *s, size_t n, unsigned char *out)
{
	unsigned int v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* One entry NAME:MASK:X, n bytes long. */
static int
parse_entry(const char *e, size_t n)
{
	const char *c1 = memchr(e, ':', n), *c2;
	struct secret *s;
	size_t hexlen;

	if (c1 == NULL || (size_t)(c1 - e) >= sizeof(s->name) ||
	    (c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - e))) == NULL)
		return -1;
	hexlen = (size_t)(c2 - c1 - 1);
	if (nsec == NSECRETS || hexlen % (2 * PIECES) != 0 || hexlen == 0 ||
	    hexlen > 2 * SECRET_MAX || n - (size_t)(c2 + 1 - e) != hexlen)
		return -1;
	s = &sec[nsec];
	memcpy(s->name, e, (size_t)(c1 - e));
	s->len = hexlen / 2;
	if (unhex(c1 + 1, s->len, s->mask) != 0 ||
	    unhex(c2 + 1, s->len, s->x) != 0)
		return -1;
	nsec++;
	return 0;
}

__attribute__((constructor)) static void
probe_init(void)
{
	const char *e = getenv("PROBE_SECRETS");
	void (*shadow)(size_t *, size_t *);
	size_t n, scale, offset;

	*(void **)&next_free = dlsym(RTLD_NEXT, "free");
	*(void **)&shadow = dlsym(RTLD_DEFAULT, "__asan_get_shadow_mapping");
	if (shadow != NULL) {
		shadow(&scale, &offset);
		shadow_lo = offset;
		shadow_hi = offset + ((UINTPTR_MAX >> 17) >> scale) + 1;
	}
	if (e == NULL || getenv("PROBE_OUT") == NULL)
		return;
	if ((memfd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (mapsfd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)) == -1) {
		bad = strerror(errno);
		return;
	}
	for (; *e != '\0'; e += n) {
		e += strspn(e, " ");
		if ((n = strcspn(e, " ")) > 0 && parse_entry(e, n) != 0) {
			bad = "PROBE_SECRETS: NAME:MASK:X, hex of equal "
			    "lengths, a multiple of 4 bytes up to 64";
			return;
		}
	}
}

int
crypto_sign_keypair(unsigned char *pk, unsigned char *sk)
{
	unsigned char *seed;
	size_t i, s;
	int r;

	for (s = 0; s < nsec && strcmp(sec[s].name, "seed") != 0; s++)
		;
	if (s == nsec)
		return crypto_sign_ed25519_keypair(pk, sk);
	if (sec[s].len != crypto_sign_SEEDBYTES ||
	    (seed = sodium_malloc(crypto_sign_SEEDBYTES)) == NULL)
		return -1;
	for (i = 0; i < crypto_sign_SEEDBYTES; i++)
		seed[i] = sec[s].mask[i] ^ sec[s].x[i];
	r = crypto_sign_seed_keypair(pk, sk, seed);
	sodium_free(seed);
	sodium_bin2hex(keypair, sizeof(keypair), pk,
	    crypto_sign_PUBLICKEYBYTES);
	return r;
}

static int
holds(const unsigned char *p, const struct secret *s, size_t from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((p[i] ^ s->mask[from + i]) != s->x[from + i])
			return 0;
	return 1;
}

/* Where the first few copies are, to say where to look. */
static void
note(struct secret *s, uintptr_t at, int whole, const char *line)
{
	if (s->nhit == HITS)
		return;
	s->hit[s->nhit].at = at;
	s->hit[s->nhit].whole = whole;
	s->hit[s->nhit].map = line;
	s->nhit++;
}

/* Count the secrets in buf[0..n), at offsets before lim. */
static void
scan_buf(const unsigned char *buf, size_t n, size_t lim, uintptr_t base,
    int hidden, const char *line)
{
	struct secret *s;
	size_t i, j, off, q;

	for (i = 0; i < nsec; i++) {
		s = &sec[i];
		q = s->len / PIECES;
		for (off = 0; off < lim && off + q <= n; off++) {
			if (off + s->len <= n && holds(buf + off, s, 0,
			    s->len)) {
				if (hidden)
					s->hidden++;
				else
					s->found++;
				s->whole_end = base + off + s->len;
				note(s, base + off, 1, line);
				continue;
			}
			if (base + off < s->whole_end)
				continue;
			for (j = 0; j < PIECES; j++)
				if (holds(buf + off, s, j * q, q))
					break;
			if (j < PIECES) {
				s->stray++;
				note(s, base + off, 0, line);
			}
		}
	}
}

static uintptr_t
hexnum(const char **p)
{
	uintptr_t v = 0;
	int c;

	for (; (c = **p) != '\0'; (*p)++) {
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			break;
	}
	return v;
}

/*
 * Read every readable mapping, and small inaccessible anonymous ones,
 * but not [vvar] and [vsyscall] (they cannot be read), ASan's shadow (no
 * data), mappings over MAP_MAX (reserved address space), or the scan's
 * own buffer.  One allocation, before reading, and little stack (no
 * stdio until the scan is over): the stack below this frame is where
 * ferry-sign's dead frames are, and the scan must not write over them
 * before it has read them.
 */
static void
scan(unsigned char *scratch, uint64_t *bytes, int *stack, int *heap)
{
	unsigned char *buf = scratch;
	char *text = (char *)scratch + CHUNK + SECRET_MAX, *line, *next;
	const char *p, *path;
	uintptr_t lo, hi, a, frame, block;
	size_t len = 0, want, lim;
	ssize_t n;
	int readable, hidden, f;
	void *b;

	frame = (uintptr_t)__builtin_frame_address(0);
	b = malloc(1);
	block = (uintptr_t)b;
	while ((n = pread(mapsfd, text + len, MAPS_TEXT - 1 - len,
	    (off_t)len)) > 0)
		len += (size_t)n;
	text[len] = '\0';
	for (line = text; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		p = line;
		lo = hexnum(&p);
		p++;
		hi = hexnum(&p);
		readable = p[1] == 'r';
		path = p;
		for (f = 0; f < 5 && path != NULL; f++)
			if ((path = strchr(path, ' ')) != NULL)
				path += strspn(path, " ");
		if (path == NULL)
			path = "";
		hidden = !readable && *path == '\0' && hi - lo <= HIDDEN_MAX;
		if ((!readable && !hidden) || hi - lo > MAP_MAX ||
		    strncmp(path, "[vvar", 5) == 0 ||
		    strcmp(path, "[vsyscall]") == 0 ||
		    (lo < shadow_hi && hi > shadow_lo) ||
		    (lo < (uintptr_t)scratch + CHUNK + SECRET_MAX + MAPS_TEXT &&
		    hi > (uintptr_t)scratch))
			continue;
		for (a = lo; a < hi; a += CHUNK) {
			want = hi - a < CHUNK + SECRET_MAX ? hi - a :
			    CHUNK + SECRET_MAX;
			if ((n = pread(memfd, buf, want, (off_t)a)) <= 0)
				continue;
			lim = (size_t)n < CHUNK ? (size_t)n : CHUNK;
			scan_buf(buf, (size_t)n, lim, a, hidden, line);
			if (hidden)
				continue;
			*bytes += lim;
			if (frame >= a && frame - a < lim)
				*stack = 1;
			if (block >= a && block - a < lim)
				*heap = 1;
		}
	}
	free(b);
}

__attribute__((destructor)) static void
probe_exit(void)
{
	const char *out = getenv("PROBE_OUT");
	unsigned char *scratch;
	uint64_t bytes = 0;
	int fd, stack = 0, heap = 0;
	size_t i, j;

	if (out == NULL || getenv("PROBE_SECRETS") == NULL)
		return;
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return;
	scratch = mmap(NULL, CHUNK + SECRET_MAX + MAPS_TEXT,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == NULL && scratch == MAP_FAILED)
		bad = "mmap";
	if (bad != NULL) {
		dprintf(fd, "error %s\n", bad);
		close(fd);
		return;
	}
	scan(scratch, &bytes, &stack, &heap);
	/* What the scan ran under: ferry-sign's sandbox, if it is on. */
	dprintf(fd, "dumpable %d seccomp %d\n", prctl(PR_GET_DUMPABLE),
	    prctl(PR_GET_SECCOMP));
	dprintf(fd, "scanned %llu stack %d heap %d\n",
	    (unsigned long long)bytes, stack, heap);
	for (i = 0; i < nsec; i++)
		dprintf(fd, "%s found %zu hidden %zu stray %zu\n", sec[i].name,
		    sec[i].found, sec[i].hidden, sec[i].stray);
	if (keypair[0] != '\0')
		dprintf(fd, "keypair %s\n", keypair);
	for (i = 0; i < nsec; i++)
		for (j = 0; j < sec[i].nhit; j++)
			dprintf(fd, "at %#lx %s%s in %s\n",
			    (unsigned long)sec[i].hit[j].at,
			    sec[i].hit[j].whole ? "" : "a quarter of ",
			    sec[i].name, sec[i].hit[j].map);
	close(fd);
}

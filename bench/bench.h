/*
 * Helpers shared by the benchmark programs (bench_meta, bench_client).
 * Include after defining BENCH_NAME, the program's name for messages.
 * Everything is static inline so that a program need not use all of it.
 */
#ifndef FERRY_BENCH_H
#define FERRY_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/file.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench/bench.h"
#endif

/* Print "BENCH_NAME: message" on stderr; returns code. */
static inline int
fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline int
fail(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", BENCH_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static inline double
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v in place. */
static inline double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Deterministic data: xorshift64*, good enough and fast. */
struct rng {
	uint64_t s;
};

static inline uint64_t
rng_next(struct rng *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * UINT64_C(2685821657736338717);
}

static inline int
write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return FERRY_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Write a scratch file, without fsync (benchmark data is rebuilt on every
 * run); flags are added to O_WRONLY | O_CREAT | O_CLOEXEC (O_EXCL for a
 * file that must be new, O_TRUNC for one that may be rewritten).
 */
static inline int
write_file_flags(const char *path, const void *buf, size_t len, int flags,
    mode_t mode)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	r = write_all(fd, buf, len);
	if (r != 0)
		(void)fail(r, "%s: %s", path, strerror(errno));
	if (close(fd) != 0 && r == 0)
		r = fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	return r;
}

/* The whole file (ferry_file_read, no practical limit), or a message. */
static inline int
read_file(const char *path, unsigned char **out, size_t *outlen)
{
	int r;

	if ((r = ferry_file_read(path, (size_t)1 << 40, out, outlen)) != 0)
		return fail(r, "%s: %s", path, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
	return 0;
}

#endif

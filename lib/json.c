#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "file.h"

/* A growable output buffer for the encoder. */
struct obuf {
	unsigned char *p;
	size_t len;
	size_t cap;
};

static int
obuf_reserve(struct obuf *b, size_t n)
{
	size_t ncap;
	unsigned char *np;

	if (n <= b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return FERRY_ERR_NOMEM;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < n)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL)
		return FERRY_ERR_NOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

static int
obuf_put(struct obuf *b, const void *p, size_t n)
{
	if (obuf_reserve(b, n) != 0)
		return FERRY_ERR_NOMEM;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int
obuf_putc(struct obuf *b, unsigned char c)
{
	return obuf_put(b, &c, 1);
}

/* '"' and '\\' are the only bytes escaped; everything else is raw. */
static int
put_string(struct obuf *b, const char *s, size_t n)
{
	unsigned char *w;
	size_t i;

	/* Worst case, every byte escaped: reserve once, then write. */
	if (n > (SIZE_MAX - 2) / 2 || obuf_reserve(b, 2 * n + 2) != 0)
		return FERRY_ERR_NOMEM;
	w = b->p + b->len;
	*w++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			*w++ = '\\';
		*w++ = (unsigned char)s[i];
	}
	*w++ = '"';
	b->len = (size_t)(w - b->p);
	return 0;
}

struct okey {
	const char *k;
	size_t n;
	json_t *v;
};

static int
okey_cmp(const void *a, const void *b)
{
	const struct okey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->k, y->k, n);

	if (c != 0)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

/*
 * Where the encoder is, kept as a stack of keys and indexes and formatted
 * as a JSON path ("$.signed.roles[2]") only when something fails: a
 * 16,384-entry snapshot formatted every key's path before anything had
 * gone wrong, a twentieth of its parse.
 */
struct jframe {
	const char *key;	/* NULL: an array index */
	size_t idx;
};

struct jpath {
	const char *root;
	size_t n;
	struct jframe f[FERRY_JSON_MAX_DEPTH + 1];
};

static void
jpath_push(struct jpath *p, const char *key, size_t idx)
{
	/* encode() refuses nesting past the limit, so this cannot overflow. */
	if (p->n < sizeof(p->f) / sizeof(p->f[0])) {
		p->f[p->n].key = key;
		p->f[p->n].idx = idx;
	}
	p->n++;
}

static void
jpath_pop(struct jpath *p)
{
	p->n--;
}

static const char *
jpath_format(const struct jpath *p, char *buf, size_t size)
{
	size_t i, len;
	int n;

	n = snprintf(buf, size, "%s", p->root);
	for (i = 0; i < p->n && i < sizeof(p->f) / sizeof(p->f[0]); i++) {
		len = strlen(buf);
		if (n < 0 || len + 1 >= size)
			break;
		if (p->f[i].key != NULL)
			n = snprintf(buf + len, size - len, ".%.64s",
			    p->f[i].key);
		else
			n = snprintf(buf + len, size - len, "[%zu]",
			    p->f[i].idx);
	}
	return buf;
}

/*
 * Out of line so that the path buffer is not on the stack of every level
 * of encode()'s recursion.
 */
static int __attribute__((noinline))
encode_error(const struct jpath *p, int r, double real,
    struct ferry_error *err)
{
	char where[512];

	(void)jpath_format(p, where, sizeof(where));
	if (r == FERRY_ERR_JSON_DEPTH)
		return ferry_error_set(err, r, "nesting deeper than %d levels "
		    "at %s", FERRY_JSON_MAX_DEPTH, where);
	return ferry_error_set(err, r, "number %g is not an integer "
	    "(canonical JSON has integers only) at %s", real, where);
}

static int encode(struct obuf *, const json_t *, int, struct jpath *,
    struct ferry_error *);

static int
encode_object(struct obuf *b, const json_t *v, int depth, struct jpath *path,
    struct ferry_error *err)
{
	struct okey *keys = NULL;
	size_t i = 0, n = json_object_size(v);
	const char *k;
	size_t klen;
	json_t *val;
	int r = FERRY_ERR_NOMEM;

	if (n > 0 && (keys = calloc(n, sizeof(*keys))) == NULL)
		goto out;
	json_object_keylen_foreach((json_t *)v, k, klen, val) {
		if (i >= n) {
			r = FERRY_ERR_INTERNAL;
			goto out;
		}
		keys[i].k = k;
		keys[i].n = klen;
		keys[i].v = val;
		i++;
	}
	/*
	 * Documents Ferry parses were mostly written sorted; checking first
	 * saves the sort of a 100,000-entry targets object.
	 */
	for (n = 1; n < i && okey_cmp(&keys[n - 1], &keys[n]) < 0; n++)
		;
	if (n < i)
		qsort(keys, i, sizeof(*keys), okey_cmp);
	if (obuf_putc(b, '{') != 0)
		goto out;
	for (n = 0; n < i; n++) {
		if ((n > 0 && obuf_putc(b, ',') != 0) ||
		    put_string(b, keys[n].k, keys[n].n) != 0 ||
		    obuf_putc(b, ':') != 0)
			goto out;
		jpath_push(path, keys[n].k, 0);
		r = encode(b, keys[n].v, depth + 1, path, err);
		jpath_pop(path);
		if (r != 0)
			goto out;
		r = FERRY_ERR_NOMEM;
	}
	if (obuf_putc(b, '}') != 0)
		goto out;
	r = 0;
 out:
	free(keys);
	return r;
}

static int
encode(struct obuf *b, const json_t *v, int depth, struct jpath *path,
    struct ferry_error *err)
{
	char num[32];
	size_t i;
	int r, n;

	if ((json_is_object(v) || json_is_array(v)) &&
	    depth >= FERRY_JSON_MAX_DEPTH)
		return encode_error(path, FERRY_ERR_JSON_DEPTH, 0, err);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return encode_object(b, v, depth, path, err);
	case JSON_ARRAY:
		if (obuf_putc(b, '[') != 0)
			return FERRY_ERR_NOMEM;
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0 && obuf_putc(b, ',') != 0)
				return FERRY_ERR_NOMEM;
			jpath_push(path, NULL, i);
			r = encode(b, json_array_get(v, i), depth + 1, path,
			    err);
			jpath_pop(path);
			if (r != 0)
				return r;
		}
		return obuf_putc(b, ']');
	case JSON_STRING:
		return put_string(b, json_string_value(v),
		    json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		if (n < 0 || (size_t)n >= sizeof(num))
			return FERRY_ERR_INTERNAL;
		return obuf_put(b, num, (size_t)n);
	case JSON_REAL:
		return encode_error(path, FERRY_ERR_JSON_FLOAT,
		    json_real_value(v), err);
	case JSON_TRUE:
		return obuf_put(b, "true", 4);
	case JSON_FALSE:
		return obuf_put(b, "false", 5);
	case JSON_NULL:
		return obuf_put(b, "null", 4);
	}
	return FERRY_ERR_INTERNAL;
}

int
ferry_json_canonical_at(const json_t *v, const char *where, int depth,
    unsigned char **out, size_t *outlen, struct ferry_error *err)
{
	struct obuf b = { NULL, 0, 0 };
	struct jpath path;
	int r;

	if (v == NULL || where == NULL || depth < 0 || out == NULL ||
	    outlen == NULL)
		return FERRY_ERR_INVALID_ARG;
	path.root = where;
	path.n = 0;
	if ((r = encode(&b, v, depth, &path, err)) != 0 ||
	    (r = obuf_putc(&b, 0)) != 0)
		goto fail;
	*out = b.p;
	*outlen = b.len - 1;
	return 0;
 fail:
	free(b.p);
	if (r == FERRY_ERR_NOMEM)
		(void)ferry_error_set(err, r, "canonical JSON: out of memory");
	return r;
}

int
ferry_json_canonical(const json_t *v, unsigned char **out, size_t *outlen,
    struct ferry_error *err)
{
	return ferry_json_canonical_at(v, "$", 0, out, outlen, err);
}

/* A buffer json_dump_callback() appends to. */
struct growbuf {
	unsigned char *p;
	size_t n, cap;
	int oom;
};

static int
grow_put(const char *buf, size_t size, void *data)
{
	struct growbuf *b = data;
	unsigned char *np;
	size_t cap;

	if (size > SIZE_MAX / 2 - b->n) {
		b->oom = 1;
		return -1;
	}
	if (b->n + size > b->cap) {
		for (cap = b->cap ? b->cap : 4096; cap < b->n + size; cap *= 2)
			;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return -1;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, buf, size);
	b->n += size;
	return 0;
}

int
ferry_json_serialize(const json_t *v, unsigned char **out, size_t *outlen,
    struct ferry_error *err)
{
	struct growbuf sb = { NULL, 0, 0, 0 };
	unsigned char *canon = NULL, *buf;
	size_t clen, n;
	int r;

	if (v == NULL || out == NULL || outlen == NULL)
		return FERRY_ERR_INVALID_ARG;
	/* Refuse what cannot be signed (reals, excessive depth) first. */
	if ((r = ferry_json_canonical(v, &canon, &clen, err)) != 0)
		return r;
	free(canon);
	/* One pass, into a buffer that grows (json_dumpb() needs two). */
	if (json_dump_callback(v, grow_put, &sb, JSON_COMPACT |
	    JSON_SORT_KEYS) != 0 || sb.oom || grow_put("", 1, &sb) != 0) {
		free(sb.p);
		return ferry_error_set(err, FERRY_ERR_NOMEM,
		    "JSON: out of memory");
	}
	buf = sb.p;
	n = sb.n - 1;
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

int
ferry_json_parse(const void *buf, size_t len, size_t max_len, json_t **out,
    struct ferry_error *err)
{
	json_error_t je;
	json_t *v;

	memset(&je, 0, sizeof(je));
	if (buf == NULL || out == NULL)
		return FERRY_ERR_INVALID_ARG;
	if (len > max_len)
		return ferry_error_set(err, FERRY_ERR_TOO_LARGE,
		    "JSON document of %zu bytes is over the limit of %zu",
		    len, max_len);
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (v == NULL) {
		/*
		 * jansson 2.14 leaves the error empty when an allocation
		 * fails (and reports some tokenizer allocation failures as
		 * syntax errors, which then fail closed as FERRY_ERR_JSON).
		 */
		if (json_error_code(&je) == json_error_out_of_memory ||
		    je.text[0] == '\0')
			return ferry_error_set(err, FERRY_ERR_NOMEM,
			    "JSON: out of memory");
		return ferry_error_set(err, FERRY_ERR_JSON,
		    "line %d column %d: %s", je.line, je.column, je.text);
	}
	*out = v;
	return 0;
}

int
ferry_json_parse_file(const char *path, size_t max_len, json_t **out,
    struct ferry_error *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = ferry_file_read(path, max_len, &buf, &len)) != 0) {
		/* The caller names the file; the detail says what went wrong. */
		if (r == FERRY_ERR_TOO_LARGE)
			return ferry_error_set(err, r,
			    "larger than the limit of %zu bytes", max_len);
		return ferry_error_set(err, r, "%s",
		    r == FERRY_ERR_IO ? strerror(errno) : ferry_strerror(r));
	}
	r = ferry_json_parse(buf, len, max_len, out, err);
	free(buf);
	return r;
}

const char *
ferry_json_cstr(const json_t *v)
{
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

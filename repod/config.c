/*
 * ferry-repod's configuration: defaults, then a JSON file, then flags.
 * Every key has one entry in the table below, which both the file and
 * the command line go through, so they parse and check alike.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>

#include "lib/json.h"
#include "repod/repod.h"

#define CONFIG_MAX (1u << 20)
#define DAY (24 * 3600)

enum kind { K_PATH, K_STR, K_UINT, K_SIZE, K_DURATION, K_LIST };

static const struct key {
	const char *name;
	enum kind kind;
	size_t off;
	uint64_t min, max;	/* numbers and durations */
} keys[] = {
#define O(f) offsetof(struct repod_config, f)
	{ "repo", K_PATH, O(repo), 0, 0 },
	{ "catalog", K_PATH, O(catalog), 0, 0 },
	{ "listen", K_LIST, O(listen), 0, 0 },
	{ "user", K_STR, O(user), 0, 0 },
	{ "threads", K_UINT, O(threads), 0, 256 },
	{ "max_connections", K_UINT, O(max_connections), 1, 1000000 },
	{ "max_per_ip", K_UINT, O(max_per_ip), 0, 1000000 },
	{ "timeout", K_UINT, O(timeout), 1, 3600 },
	{ "header_timeout", K_UINT, O(header_timeout), 1, 3600 },
	{ "access_log", K_UINT, O(access_log), 0, 1 },
	{ "conn_memory", K_SIZE, O(conn_memory), 8192, 16u << 20 },
	{ "timestamp_max_age", K_UINT, O(timestamp_max_age), 0, 86400 },
	{ "snapshot_key", K_PATH, O(snapshot_key), 0, 0 },
	{ "timestamp_key", K_PATH, O(timestamp_key), 0, 0 },
	{ "credentials", K_PATH, O(credentials), 0, 0 },
	{ "snapshot_expiry", K_DURATION, O(snapshot_expiry), 2, 3650u * DAY },
	{ "timestamp_expiry", K_DURATION, O(timestamp_expiry), 2,
	    3650u * DAY },
	{ "snapshot_refresh", K_DURATION, O(snapshot_refresh), 1,
	    3650u * DAY },
	{ "timestamp_refresh", K_DURATION, O(timestamp_refresh), 1,
	    3650u * DAY },
	{ "retain_states", K_UINT, O(retain_states), 1, 100000 },
	{ "retain_seconds", K_DURATION, O(retain_seconds), 0, 3650u * DAY },
	{ "onion", K_UINT, O(onion), 0, 1 },
	{ "onion_client_auth", K_UINT, O(onion_client_auth), 0, 1 },
	{ "onion_port", K_UINT, O(onion_port), 1, 65535 },
	{ "onion_dir", K_PATH, O(onion_dir), 0, 0 },
	{ "onion_target", K_STR, O(onion_target), 0, 0 },
	{ "tor_control", K_STR, O(tor_control), 0, 0 },
	{ "tor_cookie_file", K_PATH, O(tor_cookie_file), 0, 0 },
	{ "tor_password_file", K_PATH, O(tor_password_file), 0, 0 },
#undef O
};

static char *
join(const char *dir, const char *leaf)
{
	size_t n;
	char *p;

	if (leaf[0] == '/' || strcmp(dir, ".") == 0)
		return strdup(leaf);
	n = strlen(dir) + strlen(leaf) + 2;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, leaf);
	return p;
}

int
repod_config_init(struct repod_config *c, const char *dir)
{
	memset(c, 0, sizeof(*c));
	c->passphrase_fd = -1;
	c->threads = 0;
	c->max_connections = 1024;
	c->max_per_ip = 64;
	c->timeout = 15;
	c->header_timeout = 10;
	c->conn_memory = 32u << 10;
	c->timestamp_max_age = 60;
	c->snapshot_expiry = 7 * DAY;
	c->timestamp_expiry = DAY;
	c->snapshot_refresh = 3 * DAY;
	c->timestamp_refresh = DAY / 2;
	c->retain_states = 4;
	c->retain_seconds = DAY;
	c->onion_port = 80;
	if ((c->dir = strdup(dir)) == NULL ||
	    (c->onion_dir = join(dir, "onion")) == NULL ||
	    (c->tor_control = strdup("127.0.0.1:9051")) == NULL ||
	    (c->repo = join(dir, "repo")) == NULL ||
	    (c->catalog = join(dir, "catalog.db")) == NULL ||
	    (c->snapshot_key = join(dir, "keys/snapshot.key")) == NULL ||
	    (c->timestamp_key = join(dir, "keys/timestamp.key")) == NULL ||
	    (c->listen[0] = strdup("127.0.0.1:8080")) == NULL ||
	    (c->user = strdup("ferry-repod")) == NULL) {
		repod_config_free(c);
		return FERRY_ERR_NOMEM;
	}
	c->nlisten = 1;
	return 0;
}

void
repod_config_free(struct repod_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->dir);
	free(c->repo);
	free(c->catalog);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->user);
	free(c->snapshot_key);
	free(c->timestamp_key);
	free(c->credentials);
	free(c->onion_dir);
	free(c->onion_target);
	free(c->tor_control);
	free(c->tor_cookie_file);
	free(c->tor_password_file);
	memset(c, 0, sizeof(*c));
	c->passphrase_fd = -1;
}

int
repod_parse_duration(const char *s, int64_t *out)
{
	unsigned long long v;
	int64_t mul = 1;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = DAY;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > (unsigned long long)(INT64_MAX / mul))
		return -1;
	*out = (int64_t)v * mul;
	return 0;
}

/* "IPv4:PORT" or "[IPv6]:PORT" into ss; 0 or -1. */
int
repod_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon;
	unsigned long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if ((colon = strrchr(s, ':')) == NULL ||
	    (n = (size_t)(colon - s)) == 0 || n >= sizeof(host))
		return -1;
	errno = 0;
	port = colon[1] >= '0' && colon[1] <= '9' ?
	    strtoul(colon + 1, &end, 10) : 65536;
	if (port > 65535 || errno != 0 || *end != '\0')
		return -1;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		memcpy(host, s + 1, n - 2);
		host[n - 2] = '\0';
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	*len = sizeof(*sin);
	return 0;
}

static const struct key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
set_number(struct repod_config *c, const struct key *k, uint64_t v,
    const char *where, struct ferry_error *err)
{
	char *base = (char *)c;

	if (v < k->min || v > k->max)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s%s: %llu is out of range (%llu to %llu)", where, k->name,
		    (unsigned long long)v, (unsigned long long)k->min,
		    (unsigned long long)k->max);
	switch (k->kind) {
	case K_UINT:
		*(unsigned *)(base + k->off) = (unsigned)v;
		break;
	case K_SIZE:
		*(size_t *)(base + k->off) = (size_t)v;
		break;
	case K_DURATION:
		*(int64_t *)(base + k->off) = (int64_t)v;
		break;
	default:
		return FERRY_ERR_INTERNAL;
	}
	return 0;
}

/* One value, given as text (flags, durations in the file) or a number. */
static int
set_text(struct repod_config *c, const struct key *k, const char *v,
    const char *where, int append, struct ferry_error *err)
{
	char *base = (char *)c, **slot, *copy;
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned long long n;
	int64_t d;
	char *end;

	if (v[0] == '\0')
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s%s: empty", where, k->name);
	switch (k->kind) {
	case K_PATH:
	case K_STR:
		/* Paths in the file are relative to DIR, on the command
		 * line to the working directory. */
		copy = k->kind == K_PATH && strcmp(where, "--") != 0 ?
		    join(c->dir, v) : strdup(v);
		if (copy == NULL)
			return FERRY_ERR_NOMEM;
		slot = (char **)(base + k->off);
		free(*slot);
		*slot = copy;
		return 0;
	case K_LIST:
		if (!append) {
			while (c->nlisten > 0)
				free(c->listen[--c->nlisten]);
		}
		if (repod_parse_addr(v, &ss, &sslen) != 0)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s%s: \"%s\" is not IPv4:PORT or [IPv6]:PORT",
			    where, k->name, v);
		if (c->nlisten == REPOD_MAX_LISTEN)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s%s: at most %d addresses", where, k->name,
			    REPOD_MAX_LISTEN);
		if ((c->listen[c->nlisten] = strdup(v)) == NULL)
			return FERRY_ERR_NOMEM;
		c->nlisten++;
		return 0;
	case K_DURATION:
		if (repod_parse_duration(v, &d) != 0)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s%s: \"%s\" is not a duration (like 90s, 15m, "
			    "6h, 7d)", where, k->name, v);
		return set_number(c, k, (uint64_t)d, where, err);
	case K_UINT:
	case K_SIZE:
		errno = 0;
		n = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
		if (*v < '0' || *v > '9' || errno != 0 || *end != '\0')
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s%s: \"%s\" is not a number", where, k->name, v);
		return set_number(c, k, (uint64_t)n, where, err);
	}
	return FERRY_ERR_INTERNAL;
}

static int
set_json(struct repod_config *c, const struct key *k, json_t *v,
    const char *file, struct ferry_error *err)
{
	char where[PATH_MAX + 8];
	const char *s;
	size_t i;
	json_t *e;
	int r;

	snprintf(where, sizeof(where), "%s: ", file);
	if (k->kind == K_LIST) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s%s: must be a non-empty array of addresses",
			    where, k->name);
		json_array_foreach(v, i, e) {
			if ((s = ferry_json_cstr(e)) == NULL)
				return ferry_error_set(err,
				    FERRY_ERR_INVALID_ARG, "%s%s[%zu]: must "
				    "be a string", where, k->name, i);
			if ((r = set_text(c, k, s, where, i > 0, err)) != 0)
				return r;
		}
		return 0;
	}
	if ((k->kind == K_UINT || k->kind == K_SIZE ||
	    k->kind == K_DURATION) && json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s%s: must not be negative", where, k->name);
		return set_number(c, k, (uint64_t)json_integer_value(v),
		    where, err);
	}
	if ((s = ferry_json_cstr(v)) == NULL || k->kind == K_UINT ||
	    k->kind == K_SIZE)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s%s: must "
		    "be %s", where, k->name, k->kind == K_UINT ||
		    k->kind == K_SIZE ? "a non-negative integer" :
		    k->kind == K_DURATION ? "a duration (\"7d\") or seconds" :
		    "a string");
	return set_text(c, k, s, where, 0, err);
}

int
repod_config_load(struct repod_config *c, const char *path,
    struct ferry_error *err)
{
	struct ferry_error perr = { 0 };
	const struct key *k;
	const char *name;
	char *deflt = NULL;
	struct stat st;
	json_t *doc = NULL, *v;
	int r;

	if (path == NULL) {
		if ((deflt = join(c->dir, "repod.json")) == NULL)
			return FERRY_ERR_NOMEM;
		path = deflt;
		if (stat(path, &st) != 0 && errno == ENOENT) {
			free(deflt);
			return 0;
		}
	}
	if ((r = ferry_json_parse_file(path, CONFIG_MAX, &doc, &perr)) != 0) {
		/* Its detail says what went wrong; this names the file. */
		r = ferry_error_set(err, r, "%s: %s", path, perr.msg);
		goto out;
	}
	if (!json_is_object(doc)) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: must be a JSON object", path);
		goto out;
	}
	json_object_foreach(doc, name, v) {
		if ((k = find_key(name)) == NULL) {
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s: unknown key \"%s\"", path, name);
			goto out;
		}
		if ((r = set_json(c, k, v, path, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	json_decref(doc);
	free(deflt);
	return r;
}

int
repod_config_set(struct repod_config *c, const char *key, const char *value,
    struct ferry_error *err)
{
	const struct key *k = find_key(key);

	if (k == NULL)
		return 1;
	/* Each --listen adds; the first one replaces the file's list. */
	return set_text(c, k, value, "--", k->kind == K_LIST &&
	    c->listen_from_flags++ > 0, err);
}

int
repod_config_check(const struct repod_config *c, struct ferry_error *err)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (strncmp(c->tor_control, "unix:/", 6) != 0 &&
	    repod_parse_addr(c->tor_control, &ss, &len) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "tor_control: \"%s\" is not unix:/PATH, IPv4:PORT or "
		    "[IPv6]:PORT", c->tor_control);
	if (c->onion_target != NULL &&
	    repod_parse_addr(c->onion_target, &ss, &len) != 0)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "onion_target: \"%s\" is not IPv4:PORT or [IPv6]:PORT",
		    c->onion_target);
	if (c->timestamp_refresh >= c->timestamp_expiry)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "timestamp_refresh (%llds) must be shorter than "
		    "timestamp_expiry (%llds)", (long long)c->timestamp_refresh,
		    (long long)c->timestamp_expiry);
	if (c->snapshot_refresh >= c->snapshot_expiry)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "snapshot_refresh (%llds) must be shorter than "
		    "snapshot_expiry (%llds)", (long long)c->snapshot_refresh,
		    (long long)c->snapshot_expiry);
	return 0;
}

/*
 * ferry-mirror's configuration, DIR/mirror.json:
 *
 *   {"upstreams": ["http://origin.example:8080", "/media/usb/repo"],
 *    "targets": ["firmware.img", "apps/..."], "retain_states": 4,
 *    "parallel": 4}
 *
 * upstreams are tried in order (a base URL or directory holding
 * metadata/ and targets/); targets are path patterns of the targets to
 * mirror (none: all); retain_states is how many published states stay
 * for clients in the middle of a refresh; parallel is how many targets
 * are downloaded at once.  An unknown key is refused.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/file.h"
#include "lib/json.h"
#include "lib/pathpattern.h"
#include "lib/fetch.h"
#include "mirror/mirror.h"

#define CONFIG_MAX (1u << 20)

static int
load_list(json_t *v, const char *file, const char *key, char **out,
    size_t max, size_t *n, struct ferry_error *err)
{
	const char *s;
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) > max)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: %s: "
		    "must be an array of at most %zu strings", file, key, max);
	json_array_foreach(v, i, e) {
		if ((s = ferry_json_cstr(e)) == NULL || *s == '\0')
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s: %s[%zu]: must be a non-empty string", file,
			    key, i);
		if ((out[(*n)++] = strdup(s)) == NULL)
			return FERRY_ERR_NOMEM;
	}
	return 0;
}

int
mirror_config_load(const char *dir, struct mirror_config *c,
    struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	char file[PATH_MAX];
	unsigned char *buf = NULL;
	const char *key;
	json_t *doc = NULL, *v;
	size_t len;
	int r;

	memset(c, 0, sizeof(*c));
	c->retain_states = 4;
	c->parallel = 4;
	if ((c->dir = strdup(dir)) == NULL)
		return FERRY_ERR_NOMEM;
	snprintf(file, sizeof(file), "%s/mirror.json", dir);
	if ((r = ferry_file_read(file, CONFIG_MAX, &buf, &len)) != 0) {
		if (r == FERRY_ERR_IO && errno == ENOENT)
			r = ferry_error_set(err, FERRY_ERR_NOT_FOUND, "%s: no "
			    "such file: not a mirror (ferry-mirror init makes "
			    "one)", file);
		else
			r = ferry_error_set(err, r, "%s: %s", file,
			    r == FERRY_ERR_IO ? strerror(errno) :
			    ferry_strerror(r));
		goto out;
	}
	r = ferry_json_parse(buf, len, CONFIG_MAX, &doc, &e);
	free(buf);
	if (r != 0) {
		r = ferry_error_set(err, r, "%s: %s", file,
		    ferry_error_msg(&e));
		goto out;
	}
	if (!json_is_object(doc)) {
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: not a "
		    "JSON object", file);
		goto out;
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "upstreams") == 0)
			r = load_list(v, file, key, c->upstreams,
			    MIRROR_MAX_UPSTREAMS, &c->nupstreams, err);
		else if (strcmp(key, "targets") == 0)
			r = load_list(v, file, key, c->patterns,
			    MIRROR_MAX_PATTERNS, &c->npatterns, err);
		else if (strcmp(key, "retain_states") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 1000)
				r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
				    "%s: retain_states: must be an integer "
				    "from 1 to 1000", file);
			else
				c->retain_states =
				    (unsigned)json_integer_value(v);
		} else if (strcmp(key, "parallel") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > MIRROR_MAX_PARALLEL)
				r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
				    "%s: parallel: must be an integer from 1 "
				    "to %d", file, MIRROR_MAX_PARALLEL);
			else
				c->parallel = (unsigned)json_integer_value(v);
		} else if (strcmp(key, "proxy") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v) ||
			    !ferry_fetch_proxy_ok(json_string_value(v)))
				r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
				    "%s: proxy: must be \"socks5h://HOST:PORT\" "
				    "(a SOCKS proxy that resolves names, such as "
				    "Tor's)", file);
			else if ((c->proxy = strdup(json_string_value(v))) ==
			    NULL)
				r = FERRY_ERR_NOMEM;
		} else
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "%s: "
			    "unknown key \"%s\"", file, key);
		if (r != 0)
			goto out;
	}
 out:
	json_decref(doc);
	if (r != 0)
		mirror_config_free(c);
	return r;
}

int
mirror_config_save(const struct mirror_config *c, struct ferry_error *err)
{
	char file[PATH_MAX], *out = NULL;
	json_t *doc, *up, *pat;
	size_t i;
	int r = FERRY_ERR_NOMEM;

	snprintf(file, sizeof(file), "%s/mirror.json", c->dir);
	doc = json_object();
	up = json_array();
	pat = json_array();
	if (doc == NULL || up == NULL || pat == NULL)
		goto out;
	for (i = 0; i < c->nupstreams; i++)
		if (json_array_append_new(up, json_string(c->upstreams[i])) != 0)
			goto out;
	for (i = 0; i < c->npatterns; i++)
		if (json_array_append_new(pat, json_string(c->patterns[i])) != 0)
			goto out;
	if (json_object_set(doc, "upstreams", up) != 0 ||
	    json_object_set(doc, "targets", pat) != 0 ||
	    json_object_set_new(doc, "retain_states",
	    json_integer(c->retain_states)) != 0 ||
	    json_object_set_new(doc, "parallel",
	    json_integer(c->parallel)) != 0 ||
	    (c->proxy != NULL && json_object_set_new(doc, "proxy",
	    json_string(c->proxy)) != 0))
		goto out;
	if ((out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		goto out;
	if ((r = ferry_file_write_atomic(file, out, strlen(out), 0644)) != 0)
		r = ferry_error_set(err, r, "%s: %s", file, r == FERRY_ERR_IO ?
		    strerror(errno) : ferry_strerror(r));
 out:
	free(out);
	json_decref(up);
	json_decref(pat);
	json_decref(doc);
	return r;
}

void
mirror_config_free(struct mirror_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nupstreams; i++)
		free(c->upstreams[i]);
	for (i = 0; i < c->npatterns; i++)
		free(c->patterns[i]);
	free(c->dir);
	free(c->proxy);
	memset(c, 0, sizeof(*c));
}

int
mirror_config_wants(const struct mirror_config *c, const char *path)
{
	size_t i;

	if (c->npatterns == 0)
		return 1;
	for (i = 0; i < c->npatterns; i++)
		if (ferry_pathpattern_match(c->patterns[i], path) == 1)
			return 1;
	return 0;
}

/* ferry's state directory: DIR/config.json names the mirrors. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client/ferry.h"
#include "lib/fetch.h"
#include "lib/file.h"
#include "lib/json.h"
#include "onion/hskey.h"

#define CONFIG_MAX (1u << 20)

int
client_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("ferry: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
client_fail(const char *what, const struct ferry_error *err)
{
	return client_failf("%s: %s", what, ferry_error_msg(err));
}

static int
dir_path(const struct client *c, const char *leaf, char **out)
{
	size_t n = strlen(c->dir) + strlen(leaf) + 2;

	if ((*out = malloc(n)) == NULL)
		return FERRY_ERR_NOMEM;
	snprintf(*out, n, "%s/%s", c->dir, leaf);
	return 0;
}

static int
load_list(json_t *cfg, const char *key, char **v, size_t *n,
    struct ferry_error *err)
{
	json_t *a = json_object_get(cfg, key);
	const char *s;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > FERRY_MAX_MIRRORS)
		return ferry_error_set(err, FERRY_ERR_INVALID_ARG, "config.json: "
		    "%s: must be an array of at most %d URLs", key,
		    FERRY_MAX_MIRRORS);
	for (i = 0; i < json_array_size(a); i++) {
		if ((s = ferry_json_cstr(json_array_get(a, i))) == NULL)
			return ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "config.json: %s[%zu]: must be a string", key, i);
		if ((v[(*n)++] = strdup(s)) == NULL)
			return FERRY_ERR_NOMEM;
	}
	return 0;
}

int
client_load(struct client *c, struct ferry_error *err)
{
	struct ferry_error e = { 0 };
	json_t *cfg = NULL, *proxy, *onion;
	char *path = NULL;
	int r;

	if ((r = dir_path(c, "metadata", &c->metadata_dir)) != 0 ||
	    (r = dir_path(c, "targets", &c->targets_dir)) != 0 ||
	    (r = dir_path(c, "config.json", &path)) != 0)
		goto out;
	if ((r = ferry_json_parse_file(path, CONFIG_MAX, &cfg, &e)) != 0) {
		int missing = r == FERRY_ERR_IO && errno == ENOENT;

		r = ferry_error_set(err, r, "%s: %s%s", path,
		    ferry_error_msg(&e), missing ?
		    " (run \"ferry init\" first)" : "");
		goto out;
	}
	if ((r = load_list(cfg, "mirrors", c->mirrors, &c->nmirrors,
	    err)) != 0 || (r = load_list(cfg, "target_mirrors",
	    c->target_mirrors, &c->ntarget_mirrors, err)) != 0)
		goto out;
	if ((proxy = json_object_get(cfg, "proxy")) != NULL &&
	    ferry_json_cstr(proxy) != NULL &&
	    (c->proxy = strdup(ferry_json_cstr(proxy))) == NULL) {
		r = FERRY_ERR_NOMEM;
		goto out;
	}
	if ((onion = json_object_get(cfg, "onion")) != NULL) {
		if (ferry_json_cstr(onion) == NULL ||
		    onion_address_check(ferry_json_cstr(onion), NULL,
		    &e) != 0) {
			r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
			    "%s: onion: %s", path, ferry_json_cstr(onion) ==
			    NULL ? "must be a string" : ferry_error_msg(&e));
			goto out;
		}
		if ((c->onion = strdup(ferry_json_cstr(onion))) == NULL) {
			r = FERRY_ERR_NOMEM;
			goto out;
		}
	}
	if (c->nmirrors == 0)
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG,
		    "%s: no mirrors", path);
	else
		r = client_check_mirrors(c, 0, err);
 out:
	json_decref(cfg);
	free(path);
	return r;
}

int
client_save(const struct client *c, struct ferry_error *err)
{
	json_t *cfg, *m, *t;
	unsigned char *buf = NULL;
	char *path = NULL;
	size_t i, len;
	int r = FERRY_ERR_NOMEM;

	cfg = json_object();
	m = json_array();
	t = json_array();
	if (cfg == NULL || m == NULL || t == NULL)
		goto out;
	for (i = 0; i < c->nmirrors; i++)
		if (json_array_append_new(m, json_string(c->mirrors[i])) != 0)
			goto out;
	for (i = 0; i < c->ntarget_mirrors; i++)
		if (json_array_append_new(t,
		    json_string(c->target_mirrors[i])) != 0)
			goto out;
	if (json_object_set(cfg, "mirrors", m) != 0 ||
	    json_object_set(cfg, "target_mirrors", t) != 0 ||
	    (c->proxy != NULL && json_object_set_new(cfg, "proxy",
	    json_string(c->proxy)) != 0) ||
	    (c->onion != NULL && json_object_set_new(cfg, "onion",
	    json_string(c->onion)) != 0))
		goto out;
	if ((r = ferry_json_serialize(cfg, &buf, &len, err)) != 0 ||
	    (r = dir_path(c, "config.json", &path)) != 0)
		goto out;
	if ((r = ferry_file_write_atomic(path, buf, len, 0644)) != 0)
		ferry_error_set(err, r, "%s: %s", path, strerror(errno));
 out:
	json_decref(m);
	json_decref(t);
	json_decref(cfg);
	free(buf);
	free(path);
	return r;
}

void
client_clear(struct client *c)
{
	size_t i;

	for (i = 0; i < c->nmirrors; i++)
		free(c->mirrors[i]);
	for (i = 0; i < c->ntarget_mirrors; i++)
		free(c->target_mirrors[i]);
	free(c->metadata_dir);
	free(c->targets_dir);
	free(c->proxy);
	free(c->tor_proxy);
	free(c->onion);
	c->nmirrors = c->ntarget_mirrors = 0;
	c->metadata_dir = c->targets_dir = c->proxy = c->onion = NULL;
	c->tor_proxy = NULL;
}

int
client_updater(const struct client *c, struct ferry_updater **u,
    struct ferry_error *err)
{
	struct ferry_updater_config cfg;

	ferry_updater_config_default(&cfg);
	cfg.metadata_dir = c->metadata_dir;
	cfg.metadata_urls = (const char *const *)c->mirrors;
	cfg.nmetadata_urls = c->nmirrors;
	cfg.target_urls = (const char *const *)c->target_mirrors;
	cfg.ntarget_urls = c->ntarget_mirrors;
	cfg.fetch.proxy = c->proxy;
	cfg.fetch.isolation = "metadata";
	return ferry_updater_new(&cfg, u, err);
}

char *
client_tor_proxy(const char *addr)
{
	size_t n;
	char *p;

	if (addr == NULL || *addr == '\0')
		addr = FERRY_TOR_DEFAULT;
	n = sizeof("socks5h://") + strlen(addr);
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "socks5h://%s", addr);
	return p;
}

/*
 * Whether url's host is a .onion name other than the pinned one (with
 * a pin), or one that there is no proxy to reach (with need_proxy).
 */
static int
check_one(const struct client *c, const char *url, int need_proxy,
    struct ferry_error *err)
{
	char canon[ONION_ADDR_LEN + 1], pin[ONION_ADDR_LEN + 1];
	char *host = NULL;
	CURLU *h;
	int r = 0;

	if ((h = curl_url()) == NULL)
		return FERRY_ERR_NOMEM;
	/* Local paths and file:// URLs have no host: nothing to check. */
	if (curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    onion_is_onion_host(host) && c->onion != NULL &&
	    (onion_address_check(host, canon, NULL) != 0 ||
	    onion_address_check(c->onion, pin, NULL) != 0 ||
	    strcmp(canon, pin) != 0))
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "mirror %s: "
		    "not the pinned onion address %s", url, c->onion);
	else if (need_proxy && c->proxy == NULL &&
	    ferry_fetch_url_needs_proxy(url))
		r = ferry_error_set(err, FERRY_ERR_INVALID_ARG, "mirror %s: "
		    "an onion service is reached only through Tor (--tor, "
		    "or --proxy socks5h://HOST:PORT)", url);
	curl_free(host);
	curl_url_cleanup(h);
	return r;
}

int
client_check_mirrors(const struct client *c, int need_proxy,
    struct ferry_error *err)
{
	size_t i;
	int r;

	if (c->onion == NULL && !need_proxy)
		return 0;
	for (i = 0; i < c->nmirrors; i++)
		if ((r = check_one(c, c->mirrors[i], need_proxy, err)) != 0)
			return r;
	for (i = 0; i < c->ntarget_mirrors; i++)
		if ((r = check_one(c, c->target_mirrors[i], need_proxy,
		    err)) != 0)
			return r;
	return 0;
}

/*
 * Why one file over 800 lines: most of it is one table of settings walked
 * by every source (defaults, user configuration, environment, rover.json)
 * with the tighten-only rule for the repository's values; the agent's user
 * and the re-owning of the files it wrote are the other half of the same
 * decision (which uid the container runs as), made from the same settings.
 * Re-owning a tree (chown_entries and its callers) is the part to move out
 * if this file grows further.
 */
#define _GNU_SOURCE
#include "hardening.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/numutil.h"
#include "common/jsonutil.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/userconfig.h"

/* The settings, in the order of struct hardening's where[]. */
enum key { K_PIDS, K_MEMORY, K_CPUS, K_CAP_ADD, K_NNP, K_RO, K_USER, K_N };

static const char *const key_names[K_N] = {"pidsLimit",       "memory",         "cpus", "capAdd",
					   "noNewPrivileges", "readOnlyRootfs", "user"};
static const char *const env_names[K_N] = {HARDENING_ENV_PIDS_LIMIT,
					   HARDENING_ENV_MEMORY,
					   HARDENING_ENV_CPUS,
					   HARDENING_ENV_CAP_ADD,
					   HARDENING_ENV_NO_NEW_PRIVILEGES,
					   HARDENING_ENV_READ_ONLY_ROOTFS,
					   HARDENING_ENV_USER};

/* Linux capabilities by number (capability.h), without CAP_. */
static const char *const cap_names[] = {
	"CHOWN",
	"DAC_OVERRIDE",
	"DAC_READ_SEARCH",
	"FOWNER",
	"FSETID",
	"KILL",
	"SETGID",
	"SETUID",
	"SETPCAP",
	"LINUX_IMMUTABLE",
	"NET_BIND_SERVICE",
	"NET_BROADCAST",
	"NET_ADMIN",
	"NET_RAW",
	"IPC_LOCK",
	"IPC_OWNER",
	"SYS_MODULE",
	"SYS_RAWIO",
	"SYS_CHROOT",
	"SYS_PTRACE",
	"SYS_PACCT",
	"SYS_ADMIN",
	"SYS_BOOT",
	"SYS_NICE",
	"SYS_RESOURCE",
	"SYS_TIME",
	"SYS_TTY_CONFIG",
	"MKNOD",
	"LEASE",
	"AUDIT_WRITE",
	"AUDIT_CONTROL",
	"SETFCAP",
	"MAC_OVERRIDE",
	"MAC_ADMIN",
	"SYSLOG",
	"WAKE_ALARM",
	"BLOCK_SUSPEND",
	"AUDIT_READ",
	"PERFMON",
	"BPF",
	"CHECKPOINT_RESTORE",
};

#define USER_CONFIG_HINT "\"container\" in ~/.config/rover/config.json"

/* One source's values, parsed and checked, not yet applied. */
struct layer {
	bool has[K_N];
	int64_t pids, memory, nano_cpus;
	char **caps; /* NULL-terminated */
	size_t n_caps;
	bool nnp, ro;
	char *user;
};

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static void layer_release(struct layer *l)
{
	strv_free(l->caps);
	free(l->user);
	memset(l, 0, sizeof(*l));
}

struct hardening_host hardening_host_now(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return (struct hardening_host){.ncpus = n >= 1 ? (int)n : 1};
}

void hardening_defaults(const struct hardening_host *host, struct hardening *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->cap_add = xcalloc(1, sizeof(char *));
	ret->no_new_privileges = true;
	ret->pids_limit = HARDENING_DEFAULT_PIDS_LIMIT;
	ret->memory = HARDENING_DEFAULT_MEMORY;
	ret->nano_cpus = (int64_t)(host->ncpus >= 1 ? host->ncpus : 1) * 1000000000LL;
	for (size_t i = 0; i < K_N; i++)
		ret->where[i] = xstrdup("default");
}

void hardening_release(struct hardening *h)
{
	if (!h)
		return;
	strv_free(h->cap_add);
	free(h->user);
	for (size_t i = 0; i < K_N; i++)
		free(h->where[i]);
	memset(h, 0, sizeof(*h));
}

/* ---- values -------------------------------------------------------------- */

/* A plain decimal: digits with at most one '.', at least one digit, nothing
 * before (no sign, no space); strtod's hex, exponents, inf and nan are not
 * numbers here.  *ret_end: first byte after it. */
static bool decimal(const char *s, double *ret, const char **ret_end)
{
	const char *p = s;
	bool digit = false, dot = false;
	for (;; p++) {
		if (isdigit((unsigned char)*p))
			digit = true;
		else if (*p == '.' && !dot)
			dot = true;
		else
			break;
	}
	if (!digit)
		return false;
	_cleanup_free_ char *num = xstrndup(s, (size_t)(p - s));
	*ret = strtod(num, NULL);
	*ret_end = p;
	return isfinite(*ret);
}

int hardening_parse_memory(const char *s, int64_t *ret)
{
	double v;
	const char *p;
	if (!s || !decimal(s, &v, &p))
		return -EINVAL;
	/* Docker's units (b, k, m, g, t; powers of 1024), with the spellings
	 * people also write: "kb", "Gi", "GiB". */
	static const char *const units[] = {"", "k", "m", "g", "t"};
	char unit[8] = "";
	size_t ul = strlen(p);
	if (ul >= sizeof(unit))
		return -EINVAL;
	for (size_t i = 0; i <= ul; i++)
		unit[i] = (char)tolower((unsigned char)p[i]);
	if (ul && unit[ul - 1] == 'b')
		unit[--ul] = '\0';
	if (ul == 2 && unit[1] == 'i')
		unit[--ul] = '\0';
	double mult = -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(unit, units[i]))
			mult = (double)(1LL << (10 * i));
	if (mult < 0 || (ul == 0 && p[0] && tolower((unsigned char)p[0]) != 'b'))
		return -EINVAL;
	double bytes = v * mult;
	if (bytes > (double)HARDENING_MAX_MEMORY)
		return -ERANGE;
	*ret = (int64_t)bytes;
	return 0;
}

int hardening_parse_cpus(const char *s, int64_t *ret)
{
	double v;
	const char *p;
	if (!s || !decimal(s, &v, &p) || *p)
		return -EINVAL;
	if (v > 1e6)
		return -ERANGE;
	*ret = numutil_round_i64(v * 1e9);
	return 0;
}

char *hardening_cap_name(const char *s)
{
	if (!s)
		return NULL;
	if (!strncasecmp(s, "CAP_", 4))
		s += 4;
	if (!strcasecmp(s, "ALL"))
		return xstrdup("ALL");
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (!strcasecmp(s, cap_names[i]))
			return xstrdup(cap_names[i]);
	return NULL;
}

static bool parse_id(const char *s, size_t len, unsigned long *ret)
{
	if (len == 0 || len > 10)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 0x7fffffffUL)
		return false;
	*ret = v;
	return true;
}

static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 32 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* "uid:gid" (both numeric) fills *uid, *gid and returns 1; a name, "name:group"
 * or "name:gid" returns 0; anything else (a bare uid among them: its group
 * would be the image's choice, often root) -EINVAL. */
static int user_parse(const char *s, uid_t *uid, gid_t *gid)
{
	const char *colon = strchr(s, ':');
	size_t l1 = colon ? (size_t)(colon - s) : strlen(s);
	const char *g = colon ? colon + 1 : NULL;
	unsigned long u = 0, gg = 0;
	bool u_num = parse_id(s, l1, &u);
	if (!u_num && !name_ok(s, l1))
		return -EINVAL;
	if (!g)
		return u_num ? -EINVAL : 0;
	bool g_num = parse_id(g, strlen(g), &gg);
	if (!g_num && !name_ok(g, strlen(g)))
		return -EINVAL;
	if (u_num && g_num) {
		*uid = (uid_t)u;
		*gid = (gid_t)gg;
		return 1;
	}
	return u_num ? -EINVAL : 0;
}

static int bool_parse(const char *s, bool *ret)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- checks shared by every source ---------------------------------------- */

static int check_pids(int64_t v, const char *src, const char *key, struct rv_error **err)
{
	if (v == 0 || (v >= HARDENING_MIN_PIDS_LIMIT && v <= 4194304))
		return 0;
	return rv_error_set(err, EINVAL, "%s: %s must be 0 (no limit) or %d to 4194304, not %lld",
			    src, key, HARDENING_MIN_PIDS_LIMIT, (long long)v);
}

static int check_memory(int64_t v, const char *src, const char *key, struct rv_error **err)
{
	if (v == 0 || (v >= HARDENING_MIN_MEMORY && v <= HARDENING_MAX_MEMORY))
		return 0;
	return rv_error_set(err, EINVAL,
			    "%s: %s must be 0 (no limit) or at least 16m (like \"512m\", \"4g\"), "
			    "not %lld bytes",
			    src, key, (long long)v);
}

static int check_cpus(int64_t nano, const struct hardening_host *host, const char *src,
		      const char *key, struct rv_error **err)
{
	if (nano == 0)
		return 0;
	if (nano < HARDENING_MIN_NANO_CPUS)
		return rv_error_set(err, EINVAL, "%s: %s must be 0 (no limit) or at least 0.01",
				    src, key);
	if (nano > (int64_t)host->ncpus * 1000000000LL)
		return rv_error_set(
			err, EINVAL,
			"%s: %s %.2f is more than the %d CPUs this host has (the engines "
			"refuse it)",
			src, key, (double)nano / 1e9, host->ncpus);
	return 0;
}

static int add_cap(struct layer *l, const char *raw, const char *src, const char *key,
		   struct rv_error **err)
{
	_cleanup_free_ char *c = hardening_cap_name(raw);
	if (!c)
		return rv_error_set(err, EINVAL,
				    "%s: %s names '%.64s', which is not a Linux capability (like "
				    "\"CHOWN\", \"NET_BIND_SERVICE\")",
				    src, key, raw);
	for (size_t i = 0; i < l->n_caps; i++)
		if (!strcmp(l->caps[i], c))
			return 0;
	l->caps = xrealloc(l->caps, (l->n_caps + 2) * sizeof(char *));
	l->caps[l->n_caps++] = TAKE_PTR(c);
	l->caps[l->n_caps] = NULL;
	return 0;
}

static int set_user(struct layer *l, const char *v, const char *src, const char *key,
		    struct rv_error **err)
{
	uid_t u;
	gid_t g;
	if (strlen(v) > 64 || user_parse(v, &u, &g) < 0)
		return rv_error_set(err, EINVAL,
				    "%s: %s '%.64s' must be uid:gid (like \"1000:1000\") or a user "
				    "name of the image",
				    src, key, v);
	free(l->user);
	l->user = xstrdup(v);
	l->has[K_USER] = true;
	return 0;
}

/* ---- parsing a source ----------------------------------------------------- */

static int layer_from_json(struct json_object *c, const struct hardening_host *host,
			   const char *what, struct layer *l, struct rv_error **err)
{
	if (!json_object_is_type(c, json_type_object))
		return rv_error_set(err, EINVAL, "%s: \"container\" must be an object", what);
	json_object_object_foreach(c, key, v)
	{
		size_t k = 0;
		while (k < K_N && strcmp(key, key_names[k]) != 0)
			k++;
		if (k == K_N)
			return rv_error_set(
				err, EINVAL,
				"%s: unknown setting container.%.64s (known: pidsLimit, "
				"memory, cpus, capAdd, noNewPrivileges, readOnlyRootfs, user)",
				what, key);
		_cleanup_free_ char *name = xasprintf("container.%s", key);
		enum json_type t = json_object_get_type(v);
		int r = 0;
		switch ((enum key)k) {
		case K_PIDS:
			if (t != json_type_int)
				return rv_error_set(err, EINVAL, "%s: %s must be an integer", what,
						    name);
			l->pids = json_object_get_int64(v);
			r = check_pids(l->pids, what, name, err);
			break;
		case K_MEMORY:
			if (t == json_type_int) {
				l->memory = json_object_get_int64(v);
			} else if (t == json_type_string) {
				if (hardening_parse_memory(json_object_get_string(v), &l->memory) <
				    0)
					return rv_error_set(err, EINVAL,
							    "%s: %s '%.64s' is not a size (like "
							    "\"512m\", \"4g\")",
							    what, name, json_object_get_string(v));
			} else {
				return rv_error_set(
					err, EINVAL,
					"%s: %s must be a size string (\"4g\") or bytes", what,
					name);
			}
			r = check_memory(l->memory, what, name, err);
			break;
		case K_CPUS:
			if (t == json_type_int || t == json_type_double) {
				double d = json_object_get_double(v);
				if (!(d >= 0 && d <= 1e6))
					return rv_error_set(err, EINVAL, "%s: %s must be 0 or more",
							    what, name);
				l->nano_cpus = numutil_round_i64(d * 1e9);
			} else if (t == json_type_string) {
				if (hardening_parse_cpus(json_object_get_string(v), &l->nano_cpus) <
				    0)
					return rv_error_set(
						err, EINVAL,
						"%s: %s '%.64s' is not a number of CPUs "
						"(like 1.5)",
						what, name, json_object_get_string(v));
			} else {
				return rv_error_set(err, EINVAL, "%s: %s must be a number", what,
						    name);
			}
			r = check_cpus(l->nano_cpus, host, what, name, err);
			break;
		case K_CAP_ADD:
			if (t != json_type_array)
				return rv_error_set(err, EINVAL,
						    "%s: %s must be an array of capability names",
						    what, name);
			l->caps = xcalloc(1, sizeof(char *));
			for (size_t i = 0; i < json_object_array_length(v) && r == 0; i++) {
				struct json_object *e = json_object_array_get_idx(v, i);
				if (!json_object_is_type(e, json_type_string))
					return rv_error_set(err, EINVAL,
							    "%s: %s must hold strings only", what,
							    name);
				r = add_cap(l, json_object_get_string(e), what, name, err);
			}
			break;
		case K_NNP:
		case K_RO:
			if (t != json_type_boolean)
				return rv_error_set(err, EINVAL, "%s: %s must be true or false",
						    what, name);
			*(k == K_NNP ? &l->nnp : &l->ro) = json_object_get_boolean(v);
			break;
		case K_USER:
			if (t != json_type_string)
				return rv_error_set(err, EINVAL, "%s: %s must be a string", what,
						    name);
			r = set_user(l, json_object_get_string(v), what, name, err);
			break;
		case K_N:
			break;
		}
		if (r < 0)
			return r;
		l->has[k] = true;
	}
	return 0;
}

static int layer_from_env(const char *(*getenv_fn)(const char *), const struct hardening_host *host,
			  struct layer *l, struct rv_error **err)
{
	for (size_t k = 0; k < K_N; k++) {
		const char *name = env_names[k];
		const char *v = getenv_fn(name);
		if (!v || !*v)
			continue;
		_cleanup_free_ char *src = xasprintf("environment variable %s", name);
		int r = 0;
		switch ((enum key)k) {
		case K_PIDS: {
			char *end = NULL;
			errno = 0;
			long long n = strtoll(v, &end, 10);
			if (errno || *end || !isdigit((unsigned char)v[0]))
				return rv_error_set(err, EINVAL,
						    "%s must be an integer, not '%.64s'", src, v);
			l->pids = n;
			r = check_pids(l->pids, "invalid setting", src, err);
			break;
		}
		case K_MEMORY:
			if (hardening_parse_memory(v, &l->memory) < 0)
				return rv_error_set(
					err, EINVAL,
					"%s must be a size (like 512m, 4g), not '%.64s'", src, v);
			r = check_memory(l->memory, "invalid setting", src, err);
			break;
		case K_CPUS:
			if (hardening_parse_cpus(v, &l->nano_cpus) < 0)
				return rv_error_set(
					err, EINVAL,
					"%s must be a number of CPUs (like 1.5), not '%.64s'", src,
					v);
			r = check_cpus(l->nano_cpus, host, "invalid setting", src, err);
			break;
		case K_CAP_ADD: {
			l->caps = xcalloc(1, sizeof(char *));
			if (!strcasecmp(v, "none"))
				break;
			_cleanup_free_ char *copy = xstrdup(v);
			char *save = NULL;
			for (char *tok = strtok_r(copy, ", ", &save); tok && r == 0;
			     tok = strtok_r(NULL, ", ", &save))
				r = add_cap(l, tok, "invalid setting", src, err);
			break;
		}
		case K_NNP:
		case K_RO:
			if (bool_parse(v, k == K_NNP ? &l->nnp : &l->ro) < 0)
				return rv_error_set(
					err, EINVAL,
					"%s must be 1 or 0 (true or false), not '%.64s'", src, v);
			break;
		case K_USER:
			r = set_user(l, v, "invalid setting", src, err);
			break;
		case K_N:
			break;
		}
		if (r < 0)
			return r;
		l->has[k] = true;
	}
	return 0;
}

/* ---- applying ------------------------------------------------------------- */

static char **strv_dup(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **c = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}

/* Cannot fail: l was checked. */
static void apply_layer(struct hardening *h, const struct layer *l, const char *where)
{
	for (size_t k = 0; k < K_N; k++) {
		if (!l->has[k])
			continue;
		free(h->where[k]);
		h->where[k] = xstrdup(where ? where : env_names[k]);
	}
	if (l->has[K_PIDS])
		h->pids_limit = l->pids;
	if (l->has[K_MEMORY])
		h->memory = l->memory;
	if (l->has[K_CPUS])
		h->nano_cpus = l->nano_cpus;
	if (l->has[K_CAP_ADD]) {
		strv_free(h->cap_add);
		h->cap_add = strv_dup(l->caps);
		h->n_cap_add = l->n_caps;
	}
	if (l->has[K_NNP])
		h->no_new_privileges = l->nnp;
	if (l->has[K_RO])
		h->read_only_rootfs = l->ro;
	if (l->has[K_USER]) {
		free(h->user);
		h->user = xstrdup(l->user);
	}
}

int hardening_apply_trusted(struct hardening *h, const struct hardening_host *host,
			    struct json_object *container, const char *what, struct rv_error **err)
{
	if (!container)
		return 0;
	struct layer l = {0};
	int r = layer_from_json(container, host, what, &l, err);
	if (r == 0)
		apply_layer(h, &l, what);
	layer_release(&l);
	return r;
}

int hardening_apply_env(struct hardening *h, const struct hardening_host *host,
			const char *(*getenv_fn)(const char *name), struct rv_error **err)
{
	struct layer l = {0};
	int r = layer_from_env(getenv_fn, host, &l, err);
	if (r == 0)
		apply_layer(h, &l, NULL); /* each from its variable */
	layer_release(&l);
	return r;
}

/* A limit's text for messages: "no limit", "1024", "4g", "1.50". */
static char *limit_text(enum key k, int64_t v)
{
	if (v == 0)
		return xstrdup("no limit");
	if (k == K_MEMORY) {
		if (v % (1LL << 30) == 0)
			return xasprintf("%lldg", (long long)(v >> 30));
		if (v % (1LL << 20) == 0)
			return xasprintf("%lldm", (long long)(v >> 20));
		return xasprintf("%lld bytes", (long long)v);
	}
	if (k == K_CPUS)
		return xasprintf("%.2f", (double)v / 1e9);
	return xasprintf("%lld", (long long)v);
}

/* v looser than cur, 0 being no limit. */
static bool limit_looser(int64_t v, int64_t cur)
{
	if (cur == 0)
		return false;
	return v == 0 || v > cur;
}

static int refuse(const struct hardening *h, enum key k, const char *what, const char *asked,
		  const char *in_effect, struct rv_error **err)
{
	return rv_error_set(err, EPERM,
			    "%s: container.%s %s is looser than the %s in effect (from %s); a "
			    "repository may only tighten the container - to allow it, set %s or "
			    "%s",
			    what, key_names[k], asked, in_effect, h->where[k], env_names[k],
			    USER_CONFIG_HINT);
}

static bool cap_granted(const struct hardening *h, const char *c)
{
	for (size_t i = 0; i < h->n_cap_add; i++)
		if (!strcmp(h->cap_add[i], c) || !strcmp(h->cap_add[i], "ALL"))
			return true;
	return false;
}

int hardening_apply_repo(struct hardening *h, const struct hardening_host *host,
			 struct json_object *container, const char *what, struct rv_error **err)
{
	if (!container)
		return 0;
	struct layer l = {0};
	int r = layer_from_json(container, host, what, &l, err);
	const int64_t asked[] = {l.pids, l.memory, l.nano_cpus};
	const int64_t cur[] = {h->pids_limit, h->memory, h->nano_cpus};
	for (size_t k = K_PIDS; r == 0 && k <= K_CPUS; k++) {
		if (!l.has[k] || !limit_looser(asked[k], cur[k]))
			continue;
		_cleanup_free_ char *a = limit_text((enum key)k, asked[k]);
		_cleanup_free_ char *c = limit_text((enum key)k, cur[k]);
		r = refuse(h, (enum key)k, what, a, c, err);
	}
	for (size_t i = 0; r == 0 && l.has[K_CAP_ADD] && i < l.n_caps; i++)
		if (!cap_granted(h, l.caps[i])) {
			_cleanup_free_ char *a = xasprintf("[\"%s\"]", l.caps[i]);
			r = refuse(h, K_CAP_ADD, what, a, "capabilities", err);
		}
	if (r == 0 && l.has[K_NNP] && !l.nnp && h->no_new_privileges)
		r = refuse(h, K_NNP, what, "false", "true", err);
	if (r == 0 && l.has[K_RO] && !l.ro && h->read_only_rootfs)
		r = refuse(h, K_RO, what, "false", "true", err);
	if (r == 0 && l.has[K_USER]) {
		/* Only a uid:gid that is not root can be checked here: a name is
		 * resolved by the image, which may map it to uid 0. */
		uid_t u = 0;
		gid_t g = 0;
		if (user_parse(l.user, &u, &g) != 1 || u == 0 || g == 0)
			r = rv_error_set(
				err, EPERM,
				"%s: container.user \"%s\" is refused: a repository may only "
				"tighten the container, to a non-root uid:gid (a name may be "
				"root in the image) - to run as it, set %s or %s",
				what, l.user, HARDENING_ENV_USER, USER_CONFIG_HINT);
	}
	if (r == 0)
		apply_layer(h, &l, what);
	layer_release(&l);
	return r;
}

/* ---- loading -------------------------------------------------------------- */

/* The "container" object of a JSON file (NULL when the file or the key is
 * missing) into *ret, owned. */
static const char *real_getenv(const char *name)
{
	return getenv(name);
}

int hardening_load(const char *project_root, struct hardening *ret, struct rv_error **err)
{
	struct hardening_host host = hardening_host_now();
	struct hardening h;
	hardening_defaults(&host, &h);
	int r = 0;
	_cleanup_free_ char *ucpath = userconfig_path();
	if (ucpath) {
		_cleanup_free_ char *what = xasprintf("'%s'", ucpath);
		_cleanup_json_ struct json_object *c = NULL;
		r = jsonutil_read_member(ucpath, USERCONFIG_MAX_BYTES, what, "container", &c, err);
		if (r == 0)
			r = hardening_apply_trusted(&h, &host, c, what, err);
	}
	if (r == 0)
		r = hardening_apply_env(&h, &host, real_getenv, err);
	if (r == 0 && project_root) {
		_cleanup_free_ char *path = fileio_join(project_root, PROJECT_SETTINGS_FILE);
		_cleanup_free_ char *what = xasprintf("'%s'", path);
		_cleanup_json_ struct json_object *c = NULL;
		r = jsonutil_read_member(path, PROJECT_SETTINGS_MAX_BYTES, what, "container", &c,
					 err);
		if (r == 0)
			r = hardening_apply_repo(&h, &host, c, what, err);
	}
	if (r < 0) {
		hardening_release(&h);
		return r;
	}
	*ret = h;
	return 0;
}

/* ---- the agent's user ----------------------------------------------------- */

int hardening_agent_user(const struct hardening *h, uid_t euid, gid_t egid,
			 struct hardening_user *ret, struct rv_error **err)
{
	struct hardening_user u = {0};
	if (h->user) {
		int r = user_parse(h->user, &u.uid, &u.gid);
		if (r < 0)
			return rv_error_set(err, EINVAL,
					    "container user '%.64s' (from %s) is not "
					    "uid:gid or a name",
					    h->user, h->where[K_USER]);
		u.numeric = r == 1;
		u.spec = xstrdup(h->user);
	} else if (euid != 0) {
		u.spec = xasprintf("%u:%u", (unsigned)euid, (unsigned)egid);
		u.numeric = true;
		u.uid = euid;
		u.gid = egid;
	} else {
		u.spec = xstrdup(HARDENING_ROOT_DEFAULT_USER);
		u.numeric = user_parse(u.spec, &u.uid, &u.gid) == 1;
	}
	/* A bare uid usually has no passwd entry in the image: its HOME would
	 * be "/", where it cannot write.  A name brings its own. */
	u.set_home = u.numeric;
	*ret = u;
	return 0;
}

void hardening_user_release(struct hardening_user *u)
{
	if (!u)
		return;
	free(u->spec);
	u->spec = NULL;
}

/* ---- re-owning a tree ----------------------------------------------------- */

/* Deeper than this is refused rather than walked (one fd per level). */
#define CHOWN_MAX_DEPTH 256

static int chown_entries(int dfd, const char *top, dev_t dev, uid_t uid, gid_t gid, int depth,
			 struct rv_error **err)
{
	if (depth > CHOWN_MAX_DEPTH)
		return rv_error_set(err, ELOOP,
				    "cannot give '%s' to the agent's user: directories nest deeper "
				    "than %d",
				    top, CHOWN_MAX_DEPTH);
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return rv_error_errno(err, e, "cannot read a directory in '%s'", top);
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			r = rv_error_errno(err, errno, "cannot stat '%s' in '%s'", n, top);
			break;
		}
		if (st.st_dev != dev)
			continue; /* a mount point: not ours to re-own */
		/* A regular file with other links may be shared with a file outside
		 * the tree (git's hard-linked objects): its owner stays. */
		bool shared = S_ISREG(st.st_mode) && st.st_nlink > 1;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), n,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC |
						 O_NONBLOCK);
			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				r = rv_error_errno(err, errno, "cannot open '%s' in '%s'", n, top);
				break;
			}
			r = chown_entries(sub, top, dev, uid, gid, depth + 1, err); /* closes sub */
			if (r < 0)
				break;
		}
		if (!shared && (st.st_uid != uid || st.st_gid != gid) &&
		    fchownat(dirfd(d), n, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT) {
			r = rv_error_errno(err, errno, "cannot give '%s' in '%s' to %u:%u", n, top,
					   (unsigned)uid, (unsigned)gid);
			break;
		}
	}
	if (r == 0 && errno)
		r = rv_error_errno(err, errno, "cannot read a directory in '%s'", top);
	closedir(d);
	return r;
}

/* Whether every entry directly in dfd belongs to uid:gid (those the walk
 * would leave alone aside).  rover itself re-makes things at the top - a
 * workspace's .git replaced on resume - which a look at dir alone would miss;
 * one readdir of the top keeps the walk paid once otherwise. */
static bool top_level_owned(int dfd, dev_t dev, uid_t uid, gid_t gid)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	bool owned = true;
	struct dirent *de;
	while (owned && (de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_dev != dev || (S_ISREG(st.st_mode) && st.st_nlink > 1))
			continue;
		owned = st.st_uid == uid && st.st_gid == gid;
	}
	closedir(d);
	return owned;
}

int hardening_chown_tree(const char *dir, uid_t uid, gid_t gid, struct rv_error **err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno == ELOOP ? ENOTDIR : errno;
		return rv_error_errno(err, e, "cannot give '%s' to the agent's user %u:%u", dir,
				      (unsigned)uid, (unsigned)gid);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return rv_error_errno(err, e, "cannot stat '%s'", dir);
	}
	if (st.st_uid == uid && st.st_gid == gid && top_level_owned(fd, st.st_dev, uid, gid)) {
		close(fd);
		return 0;
	}
	int top = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (top < 0) {
		int e = errno;
		close(fd);
		return rv_error_errno(err, e, "cannot give '%s' to the agent's user", dir);
	}
	int r = chown_entries(fd, dir, st.st_dev, uid, gid, 0, err); /* closes fd */
	/* The top last: its owner is the mark that the walk was done. */
	if (r == 0 && fchown(top, uid, gid) < 0)
		r = rv_error_errno(err, errno, "cannot give '%s' to the agent's user %u:%u", dir,
				   (unsigned)uid, (unsigned)gid);
	close(top);
	if (r < 0)
		rv_error_wrap(err, "while preparing the container's files (rover runs as uid %u)",
			      (unsigned)geteuid());
	return r;
}

/* ---- for launch_container ------------------------------------------------- */

static bool beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return n && !strncmp(path, dir, n) && path[n] == '/';
}

int hardening_prepare(const char *project_root, const char *store_dir, const char *workspace,
		      const char *iter_dir, struct hardening_launch *ret, struct rv_error **err)
{
	struct hardening_launch l = {0};
	bool ws_ours = workspace && store_dir && beneath(workspace, store_dir);
	/* Outside git the workspace is the project directory itself. */
	if (!project_root && !ws_ours)
		project_root = workspace;
	int r = hardening_load(project_root, &l.h, err);
	if (r < 0)
		return r;
	struct stat st;
	if (!l.h.user && geteuid() == 0 && workspace && !ws_ours) {
		/* The user's own project directory (no worktree): run as its owner
		 * rather than re-own their files. */
		if (stat(workspace, &st) < 0) {
			r = rv_error_errno(err, errno, "cannot stat the workspace '%s'", workspace);
			goto fail;
		}
		if (st.st_uid == 0) {
			r = rv_error_set(
				err, EPERM,
				"the workspace '%s' belongs to root and the agent does not run "
				"as root: chown it to a user, or set %s (0:0 runs the agent "
				"as root)",
				workspace, HARDENING_ENV_USER);
			goto fail;
		}
		l.h.user = xasprintf("%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
	}
	r = hardening_agent_user(&l.h, geteuid(), getegid(), &l.user, err);
	if (r < 0)
		goto fail;
	if (l.user.numeric) {
		if (iter_dir)
			r = hardening_chown_tree(iter_dir, l.user.uid, l.user.gid, err);
		if (r == 0 && ws_ours)
			r = hardening_chown_tree(workspace, l.user.uid, l.user.gid, err);
		if (r < 0)
			goto fail;
	}
	*ret = l;
	return 0;
fail:
	hardening_launch_release(&l);
	return r;
}

void hardening_launch_release(struct hardening_launch *l)
{
	if (!l)
		return;
	hardening_release(&l->h);
	hardening_user_release(&l->user);
}

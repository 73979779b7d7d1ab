/* workflow_yaml.c - strict, bounded reading of a libyaml document for the
 * workflow parser; see workflow_yaml.h. */
#define _GNU_SOURCE
#include "workflow_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"

int wfyaml_line_of(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 1;
}

int wfyaml_fail(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rv_error_set(c->err, EBADMSG, "%s:%d: %s%s%s", c->name, wfyaml_line_of(n),
			    where && *where ? where : "", where && *where ? ": " : "", msg);
}

/* Every node we look at costs one unit, so aliases used over and over cannot
 * make the conversion run without bound. */
static int spend(struct wfyaml_ctx *c, const yaml_node_t *n, size_t units)
{
	c->nodes += units;
	if (c->nodes > WORKFLOW_MAX_NODES)
		return wfyaml_fail(c, n, NULL, "workflow too large (more than %d YAML nodes)",
				   WORKFLOW_MAX_NODES);
	return 0;
}

static yaml_node_t *node_at(struct wfyaml_ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

const char *wfyaml_kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

/* ---- scalars: YAML 1.2 core schema resolution of plain scalars ---- */

const char *wfyaml_scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool matches_int(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool matches_float(const char *s)
{
	static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"};
	const char *t = (*s == '+' || *s == '-') ? s + 1 : s;
	for (size_t i = 0; i < ARRAY_SIZE(special); i++)
		if (!strcmp(t, special[i]) && (t == s || i < 3))
			return true;
	bool digits = false;
	while (isdigit((unsigned char)*t)) {
		t++;
		digits = true;
	}
	if (*t == '.') {
		t++;
		while (isdigit((unsigned char)*t)) {
			t++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*t == 'e' || *t == 'E') {
		t++;
		if (*t == '+' || *t == '-')
			t++;
		if (!isdigit((unsigned char)*t))
			return false;
		while (isdigit((unsigned char)*t))
			t++;
	}
	return *t == '\0';
}

enum wfyaml_scalar_kind wfyaml_scalar_kind(const yaml_node_t *n)
{
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return WFYAML_STRING;
	const char *s = wfyaml_scalar_text(n);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return WFYAML_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
	    !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return WFYAML_BOOL;
	if (matches_int(s))
		return WFYAML_INT;
	if (matches_float(s))
		return WFYAML_FLOAT;
	return WFYAML_STRING;
}

static const char *kind_word(enum wfyaml_scalar_kind k)
{
	static const char *const words[] = {"a string", "null", "a boolean", "an integer",
					    "a number"};
	return words[k];
}

/* A scalar with an embedded NUL would be cut short by every C string API. */
int wfyaml_check_scalar(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			const char *key)
{
	if (n->type != YAML_SCALAR_NODE)
		return wfyaml_fail(c, n, where, "'%s' must be a scalar, not %s", key,
				   wfyaml_kind_name(n));
	if (strlen(wfyaml_scalar_text(n)) != n->data.scalar.length)
		return wfyaml_fail(c, n, where, "'%s' contains a NUL character", key);
	return 0;
}

int wfyaml_get_string(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
		      const char *key, char **ret)
{
	int r = wfyaml_check_scalar(c, n, where, key);
	if (r < 0)
		return r;
	enum wfyaml_scalar_kind k = wfyaml_scalar_kind(n);
	if (k != WFYAML_STRING)
		return wfyaml_fail(c, n, where, "'%s' must be a string, not %s (quote it)", key,
				   kind_word(k));
	free(*ret);
	*ret = xstrdup(wfyaml_scalar_text(n));
	return 0;
}

int wfyaml_get_bool(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		    bool *ret)
{
	int r = wfyaml_check_scalar(c, n, where, key);
	if (r < 0)
		return r;
	if (wfyaml_scalar_kind(n) != WFYAML_BOOL)
		return wfyaml_fail(c, n, where, "'%s' must be true or false, not '" ECHO "'", key,
				   wfyaml_scalar_text(n));
	*ret = tolower((unsigned char)wfyaml_scalar_text(n)[0]) == 't';
	return 0;
}

int wfyaml_get_int(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		   int min, int max, int *ret)
{
	int r = wfyaml_check_scalar(c, n, where, key);
	if (r < 0)
		return r;
	const char *s = wfyaml_scalar_text(n);
	const char *what = min > 0 ? "a positive integer" : "a non-negative integer";
	if (wfyaml_scalar_kind(n) != WFYAML_INT)
		return wfyaml_fail(c, n, where, "'%s' must be %s, not '" ECHO "'", key, what, s);
	errno = 0;
	long v = strtol(s, NULL, 10);
	if (errno || v < min || v > max)
		return wfyaml_fail(c, n, where, "'%s' must be %s of at most %d, not '" ECHO "'",
				   key, what, max, s);
	*ret = (int)v;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > WORKFLOW_MAX_ID_LEN)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

int wfyaml_get_name(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		    char **ret)
{
	int r = wfyaml_get_string(c, n, where, key, ret);
	if (r < 0)
		return r;
	if (!valid_name(*ret))
		return wfyaml_fail(c, n, where,
				   "'%s' must be 1 to %d characters of [A-Za-z0-9_-], not '" ECHO
				   "'",
				   key, WORKFLOW_MAX_ID_LEN, *ret);
	return 0;
}

int wfyaml_get_enum(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where, const char *key,
		    const char *const *allowed, size_t n_allowed, const char *expected, char **ret)
{
	int r = wfyaml_get_string(c, n, where, key, ret);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_allowed; i++)
		if (!strcmp(*ret, allowed[i]))
			return 0;
	return wfyaml_fail(c, n, where, "unknown %s '" ECHO "' (expected %s)", key, *ret, expected);
}

/* ---- mappings and sequences ---- */

/* Check the keys of map: scalar strings, known (or ignored), not repeated. */
int wfyaml_check_keys(struct wfyaml_ctx *c, const yaml_node_t *map, const char *where,
		      const struct wfyaml_key_rule *rule)
{
	unsigned long long seen = 0; /* one bit per allowed key */
	size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	int r = spend(c, map, n);
	if (r < 0)
		return r;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node_at(c, p->key);
		if (k->type != YAML_SCALAR_NODE || wfyaml_scalar_kind(k) == WFYAML_NULL)
			return wfyaml_fail(c, k, where, "keys must be plain names, not %s",
					   k->type == YAML_SCALAR_NODE ? "null"
								       : wfyaml_kind_name(k));
		const char *key = wfyaml_scalar_text(k);
		size_t i = 0;
		while (i < rule->n_allowed && strcmp(key, rule->allowed[i]))
			i++;
		if (i < rule->n_allowed) {
			if (seen & (1ull << i))
				return wfyaml_fail(c, k, where, "duplicate key '" ECHO "'", key);
			seen |= 1ull << i;
			continue;
		}
		if (rule->ignore_unknown)
			continue;
		for (const char *const *f = rule->foreign; f && *f; f++)
			if (!strcmp(key, *f))
				return wfyaml_fail(c, k, where, "'%s' does not apply to %s", key,
						   rule->foreign_msg);
		return wfyaml_fail(c, k, where, "unknown key '" ECHO "'", key);
	}
	return 0;
}

/* The value of key in map, NULL when absent (keys already checked). */
yaml_node_t *wfyaml_map_get(struct wfyaml_ctx *c, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node_at(c, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcmp(wfyaml_scalar_text(k), key))
			return node_at(c, p->value);
	}
	return NULL;
}

int wfyaml_expect_mapping(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			  const char *key)
{
	if (n->type != YAML_MAPPING_NODE)
		return wfyaml_fail(c, n, where, "'%s' must be a mapping, not %s", key,
				   wfyaml_kind_name(n));
	return 0;
}

/* A list; *ret_n gets its length. */
int wfyaml_expect_sequence(struct wfyaml_ctx *c, const yaml_node_t *n, const char *where,
			   const char *key, size_t *ret_n)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return wfyaml_fail(c, n, where, "'%s' must be a list, not %s", key,
				   wfyaml_kind_name(n));
	*ret_n = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return spend(c, n, *ret_n);
}

yaml_node_t *wfyaml_seq_item(struct wfyaml_ctx *c, const yaml_node_t *seq, size_t i)
{
	return node_at(c, seq->data.sequence.items.start[i]);
}

/* libyaml's own message for a document it could not load. */
int wfyaml_failure(struct wfyaml_ctx *c, const yaml_parser_t *p, const char *buf, size_t len)
{
	if (p->error == YAML_MEMORY_ERROR)
		return rv_error_set(c->err, ENOMEM, "%s: out of memory while parsing YAML",
				    c->name);
	int line;
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors (bad encoding, control characters) only give a
		 * byte offset. */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += buf[i] == '\n';
	} else {
		line = (int)p->problem_mark.line + 1;
	}
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->context && p->error != YAML_READER_ERROR)
		return rv_error_set(c->err, EBADMSG, "%s:%d: %s (%s at line %d)", c->name, line,
				    problem, p->context, (int)p->context_mark.line + 1);
	return rv_error_set(c->err, EBADMSG, "%s:%d: %s", c->name, line, problem);
}

/* libyaml (0.2.5) has no nesting limit, and its scanner does work in
 * proportion to the flow depth for every token: 1 MiB of "[[[[..." would
 * take tens of minutes to load.  So a first pass through the event API
 * counts the depth and stops at WORKFLOW_MAX_YAML_DEPTH, while libyaml
 * scans: the work before that is linear in the text.  The document is only
 * built once the text has passed. */
int wfyaml_check_nesting(struct wfyaml_ctx *c, const char *buf, size_t len)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return rv_error_set(c->err, ENOMEM, "%s: cannot initialize the YAML parser",
				    c->name);
	yaml_parser_set_input_string(&p, (const unsigned char *)(buf ? buf : ""), buf ? len : 0);
	int depth = 0, r = 0;
	size_t nodes = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			r = wfyaml_failure(c, &p, buf, len);
			break;
		}
		yaml_event_type_t type = ev.type;
		int line = (int)ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		if ((type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
		     type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) &&
		    ++nodes > WORKFLOW_MAX_NODES) {
			r = rv_error_set(c->err, EBADMSG,
					 "%s:%d: workflow too large (more than %d YAML nodes)",
					 c->name, line, WORKFLOW_MAX_NODES);
			break;
		}
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > WORKFLOW_MAX_YAML_DEPTH) {
				r = rv_error_set(
					c->err, EBADMSG,
					"%s:%d: lists and mappings nested more than %d deep",
					c->name, line, WORKFLOW_MAX_YAML_DEPTH);
				break;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (type == YAML_STREAM_END_EVENT) {
			break;
		}
	}
	yaml_parser_delete(&p);
	return r;
}

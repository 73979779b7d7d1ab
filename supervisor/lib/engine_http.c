/*
 * Why one file over 800 lines: it is the one wrapper of a libcurl easy
 * handle.  Endpoints, bounded and streamed replies, the mapping of curl
 * codes and HTTP statuses to rover's errors, and hijacked (attach)
 * connections all set options on, and read results from, the same handle
 * and its callbacks; split, each part would need the handle's internals.
 */
#define _GNU_SOURCE
#include "engine_http.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"

/* ---- endpoints ---------------------------------------------------------- */

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int parse_unix(const char *value, const char *path, struct engine_endpoint *ret,
		      struct rv_error **err)
{
	struct sockaddr_un sa;
	if (path[0] != '/')
		return rv_error_set(err, EINVAL,
				    "engine endpoint '%s': the socket path must be absolute",
				    value);
	if (strlen(path) >= sizeof(sa.sun_path))
		return rv_error_set(err, EINVAL,
				    "engine endpoint '%s': socket path longer than %zu bytes",
				    value, sizeof(sa.sun_path) - 1);
	*ret = (struct engine_endpoint){
		.type = ENGINE_ENDPOINT_UNIX,
		.uri = xasprintf("unix://%s", path),
		.path = xstrdup(path),
	};
	return 0;
}

static int parse_tcp(const char *value, const char *rest, struct engine_endpoint *ret,
		     struct rv_error **err)
{
	_cleanup_free_ char *hp = xstrdup(rest);
	size_t n = strlen(hp);
	if (n > 0 && hp[n - 1] == '/')
		hp[n - 1] = '\0';
	char *host = hp, *port = NULL;
	bool v6 = false;
	if (hp[0] == '[') {
		char *close = strchr(hp, ']');
		if (!close || close[1] != ':')
			return rv_error_set(err, EINVAL,
					    "engine endpoint '%s': expected tcp://[address]:port",
					    value);
		*close = '\0';
		host = hp + 1;
		port = close + 2;
		v6 = true;
	} else {
		char *colon = strrchr(hp, ':');
		if (!colon)
			return rv_error_set(
				err, EINVAL,
				"engine endpoint '%s': a port is required (tcp://host:port)",
				value);
		*colon = '\0';
		port = colon + 1;
		if (strchr(host, ':'))
			return rv_error_set(
				err, EINVAL,
				"engine endpoint '%s': write an IPv6 address in brackets", value);
	}
	if (!*host || strpbrk(host, "/@?#"))
		return rv_error_set(err, EINVAL, "engine endpoint '%s': bad host", value);
	long p = 0;
	for (const char *c = port; *c; c++) {
		if (!isdigit((unsigned char)*c) || p > 65535)
			return rv_error_set(err, EINVAL, "engine endpoint '%s': bad port", value);
		p = p * 10 + (*c - '0');
	}
	if (!*port || p < 1 || p > 65535)
		return rv_error_set(err, EINVAL, "engine endpoint '%s': bad port", value);
	*ret = (struct engine_endpoint){
		.type = ENGINE_ENDPOINT_TCP,
		.uri = v6 ? xasprintf("tcp://[%s]:%ld", host, p)
			  : xasprintf("tcp://%s:%ld", host, p),
		.host = xstrdup(host),
		.port = (int)p,
	};
	return 0;
}

int engine_endpoint_parse(const char *value, struct engine_endpoint *ret, struct rv_error **err)
{
	if (!value || !*value)
		return rv_error_set(err, EINVAL, "empty engine endpoint");
	if (strlen(value) > 4096)
		return rv_error_set(err, EINVAL, "engine endpoint longer than 4096 bytes");
	if (has_prefix(value, "unix://"))
		return parse_unix(value, value + strlen("unix://"), ret, err);
	if (value[0] == '/')
		return parse_unix(value, value, ret, err);
	if (has_prefix(value, "tcp://"))
		return parse_tcp(value, value + strlen("tcp://"), ret, err);
	if (strstr(value, "://"))
		return rv_error_set(err, ENOTSUP,
				    "engine endpoint '%s': only unix:// and tcp:// are supported "
				    "(forward a remote socket with ssh -L to use it)",
				    value);
	return rv_error_set(err, EINVAL,
			    "'%s' is not an engine: expected docker, podman, unix:///path or "
			    "tcp://host:port",
			    value);
}

void engine_endpoint_release(struct engine_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->uri);
	free(ep->path);
	free(ep->host);
	*ep = (struct engine_endpoint){0};
}

void engine_endpoint_copy(struct engine_endpoint *dst, const struct engine_endpoint *src)
{
	*dst = (struct engine_endpoint){
		.type = src->type,
		.uri = src->uri ? xstrdup(src->uri) : NULL,
		.path = src->path ? xstrdup(src->path) : NULL,
		.host = src->host ? xstrdup(src->host) : NULL,
		.port = src->port,
	};
}

/* ---- replies ------------------------------------------------------------ */

void engine_http_reply_release(struct engine_http_reply *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->api_version);
	free(r->server);
	free(r->libpod_api_version);
	*r = (struct engine_http_reply){0};
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
	/* No TLS is spoken (unix sockets, plain tcp to a local engine): do not
	 * initialise OpenSSL. */
	curl_init_rc = curl_global_init(CURL_GLOBAL_NOTHING);
}

/* A header line "Name: value\r\n" into *slot when Name matches. */
static void take_header(const char *line, size_t len, const char *name, char **slot)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return;
	const char *v = line + n + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	free(*slot);
	*slot = xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct engine_http *h = userdata;
	size_t len = size * nitems;
	struct engine_http_reply *r = &h->x.reply;
	if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after an informational one): forget older headers */
		free(r->api_version);
		free(r->server);
		free(r->libpod_api_version);
		r->api_version = r->server = r->libpod_api_version = NULL;
		return len;
	}
	if (len > 1024) /* no header we read is that long */
		return len;
	take_header(buf, len, "Api-Version", &r->api_version);
	take_header(buf, len, "Server", &r->server);
	take_header(buf, len, "Libpod-Api-Version", &r->libpod_api_version);
	return len;
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *userdata)
{
	struct engine_http *h = userdata;
	struct engine_http_xfer *x = &h->x;
	size_t len = size * nmemb;
	long status = engine_http_status_now(h);

	if (x->req->on_data && status >= 200 && status < 300) {
		int r = x->req->on_data(x->req->userdata, buf, len, &x->cb_err);
		if (r < 0) {
			x->cb_code = -r;
			if (!x->cb_err)
				rv_error_set(&x->cb_err, -r, "engine stream consumer failed");
			return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
		}
		return len;
	}
	size_t max = x->req->on_data ? ENGINE_HTTP_MAX_ERROR_BODY : ENGINE_HTTP_MAX_BODY;
	if (x->body.len + len > max) {
		if (x->req->on_data) /* an error body: its start is enough */
			len = max - x->body.len;
		else {
			x->cb_code = EFBIG;
			rv_error_set(&x->cb_err, EFBIG, "engine reply larger than %u MiB",
				     ENGINE_HTTP_MAX_BODY / (1024u * 1024u));
			return 0;
		}
	}
	strbuf_add(&x->body, buf, len);
	return size * nmemb;
}

int engine_http_open(struct engine_http *h, const struct engine_endpoint *ep, struct rv_error **err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return rv_error_set(err, EIO, "cannot initialize libcurl: %s",
				    curl_easy_strerror(curl_init_rc));
	*h = (struct engine_http){
		.connect_timeout_ms = ENGINE_HTTP_CONNECT_TIMEOUT_MS,
		.timeout_ms = ENGINE_HTTP_TIMEOUT_MS,
	};
	h->curl = curl_easy_init();
	if (!h->curl)
		return rv_error_set(err, ENOMEM, "cannot create a libcurl handle");
	engine_endpoint_copy(&h->ep, ep);
	CURL *c = h->curl;
	bool ok = true;
	if (ep->type == ENGINE_ENDPOINT_UNIX) {
		/* the host name is not looked at by either engine */
		h->base_url = xstrdup("http://d");
		ok &= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->path) == CURLE_OK;
	} else {
		h->base_url = strchr(ep->host, ':')
				      ? xasprintf("http://[%s]:%d", ep->host, ep->port)
				      : xasprintf("http://%s:%d", ep->host, ep->port);
		ok &= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK;
	}
	/* The engine is local or named explicitly: never through an HTTP proxy
	 * from the environment. */
	ok &= curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_HEADERDATA, h) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_WRITEDATA, h) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf) == CURLE_OK;
	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip for larger bodies */
	if (h->headers)
		h->headers = curl_slist_append(h->headers, "Expect:");
	ok &= h->headers != NULL;
	ok &= curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers) == CURLE_OK;
	if (!ok) {
		engine_http_release(h);
		return rv_error_set(err, ENOMEM, "cannot configure a libcurl handle");
	}
	engine_http_set_timeouts(h, h->connect_timeout_ms, h->timeout_ms);
	return 0;
}

void engine_http_release(struct engine_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	engine_http_reply_release(&h->x.reply);
	strbuf_release(&h->x.body);
	rv_error_free(h->x.cb_err);
	engine_endpoint_release(&h->ep);
	free(h->base_url);
	*h = (struct engine_http){0};
}

void engine_http_set_timeouts(struct engine_http *h, long connect_ms, long request_ms)
{
	if (connect_ms > 0)
		h->connect_timeout_ms = connect_ms;
	if (request_ms > 0)
		h->timeout_ms = request_ms;
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
}

long engine_http_status_now(struct engine_http *h)
{
	long status = 0;
	if (curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		return 0;
	return status;
}

int engine_http_setup(struct engine_http *h, const struct engine_http_request *req,
		      struct rv_error **err)
{
	engine_http_reply_release(&h->x.reply);
	strbuf_release(&h->x.body);
	h->x.cb_err = rv_error_free(h->x.cb_err);
	h->x = (struct engine_http_xfer){.req = req};
	h->errbuf[0] = '\0';

	_cleanup_free_ char *url = xasprintf("%s%s", h->base_url, req->path);
	long timeout = req->timeout_ms == ENGINE_HTTP_TIMEOUT_DEFAULT ? h->timeout_ms
		       : req->timeout_ms < 0                          ? 0L
								      : req->timeout_ms;
	CURL *c = h->curl;
	bool ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout) == CURLE_OK;
	if (strcmp(req->method, "POST") == 0) {
		const char *body = req->body ? req->body : "";
		ok &= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) == CURLE_OK;
	} else if (strcmp(req->method, "GET") == 0) {
		ok &= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	} else {
		ok &= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) == CURLE_OK;
	}
	if (!ok)
		return rv_error_set(err, EINVAL, "cannot prepare %s %s", req->method, req->path);
	return 0;
}

int engine_http_complete(struct engine_http *h, CURLcode rc, struct engine_http_reply *ret,
			 struct rv_error **err)
{
	struct engine_http_xfer *x = &h->x;
	*ret = (struct engine_http_reply){0};
	if (rc != CURLE_OK) {
		int code;
		if (x->cb_err && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK)) {
			code = -(x->cb_code ? x->cb_code : x->cb_err->code);
			rv_error_pass(err, &x->cb_err);
		} else {
			long os_errno = 0;
			curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
			code = engine_http_curl_error(rc, os_errno, h->ep.uri, h->errbuf, NULL,
						      err);
		}
		engine_http_reply_release(&x->reply);
		strbuf_release(&x->body);
		x->cb_err = rv_error_free(x->cb_err);
		x->req = NULL;
		return code;
	}
	x->reply.status = engine_http_status_now(h);
	/* NULL when the engine sent no body, as before */
	x->reply.len = x->body.len;
	x->reply.body = x->body.len || x->body.buf ? strbuf_detach(&x->body, NULL) : NULL;
	*ret = x->reply;
	x->reply = (struct engine_http_reply){0};
	x->cb_err = rv_error_free(x->cb_err);
	x->req = NULL;
	return 0;
}

void engine_http_abandon(struct engine_http *h)
{
	struct engine_http_xfer *x = &h->x;
	engine_http_reply_release(&x->reply);
	strbuf_release(&x->body);
	x->cb_err = rv_error_free(x->cb_err);
	*x = (struct engine_http_xfer){0};
}

int engine_http_perform(struct engine_http *h, const struct engine_http_request *req,
			struct engine_http_reply *ret, struct rv_error **err)
{
	int r = engine_http_setup(h, req, err);
	if (r < 0) {
		*ret = (struct engine_http_reply){0};
		return r;
	}
	return engine_http_complete(h, curl_easy_perform(h->curl), ret, err);
}

/* ---- errors ------------------------------------------------------------- */

int engine_http_curl_error(CURLcode rc, long os_errno, const char *uri, const char *detail,
			   const char *what, struct rv_error **err)
{
	const char *why = detail && *detail ? detail : curl_easy_strerror(rc);
	_cleanup_free_ char *pre = what && *what ? xasprintf("%s: ", what) : xstrdup("");
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		/* A socket we may not open is not a dead engine: waiting or
		 * starting the engine would not help, joining its group would. */
		if ((os_errno == EACCES || os_errno == EPERM) && strncmp(uri, "unix://", 7) == 0)
			return rv_error_set(
				err, EACCES,
				"%scannot connect to the engine at %s: permission denied "
				"on %s: %s",
				pre, uri, uri + 7, ENGINE_HTTP_HINT_PERMISSION);
		/* Never ENOENT: see the header. */
		return rv_error_set(err, ECONNREFUSED, "%scannot connect to the engine at %s: %s",
				    pre, uri, os_errno > 0 ? strerror((int)os_errno) : why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return rv_error_set(err, EHOSTUNREACH, "%scannot connect to the engine at %s: %s",
				    pre, uri, why);
	case CURLE_OPERATION_TIMEDOUT:
		return rv_error_set(err, ETIMEDOUT, "%sno answer from the engine at %s: %s", pre,
				    uri, why);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return rv_error_set(err, ECONNRESET, "%sconnection to the engine at %s lost: %s",
				    pre, uri, why);
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
		return rv_error_set(err, EPROTO, "%sthe engine at %s did not answer HTTP: %s", pre,
				    uri, why);
	case CURLE_OUT_OF_MEMORY:
		return rv_error_set(err, ENOMEM, "%s%s", pre, why);
	default:
		return rv_error_set(err, EIO, "%sengine at %s: %s", pre, uri, why);
	}
}

/* One line of at most 300 bytes from a non-JSON body. */
static char *text_message(const char *body, size_t len)
{
	size_t n = 0;
	while (n < len && n < 300 && body[n] != '\n' && body[n] != '\r')
		n++;
	return xstrndup(body, n);
}

int engine_http_status_error(long status, const char *body, size_t len, const char *what,
			     struct rv_error **err)
{
	_cleanup_json_ struct json_object *obj = NULL;
	_cleanup_free_ char *msg = NULL;
	const char *cause = NULL;
	if (body && len > 0 && jsonutil_parse(body, len, "engine reply", &obj, NULL) == 0 &&
	    json_object_is_type(obj, json_type_object)) {
		const char *m = jsonutil_get_str(obj, "message");
		if (m)
			msg = xstrndup(m, 2000);
		cause = jsonutil_get_str(obj, "cause");
	}
	if (!msg && body && len > 0)
		msg = text_message(body, len);
	if (!msg || !*msg) {
		free(msg);
		msg = xasprintf("HTTP %ld", status);
	}

	/* Podman's conflicts come as 500; report them as the 409 they are. */
	long effective = status;
	if (status == 500 && cause &&
	    (strcmp(cause, "that name is already in use") == 0 ||
	     strcmp(cause, "container state improper") == 0 ||
	     strcmp(cause, "container already exists") == 0))
		effective = 409;

	int code;
	switch (effective) {
	case 400:
		code = EINVAL;
		break;
	case 401:
	case 403:
		code = EACCES;
		break;
	case 404:
		code = ENOENT;
		break;
	case 409:
		code = strstr(msg, "already in use") || strstr(msg, "already exists") ? EEXIST
										      : EBUSY;
		break;
	case 429:
		code = EAGAIN;
		break;
	default:
		code = effective >= 500 && effective <= 599 ? EIO : EPROTO;
		break;
	}
	int r = rv_error_set(err, code, "%s: %s (HTTP %ld)", what, msg, status);
	if (err && *err)
		(*err)->http_status = (int)effective;
	return r;
}

char *engine_http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	if (!e)
		return xstrdup("");
	char *copy = xstrdup(e);
	curl_free(e);
	return copy;
}

/* ---- hijacked connections (attach) ------------------------------------ */

/* "Name:" at the start of line (case-insensitive); the value after it. */
static const char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return NULL;
	const char *v = line + n + 1;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	return v;
}

int engine_http_parse_head(const char *buf, size_t len, long *ret_status, size_t *ret_head_len,
			   long long *ret_content_length, bool *ret_chunked)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	if (!end)
		return len >= ENGINE_HTTP_MAX_HEAD ? -EPROTO : -EAGAIN;
	size_t head_len = (size_t)(end - buf) + 4;
	if (head_len > ENGINE_HTTP_MAX_HEAD)
		return -EPROTO;
	/* "HTTP/1.1 101 UPGRADED" */
	if (head_len < 16 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
	    !isdigit((unsigned char)buf[11]) || (buf[12] != ' ' && buf[12] != '\r'))
		return -EPROTO;
	long status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	long long clen = -1;
	bool chunked = false;
	const char *line = (const char *)memchr(buf, '\n', head_len) + 1;
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
		size_t ll = (size_t)(eol - line);
		const char *v;
		if ((v = header_value(line, ll, "Content-Length"))) {
			clen = 0;
			for (; v < eol && isdigit((unsigned char)*v) && clen < (1LL << 40); v++)
				clen = clen * 10 + (*v - '0');
		} else if ((v = header_value(line, ll, "Transfer-Encoding"))) {
			chunked = memmem(v, (size_t)(eol - v), "chunked", 7) != NULL;
		}
		line = eol + 1;
	}
	*ret_status = status;
	*ret_head_len = head_len;
	*ret_content_length = clen;
	*ret_chunked = chunked;
	return 0;
}

/* Wait for the socket to be ready for events, until deadline (monotonic
 * ms): 0, or -ETIMEDOUT. */
static int wait_socket(curl_socket_t fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - timeutil_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int k = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (k > 0)
			return 0;
		if (k < 0 && errno != EINTR)
			return -errno;
	}
}

/* The body of a chunked reply, in place; what does not parse is left as it is. */
static size_t dechunk(char *body, size_t len)
{
	size_t in = 0, out = 0;
	while (in < len) {
		char *eol = memmem(body + in, len - in, "\r\n", 2);
		if (!eol)
			return out ? out : len;
		unsigned long n = strtoul(body + in, NULL, 16);
		in = (size_t)(eol - body) + 2;
		if (n == 0 || n > len - in)
			break;
		memmove(body + out, body + in, n);
		out += n;
		in += n + 2;
	}
	return out ? out : len;
}

void engine_http_raw_release(struct engine_http_raw *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl); /* closes the socket */
	free(c->pending);
	*c = (struct engine_http_raw){.fd = CURL_SOCKET_BAD};
}

int engine_http_raw_fd(const struct engine_http_raw *c)
{
	return (int)c->fd;
}

int engine_http_raw_recv(struct engine_http_raw *c, char *buf, size_t n, size_t *ret_n,
			 struct rv_error **err)
{
	if (c->pending_off < c->pending_len) {
		size_t k = c->pending_len - c->pending_off;
		if (k > n)
			k = n;
		memcpy(buf, c->pending + c->pending_off, k);
		c->pending_off += k;
		*ret_n = k;
		return 0;
	}
	size_t got = 0;
	CURLcode rc = curl_easy_recv(c->curl, buf, n, &got);
	if (rc == CURLE_AGAIN)
		return -EAGAIN;
	if (rc != CURLE_OK)
		return rv_error_set(err, ECONNRESET, "the engine's stream broke: %s",
				    curl_easy_strerror(rc));
	*ret_n = got;
	return 0;
}

int engine_http_raw_send(struct engine_http_raw *c, const char *data, size_t len, size_t *ret_n,
			 struct rv_error **err)
{
	size_t sent = 0;
	CURLcode rc = curl_easy_send(c->curl, data, len, &sent);
	if (rc == CURLE_AGAIN || (rc == CURLE_OK && sent == 0 && len > 0))
		return -EAGAIN;
	if (rc != CURLE_OK)
		return rv_error_set(err, ECONNRESET, "the engine's stream broke: %s",
				    curl_easy_strerror(rc));
	*ret_n = sent;
	return 0;
}

int engine_http_raw_shutdown_write(struct engine_http_raw *c, struct rv_error **err)
{
	if (c->write_shut)
		return 0;
	/* libcurl has no half-close: the socket is plain (no TLS), so the
	 * kernel's is the same thing. */
	if (shutdown(c->fd, SHUT_WR) < 0)
		return rv_error_errno(err, errno, "cannot close the stream's input");
	c->write_shut = true;
	return 0;
}

/* Send all of data before deadline. */
static int send_all(struct engine_http_raw *c, const char *data, size_t len, int64_t deadline,
		    struct rv_error **err)
{
	while (len > 0) {
		size_t n = 0;
		int r = engine_http_raw_send(c, data, len, &n, err);
		if (r == -EAGAIN)
			r = wait_socket(c->fd, POLLOUT, deadline);
		if (r == -ETIMEDOUT)
			return rv_error_set(err, ETIMEDOUT, "the engine took no request");
		if (r < 0)
			return r;
		data += n;
		len -= n;
	}
	return 0;
}

/* Read once into b (growing it, at most max bytes in all) before the
 * deadline; *ret_eof: the engine closed the connection. */
static int read_some(struct engine_http_raw *c, struct strbuf *b, size_t max, int64_t deadline,
		     bool *ret_eof, struct rv_error **err)
{
	strbuf_grow(b, 4096);
	size_t room = strbuf_avail(b);
	if (room > max - b->len)
		room = max - b->len;
	for (;;) {
		size_t n = 0;
		int r = engine_http_raw_recv(c, b->buf + b->len, room, &n, err);
		if (r == -EAGAIN) {
			r = wait_socket(c->fd, POLLIN, deadline);
			if (r == 0)
				continue;
			if (r == -ETIMEDOUT)
				return rv_error_set(err, ETIMEDOUT, "no answer from the engine");
		}
		if (r < 0)
			return r;
		strbuf_setlen(b, b->len + n);
		*ret_eof = n == 0;
		return 0;
	}
}

int engine_http_upgrade(const struct engine_endpoint *ep, const char *path, long timeout_ms,
			const char *what, struct engine_http_raw *ret, struct rv_error **err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return rv_error_set(err, EIO, "cannot initialize libcurl: %s",
				    curl_easy_strerror(curl_init_rc));
	struct engine_http_raw c = {.fd = CURL_SOCKET_BAD};
	c.curl = curl_easy_init();
	if (!c.curl)
		return rv_error_set(err, ENOMEM, "cannot create a libcurl handle");
	int64_t deadline =
		timeutil_mono_ms() + (timeout_ms > 0 ? timeout_ms : ENGINE_HTTP_TIMEOUT_MS);
	char errbuf[CURL_ERROR_SIZE] = "";
	_cleanup_free_ char *url = NULL, *host = NULL;
	bool ok = true;
	if (ep->type == ENGINE_ENDPOINT_UNIX) {
		url = xstrdup("http://d/");
		host = xstrdup("d");
		ok &= curl_easy_setopt(c.curl, CURLOPT_UNIX_SOCKET_PATH, ep->path) == CURLE_OK;
	} else {
		host = strchr(ep->host, ':') ? xasprintf("[%s]:%d", ep->host, ep->port)
					     : xasprintf("%s:%d", ep->host, ep->port);
		url = xasprintf("http://%s/", host);
		ok &= curl_easy_setopt(c.curl, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK;
	}
	ok &= curl_easy_setopt(c.curl, CURLOPT_URL, url) == CURLE_OK;
	/* Connect only: the request is ours to write, the socket ours to keep. */
	ok &= curl_easy_setopt(c.curl, CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c.curl, CURLOPT_PROXY, "") == CURLE_OK;
	ok &= curl_easy_setopt(c.curl, CURLOPT_NOPROXY, "*") == CURLE_OK;
	ok &= curl_easy_setopt(c.curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c.curl, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK;
	ok &= curl_easy_setopt(c.curl, CURLOPT_CONNECTTIMEOUT_MS, ENGINE_HTTP_CONNECT_TIMEOUT_MS) ==
	      CURLE_OK;
	ok &= curl_easy_setopt(c.curl, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
	if (!ok) {
		engine_http_raw_release(&c);
		return rv_error_set(err, ENOMEM, "cannot configure a libcurl handle");
	}
	CURLcode rc = curl_easy_perform(c.curl);
	if (rc != CURLE_OK) {
		long os_errno = 0;
		curl_easy_getinfo(c.curl, CURLINFO_OS_ERRNO, &os_errno);
		int r = engine_http_curl_error(rc, os_errno, ep->uri, errbuf, what, err);
		engine_http_raw_release(&c);
		return r;
	}
	/* The error buffer is ours on the stack: libcurl must not keep it. */
	curl_easy_setopt(c.curl, CURLOPT_ERRORBUFFER, NULL);
	if (curl_easy_getinfo(c.curl, CURLINFO_ACTIVESOCKET, &c.fd) != CURLE_OK ||
	    c.fd == CURL_SOCKET_BAD) {
		engine_http_raw_release(&c);
		return rv_error_set(err, EIO, "%s: no socket to the engine at %s", what, ep->uri);
	}

	_cleanup_free_ char *request = xasprintf("POST %s HTTP/1.1\r\n"
						 "Host: %s\r\n"
						 "User-Agent: rover\r\n"
						 "Content-Type: application/json\r\n"
						 "Content-Length: 0\r\n"
						 "Connection: Upgrade\r\n"
						 "Upgrade: tcp\r\n"
						 "\r\n",
						 path, host);
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	long status = 0;
	size_t head_len = 0;
	long long clen = -1;
	bool chunked = false, eof = false;
	int r = send_all(&c, request, strlen(request), deadline, err);
	while (r == 0) {
		r = b.len ? engine_http_parse_head(b.buf, b.len, &status, &head_len, &clen,
						   &chunked)
			  : -EAGAIN;
		if (r == -EPROTO) {
			r = rv_error_set(err, EPROTO, "the engine at %s did not answer HTTP",
					 ep->uri);
			break;
		}
		if (r == 0)
			break;
		if (eof) {
			r = rv_error_set(err, ECONNRESET, "the engine at %s closed the connection",
					 ep->uri);
			break;
		}
		r = read_some(&c, &b, ENGINE_HTTP_MAX_HEAD + 1, deadline, &eof, err);
	}
	if (r == 0 && status != 101 && status != 200) {
		/* The engine's error: its body, as far as it comes in time. */
		size_t want = clen >= 0 && (unsigned long long)clen < ENGINE_HTTP_MAX_ERROR_BODY
				      ? head_len + (size_t)clen
				      : head_len + ENGINE_HTTP_MAX_ERROR_BODY;
		int64_t body_deadline = timeutil_mono_ms() + 2000;
		if (body_deadline > deadline)
			body_deadline = deadline;
		_cleanup_error_ struct rv_error *ignored = NULL;
		while (b.len < want && !eof && !(chunked && memmem(b.buf, b.len, "\r\n0\r\n", 5)))
			if (read_some(&c, &b, want, body_deadline, &eof, &ignored) < 0)
				break;
		size_t blen = b.len - head_len;
		if (chunked)
			blen = dechunk(b.buf + head_len, blen);
		r = engine_http_status_error(status, b.buf + head_len, blen, what, err);
	}
	if (r < 0) {
		if (r == -ETIMEDOUT || r == -ECONNRESET)
			rv_error_wrap(err, "%s", what);
		engine_http_raw_release(&c);
		return r;
	}
	/* Stream bytes that came with the head. */
	if (b.len > head_len) {
		c.pending_len = b.len - head_len;
		c.pending = xmalloc(c.pending_len);
		memcpy(c.pending, b.buf + head_len, c.pending_len);
	}
	*ret = c;
	return 0;
}

/*
 * engine_http.h - the transport under the engine client: endpoint values,
 * one libcurl easy handle per connection (HTTP/1.1 keep-alive over a Unix
 * socket or TCP), bounded replies, streamed replies, and the mapping of
 * transport failures and HTTP statuses to rover's error convention.
 *
 * Users of the engine go through engine.h; this header is for engine*.c.
 *
 * Endpoint values (engine_endpoint_parse):
 *     unix:///abs/path.sock     a Unix socket (an absolute path alone is also taken)
 *     tcp://host:port           plain TCP (IPv6 as tcp://[::1]:2375); no TLS
 * "docker" and "podman" are names, not endpoints: engine.h expands them.
 *
 * Errors.  A failed connection is never ENOENT, whatever the OS said (a
 * missing socket file gives ENOENT from connect()): it is -ECONNREFUSED with
 * "cannot connect to the engine at unix:///x.sock: No such file or
 * directory", so that ENOENT always and only means "the engine answered 404"
 * (no such container or image) and a caller can never take a dead engine for
 * a vanished container.  rv_error.http_status is 0 for transport failures.
 *
 *     connect failed, socket missing    -ECONNREFUSED   (transient)
 *     connect to a unix socket refused
 *     with EACCES/EPERM (file mode)     -EACCES, http_status 0, the message
 *                                       ending in ENGINE_HTTP_HINT_PERMISSION
 *     host name not resolved            -EHOSTUNREACH
 *     timeout (connect or whole call)   -ETIMEDOUT      (transient)
 *     connection lost mid-call          -ECONNRESET     (transient)
 *     reply over the cap                -EFBIG
 *     not HTTP / not JSON when needed   -EPROTO
 *
 * HTTP statuses (engine_http_status_error), with the engine's own message
 * (the JSON "message" field) in the text and the status in http_status:
 *     400 -EINVAL, 401/403 -EACCES, 404 -ENOENT, 409 -EEXIST when a name is
 *     already in use else -EBUSY, 429 -EAGAIN, 5xx -EIO, others -EPROTO.
 * Podman answers some conflicts with 500 and a "cause" ("that name is already
 * in use", "container state improper"); those are reported as Docker does,
 * http_status 409, so they are not taken for transient engine failures.
 *
 * Threads: a struct engine_http is used by one thread at a time.  libcurl is
 * initialized once (engine_http_open does it); rover never calls
 * curl_global_cleanup.  Every handle sets CURLOPT_NOSIGNAL; the program must
 * still ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) before using the engine, as
 * libcurl documents, because a peer closing a socket can raise it.
 */
#ifndef ROVER_ENGINE_HTTP_H
#define ROVER_ENGINE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "common/error.h"
#include "common/strbuf.h"

/* What to do, said once at the end of an error (docs/design/errors.md):
 * a socket we may not open, and an engine that does not answer at all
 * (engine.h adds the latter once, after every endpoint was tried). */
#define ENGINE_HTTP_HINT_PERMISSION "add yourself to the docker group (or run rootless podman)"
#define ENGINE_HTTP_HINT_DOWN "is the engine running? set ROVER_ENGINE or --engine"

/* Largest buffered reply (inspect, list, create...). */
#define ENGINE_HTTP_MAX_BODY (16u * 1024u * 1024u)
/* Largest error body kept from a streamed call (logs, events). */
#define ENGINE_HTTP_MAX_ERROR_BODY (64u * 1024u)
#define ENGINE_HTTP_CONNECT_TIMEOUT_MS 5000L
#define ENGINE_HTTP_TIMEOUT_MS 60000L
/* Timeout values for struct engine_http_request.timeout_ms. */
#define ENGINE_HTTP_TIMEOUT_DEFAULT 0L
#define ENGINE_HTTP_TIMEOUT_NONE (-1L)

enum engine_endpoint_type { ENGINE_ENDPOINT_UNIX = 1, ENGINE_ENDPOINT_TCP };

struct engine_endpoint {
	enum engine_endpoint_type type;
	char *uri;  /* canonical: "unix:///run/x.sock" or "tcp://host:port" */
	char *path; /* unix: the socket path; else NULL */
	char *host; /* tcp: host name or address (IPv6 without brackets); else NULL */
	int port;   /* tcp: 1..65535 */
};

/* Parse an endpoint value (see top).  Empty, relative, too long a socket path
 * (over 107 bytes), a missing or bad port: -EINVAL naming the value; ssh:// and
 * other schemes: -ENOTSUP.  *ret is filled only on success; release it with
 * engine_endpoint_release. */
int engine_endpoint_parse(const char *value, struct engine_endpoint *ret, struct rv_error **err);
void engine_endpoint_release(struct engine_endpoint *ep);
/* Deep copy. */
void engine_endpoint_copy(struct engine_endpoint *dst, const struct engine_endpoint *src);

/* Receives a streamed body piece by piece; < 0 (with *err set) aborts the call,
 * which then fails with that code. */
typedef int (*engine_http_data_fn)(void *userdata, const char *data, size_t len,
				   struct rv_error **err);

struct engine_http_request {
	const char *method;          /* "GET", "POST", "DELETE" */
	const char *path;            /* "/v1.41/containers/json?all=1" (already escaped) */
	const char *body;            /* JSON body for POST, or NULL */
	long timeout_ms;             /* ENGINE_HTTP_TIMEOUT_DEFAULT, _NONE or a value */
	engine_http_data_fn on_data; /* NULL: buffer the body (up to ENGINE_HTTP_MAX_BODY) */
	void *userdata;
};

struct engine_http_reply {
	long status; /* HTTP status */
	char *body;  /* NUL-terminated; for streamed calls only an error body */
	size_t len;
	char *api_version;        /* "Api-Version" header, or NULL */
	char *server;             /* "Server" header, or NULL */
	char *libpod_api_version; /* "Libpod-Api-Version" header (Podman only), or NULL */
};
void engine_http_reply_release(struct engine_http_reply *r);

/* Per-transfer state, kept in the connection (one transfer at a time). */
struct engine_http_xfer {
	const struct engine_http_request *req;
	struct engine_http_reply reply;
	struct strbuf body;      /* the reply's body as it arrives (reply.body at the end) */
	struct rv_error *cb_err; /* error from on_data or from the cap */
	int cb_code;
};

/* One connection to an engine. */
struct engine_http {
	struct engine_endpoint ep;
	CURL *curl;
	char *base_url;          /* "http://d" or "http://host:port" */
	long connect_timeout_ms; /* default ENGINE_HTTP_CONNECT_TIMEOUT_MS */
	long timeout_ms;         /* default ENGINE_HTTP_TIMEOUT_MS */
	struct curl_slist *headers;
	struct engine_http_xfer x;
	char errbuf[CURL_ERROR_SIZE];
};

/* Set up a connection to ep (copied); nothing is connected until the first
 * request.  -ENOMEM when libcurl cannot make a handle. */
int engine_http_open(struct engine_http *h, const struct engine_endpoint *ep,
		     struct rv_error **err);
void engine_http_release(struct engine_http *h);
void engine_http_set_timeouts(struct engine_http *h, long connect_ms, long request_ms);

/* Run one request to completion on h.  Returns 0 when an HTTP reply came,
 * whatever its status (check ret->status), or -errno for a transport failure
 * (see top; the message has no context: callers add theirs with
 * rv_error_wrap).  *ret is owned by the caller (engine_http_reply_release); it
 * is zeroed on failure. */
int engine_http_perform(struct engine_http *h, const struct engine_http_request *req,
			struct engine_http_reply *ret, struct rv_error **err);

/* The same in two halves, for a caller that drives h->curl itself (a curl
 * multi handle): setup arms h->curl with req (which must outlive the
 * transfer); complete takes libcurl's result for it and fills *ret as
 * engine_http_perform does. */
int engine_http_setup(struct engine_http *h, const struct engine_http_request *req,
		      struct rv_error **err);
int engine_http_complete(struct engine_http *h, CURLcode rc, struct engine_http_reply *ret,
			 struct rv_error **err);

/* Drop the transfer set up on h (its caller removed h->curl from its multi
 * handle before it completed): what it gathered is released, the next
 * request starts clean (libcurl closed the half-read connection). */
void engine_http_abandon(struct engine_http *h);

/* The HTTP status of the transfer in progress (0 before the headers). */
long engine_http_status_now(struct engine_http *h);

/* Map a transport failure: what names the call ("cannot inspect container
 * x") or is NULL, os_errno is CURLINFO_OS_ERRNO, detail libcurl's error
 * buffer (may be empty).  Returns -code. */
int engine_http_curl_error(CURLcode rc, long os_errno, const char *uri, const char *detail,
			   const char *what, struct rv_error **err);

/* Map an HTTP error status with its body (JSON {"message", "cause"} or text)
 * to an error (see top); what names the call.  Returns -code. */
int engine_http_status_error(long status, const char *body, size_t len, const char *what,
			     struct rv_error **err);

/* URL-escape s for a path segment or query value; caller frees. */
char *engine_http_escape(const char *s);

/* ---- hijacked connections (attach) ------------------------------------ */

/* A connection taken over after its HTTP reply, as POST
 * /containers/{id}/attach does: the request carries "Connection: Upgrade"
 * and "Upgrade: tcp", the engine answers "101 UPGRADED" (Docker and Podman
 * alike; a 200 from an engine that does not upgrade is taken too) and from
 * then on the socket carries raw bytes both ways.  It is a connection of
 * its own (a libcurl handle with CURLOPT_CONNECT_ONLY, curl_easy_send and
 * curl_easy_recv), so the engine's keep-alive connection stays free for
 * start, resize and wait while the stream is open.  Its socket is
 * non-blocking: poll engine_http_raw_fd() for POLLIN/POLLOUT. */
struct engine_http_raw {
	CURL *curl;
	curl_socket_t fd;
	char *pending; /* stream bytes that came with the reply head */
	size_t pending_len, pending_off;
	bool write_shut;
};

/* Largest reply head (status line and headers) taken from the engine. */
#define ENGINE_HTTP_MAX_HEAD (64u * 1024u)

/* Pure: parse the head of an HTTP/1.x reply in buf[0..len).  -EAGAIN while
 * the blank line that ends it has not come yet; -EPROTO when it is not
 * HTTP or longer than ENGINE_HTTP_MAX_HEAD.  On success *ret_status is the
 * status, *ret_head_len the head's length (the blank line included), and
 * *ret_content_length the Content-Length (-1: none given) and *ret_chunked
 * whether the body is chunked. */
int engine_http_parse_head(const char *buf, size_t len, long *ret_status, size_t *ret_head_len,
			   long long *ret_content_length, bool *ret_chunked);

/* Connect to ep, send "POST path" upgraded (see above) and read the reply
 * head, within timeout_ms (<= 0: ENGINE_HTTP_TIMEOUT_MS).  A reply other than
 * 101/200 is the engine's error (engine_http_status_error with what);
 * transport failures as engine_http_perform.  *ret (release with
 * engine_http_raw_release) only on success. */
int engine_http_upgrade(const struct engine_endpoint *ep, const char *path, long timeout_ms,
			const char *what, struct engine_http_raw *ret, struct rv_error **err);

/* The socket to poll. */
int engine_http_raw_fd(const struct engine_http_raw *c);

/* Receive up to n bytes: 0 with *ret_n > 0, or *ret_n == 0 at the end of the
 * stream; -EAGAIN when nothing is there now; -ECONNRESET when the
 * connection broke. */
int engine_http_raw_recv(struct engine_http_raw *c, char *buf, size_t n, size_t *ret_n,
			 struct rv_error **err);

/* Send what the socket takes now: 0 with *ret_n > 0 bytes sent; -EAGAIN when
 * it takes nothing now; -ECONNRESET when the connection broke. */
int engine_http_raw_send(struct engine_http_raw *c, const char *data, size_t len, size_t *ret_n,
			 struct rv_error **err);

/* Close the sending half (the container's stdin sees end of file); the
 * stream keeps coming until the engine closes it. */
int engine_http_raw_shutdown_write(struct engine_http_raw *c, struct rv_error **err);

void engine_http_raw_release(struct engine_http_raw *c);

#endif

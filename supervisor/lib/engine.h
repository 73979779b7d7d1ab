/*
 * engine.h - rover's client of the Docker Engine HTTP API, spoken by Docker
 * and by Podman's Docker-compatible service, over a Unix socket or TCP with
 * libcurl.  No docker or podman binary is ever run.
 *
 * Calling sequence:
 *     signal(SIGPIPE, SIG_IGN);                    (once, in main; see engine_http.h)
 *     struct engine *e = NULL;
 *     if (engine_discover(opt_engine, &e, &err) < 0) ...   (or engine_open(stored_uri))
 *     engine_get_kind(e), engine_get_uri(e)       (store them in the task)
 *     engine_container_create(e, &spec, &id, &err);
 *     engine_container_start(e, id, &err);
 *     engine_container_wait(e, id, ENGINE_WAIT_NOT_RUNNING, 0, &code, &err);
 *     engine_free(e);
 * Logs: engine_logs.h; the event stream: engine_events.h.
 *
 * Discovery (engine_discover, docs/design/engine-selection.md): the first set
 * value of --engine, ROVER_ENGINE, DOCKER_HOST, CONTAINER_HOST, the user's
 * configuration ("engine" in userconfig.h's file) decides, and only the
 * endpoints it names are tried; with none set, the first that answers of
 * /var/run/docker.sock, $XDG_RUNTIME_DIR/podman/podman.sock,
 * /run/podman/podman.sock.  A repository's files never take part.
 *
 * Recorded endpoints (engine_open_recorded): a task record's engine.endpoint
 * is opened only when it is one of the endpoints the user configured - any
 * of the values above that is set, plus the default sockets - so a record
 * that came from elsewhere can never make rover connect (and send
 * credentials) to an endpoint of its choosing.  A value is "docker" (/var/run/docker.sock),
 * "podman" ($XDG_RUNTIME_DIR/podman/podman.sock, then
 * /run/podman/podman.sock), "unix:///path" or "tcp://host:port".  When
 * nothing answers, one error (-ECONNREFUSED) names every place tried and why.
 *
 * "Answers" means GET /_ping returned 200.  The same reply tells the kind
 * (Podman sends "Libpod-Api-Version" and "Server: Libpod/..."; Docker
 * "Server: Docker/...") and the API version ("Api-Version"); GET /version (0.7
 * s on Podman) is asked only when those headers say nothing.  Requests use
 * /v<min(1.41, server's)>/: Docker rejects versions above its own, Podman
 * accepts any.  Engines below API 1.40 are refused (-ENOTSUP).
 *
 * Errors follow engine_http.h: -ENOENT (http_status 404) means the engine
 * said "no such container/image"; a dead or missing engine is -ECONNREFUSED
 * (never -ENOENT); -EEXIST a name already in use; -EBUSY a container in the
 * wrong state; -EIO a 5xx; every message starts with what was being done
 * ("cannot inspect container 'x': ...") and carries the engine's message.
 *
 * Timeouts: connect 5 s, each non-streaming call 60 s (engine_set_timeouts);
 * wait, stop and streams have their own (see each function).
 *
 * One struct engine is one keep-alive connection, used by one thread at a
 * time; the event stream opens its own second connection.
 */
#ifndef ROVER_ENGINE_H
#define ROVER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

/* The API version rover speaks and the oldest it accepts. */
#define ENGINE_API_VERSION "1.41"
#define ENGINE_API_VERSION_MIN "1.40"
#define ENGINE_API_VERSION_LEN 16

#define ENGINE_DOCKER_SOCK "/var/run/docker.sock"
#define ENGINE_PODMAN_ROOT_SOCK "/run/podman/podman.sock"

enum engine_kind { ENGINE_KIND_UNKNOWN = 0, ENGINE_KIND_DOCKER, ENGINE_KIND_PODMAN };

struct engine;

/* "docker", "podman" or "unknown". */
const char *engine_kind_name(enum engine_kind kind);

/* ---- connecting --------------------------------------------------------- */

/* Connect to the engine a value names (see top: "docker", "podman", unix://,
 * tcp://), trying each of its sockets in order; ping it, tell its kind,
 * negotiate the API version.  Bad value: -EINVAL/-ENOTSUP; none answers:
 * -ECONNREFUSED (or the one failure's code when there was one endpoint) naming
 * each endpoint tried.  *ret (free with engine_free) only on success. */
int engine_open(const char *value, struct engine **ret, struct rv_error **err);

/* What discovery reads; NULL or "" fields are unset.  docker_sock and
 * podman_root_sock default (NULL) to ENGINE_DOCKER_SOCK and
 * ENGINE_PODMAN_ROOT_SOCK; tests point them elsewhere. */
struct engine_discover_env {
	const char *explicit_value;  /* --engine */
	const char *rover_engine;    /* $ROVER_ENGINE */
	const char *docker_host;     /* $DOCKER_HOST */
	const char *container_host;  /* $CONTAINER_HOST */
	const char *user_engine;     /* "engine" of the user's config.json */
	const char *user_config;     /* that file's path, for messages */
	const char *xdg_runtime_dir; /* $XDG_RUNTIME_DIR */
	const char *docker_sock;
	const char *podman_root_sock;
};

/* The endpoints discovery would try, in order. */
struct engine_candidates {
	char **uris; /* canonical endpoint URIs */
	size_t n;
	const char *source; /* static: "--engine", "ROVER_ENGINE", "DOCKER_HOST",
			       "CONTAINER_HOST", "user config" or "default" */
};

/* Pure: the candidates for env.  A bad value: -EINVAL/-ENOTSUP naming its
 * source ("DOCKER_HOST: ...").  Release with engine_candidates_release. */
int engine_discover_candidates(const struct engine_discover_env *env, struct engine_candidates *ret,
			       struct rv_error **err);
void engine_candidates_release(struct engine_candidates *c);

/* Discovery from env (see top). */
int engine_discover_with(const struct engine_discover_env *env, struct engine **ret,
			 struct rv_error **err);

/* Discovery from the process environment and the user's configuration,
 * explicit_value being --engine (or NULL).  A broken configuration file
 * fails (naming the file) rather than being skipped. */
int engine_discover(const char *explicit_value, struct engine **ret, struct rv_error **err);

/* `rover --engine VALUE COMMAND` (main, before the command runs): from
 * then on discovery takes VALUE as --engine wherever a command gives none
 * of its own, and it counts among the configured endpoints
 * (engine_open_recorded).  NULL or "": none. */
void engine_set_global_option(const char *value);
/* The value set above, or NULL. */
const char *engine_global_option(void);

/* Pure: whether an error code from connecting means nobody answered
 * (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ECONNRESET) - the case for the
 * hint ENGINE_HTTP_HINT_DOWN, which discovery appends once to its error;
 * a socket we may not open is -EACCES with ENGINE_HTTP_HINT_PERMISSION. */
bool engine_error_means_down(int code);

/* What engine_discover reads: the process environment and the user's
 * configuration file.  *uc holds the strings env points into; release it
 * with userconfig_release() after env is no longer used. */
struct userconfig;
int engine_discover_env_load(const char *explicit_value, struct engine_discover_env *env,
			     struct userconfig *uc, struct rv_error **err);

/* Pure: every endpoint the user configured in env - each set value (not
 * only the first), expanded, and the default sockets - without duplicates.
 * A value that does not parse is left out (discovery reports it). */
void engine_configured_endpoints(const struct engine_discover_env *env,
				 struct engine_candidates *ret);

/* Pure: 0 when value (a task record's engine.endpoint) names only
 * configured endpoints; else -EPERM "task <id> names engine endpoint <value>,
 * which is not configured here; set ROVER_ENGINE=<value> to use it" (-EINVAL
 * for a value that is not an endpoint at all).  Nothing is contacted. */
int engine_check_recorded(const struct engine_discover_env *env, long long task_id,
			  const char *value, struct rv_error **err);

/* engine_check_recorded against the process environment and the user's
 * configuration, then engine_open(value).  Refused: no connection at all. */
int engine_open_recorded(long long task_id, const char *value, struct engine **ret,
			 struct rv_error **err);

/* NULL-safe; returns NULL. */
struct engine *engine_free(struct engine *e);
static inline void engine_freep(struct engine **e)
{
	engine_free(*e);
}
/* An engine freed when it goes out of scope (common/cleanup.h). */
#define _cleanup_engine_ __attribute__((cleanup(engine_freep)))

/* connect_ms: connection set-up; request_ms: each non-streaming call.
 * Values <= 0 leave the current one. */
void engine_set_timeouts(struct engine *e, long connect_ms, long request_ms);

enum engine_kind engine_get_kind(const struct engine *e);
/* Canonical endpoint URI ("unix:///run/rover-test/docker.sock"); store this. */
const char *engine_get_uri(const struct engine *e);
/* Negotiated API version, "1.41". */
const char *engine_get_api_version(const struct engine *e);
/* The engine's Server header ("Docker/20.10.24 (linux)", "Libpod/4.3.1 (linux)"). */
const char *engine_get_server(const struct engine *e);

/* GET /_ping (timeout min(5 s, request timeout)): 0 when the engine answers. */
int engine_ping(struct engine *e, struct rv_error **err);

/* Pure helpers of engine_open, exposed for tests. */
/* PODMAN when libpod_api_version is set or server starts "Libpod", DOCKER when
 * server starts "Docker", else UNKNOWN. */
enum engine_kind engine_kind_from_headers(const char *server, const char *libpod_api_version);
/* From a GET /version reply: a component named "Podman Engine" (or a platform
 * naming Podman) is PODMAN, "Engine" DOCKER, else UNKNOWN. */
enum engine_kind engine_kind_from_version(struct json_object *version);
/* min(ENGINE_API_VERSION, server_version) into ret; an unparsable version
 * -EPROTO; one below ENGINE_API_VERSION_MIN -ENOTSUP. */
int engine_negotiate_api_version(const char *server_version, char ret[ENGINE_API_VERSION_LEN],
				 struct rv_error **err);

/* ---- images ------------------------------------------------------------- */

struct engine_image_info {
	char *id;      /* "sha256:..." */
	int64_t size;  /* bytes, as the engine reports it (0 when absent) */
	char *created; /* RFC 3339 as the engine gave it, or NULL */
};

/* Pure: an image reference fit for a request path - not empty, at most
 * 512 bytes, no whitespace or control characters, no "." or ".." segment
 * - escaped segment by segment ("registry:5000/team/img:tag" keeps its
 * slashes, which both engines' routes take).  -EINVAL naming it. */
int engine_image_path(const char *name, char **ret, struct rv_error **err);

/* GET /images/{name}/json: whether the engine has the image, never pulling
 * it.  Missing: -ENOENT (http_status 404), "image 'x' is not on the engine
 * at <uri>".  *ret (engine_image_info_release) only on success. */
int engine_image_inspect(struct engine *e, const char *name, struct engine_image_info *ret,
			 struct rv_error **err);
void engine_image_info_release(struct engine_image_info *info);

/* ---- labels ------------------------------------------------------------- */

struct engine_label {
	char *key;
	char *value;
};

/* Value of key, or NULL. */
const char *engine_label_get(const struct engine_label *labels, size_t n, const char *key);
void engine_labels_free(struct engine_label *labels, size_t n);

/* ---- containers --------------------------------------------------------- */

/* Arrays are NULL-terminated; a NULL array is "not set" (image default). */
struct engine_create_spec {
	const char *name;              /* or NULL: the engine picks one */
	const char *image;             /* required */
	const char *const *cmd;        /* argv */
	const char *const *entrypoint; /* argv */
	const char *const *labels;     /* "key=value" (no '=': empty value) */
	const char *const *binds;      /* "src:dst" or "src:dst:ro" (any Docker bind options) */
	const char *const *env;        /* "NAME=value" */
	const char *user;              /* "uid:gid" or a name */
	const char *working_dir;
	const char *network_mode; /* "none", "host", ... */
	const char *stop_signal;  /* "SIGTERM" */
	int stop_timeout;         /* seconds; < 0: engine default */
	/* Confinement (hardening.h); zero values leave the engine's default. */
	bool cap_drop_all;          /* CapDrop ["ALL"] */
	const char *const *cap_add; /* CapAdd: "CHOWN", ... (NULL: none) */
	bool no_new_privileges;     /* SecurityOpt ["no-new-privileges"] */
	int64_t pids_limit;         /* PidsLimit; 0: engine default, < 0: no limit */
	int64_t memory;             /* Memory bytes and MemorySwap the same (no swap) */
	int64_t nano_cpus;          /* NanoCpus, 1e9 per CPU */
	bool read_only_rootfs;      /* ReadonlyRootfs, with a tmpfs on /tmp */
	/* An interactive container (engine_attach.h): stdin kept open for one
	 * attach (OpenStdin, StdinOnce, AttachStdin/Stdout/Stderr), and with
	 * tty a terminal (Tty: the output is one raw stream). */
	bool open_stdin;
	bool tty;
};

/* Pure: the POST /containers/create body.  A label with an empty key, a bind
 * without ':' or a missing image: -EINVAL.  Both engines (Docker 20.10, Podman
 * 4.3's compat API) take the confinement fields as spelled here; Podman
 * reports CapAdd/CapDrop back as the drop list of its default set. */
int engine_create_body(const struct engine_create_spec *spec, struct json_object **ret,
		       struct rv_error **err);

/* Create (never starts, never pulls).  *ret_id: the full id, caller frees.
 * Name in use -EEXIST; image missing -ENOENT. */
int engine_container_create(struct engine *e, const struct engine_create_spec *spec, char **ret_id,
			    struct rv_error **err);

/* Start; starting a running container is success (HTTP 304). */
int engine_container_start(struct engine *e, const char *id, struct rv_error **err);

struct engine_container_info {
	char *id;
	char *name;   /* without Docker's leading '/' */
	char *image;  /* Config.Image as given at create */
	char *status; /* State.Status: created, running, paused, restarting,
			      removing, exited, dead (Podman: also "stopped", "configured") */
	bool running, paused, restarting, oom_killed, dead;
	int exit_code;    /* State.ExitCode; 137 = SIGKILL, 143 = SIGTERM */
	int pid;          /* host PID of the container's PID 1, 0 when not running */
	char *started_at; /* RFC 3339 as the engine gave it, or NULL */
	char *finished_at;
	int64_t started_at_ms; /* epoch ms; 0 when never (the engine says year 1) */
	int64_t finished_at_ms;
	char *error; /* State.Error, or NULL when empty */
	bool tty;    /* Config.Tty: logs are a raw stream */
	struct engine_label *labels;
	size_t n_labels;
};

/* Pure: fill *ret from a GET /containers/{id}/json object.  -EPROTO when Id
 * or State is missing. */
int engine_container_info_parse(struct json_object *obj, struct engine_container_info *ret,
				struct rv_error **err);
void engine_container_info_release(struct engine_container_info *info);

/* Inspect.  No such container: -ENOENT (http_status 404). */
int engine_container_inspect(struct engine *e, const char *id, struct engine_container_info *ret,
			     struct rv_error **err);

enum engine_wait_condition {
	ENGINE_WAIT_NOT_RUNNING = 0, /* returns at once for a created or exited container */
	ENGINE_WAIT_NEXT_EXIT,       /* Podman polls every 250 ms and may miss a fast exit */
	ENGINE_WAIT_REMOVED,
};

/* Block until the condition holds; *ret_exit_code is the container's exit
 * code.  timeout_ms 0 waits for ever; else -ETIMEDOUT after it.  To learn of
 * the exit of a container while doing other things, use the event stream. */
int engine_container_wait(struct engine *e, const char *id, enum engine_wait_condition cond,
			  long timeout_ms, int *ret_exit_code, struct rv_error **err);

/* Send signo to the container's PID 1 (which ignores SIGTERM unless it
 * handles it).  Not running: -ESRCH. */
int engine_container_kill(struct engine *e, const char *id, int signo, struct rv_error **err);

/* Stop: the stop signal, then SIGKILL after timeout_s (< 0: the container's
 * own StopTimeout).  Already stopped is success.  The call may take
 * timeout_s plus the request timeout. */
int engine_container_stop(struct engine *e, const char *id, int timeout_s, struct rv_error **err);

/* Set the size of a running container's terminal (Tty): POST
 * /containers/{id}/resize?h=rows&w=cols.  Not running: -EBUSY or -ENOENT
 * as the engine says. */
int engine_container_resize(struct engine *e, const char *id, unsigned rows, unsigned cols,
			    struct rv_error **err);

/* Remove (force: a running one too, killed first).  No such container:
 * -ENOENT; running without force: -EBUSY. */
int engine_container_remove(struct engine *e, const char *id, bool force, struct rv_error **err);

struct engine_container_summary {
	char *id;
	char *name; /* first name, without '/' */
	char *image;
	char *state;     /* "created", "running", "paused", "exited", ... */
	char *status;    /* human text: "Exited (3) 2 seconds ago" */
	int64_t created; /* epoch seconds */
	struct engine_label *labels;
	size_t n_labels;
};

/* Pure: parse a GET /containers/json array.  -EPROTO when not an array. */
int engine_container_list_parse(struct json_object *arr, struct engine_container_summary **ret,
				size_t *ret_n, struct rv_error **err);
void engine_container_list_free(struct engine_container_summary *list, size_t n);

/* All containers (running or not) carrying every label filter ("key" or
 * "key=value"); NULL or empty filters: all containers.  One call. */
int engine_container_list(struct engine *e, const char *const *label_filters,
			  struct engine_container_summary **ret, size_t *ret_n,
			  struct rv_error **err);

/* ---- for engine_logs.c and engine_events.c ------------------------------ */

struct engine_http;
/* The engine's connection and versioned path prefix ("/v1.41"). */
struct engine_http *engine_http_of(struct engine *e);
const char *engine_path_prefix(const struct engine *e);
/* A checked id or name, escaped for a URL path; -EINVAL when empty, longer
 * than 256 bytes or with a '/'. */
int engine_escape_id(const char *id, char **ret, struct rv_error **err);

#endif

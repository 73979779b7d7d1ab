/* Unit tests for the engine client (supervisor/lib/engine*.c): endpoint
 * parsing, the discovery order, kind and version negotiation, request bodies
 * and reply parsing for both engines' shapes, log demultiplexing with frames
 * split anywhere, event parsing, error mapping; and the HTTP paths end to end
 * against a small scripted HTTP server on an AF_UNIX socket in a thread
 * (404/409/500 bodies, the reply cap, a timeout, an event stream that sends
 * no headers until told to).
 * Over 800 lines because it shares one scripted HTTP server among all of
 * these. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/userconfig.h"
#include "supervisor/lib/engine_attach.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/engine_http.h"
#include "supervisor/lib/engine_logs.h"

static char dir[] = "/tmp/rover-test-engine-XXXXXX";

/* ---- a scripted HTTP server ---------------------------------------------- */

struct fake {
	int lfd;
	char sock[200];
	char uri[220];
	pthread_t th;
	int gate[2]; /* the test writes a byte to let a held reply go on */
	pthread_mutex_t mu;
	int requests;
	char last_path[1024];
	char last_body[8192];
	const char *ping_headers; /* extra headers of the _ping reply */
	/* logs -f cut at the exit (container "cut"): the follow is held open
	 * as Podman holds it; the wait answers once the test says so */
	bool keep; /* serve() keeps the connection open */
	int held_logs, held_wait;
	bool release_wait;
	int cut_inspects;
};

static struct fake fk;

static void wr(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void wrs(int fd, const char *s)
{
	wr(fd, s, strlen(s));
}

static void respond(int fd, int status, const char *headers, const char *body)
{
	char head[1024];
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 status, headers ? headers : "", strlen(body));
	wrs(fd, head);
	wrs(fd, body);
}

static bool gate_wait(void)
{
	char c;
	return read(fk.gate[0], &c, 1) == 1;
}

static void gate_open(void)
{
	assert_int_equal(write(fk.gate[1], "g", 1), 1);
}

static const char inspect_docker[] =
	"{\"Id\":\"c1full\",\"Name\":\"/rover-task-7-1\",\"Image\":\"sha256:abc\","
	"\"State\":{\"Status\":\"exited\",\"Running\":false,\"Paused\":false,\"Restarting\":false,"
	"\"OOMKilled\":true,\"Dead\":false,\"Pid\":0,\"ExitCode\":137,\"Error\":\"\","
	"\"StartedAt\":\"2026-11-22T08:25:52.749852369Z\","
	"\"FinishedAt\":\"2026-11-22T08:25:53.5Z\"},"
	"\"Config\":{\"Image\":\"rover-agent-test:latest\",\"Tty\":false,"
	"\"Labels\":{\"rover.task\":\"7\",\"rover.iteration\":\"1\"}}}";

static const char list_reply[] =
	"[{\"Id\":\"a1\",\"Names\":[\"/rover-task-1-1\"],\"Image\":\"img\",\"State\":\"running\","
	"\"Status\":\"Up 2 seconds\",\"Created\":1795336057,\"Labels\":{\"rover.task\":\"1\"}},"
	"{\"Id\":\"b2\",\"Names\":[\"/rover-task-2-1\"],\"Image\":\"img\",\"State\":\"exited\","
	"\"Status\":\"Exited (3)\",\"Created\":1795336058,\"Labels\":{\"rover.task\":\"2\"}}]";

static const char ev_docker_die[] =
	"{\"status\":\"die\",\"id\":\"c1full\",\"from\":\"img\",\"Type\":\"container\","
	"\"Action\":\"die\",\"Actor\":{\"ID\":\"c1full\",\"Attributes\":{\"exitCode\":\"3\","
	"\"image\":\"img\",\"name\":\"rover-task-7-1\",\"rover.task\":\"7\"}},"
	"\"scope\":\"local\",\"time\":1795335952,\"timeNano\":1795335952772562121}";

/* Podman 4.3's own name, exit code only as containerExitCode */
static const char ev_podman_died[] =
	"{\"status\":\"died\",\"id\":\"p2full\",\"from\":\"localhost/img\",\"Type\":\"container\","
	"\"Action\":\"died\",\"Actor\":{\"ID\":\"p2full\",\"Attributes\":{"
	"\"containerExitCode\":\"143\",\"image\":\"localhost/img\",\"name\":\"t2\",\"podId\":\"\","
	"\"rover.task\":\"8\"}},\"scope\":\"local\",\"time\":1795335955}";

static void serve_logs(int fd)
{
	wrs(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
		"Connection: close\r\n\r\n");
	/* stdout "hello\n", stderr "oops\n", stdout "world\n" with headers split */
	static const char frames[] = "\x01\0\0\0\0\0\0\x06hello\n"
				     "\x02\0\0\0\0\0\0\x05oops\n"
				     "\x01\0\0\0\0\0\0\x06world\n";
	size_t n = sizeof(frames) - 1;
	wr(fd, frames, 3);
	wr(fd, frames + 3, 9);
	wr(fd, frames + 12, n - 12);
}

static void serve_events(int fd)
{
	/* Like Podman: nothing at all, headers included, until the first event. */
	if (!gate_wait())
		return;
	wrs(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
	wrs(fd, ev_docker_die);
	wrs(fd, "\n");
	size_t half = strlen(ev_podman_died) / 2;
	wr(fd, ev_podman_died, half);
	if (!gate_wait())
		return;
	wrs(fd, ev_podman_died + half);
	wrs(fd, "\n");
}

static void serve_big(int fd)
{
	size_t total = ENGINE_HTTP_MAX_BODY + 1024 * 1024;
	char head[256];
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 total);
	wrs(fd, head);
	static char chunk[65536];
	memset(chunk, ' ', sizeof(chunk));
	for (size_t sent = 0; sent < total; sent += sizeof(chunk))
		wr(fd, chunk, sizeof(chunk));
}

/* The hijacked attach: 101 and a first frame in the same write, then each
 * piece of stdin back as a stdout frame until the client half-closes. */
static void serve_attach(int fd)
{
	static const char head[] = "HTTP/1.1 101 UPGRADED\r\n"
				   "Content-Type: application/vnd.docker.raw-stream\r\n"
				   "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
				   "\x01\0\0\0\0\0\0\x03hi\n";
	wr(fd, head, sizeof(head) - 1);
	char buf[256];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		unsigned char hdr[8] = {1, 0, 0, 0, 0, 0, 0, (unsigned char)n};
		wr(fd, (const char *)hdr, 8);
		wr(fd, buf, (size_t)n);
	}
	/* stdin ended: the "container" says so on stderr and exits */
	wr(fd,
	   "\x02\0\0\0\0\0\0\x04"
	   "eof\n",
	   12);
}

#define CUT_STATE(status, running, finished)                                                    \
	"{\"Id\":\"cutfull\",\"Name\":\"/cut\",\"Image\":\"i\",\"State\":{\"Status\":\"" status \
	"\",\"Running\":" running ",\"Paused\":false,\"Restarting\":false,\"OOMKilled\":false," \
	"\"Dead\":false,\"Pid\":0,\"ExitCode\":0,\"Error\":\"\","                               \
	"\"StartedAt\":\"2026-11-22T08:25:52.7Z\",\"FinishedAt\":\"" finished "\"},"            \
	"\"Config\":{\"Image\":\"i\",\"Tty\":false}}"

static void serve_cut(int fd, const char *path)
{
	static const char wait_reply[] = "{\"Error\":null,\"StatusCode\":0}";
	pthread_mutex_lock(&fk.mu);
	if (strstr(path, "/containers/cutdie/logs")) {
		/* the engine goes away mid-frame, its wait never answered */
		wrs(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
			"Transfer-Encoding: chunked\r\n\r\n");
		wr(fd, "a\r\n\x01\0\0\0\0\0\0\x06he\r\n", 15);
	} else if (strstr(path, "/containers/cutdie/json")) {
		respond(fd, 200, NULL, CUT_STATE("running", "true", "0001-01-01T00:00:00Z"));
	} else if (strstr(path, "/json")) {
		/* running at the first look, over at the next */
		respond(fd, 200, NULL,
			fk.cut_inspects++ ? CUT_STATE("exited", "false", "2026-11-22T08:25:53.5Z")
					  : CUT_STATE("running", "true", "0001-01-01T00:00:00Z"));
	} else if (strstr(path, "/logs") && strstr(path, "follow=1")) {
		/* the first frame and part of the second, then nothing */
		wrs(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
			"Connection: close\r\n\r\n");
		wr(fd, "\x01\0\0\0\0\0\0\x06hello\n\x02\0\0\0\0\0\0\x05oo", 24);
		fk.held_logs = fd;
		fk.keep = true;
	} else if (strstr(path, "/logs")) {
		serve_logs(fd);
	} else if (strstr(path, "/wait") && fk.release_wait) {
		respond(fd, 200, NULL, wait_reply);
	} else if (strstr(path, "/wait")) {
		fk.held_wait = fd;
		fk.keep = true;
	} else {
		respond(fd, 404, NULL, "{\"message\":\"page not found\"}");
	}
	pthread_mutex_unlock(&fk.mu);
}

/* The test's side: the exit happened, the wait answers. */
static void cut_release_wait(void)
{
	pthread_mutex_lock(&fk.mu);
	fk.release_wait = true;
	if (fk.held_wait >= 0) {
		respond(fk.held_wait, 200, NULL, "{\"Error\":null,\"StatusCode\":0}");
		close(fk.held_wait);
		fk.held_wait = -1;
	}
	pthread_mutex_unlock(&fk.mu);
}

static void serve(int fd, const char *method, const char *path, const char *body)
{
	(void)body;
	if (strstr(path, "/containers/cut/") || strstr(path, "/containers/cutdie/")) {
		serve_cut(fd, path);
	} else if (!strcmp(path, "/_ping")) {
		respond(fd, 200, fk.ping_headers, "OK");
	} else if (!strcmp(path, "/version")) {
		respond(fd, 200, NULL,
			"{\"Platform\":{\"Name\":\"\"},\"Components\":[{\"Name\":\"Podman Engine\","
			"\"Version\":\"4.3.1\"}],\"ApiVersion\":\"1.41\"}");
	} else if (strstr(path, "/containers/c1/attach")) {
		serve_attach(fd);
	} else if (strstr(path, "/containers/chunky/attach")) {
		wrs(fd, "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
			"1e\r\n{\"message\":\"conmon went away\"}\r\n0\r\n\r\n");
	} else if (strstr(path, "/containers/missing/")) {
		respond(fd, 404, NULL, "{\"message\":\"No such container: missing\"}");
	} else if (strstr(path, "/containers/c1/json") || strstr(path, "/containers/slow/json")) {
		if (strstr(path, "slow"))
			gate_wait();
		respond(fd, 200, NULL, inspect_docker);
	} else if (strstr(path, "/containers/c1/logs")) {
		serve_logs(fd);
	} else if (strstr(path, "/containers/c1/wait")) {
		respond(fd, 200, NULL, "{\"Error\":null,\"StatusCode\":3}");
	} else if (strstr(path, "/containers/c1/start") && !strcmp(method, "POST")) {
		respond(fd, 304, NULL, "");
	} else if (strstr(path, "/containers/stopped/kill")) {
		respond(fd, 409, NULL, "{\"message\":\"Container stopped is not running\"}");
	} else if (strstr(path, "/containers/create?name=taken")) {
		respond(fd, 409, NULL,
			"{\"message\":\"Conflict. The container name \\\"/taken\\\" is already in "
			"use by container \\\"abc\\\".\"}");
	} else if (strstr(path, "/containers/create?name=podtaken")) {
		respond(fd, 500, NULL,
			"{\"cause\":\"that name is already in use\",\"message\":\"creating container "
			"storage: the container name \\\"podtaken\\\" is already in use\","
			"\"response\":500}");
	} else if (strstr(path, "/containers/create")) {
		respond(fd, 201, NULL, "{\"Id\":\"newid123\",\"Warnings\":[]}");
	} else if (strstr(path, "/containers/json")) {
		respond(fd, 200, NULL, list_reply);
	} else if (strstr(path, "/containers/big/json")) {
		serve_big(fd);
	} else if (strstr(path, "/containers/broken/json")) {
		respond(fd, 500, NULL, "internal error: disk on fire\nmore");
	} else if (strstr(path, "/events")) {
		serve_events(fd);
	} else {
		respond(fd, 404, NULL, "{\"message\":\"page not found\"}");
	}
}

/* Read one request (head and Content-Length body) into buf. */
static bool read_request(int fd, char *buf, size_t cap, char **ret_body)
{
	size_t len = 0;
	char *end = NULL;
	while (!(end = strstr(buf, "\r\n\r\n"))) {
		if (len + 1 >= cap)
			return false;
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			return false;
		len += (size_t)r;
		buf[len] = '\0';
	}
	size_t want = 0;
	char *cl = strcasestr(buf, "Content-Length:");
	if (cl && cl < end)
		want = strtoul(cl + 15, NULL, 10);
	*ret_body = end + 4;
	while ((size_t)(buf + len - *ret_body) < want && len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			return false;
		len += (size_t)r;
		buf[len] = '\0';
	}
	return true;
}

static void *fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(fk.lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return NULL; /* shut down */
		static char buf[65536];
		buf[0] = '\0';
		char *body = NULL;
		if (read_request(fd, buf, sizeof(buf), &body)) {
			char method[16] = "", path[1024] = "";
			sscanf(buf, "%15s %1023s", method, path);
			pthread_mutex_lock(&fk.mu);
			fk.requests++;
			snprintf(fk.last_path, sizeof(fk.last_path), "%s", path);
			snprintf(fk.last_body, sizeof(fk.last_body), "%s", body);
			pthread_mutex_unlock(&fk.mu);
			fk.keep = false;
			serve(fd, method, path, body);
		}
		if (!fk.keep)
			close(fd);
	}
}

static int listen_at(const char *path, bool do_listen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (do_listen && listen(fd, 16) < 0))
		return -1;
	return fd;
}

static void fake_start(const char *sock)
{
	snprintf(fk.sock, sizeof(fk.sock), "%s", sock);
	snprintf(fk.uri, sizeof(fk.uri), "unix://%s", sock);
	fk.lfd = listen_at(sock, true);
	assert_true(fk.lfd >= 0);
	assert_int_equal(pipe2(fk.gate, O_CLOEXEC), 0);
	pthread_mutex_init(&fk.mu, NULL);
	assert_int_equal(pthread_create(&fk.th, NULL, fake_main, NULL), 0);
}

static void fake_stop(void)
{
	if (fk.lfd < 0)
		return;
	close(fk.gate[1]); /* a held reply goes on (and fails) */
	if (fk.held_logs >= 0)
		close(fk.held_logs);
	if (fk.held_wait >= 0)
		close(fk.held_wait);
	shutdown(fk.lfd, SHUT_RDWR);
	pthread_join(fk.th, NULL);
	close(fk.lfd);
	close(fk.gate[0]);
	pthread_mutex_destroy(&fk.mu);
	fk.lfd = -1;
}

static char *path_in(const char *name)
{
	return fileio_join(dir, name);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-engine-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	fk = (struct fake){.lfd = -1,
			   .held_logs = -1,
			   .held_wait = -1,
			   .ping_headers =
				   "Api-Version: 1.43\r\nServer: Docker/24.0.7 (linux)\r\n"};
	return 0;
}

static int setup_server(void **state)
{
	if (setup(state) < 0)
		return -1;
	_cleanup_free_ char *sock = path_in("engine.sock");
	fake_start(sock);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_stop();
	return fileio_remove_tree(dir, NULL);
}

static struct engine *open_fake(void)
{
	struct engine *e = NULL;
	struct rv_error *err = NULL;
	int r = engine_open(fk.uri, &e, &err);
	if (r < 0)
		fail_msg("engine_open: %s", rv_error_msg(err));
	return e;
}

/* ---- endpoints ----------------------------------------------------------- */

static void expect_parse(const char *value, int code, const char *uri)
{
	struct engine_endpoint ep = {0};
	struct rv_error *err = NULL;
	int r = engine_endpoint_parse(value, &ep, &err);
	if (code == 0) {
		if (r != 0)
			fail_msg("'%s': %s", value, rv_error_msg(err));
		assert_string_equal(ep.uri, uri);
	} else {
		assert_int_equal(r, -code);
		assert_non_null(err);
		assert_int_equal(err->code, code);
	}
	engine_endpoint_release(&ep);
	rv_error_free(err);
}

static void test_engine_endpoint_parse(void **state)
{
	(void)state;
	expect_parse("unix:///run/rover-test/docker.sock", 0, "unix:///run/rover-test/docker.sock");
	expect_parse("/var/run/docker.sock", 0, "unix:///var/run/docker.sock");
	expect_parse("tcp://127.0.0.1:23750", 0, "tcp://127.0.0.1:23750");
	expect_parse("tcp://localhost:2375/", 0, "tcp://localhost:2375");
	expect_parse("tcp://[::1]:2375", 0, "tcp://[::1]:2375");

	struct engine_endpoint ep = {0};
	assert_int_equal(engine_endpoint_parse("tcp://[::1]:2375", &ep, NULL), 0);
	assert_int_equal(ep.type, ENGINE_ENDPOINT_TCP);
	assert_string_equal(ep.host, "::1");
	assert_int_equal(ep.port, 2375);
	engine_endpoint_release(&ep);
	assert_int_equal(engine_endpoint_parse("unix:///a/b.sock", &ep, NULL), 0);
	assert_int_equal(ep.type, ENGINE_ENDPOINT_UNIX);
	assert_string_equal(ep.path, "/a/b.sock");
	engine_endpoint_release(&ep);

	expect_parse("", EINVAL, NULL);
	expect_parse("unix://relative.sock", EINVAL, NULL);
	expect_parse("tcp://host", EINVAL, NULL);
	expect_parse("tcp://host:0", EINVAL, NULL);
	expect_parse("tcp://host:65536", EINVAL, NULL);
	expect_parse("tcp://host:12x", EINVAL, NULL);
	expect_parse("tcp://:2375", EINVAL, NULL);
	expect_parse("tcp://::1:2375", EINVAL, NULL);
	expect_parse("ssh://user@host", ENOTSUP, NULL);
	expect_parse("npipe:////./pipe/docker_engine", ENOTSUP, NULL);
	expect_parse("dockerr", EINVAL, NULL);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	expect_parse(longpath, EINVAL, NULL);
}

/* ---- discovery ----------------------------------------------------------- */

static void expect_candidates(const struct engine_discover_env *env, const char *source,
			      const char *const *uris)
{
	struct engine_candidates c = {0};
	struct rv_error *err = NULL;
	if (engine_discover_candidates(env, &c, &err) < 0)
		fail_msg("%s", rv_error_msg(err));
	assert_string_equal(c.source, source);
	size_t n = 0;
	for (; uris[n]; n++) {
		assert_true(n < c.n);
		assert_string_equal(c.uris[n], uris[n]);
	}
	assert_int_equal(c.n, n);
	assert_null(c.uris[n]);
	engine_candidates_release(&c);
}

static void test_engine_discover_order(void **state)
{
	(void)state;
	struct engine_discover_env env = {.xdg_runtime_dir = "/run/user/1000"};
	expect_candidates(&env, "default",
			  (const char *const[]){"unix:///var/run/docker.sock",
						"unix:///run/user/1000/podman/podman.sock",
						"unix:///run/podman/podman.sock", NULL});
	env.xdg_runtime_dir = "";
	expect_candidates(&env, "default",
			  (const char *const[]){"unix:///var/run/docker.sock",
						"unix:///run/podman/podman.sock", NULL});
	env.xdg_runtime_dir = "/run/user/1000";
	env.container_host = "unix:///c.sock";
	expect_candidates(&env, "CONTAINER_HOST", (const char *const[]){"unix:///c.sock", NULL});
	env.docker_host = "tcp://10.0.0.1:2375";
	expect_candidates(&env, "DOCKER_HOST", (const char *const[]){"tcp://10.0.0.1:2375", NULL});
	env.rover_engine = "podman";
	expect_candidates(&env, "ROVER_ENGINE",
			  (const char *const[]){"unix:///run/user/1000/podman/podman.sock",
						"unix:///run/podman/podman.sock", NULL});
	env.explicit_value = "docker";
	env.docker_sock = "/tmp/d.sock";
	expect_candidates(&env, "--engine", (const char *const[]){"unix:///tmp/d.sock", NULL});
	/* an empty value is unset */
	env.explicit_value = "";
	env.rover_engine = "";
	expect_candidates(&env, "DOCKER_HOST", (const char *const[]){"tcp://10.0.0.1:2375", NULL});

	/* a bad value names its source and does not fall through */
	env.docker_host = "ssh://me@far";
	struct engine_candidates c = {0};
	struct rv_error *err = NULL;
	assert_int_equal(engine_discover_candidates(&env, &c, &err), -ENOTSUP);
	assert_non_null(strstr(err->msg, "DOCKER_HOST"));
	assert_int_equal(c.n, 0);
	rv_error_free(err);
}

static void test_engine_discover_first_answering(void **state)
{
	(void)state;
	/* docker's default socket is missing, the rootful podman one refuses
	 * connections, the rootless one answers: discovery picks it. */
	_cleanup_free_ char *xdg = path_in("xdg");
	_cleanup_free_ char *pdir = path_in("xdg/podman");
	assert_int_equal(fileio_mkdir_p(pdir, 0700, NULL), 0);
	_cleanup_free_ char *psock = path_in("xdg/podman/podman.sock");
	_cleanup_free_ char *missing = path_in("docker.sock");
	_cleanup_free_ char *dead = path_in("dead.sock");
	int dead_fd = listen_at(dead, false); /* bound, not listening */
	assert_true(dead_fd >= 0);
	fk.ping_headers = "Api-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n"
			  "Server: Libpod/4.3.1 (linux)\r\n";
	fake_start(psock);

	struct engine_discover_env env = {
		.xdg_runtime_dir = xdg,
		.docker_sock = missing,
		.podman_root_sock = dead,
	};
	struct engine *e = NULL;
	struct rv_error *err = NULL;
	if (engine_discover_with(&env, &e, &err) < 0)
		fail_msg("%s", rv_error_msg(err));
	assert_int_equal(engine_get_kind(e), ENGINE_KIND_PODMAN);
	assert_string_equal(engine_get_uri(e), fk.uri);
	assert_string_equal(engine_get_api_version(e), "1.41");
	e = engine_free(e);

	/* DOCKER_HOST set to a dead socket: no fall-through to the live default */
	_cleanup_free_ char *dead_uri = xasprintf("unix://%s", dead);
	env.docker_host = dead_uri;
	assert_int_equal(engine_discover_with(&env, &e, &err), -ECONNREFUSED);
	assert_null(e);
	assert_non_null(strstr(err->msg, "DOCKER_HOST"));
	assert_non_null(strstr(err->msg, dead));
	assert_non_null(strstr(err->msg, "Connection refused"));
	assert_int_equal(err->http_status, 0);
	err = rv_error_free(err);

	/* nothing answers: one error naming every place tried */
	fake_stop();
	env.docker_host = NULL;
	assert_int_equal(engine_discover_with(&env, &e, &err), -ECONNREFUSED);
	assert_non_null(strstr(err->msg, missing));
	assert_non_null(strstr(err->msg, psock));
	assert_non_null(strstr(err->msg, dead));
	assert_non_null(strstr(err->msg, "No such file or directory"));
	assert_true(rv_error_is_transient(err));
	/* ... and what to do, once, at the end */
	assert_non_null(strstr(err->msg, "; " ENGINE_HTTP_HINT_DOWN));
	assert_null(strstr(strstr(err->msg, ENGINE_HTTP_HINT_DOWN) + 1, ENGINE_HTTP_HINT_DOWN));
	err = rv_error_free(err);

	/* the global `rover --engine` is --engine where a command gives none */
	engine_set_global_option(dead_uri);
	struct engine_discover_env genv;
	struct userconfig guc = {0};
	assert_int_equal(engine_discover_env_load(NULL, &genv, &guc, NULL), 0);
	assert_string_equal(genv.explicit_value, dead_uri);
	userconfig_release(&guc);
	assert_int_equal(engine_discover_env_load("docker", &genv, &guc, NULL), 0);
	assert_string_equal(genv.explicit_value, "docker");
	userconfig_release(&guc);
	engine_set_global_option(NULL);
	assert_null(engine_global_option());
	close(dead_fd);
}

/* ---- kind and version ---------------------------------------------------- */

static void test_engine_kind_and_version(void **state)
{
	(void)state;
	assert_int_equal(engine_kind_from_headers("Docker/20.10.24+dfsg1 (linux)", NULL),
			 ENGINE_KIND_DOCKER);
	assert_int_equal(engine_kind_from_headers("Libpod/4.3.1 (linux)", NULL),
			 ENGINE_KIND_PODMAN);
	assert_int_equal(engine_kind_from_headers(NULL, "4.3.1"), ENGINE_KIND_PODMAN);
	assert_int_equal(engine_kind_from_headers("nginx", NULL), ENGINE_KIND_UNKNOWN);
	assert_int_equal(engine_kind_from_headers(NULL, NULL), ENGINE_KIND_UNKNOWN);

	_cleanup_json_ struct json_object *v = json_tokener_parse(
		"{\"Components\":[{\"Name\":\"Engine\"},{\"Name\":\"containerd\"}]}");
	assert_int_equal(engine_kind_from_version(v), ENGINE_KIND_DOCKER);
	_cleanup_json_ struct json_object *p =
		json_tokener_parse("{\"Components\":[{\"Name\":\"Podman Engine\"}]}");
	assert_int_equal(engine_kind_from_version(p), ENGINE_KIND_PODMAN);
	_cleanup_json_ struct json_object *u = json_tokener_parse("{}");
	assert_int_equal(engine_kind_from_version(u), ENGINE_KIND_UNKNOWN);

	char ver[ENGINE_API_VERSION_LEN];
	assert_int_equal(engine_negotiate_api_version("1.43", ver, NULL), 0);
	assert_string_equal(ver, "1.41");
	assert_int_equal(engine_negotiate_api_version("1.41", ver, NULL), 0);
	assert_string_equal(ver, "1.41");
	assert_int_equal(engine_negotiate_api_version("1.40", ver, NULL), 0);
	assert_string_equal(ver, "1.40");
	assert_int_equal(engine_negotiate_api_version("2.0", ver, NULL), 0);
	assert_string_equal(ver, "1.41");
	struct rv_error *err = NULL;
	assert_int_equal(engine_negotiate_api_version("1.39", ver, &err), -ENOTSUP);
	assert_non_null(strstr(err->msg, "1.40"));
	err = rv_error_free(err);
	assert_int_equal(engine_negotiate_api_version("v1", ver, NULL), -EPROTO);
	assert_int_equal(engine_negotiate_api_version(NULL, ver, NULL), -EPROTO);
	assert_int_equal(engine_negotiate_api_version("1.41x", ver, NULL), -EPROTO);
}

static void test_engine_open_detects_kind_from_headers(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	assert_int_equal(engine_get_kind(e), ENGINE_KIND_DOCKER);
	/* the server speaks 1.43: we ask for 1.41 */
	assert_string_equal(engine_get_api_version(e), "1.41");
	assert_string_equal(engine_get_server(e), "Docker/24.0.7 (linux)");
	assert_int_equal(fk.requests, 1); /* _ping only: no slow GET /version */
	assert_int_equal(engine_ping(e, NULL), 0);
	engine_free(e);
}

static void test_engine_open_falls_back_to_version(void **state)
{
	(void)state;
	fk.ping_headers = "Server: SomeProxy\r\n";
	struct engine *e = open_fake();
	assert_int_equal(engine_get_kind(e), ENGINE_KIND_PODMAN);
	assert_string_equal(engine_get_api_version(e), "1.41");
	assert_int_equal(fk.requests, 2);
	assert_string_equal(fk.last_path, "/version");
	e = engine_free(e);

	fk.ping_headers = "Api-Version: 1.30\r\nServer: Docker/17.06 (linux)\r\n";
	struct rv_error *err = NULL;
	assert_int_equal(engine_open(fk.uri, &e, &err), -ENOTSUP);
	assert_null(e);
	assert_non_null(strstr(err->msg, fk.uri));
	rv_error_free(err);
}

/* ---- containers through the fake engine ---------------------------------- */

static void test_engine_inspect_parses_and_404_is_enoent(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	struct engine_container_info in = {0};
	struct rv_error *err = NULL;
	assert_int_equal(engine_container_inspect(e, "c1", &in, &err), 0);
	assert_string_equal(fk.last_path, "/v1.41/containers/c1/json");
	assert_string_equal(in.id, "c1full");
	assert_string_equal(in.name, "rover-task-7-1");
	assert_string_equal(in.image, "rover-agent-test:latest");
	assert_string_equal(in.status, "exited");
	assert_false(in.running);
	assert_true(in.oom_killed);
	assert_int_equal(in.exit_code, 137);
	assert_null(in.error);
	assert_int_equal(in.started_at_ms, 1795335952749LL);
	assert_int_equal(in.finished_at_ms, 1795335953500LL);
	assert_string_equal(engine_label_get(in.labels, in.n_labels, "rover.task"), "7");
	assert_null(engine_label_get(in.labels, in.n_labels, "nope"));
	engine_container_info_release(&in);

	assert_int_equal(engine_container_inspect(e, "missing", &in, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	assert_non_null(strstr(err->msg, "cannot inspect container 'missing'"));
	assert_non_null(strstr(err->msg, "No such container: missing"));
	assert_false(rv_error_is_transient(err));
	err = rv_error_free(err);

	/* a 500 with a text body: EIO, transient, first line kept */
	assert_int_equal(engine_container_inspect(e, "broken", &in, &err), -EIO);
	assert_int_equal(err->http_status, 500);
	assert_non_null(strstr(err->msg, "disk on fire"));
	assert_null(strstr(err->msg, "more"));
	assert_true(rv_error_is_transient(err));
	err = rv_error_free(err);

	/* ids with a '/' never reach the engine */
	int before = fk.requests;
	assert_int_equal(engine_container_inspect(e, "../x", &in, &err), -EINVAL);
	assert_int_equal(fk.requests, before);
	rv_error_free(err);
	engine_free(e);
}

static void test_engine_create_start_wait_kill(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	struct rv_error *err = NULL;
	const char *const cmd[] = {"run", "/workflow.yml", NULL};
	const char *const labels[] = {"rover.task=7", "rover.flag", NULL};
	const char *const binds[] = {"/host/ws:/workspace", "/host/agent:/rover-agent:ro", NULL};
	struct engine_create_spec spec = {
		.name = "rover-task-7-1",
		.image = "rover-agent-test:latest",
		.cmd = cmd,
		.entrypoint = (const char *const[]){"/rover-agent", NULL},
		.labels = labels,
		.binds = binds,
		.env = (const char *const[]){"A=1", NULL},
		.user = "1000:1000",
		.working_dir = "/workspace",
		.network_mode = "none",
		.stop_signal = "SIGTERM",
		.stop_timeout = 30,
	};
	_cleanup_free_ char *id = NULL;
	if (engine_container_create(e, &spec, &id, &err) < 0)
		fail_msg("%s", rv_error_msg(err));
	assert_string_equal(id, "newid123");
	assert_string_equal(fk.last_path, "/v1.41/containers/create?name=rover-task-7-1");
	_cleanup_json_ struct json_object *body = json_tokener_parse(fk.last_body);
	assert_non_null(body);
	assert_string_equal(jsonutil_get_str(body, "Image"), "rover-agent-test:latest");
	assert_string_equal(jsonutil_get_str(jsonutil_get_obj(body, "Labels"), "rover.task"), "7");
	assert_string_equal(jsonutil_get_str(jsonutil_get_obj(body, "Labels"), "rover.flag"), "");
	struct json_object *host = jsonutil_get_obj(body, "HostConfig");
	assert_string_equal(jsonutil_get_str(host, "NetworkMode"), "none");
	assert_int_equal(json_object_array_length(jsonutil_get_array(host, "Binds")), 2);
	int64_t st = 0;
	assert_true(jsonutil_get_int64(body, "StopTimeout", &st));
	assert_int_equal(st, 30);
	assert_string_equal(json_object_get_string(
				    json_object_array_get_idx(jsonutil_get_array(body, "Cmd"), 1)),
			    "/workflow.yml");

	/* name conflicts, Docker's 409 and Podman's 500 alike: EEXIST, http 409 */
	spec.name = "taken";
	char *id2 = NULL;
	assert_int_equal(engine_container_create(e, &spec, &id2, &err), -EEXIST);
	assert_int_equal(err->http_status, 409);
	err = rv_error_free(err);
	spec.name = "podtaken";
	assert_int_equal(engine_container_create(e, &spec, &id2, &err), -EEXIST);
	assert_int_equal(err->http_status, 409);
	assert_false(rv_error_is_transient(err));
	assert_null(id2);
	err = rv_error_free(err);

	/* start of a started container (304) is success */
	assert_int_equal(engine_container_start(e, "c1", NULL), 0);
	int code = -1;
	assert_int_equal(engine_container_wait(e, "c1", ENGINE_WAIT_NEXT_EXIT, 0, &code, NULL), 0);
	assert_int_equal(code, 3);
	assert_string_equal(fk.last_path, "/v1.41/containers/c1/wait?condition=next-exit");
	assert_int_equal(engine_container_kill(e, "stopped", 15, &err), -ESRCH);
	assert_int_equal(err->http_status, 409);
	err = rv_error_free(err);
	assert_int_equal(engine_container_kill(e, "c1", 0, &err), -EINVAL);
	err = rv_error_free(err);
	assert_int_equal(engine_container_remove(e, "missing", true, &err), -ENOENT);
	assert_string_equal(fk.last_path, "/v1.41/containers/missing?force=1");
	rv_error_free(err);
	engine_free(e);
}

struct attach_out {
	char out[256], err[256];
	size_t nout, nerr;
};

static int attach_collect(void *userdata, enum engine_stream stream, const char *data, size_t len,
			  struct rv_error **err)
{
	(void)err;
	struct attach_out *c = userdata;
	char *b = stream == ENGINE_STREAM_STDOUT ? c->out : c->err;
	size_t *n = stream == ENGINE_STREAM_STDOUT ? &c->nout : &c->nerr;
	if (*n + len < sizeof(c->out)) {
		memcpy(b + *n, data, len);
		*n += len;
		b[*n] = '\0';
	}
	return 0;
}

/* Read until the stream ends (0) or fails. */
static int drain(struct engine_attach *a, struct attach_out *c)
{
	for (;;) {
		struct pollfd p = {.fd = engine_attach_fd(a), .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			return -ETIMEDOUT;
		int r;
		while ((r = engine_attach_read(a, attach_collect, c, NULL)) > 0)
			;
		if (r != -EAGAIN)
			return r;
	}
}

static void test_engine_attach_hijack(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	struct engine_attach *a = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(engine_attach_open(e, "c1", false, &a, &err), 0);
	assert_string_equal(fk.last_path,
			    "/v1.41/containers/c1/attach?stream=1&stdin=1&stdout=1&stderr=1");
	size_t n = 0;
	int r;
	while ((r = engine_attach_write(a, "ping\n", 5, &n, NULL)) == -EAGAIN)
		;
	assert_int_equal(r, 0);
	assert_int_equal(n, 5);
	assert_int_equal(engine_attach_close_stdin(a, NULL), 0);
	struct attach_out c = {0};
	assert_int_equal(drain(a, &c), 0);
	/* the frame that came with the 101, the echo, then stderr */
	assert_string_equal(c.out, "hi\nping\n");
	assert_string_equal(c.err, "eof\n");
	a = engine_attach_free(a);

	/* refusals: the engine's message, its status mapped as for any call */
	assert_int_equal(engine_attach_open(e, "missing", false, &a, &err), -ENOENT);
	assert_int_equal(err->http_status, 404);
	assert_non_null(strstr(err->msg, "cannot attach to container 'missing'"));
	assert_non_null(strstr(err->msg, "No such container"));
	err = rv_error_free(err);
	assert_int_equal(engine_attach_open(e, "chunky", true, &a, &err), -EIO);
	assert_non_null(strstr(err->msg, "conmon went away"));
	err = rv_error_free(err);
	assert_null(a);
	engine_free(e);
}

static void test_engine_http_parse_head(void **state)
{
	(void)state;
	long status = 0;
	size_t hl = 0;
	long long clen = 0;
	bool chunked = true;
	const char *up = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nraw";
	assert_int_equal(engine_http_parse_head(up, strlen(up), &status, &hl, &clen, &chunked), 0);
	assert_int_equal(status, 101);
	assert_int_equal(hl, strlen(up) - 3);
	assert_int_equal(clen, -1);
	assert_false(chunked);
	const char *err = "HTTP/1.1 404 Not Found\r\ncontent-length: 42\r\n\r\n";
	assert_int_equal(engine_http_parse_head(err, strlen(err), &status, &hl, &clen, &chunked),
			 0);
	assert_int_equal(status, 404);
	assert_int_equal(clen, 42);
	const char *ch = "HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(engine_http_parse_head(ch, strlen(ch), &status, &hl, &clen, &chunked), 0);
	assert_true(chunked);
	/* not yet whole; not HTTP */
	assert_int_equal(engine_http_parse_head(up, 20, &status, &hl, &clen, &chunked), -EAGAIN);
	const char *junk = "SSH-2.0-OpenSSH\r\n\r\n";
	assert_int_equal(engine_http_parse_head(junk, strlen(junk), &status, &hl, &clen, &chunked),
			 -EPROTO);
	const char *bad = "HTTP/1.1 1x1 Y\r\n\r\n";
	assert_int_equal(engine_http_parse_head(bad, strlen(bad), &status, &hl, &clen, &chunked),
			 -EPROTO);
}

static void test_engine_create_body_interactive(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	struct engine_create_spec spec = {.image = "img", .stop_timeout = -1};
	assert_int_equal(engine_create_body(&spec, &o, NULL), 0);
	bool b = true;
	assert_true(jsonutil_get_bool(o, "Tty", &b) && !b);
	assert_true(jsonutil_get_bool(o, "OpenStdin", &b) && !b);
	assert_false(json_object_object_get_ex(o, "AttachStdin", NULL));
	json_object_put(o);
	spec.open_stdin = spec.tty = true;
	assert_int_equal(engine_create_body(&spec, &o, NULL), 0);
	const char *keys[] = {"Tty",         "OpenStdin",    "StdinOnce",
			      "AttachStdin", "AttachStdout", "AttachStderr"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		b = false;
		assert_true(jsonutil_get_bool(o, keys[i], &b));
		assert_true(b);
	}
	json_object_put(o);
}

static void test_engine_create_body_rejects(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	struct rv_error *err = NULL;
	struct engine_create_spec spec = {.image = "img", .stop_timeout = -1};
	assert_int_equal(engine_create_body(&spec, &o, NULL), 0);
	assert_false(json_object_object_get_ex(o, "StopTimeout", NULL));
	assert_false(json_object_object_get_ex(o, "Cmd", NULL));
	json_object_put(o);
	o = NULL;
	spec.binds = (const char *const[]){"/only-src", NULL};
	assert_int_equal(engine_create_body(&spec, &o, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "/only-src"));
	err = rv_error_free(err);
	spec.binds = (const char *const[]){"/a:relative", NULL};
	assert_int_equal(engine_create_body(&spec, &o, NULL), -EINVAL);
	spec.binds = NULL;
	spec.labels = (const char *const[]){"=v", NULL};
	assert_int_equal(engine_create_body(&spec, &o, NULL), -EINVAL);
	spec.labels = NULL;
	spec.image = NULL;
	assert_int_equal(engine_create_body(&spec, &o, NULL), -EINVAL);
	assert_null(o);
}

static void test_engine_list_by_label(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	struct engine_container_summary *list = NULL;
	size_t n = 0;
	const char *const filters[] = {"rover.store=/p/.rover", NULL};
	assert_int_equal(engine_container_list(e, filters, &list, &n, NULL), 0);
	/* filters={"label":["rover.store=/p/.rover"]}, escaped */
	assert_non_null(strstr(fk.last_path, "/v1.41/containers/json?all=1&filters="));
	assert_non_null(strstr(fk.last_path, "rover.store%3D%2Fp%2F.rover"));
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "a1");
	assert_string_equal(list[0].name, "rover-task-1-1");
	assert_string_equal(list[0].state, "running");
	assert_string_equal(list[1].state, "exited");
	assert_int_equal(list[1].created, 1795336058);
	assert_string_equal(engine_label_get(list[1].labels, list[1].n_labels, "rover.task"), "2");
	engine_container_list_free(list, n);

	_cleanup_json_ struct json_object *notarr = json_tokener_parse("{}");
	struct rv_error *err = NULL;
	assert_int_equal(engine_container_list_parse(notarr, &list, &n, &err), -EPROTO);
	rv_error_free(err);
	engine_free(e);
}

static void test_engine_info_parse_podman_shape(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *o = json_tokener_parse(
		"{\"Id\":\"p1\",\"Name\":\"probe\",\"Image\":\"localhost/img:latest\","
		"\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":4242,\"ExitCode\":0,"
		"\"Error\":\"\",\"StartedAt\":\"2026-11-22T08:25:55.687495596Z\","
		"\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"Health\":{\"Status\":\"\"}},"
		"\"Config\":{\"Tty\":true,\"Labels\":null}}");
	struct engine_container_info in = {0};
	assert_int_equal(engine_container_info_parse(o, &in, NULL), 0);
	assert_string_equal(in.name, "probe");
	assert_string_equal(in.image, "localhost/img:latest");
	assert_true(in.running);
	assert_int_equal(in.pid, 4242);
	assert_true(in.tty);
	assert_int_equal(in.finished_at_ms, 0); /* year 1 = never */
	assert_true(in.started_at_ms > 0);
	assert_int_equal(in.n_labels, 0);
	engine_container_info_release(&in);

	_cleanup_json_ struct json_object *bad = json_tokener_parse("{\"Id\":\"x\"}");
	struct rv_error *err = NULL;
	assert_int_equal(engine_container_info_parse(bad, &in, &err), -EPROTO);
	rv_error_free(err);
}

static void test_engine_reply_cap_and_timeout(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	struct engine_container_info in = {0};
	struct rv_error *err = NULL;
	assert_int_equal(engine_container_inspect(e, "big", &in, &err), -EFBIG);
	assert_non_null(strstr(err->msg, "16 MiB"));
	err = rv_error_free(err);

	/* the server holds the reply: the request timeout ends the call */
	engine_set_timeouts(e, 0, 300);
	assert_int_equal(engine_container_inspect(e, "slow", &in, &err), -ETIMEDOUT);
	assert_true(rv_error_is_transient(err));
	assert_non_null(strstr(err->msg, fk.uri));
	rv_error_free(err);
	gate_open();
	engine_free(e);
}

/* ---- logs ---------------------------------------------------------------- */

struct collected {
	char out[256], err[256];
	size_t nout, nerr;
	int calls;
	int stop_after; /* > 0: fail on that call */
};

static int collect(void *ud, enum engine_stream stream, const char *data, size_t len,
		   struct rv_error **err)
{
	struct collected *c = ud;
	if (++c->calls == c->stop_after)
		return rv_error_set(err, ECANCELED, "consumer stops");
	char *buf = stream == ENGINE_STREAM_STDERR ? c->err : c->out;
	size_t *n = stream == ENGINE_STREAM_STDERR ? &c->nerr : &c->nout;
	assert_true(*n + len < sizeof(c->out));
	memcpy(buf + *n, data, len);
	*n += len;
	buf[*n] = '\0';
	return 0;
}

static const char stream[] = "\x01\0\0\0\0\0\0\x04out1"
			     "\x02\0\0\0\0\0\0\x05"
			     "err1\n"
			     "\x01\0\0\0\0\0\0\x00" /* empty frame */
			     "\x01\0\0\0\0\0\0\x05"
			     "out2\n";

static void test_engine_demux_every_split(void **state)
{
	(void)state;
	size_t n = sizeof(stream) - 1;
	/* every split point into two pieces, and byte by byte */
	for (size_t cut = 0; cut <= n; cut++) {
		struct engine_demux d;
		struct collected c = {0};
		engine_demux_init(&d, false);
		assert_int_equal(engine_demux_feed(&d, stream, cut, collect, &c, NULL), 0);
		assert_int_equal(engine_demux_feed(&d, stream + cut, n - cut, collect, &c, NULL),
				 0);
		assert_int_equal(engine_demux_finish(&d, NULL), 0);
		assert_string_equal(c.out, "out1out2\n");
		assert_string_equal(c.err, "err1\n");
		assert_int_equal(d.frames, 4);
	}
	struct engine_demux d;
	struct collected c = {0};
	engine_demux_init(&d, false);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(engine_demux_feed(&d, stream + i, 1, collect, &c, NULL), 0);
	assert_string_equal(c.out, "out1out2\n");
	assert_string_equal(c.err, "err1\n");
}

/* A read repeated after a cut hands on only what the cut one had not:
 * for every cut point and every split of the repeat, the two together are
 * the stream once, each byte on its own stream. */
static void test_engine_demux_skip_what_was_passed(void **state)
{
	(void)state;
	size_t n = sizeof(stream) - 1;
	for (size_t cut = 0; cut <= n; cut++) {
		struct engine_demux d;
		struct collected c = {0};
		engine_demux_init(&d, false);
		assert_int_equal(engine_demux_feed(&d, stream, cut, collect, &c, NULL), 0);
		uint64_t passed = d.passed;
		assert_int_equal(passed, c.nout + c.nerr);
		for (size_t split = 0; split <= n; split++) {
			struct collected again = c;
			engine_demux_init(&d, false);
			d.skip = passed;
			assert_int_equal(
				engine_demux_feed(&d, stream, split, collect, &again, NULL), 0);
			assert_int_equal(engine_demux_feed(&d, stream + split, n - split, collect,
							   &again, NULL),
					 0);
			assert_int_equal(engine_demux_finish(&d, NULL), 0);
			assert_string_equal(again.out, "out1out2\n");
			assert_string_equal(again.err, "err1\n");
			assert_int_equal(d.passed, 14 - passed);
		}
	}
	/* raw (TTY): the same, on one stream */
	struct engine_demux d;
	struct collected c = {0};
	engine_demux_init(&d, true);
	d.skip = 3;
	assert_int_equal(engine_demux_feed(&d, "ab", 2, collect, &c, NULL), 0);
	assert_int_equal(c.nout, 0);
	assert_int_equal(engine_demux_feed(&d, "cdef", 4, collect, &c, NULL), 0);
	assert_string_equal(c.out, "def");
	assert_int_equal(d.passed, 3);
}

static void test_engine_demux_errors_and_raw(void **state)
{
	(void)state;
	struct engine_demux d;
	struct collected c = {0};
	struct rv_error *err = NULL;
	/* a stream that ends inside a frame */
	engine_demux_init(&d, false);
	assert_int_equal(engine_demux_feed(&d, stream, 10, collect, &c, NULL), 0);
	assert_int_equal(engine_demux_finish(&d, &err), -EPROTO);
	err = rv_error_free(err);
	/* a TTY stream read as multiplexed: bad header */
	engine_demux_init(&d, false);
	assert_int_equal(engine_demux_feed(&d, "hello world\n", 12, collect, &c, &err), -EPROTO);
	assert_non_null(strstr(err->msg, "header"));
	err = rv_error_free(err);
	/* raw: all of it is stdout, as is */
	memset(&c, 0, sizeof(c));
	engine_demux_init(&d, true);
	assert_int_equal(engine_demux_feed(&d, "\x01\0\0\0tty", 7, collect, &c, NULL), 0);
	assert_int_equal(c.nout, 7);
	assert_int_equal(engine_demux_finish(&d, NULL), 0);
	/* the consumer stops the stream with its own code */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	engine_demux_init(&d, false);
	assert_int_equal(engine_demux_feed(&d, stream, sizeof(stream) - 1, collect, &c, &err),
			 -ECANCELED);
	assert_string_equal(c.out, "out1");
	rv_error_free(err);
}

static void test_engine_logs_through_http(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	struct collected c = {0};
	struct rv_error *err = NULL;
	if (engine_container_logs(e, "c1", 0, collect, &c, &err) < 0)
		fail_msg("%s", rv_error_msg(err));
	assert_non_null(
		strstr(fk.last_path, "/v1.41/containers/c1/logs?stdout=1&stderr=1&follow=0"));
	assert_string_equal(c.out, "hello\nworld\n");
	assert_string_equal(c.err, "oops\n");
	/* the 404 body is an error, never fed to the demultiplexer */
	memset(&c, 0, sizeof(c));
	assert_int_equal(engine_container_logs(e, "missing", ENGINE_LOGS_FOLLOW, collect, &c, &err),
			 -ENOENT);
	assert_int_equal(c.calls, 0);
	rv_error_free(err);
	engine_free(e);
}

/* Releases the wait once the follow has handed on 8 bytes. */
static int collect_then_exit(void *ud, enum engine_stream which, const char *data, size_t len,
			     struct rv_error **err)
{
	struct collected *c = ud;
	int r = collect(ud, which, data, len, err);
	if (r == 0 && c->nout + c->nerr >= 8)
		cut_release_wait();
	return r;
}

#define PODMAN_PING                                                               \
	"Api-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\nServer: Libpod/4.3.1 " \
	"(linux)\r\n"

/* The engine holds the follow open after the exit (Podman 4.3): the call
 * returns at the wait's answer, with the output read again and each byte
 * handed on once, though the follow had stopped inside a frame. */
static void test_engine_logs_follow_cut_at_exit(void **state)
{
	(void)state;
	fk.ping_headers = PODMAN_PING; /* the cut is Podman's only */
	struct engine *e = open_fake();
	struct collected c = {0};
	struct rv_error *err = NULL;
	alarm(20); /* not cut: the follow never ends; fail, never hang */
	if (engine_container_logs(e, "cut", ENGINE_LOGS_FOLLOW, collect_then_exit, &c, &err) < 0)
		fail_msg("%s", rv_error_msg(err));
	alarm(0);
	assert_string_equal(c.out, "hello\nworld\n");
	assert_string_equal(c.err, "oops\n");
	pthread_mutex_lock(&fk.mu);
	int held = fk.held_logs;
	int inspects = fk.cut_inspects;
	char last[1024];
	snprintf(last, sizeof(last), "%s", fk.last_path);
	pthread_mutex_unlock(&fk.mu);
	assert_true(held >= 0); /* the engine never ended the follow */
	assert_int_equal(inspects, 2);
	assert_non_null(strstr(last, "/containers/cut/logs?stdout=1&stderr=1&follow=0"));
	engine_free(e);
}

/* The engine goes away in the middle of a follow: the error says so, as
 * without the wait, and the wait held on its own connection blocks
 * nothing. */
static void test_engine_logs_follow_engine_gone(void **state)
{
	(void)state;
	fk.ping_headers = PODMAN_PING; /* the cut is Podman's only */
	struct engine *e = open_fake();
	struct collected c = {0};
	struct rv_error *err = NULL;
	alarm(20);
	assert_int_equal(engine_container_logs(e, "cutdie", ENGINE_LOGS_FOLLOW, collect, &c, &err),
			 -ECONNRESET);
	alarm(0);
	assert_non_null(strstr(rv_error_msg(err), "cannot read the logs of container 'cutdie'"));
	assert_non_null(strstr(rv_error_msg(err), "lost"));
	assert_string_equal(c.out, "he");
	rv_error_free(err);
	engine_free(e);
}

/* ---- events -------------------------------------------------------------- */

static void test_engine_event_parse_both_engines(void **state)
{
	(void)state;
	struct engine_event ev = {0};
	assert_int_equal(engine_event_parse(ev_docker_die, strlen(ev_docker_die), &ev, NULL), 0);
	assert_string_equal(ev.action, "die");
	assert_string_equal(ev.type, "container");
	assert_string_equal(ev.id, "c1full");
	assert_string_equal(ev.name, "rover-task-7-1");
	assert_true(ev.has_exit_code);
	assert_int_equal(ev.exit_code, 3);
	assert_int_equal(ev.time_ns, 1795335952772562121LL);
	assert_string_equal(engine_event_attr(&ev, "rover.task"), "7");
	engine_event_release(&ev);

	assert_int_equal(engine_event_parse(ev_podman_died, strlen(ev_podman_died), &ev, NULL), 0);
	assert_string_equal(ev.action, "die"); /* normalized */
	assert_true(ev.has_exit_code);
	assert_int_equal(ev.exit_code, 143);
	assert_int_equal(ev.time_ns, 1795335955000000000LL);
	assert_string_equal(engine_event_attr(&ev, "rover.task"), "8");
	engine_event_release(&ev);

	/* Podman 4.3 compat: Action "die", both fields; exitCode wins */
	const char *both = "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\","
			   "\"Attributes\":{\"containerExitCode\":\"0\",\"exitCode\":\"5\"}}}";
	assert_int_equal(engine_event_parse(both, strlen(both), &ev, NULL), 0);
	assert_int_equal(ev.exit_code, 5);
	engine_event_release(&ev);

	/* Podman puts containerExitCode "0" on a start: not an exit code */
	const char *start = "{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"x\","
			    "\"Attributes\":{\"containerExitCode\":\"0\"}}}";
	assert_int_equal(engine_event_parse(start, strlen(start), &ev, NULL), 0);
	assert_string_equal(ev.action, "start");
	assert_false(ev.has_exit_code);
	engine_event_release(&ev);

	struct rv_error *err = NULL;
	assert_int_equal(engine_event_parse("{\"Type\":", 8, &ev, &err), -EPROTO);
	err = rv_error_free(err);
	assert_int_equal(engine_event_parse("[1]", 3, &ev, &err), -EPROTO);
	err = rv_error_free(err);
	assert_int_equal(engine_event_parse("{\"Type\":\"container\"}", 20, &ev, &err), -EPROTO);
	rv_error_free(err);
}

/* Issue 15: `time` * 1e9 overflowed int64 (UBSan) for an engine that sends
 * milliseconds or garbage; such a time is now no time (0). */
static void test_engine_event_time_overflow(void **state)
{
	(void)state;
	static const struct {
		const char *time;
		int64_t want_ns;
	} cases[] = {
		{"\"time\":1795335955", 1795335955000000000LL},
		{"\"time\":9223372036", 9223372036000000000LL}, /* the largest that fits */
		{"\"time\":9223372037", 0},
		{"\"time\":1795335955000", 0}, /* milliseconds */
		{"\"time\":9223372036854775807", 0},
		{"\"time\":-5", 0},
		{"\"timeNano\":9223372036854775807", 9223372036854775807LL},
		{"\"timeNano\":-1,\"time\":2", 2000000000LL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *json = xasprintf(
			"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"x\"},%s}",
			cases[i].time);
		struct engine_event ev = {0};
		assert_int_equal(engine_event_parse(json, strlen(json), &ev, NULL), 0);
		if (ev.time_ns != cases[i].want_ns)
			fail_msg("%s: time_ns %lld, want %lld", cases[i].time,
				 (long long)ev.time_ns, (long long)cases[i].want_ns);
		engine_event_release(&ev);
	}
}

static void test_engine_events_query(void **state)
{
	(void)state;
	const char *const actions[] = {"die", "oom", NULL};
	const char *const labels[] = {"rover.task=7", NULL};
	struct engine_events_filter f = {.actions = actions, .labels = labels};
	_cleanup_free_ char *d = engine_events_query(&f, ENGINE_KIND_DOCKER, 1795335952123LL);
	_cleanup_free_ char *p = engine_events_query(&f, ENGINE_KIND_PODMAN, 1795335952123LL);
	assert_true(strncmp(d, "since=1795335952.123000000&filters=", 35) == 0);
	assert_null(strstr(d, "died"));
	assert_non_null(strstr(d, "%22die%22"));
	assert_non_null(strstr(p, "%22died%22")); /* Podman 4.3 needs it */
	assert_non_null(strstr(p, "%22die%22"));
	assert_non_null(strstr(p, "rover.task%3D7"));
	f.since_ms = ENGINE_EVENTS_SINCE_NONE;
	_cleanup_free_ char *n = engine_events_query(&f, ENGINE_KIND_DOCKER, 5);
	assert_null(strstr(n, "since="));
	f.since_ms = 1000;
	_cleanup_free_ char *s = engine_events_query(&f, ENGINE_KIND_DOCKER, 5);
	assert_true(strncmp(s, "since=1.000000000&", 18) == 0);
}

struct got_events {
	int n;
	char ids[4][32];
	int codes[4];
};

static int on_event(void *ud, const struct engine_event *ev, struct rv_error **err)
{
	(void)err;
	struct got_events *g = ud;
	assert_true(g->n < 4);
	snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s", ev->id);
	g->codes[g->n] = ev->has_exit_code ? ev->exit_code : -1;
	g->n++;
	return 0;
}

static void poll_until(struct engine_events *s, struct got_events *g, int want)
{
	/* bounded waits on the socket, not sleeps */
	for (int i = 0; i < 50 && g->n < want; i++) {
		struct rv_error *err = NULL;
		int r = engine_events_poll(s, NULL, 0, 200, &err);
		if (r < 0)
			fail_msg("poll: %s", rv_error_msg(err));
	}
	assert_int_equal(g->n, want);
}

static void test_engine_events_stream_without_headers(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	const char *const actions[] = {"die", NULL};
	struct engine_events_filter f = {.actions = actions};
	struct got_events g = {0};
	struct engine_events *s = NULL;
	struct rv_error *err = NULL;
	if (engine_events_open(e, &f, on_event, &g, &s, &err) < 0)
		fail_msg("%s", rv_error_msg(err));

	/* No headers yet: polling returns at once, and wakes for our own fd. */
	assert_int_equal(engine_events_poll(s, NULL, 0, 0, NULL), 0);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	struct pollfd extra[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = 0}};
	assert_int_equal(engine_events_poll(s, extra, 2, 5000, NULL), 0);
	assert_true(extra[0].revents & POLLIN);
	assert_int_equal(extra[1].revents, 0);
	close(p[0]);
	close(p[1]);

	/* one event and half of the next */
	gate_open();
	poll_until(s, &g, 1);
	/* the server read the request before it let the event go */
	char path[sizeof(fk.last_path)];
	pthread_mutex_lock(&fk.mu);
	memcpy(path, fk.last_path, sizeof(path));
	pthread_mutex_unlock(&fk.mu);
	assert_non_null(strstr(path, "/v1.41/events?since="));
	assert_non_null(strstr(path, "%22die%22"));
	assert_string_equal(g.ids[0], "c1full");
	assert_int_equal(g.codes[0], 3);
	assert_int_equal(engine_events_poll(s, NULL, 0, 0, NULL), 0);
	assert_int_equal(g.n, 1);

	/* the rest; then the engine closes the stream */
	gate_open();
	poll_until(s, &g, 2);
	assert_string_equal(g.ids[1], "p2full");
	assert_int_equal(g.codes[1], 143);
	int r = 0;
	for (int i = 0; i < 50 && r >= 0; i++)
		r = engine_events_poll(s, NULL, 0, 200, &err);
	assert_int_equal(r, -ECONNRESET);
	assert_non_null(strstr(err->msg, "closed the event stream"));
	err = rv_error_free(err);
	/* over is over */
	assert_int_equal(engine_events_poll(s, NULL, 0, 0, &err), -ECONNRESET);
	rv_error_free(err);
	engine_events_free(s);
	engine_free(e);
}

/* The caller owns the poll (supervise.h): the stream's descriptors go
 * into the caller's poll(), dispatch reads them; nothing blocks inside. */
static int dispatch_until(struct engine_events *s, struct got_events *g, int want,
			  struct rv_error **err)
{
	int r = 0;
	for (int i = 0; i < 50 && g->n < want && r >= 0; i++) {
		struct pollfd fds[8];
		int t = -1;
		unsigned n = engine_events_pollfds(s, fds, 8, &t);
		assert_true(n <= 8);
		(void)poll(fds, n, t < 0 || t > 200 ? 200 : t);
		r = engine_events_dispatch(s, err);
	}
	return r;
}

static void test_engine_events_caller_owns_the_poll(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	const char *const actions[] = {"die", NULL};
	struct engine_events_filter f = {.actions = actions};
	struct got_events g = {0};
	struct engine_events *s = NULL;
	struct rv_error *err = NULL;
	if (engine_events_open(e, &f, on_event, &g, &s, &err) < 0)
		fail_msg("%s", rv_error_msg(err));
	/* the connection is named: a caller can wait on it */
	struct pollfd fds[8];
	int t = -2;
	assert_true(engine_events_pollfds(s, fds, 8, &t) >= 1);
	assert_true(t >= -1);
	assert_int_equal(engine_events_dispatch(s, NULL), 0);
	assert_int_equal(g.n, 0);

	gate_open();
	if (dispatch_until(s, &g, 1, &err) < 0)
		fail_msg("dispatch: %s", rv_error_msg(err));
	assert_int_equal(g.n, 1);
	assert_string_equal(g.ids[0], "c1full");
	gate_open();
	if (dispatch_until(s, &g, 2, &err) < 0)
		fail_msg("dispatch: %s", rv_error_msg(err));
	assert_string_equal(g.ids[1], "p2full");
	/* the engine closes the stream: dispatch says so, pollfds asks for
	 * dispatch at once and names nothing */
	int r = dispatch_until(s, &g, 3, &err);
	assert_int_equal(r, -ECONNRESET);
	err = rv_error_free(err);
	t = -2;
	assert_int_equal(engine_events_pollfds(s, fds, 8, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(engine_events_dispatch(s, &err), -ECONNRESET);
	rv_error_free(err);
	engine_events_free(s);
	engine_free(e);
}

static void test_engine_events_open_refused(void **state)
{
	(void)state;
	struct engine *e = open_fake();
	fake_stop(); /* the engine goes away after we connected */
	unlink(fk.sock);
	struct engine_events_filter f = {0};
	struct got_events g = {0};
	struct engine_events *s = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(engine_events_open(e, &f, on_event, &g, &s, &err), -ECONNREFUSED);
	assert_null(s);
	assert_non_null(strstr(err->msg, "cannot connect to the engine"));
	err = rv_error_free(err);
	/* and a plain call says the same, never ENOENT */
	struct engine_container_info in = {0};
	assert_int_equal(engine_container_inspect(e, "c1", &in, &err), -ECONNREFUSED);
	assert_int_equal(err->http_status, 0);
	assert_non_null(strstr(err->msg, "No such file or directory"));
	rv_error_free(err);
	engine_free(e);
}

/* ---- error mapping ------------------------------------------------------- */

static void expect_status(long status, const char *body, int code, int http)
{
	struct rv_error *err = NULL;
	assert_int_equal(
		engine_http_status_error(status, body, body ? strlen(body) : 0, "op", &err), -code);
	assert_int_equal(err->code, code);
	assert_int_equal(err->http_status, http);
	assert_true(strncmp(err->msg, "op: ", 4) == 0);
	rv_error_free(err);
}

static void test_engine_error_mapping(void **state)
{
	(void)state;
	expect_status(400, "{\"message\":\"bad\"}", EINVAL, 400);
	expect_status(403, NULL, EACCES, 403);
	expect_status(404, "{\"message\":\"No such image: x\"}", ENOENT, 404);
	expect_status(409, "{\"message\":\"You cannot remove a running container\"}", EBUSY, 409);
	expect_status(409, "{\"message\":\"name is already in use\"}", EEXIST, 409);
	expect_status(500, "{\"cause\":\"container state improper\",\"message\":\"x\"}", EBUSY,
		      409);
	expect_status(500, "{\"message\":\"boom\"}", EIO, 500);
	expect_status(503, "", EIO, 503);
	expect_status(429, NULL, EAGAIN, 429);
	expect_status(418, "teapot", EPROTO, 418);

	struct rv_error *err = NULL;
	assert_int_equal(engine_http_status_error(404, "{\"message\":\"No such container: x\"}", 34,
						  "cannot inspect container 'x'", &err),
			 -ENOENT);
	assert_string_equal(err->msg,
			    "cannot inspect container 'x': No such container: x (HTTP 404)");
	err = rv_error_free(err);

	/* a missing socket is a dead engine (ECONNREFUSED), never ENOENT */
	assert_int_equal(engine_http_curl_error(CURLE_COULDNT_CONNECT, ENOENT, "unix:///x.sock", "",
						NULL, &err),
			 -ECONNREFUSED);
	assert_string_equal(err->msg,
			    "cannot connect to the engine at unix:///x.sock: No such file "
			    "or directory");
	err = rv_error_free(err);
	/* a socket we may not open: what to do about it, and not "down" */
	assert_int_equal(engine_http_curl_error(CURLE_COULDNT_CONNECT, EACCES, "unix:///x.sock", "",
						NULL, &err),
			 -EACCES);
	assert_string_equal(err->msg, "cannot connect to the engine at unix:///x.sock: permission "
				      "denied on /x.sock: " ENGINE_HTTP_HINT_PERMISSION);
	assert_int_equal(err->http_status, 0);
	assert_false(engine_error_means_down(err->code));
	assert_true(engine_error_means_down(ECONNREFUSED));
	err = rv_error_free(err);
	assert_int_equal(
		engine_http_curl_error(CURLE_OPERATION_TIMEDOUT, 0, "u", "t/o", "op", &err),
		-ETIMEDOUT);
	err = rv_error_free(err);
	assert_int_equal(engine_http_curl_error(CURLE_RECV_ERROR, 0, "u", "", "op", &err),
			 -ECONNRESET);
	err = rv_error_free(err);
	assert_int_equal(engine_http_curl_error(CURLE_WEIRD_SERVER_REPLY, 0, "u", "", "op", &err),
			 -EPROTO);
	rv_error_free(err);
}

static void test_engine_image_path(void **state)
{
	(void)state;
	char *p = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(engine_image_path("rover-agent-test:latest", &p, &err), 0);
	assert_string_equal(p, "rover-agent-test%3Alatest");
	free(p);
	/* slashes of a repository path are kept: both engines route them */
	assert_int_equal(engine_image_path("localhost:5000/team/img:1", &p, &err), 0);
	assert_string_equal(p, "localhost%3A5000/team/img%3A1");
	free(p);
	assert_int_equal(engine_image_path("sha256:abc", &p, &err), 0);
	free(p);
	const char *bad[] = {"", "a b", "../x", "a/../b", "/x", "x/", "a//b", "a\nb", "a/./b"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(engine_image_path(bad[i], &p, &err), -EINVAL);
		err = rv_error_free(err);
	}
	char *longname = xcalloc(1, 600);
	memset(longname, 'a', 599);
	assert_int_equal(engine_image_path(longname, &p, &err), -EINVAL);
	err = rv_error_free(err);
	free(longname);
}

static void test_engine_open_bad_value(void **state)
{
	(void)state;
	struct engine *e = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(engine_open("kubernetes", &e, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "kubernetes"));
	err = rv_error_free(err);
	assert_int_equal(engine_open("", &e, &err), -EINVAL);
	rv_error_free(err);
	assert_null(e);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_endpoint_parse),
		cmocka_unit_test(test_engine_image_path),
		cmocka_unit_test(test_engine_discover_order),
		cmocka_unit_test_setup_teardown(test_engine_discover_first_answering, setup,
						teardown),
		cmocka_unit_test(test_engine_kind_and_version),
		cmocka_unit_test_setup_teardown(test_engine_open_detects_kind_from_headers,
						setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_engine_open_falls_back_to_version,
						setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_engine_inspect_parses_and_404_is_enoent,
						setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_engine_create_start_wait_kill, setup_server,
						teardown),
		cmocka_unit_test(test_engine_create_body_rejects),
		cmocka_unit_test(test_engine_create_body_interactive),
		cmocka_unit_test(test_engine_http_parse_head),
		cmocka_unit_test_setup_teardown(test_engine_attach_hijack, setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_engine_list_by_label, setup_server, teardown),
		cmocka_unit_test(test_engine_info_parse_podman_shape),
		cmocka_unit_test_setup_teardown(test_engine_reply_cap_and_timeout, setup_server,
						teardown),
		cmocka_unit_test(test_engine_demux_every_split),
		cmocka_unit_test(test_engine_demux_skip_what_was_passed),
		cmocka_unit_test(test_engine_demux_errors_and_raw),
		cmocka_unit_test_setup_teardown(test_engine_logs_through_http, setup_server,
						teardown),
		cmocka_unit_test_setup_teardown(test_engine_logs_follow_cut_at_exit, setup_server,
						teardown),
		cmocka_unit_test_setup_teardown(test_engine_logs_follow_engine_gone, setup_server,
						teardown),
		cmocka_unit_test(test_engine_event_parse_both_engines),
		cmocka_unit_test(test_engine_event_time_overflow),
		cmocka_unit_test(test_engine_events_query),
		cmocka_unit_test_setup_teardown(test_engine_events_stream_without_headers,
						setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_engine_events_caller_owns_the_poll,
						setup_server, teardown),
		cmocka_unit_test_setup_teardown(test_engine_events_open_refused, setup_server,
						teardown),
		cmocka_unit_test(test_engine_error_mapping),
		cmocka_unit_test(test_engine_open_bad_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

# Shared helpers for rover's bats integration tests that need a container
# engine.  The engines are the project's own (scripts/engines.sh start) and the image is scripts/build-image.sh's; tests/run.sh
# starts and builds both before running the bats files.
#
#   load helpers
#   require_engine docker          skip (with the reason) when its socket is absent
#   engine_uri docker              unix:///run/rover-test/docker.sock
#   probe docker inspect ID        run the engine client's driver on that engine
#   cleanup_label docker LABEL     remove every container carrying LABEL

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER_BUILD=${ROVER_BUILD:-$ROOT/build}
PROBE=$ROVER_BUILD/tests/tools/engine_probe
ROVER_TEST_IMAGE=${ROVER_TEST_IMAGE:-rover-agent-test:latest}

# ROVER_TEST_DOCKER_SOCK, ROVER_TEST_PODMAN_SOCK, ROVER_TEST_DOCKER_TCP,
# ROVER_TEST_CONTAINERS_CONF (unless the caller set them already).
if [ -z "${ROVER_TEST_DOCKER_SOCK:-}" ]; then
	eval "$("$ROOT/scripts/engines.sh" env)"
fi

engine_sock() { # docker|podman
	case "$1" in
	docker) echo "$ROVER_TEST_DOCKER_SOCK" ;;
	podman) echo "$ROVER_TEST_PODMAN_SOCK" ;;
	*) echo "engine_sock: unknown engine $1" >&2; return 1 ;;
	esac
}

engine_uri() { # docker|podman
	echo "unix://$(engine_sock "$1")"
}

# Skip only when the engine's socket does not exist; a socket that is there
# but does not answer is a failure of the test, not a reason to skip.
require_engine() { # docker|podman
	local sock
	sock=$(engine_sock "$1")
	if [ ! -S "$sock" ]; then
		skip "no $1 engine socket at $sock (run scripts/engines.sh start)"
	fi
	if [ ! -x "$PROBE" ]; then
		echo "missing $PROBE: build it with 'make tools'" >&2
		return 1
	fi
}

# probe ENGINE ARGS...: engine_probe on docker/podman (or on any endpoint value).
probe() {
	local e=$1
	shift
	case "$e" in
	docker | podman) "$PROBE" "$(engine_uri "$e")" "$@" ;;
	*) "$PROBE" "$e" "$@" ;;
	esac
}

# Remove every container with LABEL ("key=value") on ENGINE; errors ignored.
cleanup_label() { # engine label
	local id _
	[ -S "$(engine_sock "$1")" ] || return 0
	probe "$1" list "$2" 2>/dev/null | while read -r id _; do
		probe "$1" rm -f "$id" >/dev/null 2>&1 || true
	done
}

# A label unique to this bats file run, so cleanup never touches containers
# of other tests or other people sharing the engine.
test_run_label() {
	echo "rover.test.run=$(basename "$BATS_TEST_FILENAME" .bats)-$BATS_ROOT_PID"
}

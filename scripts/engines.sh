#!/usr/bin/env bash
# Start, stop and describe the container engines the integration tests use: a
# private dockerd and Podman's API service, on sockets under /run/rover-test
# (dockerd runs as root with its own data root; Podman as a system service with
# its own storage).  Nothing here touches an engine we did not start: a
# Docker at /var/run/docker.sock, if any, is left alone.
#
#   scripts/engines.sh start    start whichever engine is not answering (idempotent)
#   scripts/engines.sh stop     stop the engines this script started (by recorded PID)
#   scripts/engines.sh status   one line per engine; exit 0 when both answer
#   scripts/engines.sh env      print the export line for tests
#
# Environment: ROVER_TEST_ENGINE_WAIT (seconds to wait for /_ping, default 90),
# ROVER_TEST_ENGINES (docker, podman or "docker podman", the default), and to
# run a second, separate pair: ROVER_TEST_RUN_DIR (default /run/rover-test),
# ROVER_TEST_DOCKER_DATA (/var/lib/rover-test-docker), ROVER_TEST_DOCKER_PORT
# (23750).  Podman's image and container storage is the host's default either way.
set -euo pipefail

run_dir=${ROVER_TEST_RUN_DIR:-/run/rover-test}
docker_sock=$run_dir/docker.sock
podman_sock=$run_dir/podman.sock
docker_tcp=tcp://127.0.0.1:${ROVER_TEST_DOCKER_PORT:-23750}
docker_data=${ROVER_TEST_DOCKER_DATA:-/var/lib/rover-test-docker}
docker_exec=$run_dir/docker-exec
# dockerd writes docker.pid itself; *.started holds the PID of the process we
# launched (the same process), so stop never relies on a file someone else wrote.
conf=$run_dir/containers.conf
wait_s=${ROVER_TEST_ENGINE_WAIT:-90}
engines=${ROVER_TEST_ENGINES:-docker podman}

say() { echo "engines: $*"; }
die() { echo "engines: $*" >&2; exit 1; }

ping_sock() { # socket -> 0 when /_ping answers OK
	[ -S "$1" ] && curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1
}

# The PID recorded in file, if that process is still the one we started
# (its command line names our socket, so a reused PID is never taken for it).
recorded_pid() { # pidfile sockpath
	local pid
	[ -f "$1" ] || return 1
	pid=$(head -n1 "$1" 2>/dev/null || true)
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
	echo "$pid"
}

write_conf() {
	# runc: crun cannot run on these hybrid-cgroup VMs; ulimits: Podman's
	# defaults exceed the hard limit here and container start would fail.
	local tmp
	tmp=$(mktemp "$run_dir/.containers.conf.XXXXXX")
	cat >"$tmp" <<-'EOF'
		# Written by scripts/engines.sh for rover's tests.
		[containers]
		default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
		[engine]
		runtime = "runc"
	EOF
	mv -f "$tmp" "$conf"
}

wait_ping() { # name socket pid log
	local name=$1 sock=$2 pid=$3 log=$4 start now
	start=$(date +%s)
	while ! ping_sock "$sock"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "engines: $name exited during startup; last lines of $log:" >&2
			tail -n 20 "$log" >&2 || true
			return 1
		fi
		now=$(date +%s)
		if [ $((now - start)) -ge "$wait_s" ]; then
			echo "engines: $name did not answer on $sock within ${wait_s}s; see $log" >&2
			return 1
		fi
		if [ $(((now - start) % 5)) -eq 0 ] && [ "$now" -ne "$start" ]; then
			say "waiting for $name on $sock ($((now - start))s)"
		fi
		sleep 0.2
	done
	say "$name answers on $sock (pid $pid, $(($(date +%s) - start))s)"
}

start_podman() {
	local pid
	if ping_sock "$podman_sock"; then
		say "podman already answers on $podman_sock"
		return 0
	fi
	command -v podman >/dev/null || die "podman is not installed (run scripts/install-deps.sh)"
	command -v runc >/dev/null || die "runc is not installed (run scripts/install-deps.sh)"
	if pid=$(recorded_pid "$run_dir/podman.started" "$podman_sock"); then
		say "podman service (pid $pid) is not answering; restarting it"
		kill "$pid" 2>/dev/null || true
		wait_gone "$pid" 10
	fi
	rm -f "$podman_sock"
	write_conf
	# The daemons run in the run directory: what they (or conmon, runc)
	# write relative to their working directory must not land in a checkout.
	(cd "$run_dir" && CONTAINERS_CONF=$conf exec setsid podman system service --time=0 \
		"unix://$podman_sock" </dev/null >>"$run_dir/podman.log" 2>&1) &
	pid=$!
	echo "$pid" >"$run_dir/podman.started"
	wait_ping podman "$podman_sock" "$pid" "$run_dir/podman.log"
}

start_docker() {
	local pid
	if ping_sock "$docker_sock"; then
		say "dockerd already answers on $docker_sock"
		return 0
	fi
	command -v dockerd >/dev/null || die "dockerd is not installed (run scripts/install-deps.sh)"
	if pid=$(recorded_pid "$run_dir/docker.started" "$docker_sock"); then
		say "dockerd (pid $pid) is not answering; restarting it"
		kill "$pid" 2>/dev/null || true
		wait_gone "$pid" 30
	fi
	# A pid file left by a dockerd that died would make the next one refuse to start.
	if [ -f "$run_dir/docker.pid" ] && ! recorded_pid "$run_dir/docker.pid" "$docker_sock" >/dev/null; then
		rm -f "$run_dir/docker.pid"
	fi
	rm -f "$docker_sock"
	mkdir -p "$docker_data" "$docker_exec"
	(cd "$run_dir" && exec setsid dockerd --host "unix://$docker_sock" --host "$docker_tcp" \
		--iptables=false --bridge=none \
		--data-root "$docker_data" --exec-root "$docker_exec" \
		--pidfile "$run_dir/docker.pid" \
		</dev/null >>"$run_dir/docker.log" 2>&1) &
	pid=$!
	echo "$pid" >"$run_dir/docker.started"
	wait_ping dockerd "$docker_sock" "$pid" "$run_dir/docker.log"
}

wait_gone() { # pid seconds
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

stop_one() { # name pidfile socket grace
	local name=$1 pidfile=$2 sock=$3 grace=$4 pid
	if ! pid=$(recorded_pid "$pidfile" "$sock"); then
		say "$name: not started by this script (nothing to stop)"
		rm -f "$pidfile"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_gone "$pid" "$grace"; then
		say "$name (pid $pid) still running after ${grace}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 || true
	fi
	rm -f "$pidfile" "$sock"
	say "$name stopped (pid $pid)"
}

status_one() { # name pidfile socket
	local pid
	pid=$(recorded_pid "$2" "$3" || echo -)
	if ping_sock "$3"; then
		say "$1: answering on $3 (pid $pid)"
		return 0
	fi
	say "$1: not answering on $3 (pid $pid)"
	return 1
}

want() { [[ " $engines " == *" $1 "* ]]; }

cmd=${1:-}
case "$cmd" in
start)
	[ "$(id -u)" -eq 0 ] || die "must run as root (dockerd and rootful podman)"
	mkdir -p "$run_dir"
	chmod 0755 "$run_dir"
	rc=0
	if want podman; then start_podman || rc=1; fi
	if want docker; then start_docker || rc=1; fi
	exit $rc
	;;
stop)
	if want podman; then stop_one podman "$run_dir/podman.started" "$podman_sock" 10; fi
	if want docker; then stop_one dockerd "$run_dir/docker.started" "$docker_sock" 30; fi
	;;
status)
	rc=0
	if want podman; then status_one podman "$run_dir/podman.started" "$podman_sock" || rc=1; fi
	if want docker; then status_one dockerd "$run_dir/docker.started" "$docker_sock" || rc=1; fi
	exit $rc
	;;
env)
	echo "export ROVER_TEST_DOCKER_SOCK=$docker_sock ROVER_TEST_PODMAN_SOCK=$podman_sock" \
		"ROVER_TEST_DOCKER_TCP=$docker_tcp ROVER_TEST_CONTAINERS_CONF=$conf"
	;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac

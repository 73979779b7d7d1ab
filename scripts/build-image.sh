#!/usr/bin/env bash
# Build rover's test/demo image FROM scratch on both test engines (the ones
# scripts/engines.sh starts): static busybox with its applet links, /tmp,
# /workspace, /output, a passwd/group with root and nobody, the host's git
# (with the libraries it links), and the fake agent
# (tests/fake-agent/fake-agent) installed as every agent tool rover knows.
#
#   scripts/build-image.sh [--force]
#
# Image: rover-agent-test:latest on Docker, localhost/rover-agent-test:latest on
# Podman (the Docker-compatible API resolves "rover-agent-test:latest" to it
# locally, without a registry).  Quick when nothing changed: the content hash
# of the build context is stored as the image label rover.test.context-hash and
# the build is skipped when the engine already has an image with that hash.
#
# Environment: ROVER_TEST_ENGINES (docker, podman or "docker podman", default),
# ROVER_TEST_IMAGE (default rover-agent-test:latest).
# Scripts may use the engine CLIs; rover itself never does.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${ROVER_TEST_RUN_DIR:-/run/rover-test}
docker_sock=$run_dir/docker.sock
podman_sock=$run_dir/podman.sock
export CONTAINERS_CONF=$run_dir/containers.conf
image=${ROVER_TEST_IMAGE:-rover-agent-test:latest}
engines=${ROVER_TEST_ENGINES:-docker podman}
force=0
[ "${1:-}" = --force ] && force=1

agent_tools=(claude codex gemini qwen opencode cursor-agent)
fake_agent=$root/tests/fake-agent/fake-agent
busybox=/bin/busybox

say() { echo "build-image: $*"; }
die() { echo "build-image: $*" >&2; exit 1; }

[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
# A dynamically linked busybox (Debian's "busybox") cannot run in a scratch image.
! { command -v readelf >/dev/null && readelf -l "$busybox" | grep -q INTERP; } || die "$busybox is not static (apt-get install busybox-static)"
[ -f "$fake_agent" ] || die "missing $fake_agent"

# The Debian daemon is 20.10: use its own CLI when present, with the classic
# builder (a newer CLI would want the buildx plugin for BuildKit).
docker_cli=docker
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
docker_() { DOCKER_BUILDKIT=0 "$docker_cli" -H "unix://$docker_sock" "$@"; }

ctx=$(mktemp -d /tmp/rover-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
rootfs=$ctx/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,workspace,output,root,usr/local/bin}
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs"/{bin,etc,workspace,output,usr,usr/local,usr/local/bin}
chmod 0700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
# Every applet this busybox has (sh, cat, sleep, kill, awk, sed, stat, ...).
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
install -m 0755 "$fake_agent" "$rootfs/usr/local/bin/fake-agent"
for t in "${agent_tools[@]}"; do
	ln -s fake-agent "$rootfs/usr/local/bin/$t"
done
# The host's git and the libraries it links (an agent commits its work on
# the task branch; the isolation tests need a real git in the container).
git_bin=$(command -v git) || die "git missing (apt-get install git)"
for f in "$git_bin" $(ldd "$git_bin" | grep -oE '/[^ ]+'); do
	mkdir -p "$rootfs$(dirname "$f")"
	cp -L "$f" "$rootfs$f"
done
chmod -R a+rX "$rootfs/usr" "$rootfs/lib" "$rootfs/lib64" 2>/dev/null || true
cp "$root/scripts/image/Containerfile" "$ctx/Containerfile"

# Hash of everything that ends up in the image: names, modes, link targets,
# file contents, and the Containerfile.
hash=$(
	cd "$ctx"
	{
		find . -printf '%p %m %y %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-64
)

image_hash() { # cli... -> label value or nothing
	"$@" image inspect --format '{{ index .Config.Labels "rover.test.context-hash" }}' "$image" 2>/dev/null || true
}

build_docker() {
	if ! curl -fsS --max-time 2 --unix-socket "$docker_sock" http://d/_ping >/dev/null 2>&1; then
		say "docker: no engine answers on $docker_sock (run scripts/engines.sh start)"
		return 1
	fi
	if [ $force = 0 ] && [ "$(image_hash docker_)" = "$hash" ]; then
		say "docker: $image is up to date (${hash:0:12})"
		return 0
	fi
	say "docker: building $image"
	docker_ build -q --label "rover.test.context-hash=$hash" -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
	say "docker: built $image (${hash:0:12})"
}

build_podman() {
	if ! curl -fsS --max-time 2 --unix-socket "$podman_sock" http://d/_ping >/dev/null 2>&1; then
		say "podman: no engine answers on $podman_sock (run scripts/engines.sh start)"
		return 1
	fi
	# The service and the CLI share Podman's default storage, so a CLI build
	# is visible through the socket at once.
	if [ $force = 0 ] && [ "$(image_hash podman)" = "$hash" ]; then
		say "podman: localhost/$image is up to date (${hash:0:12})"
		return 0
	fi
	say "podman: building localhost/$image"
	podman build -q --label "rover.test.context-hash=$hash" -t "localhost/$image" \
		-f "$ctx/Containerfile" "$ctx" >/dev/null
	say "podman: built localhost/$image (${hash:0:12})"
}

rc=0
[[ " $engines " == *" docker "* ]] && { build_docker || rc=1; }
[[ " $engines " == *" podman "* ]] && { build_podman || rc=1; }
exit $rc

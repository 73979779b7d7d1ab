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
image=${ROVER_TEST_IMAGE:-rover-agent-test:latest}
force=0
[ "${1:-}" = --force ] && force=1

agent_tools=(claude codex gemini qwen opencode cursor-agent)
fake_agent=$root/tests/fake-agent/fake-agent

say() { echo "build-image: $*"; }
die() { echo "build-image: $*" >&2; exit 1; }
. "$root/scripts/lib/image.sh"

[ -f "$fake_agent" ] || die "missing $fake_agent"
git_bin=$(command -v git) || die "git missing (apt-get install git)"

ctx=$(mktemp -d /tmp/rover-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
rootfs=$ctx/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,workspace,output,root,usr/local/bin}
chmod 1777 "$rootfs/tmp"
chmod 0755 "$rootfs"/{bin,etc,workspace,output,usr,usr/local,usr/local/bin}
chmod 0700 "$rootfs/root"
image_busybox_rootfs "$rootfs" || exit 1
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
image_copy_with_libs "$rootfs" "$git_bin"
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

image_build_all "$ctx" "$image" rover.test.context-hash "$hash" "$force"

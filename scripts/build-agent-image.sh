#!/usr/bin/env bash
# Build a real agent image, locally and without any registry: FROM scratch,
# with a root filesystem assembled from host files.
#
#   scripts/build-agent-image.sh [--force]
#
# Contents: static busybox (/bin/sh and its applets, /usr/bin/env for the
# CLIs' "#!/usr/bin/env node"), the host's node and git with the shared
# libraries they (and Claude Code's native binary) link, the CA certificates,
# the host's tz database (/usr/share/zoneinfo),
# /etc/passwd and /etc/group with root, an unprivileged "agent" (1000:1000,
# the uid rover gives the agent when it runs as root) and nobody, and the
# three agent CLIs installed by scripts/install-agents.sh under
# /opt/rover-agents with claude, codex and gemini on PATH (/usr/local/bin).
# Codex's voice add-on (gstreamer libraries, not used headless) is left out.
#
# Image: rover-agent-real:latest on Docker, localhost/rover-agent-real:latest
# on Podman, for the test engines of scripts/engines.sh (ROVER_TEST_ENGINES:
# docker, podman or both, the default).  Use it with
#     rover task --image rover-agent-real:latest ...
# Quick when nothing changed: a hash of the file list (names, sizes, modes),
# the CLI versions and this script is kept as the label rover.agent.context-hash.
# Environment: ROVER_AGENT_IMAGE_NAME (default rover-agent-real:latest),
# ROVER_AGENTS_DIR (where install-agents.sh put the CLIs).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
image=${ROVER_AGENT_IMAGE_NAME:-rover-agent-real:latest}
agents=${ROVER_AGENTS_DIR:-$root/build/agents-npm}
force=0
[ "${1:-}" = --force ] && force=1

say() { echo "build-agent-image: $*"; }
die() { echo "build-agent-image: $*" >&2; exit 1; }
. "$root/scripts/lib/image.sh"

node_bin=$(command -v node) || die "node missing (apt-get install nodejs)"
git_bin=$(command -v git) || die "git missing (apt-get install git)"
"$root/scripts/install-agents.sh" >/dev/null || die "scripts/install-agents.sh failed"
nm=$agents/node_modules
claude_bin=$(readlink -f "$nm/.bin/claude")
[ -x "$claude_bin" ] || die "claude not installed under $nm"

# The context lives beside the installed CLIs (same filesystem): the CLIs are
# hard-linked in, not copied, so assembling it is quick.
# One build at a time (tests call this from each test's setup), each in a
# context of its own.
mkdir -p "$root/build"
exec 9>"$root/build/agent-image.lock"
flock 9
ctx=$(mktemp -d "$root/build/agent-image-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
rootfs=$ctx/rootfs
mkdir -p "$rootfs"/{bin,etc/ssl/certs,tmp,workspace,output,root,home/agent,usr/bin,usr/local/bin,opt/rover-agents}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
chown 1000:1000 "$rootfs/home/agent"
image_busybox_rootfs "$rootfs" || exit 1
ln -s /bin/busybox "$rootfs/usr/bin/env"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'agent:x:1000:1000:agent:/home/agent:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'agent:x:1000:' 'nobody:x:65534:' >"$rootfs/etc/group"
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# The tz database: rover-agent resolves a reset time printed in a named zone
# ("resets 7:56pm (Europe/Berlin)") with it.
if [ -d /usr/share/zoneinfo ]; then
	mkdir -p "$rootfs/usr/share"
	cp -a /usr/share/zoneinfo "$rootfs/usr/share/zoneinfo"
fi

# node, git, Claude Code's native binary: each with the libraries it links.
image_copy_with_libs "$rootfs" "$node_bin" "$git_bin"
# Claude Code's native binary is in node_modules (linked in below): its
# libraries only.
image_copy_libs_of "$rootfs" "$claude_bin"
[ "$(dirname "$node_bin")" = /usr/bin ] || ln -s "$node_bin" "$rootfs/usr/bin/node"

cp -al "$nm" "$rootfs/opt/rover-agents/node_modules"
rm -rf "$rootfs"/opt/rover-agents/node_modules/@openai/codex-linux-x64/vendor/*/codex-resources/voice
for t in claude codex gemini; do
	ln -s "/opt/rover-agents/node_modules/.bin/$t" "$rootfs/usr/local/bin/$t"
done
chmod -R a+rX "$rootfs/usr" "$rootfs/lib" "$rootfs/lib64" "$rootfs/opt" "$rootfs/etc" 2>/dev/null || true
cat >"$ctx/Containerfile" <<'EOF'
# rover's real agent image: node, git, busybox and the Claude Code, Codex
# and Gemini CLIs, assembled from host files by scripts/build-agent-image.sh.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /workspace
CMD ["/bin/sh"]
EOF

versions=$("$root/scripts/install-agents.sh" | tr '\n' ' ')
hash=$(
	cd "$ctx"
	{
		find . -printf '%p %m %s %y %l %U\n' | LC_ALL=C sort
		echo "$versions"
		sha256sum "$root/scripts/build-agent-image.sh" Containerfile "$node_bin" "$git_bin"
	} | sha256sum | cut -c1-64
)

say "CLIs: $versions"
image_build_all "$ctx" "$image" rover.agent.context-hash "$hash" "$force"

#!/usr/bin/env bash
# Install every build, test and demo dependency of rover from Debian's packages.
# Idempotent: packages already present are skipped by apt-get itself.
# Usage: scripts/install-deps.sh            (build + tests + both engines)
set -euo pipefail

packages=(
	# build
	build-essential pkg-config
	libcurl4-openssl-dev libjson-c-dev libyaml-dev libinotifytools0-dev
	# tests and tools
	libcmocka-dev bats jq strace valgrind git procps util-linux python3-jsonschema python3-yaml
	# engines and the demo image (Debian 12's docker.io and podman)
	podman runc docker.io busybox-static
	curl # engines.sh and build-image.sh ping the engine sockets with it
	tzdata # pause windows in a named time zone (rover.json pauseWindows)
	hyperfine time # bench/: timings and peak memory (/usr/bin/time -v)
	clang libclang-rt-14-dev # make fuzz and the fuzz lane: clang 14 and its libFuzzer runtime
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# docker.io's postinst tries to start dockerd through systemd/invoke-rc.d; on a
# machine without an init system that fails harmlessly, and we never rely on it:
# scripts/engines.sh starts our own dockerd on a socket the project owns.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"

# Shared by scripts/build-image.sh (the test image) and
# scripts/build-agent-image.sh (the real agent image): both assemble a
# FROM-scratch root filesystem from host files and build it on the test
# engines of scripts/engines.sh, skipping an engine whose image already
# carries the context's hash.  Sourced, not run.  The caller defines say()
# and sets root; these set the engine sockets and CONTAINERS_CONF.
#
#   image_busybox_rootfs ROOTFS          static busybox as /bin/sh and its applets
#   image_copy_with_libs ROOTFS FILE...  each file and the shared libraries it links
#   image_copy_libs_of ROOTFS FILE...    only the libraries
#   image_build_all CTX IMAGE LABEL HASH FORCE
#       build CTX/Containerfile as IMAGE on each engine of ROVER_TEST_ENGINES
#       (docker, podman or both), with label LABEL=HASH; FORCE=1 rebuilds
#       even when the engine's image has that hash.  Non-zero when an engine
#       did not answer or its build failed.

image_run_dir=${ROVER_TEST_RUN_DIR:-/run/rover-test}
image_docker_sock=$image_run_dir/docker.sock
image_podman_sock=$image_run_dir/podman.sock
export CONTAINERS_CONF=$image_run_dir/containers.conf

# The Debian daemon is 20.10: use its own CLI when present, with the classic
# builder (a newer CLI would want the buildx plugin for BuildKit).
image_docker_cli=docker
[ -x /usr/bin/docker ] && image_docker_cli=/usr/bin/docker
docker_() { DOCKER_BUILDKIT=0 "$image_docker_cli" -H "unix://$image_docker_sock" "$@"; }

image_busybox_rootfs() { # rootfs
	local busybox=/bin/busybox applet
	[ -x "$busybox" ] || { say "$busybox missing (apt-get install busybox-static)" >&2; return 1; }
	# A dynamically linked busybox (Debian's "busybox") cannot run in a scratch image.
	if command -v readelf >/dev/null && readelf -l "$busybox" | grep -q INTERP; then
		say "$busybox is not static (apt-get install busybox-static)" >&2
		return 1
	fi
	mkdir -p "$1/bin"
	cp "$busybox" "$1/bin/busybox"
	chmod 0755 "$1/bin/busybox"
	for applet in $("$busybox" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$1/bin/$applet"
	done
}

image_copy_libs_of() { # rootfs file...: the libraries only
	local rootfs=$1 f
	shift
	for f in $(ldd "$@" 2>/dev/null | grep -oE '/[^ :]+\.so[^ ]*'); do
		[ -e "$f" ] || continue
		mkdir -p "$rootfs$(dirname "$f")"
		cp -L "$f" "$rootfs$f"
	done
}

image_copy_with_libs() { # rootfs file...
	local rootfs=$1 f
	shift
	for f in "$@"; do
		mkdir -p "$rootfs$(dirname "$f")"
		cp -L "$f" "$rootfs$f"
	done
	image_copy_libs_of "$rootfs" "$@"
}

image_label_of() { # label cli... -> the label's value on $image_name, or nothing
	local label=$1
	shift
	"$@" image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image_name" 2>/dev/null || true
}

image_build_on() { # docker|podman ctx label hash force
	local engine=$1 ctx=$2 label=$3 hash=$4 force=$5 sock cli tag
	case $engine in
	docker) sock=$image_docker_sock cli=docker_ tag=$image_name ;;
	podman) sock=$image_podman_sock cli=podman tag=localhost/$image_name ;;
	esac
	if ! curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
		say "$engine: no engine answers on $sock (run scripts/engines.sh start)"
		return 1
	fi
	if [ "$force" = 0 ] && [ "$(image_label_of "$label" $cli)" = "$hash" ]; then
		say "$engine: $tag is up to date (${hash:0:12})"
		return 0
	fi
	say "$engine: building $tag"
	# Podman's service and CLI share its default storage, so a CLI build is
	# visible through the socket at once.
	$cli build -q --label "$label=$hash" -t "$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
	say "$engine: built $tag (${hash:0:12})"
}

image_build_all() { # ctx image label hash force
	local ctx=$1 label=$3 hash=$4 force=$5 engines=${ROVER_TEST_ENGINES:-docker podman} rc=0
	image_name=$2
	[[ " $engines " == *" docker "* ]] && { image_build_on docker "$ctx" "$label" "$hash" "$force" || rc=1; }
	[[ " $engines " == *" podman "* ]] && { image_build_on podman "$ctx" "$label" "$hash" "$force" || rc=1; }
	return $rc
}

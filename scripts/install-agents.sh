#!/usr/bin/env bash
# Install the real agent CLIs (Claude Code, Codex, Gemini CLI) from npm into
# build/agents-npm, with npm's cache in build/npm-cache, using the machine's
# node.  Idempotent: when every package is already there it only prints the
# versions (no network).  Prints "name version" per CLI.
#
#   scripts/install-agents.sh [--force]
#
# Environment: ROVER_AGENTS_DIR (default build/agents-npm), ROVER_NPM_CACHE
# (default build/npm-cache), ROVER_AGENT_PACKAGES (default: the three below
# at the versions the tests were made with).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
prefix=${ROVER_AGENTS_DIR:-$root/build/agents-npm}
cache=${ROVER_NPM_CACHE:-$root/build/npm-cache}
# The versions the fixtures (tests/fixtures/agents) were captured with and
# the tests pass with; "@latest" or another version by ROVER_AGENT_PACKAGES.
packages=${ROVER_AGENT_PACKAGES:-@anthropic-ai/claude-code@2.1.197 @openai/codex@0.169.0 @google/gemini-cli@0.61.0}
force=0
[ "${1:-}" = --force ] && force=1

die() { echo "install-agents: $*" >&2; exit 1; }
command -v node >/dev/null || die "node missing (apt-get install nodejs npm)"
command -v npm >/dev/null || die "npm missing (apt-get install npm)"

installed() { # package-without-version -> version or nothing
	local pj=$prefix/node_modules/$1/package.json
	[ -f "$pj" ] && node -e 'process.stdout.write(require(process.argv[1]).version)' "$pj"
}

name_of() { # "@scope/pkg@1.2" or "pkg@1.2" -> the name
	local p=$1
	case $p in
	@*/*@*) echo "${p%@*}" ;;
	@*) echo "$p" ;;
	*@*) echo "${p%@*}" ;;
	*) echo "$p" ;;
	esac
}
want_of() { # -> the version asked for, or nothing
	local p=$1 n
	n=$(name_of "$p")
	[ "$n" != "$p" ] && echo "${p#"$n"@}"
	return 0
}

missing=0
for p in $packages; do
	have=$(installed "$(name_of "$p")") || true
	want=$(want_of "$p")
	if [ -z "$have" ] || { [ -n "$want" ] && [ "$want" != latest ] && [ "$want" != "$have" ]; }; then
		missing=1
	fi
done

if [ $missing = 1 ] || [ $force = 1 ]; then
	mkdir -p "$prefix" "$cache"
	[ -f "$prefix/package.json" ] || echo '{"name":"rover-agents","private":true}' >"$prefix/package.json"
	# shellcheck disable=SC2086
	npm_config_cache=$cache npm install --prefix "$prefix" --no-audit --no-fund \
		--loglevel=error $packages >&2 || die "npm install failed for: $packages"
fi

for p in $packages; do
	name=$(name_of "$p")
	v=$(installed "$name") || true
	[ -n "$v" ] || die "$name did not install into $prefix"
	echo "$name $v"
done

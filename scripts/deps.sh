#!/usr/bin/env bash
# Installs what rtpmix needs to build and test: libopus-dev and pkg-config for
# codec/opus (cgo), and ffmpeg and sox for the interop tests. Only what is
# missing is installed, and the script says what it installs.
# With RTPMIX_BENCH=1 (make bench) it also installs libsoxr-dev, which
# bench/compare needs to build LiveKit's media-sdk with cgo.
set -euo pipefail

want=()
if ! pkg-config --exists opus 2>/dev/null; then
	want+=(libopus-dev pkg-config)
fi
if [ "${RTPMIX_NO_INTEROP:-0}" != 1 ]; then
	command -v ffmpeg >/dev/null 2>&1 || want+=(ffmpeg)
	command -v sox >/dev/null 2>&1 || want+=(sox)
fi
command -v gcc >/dev/null 2>&1 || want+=(gcc)
if [ "${RTPMIX_BENCH:-0}" = 1 ] && ! pkg-config --exists soxr 2>/dev/null; then
	want+=(libsoxr-dev)
fi

if [ ${#want[@]} -eq 0 ]; then
	echo "deps: libopus, pkg-config, ffmpeg and sox are present"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: this machine has no apt-get. Install these yourself, then run make again:" >&2
	echo "  - libopus development files (Debian/Ubuntu: libopus-dev; Fedora: opus-devel;" >&2
	echo "    Alpine: opus-dev; macOS: brew install opus) and pkg-config" >&2
	echo "  - a C compiler (gcc or clang) for cgo" >&2
	echo "  - ffmpeg and sox (interop tests; skip them with RTPMIX_NO_INTEROP=1)" >&2
	echo "  - for make bench: libsoxr development files (Debian/Ubuntu: libsoxr-dev;" >&2
	echo "    Fedora: soxr-devel; macOS: brew install libsoxr)" >&2
	echo "  missing here: ${want[*]}" >&2
	exit 1
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "deps: need root or sudo to run: apt-get install -y ${want[*]}" >&2
		exit 1
	fi
fi

echo "deps: installing with apt-get: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
echo "deps: installed ${want[*]}"

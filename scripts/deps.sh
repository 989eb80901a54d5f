#!/usr/bin/env bash
# Installs what rtpmix needs to build and test: libopus-dev and pkg-config for
# codec/opus (cgo), and ffmpeg, sox, GStreamer (with Python's gi) and SIPp's
# captures for the interop tests, and Debian's chromium for the browser
# tests (examples/browsertest). Only what is missing is installed, and the
# script says what it installs. Chromium is installed apart: when it cannot
# be, the script says so and goes on, and make test skips the browser tests
# with that message (RTPMIX_NO_BROWSER=1 skips installing it).
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
	# dtmf's interop tests: GStreamer's rtpdtmfsrc (driven from Python
	# through gi) sends RFC 4733 and its rtpdtmfdepay decodes ours; SIPp's
	# package ships recorded RFC 2833 digits.
	command -v gst-launch-1.0 >/dev/null 2>&1 || want+=(gstreamer1.0-tools)
	gst-inspect-1.0 rtpdtmfsrc >/dev/null 2>&1 || want+=(gstreamer1.0-plugins-good)
	/usr/bin/python3 -c "import gi; gi.require_version('Gst', '1.0')" >/dev/null 2>&1 || want+=(python3-gi gir1.2-gstreamer-1.0)
	[ -e /usr/share/sip-tester/dtmf_2833_1.pcap ] || want+=(sip-tester)
fi
command -v gcc >/dev/null 2>&1 || want+=(gcc)
if [ "${RTPMIX_BENCH:-0}" = 1 ] && ! pkg-config --exists soxr 2>/dev/null; then
	want+=(libsoxr-dev)
fi

browser=()
if [ "${RTPMIX_NO_BROWSER:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1 &&
	! command -v chromium-browser >/dev/null 2>&1 && [ -z "${RTPMIX_CHROMIUM:-}" ]; then
	browser+=(chromium)
fi

if [ ${#want[@]} -eq 0 ] && [ ${#browser[@]} -eq 0 ]; then
	echo "deps: libopus, pkg-config, ffmpeg, sox, GStreamer, SIPp's captures and Chromium are present"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: this machine has no apt-get. Install these yourself, then run make again:" >&2
	echo "  - libopus development files (Debian/Ubuntu: libopus-dev; Fedora: opus-devel;" >&2
	echo "    Alpine: opus-dev; macOS: brew install opus) and pkg-config" >&2
	echo "  - a C compiler (gcc or clang) for cgo" >&2
	echo "  - ffmpeg and sox (interop tests; skip them with RTPMIX_NO_INTEROP=1)" >&2
	echo "  - GStreamer 1.x tools and good plugins with Python gi bindings, and SIPp" >&2
	echo "    (Debian: gstreamer1.0-tools gstreamer1.0-plugins-good python3-gi" >&2
	echo "    gir1.2-gstreamer-1.0 sip-tester), for dtmf's interop tests" >&2
	echo "  - for make bench: libsoxr development files (Debian/Ubuntu: libsoxr-dev;" >&2
	echo "    Fedora: soxr-devel; macOS: brew install libsoxr)" >&2
	echo "  - Chromium (Debian: chromium), for the browser tests; or set RTPMIX_CHROMIUM" >&2
	echo "  missing here: ${want[*]} ${browser[*]}" >&2
	[ ${#want[@]} -eq 0 ] && exit 0 # only the browser: make test skips its tests, saying so
	exit 1
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "deps: need root or sudo to run: apt-get install -y ${want[*]} ${browser[*]}" >&2
		[ ${#want[@]} -eq 0 ] && exit 0
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if [ ${#want[@]} -gt 0 ]; then
	echo "deps: installing with apt-get: ${want[*]}"
	$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
	echo "deps: installed ${want[*]}"
fi
if [ ${#browser[@]} -gt 0 ]; then
	# About 100 MB with its libraries; headless, so no recommends (no fonts
	# beyond its own, no desktop integration).
	echo "deps: installing Chromium with apt-get for the browser tests: ${browser[*]}"
	if $sudo apt-get install -y -qq --no-install-recommends "${browser[@]}" >/dev/null; then
		echo "deps: installed ${browser[*]}"
	else
		echo "deps: Chromium could not be installed: make test will skip the browser tests (examples/browsertest)" >&2
	fi
fi

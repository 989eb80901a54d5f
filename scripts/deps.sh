#!/usr/bin/env bash
# Installs what rtpmix needs to build and test: libopus-dev and pkg-config for
# codec/opus (cgo), and ffmpeg, sox, GStreamer (with Python's gi) and SIPp's
# captures for the interop tests. Only what is
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

if [ ${#want[@]} -eq 0 ]; then
	echo "deps: libopus, pkg-config, ffmpeg, sox, GStreamer and SIPp's captures are present"
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

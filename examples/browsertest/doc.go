// Package browsertest drives real browsers against the example bridge
// (examples/internal/bridge): headless Chromium, from Debian's chromium
// package, through the DevTools protocol with github.com/chromedp/chromedp.
//
// It is a module of its own because chromedp needs Go 1.25 while the
// library's go line stays at 1.24 (see DESIGN.md, "Versions against the Go
// 1.24 floor"); a replace points it at this checkout. It holds tests only.
//
// The tests run the bridge in the test process and start each browser
// with a fake microphone fed from a WAV the test writes
// (--use-fake-device-for-media-stream, --use-fake-ui-for-media-stream,
// --use-file-for-fake-audio-capture), then use the bridge's own web page
// as a person would (the keyboard types the token, room and name, and
// presses Join), beside ffmpeg participants over SRTP and plain RTP. Each
// party sends its own tone; every party's received audio is measured
// (in the pages with a WebAudio AnalyserNode on the remote stream, for
// ffmpeg from its recording) for the others' tones and the absence of its
// own.
//
// On Linux the test binary re-runs itself in a network namespace of its
// own with only a loopback interface (unshare -n, as root or through a
// user namespace), so that neither Chromium nor anything else the test
// starts can reach beyond the machine, and the browser's ICE candidates
// are loopback ones (--allow-loopback-in-peer-connection). Where that is
// not possible it runs in place and says so.
//
// Chromium is found as chromium, chromium-browser or google-chrome on
// PATH, or at $RTPMIX_CHROMIUM. Without one the tests skip, or fail when
// RTPMIX_REQUIRE_BROWSER=1 (make test sets it once make deps has
// installed chromium).
package browsertest

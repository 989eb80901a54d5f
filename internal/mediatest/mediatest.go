// Package mediatest holds what tests across rtpmix share when they check
// audio or talk to a real peer: finding ffmpeg (or failing, under make
// test), a private corner of the loopback network for each interop test
// ([Loopback]: its own addresses, ports a peer can bind, a source filter
// for ffmpeg, and a spray of stray traffic that proves the isolation),
// the power of a tone in a recording, and the real Opus packets that
// codec/opus records for framing tests ([OpusPackets]). It is a test-only
// helper, imported only by tests.
package mediatest

import (
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"testing"
)

// FFmpeg returns the path of ffmpeg. Without it the test is skipped, or
// fails when RTPMIX_REQUIRE_INTEROP=1 (the Makefile sets it, so that an
// interop test cannot pass in CI by not running).
func FFmpeg(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("RTPMIX_REQUIRE_INTEROP") == "1" {
			t.Fatal("ffmpeg not on PATH and RTPMIX_REQUIRE_INTEROP=1 (run make deps)")
		}
		t.Skip("ffmpeg not on PATH")
	}
	return path
}

// FreeUDPPortPair finds an even port P on 127.0.0.1 with P+1, for a
// receiver that binds RTP and RTCP, chosen as [Loopback.PeerPortPair]
// chooses (below the ephemeral range, bound on no address), so that no
// socket bound to port 0 takes it before the receiver binds it. Interop
// tests use a Loopback, which also keeps stray traffic away.
func FreeUDPPortPair(t testing.TB) int {
	t.Helper()
	lo, hi := peerPortWindow()
	for range 200 {
		p := lo + 2*rand.IntN((hi-lo)/2)
		if portsFree(localhost, p, p+1) {
			return p
		}
	}
	t.Fatalf("no free UDP port pair in %d–%d on 127.0.0.1", lo, hi)
	return 0
}

// ToneShare returns the power of x at freq (Goertzel) as a share of x's
// total power: about 1 for a pure tone at freq, about 0 for anything far
// from it, and 0 for silence.
func ToneShare(x []int16, rate int, freq float64) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2, energy float64
	for _, v := range x {
		f := float64(v)
		s1, s2 = f+c*s1-s2, s1
		energy += f * f
	}
	if energy == 0 {
		return 0
	}
	return 2 * (s1*s1 + s2*s2 - c*s1*s2) / (float64(len(x)) * energy)
}

// ListenUDP opens a UDP socket on a free port of 127.0.0.1, closed when the
// test ends.
func ListenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

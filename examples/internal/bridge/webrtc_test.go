package bridge

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebRTCMedia: two WebRTC clients (pion, as a browser would offer)
// join through the API, each sends a tone, and each hears the other's
// and not its own; the bridge's stats name them by ID with transport
// webrtc; DELETE removes them.
func TestWebRTCMedia(t *testing.T) {
	if !(&Server{}).supported("opus/48000/2") {
		t.Skip("Opus unavailable (built without cgo)")
	}
	s := testServer(t, Config{})
	mkRoom(t, s, "web")
	a := joinRTC(t, s, "web", "alice", rtcClientOpts{})
	b := joinRTC(t, s, "web", "bob", rtcClientOpts{})
	a.send(440, 0.3)
	b.send(880, 0.3)
	eventually(t, 10*time.Second, func() bool { return a.heardLen() > 48000*3 && b.heardLen() > 48000*3 },
		"clients heard too little: %d and %d samples", a.heardLen(), b.heardLen())
	for _, c := range []struct {
		who        *rtcClient
		own, other float64
	}{{a, 440, 880}, {b, 880, 440}} {
		x := c.who.heardFrom(48000) // past the jitter buffer's start
		heard, own := toneShare(x, 48000, c.other), toneShare(x, 48000, c.own)
		t.Logf("hears %g Hz at %.3f of its power, its own %g Hz %.1f dB below", c.other, heard, c.own, 10*math.Log10(heard/math.Max(own, 1e-12)))
		assert.Greater(t, heard, 0.5)
		assert.Less(t, own, heard/10000, "own tone at least 40 dB below")
	}
	var p participantJSON
	getJSON(t, s, "/rooms/web/participants/alice", &p)
	assert.Equal(t, "webrtc", p.Transport)
	require.NotNil(t, p.WebRTC)
	assert.Equal(t, "connected", p.WebRTC.State)
	assert.Equal(t, "DTLS-SRTP", p.SRTP)
	assert.True(t, p.Sending)
	assert.Greater(t, p.PacketsIn, uint64(100))
	assert.Greater(t, p.PacketsOut, uint64(100))
	assert.NotEmpty(t, p.WebRTC.Remote)
	t.Logf("alice: %+v", p)
	a.leave(t, s)
	b.leave(t, s)
	var st roomStatsJSON
	getJSON(t, s, "/rooms/web", &st)
	assert.Empty(t, st.IDs)
}

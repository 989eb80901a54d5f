package bridge

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
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
		if heard <= 0.5 {
			// What the jitter buffers and time-scalers did is what
			// explains a warbling tone: log it.
			conf, _ := s.Conference("web")
			for _, id := range []string{"alice", "bob"} {
				if p := conf.Participant(id); p != nil {
					st := p.Stats()
					t.Logf("%s: jitter %+v, time-scaled %+v", id, st.Jitter, st.TimeScale)
				}
			}
		}
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

// TestWebRTCRefused: WebRTC offers the bridge cannot take get a 4xx with
// the reason, and leave nothing behind (the participant's places are
// free again: the same id then joins).
func TestWebRTCRefused(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	_, good := newRTCClient(t)
	cases := []struct {
		name   string
		offer  string
		status int
		reason string
	}{
		{"not SDP", "hello", http.StatusBadRequest, "malformed"},
		{"no audio", strings.Replace(good, "m=audio", "m=video", 1), statusNotAcceptableHere, "no audio m-line"},
		{"data channel", dataChannelOffer(t), statusNotAcceptableHere, "data channel"},
		{"no common codec", g729Offer(t), statusNotAcceptableHere, "no supported codec among [G729/8000]"},
		{"two audio streams", twoAudioOffer(t), statusNotAcceptableHere, "more than one audio stream"},
		{"no fingerprint", dropLines(good, "a=fingerprint:"), http.StatusBadRequest, "fingerprint"},
		{"no ICE credentials", dropLines(good, "a=ice-ufrag:", "a=ice-pwd:"), http.StatusBadRequest, "WebRTC offer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := call(t, s, "POST", "/rooms/r/participants?id=x", "application/sdp", []byte(tc.offer))
			assert.Equal(t, tc.status, code, string(body))
			assert.Contains(t, string(body), tc.reason)
		})
	}
	var st statsJSON
	getJSON(t, s, "/stats", &st)
	assert.Zero(t, st.Participants)
	s.mu.Lock()
	assert.Zero(t, s.legCount, "participant places taken by refused offers")
	s.mu.Unlock()
	c := joinRTC(t, s, "r", "x", rtcClientOpts{})
	// A second join with the same id is refused before pion does any work.
	_, again := newRTCClient(t)
	code, body, _ := call(t, s, "POST", "/rooms/r/participants?id=x", "application/sdp", []byte(again))
	assert.Equal(t, http.StatusConflict, code, string(body))
	// A WebRTC leg is not re-offered: it leaves and joins again.
	code, body, _ = call(t, s, "POST", "/rooms/r/participants/x", "application/sdp", []byte(again))
	assert.Equal(t, statusNotAcceptableHere, code, string(body))
	assert.Contains(t, string(body), "WebRTC leg")
	c.leave(t, s)
}

// TestWebRTCOff: with WebRTC off a browser's offer gets 488 and no socket
// is bound for it.
func TestWebRTCOff(t *testing.T) {
	s := testServer(t, Config{WebRTC: WebRTCConfig{Disable: true}})
	mkRoom(t, s, "r")
	assert.Empty(t, s.WebRTCAddr())
	_, offer := newRTCClient(t)
	code, body, _ := call(t, s, "POST", "/rooms/r/participants?id=x", "application/sdp", []byte(offer))
	assert.Equal(t, statusNotAcceptableHere, code, string(body))
	assert.Contains(t, string(body), "WebRTC is off")
}

// TestWebRTCNeedsToken: the WebRTC join is authenticated like every other
// route.
func TestWebRTCNeedsToken(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	_, offer := newRTCClient(t)
	resp, err := http.Post("http://"+s.HTTPAddr()+"/rooms/r/participants?id=x", "application/sdp", strings.NewReader(offer))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var st statsJSON
	getJSON(t, s, "/stats", &st)
	assert.Zero(t, st.Participants)
}

// TestWebRTCVanished: a client that drops off the network without a
// DELETE (its packets stop both ways, nothing says goodbye) is removed
// when ICE reports the connection failed, with that reason in the left
// event; one that closes its connection (DTLS close_notify, as a
// browser's pc.close() or a closed tab sends) is removed at once.
func TestWebRTCVanished(t *testing.T) {
	s := testServer(t, Config{WebRTC: WebRTCConfig{DisconnectedTimeout: 300 * time.Millisecond, FailedTimeout: 500 * time.Millisecond}})
	mkRoom(t, s, "r")
	ev := openStream(t, s, "/rooms/r/events")
	defer ev.Body.Close()
	events := readEvents(ev.Body)
	gone := joinRTC(t, s, "r", "gone", rtcClientOpts{})
	closer := joinRTC(t, s, "r", "closer", rtcClientOpts{})
	gone.send(440, 0.3)
	closer.send(880, 0.3)
	time.Sleep(300 * time.Millisecond)
	cut := time.Now()
	gone.conn.cut.Store(true)
	waitEvent(t, events, "left", `"participant":"gone"`, `"detail":"webrtc failed"`)
	took := time.Since(cut)
	t.Logf("the vanished client was removed %v after it went", took.Round(time.Millisecond))
	assert.GreaterOrEqual(t, took, 800*time.Millisecond, "removed before ICE's timeouts had run")
	closer.close()
	waitEvent(t, events, "left", `"participant":"closer"`, `"detail":"webrtc closed"`)
	var st roomStatsJSON
	getJSON(t, s, "/rooms/r", &st)
	assert.Empty(t, st.IDs)
}

// TestWebRTCChurn: 20 WebRTC legs join and leave, three times over, a
// third of them by DELETE (the bridge must close the connection: the
// client waits to see it closed before it closes its own), a third by
// closing their connection (DTLS close_notify), a third by vanishing
// from the network (removed when ICE fails): afterwards as many
// goroutines and file descriptors are open as after the first round,
// which warmed up pion's and the runtime's pools.
func TestWebRTCChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	s := testServer(t, Config{WebRTC: WebRTCConfig{DisconnectedTimeout: 300 * time.Millisecond, FailedTimeout: 500 * time.Millisecond}})
	mkRoom(t, s, "churn")
	const legs = 20
	round := func(r int) {
		var wg sync.WaitGroup
		clients := make([]*rtcClient, legs)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				clients[i] = joinRTC(t, s, "churn", fmt.Sprintf("c%d", i), rtcClientOpts{})
			}()
		}
		wg.Wait()
		if t.Failed() { // a join failed (in its goroutine): clients has holes
			t.FailNow()
		}
		for _, c := range clients[:5] {
			c.send(440, 0.2)
		}
		time.Sleep(200 * time.Millisecond)
		var st roomStatsJSON
		getJSON(t, s, "/rooms/churn", &st)
		require.Len(t, st.IDs, legs)
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch (i + r) % 3 {
				case 0:
					c.leave(t, s)
				case 1:
					c.close()
				default:
					c.conn.cut.Store(true)
				}
			}()
		}
		wg.Wait()
		eventually(t, 10*time.Second, func() bool {
			getJSON(t, s, "/rooms/churn", &st)
			return len(st.IDs) == 0
		}, "round %d: %d legs still in the room", r, len(st.IDs))
		for _, c := range clients {
			c.close()
		}
	}
	round(1)
	g0, f0 := settledCounts()
	for r := 2; r <= 3; r++ {
		round(r)
	}
	var g, f int
	eventually(t, 10*time.Second, func() bool {
		g, f = settledCounts()
		return g <= g0 && f <= f0
	}, "after churn: %d goroutines (%d after the first round), %d fds (%d)", g, g0, f, f0)
	t.Logf("goroutines %d, fds %d after the first round; %d, %d after two more", g0, f0, g, f)
}

// settledCounts returns the process's goroutines and open file
// descriptors.
func settledCounts() (goroutines, fds int) {
	runtime.GC()
	ents, _ := os.ReadDir("/proc/self/fd")
	return runtime.NumGoroutine(), len(ents)
}

// readEvents parses a Server-Sent Events stream into "name data" lines.
func readEvents(r io.Reader) <-chan string {
	ch := make(chan string, 256)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ch <- name + " " + strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// waitEvent waits up to 10 s for an event of that name whose data holds
// every one of want.
func waitEvent(t *testing.T, events <-chan string, name string, want ...string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("event stream ended before %s %v", name, want)
			}
			if !strings.HasPrefix(e, name+" ") {
				continue
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(e, w)
			}
			if all {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event with %v within 10 s", name, want)
		}
	}
}

// dropLines removes the SDP lines starting with any of prefixes.
func dropLines(sdp string, prefixes ...string) string {
	var out []string
	for _, l := range strings.SplitAfter(sdp, "\n") {
		keep := true
		for _, p := range prefixes {
			keep = keep && !strings.HasPrefix(l, p)
		}
		if keep {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// pionOffer is the offer of a pion PeerConnection set up by prepare.
func pionOffer(t *testing.T, m *webrtc.MediaEngine, prepare func(*webrtc.PeerConnection) error) string {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	require.NoError(t, prepare(pc))
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	return offer.SDP
}

func dataChannelOffer(t *testing.T) string {
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterDefaultCodecs())
	return pionOffer(t, m, func(pc *webrtc.PeerConnection) error {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
			return err
		}
		_, err := pc.CreateDataChannel("chat", nil)
		return err
	})
}

func g729Offer(t *testing.T) string {
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/G729", ClockRate: 8000}, PayloadType: 18,
	}, webrtc.RTPCodecTypeAudio))
	return pionOffer(t, m, func(pc *webrtc.PeerConnection) error {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio)
		return err
	})
}

func twoAudioOffer(t *testing.T) string {
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterDefaultCodecs())
	return pionOffer(t, m, func(pc *webrtc.PeerConnection) error {
		for range 2 {
			if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestWebRTCSilentNotDecoded: the RFC 6464 level a browser writes on
// each packet is negotiated, so a silent browser's packets (level 127)
// are never decoded, while a talker's are.
func TestWebRTCSilentNotDecoded(t *testing.T) {
	if !(&Server{}).supported("opus/48000/2") {
		t.Skip("Opus unavailable (built without cgo)")
	}
	s := testServer(t, Config{})
	mkRoom(t, s, "quiet")
	talker := joinRTC(t, s, "quiet", "talker", rtcClientOpts{})
	silent := joinRTC(t, s, "quiet", "silent", rtcClientOpts{})
	require.NotZero(t, silent.levelID, "the client negotiated RFC 6464")
	talker.send(440, 0.3)
	silent.send(440, 0)
	r, err := s.room("quiet")
	require.NoError(t, err)
	// Of the packets the jitter buffer handed out, how many were not
	// decoded.
	stats := func(id string) (played, skipped uint64) {
		st := r.leg(id).p.Stats()
		return st.Jitter.Played, st.SkippedDecodes
	}
	eventually(t, 15*time.Second, func() bool {
		played, _ := stats("silent")
		return played >= 150
	}, "the silent client's packets were not played out")
	played, skipped := stats("silent")
	t.Logf("silent: %d packets played out, %d not decoded", played, skipped)
	assert.GreaterOrEqual(t, float64(skipped), 0.9*float64(played), "a silent browser's packets are not decoded")
	played, skipped = stats("talker")
	t.Logf("talker: %d packets played out, %d not decoded", played, skipped)
	assert.LessOrEqual(t, float64(skipped), 0.1*float64(played), "a talker's packets are decoded")
	talker.leave(t, s)
	silent.leave(t, s)
}

package bridge

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

// headerLog collects the headers of the RTP packets a peer's socket
// receives, from a goroutine of its own until the test ends.
type headerLog struct {
	mu   sync.Mutex
	hdrs []rtp.Header
}

func (p *pcmuPeer) logHeaders(t *testing.T) *headerLog {
	hl := &headerLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, err := p.conn.Read(buf)
			if err != nil {
				return // closed at cleanup
			}
			var h rtp.Header
			if _, err := h.Unmarshal(buf[:n]); err == nil {
				hl.mu.Lock()
				hl.hdrs = append(hl.hdrs, h)
				hl.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { p.conn.Close(); <-done })
	return hl
}

func (hl *headerLog) snapshot() []rtp.Header {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	return append([]rtp.Header(nil), hl.hdrs...)
}

// reoffer posts a re-offer for p from its own sockets with the given
// formats and lines, and returns the status and the answer.
func (p *pcmuPeer) reoffer(t *testing.T, s *Server, fmts string, extra ...string) (int, string) {
	t.Helper()
	lines := append([]string{"a=rtcp:" + itoa(portOf(p.rtcpC))}, extra...)
	code, body, _ := call(t, s, "POST", "/rooms/r/participants/"+p.id, "application/sdp",
		offerSDP(portOf(p.conn), "RTP/AVP", fmts, lines...))
	return code, string(body)
}

// TestReoffer: a participant puts the call on hold with a re-offer, is sent
// nothing while held, resumes on another codec and gets one RTP stream
// throughout (one SSRC, consecutive sequence numbers); the answers keep the
// session's o= line with the next version. Re-offers that change what the
// leg's sockets were set up for are refused with 488 and change nothing.
func TestReoffer(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	alice := joinPCMU(t, s, "r", "alice")
	bob := joinPCMU(t, s, "r", "bob")
	bob.report(t)
	eventually(t, 2*time.Second, func() bool { return bob.stats(t, s).Sending }, "bob's report did not prove his address")
	log := bob.logHeaders(t)
	alice.send(t, 25, 440)
	eventually(t, 2*time.Second, func() bool { return len(log.snapshot()) >= 20 }, "bob hears nothing")

	code, answer := bob.reoffer(t, s, "0", "a=sendonly")
	require.Equal(t, http.StatusOK, code, answer)
	assert.Contains(t, answer, "a=recvonly\r\n")
	assert.Contains(t, answer, "m=audio ")
	assert.Regexp(t, `o=- \d+ 2 IN IP4`, answer)
	// Until the next tick applies the update, packets (silence) go on.
	eventually(t, 3*time.Second, func() bool {
		n := len(log.snapshot())
		time.Sleep(100 * time.Millisecond)
		return len(log.snapshot()) == n
	}, "a held participant is still sent packets")
	held := len(log.snapshot())
	alice.send(t, 25, 440)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, held, len(log.snapshot()), "a held participant is sent media")
	var st participantJSON
	getJSON(t, s, "/rooms/r/participants/bob", &st)
	assert.False(t, st.Deaf, "hold is the direction, not the deaf control")

	code, answer = bob.reoffer(t, s, "8", "a=sendrecv")
	require.Equal(t, http.StatusOK, code, answer)
	assert.Contains(t, answer, "RTP/AVP 8\r\n")
	assert.Contains(t, answer, "a=sendrecv\r\n")
	assert.Regexp(t, `o=- \d+ 3 IN IP4`, answer)
	alice.send(t, 25, 440)
	eventually(t, 2*time.Second, func() bool {
		h := log.snapshot()
		return len(h) > 0 && h[len(h)-1].PayloadType == 8
	}, "bob does not get PCMA after resuming")
	hdrs := log.snapshot()
	for i := 1; i < len(hdrs); i++ {
		assert.Equal(t, hdrs[0].SSRC, hdrs[i].SSRC, "one stream")
		assert.Equal(t, hdrs[i-1].SequenceNumber+1, hdrs[i].SequenceNumber, "packet %d", i)
	}
	getJSON(t, s, "/rooms/r/participants/bob", &st)
	assert.Equal(t, uint8(8), st.PayloadType)
	assert.Equal(t, "PCMA/8000", st.Codec)

	for _, tc := range []struct {
		name  string
		code  int
		fmts  string
		extra []string
	}{
		{"rtcp-mux", statusNotAcceptableHere, "8", []string{"a=rtcp-mux"}},
		{"no codec", statusNotAcceptableHere, "18", nil},
		{"malformed", http.StatusBadRequest, "8", []string{"a=rtpmap:x"}},
	} {
		code, body := bob.reoffer(t, s, tc.fmts, tc.extra...)
		assert.Equal(t, tc.code, code, "%s: %s", tc.name, body)
	}
	code, body, _ := call(t, s, "POST", "/rooms/r/participants/bob", "application/sdp",
		offerSDP(portOf(bob.conn)+2, "RTP/AVP", "8"))
	assert.Equal(t, statusNotAcceptableHere, code, string(body))
	assert.True(t, strings.Contains(string(body), "media address"), string(body))
	code, _, _ = call(t, s, "POST", "/rooms/r/participants/nobody", "application/sdp", offerSDP(40000, "RTP/AVP", "0"))
	assert.Equal(t, http.StatusNotFound, code)
	getJSON(t, s, "/rooms/r/participants/bob", &st)
	assert.Equal(t, "PCMA/8000", st.Codec, "a refused re-offer changes nothing")
}

// TestReofferRekey: an SRTP peer re-offers with a new key. The answer keeps
// the bridge's key (the bridge's outbound stream is not re-keyed); RTP and
// RTCP under the new key are accepted from then on.
func TestReofferRekey(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	p := joinPeer(t, s, "r", "p", peerOpts{srtp: true})
	p.sendRTP(t, 10)
	eventually(t, 2*time.Second, func() bool { st, _ := p.stats(t, s, "r"); return st.PacketsIn == 10 }, "first packets not taken")

	k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	rtpAt := p.rtpC.LocalAddr().(*net.UDPAddr).AddrPort()
	offer := offerSDPAt(rtpAt, "RTP/SAVP", "0", srtp.Crypto{Tag: 2, Keys: k}.SDPLine(),
		"a=rtcp:"+itoa(int(p.rtcpC.LocalAddr().(*net.UDPAddr).AddrPort().Port())))
	code, body, _ := call(t, s, "POST", "/rooms/r/participants/p", "application/sdp", offer)
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Contains(t, string(body), "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:")

	// The peer switches to its new key (its rollover counter is 0).
	p.keys = k
	p.prot, err = srtp.NewProtector(k)
	require.NoError(t, err)
	p.sendRTP(t, 10)
	eventually(t, 2*time.Second, func() bool { st, _ := p.stats(t, s, "r"); return st.PacketsIn == 20 }, "packets under the new key refused")
	p.sendRTCP(t, &rtcp.ReceiverReport{SSRC: p.ssrc})
	eventually(t, 2*time.Second, func() bool { st, _ := p.stats(t, s, "r"); return st.RTCP.RR == 1 }, "SRTCP under the new key refused")
	st, _ := p.stats(t, s, "r")
	assert.Zero(t, st.SRTPAuthFailures)
	assert.Zero(t, st.RTCP.Bad)
}

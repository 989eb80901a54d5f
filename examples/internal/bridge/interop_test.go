package bridge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/srtp"
)

// Interop with ffmpeg (see /work/shared/PEERS.md): two ffmpeg senders join
// through the HTTP API with their own SDP offers, one Opus over SRTP with a
// 440 Hz tone and RTCP on the next port, one PCMU over plain RTP with a
// 1000 Hz tone and rtcp-mux; an ffmpeg receiver per participant records
// what the bridge sends back, described by an SDP file made from the
// bridge's answer. Each must hear the other's tone and not its own.
//
// RTCP both ways: the bridge (the mixer, package rtcpsession) takes the
// senders' sender reports, SRTCP at PORT+1 and plain RTCP muxed on the RTP
// port, refusing none, and their BYE makes both participants leave. The
// mixer then sends each receiver a last sender report with a BYE (SRTCP for
// the SRTP leg, muxed for the other), and each ffmpeg receiver must stop on
// it ("Received BYE" in its log) long before its own 20 s limit: ffmpeg
// parses the compound packet, and for SRTP verifies its tag, or it would
// not see the BYE.
//
// The bridge's media sockets, and the ffmpeg processes, use a pair of
// 127.x.y.z addresses of this test's own (mediatest.Loopback), so stray
// loopback traffic from other tests reaches none of them; a spray of junk
// at 127.0.0.1 on their ports proves it as the test runs.

const interopTimeout = 25 * time.Second

// ffmpegLeg is one ffmpeg participant: what it offers and how it sends.
type ffmpegLeg struct {
	id        string
	tone      float64
	rtpmap    string // "97 opus/48000/2"
	pt        string
	codecArgs []string
	srtp      bool
	mux       bool // rtcp-mux: RTCP on the RTP port, both ways
	rate      int  // recording rate

	recvPort   int
	sendKey    srtp.Keys
	bridgePort int
	bridgeKey  *srtp.Crypto
	wavPath    string
}

func TestInteropFFmpeg(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	if !(&Server{}).supported("opus/48000/2") {
		t.Skip("Opus unavailable (built without cgo)")
	}
	lb := mediatest.NewLoopback(t)
	s := testServer(t, Config{MediaIP: lb.Local.String()})
	mkRoom(t, s, "interop")
	dir := t.TempDir()
	legs := []*ffmpegLeg{
		{id: "opus-srtp", tone: 440, rtpmap: "97 opus/48000/2", pt: "97", srtp: true, rate: 48000,
			codecArgs: []string{"-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-frame_duration", "20", "-payload_type", "97"}},
		{id: "pcmu-rtp", tone: 1000, rtpmap: "0 PCMU/8000", pt: "0", rate: 8000, mux: true,
			codecArgs: []string{"-af", "aresample=8000,asetnsamples=n=160", "-ac", "1", "-c:a", "pcm_mulaw"}},
	}

	// Join: each offer says where that participant's ffmpeg receiver listens.
	for _, l := range legs {
		l.recvPort = lb.PeerPortPair(t)
		l.wavPath = filepath.Join(dir, l.id+".wav")
		proto := "RTP/AVP"
		var extra []string
		extra = append(extra, "a=rtpmap:"+l.rtpmap)
		if l.srtp {
			proto = "RTP/SAVP"
			k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			require.NoError(t, err)
			l.sendKey = k
			extra = append(extra, srtp.Crypto{Tag: 1, Keys: k}.SDPLine())
		}
		if l.mux {
			extra = append(extra, "a=rtcp-mux")
		}
		code, body, _ := call(t, s, "POST", "/rooms/interop/participants?id="+l.id, "application/sdp",
			peerOffer(lb, l.recvPort, proto, l.pt, extra...))
		require.Equal(t, http.StatusCreated, code, string(body))
		var ans sdp.SessionDescription
		require.NoError(t, ans.UnmarshalString(string(body)))
		md := ans.MediaDescriptions[0]
		l.bridgePort = md.MediaName.Port.Value
		if l.mux {
			_, ok := md.Attribute("rtcp-mux")
			require.True(t, ok, "answer has a=rtcp-mux")
			lb.Expose(t, l.bridgePort)
		} else {
			lb.Expose(t, l.bridgePort, l.bridgePort+1)
		}
		if l.srtp {
			v, ok := md.Attribute("crypto")
			require.True(t, ok, "answer has a=crypto")
			c, err := srtp.ParseSDES(v)
			require.NoError(t, err)
			l.bridgeKey = &c
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(legs))
	var mu sync.Mutex
	ended := map[string]time.Time{} // when each process exited
	stderrs := map[string]string{}  // what each wrote
	run := func(name string, args []string) {
		defer wg.Done()
		cmd := exec.CommandContext(ctx, ff, args...)
		cmd.WaitDelay = 2 * time.Second
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		mu.Lock()
		ended[name], stderrs[name] = time.Now(), stderr.String()
		mu.Unlock()
		if err != nil {
			errs <- fmt.Errorf("%s: %v\n%s", name, err, tail(stderr.String(), 2000))
		}
	}

	// Receivers first: they bind the ports the offers named.
	for _, l := range legs {
		recvSDP := fmt.Sprintf("v=0\r\no=- 0 0 IN IP4 %v\r\ns=receive\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d %s %s\r\na=rtpmap:%s\r\n%s\r\n",
			lb.Peer, lb.Peer, l.recvPort, map[bool]string{true: "RTP/SAVP", false: "RTP/AVP"}[l.srtp], l.pt, l.rtpmap,
			lb.SourceFilter()) // ffmpeg binds 0.0.0.0: take only what the bridge sends
		if l.mux {
			recvSDP += "a=rtcp-mux\r\n"
		}
		if l.srtp {
			recvSDP += "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" +
				base64.StdEncoding.EncodeToString(append(bytes.Clone(l.bridgeKey.Keys.MasterKey), l.bridgeKey.Keys.MasterSalt...)) + "\r\n"
		}
		sdpPath := filepath.Join(dir, l.id+".sdp")
		require.NoError(t, os.WriteFile(sdpPath, []byte(recvSDP), 0o644))
		wg.Add(1)
		// At most 20 s: the bridge's BYE must end it after the sender's 4.
		// Debug level for its "Received BYE" line.
		go run(l.id+" receiver", []string{"-hide_banner", "-nostdin", "-loglevel", "debug", "-y",
			"-protocol_whitelist", "file,udp,rtp,srtp,crypto", "-i", sdpPath,
			"-t", "20", "-ac", "1", "-ar", fmt.Sprint(l.rate), "-c:a", "pcm_s16le", l.wavPath})
	}
	for _, l := range legs {
		lb.WaitBound(t, l.recvPort)
	}
	for _, l := range legs {
		args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=48000:duration=4", l.tone)}
		args = append(args, l.codecArgs...)
		args = append(args, "-f", "rtp", "-rtpflags", "send_bye", "-sdp_file", os.DevNull)
		rtcpPort := l.bridgePort + 1
		if l.mux {
			rtcpPort = l.bridgePort
		}
		url := fmt.Sprintf("rtp://%v:%d?rtcpport=%d&localaddr=%v", lb.Local, l.bridgePort, rtcpPort, lb.Peer)
		if l.srtp {
			args = append(args, "-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80", "-srtp_out_params",
				base64.StdEncoding.EncodeToString(append(bytes.Clone(l.sendKey.MasterKey), l.sendKey.MasterSalt...)))
			url = "s" + url
		}
		wg.Add(1)
		go run(l.id+" sender", append(args, url))
	}

	// While the senders run, the bridge counts their media and RTCP.
	stats := map[string]participantJSON{}
	eventually(t, 8*time.Second, func() bool {
		for _, l := range legs {
			var p participantJSON
			code, body, _ := call(t, s, "GET", "/rooms/interop/participants/"+l.id, "", nil)
			if code != http.StatusOK || json.Unmarshal(body, &p) != nil || p.PacketsIn < 100 || p.RTCP.SR == 0 {
				return false
			}
			stats[l.id] = p
		}
		return true
	}, "bridge did not count media and sender reports from both ffmpeg senders")

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for _, l := range legs {
		p := stats[l.id]
		assert.Zero(t, p.SRTPAuthFailures+p.Malformed+p.WrongPayloadType, "%s: dropped packets: %+v", l.id, p)
		assert.Zero(t, p.RTCP.Bad+p.RTCP.NotMuxed, "%s: ffmpeg's RTCP refused: %+v", l.id, p.RTCP)
		t.Logf("%s: the bridge took %d RTCP packets from ffmpeg (%d SR) by then", l.id, p.RTCP.Received, p.RTCP.SR)
	}
	// Each receiver stopped on the bridge's BYE, soon after its sender's.
	for _, l := range legs {
		recv, send := ended[l.id+" receiver"], ended[l.id+" sender"]
		log := stderrs[l.id+" receiver"]
		t.Logf("%s: ffmpeg's receiver ended %v after its sender", l.id, recv.Sub(send).Round(time.Millisecond))
		assert.Contains(t, log, "Received BYE", "%s: ffmpeg did not take the bridge's (S)RTCP BYE", l.id)
		assert.NotContains(t, log, "HMAC mismatch", l.id)
		assert.Less(t, recv.Sub(send), 8*time.Second, "%s: the receiver ran on to its own limit", l.id)
	}

	// ffmpeg's BYE (send_bye) makes each participant leave.
	eventually(t, 5*time.Second, func() bool {
		var st roomStatsJSON
		getJSON(t, s, "/rooms/interop", &st)
		return len(st.IDs) == 0
	}, "participants did not leave on RTCP BYE")

	for i, l := range legs {
		other := legs[1-i]
		a, err := wav.ReadFile(l.wavPath)
		require.NoError(t, err, l.id)
		require.Equal(t, l.rate, a.SampleRate)
		// Skip the start (receiver probing, jitter buffer fill) and use
		// the loud part of the recording.
		x := a.Samples
		if len(x) > l.rate/2 {
			x = x[l.rate/2:]
		}
		require.Greater(t, len(x), l.rate, "%s: recording too short (%d samples)", l.id, len(a.Samples))
		heard := toneShare(x, l.rate, other.tone)
		own := toneShare(x, l.rate, l.tone)
		t.Logf("%s hears %g Hz at %.3f of its power, its own %g Hz at %.2e (%.1f dB below)",
			l.id, other.tone, heard, l.tone, own, 10*math.Log10(heard/math.Max(own, 1e-12)))
		assert.Greater(t, heard, 0.5, "%s: the other's tone dominates", l.id)
		assert.Less(t, own, heard/1000, "%s: own tone at least 30 dB below", l.id)
	}
}

// toneShare is the share of x's power at freq, measured over 100 ms blocks
// (10 Hz resolution) so that the phase jumps of jitter-buffer adaptation
// and concealment do not smear a long window's narrow bin.
func toneShare(x []int16, rate int, freq float64) float64 {
	n := rate / 10
	var tone, total float64
	for off := 0; off+n <= len(x); off += n {
		b := x[off : off+n]
		var e float64
		for _, v := range b {
			e += float64(v) * float64(v)
		}
		tone += mediatest.ToneShare(b, rate, freq) * e
		total += e
	}
	if total == 0 {
		return 0
	}
	return tone / total
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// peerOffer is an SDP offer from an ffmpeg participant that receives on
// lb's peer address.
func peerOffer(lb *mediatest.Loopback, port int, proto, fmts string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 %v\r\ns=test\r\nc=IN IP4 %v\r\nt=0 0\r\nm=audio %d %s %s\r\n", lb.Peer, lb.Peer, port, proto, fmts)
	for _, l := range extra {
		b.WriteString(l + "\r\n")
	}
	return []byte(b.String())
}

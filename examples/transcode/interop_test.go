package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/srtp"
)

// Interop with ffmpeg (see /work/shared/PEERS.md), negotiated with SDP:
// each side's peer is an ffmpeg receiver and an ffmpeg sender that share
// one SDP offer (package negotiate writes it; the gateway answers it as
// with -a-offer and -b-offer). One ffmpeg sends a 1000 Hz tone as PCMU to
// side A while another sends 440 Hz as Opus over SRTP to side B; two more
// record what the gateway sends each side, listening where the offer says,
// side B's with the gateway's key from its answer. Side A must hear 440 Hz
// and side B 1000 Hz, each without its own tone (mix-minus). Side B's offer
// spells its suite SRTP_AES128_CM_HMAC_SHA1_32, the name under which ffmpeg
// follows RFC 3711: the answer must repeat that spelling, and ffmpeg must
// read it.

const interopTimeout = 25 * time.Second

func requireFFmpeg(t *testing.T) string {
	t.Helper()
	path := mediatest.FFmpeg(t)
	if !opus.Available() {
		t.Skip("Opus unavailable (built without cgo)")
	}
	return path
}

func TestInteropFFmpeg(t *testing.T) {
	ff := requireFFmpeg(t)
	dir := t.TempDir()
	if keep := os.Getenv("TRANSCODE_TEST_OUT"); keep != "" {
		dir = keep // keep the SDP files and recordings to listen to
		require.NoError(t, os.MkdirAll(dir, 0o755))
	}

	// The gateway binds, and the ffmpeg processes send from and receive
	// on, 127.x.y.z addresses of this test's own, out of reach of stray
	// loopback traffic from other tests (which a spray of junk at
	// 127.0.0.1 on these ports imitates as the test runs); the receivers
	// accept only what comes from the gateway's address.
	lb := mediatest.NewLoopback(t)

	// The peers' offers, and the gateway's answers once it is bound.
	const suite = "SRTP_AES128_CM_HMAC_SHA1_32"
	recvA, recvB := lb.PeerPortPair(t), lb.PeerPortPair(t)
	offerA := peerOffer(t, "A", netip.AddrPortFrom(lb.Peer, uint16(recvA)), 0)
	offerB := peerOffer(t, "B", netip.AddrPortFrom(lb.Peer, uint16(recvB)), srtp.ProfileAESCM128HMACSHA1_32)
	bodyB := bytes.Replace(offerB.SDP(), []byte(srtp.ProfileAESCM128HMACSHA1_32.String()), []byte(suite), 1)
	local := netip.AddrPortFrom(lb.Local, 0).String()
	cfg := Config{AAddr: local, BAddr: local}
	legA, err := applyOffer(&cfg, "A", offerA.SDP(), srtp.ProfileAESCM128HMACSHA1_32)
	require.NoError(t, err)
	legB, err := applyOffer(&cfg, "B", bodyB, srtp.ProfileAESCM128HMACSHA1_32)
	require.NoError(t, err)
	g, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, g.Start())
	defer g.Close()
	lb.Expose(t, int(g.Addr("A").Port()), int(g.Addr("B").Port()))
	answerA, err := answerOffer(g, "A", legA)
	require.NoError(t, err)
	answerB, err := answerOffer(g, "B", legB)
	require.NoError(t, err)
	assert.Contains(t, string(answerB), "a=crypto:1 "+suite+" inline:")
	peerA, err := offerA.Accept(answerA)
	require.NoError(t, err)
	peerB, err := offerB.Accept(answerB)
	require.NoError(t, err)
	require.Equal(t, suite, peerB.SRTP.Suite)
	for name, body := range map[string][]byte{"offerA.sdp": offerA.SDP(), "answerA.sdp": answerA, "offerB.sdp": bodyB, "answerB.sdp": answerB} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), body, 0o600))
	}

	// Receivers, where the offers say, side B's with the gateway's key.
	sdpA := writeSDP(t, dir, "recvA.sdp", lb, recvA, "RTP/AVP 0", "a=rtpmap:0 PCMU/8000")
	sdpB := writeSDP(t, dir, "recvB.sdp", lb, recvB, "RTP/SAVP 97", "a=rtpmap:97 opus/48000/2",
		fmt.Sprintf("a=crypto:%d %s inline:%s", peerB.SRTP.Tag, peerB.SRTP.Suite, inlineKey(peerB.SRTP.Remote.Keys)))
	outA, outB := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var errA, errB error
	var logA, logB string
	wg.Add(2)
	receive := func(sdp, out string, rate int, res *error, log *string) {
		defer wg.Done()
		*log, *res = ffmpeg(ctx, ff, "-loglevel", "warning", "-y", "-protocol_whitelist", "file,udp,rtp,srtp,crypto",
			"-i", sdp, "-t", "3", "-ac", "1", "-ar", fmt.Sprint(rate), "-c:a", "pcm_s16le", out)
	}
	go receive(sdpA, outA, 8000, &errA, &logA)
	go receive(sdpB, outB, 48000, &errB, &logB)
	lb.WaitBound(t, recvA)
	lb.WaitBound(t, recvB)

	// Senders: until the receivers have their 3 s, or 8 s at most.
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	tone := func(freq int) []string {
		return []string{"-loglevel", "error", "-re", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000:duration=8", freq)}
	}
	var sendWG sync.WaitGroup
	sendWG.Add(2)
	go func() {
		defer sendWG.Done()
		args := append(tone(1000), "-af", "aresample=8000,asetnsamples=n=160", "-ac", "1", "-c:a", "pcm_mulaw",
			"-payload_type", fmt.Sprint(peerA.Codec.PayloadType), "-f", "rtp", "-sdp_file", os.DevNull,
			fmt.Sprintf("rtp://%s?localaddr=%v", peerA.RemoteRTP, lb.Peer))
		_, _ = ffmpeg(sendCtx, ff, args...)
	}()
	go func() {
		defer sendWG.Done()
		args := append(tone(440), "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-frame_duration", "20",
			"-payload_type", fmt.Sprint(peerB.Codec.PayloadType), "-f", "rtp",
			"-srtp_out_suite", peerB.SRTP.Suite, "-srtp_out_params", inlineKey(peerB.SRTP.Local.Keys),
			"-sdp_file", os.DevNull, fmt.Sprintf("srtp://%s?localaddr=%v", peerB.RemoteRTP, lb.Peer))
		_, _ = ffmpeg(sendCtx, ff, args...)
	}()
	wg.Wait()
	stopSending()
	sendWG.Wait()
	g.Close()
	for _, s := range g.Stats() {
		j := s.Mixer.Jitter
		t.Logf("side %s: received %d accepted %d dropped %d sent %d; mixer: refused %d wrong pt %d srtp auth %d concealed %d; "+
			"jitter buffer: lost %d late %d dropped %d silence +%v -%v delay %v",
			s.Name, s.Received, s.Accepted, s.Dropped, s.Sent, s.Mixer.Refused.Packets, s.Mixer.Refused.PayloadType,
			s.Mixer.Refused.SRTPAuth, s.Mixer.Concealed, j.Lost, j.Late, j.Dropped, j.SilenceInserted, j.SilenceRemoved, j.Delay)
		assert.Positive(t, s.Accepted, "side %s: ffmpeg's packets accepted", s.Name)
		assert.Positive(t, s.Sent, "side %s: audio sent", s.Name)
	}
	require.NoError(t, errA, "receiver A:\n%s", logA)
	require.NoError(t, errB, "receiver B:\n%s", logB)
	assert.NotContains(t, logB, "HMAC mismatch")

	a, err := wav.ReadFile(outA)
	require.NoError(t, err)
	b, err := wav.ReadFile(outB)
	require.NoError(t, err)
	t.Logf("side A recorded %.2f s at %d Hz, side B %.2f s at %d Hz", a.Duration(), a.SampleRate, b.Duration(), b.SampleRate)
	assertHears(t, "side A", a.Samples, 8000, 440, 1000)
	assertHears(t, "side B", b.Samples, 48000, 1000, 440)
}

// assertHears checks, in 100 ms blocks from the first sound to the last
// (less 100 ms of codec and ramp start-up and fade-out at each end), that want carries most of each block's
// power and self is absent. Blocks, not the whole recording: a jitter
// buffer that drops or inserts a frame to steer its delay shifts the tone's
// phase, which a long Goertzel window would count against it.
func assertHears(t *testing.T, name string, pcm []int16, rate int, want, self float64) {
	t.Helper()
	start := 0
	for start < len(pcm) && abs(pcm[start]) < 300 {
		start++
	}
	end := len(pcm)
	for end > start && abs(pcm[end-1]) < 300 {
		end--
	}
	start, end = start+rate/10, end-rate/10
	block := rate / 10
	blocks := max(0, (end-start)/block)
	require.GreaterOrEqual(t, blocks, 10, "%s: less than 1 s of sound in %d samples", name, len(pcm))
	good, worstSelf := 0, 0.0
	for b := 0; b < blocks; b++ {
		x := pcm[start+b*block : start+(b+1)*block]
		if mediatest.ToneShare(x, rate, want) > 0.8 {
			good++
		}
		worstSelf = max(worstSelf, mediatest.ToneShare(x, rate, self))
	}
	t.Logf("%s: %.0f Hz dominates %d of %d blocks of 100 ms; %.0f Hz at most %.4f of a block's power",
		name, want, good, blocks, self, worstSelf)
	assert.GreaterOrEqual(t, float64(good), 0.8*float64(blocks), "%s must hear %v Hz", name, want)
	assert.Less(t, worstSelf, 0.02, "%s must not hear its own %v Hz", name, self)
}

func abs(v int16) int {
	if v < 0 {
		return -int(v)
	}
	return int(v)
}

// writeSDP writes a receiver's SDP file: where ffmpeg listens (on lb's
// peer address), and that it takes only what comes from lb's local one.
func writeSDP(t *testing.T, dir, name string, lb *mediatest.Loopback, port int, media string, attrs ...string) string {
	t.Helper()
	lines := append([]string{"v=0", "o=- 0 0 IN IP4 " + lb.Peer.String(), "s=transcode test", "c=IN IP4 " + lb.Peer.String(), "t=0 0",
		fmt.Sprintf("m=audio %d %s", port, media)}, append(attrs, lb.SourceFilter())...)
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o600))
	return path
}

// ffmpeg runs ffmpeg until it exits or ctx ends (then it is killed, which
// is how the senders are stopped) and returns its stderr.
func ffmpeg(ctx context.Context, ff string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, ff, append([]string{"-hide_banner", "-nostdin"}, args...)...)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

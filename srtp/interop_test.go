package srtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/opus" // registers opus/48000/2
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// Interop with ffmpeg (see /work/shared/PEERS.md): a peer nobody here wrote
// sends SRTP and SRTCP that this package must unprotect, and receives SRTP
// that this package protected. Each ffmpeg run is bounded by a context; the
// subtests run in parallel so the whole test takes a few seconds.
//
// Each subtest talks to its ffmpeg on its own pair of 127.x.y.z addresses
// (mediatest.Loopback), which stray loopback traffic from other tests
// cannot reach and which a spray of junk at 127.0.0.1 tests as they run.

const interopTimeout = 20 * time.Second

func requireOpus(t *testing.T) {
	t.Helper()
	if _, err := codec.NewDecoder("opus/48000/2", codec.Config{SampleRate: 48000, Channels: 1}); err != nil {
		t.Skipf("Opus unavailable (built without cgo?): %v", err)
	}
}

// TestInteropFFmpegSends: ffmpeg protects a 440 Hz tone; every SRTP packet
// must unprotect, the audio must decode to that tone, and ffmpeg's SRTCP
// sender reports and BYE must unprotect and parse.
func TestInteropFFmpegSends(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	cases := []struct {
		name, suite string
		profile     Profile
		codecArgs   []string
		rate        int
		opus        bool
	}{
		{"opus/AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80", ProfileAESCM128HMACSHA1_80,
			[]string{"-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-frame_duration", "20"}, 48000, true},
		// ffmpeg's RFC-conformant name for the 32-bit suite: 4-byte SRTP
		// tag, 10-byte SRTCP tag (its AES_CM_128_HMAC_SHA1_32 uses 4 on both).
		{"pcmu/SRTP_AES128_CM_HMAC_SHA1_32", "SRTP_AES128_CM_HMAC_SHA1_32", ProfileAESCM128HMACSHA1_32,
			[]string{"-af", "aresample=8000,asetnsamples=n=160", "-ac", "1", "-c:a", "pcm_mulaw"}, 8000, false},
	}
	for _, tc := range cases {
		for _, be := range backends {
			t.Run(tc.name+"/"+be.String(), func(t *testing.T) {
				t.Parallel()
				if tc.opus {
					requireOpus(t)
				}
				keys, err := GenerateKeys(tc.profile)
				require.NoError(t, err)
				un, err := NewUnprotector(keys, UseBackend(be))
				require.NoError(t, err)
				lb := mediatest.NewLoopback(t)
				rtpConn := lb.ListenUDP(t)
				rtcpConn := lb.ListenUDP(t)
				// Only ffmpeg's stream counts: its SSRC (-ssrc takes a signed
				// 32-bit number) from its address (localaddr). Anything else is
				// a stray and is counted apart, never unprotected.
				ssrc := mathrand.Uint32()

				args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
					"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"}
				args = append(args, tc.codecArgs...)
				args = append(args, "-f", "rtp", "-ssrc", fmt.Sprint(int32(ssrc)), "-srtp_out_suite", tc.suite,
					"-srtp_out_params", base64.StdEncoding.EncodeToString(append(bytes.Clone(keys.MasterKey), keys.MasterSalt...)),
					"-rtpflags", "send_bye", "-sdp_file", os.DevNull,
					fmt.Sprintf("srtp://%v:%d?rtcpport=%d&localaddr=%v", lb.Local, port(rtpConn), port(rtcpConn), lb.Peer))

				// Each socket has one reader goroutine, which owns the
				// Unprotector's RTP or RTCP side; the Unprotector is shared, so
				// a mutex serialises the two.
				var mu sync.Mutex
				var rtpPkts []recvPacket
				var rtpErrs, rtcpErrs []error
				var reports []rtcp.Packet
				var strays int
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					readAll(rtpConn, func(b []byte, from *net.UDPAddr) {
						mu.Lock()
						defer mu.Unlock()
						if !lb.FromPeer(from) || len(b) < 12 || binary.BigEndian.Uint32(b[8:]) != ssrc {
							strays++
							return
						}
						var hdr rtp.Header
						plain, err := un.UnprotectRTP(b[:0], b, &hdr)
						if err != nil {
							rtpErrs = append(rtpErrs, err)
							return
						}
						payload, err := Payload(plain)
						if err != nil {
							rtpErrs = append(rtpErrs, err)
							return
						}
						rtpPkts = append(rtpPkts, recvPacket{hdr.SequenceNumber, hdr.SSRC, hdr.PayloadType, bytes.Clone(payload)})
					})
				}()
				go func() {
					defer wg.Done()
					readAll(rtcpConn, func(b []byte, from *net.UDPAddr) {
						mu.Lock()
						defer mu.Unlock()
						if !lb.FromPeer(from) || len(b) < 8 || binary.BigEndian.Uint32(b[4:]) != ssrc {
							strays++
							return
						}
						plain, err := un.UnprotectRTCP(b[:0], b)
						if err != nil {
							rtcpErrs = append(rtcpErrs, err)
							return
						}
						pkts, err := rtcp.Unmarshal(plain)
						if err != nil {
							rtcpErrs = append(rtcpErrs, err)
							return
						}
						reports = append(reports, pkts...)
					})
				}()

				runFFmpeg(t, ff, args)
				// ffmpeg has exited; give the last datagrams a moment, then stop.
				time.Sleep(200 * time.Millisecond)
				_ = rtpConn.SetReadDeadline(time.Now())
				_ = rtcpConn.SetReadDeadline(time.Now())
				wg.Wait()

				mu.Lock()
				defer mu.Unlock()
				if strays > 0 {
					t.Logf("%d datagrams not from ffmpeg's address and SSRC ignored", strays)
				}
				assert.Empty(t, rtpErrs, "every SRTP packet from ffmpeg must unprotect")
				assert.Empty(t, rtcpErrs, "every SRTCP packet from ffmpeg must unprotect")
				require.GreaterOrEqual(t, len(rtpPkts), 90, "2 s of 20 ms packets")
				st := un.Stats()
				assert.Equal(t, uint64(len(rtpPkts)), st.RTPPackets)
				assert.Zero(t, st.AuthFailures+st.Replays+st.ShortPackets+st.OtherErrors)

				sort.Slice(rtpPkts, func(i, j int) bool {
					return int16(rtpPkts[i].seq-rtpPkts[j].seq) < 0
				})
				for i := 1; i < len(rtpPkts); i++ {
					assert.Equal(t, rtpPkts[i-1].seq+1, rtpPkts[i].seq, "loopback lost or duplicated a packet")
				}
				pcm := decodeAll(t, tc.opus, rtpPkts)
				assertTone(t, pcm, tc.rate, 440)

				var sawSR, sawBye bool
				for _, p := range reports {
					switch p := p.(type) {
					case *rtcp.SenderReport:
						sawSR = sawSR || p.SSRC == ssrc
					case *rtcp.Goodbye:
						sawBye = sawBye || (len(p.Sources) > 0 && p.Sources[0] == ssrc)
					}
				}
				assert.True(t, sawSR, "a sender report for the stream's SSRC")
				assert.True(t, sawBye, "the BYE sent by -rtpflags send_bye")
				assert.GreaterOrEqual(t, st.RTCPPackets, uint64(2))
			})
		}
	}
}

// TestInteropFFmpegReceives: this package protects a 1 kHz tone (Opus, or
// PCMU) and sender reports; ffmpeg, keyed by the a=crypto line that
// Crypto.String produced, must write a WAV holding that tone and report no
// authentication failure.
func TestInteropFFmpegReceives(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	cases := []struct {
		name     string
		profile  Profile
		opus     bool
		sendRTCP bool
	}{
		{"opus/AES_CM_128_HMAC_SHA1_80", ProfileAESCM128HMACSHA1_80, true, true},
		// For this suite name ffmpeg expects a 4-byte SRTCP tag, against
		// RFC 3711, so only SRTP is sent.
		{"pcmu/AES_CM_128_HMAC_SHA1_32", ProfileAESCM128HMACSHA1_32, false, false},
	}
	for _, tc := range cases {
		for _, be := range backends {
			t.Run(tc.name+"/"+be.String(), func(t *testing.T) {
				t.Parallel()
				if tc.opus {
					requireOpus(t)
				}
				keys, err := GenerateKeys(tc.profile)
				require.NoError(t, err)
				pr, err := NewProtector(keys, UseBackend(be))
				require.NoError(t, err)

				rate, pt, rtpmap := 8000, uint8(0), "a=rtpmap:0 PCMU/8000"
				if tc.opus {
					rate, pt, rtpmap = 48000, 97, "a=rtpmap:97 opus/48000/2"
				}
				dir := t.TempDir()
				out := filepath.Join(dir, "out.wav")
				// ffmpeg binds the SDP's port and the next one for RTCP (on
				// 0.0.0.0: the source filter keeps out all but our sockets).
				lb := mediatest.NewLoopback(t)
				p := lb.PeerPortPair(t)
				sdp := strings.Join([]string{
					"v=0", "o=- 0 0 IN IP4 " + lb.Peer.String(), "s=rtpmix", "c=IN IP4 " + lb.Peer.String(), "t=0 0",
					fmt.Sprintf("m=audio %d RTP/SAVP %d", p, pt), rtpmap,
					Crypto{Tag: 1, Keys: keys}.SDPLine(), lb.SourceFilter(), "",
				}, "\r\n")
				sdpPath := filepath.Join(dir, "recv.sdp")
				require.NoError(t, os.WriteFile(sdpPath, []byte(sdp), 0o600))

				frames := toneFrames(t, tc.opus, rate, 1000, 150) // 3 s, more than ffmpeg keeps
				conn := lb.DialUDP(t, p)
				rtcpConn := lb.DialUDP(t, p+1)

				wait := startFFmpeg(t, ff, []string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
					"-protocol_whitelist", "file,udp,rtp,srtp,crypto", "-i", sdpPath,
					"-t", "2", "-ac", "1", "-ar", fmt.Sprint(rate), "-c:a", "pcm_s16le", out})
				lb.WaitBound(t, p)
				stop := make(chan struct{})
				sent := make(chan int, 1)
				go func() {
					sent <- sendTone(pr, conn, rtcpConn, tc.sendRTCP, pt, rate, frames, stop)
				}()
				stderr := wait()
				close(stop)
				n := <-sent
				assert.NotContains(t, stderr, "HMAC mismatch")
				assert.NotContains(t, strings.ToLower(stderr), "srtp")

				a, err := wav.ReadFile(out)
				require.NoError(t, err, "ffmpeg wrote no WAV (sent %d packets); stderr:\n%s", n, stderr)
				require.Equal(t, rate, a.SampleRate)
				require.GreaterOrEqual(t, a.Duration(), 1.5, "stderr:\n%s", stderr)
				assertTone(t, a.Samples, rate, 1000)
				assertNoSilentBlocks(t, a.Samples, rate)
			})
		}
	}
}

type recvPacket struct {
	seq     uint16
	ssrc    uint32
	pt      uint8
	payload []byte
}

func port(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

func readAll(c *net.UDPConn, handle func(b []byte, from *net.UDPAddr)) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return // deadline or close: the test is done listening
		}
		handle(buf[:n], from)
	}
}

// runFFmpeg runs ffmpeg to completion within interopTimeout and returns
// its stderr; a failure or timeout fails the test.
func runFFmpeg(t *testing.T, ff string, args []string) string {
	t.Helper()
	return startFFmpeg(t, ff, args)()
}

// startFFmpeg starts ffmpeg, bounded by interopTimeout, and returns the
// function that waits for it (on the test's goroutine) and returns its
// stderr; a failure or timeout fails the test.
func startFFmpeg(t *testing.T, ff string, args []string) (wait func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	cmd := exec.CommandContext(ctx, ff, args...)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("ffmpeg: %v", err)
	}
	return func() string {
		t.Helper()
		defer cancel()
		err := cmd.Wait()
		if ctx.Err() != nil {
			t.Fatalf("ffmpeg timed out after %v; stderr:\n%s", interopTimeout, stderr.String())
		}
		require.NoError(t, err, "ffmpeg %s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
		return stderr.String()
	}
}

func decodeAll(t *testing.T, isOpus bool, pkts []recvPacket) []int16 {
	t.Helper()
	var pcm []int16
	if !isOpus {
		for _, p := range pkts {
			assert.Equal(t, uint8(0), p.pt)
			for _, b := range p.payload {
				pcm = append(pcm, ulawDecode(b))
			}
		}
		return pcm
	}
	dec, err := codec.NewDecoder("opus/48000/2", codec.Config{SampleRate: 48000, Channels: 1})
	require.NoError(t, err)
	frame := make([]int16, 0, 5760)
	for _, p := range pkts {
		assert.Equal(t, uint8(97), p.pt)
		frame, err = dec.Decode(frame[:0], p.payload)
		require.NoError(t, err, "Opus from ffmpeg must decode")
		pcm = append(pcm, frame...)
	}
	return pcm
}

// toneFrames encodes n 20 ms frames of a sine at freq Hz, amplitude -10 dBFS.
func toneFrames(t *testing.T, isOpus bool, rate int, freq float64, n int) [][]byte {
	t.Helper()
	samples := rate / 50
	var enc codec.Encoder
	if isOpus {
		var err error
		enc, err = codec.NewEncoder("opus/48000/2", codec.Config{SampleRate: 48000, Channels: 1, Bitrate: 32000})
		require.NoError(t, err)
	}
	pcm := make([]int16, samples)
	frames := make([][]byte, n)
	for f := range frames {
		for i := range pcm {
			x := float64(f*samples+i) / float64(rate)
			pcm[i] = int16(10362 * math.Sin(2*math.Pi*freq*x))
		}
		if enc == nil {
			frames[f] = make([]byte, samples)
			for i, s := range pcm {
				frames[f][i] = ulawEncode(s)
			}
			continue
		}
		b, err := enc.Encode(make([]byte, 0, 1500), pcm)
		require.NoError(t, err)
		frames[f] = b
	}
	return frames
}

// sendTone protects and sends the frames at twice real time (ffmpeg's
// RTP demuxer orders by sequence number and does not pace), with a sender
// report every 25 packets when asked, until stop or the frames run out.
// It returns the number of RTP packets sent.
func sendTone(pr *Protector, conn, rtcpConn *net.UDPConn, sendRTCP bool, pt uint8, rate int,
	frames [][]byte, stop <-chan struct{}) int {
	const ssrc = 0x7e57ab1e
	hdr := rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: 65500} // wraps: ROC 1 mid-stream
	buf := make([]byte, 0, 1500)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for i, f := range frames {
		select {
		case <-stop:
			return i
		case <-tick.C:
		}
		hdr.Marker = i == 0
		hdr.Timestamp = uint32(i * rate / 50)
		n, err := hdr.MarshalTo(buf[:cap(buf)])
		if err != nil {
			return i
		}
		pkt := append(buf[:n], f...)
		out, err := pr.ProtectRTP(pkt[:0], pkt)
		if err != nil {
			return i
		}
		_, _ = conn.Write(out) // ffmpeg may not be listening yet
		hdr.SequenceNumber++
		if sendRTCP && i%25 == 0 {
			sr := rtcp.SenderReport{SSRC: ssrc, NTPTime: uint64(i) << 32, RTPTime: hdr.Timestamp,
				PacketCount: uint32(i + 1), OctetCount: uint32((i + 1) * len(f))}
			raw, err := sr.Marshal()
			if err == nil {
				if out, err := pr.ProtectRTCP(nil, raw); err == nil {
					_, _ = rtcpConn.Write(out)
				}
			}
		}
	}
	return len(frames)
}

// assertTone checks, skipping the first 100 ms (codec start-up), that the
// tone at freq carries most of the power and an unrelated one does not.
func assertTone(t *testing.T, pcm []int16, rate int, freq float64) {
	t.Helper()
	skip := rate / 10
	require.Greater(t, len(pcm), skip+rate/2, "too little audio")
	x := pcm[skip:]
	assert.Greater(t, mediatest.ToneShare(x, rate, freq), 0.8, "%v Hz must dominate", freq)
	other := 2.5 * freq
	if other >= float64(rate)/2 {
		other = freq / 2.5
	}
	assert.Less(t, mediatest.ToneShare(x, rate, other), 0.05, "%v Hz must be absent", other)
}

// assertNoSilentBlocks checks that no 20 ms block after the first holds
// only near-silence: the receiver got a continuous stream.
func assertNoSilentBlocks(t *testing.T, pcm []int16, rate int) {
	t.Helper()
	block := rate / 50
	for b := 1; (b+1)*block <= len(pcm); b++ {
		var peak int16
		for _, v := range pcm[b*block : (b+1)*block] {
			if v > peak {
				peak = v
			}
		}
		if peak < 1000 {
			t.Errorf("silent 20 ms block %d of %d", b, len(pcm)/block)
			return
		}
	}
}

// G.711 μ-law, enough for a test tone (ITU-T G.711 with the 0x84 bias).
func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	if v > clip {
		v = clip
	}
	v += bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func ulawDecode(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	v := ((int(u&0x0f) << 3) + 0x84) << exp
	v -= 0x84
	if u&0x80 != 0 {
		v = -v
	}
	return int16(v)
}

func TestULaw(t *testing.T) {
	for _, s := range []int16{0, 1, -1, 100, -100, 1000, 8000, -8000, 32767, -32768} {
		d := ulawDecode(ulawEncode(s))
		assert.InDelta(t, float64(s), float64(d), math.Max(8, math.Abs(float64(s))/16), "%d", s)
	}
	assert.Equal(t, byte(0xff), ulawEncode(0))
}

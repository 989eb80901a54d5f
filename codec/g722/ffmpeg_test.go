package g722

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/mediatest"
)

// Interop with ffmpeg's adpcm_g722 (ffmpeg 5.1, Debian 12), an independent
// implementation (spandsp's lineage). Its encoder without -trellis is the
// Recommendation's plain one, so the comparison is exact both ways: same
// bytes from the same PCM, same samples from the same bytes. These tests
// need ffmpeg: without it they skip, or fail under make test
// (RTPMIX_REQUIRE_INTEROP=1). TestGoldenFFmpegDecode keeps one of their
// results for runs without ffmpeg.

const interopTimeout = 30 * time.Second

// ffmpeg runs ffmpeg to completion and fails the test on an error or a
// timeout.
func ffmpeg(t *testing.T, ff string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	cmd := exec.CommandContext(ctx, ff, args...)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ffmpeg timed out after %v; stderr:\n%s", interopTimeout, stderr.String())
	}
	require.NoError(t, err, "ffmpeg %s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// firstDiff returns the index of the first differing sample, or -1.
func firstDiff(a, b []int16) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func decodeWith(t *testing.T, mode int, codes []byte) []int16 {
	t.Helper()
	dec, err := NewDecoder(codec.Config{Bitrate: modeBitrate[mode]})
	require.NoError(t, err)
	out, err := dec.Decode(nil, codes)
	require.NoError(t, err)
	return out
}

// TestFFmpegSpeech: for each of the repository's speech clips, taken to
// 16 kHz by ffmpeg, our encoder's bytes are ffmpeg's; our decoder gives
// ffmpeg's samples, every one, from ffmpeg's bytes in all three modes; and
// ffmpeg decodes our bytes to our samples.
func TestFFmpegSpeech(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	for _, clip := range []string{"alice", "bob", "carol", "dave"} {
		t.Run(clip, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := func(name string) string { return filepath.Join(dir, name) }
			ffmpeg(t, ff, "-i", filepath.Join("..", "..", "testdata", clip+".wav"),
				"-ar", "16000", "-ac", "1", "-f", "s16le", path("pcm.raw"))
			ffmpeg(t, ff, "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", path("pcm.raw"),
				"-c:a", "g722", "-f", "g722", path("ff.g722"))
			for mode := 1; mode <= 3; mode++ {
				ffmpeg(t, ff, "-bits_per_codeword", fmt.Sprint(9-mode), "-f", "g722", "-i", path("ff.g722"),
					"-f", "s16le", path(fmt.Sprintf("ff%d.raw", mode)))
			}
			pcm := leSamples(readFile(t, path("pcm.raw")))
			ffCodes := readFile(t, path("ff.g722"))

			// ffmpeg codes an odd last sample as a pair with itself; the
			// codec API takes whole frames, so compare whole pairs.
			ours := encodeAll(t, pcm)
			require.Len(t, ffCodes, (len(pcm)+1)/2)
			require.Equal(t, ffCodes[:len(ours)], ours, "encoder bytes differ from ffmpeg's")

			for mode := 1; mode <= 3; mode++ {
				want := leSamples(readFile(t, path(fmt.Sprintf("ff%d.raw", mode))))
				got := decodeWith(t, mode, ffCodes)
				require.Equal(t, -1, firstDiff(got, want), "mode %d: first differing sample of %d", mode, len(want))
			}

			require.NoError(t, os.WriteFile(path("ours.g722"), ours, 0o644))
			ffmpeg(t, ff, "-f", "g722", "-i", path("ours.g722"), "-f", "s16le", path("ffours.raw"))
			want := leSamples(readFile(t, path("ffours.raw")))
			got := decodeWith(t, 1, ours)
			require.Equal(t, -1, firstDiff(got, want), "ffmpeg's decoding of our bytes: first differing sample of %d", len(want))
			t.Logf("%s: %d samples, %d bytes identical both ways", clip, len(pcm), len(ours))
		})
	}
}

// TestFFmpegITUSpeech: ffmpeg, too, turns the ITU's speech into codsp.cod
// and decodes that to the ITU's outputs in every mode — the three
// implementations (the ITU's, ffmpeg's, ours) agree.
func TestFFmpegITUSpeech(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	require.NoError(t, os.WriteFile(path("inpsp.raw"), ituInput(t, "inpsp.bin"), 0o644))
	require.NoError(t, os.WriteFile(path("codsp.g722"), ituInput(t, "codsp.cod"), 0o644))
	ffmpeg(t, ff, "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", path("inpsp.raw"),
		"-c:a", "g722", "-f", "g722", path("ff.g722"))
	assert.Equal(t, ituCRC["codsp.cod"], crc32.ChecksumIEEE(readFile(t, path("ff.g722"))), "ffmpeg's encoding of inpsp.bin")
	for mode := 1; mode <= 3; mode++ {
		out := path(fmt.Sprintf("out%d.raw", mode))
		ffmpeg(t, ff, "-bits_per_codeword", fmt.Sprint(9-mode), "-f", "g722", "-i", path("codsp.g722"), "-f", "s16le", out)
		assert.Equal(t, ituCRC[fmt.Sprintf("outsp%d.bin", mode)], crc32.ChecksumIEEE(readFile(t, out)), "ffmpeg's decoding, mode %d", mode)
	}
}

// goldenAlice is what ffmpeg made of testdata/alice.wav:
//
//	ffmpeg -i ../../testdata/alice.wav -ar 16000 -ac 1 -f s16le pcm.raw
//	ffmpeg -f s16le -ar 16000 -ac 1 -i pcm.raw -c:a g722 -f g722 testdata/alice.g722
//
// and goldenAliceDecoded the SHA-256 of its decoding,
//
//	ffmpeg -f g722 -i testdata/alice.g722 -f s16le - | sha256sum
//
// (ffmpeg 5.1.9). TestFFmpegGolden checks both against the ffmpeg on the
// machine, so the golden files cannot drift from what they claim to be.
const (
	goldenAlice        = "testdata/alice.g722"
	goldenAliceDecoded = "6a361b66bf569efbbdd376b40df3f6f6274c49c1139999550c2eb37457764493"
)

// TestGoldenFFmpegDecode runs without ffmpeg: our decoding of ffmpeg's
// encoding of alice is ffmpeg's decoding of it, sample for sample.
func TestGoldenFFmpegDecode(t *testing.T) {
	out := decodeWith(t, 1, readFile(t, goldenAlice))
	sum := sha256.Sum256(leBytes(out))
	assert.Equal(t, goldenAliceDecoded, hex.EncodeToString(sum[:]))
}

func TestFFmpegGolden(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	ffmpeg(t, ff, "-i", filepath.Join("..", "..", "testdata", "alice.wav"), "-ar", "16000", "-ac", "1", "-f", "s16le", path("pcm.raw"))
	ffmpeg(t, ff, "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", path("pcm.raw"), "-c:a", "g722", "-f", "g722", path("alice.g722"))
	assert.Equal(t, readFile(t, goldenAlice), readFile(t, path("alice.g722")), "ffmpeg no longer makes testdata/alice.g722")
	ffmpeg(t, ff, "-f", "g722", "-i", goldenAlice, "-f", "s16le", path("dec.raw"))
	sum := sha256.Sum256(readFile(t, path("dec.raw")))
	assert.Equal(t, goldenAliceDecoded, hex.EncodeToString(sum[:]), "ffmpeg's decoding of testdata/alice.g722")
}

// TestFFmpegRTPClock: ffmpeg sends G.722 over RTP as RFC 3551 says: payload
// type 9, and timestamps that advance by 8000 a second — one tick per code
// byte, 160 per 20 ms packet of 320 samples, as Format.FrameSamples
// computes — and its payloads are our encoder's bytes.
func TestFFmpegRTPClock(t *testing.T) {
	ff := mediatest.FFmpeg(t)
	lb := mediatest.NewLoopback(t)
	conn := lb.ListenUDP(t)
	_ = conn.SetReadBuffer(1 << 22)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	pcm := ituSpeech()[:32000] // 2 s
	require.NoError(t, os.WriteFile(path("pcm.raw"), leBytes(pcm), 0o644))
	port := conn.LocalAddr().(*net.UDPAddr).Port

	type packet struct {
		seq     uint16
		ts      uint32
		pt      uint8
		payload []byte
	}
	var pkts []packet
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return // the deadline set below
			}
			var p rtp.Packet
			if !lb.FromPeer(from) || p.Unmarshal(buf[:n]) != nil {
				continue // a stray, not ffmpeg's
			}
			pkts = append(pkts, packet{p.SequenceNumber, p.Timestamp, p.PayloadType, bytes.Clone(p.Payload)})
		}
	}()
	// asetnsamples makes every packet exactly 20 ms, as PEERS.md does for
	// PCMU; -re paces them, so nothing overflows the socket.
	ffmpeg(t, ff, "-re", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i", path("pcm.raw"),
		"-af", "asetnsamples=n=320", "-c:a", "g722", "-f", "rtp", "-sdp_file", os.DevNull,
		fmt.Sprintf("rtp://%v:%d?localaddr=%v", lb.Local, port, lb.Peer))
	time.Sleep(200 * time.Millisecond)
	_ = conn.SetReadDeadline(time.Now())
	<-done

	require.Len(t, pkts, 100, "2 s of 20 ms packets")
	sort.Slice(pkts, func(i, j int) bool { return int16(pkts[i].seq-pkts[j].seq) < 0 })
	var payloads []byte
	for i, p := range pkts {
		assert.Equal(t, Format.PayloadType, p.pt)
		assert.Len(t, p.payload, 160)
		if i > 0 {
			assert.Equal(t, uint32(Format.FrameSamples(20*time.Millisecond)), p.ts-pkts[i-1].ts, "timestamp step")
		}
		payloads = append(payloads, p.payload...)
	}
	assert.Equal(t, encodeAll(t, pcm), payloads, "ffmpeg's RTP payloads are our encoder's bytes")
}

package mixer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/ogg"
	"github.com/rtpmix/rtpmix/internal/opuspacket"
	"github.com/rtpmix/rtpmix/internal/pcm"
)

// silentMixCase is one way a chain handles a silent mix.
type silentMixCase struct {
	name  string
	mode  SilenceMode
	dtx   bool // Encoder.DTX
	ptime time.Duration
}

var silentMixCases = []silentMixCase{
	{"silence-frames/20ms", SilenceFrames, false, 20 * time.Millisecond},
	{"silence-frames/60ms", SilenceFrames, false, 60 * time.Millisecond},
	{"silence-frames/10ms", SilenceFrames, false, 10 * time.Millisecond},
	{"comfort-noise/20ms", ComfortNoise, false, 20 * time.Millisecond},
	{"comfort-noise/40ms", ComfortNoise, false, 40 * time.Millisecond},
	{"encoder-dtx/20ms", SilenceFrames, true, 20 * time.Millisecond},
}

// Talkspurts of the silent-mix runs, in frames: speech, silence, speech.
const (
	smSpeech1 = 40
	smSilence = 70
	smSpeech2 = 40
)

// runSilentMix feeds an Opus chain at 48 kHz speech, a silent stretch and
// speech again, and returns what it sent per frame (nil: nothing) and the
// encodes it skipped.
func runSilentMix(t *testing.T, tc silentMixCase) (pkts [][]byte, skips uint64) {
	t.Helper()
	ch := newEncodeChain()
	require.NoError(t, ch.setup(opf, codec.Config{DTX: tc.dtx}, 48000, tc.ptime, tc.ptime))
	ch.active = true
	n := codec.FrameSamples(48000, tc.ptime)
	speech := loadClip(t, "alice")
	var counter atomic.Uint64
	sp := silencePolicy{mode: tc.mode, noiseLevel: 60, skips: &counter}
	cfg, err := ComplexityConfig{}.withDefaults()
	require.NoError(t, err)
	sp.cx.cfg = cfg
	for i := 0; i < smSpeech1+smSilence+smSpeech2; i++ {
		silent := i >= smSpeech1 && i < smSpeech1+smSilence
		if !silent {
			off := (i * n) % (len(speech) - n)
			copy(ch.mix[:n], speech[off:off+n])
		}
		p, ok, err := ch.encode(n, silent, sp)
		require.NoError(t, err)
		if ok {
			pkts = append(pkts, bytes.Clone(p))
		} else {
			pkts = append(pkts, nil)
		}
	}
	return pkts, counter.Load()
}

// TestOpusSilentMix: after the flush frames a silent mix sends, without
// the encoder, CELT silence frames (SilenceFrames), the stream's TOC-only
// DTX frame with a real comfort-noise update every 400 ms (ComfortNoise),
// or nothing (Encoder.DTX); every packet has the ptime's duration and
// libopus decodes it; what the silent stretch decodes to is quiet; speech
// after it is coded again at once.
func TestOpusSilentMix(t *testing.T) {
	for _, tc := range silentMixCases {
		t.Run(tc.name, func(t *testing.T) {
			pkts, skips := runSilentMix(t, tc)
			n48 := codec.FrameSamples(48000, tc.ptime)
			want := uint64(smSilence - dtxFlushFrames)
			if tc.mode == ComfortNoise {
				want -= uint64((smSilence - dtxFlushFrames + dtxCNInterval - 1) / dtxCNInterval)
			}
			assert.Equal(t, want, skips, "encodes skipped")
			var lastReal []byte
			for i, p := range pkts {
				k := i - smSpeech1 // frame of the silent stretch
				switch {
				case k < dtxFlushFrames || k >= smSilence:
					require.NotNil(t, p, "frame %d coded for real", i)
					assert.Greater(t, len(p), 3, "frame %d", i)
					lastReal = p
				case tc.dtx:
					assert.Nil(t, p, "frame %d: Encoder.DTX sends nothing", i)
				case tc.mode == ComfortNoise && (k-dtxFlushFrames)%dtxCNInterval == 0:
					assert.Greater(t, len(p), 2, "frame %d: a comfort-noise update", i)
					lastReal = p
				case tc.mode == ComfortNoise:
					require.NotNil(t, p)
					assert.LessOrEqual(t, len(p), 2, "frame %d: TOC-only", i)
					assert.Equal(t, lastReal[0]>>2, p[0]>>2, "frame %d: the stream's TOC config", i)
				default:
					assert.Equal(t, opuspacket.AppendSilence(nil, n48, false), p, "frame %d: CELT silence", i)
				}
				if p != nil {
					d, err := opuspacket.Duration(p)
					require.NoError(t, err, "frame %d %x", i, p)
					assert.Equal(t, n48, d, "frame %d %x", i, p)
				}
			}

			dec, err := codec.NewDecoder(opf.SDPName(), codec.Config{SampleRate: 48000})
			require.NoError(t, err)
			out := make([]int16, 5760)
			var quiet, loud int
			for i, p := range pkts {
				if p == nil {
					continue // DTX: nothing arrived
				}
				got, err := dec.Decode(out[:0], p)
				require.NoError(t, err, "frame %d %x", i, p)
				require.Len(t, got, n48, "frame %d", i)
				lvl := pcm.LevelDBov(got)
				k := i - smSpeech1
				switch {
				case k >= dtxFlushFrames+2 && k < smSilence:
					// Digital silence, or comfort noise at -60 dBov (a
					// decoder's comfort noise follows the updates).
					assert.GreaterOrEqual(t, lvl, 55, "frame %d decodes quiet", i)
					quiet++
				case k >= smSilence+1 && lvl < 40:
					loud++
				}
			}
			assert.Greater(t, loud, smSpeech2/3, "speech after the silence decodes")
			if !tc.dtx {
				assert.Greater(t, quiet, smSilence/2)
			}
		})
	}
}

// TestOpusSilentMixDecodes: ffmpeg's own Opus decoder and libopus through
// ffmpeg decode every silent-mix stream (as an Ogg/Opus file) without an
// error to its full length.
func TestOpusSilentMixDecodes(t *testing.T) {
	ffmpeg := mediatest.FFmpeg(t)
	dir := t.TempDir()
	for _, tc := range silentMixCases {
		pkts, _ := runSilentMix(t, tc)
		n48 := codec.FrameSamples(48000, tc.ptime)
		var f bytes.Buffer
		w := ogg.NewWriter(&f, 1)
		head := make([]byte, 19)
		copy(head, "OpusHead")
		head[8], head[9] = 1, 1
		binary.LittleEndian.PutUint32(head[12:], 48000)
		require.NoError(t, w.WritePacket(head, 0))
		require.NoError(t, w.Flush())
		tags := append([]byte("OpusTags"), 4, 0, 0, 0, 't', 'e', 's', 't', 0, 0, 0, 0)
		require.NoError(t, w.WritePacket(tags, 0))
		require.NoError(t, w.Flush())
		var granule int64
		for _, p := range pkts {
			if p == nil {
				// DTX: the file still needs the time to pass; a receiver
				// of RTP conceals the gap, a file says so with an empty
				// frame.
				p = opuspacket.AppendSilence(nil, n48, false)
				p = []byte{p[0] &^ 3}
				if n48 > 960 {
					p = []byte{0xF8 | 3, byte(n48 / 960)}
				}
			}
			granule += int64(n48)
			require.NoError(t, w.WritePacket(p, granule))
		}
		require.NoError(t, w.Close())
		path := filepath.Join(dir, fmt.Sprintf("%d.opus", len(f.Bytes())))
		require.NoError(t, os.WriteFile(path, f.Bytes(), 0o600))
		for _, decoder := range []string{"opus", "libopus"} {
			t.Run(tc.name+"/"+decoder, func(t *testing.T) {
				cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-xerror",
					"-c:a", decoder, "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				require.NoError(t, err, stderr.String())
				assert.Empty(t, stderr.String())
				assert.InDelta(t, float64(granule), float64(len(out)/2), float64(n48), "decoded length")
			})
		}
	}
}

// TestOpusSilentMixNoEncoder: a chain whose codec could not be built
// reports an error for every frame, silent ones included, and sends
// nothing: the silence shortcut is for chains that encode.
func TestOpusSilentMixNoEncoder(t *testing.T) {
	ch := newEncodeChain()
	ch.quiet.init(true, 960)
	for i := range 10 {
		p, ok, err := ch.encode(960, true, silencePolicy{})
		assert.ErrorIs(t, err, ErrConfig, "frame %d", i)
		assert.False(t, ok)
		assert.Nil(t, p)
	}
}

package record

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/internal/mediatest"
)

// needOpus skips a test that encodes when libopus is not linked (a
// CGO_ENABLED=0 run; TestOggOpusWithoutCgo covers that build).
func needOpus(t testing.TB) {
	t.Helper()
	if !opus.Available() {
		t.Skip("built without cgo: no libopus")
	}
}

// encodeFile writes pcm through an OggOpusWriter to a file in dir and
// returns its path and bytes.
func encodeFile(t testing.TB, dir string, f Format, cfg OggOpusConfig, write func(w *OggOpusWriter)) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewOggOpusWriter(&buf, f, cfg)
	require.NoError(t, err)
	write(w)
	require.NoError(t, w.Close())
	path := filepath.Join(dir, "a.opus")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path, buf.Bytes()
}

// TestOggOpusTone: for every rate and channel count, a tone of a length
// that is no whole number of frames comes back from ffmpeg with exactly
// as many samples, at its frequency and level; ffprobe's duration is the
// input's; the pages follow RFC 7845 (checkOggOpus).
func TestOggOpusTone(t *testing.T) {
	needOpus(t)
	ffmpeg, ffprobe := tools(t)
	for _, rate := range opusRates {
		for _, ch := range []int{1, 2} {
			t.Run(fmt.Sprintf("%d_%d", rate, ch), func(t *testing.T) {
				t.Parallel()
				n := rate*237/100 + 3 // 2.37 s and 3 samples
				pcm := tone(rate, ch, n, 440, 10000)
				path, b := encodeFile(t, t.TempDir(), Format{rate, ch}, OggOpusConfig{Bitrate: 64000 * ch, Tags: []string{"TITLE=tone"}},
					func(w *OggOpusWriter) {
						for i := 0; i < len(pcm); {
							k := min(len(pcm)-i, ch*(rate/60)) // frames that do not match Opus's
							require.NoError(t, w.WritePCM(pcm[i:i+k]))
							i += k
						}
						assert.Equal(t, int64(n), w.Position())
					})
				f := checkOggOpus(t, b)
				assert.Equal(t, ch, f.channels)
				assert.Equal(t, 312, f.preSkip, "libopus's delay at 48 kHz")
				assert.Equal(t, rate, f.inputRate)
				assert.Equal(t, "rtpmix", f.vendor)
				assert.Equal(t, []string{"TITLE=tone"}, f.tags)
				assert.Equal(t, int64(n*48000/rate), f.samples48, "granule − pre-skip is the input's length")
				assert.Equal(t, 3, f.audioPages, "a page a second")

				// ffprobe 5.1 gives an Ogg/Opus stream's last granule position
				// as its duration, pre-skip included, for ffmpeg's own files
				// too; the samples decoded below are the exact count.
				probed := probeDuration(t, ffprobe, path)
				assert.InDelta(t, float64(f.granule)/48000, probed, 0.0001)
				assert.InDelta(t, float64(n)/float64(rate), probed, 0.020, "within a frame of the input's length")
				got := decode(t, ffmpeg, path, 48000, ch)
				assert.Len(t, got, n*48000/rate*ch, "ffmpeg decodes exactly the samples written")
				for c := range ch {
					freq := 440 * (1 + 0.5*float64(c))
					x := channel(got, ch, c)[4800 : len(got)/ch-4800] // the steady part
					assert.Greater(t, mediatest.ToneShare(x, 48000, freq), 0.9, "channel %d at %v Hz", c, freq)
					level := 20 * math.Log10(rms(x)/(10000/math.Sqrt2))
					assert.InDelta(t, 0, level, 1, "channel %d level, dB", c)
				}
			})
		}
	}
}

// TestOggOpusFrameDurations: every Opus frame duration, with a silence
// long enough for the silence frames of that duration, decodes to the
// exact length, silent where it should be.
func TestOggOpusFrameDurations(t *testing.T) {
	needOpus(t)
	ffmpeg, _ := tools(t)
	for _, d := range []time.Duration{2500 * time.Microsecond, 5 * ms, 10 * ms, 20 * ms, 40 * ms, 60 * ms} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			const rate = 24000
			a := tone(rate, 1, rate, 440, 10000)
			b := tone(rate, 1, rate/2+11, 440, 10000)
			path, file := encodeFile(t, t.TempDir(), Format{rate, 1}, OggOpusConfig{FrameDuration: d}, func(w *OggOpusWriter) {
				require.NoError(t, w.WritePCM(a))
				require.NoError(t, w.WriteSilence(rate))
				require.NoError(t, w.WritePCM(b))
			})
			f := checkOggOpus(t, file)
			assert.Equal(t, int64(2*(len(a)+rate+len(b))), f.samples48)
			got := decode(t, ffmpeg, path, 48000, 1)
			require.Len(t, got, 2*(len(a)+rate+len(b)))
			assert.Zero(t, peak(got[2*len(a)+9600:2*(len(a)+rate)-960]), "the silence")
			assert.Greater(t, mediatest.ToneShare(got[4800:2*len(a)-4800], 48000, 440), 0.9)
			assert.Greater(t, mediatest.ToneShare(got[2*(len(a)+rate)+4800:], 48000, 440), 0.9)
		})
	}
}

// TestOggOpusSpeechAligned: speech comes back correlated with the input
// at lag 0 — the pre-skip is the encoder's real delay — for the VoIP and
// the low-delay applications, whose delays differ.
func TestOggOpusSpeechAligned(t *testing.T) {
	needOpus(t)
	ffmpeg, _ := tools(t)
	pcm := speech(t, "alice")
	for _, tc := range []struct {
		app     codec.Application
		preSkip int
	}{{codec.AppVoIP, 312}, {codec.AppAudio, 312}, {codec.AppLowDelay, 120}} {
		t.Run(fmt.Sprint(tc.app), func(t *testing.T) {
			path, b := encodeFile(t, t.TempDir(), Format{48000, 1}, OggOpusConfig{Bitrate: 48000, Application: tc.app},
				func(w *OggOpusWriter) { require.NoError(t, w.WritePCM(pcm)) })
			assert.Equal(t, tc.preSkip, checkOggOpus(t, b).preSkip)
			got := decode(t, ffmpeg, path, 48000, 1)
			require.Len(t, got, len(pcm))
			// SILK's resampler makes the true delay a sample off libopus's
			// stated one (ffmpeg's files carry the same pre-skip).
			seg := 48000 * 2 // two seconds of talk suffice, and keep -race quick
			lag, c := bestLag(pcm[seg:2*seg], got[seg:], 400)
			assert.LessOrEqual(t, abs(lag), 1, "decoded audio is shifted by %d samples", lag)
			assert.Greater(t, c, 0.9, "correlation with the input")
		})
	}
}

// TestOggOpusSilence: a long gap costs a few bytes a second and decodes to
// digital zeros, and the speech after it decodes as well as when the
// same input is encoded frame by frame (the silence frames leave the
// decoder in a state the encoder can resume from).
func TestOggOpusSilence(t *testing.T) {
	needOpus(t)
	ffmpeg, _ := tools(t)
	a, b := speech(t, "alice")[:48000*3], speech(t, "bob")[:48000*3]
	const gap = 48000*10 + 123
	input := append(append(append([]int16{}, a...), make([]int16, gap)...), b...)

	var sizes [2]int
	var outs [2][]int16
	for i, shortcut := range []bool{true, false} {
		path, file := encodeFile(t, t.TempDir(), Format{48000, 1}, OggOpusConfig{Bitrate: 32000}, func(w *OggOpusWriter) {
			if !shortcut {
				w.quietOK = math.MaxInt // every frame through the encoder
			}
			require.NoError(t, w.WritePCM(a))
			require.NoError(t, w.WriteSilence(gap/2))
			require.NoError(t, w.WritePCM(make([]int16, gap-gap/2)))
			require.NoError(t, w.WritePCM(b))
		})
		checkOggOpus(t, file)
		sizes[i] = len(file)
		outs[i] = decode(t, ffmpeg, path, 48000, 1)
		require.Len(t, outs[i], len(input))
	}
	t.Logf("file size: %d bytes with silence frames, %d encoding every frame", sizes[0], sizes[1])
	assert.Less(t, sizes[0], sizes[1]-gap/48000*40, "silence frames are cheaper")

	got, ref := outs[0], outs[1]
	quiet := got[len(a)+2*960 : len(a)+gap-960]
	assert.Zero(t, peak(quiet), "the gap decodes to digital silence")
	after := got[len(a)+gap:]
	assert.Greater(t, correlation(b, after, 0), 0.9, "speech after the gap")
	assert.LessOrEqual(t, peak(after[:4800]), peak(b[:4800])*5/4+200, "no click when speech resumes")
	// Against the input, the speech after the gap is as good as when the
	// encoder saw every frame of the gap.
	snr := func(got []int16) float64 {
		diff := make([]int16, len(b))
		for i := range b {
			diff[i] = got[i] - b[i]
		}
		return 20 * math.Log10(rms(b)/max(rms(diff), 1e-9))
	}
	s, r := snr(after), snr(ref[len(a)+gap:])
	t.Logf("speech after the gap: SNR %.1f dB with silence frames, %.1f dB encoding every frame", s, r)
	assert.Greater(t, s, r-1)
}

// TestSilencePackets: every silence packet is valid Opus of its stated
// duration and decodes to exact zeros, with libopus and with ffmpeg's own
// decoder.
func TestSilencePackets(t *testing.T) {
	for _, ch := range []int{1, 2} {
		for _, d := range silenceDurs {
			p := silencePacket(d, ch == 2)
			got, err := opus.PacketDuration(p)
			require.NoError(t, err)
			assert.Equal(t, d, got, "%x", p)
			if !opus.Available() {
				continue
			}
			dec, err := opus.NewDecoder(codec.Config{Channels: ch})
			require.NoError(t, err)
			pcm, err := dec.Decode(nil, p)
			require.NoError(t, err)
			assert.Len(t, pcm, d*ch)
			assert.Zero(t, peak(pcm), "%x", p)
		}
	}
	ffmpeg, ffprobe := tools(t)
	path := filepath.Join(t.TempDir(), "s.opus")
	file, err := os.Create(path)
	require.NoError(t, err)
	w, err := NewOggOpusPacketWriter(file, Format{48000, 2}, OggOpusConfig{})
	require.NoError(t, err)
	total := 0
	for _, d := range silenceDurs {
		require.NoError(t, w.WriteSilence(d))
		total += d
	}
	require.NoError(t, w.Close())
	require.NoError(t, file.Close())
	got := decode(t, ffmpeg, path, 48000, 2)
	assert.Len(t, got, 2*total)
	assert.Zero(t, peak(got))
	assert.InDelta(t, float64(total)/48000, probeDuration(t, ffprobe, path), 1e-4)
}

// TestOggOpusReadableMidWrite: a file whose writer never closed (its
// process killed) holds every page written so far — a page a second —
// and ffmpeg decodes them.
func TestOggOpusReadableMidWrite(t *testing.T) {
	needOpus(t)
	ffmpeg, _ := tools(t)
	path := filepath.Join(t.TempDir(), "cut.opus")
	file, err := os.Create(path)
	require.NoError(t, err)
	defer file.Close()
	w, err := NewOggOpusWriter(file, Format{48000, 1}, OggOpusConfig{})
	require.NoError(t, err)
	pcm := tone(48000, 1, 48000*5/2, 440, 10000)
	require.NoError(t, w.WritePCM(pcm))
	// No Close.
	got := decode(t, ffmpeg, path, 48000, 1)
	assert.Equal(t, 2*48000-312, len(got), "two pages of a second, less the pre-skip")
	assert.Greater(t, mediatest.ToneShare(got[4800:], 48000, 440), 0.9)
}

// TestOggOpusEmpty: writers closed before any audio leave files that
// ffmpeg opens as empty recordings.
func TestOggOpusEmpty(t *testing.T) {
	ffmpeg, ffprobe := tools(t)
	dir := t.TempDir()
	write := func(name string, open func(*os.File) (interface{ Close() error }, error)) {
		path := filepath.Join(dir, name)
		file, err := os.Create(path)
		require.NoError(t, err)
		w, err := open(file)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, file.Close())
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Zero(t, checkOggOpus(t, b).samples48, name)
		assert.Empty(t, decode(t, ffmpeg, path, 48000, 1), name)
		codecName := run(t, ffprobe, "-v", "error", "-select_streams", "a:0",
			"-show_entries", "stream=codec_name", "-of", "default=nw=1:nk=1", path)
		assert.Equal(t, "opus\n", string(codecName), name)
	}
	write("packets.opus", func(f *os.File) (interface{ Close() error }, error) {
		return NewOggOpusPacketWriter(f, Format{48000, 1}, OggOpusConfig{})
	})
	if opus.Available() {
		write("pcm.opus", func(f *os.File) (interface{ Close() error }, error) {
			return NewOggOpusWriter(f, Format{48000, 1}, OggOpusConfig{})
		})
	}
}

// lookaheadEncoder reports a delay, as codec/opus would with
// OPUS_GET_LOOKAHEAD.
type lookaheadEncoder struct{ codec.Encoder }

func (lookaheadEncoder) Lookahead() int { return 100 }

// TestOggOpusPreSkipFromEncoder: an encoder that tells its delay sets the
// pre-skip, scaled to 48 kHz.
func TestOggOpusPreSkipFromEncoder(t *testing.T) {
	needOpus(t)
	e, err := opus.NewEncoder(codec.Config{SampleRate: 16000})
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := newOggOpusWriter(&buf, Format{16000, 1}, OggOpusConfig{FrameDuration: 20 * time.Millisecond}, lookaheadEncoder{e})
	require.NoError(t, err)
	assert.Equal(t, 300, w.PreSkip())
	require.NoError(t, w.WritePCM(make([]int16, 1000)))
	require.NoError(t, w.Close())
	f := checkOggOpus(t, buf.Bytes())
	assert.Equal(t, 300, f.preSkip)
	assert.Equal(t, int64(3000), f.samples48)
}

func TestOggOpusConfig(t *testing.T) {
	bad := []struct {
		f   Format
		cfg OggOpusConfig
	}{
		{Format{44100, 1}, OggOpusConfig{}},
		{Format{48000, 3}, OggOpusConfig{}},
		{Format{48000, 1}, OggOpusConfig{FrameDuration: 30 * time.Millisecond}},
		{Format{48000, 1}, OggOpusConfig{PageDuration: -1}},
		{Format{48000, 1}, OggOpusConfig{Tags: []string{"NOEQUALS"}}},
		{Format{48000, 1}, OggOpusConfig{Tags: []string{"=value"}}},
		{Format{48000, 1}, OggOpusConfig{Tags: []string{"A~B=c"}}},
		{Format{48000, 1}, OggOpusConfig{Tags: []string{"A=\xff"}}},
		{Format{48000, 1}, OggOpusConfig{PreSkip: 70000}},
	}
	for _, tc := range bad {
		_, err := NewOggOpusPacketWriter(&bytes.Buffer{}, tc.f, tc.cfg)
		if tc.cfg.FrameDuration != 0 {
			_, err = NewOggOpusWriter(&bytes.Buffer{}, tc.f, tc.cfg)
		}
		assert.ErrorIs(t, err, ErrConfig, "%v %+v", tc.f, tc.cfg)
	}
	if opus.Available() {
		_, err := NewOggOpusWriter(&bytes.Buffer{}, Format{48000, 1}, OggOpusConfig{Bitrate: 10})
		assert.ErrorIs(t, err, codec.ErrConfig)
	}
}

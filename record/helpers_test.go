package record

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/internal/ogg/oggcheck"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// Interop: ffmpeg (5.1, Debian 12) and ffprobe are the independent
// readers of what this package writes. Without them these tests skip, or
// fail under make test (RTPMIX_REQUIRE_INTEROP=1).

const interopTimeout = 60 * time.Second

// tools returns the paths of ffmpeg and ffprobe.
func tools(t testing.TB) (ffmpeg, ffprobe string) {
	t.Helper()
	ffmpeg = mediatest.FFmpeg(t)
	// Debian's ffmpeg package installs both; look beside ffmpeg first.
	ffprobe = filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	if _, err := os.Stat(ffprobe); err != nil {
		if ffprobe, err = exec.LookPath("ffprobe"); err != nil {
			if os.Getenv("RTPMIX_REQUIRE_INTEROP") == "1" {
				t.Fatal("ffprobe not on PATH and RTPMIX_REQUIRE_INTEROP=1 (run make deps)")
			}
			t.Skip("ffprobe not on PATH")
		}
	}
	return ffmpeg, ffprobe
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%s timed out; stderr:\n%s", name, stderr.String())
	require.NoError(t, err, "%s %s\nstderr:\n%s", name, strings.Join(args, " "), stderr.String())
	return stdout.Bytes()
}

// probeDuration returns ffprobe's duration of the file's audio stream in
// seconds.
func probeDuration(t testing.TB, ffprobe, path string) float64 {
	t.Helper()
	out := run(t, ffprobe, "-v", "error", "-select_streams", "a:0",
		"-show_entries", "stream=duration", "-of", "default=nw=1:nk=1", path)
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	require.NoError(t, err, "ffprobe said %q", out)
	return d
}

// decode has ffmpeg decode path to 16-bit PCM at rate with channels.
func decode(t testing.TB, ffmpeg, path string, rate, channels int) []int16 {
	t.Helper()
	out := run(t, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
		"-f", "s16le", "-ac", strconv.Itoa(channels), "-ar", strconv.Itoa(rate), "-")
	require.Zero(t, len(out)%2)
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// speech returns a testdata clip, 48 kHz mono.
func speech(t testing.TB, name string) []int16 {
	t.Helper()
	a, err := wav.ReadFile(filepath.Join("..", "testdata", name+".wav"))
	require.NoError(t, err)
	require.Equal(t, 48000, a.SampleRate)
	require.Equal(t, 1, a.Channels)
	return a.Samples
}

// tone returns n samples per channel of sines at amplitude amp: freq on
// the left (or only) channel, 1.5 × freq on the right.
func tone(rate, channels, n int, freq, amp float64) []int16 {
	pcm := make([]int16, n*channels)
	for i := range n {
		for c := range channels {
			f := freq * (1 + 0.5*float64(c))
			pcm[i*channels+c] = int16(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
		}
	}
	return pcm
}

// channel returns one channel of interleaved pcm.
func channel(pcm []int16, channels, c int) []int16 {
	out := make([]int16, 0, len(pcm)/channels)
	for i := c; i < len(pcm); i += channels {
		out = append(out, pcm[i])
	}
	return out
}

func rms(x []int16) float64 {
	if len(x) == 0 {
		return 0
	}
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(x)))
}

func peak(x []int16) int {
	m := 0
	for _, v := range x {
		m = max(m, abs(int(v)))
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// correlation is the normalised cross-correlation of a and b[lag:].
func correlation(a, b []int16, lag int) float64 {
	var ab, aa, bb float64
	for i := range a {
		j := i + lag
		if j < 0 || j >= len(b) {
			continue
		}
		x, y := float64(a[i]), float64(b[j])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// bestLag returns the lag in [-span, span] where b best matches a.
func bestLag(a, b []int16, span int) (int, float64) {
	best, bestC := 0, math.Inf(-1)
	for lag := -span; lag <= span; lag++ {
		if c := correlation(a, b, lag); c > bestC {
			best, bestC = lag, c
		}
	}
	return best, bestC
}

// oggOpusFile is what checkOggOpus learns from a file.
type oggOpusFile struct {
	channels   int
	preSkip    int
	inputRate  int
	vendor     string
	tags       []string
	packets    [][]byte
	durations  []int
	pageSpans  []int64 // 48 kHz samples of the packets completed on each audio page
	granule    int64   // of the last page
	samples48  int64   // the decoded length: granule − pre-skip
	audioPages int
}

// checkOggOpus parses b with the independent parser and checks RFC 7845's
// rules: OpusHead alone on the BOS page with granule 0, OpusTags finishing
// its page with granule 0, audio starting on a fresh page, each audio
// page's granule position the sum of the durations of the packets
// completed so far (codec/opus.PacketDuration), except the EOS page,
// which may trim less than its last packet's duration.
func checkOggOpus(t testing.TB, b []byte) oggOpusFile {
	t.Helper()
	s, err := oggcheck.Parse(b)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(s.Packets), 2, "no header packets")

	var f oggOpusFile
	head := s.Packets[0]
	require.Equal(t, 0, head.Page)
	require.True(t, head.LastOnPage, "OpusHead is not alone on the first page")
	require.Zero(t, s.Pages[0].Granule)
	h := head.Data
	require.Len(t, h, 19)
	require.Equal(t, "OpusHead", string(h[:8]))
	require.Equal(t, byte(1), h[8], "version")
	f.channels = int(h[9])
	f.preSkip = int(binary.LittleEndian.Uint16(h[10:]))
	f.inputRate = int(binary.LittleEndian.Uint32(h[12:]))
	require.Zero(t, binary.LittleEndian.Uint16(h[16:]), "output gain")
	require.Zero(t, h[18], "channel mapping family")

	tags := s.Packets[1]
	require.True(t, tags.LastOnPage, "audio shares the OpusTags page")
	require.Zero(t, s.Pages[tags.Page].Granule)
	d := tags.Data
	require.Equal(t, "OpusTags", string(d[:8]))
	n := int(binary.LittleEndian.Uint32(d[8:]))
	f.vendor = string(d[12 : 12+n])
	d = d[12+n:]
	count := int(binary.LittleEndian.Uint32(d))
	d = d[4:]
	for range count {
		l := int(binary.LittleEndian.Uint32(d))
		f.tags = append(f.tags, string(d[4:4+l]))
		d = d[4+l:]
	}
	require.Empty(t, d, "bytes after the last comment")

	var sum int64
	spanStart := int64(0)
	for i, p := range s.Packets[2:] {
		dur, err := opus.PacketDuration(p.Data)
		require.NoError(t, err, "audio packet %d", i)
		f.packets = append(f.packets, p.Data)
		f.durations = append(f.durations, dur)
		sum += int64(dur)
		if !p.LastOnPage {
			continue
		}
		f.audioPages++
		f.pageSpans = append(f.pageSpans, sum-spanStart)
		spanStart = sum
		if p.Page == len(s.Pages)-1 {
			require.LessOrEqual(t, p.PageGranule, sum, "EOS page granule beyond its packets")
			if len(f.packets) > 1 {
				require.Greater(t, p.PageGranule, sum-int64(dur), "end trimming beyond the last packet")
			} else { // an empty recording: its only packet trimmed away
				require.GreaterOrEqual(t, p.PageGranule, sum-int64(dur), "end trimming beyond the only packet")
			}
		} else {
			require.Equal(t, sum, p.PageGranule, "granule position of page %d", p.Page)
		}
	}
	require.NotEmpty(t, f.packets, "no audio packets")
	f.granule = s.Pages[len(s.Pages)-1].Granule
	require.GreaterOrEqual(t, f.granule, int64(f.preSkip))
	f.samples48 = f.granule - int64(f.preSkip)
	return f
}

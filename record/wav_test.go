package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/wav"
)

// TestWAVFFmpeg: ffmpeg decodes every format the WAV writer takes back to
// the very samples written, and ffprobe's duration is theirs.
func TestWAVFFmpeg(t *testing.T) {
	ffmpeg, ffprobe := tools(t)
	for _, rate := range wavRates {
		for _, ch := range []int{1, 2} {
			t.Run(fmt.Sprintf("%d_%d", rate, ch), func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "a.wav")
				file, err := os.Create(path)
				require.NoError(t, err)
				w, err := NewWAVWriter(file, Format{rate, ch}, WAVConfig{})
				require.NoError(t, err)
				n := rate*13/10 + 7 // 1.3 s and a bit: not a whole number of anything
				pcm := tone(rate, ch, n, 440, 12000)
				for rest := pcm; len(rest) > 0; {
					k := min(len(rest), ch*(rate/50+3))
					require.NoError(t, w.WritePCM(rest[:k]))
					rest = rest[k:]
				}
				require.NoError(t, w.WriteSilence(rate/10))
				require.NoError(t, w.Close())
				require.NoError(t, file.Close())
				want := append(pcm, make([]int16, rate/10*ch)...)

				assert.Equal(t, want, decode(t, ffmpeg, path, rate, ch), "ffmpeg's samples")
				assert.InDelta(t, float64(n+rate/10)/float64(rate), probeDuration(t, ffprobe, path), 1e-4)
				a, err := wav.ReadFile(path)
				require.NoError(t, err)
				assert.Equal(t, want, a.Samples)
				assert.Equal(t, int64(n+rate/10), w.Position())
			})
		}
	}
}

// writerAtOnly hides everything of a file but Write and WriteAt; seekOnly
// everything but Write and Seek.
type writerAtOnly struct{ f *os.File }

func (w writerAtOnly) Write(p []byte) (int, error)              { return w.f.Write(p) }
func (w writerAtOnly) WriteAt(p []byte, off int64) (int, error) { return w.f.WriteAt(p, off) }

type seekOnly struct{ f *os.File }

func (w seekOnly) Write(p []byte) (int, error)               { return w.f.Write(p) }
func (w seekOnly) Seek(off int64, whence int) (int64, error) { return w.f.Seek(off, whence) }

type writeOnly struct{ w io.Writer }

func (w writeOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// TestWAVReadableMidWrite: a file whose writer is never closed (its
// process killed) reads as a WAV file of what was written up to the last
// header update, through WriteAt or Seek; a stream that cannot seek says
// "unknown size" and ffmpeg reads all of it.
func TestWAVReadableMidWrite(t *testing.T) {
	ffmpeg, ffprobe := tools(t)
	const rate = 16000
	pcm := tone(rate, 1, rate*5/2, 300, 8000) // 2.5 s
	for name, wrap := range map[string]func(*os.File) io.Writer{
		"WriterAt":    func(f *os.File) io.Writer { return writerAtOnly{f} },
		"WriteSeeker": func(f *os.File) io.Writer { return seekOnly{f} },
		"stream":      func(f *os.File) io.Writer { return writeOnly{f} },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.wav")
			file, err := os.Create(path)
			require.NoError(t, err)
			defer file.Close()
			w, err := NewWAVWriter(wrap(file), Format{rate, 1}, WAVConfig{PatchInterval: time.Second})
			require.NoError(t, err)
			for i := 0; i < len(pcm); i += rate / 50 {
				require.NoError(t, w.WritePCM(pcm[i:i+rate/50]))
			}
			// No Close: what a reader finds if the process died here.
			a, err := wav.ReadFile(path)
			require.NoError(t, err)
			got := decode(t, ffmpeg, path, rate, 1)
			if name == "stream" {
				assert.Equal(t, pcm[:len(a.Samples)], a.Samples, "the header says 'to the end'")
				assert.Equal(t, pcm[:len(got)], got)
				assert.Greater(t, len(got), rate*2, "ffmpeg reads to the end of what was written")
				return
			}
			assert.Equal(t, pcm[:2*rate], a.Samples, "the header covers the first 2 s")
			assert.Equal(t, pcm[:2*rate], got)
			assert.InDelta(t, 2.0, probeDuration(t, ffprobe, path), 1e-4)

			require.NoError(t, w.Close())
			got = decode(t, ffmpeg, path, rate, 1)
			assert.Equal(t, pcm, got, "after Close, everything")
		})
	}
}

// TestWAVRF64: past the RIFF size limit the header turns into RF64 with a
// ds64 chunk, which ffmpeg reads. The limit is lowered so that the test
// does not write 4 GiB.
func TestWAVRF64(t *testing.T) {
	ffmpeg, ffprobe := tools(t)
	old := rf64Threshold
	rf64Threshold = 10000
	defer func() { rf64Threshold = old }()

	path := filepath.Join(t.TempDir(), "big.wav")
	file, err := os.Create(path)
	require.NoError(t, err)
	w, err := NewWAVWriter(file, Format{8000, 2}, WAVConfig{})
	require.NoError(t, err)
	pcm := tone(8000, 2, 8000, 500, 9000)
	require.NoError(t, w.WritePCM(pcm))
	require.NoError(t, w.Close())
	require.NoError(t, file.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "RF64", string(b[:4]))
	assert.Equal(t, "ds64", string(b[12:16]))
	assert.Equal(t, uint64(len(b)-8), binary.LittleEndian.Uint64(b[20:]))
	assert.Equal(t, uint64(len(pcm)*2), binary.LittleEndian.Uint64(b[28:]))
	assert.Equal(t, uint64(8000), binary.LittleEndian.Uint64(b[36:]), "sample frames")
	assert.Equal(t, pcm, decode(t, ffmpeg, path, 8000, 2))
	assert.InDelta(t, 1.0, probeDuration(t, ffprobe, path), 1e-4)
}

func TestWAVConfig(t *testing.T) {
	for _, f := range []Format{{0, 1}, {8000, 0}, {8000, 3}, {11025, 1}, {96000, 2}} {
		_, err := NewWAVWriter(io.Discard, f, WAVConfig{})
		assert.ErrorIs(t, err, ErrConfig, "%v", f)
	}
	w, err := NewWAVWriter(io.Discard, Format{8000, 2}, WAVConfig{})
	require.NoError(t, err)
	assert.ErrorIs(t, w.WritePCM([]int16{1, 2, 3}), ErrFrame)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")
	assert.ErrorIs(t, w.WritePCM([]int16{1, 2}), ErrClosed)
}

// failingWriter takes limit bytes, then fails every write.
type failingWriter struct {
	limit int
	buf   bytes.Buffer
}

var errDiskFull = fmt.Errorf("no space left on device")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.limit {
		return 0, errDiskFull
	}
	return f.buf.Write(p)
}

func TestWAVWriteErrorsStick(t *testing.T) {
	fw := &failingWriter{limit: 100 << 10}
	w, err := NewWAVWriter(fw, Format{48000, 1}, WAVConfig{})
	require.NoError(t, err)
	frame := make([]int16, 960)
	for err == nil {
		err = w.WritePCM(frame)
	}
	assert.ErrorIs(t, err, errDiskFull)
	assert.ErrorIs(t, w.WriteSilence(10), errDiskFull)
	assert.ErrorIs(t, w.Close(), errDiskFull)
	assert.ErrorIs(t, w.Close(), errDiskFull)

	_, err = NewWAVWriter(&failingWriter{limit: 10}, Format{48000, 1}, WAVConfig{})
	assert.ErrorIs(t, err, errDiskFull)
}

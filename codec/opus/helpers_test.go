//go:build cgo

package opus

import (
	"math"
	"sync"
	"testing"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/stretchr/testify/require"
)

const clipPath = "../../testdata/alice.wav"

var clipCache struct {
	sync.Mutex
	m map[int][]int16
}

// clip returns alice.wav (48 kHz mono) at rate, low-pass filtered and
// decimated here so the tests do not depend on codec/resample.
func clip(tb testing.TB, rate int) []int16 {
	tb.Helper()
	clipCache.Lock()
	defer clipCache.Unlock()
	if pcm, ok := clipCache.m[rate]; ok {
		return pcm
	}
	a, err := wav.ReadFile(clipPath)
	require.NoError(tb, err)
	require.Equal(tb, 48000, a.SampleRate)
	require.Equal(tb, 1, a.Channels)
	require.Zero(tb, 48000%rate)
	pcm := decimate(a.Samples, 48000/rate)
	if clipCache.m == nil {
		clipCache.m = make(map[int][]int16)
	}
	clipCache.m[rate] = pcm
	return pcm
}

// decimate low-passes x with a Blackman-windowed sinc at 0.9 of the new
// Nyquist frequency and keeps every factor-th sample.
func decimate(x []int16, factor int) []int16 {
	if factor == 1 {
		return append([]int16(nil), x...)
	}
	const half = 96
	fc := 0.45 / float64(factor) // cycles per input sample
	h := make([]float64, 2*half+1)
	var sum float64
	for i := range h {
		n := float64(i - half)
		s := 2 * fc
		if n != 0 {
			s = math.Sin(2*math.Pi*fc*n) / (math.Pi * n)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(2*half)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(2*half))
		h[i] = s * w
		sum += h[i]
	}
	out := make([]int16, len(x)/factor)
	for o := range out {
		c := o * factor
		var acc float64
		for i, hv := range h {
			if j := c + i - half; j >= 0 && j < len(x) {
				acc += hv * float64(x[j])
			}
		}
		out[o] = clamp16(acc / sum)
	}
	return out
}

func clamp16(v float64) int16 {
	return int16(math.Max(-32768, math.Min(32767, math.Round(v))))
}

// frames cuts pcm into whole frames of n interleaved samples.
func frames(pcm []int16, n int) [][]int16 {
	var out [][]int16
	for i := 0; i+n <= len(pcm); i += n {
		out = append(out, pcm[i:i+n])
	}
	return out
}

func encodeAll(tb testing.TB, enc *Encoder, pcm []int16) [][]byte {
	tb.Helper()
	var pkts [][]byte
	for _, f := range frames(pcm, enc.FrameSamples()*enc.Channels()) {
		p, err := enc.Encode(make([]byte, 0, MaxPacketSize), f)
		require.NoError(tb, err)
		pkts = append(pkts, p)
	}
	return pkts
}

func decodeAll(tb testing.TB, dec *Decoder, pkts [][]byte) []int16 {
	tb.Helper()
	var out []int16
	buf := make([]int16, dec.MaxPCMLen())
	for _, p := range pkts {
		pcm, err := dec.Decode(buf, p)
		require.NoError(tb, err)
		out = append(out, pcm...)
	}
	return out
}

// align finds the codec delay as the lag (0..maxLag samples) that maximises
// the normalised cross-correlation of out against ref over one second of
// speech, then returns the SNR in dB and the correlation over the whole clip
// at that lag.
func align(ref, out []int16, rate, maxLag int) (lag int, snrDB, corr float64) {
	win := ref[rate : 2*rate] // alice speaks through the second second
	best := math.Inf(-1)
	for l := 0; l <= maxLag; l++ {
		if c := ncc(win, out[rate+l:]); c > best {
			best, lag = c, l
		}
	}
	return lag, snr(ref, out[lag:]), ncc(ref, out[lag:])
}

func ncc(a, b []int16) float64 {
	n := min(len(a), len(b))
	var ab, aa, bb float64
	for i := 0; i < n; i++ {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func snr(ref, out []int16) float64 {
	n := min(len(ref), len(out))
	var sig, noise float64
	for i := 0; i < n; i++ {
		x, d := float64(ref[i]), float64(ref[i])-float64(out[i])
		sig += x * x
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

func mustEncoder(tb testing.TB, cfg codec.Config) *Encoder {
	tb.Helper()
	e, err := NewEncoder(cfg)
	require.NoError(tb, err)
	return e
}

func mustDecoder(tb testing.TB, cfg codec.Config) *Decoder {
	tb.Helper()
	d, err := NewDecoder(cfg)
	require.NoError(tb, err)
	return d
}

func db(r float64) float64 { return 10 * math.Log10(r) }

package tsm

import (
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/audiocmp"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/stretchr/testify/require"
)

var rates = []int{8000, 16000, 24000, 32000, 48000}

var clipCache sync.Map // "name/rate" → []int16

// clip returns a speech clip from the repository's testdata at rate,
// resampled with the project's own resampler.
func clip(t testing.TB, name string, rate int) []int16 {
	t.Helper()
	key := name + "/" + strconv.Itoa(rate)
	if v, ok := clipCache.Load(key); ok {
		return v.([]int16)
	}
	a, err := wav.ReadFile("../../testdata/" + name + ".wav")
	require.NoError(t, err)
	require.Equal(t, 1, a.Channels)
	require.Equal(t, 48000, a.SampleRate)
	s := a.Samples
	if rate != 48000 {
		r, err := resample.New(48000, rate, 1)
		require.NoError(t, err)
		s = append([]int16(nil), r.Process(nil, a.Samples)...)
	}
	clipCache.Store(key, s)
	return s
}

func sine(n, rate int, freq, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return s
}

func newFIFO(t testing.TB, rate int) *FIFO {
	t.Helper()
	f, err := New(rate, Config{})
	require.NoError(t, err)
	return f
}

// maxStep returns the largest |x[i]-x[i-1]|.
func maxStep(x []int16) int {
	m := 0
	for i := 1; i < len(x); i++ {
		d := int(x[i]) - int(x[i-1])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

// toneResidualDB fits a·sin + b·cos at freq to each 5 ms window of x (hop
// 1.25 ms) and returns the worst ratio, in dB, of what the fit leaves to
// what it explains: a click, a step or a dropout in a tone shows up as a
// residual; a tone whose phase or amplitude drifts slowly does not.
func toneResidualDB(x []int16, rate int, freq float64) float64 {
	w, hop := rate/200, rate/800
	worst := math.Inf(-1)
	for s := 0; s+w <= len(x); s += hop {
		var ss, sc, cc, xs, xc, xx float64
		for i := s; i < s+w; i++ {
			ph := 2 * math.Pi * freq * float64(i) / float64(rate)
			si, co, v := math.Sin(ph), math.Cos(ph), float64(x[i])
			ss += si * si
			sc += si * co
			cc += co * co
			xs += v * si
			xc += v * co
			xx += v * v
		}
		det := ss*cc - sc*sc
		a := (xs*cc - xc*sc) / det
		b := (xc*ss - xs*sc) / det
		fit := a*xs + b*xc // energy the fit explains
		res := max(xx-fit, 1e-9)
		worst = max(worst, 10*math.Log10(res/fit))
	}
	return worst
}

// edit is one change seen in an output: from output sample pos on, the
// output runs delta samples ahead of (positive) or behind the input.
type edit struct{ pos, delta int }

// stream feeds x through f in frames of fr samples. Before reading each
// frame it calls adjust(i, f) with the frame index; the return value is the
// signed change made (negative for shortening). It returns the output and
// the edits, and checks that Len moved by exactly the reported change at
// every step and that the output is as long as the changes say.
func stream(t testing.TB, f *FIFO, x []int16, fr int, adjust func(i int, f *FIFO) int) ([]int16, []edit) {
	t.Helper()
	out := make([]int16, 0, 2*len(x))
	buf := make([]int16, fr)
	var edits []edit
	net := 0
	for i := 0; i*fr < len(x); i++ {
		f.Write(x[i*fr : min((i+1)*fr, len(x))])
		if adjust != nil {
			before := f.Len()
			c := adjust(i, f)
			require.Equal(t, before+c, f.Len(), "frame %d: Len moved by %d, reported %d", i, f.Len()-before, c)
			if c != 0 {
				edits = append(edits, edit{len(out) + f.last.at, c})
			}
			net += c
		}
		for f.Len() >= fr {
			n := f.Read(buf)
			out = append(out, buf[:n]...)
		}
	}
	for n := f.Read(buf); n > 0; n = f.Read(buf) {
		out = append(out, buf[:n]...)
	}
	require.Equal(t, len(x)+net, len(out), "output length")
	return out, edits
}

// hardCuts removes n samples every `every` samples from x with no
// crossfade: the splice a time-stretcher must not make, used to show that
// the measures see it.
func hardCuts(x []int16, n, every int) ([]int16, []edit) {
	var out []int16
	var edits []edit
	for p := 0; p < len(x); p += every {
		out = append(out, x[p:min(p+every-n, len(x))]...)
		if p+every < len(x) {
			edits = append(edits, edit{len(out), -n})
		}
	}
	return out, edits
}

// spectrogram holds log power spectra (dB, floored at -100 dB below full
// scale) of 10 ms Hann windows of x starting every hop samples, and each
// window's level.
type spectrogram struct {
	hop   int
	spec  [][]float64
	level []float64 // dBFS of the window
}

func newSpectrogram(x []int16, rate, hop int) *spectrogram {
	w := rate / 100
	n := 1
	for n < w {
		n <<= 1
	}
	win := make([]float64, w)
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(w))
	}
	sg := &spectrogram{hop: hop}
	re, im := make([]float64, n), make([]float64, n)
	floor := float64(w) * float64(w) * (1 << 30) * 1e-10
	for s := 0; s+w <= len(x); s += hop {
		clear(re)
		clear(im)
		var e float64
		for i := range w {
			v := float64(x[s+i])
			e += v * v
			re[i] = v * win[i]
		}
		audiocmp.FFT(re, im)
		p := make([]float64, n/2)
		for k := range p {
			p[k] = 10 * math.Log10(re[k+1]*re[k+1]+im[k+1]*im[k+1]+floor)
		}
		sg.spec = append(sg.spec, p)
		sg.level = append(sg.level, 10*math.Log10(e/float64(w)/(1<<30)+1e-12))
	}
	return sg
}

func lsd(a, b []float64) float64 {
	var s float64
	for k := range a {
		d := a[k] - b[k]
		s += d * d
	}
	return math.Sqrt(s / float64(len(a)))
}

// worstMismatch measures how unlike the original any part of a
// time-stretched output sounds: every 5 ms, the output's 10 ms spectrum is
// compared with the original's at every 0.25 ms within 20 ms of where the
// edits say it came from, and the closest log-spectral distance is kept.
// It returns the largest such distance (dB) over windows louder than
// -45 dBFS. Unchanged audio and good splices find a near-exact match;
// a click or a step spreads energy over all frequencies that no window of
// the original has.
func worstMismatch(orig, out []int16, rate int, edits []edit) float64 {
	return worstMismatchSpec(newSpectrogram(orig, rate, rate/4000), out, rate, edits)
}

// worstMismatchSpec is worstMismatch with the original's spectrogram (hop
// 0.25 ms) computed once for several outputs.
func worstMismatchSpec(so *spectrogram, out []int16, rate int, edits []edit) float64 {
	fine := rate / 4000
	step := rate / 200
	sx := newSpectrogram(out, rate, step)
	reach := 20 * 4 // 20 ms in fine hops
	worst, shift, e := 0.0, 0, 0
	for k, p := range sx.spec {
		for e < len(edits) && edits[e].pos <= k*step {
			shift += edits[e].delta
			e++
		}
		want := (k*step - shift) / fine
		bestD := math.Inf(1)
		for j := max(0, want-reach); j <= min(len(so.spec)-1, want+reach); j++ {
			bestD = min(bestD, lsd(p, so.spec[j]))
		}
		if sx.level[k] > -45 {
			worst = max(worst, bestD)
		}
	}
	return worst
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sinAt(i, rate int, freq float64) float64 {
	return math.Sin(2 * math.Pi * freq * float64(i) / float64(rate))
}

// pitch estimates the fundamental period (in samples, fractional) of the
// n samples at x[s:], by normalised autocorrelation over 2.5–16.7 ms: the
// best lag, or half of it when that correlates nearly as well (an octave
// error), refined by a parabola. ok is false for unvoiced audio (best
// correlation below 0.8) or silence.
func pitch(x []int16, s, n, rate int) (float64, bool) {
	lo, hi := rate/400, rate/60
	if s-hi < 0 || s+n > len(x) {
		return 0, false
	}
	ncc := make([]float64, hi+2)
	seg := x[s : s+n]
	var e0 float64
	for _, v := range seg {
		e0 += float64(v) * float64(v)
	}
	if e0 < float64(n)*1e4 { // below about -40 dBFS
		return 0, false
	}
	best := lo
	for l := lo; l <= hi+1; l++ {
		var c, el float64
		for i, v := range seg {
			u := float64(x[s+i-l])
			c += float64(v) * u
			el += u * u
		}
		if el > 0 {
			ncc[l] = c / math.Sqrt(e0*el)
		}
		if l <= hi && ncc[l] > ncc[best] {
			best = l
		}
	}
	if ncc[best] < 0.8 {
		return 0, false
	}
	for k := 2; k <= 3; k++ {
		// Prefer the fundamental over its multiples.
		if h := int(math.Round(float64(best) / float64(k))); h >= lo && ncc[h] >= 0.9*ncc[best] {
			best = h
		}
	}
	a, b, c := ncc[best-1], ncc[best], ncc[best+1]
	frac := 0.0
	if den := a - 2*b + c; den < 0 {
		frac = min(max(0.5*(a-c)/den, -0.5), 0.5)
	}
	return float64(best) + frac, true
}

var voicedCache sync.Map // name → float64

// voicedSecond returns the start (in seconds) of the 1 s stretch of a
// clip with the most voiced 10 ms steps, found at 16 kHz.
func voicedSecond(t testing.TB, name string) float64 {
	if v, ok := voicedCache.Load(name); ok {
		return v.(float64)
	}
	x := clip(t, name, 16000)
	var voiced []bool
	for s := 0; s+640 <= len(x); s += 160 {
		_, ok := pitch(x, s, 640, 16000)
		voiced = append(voiced, ok)
	}
	best, bestN := 0, -1
	for s := 0; s+100 <= len(voiced); s += 10 {
		n := 0
		for _, v := range voiced[s : s+100] {
			if v {
				n++
			}
		}
		if n > bestN {
			best, bestN = s, n
		}
	}
	voicedCache.Store(name, float64(best)/100)
	return float64(best) / 100
}

// speedUp resamples x by linear interpolation to len(x)/factor samples:
// shorter, and higher in pitch by factor, what time-scaling must not do.
func speedUp(x []int16, factor float64) []int16 {
	n := int(float64(len(x)) / factor)
	out := make([]int16, n)
	for i := range out {
		p := float64(i) * factor
		j := int(p)
		if j+1 >= len(x) {
			out[i] = x[len(x)-1]
			continue
		}
		fr := p - float64(j)
		out[i] = int16(math.Round(float64(x[j])*(1-fr) + float64(x[j+1])*fr))
	}
	return out
}

package resample

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pair is one supported conversion.
type pair struct{ in, out int }

func (p pair) String() string { return fmt.Sprintf("%dk-%dk", p.in/1000, p.out/1000) }

func allPairs() []pair {
	var ps []pair
	for _, in := range Rates() {
		for _, out := range Rates() {
			if in != out {
				ps = append(ps, pair{in, out})
			}
		}
	}
	return ps
}

// sine returns n samples of amp·sin(2πf t + ph) at rate Hz, rounded.
func sine(n, rate int, f, amp, ph float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)+ph)))
	}
	return s
}

// toneAmp measures the amplitude of the f Hz component of x at rate Hz:
// one DFT bin, by the Goertzel recurrence. The window must hold a whole
// number of cycles so that no other component leaks into the bin.
func toneAmp(x []int16, rate int, f float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*f/float64(rate))
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+coeff*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / float64(len(x))
}

// frameResampler is what the tone sweep drives: this package's Resampler
// or, in the soxr comparison, libsoxr.
type frameResampler interface {
	Process(dst, src []int16) []int16
	Delay() float64
}

// resampleFrames runs x through a new resampler in 20 ms frames.
func resampleFrames(t testing.TB, p pair, x []int16) ([]int16, *Resampler) {
	r, err := New(p.in, p.out, 1)
	require.NoError(t, err)
	return runFrames(r, p, x), r
}

func runFrames(r frameResampler, p pair, x []int16) []int16 {
	frame := p.in / 50
	var out, buf []int16
	for len(x) > 0 {
		k := min(frame, len(x))
		buf = r.Process(buf, x[:k])
		out = append(out, buf...)
		x = x[k:]
	}
	return out
}

// fold maps a frequency onto [0, rate/2] as sampling at rate does.
func fold(f float64, rate int) float64 {
	fs := float64(rate)
	f = math.Mod(math.Abs(f), fs)
	if f > fs/2 {
		f = fs - f
	}
	return f
}

type toneResult struct {
	passMin, passMax float64 // passband gain, dB
	stopMin          float64 // smallest attenuation of an alias or image, dB
	stopAt           string
}

// measureTones sweeps sines through one pair: passband tones from 100 Hz
// to 0.9 of the lower Nyquist must keep their level; every alias and image
// of a passband tone (upsampling) and every tone at or above the lower
// Nyquist (downsampling) must come out at least 80 dB down. Frequencies sit
// on a 10 Hz grid and windows are 100 ms, so every component is bin-exact.
func measureTones(t testing.TB, p pair, step float64, mk func() (frameResampler, error)) toneResult {
	low := min(p.in, p.out)
	nyq := float64(low) / 2
	const amp = 30000.0
	res := toneResult{passMin: math.Inf(1), passMax: math.Inf(-1), stopMin: math.Inf(1)}
	r, err := mk()
	require.NoError(t, err)
	// Past the start transient; libsoxr reports its delay only once it has
	// seen input, so feed it a frame first.
	r.Process(nil, make([]int16, p.in/50))
	skip := int(math.Ceil(r.Delay())) + p.out/100
	win := p.out / 10
	n := (skip+win)*p.in/p.out + p.in/3 // libsoxr HQ holds back more than its delay
	check := func(f float64, passband, wanted bool) {
		x := sine(n, p.in, f, amp, 0.3)
		r, err := mk()
		require.NoError(t, err)
		y := runFrames(r, p, x)
		require.GreaterOrEqual(t, len(y), skip+win)
		y = y[skip : skip+win]
		if passband {
			g := 20 * math.Log10(toneAmp(y, p.out, f)/amp)
			res.passMin, res.passMax = math.Min(res.passMin, g), math.Max(res.passMax, g)
		}
		for k := 0; float64(k)*float64(p.in) <= float64(p.out)/2+f; k++ {
			for _, s := range []float64{-1, 1} {
				fa := fold(float64(k)*float64(p.in)+s*f, p.out)
				if (wanted && math.Abs(fa-f) < 1) || fa < 1 || fa > float64(p.out)/2-1 {
					continue // the wanted tone, or DC/Nyquist where a bin has no phase
				}
				a := toneAmp(y, p.out, fa)
				att := 20 * math.Log10(amp/math.Max(a, 1e-3))
				if att < res.stopMin {
					res.stopMin = att
					res.stopAt = fmt.Sprintf("%.0f Hz in, %.0f Hz out", f, fa)
				}
			}
		}
	}
	for f := 100.0; f <= 0.9*nyq+0.5; f += step {
		check(f, true, true)
	}
	check(0.9*nyq, true, true)
	if p.out < p.in {
		// Downsampling: everything from the output Nyquist up must go.
		for f := nyq + 10; f < float64(p.in)/2; f += step {
			check(f, false, false)
		}
	} else {
		// Upsampling: the images of transition-band tones (0.9 to 1.0 of
		// the input Nyquist) lie just above it, at the stopband edge.
		for f := 0.9*nyq + 40; f < nyq; f += 40 {
			check(f, false, true)
		}
		check(nyq-10, false, true)
	}
	return res
}

// TestQuality is the package's promise, end to end through Process in
// 20 ms frames: passband within 0.1 dB of unity up to 0.9 × the lower
// Nyquist and aliases and images at least 80 dB down.
func TestQuality(t *testing.T) {
	step := 230.0
	if testing.Short() {
		step = 490
	}
	for _, p := range allPairs() {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			res := measureTones(t, p, step, func() (frameResampler, error) { return New(p.in, p.out, 1) })
			r, err := New(p.in, p.out, 1)
			require.NoError(t, err)
			t.Logf("%-8s ripple %+.4f..%+.4f dB (%.4f dB p-p)  stopband ≥ %.1f dB (worst: %s)  delay %.1f samples (%.2f ms)",
				p, res.passMin, res.passMax, res.passMax-res.passMin, res.stopMin, res.stopAt, r.Delay(), 1000*r.Delay()/float64(p.out))
			assert.LessOrEqual(t, math.Max(-res.passMin, res.passMax), 0.1, "passband ripple, dB")
			assert.GreaterOrEqual(t, res.stopMin, 80.0, "stopband attenuation, dB at %s", res.stopAt)
		})
	}
}

// TestPrototypeResponse checks the designed filters themselves on a dense
// grid, including exactly at the stopband edge (the lower Nyquist), which
// the tone sweep cannot sample.
func TestPrototypeResponse(t *testing.T) {
	for _, p := range allProt {
		t.Run(p.name, func(t *testing.T) {
			e := p.edges()
			resp := func(f float64) float64 {
				var re, im float64
				for k, v := range p.taps {
					s, c := math.Sincos(2 * math.Pi * f * float64(k))
					re += float64(v) * c
					im -= float64(v) * s
				}
				return math.Hypot(re, im)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := 0; i <= 500; i++ {
				g := 20 * math.Log10(resp(e.pass*float64(i)/500))
				lo, hi = math.Min(lo, g), math.Max(hi, g)
			}
			stop := math.Inf(1)
			for i := 0; i <= 5000; i++ {
				stop = math.Min(stop, -20*math.Log10(resp(e.stop+(0.5-e.stop)*float64(i)/5000)))
			}
			t.Logf("%s: %d taps, passband %+.4f..%+.4f dB, stopband ≥ %.2f dB", p.name, len(p.taps), lo, hi, stop)
			assert.LessOrEqual(t, hi-lo, 0.1)
			assert.GreaterOrEqual(t, stop, 82.0)
		})
	}
}

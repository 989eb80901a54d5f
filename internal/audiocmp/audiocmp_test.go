package audiocmp

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/wav"
)

func speech(t *testing.T, rate int) []int16 {
	a, err := wav.ReadFile("../../testdata/alice.wav")
	require.NoError(t, err)
	r, err := resample.New(48000, rate, 1)
	require.NoError(t, err)
	return r.Process(nil, a.Samples)
}

// TestIdentical: the same signal delayed by a fixed amount is found at
// that delay in every scored window, both ways, with the best scores.
func TestIdentical(t *testing.T) {
	const rate = 8000
	ref := speech(t, rate)
	got := append(make([]int16, 1234), ref...)
	r := Compare(ref, got, rate, Options{})
	for _, d := range []Direction{r.Heard, r.Sent} {
		require.Greater(t, d.Active, 200)
		assert.Equal(t, 35.0, d.SegSNR)
		assert.Less(t, d.LSD, 0.01)
		assert.Equal(t, 1.0, d.Found)
		for _, w := range d.Windows {
			if w.Active {
				require.Equal(t, 1234, w.Delay(), "window at %d", w.Got)
			}
		}
	}
}

// TestCut: 100 ms of speech cut out (a delay that steps down by dropping
// audio) is followed: what was heard is all found, at the delay before
// the cut and after it; of what was sent, the windows cut out are
// missing, and scored as such.
func TestCut(t *testing.T) {
	const rate = 8000
	ref := speech(t, rate)
	// Cut where the speech is loud, so that the loss is heard.
	at, best := 0, 0.0
	c := newComparer(ref, ref, rate, 160, 80)
	for s := len(ref) / 3; s+800 <= 2*len(ref)/3; s += 160 {
		if e := c.energy(ref[s : s+800]); e > best {
			best, at = e, s
		}
	}
	const cut = 800
	got := append(append(make([]int16, 2000), ref[:at]...), ref[at+cut:]...)
	r := Compare(ref, got, rate, Options{})
	var before, after, other int
	for _, w := range r.Heard.Windows {
		switch {
		case !w.Active:
		case w.Delay() == 2000:
			before++
		case w.Delay() == 2000-cut:
			after++
		default:
			other++
		}
	}
	assert.Greater(t, before, 100)
	assert.Greater(t, after, 100)
	assert.LessOrEqual(t, other, 1, "only the window across the cut")
	missing := 0
	for _, w := range r.Sent.Windows {
		if w.Active && w.Ref >= at && w.Ref+160 <= at+cut {
			missing++
			assert.Less(t, w.SNR, 10.0, "sent at %d, cut out", w.Ref)
		}
	}
	assert.GreaterOrEqual(t, missing, 4)
	assert.Less(t, r.Sent.SegSNR, r.Heard.SegSNR)
	assert.Greater(t, r.Sent.LSD, r.Heard.LSD)
}

// TestDrift: a delay that grows by 3 ms every half second (a period's
// worth of audio repeated, as a sender clock 0.6% slow makes a receiver
// do) is followed to the end.
func TestDrift(t *testing.T) {
	const rate = 8000
	ref := speech(t, rate)
	var drift []int16
	for s := 0; s < len(ref); s += 4000 {
		e := min(s+4000, len(ref))
		drift = append(drift, ref[s:e]...)
		drift = append(drift, ref[max(e-24, 0):e]...)
	}
	r := Compare(ref, drift, rate, Options{})
	assert.Greater(t, r.Heard.Found, 0.95)
	assert.Greater(t, r.Sent.Found, 0.95)
	last := r.Heard.Windows[len(r.Heard.Windows)-1]
	assert.InDelta(t, 24*(len(ref)/4000), last.Delay(), 24)
}

// TestNoise: noise lowers the scores, not the alignment; where silence
// was sent, the noise heard is scored as heard.
func TestNoise(t *testing.T) {
	const rate = 8000
	ref := speech(t, rate)
	noisy := make([]int16, len(ref))
	var x uint32 = 1
	for i, v := range ref {
		x = x*1664525 + 1013904223
		noisy[i] = v + int16(int32(x>>16)%600-300)
	}
	r := Compare(ref, noisy, rate, Options{})
	assert.Greater(t, r.Sent.Found, 0.9)
	assert.Less(t, r.Sent.SegSNR, 30.0)
	assert.Greater(t, r.Sent.SegSNR, 5.0)
	assert.Greater(t, r.Sent.LSD, 0.5)
	assert.Less(t, r.Heard.SegSNR, r.Sent.SegSNR, "noise in the pauses is heard")
	assert.Less(t, r.Heard.Found, r.Sent.Found)
}

// TestSilenceScored: speech replaced by silence (a hole a listener hears)
// is scored as sent speech missing, at the last delay, as 0 dB of SNR;
// the silence heard is not scored as heard (a pause made longer would be
// the same silence).
func TestSilenceScored(t *testing.T) {
	const rate = 8000
	ref := speech(t, rate)
	got := append([]int16(nil), ref...)
	loud, best := 0, 0.0
	c := newComparer(ref, ref, rate, 160, 80)
	for s := 0; s+1600 <= len(ref); s += 160 {
		if e := c.energy(ref[s : s+1600]); e > best {
			best, loud = e, s
		}
	}
	clear(got[loud : loud+1600])
	r := Compare(ref, got, rate, Options{})
	zeros := 0
	for _, w := range r.Sent.Windows {
		if w.Active && w.Got >= loud && w.Got+160 <= loud+1600 {
			assert.Equal(t, 0, w.Delay())
			assert.InDelta(t, 0, w.SNR, 1e-9)
			zeros++
		}
	}
	assert.GreaterOrEqual(t, zeros, 17)
	assert.Less(t, r.Sent.SegSNR, 35.0)
	for _, w := range r.Heard.Windows {
		if w.Got >= loud && w.Got+160 <= loud+1600 {
			assert.False(t, w.Active, "silence heard at %d", w.Got)
		}
	}
	assert.Greater(t, r.Heard.SegSNR, 34.0, "only the windows across the edges of the hole")
}

// TestFFT holds FFT to the textbook DFT on random complex signals.
func TestFFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 4, 8, 64, 256} {
		re, im := make([]float64, n), make([]float64, n)
		for i := range re {
			re[i], im[i] = rng.NormFloat64(), rng.NormFloat64()
		}
		wantRe, wantIm := make([]float64, n), make([]float64, n)
		for k := range n {
			for j := range n {
				s, c := math.Sincos(-2 * math.Pi * float64(j*k) / float64(n))
				wantRe[k] += re[j]*c - im[j]*s
				wantIm[k] += re[j]*s + im[j]*c
			}
		}
		FFT(re, im)
		assert.InDeltaSlice(t, wantRe, re, 1e-9, "n=%d real", n)
		assert.InDeltaSlice(t, wantIm, im, 1e-9, "n=%d imaginary", n)
	}
}

// TestPlayout maps windows to times by hand: only active, found windows
// count; a fast sender's clock is stretched back to real time.
func TestPlayout(t *testing.T) {
	r := Result{Heard: Direction{Windows: []Window{
		{Got: 8000, Ref: 4000, Active: true, Found: true},   // heard at 1 s + 1 s, sent at 0.5 s
		{Got: 16000, Ref: 4000, Active: false, Found: true}, // a pause: not counted
		{Got: 16000, Ref: 4000, Active: true, Found: false}, // not found: not counted
		{Got: 24000, Ref: 20000, Active: true, Found: true}, // heard at 4 s, sent at 2.5 s
	}}}
	p := r.Playout(8000, time.Second, 0, 100*time.Millisecond)
	assert.Equal(t, []time.Duration{2 * time.Second, 4 * time.Second}, p.At)
	assert.Equal(t, []time.Duration{1400 * time.Millisecond, 1400 * time.Millisecond}, p.Delay)
	assert.Equal(t, 1400*time.Millisecond, p.MeanBetween(0, 5*time.Second))
	assert.Equal(t, 1400*time.Millisecond, p.MeanBetween(3*time.Second, 5*time.Second))
	assert.Zero(t, p.MeanBetween(5*time.Second, 6*time.Second), "no window there")

	// 1 % fast: its 2.5 s of samples took 2.5/1.01 s of real time.
	fast := r.Playout(8000, time.Second, 0.01, 0)
	sent := 2500 * time.Millisecond
	assert.Equal(t, 4*time.Second-time.Duration(float64(sent)/1.01), fast.Delay[1])
}

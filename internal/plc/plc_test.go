package plc

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var rates = []int{8000, 16000}

// pulses returns n samples of a pulse with a decaying ring each period,
// like a glottal excitation through a resonance: periodic, not a pure
// tone. The ring decays over a time that doesn't depend on the rate.
func pulses(n, period, rate int) []int16 {
	out := make([]int16, n)
	s := float64(rate) / 8000
	for i := range out {
		ph := float64(i%period) / s
		out[i] = int16(8000 * math.Exp(-ph/8) * math.Cos(ph*0.9))
	}
	return out
}

func TestGeometry(t *testing.T) {
	nb, wb := New(8000).g, New(16000).g
	assert.Equal(t, geometry{
		pitchMin: 40, pitchMax: 120, corrLen: 160, decimShift: 1, histLen: 390,
		step: 80, fadeStart: 80, fadeLen: 400, fadeLenF: 400, silent: 480, joinStep: 32, refineSpan: 1,
	}, nb, "G.711 Appendix I's lengths at 8 kHz")
	assert.Equal(t, geometry{
		pitchMin: 80, pitchMax: 240, corrLen: 320, decimShift: 2, histLen: 780,
		step: 160, fadeStart: 160, fadeLen: 800, fadeLenF: 800, silent: 960, joinStep: 64, refineSpan: 2,
	}, wb, "the same milliseconds at 16 kHz, searched on the same 4 kHz view")
	assert.Panics(t, func() { New(48000) })
	assert.Panics(t, func() { New(0) })
}

func TestFindPitch(t *testing.T) {
	for _, rate := range rates {
		p := New(rate)
		g := &p.g
		s := rate / 8000
		for _, period := range []int{g.pitchMin, 47 * s, 73 * s, 100 * s, g.pitchMax} {
			var h [histMax]float32
			for i, v := range pulses(g.histLen, period, rate) {
				h[i] = float32(v)
			}
			assert.Equal(t, period, g.findPitch(h[:g.histLen]), "%d Hz, period %d", rate, period)
		}
		// An odd period at 16 kHz falls between the coarse search's lags.
		if rate == 16000 {
			var h [histMax]float32
			for i, v := range pulses(g.histLen, 147, rate) {
				h[i] = float32(v)
			}
			assert.InDelta(t, 147, g.findPitch(h[:g.histLen]), 1, "an odd period is found within a sample")
		}
		var silence [histMax]float32
		lag := g.findPitch(silence[:g.histLen])
		assert.True(t, lag >= g.pitchMin && lag <= g.pitchMax, "%d Hz: silence still yields a lag in range: %d", rate, lag)
	}
}

// TestConcealSchedule: a loss continues a periodic signal at full level
// for 10 ms, quieter after that, and silent from 60 ms; Level follows.
func TestConcealSchedule(t *testing.T) {
	for _, rate := range rates {
		p := New(rate)
		step := p.g.step
		period := 50 * rate / 8000
		in := pulses(4*step, period, rate)
		p.Received(in)
		assert.False(t, p.Lost())
		assert.Equal(t, float32(1), p.Level())
		out := make([]int16, 7*step)
		p.Conceal(out[:step])
		assert.True(t, p.Lost())
		assert.Equal(t, float32(1), p.Level(), "full level for 10 ms")
		// The repeat is the last period, so the first 10 ms continue the
		// signal nearly exactly (the step fade only touches its start).
		want := pulses(5*step, period, rate)[4*step:]
		assert.InDeltaSlice(t, toFloat(want[step/2:]), toFloat(out[step/2:step]), 2, "%d Hz: the first 10 ms continue the signal", rate)
		p.Conceal(out[step:])
		assert.Equal(t, float32(0), p.Level(), "silent from 60 ms")
		assert.Less(t, rms(out[5*step:6*step]), rms(out[:step])/2, "the level falls")
		assert.Equal(t, make([]int16, step), out[6*step:], "silence from 60 ms")
	}
}

func TestLevel(t *testing.T) {
	p := New(16000)
	p.Received(pulses(1000, 100, 16000))
	var buf [1]int16
	for lost := 1; lost <= 1200; lost++ {
		p.Conceal(buf[:])
		want := float32(1)
		if lost > 160 {
			want = max(0, 1-float32(lost-160)/800)
		}
		require.InDelta(t, want, p.Level(), 1e-6, "after %d lost samples", lost)
	}
}

// TestPieces: concealment in pieces of any length gives what one call
// gives, and history longer than the ring is recorded as its tail.
func TestPieces(t *testing.T) {
	for _, rate := range rates {
		a, b := New(rate), New(rate)
		in := pulses(3000, 61*rate/8000, rate)
		a.Received(in)
		for i := 0; i < len(in); i += 7 {
			b.Received(in[i:min(i+7, len(in))])
		}
		whole := make([]int16, 1001)
		a.Conceal(whole)
		var pieces []int16
		for _, n := range []int{1, 7, 320, 2, 671} {
			c := make([]int16, n)
			b.Conceal(c)
			pieces = append(pieces, c...)
		}
		assert.Equal(t, whole, pieces, "%d Hz", rate)
		x, y := pulses(200, 30, rate), pulses(200, 30, rate)
		a.Received(x)
		b.Received(y)
		assert.Equal(t, x, y, "%d Hz: the fades back into the signal agree", rate)
	}
}

// TestReceivedFadesIn: the samples ending a loss start near the
// concealment and end as decoded, without a step.
func TestReceivedFadesIn(t *testing.T) {
	for _, rate := range rates {
		p := New(rate)
		p.Received(pulses(2000, 90*rate/8000, rate))
		c := make([]int16, p.g.step)
		p.Conceal(c)
		in := make([]int16, p.g.step) // the talker went quiet
		p.Received(in)
		assert.False(t, p.Lost())
		assert.NotZero(t, in[0], "%d Hz: the first samples are still mostly concealment", rate)
		assert.Zero(t, in[len(in)-1], "%d Hz: the fade ends in the decoded signal", rate)
		for i := 1; i < len(in); i++ {
			require.LessOrEqual(t, math.Abs(float64(in[i])-float64(in[i-1])), 8000.0, "%d Hz: no click at %d", rate, i)
		}
	}
}

func TestReset(t *testing.T) {
	for _, rate := range rates {
		p := New(rate)
		p.Received(pulses(2000, 70, rate))
		p.Conceal(make([]int16, 10))
		p.Reset()
		assert.Equal(t, New(rate), p, "%d Hz: Reset keeps the rate and forgets the rest", rate)
		out := make([]int16, 500)
		p.Conceal(out)
		assert.Equal(t, make([]int16, 500), out, "a loss with no history is silence")
	}
}

func TestClamp16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want int16
	}{{0, 0}, {0.5, 1}, {-0.5, -1}, {1.4, 1}, {32766.6, 32767}, {40000, 32767}, {-40000, -32768}, {-32768.4, -32768}} {
		assert.Equal(t, c.want, clamp16(c.in), fmt.Sprint(c.in))
	}
}

func TestAllocs(t *testing.T) {
	p := New(16000)
	in := pulses(320, 100, 16000)
	out := make([]int16, 320)
	allocs := testing.AllocsPerRun(100, func() {
		p.Received(in)
		p.Conceal(out)
		p.Level()
	})
	assert.Zero(t, allocs)
}

func BenchmarkConceal(b *testing.B) {
	for _, rate := range rates {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			p := New(rate)
			frame := 20 * rate / 1000
			in := pulses(frame, 57*rate/8000, rate)
			buf := make([]int16, frame)
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, in)
				p.Received(buf)
				p.Conceal(buf)
			}
		})
	}
}

func toFloat(s []int16) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

func rms(s []int16) float64 {
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

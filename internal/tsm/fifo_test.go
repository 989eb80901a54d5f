package tsm

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	for _, rate := range rates {
		f, err := New(rate, Config{})
		require.NoError(t, err)
		assert.Equal(t, rate, f.Rate())
		assert.Equal(t, rate*180/1000, f.Cap(), "default Capacity 180 ms")
		assert.Equal(t, 0, f.Len())
		assert.Equal(t, f.Cap(), f.Available())
	}
	f, err := New(16000, Config{Capacity: 40 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 640, f.Cap())

	tests := []struct {
		name string
		rate int
		cfg  Config
		want error
	}{
		{"rate 44100", 44100, Config{}, errRate},
		{"rate 12000", 12000, Config{}, errRate},
		{"rate 0", 0, Config{}, errRate},
		{"rate negative", -8000, Config{}, errRate},
		{"capacity too small", 8000, Config{Capacity: 9 * time.Millisecond}, errConfig},
		{"capacity too large", 8000, Config{Capacity: 3 * time.Second}, errConfig},
		{"capacity negative", 8000, Config{Capacity: -time.Second}, errConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.rate, tt.cfg)
			assert.Nil(t, f)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

func TestQueue(t *testing.T) {
	f, err := New(8000, Config{Capacity: 20 * time.Millisecond}) // 160 samples
	require.NoError(t, err)
	ramp := make([]int16, 200)
	for i := range ramp {
		ramp[i] = int16(i + 1)
	}
	assert.Equal(t, 100, f.Write(ramp[:100]))
	assert.Equal(t, 60, f.Write(ramp[100:]), "Write stops at Cap")
	assert.Equal(t, 160, f.Len())
	assert.Equal(t, 0, f.Available())
	assert.Equal(t, 0, f.Write(ramp[:1]))

	got := make([]int16, 50)
	assert.Equal(t, 50, f.Read(got))
	assert.Equal(t, ramp[:50], got)
	assert.Equal(t, 10, f.Discard(10))
	assert.Equal(t, 0, f.Discard(-3))
	assert.Equal(t, 5, f.WriteZeros(5))
	assert.Equal(t, 0, f.WriteZeros(-1))

	// Drain in odd pieces, through several moves back to the front.
	var all []int16
	buf := make([]int16, 7)
	for f.Len() > 0 {
		n := f.Read(buf)
		all = append(all, buf[:n]...)
	}
	assert.Equal(t, append(append([]int16(nil), ramp[60:160]...), 0, 0, 0, 0, 0), all)
	assert.Equal(t, 0, f.Read(buf))
	assert.Equal(t, 0, f.Discard(5))

	// Many cycles of write and read keep the order across the array's
	// moves back to the front.
	next := int16(0)
	want := int16(0)
	for range 1000 {
		for range 3 {
			next++
			f.Write([]int16{next})
		}
		n := f.Read(buf[:3])
		for _, v := range buf[:n] {
			want++
			require.Equal(t, want, v)
		}
	}
}

func TestAvailableBuffer(t *testing.T) {
	f := newFIFO(t, 48000)
	pcm := sine(960, 48000, 300, 8000)
	for i := range 100 {
		dst := f.AvailableBuffer()
		require.Equal(t, 0, len(dst))
		require.Equal(t, f.Available(), cap(dst))
		dst = append(dst, pcm...) // a decoder writing in place
		require.Equal(t, 960, f.Write(dst))
		if i%2 == 0 {
			f.Read(make([]int16, 960))
		} else {
			f.Read(make([]int16, 1920))
		}
	}
	// A decoder that had to grow its buffer hands back another slice:
	// Write copies it.
	f.Reset()
	dst := f.AvailableBuffer()
	grown := append(make([]int16, 0, 2000), pcm...)
	_ = dst
	assert.Equal(t, 960, f.Write(grown))
	got := make([]int16, 960)
	f.Read(got)
	assert.Equal(t, pcm, got)
}

func TestReset(t *testing.T) {
	f := newFIFO(t, 16000)
	x := clip(t, "bob", 16000)[:16000]
	f.Write(x[:8000])
	f.Read(make([]int16, 4000))
	f.Shorten(320)
	st := f.Stats()
	f.Reset()
	assert.Equal(t, 0, f.Len())
	assert.Equal(t, 0, f.hist, "history forgotten")
	assert.Equal(t, st, f.Stats(), "stats kept")
	// A lengthening right after Reset has no history to repeat: it needs
	// the new stream's own audio.
	f.Write(x[8000:8160])
	assert.Equal(t, 160, f.Len())
	fresh := newFIFO(t, 16000)
	fresh.Write(x[8000:8160])
	assert.Equal(t, fresh.Lengthen(240), f.Lengthen(240), "after Reset the FIFO behaves as a new one")
}

// Silence and background noise are cut and repeated by whatever was asked,
// as far as the silent run allows: a change of r samples with its fade
// (2.5 ms, or r if shorter) must fit in the run, which for a lengthening
// may reach back into the history.
func TestSilentSplices(t *testing.T) {
	for _, rate := range rates {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			ms := rate / 1000
			fade := 5 * ms / 2
			f := newFIFO(t, rate)
			f.WriteZeros(60 * ms)
			f.Read(make([]int16, 30*ms)) // 30 ms history, 30 ms pending
			assert.Equal(t, 25*ms, f.Shorten(25*ms))
			assert.Equal(t, 5*ms, f.Len())
			assert.Equal(t, 25*ms, f.Lengthen(25*ms), "the run reaches 30 ms into the history")
			assert.Equal(t, 30*ms, f.Len())
			assert.Equal(t, 40*ms, f.Lengthen(40*ms))
			assert.Equal(t, 70*ms, f.Len())
			assert.Equal(t, 70*ms-fade, f.Shorten(100*ms), "all but the fade")
			assert.Equal(t, fade, f.Len())
			st := f.Stats()
			assert.Equal(t, uint64(4), st.SilentSplices)
			assert.Equal(t, uint64(0), st.PitchSplices)
			assert.Equal(t, uint64(95*ms-fade), st.Removed)
			assert.Equal(t, uint64(65*ms), st.Inserted)

			// Noise under the -60 dBFS line is silence from the start,
			// before any background estimate. Without history, a
			// lengthening is limited to the pending run.
			g := newFIFO(t, rate)
			g.Write(lcgNoise(40*ms, 20, 1)) // -69 dBFS
			assert.Equal(t, 30*ms, g.Shorten(30*ms))
			assert.Equal(t, 10*ms-fade, g.Lengthen(30*ms))
		})
	}
}

// lcgNoise returns n samples of uniform noise in [-amp, amp].
func lcgNoise(n, amp int, seed uint32) []int16 {
	s := make([]int16, n)
	for i := range s {
		seed = seed*1664525 + 1013904223
		s[i] = int16(int(seed>>16)%(2*amp+1) - amp)
	}
	return s
}

// Loud noise has no period and is not background: nothing is changed.
func TestNoiseDeclined(t *testing.T) {
	for _, rate := range rates {
		f := newFIFO(t, rate)
		noise := lcgNoise(3*rate, 10000, 7)
		fr := rate / 50
		out, edits := stream(t, f, noise, fr, func(i int, f *FIFO) int {
			if i%2 == 0 {
				return -f.Shorten(fr / 2)
			}
			return f.Lengthen(fr / 2)
		})
		assert.Empty(t, edits, "%d Hz", rate)
		assert.Equal(t, noise, out)
		assert.Equal(t, uint64(150), f.Stats().Declined)
	}
}

// Stationary background noise becomes the floor within 1.6 s, and is then
// cut freely; speech over it is not taken for background.
func TestBackgroundLearned(t *testing.T) {
	rate := 16000
	ms := rate / 1000
	noise := lcgNoise(3*rate, 500, 3) // -41 dBFS
	f := newFIFO(t, rate)
	// At first the floor is the -55 dBFS default: the noise is too loud to
	// be background, and has no period.
	f.Write(noise[:40*ms])
	assert.Equal(t, 0, f.Shorten(20*ms))
	f.Read(make([]int16, 40*ms))
	for i := 40 * ms; i < 2*rate; i += 20 * ms {
		f.Write(noise[i : i+20*ms])
		f.Read(make([]int16, 20*ms))
	}
	f.Write(noise[2*rate : 2*rate+40*ms])
	assert.Equal(t, 20*ms, f.Shorten(20*ms), "noise learned as background")
	assert.True(t, f.Stats().SilentSplices == 1)

	// Speech mixed over the same noise is not background.
	x := clip(t, "carol", rate)
	voiced := loudest(x, rate, 40*ms)
	mix := make([]int16, 40*ms)
	for i := range mix {
		mix[i] = int16(max(-32768, min(32767, int(voiced[i])+int(noise[i]))))
	}
	f.Read(make([]int16, f.Len()))
	f.Write(mix)
	f.Shorten(20 * ms)
	assert.Equal(t, uint64(1), f.Stats().SilentSplices, "speech not cut as silence: %+v", f.last)
}

// loudest returns the n-sample window of x with the most energy.
func loudest(x []int16, rate, n int) []int16 {
	best, bestE := 0, 0.0
	for s := 0; s+n <= len(x); s += rate / 100 {
		var e float64
		for _, v := range x[s : s+n] {
			e += float64(v) * float64(v)
		}
		if e > bestE {
			best, bestE = s, e
		}
	}
	return x[best : best+n]
}

// A click in silence is never cut, repeated or smeared: splices stay in
// the silence on either side of it.
func TestTransientKept(t *testing.T) {
	for _, rate := range rates {
		ms := rate / 1000
		x := make([]int16, 2*rate)
		for p := 97 * ms; p < len(x); p += 250 * ms {
			x[p], x[p+1], x[p+2] = 20000, -15000, 5000
		}
		f := newFIFO(t, rate)
		out, edits := stream(t, f, x, 20*ms, func(i int, f *FIFO) int {
			if i%3 == 0 {
				return -f.Shorten(15 * ms)
			}
			return f.Lengthen(10 * ms)
		})
		require.NotEmpty(t, edits)
		var clicks []int
		for i := 0; i+2 < len(out); i++ {
			if out[i] != 0 {
				require.Equal(t, []int16{20000, -15000, 5000}, out[i:i+3], "%d Hz: click intact at %d", rate, i)
				clicks = append(clicks, i)
				i += 2
			}
		}
		assert.Len(t, clicks, 8, "%d Hz: every click once", rate)
	}
}

// A tone that jumps by 22 dB in its last period is periodic, but a splice
// there would double or drop the first loud period: a stutter of the
// envelope. Both directions decline.
func TestOnsetDeclined(t *testing.T) {
	rate := 16000
	ms := rate / 1000
	x := make([]int16, 40*ms)
	for i := range x {
		amp := 1500.0
		if i >= 35*ms { // 7 periods of 200 Hz: a zero crossing
			amp = 20000
		}
		x[i] = int16(amp * sinAt(i, rate, 200))
	}
	f := newFIFO(t, rate)
	f.Write(x)
	f.Read(make([]int16, 20*ms))
	assert.Equal(t, 0, f.Shorten(10*ms))
	assert.Equal(t, 0, f.Lengthen(10*ms))
	assert.Equal(t, uint64(2), f.Stats().Declined)

	// The same tone without the jump is changed both ways.
	for i := range x {
		x[i] = int16(1500 * sinAt(i, rate, 200))
	}
	f.Reset()
	f.Write(x)
	f.Read(make([]int16, 20*ms))
	assert.Positive(t, f.Shorten(10*ms))
	assert.Positive(t, f.Lengthen(10*ms))
	assert.Equal(t, uint64(2), f.Stats().PitchSplices)
}

// Requests the FIFO cannot serve at all return 0 without counting a
// decline.
func TestEmptyRequests(t *testing.T) {
	f := newFIFO(t, 8000)
	assert.Equal(t, 0, f.Shorten(100), "nothing pending")
	assert.Equal(t, 0, f.Lengthen(0))
	assert.Equal(t, 0, f.Lengthen(-5))
	f.WriteZeros(f.Cap())
	assert.Equal(t, 0, f.Lengthen(100), "full")
	assert.Equal(t, uint64(0), f.Stats().Declined)
}

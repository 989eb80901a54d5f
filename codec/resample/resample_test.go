package resample

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name              string
		in, out, channels int
		want              error
	}{
		{"rate 44100", 44100, 48000, 1, errRate},
		{"rate 12000", 48000, 12000, 1, errRate},
		{"zero rate", 0, 8000, 1, errRate},
		{"negative rate", -8000, 8000, 1, errRate},
		{"no channels", 8000, 48000, 0, errChannels},
		{"three channels", 8000, 48000, 3, errChannels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.in, tc.out, tc.channels)
			assert.Nil(t, r)
			assert.True(t, errors.Is(err, tc.want), "got %v", err)
		})
	}
}

// speech returns a 48 kHz speech clip from testdata, or noise when it is
// missing, cut to n samples.
func speech(t testing.TB, n int) []int16 {
	f, err := os.Open("../../testdata/alice.wav")
	if err == nil {
		defer f.Close()
		a, err := wav.Read(f)
		require.NoError(t, err)
		if len(a.Samples) >= n {
			return a.Samples[:n]
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(rng.IntN(20000) - 10000)
	}
	return s
}

// oneShot resamples x in a single call.
func oneShot(t testing.TB, in, out, ch int, x []int16, generic bool) []int16 {
	r, err := New(in, out, ch)
	require.NoError(t, err)
	r.generic = generic
	return r.Process(nil, x)
}

// TestFramesEqualOneShot: frames of 20 ms, of random sizes (odd stereo
// splits included) and of one sample each give the same samples, bit for
// bit, as the whole input at once; and the generic kernels give the same
// as the AVX2 ones.
func TestFramesEqualOneShot(t *testing.T) {
	x := speech(t, 48000/5)
	for _, p := range append(allPairs(), pair{8000, 8000}) {
		for _, ch := range []int{1, 2} {
			name := p.String() + map[int]string{1: "-mono", 2: "-stereo"}[ch]
			t.Run(name, func(t *testing.T) {
				src := x[:len(x)*p.in/48000/ch*ch]
				want := oneShot(t, p.in, p.out, ch, src, false)
				assert.Equal(t, want, oneShot(t, p.in, p.out, ch, src, true), "generic kernels differ")
				frameLen := p.in / 50 * ch
				splits := map[string]func(int) int{
					"20ms":   func(int) int { return frameLen },
					"random": func(i int) int { return 1 + (i*7919)%(3*frameLen) },
				}
				if !testing.Short() && (p.in == 8000 || p.in == 48000) {
					splits["single"] = func(int) int { return 1 }
				}
				for sname, next := range splits {
					r, err := New(p.in, p.out, ch)
					require.NoError(t, err)
					var got, buf []int16
					rest := src
					for i := 0; len(rest) > 0; i++ {
						k := min(next(i), len(rest))
						n := r.OutLen(k)
						buf = r.Process(buf, rest[:k])
						require.Len(t, buf, n, "OutLen before call %d", i)
						if sname == "20ms" && k == frameLen {
							require.Equal(t, p.out/50*ch, len(buf), "a 20 ms frame must give a 20 ms frame")
						}
						got = append(got, buf...)
						rest = rest[k:]
					}
					assert.Equal(t, want, got, "split %s", sname)
				}
			})
		}
	}
}

// TestStereoChannelsIndependent: a stereo stream resamples each channel
// exactly as a mono stream would.
func TestStereoChannelsIndependent(t *testing.T) {
	x := speech(t, 9600)
	left, right := x[:4800], x[4800:]
	st := make([]int16, 0, 9600)
	for i := range left {
		st = append(st, left[i], right[i])
	}
	for _, p := range []pair{{8000, 48000}, {48000, 8000}, {16000, 24000}} {
		got := oneShot(t, p.in, p.out, 2, st, false)
		l := oneShot(t, p.in, p.out, 1, left, false)
		r := oneShot(t, p.in, p.out, 1, right, false)
		require.Len(t, got, 2*len(l))
		for i := range l {
			if got[2*i] != l[i] || got[2*i+1] != r[i] {
				t.Fatalf("%v: frame %d is %d,%d, mono gives %d,%d", p, i, got[2*i], got[2*i+1], l[i], r[i])
			}
		}
	}
}

// TestDelay: the response to an impulse is symmetric about Delay(), so a
// signal comes out shifted by exactly that many output samples.
func TestDelay(t *testing.T) {
	for _, p := range allPairs() {
		t.Run(p.String(), func(t *testing.T) {
			r, err := New(p.in, p.out, 1)
			require.NoError(t, err)
			x := make([]int16, p.in/10)
			x[0] = 30000
			y := r.Process(nil, x)
			d := r.Delay()
			require.Less(t, int(d)+1, len(y)/2)
			var num, den float64
			for i, v := range y {
				num += float64(i) * float64(v)
				den += float64(v)
			}
			assert.InDelta(t, d, num/den, 0.02, "centroid of the impulse response")
			// Symmetric taps about d: y[d-k] == y[d+k] to rounding.
			for k := 0.0; k < 20; k++ {
				a, b := d-k, d+k
				if a != math.Trunc(a) {
					break // half-sample delay: samples straddle the centre
				}
				assert.InDelta(t, y[int(a)], y[int(b)], 1, "k=%v", k)
			}
		})
	}
}

// TestFrameJoins: a sine resampled frame by frame has no click at the
// joins: the output's largest step is no larger than a clean sine's.
func TestFrameJoins(t *testing.T) {
	for _, p := range []pair{{8000, 48000}, {48000, 8000}, {16000, 48000}, {48000, 16000}, {24000, 32000}} {
		f := float64(min(p.in, p.out)) / 5
		x := sine(p.in/2, p.in, f, 20000, 0)
		y, r := resampleFrames(t, p, x)
		y = y[int(r.Delay())+p.out/100 : len(y)-p.out/100]
		maxStep := 0.0
		for i := 1; i < len(y); i++ {
			maxStep = math.Max(maxStep, math.Abs(float64(y[i])-float64(y[i-1])))
		}
		ideal := 20000 * 2 * math.Sin(math.Pi*f/float64(p.out))
		assert.LessOrEqual(t, maxStep, ideal*1.01+2, "%v: largest sample step", p)
	}
}

// TestIdentity copies, and holds a stereo half frame like the others.
func TestIdentity(t *testing.T) {
	r, err := New(16000, 16000, 2)
	require.NoError(t, err)
	assert.Equal(t, 0.0, r.Delay())
	assert.Equal(t, []int16{1, 2}, r.Process(nil, []int16{1, 2, 3}))
	assert.Equal(t, 4, r.OutLen(3))
	assert.Equal(t, []int16{3, 4, 5, 6}, r.Process(nil, []int16{4, 5, 6}))
}

func TestReset(t *testing.T) {
	x := speech(t, 1600)
	r, err := New(8000, 48000, 2)
	require.NoError(t, err)
	first := r.Process(nil, x)
	r.Process(nil, x[:161]) // leaves history and a pending half frame
	r.Reset()
	assert.Equal(t, first, r.Process(nil, x))
}

func TestAccessors(t *testing.T) {
	r, err := New(8000, 48000, 2)
	require.NoError(t, err)
	assert.Equal(t, 8000, r.InRate())
	assert.Equal(t, 48000, r.OutRate())
	assert.Equal(t, 2, r.Channels())
	assert.Equal(t, 0, r.OutLen(0))
	assert.Equal(t, 0, r.OutLen(-5))
	assert.Equal(t, 1920, r.OutLen(320))
}

// TestProcessAllocs: with a dst of enough capacity Process allocates
// nothing, on every pair, mono and stereo.
func TestProcessAllocs(t *testing.T) {
	for _, p := range allPairs() {
		for _, ch := range []int{1, 2} {
			r, err := New(p.in, p.out, ch)
			require.NoError(t, err)
			src := speech(t, p.in/50*ch)
			dst := make([]int16, 0, p.out/50*ch)
			allocs := testing.AllocsPerRun(50, func() { dst = r.Process(dst, src) })
			assert.Zero(t, allocs, "%v ch=%d", p, ch)
			assert.Len(t, dst, p.out/50*ch)
		}
	}
}

// TestKernelsMatch compares the AVX2 conversions with the generic ones on
// the edge values (rounding ties, saturation) and random data.
func TestKernelsMatch(t *testing.T) {
	f := []float32{0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 32766.5, 32767.49, 32767.5, 40000, -32768.5, -32769, -50000, 0, -0, 1e-3}
	rng := rand.New(rand.NewPCG(3, 4))
	for len(f) < 1000 {
		f = append(f, float32(rng.NormFloat64()*20000))
	}
	for n := 0; n <= len(f); n += 37 {
		a, b := make([]int16, n), make([]int16, n)
		f32ToS16(false, a, f[:n])
		f32ToS16(true, b, f[:n])
		require.Equal(t, b, a, "n=%d", n)
		fa, fb := make([]float32, n), make([]float32, n)
		s16ToF32(false, fa, a)
		s16ToF32(true, fb, a)
		require.Equal(t, fb, fa, "n=%d", n)
	}
}

// TestGeneralKernelMatches: the general AVX2 kernel computes the same
// samples as the specialised ones it stands in for.
func TestGeneralKernelMatches(t *testing.T) {
	x := speech(t, 9600)
	for _, p := range allPairs() {
		src := x[:len(x)*p.in/48000]
		r, err := New(p.in, p.out, 1)
		require.NoError(t, err)
		g, err := New(p.in, p.out, 1)
		require.NoError(t, err)
		for _, st := range g.stages {
			st.kind = kindGeneral
		}
		assert.Equal(t, r.Process(nil, src), g.Process(nil, src), "%v", p)
	}
}

func TestCopyStateFromContinuesStream(t *testing.T) {
	for _, rates := range [][2]int{{48000, 8000}, {8000, 48000}, {16000, 48000}, {48000, 24000}} {
		src := make([]int16, rates[0]/50*10)
		for i := range src {
			src[i] = int16(8000 * math.Sin(float64(i)*0.05))
		}
		a, err := New(rates[0], rates[1], 1)
		require.NoError(t, err)
		b, err := New(rates[0], rates[1], 1)
		require.NoError(t, err)
		half := len(src) / 2
		a.Process(nil, src[:half])
		b.Process(nil, make([]int16, 333)) // unrelated history, to be overwritten
		require.NoError(t, b.CopyStateFrom(a))
		assert.Equal(t, a.Process(nil, src[half:]), b.Process(nil, src[half:]), "%v", rates)
		allocs := testing.AllocsPerRun(10, func() { _ = b.CopyStateFrom(a) })
		assert.Zero(t, allocs)
	}
	a, _ := New(48000, 8000, 1)
	b, _ := New(48000, 16000, 1)
	assert.Error(t, b.CopyStateFrom(a))
}

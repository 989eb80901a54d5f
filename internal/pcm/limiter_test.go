package pcm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewLimiterConfig(t *testing.T) {
	tests := []struct {
		name  string
		cfg   LimiterConfig
		ok    bool
		block int
	}{
		{"defaults", LimiterConfig{}, true, 48},
		{"8 kHz", LimiterConfig{SampleRate: 8000}, true, 8},
		{"2 ms at 16 kHz", LimiterConfig{SampleRate: 16000, Attack: 2 * time.Millisecond}, true, 32},
		{"tiny attack is one sample", LimiterConfig{Attack: time.Nanosecond}, true, 1},
		{"threshold 1", LimiterConfig{Threshold: 1}, true, 48},
		{"threshold 32766", LimiterConfig{Threshold: 32766}, true, 48},
		{"threshold 32767 would hide clipping", LimiterConfig{Threshold: 32767}, false, 0},
		{"negative threshold", LimiterConfig{Threshold: -5}, false, 0},
		{"rate too low", LimiterConfig{SampleRate: 4000}, false, 0},
		{"rate too high", LimiterConfig{SampleRate: 384000}, false, 0},
		{"negative rate", LimiterConfig{SampleRate: -48000}, false, 0},
		{"attack too long", LimiterConfig{Attack: 11 * time.Millisecond}, false, 0},
		{"negative attack", LimiterConfig{Attack: -time.Millisecond}, false, 0},
		{"release too long", LimiterConfig{Release: 6 * time.Second}, false, 0},
		{"negative release", LimiterConfig{Release: -time.Second}, false, 0},
		{"no hold", LimiterConfig{Hold: -1}, true, 48},
		{"hold too long", LimiterConfig{Hold: 2 * time.Second}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLimiter(tt.cfg)
			if !tt.ok {
				assert.True(t, errors.Is(err, errLimiterConfig), "err = %v", err)
				assert.Nil(t, l)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.block, l.block)
			assert.Equal(t, Unity, l.Envelope())
			assert.Zero(t, l.Reduction())
		})
	}
}

func TestLimiterZeroValue(t *testing.T) {
	var l Limiter
	assert.Equal(t, Unity, l.Envelope())
	assert.Zero(t, l.Reduction())
	acc := make([]int32, 960)
	acc[500] = 40000
	dst := make([]int16, 960)
	l.Process(dst, acc, nil, Unity)
	assert.Equal(t, int16(DefaultThreshold), dst[500], "zero value limits at the default threshold")
	assert.Equal(t, 48, l.block)
	l.Reset()
	assert.Equal(t, Unity, l.Envelope())
}

// TestLimiterUnityBitExact: at unity with no overload, Process is SubSaturate
// (or Saturate without own), on random data across frame sizes and offsets.
func TestLimiterUnityBitExact(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(1, 2))}
	forEachLevel(func(level string) {
		var l Limiter
		for _, n := range testLengths {
			for off := range 4 {
				acc, own := make([]int32, n+off), make([]int16, n+off)
				for i := range acc {
					own[i] = g.s16()
					acc[i] = int32(own[i]) + int32(g.intn(2*DefaultThreshold+1)) - DefaultThreshold
				}
				acc, own = acc[off:], own[off:]
				got, want := make([]int16, n), make([]int16, n)
				l.Process(got, acc, own, Unity)
				SubSaturate(want, acc, own)
				require.Equal(t, want, got, "%s n=%d off=%d", level, n, off)
				require.Equal(t, Unity, l.Envelope())

				for i := range acc {
					acc[i] -= int32(own[i])
				}
				l.Process(got, acc, nil, Unity)
				Saturate(want, acc)
				require.Equal(t, want, got, "%s n=%d off=%d without own", level, n, off)
			}
		}
	})
}

// fiveSines returns n samples of the sum of five full-scale sines at
// unrelated frequencies, peaking near 5 × full scale.
func fiveSines(n, rate int) []int32 {
	acc := make([]int32, n)
	for k, f := range []float64{211, 307, 401, 503, 601} {
		for i := range acc {
			acc[i] += int32(math.Round(32767 * math.Sin(2*math.Pi*f*float64(i)/float64(rate)+float64(k))))
		}
	}
	return acc
}

// limiterRun feeds acc − own through l in frames of frame samples and
// returns the output.
func limiterRun(l *Limiter, acc []int32, own []int16, frame int, gain int32) []int16 {
	out := make([]int16, len(acc))
	for s := 0; s < len(acc); s += frame {
		e := min(s+frame, len(acc))
		var o []int16
		if own != nil {
			o = own[s:e]
		}
		l.Process(out[s:e], acc[s:e], o, gain)
	}
	return out
}

func TestLimiterFiveSines(t *testing.T) {
	for _, tc := range []struct {
		rate, frame int
		withOwn     bool
	}{
		{48000, 960, false}, {48000, 960, true}, {48000, 480, false},
		{16000, 320, true}, {8000, 160, false}, {48000, 2880, true}, {48000, 957, false},
	} {
		forEachLevel(func(level string) {
			t.Run(fmt.Sprintf("%s/%dHz/frame%d/own=%v", level, tc.rate, tc.frame, tc.withOwn), func(t *testing.T) {
				l, err := NewLimiter(LimiterConfig{SampleRate: tc.rate})
				require.NoError(t, err)
				n := tc.rate // one second
				acc := fiveSines(n, tc.rate)
				var own []int16
				x := acc // what the limiter sees
				if tc.withOwn {
					// own is a speaker in the sum; the output is the other four
					own = sine(n, 32767, 199, float64(tc.rate))
					x = make([]int32, n)
					for i := range x {
						acc[i] += int32(own[i])
						x[i] = acc[i] - int32(own[i])
					}
				}
				out := limiterRun(l, acc, own, tc.frame, Unity)
				assert.Greater(t, l.Reduction(), 6.0, "several dB of reduction while loud")
				assert.Less(t, l.Envelope(), Unity/2)

				// Never wraps: the output has the sign of the input.
				for i, y := range out {
					if y != 0 && (y > 0) != (x[i] > 0) {
						t.Fatalf("sample %d: input %d, output %d: sign flipped", i, x[i], y)
					}
				}
				// Above the threshold only in the first quarter attack of a
				// frame (the documented shortest ramp); never a run at the
				// rails longer than that.
				run, longest, over, worst := 0, 0, 0, int32(0)
				for i, y := range out {
					if y == math.MaxInt16 || y == math.MinInt16 {
						run++
						longest = max(longest, run)
					} else {
						run = 0
					}
					if a := abs16(y); a > DefaultThreshold+1 {
						require.Less(t, i%tc.frame, l.minRamp, "sample %d = %d above threshold outside a frame's first quarter attack", i, y)
						over++
						worst = max(worst, a)
					}
				}
				assert.LessOrEqual(t, longest, l.minRamp, "rails run longer than a quarter attack")
				t.Logf("%d of %d samples above the threshold, worst %d; final reduction %.1f dB", over, n, worst, l.Reduction())
				// Frame joins add no step larger than the signal's own.
				inner, join := 0, 0
				for i := 1; i < n; i++ {
					d := abs32(int32(out[i]) - int32(out[i-1]))
					if i%tc.frame == 0 {
						join = max(join, int(d))
					} else if i > tc.frame {
						inner = max(inner, int(d))
					}
				}
				assert.LessOrEqual(t, join, inner+inner/10, "step at a frame join vs largest step inside frames")

				// Release: quiet input brings the gain back to exactly unity,
				// slowly (still reduced after one frame), and then the
				// output is bit-exact SubSaturate again.
				quiet := make([]int32, tc.frame)
				for i := range quiet {
					quiet[i] = x[i] / 100
				}
				dst := make([]int16, tc.frame)
				l.Process(dst, quiet, nil, Unity)
				assert.Greater(t, l.Reduction(), 0.5, "release is not instant")
				for range 2 * tc.rate / tc.frame {
					l.Process(dst, quiet, nil, Unity)
				}
				assert.Equal(t, Unity, l.Envelope(), "recovered to unity")
				assert.Zero(t, l.Reduction())
				want := make([]int16, tc.frame)
				Saturate(want, quiet)
				l.Process(dst, quiet, nil, Unity)
				assert.Equal(t, want, dst)
			})
		})
	}
}

func abs16(v int16) int32 { return abs32(int32(v)) }

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// TestLimiterReleaseTime: after a burst, recovery follows the stated time
// constant: 1 - e^-1 of the reduction (in gain) is undone after one Release.
func TestLimiterReleaseTime(t *testing.T) {
	l, err := NewLimiter(LimiterConfig{Release: 100 * time.Millisecond, Hold: -1})
	require.NoError(t, err)
	loud := fiveSines(960, 48000)
	dst := make([]int16, 960)
	for range 5 {
		l.Process(dst, loud, nil, Unity)
	}
	g0 := float64(l.Envelope()) / float64(Unity)
	silence := make([]int32, 960)
	for range 5 { // 100 ms
		l.Process(dst, silence, nil, Unity)
	}
	g1 := float64(l.Envelope()) / float64(Unity)
	assert.InDelta(t, math.Exp(-1), (1-g1)/(1-g0), 0.01)
}

// TestLimiterHold: after the last block that needed reduction, the gain
// stays put for the hold time, then releases; mute frames count as time.
func TestLimiterHold(t *testing.T) {
	for _, mute := range []bool{false, true} {
		t.Run(fmt.Sprintf("mute=%v", mute), func(t *testing.T) {
			l, err := NewLimiter(LimiterConfig{Hold: 30 * time.Millisecond})
			require.NoError(t, err)
			loud := make([]int32, 960)
			for i := range loud {
				loud[i] = 5 * 32767 * int32(1-2*(i/24%2)) // square, same peak in every block
			}
			dst := make([]int16, 960)
			for range 3 {
				l.Process(dst, loud, nil, Unity)
			}
			held := l.Envelope()
			require.Less(t, held, Unity/4)
			silence := make([]int32, 960)
			gain := Unity
			if mute {
				gain = 0
			}
			l.Process(dst, silence, nil, gain) // 20 ms: within the hold
			assert.Equal(t, held, l.Envelope(), "held")
			l.Process(dst, silence, nil, gain) // 40 ms: 10 ms of release
			assert.Greater(t, l.Envelope(), held, "releasing")
			assert.InDelta(t, 1-math.Exp(-10.0/80), float64(l.Envelope()-held)/float64(Unity-held), 0.01)
		})
	}
}

// TestLimiterOutputGain: the output gain applies before limiting, and mute
// gives silence while the envelope keeps releasing.
func TestLimiterOutputGain(t *testing.T) {
	var l Limiter
	acc := make([]int32, 960)
	for i := range acc {
		acc[i] = int32(8000 * math.Sin(float64(i)/10))
	}
	dst := make([]int16, 960)
	l.Process(dst, acc, nil, 2*Unity) // 16000 peak: below threshold
	for i := range acc {
		require.InDelta(t, 2*float64(acc[i]), float64(dst[i]), 0.5)
	}
	assert.Equal(t, Unity, l.Envelope())
	l.Process(dst, acc, nil, 8*Unity) // 64000 peak: limited
	assert.Less(t, l.Envelope(), Unity/2)
	for i := 48; i < len(dst); i++ {
		require.LessOrEqual(t, abs16(dst[i]), int32(DefaultThreshold+1))
	}
	l.Process(dst, acc, nil, 0)
	assert.Equal(t, make([]int16, 960), dst)
	assert.Less(t, l.Envelope(), Unity)
}

// TestLimiterFastMatchesReference runs two limiters through the same random
// program of frames, gains and overloads, one on the fast kernels and one on
// the reference kernels; outputs and envelopes must be identical.
func TestLimiterFastMatchesReference(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(3, 4))}
	forEachLevel(func(level string) {
		for _, cfg := range limiterTestConfigs {
			fast, err := NewLimiter(cfg)
			require.NoError(t, err)
			ref := *fast
			ref.ref = true
			for frame := range 200 {
				n := testLengths[g.intn(len(testLengths))]
				got, want := checkLimiterFrame(g, fast, &ref, n)
				require.Equal(t, want, got, "%s %+v frame %d n=%d", level, cfg, frame, n)
				require.Equal(t, ref.env, fast.env, "%s %+v frame %d envelope", level, cfg, frame)
			}
		}
	})
}

// limiterTestConfigs give block sizes of 48 (AVX2 batches), 72 and 8 (SSE2
// batches only), 44 and 5 (per-block fallback), and 1440 (longer than most
// test frames, so a frame is one partial block).
var limiterTestConfigs = []LimiterConfig{
	{},
	{Attack: 1500 * time.Microsecond},
	{SampleRate: 8000, Hold: -1},
	{SampleRate: 44100},
	{SampleRate: 16000, Attack: 300 * time.Microsecond, Release: time.Millisecond},
	{Attack: 10 * time.Millisecond, SampleRate: 144000},
}

// checkLimiterFrame draws one frame (level from silence to 20 speakers, any
// gain, own or not) and runs it through both limiters.
func checkLimiterFrame(g *gen, fast, ref *Limiter, n int) (got, want []int16) {
	acc, own := make([]int32, n), make([]int16, n)
	scale := []int32{0, 1, 100, 1000, 20000}[g.intn(5)]
	for i := range acc {
		own[i] = g.s16()
		acc[i] = int32(own[i])
		switch scale {
		case 20000:
			acc[i] = g.s32()
		case 0:
		default:
			acc[i] += int32(g.s16()) * scale / 1000
		}
	}
	if g.intn(3) == 0 {
		own = nil
	}
	k := []int32{Unity, Unity, g.gain(), 0}[g.intn(4)]
	got, want = make([]int16, n), make([]int16, n)
	fast.Process(got, acc, own, k)
	ref.Process(want, acc, own, k)
	return got, want
}

// TestLimiterSpeech limits the four speech clips talking at once at unity
// gain (their sum peaks near 36 000): the output never sits at the rails
// longer than the attack, and the gain recovers to exactly unity between
// phrases.
func TestLimiterSpeech(t *testing.T) {
	var clips [][]int16
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		a, err := wav.ReadFile("../../testdata/" + name + ".wav")
		require.NoError(t, err)
		require.Equal(t, 48000, a.SampleRate)
		clips = append(clips, a.Samples)
	}
	n := len(clips[0])
	for _, c := range clips {
		n = min(n, len(c))
	}
	n -= n % 960
	acc := make([]int32, n)
	for _, c := range clips {
		Add(acc, c[:n])
	}
	var l Limiter
	out := make([]int16, n)
	maxRed, unityFrames := 0.0, 0
	for s := 0; s < n; s += 960 {
		l.Process(out[s:s+960], acc[s:s+960], nil, Unity)
		maxRed = max(maxRed, l.Reduction())
		if l.Envelope() == Unity {
			unityFrames++
		}
	}
	t.Logf("%d frames, max reduction %.1f dB, %d frames at unity", n/960, maxRed, unityFrames)
	assert.Greater(t, maxRed, 1.0)
	assert.Greater(t, unityFrames, n/960/4)
	run, longest := 0, 0
	for _, y := range out {
		if y == math.MaxInt16 || y == math.MinInt16 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	assert.LessOrEqual(t, longest, 48)
}

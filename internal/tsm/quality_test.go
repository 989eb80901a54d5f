package tsm

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var clips = []string{"alice", "bob", "carol", "dave"}

// voicedClip returns the 1 s of a clip with the most voiced audio, at rate.
func voicedClip(t testing.TB, name string, rate int) []int16 {
	s := int(voicedSecond(t, name) * float64(rate))
	return clip(t, name, rate)[s : s+rate]
}

// A 440 Hz tone, shortened and lengthened by up to 10 ms on every 20 ms
// frame, stays a clean tone: every request is served by a whole number of
// periods, no sample step exceeds the tone's own by more than 1 %, and no
// 5 ms window leaves more than -25 dB unexplained by a 440 Hz sinusoid
// (THD+N per window). Hard cuts, for comparison, leave -11 dB.
func TestToneSplices(t *testing.T) {
	for _, rate := range rates {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			x := sine(rate*6/10, rate, 440, 16000)
			f := newFIFO(t, rate)
			period := float64(rate) / 440
			out, edits := stream(t, f, x, rate/50, func(i int, f *FIFO) int {
				if i < 2 {
					return 0
				}
				var c int
				if i%2 == 0 {
					c = -f.Shorten(rate / 100)
				} else {
					c = f.Lengthen(rate / 100)
				}
				require.NotZero(t, c, "frame %d declined", i)
				require.True(t, f.last.voiced)
				k := math.Round(float64(f.last.shift) / period)
				require.InDelta(t, k*period, float64(f.last.shift), 0.5, "a whole number of periods")
				return c
			})
			assert.Len(t, edits, 28)
			assert.LessOrEqual(t, float64(maxStep(out)), 1.01*float64(maxStep(x)))
			res := toneResidualDB(out, rate, 440)
			assert.Less(t, res, -25.0)
			cut, _ := hardCuts(x, rate*7/1000, rate/25)
			ctl := toneResidualDB(cut, rate, 440)
			assert.Greater(t, ctl, -15.0, "the measure sees a hard cut")
			t.Logf("step %d → %d; worst 5 ms THD+N %.1f dB (original %.1f, hard cuts %.1f)",
				maxStep(x), maxStep(out), res, toneResidualDB(x, rate, 440), ctl)
		})
	}
}

// One change of a voiced segment of each talker is exactly one pitch
// period (or two, for a high voice and a long request), as an independent
// pitch estimate measures it, and the output around the splice has no
// sample step larger than the audio it came from.
func TestVoicedPeriod(t *testing.T) {
	for _, name := range clips {
		// The most periodic 30 ms of the clip's most voiced second, found
		// at 16 kHz, after 30 ms of history.
		x16 := voicedClip(t, name, 16000)
		best, bestC := 0, -1.0
		for s := 960; s+480 <= len(x16); s += 80 {
			if p, ok := pitch(x16, s, 480, 16000); ok {
				if c := nccAt(x16, s, 480, int(math.Round(p))); c > bestC {
					best, bestC = s, c
				}
			}
		}
		require.Positive(t, bestC)
		for _, rate := range qualityRates() {
			for _, o := range []op{shorten, lengthen} {
				ms := rate / 1000
				x := voicedClip(t, name, rate)
				s := best * ms / 16
				period, ok := pitch(x, s, 30*ms, rate)
				require.True(t, ok)
				f := newFIFO(t, rate)
				f.Write(x[s-30*ms : s+30*ms])
				f.Read(make([]int16, 30*ms))
				src := append([]int16(nil), x[s-30*ms:s+30*ms]...)
				var c int
				if o == shorten {
					c = f.Shorten(15 * ms)
				} else {
					c = f.Lengthen(15 * ms)
				}
				name := name + "/" + strconv.Itoa(rate) + []string{"/shorten", "/lengthen"}[o]
				require.Positive(t, c, name)
				require.True(t, f.last.voiced, name)
				k := math.Round(float64(c) / period)
				assert.InDelta(t, k*period, float64(c), 0.03*k*period, "%s: change %d, period %.1f", name, c, period)
				got := f.buf[f.start-f.hist : f.end]
				assert.LessOrEqual(t, maxStep(got), maxStep(src), name)
			}
		}
	}
}

// qualityRates are the rates the speech quality tests run at: the
// narrowband, wideband and fullband ends (the tone test covers every
// rate); only wideband under -short or -race.
func qualityRates() []int {
	if testing.Short() || raceEnabled {
		return []int{16000}
	}
	return []int{8000, 16000, 48000}
}

func nccAt(x []int16, s, n, lag int) float64 {
	var c, e0, e1 float64
	for i := s; i < s+n; i++ {
		a, b := float64(x[i]), float64(x[i-lag])
		c += a * b
		e0 += a * a
		e1 += b * b
	}
	return c / math.Sqrt(e0*e1+1)
}

// Talkspurts of every talker (4 s of each clip; 1.5 s with -short or
// -race), clean and over -49 dBFS of background noise, alternately
// shortened and lengthened by up to 15 ms on every 20 ms frame (far more
// change than a jitter buffer asks for): no 10 ms window of the output is
// further than 10 dB (log-spectral distance) from some window of the
// original near where it came from, where the same number of hard cuts is
// 15 dB or more away (12 dB in noise, which fills the spectrum a click
// would); and no sample step exceeds the original's largest. Pauses are
// used: over noise too, once the background is learned.
func TestSpeechSplices(t *testing.T) {
	for _, name := range clips {
		for _, rate := range qualityRates() {
			for _, noisy := range []bool{false, true} {
				label := name + "/" + strconv.Itoa(rate) + map[bool]string{false: "/clean", true: "/noisy"}[noisy]
				t.Run(label, func(t *testing.T) {
					x := clip(t, name, rate)
					x = append([]int16(nil), x[:min(len(x), 4*rate)]...)
					if testing.Short() || raceEnabled {
						x = x[:3*rate/2]
					}
					if noisy {
						for i, v := range lcgNoise(len(x), 200, uint32(rate)) {
							x[i] = int16(max(-32768, min(32767, int(x[i])+int(v))))
						}
					}
					f := newFIFO(t, rate)
					req := rate * 15 / 1000
					out, edits := stream(t, f, x, rate/50, func(i int, f *FIFO) int {
						if i%2 == 0 {
							return -f.Shorten(req)
						}
						return f.Lengthen(req)
					})
					st := f.Stats()
					assert.Greater(t, st.PitchSplices, uint64(10*len(x)/rate), "pitch splices at least 10 a second")
					assert.Greater(t, st.SilentSplices, uint64(3*len(x)/rate), "silent splices at least 3 a second")
					so := newSpectrogram(x, rate, rate/4000)
					d := worstMismatchSpec(so, out, rate, edits)
					assert.Less(t, d, 10.0)
					cut, cuts := hardCuts(x, rate*7/1000, rate/25)
					ctl := worstMismatchSpec(so, cut, rate, cuts)
					assert.Greater(t, ctl, map[bool]float64{false: 15, true: 12}[noisy], "the measure sees hard cuts")
					assert.LessOrEqual(t, maxStep(out), maxStep(x))
					t.Logf("%+v; worst spectral distance %.1f dB (hard cuts %.1f)", st, d, ctl)
				})
			}
		}
	}
}

// A second of voiced speech accelerated to about 900 ms keeps its pitch:
// every 10 ms, the F0 of a 40 ms window of the output is compared with the
// F0 of the original where that window came from. The median ratio is
// within 2 % of 1 and nine windows in ten within 5 %; playing the second
// 11 % faster (resampling) puts the median ratio 8 % or more above 1.
func TestPitchKept(t *testing.T) {
	for _, name := range clips {
		for _, rate := range qualityRates() {
			x := voicedClip(t, name, rate)
			target := rate / 10
			removed := 0
			f := newFIFO(t, rate)
			out, edits := stream(t, f, x, rate/50, func(i int, f *FIFO) int {
				r := f.Shorten(min(rate*15/1000, target-removed))
				removed += r
				return -r
			})
			ms := float64(len(out)) * 1000 / float64(rate)
			assert.InDelta(t, 900, ms, 20, "%s/%d: %.1f ms", name, rate, ms)
			ratios := f0Ratios(x, out, rate, func(p int) int { return origPos(edits, p) })
			factor := float64(len(x)) / float64(len(out))
			fast := f0Ratios(x, speedUp(x, factor), rate, func(p int) int { return int(float64(p) * factor) })
			require.Greater(t, len(ratios), 20, "%s/%d: voiced windows", name, rate)
			med, within := ratios[len(ratios)/2], 0
			for _, r := range ratios {
				if math.Abs(r-1) <= 0.05 {
					within++
				}
			}
			assert.InDelta(t, 1, med, 0.02, "%s/%d", name, rate)
			assert.GreaterOrEqual(t, float64(within), 0.9*float64(len(ratios)), "%s/%d", name, rate)
			assert.Greater(t, fast[len(fast)/2], 1.08, "%s/%d: the measure sees a resampled speed-up", name, rate)
			t.Logf("%s/%d: %d → %d samples (%.1f ms); F0 ratio median %.3f, %d/%d windows within 5%%; resampled: median %.3f",
				name, rate, len(x), len(out), ms, med, within, len(ratios), fast[len(fast)/2])
		}
	}
}

// origPos maps an output sample position to the input one, by the edits.
func origPos(edits []edit, p int) int {
	shift := 0
	for _, e := range edits {
		if e.pos > p {
			break
		}
		shift += e.delta
	}
	return p - shift
}

// f0Ratios returns, sorted, the ratio of the F0 of each 40 ms window of
// out (every 10 ms) to that of the window of orig it maps to, over the
// windows voiced in both.
func f0Ratios(orig, out []int16, rate int, toOrig func(int) int) []float64 {
	var r []float64
	w := rate / 25
	for s := rate / 50; s+w <= len(out); s += rate / 100 {
		po, ok := pitch(out, s, w, rate)
		if !ok {
			continue
		}
		pi, ok := pitch(orig, toOrig(s), w, rate)
		if !ok {
			continue
		}
		r = append(r, pi/po)
	}
	sort.Float64s(r)
	return r
}

// The jitter buffer's use: for a second, every frame asks for ±5–10 ms at
// random, with 20 ms and 10 ms ticks. The output has no click: no window
// further than 10 dB from the original, no step beyond its largest.
func TestSmallAdjustments(t *testing.T) {
	for _, name := range clips {
		for _, rate := range qualityRates() {
			for _, tick := range []int{20, 10} {
				x := voicedClip(t, name, rate)
				rng := rand.New(rand.NewPCG(uint64(rate), uint64(tick)))
				f := newFIFO(t, rate)
				ms := rate / 1000
				asked := 0
				out, edits := stream(t, f, x, tick*ms, func(i int, f *FIFO) int {
					n := (5 + rng.IntN(6)) * ms
					asked += n
					if rng.IntN(2) == 0 {
						return -f.Shorten(n)
					}
					return f.Lengthen(n)
				})
				changed := 0
				for _, e := range edits {
					changed += abs(e.delta)
				}
				d := worstMismatch(x, out, rate, edits)
				assert.Less(t, d, 10.0, "%s/%d/%d ms", name, rate, tick)
				assert.LessOrEqual(t, maxStep(out), maxStep(x))
				t.Logf("%s/%d Hz/%d ms ticks: %d changes, %.0f%% of the asked time; worst spectral distance %.1f dB",
					name, rate, tick, len(edits), 100*float64(changed)/float64(asked), d)
			}
		}
	}
}

// Whatever is asked, on whatever audio, in frames of any size, the
// FIFO's length moves by exactly the reported changes (stream checks it
// after every call), changes never exceed the request, and the stats add
// up.
func TestDurationExact(t *testing.T) {
	for _, rate := range rates {
		rng := rand.New(rand.NewPCG(uint64(rate), 1))
		x := clip(t, "bob", rate)
		for i := range x[len(x)/2 : len(x)/2+rate] {
			x[len(x)/2+i] = 0 // a second of digital silence
		}
		f := newFIFO(t, rate)
		fr := 1 + rng.IntN(rate/16)
		net := 0
		_, edits := stream(t, f, x, fr, func(i int, f *FIFO) int {
			n := rng.IntN(rate / 40)
			var c int
			switch rng.IntN(3) {
			case 0:
				c = -f.Shorten(n)
			case 1:
				c = f.Lengthen(n)
			}
			require.LessOrEqual(t, abs(c), n)
			net += c
			return c
		})
		st := f.Stats()
		assert.Equal(t, net, int(st.Inserted)-int(st.Removed))
		assert.Equal(t, uint64(len(edits)), st.PitchSplices+st.SilentSplices)
		assert.Positive(t, st.PitchSplices)
		assert.Positive(t, st.SilentSplices)
	}
}

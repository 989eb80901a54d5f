package dtmf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// burst returns 60 ms of silence, the tone, and 60 ms of silence at rate,
// the tone starting skew samples late.
func burst(rate int, skew int, t toneSpec) []int16 {
	x := pause(nil, rate, 0.06)
	x = append(x, make([]float64, skew)...)
	x = synth(x, rate, t)
	x = pause(x, rate, 0.06)
	return toPCM(x)
}

// TestQ24 holds the acceptance figures of ITU-T Q.24 (with the Bellcore
// LSSGR values Q.24 lists for North America where they are stricter) and
// checks each at its edge. The package doc carries the same table.
func TestQ24(t *testing.T) {
	digitsAll := []Event{1, 2, 3, EventA, 4, 5, 6, EventB, 7, 8, 9, EventC, EventStar, 0, EventPound, EventD}
	type tc struct {
		name   string
		spec   toneSpec
		accept bool
	}
	var cases []tc
	// Frequency tolerance: each of the eight frequencies, both ways.
	for _, ev := range []Event{1, 5, 9, EventD} { // one digit per row and per column
		for _, df := range []float64{0.015, -0.015, 0.035, -0.035} {
			ok := math.Abs(df) < 0.02
			cases = append(cases,
				tc{fmt.Sprintf("row %v %+.1f%%", ev, df*100), toneSpec{ev: ev, dfLo: df, levLo: -10, levHi: -10, duration: 0.1}, ok},
				tc{fmt.Sprintf("column %v %+.1f%%", ev, df*100), toneSpec{ev: ev, dfHi: df, levLo: -10, levHi: -10, duration: 0.1}, ok})
		}
		// Both off at once, the same way and opposite ways.
		cases = append(cases,
			tc{fmt.Sprintf("both %v +1.5%%", ev), toneSpec{ev: ev, dfLo: 0.015, dfHi: 0.015, levLo: -10, levHi: -10, duration: 0.1}, true},
			tc{fmt.Sprintf("both %v ±1.5%%", ev), toneSpec{ev: ev, dfLo: -0.015, dfHi: 0.015, levLo: -10, levHi: -10, duration: 0.1}, true})
	}
	// Twist: column tone up to 4 dB stronger (reverse) or 8 dB weaker
	// (normal) accepted, also with the tones 1.5 % off; well beyond, rejected.
	for _, c := range []struct {
		lo, hi float64
		df     float64
		ok     bool
	}{
		{-14, -10, 0, true}, {-10, -18, 0, true}, {-14, -10, 0.015, true}, {-10, -18, -0.015, true},
		{-20, -10, 0, false}, {-6, -20, 0, false},
	} {
		cases = append(cases, tc{fmt.Sprintf("twist %+.0f dB off %+.1f%%", c.hi-c.lo, c.df*100),
			toneSpec{ev: 8, dfLo: c.df, dfHi: c.df, levLo: c.lo, levHi: c.hi, duration: 0.1}, c.ok})
	}
	// Level: -25 dBm0 per tone (Q.24's lower bound, with twist) up to
	// -3 dBm0 per tone (both together at the 16-bit full scale) accepted;
	// -40 dBm0 rejected.
	cases = append(cases,
		tc{"level -3 dBm0", toneSpec{ev: 0, levLo: -3, levHi: -3, duration: 0.1}, true},
		tc{"level -25 dBm0", toneSpec{ev: 0, levLo: -25, levHi: -25, duration: 0.1}, true},
		tc{"level -25/-29 dBm0 1.5% off", toneSpec{ev: 0, dfLo: 0.015, dfHi: -0.015, levLo: -25, levHi: -29, duration: 0.1}, true},
		tc{"level -40 dBm0", toneSpec{ev: 0, levLo: -40, levHi: -40, duration: 0.1}, false},
		tc{"level -40 dBm0 row only", toneSpec{ev: 0, levLo: -10, levHi: -40, duration: 0.1}, false},
	)
	// Every digit.
	for _, ev := range digitsAll {
		cases = append(cases, tc{"digit " + ev.String(), toneSpec{ev: ev, levLo: -10, levHi: -10, duration: 0.05}, true})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := detect(t, 8000, burst(8000, 0, c.spec))
			if c.accept {
				require.Len(t, got, 2, "%v", got)
				assert.Equal(t, c.spec.ev, got[0].Event)
				assert.Equal(t, c.spec.ev, got[1].Event)
				assert.True(t, got[1].Ended)
			} else {
				assert.Empty(t, got)
			}
		})
	}
}

// TestQ24Duration: 40 ms is accepted and 25 ms rejected at every
// alignment of the tone to the detector's 5 ms hops; between them the
// outcome depends on the alignment (about 29-33 ms).
func TestQ24Duration(t *testing.T) {
	for skew := 0; skew < hop; skew += 3 {
		for _, c := range []struct {
			d  float64
			ok bool
		}{{0.040, true}, {0.045, true}, {0.025, false}, {0.020, false}, {0.010, false}} {
			got := detect(t, 8000, burst(8000, skew, toneSpec{ev: 6, levLo: -12, levHi: -14, duration: c.d}))
			if c.ok {
				if assert.Len(t, got, 2, "%v ms at skew %d", c.d*1000, skew) {
					// The reported duration is within 5 ms of the tone's.
					assert.InDelta(t, c.d, got[1].Duration.Seconds(), 0.0051, "skew %d", skew)
				}
			} else {
				assert.Empty(t, got, "%v ms at skew %d", c.d*1000, skew)
			}
		}
	}
}

// TestQ24Pause: a pause of 40 ms between digits is recognized (also
// between two of the same digit), a drop-out of 10 ms within one is
// bridged.
func TestQ24Pause(t *testing.T) {
	const seq = "1234567890*#ABCD"
	x := pause(nil, 8000, 0.05)
	for _, r := range seq {
		ev, _ := ParseDigit(r)
		x = synth(x, 8000, toneSpec{ev: ev, levLo: -8, levHi: -10, duration: 0.04})
		x = pause(x, 8000, 0.04)
	}
	assert.Equal(t, seq, digits(detect(t, 8000, toPCM(x))), "40 ms on, 40 ms off")

	x = pause(nil, 8000, 0.05)
	for range 5 {
		x = synth(x, 8000, toneSpec{ev: 5, levLo: -8, levHi: -10, duration: 0.045})
		x = pause(x, 8000, 0.04)
	}
	assert.Equal(t, "55555", digits(detect(t, 8000, toPCM(x))), "same digit, 40 ms pauses")

	for skew := 0; skew < hop; skew += 4 {
		x = pause(nil, 8000, 0.05)
		x = append(x, make([]float64, skew)...)
		x = synth(x, 8000, toneSpec{ev: 9, levLo: -8, levHi: -10, duration: 0.06})
		x = pause(x, 8000, 0.010)
		x = synth(x, 8000, toneSpec{ev: 9, levLo: -8, levHi: -10, duration: 0.06})
		x = pause(x, 8000, 0.05)
		got := detect(t, 8000, toPCM(x))
		if assert.Len(t, got, 2, "10 ms drop-out at skew %d: %v", skew, got) {
			assert.InDelta(t, 0.130, got[1].Duration.Seconds(), 0.0051)
		}
	}
}

// TestNoise: digits in white noise. At 15 dB SNR and better (the tones'
// power over the noise's, over the whole 4 kHz band) every digit is
// found; below, some may be missed, but no digit is ever invented or
// confused; noise alone never makes a digit.
func TestNoise(t *testing.T) {
	const seq = "159D*0#8"
	rng := rand.New(rand.NewPCG(1, 2))
	for _, snr := range []float64{30, 20, 15, 10, 5, 0, -5} {
		for trial := range 4 {
			x := pause(nil, 8000, 0.05)
			for _, r := range seq {
				ev, _ := ParseDigit(r)
				x = synth(x, 8000, toneSpec{ev: ev, levLo: -12, levHi: -14, duration: 0.06})
				x = pause(x, 8000, 0.06)
			}
			// Tone power: -12 and -14 dBm0 together are -9.9 dBm0.
			addNoise(x, -9.9-snr, rng)
			got := digits(detect(t, 8000, toPCM(x)))
			if snr >= 15 {
				assert.Equal(t, seq, got, "SNR %v dB trial %d", snr, trial)
			} else {
				assert.True(t, isSubsequence(got, seq), "SNR %v dB trial %d: %q is not part of %q", snr, trial, got, seq)
			}
			t.Logf("SNR %3.0f dB: %q", snr, got)
		}
	}
	for _, lev := range []float64{-40, -20, -10, 0} {
		x := make([]float64, 8000*5)
		addNoise(x, lev, rng)
		assert.Empty(t, detect(t, 8000, toPCM(x)), "noise at %v dBm0", lev)
	}
}

func isSubsequence(s, of string) bool {
	for _, r := range s {
		i := strings.IndexRune(of, r)
		if i < 0 {
			return false
		}
		of = of[i+1:]
	}
	return true
}

// TestRates: the same sequence at 8, 16 and 48 kHz, in frames of 10, 20
// and 30 ms and in odd-sized pieces, gives the same digits and timing.
func TestRates(t *testing.T) {
	const seq = "47#B"
	for _, rate := range []int{8000, 16000, 48000} {
		x := pause(nil, rate, 0.05)
		for _, r := range seq {
			ev, _ := ParseDigit(r)
			x = synth(x, rate, toneSpec{ev: ev, dfLo: 0.01, dfHi: -0.01, levLo: -10, levHi: -13, duration: 0.07})
			x = pause(x, rate, 0.05)
		}
		pcm := toPCM(x)
		for _, frame := range []int{rate / 100, rate / 50, rate * 3 / 100, 7, 1001} {
			d, err := NewDetector(DetectorConfig{SampleRate: rate})
			require.NoError(t, err)
			got := runDetector(d, pcm, frame)
			require.Equal(t, seq, digits(got), "%d Hz frames of %d", rate, frame)
			for _, g := range got {
				if g.Ended {
					assert.InDelta(t, 0.070, g.Duration.Seconds(), 0.0051, "%d Hz frames of %d: %v", rate, frame, g)
				}
			}
			// The first digit starts 50 ms in (plus the resampler's delay).
			assert.InDelta(t, 0.05, float64(got[0].Start)/float64(rate), 0.007, "%d Hz", rate)
		}
	}
}

// TestTalkOff runs every speech clip in testdata through the detector at
// 8, 16 and 48 kHz, clean, louder, quieter and with noise, and counts the
// digits it invents: there must be none.
func TestTalkOff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	total := 0
	for _, name := range []string{"alice.wav", "bob.wav", "carol.wav", "dave.wav"} {
		false_ := 0
		for _, rate := range []int{8000, 16000, 48000} {
			pcm := clip(t, name, rate)
			for _, gain := range []float64{1, 0.25, 0.05} {
				x := make([]float64, len(pcm))
				for i, v := range pcm {
					x[i] = float64(v) * gain
				}
				n := len(detect(t, rate, toPCM(x)))
				addNoise(x, -45, rng)
				n += len(detect(t, rate, toPCM(x)))
				false_ += n
			}
		}
		// The same speech with every frequency scaled (its 16 kHz version
		// played as 8 kHz, its 8 kHz version as 16 kHz, its 16 kHz version
		// as 48 kHz and slightly detuned ones): pitch and formants land on
		// many more places, DTMF frequencies among them.
		for _, v := range []struct{ from, as int }{{16000, 8000}, {8000, 16000}, {16000, 48000}} {
			pcm := clip(t, name, v.from)
			n := len(detect(t, v.as, pcm))
			false_ += n
			if n > 0 {
				t.Logf("%s at %d Hz played as %d Hz: %v", name, v.from, v.as, detect(t, v.as, pcm))
			}
		}
		t.Logf("talk-off %s: %d false digits", name, false_)
		d, _ := NewDetector(DetectorConfig{})
		runDetector(d, clip(t, name, 8000), 160)
		t.Logf("talk-off %s: %d windows passed every test (a digit needs %d in a row)", name, d.shown, minWindows)
		assert.Zero(t, false_, name)
		total += false_
	}
	t.Logf("talk-off: %d false digits in all clips", total)
}

// TestMusicLike: single tones (DTMF frequencies included), chords,
// harmonic-rich notes, sweeps and three-tone mixes that contain a DTMF
// pair but are dominated by a third tone never make a digit.
func TestMusicLike(t *testing.T) {
	const rate = 8000
	gen := func(sec float64, f func(t float64) float64) []int16 {
		x := make([]float64, int(sec*rate))
		for i := range x {
			x[i] = f(float64(i) / rate)
		}
		return toPCM(x)
	}
	a := amp(-10)
	sine := func(f float64) func(float64) float64 {
		return func(t float64) float64 { return math.Sin(2 * math.Pi * f * t) }
	}
	var cases = map[string][]int16{}
	for _, f := range allFreqs {
		cases[fmt.Sprintf("sine %v Hz", f)] = gen(0.5, func(t float64) float64 { return a * sine(f)(t) })
	}
	// A major triads and a few intervals that land near DTMF pairs.
	for _, ch := range [][]float64{{440, 554.37, 659.25}, {698.46, 880, 1046.5}, {783.99, 987.77, 1174.66}, {698.46, 1396.91}, {932.33, 1244.51, 1567.98}} {
		cases[fmt.Sprintf("chord %v", ch)] = gen(0.5, func(t float64) float64 {
			var s float64
			for _, f := range ch {
				s += sine(f)(t)
			}
			return a * s / float64(len(ch))
		})
	}
	// Sawtooth and square notes: every harmonic present.
	for _, f0 := range []float64{110, 174.6, 220, 233.1, 349.2} {
		cases[fmt.Sprintf("sawtooth %v Hz", f0)] = gen(0.5, func(t float64) float64 {
			var s float64
			for k := 1; float64(k)*f0 < 3800; k++ {
				s += sine(float64(k)*f0)(t) / float64(k)
			}
			return a * s / 2
		})
	}
	cases["sweep 300-3400 Hz"] = gen(3, func(t float64) float64 {
		return a * math.Sin(2*math.Pi*(300*t+(3100/6.0)*t*t))
	})
	// A DTMF pair under a third tone as strong as both together.
	cases["pair + 1000 Hz"] = gen(0.5, func(t float64) float64 {
		return a * (0.5*sine(852)(t) + 0.5*sine(1336)(t) + 1.0*sine(1000)(t))
	})
	for name, pcm := range cases {
		assert.Empty(t, detect(t, rate, pcm), name)
	}
}

func TestDetectorConfig(t *testing.T) {
	for _, rate := range []int{11025, 44100, 24000, -1} {
		_, err := NewDetector(DetectorConfig{SampleRate: rate})
		assert.Error(t, err, "%d", rate)
	}
	d, err := NewDetector(DetectorConfig{})
	require.NoError(t, err)
	assert.Equal(t, 8000, d.SampleRate())
	// A stricter MinLevel rejects what the default accepts.
	pcm := burst(8000, 0, toneSpec{ev: 3, levLo: -28, levHi: -28, duration: 0.1})
	assert.Len(t, runDetector(d, pcm, 160), 2)
	d, err = NewDetector(DetectorConfig{MinLevel: -20})
	require.NoError(t, err)
	assert.Empty(t, runDetector(d, pcm, 160))
}

func TestDetectorResetMidDigit(t *testing.T) {
	d, err := NewDetector(DetectorConfig{})
	require.NoError(t, err)
	pcm := burst(8000, 0, toneSpec{ev: EventA, levLo: -10, levHi: -10, duration: 0.3})
	d.Process(pcm[:8000*0.06+8000*0.1])
	ev, on := d.Active()
	require.True(t, on)
	assert.Equal(t, EventA, ev)
	d.Reset()
	var got []Digit
	for g, ok := d.Next(); ok; g, ok = d.Next() {
		got = append(got, g)
	}
	require.Len(t, got, 2)
	assert.Equal(t, CauseReset, got[1].Cause)
	assert.Equal(t, time.Duration(0), d.Position())
	_, on = d.Active()
	assert.False(t, on)
}

// TestG711: what a G.711 phone's tones become after μ-law and A-law
// coding, at the quietest accepted level (where quantization noise is
// worst) and loud, with the Q.24 frequency and twist edges.
func TestG711(t *testing.T) {
	const seq = "0123456789*#ABCD"
	for _, lev := range []float64{-25, -6} {
		x := pause(nil, 8000, 0.05)
		for i, r := range seq {
			ev, _ := ParseDigit(r)
			df := []float64{0.015, -0.015, 0}[i%3]
			x = synth(x, 8000, toneSpec{ev: ev, dfLo: df, dfHi: -df, levLo: lev, levHi: lev - []float64{0, 4, -4}[i%3], duration: 0.045})
			x = pause(x, 8000, 0.045)
		}
		pcm := toPCM(x)
		for _, law := range []struct {
			name string
			enc  func([]byte, []int16) []byte
			dec  func([]int16, []byte) []int16
		}{{"PCMU", g711.EncodeUlaw, g711.DecodeUlaw}, {"PCMA", g711.EncodeAlaw, g711.DecodeAlaw}} {
			coded := law.dec(nil, law.enc(nil, pcm))
			assert.Equal(t, seq, digits(detect(t, 8000, coded)), "%s at %v dBm0", law.name, lev)
		}
	}
}

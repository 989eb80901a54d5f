package pcm

import "math"

// Q16 gains.
const (
	// Unity is a gain of 1.0 (0 dB).
	Unity int32 = 1 << 16
	// MaxGain is the largest gain any kernel applies: ×16, +24.08 dB.
	// Larger gains are clamped to it and negative gains to 0.
	MaxGain int32 = 16 << 16
)

// clampGain keeps every gain in the range the kernels are built for: the
// SIMD code splits a gain into a 5-bit integer part and a 16-bit fraction.
func clampGain(g int32) int32 {
	return min(max(g, 0), MaxGain)
}

// GainFromDB converts decibels to a Q16 gain, rounded to nearest and clamped
// to [0, MaxGain]; -Inf and NaN give 0 (mute).
func GainFromDB(db float64) int32 {
	if math.IsNaN(db) {
		return 0
	}
	g := math.Round(float64(Unity) * math.Pow(10, db/20))
	if g >= float64(MaxGain) {
		return MaxGain
	}
	return int32(g)
}

// Add adds src to the accumulator: acc[i] += src[i], for i < min(len(acc),
// len(src)).
func Add(acc []int32, src []int16) {
	n := min(len(acc), len(src))
	if n == 0 {
		return
	}
	add(acc[:n], src[:n])
}

// AddGain adds src scaled by a Q16 gain: acc[i] += (src[i]*gain + 2^15) >> 16
// (rounded half up), for i < min(len(acc), len(src)). gain is clamped to
// [0, MaxGain]; Unity gives exactly Add, 0 adds nothing.
func AddGain(acc []int32, src []int16, gain int32) {
	n := min(len(acc), len(src))
	if n == 0 {
		return
	}
	switch gain = clampGain(gain); gain {
	case 0:
	case Unity:
		add(acc[:n], src[:n])
	default:
		addGain(acc[:n], src[:n], gain)
	}
}

// rampStep returns the Q26 per-sample step of a ramp that starts at g0 on
// the first of n samples and would reach g1 on the last; both gains clamped.
// Truncation toward zero keeps every intermediate gain between g0 and g1.
func rampStep(g0, g1 int32, n int) int32 {
	return ((g1 - g0) << 10) / int32(min(n-1, math.MaxInt32))
}

// AddRamp adds src with a gain that moves linearly from g0 on the first
// sample to exactly g1 on the last, so that the next frame can continue at
// g1 without a step: acc[i] += (src[i]*g(i) + 2^15) >> 16. Sample i < n-1
// uses g(i) = (g0·2^10 + i·step) >> 10 with step = ((g1-g0)·2^10)/(n-1)
// truncated, which is the exact linear gain to within n/1024 Q16 units
// (3 units, 0.005 % of unity, over a 60 ms frame at 48 kHz); the last
// sample uses g1. With one sample, g1 is used. Both gains are clamped to
// [0, MaxGain]; n = min(len(acc), len(src)).
func AddRamp(acc []int32, src []int16, g0, g1 int32) {
	n := min(len(acc), len(src))
	if n == 0 {
		return
	}
	g0, g1 = clampGain(g0), clampGain(g1)
	if g0 == g1 || n == 1 {
		AddGain(acc[:n], src[:n], g1)
		return
	}
	addRamp(acc[:n-1], src[:n-1], g0<<10, rampStep(g0, g1, n))
	acc[n-1] += mulQ16(src[n-1], g1)
}

// Gain writes src scaled by a Q16 gain into dst, saturating to int16:
// dst[i] = clamp((src[i]*gain + 2^15) >> 16), for i < min(len(dst),
// len(src)). gain is clamped to [0, MaxGain]. dst may be src.
func Gain(dst, src []int16, gain int32) {
	n := min(len(dst), len(src))
	if n == 0 {
		return
	}
	switch gain = clampGain(gain); gain {
	case 0:
		clear(dst[:n])
	case Unity:
		copy(dst[:n], src[:n])
	default:
		gain16(dst[:n], src[:n], gain)
	}
}

// GainRamp is Gain with the linear ramp of AddRamp: dst[i] =
// clamp((src[i]*g(i) + 2^15) >> 16), g(0) = g0, g(n-1) = g1. Writing a
// speaker's contribution with GainRamp and then adding it with Add gives the
// mixer the exact int16 "own" signal that SubSaturate and Limiter.Process
// subtract, so a speaker's mix-minus has no residue of its own voice.
// dst may be src.
func GainRamp(dst, src []int16, g0, g1 int32) {
	n := min(len(dst), len(src))
	if n == 0 {
		return
	}
	g0, g1 = clampGain(g0), clampGain(g1)
	if g0 == g1 || n == 1 {
		Gain(dst[:n], src[:n], g1)
		return
	}
	gainRamp(dst[:n-1], src[:n-1], g0<<10, rampStep(g0, g1, n))
	dst[n-1] = sat16(int64(mulQ16(src[n-1], g1)))
}

// Saturate converts the accumulator to int16, clamping to [-32768, 32767]:
// dst[i] = clamp(acc[i]), for i < min(len(dst), len(acc)).
func Saturate(dst []int16, acc []int32) {
	n := min(len(dst), len(acc))
	if n == 0 {
		return
	}
	saturate(dst[:n], acc[:n])
}

// SubSaturate writes one listener's mix-minus: dst[i] = clamp(acc[i] -
// own[i]), computed without int32 wraparound for every input, for i <
// min(len(dst), len(acc), len(own)). own is the listener's own contribution
// to acc (see GainRamp); a nil own is Saturate.
func SubSaturate(dst []int16, acc []int32, own []int16) {
	if own == nil {
		Saturate(dst, acc)
		return
	}
	n := min(len(dst), len(acc), len(own))
	if n == 0 {
		return
	}
	subSaturate(dst[:n], acc[:n], own[:n])
}

// SubInto writes dst[i] = acc[i] - own[i] saturated to the int32 range, for
// i < min(len(dst), len(acc), len(own)). It is there for a mix-minus that
// stays in int32 (own contributions kept at full precision); it has no
// assembly version because nothing in a tick runs it per output. dst may be
// acc or own.
func SubInto(dst, acc, own []int32) {
	n := min(len(dst), len(acc), len(own))
	if n == 0 {
		return
	}
	subIntoGeneric(dst[:n], acc[:n], own[:n])
}

// Zero32 clears the accumulator. It is the built-in clear, which the Go
// runtime already does with wide stores; it is here so a tick reads as a
// list of pcm calls.
func Zero32(acc []int32) {
	clear(acc)
}

// PeakAbs16 returns max |src[i]|, in [0, 32768]; 0 for an empty slice.
func PeakAbs16(src []int16) int32 {
	return peakAbs16(src)
}

// PeakAbs32 returns max |src[i]|, saturated to math.MaxInt32 (the only
// value that needs it is math.MinInt32); 0 for an empty slice.
func PeakAbs32(src []int32) int32 {
	return int32(min(peakAbs32(src), math.MaxInt32))
}

// Energy returns the sum of squares of src, exact: a uint64 cannot overflow
// below 2^34 samples.
func Energy(src []int16) uint64 {
	return energy(src)
}

// LevelDBov returns the RFC 6464 audio level of src: the RMS level in -dBov,
// rounded to the nearest integer and limited to 0..127, where 127 also marks
// digital silence (an all-zero or empty frame).
//
// The overload point, 0 dBov, is a full-scale square wave: RMS 32768 (int16
// full scale, 2^15). So a ±32767 square wave is 0, a full-scale sine is 3
// (−3.01 dBov), a square wave at one tenth of full scale is 20, and a single
// ±1 sample in a 20 ms 48 kHz frame is 120.
func LevelDBov(src []int16) int {
	return DBov(Energy(src), len(src))
}

// fullScaleEnergy is the mean square of the 0 dBov square wave, 2^30.
const fullScaleEnergy = float64(1 << 30)

// DBov is LevelDBov for an energy already computed with Energy over n
// samples, so a caller that needs both the energy and the level reads the
// samples once. n ≤ 0 or energy 0 give 127.
func DBov(energy uint64, n int) int {
	if energy == 0 || n <= 0 {
		return 127
	}
	mean := float64(energy) / float64(n)
	l := math.Round(-10 * math.Log10(mean/fullScaleEnergy))
	return int(min(max(l, 0), 127))
}

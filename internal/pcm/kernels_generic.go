package pcm

import "math"

// The functions in this file are the reference implementations. The fast
// paths in kernels_amd64.s must produce bit-identical results; the tests and
// FuzzKernels compare them on random data. Internal kernels take slices whose
// lengths the exported wrappers have already trimmed to n, and gains already
// clamped to [0, MaxGain].

func addGeneric(acc []int32, src []int16) {
	src = src[:len(acc)] // bounds check hint: src is at least as long
	for i, s := range src {
		acc[i] += int32(s)
	}
}

// mulQ16 is the one rounding rule for integer gains: round half up.
// With g ≤ MaxGain the product needs 36 bits, hence int64.
func mulQ16(s int16, g int32) int32 {
	return int32((int64(s)*int64(g) + 1<<15) >> 16)
}

func addGainGeneric(acc []int32, src []int16, g int32) {
	src = src[:len(acc)] // bounds check hint
	for i, s := range src {
		acc[i] += mulQ16(s, g)
	}
}

// Ramps carry the gain in Q26 (Q16 plus 10 fraction bits) so that a ramp
// over a few thousand samples ends within a few Q16 units of its target; the
// wrapper then applies the exact end gain to the last sample. gq and every
// gq+i*step lie between the two clamped end gains (≤ 2^30), so int32 holds
// them; the SIMD code steps the same values by addition.
func rampQ16(gq, step int32, i int) int32 {
	return (gq + int32(i)*step) >> 10
}

func addRampGeneric(acc []int32, src []int16, gq, step int32) {
	src = src[:len(acc)] // bounds check hint
	for i, s := range src {
		acc[i] += mulQ16(s, rampQ16(gq, step, i))
	}
}

func sat16(v int64) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

func gainGeneric(dst, src []int16, g int32) {
	src = src[:len(dst)] // bounds check hint
	for i, s := range src {
		dst[i] = sat16(int64(mulQ16(s, g)))
	}
}

func gainRampGeneric(dst, src []int16, gq, step int32) {
	src = src[:len(dst)] // bounds check hint
	for i, s := range src {
		dst[i] = sat16(int64(mulQ16(s, rampQ16(gq, step, i))))
	}
}

func saturateGeneric(dst []int16, acc []int32) {
	acc = acc[:len(dst)] // bounds check hint
	for i, v := range acc {
		dst[i] = sat16(int64(v))
	}
}

func subSaturateGeneric(dst []int16, acc []int32, own []int16) {
	acc = acc[:len(dst)] // bounds check hint
	own = own[:len(dst)]
	for i, v := range acc {
		dst[i] = sat16(int64(v) - int64(own[i]))
	}
}

// subIntoGeneric saturates to int32 rather than wrapping, so that a
// mix-minus never changes sign however extreme its inputs are.
func subIntoGeneric(dst, acc, own []int32) {
	acc = acc[:len(dst)] // bounds check hint
	own = own[:len(dst)]
	for i, v := range acc {
		d := int64(v) - int64(own[i])
		switch {
		case d > math.MaxInt32:
			d = math.MaxInt32
		case d < math.MinInt32:
			d = math.MinInt32
		}
		dst[i] = int32(d)
	}
}

func peakAbs16Generic(src []int16) int32 {
	var m int32
	for _, s := range src {
		v := int32(s)
		if v < 0 {
			v = -v
		}
		m = max(m, v)
	}
	return m
}

// peakAbs32Generic returns |x| as uint32 so that |MinInt32| = 2^31 is
// representable; the exported wrapper saturates it to MaxInt32.
func peakAbs32Generic(src []int32) uint32 {
	var m uint32
	for _, s := range src {
		sign := s >> 31
		m = max(m, uint32(s^sign)-uint32(sign))
	}
	return m
}

func energyGeneric(src []int16) uint64 {
	var e uint64
	for _, s := range src {
		e += uint64(int32(s) * int32(s))
	}
	return e
}

// The limiter's gain stage works in float32: the envelope gain times the
// output gain times an int32 sample needs more than 32 bits in fixed point,
// SSE2 has no 32×32→64 signed multiply, and float32 keeps 24 bits, more than
// the ±32768 output needs. Each operation below is one IEEE float32 operation,
// exactly as the SIMD code performs it: explicit float32() conversions forbid
// fused multiply-add, int→float conversion rounds to nearest even in both,
// and the final rounding is to nearest even (CVTPS2DQ under Go's default
// MXCSR). Clamping happens before rounding so the conversion never overflows.

// diffF is float32(acc) - float32(own): no int32 subtraction, so no wrap.
func diffF(acc []int32, own []int16, i int) float32 {
	if own == nil {
		return float32(acc[i])
	}
	return float32(acc[i]) - float32(own[i])
}

// peakFGeneric returns max |float32(acc[i]) - float32(own[i])|; own may be
// nil, meaning zero.
func peakFGeneric(acc []int32, own []int16) float32 {
	var m float32
	if own != nil {
		own = own[:len(acc)] // bounds check hint
	}
	for i := range acc {
		x := diffF(acc, own, i)
		if x < 0 {
			x = -x
		}
		if x > m {
			m = x
		}
	}
	return m
}

// applyFGeneric writes dst[i] = round(clamp(x_i * (g0 + (k0+i)*step))) where
// x_i = diffF(acc, own, i) and own may be nil. k0 lets the amd64 dispatcher
// hand the tail after the SIMD part back to this function.
func applyFGeneric(dst []int16, acc []int32, own []int16, g0, step float32, k0 int) {
	acc = acc[:len(dst)] // bounds check hint
	if own != nil {
		own = own[:len(dst)]
	}
	for i := range dst {
		g := g0 + float32(float32(k0+i)*step)
		y := float32(diffF(acc, own, i) * g)
		if y > math.MaxInt16 {
			y = math.MaxInt16
		}
		if y < math.MinInt16 {
			y = math.MinInt16
		}
		dst[i] = int16(math.RoundToEven(float64(y)))
	}
}

// blockPeaksFGeneric writes the peakFGeneric of each of len(out)
// consecutive blocks of block samples.
func blockPeaksFGeneric(out []float32, acc []int32, own []int16, block int) {
	for j := range out {
		s := j * block
		var o []int16
		if own != nil {
			o = own[s : s+block]
		}
		out[j] = peakFGeneric(acc[s:s+block], o)
	}
}

// applyBlocksFGeneric runs applyFGeneric over len(g0s) consecutive blocks of
// block samples, block j with start gain g0s[j] and step steps[j].
func applyBlocksFGeneric(dst []int16, acc []int32, own []int16, block int, g0s, steps []float32) {
	for j := range g0s {
		s := j * block
		var o []int16
		if own != nil {
			o = own[s : s+block]
		}
		applyFGeneric(dst[s:s+block], acc[s:s+block], o, g0s[j], steps[j], 0)
	}
}

//go:build amd64 && !noasm

package pcm

import "golang.org/x/sys/cpu"

// useAVX2 selects the 256-bit kernels; SSE2 is part of amd64 itself. It is a
// variable so that the tests can run the SSE2 kernels on an AVX2 machine.
// x/sys/cpu reports AVX2 only when the OS saves the YMM registers.
var useAVX2 = cpu.X86.HasAVX2

// activeKernels names the kernels the exported functions run: AVX2, or
// SSE2, which every amd64 CPU has.
func activeKernels() string {
	if useAVX2 {
		return "avx2"
	}
	return "sse2"
}

// Every assembly kernel handles a positive multiple of its block: 8 samples
// for SSE2, 16 for AVX2. The dispatchers below run the largest such prefix in
// assembly and the rest (at most 15 samples) in the reference code, which is
// correct because every kernel here is element-wise or an order-independent
// reduction. Slices arrive trimmed to one length by the exported wrappers.

// block returns how many leading samples of n the assembly kernels take.
func block(n int) int {
	if useAVX2 {
		return n &^ 15
	}
	return n &^ 7
}

// splitGain splits a gain g in [0, MaxGain] as g = hi·2^16 + lo with lo a
// signed 16-bit value, the form the SIMD code multiplies by: lo goes to
// PMULHW/PMULLW, hi to PMADDWD. It returns lo broadcast to both halves of a
// 32-bit word and hi paired with a 1 (so PMADDWD forms s*hi + r*1).
func splitGain(g int32) (w, k int32) {
	lo := int16(g)
	hi := (g - int32(lo)) >> 16
	return int32(uint32(uint16(lo)) * 0x10001), hi | 1<<16
}

// rampStart fills the first 16 Q26 lane gains of a ramp and returns the
// per-iteration increment for the current kernel width. Lanes past the
// samples the kernel will process may wrap; they are never used.
func rampStart(g *[16]int32, gq, step int32) int32 {
	for k := range g {
		g[k] = gq + int32(k)*step
	}
	if useAVX2 {
		return step * 16
	}
	return step * 8
}

func add(acc []int32, src []int16) {
	src = src[:len(acc)]
	m := block(len(acc))
	if m > 0 {
		if useAVX2 {
			addAVX2(&acc[0], &src[0], m)
		} else {
			addSSE2(&acc[0], &src[0], m)
		}
	}
	addGeneric(acc[m:], src[m:])
}

func addGain(acc []int32, src []int16, g int32) {
	src = src[:len(acc)]
	m := block(len(acc))
	if m > 0 {
		w, k := splitGain(g)
		if useAVX2 {
			addGainAVX2(&acc[0], &src[0], m, w, k)
		} else {
			addGainSSE2(&acc[0], &src[0], m, w, k)
		}
	}
	addGainGeneric(acc[m:], src[m:], g)
}

func addRamp(acc []int32, src []int16, gq, step int32) {
	src = src[:len(acc)]
	m := block(len(acc))
	if m > 0 {
		var g [16]int32
		inc := rampStart(&g, gq, step)
		if useAVX2 {
			addRampAVX2(&acc[0], &src[0], m, &g, inc)
		} else {
			addRampSSE2(&acc[0], &src[0], m, &g, inc)
		}
	}
	addRampGeneric(acc[m:], src[m:], gq+int32(m)*step, step)
}

func gain16(dst, src []int16, g int32) {
	src = src[:len(dst)]
	m := block(len(dst))
	if m > 0 {
		w, k := splitGain(g)
		if useAVX2 {
			gainAVX2(&dst[0], &src[0], m, w, k)
		} else {
			gainSSE2(&dst[0], &src[0], m, w, k)
		}
	}
	gainGeneric(dst[m:], src[m:], g)
}

func gainRamp(dst, src []int16, gq, step int32) {
	src = src[:len(dst)]
	m := block(len(dst))
	if m > 0 {
		var g [16]int32
		inc := rampStart(&g, gq, step)
		if useAVX2 {
			gainRampAVX2(&dst[0], &src[0], m, &g, inc)
		} else {
			gainRampSSE2(&dst[0], &src[0], m, &g, inc)
		}
	}
	gainRampGeneric(dst[m:], src[m:], gq+int32(m)*step, step)
}

func saturate(dst []int16, acc []int32) {
	acc = acc[:len(dst)]
	m := block(len(dst))
	if m > 0 {
		if useAVX2 {
			saturateAVX2(&dst[0], &acc[0], m)
		} else {
			saturateSSE2(&dst[0], &acc[0], m)
		}
	}
	saturateGeneric(dst[m:], acc[m:])
}

func subSaturate(dst []int16, acc []int32, own []int16) {
	acc = acc[:len(dst)]
	own = own[:len(dst)]
	m := block(len(dst))
	if m > 0 {
		if useAVX2 {
			subSaturateAVX2(&dst[0], &acc[0], &own[0], m)
		} else {
			subSaturateSSE2(&dst[0], &acc[0], &own[0], m)
		}
	}
	subSaturateGeneric(dst[m:], acc[m:], own[m:])
}

func peakAbs16(src []int16) int32 {
	m := block(len(src))
	p := peakAbs16Generic(src[m:])
	if m > 0 {
		var mx, mn int32
		if useAVX2 {
			mx, mn = peakAbs16AVX2(&src[0], m)
		} else {
			mx, mn = peakAbs16SSE2(&src[0], m)
		}
		p = max(p, mx, -mn)
	}
	return p
}

func peakAbs32(src []int32) uint32 {
	m := block(len(src))
	p := peakAbs32Generic(src[m:])
	if m > 0 {
		if useAVX2 {
			p = max(p, peakAbs32AVX2(&src[0], m))
		} else {
			p = max(p, peakAbs32SSE2(&src[0], m))
		}
	}
	return p
}

func energy(src []int16) uint64 {
	m := block(len(src))
	e := energyGeneric(src[m:])
	if m > 0 {
		if useAVX2 {
			e += energyAVX2(&src[0], m)
		} else {
			e += energySSE2(&src[0], m)
		}
	}
	return e
}

func peakF(acc []int32, own []int16) float32 {
	m := block(len(acc))
	var tail []int16
	if own != nil {
		own = own[:len(acc)]
		tail = own[m:]
	}
	p := peakFGeneric(acc[m:], tail)
	if m > 0 {
		var q float32
		switch {
		case own == nil && useAVX2:
			q = peakF0AVX2(&acc[0], m)
		case own == nil:
			q = peakF0SSE2(&acc[0], m)
		case useAVX2:
			q = peakFAVX2(&acc[0], &own[0], m)
		default:
			q = peakFSSE2(&acc[0], &own[0], m)
		}
		p = max(p, q)
	}
	return p
}

func applyF(dst []int16, acc []int32, own []int16, g0, step float32) {
	acc = acc[:len(dst)]
	m := block(len(dst))
	var tail []int16
	if own != nil {
		own = own[:len(dst)]
		tail = own[m:]
	}
	if m > 0 {
		switch {
		case own == nil && useAVX2:
			applyF0AVX2(&dst[0], &acc[0], m, g0, step)
		case own == nil:
			applyF0SSE2(&dst[0], &acc[0], m, g0, step)
		case useAVX2:
			applyFAVX2(&dst[0], &acc[0], &own[0], m, g0, step)
		default:
			applyFSSE2(&dst[0], &acc[0], &own[0], m, g0, step)
		}
	}
	applyFGeneric(dst[m:], acc[m:], tail, g0, step, m)
}

// blockPeaksF and applyBlocksF batch the limiter's per-block work into one
// assembly call when the block is a whole number of SIMD vectors (1 ms is
// 48, 16 and 8 samples at 48, 16 and 8 kHz); other block sizes loop over
// the single-block kernels. Either way the result is the reference's.

func blockPeaksF(out []float32, acc []int32, own []int16, block int) {
	n := len(out) * block
	if n == 0 {
		return
	}
	acc = acc[:n]
	if own != nil {
		own = own[:n]
	}
	switch {
	case useAVX2 && block%16 == 0 && own == nil:
		blockPeaksF0AVX2(&acc[0], n, block, &out[0])
	case useAVX2 && block%16 == 0:
		blockPeaksFAVX2(&acc[0], &own[0], n, block, &out[0])
	case block%8 == 0 && own == nil:
		blockPeaksF0SSE2(&acc[0], n, block, &out[0])
	case block%8 == 0:
		blockPeaksFSSE2(&acc[0], &own[0], n, block, &out[0])
	default:
		for j := range out {
			s := j * block
			var o []int16
			if own != nil {
				o = own[s : s+block]
			}
			out[j] = peakF(acc[s:s+block], o)
		}
	}
}

func applyBlocksF(dst []int16, acc []int32, own []int16, block int, g0s, steps []float32) {
	n := len(g0s) * block
	if n == 0 {
		return
	}
	dst, acc, steps = dst[:n], acc[:n], steps[:len(g0s)]
	if own != nil {
		own = own[:n]
	}
	switch {
	case useAVX2 && block%16 == 0 && own == nil:
		applyBlocksF0AVX2(&dst[0], &acc[0], n, block, &g0s[0], &steps[0])
	case useAVX2 && block%16 == 0:
		applyBlocksFAVX2(&dst[0], &acc[0], &own[0], n, block, &g0s[0], &steps[0])
	case block%8 == 0 && own == nil:
		applyBlocksF0SSE2(&dst[0], &acc[0], n, block, &g0s[0], &steps[0])
	case block%8 == 0:
		applyBlocksFSSE2(&dst[0], &acc[0], &own[0], n, block, &g0s[0], &steps[0])
	default:
		for j := range g0s {
			s := j * block
			var o []int16
			if own != nil {
				o = own[s : s+block]
			}
			applyF(dst[s:s+block], acc[s:s+block], o, g0s[j], steps[j])
		}
	}
}

// Assembly kernels, kernels_amd64.s. n is a positive multiple of 8 (SSE2)
// or 16 (AVX2); pointers address at least n elements.

//go:noescape
func addSSE2(acc *int32, src *int16, n int)

//go:noescape
func addAVX2(acc *int32, src *int16, n int)

//go:noescape
func addGainSSE2(acc *int32, src *int16, n int, w, k int32)

//go:noescape
func addGainAVX2(acc *int32, src *int16, n int, w, k int32)

//go:noescape
func addRampSSE2(acc *int32, src *int16, n int, lanes *[16]int32, inc int32)

//go:noescape
func addRampAVX2(acc *int32, src *int16, n int, lanes *[16]int32, inc int32)

//go:noescape
func gainSSE2(dst, src *int16, n int, w, k int32)

//go:noescape
func gainAVX2(dst, src *int16, n int, w, k int32)

//go:noescape
func gainRampSSE2(dst, src *int16, n int, lanes *[16]int32, inc int32)

//go:noescape
func gainRampAVX2(dst, src *int16, n int, lanes *[16]int32, inc int32)

//go:noescape
func saturateSSE2(dst *int16, acc *int32, n int)

//go:noescape
func saturateAVX2(dst *int16, acc *int32, n int)

//go:noescape
func subSaturateSSE2(dst *int16, acc *int32, own *int16, n int)

//go:noescape
func subSaturateAVX2(dst *int16, acc *int32, own *int16, n int)

//go:noescape
func peakAbs16SSE2(src *int16, n int) (mx, mn int32)

//go:noescape
func peakAbs16AVX2(src *int16, n int) (mx, mn int32)

//go:noescape
func peakAbs32SSE2(src *int32, n int) uint32

//go:noescape
func peakAbs32AVX2(src *int32, n int) uint32

//go:noescape
func energySSE2(src *int16, n int) uint64

//go:noescape
func energyAVX2(src *int16, n int) uint64

//go:noescape
func peakFSSE2(acc *int32, own *int16, n int) float32

//go:noescape
func peakFAVX2(acc *int32, own *int16, n int) float32

//go:noescape
func peakF0SSE2(acc *int32, n int) float32

//go:noescape
func peakF0AVX2(acc *int32, n int) float32

//go:noescape
func applyFSSE2(dst *int16, acc *int32, own *int16, n int, g0, step float32)

//go:noescape
func applyFAVX2(dst *int16, acc *int32, own *int16, n int, g0, step float32)

//go:noescape
func applyF0SSE2(dst *int16, acc *int32, n int, g0, step float32)

//go:noescape
func applyF0AVX2(dst *int16, acc *int32, n int, g0, step float32)

// Batched limiter kernels: n is a positive multiple of block, and block a
// multiple of 8 (SSE2) or 16 (AVX2); out, g0s and steps hold n/block values.

//go:noescape
func blockPeaksFSSE2(acc *int32, own *int16, n, block int, out *float32)

//go:noescape
func blockPeaksFAVX2(acc *int32, own *int16, n, block int, out *float32)

//go:noescape
func blockPeaksF0SSE2(acc *int32, n, block int, out *float32)

//go:noescape
func blockPeaksF0AVX2(acc *int32, n, block int, out *float32)

//go:noescape
func applyBlocksFSSE2(dst *int16, acc *int32, own *int16, n, block int, g0s, steps *float32)

//go:noescape
func applyBlocksFAVX2(dst *int16, acc *int32, own *int16, n, block int, g0s, steps *float32)

//go:noescape
func applyBlocksF0SSE2(dst *int16, acc *int32, n, block int, g0s, steps *float32)

//go:noescape
func applyBlocksF0AVX2(dst *int16, acc *int32, n, block int, g0s, steps *float32)

package resample

import "math"

// group describes four consecutive outputs of a polyphase stage that start
// at a given phase: where each one's input window and coefficients begin
// (in bytes, relative to the window of the first output and to the
// coefficient table) and how far the stage moves on after them. The AVX2
// kernel reads it; its layout is fixed (10 × int64).
type group struct {
	xoff [4]int64 // byte offset of output j's input window from the first's
	coff [4]int64 // byte offset of output j's phase in the coefficient table
	adv  int64    // input samples to move on after the four outputs
	next int64    // phase of the output after the four
}

// polyphaseGeneric computes ngroups×4 outputs of a stage into dst: output
// j is the dot product of taps coefficients of its phase with taps input
// samples starting at its window. taps is a multiple of 8.
//
// It is the reference for the AVX2 kernel and must stay bit-identical to
// it: eight partial sums per output (lane l takes taps l, l+8, l+16, …),
// each product rounded to float32 before it is added (the conversion stops
// the compiler from fusing it into an FMA), then the lanes folded in the
// order the vector code folds them. Integer-exactness is not needed, only
// the same float operations in the same order.
func polyphaseGeneric(dst, src, coefs []float32, taps int, groups []group, s, p, ngroups int) {
	o := 0
	for g := 0; g < ngroups; g++ {
		gr := &groups[p]
		for j := 0; j < 4; j++ {
			x := src[s+int(gr.xoff[j]/4):]
			c := coefs[int(gr.coff[j]/4):]
			x, c = x[:taps], c[:taps]
			a0, a1, a2, a3 := c[0]*x[0], c[1]*x[1], c[2]*x[2], c[3]*x[3]
			a4, a5, a6, a7 := c[4]*x[4], c[5]*x[5], c[6]*x[6], c[7]*x[7]
			for k := 8; k+8 <= len(x); k += 8 {
				xx, cc := x[k:k+8:k+8], c[k:k+8:k+8]
				a0 += float32(cc[0] * xx[0])
				a1 += float32(cc[1] * xx[1])
				a2 += float32(cc[2] * xx[2])
				a3 += float32(cc[3] * xx[3])
				a4 += float32(cc[4] * xx[4])
				a5 += float32(cc[5] * xx[5])
				a6 += float32(cc[6] * xx[6])
				a7 += float32(cc[7] * xx[7])
			}
			b0, b1, b2, b3 := a0+a4, a1+a5, a2+a6, a3+a7
			dst[o] = (b0 + b1) + (b2 + b3)
			o++
		}
		s += int(gr.adv)
		p = int(gr.next)
	}
}

// s16ToF32Generic widens int16 samples to float32 (exact).
func s16ToF32Generic(dst []float32, src []int16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// f32ToS16Generic rounds to nearest, ties to even (as CVTPS2DQ does), and
// saturates to int16 (as PACKSSDW does).
func f32ToS16Generic(dst []int16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		r := math.RoundToEven(float64(v))
		switch {
		case r > math.MaxInt16:
			dst[i] = math.MaxInt16
		case r < math.MinInt16:
			dst[i] = math.MinInt16
		default:
			dst[i] = int16(r)
		}
	}
}

//go:build amd64 && !noasm

package g711

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels. The tests and FuzzRoundTrip compare
// them with the generic kernels and the G.191 reference on the same inputs.
var useAVX2 = cpu.X86.HasAVX2

// activeKernels names the kernels the slice functions run on this CPU.
func activeKernels() string {
	if useAVX2 {
		return "avx2"
	}
	return "generic"
}

// The AVX2 kernels convert n >= 32 samples at the given addresses, 32 at a
// time; a tail shorter than 32 is done by redoing the last 32, overlapping
// samples already done, which is harmless because dst never aliases src.
// Shorter inputs go to the generic kernels.

//go:noescape
func encodeUlawAVX2(dst *byte, src *int16, n int)

//go:noescape
func encodeAlawAVX2(dst *byte, src *int16, n int)

//go:noescape
func decodeUlawAVX2(dst *int16, src *byte, n int)

//go:noescape
func decodeAlawAVX2(dst *int16, src *byte, n int)

// len(dst) == len(src) in all four, as the exported callers guarantee.

func encodeUlaw(dst []byte, src []int16) {
	if n := len(src); useAVX2 && n >= 32 {
		_ = dst[n-1] // the assembly writes dst[:n]
		encodeUlawAVX2(&dst[0], &src[0], n)
		return
	}
	encodeUlawGeneric(dst, src)
}

func encodeAlaw(dst []byte, src []int16) {
	if n := len(src); useAVX2 && n >= 32 {
		_ = dst[n-1] // the assembly writes dst[:n]
		encodeAlawAVX2(&dst[0], &src[0], n)
		return
	}
	encodeAlawGeneric(dst, src)
}

func decodeUlaw(dst []int16, src []byte) {
	if n := len(src); useAVX2 && n >= 32 {
		_ = dst[n-1] // the assembly writes dst[:n]
		decodeUlawAVX2(&dst[0], &src[0], n)
		return
	}
	decodeUlawGeneric(dst, src)
}

func decodeAlaw(dst []int16, src []byte) {
	if n := len(src); useAVX2 && n >= 32 {
		_ = dst[n-1] // the assembly writes dst[:n]
		decodeAlawAVX2(&dst[0], &src[0], n)
		return
	}
	decodeAlawGeneric(dst, src)
}

//go:build amd64 && !noasm

package resample

import "golang.org/x/sys/cpu"

// The AVX2 kernels are the fast path; AVX (VEX 256-bit float) and AVX2
// (256-bit integer widening and packing) are both needed.
var haveAVX2 = cpu.X86.HasAVX && cpu.X86.HasAVX2

//go:noescape
func polyphaseAVX2(dst, src, coefs *float32, tapsBytes int, groups *group, s, p, ngroups int)

//go:noescape
func interp2AVX2(dst, src, coefs *float32, tapsBytes, ngroups int)

//go:noescape
func interp3AVX2(dst, src, coefs *float32, tapsBytes, ngroups int)

//go:noescape
func decimAVX2(dst, src, coefs *float32, tapsBytes, strideBytes, ngroups int)

//go:noescape
func s16ToF32AVX2(dst *float32, src *int16, n int)

//go:noescape
func f32ToS16AVX2(dst *int16, src *float32, n int)

// polyphase computes n outputs of st for channel c into dst with the AVX2
// kernel that suits the stage; the stage has checked (with kernelSpan) that
// every window read and every write lies inside the buffers. All kernels do
// the same float operations per output as polyphaseGeneric.
func polyphase(generic bool, st *stage, c int, dst []float32, n int) {
	src := st.buf[c]
	if generic || !haveAVX2 {
		polyphaseGeneric(dst, src, st.coefs, st.taps, st.groups, st.start, st.phase, (n+3)/4)
		return
	}
	switch st.kind {
	case kindInterp2:
		interp2AVX2(&dst[0], &src[st.start], &st.coefs[0], st.taps*4, (n+3)/4)
	case kindInterp3:
		interp3AVX2(&dst[0], &src[st.start], &st.coefs[0], st.taps*4, (n+5)/6)
	case kindDecim:
		decimAVX2(&dst[0], &src[st.start], &st.coefs[0], st.taps*4, st.m*4, (n+3)/4)
	default:
		polyphaseAVX2(&dst[0], &src[0], &st.coefs[0], st.taps*4, &st.groups[0], st.start, st.phase, (n+3)/4)
	}
}

func s16ToF32(generic bool, dst []float32, src []int16) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	if !generic && haveAVX2 && n > 0 {
		s16ToF32AVX2(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	s16ToF32Generic(dst[n:], src[n:])
}

func f32ToS16(generic bool, dst []int16, src []float32) {
	dst = dst[:len(src)]
	n := len(src) &^ 15
	if !generic && haveAVX2 && n > 0 {
		f32ToS16AVX2(&dst[0], &src[0], n)
	} else {
		n = 0
	}
	f32ToS16Generic(dst[n:], src[n:])
}

// activeKernels names the kernels a Resampler runs on this CPU.
func activeKernels() string {
	if haveAVX2 {
		return "avx2"
	}
	return "generic"
}

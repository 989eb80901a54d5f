//go:build !amd64 || noasm

package resample

// Without the amd64 assembly the generic kernels do all the work.

func polyphase(_ bool, st *stage, c int, dst []float32, n int) {
	polyphaseGeneric(dst, st.buf[c], st.coefs, st.taps, st.groups, st.start, st.phase, (n+3)/4)
}

func s16ToF32(_ bool, dst []float32, src []int16) { s16ToF32Generic(dst, src) }

func f32ToS16(_ bool, dst []int16, src []float32) { f32ToS16Generic(dst, src) }

func activeKernels() string { return "generic" }

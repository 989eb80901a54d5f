//go:build amd64 && !noasm

package resample

import "golang.org/x/sys/cpu"

const asmBuild = true

// wantKernels is what activeKernels must report on this CPU: the AVX2
// kernels need both AVX (256-bit float) and AVX2 (256-bit integer).
func wantKernels() string {
	if cpu.X86.HasAVX && cpu.X86.HasAVX2 {
		return "avx2"
	}
	return "generic"
}

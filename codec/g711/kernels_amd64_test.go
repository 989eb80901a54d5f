//go:build amd64 && !noasm

package g711

import "golang.org/x/sys/cpu"

const asmBuild = true

// wantKernels is what activeKernels must report on this CPU: the AVX2
// kernels where the CPU (and the OS) support them, else the generic ones.
func wantKernels() string {
	if cpu.X86.HasAVX2 {
		return "avx2"
	}
	return "generic"
}

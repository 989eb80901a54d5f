//go:build amd64 && !noasm

package pcm

import "golang.org/x/sys/cpu"

const asmBuild = true

// wantKernels is what activeKernels must report at start-up on this CPU.
func wantKernels() string {
	if cpu.X86.HasAVX2 {
		return "avx2"
	}
	return "sse2"
}

// forEachLevel runs f once per fast path this machine can run, with that
// path selected, and restores the start-up choice afterwards. Tests must not
// run it in parallel: it switches a package variable.
func forEachLevel(f func(level string)) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	useAVX2 = false
	f("sse2")
	if cpu.X86.HasAVX2 {
		useAVX2 = true
		f("avx2")
	}
}

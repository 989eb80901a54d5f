//go:build amd64 && !noasm

package pcm

import "golang.org/x/sys/cpu"

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

//go:build !amd64 || noasm

package pcm

const asmBuild = false

func wantKernels() string { return "generic" }

// forEachLevel runs f once: without assembly the fast path is the reference.
func forEachLevel(f func(level string)) { f("generic") }

// Package cputime reads the CPU time of the calling thread and of the
// process, for benchmarks that must give steady figures on a machine other
// processes share: wall time counts the time they hold the core, CPU time
// only the work done.
//
// It is test-only support: benchmarks and tests import it, nothing in the
// library's production paths does.
package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Bench pins the benchmark's goroutine to its OS thread (so that the
// thread's CPU time is the loop's), resets b's timer and returns the
// function to call after the loop: it unpins and returns the thread CPU
// time the loop took, or 0 where the OS does not tell ([Available] is
// false).
func Bench(b *testing.B) (stop func() time.Duration) {
	runtime.LockOSThread()
	b.ResetTimer()
	c0 := Thread()
	return func() time.Duration {
		c1 := Thread()
		runtime.UnlockOSThread()
		return c1 - c0
	}
}

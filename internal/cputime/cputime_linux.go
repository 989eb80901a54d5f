//go:build linux

package cputime

import (
	"time"

	"golang.org/x/sys/unix"
)

// Available reports whether Thread and Process measure anything here.
const Available = true

// Thread is the CPU time of the calling OS thread; lock the goroutine to
// its thread around what it measures (see [Bench]). 0 if the OS refuses.
func Thread() time.Duration { return clock(unix.CLOCK_THREAD_CPUTIME_ID) }

// Process is the CPU time of the whole process: every goroutine's work and
// the runtime's for them. 0 if the OS refuses.
func Process() time.Duration { return clock(unix.CLOCK_PROCESS_CPUTIME_ID) }

func clock(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

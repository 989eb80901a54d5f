//go:build linux

package tsm

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling OS thread. On a shared machine
// it measures the work done rather than the time other processes held the
// core; callers lock the goroutine to its thread first.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

const haveThreadCPU = true

//go:build linux

package record

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling OS thread: on a shared machine
// it counts the work done, not the time other processes held the core.
// Callers lock the goroutine to its thread first.
func threadCPU() time.Duration { return clock(unix.CLOCK_THREAD_CPUTIME_ID) }

// processCPU is the CPU time of the whole process: the feeder, the
// recorder's goroutine and the runtime's work for them.
func processCPU() time.Duration { return clock(unix.CLOCK_PROCESS_CPUTIME_ID) }

func clock(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

const haveCPUTime = true

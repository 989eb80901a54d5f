//go:build !linux

package mixer

import "time"

// threadCPU is 0 where the thread's CPU time is not read: benchmarks then
// report wall time only.
func threadCPU() time.Duration { return 0 }

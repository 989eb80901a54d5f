//go:build !linux

package record

import "time"

func threadCPU() time.Duration  { return 0 }
func processCPU() time.Duration { return 0 }

const haveCPUTime = false

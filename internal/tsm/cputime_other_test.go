//go:build !linux

package tsm

import "time"

func threadCPU() time.Duration { return 0 }

const haveThreadCPU = false

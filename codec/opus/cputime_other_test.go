//go:build cgo && !linux

package opus

import "time"

func threadCPU() time.Duration { return 0 }

const haveThreadCPU = false

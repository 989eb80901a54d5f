//go:build !linux

package cputime

import "time"

// Available reports whether Thread and Process measure anything here.
const Available = false

// Thread is 0: this OS's thread CPU clock is not read here.
func Thread() time.Duration { return 0 }

// Process is 0: this OS's process CPU clock is not read here.
func Process() time.Duration { return 0 }

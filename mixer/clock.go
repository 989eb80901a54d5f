package mixer

import "time"

var epoch = time.Now()

// Monotonic returns the time since the process started from the monotonic
// clock: the default "now" for WriteRTP and the Engine's ticks.
func Monotonic() time.Duration { return time.Since(epoch) }

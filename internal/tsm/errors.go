package tsm

import "errors"

// Construction is the only call that can fail: New wraps these with the
// offending value. Callers do not branch on them (a configuration is either
// valid or a programming error), so they stay unexported.
var (
	errRate   = errors.New("tsm: unsupported sample rate")
	errConfig = errors.New("tsm: invalid config")
)

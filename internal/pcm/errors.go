package pcm

import "errors"

// errLimiterConfig is wrapped with the offending field and value by
// NewLimiter; callers only need to know the configuration was refused.
var errLimiterConfig = errors.New("pcm: invalid limiter config")

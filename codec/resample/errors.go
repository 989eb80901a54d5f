package resample

import "errors"

var (
	errRate     = errors.New("resample: unsupported sample rate")
	errChannels = errors.New("resample: channels must be 1 or 2")
)

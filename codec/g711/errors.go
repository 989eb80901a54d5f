package g711

import (
	"errors"
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// Errors without numbers are built once so that returning them does not
// allocate; the others are wrapped where they occur with the values at fault.
var (
	errEmptyPayload  = fmt.Errorf("%w: g711: empty payload", codec.ErrCorrupt)
	errNotG711       = errors.New("g711: format is not PCMU/8000 or PCMA/8000")
	errSampleRate    = errors.New("g711: sample rate must be 8000 Hz")
	errChannels      = errors.New("g711: only mono is supported")
	errPtime         = errors.New("g711: ptime must be a multiple of 5 ms from 5 to 120 ms")
	errFrameSize     = errors.New("g711: wrong frame length")
	errConcealLength = errors.New("g711: conceal length must be positive")
)

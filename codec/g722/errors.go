package g722

import (
	"errors"
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// Errors without numbers are built once so that returning them does not
// allocate; the others are wrapped where they occur with the values at fault.
var (
	errEmptyPayload  = fmt.Errorf("%w: g722: empty payload", codec.ErrCorrupt)
	errSampleRate    = errors.New("g722: sample rate must be 16000 Hz (the RTP clock is 8000 Hz, the audio 16 kHz)")
	errChannels      = errors.New("g722: only mono is supported")
	errPtime         = errors.New("g722: ptime must be a multiple of 5 ms from 5 to 120 ms")
	errEncBitrate    = errors.New("g722: the encoder codes 64 kbit/s only (RTP carries G.722 at 64 kbit/s, RFC 3551)")
	errDecBitrate    = errors.New("g722: bit rate must be 64000, 56000 or 48000")
	errFrameSize     = errors.New("g722: wrong frame length")
	errConcealLength = errors.New("g722: conceal length must be positive")
)

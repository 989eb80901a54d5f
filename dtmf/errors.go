package dtmf

import "errors"

// Sentinel errors. Callers branch on these with errors.Is; the returned
// errors wrap them with the values at fault where those help.
var (
	// ErrShortPayload: a telephone-event payload is shorter than one
	// 4-byte report or not a whole number of reports.
	ErrShortPayload = errors.New("dtmf: telephone-event payload is not a whole number of 4-byte reports")
	// ErrEvent: an event code outside what the call accepts (a digit that
	// is not 0-9 * # A-D, or an event the receiver was not configured for).
	ErrEvent = errors.New("dtmf: unsupported event")
	// ErrBusy: Sender.Start while an event is still being sent.
	ErrBusy = errors.New("dtmf: an event is already being sent")
)

var (
	errClockRate = errors.New("dtmf: clock rate must be between 1000 and 192000 Hz")
	errInterval  = errors.New("dtmf: packet interval must be between 5 and 200 ms")
	errVolume    = errors.New("dtmf: volume must be 0 to 63 (-dBm0)")
	errDuration  = errors.New("dtmf: duration must be positive and at most 60 s")
	errTimeout   = errors.New("dtmf: timeout must not be negative")
	errRate      = errors.New("dtmf: detector sample rate must be 8000, 16000 or 48000 Hz")
)

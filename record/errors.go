package record

import (
	"errors"
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// Errors that callers branch on; match them with errors.Is.
var (
	// ErrConfig: a Format or Config cannot work; the message names the
	// field and the numbers.
	ErrConfig = errors.New("record: invalid configuration")
	// ErrClosed: the writer or recorder was closed.
	ErrClosed = errors.New("record: closed")
	// ErrQueueFull: a recorder's queue was full, so the frame was dropped
	// and counted (Stats.Dropped). The recording goes on: the frame's time
	// is kept as silence.
	ErrQueueFull = errors.New("record: queue full, frame dropped")
	// ErrFrame: a frame the recorder cannot take (empty, not a whole
	// number of samples per channel, larger than the queue, or an Opus
	// packet whose framing is malformed, which also wraps
	// codec.ErrCorrupt). It was not recorded; its time becomes silence
	// when later frames come.
	ErrFrame = errors.New("record: bad frame")
)

// Refusals on the feeding side are built once: the feeder is a hot path
// and reporting must not allocate.
var (
	errEmptyFrame  = fmt.Errorf("%w: empty", ErrFrame)
	errChannels    = fmt.Errorf("%w: the sample count is not a multiple of the channel count", ErrFrame)
	errLargerThanQ = fmt.Errorf("%w: larger than the recorder's queue (raise Config.Queue)", ErrFrame)
	errCorruptOpus = fmt.Errorf("%w: %w: malformed Opus packet", ErrFrame, codec.ErrCorrupt)
	errTooFar      = fmt.Errorf("%w: stamped further past the end than Config.MaxGap", ErrFrame)
)

const errOpusNotFound = "record: Ogg/Opus needs the Opus codec: import _ \"github.com/rtpmix/rtpmix/codec/opus\""

func configf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

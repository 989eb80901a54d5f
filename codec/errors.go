package codec

import "errors"

// Errors that callers branch on. Codec packages wrap them with %w and the
// numbers that explain the failure, so use errors.Is.
var (
	// ErrUnknownFormat: no codec is registered under that SDP name.
	ErrUnknownFormat = errors.New("codec: unknown format")
	// ErrFrameSize: the PCM length is not a valid frame for the codec.
	ErrFrameSize = errors.New("codec: PCM length is not a valid frame")
	// ErrCorrupt: the payload cannot be decoded (empty, truncated, malformed).
	ErrCorrupt = errors.New("codec: corrupt payload")
	// ErrShortBuffer: dst has too little capacity for the result.
	ErrShortBuffer = errors.New("codec: destination buffer too small")
	// ErrUnsupported: the codec, option or build does not support the request
	// (for example codec/opus built without cgo).
	ErrUnsupported = errors.New("codec: unsupported")
	// ErrConfig: a Config value is out of range for the codec.
	ErrConfig = errors.New("codec: invalid config")
)

package mixer

import "errors"

var (
	errConfig = errors.New("mixer: invalid config")

	// ErrClosed is returned for calls on a participant that has left, or a
	// conference or engine that is closed.
	ErrClosed = errors.New("mixer: closed")
	// ErrDuplicateID: a participant with that ID is already in the conference.
	ErrDuplicateID = errors.New("mixer: duplicate participant ID")

	// Inbound packet errors, each counted in ParticipantStats.
	errShortPacket = errors.New("mixer: RTP packet too short or malformed")
	errPayloadType = errors.New("mixer: unexpected payload type")
	errPadding     = errors.New("mixer: invalid RTP padding")
)

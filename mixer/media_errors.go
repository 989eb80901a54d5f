package mixer

import "errors"

// Errors of the application endpoints (Source, Tap).
var (
	// ErrSourceFull: Source.TryWrite found the source's buffer full; what did
	// not fit was not queued (write it again once the tick has played
	// some, or use Write, which waits).
	ErrSourceFull = errors.New("mixer: source buffer full")
	// ErrNoParticipant: AddSource or AddTap named a participant that is
	// not in the conference.
	ErrNoParticipant = errors.New("mixer: no such participant")
)

package jitter

import "errors"

// Errors returned by Push. Each refused packet is also counted in Stats, so
// callers that only keep statistics may ignore them; they are exported so a
// caller can tell a network symptom (late, duplicate) from a local one
// (full, too large). Push returns them unwrapped so that a flood of bad
// packets costs no allocation.
var (
	// ErrLate: the packet's playout time has passed; it was dropped.
	ErrLate = errors.New("jitter: packet arrived after its playout time")
	// ErrDuplicate: a packet with that sequence number is buffered or was played.
	ErrDuplicate = errors.New("jitter: duplicate packet")
	// ErrFull: the packet is further ahead of the playout cursor than the ring
	// holds; the consumer is not keeping up.
	ErrFull = errors.New("jitter: buffer full")
	// ErrTooLarge: the payload is longer than Config.MaxPayload.
	ErrTooLarge = errors.New("jitter: payload larger than MaxPayload")
)

var (
	errNilPacket = errors.New("jitter: nil packet")
	errConfig    = errors.New("jitter: invalid config")
)

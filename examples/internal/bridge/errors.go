package bridge

import "errors"

var (
	// errBadOffer: the offer is not SDP we can read (HTTP 400).
	errBadOffer = errors.New("malformed SDP offer")
	// errNotAcceptable: well-formed, but nothing in it we can accept, such
	// as no supported codec or crypto suite, or an address the bridge
	// will not send to (HTTP 488, as SIP's "Not Acceptable Here").
	errNotAcceptable = errors.New("not acceptable")
	// errCapacity: a limit of the bridge or the room is reached; the error
	// names which (HTTP 503, with Retry-After when load may pass).
	errCapacity = errors.New("at capacity")
	// errBusy: refused because the room's ticks are over budget now, which
	// may pass (HTTP 503 with Retry-After).
	errBusy = errors.New("room busy")

	errRoomExists    = errors.New("room already exists")
	errNoRoom        = errors.New("no such room")
	errNoParticipant = errors.New("no such participant")
	errDuplicateID   = errors.New("participant id already in the room")
	errClosed        = errors.New("bridge closed")
	errNoPorts       = errors.New("no free UDP port pair in the media port range")
	errNoFDs         = errors.New("out of file descriptors")
)

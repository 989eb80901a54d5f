package bridge

import "errors"

var (
	// errBadOffer: the offer is not SDP we can read (HTTP 400).
	errBadOffer = errors.New("malformed SDP offer")
	// errNotAcceptable: well-formed, but nothing in it we can accept, such
	// as no supported codec or crypto suite (HTTP 488, as SIP's "Not
	// Acceptable Here").
	errNotAcceptable = errors.New("not acceptable")

	errRoomExists    = errors.New("room already exists")
	errNoRoom        = errors.New("no such room")
	errNoParticipant = errors.New("no such participant")
	errDuplicateID   = errors.New("participant id already in the room")
	errClosed        = errors.New("bridge closed")
	errNoPorts       = errors.New("no free UDP port pair in the media port range")
)

package mixer

import "fmt"

// Direction says which ways media flows between the mixer and one
// participant, from the mixer's side, as the mixer's own SDP would write it
// (RFC 3264 §5.1): SendOnly means the mixer sends to the participant and
// takes nothing from it. The zero value is SendRecv.
//
// Hold maps onto it this way. A participant that puts the call on hold
// offers a=sendonly (or inactive); the mixer answers recvonly (inactive):
// RecvOnly (Inactive) here, so nothing is sent to it while what it sends,
// music on hold included, is still mixed (mute it too if the room should
// not hear that). The mixer putting a participant on hold offers sendonly:
// SendOnly here, the participant hears the room (or whatever the
// application plays) and is not heard; Inactive stops both ways.
//
// A direction that does not send keeps the outbound stream's clock running
// without sending packets, so that on resume the sequence numbers go on
// from the last packet, the timestamp has advanced by the time on hold,
// and the first packet carries the marker bit (RFC 3550 §5.1). A direction
// that does not receive still accepts packets (they are counted and drained
// from the jitter buffer, so a resume starts from fresh audio) but never
// mixes or decodes them.
type Direction uint8

// The four directions.
const (
	SendRecv Direction = iota // the mixer sends the participant its mix and mixes what it sends
	SendOnly                  // the mixer sends, takes nothing: ListenOnly
	RecvOnly                  // the mixer mixes what the participant sends, sends it nothing
	Inactive                  // neither
)

// String returns the SDP attribute name: "sendrecv", "sendonly",
// "recvonly" or "inactive".
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Send reports whether the side with direction d sends media.
func (d Direction) Send() bool { return d == SendRecv || d == SendOnly }

// Recv reports whether the side with direction d receives media.
func (d Direction) Recv() bool { return d == SendRecv || d == RecvOnly }

// Reverse returns the direction as the other side sees it: what one side
// sends, the other receives.
func (d Direction) Reverse() Direction { return DirectionOf(d.Recv(), d.Send()) }

// Valid reports whether d is one of the four directions.
func (d Direction) Valid() bool { return d <= Inactive }

// DirectionOf returns the direction that sends and receives as told.
func DirectionOf(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

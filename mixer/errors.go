package mixer

import "errors"

// Errors callers branch on. Every error a mixer call returns matches one of
// these, or an exported sentinel of package srtp, jitter or codec, with
// errors.Is. WriteRTP returns its errors unwrapped (see Participant.WriteRTP
// for the list), so refusing a packet allocates nothing and checking the
// reason costs one comparison.
var (
	// ErrConfig reports a configuration that cannot work: an invalid
	// ConferenceConfig, ParticipantConfig (formats, payload types, extension
	// IDs, gains, SRTP keys, jitter settings) or gain. The message names the
	// field and the numbers; the cause, when another package found it, is
	// wrapped too (codec.ErrUnknownFormat, codec.ErrUnsupported...).
	ErrConfig = errors.New("mixer: invalid config")
	// ErrClosed is returned for calls on a participant that has left, or a
	// conference or engine that is closed.
	ErrClosed = errors.New("mixer: closed")
	// ErrDuplicateID: a participant with that ID is already in the conference.
	ErrDuplicateID = errors.New("mixer: duplicate participant ID")

	// ErrMalformed: WriteRTP refused a packet that is not well-formed RTP:
	// shorter than its header (fixed part, CSRCs, extension), a version
	// other than 2, bad padding, or an SRTP packet too short for its
	// authentication tag or malformed. Counted in RefusedStats by cause.
	// WriteRTCP (and WriteRTP given RTCP) returns it for RTCP that fails
	// RFC 3550's checks or SRTCP's parsing, counted in
	// RTCPStats.Refused.
	ErrMalformed = errors.New("mixer: malformed RTP packet")
	// ErrPayloadType: WriteRTP refused a packet whose payload type is
	// neither the participant's inbound one nor its comfort noise one.
	ErrPayloadType = errors.New("mixer: unexpected payload type")

	// ErrNoTelephoneEvent: Participant.SendDTMF cannot send the
	// participant a digit as RFC 4733 events: it has no outbound
	// telephone-event payload type, its events exclude the digit, or it is
	// sent nothing (on hold). An application may fall back to another way
	// (SIP INFO, a tone played into the call).
	ErrNoTelephoneEvent = errors.New("mixer: no telephone-event for this participant")
	// ErrDTMFQueueFull: Participant.SendDTMF found 32 digits waiting.
	ErrDTMFQueueFull = errors.New("mixer: DTMF queue full")
)

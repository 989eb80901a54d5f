package rtcpsession

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Walk and Receiver.ReceiveRTCP return the
// specific values below unwrapped (so refusing a packet allocates nothing
// and the reason costs one comparison); each of them matches ErrMalformed
// with errors.Is.
var (
	// ErrMalformed: the datagram is not valid (compound) RTCP by RFC 3550
	// §6.4.1 and A.2. Drop it.
	ErrMalformed = errors.New("rtcpsession: malformed RTCP")
	// ErrTooShort: shorter than one RTCP header (4 bytes).
	ErrTooShort = fmt.Errorf("%w: shorter than an RTCP header", ErrMalformed)
	// ErrVersion: a packet's version is not 2.
	ErrVersion = fmt.Errorf("%w: version not 2", ErrMalformed)
	// ErrLength: the packets' length fields do not add up to the datagram.
	ErrLength = fmt.Errorf("%w: packet lengths do not add up to the datagram", ErrMalformed)
	// ErrPadding: padding on a packet other than the last, or a padding
	// count of 0 or longer than the packet.
	ErrPadding = fmt.Errorf("%w: bad padding", ErrMalformed)
	// ErrNotCompound: the first packet is neither SR nor RR (RFC 3550
	// §6.1), in a session that does not allow reduced-size RTCP (RFC 5506).
	ErrNotCompound = fmt.Errorf("%w: first packet not SR or RR", ErrMalformed)
	// ErrContent: an SR, RR, SDES or BYE whose count field promises more
	// than its length holds (report blocks, SDES chunks and items, BYE
	// sources and reason).
	ErrContent = fmt.Errorf("%w: content does not fit the packet's length", ErrMalformed)

	// ErrItemTooLong: Report.MarshalTo was given a CNAME or BYE reason
	// longer than the 255 bytes an SDES item or BYE reason can hold.
	ErrItemTooLong = errors.New("rtcpsession: SDES item or BYE reason longer than 255 bytes")
	// ErrConfig: New or NewReceiver was given a configuration that cannot
	// work; the message names the field.
	ErrConfig = errors.New("rtcpsession: invalid config")
)

package srtp

import (
	"errors"
	"fmt"
)

// Errors callers branch on. The packet paths return these values themselves
// (never wrapped) so that checking them costs one comparison and a rejected
// packet allocates nothing in this package.
var (
	// ErrAuth reports a packet whose authentication tag did not verify, or
	// whose MKI names no known master key: forged, corrupted or keyed with
	// another key. Drop the packet.
	ErrAuth = errors.New("srtp: authentication failed")
	// ErrReplay reports a packet whose index was already accepted or lies
	// behind the replay window. Drop the packet.
	ErrReplay = errors.New("srtp: replayed packet")
	// ErrShortPacket reports a packet too short for its header plus the
	// profile's authentication tag, MKI and (SRTCP) index.
	ErrShortPacket = errors.New("srtp: packet too short")
	// ErrUnsupported reports a well-formed crypto attribute or profile that
	// this package cannot use: an unknown or unsupported crypto suite, an
	// unsupported session parameter or key method. An SDP answerer moves on
	// to the next a=crypto line.
	ErrUnsupported = errors.New("srtp: unsupported")
)

var (
	errUnknownMKI     = fmt.Errorf("srtp: unknown MKI: %w", ErrAuth)
	errProfile        = errors.New("srtp: invalid profile")
	errKeyLen         = errors.New("srtp: wrong master key length")
	errSaltLen        = errors.New("srtp: wrong master salt length")
	errMKILen         = errors.New("srtp: MKI length must be 1..128 bytes")
	errMKIMismatch    = errors.New("srtp: MKI length differs from the context's")
	errMKINone        = errors.New("srtp: context was created without MKI")
	errMaterialLen    = errors.New("srtp: wrong DTLS keying material length")
	errReplayWindow   = errors.New("srtp: replay window out of range")
	errMaxSSRCs       = errors.New("srtp: SSRC bound out of range")
	errLifetime       = errors.New("srtp: key lifetime out of range")
	errSyntax         = errors.New("srtp: malformed crypto attribute")
	errTag            = errors.New("srtp: crypto tag must be 1..9 decimal digits")
	errBase64         = errors.New("srtp: bad base64 in inline key")
	errKeySaltLen     = errors.New("srtp: inline key||salt has the wrong length for the suite")
	errMKIValue       = errors.New("srtp: MKI value does not fit its length")
	errMKIRequired    = errors.New("srtp: several master keys need an MKI on each")
	errMKIDuplicate   = errors.New("srtp: duplicate MKI value")
	errWSH            = errors.New("srtp: WSH window size hint out of range")
	errPacket         = errors.New("srtp: malformed packet")
	errCryptexProfile = fmt.Errorf("%w: header extension profile 0xC0DE/0xC2DE is reserved for cryptex (RFC 9335), which is not negotiated", errPacket)
	errPadding        = errors.New("srtp: bad RTP padding")
	errProfileMixture = errors.New("srtp: keys of one context must share its profile")
	errBackend        = errors.New("srtp: unknown backend")
	errExtension      = fmt.Errorf("%w: an RFC 8285 header extension element runs past its extension block", errPacket)
	errRTCPVersion    = fmt.Errorf("%w: RTCP version is not 2", errPacket)
	errCryptexRecvd   = fmt.Errorf("%w: header extension profile 0xC0DE/0xC2DE: cryptex (RFC 9335), which is not negotiated", errPacket)
	errExhausted      = errors.New("srtp: key exhausted: 2^48 SRTP or 2^31 SRTCP packets protected under it (RFC 3711 §9.2)")
)

package negotiate

import "errors"

// Errors callers branch on. Every error this package returns wraps exactly
// one of ErrMalformed, ErrNotAcceptable or ErrPolicy (ErrDTLS comes with
// ErrNotAcceptable), and its text names the line or setting at fault.
var (
	// ErrMalformed reports SDP that cannot be read: not SDP at all, a line
	// pion/sdp rejects, a payload type or port out of range, an a=crypto
	// line that does not parse. A SIP server answers 400 Bad Request; the
	// bridge answers HTTP 400.
	ErrMalformed = errors.New("negotiate: malformed SDP")
	// ErrNotAcceptable reports well-formed SDP with nothing the policy can
	// accept: no audio stream, no common codec, no usable crypto suite, a
	// transport or key exchange not supported, or SRTP where the policy
	// refuses it (or its absence where the policy requires it). A SIP
	// server answers 488 Not Acceptable Here.
	ErrNotAcceptable = errors.New("negotiate: not acceptable")
	// ErrDTLS accompanies ErrNotAcceptable (which gives the error its
	// "negotiate:" prefix) when an audio stream offered uses DTLS-SRTP
	// (UDP/TLS/RTP/SAVP[F]) and no other is acceptable: that needs
	// ICE and a DTLS handshake, so a WebRTC stack (pion/webrtc) should
	// answer the offer instead.
	ErrDTLS = errors.New("DTLS-SRTP needs a WebRTC stack (ICE and a DTLS handshake)")
	// ErrPolicy reports a Policy or Local that cannot work, such as no
	// codecs, two codecs on one payload type or a port out of range.
	ErrPolicy = errors.New("negotiate: invalid policy")
)

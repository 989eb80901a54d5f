package bridge

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/negotiate"
	"github.com/rtpmix/rtpmix/srtp"
)

// maxOfferSize bounds the request body of a join.
const maxOfferSize = negotiate.MaxSize

// offer is what the bridge acts on from an SDP offer, as package negotiate
// agreed it; the fields repeat the Leg's in the terms the bridge's sockets,
// RTCP and API use.
type offer struct {
	leg         *negotiate.Leg
	format      codec.Format // the chosen codec, with the offer's payload type
	payloadType uint8
	// rtpDst is where media is sent; its address is unspecified for a
	// comedia offer (c=0.0.0.0), in which case the latched source is used.
	rtpDst, rtcpDst netip.AddrPort
	rtcpMux         bool
	// crypto is the offer's accepted a=crypto line (the keys the peer
	// protects with); nil for plain RTP.
	crypto    *srtp.Crypto
	proto     string
	levelID   uint8 // RFC 6464 extension ID, 0 when not offered
	cnPT      uint8
	direction string // the offer's: sendrecv, sendonly, recvonly, inactive
}

// offerPolicy is what the bridge accepts: every registered codec it can
// decode (in the offer's order of preference), SDES-keyed SRTP or plain
// RTP, rtcp-mux, RFC 6464 levels, comfort noise and RFC 4733
// telephone-events (a=rtpmap:101 telephone-event/8000, a=fmtp:101 0-16).
func offerPolicy(supported func(sdpName string) bool) negotiate.Policy {
	p := negotiate.Policy{RTCPMux: true, AudioLevels: true, ComfortNoise: true, TelephoneEvent: true, SessionName: "rtpmix bridge"}
	for _, f := range codec.Formats() {
		if supported(f.SDPName()) {
			p.Codecs = append(p.Codecs, f)
		}
	}
	return p
}

// parseOffer negotiates an SDP offer. Errors wrap errBadOffer (the text is
// not usable SDP) or errNotAcceptable (nothing offered that the bridge can
// do, or IPv6, which its IPv4 sockets cannot reach), with the reason.
func parseOffer(body []byte, supported func(sdpName string) bool) (*offer, error) {
	leg, err := negotiate.Answer(body, offerPolicy(supported))
	switch {
	case errors.Is(err, negotiate.ErrMalformed):
		return nil, &offerError{errBadOffer, err}
	case err != nil:
		return nil, &offerError{errNotAcceptable, err}
	}
	for _, a := range []netip.AddrPort{leg.RemoteRTP, leg.RemoteRTCP} {
		if !a.Addr().Is4() {
			return nil, fmt.Errorf("%w: c= or a=rtcp address %v (only IN IP4)", errNotAcceptable, a.Addr())
		}
	}
	o := &offer{leg: leg, format: leg.Codec, payloadType: leg.Codec.PayloadType, rtpDst: leg.RemoteRTP,
		rtcpDst: leg.RemoteRTCP, rtcpMux: leg.RTCPMux, proto: leg.Proto, levelID: leg.AudioLevelID,
		cnPT: leg.CNPayloadType, direction: leg.Direction.Reverse().String()}
	if leg.SRTP != nil {
		c := leg.SRTP.Remote
		o.crypto = &c
	}
	return o, nil
}

// offerError is negotiate's error, which also matches the bridge's own
// sentinel for the HTTP status.
type offerError struct{ kind, err error }

func (e *offerError) Error() string   { return e.err.Error() }
func (e *offerError) Unwrap() []error { return []error{e.kind, e.err} }

// answerParams is what the bridge puts in its answer besides the offer's
// choices.
type answerParams struct {
	ip               netip.Addr
	rtpPort          int
	rtcpPort         int
	sessionID        uint64
	sessionVersion   uint64 // 0: 1
	ptimeMillis      int
	listenOnly, deaf bool
}

// buildAnswer writes the SDP answer for o: its own SRTP key (the one the
// leg protects with) and a direction narrowed by what the bridge does for
// this participant: a listen-only participant is never heard (the bridge
// only sends), a deaf one is sent nothing.
func buildAnswer(o *offer, a answerParams) ([]byte, error) {
	leg := *o.leg
	leg.Ptime = time.Duration(a.ptimeMillis) * time.Millisecond
	switch send, recv := leg.Direction.Send() && !a.deaf, leg.Direction.Recv() && !a.listenOnly; {
	case send && recv:
		leg.Direction = negotiate.SendRecv
	case send:
		leg.Direction = negotiate.SendOnly
	case recv:
		leg.Direction = negotiate.RecvOnly
	default:
		leg.Direction = negotiate.Inactive
	}
	return leg.MarshalAnswer(negotiate.Local{Addr: a.ip, RTPPort: a.rtpPort, RTCPPort: a.rtcpPort,
		SessionID: a.sessionID, SessionVersion: a.sessionVersion})
}

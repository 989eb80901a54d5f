package bridge

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/negotiate"
)

// sdpState is what a leg's offer/answer exchanges have agreed so far: the
// last Leg (which a re-offer is negotiated against), the o= line's session
// ID and version, and whether the API made the participant listen-only.
// mu serialises re-offers of one leg.
type sdpState struct {
	mu         sync.Mutex
	leg        *negotiate.Leg
	sessionID  uint64
	version    uint64
	listenOnly bool
}

// encoderFor is the bridge's encoder options for a codec: for Opus a
// bitrate and in-band FEC that ride out a few percent of loss (the peer's
// fmtp is not followed), nothing for the others.
func encoderFor(f codec.Format) codec.Config {
	if f.Name == "opus" {
		return codec.Config{Bitrate: 32000, FEC: true, PacketLossPercent: 5}
	}
	return codec.Config{}
}

// payloadType is the payload type the participant sends on now.
func (l *leg) payloadType() uint8 {
	pt, _ := l.p.Config().InPayloadType.Value()
	return pt
}

// handleReoffer answers a re-offer for an existing participant, what a SIP
// front end sends on a re-INVITE: hold (sendonly or inactive), resume, a
// codec change, new keys from the peer. The participant changes in place
// (mixer.Participant.Update): its sockets, its SSRC, its talk state and
// its jitter buffer carry on. The answer keeps the first answer's session
// ID with the next version, the bridge's SRTP key while the suite is the
// same, and the codec in use while the re-offer lists it.
//
// What the leg's sockets fixed at the join cannot change: rtcp-mux, plain
// RTP against SRTP, the crypto suite, and the address media goes to; a
// re-offer that changes one is refused with 488 and the call goes on as it
// was. An unspecified address (c=0.0.0.0, the RFC 2543 hold) is taken as
// "keep sending where the media comes from".
func (s *Server) handleReoffer(w http.ResponseWriter, req *http.Request) {
	l, err := s.leg(req)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	if l.rtc != nil {
		writeError(w, statusNotAcceptableHere, fmt.Errorf("%w: %q is a WebRTC leg, which the bridge does not renegotiate: leave (DELETE) and join again",
			errNotAcceptable, l.id))
		return
	}
	body, ok := readOffer(w, req)
	if !ok {
		return
	}
	answer, err := s.reoffer(l, body)
	if err != nil {
		s.log.Info("re-offer refused", "room", l.room.name, "id", l.id, "err", err)
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(answer)
}

// reoffer negotiates body against l's last exchange, applies it to the
// participant and returns the answer.
func (s *Server) reoffer(l *leg, body []byte) ([]byte, error) {
	st := &l.sdp
	st.mu.Lock()
	defer st.mu.Unlock()
	next, err := negotiate.Reanswer(body, offerPolicy(s.supported), st.leg)
	switch {
	case errors.Is(err, negotiate.ErrMalformed):
		return nil, &offerError{errBadOffer, err}
	case err != nil:
		return nil, &offerError{errNotAcceptable, err}
	}
	if err := sameTransport(st.leg, next, l.offer); err != nil {
		return nil, err
	}
	listenOnly := st.listenOnly || !next.Direction.Recv()
	err = l.p.Update(func(c *mixer.ParticipantConfig) {
		next.Apply(c)
		if st.listenOnly {
			c.Direction = mixer.DirectionOf(c.Direction.Send(), false)
		}
		c.Encoder = encoderFor(next.Codec)
	})
	if errors.Is(err, mixer.ErrClosed) {
		return nil, fmt.Errorf("%w: %q", errNoParticipant, l.id)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotAcceptable, err)
	}
	// The mixer's SRTCP follows the new keys with its SRTP (accepting the
	// old ones for the overlap), and its sender reports the new clock.
	o := &offer{leg: next}
	answer, err := buildAnswer(o, answerParams{
		ip: s.mediaIP, rtpPort: l.rtpPort(), rtcpPort: l.rtcpPort(), sessionID: st.sessionID, sessionVersion: st.version + 1,
		ptimeMillis: int(l.p.Ptime().Milliseconds()),
		listenOnly:  listenOnly, deaf: !next.Direction.Send(),
	})
	if err != nil {
		return nil, err
	}
	st.leg, st.version = next, st.version+1
	s.log.Info("participant re-offered", "room", l.room.name, "id", l.id, "codec", next.Codec.SDPName(),
		"pt", next.Codec.PayloadType, "direction", next.Direction.String(), "version", st.version)
	return answer, nil
}

// sameTransport refuses a re-offer that changes what the leg's sockets and
// SRTCP contexts were set up for at the join (o).
func sameTransport(prev, next *negotiate.Leg, o *offer) error {
	switch {
	case next.RTCPMux != prev.RTCPMux:
		return fmt.Errorf("%w: rtcp-mux cannot change in a re-offer (the leg's sockets are bound): leave and join again", errNotAcceptable)
	case (next.SRTP == nil) != (prev.SRTP == nil):
		return fmt.Errorf("%w: a re-offer cannot switch between RTP and SRTP: leave and join again", errNotAcceptable)
	case next.SRTP != nil && next.SRTP.Local.Keys.Profile != prev.SRTP.Local.Keys.Profile:
		return fmt.Errorf("%w: crypto suite %s, the call's is %s: leave and join again", errNotAcceptable,
			next.SRTP.Suite, prev.SRTP.Suite)
	case !next.RemoteRTP.Addr().IsUnspecified() && next.RemoteRTP != o.rtpDst:
		return fmt.Errorf("%w: media address %v, the call's is %v: leave and join again", errNotAcceptable,
			next.RemoteRTP, o.rtpDst)
	}
	return nil
}

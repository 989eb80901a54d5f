package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/negotiate"
	"github.com/rtpmix/rtpmix/srtp"
)

// The gateway can answer each side's SDP offer (-a-offer, -b-offer) instead
// of taking the peer's address, payload type and key from flags: package
// negotiate reads the offer against the side's policy before the sockets
// are bound, and the answer is written once they are, with their ports.

// sidePolicy is what side ("A" or "B") accepts: PCMU over plain RTP on A,
// Opus over SRTP with the one suite given on B. Both send every ptime and
// need both directions; neither does RTCP, so neither takes rtcp-mux.
func sidePolicy(side string, ptime time.Duration, suite srtp.Profile) negotiate.Policy {
	if side == "A" {
		return negotiate.Policy{Codecs: []codec.Format{g711.PCMU}, SRTP: negotiate.SRTPRefused, Ptime: ptime,
			SessionName: "transcode A"}
	}
	return negotiate.Policy{Codecs: []codec.Format{opus.Format}, SRTP: negotiate.SRTPRequired,
		SRTPProfiles: []srtp.Profile{suite}, Ptime: ptime, SessionName: "transcode B"}
}

// applyOffer negotiates side's offer and sets cfg's peer, payload type and,
// for B, both SRTP keys from it (this end's are new). A peer at an
// unspecified address (c=0.0.0.0) is latched onto, as without -a-peer.
func applyOffer(cfg *Config, side string, offer []byte, suite srtp.Profile) (*negotiate.Leg, error) {
	ptime := cfg.Ptime
	if ptime == 0 {
		ptime = 20 * time.Millisecond // New's default, written in the answer
	}
	leg, err := negotiate.Answer(offer, sidePolicy(side, ptime, suite))
	if err != nil {
		return nil, fmt.Errorf("side %s offer: %w", side, err)
	}
	if leg.Direction != negotiate.SendRecv {
		return nil, fmt.Errorf("side %s offer: %w: the offer makes the stream %s; a transcoder needs both directions",
			side, negotiate.ErrNotAcceptable, leg.Direction)
	}
	peer := leg.RemoteRTP
	if peer.Addr().IsUnspecified() {
		peer = netip.AddrPort{}
	}
	if side == "A" {
		cfg.APeer, cfg.APayloadType = peer, leg.Codec.PayloadType
	} else {
		cfg.BPeer, cfg.BPayloadType = peer, leg.Codec.PayloadType
		cfg.BRecvKeys, cfg.BSendKeys = leg.SRTP.Remote.Keys, leg.SRTP.Local.Keys
	}
	return leg, nil
}

// answerOffer returns the answer for side's negotiated leg, with the
// address and port its socket is bound to.
func answerOffer(g *Gateway, side string, leg *negotiate.Leg) ([]byte, error) {
	a := g.Addr(side)
	if a.Addr().IsUnspecified() {
		return nil, fmt.Errorf("side %s listens on %v: an answer must name the address peers send to; give -%s an IP",
			side, a, strings.ToLower(side))
	}
	return leg.MarshalAnswer(negotiate.Local{Addr: a.Addr().Unmap(), RTPPort: int(a.Port())})
}

// readOffer reads an offer file, at most negotiate.MaxSize bytes.
func readOffer(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > negotiate.MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than an SDP offer can be (%d)", path, st.Size(), negotiate.MaxSize)
	}
	return os.ReadFile(path)
}

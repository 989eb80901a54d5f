package negotiate

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// Direction is a media direction attribute (RFC 3264 §5.1, RFC 8866 §6.7),
// always from the point of view of the side that writes it; the zero value
// is SendRecv. It is the mixer's Direction: a Leg's, which is this end's,
// goes into mixer.ParticipantConfig.Direction as it is.
type Direction = mixer.Direction

// The four directions.
const (
	SendRecv = mixer.SendRecv
	SendOnly = mixer.SendOnly
	RecvOnly = mixer.RecvOnly
	Inactive = mixer.Inactive
)

// intersect returns what both d and e allow.
func intersect(d, e Direction) Direction {
	return mixer.DirectionOf(d.Send() && e.Send(), d.Recv() && e.Recv())
}

// parseDirection maps an attribute name to its Direction.
func parseDirection(s string) (Direction, bool) {
	switch s {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}

// SRTPMode says whether a leg may, must or must not be protected with SRTP
// keyed by SDES (RFC 4568). The zero value is SRTPAllowed.
type SRTPMode uint8

// The three modes.
const (
	// SRTPAllowed answers RTP/SAVP offers with SRTP and RTP/AVP offers with
	// plain RTP. An offer built with it is plain RTP/AVP: SDES has no
	// standard way to offer SRTP as optional.
	SRTPAllowed SRTPMode = iota
	// SRTPRequired refuses plain RTP/AVP offers; offers are RTP/SAVP.
	SRTPRequired
	// SRTPRefused refuses RTP/SAVP offers; offers are RTP/AVP.
	SRTPRefused
)

// String returns "allowed", "required" or "refused".
func (m SRTPMode) String() string {
	switch m {
	case SRTPAllowed:
		return "allowed"
	case SRTPRequired:
		return "required"
	case SRTPRefused:
		return "refused"
	}
	return fmt.Sprintf("SRTPMode(%d)", uint8(m))
}

// AudioLevelURI names the RFC 6464 client-to-mixer audio level header
// extension in a=extmap.
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// MaxSize is the largest SDP body Answer and Accept read (64 KiB). A SIP
// phone's offer is a few hundred bytes; a browser's with many codecs and
// candidates a few kilobytes.
const MaxSize = 64 << 10

// Default values Policy applies to its zero fields.
const (
	DefaultAudioLevelID     = 1
	DefaultTelephoneEventPT = 101
)

// Policy is what this end supports and wants: the same Policy answers
// inbound offers and builds outbound ones. A Policy is a value; Answer and
// NewOffer only read it, so one may be shared by any number of goroutines
// as long as none modifies it.
type Policy struct {
	// Codecs this end supports, in its order of preference. Each Format's
	// PayloadType is the one offered (answers use the offer's payload
	// type) and its Fmtp the parameters written for it; codec.Lookup
	// returns formats with both filled in. Required.
	Codecs []codec.Format
	// PreferLocalOrder makes Answer pick the first of Codecs that the offer
	// contains. By default it picks the first codec in the offer's order
	// that Codecs contains, as RFC 3264 §6.1 recommends (the caller's
	// preference wins: a browser that puts Opus first gets Opus).
	PreferLocalOrder bool

	// SRTP is whether SDES-keyed SRTP is allowed (the default), required
	// or refused.
	SRTP SRTPMode
	// SRTPProfiles lists the crypto suites accepted, and offered in this
	// order; nil means every suite package srtp implements, strongest first
	// (srtp.Profiles). Answer keeps the offerer's order among them.
	SRTPProfiles []srtp.Profile

	// RTCPMux accepts RFC 5761 RTCP multiplexing when an offer asks for it,
	// and asks for it in offers (with an RTCP port as fallback, as RFC 5761
	// §5.1.1 requires of an offerer).
	RTCPMux bool

	// Ptime, when non-zero, is written as a=ptime: the packet duration this
	// end would like to receive. Whole milliseconds, at most 1 s.
	Ptime time.Duration

	// AudioLevels accepts (and offers) the RFC 6464 audio level header
	// extension, so that a mixer reads a sender's level without decoding.
	// AudioLevelID is the one-byte extension ID offered, 1..14, default 1;
	// answers use the offer's ID.
	AudioLevels  bool
	AudioLevelID uint8

	// TelephoneEvent accepts (and offers) RFC 4733 telephone-events.
	// Offers list one telephone-event per clock rate among Codecs, the
	// first on TelephoneEventPT (default 101) and the others on the next
	// free dynamic payload types.
	TelephoneEvent   bool
	TelephoneEventPT uint8

	// ComfortNoise accepts (and offers) RFC 3389 comfort noise at the
	// chosen codec's clock rate (offers: CN/8000 on payload type 13 when an
	// 8 kHz codec is offered).
	ComfortNoise bool

	// Direction is what this end wants to do; SendRecv by default. A
	// listen-only participant is SendOnly (this end only sends to it); the
	// negotiated Leg.Direction is never more than both sides allow.
	Direction Direction

	// SessionName is the s= line; "-" by default.
	SessionName string
}

// Local is where this end receives media, and the o= line's session
// identity: what changes from call to call.
type Local struct {
	// Addr is the address written in c= and o=: IPv4 or IPv6, the one
	// peers send to (not an unspecified address, unless putting a call on
	// hold the RFC 2543 way).
	Addr netip.Addr
	// RTPPort, 1..65535, receives RTP (and RTCP when multiplexed).
	RTPPort int
	// RTCPPort receives RTCP when it is not multiplexed; 0 means
	// RTPPort+1. An offer that asks for rtcp-mux still names it, for a
	// peer that declines.
	RTCPPort int
	// SessionID and SessionVersion fill the o= line. SessionID 0 picks a
	// random one; SessionVersion 0 means 1. A re-offer or re-answer keeps
	// the ID and increments the version (RFC 3264 §8).
	SessionID, SessionVersion uint64
}

// validate checks the parts of p that both answering and offering use.
func (p *Policy) validate() error {
	if len(p.Codecs) == 0 {
		return fmt.Errorf("%w: no codecs", ErrPolicy)
	}
	for i, f := range p.Codecs {
		if f.Name == "" || strings.ContainsAny(f.Name, "/ \t\r\n") || f.ClockRate <= 0 || f.Channels < 0 {
			return fmt.Errorf("%w: codec %d %q is not an SDP encoding", ErrPolicy, i, f.SDPName())
		}
		if f.PayloadType > 127 {
			return fmt.Errorf("%w: codec %s payload type %d (want 0..127)", ErrPolicy, f.SDPName(), f.PayloadType)
		}
		if strings.ContainsAny(f.Fmtp, "\r\n") {
			return fmt.Errorf("%w: codec %s fmtp contains a line break", ErrPolicy, f.SDPName())
		}
	}
	if p.SRTP > SRTPRefused {
		return fmt.Errorf("%w: %v", ErrPolicy, p.SRTP)
	}
	for _, pr := range p.SRTPProfiles {
		if !pr.Valid() {
			return fmt.Errorf("%w: SRTP profile %v", ErrPolicy, pr)
		}
	}
	if p.SRTP == SRTPRequired && p.SRTPProfiles != nil && len(p.SRTPProfiles) == 0 {
		return fmt.Errorf("%w: SRTP required with an empty list of profiles", ErrPolicy)
	}
	if p.Ptime < 0 || p.Ptime > time.Second || p.Ptime%time.Millisecond != 0 {
		return fmt.Errorf("%w: ptime %v (want whole milliseconds up to 1s)", ErrPolicy, p.Ptime)
	}
	if p.AudioLevelID > 14 {
		return fmt.Errorf("%w: audio level extension ID %d (one-byte IDs are 1..14)", ErrPolicy, p.AudioLevelID)
	}
	if p.TelephoneEventPT != 0 && (p.TelephoneEventPT < 96 || p.TelephoneEventPT > 127) {
		return fmt.Errorf("%w: telephone-event payload type %d (want a dynamic one, 96..127)", ErrPolicy, p.TelephoneEventPT)
	}
	if !p.Direction.Valid() {
		return fmt.Errorf("%w: %v", ErrPolicy, p.Direction)
	}
	if strings.ContainsAny(p.SessionName, "\r\n") {
		return fmt.Errorf("%w: session name contains a line break", ErrPolicy)
	}
	return nil
}

// profiles returns the SRTP profiles p accepts, in its order.
func (p *Policy) profiles() []srtp.Profile {
	if p.SRTPProfiles == nil {
		return srtp.Profiles()
	}
	return p.SRTPProfiles
}

// codecIndex returns the index in p.Codecs of the codec an rtpmap name
// denotes, or -1.
func (p *Policy) codecIndex(name encoding) int {
	for i, f := range p.Codecs {
		if name.is(f) {
			return i
		}
	}
	return -1
}

// validate checks l and fills in its defaults.
func (l *Local) validate() error {
	if !l.Addr.IsValid() {
		return fmt.Errorf("%w: no local address", ErrPolicy)
	}
	if l.RTPPort < 1 || l.RTPPort > 65535 {
		return fmt.Errorf("%w: RTP port %d (want 1..65535)", ErrPolicy, l.RTPPort)
	}
	if l.RTCPPort == 0 {
		l.RTCPPort = l.RTPPort + 1
		if l.RTCPPort > 65535 {
			return fmt.Errorf("%w: RTP port 65535 leaves no room for RTCP; give RTCPPort", ErrPolicy)
		}
	}
	if l.RTCPPort < 1 || l.RTCPPort > 65535 {
		return fmt.Errorf("%w: RTCP port %d (want 1..65535)", ErrPolicy, l.RTCPPort)
	}
	if l.SessionID == 0 {
		l.SessionID = randomSessionID()
	}
	if l.SessionVersion == 0 {
		l.SessionVersion = 1
	}
	return nil
}

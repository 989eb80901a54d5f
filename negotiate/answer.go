package negotiate

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/srtp"
)

// Answer negotiates an SDP offer against p and returns what was agreed.
// Nothing is allocated or bound: a caller that finds the Leg acceptable
// opens its sockets (one when Leg.RTCPMux, else two) and then writes the
// answer with Leg.MarshalAnswer.
//
// The first audio m-line with a non-zero port that p can accept is chosen;
// every other m-line is rejected in the answer. With SRTP, this end's keys
// are generated here (Leg.SRTP.Local).
//
// Errors wrap ErrMalformed (the offer is not readable SDP, or a line the
// choice depends on is malformed), ErrNotAcceptable (with the reason:
// nothing offered that p accepts; ErrDTLS too for a WebRTC offer), or
// ErrPolicy.
func Answer(offer []byte, p Policy) (*Leg, error) {
	return answer(offer, p, nil)
}

// Reanswer answers a re-offer (RFC 3264 §8) in the dialog whose last
// exchange agreed prev, as a SIP server does for a re-INVITE or UPDATE
// (hold, resume, codec change, re-keying, a new address). It negotiates as
// Answer does, with two differences that keep the call's media steady:
//
//   - the codec in use is kept when the re-offer still lists it and p
//     accepts it, whatever the re-offer's order (a hold does not switch
//     codecs because a phone reordered its list);
//   - this end's SDES key is kept when the accepted suite is the same, so
//     the outbound stream is not re-keyed by every re-INVITE (a peer that
//     switches keys only when the answer reaches it would drop what is
//     sent meanwhile); the peer's key is whatever the re-offer says.
//
// The result applies to the participant with Participant.Update(leg.Apply)
// and answers with leg.MarshalAnswer, whose Local keeps the SessionID of
// the first answer and increments SessionVersion. Errors are Answer's.
func Reanswer(offer []byte, p Policy, prev *Leg) (*Leg, error) {
	if prev == nil {
		return nil, fmt.Errorf("%w: Reanswer needs the previous Leg", ErrPolicy)
	}
	return answer(offer, p, prev)
}

// answer is Answer, and Reanswer when prev is set.
func answer(offer []byte, p Policy, prev *Leg) (*Leg, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	sd, err := parse(offer)
	if err != nil {
		return nil, err
	}
	var refusals []error
	for i, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		m, err := readMedia(sd, md)
		if err != nil {
			return nil, err
		}
		leg, err := p.answerMedia(m, prev)
		if err == nil {
			leg.answer = &answerState{index: i, mid: m.mid, levelParams: m.levelParams, policy: p}
			leg.answer.offered = make([]sdp.MediaName, len(sd.MediaDescriptions))
			for j, md := range sd.MediaDescriptions {
				leg.answer.offered[j] = md.MediaName
			}
			return leg, nil
		}
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrPolicy) {
			return nil, err
		}
		refusals = append(refusals, fmt.Errorf("m-line %d: %w", i+1, err))
	}
	switch len(refusals) {
	case 0:
		return nil, fmt.Errorf("%w: no audio m-line with a non-zero port", ErrNotAcceptable)
	case 1:
		return nil, errors.Unwrap(refusals[0])
	}
	return nil, &refusal{refusals}
}

// refusal reports why each of several audio m-lines was refused; errors.Is
// finds ErrNotAcceptable, and ErrDTLS when one of them was a WebRTC stream.
type refusal struct{ errs []error }

func (r *refusal) Error() string {
	prefix := ErrNotAcceptable.Error() + ": "
	parts := make([]string, len(r.errs))
	for i, e := range r.errs {
		parts[i] = strings.Replace(e.Error(), prefix, "", 1)
	}
	return prefix + strings.Join(parts, "; ")
}

func (r *refusal) Unwrap() []error { return r.errs }

// setTransport fills in where RTP and RTCP go and whether RTCP is
// multiplexed, from the remote m-line and whether this end accepts mux.
func (l *Leg) setTransport(m *media, mux bool) {
	l.RemoteRTP = addrPort(m.addr, m.port)
	l.RTCPMux = m.mux && mux
	if l.RTCPMux {
		l.RemoteRTCP = l.RemoteRTP
	} else {
		l.RemoteRTCP = m.rtcp
	}
}

// transport classifies an m-line's proto: plain or SDES-keyed RTP, or an
// error saying why it cannot be used.
func transport(proto string, cryptos int) (secure bool, err error) {
	switch proto {
	case "RTP/AVP", "RTP/AVPF":
		if cryptos > 0 {
			// RFC 4568 §3.1.4: SDES belongs to RTP/SAVP. Answering plain
			// RTP would leave the offerer expecting SRTP it never gets (or
			// sending it to a peer that cannot read it); say so instead.
			return false, fmt.Errorf("%w: a=crypto on %s: SDES-keyed SRTP must be offered as RTP/SAVP; "+
				"refusing rather than ignoring the keys (ffmpeg's -sdp_file writes RTP/AVP: change it to RTP/SAVP)",
				ErrNotAcceptable, proto)
		}
		return false, nil
	case "RTP/SAVP", "RTP/SAVPF":
		if cryptos == 0 {
			return true, fmt.Errorf("%w: %s without a=crypto (SDES) lines: other key exchanges (MIKEY, ZRTP) are not supported",
				ErrNotAcceptable, proto)
		}
		return true, nil
	}
	if strings.Contains(proto, "TLS/RTP/SAVP") {
		return false, fmt.Errorf("%w: transport %s: %w", ErrNotAcceptable, proto, ErrDTLS)
	}
	return false, fmt.Errorf("%w: transport %q (want RTP/AVP or RTP/SAVP)", ErrNotAcceptable, proto)
}

// answerMedia applies p to one offered audio m-line; prev, when set, is
// the previous exchange's Leg (see Reanswer).
func (p *Policy) answerMedia(m *media, prev *Leg) (*Leg, error) {
	secure, err := transport(m.proto, len(m.cryptos))
	if err != nil {
		return nil, err
	}
	switch {
	case secure && p.SRTP == SRTPRefused:
		return nil, fmt.Errorf("%w: %s (SRTP) offered and the policy refuses SRTP", ErrNotAcceptable, m.proto)
	case !secure && p.SRTP == SRTPRequired:
		return nil, fmt.Errorf("%w: plain %s offered and the policy requires SRTP (RTP/SAVP with a=crypto)", ErrNotAcceptable, m.proto)
	}

	leg := &Leg{Proto: m.proto, RemotePtime: m.ptime, RemoteMaxPtime: m.maxptime, Ptime: p.Ptime}
	f, err := p.chooseCodec(m.formats, prev)
	if err != nil {
		return nil, err
	}
	leg.Codec = p.Codecs[f.policy]
	leg.Codec.PayloadType = f.pt
	leg.RemoteFmtp = f.fmtp

	if secure {
		if leg.SRTP, err = p.chooseCrypto(m.cryptos); err != nil {
			return nil, err
		}
		if prev != nil && prev.SRTP != nil && prev.SRTP.Local.Keys.Profile == leg.SRTP.Local.Keys.Profile {
			leg.SRTP.Local.Keys = prev.SRTP.Local.Keys
		}
	}
	leg.setTransport(m, p.RTCPMux)
	leg.Direction = intersect(p.Direction, m.dir.Reverse())
	if p.AudioLevels {
		leg.AudioLevelID = m.levelID
	}
	if p.TelephoneEvent {
		leg.TelephoneEventPayloadType, leg.TelephoneEventClockRate = pickByClock(m.formats, "telephone-event", leg.Codec.ClockRate, true)
	}
	if p.ComfortNoise {
		leg.CNPayloadType, _ = pickByClock(m.formats, "CN", leg.Codec.ClockRate, false)
	}
	return leg, nil
}

// chosen is the offered format picked and the index of its codec in the
// policy.
type chosen struct {
	format
	policy int
}

// chooseCodec picks the codec, in the offer's order or in p's; prev's
// codec first when it is offered and accepted.
func (p *Policy) chooseCodec(formats []format, prev *Leg) (chosen, error) {
	if prev != nil {
		for _, f := range formats {
			if i := p.codecIndex(f.enc); f.known && i >= 0 && f.enc.is(prev.Codec) {
				return chosen{format: f, policy: i}, nil
			}
		}
	}
	best := chosen{policy: -1}
	for _, f := range formats {
		if !f.known {
			continue
		}
		i := p.codecIndex(f.enc)
		if i < 0 {
			continue
		}
		if best.policy < 0 || (p.PreferLocalOrder && i < best.policy) {
			best = chosen{format: f, policy: i}
			if !p.PreferLocalOrder {
				break
			}
		}
	}
	if best.policy >= 0 {
		return best, nil
	}
	offered := make([]string, 0, len(formats))
	for _, f := range formats {
		if !f.known || (!f.enc.named("telephone-event") && !f.enc.named("CN")) {
			offered = append(offered, f.String())
		}
	}
	ours := make([]string, len(p.Codecs))
	for i, c := range p.Codecs {
		ours[i] = c.SDPName()
	}
	return chosen{}, fmt.Errorf("%w: no supported codec among %v (this end takes %s)",
		ErrNotAcceptable, offered, strings.Join(ours, ", "))
}

// chooseCrypto picks the first offered a=crypto line p accepts and
// generates this end's key for it.
func (p *Policy) chooseCrypto(lines []string) (*SDES, error) {
	allowed := p.profiles()
	sdes, reasons, err := firstCrypto(lines, func(c srtp.Crypto, suite string) (*SDES, string, error) {
		switch {
		case !slices.Contains(allowed, c.Keys.Profile):
			return nil, fmt.Sprintf("%s not allowed by the policy", suite), nil
		case len(c.ExtraKeys) > 0:
			// Each direction's context takes one master key here; a line
			// with several (RFC 4568 §6.1, MKIs) would fail on the switch.
			return nil, fmt.Sprintf("%s with %d master keys (one per line is supported)", suite, 1+len(c.ExtraKeys)), nil
		}
		ours, err := srtp.GenerateKeys(c.Keys.Profile)
		if err != nil { // only for a profile srtp does not know, which ParseSDES excludes
			return nil, "", fmt.Errorf("%w: %w", ErrPolicy, err)
		}
		return &SDES{Tag: c.Tag, Suite: suite, Remote: c, Local: srtp.Crypto{Tag: c.Tag, Keys: ours}}, "", nil
	})
	if sdes == nil && err == nil {
		err = fmt.Errorf("%w: no supported crypto suite: %s", ErrNotAcceptable, strings.Join(reasons, "; "))
	}
	return sdes, err
}

// pickByClock returns the payload type and clock of the first format named
// name whose clock is clock, or, when anyClock, of the first named name.
// Payload type 0 is PCMU's (RFC 3551), and 0 means "none" in a Leg: an
// offer that maps it to telephone-event or CN is not followed.
func pickByClock(formats []format, name string, clock int, anyClock bool) (uint8, int) {
	var fallback *format
	for i := range formats {
		f := &formats[i]
		if !f.known || !f.enc.named(name) || f.pt == 0 {
			continue
		}
		if f.enc.clock == clock {
			return f.pt, f.enc.clock
		}
		if fallback == nil {
			fallback = f
		}
	}
	if anyClock && fallback != nil {
		return fallback.pt, fallback.enc.clock
	}
	return 0, 0
}

// MarshalAnswer writes the SDP answer for a Leg from Answer, with this
// end's address and ports from local: the chosen m-line with the codec on
// the offer's payload type (and telephone-event and CN when agreed), every
// other m-line rejected with port 0, as RFC 3264 §6 asks. It writes the
// Leg's Direction and Ptime as they are, so a server that decides more
// after Answer sets them on a copy first: the bridge narrows Direction for
// a listen-only participant and writes its room's ptime. It may be called
// again, e.g. with a new SessionVersion. Errors wrap ErrPolicy (a bad
// Local, or a Leg that did not come from Answer).
func (l *Leg) MarshalAnswer(local Local) ([]byte, error) {
	if l.answer == nil {
		return nil, fmt.Errorf("%w: MarshalAnswer needs a Leg from Answer", ErrPolicy)
	}
	if err := local.validate(); err != nil {
		return nil, err
	}
	a := l.answer
	sd := session(local, a.policy.SessionName)
	for i, mn := range a.offered {
		if i != a.index {
			sd.WithMedia(&sdp.MediaDescription{MediaName: sdp.MediaName{
				Media: mn.Media, Port: sdp.RangedPort{Value: 0}, Protos: mn.Protos, Formats: rejectedFormats(mn.Formats),
			}})
			continue
		}
		md := mediaLine(local.RTPPort, l.Proto, []codec.Format{l.Codec}, l.extras())
		if a.mid != "" {
			md.WithValueAttribute("mid", a.mid)
		}
		l.commonAttributes(md, local)
		if l.AudioLevelID != 0 {
			v := fmt.Sprintf("%d %s", l.AudioLevelID, AudioLevelURI)
			if a.levelParams != "" {
				v += " " + a.levelParams
			}
			md.WithValueAttribute("extmap", v)
		}
		if l.SRTP != nil {
			md.WithValueAttribute("crypto", l.SRTP.line(l.SRTP.Local))
		}
		md.WithPropertyAttribute(l.Direction.String())
		sd.WithMedia(md)
	}
	return sd.Marshal()
}

// rejectedFormats keeps a rejected m-line's formats (RFC 3264 §6: at least
// one must be listed).
func rejectedFormats(f []string) []string {
	if len(f) == 0 {
		return []string{"0"}
	}
	return f
}

// commonAttributes adds what answers write after the formats: ptime and
// rtcp-mux, or the RTCP port (RFC 3605), named even when it is the next
// one so that no peer has to know the default.
func (l *Leg) commonAttributes(md *sdp.MediaDescription, local Local) {
	if l.Ptime > 0 {
		md.WithValueAttribute("ptime", fmt.Sprint(l.Ptime.Milliseconds()))
	}
	if l.RTCPMux {
		md.WithPropertyAttribute("rtcp-mux")
	} else {
		md.WithValueAttribute("rtcp", fmt.Sprint(local.RTCPPort))
	}
}

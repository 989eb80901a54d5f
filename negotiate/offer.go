package negotiate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/srtp"
)

// Offer is an SDP offer for an outbound call, with what it takes to read
// the answer: the payload types offered and this end's SRTP keys, one per
// offered a=crypto line. An Offer is not changed after NewOffer; SDP and
// Accept may be called from any goroutine.
type Offer struct {
	policy  Policy
	local   Local
	proto   string
	codecs  []codec.Format
	events  []extra // telephone-event, one per clock rate
	cn      []extra // CN/8000, when offered
	cryptos []srtp.Crypto
	levelID uint8
	sdp     []byte
}

// NewOffer builds an offer from p, received at local: one audio m-line
// listing p.Codecs on their payload types (then telephone-event and CN if
// p asks for them), RTP/SAVP with one a=crypto line per suite of
// p.SRTPProfiles when p requires SRTP (each with a fresh key), RTP/AVP
// otherwise. Errors wrap ErrPolicy.
func NewOffer(p Policy, local Local) (*Offer, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := local.validate(); err != nil {
		return nil, err
	}
	o := &Offer{policy: p, local: local, proto: "RTP/AVP", codecs: p.Codecs}
	used := map[uint8]string{}
	for _, f := range p.Codecs {
		if prev, dup := used[f.PayloadType]; dup {
			return nil, fmt.Errorf("%w: %s and %s both on payload type %d", ErrPolicy, prev, f.SDPName(), f.PayloadType)
		}
		used[f.PayloadType] = f.SDPName()
	}
	if p.TelephoneEvent {
		pref := p.TelephoneEventPT
		if pref == 0 {
			pref = DefaultTelephoneEventPT
		}
		seen := map[int]bool{}
		for _, f := range p.Codecs {
			if seen[f.ClockRate] {
				continue
			}
			seen[f.ClockRate] = true
			pt, err := allocatePT(used, pref, "telephone-event")
			if err != nil {
				return nil, err
			}
			o.events = append(o.events, extra{pt, encoding{"telephone-event", f.ClockRate, 0}, telephoneEventFmtp})
		}
	}
	if p.ComfortNoise {
		for _, f := range p.Codecs {
			if f.ClockRate == 8000 {
				pt, err := allocatePT(used, 13, "CN")
				if err != nil {
					return nil, err
				}
				o.cn = append(o.cn, extra{pt, encoding{"CN", 8000, 0}, ""})
				break
			}
		}
	}
	if p.SRTP == SRTPRequired {
		o.proto = "RTP/SAVP"
		for i, pr := range p.profiles() {
			k, err := srtp.GenerateKeys(pr)
			if err != nil { // validate checked pr; crypto/rand does not fail (Go 1.24)
				return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
			}
			o.cryptos = append(o.cryptos, srtp.Crypto{Tag: i + 1, Keys: k})
		}
	}
	if p.AudioLevels {
		if o.levelID = p.AudioLevelID; o.levelID == 0 {
			o.levelID = DefaultAudioLevelID
		}
	}

	sd := session(local, p.SessionName)
	md := mediaLine(local.RTPPort, o.proto, o.codecs, append(append([]extra(nil), o.events...), o.cn...))
	if p.Ptime > 0 {
		md.WithValueAttribute("ptime", fmt.Sprint(p.Ptime.Milliseconds()))
	}
	// The RTCP port (RFC 3605), also with an offer of rtcp-mux, for an
	// answerer that declines it (RFC 5761 §5.1.1).
	md.WithValueAttribute("rtcp", fmt.Sprint(local.RTCPPort))
	if p.RTCPMux {
		md.WithPropertyAttribute("rtcp-mux")
	}
	if o.levelID != 0 {
		md.WithValueAttribute("extmap", fmt.Sprintf("%d %s", o.levelID, AudioLevelURI))
	}
	for _, c := range o.cryptos {
		md.WithValueAttribute("crypto", c.String())
	}
	md.WithPropertyAttribute(p.Direction.String())
	sd.WithMedia(md)
	var err error
	if o.sdp, err = sd.Marshal(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	return o, nil
}

// allocatePT returns pref if no codec uses it, else the first free dynamic
// payload type, and marks it used.
func allocatePT(used map[uint8]string, pref uint8, name string) (uint8, error) {
	if _, taken := used[pref]; !taken {
		used[pref] = name
		return pref, nil
	}
	for pt := uint8(96); pt <= 127; pt++ {
		if _, taken := used[pt]; !taken {
			used[pt] = name
			return pt, nil
		}
	}
	return 0, fmt.Errorf("%w: no dynamic payload type left for %s", ErrPolicy, name)
}

// SDP returns the offer's text, with CRLF line ends.
func (o *Offer) SDP() []byte { return append([]byte(nil), o.sdp...) }

// Accept reads the peer's answer to o and returns what was agreed. The
// answer's first m-line answers o's only one. Errors wrap ErrMalformed or
// ErrNotAcceptable (the answer rejects the stream, or picks what was not
// offered).
func (o *Offer) Accept(answer []byte) (*Leg, error) {
	sd, err := parse(answer)
	if err != nil {
		return nil, err
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: the answer has no m-line (the offer has one)", ErrMalformed)
	}
	md := sd.MediaDescriptions[0]
	if md.MediaName.Media != "audio" {
		return nil, fmt.Errorf("%w: the answer's m-line is %q, the offer's audio", ErrMalformed, md.MediaName.Media)
	}
	if md.MediaName.Port.Value == 0 {
		return nil, fmt.Errorf("%w: the answer rejects the audio stream (port 0)", ErrNotAcceptable)
	}
	m, err := readMedia(sd, md)
	if err != nil {
		return nil, err
	}
	secure, err := transport(m.proto, len(m.cryptos))
	if err != nil {
		return nil, err
	}
	if m.proto != o.proto {
		return nil, fmt.Errorf("%w: the answer's transport is %s, the offer's %s", ErrNotAcceptable, m.proto, o.proto)
	}
	p := &o.policy
	leg := &Leg{Proto: m.proto, RemotePtime: m.ptime, RemoteMaxPtime: m.maxptime, Ptime: p.Ptime}
	if leg.Codec, leg.RemoteFmtp, err = o.answeredCodec(m.formats); err != nil {
		return nil, err
	}
	if secure {
		if leg.SRTP, err = o.answeredCrypto(m.cryptos); err != nil {
			return nil, err
		}
	}
	leg.setTransport(m, p.RTCPMux)
	leg.Direction = intersect(p.Direction, m.dir.Reverse())
	if o.levelID != 0 {
		leg.AudioLevelID = m.levelID
	}
	leg.TelephoneEventPayloadType, leg.TelephoneEventClockRate = pickByClock(offeredOnly(m.formats, o.events), "telephone-event", leg.Codec.ClockRate, true)
	leg.CNPayloadType, _ = pickByClock(offeredOnly(m.formats, o.cn), "CN", leg.Codec.ClockRate, false)
	return leg, nil
}

// answeredCodec returns the first codec of the answer that o offered, on
// the answer's payload type.
func (o *Offer) answeredCodec(formats []format) (codec.Format, string, error) {
	for _, f := range formats {
		for _, c := range o.codecs {
			// An answer should repeat the rtpmap of a dynamic payload
			// type; one that does not is matched by the number offered.
			if (f.known && f.enc.is(c)) || (!f.known && f.pt == c.PayloadType) {
				c.PayloadType = f.pt
				return c, f.fmtp, nil
			}
		}
	}
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.String()
	}
	return codec.Format{}, "", fmt.Errorf("%w: the answer names no codec offered: %v", ErrNotAcceptable, names)
}

// answeredCrypto finds the answer's a=crypto line that accepts one of o's.
func (o *Offer) answeredCrypto(lines []string) (*SDES, error) {
	sdes, reasons, err := firstCrypto(lines, func(c srtp.Crypto, suite string) (*SDES, string, error) {
		i := slices.IndexFunc(o.cryptos, func(ours srtp.Crypto) bool { return ours.Tag == c.Tag })
		switch {
		case i < 0:
			return nil, fmt.Sprintf("tag %d was not offered", c.Tag), nil
		case o.cryptos[i].Keys.Profile != c.Keys.Profile:
			return nil, fmt.Sprintf("tag %d answered with %s, offered with %s", c.Tag, suite, o.cryptos[i].Keys.Profile), nil
		case len(c.ExtraKeys) > 0:
			return nil, fmt.Sprintf("tag %d answered with %d master keys (one per line is supported)", c.Tag, 1+len(c.ExtraKeys)), nil
		}
		return &SDES{Tag: c.Tag, Suite: suite, Remote: c, Local: o.cryptos[i]}, "", nil
	})
	if sdes == nil && err == nil {
		err = fmt.Errorf("%w: no a=crypto line of the answer accepts one of the offer's: %s", ErrNotAcceptable, strings.Join(reasons, "; "))
	}
	return sdes, err
}

// offeredOnly returns the formats whose payload type is one of offered.
func offeredOnly(formats []format, offered []extra) []format {
	var out []format
	for _, f := range formats {
		for _, x := range offered {
			if f.pt == x.pt && (!f.known || f.enc.named(x.enc.name)) {
				if !f.known {
					f.enc, f.known = x.enc, true
				}
				out = append(out, f)
				break
			}
		}
	}
	return out
}

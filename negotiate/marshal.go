package negotiate

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/codec"
)

// extra is a payload type listed after the codecs: telephone-event or CN.
type extra struct {
	pt   uint8
	enc  encoding
	fmtp string
}

// telephoneEventFmtp is the event list written for telephone-event: the
// DTMF digits 0-9, *, #, A-D (0-15) and flash (16), as SIP servers offer.
const telephoneEventFmtp = "0-16"

// extras returns the telephone-event and CN formats agreed on l.
func (l *Leg) extras() []extra {
	var x []extra
	if l.TelephoneEventPayloadType != 0 {
		x = append(x, extra{l.TelephoneEventPayloadType, encoding{"telephone-event", l.TelephoneEventClockRate, 0}, telephoneEventFmtp})
	}
	if l.CNPayloadType != 0 {
		x = append(x, extra{l.CNPayloadType, encoding{"CN", l.Codec.ClockRate, 0}, ""})
	}
	return x
}

// session returns the session-level lines for local: v, o, s, c, t.
func session(local Local, name string) *sdp.SessionDescription {
	if name == "" {
		name = "-"
	}
	addrType, addr := "IP4", local.Addr.String()
	if local.Addr.Is6() {
		addrType = "IP6"
	}
	return &sdp.SessionDescription{
		Origin: sdp.Origin{Username: "-", SessionID: local.SessionID, SessionVersion: local.SessionVersion,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: addr},
		SessionName: sdp.SessionName(name),
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType,
			Address: &sdp.Address{Address: addr}},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
}

// mediaLine returns an audio m-line listing codecs then extras, with their
// a=rtpmap and a=fmtp lines.
func mediaLine(port int, proto string, codecs []codec.Format, extras []extra) *sdp.MediaDescription {
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: strings.Split(proto, "/"),
	}}
	add := func(pt uint8, enc encoding, fmtp string) {
		s := strconv.Itoa(int(pt))
		md.MediaName.Formats = append(md.MediaName.Formats, s)
		md.WithValueAttribute("rtpmap", s+" "+enc.String())
		if fmtp != "" {
			md.WithValueAttribute("fmtp", s+" "+fmtp)
		}
	}
	for _, f := range codecs {
		add(f.PayloadType, encoding{f.Name, f.ClockRate, f.Channels}, f.Fmtp)
	}
	for _, x := range extras {
		add(x.pt, x.enc, x.fmtp)
	}
	return md
}

func addrPort(a netip.Addr, port int) netip.AddrPort { return netip.AddrPortFrom(a, uint16(port)) }

// randomSessionID returns an o= session ID that fits in 63 bits, since some
// parsers read it as a signed number, and is never 0.
func randomSessionID() uint64 { return rand.Uint64()>>1 | 1 }

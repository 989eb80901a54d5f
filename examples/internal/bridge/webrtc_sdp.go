package bridge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtpmix/rtpmix/codec"
)

// rtcOffer is what the bridge reads from a WebRTC offer before pion/webrtc
// sees it: whether it is one audio stream the bridge can take, and in
// which codec. pion would answer almost anything (a data channel, video,
// two audio streams, no common codec as a rejected m-line); the bridge
// refuses those up front with the reason, as it does for RTP offers.
type rtcOffer struct {
	// format is the chosen codec on the offer's payload type: the first
	// the offer lists that the bridge supports, as for RTP legs.
	format codec.Format
	// capability registers format with pion's MediaEngine, with the fmtp
	// the bridge answers: for Opus, in-band FEC wanted from the browser.
	capability webrtc.RTPCodecCapability
	// browserSends and browserHears are the offer's direction, from the
	// browser's side.
	browserSends, browserHears bool
}

// rtcFmtp is the a=fmtp the bridge answers per codec: Opus with in-band
// FEC (RFC 7587 useinbandfec: the receiver, here the bridge, asks the
// browser to add it) and 10 ms frames allowed.
var rtcFmtp = map[string]string{"opus": "minptime=10;useinbandfec=1"}

// parseRTCOffer reads a WebRTC offer. Errors wrap errBadOffer (not SDP)
// or errNotAcceptable (no audio stream, more than one, a data channel, no
// codec the bridge takes), with the reason.
func parseRTCOffer(body []byte, supported func(sdpName string) bool) (*rtcOffer, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("%w: WebRTC offer: %v", errBadOffer, err)
	}
	var audio *sdp.MediaDescription
	for _, md := range sd.MediaDescriptions {
		switch {
		case md.MediaName.Media == "application":
			return nil, fmt.Errorf("%w: the offer has a data channel (m=application): the bridge takes one audio stream", errNotAcceptable)
		case md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0:
			// Video, or a stream the offerer itself rejected: pion answers
			// it rejected.
		case audio != nil:
			return nil, fmt.Errorf("%w: the offer has more than one audio stream: the bridge takes one per participant", errNotAcceptable)
		default:
			audio = md
		}
	}
	if audio == nil {
		return nil, fmt.Errorf("%w: the offer has no audio stream (m=audio with a port)", errNotAcceptable)
	}
	// The direction: the m-line's, else the session's, else sendrecv.
	dir := "sendrecv"
	for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
		if _, ok := sessionAttribute(&sd, d); ok {
			dir = d
		}
	}
	for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
		if _, ok := audio.Attribute(d); ok {
			dir = d
		}
	}
	o := &rtcOffer{
		browserSends: dir == "sendrecv" || dir == "sendonly",
		browserHears: dir == "sendrecv" || dir == "recvonly",
	}
	var offered []string
	for _, f := range audio.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return nil, fmt.Errorf("%w: WebRTC offer: payload type %q", errBadOffer, f)
		}
		name, fmtp := rtpmapOf(audio, uint8(pt))
		if name == "" {
			continue
		}
		offered = append(offered, name)
		cf, ok := codec.Lookup(name)
		if !ok || !supported(cf.SDPName()) || !rtcCodecOK(cf, fmtp) {
			continue
		}
		cf.PayloadType = uint8(pt)
		o.format = cf
		o.capability = webrtc.RTPCodecCapability{
			MimeType: "audio/" + cf.Name, ClockRate: uint32(cf.ClockRate), Channels: uint16(cf.Channels),
			SDPFmtpLine: rtcFmtp[strings.ToLower(cf.Name)],
		}
		if err := rtcPayloadTypeOK(cf); err != nil {
			return nil, err
		}
		return o, nil
	}
	return nil, fmt.Errorf("%w: no supported codec among %v (WebRTC legs take opus/48000/2, PCMU/8000, PCMA/8000, G722/8000)",
		errNotAcceptable, offered)
}

// rtcCodecOK reports whether pion will match the offered codec with the
// one the bridge registers: pion compares the fmtp parameters both name.
// An Opus offer that refuses in-band FEC is taken with FEC off.
func rtcCodecOK(f codec.Format, fmtp string) bool {
	if !strings.EqualFold(f.Name, "opus") {
		return true
	}
	return !strings.Contains(strings.ReplaceAll(strings.ToLower(fmtp), " ", ""), "useinbandfec=0")
}

// rtcPayloadTypeOK refuses a payload type in RTCP's range before pion
// binds anything (the mixer's Join refuses the rest of what it refuses,
// such as another codec's static number).
func rtcPayloadTypeOK(f codec.Format) error {
	if pt := f.PayloadType; pt >= 64 && pt <= 95 {
		return fmt.Errorf("%w: payload type %d of %s is in RTCP's range 64..95 (RFC 5761)", errNotAcceptable, pt, f.SDPName())
	}
	return nil
}

// rtpmapOf returns the SDP name ("opus/48000/2") and fmtp of payload type
// pt in md: from its a=rtpmap, or RFC 3551's static types without one.
func rtpmapOf(md *sdp.MediaDescription, pt uint8) (name, fmtp string) {
	prefix := strconv.Itoa(int(pt)) + " "
	for _, a := range md.Attributes {
		switch {
		case a.Key == "rtpmap" && strings.HasPrefix(a.Value, prefix):
			name = strings.TrimSpace(a.Value[len(prefix):])
		case a.Key == "fmtp" && strings.HasPrefix(a.Value, prefix):
			fmtp = strings.TrimSpace(a.Value[len(prefix):])
		}
	}
	if name == "" {
		switch pt {
		case 0:
			name = "PCMU/8000"
		case 8:
			name = "PCMA/8000"
		case 9:
			name = "G722/8000"
		}
	}
	return name, fmtp
}

func sessionAttribute(sd *sdp.SessionDescription, key string) (string, bool) {
	for _, a := range sd.Attributes {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// rtcAnswer is what the answer pion wrote settles: the payload type the
// browser sends and takes, and the RFC 6464 extension ID (0 when the
// offer had none).
type rtcAnswer struct {
	payloadType uint8
	levelID     uint8
}

// readRTCAnswer reads the audio m-line of the answer pion wrote.
func readRTCAnswer(answer string) (rtcAnswer, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return rtcAnswer{}, fmt.Errorf("pion's answer: %w", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 || len(md.MediaName.Formats) == 0 {
			continue
		}
		pt, err := strconv.ParseUint(md.MediaName.Formats[0], 10, 7)
		if err != nil {
			return rtcAnswer{}, fmt.Errorf("pion's answer: payload type %q", md.MediaName.Formats[0])
		}
		a := rtcAnswer{payloadType: uint8(pt)}
		for _, attr := range md.Attributes {
			if attr.Key != "extmap" {
				continue
			}
			var e sdp.ExtMap
			if e.Unmarshal("extmap:"+attr.Value) == nil && e.URI != nil && e.URI.String() == sdp.AudioLevelURI && e.Value > 0 && e.Value < 15 {
				a.levelID = uint8(e.Value)
			}
		}
		return a, nil
	}
	return rtcAnswer{}, fmt.Errorf("%w: no codec in common (the answer rejects the audio stream)", errNotAcceptable)
}

package bridge

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/srtp"
)

// audioLevelURI is the RFC 6464 header extension the bridge reads from
// senders and writes on what it sends.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// maxOfferSize bounds the request body of a join.
const maxOfferSize = 64 << 10

// offer is what the bridge takes from an SDP offer's first audio m-line.
type offer struct {
	format      codec.Format // the chosen codec, with the offer's payload type
	payloadType uint8
	fmtp        string
	// rtpDst is where media is sent; its address is unspecified for a
	// comedia offer (c=0.0.0.0), in which case the latched source is used.
	rtpDst, rtcpDst netip.AddrPort
	rtcpMux         bool
	// crypto is the offer's accepted a=crypto line (the keys the peer
	// protects with); nil for plain RTP.
	crypto      *srtp.Crypto
	proto       string
	levelID     uint8 // RFC 6464 extension ID, 0 when not offered
	levelAttr   string
	cnPT        uint8
	direction   string // sendrecv, sendonly, recvonly, inactive
	ptimeMillis int
}

// staticFormats are the RFC 3551 payload types an offer may use without an
// a=rtpmap line.
var staticFormats = map[uint8]string{0: "PCMU/8000", 8: "PCMA/8000"}

// parseOffer reads an SDP offer and picks the first offered codec the bridge
// supports. Errors wrap errBadOffer (the text is not usable SDP) or
// errNotAcceptable (nothing offered that the bridge can do), with the reason.
func parseOffer(body []byte, supported func(sdpName string) bool) (*offer, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, fmt.Errorf("%w: empty body (POST the SDP offer, Content-Type application/sdp)", errBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadOffer, err)
	}
	var md *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			md = m
			break
		}
	}
	if md == nil {
		return nil, fmt.Errorf("%w: no audio m-line with a non-zero port", errNotAcceptable)
	}
	o := &offer{direction: "sendrecv"}

	// Transport: plain or SDES-keyed RTP; DTLS (UDP/TLS/...) needs ICE and
	// a handshake this example does not do.
	o.proto = strings.Join(md.MediaName.Protos, "/")
	secure := false
	switch o.proto {
	case "RTP/AVP", "RTP/AVPF":
	case "RTP/SAVP", "RTP/SAVPF":
		secure = true
	default:
		return nil, fmt.Errorf("%w: transport %q (want RTP/AVP or RTP/SAVP)", errNotAcceptable, o.proto)
	}

	port := md.MediaName.Port.Value
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("%w: m= port %d out of range", errBadOffer, port)
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return nil, fmt.Errorf("%w: no c= line for the audio stream", errBadOffer)
	}
	if ci.NetworkType != "IN" || ci.AddressType != "IP4" {
		return nil, fmt.Errorf("%w: c= %s %s (only IN IP4)", errNotAcceptable, ci.NetworkType, ci.AddressType)
	}
	ip, err := netip.ParseAddr(ci.Address.Address)
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("%w: c= address %q is not an IPv4 address", errBadOffer, ci.Address.Address)
	}
	o.rtpDst = netip.AddrPortFrom(ip, uint16(port))
	rtcpPort := port + 1
	if port == 65535 {
		rtcpPort = port
	}
	rtcpIP := ip

	// Codecs from rtpmap lines (and the static payload types).
	rtpmaps := map[uint8]string{}
	fmtps := map[uint8]string{}
	var cryptos []string
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, name, ok := splitPT(a.Value)
			if !ok {
				return nil, fmt.Errorf("%w: a=rtpmap:%s", errBadOffer, a.Value)
			}
			rtpmaps[pt] = name
		case "fmtp":
			if pt, v, ok := splitPT(a.Value); ok {
				fmtps[pt] = v
			}
		case "crypto":
			cryptos = append(cryptos, a.Value)
		case "rtcp-mux":
			o.rtcpMux = true
		case "rtcp":
			f := strings.Fields(a.Value)
			if len(f) == 0 {
				return nil, fmt.Errorf("%w: empty a=rtcp", errBadOffer)
			}
			p, err := strconv.Atoi(f[0])
			if err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("%w: a=rtcp:%s", errBadOffer, a.Value)
			}
			rtcpPort = p
			if len(f) == 4 {
				if a, err := netip.ParseAddr(f[3]); err == nil && a.Is4() {
					rtcpIP = a
				}
			}
		case "extmap":
			f := strings.Fields(a.Value)
			if len(f) >= 2 && f[1] == audioLevelURI {
				id, err := strconv.Atoi(strings.SplitN(f[0], "/", 2)[0])
				if err != nil || id < 1 || id > 14 {
					return nil, fmt.Errorf("%w: a=extmap:%s (one-byte IDs are 1..14)", errBadOffer, a.Value)
				}
				o.levelID, o.levelAttr = uint8(id), a.Value
			}
		case "sendrecv", "sendonly", "recvonly", "inactive":
			o.direction = a.Key
		case "ptime":
			if v, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil {
				o.ptimeMillis = v
			}
		}
	}
	if o.rtcpMux {
		rtcpPort, rtcpIP = port, ip
	}
	o.rtcpDst = netip.AddrPortFrom(rtcpIP, uint16(rtcpPort))

	var names []string
	for _, f := range md.MediaName.Formats {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 127 {
			return nil, fmt.Errorf("%w: m= format %q is not a payload type", errBadOffer, f)
		}
		pt := uint8(n)
		name, ok := rtpmaps[pt]
		if !ok {
			name, ok = staticFormats[pt]
		}
		if !ok {
			names = append(names, f)
			continue
		}
		if strings.EqualFold(name, "CN/8000") {
			o.cnPT = pt
			continue
		}
		names = append(names, name)
		if o.format.Name != "" {
			continue
		}
		if f, ok := codec.Lookup(name); ok && supported(f.SDPName()) {
			f.PayloadType = pt
			o.format, o.payloadType, o.fmtp = f, pt, fmtps[pt]
		}
	}
	if o.format.Name == "" {
		return nil, fmt.Errorf("%w: no supported codec among %v (the bridge takes PCMU/8000, PCMA/8000, opus/48000/2)",
			errNotAcceptable, names)
	}

	if secure {
		if len(cryptos) == 0 {
			return nil, fmt.Errorf("%w: %s without a=crypto (SDES) lines", errNotAcceptable, o.proto)
		}
		var reasons []string
		for _, line := range cryptos {
			c, err := srtp.ParseSDES(line)
			if err != nil {
				if !errors.Is(err, srtp.ErrUnsupported) {
					return nil, fmt.Errorf("%w: a=crypto:%s: %v", errBadOffer, line, err)
				}
				reasons = append(reasons, err.Error())
				continue
			}
			o.crypto = &c
			break
		}
		if o.crypto == nil {
			return nil, fmt.Errorf("%w: no supported crypto suite: %s", errNotAcceptable, strings.Join(reasons, "; "))
		}
	}
	return o, nil
}

// splitPT splits "<pt> <rest>" as in rtpmap and fmtp values.
func splitPT(v string) (uint8, string, bool) {
	head, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.Atoi(head)
	if err != nil || n < 0 || n > 127 {
		return 0, "", false
	}
	return uint8(n), strings.TrimSpace(rest), true
}

// answerParams is what the bridge puts in its answer besides the offer's
// choices.
type answerParams struct {
	ip               netip.Addr
	rtpPort          int
	rtcpPort         int
	sessionID        uint64
	ptimeMillis      int
	crypto           *srtp.Crypto // the bridge's own key, tagged as the offer's line
	listenOnly, deaf bool
}

// buildAnswer writes the SDP answer for o.
func buildAnswer(o *offer, a answerParams) ([]byte, error) {
	ip := a.ip.String()
	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{Username: "rtpmix", SessionID: a.sessionID, SessionVersion: 1,
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: ip},
		SessionName: "rtpmix bridge",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4",
			Address: &sdp.Address{Address: ip}},
		TimeDescriptions: []sdp.TimeDescription{{}},
	}
	pt := strconv.Itoa(int(o.payloadType))
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{
		Media: "audio", Port: sdp.RangedPort{Value: a.rtpPort},
		Protos: strings.Split(o.proto, "/"), Formats: []string{pt},
	}}
	md.WithValueAttribute("rtpmap", pt+" "+rtpmapName(o.format))
	if o.format.Name == "opus" {
		md.WithValueAttribute("fmtp", pt+" minptime=10;useinbandfec=1")
	}
	md.WithValueAttribute("ptime", strconv.Itoa(a.ptimeMillis))
	if o.rtcpMux {
		md.WithPropertyAttribute("rtcp-mux")
	} else {
		md.WithValueAttribute("rtcp", strconv.Itoa(a.rtcpPort))
	}
	if o.levelID != 0 {
		md.WithValueAttribute("extmap", o.levelAttr)
	}
	if a.crypto != nil {
		md.WithValueAttribute("crypto", a.crypto.String())
	}
	md.WithPropertyAttribute(answerDirection(o.direction, a.listenOnly, a.deaf))
	sd.WithMedia(md)
	return sd.Marshal()
}

// rtpmapName is the a=rtpmap encoding for f ("opus/48000/2", "PCMU/8000").
func rtpmapName(f codec.Format) string {
	s := f.Name + "/" + strconv.Itoa(f.ClockRate)
	if f.Channels > 1 {
		s += "/" + strconv.Itoa(f.Channels)
	}
	return s
}

// answerDirection mirrors the offer's direction (RFC 3264 §6.1), narrowed
// by what the bridge does for this participant: a listen-only participant
// is never heard (the bridge only sends), a deaf one is sent nothing.
func answerDirection(offered string, listenOnly, deaf bool) string {
	send := offered == "sendrecv" || offered == "recvonly"
	recv := offered == "sendrecv" || offered == "sendonly"
	if listenOnly {
		recv = false
	}
	if deaf {
		send = false
	}
	switch {
	case send && recv:
		return "sendrecv"
	case send:
		return "sendonly"
	case recv:
		return "recvonly"
	}
	return "inactive"
}

package negotiate_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/negotiate"
	"github.com/rtpmix/rtpmix/srtp"
)

// A desk phone's INVITE (a Yealink T22P's, as captured) answered by a
// server that takes Opus, PCMU and PCMA and DTMF as telephone-events.
func ExampleAnswer() {
	offer := "v=0\r\n" +
		"o=- 20001 20001 IN IP4 192.168.100.163\r\n" +
		"s=SDP data\r\n" +
		"c=IN IP4 192.168.100.163\r\n" +
		"t=0 0\r\n" +
		"m=audio 11782 RTP/AVP 9 0 8 18 101\r\n" +
		"a=rtpmap:9 G722/8000\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:18 G729/8000\r\n" +
		"a=fmtp:18 annexb=no\r\n" +
		"a=fmtp:101 0-15\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv" // no final CRLF: accepted
	policy := negotiate.Policy{
		Codecs:         []codec.Format{opus.Format, g711.PCMU, g711.PCMA},
		RTCPMux:        true,
		TelephoneEvent: true,
		Ptime:          20 * time.Millisecond,
	}
	leg, err := negotiate.Answer([]byte(offer), policy)
	switch {
	case errors.Is(err, negotiate.ErrMalformed): // SIP: 400
		panic(err)
	case errors.Is(err, negotiate.ErrNotAcceptable): // SIP: 488
		panic(err)
	}
	fmt.Println("codec:", leg.Codec, "pt", leg.Codec.PayloadType, "dtmf pt", leg.TelephoneEventPayloadType)
	fmt.Println("send RTP to", leg.RemoteRTP, "RTCP to", leg.RemoteRTCP, "mux", leg.RTCPMux)

	// Sockets are bound now (two: no rtcp-mux), then the answer written.
	answer, err := leg.MarshalAnswer(negotiate.Local{Addr: netip.MustParseAddr("192.0.2.10"), RTPPort: 30000, SessionID: 1})
	if err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(string(answer), "\r\n", "\n"))

	pc := leg.ParticipantConfig("desk-phone") // then set pc.Sink and conf.Join(pc)
	fmt.Println("mixer:", pc.In, pc.InPayloadType, "srtp", pc.InSRTP != nil)
	// Output:
	// codec: PCMU/8000 pt 0 dtmf pt 101
	// send RTP to 192.168.100.163:11782 RTCP to 192.168.100.163:11783 mux false
	// v=0
	// o=- 1 1 IN IP4 192.0.2.10
	// s=-
	// c=IN IP4 192.0.2.10
	// t=0 0
	// m=audio 30000 RTP/AVP 0 101
	// a=rtpmap:0 PCMU/8000
	// a=rtpmap:101 telephone-event/8000
	// a=fmtp:101 0-16
	// a=ptime:20
	// a=rtcp:30001
	// a=sendrecv
	// mixer: PCMU/8000 0 srtp false
}

// An outbound call over SRTP: the offer lists every suite with a key of its
// own; the answer picks one, and the Leg holds both directions' keys.
func ExampleNewOffer() {
	caller := negotiate.Policy{Codecs: []codec.Format{opus.Format, g711.PCMU}, SRTP: negotiate.SRTPRequired, RTCPMux: true}
	offer, err := negotiate.NewOffer(caller, negotiate.Local{Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 4000})
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(offer.SDP()), "\r\n") {
		if strings.HasPrefix(line, "m=") || strings.HasPrefix(line, "a=crypto") {
			head, _, _ := strings.Cut(line, "inline:") // keys are random
			fmt.Println(strings.TrimSpace(head))
		}
	}

	// The far end: a server that only does G.711 and the 32-bit tag.
	callee := negotiate.Policy{Codecs: []codec.Format{g711.PCMU}, SRTP: negotiate.SRTPRequired, RTCPMux: true,
		SRTPProfiles: []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_32}}
	theirs, err := negotiate.Answer(offer.SDP(), callee)
	if err != nil {
		panic(err)
	}
	answer, err := theirs.MarshalAnswer(negotiate.Local{Addr: netip.MustParseAddr("198.51.100.2"), RTPPort: 6000})
	if err != nil {
		panic(err)
	}

	ours, err := offer.Accept(answer)
	if err != nil {
		panic(err)
	}
	fmt.Println("codec:", ours.Codec, "suite:", ours.SRTP.Suite, "tag:", ours.SRTP.Tag, "mux:", ours.RTCPMux)
	fmt.Println("send to:", ours.RemoteRTP)
	fmt.Println("keys cross:", ours.SRTP.Local.Keys.Equal(theirs.SRTP.Remote.Keys) && theirs.SRTP.Local.Keys.Equal(ours.SRTP.Remote.Keys))
	// Output:
	// m=audio 4000 RTP/SAVP 111 0
	// a=crypto:1 AEAD_AES_256_GCM
	// a=crypto:2 AEAD_AES_128_GCM
	// a=crypto:3 AES_CM_128_HMAC_SHA1_80
	// a=crypto:4 AES_CM_128_HMAC_SHA1_32
	// codec: PCMU/8000 suite: AES_CM_128_HMAC_SHA1_32 tag: 4 mux: true
	// send to: 198.51.100.2:6000
	// keys cross: true
}

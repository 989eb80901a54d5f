package bridge

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/srtp"
)

// FuzzOffer: any body either is refused with errBadOffer or
// errNotAcceptable, or yields an offer whose answer is SDP that parses
// again with the chosen codec and the bridge's own key; never a panic.
// Package negotiate fuzzes the negotiation itself; what is fuzzed here is
// the bridge's use of it.
func FuzzOffer(f *testing.F) {
	keys, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	f.Add(string(offerSDP(40000, "RTP/SAVP", "97 0", "a=rtpmap:97 opus/48000/2", "a=fmtp:97 useinbandfec=1",
		srtp.Crypto{Tag: 1, Keys: keys}.SDPLine(), "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on")))
	f.Add(string(offerSDP(40000, "RTP/AVP", "8 13", "a=rtpmap:13 CN/8000", "a=rtcp-mux", "a=sendonly")))
	f.Add(string(offerSDP(40000, "RTP/AVP", "0", "a=rtcp:40005 IN IP4 127.0.0.2", "a=ptime:20")))
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
	f.Add("garbage")
	ok := func(name string) bool { return name != "G722/8000" }
	f.Fuzz(func(t *testing.T, body string) {
		o, err := parseOffer([]byte(body), ok)
		if err != nil {
			if !errors.Is(err, errBadOffer) && !errors.Is(err, errNotAcceptable) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if o.format.Name == "" || !o.rtpDst.IsValid() || (o.crypto == nil) != (o.proto == "RTP/AVP" || o.proto == "RTP/AVPF") {
			t.Fatalf("accepted an unusable offer: %+v", o)
		}
		ans, err := buildAnswer(o, answerParams{ip: netip.MustParseAddr("127.0.0.1"), rtpPort: 30000, rtcpPort: 30001,
			ptimeMillis: 20})
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(string(ans)); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, ans)
		}
		back, err := parseOffer(ans, ok)
		if err != nil {
			t.Fatalf("answer is not readable back: %v\n%s", err, ans)
		}
		if back.format != o.format || (back.crypto == nil) != (o.crypto == nil) ||
			(o.crypto != nil && !back.crypto.Keys.Equal(o.leg.SRTP.Local.Keys)) {
			t.Fatalf("answer read back differs: %+v, offer %+v\n%s", back, o, ans)
		}
	})
}

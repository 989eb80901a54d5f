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
// again and names the chosen codec; never a panic. pion's parser is fuzzed
// upstream; what is fuzzed here is the bridge's reading of what it returns.
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
		var c *srtp.Crypto
		if o.crypto != nil {
			c = &srtp.Crypto{Tag: o.crypto.Tag, Keys: keys}
		}
		ans, err := buildAnswer(o, answerParams{ip: netip.MustParseAddr("127.0.0.1"), rtpPort: 30000, rtcpPort: 30001,
			ptimeMillis: 20, crypto: c})
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(string(ans)); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, ans)
		}
		if _, err := parseOffer(ans, ok); err != nil {
			t.Fatalf("answer is not readable back: %v\n%s", err, ans)
		}
	})
}

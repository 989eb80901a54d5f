package negotiate

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/srtp"
)

// fuzzPolicy turns a fuzzed byte into one of the policies a server might
// run, so that the fuzzer explores the choices as well as the text.
func fuzzPolicy(knobs uint8) Policy {
	p := Policy{Codecs: []codec.Format{g711.PCMU, g711.PCMA, opus.Format, g722}}
	p.SRTP = SRTPMode(knobs % 3)
	p.RTCPMux = knobs&0x04 != 0
	p.PreferLocalOrder = knobs&0x08 != 0
	p.AudioLevels = knobs&0x10 != 0
	p.TelephoneEvent = knobs&0x20 != 0
	p.ComfortNoise = knobs&0x40 != 0
	if knobs&0x80 != 0 {
		p.SRTPProfiles = []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_32, srtp.ProfileAEADAES128GCM}
		p.Direction = SendOnly
	}
	return p
}

// FuzzAnswer: whatever the offer, Answer never panics; it refuses with
// ErrMalformed or ErrNotAcceptable (never both, never ErrPolicy), or
// returns a Leg the mixer can use whose answer is SDP that parses back, has
// the offer's m-line count, and, read as an offer under the same policy,
// agrees on the codec, payload type and crypto suite spelling.
func FuzzAnswer(f *testing.F) {
	for _, file := range offerFiles(f) {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(string(b), uint8(0x7c))
		f.Add(string(b), uint8(0xf1))
	}
	k, err := srtp.GenerateKeys(srtp.ProfileAEADAES256GCM)
	require.NoError(f, err)
	f.Add(string(sdpOffer("RTP/SAVP", "0 13", strings.Replace(srtp.Crypto{Tag: 9, Keys: k}.SDPLine(), "AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 1),
		"a=rtcp:40005 IN IP4 198.51.100.9", "a=extmap:2/recvonly "+AudioLevelURI, "a=inactive")), uint8(0x55))
	f.Add("v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\nm=audio 9 RTP/AVP 0", uint8(0))
	f.Add("garbage", uint8(0))

	f.Fuzz(func(t *testing.T, body string, knobs uint8) {
		p := fuzzPolicy(knobs)
		leg, err := Answer([]byte(body), p)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkLeg(t, leg, p)
		// The same offer again, as a re-offer in the dialog: accepted, on
		// the same codec, with this end's key kept.
		re, err := Reanswer([]byte(body), p, leg)
		if err != nil {
			t.Fatalf("the offer accepted once is refused as a re-offer: %v", err)
		}
		checkLeg(t, re, p)
		if re.Codec != leg.Codec || (leg.SRTP != nil && !re.SRTP.Local.Keys.Equal(leg.SRTP.Local.Keys)) {
			t.Fatalf("re-offer changed the codec or this end's key:\n%+v\n%+v", leg, re)
		}
		answer, err := leg.MarshalAnswer(localAddr)
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		offered, err := parse([]byte(body))
		if err != nil {
			t.Fatalf("an accepted offer does not parse: %v", err)
		}
		answered := mustParse(t, answer)
		if len(answered.MediaDescriptions) != len(offered.MediaDescriptions) {
			t.Fatalf("answer has %d m-lines, the offer %d:\n%s", len(answered.MediaDescriptions), len(offered.MediaDescriptions), answer)
		}

		// Read the answer as an offer: the same choices come back.
		p.SRTP, p.Direction = SRTPAllowed, SendRecv
		again, err := Answer(answer, p)
		if err != nil {
			t.Fatalf("the answer is not readable back: %v\n%s", err, answer)
		}
		if again.Codec != leg.Codec || again.Proto != leg.Proto || again.AudioLevelID != leg.AudioLevelID ||
			again.TelephoneEventPayloadType != leg.TelephoneEventPayloadType || again.CNPayloadType != leg.CNPayloadType {
			t.Fatalf("answer read back differs:\n%+v\n%+v\n%s", leg, again, answer)
		}
		if (leg.SRTP == nil) != (again.SRTP == nil) {
			t.Fatalf("SRTP lost reading back:\n%s", answer)
		}
		if leg.SRTP != nil && (again.SRTP.Suite != leg.SRTP.Suite || again.SRTP.Tag != leg.SRTP.Tag ||
			!again.SRTP.Remote.Keys.Equal(leg.SRTP.Local.Keys)) {
			t.Fatalf("crypto read back differs: %+v vs %+v\n%s", again.SRTP, leg.SRTP, answer)
		}
	})
}

// checkLeg fails t unless leg is something a server can act on under p.
func checkLeg(t *testing.T, leg *Leg, p Policy) {
	t.Helper()
	if leg.Codec.PayloadType > 127 || p.codecIndex(encoding{leg.Codec.Name, leg.Codec.ClockRate, leg.Codec.Channels}) < 0 {
		t.Fatalf("codec %v is not the policy's", leg.Codec)
	}
	if leg.RemoteRTP.Port() == 0 || !leg.RemoteRTP.Addr().IsValid() || leg.RemoteRTCP.Port() == 0 {
		t.Fatalf("remote addresses %v %v", leg.RemoteRTP, leg.RemoteRTCP)
	}
	if leg.RTCPMux && (!p.RTCPMux || leg.RemoteRTCP != leg.RemoteRTP) {
		t.Fatalf("mux %v with policy %v, RTCP %v", leg.RTCPMux, p.RTCPMux, leg.RemoteRTCP)
	}
	plain := leg.Proto == "RTP/AVP" || leg.Proto == "RTP/AVPF"
	if (leg.SRTP == nil) != plain || (plain && p.SRTP == SRTPRequired) || (!plain && p.SRTP == SRTPRefused) {
		t.Fatalf("proto %s with SRTP %v under %v", leg.Proto, leg.SRTP, p.SRTP)
	}
	if leg.SRTP != nil {
		s := leg.SRTP
		pr, err := srtp.ParseProfile(s.Suite)
		if err != nil || pr != s.Local.Keys.Profile || pr != s.Remote.Keys.Profile || s.Local.Keys.Validate() != nil ||
			s.Remote.Keys.Validate() != nil || s.Local.Tag != s.Tag || len(s.Remote.ExtraKeys) != 0 {
			t.Fatalf("SDES %+v", s)
		}
	}
	if leg.AudioLevelID > 14 || (!p.AudioLevels && leg.AudioLevelID != 0) {
		t.Fatalf("level ID %d", leg.AudioLevelID)
	}
	if (leg.TelephoneEventPayloadType == 0) != (leg.TelephoneEventClockRate == 0) || (!p.TelephoneEvent && leg.TelephoneEventPayloadType != 0) {
		t.Fatalf("telephone-event %d/%d", leg.TelephoneEventPayloadType, leg.TelephoneEventClockRate)
	}
	if leg.Direction > Inactive || (!p.Direction.Send() && leg.Direction.Send()) {
		t.Fatalf("direction %v under %v", leg.Direction, p.Direction)
	}
}

// FuzzAccept: whatever the answer, Accept never panics; it refuses with
// ErrMalformed or ErrNotAcceptable, or agrees only on what was offered.
func FuzzAccept(f *testing.F) {
	p := Policy{Codecs: []codec.Format{opus.Format, g711.PCMU}, SRTP: SRTPRequired, RTCPMux: true, AudioLevels: true,
		TelephoneEvent: true, ComfortNoise: true,
		SRTPProfiles: []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_80, srtp.ProfileAEADAES128GCM}}
	o, err := NewOffer(p, localAddr)
	require.NoError(f, err)
	for knobs := 0; knobs < 256; knobs += 37 {
		a := fuzzPolicy(uint8(knobs))
		a.SRTP = SRTPRequired
		leg, err := Answer(o.SDP(), a)
		require.NoError(f, err)
		ans, err := leg.MarshalAnswer(Local{Addr: localAddr.Addr, RTPPort: 7000, RTCPPort: 7002})
		require.NoError(f, err)
		f.Add(string(ans))
	}
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/SAVP 0\r\n")
	f.Add("v=0\nc=IN IP4 1.2.3.4\nm=audio 5 RTP/SAVP 111\na=crypto:2 AEAD_AES_128_GCM inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAx")

	f.Fuzz(func(t *testing.T, answer string) {
		leg, err := o.Accept([]byte(answer))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkLeg(t, leg, p)
		if leg.SRTP == nil {
			t.Fatalf("SRTP was required: %+v", leg)
		}
		found := false
		for _, c := range o.cryptos {
			found = found || (c.Tag == leg.SRTP.Tag && c.Keys.Equal(leg.SRTP.Local.Keys))
		}
		if !found {
			t.Fatalf("local keys %+v were not offered", leg.SRTP.Local)
		}
		if leg.TelephoneEventPayloadType != 0 && leg.TelephoneEventPayloadType != 101 && leg.TelephoneEventPayloadType != 96 {
			t.Fatalf("telephone-event %d was not offered", leg.TelephoneEventPayloadType)
		}
		if leg.CNPayloadType != 0 && leg.CNPayloadType != 13 {
			t.Fatalf("CN %d was not offered", leg.CNPayloadType)
		}
	})
}

// checkRefusal fails t unless err is exactly one of ErrMalformed and
// ErrNotAcceptable: input from the peer is never this end's ErrPolicy.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	malformed, refused := errors.Is(err, ErrMalformed), errors.Is(err, ErrNotAcceptable)
	if malformed == refused || errors.Is(err, ErrPolicy) {
		t.Fatalf("error not classified once: %v", err)
	}
}

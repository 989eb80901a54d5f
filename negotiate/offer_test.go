package negotiate

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

func TestNewOffer(t *testing.T) {
	p := Policy{Codecs: []codec.Format{opus.Format, g711.PCMU, g711.PCMA}, SRTP: SRTPRequired, RTCPMux: true,
		Ptime: 20 * time.Millisecond, AudioLevels: true, TelephoneEvent: true, ComfortNoise: true, SessionName: "call"}
	o, err := NewOffer(p, Local{Addr: netip.MustParseAddr("192.0.2.5"), RTPPort: 40000, SessionID: 9, SessionVersion: 3})
	require.NoError(t, err)
	text := string(o.SDP())
	sd := mustParse(t, o.SDP())
	assert.Equal(t, uint64(9), sd.Origin.SessionID)
	assert.Equal(t, uint64(3), sd.Origin.SessionVersion)
	assert.Equal(t, "call", string(sd.SessionName))
	require.Len(t, sd.MediaDescriptions, 1)
	// Opus's 48 kHz clock gets telephone-event on 101, the 8 kHz codecs on
	// the first free dynamic type; CN/8000 on its static 13.
	assert.Contains(t, text, "m=audio 40000 RTP/SAVP 111 0 8 101 96 13\r\n")
	assert.Equal(t, []string{"111 opus/48000/2", "0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/48000",
		"96 telephone-event/8000", "13 CN/8000"}, attr(sd, 0, "rtpmap"))
	assert.Equal(t, []string{"111 minptime=10;useinbandfec=1", "101 0-16", "96 0-16"}, attr(sd, 0, "fmtp"))
	assert.Equal(t, []string{"20"}, attr(sd, 0, "ptime"))
	assert.Len(t, attr(sd, 0, "rtcp-mux"), 1)
	assert.Equal(t, []string{"40001"}, attr(sd, 0, "rtcp"), "the port RTCP falls back to if mux is declined")
	assert.Equal(t, []string{"1 " + AudioLevelURI}, attr(sd, 0, "extmap"))
	assert.Len(t, attr(sd, 0, "sendrecv"), 1)
	cryptos := attr(sd, 0, "crypto")
	require.Len(t, cryptos, len(srtp.Profiles()))
	for i, line := range cryptos {
		c, err := srtp.ParseSDES(line)
		require.NoError(t, err)
		assert.Equal(t, i+1, c.Tag)
		assert.Equal(t, srtp.Profiles()[i], c.Keys.Profile, "strongest first")
	}
	assert.False(t, strings.HasSuffix(text, "\r\n\r\n"))
	assert.True(t, strings.HasSuffix(text, "\r\n"))

	p.SRTP = SRTPAllowed
	p.RTCPMux = false
	o, err = NewOffer(p, Local{Addr: netip.MustParseAddr("192.0.2.5"), RTPPort: 40000, RTCPPort: 40009})
	require.NoError(t, err)
	assert.Contains(t, string(o.SDP()), "m=audio 40000 RTP/AVP ", "SDES cannot offer optional SRTP")
	assert.NotContains(t, string(o.SDP()), "a=crypto")
	assert.Contains(t, string(o.SDP()), "a=rtcp:40009\r\n")
}

func TestNewOfferPayloadTypes(t *testing.T) {
	a := codec.Format{Name: "A", ClockRate: 8000, PayloadType: 101}
	b := codec.Format{Name: "B", ClockRate: 16000, PayloadType: 96}
	c := codec.Format{Name: "C", ClockRate: 8000, PayloadType: 13}
	o, err := NewOffer(Policy{Codecs: []codec.Format{a, b, c}, TelephoneEvent: true, ComfortNoise: true}, localAddr)
	require.NoError(t, err)
	assert.Contains(t, string(o.SDP()), "m=audio 30000 RTP/AVP 101 96 13 97 98 99\r\n",
		"telephone-event and CN move off the codecs' payload types")

	_, err = NewOffer(Policy{Codecs: []codec.Format{a, {Name: "D", ClockRate: 8000, PayloadType: 101}}}, localAddr)
	assert.ErrorIs(t, err, ErrPolicy)
	assert.ErrorContains(t, err, "both on payload type 101")

	many := make([]codec.Format, 0, 33)
	for pt := 95; pt <= 127; pt++ {
		many = append(many, codec.Format{Name: "X" + string(rune('A'+pt-95)), ClockRate: 8000 + pt, PayloadType: uint8(pt)})
	}
	_, err = NewOffer(Policy{Codecs: many, TelephoneEvent: true}, localAddr)
	assert.ErrorIs(t, err, ErrPolicy)
	assert.ErrorContains(t, err, "no dynamic payload type left")
}

// TestOfferAnswerRoundTrip: an offer from one policy answered by another,
// read back: both sides agree on everything, the keys cross, and SRTP
// protected by either side unprotects on the other.
func TestOfferAnswerRoundTrip(t *testing.T) {
	all := Policy{Codecs: []codec.Format{opus.Format, g711.PCMU, g711.PCMA}, RTCPMux: true, AudioLevels: true,
		TelephoneEvent: true, ComfortNoise: true, Ptime: 20 * time.Millisecond}
	cases := []struct {
		name             string
		offerer, answer  func(*Policy)
		codec            string
		srtp             srtp.Profile
		mux, levels      bool
		te, cn           uint8
		offDir, ansDir   Direction
		offPtime, ansMax time.Duration
	}{
		{name: "plain, everything", codec: "opus", mux: true, levels: true, te: 101, offDir: SendRecv, ansDir: SendRecv},
		{name: "SRTP GCM-256, answerer prefers PCMA", codec: "PCMA", srtp: srtp.ProfileAEADAES256GCM, mux: true, levels: true,
			te: 96, cn: 13, offDir: SendRecv, ansDir: SendRecv,
			offerer: func(p *Policy) { p.SRTP = SRTPRequired },
			answer: func(p *Policy) {
				p.Codecs = []codec.Format{g711.PCMA, g711.PCMU}
				p.PreferLocalOrder = true
				p.SRTP = SRTPRequired
			}},
		{name: "SRTP, answerer takes only _32", codec: "opus", srtp: srtp.ProfileAESCM128HMACSHA1_32, mux: true, levels: true,
			te: 101, offDir: SendRecv, ansDir: SendRecv,
			offerer: func(p *Policy) { p.SRTP = SRTPRequired },
			answer:  func(p *Policy) { p.SRTPProfiles = []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_32} }},
		{name: "listen-only offerer, answerer without mux, levels or events", codec: "opus", te: 0,
			offDir: RecvOnly, ansDir: SendOnly,
			offerer: func(p *Policy) { p.Direction = RecvOnly },
			answer: func(p *Policy) {
				p.RTCPMux, p.AudioLevels, p.TelephoneEvent, p.ComfortNoise = false, false, false, false
			}},
		{name: "offerer without telephone-event", codec: "PCMU", cn: 13, mux: true, levels: true, offDir: SendRecv, ansDir: SendRecv,
			offerer: func(p *Policy) { p.Codecs, p.TelephoneEvent = []codec.Format{g711.PCMU}, false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			po, pa := all, all
			if tc.offerer != nil {
				tc.offerer(&po)
			}
			if tc.answer != nil {
				tc.answer(&pa)
			}
			offerLocal := Local{Addr: netip.MustParseAddr("10.0.0.1"), RTPPort: 4000}
			answerLocal := Local{Addr: netip.MustParseAddr("10.0.0.2"), RTPPort: 6000, RTCPPort: 6005}
			o, err := NewOffer(po, offerLocal)
			require.NoError(t, err)
			al, err := Answer(o.SDP(), pa)
			require.NoError(t, err)
			ans, err := al.MarshalAnswer(answerLocal)
			require.NoError(t, err)
			ol, err := o.Accept(ans)
			require.NoError(t, err)

			for side, l := range map[string]*Leg{"offerer": ol, "answerer": al} {
				assert.True(t, strings.EqualFold(tc.codec, l.Codec.Name), "%s codec %v", side, l.Codec)
				assert.Equal(t, tc.mux, l.RTCPMux, side)
				assert.Equal(t, tc.te, l.TelephoneEventPayloadType, side)
				assert.Equal(t, tc.cn, l.CNPayloadType, side)
				if tc.levels {
					assert.Equal(t, uint8(1), l.AudioLevelID, side)
				} else {
					assert.Zero(t, l.AudioLevelID, side)
				}
				if tc.srtp == 0 {
					assert.Nil(t, l.SRTP, side)
				} else {
					require.NotNil(t, l.SRTP, side)
					assert.Equal(t, tc.srtp, l.SRTP.Local.Keys.Profile, side)
				}
			}
			assert.Equal(t, ol.Codec, al.Codec, "one payload type both ways")
			assert.Equal(t, tc.offDir, ol.Direction)
			assert.Equal(t, tc.ansDir, al.Direction)
			assert.Equal(t, netip.MustParseAddrPort("10.0.0.2:6000"), ol.RemoteRTP)
			assert.Equal(t, netip.MustParseAddrPort("10.0.0.1:4000"), al.RemoteRTP)
			if tc.mux {
				assert.Equal(t, ol.RemoteRTP, ol.RemoteRTCP)
			} else {
				assert.Equal(t, netip.MustParseAddrPort("10.0.0.2:6005"), ol.RemoteRTCP)
				assert.Equal(t, netip.MustParseAddrPort("10.0.0.1:4001"), al.RemoteRTCP)
			}
			assert.Equal(t, 20*time.Millisecond, ol.RemotePtime)
			if tc.srtp != 0 {
				assert.Equal(t, ol.SRTP.Tag, al.SRTP.Tag)
				assert.Equal(t, ol.SRTP.Suite, al.SRTP.Suite)
				assert.True(t, ol.SRTP.Local.Keys.Equal(al.SRTP.Remote.Keys), "the offerer's key reached the answerer")
				assert.True(t, al.SRTP.Local.Keys.Equal(ol.SRTP.Remote.Keys), "the answerer's key reached the offerer")
				protectBothWays(t, ol, al)
			}
		})
	}
}

// protectBothWays sends one SRTP packet each way with the negotiated keys,
// through the mixer's own view of them (ParticipantConfig).
func protectBothWays(t *testing.T, a, b *Leg) {
	t.Helper()
	pa, pb := a.ParticipantConfig("a"), b.ParticipantConfig("b")
	for _, dir := range []struct{ out, in *srtp.Keys }{{pa.OutSRTP, pb.InSRTP}, {pb.OutSRTP, pa.InSRTP}} {
		prot, err := srtp.NewProtector(*dir.out)
		require.NoError(t, err)
		unprot, err := srtp.NewUnprotector(*dir.in)
		require.NoError(t, err)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: a.Codec.PayloadType, SequenceNumber: 1, SSRC: 7},
			Payload: []byte("twenty bytes of audio")}
		raw, err := pkt.Marshal()
		require.NoError(t, err)
		wire, err := prot.ProtectRTP(nil, raw)
		require.NoError(t, err)
		var hdr rtp.Header
		plain, err := unprot.UnprotectRTP(nil, wire, &hdr)
		require.NoError(t, err)
		assert.Equal(t, raw, plain)
	}
}

// TestAcceptErrors: answers that cannot be used are refused with the
// reason.
func TestAcceptErrors(t *testing.T) {
	p := Policy{Codecs: []codec.Format{opus.Format, g711.PCMU}, SRTP: SRTPRequired,
		SRTPProfiles: []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_80, srtp.ProfileAESCM128HMACSHA1_32}}
	o, err := NewOffer(p, localAddr)
	require.NoError(t, err)
	k80, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	line := func(tag int, k srtp.Keys) string { return srtp.Crypto{Tag: tag, Keys: k}.SDPLine() }
	ans := func(proto, fmts string, extra ...string) []byte { return sdpOffer(proto, fmts, extra...) }
	cases := []struct {
		name   string
		answer []byte
		err    error
		reason string
	}{
		{"not SDP", []byte("v=0\r\nnonsense"), ErrMalformed, "syntax error"},
		{"no m-line", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"), ErrMalformed, "no m-line"},
		{"video m-line", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5 RTP/SAVP 96\r\n"), ErrMalformed, `"video"`},
		{"rejected", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/SAVP 0\r\n"), ErrNotAcceptable, "rejects the audio stream"},
		{"plain answer to SRTP", ans("RTP/AVP", "0"), ErrNotAcceptable, "transport is RTP/AVP, the offer's RTP/SAVP"},
		{"crypto on RTP/AVP", ans("RTP/AVP", "0", line(1, k80)), ErrNotAcceptable, "a=crypto on RTP/AVP"},
		{"no crypto", ans("RTP/SAVP", "0"), ErrNotAcceptable, "without a=crypto"},
		{"codec not offered", ans("RTP/SAVP", "8", line(1, k80)), ErrNotAcceptable, "no codec offered: [PCMA/8000]"},
		{"tag not offered", ans("RTP/SAVP", "0", line(7, k80)), ErrNotAcceptable, "tag 7 was not offered"},
		{"suite changed", ans("RTP/SAVP", "0", line(2, k80)), ErrNotAcceptable, "tag 2 answered with AES_CM_128_HMAC_SHA1_80, offered with AES_CM_128_HMAC_SHA1_32"},
		{"unsupported suite", ans("RTP/SAVP", "0", "a=crypto:1 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw"), ErrNotAcceptable, "F8_128"},
		{"malformed crypto", ans("RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%%"), ErrMalformed, "a=crypto"},
		{"malformed rtpmap", ans("RTP/SAVP", "0", "a=rtpmap:0 PCMU"), ErrMalformed, "rtpmap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leg, err := o.Accept(tc.answer)
			require.Error(t, err)
			assert.Nil(t, leg)
			assert.ErrorIs(t, err, tc.err)
			assert.Contains(t, err.Error(), tc.reason)
		})
	}

	t.Run("an answer without rtpmap for the dynamic type offered", func(t *testing.T) {
		leg, err := o.Accept(ans("RTP/SAVP", "111", line(1, k80)))
		require.NoError(t, err)
		assert.Equal(t, "opus", leg.Codec.Name)
		assert.Nil(t, leg.answer, "an offerer's Leg writes no answer")
		_, err = leg.MarshalAnswer(localAddr)
		assert.ErrorIs(t, err, ErrPolicy)
	})
	t.Run("answer's spelling kept", func(t *testing.T) {
		l := strings.Replace(line(2, mustKeys(t, srtp.ProfileAESCM128HMACSHA1_32)), "AES_CM_128_HMAC_SHA1_32", "SRTP_AES128_CM_HMAC_SHA1_32", 1)
		leg, err := o.Accept(ans("RTP/SAVP", "0", l))
		require.NoError(t, err)
		assert.Equal(t, "SRTP_AES128_CM_HMAC_SHA1_32", leg.SRTP.Suite)
		assert.Equal(t, 2, leg.SRTP.Local.Tag)
	})
}

func mustKeys(t *testing.T, p srtp.Profile) srtp.Keys {
	t.Helper()
	k, err := srtp.GenerateKeys(p)
	require.NoError(t, err)
	return k
}

// TestParticipantConfig: every field of a Leg that the mixer takes lands in
// the participant.
func TestParticipantConfig(t *testing.T) {
	in, out := mustKeys(t, srtp.ProfileAEADAES128GCM), mustKeys(t, srtp.ProfileAEADAES128GCM)
	leg := &Leg{Codec: codec.Format{Name: "PCMA", ClockRate: 8000, Channels: 1, PayloadType: 100}, CNPayloadType: 13,
		AudioLevelID: 4, Direction: SendRecv,
		SRTP: &SDES{Tag: 1, Suite: "AEAD_AES_128_GCM", Remote: srtp.Crypto{Tag: 1, Keys: in}, Local: srtp.Crypto{Tag: 1, Keys: out}}}
	pc := leg.ParticipantConfig("alice")
	assert.Equal(t, "alice", pc.ID)
	assert.Equal(t, leg.Codec, pc.In)
	assert.Equal(t, leg.Codec, pc.Out)
	assert.Equal(t, mixer.PT(100), pc.InPayloadType)
	assert.Equal(t, mixer.PT(100), pc.OutPayloadType)
	assert.Equal(t, uint8(13), pc.CNPayloadType)
	assert.Equal(t, uint8(4), pc.InAudioLevelID)
	assert.Equal(t, uint8(4), pc.OutAudioLevelID)
	require.NotNil(t, pc.InSRTP)
	require.NotNil(t, pc.OutSRTP)
	assert.True(t, pc.InSRTP.Equal(in), "inbound is unprotected with the peer's key")
	assert.True(t, pc.OutSRTP.Equal(out), "outbound is protected with this end's key")
	assert.False(t, pc.ListenOnly)
	assert.False(t, pc.Deaf)
	assert.Equal(t, codec.Config{}, pc.Encoder, "no Opus options for G.711")

	for _, d := range []Direction{SendRecv, SendOnly, RecvOnly, Inactive} {
		leg.Direction = d
		pc := leg.ParticipantConfig("x")
		assert.Equal(t, d, pc.Direction)
		assert.Equal(t, !d.Recv(), pc.ListenOnly, d.String())
		assert.False(t, pc.Deaf, "a direction that does not send is not deafness: nothing is sent at all")
	}

	leg = &Leg{Codec: opus.Format, RemoteFmtp: "maxplaybackrate=16000;sprop-maxcapturerate=16000; useinbandfec=1"}
	enc := leg.ParticipantConfig("o").Encoder
	assert.Equal(t, codec.Config{FEC: true, MaxBandwidth: codec.BandwidthWide}, enc)
	assert.Nil(t, leg.ParticipantConfig("o").InSRTP)
}

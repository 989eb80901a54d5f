package negotiate

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/srtp"
)

// TestAnswerRealOffers answers each captured offer (testdata/README.md) and
// checks what was agreed and the answer written.
func TestAnswerRealOffers(t *testing.T) {
	cases := []struct {
		name, file string
		policy     func(*Policy)
		body       func([]byte) []byte // edits the offer, e.g. drops its last line break
		err        error               // the sentinel expected, nil for success
		reason     string              // in the error, or in the answer
		check      func(t *testing.T, leg *Leg, answer []byte)
	}{
		{name: "ffmpeg PCMU", file: "ffmpeg-pcmu.sdp", check: func(t *testing.T, leg *Leg, ans []byte) {
			assert.Equal(t, g711.PCMU, leg.Codec)
			assert.Equal(t, "RTP/AVP", leg.Proto)
			assert.Equal(t, netip.MustParseAddrPort("127.0.0.1:40000"), leg.RemoteRTP)
			assert.Equal(t, netip.MustParseAddrPort("127.0.0.1:40001"), leg.RemoteRTCP)
			assert.Nil(t, leg.SRTP)
			assert.False(t, leg.RTCPMux)
			assert.Equal(t, SendRecv, leg.Direction)
			assert.Contains(t, string(ans), "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=rtcp:30001\r\na=sendrecv\r\n")
		}},
		{name: "ffmpeg PCMU without its final CRLF", file: "ffmpeg-pcmu.sdp",
			body:  func(b []byte) []byte { return bytes.TrimRight(b, "\r\n") },
			check: func(t *testing.T, leg *Leg, _ []byte) { assert.Equal(t, g711.PCMU, leg.Codec) }},
		{name: "ffmpeg PCMU with bare LF line ends", file: "ffmpeg-pcmu.sdp",
			body:  func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) },
			check: func(t *testing.T, leg *Leg, _ []byte) { assert.Equal(t, g711.PCMU, leg.Codec) }},
		{name: "ffmpeg SRTP on RTP/AVP is refused", file: "ffmpeg-opus-srtp80.sdp",
			err: ErrNotAcceptable, reason: "a=crypto on RTP/AVP"},
		{name: "ffmpeg SRTP_AES128 _32 on RTP/AVP is refused", file: "ffmpeg-opus-srtp32.sdp",
			err: ErrNotAcceptable, reason: "must be offered as RTP/SAVP"},
		{name: "ffmpeg RTP/SAVP SRTP_AES128_CM_HMAC_SHA1_32 answered in its spelling", file: "ffmpeg-savp-srtp32.sdp",
			reason: "a=crypto:1 SRTP_AES128_CM_HMAC_SHA1_32 inline:",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				assert.Equal(t, uint8(97), leg.Codec.PayloadType, "the offer's payload type")
				assert.Equal(t, "opus", leg.Codec.Name)
				require.NotNil(t, leg.SRTP)
				assert.Equal(t, "SRTP_AES128_CM_HMAC_SHA1_32", leg.SRTP.Suite)
				assert.Equal(t, srtp.ProfileAESCM128HMACSHA1_32, leg.SRTP.Local.Keys.Profile)
				assert.NotContains(t, string(ans), "AES_CM_128_HMAC_SHA1_32")
				assert.False(t, leg.SRTP.Local.Keys.Equal(leg.SRTP.Remote.Keys), "this end's key is its own")
			}},
		{name: "ffmpeg G.722 without G.722 in the policy", file: "ffmpeg-g722.sdp",
			err: ErrNotAcceptable, reason: "no supported codec among [G722/8000]"},
		{name: "ffmpeg G.722 on the 8000 Hz RTP clock", file: "ffmpeg-g722.sdp",
			policy: func(p *Policy) { p.Codecs = append(p.Codecs, g722) },
			reason: "a=rtpmap:9 G722/8000\r\n",
			check: func(t *testing.T, leg *Leg, _ []byte) {
				assert.Equal(t, g722, leg.Codec)
				assert.Equal(t, 8000, leg.Codec.ClockRate)
			}},
		{name: "Yealink T22P: G.722 offered first, PCMU taken", file: "yealink-t22p.sdp",
			policy: func(p *Policy) { p.TelephoneEvent = true },
			reason: "m=audio 30000 RTP/AVP 0 101\r\n",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				assert.Equal(t, g711.PCMU, leg.Codec)
				assert.Equal(t, uint8(101), leg.TelephoneEventPayloadType)
				assert.Equal(t, 8000, leg.TelephoneEventClockRate)
				assert.Equal(t, 20*time.Millisecond, leg.RemotePtime)
				assert.Contains(t, string(ans), "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n")
			}},
		{name: "Yealink T22P with G.722 and local preference", file: "yealink-t22p.sdp",
			policy: func(p *Policy) {
				p.Codecs = []codec.Format{g711.PCMA, g722}
				p.PreferLocalOrder = true
			},
			check: func(t *testing.T, leg *Leg, _ []byte) {
				assert.Equal(t, g711.PCMA, leg.Codec)
				assert.Zero(t, leg.TelephoneEventPayloadType, "not asked for")
			}},
		{name: "Htek UC V20 audio and video: video rejected", file: "htek-uc-v20-video.sdp",
			reason: "m=video 0 RTP/AVP 96 97\r\n",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				sd := mustParse(t, ans)
				require.Len(t, sd.MediaDescriptions, 2, "as many m-lines as the offer")
				assert.Equal(t, 30000, sd.MediaDescriptions[0].MediaName.Port.Value)
				assert.Equal(t, g711.PCMU, leg.Codec)
			}},
		{name: "Htek UC V20 Opus by local preference, its fmtp read", file: "htek-uc-v20-video.sdp",
			policy: func(p *Policy) {
				p.Codecs = []codec.Format{opus.Format, g711.PCMU}
				p.PreferLocalOrder = true
			},
			reason: "a=rtpmap:120 opus/48000/2\r\na=fmtp:120 minptime=10;useinbandfec=1\r\n",
			check: func(t *testing.T, leg *Leg, _ []byte) {
				assert.Equal(t, uint8(120), leg.Codec.PayloadType)
				assert.Equal(t, "useinbandfec=1; usedtx=1; maxaveragebitrate=64000", leg.RemoteFmtp)
				enc := leg.ParticipantConfig("htek").Encoder
				assert.True(t, enc.FEC)
				assert.True(t, enc.DTX)
				assert.Equal(t, 64000, enc.Bitrate)
			}},
		{name: "Htek UC V20 hold: c=0.0.0.0 sendonly", file: "htek-uc-v20-hold.sdp",
			reason: "a=recvonly\r\n",
			check: func(t *testing.T, leg *Leg, _ []byte) {
				assert.True(t, leg.RemoteRTP.Addr().IsUnspecified())
				assert.Equal(t, uint16(12100), leg.RemoteRTP.Port())
				assert.Equal(t, RecvOnly, leg.Direction)
				pc := leg.ParticipantConfig("held")
				assert.Equal(t, RecvOnly, pc.Direction, "nothing is sent to a held phone")
				assert.False(t, pc.ListenOnly, "music on hold from it is heard")
			}},
		{name: "BroadWorks best effort, SRTP allowed: the RTP/AVP copy", file: "broadworks-best-effort-srtp.sdp",
			reason: "m=audio 0 RTP/SAVP 8 0 18 116\r\n",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				assert.Equal(t, "RTP/AVP", leg.Proto)
				assert.Equal(t, g711.PCMA, leg.Codec)
				assert.Nil(t, leg.SRTP)
				assert.True(t, strings.Index(string(ans), "m=audio 30000 RTP/AVP") < strings.Index(string(ans), "m=audio 0 RTP/SAVP"))
			}},
		{name: "BroadWorks best effort, SRTP required: the RTP/SAVP copy", file: "broadworks-best-effort-srtp.sdp",
			policy: func(p *Policy) { p.SRTP = SRTPRequired },
			reason: "m=audio 0 RTP/AVP 8 0 18 116\r\n",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				assert.Equal(t, "RTP/SAVP", leg.Proto)
				require.NotNil(t, leg.SRTP)
				assert.Equal(t, 1, leg.SRTP.Tag)
				assert.Equal(t, uint64(1)<<31, leg.SRTP.Remote.Keys.Lifetime)
				assert.Contains(t, string(ans), "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:")
			}},
		{name: "BroadWorks, only _32 allowed", file: "broadworks-best-effort-srtp.sdp",
			policy: func(p *Policy) {
				p.SRTP = SRTPRequired
				p.SRTPProfiles = []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_32}
			},
			check: func(t *testing.T, leg *Leg, _ []byte) { assert.Equal(t, 2, leg.SRTP.Tag) }},
		{name: "BroadWorks, only GCM allowed: reasons listed", file: "broadworks-best-effort-srtp.sdp",
			policy: func(p *Policy) {
				p.SRTP = SRTPRequired
				p.SRTPProfiles = []srtp.Profile{srtp.ProfileAEADAES128GCM}
			},
			err: ErrNotAcceptable, reason: "m-line 2: no supported crypto suite: AES_CM_128_HMAC_SHA1_80 not allowed by the policy"},
		{name: "Chrome 2013 SDES: Opus, rtcp-mux, levels, mid", file: "chrome-2013-sdes.sdp",
			policy: func(p *Policy) { p.TelephoneEvent = true },
			reason: "a=mid:audio\r\n",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				assert.Equal(t, "opus", leg.Codec.Name)
				assert.Equal(t, uint8(111), leg.Codec.PayloadType)
				assert.Equal(t, "RTP/SAVPF", leg.Proto)
				assert.True(t, leg.RTCPMux)
				assert.Equal(t, leg.RemoteRTP, leg.RemoteRTCP)
				assert.Equal(t, uint8(1), leg.AudioLevelID)
				assert.Equal(t, uint8(107), leg.CNPayloadType, "CN/48000 for Opus")
				assert.Equal(t, uint8(126), leg.TelephoneEventPayloadType, "only an 8 kHz one offered")
				assert.Equal(t, 8000, leg.TelephoneEventClockRate)
				assert.Equal(t, 60*time.Millisecond, leg.RemoteMaxPtime)
				sd := mustParse(t, ans)
				require.Len(t, sd.MediaDescriptions, 2)
				assert.Len(t, attr(sd, 0, "rtcp-mux"), 1)
				assert.Equal(t, []string{"1 " + AudioLevelURI}, attr(sd, 0, "extmap"))
			}},
		{name: "Chrome 2013 SDES with SRTP refused", file: "chrome-2013-sdes.sdp",
			policy: func(p *Policy) { p.SRTP = SRTPRefused },
			err:    ErrNotAcceptable, reason: "refuses SRTP"},
		{name: "Chrome 2013 without rtcp-mux in the policy", file: "chrome-2013-sdes.sdp",
			policy: func(p *Policy) { p.RTCPMux = false },
			reason: "m=audio 30000 RTP/SAVPF",
			check: func(t *testing.T, leg *Leg, ans []byte) {
				assert.False(t, leg.RTCPMux)
				assert.NotContains(t, string(ans), "rtcp-mux")
				assert.Equal(t, netip.MustParseAddrPort("0.0.0.0:1"), leg.RemoteRTCP, "the offer's a=rtcp")
			}},
		{name: "Element (Chromium) WebRTC offer", file: "element-chromium-dtls.sdp",
			err: ErrDTLS, reason: "transport UDP/TLS/RTP/SAVPF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := bridgePolicy()
			if tc.policy != nil {
				tc.policy(&p)
			}
			body := readOffer(t, tc.file)
			if tc.body != nil {
				body = tc.body(body)
			}
			leg, err := Answer(body, p)
			if tc.err != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.err)
				if errors.Is(tc.err, ErrDTLS) {
					assert.ErrorIs(t, err, ErrNotAcceptable)
				}
				assert.Contains(t, err.Error(), tc.reason)
				assert.Nil(t, leg)
				return
			}
			require.NoError(t, err)
			ans, err := leg.MarshalAnswer(localAddr)
			require.NoError(t, err)
			mustParse(t, ans)
			assert.Contains(t, string(ans), "c=IN IP4 192.0.2.10\r\n")
			assert.Contains(t, string(ans), "o=- 42 1 IN IP4 192.0.2.10\r\n")
			assert.Contains(t, string(ans), tc.reason)
			if tc.check != nil {
				tc.check(t, leg, ans)
			}
		})
	}
}

// TestAnswerErrors: each malformed offer wraps ErrMalformed and each
// unacceptable one ErrNotAcceptable, with the reason in the text.
func TestAnswerErrors(t *testing.T) {
	key := "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw" // 30 bytes
	cases := []struct {
		name   string
		offer  []byte
		err    error
		reason string
	}{
		{"empty", nil, ErrMalformed, "empty body"},
		{"blank", []byte(" \r\n\r\n"), ErrMalformed, "empty body"},
		{"not SDP", []byte("hello"), ErrMalformed, "syntax error"},
		{"too large", append(sdpOffer("RTP/AVP", "0"), bytes.Repeat([]byte("a=x\r\n"), MaxSize/5)...), ErrMalformed, "at most 65536"},
		{"no c= line", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), ErrMalformed, "no c= line"},
		{"host name in c=", []byte("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 nothere\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), ErrMalformed, "not an IPv4 address"},
		{"IPv6 address as IP4", []byte("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), ErrMalformed, "not an IPv4 address"},
		{"bad payload type", sdpOffer("RTP/AVP", "abc"), ErrMalformed, "not a payload type"},
		{"payload type 128", sdpOffer("RTP/AVP", "128"), ErrMalformed, "not a payload type"},
		{"bad rtpmap", sdpOffer("RTP/AVP", "0", "a=rtpmap:zz"), ErrMalformed, "rtpmap"},
		{"rtpmap without clock", sdpOffer("RTP/AVP", "96", "a=rtpmap:96 opus"), ErrMalformed, "rtpmap"},
		{"bad crypto", sdpOffer("RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!"), ErrMalformed, "a=crypto"},
		{"short crypto key", sdpOffer("RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:MTIz"), ErrMalformed, "wrong length"},
		{"extmap ID 0", sdpOffer("RTP/AVP", "0", "a=extmap:0 "+AudioLevelURI), ErrMalformed, "extmap"},
		{"extmap ID 256", sdpOffer("RTP/AVP", "0", "a=extmap:256 "+AudioLevelURI), ErrMalformed, "extmap"},
		{"bad a=rtcp", sdpOffer("RTP/AVP", "0", "a=rtcp:0"), ErrMalformed, "a=rtcp"},
		{"a=rtcp with a host name", sdpOffer("RTP/AVP", "0", "a=rtcp:4001 IN IP4 host"), ErrMalformed, "a=rtcp"},

		{"no audio", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n"), ErrNotAcceptable, "no audio m-line"},
		{"audio port 0", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"), ErrNotAcceptable, "no audio m-line"},
		{"unknown codecs", sdpOffer("RTP/AVP", "18 96 101", "a=rtpmap:96 speex/16000", "a=rtpmap:101 telephone-event/8000"), ErrNotAcceptable, "no supported codec among [G729/8000 speex/16000]"},
		{"dynamic payload type without rtpmap", sdpOffer("RTP/AVP", "96"), ErrNotAcceptable, "no supported codec among [96]"},
		{"opus with one channel", sdpOffer("RTP/AVP", "96", "a=rtpmap:96 opus/48000"), ErrNotAcceptable, "opus/48000"},
		{"DTLS", sdpOffer("UDP/TLS/RTP/SAVPF", "0"), ErrDTLS, "transport UDP/TLS/RTP/SAVPF"},
		{"other transport", sdpOffer("TCP/RTP/AVP", "0"), ErrNotAcceptable, `transport "TCP/RTP/AVP"`},
		{"RTP/SAVP without crypto", sdpOffer("RTP/SAVP", "0"), ErrNotAcceptable, "without a=crypto"},
		{"crypto on RTP/AVPF", sdpOffer("RTP/AVPF", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key), ErrNotAcceptable, "a=crypto on RTP/AVPF"},
		{"only unsupported suites", sdpOffer("RTP/SAVP", "0", "a=crypto:1 F8_128_HMAC_SHA1_80 inline:"+key), ErrNotAcceptable, "no supported crypto suite"},
		{"unknown suite", sdpOffer("RTP/SAVP", "0", "a=crypto:1 AES_CM_999 inline:AAAA"), ErrNotAcceptable, "unknown crypto suite"},
		{"unsupported session parameter", sdpOffer("RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key+" UNENCRYPTED_SRTP"), ErrNotAcceptable, "UNENCRYPTED_SRTP"},
		{"several master keys", sdpOffer("RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+key+"|1:4;inline:"+key+"|2:4"), ErrNotAcceptable, "2 master keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leg, err := Answer(tc.offer, bridgePolicy())
			require.Error(t, err)
			assert.Nil(t, leg)
			assert.ErrorIs(t, err, tc.err)
			if errors.Is(tc.err, ErrMalformed) {
				assert.NotErrorIs(t, err, ErrNotAcceptable)
			} else {
				assert.ErrorIs(t, err, ErrNotAcceptable)
				assert.NotErrorIs(t, err, ErrMalformed)
			}
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
}

// TestAnswerSRTPPolicy: required refuses plain RTP, refused refuses SRTP,
// allowed takes both.
func TestAnswerSRTPPolicy(t *testing.T) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	plain := sdpOffer("RTP/AVP", "0")
	secure := sdpOffer("RTP/SAVP", "0", srtp.Crypto{Tag: 3, Keys: keys}.SDPLine())
	for _, tc := range []struct {
		mode          SRTPMode
		plain, secure bool
	}{{SRTPAllowed, true, true}, {SRTPRequired, false, true}, {SRTPRefused, true, false}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			p := bridgePolicy()
			p.SRTP = tc.mode
			_, err := Answer(plain, p)
			assert.Equal(t, tc.plain, err == nil, "plain: %v", err)
			leg, err := Answer(secure, p)
			assert.Equal(t, tc.secure, err == nil, "secure: %v", err)
			if err == nil {
				assert.True(t, leg.SRTP.Remote.Keys.Equal(keys))
				assert.Equal(t, 3, leg.SRTP.Local.Tag)
			}
		})
	}
}

// TestAnswerSuiteSpellings: every suite name package srtp reads is accepted
// and answered with the same spelling, tag and profile.
func TestAnswerSuiteSpellings(t *testing.T) {
	spellings := map[string]srtp.Profile{
		"AES_CM_128_HMAC_SHA1_80":     srtp.ProfileAESCM128HMACSHA1_80,
		"AES_CM_128_HMAC_SHA1_32":     srtp.ProfileAESCM128HMACSHA1_32,
		"SRTP_AES128_CM_HMAC_SHA1_80": srtp.ProfileAESCM128HMACSHA1_80,
		"SRTP_AES128_CM_HMAC_SHA1_32": srtp.ProfileAESCM128HMACSHA1_32,
		"AEAD_AES_128_GCM":            srtp.ProfileAEADAES128GCM,
		"AEAD_AES_256_GCM":            srtp.ProfileAEADAES256GCM,
		"SRTP_AEAD_AES_128_GCM":       srtp.ProfileAEADAES128GCM,
		"SRTP_AEAD_AES_256_GCM":       srtp.ProfileAEADAES256GCM,
	}
	for name, profile := range spellings {
		t.Run(name, func(t *testing.T) {
			k, err := srtp.GenerateKeys(profile)
			require.NoError(t, err)
			line := strings.Replace(srtp.Crypto{Tag: 5, Keys: k}.SDPLine(), profile.String(), name, 1)
			leg, err := Answer(sdpOffer("RTP/SAVP", "0", line), bridgePolicy())
			require.NoError(t, err)
			assert.Equal(t, name, leg.SRTP.Suite)
			assert.Equal(t, profile, leg.SRTP.Local.Keys.Profile)
			assert.True(t, leg.SRTP.Remote.Keys.Equal(k))
			ans, err := leg.MarshalAnswer(localAddr)
			require.NoError(t, err)
			cryptos := attr(mustParse(t, ans), 0, "crypto")
			require.Len(t, cryptos, 1)
			assert.True(t, strings.HasPrefix(cryptos[0], "5 "+name+" inline:"), cryptos[0])
			c, err := srtp.ParseSDES(cryptos[0])
			require.NoError(t, err)
			assert.True(t, c.Keys.Equal(leg.SRTP.Local.Keys))
		})
	}
}

// TestAnswerPicks covers the choices that no captured offer exercises.
func TestAnswerPicks(t *testing.T) {
	t.Run("first acceptable crypto line in the offer's order", func(t *testing.T) {
		k32, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_32)
		k80, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		leg, err := Answer(sdpOffer("RTP/SAVP", "0", "a=crypto:1 AES_192_CM_HMAC_SHA1_80 inline:AAAA",
			srtp.Crypto{Tag: 2, Keys: k32}.SDPLine(), srtp.Crypto{Tag: 3, Keys: k80}.SDPLine()), bridgePolicy())
		require.NoError(t, err)
		assert.Equal(t, 2, leg.SRTP.Tag)
	})
	t.Run("a=rtcp with an address", func(t *testing.T) {
		leg, err := Answer(sdpOffer("RTP/AVP", "8", "a=rtcp:40005 IN IP4 198.51.100.9"), bridgePolicy())
		require.NoError(t, err)
		assert.Equal(t, netip.MustParseAddrPort("198.51.100.9:40005"), leg.RemoteRTCP)
	})
	t.Run("rtcp-mux offered but refused: RTCP on port+1", func(t *testing.T) {
		p := bridgePolicy()
		p.RTCPMux = false
		leg, err := Answer(sdpOffer("RTP/AVP", "8", "a=rtcp-mux"), p)
		require.NoError(t, err)
		assert.False(t, leg.RTCPMux)
		assert.Equal(t, uint16(40001), leg.RemoteRTCP.Port())
	})
	t.Run("IPv6 and a media-level c=", func(t *testing.T) {
		offer := []byte("v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\nc=IN IP6 2001:db8::7\r\n")
		leg, err := Answer(offer, bridgePolicy())
		require.NoError(t, err)
		assert.Equal(t, netip.MustParseAddrPort("[2001:db8::7]:5004"), leg.RemoteRTP)
		ans, err := leg.MarshalAnswer(Local{Addr: netip.MustParseAddr("2001:db8::10"), RTPPort: 7000})
		require.NoError(t, err)
		assert.Contains(t, string(ans), "c=IN IP6 2001:db8::10\r\n")
	})
	t.Run("session-level direction and extmap", func(t *testing.T) {
		offer := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\na=recvonly\r\n" +
			"a=extmap:3/sendonly " + AudioLevelURI + " vad=on\r\nm=audio 5004 RTP/AVP 0\r\n")
		leg, err := Answer(offer, bridgePolicy())
		require.NoError(t, err)
		assert.Equal(t, SendOnly, leg.Direction)
		assert.Equal(t, uint8(3), leg.AudioLevelID)
		ans, err := leg.MarshalAnswer(localAddr)
		require.NoError(t, err)
		assert.Contains(t, string(ans), "a=extmap:3 "+AudioLevelURI+" vad=on\r\n")
		assert.Contains(t, string(ans), "a=sendonly\r\n")
		assert.True(t, leg.ParticipantConfig("x").ListenOnly)
	})
	t.Run("two-byte extmap ID: no levels", func(t *testing.T) {
		leg, err := Answer(sdpOffer("RTP/AVP", "0", "a=extmap:16 "+AudioLevelURI), bridgePolicy())
		require.NoError(t, err)
		assert.Zero(t, leg.AudioLevelID)
	})
	t.Run("levels not wanted", func(t *testing.T) {
		p := bridgePolicy()
		p.AudioLevels = false
		leg, err := Answer(sdpOffer("RTP/AVP", "0", "a=extmap:1 "+AudioLevelURI), p)
		require.NoError(t, err)
		assert.Zero(t, leg.AudioLevelID)
	})
	t.Run("telephone-event at the codec's clock preferred", func(t *testing.T) {
		p := bridgePolicy()
		p.TelephoneEvent = true
		leg, err := Answer(sdpOffer("RTP/AVP", "111 126 110", "a=rtpmap:111 opus/48000/2",
			"a=rtpmap:126 telephone-event/8000", "a=rtpmap:110 telephone-event/48000"), p)
		require.NoError(t, err)
		assert.Equal(t, uint8(110), leg.TelephoneEventPayloadType)
		assert.Equal(t, 48000, leg.TelephoneEventClockRate)
	})
	t.Run("CN only at the codec's clock", func(t *testing.T) {
		leg, err := Answer(sdpOffer("RTP/AVP", "111 13", "a=rtpmap:111 opus/48000/2"), bridgePolicy())
		require.NoError(t, err)
		assert.Zero(t, leg.CNPayloadType)
		leg, err = Answer(sdpOffer("RTP/AVP", "0 13"), bridgePolicy())
		require.NoError(t, err)
		assert.Equal(t, uint8(13), leg.CNPayloadType)
	})
	t.Run("codec names compare case-insensitively, static types remapped", func(t *testing.T) {
		leg, err := Answer(sdpOffer("RTP/AVP", "0 98", "a=rtpmap:0 pcma/8000", "a=rtpmap:98 OPUS/48000/2"), bridgePolicy())
		require.NoError(t, err)
		assert.Equal(t, "PCMA", leg.Codec.Name)
		assert.Equal(t, uint8(0), leg.Codec.PayloadType)
	})
	t.Run("policy direction narrows the answer", func(t *testing.T) {
		for _, tc := range []struct{ policy, offer, want Direction }{
			{SendRecv, SendRecv, SendRecv}, {SendOnly, SendRecv, SendOnly}, {RecvOnly, SendRecv, RecvOnly},
			{SendRecv, SendOnly, RecvOnly}, {SendRecv, RecvOnly, SendOnly}, {SendOnly, SendOnly, Inactive},
			{SendRecv, Inactive, Inactive}, {Inactive, SendRecv, Inactive},
		} {
			p := bridgePolicy()
			p.Direction = tc.policy
			leg, err := Answer(sdpOffer("RTP/AVP", "0", "a="+tc.offer.String()), p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, leg.Direction, "policy %v, offer %v", tc.policy, tc.offer)
		}
	})
}

// TestMarshalAnswer: the ports, and what MarshalAnswer refuses.
func TestMarshalAnswer(t *testing.T) {
	leg, err := Answer(sdpOffer("RTP/AVP", "0"), bridgePolicy())
	require.NoError(t, err)
	ans, err := leg.MarshalAnswer(Local{Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 30000, RTCPPort: 30011})
	require.NoError(t, err)
	assert.Contains(t, string(ans), "a=rtcp:30011\r\n")
	ans, err = leg.MarshalAnswer(Local{Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 30000})
	require.NoError(t, err)
	assert.Contains(t, string(ans), "a=rtcp:30001\r\n", "the next port is named too")
	sd := mustParse(t, ans)
	assert.NotZero(t, sd.Origin.SessionID, "a random session ID")
	assert.Less(t, sd.Origin.SessionID, uint64(1)<<63)

	for name, l := range map[string]Local{
		"no address":  {RTPPort: 1},
		"port 0":      {Addr: netip.MustParseAddr("192.0.2.1")},
		"port 70000":  {Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 70000},
		"RTCP 65536":  {Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 65535},
		"RTCP -1":     {Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 5000, RTCPPort: -1},
		"RTCP 100000": {Addr: netip.MustParseAddr("192.0.2.1"), RTPPort: 5000, RTCPPort: 100000},
	} {
		_, err := leg.MarshalAnswer(l)
		assert.ErrorIs(t, err, ErrPolicy, name)
	}
	_, err = (&Leg{}).MarshalAnswer(localAddr)
	assert.ErrorIs(t, err, ErrPolicy, "a Leg that did not come from Answer")
}

// TestPolicyErrors: a policy that cannot work is refused before any SDP is
// read.
func TestPolicyErrors(t *testing.T) {
	cases := map[string]func(*Policy){
		"no codecs":           func(p *Policy) { p.Codecs = nil },
		"unnamed codec":       func(p *Policy) { p.Codecs = []codec.Format{{ClockRate: 8000}} },
		"no clock":            func(p *Policy) { p.Codecs = []codec.Format{{Name: "PCMU"}} },
		"slash in name":       func(p *Policy) { p.Codecs = []codec.Format{{Name: "a/b", ClockRate: 8000}} },
		"payload type 200":    func(p *Policy) { p.Codecs = []codec.Format{{Name: "x", ClockRate: 8000, PayloadType: 200}} },
		"fmtp line break":     func(p *Policy) { p.Codecs = []codec.Format{{Name: "x", ClockRate: 8000, Fmtp: "a\r\nb"}} },
		"bad SRTP mode":       func(p *Policy) { p.SRTP = 9 },
		"bad profile":         func(p *Policy) { p.SRTPProfiles = []srtp.Profile{99} },
		"required, no suites": func(p *Policy) { p.SRTP, p.SRTPProfiles = SRTPRequired, []srtp.Profile{} },
		"ptime 7.5 ms":        func(p *Policy) { p.Ptime = 7500 * time.Microsecond },
		"ptime 2 s":           func(p *Policy) { p.Ptime = 2 * time.Second },
		"level ID 15":         func(p *Policy) { p.AudioLevelID = 15 },
		"static event PT":     func(p *Policy) { p.TelephoneEventPT = 8 },
		"bad direction":       func(p *Policy) { p.Direction = 7 },
		"session name break":  func(p *Policy) { p.SessionName = "a\nb" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			p := bridgePolicy()
			edit(&p)
			_, err := Answer(sdpOffer("RTP/AVP", "0"), p)
			assert.ErrorIs(t, err, ErrPolicy)
			_, err = NewOffer(p, localAddr)
			assert.ErrorIs(t, err, ErrPolicy)
		})
	}
}

func TestDirection(t *testing.T) {
	for _, d := range []Direction{SendRecv, SendOnly, RecvOnly, Inactive} {
		back, ok := parseDirection(d.String())
		require.True(t, ok)
		assert.Equal(t, d, back)
		assert.Equal(t, d, d.Reverse().Reverse())
		assert.Equal(t, d.Send(), d.Reverse().Recv())
	}
	assert.Equal(t, "Direction(9)", Direction(9).String())
	assert.Equal(t, "SRTPMode(9)", SRTPMode(9).String())
}

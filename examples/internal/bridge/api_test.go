package bridge

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

func TestRoomsAPI(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r1")
	code, body, _ := call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"r1"}`))
	assert.Equal(t, http.StatusConflict, code, string(body))
	code, _, _ = call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":""}`))
	assert.Equal(t, http.StatusBadRequest, code)
	code, _, _ = call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"x","bogus":1}`))
	assert.Equal(t, http.StatusBadRequest, code)
	code, _, _ = call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"bad","ptime_ms":7}`))
	assert.Equal(t, http.StatusBadRequest, code)

	var rooms []roomJSON
	getJSON(t, s, "/rooms", &rooms)
	require.Len(t, rooms, 1)
	assert.Equal(t, "r1", rooms[0].Name)

	var st roomStatsJSON
	getJSON(t, s, "/rooms/r1", &st)
	assert.Equal(t, "r1", st.Name)
	assert.Equal(t, 20, st.PtimeMillis)

	code, _, _ = call(t, s, "GET", "/rooms/nope", "", nil)
	assert.Equal(t, http.StatusNotFound, code)
	code, _, _ = call(t, s, "DELETE", "/rooms/r1", "", nil)
	assert.Equal(t, http.StatusNoContent, code)
	code, _, _ = call(t, s, "DELETE", "/rooms/r1", "", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

// TestJoinG722: a desk phone offering G.722 (static payload type 9, RTP
// clock 8000 for 16 kHz audio, RFC 3551) is answered with G.722, and the
// telephone-event it offers is accepted.
func TestJoinG722(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	code, body, _ := call(t, s, "POST", "/rooms/r/participants?id=phone", "application/sdp",
		offerSDP(40000, "RTP/AVP", "9 0 101", "a=rtpmap:9 G722/8000", "a=rtpmap:101 telephone-event/8000"))
	require.Equal(t, http.StatusCreated, code, string(body))
	var ans sdp.SessionDescription
	require.NoError(t, ans.UnmarshalString(string(body)))
	md := ans.MediaDescriptions[0]
	assert.Equal(t, []string{"9", "101"}, md.MediaName.Formats)
	rtpmap, _ := md.Attribute("rtpmap")
	assert.Equal(t, "9 G722/8000", rtpmap)
}

func TestJoinAnswer(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	offerCrypto := srtp.Crypto{Tag: 7, Keys: keys}
	offer := offerSDP(40000, "RTP/SAVP", "96 8 0",
		"a=rtpmap:96 AMR/8000", "a=rtpmap:8 PCMA/8000",
		"a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
		"a=crypto:1 AES_CM_999 inline:AAAA", // unsupported suite: skipped
		offerCrypto.SDPLine())
	code, body, hdr := call(t, s, "POST", "/rooms/r/participants?id=alice", "application/sdp", offer)
	require.Equal(t, http.StatusCreated, code, string(body))
	assert.Equal(t, "/rooms/r/participants/alice", hdr.Get("Location"))
	assert.Equal(t, "application/sdp", hdr.Get("Content-Type"))

	var ans sdp.SessionDescription
	require.NoError(t, ans.UnmarshalString(string(body)))
	require.Len(t, ans.MediaDescriptions, 1)
	md := ans.MediaDescriptions[0]
	assert.Equal(t, []string{"8"}, md.MediaName.Formats, "first supported codec offered")
	assert.Equal(t, "RTP/SAVP", strings.Join(md.MediaName.Protos, "/"))
	assert.Equal(t, "127.0.0.1", ans.ConnectionInformation.Address.Address)
	rtpmap, _ := md.Attribute("rtpmap")
	assert.Equal(t, "8 PCMA/8000", rtpmap)
	ext, _ := md.Attribute("extmap")
	assert.Equal(t, "3 urn:ietf:params:rtp-hdrext:ssrc-audio-level", ext)
	cr, ok := md.Attribute("crypto")
	require.True(t, ok)
	c, err := srtp.ParseSDES(cr)
	require.NoError(t, err)
	assert.Equal(t, 7, c.Tag, "answer echoes the tag of the accepted line")
	assert.False(t, c.Keys.Equal(keys), "the bridge uses its own key")

	var p participantJSON
	getJSON(t, s, "/rooms/r/participants/alice", &p)
	assert.Equal(t, "PCMA/8000", p.Codec)
	assert.Equal(t, md.MediaName.Port.Value, p.LocalPort)
	assert.False(t, p.Sending, "nothing has come from 127.0.0.1:40000 yet")
	assert.Empty(t, p.SendTo)

	code, body, _ = call(t, s, "POST", "/rooms/r/participants?id=alice", "application/sdp", offer)
	assert.Equal(t, http.StatusConflict, code, string(body))

	code, body, _ = call(t, s, "PATCH", "/rooms/r/participants/alice", "application/json",
		[]byte(`{"muted":true,"gain_out_db":-6}`))
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, json.Unmarshal(body, &p))
	assert.True(t, p.Muted)
	assert.Equal(t, -6.0, p.GainOutDB)
	code, _, _ = call(t, s, "PATCH", "/rooms/r/participants/alice", "application/json", []byte(`{"gain_in_db":99}`))
	assert.Equal(t, http.StatusBadRequest, code)

	code, _, _ = call(t, s, "DELETE", "/rooms/r/participants/alice", "", nil)
	assert.Equal(t, http.StatusNoContent, code)
	code, _, _ = call(t, s, "GET", "/rooms/r/participants/alice", "", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

// TestBadOffers: each malformed offer gets 400 and each unacceptable one
// 488, with the reason in the error.
func TestBadOffers(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	cases := []struct {
		name   string
		offer  []byte
		status int
		reason string
	}{
		{"not SDP", []byte("hello"), 400, "malformed SDP"},
		{"empty", nil, 400, "malformed SDP"},
		{"no c= line", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), 400, "no c= line"},
		{"bad address", []byte("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 nothere\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), 400, "not an IPv4"},
		{"bad payload type", offerSDP(4000, "RTP/AVP", "abc"), 400, "not a payload type"},
		{"bad rtpmap", offerSDP(4000, "RTP/AVP", "0", "a=rtpmap:zz"), 400, "rtpmap"},
		{"bad crypto", offerSDP(4000, "RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!"), 400, "crypto"},
		{"bad extmap id", offerSDP(4000, "RTP/AVP", "0", "a=extmap:256 urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 400, "extmap"},
		{"no audio", []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n"), 488, "no audio m-line"},
		{"unknown codecs", offerSDP(4000, "RTP/AVP", "18 96", "a=rtpmap:96 AMR/8000"), 488, "no supported codec"},
		// DTLS goes to pion (webrtc.go), which needs a mid, ICE and a fingerprint.
		{"dtls", offerSDP(4000, "UDP/TLS/RTP/SAVPF", "0"), 400, "WebRTC offer"},
		{"savp without crypto", offerSDP(4000, "RTP/SAVP", "0"), 488, "without a=crypto"},
		{"only unsupported suites", offerSDP(4000, "RTP/SAVP", "0", "a=crypto:1 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw"), 488, "no supported crypto suite"},
		{"ipv6", []byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), 488, "only IN IP4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := call(t, s, "POST", "/rooms/r/participants", "application/sdp", tc.offer)
			assert.Equal(t, tc.status, code, string(body))
			var e map[string]string
			require.NoError(t, json.Unmarshal(body, &e), string(body))
			assert.Contains(t, e["error"], tc.reason)
		})
	}
	var st roomStatsJSON
	getJSON(t, s, "/rooms/r", &st)
	assert.Empty(t, st.IDs, "no refused offer left a participant behind")
}

func TestRequireSRTP(t *testing.T) {
	s := testServer(t, Config{RequireSRTP: true})
	mkRoom(t, s, "r")
	code, body, _ := call(t, s, "POST", "/rooms/r/participants", "application/sdp", offerSDP(4000, "RTP/AVP", "0"))
	assert.Equal(t, 488, code, string(body))
}

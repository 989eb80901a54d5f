package bridge

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/negotiate"
)

// chromeOffer is an offer as Chromium writes it for one sendrecv audio
// transceiver (its codecs, header extensions, RTCP feedback, SSRC lines).
const chromeOffer = "v=0\r\n" +
	"o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS stream\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=candidate:1 1 udp 2113937151 127.0.0.1 54400 typ host generation 0 network-cost 999\r\n" +
	"a=ice-ufrag:Ab3d\r\n" +
	"a=ice-pwd:0123456789abcdefghijklmn\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 19:E2:1C:3B:4B:9F:81:E6:B8:5C:F4:A5:A8:D8:73:04:BB:05:2F:70:9F:04:A9:0E:05:E9:26:33:E8:70:88:A2\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n" +
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
	"a=sendrecv\r\n" +
	"a=msid:stream track\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=rtcp-fb:111 transport-cc\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:63 red/48000/2\r\n" +
	"a=fmtp:63 111/111\r\n" +
	"a=rtpmap:9 G722/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:13 CN/8000\r\n" +
	"a=rtpmap:110 telephone-event/48000\r\n" +
	"a=rtpmap:126 telephone-event/8000\r\n" +
	"a=ssrc:1234 cname:Ab3dEf\r\n" +
	"a=ssrc:1234 msid:stream track\r\n"

// FuzzRTCOffer posts any body that reads as a WebRTC offer (DTLS-SRTP
// transport; FuzzOffer has the rest) through the API's join route, as a
// browser would: the bridge checks it (parseRTCOffer), pion takes it and
// answers. Whatever the body: no panic and no 5xx; a refusal
// is a 4xx with a reason; an answer is SDP with one audio section for
// ICE-lite, and the leg leaves on DELETE with nothing left behind.
func FuzzRTCOffer(f *testing.F) {
	f.Add(chromeOffer)
	f.Add(strings.Replace(chromeOffer, "a=sendrecv", "a=recvonly", 1))
	f.Add(strings.Replace(chromeOffer, "111 63 9 0 8 13 110 126", "0 126", 1))
	f.Add(strings.Replace(chromeOffer, "a=group:BUNDLE 0", "a=group:BUNDLE 0 1", 1) +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n")
	f.Add(strings.Replace(chromeOffer, "a=mid:0\r\n", "", 1))
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")
	s := testServer(f, Config{})
	if _, err := s.createRoom(roomParams{Name: "fz"}); err != nil {
		f.Fatal(err)
	}
	h := s.httpSrv.Handler
	do := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/sdp")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := parseOffer([]byte(body), s.supported); !errors.Is(err, negotiate.ErrDTLS) {
			return // not a WebRTC offer: FuzzOffer's
		}
		rec := do("POST", "/rooms/fz/participants?id=f", body)
		switch {
		case rec.Code == http.StatusCreated:
		case rec.Code >= 400 && rec.Code < 500 || rec.Code == statusNotAcceptableHere:
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("refused (%d) without a reason: %s", rec.Code, rec.Body)
			}
			return
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var ans sdp.SessionDescription
		if err := ans.UnmarshalString(rec.Body.String()); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, rec.Body)
		}
		audio := 0
		for _, md := range ans.MediaDescriptions {
			if md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
				audio++
			}
		}
		if _, lite := ans.Attribute("ice-lite"); audio != 1 || !lite {
			t.Fatalf("answer with %d audio sections (ice-lite %v):\n%s", audio, lite, rec.Body)
		}
		if del := do("DELETE", rec.Header().Get("Location"), ""); del.Code != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", rec.Header().Get("Location"), del.Code, del.Body)
		}
		s.mu.Lock()
		n := s.legCount
		s.mu.Unlock()
		if n != 0 {
			t.Fatalf("%d participant places still taken after DELETE", n)
		}
	})
}

// TestChromeOfferAnswered: Chromium's offer (FuzzRTCOffer's seed) is
// answered with Opus on its payload type, in-band FEC, its RFC 6464 ID,
// ICE-lite and the bridge's one host candidate, and nothing it did not
// ask for (no RED, no transport-cc: one audio stream).
func TestChromeOfferAnswered(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "c")
	code, body, h := call(t, s, "POST", "/rooms/c/participants?id=chrome", "application/sdp", []byte(chromeOffer))
	require.Equal(t, http.StatusCreated, code, string(body))
	assert.Equal(t, "/rooms/c/participants/chrome", h.Get("Location"))
	ans := string(body)
	for _, want := range []string{"a=ice-lite", "m=audio", "UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2",
		"useinbandfec=1", "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", "a=sendrecv", "a=setup:", "a=fingerprint:",
		"typ host", "a=rtcp-mux", "a=mid:0"} {
		assert.Contains(t, ans, want)
	}
	for _, not := range []string{"red/48000", "transport-cc", "m=application"} {
		assert.NotContains(t, ans, not)
	}
	code, body, _ = call(t, s, "DELETE", "/rooms/c/participants/chrome", "", nil)
	assert.Equal(t, http.StatusNoContent, code, string(body))
}

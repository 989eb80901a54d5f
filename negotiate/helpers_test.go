package negotiate

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
)

// g722 is G.722 as RFC 3551 names it: 16 kHz audio on an 8000 Hz RTP clock.
// The codec is not in this module yet; negotiation needs only the format.
var g722 = codec.Format{Name: "G722", ClockRate: 8000, Channels: 1, PayloadType: 9}

// bridgePolicy is what the example bridge accepts.
func bridgePolicy() Policy {
	return Policy{Codecs: []codec.Format{g711.PCMU, g711.PCMA, opus.Format}, RTCPMux: true, AudioLevels: true,
		ComfortNoise: true, Ptime: 20e6}
}

// readOffer returns testdata/name.
func readOffer(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// offerFiles lists the real offers in testdata.
func offerFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.sdp")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

var localAddr = Local{Addr: netip.MustParseAddr("192.0.2.10"), RTPPort: 30000, SessionID: 42}

// sdpOffer writes a minimal offer with one audio m-line and extra lines.
func sdpOffer(proto, fmts string, extra ...string) []byte {
	lines := append([]string{"v=0", "o=- 1 1 IN IP4 198.51.100.7", "s=-", "c=IN IP4 198.51.100.7", "t=0 0",
		"m=audio 40000 " + proto + " " + fmts}, extra...)
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// mustParse parses SDP with pion, failing the test if it does not.
func mustParse(t testing.TB, b []byte) *sdp.SessionDescription {
	t.Helper()
	var sd sdp.SessionDescription
	require.NoError(t, sd.UnmarshalString(string(b)), "%s", b)
	return &sd
}

// attr returns the values of attribute key on m-line i.
func attr(sd *sdp.SessionDescription, i int, key string) []string {
	var out []string
	for _, a := range sd.MediaDescriptions[i].Attributes {
		if a.Key == key {
			out = append(out, a.Value)
		}
	}
	return out
}

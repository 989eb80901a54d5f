package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/negotiate"
	"github.com/rtpmix/rtpmix/srtp"
)

// peerOffer is the offer a peer receiving at at sends to one side: PCMU on
// A, Opus on payload type 97 (ffmpeg's) over SRTP with suite on B.
func peerOffer(t *testing.T, side string, at netip.AddrPort, suite srtp.Profile) *negotiate.Offer {
	t.Helper()
	p := negotiate.Policy{Codecs: []codec.Format{g711.PCMU}}
	if side == "B" {
		f := opus.Format
		f.PayloadType = 97
		p = negotiate.Policy{Codecs: []codec.Format{f}, SRTP: negotiate.SRTPRequired, SRTPProfiles: []srtp.Profile{suite}}
	}
	o, err := negotiate.NewOffer(p, negotiate.Local{Addr: at.Addr(), RTPPort: int(at.Port())})
	require.NoError(t, err)
	return o
}

// latch is a peer address that makes the gateway send only to where the
// peer's packets come from (c=0.0.0.0), so that a test sends nothing to a
// port of 127.0.0.1 that another test may have bound.
func latch(port int) netip.AddrPort { return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)) }

// TestRunAnswersOffers: given both peers' offers, the gateway takes their
// addresses, payload types and key from them and writes answers the peers
// accept, with the ports it bound.
func TestRunAnswersOffers(t *testing.T) {
	dir := t.TempDir()
	offerA, offerB := peerOffer(t, "A", latch(40100), 0), peerOffer(t, "B", latch(40102), srtp.ProfileAEADAES128GCM)
	fileA, fileB := filepath.Join(dir, "a.sdp"), filepath.Join(dir, "b.sdp")
	require.NoError(t, os.WriteFile(fileA, offerA.SDP(), 0o600))
	require.NoError(t, os.WriteFile(fileB, offerB.SDP(), 0o600))
	answerB := filepath.Join(dir, "b-answer.sdp")

	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, run(ctx, []string{"-a", "127.0.0.1:0", "-b", "127.0.0.1:0", "-srtp-suite", "AEAD_AES_128_GCM",
		"-a-offer", fileA, "-b-offer", fileB, "-b-answer", answerB}, &out, &errs), errs.String())
	assert.Empty(t, out.String(), "no key printed: it is in the answer")
	assert.Contains(t, errs.String(), "msg=answered side=B codec=opus/48000/2 pt=97")

	a, err := os.ReadFile(fileA + ".answer")
	require.NoError(t, err)
	legA, err := offerA.Accept(a)
	require.NoError(t, err)
	assert.Equal(t, g711.PCMU, legA.Codec)
	assert.Equal(t, "127.0.0.1", legA.RemoteRTP.Addr().String(), "the gateway's address")
	assert.NotZero(t, legA.RemoteRTP.Port())
	assert.Contains(t, string(a), "a=ptime:20\r\n")

	b, err := os.ReadFile(answerB)
	require.NoError(t, err)
	legB, err := offerB.Accept(b)
	require.NoError(t, err)
	assert.Equal(t, uint8(97), legB.Codec.PayloadType)
	require.NotNil(t, legB.SRTP)
	assert.Equal(t, srtp.ProfileAEADAES128GCM, legB.SRTP.Remote.Keys.Profile)
	assert.NotEqual(t, legA.RemoteRTP, legB.RemoteRTP)
}

func TestRunOfferErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, body []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, body, 0o600))
		return path
	}
	offerB := write("b.sdp", peerOffer(t, "B", latch(40102), srtp.ProfileAESCM128HMACSHA1_80).SDP())
	g722 := write("g722.sdp", []byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 9\r\n"))
	hold := write("hold.sdp", []byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n"))
	srtpOnA := write("srtp-a.sdp", peerOffer(t, "B", latch(40102), srtp.ProfileAESCM128HMACSHA1_80).SDP())
	huge := write("huge.sdp", bytes.Repeat([]byte("a"), negotiate.MaxSize+1))
	listen := []string{"-a", "127.0.0.1:0", "-b", "127.0.0.1:0"}
	cases := []struct {
		name   string
		args   []string
		reason string
	}{
		{"offer and key", []string{"-b-offer", offerB, "-srtp-key", "AAAA"}, "-srtp-key: side B's offer"},
		{"offer and peer", []string{"-b-offer", offerB, "-b-peer", "127.0.0.1:9"}, "-b-peer: side B's offer"},
		{"answer without offer", []string{"-a-answer", filepath.Join(dir, "x")}, "-a-answer needs -a-offer"},
		{"no such file", []string{"-a-offer", filepath.Join(dir, "missing.sdp")}, "-a-offer:"},
		{"too large", []string{"-a-offer", huge}, "larger than an SDP offer"},
		{"no common codec", []string{"-a-offer", g722}, "no supported codec among [G722/8000]"},
		{"one direction", []string{"-a-offer", hold}, "makes the stream recvonly"},
		{"SRTP on side A", []string{"-a-offer", srtpOnA}, "policy refuses SRTP"},
		{"suite not the one given", []string{"-b-offer", offerB, "-srtp-suite", "AEAD_AES_256_GCM"}, "no supported crypto suite"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append(append([]string(nil), listen...), tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := run(ctx, args, &out, &errs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
}

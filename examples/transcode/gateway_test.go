package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/srtp"
)

func startGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	if !cfg.BSendKeys.Profile.Valid() {
		k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err)
		cfg.BSendKeys, cfg.BRecvKeys = k, k
	}
	cfg.AAddr, cfg.BAddr = "127.0.0.1:0", "127.0.0.1:0"
	g, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, g.Start())
	t.Cleanup(g.Close)
	return g
}

func stats(g *Gateway, side string) LegStats {
	for _, s := range g.Stats() {
		if s.Name == side {
			return s
		}
	}
	return LegStats{}
}

// TestGarbageIsDroppedAndCounted: datagrams that are not the leg's stream —
// noise, truncated headers, the wrong payload type, SRTP under another key,
// plain RTP on the SRTP side — are dropped, counted, and cannot take the
// latched return path; the real peers that follow are heard, and the
// garbage that keeps coming does not move them.
func TestGarbageIsDroppedAndCounted(t *testing.T) {
	peerKeys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	gwKeys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	g := startGateway(t, Config{BSendKeys: gwKeys, BRecvKeys: peerKeys})
	aAddr, bAddr := net.UDPAddrFromAddrPort(g.Addr("A")), net.UDPAddrFromAddrPort(g.Addr("B"))

	strangerKeys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	stranger, err := srtp.NewProtector(strangerKeys)
	require.NoError(t, err)
	rtpPkt := func(pt uint8, payload int) []byte {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 1, Timestamp: 160, SSRC: 99},
			Payload: make([]byte, payload)}).Marshal()
		require.NoError(t, err)
		return b
	}
	wrongKey, err := stranger.ProtectRTP(nil, rtpPkt(111, 40))
	require.NoError(t, err)
	garbage := map[string][][]byte{
		"A": {nil, []byte("GET / HTTP/1.1\r\n\r\n"), {0x80, 0, 0}, bytes.Repeat([]byte{0xff}, 200), rtpPkt(8, 160), rtpPkt(111, 160)},
		"B": {nil, []byte("hello"), {0x80, 111, 0, 1, 0, 0}, bytes.Repeat([]byte{0x80}, 300), rtpPkt(111, 40), wrongKey},
	}
	attacker := mediatest.ListenUDP(t)
	send := func() {
		for _, p := range garbage["A"] {
			_, err := attacker.WriteToUDP(p, aAddr)
			require.NoError(t, err)
		}
		for _, p := range garbage["B"] {
			_, err := attacker.WriteToUDP(p, bAddr)
			require.NoError(t, err)
		}
	}
	send()
	for _, side := range []string{"A", "B"} {
		want := uint64(len(garbage[side]))
		require.Eventually(t, func() bool { return stats(g, side).Received == want }, 5*time.Second, 5*time.Millisecond, "side %s", side)
		s := stats(g, side)
		assert.Equal(t, want, s.Dropped, "side %s: every datagram dropped", side)
		assert.Zero(t, s.Accepted)
		assert.Empty(t, s.Peer, "side %s: garbage must not become the peer", side)
		m := s.Mixer
		assert.Equal(t, want, m.Refused.Packets, "side %s: each drop has a reason: %+v", side, m.Refused)
	}
	assert.Positive(t, stats(g, "B").Mixer.Refused.SRTPAuth, "SRTP under another key")
	assert.Positive(t, stats(g, "A").Mixer.Refused.PayloadType, "PCMA on the PCMU side")

	// Now the real peers, while the garbage continues.
	connA, connB := mediatest.ListenUDP(t), mediatest.ListenUDP(t)
	srcA, err := rtpclient.NewToneSource(1000, -10, 2*time.Second, "PCMU/8000", codec.Config{})
	require.NoError(t, err)
	srcB, err := rtpclient.NewToneSource(440, -10, 2*time.Second, "opus/48000/2", codec.Config{Bitrate: 32000})
	require.NoError(t, err)
	sndA, err := rtpclient.NewSender(connA, aAddr, srcA, rtpclient.SenderConfig{})
	require.NoError(t, err)
	sndB, err := rtpclient.NewSender(connB, bAddr, srcB, rtpclient.SenderConfig{PayloadType: 111, SRTP: &peerKeys})
	require.NoError(t, err)
	decA, err := codec.NewDecoder("PCMU/8000", codec.Config{})
	require.NoError(t, err)
	decB, err := codec.NewDecoder("opus/48000/2", codec.Config{SampleRate: 48000, Channels: 1})
	require.NoError(t, err)
	rcvA, err := rtpclient.NewReceiver(connA, rtpclient.ReceiverConfig{ClockRate: 8000, PayloadType: 0, Decoder: decA})
	require.NoError(t, err)
	rcvB, err := rtpclient.NewReceiver(connB, rtpclient.ReceiverConfig{ClockRate: 48000, PayloadType: 111, SRTP: &gwKeys, Decoder: decB})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for _, r := range []*rtpclient.Receiver{rcvA, rcvB} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run() }()
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			send()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	rtpclient.Pace(ctx, 20*time.Millisecond, []*rtpclient.Sender{sndA, sndB}) // 2 s of tone each
	cancel()
	time.Sleep(100 * time.Millisecond) // the last mixed packets
	_ = connA.SetReadDeadline(time.Now())
	_ = connB.SetReadDeadline(time.Now())
	wg.Wait()

	for side, conn := range map[string]*net.UDPConn{"A": connA, "B": connB} {
		s := stats(g, side)
		assert.Equal(t, conn.LocalAddr().(*net.UDPAddr).AddrPort().String(), s.Peer, "side %s latched onto its real peer", side)
		assert.Equal(t, uint64(1), s.Latches, "side %s: garbage never moved the peer", side)
		assert.Greater(t, s.Accepted, uint64(50), "side %s: most of 2 s at 50 packets/s", side)
		assert.Equal(t, s.Received, s.Accepted+s.Dropped)
		assert.Greater(t, s.Dropped, uint64(len(garbage[side])), "side %s: the later garbage was dropped too", side)
	}
	ra, rb := rcvA.Stats(), rcvB.Stats()
	t.Logf("A received %d packets (lost %d, jitter %v), B %d (lost %d, jitter %v)", ra.Packets, ra.Lost, ra.Jitter, rb.Packets, rb.Lost, rb.Jitter)
	assert.Greater(t, ra.Packets, uint64(50))
	assert.Greater(t, rb.Packets, uint64(50))
	// Each side is one socket: the mixer's RTCP reports come multiplexed
	// with the RTP (RFC 5761), and the receivers count them apart.
	assert.Zero(t, ra.Dropped()-ra.RTCP+rb.Dropped()-rb.RTCP, "the gateway sends only valid RTP / SRTP, and RTCP")
	assertHears(t, "side A", rcvA.Audio(), 8000, 440, 1000)
	assertHears(t, "side B", rcvB.Audio(), 48000, 1000, 440)
}

func TestNewRejectsBadConfig(t *testing.T) {
	k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	_, err = New(Config{BSendKeys: k})
	assert.ErrorContains(t, err, "receive keys")
	_, err = New(Config{BSendKeys: k, BRecvKeys: k, APayloadType: 128})
	assert.Error(t, err)
	g, err := New(Config{AAddr: "127.0.0.1:99999", BAddr: "127.0.0.1:0", BSendKeys: k, BRecvKeys: k})
	require.NoError(t, err)
	assert.Error(t, g.Start(), "port out of range")
	g.Close()
}

// TestRun: the command line generates and prints a key, serves, and shuts
// down cleanly when its context ends (as on SIGINT); bad flags are errors.
func TestRun(t *testing.T) {
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, run(ctx, []string{"-a", "127.0.0.1:0", "-b", "127.0.0.1:0", "-stats", "100ms"}, &out, &errs))
	line := strings.TrimSpace(out.String())
	assert.True(t, strings.HasPrefix(line, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), line)
	_, err := srtp.ParseSDES(line)
	assert.NoError(t, err)
	log := errs.String()
	for _, want := range []string{"msg=transcoding", "msg=counters", "msg=\"shutting down\"", "msg=\"final counters\""} {
		assert.Contains(t, log, want)
	}

	bad := [][]string{
		{"-nope"},
		{"-a-peer", "localhost"},
		{"-srtp-suite", "F8_128_HMAC_SHA1_80"},
		{"-srtp-key", "AEAD_AES_128_GCM inline:AAAA"},
		{"-srtp-peer-key", "%%%"},
		{"-log-level", "loud"},
		{"-b-pt", "300"},
		{"-ptime", "7ms", "-a", "127.0.0.1:0", "-b", "127.0.0.1:0"},
	}
	for _, args := range bad {
		errs.Reset()
		assert.Error(t, run(context.Background(), args, &out, &errs), "%v", args)
	}
	assert.ErrorIs(t, run(context.Background(), []string{"-h"}, &out, &errs), flag.ErrHelp)
	assert.Contains(t, errs.String(), "-srtp-peer-key")
}

func TestParseKey(t *testing.T) {
	k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	line := cryptoLine(k)
	value := strings.TrimPrefix(line, "a=crypto:")
	noTag := strings.SplitN(value, " ", 2)[1]
	for name, in := range map[string]string{"sdp line": line, "value": value, "no tag": noTag, "base64": inlineKey(k), "spaces": "  " + line + "\n"} {
		got, err := parseKey(in, srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err, name)
		assert.True(t, got.Equal(k), name)
	}
	k32, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_32)
	require.NoError(t, err)
	for name, in := range map[string]string{
		"empty": "", "not base64": "!!!!", "short base64": "AAAA",
		"suite mismatch": cryptoLine(k32), "garbage": "1 2 3", "mki": value + "|1:4",
	} {
		_, err := parseKey(in, srtp.ProfileAESCM128HMACSHA1_80)
		assert.Error(t, err, name)
	}
	// A bare key takes the suite from the flag.
	got, err := parseKey(inlineKey(k32), srtp.ProfileAESCM128HMACSHA1_32)
	require.NoError(t, err)
	assert.True(t, got.Equal(k32))
}

// FuzzParseKey: any text is a usable key of the requested suite or an
// error.
func FuzzParseKey(f *testing.F) {
	k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(f, err)
	f.Add(cryptoLine(k))
	f.Add(inlineKey(k))
	f.Add("AES_CM_128_HMAC_SHA1_80 inline:" + inlineKey(k) + "|2^20|1:4")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseKey(s, srtp.ProfileAESCM128HMACSHA1_80)
		if err != nil {
			return
		}
		if got.Profile != srtp.ProfileAESCM128HMACSHA1_80 || got.Validate() != nil {
			t.Fatalf("accepted an unusable key %+v from %q", got, s)
		}
	})
}

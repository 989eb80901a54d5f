package rtpclient

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/srtp"
)

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func addr(c *net.UDPConn) *net.UDPAddr { return c.LocalAddr().(*net.UDPAddr) }

// echo sends every datagram back to where it came from, as a bridge that
// hears only itself would, until the socket closes.
func echo(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		_, _ = c.WriteToUDP(buf[:n], from)
	}
}

// TestLoopbackThroughEcho: a 1 kHz tone as SRTP PCMU with audio levels goes
// out through a local UDP echo and back into a Receiver on the same socket;
// every packet must arrive, authenticate and decode to the tone.
func TestLoopbackThroughEcho(t *testing.T) {
	for _, sdpName := range []string{"PCMU/8000", "opus/48000/2"} {
		t.Run(sdpName, func(t *testing.T) {
			src, err := NewToneSource(1000, -10, time.Second, sdpName, codec.Config{})
			require.NoError(t, err)
			require.Equal(t, 50, src.Len())
			keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			require.NoError(t, err)

			peer, leg := listen(t), listen(t)
			go echo(peer)
			pt := src.Format().PayloadType
			snd, err := NewSender(leg, addr(peer), src, SenderConfig{AudioLevelID: 1, SRTP: &keys})
			require.NoError(t, err)
			dec, err := codec.NewDecoder(sdpName, codec.Config{Channels: 1})
			require.NoError(t, err)
			rcv, err := NewReceiver(leg, ReceiverConfig{ClockRate: src.Format().ClockRate, PayloadType: pt, SRTP: &keys, Decoder: dec})
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() { done <- rcv.Run() }()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ticks := Pace(ctx, 10*time.Millisecond, []*Sender{snd}) // twice real time
			assert.GreaterOrEqual(t, ticks, 50)
			require.Eventually(t, func() bool { return rcv.Stats().Packets+snd.Stats().Skipped >= 50 }, 5*time.Second, 10*time.Millisecond)
			require.NoError(t, leg.SetReadDeadline(time.Now()))
			require.NoError(t, <-done)

			ss, rs := snd.Stats(), rcv.Stats()
			assert.Equal(t, uint64(50), ss.Packets+ss.Skipped)
			assert.Zero(t, ss.Errors)
			assert.Equal(t, ss.Packets, rs.Packets, "loopback must not lose packets")
			assert.Equal(t, ss.Bytes, rs.Bytes)
			assert.Zero(t, rs.Lost, "skipped frames use no sequence numbers")
			assert.Zero(t, rs.Dropped())
			assert.Zero(t, rs.DecodeErrors)
			pcm := rcv.Audio()
			rate := dec.SampleRate()
			require.Greater(t, len(pcm), rate/2)
			assert.Greater(t, mediatest.ToneShare(pcm[rate/10:], rate, 1000), 0.8, "the tone comes back")
		})
	}
}

// pkt builds a plain RTP packet.
func pkt(pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// TestReceiverStatistics checks RFC 3550 loss and jitter on packets with
// chosen arrival times: a wrap, a loss, a reorder and a duplicate, then a
// new SSRC.
func TestReceiverStatistics(t *testing.T) {
	r, err := NewReceiver(nil, ReceiverConfig{ClockRate: 8000, PayloadType: 0})
	require.NoError(t, err)
	t0 := time.Unix(1000, 0)
	payload := make([]byte, 160)
	seqs := []uint16{65534, 65535, 1, 0, 2, 2} // 0 arrives late, 3 is never sent... 2 twice
	for i, s := range seqs {
		ts := uint32(int(s+2) * 160) // in step with the sequence numbers across the wrap
		require.NoError(t, r.Handle(pkt(0, s, ts, 7, payload), t0.Add(time.Duration(i)*20*time.Millisecond)))
	}
	st := r.Stats()
	assert.Equal(t, uint64(6), st.Packets)
	assert.Equal(t, uint64(5), st.Expected, "65534..2 extended")
	assert.Equal(t, int64(-1), st.Lost, "a duplicate makes RFC 3550 loss negative")
	assert.Greater(t, st.Jitter, time.Duration(0))

	// Constant transit: jitter decays towards zero, loss counts the gap.
	r, err = NewReceiver(nil, ReceiverConfig{ClockRate: 48000, PayloadType: 111})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		if i == 50 {
			continue // lost
		}
		require.NoError(t, r.Handle(pkt(111, uint16(i), uint32(i*960), 9, payload), t0.Add(time.Duration(i)*20*time.Millisecond)))
	}
	st = r.Stats()
	assert.Equal(t, uint64(99), st.Packets)
	assert.Equal(t, uint64(100), st.Expected)
	assert.Equal(t, int64(1), st.Lost)
	assert.Less(t, st.Jitter, time.Microsecond, "constant transit has no jitter")

	// Every other packet 10 ms late: |D| = 10 ms each time, J → 10 ms.
	r, err = NewReceiver(nil, ReceiverConfig{ClockRate: 8000, PayloadType: 0})
	require.NoError(t, err)
	for i := 0; i < 400; i++ {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%2 == 1 {
			at = at.Add(10 * time.Millisecond)
		}
		require.NoError(t, r.Handle(pkt(0, uint16(i), uint32(i*160), 1, payload), at))
	}
	assert.InDelta(t, 10.0, float64(r.Stats().Jitter)/float64(time.Millisecond), 0.1)

	// A new SSRC restarts the sequence space; loss accumulates.
	require.NoError(t, r.Handle(pkt(0, 5000, 0, 2, payload), t0.Add(9*time.Second)))
	require.NoError(t, r.Handle(pkt(0, 5002, 320, 2, payload), t0.Add(9*time.Second+40*time.Millisecond)))
	st = r.Stats()
	assert.Equal(t, uint64(1), st.SSRCChanges)
	assert.Equal(t, uint64(403), st.Expected)
	assert.Equal(t, int64(1), st.Lost)
}

// TestReceiverDropsBadInput: what is not the expected RTP is dropped,
// counted under its reason, and leaves the statistics alone.
func TestReceiverDropsBadInput(t *testing.T) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	other, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	prot, err := srtp.NewProtector(other)
	require.NoError(t, err)
	wrongKey, err := prot.ProtectRTP(nil, pkt(0, 1, 160, 5, make([]byte, 160)))
	require.NoError(t, err)
	rtcpRR := []byte{0x81, 201, 0, 1, 0, 0, 0, 5}

	cases := []struct {
		name  string
		srtp  bool
		in    []byte
		count func(ReceiverStats) uint64
	}{
		{"empty", false, nil, func(s ReceiverStats) uint64 { return s.Malformed }},
		{"garbage", false, []byte("hello, bridge"), func(s ReceiverStats) uint64 { return s.Malformed }},
		{"version 1", false, append([]byte{0x40}, make([]byte, 20)...), func(s ReceiverStats) uint64 { return s.Malformed }},
		{"RTCP muxed", false, rtcpRR, func(s ReceiverStats) uint64 { return s.RTCP }},
		{"wrong payload type", false, pkt(8, 1, 160, 5, make([]byte, 160)), func(s ReceiverStats) uint64 { return s.WrongPayloadType }},
		{"plain RTP to an SRTP leg", true, pkt(0, 1, 160, 5, make([]byte, 160)), func(s ReceiverStats) uint64 { return s.SRTPFailures }},
		{"SRTP with another key", true, wrongKey, func(s ReceiverStats) uint64 { return s.SRTPFailures }},
		{"SRTP too short", true, []byte{0x80, 0, 0, 1}, func(s ReceiverStats) uint64 { return s.SRTPFailures + s.Malformed }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ReceiverConfig{ClockRate: 8000}
			if tc.srtp {
				cfg.SRTP = &keys
			}
			r, err := NewReceiver(nil, cfg)
			require.NoError(t, err)
			assert.Error(t, r.Handle(append([]byte(nil), tc.in...), time.Now()))
			st := r.Stats()
			assert.Equal(t, uint64(1), tc.count(st))
			assert.Equal(t, uint64(1), st.Dropped())
			assert.Zero(t, st.Packets)
			assert.Zero(t, st.Expected)
		})
	}
}

// TestSenderPackets: header fields, the RFC 6464 extension as RFC 8285
// lays it out, continuity of sequence numbers and timestamps, and skip.
func TestSenderPackets(t *testing.T) {
	src, err := NewSource(append(Tone(440, -6, 8000, 160), make([]int16, 160)...), 8000, "PCMU/8000", codec.Config{})
	require.NoError(t, err)
	_, loud := src.Frame(0)
	_, quiet := src.Frame(1)
	assert.InDelta(t, 9, int(loud), 1, "-6 dBFS sine has an RMS of -9 dBov")
	assert.Equal(t, uint8(SilentLevel), quiet)

	peer, leg := listen(t), listen(t)
	s, err := NewSender(leg, addr(peer), src, SenderConfig{SSRC: 42, AudioLevelID: 3, Loop: true, Offset: 1})
	require.NoError(t, err)
	var got []rtp.Packet
	buf := make([]byte, 1500)
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(5*time.Second)))
	for i := 0; i < 4; i++ {
		if i == 2 {
			s.Skip()
		}
		require.NoError(t, s.Send())
		n, err := peer.Read(buf)
		require.NoError(t, err)
		var p rtp.Packet
		require.NoError(t, p.Unmarshal(append([]byte(nil), buf[:n]...)))
		got = append(got, p)
	}
	assert.False(t, s.Done(), "a looping sender never ends")
	for i, p := range got {
		assert.Equal(t, uint32(42), p.SSRC)
		assert.Equal(t, uint8(0), p.PayloadType)
		assert.Equal(t, i == 0, p.Marker)
		assert.Len(t, p.Payload, 160)
		ext := p.GetExtension(3)
		require.Len(t, ext, 1)
		if i > 0 {
			assert.Equal(t, got[i-1].SequenceNumber+1, p.SequenceNumber)
		}
		// Offset 1 starts on the silent frame; frames then alternate, and
		// the skip shifts the phase by one.
		wantLoud := (1+i+map[bool]int{true: 1}[i >= 2])%2 == 0
		if wantLoud {
			assert.Equal(t, 0x80|loud, ext[0], "packet %d: voice flag and level", i)
		} else {
			assert.Equal(t, quiet, ext[0], "packet %d: silence, no voice flag", i)
		}
	}
	assert.Equal(t, got[0].Timestamp+160, got[1].Timestamp)
	assert.Equal(t, got[1].Timestamp+320, got[2].Timestamp, "a skipped frame advances the timestamp")
	st := s.Stats()
	assert.Equal(t, SenderStats{Packets: 4, Bytes: 4 * (12 + 8 + 160), Skipped: 1}, st)

	_, err = NewSender(leg, nil, src, SenderConfig{AudioLevelID: 15})
	assert.Error(t, err)
	_, err = NewSender(leg, nil, src, SenderConfig{PayloadType: 200})
	assert.Error(t, err)
}

func TestSourceErrors(t *testing.T) {
	_, err := NewSource(nil, 8000, "PCMU/8000", codec.Config{})
	assert.Error(t, err)
	_, err = NewSource(make([]int16, 160), 8000, "nope/8000", codec.Config{})
	assert.Error(t, err)
	_, err = NewSource(make([]int16, 160), 11025, "PCMU/8000", codec.Config{})
	assert.Error(t, err, "11025 Hz is not a rate the resampler converts")
	_, err = NewWAVSource("testdata/missing.wav", "PCMU/8000", codec.Config{})
	assert.Error(t, err)
	s, err := NewWAVSource("../../../testdata/alice.wav", "PCMU/8000", codec.Config{})
	require.NoError(t, err)
	assert.InDelta(t, 9.30/0.020, s.Len(), 1)
	assert.Equal(t, g711.PCMU.Name, s.Format().Name)
	assert.Equal(t, 20*time.Millisecond, s.Ptime())
}

func TestSenderSendAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool under -race")
	}
	src, err := NewToneSource(440, -10, 200*time.Millisecond, "PCMU/8000", codec.Config{})
	require.NoError(t, err)
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	peer, leg := listen(t), listen(t)
	s, err := NewSender(leg, addr(peer), src, SenderConfig{AudioLevelID: 1, SRTP: &keys, Loop: true})
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(200, func() { _ = s.Send() }))
}

func TestReceiverHandleAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool under -race")
	}
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	prot, err := srtp.NewProtector(keys)
	require.NoError(t, err)
	r, err := NewReceiver(nil, ReceiverConfig{ClockRate: 8000, SRTP: &keys})
	require.NoError(t, err)
	pkts := make([][]byte, 300)
	for i := range pkts {
		p, err := prot.ProtectRTP(nil, pkt(0, uint16(i), uint32(i*160), 1, make([]byte, 160)))
		require.NoError(t, err)
		pkts[i] = p
	}
	now := time.Now()
	i := 0
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = r.Handle(pkts[i], now.Add(time.Duration(i)*20*time.Millisecond))
		i++
	}))
	assert.Equal(t, uint64(201), r.Stats().Packets)
}

// Pace stops at the context's end even for looping senders, and several
// senders share its ticks.
func TestPaceStopsAndShares(t *testing.T) {
	src, err := NewSilenceSource("PCMU/8000", codec.Config{})
	require.NoError(t, err)
	peer := listen(t)
	var mu sync.Mutex
	count := map[uint32]int{}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := peer.Read(buf)
			if err != nil {
				return
			}
			if n >= 12 {
				mu.Lock()
				count[binary.BigEndian.Uint32(buf[8:12])]++
				mu.Unlock()
			}
		}
	}()
	var senders []*Sender
	for i := 0; i < 5; i++ {
		s, err := NewSender(listen(t), addr(peer), src, SenderConfig{Loop: true})
		require.NoError(t, err)
		senders = append(senders, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ticks := Pace(ctx, 20*time.Millisecond, senders)
	assert.Positive(t, ticks)
	for _, s := range senders {
		st := s.Stats()
		assert.Equal(t, uint64(ticks), st.Packets+st.Skipped)
	}
	assert.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range count {
			n += c
		}
		return len(count) == 5 && n > 0
	}, 2*time.Second, 10*time.Millisecond)
}

// TestSendReport: the report goes out of the Receiver's own socket (the
// address the offer named), as SRTCP when given a protector.
func TestSendReport(t *testing.T) {
	conn, peer := listen(t), listen(t)
	r, err := NewReceiver(conn, ReceiverConfig{ClockRate: 8000})
	require.NoError(t, err)
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	prot, err := srtp.NewProtector(keys)
	require.NoError(t, err)
	unprot, err := srtp.NewUnprotector(keys)
	require.NoError(t, err)
	require.NoError(t, r.SendReport(77, addr(peer), nil))
	require.NoError(t, r.SendReport(78, addr(peer), prot))
	buf := make([]byte, 1500)
	for _, want := range []uint32{77, 78} {
		require.NoError(t, peer.SetReadDeadline(time.Now().Add(2*time.Second)))
		n, from, err := peer.ReadFromUDP(buf)
		require.NoError(t, err)
		assert.Equal(t, addr(conn).String(), from.String())
		b := buf[:n]
		if want == 78 {
			b, err = unprot.UnprotectRTCP(nil, b)
			require.NoError(t, err, "SRTCP")
		}
		pkts, err := rtcp.Unmarshal(b)
		require.NoError(t, err)
		assert.Equal(t, want, pkts[0].(*rtcp.ReceiverReport).SSRC)
	}
	assert.Error(t, (&Receiver{}).SendReport(1, addr(peer), nil))
}

func TestReceiverReport(t *testing.T) {
	r, err := NewReceiver(nil, ReceiverConfig{ClockRate: 8000, PayloadType: 0})
	require.NoError(t, err)
	b, err := r.ReceiverReport(77)
	require.NoError(t, err)
	pkts, err := rtcp.Unmarshal(b)
	require.NoError(t, err)
	require.Len(t, pkts, 1)
	assert.Empty(t, pkts[0].(*rtcp.ReceiverReport).Reports, "nothing received, nothing to report on")

	t0 := time.Unix(0, 0)
	for i := 0; i < 8; i++ {
		if i == 3 || i == 5 {
			continue // 2 of 8 lost
		}
		require.NoError(t, r.Handle(pkt(0, uint16(65532+i), uint32(i*160), 9, make([]byte, 160)), t0.Add(time.Duration(i)*20*time.Millisecond)))
	}
	b, err = r.ReceiverReport(77)
	require.NoError(t, err)
	pkts, err = rtcp.Unmarshal(b)
	require.NoError(t, err)
	rr := pkts[0].(*rtcp.ReceiverReport)
	assert.Equal(t, uint32(77), rr.SSRC)
	require.Len(t, rr.Reports, 1)
	blk := rr.Reports[0]
	assert.Equal(t, uint32(9), blk.SSRC)
	assert.Equal(t, uint8(64), blk.FractionLost, "2/8 = 64/256")
	assert.Equal(t, uint32(2), blk.TotalLost)
	assert.Equal(t, uint32(1<<16|3), blk.LastSequenceNumber, "one wrap, highest 3")

	// The next interval has no loss.
	require.NoError(t, r.Handle(pkt(0, 4, 8*160, 9, make([]byte, 160)), t0.Add(160*time.Millisecond)))
	b, err = r.ReceiverReport(77)
	require.NoError(t, err)
	pkts, err = rtcp.Unmarshal(b)
	require.NoError(t, err)
	assert.Zero(t, pkts[0].(*rtcp.ReceiverReport).Reports[0].FractionLost)
}

package bridge

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/mixer"
)

// TestPacketPathAllocs: once a leg has latched, what the bridge does with
// each inbound datagram (checks, mixer.WriteRTP, loss bookkeeping) and with
// each outbound packet (the Sink's UDP send) allocates nothing; so do the
// drops of garbage and of packets from a foreign address. (The socket read
// itself is x/net's ReadBatch, which allocates the source address of each
// datagram; see the README.)
func TestPacketPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race; make test runs this without it")
	}
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	alice := joinPCMU(t, s, "r", "alice")
	alice.send(t, 3, 440) // latches the leg to alice's socket
	eventually(t, 2*time.Second, func() bool { return alice.stats(t, s).Latched != "" }, "alice did not latch")

	s.mu.Lock()
	r := s.rooms["r"]
	s.mu.Unlock()
	r.mu.Lock()
	l := r.legs["alice"]
	r.mu.Unlock()
	require.NotNil(t, l)

	// Nobody sends to the leg's socket from here on, so this goroutine is
	// the only producer, as the leg's reader would be.
	src := netip.MustParseAddrPort("127.0.0.1:" + itoa(portOf(alice.conn)))
	rd := &rtpIn{src: src, srcSet: true}
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: alice.seq, Timestamp: alice.ts, SSRC: 0x1234},
		Payload: make([]byte, 160)}).Marshal()
	require.NoError(t, err)
	buf := make([]byte, len(pkt))
	seq, ts := alice.seq, alice.ts
	inbound := func() {
		copy(buf, pkt)
		binary.BigEndian.PutUint16(buf[2:], seq)
		binary.BigEndian.PutUint32(buf[4:], ts)
		seq++
		ts += 160
		l.handleRTP(rd, nil, mixer.Monotonic(), src, buf)
	}
	inbound()
	before := alice.stats(t, s)
	require.Zero(t, testing.AllocsPerRun(200, inbound), "inbound RTP")
	foreign := netip.MustParseAddrPort("127.0.0.1:9")
	require.Zero(t, testing.AllocsPerRun(200, func() { l.handleRTP(rd, nil, mixer.Monotonic(), foreign, pkt) }), "foreign source")
	garbage := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	require.Zero(t, testing.AllocsPerRun(200, func() { l.handleRTP(rd, nil, mixer.Monotonic(), src, garbage) }), "garbage")
	after := alice.stats(t, s)
	// AllocsPerRun runs each function once more than it counts.
	// The mixer counts what its jitter buffer took apart from what it
	// refused (201 packets at once overflow the buffer).
	require.Equal(t, before.PacketsIn+before.JitterRejected+201, after.PacketsIn+after.JitterRejected, "every inbound packet reached the mixer")
	require.Equal(t, before.Foreign+201, after.Foreign)
	require.Equal(t, before.Garbage+201, after.Garbage)

	out := make([]byte, 172)
	copy(out, pkt)
	require.Zero(t, testing.AllocsPerRun(200, func() { _ = l.WriteRTP(out) }), "outbound send")
}

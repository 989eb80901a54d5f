package rtcpsession

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRTTExample is RFC 3550 §6.4.1's example (Figure 2): an RR arrives
// at A = 0xb710:8000 (46864.500 s) with LSR 0xb705:2000 (46853.125 s) and
// DLSR 0x0005:4000 (5.250 s): the round trip is 0x0006:2000, 6.125 s.
func TestRTTExample(t *testing.T) {
	// A Clock whose time 0 has the NTP short form 0xb710:8000.
	epoch := NTPToTime(uint64(0xb7108000) << 16)
	require.Equal(t, uint32(0xb7108000), NTPShort(NTPTime(epoch)))
	r := newTestReceiver(t, ReceiverConfig{LocalSSRC: 0xabc, LocalClockRate: 8000, Clock: Clock{Epoch: epoch}})
	rr := mustMarshal(t, &rtcp.ReceiverReport{SSRC: 5, Reports: []rtcp.ReceptionReport{{SSRC: 0xabc, FractionLost: 64,
		TotalLost: 0xffffff, LastSequenceNumber: 1234, Jitter: 80, LastSenderReport: 0xb7052000, Delay: 0x00054000}}})
	sum, err := r.ReceiveRTCP(rr, 0)
	require.NoError(t, err)
	assert.True(t, sum.AboutUs)
	rm := r.Remote()
	assert.True(t, rm.HasRTT)
	assert.Equal(t, 6125*time.Millisecond, rm.RTT)
	assert.Equal(t, uint64(1), rm.Reports)
	assert.Equal(t, 0.25, rm.Loss())
	assert.Equal(t, int32(-1), rm.CumulativeLost)
	assert.Equal(t, uint32(1234), rm.HighestSeq)
	assert.Equal(t, 10*time.Millisecond, rm.JitterDuration)

	// A block that would make the round trip negative (an LSR from the
	// future, a lie or a clock step) leaves the RTT alone; one without an
	// LSR (the remote has no SR of ours yet) gives none.
	for _, lsr := range []uint32{0xb7128000, 0} {
		rr = mustMarshal(t, &rtcp.ReceiverReport{SSRC: 5, Reports: []rtcp.ReceptionReport{{SSRC: 0xabc, LastSenderReport: lsr}}})
		_, err = r.ReceiveRTCP(rr, time.Second)
		require.NoError(t, err)
		assert.Equal(t, 6125*time.Millisecond, r.Remote().RTT)
		assert.Equal(t, time.Duration(0), r.Remote().RTTAt)
	}
	assert.Equal(t, uint64(3), r.Remote().Reports)

	// Blocks about other SSRCs are not ours.
	rr = mustMarshal(t, &rtcp.ReceiverReport{SSRC: 5, Reports: []rtcp.ReceptionReport{{SSRC: 0xabd, FractionLost: 255}}})
	sum, err = r.ReceiveRTCP(rr, 2*time.Second)
	require.NoError(t, err)
	assert.False(t, sum.AboutUs)
	assert.Equal(t, uint8(0), r.Remote().FractionLost)
}

// TestSRGivesLSR: the remote's SR becomes the LSR of our next block about
// it, and DLSR the time since, in 1/65536 s.
func TestSRGivesLSR(t *testing.T) {
	r := newTestReceiver(t, ReceiverConfig{})
	for i := range 10 {
		r.ReceiveRTP(0x77, uint16(i), 0, 0)
	}
	sr := mustMarshal(t, &rtcp.SenderReport{SSRC: 0x77, NTPTime: 0x1234_5678_9abc_def0, RTPTime: 5, PacketCount: 10})
	_, err := r.ReceiveRTCP(sr, time.Second)
	require.NoError(t, err)
	b := r.AppendBlocks(nil, 3*time.Second+500*time.Millisecond)[0]
	assert.Equal(t, uint32(0x5678_9abc), b.LSR)
	assert.Equal(t, uint32(2*65536+32768), b.DLSR)
	s, _ := r.Source(0x77)
	assert.Equal(t, uint64(1), s.SenderReports)
	assert.Equal(t, uint32(10), s.LastSR.PacketCount)
	rs := r.RemoteSender()
	assert.Equal(t, RemoteSender{Reports: 1, SSRC: 0x77, Info: s.LastSR, At: time.Second}, rs)

	// An SR from an SSRC that sends no RTP here gives no LSR.
	r = newTestReceiver(t, ReceiverConfig{})
	r.ReceiveRTP(0x77, 0, 0, 0)
	r.ReceiveRTP(0x77, 1, 0, 0)
	sr = mustMarshal(t, &rtcp.SenderReport{SSRC: 0x99, NTPTime: 1 << 40})
	_, err = r.ReceiveRTCP(sr, 0)
	require.NoError(t, err)
	assert.Zero(t, r.AppendBlocks(nil, time.Second)[0].LSR)
}

// TestBye: a BYE counts only for the remote's own sources (its RTP SSRC,
// or the sender SSRC of its first report); anything else is ignored and
// counted. The reason and the CNAME of its own source are kept.
func TestBye(t *testing.T) {
	bye := func(report uint32, srcs ...uint32) []byte {
		return mustMarshal(t, &rtcp.ReceiverReport{SSRC: report}, &rtcp.Goodbye{Sources: srcs, Reason: "done"})
	}
	t.Run("rtp ssrc", func(t *testing.T) {
		r := newTestReceiver(t, ReceiverConfig{})
		r.ReceiveRTP(0x10, 0, 0, 0)
		// The first report names 0x20: it becomes the peer's too.
		sum, err := r.ReceiveRTCP(bye(0x20, 0x30), 0)
		require.NoError(t, err)
		assert.False(t, sum.Bye)
		assert.Equal(t, 1, sum.ByeIgnored)
		ok, _ := r.Bye()
		assert.False(t, ok)
		sum, err = r.ReceiveRTCP(bye(0x30, 0x10), 0)
		require.NoError(t, err)
		assert.True(t, sum.Bye)
		ok, reason := r.Bye()
		assert.True(t, ok)
		assert.Equal(t, "done", string(reason))
		assert.Equal(t, uint64(1), r.Counts().ByeIgnored)
		assert.Equal(t, uint64(2), r.Counts().BYE)
	})
	t.Run("listener", func(t *testing.T) {
		r := newTestReceiver(t, ReceiverConfig{})
		_, err := r.ReceiveRTCP(mustMarshal(t, &rtcp.ReceiverReport{SSRC: 0x40},
			&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{
				{Source: 0x41, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "someone else"}}},
				{Source: 0x40, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "listener@host"}}}}}), 0)
		require.NoError(t, err)
		assert.Equal(t, "listener@host", string(r.CNAME()))
		peer, ok := r.PeerSSRC()
		assert.True(t, ok)
		assert.Equal(t, uint32(0x40), peer)
		m, s := r.Members()
		assert.Equal(t, 1, m)
		assert.Zero(t, s)
		sum, err := r.ReceiveRTCP(bye(0x41, 0x41), 0)
		require.NoError(t, err)
		assert.False(t, sum.Bye, "a later report's SSRC is not the peer's")
		sum, err = r.ReceiveRTCP(bye(0x41, 0x41, 0x40), 0)
		require.NoError(t, err)
		assert.True(t, sum.Bye)
	})
	t.Run("first report, then its bye", func(t *testing.T) {
		r := newTestReceiver(t, ReceiverConfig{})
		sum, err := r.ReceiveRTCP(bye(0x50, 0x50), 0)
		require.NoError(t, err)
		assert.True(t, sum.Bye)
	})
	t.Run("refused changes nothing", func(t *testing.T) {
		r := newTestReceiver(t, ReceiverConfig{})
		b := bye(0x50, 0x50)
		b[len(b)-1] = 0xff // the BYE reason's padding... the reason length
		b[len(b)-8] = 200  // runs past the packet
		_, err := r.ReceiveRTCP(b, 0)
		require.ErrorIs(t, err, ErrMalformed)
		_, ok := r.PeerSSRC()
		assert.False(t, ok)
		bye, _ := r.Bye()
		assert.False(t, bye)
		assert.Zero(t, r.Counts())
	})
}

// TestReducedSize: a lone feedback packet is refused in a compound-only
// session and taken with ReducedSize.
func TestReducedSize(t *testing.T) {
	pli := mustMarshal(t, &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2})
	r := newTestReceiver(t, ReceiverConfig{})
	_, err := r.ReceiveRTCP(pli, 0)
	assert.Equal(t, ErrNotCompound, err)
	r = newTestReceiver(t, ReceiverConfig{ReducedSize: true})
	sum, err := r.ReceiveRTCP(pli, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Other)
}

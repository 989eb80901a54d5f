package rtcpsession

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refSource is RFC 3550 A.1's C code, transliterated line by line with
// its own types (u_int16 and u_int32 arithmetic), as the reference the
// fuzz target compares the source's state against.
type refSource struct {
	maxSeq                       uint16
	cycles, baseSeq, badSeq      uint32
	probation                    int
	received                     uint32
	expectedPrior, receivedPrior uint32
}

func (s *refSource) initSeq(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = seqMod + 1
	s.cycles = 0
	s.received = 0
	s.receivedPrior = 0
	s.expectedPrior = 0
}

func (s *refSource) updateSeq(seq uint16) int {
	udelta := seq - s.maxSeq
	if s.probation != 0 {
		if seq == s.maxSeq+1 {
			s.probation--
			s.maxSeq = seq
			if s.probation == 0 {
				s.initSeq(seq)
				s.received++
				return 1
			}
		} else {
			s.probation = minSequential - 1
			s.maxSeq = seq
		}
		return 0
	} else if udelta < maxDropout {
		if seq < s.maxSeq {
			s.cycles += seqMod
		}
		s.maxSeq = seq
	} else if udelta <= seqMod-maxMisorder {
		if uint32(seq) == s.badSeq {
			s.initSeq(seq)
		} else {
			s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return 0
		}
	}
	s.received++
	return 1
}

// newRef is A.1's "new source" code.
func newRef(seq uint16) *refSource {
	s := &refSource{}
	s.initSeq(seq)
	s.maxSeq = seq - 1
	s.probation = minSequential
	return s
}

func newTestReceiver(t testing.TB, cfg ReceiverConfig) *Receiver {
	t.Helper()
	r, err := NewReceiver(cfg)
	require.NoError(t, err)
	return r
}

// TestSequence walks A.1's cases: probation, wrap-around, reordering,
// duplicates, a lone stray packet, and a confirmed restart.
func TestSequence(t *testing.T) {
	r := newTestReceiver(t, ReceiverConfig{})
	get := func() SourceStats { s, ok := r.Source(7); require.True(t, ok); return s }

	assert.False(t, r.ReceiveRTP(7, 65530, 0, 0), "first packet: on probation")
	assert.False(t, get().Valid)
	assert.True(t, r.ReceiveRTP(7, 65531, 0, 0), "second in sequence: valid")
	for seq := uint16(65532); seq != 5; seq++ { // across the wrap
		r.ReceiveRTP(7, seq, 0, 0)
	}
	s := get()
	assert.True(t, s.Valid)
	assert.Equal(t, uint32(1<<16+4), s.HighestSeq, "extended across the wrap")
	assert.Equal(t, uint64(10), s.Received)
	assert.Equal(t, uint64(10), s.Expected, "counted from the packet that validated")

	r.ReceiveRTP(7, 8, 0, 0) // 5, 6, 7 lost
	r.ReceiveRTP(7, 6, 0, 0) // 6 arrives late
	r.ReceiveRTP(7, 6, 0, 0) // and again
	s = get()
	assert.Equal(t, uint32(1<<16+8), s.HighestSeq, "a late packet does not move the highest")
	assert.Equal(t, int64(1), s.Lost, "5 and 7 lost, 6 twice")

	assert.False(t, r.ReceiveRTP(7, 30000, 0, 0), "a lone packet far ahead is not counted")
	assert.Equal(t, uint32(1<<16+8), get().HighestSeq)
	assert.True(t, r.ReceiveRTP(7, 9, 0, 0), "the stream goes on")
	r.ReceiveRTP(7, 40000, 0, 0)
	assert.True(t, r.ReceiveRTP(7, 40001, 0, 0), "two in sequence: the sender restarted")
	s = get()
	assert.Equal(t, uint64(1), s.Restarts)
	assert.Equal(t, uint32(40001), s.HighestSeq)
	assert.Equal(t, uint64(1), s.Received)
	assert.Equal(t, int64(0), s.Lost)
}

// TestLossReport: A.3's cumulative and interval loss in report blocks; a
// block only for a source heard since the last report.
func TestLossReport(t *testing.T) {
	r := newTestReceiver(t, ReceiverConfig{})
	for seq := uint16(100); seq < 200; seq++ {
		if seq%10 != 3 { // 10 % loss
			r.ReceiveRTP(9, seq, 0, 0)
		}
	}
	bs := r.AppendBlocks(nil, 0)
	require.Len(t, bs, 1)
	b := bs[0]
	assert.Equal(t, uint32(9), b.SSRC)
	assert.Equal(t, uint32(199), b.HighestSeq)
	// Counting starts at 101 (100 validated the source): 99 expected,
	// 103..193 lost: 10.
	assert.Equal(t, int32(10), b.CumulativeLost)
	assert.Equal(t, uint8(10*256/99), b.FractionLost)

	assert.Empty(t, r.AppendBlocks(nil, 0), "nothing heard since")
	for seq := uint16(200); seq < 300; seq++ {
		if seq%2 == 0 {
			r.ReceiveRTP(9, seq, 0, 0)
		}
	}
	b = r.AppendBlocks(nil, 0)[0]
	assert.Equal(t, uint8(49*256/99), b.FractionLost, "this interval: 199 to 298, 49 of 99 lost")
	assert.Equal(t, int32(10+49), b.CumulativeLost)

	// Only duplicates: more received than expected, fraction 0.
	for range 5 {
		r.ReceiveRTP(9, 298, 0, 0)
	}
	b = r.AppendBlocks(nil, 0)[0]
	assert.Zero(t, b.FractionLost)
	assert.Equal(t, int32(10+49-5), b.CumulativeLost)
}

// TestJitter: A.8's interarrival jitter against the floating-point
// formula, for a regular stream (0), and one whose transit alternates.
func TestJitter(t *testing.T) {
	const rate = 8000
	r := newTestReceiver(t, ReceiverConfig{ClockRate: rate})
	var ref float64
	var prevTransit float64
	for i := range 500 {
		ts := uint32(1_000_000 + i*160)
		arrival := time.Duration(i)*20*time.Millisecond + 5*time.Second
		if i%2 == 1 {
			arrival += 10 * time.Millisecond // every other packet 80 timestamp units late
		}
		r.ReceiveRTP(3, uint16(i), ts, arrival)
		if i >= 2 { // A.1 counts (and A.8 measures) from the second packet on
			transit := float64(timestampAt(arrival, rate)) - float64(ts)
			if i > 2 {
				ref += (math.Abs(transit-prevTransit) - ref) / 16
			}
			prevTransit = transit
		}
	}
	s, _ := r.Source(3)
	assert.InDelta(t, ref, float64(s.Jitter), 1, "integer form tracks the formula")
	assert.InDelta(t, 80, float64(s.Jitter), 1, "alternating 80-unit delay")
	assert.InDelta(t, 10*time.Millisecond, s.JitterDuration, float64(200*time.Microsecond))
	b := r.AppendBlocks(nil, 0)[0]
	assert.Equal(t, s.Jitter, b.Jitter)

	r2 := newTestReceiver(t, ReceiverConfig{ClockRate: rate})
	for i := range 100 {
		r2.ReceiveRTP(3, uint16(i), uint32(i*160), time.Duration(i)*20*time.Millisecond)
	}
	s, _ = r2.Source(3)
	assert.Zero(t, s.Jitter, "a regular stream")

	r3 := newTestReceiver(t, ReceiverConfig{}) // no clock rate: none computed
	for i := range 10 {
		r3.ReceiveRTP(3, uint16(i), uint32(i*7919), time.Duration(i*i)*time.Millisecond)
	}
	s, _ = r3.Source(3)
	assert.Zero(t, s.Jitter)
}

// TestSourceTable: with one slot a new SSRC restarts the statistics; with
// more, the source heard longest ago makes room.
func TestSourceTable(t *testing.T) {
	r := newTestReceiver(t, ReceiverConfig{})
	for i := range 10 {
		r.ReceiveRTP(1, uint16(i), 0, 0)
	}
	r.ReceiveRTP(2, 500, 0, time.Second)
	_, ok := r.Source(1)
	assert.False(t, ok, "replaced")
	s, ok := r.Source(2)
	require.True(t, ok)
	assert.False(t, s.Valid, "the new SSRC is on probation")

	r = newTestReceiver(t, ReceiverConfig{MaxSources: 2})
	r.ReceiveRTP(1, 0, 0, 1*time.Second)
	r.ReceiveRTP(2, 0, 0, 2*time.Second)
	r.ReceiveRTP(1, 1, 0, 3*time.Second)
	r.ReceiveRTP(3, 0, 0, 4*time.Second) // evicts 2, heard longest ago
	_, ok = r.Source(2)
	assert.False(t, ok)
	assert.Len(t, r.AppendSources(nil), 2)

	_, err := NewReceiver(ReceiverConfig{MaxSources: MaxSourcesLimit + 1})
	assert.ErrorIs(t, err, ErrConfig)
}

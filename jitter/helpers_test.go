package jitter_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

const (
	rate  = 48000
	ptime = 20 * time.Millisecond
	tick  = 960 // ticks per 20 ms at 48 kHz
)

// stream builds packets of a sender and feeds a buffer in virtual time.
type stream struct {
	t    *testing.T
	b    *jitter.Buffer
	ssrc uint32
	seq  uint16
	ts   uint32
}

// pinned holds the delay at 80 ms, so that tests of ordering, loss and
// numbering see no delay adaptation.
var pinned = jitter.Config{MinDelay: 80 * time.Millisecond, StartDelay: 80 * time.Millisecond}

func newStream(t *testing.T, cfg jitter.Config) *stream {
	t.Helper()
	if cfg.ClockRate == 0 {
		cfg.ClockRate = rate
	}
	b, err := jitter.New(cfg)
	require.NoError(t, err)
	return &stream{t: t, b: b, ssrc: 0x1234, seq: 65500, ts: 0xFFFF0000}
}

// packet returns packet i after the stream's starting numbers, its payload
// carrying i.
func (s *stream) packet(i int) *jitter.Packet {
	p := &jitter.Packet{
		SSRC:           s.ssrc,
		SequenceNumber: s.seq + uint16(i),
		Timestamp:      s.ts + uint32(i)*tick,
		AudioLevel:     -1,
		Payload:        make([]byte, 16),
	}
	binary.BigEndian.PutUint64(p.Payload, uint64(i))
	binary.BigEndian.PutUint64(p.Payload[8:], ^uint64(i))
	return p
}

// index returns the packet number a payload built by packet carries, or -1.
func index(payload []byte) int {
	if len(payload) != 16 || binary.BigEndian.Uint64(payload) != ^binary.BigEndian.Uint64(payload[8:]) {
		return -1
	}
	return int(binary.BigEndian.Uint64(payload))
}

// frame is a Pop result reduced to what the tests compare.
type frame struct {
	kind jitter.Kind
	i    int // packet number for KindPacket, next packet for KindLost with FEC, else -1
	dur  uint32
}

// mixer pops like the conference mixer: every tick it takes frames until
// the tick is covered, carrying what a longer frame spills into the next.
type mixer struct {
	b     *jitter.Buffer
	carry uint32
}

func (m *mixer) tick(now time.Duration, need uint32) []frame {
	var out []frame
	have := m.carry
	for have < need {
		f := m.b.Pop(now)
		fr := frame{kind: f.Kind, i: -1, dur: f.Duration}
		switch f.Kind {
		case jitter.KindPacket:
			fr.i = index(f.Payload)
		case jitter.KindLost:
			if f.NextAvailable {
				fr.i = index(f.Next)
			}
		}
		out = append(out, fr)
		if f.Kind == jitter.KindEmpty {
			have = need
			break
		}
		have += f.Duration
	}
	m.carry = have - need
	return out
}

// arrival is a packet number and its arrival time.
type arrival struct {
	i  int
	at time.Duration
}

// run pushes arrivals (sorted by time) and pops one 20 ms tick every 20 ms
// from 0 to end, returning every frame and the Push errors by packet.
func run(s *stream, arrivals []arrival, end time.Duration) ([]frame, map[int]error) {
	var frames []frame
	errs := map[int]error{}
	next := 0
	m := &mixer{b: s.b}
	for now := time.Duration(0); now <= end; now += ptime {
		for ; next < len(arrivals) && arrivals[next].at <= now; next++ {
			if err := s.b.Push(arrivals[next].at, s.packet(arrivals[next].i)); err != nil {
				errs[arrivals[next].i] = err
			}
		}
		frames = append(frames, m.tick(now, tick)...)
	}
	return frames, errs
}

// steady returns packets first..last arriving every 20 ms with a fixed
// transit of 50 ms.
func steady(first, last int) []arrival {
	var a []arrival
	for i := first; i <= last; i++ {
		a = append(a, arrival{i: i, at: time.Duration(i)*ptime + 50*time.Millisecond})
	}
	return a
}

// played returns the packet numbers played, in order.
func played(frames []frame) []int {
	var out []int
	for _, f := range frames {
		if f.kind == jitter.KindPacket {
			out = append(out, f.i)
		}
	}
	return out
}

func count(frames []frame, k jitter.Kind) int {
	n := 0
	for _, f := range frames {
		if f.kind == k {
			n++
		}
	}
	return n
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// balanced checks the accounting identity every pushed packet obeys once
// both sides are idle.
func balanced(t *testing.T, st jitter.Stats) {
	t.Helper()
	require.Equal(t, st.Received, st.Played+st.Late+st.Duplicate+st.Dropped+st.Overflow+st.Invalid+st.Buffered,
		"received = played + late + duplicate + dropped + overflow + invalid + buffered: %+v", st)
}

func swapPairs(a []arrival) []arrival {
	out := append([]arrival(nil), a...)
	for i := 0; i+1 < len(out); i += 2 {
		out[i].i, out[i+1].i = out[i+1].i, out[i].i
	}
	return out
}

func reverseBursts(a []arrival, n int) []arrival {
	out := append([]arrival(nil), a...)
	for i := 0; i+n <= len(out); i += n {
		at := out[i+n-1].at // the burst arrives at once
		for k := 0; k < n; k++ {
			out[i+k] = arrival{i: a[i+n-1-k].i, at: at}
		}
	}
	return out
}

func delayOne(a []arrival, i int, by time.Duration) []arrival {
	var out []arrival
	var moved arrival
	for _, x := range a {
		if x.i == i {
			moved = arrival{i: i, at: x.at + by}
			continue
		}
		out = append(out, x)
	}
	return insertSorted(out, moved)
}

func without(a []arrival, lost ...int) []arrival {
	var out []arrival
next:
	for _, x := range a {
		for _, l := range lost {
			if x.i == l {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

func insertSorted(a []arrival, x arrival) []arrival {
	k := len(a)
	for k > 0 && a[k-1].at > x.at {
		k--
	}
	a = append(a, arrival{})
	copy(a[k+1:], a[k:])
	a[k] = x
	return a
}

package dtmf

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tePacket is a telephone-event packet as the jitter buffer hands it on,
// with the virtual time it is played out.
type tePacket struct {
	at      time.Duration
	ts      uint32
	marker  bool
	payload []byte
	audio   bool // an audio packet of the stream (payload ignored)
}

// sendDigit returns the packets a Sender makes for ev lasting d from
// stream timestamp ts, played out at interval from time at.
func sendDigit(t testing.TB, rate int, interval time.Duration, ev Event, d time.Duration, ts uint32, at time.Duration) []tePacket {
	t.Helper()
	s, err := NewSender(SenderConfig{ClockRate: rate, Interval: interval})
	require.NoError(t, err)
	require.NoError(t, s.Start(ev, d, ts))
	var out []tePacket
	for p, ok := s.Next(nil); ok; p, ok = s.Next(nil) {
		out = append(out, tePacket{at: at, ts: p.Timestamp, marker: p.Marker, payload: p.Payload})
		at += interval
	}
	return out
}

// audioFrom returns n audio packets of 20 ms at 8 kHz from ts, played
// from at.
func audioFrom(ts uint32, at time.Duration, n int) []tePacket {
	var out []tePacket
	for i := range n {
		out = append(out, tePacket{at: at + time.Duration(i)*20*time.Millisecond, ts: ts + uint32(i*160), audio: true})
	}
	return out
}

func payload(reps ...Report) []byte {
	var b []byte
	for _, r := range reps {
		b = AppendReport(b, r)
	}
	return b
}

// play feeds packets to a receiver (ticking it at every packet's time and
// then for a second after the last) and returns the notices.
func play(t testing.TB, r *Receiver, pkts []tePacket) []Digit {
	t.Helper()
	var out []Digit
	drain := func() {
		for d, ok := r.Next(); ok; d, ok = r.Next() {
			out = append(out, d)
		}
	}
	var now time.Duration
	for _, p := range pkts {
		now = p.at
		r.Tick(now)
		if p.audio {
			r.Audio(now, p.ts)
		} else {
			require.NoError(t, r.Packet(now, p.ts, p.marker, p.payload))
		}
		drain()
	}
	for range 50 {
		now += 20 * time.Millisecond
		r.Tick(now)
	}
	drain()
	return out
}

func newReceiver(t testing.TB, rate int) *Receiver {
	t.Helper()
	r, err := NewReceiver(ReceiverConfig{ClockRate: rate})
	require.NoError(t, err)
	return r
}

// want is an expected notice: event, ended, cause, start and duration in
// clock units.
type want struct {
	ev      Event
	ended   bool
	cause   Cause
	start   uint32
	samples uint32
}

func check(t *testing.T, got []Digit, ws ...want) {
	t.Helper()
	require.Len(t, got, len(ws), "%v", got)
	for i, w := range ws {
		g := got[i]
		assert.Equal(t, w.ev, g.Event, "notice %d: %v", i, g)
		assert.Equal(t, w.ended, g.Ended, "notice %d: %v", i, g)
		assert.Equal(t, w.start, g.Start, "notice %d start: %v", i, g)
		if w.ended {
			assert.Equal(t, w.cause, g.Cause, "notice %d cause: %v", i, g)
			assert.Equal(t, w.samples, g.Samples, "notice %d duration: %v", i, g)
		}
	}
}

func TestReceiverClean(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		r := newReceiver(t, rate)
		pkts := sendDigit(t, rate, 20*time.Millisecond, 5, 100*time.Millisecond, 1000, 0)
		got := play(t, r, pkts)
		n := uint32(rate / 10)
		check(t, got, want{ev: 5, start: 1000}, want{ev: 5, ended: true, cause: CauseEndPacket, start: 1000, samples: n})
		assert.Equal(t, 100*time.Millisecond, got[1].Duration)
		st := r.Stats()
		assert.Equal(t, uint64(len(pkts)), st.Packets)
		assert.Equal(t, uint64(EndRepeats-1), st.Duplicates, "the repeated end packets")
		assert.Equal(t, uint8(10), got[1].Volume)
	}
}

func TestReceiverLosses(t *testing.T) {
	const iv = 20 * time.Millisecond
	base := sendDigit(t, 8000, iv, 7, 200*time.Millisecond, 5000, 0) // 10 updates, 3 ends
	next := sendDigit(t, 8000, iv, 8, 100*time.Millisecond, 5000+1600+800, 15*iv)
	cut := func(ps []tePacket, drop ...int) []tePacket {
		var out []tePacket
	outer:
		for i, p := range ps {
			for _, d := range drop {
				if d == i {
					continue outer
				}
			}
			out = append(out, p)
		}
		return out
	}
	cases := []struct {
		name string
		pkts []tePacket
		want []want
	}{
		{"start lost", cut(base, 0, 1, 2), []want{{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseEndPacket, start: 5000, samples: 1600}}},
		{"all ends lost, then timeout", cut(base, 9, 10, 11), []want{{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseTimeout, start: 5000, samples: 1440}}},
		{"two of three ends lost", cut(base, 9, 11), []want{{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseEndPacket, start: 5000, samples: 1600}}},
		{"ends lost, next event", append(cut(base, 9, 10, 11), next...), []want{
			{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseNextEvent, start: 5000, samples: 1440},
			{ev: 8, start: 7400}, {ev: 8, ended: true, cause: CauseEndPacket, start: 7400, samples: 800}}},
		{"ends lost, audio resumes", append(cut(base, 9, 10, 11), audioFrom(5000+1600, 10*iv, 8)...),
			[]want{{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseAudio, start: 5000, samples: 1440}}},
		{"only the end packets", base[10:], []want{{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseEndPacket, start: 5000, samples: 1600}}},
		{"every other packet", cut(base, 1, 3, 5, 7, 9, 11), []want{{ev: 7, start: 5000}, {ev: 7, ended: true, cause: CauseEndPacket, start: 5000, samples: 1600}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, play(t, newReceiver(t, 8000), c.pkts), c.want...)
		})
	}
}

// TestReceiverReorder: packets swapped in pairs, an update after the end,
// late copies of an ended event's packets: one digit each, durations
// never shrink.
func TestReceiverReorder(t *testing.T) {
	const iv = 20 * time.Millisecond
	a := sendDigit(t, 8000, iv, 1, 120*time.Millisecond, 100, 0)
	b := sendDigit(t, 8000, iv, 2, 80*time.Millisecond, 100+960+400, 10*iv)
	var pkts []tePacket
	pkts = append(pkts, a...)
	pkts = append(pkts, b...)
	// Swap neighbours all along.
	for i := 0; i+1 < len(pkts); i += 2 {
		pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
	}
	// A late interim of a after b began, and a's start again at the end.
	pkts = append(pkts[:len(a)+2], append([]tePacket{a[3]}, pkts[len(a)+2:]...)...)
	pkts = append(pkts, a[0], b[1])
	r := newReceiver(t, 8000)
	got := play(t, r, pkts)
	check(t, got,
		want{ev: 1, start: 100}, want{ev: 1, ended: true, cause: CauseEndPacket, start: 100, samples: 960},
		want{ev: 2, start: 1460}, want{ev: 2, ended: true, cause: CauseEndPacket, start: 1460, samples: 640})
	assert.NotZero(t, r.Stats().Stale+r.Stats().Duplicates)
}

// TestReceiverOverlap: a new event starts while the old one has not ended
// (its end packets lost or not yet sent); the old one ends there.
func TestReceiverOverlap(t *testing.T) {
	r := newReceiver(t, 8000)
	got := play(t, r, []tePacket{
		{at: 0, ts: 800, marker: true, payload: payload(Report{Event: 4, Duration: 160})},
		{at: 20 * time.Millisecond, ts: 800, payload: payload(Report{Event: 4, Duration: 320})},
		{at: 40 * time.Millisecond, ts: 1200, marker: true, payload: payload(Report{Event: EventStar, Duration: 160})},
		{at: 60 * time.Millisecond, ts: 800, payload: payload(Report{Event: 4, Duration: 480, End: true})}, // too late: counted, dropped
		{at: 80 * time.Millisecond, ts: 1200, payload: payload(Report{Event: EventStar, Duration: 320, End: true})},
	})
	check(t, got,
		want{ev: 4, start: 800}, want{ev: 4, ended: true, cause: CauseNextEvent, start: 800, samples: 320},
		want{ev: EventStar, start: 1200}, want{ev: EventStar, ended: true, cause: CauseEndPacket, start: 1200, samples: 320})
}

// TestReceiverLong: an event longer than 0xFFFF units, sent in segments
// (RFC 4733 §2.5.1.3) by the Sender, and sent the older way with a
// duration that wraps; at 8 and 48 kHz, across the timestamp wrap.
func TestReceiverLong(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		d := 10 * time.Second
		n := uint32(rate * 10)
		start := uint32(0xFFFFFFFF - 30000)
		pkts := sendDigit(t, rate, 50*time.Millisecond, 0, d, start, 0)
		got := play(t, newReceiver(t, rate), pkts)
		check(t, got, want{ev: 0, start: start}, want{ev: 0, ended: true, cause: CauseEndPacket, start: start, samples: n})
		assert.Equal(t, d, got[1].Duration)

		// Wrapping duration: one timestamp, duration modulo 65536.
		var wrap []tePacket
		for i := uint32(1); i*400 <= n; i++ {
			wrap = append(wrap, tePacket{at: time.Duration(i) * 50 * time.Millisecond, ts: start, marker: i == 1,
				payload: payload(Report{Event: 0, Duration: uint16(i * 400), End: i*400 == n})})
		}
		got = play(t, newReceiver(t, rate), wrap)
		check(t, got, want{ev: 0, start: start}, want{ev: 0, ended: true, cause: CauseEndPacket, start: start, samples: n})
	}
}

// TestReceiverPacked: several reports in one packet (RFC 4733 §2.5.1.5),
// as redundancy for an ended event and for events never seen alone.
func TestReceiverPacked(t *testing.T) {
	r := newReceiver(t, 8000)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	got := play(t, r, []tePacket{
		// 3 was never seen: it arrives ended, packed ahead of 6's start.
		{at: ms(0), ts: 1000, marker: true, payload: payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 160})},
		{at: ms(20), ts: 1000, payload: payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 320})},
		// 6's own packets: it really started 40 ms after 3 ended.
		{at: ms(40), ts: 1000 + 640 + 320, payload: payload(Report{Event: 6, Duration: 480})},
		{at: ms(60), ts: 1000 + 640 + 320, payload: payload(Report{Event: 6, Duration: 640, End: true})},
		{at: ms(80), ts: 1000 + 640 + 320, payload: payload(Report{Event: 6, Duration: 640, End: true})},
		// 9 starts with 6's end packed in front as redundancy.
		{at: ms(100), ts: 1000 + 640 + 320, marker: true, payload: payload(Report{Event: 6, Duration: 640, End: true}, Report{Event: 9, Duration: 160})},
		{at: ms(120), ts: 1000 + 640 + 320 + 640, payload: payload(Report{Event: 9, Duration: 320, End: true})},
	})
	check(t, got,
		want{ev: 3, start: 1000}, want{ev: 3, ended: true, cause: CauseEndPacket, start: 1000, samples: 640},
		want{ev: 6, start: 1640}, want{ev: 6, ended: true, cause: CauseEndPacket, start: 1640, samples: 640},
		want{ev: 9, start: 2600}, want{ev: 9, ended: true, cause: CauseEndPacket, start: 2600, samples: 320})
}

// TestReceiverPackedRepress: a digit seen only in packed form, then the
// same digit pressed again (its first packet has the marker) within the
// tolerance the packing needs: two digits.
func TestReceiverPackedRepress(t *testing.T) {
	r := newReceiver(t, 8000)
	got := play(t, r, []tePacket{
		{ts: 1000, marker: true, payload: payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 160})},
		{ts: 1000, payload: payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 320, End: true})},
		{ts: 2500, marker: true, payload: payload(Report{Event: 6, Duration: 160})},
		{ts: 2500, payload: payload(Report{Event: 6, Duration: 320, End: true})},
	})
	assert.Equal(t, "366", digits(got))
}

func TestReceiverEdges(t *testing.T) {
	t.Run("malformed", func(t *testing.T) {
		r := newReceiver(t, 8000)
		for _, p := range [][]byte{nil, {1}, {1, 2, 3}, {1, 2, 3, 4, 5}} {
			assert.True(t, errors.Is(r.Packet(0, 0, true, p), ErrShortPayload))
		}
		assert.Equal(t, uint64(4), r.Stats().Malformed)
		_, ok := r.Next()
		assert.False(t, ok)
	})
	t.Run("events outside the set", func(t *testing.T) {
		r := newReceiver(t, 8000)
		got := play(t, r, []tePacket{{ts: 10, marker: true, payload: payload(Report{Event: 32, Duration: 160})}})
		assert.Empty(t, got)
		assert.Equal(t, uint64(1), r.Stats().Ignored)
		r, err := NewReceiver(ReceiverConfig{Events: mustSet(t, "0-15,32")})
		require.NoError(t, err)
		got = play(t, r, []tePacket{{ts: 10, marker: true, payload: payload(Report{Event: 32, Duration: 160, End: true})}})
		check(t, got, want{ev: 32, start: 10}, want{ev: 32, ended: true, cause: CauseEndPacket, start: 10, samples: 160})
	})
	t.Run("conflict at one timestamp", func(t *testing.T) {
		r := newReceiver(t, 8000)
		got := play(t, r, []tePacket{
			{ts: 10, marker: true, payload: payload(Report{Event: 1, Duration: 160})},
			{ts: 10, payload: payload(Report{Event: 2, Duration: 320})},
			{ts: 10, payload: payload(Report{Event: 1, Duration: 320, End: true})},
		})
		check(t, got, want{ev: 1, start: 10}, want{ev: 1, ended: true, cause: CauseEndPacket, start: 10, samples: 320})
		assert.Equal(t, uint64(1), r.Stats().Conflicts)
	})
	t.Run("reset mid-event", func(t *testing.T) {
		r := newReceiver(t, 8000)
		require.NoError(t, r.Packet(0, 10, true, payload(Report{Event: EventFlash, Duration: 160})))
		r.Reset()
		var got []Digit
		for d, ok := r.Next(); ok; d, ok = r.Next() {
			got = append(got, d)
		}
		check(t, got, want{ev: EventFlash, start: 10}, want{ev: EventFlash, ended: true, cause: CauseReset, start: 10, samples: 160})
		// After a reset an older timestamp is a new event.
		require.NoError(t, r.Packet(0, 5, true, payload(Report{Event: 1, Duration: 160})))
		d, ok := r.Next()
		require.True(t, ok)
		assert.Equal(t, Event(1), d.Event)
	})
	t.Run("timestamp jump back", func(t *testing.T) {
		r := newReceiver(t, 8000)
		got := play(t, r, []tePacket{
			{ts: 1 << 30, marker: true, payload: payload(Report{Event: 1, Duration: 160, End: true})},
			{ts: 1 << 20, marker: true, payload: payload(Report{Event: 2, Duration: 160, End: true})},
		})
		assert.Equal(t, "12", digits(got))
	})
	t.Run("queue overflow", func(t *testing.T) {
		r := newReceiver(t, 8000)
		for i := range 20 {
			require.NoError(t, r.Packet(0, uint32(i*1000), true, payload(Report{Event: 1, Duration: 160, End: true})))
		}
		assert.Equal(t, uint64(24), r.Stats().Dropped)
	})
	t.Run("config", func(t *testing.T) {
		for _, c := range []ReceiverConfig{{ClockRate: 10}, {ClockRate: 1 << 20}, {Timeout: -1}, {AudioSlack: -1}} {
			_, err := NewReceiver(c)
			assert.Error(t, err, "%+v", c)
		}
		r := newReceiver(t, 0)
		assert.Equal(t, 8000, r.ClockRate())
	})
}

func mustSet(t testing.TB, s string) EventSet {
	t.Helper()
	es, err := ParseEventSet(s)
	require.NoError(t, err)
	return es
}

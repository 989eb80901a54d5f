package dtmf

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSenderSequence checks the packets against RFC 4733 §2.5.1: marker
// on the first only, one timestamp, durations growing by the interval,
// the final report three times with the E bit.
func TestSenderSequence(t *testing.T) {
	for _, c := range []struct {
		rate     int
		interval time.Duration
		d        time.Duration
		durs     []uint16
	}{
		{8000, 20 * time.Millisecond, 100 * time.Millisecond, []uint16{160, 320, 480, 640, 800, 800, 800}},
		{8000, 30 * time.Millisecond, 100 * time.Millisecond, []uint16{240, 480, 720, 800, 800, 800}},
		{48000, 20 * time.Millisecond, 50 * time.Millisecond, []uint16{960, 1920, 2400, 2400, 2400}},
		{8000, 20 * time.Millisecond, 5 * time.Millisecond, []uint16{160, 160, 160}}, // shorter than one interval
	} {
		s, err := NewSender(SenderConfig{ClockRate: c.rate, Interval: c.interval, Volume: 7})
		require.NoError(t, err)
		require.NoError(t, s.Start(EventPound, c.d, 0xFFFFFFF0))
		var buf [4]byte
		var got []uint16
		for i := 0; ; i++ {
			p, ok := s.Next(buf[:0])
			if !ok {
				break
			}
			var r Report
			require.NoError(t, r.Unmarshal(p.Payload))
			assert.Equal(t, EventPound, r.Event)
			assert.Equal(t, uint8(7), r.Volume)
			assert.Equal(t, i == 0, p.Marker, "packet %d", i)
			assert.Equal(t, uint32(0xFFFFFFF0), p.Timestamp)
			last := i >= len(c.durs)-EndRepeats
			assert.Equal(t, last, r.End, "packet %d", i)
			assert.Equal(t, last, p.End, "packet %d", i)
			got = append(got, r.Duration)
		}
		assert.Equal(t, c.durs, got, "%+v", c)
		assert.False(t, s.Active())
	}
}

// TestSenderSegments: a 3 s event at 48 kHz (144000 units) goes out in
// segments of 0xFFFF, each with its own timestamp and no marker.
func TestSenderSegments(t *testing.T) {
	s, err := NewSender(SenderConfig{ClockRate: 48000, Interval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.Start(1, 3*time.Second, 1000))
	assert.Equal(t, uint32(144000), s.Samples())
	segs := map[uint32]uint16{}
	var order []uint32
	var ends int
	for p, ok := s.Next(nil); ok; p, ok = s.Next(nil) {
		var r Report
		require.NoError(t, r.Unmarshal(p.Payload))
		if _, seen := segs[p.Timestamp]; !seen {
			order = append(order, p.Timestamp)
			assert.Equal(t, len(order) == 1, p.Marker)
		}
		assert.GreaterOrEqual(t, r.Duration, segs[p.Timestamp], "durations grow within a segment")
		segs[p.Timestamp] = r.Duration
		if r.End {
			ends++
		}
	}
	assert.Equal(t, []uint32{1000, 1000 + 0xFFFF, 1000 + 2*0xFFFF}, order)
	assert.Equal(t, uint16(0xFFFF), segs[1000])
	assert.Equal(t, uint16(0xFFFF), segs[1000+0xFFFF])
	assert.Equal(t, uint16(144000-2*0xFFFF), segs[1000+2*0xFFFF])
	assert.Equal(t, EndRepeats, ends)
}

func TestSenderStopAndErrors(t *testing.T) {
	s, err := NewSender(SenderConfig{})
	require.NoError(t, err)
	_, ok := s.Next(nil)
	assert.False(t, ok)
	require.NoError(t, s.Start(2, time.Second, 0))
	assert.True(t, errors.Is(s.Start(3, time.Second, 0), ErrBusy))
	s.Next(nil)
	s.Next(nil)
	s.Stop()
	var durs []uint16
	for p, ok := s.Next(nil); ok; p, ok = s.Next(nil) {
		var r Report
		r.Unmarshal(p.Payload)
		assert.True(t, r.End)
		durs = append(durs, r.Duration)
	}
	assert.Equal(t, []uint16{320, 320, 320}, durs)
	// Stop before the first packet sends nothing.
	require.NoError(t, s.Start(2, time.Second, 0))
	s.Stop()
	assert.False(t, s.Active())

	for _, d := range []time.Duration{0, -1, time.Hour} {
		assert.Error(t, s.Start(1, d, 0))
	}
	for _, c := range []SenderConfig{{ClockRate: 10}, {Interval: time.Millisecond}, {Interval: time.Second}, {Volume: 64}, {Volume: -1}} {
		_, err := NewSender(c)
		assert.Error(t, err, "%+v", c)
	}
}

// TestSenderReceiverRoundTrip: every digit, at both clocks, through a
// Receiver: what goes out comes back with its duration.
func TestSenderReceiverRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		r := newReceiver(t, rate)
		var pkts []tePacket
		ts := uint32(12345)
		at := time.Duration(0)
		for ev := Event(0); ev <= MaxDigit; ev++ {
			p := sendDigit(t, rate, 20*time.Millisecond, ev, 60*time.Millisecond+time.Duration(ev)*10*time.Millisecond, ts, at)
			pkts = append(pkts, p...)
			ts += uint32(rate / 2)
			at += 500 * time.Millisecond
		}
		got := play(t, r, pkts)
		require.Len(t, got, 2*int(MaxDigit+1))
		for i := 0; i < len(got); i += 2 {
			ev := Event(i / 2)
			assert.Equal(t, ev, got[i].Event)
			assert.Equal(t, CauseEndPacket, got[i+1].Cause)
			// Durations are rounded up to whole intervals of 20 ms.
			want := 60*time.Millisecond + time.Duration(ev)*10*time.Millisecond
			assert.Equal(t, want, got[i+1].Duration, "%v at %d Hz", ev, rate)
		}
	}
}

// TestSenderSetDuration: an event passed on from another participant
// starts open-ended and learns its duration when the original ends,
// before or after that much has been sent.
func TestSenderSetDuration(t *testing.T) {
	for _, c := range []struct {
		after int           // packets sent before the end is known
		d     time.Duration // the original's duration
		want  uint16        // the duration reported at the end
	}{{2, 100 * time.Millisecond, 800}, {8, 100 * time.Millisecond, 1280}, {0, 30 * time.Millisecond, 240}} {
		s, err := NewSender(SenderConfig{})
		require.NoError(t, err)
		require.NoError(t, s.Start(4, MaxDuration, 0))
		for range c.after {
			_, ok := s.Next(nil)
			require.True(t, ok)
		}
		s.SetDuration(c.d)
		var last Report
		ends := 0
		for p, ok := s.Next(nil); ok; p, ok = s.Next(nil) {
			require.NoError(t, last.Unmarshal(p.Payload))
			if last.End {
				ends++
			}
		}
		assert.Equal(t, EndRepeats, ends, "%+v", c)
		assert.Equal(t, c.want, last.Duration, "%+v", c)
	}
}

package dtmf

import (
	"testing"
	"time"
)

// The per-packet and per-frame paths allocate nothing: what the mixer
// calls for every telephone-event packet, every outbound event packet and
// every decoded speaker's frame.

func TestReceiverAllocs(t *testing.T) {
	r := newReceiver(t, 8000)
	pkts := sendDigit(t, 8000, 20*time.Millisecond, 5, 100*time.Millisecond, 0, 0)
	packed := payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 160})
	var ts uint32
	var now time.Duration
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range pkts {
			now += 20 * time.Millisecond
			r.Tick(now)
			r.Packet(now, ts+p.ts, p.marker, p.payload)
			r.Audio(now, ts)
			for _, ok := r.Next(); ok; _, ok = r.Next() {
			}
		}
		ts += 4000
		r.Packet(now, ts, true, packed)
		r.Packet(now, ts, false, []byte{1, 2, 3}) // refused
		ts += 4000
		for _, ok := r.Next(); ok; _, ok = r.Next() {
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per digit", allocs)
	}
}

func TestSenderAllocs(t *testing.T) {
	s, err := NewSender(SenderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var buf [ReportSize]byte
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.Start(EventPound, 100*time.Millisecond, 0); err != nil {
			t.Fatal(err)
		}
		for _, ok := s.Next(buf[:0]); ok; _, ok = s.Next(buf[:0]) {
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per digit", allocs)
	}
}

func TestParseAllocs(t *testing.T) {
	p := payload(Report{Event: 3, End: true, Duration: 640}, Report{Event: 6, Duration: 160})
	var arr [4]Report
	allocs := testing.AllocsPerRun(100, func() {
		ParsePayload(arr[:0], p)
		ParsePayload(arr[:0], p[:3])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per payload", allocs)
	}
}

func TestDetectorAllocs(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		d, err := NewDetector(DetectorConfig{SampleRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		// Tones and pauses, so that every path (windows, the frequency
		// check, begin and end) runs while counting.
		pcm := burst(rate, 0, toneSpec{ev: 7, levLo: -10, levHi: -12, duration: 0.1})
		frame := rate / 50
		allocs := testing.AllocsPerRun(20, func() {
			for i := 0; i+frame <= len(pcm); i += frame {
				d.Process(pcm[i : i+frame])
				for _, ok := d.Next(); ok; _, ok = d.Next() {
				}
			}
		})
		if allocs != 0 {
			t.Fatalf("%d Hz: %v allocations per burst", rate, allocs)
		}
	}
}

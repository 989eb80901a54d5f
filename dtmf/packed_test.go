package dtmf

import (
	"testing"
	"time"
)

// TestPackedReportsKeepPairs: one packet may pack many reports (RFC 4733
// §2.5.1.5), each of which can end the event before it and begin its own:
// two notices a report. However many a packet holds, a caller that drains
// Next after each call sees every Began followed by its Ended, never two
// Began in a row or an Ended without its Began.
func TestPackedReportsKeepPairs(t *testing.T) {
	for _, n := range []int{1, 4, 7, 8, 16, 40, 300} {
		r, err := NewReceiver(ReceiverConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var payload []byte
		for i := range n {
			payload = AppendReport(payload, Report{Event: Event(i % 10), End: true, Volume: 10, Duration: 400})
		}
		open := false
		check := func() {
			for g, ok := r.Next(); ok; g, ok = r.Next() {
				if g.Ended != open {
					t.Fatalf("%d reports: notice %+v with a digit open %v", n, g, open)
				}
				open = !g.Ended
			}
		}
		ts := uint32(0)
		for k := range 3 {
			if err := r.Packet(time.Duration(k)*time.Second, ts, true, payload); err != nil {
				t.Fatal(err)
			}
			check()
			ts += uint32(n) * 400
		}
		r.Tick(time.Hour)
		check()
		if open {
			t.Fatalf("%d reports: a digit never ended", n)
		}
		if st := r.Stats(); st.Dropped != 0 {
			t.Fatalf("%d reports: %d notices dropped", n, st.Dropped)
		}
	}
}

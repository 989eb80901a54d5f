package netsim

import (
	"testing"
	"time"
)

// TestLink: the path's loss rate and delays, deliveries in arrival order,
// and the same fate for the same seed.
func TestLink(t *testing.T) {
	s := Scenario{Seed: 7, BaseDelay: 20 * time.Millisecond, Jitter: Jitter{Kind: JitterNormal, Sigma: 3 * time.Millisecond}, Loss: 0.01}
	run := func() (arrived []time.Duration, lost int) {
		l := NewLink(s)
		const n = 20000
		for i := range n {
			now := time.Duration(i) * 20 * time.Millisecond
			l.Send(now, []byte{byte(i), byte(i >> 8)})
			l.Deliver(now, func(at time.Duration, pkt []byte) {
				sent := time.Duration(int(pkt[0])|int(pkt[1])<<8) * 20 * time.Millisecond
				if at > now {
					t.Fatalf("delivered at %v before its arrival %v", now, at)
				}
				arrived = append(arrived, at-sent)
			})
		}
		l.Deliver(time.Duration(n+100)*20*time.Millisecond, func(at time.Duration, pkt []byte) {})
		if l.Pending() != 0 {
			t.Fatalf("%d packets left in flight", l.Pending())
		}
		return arrived, l.Lost
	}
	a, lost := run()
	if lost < 150 || lost > 250 {
		t.Errorf("lost %d of 20000, want about 200", lost)
	}
	var sum time.Duration
	for _, d := range a {
		if d < time.Millisecond || d > 40*time.Millisecond {
			t.Fatalf("transit %v out of range", d)
		}
		sum += d
	}
	if mean := sum / time.Duration(len(a)); mean < 19*time.Millisecond || mean > 21*time.Millisecond {
		t.Errorf("mean transit %v, want 20 ms", mean)
	}
	b, lost2 := run()
	if lost2 != lost || len(b) != len(a) {
		t.Errorf("not deterministic: lost %d then %d", lost, lost2)
	}
}

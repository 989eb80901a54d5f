package jitter_test

import (
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// TestCatchUpPops: a caller that catches up after a stall pops a few
// times microseconds apart (an Engine does, with now = its clock). Those
// intervals are not its tick: two of them once taught the buffer a tick
// of 0, and the next stretch decision divided by it.
func TestCatchUpPops(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		b, err := jitter.New(jitter.Config{ClockRate: rate, FrameDuration: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		step := uint32(rate / 50)
		p := &jitter.Packet{Payload: make([]byte, 160), AudioLevel: -1}
		now := time.Duration(0)
		played := 0
		pop := func() {
			f := b.Pop(now)
			if f.Stretch != 0 {
				b.Stretched(f.Stretch)
			}
			if f.Kind == jitter.KindPacket {
				played++
			}
		}
		for i := range 400 {
			p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*step
			if err := b.Push(time.Duration(i)*20*time.Millisecond, p); err != nil {
				t.Fatalf("push %d: %v", i, err)
			}
			if i%20 == 10 { // a stall: three pops back to back, 10 µs apart
				for range 3 {
					now += 10 * time.Microsecond
					pop()
				}
				continue
			}
			now = time.Duration(i) * 20 * time.Millisecond
			pop()
		}
		if played < 300 {
			t.Fatalf("%d Hz: %d of 400 packets played", rate, played)
		}
	}
}

package mixer

import (
	"testing"
	"time"
)

// BenchmarkDelivery is what the Engine's delivery costs per packet: a
// 100-party room of listeners (one shared encode, then per-participant
// header, SRTP and hand-over) ticked with a sink that does nothing,
// "direct" as a hand-driven conference does it (the tick calls each sink
// as it builds the packet) and "queued" as an Engine's does (the tick
// publishes into each participant's ring; the deliverer drains the rings
// and calls the sinks — here on the same goroutine, right after the tick,
// so the figure is the work, not the wake-up). ns/packet is the whole
// tick's cost over the packets it sent; the difference between the two is
// the queue's.
func BenchmarkDelivery(b *testing.B) {
	for _, mode := range []string{"direct", "queued"} {
		b.Run(mode, func(b *testing.B) {
			const n = 100
			c, err := NewConference(ConferenceConfig{Name: mode, SampleRate: 8000})
			if err != nil {
				b.Fatal(err)
			}
			var d *deliverer
			if mode == "queued" {
				e := &Engine{cfg: EngineConfig{SinkBudget: time.Second, SinkQueue: 8}}
				c.managed, c.dl.engine, c.dl.depth = true, e, e.cfg.SinkQueue
				d = newDeliverer(e.cfg.SinkBudget)
				c.dl.d = d
			}
			sink := SinkFunc(func([]byte) error { return nil })
			for range n {
				if _, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: sink}); err != nil {
					b.Fatal(err)
				}
			}
			now := time.Duration(0)
			step := func() {
				c.Tick(now)
				now += 20 * time.Millisecond
				if d != nil {
					d.enqueue(c)
					d.drain(d.cur.Load())
				}
			}
			for range 10 {
				step()
			}
			out := c.Participants()[0].Stats().PacketsOut
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.StopTimer()
			if got := c.Participants()[0].Stats().PacketsOut - out; got != uint64(b.N) {
				b.Fatalf("%d packets delivered in %d ticks", got, b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/packet")
		})
	}
}

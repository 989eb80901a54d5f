package jitter

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkEstimator is the producer's measuring alone (estimator.stage
// for every arrival, flush every batch), without the ring: ns/op is its
// cost per packet. The arrivals are 20 ms packets at 8 kHz, precomputed so
// the generator is not timed; "steady" has a constant transit, "jitter"
// 30 ms of normal jitter (so reordering) from a sender whose clock runs 1%
// slow, which keeps the drift fit and the window's expiry busy.
func BenchmarkEstimator(b *testing.B) {
	for _, bc := range []struct {
		name         string
		sigma, drift float64
	}{
		{"steady", 0, 0},
		{"jitter", float64(30 * time.Millisecond), 0.01},
	} {
		b.Run(bc.name, func(b *testing.B) {
			jb, err := New(Config{ClockRate: 8000})
			if err != nil {
				b.Fatal(err)
			}
			e := &jb.p.est
			const ptime, ticks = int64(20 * time.Millisecond), 160
			const n = 1 << 12
			type arr struct{ t, i int64 }
			evs := make([]arr, n)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range evs {
				j := max(r.NormFloat64()*bc.sigma, -float64(ptime))
				evs[i] = arr{int64(float64(int64(i)*ptime)*(1+bc.drift) + j), int64(i)}
			}
			// Arrival order: by time.
			for i := 1; i < n; i++ {
				for k := i; k > 0 && evs[k].t < evs[k-1].t; k-- {
					evs[k], evs[k-1] = evs[k-1], evs[k]
				}
			}
			lapT := int64(float64(int64(n)*ptime) * (1 + bc.drift))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				a, lap := evs[i%n], int64(i/n)
				idx := lap*int64(n) + a.i
				if e.stage(lap*lapT+a.t+int64(time.Second), seqBase+idx, idx*ticks) {
					e.flush()
				}
			}
		})
	}
}

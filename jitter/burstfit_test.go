package jitter

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBurstFit feeds a burst whose keys fall along a line (a source
// sending 20 ms packets 25 times faster than real time) with normal
// jitter, shuffled in arrival order as a path reorders them, and checks
// that the fit gives the jitter, not the line.
func TestBurstFit(t *testing.T) {
	const npt = 1e9 / 48000.0
	rng := uint64(7)
	normal := func() float64 { // Box–Muller on a xorshift
		u := func() float64 {
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			return (float64(rng>>11) + 0.5) / (1 << 53)
		}
		return math.Sqrt(-2*math.Log(u())) * math.Cos(2*math.Pi*u())
	}
	for _, sigma := range []float64{2e6, 5e6, 15e6} {
		var f burstFit
		f.start()
		for i := range 250 {
			j := i ^ 3 // a little reordering
			ts := int64(1000000 + 960*j)
			k := int64(80e6 - 0.96*float64(960*j)*npt + sigma*normal())
			f.add(ts, k, npt)
		}
		sd, ok := f.sigma()
		assert.True(t, ok)
		assert.InEpsilon(t, sigma, sd, 0.15, "σ %v", sigma)
		// The largest residual of 250 normal samples: 2–4 σ.
		assert.Greater(t, f.tailRes(), 2*sigma)
		assert.Less(t, f.tailRes(), 4*sigma)
		f.start() // folds it into the bursts before
		sd2, ok := f.sigma()
		assert.True(t, ok)
		assert.InDelta(t, sd, sd2, 1)
	}
	// Too few packets tell nothing.
	var f burstFit
	for i := range burstFitMin - 1 {
		f.add(int64(960*i), int64(i), npt)
	}
	_, ok := f.sigma()
	assert.False(t, ok)
}

// TestBurstFitLevel checks that the level of the first packets is keyed
// again with the drift fit's slope of the moment.
func TestBurstFitLevel(t *testing.T) {
	const npt = 1e9 / 48000.0
	var f burstFit
	for i := range 10 {
		ts := int64(240000 * i) // one every 5 s
		f.first(90e6, ts, 90e6, 0, npt)
	}
	assert.InDelta(t, 90e6, f.levelKey(0, npt), 1)
	slope := 0.01
	want := 90e6 - slope*f.levelTS*npt
	assert.InDelta(t, want, f.levelKey(slope, npt), 1)
	assert.InDelta(t, 0, f.top, 1)
}

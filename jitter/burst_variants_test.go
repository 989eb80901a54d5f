package jitter_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/jitter"
)

// TestBurstVariants runs sources that send in bursts other than the
// scenario of issue 12's (5 s of audio in 200 ms every 5 s over 5 ms of
// normal jitter): other burst lengths and intervals, more and less
// jitter, Pareto jitter; 20 seeds, 4 tick phases, exact and pitch
// time-scaling each. It prints, for each, the packets lost (late,
// dropped, refused), the runs with any concealment, and the mean delay
// against the trace's oracle and the path's real-time oracle (go test
// ./jitter -run TestBurstVariants -v). It holds what the burst target
// (see jitter's burstTarget) meets on every kind: nothing lost where
// the jitter is normal and no more than 5 ms, and a mean delay within
// twice the real-time oracle on average (0.4–1.05 times on normal
// jitter, 1.4 on Pareto, where the margin covers the largest excess a
// burst showed; before the delay dipped during bursts, see jitter's
// burstDip, 1.1–1.2 and 1.55–1.75). Where the jitter is wider
// or heavy-tailed, a packet of a burst now and then comes so late that
// no delay short of hundreds of ms saves it (a Pareto path's): those
// are printed, not held. (With 10 and 15 ms of normal jitter, 2 and 10
// packets in 160 runs; they were 52 and 50, and 13 with bursts of 2 s
// in 100 ms, before a burst's early packets were kept out of the drift
// fit in every batch: the fit took them for a drifting clock.)
func TestBurstVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("1120 runs")
	}
	normal := func(sigma time.Duration) netsim.Jitter {
		return netsim.Jitter{Kind: netsim.JitterNormal, Sigma: sigma}
	}
	pareto := func(scale time.Duration, shape float64) netsim.Jitter {
		return netsim.Jitter{Kind: netsim.JitterPareto, Scale: scale, Shape: shape}
	}
	variants := []struct {
		every, span time.Duration
		j           netsim.Jitter
		lossless    bool
	}{
		{5 * time.Second, 200 * time.Millisecond, normal(5 * time.Millisecond), true},
		{3 * time.Second, 500 * time.Millisecond, normal(2 * time.Millisecond), true},
		{2 * time.Second, 100 * time.Millisecond, normal(5 * time.Millisecond), true},
		{time.Second, 300 * time.Millisecond, normal(10 * time.Millisecond), false},
		{5 * time.Second, 200 * time.Millisecond, normal(15 * time.Millisecond), false},
		{5 * time.Second, 200 * time.Millisecond, pareto(5*time.Millisecond, 2), false},
		{4 * time.Second, 400 * time.Millisecond, pareto(8*time.Millisecond, 1.8), false},
	}
	for _, v := range variants {
		name := fmt.Sprintf("%v of audio in %v, normal jitter σ %v", v.every, v.span, v.j.Sigma)
		if v.j.Kind == netsim.JitterPareto {
			name = fmt.Sprintf("%v of audio in %v, Pareto jitter %v shape %v", v.every, v.span, v.j.Scale, v.j.Shape)
		}
		var lost, concealed, runs int
		var sumTrace, sumRT, worstRT float64
		for seed := uint64(100); seed < 120; seed++ {
			for _, ph := range tickPhases {
				for _, cons := range []netsim.Consumer{netsim.Exact, netsim.Pitch} {
					sc := netsim.Scenario{Name: name, Seed: seed, NoLevels: true, Jitter: v.j, TickPhase: ph,
						Burst:  &netsim.Burst{Every: v.every, Span: v.span},
						Buffer: jitter.Config{MaxDelay: 6 * time.Second}}
					r, err := netsim.Run(sc, jitter.Config{}, netsim.Options{Consumer: cons})
					require.NoError(t, err)
					lost += r.Late + r.Dropped + r.Overflow
					if r.ConcealPct > 0 {
						concealed++
					}
					runs++
					sumTrace += r.OracleRatio
					sumRT += r.RealTimeRatio
					worstRT = max(worstRT, r.RealTimeRatio)
					assert.Less(t, r.P95Delay, sc.Buffer.MaxDelay, "%s, seed %d at %v", name, seed, ph)
				}
			}
		}
		t.Logf("%s: %d lost, %d of %d runs with concealment; mean delay / trace oracle %.2f on average, / real-time oracle %.2f on average, %.2f at worst",
			name, lost, concealed, runs, sumTrace/float64(runs), sumRT/float64(runs), worstRT)
		if v.lossless {
			assert.Zero(t, lost, "%s: lost", name)
			assert.Zero(t, concealed, "%s: runs with concealment", name)
		}
		assert.LessOrEqual(t, sumRT/float64(runs), 2.0, "%s: mean delay / real-time oracle on average", name)
	}
}

package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/mixer"
)

// TestMeasureSplit: the split room does the work it claims on both
// Engines (every participant is sent a packet every tick) and reports
// tick and CPU times.
func TestMeasureSplit(t *testing.T) {
	cs := testClips(t)
	for _, m := range []struct{ workers, splitAt int }{{1, 0}, {2, mixer.SuggestedSplitAt}} {
		const n = 600
		p, err := MeasureSplit(SplitConfig{N: n, Codec: CodecOpus, Scenario: Talk3, Clips: cs,
			Workers: m.workers, SplitAt: m.splitAt, Ticks: 20, Warmup: 10})
		require.NoError(t, err)
		assert.Equal(t, n, p.N)
		assert.GreaterOrEqual(t, p.Ticks, 20)
		// One packet per participant per tick, and RTCP now and then.
		assert.InDelta(t, n, p.Packets, n/10, "packets per tick")
		assert.Positive(t, p.Mean)
		assert.GreaterOrEqual(t, p.P99, p.Mean/2)
		if p.CPU == 0 {
			t.Log("no CPU clock here")
		}
		t.Logf("workers=%d: mean %v p99 %v cpu %v feed %v", m.workers, p.Mean, p.P99, p.CPU, p.Feed)
	}
}

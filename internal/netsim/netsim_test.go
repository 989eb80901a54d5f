package netsim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

// TestTraceOracle: the oracle of a trace, given the late loss of a run,
// is the run's own; more late loss allowed never makes it longer.
func TestTraceOracle(t *testing.T) {
	for _, sc := range Playout() {
		tr, err := sc.Trace()
		require.NoError(t, err)
		r, err := RunTrace(tr, jitter.Config{}, Options{Consumer: Pitch})
		require.NoError(t, err)
		assert.Equal(t, r.Oracle, tr.Oracle(r.Late), sc.Name)
		assert.LessOrEqual(t, tr.Oracle(r.Late+10), tr.Oracle(r.Late), sc.Name)
		m := time.Duration(1 << 62)
		for _, a := range tr.Arrivals {
			m = min(m, a.Packet.Transit)
		}
		assert.Equal(t, m, tr.MinTransit())
	}
}

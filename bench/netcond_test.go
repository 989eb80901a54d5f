package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNetCond runs a few scenarios through the pipeline (20 s each) and
// checks what the table relies on: the talker's speech is found in the
// mix, clean costs no late loss, the delay heard is near the oracle's,
// a fast sender clock is absorbed by time-scaling with no frame dropped
// or creep. The whole table: go run ./bench/cmd/netcond.
func TestNetCond(t *testing.T) {
	var rs []NetCondResult
	for _, sc := range NetCondScenarios() {
		if sc.Name != "clean" && sc.Name != "sender clock +1%, no levels" && sc.Name != "LTE" {
			continue
		}
		sc.Duration = 20 * time.Second
		r, err := RunNetCond(sc, "")
		require.NoError(t, err)
		rs = append(rs, r)
		assert.Greater(t, r.Found, 0.95, sc.Name)
		assert.Less(t, r.LatePct, 1.0, sc.Name)
		if r.Oracle >= 10*time.Millisecond { // (clean: a fixed player needs no delay)
			assert.Less(t, r.OracleRatio, 1.5, sc.Name)
		}
		assert.Less(t, r.WriteMean, time.Millisecond, sc.Name)
		switch sc.Name {
		case "clean":
			assert.Zero(t, r.LatePct)
			assert.Zero(t, r.ConcealPct)
		case "sender clock +1%, no levels":
			assert.Zero(t, r.Dropped)
			assert.Greater(t, r.StretchedPct, 0.5)
			assert.Less(t, r.Creep.Abs(), 20*time.Millisecond)
		}
	}
	require.NoError(t, WriteNetCondTable(os.Stdout, rs, false))
}

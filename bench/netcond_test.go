package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNetCond runs the clean and drift scenarios through the pipeline and
// checks what the table relies on: the sender's packets are found in the
// mix, clean costs no late loss, and the engine's processing is a small
// part of the delay. The whole table: go run ./bench/cmd/netcond.
func TestNetCond(t *testing.T) {
	for _, sc := range NetCondScenarios() {
		if sc.Name != "clean" && sc.Name != "+1% drift" {
			continue
		}
		sc.Duration = 20 * time.Second
		r, err := RunNetCond(sc)
		require.NoError(t, err)
		require.NoError(t, WriteNetCondTable(os.Stdout, []NetCondResult{r}, false))
		// Most voice packets are heard (talkspurt starts and ends fade).
		assert.Greater(t, r.Heard, r.Sent/3, sc.Name)
		assert.Less(t, r.BufferMean, 300*time.Millisecond, sc.Name)
		assert.Greater(t, r.BufferMean, time.Duration(0), sc.Name)
		if sc.Name == "clean" {
			assert.Zero(t, r.LatePct)
		}
	}
}

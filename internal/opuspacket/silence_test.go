package opuspacket

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAppendSilence: every duration an Opus packet of silence frames can
// have parses back to that duration; others append nothing; the buffer
// is used as given.
func TestAppendSilence(t *testing.T) {
	for _, dur := range []int{120, 240, 480, 960, 1920, 2880, 3840, 4800, 5760} {
		for _, stereo := range []bool{false, true} {
			p := AppendSilence(nil, dur, stereo)
			got, err := Duration(p)
			require.NoError(t, err, "dur %d", dur)
			assert.Equal(t, dur, got)
			assert.Equal(t, stereo, p[0]&0x04 != 0)
		}
	}
	for _, dur := range []int{0, -960, 360, 1000, 1440, 6720} {
		assert.Empty(t, AppendSilence(nil, dur, false), "dur %d", dur)
	}
	buf := make([]byte, 0, 8)
	assert.Equal(t, 0.0, testing.AllocsPerRun(100, func() { buf = AppendSilence(buf[:0], 2880, false) }))
	assert.Len(t, buf, 8)
}

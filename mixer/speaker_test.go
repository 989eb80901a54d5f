package mixer

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rtpmix/rtpmix/internal/pcm"
)

// TestSpeakerRamps: a new speaker ramps in from silence, then passes its
// audio through at unity gain, ramps to a new gain, and ramps out when it
// stops.
func TestSpeakerRamps(t *testing.T) {
	var s speakerState
	s.init()
	src := make([]int16, 160)
	for i := range src {
		src[i] = 10000
	}
	s.start()
	assert.True(t, s.speaker && !s.leaving && s.pubSpeaking.Load())
	out := s.contribute(src, unity)
	assert.Less(t, out[0], int16(500), "ramp starts near silence")
	assert.Equal(t, int16(10000), out[159], "and ends at the gain")
	for i := 1; i < len(out); i++ {
		assert.GreaterOrEqual(t, out[i], out[i-1])
	}
	assert.Equal(t, src, s.contribute(src, unity), "steady unity gain is a copy")

	half := pcm.GainFromDB(-6)
	out = s.contribute(src, half)
	assert.Greater(t, out[0], int16(9000), "a gain change ramps from the old gain")
	assert.InDelta(t, 5012, int(out[159]), 20)
	out = s.contribute(src, half)
	assert.InDelta(t, 5012, int(out[0]), 20, "steady gain")

	s.stop()
	assert.True(t, !s.speaker && s.leaving && !s.pubSpeaking.Load())
	out = s.contribute(src, 0)
	assert.InDelta(t, 5012, int(out[0]), 100)
	assert.Zero(t, out[159], "ramped out")
}

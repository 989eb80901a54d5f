package mixer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/jitter"
)

// TestLookAheadWaitsForPacket: the frame pop takes beyond the tick for
// the time-scaler is only taken when its packet is here; for one still on
// its way the buffer would conceal at once, though the frame's audio plays
// only after the next tick.
func TestLookAheadWaitsForPacket(t *testing.T) {
	h := newQueueHarness(t, 8000, 20*time.Millisecond, jitter.Config{})
	_, now := h.untilPacket(20*time.Millisecond, -1)
	// Play what is buffered, with no packet coming meanwhile.
	n := codec.FrameSamples(8000, 20*time.Millisecond)
	for i := 0; h.q.jb.Ready(); i++ {
		require.Less(t, i, 10)
		now += 20 * time.Millisecond
		h.q.pop(now, 8000, n)
		h.q.finish(n)
	}
	// The tick popped its frame; the next packet is not here yet, and the
	// buffer asks to shorten by more than will be left after the tick.
	h.q.ts.req, h.q.ts.guard = -10*time.Millisecond, 0
	assert.False(t, h.q.jb.Ready())
	assert.False(t, h.q.lookAhead(n, n), "took a frame ahead whose packet is still on its way")
	require.NoError(t, h.push(now+5*time.Millisecond, 0x42, -1, 0))
	assert.True(t, h.q.jb.Ready())
	assert.True(t, h.q.lookAhead(n, n), "the packet is here: take it ahead")
}

package mixer

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestTalk(ptime time.Duration) (*talkDetector, *talkParams) {
	var d talkDetector
	d.init()
	tp := newTalkParams(TalkConfig{}.withDefaults(), ptime)
	return &d, &tp
}

// TestTalkAttackRelease: a louder level is taken at once; a quieter one is
// approached with a 150 ms time constant, whatever the ptime.
func TestTalkAttackRelease(t *testing.T) {
	for _, ptime := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond} {
		d, tp := newTestTalk(ptime)
		assert.Equal(t, 127.0, d.smooth)
		assert.Equal(t, int32(127), d.pubLevel.Load())
		d.update(20, tp)
		assert.Equal(t, 20.0, d.smooth, "attack is instant")
		// After 120 ms of silence the level is exp(-120/150) of the way
		// from silence.
		for range int(120 * time.Millisecond / ptime) {
			d.update(127, tp)
		}
		assert.InDelta(t, 127-107*math.Exp(-120.0/150), d.smooth, 1e-9, "ptime %v", ptime)
		assert.Equal(t, 127, d.level)
	}
}

// TestTalkStartDelayAndHangOver: talking starts once the level has stayed
// above StartLevel for StartDelay (40 ms), survives dips shorter than the
// hang-over, and stops HangOver (400 ms) after the level fell below
// StopLevel; each change is reported once and talk time is counted.
func TestTalkStartDelayAndHangOver(t *testing.T) {
	d, tp := newTestTalk(20 * time.Millisecond)
	assert.Equal(t, talkSame, d.update(30, tp))
	assert.False(t, d.talking)
	assert.Equal(t, talkStarted, d.update(30, tp), "second tick: 40 ms above the start level")
	assert.True(t, d.pubTalking.Load())
	for range 10 {
		assert.Equal(t, talkSame, d.update(30, tp))
	}
	// A dip of 200 ms, shorter than the hang-over, then speech again.
	for range 10 {
		assert.Equal(t, talkSame, d.update(127, tp))
	}
	assert.Equal(t, talkSame, d.update(30, tp))
	// Silence: the smoothed level crosses StopLevel (52) after a few
	// ticks, then the hang-over of 20 ticks runs.
	stopped := -1
	for i := 1; i <= 40 && stopped < 0; i++ {
		switch d.update(127, tp) {
		case talkStopped:
			stopped = i
		case talkStarted:
			t.Fatal("started while talking")
		}
	}
	require.Positive(t, stopped)
	assert.GreaterOrEqual(t, stopped, 20)
	assert.LessOrEqual(t, stopped, 25)
	assert.False(t, d.pubTalking.Load())
	assert.Equal(t, uint64(1+10+10+1+stopped-1), d.talkTicks.Load(), "ticks while talking")
	assert.Equal(t, talkSame, d.update(60, tp), "quieter than StartLevel never starts")
}

package mixer

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEngineTicksOnTime runs two conferences on real time for a short while:
// they tick about every ptime, their stats fill in, and Close returns with
// every participant gone.
func TestEngineTicksOnTime(t *testing.T) {
	e := NewEngine(EngineConfig{Workers: 2})
	c1, err := e.NewConference(ConferenceConfig{Name: "one"})
	require.NoError(t, err)
	c2, err := e.NewConference(ConferenceConfig{Name: "two", Ptime: 10 * time.Millisecond})
	require.NoError(t, err)
	var got int
	sink := SinkFunc(func(pkt []byte) error { got++; return nil })
	_, err = c1.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: sink})
	require.NoError(t, err)
	p2, err := c2.Join(ParticipantConfig{In: pcma, Out: pcma})
	require.NoError(t, err)

	time.Sleep(400 * time.Millisecond)
	s1, s2 := c1.Stats(), c2.Stats()
	// Loose bounds: the machine may be loaded; what matters is that both
	// tick at their own pace and never burst.
	assert.InDelta(t, 20, float64(s1.Ticks), 12, "20 ms conference ticks")
	assert.InDelta(t, 40, float64(s2.Ticks), 24, "10 ms conference ticks")
	assert.Greater(t, s1.Timing.Ticks, uint64(0))
	assert.Greater(t, s1.Timing.P99, time.Duration(0))
	assert.Equal(t, 1, s1.Participants)
	assert.Len(t, e.Conferences(), 2)

	require.NoError(t, c2.Close())
	assert.ErrorIs(t, p2.WriteRTP([]byte{0x80, 0}), ErrClosed)
	assert.Len(t, e.Conferences(), 1)
	ticks := c2.Stats().Ticks
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, ticks, c2.Stats().Ticks, "removed conference still ticking")

	require.NoError(t, e.Close())
	assert.ErrorIs(t, e.Close(), ErrClosed)
	assert.Empty(t, c1.Participants())
	_, err = e.NewConference(ConferenceConfig{})
	assert.ErrorIs(t, err, ErrClosed)
}

// TestEngineSkipsAfterStall: when the clock jumps a second ahead (a stall),
// the Engine skips the missed ticks instead of running them back to back.
func TestEngineSkipsAfterStall(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Duration { return Monotonic() + time.Duration(offset.Load()) }
	e := NewEngine(EngineConfig{Workers: 1, Clock: clock, MaxLag: 50 * time.Millisecond})
	defer e.Close()
	c, err := e.NewConference(ConferenceConfig{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.Stats().Ticks > 2 }, 10*time.Second, time.Millisecond)
	before := c.Stats()
	start := time.Now()
	offset.Store(int64(time.Second))
	// The skipped ticks are counted at once; however slow the machine, the
	// ticks run meanwhile are the ones real time asked for, not the second
	// of ticks a burst would run (50).
	require.Eventually(t, func() bool { return c.Stats().Overruns-before.Overruns >= 40 }, 10*time.Second, time.Millisecond,
		"skipped ticks not counted")
	after := c.Stats()
	due := uint64(time.Since(start) / (20 * time.Millisecond))
	assert.Less(t, after.Ticks-before.Ticks, due+20, "caught up by bursting")
}

// TestEngineTicksOnSchedule: an Engine hands each tick the time of its
// slot on the schedule (start + k·ptime), not the moment the worker got to
// it. After a stall shorter than MaxLag the worker runs the missed ticks
// back to back, and each still plays one ptime of audio: handed the wall
// clock, the jitter buffers would book that audio as played in a few µs
// and keep its delay on their books for good (a steady tone then warbled
// as they shortened and concealed to undo it).
func TestEngineTicksOnSchedule(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Duration { return Monotonic() + time.Duration(offset.Load()) }
	e := NewEngine(EngineConfig{Workers: 1, Clock: clock, MaxLag: time.Second})
	defer e.Close()
	c, err := e.NewConference(ConferenceConfig{Name: "r"})
	require.NoError(t, err)
	joined := func(id string) Event {
		t.Helper()
		_, err := c.Join(ParticipantConfig{ID: id, In: pcmu, Out: pcmu})
		require.NoError(t, err)
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-c.Events():
				if ev.Type == Joined && ev.Participant == id {
					return ev
				}
			case <-deadline:
				t.Fatalf("no Joined event for %s", id)
			}
		}
	}
	first := joined("first")
	for i := range 6 {
		// A stall of 23–48 ms (not a whole number of ticks), which the
		// worker catches up on.
		offset.Add(int64(23*time.Millisecond + time.Duration(i)*5*time.Millisecond))
		ev := joined(fmt.Sprint("p", i))
		assert.Zero(t, (ev.At-first.At)%(20*time.Millisecond), "tick %d at %v, first at %v: off the schedule", i, ev.At, first.At)
	}
}

// TestOverloadDegrades drives checkOverload directly: overruns take
// speakers away, a calm period gives them back.
func TestOverloadDegrades(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{MaxSpeakers: 3})
	slow := 19 * time.Millisecond
	for i := 0; i < 6; i++ {
		c.checkOverload(slow, 0)
	}
	assert.Equal(t, 2, c.Stats().Degraded)
	assert.EqualValues(t, 6, c.Stats().Overruns)
	for i := 0; i < 10; i++ {
		c.checkOverload(slow, 0)
	}
	assert.Equal(t, 2, c.Stats().Degraded, "never below one speaker")
	for i := 0; i < 2*250; i++ {
		c.checkOverload(time.Millisecond, 0)
	}
	assert.Equal(t, 0, c.Stats().Degraded)
	var types []EventType
	for len(c.Events()) > 0 {
		types = append(types, (<-c.Events()).Type)
	}
	assert.Equal(t, []EventType{Overloaded, Overloaded, Recovered}, types)
}

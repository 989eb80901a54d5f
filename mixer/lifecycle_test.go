package mixer

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventsClosedAfterLastLeft: `for ev := range conf.Events()` ends once
// the conference is closed, after a Left event for everyone — though they
// far outnumber the channel's capacity and the reader is slow — whether the
// conference is ticked by hand or by an Engine, and no goroutine is left.
func TestEventsClosedAfterLastLeft(t *testing.T) {
	for _, mode := range []string{"hand", "engine"} {
		t.Run(mode, func(t *testing.T) {
			base := runtime.NumGoroutine()
			var e *Engine
			var c *Conference
			var err error
			cfg := ConferenceConfig{Name: mode, EventBuffer: 4}
			if mode == "engine" {
				e = NewEngine(EngineConfig{Workers: 1})
				c, err = e.NewConference(cfg)
			} else {
				c, err = NewConference(cfg)
			}
			require.NoError(t, err)
			var left atomic.Int32
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				for ev := range c.Events() {
					if ev.Type == Left {
						left.Add(1)
					}
					time.Sleep(200 * time.Microsecond) // a slow reader
				}
			}()
			const n = 40
			for i := range n {
				_, err := c.Join(ParticipantConfig{ID: fmt.Sprint("p", i), In: pcmu, Out: pcmu})
				require.NoError(t, err)
			}
			if e == nil {
				c.Tick(0)
			} else {
				require.Eventually(t, func() bool { return c.Stats().Participants == n }, 5*time.Second, time.Millisecond)
			}
			require.NoError(t, c.Close())
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("Events not closed")
			}
			assert.EqualValues(t, n, left.Load(), "a Left event for everyone")
			assert.Empty(t, c.Participants())
			if e != nil {
				require.NoError(t, e.Close())
			}
			goroutinesBack(t, base)
		})
	}
}

// TestFinalEventsWait: closing events nobody reads wait FinalEventsWait for
// a reader, then are dropped and counted, and the channel is closed; a
// negative wait closes at once.
func TestFinalEventsWait(t *testing.T) {
	for _, wait := range []time.Duration{30 * time.Millisecond, -1} {
		t.Run(fmt.Sprint(wait), func(t *testing.T) {
			base := runtime.NumGoroutine()
			c, err := NewConference(ConferenceConfig{EventBuffer: 2, FinalEventsWait: wait})
			require.NoError(t, err)
			for range 10 {
				_, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu})
				require.NoError(t, err)
			}
			c.Tick(0)
			for len(c.Events()) > 0 {
				<-c.Events() // the Joined events that fitted
			}
			dropped := c.Stats().EventsDropped
			require.NoError(t, c.Close())
			if wait > 0 {
				time.Sleep(3 * wait)
			}
			goroutinesBack(t, base) // the waiting goroutine gave up
			var got int
			for range c.Events() {
				got++
			}
			assert.Equal(t, 2, got, "what fitted in the channel")
			assert.EqualValues(t, 8, c.Stats().EventsDropped-dropped, "the rest, counted")
		})
	}
}

// TestEngineConferenceClose: Close on a conference an Engine runs stops it
// at once — no more ticks, no longer listed, its participants gone — while
// the Engine's other conferences go on; calls afterwards return ErrClosed.
func TestEngineConferenceClose(t *testing.T) {
	e := NewEngine(EngineConfig{Workers: 1})
	defer e.Close()
	c, err := e.NewConference(ConferenceConfig{Name: "closing"})
	require.NoError(t, err)
	other, err := e.NewConference(ConferenceConfig{Name: "other"})
	require.NoError(t, err)
	p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: SinkFunc(func([]byte) error { return nil })})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.Stats().Ticks > 3 }, 5*time.Second, time.Millisecond)

	require.NoError(t, c.Close())
	ticks := c.Stats().Ticks
	assert.Zero(t, c.Stats().Participants)
	assert.Equal(t, []*Conference{other}, e.Conferences())
	otherTicks := other.Stats().Ticks
	// Counted in the other room's ticks, not wall time: on a loaded
	// machine 100 ms may hold no tick at all.
	assert.Eventually(t, func() bool { return other.Stats().Ticks > otherTicks+5 }, 10*time.Second, time.Millisecond,
		"the other conference stopped")
	assert.Equal(t, ticks, c.Stats().Ticks, "closed conference still ticking")

	assert.ErrorIs(t, c.Close(), ErrClosed)
	assert.ErrorIs(t, p.WriteRTP(rtpPkt(t, 1, 0, nil)), ErrClosed)
	_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu})
	assert.ErrorIs(t, err, ErrClosed)
	c.Tick(time.Hour) // nothing: a closed conference never ticks
	assert.Equal(t, ticks, c.Stats().Ticks)
	var kinds []EventType
	for ev := range c.Events() {
		kinds = append(kinds, ev.Type)
	}
	assert.Equal(t, []EventType{Joined, Left}, kinds)

	// The deprecated call keeps working.
	e.Remove(other)
	assert.Empty(t, e.Conferences())
	assert.ErrorIs(t, other.Close(), ErrClosed)
}

// TestCloseFromSink: a Sink may close its conference. Ticked by hand, the
// Tick that called it finishes the close; in an Engine, Close returns while
// the delivery goroutine waits.
func TestCloseFromSink(t *testing.T) {
	t.Run("hand", func(t *testing.T) {
		c, err := NewConference(ConferenceConfig{})
		require.NoError(t, err)
		var closeErr error
		var once sync.Once
		for range 3 {
			_, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: SinkFunc(func([]byte) error {
				once.Do(func() { closeErr = c.Close() })
				return nil
			})})
			require.NoError(t, err)
		}
		c.Tick(0)
		require.NoError(t, closeErr)
		assert.Empty(t, c.Participants())
		ticks := c.Stats().Ticks
		c.Tick(20 * time.Millisecond)
		assert.Equal(t, ticks, c.Stats().Ticks)
		left := 0
		for ev := range c.Events() {
			if ev.Type == Left {
				left++
			}
		}
		assert.Equal(t, 3, left)
	})
	t.Run("engine", func(t *testing.T) {
		e := NewEngine(EngineConfig{Workers: 1})
		defer e.Close()
		c, err := e.NewConference(ConferenceConfig{})
		require.NoError(t, err)
		closed := make(chan error, 1)
		var once sync.Once
		_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: SinkFunc(func([]byte) error {
			once.Do(func() { closed <- c.Close() })
			return nil
		})})
		require.NoError(t, err)
		select {
		case err := <-closed:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("Close from a sink did not return")
		}
		for range c.Events() {
		}
		assert.Empty(t, e.Conferences())
	})
}

// TestCloseRacesJoinAndTick: Close while other goroutines join and tick:
// whoever Join accepted leaves, nobody is left behind, Events closes.
func TestCloseRacesJoinAndTick(t *testing.T) {
	for range 20 {
		c, err := NewConference(ConferenceConfig{EventBuffer: 1024})
		require.NoError(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var joined []*Participant
		stop := make(chan struct{})
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu})
					if err != nil {
						assert.ErrorIs(t, err, ErrClosed)
						return
					}
					mu.Lock()
					joined = append(joined, p)
					mu.Unlock()
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c.Tick(time.Duration(i) * 20 * time.Millisecond)
			}
		}()
		time.Sleep(2 * time.Millisecond)
		require.NoError(t, c.Close())
		close(stop)
		wg.Wait()
		c.Tick(time.Hour) // nothing, or the final pass if a tick held the lock during Close: already run
		for range c.Events() {
		}
		assert.Empty(t, c.Participants())
		assert.Zero(t, c.Stats().Participants)
		for _, p := range joined {
			assert.ErrorIs(t, p.WriteRTPAt(0, rtpPkt(t, 1, 0, nil)), ErrClosed)
		}
	}
}

// TestCloseConsistent: Close means the same on a Conference, ticked by hand
// or by an Engine, and on an Engine: the first call closes and returns nil,
// every later one returns ErrClosed; an Engine's Close closes the
// conferences it runs (their own Close then returns ErrClosed, their Events
// are closed), and one closed before it does not make it fail.
func TestCloseConsistent(t *testing.T) {
	hand, err := NewConference(ConferenceConfig{})
	require.NoError(t, err)
	require.NoError(t, hand.Close())
	assert.ErrorIs(t, hand.Close(), ErrClosed)
	_, open := <-hand.Events()
	assert.False(t, open, "Events closed")

	e := NewEngine(EngineConfig{Workers: 1})
	first, err := e.NewConference(ConferenceConfig{Name: "first"})
	require.NoError(t, err)
	second, err := e.NewConference(ConferenceConfig{Name: "second"})
	require.NoError(t, err)
	p, err := second.Join(ParticipantConfig{In: pcmu, Out: pcmu})
	require.NoError(t, err)
	require.NoError(t, first.Close())
	require.NoError(t, e.Close(), "a conference closed before does not make Engine.Close fail")
	assert.ErrorIs(t, e.Close(), ErrClosed)
	assert.ErrorIs(t, first.Close(), ErrClosed)
	assert.ErrorIs(t, second.Close(), ErrClosed, "closed by Engine.Close")
	select {
	case <-p.Done():
	default:
		t.Fatal("Engine.Close returned before its participants were done")
	}
	var kinds []EventType
	for ev := range second.Events() {
		kinds = append(kinds, ev.Type)
	}
	assert.Equal(t, []EventType{Joined, Left}, kinds)
	_, err = e.NewConference(ConferenceConfig{})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = second.Join(ParticipantConfig{In: pcmu, Out: pcmu})
	assert.ErrorIs(t, err, ErrClosed)
	e.Remove(second) // deprecated, and a no-op on a closed conference
}

package mixer

import (
	"sync"
	"sync/atomic"
	"time"
)

// lifecycle is how a conference ends: Close, the final pass that removes
// everyone, and the closing of Events.
//
// Ownership: mu is the tick lock — held by every Tick and by the final
// pass, so exactly one of them runs at a time and nothing ticks after the
// final pass. The other fields are under mu, except closing, which any
// goroutine reads.
type lifecycle struct {
	mu       sync.Mutex
	closing  atomic.Bool // Close was called
	done     bool        // the final pass ran: Tick does nothing any more
	final    bool        // the final pass is running: emit keeps what does not fit
	overflow []Event     // closing events the channel had no room for
}

// DefaultFinalEventsWait is ConferenceConfig.FinalEventsWait's default.
const DefaultFinalEventsWait = time.Second

// Close ends the conference: every participant leaves (TalkingStopped for
// those talking, then Left, for everyone), Join is refused, the conference
// stops ticking, and Events is closed once those last events are delivered.
// It returns ErrClosed when the conference was already closed.
//
// Where the conference runs decides when that happens:
//
//   - In an Engine, Close waits for a tick in progress, runs the final pass
//     itself and takes the conference off its worker before it returns: it
//     never ticks again. Packets its last ticks built may still reach their
//     sinks, from the Engine's delivery goroutines, for a moment after Close
//     returns (Engine.Close waits for them). Close may be called from a
//     Sink or from an event reader.
//   - Ticked by hand, Close runs the final pass at once; but when a Tick is
//     running (on another goroutine, or Close is called from a Sink that
//     Tick is calling), that Tick runs it before it returns, and Close
//     returns without waiting. Tick does nothing after the final pass.
//
// The events of the final pass are never dropped for lack of room in the
// Events channel: those that do not fit wait for the reader, each for at
// most ConferenceConfig.FinalEventsWait (then the rest are dropped and
// counted in ConferenceStats.EventsDropped), and the channel is closed
// after the last, so that `for ev := range conf.Events()` ends.
func (c *Conference) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	list := append([]*Participant(nil), c.list...)
	c.mu.Unlock()
	for _, p := range list {
		p.leave(reasonClosed)
	}
	c.closeTrunks()
	c.closeEndpoints()
	if l := c.log.l; l != nil {
		l.Info("conference closed", "participants", len(list))
	}
	c.life.closing.Store(true)
	if e := c.dl.engine; e != nil {
		// An Engine's ticks never call sinks, so waiting for one cannot
		// deadlock even when Close is called from a Sink.
		c.life.mu.Lock()
		if !c.life.done {
			c.finish(e.cfg.Clock())
		}
		c.life.mu.Unlock()
		e.forget(c)
		return nil
	}
	c.finishIfIdle()
	return nil
}

// finishIfIdle runs the final pass unless a Tick holds the lock, in which
// case that Tick sees closing and runs it (Tick checks after it unlocks, so
// one of the two always does).
func (c *Conference) finishIfIdle() {
	if !c.life.mu.TryLock() {
		return
	}
	if !c.life.done {
		c.finish(c.now)
	}
	c.life.mu.Unlock()
}

// finish is the final pass, under the tick lock: the leaves Close queued
// are applied, their events kept even when the channel is full, and Events
// is closed.
func (c *Conference) finish(now time.Duration) {
	c.life.final = true
	c.applyPending(now)
	c.life.final = false
	c.life.done = true
	c.closeEvents()
}

// closeEvents closes the Events channel after the closing events that did
// not fit in it: at once when there are none, else from a goroutine that
// waits for the reader to take each, for at most FinalEventsWait (so a
// conference whose events nobody reads leaves no goroutine behind for
// longer than that).
func (c *Conference) closeEvents() {
	evs := c.life.overflow
	c.life.overflow = nil
	wait := c.cfg.FinalEventsWait
	if len(evs) == 0 || wait < 0 {
		c.eventsDropped.Add(uint64(len(evs)))
		close(c.events)
		return
	}
	go func() {
		defer close(c.events)
		t := time.NewTimer(wait)
		defer t.Stop()
		for i, e := range evs {
			select {
			case c.events <- e:
				t.Reset(wait)
			case <-t.C:
				c.eventsDropped.Add(uint64(len(evs) - i))
				return
			}
		}
	}()
}

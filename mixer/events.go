package mixer

import (
	"fmt"
	"time"
)

// EventType says what happened.
type EventType int

// Event types.
const (
	Joined EventType = iota + 1
	Left
	TalkingStarted
	TalkingStopped
	// Overloaded: the conference's ticks ran over budget and it degraded;
	// Detail says to what. Recovered: back to full service.
	Overloaded
	Recovered
	// Updated: a participant's Update took effect (at the start of this
	// tick); Detail describes its configuration now.
	Updated
	// ByeReceived: the participant sent an RTCP BYE for its own stream;
	// Detail is its reason. The participant stays until the application
	// makes it Leave.
	ByeReceived
	// SinkStalled: in an Engine, a call to the participant's Sink took
	// longer than EngineConfig.SinkBudget. Nobody else waited for it: the
	// participant's packets now go out on a goroutine of its own, and what
	// does not fit its queue meanwhile is dropped and counted
	// (ParticipantStats.SinkDropped). SinkRecovered: its sink has kept
	// within budget again and it is back on the shared delivery.
	SinkStalled
	SinkRecovered
	// DTMFBegan: a participant pressed a key (an RFC 4733 event began, or
	// a tone was found in its audio); DTMF says which. DTMFEnded: the
	// digit ended, DTMF.Duration is its length. Each digit is reported
	// once as begun and once as ended, whatever the network did.
	DTMFBegan
	DTMFEnded
)

func (t EventType) String() string {
	switch t {
	case Joined:
		return "joined"
	case Left:
		return "left"
	case TalkingStarted:
		return "talking-started"
	case TalkingStopped:
		return "talking-stopped"
	case Overloaded:
		return "overloaded"
	case Recovered:
		return "recovered"
	case Updated:
		return "updated"
	case ByeReceived:
		return "bye-received"
	case SinkStalled:
		return "sink-stalled"
	case SinkRecovered:
		return "sink-recovered"
	case DTMFBegan:
		return "dtmf-began"
	case DTMFEnded:
		return "dtmf-ended"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is delivered on Conference.Events.
type Event struct {
	Type        EventType
	Conference  string
	Participant string        // empty for conference events
	At          time.Duration // tick time
	Level       int           // smoothed level (-dBov) for talking events
	// Detail says more, for people: for Joined the participant's formats
	// and payload types, for Left why it left when that is known
	// (Participant.LeaveWithReason, or "conference closed"), for
	// Overloaded what was shed.
	Detail string
	// DTMF is the digit of a DTMFBegan or DTMFEnded event.
	DTMF DTMFDigit
}

// emit hands e to the events channel without ever blocking the tick: when
// the reader falls behind, the event is dropped and counted — except during
// the closing pass, whose events are kept for closeEvents. Only the
// goroutine holding the tick lock emits (a tick, or Close's final pass), so
// nothing is sent once the channel is closed.
func (c *Conference) emit(e Event) {
	e.Conference = c.cfg.Name
	if c.log.l != nil {
		c.logEvent(e)
	}
	select {
	case c.events <- e:
	default:
		if c.life.final {
			c.life.overflow = append(c.life.overflow, e)
			return
		}
		c.eventsDropped.Add(1)
	}
}

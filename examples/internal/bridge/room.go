package bridge

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/mixer"
)

// room is one conference and the legs and event subscribers around it.
type room struct {
	s    *Server
	name string
	conf *mixer.Conference

	mu     sync.Mutex
	legs   map[string]*leg
	count  int // participants joined or joining, within MaxRoomParticipants
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{}

	load roomLoad

	// sseDropped counts events not delivered to subscribers that fell
	// behind, over the room's life.
	sseDropped atomic.Uint64

	// gone sums the counters of the legs that left, under mu (see retire).
	gone legTotals
}

// subscriber is one Server-Sent Events client. Its channel is bounded: the
// event pump never waits for a client, so one that does not read loses
// events (counted) instead of stalling the pump or growing memory.
type subscriber struct {
	ch      chan []byte
	dropped atomic.Uint64
	levels  atomic.Bool // it asked for levels events too (levels.go)
}

func newRoom(s *Server, conf *mixer.Conference) *room {
	r := &room{
		s: s, name: conf.Name(), conf: conf,
		legs: map[string]*leg{}, subs: map[*subscriber]struct{}{},
		done: make(chan struct{}), gone: newLegTotals(),
	}
	r.load.sample(mixer.Monotonic(), conf.Stats())
	return r
}

// reserve takes a place in the room for a join, or says why there is
// none: the room is full, or its ticks are over budget now.
func (r *room) reserve() error {
	if b := r.s.cfg.TickBudget; b > 0 {
		if err := r.load.check(mixer.Monotonic(), r.conf.Stats(), b); err != nil {
			return fmt.Errorf("room %q: %w", r.name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count >= r.s.cfg.MaxRoomParticipants {
		return fmt.Errorf("%w: room %q has %d participants, its limit", errCapacity, r.name, r.count)
	}
	r.count++
	return nil
}

// release gives back a place taken by reserve.
func (r *room) release() {
	r.mu.Lock()
	r.count--
	r.mu.Unlock()
}

func (r *room) add(l *leg) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.legs[l.id] = l
	return true
}

func (r *room) remove(l *leg) {
	r.mu.Lock()
	if r.legs[l.id] == l {
		delete(r.legs, l.id)
	}
	r.mu.Unlock()
}

func (r *room) leg(id string) *leg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.legs[id]
}

func (r *room) legList() []*leg {
	r.mu.Lock()
	defer r.mu.Unlock()
	ls := make([]*leg, 0, len(r.legs))
	for _, l := range r.legs {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].id < ls[j].id })
	return ls
}

func (r *room) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.done)
	}
}

func (r *room) subscribe() *subscriber {
	sub := &subscriber{ch: make(chan []byte, r.s.cfg.SSEBuffer)}
	r.mu.Lock()
	r.subs[sub] = struct{}{}
	r.mu.Unlock()
	return sub
}

func (r *room) unsubscribe(sub *subscriber) {
	r.mu.Lock()
	delete(r.subs, sub)
	r.mu.Unlock()
}

// eventJSON is the data of one Server-Sent Event.
type eventJSON struct {
	Room        string `json:"room"`
	Participant string `json:"participant,omitempty"`
	AtMillis    int64  `json:"at_ms"`
	Level       int    `json:"level,omitempty"`
	Detail      string `json:"detail,omitempty"`
	// DTMF is the digit of dtmf_began and dtmf_ended events.
	DTMF *dtmfEventJSON `json:"dtmf,omitempty"`
}

// sseName is the SSE event name for a mixer event type.
func sseName(t mixer.EventType) string {
	switch t {
	case mixer.Joined:
		return "joined"
	case mixer.Left:
		return "left"
	case mixer.TalkingStarted:
		return "talking_started"
	case mixer.TalkingStopped:
		return "talking_stopped"
	case mixer.Overloaded:
		return "overloaded"
	case mixer.Recovered:
		return "recovered"
	case mixer.Updated:
		return "updated"
	case mixer.DTMFBegan:
		return "dtmf_began"
	case mixer.DTMFEnded:
		return "dtmf_ended"
	}
	return "unknown"
}

// pumpEvents fans the conference's events out to the subscribers until the
// conference closes its Events channel, after the last Left event.
func (r *room) pumpEvents() {
	lt := time.NewTicker(levelsInterval)
	defer lt.Stop()
	var ls levelsState
	events := r.conf.Events()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			r.publish(e)
		case <-lt.C:
			r.publishLevels(&ls)
		}
	}
}

func (r *room) publish(e mixer.Event) {
	data, _ := json.Marshal(eventJSON{
		Room: e.Conference, Participant: e.Participant, AtMillis: e.At.Milliseconds(),
		Level: e.Level, Detail: e.Detail, DTMF: dtmfJSON(e),
	})
	msg := make([]byte, 0, len(data)+48)
	msg = append(msg, "event: "...)
	msg = append(msg, sseName(e.Type)...)
	msg = append(msg, "\ndata: "...)
	msg = append(msg, data...)
	msg = append(msg, "\n\n"...)
	r.mu.Lock()
	defer r.mu.Unlock()
	for sub := range r.subs {
		select {
		case sub.ch <- msg:
		default:
			sub.dropped.Add(1)
			r.sseDropped.Add(1)
		}
	}
}

package bridge

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// connLimiter caps the API's open connections. It follows each connection
// through http.Server's ConnState hook, in one list per state, oldest
// first. When a new connection takes the count over the cap it sheds, in
// this order: the oldest idle keep-alive connection (its client reconnects
// when it has something to ask), the oldest connection that has not yet
// sent a whole request (idle TCP connections and slow senders of headers,
// which the attacker holds longest), else the new connection itself (every
// other one is serving a request; those are bounded by the server's read
// and write timeouts). A real client's connection turns active within a
// round trip of connecting, so a flood of idle connections churns through
// the cap without taking its place.
//
// Concurrency: track is called by the http.Server from its goroutines; it
// and Stats are safe for concurrent use.
type connLimiter struct {
	max int

	mu       sync.Mutex
	conns    map[net.Conn]*list.Element
	byState  [3]list.List // fresh, active, idle; values are tracked
	shed     atomic.Uint64
	refused  atomic.Uint64
	accepted atomic.Uint64
}

// tracked is a connection and the list it is in.
type tracked struct {
	c     net.Conn
	state int
}

const (
	connFresh = iota
	connActive
	connIdle
)

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, conns: map[net.Conn]*list.Element{}}
}

// track is the http.Server's ConnState hook.
func (cl *connLimiter) track(c net.Conn, state http.ConnState) {
	var victim net.Conn
	cl.mu.Lock()
	switch state {
	case http.StateNew:
		cl.accepted.Add(1)
		cl.move(c, connFresh)
		if len(cl.conns) > cl.max {
			victim = cl.pickVictim(c)
			cl.forget(victim)
			if victim == c {
				cl.refused.Add(1)
			} else {
				cl.shed.Add(1)
			}
		}
	case http.StateActive:
		cl.move(c, connActive)
	case http.StateIdle:
		cl.move(c, connIdle)
	case http.StateClosed, http.StateHijacked:
		cl.forget(c)
	}
	cl.mu.Unlock()
	if victim != nil {
		// The server's goroutine for it sees the read fail and reports
		// StateClosed, which finds nothing left to forget.
		_ = victim.Close()
	}
}

// pickVictim chooses the connection to shed for the new one, c.
func (cl *connLimiter) pickVictim(c net.Conn) net.Conn {
	if e := cl.byState[connIdle].Front(); e != nil {
		return e.Value.(tracked).c
	}
	if e := cl.byState[connFresh].Front(); e != nil && e.Value.(tracked).c != c {
		return e.Value.(tracked).c
	}
	return c
}

// move puts c at the back (newest end) of the list for state.
func (cl *connLimiter) move(c net.Conn, state int) {
	cl.forget(c)
	cl.conns[c] = cl.byState[state].PushBack(tracked{c: c, state: state})
}

func (cl *connLimiter) forget(c net.Conn) {
	e, ok := cl.conns[c]
	if !ok {
		return
	}
	cl.byState[e.Value.(tracked).state].Remove(e)
	delete(cl.conns, c)
}

// connStats is a snapshot of the limiter.
type connStats struct {
	Open, Active, Idle      int
	Accepted, Shed, Refused uint64
}

func (cl *connLimiter) stats() connStats {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return connStats{Open: len(cl.conns), Active: cl.byState[connActive].Len(), Idle: cl.byState[connIdle].Len(),
		Accepted: cl.accepted.Load(), Shed: cl.shed.Load(), Refused: cl.refused.Load()}
}

package bridge

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

// connLimiter caps the API's open connections. It follows each connection
// through http.Server's ConnState hook, in one list per state, oldest
// first. When a new connection takes the count over the cap it sheds an
// idle keep-alive connection (its client reconnects when it has something
// to ask), else one that has not yet sent a whole request (idle TCP
// connections, slow senders of headers), else the new connection itself
// (every other one is serving a request; those are bounded by the server's
// read and write timeouts). Among the oldest few of a kind it picks the
// one whose source address holds the most connections, so that a crowd
// from one address churns through the cap without taking the place of a
// client from another that has just connected and not yet been read.
//
// Concurrency: track is called by the http.Server from its goroutines; it
// and Stats are safe for concurrent use.
type connLimiter struct {
	max int

	mu       sync.Mutex
	conns    map[net.Conn]*list.Element
	byState  [3]list.List // fresh, active, idle; values are tracked
	perAddr  map[netip.Addr]int
	shed     atomic.Uint64
	refused  atomic.Uint64
	accepted atomic.Uint64
}

// tracked is a connection, its source address and the list it is in.
type tracked struct {
	c     net.Conn
	addr  netip.Addr
	state int
}

// victimSample is how many of the oldest connections of a kind are
// compared for the busiest source address.
const victimSample = 16

const (
	connFresh = iota
	connActive
	connIdle
)

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, conns: map[net.Conn]*list.Element{}, perAddr: map[netip.Addr]int{}}
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
	case http.StateActive, http.StateIdle:
		// Only a connection still tracked: one shed a moment ago may
		// still report its state from its server goroutine before the
		// close reaches it, and must not come back over the cap.
		if _, ok := cl.conns[c]; ok {
			st := connActive
			if state == http.StateIdle {
				st = connIdle
			}
			cl.move(c, st)
		}
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
	for _, state := range []int{connIdle, connFresh} {
		if v := cl.busiest(state, c); v != nil {
			return v
		}
	}
	return c
}

// busiest returns, among the oldest victimSample connections in state
// other than c, the one whose address holds the most connections (the
// oldest of those), or nil.
func (cl *connLimiter) busiest(state int, c net.Conn) net.Conn {
	var best *tracked
	n := 0
	for e := cl.byState[state].Front(); e != nil && n < victimSample; e = e.Next() {
		t := e.Value.(tracked)
		if t.c == c {
			continue
		}
		n++
		if best == nil || cl.perAddr[t.addr] > cl.perAddr[best.addr] {
			best = &t
		}
	}
	if best == nil {
		return nil
	}
	return best.c
}

// move puts c at the back (newest end) of the list for state.
func (cl *connLimiter) move(c net.Conn, state int) {
	t := tracked{c: c, state: state}
	if e, ok := cl.conns[c]; ok {
		old := e.Value.(tracked)
		t.addr = old.addr
		cl.byState[old.state].Remove(e)
	} else {
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			t.addr = a.AddrPort().Addr().Unmap()
		}
		cl.perAddr[t.addr]++
	}
	cl.conns[c] = cl.byState[state].PushBack(t)
}

func (cl *connLimiter) forget(c net.Conn) {
	e, ok := cl.conns[c]
	if !ok {
		return
	}
	t := e.Value.(tracked)
	cl.byState[t.state].Remove(e)
	delete(cl.conns, c)
	if cl.perAddr[t.addr]--; cl.perAddr[t.addr] <= 0 {
		delete(cl.perAddr, t.addr)
	}
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

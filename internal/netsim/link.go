package netsim

import (
	"container/heap"
	"time"
)

// Link is a one-way path for live packets, where a Trace is a path for a
// scripted sender: the Scenario's BaseDelay, Jitter and Loss (independent
// and Bursty) applied to each packet as it is sent, and a queue that gives
// the packets back at their arrival times. A Link never reorders beyond
// what the jitter does. Use it between two components under test that
// both produce packets as they run (the trunks between conferences).
//
// The same Scenario and Seed give the same fate to the same sequence of
// sends. Not safe for concurrent use.
type Link struct {
	s    Scenario
	rng  *Rand
	good bool
	q    linkQueue
	seq  uint64
	// Sent and Lost count what Send was given and what it dropped.
	Sent, Lost int
}

// NewLink returns a Link with s's path (its sender fields are unused).
func NewLink(s Scenario) *Link {
	s = s.WithDefaults()
	return &Link{s: s, rng: NewRand(s.Seed), good: true}
}

type linkPacket struct {
	at  time.Duration
	seq uint64
	pkt []byte
}

type linkQueue []linkPacket

func (q linkQueue) Len() int { return len(q) }
func (q linkQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q linkQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *linkQueue) Push(x any)   { *q = append(*q, x.(linkPacket)) }
func (q *linkQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Send takes a packet sent at now (copied) and reports whether it will
// arrive.
func (l *Link) Send(now time.Duration, pkt []byte) bool {
	l.Sent++
	s := &l.s
	transit := s.BaseDelay + s.jitter(l.rng)
	if transit < time.Millisecond {
		transit = time.Millisecond
	}
	lost := s.Loss > 0 && l.rng.Float64() < s.Loss
	if ge := s.Bursty; ge != nil {
		if l.good {
			l.good = l.rng.Float64() >= ge.P
		} else {
			l.good = l.rng.Float64() < ge.R
		}
		p := ge.LossGood
		if !l.good {
			p = ge.LossBad
		}
		if l.rng.Float64() < p {
			lost = true
		}
	}
	if lost {
		l.Lost++
		return false
	}
	l.seq++
	heap.Push(&l.q, linkPacket{at: now + transit, seq: l.seq, pkt: append([]byte(nil), pkt...)})
	return true
}

// Deliver calls f, in arrival order, for every packet that has arrived by
// now, with its arrival time.
func (l *Link) Deliver(now time.Duration, f func(at time.Duration, pkt []byte)) {
	for len(l.q) > 0 && l.q[0].at <= now {
		p := heap.Pop(&l.q).(linkPacket)
		f(p.at, p.pkt)
	}
}

// Pending is how many packets are in flight.
func (l *Link) Pending() int { return len(l.q) }

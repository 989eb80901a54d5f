package mixer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery: how the packets a tick builds reach the Sinks.
//
// The tick builds each outbound packet (header, payload, SRTP) straight into
// a slot of the participant's packetRing. Who then calls the Sink depends on
// who ticks:
//
//   - A conference ticked by hand (Conference.Tick): the ticking goroutine,
//     as soon as it has built the packet in the ring's free slot, which it
//     never publishes: the slot is free again when the sink returns.
//     Deterministic, as tests and benchmarks need, and no dearer than a
//     plain call; a sink that blocks blocks the tick.
//   - A conference an Engine runs: never the tick. Each worker has a
//     deliverer whose goroutine drains the rings of the conferences the
//     worker just ticked, so sends (UDP syscalls) run beside the ticks, on
//     another core when there is one. The worker is also the deliverer's
//     watchdog: a Sink call that lasts longer than EngineConfig.SinkBudget
//     is declared stalled, the deliverer goes on with a fresh goroutine,
//     and the stalled goroutine, once its call returns, keeps delivering
//     that one participant's packets on its own (the participant is
//     "detached"). A detached participant whose sink stays within budget
//     for recoverAfter calls in a row is handed back to the deliverer.
//
// A participant's packets — its RTP and its RTCP, each packet with the
// Sink it was built for — are delivered in order, by one goroutine at a
// time. Its ring holds EngineConfig.SinkQueue packets; what does not fit
// while its sink is slow is dropped and counted (ParticipantStats.SinkDropped).
//
// When a participant leaves, the tick queues its BYE and hands the
// participant to the deliverer once more: whoever delivers it then sends
// what is queued and closes Participant.Done, after which none of its
// sinks is called again. Engine.Close waits for all of that, except for
// calls stalled past the budget: once it has returned, a call that
// returns from a stall sends nothing more.

// Delivery modes of a participant in an Engine.
const (
	deliverShared int32 = iota // the worker's deliverer drains the ring
	deliverOwn                 // a goroutine of its own does, since its sink stalled
)

// News a delivering goroutine leaves for the tick, which turns it into events
// (the tick is the only goroutine that emits).
const (
	newsStalled uint32 = 1 << iota
	newsRecovered
)

// recoverAfter is how many Sink calls in a row within the budget give a
// detached participant back to the shared deliverer: a second of 20 ms
// packets.
const recoverAfter = 50

// delivery is the consumer side of a participant's outbound stream: the
// ring's reader (each packet comes with the Sink it was built for and the
// counters it is accounted in), and, in an Engine, who delivers.
//
// Ownership: the ring's consumer side and the counters of what it
// delivers belong to the goroutine delivering at the moment — the tick
// (hand-driven conference), a shift of the worker's deliverer (mode
// shared) or the participant's own goroutine (mode own). The hand-overs are
// synchronised: shared → own by the watchdog's compare-and-swap on the
// stalled shift's call word (the stalled goroutine itself becomes the own
// goroutine, so there is never a second consumer); own → shared by the own
// goroutine's store of mode after its last release, which a shift loads
// before it touches the ring.
type delivery struct {
	ring  *packetRing
	conf  *Conference
	sync  bool          // hand-driven: the tick delivers each packet as soon as it is built
	wake  chan struct{} // pokes the own goroutine (capacity 1)
	done  chan struct{} // Participant.Done, closed by finish
	mode  atomic.Int32
	quit  atomic.Bool // the participant left: deliver what is queued, then finish
	fin   atomic.Bool // finish ran
	news  atomic.Uint32
	stall atomic.Uint64 // times the watchdog declared the sink stalled

	_   pad
	rtp sinkCounters // the participant's RTP (its RTCP's are in rtcpOut)
}

// sinkCounters count what one kind of packet gave its sink: a
// participant's RTP, or its RTCP. The goroutine delivering writes them
// (one at a time, see delivery); Stats reads them.
type sinkCounters struct {
	packets, bytes, sinkErrors atomic.Uint64
}

// sent accounts for an n-byte packet the sink returned err for.
func (k *sinkCounters) sent(n int, err error) {
	if err != nil {
		inc(&k.sinkErrors)
	}
	inc(&k.packets)
	add(&k.bytes, uint64(n))
}

func newDelivery(c *Conference, depth int, sync bool, done chan struct{}) *delivery {
	return &delivery{
		ring: newPacketRing(depth, maxHeaderSize+maxPayload+srtpOverhead),
		conf: c, sync: sync, done: done,
		wake: make(chan struct{}, 1),
	}
}

// call hands pkt to sink (nil: a participant without one, whose packets
// are only counted) and accounts for it in k.
func call(sink Sink, k *sinkCounters, pkt []byte) {
	var err error
	if sink != nil {
		err = sink.WriteRTP(pkt)
	}
	k.sent(len(pkt), err)
}

// poke wakes the own goroutine, if it waits.
func (q *delivery) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// finish closes Done: the participant has left and nothing more of its is
// delivered. Once only.
func (q *delivery) finish() {
	if q.fin.CompareAndSwap(false, true) && q.done != nil {
		close(q.done)
	}
}

// leave is the tick's last word on a participant that left (after its BYE
// is queued): hand-driven, everything has been delivered already; in an
// Engine, its deliverer sends what is queued, then finishes.
func (q *delivery) leave() {
	q.quit.Store(true)
	if q.sync {
		q.finish()
		return
	}
	q.poke()
	q.conf.dl.d.finishLater(q)
}

// note leaves news for the tick.
func (q *delivery) note(bit uint32) {
	q.news.Or(bit)
	q.conf.dl.news.Store(true)
}

// confDelivery is a conference's side of delivery.
type confDelivery struct {
	engine *Engine    // nil: ticked by hand
	d      *deliverer // its worker's
	depth  int        // ring slots per participant
	// outList is the participants a deliverer drains: a copy of the tick's
	// list, republished when it changes, because a deliverer may still be
	// draining one tick while the worker runs the next.
	outList atomic.Pointer[[]*Participant]
	dirty   bool        // the tick's list changed since outList; tick only
	queued  atomic.Bool // in a deliverer's pending list
	news    atomic.Bool // some participant has news for the tick
}

// publishParts republishes the tick's participant list for the deliverer.
// Tick only; it allocates, on joins and leaves only.
func (c *Conference) publishParts() {
	if c.dl.engine == nil || !c.dl.dirty {
		return
	}
	c.dl.dirty = false
	list := append([]*Participant(nil), c.parts...)
	c.dl.outList.Store(&list)
}

// sinkEvents turns what the deliverers noted into events. Tick only.
func (c *Conference) sinkEvents(now time.Duration) {
	if !c.dl.news.Load() || !c.dl.news.Swap(false) {
		return
	}
	for _, p := range c.parts {
		q := p.out.dl
		if q.news.Load() == 0 {
			continue
		}
		n := q.news.Swap(0)
		if n&newsStalled != 0 {
			c.emit(Event{Type: SinkStalled, Participant: p.id, At: now,
				Detail: fmt.Sprintf("a Sink call took over %v: the participant's packets now go out on a goroutine of its own (queue of %d; what does not fit is dropped)",
					c.dl.engine.cfg.SinkBudget, q.ring.capacity())})
		}
		if n&newsRecovered != 0 {
			c.emit(Event{Type: SinkRecovered, Participant: p.id, At: now,
				Detail: fmt.Sprintf("%d Sink calls in a row within budget: back on the shared delivery", recoverAfter)})
		}
	}
}

// deliverer hands the packets a worker's ticks built to their sinks, on a
// goroutine of its own, so that neither the tick nor any other participant
// waits for a sink. The worker queues each conference it ticked and is the
// watchdog of the goroutine delivering (see watch).
type deliverer struct {
	budget time.Duration
	wake   chan struct{}
	quit   chan struct{} // closed by Engine.Close after the workers stopped
	exited chan struct{} // closed by the shift that saw quit and finished

	// Written by the worker (and the shift, to take the batch; and any
	// goroutine that closes a conference, for its leavers).
	mu      sync.Mutex
	pending []work
	stopped bool        // the last shift has seen quit and drained: finish at once
	ended   bool        // Engine.Close is returning: no Sink is called any more (runOwn)
	busy    atomic.Bool // work pending or being delivered: the watchdog watches then
	cur     atomic.Pointer[shift]
	unwoken int      // participants queued since the deliverer was last woken; worker only
	owned   []*shift // abandoned shifts serving their participant (runOwn)

	_ pad
	// Owned by the current shift; handed to the next by the watchdog.
	batch []work
	bi    int
	parts []*Participant
	pi    int
	callQ *delivery // whose sink the shift is calling

	_ pad
	// Owned by the watchdog: the worker, then Engine.Close.
	seen   uint64
	seenAt time.Duration
}

// work is what a deliverer is handed: a conference whose rings to drain,
// or a participant that has left, to deliver what it has queued and then
// finish.
type work struct {
	c *Conference
	q *delivery
}

// shift is one goroutine's turn at delivering. call counts its Sink calls:
// odd while one is in progress. The watchdog gives up on a call by setting
// the abandoned bit; the goroutine learns it from its failed
// compare-and-swap when the call returns, and from then on touches nothing
// of the deliverer's but its entry in owned: it is the detached
// participant's own goroutine (runOwn), and still counts its calls in call,
// with since the start of the one in progress, so that Engine.Close knows
// which to wait for.
type shift struct {
	call  atomic.Uint64
	since atomic.Int64 // Monotonic, while abandoned: when the call in progress began
}

const abandoned = 1 << 63

func newDeliverer(budget time.Duration) *deliverer {
	d := &deliverer{
		budget: budget,
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	d.cur.Store(&shift{})
	return d
}

// start starts the first shift.
func (d *deliverer) start() { go d.run(d.cur.Load()) }

// wakeAfter is how many participants' packets a worker queues before it
// wakes the deliverer: a large room is handed over as soon as it has
// ticked, small rooms in batches (or at the end of the worker's pass), so
// that twenty-party rooms do not cost a goroutine wake-up each.
const wakeAfter = 64

// enqueue queues c, which the worker just ticked, for delivery, and wakes
// the deliverer once wakeAfter participants' packets wait. Worker only; it
// never blocks and, in steady state, allocates nothing.
func (d *deliverer) enqueue(c *Conference) {
	// Only the worker sets queued; the shift clears it before it reads the
	// rings, so a conference seen queued will have this tick's packets
	// delivered too.
	if c.dl.queued.Load() {
		return
	}
	c.dl.queued.Store(true)
	d.mu.Lock()
	d.pending = append(d.pending, work{c: c})
	d.busy.Store(true)
	d.mu.Unlock()
	// At least one: a room queued while empty must still wake the
	// deliverer, or it would stay queued (and skipped) for ever.
	d.unwoken += 1 + int(c.numParts.Load())
	if d.unwoken >= wakeAfter {
		d.wakeUp()
	}
}

// flush wakes the deliverer for whatever was queued since it was last
// woken: the end of the worker's pass. Worker only.
func (d *deliverer) flush() {
	if d.unwoken > 0 {
		d.wakeUp()
	}
}

// finishLater hands the deliverer a participant that has left (see
// delivery.leave). Any goroutine: the tick, or Close's final pass. After
// the deliverer has stopped there is nobody to deliver: it finishes at
// once.
func (d *deliverer) finishLater(q *delivery) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		q.finish()
		return
	}
	d.pending = append(d.pending, work{q: q})
	d.busy.Store(true)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) wakeUp() {
	d.unwoken = 0
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deliverer) run(s *shift) {
	for {
		if !d.drain(s) {
			return
		}
		select {
		case <-d.wake:
		case <-d.quit:
			for {
				if !d.drain(s) {
					return // the successor takes over
				}
				d.mu.Lock()
				if len(d.pending) == 0 {
					d.stopped = true
					d.mu.Unlock()
					close(d.exited)
					return
				}
				d.mu.Unlock()
			}
		}
	}
}

// drain delivers everything queued. It returns false when the watchdog gave
// up on one of its calls: by then the goroutine has served the stalled
// participant for as long as it stayed detached, and must stop.
func (d *deliverer) drain(s *shift) bool {
	for {
		if d.pi < len(d.parts) {
			p := d.parts[d.pi]
			d.pi++ // past p before calling its sink: a successor must not call it again
			if !d.serve(s, p.out.dl, false) {
				return false
			}
			continue
		}
		if d.bi == len(d.batch) {
			d.mu.Lock()
			d.batch, d.pending = d.pending, d.batch[:0]
			if len(d.batch) == 0 {
				d.busy.Store(false)
			}
			d.mu.Unlock()
			d.bi, d.parts, d.pi = 0, nil, 0
			if len(d.batch) == 0 {
				return true
			}
		}
		w := d.batch[d.bi]
		d.batch[d.bi] = work{}
		d.bi++
		if w.q != nil {
			if !d.serve(s, w.q, true) {
				return false
			}
			continue
		}
		w.c.dl.queued.Store(false)
		d.parts, d.pi = nil, 0
		if l := w.c.dl.outList.Load(); l != nil {
			d.parts = *l
		}
	}
}

// serve delivers what q has queued, on shift s; last: q's participant has
// left, so finish afterwards. A detached participant is its own
// goroutine's: it is only woken. False when s was abandoned.
func (d *deliverer) serve(s *shift, q *delivery, last bool) bool {
	if q.mode.Load() == deliverOwn {
		q.poke()
		return true
	}
	for pkt, m := q.ring.peek(); pkt != nil; pkt, m = q.ring.peek() {
		if m.sink == nil {
			m.ctr.sent(len(pkt), nil)
			q.ring.release()
			continue
		}
		v := s.call.Load() + 1
		d.callQ = q
		s.call.Store(v)
		err := m.sink.WriteRTP(pkt)
		if !s.call.CompareAndSwap(v, v+1) {
			// Abandoned: the watchdog detached q and another shift
			// carries on. This goroutine is now q's own.
			s.call.Store((v + 1) | abandoned)
			m.ctr.sent(len(pkt), err)
			q.ring.release()
			d.runOwn(q, s)
			return false
		}
		m.ctr.sent(len(pkt), err)
		q.ring.release()
	}
	if last {
		q.finish()
	}
	return true
}

// watch is the watchdog, run by the worker between ticks (and by
// Engine.Close while it waits): when the shift has been in the same Sink
// call for at least the budget, it detaches that call's participant and
// starts a fresh shift where the stalled one was. It returns how soon it
// wants to look again, or -1 when the deliverer is idle.
//
// A call is declared stalled between one and two budgets after it began
// (the watchdog samples the call counter every half budget), later if the
// worker was busy ticking.
func (d *deliverer) watch() time.Duration {
	if !d.busy.Load() {
		d.seen = 0
		return -1
	}
	check := d.budget / 2
	s := d.cur.Load()
	v := s.call.Load()
	now := Monotonic()
	switch {
	case v&1 == 0: // between calls
		d.seen = 0
		// Busy, so the shift has work; a token makes sure it is awake
		// for it (harmless when it is: one more pass over nothing).
		select {
		case d.wake <- struct{}{}:
		default:
		}
		return check
	case v != d.seen:
		d.seen, d.seenAt = v, now
		return check
	case now-d.seenAt < d.budget:
		return check
	}
	// Listed before it is abandoned, because once abandoned it may return,
	// serve its participant, and delist itself before we would list it.
	s.since.Store(int64(d.seenAt))
	d.mu.Lock()
	d.owned = append(d.owned, s)
	d.mu.Unlock()
	if !s.call.CompareAndSwap(v, v|abandoned) {
		d.delist(s)
		return check // it returned just now
	}
	// The stalled goroutine wrote callQ before the call word we swapped,
	// and will write nothing more of ours.
	q := d.callQ
	q.mode.Store(deliverOwn)
	q.stall.Add(1)
	q.note(newsStalled)
	ns := &shift{}
	d.cur.Store(ns)
	d.seen = 0
	go d.run(ns)
	return check
}

// runOwn delivers a detached participant's packets on the calling
// goroutine, the abandoned shift s whose call stalled, until the
// participant leaves (then it delivers what is queued and finishes), or
// until its sink has kept within budget for recoverAfter calls and the
// ring is empty: then the participant goes back to the shared shift.
// Engine.Close closes the conferences before it stops the deliverers, so
// every detached participant has left by then and its goroutine sends
// what it has queued, BYE last, while Close waits for it — unless a call
// stalls: then Close returns without it, and nothing more is called.
func (d *deliverer) runOwn(q *delivery, s *shift) {
	defer d.delist(s)
	good := 0
	for {
		good = d.drainOwn(q, s, good)
		if q.quit.Load() {
			// The BYE was queued before quit was set: one more look.
			d.drainOwn(q, s, 0)
			q.finish()
			return
		}
		if d.isEnded() {
			return // Engine.Close returned (it closed the conference, so quit is set: not reached)
		}
		if good >= recoverAfter {
			q.mode.Store(deliverShared)
			q.note(newsRecovered)
			if q.quit.Load() {
				// Left meanwhile: its finishing may have found it still
				// ours and only poked. The shift owns it now.
				d.finishLater(q)
			}
			return
		}
		<-q.wake // a shift pokes every time it passes the conference; leave pokes too
	}
}

// drainOwn delivers what q has queued on its own goroutine and returns the
// count of calls in a row within budget. It stops once Engine.Close has
// ended delivery: each call begins under d.mu, where it checks ended and
// marks itself in progress, so that Close (waitOwners) either waits for it
// or has already ended delivery — never returns while a call it did not
// see as stalled is under way.
func (d *deliverer) drainOwn(q *delivery, s *shift, good int) int {
	for pkt, m := q.ring.peek(); pkt != nil; pkt, m = q.ring.peek() {
		if m.sink == nil {
			m.ctr.sent(len(pkt), nil)
			q.ring.release()
			continue
		}
		t := Monotonic()
		v := s.call.Load() + 1
		d.mu.Lock()
		if d.ended {
			d.mu.Unlock()
			return good
		}
		s.since.Store(int64(t))
		s.call.Store(v)
		d.mu.Unlock()
		err := m.sink.WriteRTP(pkt)
		s.call.Store(v + 1)
		if Monotonic()-t > d.budget {
			good = 0
		} else {
			good++
		}
		m.ctr.sent(len(pkt), err)
		q.ring.release()
	}
	return good
}

// delist removes an abandoned shift from owned.
func (d *deliverer) delist(s *shift) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, x := range d.owned {
		if x == s {
			d.owned = append(d.owned[:i], d.owned[i+1:]...)
			return
		}
	}
}

// waitOwners returns once the detached participants' goroutines have
// delivered what their participants queued and exited, all but those in a
// stalled call, left to return in their own time: delivery ends then, and
// they call nothing more. Engine.Close only, after the conferences closed:
// every detached participant has left, so its goroutine exits once its
// queue is empty.
func (d *deliverer) waitOwners() {
	for {
		d.mu.Lock()
		busy := d.ownersBusy()
		if !busy {
			d.ended = true
		}
		d.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(d.budget / 4)
	}
}

// isEnded reports whether Engine.Close has ended delivery.
func (d *deliverer) isEnded() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ended
}

// ownersBusy reports whether a detached participant's goroutine is still
// running, unless it is in a call older than the budget (stalled: not
// waited for). Under d.mu.
func (d *deliverer) ownersBusy() bool {
	now := Monotonic()
	for _, s := range d.owned {
		if s.call.Load()&1 == 0 || now-time.Duration(s.since.Load()) < d.budget {
			return true
		}
	}
	return false
}

// stop makes the deliverer hand over what is queued and exit, watching it
// meanwhile (a stalled call is left behind, as ever), and returns once it
// has. Engine.Close only, after the workers stopped.
func (d *deliverer) stop() {
	close(d.quit)
	t := time.NewTimer(d.budget / 2)
	defer t.Stop()
	for {
		select {
		case <-d.exited:
			return
		case <-t.C:
			next := d.watch()
			if next < 0 {
				next = d.budget / 2
			}
			t.Reset(next)
		}
	}
}

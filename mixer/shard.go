package mixer

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Splitting a large room across an Engine's workers.
//
// A conference always ticks on one worker, its owner. In a large room most
// of a tick is per-participant work that does not depend on the other
// participants: popping each jitter buffer and reading its level (pull),
// dropping what the non-speakers sent once the mix is made (finish), and
// wrapping each listener's copy of its group's shared payload in its
// own header, protecting it and queueing it (the group fan-out). The owner
// splits these two passes into shards of splitShard participants, takes
// shards itself and lets the Engine's other workers take some while they
// have nothing due; speaker selection, mixing and every encode stay on the
// owner, serial. Rooms below EngineConfig.SplitAt, and hand-ticked rooms,
// never split.
//
// Each worker has one preallocated splitJob, which only the conferences it
// owns publish (one tick at a time). A shard is claimed by a
// compare-and-swap on the job's word (generation, the range still
// unclaimed), so a helper that looked at an older phase claims nothing; the
// owner returns from a phase only when the done counter says every shard
// has finished. That barrier orders every shard's writes before the rest of
// the tick and before the next tick, so each participant's jitter consumer,
// packet ring producer, outStream and talk detector are touched by one
// goroutine at a time, in tick order, as in a serial tick; a participant's
// packets therefore leave in the same order with the same contents.

// splitShard is how many participants make a shard: enough that claiming
// one (a compare-and-swap on a shared line) costs nothing next to its work
// (a few hundred µs of SRTP and ring writes), few enough that two to
// sixteen workers find work in a room of a few thousand.
const splitShard = 256

// SuggestedSplitAt is a value for EngineConfig.SplitAt: below it a tick is
// too short (under a millisecond on one core) for waking a helper to pay.
const SuggestedSplitAt = 512

// Split phases: which pass a shard runs.
const (
	phasePull   = iota + 1 // pop, level, talk detector (pullSplit)
	phaseFinish            // drop what the non-speakers sent (mixSpeakers)
	phaseFan               // each group listener's packet (fanRun)
	phaseParts             // each listener's packet and report check (sendToGroupsSplit)
)

// splitJob is a worker's board for the room it is ticking: which
// conference, which phase, and the claim word. The owner writes c, phase
// and n before it stores word; a helper reads them only after its
// compare-and-swap on word succeeded, and the owner does not write them
// again before done says that shard has finished.
type splitJob struct {
	_ pad
	// word: generation (32 bits) | end (16) | next (16): the shards in
	// [next, end) are unclaimed.
	word atomic.Uint64
	_    pad
	done atomic.Uint32
	// waiting: the owner is blocked on wake until done reaches total.
	waiting atomic.Bool
	_       pad
	c       *Conference
	phase   int
	total   uint32 // shards of the phase: written with c and phase
	owner   *worker
	wake    chan struct{} // capacity 1
}

// splitSpin is how long an owner whose shards are all taken spins
// (yielding) for the others' last shards before it blocks: about what one
// shard has left on average, so that on an idle machine it rarely blocks,
// while on a loaded one a helper descheduled mid-shard does not make the
// owner burn its core waiting.
const splitSpin = 50 * time.Microsecond

// finished marks one claimed shard done: the last one wakes a blocked
// owner. Whoever ran the shard.
func (j *splitJob) finished() {
	total := j.total // before done moves: the owner may then publish the next phase
	if j.done.Add(1) == total && j.waiting.Load() {
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
}

// wait returns once every shard of the phase is done: the owner spins for
// splitSpin, then blocks until the last helper wakes it. waiting and done
// are sequentially consistent atomics, so either the owner sees done at
// total or the helper that brought it there sees waiting; a token left
// from an earlier phase costs one more look at done.
func (j *splitJob) wait() {
	total := j.total
	if j.done.Load() >= total {
		return
	}
	t0 := Monotonic()
	for j.done.Load() < total && Monotonic()-t0 < splitSpin {
		runtime.Gosched()
	}
	for j.done.Load() < total {
		j.waiting.Store(true)
		if j.done.Load() < total {
			<-j.wake
		}
	}
	j.waiting.Store(false)
}

// splitState is a conference's side: what its shards share. Tick only,
// except the per-shard slots, each written by the goroutine running that
// shard and read by the owner after the barrier.
type splitState struct {
	job  *splitJob // the owner's job while an Engine worker ticks; nil: serial
	at   int       // split from this many participants (EngineConfig.SplitAt)
	size int       // participants per shard
	gen  uint32
	// phases and shards count the passes split and their shards, inPhases
	// the owner's wall time in them (tests and benchmarks read them).
	phases, shards uint64
	inPhases       time.Duration

	// pull: each participant's talk change, by its index in parts, and
	// how many changes each shard saw.
	changes []talkChange
	nchg    []int32

	// fan-out: the listeners to send to and the result of their group's
	// encode, in group order.
	fanning bool
	res     []fanResult
	fan     []fanItem

	// The listeners' pass of sendToGroupsSplit also finds the reports
	// due when rtcp is set: shard k writes the indexes in parts of its
	// due participants to due[k·size:], their count to ndue[k] and the
	// earliest report time of the others to next[k].
	rtcp     bool
	rtcpDone bool // rtcpTick's check is done for this tick
	due      []int32
	ndue     []int32
	next     []time.Duration
}

// fanResult is one group's encoded payload for this tick.
type fanResult struct {
	payload []byte
	ok      bool
	silent  bool
	level   uint8
	noEnc   bool // the group has no encoder: its listeners count an encode error
}

type fanItem struct {
	p   *Participant
	res int32 // index in res
}

// splitting says whether this tick splits a pass over n participants.
func (c *Conference) splitting(n int) bool {
	return c.sh.job != nil && n >= c.sh.at && n >= 2*c.sh.size
}

// shards is how many shards n participants make.
func (c *Conference) shards(n int) int { return (n + c.sh.size - 1) / c.sh.size }

// pullSplit is the pull pass, split: every participant's pop and level in
// shards, then the talk events in participant order, as the serial pass
// emits them.
func (c *Conference) pullSplit(now time.Duration) {
	s := &c.sh
	n := len(c.parts)
	if cap(s.changes) < n {
		s.changes = make([]talkChange, n, 2*n) // on joins only
	}
	s.changes = s.changes[:n]
	shards := c.shards(n)
	if cap(s.nchg) < shards {
		s.nchg = make([]int32, shards, 2*shards)
	}
	s.nchg = s.nchg[:shards]
	c.runSplit(phasePull, shards)
	for k, m := range s.nchg {
		if m == 0 {
			continue
		}
		lo := k * s.size
		for i, ch := range s.changes[lo:min(lo+s.size, n)] {
			if ch != talkSame {
				c.talkEvent(c.parts[lo+i], ch, now)
			}
		}
	}
}

// talkEvent emits p's talk change.
func (c *Conference) talkEvent(p *Participant, ch talkChange, now time.Duration) {
	switch ch {
	case talkStarted:
		c.emit(Event{Type: TalkingStarted, Participant: p.id, At: now, Level: int(p.talk.smooth)})
	case talkStopped:
		c.emit(Event{Type: TalkingStopped, Participant: p.id, At: now, Level: int(p.talk.smooth)})
	}
}

// fanStart begins the group fan-out of a tick: split when the room is
// large enough, in which case fanQueue collects each group's listeners and
// fanRun sends to them all.
func (c *Conference) fanStart() {
	s := &c.sh
	s.fanning = c.splitting(len(c.parts))
	s.res, s.fan = s.res[:0], s.fan[:0]
}

// fanQueue records a group's payload and listeners for fanRun.
func (c *Conference) fanQueue(members []*Participant, payload []byte, ok, silent bool, level uint8) {
	s := &c.sh
	r := int32(len(s.res))
	s.res = append(s.res, fanResult{payload: payload, ok: ok, silent: silent, level: level})
	for _, m := range members {
		s.fan = append(s.fan, fanItem{p: m, res: r}) // grows on joins only
	}
}

// fanRun sends every queued listener its group's packet, split.
func (c *Conference) fanRun() {
	s := &c.sh
	if !s.fanning {
		return
	}
	s.fanning = false
	if len(s.fan) > 0 {
		c.runSplit(phaseFan, c.shards(len(s.fan)))
	}
	// Drop the payload references: they are the chains' buffers, reused.
	clear(s.res)
}

// fanDirect says whether sendToGroupsSplit can serve every group: not
// when one repacketizes (ptime.go), which needs its member list.
func (c *Conference) fanDirect() bool {
	for _, g := range c.groupList {
		if g.chain.repack != nil {
			return false
		}
	}
	return true
}

// sendToGroupsSplit is sendToGroups in a split tick. The owner finds each
// group's first listener (a scan that stops as soon as every group has
// one: in a large room, after a few participants) and encodes each group
// that has one; then one split pass over every participant does what the
// serial code does in two (collect each group's listeners, then send to
// them): each listener is sent its group's packet, and when reports are
// due, each participant's report time is checked in the same pass. Same
// packets, same per-participant order as sendToGroups then rtcpTick.
func (c *Conference) sendToGroupsSplit() {
	acc := c.acc[:c.frame]
	heard := len(c.mixSet) > 0
	s := &c.sh
	need := len(c.groupList)
	for _, g := range c.groupList {
		g.fanFirst, g.fanRes = nil, -1
		g.members = g.members[:0] // unused here: hold no one who left
	}
	for _, p := range c.parts {
		if need == 0 {
			break
		}
		g := p.group
		if g == nil || g.fanFirst != nil || !hearsGroup(p) || p.out.paused {
			continue
		}
		g.fanFirst = p
		need--
	}
	s.res = s.res[:0]
	for _, g := range c.groupList {
		ch := &g.chain
		if g.fanFirst == nil {
			ch.active = false
			continue
		}
		g.fanRes = int32(len(s.res))
		if ch.enc == nil {
			s.res = append(s.res, fanResult{noEnc: true})
			continue
		}
		if !ch.active {
			ch.resume()
		}
		silent := !heard || g.key.deaf
		if !silent {
			ch.limit(acc, nil, g.key.gainOut, c.cfg.DisableLimiter)
		}
		payload, ok, err := ch.encode(len(acc), silent, c.silence)
		if err != nil {
			inc(&g.fanFirst.out.encodeErrors)
		}
		s.res = append(s.res, fanResult{payload: payload, ok: ok, silent: silent, level: outLevel(ch.mix[:len(acc)], silent)})
	}
	// The report check rides along when reports may be due and no
	// request is pending (rtcpTick serves those, emitting events).
	n := len(c.parts)
	shards := c.shards(n)
	s.rtcp = c.now >= c.rtcpDue && !c.rtcpPending.Load()
	if s.rtcp {
		if cap(s.due) < n {
			s.due = make([]int32, n, 2*n) // on joins only
		}
		s.due = s.due[:n]
		if cap(s.ndue) < shards {
			s.ndue = make([]int32, shards, 2*shards)
			s.next = make([]time.Duration, shards, 2*shards)
		}
		s.ndue, s.next = s.ndue[:shards], s.next[:shards]
	}
	c.runSplit(phaseParts, shards)
	clear(s.res) // the chains' buffers, reused
	if s.rtcp {
		s.rtcp = false
		s.rtcpDone = true
		next := never
		for k, m := range s.ndue {
			next = min(next, s.next[k])
			for _, i := range s.due[k*s.size : k*s.size+int(m)] {
				p := c.parts[i]
				c.rtcpReport(p, c.now)
				next = min(next, p.out.rtcpDue)
			}
		}
		c.rtcpDue = next
	}
}

// hearsGroup says whether p hears its group's shared mix this tick.
func hearsGroup(p *Participant) bool {
	return !p.spk.speaker && !p.spk.leaving && !privateNow(p)
}

// rtcpSplit says whether this tick's report check was done by the split
// listeners' pass (sendToGroupsSplit), consuming that.
func (c *Conference) rtcpSplit() bool {
	done := c.sh.rtcpDone
	c.sh.rtcpDone = false
	return done
}

// runShard runs shard k of phase. Any goroutine that claimed it.
func (c *Conference) runShard(phase, k int) {
	s := &c.sh
	lo := k * s.size
	switch phase {
	case phasePull:
		now := c.now
		hi := min(lo+s.size, len(c.parts))
		var m int32
		for i, p := range c.parts[lo:hi] {
			ch := p.talk.update(c.pullLevel(p, now), &c.talkParams)
			s.changes[lo+i] = ch
			if ch != talkSame {
				m++
			}
		}
		s.nchg[k] = m
	case phaseFinish:
		hi := min(lo+s.size, len(c.parts))
		for _, p := range c.parts[lo:hi] {
			if !p.spk.speaker && !p.spk.leaving {
				c.finishInput(p, c.frame)
			}
		}
	case phaseParts:
		hi := min(lo+s.size, len(c.parts))
		now, rtcp := c.now, s.rtcp
		next, m := never, int32(0)
		for i, p := range c.parts[lo:hi] {
			if hearsGroup(p) {
				p.own.active = false // own chain idle: taken over afresh when next used
				if p.out.paused {
					p.out.skip()
				} else if g := p.group; g != nil {
					r := &s.res[g.fanRes]
					if r.noEnc {
						inc(&p.out.encodeErrors)
					} else {
						p.out.send(now, r.payload, r.ok, r.silent, r.level, c.csrc, c.csrcLvl)
					}
				}
			}
			if rtcp {
				if now >= p.out.rtcpDue {
					s.due[lo+int(m)] = int32(lo + i)
					m++
				} else {
					next = min(next, p.out.rtcpDue)
				}
			}
		}
		if rtcp {
			s.ndue[k], s.next[k] = m, next
		}
	case phaseFan:
		hi := min(lo+s.size, len(s.fan))
		for _, it := range s.fan[lo:hi] {
			r := &s.res[it.res]
			it.p.out.send(c.now, r.payload, r.ok, r.silent, r.level, c.csrc, c.csrcLvl)
		}
	}
}

// runSplit publishes phase in shards on the owner's job, wakes the other
// workers, takes shards until none is left and waits for those others
// took. Tick only; no allocation, no lock.
func (c *Conference) runSplit(phase, shards int) {
	s := &c.sh
	s.phases++
	s.shards += uint64(shards)
	t0 := Monotonic()
	defer func() { s.inPhases += Monotonic() - t0 }()
	j := s.job
	j.c, j.phase, j.total = c, phase, uint32(shards)
	j.done.Store(0)
	s.gen++
	w := uint64(s.gen)<<32 | uint64(shards)<<16
	j.word.Store(w)
	j.owner.e.wakeHelpers(j.owner)
	for {
		k, ok := j.claim(false)
		if !ok {
			break
		}
		c.runShard(phase, k)
		j.done.Add(1)
	}
	// Another worker may be finishing a shard it took (a few hundred µs
	// at most, unless the OS descheduled it).
	j.wait()
	j.c = nil
}

// claim takes one of the job's shards still unclaimed, if any: the owner
// from the front, helpers from the back, so that with steady timings each
// worker gets the same participants tick after tick and finds them in its
// cache.
func (j *splitJob) claim(back bool) (int, bool) {
	for {
		w := j.word.Load()
		end, next := int(w>>16&0xffff), int(w&0xffff)
		if next >= end {
			return 0, false
		}
		if back {
			if j.word.CompareAndSwap(w, w-1<<16) {
				return end - 1, true
			}
		} else if j.word.CompareAndSwap(w, w+1) {
			return next, true
		}
	}
}

// wakeHelpers pokes every worker but the owner, without blocking: an idle
// one wakes and helps, a busy one looks at the jobs when it is next
// between ticks.
func (e *Engine) wakeHelpers(owner *worker) {
	for _, w := range e.workers {
		if w != owner {
			w.poke()
		}
	}
}

// help runs other workers' shards while this worker has time: until its
// own next deadline, less one shard's worth of margin. Worker only.
func (w *worker) help(until time.Duration) {
	e := w.e
	if len(e.workers) < 2 || e.cfg.SplitAt < 0 || e.noHelp.Load() {
		return
	}
	clock := e.cfg.Clock
	for {
		took := false
		for _, o := range e.workers {
			if o == w {
				continue
			}
			j := &o.job
			for until < 0 || clock() < until-helpMargin {
				k, ok := j.claim(true)
				if !ok {
					break
				}
				j.c.runShard(j.phase, k)
				j.finished()
				e.helped.Add(1)
				took = true
			}
		}
		if !took {
			return
		}
	}
}

// helpMargin is how much time before its own next tick a worker stops
// taking other rooms' shards: more than a shard takes.
const helpMargin = time.Millisecond

// splitJob returns the job a conference this worker ticks may split on,
// or nil when the Engine never splits.
func (w *worker) splitJob() *splitJob {
	if w.e.cfg.SplitAt < 0 || len(w.e.workers) < 2 {
		return nil
	}
	return &w.job
}

package jitter

import (
	"math"
	"time"
)

// Thresholds of the playout controller.
const (
	// Silence is inserted or removed only when the delay is off target by
	// at least this much, so the cursor does not twitch by microseconds.
	adjustMin = int64(2 * time.Millisecond)
	// A packet that is not known to be quiet is dropped to shrink the delay
	// only when the delay exceeds the target by this much beyond the packet
	// itself (or by one more packet, if longer): in a long talkspurt, or
	// without audio levels, the buffer finds no silence, and a sender clock
	// running fast must still not make the delay grow without bound.
	forceExcessMin = int64(20 * time.Millisecond)
	// Audible drops are spaced by forceInterval, or, when the delay is
	// far too long (a stalled consumer), down to forceIntervalMin: at
	// most a 20% speed-up.
	forceInterval    = int64(250 * time.Millisecond)
	forceIntervalMin = int64(100 * time.Millisecond)
	// The consumer hands slots back to the producer this many at a time,
	// and the producer publishes its tail every tailBatch positions.
	headBatch = 4
	tailBatch = 4
	// After this much concealment in a row the talker is taken to have
	// stopped, and the buffer plays silence (KindGap) instead.
	concealRunMax = 100 * time.Millisecond
)

// Pop returns the next stretch of audio to play, starting at now.
// Consumer goroutine only.
//
// A caller that plays ticks longer than one packet calls Pop repeatedly
// with the same now until the frames' Durations fill the tick; each Pop
// advances the playout cursor by the frame's Duration. KindEmpty (Duration
// 0) means there is nothing to play yet: stop popping for this tick.
// Payload and Next alias buffer memory and stay valid until the next Pop.
func (b *Buffer) Pop(now time.Duration) (f Frame) {
	c := &b.c
	if c.next-c.published >= headBatch {
		// Hand the slots behind the cursor back to the producer only now,
		// so the previous frame's payload stayed valid until this call;
		// and a few at a time, since each store is a locked instruction.
		b.head.Store(c.next)
		c.published = c.next
	}
	t := int64(now)
	if !c.playing && !b.begin(t) {
		return f
	}
	// The frame about to be returned starts playing when the audio handed
	// out before it ends, or now if that has already played: so repeated
	// Pops within one tick, and a frame spilling over into the next tick,
	// are placed where the caller really plays them.
	start := c.outBase + b.ticksToNs(c.outTicks)
	if t >= start {
		c.outBase, c.outTicks, start = t, 0, t
	}
	target := b.target.Load()
	minT := b.minT.Load()
	// Its delay beyond the fastest recent packet is the buffer's delay.
	delay := start - minT - b.ticksToNs(c.playTS)

	// The common case: the packet due is here, right at the cursor, and
	// the delay is close enough to the target that popPacket would play
	// it as it is. Anything else takes the general path below.
	s := &b.ring[c.next&b.mask]
	if s.state.Load() != c.next<<2|stFull || s.ts != c.playTS {
		return b.popSlow(start, target, minT)
	}
	delta := b.nextDelta(s, c.next)
	dur := c.learnt
	if s.dur > 0 {
		dur = int64(s.dur)
	} else if delta > 0 && delta < c.learnt {
		dur = delta
	}
	quiet := b.quiet(s)
	if excess := delay - target; excess > 0 {
		// popPacket's condition for a drop, less the spacing of audible
		// drops, which popSlow checks when it matters.
		durNs, dropAt := c.learntNs, c.dropAt
		if dur != c.learnt {
			durNs = b.ticksToNs(dur)
			dropAt = durNs + durNs/4
		}
		if excess >= dropAt && (quiet || excess-durNs >= c.forceMin || delay > b.maxDelay) {
			return b.popSlow(start, target, minT)
		}
	} else if -excess >= adjustMin && (quiet || !c.talking) {
		return b.popSlow(start, target, minT)
	}
	if delay != c.pubDelay {
		c.pubDelay = delay
		b.delay.Store(delay)
	}
	// The same hand-out as at the end of popPacket, written out: as a
	// shared function (not inlined) it costs 26 more instructions per
	// Pop, 4% of a push+pop (callgrind, BenchmarkPushPop).
	f.Kind = KindPacket
	f.Payload = s.buf[:s.n:s.n]
	f.Timestamp = s.origTS
	f.SequenceNumber = s.origSeq
	f.SSRC = s.ssrc
	f.Marker = s.flags&flagMarker != 0
	f.PayloadType = s.pt
	f.AudioLevel = s.level
	f.Voice = s.flags&flagVoice != 0
	f.Duration = uint32(dur)
	c.playTS = s.ts + dur
	c.outTicks += dur
	c.talking = !quiet
	c.run = 0
	c.held = 0
	c.ssrc, c.pt = s.ssrc, s.pt
	c.tsOff = s.origTS - uint32(s.ts)
	c.seqOff = s.origSeq - uint16(c.next)
	c.next++
	inc(&b.cc.played)
	// learn's common cases; its call comes last, where nothing needs
	// keeping across it. (What it changes is for the frames after this.)
	if s.dur != 0 {
		if int64(s.dur) != c.learnt {
			b.learn(s, delta)
		}
	} else if delta == c.learnt {
		c.candN = 0
	} else if delta != 0 {
		b.learn(s, delta)
	}
	return f
}

// popSlow is Pop's general path: the packet due is missing, late, after a
// gap, or the delay must change.
func (b *Buffer) popSlow(start, target, minT int64) Frame {
	c := &b.c
	for {
		delay := start - minT - b.ticksToNs(c.playTS)
		if delay != c.pubDelay {
			c.pubDelay = delay
			b.delay.Store(delay)
		}
		s := &b.ring[c.next&b.mask]
		if s.state.Load() == c.next<<2|stFull {
			if f, ok := b.popPacket(s, start, delay, target); ok {
				return f
			}
			continue
		}
		if f, ok := b.popMissing(delay, target); ok {
			return f
		}
	}
}

// forceSpacing returns the least playout time between two audible drops
// when the delay exceeds the target by excess ns (beyond the packet).
func forceSpacing(excess int64) int64 {
	const scale = int64(100 * time.Millisecond)
	if excess <= scale {
		return forceInterval
	}
	return max(forceInterval*scale/excess, forceIntervalMin)
}

// begin starts playout once the first packet has waited the target delay.
func (b *Buffer) begin(t int64) bool {
	c := &b.c
	c.tail = b.tail.Load()
	tl := c.tail + tailBatch - 1
	if c.tail == 0 {
		return false
	}
	first := c.next
	for first < tl && !b.present(first) {
		first++
	}
	if first >= tl { // (c.next is past the tail after a restart)
		return false
	}
	target, minT := b.target.Load(), b.minT.Load()
	if t-minT-b.ticksToNs(b.ring[first&b.mask].ts) < target {
		return false
	}
	// If the consumer comes late, start from the newest packet that has
	// waited long enough rather than from seconds back.
	start := first
	for x := first + 1; x < tl; x++ {
		if !b.present(x) {
			continue
		}
		if t-minT-b.ticksToNs(b.ring[x&b.mask].ts) < target {
			break
		}
		start = x
	}
	for x := c.next; x < start; {
		if b.present(x) {
			inc(&b.cc.dropped)
			x++
		} else if b.bury(x) {
			x++
		}
	}
	s := &b.ring[start&b.mask]
	c.next = start
	c.playTS = s.ts
	c.playing = true
	c.ssrc, c.pt = s.ssrc, s.pt
	c.tsOff = s.origTS - uint32(s.ts)
	c.seqOff = s.origSeq - uint16(start)
	b.head.Store(start)
	c.published = start
	return true
}

func (b *Buffer) present(x uint64) bool {
	return b.ring[x&b.mask].state.Load() == x<<2|stFull
}

// bury marks position x, which has not arrived, as given up, so that the
// producer counts it late if it comes after all. It reports false when x
// arrived in the meantime and must be played instead.
func (b *Buffer) bury(x uint64) bool {
	s := &b.ring[x&b.mask]
	for {
		w := s.state.Load()
		if w == x<<2|stFull {
			return false
		}
		if s.state.CompareAndSwap(w, x<<2|stGone) {
			return true
		}
	}
}

// nextDelta returns the timestamp distance from the packet in s at
// position x to the packet after it, or 0 when that one is not here.
func (b *Buffer) nextDelta(s *slot, x uint64) int64 {
	n := &b.ring[(x+1)&b.mask]
	if n.state.Load() != (x+1)<<2|stFull {
		return 0
	}
	return n.ts - s.ts
}

// duration returns the ticks the packet in s covers, given the timestamp
// distance to the next packet (0 if unknown).
func (b *Buffer) duration(s *slot, delta int64) int64 {
	if s.dur > 0 {
		return int64(s.dur)
	}
	if delta > 0 && delta < b.c.learnt {
		return delta // a shorter packet (ptime change) or a trimmed one
	}
	return b.c.learnt
}

// learn updates the packet duration in use from the packet in s, which is
// being played, and the timestamp distance to the next (0 if unknown): a
// given duration is taken at once, a distance once it has been seen twice
// in a row (so one odd gap does not change it).
func (b *Buffer) learn(s *slot, delta int64) {
	c := &b.c
	d := int64(s.dur)
	if d == 0 {
		if delta == 0 {
			return
		}
		d = delta
		if d < 0 || d > b.maxFrameTicks || d == c.learnt {
			c.candN = 0
			return
		}
		if d != c.cand {
			c.cand, c.candN = d, 1
			return
		}
		if c.candN++; c.candN < 2 {
			return
		}
	}
	if d != c.learnt {
		c.learnt, c.tol, c.candN = d, d/4, 0
		c.setLearnt(b.ticksToNs(d))
		b.frameT.Store(d)
	}
}

func (b *Buffer) quiet(s *slot) bool {
	return s.level >= 0 && (s.flags&flagVoice == 0 || s.level >= b.quietLevel)
}

// popPacket handles the packet at the cursor. ok is false when the loop
// must look at the cursor again.
func (b *Buffer) popPacket(s *slot, start, delay, target int64) (Frame, bool) {
	c := &b.c
	delta := b.nextDelta(s, c.next)
	dur := b.duration(s, delta)
	if s.ts+dur <= c.playTS {
		// Its whole stretch has been played (concealed) already.
		inc(&b.cc.late)
		c.next++
		return Frame{}, false
	}
	if gap := s.ts - c.playTS; gap > c.tol {
		return b.silence(gap, delay, target)
	}
	quiet := b.quiet(s)
	if excess := delay - target; excess > 0 {
		durNs := b.ticksToNs(dur)
		// A quiet packet is dropped once the delay exceeds the target by a
		// packet and a quarter: the quarter keeps a hold for a late packet
		// (which adds a whole packet of delay) from being undone at once.
		if excess >= durNs+durNs/4 && (quiet || start-c.forcedAt >= forceSpacing(excess-durNs) &&
			(excess-durNs >= max(b.ticksToNs(c.learnt), forceExcessMin) || delay > b.maxDelay)) {
			// Audible packets go one at a time, spaced out, so that the
			// delay comes down in small steps, never as a flush of speech;
			// quiet ones may go in a row, as silence.
			if !quiet {
				c.forcedAt = start
			}
			inc(&b.cc.dropped)
			c.playTS = s.ts + dur
			c.next++
			return Frame{}, false
		}
	} else if -excess >= adjustMin && (quiet || !c.talking) {
		// Growing: silence before a quiet packet or a talkspurt is unheard.
		return b.insertSilence(-excess), true
	}
	b.learn(s, delta)
	f := Frame{
		Kind:           KindPacket,
		Payload:        s.buf[:s.n:s.n],
		Timestamp:      s.origTS,
		SequenceNumber: s.origSeq,
		SSRC:           s.ssrc,
		Marker:         s.flags&flagMarker != 0,
		PayloadType:    s.pt,
		AudioLevel:     s.level,
		Voice:          s.flags&flagVoice != 0,
		Duration:       uint32(dur),
	}
	c.playTS = s.ts + dur
	c.outTicks += dur
	c.talking = !quiet
	c.run = 0
	c.held = 0
	c.ssrc, c.pt = s.ssrc, s.pt
	c.tsOff = s.origTS - uint32(s.ts)
	c.seqOff = s.origSeq - uint16(c.next)
	c.next++
	inc(&b.cc.played)
	return f, true
}

// popMissing handles a cursor whose packet is not here.
func (b *Buffer) popMissing(delay, target int64) (Frame, bool) {
	c := &b.c
	x := c.next + 1
	for {
		// The producer publishes its tail every few positions, so up to
		// tailBatch−1 more may be stored past it: the slots tell.
		tl := min(c.tail+tailBatch-1, c.next+b.capacity)
		for x < tl && !b.present(x) {
			x++
		}
		if x < tl {
			break
		}
		// Only at the end of what is known to be stored look at the
		// producer's line.
		nt := b.tail.Load()
		if nt == c.tail {
			return b.underrun(delay, target), true
		}
		c.tail = nt
	}
	// A later packet is here, so the ones before it are lost (or late).
	// Place them just before it and give up, without a frame, those whose
	// stretch has already been played while the buffer ran dry.
	later := &b.ring[x&b.mask]
	k := int64(x - c.next)
	ahead := later.ts - c.playTS
	past := k
	if ahead > 0 {
		past = k - (ahead+c.learnt-1)/c.learnt
	}
	// Concealment played while holding the cursor for them stood in for
	// them as well: give them up too and move the cursor on, so a loss is
	// not concealed twice (and the hold does not add to the delay).
	if cover := min(k-max(past, 0), c.held/c.learnt); cover > 0 {
		past = max(past, 0) + cover
		c.playTS += cover * c.learnt
		c.held -= cover * c.learnt
	}
	if past > 0 {
		for ; past > 0; past-- {
			if !b.bury(c.next) {
				return Frame{}, false // it just arrived
			}
			inc(&b.cc.lost)
			c.next++
		}
		return Frame{}, false
	}
	if gap := ahead - k*c.learnt; gap > c.tol {
		// Silence (DTX) before the missing packets.
		return b.silence(gap, delay, target)
	}
	if c.talking && delay < target-adjustMin && c.run < b.nsToTicks(int64(concealRunMax)) {
		// Growing anyway: wait a frame, the packet may still come.
		c.held += c.learnt
		return b.conceal(false), true
	}
	if !b.bury(c.next) {
		return Frame{}, false
	}
	inc(&b.cc.lost)
	dur := min(c.learnt, max(ahead, 1))
	f := b.filler(KindLost, dur)
	if x == c.next+1 {
		f.NextAvailable = true
		f.Next = later.buf[:later.n:later.n]
	}
	c.playTS += dur
	c.outTicks += dur
	c.run += dur
	c.next++
	return f, true
}

// underrun plays through a cursor with nothing buffered after it.
func (b *Buffer) underrun(delay, target int64) Frame {
	c := &b.c
	if nb := b.beyond.Load(); nb >= c.next+b.capacity {
		return b.restart(nb)
	}
	// Nothing is known about the packet due: it may be late (a delay
	// spike, a longer route) or lost, or the sender may have paused.
	// Hold the cursor, growing the delay, up to MaxDelay: a late packet
	// then still plays when it comes; if a later one comes instead, the
	// concealment played meanwhile stands in for the missing ones (see
	// popMissing); after a pause, the silence is skipped again before the
	// next talkspurt. Past MaxDelay, keep time.
	hold := delay < b.maxDelay
	if c.talking && c.run < b.nsToTicks(int64(concealRunMax)) {
		if hold {
			c.held += c.learnt
		}
		return b.conceal(!hold)
	}
	c.talking = false
	if hold {
		f := b.insertSilence(max(target-delay, b.ticksToNs(c.learnt)))
		c.held += int64(f.Duration)
		return f
	}
	f := b.filler(KindGap, c.learnt)
	c.playTS += c.learnt
	c.outTicks += c.learnt
	return f
}

// restart starts playout over from position nb, the one after the newest
// the producer refused as overflow (nb ≥ cursor + Capacity). It is for a
// consumer stranded behind the ring: after a stall longer than the ring
// holds, the packet at the cursor was refused for want of room, and so is
// every packet after it, since the producer stores only up to Capacity
// positions past the consumer's head, which waits at the cursor. Nothing
// from the cursor on was stored when the caller looked; the positions the
// producer could still fill (those within Capacity of the head it last
// saw) are given up as bury does, a straggler stored meanwhile counted as
// dropped, and later ones are refused as late. Playout begins again as at
// the start (begin), once a packet has waited the target delay; until
// then Pop returns KindEmpty, as it does now.
func (b *Buffer) restart(nb uint64) Frame {
	c := &b.c
	for x := c.next; x < c.next+b.capacity; x++ {
		if !b.bury(x) {
			inc(&b.cc.dropped)
		}
	}
	c.playing = false
	c.next, c.published = nb, nb
	c.run, c.held = 0, 0
	b.head.Store(nb)
	return Frame{}
}

// conceal returns a KindConceal frame of one packet duration, moving the
// cursor on when advance is set (holding it grows the delay).
func (b *Buffer) conceal(advance bool) Frame {
	c := &b.c
	f := b.filler(KindConceal, c.learnt)
	if advance {
		c.playTS += c.learnt
	}
	c.outTicks += c.learnt
	c.run += c.learnt
	inc(&b.cc.concealed)
	return f
}

// silence handles a timestamp gap of gap ticks before the cursor's packet:
// there the delay can be moved freely, so it is set to the target.
func (b *Buffer) silence(gap, delay, target int64) (Frame, bool) {
	c := &b.c
	c.talking = false
	c.run = 0
	if excess := delay - target; excess >= adjustMin {
		skip := min(gap, b.nsToTicks(excess))
		c.playTS += skip
		add(&b.cc.removed, uint64(skip))
		if gap -= skip; gap <= c.tol {
			return Frame{}, false
		}
		delay -= b.ticksToNs(skip)
	}
	if target-delay >= adjustMin {
		return b.insertSilence(target - delay), true
	}
	dur := min(gap, c.learnt)
	f := b.filler(KindGap, dur)
	c.playTS += dur
	c.outTicks += dur
	return f, true
}

// insertSilence returns a KindGap frame that does not move the cursor,
// growing the delay by up to deficit ns (at most one packet duration).
func (b *Buffer) insertSilence(deficit int64) Frame {
	c := &b.c
	dur := max(min(c.learnt, b.nsToTicks(deficit)), 1)
	c.outTicks += dur
	add(&b.cc.inserted, uint64(dur))
	return b.filler(KindGap, dur)
}

// filler builds a frame that is not a packet, numbered from the last
// packet played.
func (b *Buffer) filler(k Kind, dur int64) Frame {
	c := &b.c
	f := Frame{
		Kind:           k,
		Timestamp:      uint32(c.playTS) + c.tsOff,
		SequenceNumber: uint16(c.next) + c.seqOff,
		SSRC:           c.ssrc,
		PayloadType:    c.pt,
		AudioLevel:     -1,
		Duration:       uint32(dur),
	}
	if k == KindGap {
		f.AudioLevel = 127
	}
	return f
}

// Stats returns a snapshot of the counters. Any goroutine.
func (b *Buffer) Stats() Stats {
	var s Stats
	// Consumer counters first: whatever they count was stored before, so
	// reading the producer's afterwards keeps Buffered from going negative.
	s.Played = b.cc.played.Load()
	s.Lost = b.cc.lost.Load()
	lateC := b.cc.late.Load()
	s.Concealed = b.cc.concealed.Load()
	s.Dropped = b.cc.dropped.Load()
	inserted := b.cc.inserted.Load()
	removed := b.cc.removed.Load()
	consumed := s.Played + lateC + s.Dropped

	// Every Push ends in exactly one of: stored, refused (late, duplicate,
	// overflow, invalid) or held pending; so stored needs no counter.
	s.Received = b.pc.received.Load()
	lateP := b.pc.late.Load()
	s.Duplicate = b.pc.duplicate.Load()
	s.Reordered = b.pc.reordered.Load()
	s.Overflow = b.pc.overflow.Load()
	s.Invalid = b.pc.invalid.Load()
	s.Resyncs = b.pc.resyncs.Load()
	pending := b.pc.pending.Load()
	s.Late = lateP + lateC
	refused := lateP + s.Duplicate + s.Overflow + s.Invalid + pending
	if s.Received > refused {
		stored := s.Received - refused
		if stored > consumed {
			s.Buffered = stored - consumed
		}
	}
	s.Buffered += pending

	s.SilenceInserted = time.Duration(b.ticksToNs(int64(inserted)))
	s.SilenceRemoved = time.Duration(b.ticksToNs(int64(removed)))
	j := float64(b.jitter.Load()) / 16 // ns
	s.Jitter = uint32(j * b.ticksPerNs)
	s.JitterDuration = time.Duration(j)
	s.Delay = time.Duration(b.delay.Load())
	s.TargetDelay = time.Duration(b.target.Load())
	s.FrameDuration = time.Duration(b.ticksToNs(b.frameT.Load()))
	s.ClockDrift = math.Float64frombits(b.drift.Load())
	return s
}

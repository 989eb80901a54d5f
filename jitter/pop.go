package jitter

import (
	"math"
	"time"
)

// Thresholds of the playout controller.
const (
	// A packet that is not known to be quiet is dropped to shrink the delay
	// only when the delay exceeds the target by this much beyond the packet
	// itself (or by one more packet, if longer): in a long talkspurt, or
	// without audio levels, the buffer finds no silence, and a sender clock
	// running fast must still not make the delay grow without bound.
	forceExcessMin = int64(20 * time.Millisecond)
	// For a caller that time-scales (see stretching), which sheds small
	// excesses unheard, only beyond this much.
	forceStretchMin = int64(100 * time.Millisecond)
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
	// stopped, and the buffer plays silence (KindGap) instead; sooner when
	// the packet is overdue by overdueMax and nothing is known of the
	// talker's habits (see underrun).
	concealRunMax = 100 * time.Millisecond
	overdueMax    = int64(40 * time.Millisecond)

	// Time-scaling requests (Frame.Stretch; see stretch). A request leaves
	// stretchMargin of lead so that a late tick or a caller that takes a
	// little more does not cost a tick of delay; shortenings below
	// stretchMin are not asked for, and lengthenings are asked for at
	// least lengthenMin (a time-scaler changes speech a pitch period at a
	// time, and the slack stays negative until the change is complete).
	// For stretchHold after the delay had to grow, a whole tick is taken
	// off only with stretchHyst to spare, so that a target moving across
	// a tick boundary does not make the delay swing. Requests may add up
	// to a quarter of the audio played (NetEq's accelerate and preemptive
	// expand run at about that rate), at most stretchBurst at once, which
	// admits one pitch period of any voice.
	stretchMargin = int64(500 * time.Microsecond)
	stretchMin    = int64(time.Millisecond)
	lengthenMin   = int64(10 * time.Millisecond)
	stretchHyst   = int64(5 * time.Millisecond)
	stretchHold   = int64(2 * time.Second)
	stretchBurst  = int64(15 * time.Millisecond)
	// A source counts as bursty this long after its last burst.
	burstyFor = int64(30 * time.Second)
	// While more than burstDipAhead of a bursty source's audio is
	// buffered past the cursor, and once the burstDipNear packets after
	// it are all here, its frames play a tick earlier (see burstDip).
	burstDipAhead = int64(500 * time.Millisecond)
	burstDipNear  = 16
	// A caller that has left this many requests of lengthenMin or more
	// in a row unanswered does not time-scale (it may never have: every
	// caller counts as one that does until then).
	stretchIgnored = 16

	// The caller's tick is learnt from the intervals between the times
	// it pops at, at most maxTick; an interval off by more than a quarter
	// is taken only when it repeats (one skipped tick does not change it).
	// Intervals under minTick are a caller catching up after a stall (an
	// Engine ticks back to back then), not its tick: no ptime is that short.
	minTick   = int64(time.Millisecond)
	maxTick   = int64(200 * time.Millisecond)
	tickGrain = int64(100 * time.Microsecond)
)

// Pop returns the next stretch of audio to play, starting at now.
// Consumer goroutine only.
//
// A caller that plays ticks longer than one packet calls Pop repeatedly
// with the same now until the frames' Durations fill the tick; each Pop
// advances the playout cursor by the frame's Duration. KindEmpty (Duration
// 0) means there is nothing to play yet: stop popping for this tick.
// Payload and Next alias buffer memory and stay valid until the next Pop.
//
// now is the time of the caller's tick: the deadline for the packet the
// frame needs. The audio may start later (after what earlier frames left
// over), and the buffer keeps track of that; frame Stretch requests and the
// caller's Stretched reports keep it exact.
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
	prev := c.now
	if t != prev {
		if t-prev == c.tickAvg && c.tickCand == 0 {
			c.now = t // clock's common case: nothing else changes
		} else {
			b.clock(t)
		}
	}
	if !c.playing && !b.begin(t, prev) {
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
	if t-b.burst.Load() < burstyFor {
		target = b.burstDip(target)
	}

	// The common case: the packet due is here, right at the cursor, and
	// popPacket would play it as it is. Anything else takes the general
	// path below.
	s := &b.ring[c.next&b.mask]
	if s.state.Load() != c.next<<2|stFull || s.ts != c.playTS {
		return b.popSlow(t, start, target, minT)
	}
	delta := b.nextDelta(s, c.next)
	dur := c.learnt
	if s.dur > 0 {
		dur = int64(s.dur)
	} else if delta > 0 && delta < c.learnt {
		dur = delta
	}
	durNs, dropAt := c.learntNs, c.dropAt
	if dur != c.learnt {
		durNs = b.ticksToNs(dur)
		dropAt = durNs + durNs/4
	}
	quiet := s.flags&flagQuiet != 0
	// The frame's slack (how far beyond the target its packet's deadline,
	// now, lies) and lead (how long after now its audio starts): see the
	// delay controller below.
	lead := start - t
	slack := t - minT - b.ticksToNs(c.playTS) - target
	// popPacket's conditions for a drop or an insertion, less the spacing
	// of audible drops, which popSlow checks when it matters.
	w := b.worst(slack, lead, durNs)
	drop := w >= dropAt && c.held == 0 &&
		(quiet && b.mayDropQuiet(w-dropAt) || w-durNs >= c.forceMin && (w-durNs >= forceStretchMin || !b.stretching()) && !b.bursty(t) || slack+target+lead > b.maxDelay)
	if drop || w < 0 && (quiet || !c.talking) {
		return b.popSlow(t, start, target, minT)
	}
	if delay := slack + target + lead; delay != c.pubDelay {
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
	if lead < stretchMargin+stretchMin && durNs == c.tick && slack >= 0 && slack < durNs {
		// stretch's common case: the next frame starts this close to
		// the next tick, with the same slack, less than a tick: nothing
		// to ask for.
		c.credit = min(c.credit+durNs>>2, stretchBurst)
		c.sinceGrow += durNs
		c.sinceShrink += durNs
	} else {
		f.Stretch = time.Duration(b.stretch(slack, lead, durNs, b.maxDelay-slack-target-lead, quiet))
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
func (b *Buffer) popSlow(t, start, target, minT int64) Frame {
	c := &b.c
	for {
		dd := t - minT - b.ticksToNs(c.playTS)
		if delay := dd + start - t; delay != c.pubDelay {
			c.pubDelay = delay
			b.delay.Store(delay)
		}
		s := &b.ring[c.next&b.mask]
		if s.state.Load() == c.next<<2|stFull {
			if f, ok := b.popPacket(s, t, start, dd-target, target); ok {
				return f
			}
			continue
		}
		if f, ok := b.popMissing(t, start, dd-target, target); ok {
			return f
		}
	}
}

// clock learns the caller's tick from the time of a Pop at a new now.
// A real clock's ticks wobble: the interval is averaged, and the tick in
// use is the average to tickGrain, so that it stays put (and Pop's common
// case holds) while the average wobbles.
func (b *Buffer) clock(t int64) {
	c := &b.c
	iv := t - c.now
	c.now = t
	if iv < minTick || iv > maxTick {
		return
	}
	if d := iv - c.tickAvg; d < c.tickAvg/4 && -d < c.tickAvg/4 {
		c.tickAvg += d / 8
		c.tickCand = 0
	} else if d := iv - c.tickCand; d < iv/8 && -d < iv/8 {
		c.tickAvg, c.tickCand = iv, 0 // seen twice: the tick changed
	} else {
		c.tickCand = iv
		return
	}
	c.tick = (c.tickAvg + tickGrain/2) / tickGrain * tickGrain
}

// The delay controller. Every decision is about a frame's slack: the
// time from its packet's arrival deadline (the now of the Pop that
// returns it) back to the target, that is t − minT − its timestamp −
// target; and its lead: how long after that Pop its audio starts (the
// audio handed out before it). A packet arrives in time when its slack is
// not negative; the delay the listener hears is target + slack + lead.
//
// Slack changes only in steps: the caller pops at its ticks, so dropping
// or adding audio moves a frame's pop to an earlier or later tick (slack
// −/+ one tick) only when the lead it pushes ahead of itself crosses a tick
// boundary. Up to then a change moves the lead alone. So the best playout
// has the least slack that is not negative, on that grid, and no lead:
// exactly the fixed-delay player that ticks like the caller. With several
// frames per tick (packets shorter than the tick), the last one of each
// tick has the least slack, and the grid step is the packet duration.

// worst returns the slack of the frame of durNs that is popped last in the
// tick where one frame of durNs has slack and lead.
func (b *Buffer) worst(slack, lead, durNs int64) int64 {
	if tau := b.c.tick; durNs < tau && lead < tau {
		return slack - durNs*((tau-1-lead)/durNs)
	}
	return slack
}

// adjust returns how much to lengthen (positive) or shorten (negative)
// the audio before a frame of durNs with slack and lead so that its slack
// in its tick is the least that is not negative, with stretchMargin of
// lead: positive whenever that slack is negative, 0 when less than
// stretchMin would be taken off.
func (b *Buffer) adjust(slack, lead, durNs int64) int64 {
	tau := b.c.tick
	g := tau // the grid step of the worst slack
	worstLead, free := lead, lead
	if durNs < tau && lead < tau {
		g = durNs
		worstLead = lead + durNs*((tau-1-lead)/durNs)
		free = lead % durNs
	}
	worst := slack - (worstLead - lead)
	if worst < 0 {
		// Move the worst frame to the next tick, and on by more steps.
		steps := (-worst + g - 1) / g
		return tau - worstLead + (steps-1)*g + stretchMargin
	}
	x := free - stretchMargin
	if worst >= g {
		worst -= b.shrinkHyst()
		if worst >= 2*g {
			x += g * (worst / g)
		} else if worst >= g {
			x += g
		}
	}
	if x < stretchMin {
		return 0
	}
	return -x
}

// stretch returns the time-scaling request for a packet frame of durNs
// with slack and lead, about to be handed out: the adjustment for the
// frame after it, bounded by the credit (not for a quiet frame, whose
// audio can change by any amount unheard), and a lengthening by room, what
// is left of MaxDelay.
func (b *Buffer) stretch(slack, lead, durNs, room int64, quiet bool) int64 {
	c := &b.c
	c.credit = min(c.credit+durNs>>2, stretchBurst)
	c.sinceGrow += durNs
	c.sinceShrink += durNs
	// The next frame starts where this one ends: k ticks later.
	tau := c.tick
	end := lead + durNs
	k := int64(0)
	if end >= 2*tau {
		k = end / tau
	} else if end >= tau {
		k = 1
	}
	r := b.adjust(slack+k*tau-durNs, end-k*tau, durNs)
	if r > 0 {
		c.sinceGrow = 0
		r = max(min(max(r, lengthenMin), room), 0)
	} else if r <= -tau/2 {
		c.sinceShrink = 0
	}
	limit := max(c.credit, 0) // (a caller may have changed more than asked)
	if quiet {
		limit = max(limit, durNs)
	}
	// Only a request a time-scaler could have met (one pitch period of
	// any voice) counts towards taking the caller for one that does not
	// time-scale.
	if r = min(max(r, -limit), limit); (r >= lengthenMin || r <= -lengthenMin) && c.asked < stretchIgnored {
		c.asked++
	}
	return r
}

// burstDip returns the target a bursty source's frames are played
// against, for a caller that time-scales: a tick less (and the
// hysteresis a shortening by a whole tick needs) while the buffer holds
// more than burstDipAhead of audio past the cursor, and the target
// otherwise.
//
// A source that sends faster than real time (a text-to-speech engine, a
// file player, a sender catching up) needs the target's margin for the
// first packet of each burst only, the one it sends at its own pace: the
// rest of the burst comes seconds ahead of its playout. Keeping the
// margin through the burst, as for a real-time sender, keeps all of its
// audio that much late, when the margin is most of the delay (a few
// times the path's jitter, and on the caller's tick grid up to a tick
// more where it crosses a tick). So while the burst's audio is buffered
// the delay is a tick shorter (the time-scaler takes it off a pitch
// period at a time), and it is lengthened back as the buffered audio
// runs down to burstDipAhead, well before the next first packet is due
// (at a quarter of the audio played, a tick takes 80 ms of it): on the
// scenario of issue 12, 5 s of audio in 200 ms every 5 s, 0.8–1.6% of
// the audio is time-scaled, and the mean delay falls from 1.0–1.8 times
// the trace's oracle to 0.5–1.2 (TestScenarios), with nothing lost.
//
// The dip begins only once the burstDipNear packets after the cursor are
// all here: at the start of a burst its packets arrive out of order over
// the path's jitter (0.8 ms apart, with 5 ms of jitter), and a delay
// shortened at once made the next ones late (3 traces in 20 lost or
// concealed one). A caller that does not time-scale would have to drop
// and repeat whole frames for it: not for that one.
func (b *Buffer) burstDip(target int64) int64 {
	c := &b.c
	if !b.stretching() {
		return target
	}
	ahead := int64(b.tail.Load()-c.next) * c.learntNs
	if ahead <= burstDipAhead {
		c.dipping = false
		return target
	}
	if !c.dipping {
		// Not while the packets right after the cursor are still on
		// their way: at the start of a burst its packets arrive out of
		// order, over the path's jitter.
		for x := c.next; x < c.next+burstDipNear; x++ {
			if !b.present(x) {
				return target
			}
		}
		c.dipping = true
	}
	return target - c.tick - stretchHyst
}

// stretching reports whether the caller time-scales: it has not left
// stretchIgnored requests in a row unanswered.
func (b *Buffer) stretching() bool { return b.c.asked < stretchIgnored }

// forceSpacing returns the least playout time between two audible drops
// when the delay exceeds the target by excess ns (beyond the packet).
func forceSpacing(excess int64) int64 {
	const scale = int64(100 * time.Millisecond)
	if excess <= scale {
		return forceInterval
	}
	return max(forceInterval*scale/excess, forceIntervalMin)
}

// begin starts playout once the first packet has waited the target delay,
// both by the estimator's reference and since it arrived (before the
// estimator has measured a batch, the reference is the first packet to
// arrive, which may not be the first in order). prev is the time of the
// Pop before.
func (b *Buffer) begin(t, prev int64) bool {
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
	if fs := &b.ring[first&b.mask]; t-minT-b.ticksToNs(fs.ts) < target || waited(t, fs) < target {
		return false
	}
	// If the consumer comes late (its first Pop, or the first after a
	// long pause), start from the newest packet that has waited long
	// enough rather than from seconds back: skip those it would have
	// played by now, but never one still due in the future of the playout
	// it would have had, nor one that has not itself waited the target
	// since it arrived (a source sending faster than real time delivers
	// seconds of audio at once: all of it is to be played).
	start := first
	for x := first + 1; x < tl && (prev == math.MinInt64 || t-prev > maxTick); x++ {
		if !b.present(x) {
			continue
		}
		if s := &b.ring[x&b.mask]; t-minT-b.ticksToNs(s.ts) < target || waited(t, s) < target {
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

// waited returns how long ago, as of t, the packet in s arrived, rounded
// up to 2^arrShift ns.
func waited(t int64, s *slot) int64 {
	return int64(int32(uint32(t>>arrShift)-s.arr)+1) << arrShift
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

// popPacket handles the packet at the cursor, whose slack is slack against
// target (t is the Pop's now, start when its audio would start). ok is
// false when the loop must look at the cursor again.
func (b *Buffer) popPacket(s *slot, t, start, slack, target int64) (Frame, bool) {
	c := &b.c
	delta := b.nextDelta(s, c.next)
	dur := b.duration(s, delta)
	if s.ts+dur <= c.playTS {
		// Its whole stretch has been played (concealed) already.
		inc(&b.cc.late)
		c.next++
		return Frame{}, false
	}
	lead := start - t
	if gap := s.ts - c.playTS; gap > c.tol {
		c.countPause()
		return b.gap(gap, slack, lead, b.ticksToNs(dur))
	}
	quiet := s.flags&flagQuiet != 0
	durNs := b.ticksToNs(dur)
	w := b.worst(slack, lead, durNs)
	// A quiet packet is dropped once its frame would still be in time
	// without it, with a quarter of a packet to spare (which keeps a hold
	// for a late packet from being undone at once; for a caller that
	// time-scales, the hysteresis too: see mayDropQuiet); an audible one only
	// with more to spare, one at a time, spaced out, so that the delay
	// comes down in small steps, never as a flush of speech. Never the
	// packet the buffer just held the cursor for.
	if c.held == 0 && w >= durNs+durNs/4 && (quiet && b.mayDropQuiet(w-durNs-durNs/4) || b.mayForce(start, w-durNs, slack+target+lead)) {
		if !quiet {
			c.forcedAt = start
		}
		inc(&b.cc.dropped)
		c.playTS = s.ts + dur
		c.next++
		return Frame{}, false
	}
	room := b.maxDelay - slack - target - lead // up to MaxDelay
	if w < 0 && (quiet || !c.talking) {
		// Growing: silence before a quiet packet or a talkspurt is unheard.
		if y := min(b.adjust(slack, lead, durNs), room); y > 0 {
			return b.insertSilence(y), true
		}
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
		Stretch:        time.Duration(b.stretch(slack, lead, durNs, room, quiet)),
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

// mayDropQuiet reports whether a quiet packet may be dropped when its
// frame would be in time without it with spare ns beyond the quarter
// packet: for a caller that time-scales, only beyond the hysteresis its
// shortenings keep for the jitter (jitterHyst), or the drop would undo a
// delay the time-scaling keeps on purpose.
func (b *Buffer) mayDropQuiet(spare int64) bool {
	return !b.stretching() || spare >= b.jitterHyst()
}

// shrinkHyst returns how much slack beyond a whole grid step a frame must
// have before the delay is taken down by that step: stretchHyst for
// stretchHold after the delay grew, and jitterHyst when that is more.
func (b *Buffer) shrinkHyst() int64 {
	h := b.jitterHyst()
	if b.c.sinceGrow < stretchHold {
		h = max(h, stretchHyst)
	}
	return h
}

// jitterHyst is shrinkHyst's part for the jitter: half the RFC 3550
// jitter, where that is at least stretchHyst. The reference transit is
// the least of a window of packets: it falls by a fair part of the jitter
// when a fast packet comes and rises again when that leaves the window,
// and the target follows within about a second. With 30 ms of normal
// jitter (LTE) chasing that made the delay swing: 0.9 s a minute of
// time-scaling that netted nothing, audibly (mixer's
// TestPlayoutListening). With a few ms of jitter the reference is steady,
// and a band would only keep the delay a tick long. (Not a share of the
// target, which stays high for seconds after a delay spike, and would
// hold the delay up with it.) Not for a bursty source, whose reference
// is measured from the few packets it sends at its own pace.
func (b *Buffer) jitterHyst() int64 {
	h := int64(b.jitter.Load() / (16 * 2))
	if h < stretchHyst || b.bursty(b.c.now) {
		// (A bursty source's early packets make the RFC 3550 jitter
		// meaningless.)
		return 0
	}
	return h
}

// mayForce reports whether an audible packet may be dropped at output
// time start, when without it the frame would still have excess slack to
// spare, and the delay is delay (target included: the target the slack
// was measured against, which a bursty source's dip lowers).
func (b *Buffer) mayForce(start, excess, delay int64) bool {
	c := &b.c
	least := c.forceMin
	if b.stretching() {
		least = max(least, forceStretchMin)
	}
	return start-c.forcedAt >= forceSpacing(excess) && (excess >= least && !b.bursty(c.now) || delay > b.maxDelay)
}

// bursty reports whether, as of t, the source has lately sent faster than
// real time (see earlyRun): a text-to-speech engine or a file player,
// whose audio is not dropped to shorten the delay, short of MaxDelay.
func (b *Buffer) bursty(t int64) bool { return t-b.burst.Load() < burstyFor }

// countPause and countLoss keep the recent counts of pauses and losses,
// halving both now and then so that they follow the stream's habits.
func (c *consumer) countPause() {
	if c.pauses++; c.pauses+c.losses >= 64 {
		c.pauses, c.losses = c.pauses/2, c.losses/2
	}
}

func (c *consumer) countLoss() {
	if c.losses++; c.pauses+c.losses >= 64 {
		c.pauses, c.losses = c.pauses/2, c.losses/2
	}
}

// popMissing handles a cursor whose packet is not here, with slack
// against target.
func (b *Buffer) popMissing(t, start, slack, target int64) (Frame, bool) {
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
			return b.underrun(t, start, slack, target), true
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
			c.countLoss()
			c.next++
		}
		return Frame{}, false
	}
	lead := start - t
	if gap := ahead - k*c.learnt; gap > c.tol {
		// Silence (DTX) before the missing packets.
		return b.gap(gap, slack, lead, c.learntNs)
	}
	if !c.talking && later.flags&flagQuiet != 0 {
		// Lost in a pause: the talker was quiet before them and is
		// after. Silence stands in for them, as for a DTX pause (and is
		// skipped as that is when the delay allows), rather than
		// concealment: the decoder's concealment of background noise
		// is no better, and counts as concealment of speech.
		for ; c.next < x; c.next++ {
			if !b.bury(c.next) {
				return Frame{}, false // it just arrived
			}
			inc(&b.cc.lost)
			c.countLoss()
		}
		return b.gap(ahead, slack, lead, c.learntNs)
	}
	if c.talking && slack < 0 && c.run < b.nsToTicks(int64(concealRunMax)) {
		// Not due yet by the target: wait a frame, the packet may still
		// come.
		c.held += c.learnt
		return b.conceal(false), true
	}
	if !b.bury(c.next) {
		return Frame{}, false
	}
	inc(&b.cc.lost)
	c.countLoss()
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
func (b *Buffer) underrun(t, start, slack, target int64) Frame {
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
	//
	// While the packet is not due by the target, conceal: it is most
	// likely on its way. Past that, conceal only if this talker loses
	// packets far more often than it pauses without a word (no DTX or
	// comfort noise packet, no level: a voice-activity detector that just
	// stops sending); otherwise it has most likely paused, and silence is
	// what it sent. (Guessing wrong costs little either way: the cursor is
	// held, so a late packet still plays; a lost one is heard as silence
	// rather than concealment.) Before the talker has done either, hedge:
	// conceal for overdueMax past the deadline (a lost packet or two),
	// then play silence.
	lead := start - t
	hold := slack+b.c.learntNs < b.maxDelay-target-lead
	if c.talking && c.run < b.nsToTicks(int64(concealRunMax)) &&
		(slack < 0 || 2*c.pauses < c.losses || c.pauses == 0 && c.losses == 0 && slack < overdueMax) {
		if hold {
			c.held += c.learnt
		}
		return b.conceal(!hold)
	}
	c.talking = false
	fill := b.toTick(lead)
	if hold {
		c.outTicks += fill
		c.held += fill
		add(&b.cc.inserted, uint64(fill))
		return b.filler(KindGap, fill)
	}
	f := b.filler(KindGap, fill)
	c.playTS += fill
	c.outTicks += fill
	return f
}

// toTick returns the ticks of silence that take the audio handed out, lead
// ns past this Pop, to the caller's next tick: what a silence frame
// should last so that the next frame starts right at a tick.
func (b *Buffer) toTick(lead int64) int64 {
	c := &b.c
	// Rounded up: a frame a fraction of a tick short would leave the
	// caller popping again for the rest.
	return min(max(int64(math.Ceil(float64(c.tick-lead)*b.ticksPerNs)), 1), c.learnt)
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

// gap handles a timestamp gap of gap ticks (silence) before the packet
// due next, a frame of durNs with slack (at the cursor, before the gap)
// and lead. Over silence the delay moves freely: the packet is popped at
// the first tick where it is in time by the target, and the silence before
// it is played until then, skipped or stretched as that needs.
func (b *Buffer) gap(gap, slack, lead, durNs int64) (Frame, bool) {
	c := &b.c
	c.talking = false
	c.run = 0
	y := b.adjust(slack-b.ticksToNs(gap), lead, durNs)
	if y <= 0 {
		// Due now: skip what is left of the silence.
		c.playTS += gap
		add(&b.cc.removed, uint64(gap))
		return Frame{}, false
	}
	// Not yet: play silence until the next tick, or less if that is
	// enough; over the gap where it lasts, then added to it.
	fill := min(max(int64(math.Ceil(float64(y)*b.ticksPerNs)), 1), b.toTick(lead))
	f := b.filler(KindGap, fill)
	adv := min(fill, gap)
	c.playTS += adv
	c.outTicks += fill
	if fill > adv {
		add(&b.cc.inserted, uint64(fill-adv))
	}
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
	s.Lengthened = time.Duration(b.cc.lengthened.Load())
	s.Shortened = time.Duration(b.cc.shortened.Load())
	j := float64(b.jitter.Load()) / 16 // ns
	s.Jitter = uint32(j * b.ticksPerNs)
	s.JitterDuration = time.Duration(j)
	s.Delay = time.Duration(b.delay.Load())
	s.TargetDelay = time.Duration(b.target.Load())
	s.FrameDuration = time.Duration(b.ticksToNs(b.frameT.Load()))
	s.ClockDrift = math.Float64frombits(b.drift.Load())
	return s
}

// Stretched reports that the consumer played the audio d longer
// (positive) or shorter (negative) than the Durations of the frames Pop
// gave it, in answer to Frame.Stretch or on its own (it dropped or
// repeated audio). Consumer goroutine only, after the Pop whose frame it
// changed and before the next.
func (b *Buffer) Stretched(d time.Duration) {
	c := &b.c
	if d == 0 {
		return
	}
	c.outBase += int64(d)
	c.credit = max(c.credit-int64(d.Abs()), -stretchBurst)
	c.asked = 0
	if d > 0 {
		add(&b.cc.lengthened, uint64(d))
	} else {
		add(&b.cc.shortened, uint64(-d))
	}
}

// Ready reports whether the next Pop would hand out a packet that is here
// now (or the silence before it), rather than conceal or wait for one.
// Consumer goroutine only.
//
// A caller that pops a frame beyond the tick it needs, to have audio to
// time-scale, asks first: popping ahead for a packet still on its way
// would conceal for it, and the concealment would add a frame of delay
// that the buffer then takes out again, over and over (heard as a warble
// on steady tones).
func (b *Buffer) Ready() bool {
	c := &b.c
	return c.playing && b.ring[c.next&b.mask].state.Load() == c.next<<2|stFull
}

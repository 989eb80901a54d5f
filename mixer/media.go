package mixer

import (
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
)

// endpoints is a conference's side of its application endpoints: the
// Sources that play PCM into it, the Taps that take PCM (or packets) out,
// the join and leave tones, and the media clock that stamps what taps
// take. Sources take part in the tick as participants do (their shell
// Participant is in speakers and mixSet, never in parts); taps read what
// the tick made.
//
// Ownership: sources and taps (the live ones, so that Close reaches
// them) are under the conference's mu; everything else is the tick's.
type endpoints struct {
	sources map[*Source]struct{}
	taps    map[*Tap]struct{}

	srcs    []*Source
	tapList []*Tap
	// private lists the participants that hear a whisper this tick: they
	// are encoded on their own chain, from attached.acc.
	private []*Participant
	// srcTalk is the conference's talk detection without the start delay:
	// a source's first word is meant to be heard.
	srcTalk talkParams
	clock   mediaClock
	at      time.Duration // this tick's media time
	zeros   []int16       // maxFrame of silence
	tones   tones

	// The room's mix for TapMix taps, limited as a listener's is, made
	// at most once a tick.
	room     []int16
	roomLim  pcm.Limiter
	roomRate int
}

// init prepares the endpoints of a new conference (before it is shared).
func (e *endpoints) init(c *Conference) error {
	e.sources = make(map[*Source]struct{})
	e.taps = make(map[*Tap]struct{})
	e.srcTalk = c.talkParams
	e.srcTalk.startDelay = 0
	e.zeros = make([]int16, maxFrame)
	return e.tones.init(c)
}

// attached is what a participant has of the endpoints: the sources
// whispering to it, the taps of it, and this tick's private mix.
// Allocated by AddSource or AddTap (the caller's goroutine) and handed to
// the tick, which owns it.
type attached struct {
	whispers []*Source
	taps     []*Tap
	inbound  int // taps that need its decoded inbound audio
	packets  int // taps of its inbound packets

	// This tick: private says the participant hears a whisper, and acc
	// holds its mix before its own voice is taken out (the room's, unless
	// it is deaf, plus the whispers); csrc and lvl name the whispering
	// sources. silent says its own chain sent silence (for TapHears).
	private bool
	acc     []int32
	ncsrc   int
	csrc    [maxCSRC]uint32
	lvl     [maxCSRC]uint8
	silent  bool
}

func newAttached() *attached { return &attached{acc: make([]int32, maxFrame)} }

// attach gives p its attached state, unless it has one. Tick only.
func attach(p *Participant, a *attached) *attached {
	if p.att == nil {
		p.att = a
	}
	return p.att
}

// gone reports whether a participant an endpoint refers to has left.
func gone(p *Participant) bool { return p.ctl.left.Load() }

// addSource runs in the tick: the source starts playing.
func (e *endpoints) addSource(c *Conference, s *Source, att *attached) {
	if s.to != nil {
		if gone(s.to) {
			e.finishSource(c, s)
			return
		}
		a := attach(s.to, att)
		a.whispers = append(a.whispers, s)
	}
	e.srcs = append(e.srcs, s)
}

// removeSource runs in the tick: the source stops and is released.
func (e *endpoints) removeSource(c *Conference, s *Source, now time.Duration) {
	if s.removed {
		return
	}
	for i, x := range e.srcs {
		if x == s {
			e.srcs = append(e.srcs[:i], e.srcs[i+1:]...)
			break
		}
	}
	c.speakers = deleteP(c.speakers, s.p)
	if s.to != nil && s.to.att != nil {
		a := s.to.att
		for i, x := range a.whispers {
			if x == s {
				a.whispers = append(a.whispers[:i], a.whispers[i+1:]...)
				break
			}
		}
	}
	if s.p.talk.talking && !s.quiet {
		c.emit(Event{Type: TalkingStopped, Participant: s.p.id, At: now, Level: int(s.p.talk.smooth)})
	}
	e.finishSource(c, s)
}

// finishSource releases a source's ID and closes it for good.
func (e *endpoints) finishSource(c *Conference, s *Source) {
	s.removed = true
	s.markClosed()
	c.release(s.p)
	c.mu.Lock()
	delete(e.sources, s)
	c.mu.Unlock()
	close(s.p.done)
}

// addTap runs in the tick: the tap takes its first frame this tick.
func (e *endpoints) addTap(c *Conference, t *Tap, att *attached) {
	if of := t.of; of != nil {
		if gone(of) {
			e.finishTap(c, t)
			return
		}
		a := attach(of, att)
		a.taps = append(a.taps, t)
		switch t.cfg.Kind {
		case TapInbound:
			a.inbound++
		case TapInboundPackets:
			a.packets++
		}
	}
	e.tapList = append(e.tapList, t)
}

// removeTap runs in the tick: the tap takes no more frames.
func (e *endpoints) removeTap(c *Conference, t *Tap) {
	if t.removed {
		return
	}
	for i, x := range e.tapList {
		if x == t {
			e.tapList = append(e.tapList[:i], e.tapList[i+1:]...)
			break
		}
	}
	if of := t.of; of != nil && of.att != nil {
		a := of.att
		for i, x := range a.taps {
			if x == t {
				a.taps = append(a.taps[:i], a.taps[i+1:]...)
				switch t.cfg.Kind {
				case TapInbound:
					a.inbound--
				case TapInboundPackets:
					a.packets--
				}
				break
			}
		}
	}
	e.finishTap(c, t)
}

func (e *endpoints) finishTap(c *Conference, t *Tap) {
	c.mu.Lock()
	delete(e.taps, t)
	c.mu.Unlock()
	t.finish()
}

// closeEndpoints is Close's part: every source and tap is closed for the
// application at once, and the next tick removes them.
func (c *Conference) closeEndpoints() {
	c.mu.Lock()
	srcs := make([]*Source, 0, len(c.ep.sources))
	for s := range c.ep.sources {
		srcs = append(srcs, s)
	}
	taps := make([]*Tap, 0, len(c.ep.taps))
	for t := range c.ep.taps {
		taps = append(taps, t)
	}
	c.mu.Unlock()
	for _, s := range srcs {
		s.markClosed()
	}
	for _, t := range taps {
		t.markClosed()
	}
	c.enqueue(func(c *Conference, now time.Duration) {
		for len(c.ep.tapList) > 0 {
			c.ep.removeTap(c, c.ep.tapList[len(c.ep.tapList)-1])
		}
		for _, s := range srcs {
			c.ep.removeSource(c, s, now)
		}
	})
}

// startTick runs first in every tick, after the queued changes: it
// advances the media clock and drops the endpoints whose participant has
// left.
func (e *endpoints) startTick(c *Conference, now time.Duration) {
	e.at = e.clock.advance(now, c.cfg.Ptime)
	for i := len(e.srcs) - 1; i >= 0; i-- {
		if s := e.srcs[i]; s.to != nil && gone(s.to) {
			e.removeSource(c, s, now)
		}
	}
	for i := len(e.tapList) - 1; i >= 0; i-- {
		if t := e.tapList[i]; t.of != nil && gone(t.of) {
			e.removeTap(c, t)
		}
	}
}

// pullSources takes each source's audio for this tick and runs its talk
// detector, as pull does for participants.
func (c *Conference) pullSources(now time.Duration) {
	n := c.frame
	for _, s := range c.ep.srcs {
		level := s.pull(c.rate, n)
		p := s.p
		switch p.talk.update(level, &c.ep.srcTalk) {
		case talkStarted:
			if !s.quiet {
				c.emit(Event{Type: TalkingStarted, Participant: p.id, At: now, Level: int(p.talk.smooth)})
			}
		case talkStopped:
			if !s.quiet {
				c.emit(Event{Type: TalkingStopped, Participant: p.id, At: now, Level: int(p.talk.smooth)})
			}
		}
	}
}

// louderSource returns the loudest source that may take a speaker's
// place, if it is louder than best (the loudest participant, or nil).
func (e *endpoints) louderSource(best *Participant) *Participant {
	for _, s := range e.srcs {
		p := s.p
		if s.kind != sourceRoom || p.spk.speaker || p.spk.leaving || !eligible(p) {
			continue
		}
		if best == nil || p.talk.smooth < best.talk.smooth {
			best = p
		}
	}
	return best
}

// selectPriority adds the priority sources that play to the mix, on top
// of the speakers, ramping them in and out as speakers are.
func (c *Conference) selectPriority() {
	for _, s := range c.ep.srcs {
		if s.kind != sourcePriority {
			continue
		}
		p := s.p
		switch on := (s.active || p.talk.talking) && !p.ctl.muted.Load(); {
		case on:
			if !p.spk.speaker {
				p.spk.start()
			}
			c.mixSet = append(c.mixSet, p)
		case p.spk.speaker:
			p.spk.stop()
			c.mixSet = append(c.mixSet, p)
		}
	}
}

// input returns this tick's audio of a member of the mix: a source's, or
// a participant's decoded.
func (c *Conference) input(p *Participant, n int) []int16 {
	if s := p.src; s != nil {
		if s.active {
			return s.pcm[:n]
		}
		return c.ep.zeros[:n]
	}
	return p.dq.audio(c.rate, n)
}

// finishInput ends the tick of a participant nobody hears: its frames are
// skipped undecoded, unless a tap wants its audio.
func (c *Conference) finishInput(p *Participant, n int) {
	if a := p.att; a != nil && a.inbound > 0 {
		p.dq.audio(c.rate, n)
		return
	}
	p.dq.finish(n)
}

// preparePrivate builds the mix of every participant a source whispers
// to this tick: what it hears of the room (nothing, when deaf) plus the
// whispers, each with its gain, ramped as a speaker's is.
func (c *Conference) preparePrivate() {
	e := &c.ep
	for _, x := range e.private {
		x.att.private = false
	}
	e.private = e.private[:0]
	n := c.frame
	for _, s := range e.srcs {
		if s.kind != sourceWhisper {
			continue
		}
		if !s.active {
			s.p.spk.gain = 0 // the next whisper ramps in
			continue
		}
		x := s.to
		if !x.joined || x.out.paused {
			continue // nobody to hear it: it plays on, unheard
		}
		target := s.p.ctl.gainIn.Load()
		if s.p.ctl.muted.Load() {
			target = 0
		}
		w := s.p.spk.contribute(s.pcm[:n], target)
		a := x.att
		if !a.private {
			a.private, a.ncsrc = true, 0
			if x.ctl.deaf.Load() {
				clear(a.acc[:n])
			} else {
				copy(a.acc[:n], c.acc[:n])
			}
			e.private = append(e.private, x)
		}
		pcm.Add(a.acc[:n], w)
		if a.ncsrc < maxCSRC {
			a.csrc[a.ncsrc], a.lvl[a.ncsrc] = s.cfg.SSRC, uint8(min(127, max(0, s.p.talk.level)))
			a.ncsrc++
		}
	}
}

// whispered adjusts the mix of a speaker that hears a whisper this tick:
// its sum is the private one (its own voice, in it unless it is deaf, is
// still taken out), and its CSRCs name the whisperers too. It returns the
// arguments unchanged otherwise.
func (a *attached) whispered(acc []int32, own []int16, csrc []uint32, lvl []uint8, silent, deaf bool) ([]int32, []int16, []uint32, []uint8, bool) {
	if !a.private {
		return acc, own, csrc, lvl, silent
	}
	if deaf {
		own, csrc, lvl = nil, csrc[:0], lvl[:0]
	}
	csrc, lvl = a.appendCSRC(csrc, lvl)
	return a.acc[:len(acc)], own, csrc, lvl, false
}

// appendCSRC appends the whisperers to a CSRC list, within the 15 an RTP
// header holds (csrc and lvl have room for that many).
func (a *attached) appendCSRC(csrc []uint32, lvl []uint8) ([]uint32, []uint8) {
	for i := range a.ncsrc {
		if len(csrc) == maxCSRC {
			break
		}
		csrc, lvl = append(csrc, a.csrc[i]), append(lvl, a.lvl[i])
	}
	return csrc, lvl
}

// sendPrivate encodes and sends the mix of each listener that hears a
// whisper this tick on its own chain, continuing from its group's as a
// new speaker's does (speakers were served by sendToSpeakers). It runs
// before sendToGroups, so that the group's state is still last tick's.
func (c *Conference) sendPrivate() {
	n := c.frame
	for _, x := range c.ep.private {
		if x.spk.speaker || x.spk.leaving {
			continue
		}
		a, o, ch := x.att, &x.out, &x.own
		ch.limit(a.acc[:n], nil, x.ctl.gainOut.Load(), c.cfg.DisableLimiter)
		if !ch.active {
			var from *encodeChain
			if x.group != nil {
				from = &x.group.chain
			}
			ch.takeOver(from)
		}
		payload, ok, err := ch.encode(n, false, c.silence)
		if err != nil {
			inc(&o.encodeErrors)
		}
		csrc, lvl := o.csrcScratch[:0], o.lvlScratch[:0]
		if !x.ctl.deaf.Load() {
			csrc, lvl = append(csrc, c.csrc...), append(lvl, c.csrcLvl...)
		}
		csrc, lvl = a.appendCSRC(csrc, lvl)
		a.silent = false
		o.send(c.now, payload, ok, false, outLevel(ch.mix[:n], false), csrc, lvl)
	}
}

// privateNow reports whether p is encoded on its own chain this tick for
// a whisper.
func privateNow(p *Participant) bool { return p.att != nil && p.att.private }

// tapPackets hands the Opus packets popped for p this tick to its packet
// taps, each stamped with the media time its audio starts at: after what
// the decode queue still holds from earlier ticks and the frames popped
// before it.
func (c *Conference) tapPackets(p *Participant) {
	q := &p.dq
	if !isOpus(q.cur.name) {
		return
	}
	pos := q.owed + q.fifo.Len()
	for i := range q.npend {
		pf := &q.pend[i]
		if pf.kind == jitter.KindPacket && !pf.cn && !pf.prev && pf.payload != nil {
			at := c.ep.at + durationOf(pos, c.rate)
			end := at + durationOf(pf.samples, c.rate)
			for _, t := range p.att.taps {
				if t.cfg.Kind != TapInboundPackets {
					continue
				}
				if t.cfg.PacketWriter.Write(at, pf.payload) != nil {
					inc(&t.writeErrors)
				}
				inc(&t.frames)
				t.mark(at, end)
			}
		}
		pos += pf.samples
	}
}

func durationOf(samples, rate int) time.Duration {
	return time.Duration(int64(samples) * int64(time.Second) / int64(rate))
}

// deliverTaps hands this tick's frame to every PCM tap, after the output.
func (c *Conference) deliverTaps() {
	e := &c.ep
	if len(e.tapList) == 0 {
		return
	}
	n := c.frame
	var room []int16
	for _, t := range e.tapList {
		var src []int16
		switch t.cfg.Kind {
		case TapMix:
			if room == nil {
				room = e.roomMix(c, n)
			}
			src = room
		case TapHears:
			src = c.heard(t.of, n)
		case TapInbound:
			if t.of.joined && t.of.dq.havePCM {
				src = t.of.dq.pcm[:n]
			}
		default:
			continue
		}
		t.deliver(src, n, c.rate, e.at, c.cfg.Ptime, e.zeros)
	}
}

// roomMix is the room's mix, limited once a tick for every TapMix tap.
func (e *endpoints) roomMix(c *Conference, n int) []int16 {
	if e.roomRate != c.rate {
		e.roomLim = newLimiter(c.rate)
		e.roomRate = c.rate
		if e.room == nil {
			e.room = make([]int16, maxFrame)
		}
	}
	dst := e.room[:n]
	if len(c.mixSet) == 0 {
		clear(dst)
		return dst
	}
	if c.cfg.DisableLimiter {
		pcm.Saturate(dst, c.acc[:n])
	} else {
		e.roomLim.Process(dst, c.acc[:n], nil, unity)
	}
	return dst
}

// heard is what x was encoded for this tick, nil for silence.
func (c *Conference) heard(x *Participant, n int) []int16 {
	switch {
	case !x.joined || x.out.paused:
		return nil
	case x.spk.speaker || x.spk.leaving || x.att.private:
		if x.att.silent {
			return nil
		}
		return x.own.mix[:n]
	}
	g := x.group
	if g == nil || len(c.mixSet) == 0 || g.key.deaf || g.chain.enc == nil {
		return nil
	}
	return g.chain.mix[:n]
}

// mediaClock is the conference's media time: the time of the first
// sample of this tick's frames. It advances by exactly a ptime a tick, so
// that what taps take is contiguous however late each tick runs (an
// Engine's ticks come a little after their deadline, and a late one is
// caught up at once), and follows the tick's now only when the two part
// for good: when now stays more than a ptime away for resyncAfter (the
// Engine skipped ticks after a stall: that time is a gap in the audio),
// or jumps by more than maxJump.
type mediaClock struct {
	t       time.Duration
	started bool
	off     time.Duration // how long now has been more than a ptime away
	next    atomic.Int64  // t + ptime, for MediaTime
	valid   atomic.Bool
}

const (
	resyncAfter = 200 * time.Millisecond
	maxJump     = time.Second
)

func (m *mediaClock) advance(now, ptime time.Duration) time.Duration {
	if !m.started {
		m.t, m.started = now, true
	} else {
		m.t += ptime
		d := now - m.t
		if d > ptime || d < -ptime {
			m.off += ptime
			if m.off >= resyncAfter || d > maxJump || d < -maxJump {
				m.t, m.off = now, 0
			}
		} else {
			m.off = 0
		}
	}
	m.next.Store(int64(m.t + ptime))
	m.valid.Store(true)
	return m.t
}

// MediaTime returns the conference's media time where its next tick's
// frames start: what a recording that starts now gives as
// record.Config.Start, so that every file of it (the mix, each leg, a leg
// that joins later) begins at the same instant. Taps stamp their frames
// on this clock: it starts at the first tick's now and advances by a
// ptime each tick, resynchronising with now only after ticks were skipped
// (see Tap). Before the first tick it is the conference's Clock. Safe
// from any goroutine.
func (c *Conference) MediaTime() time.Duration {
	if !c.ep.clock.valid.Load() {
		return c.cfg.Clock()
	}
	return time.Duration(c.ep.clock.next.Load())
}

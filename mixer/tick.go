package mixer

import (
	"time"

	"github.com/rtpmix/rtpmix/internal/pcm"
)

// Tick mixes one ptime of audio: every participant's jitter buffer is read,
// speakers are chosen, mixed once, and every participant is sent its mix.
// now is the conference clock (the same clock as WriteRTPAt's arrival
// times). Call it every ptime from one goroutine; tests and benchmarks call
// it in virtual time. A conference ticked by hand has its sinks called
// during each Tick, on the calling goroutine (see Sink). After Close, Tick
// does nothing.
//
// The order of work is what lets a large room cost little more than its
// speakers: packets are popped and their RFC 6464 levels read for everyone,
// speakers are chosen from those levels, and only then are packets decoded,
// for speakers only (and for senders without level headers, whose level
// must come from the PCM).
func (c *Conference) Tick(now time.Duration) { c.tickOn(now, nil) }

// tickOn is Tick; job, when not nil, is the ticking Engine worker's, on
// which a large room splits its per-participant passes (shard.go).
func (c *Conference) tickOn(now time.Duration, job *splitJob) {
	c.life.mu.Lock()
	if c.life.done {
		c.life.mu.Unlock()
		return
	}
	start := c.workClock()
	c.sh.job = job
	c.tick(now)
	c.sh.job = nil
	work := c.workClock() - start
	c.timing.record(work)
	c.ticks.Add(1)
	if c.managed {
		c.checkOverload(work, now)
	}
	if c.log.l != nil {
		c.logPass(now)
	}
	if c.life.closing.Load() {
		c.finish(now)
	}
	c.life.mu.Unlock()
	if c.life.closing.Load() {
		c.finishIfIdle() // Close came while this tick held the lock
	}
}

func (c *Conference) tick(now time.Duration) {
	c.now = now
	c.applyPending(now)
	c.sinkEvents(now)
	c.ep.startTick(c, now)
	if c.splitting(len(c.parts)) {
		c.pullSplit(now)
	} else {
		for _, p := range c.parts {
			c.pull(p, now)
		}
	}
	c.pullSources(now)
	c.selectSpeakers()
	c.trunkTick(now)
	c.mixSpeakers()
	c.preparePrivate()
	c.output()
	c.deliverTaps()
	for _, p := range c.mixSet {
		p.spk.leaving = false
	}
	c.rtcpTick(now)
}

// pull pops what this tick needs from p's jitter buffer and works out p's
// level, decoding only when the level must come from the PCM.
func (c *Conference) pull(p *Participant, now time.Duration) {
	c.updateTalk(p, c.pullLevel(p, now), now)
}

// pullLevel is pull's own work, on p alone: it returns p's level for
// its talk detector. A split tick runs it on several goroutines (shard.go).
func (c *Conference) pullLevel(p *Participant, now time.Duration) int {
	n := c.frame
	f := p.dq.pop(now, c.rate, n)
	if p.att != nil && p.att.packets > 0 {
		c.tapPackets(p)
	}
	c.dtmfPull(p, now) // before the listen-only test: an audience's keys count too
	if p.spk.listenOnly {
		// An audience member (or a held participant) that sends anyway is
		// never mixed: don't decode.
		return 127
	}
	level := f.level
	switch {
	case f.needPCM:
		level = pcm.LevelDBov(p.dq.audio(c.rate, n))
	case f.ext:
	case f.audio:
		level = p.talk.level // only lost frames: keep the last level
	}
	return level
}

// updateTalk runs p's talk detector and reports its changes as events.
func (c *Conference) updateTalk(p *Participant, level int, now time.Duration) {
	c.talkEvent(p, p.talk.update(level, &c.talkParams), now)
}

// eligible says whether p may be mixed: talking, not muted, not audience.
func eligible(p *Participant) bool {
	return p.talk.talking && !p.spk.listenOnly && !p.ctl.muted.Load()
}

// selectSpeakers keeps the current speakers while they talk, fills free
// places with the loudest talkers, and lets a talker take the quietest
// speaker's place only when louder by SwitchMargin for SwitchHold, so the
// speaker set does not flap. Speakers leaving are kept in mixSet for one
// more tick to ramp out.
func (c *Conference) selectSpeakers() {
	limit := c.cfg.MaxSpeakers - c.degrade
	if limit < 1 {
		limit = 1
	}
	c.mixSet = c.mixSet[:0]
	kept := c.speakers[:0]
	for _, s := range c.speakers {
		if eligible(s) && len(kept) < limit {
			kept = append(kept, s)
		} else {
			c.dropSpeaker(s)
		}
	}
	c.speakers = kept
	for len(c.speakers) < limit {
		best := c.loudestCandidate()
		if best == nil {
			break
		}
		c.addSpeaker(best)
	}
	if len(c.speakers) == limit {
		if best := c.loudestCandidate(); best != nil {
			qi := 0
			for i, s := range c.speakers {
				if louder(c.speakers[qi], s) {
					qi = i
				}
			}
			q := c.speakers[qi]
			if c.settling(q) && louder(best, q) {
				c.speakers = append(c.speakers[:qi], c.speakers[qi+1:]...)
				c.dropSpeaker(q)
				c.addSpeaker(best)
			} else if best.talk.smooth+float64(c.cfg.SwitchMargin) <= q.talk.smooth {
				best.spk.louderTicks++
				if time.Duration(best.spk.louderTicks)*c.cfg.Ptime >= c.cfg.SwitchHold {
					c.speakers = append(c.speakers[:qi], c.speakers[qi+1:]...)
					c.dropSpeaker(q)
					c.addSpeaker(best)
				}
			} else {
				best.spk.louderTicks = 0
			}
		}
	}
	c.mixSet = append(c.mixSet, c.speakers...)
	c.selectPriority()
	c.numSpk.Store(int32(len(c.speakers)))
}

func (c *Conference) addSpeaker(p *Participant) {
	p.spk.start()
	c.speakers = append(c.speakers, p)
}

func (c *Conference) dropSpeaker(p *Participant) {
	p.spk.stop()
	c.mixSet = append(c.mixSet, p)
}

// loudestCandidate is the loudest eligible participant not yet speaking.
func (c *Conference) loudestCandidate() *Participant {
	var best *Participant
	for _, p := range c.parts {
		if p.spk.speaker || p.spk.leaving || !eligible(p) {
			continue
		}
		if best == nil || louder(p, best) {
			best = p
		}
	}
	return c.ep.louderSource(best)
}

// mixSpeakers decodes what the speakers sent, applies their gain (with a
// ramp when it changes, when they start and when they stop), and sums them
// once into the int32 accumulator. Everyone else's popped packets are
// dropped undecoded.
func (c *Conference) mixSpeakers() {
	n := c.frame
	acc := c.acc[:n]
	clear(acc)
	for _, p := range c.mixSet {
		x := c.input(p, n) // first: decoding runs the in-band detector
		target := p.ctl.gainIn.Load()
		if p.spk.leaving || p.ctl.muted.Load() || p.dtmf.hush() {
			target = 0
		}
		pcm.Add(acc, p.spk.contribute(x, target))
	}
	if c.splitting(len(c.parts)) {
		c.runSplit(phaseFinish, c.shards(len(c.parts)))
		return
	}
	for _, p := range c.parts {
		if !p.spk.speaker && !p.spk.leaving {
			c.finishInput(p, n)
		}
		if p.dtmf.inband != nil {
			c.dtmfInband(p, c.now)
		}
	}
}

// output encodes and sends every participant's mix: each speaker its own
// mix-minus, each group of listeners one shared encode.
func (c *Conference) output() {
	c.listSpeakers()
	c.sendToSpeakers()
	c.sendPrivate()
	c.sendToGroups()
}

// listSpeakers builds the CSRC list of the mix, with each speaker's RFC
// 6465 level.
func (c *Conference) listSpeakers() {
	c.csrc, c.csrcLvl = c.csrc[:0], c.csrcLvl[:0]
	for _, s := range c.mixSet {
		if len(c.csrc) == maxCSRC {
			break
		}
		c.csrc = append(c.csrc, s.in.ssrc.Load())
		c.csrcLvl = append(c.csrcLvl, uint8(min(127, max(0, s.talk.level))))
	}
}

// sendToSpeakers sends each speaker (and each speaker ramping out) its own
// mix-minus through its own chain.
func (c *Conference) sendToSpeakers() {
	acc := c.acc[:c.frame]
	for i, s := range c.mixSet {
		if s.src != nil {
			continue // a Source: nobody to send to
		}
		o := &s.out
		if o.paused {
			s.own.active = false
			o.skip()
			continue
		}
		// The speaker's CSRCs are everyone mixed but itself.
		csrc, lvl := o.csrcScratch[:0], o.lvlScratch[:0]
		for j := range c.csrc {
			if j != i {
				csrc = append(csrc, c.csrc[j])
				lvl = append(lvl, c.csrcLvl[j])
			}
		}
		silent := len(csrc) == 0 || s.ctl.deaf.Load()
		mix, own := acc, s.spk.contrib[:len(acc)]
		if a := s.att; a != nil {
			mix, own, csrc, lvl, silent = a.whispered(mix, own, csrc, lvl, silent, s.ctl.deaf.Load())
			a.silent = silent
		}
		ch := &s.own
		if !silent {
			ch.limit(mix, own, s.ctl.gainOut.Load(), c.cfg.DisableLimiter)
		}
		if !ch.active {
			var from *encodeChain
			if s.group != nil {
				from = &s.group.chain
			}
			ch.takeOver(from)
		}
		if ch.repack != nil { // its own packet time (ptime.go)
			c.sendRepacketized(ch, o, len(acc), silent, outLevel(ch.mix[:len(acc)], silent), csrc, lvl)
			continue
		}
		payload, ok, err := ch.encode(len(acc), silent, c.silence)
		if err != nil {
			inc(&o.encodeErrors)
		}
		o.send(c.now, payload, ok, silent, outLevel(ch.mix[:len(acc)], silent), csrc, lvl)
	}
}

// sendToGroups encodes each group's shared mix once and sends it to every
// listener in the group.
func (c *Conference) sendToGroups() {
	if c.splitting(len(c.parts)) && c.fanDirect() {
		c.sendToGroupsSplit()
		return
	}
	acc := c.acc[:c.frame]
	heard := len(c.mixSet) > 0
	for _, g := range c.groupList {
		g.members = g.members[:0]
	}
	for _, p := range c.parts {
		if p.spk.speaker || p.spk.leaving || privateNow(p) {
			continue
		}
		p.own.active = false // own chain idle: taken over afresh when next used
		if p.out.paused {
			p.out.skip()
			continue
		}
		if p.group != nil {
			p.group.members = append(p.group.members, p)
		}
	}
	c.fanStart()
	for _, g := range c.groupList {
		ch := &g.chain
		if len(g.members) == 0 {
			ch.active = false
			continue
		}
		if ch.enc == nil {
			for _, m := range g.members {
				inc(&m.out.encodeErrors)
			}
			continue
		}
		if !ch.active {
			ch.resume()
		}
		silent := !heard || g.key.deaf
		if !silent {
			ch.limit(acc, nil, g.key.gainOut, c.cfg.DisableLimiter)
		}
		if ch.repack != nil { // its own packet time (ptime.go)
			c.sendGroupRepacketized(g, len(acc), silent, outLevel(ch.mix[:len(acc)], silent))
			continue
		}
		payload, ok, err := ch.encode(len(acc), silent, c.silence)
		if err != nil {
			inc(&g.members[0].out.encodeErrors)
		}
		level := outLevel(ch.mix[:len(acc)], silent)
		if c.sh.fanning {
			c.fanQueue(g.members, payload, ok, silent, level)
			continue
		}
		for _, m := range g.members {
			m.out.send(c.now, payload, ok, silent, level, c.csrc, c.csrcLvl)
		}
	}
	c.fanRun()
}

package mixer

import (
	"math"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
)

// Tick mixes one ptime of audio: every participant's jitter buffer is read,
// speakers are chosen, mixed once, and every participant is sent its mix.
// now is the conference clock (the same clock as WriteRTPAt's arrival
// times). Call it every ptime from one goroutine; tests and benchmarks call
// it in virtual time.
//
// The order of work is what lets a large room cost little more than its
// speakers: packets are popped and their RFC 6464 levels read for everyone,
// speakers are chosen from those levels, and only then are packets decoded,
// for speakers only (and for senders without level headers, whose level
// must come from the PCM).
func (c *Conference) Tick(now time.Duration) {
	start := time.Now()
	c.tick(now)
	work := time.Since(start)
	c.timing.record(work)
	c.ticks.Add(1)
	if c.managed {
		c.checkOverload(work, now)
	}
}

func (c *Conference) tick(now time.Duration) {
	c.now = now
	c.applyPending(now)
	for _, p := range c.parts {
		c.pull(p, now)
	}
	c.selectSpeakers(now)
	c.mixSpeakers()
	c.output()
	for _, p := range c.mixSet {
		p.leaving = false
	}
}

// pull pops what this tick needs from p's jitter buffer and works out p's
// level, decoding only when the level must come from the PCM.
func (c *Conference) pull(p *Participant, now time.Duration) {
	n := c.frame
	p.npend = 0
	p.arena = p.arena[:0]
	p.framePCM = false
	p.decodedIn = false
	have := p.owed + p.fifoLen
	level, ext, audio, needPCM := 127, false, false, false
	for have < n && p.npend < maxPending {
		if p.npend > 0 {
			// The next Pop may reuse the slot the previous frame's bytes
			// alias: copy them out first. Most ticks pop once and copy
			// nothing.
			p.pin(&p.pend[p.npend-1])
		}
		f := p.jb.Pop(now)
		pf := &p.pend[p.npend]
		*pf = pendingFrame{kind: f.Kind, rtpTicks: f.Duration}
		if f.Duration > 0 {
			pf.samples = int(uint64(f.Duration) * uint64(c.rate) / uint64(p.cfg.In.ClockRate))
		}
		if pf.samples <= 0 || pf.samples > maxDecoded {
			pf.samples = n - have
		}
		switch f.Kind {
		case jitter.KindPacket:
			if p.cfg.CNPayloadType != 0 && f.PayloadType == p.cfg.CNPayloadType {
				pf.cn = true
				break
			}
			pf.payload = f.Payload
			audio = true
			if f.AudioLevel >= 0 {
				ext = true
				level = min(level, int(f.AudioLevel))
			} else {
				needPCM = true
			}
		case jitter.KindLost, jitter.KindConceal:
			if f.NextAvailable {
				pf.next = f.Next
			}
			audio = true // level carries over from the last packet
		}
		have += pf.samples
		p.npend++
	}
	if p.cfg.ListenOnly {
		// An audience member that sends anyway is never mixed: don't decode.
		c.updateTalk(p, 127, now)
		return
	}
	switch {
	case needPCM:
		c.decodePending(p)
		p.take(p.pcmFrame[:n])
		p.framePCM = true
		level = pcm.LevelDBov(p.pcmFrame[:n])
	case ext:
	case audio:
		level = p.level // only lost frames: keep the last level
	}
	p.extLevel = ext && !needPCM
	c.updateTalk(p, level, now)
}

// pin moves a pending frame's bytes from the jitter buffer's slot, which
// stays valid only until the next Pop, into p's per-tick arena. Decoding
// waits until the speakers are known, after every Pop of the tick.
func (p *Participant) pin(pf *pendingFrame) {
	if pf.payload != nil {
		pf.payload = p.keep(pf.payload)
	}
	if pf.next != nil {
		pf.next = p.keep(pf.next)
	}
}

// keep copies b into p's per-tick arena.
func (p *Participant) keep(b []byte) []byte {
	if len(p.arena)+len(b) > cap(p.arena) {
		return nil // cannot happen with jitter MaxPayload ≤ maxPayload; decoded as a loss
	}
	s := len(p.arena)
	p.arena = append(p.arena, b...)
	return p.arena[s:len(p.arena):len(p.arena)]
}

// updateTalk smooths the level (instant attack, slower release) and runs
// talking detection with start delay and hang-over.
func (c *Conference) updateTalk(p *Participant, level int, now time.Duration) {
	p.level = level
	l := float64(level)
	if l < p.smooth {
		p.smooth = l
	} else {
		p.smooth += (l - p.smooth) * c.releaseAlpha()
	}
	t := &c.cfg.Talk
	if !p.talking {
		if p.smooth <= float64(t.StartLevel) {
			p.aboveTicks++
			if time.Duration(p.aboveTicks)*c.cfg.Ptime >= t.StartDelay {
				p.talking, p.belowTicks = true, 0
				p.stats.talking.Store(true)
				c.emit(Event{Type: TalkingStarted, Participant: p.id, At: now, Level: int(p.smooth)})
			}
		} else {
			p.aboveTicks = 0
		}
	} else {
		if p.smooth > float64(t.StopLevel) {
			p.belowTicks++
			if time.Duration(p.belowTicks)*c.cfg.Ptime >= t.HangOver {
				p.talking, p.aboveTicks = false, 0
				p.stats.talking.Store(false)
				c.emit(Event{Type: TalkingStopped, Participant: p.id, At: now, Level: int(p.smooth)})
			}
		} else {
			p.belowTicks = 0
		}
	}
	if p.talking {
		p.stats.talkTicks.Add(1)
	}
	p.stats.level.Store(int32(math.Round(p.smooth)))
}

// releaseAlpha is the per-tick smoothing factor for a falling level: a
// 150 ms time constant whatever the ptime.
func (c *Conference) releaseAlpha() float64 {
	return 1 - math.Exp(-float64(c.cfg.Ptime)/float64(150*time.Millisecond))
}

// eligible says whether p may be mixed: talking, not muted, not audience.
func eligible(p *Participant) bool {
	return p.talking && !p.cfg.ListenOnly && !p.muted.Load()
}

// selectSpeakers keeps the current speakers while they talk, fills free
// places with the loudest talkers, and lets a talker take the quietest
// speaker's place only when louder by SwitchMargin for SwitchHold, so the
// speaker set does not flap. Speakers leaving are kept in mixSet for one
// more tick to ramp out.
func (c *Conference) selectSpeakers(now time.Duration) {
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
		c.addSpeaker(best, now)
	}
	if len(c.speakers) == limit {
		if best := c.loudestCandidate(); best != nil {
			qi := 0
			for i, s := range c.speakers {
				if s.smooth > c.speakers[qi].smooth {
					qi = i
				}
			}
			q := c.speakers[qi]
			if best.smooth+float64(c.cfg.SwitchMargin) <= q.smooth {
				best.louderTicks++
				if time.Duration(best.louderTicks)*c.cfg.Ptime >= c.cfg.SwitchHold {
					c.speakers = append(c.speakers[:qi], c.speakers[qi+1:]...)
					c.dropSpeaker(q)
					c.addSpeaker(best, now)
				}
			} else {
				best.louderTicks = 0
			}
		}
	}
	c.mixSet = append(c.mixSet, c.speakers...)
	c.numSpk.Store(int32(len(c.speakers)))
}

func (c *Conference) addSpeaker(p *Participant, now time.Duration) {
	p.speaker, p.leaving, p.louderTicks = true, false, 0
	p.curGain = 0 // ramp in from silence
	p.speakSince = now
	p.stats.speaking.Store(true)
	c.speakers = append(c.speakers, p)
}

func (c *Conference) dropSpeaker(p *Participant) {
	p.speaker, p.leaving = false, true
	p.stats.speaking.Store(false)
	c.mixSet = append(c.mixSet, p)
}

// loudestCandidate is the loudest eligible participant not yet speaking.
func (c *Conference) loudestCandidate() *Participant {
	var best *Participant
	for _, p := range c.parts {
		if p.speaker || p.leaving || !eligible(p) {
			continue
		}
		if best == nil || p.smooth < best.smooth {
			best = p
		}
	}
	return best
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
		if !p.framePCM {
			if !p.decodedIn {
				c.decodePending(p)
			}
			p.take(p.pcmFrame[:n])
			p.framePCM = true
		}
		target := p.gainIn.Load()
		if p.leaving || p.muted.Load() {
			target = 0
		}
		src, dst := p.pcmFrame[:n], p.contrib[:n]
		switch {
		case p.curGain != target:
			pcm.GainRamp(dst, src, p.curGain, target)
		case target == unity:
			copy(dst, src)
		default:
			pcm.Gain(dst, src, target)
		}
		p.curGain = target
		pcm.Add(acc, dst)
	}
	for _, p := range c.parts {
		if p.speaker || p.leaving || p.framePCM {
			continue
		}
		if p.decodedIn {
			p.discard(n)
		} else {
			p.skip(n)
		}
	}
}

// decodePending decodes p's popped frames into its FIFO at the conference
// rate: packets decoded, lost frames recovered from the next packet's FEC
// when it is here or concealed, gaps as silence.
func (c *Conference) decodePending(p *Participant) {
	p.decodedIn = true
	if p.stale {
		// Decoding was skipped while p was not a candidate: the decoder
		// resumes as after a loss; the resampler's history is meaningless.
		if p.inRes != nil {
			p.inRes.Reset()
		}
		p.stale = false
	}
	for i := range p.npend {
		pf := &p.pend[i]
		decN := int(uint64(pf.samples) * uint64(p.decRate) / uint64(c.rate))
		switch {
		case pf.kind == jitter.KindPacket && !pf.cn && pf.payload != nil:
			out, err := p.dec.Decode(p.decodeDst(), pf.payload)
			if err != nil {
				p.stats.decodeErrors.Add(1)
				out, _ = p.dec.Conceal(p.decodeDst(), decN)
			}
			p.pushDecoded(out)
		case pf.kind == jitter.KindPacket && !pf.cn, pf.kind == jitter.KindLost, pf.kind == jitter.KindConceal:
			var out []int16
			var err error
			if p.fec != nil && pf.next != nil {
				out, err = p.fec.DecodeFEC(p.decodeDst(), pf.next, decN)
				if err == nil {
					p.stats.fecRecovered.Add(1)
				}
			} else {
				out, err = p.dec.Conceal(p.decodeDst(), decN)
				if err == nil {
					p.stats.concealed.Add(1)
				}
			}
			if err != nil {
				p.stats.decodeErrors.Add(1)
				out = nil
			}
			if out == nil {
				p.pushSilence(pf.samples)
			} else {
				p.pushDecoded(out)
			}
		default: // DTX gap, comfort noise, nothing yet
			p.pushSilence(pf.samples)
		}
	}
}

// decodeDst is where the decoder writes: straight into the FIFO when no
// resampling is needed, else a scratch buffer.
func (p *Participant) decodeDst() []int16 {
	if p.inRes == nil {
		return p.fifo[p.fifoLen:p.fifoLen:len(p.fifo)]
	}
	return p.decBuf[:0]
}

// pushDecoded appends decoder output (already in place when decodeDst gave
// the FIFO) to the FIFO, resampling when needed.
func (p *Participant) pushDecoded(out []int16) {
	if p.inRes == nil {
		if len(out) > 0 && &out[0] != &p.fifo[p.fifoLen] {
			copy(p.fifo[p.fifoLen:], out) // decoder had to grow: copy back
		}
		p.fifoLen += min(len(out), len(p.fifo)-p.fifoLen)
	} else {
		r := p.inRes.Process(p.fifo[p.fifoLen:p.fifoLen:len(p.fifo)], out)
		p.fifoLen += len(r)
	}
	p.trimFIFO()
}

func (p *Participant) pushSilence(n int) {
	n = min(n, len(p.fifo)-p.fifoLen)
	clear(p.fifo[p.fifoLen : p.fifoLen+n])
	p.fifoLen += n
	p.trimFIFO()
}

// trimFIFO drops the oldest samples when a sender's packets decode to more
// audio than their timestamps said, so the FIFO never fills or adds delay.
func (p *Participant) trimFIFO() {
	limit := len(p.fifo) - maxDecoded
	if p.fifoLen > limit {
		drop := p.fifoLen - limit
		copy(p.fifo, p.fifo[drop:p.fifoLen])
		p.fifoLen = limit
	}
}

// take moves one tick of audio out of the FIFO into dst: owed silence first,
// then decoded samples, then silence if the FIFO ran dry.
func (p *Participant) take(dst []int16) {
	n := len(dst)
	z := min(p.owed, n)
	clear(dst[:z])
	p.owed -= z
	k := min(n-z, p.fifoLen)
	copy(dst[z:z+k], p.fifo[:k])
	clear(dst[z+k:])
	copy(p.fifo, p.fifo[k:p.fifoLen])
	p.fifoLen -= k
}

// discard drops one tick of decoded audio nobody will hear.
func (p *Participant) discard(n int) {
	z := min(p.owed, n)
	p.owed -= z
	k := min(n-z, p.fifoLen)
	copy(p.fifo, p.fifo[k:p.fifoLen])
	p.fifoLen -= k
}

// skip accounts for this tick's frames without decoding them: their audio
// becomes owed silence, and the decoder is marked stale.
func (p *Participant) skip(n int) {
	p.owed += p.fifoLen
	p.fifoLen = 0
	for i := range p.npend {
		pf := &p.pend[i]
		p.owed += pf.samples
		if pf.kind == jitter.KindPacket && !pf.cn {
			p.stats.skippedDecodes.Add(1)
			p.stale = true
		}
	}
	p.owed -= min(p.owed, n)
}

// output encodes and sends every participant's mix: each speaker its own
// mix-minus, each group of listeners one shared encode.
func (c *Conference) output() {
	n := c.frame
	acc := c.acc[:n]
	c.csrc, c.csrcLvl = c.csrc[:0], c.csrcLvl[:0]
	for _, s := range c.mixSet {
		if len(c.csrc) == maxCSRC {
			break
		}
		c.csrc = append(c.csrc, s.inSSRC.Load())
		c.csrcLvl = append(c.csrcLvl, uint8(min(127, max(0, s.level))))
	}
	heard := len(c.mixSet) > 0

	for i, s := range c.mixSet {
		o := &s.out
		// The speaker's CSRCs are everyone mixed but itself.
		csrc, lvl := o.csrcScratch[:0], o.lvlScratch[:0]
		for j := range c.csrc {
			if j != i {
				csrc = append(csrc, c.csrc[j])
				lvl = append(lvl, c.csrcLvl[j])
			}
		}
		silent := len(csrc) == 0 || s.deaf.Load()
		mix := s.mix[:n]
		if !silent {
			c.limit(&s.limiter, mix, acc, s.contrib[:n], s.gainOut.Load())
		}
		if !s.ownActive {
			s.takeOverFromGroup()
		}
		payload, ok := c.encode(s.enc, s.outRes, &s.noise, mix, s.resBuf, s.payload, silent, s.cfg.Encoder.DTX, &s.stats)
		c.send(s, payload, ok, silent, outLevel(mix, silent), csrc, lvl)
	}

	for _, g := range c.groupList {
		g.members = g.members[:0]
	}
	for _, p := range c.parts {
		if p.speaker || p.leaving {
			continue
		}
		p.ownActive = false // own encoder idle: reset when next used
		if p.group != nil {
			p.group.members = append(p.group.members, p)
		}
	}
	for _, g := range c.groupList {
		if len(g.members) == 0 {
			g.active = false
			continue
		}
		if g.enc == nil {
			for _, m := range g.members {
				m.stats.encodeErrors.Add(1)
			}
			continue
		}
		if !g.active {
			g.enc.Reset()
			if g.res != nil {
				g.res.Reset()
			}
			g.active = true
		}
		silent := !heard || g.key.deaf
		mix := g.mix[:n]
		if !silent {
			c.limit(&g.limiter, mix, acc, nil, g.key.gainOut)
		}
		payload, ok := c.encode(g.enc, g.res, &g.noise, mix, g.resBuf, g.payload, silent, g.key.dtx, &g.members[0].stats)
		level := outLevel(mix, silent)
		for _, m := range g.members {
			c.send(m, payload, ok, silent, level, c.csrc, c.csrcLvl)
		}
	}
}

// takeOverFromGroup prepares a new speaker's own output chain. Until now
// the speaker heard its group's shared stream, whose history is exactly
// what it heard, so the own chain continues from the group's resampler and
// limiter state and the audio goes on without a transient. The own encoder
// is reset: its state is from an earlier turn (G.711 has none; an Opus
// decoder rides over the switch as over a loss).
func (p *Participant) takeOverFromGroup() {
	p.ownActive = true
	p.enc.Reset()
	g := p.group
	if g != nil && g.active && g.rate == p.rate {
		p.limiter = g.limiter
		if p.outRes != nil && g.res != nil && p.outRes.CopyStateFrom(g.res) == nil {
			return
		}
	}
	if p.outRes != nil {
		p.outRes.Reset()
	}
}

// outLevel is the RFC 6464 level of a mix, computed once per stream.
func outLevel(mix []int16, silent bool) uint8 {
	if silent {
		return 127
	}
	return uint8(pcm.LevelDBov(mix))
}

// limit turns the int32 sum into one output: (acc − own) × gain, soft
// limited (or clamped) once.
func (c *Conference) limit(l *pcm.Limiter, dst []int16, acc []int32, own []int16, gain int32) {
	if c.cfg.DisableLimiter {
		if own == nil {
			pcm.Saturate(dst, acc)
		} else {
			pcm.SubSaturate(dst, acc, own)
		}
		if gain != unity {
			pcm.Gain(dst, dst, gain)
		}
		return
	}
	l.Process(dst, acc, own, gain)
}

// encode turns one mix into a payload. A silent mix becomes digital
// silence, comfort noise, or nothing (DTX) as configured. ok is false when
// nothing is to be sent.
func (c *Conference) encode(enc codec.Encoder, res *resample.Resampler, noise *noiseGen, mix []int16,
	resBuf []int16, payload []byte, silent, encDTX bool, st *participantCounters) ([]byte, bool) {
	if silent {
		switch c.cfg.Silence {
		case DTX:
			return nil, false
		case ComfortNoise:
			noise.fill(mix, c.cfg.ComfortNoiseLevel)
		default:
			clear(mix)
		}
	}
	in := mix
	if res != nil {
		in = res.Process(resBuf[:0], mix)
	}
	out, err := enc.Encode(payload[:0], in)
	if err != nil {
		st.encodeErrors.Add(1)
		return nil, false
	}
	if encDTX && len(out) <= 2 {
		return nil, false // Opus DTX: a TOC-only frame means "nothing to send"
	}
	return out, true
}

// send wraps payload in p's RTP stream and hands it to p's sink. When
// nothing is sent the timestamp still advances, so the stream's clock keeps
// running through silence and the next packet carries the marker bit.
func (c *Conference) send(p *Participant, payload []byte, ok, silent bool, level uint8, csrc []uint32, lvl []uint8) {
	o := &p.out
	if !ok {
		o.ts += o.tsStep
		o.marker = true
		o.wasSilent = true
		return
	}
	if o.wasSilent && !silent {
		o.marker = true // talkspurt start
	}
	h := &o.hdr
	h.marker = o.marker
	h.payloadType = p.cfg.OutPayloadType
	h.seq, h.timestamp, h.ssrc = o.seq, o.ts, o.ssrc
	h.csrc = csrc
	h.levelID = p.cfg.OutAudioLevelID
	h.level, h.voice = level, !silent
	h.csrcLevelsID, h.csrcLevels = p.cfg.OutCSRCLevelsID, lvl
	buf := p.pkt[:cap(p.pkt)]
	hn := writeHeader(buf, h)
	pkt := buf[:hn+copy(buf[hn:cap(buf)-srtpOverhead], payload)]
	o.seq++
	o.ts += o.tsStep
	o.marker = false
	o.wasSilent = silent
	if p.protect != nil {
		var err error
		if pkt, err = p.protect.ProtectRTP(pkt[:0], pkt); err != nil {
			p.stats.protectErrors.Add(1)
			return
		}
	}
	p.stats.packetsOut.Add(1)
	p.stats.bytesOut.Add(uint64(len(pkt)))
	if p.cfg.Sink != nil {
		if err := p.cfg.Sink.WriteRTP(pkt); err != nil {
			p.stats.sinkErrors.Add(1)
		}
	}
}

// noiseGen makes low-level white noise for comfort noise: a xorshift
// generator, deterministic and allocation-free.
type noiseGen struct{ s uint32 }

func (g *noiseGen) fill(dst []int16, levelDBov int) {
	if g.s == 0 {
		g.s = 0x9E3779B9
	}
	// Uniform noise in [-a, a] has RMS a/√3; RFC 6464's 0 dBov is the RMS
	// of a full-scale square wave, 32767.
	a := int32(math.Sqrt(3) * 32767 * math.Pow(10, -float64(levelDBov)/20))
	if a < 1 {
		a = 1
	}
	span := uint32(2*a + 1)
	for i := range dst {
		g.s ^= g.s << 13
		g.s ^= g.s >> 17
		g.s ^= g.s << 5
		dst[i] = int16(int32(g.s%span) - a)
	}
}

package mixer

import (
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/jitter"
)

// Inbound RFC 4733: telephone-event packets share the audio's SSRC,
// sequence numbers and clock (RFC 4733 §2.1), so they must neither reach a
// decoder nor make the audio's jitter buffer see a gap in the sequence
// numbers (it would count the event packets as lost and conceal them).
// The receive path takes them out of the audio's numbering (seqMap) and
// hands them to the tick through a small single-producer single-consumer
// ring (eventRing); the tick holds each one for as long as the jitter
// buffer holds the audio, so that digits are reported, and passed on, in
// step with the audio around them, and feeds them in sequence order to a
// dtmf.Receiver (dtmfRx).

// eventPayloadMax is the largest telephone-event payload taken: eight
// reports (RFC 4733 §2.5.1.5 packs ended events in front of the current
// one; senders put one to three in a packet).
const eventPayloadMax = 8 * dtmf.ReportSize

// eventRingLen is the ring's capacity, a power of two: 32 packets is 640
// ms of events at 20 ms, several ticks' worth even for a sender that
// sends its redundant packets in a burst.
const eventRingLen = 32

// eventPacket is one telephone-event packet on its way to the tick.
type eventPacket struct {
	arr    time.Duration // arrival, on the conference clock
	ssrc   uint32
	seq    int64 // extended sequence number (seqMap's)
	ts     uint32
	marker bool
	n      uint8
	buf    [eventPayloadMax]byte
}

func (e *eventPacket) payload() []byte { return e.buf[:e.n] }

// eventRing passes telephone-event packets from the receive path (one
// producer at a time: inbound's mutex) to the tick (the one consumer).
// Each side keeps its own position and publishes it with a release store;
// the other side's is read with an acquire load. Events are rare, so the
// positions share a line with nothing hot.
type eventRing struct {
	slots [eventRingLen]eventPacket
	tail  atomic.Uint32 // written by the producer
	head  atomic.Uint32 // written by the consumer
}

// push copies p into the ring, or reports false when it is full.
func (r *eventRing) push(p *eventPacket) bool {
	t := r.tail.Load()
	if t-r.head.Load() >= eventRingLen {
		return false
	}
	r.slots[t%eventRingLen] = *p
	r.tail.Store(t + 1)
	return true
}

// eventIn is the receive path's part of inbound RFC 4733: the sequence
// number map and the ring. It exists once the participant has had an
// inbound telephone-event payload type, and stays (the map must keep
// numbering the audio as before).
type eventIn struct {
	seq  seqMap
	ring eventRing
	pkt  eventPacket // scratch for the packet being pushed
}

// seqMap takes the sequence numbers of telephone-event packets out of the
// audio's numbering, so that the jitter buffer sees the audio packets as
// consecutive: each audio packet's number is lowered by the number of
// event packets before it. An event packet counts only when it comes
// after every audio packet mapped so far (the usual case: the sender sends
// events instead of audio); one that arrives later than an audio packet
// that follows it leaves its number as a gap, a loss to the jitter
// buffer, so that no audio packet's number, once given, ever changes.
// Audio packets that arrive out of order are numbered consistently: the
// events counted after a packet was mapped all lie above it.
//
// Owned by the receive path (inbound's mutex).
type seqMap struct {
	ssrc      uint32
	started   bool
	ref       int64 // extended number of the newest packet seen
	maxAudio  int64 // extended number of the newest audio packet mapped
	haveAudio bool
	total     int64 // event numbers taken out, over the stream
	// runs are the recent event numbers taken out, as ascending disjoint
	// ranges; older ones only count in total (an audio packet older than
	// the oldest run is late for the jitter buffer long since).
	runs  [seqRuns]seqRun
	nruns int
}

const seqRuns = 16

type seqRun struct{ first, last int64 }

// ext extends a 16-bit sequence number of ssrc; a new SSRC starts the map
// afresh (the jitter buffer resyncs on it too).
func (m *seqMap) ext(ssrc uint32, seq uint16) int64 {
	if !m.started || ssrc != m.ssrc {
		*m = seqMap{ssrc: ssrc, started: true, ref: 1<<16 + int64(seq)}
		return m.ref
	}
	e := m.ref + int64(int16(seq-uint16(m.ref)))
	if e > m.ref {
		m.ref = e
	}
	return e
}

// event takes an event packet's number out, and returns it extended.
func (m *seqMap) event(ssrc uint32, seq uint16) int64 {
	e := m.ext(ssrc, seq)
	if m.haveAudio && e <= m.maxAudio {
		return e
	}
	i := m.nruns // e goes before runs[i]
	for i > 0 && m.runs[i-1].first > e {
		i--
	}
	if i > 0 && e <= m.runs[i-1].last {
		return e // seen already
	}
	m.total++
	joinPrev := i > 0 && m.runs[i-1].last+1 == e
	joinNext := i < m.nruns && m.runs[i].first == e+1
	switch {
	case joinPrev && joinNext:
		m.runs[i-1].last = m.runs[i].last
		copy(m.runs[i:], m.runs[i+1:m.nruns])
		m.nruns--
	case joinPrev:
		m.runs[i-1].last = e
	case joinNext:
		m.runs[i].first = e
	default:
		if m.nruns == seqRuns {
			// Forget the oldest run (still counted in total).
			copy(m.runs[:], m.runs[1:])
			m.nruns--
			if i > 0 {
				i--
			}
		}
		copy(m.runs[i+1:m.nruns+1], m.runs[i:m.nruns])
		m.runs[i] = seqRun{e, e}
		m.nruns++
	}
	return e
}

// audio returns the number an audio packet goes into the jitter buffer
// with.
func (m *seqMap) audio(ssrc uint32, seq uint16) uint16 {
	e := m.ext(ssrc, seq)
	above := int64(0) // event numbers counted that lie above e
	for i := m.nruns - 1; i >= 0; i-- {
		r := m.runs[i]
		if r.last < e {
			break
		}
		above += r.last - max(r.first, e) + 1
	}
	if !m.haveAudio || e > m.maxAudio {
		m.maxAudio, m.haveAudio = e, true
	}
	return uint16(e - (m.total - above))
}

// pushEvent takes a telephone-event packet (the header is in in.hdr,
// payload its payload) for the tick; see inbound.push.
func (in *inbound) pushEvent(now time.Duration, payload []byte) refusal {
	ev := in.ev
	if _, err := dtmf.CountReports(payload); err != nil || len(payload) > eventPayloadMax {
		return refEvent
	}
	h := &in.hdr
	p := &ev.pkt
	p.arr, p.ssrc, p.ts, p.marker = now, h.SSRC, h.Timestamp, h.Marker
	p.seq = ev.seq.event(h.SSRC, h.SequenceNumber)
	p.n = uint8(copy(p.buf[:], payload))
	if !ev.ring.push(p) {
		return refFull
	}
	in.ssrc.Store(h.SSRC)
	inc(&in.evPackets)
	return accepted
}

// dtmfRx is the tick's part of a participant's digits: the RFC 4733
// receiver fed from the ring, the in-band detector fed from the decoder
// (inband.go), and what the digits do (the policy, muting while an in-band
// digit sounds under DTMFSwallow, the digit being passed on).
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared); Update changes it through the conference's queue.
type dtmfRx struct {
	ev    *eventIn       // shared with the receive path; nil: never had telephone-events
	rx    *dtmf.Receiver // nil: no inbound telephone-event now
	clock int            // rx's clock
	// audioTS: the jitter buffer's timestamps are on rx's clock, so the
	// audio played tells rx when the sender went back to audio.
	audioTS bool
	head    uint32 // ring position consumed
	ssrc    uint32
	hasSSRC bool
	// hold are the packets taken from the ring, in ascending sequence
	// order, waiting for the audio's playout delay; allocated with ev, so
	// that a participant without telephone-events does not carry it.
	hold  *[eventRingLen]eventPacket
	nhold int

	inband *inband // nil: no in-band detection
	policy DTMFPolicy
	// serial numbers this participant's digits, so that a digit passed on
	// is ended by its own Ended notice.
	serial uint64
	cnt    dtmfCounters
}

// take moves what the ring holds into hold, in sequence order. A new
// SSRC resets the receiver (a digit in progress ends) before its packets.
func (d *dtmfRx) take() {
	r := &d.ev.ring
	t := r.tail.Load()
	for ; d.head != t; d.head++ {
		p := &r.slots[d.head%eventRingLen]
		if d.nhold == len(d.hold) {
			return // full: the rest waits in the ring
		}
		i := d.nhold
		for i > 0 && d.hold[i-1].seq > p.seq && d.hold[i-1].ssrc == p.ssrc {
			i--
		}
		copy(d.hold[i+1:d.nhold+1], d.hold[i:d.nhold])
		d.hold[i] = *p
		d.nhold++
	}
	r.head.Store(d.head)
}

// release feeds rx the held packets that have waited delay (the jitter
// buffer's), in order, a full hold its oldest at once, handing the
// notices each packet makes to c before the next packet (the receiver
// keeps 16, and a burst of packets can make more).
func (d *dtmfRx) release(c *Conference, p *Participant, now, delay time.Duration) {
	k := 0
	for k < d.nhold && (d.hold[k].arr+delay <= now || d.nhold-k == len(d.hold)) {
		e := &d.hold[k]
		if !d.hasSSRC || e.ssrc != d.ssrc {
			if d.hasSSRC && d.rx != nil {
				d.rx.Reset()
			}
			d.ssrc, d.hasSSRC = e.ssrc, true
		}
		if d.rx != nil {
			_ = d.rx.Packet(now, e.ts, e.marker, e.payload()) // a payload pushEvent checked
			c.rxDigits(p, now)
		}
		k++
	}
	if k > 0 {
		copy(d.hold[:], d.hold[k:d.nhold])
		d.nhold -= k
	}
}

// releaseBefore feeds rx the held packets, oldest first, whose events
// began at or before stream timestamp ts (the audio about to be played),
// of the stream being played.
func (d *dtmfRx) releaseBefore(c *Conference, p *Participant, now time.Duration, ts uint32) {
	k := 0
	for k < d.nhold {
		e := &d.hold[k]
		if !d.hasSSRC {
			d.ssrc, d.hasSSRC = e.ssrc, true
		}
		if e.ssrc != d.ssrc || int32(e.ts-ts) > 0 {
			break // later, or another stream's (released by time, with its reset)
		}
		_ = d.rx.Packet(now, e.ts, e.marker, e.payload())
		c.rxDigits(p, now)
		k++
	}
	if k > 0 {
		copy(d.hold[:], d.hold[k:d.nhold])
		d.nhold -= k
	}
}

// active reports whether a digit of this participant sounds now.
func (d *dtmfRx) active() bool {
	if d.rx != nil {
		if _, on := d.rx.Active(); on {
			return true
		}
	}
	return d.inband != nil && d.inband.active()
}

// hush reports whether the participant's audio is kept out of the mix
// now: a digit sounds and its digits are swallowed. A Source's shell
// participant has no DTMF state (nil): never.
func (d *dtmfRx) hush() bool { return d != nil && d.policy == DTMFSwallow && d.active() }

// dtmfPull runs p's RFC 4733 receiver for the tick: the packets whose
// time has come, the audio popped this tick (call after the pop), the
// timeout; and turns the notices into events.
func (c *Conference) dtmfPull(p *Participant, now time.Duration) {
	d := p.dtmf
	if d.ev == nil {
		return
	}
	if d.ev.ring.tail.Load() != d.head {
		d.take()
	}
	if d.nhold > 0 {
		// The delay the buffer steers the audio towards: its current
		// delay grows while the sender sends events instead of audio.
		d.release(c, p, now, p.in.jb.Stats().TargetDelay)
	}
	if d.rx == nil {
		return
	}
	if d.audioTS {
		q := &p.dq
		for i := range q.npend {
			if pf := &q.pend[i]; pf.kind == jitter.KindPacket && !pf.cn {
				// Events that began before this audio go first, however
				// long they were held: the audio after a digit must not
				// end it before its own end packets are read.
				if d.nhold > 0 {
					d.releaseBefore(c, p, now, pf.ts)
				}
				d.rx.Audio(now, pf.ts)
				c.rxDigits(p, now)
			}
		}
	}
	d.rx.Tick(now)
	c.rxDigits(p, now)
}

// rxDigits turns the notices of p's receiver into events.
func (c *Conference) rxDigits(p *Participant, now time.Duration) {
	for g, ok := p.dtmf.rx.Next(); ok; g, ok = p.dtmf.rx.Next() {
		c.digit(p, g, false, now)
	}
}

// dtmfInband turns what p's in-band detector found in this tick's decoded
// audio into events. Call after each decode.
func (c *Conference) dtmfInband(p *Participant, now time.Duration) {
	b := p.dtmf.inband
	if b == nil || !b.fresh {
		return
	}
	b.fresh = false
	for g, ok := b.det.Next(); ok; g, ok = b.det.Next() {
		c.digit(p, g, true, now)
	}
}

// digit reports one of p's digit notices as an event, and passes the
// digit on under DTMFPass.
func (c *Conference) digit(p *Participant, g dtmf.Digit, inband bool, now time.Duration) {
	d := p.dtmf
	e := Event{Participant: p.id, At: now, DTMF: DTMFDigit{Digit: g.Event, Duration: g.Duration,
		InBand: inband, Cause: g.Cause, Volume: g.Volume}}
	if g.Ended {
		e.Type = DTMFEnded
		c.endPassed(p, d.serial, g.Duration)
	} else {
		e.Type = DTMFBegan
		d.serial++
		if inband {
			inc(&d.cnt.detected)
		} else {
			inc(&d.cnt.received)
		}
		if d.policy == DTMFPass && !p.ctl.muted.Load() && !p.spk.listenOnly {
			e.DTMF.Passed = c.passDigit(p, d.serial, g.Event)
		}
	}
	c.emit(e)
}

// passDigit offers a digit of p's to every other participant that can be
// sent it, and returns how many took it.
func (c *Conference) passDigit(p *Participant, serial uint64, ev dtmf.Event) int {
	n := 0
	for _, q := range c.parts {
		if q != p && q.dtmfOut.offer(q, p, serial, ev) {
			n++
		}
	}
	return n
}

// endPassed gives the digits passed on from p's digit serial their
// duration.
func (c *Conference) endPassed(p *Participant, serial uint64, dur time.Duration) {
	for _, q := range c.parts {
		q.dtmfOut.endPass(p, serial, dur)
	}
}

// stopPassing ends every digit passed on from p, which is leaving.
func (c *Conference) stopPassing(p *Participant) {
	for _, q := range c.parts {
		q.dtmfOut.abandon(p)
	}
}

// setupRx (re)builds the tick's receiving side for cfg: the receiver for
// its inbound telephone-event and the in-band detector, as its DTMF
// configuration over the conference's asks. ev is the receive path's
// state (nil when cfg has no inbound telephone-event and never had).
// jbClock is the jitter buffer's clock, decRate the inbound decoder's
// PCM rate. It allocates only when something is added.
func (d *dtmfRx) setup(cfg *ParticipantConfig, conf DTMFConfig, ev *eventIn, jbClock, decRate int) error {
	dc := cfg.DTMF.over(conf)
	d.policy = dc.Policy
	if ev != nil && d.hold == nil {
		d.hold = new([eventRingLen]eventPacket)
	}
	d.ev = ev
	te := cfg.InTelephoneEvent
	if te.enabled() {
		clock := te.clock(cfg.In.ClockRate)
		if d.rx == nil || d.clock != clock {
			rx, err := dtmf.NewReceiver(dtmf.ReceiverConfig{ClockRate: clock, Events: te.events()})
			if err != nil {
				return err
			}
			d.rx, d.clock = rx, clock
		}
		d.audioTS = clock == jbClock
	} else {
		d.rx = nil
	}
	if dc.InBand == InBandOn && !te.enabled() {
		if d.inband == nil {
			d.inband = new(inband)
		}
		return d.inband.prepare(decRate)
	}
	d.inband = nil
	return nil
}

package mixer

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/srtp"
)

// updater serialises Update calls and publishes the configuration they
// leave, for Config, SSRC and Stats on any goroutine.
type updater struct {
	mu  sync.Mutex
	cfg atomic.Pointer[ParticipantConfig]
}

// Update changes the participant in place while the conference ticks: what
// a SIP re-INVITE, a hold or resume, a codec change or an SRTP re-key asks
// for, without Leave and Join, so that talk state, speaker status, the
// jitter buffer and the outbound stream (SSRC, sequence numbers,
// timestamps) carry on.
//
// edit receives the configuration as Config returns it and changes what it
// wants; every field it leaves alone stays as it is. (An edit of the
// configuration, rather than a struct of optional fields or a list of
// options, keeps one vocabulary and one validation with Join, makes every
// field changeable the day it is added, and lets a negotiated SDP apply
// itself whole.) Concurrent Updates of one participant run one after the
// other; only what edit changed is applied, so a Set call another
// goroutine made meanwhile on another field is kept. Update then validates
// the result as Join does (same sentinels, ErrConfig with the field and
// numbers) and either applies all of it or, on error, nothing. edit runs
// under the participant's update lock: it must not call Update, and it
// should only assign fields. A negotiated leg applies itself in one call
// (negotiate.Leg.Apply is such a function):
//
//	err := p.Update(func(c *mixer.ParticipantConfig) {
//		c.Direction = mixer.RecvOnly // the peer put the call on hold
//	})
//
// What each change does:
//
//   - In, InPayloadType, CNPayloadType: from the next packet the new payload
//     types are accepted and decoded by a decoder for the new format; the
//     old ones are still accepted, and decoded by the old decoder, for
//     UpdateOverlap, so the audio in flight and in the jitter buffer is
//     heard. A new inbound format may have another clock rate: its
//     timestamps are mapped onto the jitter buffer's, which keeps playing
//     without a seam when the sender keeps its SSRC (see tsMap) and
//     resyncs, as for any restart, when it does not. Talk state and
//     speaker status go on either way.
//   - InSRTP (and SRTPReplayWindow): the new keys protect from the next
//     packet; packets under the old ones are still accepted for
//     UpdateOverlap, and refused after. The rollover counter of the
//     sender's SSRC carries over, as libsrtp's srtp_update does, so a
//     stream that has wrapped its sequence number goes on authenticating.
//   - Out, OutPayloadType, Encoder: from the next tick the participant
//     hears the mix in the new codec, under the same SSRC with the next
//     sequence number; the timestamp goes on from the last packet's by the
//     time since it, at the new clock rate (see outStream.setClock). The
//     first packet carries the marker bit. A payload type left as it was
//     while its format changes follows the new format, as an unset one
//     does at Join.
//   - SSRC: a different value starts the outbound stream afresh under it
//     (random sequence number and timestamp); 0 picks a new random one.
//     Leave it alone to keep the stream.
//   - OutSRTP: the next packet is protected with the new keys; the
//     rollover counter carries over when the SSRC does.
//   - Direction (or ListenOnly): from the next tick the participant is
//     mixed or not, and sent packets or not (see Direction).
//   - InAudioLevelID, OutAudioLevelID, OutCSRCLevelsID, Sink,
//     UpdateOverlap: from the next packet or tick.
//   - Muted, Deaf, GainIn, GainOut: at once, as the Set methods do.
//   - ID and Jitter cannot change (ErrConfig): Leave and Join for that.
//
// Codecs and SRTP contexts are built in the caller's goroutine, as at
// Join; the tick only swaps them in, at the start of the next tick, so it
// never waits and allocates nothing in steady state. Update returns
// ErrClosed once the participant has left. Safe from any goroutine,
// concurrently with WriteRTP, the tick and the other methods.
func (p *Participant) Update(edit func(*ParticipantConfig)) error {
	p.upd.mu.Lock()
	defer p.upd.mu.Unlock()
	if p.ctl.left.Load() {
		return ErrClosed
	}
	old := p.Config()
	next := old
	next.InSRTP, next.OutSRTP = cloneKeys(old.InSRTP), cloneKeys(old.OutSRTP)
	if edit != nil {
		edit(&next)
	}
	pl, err := p.plan(old, next)
	if err != nil {
		return err
	}
	p.commit(pl)
	return nil
}

// updatePlan is an Update validated and built, ready to apply: the
// configurations before and after, and what had to be built for the
// difference, in the caller's goroutine.
type updatePlan struct {
	old, next ParticipantConfig
	gIn, gOut int32
	overlap   time.Duration // UpdateOverlap resolved; 0: none

	inChanged  bool         // inbound payload types or format
	inSame     bool         // the inbound format is the same (payload types changed)
	inPT       uint8        // resolved
	slot       decoderSlot  // for the tick: the new format's decoder (none when inSame)
	hold       *decoderSlot // where the tick keeps the old one
	keysIn     bool         // InSRTP or SRTPReplayWindow changed
	unprotect  *srtp.Unprotector
	outChanged bool         // Out or Encoder
	own        *encodeChain // the new chain when outChanged
	outPT      uint8        // resolved
	keysOut    bool
	protect    *srtp.Protector
	newSSRC    bool
	ev         *eventIn // the receive path's telephone-event state (planEvents)
}

// plan validates next against old and builds what the change needs.
// Nothing is shared yet, so an error leaves the participant untouched.
func (p *Participant) plan(old, next ParticipantConfig) (*updatePlan, error) {
	if next.ID != old.ID {
		return nil, fmt.Errorf("%w: participant %s: ID cannot change (to %q): leave and join again", ErrConfig, old.ID, next.ID)
	}
	if next.Jitter != old.Jitter {
		return nil, fmt.Errorf("%w: participant %s: jitter buffer settings cannot change in place", ErrConfig, old.ID)
	}
	// A payload type left alone while its format changed follows the new
	// format, as an unset one does at Join.
	if !sameFormat(next.In, old.In) && next.InPayloadType == old.InPayloadType {
		next.InPayloadType = PayloadType{}
	}
	if !sameFormat(next.Out, old.Out) && next.OutPayloadType == old.OutPayloadType {
		next.OutPayloadType = PayloadType{}
	}
	// Direction and ListenOnly say the same thing twice: whichever edit
	// changed wins (ListenOnly when both did, as at Join).
	switch {
	case next.Direction != old.Direction && next.ListenOnly == old.ListenOnly:
		next.ListenOnly = false
	case next.ListenOnly != old.ListenOnly && next.Direction == old.Direction:
		next.Direction = DirectionOf(old.Direction.Send(), !next.ListenOnly)
		next.ListenOnly = false
	}
	gIn, gOut, err := checkConfig(&next)
	if err != nil {
		return nil, err
	}
	pl := &updatePlan{old: old, next: next, gIn: gIn, gOut: gOut}
	switch o := next.UpdateOverlap; {
	case o == 0:
		pl.overlap = DefaultUpdateOverlap
	case o > 0:
		pl.overlap = o
	}
	rate, ptime := int(p.conf.curRate.Load()), p.conf.cfg.Ptime
	wrap := func(err error) error { return fmt.Errorf("%w: participant %s: %w", ErrConfig, old.ID, err) }

	oldInPT, _ := old.InPayloadType.Value()
	pl.inPT, _ = next.InPayloadType.Value()
	pl.inSame = sameFormat(next.In, old.In)
	pl.inChanged = !pl.inSame || pl.inPT != oldInPT || next.CNPayloadType != old.CNPayloadType
	if pl.inChanged {
		pl.slot = decoderSlot{name: next.In.SDPName(), pt: pl.inPT, cn: next.CNPayloadType}
		pl.hold = new(decoderSlot)
		if !pl.inSame {
			if err := pl.slot.build(rate, ptime); err != nil {
				return nil, wrap(err)
			}
		}
	}
	pl.keysIn = !keysEqual(old.InSRTP, next.InSRTP) ||
		(next.InSRTP != nil && next.SRTPReplayWindow != old.SRTPReplayWindow)
	if pl.keysIn && next.InSRTP != nil {
		if pl.unprotect, err = newUnprotector(next); err != nil {
			return nil, wrap(err)
		}
	}

	pl.outPT, _ = next.OutPayloadType.Value()
	pl.outChanged = !sameFormat(next.Out, old.Out) || next.Encoder != old.Encoder || next.Ptime != old.Ptime
	if pl.outChanged {
		ch := newEncodeChain()
		if err := ch.setup(next.Out, next.Encoder, rate, ptime, outPtime(&next, ptime)); err != nil {
			return nil, wrap(err)
		}
		pl.own = &ch
	}
	pl.keysOut = !keysEqual(old.OutSRTP, next.OutSRTP)
	if pl.keysOut && next.OutSRTP != nil {
		if pl.protect, err = srtp.NewProtector(*next.OutSRTP); err != nil {
			return nil, wrap(fmt.Errorf("outbound SRTP: %w", err))
		}
	}
	if next.SSRC == 0 {
		for next.SSRC == 0 || next.SSRC == old.SSRC {
			next.SSRC = rand.Uint32()
		}
	}
	pl.newSSRC = next.SSRC != old.SSRC
	pl.ev = p.planEvents(&next)
	next.InSRTP, next.OutSRTP = cloneKeys(next.InSRTP), cloneKeys(next.OutSRTP)
	pl.next = next
	return pl, nil
}

// commit applies a plan: the tick's part is queued first, so that by the
// time the receive path accepts a new payload type the tick knows its
// decoder (a tick that pops such a packet earlier conceals it); then the
// receive path's part, under its mutex; then the controls; then the
// configuration is published.
func (p *Participant) commit(pl *updatePlan) {
	p.conf.enqueue(func(c *Conference, now time.Duration) { p.applyTick(c, pl, now) })
	p.in.apply(pl, p.conf.cfg.Clock())
	old, next := &pl.old, &pl.next
	if next.Muted != old.Muted {
		p.ctl.muted.Store(next.Muted)
	}
	if next.Deaf != old.Deaf && p.ctl.deaf.Swap(next.Deaf) != next.Deaf {
		p.conf.regroup.Store(true)
	}
	if next.GainIn != old.GainIn {
		p.ctl.setGainIn(pl.gIn, next.GainIn)
	}
	if next.GainOut != old.GainOut && p.ctl.setGainOut(pl.gOut, next.GainOut) {
		p.conf.regroup.Store(true)
	}
	p.upd.cfg.Store(next)
}

// apply is the receive path's part of an Update, at now on the conference
// clock.
func (in *inbound) apply(pl *updatePlan, now time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	next := &pl.next
	if pl.inChanged {
		old := in.media
		m := inMedia{pt: pl.inPT, cn: next.CNPayloadType}
		jbClock := in.jb.Config().ClockRate
		switch {
		case pl.inSame:
			m.ts = old.ts // the same stream on other numbers
		case old.ts.identity && next.In.ClockRate == jbClock:
			m.ts = identityMap()
		default:
			m.ts = scaledMap(next.In.ClockRate, jbClock)
		}
		in.media = m
		in.old.hasMedia = pl.overlap > 0
		in.old.media, in.old.mediaUntil = old, now+pl.overlap
	}
	in.levelID = next.InAudioLevelID
	in.ev, in.tePT = pl.ev, next.InTelephoneEvent.PayloadType
	in.rtcp.update(next)
	if pl.keysIn {
		old := in.unprotect
		if old != nil && pl.unprotect != nil {
			ssrc := in.ssrc.Load()
			if roc, ok := old.ROC(ssrc); ok {
				pl.unprotect.SetROC(ssrc, roc)
			}
		}
		in.unprotect = pl.unprotect
		in.old.keys = old != nil && pl.overlap > 0
		in.old.unprotect, in.old.keyUntil, in.old.oldFirst = nil, now+pl.overlap, false
		if in.old.keys {
			in.old.unprotect = old
			if in.old.scratch == nil {
				in.old.scratch = make([]byte, 0, overlapScratch)
			}
		}
	}
}

// overlapScratch holds any packet the jitter buffer can take (its payload
// limit is at most maxPayload) with the largest RTP header and SRTP tag.
const overlapScratch = 2048

// applyTick is the tick's part of an Update, run between two ticks.
func (p *Participant) applyTick(c *Conference, pl *updatePlan, now time.Duration) {
	if !p.joined {
		return // left before the update came through
	}
	old, next := &pl.old, &pl.next
	ptime := c.cfg.Ptime
	if pl.inChanged {
		p.dq.switchTo(pl.slot, pl.hold, now+pl.overlap+p.in.jb.Config().MaxDelay, ptime)
	}
	p.spk.listenOnly = !next.Direction.Recv()

	o := &p.out
	o.paused = !next.Direction.Send()
	if pl.newSSRC {
		p.sendBye(now) // RFC 3550 §8.2: the old source says goodbye
		o.restart(next.SSRC)
	}
	c.rates.count(p.tcfg, -1)
	c.rates.count(next, 1)
	p.tcfg = next
	if pl.outChanged {
		p.own = *pl.own
		if p.own.rate != p.rate {
			// The conference rate changed since Update built the chain.
			if p.own.setup(next.Out, next.Encoder, p.rate, ptime, outPtime(next, ptime)) != nil {
				inc(&o.encodeErrors)
			}
		}
		if !sameFormat(next.Out, old.Out) {
			o.marker = true
		}
	}
	o.setClock(next.Out.ClockRate, uint32(next.Out.FrameSamples(outPtime(next, ptime))))
	o.tickStep = uint32(next.Out.FrameSamples(ptime))
	o.pt, o.levelID, o.csrcLevelsID = pl.outPT, next.OutAudioLevelID, next.OutCSRCLevelsID
	o.sink = next.Sink
	if pl.keysOut {
		if o.protect != nil && pl.protect != nil && !pl.newSSRC {
			if roc, ok := o.protect.ROC(o.ssrc); ok {
				pl.protect.SetROC(o.ssrc, roc)
			}
		}
		o.protect = pl.protect
	}
	p.updateRTCP(old, next, now)
	// NewReceiver, NewSender and NewDetector cannot refuse what
	// checkTelephoneEvents passed.
	_ = p.setupDTMF(next, c.cfg.DTMF, pl.ev, outPtime(next, ptime))
	if pl.outChanged {
		c.assignGroup(p)
		c.updateRate()
	} else if pl.inChanged && !pl.inSame {
		c.updateRate()
	}
	c.emit(Event{Type: Updated, Participant: p.id, At: now, Detail: describe(*next)})
}

// keysEqual reports whether two optional keys are the same.
func keysEqual(a, b *srtp.Keys) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

package mixer

import (
	"time"

	"github.com/rtpmix/rtpmix/dtmf"
)

// dtmfOut sends a participant digits as RFC 4733 events on its outbound
// stream: those SendDTMF queued, and those passed on from other
// participants (DTMFPass). A dtmf.Sender at the stream's telephone-event
// clock and packet time makes the packets; the stream sends each in the
// place of an audio packet (outStream.sendTick), under its SSRC and next
// sequence number, while its timestamps run on, so that the audio resumes
// where it would have been.
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared); Update changes it through the conference's queue.
type dtmfOut struct {
	tx     *dtmf.Sender // nil: no outbound telephone-event
	pt     uint8
	clock  int
	ptime  time.Duration
	events dtmf.EventSet
	buf    [dtmf.ReportSize]byte

	// What the next packet slot starts, when tx is idle: a digit passed on
	// (from, serial: the source's digit, whose end sets its duration) or
	// queued by SendDTMF.
	pending bool
	ev      dtmf.Event
	dur     time.Duration
	// from is the participant whose digit is being passed on (pending or
	// sent); nil for SendDTMF's.
	from    *Participant
	serial  uint64
	ended   bool          // the source's digit has ended (dur is its length)
	gapTill time.Duration // a queued digit starts no earlier (DTMFGap)
	sending bool          // tx was started and has packets left

	req *dtmfRequests // the participant's SendDTMF queue
	cnt *dtmfCounters // the participant's counters
}

// setup (re)builds the sender for cfg's outbound telephone-event at the
// stream's clock and packet time; it allocates only when something
// changed.
func (d *dtmfOut) setup(cfg *ParticipantConfig, ptime time.Duration) error {
	te := cfg.OutTelephoneEvent
	if !te.enabled() {
		*d = dtmfOut{}
		return nil
	}
	clock := te.clock(cfg.Out.ClockRate)
	if d.tx == nil || d.clock != clock || d.ptime != ptime {
		tx, err := dtmf.NewSender(dtmf.SenderConfig{ClockRate: clock, Interval: ptime})
		if err != nil {
			return err
		}
		if d.sending {
			// The old sender's digit ends here; the new one starts idle.
			d.sending, d.pending = false, false
		}
		d.tx, d.clock, d.ptime = tx, clock, ptime
	}
	d.pt, d.events = te.PayloadType, te.events()
	return nil
}

// offer starts passing on digit serial of participant from, if q (whose
// dtmfOut this is) can be sent it now: it has telephone-events that
// include ev, it is sent media and hears the conference, and it is not
// sending another digit.
func (d *dtmfOut) offer(q, from *Participant, serial uint64, ev dtmf.Event) bool {
	if d.tx == nil || !d.events.Has(ev) || q.out.paused || q.ctl.deaf.Load() {
		return false
	}
	if d.sending || d.pending {
		inc(&q.dtmf.cnt.notPassed)
		return false
	}
	d.pending, d.ev, d.dur, d.from, d.serial, d.ended = true, ev, dtmf.MaxDuration, from, serial, false
	inc(&q.dtmf.cnt.passed)
	return true
}

// endPass gives the digit passed on from from's digit serial its length.
func (d *dtmfOut) endPass(from *Participant, serial uint64, dur time.Duration) {
	if d.from != from || d.serial != serial || d.ended {
		return
	}
	d.ended, d.dur = true, max(dur, time.Millisecond)
	if d.sending {
		d.tx.SetDuration(dur)
	}
}

// abandon ends a digit passed on from from, which is leaving.
func (d *dtmfOut) abandon(from *Participant) {
	if d.from != from || d.ended {
		return
	}
	d.ended = true
	d.pending = false
	if d.sending {
		d.tx.Stop()
	}
}

// stop drops whatever is being sent (the stream pauses or restarts).
func (d *dtmfOut) stop() {
	if d.tx == nil {
		return
	}
	if d.sending {
		d.tx.Stop()
		for _, ok := d.tx.Next(d.buf[:0]); ok; _, ok = d.tx.Next(d.buf[:0]) {
		}
	}
	d.sending, d.pending, d.from = false, false, nil
}

// slot is called for each packet the stream is about to send (audio, or
// the silence DTX leaves unsent) at stream timestamp ts: it starts a
// digit that is due, and returns the event packet to send instead of the
// audio, if any.
func (d *dtmfOut) slot(now time.Duration, ts uint32) (dtmf.Packet, bool) {
	req, cnt := d.req, d.cnt
	if !d.sending {
		if !d.pending && req.pending.Load() && now >= d.gapTill {
			if r, ok := req.next(); ok {
				d.pending, d.ev, d.dur, d.from, d.ended = true, r.ev, r.dur, nil, true
				inc(&cnt.sent)
			}
		}
		if !d.pending {
			return dtmf.Packet{}, false
		}
		d.pending = false
		if d.tx.Start(d.ev, d.dur, ts) != nil {
			return dtmf.Packet{}, false // a duration Start refuses: SendDTMF checked it
		}
		d.sending = true
	}
	p, ok := d.tx.Next(d.buf[:0])
	if !d.tx.Active() {
		d.sending = false
		d.from = nil
		d.gapTill = now + DTMFGap
	}
	return p, ok
}

// sendEvent sends the telephone-event packet due in this packet slot, if
// any, in the place of the audio packet, and reports whether it did. The
// packet has the stream's SSRC and next sequence number, the event's
// timestamp and marker; the stream's timestamp advances as for audio, so
// the audio resumes after the digit where it would have been, with the
// marker bit (a new talkspurt).
func (o *outStream) sendEvent(now time.Duration) bool {
	ep, ok := o.dtmf.slot(now, o.ts)
	if !ok {
		return false
	}
	h := &o.hdr
	h.marker = ep.Marker
	h.payloadType = o.dtmf.pt
	h.seq, h.timestamp, h.ssrc = o.seq, ep.Timestamp, o.ssrc
	h.csrc, h.levelID, h.csrcLevelsID, h.csrcLevels = nil, 0, 0, nil
	// The audio timeline, not the event's start, is what sender reports
	// map to wall-clock time.
	ts := o.ts
	o.lastTS, o.sent = ts, true
	o.seq++
	o.ts += o.tsStep
	o.marker = true
	o.wasSilent = false
	o.deliver(now, ep.Payload, ts)
	return true
}

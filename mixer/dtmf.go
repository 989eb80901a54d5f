package mixer

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/dtmf"
)

// TelephoneEvent is the RFC 4733 telephone-event format of one direction
// of a participant's stream: what SDP says with
//
//	a=rtpmap:101 telephone-event/8000
//	a=fmtp:101 0-16
//
// The zero value means none: no digits as events in that direction.
// Telephone-event packets share the audio's SSRC, sequence numbers and
// timestamps (RFC 4733 §2.1).
type TelephoneEvent struct {
	// PayloadType of the telephone-event packets; 0 means none (0 is
	// PCMU's static type, never telephone-event). Join refuses the audio's
	// or comfort noise's payload types, RFC 3551's static ones and 64..95.
	PayloadType uint8
	// ClockRate is the telephone-event clock (the rate of its a=rtpmap
	// line): 0 means the audio format's RTP clock, which RFC 4733 §2.1
	// asks for; otherwise 8000 or 48000.
	ClockRate int
	// Events are the event codes of the a=fmtp line: those the
	// participant may send (inbound; others are counted and ignored) or
	// accepts (outbound; SendDTMF refuses others, and other digits are
	// not passed to it). The zero value means 0-16, the digits and the
	// flash.
	Events dtmf.EventSet
}

// enabled reports whether the direction has telephone-events.
func (t TelephoneEvent) enabled() bool { return t.PayloadType != 0 }

// clock returns the telephone-event clock, given the audio's.
func (t TelephoneEvent) clock(audio int) int {
	if t.ClockRate == 0 {
		return audio
	}
	return t.ClockRate
}

// events returns the event set, 0-16 when left zero.
func (t TelephoneEvent) events() dtmf.EventSet {
	if t.Events.IsZero() {
		return dtmf.DigitEvents()
	}
	return t.Events
}

// DTMFPolicy says what becomes of the digits a participant sends.
type DTMFPolicy uint8

const (
	// DTMFPolicyDefault: a participant's follows its conference's, and a
	// conference's is DTMFSwallow.
	DTMFPolicyDefault DTMFPolicy = iota
	// DTMFSwallow: digits are for the application alone: they raise
	// DTMFBegan and DTMFEnded events and reach nobody else. A tone found
	// in a participant's audio (in-band) is muted out of the mix while it
	// sounds, from the moment it is recognised (35 ms into it).
	DTMFSwallow
	// DTMFPass: digits raise the same events and are also sent on to the
	// other participants that have an outbound telephone-event payload
	// type (and accept the event), as RFC 4733 events regenerated on each
	// one's own stream (its SSRC, sequence numbers, timestamps, clock and
	// packet time); while the digit plays, that listener is sent the
	// events instead of its audio. A digit passed on starts when the
	// original's start is played out and is given the original's length
	// when its end is; an end that comes late (its packets delayed or
	// lost) makes it last until then. A listener already being sent a
	// digit is not passed another (DTMFStats.NotPassed). A tone found
	// in-band stays in the mix, so listeners without telephone-event hear
	// it.
	DTMFPass
)

func (p DTMFPolicy) String() string {
	switch p {
	case DTMFPolicyDefault:
		return "default"
	case DTMFSwallow:
		return "swallow"
	case DTMFPass:
		return "pass"
	}
	return fmt.Sprintf("DTMFPolicy(%d)", uint8(p))
}

// InBandDetection says whether the mixer looks for DTMF tones in a
// participant's decoded audio.
type InBandDetection uint8

const (
	// InBandDefault: a participant's follows its conference's, and a
	// conference's is InBandOn.
	InBandDefault InBandDetection = iota
	// InBandOn detects tones in the audio of participants that have no
	// inbound telephone-event payload type (a G.711 phone that sends its
	// keys as tones), with a Goertzel detector that meets ITU-T Q.24
	// (package dtmf). It runs on the audio the mixer decodes anyway, at
	// the codec's own rate, and only for participants decoded in that
	// tick (speakers, and senders without RFC 6464 levels that are not
	// quiet): a silent participant costs nothing. A sender with RFC 6464
	// levels is decoded once it is among the speakers, which a keypad
	// tone (loud and steady) makes it within the talk detector's start
	// delay; digits shorter than that delay plus 35 ms may be missed.
	InBandOn
	// InBandOff never looks for tones in the audio.
	InBandOff
)

func (m InBandDetection) String() string {
	switch m {
	case InBandDefault:
		return "default"
	case InBandOn:
		return "on"
	case InBandOff:
		return "off"
	}
	return fmt.Sprintf("InBandDetection(%d)", uint8(m))
}

// DTMFConfig is what a conference (ConferenceConfig.DTMF) or one
// participant (ParticipantConfig.DTMF, whose zero fields follow the
// conference's) does with keypad digits.
type DTMFConfig struct {
	// Policy: DTMFSwallow (the default) or DTMFPass.
	Policy DTMFPolicy
	// InBand: InBandOn (the default) or InBandOff.
	InBand InBandDetection
}

func (d DTMFConfig) valid() bool { return d.Policy <= DTMFPass && d.InBand <= InBandOff }

// over returns d with every default field taken from base.
func (d DTMFConfig) over(base DTMFConfig) DTMFConfig {
	if d.Policy == DTMFPolicyDefault {
		d.Policy = base.Policy
	}
	if d.InBand == InBandDefault {
		d.InBand = base.InBand
	}
	return d
}

// DTMFDigit describes the digit of a DTMFBegan or DTMFEnded event.
type DTMFDigit struct {
	// Digit is the event: 0-9, dtmf.EventStar, EventPound, EventA-D,
	// EventFlash (Digit.Rune gives its character).
	Digit dtmf.Event
	// Duration is how long the digit has sounded: when it began, what
	// its first report or detection covered; when it ended, all of it.
	Duration time.Duration
	// InBand: the digit was found as tones in the audio, not received as
	// RFC 4733 events.
	InBand bool
	// Cause says how its end was known (DTMFEnded): its end packets (or,
	// in-band, the tone stopping), the next digit, audio resuming, a
	// timeout, or the stream restarting.
	Cause dtmf.Cause
	// Volume is its power in -dBm0, as reported (RFC 4733) or measured
	// (in-band, the weaker tone).
	Volume uint8
	// Passed (DTMFBegan) is how many other participants it is being
	// passed to (DTMFPass).
	Passed int
}

// DTMFStats counts a participant's digits.
type DTMFStats struct {
	// Packets counts the telephone-event packets accepted from it.
	Packets uint64
	// Received and Detected count the digits it sent: as RFC 4733 events,
	// and found in-band.
	Received, Detected uint64
	// Sent counts the digits it was sent with SendDTMF, Passed those
	// passed on to it from others, NotPassed those that were not because
	// it was being sent another one at the time.
	Sent, Passed, NotPassed uint64
}

// dtmfCounters are the published counters behind DTMFStats, written by the
// tick (Packets by the receive path).
type dtmfCounters struct {
	received, detected, sent, passed, notPassed atomic.Uint64
}

// DTMFGap is the least pause between two digits SendDTMF queued for one
// participant, after the first one's end packets: a receiver needs 40 ms
// (ITU-T Q.24) to tell two presses of the same key apart.
const DTMFGap = 60 * time.Millisecond

// dtmfQueueLen is how many digits SendDTMF queues per participant.
const dtmfQueueLen = 32

// dtmfRequests is the queue SendDTMF fills from any goroutine and the tick
// drains. pending lets the tick skip the lock when it is empty.
type dtmfRequests struct {
	mu      sync.Mutex
	q       [dtmfQueueLen]dtmfRequest
	head, n int
	pending atomic.Bool
}

type dtmfRequest struct {
	ev  dtmf.Event
	dur time.Duration
}

// SendDTMF sends the participant one digit as RFC 4733 telephone-events
// on its own stream: its SSRC and sequence numbers, a timestamp at which
// the digit starts in place of the audio, the marker on the first packet,
// one packet per packet time reporting the duration so far, and the final
// report three times (RFC 4733 §2.5.1). While the digit is sent, the
// participant is sent no audio; the audio resumes afterwards with the
// timestamps it would have had. ev is the event code (0-9, dtmf.EventStar,
// EventPound, EventA-D, EventFlash; dtmf.ParseDigit maps characters), d
// its duration, up to dtmf.MaxDuration (100 ms is usual; receivers need
// 40 ms).
//
// Digits are queued (up to 32) and sent one after the other, DTMFGap
// apart, from the next tick. It returns an error wrapping
// ErrNoTelephoneEvent when the participant has no outbound telephone-event
// payload type (ParticipantConfig.OutTelephoneEvent), when its a=fmtp
// events exclude ev, or when its direction sends it nothing (on hold);
// ErrDTMFQueueFull when 32 digits are waiting; ErrConfig for a duration
// out of range; ErrClosed once it has left. Safe from any goroutine.
func (p *Participant) SendDTMF(ev dtmf.Event, d time.Duration) error {
	if p.ctl.left.Load() {
		return ErrClosed
	}
	if d <= 0 || d > dtmf.MaxDuration {
		return fmt.Errorf("%w: DTMF duration %v (want up to %v)", ErrConfig, d, dtmf.MaxDuration)
	}
	cfg := p.upd.cfg.Load()
	te := cfg.OutTelephoneEvent
	switch {
	case !te.enabled():
		return fmt.Errorf("%w: participant %s has no outbound telephone-event payload type", ErrNoTelephoneEvent, p.id)
	case !te.events().Has(ev):
		return fmt.Errorf("%w: participant %s accepts events %v, not %d", ErrNoTelephoneEvent, p.id, te.events(), uint8(ev))
	case !cfg.Direction.Send():
		return fmt.Errorf("%w: participant %s is sent nothing (%v)", ErrNoTelephoneEvent, p.id, cfg.Direction)
	}
	r := p.dtmfReq
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == len(r.q) {
		return fmt.Errorf("%w: participant %s has %d digits waiting", ErrDTMFQueueFull, p.id, r.n)
	}
	r.q[(r.head+r.n)%len(r.q)] = dtmfRequest{ev: ev, dur: d}
	r.n++
	r.pending.Store(true)
	return nil
}

// next takes the oldest queued request. Tick only, after pending said so.
func (r *dtmfRequests) next() (dtmfRequest, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		r.pending.Store(false)
		return dtmfRequest{}, false
	}
	q := r.q[r.head]
	r.head = (r.head + 1) % len(r.q)
	r.n--
	r.pending.Store(r.n > 0)
	return q, true
}

// clear drops what is queued (the participant can no longer be sent
// events).
func (r *dtmfRequests) clear() {
	r.mu.Lock()
	r.head, r.n = 0, 0
	r.pending.Store(false)
	r.mu.Unlock()
}

// checkTelephoneEvents validates the telephone-event formats of cfg, whose
// audio payload types are resolved: the numbers (as for any payload type,
// and none shared with the audio or comfort noise) and the clocks.
func checkTelephoneEvents(cfg *ParticipantConfig) error {
	in, _ := cfg.InPayloadType.Value()
	out, _ := cfg.OutPayloadType.Value()
	for _, d := range []struct {
		dir   string
		te    TelephoneEvent
		audio int
	}{{"inbound", cfg.InTelephoneEvent, cfg.In.ClockRate}, {"outbound", cfg.OutTelephoneEvent, cfg.Out.ClockRate}} {
		if !d.te.enabled() {
			continue
		}
		pt := d.te.PayloadType
		switch {
		case pt > 127 || pt >= 64 && pt <= 95:
			return fmt.Errorf("%w: %s telephone-event payload type %d (want 0..127, not 64..95)", ErrConfig, d.dir, pt)
		case staticPT[pt].Name != "":
			return fmt.Errorf("%w: %s telephone-event on payload type %d, which RFC 3551 assigns to %s",
				ErrConfig, d.dir, pt, staticPT[pt].SDPName())
		case pt == in || pt == out || pt == cfg.CNPayloadType:
			return fmt.Errorf("%w: %s telephone-event payload type %d is also the audio's or comfort noise's (inbound %d, outbound %d, CN %d)",
				ErrConfig, d.dir, pt, in, out, cfg.CNPayloadType)
		}
		if r := d.te.ClockRate; r != 0 && r != 8000 && r != 48000 && r != d.audio {
			return fmt.Errorf("%w: %s telephone-event clock %d Hz (want the audio's %d, 8000 or 48000)", ErrConfig, d.dir, r, d.audio)
		}
	}
	if !cfg.DTMF.valid() {
		return fmt.Errorf("%w: DTMF policy %v, in-band detection %v", ErrConfig, cfg.DTMF.Policy, cfg.DTMF.InBand)
	}
	return nil
}

// dtmfStats returns the participant's DTMF counters. Any goroutine.
func (p *Participant) dtmfStats() DTMFStats {
	c := &p.dtmf.cnt
	return DTMFStats{
		Packets:   p.in.evPackets.Load(),
		Received:  c.received.Load(),
		Detected:  c.detected.Load(),
		Sent:      c.sent.Load(),
		Passed:    c.passed.Load(),
		NotPassed: c.notPassed.Load(),
	}
}

// initDTMF sets up a new participant's digits both ways, at Join (before
// it is shared, after its codecs are built).
func (p *Participant) initDTMF(cfg *ParticipantConfig, conf DTMFConfig, ptime time.Duration) error {
	parts := new(struct {
		rx  dtmfRx
		out dtmfOut
		req dtmfRequests
	})
	p.dtmf, p.dtmfOut, p.dtmfReq = &parts.rx, &parts.out, &parts.req
	var ev *eventIn
	if cfg.InTelephoneEvent.enabled() {
		ev = new(eventIn)
	}
	p.in.ev, p.in.tePT = ev, cfg.InTelephoneEvent.PayloadType
	return p.setupDTMF(cfg, conf, ev, ptime)
}

// planEvents returns the receive path's telephone-event state an Update to
// next needs: the one the participant has (it keeps numbering the audio
// once made), or a new one for its first inbound telephone-event. Update's
// goroutine, under the update lock (the only writer of in.ev besides
// Join).
func (p *Participant) planEvents(next *ParticipantConfig) *eventIn {
	ev := p.in.ev
	if ev == nil && next.InTelephoneEvent.enabled() {
		ev = new(eventIn)
	}
	return ev
}

// setupDTMF (re)builds the tick's DTMF state for cfg: at Join, and in the
// tick for an Update (where it allocates only when a telephone-event
// format or the in-band detection is added or changes clock).
func (p *Participant) setupDTMF(cfg *ParticipantConfig, conf DTMFConfig, ev *eventIn, ptime time.Duration) error {
	if err := p.dtmf.setup(cfg, conf, ev, p.in.jb.Config().ClockRate, p.dq.cur.decRate); err != nil {
		return err
	}
	p.dq.inband = p.dtmf.inband
	if err := p.dtmfOut.setup(cfg, ptime); err != nil {
		return err
	}
	p.dtmfOut.req, p.dtmfOut.cnt = p.dtmfReq, &p.dtmf.cnt
	if p.dtmfOut.tx == nil || !cfg.Direction.Send() {
		// Nothing queued can be sent any more.
		p.dtmfOut.stop()
		p.dtmfReq.clear()
	}
	p.out.dtmf = nil
	if p.dtmfOut.tx != nil {
		p.out.dtmf = p.dtmfOut
	}
	return nil
}

// dtmfLogAttrs adds a DTMF event's digit, duration and origin to its log
// record.
func dtmfLogAttrs(a []slog.Attr, e Event) []slog.Attr {
	a = append(a, slog.String("digit", e.DTMF.Digit.String()), slog.Duration("duration", e.DTMF.Duration))
	if e.DTMF.InBand {
		a = append(a, slog.Bool("in_band", true))
	}
	if e.Type == DTMFEnded {
		a = append(a, slog.String("cause", e.DTMF.Cause.String()))
	}
	return a
}

package dtmf

import (
	"fmt"
	"time"
)

// ReceiverConfig holds a Receiver's options; the zero value of each field
// means its default.
type ReceiverConfig struct {
	// ClockRate is the telephone-event RTP clock in Hz (the rate of its
	// a=rtpmap line): 8000 (the default) or 48000 next to Opus.
	ClockRate int
	// Events are the codes reported (the a=fmtp events the leg offered);
	// reports of other events are counted and ignored. Default 0-16.
	Events EventSet
	// Timeout ends an event that has had no packet for this long (all its
	// end packets lost and nothing else to end it). Senders update at
	// least every 50 ms (RFC 4733 §2.5.1.2 suggests the audio packet
	// interval), so the default of 300 ms leaves room for a few lost
	// updates without ending a long press early.
	Timeout time.Duration
	// AudioSlack: an audio packet whose timestamp lies this far past the
	// end the event's reports have shown ends it (the sender went back to
	// audio and its end packets were lost). Default 100 ms; senders that
	// keep sending audio during an event stay within one update interval
	// of the reported duration, well inside it.
	AudioSlack time.Duration
}

// ReceiverStats counts what a Receiver has seen. Counters only grow.
type ReceiverStats struct {
	Packets    uint64 // telephone-event packets given to Packet
	Reports    uint64 // event reports in them
	Began      uint64 // digits reported as begun
	Ended      uint64 // digits reported as ended (EndedBy splits them by cause)
	EndedBy    [6]uint64
	Duplicates uint64 // reports that told nothing new: repeated start and end packets, redundant reports of ended events
	Stale      uint64 // reports older than the current event (reordering left after the jitter buffer)
	Malformed  uint64 // payloads that are not a whole number of reports
	Ignored    uint64 // reports of events outside ReceiverConfig.Events
	Conflicts  uint64 // reports of another event at the current event's timestamp
	Dropped    uint64 // notices lost because Next was not called often enough (16 are kept)
	Excess     uint64 // reports past the MaxPackedReports a packet may carry, not read
}

// MaxPackedReports is how many reports of one packet a Receiver reads
// (RFC 4733 §2.5.1.5 packs several short events into one packet; senders
// pack two or three). Each report can end an event and begin another, two
// notices, so a caller that drains Next after every call never loses one
// to the queue of 16; the rest of a longer packet is counted in Excess.
const MaxPackedReports = (len(digitQueue{}.buf) - 2) / 2

// Receiver turns the telephone-event packets of one RTP stream into digit
// notices: a digit began, a digit ended with its duration. Feed it the
// packets in playout order (from the jitter buffer, after SRTP) with
// [Receiver.Packet], tell it about the stream's audio with
// [Receiver.Audio] and about time with [Receiver.Tick], and take the
// notices with [Receiver.Next].
//
// It follows RFC 4733 §2.5.2 and copes with what networks and senders do:
// the three redundant end packets and repeated start packets (reported
// once), a lost start (the event begins with the first packet seen), lost
// end packets (the event ends at the next event, when audio resumes, or
// after ReceiverConfig.Timeout), reordering left over after the jitter
// buffer (older reports of the current event and reports of events
// already ended are counted and dropped; durations only grow), a new
// event starting before the old one ended, events longer than the 16-bit
// duration (RFC 4733 §2.5.1.3 segments, and the older practice of letting
// the duration wrap), several reports in one packet (§2.5.1.5), and
// timestamps that wrap or jump.
//
// A Receiver allocates nothing after NewReceiver. It is not safe for
// concurrent use: one goroutine (the one that runs the participant's
// playout) calls all its methods.
type Receiver struct {
	events  EventSet
	rate    int
	timeout time.Duration
	slack   uint32 // AudioSlack in clock units
	// maxBack: a report further behind the current event than this is a
	// timestamp jump (a restarted sender), not a reordered packet.
	maxBack uint32
	// gapTol: how far apart two starts of one event can be when one came
	// from a packed report (§2.5.1.5), whose start is inferred.
	gapTol uint32
	// segSlack: tolerance around 0xFFFF for a segment's timestamp step.
	segSlack uint32

	on     bool
	cur    current
	recent [8]ended
	nrec   int // recent holds min(nrec, 8) entries, the newest at (nrec-1)%8

	newest     uint32 // the latest event or segment start seen
	haveNewest bool

	q     digitQueue
	stats ReceiverStats
}

// current is the event in progress.
type current struct {
	ev     Event
	shown  uint32 // the start its Began notice gave, which its Ended notice repeats
	start  uint32 // timestamp of its first segment
	seg    uint32 // timestamp of the current segment
	base   uint32 // seg - start: the earlier segments' length
	dur    uint32 // the current segment's duration, extended past 16 bits when it wraps
	vol    uint8
	packed bool // start inferred from a later report in a packed packet
	last   time.Duration
}

// ended remembers an event that has ended, so that its redundant and
// late reports are recognized and never report it again.
type ended struct {
	ev         Event
	start, seg uint32
	packed     bool
}

// NewReceiver returns a Receiver for one stream.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 8000
	}
	if cfg.ClockRate < 1000 || cfg.ClockRate > 192000 {
		return nil, fmt.Errorf("%w: %d", errClockRate, cfg.ClockRate)
	}
	if cfg.Events.IsZero() {
		cfg.Events = DigitEvents()
	}
	if cfg.Timeout < 0 || cfg.AudioSlack < 0 {
		return nil, errTimeout
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	if cfg.AudioSlack == 0 {
		cfg.AudioSlack = 100 * time.Millisecond
	}
	r := &Receiver{
		events:   cfg.Events,
		rate:     cfg.ClockRate,
		timeout:  cfg.Timeout,
		slack:    uint32(int64(cfg.AudioSlack) * int64(cfg.ClockRate) / int64(time.Second)),
		maxBack:  uint32(60 * cfg.ClockRate),
		gapTol:   uint32(cfg.ClockRate),
		segSlack: uint32(cfg.ClockRate / 10),
	}
	return r, nil
}

// ClockRate returns the telephone-event clock rate.
func (r *Receiver) ClockRate() int { return r.rate }

// Packet takes one telephone-event packet: its RTP timestamp, marker bit
// and payload. It returns an error wrapping ErrShortPayload for a payload
// that is not a whole number of reports (counted as Malformed, nothing
// changed). The payload is read, not kept.
func (r *Receiver) Packet(now time.Duration, ts uint32, marker bool, payload []byte) error {
	n, err := CountReports(payload)
	if err != nil {
		r.stats.Malformed++
		return err
	}
	r.stats.Packets++
	r.stats.Reports += uint64(n)
	if n > MaxPackedReports {
		r.stats.Excess += uint64(n - MaxPackedReports)
		n = MaxPackedReports
	}
	start := ts
	for i := range n {
		var rep Report
		rep.Unmarshal(payload[i*ReportSize:])
		r.report(now, rep, start, i > 0, marker && i == 0)
		start += uint32(rep.Duration)
	}
	return nil
}

// report handles one report whose event starts (or whose segment starts)
// at s. packed is true for the second and later reports of a packet,
// whose start is inferred.
func (r *Receiver) report(now time.Duration, rep Report, s uint32, packed, marker bool) {
	if !r.events.Has(rep.Event) {
		r.stats.Ignored++
		return
	}
	if r.on {
		c := &r.cur
		d := int32(s - c.seg)
		switch {
		case d == 0 && rep.Event != c.ev:
			r.stats.Conflicts++
			return
		case d == 0:
			r.update(now, rep)
			return
		case rep.Event == c.ev && c.packed && !marker && d > 0 && uint32(d) <= r.gapTol:
			// The event's own packet: its true start replaces the one a
			// packed report implied.
			c.start = s
			c.seg = s
			c.packed = false
			r.newest = s
			r.update(now, rep)
			return
		case rep.Event == c.ev && packed && d < 0 && uint32(-d) <= r.gapTol:
			// A packed report of this event with an earlier implied start.
			r.update(now, rep)
			return
		case rep.Event == c.ev && !marker && d > 0 &&
			uint32(d) >= 0xFFFF-r.segSlack && uint32(d) <= 0x10000+r.segSlack:
			r.segment(now, rep, s)
			return
		}
	}
	if r.isRecent(rep.Event, s, packed, marker) {
		r.stats.Duplicates++
		return
	}
	ref, have := r.newest, r.haveNewest
	if r.on {
		ref, have = r.cur.seg, true
	}
	if d := int32(s - ref); have && d <= 0 && uint32(-d) <= r.maxBack {
		r.stats.Stale++
		return
	}
	if r.on {
		r.end(CauseNextEvent)
	}
	r.begin(now, rep, s, packed)
}

// isRecent reports whether a report belongs to an event that has ended.
// Where one of the two starts was implied by a packed report, the other
// may lie up to gapTol away (the pause the packing hid): earlier for a
// packed report, later (and without the marker that starts a new press
// of the same digit) for the event's own packets.
func (r *Receiver) isRecent(ev Event, s uint32, packed, marker bool) bool {
	for i := range min(r.nrec, len(r.recent)) {
		e := &r.recent[i]
		if e.ev != ev {
			continue
		}
		if s == e.seg || s == e.start {
			return true
		}
		d := int32(s - e.seg)
		if packed && d < 0 && uint32(-d) <= r.gapTol || e.packed && !marker && d > 0 && uint32(d) <= r.gapTol {
			return true
		}
	}
	return false
}

func (r *Receiver) begin(now time.Duration, rep Report, s uint32, packed bool) {
	r.on = true
	r.cur = current{ev: rep.Event, shown: s, start: s, seg: s, dur: uint32(rep.Duration), vol: rep.Volume, packed: packed, last: now}
	r.newest, r.haveNewest = s, true
	r.stats.Began++
	r.push(Digit{Event: rep.Event, Start: s, Samples: r.cur.dur, Volume: rep.Volume})
	if rep.End {
		r.end(CauseEndPacket)
	}
}

// update applies a report of the current segment: durations only grow,
// and a 16-bit duration that wraps is extended.
func (r *Receiver) update(now time.Duration, rep Report) {
	c := &r.cur
	c.last = now
	ext := c.dur&^0xFFFF | uint32(rep.Duration)
	switch {
	case ext+0x8000 < c.dur:
		ext += 0x10000
	case ext > c.dur+0x8000 && ext >= 0x10000:
		ext -= 0x10000
	}
	switch {
	case ext > c.dur:
		c.dur = ext
		c.vol = rep.Volume
	case ext < c.dur && !rep.End:
		r.stats.Stale++
	case !rep.End:
		r.stats.Duplicates++
	}
	if rep.End {
		r.end(CauseEndPacket)
	}
}

// segment starts the next segment of a long event (RFC 4733 §2.5.1.3).
func (r *Receiver) segment(now time.Duration, rep Report, s uint32) {
	c := &r.cur
	c.base += s - c.seg
	c.seg = s
	c.dur = uint32(rep.Duration)
	c.vol = rep.Volume
	c.packed = false
	c.last = now
	r.newest = s
	if rep.End {
		r.end(CauseEndPacket)
	}
}

func (r *Receiver) end(cause Cause) {
	c := &r.cur
	total := c.base + c.dur
	r.on = false
	r.stats.Ended++
	r.stats.EndedBy[cause]++
	r.recent[r.nrec%len(r.recent)] = ended{ev: c.ev, start: c.start, seg: c.seg, packed: c.packed}
	r.nrec++
	if r.nrec >= 2*len(r.recent) {
		r.nrec -= len(r.recent)
	}
	r.newest, r.haveNewest = c.seg, true
	r.push(Digit{Event: c.ev, Ended: true, Cause: cause, Start: c.shown, Samples: total, Volume: c.vol})
}

func (r *Receiver) push(d Digit) {
	d.Duration = samplesToDuration(d.Samples, r.rate)
	r.q.push(d)
	r.stats.Dropped = r.q.dropped
}

// Audio tells the Receiver that an audio packet of the same stream with
// timestamp ts was played out (the telephone-event clock must be the
// audio's, as RFC 4733 §2.1 requires when both share a stream). An event
// in progress whose reports stopped more than AudioSlack before ts ends
// with CauseAudio.
func (r *Receiver) Audio(now time.Duration, ts uint32) {
	if !r.on {
		return
	}
	if d := int32(ts - (r.cur.seg + r.cur.dur)); d > 0 && uint32(d) > r.slack {
		r.end(CauseAudio)
	}
}

// Tick ends an event in progress that has had no packet for
// ReceiverConfig.Timeout (CauseTimeout). Call it once per playout tick.
func (r *Receiver) Tick(now time.Duration) {
	if r.on && now-r.cur.last >= r.timeout {
		r.end(CauseTimeout)
	}
}

// Active returns the event in progress, if any.
func (r *Receiver) Active() (Event, bool) { return r.cur.ev, r.on }

// Next returns the oldest notice not yet taken. The Receiver keeps up to
// 16; call Next until it returns false after each Packet, Audio or Tick.
func (r *Receiver) Next() (Digit, bool) { return r.q.pop() }

// Reset forgets the stream (its SSRC changed, or it restarted): an event
// in progress ends with CauseReset (its notice stays queued), and
// reports are then judged afresh.
func (r *Receiver) Reset() {
	if r.on {
		r.end(CauseReset)
	}
	r.nrec = 0
	r.haveNewest = false
}

// Stats returns the counters.
func (r *Receiver) Stats() ReceiverStats { return r.stats }

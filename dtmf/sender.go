package dtmf

import (
	"fmt"
	"time"
)

// SenderConfig holds a Sender's options; the zero value of each field
// means its default.
type SenderConfig struct {
	// ClockRate is the telephone-event RTP clock in Hz: the outbound
	// stream's (8000 for G.711 and G.722, 48000 next to Opus). Default 8000.
	ClockRate int
	// Interval is the time between packets: the stream's packet time, so
	// that event packets take the place of audio packets one for one.
	// Default 20 ms.
	Interval time.Duration
	// Volume is the power to report, in -dBm0 (0 to 63). Zero means 10
	// (-10 dBm0, a typical DTMF level).
	Volume int
}

// EndRepeats is how many times the final report of an event is sent
// (RFC 4733 §2.5.1.4: three times, at the update interval).
const EndRepeats = 3

// Packet is one telephone-event packet for the caller to send on its
// stream: the caller gives it the stream's SSRC, the next sequence number
// and the telephone-event payload type.
type Packet struct {
	Payload   []byte // aliases the dst given to Sender.Next
	Marker    bool   // set on the first packet of an event (RFC 4733 §2.5.1.1)
	Timestamp uint32 // the event's (or segment's) start: the same in every packet of it
	End       bool   // the report has the E bit (the last EndRepeats packets)
}

// Sender produces the packet sequence of RFC 4733 §2.5.1 for one event
// at a time on a stream whose SSRC, sequence numbers and timestamps belong
// to the caller: [Sender.Start] with the digit, its duration and the
// stream timestamp at which it begins, then one [Sender.Next] per packet
// interval until it reports no more. The first packet has the marker bit;
// each reports the duration so far; the last report (E bit) goes out
// EndRepeats times; an event longer than 0xFFFF clock units is split into
// segments (§2.5.1.3), each with its own timestamp and no marker.
//
// While an event is being sent, the stream sends it instead of audio
// (§2.5.1.2); afterwards audio resumes with timestamps that advanced by
// the elapsed time, which the caller's clock does anyway.
//
// A Sender allocates nothing after NewSender. It is not safe for
// concurrent use: one goroutine (the one that sends the stream) calls it.
type Sender struct {
	rate     int
	interval uint32 // in clock units
	volume   uint8

	active  bool
	ev      Event
	ts      uint32 // start of the event
	total   uint32 // its duration in clock units
	elapsed uint32 // reported so far
	segOff  uint32 // start of the current segment, from ts
	first   bool   // the next packet is the event's first
	ends    int    // end packets still to send after the first one
	endRep  Report
	endTS   uint32
}

// NewSender returns a Sender for one stream.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 8000
	}
	if cfg.ClockRate < 1000 || cfg.ClockRate > 192000 {
		return nil, fmt.Errorf("%w: %d", errClockRate, cfg.ClockRate)
	}
	if cfg.Interval == 0 {
		cfg.Interval = 20 * time.Millisecond
	}
	if cfg.Interval < 5*time.Millisecond || cfg.Interval > 200*time.Millisecond {
		return nil, fmt.Errorf("%w: %v", errInterval, cfg.Interval)
	}
	if cfg.Volume == 0 {
		cfg.Volume = 10
	}
	if cfg.Volume < 0 || cfg.Volume > MaxVolume {
		return nil, fmt.Errorf("%w: %d", errVolume, cfg.Volume)
	}
	return &Sender{
		rate:     cfg.ClockRate,
		interval: uint32(int64(cfg.Interval) * int64(cfg.ClockRate) / int64(time.Second)),
		volume:   uint8(cfg.Volume),
	}, nil
}

// Start begins sending ev for d, starting at stream timestamp ts (the
// timestamp the next audio packet would have had). It fails with ErrBusy
// while another event is being sent, and for d outside (0, 60 s]. Any
// event code is sent as given; a duration shorter than one interval is
// sent as one interval.
func (s *Sender) Start(ev Event, d time.Duration, ts uint32) error {
	if s.active {
		return fmt.Errorf("%w: %v", ErrBusy, s.ev)
	}
	if d <= 0 || d > MaxDuration {
		return fmt.Errorf("%w: %v", errDuration, d)
	}
	total := uint32(int64(d) * int64(s.rate) / int64(time.Second))
	*s = Sender{
		rate: s.rate, interval: s.interval, volume: s.volume,
		active: true, ev: ev, ts: ts, total: max(total, s.interval), first: true,
	}
	return nil
}

// Active reports whether an event is being sent (Next has packets left).
func (s *Sender) Active() bool { return s.active }

// Samples returns the duration of the event being sent in clock units:
// the stream's audio may resume at Start's ts plus Samples.
func (s *Sender) Samples() uint32 { return s.total }

// Next writes the next packet's payload into dst (which needs room for
// ReportSize bytes; it is reused from dst[:0]) and returns it; ok is false
// when no event is being sent. Call it once per packet interval.
func (s *Sender) Next(dst []byte) (p Packet, ok bool) {
	if !s.active {
		return Packet{}, false
	}
	if s.ends > 0 {
		s.ends--
		if s.ends == 0 {
			s.active = false
		}
		return Packet{Payload: AppendReport(dst[:0], s.endRep), Timestamp: s.endTS, End: true}, true
	}
	if !s.first {
		s.elapsed = min(s.elapsed+s.interval, s.total)
	} else {
		s.elapsed = min(s.interval, s.total)
	}
	rep := Report{Event: s.ev, Volume: s.volume}
	ts := s.ts + s.segOff
	marker := s.first
	s.first = false
	switch inSeg := s.elapsed - s.segOff; {
	case inSeg > 0xFFFF:
		// The segment is full: its final report, then the next segment
		// (whose first report covers what went past the boundary).
		rep.Duration = 0xFFFF
		s.segOff += 0xFFFF
		if s.elapsed == s.total {
			// Report the remainder in one more packet after this one.
			s.elapsed -= s.interval
			s.elapsed = max(s.elapsed, s.segOff)
		}
	case s.elapsed == s.total:
		rep.Duration = uint16(inSeg)
		rep.End = true
		s.endRep, s.endTS = rep, ts
		s.ends = EndRepeats - 1
	default:
		rep.Duration = uint16(inSeg)
	}
	return Packet{Payload: AppendReport(dst[:0], rep), Marker: marker, Timestamp: ts, End: rep.End}, true
}

// MaxDuration is the longest event Start accepts.
const MaxDuration = time.Minute

// SetDuration changes the duration of the event being sent: a digit
// passed on from another participant starts when its start is known
// (Start with MaxDuration) and gets its length when its end is (the
// received Digit's Duration). The event ends once d has been sent, or at
// the next packet if it already has; it does nothing once the end packets
// have begun.
func (s *Sender) SetDuration(d time.Duration) {
	if !s.active || s.ends > 0 {
		return
	}
	total := uint32(min(max(d, 0), MaxDuration) * time.Duration(s.rate) / time.Second)
	s.total = max(total, s.elapsed, s.interval)
}

// Stop ends the event being sent early: the next packets are its end
// packets, reporting the duration sent so far.
func (s *Sender) Stop() {
	if !s.active || s.ends > 0 || s.first {
		if s.first {
			s.active = false
		}
		return
	}
	s.total = s.elapsed
	rep := Report{Event: s.ev, Volume: s.volume, End: true, Duration: uint16(s.elapsed - s.segOff)}
	s.endRep, s.endTS = rep, s.ts+s.segOff
	s.ends = EndRepeats
}

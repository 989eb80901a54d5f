package dtmf

import (
	"fmt"
	"time"
)

// Cause says how a digit's end was known.
type Cause uint8

// The causes of an end. A Began notice carries CauseNone.
const (
	CauseNone      Cause = iota
	CauseEndPacket       // a report with the E bit (RFC 4733), or the tone stopping (in-band)
	CauseNextEvent       // another event started before this one's end packets arrived
	CauseAudio           // audio resumed after the event without its end packets
	CauseTimeout         // no packet for the event within the timeout
	CauseReset           // Reset or Flush while the event was in progress
)

var causeNames = [...]string{"", "end", "next-event", "audio", "timeout", "reset"}

func (c Cause) String() string {
	if int(c) < len(causeNames) {
		return causeNames[c]
	}
	return fmt.Sprintf("cause(%d)", uint8(c))
}

// Digit is what a [Receiver] or a [Detector] reports: a digit began, or a
// digit ended with its duration. Each digit is reported exactly once as
// begun and then exactly once as ended; an event heard only after it
// ended (all its earlier packets lost) is reported as begun and ended one
// after the other.
//
// A Digit is a value; it is safe to copy and to use from any goroutine.
type Digit struct {
	Event Event
	Ended bool // false: the digit began; true: it ended
	Cause Cause
	// Start is the RTP timestamp at which the event began (Receiver), or
	// the sample index from the start of the stream (Detector). Both
	// notices of a digit carry the same Start: the one known when it
	// began (for an event first seen behind another in a packed packet,
	// the start that packet implies; RFC 4733 §2.5.1.5).
	Start uint32
	// Samples is the duration so far (Began) or in total (Ended), in RTP
	// timestamp units (Receiver) or input samples (Detector).
	Samples uint32
	// Duration is Samples in time.
	Duration time.Duration
	// Volume is the tone's power in -dBm0 (0 to 63): the report's volume
	// field (Receiver) or the measured level of the weaker tone (Detector).
	Volume uint8
}

func (d Digit) String() string {
	if !d.Ended {
		return fmt.Sprintf("%v began at %d", d.Event, d.Start)
	}
	return fmt.Sprintf("%v ended (%v) at %d after %v", d.Event, d.Cause, d.Start, d.Duration)
}

// digitQueue is a fixed ring of notices: what a Receiver or Detector has
// found and its caller has not taken yet. When the caller does not drain
// it, the oldest notices are dropped and counted rather than the queue
// growing.
type digitQueue struct {
	buf     [16]Digit
	head, n int
	dropped uint64
}

func (q *digitQueue) push(d Digit) {
	if q.n == len(q.buf) {
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		q.dropped++
	}
	q.buf[(q.head+q.n)%len(q.buf)] = d
	q.n++
}

func (q *digitQueue) pop() (Digit, bool) {
	if q.n == 0 {
		return Digit{}, false
	}
	d := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return d, true
}

func samplesToDuration(n uint32, rate int) time.Duration {
	return time.Duration(uint64(n) * uint64(time.Second) / uint64(rate))
}

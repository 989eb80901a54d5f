package dtmf

import (
	"fmt"
	"strconv"
	"strings"
)

// EventSet is a set of event codes: what a stream's a=fmtp line for
// telephone-event offers ("0-16" or "0-15,32-49"). The zero value is
// empty; [DigitEvents] is 0-16. A value type, safe to copy.
type EventSet [4]uint64

// DigitEvents returns the set 0-16: the DTMF digits and the flash.
func DigitEvents() EventSet {
	var s EventSet
	s[0] = 1<<17 - 1
	return s
}

// Add puts e in the set.
func (s *EventSet) Add(e Event) { s[e>>6] |= 1 << (e & 63) }

// Has reports whether e is in the set.
func (s EventSet) Has(e Event) bool { return s[e>>6]&(1<<(e&63)) != 0 }

// IsZero reports whether the set is empty.
func (s EventSet) IsZero() bool { return s == EventSet{} }

// ParseEventSet parses the events parameter of an a=fmtp line for
// telephone-event (RFC 4733 §2.4.1): comma-separated codes and ranges,
// "0-15,66,70". An empty string means 0-15, the default the RFC gives.
func ParseEventSet(v string) (EventSet, error) {
	var s EventSet
	v = strings.TrimSpace(v)
	if v == "" {
		s[0] = 1<<16 - 1
		return s, nil
	}
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 8)
		if err != nil {
			return EventSet{}, fmt.Errorf("%w: events %q: %q is not a code 0-255", ErrEvent, v, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 8); err != nil || b < a {
				return EventSet{}, fmt.Errorf("%w: events %q: bad range %q", ErrEvent, v, part)
			}
		}
		for e := a; e <= b; e++ {
			s.Add(Event(e))
		}
	}
	return s, nil
}

// String formats the set as an fmtp events list: "0-16".
func (s EventSet) String() string {
	var b strings.Builder
	for e := 0; e < 256; e++ {
		if !s.Has(Event(e)) {
			continue
		}
		end := e
		for end+1 < 256 && s.Has(Event(end+1)) {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(e))
		if end > e {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(end))
		}
		e = end
	}
	return b.String()
}

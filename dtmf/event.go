package dtmf

import "fmt"

// Event is an RFC 4733 event code. Codes 0-15 are the DTMF digits
// (RFC 4733 §3.2: 0-9, 10 for *, 11 for #, 12-15 for A-D) and 16 is the
// hook flash; other codes (RFC 4734's modem and fax tones) parse but are
// not digits.
type Event uint8

// The DTMF events of RFC 4733 §3.2.
const (
	EventStar  Event = 10
	EventPound Event = 11
	EventA     Event = 12
	EventB     Event = 13
	EventC     Event = 14
	EventD     Event = 15
	EventFlash Event = 16
)

// MaxDigit is the highest event code this package treats as a digit: the
// "0-16" of a=fmtp:101 0-16.
const MaxDigit = EventFlash

const digitChars = "0123456789*#ABCD!"

// IsDigit reports whether e is a DTMF digit or the flash (codes 0-16).
func (e Event) IsDigit() bool { return e <= MaxDigit }

// Rune returns the digit's character: '0'-'9', '*', '#', 'A'-'D', '!' for
// the flash (as SIP INFO and Asterisk write it), or 0 for other events.
func (e Event) Rune() rune {
	if e > MaxDigit {
		return 0
	}
	return rune(digitChars[e])
}

// String returns the digit's character, or "event N".
func (e Event) String() string {
	if e > MaxDigit {
		return fmt.Sprintf("event %d", uint8(e))
	}
	return digitChars[e : e+1]
}

// ParseDigit maps '0'-'9', '*', '#', 'A'-'D' (or 'a'-'d') and '!' (flash)
// to their events; anything else is ErrEvent.
func ParseDigit(r rune) (Event, error) {
	switch {
	case r >= '0' && r <= '9':
		return Event(r - '0'), nil
	case r >= 'A' && r <= 'D':
		return EventA + Event(r-'A'), nil
	case r >= 'a' && r <= 'd':
		return EventA + Event(r-'a'), nil
	case r == '*':
		return EventStar, nil
	case r == '#':
		return EventPound, nil
	case r == '!':
		return EventFlash, nil
	}
	return 0, fmt.Errorf("%w: %q is not a DTMF digit", ErrEvent, r)
}

// Row and column frequencies of the DTMF keypad (ITU-T Q.23), in Hz.
var (
	lowFreqs  = [4]float64{697, 770, 852, 941}
	highFreqs = [4]float64{1209, 1336, 1477, 1633}
)

// keypad[row][col] is the event at low frequency row and high frequency
// col.
var keypad = [4][4]Event{
	{1, 2, 3, EventA},
	{4, 5, 6, EventB},
	{7, 8, 9, EventC},
	{EventStar, 0, EventPound, EventD},
}

// Frequencies returns the low (row) and high (column) frequency of a DTMF
// digit in Hz (ITU-T Q.23); ok is false for the flash and other events,
// which have no tone pair.
func (e Event) Frequencies() (low, high float64, ok bool) {
	for r := range keypad {
		for c := range keypad[r] {
			if keypad[r][c] == e {
				return lowFreqs[r], highFreqs[c], true
			}
		}
	}
	return 0, 0, false
}

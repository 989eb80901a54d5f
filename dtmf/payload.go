package dtmf

import "io"

// ReportSize is the size of one event report on the wire.
const ReportSize = 4

// MaxVolume is the quietest volume a report can carry: 63 means -63 dBm0.
const MaxVolume = 63

// Report is one RFC 4733 §2.3 event report, the unit of a telephone-event
// payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The R bit is reserved: senders write 0 and receivers ignore it
// (§2.3.3), so Report does not keep it. Duration is in RTP timestamp units
// of the stream's telephone-event clock, counted from the RTP timestamp of
// the packet (or, in a packet of several reports, from the start the
// earlier reports imply: see [ReportStart]).
//
// A Report is a value; it is safe to copy and to use from any goroutine.
type Report struct {
	Event    Event
	End      bool   // E: the event has ended
	Volume   uint8  // power of the tone, 0 to 63 meaning 0 to -63 dBm0; 0 for non-tone events
	Duration uint16 // in RTP timestamp units
}

// MarshalSize returns ReportSize.
func (Report) MarshalSize() int { return ReportSize }

// MarshalTo writes the report into b and returns ReportSize, or
// io.ErrShortBuffer when b is shorter. A Volume above 63 is written as 63.
func (r Report) MarshalTo(b []byte) (int, error) {
	if len(b) < ReportSize {
		return 0, io.ErrShortBuffer
	}
	_ = b[3] // bounds check hint
	b[0] = byte(r.Event)
	v := min(r.Volume, MaxVolume)
	if r.End {
		v |= 0x80
	}
	b[1] = v
	b[2] = byte(r.Duration >> 8)
	b[3] = byte(r.Duration)
	return ReportSize, nil
}

// Marshal returns the report's four bytes.
func (r Report) Marshal() []byte {
	b := make([]byte, ReportSize)
	r.MarshalTo(b)
	return b
}

// AppendReport appends r's four bytes to dst; it allocates only when
// dst lacks the capacity.
func AppendReport(dst []byte, r Report) []byte {
	n := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	r.MarshalTo(dst[n:])
	return dst
}

// Unmarshal parses the first four bytes of b (the R bit is ignored).
func (r *Report) Unmarshal(b []byte) error {
	if len(b) < ReportSize {
		return ErrShortPayload
	}
	_ = b[3] // bounds check hint
	r.Event = Event(b[0])
	r.End = b[1]&0x80 != 0
	r.Volume = b[1] & 0x3f
	r.Duration = uint16(b[2])<<8 | uint16(b[3])
	return nil
}

// CountReports returns how many reports a payload holds: len/4, or
// ErrShortPayload when the payload is empty or not a multiple of four bytes
// (returned as is, so that refusing a packet allocates nothing). RFC 4733
// §2.5.1.5 lets a sender put several reports in one packet.
func CountReports(payload []byte) (int, error) {
	if len(payload) == 0 || len(payload)%ReportSize != 0 {
		return 0, ErrShortPayload
	}
	return len(payload) / ReportSize, nil
}

// ParsePayload appends the reports of a telephone-event payload to dst and
// returns it; it allocates only when dst lacks the capacity (pass a slice
// of a fixed array to keep a hot path allocation-free). On error dst is
// returned unchanged.
func ParsePayload(dst []Report, payload []byte) ([]Report, error) {
	n, err := CountReports(payload)
	if err != nil {
		return dst, err
	}
	for i := range n {
		var r Report
		r.Unmarshal(payload[i*ReportSize:])
		dst = append(dst, r)
	}
	return dst, nil
}

// ReportStart returns the RTP timestamp at which report i of a payload
// starts. RFC 4733 §2.5.1.5: the packet's timestamp is the start of its
// first event, and every report but the last belongs to an event that has
// ended. The wire carries no other start, so a later report's event is
// taken to start where the earlier ones end: the packet's timestamp plus
// the earlier reports' durations. (A sender that left a pause between the
// events makes this early by the pause; [Receiver] allows for that when
// the event's own packets arrive.)
func ReportStart(ts uint32, reports []Report, i int) uint32 {
	for _, r := range reports[:min(i, len(reports))] {
		ts += uint32(r.Duration)
	}
	return ts
}

package rtcpsession

import "time"

// Sender is the sending half of an RTP session: what the sender reports
// of one outbound stream say (RFC 3550 §6.4.1). It counts the packets and
// payload octets sent, and keeps the RTP timestamp of the last packet with
// its send time, from which a report's RTP timestamp is extrapolated to
// the instant of its NTP timestamp.
//
// The zero value is not usable: make one with NewSender. Concurrency: a
// Sender is not safe for concurrent use; it belongs to the goroutine that
// sends the stream (SentRTP is a few stores per packet).
type Sender struct {
	clockRate int

	packets, octets uint64
	lastTS          uint32
	lastAt          time.Duration
	any             bool
	// sentNow: a packet went out since the last report; sentBefore: one
	// went out in the interval before it (RFC 3550 §6.4: an SR is sent if
	// we sent data since the last report or the previous one).
	sentNow, sentBefore bool
}

// NewSender returns a Sender for a stream whose RTP timestamps run at
// clockRate (Hz, > 0).
func NewSender(clockRate int) Sender { return Sender{clockRate: clockRate} }

// SetClockRate changes the clock rate of the stream's RTP timestamps, for a
// stream that keeps its SSRC across a change of codec (RFC 7160): the
// counts go on, and reports extrapolate from the last packet at the new
// rate.
func (s *Sender) SetClockRate(clockRate int) { s.clockRate = clockRate }

// SentRTP accounts for one RTP packet sent with timestamp ts and
// payloadLen octets of payload (RFC 3550 counts payload only: no header,
// padding or SRTP tag) at time at on the session clock.
func (s *Sender) SentRTP(ts uint32, payloadLen int, at time.Duration) {
	s.packets++
	s.octets += uint64(payloadLen)
	s.lastTS, s.lastAt, s.any = ts, at, true
	s.sentNow = true
}

// IsSender reports whether the next report is an SR: a packet went out
// since the last report or in the interval before it.
func (s *Sender) IsSender() bool { return s.sentNow || s.sentBefore }

// Info returns the sender information of a report at now: the NTP time of
// now by clock, the RTP timestamp of the same instant (the last packet's,
// advanced at the clock rate by the time since it went out), and the
// counts modulo 2^32.
func (s *Sender) Info(now time.Duration, clock Clock) SenderInfo {
	ts := s.lastTS
	if s.any && s.clockRate > 0 {
		ts += timestampAt(now-s.lastAt, s.clockRate)
	}
	return SenderInfo{
		NTPTime:     clock.NTP(now),
		RTPTime:     ts,
		PacketCount: uint32(s.packets),
		OctetCount:  uint32(s.octets),
	}
}

// Reported starts the next reporting interval (call it once per report
// sent).
func (s *Sender) Reported() {
	s.sentBefore, s.sentNow = s.sentNow, false
}

// Sent returns the packets and payload octets sent so far (not wrapped).
func (s *Sender) Sent() (packets, octets uint64) { return s.packets, s.octets }

// SentAny reports whether any packet has been sent: RFC 3550 §6.3.7 sends
// a BYE only for a stream that sent RTP or RTCP.
func (s *Sender) SentAny() bool { return s.any }

package rtcpsession

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// Config configures a Session.
type Config struct {
	// SSRC of the stream we send; 0 picks a random one.
	SSRC uint32
	// CNAME is our canonical name (RFC 3550 §6.5.1), in every report.
	// Default: a random one (NewCNAME), as RFC 7022 recommends.
	CNAME string
	// ClockRate of the RTP we send (Hz), for the RTP timestamps of sender
	// reports and the jitter the remote reports. Required.
	ClockRate int
	// InClockRate of the RTP we receive, for the interarrival jitter;
	// default ClockRate. Negative computes none (see
	// ReceiverConfig.ClockRate).
	InClockRate int
	// Clock maps the session clock to wall-clock NTP time; default: the
	// clock reads 0 when New returns.
	Clock Clock
	// Interval sets the report interval.
	Interval IntervalConfig
	// MaxSources and ReducedSize are the Receiver's (ReceiverConfig).
	MaxSources  int
	ReducedSize bool
}

// Session is the RTCP of one RTP session from one endpoint: a Receiver for
// what arrives, a Sender for the stream we send, a Scheduler for when to
// report, and the report itself. It suits a caller that handles the
// session on one goroutine or under one lock; a caller whose receiving and
// sending run on different goroutines uses the parts on their own (as
// package mixer does: the Receiver with the socket reader, the Sender and
// the Scheduler with the tick).
//
// Concurrency: a Session is not safe for concurrent use. Nothing allocates
// after New.
type Session struct {
	Receiver  *Receiver
	Sender    Sender
	Scheduler Scheduler

	ssrc   uint32
	cname  string
	clock  Clock
	blocks []ReportBlock
}

// New returns a Session for cfg. An error matches ErrConfig.
func New(cfg Config) (*Session, error) {
	if cfg.ClockRate <= 0 {
		return nil, fmt.Errorf("%w: ClockRate %d", ErrConfig, cfg.ClockRate)
	}
	if len(cfg.CNAME) > 255 {
		return nil, fmt.Errorf("%w: CNAME of %d bytes (at most 255)", ErrConfig, len(cfg.CNAME))
	}
	if cfg.CNAME == "" {
		cfg.CNAME = NewCNAME()
	}
	for cfg.SSRC == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.SSRC = binary.BigEndian.Uint32(b[:])
	}
	if cfg.Clock.Epoch.IsZero() {
		cfg.Clock.Epoch = time.Now()
	}
	inRate := cfg.InClockRate
	switch {
	case inRate == 0:
		inRate = cfg.ClockRate
	case inRate < 0:
		inRate = 0
	}
	rx, err := NewReceiver(ReceiverConfig{LocalSSRC: cfg.SSRC, ClockRate: inRate, LocalClockRate: cfg.ClockRate,
		Clock: cfg.Clock, MaxSources: cfg.MaxSources, ReducedSize: cfg.ReducedSize})
	if err != nil {
		return nil, err
	}
	sch, err := NewScheduler(cfg.Interval)
	if err != nil {
		return nil, err
	}
	return &Session{Receiver: rx, Sender: NewSender(cfg.ClockRate), Scheduler: sch,
		ssrc: cfg.SSRC, cname: cfg.CNAME, clock: cfg.Clock,
		blocks: make([]ReportBlock, 0, len(rx.sources))}, nil
}

// NewCNAME returns a random canonical name: 16 characters of base64 from
// 96 random bits, RFC 7022 §5's short-term persistent CNAME.
func NewCNAME() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// SSRC returns our SSRC.
func (s *Session) SSRC() uint32 { return s.ssrc }

// CNAME returns our canonical name.
func (s *Session) CNAME() string { return s.cname }

// Clock returns the session's clock mapping.
func (s *Session) Clock() Clock { return s.clock }

// ReceiveRTP is Receiver.ReceiveRTP.
func (s *Session) ReceiveRTP(ssrc uint32, seq uint16, ts uint32, arrival time.Duration) bool {
	return s.Receiver.ReceiveRTP(ssrc, seq, ts, arrival)
}

// ReceiveRTCP is Receiver.ReceiveRTCP, and counts the packet's size for
// the report interval.
func (s *Session) ReceiveRTCP(pkt []byte, arrival time.Duration) (Summary, error) {
	sum, err := s.Receiver.ReceiveRTCP(pkt, arrival)
	if err == nil {
		s.Scheduler.Received(len(pkt))
	}
	return sum, err
}

// SentRTP is Sender.SentRTP.
func (s *Session) SentRTP(ts uint32, payloadLen int, at time.Duration) {
	s.Sender.SentRTP(ts, payloadLen, at)
}

// members is the session's size for the interval: us and the remote's
// sources.
func (s *Session) members() (members, senders int, weSent bool) {
	m, snd := s.Receiver.Members()
	weSent = s.Sender.IsSender()
	if weSent {
		snd++
	}
	return m + 1, snd, weSent
}

// Due reports whether a report should be sent at now, arming the
// schedule on the first call.
func (s *Session) Due(now time.Duration) bool {
	m, snd, we := s.members()
	if !s.Scheduler.Started() {
		s.Scheduler.Start(now, m, snd, we)
		return false
	}
	return s.Scheduler.Due(now, m, snd, we)
}

// Report returns the report to send at now (with a BYE when bye) and
// starts the next reporting interval: an SR if we sent RTP since the
// last report or the one before, else an RR, with a block for every
// source heard since the last report, and our CNAME. Its Blocks alias
// the Session until the next call. Send it with MarshalTo into a buffer
// of MaxSize(MaxSources) bytes, then call Sent.
func (s *Session) Report(now time.Duration, bye bool) Report {
	r := Report{SSRC: s.ssrc, CNAME: s.cname, Bye: bye}
	if s.Sender.IsSender() {
		r.IsSender, r.Sender = true, s.Sender.Info(now, s.clock)
	}
	s.blocks = s.Receiver.AppendBlocks(s.blocks[:0], now)
	r.Blocks = s.blocks
	s.Sender.Reported()
	return r
}

// Sent tells the schedule that a report of size bytes went out at now.
func (s *Session) Sent(now time.Duration, size int) {
	m, snd, we := s.members()
	s.Scheduler.Sent(now, size, m, snd, we)
}

// WriteReport is Report, MarshalTo into buf and Sent in one call: it
// returns the report's size, or io.ErrShortBuffer (nothing sent, the
// interval's statistics lost) when buf is shorter than it.
func (s *Session) WriteReport(buf []byte, now time.Duration, bye bool) (int, error) {
	r := s.Report(now, bye)
	n, err := r.MarshalTo(buf)
	if err != nil {
		return 0, err
	}
	s.Sent(now, n)
	return n, nil
}

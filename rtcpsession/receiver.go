package rtcpsession

import (
	"fmt"
	"time"
)

// MaxSourcesLimit bounds ReceiverConfig.MaxSources.
const MaxSourcesLimit = 256

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// LocalSSRC is the SSRC of the stream we send: report blocks about it
	// are what the remote says about our stream. SetLocalSSRC changes it.
	LocalSSRC uint32
	// ClockRate of the RTP we receive, for the interarrival jitter (RFC
	// 3550 A.8). 0 computes none: report blocks then carry jitter 0 unless
	// the caller fills it from elsewhere (a jitter buffer that computes it
	// already, as the mixer's does).
	ClockRate int
	// LocalClockRate of the RTP we send, to turn the jitter the remote
	// reports about our stream into time. 0 leaves that duration 0.
	LocalClockRate int
	// Clock maps the session clock to NTP time, for round-trip times; it
	// must be the Clock of the sender reports we send.
	Clock Clock
	// MaxSources bounds how many RTP sources are tracked at once (default
	// 1, at most MaxSourcesLimit). A packet from a new SSRC beyond the
	// bound replaces the source heard longest ago, so with 1 a change of
	// SSRC restarts the statistics, as RFC 3550 A.1 does.
	MaxSources int
	// ReducedSize accepts reduced-size RTCP (RFC 5506): see WalkReducedSize.
	ReducedSize bool
}

// Receiver is the receiving half of an RTP session: reception statistics
// of the RTP sources we receive (RFC 3550 A.1, A.3, A.8), and what arrives
// in their RTCP: their sender reports (for the LSR and DLSR of our report
// blocks), what they report about our stream (loss, jitter, round-trip
// time), their CNAME and their BYE.
//
// The remote's own sources, whose BYE counts, are the SSRCs of the RTP it
// sends and the sender SSRC of the first report it sends (a participant
// that only listens sends no RTP; its reports are all it has). The caller
// vouches that what it passes comes from the remote: SRTCP authenticates
// it, or the transport checked its source.
//
// Concurrency: a Receiver is not safe for concurrent use. Its methods run
// under the caller's serialisation, typically the goroutine (or lock) that
// reads the session's socket; nothing allocates after NewReceiver.
type Receiver struct {
	cfg     ReceiverConfig
	sources []source

	peerSSRC uint32 // sender SSRC of the first report
	havePeer bool

	remote RemoteReport
	sender RemoteSender
	cname  [255]byte
	cnameN int
	bye    bool
	reason [255]byte
	reasN  int

	counts RTCPCounts
}

// RTCPCounts counts the RTCP a Receiver took, by packet type.
type RTCPCounts struct {
	// Compound packets accepted, and their bytes.
	Packets, Bytes uint64
	// Packets inside them, by type. Other: APP, XR, RTCP feedback and
	// unknown types, skipped.
	SR, RR, SDES, BYE, Other uint64
	// ByeIgnored counts BYE packets that named none of the remote's own
	// sources.
	ByeIgnored uint64
}

// RemoteReport is what the remote last reported about our stream, in a
// report block of its SR or RR about LocalSSRC.
type RemoteReport struct {
	// Reports counts such blocks; the rest is zero until the first.
	Reports uint64
	// At is when the last arrived (session clock).
	At time.Duration
	// FractionLost is the share of our packets lost in the remote's last
	// interval, in 1/256; CumulativeLost is the total (RFC 3550 A.3).
	FractionLost   uint8
	CumulativeLost int32
	// HighestSeq is the extended highest sequence number it received.
	HighestSeq uint32
	// Jitter is the interarrival jitter it measured, in our timestamp
	// units, and JitterDuration the same in time (needs LocalClockRate).
	Jitter         uint32
	JitterDuration time.Duration
	// RTT is the round-trip time from the last block whose LSR named one
	// of our sender reports (RFC 3550 §6.4.1: arrival − LSR − DLSR), and
	// RTTAt when that block arrived; HasRTT is false until one did. A
	// block that would give a negative time leaves RTT as it was.
	RTT    time.Duration
	RTTAt  time.Duration
	HasRTT bool
}

// RemoteSender is the remote's last sender report.
type RemoteSender struct {
	// Reports counts the SRs received; the rest is zero until the first.
	Reports uint64
	SSRC    uint32
	Info    SenderInfo
	At      time.Duration // when it arrived (session clock)
}

// Loss returns FractionLost as a share, 0..1.
func (r RemoteReport) Loss() float64 { return float64(r.FractionLost) / 256 }

// Summary tells what one compound packet carried.
type Summary struct {
	SR, RR, SDES, BYE, Other int
	// AboutUs: a report block about LocalSSRC (Receiver.Remote updated).
	AboutUs bool
	// Bye: a BYE named one of the remote's own sources (Receiver.Bye).
	Bye bool
	// ByeIgnored counts BYE packets that named none of them.
	ByeIgnored int
}

// NewReceiver returns a Receiver for cfg. An error matches ErrConfig.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.MaxSources == 0 {
		cfg.MaxSources = 1
	}
	switch {
	case cfg.MaxSources < 0 || cfg.MaxSources > MaxSourcesLimit:
		return nil, fmt.Errorf("%w: MaxSources %d (want 1..%d)", ErrConfig, cfg.MaxSources, MaxSourcesLimit)
	case cfg.ClockRate < 0 || cfg.LocalClockRate < 0:
		return nil, fmt.Errorf("%w: clock rates %d, %d", ErrConfig, cfg.ClockRate, cfg.LocalClockRate)
	}
	return &Receiver{cfg: cfg, sources: make([]source, cfg.MaxSources)}, nil
}

// Reconfigure changes the Receiver's configuration, keeping what it has
// received: a new LocalSSRC (our stream restarted under another), clock
// rates (a codec change), Clock, ReducedSize. MaxSources cannot change (0
// keeps it); an error matches ErrConfig and changes nothing.
func (r *Receiver) Reconfigure(cfg ReceiverConfig) error {
	if cfg.MaxSources == 0 {
		cfg.MaxSources = r.cfg.MaxSources
	}
	switch {
	case cfg.MaxSources != r.cfg.MaxSources:
		return fmt.Errorf("%w: MaxSources cannot change (%d to %d)", ErrConfig, r.cfg.MaxSources, cfg.MaxSources)
	case cfg.ClockRate < 0 || cfg.LocalClockRate < 0:
		return fmt.Errorf("%w: clock rates %d, %d", ErrConfig, cfg.ClockRate, cfg.LocalClockRate)
	}
	r.cfg = cfg
	return nil
}

// ReceiveRTP accounts for one RTP packet of ssrc with sequence number seq
// and timestamp ts, arrived at arrival on the session clock. Pass every
// packet that authenticated and parsed, whatever becomes of it next
// (late, duplicate, or of a payload type the application drops, such as
// DTMF events): RFC 3550 counts all of them. It reports whether the
// packet counted (not while the source is on probation, nor a lone packet
// far outside its stream).
func (r *Receiver) ReceiveRTP(ssrc uint32, seq uint16, ts uint32, arrival time.Duration) bool {
	s := r.source(ssrc, seq, arrival)
	s.heard, s.lastHeard = true, arrival
	if !s.updateSeq(seq) {
		return false
	}
	if r.cfg.ClockRate > 0 {
		s.updateJitter(ts, timestampAt(arrival, r.cfg.ClockRate))
	}
	return true
}

// timestampAt converts a time to timestamp units at rate (modulo 2^32).
func timestampAt(d time.Duration, rate int) uint32 {
	sec, ns := int64(d/time.Second), int64(d%time.Second)
	return uint32(sec*int64(rate) + ns*int64(rate)/int64(time.Second))
}

// source returns ssrc's state, creating it (in a free slot, or the one
// heard longest ago) with its first sequence number seq.
func (r *Receiver) source(ssrc uint32, seq uint16, now time.Duration) *source {
	victim := 0
	for i := range r.sources {
		s := &r.sources[i]
		if s.active && s.ssrc == ssrc {
			return s
		}
		if v := &r.sources[victim]; v.active && (!s.active || s.lastHeard < v.lastHeard) {
			victim = i
		}
	}
	s := &r.sources[victim]
	s.start(ssrc, seq)
	s.lastHeard = now
	return s
}

// find returns ssrc's state, if it is a source.
func (r *Receiver) find(ssrc uint32) *source {
	for i := range r.sources {
		if s := &r.sources[i]; s.active && s.ssrc == ssrc {
			return s
		}
	}
	return nil
}

// own reports whether ssrc is one of the remote's own sources.
func (r *Receiver) own(ssrc uint32) bool {
	return (r.havePeer && ssrc == r.peerSSRC) || r.find(ssrc) != nil
}

// ReceiveRTCP takes one compound RTCP packet (decrypted, for SRTCP) that
// arrived at arrival on the session clock: it checks it whole (Walk, or
// WalkReducedSize with ReducedSize) and then applies it. A packet that
// fails is refused whole, changing nothing, with one of Walk's errors
// (unwrapped, matching ErrMalformed). It aliases nothing after it returns.
func (r *Receiver) ReceiveRTCP(pkt []byte, arrival time.Duration) (Summary, error) {
	var w Walker
	var err error
	if r.cfg.ReducedSize {
		w, err = WalkReducedSize(pkt)
	} else {
		w, err = Walk(pkt)
	}
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	for p, ok := w.Next(); ok; p, ok = w.Next() {
		switch p.Type() {
		case TypeSR:
			sr, _ := p.SenderReport()
			sum.SR++
			r.learnPeer(sr.SSRC())
			info := sr.Info()
			if s := r.find(sr.SSRC()); s != nil {
				s.srs++
				s.lastSR, s.lastSRAt = info, arrival
			}
			r.sender.Reports++
			r.sender.SSRC, r.sender.Info, r.sender.At = sr.SSRC(), info, arrival
			for i := range sr.NumBlocks() {
				sum.AboutUs = r.takeBlock(sr.Block(i), arrival) || sum.AboutUs
			}
		case TypeRR:
			rr, _ := p.ReceiverReport()
			sum.RR++
			r.learnPeer(rr.SSRC())
			for i := range rr.NumBlocks() {
				sum.AboutUs = r.takeBlock(rr.Block(i), arrival) || sum.AboutUs
			}
		case TypeSDES:
			sd, _ := p.SourceDescription()
			sum.SDES++
			it := sd.Chunks()
			for c, ok := it.Next(); ok; c, ok = it.Next() {
				if name, ok := c.CNAME(); ok && r.own(c.SSRC) {
					r.cnameN = copy(r.cname[:], name)
				}
			}
		case TypeBYE:
			g, _ := p.Goodbye()
			sum.BYE++
			ours := false
			for i := range g.NumSources() {
				ours = ours || r.own(g.Source(i))
			}
			if ours {
				sum.Bye = true
				r.bye = true
				r.reasN = copy(r.reason[:], g.Reason())
			} else {
				sum.ByeIgnored++
			}
		default:
			sum.Other++
		}
	}
	c := &r.counts
	c.Packets++
	c.Bytes += uint64(len(pkt))
	c.SR += uint64(sum.SR)
	c.RR += uint64(sum.RR)
	c.SDES += uint64(sum.SDES)
	c.BYE += uint64(sum.BYE)
	c.Other += uint64(sum.Other)
	c.ByeIgnored += uint64(sum.ByeIgnored)
	return sum, nil
}

// learnPeer keeps the sender SSRC of the remote's first report.
func (r *Receiver) learnPeer(ssrc uint32) {
	if !r.havePeer {
		r.peerSSRC, r.havePeer = ssrc, true
	}
}

// takeBlock applies a report block if it is about our stream.
func (r *Receiver) takeBlock(b ReportBlock, arrival time.Duration) bool {
	if b.SSRC != r.cfg.LocalSSRC {
		return false
	}
	rm := &r.remote
	rm.Reports++
	rm.At = arrival
	rm.FractionLost, rm.CumulativeLost = b.FractionLost, b.CumulativeLost
	rm.HighestSeq, rm.Jitter = b.HighestSeq, b.Jitter
	if rate := r.cfg.LocalClockRate; rate > 0 {
		rm.JitterDuration = time.Duration(uint64(b.Jitter) * uint64(time.Second) / uint64(rate))
	}
	if b.LSR != 0 {
		// RFC 3550 §6.4.1: RTT = A − LSR − DLSR, in 16.16 seconds of our
		// own clock (LSR is ours, echoed), modulo 2^32.
		a := NTPShort(r.cfg.Clock.NTP(arrival))
		if rtt := a - b.LSR - b.DLSR; int32(rtt) >= 0 {
			rm.RTT, rm.RTTAt, rm.HasRTT = shortToDuration(rtt), arrival, true
		}
	}
	return true
}

// AppendBlocks appends a report block (RFC 3550 A.3) for each valid source
// heard since the last call, with LSR and DLSR from its last SR as of
// now, and starts the next reporting interval for them. It allocates
// nothing when dst has room (MaxSources blocks at most).
func (r *Receiver) AppendBlocks(dst []ReportBlock, now time.Duration) []ReportBlock {
	for i := range r.sources {
		s := &r.sources[i]
		if !s.active || !s.heard || s.probation > 0 {
			continue
		}
		s.heard = false
		b := s.block()
		if s.srs > 0 {
			b.LSR = NTPShort(s.lastSR.NTPTime)
			b.DLSR = durationToShort(now - s.lastSRAt)
		}
		dst = append(dst, b)
	}
	return dst
}

// Members returns how many distinct remote sources the Receiver knows,
// and how many of them sent RTP since the last report, for the RTCP
// interval (RFC 3550 §6.3).
func (r *Receiver) Members() (members, senders int) {
	peerCounted := false
	for i := range r.sources {
		s := &r.sources[i]
		if !s.active {
			continue
		}
		members++
		if s.heard {
			senders++
		}
		peerCounted = peerCounted || (r.havePeer && s.ssrc == r.peerSSRC)
	}
	if r.havePeer && !peerCounted {
		members++
	}
	return members, senders
}

// Source returns the statistics of source ssrc, if it is one.
func (r *Receiver) Source(ssrc uint32) (SourceStats, bool) {
	if s := r.find(ssrc); s != nil {
		return s.stats(r.cfg.ClockRate), true
	}
	return SourceStats{}, false
}

// AppendSources appends the statistics of every source tracked.
func (r *Receiver) AppendSources(dst []SourceStats) []SourceStats {
	for i := range r.sources {
		if s := &r.sources[i]; s.active {
			dst = append(dst, s.stats(r.cfg.ClockRate))
		}
	}
	return dst
}

// Remote returns what the remote last reported about our stream.
func (r *Receiver) Remote() RemoteReport { return r.remote }

// RemoteSender returns the remote's last sender report, from whichever
// SSRC it came.
func (r *Receiver) RemoteSender() RemoteSender { return r.sender }

// PeerSSRC returns the sender SSRC of the remote's first report, if one
// has arrived.
func (r *Receiver) PeerSSRC() (uint32, bool) { return r.peerSSRC, r.havePeer }

// CNAME returns the remote's canonical name from its SDES (for one of its
// own sources), or nil. It aliases the Receiver until the next
// ReceiveRTCP.
func (r *Receiver) CNAME() []byte { return r.cname[:r.cnameN] }

// Bye reports whether the remote has sent a BYE for one of its own
// sources, and its reason (aliasing the Receiver until the next
// ReceiveRTCP).
func (r *Receiver) Bye() (bool, []byte) { return r.bye, r.reason[:r.reasN] }

// Counts returns the RTCP counters.
func (r *Receiver) Counts() RTCPCounts { return r.counts }

package rtcpsession

import "time"

// RFC 3550 A.1's constants: a source is valid after minSequential packets
// in sequence; a jump forward of up to maxDropout, or back by up to
// maxMisorder, is the same stream; anything else is a restart once two
// packets in sequence confirm it.
const (
	maxDropout    = 3000
	maxMisorder   = 100
	minSequential = 2
	seqMod        = 1 << 16
)

// source is the reception state of one RTP source: RFC 3550 A.1 (sequence
// validity and the extended highest sequence number), A.3 (loss) and A.8
// (interarrival jitter), and the last SR it sent.
type source struct {
	ssrc      uint32
	active    bool
	probation int
	maxSeq    uint16
	cycles    uint32 // sequence number wraps, times 2^16
	baseSeq   uint32
	badSeq    uint32 // the sequence number that would confirm a restart; seqMod+1: none

	received                     uint64 // packets counted, duplicates included
	expectedPrior, receivedPrior uint64 // at the last report, for its fraction lost

	transit     int32  // arrival minus RTP timestamp of the last packet, in timestamp units
	haveTransit bool   // transit holds a packet's (not after a restart)
	jitter16    uint64 // interarrival jitter times 16 (A.8's integer form)

	heard     bool // a packet arrived since the last report
	lastHeard time.Duration
	restarts  uint64

	srs      uint64     // SRs received from the source
	lastSR   SenderInfo // the last one
	lastSRAt time.Duration
}

// start makes s a new source: on probation until minSequential packets
// arrive in sequence (A.1).
func (s *source) start(ssrc uint32, seq uint16) {
	*s = source{ssrc: ssrc, active: true}
	s.initSeq(seq)
	s.maxSeq = seq - 1
	s.probation = minSequential
}

// initSeq is A.1's init_seq: the stream (re)starts at seq.
func (s *source) initSeq(seq uint16) {
	s.baseSeq = uint32(seq)
	s.maxSeq = seq
	s.badSeq = seqMod + 1
	s.cycles = 0
	s.received, s.receivedPrior, s.expectedPrior = 0, 0, 0
	s.haveTransit = false
}

// updateSeq is A.1's update_seq: it reports whether the packet counts
// (false while on probation and for a lone packet far outside the stream).
func (s *source) updateSeq(seq uint16) bool {
	udelta := seq - s.maxSeq
	switch {
	case s.probation > 0:
		if seq == s.maxSeq+1 {
			s.probation--
			s.maxSeq = seq
			if s.probation == 0 {
				s.initSeq(seq)
				s.received++
				return true
			}
		} else {
			s.probation = minSequential - 1
			s.maxSeq = seq
		}
		return false
	case udelta < maxDropout:
		if seq < s.maxSeq {
			s.cycles += seqMod // wrapped
		}
		s.maxSeq = seq
	case int(udelta) <= seqMod-maxMisorder:
		// A large jump: the sender restarted, or this is a stray packet.
		// Restart only when the next packet follows this one.
		if uint32(seq) != s.badSeq {
			s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return false
		}
		s.initSeq(seq)
		s.restarts++
	default:
		// A duplicate or a packet reordered by up to maxMisorder: counted.
	}
	s.received++
	return true
}

// updateJitter is A.8: the interarrival jitter from the packet's RTP
// timestamp ts and its arrival time, both in timestamp units.
func (s *source) updateJitter(ts, arrival uint32) {
	transit := int32(arrival - ts)
	if !s.haveTransit {
		s.transit, s.haveTransit = transit, true
		return
	}
	d := int64(transit) - int64(s.transit)
	s.transit = transit
	if d < 0 {
		d = -d
	}
	// J += (|D| - J)/16, kept times 16 in integers (A.8). |D| of hostile
	// timestamps is below 2^32, so J16 stays below 2^36: no overflow.
	old := s.jitter16
	s.jitter16 = old + uint64(d) - (old+8)>>4
}

// jitter returns the interarrival jitter in timestamp units.
func (s *source) jitter() uint32 { return uint32(min(s.jitter16>>4, 0xffffffff)) }

// extHighest is the extended highest sequence number received.
func (s *source) extHighest() uint32 { return s.cycles + uint32(s.maxSeq) }

// expected is how many packets the source sent since its (re)start.
func (s *source) expected() uint64 {
	if s.probation > 0 {
		return 0
	}
	return uint64(s.extHighest()-s.baseSeq) + 1
}

// block computes the source's report block (A.3) and starts the next
// interval. LSR and DLSR are left to the caller.
func (s *source) block() ReportBlock {
	expected := s.expected()
	lost := int64(expected) - int64(s.received)
	expInt := int64(expected) - int64(s.expectedPrior)
	recvInt := int64(s.received) - int64(s.receivedPrior)
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInt := expInt - recvInt; expInt > 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/expInt, 255))
	}
	return ReportBlock{
		SSRC:           s.ssrc,
		FractionLost:   fraction,
		CumulativeLost: int32(max(min(lost, 0x7fffff), -0x800000)),
		HighestSeq:     s.extHighest(),
		Jitter:         s.jitter(),
	}
}

// SourceStats is what a Receiver knows about one RTP source it receives.
type SourceStats struct {
	SSRC uint32
	// Valid: two packets in sequence have arrived (RFC 3550 A.1); until
	// then the source is on probation and its packets are not counted.
	Valid bool
	// Received counts packets since the stream (re)started, duplicates
	// included; Expected is how many the sender sent in that time (from the
	// sequence numbers); Lost is their difference (negative with
	// duplicates), as RFC 3550 A.3 computes the cumulative loss.
	Received, Expected uint64
	Lost               int64
	// HighestSeq is the extended highest sequence number received.
	HighestSeq uint32
	// Jitter is RFC 3550's interarrival jitter in timestamp units, and
	// JitterDuration in time; both 0 when the Receiver computes none.
	Jitter         uint32
	JitterDuration time.Duration
	// Restarts counts confirmed large sequence jumps (A.1).
	Restarts  uint64
	LastHeard time.Duration
	// SenderReports counts the SRs the source sent; LastSR is the last
	// one's sender information, arrived at LastSRAt.
	SenderReports uint64
	LastSR        SenderInfo
	LastSRAt      time.Duration
}

func (s *source) stats(clockRate int) SourceStats {
	st := SourceStats{
		SSRC: s.ssrc, Valid: s.probation == 0,
		Received: s.received, Expected: s.expected(), HighestSeq: s.extHighest(),
		Jitter: s.jitter(), Restarts: s.restarts, LastHeard: s.lastHeard,
		SenderReports: s.srs, LastSR: s.lastSR, LastSRAt: s.lastSRAt,
	}
	st.Lost = int64(st.Expected) - int64(st.Received)
	if clockRate > 0 {
		st.JitterDuration = time.Duration(uint64(st.Jitter) * uint64(time.Second) / uint64(clockRate))
	}
	return st
}

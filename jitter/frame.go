package jitter

import "time"

// Packet is one received RTP packet as Push takes it. The buffer copies what
// it keeps, so the caller may reuse the Packet and its Payload as soon as
// Push returns.
type Packet struct {
	SSRC           uint32
	SequenceNumber uint16
	Timestamp      uint32
	Marker         bool
	PayloadType    uint8
	// AudioLevel is the RFC 6464 level in −dBov (0 loudest … 127 silence),
	// or −1 when the packet carries no audio-level extension. With Voice it
	// tells the buffer where it may drop or insert audio unheard.
	AudioLevel int8
	// Voice is the RFC 6464 V flag: the sender's voice activity detector
	// says the packet holds speech. Ignored when AudioLevel is −1.
	Voice bool
	// Duration is the audio the payload holds, in RTP timestamp ticks, when
	// the caller knows it (G.711: the payload length; Opus: from the TOC
	// byte). 0 lets the buffer learn it from timestamp deltas.
	Duration uint32
	Payload  []byte
}

// Kind says what a Frame asks the caller to play.
type Kind uint8

const (
	// KindEmpty: nothing to play yet: no packet has arrived, or the first
	// ones are still being held for the start delay. Duration is 0; stop
	// popping for this tick and play silence.
	KindEmpty Kind = iota
	// KindPacket: decode Payload.
	KindPacket
	// KindLost: the packet for this stretch never came (a later one did).
	// When NextAvailable is set, Next holds the following packet so an Opus
	// decoder can rebuild this frame from its in-band FEC; otherwise run the
	// decoder's packet loss concealment.
	KindLost
	// KindConceal: nothing arrived for this stretch while the talker was
	// talking: the buffer ran dry, or it is stretching its delay. Run the
	// decoder's packet loss concealment. Nothing is known to be lost.
	KindConceal
	// KindGap: silence: a DTX or voice-activity gap, packets lost while
	// the talker was quiet (quiet before the loss and after it: RFC 6464
	// levels or DTX), or silence the buffer inserted to grow its delay.
	// Play comfort noise or silence.
	KindGap
)

var kindNames = [...]string{"empty", "packet", "lost", "conceal", "gap"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(?)"
}

// Frame is what Pop returns: one stretch of the playout timeline.
type Frame struct {
	Kind Kind
	// Payload is the packet to decode (KindPacket). It aliases the buffer's
	// slot and stays valid until the next Pop.
	Payload []byte
	// Timestamp and SequenceNumber are the sender's numbers for KindPacket;
	// for the other kinds they are the buffer's estimate of where the
	// stretch sits in the sender's numbering.
	Timestamp      uint32
	SequenceNumber uint16
	SSRC           uint32
	Marker         bool
	PayloadType    uint8
	AudioLevel     int8
	Voice          bool
	// Duration is how many RTP ticks this frame covers. The caller plays
	// that much (decoded, concealed or silent) audio before the next frame.
	// It is 0 only for KindEmpty.
	Duration uint32
	// NextAvailable (KindLost only): the packet after the lost one is
	// buffered, and Next is its payload, valid until the next Pop.
	NextAvailable bool
	Next          []byte
	// Stretch is the buffer's request to change its delay by time-scaling
	// the audio: play what is pending (this frame and any audio not yet
	// played) this much longer when positive, this much shorter when
	// negative, if that can be done unheard; 0 asks for nothing. Only
	// KindPacket frames carry one, of at most 15 ms (up to the frame's
	// Duration for a quiet packet, whose audio changes unheard); what the
	// caller applies shrinks the requests after it, so that changes add up
	// to at most a quarter of the audio played. The
	// caller may apply any part of it, from none to all, and reports what
	// it applied with Buffer.Stretched. A caller that does not time-scale
	// ignores it: the buffer then changes its delay by whole frames, as
	// the package documentation describes.
	Stretch time.Duration
}

// Stats is a snapshot of a Buffer's counters. Each counter is exact, but
// counters written by the producer and by the consumer are read one after
// another, so a snapshot taken while both run may be a few packets apart.
type Stats struct {
	Received uint64 // Push calls
	Played   uint64 // packets returned as KindPacket
	// Lost counts sequence numbers never received in time, as RTCP
	// counts losses: those played as KindLost frames, and those whose
	// stretch the buffer had already filled while it waited for them
	// (KindConceal or KindGap frames, counted there) or passed in
	// silence (a loss in a pause plays as KindGap). So Lost + Concealed counts some stretches twice: the
	// share of the audio concealed is that of the KindLost and
	// KindConceal frames among the frames played, which a caller counts
	// as it plays them.
	Lost      uint64
	Late      uint64 // packets that arrived after their playout time, dropped
	Duplicate uint64 // packets received twice, dropped
	Reordered uint64 // packets that arrived after a higher sequence number
	Overflow  uint64 // packets refused because the ring was full (ErrFull)
	Invalid   uint64 // nil or oversize packets, and lone packets far outside the stream that were not confirmed by a second
	Resyncs   uint64 // restarts on an SSRC change or a confirmed large jump
	Concealed uint64 // KindConceal frames returned
	Dropped   uint64 // packets discarded unplayed to shrink the delay
	Buffered  uint64 // packets held now

	SilenceInserted time.Duration // silence added to grow the delay
	SilenceRemoved  time.Duration // silence skipped to shrink the delay
	// Lengthened and Shortened add up what the consumer reported with
	// Buffer.Stretched: audio it played longer or shorter than the
	// frames' Durations.
	Lengthened, Shortened time.Duration

	Jitter         uint32        // RFC 3550 interarrival jitter in timestamp ticks
	JitterDuration time.Duration // the same in time
	Delay          time.Duration // current buffering delay beyond the fastest recent packet
	TargetDelay    time.Duration // what the buffer steers Delay towards
	FrameDuration  time.Duration // packet duration in use (learnt or given)
	// ClockDrift is the estimated rate error of the sender's clock against
	// the arrival clock: +0.01 when it runs 1% fast. The buffer absorbs it by
	// dropping and inserting audio in silence; a mixer that resamples could
	// use it to absorb it smoothly instead.
	ClockDrift float64
}

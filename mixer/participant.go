package mixer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// Participant is one leg of a conference: packets in through WriteRTP,
// mixed packets out through its Sink.
//
// Concurrency: WriteRTP and WriteRTPAt may be called from any goroutine
// (typically the one reading the participant's socket); calls are serialised
// by a mutex that only the inbound side takes, so the tick never waits for
// it. SetMuted, SetDeaf, SetGainIn, SetGainOut, Stats and Leave may be called
// from any goroutine at any time. Everything else in the struct belongs to
// the conference's tick.
type Participant struct {
	conf *Conference
	id   string
	cfg  ParticipantConfig

	// Control, written from any goroutine.
	muted, deaf     atomic.Bool
	gainIn, gainOut atomic.Int32 // Q16
	left            atomic.Bool

	// Inbound side, serialised by inMu.
	inMu      sync.Mutex
	hdr       rtp.Header
	unprotect *srtp.Unprotector
	jpkt      jitter.Packet
	jb        *jitter.Buffer
	inSSRC    atomic.Uint32

	stats participantCounters

	// Everything below belongs to the tick goroutine.
	rate      int // conference rate this participant is set up for
	frame     int // samples per tick at rate
	dec       codec.Decoder
	fec       codec.FECDecoder
	decRate   int
	inRes     *resample.Resampler // decRate → rate; nil when equal
	decBuf    []int16             // decoder output when resampling
	fifo      []int16             // decoded PCM at rate, fifo[:fifoLen]
	fifoLen   int
	owed      int // samples of silence owed ahead of fifo (skipped decodes)
	stale     bool
	pend      [maxPending]pendingFrame
	npend     int
	arena     []byte // payload copies for pend, reset every tick
	pcmFrame  []int16
	framePCM  bool // pcmFrame holds this tick's audio
	decodedIn bool // pending frames were decoded in the pull phase

	// Level and talking.
	extLevel   bool // this tick's level came from RFC 6464
	level      int  // this tick's level, -dBov
	smooth     float64
	talking    bool
	aboveTicks int
	belowTicks int

	// Speaker state.
	speaker     bool
	leaving     bool // ramping out this tick
	louderTicks int
	curGain     int32 // gain applied last tick (Q16), for ramps
	contrib     []int16
	speakSince  time.Duration

	// Outbound.
	group   *encodeGroup
	key     groupKey
	enc     codec.Encoder // own encoder while speaking, built on first use
	encRate int
	outRes  *resample.Resampler // rate → encRate for the own mix
	mix     []int16
	resBuf  []int16
	payload []byte
	limiter pcm.Limiter
	noise   noiseGen
	protect *srtp.Protector
	pkt     []byte
	out     outStream
	// ownActive: the own encoder was used last tick; when false its state
	// is stale and it is reset before use.
	ownActive bool
}

// maxPending bounds the packets popped for one tick: 60 ms ticks of 10 ms
// packets need 6; the rest is margin for odd senders.
const maxPending = 12

// pendingFrame is a frame popped from the jitter buffer whose decoding may
// wait until speakers are chosen. Payloads alias the jitter buffer's slot;
// when a tick pops again, the earlier ones are first copied into the
// participant's arena, because the next Pop may reuse their slot.
type pendingFrame struct {
	kind     jitter.Kind
	payload  []byte
	next     []byte // FEC source when the frame is lost and the next is here
	cn       bool   // comfort noise packet: a silence gap
	samples  int    // duration at the conference rate
	rtpTicks uint32
}

// outStream is the RTP state of one outbound stream: continuous sequence
// numbers and timestamps whatever encoder produced the payload.
type outStream struct {
	ssrc        uint32
	seq         uint16
	ts          uint32
	tsStep      uint32
	marker      bool // next packet starts a talkspurt
	wasSilent   bool
	hdr         outHeader
	csrcScratch [maxCSRC]uint32
	lvlScratch  [maxCSRC]uint8
}

type participantCounters struct {
	packetsIn, bytesIn       atomic.Uint64
	packetsOut, bytesOut     atomic.Uint64
	malformed, wrongPT       atomic.Uint64
	srtpAuth, srtpReplay     atomic.Uint64
	srtpOther                atomic.Uint64
	jitterRejected           atomic.Uint64
	decodeErrors             atomic.Uint64
	encodeErrors, sinkErrors atomic.Uint64
	protectErrors            atomic.Uint64
	fecRecovered, concealed  atomic.Uint64
	skippedDecodes           atomic.Uint64
	talkTicks                atomic.Uint64
	level                    atomic.Int32
	talking, speaking        atomic.Bool
}

// ParticipantStats is a snapshot of one participant's counters.
type ParticipantStats struct {
	ID         string
	InCodec    string
	OutCodec   string
	PacketsIn  uint64
	BytesIn    uint64
	PacketsOut uint64
	BytesOut   uint64
	// Inbound packets dropped before the jitter buffer.
	Malformed, WrongPayloadType              uint64
	SRTPAuthFailures, SRTPReplays, SRTPOther uint64
	JitterRejected                           uint64
	// Decoding.
	DecodeErrors, FECRecovered, Concealed, SkippedDecodes uint64
	// Outbound failures.
	EncodeErrors, ProtectErrors, SinkErrors uint64
	Jitter                                  jitter.Stats
	TalkTime                                time.Duration
	Level                                   int // smoothed, -dBov (127 silence)
	Talking, Speaking                       bool
	Muted, Deaf, ListenOnly                 bool
}

// ID returns the participant's ID.
func (p *Participant) ID() string { return p.id }

// Config returns the configuration the participant joined with.
func (p *Participant) Config() ParticipantConfig { return p.cfg }

// SSRC returns the outbound SSRC.
func (p *Participant) SSRC() uint32 { return p.out.ssrc }

// SetMuted sets whether others hear the participant.
func (p *Participant) SetMuted(v bool) { p.muted.Store(v) }

// SetDeaf sets whether the participant hears the conference.
func (p *Participant) SetDeaf(v bool) {
	if p.deaf.Swap(v) != v {
		p.conf.regroup.Store(true)
	}
}

// SetGainIn sets the gain (dB, -60..+24) applied to what the participant sends.
func (p *Participant) SetGainIn(db float64) error {
	g, err := gainQ16(db)
	if err == nil {
		p.gainIn.Store(g)
	}
	return err
}

// SetGainOut sets the gain (dB, -60..+24) applied to what the participant hears.
func (p *Participant) SetGainOut(db float64) error {
	g, err := gainQ16(db)
	if err == nil && p.gainOut.Swap(g) != g {
		p.conf.regroup.Store(true)
	}
	return err
}

const unity = pcm.Unity

func gainQ16(db float64) (int32, error) {
	if math.IsNaN(db) || db < -60 || db > 24 {
		return 0, fmt.Errorf("%w: gain %v dB (want -60..+24)", errConfig, db)
	}
	return pcm.GainFromDB(db), nil
}

// Leave removes the participant from its conference at the next tick. It is
// idempotent; WriteRTP returns ErrClosed afterwards.
func (p *Participant) Leave() {
	if p.left.Swap(true) {
		return
	}
	p.conf.enqueue(func(c *Conference, now time.Duration) { c.remove(p, now) })
}

// WriteRTP takes one inbound RTP or SRTP packet, stamped with the
// conference clock. It may modify buf (SRTP is decrypted in place) and does
// not keep it. Bad packets are dropped, counted, and reported by the error.
func (p *Participant) WriteRTP(buf []byte) error {
	return p.WriteRTPAt(p.conf.cfg.Clock(), buf)
}

// WriteRTPAt is WriteRTP with an explicit arrival time on the conference
// clock, for virtual-time tests and for transports that stamp packets.
func (p *Participant) WriteRTPAt(now time.Duration, buf []byte) error {
	if p.left.Load() {
		return ErrClosed
	}
	p.inMu.Lock()
	defer p.inMu.Unlock()
	p.stats.packetsIn.Add(1)
	p.stats.bytesIn.Add(uint64(len(buf)))

	if len(buf) < 12 || buf[0]>>6 != 2 {
		p.stats.malformed.Add(1)
		return errShortPacket
	}
	pkt := buf
	if p.unprotect != nil {
		var err error
		pkt, err = p.unprotect.UnprotectRTP(buf[:0], buf, &p.hdr)
		if err != nil {
			switch {
			case errors.Is(err, srtp.ErrAuth):
				p.stats.srtpAuth.Add(1)
			case errors.Is(err, srtp.ErrReplay):
				p.stats.srtpReplay.Add(1)
			default:
				p.stats.srtpOther.Add(1)
			}
			return err
		}
	} else if _, err := srtp.Payload(pkt); err != nil {
		// Checked before pion's parser, whose length errors are formatted
		// (allocated): a flood of bad packets must cost no allocation.
		p.stats.malformed.Add(1)
		return errShortPacket
	} else if _, err := p.hdr.Unmarshal(pkt); err != nil {
		p.stats.malformed.Add(1)
		return errShortPacket
	}
	hlen := p.hdr.MarshalSize()
	end := len(pkt)
	if p.hdr.Padding {
		if end <= hlen || int(pkt[end-1]) == 0 || int(pkt[end-1]) > end-hlen {
			p.stats.malformed.Add(1)
			return errPadding
		}
		end -= int(pkt[end-1])
	}
	if hlen > end {
		p.stats.malformed.Add(1)
		return errShortPacket
	}
	pt := p.hdr.PayloadType
	if pt != p.cfg.InPayloadType && (p.cfg.CNPayloadType == 0 || pt != p.cfg.CNPayloadType) {
		p.stats.wrongPT.Add(1)
		return errPayloadType
	}
	jp := &p.jpkt
	jp.SSRC = p.hdr.SSRC
	jp.SequenceNumber = p.hdr.SequenceNumber
	jp.Timestamp = p.hdr.Timestamp
	jp.Marker = p.hdr.Marker
	jp.PayloadType = pt
	jp.AudioLevel, jp.Voice = -1, false
	if id := p.cfg.InAudioLevelID; id != 0 && p.hdr.Extension {
		if e := p.hdr.GetExtension(id); len(e) >= 1 {
			jp.AudioLevel = int8(e[0] & 0x7f)
			jp.Voice = e[0]&0x80 != 0
		}
	}
	jp.Payload = pkt[hlen:end]
	p.inSSRC.Store(p.hdr.SSRC)
	if err := p.jb.Push(now, jp); err != nil {
		p.stats.jitterRejected.Add(1)
		return err
	}
	return nil
}

// Stats returns a snapshot of the participant's counters. Safe from any
// goroutine.
func (p *Participant) Stats() ParticipantStats {
	s := &p.stats
	return ParticipantStats{
		ID:               p.id,
		InCodec:          p.cfg.In.SDPName(),
		OutCodec:         p.cfg.Out.SDPName(),
		PacketsIn:        s.packetsIn.Load(),
		BytesIn:          s.bytesIn.Load(),
		PacketsOut:       s.packetsOut.Load(),
		BytesOut:         s.bytesOut.Load(),
		Malformed:        s.malformed.Load(),
		WrongPayloadType: s.wrongPT.Load(),
		SRTPAuthFailures: s.srtpAuth.Load(),
		SRTPReplays:      s.srtpReplay.Load(),
		SRTPOther:        s.srtpOther.Load(),
		JitterRejected:   s.jitterRejected.Load(),
		DecodeErrors:     s.decodeErrors.Load(),
		FECRecovered:     s.fecRecovered.Load(),
		Concealed:        s.concealed.Load(),
		SkippedDecodes:   s.skippedDecodes.Load(),
		EncodeErrors:     s.encodeErrors.Load(),
		ProtectErrors:    s.protectErrors.Load(),
		SinkErrors:       s.sinkErrors.Load(),
		Jitter:           p.jb.Stats(),
		TalkTime:         time.Duration(s.talkTicks.Load()) * p.conf.cfg.Ptime,
		Level:            int(s.level.Load()),
		Talking:          s.talking.Load(),
		Speaking:         s.speaking.Load(),
		Muted:            p.muted.Load(),
		Deaf:             p.deaf.Load(),
		ListenOnly:       p.cfg.ListenOnly,
	}
}

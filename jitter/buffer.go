package jitter

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/internal/seqnum"
)

// Slot states, in the low two bits of slot.state; the rest is the
// sequence position (unwrapped, remapped across resyncs) the state is about.
const (
	stFull = 1 // the producer stored this position; the consumer may read it
	stGone = 2 // the consumer passed this position without it (lost): a
	//            packet that comes later is late
)

// Slot flag bits.
const (
	flagMarker = 1 << iota
	flagVoice
	// flagQuiet: the packet is known to hold silence (an RFC 6464 level
	// at or below QuietLevel, or the V flag clear from a sender that sets
	// it) or is a DTX or comfort noise packet (see Buffer.silent): the
	// talker has stopped.
	flagQuiet
)

// slot is one ring entry. The producer fills the plain fields and the
// payload bytes, then publishes them with a compare-and-swap of state; the
// consumer reads them only after loading that state, and the producer does
// not touch the slot again until the consumer's head has passed it. The
// struct fills a cache line so that neighbouring slots, written and read by
// different cores, do not share one.
type slot struct {
	state   atomic.Uint64
	ts      int64  // unwrapped, remapped timestamp
	buf     []byte // the slot's payload storage, MaxPayload bytes (set in New)
	ssrc    uint32
	origTS  uint32
	origSeq uint16
	n       uint16 // payload length
	dur     uint32 // Packet.Duration, 0 if unknown
	pt      uint8
	level   int8
	flags   uint8
	arr     uint32 // arrival time >> arrShift, wrapping (see waited)
	_       [64 - 63]byte
}

// A slot keeps its packet's arrival to 2^arrShift ns (66 µs) in 32 bits,
// which wrap after 78 hours; waited is exact for differences of less than
// half that.
const arrShift = 16

// pad keeps fields written by different goroutines on different cache
// lines (128 bytes, as sync.Pool does, because adjacent-line prefetch pairs
// lines on x86).
type pad [128]byte

// seqBase is where the first packet's sequence number is placed; positions
// below it (down to seqBase − Buffer.reserve) hold packets reordered
// before it, and the rest of the ring those after it: before playback
// starts, the ring holds that much audio ahead of the first packet (a
// source that sends faster than real time fills it at once). A ring sized
// for MaxDelay (see capacityFor) keeps Capacity/reorderShare for
// reordering, so that it holds MaxDelay ahead from the start; a smaller
// one, given in Config.Capacity, which cannot hold MaxDelay anyway, keeps
// half.
const (
	seqBase      = 1 << 24
	reorderShare = 8
)

// Buffer is a single-producer, single-consumer adaptive jitter buffer.
//
// Concurrency contract: exactly one goroutine (the producer, typically the
// one reading the socket) calls Push; exactly one goroutine (the consumer,
// the mixer tick) calls Pop. The two may run at the same time without any
// lock. Stats may be called from any goroutine at any time. Reset requires
// exclusive access: neither Push nor Pop may run during it. New allocates
// everything; Push and Pop never allocate.
//
// Both sides pass now, a time.Duration read from one shared monotonic clock
// (or a virtual clock in tests): the producer the packet's arrival time, the
// consumer the time the frame it pops starts to play.
type Buffer struct {
	cfg        Config
	mask       uint64
	capacity   uint64
	reserve    uint64 // positions kept before the first packet
	maxPayload int
	ring       []slot

	nsPerTick     float64
	ticksPerNs    float64
	frameTicks    int64
	maxFrameTicks int64
	resyncNs      int64
	resyncTicks   int64
	minDelay      int64
	maxDelay      int64
	quietLevel    int8
	cnPT          uint8

	_ pad
	// Written by the producer only.
	tail   atomic.Uint64 // newest stored position + 1, published every tailBatch (0: none yet)
	beyond atomic.Uint64 // newest position refused as overflow + 1 (0: none; see Buffer.restart)
	target atomic.Int64  // target delay, ns
	minT   atomic.Int64  // reference (minimum recent) transit, ns
	jitter atomic.Uint64 // RFC 3550 jitter in ns, times 16
	drift  atomic.Uint64 // estimated sender clock rate error, float64 bits
	burst  atomic.Int64  // arrival of the latest packet of a burst faster than real time, ns
	pc     prodCounters

	_ pad
	// Written by the consumer only.
	head   atomic.Uint64 // lowest position the consumer may still read
	delay  atomic.Int64  // current delay, ns
	frameT atomic.Int64  // packet duration in use, ticks
	cc     consCounters

	_ pad
	p producer
	_ pad
	c consumer
	_ pad
}

// Counters are single-writer atomics. On amd64 every atomic store is a
// locked instruction, so the common path touches as few as it can: Push
// counts only received (stored is derived from the refusals), Pop only
// played (consumed is derived likewise).
type prodCounters struct {
	received, late, duplicate, reordered, overflow, invalid, resyncs, pending atomic.Uint64
}

type consCounters struct {
	played, lost, late, concealed, dropped, inserted, removed, lengthened, shortened atomic.Uint64
}

// inc adds one to a counter that only the calling goroutine writes: a plain
// load and store, with no locked instruction.
func inc(a *atomic.Uint64) { a.Store(a.Load() + 1) }

func add(a *atomic.Uint64, n uint64) { a.Store(a.Load() + n) }

// producer is state only Push touches.
type producer struct {
	started bool
	ssrc    uint32
	// The newest position and timeline timestamp seen (stored or not),
	// with the sender's numbers they came from: the sender's numbers are
	// unwrapped around them, each to the extension nearest to the newest.
	lastU, lastTS int64
	lastSeq       uint16
	lastTS32      uint32
	maxU          int64 // newest position stored
	maxTS         int64 // its timeline timestamp
	maxArr        int64 // its arrival
	maxDur        int64 // its duration, ticks
	head          uint64
	// vad: the sender has set the RFC 6464 V flag, so a clear one says
	// silence. Until then it says nothing: with vad=off (RFC 6464 §4) the
	// flag is always clear, and loud speech must not count as a pause.
	vad bool

	// A packet far outside the stream waits here for a second one that
	// confirms the jump before the buffer resyncs to it.
	pend      Packet
	pendBuf   []byte
	pendArr   int64
	pendValid bool

	est estimator

	tail uint64 // newest stored position + 1

	// Values last published, to skip stores that would change nothing.
	pubTail            uint64
	pubBeyond          uint64
	pubTarget, pubMinT int64
	pubSlope           float64
	pubJitter          uint64
	pubBurst           int64
}

// consumer is state only Pop touches.
type consumer struct {
	playing   bool
	next      uint64 // next position to play
	published uint64 // head as last stored
	tail      uint64 // cached producer tail
	playTS    int64  // playout cursor on the timeline, ticks
	outBase   int64  // output clock: the audio handed out ends at
	outTicks  int64  // outBase + outTicks (ns + ticks, to keep it exact)
	learnt    int64  // packet duration in use, ticks
	// learnt in ns, and popPacket's thresholds for dropping a packet that
	// long: the least excess delay for any drop, and for an audible one
	// the least excess beyond the packet itself.
	learntNs, dropAt, forceMin int64
	tol                        int64 // timestamp slack treated as contiguous, ticks
	cand                       int64 // candidate new duration
	candN                      int
	talking                    bool
	run                        int64 // ticks concealed in a row
	held                       int64 // ticks played while holding the cursor for a missing packet
	pubDelay                   int64 // delay as last published
	forcedAt                   int64 // output time of the last drop of a packet that was not quiet

	// The caller's tick, learnt from the times it pops at (see clock).
	now      int64 // the last Pop's now
	tick     int64 // ns between the caller's ticks, to tickGrain
	tickAvg  int64 // their average
	tickCand int64 // a different interval seen once, adopted if seen again
	// Time-scaling (see stretch): the most the next request may ask for,
	// ns, refilled as audio plays; and the requests made since the caller
	// last reported a change, which tells a caller that time-scales.
	credit int64
	asked  int
	// Audio handed out since the last request to lengthen, and to shorten
	// by half a tick or more, ns.
	sinceGrow, sinceShrink int64
	// Whether a bursty source's dip is on (see burstDip).
	dipping bool
	// How often the talker paused (a timestamp gap between consecutive
	// packets) and lost packets, recently: whether running dry is more
	// likely a pause than a loss (see underrun).
	pauses, losses int32

	// Last played packet, to number the frames that are not packets.
	ssrc   uint32
	pt     uint8
	tsOff  uint32 // sender timestamp − timeline timestamp
	seqOff uint16 // sender sequence number − position
}

// setLearnt caches what Pop derives from the learnt duration, durNs long.
func (c *consumer) setLearnt(durNs int64) {
	c.learntNs, c.dropAt, c.forceMin = durNs, durNs+durNs/4, max(durNs, forceExcessMin)
}

// New returns a Buffer for cfg, with all its memory allocated.
func New(cfg Config) (*Buffer, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	b := &Buffer{
		cfg:        cfg,
		capacity:   uint64(cfg.Capacity),
		mask:       uint64(cfg.Capacity - 1),
		maxPayload: cfg.MaxPayload,
		ring:       make([]slot, cfg.Capacity),
		nsPerTick:  float64(time.Second) / float64(cfg.ClockRate),
		ticksPerNs: float64(cfg.ClockRate) / float64(time.Second),
		minDelay:   int64(cfg.MinDelay),
		maxDelay:   int64(cfg.MaxDelay),
		quietLevel: int8(cfg.QuietLevel),
		cnPT:       cfg.CNPayloadType,
	}
	data := make([]byte, cfg.Capacity*cfg.MaxPayload)
	for i := range b.ring {
		b.ring[i].buf = data[i*cfg.MaxPayload : (i+1)*cfg.MaxPayload : (i+1)*cfg.MaxPayload]
	}
	b.frameTicks = b.nsToTicks(int64(cfg.FrameDuration))
	b.reserve = b.capacity / 2
	if cfg.Capacity >= capacityFor(cfg.MaxDelay, cfg.FrameDuration) {
		b.reserve = b.capacity / reorderShare
	}
	b.maxFrameTicks = b.nsToTicks(int64(max(maxFrameTime, cfg.FrameDuration)))
	b.resyncNs = int64(cfg.ResyncThreshold)
	b.resyncTicks = b.nsToTicks(b.resyncNs)
	b.p.pendBuf = make([]byte, cfg.MaxPayload)

	b.p.est.init(cfg, b.nsPerTick)
	b.Reset()
	return b, nil
}

// Config returns the configuration in use, defaults filled in.
func (b *Buffer) Config() Config { return b.cfg }

// Reset empties the buffer and forgets everything learnt, keeping its
// memory, so one Buffer can serve a new stream. It must not run
// concurrently with Push or Pop (or another Reset); Stats may run.
func (b *Buffer) Reset() {
	for i := range b.ring {
		b.ring[i].state.Store(0)
	}
	pendBuf, est := b.p.pendBuf, b.p.est
	b.p = producer{pendBuf: pendBuf, est: est, pubTarget: int64(b.cfg.StartDelay), pubBurst: math.MinInt64 / 2}
	b.p.est.reset()
	b.c = consumer{forcedAt: math.MinInt64 / 2, now: math.MinInt64, tick: b.ticksToNs(b.frameTicks),
		tickAvg: b.ticksToNs(b.frameTicks), sinceGrow: stretchHold, sinceShrink: stretchHold}
	h := uint64(seqBase) - b.reserve
	b.p.head = h
	b.c.next, b.c.published = h, h
	b.c.learnt = b.frameTicks
	b.c.tol = b.frameTicks / 4
	b.c.setLearnt(b.ticksToNs(b.frameTicks))
	b.head.Store(h)
	b.tail.Store(0)
	b.beyond.Store(0)
	b.target.Store(int64(b.cfg.StartDelay))
	b.minT.Store(0)
	b.jitter.Store(0)
	b.drift.Store(0)
	b.burst.Store(math.MinInt64 / 2)
	b.delay.Store(0)
	b.frameT.Store(b.frameTicks)
	for _, a := range []*atomic.Uint64{
		&b.pc.received, &b.pc.late, &b.pc.duplicate, &b.pc.reordered,
		&b.pc.overflow, &b.pc.invalid, &b.pc.resyncs, &b.pc.pending,
		&b.cc.played, &b.cc.lost, &b.cc.late, &b.cc.concealed, &b.cc.dropped,
		&b.cc.inserted, &b.cc.removed, &b.cc.lengthened, &b.cc.shortened,
	} {
		a.Store(0)
	}
}

func (b *Buffer) ticksToNs(t int64) int64  { return int64(float64(t) * b.nsPerTick) }
func (b *Buffer) nsToTicks(ns int64) int64 { return int64(float64(ns) * b.ticksPerNs) }

// ---------------------------------------------------------------- producer

// Push stores a copy of p, which arrived at now. Producer goroutine only.
//
// It returns ErrTooLarge, ErrLate, ErrDuplicate or ErrFull when it drops
// the packet (each also counted in Stats). A packet far outside the stream
// (another SSRC, or a jump in sequence number or timestamp beyond
// Config.ResyncThreshold) is held until the next packet confirms the jump,
// then the buffer resyncs to the new stream; until then Push returns nil
// for it and an unconfirmed one is counted as Invalid.
func (b *Buffer) Push(now time.Duration, p *Packet) error {
	inc(&b.pc.received)
	t := int64(now)
	pr := &b.p
	if p == nil || len(p.Payload) > b.maxPayload || !pr.started || p.SSRC != pr.ssrc || pr.pendValid {
		return b.pushSlow(t, p)
	}
	// The common case, written out: the stream's next packet (or one a
	// little further on), which fits in the ring where the producer last
	// saw the consumer's head; push, jumped, insert and measure do the
	// same steps in general.
	u := pr.lastU + int64(int16(p.SequenceNumber-pr.lastSeq))
	tsu := pr.lastTS + int64(int32(p.Timestamp-pr.lastTS32))
	uu := uint64(u)
	if du := u - pr.maxU; du <= 0 || du > int64(b.capacity) || uu-pr.head >= b.capacity {
		return b.push(t, p)
	}
	if m := b.ticksToNs(tsu-pr.maxTS) - (t - pr.maxArr); m > b.resyncNs || m < -b.resyncNs {
		return b.probe(t, p) // see jumped
	}
	if u > pr.lastU {
		pr.lastU, pr.lastSeq = u, p.SequenceNumber
	}
	if tsu > pr.lastTS {
		pr.lastTS, pr.lastTS32 = tsu, p.Timestamp
	}
	s := &b.ring[uu&b.mask]
	w := s.state.Load()
	if w>>2 >= uu {
		return b.insert(t, p, u, tsu)
	}
	dur := b.fill(s, p, tsu)
	s.arr = uint32(t >> arrShift)
	if !s.state.CompareAndSwap(w, uu<<2|stFull) {
		return b.refuse(t, s, u, tsu)
	}
	pr.maxU, pr.maxTS, pr.maxArr, pr.maxDur = u, tsu, t, b.frameTicks
	if dur > 0 {
		pr.maxDur = int64(dur)
	}
	// The newest stored position, since u > maxU, which is at least every
	// stored position.
	pr.tail = uu + 1
	if uu+1-pr.pubTail >= tailBatch {
		pr.pubTail = uu + 1
		b.tail.Store(uu + 1)
	}
	if pr.est.stage(t, u, tsu) {
		b.flushEstimate()
	}
	return nil
}

// pushSlow is Push for whatever its common case leaves: nil and oversize
// packets, the first packet, another SSRC, a packet held for a resync.
func (b *Buffer) pushSlow(t int64, p *Packet) error {
	if p == nil {
		inc(&b.pc.invalid)
		return errNilPacket
	}
	if len(p.Payload) > b.maxPayload {
		inc(&b.pc.invalid)
		return ErrTooLarge
	}
	pr := &b.p
	if !pr.started {
		pr.started = true
		pr.ssrc = p.SSRC
		// Place the first timestamp at its arrival time, so transits start
		// near zero and stay small numbers.
		pr.lastU, pr.lastSeq = seqBase, p.SequenceNumber
		pr.lastTS, pr.lastTS32 = b.nsToTicks(t), p.Timestamp
		pr.maxU = seqBase - 1
		return b.insert(t, p, seqBase, pr.lastTS)
	}
	return b.push(t, p)
}

// push handles a packet once the stream has started.
func (b *Buffer) push(t int64, p *Packet) error {
	pr := &b.p
	if p.SSRC != pr.ssrc {
		return b.probe(t, p)
	}
	u := pr.lastU + int64(int16(p.SequenceNumber-pr.lastSeq))
	tsu := pr.lastTS + int64(int32(p.Timestamp-pr.lastTS32))
	if du := u - pr.maxU; du > 0 && du <= int64(b.capacity) {
		// The common case, a newer packet the ring can hold (see jumped),
		// tested here without a call.
		m := b.ticksToNs(tsu-pr.maxTS) - (t - pr.maxArr)
		if m > b.resyncNs || m < -b.resyncNs {
			return b.probe(t, p)
		}
	} else if b.jumped(t, u, tsu) {
		return b.probe(t, p)
	}
	if pr.pendValid {
		// The stream went on as before: the held packet was a stray.
		pr.pendValid = false
		b.pc.pending.Store(0)
		inc(&b.pc.invalid)
	}
	if u > pr.lastU {
		pr.lastU, pr.lastSeq = u, p.SequenceNumber
	}
	if tsu > pr.lastTS {
		pr.lastTS, pr.lastTS32 = tsu, p.Timestamp
	}
	return b.insert(t, p, u, tsu)
}

// jumped reports whether position u with timeline timestamp tsu, arriving
// at t, is too far from the stream to be the same one.
func (b *Buffer) jumped(t, u, tsu int64) bool {
	pr := &b.p
	du := u - pr.maxU
	c := int64(b.capacity)
	if du > c {
		return true // further ahead than the ring can hold
	}
	dts := b.ticksToNs(tsu - pr.maxTS)
	if du < -c && dts >= 0 {
		// Far behind in sequence but not in time: the counter restarted.
		// (Far behind in both is just a very late packet.)
		return true
	}
	if du > 0 {
		// A newer packet: its timestamp must advance about as much as the
		// arrival clock did (long silences included); a 1% drift over a
		// minute of silence is 600 ms, well inside the threshold.
		m := dts - (t - pr.maxArr)
		return m > b.resyncNs || m < -b.resyncNs
	}
	// An older packet: its timestamp must lie a little behind the newest.
	return dts > b.resyncNs || dts < -b.resyncNs+du*b.ticksToNs(b.maxFrameTicks)
}

// probe holds a packet that does not fit the stream until the next one
// shows whether it starts a new stream.
func (b *Buffer) probe(t int64, p *Packet) error {
	pr := &b.p
	if pr.pendValid && p.SSRC == pr.pend.SSRC && p.SequenceNumber == pr.pend.SequenceNumber+1 {
		dts := int64(seqnum.Diff32(p.Timestamp, pr.pend.Timestamp))
		m := b.ticksToNs(dts) - (t - pr.pendArr)
		if dts >= 0 && dts <= b.resyncTicks && m <= b.resyncNs && m >= -b.resyncNs {
			b.resync()
			return b.push(t, p)
		}
	}
	if pr.pendValid {
		inc(&b.pc.invalid)
	}
	pr.pend = *p
	pr.pend.Payload = pr.pendBuf[:copy(pr.pendBuf, p.Payload)]
	pr.pendArr = t
	pr.pendValid = true
	b.pc.pending.Store(1)
	return nil
}

// resync maps the held packet's stream onto the positions and timeline
// right after the old one, so the consumer plays what it still holds of the
// old stream and then the new one, without a seam in its state. The
// timeline position is chosen so the new stream's first packet counts as
// one of the fastest (its transit equals the reference), or, when old audio
// is still queued, right after it.
func (b *Buffer) resync() {
	pr := &b.p
	pd := &pr.pend
	pr.pendValid = false
	b.pc.pending.Store(0)
	inc(&b.pc.resyncs)

	u := pr.maxU + 1
	b.flushEstimate() // measure the old stream's last packets
	fresh := b.nsToTicks(pr.pendArr - pr.est.minT)
	tsu := max(fresh, pr.maxTS+pr.maxDur)
	pr.lastU, pr.lastSeq = u, pd.SequenceNumber
	pr.lastTS, pr.lastTS32 = tsu, pd.Timestamp
	pr.ssrc = pd.SSRC
	pr.est.restart()
	// Whatever happens to the held packet is counted; the confirming one
	// goes in regardless.
	_ = b.insert(pr.pendArr, pd, u, tsu)
}

// insert stores a packet at position u, timeline timestamp tsu.
func (b *Buffer) insert(t int64, p *Packet, u, tsu int64) error {
	pr := &b.p
	uu := uint64(u)
	if uu-pr.head >= b.capacity {
		// Outside [head, head+capacity) by the cached head. Only now look
		// at the consumer's line: the cached head is behind the real one,
		// so a position at or above it that fits is still free.
		h := b.head.Load()
		pr.head = h
		if uu < h {
			return b.refuse(t, &b.ring[uu&b.mask], u, tsu)
		}
		if uu >= h+b.capacity {
			inc(&b.pc.overflow)
			if uu >= pr.pubBeyond {
				// For a consumer that waits, behind the ring, for a
				// packet that was refused like this one: see restart.
				pr.pubBeyond = uu + 1
				b.beyond.Store(uu + 1)
			}
			// Still the stream's newest packet: the next ones are
			// measured from it, so a stalled consumer does not make them
			// look like a jump.
			if u > pr.maxU {
				pr.maxU, pr.maxTS, pr.maxArr, pr.maxDur = u, tsu, t, b.durOf(p)
			}
			b.measure(t, u, tsu)
			return ErrFull
		}
	}
	s := &b.ring[uu&b.mask]
	w := s.state.Load()
	if w>>2 >= uu {
		return b.refuse(t, s, u, tsu)
	}
	dur := b.fill(s, p, tsu)
	s.arr = uint32(t >> arrShift)
	if !s.state.CompareAndSwap(w, uu<<2|stFull) {
		// The consumer gave this position up as lost a moment ago.
		return b.refuse(t, s, u, tsu)
	}
	if u > pr.maxU {
		pr.maxU, pr.maxTS, pr.maxArr, pr.maxDur = u, tsu, t, b.frameTicks
		if dur > 0 {
			pr.maxDur = int64(dur)
		}
	} else if u < pr.maxU {
		inc(&b.pc.reordered)
	}
	if uu >= pr.tail {
		pr.tail = uu + 1
		// Published every few positions: the consumer looks that far past
		// it in the slots themselves.
		if pr.tail-pr.pubTail >= tailBatch {
			pr.pubTail = pr.tail
			b.tail.Store(pr.tail)
		}
	}
	b.measure(t, u, tsu)
	return nil
}

// fill copies p, with timeline timestamp tsu, into slot s and returns the
// duration it stored (0: unknown).
func (b *Buffer) fill(s *slot, p *Packet, tsu int64) uint32 {
	s.ts = tsu
	s.ssrc = p.SSRC
	s.origTS = p.Timestamp
	s.origSeq = p.SequenceNumber
	s.pt = p.PayloadType
	s.level = p.AudioLevel
	var flags uint8
	if p.Marker {
		flags = flagMarker
	}
	if p.Voice {
		flags |= flagVoice
		if p.AudioLevel >= 0 {
			b.p.vad = true
		}
	}
	if p.AudioLevel >= 0 && (!p.Voice && b.p.vad || p.AudioLevel >= b.quietLevel) || b.silent(p) {
		flags |= flagQuiet
	}
	s.flags = flags
	dur := p.Duration
	if int64(dur) > b.maxFrameTicks {
		dur = 0
	}
	s.dur = dur
	s.n = uint16(copy(s.buf, p.Payload))
	return dur
}

// silent reports whether p is a DTX or comfort noise packet, after which
// the sender sends nothing (or only more of the same) until it talks
// again: a payload of at most two bytes (an Opus DTX frame is its TOC
// byte alone, and nothing else that short holds speech), or RFC 3389
// comfort noise (the static payload type 13, or Config.CNPayloadType).
func (b *Buffer) silent(p *Packet) bool {
	return len(p.Payload) <= 2 || p.PayloadType == 13 || p.PayloadType == b.cnPT && b.cnPT != 0
}

// durOf returns the ticks a packet covers as far as the producer knows.
func (b *Buffer) durOf(p *Packet) int64 {
	if p.Duration > 0 && int64(p.Duration) <= b.maxFrameTicks {
		return int64(p.Duration)
	}
	return b.frameTicks
}

// refuse classifies a packet whose position the consumer has passed or
// that is already stored.
func (b *Buffer) refuse(t int64, s *slot, u, tsu int64) error {
	if s.state.Load() == uint64(u)<<2|stFull {
		inc(&b.pc.duplicate)
		return ErrDuplicate
	}
	inc(&b.pc.late)
	if u < b.p.maxU {
		inc(&b.pc.reordered)
	}
	// A late packet is the strongest evidence that the delay is short.
	b.measure(t, u, tsu)
	return ErrLate
}

// measure stages an arrival for the estimator (see estimator.stage).
func (b *Buffer) measure(t, u, tsu int64) {
	if b.p.est.stage(t, u, tsu) {
		b.flushEstimate()
	}
}

// flushEstimate runs the estimator over the staged arrivals and publishes
// what changed.
func (b *Buffer) flushEstimate() {
	pr := &b.p
	e := &pr.est
	e.flush()
	target, minT := e.tgt, e.minT
	if e.step.on && int64(b.head.Load()) <= e.step.u {
		// The path got shorter, but the consumer is still playing
		// packets that came the old way: keep steering by the old floor
		// until it reaches the first that came the new way, or it would
		// shed delay those packets still need.
		minT = e.step.floor
	}
	// Publish only what changed (each store is a locked instruction),
	// once a batch.
	if target != pr.pubTarget {
		pr.pubTarget = target
		b.target.Store(target)
	}
	if minT != pr.pubMinT {
		pr.pubMinT = minT
		b.minT.Store(minT)
	}
	if j := uint64(e.j16); j != pr.pubJitter {
		pr.pubJitter = j
		b.jitter.Store(j)
	}
	if e.burstT != pr.pubBurst {
		pr.pubBurst = e.burstT
		b.burst.Store(e.burstT)
	}
	if slope := e.drift.slope; slope != pr.pubSlope {
		pr.pubSlope = slope
		// The transit floor falls as a fast sender clock runs ahead.
		b.drift.Store(math.Float64bits(-slope))
	}
}

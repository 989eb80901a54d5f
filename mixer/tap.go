package mixer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec/resample"
)

// TapKind says what a Tap takes out of a conference.
type TapKind int

const (
	// TapMix is the room's mix: every speaker and source mixed into the
	// room, limited as a listener's mix is, at unity gain; no mix-minus,
	// no whispers. What a listener with default settings hears.
	TapMix TapKind = iota
	// TapHears is what TapConfig.Participant hears, as it is encoded for
	// it: its mix-minus, the whispers to it, its output gain, and silence
	// while it is deaf (whispers apart), is not sent to (Direction), or
	// nobody it can hear talks.
	TapHears
	// TapInbound is what TapConfig.Participant sends: its inbound audio
	// decoded, concealed where packets were lost, at the time it is
	// mixed, before its gain and whether or not it is muted; silence
	// where it sends nothing. A tap of it makes the tick decode it every
	// tick, speaking or not.
	TapInbound
	// TapInboundPackets is TapConfig.Participant's inbound Opus packets
	// as they came, in playout order after the jitter buffer, each stamped
	// with the media time its audio is mixed at, to a PacketWriter (a
	// *record.PacketRecorder records them without transcoding). Lost
	// packets and DTX are gaps in the stamps. The participant's inbound
	// codec must be Opus; packets of any other are not handed on.
	TapInboundPackets
)

func (k TapKind) String() string {
	switch k {
	case TapMix:
		return "mix"
	case TapHears:
		return "hears"
	case TapInbound:
		return "inbound"
	case TapInboundPackets:
		return "inbound-packets"
	}
	return fmt.Sprintf("TapKind(%d)", int(k))
}

// FrameWriter takes a tap's PCM from the tick: one frame of a ptime each
// tick, at the tap's rate, at stamps that follow each other by exactly a
// ptime (a gap in the stamps is time the conference did not mix: a stall
// whose ticks were skipped). It is called on the tick goroutine itself
// (not, as a Sink is in an Engine, from a delivery goroutine), so it must
// return at once, never block and not keep pcm: a *record.Recorder is one
// (it copies the frame into its queue and writes it on a goroutine of its
// own); anything slower belongs behind a queue of its own, or in Read.
// Errors are counted (TapStats.WriteErrors), never fatal.
type FrameWriter interface {
	Write(at time.Duration, pcm []int16) error
}

// PacketWriter takes a TapInboundPackets tap's packets from the tick, as
// FrameWriter takes frames: at is the media time of the packet's first
// sample. A *record.PacketRecorder is one.
type PacketWriter interface {
	Write(at time.Duration, packet []byte) error
}

// TapConfig configures a Tap.
type TapConfig struct {
	// Kind says what the tap takes; Participant, the ID of whom, for
	// every kind but TapMix.
	Kind        TapKind
	Participant string
	// SampleRate of the PCM the tap gives: 8000, 16000, 24000, 32000 or
	// 48000 Hz, mono; the tick resamples the conference's mix to it.
	// Default 48000. Not used by TapInboundPackets.
	SampleRate int
	// Writer, when set, is handed each frame by the tick (see FrameWriter)
	// instead of queuing it for Read; PacketWriter is required for
	// TapInboundPackets and used only by it.
	Writer       FrameWriter
	PacketWriter PacketWriter
	// Buffer is how far Read may fall behind before frames are dropped
	// (and counted): default 1 s, two ptimes to 1 min. Allocated at
	// AddTap: SampleRate × 2 bytes a second. Not used with a Writer.
	Buffer time.Duration
}

// DefaultTapBuffer is the TapConfig.Buffer of a tap that leaves it 0.
const DefaultTapBuffer = time.Second

// Tap takes audio out of a conference: the room's mix, what one
// participant hears, or what it sends (TapKind), as PCM at a chosen rate
// or, for an Opus leg, as its packets. The tick produces one frame of a
// ptime per tick, stamped with the conference's media time (see
// Conference.MediaTime), so that the frames of every tap of a conference
// line up: record several with the same record.Config.Start and the files
// match sample for sample.
//
// Frames reach the application in one of two ways. With a Writer (or
// PacketWriter) the tick hands each one over as it makes it: the way to
// record, since a *record.Recorder copies it into a bounded queue and
// writes it on its own goroutine, so a slow disk never delays a tick.
// Without one, frames wait in a bounded queue of TapConfig.Buffer for the
// application's goroutine to Read; when that falls behind, new frames are
// dropped and counted (TapStats.Dropped), and the gap shows in the stamps.
// Either way the tick never waits and allocates nothing.
//
// A tap ends when Close is called, when its participant leaves, or when
// the conference closes; Done is closed then, and Stats().End says where
// its last frame ended.
//
// Concurrency: Read and TryRead are the reader's: one goroutine at a
// time. Close, Done, Stats and FrameSamples are safe from any goroutine.
type Tap struct {
	conf *Conference
	cfg  TapConfig
	of   *Participant // nil for TapMix
	ring frameRing    // without a Writer
	// frame is the samples per tick at the tap's rate.
	frame int

	avail   chan struct{} // the tick signals a waiting reader
	waiting atomic.Bool
	closed  atomic.Bool
	closing chan struct{}
	done    chan struct{}

	// Tick-owned.
	removed  bool
	confRate int
	res      *resample.Resampler // conference rate → SampleRate; nil when equal
	out      []int16

	frames, dropped, writeErrors atomic.Uint64
	first, end                   atomic.Int64
	started                      atomic.Bool
}

// TapStats is a snapshot of a tap's counters.
type TapStats struct {
	Kind        TapKind
	Participant string
	// Frames counts the frames (packets, for TapInboundPackets) handed to
	// the Writer or queued for Read; Dropped those Read's queue had no
	// room for; WriteErrors the Writer's errors (a recorder's full queue
	// among them).
	Frames, Dropped, WriteErrors uint64
	// Started: a frame has been made. First is the media time of the
	// first one, End of the end of the last one: with a recording that
	// must last as long as the room, WriteSilence(End of the latest tap)
	// before closing.
	Started    bool
	First, End time.Duration
}

// AddTap adds a tap to the conference; it takes its first frame at the
// next tick.
//
// Errors: ErrConfig (the message names the field), ErrNoParticipant (the
// participant named is not in the conference), ErrClosed.
func (c *Conference) AddTap(cfg TapConfig) (*Tap, error) {
	if cfg.Kind < TapMix || cfg.Kind > TapInboundPackets {
		return nil, fmt.Errorf("%w: %v", ErrConfig, cfg.Kind)
	}
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 48000
	}
	if !validSourceRate(cfg.SampleRate) {
		return nil, fmt.Errorf("%w: tap sample rate %d (want 8000, 16000, 24000, 32000 or 48000)", ErrConfig, cfg.SampleRate)
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultTapBuffer
	}
	ptime := c.cfg.Ptime
	if cfg.Buffer < 2*ptime || cfg.Buffer > time.Minute {
		return nil, fmt.Errorf("%w: tap buffer %v (want %v to 1m)", ErrConfig, cfg.Buffer, 2*ptime)
	}
	if cfg.Kind == TapInboundPackets && cfg.PacketWriter == nil {
		return nil, fmt.Errorf("%w: a tap of inbound packets needs a PacketWriter", ErrConfig)
	}
	if cfg.Kind == TapMix && cfg.Participant != "" {
		return nil, fmt.Errorf("%w: the room's mix is nobody's: Participant %q with TapMix", ErrConfig, cfg.Participant)
	}
	t := &Tap{
		conf:    c,
		cfg:     cfg,
		frame:   samplesFor(ptime, cfg.SampleRate),
		avail:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if cfg.Kind != TapInboundPackets {
		t.out = make([]int16, 0, t.frame)
		if cfg.Writer == nil {
			t.ring.init(int(cfg.Buffer/ptime), t.frame)
		}
		t.setup(int(c.curRate.Load()))
	}
	var att *attached
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cfg.Kind != TapMix {
		of := c.ids[cfg.Participant]
		if of == nil || of.src != nil {
			return nil, fmt.Errorf("%w: %s tap of %q", ErrNoParticipant, cfg.Kind, cfg.Participant)
		}
		if cfg.Kind == TapInboundPackets && !isOpus(of.upd.cfg.Load().In.SDPName()) {
			return nil, fmt.Errorf("%w: a tap of inbound packets needs an Opus leg; %q sends %s",
				ErrConfig, cfg.Participant, of.upd.cfg.Load().In.SDPName())
		}
		t.of = of
		att = newAttached() // handed to the tick, which allocates nothing then
	}
	c.ep.taps[t] = struct{}{}
	c.pending = append(c.pending, func(c *Conference, now time.Duration) { c.ep.addTap(c, t, att) })
	c.hasPend.Store(true)
	return t, nil
}

// isOpus reports whether an SDP name is Opus's, without allocating (the
// tick asks it for every tapped leg).
func isOpus(sdpName string) bool { return len(sdpName) >= 5 && strings.EqualFold(sdpName[:5], "opus/") }

// FrameSamples is the length of the tap's frames: its rate × the
// conference's ptime. Read's dst needs room for that many.
func (t *Tap) FrameSamples() int { return t.frame }

// Config returns the configuration the tap was added with, defaults
// applied.
func (t *Tap) Config() TapConfig { return t.cfg }

// Read waits for the next frame, copies it into dst and returns its media
// time and dst[:FrameSamples()]. It returns io.ErrShortBuffer when dst
// cannot hold a frame, ctx's error when ctx ends first, ErrClosed once the
// tap has ended and every frame it made has been read, and ErrConfig for
// a tap with a Writer (which gets the frames instead). It allocates
// nothing.
func (t *Tap) Read(ctx context.Context, dst []int16) (time.Duration, []int16, error) {
	if t.ring.data == nil {
		return 0, nil, fmt.Errorf("%w: this tap's frames go to its Writer", ErrConfig)
	}
	if len(dst) < t.frame {
		return 0, nil, io.ErrShortBuffer
	}
	t.waiting.Store(true)
	defer t.waiting.Store(false)
	for {
		if at, ok := t.ring.pop(dst); ok {
			return at, dst[:t.frame], nil
		}
		if t.ended() {
			// A frame may have landed between the pop and the end.
			if at, ok := t.ring.pop(dst); ok {
				return at, dst[:t.frame], nil
			}
			return 0, nil, ErrClosed
		}
		select {
		case <-t.avail:
		case <-t.closing:
		case <-t.done:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// TryRead is Read without waiting: ok is false when no frame is queued
// (or dst cannot hold one, or the tap has a Writer).
func (t *Tap) TryRead(dst []int16) (at time.Duration, pcm []int16, ok bool) {
	if t.ring.data == nil || len(dst) < t.frame {
		return 0, nil, false
	}
	if at, ok = t.ring.pop(dst); !ok {
		return 0, nil, false
	}
	return at, dst[:t.frame], true
}

func (t *Tap) ended() bool {
	if t.closed.Load() {
		return true
	}
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Close ends the tap: the tick takes no frame for it after the next pass
// (Done is closed then); frames already queued may still be read.
// Idempotent.
func (t *Tap) Close() {
	if !t.markClosed() {
		return
	}
	t.conf.enqueue(func(c *Conference, now time.Duration) { c.ep.removeTap(c, t) })
}

func (t *Tap) markClosed() bool {
	if t.closed.Swap(true) {
		return false
	}
	close(t.closing)
	return true
}

// Done returns a channel closed once the tick takes no more frames for
// the tap: after Close, its participant's leaving, or the conference's
// Close. Stats().End is final then.
func (t *Tap) Done() <-chan struct{} { return t.done }

// Stats returns the tap's counters. Safe from any goroutine.
func (t *Tap) Stats() TapStats {
	return TapStats{
		Kind:        t.cfg.Kind,
		Participant: t.cfg.Participant,
		Frames:      t.frames.Load(),
		Dropped:     t.dropped.Load(),
		WriteErrors: t.writeErrors.Load(),
		Started:     t.started.Load(),
		First:       time.Duration(t.first.Load()),
		End:         time.Duration(t.end.Load()),
	}
}

// setup builds the resampler from the conference's rate to the tap's:
// at AddTap, and in the tick when the automatic rate changes (which
// allocates, as a change of rate does everywhere).
func (t *Tap) setup(rate int) {
	t.res = nil
	if rate != t.cfg.SampleRate {
		t.res, _ = resample.New(rate, t.cfg.SampleRate, 1) // rates validated: cannot fail
	}
	t.confRate = rate
}

// deliver resamples one tick of the conference's audio (src, n samples at
// rate; nil for silence) to the tap's rate and hands it over, stamped at.
// Tick only.
func (t *Tap) deliver(src []int16, n, rate int, at, ptime time.Duration, zeros []int16) {
	if t.confRate != rate {
		t.setup(rate)
	}
	if src == nil {
		src = zeros
	}
	out := src[:n]
	if t.res != nil {
		out = t.res.Process(t.out[:0], out)
	}
	t.mark(at, at+ptime)
	if w := t.cfg.Writer; w != nil {
		if w.Write(at, out) != nil {
			inc(&t.writeErrors)
		}
		inc(&t.frames)
		return
	}
	if !t.ring.push(at, out) {
		inc(&t.dropped)
		return
	}
	inc(&t.frames)
	if t.waiting.Load() {
		select {
		case t.avail <- struct{}{}:
		default:
		}
	}
}

// mark records the span of a frame or packet just made.
func (t *Tap) mark(at, end time.Duration) {
	if !t.started.Load() {
		t.first.Store(int64(at))
		t.started.Store(true)
	}
	if int64(end) > t.end.Load() {
		t.end.Store(int64(end))
	}
}

// finish ends the tap on the tick's side. Tick only.
func (t *Tap) finish() {
	if t.removed {
		return
	}
	t.removed = true
	t.markClosed()
	close(t.done)
}

// frameRing is the single-producer (tick), single-consumer (reader) queue
// of a tap's frames: a power-of-two number of slots of one frame each,
// allocated at AddTap.
type frameRing struct {
	data  []int16
	at    []time.Duration
	frame int
	mask  uint64
	_     linePad
	head  atomic.Uint64 // frames pushed (tick)
	_     linePad
	tail  atomic.Uint64 // frames popped (reader)
	_     linePad
}

func (r *frameRing) init(slots, frame int) {
	n := 2
	for n < slots {
		n <<= 1
	}
	r.data = make([]int16, n*frame)
	r.at = make([]time.Duration, n)
	r.frame, r.mask = frame, uint64(n-1)
}

// push copies one frame in; false when every slot is taken. Producer only.
func (r *frameRing) push(at time.Duration, pcm []int16) bool {
	head := r.head.Load()
	if head-r.tail.Load() > r.mask {
		return false
	}
	i := head & r.mask
	slot := r.data[int(i)*r.frame : int(i+1)*r.frame]
	clear(slot[copy(slot, pcm):])
	r.at[i] = at
	r.head.Store(head + 1)
	return true
}

// pop copies the oldest frame into dst; false when there is none.
// Consumer only.
func (r *frameRing) pop(dst []int16) (time.Duration, bool) {
	tail := r.tail.Load()
	if tail == r.head.Load() {
		return 0, false
	}
	i := tail & r.mask
	copy(dst, r.data[int(i)*r.frame:int(i+1)*r.frame])
	at := r.at[i]
	r.tail.Store(tail + 1)
	return at, true
}

package mixer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
)

// SourceConfig configures a Source: PCM the application plays into a
// conference. Only SampleRate is required.
type SourceConfig struct {
	// ID names the source in events and stats; default "s<n>". Sources and
	// participants share one namespace: a source cannot take a
	// participant's ID, nor the other way round.
	ID string
	// SampleRate of the PCM Write takes: 8000, 16000, 24000, 32000 or
	// 48000 Hz, mono. The tick resamples it to the conference's rate.
	SampleRate int
	// Buffer is how much audio may wait to be played: what a feeder faster
	// than real time (a file, a TTS engine that makes 5 s in 200 ms) may
	// write ahead before Write waits for the tick to play some of it.
	// Default 10 s; 20 ms to 10 min. It is allocated at AddSource:
	// SampleRate × 2 bytes a second, rounded up to a power of two (10 s at
	// 16 kHz: 512 KiB).
	Buffer time.Duration
	// To, when set, whispers: only the participant with this ID hears the
	// source, on top of what it hears of the room — even when it is deaf
	// to the room (music on hold: make the held party deaf and whisper the
	// music to it). A whisper takes no speaker place in the room and is
	// never displaced by talkers. The source closes when that participant
	// leaves.
	To string
	// Priority mixes the source into the room whenever it plays, on top of
	// the MaxSpeakers talkers, instead of making it win a speaker's place
	// by its level (announcements that must be heard: "this call is being
	// recorded"). Ignored with To.
	Priority bool
	// GainIn (dB, -60..+24) and Muted are as for a participant: the gain
	// applied to the source's audio, and whether anyone hears it (a muted
	// source still plays on, unheard).
	GainIn float64
	Muted  bool
	// SSRC names the source in the CSRC lists and RFC 6465 levels of the
	// packets that carry it; 0 picks a random one.
	SSRC uint32
}

// The limits of SourceConfig.Buffer.
const (
	DefaultSourceBuffer = 10 * time.Second
	minSourceBuffer     = 20 * time.Millisecond
	maxSourceBuffer     = 10 * time.Minute
)

// Source is an application-fed member of a conference: PCM written by the
// application's goroutine (a prompt, a file, a TTS stream, music on hold)
// is played into the room, or whispered to one participant, every tick,
// with the same speaker selection, gain, mute, talking events and levels
// as a participant's voice. It has no RTP and hears nothing. It is mixed
// from its first sample: talking starts without Talk.StartDelay, so that a
// prompt's first word is not cut.
//
// Audio waits in a buffer of SourceConfig.Buffer between the feeder and
// the tick (a lock-free single-producer, single-consumer ring allocated at
// AddSource; the tick takes one ptime from it each tick and allocates
// nothing). A feeder faster than real time fills the buffer; then Write
// waits until the tick has played room for the rest, or returns what it
// queued when its context ends, and TryWrite queues what fits and returns
// ErrSourceFull: audio is never dropped. A tick that finds less than a ptime
// queued plays what there is and silence after it (counted as an
// underrun when there was some): a real-time feeder should keep a frame
// or two ahead.
//
// Concurrency: Write, TryWrite, Wait and Clear are the feeder's: one
// goroutine at a time. SetGainIn, SetMuted, Stats, ID, Close and Done are
// safe from any goroutine. The tick never waits for any of them.
type Source struct {
	conf *Conference
	p    *Participant // the tick's view: ID, controls, talk and speaker state
	cfg  SourceConfig
	ring sampleRing

	// The feeder waits on space (Write, Wait) after setting waiting; the
	// tick signals it once it has taken audio. closing is closed by Close
	// (or by the conference closing or the tick removing the source), so
	// that a waiting feeder returns at once.
	space   chan struct{}
	waiting atomic.Bool
	closed  atomic.Bool
	closing chan struct{}

	// Tick-owned.
	to      *Participant // whisper target; nil plays to the room
	removed bool
	kind    sourceKind
	quiet   bool                // no events (the conference's tones)
	rate    int                 // conference rate res is built for
	res     *resample.Resampler // SampleRate → rate; nil when equal
	inFrame int                 // samples per tick at SampleRate
	in      []int16             // one tick at SampleRate
	pcm     []int16             // this tick's audio at the conference rate
	active  bool                // pcm holds audio this tick
	fed     bool                // the last tick took audio from the ring

	played, underruns, clears atomic.Uint64
}

type sourceKind uint8

const (
	sourceRoom     sourceKind = iota // competes for a speaker's place
	sourcePriority                   // mixed whenever it plays
	sourceWhisper                    // heard by one participant only
)

// SourceStats is a snapshot of a source's counters.
type SourceStats struct {
	ID string
	// Queued is how much audio waits to be played; Played how much the
	// tick has taken (both at SampleRate, as durations).
	Queued, Played time.Duration
	// Underruns counts ticks that found some audio queued but less than a
	// ptime: the feeder fell behind real time (or its stream ended
	// mid-frame, which is harmless).
	Underruns uint64
	// Clears counts Clear calls that dropped queued audio.
	Clears uint64
	// Level is the smoothed level of what it plays (-dBov, 127 silence);
	// Talking and Speaking as for a participant (Speaking: mixed into the
	// room this tick; always false for a whisper).
	Level             int
	Talking, Speaking bool
	Muted             bool
}

// AddSource adds a Source to the conference: the application writes PCM
// to it, and the tick plays it into the room (or to SourceConfig.To) from
// the next tick on. Sources do not change the automatic sample rate: they
// are resampled to whatever the participants' codecs chose.
//
// Errors: ErrConfig (the message names the field), ErrDuplicateID,
// ErrNoParticipant (To names nobody in the conference), ErrClosed.
func (c *Conference) AddSource(cfg SourceConfig) (*Source, error) {
	if !validSourceRate(cfg.SampleRate) {
		return nil, fmt.Errorf("%w: source sample rate %d (want 8000, 16000, 24000, 32000 or 48000)", ErrConfig, cfg.SampleRate)
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultSourceBuffer
	}
	if cfg.Buffer < minSourceBuffer || cfg.Buffer > maxSourceBuffer {
		return nil, fmt.Errorf("%w: source buffer %v (want %v to %v)", ErrConfig, cfg.Buffer, minSourceBuffer, maxSourceBuffer)
	}
	gIn, err := gainQ16(cfg.GainIn)
	if err != nil {
		return nil, err
	}
	for cfg.SSRC == 0 {
		cfg.SSRC = rand.Uint32()
	}
	s := newSource(c, cfg, gIn)
	var att *attached
	if cfg.To != "" {
		s.kind = sourceWhisper
		att = newAttached() // handed to the tick, which allocates nothing then
	} else if cfg.Priority {
		s.kind = sourcePriority
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cfg.To != "" {
		to := c.ids[cfg.To]
		if to == nil || to.src != nil {
			return nil, fmt.Errorf("%w: whisper to %q", ErrNoParticipant, cfg.To)
		}
		s.to = to
	}
	if s.cfg.ID == "" {
		for {
			c.nextID++
			s.cfg.ID = fmt.Sprintf("s%d", c.nextID)
			if _, taken := c.ids[s.cfg.ID]; !taken {
				break
			}
		}
		s.p.id = s.cfg.ID
	}
	if _, taken := c.ids[s.cfg.ID]; taken {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateID, s.cfg.ID)
	}
	c.ids[s.cfg.ID] = s.p
	c.ep.sources[s] = struct{}{}
	c.pending = append(c.pending, func(c *Conference, _ time.Duration) { c.ep.addSource(c, s, att) })
	c.hasPend.Store(true)
	return s, nil
}

// newSource builds a source and its buffers (not yet in a conference).
func newSource(c *Conference, cfg SourceConfig, gIn int32) *Source {
	s := &Source{
		conf:    c,
		cfg:     cfg,
		space:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		inFrame: int(int64(cfg.SampleRate) * int64(c.cfg.Ptime) / int64(time.Second)),
		pcm:     make([]int16, maxFrame),
	}
	s.in = make([]int16, s.inFrame)
	s.ring.init(samplesFor(cfg.Buffer, cfg.SampleRate))
	p := &Participant{conf: c, id: cfg.ID, src: s, done: make(chan struct{})}
	p.ctl.setGainIn(gIn, cfg.GainIn)
	p.ctl.muted.Store(cfg.Muted)
	p.talk.init()
	p.spk.init()
	p.in.ssrc.Store(cfg.SSRC) // what CSRC lists name it by
	s.p = p
	s.setup(int(c.curRate.Load()))
	return s
}

func validSourceRate(r int) bool {
	for _, v := range resample.Rates() {
		if v == r {
			return true
		}
	}
	return false
}

// samplesFor is the number of samples in d at rate, rounded up.
func samplesFor(d time.Duration, rate int) int {
	return int((int64(d)*int64(rate) + int64(time.Second) - 1) / int64(time.Second))
}

// ID returns the source's ID.
func (s *Source) ID() string { return s.cfg.ID }

// Config returns the configuration the source was added with, defaults
// applied (Muted and GainIn as last set).
func (s *Source) Config() SourceConfig {
	c := s.cfg
	c.Muted = s.p.ctl.muted.Load()
	c.GainIn = math.Float64frombits(s.p.ctl.gainInDB.Load())
	return c
}

// SetMuted sets whether anyone hears the source; it plays on either way.
func (s *Source) SetMuted(v bool) { s.p.ctl.muted.Store(v) }

// SetGainIn sets the gain (dB, -60..+24) applied to the source's audio.
// An error matches ErrConfig.
func (s *Source) SetGainIn(db float64) error { return s.p.SetGainIn(db) }

// Write queues pcm (mono, at SampleRate) to be played and returns once
// all of it is queued: at once while the buffer has room; otherwise it
// waits for the tick to play room for the rest, so that a feeder faster
// than real time runs a Buffer ahead and no further. It returns early when
// ctx is done (with ctx's error) or the source closes (ErrClosed), saying
// how many samples it queued. pcm may be reused when it returns. Write
// allocates nothing.
func (s *Source) Write(ctx context.Context, pcm []int16) (int, error) {
	n := 0
	for {
		if s.closed.Load() {
			return n, ErrClosed
		}
		n += s.ring.write(pcm[n:])
		if n == len(pcm) {
			return n, nil
		}
		if err := s.wait(ctx, func() bool { return s.ring.free() > 0 }); err != nil {
			return n, err
		}
	}
}

// TryWrite queues as much of pcm as the buffer has room for now and
// returns how many samples that was, with ErrSourceFull when it was not all of
// it (the rest is not queued: write it again later), or ErrClosed. It
// never waits and allocates nothing.
func (s *Source) TryWrite(pcm []int16) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	n := s.ring.write(pcm)
	if n < len(pcm) {
		return n, ErrSourceFull
	}
	return n, nil
}

// Wait returns once the tick has taken everything written so far (the
// prompt has been played; the last frame is on its way to the listeners),
// or when ctx is done or the source closes.
func (s *Source) Wait(ctx context.Context) error {
	return s.wait(ctx, func() bool { return s.ring.queued() == 0 })
}

// wait blocks until ready reports true, ctx is done or the source closes.
// The feeder sets waiting before it checks, and the tick signals after it
// takes audio, so that no wake-up is lost between the check and the wait.
func (s *Source) wait(ctx context.Context, ready func() bool) error {
	s.waiting.Store(true)
	defer s.waiting.Store(false)
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		if ready() {
			return nil
		}
		select {
		case <-s.space:
		case <-s.closing:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Clear drops the audio queued so far (a caller barging in on a prompt);
// the tick skips it at its next pass. Audio written after Clear returns
// is played.
func (s *Source) Clear() {
	if s.ring.clear() {
		s.clears.Add(1)
	}
}

// Close stops the source: what is queued is dropped, Write and Wait
// return ErrClosed, and the next tick removes it (Done is closed then).
// Idempotent.
func (s *Source) Close() {
	if !s.markClosed() {
		return
	}
	c := s.conf
	c.mu.Lock()
	if c.ids[s.cfg.ID] == s.p {
		delete(c.ids, s.cfg.ID)
	}
	c.mu.Unlock()
	c.enqueue(func(c *Conference, now time.Duration) { c.ep.removeSource(c, s, now) })
}

// markClosed closes the source for its feeder; it reports whether this
// call did.
func (s *Source) markClosed() bool {
	if s.closed.Swap(true) {
		return false
	}
	close(s.closing)
	return true
}

// Done returns a channel closed once the tick has removed the source
// (after Close, its whisper target's leaving, or the conference's Close).
func (s *Source) Done() <-chan struct{} { return s.p.done }

// Stats returns the source's counters. Safe from any goroutine.
func (s *Source) Stats() SourceStats {
	rate := int64(s.cfg.SampleRate)
	return SourceStats{
		ID:        s.cfg.ID,
		Queued:    time.Duration(int64(s.ring.queued()) * int64(time.Second) / rate),
		Played:    time.Duration(int64(s.played.Load()) * int64(time.Second) / rate),
		Underruns: s.underruns.Load(),
		Clears:    s.clears.Load(),
		Level:     int(s.p.talk.pubLevel.Load()),
		Talking:   s.p.talk.pubTalking.Load(),
		Speaking:  s.p.spk.pubSpeaking.Load(),
		Muted:     s.p.ctl.muted.Load(),
	}
}

// setup builds the resampler from the source's rate to the conference's.
// It runs in the tick when the source is added and when the automatic
// rate changes (which allocates, as a change of rate does everywhere).
func (s *Source) setup(rate int) {
	s.res = nil
	if s.cfg.SampleRate != rate {
		// Both rates are among resample's: this cannot fail.
		s.res, _ = resample.New(s.cfg.SampleRate, rate, 1)
	}
	s.rate = rate
	s.active, s.fed = false, false
}

// pull takes this tick's audio from the ring and resamples it into
// s.pcm[:n] at the conference rate, and returns its level (127 when
// nothing plays). After the last audio it runs one more tick of silence
// through the resampler, which pushes out what its filter still held.
func (s *Source) pull(rate, n int) int {
	if s.rate != rate {
		s.setup(rate)
	}
	cleared := s.ring.honourClear()
	k := s.ring.read(s.in)
	if k > 0 {
		add(&s.played, uint64(k))
	}
	if k > 0 || cleared {
		// Room was made (or, after a Clear, the queue emptied without
		// playing): a feeder in Write or Wait may go on.
		if s.waiting.Load() {
			select {
			case s.space <- struct{}{}:
			default:
			}
		}
	}
	if k == 0 && !s.fed {
		s.active = false
		return 127
	}
	if k > 0 && k < len(s.in) {
		inc(&s.underruns)
	}
	clear(s.in[k:])
	s.fed = k > 0
	s.active = true
	out := s.pcm[:n]
	if s.res == nil {
		copy(out, s.in)
	} else {
		got := s.res.Process(out[:0], s.in)
		clear(out[len(got):])
	}
	if !s.fed {
		// The flush tick: the filter is empty now; start afresh next time.
		if s.res != nil {
			s.res.Reset()
		}
		return 127
	}
	return pcm.LevelDBov(out)
}

// sampleRing is the single-producer, single-consumer ring of samples
// between a source's feeder and the tick: a power-of-two array indexed by
// positions that count up forever, the producer's and the consumer's on
// cache lines of their own.
type sampleRing struct {
	buf  []int16
	mask uint64
	_    linePad
	head atomic.Uint64 // samples written (producer)
	_    linePad
	tail atomic.Uint64 // samples read (consumer)
	// clearTo, when above tail, asks the consumer to skip to it (Clear).
	clearTo atomic.Uint64
	_       linePad
}

// linePad keeps fields that different goroutines write on different
// cache lines (128 bytes, as sync.Pool does: x86 prefetches lines in
// pairs).
type linePad [128]byte

func (r *sampleRing) init(n int) {
	size := 1
	for size < n {
		size <<= 1
	}
	r.buf = make([]int16, size)
	r.mask = uint64(size - 1)
}

func (r *sampleRing) queued() int { return int(r.head.Load() - r.tail.Load()) }
func (r *sampleRing) free() int   { return len(r.buf) - r.queued() }

// write copies what fits of src and returns how much. Producer only.
func (r *sampleRing) write(src []int16) int {
	head := r.head.Load()
	n := min(len(src), len(r.buf)-int(head-r.tail.Load()))
	if n <= 0 {
		return 0
	}
	at := int(head & r.mask)
	k := copy(r.buf[at:], src[:n])
	copy(r.buf, src[k:n])
	r.head.Store(head + uint64(n))
	return n
}

// clear asks the consumer to drop what is queued now; it reports whether
// there was anything. Producer only.
func (r *sampleRing) clear() bool {
	head := r.head.Load()
	r.clearTo.Store(head)
	return head != r.tail.Load()
}

// honourClear skips what Clear asked to drop and reports whether there
// was any. Consumer only.
func (r *sampleRing) honourClear() bool {
	if to := r.clearTo.Load(); to > r.tail.Load() {
		r.tail.Store(to)
		return true
	}
	return false
}

// read copies up to len(dst) samples into dst and returns how many.
// Consumer only.
func (r *sampleRing) read(dst []int16) int {
	tail := r.tail.Load()
	n := min(len(dst), int(r.head.Load()-tail))
	if n <= 0 {
		return 0
	}
	at := int(tail & r.mask)
	k := copy(dst[:n], r.buf[at:])
	copy(dst[k:n], r.buf)
	r.tail.Store(tail + uint64(n))
	return n
}

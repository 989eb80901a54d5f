package record

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/internal/opuspacket"
)

// Config holds a recorder's options. The zero value is valid.
type Config struct {
	// Start is the media time of the recording's first sample: a frame
	// stamped Start is the file's beginning, one stamped Start+10s is ten
	// seconds in. Stamps are on whatever clock the feeder keeps (the
	// mixer's tick time, a participant's RTP timestamps converted to a
	// duration), so long as every call on the recorder uses the same one;
	// give several recorders the same Start and their files line up.
	Start time.Duration
	// Queue is how much audio the queue between the feeder and the
	// writer goroutine holds: how long the destination may stall before
	// frames are dropped. 0 means 2 s; 10 ms to 10 min. PCM takes rate ×
	// channels × 2 bytes a second (192 KB for 2 s at 48 kHz mono); packets
	// take 16 KB a second (up to 128 kbit/s). Either way there is room for
	// a frame every 5 ms.
	Queue time.Duration
	// MaxGap bounds the silence one stamp can ask for: a frame (or
	// WriteSilence) stamped more than MaxGap past the end of everything
	// offered before is refused (ErrFrame, Stats.Refused) instead of
	// filling the disk with silence — the mark of a clock that jumped.
	// It counts from Start for the first frame. 0 means 12 hours; a
	// negative value means no bound.
	MaxGap time.Duration
	// Closer, when set, is closed after the writer when the recorder
	// closes: the file the writer writes to. Create sets it.
	Closer io.Closer
}

// Stats counts what a recorder did. Every figure is since it was made.
type Stats struct {
	// Frames is the number of frames (or packets) written.
	Frames uint64
	// Dropped counts frames refused because the queue was full; their
	// time is in the file as silence.
	Dropped uint64
	// Refused counts frames refused as malformed (ErrFrame): empty, not a
	// whole number of samples, larger than the queue, a bad Opus packet.
	Refused uint64
	// Trimmed counts frames that overlapped audio already written (stamps
	// that went back by more than half a frame): PCM frames lose their
	// overlapping part, packets are dropped whole.
	Trimmed uint64
	// Gaps counts the silences inserted: before a frame that came late
	// (lost or dropped frames, DTX, a late first frame), for WriteSilence,
	// and at Close.
	Gaps uint64
	// Silence is the total duration of the silences inserted, the padding
	// at Close included.
	Silence time.Duration
	// Written is the duration written to the writer so far.
	Written time.Duration
}

// drainInterval is how often the writer goroutine looks at the queue
// when nothing wakes it sooner: the longest a queued frame waits before
// the writer has it.
const drainInterval = 200 * time.Millisecond

// sink adapts a writer of PCM or of packets to the pipe.
type sink[T int16 | byte] interface {
	write(data []T) error
	silence(samples int64) error
	position() int64
	// trim returns data less its first samples (per channel), or false
	// when data cannot be cut (a packet).
	trim(data []T, samples int64) ([]T, bool)
	close() error
}

// pipe is what Recorder and PacketRecorder share: the queue, the writer
// goroutine, time alignment, counters and closing.
type pipe[T int16 | byte] struct {
	q        *queue[T]
	rate     int
	start    time.Duration
	maxGap   int64  // samples; 0: none
	wakeItem uint64 // the producer wakes the writer above these fills
	wakeData uint64

	feed feeder
	_    pad
	cons consumerStats
	_    pad

	sink   sink[T]
	closer io.Closer

	failed    atomic.Pointer[error] // the first error of the writer goroutine
	closed    atomic.Bool
	wake      chan struct{}
	flushReq  chan chan error
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// feeder is written by the feeding goroutine only.
type feeder struct {
	end     int64        // the latest end of anything offered
	fedEnd  atomic.Int64 // end, published for Close
	dropped atomic.Uint64
	refused atomic.Uint64
}

// consumerStats is written by the writer goroutine only.
type consumerStats struct {
	frames   atomic.Uint64
	trimmed  atomic.Uint64
	gaps     atomic.Uint64
	silence  atomic.Int64 // samples
	position atomic.Int64 // samples
}

func newPipe[T int16 | byte](s sink[T], rate, perSecond int, cfg Config) (*pipe[T], error) {
	queue := cfg.Queue
	switch {
	case queue == 0:
		queue = 2 * time.Second
	case queue < 10*time.Millisecond || queue > 10*time.Minute:
		return nil, configf("recorder: queue of %v, want 10 ms to 10 min", cfg.Queue)
	}
	items := max(16, int(queue/(5*time.Millisecond)))
	data := max(1, int(samplesIn(queue, perSecond)))
	p := &pipe[T]{
		q:        newQueue[T](items, data),
		rate:     rate,
		start:    cfg.Start,
		sink:     s,
		closer:   cfg.Closer,
		wake:     make(chan struct{}, 1),
		flushReq: make(chan chan error),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	switch {
	case cfg.MaxGap == 0:
		p.maxGap = samplesIn(12*time.Hour, rate)
	case cfg.MaxGap > 0:
		p.maxGap = samplesIn(cfg.MaxGap, rate)
	}
	p.wakeItem = uint64(len(p.q.items) / 2)
	p.wakeData = uint64(len(p.q.data) / 2)
	go p.run()
	return p, nil
}

// refuse returns why the pipe takes no more frames, or nil. It does not
// allocate.
func (p *pipe[T]) refuse() error {
	if p.closed.Load() {
		return ErrClosed
	}
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// offer queues one item. Producer only; it does not allocate.
func (p *pipe[T]) offer(kind itemKind, at time.Duration, dur int64, data []T) error {
	pos := samplesIn(at-p.start, p.rate)
	if p.maxGap > 0 && pos-p.feed.end > p.maxGap {
		return p.refused(errTooFar)
	}
	if end := pos + dur; end > p.feed.end {
		p.feed.end = end
		p.feed.fedEnd.Store(end)
	}
	if !p.q.push(kind, pos, dur, data) {
		p.feed.dropped.Add(1)
		p.signal()
		return ErrQueueFull
	}
	if p.q.fillOver(p.wakeItem, p.wakeData) {
		p.signal()
	}
	return nil
}

func (p *pipe[T]) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// refused counts a frame refused as malformed and returns err.
func (p *pipe[T]) refused(err error) error {
	p.feed.refused.Add(1)
	return err
}

// run is the writer goroutine.
func (p *pipe[T]) run() {
	defer close(p.done)
	t := time.NewTicker(drainInterval)
	defer t.Stop()
	for {
		select {
		case <-p.wake:
		case <-t.C:
		case ack := <-p.flushReq:
			p.drain()
			ack <- p.flushSink()
			continue
		case <-p.quit:
			p.drain()
			p.closeErr = p.finish()
			return
		}
		p.drain()
	}
}

// drain applies every queued item.
func (p *pipe[T]) drain() {
	for p.failed.Load() == nil {
		it, data, ok := p.q.peek()
		if !ok {
			return
		}
		if err := p.apply(it, data); err != nil {
			p.fail(err)
		}
		p.q.pop(it)
		p.cons.position.Store(p.sink.position())
	}
}

func (p *pipe[T]) fail(err error) {
	if p.failed.Load() == nil {
		p.failed.Store(&err)
	}
}

// apply places one item on the timeline: a frame within half its length
// of where the writer is goes right there (so that stamps jittering by
// less than that cost nothing); a frame further on gets silence before
// it; one further back loses its overlap (PCM) or is dropped (packets).
// The file's length so stays within half a frame of the stamps.
func (p *pipe[T]) apply(it item, data []T) error {
	cur := p.sink.position()
	d := it.pos - cur
	if it.kind == itemSilence {
		if d > 0 {
			return p.silence(d)
		}
		return nil
	}
	switch half := it.dur / 2; {
	case d > half:
		if err := p.silence(d); err != nil {
			return err
		}
	case d < -half:
		p.cons.trimmed.Add(1)
		cut := -d
		if cut >= it.dur {
			return nil
		}
		var ok bool
		if data, ok = p.sink.trim(data, cut); !ok {
			return nil
		}
	}
	p.cons.frames.Add(1)
	return p.sink.write(data)
}

// silence writes n samples of silence, in steps that suit any int.
func (p *pipe[T]) silence(n int64) error {
	p.cons.gaps.Add(1)
	p.cons.silence.Add(n)
	for n > 0 {
		step := min(n, 1<<24)
		if err := p.sink.silence(step); err != nil {
			return err
		}
		n -= step
	}
	return nil
}

func (p *pipe[T]) flushSink() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	if f, ok := p.sink.(interface{ flush() error }); ok {
		if err := f.flush(); err != nil {
			p.fail(err)
			return err
		}
	}
	return nil
}

// finish pads the file to the end of everything offered (so that frames
// dropped at the end still count as time) and closes the writer and the
// Closer.
func (p *pipe[T]) finish() error {
	var err error
	if e := p.failed.Load(); e != nil {
		err = *e
	} else if end, cur := p.feed.fedEnd.Load(), p.sink.position(); end > cur {
		if err = p.silence(end - cur); err != nil {
			p.fail(err)
		}
		p.cons.position.Store(p.sink.position())
	}
	if cerr := p.sink.close(); err == nil && cerr != nil && !errors.Is(cerr, ErrClosed) {
		err = cerr
	}
	if p.closer != nil {
		if cerr := p.closer.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("record: closing the destination: %w", cerr)
		}
	}
	return err
}

// flush waits until the writer goroutine has applied everything queued
// before the call and flushed the writer.
func (p *pipe[T]) flush() error {
	if err := p.refuse(); err != nil {
		return err
	}
	ack := make(chan error, 1)
	select {
	case p.flushReq <- ack:
		return <-ack
	case <-p.done:
		return ErrClosed
	}
}

func (p *pipe[T]) close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.quit)
		<-p.done
	})
	return p.closeErr
}

func (p *pipe[T]) err() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *pipe[T]) stats() Stats {
	return Stats{
		Frames:  p.cons.frames.Load(),
		Dropped: p.feed.dropped.Load(),
		Refused: p.feed.refused.Load(),
		Trimmed: p.cons.trimmed.Load(),
		Gaps:    p.cons.gaps.Load(),
		Silence: durationOf(p.cons.silence.Load(), p.rate),
		Written: durationOf(p.cons.position.Load(), p.rate),
	}
}

// Recorder records timestamped PCM frames through a PCMWriter (WAV or
// Ogg/Opus) on a goroutine of its own, so that the goroutine feeding it —
// the application's, draining a mixer output — never waits for a disk.
//
// Frames go into a bounded queue allocated up front (Config.Queue): Write
// copies the frame and returns, without allocating or blocking. When the
// queue is full the frame is dropped, counted (Stats.Dropped) and
// ErrQueueFull returned; its time is not lost, as the next frame's stamp
// leaves a gap that is written as silence. Gaps of any cause — loss, DTX,
// a participant who joined late, frames dropped — are written as silence,
// so that the file's length follows the stamps within half a frame and
// recordings started with the same Config.Start line up.
//
// Concurrency: Write and WriteSilence are called by one goroutine at a
// time (the feeder). Close, Flush, Err and Stats are safe from any
// goroutine; a frame written while Close runs may or may not be recorded.
// Close must be called: it finishes the file and stops the goroutine.
// Errors of the writer goroutine (a full disk) are kept: Err returns the
// first, Write returns it from then on, and Close returns it.
type Recorder struct {
	p  *pipe[int16]
	ch int
}

// PCMWriter is what a Recorder writes to: *WAVWriter and *OggOpusWriter
// are PCMWriters. The recorder's goroutine is the only caller of its
// methods once the recorder is made.
type PCMWriter interface {
	// Format is the PCM the writer takes.
	Format() Format
	// WritePCM appends interleaved samples.
	WritePCM(pcm []int16) error
	// WriteSilence appends samples (per channel) of silence.
	WriteSilence(samples int) error
	// Position is the samples per channel appended so far.
	Position() int64
	// Close finishes the file.
	Close() error
}

type pcmSink struct {
	w  PCMWriter
	ch int64
}

func (s pcmSink) write(d []int16) error                   { return s.w.WritePCM(d) }
func (s pcmSink) silence(n int64) error                   { return s.w.WriteSilence(int(n)) }
func (s pcmSink) position() int64                         { return s.w.Position() }
func (s pcmSink) close() error                            { return s.w.Close() }
func (s pcmSink) trim(d []int16, n int64) ([]int16, bool) { return d[n*s.ch:], true }

func (s pcmSink) flush() error {
	if f, ok := s.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// NewRecorder starts a recorder writing to w, which it owns from now on:
// Close closes it. The writer's Format sets the PCM Write takes.
func NewRecorder(w PCMWriter, cfg Config) (*Recorder, error) {
	f := w.Format()
	if f.SampleRate <= 0 || f.Channels <= 0 {
		return nil, configf("recorder: writer format %v", f)
	}
	p, err := newPipe[int16](pcmSink{w: w, ch: int64(f.Channels)}, f.SampleRate, f.SampleRate*f.Channels, cfg)
	if err != nil {
		return nil, err
	}
	return &Recorder{p: p, ch: f.Channels}, nil
}

// Write queues pcm (interleaved when stereo), whose first sample is at
// media time at, and returns at once; pcm may be reused when it returns.
// It returns ErrQueueFull when the frame was dropped for want of room
// (its time becomes silence), an error wrapping ErrFrame for a frame the
// recorder cannot take, the writer goroutine's error once it has failed,
// or ErrClosed. It does not allocate.
func (r *Recorder) Write(at time.Duration, pcm []int16) error {
	if err := r.p.refuse(); err != nil {
		return err
	}
	switch {
	case len(pcm) == 0:
		return r.p.refused(errEmptyFrame)
	case len(pcm)%r.ch != 0:
		return r.p.refused(errChannels)
	case len(pcm) > len(r.p.q.data):
		return r.p.refused(errLargerThanQ)
	}
	return r.p.offer(itemFrame, at, int64(len(pcm)/r.ch), pcm)
}

// WriteSilence records silence from the end of what was written up to
// media time until: what a frame that never comes would have covered (a
// participant who left, the end of a recording that must last as long as
// another). Earlier times do nothing. Frames later than until still go
// where their stamps say. It does not allocate.
func (r *Recorder) WriteSilence(until time.Duration) error {
	if err := r.p.refuse(); err != nil {
		return err
	}
	return r.p.offer(itemSilence, until, 0, nil)
}

// Flush waits until the writer goroutine has written every frame queued
// before the call and flushed the writer (a WAVWriter's header then
// describes all of it). It must not be called from a goroutine that may
// not wait.
func (r *Recorder) Flush() error { return r.p.flush() }

// Close writes what is queued, pads the file with silence to the end of
// the latest frame offered (dropped ones included) or WriteSilence, closes
// the writer (finishing the file) and Config.Closer, and stops the
// goroutine. It returns the first error of all that; calling it again
// returns the same.
func (r *Recorder) Close() error { return r.p.close() }

// Err returns the first error of the writer goroutine, or nil.
func (r *Recorder) Err() error { return r.p.err() }

// Stats returns the recorder's counters.
func (r *Recorder) Stats() Stats { return r.p.stats() }

// PacketRecorder records timestamped Opus packets through a PacketWriter
// (an OggOpusPacketWriter) on a goroutine of its own: a participant's
// inbound leg, without decoding or encoding. Each packet's duration is
// read from its framing; stamps are converted at 48 kHz, Opus's clock.
// It queues, drops, aligns and reports exactly as Recorder does, except
// that a packet overlapping audio already written is dropped whole, and a
// malformed packet is refused (ErrFrame and codec.ErrCorrupt; counted in
// Stats.Refused) with its time left to silence.
//
// Concurrency is Recorder's: Write and WriteSilence from one goroutine at
// a time; Close, Flush, Err and Stats from any.
type PacketRecorder struct {
	p *pipe[byte]
}

// PacketWriter is what a PacketRecorder writes to: *OggOpusPacketWriter
// is one. The recorder's goroutine is the only caller of its methods once
// the recorder is made.
type PacketWriter interface {
	// WritePacket appends one packet.
	WritePacket(packet []byte) error
	// WriteSilence appends samples (at 48 kHz) of silence.
	WriteSilence(samples48 int) error
	// Position is where the next packet starts, in samples at 48 kHz.
	Position() int64
	// Close finishes the file.
	Close() error
}

type packetSink struct{ w PacketWriter }

func (s packetSink) write(d []byte) error              { return s.w.WritePacket(d) }
func (s packetSink) silence(n int64) error             { return s.w.WriteSilence(int(n)) }
func (s packetSink) position() int64                   { return s.w.Position() }
func (s packetSink) close() error                      { return s.w.Close() }
func (s packetSink) trim([]byte, int64) ([]byte, bool) { return nil, false }

// packetBytesPerSecond is what a packet queue holds per second of
// Config.Queue: 128 kbit/s, beyond any speech or room recording.
const packetBytesPerSecond = 16000

// NewPacketRecorder starts a recorder writing to w, which it owns from now
// on: Close closes it.
func NewPacketRecorder(w PacketWriter, cfg Config) (*PacketRecorder, error) {
	p, err := newPipe[byte](packetSink{w: w}, 48000, packetBytesPerSecond, cfg)
	if err != nil {
		return nil, err
	}
	return &PacketRecorder{p: p}, nil
}

// Write queues one Opus packet whose audio starts at media time at, and
// returns at once; packet may be reused when it returns. Errors are
// Recorder.Write's. It does not allocate.
func (r *PacketRecorder) Write(at time.Duration, packet []byte) error {
	if err := r.p.refuse(); err != nil {
		return err
	}
	dur := opuspacket.Samples(packet)
	switch {
	case dur == 0:
		return r.p.refused(errCorruptOpus)
	case len(packet) > len(r.p.q.data):
		return r.p.refused(errLargerThanQ)
	}
	return r.p.offer(itemFrame, at, int64(dur), packet)
}

// WriteSilence is Recorder.WriteSilence.
func (r *PacketRecorder) WriteSilence(until time.Duration) error {
	if err := r.p.refuse(); err != nil {
		return err
	}
	return r.p.offer(itemSilence, until, 0, nil)
}

// Flush is Recorder.Flush.
func (r *PacketRecorder) Flush() error { return r.p.flush() }

// Close is Recorder.Close.
func (r *PacketRecorder) Close() error { return r.p.close() }

// Err returns the first error of the writer goroutine, or nil.
func (r *PacketRecorder) Err() error { return r.p.err() }

// Stats returns the recorder's counters.
func (r *PacketRecorder) Stats() Stats { return r.p.stats() }

package tsm

import (
	"fmt"
	"time"
)

// Config holds a FIFO's optional settings. The zero value is valid.
type Config struct {
	// Capacity is the most audio the FIFO holds waiting to be read. The
	// default, 180 ms, holds the longest Opus packet (120 ms) decoded on
	// top of the leftover of the longest mixer tick (60 ms). It must lie in
	// [10 ms, 2 s].
	Capacity time.Duration
}

const (
	defaultCapacity = 180 * time.Millisecond
	minCapacity     = 10 * time.Millisecond
	maxCapacity     = 2 * time.Second

	// histMs of played audio are kept in front of the pending samples: the
	// pitch search compares the newest 10 ms with up to 15 ms before it, so
	// a splice needs no more than one frame of lookahead, and Lengthen can
	// repeat a period that has already been played.
	histMs = 30
	// slackMs of extra storage let Read advance for a few ticks before the
	// FIFO moves its contents back to the front of its array.
	slackMs = 60
)

// Stats counts what a FIFO did over its life. Reset does not clear them.
type Stats struct {
	Removed       uint64 // samples Shorten removed
	Inserted      uint64 // samples Lengthen inserted
	PitchSplices  uint64 // changes made by one pitch-period splice in voiced audio
	SilentSplices uint64 // changes made in silence or background noise
	Declined      uint64 // Shorten or Lengthen calls with max > 0 that changed nothing
}

// FIFO is one stream's queue of decoded mono PCM whose pending audio can be
// made shorter or longer without audible artefacts (see the package doc).
//
// A FIFO is not safe for concurrent use: one goroutine at a time calls its
// methods (for the mixer, the conference tick that owns the participant).
// Distinct FIFOs share nothing.
type FIFO struct {
	rate     int
	d        int // decimation factor to the 4 kHz pitch-search rate
	capacity int // most pending samples
	histMax  int
	fade     int // crossfade length of a silent splice
	block    int // block length of the silence decision

	// buf[start-hist:start] is played audio kept for the pitch search,
	// buf[start:end] is pending audio.
	buf              []int16
	start, end, hist int

	floor noiseFloor
	// y is the decimated signal of one pitch search, kept here so the
	// search allocates nothing.
	y [win4 + maxLag4 + 1]float32

	stats Stats
	last  splice // the latest change, for tests
}

// New returns an empty FIFO for mono PCM at rate Hz: 8000, 16000, 24000,
// 32000 or 48000.
func New(rate int, cfg Config) (*FIFO, error) {
	switch rate {
	case 8000, 16000, 24000, 32000, 48000:
	default:
		return nil, fmt.Errorf("%w: %d Hz (want 8000, 16000, 24000, 32000 or 48000)", errRate, rate)
	}
	c := cfg.Capacity
	if c == 0 {
		c = defaultCapacity
	}
	if c < minCapacity || c > maxCapacity {
		return nil, fmt.Errorf("%w: Capacity %v outside [%v, %v]", errConfig, c, minCapacity, maxCapacity)
	}
	f := &FIFO{
		rate:     rate,
		d:        rate / searchRate,
		capacity: int(int64(c) * int64(rate) / int64(time.Second)),
		histMax:  rate * histMs / 1000,
		fade:     rate * silentFadeUs / 1e6,
		block:    rate * silentBlockUs / 1e6,
	}
	f.buf = make([]int16, f.histMax+f.capacity+rate*slackMs/1000)
	f.floor.init(rate)
	return f, nil
}

// Rate returns the sample rate in Hz.
func (f *FIFO) Rate() int { return f.rate }

// Len returns the number of pending samples: written and not yet read.
func (f *FIFO) Len() int { return f.end - f.start }

// Cap returns the most pending samples the FIFO holds (Config.Capacity).
func (f *FIFO) Cap() int { return f.capacity }

// Available returns how many more samples Write would accept.
func (f *FIFO) Available() int { return f.capacity - f.Len() }

// Stats returns the counters.
func (f *FIFO) Stats() Stats { return f.stats }

// Reset empties the FIFO and forgets the played history and the noise
// floor, as for a new stream (a new SSRC, a decoder reset): nothing of the
// old audio is used for a splice afterwards. Stats are kept.
func (f *FIFO) Reset() {
	f.start, f.end, f.hist = 0, 0, 0
	f.floor.init(f.rate)
}

// AvailableBuffer returns an empty slice with capacity Available() that
// ends at the FIFO's free space, so a decoder can decode straight into the
// FIFO: pass the decoder's output to an immediately succeeding Write, which
// then copies nothing. Any other call in between invalidates the slice.
func (f *FIFO) AvailableBuffer() []int16 {
	n := f.Available()
	f.makeRoom(n)
	return f.buf[f.end : f.end : f.end+n]
}

// Write appends p to the pending audio and returns how many samples it took:
// all of p unless that would exceed Cap, in which case the rest is refused
// (a caller that prefers to drop the oldest audio calls Discard first).
// Write also feeds the noise-floor estimate that tells silence from speech.
// p may be the FIFO's own AvailableBuffer, appended to; no other part of
// the FIFO's memory.
func (f *FIFO) Write(p []int16) int {
	n := min(len(p), f.Available())
	if n == 0 {
		return 0
	}
	if f.end >= len(f.buf) || &p[0] != &f.buf[f.end] {
		f.makeRoom(n)
		copy(f.buf[f.end:f.end+n], p[:n])
	}
	f.floor.observe(f.buf[f.end : f.end+n])
	f.end += n
	return n
}

// WriteZeros appends n samples of digital silence (a DTX gap, a lost frame
// the caller could not conceal) and returns how many fitted. Zeros do not
// move the noise floor: they say nothing about the sender's background.
func (f *FIFO) WriteZeros(n int) int {
	n = max(0, min(n, f.Available()))
	f.makeRoom(n)
	clear(f.buf[f.end : f.end+n])
	f.end += n
	return n
}

// Read moves up to len(dst) pending samples into dst and returns how many
// it moved; dst[n:] is left untouched. What was read becomes the played
// history that later splices analyse.
func (f *FIFO) Read(dst []int16) int {
	n := min(len(dst), f.Len())
	copy(dst[:n], f.buf[f.start:f.start+n])
	f.advance(n)
	return n
}

// Discard drops up to n pending samples (audio nobody will hear) and
// returns how many it dropped. They count as played history, since the
// audio after them continues them.
func (f *FIFO) Discard(n int) int {
	n = max(0, min(n, f.Len()))
	f.advance(n)
	return n
}

func (f *FIFO) advance(n int) {
	f.start += n
	f.hist = min(f.histMax, f.hist+n)
}

// makeRoom moves history and pending audio to the front of buf when fewer
// than n samples are free after them. The slack in buf makes this happen
// once every few ticks, not on every Read.
func (f *FIFO) makeRoom(n int) {
	if f.end+n <= len(f.buf) {
		return
	}
	from := f.start - f.hist
	copy(f.buf, f.buf[from:f.end])
	f.start -= from
	f.end -= from
}

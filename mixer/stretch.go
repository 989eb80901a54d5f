package mixer

import (
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/internal/tsm"
	"github.com/rtpmix/rtpmix/jitter"
)

// Time-scaling: the jitter buffer changes its delay while a participant
// talks by asking, on the packet frames it hands out (jitter.Frame.Stretch),
// for the pending audio to be played a little longer or shorter. The
// decode queue answers:
//
//   - for a participant it decodes, the time-scaler (internal/tsm) takes
//     out or repeats one pitch period, or a stretch of silence, in the
//     decoded audio before the tick takes its share, or declines;
//   - for one it does not decode (not a speaker: nobody hears it), the
//     request is applied exactly to the silence its frames are owed as;
//   - either way the buffer is told exactly what was applied
//     (jitter.Buffer.Stretched), so that its account of the audio handed
//     out and not yet played stays that of the queue. So is any other
//     change of the pending audio: a decoder that returns more than its
//     frame's duration, or audio dropped because the FIFO was full.
//
// Exactness: the FIFO counts samples at the conference rate and the
// buffer nanoseconds. Each direction is reported as the difference of the
// running total converted with one rounding, so the reports add up to the
// total to within a nanosecond however many there are.

// stretchCause says why the pending audio changed, for Stats.
type stretchCause uint8

const (
	stretchSplice  stretchCause = iota // the time-scaler, on decoded audio
	stretchUnheard                     // a request applied to owed silence
	stretchLonger                      // a decoder's output longer than its frame
	stretchTrim                        // audio dropped from a full FIFO
)

// timeScale is the decode queue's side of the buffer's delay control: the
// request of the frames popped this tick, where a new stream starts, and
// the account of what was applied. Owned by the tick, like the queue;
// Stats reads the atomic counters only.
type timeScale struct {
	// req is the request of the last packet frame popped this tick: each
	// frame's request is the buffer's view of all the audio pending as it
	// hands the frame out, so the last one supersedes those before it.
	req time.Duration
	// off ignores the requests (tests compare with a mixer that does not
	// time-scale, whose jitter buffer then drops and conceals whole
	// frames).
	off bool
	// newStream is the index in pend of the first frame of a new stream
	// this tick (an SSRC change or a jump in timestamps: the buffer
	// resynced), or -1.
	newStream int
	// newDecoder: an Update changed the inbound codec; the next frame
	// popped starts a new stream.
	newDecoder bool
	ssrc       uint32
	nextTS     uint32 // the timestamp that continues the last frame
	seen       bool   // ssrc and nextTS are set
	// guard is how many samples must be read before the next splice:
	// the FIFO holds the old stream's audio before the new stream's (and
	// then as history), and no splice may join the two.
	guard int

	rate int
	// Running totals at rate since setRate, each below rate (a second is
	// folded into the reported figure), and what of them was reported.
	lenS, shortS   int64
	lenNs, shortNs int64

	lengthened, shortened, unheardNs atomic.Int64 // ns reported, for Stats
	splices, declined                atomic.Uint64
}

// TimeScaleStats says how the mixer answered the participant's jitter
// buffer's requests to play its audio longer or shorter
// (jitter.Frame.Stretch) while it talks.
type TimeScaleStats struct {
	// Lengthened and Shortened add up every change of the participant's
	// pending audio the mixer reported to its jitter buffer
	// (jitter.Buffer.Stretched), so they equal Jitter.Lengthened and
	// Jitter.Shortened: time-scaled speech and silence, requests applied
	// to audio nobody heard (Unheard), the rare packet that decodes to
	// more audio than its timestamps say, and audio dropped when such
	// packets overfill the queue.
	Lengthened, Shortened time.Duration
	// Unheard is the part of Lengthened and Shortened applied, exactly as
	// asked, to frames that were not decoded because the participant was
	// not a speaker.
	Unheard time.Duration
	// Splices counts the changes the time-scaler made to decoded audio
	// (one pitch period of voiced speech, or a stretch of silence or
	// background noise), Declined the requests it turned down because no
	// change would have gone unheard; the buffer asks again on a later
	// frame.
	Splices, Declined uint64
}

// stats returns the counters.
func (t *timeScale) stats() TimeScaleStats {
	return TimeScaleStats{
		Lengthened: time.Duration(t.lengthened.Load()),
		Shortened:  time.Duration(t.shortened.Load()),
		Unheard:    time.Duration(t.unheardNs.Load()),
		Splices:    t.splices.Load(),
		Declined:   t.declined.Load(),
	}
}

// setRate starts the account over at a new conference rate (what the
// FIFO held was dropped with the old rate).
func (t *timeScale) setRate(rate int) {
	t.rate = rate
	t.lenS, t.shortS, t.lenNs, t.shortNs = 0, 0, 0, 0
	t.guard = 0
}

// startTick forgets the last tick's request before the tick's Pops.
func (t *timeScale) startTick() {
	t.req = 0
	t.newStream = -1
	if t.newDecoder {
		t.newStream, t.newDecoder = 0, false
	}
}

// note reads a popped frame: its request, and whether it starts a new
// stream (at index i of pend). A jump of a second or more in timestamps
// is not a pause: the buffer skips silence only to shorten its delay,
// by less than that, and hands out the rest as gap frames.
func (t *timeScale) note(f *jitter.Frame, i, clock int) {
	if f.Kind == jitter.KindEmpty {
		return
	}
	if f.Kind == jitter.KindPacket {
		if !t.off {
			t.req = f.Stretch
		}
		if d := int32(f.Timestamp - t.nextTS); t.seen && t.newStream < 0 &&
			(f.SSRC != t.ssrc || d >= int32(clock) || d <= -int32(clock)) {
			t.newStream = i
		}
		t.ssrc, t.seen = f.SSRC, true
	}
	t.nextTS = f.Timestamp + f.Duration
}

// restart is called as the first frame of a new stream is about to be
// written to fifo: with nothing pending, the FIFO starts over (history
// and noise floor); else splices wait until the old audio and the
// history after it have been read.
func (t *timeScale) restart(fifo *tsm.FIFO) {
	if fifo.Len() == 0 {
		fifo.Reset()
		t.guard = 0
		return
	}
	t.guard = fifo.Len() + t.rate*historyMs/1000
}

// historyMs is how much played audio the time-scaler looks back at
// (internal/tsm keeps 30 ms).
const historyMs = 30

// played counts k samples read from the FIFO.
func (t *timeScale) played(k int) { t.guard = max(t.guard-k, 0) }

// samplesOf converts a duration to samples at rate, towards zero (never
// more than asked).
func samplesOf(d time.Duration, rate int) int {
	return int(int64(d) * int64(rate) / int64(time.Second))
}

// lookAhead says whether pop should take one frame more than the tick
// needs: the buffer asks to shorten the audio by more than will be left
// after the tick (have samples popped or pending, n taken by the tick),
// which happens when its delay is a tick or more above its target, so the
// next packet is normally due by the target. A pitch splice needs the
// period it takes out and half as much again in the pending audio, so
// shortening the tick's own frame alone would leave the tick short. Only a
// packet that is here is taken ahead: for one still on its way (late by
// the target, but with a tick to go before its audio plays) the buffer
// would conceal at once, adding the frame of delay the shortening was to
// take out; the request waits for a later tick instead.
func (q *decodeQueue) lookAhead(have, n int) bool {
	r := q.ts.req
	if r >= 0 || q.npend == 0 || q.npend >= maxPending || q.ts.guard > 0 {
		return false
	}
	last := &q.pend[q.npend-1]
	return last.kind != jitter.KindEmpty && samplesOf(-r, q.rate) > have-n && have+last.samples <= q.fifo.Cap() && q.jb.Ready()
}

// scale applies this tick's request to the decoded audio before the tick
// reads its n samples: a shortening takes only from what lies beyond
// them, so the tick is never left short.
func (q *decodeQueue) scale(n int) {
	r := q.ts.req
	q.ts.req = 0
	if r == 0 || q.ts.guard > 0 {
		return
	}
	var got int
	if r < 0 {
		limit := min(samplesOf(-r, q.rate), q.fifo.Len()-n)
		if limit <= 0 {
			return
		}
		got = -q.fifo.Shorten(limit)
	} else {
		limit := samplesOf(r, q.rate)
		if limit <= 0 {
			return
		}
		got = q.fifo.Lengthen(limit)
	}
	if got == 0 {
		inc(&q.ts.declined)
		return
	}
	inc(&q.ts.splices)
	q.ts.report(q.jb, got, stretchSplice)
}

// unheard applies this tick's request exactly to owed samples of silence
// (a participant not decoded) and returns the change, never taking more
// than is owed.
func (t *timeScale) unheard(jb *jitter.Buffer, owed, rate int) int {
	s := samplesOf(t.req, rate)
	t.req = 0
	s = max(s, -owed)
	if s != 0 {
		t.report(jb, s, stretchUnheard)
	}
	return s
}

// report tells jb that the pending audio changed by s samples at the
// conference rate (s > 0: longer).
func (t *timeScale) report(jb *jitter.Buffer, s int, why stretchCause) {
	if s == 0 || t.rate == 0 {
		return
	}
	var d int64
	if s > 0 {
		d = t.account(&t.lenS, &t.lenNs, s)
		jb.Stretched(time.Duration(d))
		t.lengthened.Add(d)
	} else {
		d = t.account(&t.shortS, &t.shortNs, -s)
		jb.Stretched(-time.Duration(d))
		t.shortened.Add(d)
	}
	if why == stretchUnheard {
		t.unheardNs.Add(d)
	}
}

// account adds s samples to the running total *total, of which *done ns
// were reported, and returns the ns to report now.
func (t *timeScale) account(total, done *int64, s int) int64 {
	*total += int64(s)
	ns := *total * int64(time.Second) / int64(t.rate)
	d := ns - *done
	*done = ns
	if *total >= int64(t.rate) {
		// Fold whole seconds (exact: ns is then a whole second more than
		// the remainder's), so the product above cannot overflow.
		k := *total / int64(t.rate)
		*total -= k * int64(t.rate)
		*done -= k * int64(time.Second)
	}
	return d
}

package mixer

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/tsm"
	"github.com/rtpmix/rtpmix/jitter"
)

// decodeQueue is the tick's side of a participant's inbound audio: the
// frames popped from the jitter buffer this tick, the decoder that turns
// them into PCM at the conference rate (only when someone needs it), and a
// FIFO that carries decoded audio over from tick to tick, in which the
// jitter buffer's requests to play the audio longer or shorter are
// applied (see timeScale).
//
// After an Update that changes the inbound format or payload types, the
// queue decodes with two decoders for a while: frames still in the jitter
// buffer (or in flight) with the old payload type go to the old one, the
// rest to the new, so the switch costs no audio.
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared). Stats reads only the counters.
type decodeQueue struct {
	jb    *jitter.Buffer // Pop only; inbound pushes
	clock int            // the jitter buffer's clock: frame durations are in its ticks
	rate  int            // conference rate the decoders are set up for
	cur   decoderSlot    // the inbound format now
	// prev is the format before the last Update, while frames with its
	// payload types are still expected (until prevUntil); nil otherwise.
	// lastPrev: the last packet decoded was prev's, so a loss after it is
	// concealed by prev's decoder.
	prev      *decoderSlot
	prevUntil time.Duration
	lastPrev  bool
	decBuf    []int16   // decoder output when resampling, or when the FIFO is short of room
	fifo      *tsm.FIFO // decoded PCM at rate, time-scaled on request
	maxOut    int       // the longest frame a decoder may return, at rate
	owed      int       // samples of silence owed ahead of fifo (skipped decodes)
	stale     bool      // decodes were skipped: decoder and resampler history are old
	ts        timeScale

	pend  [maxPending]pendingFrame
	npend int
	arena []byte // payload copies for pend, reset every tick

	pcm     []int16 // this tick's audio, pcm[:frame], once havePCM
	havePCM bool
	decoded bool // pend was decoded into the FIFO this tick
	// inband, when set, looks for DTMF tones in what the current format's
	// decoder returns, at its own rate (dtmf_inband.go).
	inband *inband

	decodeErrors, fecRecovered, concealed, skipped atomic.Uint64
}

// decoderSlot is one inbound format the queue decodes: its payload types,
// and its decoder with the resampler to the conference rate after it.
type decoderSlot struct {
	name    string // SDP name of the format (codec.Format.SDPName)
	pt, cn  uint8  // media and comfort noise payload types; cn 0: none
	rate    int    // conference rate dec and res are built for
	dec     codec.Decoder
	fec     codec.FECDecoder // dec, when it can decode in-band FEC
	decRate int
	res     *resample.Resampler // decRate → rate; nil when equal
}

// maxPending bounds the packets popped for one tick: 60 ms ticks of 10 ms
// packets need 6; the rest is margin for odd senders.
const maxPending = 12

// pendingFrame is a frame popped from the jitter buffer whose decoding may
// wait until speakers are chosen. Payloads alias the jitter buffer's slot;
// when a tick pops again, the earlier ones are first copied into the
// queue's arena, because the next Pop may reuse their slot.
type pendingFrame struct {
	kind     jitter.Kind
	payload  []byte
	next     []byte // FEC source when the frame is lost and the next is here
	cn       bool   // comfort noise packet: a silence gap
	prev     bool   // a packet of the previous format: decoded by prev
	samples  int    // duration at the conference rate
	rtpTicks uint32
	ts       uint32 // a packet's timestamp, on the jitter buffer's clock
}

// init allocates the queue's buffers for the inbound format in, on payload
// type pt (comfort noise cn), whose clock jb runs at; setup builds its
// decoder.
func (q *decodeQueue) init(jb *jitter.Buffer, in codec.Format, pt, cn uint8) {
	q.jb, q.clock = jb, in.ClockRate
	q.cur = decoderSlot{name: in.SDPName(), pt: pt, cn: cn}
	q.arena = make([]byte, 0, maxPending*2*maxPayload)
	q.pcm = make([]int16, maxFrame)
	q.decBuf = make([]int16, 0, maxDecoded)
}

// setup builds the decoders, resamplers and FIFO for the conference rate;
// whatever the old FIFO held was at the old rate and is dropped.
func (q *decodeQueue) setup(rate int, ptime time.Duration) error {
	if err := q.cur.build(rate, ptime); err != nil {
		return err
	}
	if q.prev != nil && q.prev.build(rate, ptime) != nil {
		q.dropPrev()
	}
	if q.fifo != nil {
		// What was pending is dropped with the old rate: the jitter
		// buffer's account of the audio handed out must lose it too.
		if d := q.fifo.Len() + q.owed; d > 0 {
			q.ts.report(q.jb, -d, stretchTrim)
		}
	}
	if q.fifo == nil || q.fifo.Rate() != rate {
		// The default capacity, 180 ms, holds the longest Opus packet
		// (120 ms) decoded on top of the longest tick (60 ms).
		fifo, err := tsm.New(rate, tsm.Config{})
		if err != nil {
			return fmt.Errorf("inbound FIFO: %w", err)
		}
		q.fifo = fifo
	}
	q.fifo.Reset()
	q.maxOut = maxDecoded * rate / 48000
	q.rate = rate
	q.owed = 0
	q.ts.setRate(rate)
	return nil
}

// build makes the slot's decoder and resampler for the conference rate.
func (s *decoderSlot) build(rate int, ptime time.Duration) error {
	// Decode straight at the conference rate when the codec can (Opus
	// decodes at 8–48 kHz); otherwise at its own rate and resample.
	dec, err := codec.NewDecoder(s.name, codec.Config{SampleRate: rate, Channels: 1, Ptime: ptime})
	if err != nil {
		dec, err = codec.NewDecoder(s.name, codec.Config{Channels: 1, Ptime: ptime})
		if err != nil {
			return fmt.Errorf("inbound decoder: %w", err)
		}
	}
	var res *resample.Resampler
	if dec.SampleRate() != rate {
		if res, err = resample.New(dec.SampleRate(), rate, 1); err != nil {
			return fmt.Errorf("inbound resampler: %w", err)
		}
	}
	s.dec, s.res, s.rate = dec, res, rate
	s.fec, _ = dec.(codec.FECDecoder)
	s.decRate = dec.SampleRate()
	return nil
}

// switchTo makes next the current format. next brings its own decoder
// when the format changed; without one (only the payload types changed)
// the current decoder goes on: same codec, same stream. Until until,
// frames with the old payload types are still decoded by the old slot,
// which moves into hold (allocated by Update, so the tick does not).
func (q *decodeQueue) switchTo(next decoderSlot, hold *decoderSlot, until time.Duration, ptime time.Duration) {
	old := q.cur
	if next.dec == nil {
		next.name, next.dec, next.fec, next.decRate, next.res, next.rate = old.name, old.dec, old.fec, old.decRate, old.res, old.rate
	}
	if next.rate != q.rate && next.build(q.rate, ptime) != nil {
		// Built at another rate and cannot be rebuilt at this one: keep
		// the old decoder rather than none; frames of the new format
		// fail to decode and are counted.
		next.name, next.dec, next.fec, next.decRate, next.res, next.rate = old.name, old.dec, old.fec, old.decRate, old.res, old.rate
	}
	if next.dec != old.dec {
		q.ts.newDecoder = true // no splice joins the two codecs' audio
	}
	q.cur = next
	q.dropPrev()
	if old.pt != next.pt || old.cn != next.cn {
		*hold = old
		q.prev, q.prevUntil, q.lastPrev = hold, until, true
	}
}

func (q *decodeQueue) dropPrev() { q.prev, q.lastPrev = nil, false }

// classify says what a packet with payload type pt is: comfort noise, a
// packet of the previous format, or unknown (a payload type from before
// the last Update but one, or one the tick has not been told of yet).
func (q *decodeQueue) classify(pt uint8) (cn, prev, known bool) {
	switch {
	case pt == q.cur.pt:
		return false, false, true
	case q.cur.cn != 0 && pt == q.cur.cn:
		return true, false, true
	case q.prev == nil:
		return false, false, false
	case pt == q.prev.pt:
		return false, true, true
	case q.prev.cn != 0 && pt == q.prev.cn:
		return true, false, true
	}
	return false, false, false
}

// popped is what pop found for the talk detector: the loudest RFC 6464
// level among the packets (127 when none carried one), and whether any
// frame was audio, carried a level, or needs decoding to be measured.
type popped struct {
	level               int
	ext, audio, needPCM bool
}

// pop takes what the next n samples at the conference rate need from the
// jitter buffer, without decoding; when the buffer asks to shorten the
// audio by more than would be left over after this tick, one frame more,
// so that the time-scaler has a pitch period to take out of it (see
// lookAhead).
func (q *decodeQueue) pop(now time.Duration, rate, n int) popped {
	q.npend = 0
	q.arena = q.arena[:0]
	q.havePCM = false
	q.decoded = false
	if q.prev != nil && now >= q.prevUntil {
		q.dropPrev()
	}
	q.ts.startTick()
	have := q.owed + q.fifo.Len()
	r := popped{level: 127}
	for have < n && q.npend < maxPending {
		s, _ := q.popOne(now, rate, n-have, &r)
		have += s
	}
	if q.lookAhead(have, n) {
		q.popOne(now, rate, 0, &r)
	}
	return r
}

// popOne pops one frame into pend and returns its duration at the
// conference rate; fill is what the tick still needs, the duration given
// to a KindEmpty frame (silence for the rest of the tick), which is not
// kept when fill is 0. ok is false when the buffer had nothing.
func (q *decodeQueue) popOne(now time.Duration, rate, fill int, r *popped) (samples int, ok bool) {
	if q.npend > 0 {
		// The next Pop may reuse the slot the previous frame's bytes
		// alias: copy them out first. Most ticks pop once and copy
		// nothing.
		q.pin(&q.pend[q.npend-1])
	}
	f := q.jb.Pop(now)
	if f.Kind == jitter.KindEmpty && fill <= 0 {
		return 0, false
	}
	pf := &q.pend[q.npend]
	*pf = pendingFrame{kind: f.Kind, rtpTicks: f.Duration, ts: f.Timestamp}
	if f.Duration > 0 {
		pf.samples = int(uint64(f.Duration) * uint64(rate) / uint64(q.clock))
	}
	if pf.samples <= 0 || pf.samples > maxDecoded {
		pf.samples = fill
	}
	q.ts.note(&f, q.npend, q.clock)
	switch f.Kind {
	case jitter.KindPacket:
		cn, prev, known := q.classify(f.PayloadType)
		if cn {
			pf.cn = true
			break
		}
		if !known {
			pf.kind = jitter.KindLost // concealed: no decoder of ours reads it
			r.audio = true
			break
		}
		pf.payload, pf.prev = f.Payload, prev
		r.audio = true
		if f.AudioLevel >= 0 {
			r.ext = true
			r.level = min(r.level, int(f.AudioLevel))
		} else {
			r.needPCM = true
		}
	case jitter.KindLost, jitter.KindConceal:
		if f.NextAvailable {
			pf.next = f.Next
		}
		r.audio = true // level carries over from the last packet
	}
	q.npend++
	return pf.samples, f.Kind != jitter.KindEmpty
}

// pin moves a pending frame's bytes from the jitter buffer's slot, which
// stays valid only until the next Pop, into the per-tick arena. Decoding
// waits until the speakers are known, after every Pop of the tick.
func (q *decodeQueue) pin(pf *pendingFrame) {
	if pf.payload != nil {
		pf.payload = q.keep(pf.payload)
	}
	if pf.next != nil {
		pf.next = q.keep(pf.next)
	}
}

// keep copies b into the per-tick arena.
func (q *decodeQueue) keep(b []byte) []byte {
	if len(q.arena)+len(b) > cap(q.arena) {
		return nil // cannot happen with jitter MaxPayload ≤ maxPayload; decoded as a loss
	}
	s := len(q.arena)
	q.arena = append(q.arena, b...)
	return q.arena[s:len(q.arena):len(q.arena)]
}

// audio returns this tick's n samples, decoding the popped frames and
// time-scaling them as the jitter buffer asked first, unless that was done
// already.
func (q *decodeQueue) audio(rate, n int) []int16 {
	if !q.havePCM {
		if !q.decoded {
			q.decode(rate)
		}
		q.scale(n)
		k := q.fifo.Read(q.pcm[:n])
		clear(q.pcm[k:n]) // ran dry (a decoder short of its frames' duration)
		q.ts.played(k)
		q.havePCM = true
	}
	return q.pcm[:n]
}

// finish accounts for a tick whose audio nobody hears and that was not
// decoded: its frames are skipped.
func (q *decodeQueue) finish(n int) {
	if !q.havePCM {
		q.skip(n)
	}
}

// decode decodes the popped frames into the FIFO at the conference rate:
// packets decoded, lost frames recovered from the next packet's FEC when it
// is here or concealed, gaps as silence.
func (q *decodeQueue) decode(rate int) {
	q.decoded = true
	if q.stale {
		// Decoding was skipped while the participant was not a candidate:
		// the decoder resumes as after a loss; the resampler's history is
		// meaningless, and so is the FIFO's (skip left it empty), which
		// no splice may join to what comes now.
		if q.cur.res != nil {
			q.cur.res.Reset()
		}
		if q.prev != nil && q.prev.res != nil {
			q.prev.res.Reset()
		}
		q.fifo.Reset()
		q.stale = false
	}
	if q.owed > 0 {
		q.pushSilence(q.owed)
		q.owed = 0
	}
	for i := range q.npend {
		pf := &q.pend[i]
		if i == q.ts.newStream {
			q.ts.restart(q.fifo)
		}
		switch {
		case pf.kind == jitter.KindPacket && !pf.cn && pf.payload != nil:
			s := &q.cur
			if pf.prev && q.prev != nil {
				s = q.prev
			}
			q.lastPrev = s != &q.cur
			out, err := s.dec.Decode(q.decodeDst(s), pf.payload)
			if err != nil {
				inc(&q.decodeErrors)
				out, _ = s.dec.Conceal(q.decodeDst(s), q.decodedLen(s, pf.samples, rate))
			}
			q.detect(s, out)
			q.pushDecoded(s, out, pf.samples)
		case pf.kind == jitter.KindPacket && !pf.cn, pf.kind == jitter.KindLost, pf.kind == jitter.KindConceal:
			s := &q.cur
			if q.lastPrev && q.prev != nil {
				s = q.prev
			}
			decN := q.decodedLen(s, pf.samples, rate)
			var out []int16
			var err error
			if s.fec != nil && pf.next != nil {
				out, err = s.fec.DecodeFEC(q.decodeDst(s), pf.next, decN)
				if err == nil {
					inc(&q.fecRecovered)
				}
			} else {
				out, err = s.dec.Conceal(q.decodeDst(s), decN)
				if err == nil {
					inc(&q.concealed)
				}
			}
			if err != nil {
				inc(&q.decodeErrors)
				out = nil
			}
			if out == nil {
				q.detectGap(pf.samples)
				q.pushSilence(pf.samples)
			} else {
				q.detect(s, out)
				q.pushDecoded(s, out, pf.samples)
			}
		default: // DTX gap, comfort noise, nothing yet
			q.detectGap(pf.samples)
			q.pushSilence(pf.samples)
		}
	}
}

// decodedLen is how many samples at s's decoder rate fill n at rate.
func (q *decodeQueue) decodedLen(s *decoderSlot, n, rate int) int {
	return int(uint64(n) * uint64(s.decRate) / uint64(rate))
}

// decodeDst is where s's decoder writes: straight into the FIFO when no
// resampling is needed and the longest frame fits, else a scratch buffer.
func (q *decodeQueue) decodeDst(s *decoderSlot) []int16 {
	if s.res == nil && q.fifo.Available() >= q.maxOut {
		return q.fifo.AvailableBuffer()
	}
	return q.decBuf[:0]
}

// pushDecoded appends s's decoder output (already in place when decodeDst
// gave the FIFO's free space) to the FIFO, resampling when needed. want is
// the duration of the frame it decodes, at the conference rate. A decoder
// that returns less (a DTX packet of one or two bytes, which G.711 decodes
// to as many samples) is made up with silence, as the tick would play
// anyway; one that returns more (a sender whose packets hold more audio
// than their timestamps say) keeps it, and the jitter buffer is told that
// the audio got longer.
func (q *decodeQueue) pushDecoded(s *decoderSlot, out []int16, want int) {
	var w int
	if s.res == nil {
		q.room(len(out))
		w = q.fifo.Write(out)
	} else {
		q.room(s.res.OutLen(len(out)))
		w = q.fifo.Write(s.res.Process(q.fifo.AvailableBuffer(), out))
	}
	switch {
	case w < want:
		q.pushSilence(want - w)
	case w > want:
		q.ts.report(q.jb, w-want, stretchLonger)
	}
}

// pushSilence appends n samples of silence.
func (q *decodeQueue) pushSilence(n int) {
	q.room(n)
	q.fifo.WriteZeros(n)
}

// room drops the oldest pending audio when n more samples would not fit:
// only a sender whose packets decode to far more audio than their
// timestamps say fills the FIFO. The jitter buffer is told, so that its
// account of what is pending stays exact.
func (q *decodeQueue) room(n int) {
	if d := n - q.fifo.Available(); d > 0 {
		if d = q.fifo.Discard(d); d > 0 {
			q.ts.report(q.jb, -d, stretchTrim)
		}
	}
}

// skip accounts for this tick's frames without decoding them: their audio,
// and what the FIFO held, becomes owed silence, changed by exactly what the
// jitter buffer asked (nobody hears it), and the decoder is marked stale.
func (q *decodeQueue) skip(n int) {
	if q.inband != nil {
		q.inband.reset() // the audio it would hear next is not consecutive
	}
	q.owed += q.fifo.Discard(q.fifo.Len())
	for i := range q.npend {
		pf := &q.pend[i]
		q.owed += pf.samples
		if pf.kind == jitter.KindPacket && !pf.cn {
			inc(&q.skipped)
			q.stale = true
		}
	}
	q.owed += q.ts.unheard(q.jb, q.owed, q.rate)
	q.owed -= min(q.owed, n)
}

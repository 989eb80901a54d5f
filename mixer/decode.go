package mixer

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/jitter"
)

// decodeQueue is the tick's side of a participant's inbound audio: the
// frames popped from the jitter buffer this tick, the decoder that turns
// them into PCM at the conference rate (only when someone needs it), and a
// FIFO that carries decoded audio over from tick to tick.
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared). Stats reads only the counters.
type decodeQueue struct {
	jb      *jitter.Buffer // Pop only; inbound pushes
	clock   int            // inbound RTP clock rate
	cnPT    uint8          // comfort noise payload type; 0: none
	rate    int            // conference rate the decoder is set up for
	dec     codec.Decoder
	fec     codec.FECDecoder // dec, when it can decode in-band FEC
	decRate int
	inRes   *resample.Resampler // decRate → rate; nil when equal
	decBuf  []int16             // decoder output when resampling
	fifo    []int16             // decoded PCM at rate, fifo[:fifoLen]
	fifoLen int
	owed    int  // samples of silence owed ahead of fifo (skipped decodes)
	stale   bool // decodes were skipped: decoder and resampler history are old

	pend  [maxPending]pendingFrame
	npend int
	arena []byte // payload copies for pend, reset every tick

	pcm     []int16 // this tick's audio, pcm[:frame], once havePCM
	havePCM bool
	decoded bool // pend was decoded into the FIFO this tick

	decodeErrors, fecRecovered, concealed, skipped atomic.Uint64
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
	samples  int    // duration at the conference rate
	rtpTicks uint32
}

// init allocates the queue's buffers; setup builds its decoder.
func (q *decodeQueue) init(jb *jitter.Buffer, in codec.Format, cnPT uint8) {
	q.jb, q.clock, q.cnPT = jb, in.ClockRate, cnPT
	q.arena = make([]byte, 0, maxPending*2*maxPayload)
	q.pcm = make([]int16, maxFrame)
	q.fifo = make([]int16, maxDecoded+maxFrame)
	q.decBuf = make([]int16, 0, maxDecoded)
}

// setup builds the decoder and resampler for the conference rate and
// empties the FIFO, whose audio was at the old rate.
func (q *decodeQueue) setup(in codec.Format, rate int, ptime time.Duration) error {
	// Decode straight at the conference rate when the codec can (Opus
	// decodes at 8–48 kHz); otherwise at its own rate and resample.
	dec, err := codec.NewDecoder(in.SDPName(), codec.Config{SampleRate: rate, Channels: 1, Ptime: ptime})
	if err != nil {
		dec, err = codec.NewDecoder(in.SDPName(), codec.Config{Channels: 1, Ptime: ptime})
		if err != nil {
			return fmt.Errorf("inbound decoder: %w", err)
		}
	}
	q.dec = dec
	q.fec, _ = dec.(codec.FECDecoder)
	q.decRate = dec.SampleRate()
	q.inRes = nil
	if q.decRate != rate {
		if q.inRes, err = resample.New(q.decRate, rate, 1); err != nil {
			return fmt.Errorf("inbound resampler: %w", err)
		}
	}
	q.rate = rate
	q.fifoLen, q.owed = 0, 0
	return nil
}

// popped is what pop found for the talk detector: the loudest RFC 6464
// level among the packets (127 when none carried one), and whether any
// frame was audio, carried a level, or needs decoding to be measured.
type popped struct {
	level               int
	ext, audio, needPCM bool
}

// pop takes what the next n samples at the conference rate need from the
// jitter buffer, without decoding.
func (q *decodeQueue) pop(now time.Duration, rate, n int) popped {
	q.npend = 0
	q.arena = q.arena[:0]
	q.havePCM = false
	q.decoded = false
	have := q.owed + q.fifoLen
	r := popped{level: 127}
	for have < n && q.npend < maxPending {
		if q.npend > 0 {
			// The next Pop may reuse the slot the previous frame's bytes
			// alias: copy them out first. Most ticks pop once and copy
			// nothing.
			q.pin(&q.pend[q.npend-1])
		}
		f := q.jb.Pop(now)
		pf := &q.pend[q.npend]
		*pf = pendingFrame{kind: f.Kind, rtpTicks: f.Duration}
		if f.Duration > 0 {
			pf.samples = int(uint64(f.Duration) * uint64(rate) / uint64(q.clock))
		}
		if pf.samples <= 0 || pf.samples > maxDecoded {
			pf.samples = n - have
		}
		switch f.Kind {
		case jitter.KindPacket:
			if q.cnPT != 0 && f.PayloadType == q.cnPT {
				pf.cn = true
				break
			}
			pf.payload = f.Payload
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
		have += pf.samples
		q.npend++
	}
	return r
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

// audio returns this tick's n samples, decoding the popped frames first
// unless that was done already.
func (q *decodeQueue) audio(rate, n int) []int16 {
	if !q.havePCM {
		if !q.decoded {
			q.decode(rate)
		}
		q.take(q.pcm[:n])
		q.havePCM = true
	}
	return q.pcm[:n]
}

// finish accounts for a tick whose audio nobody hears: decoded audio is
// dropped, undecoded frames are skipped.
func (q *decodeQueue) finish(n int) {
	switch {
	case q.havePCM:
	case q.decoded:
		q.discard(n)
	default:
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
		// meaningless.
		if q.inRes != nil {
			q.inRes.Reset()
		}
		q.stale = false
	}
	for i := range q.npend {
		pf := &q.pend[i]
		decN := int(uint64(pf.samples) * uint64(q.decRate) / uint64(rate))
		switch {
		case pf.kind == jitter.KindPacket && !pf.cn && pf.payload != nil:
			out, err := q.dec.Decode(q.decodeDst(), pf.payload)
			if err != nil {
				inc(&q.decodeErrors)
				out, _ = q.dec.Conceal(q.decodeDst(), decN)
			}
			q.pushDecoded(out)
		case pf.kind == jitter.KindPacket && !pf.cn, pf.kind == jitter.KindLost, pf.kind == jitter.KindConceal:
			var out []int16
			var err error
			if q.fec != nil && pf.next != nil {
				out, err = q.fec.DecodeFEC(q.decodeDst(), pf.next, decN)
				if err == nil {
					inc(&q.fecRecovered)
				}
			} else {
				out, err = q.dec.Conceal(q.decodeDst(), decN)
				if err == nil {
					inc(&q.concealed)
				}
			}
			if err != nil {
				inc(&q.decodeErrors)
				out = nil
			}
			if out == nil {
				q.pushSilence(pf.samples)
			} else {
				q.pushDecoded(out)
			}
		default: // DTX gap, comfort noise, nothing yet
			q.pushSilence(pf.samples)
		}
	}
}

// decodeDst is where the decoder writes: straight into the FIFO when no
// resampling is needed, else a scratch buffer.
func (q *decodeQueue) decodeDst() []int16 {
	if q.inRes == nil {
		return q.fifo[q.fifoLen:q.fifoLen:len(q.fifo)]
	}
	return q.decBuf[:0]
}

// pushDecoded appends decoder output (already in place when decodeDst gave
// the FIFO) to the FIFO, resampling when needed.
func (q *decodeQueue) pushDecoded(out []int16) {
	if q.inRes == nil {
		if len(out) > 0 && &out[0] != &q.fifo[q.fifoLen] {
			copy(q.fifo[q.fifoLen:], out) // decoder had to grow: copy back
		}
		q.fifoLen += min(len(out), len(q.fifo)-q.fifoLen)
	} else {
		r := q.inRes.Process(q.fifo[q.fifoLen:q.fifoLen:len(q.fifo)], out)
		q.fifoLen += len(r)
	}
	q.trimFIFO()
}

func (q *decodeQueue) pushSilence(n int) {
	n = min(n, len(q.fifo)-q.fifoLen)
	clear(q.fifo[q.fifoLen : q.fifoLen+n])
	q.fifoLen += n
	q.trimFIFO()
}

// trimFIFO drops the oldest samples when a sender's packets decode to more
// audio than their timestamps said, so the FIFO never fills or adds delay.
func (q *decodeQueue) trimFIFO() {
	limit := len(q.fifo) - maxDecoded
	if q.fifoLen > limit {
		drop := q.fifoLen - limit
		copy(q.fifo, q.fifo[drop:q.fifoLen])
		q.fifoLen = limit
	}
}

// take moves one tick of audio out of the FIFO into dst: owed silence first,
// then decoded samples, then silence if the FIFO ran dry.
func (q *decodeQueue) take(dst []int16) {
	n := len(dst)
	z := min(q.owed, n)
	clear(dst[:z])
	q.owed -= z
	k := min(n-z, q.fifoLen)
	copy(dst[z:z+k], q.fifo[:k])
	clear(dst[z+k:])
	copy(q.fifo, q.fifo[k:q.fifoLen])
	q.fifoLen -= k
}

// discard drops one tick of decoded audio nobody will hear.
func (q *decodeQueue) discard(n int) {
	z := min(q.owed, n)
	q.owed -= z
	k := min(n-z, q.fifoLen)
	copy(q.fifo, q.fifo[k:q.fifoLen])
	q.fifoLen -= k
}

// skip accounts for this tick's frames without decoding them: their audio
// becomes owed silence, and the decoder is marked stale.
func (q *decodeQueue) skip(n int) {
	q.owed += q.fifoLen
	q.fifoLen = 0
	for i := range q.npend {
		pf := &q.pend[i]
		q.owed += pf.samples
		if pf.kind == jitter.KindPacket && !pf.cn {
			inc(&q.skipped)
			q.stale = true
		}
	}
	q.owed -= min(q.owed, n)
}

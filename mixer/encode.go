package mixer

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
)

// encodeChain turns the int32 sum of the speakers into one encoded stream:
// (sum − own voice) × gain through the limiter, the silence policy, a
// resampler to the encoder's rate, and the encoder. A participant has one
// for the mix-minus it hears while it speaks; an encodeGroup has one that
// all its listeners share.
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared).
type encodeChain struct {
	enc     codec.Encoder // nil when the codec could not be built: every encode fails
	dtx     bool          // the encoder signals silence with a TOC-only frame (Opus DTX)
	rate    int           // conference rate the chain is set up for
	encRate int
	res     *resample.Resampler // rate → encRate; nil when equal
	limiter pcm.Limiter
	noise   noiseGen
	mix     []int16
	resBuf  []int16
	payload []byte
	// repack is set when the chain's packet time differs from the tick's
	// (ptime.go): the mix waits there until a packet's worth is in.
	repack *repacketizer
	// active: the chain encoded last tick, so the encoder's, resampler's
	// and limiter's state continue the stream. Otherwise they are stale and
	// are reset (resume) or taken over from another chain (takeOver).
	active bool
	// quiet: what a silent mix sends without the encoder (opus_dtx.go);
	// cx: the encoder's complexity by role and load (complexity.go).
	quiet opusSilence
	cx    chainComplexity
}

// silencePolicy is what a chain sends for a mix nobody is heard in, and
// the conference's complexity control that its encodes follow.
type silencePolicy struct {
	mode       SilenceMode
	noiseLevel int // -dBov, for ComfortNoise
	cx         complexityPolicy
	// skips counts the encodes a silent mix saved (ComplexityStats); nil
	// in tests of a lone chain.
	skips *atomic.Uint64
}

// errNoEncoder is what encode reports for a chain whose codec could not be
// built; it never leaves the package (the tick counts it).
var errNoEncoder = fmt.Errorf("%w: no encoder", ErrConfig)

func newEncodeChain() encodeChain {
	return encodeChain{
		mix:     make([]int16, maxFrame),
		resBuf:  make([]int16, 0, maxFrame),
		payload: make([]byte, 0, maxPayload),
	}
}

// setup builds the encoder and resampler for the conference rate, for
// packets of ptime while the conference ticks every tick. On failure the
// chain is left without an encoder.
func (e *encodeChain) setup(out codec.Format, ec codec.Config, rate int, tick, ptime time.Duration) error {
	e.enc = nil
	e.setPacketTime(rate, tick, ptime)
	encRate := encoderRate(out, rate)
	var res *resample.Resampler
	if encRate != rate {
		var err error
		if res, err = resample.New(rate, encRate, 1); err != nil {
			return fmt.Errorf("outbound resampler: %w", err)
		}
	}
	enc, err := newEncoder(out, ec, rate, ptime)
	if err != nil {
		return err
	}
	e.enc, e.dtx = enc, ec.DTX
	e.quiet.init(out.ClockRate == 48000 && strings.EqualFold(out.Name, "opus"), codec.FrameSamples(48000, ptime))
	e.cx.init(enc, ec)
	e.rate, e.encRate, e.res = rate, encRate, res
	e.limiter = newLimiter(rate)
	e.active = false
	return nil
}

// limit writes (acc − own) × gain into the chain's mix, soft limited (or
// hard clamped) once, and returns it. own is nil for a shared mix.
func (e *encodeChain) limit(acc []int32, own []int16, gain int32, clamp bool) []int16 {
	dst := e.mix[:len(acc)]
	if clamp {
		if own == nil {
			pcm.Saturate(dst, acc)
		} else {
			pcm.SubSaturate(dst, acc, own)
		}
		if gain != unity {
			pcm.Gain(dst, dst, gain)
		}
		return dst
	}
	e.limiter.Process(dst, acc, own, gain)
	return dst
}

// encode turns the chain's mix (its first n samples, as limit left them)
// into a payload. A silent mix becomes digital silence, comfort noise or
// nothing (DTX), as the policy says; on an Opus chain, once the encoder
// has flushed, a TOC-only DTX frame without running the encoder
// (opus_dtx.go). ok is false when nothing is to be sent.
func (e *encodeChain) encode(n int, silent bool, sp silencePolicy) (payload []byte, ok bool, err error) {
	mix := e.mix[:n]
	if silent && sp.mode == DTX {
		return nil, false, nil
	}
	if e.enc == nil {
		return nil, false, errNoEncoder
	}
	if silent {
		if p, ok, skip := e.quiet.silent(sp.mode, e.dtx, sp.skips); skip {
			return p, ok, nil
		}
		switch sp.mode {
		case ComfortNoise:
			e.noise.fill(mix, sp.noiseLevel)
		default:
			clear(mix)
		}
	} else {
		e.quiet.heard()
	}
	e.cx.apply(sp.cx)
	in := mix
	if e.res != nil {
		in = e.res.Process(e.resBuf[:0], mix)
	}
	out, err := e.enc.Encode(e.payload[:0], in)
	if err != nil {
		return nil, false, err
	}
	if e.dtx && len(out) <= 2 {
		return nil, false, nil // Opus DTX: a TOC-only frame means "nothing to send"
	}
	if e.quiet.on {
		e.quiet.learn(out)
	}
	return out, true, nil
}

// resume makes a chain that was idle current again: the encoder and the
// resampler restart as after a gap.
func (e *encodeChain) resume() {
	e.active = true
	e.quiet.heard() // a fresh encoder codes the first silent frames for real
	e.repack.reset()
	if e.enc != nil {
		e.enc.Reset()
	}
	if e.res != nil {
		e.res.Reset()
	}
}

// takeOver makes an idle chain current by continuing from another chain's
// state where that is the same stream of audio: a new speaker heard its
// group's shared mix until now, whose history is exactly what it heard, so
// its own chain continues from the group's resampler and limiter state and
// the audio goes on without a transient. Without such a chain (from nil,
// idle or at another rate) the resampler restarts and the limiter goes on
// from its own state. The encoder is reset either way: its state is from
// an earlier turn (G.711 has none; an Opus decoder rides over the switch as
// over a loss).
func (e *encodeChain) takeOver(from *encodeChain) {
	e.active = true
	e.quiet.heard() // a fresh encoder codes the first silent frames for real
	e.repack.takeOver(from)
	if e.enc != nil {
		e.enc.Reset()
	}
	if from != nil && from.active && from.rate == e.rate {
		e.limiter = from.limiter
		if e.res != nil && from.res != nil && e.res.CopyStateFrom(from.res) == nil {
			return
		}
	}
	if e.res != nil {
		e.res.Reset()
	}
}

// outLevel is the RFC 6464 level of a mix, computed once per stream.
func outLevel(mix []int16, silent bool) uint8 {
	if silent {
		return 127
	}
	return uint8(pcm.LevelDBov(mix))
}

func newEncoder(out codec.Format, ec codec.Config, rate int, ptime time.Duration) (codec.Encoder, error) {
	if ec.Complexity == 0 {
		// libopus's default (9) costs about 300 µs per 20 ms frame here;
		// 5 costs a third of that with little audible difference for speech.
		ec.Complexity = DefaultComplexity
	}
	ec.SampleRate = encoderRate(out, rate)
	ec.Channels = 1
	ec.Ptime = ptime
	enc, err := codec.NewEncoder(out.SDPName(), ec)
	if err != nil {
		return nil, fmt.Errorf("outbound encoder: %w", err)
	}
	return enc, nil
}

// newLimiter returns the output limiter for a conference rate.
func newLimiter(rate int) pcm.Limiter {
	l, err := pcm.NewLimiter(pcm.LimiterConfig{SampleRate: rate})
	if err != nil {
		return pcm.Limiter{} // the 48 kHz defaults; rates are validated before this
	}
	return *l
}

// encoderRate is the PCM rate an encoder for f takes in a conference at
// rate: Opus encodes any of the conference rates directly, G.711 needs 8 kHz.
func encoderRate(f codec.Format, rate int) int {
	if f.ClockRate == 48000 { // Opus: 8, 12, 16, 24 or 48 kHz input
		return rate
	}
	return audioRate(f)
}

// audioRate is the PCM rate a format's codec works at: the registered
// format's (a Format built from SDP may lack SampleRate), which differs from
// the RTP clock for G.722 (16 kHz audio on an 8000 Hz clock, RFC 3551).
func audioRate(f codec.Format) int {
	if r, ok := codec.Lookup(f.SDPName()); ok {
		return r.NaturalRate()
	}
	return f.NaturalRate()
}

// noiseGen makes low-level white noise for comfort noise: a xorshift
// generator, deterministic and allocation-free.
type noiseGen struct{ s uint32 }

func (g *noiseGen) fill(dst []int16, levelDBov int) {
	if g.s == 0 {
		g.s = 0x9E3779B9
	}
	// Uniform noise in [-a, a] has RMS a/√3; RFC 6464's 0 dBov is the RMS
	// of a full-scale square wave, 32767.
	a := int32(math.Sqrt(3) * 32767 * math.Pow(10, -float64(levelDBov)/20))
	if a < 1 {
		a = 1
	}
	span := uint32(2*a + 1)
	for i := range dst {
		g.s ^= g.s << 13
		g.s ^= g.s >> 17
		g.s ^= g.s << 5
		dst[i] = int16(int32(g.s%span) - a)
	}
}

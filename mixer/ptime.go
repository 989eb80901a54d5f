package mixer

import (
	"fmt"
	"strings"
	"time"
)

// Packet times. The conference ticks every ConferenceConfig.Ptime and
// mixes that much audio; a participant is sent packets of its own packet
// time (ParticipantConfig.Ptime), which may differ: a desk phone that asked
// for 30 ms in a 20 ms room, or an Opus leg (no 30 ms frame) in a 30 ms
// room. Its chains (own and group) then queue the mix in a repacketizer
// and encode a packet whenever one's worth is in: a 30 ms leg in a 20 ms
// room gets packets on two ticks of three, a 20 ms leg in a 30 ms room two
// packets every other tick. Timestamps advance by the packet's duration,
// so the stream is exactly as a 30 ms (20 ms) sender makes it; only the
// send times jitter by up to one tick, which any jitter buffer absorbs.

// outPtime is the packet time cfg's participant is sent in a conference
// ticking every tick.
func outPtime(cfg *ParticipantConfig, tick time.Duration) time.Duration {
	switch {
	case cfg.Ptime != 0:
		return cfg.Ptime
	case tick == 30*time.Millisecond && strings.EqualFold(cfg.Out.Name, "opus"):
		return 20 * time.Millisecond // Opus has no 30 ms frame
	}
	return tick
}

// checkPtime validates a participant's packet time (its codec's own limits
// are checked when the encoder is built).
func checkPtime(cfg *ParticipantConfig) error {
	switch cfg.Ptime {
	case 0, 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
		return nil
	}
	return fmt.Errorf("%w: participant ptime %v (want 10, 20, 30, 40 or 60 ms)", ErrConfig, cfg.Ptime)
}

// repacketizer is the PCM queue of a chain whose packet time differs from
// the tick: the limited mix, at the conference rate, waiting to fill a
// packet.
//
// Ownership: the tick goroutine alone (it is its chain's).
type repacketizer struct {
	frame int     // samples per packet, at the conference rate
	buf   []int16 // pending samples, buf[:n]
	n     int
	// loud is how many of the pending samples, from the start, end with
	// a tick that was not silent: a packet made of silent ticks only is
	// silent (DTX, marker bits).
	loud int
}

// setPacketTime gives the chain a repacketizer when ptime differs from
// tick, and takes it away when not. It allocates only when the frame
// grows.
func (e *encodeChain) setPacketTime(rate int, tick, ptime time.Duration) {
	if ptime == 0 || ptime == tick {
		e.repack = nil
		return
	}
	frame := int(int64(rate) * int64(ptime) / int64(time.Second))
	r := e.repack
	if r == nil || cap(r.buf) < frame+maxFrame {
		r = &repacketizer{buf: make([]int16, frame+maxFrame)}
	}
	r.frame, r.n, r.loud = frame, 0, 0
	r.buf = r.buf[:cap(r.buf)]
	e.repack = r
}

// queue appends this tick's n samples of the chain's mix (as limit left
// it; a silent mix as the silence policy says) to the repacketizer.
func (e *encodeChain) queue(n int, silent bool, sp silencePolicy) {
	r := e.repack
	mix := e.mix[:n]
	if silent {
		if sp.mode == ComfortNoise {
			e.noise.fill(mix, sp.noiseLevel)
		} else {
			clear(mix)
		}
	}
	if r.n+n > len(r.buf) {
		// Cannot happen: packets are taken every tick. Drop the oldest.
		d := r.n + n - len(r.buf)
		copy(r.buf, r.buf[d:r.n])
		r.n -= d
		r.loud = max(0, r.loud-d)
	}
	copy(r.buf[r.n:], mix)
	r.n += n
	if !silent {
		r.loud = r.n
	}
}

// packet encodes the next packet's worth, if it is in: more is false when
// not. ok is false when nothing is to be sent for it (DTX, or an encoder
// error, err).
func (e *encodeChain) packet(sp silencePolicy) (payload []byte, ok, silent, more bool, err error) {
	r := e.repack
	if r.n < r.frame {
		return nil, false, false, false, nil
	}
	silent = r.loud == 0
	mix := r.buf[:r.frame]
	switch {
	case silent && sp.mode == DTX:
	case e.enc == nil:
		err = errNoEncoder
	default:
		if !silent {
			e.quiet.heard()
		}
		e.cx.apply(sp.cx) // the conference's complexity under load, as encode does
		in := mix
		if e.res != nil {
			in = e.res.Process(e.resBuf[:0], mix)
		}
		var out []byte
		if out, err = e.enc.Encode(e.payload[:0], in); err == nil && !(e.dtx && len(out) <= 2) {
			payload, ok = out, true
		}
	}
	copy(r.buf, r.buf[r.frame:r.n])
	r.n -= r.frame
	r.loud = max(0, r.loud-r.frame)
	return payload, ok, silent, true, err
}

// reset empties the queue (the chain restarts after a pause).
func (r *repacketizer) reset() {
	if r != nil {
		r.n, r.loud = 0, 0
	}
}

// takeOver continues from another chain's queue, for a listener that
// starts speaking: its group's queue holds exactly the audio it was due
// next. Otherwise the queue starts empty.
func (r *repacketizer) takeOver(from *encodeChain) {
	if r == nil {
		return
	}
	r.n, r.loud = 0, 0
	if from == nil || !from.active || from.repack == nil || from.repack.frame != r.frame {
		return
	}
	f := from.repack
	r.n = copy(r.buf, f.buf[:f.n])
	r.loud = min(f.loud, r.n)
}

// sendRepacketized queues this tick's mix of a speaker's own chain and
// sends it every packet that is complete.
func (c *Conference) sendRepacketized(ch *encodeChain, o *outStream, n int, silent bool, level uint8, csrc []uint32, lvl []uint8) {
	ch.queue(n, silent, c.silence)
	for {
		payload, ok, psilent, more, err := ch.packet(c.silence)
		if !more {
			return
		}
		if err != nil {
			inc(&o.encodeErrors)
		}
		if psilent {
			level = 127
		}
		o.send(c.now, payload, ok, psilent, level, csrc, lvl)
	}
}

// sendGroupRepacketized is sendRepacketized for a group: each packet is
// encoded once and sent to every listener in it.
func (c *Conference) sendGroupRepacketized(g *encodeGroup, n int, silent bool, level uint8) {
	ch := &g.chain
	ch.queue(n, silent, c.silence)
	for {
		payload, ok, psilent, more, err := ch.packet(c.silence)
		if !more {
			return
		}
		if err != nil {
			inc(&g.members[0].out.encodeErrors)
		}
		if psilent {
			level = 127
		}
		for _, m := range g.members {
			m.out.send(c.now, payload, ok, psilent, level, c.csrc, c.csrcLvl)
		}
	}
}

// Ptime returns the duration of the packets the participant is sent: its
// ParticipantConfig.Ptime, or the conference's (20 ms for Opus in a 30 ms
// conference). A signalling layer writes it as the a=ptime of its answer.
// Safe from any goroutine.
func (p *Participant) Ptime() time.Duration { return outPtime(p.upd.cfg.Load(), p.conf.cfg.Ptime) }

package mixer

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
)

// trunkPart is a participant's side of trunking. A local participant has
// a stable trunk SSRC, the tick's decision whether to forward it now (on)
// and its last measured level (for talkers that send no RFC 6464 level),
// and, once trunking is on and it sends, a forwarder owned by its socket
// goroutine. A remote participant has its stream instead, and is never
// forwarded.
type trunkPart struct {
	p      *Participant
	remote *remoteStream // set before the participant is shared; nil: local
	ssrc   uint32        // local: the SSRC of the participant's trunk stream
	// key is the tick's tie-break between equal levels: origin part and
	// SSRC, the same for a stream in every part. Tick-owned for local
	// participants (set once trunking is on), fixed for remote ones.
	key uint64

	// spkTicks counts the ticks the participant has been a speaker
	// (tick-owned; see Conference.settling).
	spkTicks int

	on    atomic.Bool  // tick → socket: forward now
	level atomic.Int32 // tick → socket: the last level measured, -dBov

	fw *forwarder // socket-owned (under inbound.mu), made on first use
}

func (tp *trunkPart) init(p *Participant) {
	tp.p = p
	for tp.ssrc == 0 {
		tp.ssrc = rand.Uint32()
	}
	tp.level.Store(127)
}

// Remote reports whether the participant is a remote participant: the
// stream of a talker at another part of the room, arriving on a trunk.
func (p *Participant) Remote() bool { return p.tr.remote != nil }

// forwarder sends one local participant's packets on the trunks while the
// tick says so, and holds the last ones back for a pre-roll while it does
// not. Owned by the participant's socket goroutine (inbound.mu).
type forwarder struct {
	running bool          // the last packet was forwarded
	until   time.Duration // the run goes on at least until then
	run     int           // packets sent in this run
	seq     uint16        // of the trunk stream
	// pt maps the packet's payload type to the trunk's; cached for one
	// configuration, looked up again when an Update replaces it.
	cfg          *ParticipantConfig
	srcPT, dstPT uint8
	ptOK         bool

	ring [preRollSlots]heldPacket
	head int // next slot to write
	n    int // slots in use

	pkt []byte // the plain packet, built once for every trunk
}

// preRollSlots holds 300 ms of 20 ms packets, or 150 ms of 10 ms ones.
const preRollSlots = 16

type heldPacket struct {
	at      time.Duration
	ts      uint32
	pt      uint8
	level   uint8
	voice   bool
	payload []byte // grows to the largest payload held, then stays
}

// forward runs on the socket goroutine for every packet the jitter buffer
// accepted from a local participant.
func (tp *trunkPart) forward(now time.Duration, h *rtp.Header, jp *jitter.Packet) {
	ts := tp.p.conf.trunking.Load()
	if ts == nil {
		return
	}
	f := tp.fw
	if f == nil {
		f = &forwarder{pkt: make([]byte, 0, maxTrunkHeader+maxPayload)}
		tp.fw = f
	}
	pt, ok := f.trunkPT(tp.p, jp.PayloadType, ts)
	if tp.p.ctl.muted.Load() || !f.cfg.Direction.Recv() {
		// Never heard: neither forwarded nor held, so that what a
		// participant said while muted cannot leave as the pre-roll of
		// its first words after.
		f.running, f.n = false, 0
		return
	}
	if !ok {
		if jp.PayloadType != tp.p.in.media.cn {
			ts.unforwardable.Add(1)
		}
		return
	}
	level, voice := uint8(0), false
	if jp.AudioLevel >= 0 {
		level, voice = uint8(jp.AudioLevel), jp.Voice
	} else {
		// The origin adds the level the talker did not send. G.711 is
		// measured here, on the packet itself (a table lookup per byte,
		// well within the forwarding budget): the level then belongs to
		// the audio it rides with, as the origin's own tick will measure
		// it when it plays the packet, so every part sees the talker
		// start and stop on the same frame. Other codecs would need a
		// decode: they carry the tick's last measure, which lags the
		// packet by the origin's jitter buffer delay and a tick.
		l, ok := g711Level(pt, jp.Payload)
		if !ok {
			l = tp.level.Load()
		}
		level, voice = uint8(min(127, max(0, l))), float64(l) <= ts.conf.talkParams.stop
	}
	if !f.forwarding(tp, ts, now, level, voice) {
		f.hold(now, h.Timestamp, pt, level, voice, jp.Payload)
		return
	}
	list := *ts.list.Load()
	if !f.running {
		f.running, f.run = true, 0
		for _, t := range list {
			t.runs.Add(1)
		}
		f.flush(ts, tp, now, list)
	}
	th := trunkHeader{ts: h.Timestamp, pt: pt, marker: f.run == 0 || h.Marker, level: level, voice: voice}
	f.send(ts, tp, now, &th, jp.Payload, list)
}

// forwarding decides whether this packet goes on the trunks. The tick's
// choice (on) is made on the audio it plays, a jitter buffer's delay and
// the talk detector's start delay after the packets arrived; waiting for
// it would make the pre-roll long, and a long pre-roll delays the talker
// elsewhere for the rest of its talkspurt. So a packet louder than the
// part's weakest forwarded talker (and loud enough to start talking)
// starts a provisional run at once, which lasts provisionalHold for the
// tick to confirm; a run the tick does not confirm ends then, having
// carried every packet (quiet ones too), so that the other parts saw the
// same levels as this one.
func (f *forwarder) forwarding(tp *trunkPart, ts *trunking, now time.Duration, level uint8, voice bool) bool {
	if tp.on.Load() {
		f.until = now + provisionalHold
		return true
	}
	if f.running && now < f.until {
		return true
	}
	if voice && int32(level) <= ts.gate.Load() {
		f.until = now + provisionalHold
		return true
	}
	f.running = false
	return false
}

// provisionalHold is how long a run lasts without the tick's word: its
// jitter buffer delay plus the talk detector's start delay, with margin.
const provisionalHold = 300 * time.Millisecond

// trunkPT maps a participant's payload type to the trunk's.
func (f *forwarder) trunkPT(p *Participant, pt uint8, ts *trunking) (uint8, bool) {
	cfg := p.upd.cfg.Load()
	if cfg == f.cfg && pt == f.srcPT {
		return f.dstPT, f.ptOK
	}
	f.cfg, f.srcPT, f.ptOK = cfg, pt, false
	format := cfg.In
	if v, ok := cfg.InPayloadType.Value(); !ok || v != pt {
		// An older format still accepted after an Update, or comfort
		// noise: not forwarded.
		return 0, false
	}
	dst := format.PayloadType
	if dst < 128 && ts.formats[dst].SDPName() == format.SDPName() {
		f.dstPT, f.ptOK = dst, true
	}
	return f.dstPT, f.ptOK
}

// hold keeps a packet for the pre-roll.
func (f *forwarder) hold(now time.Duration, ts uint32, pt, level uint8, voice bool, payload []byte) {
	s := &f.ring[f.head]
	s.at, s.ts, s.pt, s.level, s.voice = now, ts, pt, level, voice
	s.payload = append(s.payload[:0], payload...)
	f.head = (f.head + 1) % preRollSlots
	if f.n < preRollSlots {
		f.n++
	}
}

// flush sends the held packets of the last PreRoll, oldest first, and
// empties the ring.
func (f *forwarder) flush(ts *trunking, tp *trunkPart, now time.Duration, list []*Trunk) {
	from := now - ts.cfg.PreRoll
	for i := f.n; i > 0; i-- {
		s := &f.ring[(f.head-i+preRollSlots)%preRollSlots]
		if s.at < from || ts.cfg.PreRoll == 0 {
			continue
		}
		th := trunkHeader{ts: s.ts, pt: s.pt, marker: f.run == 0, level: s.level, voice: s.voice, preRoll: true, held: now - s.at}
		f.send(ts, tp, now, &th, s.payload, list)
		for _, t := range list {
			t.preRoll.Add(1)
		}
	}
	f.n = 0
}

// send builds the trunk packet once and hands it to every trunk.
func (f *forwarder) send(ts *trunking, tp *trunkPart, now time.Duration, th *trunkHeader, payload []byte, list []*Trunk) {
	th.seq, th.ssrc, th.part = f.seq, tp.ssrc, ts.cfg.Part
	if f.run < trunkNamePackets || f.run%trunkNameEvery == 0 {
		th.name = tp.p.id
	}
	f.seq++
	f.run++
	if len(payload) > maxPayload {
		return
	}
	f.pkt = appendTrunkPacket(f.pkt[:0], th, payload)
	for _, t := range list {
		t.send(now, f.pkt)
	}
}

// trunkTick runs in the tick after speaker selection: it chooses which
// local participants are forwarded (the part's top N, and its speakers),
// publishes their levels for the forwarders, and removes remote streams
// that have fallen silent.
func (c *Conference) trunkTick(now time.Duration) {
	ts := c.trunking.Load()
	if ts == nil {
		return
	}
	ts.chooseForwarded(c)
	for _, t := range *ts.list.Load() {
		if now-time.Duration(t.lastTx.Load()) >= trunkKeepalive {
			t.keepalive(now)
		}
	}
	if now >= ts.nextExpire {
		ts.nextExpire = now + time.Second
		ts.expire(now)
	}
}

// keepalive sends a packet without payload that says this part is alive.
func (t *Trunk) keepalive(now time.Duration) {
	th := trunkHeader{seq: t.kaSeq, ts: uint32(now / time.Millisecond), ssrc: t.set.cfg.Part,
		pt: 0, level: 127, part: t.set.cfg.Part, keepalive: true}
	t.kaSeq++
	t.kaBuf = appendTrunkPacket(t.kaBuf[:0], &th, nil)
	before := t.packetsOut.Load()
	t.send(now, t.kaBuf)
	if t.packetsOut.Load() != before {
		t.kaOut.Add(1)
	}
}

// chooseForwarded marks the local participants to forward: the N loudest
// that are eligible and talking, by the order speaker selection uses, and
// every local speaker (one kept by hysteresis may no longer be among the
// loudest, yet every part mixes it).
func (ts *trunking) chooseForwarded(c *Conference) {
	n := c.cfg.MaxSpeakers
	top := ts.top[:0]
	for _, p := range c.parts {
		if p.spk.speaker {
			p.tr.spkTicks++
		} else {
			p.tr.spkTicks = 0
		}
		if p.tr.remote != nil {
			continue
		}
		if p.tr.key == 0 {
			p.tr.key = uint64(ts.cfg.Part)<<32 | uint64(p.tr.ssrc)
		}
		if p.in.levelID == 0 {
			p.tr.level.Store(int32(p.talk.level))
		}
		if !eligible(p) {
			continue
		}
		// Insert p into top, kept sorted loudest first, at most n long.
		i := len(top)
		for i > 0 && louder(p, top[i-1]) {
			i--
		}
		if i < n {
			if len(top) < n {
				top = append(top, nil)
			}
			copy(top[i+1:], top[i:len(top)-1])
			top[i] = p
		}
	}
	ts.top = top
	// The level a packet must reach to start a provisional run: louder
	// than the weakest of a full top N, and loud enough to start talking.
	gate := int32(c.talkParams.start)
	if len(top) == n {
		gate = min(gate, int32(math.Ceil(top[n-1].talk.smooth))-1)
	}
	if ts.gate.Load() != gate {
		ts.gate.Store(gate)
	}
	for _, p := range c.parts {
		if p.tr.remote != nil {
			continue
		}
		on := p.spk.speaker && eligible(p)
		if !on {
			for _, q := range top {
				if q == p {
					on = true
					break
				}
			}
		}
		if p.tr.on.Load() != on {
			p.tr.on.Store(on)
		}
	}
}

// settling reports whether speaker q took its place too recently for
// every part to have seen the talkers it competed with: a trunk's delay
// and the jitter buffers' make each part see a talker start a few ticks
// apart, so the first come at one part is not the first at another, and
// plain hysteresis would keep each part's first choice for the whole
// talkspurt. Until TrunkingConfig.Settle has passed, a louder talker
// takes a speaker's place at once, by the order every part shares.
func (c *Conference) settling(q *Participant) bool {
	ts := c.trunking.Load()
	return ts != nil && time.Duration(q.tr.spkTicks)*c.cfg.Ptime < ts.cfg.Settle
}

// louder orders candidates: by smoothed level, ties by the stream key,
// which every part sees alike.
func louder(a, b *Participant) bool {
	if a.talk.smooth != b.talk.smooth {
		return a.talk.smooth < b.talk.smooth
	}
	return a.tr.key < b.tr.key
}

// expire removes the remote streams silent for StreamTimeout. It never
// waits for the lock: a busy one is tried again next second.
func (ts *trunking) expire(now time.Duration) {
	if !ts.mu.TryLock() {
		return
	}
	defer ts.mu.Unlock()
	for _, rs := range ts.streams {
		if now-time.Duration(rs.last.Load()) > ts.cfg.StreamTimeout {
			ts.dropLocked(rs, "trunk stream ended")
		}
	}
}

// closeTrunks closes every trunk (the conference is closing).
func (c *Conference) closeTrunks() {
	ts := c.trunking.Load()
	if ts == nil {
		return
	}
	for _, t := range *ts.list.Load() {
		t.Close()
	}
	ts.mu.Lock()
	for _, rs := range ts.streams {
		ts.dropLocked(rs, reasonClosed)
	}
	ts.mu.Unlock()
}

// g711Level measures the RFC 6464 level of a PCMU (trunk payload type 0)
// or PCMA (8) payload as the tick measures the decoded frame
// (pcm.LevelDBov); ok false for other payload types.
func g711Level(pt uint8, payload []byte) (int32, bool) {
	var sq *[256]uint32
	switch pt {
	case 0:
		sq = &g711Squares[0]
	case 8:
		sq = &g711Squares[1]
	default:
		return 0, false
	}
	var e uint64
	for _, b := range payload {
		e += uint64(sq[b])
	}
	return int32(pcm.DBov(e, len(payload))), true
}

// g711Squares holds each code's decoded sample squared (PCMU, PCMA): a
// packet's energy is then one lookup and one add per byte.
var g711Squares = func() (t [2][256]uint32) {
	for c := range 256 {
		u, a := int32(g711.UlawToLinear(byte(c))), int32(g711.AlawToLinear(byte(c)))
		t[0][c], t[1][c] = uint32(u*u), uint32(a*a)
	}
	return t
}()

package mixer

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// Trunks: see the package documentation, "Trunks", and trunkwire.go for
// the wire format.

// Errors of Trunk.WriteRTP beyond those of Participant.WriteRTP. They are
// returned unwrapped.
var (
	// ErrTrunkLoop: the packet's origin is this part: a cycle of trunks
	// (or a misrouted packet) brought one of our own streams back.
	ErrTrunkLoop = errors.New("mixer: trunk stream from this part")
	// ErrTrunkDuplicate: the stream already arrives on another trunk.
	ErrTrunkDuplicate = errors.New("mixer: trunk stream arrives on another trunk")
	// ErrTrunkOrigin: the packet has no valid origin extension.
	ErrTrunkOrigin = errors.New("mixer: trunk packet without origin")
	// ErrTrunkStreams: a new stream would exceed MaxRemoteStreams.
	ErrTrunkStreams = errors.New("mixer: too many trunk streams")
)

// TrunkingConfig makes a conference one part of a room cascaded over
// several bridges.
type TrunkingConfig struct {
	// Part identifies this part in the room: non-zero and different from
	// every other part's. A packet that comes back with it as its origin
	// is dropped (ErrTrunkLoop).
	Part uint32
	// PreRoll is how much of a talker's audio from before it entered the
	// part's top N is sent when it does. Default 100 ms (what the talk
	// detector's start delay and the jitter buffer's delay hold back);
	// at most 300 ms. Negative: none.
	PreRoll time.Duration
	// MaxRemoteStreams bounds the remote participants the part keeps.
	// Default 64.
	MaxRemoteStreams int
	// StreamTimeout removes a remote participant whose stream has been
	// silent this long (its talker left, or stopped being forwarded).
	// Default 30 s.
	StreamTimeout time.Duration
	// Takeover: a stream that arrives on a second trunk is taken from the
	// first once the first has carried none of it for this long (a
	// rerouted room). Default 1 s.
	Takeover time.Duration
	// Settle is how long a new speaker's place is open to any louder
	// talker (by the order every part shares, without SwitchMargin and
	// SwitchHold), so that parts that saw talkers start in a different
	// order agree once it has passed. Default 300 ms; it must cover the
	// trunks' delay and the jitter buffers'.
	Settle time.Duration
}

func (c TrunkingConfig) withDefaults() (TrunkingConfig, error) {
	if c.PreRoll == 0 {
		c.PreRoll = 100 * time.Millisecond
	}
	if c.PreRoll < 0 {
		c.PreRoll = 0
	}
	if c.MaxRemoteStreams == 0 {
		c.MaxRemoteStreams = 64
	}
	if c.StreamTimeout == 0 {
		c.StreamTimeout = 30 * time.Second
	}
	if c.Takeover == 0 {
		c.Takeover = time.Second
	}
	if c.Settle == 0 {
		c.Settle = 300 * time.Millisecond
	}
	switch {
	case c.Part == 0:
		return c, fmt.Errorf("%w: trunking needs a non-zero Part", ErrConfig)
	case c.PreRoll > maxPreRoll:
		return c, fmt.Errorf("%w: pre-roll %v (at most %v)", ErrConfig, c.PreRoll, maxPreRoll)
	case c.MaxRemoteStreams < 0 || c.StreamTimeout < 0 || c.Takeover < 0 || c.Settle < 0:
		return c, fmt.Errorf("%w: trunking limits %d streams, timeout %v, takeover %v",
			ErrConfig, c.MaxRemoteStreams, c.StreamTimeout, c.Takeover)
	}
	return c, nil
}

// TrunkConfig describes one trunk: the link to one other part.
type TrunkConfig struct {
	// Peer is the other part's ID (its TrunkingConfig.Part).
	Peer uint32
	// OutSRTP protects what this part sends on the trunk, InSRTP
	// unprotects what it receives; nil sends (accepts) plain RTP. Keys are
	// per trunk and per direction: the application makes them (e.g.
	// srtp.GenerateKeys) and gives the peer our OutSRTP as its InSRTP.
	OutSRTP, InSRTP *srtp.Keys
	// SRTPReplayWindow as in ParticipantConfig.
	SRTPReplayWindow int
	// Sink receives the packets to send to the peer. It is called from the
	// goroutines that call local participants' WriteRTP (the forwarded
	// streams) and, every 250 ms while nothing else went out, from the
	// conference's tick (a keepalive), one call at a time per trunk; pkt
	// is valid during the call only. Like a participant's Sink, it must
	// not block for long: a UDP write.
	Sink Sink
}

// TrunkStats counts one trunk's traffic.
type TrunkStats struct {
	Peer uint32
	// Packets and bytes sent to the Sink, and the failures on the way.
	PacketsOut, BytesOut        uint64
	ProtectErrors, SinkErrors   uint64
	PacketsIn, BytesIn          uint64
	Refused                     TrunkRefusedStats
	Streams                     int           // remote streams arriving on this trunk
	LastPacket                  time.Duration // conference clock of the last packet accepted, keepalives too; -1: none yet
	KeepalivesOut, KeepalivesIn uint64        // sent while the trunk carried nothing else; received (in PacketsIn too)
	PreRollPackets, RunsStarted uint64        // sent: late packets of pre-rolls; forwarding runs begun
}

// TrunkRefusedStats counts what Trunk.WriteRTP refused, by reason.
type TrunkRefusedStats struct {
	Packets uint64
	// Malformed: not RTP, or SRTP failing to parse (ErrMalformed).
	// RTCP: RTCP arriving on the trunk, which carries none (ErrMalformed).
	Malformed, RTCP uint64
	// SRTPAuth, SRTPReplay: refused by the trunk's inbound SRTP.
	SRTPAuth, SRTPReplay uint64
	// Origin: no valid origin extension (ErrTrunkOrigin). Loop: our own
	// stream came back (ErrTrunkLoop). Duplicate: the stream arrives on
	// another trunk (ErrTrunkDuplicate).
	Origin, Loop, Duplicate uint64
	// PayloadType: a payload type the codec registry does not map to a
	// format (ErrPayloadType). Streams: over MaxRemoteStreams.
	PayloadType, Streams uint64
	// Jitter: refused by the remote participant's receive path (its jitter
	// buffer: late, duplicate, full, too large); its stats say which.
	Jitter uint64
}

const (
	maxPreRoll = 300 * time.Millisecond
	// remoteStartDelay is a remote stream's jitter buffer target until it
	// has measured the trunk: its jitter, after a path the origin's
	// buffer has already smoothed, is the trunk's alone.
	remoteStartDelay = 20 * time.Millisecond
	// trunkKeepalive: a trunk that has sent nothing for this long sends a
	// keepalive, so a peer that hears nothing for a few of them may take
	// this part for dead (the bridge drops a trunk after 1 s).
	trunkKeepalive = 250 * time.Millisecond
	// trunkSRTPSSRCs bounds the SSRCs one trunk's inbound SRTP tracks.
	trunkSRTPSSRCs = 1024
)

// trunking is a conference's trunk state: the trunks, the remote streams
// and the tick's forwarding choice.
//
// Ownership: mu guards streams and changes of list; list is read without
// it (copy on write) by the forwarders on the participants' socket
// goroutines; the tick owns scratch and nextExpire.
type trunking struct {
	cfg  TrunkingConfig
	conf *Conference

	list    atomic.Pointer[[]*Trunk]
	mu      sync.Mutex
	streams map[uint64]*remoteStream
	formats [128]codec.Format // by trunk payload type; Name "": none

	// gate: tick → forwarders, the level (-dBov) a packet must reach to
	// start a provisional run (forwarder.forwarding).
	gate atomic.Int32

	// Tick-owned.
	top        []*Participant
	nextExpire time.Duration

	unforwardable atomic.Uint64 // packets of a format without a trunk payload type
}

// EnableTrunking makes the conference a part of a cascaded room. Call it
// once, before AddTrunk; the forwarding of local talkers starts with it.
// Errors match ErrConfig (a second call, a zero Part) or ErrClosed.
func (c *Conference) EnableTrunking(cfg TrunkingConfig) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.trunking.Load() != nil {
		return fmt.Errorf("%w: trunking is enabled already", ErrConfig)
	}
	t := &trunking{
		cfg:     cfg,
		conf:    c,
		streams: make(map[uint64]*remoteStream),
		top:     make([]*Participant, 0, maxCSRC+1),
	}
	for _, f := range codec.Formats() {
		if pt := f.PayloadType; pt < 128 && t.formats[pt].Name == "" {
			t.formats[pt] = f
		}
	}
	t.gate.Store(int32(c.talkParams.start))
	empty := []*Trunk{}
	t.list.Store(&empty)
	c.trunking.Store(t)
	return nil
}

// Part returns the conference's Part ID, 0 when trunking is not enabled.
func (c *Conference) Part() uint32 {
	if t := c.trunking.Load(); t != nil {
		return t.cfg.Part
	}
	return 0
}

// Trunks returns the conference's open trunks.
func (c *Conference) Trunks() []*Trunk {
	t := c.trunking.Load()
	if t == nil {
		return nil
	}
	return append([]*Trunk(nil), *t.list.Load()...)
}

// AddTrunk opens a trunk to another part of the room. Errors match
// ErrConfig (trunking not enabled, a Peer that is zero, ours or already
// trunked, bad SRTP keys) or ErrClosed.
func (c *Conference) AddTrunk(cfg TrunkConfig) (*Trunk, error) {
	ts := c.trunking.Load()
	if ts == nil {
		return nil, fmt.Errorf("%w: AddTrunk before EnableTrunking", ErrConfig)
	}
	if cfg.Peer == 0 || cfg.Peer == ts.cfg.Part {
		return nil, fmt.Errorf("%w: trunk peer %d (this part is %d)", ErrConfig, cfg.Peer, ts.cfg.Part)
	}
	t := &Trunk{set: ts, peer: cfg.Peer, sink: cfg.Sink, streams: make(map[uint64]*remoteStream)}
	t.lastRx.Store(-1)
	t.lastTx.Store(int64(-trunkKeepalive))
	t.buf = make([]byte, 0, maxTrunkHeader+maxPayload+srtpOverhead)
	t.kaBuf = make([]byte, 0, maxTrunkHeader)
	if cfg.OutSRTP != nil {
		p, err := srtp.NewProtector(*cfg.OutSRTP)
		if err != nil {
			return nil, fmt.Errorf("%w: trunk to %d: outbound SRTP: %w", ErrConfig, cfg.Peer, err)
		}
		t.protect = p
	}
	if cfg.InSRTP != nil {
		u, err := unprotectorFor(*cfg.InSRTP, cfg.SRTPReplayWindow, trunkSRTPSSRCs)
		if err != nil {
			return nil, fmt.Errorf("%w: trunk from %d: inbound SRTP: %w", ErrConfig, cfg.Peer, err)
		}
		t.unprotect = u
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	old := *ts.list.Load()
	for _, o := range old {
		if o.peer == cfg.Peer {
			return nil, fmt.Errorf("%w: a trunk to part %d is open already", ErrConfig, cfg.Peer)
		}
	}
	list := append(old[:len(old):len(old)], t)
	ts.list.Store(&list)
	return t, nil
}

// Trunk is the link between this part of a room and one other part.
//
// Concurrency: WriteRTP and WriteRTPAt may be called from any goroutine
// (the one reading the trunk's socket), serialised by a mutex of the
// trunk's receive side; the send side, driven by the local participants'
// WriteRTP calls, has its own. Stats, Peer and Close are safe from any
// goroutine.
type Trunk struct {
	set  *trunking
	peer uint32

	closed atomic.Bool

	// Send side: one forwarded packet at a time.
	txMu    sync.Mutex
	protect *srtp.Protector
	sink    Sink
	buf     []byte

	// Receive side.
	rxMu      sync.Mutex
	hdr       rtp.Header
	unprotect *srtp.Unprotector
	streams   map[uint64]*remoteStream // the streams seen here, by key
	lastRx    atomic.Int64

	// lastTx is the conference clock of the last packet sent; kaSeq and
	// kaBuf are the tick's, for keepalives.
	lastTx atomic.Int64
	kaSeq  uint16
	kaBuf  []byte

	packetsOut, bytesOut, protectErrors, sinkErrors atomic.Uint64
	kaOut, kaIn                                     atomic.Uint64
	preRoll, runs                                   atomic.Uint64
	packetsIn, bytesIn                              atomic.Uint64
	refused                                         [numTrunkRefusals]atomic.Uint64
}

// Peer returns the other part's ID.
func (t *Trunk) Peer() uint32 { return t.peer }

// Close takes the trunk out of service: nothing more is sent on it, what
// arrives is refused (ErrClosed), and the remote participants whose
// streams arrived on it leave at once. Idempotent.
func (t *Trunk) Close() {
	if t.closed.Swap(true) {
		return
	}
	ts := t.set
	ts.mu.Lock()
	old := *ts.list.Load()
	list := make([]*Trunk, 0, len(old))
	for _, o := range old {
		if o != t {
			list = append(list, o)
		}
	}
	ts.list.Store(&list)
	var gone []*remoteStream
	for _, rs := range ts.streams {
		if rs.owner.Load() == t {
			gone = append(gone, rs)
		}
	}
	for _, rs := range gone {
		ts.dropLocked(rs, "trunk closed")
	}
	ts.mu.Unlock()
}

// Stats returns the trunk's counters. Safe from any goroutine.
func (t *Trunk) Stats() TrunkStats {
	st := TrunkStats{
		Peer:           t.peer,
		PacketsOut:     t.packetsOut.Load(),
		BytesOut:       t.bytesOut.Load(),
		ProtectErrors:  t.protectErrors.Load(),
		SinkErrors:     t.sinkErrors.Load(),
		PacketsIn:      t.packetsIn.Load(),
		BytesIn:        t.bytesIn.Load(),
		LastPacket:     time.Duration(t.lastRx.Load()),
		PreRollPackets: t.preRoll.Load(),
		KeepalivesOut:  t.kaOut.Load(),
		KeepalivesIn:   t.kaIn.Load(),
		RunsStarted:    t.runs.Load(),
	}
	var n [numTrunkRefusals]uint64
	for i := range n {
		n[i] = t.refused[i].Load()
		st.Refused.Packets += n[i]
	}
	r := &st.Refused
	r.Malformed, r.RTCP = n[trefMalformed], n[trefRTCP]
	r.SRTPAuth, r.SRTPReplay = n[trefSRTPAuth], n[trefSRTPReplay]
	r.Origin, r.Loop, r.Duplicate = n[trefOrigin], n[trefLoop], n[trefDuplicate]
	r.PayloadType, r.Streams, r.Jitter = n[trefPayloadType], n[trefStreams], n[trefJitter]
	t.set.mu.Lock()
	for _, rs := range t.set.streams {
		if rs.owner.Load() == t {
			st.Streams++
		}
	}
	t.set.mu.Unlock()
	return st
}

// send protects one packet and hands it to the sink.
func (t *Trunk) send(now time.Duration, pkt []byte) {
	if t.closed.Load() || t.sink == nil {
		return
	}
	t.lastTx.Store(int64(now))
	t.txMu.Lock()
	b := append(t.buf[:0], pkt...)
	if t.protect != nil {
		var err error
		if b, err = t.protect.ProtectRTP(b[:0], b); err != nil {
			t.txMu.Unlock()
			inc(&t.protectErrors)
			return
		}
	}
	err := t.sink.WriteRTP(b)
	n := len(b)
	t.txMu.Unlock()
	if err != nil {
		t.sinkErrors.Add(1)
		return
	}
	t.packetsOut.Add(1)
	t.bytesOut.Add(uint64(n))
}

// trunkRefusal is why Trunk.WriteRTP dropped a packet.
type trunkRefusal uint8

const (
	trefAccepted trunkRefusal = iota
	trefMalformed
	trefRTCP
	trefSRTPAuth
	trefSRTPReplay
	trefOrigin
	trefLoop
	trefDuplicate
	trefPayloadType
	trefStreams
	trefJitter
	trefClosed
	numTrunkRefusals
)

var trunkRefusalErr = [numTrunkRefusals]error{
	trefMalformed:   ErrMalformed,
	trefRTCP:        ErrMalformed,
	trefSRTPAuth:    srtp.ErrAuth,
	trefSRTPReplay:  srtp.ErrReplay,
	trefOrigin:      ErrTrunkOrigin,
	trefLoop:        ErrTrunkLoop,
	trefDuplicate:   ErrTrunkDuplicate,
	trefPayloadType: ErrPayloadType,
	trefStreams:     ErrTrunkStreams,
	trefClosed:      ErrClosed,
}

// WriteRTP takes one packet that arrived on the trunk, stamped with the
// conference clock. It may modify buf (SRTP is decrypted in place) and
// does not keep it. A refused packet is dropped and counted in
// TrunkStats.Refused; the error is one of ErrClosed, ErrMalformed,
// ErrPayloadType, srtp.ErrAuth, srtp.ErrReplay, ErrTrunkOrigin,
// ErrTrunkLoop, ErrTrunkDuplicate, ErrTrunkStreams, or the remote
// participant's WriteRTP error (a jitter buffer refusal), unwrapped. A
// packet of a stream not seen before makes a remote participant (which
// allocates); every other packet allocates nothing.
func (t *Trunk) WriteRTP(buf []byte) error {
	return t.WriteRTPAt(t.set.conf.cfg.Clock(), buf)
}

// WriteRTPAt is WriteRTP with an explicit arrival time.
func (t *Trunk) WriteRTPAt(now time.Duration, buf []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	t.rxMu.Lock()
	defer t.rxMu.Unlock()
	r, err := t.receive(now, buf)
	if r != trefAccepted {
		inc(&t.refused[r])
		if err == nil {
			err = trunkRefusalErr[r]
		}
		return err
	}
	inc(&t.packetsIn)
	add(&t.bytesIn, uint64(len(buf)))
	t.lastRx.Store(int64(now))
	return nil
}

// receive checks one packet and hands it to its remote participant.
func (t *Trunk) receive(now time.Duration, buf []byte) (trunkRefusal, error) {
	if len(buf) < 12 || buf[0]>>6 != 2 {
		return trefMalformed, nil
	}
	if rtcpsession.IsRTCP(buf) {
		return trefRTCP, nil
	}
	pkt := buf
	if t.unprotect != nil {
		var err error
		if pkt, err = t.unprotect.UnprotectRTP(buf[:0], buf, &t.hdr); err != nil {
			switch srtpRefusal(err) {
			case refSRTPAuth:
				return trefSRTPAuth, nil
			case refSRTPReplay:
				return trefSRTPReplay, nil
			}
			return trefMalformed, nil
		}
	} else {
		// Checked before pion's parser, whose errors allocate.
		if _, err := srtp.Payload(pkt); err != nil {
			return trefMalformed, nil
		}
		if _, err := t.hdr.Unmarshal(pkt); err != nil {
			return trefMalformed, nil
		}
	}
	part, flags, held, ok := trunkOrigin(&t.hdr)
	if !ok || part == 0 {
		return trefOrigin, nil
	}
	ts := t.set
	if part == ts.cfg.Part {
		return trefLoop, nil
	}
	if flags&trunkFlagKeepalive != 0 {
		inc(&t.kaIn)
		return trefAccepted, nil
	}
	pt := t.hdr.PayloadType
	if ts.formats[pt].Name == "" {
		return trefPayloadType, nil
	}
	key := uint64(part)<<32 | uint64(t.hdr.SSRC)
	rs := t.streams[key]
	if rs == nil || rs.gone.Load() || rs.pt != pt || rs.p.ctl.left.Load() {
		var r trunkRefusal
		if rs, r = ts.stream(t, key, pt, &t.hdr, now); r != trefAccepted {
			return r, nil
		}
		t.streams[key] = rs
	}
	if owner := rs.owner.Load(); owner != t {
		if owner != nil && !owner.closed.Load() && now-time.Duration(rs.last.Load()) < ts.cfg.Takeover {
			return trefDuplicate, nil
		}
		rs.owner.Store(t)
	}
	rs.last.Store(int64(now))
	// A pre-roll packet is dated back to when it would have arrived had
	// it been forwarded at once: its jitter buffer measures the trunk's
	// delay, not the origin's decision time.
	if err := rs.p.in.write(now-min(held, maxPreRoll), pkt); err != nil {
		return trefJitter, err
	}
	return trefAccepted, nil
}

// remoteStream is one origin participant's stream as this part receives
// it: the remote participant that mixes it and the trunk it arrives on.
type remoteStream struct {
	key   uint64 // origin part << 32 | SSRC
	pt    uint8
	p     *Participant
	owner atomic.Pointer[Trunk]
	last  atomic.Int64 // conference clock of the last packet accepted
	gone  atomic.Bool  // removed: trunks drop it from their caches
}

// stream returns the remote stream for key, making it (and its remote
// participant) when it is new, or replacing it when its payload type has
// changed (the talker changed codec at its part).
func (ts *trunking) stream(t *Trunk, key uint64, pt uint8, h *rtp.Header, now time.Duration) (*remoteStream, trunkRefusal) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.closed.Load() {
		return nil, trefClosed
	}
	if rs := ts.streams[key]; rs != nil {
		if rs.p.ctl.left.Load() {
			// The application made the remote participant leave: the
			// stream, still arriving, makes a new one.
			ts.dropLocked(rs, "")
		} else if rs.pt == pt {
			return rs, trefAccepted
		}
	}
	if rs := ts.streams[key]; rs != nil {
		if o := rs.owner.Load(); o != t && o != nil && !o.closed.Load() &&
			now-time.Duration(rs.last.Load()) < ts.cfg.Takeover {
			return nil, trefDuplicate
		}
		ts.dropLocked(rs, "codec changed")
	}
	if len(ts.streams) >= ts.cfg.MaxRemoteStreams {
		return nil, trefStreams
	}
	c := ts.conf
	name := ""
	if e := h.GetExtension(trunkNameExt); len(e) > 0 {
		name = string(e)
	} else {
		name = fmt.Sprintf("%08x:%08x", uint32(key>>32), uint32(key))
	}
	cfg := ParticipantConfig{
		ID:             name,
		In:             ts.formats[pt],
		InPayloadType:  PT(pt),
		InAudioLevelID: trunkLevelExt,
		// Never encoded for: the cheapest codec fills the required field.
		Out:       g711.PCMU,
		Direction: RecvOnly,
		RTCP:      RTCPConfig{Off: true},
		// A trunk stream comes and goes with its talker's place in its
		// part's top N: its first talkspurt must not wait the default
		// start delay (80 ms), or every part but the origin would
		// select the talker ticks late.
		Jitter: jitter.Config{StartDelay: remoteStartDelay},
	}
	gIn, gOut, err := checkConfig(&cfg)
	if err != nil {
		return nil, trefPayloadType
	}
	c.mu.Lock()
	closed := c.closed
	rate := int(c.curRate.Load())
	c.mu.Unlock()
	if closed {
		return nil, trefClosed
	}
	p, err := c.newParticipant(cfg, gIn, gOut, rate)
	if err != nil {
		return nil, trefPayloadType
	}
	rs := &remoteStream{key: key, pt: pt, p: p}
	rs.owner.Store(t)
	rs.last.Store(int64(now))
	p.tr.remote = rs
	p.tr.key = key
	p.in.tr = nil // never forwarded again
	ts.streams[key] = rs
	c.enqueue(func(c *Conference, now time.Duration) { c.add(p, now) })
	return rs, trefAccepted
}

// dropLocked removes rs (ts.mu held): its participant leaves.
func (ts *trunking) dropLocked(rs *remoteStream, reason string) {
	if rs.gone.Swap(true) {
		return
	}
	delete(ts.streams, rs.key)
	rs.p.leave(reason)
}

// RemoteParticipants returns the participants whose streams arrive on
// trunks, for stats and talking state; they are not in Participants.
func (c *Conference) RemoteParticipants() []*Participant {
	ts := c.trunking.Load()
	if ts == nil {
		return nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]*Participant, 0, len(ts.streams))
	for _, rs := range ts.streams {
		out = append(out, rs.p)
	}
	return out
}

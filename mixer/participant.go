package mixer

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// Participant is one leg of a conference: packets in through WriteRTP,
// mixed packets out through its Sink.
//
// Concurrency: WriteRTP, WriteRTPAt, WriteRTCP and WriteRTCPAt may be
// called from any goroutine (typically the ones reading the participant's
// sockets); calls are serialised by a mutex that only the inbound side
// takes (and Update, for the moment it swaps the inbound settings), so the
// tick never waits for it (it only tries it, for the report blocks of
// RTCP). Update, SetMuted, SetDeaf, SetGainIn, SetGainOut, SendReport,
// ByeReceived, Config, SSRC, Stats, Leave and Done may be called from any
// goroutine at any time. The rest belongs to the conference's tick. Each
// part of the state is a type that says who owns it: controls (any
// goroutine), updater (Update), inbound with its rtcpIn (WriteRTP,
// WriteRTCP), and for the tick decodeQueue, talkDetector, speakerState,
// encodeChain, outStream and rtcpOut.
type Participant struct {
	conf *Conference
	id   string
	ctl  controls
	upd  updater
	desc string // the configuration at Join in a few words, for the Joined event
	// in is written by the socket's goroutine, everything after it by the
	// tick. It starts with what Updates replaced, which nothing writes
	// between Updates, so the socket's writes stay off the cache lines of
	// ctl, which the tick reads every tick; it ends with counters written
	// only for refused packets, so the tick's fields after it need no pad
	// either (the benchmarks keep the struct in its size class).
	in inbound

	// tcfg is the configuration as the tick applies it: Join's, then each
	// Update's when its turn in the queue comes. Published configurations
	// are never written, so the tick reads it without a lock.
	tcfg   *ParticipantConfig
	rate   int  // conference rate dq and own are set up for
	joined bool // between the tick's add and remove: queued updates apply
	dq     decodeQueue
	talk   talkDetector
	spk    speakerState
	group  *encodeGroup // the shared chain the participant hears while it listens
	key    groupKey
	own    encodeChain // the participant's mix-minus while it speaks
	out    outStream
	logs   *participantLog // nil unless the conference logs
	// rtcpOut is the tick's half of the participant's RTCP (reports, BYE);
	// the inbound half is in.rtcp.
	rtcpOut rtcpOut
	// tr is the participant's side of trunking (trunkfwd.go).
	tr trunkPart
	// src is set on the shell participant of a Source (never in parts);
	// att holds the endpoints attached to a participant (whispers to it,
	// taps of it), nil until one is. Both tick-owned (see media.go).
	src *Source
	att *attached
	// dtmf is the tick's side of the digits the participant sends,
	// dtmfOut of those it is sent, dtmfReq the SendDTMF queue (any
	// goroutine); see dtmf.go. They live in one allocation of their own
	// (Join's), which keeps the participant in its size class.
	dtmf    *dtmfRx
	dtmfOut *dtmfOut
	dtmfReq *dtmfRequests

	done chan struct{} // closed once the tick has removed the participant
}

// controls are the settings any goroutine may change while the conference
// ticks; the tick reads them every tick. The gains are kept in dB as well,
// as set, for Config.
type controls struct {
	muted, deaf         atomic.Bool
	gainIn, gainOut     atomic.Int32  // Q16
	gainInDB, gainOutDB atomic.Uint64 // float64 bits
	left                atomic.Bool
	// leaveReason is written once, by the caller that set left, before
	// the leave is queued (the queue's mutex publishes it to the tick).
	leaveReason string
}

// ParticipantStats is a snapshot of one participant's counters.
type ParticipantStats struct {
	ID       string
	InCodec  string
	OutCodec string
	// PacketsIn and BytesIn count the inbound packets accepted into the
	// jitter buffer; Refused counts the others, by reason.
	PacketsIn uint64
	BytesIn   uint64
	Refused   RefusedStats
	// PacketsOut and BytesOut count the packets handed to the Sink (built,
	// without one).
	PacketsOut uint64
	BytesOut   uint64
	// SinkDropped counts packets built but dropped because the queue to
	// the Sink was full: the sink was too slow or stalled (in an Engine;
	// see Sink). SinkStalls counts the times a call to it overran
	// EngineConfig.SinkBudget (SinkStalled events).
	SinkDropped, SinkStalls uint64
	// Decoding.
	DecodeErrors, FECRecovered, Concealed, SkippedDecodes uint64
	// Outbound failures.
	EncodeErrors, ProtectErrors, SinkErrors uint64
	Jitter                                  jitter.Stats
	// TimeScale: how the jitter buffer's requests to play the audio
	// longer or shorter were met (Jitter.Lengthened and Jitter.Shortened
	// are the same totals, as the buffer counted them).
	TimeScale               TimeScaleStats
	TalkTime                time.Duration
	Level                   int // smoothed, -dBov (127 silence)
	Talking, Speaking       bool
	Muted, Deaf, ListenOnly bool
	// Direction is the configured direction (ListenOnly is !Direction.Recv()).
	Direction Direction

	// RTCP: what the participant's RTCP said (loss, jitter and round
	// trip of the stream we send it) and the RTCP counters both ways.
	RTCP RTCPStats
	// DTMF counts the participant's keypad digits, both ways.
	DTMF DTMFStats
}

// ID returns the participant's ID.
func (p *Participant) ID() string { return p.id }

// Config returns the participant's configuration as Join and the Updates
// since left it, defaults applied: the payload types set (to the format's
// when they were not), SSRC the outbound stream's, Direction and
// ListenOnly consistent, Muted, Deaf and the gains as last set by any
// call. The SRTP keys are copies. Safe from any goroutine.
func (p *Participant) Config() ParticipantConfig {
	c := *p.upd.cfg.Load()
	c.Muted, c.Deaf = p.ctl.muted.Load(), p.ctl.deaf.Load()
	c.GainIn = math.Float64frombits(p.ctl.gainInDB.Load())
	c.GainOut = math.Float64frombits(p.ctl.gainOutDB.Load())
	c.InSRTP, c.OutSRTP = cloneKeys(c.InSRTP), cloneKeys(c.OutSRTP)
	return c
}

// SSRC returns the outbound SSRC: the one Join chose, or the last Update's.
func (p *Participant) SSRC() uint32 { return p.upd.cfg.Load().SSRC }

// SetMuted sets whether others hear the participant.
func (p *Participant) SetMuted(v bool) { p.ctl.muted.Store(v) }

// SetDeaf sets whether the participant hears the conference.
func (p *Participant) SetDeaf(v bool) {
	if p.ctl.deaf.Swap(v) != v {
		p.conf.regroup.Store(true)
	}
}

// SetGainIn sets the gain (dB, -60..+24) applied to what the participant
// sends. An error matches ErrConfig.
func (p *Participant) SetGainIn(db float64) error {
	g, err := gainQ16(db)
	if err == nil {
		p.ctl.setGainIn(g, db)
	}
	return err
}

// SetGainOut sets the gain (dB, -60..+24) applied to what the participant
// hears. An error matches ErrConfig.
func (p *Participant) SetGainOut(db float64) error {
	g, err := gainQ16(db)
	if err == nil && p.ctl.setGainOut(g, db) {
		p.conf.regroup.Store(true)
	}
	return err
}

func (c *controls) setGainIn(q int32, db float64) {
	c.gainIn.Store(q)
	c.gainInDB.Store(math.Float64bits(db))
}

// setGainOut reports whether the gain changed: listeners are grouped by it.
func (c *controls) setGainOut(q int32, db float64) bool {
	c.gainOutDB.Store(math.Float64bits(db))
	return c.gainOut.Swap(q) != q
}

const unity = pcm.Unity

func gainQ16(db float64) (int32, error) {
	if math.IsNaN(db) || db < -60 || db > 24 {
		return 0, fmt.Errorf("%w: gain %v dB (want -60..+24)", ErrConfig, db)
	}
	return pcm.GainFromDB(db), nil
}

// Leave removes the participant from its conference. Its ID is free at
// once (a Join with the same ID may follow right away: the old participant
// is removed at the next tick, before the new one is added, so the events
// say Left, then Joined); it stops being mixed at the next tick. It is
// idempotent; WriteRTP, WriteRTCP and Update return ErrClosed afterwards.
// The tick that removes it queues its RTCP BYE; Done closes once that has
// gone to the sink.
func (p *Participant) Leave() { p.leave("") }

// LeaveWithReason is Leave with the reason the application has ("hung
// up", "idle", "kicked"): the Left event carries it in Detail, and the
// conference's log in its "reason".
func (p *Participant) LeaveWithReason(reason string) { p.leave(reason) }

func (p *Participant) leave(reason string) {
	if p.ctl.left.Swap(true) {
		return
	}
	p.ctl.leaveReason = reason
	p.conf.release(p)
	p.conf.enqueue(func(c *Conference, now time.Duration) { c.remove(p, now) })
}

// Done returns a channel closed once the tick has removed the participant
// (after Leave, or the conference's Close) and its last packets, its BYE
// last, have gone to the sink: neither of its sinks is called again, so a
// transport may close its sockets then. Ticked by hand, that is within the
// tick; in an Engine, when the delivery goroutine has sent them — later,
// if the sink was stalled as the participant left, once its call returns
// (when Engine.Close has stopped delivery meanwhile, nothing more is sent
// and Done closes then). A conference that is no longer ticked never
// closes it.
func (p *Participant) Done() <-chan struct{} { return p.done }

// WriteRTP takes one inbound RTP or SRTP packet, stamped with the
// conference clock. An RTCP or SRTCP packet (RFC 5761: what arrives on a
// port that carries both) goes to WriteRTCP, so one call takes whatever a
// muxed socket reads; its errors are WriteRTCP's. It may modify buf (SRTP is decrypted in place) and does
// not keep it. A packet it refuses is dropped and counted in
// ParticipantStats.Refused under its reason, and the error says which; the
// error is one of these values, unwrapped (compare with == or errors.Is):
//
//   - ErrClosed: the participant has left.
//   - ErrMalformed: not well-formed RTP (or SRTP).
//   - ErrPayloadType: neither the inbound nor the comfort noise payload type.
//   - srtp.ErrAuth, srtp.ErrReplay: refused by inbound SRTP.
//   - jitter.ErrLate, jitter.ErrDuplicate, jitter.ErrFull,
//     jitter.ErrTooLarge: refused by the jitter buffer.
//
// None of them needs more than dropping the packet; they are returned so
// that a transport can log or act (e.g. not latch onto a source whose
// packets fail authentication). Refusing allocates nothing.
func (p *Participant) WriteRTP(buf []byte) error {
	return p.WriteRTPAt(p.conf.cfg.Clock(), buf)
}

// WriteRTPAt is WriteRTP with an explicit arrival time on the conference
// clock, for virtual-time tests and for transports that stamp packets.
func (p *Participant) WriteRTPAt(now time.Duration, buf []byte) error {
	if rtcpsession.IsRTCP(buf) {
		return p.WriteRTCPAt(now, buf)
	}
	if p.ctl.left.Load() {
		return ErrClosed
	}
	return p.in.write(now, buf)
}

// Stats returns a snapshot of the participant's counters. Safe from any
// goroutine.
func (p *Participant) Stats() ParticipantStats {
	cfg := p.upd.cfg.Load()
	st := ParticipantStats{
		ID:             p.id,
		InCodec:        cfg.In.SDPName(),
		OutCodec:       cfg.Out.SDPName(),
		PacketsOut:     p.out.dl.rtp.packets.Load(),
		BytesOut:       p.out.dl.rtp.bytes.Load(),
		DecodeErrors:   p.dq.decodeErrors.Load(),
		FECRecovered:   p.dq.fecRecovered.Load(),
		Concealed:      p.dq.concealed.Load(),
		SkippedDecodes: p.dq.skipped.Load(),
		EncodeErrors:   p.out.encodeErrors.Load(),
		ProtectErrors:  p.out.protectErrors.Load(),
		SinkDropped:    p.out.sinkDropped.Load(),
		Jitter:         p.in.jb.Stats(),
		RTCP:           p.rtcpStats(),
		TimeScale:      p.dq.ts.stats(),
		TalkTime:       time.Duration(p.talk.talkTicks.Load()) * p.conf.cfg.Ptime,
		Level:          int(p.talk.pubLevel.Load()),
		Talking:        p.talk.pubTalking.Load(),
		Speaking:       p.spk.pubSpeaking.Load(),
		Muted:          p.ctl.muted.Load(),
		Deaf:           p.ctl.deaf.Load(),
		ListenOnly:     !cfg.Direction.Recv(),
		Direction:      cfg.Direction,
		DTMF:           p.dtmfStats(),
	}
	st.SinkErrors, st.SinkStalls = p.out.dl.rtp.sinkErrors.Load(), p.out.dl.stall.Load()
	st.PacketsIn, st.BytesIn, st.Refused = p.in.stats()
	return st
}

// setup builds the decoders, encoder and resamplers for the conference
// rate. It runs at Join (in the caller's goroutine, before the participant
// is shared) and in the tick when the automatic rate changes.
func (p *Participant) setup(rate int, ptime time.Duration) error {
	if p.rate == rate && p.dq.cur.dec != nil {
		return nil
	}
	if err := p.dq.setup(rate, ptime); err != nil {
		return err
	}
	// The own chain serves the participant while it speaks (its mix
	// leaves its own voice out, so it cannot share the group's encoder).
	if err := p.own.setup(p.tcfg.Out, p.tcfg.Encoder, rate, ptime, outPtime(p.tcfg, ptime)); err != nil {
		return err
	}
	p.rate = rate
	return nil
}

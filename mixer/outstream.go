package mixer

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// outStream is a participant's outbound RTP stream: continuous sequence
// numbers and timestamps whatever chain encoded the payload, the header
// (CSRCs, audio levels), SRTP protection, and the producer side of the
// queue to the Sink (delivery.go).
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared); Update changes it through the conference's queue. Stats reads
// the counters. dl, the consumer side, has its own owners.
type outStream struct {
	ssrc      uint32
	seq       uint16
	ts        uint32 // the next packet's
	tsStep    uint32 // per packet
	tickStep  uint32 // per tick (differs when the packet time does)
	clock     int    // RTP clock rate of ts
	lastTS    uint32 // the last packet's, once sent
	sent      bool
	marker    bool // next packet starts a talkspurt
	wasSilent bool
	// paused: the participant's direction does not send. The stream's
	// clock runs on as through DTX, nothing is encoded or sent.
	paused bool
	// rtcpDue is when the participant's next RTCP report is due (a copy
	// of rtcpOut's schedule; never, when it sends none periodically),
	// kept on the line the tick writes for every packet so that the
	// tick's check of every participant (rtcpTick) misses no cache.
	rtcpDue time.Duration

	pt           uint8
	levelID      uint8 // RFC 6464 extension ID; 0: none
	csrcLevelsID uint8 // RFC 6465 extension ID; 0: none
	protect      *srtp.Protector
	// sink is the Sink the packets built now are for (Update may change
	// it); each queued packet carries its own, so a change reaches exactly
	// the packets built after it.
	sink Sink
	dl   *delivery

	// dtmf sends the participant's digits in the place of audio packets
	// (dtmf_out.go); nil without an outbound telephone-event.
	dtmf *dtmfOut

	hdr         outHeader
	pkt         []byte             // where packets are built when the queue is full (Engine only)
	tx          rtcpsession.Sender // what sender reports say of the stream
	csrcScratch [maxCSRC]uint32
	lvlScratch  [maxCSRC]uint8

	// sinkDropped counts the packets a full queue had no room for (dl
	// counts those the sink was given).
	encodeErrors, protectErrors, sinkDropped atomic.Uint64
}

// send wraps payload in the stream's RTP header, protects it, and queues it
// for the sink (delivery.go): the packet is built in its queue slot, so
// handing it over copies nothing. When the queue is full (the sink is slow
// or stalled), the packet is still built and protected, so that the
// sequence numbers and the SRTP rollover counter stay those of a stream
// that lost it, and dropped. When nothing is sent (ok false: DTX, or an encoder error) the timestamp
// still advances, so the stream's clock keeps running through silence and
// the next packet carries the marker bit. level is the RFC 6464 level of
// the mix, csrc and lvl the speakers heard and their RFC 6465 levels; now
// is the tick's time, which the packet's timestamp stands for in sender
// reports.
func (o *outStream) send(now time.Duration, payload []byte, ok, silent bool, level uint8, csrc []uint32, lvl []uint8) {
	if o.dtmf != nil && o.sendEvent(now) {
		return
	}
	if !ok {
		o.ts += o.tsStep
		o.marker = true
		o.wasSilent = true
		return
	}
	if o.wasSilent && !silent {
		o.marker = true // talkspurt start
	}
	h := &o.hdr
	h.marker = o.marker
	h.payloadType = o.pt
	h.seq, h.timestamp, h.ssrc = o.seq, o.ts, o.ssrc
	h.csrc = csrc
	h.levelID = o.levelID
	h.level, h.voice = level, !silent
	h.csrcLevelsID, h.csrcLevels = o.csrcLevelsID, lvl
	o.lastTS, o.sent = o.ts, true
	o.seq++
	o.ts += o.tsStep
	o.marker = false
	o.wasSilent = silent
	o.deliver(now, payload, h.timestamp)
}

// deliver writes the packet of o.hdr and payload into the participant's
// queue slot (or o.pkt when the queue is full), protects it and hands it
// on: straight to the sink in a hand-driven tick, else published for the
// Engine's delivery goroutine. reportTS is the RTP time sender reports map
// to wall-clock time for it. Audio and DTMF events both go out here.
func (o *outStream) deliver(now time.Duration, payload []byte, reportTS uint32) {
	q := o.dl
	buf := q.ring.reserve() // hand-driven (q.sync), never published, so always free
	slot := buf != nil
	if !slot {
		buf = o.pkt
	}
	buf = buf[:cap(buf)]
	hn := writeHeader(buf, &o.hdr)
	pkt := buf[:hn+copy(buf[hn:cap(buf)-srtpOverhead], payload)]
	if o.protect != nil {
		var err error
		if pkt, err = o.protect.ProtectRTP(pkt[:0], pkt); err != nil {
			inc(&o.protectErrors)
			return
		}
	}
	o.tx.SentRTP(reportTS, len(payload), now)
	switch {
	case slot && q.sync:
		// Hand-driven: the tick is the consumer too, so the packet goes
		// straight to the sink and the slot is free again at once.
		call(o.sink, &q.rtp, pkt)
	case slot:
		q.ring.publish(len(pkt), o.sink, &q.rtp)
	default:
		inc(&o.sinkDropped)
	}
}

// queue hands a packet built elsewhere (the participant's RTCP) to sink
// through the participant's queue, after the RTP before it, accounted in
// k: at once in a hand-driven tick, else copied into a slot (an RTCP
// packet every few seconds: the copy costs nothing that matters), or
// dropped and counted in sinkDropped when the queue is full. Tick only.
func (o *outStream) queue(pkt []byte, sink Sink, k *sinkCounters) {
	q := o.dl
	if q.sync {
		call(sink, k, pkt)
		return
	}
	buf := q.ring.reserve()
	if buf == nil || len(pkt) > cap(buf) {
		inc(&o.sinkDropped)
		return
	}
	q.ring.publish(copy(buf[:len(pkt)], pkt), sink, k)
}

// skip lets a tick pass without a packet: the timestamp advances, and the
// next packet carries the marker bit.
func (o *outStream) skip() {
	if o.dtmf != nil {
		o.dtmf.stop() // a digit is not sent while the stream sends nothing
	}
	o.ts += o.tickStep
	o.marker = true
	o.wasSilent = true
}

// restart starts the stream over under a new SSRC, with a random sequence
// number and timestamp as RFC 3550 §5.1 asks of a new source.
func (o *outStream) restart(ssrc uint32) {
	o.ssrc = ssrc
	o.seq = uint16(rand.Uint32())
	o.ts = rand.Uint32()
	o.sent = false
	o.marker = true
	o.tx = rtcpsession.NewSender(o.clock) // a new source: its sender reports count afresh
}

// setClock changes the RTP clock rate the stream's timestamps count in
// (the outbound codec changed, the SSRC did not). The sequence numbers go
// on; the next timestamp is the last packet's plus the time since it,
// counted at the new rate, which is what RFC 7160 asks of a sender that
// keeps its SSRC across a clock rate change: each timestamp difference is
// then the elapsed time at the rate of the packet's payload type, which a
// receiver reads the clock rate from (RFC 3550 §5.1). The ticks since the
// last packet are a whole number (ts only ever moves by tsStep), so this is
// exact, DTX and hold included.
func (o *outStream) setClock(clock int, step uint32) {
	if o.sent && clock != o.clock && o.tsStep != 0 {
		ticks := (o.ts - o.lastTS) / o.tsStep
		o.ts = o.lastTS + ticks*step
	}
	o.clock, o.tsStep = clock, step
	o.tickStep = step // the caller sets the tick's when the packet time differs
	o.tx.SetClockRate(clock)
}

package mixer

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// inbound is a participant's receive path: SRTP, RTP parsing, the payload
// type filter and the producer side of the jitter buffer.
//
// Ownership: write may be called from any goroutine (typically the one that
// reads the participant's socket); mu serialises the calls, and Update
// takes it for the moment it swaps keys and payload types (apply), so the
// tick never waits for it. The tick reads only ssrc, and Stats only the
// counters, both atomics. The jitter buffer between this side and the tick
// is lock-free (jb.Push here, Pop in decodeQueue).
type inbound struct {
	// old holds what the last Updates replaced, accepted for a while. It
	// comes first: nothing writes it between Updates (see Participant).
	old overlap

	mu        sync.Mutex
	hdr       rtp.Header // reused: pion parses into it without allocating
	unprotect *srtp.Unprotector
	jpkt      jitter.Packet
	jb        *jitter.Buffer
	media     inMedia // the payload types accepted, and their timestamps' mapping
	levelID   uint8   // RFC 6464 extension ID; 0: none
	// tr forwards accepted packets on the conference's trunks; nil for a
	// remote participant, whose stream is never forwarded again.
	tr *trunkPart
	// lastTS is the sender's timestamp of the last packet accepted and
	// lastJB where it went on the jitter buffer's timeline: a format an
	// Update brings in is placed from there.
	lastTS, lastJB uint32

	// ssrc is the SSRC of the last packet that passed the filters: the
	// CSRC the tick lists for this participant while it speaks.
	ssrc atomic.Uint32

	// tePT is the inbound telephone-event payload type (0: none), and ev
	// the telephone-event packets' way to the tick (dtmf_in.go), made the
	// first time the participant has one.
	tePT uint8
	ev   *eventIn

	// rtcp is the inbound RTCP (WriteRTCP), and the reception statistics
	// of every RTP packet that authenticated and parsed, for our reports.
	rtcp rtcpIn

	// Counters, written under mu only (so a plain load and store suffices:
	// see inc) and read by Stats from any goroutine. The refusal counters
	// come last: rarely written, they keep the hot ones off the cache line
	// of whatever follows inbound (see Participant).
	packets, bytes atomic.Uint64 // accepted into the jitter buffer, or telephone-events
	evPackets      atomic.Uint64 // telephone-events accepted
	refusedBytes   atomic.Uint64
	refused        [numRefusals]atomic.Uint64
}

// inMedia is one inbound format as the receive path sees it: the media and
// comfort noise payload types, and how its RTP timestamps map onto the
// jitter buffer's clock, which is the inbound format's at Join.
type inMedia struct {
	pt, cn uint8 // cn 0: none (0 is PCMU's, never comfort noise)
	ts     tsMap
}

// accepts reports whether a packet with payload type pt belongs to m.
func (m *inMedia) accepts(pt uint8) bool { return pt == m.pt || (m.cn != 0 && pt == m.cn) }

// overlap is what Updates replaced on the receive path and still accept
// until a deadline on the conference clock: the previous SRTP keys (or
// none) and the previous payload types. Both are cold: the packet path
// tests one deadline each and touches the rest only while one runs.
type overlap struct {
	keys       bool // old keys accepted before keyUntil
	keyUntil   time.Duration
	unprotect  *srtp.Unprotector
	hasMedia   bool // old payload types accepted before mediaUntil
	mediaUntil time.Duration
	media      inMedia
	// scratch receives the first attempt at a packet while both keys are
	// tried, so that a failed attempt leaves the packet intact for the
	// other (AES-GCM clears its output on failure).
	scratch []byte
	// oldFirst: the last packet authenticated under the old keys, so the
	// next is tried under them first. Packets come in runs (those in
	// flight under the old keys, then the new), so a failed attempt,
	// which costs a tag computation (and, for AES-GCM, an error pion
	// allocates), happens about once per switch rather than per packet.
	oldFirst bool
}

// tsMap maps a sender's RTP timestamps at one clock rate onto the jitter
// buffer's timeline. The format a participant joins with maps as it is
// (identity); one an Update brings in starts at its first packet from the
// last packet accepted before it: the timestamp difference between the two,
// read at the new format's clock, is the time between them (the rule RFC
// 7160 gives a sender that keeps its SSRC across a clock rate change), so
// a sender that switches codec without a new SSRC plays on seamlessly. A
// sender that jumps (a new SSRC, a random timestamp) makes the jitter
// buffer resync, as any restart does.
type tsMap struct {
	identity bool
	started  bool
	num, den int64  // jitter buffer clock, this format's clock
	base     int64  // timeline position of the first packet
	last     uint32 // newest sender timestamp seen
	ext      int64  // its distance from the first packet's, in sender ticks
}

// identityMap passes timestamps through.
func identityMap() tsMap { return tsMap{identity: true} }

// scaledMap maps a format at clock onto a timeline at jbClock.
func scaledMap(clock, jbClock int) tsMap { return tsMap{num: int64(jbClock), den: int64(clock)} }

// toJB maps ts; lastTS and lastJB are the previous packet's sender and
// timeline timestamps, where a map that has not started yet begins.
func (m *tsMap) toJB(ts, lastTS, lastJB uint32) uint32 {
	if m.identity {
		return ts
	}
	if !m.started {
		m.started, m.last, m.ext = true, ts, 0
		m.base = int64(lastJB) + floorDiv(int64(int32(ts-lastTS))*m.num, m.den)
		return uint32(m.base)
	}
	e := m.ext + int64(int32(ts-m.last))
	if e > m.ext {
		m.ext, m.last = e, ts
	}
	return uint32(m.base + floorDiv(e*m.num, m.den))
}

// floorDiv is a/b rounded down, so that timestamps before the first
// packet's map as consistently as those after it.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// refusal is why write dropped a packet: each has its own counter and maps
// to one sentinel error (refusalErr), in one place, so that adding a check
// cannot forget either.
type refusal uint8

const (
	accepted refusal = iota
	refShort
	refVersion
	refPadding
	refPayloadType
	refSRTPAuth
	refSRTPReplay
	refSRTPMalformed
	refLate
	refDuplicate
	refFull
	refTooLarge
	refEvent
	numRefusals
)

// refusalErr is the error WriteRTP returns for each refusal.
var refusalErr = [numRefusals]error{
	refShort:         ErrMalformed,
	refVersion:       ErrMalformed,
	refPadding:       ErrMalformed,
	refPayloadType:   ErrPayloadType,
	refSRTPAuth:      srtp.ErrAuth,
	refSRTPReplay:    srtp.ErrReplay,
	refSRTPMalformed: ErrMalformed,
	refLate:          jitter.ErrLate,
	refDuplicate:     jitter.ErrDuplicate,
	refFull:          jitter.ErrFull,
	refTooLarge:      jitter.ErrTooLarge,
	refEvent:         ErrMalformed,
}

// RefusedStats counts the inbound packets WriteRTP refused, by reason; the
// comment on each says which error WriteRTP returned for it. Packets is
// their sum, Bytes their size.
type RefusedStats struct {
	Packets, Bytes uint64

	Short   uint64 // ErrMalformed: shorter than its RTP header (or SRTP header and tag)
	Version uint64 // ErrMalformed: RTP version not 2 (STUN, DTLS or garbage on the port)
	Padding uint64 // ErrMalformed: padding count 0 or longer than the payload
	// PayloadType: ErrPayloadType, neither the media nor the comfort noise type.
	PayloadType uint64
	// SRTPAuth: srtp.ErrAuth, the tag did not verify or the MKI is unknown
	// (forged, corrupted, or keyed with another key). SRTPReplay:
	// srtp.ErrReplay. SRTPMalformed: ErrMalformed, SRTP found the header
	// malformed.
	SRTPAuth, SRTPReplay, SRTPMalformed uint64
	// The jitter buffer's refusals: jitter.ErrLate (after its playout
	// time), ErrDuplicate, ErrFull (too far ahead of playout) and
	// ErrTooLarge (payload over jitter.Config.MaxPayload).
	Late, Duplicate, Full, TooLarge uint64
	// TelephoneEvent: ErrMalformed, a packet of the inbound
	// telephone-event payload type whose payload is not a whole number of
	// RFC 4733 reports (or longer than eight). (A burst of events that
	// the tick has not taken yet is refused as Full.)
	TelephoneEvent uint64
}

// write takes one packet; see Participant.WriteRTPAt.
func (in *inbound) write(now time.Duration, buf []byte) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if r := in.push(now, buf); r != accepted {
		return in.refuse(r, len(buf))
	}
	inc(&in.packets)
	add(&in.bytes, uint64(len(buf)))
	return nil
}

// refuse counts a refused packet under its reason and returns the reason's
// sentinel error.
func (in *inbound) refuse(r refusal, size int) error {
	inc(&in.refused[r])
	add(&in.refusedBytes, uint64(size))
	return refusalErr[r]
}

// push unprotects and parses buf and hands the payload to the jitter buffer,
// or says why not.
func (in *inbound) push(now time.Duration, buf []byte) refusal {
	if len(buf) < 12 {
		return refShort
	}
	if buf[0]>>6 != 2 {
		return refVersion
	}
	pkt := buf
	parsed := false
	if in.old.keys {
		if now < in.old.keyUntil {
			var r refusal
			if pkt, parsed, r = in.unprotectOverlap(buf); r != accepted {
				return r
			}
		} else {
			in.old.keys, in.old.unprotect = false, nil
		}
	}
	switch {
	case parsed:
	case in.unprotect != nil:
		var err error
		if pkt, err = in.unprotect.UnprotectRTP(buf[:0], buf, &in.hdr); err != nil {
			return srtpRefusal(err)
		}
	default:
		// Checked before pion's parser, whose length errors are formatted
		// (allocated): a flood of bad packets must cost no allocation.
		if _, err := srtp.Payload(pkt); err != nil {
			if err == srtp.ErrShortPacket {
				return refShort
			}
			return refPadding
		}
		if _, err := in.hdr.Unmarshal(pkt); err != nil {
			return refShort
		}
	}
	hlen := in.hdr.MarshalSize()
	end := len(pkt)
	if in.hdr.Padding {
		if end <= hlen || int(pkt[end-1]) == 0 || int(pkt[end-1]) > end-hlen {
			return refPadding
		}
		end -= int(pkt[end-1])
	}
	if hlen > end {
		return refShort
	}
	// RFC 3550 counts every packet of the stream, whatever becomes of it
	// below (a payload type we drop, such as DTMF events, or late).
	in.rtcp.rx.ReceiveRTP(in.hdr.SSRC, in.hdr.SequenceNumber, in.hdr.Timestamp, now)
	pt := in.hdr.PayloadType
	if pt == in.tePT && pt != 0 {
		return in.pushEvent(now, pkt[hlen:end])
	}
	m := &in.media
	if !m.accepts(pt) {
		if !in.old.hasMedia || !in.old.media.accepts(pt) {
			return refPayloadType
		}
		if now >= in.old.mediaUntil {
			in.old.hasMedia = false
			return refPayloadType
		}
		m = &in.old.media
	}
	jp := &in.jpkt
	jp.SSRC = in.hdr.SSRC
	jp.SequenceNumber = in.hdr.SequenceNumber
	if in.ev != nil {
		// Numbered as if the telephone-events between were not there.
		jp.SequenceNumber = in.ev.seq.audio(in.hdr.SSRC, in.hdr.SequenceNumber)
	}
	jp.Timestamp = m.ts.toJB(in.hdr.Timestamp, in.lastTS, in.lastJB)
	in.lastTS, in.lastJB = in.hdr.Timestamp, jp.Timestamp
	jp.Marker = in.hdr.Marker
	jp.PayloadType = pt
	jp.AudioLevel, jp.Voice = -1, false
	if id := in.levelID; id != 0 && in.hdr.Extension {
		if e := in.hdr.GetExtension(id); len(e) >= 1 {
			jp.AudioLevel = int8(e[0] & 0x7f)
			jp.Voice = e[0]&0x80 != 0
		}
	}
	jp.Payload = pkt[hlen:end]
	in.ssrc.Store(in.hdr.SSRC)
	if err := in.jb.Push(now, jp); err != nil {
		return jitterRefusal(err)
	}
	if in.tr != nil {
		in.tr.forward(now, &in.hdr, jp)
	}
	return accepted
}

// unprotectOverlap is the SRTP step while the keys an Update replaced are
// still accepted: the keys that authenticated the last packet first, then
// the others. parsed is false when neither authenticated the packet and
// the current setting is plain RTP: the caller parses it as such.
func (in *inbound) unprotectOverlap(buf []byte) (pkt []byte, parsed bool, r refusal) {
	cur, old := in.unprotect, in.old.unprotect
	if len(buf) > cap(in.old.scratch) {
		// Larger than any packet the jitter buffer takes: one attempt.
		if cur == nil {
			return buf, false, accepted
		}
		pkt, err := cur.UnprotectRTP(buf[:0], buf, &in.hdr)
		if err != nil {
			return nil, false, srtpRefusal(err)
		}
		return pkt, true, accepted
	}
	if cur == nil {
		// SRTP to plain: packets still in flight under the old keys must
		// not reach a decoder as plain RTP (ciphertext is loud noise).
		if pkt, err := old.UnprotectRTP(in.old.scratch[:0], buf, &in.hdr); err == nil {
			return pkt, true, accepted
		}
		return buf, false, accepted
	}
	first, second := cur, old
	if in.old.oldFirst {
		first, second = old, cur
	}
	pkt, err := first.UnprotectRTP(in.old.scratch[:0], buf, &in.hdr)
	if err == nil {
		return pkt, true, accepted
	}
	if err != srtp.ErrReplay && !errors.Is(err, srtp.ErrAuth) {
		return nil, false, srtpRefusal(err)
	}
	pkt, err2 := second.UnprotectRTP(buf[:0], buf, &in.hdr)
	switch {
	case err2 == nil:
		in.old.oldFirst = second == old
		return pkt, true, accepted
	case err == srtp.ErrReplay || err2 == srtp.ErrReplay:
		// Authentic under one of the keys, and seen before.
		return nil, false, refSRTPReplay
	}
	return nil, false, srtpRefusal(err)
}

// srtpRefusal classifies an Unprotector error. Its documented errors are
// ErrShortPacket, ErrAuth (possibly wrapped, for an unknown MKI), ErrReplay,
// or another error for a malformed header.
func srtpRefusal(err error) refusal {
	switch {
	case errors.Is(err, srtp.ErrAuth):
		return refSRTPAuth
	case errors.Is(err, srtp.ErrReplay):
		return refSRTPReplay
	case errors.Is(err, srtp.ErrShortPacket):
		return refShort
	}
	return refSRTPMalformed
}

// jitterRefusal classifies a Push error. Push returns its sentinels
// unwrapped; its one other refusal, a nil packet, cannot happen here, and
// jitter counts it with oversize payloads.
func jitterRefusal(err error) refusal {
	switch err {
	case jitter.ErrLate:
		return refLate
	case jitter.ErrDuplicate:
		return refDuplicate
	case jitter.ErrFull:
		return refFull
	}
	return refTooLarge
}

// stats returns the accepted and refused counters.
func (in *inbound) stats() (packets, bytes uint64, r RefusedStats) {
	var n [numRefusals]uint64
	for i := range n {
		n[i] = in.refused[i].Load()
		r.Packets += n[i]
	}
	r.Bytes = in.refusedBytes.Load()
	r.Short, r.Version, r.Padding = n[refShort], n[refVersion], n[refPadding]
	r.PayloadType = n[refPayloadType]
	r.SRTPAuth, r.SRTPReplay, r.SRTPMalformed = n[refSRTPAuth], n[refSRTPReplay], n[refSRTPMalformed]
	r.Late, r.Duplicate, r.Full, r.TooLarge = n[refLate], n[refDuplicate], n[refFull], n[refTooLarge]
	r.TelephoneEvent = n[refEvent]
	return in.packets.Load(), in.bytes.Load(), r
}

// inc adds one to a counter whose writers are serialised (by a mutex or by
// being the one tick goroutine): a plain load and store, with no locked
// instruction, while readers on other goroutines still see whole values.
func inc(a *atomic.Uint64) { a.Store(a.Load() + 1) }

func add(a *atomic.Uint64, n uint64) { a.Store(a.Load() + n) }

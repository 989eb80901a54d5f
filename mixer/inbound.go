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
// reads the participant's socket); mu serialises the calls and nothing else
// takes it, so the tick never waits for it. The tick reads only ssrc, and
// Stats only the counters, both atomics. The jitter buffer between this
// side and the tick is lock-free (jb.Push here, Pop in decodeQueue).
type inbound struct {
	mu        sync.Mutex
	hdr       rtp.Header // reused: pion parses into it without allocating
	unprotect *srtp.Unprotector
	jpkt      jitter.Packet
	jb        *jitter.Buffer
	pt        uint8 // media payload type
	cnPT      uint8 // comfort noise payload type; 0: none (0 is PCMU's)
	levelID   uint8 // RFC 6464 extension ID; 0: none

	// ssrc is the SSRC of the last packet that passed the filters: the
	// CSRC the tick lists for this participant while it speaks.
	ssrc atomic.Uint32

	// Counters, written under mu only (so a plain load and store suffices:
	// see inc) and read by Stats from any goroutine. The refusal counters
	// come last: rarely written, they keep the hot ones off the cache line
	// of whatever follows inbound (see Participant).
	packets, bytes atomic.Uint64 // accepted into the jitter buffer
	refusedBytes   atomic.Uint64
	refused        [numRefusals]atomic.Uint64
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
	if in.unprotect != nil {
		var err error
		if pkt, err = in.unprotect.UnprotectRTP(buf[:0], buf, &in.hdr); err != nil {
			return srtpRefusal(err)
		}
	} else if _, err := srtp.Payload(pkt); err != nil {
		// Checked before pion's parser, whose length errors are formatted
		// (allocated): a flood of bad packets must cost no allocation.
		if err == srtp.ErrShortPacket {
			return refShort
		}
		return refPadding
	} else if _, err := in.hdr.Unmarshal(pkt); err != nil {
		return refShort
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
	pt := in.hdr.PayloadType
	if pt != in.pt && (in.cnPT == 0 || pt != in.cnPT) {
		return refPayloadType
	}
	jp := &in.jpkt
	jp.SSRC = in.hdr.SSRC
	jp.SequenceNumber = in.hdr.SequenceNumber
	jp.Timestamp = in.hdr.Timestamp
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
	return accepted
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
	return in.packets.Load(), in.bytes.Load(), r
}

// inc adds one to a counter whose writers are serialised (by a mutex or by
// being the one tick goroutine): a plain load and store, with no locked
// instruction, while readers on other goroutines still see whole values.
func inc(a *atomic.Uint64) { a.Store(a.Load() + 1) }

func add(a *atomic.Uint64, n uint64) { a.Store(a.Load() + n) }

package mixer

import (
	"sync/atomic"

	"github.com/rtpmix/rtpmix/srtp"
)

// outStream is a participant's outbound RTP stream: continuous sequence
// numbers and timestamps whatever chain encoded the payload, the header
// (CSRCs, audio levels), SRTP protection and the Sink.
//
// Ownership: the tick goroutine alone (and Join, before the participant is
// shared). SSRC, set at Join, is read from any goroutine; Stats reads the
// counters.
type outStream struct {
	ssrc      uint32
	seq       uint16
	ts        uint32
	tsStep    uint32
	marker    bool // next packet starts a talkspurt
	wasSilent bool

	pt           uint8
	levelID      uint8 // RFC 6464 extension ID; 0: none
	csrcLevelsID uint8 // RFC 6465 extension ID; 0: none
	protect      *srtp.Protector
	sink         Sink

	hdr         outHeader
	pkt         []byte
	csrcScratch [maxCSRC]uint32
	lvlScratch  [maxCSRC]uint8

	packets, bytes                          atomic.Uint64
	encodeErrors, protectErrors, sinkErrors atomic.Uint64
}

// send wraps payload in the stream's RTP header and hands it to the sink.
// When nothing is sent (ok false: DTX, or an encoder error) the timestamp
// still advances, so the stream's clock keeps running through silence and
// the next packet carries the marker bit. level is the RFC 6464 level of
// the mix, csrc and lvl the speakers heard and their RFC 6465 levels.
func (o *outStream) send(payload []byte, ok, silent bool, level uint8, csrc []uint32, lvl []uint8) {
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
	buf := o.pkt[:cap(o.pkt)]
	hn := writeHeader(buf, h)
	pkt := buf[:hn+copy(buf[hn:cap(buf)-srtpOverhead], payload)]
	o.seq++
	o.ts += o.tsStep
	o.marker = false
	o.wasSilent = silent
	if o.protect != nil {
		var err error
		if pkt, err = o.protect.ProtectRTP(pkt[:0], pkt); err != nil {
			inc(&o.protectErrors)
			return
		}
	}
	inc(&o.packets)
	add(&o.bytes, uint64(len(pkt)))
	if o.sink != nil {
		if err := o.sink.WriteRTP(pkt); err != nil {
			inc(&o.sinkErrors)
		}
	}
}

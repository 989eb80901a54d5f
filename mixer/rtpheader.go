package mixer

import "encoding/binary"

// Outbound RTP headers are written by hand rather than through rtp.Header:
// the mixer writes thousands per tick, always the same shape, and this keeps
// the per-packet cost to a few stores with no slices to manage.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|V=2|P|X|  CC   |M|     PT      |       sequence number         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           timestamp                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           synchronization source (SSRC) identifier            |
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//	|            contributing source (CSRC) identifiers             |
//	|                             ....                              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      0xBE     |      0xDE     |           length              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ID   |  L=0  |V| level       |  ID   | L=N-1 |  CSRC levels  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// One-byte header extensions (RFC 8285) carry the RFC 6464 client-to-mixer
// audio level (V bit and level) and the RFC 6465 mixer-to-client levels (one
// byte per CSRC, in CSRC order).

// maxCSRC is the RTP limit on contributing sources (4-bit CC field).
const maxCSRC = 15

// maxHeaderSize bounds what writeHeader can produce: 12 fixed, 15 CSRCs,
// 4 extension header, 2 audio level, 16 mixer levels, padding.
const maxHeaderSize = 12 + 4*maxCSRC + 4 + 2 + 16 + 3

// outHeader describes one outbound packet's header.
type outHeader struct {
	marker      bool
	payloadType uint8
	seq         uint16
	timestamp   uint32
	ssrc        uint32
	csrc        []uint32 // at most maxCSRC
	// levelID is the RFC 6464 extension ID (0: not sent); level is 0..127
	// -dBov and voice the V bit.
	levelID uint8
	level   uint8
	voice   bool
	// csrcLevelsID is the RFC 6465 extension ID (0: not sent); csrcLevels
	// holds one level per CSRC.
	csrcLevelsID uint8
	csrcLevels   []uint8
}

// writeHeader writes h at the start of b, which must hold maxHeaderSize
// bytes, and returns the header length.
func writeHeader(b []byte, h *outHeader) int {
	_ = b[maxHeaderSize-1] // bounds check hint: callers size b for the worst case
	cc := len(h.csrc)
	if cc > maxCSRC {
		cc = maxCSRC
	}
	b[0] = 2<<6 | byte(cc)
	b[1] = h.payloadType & 0x7f
	if h.marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], h.seq)
	binary.BigEndian.PutUint32(b[4:], h.timestamp)
	binary.BigEndian.PutUint32(b[8:], h.ssrc)
	n := 12
	for _, c := range h.csrc[:cc] {
		binary.BigEndian.PutUint32(b[n:], c)
		n += 4
	}
	nl := len(h.csrcLevels)
	if nl > cc {
		nl = cc
	}
	sendLevels := h.csrcLevelsID != 0 && nl > 0
	if h.levelID == 0 && !sendLevels {
		return n
	}
	b[0] |= 0x10 // X
	extStart := n
	b[n], b[n+1] = 0xBE, 0xDE
	n += 4
	if h.levelID != 0 {
		b[n] = h.levelID << 4 // L = 0: one byte
		v := h.level & 0x7f
		if h.voice {
			v |= 0x80
		}
		b[n+1] = v
		n += 2
	}
	if sendLevels {
		b[n] = h.csrcLevelsID<<4 | byte(nl-1)
		n++
		for _, l := range h.csrcLevels[:nl] {
			b[n] = l & 0x7f
			n++
		}
	}
	for (n-extStart)%4 != 0 {
		b[n] = 0 // padding bytes of a one-byte extension block
		n++
	}
	binary.BigEndian.PutUint16(b[extStart+2:], uint16((n-extStart-4)/4))
	return n
}

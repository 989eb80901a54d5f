package rtcpsession

import (
	"encoding/binary"
	"strconv"
)

// PacketType is an RTCP packet type: RFC 3550 §12.1 (SR, RR, SDES, BYE,
// APP), RFC 4585 (RTPFB, PSFB) and RFC 3611 (XR).
type PacketType uint8

// Packet types.
const (
	TypeSR    PacketType = 200
	TypeRR    PacketType = 201
	TypeSDES  PacketType = 202
	TypeBYE   PacketType = 203
	TypeAPP   PacketType = 204
	TypeRTPFB PacketType = 205
	TypePSFB  PacketType = 206
	TypeXR    PacketType = 207
)

func (t PacketType) String() string {
	switch t {
	case TypeSR:
		return "SR"
	case TypeRR:
		return "RR"
	case TypeSDES:
		return "SDES"
	case TypeBYE:
		return "BYE"
	case TypeAPP:
		return "APP"
	case TypeRTPFB:
		return "RTPFB"
	case TypePSFB:
		return "PSFB"
	case TypeXR:
		return "XR"
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// SDES item types (RFC 3550 §6.5).
const (
	ItemCNAME uint8 = 1
	ItemNAME  uint8 = 2
	ItemEMAIL uint8 = 3
	ItemPHONE uint8 = 4
	ItemLOC   uint8 = 5
	ItemTOOL  uint8 = 6
	ItemNOTE  uint8 = 7
	ItemPRIV  uint8 = 8
)

// Fixed sizes of the wire format.
const (
	headerSize     = 4
	senderInfoSize = 20
	blockSize      = 24
	// MaxBlocks is how many report blocks one SR or RR can carry (its
	// 5-bit count).
	MaxBlocks = 31
)

// IsRTCP reports whether b, read from a port that carries both RTP and
// RTCP (rtcp-mux, RFC 5761 §4), is RTCP: version 2 and a second byte in
// 192..223. There RTCP has its packet type, while RTP would have the marker
// bit and a payload type of 64..95, a range RFC 5761 keeps free of RTP
// payload types for this reason.
func IsRTCP(b []byte) bool {
	return len(b) >= 2 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// Every RTCP packet starts with this header (RFC 3550 §6.4.1); the count
// is the number of report blocks (SR, RR), chunks (SDES) or sources (BYE),
// or a subtype; length is the packet's size in 32-bit words minus one,
// header and padding included.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|V=2|P|  count  |       PT      |             length            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

// Walker iterates over the packets of a compound RTCP packet that Walk has
// validated. It aliases the datagram and allocates nothing. A Walker is a
// value owned by its caller; it is not safe for concurrent use.
type Walker struct {
	rest []byte
}

// Walk validates a compound RTCP packet (decrypted, if it came as SRTCP)
// as RFC 3550 §6.4.1 and A.2 describe, and returns a Walker over its
// packets. Every packet must have version 2 and only the last may be
// padded (with a count of 1..its length); the length fields must add up
// to the datagram exactly; the first packet must be an SR or an RR (RFC
// 3550 §6.1); and SR, RR, SDES and BYE packets must hold what their count
// fields promise (report blocks; SDES chunks, each a list of items ending
// in a null octet; BYE sources and the reason's length). Other packet
// types (APP, XR, RTCP feedback, unknown ones) are checked only for their
// length, so that a peer's extension never costs us its reports.
//
// A packet that fails any check is refused whole: the error is one of
// ErrTooShort, ErrVersion, ErrLength, ErrPadding, ErrNotCompound or
// ErrContent, unwrapped, each matching ErrMalformed.
func Walk(b []byte) (Walker, error) { return walk(b, true) }

// WalkReducedSize is Walk for a session that negotiated reduced-size RTCP
// (RFC 5506, a=rtcp-rsize): the first packet may be of any type, so a
// lone feedback message is valid. Every other check is Walk's.
func WalkReducedSize(b []byte) (Walker, error) { return walk(b, false) }

func walk(b []byte, compound bool) (Walker, error) {
	if len(b) < headerSize {
		return Walker{}, ErrTooShort
	}
	if b[0]>>6 != 2 {
		return Walker{}, ErrVersion
	}
	if compound && PacketType(b[1]) != TypeSR && PacketType(b[1]) != TypeRR {
		return Walker{}, ErrNotCompound
	}
	for off := 0; off < len(b); {
		h := b[off:]
		if len(h) < headerSize {
			return Walker{}, ErrLength
		}
		if h[0]>>6 != 2 {
			return Walker{}, ErrVersion
		}
		n := 4 * (int(binary.BigEndian.Uint16(h[2:])) + 1)
		if n > len(h) {
			return Walker{}, ErrLength
		}
		p := h[:n]
		if p[0]&0x20 != 0 {
			if off+n != len(b) {
				return Walker{}, ErrPadding // only the last packet may be padded
			}
			pad := int(p[n-1])
			if pad == 0 || pad > n-headerSize {
				return Walker{}, ErrPadding
			}
			p = p[:n-pad]
		}
		if !contentOK(p) {
			return Walker{}, ErrContent
		}
		off += n
	}
	return Walker{rest: b}, nil
}

// Next returns the next packet, its padding removed, or false after the
// last.
func (w *Walker) Next() (Packet, bool) {
	if len(w.rest) < headerSize {
		return Packet{}, false
	}
	n := 4 * (int(binary.BigEndian.Uint16(w.rest[2:])) + 1)
	if n > len(w.rest) { // only for a Walker not made by Walk
		w.rest = nil
		return Packet{}, false
	}
	p := w.rest[:n]
	w.rest = w.rest[n:]
	if p[0]&0x20 != 0 {
		if pad := int(p[n-1]); pad > 0 && pad <= n-headerSize {
			p = p[:n-pad]
		}
	}
	return Packet{b: p}, true
}

// contentOK checks that an SR, RR, SDES or BYE holds what its count
// promises; p is the packet without padding.
func contentOK(p []byte) bool {
	count := int(p[0] & 0x1f)
	body := p[headerSize:]
	switch PacketType(p[1]) {
	case TypeSR:
		return len(body) >= 4+senderInfoSize+count*blockSize
	case TypeRR:
		return len(body) >= 4+count*blockSize
	case TypeSDES:
		_, ok := sdesChunks(body, count)
		return ok
	case TypeBYE:
		if len(body) < 4*count {
			return false
		}
		if r := body[4*count:]; len(r) > 0 && 1+int(r[0]) > len(r) {
			return false
		}
	}
	return true
}

// sdesChunks walks count SDES chunks in body and returns where they end;
// ok is false when they do not fit or something other than their null
// padding follows. Each chunk is an SSRC and items (type, length, text)
// ended by at least one null octet, padded to a 32-bit boundary.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//	|                          SSRC/CSRC_1                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    CNAME=1    |     length    | user and domain name        ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
func sdesChunks(body []byte, count int) (end int, ok bool) {
	j := 0
	for range count {
		if len(body)-j < 4 {
			return 0, false
		}
		j += 4
		for {
			if j >= len(body) {
				return 0, false // no terminating null octet
			}
			if body[j] == 0 {
				j = (j + 4) &^ 3 // the null octet and the padding to 32 bits
				if j > len(body) {
					return 0, false
				}
				break
			}
			if j+2 > len(body) || j+2+int(body[j+1]) > len(body) {
				return 0, false
			}
			j += 2 + int(body[j+1])
		}
	}
	return j, j == len(body)
}

// Packet is one RTCP packet of a compound packet, from Walker.Next: header
// and content, without padding. It aliases the datagram.
type Packet struct {
	b []byte
}

// Type returns the packet type.
func (p Packet) Type() PacketType { return PacketType(p.b[1]) }

// Count returns the header's 5-bit count (report blocks, chunks, sources)
// or subtype (APP, feedback messages).
func (p Packet) Count() int { return int(p.b[0] & 0x1f) }

// Bytes returns the packet, header included, padding removed.
func (p Packet) Bytes() []byte { return p.b }

// SenderReport returns the packet as an SR, if it is one.
func (p Packet) SenderReport() (SenderReport, bool) {
	if p.Type() != TypeSR {
		return SenderReport{}, false
	}
	return SenderReport(p), true
}

// ReceiverReport returns the packet as an RR, if it is one.
func (p Packet) ReceiverReport() (ReceiverReport, bool) {
	if p.Type() != TypeRR {
		return ReceiverReport{}, false
	}
	return ReceiverReport(p), true
}

// SourceDescription returns the packet as an SDES, if it is one.
func (p Packet) SourceDescription() (SourceDescription, bool) {
	if p.Type() != TypeSDES {
		return SourceDescription{}, false
	}
	return SourceDescription(p), true
}

// Goodbye returns the packet as a BYE, if it is one.
func (p Packet) Goodbye() (Goodbye, bool) {
	if p.Type() != TypeBYE {
		return Goodbye{}, false
	}
	return Goodbye(p), true
}

// SenderInfo is the sender information of an SR (RFC 3550 §6.4.1): the
// wall-clock time of the report as a 64-bit NTP timestamp, the RTP
// timestamp of the same instant, and what the sender has sent since it
// started (packets, and payload octets), both modulo 2^32.
//
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//	|              NTP timestamp, most significant word             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|             NTP timestamp, least significant word             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         RTP timestamp                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     sender's packet count                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      sender's octet count                     |
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
type SenderInfo struct {
	NTPTime     uint64
	RTPTime     uint32
	PacketCount uint32
	OctetCount  uint32
}

// ReportBlock is one reception report (RFC 3550 §6.4.1) about the source
// SSRC: the fraction of its packets lost since the previous report (in
// 1/256), the cumulative number lost (24-bit signed: duplicates can make it
// negative), the extended highest sequence number received, the
// interarrival jitter in timestamp units, and LSR/DLSR (the middle 32 bits
// of the NTP timestamp of the last SR received from the source, and the
// time since, in 1/65536 s; both 0 when no SR has arrived).
//
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//	|                 SSRC_1 (SSRC of first source)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| fraction lost |       cumulative number of packets lost       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           extended highest sequence number received           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      interarrival jitter                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         last SR (LSR)                         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   delay since last SR (DLSR)                  |
//	+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
type ReportBlock struct {
	SSRC           uint32
	FractionLost   uint8
	CumulativeLost int32
	HighestSeq     uint32
	Jitter         uint32
	LSR, DLSR      uint32
}

func parseBlock(b []byte) ReportBlock {
	_ = b[23] // bounds check hint
	// The cumulative loss is 24-bit signed: shift it up and back to extend the sign.
	lost := int32(binary.BigEndian.Uint32(b[4:])<<8) >> 8
	return ReportBlock{
		SSRC:           binary.BigEndian.Uint32(b),
		FractionLost:   b[4],
		CumulativeLost: lost,
		HighestSeq:     binary.BigEndian.Uint32(b[8:]),
		Jitter:         binary.BigEndian.Uint32(b[12:]),
		LSR:            binary.BigEndian.Uint32(b[16:]),
		DLSR:           binary.BigEndian.Uint32(b[20:]),
	}
}

// SenderReport is an SR (RFC 3550 §6.4.1): the sender's SSRC, its sender
// information and up to 31 report blocks. Bytes after the blocks are a
// profile-specific extension, ignored.
type SenderReport struct {
	b []byte
}

// SSRC returns the sender's SSRC.
func (r SenderReport) SSRC() uint32 { return binary.BigEndian.Uint32(r.b[4:]) }

// Info returns the sender information.
func (r SenderReport) Info() SenderInfo {
	b := r.b[8 : 8+senderInfoSize]
	return SenderInfo{
		NTPTime:     binary.BigEndian.Uint64(b),
		RTPTime:     binary.BigEndian.Uint32(b[8:]),
		PacketCount: binary.BigEndian.Uint32(b[12:]),
		OctetCount:  binary.BigEndian.Uint32(b[16:]),
	}
}

// NumBlocks returns the number of report blocks.
func (r SenderReport) NumBlocks() int { return int(r.b[0] & 0x1f) }

// Block returns report block i; it panics unless 0 ≤ i < NumBlocks.
func (r SenderReport) Block(i int) ReportBlock {
	if i < 0 || i >= r.NumBlocks() {
		panic("rtcpsession: report block index out of range")
	}
	off := 8 + senderInfoSize + i*blockSize
	return parseBlock(r.b[off : off+blockSize])
}

// ReceiverReport is an RR (RFC 3550 §6.4.2): the reporter's SSRC and up to
// 31 report blocks.
type ReceiverReport struct {
	b []byte
}

// SSRC returns the reporter's SSRC.
func (r ReceiverReport) SSRC() uint32 { return binary.BigEndian.Uint32(r.b[4:]) }

// NumBlocks returns the number of report blocks.
func (r ReceiverReport) NumBlocks() int { return int(r.b[0] & 0x1f) }

// Block returns report block i; it panics unless 0 ≤ i < NumBlocks.
func (r ReceiverReport) Block(i int) ReportBlock {
	if i < 0 || i >= r.NumBlocks() {
		panic("rtcpsession: report block index out of range")
	}
	off := 8 + i*blockSize
	return parseBlock(r.b[off : off+blockSize])
}

// SourceDescription is an SDES packet (RFC 3550 §6.5): chunks of items
// about sources.
type SourceDescription struct {
	b []byte
}

// Chunks returns an iterator over the chunks.
func (s SourceDescription) Chunks() ChunkIter {
	return ChunkIter{rest: s.b[headerSize:], n: int(s.b[0] & 0x1f)}
}

// ChunkIter iterates over the chunks of an SDES packet.
type ChunkIter struct {
	rest []byte
	n    int
}

// Next returns the next chunk, or false after the last.
func (it *ChunkIter) Next() (Chunk, bool) {
	if it.n == 0 {
		return Chunk{}, false
	}
	end, _ := sdesChunks(it.rest, 1)
	if end == 0 { // only for a packet Walk did not validate
		it.n = 0
		return Chunk{}, false
	}
	it.n--
	c := Chunk{SSRC: binary.BigEndian.Uint32(it.rest), items: it.rest[4:end]}
	it.rest = it.rest[end:]
	return c, true
}

// Chunk is one SDES chunk: a source and its items.
type Chunk struct {
	SSRC  uint32
	items []byte
}

// Item returns the text of the first item of type t, if there is one. It
// aliases the datagram.
func (c Chunk) Item(t uint8) ([]byte, bool) {
	for j := 0; j+2 <= len(c.items) && c.items[j] != 0; j += 2 + int(c.items[j+1]) {
		n := int(c.items[j+1])
		if j+2+n > len(c.items) {
			break
		}
		if c.items[j] == t {
			return c.items[j+2 : j+2+n], true
		}
	}
	return nil, false
}

// CNAME returns the chunk's canonical name, if it has one.
func (c Chunk) CNAME() ([]byte, bool) { return c.Item(ItemCNAME) }

// Goodbye is a BYE packet (RFC 3550 §6.6): the sources leaving and an
// optional reason.
type Goodbye struct {
	b []byte
}

// NumSources returns the number of sources.
func (g Goodbye) NumSources() int { return int(g.b[0] & 0x1f) }

// Source returns source i; it panics unless 0 ≤ i < NumSources.
func (g Goodbye) Source(i int) uint32 {
	if i < 0 || i >= g.NumSources() {
		panic("rtcpsession: BYE source index out of range")
	}
	return binary.BigEndian.Uint32(g.b[headerSize+4*i:])
}

// Has reports whether the BYE names ssrc.
func (g Goodbye) Has(ssrc uint32) bool {
	for i := range g.NumSources() {
		if g.Source(i) == ssrc {
			return true
		}
	}
	return false
}

// Reason returns the reason for leaving, if any (aliasing the datagram).
func (g Goodbye) Reason() []byte {
	r := g.b[headerSize+4*g.NumSources():]
	if len(r) == 0 || 1+int(r[0]) > len(r) {
		return nil
	}
	return r[1 : 1+int(r[0])]
}

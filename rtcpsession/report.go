package rtcpsession

import (
	"encoding/binary"
	"io"
)

// Report is one compound RTCP packet to send (RFC 3550 §6.1): an SR when
// IsSender (sender information and report blocks) or else an RR, more RRs
// when there are more than 31 blocks (§6.4.2), an SDES with the CNAME
// when CNAME is set (§6.1 wants one in every compound packet), and a BYE
// for SSRC last when Bye is set (§6.6).
//
// A Report is a plain value; MarshalTo writes it into a caller's buffer
// without allocating.
type Report struct {
	SSRC     uint32
	IsSender bool
	Sender   SenderInfo
	Blocks   []ReportBlock
	CNAME    string
	// Bye ends the stream; ByeReason, optional, says why.
	Bye       bool
	ByeReason string
}

// rrPackets is how many report packets (the SR or RR and the RRs that
// follow it) carry n blocks.
func rrPackets(n int) int {
	if n <= MaxBlocks {
		return 1
	}
	return (n + MaxBlocks - 1) / MaxBlocks
}

// sdesSize is the size of an SDES packet with one chunk holding a CNAME of
// n bytes: header, SSRC, item (type, length, text), and a null octet
// padding the chunk to 32 bits.
func sdesSize(n int) int { return headerSize + 4 + (2+n+1+3)&^3 }

// byeSize is the size of a BYE of one source with a reason of n bytes
// (none when 0), padded to 32 bits.
func byeSize(n int) int {
	if n == 0 {
		return headerSize + 4
	}
	return headerSize + 4 + (1+n+3)&^3
}

// MaxSize is the largest compound packet a Report with up to blocks
// report blocks, a CNAME and a BYE reason of up to 255 bytes marshals to:
// a buffer this large always fits (add the SRTCP overhead when protecting
// in place).
func MaxSize(blocks int) int {
	return headerSize + 4 + senderInfoSize + blocks*blockSize + (rrPackets(blocks)-1)*(headerSize+4) +
		sdesSize(255) + byeSize(255)
}

// MarshalSize returns the size of the marshalled report.
func (r *Report) MarshalSize() int {
	n := (headerSize+4)*rrPackets(len(r.Blocks)) + len(r.Blocks)*blockSize
	if r.IsSender {
		n += senderInfoSize
	}
	if r.CNAME != "" {
		n += sdesSize(len(r.CNAME))
	}
	if r.Bye {
		n += byeSize(len(r.ByeReason))
	}
	return n
}

// Marshal returns the report in a new buffer.
func (r *Report) Marshal() ([]byte, error) {
	b := make([]byte, r.MarshalSize())
	n, err := r.MarshalTo(b)
	return b[:n], err
}

// MarshalTo writes the report into buf and returns its size. It returns
// io.ErrShortBuffer when buf is shorter than MarshalSize, and
// ErrItemTooLong for a CNAME or BYE reason over 255 bytes; it writes
// nothing then. Cumulative loss beyond the 24-bit field is clamped.
func (r *Report) MarshalTo(buf []byte) (int, error) {
	if len(r.CNAME) > 255 || len(r.ByeReason) > 255 {
		return 0, ErrItemTooLong
	}
	size := r.MarshalSize()
	if len(buf) < size {
		return 0, io.ErrShortBuffer
	}
	buf = buf[:size]
	blocks := r.Blocks
	off := 0
	for first := true; first || len(blocks) > 0; first = false {
		k := min(len(blocks), MaxBlocks)
		pt, info := TypeRR, 0
		if first && r.IsSender {
			pt, info = TypeSR, senderInfoSize
		}
		n := headerSize + 4 + info + k*blockSize
		putHeader(buf[off:], k, pt, n)
		binary.BigEndian.PutUint32(buf[off+4:], r.SSRC)
		p := off + 8
		if info != 0 {
			s := &r.Sender
			binary.BigEndian.PutUint64(buf[p:], s.NTPTime)
			binary.BigEndian.PutUint32(buf[p+8:], s.RTPTime)
			binary.BigEndian.PutUint32(buf[p+12:], s.PacketCount)
			binary.BigEndian.PutUint32(buf[p+16:], s.OctetCount)
			p += senderInfoSize
		}
		for i := range blocks[:k] {
			putBlock(buf[p:], &blocks[i])
			p += blockSize
		}
		blocks = blocks[k:]
		off += n
	}
	if r.CNAME != "" {
		n := sdesSize(len(r.CNAME))
		b := buf[off : off+n]
		putHeader(b, 1, TypeSDES, n)
		binary.BigEndian.PutUint32(b[4:], r.SSRC)
		b[8], b[9] = ItemCNAME, uint8(len(r.CNAME))
		clear(b[10+copy(b[10:], r.CNAME):]) // the null octet and padding
		off += n
	}
	if r.Bye {
		n := byeSize(len(r.ByeReason))
		b := buf[off : off+n]
		putHeader(b, 1, TypeBYE, n)
		binary.BigEndian.PutUint32(b[4:], r.SSRC)
		if len(r.ByeReason) > 0 {
			b[8] = uint8(len(r.ByeReason))
			clear(b[9+copy(b[9:], r.ByeReason):])
		}
		off += n
	}
	return off, nil
}

// putHeader writes a packet header for a packet of n bytes (a multiple of
// 4) without padding.
func putHeader(b []byte, count int, pt PacketType, n int) {
	b[0] = 2<<6 | uint8(count)
	b[1] = uint8(pt)
	binary.BigEndian.PutUint16(b[2:], uint16(n/4-1))
}

func putBlock(b []byte, rb *ReportBlock) {
	_ = b[23] // bounds check hint
	lost := max(min(rb.CumulativeLost, 0x7fffff), -0x800000)
	binary.BigEndian.PutUint32(b, rb.SSRC)
	binary.BigEndian.PutUint32(b[4:], uint32(rb.FractionLost)<<24|uint32(lost)&0xffffff)
	binary.BigEndian.PutUint32(b[8:], rb.HighestSeq)
	binary.BigEndian.PutUint32(b[12:], rb.Jitter)
	binary.BigEndian.PutUint32(b[16:], rb.LSR)
	binary.BigEndian.PutUint32(b[20:], rb.DLSR)
}

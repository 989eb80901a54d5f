// Package oggcheck is a test-only helper: a strict Ogg parser (RFC 3533),
// written apart from package ogg's writer (its own bitwise CRC, its own
// lacing) so that a test checks the writer against an independent reading
// of the RFC rather than against itself. It is imported only by tests.
package oggcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Page is one parsed page.
type Page struct {
	Offset   int // of the page in the stream
	Size     int // header, segment table and body
	Flags    byte
	Granule  int64
	Serial   uint32
	Seq      uint32
	CRC      uint32
	Segments []byte
	Body     []byte
}

// Continued, BOS and EOS read the header-type flags.
func (p *Page) Continued() bool { return p.Flags&1 != 0 }
func (p *Page) BOS() bool       { return p.Flags&2 != 0 }
func (p *Page) EOS() bool       { return p.Flags&4 != 0 }

// Packet is one packet put back together from its segments.
type Packet struct {
	Data []byte
	Page int // index of the page on which it ends
	// PageGranule is the granule position of that page: the packet's own
	// when it is the last packet to end there.
	PageGranule int64
	LastOnPage  bool
}

// Stream is a parsed physical bitstream of one logical stream.
type Stream struct {
	Pages   []Page
	Packets []Packet
}

// crc computes Ogg's CRC bit by bit, MSB first, polynomial 0x04c11db7,
// initial value 0, no final inversion, with bytes 22–25 taken as zero.
func crc(page []byte) uint32 {
	var r uint32
	for i, b := range page {
		if i >= 22 && i < 26 {
			b = 0
		}
		r ^= uint32(b) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
	}
	return r
}

var errTruncated = errors.New("oggcheck: truncated page")

// Parse reads b as one complete logical stream and checks every rule a
// conforming writer follows: capture pattern, version 0, CRC, one serial
// number, page sequence numbers from 0 without a gap, BOS on the first
// page only, EOS on the last only, the continued flag exactly when the
// previous page ended inside a packet, no packet left unfinished at the
// end, granule position -1 on pages where no packet ends, and nothing
// after the last page.
func Parse(b []byte) (*Stream, error) {
	s := &Stream{}
	partial := []byte{}
	inPacket := false
	for off := 0; off < len(b); {
		p, err := parsePage(b[off:])
		if err != nil {
			return s, fmt.Errorf("page at offset %d: %w", off, err)
		}
		p.Offset = off
		i := len(s.Pages)
		switch {
		case i == 0 && !p.BOS():
			return s, fmt.Errorf("first page has no BOS flag")
		case i > 0 && p.BOS():
			return s, fmt.Errorf("page %d has the BOS flag", i)
		case i > 0 && s.Pages[i-1].EOS():
			return s, fmt.Errorf("page %d follows the EOS page", i)
		case i > 0 && p.Serial != s.Pages[0].Serial:
			return s, fmt.Errorf("page %d has serial %08x, the stream %08x", i, p.Serial, s.Pages[0].Serial)
		case p.Seq != uint32(i):
			return s, fmt.Errorf("page %d has sequence number %d", i, p.Seq)
		case p.Continued() != inPacket:
			return s, fmt.Errorf("page %d: continued flag %v, but a packet is open: %v", i, p.Continued(), inPacket)
		}
		body := p.Body
		ended := 0
		for _, l := range p.Segments {
			partial = append(partial, body[:l]...)
			body = body[l:]
			inPacket = true
			if l < 255 {
				s.Packets = append(s.Packets, Packet{Data: partial, Page: i, PageGranule: p.Granule})
				partial = []byte{}
				inPacket = false
				ended++
			}
		}
		if ended > 0 {
			s.Packets[len(s.Packets)-1].LastOnPage = true
		} else if p.Granule != -1 && len(p.Segments) > 0 {
			return s, fmt.Errorf("page %d: no packet ends on it, but its granule position is %d, not -1", i, p.Granule)
		}
		s.Pages = append(s.Pages, p)
		off += p.Size
	}
	switch {
	case len(s.Pages) == 0:
		return s, errors.New("oggcheck: no pages")
	case !s.Pages[len(s.Pages)-1].EOS():
		return s, errors.New("oggcheck: last page has no EOS flag")
	case inPacket:
		return s, errors.New("oggcheck: the stream ends inside a packet")
	}
	return s, nil
}

func parsePage(b []byte) (Page, error) {
	if len(b) < 27 {
		return Page{}, errTruncated
	}
	if string(b[:4]) != "OggS" {
		return Page{}, fmt.Errorf("capture pattern %q", b[:4])
	}
	if b[4] != 0 {
		return Page{}, fmt.Errorf("version %d", b[4])
	}
	p := Page{
		Flags:   b[5],
		Granule: int64(binary.LittleEndian.Uint64(b[6:])),
		Serial:  binary.LittleEndian.Uint32(b[14:]),
		Seq:     binary.LittleEndian.Uint32(b[18:]),
		CRC:     binary.LittleEndian.Uint32(b[22:]),
	}
	if p.Flags&^7 != 0 {
		return Page{}, fmt.Errorf("unknown header-type flags %#x", p.Flags)
	}
	n := int(b[26])
	if len(b) < 27+n {
		return Page{}, errTruncated
	}
	p.Segments = b[27 : 27+n]
	bodyLen := 0
	for _, l := range p.Segments {
		bodyLen += int(l)
	}
	p.Size = 27 + n + bodyLen
	if len(b) < p.Size {
		return Page{}, errTruncated
	}
	p.Body = b[27+n : p.Size]
	if got := crc(b[:p.Size]); got != p.CRC {
		return Page{}, fmt.Errorf("CRC %08x, computed %08x", p.CRC, got)
	}
	return p, nil
}

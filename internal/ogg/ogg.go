// Package ogg writes Ogg physical bitstreams of one logical stream (RFC
// 3533): packets in, pages out, with lacing, continuation across pages,
// granule positions, the BOS and EOS flags and the page CRC. Package record
// builds Ogg/Opus files (RFC 7845) on it; what goes in the packets and
// what the granule positions count is the codec mapping's business, not
// this package's.
//
// A [Writer] is not safe for concurrent use. It allocates while its page
// buffer grows to the largest page written, then not at all.
package ogg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Page limits (RFC 3533 §6).
const (
	// HeaderSize is the fixed part of a page header, before the segment table.
	HeaderSize = 27
	// MaxSegments is the most lacing values one page holds.
	MaxSegments = 255
	// MaxPageSize is the largest page: header, full segment table, 255×255 bytes.
	MaxPageSize = HeaderSize + MaxSegments + MaxSegments*255
)

// Header type flags (RFC 3533 §6, header_type_flag).
const (
	FlagContinued = 0x01 // the page starts with the rest of the previous page's last packet
	FlagBOS       = 0x02 // first page of the logical stream
	FlagEOS       = 0x04 // last page of the logical stream
)

// NoGranule is the granule position of a page on which no packet ends.
const NoGranule = -1

// ErrClosed is returned by a Writer's methods after Close.
var ErrClosed = errors.New("ogg: writer closed")

// The page header (RFC 3533 §6):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1| Byte
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| capture_pattern: Magic number for page start "OggS"           | 0-3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| version       | header_type   | granule_position              | 4-7
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//	|                                                               | 8-11
//	+                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               | bitstream_serial_number       | 12-15
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//	|                               | page_sequence_number          | 16-19
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//	|                               | CRC_checksum                  | 20-23
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//	|                               |page_segments  | segment_table | 24-27
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| ...                                                           | 28-
//
// All fields are little-endian. The CRC covers the whole page with the
// CRC field taken as zero.

// Writer packs the packets of one logical stream into pages and writes
// each page to the underlying io.Writer with one Write call.
//
// A page is written when the caller calls Flush or Close, or when the next
// packet does not fit in what remains of the segment table. A packet too
// large for one page is continued on the next. Once a Write to the
// underlying writer fails, every method returns that error.
type Writer struct {
	w      io.Writer
	serial uint32
	seq    uint32 // sequence number of the page being built

	started   bool  // a page has been written (so the next is not BOS)
	continued bool  // the page being built starts with a continued packet
	granule   int64 // of the last packet completed on the page being built
	nseg      int
	lacing    [MaxSegments]byte
	body      []byte
	out       []byte // the assembled page, kept to be reused
	packets   int    // packets completed on the page being built
	closed    bool
	err       error
}

// NewWriter returns a Writer for the logical stream with the given serial
// number. Choose serial numbers at random so that streams chained or
// multiplexed later stay distinct (RFC 3533 §4).
func NewWriter(w io.Writer, serial uint32) *Writer {
	return &Writer{w: w, serial: serial, granule: NoGranule}
}

// Buffered returns the packets that complete on the page being built and
// the segments it holds; a page is pending when segments > 0.
func (w *Writer) Buffered() (packets, segments int) { return w.packets, w.nseg }

// PagesWritten returns how many pages have been written.
func (w *Writer) PagesWritten() int { return int(w.seq) }

// WritePacket adds packet p, whose end is at granule position granule, to
// the page being built (flushing that page first when p's lacing does not
// fit in what remains of its segment table; a packet longer than a whole
// page starts a page of its own and continues on the next ones). p is
// copied; the caller may reuse it. Granule positions are the codec
// mapping's units; the Writer only stores them.
func (w *Writer) WritePacket(p []byte, granule int64) error {
	if err := w.usable(); err != nil {
		return err
	}
	need := len(p)/255 + 1
	if w.nseg > 0 && w.nseg+need > MaxSegments {
		if err := w.flush(0); err != nil {
			return err
		}
	}
	for {
		room := MaxSegments - w.nseg
		if need <= room {
			for range need - 1 {
				w.lacing[w.nseg] = 255
				w.nseg++
			}
			w.lacing[w.nseg] = byte(len(p) % 255)
			w.nseg++
			w.body = append(w.body, p...)
			w.granule = granule
			w.packets++
			return nil
		}
		// Only on an empty page: fill it with 255-byte segments and
		// continue the packet on the next page.
		n := room * 255
		for range room {
			w.lacing[w.nseg] = 255
			w.nseg++
		}
		w.body = append(w.body, p[:n]...)
		p = p[n:]
		need -= room
		if err := w.flush(0); err != nil {
			return err
		}
		w.continued = true
	}
}

// Flush writes the page being built, if it holds anything.
func (w *Writer) Flush() error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.nseg == 0 {
		return nil
	}
	return w.flush(0)
}

// Close writes the page being built with the EOS flag, which ends the
// logical stream; when nothing is pending it writes an empty EOS page
// (granule position NoGranule). Close does not close the underlying
// writer. Calling it again returns nil, or the error that stopped the
// Writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.err != nil {
		w.closed = true
		return w.err
	}
	err := w.flush(FlagEOS)
	w.closed = true
	return err
}

func (w *Writer) usable() error {
	switch {
	case w.err != nil:
		return w.err
	case w.closed:
		return ErrClosed
	}
	return nil
}

// flush assembles and writes the page being built with the extra flags.
func (w *Writer) flush(flags byte) error {
	if w.continued {
		flags |= FlagContinued
	}
	if !w.started {
		flags |= FlagBOS
	}
	n := HeaderSize + w.nseg + len(w.body)
	if cap(w.out) < n {
		w.out = make([]byte, n, max(n, 2*cap(w.out)))
	}
	page := w.out[:n]
	copy(page, "OggS")
	page[4] = 0 // stream_structure_version
	page[5] = flags
	binary.LittleEndian.PutUint64(page[6:], uint64(w.granule))
	binary.LittleEndian.PutUint32(page[14:], w.serial)
	binary.LittleEndian.PutUint32(page[18:], w.seq)
	binary.LittleEndian.PutUint32(page[22:], 0)
	page[26] = byte(w.nseg)
	copy(page[HeaderSize:], w.lacing[:w.nseg])
	copy(page[HeaderSize+w.nseg:], w.body)
	binary.LittleEndian.PutUint32(page[22:], Checksum(page))

	if _, err := w.w.Write(page); err != nil {
		w.err = fmt.Errorf("ogg: writing page %d: %w", w.seq, err)
		return w.err
	}
	w.started = true
	w.seq++
	w.continued = false
	w.granule = NoGranule
	w.nseg = 0
	w.packets = 0
	w.body = w.body[:0]
	return nil
}

// Package opuspacket reads the framing of an Opus packet (RFC 6716 §3)
// without decoding it and without cgo: how many frames of what duration
// it holds, where its first frame is, and whether its framing is one
// libopus would accept.
//
// It is the one implementation of this: codec/opus (which links libopus
// whenever cgo is on) builds PacketDuration and HasFEC on it, and packages
// that must build without libopus (package record muxes a participant's
// Opus packets into Ogg without importing codec/opus) call it directly.
//
// The functions are safe for concurrent use and allocate only to report
// a malformed packet; [TryParse] and [Samples] never allocate.
package opuspacket

import (
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// Packet limits from RFC 6716 §3.2.
const (
	// MaxFrameBytes is R2: one frame's compressed data.
	MaxFrameBytes = 1275
	// MaxSamples is R5: a packet lasts at most 120 ms, 5760 samples at 48 kHz.
	MaxSamples = 5760
)

var errEmpty = fmt.Errorf("%w: opus: empty packet", codec.ErrCorrupt)

// failure describes a malformed packet without allocating, for Parse and
// Duration to format; the parser writes one only when asked.
type failure struct {
	format     string
	a0, a1, a2 int // the arguments of format, as many as it takes
	nargs      int
}

// set records the failure in f, unless f is nil, and returns what the
// parser returns for a malformed packet: no frames.
func (f *failure) set(format string, args ...int) (frames int, first []byte) {
	if f != nil {
		*f = failure{format: format, nargs: len(args)}
		switch len(args) {
		case 3:
			f.a2 = args[2]
			fallthrough
		case 2:
			f.a1 = args[1]
			fallthrough
		case 1:
			f.a0 = args[0]
		}
	}
	return 0, nil
}

func (f *failure) err() error {
	args := []any{codec.ErrCorrupt, f.a0, f.a1, f.a2}[:1+f.nargs]
	return fmt.Errorf("%w: opus: "+f.format, args...)
}

// FrameDuration48 returns the duration of one frame of the TOC byte's
// configuration in samples at 48 kHz (RFC 6716 Table 2).
//
// The table-of-contents byte starts every Opus packet (RFC 6716 §3.1):
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	| config  |s| c |
//	+-+-+-+-+-+-+-+-+
//
// config selects mode (SILK 0–11, hybrid 12–15, CELT 16–31), bandwidth and
// frame duration; s is stereo; c is the frame-count code:
//
//	0: one frame
//	1: two frames of equal size
//	2: two frames, the first one's length coded after the TOC
//	3: a frame-count byte |v|p| M |, optional padding lengths, and
//	   (when v is set) M-1 frame lengths
func FrameDuration48(toc byte) int {
	cfg := toc >> 3
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		return [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		return [2]int{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		return 120 << (cfg & 3)
	}
}

// Packet is what the framing of a packet says without decoding it.
type Packet struct {
	TOC          byte   // the table-of-contents byte
	Frames       int    // 1..48
	FrameSamples int    // samples per frame at 48 kHz (see [FrameDuration48])
	First        []byte // the first frame's compressed data, aliasing the packet; empty for DTX
}

// Samples returns the packet's duration in samples per channel at 48 kHz.
func (pk Packet) Samples() int { return pk.Frames * pk.FrameSamples }

// Parse checks p as libopus does before decoding (rules R1–R7 of RFC 6716
// §3.4) and returns its framing, or an error wrapping [codec.ErrCorrupt]
// for an empty or malformed packet. A DTX packet (TOC only) holds one
// empty frame. It allocates only for the error.
func Parse(p []byte) (Packet, error) {
	if len(p) == 0 {
		return Packet{}, errEmpty
	}
	var why failure
	frames, first := parse(p, &why)
	if frames == 0 {
		return Packet{}, why.err()
	}
	return Packet{TOC: p[0], Frames: frames, FrameSamples: FrameDuration48(p[0]), First: first}, nil
}

// TryParse is Parse without the explanation: ok is false when p is empty
// or malformed. It never allocates, so that a flood of bad packets costs
// no garbage.
func TryParse(p []byte) (pk Packet, ok bool) {
	if len(p) == 0 {
		return Packet{}, false
	}
	frames, first := parse(p, nil)
	if frames == 0 {
		return Packet{}, false
	}
	return Packet{TOC: p[0], Frames: frames, FrameSamples: FrameDuration48(p[0]), First: first}, true
}

// Duration returns the audio duration of packet p in samples per channel at
// 48 kHz, from its TOC byte and frame count, with the checks and errors of
// [Parse]. It allocates only for the error.
func Duration(p []byte) (samples48 int, err error) {
	if len(p) == 0 {
		return 0, errEmpty
	}
	var why failure
	frames, _ := parse(p, &why)
	if frames == 0 {
		return 0, why.err()
	}
	return frames * FrameDuration48(p[0]), nil
}

// Samples is Duration without the explanation: the duration of p in
// samples at 48 kHz, or 0 when p is empty or malformed. It never
// allocates.
func Samples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	frames, _ := parse(p, nil)
	return frames * FrameDuration48(p[0])
}

// parse does the work of Parse on a packet of at least one byte: it
// returns the frame count and the first frame, or 0 frames for a
// malformed packet, and then says why in why unless it is nil. (Returning
// a Packet or a failure by value, on every packet, made it several times
// slower: the few scalars travel in registers.)
func parse(p []byte, why *failure) (frames int, first []byte) {
	dur := FrameDuration48(p[0])
	rest := p[1:]
	switch p[0] & 3 {
	case 0: // one frame
		if len(rest) > MaxFrameBytes {
			return why.set("code 0 frame of %d bytes exceeds %d", len(rest), MaxFrameBytes)
		}
		return 1, rest
	case 1: // two frames of equal size
		if len(rest)&1 != 0 {
			return why.set("code 1 packet has %d bytes of frame data, not two equal frames", len(rest))
		}
		half := len(rest) / 2
		if half > MaxFrameBytes {
			return why.set("code 1 frames of %d bytes exceed %d", half, MaxFrameBytes)
		}
		return 2, rest[:half]
	case 2: // two frames, the first one's length coded
		size, used := frameLength(rest)
		if used == 0 {
			return why.set("code 2 packet of %d bytes ends inside the first frame's length", len(p))
		}
		rest = rest[used:]
		if size > len(rest) {
			return why.set("code 2 first frame of %d bytes but %d bytes follow", size, len(rest))
		}
		if last := len(rest) - size; last > MaxFrameBytes {
			return why.set("code 2 second frame of %d bytes exceeds %d", last, MaxFrameBytes)
		}
		return 2, rest[:size]
	}
	return parseCode3(dur, rest, why)
}

// frameLength decodes the one- or two-byte frame length of RFC 6716
// §3.2.1: 0–251 is the length itself, 252–255 takes a second byte and means
// first + 4×second. It returns the bytes used, or 0 when b is too short.
func frameLength(b []byte) (size, used int) {
	switch {
	case len(b) < 1:
		return 0, 0
	case b[0] < 252:
		return int(b[0]), 1
	case len(b) < 2:
		return 0, 0
	}
	return int(b[0]) + 4*int(b[1]), 2
}

// parseCode3 handles the frame-count byte, padding and VBR lengths of a
// code 3 packet; rest starts at the frame-count byte.
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|v|p|     M     |
//	+-+-+-+-+-+-+-+-+
func parseCode3(dur int, rest []byte, why *failure) (frames int, first []byte) {
	if len(rest) < 1 {
		return why.set("code 3 packet has no frame-count byte")
	}
	fc := rest[0]
	rest = rest[1:]
	frames = int(fc & 0x3f)
	if frames == 0 {
		return why.set("code 3 packet with 0 frames")
	}
	if frames*dur > MaxSamples {
		return why.set("code 3 packet of %d frames × %d samples exceeds 120 ms", frames, dur)
	}
	// n counts the bytes left for frame data; padding comes off its end.
	n, off := len(rest), 0
	if fc&0x40 != 0 {
		for {
			if n <= 0 {
				return why.set("code 3 packet ends inside its padding length")
			}
			b := rest[off]
			off++
			n--
			if b != 255 {
				n -= int(b)
				break
			}
			n -= 254 // 255 means 254 bytes of padding and another length byte
		}
		if n < 0 {
			return why.set("code 3 padding exceeds the packet by %d bytes", -n)
		}
	}
	data := rest[off : off+n]
	if fc&0x80 == 0 { // CBR
		if n%frames != 0 {
			return why.set("code 3 CBR frame data of %d bytes does not split into %d frames", n, frames)
		}
		size := n / frames
		if size > MaxFrameBytes {
			return why.set("code 3 CBR frames of %d bytes exceed %d", size, MaxFrameBytes)
		}
		return frames, data[:size]
	}
	// VBR: M-1 lengths, then the frames back to back; the last frame takes
	// what is left.
	last, firstSize := n, -1
	for i := 0; i < frames-1; i++ {
		size, used := frameLength(data)
		if used == 0 {
			return why.set("code 3 VBR packet ends inside the length of frame %d", i)
		}
		data = data[used:]
		if size > len(data) {
			return why.set("code 3 VBR frame %d of %d bytes but %d bytes follow", i, size, len(data))
		}
		if i == 0 {
			firstSize = size
		}
		last -= used + size
	}
	if last < 0 {
		return why.set("code 3 VBR frame lengths exceed the packet by %d bytes", -last)
	}
	if last > MaxFrameBytes {
		return why.set("code 3 VBR last frame of %d bytes exceeds %d", last, MaxFrameBytes)
	}
	if firstSize < 0 {
		firstSize = last
	}
	return frames, data[:firstSize]
}

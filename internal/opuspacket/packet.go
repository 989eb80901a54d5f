// Package opuspacket reads the framing of an Opus packet (RFC 6716 §3)
// without decoding it and without cgo: how long the packet lasts, and
// whether its framing is one libopus would accept.
//
// It exists so that packages which must build without libopus (package
// record muxes a participant's Opus packets into Ogg without importing
// codec/opus, which links libopus whenever cgo is on) get the same answer
// as [github.com/rtpmix/rtpmix/codec/opus.PacketDuration]; its tests hold
// the two to agreement on every input the fuzzer finds.
//
// The functions are safe for concurrent use and allocate only to report
// a malformed packet.
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

// failure describes a malformed packet without allocating; Duration
// formats it, Samples only needs to know there was one.
type failure struct {
	format string // "" for none
	args   [3]int
	nargs  int
}

func fail(format string, args ...int) failure {
	f := failure{format: format, nargs: len(args)}
	copy(f.args[:], args)
	return f
}

func (f failure) err() error {
	args := []any{codec.ErrCorrupt}
	for _, a := range f.args[:f.nargs] {
		args = append(args, a)
	}
	return fmt.Errorf("%w: opus: "+f.format, args...)
}

// FrameDuration48 returns the duration of one frame of the TOC byte's
// configuration in samples at 48 kHz (RFC 6716 Table 2).
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	| config  |s| c |
//	+-+-+-+-+-+-+-+-+
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

// Duration returns the audio duration of packet p in samples per channel at
// 48 kHz, from its TOC byte and frame count. It checks the framing as
// libopus does before decoding (rules R1–R7 of RFC 6716 §3.4) and returns
// an error wrapping [codec.ErrCorrupt] for an empty or malformed packet. A
// DTX packet (TOC only) lasts one frame. It allocates only for the error.
func Duration(p []byte) (samples48 int, err error) {
	if len(p) == 0 {
		return 0, errEmpty
	}
	d, f := check(p)
	if f.format != "" {
		return 0, f.err()
	}
	return d, nil
}

// Samples is Duration without the explanation: the duration of p in
// samples at 48 kHz, or 0 when p is empty or malformed. It never
// allocates, so that a flood of bad packets costs no garbage.
func Samples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	d, f := check(p)
	if f.format != "" {
		return 0
	}
	return d
}

// check does the work of Duration on a packet of at least one byte.
func check(p []byte) (int, failure) {
	toc := p[0]
	dur := FrameDuration48(toc)
	rest := p[1:]
	switch toc & 3 {
	case 0: // one frame
		if len(rest) > MaxFrameBytes {
			return 0, fail("code 0 frame of %d bytes exceeds %d", len(rest), MaxFrameBytes)
		}
		return dur, failure{}
	case 1: // two frames of equal size
		if len(rest)&1 != 0 {
			return 0, fail("code 1 packet has %d bytes of frame data, not two equal frames", len(rest))
		}
		if len(rest)/2 > MaxFrameBytes {
			return 0, fail("code 1 frames of %d bytes exceed %d", len(rest)/2, MaxFrameBytes)
		}
		return 2 * dur, failure{}
	case 2: // two frames, the first one's length coded
		size, used := frameLength(rest)
		if used == 0 {
			return 0, fail("code 2 packet of %d bytes ends inside the first frame's length", len(p))
		}
		rest = rest[used:]
		if size > len(rest) {
			return 0, fail("code 2 first frame of %d bytes but %d bytes follow", size, len(rest))
		}
		if last := len(rest) - size; last > MaxFrameBytes {
			return 0, fail("code 2 second frame of %d bytes exceeds %d", last, MaxFrameBytes)
		}
		return 2 * dur, failure{}
	}
	frames, f := checkCode3(dur, rest)
	return frames * dur, f
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

// checkCode3 checks the frame-count byte, padding and VBR lengths of a code
// 3 packet and returns its frame count; rest starts at the frame-count
// byte.
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|v|p|     M     |
//	+-+-+-+-+-+-+-+-+
func checkCode3(dur int, rest []byte) (int, failure) {
	if len(rest) < 1 {
		return 0, fail("code 3 packet has no frame-count byte")
	}
	fc := rest[0]
	rest = rest[1:]
	frames := int(fc & 0x3f)
	if frames == 0 {
		return 0, fail("code 3 packet with 0 frames")
	}
	if frames*dur > MaxSamples {
		return 0, fail("code 3 packet of %d frames × %d samples exceeds 120 ms", frames, dur)
	}
	// n counts the bytes left for frame data; padding comes off its end.
	n, off := len(rest), 0
	if fc&0x40 != 0 {
		for {
			if n <= 0 {
				return 0, fail("code 3 packet ends inside its padding length")
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
			return 0, fail("code 3 padding exceeds the packet by %d bytes", -n)
		}
	}
	data := rest[off : off+n]
	if fc&0x80 == 0 { // CBR
		if n%frames != 0 {
			return 0, fail("code 3 CBR frame data of %d bytes does not split into %d frames", n, frames)
		}
		if n/frames > MaxFrameBytes {
			return 0, fail("code 3 CBR frames of %d bytes exceed %d", n/frames, MaxFrameBytes)
		}
		return frames, failure{}
	}
	// VBR: M-1 lengths, then the frames back to back; the last frame takes
	// what is left.
	last := n
	for i := 0; i < frames-1; i++ {
		size, used := frameLength(data)
		if used == 0 {
			return 0, fail("code 3 VBR packet ends inside the length of frame %d", i)
		}
		data = data[used:]
		if size > len(data) {
			return 0, fail("code 3 VBR frame %d of %d bytes but %d bytes follow", i, size, len(data))
		}
		last -= used + size
	}
	if last < 0 {
		return 0, fail("code 3 VBR frame lengths exceed the packet by %d bytes", -last)
	}
	if last > MaxFrameBytes {
		return 0, fail("code 3 VBR last frame of %d bytes exceeds %d", last, MaxFrameBytes)
	}
	return frames, failure{}
}

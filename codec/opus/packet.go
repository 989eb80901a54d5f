package opus

import "github.com/rtpmix/rtpmix/codec"

// This file is pure Go on purpose: the mixer and the jitter buffer need
// packet durations and FEC presence in builds without cgo.

// Packet limits from RFC 6716 §3.2.
const (
	maxFrameBytes    = 1275 // R2: one frame's compressed data
	maxPacketSamples = 5760 // R5: 120 ms at 48 kHz
)

// The table-of-contents byte that starts every Opus packet (RFC 6716 §3.1):
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

// packet is what parsePacket learns from the framing without decoding.
type packet struct {
	toc      byte
	frames   int    // 1..48
	frameDur int    // samples per frame at 48 kHz
	first    []byte // the first frame's compressed data; empty for DTX
}

// frameDuration48 returns the duration of one frame of the TOC's config in
// samples at 48 kHz (RFC 6716 Table 2).
func frameDuration48(toc byte) int {
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

// tocBandwidth returns the audio bandwidth the TOC's config codes.
func tocBandwidth(toc byte) codec.Bandwidth {
	cfg := toc >> 3
	switch {
	case cfg < 4:
		return codec.BandwidthNarrow
	case cfg < 8:
		return codec.BandwidthMedium
	case cfg < 12:
		return codec.BandwidthWide
	case cfg < 14:
		return codec.BandwidthSuperWide
	case cfg < 16:
		return codec.BandwidthFull
	}
	// CELT has no medium band: NB, WB, SWB, FB in groups of four.
	return [4]codec.Bandwidth{codec.BandwidthNarrow, codec.BandwidthWide,
		codec.BandwidthSuperWide, codec.BandwidthFull}[(cfg-16)>>2]
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

// parsePacket checks p against rules R1–R7 of RFC 6716 §3.4, which are the
// same checks libopus makes before it decodes, and finds the first frame.
// It does not allocate, not even for errors on the common empty payload.
func parsePacket(p []byte) (packet, error) {
	if len(p) == 0 {
		return packet{}, errEmpty
	}
	pk := packet{toc: p[0], frameDur: frameDuration48(p[0])}
	rest := p[1:]
	switch pk.toc & 3 {
	case 0:
		if len(rest) > maxFrameBytes {
			return packet{}, corruptf("code 0 frame of %d bytes exceeds %d", len(rest), maxFrameBytes)
		}
		pk.frames, pk.first = 1, rest
	case 1:
		if len(rest)&1 != 0 {
			return packet{}, corruptf("code 1 packet has %d bytes of frame data, not two equal frames", len(rest))
		}
		half := len(rest) / 2
		if half > maxFrameBytes {
			return packet{}, corruptf("code 1 frames of %d bytes exceed %d", half, maxFrameBytes)
		}
		pk.frames, pk.first = 2, rest[:half]
	case 2:
		size, used := frameLength(rest)
		if used == 0 {
			return packet{}, corruptf("code 2 packet of %d bytes ends inside the first frame's length", len(p))
		}
		rest = rest[used:]
		if size > len(rest) {
			return packet{}, corruptf("code 2 first frame of %d bytes but %d bytes follow", size, len(rest))
		}
		if last := len(rest) - size; last > maxFrameBytes {
			return packet{}, corruptf("code 2 second frame of %d bytes exceeds %d", last, maxFrameBytes)
		}
		pk.frames, pk.first = 2, rest[:size]
	default:
		return parseCode3(pk, rest)
	}
	return pk, nil
}

// parseCode3 handles the frame-count byte, padding and VBR lengths of a
// code 3 packet; rest starts at the frame-count byte.
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|v|p|     M     |
//	+-+-+-+-+-+-+-+-+
func parseCode3(pk packet, rest []byte) (packet, error) {
	if len(rest) < 1 {
		return packet{}, corruptf("code 3 packet has no frame-count byte")
	}
	fc := rest[0]
	rest = rest[1:]
	pk.frames = int(fc & 0x3f)
	if pk.frames == 0 {
		return packet{}, corruptf("code 3 packet with 0 frames")
	}
	if pk.frames*pk.frameDur > maxPacketSamples {
		return packet{}, corruptf("code 3 packet of %d frames × %d samples exceeds 120 ms", pk.frames, pk.frameDur)
	}
	// n counts the bytes left for frame data; padding comes off its end.
	n, off := len(rest), 0
	if fc&0x40 != 0 {
		for {
			if n <= 0 {
				return packet{}, corruptf("code 3 packet ends inside its padding length")
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
			return packet{}, corruptf("code 3 padding exceeds the packet by %d bytes", -n)
		}
	}
	data := rest[off : off+n]
	if fc&0x80 == 0 { // CBR
		if n%pk.frames != 0 {
			return packet{}, corruptf("code 3 CBR frame data of %d bytes does not split into %d frames", n, pk.frames)
		}
		size := n / pk.frames
		if size > maxFrameBytes {
			return packet{}, corruptf("code 3 CBR frames of %d bytes exceed %d", size, maxFrameBytes)
		}
		pk.first = data[:size]
		return pk, nil
	}
	// VBR: M-1 lengths, then the frames back to back; the last frame takes
	// what is left.
	last, firstSize := n, -1
	for i := 0; i < pk.frames-1; i++ {
		size, used := frameLength(data)
		if used == 0 {
			return packet{}, corruptf("code 3 VBR packet ends inside the length of frame %d", i)
		}
		data = data[used:]
		if size > len(data) {
			return packet{}, corruptf("code 3 VBR frame %d of %d bytes but %d bytes follow", i, size, len(data))
		}
		if i == 0 {
			firstSize = size
		}
		last -= used + size
	}
	if last < 0 {
		return packet{}, corruptf("code 3 VBR frame lengths exceed the packet by %d bytes", -last)
	}
	if last > maxFrameBytes {
		return packet{}, corruptf("code 3 VBR last frame of %d bytes exceeds %d", last, maxFrameBytes)
	}
	if firstSize < 0 {
		firstSize = last
	}
	pk.first = data[:firstSize]
	return pk, nil
}

// PacketDuration returns the audio duration of an Opus packet in samples per
// channel at 48 kHz (the RTP clock), from its TOC byte and frame count,
// without decoding and without cgo. It validates the framing as libopus does
// (RFC 6716 §3.4) and returns an error wrapping [codec.ErrCorrupt] for an
// empty or malformed packet. A DTX packet (TOC only) lasts one frame.
//
// It is safe for concurrent use and does not allocate unless it fails.
func PacketDuration(payload []byte) (samples48k int, err error) {
	pk, err := parsePacket(payload)
	if err != nil {
		return 0, err
	}
	return pk.frames * pk.frameDur, nil
}

// IsDTX reports whether payload is a discontinuous-transmission frame: one or
// two bytes, which libopus produces in silence when DTX is on and documents
// as not needing to be sent. An empty payload is not a packet and reports
// false.
func IsDTX(payload []byte) bool {
	return len(payload) == 1 || len(payload) == 2
}

// HasFEC reports whether the first frame of payload carries in-band forward
// error correction (SILK LBRR data) for the frame before it, so that
// [Decoder.DecodeFEC] can rebuild a lost frame rather than conceal it. CELT-
// only packets, DTX packets and malformed packets report false.
//
// The SILK header flags are the first range-coded symbols, each with
// probability ½, so they are the leading bits of the frame's first byte: per
// channel one VAD flag per 20 ms SILK frame, then the LBRR flag.
//
// It is safe for concurrent use and does not allocate.
func HasFEC(payload []byte) bool {
	pk, err := parsePacket(payload)
	if err != nil || pk.toc>>3 >= 16 || len(pk.first) == 0 {
		return false
	}
	silkFrames := 1 // 10 and 20 ms frames carry one SILK frame
	if pk.frameDur > 960 {
		silkFrames = pk.frameDur / 960
	}
	b := pk.first[0]
	fec := b>>(7-silkFrames)&1 != 0
	if pk.toc&0x04 != 0 { // stereo: the side channel's flags follow
		fec = fec || b>>(6-2*silkFrames)&1 != 0
	}
	return fec
}

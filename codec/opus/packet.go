package opus

import (
	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/opuspacket"
)

// This file is pure Go on purpose: the mixer and the jitter buffer need
// packet durations and FEC presence in builds without cgo. The framing
// itself is read by internal/opuspacket, which packages that must not link
// libopus (record) use directly.

// maxPacketSamples is RFC 6716's R5: a packet lasts at most 120 ms.
const maxPacketSamples = opuspacket.MaxSamples

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

// PacketDuration returns the audio duration of an Opus packet in samples per
// channel at 48 kHz (the RTP clock), from its TOC byte and frame count,
// without decoding and without cgo. It validates the framing as libopus does
// (RFC 6716 §3.4) and returns an error wrapping [codec.ErrCorrupt] for an
// empty or malformed packet. A DTX packet (TOC only) lasts one frame.
//
// It is safe for concurrent use and does not allocate unless it fails (nor
// for an empty payload).
func PacketDuration(payload []byte) (samples48k int, err error) {
	if len(payload) == 0 {
		return 0, errEmpty // prebuilt, and it tells a caller what to do instead
	}
	return opuspacket.Duration(payload)
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
	pk, ok := opuspacket.TryParse(payload)
	if !ok || pk.TOC>>3 >= 16 || len(pk.First) == 0 {
		return false
	}
	silkFrames := 1 // 10 and 20 ms frames carry one SILK frame
	if pk.FrameSamples > 960 {
		silkFrames = pk.FrameSamples / 960
	}
	b := pk.First[0]
	fec := b>>(7-silkFrames)&1 != 0
	if pk.TOC&0x04 != 0 { // stereo: the side channel's flags follow
		fec = fec || b>>(6-2*silkFrames)&1 != 0
	}
	return fec
}

// Package opus is rtpmix's Opus codec (RFC 6716, RTP payload per RFC 7587):
// an [Encoder] and a [Decoder] over libopus through gopkg.in/hraban/opus.v2,
// implementing [codec.Encoder] and [codec.FECDecoder] on caller buffers with
// no allocation per frame. It is the only package of rtpmix that uses cgo.
//
// Importing it registers [Format] ("opus/48000/2", payload type 111) with
// package codec, so that code which must not import cgo, such as the mixer,
// builds Opus codecs by name:
//
//	import _ "github.com/rtpmix/rtpmix/codec/opus"
//
//	enc, err := codec.NewEncoder("opus/48000/2", codec.Config{SampleRate: 16000, FEC: true, PacketLossPercent: 10})
//
// # Encoding
//
// PCM is 16-bit, interleaved, at 8, 12, 16, 24 or 48 kHz, mono or stereo, in
// frames of 2.5, 5, 10, 20, 40 or 60 ms; the RTP clock stays 48 kHz whatever
// the PCM rate. Options come from [codec.Config] at construction and may be
// changed between frames with the Set methods (bitrate, complexity, FEC,
// expected loss, DTX, bandwidth cap).
//
// # Decoding and loss
//
// [Decoder.Decode] decodes a packet of any duration up to 120 ms.
// For a lost packet, [Decoder.DecodeFEC] rebuilds it from the in-band FEC of
// the packet after it when that packet carries some ([HasFEC]), and
// [Decoder.Conceal] extrapolates when nothing better is at hand. Corrupt
// packets return an error wrapping [codec.ErrCorrupt] and leave the decoder
// usable; bad input never panics.
//
// # Without cgo
//
// [PacketDuration], [HasFEC] and [IsDTX] are pure Go: they read the packet
// framing (TOC byte, frame count, SILK header flags) and work in every build.
// Built with CGO_ENABLED=0 the package still compiles and registers
// [Format], but [NewEncoder] and [NewDecoder] return an error wrapping
// [codec.ErrUnsupported]; [Available] tells which build is running.
//
// # Concurrency
//
// An Encoder or Decoder holds one stream's state and must be used by one
// goroutine at a time. The package-level functions are safe for concurrent
// use.
package opus

// Package codec defines what rtpmix knows about an audio codec: its RTP
// [Format], the [Encoder] and [Decoder] interfaces that work on caller
// buffers, and a registry keyed by SDP name ("PCMU/8000", "PCMA/8000",
// "G722/8000", "opus/48000/2") so that packages such as the mixer can build
// codecs without importing cgo.
//
// # PCM conventions
//
// PCM is signed 16-bit, host order, interleaved when there is more than one
// channel, at the sample rate the encoder or decoder was built for (which for
// Opus need not be the 48 kHz RTP clock). A frame is ptime worth of samples
// per channel; [Format.FrameSamples] gives the count for a ptime.
//
// # Clock rate and sample rate
//
// RTP timestamps count [Format.ClockRate] ticks; PCM runs at the rate the
// codec was built for, by default [Format.NaturalRate]. The two differ for
// Opus (48 kHz clock, 8–48 kHz PCM) and for G.722, whose 16 kHz audio is
// clocked at 8000 Hz (RFC 3551 §4.5.2, [Format.SampleRate]): convert a
// timestamp span to samples with ticks × rate / ClockRate, never by
// assuming one sample per tick.
//
// # Registration
//
// Codec packages register themselves on import, as image/png does with
// package image:
//
//	import _ "github.com/rtpmix/rtpmix/codec/g711"
//	import _ "github.com/rtpmix/rtpmix/codec/opus" // cgo, libopus
//
//	enc, err := codec.NewEncoder("PCMU/8000", codec.Config{})
//
// # Concurrency
//
// The registry is safe for concurrent use. An Encoder or Decoder keeps
// per-stream state and must be used by one goroutine at a time.
package codec

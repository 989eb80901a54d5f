// Package g711 is ITU-T G.711 in pure Go: μ-law (PCMU) and A-law (PCMA)
// encoding and decoding, bit-exact with the G.191 Software Tool Library's
// reference g711.c (ulaw_compress, ulaw_expand, alaw_compress, alaw_expand)
// for every 16-bit input and every code, plus packet-loss concealment in the
// manner of G.711 Appendix I.
//
// Other encoders (ffmpeg's, sox's, Python's audioop) round a few hundred
// inputs differently from G.191; this package follows G.191.
//
// # Slice functions
//
// [EncodeUlaw], [EncodeAlaw], [DecodeUlaw] and [DecodeAlaw] convert whole
// buffers, appending to dst[:0] and allocating only when dst is too small.
// On amd64 with AVX2 they run SIMD kernels, 32 samples per step, at roughly
// 0.1 to 0.2 ns per sample; elsewhere (or with the noasm build tag),
// table-driven Go at roughly 0.4 ns per sample. [LinearToUlaw], [UlawToLinear], [LinearToAlaw]
// and [AlawToLinear] convert one sample.
//
// # Codec
//
// [Encoder] and [Decoder] implement codec.Encoder and codec.Decoder for
// [PCMU] (payload type 0) and [PCMA] (payload type 8), 8000 Hz mono, and
// the package registers them with package codec on import:
//
//	import _ "github.com/rtpmix/rtpmix/codec/g711"
//
//	enc, err := codec.NewEncoder("PCMU/8000", codec.Config{Ptime: 20 * time.Millisecond})
//
// [Decoder.Conceal] fills in lost packets by repeating the last pitch
// period(s), fading to silence over 60 ms.
//
// # Concurrency
//
// The functions are safe for concurrent use. An Encoder holds no state but,
// like a Decoder, is meant for one goroutine at a time; a Decoder keeps the
// stream's recent output and must not be shared.
package g711

// Architecture files (the convention codec/resample and internal/pcm share,
// as klauspost/compress does it): kernels_generic.go holds the reference
// kernels and is always compiled; kernels_amd64.go and kernels_amd64.s
// (//go:build amd64 && !noasm) are the fast path; kernels_other.go
// (//go:build !amd64 || noasm) wires the reference in everywhere else. A new
// architecture adds kernels_$GOARCH.go and .s, excludes itself in
// kernels_other.go's build line, and provides:
//
//	encodeUlaw(dst []byte, src []int16) // and encodeAlaw: codes of src into dst
//	decodeUlaw(dst []int16, src []byte) // and decodeAlaw: samples of src into dst
//	activeKernels() string              // what this CPU runs; "generic" for the reference
//
// len(dst) == len(src), of any length including 0, and dst never aliases
// src. Results must be bit-identical to encodeUlawGeneric and the others for
// every input (TestEncodeMatchesG191, TestDecodeMatchesG191 and
// FuzzRoundTrip compare them). Its test file kernels_$GOARCH_test.go states
// asmBuild and wantKernels, with which TestActiveKernels proves what the
// build runs; make test repeats the package's tests with -tags noasm.

// Package resample converts 16-bit PCM between 8, 16, 24, 32 and 48 kHz,
// in either direction, mono or interleaved stereo, as a stream: the filter
// history is kept between calls, so a stream cut into frames of any length
// comes out bit for bit as if resampled in one piece, with no clicks at the
// joins.
//
//	r, _ := resample.New(8000, 48000, 1)
//	out = r.Process(out, frame) // 160 samples in, 960 out, no allocation
//
// # Frame-exact output
//
// After N input frames a Resampler has produced exactly ceil(N·out/in)
// output frames. Every supported ratio reduces to L/M with M dividing the
// 20 ms frame of the input rate, so each 20 ms frame in gives exactly one
// 20 ms frame out, from the first call; the mixer relies on that.
// [Resampler.OutLen] gives the exact count for any input length.
//
// # Quality
//
// Polyphase FIR filters with linear phase, designed by the Parks–McClellan
// (Remez) method at build time of the tables (go test -run TestDesign
// -update rewrites filters_table.go): passband flat within ±0.04 dB up to
// 0.9 of the lower rate's Nyquist, aliases and images more than 80 dB down
// from exactly that Nyquist on. The filters themselves reach 85–87 dB;
// TestQuality measures every pair end to end through the 16-bit output with
// swept sines (84–88 dB) and logs the figures. The transition band, 0.9 to 1.0 of the lower
// Nyquist, is narrow, so the filters are long: the group delay is about
// 5 ms when 8 kHz is involved and 1.2 to 2.5 ms otherwise ([Resampler.Delay]).
//
// 8 ↔ 48 kHz runs in two stages so that the long filter works at 16 kHz:
// 8→16 kHz sharp, then 16→48 kHz with a 23-tap filter that only has to
// remove the images of a signal already band-limited to 4 kHz (and the
// mirror image for 48→8 kHz).
//
// # Arithmetic and speed
//
// Samples are filtered in float32. 16-bit coefficients were tried and
// rejected: with an int32 accumulator that cannot overflow they leave
// 63–74 dB of stopband. On amd64 with AVX2 the dot products run in
// assembly, eight lanes wide, with kernels that share loads between the
// phases of an interpolator and between the outputs of a decimator; the
// portable Go kernels (other architectures, or the noasm build tag) perform
// the same float operations in the same order, so both give identical
// samples (tests and FuzzProcess compare them). A 20 ms mono frame costs
// about 1.5–2.5 µs for 8k→48k and 48k→8k on the reference machine; see
// BenchmarkProcess.
//
// # Comparison with libsoxr
//
// A benchmark-only comparison with libsoxr (cgo, Debian libsoxr-dev) sits
// behind the soxr build tag and is not part of make test:
//
//	apt-get install -y libsoxr-dev
//	CGO_ENABLED=1 go test -tags 'nolibopusfile soxr' -run TestSoxrQuality -v \
//	    -bench 'BenchmarkSoxr|BenchmarkProcess$' -benchtime 3000x ./codec/resample
//
// TestSoxrQuality logs the same tone-sweep ripple and stopband for libsoxr's
// LQ, MQ and HQ recipes beside this package's; BenchmarkSoxr runs them on
// the same 20 ms frames.
//
// # Concurrency
//
// A [Resampler] keeps per-stream state and must be used by one goroutine at
// a time; separate Resamplers are independent. The filter tables are
// read-only and shared.
package resample

// Architecture files (the convention codec/g711 and internal/pcm share, as
// klauspost/compress does it): kernels_generic.go holds the reference
// kernels and is always compiled; kernels_amd64.go and kernels_amd64.s
// (//go:build amd64 && !noasm) are the fast path; kernels_other.go
// (//go:build !amd64 || noasm) wires the reference in everywhere else. A new
// architecture adds kernels_$GOARCH.go and .s, excludes itself in
// kernels_other.go's build line, and provides:
//
//	polyphase(generic bool, st *stage, c int, dst []float32, n int)
//	s16ToF32(generic bool, dst []float32, src []int16)
//	f32ToS16(generic bool, dst []int16, src []float32)
//	activeKernels() string // what a Resampler runs; "generic" for the reference
//
// Each must give exactly the float32 results of its twin in
// kernels_generic.go (polyphaseGeneric's lane order and rounding, ties to
// even and saturation in f32ToS16Generic), and call the twin when generic
// is true (tests set it per Resampler to compare the two). polyphase gets n
// outputs of channel c of a stage whose buffers stage.run has checked with
// kernelSpan, so it need not check bounds. Its test file
// kernels_$GOARCH_test.go states asmBuild and wantKernels, with which
// TestActiveKernels proves what the build runs; make test repeats the
// package's tests with -tags noasm.

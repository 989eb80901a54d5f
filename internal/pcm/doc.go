// Package pcm holds the sample kernels the conference mixer runs every tick
// for every speaker and every output: accumulate speakers into an int32 sum
// (plain, with a Q16 gain, or with a linear gain ramp), turn the sum back
// into int16 once per output (saturating, mix-minus, or through a soft
// Limiter), peaks, energy and the RFC 6464 audio level.
//
// # Conventions
//
// Samples are int16; accumulators are int32. Gains are Q16 fixed point:
// [Unity] (65536) is 1.0, 0 mutes, and every gain is clamped to
// [0, MaxGain] (+24.08 dB) before use, so no gain argument can make a
// kernel misbehave. Multiplication by a gain rounds half up:
//
//	(int64(s)*int64(g) + 1<<15) >> 16
//
// Every kernel processes n = the shortest of its slice arguments and leaves
// anything past n untouched; callers normally pass slices of equal length.
// No kernel panics on short, empty or nil slices, and none allocates.
//
// The int32 accumulator wraps like Go's int32 arithmetic, which leaves 16
// bits of headroom over int16: 65 536 full-scale speakers at unity gain or
// 4 096 at MaxGain before a wrap could happen. Conversions back to int16
// ([Saturate], [SubSaturate], [Gain], [Limiter.Process]) never wrap: they
// saturate, exactly, for every int32 input.
//
// # A mixer tick
//
//	Zero32(acc)
//	for each speaker s:                     // gain and fade in/out of s
//		GainRamp(own[s], decoded[s], g0, g1)
//		Add(acc, own[s])
//	for each speaker s:                     // its mix-minus
//		lim[s].Process(out[s], acc, own[s], outGain[s])
//	lim[shared].Process(out, acc, nil, Unity) // everyone else
//
// GainRamp writes exactly what Add puts into the sum, so subtracting it
// leaves no residue of a speaker's own voice. AddRamp and AddGain add in
// one pass where that exactness is not needed (for example at unity gain,
// where own can be the decoded frame itself).
//
// # Implementation
//
// The pure Go code in kernels_generic.go is the reference. On amd64 (unless
// built with the noasm tag) the heavy kernels have SSE2 and AVX2 versions in
// kernels_amd64.s, chosen at start-up with golang.org/x/sys/cpu; they are
// bit-exact with the reference, which tests and fuzz targets check on random
// data, all lengths and unaligned offsets. Nothing here needs cgo.
//
// # Concurrency
//
// The kernel functions are reentrant: any number of goroutines may call
// them on disjoint slices. A [Limiter] holds one output stream's state and
// must be used by one goroutine at a time.
package pcm

// Architecture files (the convention codec/g711 and codec/resample share, as
// klauspost/compress does it): kernels_generic.go holds the reference and is
// always compiled; kernels_amd64.go and kernels_amd64.s (//go:build amd64 &&
// !noasm) are the fast path; kernels_other.go (//go:build !amd64 || noasm)
// wires the reference in everywhere else. A new architecture adds
// kernels_$GOARCH.go and .s, excludes itself in kernels_other.go's build
// line, and provides each of these, bit-identical to its xxxGeneric twin in
// kernels_generic.go for every input:
//
//	add(acc []int32, src []int16)
//	addGain(acc []int32, src []int16, g int32)
//	addRamp(acc []int32, src []int16, gq, step int32)
//	gain16(dst, src []int16, g int32)                 // twin: gainGeneric
//	gainRamp(dst, src []int16, gq, step int32)
//	saturate(dst []int16, acc []int32)
//	subSaturate(dst []int16, acc []int32, own []int16)
//	peakAbs16(src []int16) int32
//	peakAbs32(src []int32) uint32
//	energy(src []int16) uint64
//	peakF(acc []int32, own []int16) float32           // own may be nil
//	applyF(dst []int16, acc []int32, own []int16, g0, step float32)
//	blockPeaksF(out []float32, acc []int32, own []int16, block int)
//	applyBlocksF(dst []int16, acc []int32, own []int16, block int, g0s, steps []float32)
//	activeKernels() string                            // what runs; "generic" for the reference
//
// The exported wrappers have trimmed every slice to one length n (any n,
// including 0) and clamped every gain to [0, MaxGain]. Its test file
// kernels_$GOARCH_test.go provides forEachLevel (run a test once per
// instruction-set level the CPU has, so every kernel test, benchmark and
// fuzz target covers each), asmBuild and wantKernels (with which
// TestActiveKernels proves what the build runs); make test repeats the
// package's tests with -tags noasm.

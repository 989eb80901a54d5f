//go:build !amd64 || noasm

package pcm

// Without assembly the reference code is the kernel.

func add(acc []int32, src []int16)                      { addGeneric(acc, src) }
func addGain(acc []int32, src []int16, g int32)         { addGainGeneric(acc, src, g) }
func addRamp(acc []int32, src []int16, gq, step int32)  { addRampGeneric(acc, src, gq, step) }
func gain16(dst, src []int16, g int32)                  { gainGeneric(dst, src, g) }
func gainRamp(dst, src []int16, gq, step int32)         { gainRampGeneric(dst, src, gq, step) }
func saturate(dst []int16, acc []int32)                 { saturateGeneric(dst, acc) }
func subSaturate(dst []int16, acc []int32, own []int16) { subSaturateGeneric(dst, acc, own) }
func peakAbs16(src []int16) int32                       { return peakAbs16Generic(src) }
func peakAbs32(src []int32) uint32                      { return peakAbs32Generic(src) }
func energy(src []int16) uint64                         { return energyGeneric(src) }
func peakF(acc []int32, own []int16) float32            { return peakFGeneric(acc, own) }
func applyF(dst []int16, acc []int32, own []int16, g0, step float32) {
	applyFGeneric(dst, acc, own, g0, step, 0)
}

func blockPeaksF(out []float32, acc []int32, own []int16, block int) {
	blockPeaksFGeneric(out, acc, own, block)
}

func applyBlocksF(dst []int16, acc []int32, own []int16, block int, g0s, steps []float32) {
	applyBlocksFGeneric(dst, acc, own, block, g0s, steps)
}

func activeKernels() string { return "generic" }
